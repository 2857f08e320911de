//! The change feed: a `changes` table that database triggers append to on every INSERT, UPDATE
//! and DELETE of a domain table, whoever the writer (importers, the demo seed, manual SQL).
//! `changes.id` is the feed's order; `domain::changes` reads it with `id > cursor`.
//!
//! An UPDATE that changes a row's id is recorded as the old id `deleted`, then the new id
//! `created`, so that a mirror keyed by id stays right. TRUNCATE fires no row triggers and is
//! not recorded.
//!
//! A reader must never see a change with a larger id become visible before one with a smaller
//! id, or its cursor moves past the smaller one for good. SQLite cannot do that: one connection
//! writes at a time and holds the write lock from its first write to its commit, so ids are
//! assigned and committed in the same order and every reader sees a prefix of the feed.
//! AUTOINCREMENT keeps it from reusing the id of a deleted last row.
//!
//! PostgreSQL takes sequence values before commit, so with row triggers that write at once,
//! transaction A can take id 5, B id 6 and commit first. Filtering on the writer's transaction
//! id against the reader's snapshot `xmin` does not close the gap: when B's transaction id is
//! the older one (B wrote something before A started), B's change looks settled while A's
//! smaller id is still invisible (`api/tests/api/changes.rs` has the interleaving). Instead the
//! triggers are deferred constraint triggers, which run when their transaction commits, and
//! each first takes one transaction-scoped advisory lock: a committing transaction takes its
//! ids while it holds the lock, and PostgreSQL makes a transaction visible before it releases
//! its locks. So a transaction's ids all exceed those of every transaction that committed
//! before it, and are visible by the time the next one can take any: every reader sees a prefix
//! of the feed, with no latency added and no filter needed. The cost is that writers of the
//! domain tables commit one at a time (each holding the lock only while its changes are
//! written). A writer that makes the triggers immediate (`SET CONSTRAINTS ALL IMMEDIATE`)
//! holds the lock from its first change to its commit instead. `transaction_id`
//! (`txid_current()`) records the writing transaction, to group or trace changes; it is NULL
//! on SQLite.

use sea_orm::{ConnectionTrait, DbBackend};
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0003_changes"
    }
}

/// Each domain table and the entity name its changes carry, as of this migration.
const TRACKED: [(&str, &str); 12] = [
    ("organizations", "organization"),
    ("budget_lines", "budget_line"),
    ("plan_items", "plan_item"),
    ("tenders", "tender"),
    ("lots", "lot"),
    ("bids", "bid"),
    ("awards", "award"),
    ("contracts", "contract"),
    ("contract_amendments", "contract_amendment"),
    ("payments", "payment"),
    ("delivery_acts", "delivery_act"),
    ("decisions", "decision"),
];

/// The moment of a change on SQLite, in the RFC 3339 form sqlx writes for timestamps.
const SQLITE_NOW: &str = "strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now')";

pub(super) fn sqlite_triggers(table: &str, entity: &str) -> Vec<String> {
    let insert = "INSERT INTO changes (entity, record_id, action, changed_at)";
    vec![
        format!(
            "CREATE TRIGGER changes_{table}_insert AFTER INSERT ON \"{table}\" FOR EACH ROW BEGIN \
             {insert} VALUES ('{entity}', NEW.id, 'created', {SQLITE_NOW}); END"
        ),
        format!(
            "CREATE TRIGGER changes_{table}_update AFTER UPDATE ON \"{table}\" FOR EACH ROW BEGIN \
             {insert} SELECT '{entity}', OLD.id, 'deleted', {SQLITE_NOW} WHERE OLD.id <> NEW.id; \
             {insert} VALUES ('{entity}', NEW.id, \
             CASE WHEN OLD.id <> NEW.id THEN 'created' ELSE 'updated' END, {SQLITE_NOW}); END"
        ),
        format!(
            "CREATE TRIGGER changes_{table}_delete AFTER DELETE ON \"{table}\" FOR EACH ROW BEGIN \
             {insert} VALUES ('{entity}', OLD.id, 'deleted', {SQLITE_NOW}); END"
        ),
    ]
}

/// The advisory lock that orders committing writers: "scrutiny" in ASCII, as a bigint.
const FEED_LOCK: i64 = 0x7363_7275_7469_6e79;

/// The trigger function every domain table shares; its argument is the entity name. It runs at
/// commit (the triggers are deferred), so OLD and NEW are the rows as of each change.
fn postgres_record() -> String {
    format!(
        "CREATE FUNCTION changes_record() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock({FEED_LOCK});
    IF TG_OP = 'UPDATE' AND OLD.id <> NEW.id THEN
        INSERT INTO changes (entity, record_id, action, changed_at, transaction_id)
        VALUES (TG_ARGV[0], OLD.id, 'deleted', statement_timestamp(), txid_current()),
               (TG_ARGV[0], NEW.id, 'created', statement_timestamp(), txid_current());
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO changes (entity, record_id, action, changed_at, transaction_id)
        VALUES (TG_ARGV[0], OLD.id, 'deleted', statement_timestamp(), txid_current());
    ELSE
        INSERT INTO changes (entity, record_id, action, changed_at, transaction_id)
        VALUES (TG_ARGV[0], NEW.id, CASE TG_OP WHEN 'INSERT' THEN 'created' ELSE 'updated' END,
                statement_timestamp(), txid_current());
    END IF;
    RETURN NULL;
END
$$"
    )
}

pub(super) fn postgres_trigger(table: &str, entity: &str) -> String {
    format!(
        "CREATE CONSTRAINT TRIGGER changes_{table} AFTER INSERT OR UPDATE OR DELETE ON \"{table}\" \
         DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION changes_record('{entity}')"
    )
}

fn unsupported(backend: DbBackend) -> DbErr {
    DbErr::Migration(format!("the change feed supports SQLite and PostgreSQL, not {backend:?}"))
}

async fn run(manager: &SchemaManager<'_>, statements: Vec<String>) -> Result<(), DbErr> {
    let connection = manager.get_connection();
    for statement in statements {
        connection.execute_unprepared(&statement).await?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        if !matches!(backend, DbBackend::Sqlite | DbBackend::Postgres) {
            return Err(unsupported(backend));
        }
        // The primary key is the only index: the feed reads `id > cursor ORDER BY id`.
        manager
            .create_table(
                Table::create()
                    .table("changes")
                    .col(big_pk_auto("id"))
                    .col(string_len("entity", 32))
                    .col(big_integer("record_id"))
                    .col(string_len("action", 8))
                    .col(timestamp_with_time_zone("changed_at"))
                    .col(big_integer_null("transaction_id"))
                    .to_owned(),
            )
            .await?;
        let statements = match backend {
            DbBackend::Postgres => std::iter::once(postgres_record())
                .chain(TRACKED.iter().map(|(table, entity)| postgres_trigger(table, entity)))
                .collect(),
            _ => TRACKED.iter().flat_map(|(table, entity)| sqlite_triggers(table, entity)).collect(),
        };
        run(manager, statements).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        let mut statements: Vec<String> = match backend {
            DbBackend::Postgres => TRACKED
                .iter()
                .map(|(table, _)| format!("DROP TRIGGER IF EXISTS changes_{table} ON \"{table}\""))
                .chain(["DROP FUNCTION IF EXISTS changes_record()".to_owned()])
                .collect(),
            DbBackend::Sqlite => TRACKED
                .iter()
                .flat_map(|(table, _)| {
                    ["insert", "update", "delete"]
                        .map(|event| format!("DROP TRIGGER IF EXISTS changes_{table}_{event}"))
                })
                .collect(),
            other => return Err(unsupported(other)),
        };
        statements.push("DROP TABLE IF EXISTS changes".to_owned());
        run(manager, statements).await
    }
}
