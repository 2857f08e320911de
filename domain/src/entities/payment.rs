//! Payments: treasury transactions from a payer to a payee, usually against a contract.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "payments")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub contract_id: Option<i64>,
    pub payer_id: i64,
    pub payee_id: i64,
    pub budget_line_id: Option<i64>,
    /// The treasury's document number.
    pub document_number: String,
    pub paid_at: DateTimeUtc,
    pub fiscal_year: i32,
    pub purpose_ru: Option<String>,
    pub purpose_kk: Option<String>,
    pub purpose_en: Option<String>,
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
    #[sea_orm(belongs_to = "super::contract::Entity", from = "Column::ContractId", to = "super::contract::Column::Id")]
    Contract,
    #[sea_orm(
        belongs_to = "super::organization::Entity",
        from = "Column::PayerId",
        to = "super::organization::Column::Id"
    )]
    Payer,
    #[sea_orm(
        belongs_to = "super::organization::Entity",
        from = "Column::PayeeId",
        to = "super::organization::Column::Id"
    )]
    Payee,
    #[sea_orm(
        belongs_to = "super::budget_line::Entity",
        from = "Column::BudgetLineId",
        to = "super::budget_line::Column::Id"
    )]
    BudgetLine,
}

impl ActiveModelBehavior for ActiveModel {}
