//! Awards: a lot's winner as the evaluation protocol names it.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "awards")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub lot_id: i64,
    pub supplier_id: i64,
    pub awarded_at: DateTimeUtc,
    pub amount_minor: i64,
    pub currency: String,
    pub exchange_rate: String,
    pub vat_included: bool,
    pub source: String,
    pub upstream_id: String,
    pub fetched_at: DateTimeUtc,
    pub content_hash: String,
    pub import_run_id: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(belongs_to = "super::lot::Entity", from = "Column::LotId", to = "super::lot::Column::Id")]
    Lot,
    #[sea_orm(
        belongs_to = "super::organization::Entity",
        from = "Column::SupplierId",
        to = "super::organization::Column::Id"
    )]
    Supplier,
}

impl ActiveModelBehavior for ActiveModel {}
