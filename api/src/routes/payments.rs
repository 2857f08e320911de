//! Payments: treasury transactions from a payer to a payee.

use std::sync::Arc;

use domain::cache::ResultCache;
use poem::{Body, Request};
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::{Binary, Json};
use poem_openapi::{ApiResponse, Object, OpenApi, ResponseContent};
use sea_orm::{DatabaseConnection, EntityTrait};

use domain::DomainError;
use domain::entities::payment;
use domain::listing::Filters;
use domain::names::Language;

use super::ApiTags;
use crate::dto::Day;
use crate::dto::Timestamp;
use crate::dto::{Links, LocalizedName, Money, OrganizationKind, OrganizationRef, Provenance, preferred_language};
use crate::error::{ApiError, ApiResult};
use crate::lists::{
    CsvRecord, DateAmountSort, Format, ListAnswer, list_or_export, organizations_by_id, parse_amount, parse_param,
};

pub struct PaymentsApi {
    pub db: DatabaseConnection,
    /// Counts and aggregates kept while the data is unchanged.
    pub cache: Arc<ResultCache>,
}

/// A treasury payment.
#[derive(Debug, Clone, Object)]
pub struct Payment {
    /// Scrutiny's id for the payment.
    pub id: i64,
    /// The contract paid under; its details are at `/v1/contracts/{id}`.
    #[oai(skip_serializing_if_is_none)]
    pub contract_id: Option<i64>,
    /// Who paid (the buyer).
    pub payer: OrganizationRef,
    /// Who was paid (the supplier).
    pub payee: OrganizationRef,
    /// The budget line paid from.
    #[oai(skip_serializing_if_is_none)]
    pub budget_line_id: Option<i64>,
    /// The treasury's document number.
    pub document_number: String,
    /// When the payment was made (RFC 3339, UTC).
    pub paid_at: Timestamp,
    /// The budget year paid from.
    pub fiscal_year: i32,
    /// What the payment is for.
    pub purpose: LocalizedName,
    pub amount: Money,
    pub provenance: Provenance,
}

/// A page of payments.
#[derive(Debug, Object)]
pub struct PaymentPage {
    /// The payments on this page, in the requested order.
    pub items: Vec<Payment>,
    /// How many payments match the filters, across all pages.
    pub total: u64,
    pub links: Links,
}

#[derive(ResponseContent)]
pub enum PaymentListBody {
    Json(Json<PaymentPage>),
    #[oai(content_type = "text/csv; charset=utf-8")]
    Csv(Binary<Body>),
}

#[derive(ApiResponse)]
pub enum PaymentListResponse {
    /// A page of payments as JSON, or every matching payment as CSV.
    #[oai(status = 200)]
    Ok(PaymentListBody),
}

#[derive(ApiResponse)]
pub enum PaymentResponse {
    /// The payment.
    #[oai(status = 200)]
    Ok(Json<Payment>),
}

impl CsvRecord for Payment {
    const HEADER: &'static [&'static str] = &[
        "id",
        "contract_id",
        "payer_id",
        "payer_bin",
        "payer_name",
        "payee_id",
        "payee_bin",
        "payee_name",
        "document_number",
        "paid_at",
        "fiscal_year",
        "amount",
        "currency",
        "vat_included",
        "purpose",
        "source",
        "upstream_id",
    ];

    fn cells(&self) -> Vec<String> {
        vec![
            self.id.to_string(),
            self.contract_id.map(|id| id.to_string()).unwrap_or_default(),
            self.payer.id.to_string(),
            self.payer.bin.clone().unwrap_or_default(),
            self.payer.name.display.clone().unwrap_or_default(),
            self.payee.id.to_string(),
            self.payee.bin.clone().unwrap_or_default(),
            self.payee.name.display.clone().unwrap_or_default(),
            self.document_number.clone(),
            crate::dto::rfc3339(self.paid_at.0),
            self.fiscal_year.to_string(),
            self.amount.amount.clone(),
            self.amount.currency.clone(),
            self.amount.vat_included.to_string(),
            self.purpose.display.clone().unwrap_or_default(),
            self.provenance.source.clone(),
            self.provenance.upstream_id.clone(),
        ]
    }
}

/// Payments as the API shows them, with payers and payees loaded in one query.
pub async fn payments_out(
    db: &DatabaseConnection,
    rows: Vec<payment::Model>,
    language: Language,
) -> Result<Vec<Payment>, DomainError> {
    let organizations = organizations_by_id(db, rows.iter().flat_map(|row| [row.payer_id, row.payee_id])).await?;
    rows.into_iter()
        .map(|row| {
            let party = |id: i64| {
                organizations
                    .get(&id)
                    .map(|org| OrganizationRef::new(org, language))
                    .ok_or_else(|| DomainError::Inconsistent(format!("payment {} refers to organization {id}", row.id)))
            };
            Ok(Payment {
                payer: party(row.payer_id)?,
                payee: party(row.payee_id)?,
                id: row.id,
                contract_id: row.contract_id,
                budget_line_id: row.budget_line_id,
                document_number: row.document_number,
                paid_at: row.paid_at.into(),
                fiscal_year: row.fiscal_year,
                purpose: LocalizedName::new(row.purpose_ru, row.purpose_kk, row.purpose_en, language),
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

#[OpenApi(tag = "ApiTags::Payments")]
impl PaymentsApi {
    /// List payments
    ///
    /// Payments matching every given filter, a page at a time in the requested order; follow
    /// `links.next` until it is absent. With `format=csv` (or `Accept: text/csv`) every
    /// matching payment is streamed as CSV instead, with no row cap.
    #[oai(path = "/v1/payments", method = "get", operation_id = "listPayments")]
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        req: &Request,
        /// Only payments made by this buyer (BIN).
        #[oai(name = "buyer_bin", validator(pattern = r"^[0-9]{12}$"))]
        buyer_bin: Query<Option<String>>,
        /// Only payments to this supplier (BIN or IIN).
        #[oai(name = "supplier_bin", validator(pattern = r"^[0-9]{12}$"))]
        supplier_bin: Query<Option<String>>,
        /// Only payments by buyers of this kind, e.g. `quasi_public`.
        #[oai(name = "buyer_kind")]
        buyer_kind: Query<Option<OrganizationKind>>,
        /// Only payments by buyers registered in this territory (KATO code, with its sub-territories).
        #[oai(name = "region", validator(pattern = r"^[0-9]{9}$"))]
        region: Query<Option<String>>,
        /// Only payments from this budget year.
        #[oai(name = "fiscal_year", validator(minimum(value = "1990"), maximum(value = "2100")))]
        fiscal_year: Query<Option<i32>>,
        /// Only payments made on or after this day (UTC).
        #[oai(name = "date_from")]
        date_from: Query<Option<Day>>,
        /// Only payments made on or before this day (UTC).
        #[oai(name = "date_to")]
        date_to: Query<Option<Day>>,
        /// Only payments of at least this amount, in major units (e.g. `1000000.50`).
        #[oai(name = "amount_min", validator(pattern = r"^[0-9]{1,15}(\.[0-9]{1,2})?$"))]
        amount_min: Query<Option<String>>,
        /// Only payments of at most this amount, in major units.
        #[oai(name = "amount_max", validator(pattern = r"^[0-9]{1,15}(\.[0-9]{1,2})?$"))]
        amount_max: Query<Option<String>>,
        /// Only payments under this contract.
        #[oai(name = "contract_id")]
        contract_id: Query<Option<i64>>,
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
    ) -> ApiResult<PaymentListResponse> {
        let filters = Filters {
            buyer_bin: parse_param("buyer_bin", buyer_bin.0)?,
            supplier_bin: parse_param("supplier_bin", supplier_bin.0)?,
            buyer_kind: buyer_kind.0.map(Into::into),
            region: parse_param("region", region.0)?,
            fiscal_year: fiscal_year.0,
            date_from: date_from.0.map(Into::into),
            date_to: date_to.0.map(Into::into),
            amount_min: parse_amount("amount_min", amount_min.0)?,
            amount_max: parse_amount("amount_max", amount_max.0)?,
            contract_id: contract_id.0,
            ..Filters::default()
        };
        let sort = sort.0.unwrap_or(DateAmountSort::Id).into();
        let language = preferred_language(req);
        let answer = list_or_export::<payment::Entity, _, _, _>(
            &self.db,
            &self.cache,
            req,
            filters,
            sort,
            format.0,
            limit.0,
            cursor.0,
            move |db, rows| async move { payments_out(&db, rows, language).await },
        )
        .await?;
        Ok(PaymentListResponse::Ok(match answer {
            ListAnswer::Csv(body) => PaymentListBody::Csv(Binary(body)),
            ListAnswer::Page { items, total, next } => {
                PaymentListBody::Json(Json(PaymentPage { items, total, links: Links { next } }))
            }
        }))
    }

    /// Get a payment
    #[oai(path = "/v1/payments/:id", method = "get", operation_id = "getPayment")]
    async fn get(
        &self,
        req: &Request,
        /// The payment's id.
        #[oai(name = "id")]
        id: Path<i64>,
    ) -> ApiResult<PaymentResponse> {
        let row = payment::Entity::find_by_id(id.0)
            .one(&self.db)
            .await
            .map_err(DomainError::from)?
            .ok_or_else(|| ApiError::not_found(&format!("payment {}", id.0)))?;
        Ok(PaymentResponse::Ok(Json(payments_out(&self.db, vec![row], preferred_language(req)).await?.remove(0))))
    }
}
