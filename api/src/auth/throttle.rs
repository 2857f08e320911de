//! Slowing down password guessing: failed logins are counted per account (the email asked
//! for) and per client address over the last minute; past the limit, logins from that
//! address or for that account get 429 until the oldest failure is a minute old.
//!
//! The counts live in this process: behind several instances, each counts its own.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

const WINDOW: Duration = Duration::from_secs(60);
/// Keys tracked at most; past this, idle keys are dropped first, then the oldest.
const MAX_KEYS: usize = 100_000;

#[derive(Debug)]
pub struct LoginThrottle {
    limit: usize,
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl LoginThrottle {
    pub fn new(failures_per_minute: u32) -> Self {
        LoginThrottle { limit: failures_per_minute.max(1) as usize, failures: Mutex::new(HashMap::new()) }
    }

    /// Counts an attempt against every key, unless one is at its limit already: then
    /// `Err(seconds)` to wait. The attempt counts until [`LoginThrottle::succeeded`] takes it
    /// back, so that attempts in flight at once count too (checking first and counting
    /// failures after the hash would let a burst through).
    pub fn attempt(&self, keys: &[String]) -> Result<(), u64> {
        let now = Instant::now();
        let mut failures = self.failures.lock().expect("throttle lock");
        let mut wait = Duration::ZERO;
        for key in keys {
            if let Some(times) = failures.get_mut(key) {
                prune(times, now);
                if times.len() >= self.limit
                    && let Some(oldest) = times.front()
                {
                    wait = wait.max(WINDOW.saturating_sub(now - *oldest));
                }
            }
        }
        if !wait.is_zero() {
            return Err(wait.as_secs() + u64::from(wait.subsec_nanos() > 0));
        }
        if failures.len() >= MAX_KEYS {
            failures.retain(|_, times| {
                prune(times, now);
                !times.is_empty()
            });
        }
        for key in keys {
            if failures.len() >= MAX_KEYS && !failures.contains_key(key) {
                continue;
            }
            failures.entry(key.clone()).or_default().push_back(now);
        }
        Ok(())
    }

    /// Takes back the attempt of a login that succeeded.
    pub fn succeeded(&self, keys: &[String]) {
        let mut failures = self.failures.lock().expect("throttle lock");
        for key in keys {
            if let Some(times) = failures.get_mut(key) {
                times.pop_back();
                if times.is_empty() {
                    failures.remove(key);
                }
            }
        }
    }
}

fn prune(times: &mut VecDeque<Instant>, now: Instant) {
    while times.front().is_some_and(|t| now - *t >= WINDOW) {
        times.pop_front();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sixth_attempt_waits_and_successes_do_not_count() {
        let throttle = LoginThrottle::new(5);
        let keys = vec!["account:a@example.kz".to_owned(), "address:127.0.0.1".to_owned()];
        for _ in 0..10 {
            assert!(throttle.attempt(&keys).is_ok());
            throttle.succeeded(&keys);
        }
        for _ in 0..5 {
            assert!(throttle.attempt(&keys).is_ok());
        }
        let wait = throttle.attempt(&keys).unwrap_err();
        assert!((59..=60).contains(&wait), "{wait}");
        assert!(throttle.attempt(&["account:b@example.kz".to_owned()]).is_ok());
    }
}
