//! Provenance: where an imported row came from, so a reader can check it against the source.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// The provenance of one imported row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provenance {
    /// The upstream source, e.g. `goszakup`.
    pub source: String,
    /// The record's identifier in that source.
    pub upstream_id: String,
    pub fetched_at: DateTime<Utc>,
    /// SHA-256 (hex) of the upstream record as received, to tell a changed record from a re-read.
    pub content_hash: String,
    pub import_run_id: Option<i64>,
}

/// SHA-256, hex-encoded, of a record's JSON serialization.
pub fn content_hash<T: Serialize>(record: &T) -> String {
    let bytes = serde_json::to_vec(record).expect("records serialize to JSON");
    hex(&Sha256::digest(bytes))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_sha256_of_the_json() {
        // sha256("{\"a\":1}")
        assert_eq!(
            content_hash(&serde_json::json!({"a": 1})),
            "015abd7f5cc57a2dd94b7590f04ad8084273905ee33ec5cebeae62276a97f862"
        );
    }
}
