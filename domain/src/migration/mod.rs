//! The one migration set, run on SQLite and PostgreSQL alike. Migrations are frozen once they
//! land: they name tables and columns as strings rather than through the entities, so a later
//! change to an entity cannot silently rewrite history.

use sea_orm_migration::prelude::*;

mod m0001_domain;
mod m0002_search;
mod m0003_changes;
mod m0004_list_indexes;
mod m0005_import_runs;
mod m0006_accounts_audit;
mod m0007_import_rejects;
mod m0008_findings;
mod m0009_outbox;
mod m0010_red_flags;
mod m0011_indicator_digests;
mod m0012_unsigned_contracts;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m0001_domain::Migration),
            Box::new(m0002_search::Migration),
            Box::new(m0003_changes::Migration),
            Box::new(m0004_list_indexes::Migration),
            Box::new(m0005_import_runs::Migration),
            Box::new(m0006_accounts_audit::Migration),
            Box::new(m0007_import_rejects::Migration),
            Box::new(m0008_findings::Migration),
            Box::new(m0009_outbox::Migration),
            Box::new(m0010_red_flags::Migration),
            Box::new(m0011_indicator_digests::Migration),
            Box::new(m0012_unsigned_contracts::Migration),
        ]
    }
}
