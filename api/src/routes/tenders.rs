//! Tenders (procurement announcements) and their lots.

use std::sync::Arc;

use domain::cache::ResultCache;
use poem::{Body, Request};
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::{Binary, Json};
use poem_openapi::{ApiResponse, Object, OpenApi, ResponseContent};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};

use domain::DomainError;
use domain::entities::{contract, lot, tender};
use domain::listing::Filters;
use domain::names::Language;
use domain::search::SearchText;

use super::ApiTags;
use super::lots::{Lot, lots_out};
use crate::dto::Day;
use crate::dto::Timestamp;
use crate::dto::{Links, LocalizedName, Money, OrganizationKind, OrganizationRef, Provenance, preferred_language};
use crate::error::{ApiError, ApiResult};
use crate::lists::{
    CsvRecord, DateAmountSort, Format, ListAnswer, list_or_export, organizations_by_id, parse_amount, parse_param,
};
use crate::vocab::{ProcurementMethod, TenderStatus, stored};

pub struct TendersApi {
    pub db: DatabaseConnection,
    /// Counts and aggregates kept while the data is unchanged.
    pub cache: Arc<ResultCache>,
    /// The findings that name a record.
    pub findings: domain::findings::Findings,
    /// The indicators' settings, for the titles of embedded red flags.
    pub indicators: std::sync::Arc<indicators::database::DatabaseSettings>,
}

/// A procurement announcement.
#[derive(Debug, Clone, Object)]
pub struct Tender {
    /// Scrutiny's id for the tender.
    pub id: i64,
    /// The announcement number as the portal shows it, e.g. `3918654-1`.
    pub number: String,
    pub buyer: OrganizationRef,
    /// What is bought.
    pub name: LocalizedName,
    pub procurement_method: ProcurementMethod,
    pub status: TenderStatus,
    /// The budget year of the purchase.
    pub fiscal_year: i32,
    /// When the tender was announced (RFC 3339, UTC).
    pub published_at: Timestamp,
    /// When bids open.
    #[oai(skip_serializing_if_is_none)]
    pub bids_open_at: Option<Timestamp>,
    /// When bids close.
    #[oai(skip_serializing_if_is_none)]
    pub bids_close_at: Option<Timestamp>,
    /// The planned amount of all lots.
    pub amount: Money,
    pub provenance: Provenance,
}

/// A tender with its lots and what came of it.
#[derive(Debug, Clone, Object)]
pub struct TenderDetail {
    #[oai(flatten)]
    pub tender: Tender,
    /// The tender's lots, in lot order.
    pub lots: Vec<Lot>,
    /// How many contracts were signed from it; they are at `/v1/contracts?tender_id={id}`.
    pub contract_count: u64,
    /// Published scrutiny findings that name it, newest first (at most 50; `/v1/findings` filters
    /// list them all).
    pub findings: Vec<crate::routes::findings::FindingRef>,
    /// Red flags standing on it, newest first (at most 50; `/v1/red-flags` filters list them all).
    pub red_flags: Vec<crate::routes::red_flags::RedFlag>,
}

/// A page of tenders.
#[derive(Debug, Object)]
pub struct TenderPage {
    /// The tenders on this page, in the requested order.
    pub items: Vec<Tender>,
    /// How many tenders match the filters, across all pages.
    pub total: u64,
    pub links: Links,
}

#[derive(ResponseContent)]
pub enum TenderListBody {
    Json(Json<TenderPage>),
    #[oai(content_type = "text/csv; charset=utf-8")]
    Csv(Binary<Body>),
}

#[derive(ApiResponse)]
pub enum TenderListResponse {
    /// A page of tenders as JSON, or every matching tender as CSV.
    #[oai(status = 200)]
    Ok(TenderListBody),
}

#[derive(ApiResponse)]
pub enum TenderResponse {
    /// The tender.
    #[oai(status = 200)]
    Ok(Json<TenderDetail>),
}

impl CsvRecord for Tender {
    const HEADER: &'static [&'static str] = &[
        "id",
        "number",
        "buyer_id",
        "buyer_bin",
        "buyer_name",
        "name",
        "procurement_method",
        "status",
        "fiscal_year",
        "published_at",
        "bids_close_at",
        "amount",
        "currency",
        "vat_included",
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
            self.name.display.clone().unwrap_or_default(),
            stored(domain::entities::ProcurementMethod::from(self.procurement_method)),
            stored(domain::entities::TenderStatus::from(self.status)),
            self.fiscal_year.to_string(),
            crate::dto::rfc3339(self.published_at.0),
            self.bids_close_at.map(|t| crate::dto::rfc3339(t.0)).unwrap_or_default(),
            self.amount.amount.clone(),
            self.amount.currency.clone(),
            self.amount.vat_included.to_string(),
            self.provenance.source.clone(),
            self.provenance.upstream_id.clone(),
        ]
    }
}

/// Tenders as the API shows them, with their buyers loaded in one query.
pub async fn tenders_out(
    db: &DatabaseConnection,
    rows: Vec<tender::Model>,
    language: Language,
) -> Result<Vec<Tender>, DomainError> {
    let organizations = organizations_by_id(db, rows.iter().map(|row| row.buyer_id)).await?;
    rows.into_iter()
        .map(|row| {
            let buyer = organizations
                .get(&row.buyer_id)
                .map(|org| OrganizationRef::new(org, language))
                .ok_or_else(|| DomainError::Inconsistent(format!("tender {} has no buyer", row.id)))?;
            Ok(Tender {
                buyer,
                id: row.id,
                number: row.number,
                name: LocalizedName::new(row.name_ru, row.name_kk, row.name_en, language),
                procurement_method: row.procurement_method.into(),
                status: row.status.into(),
                fiscal_year: row.fiscal_year,
                published_at: row.published_at.into(),
                bids_open_at: row.bids_open_at.map(Into::into),
                bids_close_at: row.bids_close_at.map(Into::into),
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

#[OpenApi(tag = "ApiTags::Tenders")]
impl TendersApi {
    /// List tenders
    ///
    /// Tenders matching every given filter, a page at a time in the requested order; follow
    /// `links.next` until it is absent. With `format=csv` (or `Accept: text/csv`) every
    /// matching tender is streamed as CSV instead, with no row cap.
    #[oai(path = "/v1/tenders", method = "get", operation_id = "listTenders")]
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        req: &Request,
        /// Only tenders of this buyer (BIN).
        #[oai(name = "buyer_bin", validator(pattern = r"^[0-9]{12}$"))]
        buyer_bin: Query<Option<String>>,
        /// Only tenders whose buyer is of this kind, e.g. `quasi_public`.
        #[oai(name = "buyer_kind")]
        buyer_kind: Query<Option<OrganizationKind>>,
        /// Only tenders whose buyer is registered in this territory: a 9-digit KATO code,
        /// matched with everything inside it.
        #[oai(name = "region", validator(pattern = r"^[0-9]{9}$"))]
        region: Query<Option<String>>,
        /// Only tenders in this status.
        #[oai(name = "status")]
        status: Query<Option<TenderStatus>>,
        /// Only tenders procured this way.
        #[oai(name = "procurement_method")]
        procurement_method: Query<Option<ProcurementMethod>>,
        /// Only tenders of this budget year.
        #[oai(name = "fiscal_year", validator(minimum(value = "1990"), maximum(value = "2100")))]
        fiscal_year: Query<Option<i32>>,
        /// Only tenders published on or after this day (UTC).
        #[oai(name = "date_from")]
        date_from: Query<Option<Day>>,
        /// Only tenders published on or before this day (UTC).
        #[oai(name = "date_to")]
        date_to: Query<Option<Day>>,
        /// Only tenders of at least this amount, in major units (e.g. `1000000.50`).
        #[oai(name = "amount_min", validator(pattern = r"^[0-9]{1,15}(\.[0-9]{1,2})?$"))]
        amount_min: Query<Option<String>>,
        /// Only tenders of at most this amount, in major units.
        #[oai(name = "amount_max", validator(pattern = r"^[0-9]{1,15}(\.[0-9]{1,2})?$"))]
        amount_max: Query<Option<String>>,
        /// Only tenders whose text matches these words (all of them; the last also as a prefix),
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
    ) -> ApiResult<TenderListResponse> {
        let filters = Filters {
            text: q.0.as_deref().map(SearchText::parse).transpose()?,
            buyer_bin: parse_param("buyer_bin", buyer_bin.0)?,
            buyer_kind: buyer_kind.0.map(Into::into),
            region: parse_param("region", region.0)?,
            status: status.0.map(|s| stored(domain::entities::TenderStatus::from(s))),
            method: procurement_method.0.map(Into::into),
            fiscal_year: fiscal_year.0,
            date_from: date_from.0.map(Into::into),
            date_to: date_to.0.map(Into::into),
            amount_min: parse_amount("amount_min", amount_min.0)?,
            amount_max: parse_amount("amount_max", amount_max.0)?,
            ..Filters::default()
        };
        let sort = sort.0.unwrap_or(DateAmountSort::Id).into();
        let language = preferred_language(req);
        let answer = list_or_export::<tender::Entity, _, _, _>(
            &self.db,
            &self.cache,
            req,
            filters,
            sort,
            format.0,
            limit.0,
            cursor.0,
            move |db, rows| async move { tenders_out(&db, rows, language).await },
        )
        .await?;
        Ok(TenderListResponse::Ok(match answer {
            ListAnswer::Csv(body) => TenderListBody::Csv(Binary(body)),
            ListAnswer::Page { items, total, next } => {
                TenderListBody::Json(Json(TenderPage { items, total, links: Links { next } }))
            }
        }))
    }

    /// Get a tender
    ///
    /// The tender with its buyer, its lots and how many contracts it led to.
    #[oai(path = "/v1/tenders/:id", method = "get", operation_id = "getTender")]
    async fn get(
        &self,
        req: &Request,
        /// The tender's id.
        #[oai(name = "id")]
        id: Path<i64>,
    ) -> ApiResult<TenderResponse> {
        let language = preferred_language(req);
        let row = tender::Entity::find_by_id(id.0)
            .one(&self.db)
            .await
            .map_err(DomainError::from)?
            .ok_or_else(|| ApiError::not_found(&format!("tender {}", id.0)))?;
        let lots = lot::Entity::find()
            .filter(lot::Column::TenderId.eq(row.id))
            .order_by_asc(lot::Column::Id)
            .all(&self.db)
            .await
            .map_err(DomainError::from)?;
        let contract_count = contract::Entity::find()
            .filter(contract::Column::TenderId.eq(row.id))
            .count(&self.db)
            .await
            .map_err(DomainError::from)?;
        let tender = tenders_out(&self.db, vec![row], language).await?.remove(0);
        let named = self
            .findings
            .naming(domain::findings::LinkRef {
                record_type: domain::findings::RecordType::Tender,
                record_id: tender.id,
            })
            .await?;
        let findings = crate::routes::findings::FindingRef::all(named, language);
        let red_flags = crate::routes::red_flags::RedFlagsApi::embedded(
            &self.db,
            &self.indicators,
            domain::red_flags::query::Embedding::Tender(tender.id),
            language,
        )
        .await?;
        Ok(TenderResponse::Ok(Json(TenderDetail {
            tender,
            lots: lots_out(lots, language),
            contract_count,
            findings,
            red_flags,
        })))
    }
}
