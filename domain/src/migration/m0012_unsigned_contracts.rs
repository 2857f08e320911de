//! A contract may be stored before it is signed: goszakup publishes drafts (status 330, never
//! signed) with no `sign_date`, and the importer stores them with their status and no signing
//! date instead of rejecting them. `contracts.signed_at` becomes nullable.
//!
//! PostgreSQL drops the constraint. SQLite cannot alter a column, so the table is rebuilt by the
//! procedure SQLite documents (<https://www.sqlite.org/lang_altertable.html#otheralter>), on one
//! connection held for it: foreign keys off, then in one transaction a new table from the old
//! definition without the constraint, the rows copied with their ids, the old table dropped, the
//! new one renamed into its place (with `legacy_alter_table`, so the triggers of other tables that
//! name `contracts` are left as they are), its indexes and triggers made again, and the foreign
//! keys checked before the commit.

use sea_orm::{ConnectionTrait, DbBackend, Statement};
use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0012_unsigned_contracts"
    }
}

/// The column's declaration as `m0001_domain` created it on SQLite, and as it becomes.
const SQLITE_NOT_NULL: &str = r#""signed_at" timestamp_with_timezone_text NOT NULL"#;
const SQLITE_NULLABLE: &str = r#""signed_at" timestamp_with_timezone_text NULL"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        match manager.get_database_backend() {
            DbBackend::Postgres => {
                db.execute_unprepared(r#"ALTER TABLE "contracts" ALTER COLUMN "signed_at" DROP NOT NULL"#).await?;
            }
            DbBackend::Sqlite => rebuild_sqlite_contracts(db, SQLITE_NOT_NULL, SQLITE_NULLABLE).await?,
            other => {
                return Err(DbErr::Migration(format!(
                    "unsigned contracts support SQLite and PostgreSQL, not {other:?}"
                )));
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        // Unsigned contracts cannot be kept under the old constraint, and making up a signing
        // date for them would be false: whoever rolls back decides what becomes of them.
        let unsigned = db
            .query_one_raw(Statement::from_string(
                manager.get_database_backend(),
                r#"SELECT COUNT(*) FROM "contracts" WHERE "signed_at" IS NULL"#,
            ))
            .await?
            .map(|row| row.try_get_by_index::<i64>(0))
            .transpose()?
            .unwrap_or(0);
        if unsigned > 0 {
            return Err(DbErr::Migration(format!(
                "{unsigned} contracts are not signed; delete them or set their signing date before rolling back m0012"
            )));
        }
        match manager.get_database_backend() {
            DbBackend::Postgres => {
                db.execute_unprepared(r#"ALTER TABLE "contracts" ALTER COLUMN "signed_at" SET NOT NULL"#).await?;
            }
            _ => rebuild_sqlite_contracts(db, SQLITE_NULLABLE, SQLITE_NOT_NULL).await?,
        }
        Ok(())
    }
}

/// Rebuilds `contracts` with `from` replaced by `to` in its definition.
async fn rebuild_sqlite_contracts(db: &SchemaManagerConnection<'_>, from: &str, to: &str) -> Result<(), DbErr> {
    use sea_orm::sqlx::{self, AssertSqlSafe, Row};
    let SchemaManagerConnection::Connection(connection) = db else {
        return Err(DbErr::Migration("m0012 runs outside a transaction: it holds a connection of its own".into()));
    };
    let failed = |error: sqlx::Error| DbErr::Migration(format!("rebuilding contracts: {error}"));
    // `PRAGMA foreign_keys` is per connection and ignored inside a transaction: every statement
    // must go through this one connection.
    let mut conn = connection.get_sqlite_connection_pool().acquire().await.map_err(failed)?;
    let definition: String = sqlx::query("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'contracts'")
        .fetch_one(&mut *conn)
        .await
        .and_then(|row| row.try_get(0))
        .map_err(failed)?;
    if definition.matches(from).count() != 1 {
        return Err(DbErr::Migration(format!("the contracts table does not declare {from} once: {definition}")));
    }
    let attached: Vec<String> = sqlx::query(
        "SELECT sql FROM sqlite_master WHERE tbl_name = 'contracts' AND type IN ('index', 'trigger') \
         AND sql IS NOT NULL ORDER BY type, name",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(failed)?
    .iter()
    .map(|row| row.try_get(0))
    .collect::<Result<_, _>>()
    .map_err(failed)?;
    let rebuilt = definition.replacen(from, to, 1).replacen(
        r#"CREATE TABLE "contracts""#,
        r#"CREATE TABLE "contracts_m0012""#,
        1,
    );
    let steps = [
        "PRAGMA foreign_keys = OFF".to_owned(),
        "BEGIN IMMEDIATE".to_owned(),
        rebuilt,
        r#"INSERT INTO "contracts_m0012" SELECT * FROM "contracts""#.to_owned(),
        r#"DROP TABLE "contracts""#.to_owned(),
        "PRAGMA legacy_alter_table = ON".to_owned(),
        r#"ALTER TABLE "contracts_m0012" RENAME TO "contracts""#.to_owned(),
        "PRAGMA legacy_alter_table = OFF".to_owned(),
    ];
    let mut outcome = Ok(());
    for statement in steps.into_iter().chain(attached) {
        if let Err(error) = sqlx::raw_sql(AssertSqlSafe(statement)).execute(&mut *conn).await {
            outcome = Err(failed(error));
            break;
        }
    }
    if outcome.is_ok() {
        let violations = sqlx::query("PRAGMA foreign_key_check").fetch_all(&mut *conn).await.map_err(failed);
        outcome = match violations {
            Ok(rows) if rows.is_empty() => sqlx::raw_sql("COMMIT").execute(&mut *conn).await.map(drop).map_err(failed),
            Ok(rows) => Err(DbErr::Migration(format!("rebuilding contracts would break {} foreign keys", rows.len()))),
            Err(error) => Err(error),
        };
    }
    if outcome.is_err() {
        let _ = sqlx::raw_sql("ROLLBACK").execute(&mut *conn).await;
    }
    let _ = sqlx::raw_sql("PRAGMA legacy_alter_table = OFF").execute(&mut *conn).await;
    sqlx::raw_sql("PRAGMA foreign_keys = ON").execute(&mut *conn).await.map_err(failed)?;
    outcome
}
