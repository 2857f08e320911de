//! Contracts between a buyer and a supplier, with or without a tender before them.

use sea_orm::entity::prelude::*;

use super::{ContractStatus, ProcurementMethod};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "contracts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The contract's number in the source system, e.g. `160440007161/202318/00`.
    pub number: String,
    pub buyer_id: i64,
    pub supplier_id: i64,
    pub tender_id: Option<i64>,
    pub lot_id: Option<i64>,
    pub award_id: Option<i64>,
    pub procurement_method: ProcurementMethod,
    pub status: ContractStatus,
    pub fiscal_year: i32,
    pub description_ru: Option<String>,
    pub description_kk: Option<String>,
    pub description_en: Option<String>,
    /// When it was signed; `None` for a contract not signed yet (a draft), stored with its status.
    pub signed_at: Option<DateTimeUtc>,
    pub ends_on: Option<Date>,
    /// The current amount, after amendments.
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
    #[sea_orm(
        belongs_to = "super::organization::Entity",
        from = "Column::SupplierId",
        to = "super::organization::Column::Id"
    )]
    Supplier,
    #[sea_orm(belongs_to = "super::tender::Entity", from = "Column::TenderId", to = "super::tender::Column::Id")]
    Tender,
    #[sea_orm(belongs_to = "super::lot::Entity", from = "Column::LotId", to = "super::lot::Column::Id")]
    Lot,
    #[sea_orm(belongs_to = "super::award::Entity", from = "Column::AwardId", to = "super::award::Column::Id")]
    Award,
}

impl ActiveModelBehavior for ActiveModel {}
