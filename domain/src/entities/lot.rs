//! Lots: the separately awarded parts of a tender.

use sea_orm::entity::prelude::*;

use super::TenderStatus;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "lots")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub tender_id: i64,
    pub plan_item_id: Option<i64>,
    pub lot_number: String,
    pub name_ru: Option<String>,
    pub name_kk: Option<String>,
    pub name_en: Option<String>,
    pub status: TenderStatus,
    /// Quantity as decimal text.
    pub quantity: String,
    pub amount_minor: i64,
    pub currency: String,
    pub exchange_rate: String,
    pub vat_included: bool,
    /// KATO code of the delivery place.
    pub delivery_kato: Option<String>,
    pub source: String,
    pub upstream_id: String,
    pub fetched_at: DateTimeUtc,
    pub content_hash: String,
    pub import_run_id: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(belongs_to = "super::tender::Entity", from = "Column::TenderId", to = "super::tender::Column::Id")]
    Tender,
    #[sea_orm(
        belongs_to = "super::plan_item::Entity",
        from = "Column::PlanItemId",
        to = "super::plan_item::Column::Id"
    )]
    PlanItem,
}

impl ActiveModelBehavior for ActiveModel {}
