//! A reject of an import run: one input record it rejected (with the reason), or stored after
//! a repair of a known upstream deviation.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "import_rejects")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub import_run_id: i64,
    /// `rejected` or `repaired`.
    pub outcome: String,
    /// The file path or URL the record was read from.
    pub input: String,
    /// The line or item position within the input.
    pub position: Option<i64>,
    pub record_id: Option<String>,
    pub reason: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::import_run::Entity",
        from = "Column::ImportRunId",
        to = "super::import_run::Column::Id"
    )]
    ImportRun,
}

impl ActiveModelBehavior for ActiveModel {}
