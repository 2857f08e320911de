//! Writing a computation's flags: found flags are inserted or refreshed, flags of the same
//! indicators that were not found again are cleared (kept, with `cleared_at`), and each
//! indicator's coverage is replaced, all in one transaction.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect, Set,
    TransactionTrait,
};

use super::{Severity, SubjectKind, indicator_coverage, red_flag, red_flag_state};
use crate::DomainError;

/// A flag as an indicator raised it over the database.
#[derive(Debug, Clone, PartialEq)]
pub struct NewFlag {
    /// The indicator's code: `R003` … `R058`, `KZ01` … `KZ08`.
    pub indicator: String,
    pub subject_kind: SubjectKind,
    /// With the two above, what makes the flag the same flag from one computation to the next:
    /// the ocid for a process, the organization's party id, the contract's ocid and number.
    pub subject_key: String,
    pub ocid: Option<String>,
    pub tender_id: Option<i64>,
    pub contract_id: Option<i64>,
    pub buyer_id: Option<i64>,
    pub supplier_id: Option<i64>,
    pub region_kato: Option<String>,
    pub observed_on: NaiveDate,
    pub severity: Severity,
    /// Decimal text: cardinal's value, or the Kazakhstan flag's measure (a share, an amount).
    pub value: String,
    /// A JSON object: values compared, thresholds, quartiles and fences, records involved.
    pub evidence: serde_json::Value,
}

/// What one indicator could judge in a computation.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CoverageRow {
    pub indicator: String,
    pub evaluated: u64,
    /// Reason → how many records the indicator could not judge for it.
    pub not_applicable: BTreeMap<String, u64>,
    /// The settings the computation used, setting → value.
    pub settings: serde_json::Value,
}

/// What a store changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stored {
    pub raised: u64,
    pub refreshed: u64,
    pub cleared: u64,
}
