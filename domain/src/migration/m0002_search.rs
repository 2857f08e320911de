//! Full-text search indexes over organizations, tenders, contracts and decisions.
//!
//! SQLite: one FTS5 table per base table, `search_<table>`, with external content (the base
//! table holds the text; the FTS table holds only the index, whose rowid is the base row's id),
//! kept in sync by triggers on INSERT, UPDATE and DELETE. The `unicode61 remove_diacritics 2`
//! tokenizer case-folds all of Cyrillic, Kazakh letters (ә ғ қ ң ө ұ ү һ і) included, and
//! treats ё as е; it does not stem.
//!
//! PostgreSQL: a stored generated `search_vector` column on each base table, with a GIN index.
//! Russian text goes through the `russian` configuration (stemmed) and also through `simple`,
//! so that an exact word matches even when the Russian dictionary drops it as a stop word;
//! Kazakh, English and identifiers go through `simple`. Names, titles and identifiers weigh
//! A, descriptions and summaries B.
//!
//! `domain::search` queries these; it names the same tables and columns, but this migration is
//! frozen: a change to what is indexed is a new migration.

use sea_orm::{ConnectionTrait, DbBackend};
use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0002_search"
    }
}

/// How a column's text is indexed on PostgreSQL.
#[derive(Clone, Copy)]
enum Text {
    /// A name or title in Russian: `russian` and `simple`, weight A.
    RussianName,
    /// A name, title or identifier in Kazakh, English or no language: `simple`, weight A.
    Name,
    /// A description or summary in Russian: `russian` and `simple`, weight B.
    RussianDescription,
    /// A description or summary in Kazakh or English: `simple`, weight B.
    Description,
}

/// A searchable base table and its indexed columns, in FTS5 column order.
struct Indexed {
    table: &'static str,
    columns: &'static [(&'static str, Text)],
}

const INDEXED: [Indexed; 4] = [
    Indexed {
        table: "organizations",
        columns: &[
            ("name_ru", Text::RussianName),
            ("name_kk", Text::Name),
            ("name_en", Text::Name),
            ("bin", Text::Name),
        ],
    },
    Indexed {
        table: "tenders",
        columns: &[
            ("number", Text::Name),
            ("name_ru", Text::RussianName),
            ("name_kk", Text::Name),
            ("name_en", Text::Name),
        ],
    },
    Indexed {
        table: "contracts",
        columns: &[
            ("number", Text::Name),
            ("description_ru", Text::RussianDescription),
            ("description_kk", Text::Description),
            ("description_en", Text::Description),
        ],
    },
    Indexed {
        table: "decisions",
        columns: &[
            ("number", Text::Name),
            ("title_ru", Text::RussianName),
            ("title_kk", Text::Name),
            ("title_en", Text::Name),
            ("summary_ru", Text::RussianDescription),
            ("summary_kk", Text::Description),
            ("summary_en", Text::Description),
        ],
    },
];

impl Indexed {
    fn fts_table(&self) -> String {
        format!("search_{}", self.table)
    }

    fn column_list(&self, prefix: &str) -> String {
        self.columns.iter().map(|(column, _)| format!("{prefix}{column}")).collect::<Vec<_>>().join(", ")
    }

    /// The statements that create the FTS5 table, its triggers, and index the rows already there.
    fn sqlite_up(&self) -> Vec<String> {
        let (table, fts) = (self.table, self.fts_table());
        let columns = self.column_list("");
        let new_values = self.column_list("new.");
        let old_values = self.column_list("old.");
        // External content: a 'delete' must repeat the values that were indexed, which the
        // triggers have at hand as `old.*`.
        let delete_old =
            format!("INSERT INTO {fts} ({fts}, rowid, {columns}) VALUES ('delete', old.id, {old_values});");
        let insert_new = format!("INSERT INTO {fts} (rowid, {columns}) VALUES (new.id, {new_values});");
        // Re-index only when indexed text changed: upserts rewrite every column of a row.
        let changed = std::iter::once("old.id IS NOT new.id".to_owned())
            .chain(self.columns.iter().map(|(column, _)| format!("old.{column} IS NOT new.{column}")))
            .collect::<Vec<_>>()
            .join(" OR ");
        vec![
            format!(
                "CREATE VIRTUAL TABLE {fts} USING fts5({columns}, content='{table}', content_rowid='id', \
                 tokenize='unicode61 remove_diacritics 2')"
            ),
            format!("CREATE TRIGGER {fts}_after_insert AFTER INSERT ON {table} BEGIN {insert_new} END"),
            format!("CREATE TRIGGER {fts}_after_delete AFTER DELETE ON {table} BEGIN {delete_old} END"),
            format!(
                "CREATE TRIGGER {fts}_after_update AFTER UPDATE ON {table} WHEN {changed} \
                 BEGIN {delete_old} {insert_new} END"
            ),
            format!("INSERT INTO {fts} ({fts}) VALUES ('rebuild')"),
        ]
    }

    fn sqlite_down(&self) -> Vec<String> {
        let fts = self.fts_table();
        vec![
            format!("DROP TRIGGER IF EXISTS {fts}_after_update"),
            format!("DROP TRIGGER IF EXISTS {fts}_after_delete"),
            format!("DROP TRIGGER IF EXISTS {fts}_after_insert"),
            format!("DROP TABLE IF EXISTS {fts}"),
        ]
    }

    /// The statements that add the generated `search_vector` column and its GIN index.
    fn postgres_up(&self) -> Vec<String> {
        let table = self.table;
        let parts = self
            .columns
            .iter()
            .flat_map(|&(column, text)| {
                let value = format!("coalesce(\"{column}\", '')");
                let (configurations, weight): (&[&str], char) = match text {
                    Text::RussianName => (&["russian", "simple"], 'A'),
                    Text::Name => (&["simple"], 'A'),
                    Text::RussianDescription => (&["russian", "simple"], 'B'),
                    Text::Description => (&["simple"], 'B'),
                };
                configurations.iter().map(move |configuration| {
                    format!("setweight(to_tsvector('{configuration}'::regconfig, {value}), '{weight}')")
                })
            })
            .collect::<Vec<_>>()
            .join(" || ");
        vec![
            format!("ALTER TABLE \"{table}\" ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ({parts}) STORED"),
            format!("CREATE INDEX ix_{table}_search_vector ON \"{table}\" USING gin (search_vector)"),
        ]
    }

    fn postgres_down(&self) -> Vec<String> {
        let table = self.table;
        vec![
            format!("DROP INDEX IF EXISTS ix_{table}_search_vector"),
            format!("ALTER TABLE \"{table}\" DROP COLUMN IF EXISTS search_vector"),
        ]
    }
}

async fn run(manager: &SchemaManager<'_>, statements: Vec<String>) -> Result<(), DbErr> {
    let connection = manager.get_connection();
    for statement in statements {
        connection.execute_unprepared(&statement).await?;
    }
    Ok(())
}

fn unsupported(backend: DbBackend) -> DbErr {
    DbErr::Migration(format!("full-text search supports SQLite and PostgreSQL, not {backend:?}"))
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        let statements = match backend {
            DbBackend::Sqlite => INDEXED.iter().flat_map(Indexed::sqlite_up).collect(),
            DbBackend::Postgres => INDEXED.iter().flat_map(Indexed::postgres_up).collect(),
            other => return Err(unsupported(other)),
        };
        run(manager, statements).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        let statements = match backend {
            DbBackend::Sqlite => INDEXED.iter().rev().flat_map(Indexed::sqlite_down).collect(),
            DbBackend::Postgres => INDEXED.iter().rev().flat_map(Indexed::postgres_down).collect(),
            other => return Err(unsupported(other)),
        };
        run(manager, statements).await
    }
}
