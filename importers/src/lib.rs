//! Scrutiny's importers: one module per upstream source, each turning upstream pages or files
//! into `domain::ingest::Record`s, and the engine they share, which batches records into the
//! store with checkpoints, retries upstream calls and reports rejects.

pub mod engine;
pub mod http;
pub mod parse;
pub mod runs;
pub mod sources;

pub use engine::{ImportError, RunOptions, Sink, Summary};
