//! Organizations: state bodies, quasi-public entities and suppliers.

use sea_orm::entity::prelude::*;

use super::OrganizationKind;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "organizations")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// BIN or IIN, check digit verified; absent for foreign organizations.
    #[sea_orm(unique)]
    pub bin: Option<String>,
    pub name_ru: Option<String>,
    pub name_kk: Option<String>,
    pub name_en: Option<String>,
    pub kind: OrganizationKind,
    /// KATO code of the region the organization is registered in.
    pub region_kato: Option<String>,
    pub parent_id: Option<i64>,
    /// The day the organization was registered (the state business register), where known.
    pub registered_on: Option<Date>,
    pub source: String,
    pub upstream_id: String,
    pub fetched_at: DateTimeUtc,
    pub content_hash: String,
    pub import_run_id: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(belongs_to = "Entity", from = "Column::ParentId", to = "Column::Id")]
    Parent,
}

impl ActiveModelBehavior for ActiveModel {}
