//! Results kept while the data they came from is unchanged.
//!
//! Every write to a domain table appends to the change feed (database triggers), so the
//! feed's last sequence number is a version of the whole data set: a value computed at
//! version v is still exact while the version is v. Counts of large lists and dashboard
//! aggregates are reused that way instead of being recomputed per request. The feed numbers
//! changes in commit order on both engines (see `m0003_changes`), so no commit can appear
//! below a version already seen and a value needs no expiry besides its version.
//!
//! Only one request computes a given value at a time; the others wait for it and reuse it,
//! so a burst of identical dashboard queries runs one aggregate, not one each.

use std::any::Any;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};

use crate::DomainError;

fn poisoned() -> DomainError {
    DomainError::Inconsistent("a result cache lock was poisoned by a panic".into())
}

struct Entry {
    version: i64,
    value: Arc<dyn Any + Send + Sync>,
}

/// A bounded map from a query's text to its result and the data version it was computed at.
pub struct ResultCache {
    entries: Mutex<HashMap<String, Entry>>,
    /// One lock per key being computed, so identical requests wait for one computation.
    in_flight: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    capacity: usize,
}

impl Default for ResultCache {
    fn default() -> Self {
        ResultCache::new(10_000)
    }
}

impl ResultCache {
    pub fn new(capacity: usize) -> Self {
        ResultCache { entries: Mutex::new(HashMap::new()), in_flight: Mutex::new(HashMap::new()), capacity }
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
        let gate = {
            let mut in_flight = self.in_flight.lock().map_err(|_| poisoned())?;
            in_flight.entry(key.clone()).or_default().clone()
        };
        let _turn = gate.lock().await;
        // Whoever held the gate before may have stored the value meanwhile.
        if let Some(value) = self.lookup::<T>(&key, version) {
            return Ok(value);
        }
        let computed = compute().await;
        if let Ok(value) = &computed {
            self.store(key.clone(), version, value.clone());
        }
        if let Ok(mut in_flight) = self.in_flight.lock() {
            // The last holder removes the gate; later requests find the stored value.
            if Arc::strong_count(&gate) <= 2 {
                in_flight.remove(&key);
            }
        }
        computed
    }

    fn lookup<T: Clone + 'static>(&self, key: &str, version: i64) -> Option<T> {
        let entries = self.entries.lock().ok()?;
        let entry = entries.get(key)?;
        if entry.version != version {
            return None;
        }
        entry.value.downcast_ref::<T>().cloned()
    }

    fn store<T: Send + Sync + 'static>(&self, key: String, version: i64, value: T) {
        let Ok(mut entries) = self.entries.lock() else { return };
        if entries.len() >= self.capacity {
            // Stale entries go first; if every entry is current, start over rather than grow.
            entries.retain(|_, entry| entry.version == version);
            if entries.len() >= self.capacity {
                entries.clear();
            }
        }
        entries.insert(key, Entry { version, value: Arc::new(value) });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_is_reused_only_at_its_version() {
        let cache = ResultCache::new(2);
        cache.store("a".into(), 7, 42u64);
        assert_eq!(cache.lookup::<u64>("a", 7), Some(42));
        assert_eq!(cache.lookup::<u64>("a", 8), None, "a write since");
        assert_eq!(cache.lookup::<String>("a", 7), None, "another type");
    }

    #[test]
    fn it_never_grows_past_its_capacity() {
        let cache = ResultCache::new(3);
        for index in 0..10 {
            cache.store(format!("k{index}"), 1, index);
        }
        assert!(cache.entries.lock().unwrap().len() <= 3);
        assert_eq!(cache.lookup::<i32>("k9", 1), Some(9));
    }

    #[tokio::test]
    async fn concurrent_requests_compute_once_per_version() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let db = crate::db::connect("sqlite::memory:", &Default::default()).await.unwrap();
        db.execute_unprepared("CREATE TABLE changes (id INTEGER PRIMARY KEY)").await.unwrap();
        let cache = Arc::new(ResultCache::default());
        let computed = Arc::new(AtomicUsize::new(0));
        let ask = || {
            let (cache, computed, db) = (cache.clone(), computed.clone(), db.clone());
            tokio::spawn(async move {
                cache
                    .get_or_compute(&db, "total".into(), || async {
                        computed.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                        Ok(7u64)
                    })
                    .await
            })
        };
        let answers: Vec<_> = (0..20).map(|_| ask()).collect();
        for answer in answers {
            assert_eq!(answer.await.unwrap().unwrap(), 7);
        }
        assert_eq!(computed.load(Ordering::SeqCst), 1, "one computation for twenty requests");
        db.execute_unprepared("INSERT INTO changes (id) VALUES (1)").await.unwrap();
        ask().await.unwrap().unwrap();
        assert_eq!(computed.load(Ordering::SeqCst), 2, "a write makes the value stale");
    }
}
