//! Which processes and buyers a refresh of the red flags must recompute: what the change feed
//! names after the last refresh, followed to the processes whose releases draw on it and to the
//! buyers whose contracts Kazakhstan's indicators judge with it.
//!
//! A tender's release draws on its lots, bids, awards, contracts with their amendments and
//! payments, the plan items and budget lines behind its lots, and every organization named in
//! any of them; a direct contract's on its amendments, payments and organizations. Kazakhstan's
//! indicators judge a buyer's contracts together (KZ04 and KZ05 compare them with each other),
//! so a change to one contract, or to anything it is judged with, recomputes its buyer: its
//! tender, lot and plan item, its amendments and payments, its buyer and supplier, their
//! parents' groups, and the register of unreliable suppliers.
//!
//! A deleted record leaves nothing to follow it by, so a delete asks for a full refresh; so do
//! more changes than an incremental refresh is worth ([`Limits::max_changes`]).

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, FromQueryResult, QueryFilter, QuerySelect, Statement};

use crate::DomainError;
use crate::changes::ChangedEntity;
use crate::entities::{contract, unreliable_supplier};

/// The entities the indicators read: changes to others (delivery acts, decisions, findings,
/// flags themselves) change no flag.
pub const READ_BY_INDICATORS: [ChangedEntity; 10] = [
    ChangedEntity::Organization,
    ChangedEntity::BudgetLine,
    ChangedEntity::PlanItem,
    ChangedEntity::Tender,
    ChangedEntity::Lot,
    ChangedEntity::Bid,
    ChangedEntity::Award,
    ChangedEntity::Contract,
    ChangedEntity::ContractAmendment,
    ChangedEntity::Payment,
];

/// Where an incremental refresh gives way to a full one.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Changes to records the indicators read, beyond which a full refresh is cheaper than
    /// following each.
    pub max_changes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_changes: 200_000 }
    }
}

/// What changed since a refresh.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Affected {
    /// Nothing the indicators read.
    Nothing,
    /// These processes and buyers.
    Some(AffectedRecords),
    /// More than can be followed: the reason, for the log.
    Everything(String),
}

/// The processes and buyers to recompute.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AffectedRecords {
    /// Tenders whose releases draw on a change.
    pub tenders: BTreeSet<i64>,
    /// Contracts that may define a process of their own (changed contracts are all here, so a
    /// contract that now follows a tender loses its old process).
    pub direct_contracts: BTreeSet<i64>,
    /// Buyers whose contracts Kazakhstan's indicators judge again.
    pub buyers: BTreeSet<i64>,
    /// Changes followed.
    pub changes: u64,
}

#[derive(Debug, FromQueryResult)]
struct IdRow {
    id: Option<i64>,
}

#[derive(Debug, FromQueryResult)]
struct CountRow {
    changes: i64,
    deletes: Option<i64>,
}

fn entity_list() -> String {
    READ_BY_INDICATORS.iter().map(|entity| format!("'{}'", entity.as_str())).collect::<Vec<_>>().join(", ")
}

/// The changes after `after` to what the indicators read, one row per record. `after` is the
/// stored watermark, an integer, so it is written into the SQL rather than bound: the same text
/// then serves both engines' parameter styles.
fn changed_cte(after: i64) -> String {
    format!(
        "changed AS (SELECT DISTINCT entity, record_id FROM changes WHERE id > {after} AND entity IN ({})), \
         orgs AS (SELECT record_id AS id FROM changed WHERE entity = 'organization')",
        entity_list()
    )
}

/// Tenders whose releases draw on a changed record.
const TENDERS: &str = "\
    SELECT record_id AS id FROM changed WHERE entity = 'tender' \
    UNION SELECT l.tender_id FROM lots l JOIN changed c ON c.entity = 'lot' AND c.record_id = l.id \
    UNION SELECT l.tender_id FROM bids b JOIN lots l ON l.id = b.lot_id \
        JOIN changed c ON c.entity = 'bid' AND c.record_id = b.id \
    UNION SELECT l.tender_id FROM awards a JOIN lots l ON l.id = a.lot_id \
        JOIN changed c ON c.entity = 'award' AND c.record_id = a.id \
    UNION SELECT k.tender_id FROM contracts k \
        JOIN changed c ON c.entity = 'contract' AND c.record_id = k.id WHERE k.tender_id IS NOT NULL \
    UNION SELECT k.tender_id FROM contract_amendments m JOIN contracts k ON k.id = m.contract_id \
        JOIN changed c ON c.entity = 'contract_amendment' AND c.record_id = m.id WHERE k.tender_id IS NOT NULL \
    UNION SELECT k.tender_id FROM payments p JOIN contracts k ON k.id = p.contract_id \
        JOIN changed c ON c.entity = 'payment' AND c.record_id = p.id WHERE k.tender_id IS NOT NULL \
    UNION SELECT l.tender_id FROM lots l JOIN changed c ON c.entity = 'plan_item' AND c.record_id = l.plan_item_id \
    UNION SELECT l.tender_id FROM lots l JOIN plan_items i ON i.id = l.plan_item_id \
        JOIN changed c ON c.entity = 'budget_line' AND c.record_id = i.budget_line_id \
    UNION SELECT t.id FROM tenders t WHERE t.buyer_id IN (SELECT id FROM orgs) \
    UNION SELECT l.tender_id FROM bids b JOIN lots l ON l.id = b.lot_id WHERE b.bidder_id IN (SELECT id FROM orgs) \
    UNION SELECT l.tender_id FROM awards a JOIN lots l ON l.id = a.lot_id \
        WHERE a.supplier_id IN (SELECT id FROM orgs) \
    UNION SELECT k.tender_id FROM contracts k WHERE k.tender_id IS NOT NULL \
        AND (k.buyer_id IN (SELECT id FROM orgs) OR k.supplier_id IN (SELECT id FROM orgs)) \
    UNION SELECT k.tender_id FROM payments p JOIN contracts k ON k.id = p.contract_id WHERE k.tender_id IS NOT NULL \
        AND (p.payer_id IN (SELECT id FROM orgs) OR p.payee_id IN (SELECT id FROM orgs)) \
    UNION SELECT l.tender_id FROM lots l JOIN plan_items i ON i.id = l.plan_item_id \
        WHERE i.buyer_id IN (SELECT id FROM orgs)";

/// Contracts that may define a process and draw on a changed record.
const DIRECT_CONTRACTS: &str = "\
    SELECT record_id AS id FROM changed WHERE entity = 'contract' \
    UNION SELECT k.id FROM contract_amendments m JOIN contracts k ON k.id = m.contract_id \
        JOIN changed c ON c.entity = 'contract_amendment' AND c.record_id = m.id WHERE k.tender_id IS NULL \
    UNION SELECT k.id FROM payments p JOIN contracts k ON k.id = p.contract_id \
        JOIN changed c ON c.entity = 'payment' AND c.record_id = p.id WHERE k.tender_id IS NULL \
    UNION SELECT k.id FROM contracts k WHERE k.tender_id IS NULL \
        AND (k.buyer_id IN (SELECT id FROM orgs) OR k.supplier_id IN (SELECT id FROM orgs)) \
    UNION SELECT k.id FROM payments p JOIN contracts k ON k.id = p.contract_id WHERE k.tender_id IS NULL \
        AND (p.payer_id IN (SELECT id FROM orgs) OR p.payee_id IN (SELECT id FROM orgs))";

/// Buyers whose contracts are judged with a changed record. `tenders` is [`TENDERS`]'s result.
const BUYERS: &str = "\
    SELECT k.buyer_id AS id FROM contracts k JOIN changed c ON c.entity = 'contract' AND c.record_id = k.id \
    UNION SELECT k.buyer_id FROM contract_amendments m JOIN contracts k ON k.id = m.contract_id \
        JOIN changed c ON c.entity = 'contract_amendment' AND c.record_id = m.id \
    UNION SELECT k.buyer_id FROM payments p JOIN contracts k ON k.id = p.contract_id \
        JOIN changed c ON c.entity = 'payment' AND c.record_id = p.id \
    UNION SELECT k.buyer_id FROM contracts k WHERE k.tender_id IN (SELECT id FROM affected_tenders) \
    UNION SELECT k.buyer_id FROM contracts k JOIN changed c ON c.entity = 'lot' AND c.record_id = k.lot_id \
    UNION SELECT k.buyer_id FROM contracts k WHERE k.buyer_id IN (SELECT id FROM group_orgs) \
        OR k.supplier_id IN (SELECT id FROM group_orgs)";

async fn ids(db: &DatabaseConnection, sql: String) -> Result<BTreeSet<i64>, DomainError> {
    let statement = Statement::from_string(db.get_database_backend(), sql);
    Ok(IdRow::find_by_statement(statement).all(db).await?.into_iter().filter_map(|row| row.id).collect())
}

/// What changed after change `after` and register entries fetched after `register_since`.
pub async fn since(
    db: &DatabaseConnection,
    after: i64,
    register_since: DateTime<Utc>,
    limits: Limits,
) -> Result<Affected, DomainError> {
    let counts = Statement::from_string(
        db.get_database_backend(),
        format!(
            "SELECT COUNT(*) AS changes, SUM(CASE WHEN action = 'deleted' THEN 1 ELSE 0 END) AS deletes \
             FROM changes WHERE id > {after} AND entity IN ({})",
            entity_list()
        ),
    );
    let counts = CountRow::find_by_statement(counts).one(db).await?;
    let (changes, deletes) = counts.map_or((0, 0), |row| (row.changes as u64, row.deletes.unwrap_or(0)));
    if deletes > 0 {
        return Ok(Affected::Everything(format!("{deletes} records were deleted")));
    }
    if changes > limits.max_changes {
        return Ok(Affected::Everything(format!(
            "{changes} changes, more than the {} an incremental refresh follows",
            limits.max_changes
        )));
    }
    // The register is not in the change feed: entries fetched since count as changes of their
    // organizations.
    let listed: Vec<i64> = unreliable_supplier::Entity::find()
        .select_only()
        .column(unreliable_supplier::Column::OrganizationId)
        .filter(unreliable_supplier::Column::FetchedAt.gt(register_since))
        .into_tuple()
        .all(db)
        .await?;
    if changes == 0 && listed.is_empty() {
        return Ok(Affected::Nothing);
    }
    let cte = changed_cte(after);
    let tenders = ids(db, format!("WITH {cte} {TENDERS}")).await?;
    let direct_contracts = ids(db, format!("WITH {cte} {DIRECT_CONTRACTS}")).await?;
    // A parent's change reaches its group: KZ07 compares buyers' and suppliers' parents.
    let group_orgs = "group_orgs AS (SELECT id FROM orgs UNION SELECT o.id FROM organizations o \
                      WHERE o.parent_id IN (SELECT id FROM orgs))";
    let mut buyers = ids(db, format!("WITH {cte}, affected_tenders AS ({TENDERS}), {group_orgs} {BUYERS}")).await?;
    let listed: BTreeSet<i64> = listed.into_iter().collect();
    let listed: Vec<i64> = listed.into_iter().collect();
    for chunk in listed.chunks(5_000) {
        let rows: Vec<i64> = contract::Entity::find()
            .select_only()
            .column(contract::Column::BuyerId)
            .distinct()
            .filter(contract::Column::SupplierId.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(db)
            .await?;
        buyers.extend(rows);
    }
    Ok(Affected::Some(AffectedRecords { tenders, direct_contracts, buyers, changes }))
}
