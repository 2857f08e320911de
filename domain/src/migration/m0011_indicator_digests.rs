//! What an incremental refresh of the red flags starts from: for every contracting process, what
//! cardinal's indicators took from its release, and for every buyer, what Kazakhstan's counted
//! over its contracts. A refresh after an import recomputes only the processes and buyers the
//! change feed names, and re-finishes the outlier indicators from the rest of the digests.
//!
//! Flags computed before digests existed have none to start from: the state row is removed, so
//! the next refresh is a full one and writes them.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0011_indicator_digests"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("indicator_digests")
                    // `tender` or `direct` (a process, by its defining record), or `buyer`.
                    .col(string_len("scope", 16))
                    .col(big_integer("record_id"))
                    // JSON written and read by the indicators crate only.
                    .col(text("digest"))
                    .primary_key(Index::create().col("scope").col("record_id"))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter().table("red_flag_state").add_column(string_len_null("main_currency", 8)).to_owned(),
            )
            .await?;
        manager.get_connection().execute_unprepared("DELETE FROM red_flag_state").await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.alter_table(Table::alter().table("red_flag_state").drop_column("main_currency").to_owned()).await?;
        manager.drop_table(Table::drop().table("indicator_digests").to_owned()).await?;
        Ok(())
    }
}
