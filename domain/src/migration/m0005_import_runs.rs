//! Import runs as records a reader can audit: what a run was asked to read (its scope), the
//! outcome of every record it read, and a finding for every record it rejected or repaired.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0005_import_runs"
    }
}

const COUNT_COLUMNS: [&str; 5] = ["rows_inserted", "rows_updated", "rows_unchanged", "rows_deleted", "rows_repaired"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE.
        manager.alter_table(Table::alter().table("import_runs").add_column(text_null("scope")).to_owned()).await?;
        for column in COUNT_COLUMNS {
            manager
                .alter_table(
                    Table::alter()
                        .table("import_runs")
                        .add_column(big_integer(Alias::new(column)).default(0))
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("ix_import_runs_source_scope")
                    .table("import_runs")
                    .col("source")
                    .col("scope")
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("import_findings")
                    .col(big_pk_auto("id"))
                    .col(big_integer("import_run_id"))
                    .col(string_len("action", 16))
                    .col(text("input"))
                    .col(big_integer_null("position"))
                    .col(text_null("record_id"))
                    .col(text("reason"))
                    .foreign_key(ForeignKey::create().from("import_findings", "import_run_id").to("import_runs", "id"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_import_findings_import_run_id_id")
                    .table("import_findings")
                    .col("import_run_id")
                    .col("id")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table("import_findings").to_owned()).await?;
        manager.drop_index(Index::drop().name("ix_import_runs_source_scope").table("import_runs").to_owned()).await?;
        for column in COUNT_COLUMNS.iter().rev() {
            manager
                .alter_table(Table::alter().table("import_runs").drop_column(Alias::new(*column)).to_owned())
                .await?;
        }
        manager.alter_table(Table::alter().table("import_runs").drop_column("scope").to_owned()).await
    }
}
