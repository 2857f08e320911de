//! The change feed: every created, updated and deleted record of the domain tables, in the
//! order the database recorded them (the triggers of migration `m0003_changes` write them).
//!
//! A reader keeps the sequence of the last change it saw and asks for the changes after it.
//! The triggers number changes in commit order on both engines, so whatever a reader sees is a
//! prefix of the feed: a change that becomes visible later always has a larger sequence than
//! any the reader has seen, and reading `sequence > cursor` never skips one (see the migration
//! for why PostgreSQL needs its triggers deferred to commit for this).

use chrono::{DateTime, Utc};
use sea_orm::{DatabaseBackend, DatabaseConnection, FromQueryResult, Statement};

use crate::DomainError;
use crate::pagination::Cursor;

/// The name stamped into change-feed cursors, so that a list cursor cannot be replayed here.
pub const FEED_ORDER: &str = "changes";
/// The most changes one read returns.
pub const MAX_LIMIT: u64 = 1000;
/// The page size when a reader names none.
pub const DEFAULT_LIMIT: u64 = 100;

/// The kind of record a change is about: one per domain table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChangedEntity {
    Organization,
    BudgetLine,
    PlanItem,
    Tender,
    Lot,
    Bid,
    Award,
    Contract,
    ContractAmendment,
    Payment,
    DeliveryAct,
    Decision,
    /// A published scrutiny finding (drafts stay out of the feed).
    Finding,
    /// A red flag raised, refreshed or cleared.
    RedFlag,
}

impl ChangedEntity {
    pub const ALL: [ChangedEntity; 14] = [
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
        ChangedEntity::DeliveryAct,
        ChangedEntity::Decision,
        ChangedEntity::Finding,
        ChangedEntity::RedFlag,
    ];

    /// The name the triggers store, e.g. `contract_amendment`.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangedEntity::Organization => "organization",
            ChangedEntity::BudgetLine => "budget_line",
            ChangedEntity::PlanItem => "plan_item",
            ChangedEntity::Tender => "tender",
            ChangedEntity::Lot => "lot",
            ChangedEntity::Bid => "bid",
            ChangedEntity::Award => "award",
            ChangedEntity::Contract => "contract",
            ChangedEntity::ContractAmendment => "contract_amendment",
            ChangedEntity::Payment => "payment",
            ChangedEntity::DeliveryAct => "delivery_act",
            ChangedEntity::Decision => "decision",
            ChangedEntity::Finding => "finding",
            ChangedEntity::RedFlag => "red_flag",
        }
    }

    fn parse(stored: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|entity| entity.as_str() == stored)
    }
}

/// What happened to the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeAction {
    Created,
    Updated,
    Deleted,
}

impl ChangeAction {
    fn parse(stored: &str) -> Option<Self> {
        match stored {
            "created" => Some(ChangeAction::Created),
            "updated" => Some(ChangeAction::Updated),
            "deleted" => Some(ChangeAction::Deleted),
            _ => None,
        }
    }
}

/// One change of one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The change's place in the feed, increasing.
    pub sequence: i64,
    pub entity: ChangedEntity,
    /// The id of the record that changed.
    pub record_id: i64,
    pub action: ChangeAction,
    pub changed_at: DateTime<Utc>,
}

/// The changes after a position, and the position to read from next.
#[derive(Debug, Clone)]
pub struct ChangePage {
    pub items: Vec<Change>,
    /// The last change's sequence, or the position read from when there is none.
    pub last_sequence: i64,
}

impl ChangePage {
    /// The cursor a reader passes back to read on from here.
    pub fn next_cursor(&self) -> Cursor {
        Cursor::after_id(FEED_ORDER, self.last_sequence)
    }
}

/// Reads a change-feed cursor back into the sequence it stands for.
pub fn decode_cursor(token: &str) -> Result<i64, DomainError> {
    Ok(Cursor::decode(token, FEED_ORDER)?.id)
}

#[derive(Debug, FromQueryResult)]
struct ChangeRow {
    id: i64,
    entity: String,
    record_id: i64,
    action: String,
    changed_at: DateTime<Utc>,
}

#[derive(Debug, FromQueryResult)]
struct LastRow {
    last: Option<i64>,
}

/// The sequence of the last change recorded so far (0 when there is none).
pub async fn last_sequence(db: &DatabaseConnection) -> Result<i64, DomainError> {
    let statement = Statement::from_string(db.get_database_backend(), "SELECT MAX(id) AS last FROM changes");
    Ok(LastRow::find_by_statement(statement).one(db).await?.and_then(|row| row.last).unwrap_or(0))
}

#[derive(Debug, FromQueryResult)]
struct AnyRow {
    #[allow(dead_code)]
    id: i64,
}

/// Whether a record of any entity but `ignored` changed after `after`.
pub async fn any_after(db: &DatabaseConnection, after: i64, ignored: &[ChangedEntity]) -> Result<bool, DomainError> {
    let backend = db.get_database_backend();
    let placeholder = |n: usize| if backend == DatabaseBackend::Postgres { format!("${n}") } else { "?".to_owned() };
    let excluded: Vec<String> = (0..ignored.len()).map(|i| placeholder(i + 2)).collect();
    let mut sql = format!("SELECT id FROM changes WHERE id > {}", placeholder(1));
    if !excluded.is_empty() {
        sql.push_str(&format!(" AND entity NOT IN ({})", excluded.join(", ")));
    }
    sql.push_str(" LIMIT 1");
    let mut values: Vec<sea_orm::Value> = vec![after.into()];
    values.extend(ignored.iter().map(|entity| sea_orm::Value::from(entity.as_str())));
    let statement = Statement::from_sql_and_values(backend, sql, values);
    Ok(AnyRow::find_by_statement(statement).one(db).await?.is_some())
}

/// Up to `limit` changes (at most [`MAX_LIMIT`]) with a sequence above `after`, in order.
pub async fn after(db: &DatabaseConnection, after: i64, limit: u64) -> Result<ChangePage, DomainError> {
    let limit = limit.clamp(1, MAX_LIMIT) as i64;
    let backend = db.get_database_backend();
    let sql = match backend {
        DatabaseBackend::Postgres => {
            "SELECT id, entity, record_id, action, changed_at FROM changes WHERE id > $1 ORDER BY id LIMIT $2"
        }
        _ => "SELECT id, entity, record_id, action, changed_at FROM changes WHERE id > ? ORDER BY id LIMIT ?",
    };
    let statement = Statement::from_sql_and_values(backend, sql, [after.into(), limit.into()]);
    let rows = ChangeRow::find_by_statement(statement).all(db).await?;
    let items = rows
        .into_iter()
        .map(|row| {
            let inconsistent = |what: &str| DomainError::Inconsistent(format!("change {} has {what}", row.id));
            Ok(Change {
                sequence: row.id,
                entity: ChangedEntity::parse(&row.entity).ok_or_else(|| inconsistent("an unknown entity"))?,
                record_id: row.record_id,
                action: ChangeAction::parse(&row.action).ok_or_else(|| inconsistent("an unknown action"))?,
                changed_at: row.changed_at,
            })
        })
        .collect::<Result<Vec<_>, DomainError>>()?;
    let last_sequence = items.last().map_or(after, |change| change.sequence);
    Ok(ChangePage { items, last_sequence })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_belong_to_the_feed() {
        let page = ChangePage { items: Vec::new(), last_sequence: 42 };
        assert_eq!(decode_cursor(&page.next_cursor().encode()).unwrap(), 42);
        let list_cursor = Cursor::after_id("id", 42).encode();
        assert!(matches!(decode_cursor(&list_cursor), Err(DomainError::InvalidCursor(_))));
    }

    #[test]
    fn every_entity_name_parses_back() {
        for entity in ChangedEntity::ALL {
            assert_eq!(ChangedEntity::parse(entity.as_str()), Some(entity));
        }
        assert_eq!(ChangedEntity::parse("import_run"), None);
    }
}
