//! Results kept while the data they came from is unchanged.
//!
//! Every write to a domain table appends to the change feed (database triggers), so the
//! feed's last sequence number is a version of the whole data set: a value computed at
//! version v is still exact while the version is v. Counts of large lists and dashboard
//! aggregates are reused that way instead of being recomputed per request. A short maximum
//! age bounds one corner: on PostgreSQL a transaction can commit a change numbered below a
//! version already seen, which the version alone would not reveal.

use std::any::Any;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};

use crate::DomainError;

struct Entry {
    version: i64,
    stored: Instant,
    value: Arc<dyn Any + Send + Sync>,
}

/// A bounded map from a query's text to its result and the data version it was computed at.
pub struct ResultCache {
    entries: Mutex<HashMap<String, Entry>>,
    max_age: Duration,
    capacity: usize,
}

impl Default for ResultCache {
    fn default() -> Self {
        ResultCache::new(Duration::from_secs(10), 10_000)
    }
}

impl ResultCache {
    pub fn new(max_age: Duration, capacity: usize) -> Self {
        ResultCache { entries: Mutex::new(HashMap::new()), max_age, capacity }
    }

    /// The data set's version: the change feed's last sequence number (0 when empty).
    pub async fn data_version(db: &DatabaseConnection) -> Result<i64, DomainError> {
        let statement = Statement::from_string(db.get_database_backend(), "SELECT COALESCE(MAX(id), 0) FROM changes");
        let row = db.query_one_raw(statement).await?;
        Ok(row.map(|row| row.try_get_by_index::<i64>(0)).transpose()?.unwrap_or(0))
    }

    /// The cached value for `key` if it was computed at the current version and is fresh,
    /// else `compute`'s result, which is then cached.
    pub async fn get_or_compute<T, F, Fut>(
        &self,
        db: &DatabaseConnection,
        key: String,
        compute: F,
    ) -> Result<T, DomainError>
    where
        T: Clone + Send + Sync + 'static,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, DomainError>>,
    {
        let version = Self::data_version(db).await?;
        if let Some(value) = self.lookup::<T>(&key, version) {
            return Ok(value);
        }
        let value = compute().await?;
        self.store(key, version, value.clone());
        Ok(value)
    }

    fn lookup<T: Clone + 'static>(&self, key: &str, version: i64) -> Option<T> {
        let entries = self.entries.lock().ok()?;
        let entry = entries.get(key)?;
        if entry.version != version || entry.stored.elapsed() > self.max_age {
            return None;
        }
        entry.value.downcast_ref::<T>().cloned()
    }

    fn store<T: Send + Sync + 'static>(&self, key: String, version: i64, value: T) {
        let Ok(mut entries) = self.entries.lock() else { return };
        if entries.len() >= self.capacity {
            // Stale entries go first; if every entry is current, start over rather than grow.
            entries.retain(|_, entry| entry.version == version && entry.stored.elapsed() <= self.max_age);
            if entries.len() >= self.capacity {
                entries.clear();
            }
        }
        entries.insert(key, Entry { version, stored: Instant::now(), value: Arc::new(value) });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_is_reused_only_at_its_version_and_age() {
        let cache = ResultCache::new(Duration::from_secs(60), 2);
        cache.store("a".into(), 7, 42u64);
        assert_eq!(cache.lookup::<u64>("a", 7), Some(42));
        assert_eq!(cache.lookup::<u64>("a", 8), None, "a write since");
        assert_eq!(cache.lookup::<String>("a", 7), None, "another type");
        let expired = ResultCache::new(Duration::ZERO, 2);
        expired.store("a".into(), 7, 1u64);
        std::thread::sleep(Duration::from_millis(2));
        assert_eq!(expired.lookup::<u64>("a", 7), None);
    }

    #[test]
    fn it_never_grows_past_its_capacity() {
        let cache = ResultCache::new(Duration::from_secs(60), 3);
        for index in 0..10 {
            cache.store(format!("k{index}"), 1, index);
        }
        assert!(cache.entries.lock().unwrap().len() <= 3);
        assert_eq!(cache.lookup::<i32>("k9", 1), Some(9));
    }
}
