//! Lots: the separately awarded parts of a tender.

use std::sync::Arc;

use domain::cache::ResultCache;
use poem::{Body, Request};
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::{Binary, Json};
use poem_openapi::{ApiResponse, Object, OpenApi, ResponseContent};
use sea_orm::{DatabaseConnection, EntityTrait};

use domain::DomainError;
use domain::entities::lot;
use domain::listing::Filters;
use domain::names::Language;

use super::ApiTags;
use crate::dto::{Links, LocalizedName, Money, Provenance, preferred_language};
use crate::error::{ApiError, ApiResult};
use crate::lists::{AmountSort, CsvRecord, Format, ListAnswer, list_or_export, parse_amount, parse_param};
use crate::vocab::{TenderStatus, stored};

pub struct LotsApi {
    pub db: DatabaseConnection,
    /// Counts and aggregates kept while the data is unchanged.
    pub cache: Arc<ResultCache>,
}

/// A separately awarded part of a tender.
#[derive(Debug, Clone, Object)]
pub struct Lot {
    /// Scrutiny's id for the lot.
    pub id: i64,
    /// The tender the lot belongs to; its details are at `/v1/tenders/{id}`.
    pub tender_id: i64,
    /// The plan item the lot buys; its details are at `/v1/plan-items/{id}`.
    #[oai(skip_serializing_if_is_none)]
    pub plan_item_id: Option<i64>,
    /// The lot's number within the tender.
    pub lot_number: String,
    /// What is bought.
    pub name: LocalizedName,
    pub status: TenderStatus,
    /// How much is bought, as a decimal string.
    pub quantity: String,
    /// The lot's planned amount.
    pub amount: Money,
    /// KATO code of the delivery place.
    #[oai(skip_serializing_if_is_none)]
    pub delivery_kato: Option<String>,
    pub provenance: Provenance,
}

/// A page of lots.
#[derive(Debug, Object)]
pub struct LotPage {
    /// The lots on this page, in the requested order.
    pub items: Vec<Lot>,
    /// How many lots match the filters, across all pages.
    pub total: u64,
    pub links: Links,
}

#[derive(ResponseContent)]
pub enum LotListBody {
    Json(Json<LotPage>),
    #[oai(content_type = "text/csv; charset=utf-8")]
    Csv(Binary<Body>),
}

#[derive(ApiResponse)]
pub enum LotListResponse {
    /// A page of lots as JSON, or every matching lot as CSV.
    #[oai(status = 200)]
    Ok(LotListBody),
}

#[derive(ApiResponse)]
pub enum LotResponse {
    /// The lot.
    #[oai(status = 200)]
    Ok(Json<Lot>),
}

impl CsvRecord for Lot {
    const HEADER: &'static [&'static str] = &[
        "id",
        "tender_id",
        "plan_item_id",
        "lot_number",
        "name",
        "status",
        "quantity",
        "amount",
        "currency",
        "vat_included",
        "delivery_kato",
        "source",
        "upstream_id",
    ];

    fn cells(&self) -> Vec<String> {
        vec![
            self.id.to_string(),
            self.tender_id.to_string(),
            self.plan_item_id.map(|id| id.to_string()).unwrap_or_default(),
            self.lot_number.clone(),
            self.name.display.clone().unwrap_or_default(),
            stored(domain::entities::TenderStatus::from(self.status)),
            self.quantity.clone(),
            self.amount.amount.clone(),
            self.amount.currency.clone(),
            self.amount.vat_included.to_string(),
            self.delivery_kato.clone().unwrap_or_default(),
            self.provenance.source.clone(),
            self.provenance.upstream_id.clone(),
        ]
    }
}

pub fn lots_out(rows: Vec<lot::Model>, language: Language) -> Vec<Lot> {
    rows.into_iter()
        .map(|row| Lot {
            id: row.id,
            tender_id: row.tender_id,
            plan_item_id: row.plan_item_id,
            lot_number: row.lot_number,
            name: LocalizedName::new(row.name_ru, row.name_kk, row.name_en, language),
            status: row.status.into(),
            quantity: row.quantity,
            amount: Money::new(row.amount_minor, &row.currency, &row.exchange_rate, row.vat_included),
            delivery_kato: row.delivery_kato,
            provenance: Provenance::new(
                row.source,
                row.upstream_id,
                row.fetched_at,
                row.content_hash,
                row.import_run_id,
            ),
        })
        .collect()
}

#[OpenApi(tag = "ApiTags::Tenders")]
impl LotsApi {
    /// List lots
    ///
    /// Lots matching every given filter, a page at a time; follow `links.next` until it is
    /// absent. With `format=csv` (or `Accept: text/csv`) every matching lot is streamed as CSV.
    #[oai(path = "/v1/lots", method = "get", operation_id = "listLots")]
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        req: &Request,
        /// Only lots of this tender.
        #[oai(name = "tender_id")]
        tender_id: Query<Option<i64>>,
        /// Only lots whose tender's buyer has this BIN.
        #[oai(name = "buyer_bin", validator(pattern = r"^[0-9]{12}$"))]
        buyer_bin: Query<Option<String>>,
        /// Only lots in this status.
        #[oai(name = "status")]
        status: Query<Option<TenderStatus>>,
        /// Only lots of at least this amount, in major units.
        #[oai(name = "amount_min", validator(pattern = r"^[0-9]{1,15}(\.[0-9]{1,2})?$"))]
        amount_min: Query<Option<String>>,
        /// Only lots of at most this amount, in major units.
        #[oai(name = "amount_max", validator(pattern = r"^[0-9]{1,15}(\.[0-9]{1,2})?$"))]
        amount_max: Query<Option<String>>,
        /// The order: `id` (default), `amount`, `-amount`.
        #[oai(name = "sort")]
        sort: Query<Option<AmountSort>>,
        /// Page size, 1 to 100; 20 when absent.
        #[oai(name = "limit", validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u64>>,
        /// Where to start: the `cursor` from a previous page's `links.next`. Opaque.
        #[oai(name = "cursor", validator(min_length = 1, max_length = 512, pattern = r"^[A-Za-z0-9_-]+$"))]
        cursor: Query<Option<String>>,
        /// `json` (default) for a page, `csv` for every matching row.
        #[oai(name = "format")]
        format: Query<Option<Format>>,
    ) -> ApiResult<LotListResponse> {
        let filters = Filters {
            tender_id: tender_id.0,
            buyer_bin: parse_param("buyer_bin", buyer_bin.0)?,
            status: status.0.map(|s| stored(domain::entities::TenderStatus::from(s))),
            amount_min: parse_amount("amount_min", amount_min.0)?,
            amount_max: parse_amount("amount_max", amount_max.0)?,
            ..Filters::default()
        };
        let sort = sort.0.unwrap_or(AmountSort::Id).into();
        let language = preferred_language(req);
        let answer = list_or_export::<lot::Entity, _, _, _>(
            &self.db,
            &self.cache,
            req,
            filters,
            sort,
            format.0,
            limit.0,
            cursor.0,
            move |_db, rows| async move { Ok::<_, DomainError>(lots_out(rows, language)) },
        )
        .await?;
        Ok(LotListResponse::Ok(match answer {
            ListAnswer::Csv(body) => LotListBody::Csv(Binary(body)),
            ListAnswer::Page { items, total, next } => {
                LotListBody::Json(Json(LotPage { items, total, links: Links { next } }))
            }
        }))
    }

    /// Get a lot
    #[oai(path = "/v1/lots/:id", method = "get", operation_id = "getLot")]
    async fn get(
        &self,
        req: &Request,
        /// The lot's id.
        #[oai(name = "id")]
        id: Path<i64>,
    ) -> ApiResult<LotResponse> {
        let row = lot::Entity::find_by_id(id.0)
            .one(&self.db)
            .await
            .map_err(DomainError::from)?
            .ok_or_else(|| ApiError::not_found(&format!("lot {}", id.0)))?;
        Ok(LotResponse::Ok(Json(lots_out(vec![row], preferred_language(req)).remove(0))))
    }
}
