//! Decisions: orders, resolutions and board decisions that bodies adopt.

use sea_orm::entity::prelude::*;

use super::DecisionKind;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "decisions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub organization_id: i64,
    pub kind: DecisionKind,
    pub number: String,
    pub adopted_on: Date,
    pub title_ru: Option<String>,
    pub title_kk: Option<String>,
    pub title_en: Option<String>,
    pub summary_ru: Option<String>,
    pub summary_kk: Option<String>,
    pub summary_en: Option<String>,
    /// Where the full text is published.
    pub url: Option<String>,
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
        from = "Column::OrganizationId",
        to = "super::organization::Column::Id"
    )]
    Organization,
}

impl ActiveModelBehavior for ActiveModel {}
