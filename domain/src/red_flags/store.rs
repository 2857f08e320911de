//! Writing a computation's flags: found flags are inserted or refreshed, flags of the same
//! indicators that were not found again are cleared (kept, with `cleared_at`), and each
//! indicator's coverage is replaced, all in one transaction.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DatabaseTransaction, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, TransactionTrait,
};

use super::{Severity, SubjectKind, indicator_coverage, indicator_digest, red_flag, red_flag_state};
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
    /// A JSON object's text: values compared, thresholds, quartiles and fences, records
    /// involved. Kept as text from the start: a computation may hold tens of thousands of
    /// flags, and a parsed tree takes about ten times the memory of its text.
    pub evidence: String,
}

impl NewFlag {
    /// The evidence parsed, for reading it (it is always a JSON object written by this program).
    pub fn evidence_value(&self) -> serde_json::Value {
        serde_json::from_str(&self.evidence).unwrap_or(serde_json::Value::Null)
    }
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

/// Rows per multi-row INSERT: 18 columns each stays far below SQLite's 32,766 bind parameters.
const INSERT_CHUNK: usize = 500;
/// Ids per `IN (...)` list.
const IN_CHUNK: usize = 5_000;

/// One refresh of the stored flags, in one transaction: readers see the old flags or the new,
/// never half of each.
pub struct Refresh {
    txn: DatabaseTransaction,
    now: DateTime<Utc>,
    stored: Stored,
}

type Key = (String, SubjectKind, String);

fn key(indicator: &str, kind: SubjectKind, subject: &str) -> Key {
    (indicator.to_owned(), kind, subject.to_owned())
}

impl Refresh {
    pub async fn begin(db: &DatabaseConnection, now: DateTime<Utc>) -> Result<Self, DomainError> {
        Ok(Refresh { txn: db.begin().await?, now, stored: Stored::default() })
    }

    /// Stores what `indicators` found: new flags are raised, flags found again are refreshed
    /// (written only if something changed, so the change feed carries real changes only), and
    /// flags of these indicators not found again are cleared.
    pub async fn replace(&mut self, indicators: &[&str], flags: Vec<NewFlag>) -> Result<(), DomainError> {
        let existing = red_flag::Entity::find()
            .filter(red_flag::Column::Indicator.is_in(indicators.iter().copied()))
            .all(&self.txn)
            .await?;
        self.replace_rows(existing, flags).await
    }

    /// [`Refresh::replace`] for the flags of `buyers` only: what an incremental refresh
    /// recomputed. Every flag in `flags` must be about one of them.
    pub async fn replace_for_buyers(
        &mut self,
        indicators: &[&str],
        buyers: &[i64],
        flags: Vec<NewFlag>,
    ) -> Result<(), DomainError> {
        let mut existing = Vec::new();
        for chunk in buyers.chunks(IN_CHUNK) {
            existing.extend(
                red_flag::Entity::find()
                    .filter(red_flag::Column::Indicator.is_in(indicators.iter().copied()))
                    .filter(red_flag::Column::BuyerId.is_in(chunk.iter().copied()))
                    .all(&self.txn)
                    .await?,
            );
        }
        self.replace_rows(existing, flags).await
    }

    /// Stores `flags` over `existing`, the stored flags they stand for.
    async fn replace_rows(&mut self, existing: Vec<red_flag::Model>, flags: Vec<NewFlag>) -> Result<(), DomainError> {
        let txn = &self.txn;
        let mut by_key: HashMap<Key, red_flag::Model> =
            existing.into_iter().map(|row| (key(&row.indicator, row.subject_kind, &row.subject_key), row)).collect();
        // Two flags with one key (an ocid on two input lines): the later stands.
        let found: HashMap<Key, NewFlag> =
            flags.into_iter().map(|flag| (key(&flag.indicator, flag.subject_kind, &flag.subject_key), flag)).collect();
        let mut inserts = Vec::new();
        for (flag_key, flag) in found {
            let evidence = flag.evidence;
            match by_key.remove(&flag_key) {
                Some(row) => {
                    let unchanged = row.cleared_at.is_none()
                        && row.value == flag.value
                        && row.evidence == evidence
                        && row.severity == flag.severity
                        && row.observed_on == flag.observed_on
                        && row.ocid == flag.ocid
                        && row.tender_id == flag.tender_id
                        && row.contract_id == flag.contract_id
                        && row.buyer_id == flag.buyer_id
                        && row.supplier_id == flag.supplier_id
                        && row.region_kato == flag.region_kato;
                    if unchanged {
                        continue;
                    }
                    let mut active: red_flag::ActiveModel = row.into();
                    active.ocid = Set(flag.ocid);
                    active.tender_id = Set(flag.tender_id);
                    active.contract_id = Set(flag.contract_id);
                    active.buyer_id = Set(flag.buyer_id);
                    active.supplier_id = Set(flag.supplier_id);
                    active.region_kato = Set(flag.region_kato);
                    active.observed_on = Set(flag.observed_on);
                    active.severity = Set(flag.severity);
                    active.value = Set(flag.value);
                    active.evidence = Set(evidence);
                    active.computed_at = Set(self.now);
                    active.cleared_at = Set(None);
                    active.update(txn).await?;
                    self.stored.refreshed += 1;
                }
                None => inserts.push(red_flag::ActiveModel {
                    indicator: Set(flag.indicator),
                    subject_kind: Set(flag.subject_kind),
                    subject_key: Set(flag.subject_key),
                    ocid: Set(flag.ocid),
                    tender_id: Set(flag.tender_id),
                    contract_id: Set(flag.contract_id),
                    buyer_id: Set(flag.buyer_id),
                    supplier_id: Set(flag.supplier_id),
                    region_kato: Set(flag.region_kato),
                    observed_on: Set(flag.observed_on),
                    severity: Set(flag.severity),
                    value: Set(flag.value),
                    evidence: Set(evidence),
                    first_raised_at: Set(self.now),
                    computed_at: Set(self.now),
                    cleared_at: Set(None),
                    ..Default::default()
                }),
            }
        }
        self.stored.raised += inserts.len() as u64;
        let mut rows = inserts.into_iter().peekable();
        while rows.peek().is_some() {
            let chunk: Vec<_> = rows.by_ref().take(INSERT_CHUNK).collect();
            // Every stored flag of these indicators was read above: a new key is a new row.
            red_flag::Entity::insert_many(chunk).exec_without_returning(txn).await?;
        }
        for (_, row) in by_key {
            if row.cleared_at.is_some() {
                continue;
            }
            let mut active: red_flag::ActiveModel = row.into();
            active.cleared_at = Set(Some(self.now));
            active.update(txn).await?;
            self.stored.cleared += 1;
        }
        Ok(())
    }

    /// Replaces what the indicators could judge.
    pub async fn coverage(&mut self, rows: Vec<CoverageRow>) -> Result<(), DomainError> {
        for row in rows {
            let flags = red_flag::Entity::find()
                .filter(red_flag::Column::Indicator.eq(row.indicator.as_str()))
                .filter(red_flag::Column::ClearedAt.is_null())
                .count(&self.txn)
                .await?;
            indicator_coverage::Entity::delete_by_id(row.indicator.clone()).exec(&self.txn).await?;
            indicator_coverage::ActiveModel {
                indicator: Set(row.indicator),
                evaluated: Set(row.evaluated as i64),
                not_applicable: Set(serde_json::to_string(&row.not_applicable).expect("a map of counts serialises")),
                flags: Set(flags as i64),
                settings: Set(row.settings.to_string()),
                computed_at: Set(self.now),
            }
            .insert(&self.txn)
            .await?;
        }
        Ok(())
    }

    /// Removes every digest: a full refresh writes them all again.
    pub async fn clear_digests(&mut self) -> Result<(), DomainError> {
        indicator_digest::Entity::delete_many().exec(&self.txn).await?;
        Ok(())
    }

    /// Removes the digests of these records of `scope`.
    pub async fn delete_digests(&mut self, scope: &str, ids: &[i64]) -> Result<(), DomainError> {
        for chunk in ids.chunks(IN_CHUNK) {
            indicator_digest::Entity::delete_many()
                .filter(indicator_digest::Column::Scope.eq(scope))
                .filter(indicator_digest::Column::RecordId.is_in(chunk.iter().copied()))
                .exec(&self.txn)
                .await?;
        }
        Ok(())
    }

    /// Writes digests of `scope` for records that have none (after [`Refresh::clear_digests`]
    /// or [`Refresh::delete_digests`]).
    pub async fn insert_digests(&mut self, scope: &str, digests: Vec<(i64, String)>) -> Result<(), DomainError> {
        let mut rows = digests
            .into_iter()
            .map(|(record_id, digest)| indicator_digest::ActiveModel {
                scope: Set(scope.to_owned()),
                record_id: Set(record_id),
                digest: Set(digest),
            })
            .peekable();
        while rows.peek().is_some() {
            let chunk: Vec<_> = rows.by_ref().take(INSERT_CHUNK).collect();
            indicator_digest::Entity::insert_many(chunk).exec_without_returning(&self.txn).await?;
        }
        Ok(())
    }

    /// Records the last change-feed id this refresh has read, the settings it used and the
    /// main currency it compared in, and commits.
    pub async fn commit(
        self,
        last_change_id: i64,
        settings_sha256: &str,
        main_currency: Option<String>,
    ) -> Result<Stored, DomainError> {
        red_flag_state::Entity::delete_by_id(1).exec(&self.txn).await?;
        red_flag_state::ActiveModel {
            id: Set(1),
            last_change_id: Set(last_change_id),
            settings_sha256: Set(settings_sha256.to_owned()),
            refreshed_at: Set(self.now),
            main_currency: Set(main_currency),
        }
        .insert(&self.txn)
        .await?;
        self.txn.commit().await?;
        Ok(self.stored)
    }
}

/// Up to `limit` digests of `scope` with record ids above `after`, in id order.
pub async fn digests(
    db: &DatabaseConnection,
    scope: &str,
    after: i64,
    limit: u64,
) -> Result<Vec<(i64, String)>, DomainError> {
    Ok(indicator_digest::Entity::find()
        .filter(indicator_digest::Column::Scope.eq(scope))
        .filter(indicator_digest::Column::RecordId.gt(after))
        .order_by_asc(indicator_digest::Column::RecordId)
        .limit(limit)
        .all(db)
        .await?
        .into_iter()
        .map(|row| (row.record_id, row.digest))
        .collect())
}

/// What the stored flags were last computed from, if they ever were.
pub async fn state(db: &DatabaseConnection) -> Result<Option<red_flag_state::Model>, DomainError> {
    Ok(red_flag_state::Entity::find_by_id(1).one(db).await?)
}
