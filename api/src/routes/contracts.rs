//! Contracts, with their parties, tender, amendments and payments.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use domain::cache::ResultCache;
use poem::{Body, Request};
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::{Binary, Json};
use poem_openapi::{ApiResponse, Object, OpenApi, ResponseContent};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use domain::DomainError;
use domain::entities::{contract, contract_amendment, payment, tender};
use domain::listing::Filters;
use domain::names::Language;
use domain::search::SearchText;

use super::ApiTags;
use crate::dto::Day;
use crate::dto::Timestamp;
use crate::dto::{Links, LocalizedName, Money, OrganizationKind, OrganizationRef, Provenance, preferred_language};
use crate::error::{ApiError, ApiResult};
use crate::lists::{
    CsvRecord, DateAmountSort, Format, ListAnswer, list_or_export, organizations_by_id, parse_amount, parse_param,
};
use crate::vocab::{ContractStatus, ProcurementMethod, stored};

pub struct ContractsApi {
    pub db: DatabaseConnection,
    /// Counts and aggregates kept while the data is unchanged.
    pub cache: Arc<ResultCache>,
    /// The findings that name a record.
    pub findings: domain::findings::Findings,
    /// The indicators' settings, for the titles of embedded red flags.
    pub indicators: std::sync::Arc<indicators::database::DatabaseSettings>,
}

/// A contract between a buyer and a supplier.
#[derive(Debug, Clone, Object)]
pub struct Contract {
    /// Scrutiny's id for the contract.
    pub id: i64,
    /// The contract's number in its source system.
    pub number: String,
    pub buyer: OrganizationRef,
    pub supplier: OrganizationRef,
    /// The tender the contract came from; absent for contracts signed without one.
    #[oai(skip_serializing_if_is_none)]
    pub tender_id: Option<i64>,
    /// The lot the contract came from.
    #[oai(skip_serializing_if_is_none)]
    pub lot_id: Option<i64>,
    pub procurement_method: ProcurementMethod,
    pub status: ContractStatus,
    /// The budget year the contract is paid from.
    pub fiscal_year: i32,
    /// What is bought.
    pub description: LocalizedName,
    /// When the contract was signed (RFC 3339, UTC); `null` for a contract not signed yet (a
    /// draft, or one cancelled before signing), which `status` describes.
    pub signed_at: Option<Timestamp>,
    /// The last day of the contract's term.
    #[oai(skip_serializing_if_is_none)]
    pub ends_on: Option<Day>,
    /// The contract's amount after every amendment.
    pub amount: Money,
    pub provenance: Provenance,
}

/// The tender a contract came from, in brief.
#[derive(Debug, Clone, Object)]
pub struct TenderRef {
    /// The tender's id; its details are at `/v1/tenders/{id}`.
    pub id: i64,
    /// The announcement number.
    pub number: String,
    pub name: LocalizedName,
    pub procurement_method: ProcurementMethod,
}

/// A change to a contract's amount or term.
#[derive(Debug, Clone, Object)]
pub struct Amendment {
    /// 1 for the first amendment, and so on.
    pub sequence: i32,
    /// When the amendment was signed (RFC 3339, UTC).
    pub signed_at: Timestamp,
    /// Why the contract was changed.
    pub reason: LocalizedName,
    /// The amount before this amendment.
    pub previous_amount: Money,
    /// The amount after it.
    pub new_amount: Money,
}

/// What has been paid under a contract.
#[derive(Debug, Clone, Object)]
pub struct PaymentsSummary {
    /// How many payments were made; the list is at `/v1/payments?contract_id={id}`.
    pub count: u64,
    /// Their sum, in the contract's currency.
    pub paid: Money,
    /// The contract amount not yet paid.
    pub outstanding: Money,
    /// When the last payment was made.
    #[oai(skip_serializing_if_is_none)]
    pub last_paid_at: Option<Timestamp>,
}

/// A contract with what a reader needs next.
#[derive(Debug, Clone, Object)]
pub struct ContractDetail {
    #[oai(flatten)]
    pub contract: Contract,
    /// The tender the contract came from, if any.
    #[oai(skip_serializing_if_is_none)]
    pub tender: Option<TenderRef>,
    /// Amendments in the order they were signed.
    pub amendments: Vec<Amendment>,
    pub payments: PaymentsSummary,
    /// Published scrutiny findings that name it, newest first (at most 50; `/v1/findings` filters
    /// list them all).
    pub findings: Vec<crate::routes::findings::FindingRef>,
    /// Red flags standing on it, newest first (at most 50; `/v1/red-flags` filters list them all).
    pub red_flags: Vec<crate::routes::red_flags::RedFlag>,
}

/// A page of contracts.
#[derive(Debug, Object)]
pub struct ContractPage {
    /// The contracts on this page, in the requested order.
    pub items: Vec<Contract>,
    /// How many contracts match the filters, across all pages.
    pub total: u64,
    pub links: Links,
}

#[derive(ResponseContent)]
pub enum ContractListBody {
    Json(Json<ContractPage>),
    #[oai(content_type = "text/csv; charset=utf-8")]
    Csv(Binary<Body>),
}

#[derive(ApiResponse)]
pub enum ContractListResponse {
    /// A page of contracts as JSON, or every matching contract as CSV.
    #[oai(status = 200)]
    Ok(ContractListBody),
}

#[derive(ApiResponse)]
pub enum ContractResponse {
    /// The contract.
    #[oai(status = 200)]
    Ok(Json<ContractDetail>),
}

impl CsvRecord for Contract {
    const HEADER: &'static [&'static str] = &[
        "id",
        "number",
        "buyer_id",
        "buyer_bin",
        "buyer_name",
        "supplier_id",
        "supplier_bin",
        "supplier_name",
        "tender_id",
        "procurement_method",
        "status",
        "fiscal_year",
        "signed_at",
        "ends_on",
        "amount",
        "currency",
        "vat_included",
        "description",
        "source",
        "upstream_id",
    ];

    fn cells(&self) -> Vec<String> {
        vec![
            self.id.to_string(),
            self.number.clone(),
            self.buyer.id.to_string(),
            self.buyer.bin.clone().unwrap_or_default(),
            self.buyer.name.display.clone().unwrap_or_default(),
            self.supplier.id.to_string(),
            self.supplier.bin.clone().unwrap_or_default(),
            self.supplier.name.display.clone().unwrap_or_default(),
            self.tender_id.map(|id| id.to_string()).unwrap_or_default(),
            stored_method(self.procurement_method),
            stored(contract_status(self.status)),
            self.fiscal_year.to_string(),
            self.signed_at.map(|at| crate::dto::rfc3339(at.0)).unwrap_or_default(),
            self.ends_on.map(|day| day.to_string()).unwrap_or_default(),
            self.amount.amount.clone(),
            self.amount.currency.clone(),
            self.amount.vat_included.to_string(),
            self.description.display.clone().unwrap_or_default(),
            self.provenance.source.clone(),
            self.provenance.upstream_id.clone(),
        ]
    }
}

fn stored_method(method: ProcurementMethod) -> String {
    stored(domain::entities::ProcurementMethod::from(method))
}

fn contract_status(status: ContractStatus) -> domain::entities::ContractStatus {
    status.into()
}

/// Contracts as the API shows them, with their parties loaded in one query.
pub async fn contracts_out(
    db: &DatabaseConnection,
    rows: Vec<contract::Model>,
    language: Language,
) -> Result<Vec<Contract>, DomainError> {
    let organizations = organizations_by_id(db, rows.iter().flat_map(|row| [row.buyer_id, row.supplier_id])).await?;
    rows.into_iter()
        .map(|row| {
            let party = |id: i64| {
                organizations.get(&id).map(|org| OrganizationRef::new(org, language)).ok_or_else(|| {
                    DomainError::Inconsistent(format!("contract {} refers to organization {id}", row.id))
                })
            };
            Ok(Contract {
                buyer: party(row.buyer_id)?,
                supplier: party(row.supplier_id)?,
                id: row.id,
                number: row.number,
                tender_id: row.tender_id,
                lot_id: row.lot_id,
                procurement_method: row.procurement_method.into(),
                status: row.status.into(),
                fiscal_year: row.fiscal_year,
                description: LocalizedName::new(row.description_ru, row.description_kk, row.description_en, language),
                signed_at: row.signed_at.map(Into::into),
                ends_on: row.ends_on.map(Into::into),
                amount: Money::new(row.amount_minor, &row.currency, &row.exchange_rate, row.vat_included),
                provenance: Provenance::new(
                    row.source,
                    row.upstream_id,
                    row.fetched_at,
                    row.content_hash,
                    row.import_run_id,
                ),
            })
        })
        .collect()
}

#[OpenApi(tag = "ApiTags::Contracts")]
impl ContractsApi {
    /// List contracts
    ///
    /// Contracts matching every given filter, a page at a time in the requested order; follow
    /// `links.next` until it is absent. With `format=csv` (or `Accept: text/csv`) every
    /// matching contract is streamed as CSV instead, with no row cap.
    #[oai(path = "/v1/contracts", method = "get", operation_id = "listContracts")]
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        req: &Request,
        /// Only contracts of this buyer (BIN).
        #[oai(name = "buyer_bin", validator(pattern = r"^[0-9]{12}$"))]
        buyer_bin: Query<Option<String>>,
        /// Only contracts of this supplier (BIN or IIN).
        #[oai(name = "supplier_bin", validator(pattern = r"^[0-9]{12}$"))]
        supplier_bin: Query<Option<String>>,
        /// Only contracts whose buyer is of this kind, e.g. `quasi_public`.
        #[oai(name = "buyer_kind")]
        buyer_kind: Query<Option<OrganizationKind>>,
        /// Only contracts whose buyer is registered in this territory: a 9-digit KATO code,
        /// matched with everything inside it (`750000000` is all of Almaty).
        #[oai(name = "region", validator(pattern = r"^[0-9]{9}$"))]
        region: Query<Option<String>>,
        /// Only contracts in this status.
        #[oai(name = "status")]
        status: Query<Option<ContractStatus>>,
        /// Only contracts procured this way.
        #[oai(name = "procurement_method")]
        procurement_method: Query<Option<ProcurementMethod>>,
        /// Only contracts paid from this budget year.
        #[oai(name = "fiscal_year", validator(minimum(value = "1990"), maximum(value = "2100")))]
        fiscal_year: Query<Option<i32>>,
        /// Only contracts signed on or after this day (UTC).
        #[oai(name = "date_from")]
        date_from: Query<Option<Day>>,
        /// Only contracts signed on or before this day (UTC).
        #[oai(name = "date_to")]
        date_to: Query<Option<Day>>,
        /// Only contracts of at least this amount, in major units of the contract's currency (e.g. `1000000.50`).
        #[oai(name = "amount_min", validator(pattern = r"^[0-9]{1,15}(\.[0-9]{1,2})?$"))]
        amount_min: Query<Option<String>>,
        /// Only contracts of at most this amount, in major units.
        #[oai(name = "amount_max", validator(pattern = r"^[0-9]{1,15}(\.[0-9]{1,2})?$"))]
        amount_max: Query<Option<String>>,
        /// Only contracts of this tender.
        #[oai(name = "tender_id")]
        tender_id: Query<Option<i64>>,
        /// Only contracts whose text matches these words (all of them; the last also as a prefix),
        /// through the full-text index, in Russian and Kazakh; see `/v1/search` for ranked results.
        #[oai(name = "q", validator(min_length = 1, max_length = 500))]
        q: Query<Option<String>>,
        /// The order: `id` (default), `date`, `-date`, `amount`, `-amount` (`-` is descending).
        #[oai(name = "sort")]
        sort: Query<Option<DateAmountSort>>,
        /// Page size, 1 to 100; 20 when absent.
        #[oai(name = "limit", validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u64>>,
        /// Where to start: the `cursor` from a previous page's `links.next`. Opaque.
        #[oai(name = "cursor", validator(min_length = 1, max_length = 512, pattern = r"^[A-Za-z0-9_-]+$"))]
        cursor: Query<Option<String>>,
        /// `json` (default) for a page, `csv` for every matching row.
        #[oai(name = "format")]
        format: Query<Option<Format>>,
    ) -> ApiResult<ContractListResponse> {
        let filters = Filters {
            text: q.0.as_deref().map(SearchText::parse).transpose()?,
            buyer_bin: parse_param("buyer_bin", buyer_bin.0)?,
            supplier_bin: parse_param("supplier_bin", supplier_bin.0)?,
            buyer_kind: buyer_kind.0.map(Into::into),
            region: parse_param("region", region.0)?,
            status: status.0.map(|s| stored(contract_status(s))),
            method: procurement_method.0.map(Into::into),
            fiscal_year: fiscal_year.0,
            date_from: date_from.0.map(Into::into),
            date_to: date_to.0.map(Into::into),
            amount_min: parse_amount("amount_min", amount_min.0)?,
            amount_max: parse_amount("amount_max", amount_max.0)?,
            tender_id: tender_id.0,
            ..Filters::default()
        };
        let sort = sort.0.unwrap_or(DateAmountSort::Id).into();
        let language = preferred_language(req);
        let answer = list_or_export::<contract::Entity, _, _, _>(
            &self.db,
            &self.cache,
            req,
            filters,
            sort,
            format.0,
            limit.0,
            cursor.0,
            move |db, rows| async move { contracts_out(&db, rows, language).await },
        )
        .await?;
        Ok(ContractListResponse::Ok(match answer {
            ListAnswer::Csv(body) => ContractListBody::Csv(Binary(body)),
            ListAnswer::Page { items, total, next } => {
                ContractListBody::Json(Json(ContractPage { items, total, links: Links { next } }))
            }
        }))
    }

    /// Get a contract
    ///
    /// The contract with its buyer and supplier, the tender it came from, its amendments and
    /// what has been paid under it.
    #[oai(path = "/v1/contracts/:id", method = "get", operation_id = "getContract")]
    async fn get(
        &self,
        req: &Request,
        /// The contract's id.
        #[oai(name = "id")]
        id: Path<i64>,
    ) -> ApiResult<ContractResponse> {
        let language = preferred_language(req);
        let row = contract::Entity::find_by_id(id.0)
            .one(&self.db)
            .await
            .map_err(DomainError::from)?
            .ok_or_else(|| ApiError::not_found(&format!("contract {}", id.0)))?;
        let (currency, rate, vat, amount) =
            (row.currency.clone(), row.exchange_rate.clone(), row.vat_included, row.amount_minor);
        let tender = match row.tender_id {
            Some(tender_id) => tender::Entity::find_by_id(tender_id).one(&self.db).await.map_err(DomainError::from)?,
            None => None,
        };
        let amendments = contract_amendment::Entity::find()
            .filter(contract_amendment::Column::ContractId.eq(row.id))
            .order_by_asc(contract_amendment::Column::Sequence)
            .all(&self.db)
            .await
            .map_err(DomainError::from)?;
        let (count, paid, last_paid_at): (i64, Option<i64>, Option<DateTime<Utc>>) = payment::Entity::find()
            .select_only()
            .expr(Expr::col(payment::Column::Id).count())
            .expr(Expr::col(payment::Column::AmountMinor).sum().cast_as("BIGINT"))
            .expr(Expr::col(payment::Column::PaidAt).max())
            .filter(payment::Column::ContractId.eq(row.id))
            .into_tuple()
            .one(&self.db)
            .await
            .map_err(DomainError::from)?
            .unwrap_or((0, None, None));
        let paid = paid.unwrap_or(0);
        let contract = contracts_out(&self.db, vec![row], language).await?.remove(0);
        let named = self
            .findings
            .naming(domain::findings::LinkRef {
                record_type: domain::findings::RecordType::Contract,
                record_id: contract.id,
            })
            .await?;
        let red_flags = crate::routes::red_flags::RedFlagsApi::embedded(
            &self.db,
            &self.indicators,
            domain::red_flags::query::Embedding::Contract(contract.id),
            language,
        )
        .await?;
        Ok(ContractResponse::Ok(Json(ContractDetail {
            red_flags,
            findings: crate::routes::findings::FindingRef::all(named, language),
            contract,
            tender: tender.map(|t| TenderRef {
                id: t.id,
                number: t.number,
                name: LocalizedName::new(t.name_ru, t.name_kk, t.name_en, language),
                procurement_method: t.procurement_method.into(),
            }),
            amendments: amendments
                .into_iter()
                .map(|a| Amendment {
                    sequence: a.sequence,
                    signed_at: a.signed_at.into(),
                    reason: LocalizedName::new(a.reason_ru, a.reason_kk, a.reason_en, language),
                    previous_amount: Money::new(a.previous_amount_minor, &a.currency, &a.exchange_rate, a.vat_included),
                    new_amount: Money::new(a.new_amount_minor, &a.currency, &a.exchange_rate, a.vat_included),
                })
                .collect(),
            payments: PaymentsSummary {
                count: count as u64,
                paid: Money::new(paid, &currency, &rate, vat),
                outstanding: Money::new(amount - paid, &currency, &rate, vat),
                last_paid_at: last_paid_at.map(Into::into),
            },
        })))
    }
}
