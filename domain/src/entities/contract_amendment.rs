//! Amendments (supplementary agreements) that change a contract's amount or term.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "contract_amendments")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub contract_id: i64,
    /// 1 for the first amendment, and so on.
    pub sequence: i32,
    pub signed_at: DateTimeUtc,
    pub reason_ru: Option<String>,
    pub reason_kk: Option<String>,
    pub reason_en: Option<String>,
    pub previous_amount_minor: i64,
    pub new_amount_minor: i64,
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
}

impl ActiveModelBehavior for ActiveModel {}
