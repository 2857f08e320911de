//! Procurement plan items: what a buyer plans to buy in a fiscal year.

use sea_orm::entity::prelude::*;

use super::ProcurementMethod;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "plan_items")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub buyer_id: i64,
    pub budget_line_id: Option<i64>,
    pub fiscal_year: i32,
    pub name_ru: Option<String>,
    pub name_kk: Option<String>,
    pub name_en: Option<String>,
    /// ENSTRU goods/works/services classifier code.
    pub enstru_code: Option<String>,
    pub procurement_method: ProcurementMethod,
    /// Quantity as decimal text (quantities are not money but may be fractional).
    pub quantity: String,
    pub unit_price_minor: i64,
    pub amount_minor: i64,
    pub currency: String,
    pub exchange_rate: String,
    pub vat_included: bool,
    pub planned_month: Option<i32>,
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
        belongs_to = "super::budget_line::Entity",
        from = "Column::BudgetLineId",
        to = "super::budget_line::Column::Id"
    )]
    BudgetLine,
}

impl ActiveModelBehavior for ActiveModel {}
