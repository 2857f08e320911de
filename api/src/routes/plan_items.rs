//! Procurement plan items: what buyers plan to buy in a fiscal year.

use std::sync::Arc;

use domain::cache::ResultCache;
use poem::{Body, Request};
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::{Binary, Json};
use poem_openapi::{ApiResponse, Object, OpenApi, ResponseContent};
use sea_orm::{DatabaseConnection, EntityTrait};

use domain::DomainError;
use domain::entities::plan_item;
use domain::listing::Filters;
use domain::names::Language;

use super::ApiTags;
use crate::dto::{Links, LocalizedName, Money, OrganizationKind, OrganizationRef, Provenance, preferred_language};
use crate::error::{ApiError, ApiResult};
use crate::lists::{
    AmountSort, CsvRecord, Format, ListAnswer, list_or_export, organizations_by_id, parse_amount, parse_param,
};
use crate::vocab::{ProcurementMethod, stored};

pub struct PlanItemsApi {
    pub db: DatabaseConnection,
    /// Counts and aggregates kept while the data is unchanged.
    pub cache: Arc<ResultCache>,
}

/// An item of a buyer's procurement plan.
#[derive(Debug, Clone, Object)]
pub struct PlanItem {
    /// Scrutiny's id for the plan item.
    pub id: i64,
    pub buyer: OrganizationRef,
    /// The budget line that pays for it.
    #[oai(skip_serializing_if_is_none)]
    pub budget_line_id: Option<i64>,
    /// The budget year.
    pub fiscal_year: i32,
    /// What is to be bought.
    pub name: LocalizedName,
    /// ENSTRU classifier code of the goods, works or services.
    #[oai(skip_serializing_if_is_none)]
    pub enstru_code: Option<String>,
    /// The planned procurement method.
    pub procurement_method: ProcurementMethod,
    /// How much is to be bought, as a decimal string.
    pub quantity: String,
    /// The planned price of one unit.
    pub unit_price: Money,
    /// The planned amount.
    pub amount: Money,
    /// The month (1–12) the purchase is planned for.
    #[oai(skip_serializing_if_is_none)]
    pub planned_month: Option<i32>,
    pub provenance: Provenance,
}

/// A page of plan items.
#[derive(Debug, Object)]
pub struct PlanItemPage {
    /// The plan items on this page, in the requested order.
    pub items: Vec<PlanItem>,
    /// How many plan items match the filters, across all pages.
    pub total: u64,
    pub links: Links,
}

#[derive(ResponseContent)]
pub enum PlanItemListBody {
    Json(Json<PlanItemPage>),
    #[oai(content_type = "text/csv; charset=utf-8")]
    Csv(Binary<Body>),
}

#[derive(ApiResponse)]
pub enum PlanItemListResponse {
    /// A page of plan items as JSON, or every matching plan item as CSV.
    #[oai(status = 200)]
    Ok(PlanItemListBody),
}

#[derive(ApiResponse)]
pub enum PlanItemResponse {
    /// The plan item.
    #[oai(status = 200)]
    Ok(Json<PlanItem>),
}

impl CsvRecord for PlanItem {
    const HEADER: &'static [&'static str] = &[
        "id",
        "buyer_id",
        "buyer_bin",
        "buyer_name",
        "fiscal_year",
        "name",
        "enstru_code",
        "procurement_method",
        "quantity",
        "unit_price",
        "amount",
        "currency",
        "vat_included",
        "planned_month",
        "source",
        "upstream_id",
    ];

    fn cells(&self) -> Vec<String> {
        vec![
            self.id.to_string(),
            self.buyer.id.to_string(),
            self.buyer.bin.clone().unwrap_or_default(),
            self.buyer.name.display.clone().unwrap_or_default(),
            self.fiscal_year.to_string(),
            self.name.display.clone().unwrap_or_default(),
            self.enstru_code.clone().unwrap_or_default(),
            stored(domain::entities::ProcurementMethod::from(self.procurement_method)),
            self.quantity.clone(),
            self.unit_price.amount.clone(),
            self.amount.amount.clone(),
            self.amount.currency.clone(),
            self.amount.vat_included.to_string(),
            self.planned_month.map(|m| m.to_string()).unwrap_or_default(),
            self.provenance.source.clone(),
            self.provenance.upstream_id.clone(),
        ]
    }
}

pub async fn plan_items_out(
    db: &DatabaseConnection,
    rows: Vec<plan_item::Model>,
    language: Language,
) -> Result<Vec<PlanItem>, DomainError> {
    let organizations = organizations_by_id(db, rows.iter().map(|row| row.buyer_id)).await?;
    rows.into_iter()
        .map(|row| {
            let buyer = organizations
                .get(&row.buyer_id)
                .map(|org| OrganizationRef::new(org, language))
                .ok_or_else(|| DomainError::Inconsistent(format!("plan item {} has no buyer", row.id)))?;
            Ok(PlanItem {
                buyer,
                id: row.id,
                budget_line_id: row.budget_line_id,
                fiscal_year: row.fiscal_year,
                name: LocalizedName::new(row.name_ru, row.name_kk, row.name_en, language),
                enstru_code: row.enstru_code,
                procurement_method: row.procurement_method.into(),
                quantity: row.quantity,
                unit_price: Money::new(row.unit_price_minor, &row.currency, &row.exchange_rate, row.vat_included),
                amount: Money::new(row.amount_minor, &row.currency, &row.exchange_rate, row.vat_included),
                planned_month: row.planned_month,
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

#[OpenApi(tag = "ApiTags::Plans")]
impl PlanItemsApi {
    /// List plan items
    ///
    /// Procurement plan items matching every given filter, a page at a time; follow
    /// `links.next` until it is absent. With `format=csv` (or `Accept: text/csv`) every
    /// matching item is streamed as CSV instead, with no row cap.
    #[oai(path = "/v1/plan-items", method = "get", operation_id = "listPlanItems")]
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        req: &Request,
        /// Only items of this buyer (BIN).
        #[oai(name = "buyer_bin", validator(pattern = r"^[0-9]{12}$"))]
        buyer_bin: Query<Option<String>>,
        /// Only items of buyers of this kind, e.g. `quasi_public`.
        #[oai(name = "buyer_kind")]
        buyer_kind: Query<Option<OrganizationKind>>,
        /// Only items of buyers registered in this territory (KATO code, with its sub-territories).
        #[oai(name = "region", validator(pattern = r"^[0-9]{9}$"))]
        region: Query<Option<String>>,
        /// Only items planned for this procurement method.
        #[oai(name = "procurement_method")]
        procurement_method: Query<Option<ProcurementMethod>>,
        /// Only items of this budget year.
        #[oai(name = "fiscal_year", validator(minimum(value = "1990"), maximum(value = "2100")))]
        fiscal_year: Query<Option<i32>>,
        /// Only items of at least this amount, in major units.
        #[oai(name = "amount_min", validator(pattern = r"^[0-9]{1,15}(\.[0-9]{1,2})?$"))]
        amount_min: Query<Option<String>>,
        /// Only items of at most this amount, in major units.
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
    ) -> ApiResult<PlanItemListResponse> {
        let filters = Filters {
            buyer_bin: parse_param("buyer_bin", buyer_bin.0)?,
            buyer_kind: buyer_kind.0.map(Into::into),
            region: parse_param("region", region.0)?,
            method: procurement_method.0.map(Into::into),
            fiscal_year: fiscal_year.0,
            amount_min: parse_amount("amount_min", amount_min.0)?,
            amount_max: parse_amount("amount_max", amount_max.0)?,
            ..Filters::default()
        };
        let sort = sort.0.unwrap_or(AmountSort::Id).into();
        let language = preferred_language(req);
        let answer = list_or_export::<plan_item::Entity, _, _, _>(
            &self.db,
            &self.cache,
            req,
            filters,
            sort,
            format.0,
            limit.0,
            cursor.0,
            move |db, rows| async move { plan_items_out(&db, rows, language).await },
        )
        .await?;
        Ok(PlanItemListResponse::Ok(match answer {
            ListAnswer::Csv(body) => PlanItemListBody::Csv(Binary(body)),
            ListAnswer::Page { items, total, next } => {
                PlanItemListBody::Json(Json(PlanItemPage { items, total, links: Links { next } }))
            }
        }))
    }

    /// Get a plan item
    #[oai(path = "/v1/plan-items/:id", method = "get", operation_id = "getPlanItem")]
    async fn get(
        &self,
        req: &Request,
        /// The plan item's id.
        #[oai(name = "id")]
        id: Path<i64>,
    ) -> ApiResult<PlanItemResponse> {
        let row = plan_item::Entity::find_by_id(id.0)
            .one(&self.db)
            .await
            .map_err(DomainError::from)?
            .ok_or_else(|| ApiError::not_found(&format!("plan item {}", id.0)))?;
        Ok(PlanItemResponse::Ok(Json(plan_items_out(&self.db, vec![row], preferred_language(req)).await?.remove(0))))
    }
}
