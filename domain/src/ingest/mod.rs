//! Ingest: the records importers produce, and the store that writes them in batches,
//! idempotently, with the run's checkpoint in the same transaction.

pub mod record;

pub use record::*;
pub mod store;

pub use store::{Batch, Counts, PreparedBatch, RejectOutcome, RunStart, Store};
