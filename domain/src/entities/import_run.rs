//! One run of an importer (or of the demo seed): what it read, stored and rejected.

use sea_orm::entity::prelude::*;

use super::ImportRunStatus;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "import_runs")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The upstream source, e.g. `goszakup`, `zakup_sk_kz`, `demo`.
    pub source: String,
    pub status: ImportRunStatus,
    pub started_at: DateTimeUtc,
    pub finished_at: Option<DateTimeUtc>,
    pub rows_in: i64,
    pub rows_stored: i64,
    pub rows_rejected: i64,
    /// Where a resumed run picks up (an upstream page cursor, a file offset).
    pub checkpoint: Option<String>,
    pub error: Option<String>,
    /// What the run was asked to read (base URL and collections, files); a run that did not
    /// finish is resumed by the next run of the same source and scope.
    pub scope: Option<String>,
    pub rows_inserted: i64,
    pub rows_updated: i64,
    pub rows_unchanged: i64,
    pub rows_deleted: i64,
    /// Records stored after a repair of a known upstream deviation.
    pub rows_repaired: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
