//! Budget lines: what a budget administrator may spend on a programme in a fiscal year.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "budget_lines")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The budget programme administrator (ABP).
    pub administrator_id: i64,
    pub fiscal_year: i32,
    /// Administrator, programme and sub-programme codes, e.g. `217-001-100`.
    pub program_code: String,
    pub name_ru: Option<String>,
    pub name_kk: Option<String>,
    pub name_en: Option<String>,
    pub approved_minor: i64,
    pub currency: String,
    pub source: String,
    pub upstream_id: String,
    pub fetched_at: DateTimeUtc,
    pub content_hash: String,
    pub import_run_id: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::organization::Entity",
        from = "Column::AdministratorId",
        to = "super::organization::Column::Id"
    )]
    Administrator,
}

impl ActiveModelBehavior for ActiveModel {}
