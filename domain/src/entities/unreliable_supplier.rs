//! Entries of the register of unreliable suppliers (реестр недобросовестных участников
//! государственных закупок, goszakup's `rnu`): who may not take part in public procurement,
//! from when and until when.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "unreliable_suppliers")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub organization_id: i64,
    /// The first day on the register.
    pub included_on: Date,
    /// The first day off it again; `None` while the supplier is on it.
    pub excluded_on: Option<Date>,
    pub reason_ru: Option<String>,
    pub reason_kk: Option<String>,
    pub reason_en: Option<String>,
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

impl Model {
    /// Whether the supplier was on the register on `day`.
    pub fn covers(&self, day: Date) -> bool {
        self.included_on <= day && self.excluded_on.is_none_or(|off| day < off)
    }
}
