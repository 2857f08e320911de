//! Shapes shared by many responses.

use chrono::{DateTime, Utc};
use poem_openapi::Object;

/// A name in Russian, Kazakh and English; a language the source did not give is absent.
#[derive(Debug, Clone, Object)]
pub struct LocalizedName {
    /// Russian.
    #[oai(skip_serializing_if_is_none)]
    pub ru: Option<String>,
    /// Kazakh.
    #[oai(skip_serializing_if_is_none)]
    pub kk: Option<String>,
    /// English.
    #[oai(skip_serializing_if_is_none)]
    pub en: Option<String>,
}

impl LocalizedName {
    pub fn new(ru: Option<String>, kk: Option<String>, en: Option<String>) -> Self {
        LocalizedName { ru, kk, en }
    }
}

/// Where a record came from, to check it against its source.
#[derive(Debug, Clone, Object)]
pub struct Provenance {
    /// The upstream source: `goszakup`, `zakup_sk_kz`, `treasury`, `data_egov_kz`, `ocds`, `csv`, or `demo` for the demo data set.
    pub source: String,
    /// The record's identifier in that source.
    pub upstream_id: String,
    /// When the record was read from the source (RFC 3339, UTC).
    pub fetched_at: DateTime<Utc>,
    /// SHA-256 (hex) of the record as the source delivered it.
    pub content_hash: String,
}

/// Links to related pages.
#[derive(Debug, Clone, Object)]
pub struct Links {
    /// The next page, as a path with its query; absent on the last page.
    #[oai(skip_serializing_if_is_none)]
    pub next: Option<String>,
}
