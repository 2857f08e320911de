//! The time a write is stamped with and deadlines are judged by. In production it is the
//! system clock; tests move it forward to walk a finding past its deadlines without waiting.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Duration, SubsecRound, Utc};

/// The system clock, shifted by an offset that only tests change. Clones share the offset.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    offset_micros: Arc<AtomicI64>,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Clock {
        Clock::default()
    }

    /// Now, to the microsecond (as both engines store times).
    pub fn now(&self) -> DateTime<Utc> {
        (Utc::now() + Duration::microseconds(self.offset_micros.load(Ordering::Relaxed))).trunc_subsecs(6)
    }

    /// Moves this clock (and every clone) forward by `by`.
    pub fn advance(&self, by: Duration) {
        let micros = by.num_microseconds().expect("a test advances the clock by less than 292,000 years");
        self.offset_micros.fetch_add(micros, Ordering::Relaxed);
    }

    /// Sets this clock (and every clone) to `at`, from which it runs on.
    pub fn set(&self, at: DateTime<Utc>) {
        let offset = at - Utc::now();
        self.offset_micros.store(offset.num_microseconds().unwrap_or(0), Ordering::Relaxed);
    }
}
