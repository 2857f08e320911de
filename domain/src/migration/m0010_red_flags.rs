//! Red flags and what they are computed from beyond the procurement records: the register of
//! unreliable suppliers (goszakup's `rnu`), the day an organization was registered, and which
//! flag a finding was opened from.
//!
//! A flag is kept once raised: when a later computation no longer finds it, it is marked
//! `cleared_at` rather than deleted, so a finding opened from it still shows what it was.

use sea_orm::DbBackend;
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::m0003_changes::{postgres_trigger, sqlite_triggers};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0010_red_flags"
    }
}

fn index(table: &'static str, columns: &[&'static str]) -> IndexCreateStatement {
    let mut statement = Index::create();
    statement.name(format!("ix_{table}_{}", columns.join("_"))).table(table);
    for column in columns {
        statement.col(*column);
    }
    statement.to_owned()
}

/// The tables that join the change feed, with their entity names. Register entries reach
/// readers through the flags they raise, so they stay out until they have a route of their own.
const TRACKED: [(&str, &str); 1] = [("red_flags", "red_flag")];

fn tables() -> Vec<(TableCreateStatement, Vec<IndexCreateStatement>)> {
    let red_flags = Table::create()
        .table("red_flags")
        .col(big_pk_auto("id"))
        // R003 … R058 (cardinal's codes) or KZ01 … KZ08 (Kazakhstan's own).
        .col(string_len("indicator", 8))
        // process, buyer, procuring_entity, tenderer or contract.
        .col(string_len("subject_kind", 24))
        // The ocid, party id or contract key the flag is about; with the two above, unique.
        .col(string_len("subject_key", 255))
        .col(string_len_null("ocid", 255))
        .col(big_integer_null("tender_id"))
        .col(big_integer_null("contract_id"))
        .col(big_integer_null("buyer_id"))
        .col(big_integer_null("supplier_id"))
        // The buyer's region (KATO), for the region filter.
        .col(string_len_null("region_kato", 16))
        // The day the flagged fact happened (a tender's publication, a signing, a payment).
        .col(date("observed_on"))
        // low, medium or high.
        .col(string_len("severity", 8))
        // The indicator's value as a decimal text (cardinal's output value).
        .col(string_len("value", 64))
        // JSON: the values compared, the thresholds, quartiles and fences, the records involved.
        .col(text("evidence"))
        .col(timestamp_with_time_zone("first_raised_at"))
        .col(timestamp_with_time_zone("computed_at"))
        .col(timestamp_with_time_zone_null("cleared_at"))
        .foreign_key(ForeignKey::create().from("red_flags", "tender_id").to("tenders", "id"))
        .foreign_key(ForeignKey::create().from("red_flags", "contract_id").to("contracts", "id"))
        .foreign_key(ForeignKey::create().from("red_flags", "buyer_id").to("organizations", "id"))
        .foreign_key(ForeignKey::create().from("red_flags", "supplier_id").to("organizations", "id"))
        .to_owned();

    let coverage = Table::create()
        .table("indicator_coverage")
        .col(string_len("indicator", 8).primary_key())
        .col(big_integer("evaluated"))
        // JSON object: reason → how many records the indicator could not judge for it.
        .col(text("not_applicable"))
        .col(big_integer("flags"))
        // JSON object: the settings the last computation used.
        .col(text("settings"))
        .col(timestamp_with_time_zone("computed_at"))
        .to_owned();

    let state = Table::create()
        .table("red_flag_state")
        .col(integer("id").primary_key())
        // The last change-feed id the flags have seen: the next refresh starts after it.
        .col(big_integer("last_change_id"))
        // The settings file the flags were computed with, by SHA-256: other settings, other flags.
        .col(string_len("settings_sha256", 64))
        .col(timestamp_with_time_zone("refreshed_at"))
        .to_owned();

    let unreliable = Table::create()
        .table("unreliable_suppliers")
        .col(big_pk_auto("id"))
        .col(big_integer("organization_id"))
        // The day the supplier was put on the register, and taken off (NULL: still on it).
        .col(date("included_on"))
        .col(date_null("excluded_on"))
        .col(text_null("reason_ru"))
        .col(text_null("reason_kk"))
        .col(text_null("reason_en"))
        .col(string_len("source", 32))
        .col(string_len("upstream_id", 255))
        .col(timestamp_with_time_zone("fetched_at"))
        .col(string_len("content_hash", 64))
        .col(big_integer_null("import_run_id"))
        .foreign_key(ForeignKey::create().from("unreliable_suppliers", "organization_id").to("organizations", "id"))
        .to_owned();

    vec![
        (
            red_flags,
            vec![
                index("red_flags", &["indicator", "subject_kind", "subject_key"]).unique().to_owned(),
                index("red_flags", &["buyer_id", "id"]),
                index("red_flags", &["supplier_id", "id"]),
                index("red_flags", &["tender_id"]),
                index("red_flags", &["contract_id"]),
                index("red_flags", &["observed_on", "id"]),
            ],
        ),
        (coverage, vec![]),
        (state, vec![]),
        (
            unreliable,
            vec![
                index("unreliable_suppliers", &["source", "upstream_id"]).unique().to_owned(),
                index("unreliable_suppliers", &["organization_id"]),
            ],
        ),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (table, indexes) in tables() {
            manager.create_table(table).await?;
            for index in indexes {
                manager.create_index(index).await?;
            }
        }
        manager
            .alter_table(Table::alter().table("organizations").add_column(date_null("registered_on")).to_owned())
            .await?;
        manager
            .alter_table(Table::alter().table("findings").add_column(big_integer_null("red_flag_id")).to_owned())
            .await?;
        let backend = manager.get_database_backend();
        let connection = manager.get_connection();
        for (table, entity) in TRACKED {
            let statements = match backend {
                DbBackend::Postgres => vec![postgres_trigger(table, entity)],
                _ => sqlite_triggers(table, entity),
            };
            for statement in statements {
                connection.execute_unprepared(&statement).await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        let connection = manager.get_connection();
        for (table, _) in TRACKED {
            let statements: Vec<String> = match backend {
                DbBackend::Postgres => vec![format!("DROP TRIGGER IF EXISTS changes_{table} ON \"{table}\"")],
                _ => ["insert", "update", "delete"]
                    .map(|event| format!("DROP TRIGGER IF EXISTS changes_{table}_{event}"))
                    .to_vec(),
            };
            for statement in statements {
                connection.execute_unprepared(&statement).await?;
            }
        }
        manager.alter_table(Table::alter().table("findings").drop_column("red_flag_id").to_owned()).await?;
        manager.alter_table(Table::alter().table("organizations").drop_column("registered_on").to_owned()).await?;
        for (table, _) in tables().into_iter().rev() {
            let name = table.get_table_name().cloned().expect("tables are named");
            manager.drop_table(Table::drop().table(name).to_owned()).await?;
        }
        Ok(())
    }
}
