//! The rejected and repaired records of an import run are its rejects ("finding" now names a
//! public council's scrutiny finding): `import_findings` becomes `import_rejects`, its `action`
//! column `outcome`. The stored values stay `rejected` and `repaired`, the only ones ever written.
//!
//! SQLite renames the table and the column in place (its foreign key and the table's SQL follow)
//! but cannot rename an index, so the index is dropped and created under its new name. PostgreSQL
//! renames the index, and the names it derived from the table's when it was created: the id
//! sequence, the primary key and the foreign key. On both engines the migration runs in one
//! transaction, so an interrupted one leaves the old names whole.

use sea_orm::{ConnectionTrait, DbBackend};
use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0007_import_rejects"
    }
}

/// The names from before (`from`) and after (`to`) the migration.
struct Names {
    table: &'static str,
    column: &'static str,
    index: &'static str,
}

const FINDINGS: Names =
    Names { table: "import_findings", column: "action", index: "ix_import_findings_import_run_id_id" };
const REJECTS: Names =
    Names { table: "import_rejects", column: "outcome", index: "ix_import_rejects_import_run_id_id" };

/// The names PostgreSQL derived from the table's own when m0005 created it.
fn postgres_renames(from: &Names, to: &Names) -> Vec<String> {
    let (old, new) = (from.table, to.table);
    vec![
        format!(r#"ALTER INDEX "{}" RENAME TO "{}""#, from.index, to.index),
        format!(r#"ALTER SEQUENCE "{old}_id_seq" RENAME TO "{new}_id_seq""#),
        format!(r#"ALTER TABLE "{new}" RENAME CONSTRAINT "{old}_pkey" TO "{new}_pkey""#),
        format!(r#"ALTER TABLE "{new}" RENAME CONSTRAINT "{old}_import_run_id_fkey" TO "{new}_import_run_id_fkey""#),
    ]
}

async fn rename(manager: &SchemaManager<'_>, from: &Names, to: &Names) -> Result<(), DbErr> {
    let backend = manager.get_database_backend();
    if !matches!(backend, DbBackend::Sqlite | DbBackend::Postgres) {
        return Err(DbErr::Migration(format!("the import rejects support SQLite and PostgreSQL, not {backend:?}")));
    }
    if backend == DbBackend::Sqlite {
        manager.drop_index(Index::drop().name(from.index).table(from.table).to_owned()).await?;
    }
    manager.rename_table(Table::rename().table(from.table, to.table).to_owned()).await?;
    // SQLite takes one change per ALTER TABLE.
    manager.alter_table(Table::alter().table(to.table).rename_column(from.column, to.column).to_owned()).await?;
    if backend == DbBackend::Sqlite {
        manager
            .create_index(Index::create().name(to.index).table(to.table).col("import_run_id").col("id").to_owned())
            .await?;
    } else {
        let connection = manager.get_connection();
        for statement in postgres_renames(from, to) {
            connection.execute_unprepared(&statement).await?;
        }
    }
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// SQLite too: its DDL is transactional, and a half-renamed schema could not be migrated on.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        rename(manager, &FINDINGS, &REJECTS).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        rename(manager, &REJECTS, &FINDINGS).await
    }
}
