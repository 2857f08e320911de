//! Single records the change feed links to that have no list of their own: budget lines,
//! bids, awards, contract amendments and delivery acts.

use poem::Request;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use sea_orm::DatabaseConnection;

use domain::entities::{award, bid, budget_line, contract_amendment, delivery_act};
use domain::names::Language;
use domain::records::{self, WithOrganization};

use super::ApiTags;
use crate::dto::{LocalizedName, Money, OrganizationRef, Provenance, Timestamp, preferred_language};
use crate::error::{ApiError, ApiResult};

pub struct RecordsApi {
    pub db: DatabaseConnection,
}

fn href(collection: &str, id: i64) -> String {
    format!("/v1/{collection}/{id}")
}

/// What a budget administrator may spend on a programme in a fiscal year.
#[derive(Debug, Clone, Object)]
pub struct BudgetLine {
    /// Scrutiny's id for the budget line.
    pub id: i64,
    /// The budget programme administrator (ABP).
    pub administrator: OrganizationRef,
    /// Where to read the administrator: `/v1/organizations/{id}`.
    pub administrator_href: String,
    /// The budget year.
    pub fiscal_year: i32,
    /// The administrator's, programme's and sub-programme's codes, e.g. `217-001-100`.
    pub program_code: String,
    /// The programme's name.
    pub name: LocalizedName,
    /// The approved appropriation. Budget lines carry no exchange rate: it is `"1"` for tenge
    /// and `null` otherwise. Appropriations are gross, what may be paid out, VAT included.
    pub approved: Money,
    /// Where the record came from.
    pub provenance: Provenance,
}

/// A supplier's bid on a lot, where the source publishes bids.
#[derive(Debug, Clone, Object)]
pub struct Bid {
    /// Scrutiny's id for the bid.
    pub id: i64,
    /// The lot bid on.
    pub lot_id: i64,
    /// Where to read the lot: `/v1/lots/{id}`.
    pub lot_href: String,
    /// Who bid.
    pub bidder: OrganizationRef,
    /// Where to read the bidder: `/v1/organizations/{id}`.
    pub bidder_href: String,
    /// When the bid was submitted (RFC 3339, UTC).
    pub submitted_at: Timestamp,
    /// The price bid.
    pub amount: Money,
    /// False when the bid was rejected at evaluation.
    pub admitted: bool,
    /// Where the record came from.
    pub provenance: Provenance,
}

/// A lot's winner, as the evaluation protocol names it.
#[derive(Debug, Clone, Object)]
pub struct Award {
    /// Scrutiny's id for the award.
    pub id: i64,
    /// The lot awarded.
    pub lot_id: i64,
    /// Where to read the lot: `/v1/lots/{id}`.
    pub lot_href: String,
    /// Who won the lot.
    pub supplier: OrganizationRef,
    /// Where to read the supplier: `/v1/organizations/{id}`.
    pub supplier_href: String,
    /// When the lot was awarded (RFC 3339, UTC).
    pub awarded_at: Timestamp,
    /// The amount awarded.
    pub amount: Money,
    /// Where the record came from.
    pub provenance: Provenance,
}

/// An amendment (supplementary agreement) that changes a contract's amount or term.
#[derive(Debug, Clone, Object)]
pub struct ContractAmendment {
    /// Scrutiny's id for the amendment.
    pub id: i64,
    /// The contract amended.
    pub contract_id: i64,
    /// Where to read the contract: `/v1/contracts/{id}`.
    pub contract_href: String,
    /// 1 for the contract's first amendment, and so on.
    pub sequence: i32,
    /// When the amendment was signed (RFC 3339, UTC).
    pub signed_at: Timestamp,
    /// Why the contract was changed.
    pub reason: LocalizedName,
    /// The contract's amount before this amendment.
    pub previous_amount: Money,
    /// The contract's amount after it.
    pub new_amount: Money,
    /// Where the record came from.
    pub provenance: Provenance,
}

/// The buyer's acceptance of goods, works or services delivered under a contract.
#[derive(Debug, Clone, Object)]
pub struct DeliveryAct {
    /// Scrutiny's id for the delivery act.
    pub id: i64,
    /// The contract delivered under.
    pub contract_id: i64,
    /// Where to read the contract: `/v1/contracts/{id}`.
    pub contract_href: String,
    /// The act's number.
    pub number: String,
    /// When the act was signed (RFC 3339, UTC).
    pub signed_at: Timestamp,
    /// The amount accepted.
    pub amount: Money,
    /// Where the record came from.
    pub provenance: Provenance,
}

impl BudgetLine {
    fn new(found: WithOrganization<budget_line::Model>, language: Language) -> Self {
        let (row, administrator) = (found.record, found.organization);
        // A budget line stores no rate: tenge is 1, any other currency's is unknown (`null`).
        let rate = if row.currency == "KZT" { "1" } else { "0" };
        BudgetLine {
            id: row.id,
            administrator_href: href("organizations", administrator.id),
            administrator: OrganizationRef::new(&administrator, language),
            fiscal_year: row.fiscal_year,
            program_code: row.program_code,
            name: LocalizedName::new(row.name_ru, row.name_kk, row.name_en, language),
            approved: Money::new(row.approved_minor, &row.currency, rate, true),
            provenance: Provenance::new(
                row.source,
                row.upstream_id,
                row.fetched_at,
                row.content_hash,
                row.import_run_id,
            ),
        }
    }
}

impl Bid {
    fn new(found: WithOrganization<bid::Model>, language: Language) -> Self {
        let (row, bidder) = (found.record, found.organization);
        Bid {
            id: row.id,
            lot_id: row.lot_id,
            lot_href: href("lots", row.lot_id),
            bidder_href: href("organizations", bidder.id),
            bidder: OrganizationRef::new(&bidder, language),
            submitted_at: Timestamp(row.submitted_at),
            amount: Money::new(row.amount_minor, &row.currency, &row.exchange_rate, row.vat_included),
            admitted: row.admitted,
            provenance: Provenance::new(
                row.source,
                row.upstream_id,
                row.fetched_at,
                row.content_hash,
                row.import_run_id,
            ),
        }
    }
}

impl Award {
    fn new(found: WithOrganization<award::Model>, language: Language) -> Self {
        let (row, supplier) = (found.record, found.organization);
        Award {
            id: row.id,
            lot_id: row.lot_id,
            lot_href: href("lots", row.lot_id),
            supplier_href: href("organizations", supplier.id),
            supplier: OrganizationRef::new(&supplier, language),
            awarded_at: Timestamp(row.awarded_at),
            amount: Money::new(row.amount_minor, &row.currency, &row.exchange_rate, row.vat_included),
            provenance: Provenance::new(
                row.source,
                row.upstream_id,
                row.fetched_at,
                row.content_hash,
                row.import_run_id,
            ),
        }
    }
}

impl ContractAmendment {
    fn new(row: contract_amendment::Model, language: Language) -> Self {
        let money = |minor: i64| Money::new(minor, &row.currency, &row.exchange_rate, row.vat_included);
        ContractAmendment {
            id: row.id,
            contract_id: row.contract_id,
            contract_href: href("contracts", row.contract_id),
            sequence: row.sequence,
            signed_at: Timestamp(row.signed_at),
            previous_amount: money(row.previous_amount_minor),
            new_amount: money(row.new_amount_minor),
            reason: LocalizedName::new(row.reason_ru, row.reason_kk, row.reason_en, language),
            provenance: Provenance::new(
                row.source,
                row.upstream_id,
                row.fetched_at,
                row.content_hash,
                row.import_run_id,
            ),
        }
    }
}

impl DeliveryAct {
    fn new(row: delivery_act::Model) -> Self {
        DeliveryAct {
            id: row.id,
            contract_id: row.contract_id,
            contract_href: href("contracts", row.contract_id),
            number: row.number,
            signed_at: Timestamp(row.signed_at),
            amount: Money::new(row.amount_minor, &row.currency, &row.exchange_rate, row.vat_included),
            provenance: Provenance::new(
                row.source,
                row.upstream_id,
                row.fetched_at,
                row.content_hash,
                row.import_run_id,
            ),
        }
    }
}

#[derive(ApiResponse)]
pub enum BudgetLineResponse {
    /// The budget line.
    #[oai(status = 200)]
    Ok(Json<BudgetLine>),
}

#[derive(ApiResponse)]
pub enum BidResponse {
    /// The bid.
    #[oai(status = 200)]
    Ok(Json<Bid>),
}

#[derive(ApiResponse)]
pub enum AwardResponse {
    /// The award.
    #[oai(status = 200)]
    Ok(Json<Award>),
}

#[derive(ApiResponse)]
pub enum ContractAmendmentResponse {
    /// The amendment.
    #[oai(status = 200)]
    Ok(Json<ContractAmendment>),
}

#[derive(ApiResponse)]
pub enum DeliveryActResponse {
    /// The delivery act.
    #[oai(status = 200)]
    Ok(Json<DeliveryAct>),
}

#[OpenApi]
impl RecordsApi {
    /// Get a budget line
    ///
    /// What a budget administrator may spend on a programme in a fiscal year, with the
    /// administrator.
    #[oai(path = "/v1/budget-lines/:id", method = "get", operation_id = "getBudgetLine", tag = "ApiTags::Plans")]
    async fn budget_line(
        &self,
        req: &Request,
        /// The budget line's id.
        #[oai(name = "id")]
        id: Path<i64>,
    ) -> ApiResult<BudgetLineResponse> {
        let found = records::budget_line(&self.db, id.0)
            .await?
            .ok_or_else(|| ApiError::not_found(&format!("budget line {}", id.0)))?;
        Ok(BudgetLineResponse::Ok(Json(BudgetLine::new(found, preferred_language(req)))))
    }

    /// Get a bid
    ///
    /// A bid on a lot, with the bidder, the price bid and whether it was admitted.
    #[oai(path = "/v1/bids/:id", method = "get", operation_id = "getBid", tag = "ApiTags::Tenders")]
    async fn bid(
        &self,
        req: &Request,
        /// The bid's id.
        #[oai(name = "id")]
        id: Path<i64>,
    ) -> ApiResult<BidResponse> {
        let found = records::bid(&self.db, id.0).await?.ok_or_else(|| ApiError::not_found(&format!("bid {}", id.0)))?;
        Ok(BidResponse::Ok(Json(Bid::new(found, preferred_language(req)))))
    }

    /// Get an award
    ///
    /// A lot's award: the winning supplier, the amount and when it was awarded.
    #[oai(path = "/v1/awards/:id", method = "get", operation_id = "getAward", tag = "ApiTags::Tenders")]
    async fn award(
        &self,
        req: &Request,
        /// The award's id.
        #[oai(name = "id")]
        id: Path<i64>,
    ) -> ApiResult<AwardResponse> {
        let found =
            records::award(&self.db, id.0).await?.ok_or_else(|| ApiError::not_found(&format!("award {}", id.0)))?;
        Ok(AwardResponse::Ok(Json(Award::new(found, preferred_language(req)))))
    }

    /// Get a contract amendment
    ///
    /// A supplementary agreement to a contract: when it was signed, why, and the contract's
    /// amount before and after it.
    #[oai(
        path = "/v1/contract-amendments/:id",
        method = "get",
        operation_id = "getContractAmendment",
        tag = "ApiTags::Contracts"
    )]
    async fn contract_amendment(
        &self,
        req: &Request,
        /// The amendment's id.
        #[oai(name = "id")]
        id: Path<i64>,
    ) -> ApiResult<ContractAmendmentResponse> {
        let row = records::contract_amendment(&self.db, id.0)
            .await?
            .ok_or_else(|| ApiError::not_found(&format!("contract amendment {}", id.0)))?;
        Ok(ContractAmendmentResponse::Ok(Json(ContractAmendment::new(row, preferred_language(req)))))
    }

    /// Get a delivery act
    ///
    /// The buyer's acceptance of what was delivered under a contract: the act's number, when it
    /// was signed and the amount accepted.
    #[oai(path = "/v1/delivery-acts/:id", method = "get", operation_id = "getDeliveryAct", tag = "ApiTags::Contracts")]
    async fn delivery_act(
        &self,
        /// The delivery act's id.
        #[oai(name = "id")]
        id: Path<i64>,
    ) -> ApiResult<DeliveryActResponse> {
        let row = records::delivery_act(&self.db, id.0)
            .await?
            .ok_or_else(|| ApiError::not_found(&format!("delivery act {}", id.0)))?;
        Ok(DeliveryActResponse::Ok(Json(DeliveryAct::new(row))))
    }
}
