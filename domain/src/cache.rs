//! Results kept while the data they came from is unchanged.
//!
//! Every write to a domain table appends to the change feed (database triggers), so the
//! feed's last sequence number is a version of the whole data set: a value computed at
//! version v is still exact while the version is v. Counts of large lists and dashboard
//! aggregates are reused that way instead of being recomputed per request. The feed numbers
//! changes in commit order on both engines (see `m0003_changes`), so no commit can appear
//! below a version already seen and a value needs no expiry besides its version.
//!
//! Only one request computes a given value at a time; the others wait for it and take its
//! result, so a burst of identical dashboard queries runs one aggregate, not one each.
//!
//! The cache is keyed by query text, which clients choose, so it must hold up against a
//! flood of distinct filters:
//! - it never holds more than its capacity; when full it drops stale entries, then a bounded
//!   batch of the least recently used ones, never the whole map, so values in steady use
//!   survive a flood;
//! - only values that took at least [`DEFAULT_MIN_COST`] to compute are kept: a cheap query is
//!   as fast to run again as to look up, and keeping it would only push out costly ones;
//! - the per-key gate that makes identical requests wait for one computation is removed
//!   however its requests end, including a client disconnecting mid-computation (the request
//!   future is then dropped), so abandoned keys do not accumulate.

use std::any::Any;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};

use crate::DomainError;

/// Values computed faster than this are returned but not kept (see the module comment).
pub const DEFAULT_MIN_COST: Duration = Duration::from_millis(2);

type Value = Arc<dyn Any + Send + Sync>;

struct Entry {
    version: i64,
    value: Value,
    /// The tick of the last store or hit: the smallest ticks are evicted first.
    used: u64,
}

#[derive(Default)]
struct Entries {
    map: HashMap<String, Entry>,
    /// Counts stores and hits; every entry's `used` is distinct.
    tick: u64,
}

/// One computation of a key: the requests that want it take turns, and the value the first
/// one computed is left here for the others, whether or not it is kept in the cache.
#[derive(Default)]
struct Flight {
    turn: tokio::sync::Mutex<Option<(i64, Value)>>,
}

/// The flights under way, each with the number of requests taking part in it.
type Flights = HashMap<String, (Arc<Flight>, usize)>;

/// A request's part in a flight. Dropping it (the request finished, failed, or its future
/// was dropped because the client went away) leaves the flight, and the last to leave
/// removes it from the map.
struct FlightSeat<'a> {
    flights: &'a Mutex<Flights>,
    key: String,
    flight: Arc<Flight>,
}

impl<'a> FlightSeat<'a> {
    fn join(flights: &'a Mutex<Flights>, key: &str) -> FlightSeat<'a> {
        // A panic elsewhere while the map was locked leaves it consistent: every change to
        // it is one statement.
        let mut map = flights.lock().unwrap_or_else(PoisonError::into_inner);
        let (flight, seats) = map.entry(key.to_owned()).or_default();
        *seats += 1;
        FlightSeat { flights, key: key.to_owned(), flight: flight.clone() }
    }
}

impl Drop for FlightSeat<'_> {
    fn drop(&mut self) {
        let mut map = self.flights.lock().unwrap_or_else(PoisonError::into_inner);
        // The entry is the one this seat joined: it is removed only once its seats are empty.
        if let Some((_, seats)) = map.get_mut(&self.key) {
            *seats -= 1;
            if *seats == 0 {
                map.remove(&self.key);
            }
        }
    }
}

/// A bounded map from a query's text to its result and the data version it was computed at.
pub struct ResultCache {
    entries: Mutex<Entries>,
    in_flight: Mutex<Flights>,
    capacity: usize,
    min_cost: Duration,
}

impl Default for ResultCache {
    fn default() -> Self {
        ResultCache::new(10_000)
    }
}

impl ResultCache {
    pub fn new(capacity: usize) -> Self {
        ResultCache {
            entries: Mutex::new(Entries::default()),
            in_flight: Mutex::new(HashMap::new()),
            capacity,
            min_cost: DEFAULT_MIN_COST,
        }
    }

    /// The same, keeping only values that took at least `min_cost` to compute.
    pub fn with_min_cost(self, min_cost: Duration) -> Self {
        ResultCache { min_cost, ..self }
    }

    /// The data set's version: the change feed's last sequence number (0 when empty).
    pub async fn data_version(db: &DatabaseConnection) -> Result<i64, DomainError> {
        let statement = Statement::from_string(db.get_database_backend(), "SELECT COALESCE(MAX(id), 0) FROM changes");
        let row = db.query_one_raw(statement).await?;
        Ok(row.map(|row| row.try_get_by_index::<i64>(0)).transpose()?.unwrap_or(0))
    }

    /// The cached value for `key` if it was computed at the current version, else
    /// `compute`'s result, which is then cached if it was costly enough. Concurrent calls
    /// for one key at one version compute once.
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
        // Declared before the turn, so dropped after it: the seat outlives the lock it holds.
        let seat = FlightSeat::join(&self.in_flight, &key);
        let mut turn = seat.flight.turn.lock().await;
        // Whoever had the turn before may have computed the value meanwhile.
        if let Some((computed_at, value)) = turn.as_ref()
            && *computed_at == version
            && let Some(value) = value.downcast_ref::<T>()
        {
            return Ok(value.clone());
        }
        if let Some(value) = self.lookup::<T>(&key, version) {
            return Ok(value);
        }
        let started = Instant::now();
        let computed = compute().await;
        if let Ok(value) = &computed {
            let shared: Value = Arc::new(value.clone());
            if started.elapsed() >= self.min_cost {
                self.store(key, version, shared.clone());
            }
            *turn = Some((version, shared));
        }
        computed
    }

    fn lookup<T: Clone + 'static>(&self, key: &str, version: i64) -> Option<T> {
        let mut entries = self.entries.lock().ok()?;
        let tick = entries.tick + 1;
        let entry = entries.map.get_mut(key)?;
        if entry.version != version {
            return None;
        }
        let value = entry.value.downcast_ref::<T>().cloned()?;
        entry.used = tick;
        entries.tick = tick;
        Some(value)
    }

    fn store(&self, key: String, version: i64, value: Value) {
        if self.capacity == 0 {
            return;
        }
        let Ok(mut entries) = self.entries.lock() else { return };
        if entries.map.len() >= self.capacity && !entries.map.contains_key(&key) {
            entries.map.retain(|_, entry| entry.version == version);
            if entries.map.len() >= self.capacity {
                evict_least_recently_used(&mut entries.map, eviction_batch(self.capacity));
            }
        }
        entries.tick += 1;
        let used = entries.tick;
        entries.map.insert(key, Entry { version, value, used });
    }
}

/// How many entries a full cache drops at once: an eighth of it, so that the O(n) pass that
/// finds them runs once per that many stores rather than on each.
fn eviction_batch(capacity: usize) -> usize {
    (capacity / 8).max(1)
}

/// Removes the `count` entries used longest ago.
fn evict_least_recently_used(map: &mut HashMap<String, Entry>, count: usize) {
    let count = count.min(map.len());
    if count == 0 {
        return;
    }
    let mut ticks: Vec<u64> = map.values().map(|entry| entry.used).collect();
    let (_, cutoff, _) = ticks.select_nth_unstable(count - 1);
    let cutoff = *cutoff;
    // Ticks are distinct, so exactly `count` entries are at or below the cutoff.
    map.retain(|_, entry| entry.used > cutoff);
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn store<T: Send + Sync + 'static>(cache: &ResultCache, key: &str, version: i64, value: T) {
        cache.store(key.to_owned(), version, Arc::new(value));
    }

    fn in_flight(cache: &ResultCache) -> usize {
        cache.in_flight.lock().unwrap().len()
    }

    async fn database() -> DatabaseConnection {
        let db = crate::db::connect("sqlite::memory:", &Default::default()).await.unwrap();
        db.execute_unprepared("CREATE TABLE changes (id INTEGER PRIMARY KEY)").await.unwrap();
        db
    }

    #[test]
    fn a_value_is_reused_only_at_its_version() {
        let cache = ResultCache::new(2);
        store(&cache, "a", 7, 42u64);
        assert_eq!(cache.lookup::<u64>("a", 7), Some(42));
        assert_eq!(cache.lookup::<u64>("a", 8), None, "a write since");
        assert_eq!(cache.lookup::<String>("a", 7), None, "another type");
    }

    #[test]
    fn it_never_grows_past_its_capacity() {
        let cache = ResultCache::new(3);
        for index in 0..10 {
            store(&cache, &format!("k{index}"), 1, index);
        }
        assert!(cache.entries.lock().unwrap().map.len() <= 3);
        assert_eq!(cache.lookup::<i32>("k9", 1), Some(9));
    }

    /// A flood of distinct keys (a client trying every filter) neither grows the cache nor
    /// empties it: a key in steady use stays, and a full cache loses a batch, not everything.
    #[test]
    fn many_distinct_keys_never_exceed_capacity_and_a_frequently_used_key_survives_a_flood() {
        let cache = ResultCache::new(100);
        store(&cache, "hot", 1, 0u32);
        for index in 0..10_000u32 {
            store(&cache, &format!("flood-{index}"), 1, index);
            let len = cache.entries.lock().unwrap().map.len();
            assert!(len <= 100, "{len} entries after {index} stores");
            if index >= 100 {
                assert!(len >= 100 - eviction_batch(100), "a full cache loses a batch, not all: {len}");
            }
            if index % 10 == 0 {
                assert_eq!(cache.lookup::<u32>("hot", 1), Some(0), "the hot key after {index} stores");
            }
        }
        assert_eq!(cache.lookup::<u32>("flood-9999", 1), Some(9999), "the newest is kept");
        assert_eq!(cache.lookup::<u32>("flood-0", 1), None, "the oldest unused one went");
    }

    #[test]
    fn stale_entries_go_before_current_ones() {
        let cache = ResultCache::new(4);
        store(&cache, "old-a", 1, 0);
        store(&cache, "old-b", 1, 0);
        store(&cache, "new-a", 2, 0);
        store(&cache, "new-b", 2, 0);
        store(&cache, "new-c", 2, 0);
        let entries = cache.entries.lock().unwrap();
        let mut keys: Vec<&str> = entries.map.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["new-a", "new-b", "new-c"]);
    }

    #[tokio::test]
    async fn concurrent_requests_compute_once_per_version() {
        let db = database().await;
        let cache = Arc::new(ResultCache::default());
        let computed = Arc::new(AtomicUsize::new(0));
        let ask = || {
            let (cache, computed, db) = (cache.clone(), computed.clone(), db.clone());
            tokio::spawn(async move {
                cache
                    .get_or_compute(&db, "total".into(), || async {
                        computed.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(20)).await;
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
        assert_eq!(in_flight(&cache), 0);
        db.execute_unprepared("INSERT INTO changes (id) VALUES (1)").await.unwrap();
        ask().await.unwrap().unwrap();
        assert_eq!(computed.load(Ordering::SeqCst), 2, "a write makes the value stale");
    }

    /// Requests waiting for a cheap value get it from the one computation, though it is not
    /// kept; a later request computes again.
    #[tokio::test]
    async fn cheap_values_are_shared_with_waiters_but_not_kept() {
        let db = database().await;
        let cache = Arc::new(ResultCache::default().with_min_cost(Duration::from_secs(3600)));
        let computed = Arc::new(AtomicUsize::new(0));
        let ask = || {
            let (cache, computed, db) = (cache.clone(), computed.clone(), db.clone());
            tokio::spawn(async move {
                cache
                    .get_or_compute(&db, "cheap".into(), || async {
                        computed.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        Ok(1u8)
                    })
                    .await
            })
        };
        let answers: Vec<_> = (0..5).map(|_| ask()).collect();
        for answer in answers {
            assert_eq!(answer.await.unwrap().unwrap(), 1);
        }
        assert_eq!(computed.load(Ordering::SeqCst), 1, "the waiters took the first result");
        assert!(cache.entries.lock().unwrap().map.is_empty(), "too cheap to keep");
        ask().await.unwrap().unwrap();
        assert_eq!(computed.load(Ordering::SeqCst), 2);
    }

    /// A client that disconnects mid-computation drops the request future while it holds the
    /// key's gate; the gate goes with it, and a request already waiting computes instead.
    #[tokio::test]
    async fn dropping_a_future_mid_computation_leaves_no_in_flight_entry() {
        let db = database().await;
        let cache = Arc::new(ResultCache::default());
        let never = cache.get_or_compute(&db, "slow".into(), std::future::pending::<Result<u64, DomainError>>);
        assert!(tokio::time::timeout(Duration::from_millis(50), never).await.is_err());
        assert_eq!(in_flight(&cache), 0, "the abandoned computation's gate is gone");

        // One computing (then abandoned), one waiting behind it.
        let computing = {
            let (cache, db) = (cache.clone(), db.clone());
            tokio::spawn(async move {
                cache.get_or_compute(&db, "slow".into(), std::future::pending::<Result<u64, DomainError>>).await
            })
        };
        while in_flight(&cache) == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let waiting = {
            let (cache, db) = (cache.clone(), db.clone());
            tokio::spawn(async move { cache.get_or_compute(&db, "slow".into(), || async { Ok(5u64) }).await })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiting.is_finished(), "it waits for the first computation");
        computing.abort();
        assert!(computing.await.unwrap_err().is_cancelled());
        assert_eq!(waiting.await.unwrap().unwrap(), 5, "the waiter computed once the first was dropped");
        assert_eq!(in_flight(&cache), 0);

        // A failed computation leaves nothing behind either.
        let failed = cache.get_or_compute(&db, "fails".into(), || async { Err::<u64, _>(DomainError::Busy) }).await;
        assert!(failed.is_err());
        assert_eq!(in_flight(&cache), 0);
    }
}
