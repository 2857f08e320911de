//! Composite indexes for the filtered, sorted lists and the spending aggregates, chosen by
//! `make bench` (see BENCHMARKS.md): each serves a filter's equality columns, then the sort
//! key, then the id that breaks ties, so a page (and its count) is one index range scan and
//! a keyset `(key, id) < (value, last_id)` seeks straight to the next page.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0004_list_indexes"
    }
}

/// `(table, columns)` of each index.
const INDEXES: [(&str, &[&str]); 12] = [
    ("payments", &["paid_at", "id"]),
    ("payments", &["payer_id", "fiscal_year", "paid_at", "id"]),
    ("payments", &["payee_id", "paid_at", "id"]),
    ("payments", &["fiscal_year", "paid_at", "id"]),
    ("payments", &["amount_minor", "id"]),
    ("contracts", &["signed_at", "id"]),
    ("contracts", &["buyer_id", "fiscal_year", "signed_at", "id"]),
    ("contracts", &["supplier_id", "signed_at", "id"]),
    ("contracts", &["fiscal_year", "signed_at", "id"]),
    ("contracts", &["amount_minor", "id"]),
    ("tenders", &["buyer_id", "published_at", "id"]),
    ("tenders", &["published_at", "id"]),
];

fn index_name(table: &str, columns: &[&str]) -> String {
    format!("ix_{table}_{}", columns.join("_"))
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (table, columns) in INDEXES {
            let mut index = Index::create();
            index.name(index_name(table, columns)).table(Alias::new(table));
            for column in columns {
                index.col(Alias::new(*column));
            }
            manager.create_index(index.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (table, columns) in INDEXES.iter().rev() {
            manager
                .drop_index(Index::drop().name(index_name(table, columns)).table(Alias::new(*table)).to_owned())
                .await?;
        }
        Ok(())
    }
}
