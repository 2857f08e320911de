//! Tenders: procurement announcements (goszakup `trd-buy`, zakup.sk.kz adverts).

use sea_orm::entity::prelude::*;

use super::{ProcurementMethod, TenderStatus};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tenders")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The announcement number as the portal shows it, e.g. `3918654-1`.
    pub number: String,
    pub buyer_id: i64,
    pub name_ru: Option<String>,
    pub name_kk: Option<String>,
    pub name_en: Option<String>,
    pub procurement_method: ProcurementMethod,
    pub status: TenderStatus,
    pub fiscal_year: i32,
    pub published_at: DateTimeUtc,
    pub bids_open_at: Option<DateTimeUtc>,
    pub bids_close_at: Option<DateTimeUtc>,
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
    #[sea_orm(
        belongs_to = "super::organization::Entity",
        from = "Column::BuyerId",
        to = "super::organization::Column::Id"
    )]
    Buyer,
}

impl ActiveModelBehavior for ActiveModel {}
