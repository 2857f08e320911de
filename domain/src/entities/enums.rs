//! Closed vocabularies stored as short strings.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// What part of the public sector, if any, an organization belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(24))")]
#[serde(rename_all = "snake_case")]
pub enum OrganizationKind {
    /// A ministry, agency, akimat or other state body and its institutions.
    #[sea_orm(string_value = "state_body")]
    StateBody,
    /// A national holding, national company or other quasi-public-sector entity.
    #[sea_orm(string_value = "quasi_public")]
    QuasiPublic,
    /// A company or individual entrepreneur that sells to the public sector.
    #[sea_orm(string_value = "supplier")]
    Supplier,
    #[sea_orm(string_value = "other")]
    Other,
}

/// How a purchase was procured (goszakup's `ref_trade_methods`, zakup.sk.kz's `tenderType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
#[serde(rename_all = "snake_case")]
pub enum ProcurementMethod {
    #[sea_orm(string_value = "open_tender")]
    OpenTender,
    #[sea_orm(string_value = "auction")]
    Auction,
    #[sea_orm(string_value = "price_quotation")]
    PriceQuotation,
    #[sea_orm(string_value = "single_source")]
    SingleSource,
    #[sea_orm(string_value = "commodity_exchange")]
    CommodityExchange,
    #[sea_orm(string_value = "prequalified_tender")]
    PrequalifiedTender,
    #[sea_orm(string_value = "other")]
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(24))")]
#[serde(rename_all = "snake_case")]
pub enum TenderStatus {
    #[sea_orm(string_value = "published")]
    Published,
    #[sea_orm(string_value = "evaluation")]
    Evaluation,
    #[sea_orm(string_value = "awarded")]
    Awarded,
    /// No valid bids: the tender "did not take place".
    #[sea_orm(string_value = "failed")]
    Failed,
    #[sea_orm(string_value = "cancelled")]
    Cancelled,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(24))")]
#[serde(rename_all = "snake_case")]
pub enum ContractStatus {
    #[sea_orm(string_value = "signed")]
    Signed,
    #[sea_orm(string_value = "in_execution")]
    InExecution,
    #[sea_orm(string_value = "executed")]
    Executed,
    #[sea_orm(string_value = "terminated")]
    Terminated,
}

/// The kind of act a body adopted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(24))")]
#[serde(rename_all = "snake_case")]
pub enum DecisionKind {
    /// An order (бұйрық / приказ) of a minister or head of a body.
    #[sea_orm(string_value = "order")]
    Order,
    /// A resolution (қаулы / постановление) of an akimat or the government.
    #[sea_orm(string_value = "resolution")]
    Resolution,
    /// A decision of a quasi-public entity's board of directors.
    #[sea_orm(string_value = "board_decision")]
    BoardDecision,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "snake_case")]
pub enum ImportRunStatus {
    #[sea_orm(string_value = "running")]
    Running,
    #[sea_orm(string_value = "succeeded")]
    Succeeded,
    #[sea_orm(string_value = "failed")]
    Failed,
}
