//! The one migration set, run on SQLite and PostgreSQL alike. Migrations are frozen once they
//! land: they name tables and columns as strings rather than through the entities, so a later
//! change to an entity cannot silently rewrite history.

use sea_orm_migration::prelude::*;

mod m0001_domain;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(m0001_domain::Migration)]
    }
}
