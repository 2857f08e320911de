//! Bids, where the source publishes them.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "bids")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub lot_id: i64,
    pub bidder_id: i64,
    pub submitted_at: DateTimeUtc,
    pub amount_minor: i64,
    pub currency: String,
    pub exchange_rate: String,
    pub vat_included: bool,
    /// False when the bid was rejected at evaluation.
    pub admitted: bool,
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
        from = "Column::BidderId",
        to = "super::organization::Column::Id"
    )]
    Bidder,
}

impl ActiveModelBehavior for ActiveModel {}
