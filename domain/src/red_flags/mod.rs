//! Red flags as stored: what the `indicators` crate raised over the database, with the evidence
//! a reader needs to check it, and what each indicator could judge. The engine lives in
//! `indicators`; this module keeps its results and answers questions about them.

pub mod tables;

pub use tables::{Severity, SubjectKind, indicator_coverage, indicator_digest, red_flag, red_flag_state};
pub mod affected;
pub mod query;
pub mod store;

pub use store::{CoverageRow, NewFlag, Refresh, Stored};
