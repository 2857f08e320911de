//! Decisions: orders, resolutions and board decisions of bodies.

use std::sync::Arc;

use domain::cache::ResultCache;
use poem::{Body, Request};
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::{Binary, Json};
use poem_openapi::{ApiResponse, Object, OpenApi, ResponseContent};
use sea_orm::{DatabaseConnection, EntityTrait};

use domain::DomainError;
use domain::entities::decision;
use domain::listing::Filters;
use domain::names::Language;
use domain::search::SearchText;

use super::ApiTags;
use crate::dto::Day;
use crate::dto::{Links, LocalizedName, OrganizationKind, OrganizationRef, Provenance, preferred_language};
use crate::error::{ApiError, ApiResult};
use crate::lists::{CsvRecord, DateSort, Format, ListAnswer, list_or_export, organizations_by_id, parse_param};
use crate::vocab::{DecisionKind, stored};

pub struct DecisionsApi {
    pub db: DatabaseConnection,
    /// Counts and aggregates kept while the data is unchanged.
    pub cache: Arc<ResultCache>,
}

/// An order, resolution or board decision adopted by a body.
#[derive(Debug, Clone, Object)]
pub struct Decision {
    /// Scrutiny's id for the decision.
    pub id: i64,
    /// The body that adopted it.
    pub organization: OrganizationRef,
    pub kind: DecisionKind,
    /// The decision's number, e.g. `№ 125`.
    pub number: String,
    /// The day it was adopted.
    pub adopted_on: Day,
    pub title: LocalizedName,
    /// What it decides, in brief.
    pub summary: LocalizedName,
    /// Where the full text is published.
    #[oai(skip_serializing_if_is_none)]
    pub url: Option<String>,
    pub provenance: Provenance,
}

/// A page of decisions.
#[derive(Debug, Object)]
pub struct DecisionPage {
    /// The decisions on this page, in the requested order.
    pub items: Vec<Decision>,
    /// How many decisions match the filters, across all pages.
    pub total: u64,
    pub links: Links,
}

#[derive(ResponseContent)]
pub enum DecisionListBody {
    Json(Json<DecisionPage>),
    #[oai(content_type = "text/csv; charset=utf-8")]
    Csv(Binary<Body>),
}

#[derive(ApiResponse)]
pub enum DecisionListResponse {
    /// A page of decisions as JSON, or every matching decision as CSV.
    #[oai(status = 200)]
    Ok(DecisionListBody),
}

#[derive(ApiResponse)]
pub enum DecisionResponse {
    /// The decision.
    #[oai(status = 200)]
    Ok(Json<Decision>),
}

impl CsvRecord for Decision {
    const HEADER: &'static [&'static str] = &[
        "id",
        "organization_id",
        "organization_bin",
        "organization_name",
        "kind",
        "number",
        "adopted_on",
        "title",
        "summary",
        "url",
        "source",
        "upstream_id",
    ];

    fn cells(&self) -> Vec<String> {
        vec![
            self.id.to_string(),
            self.organization.id.to_string(),
            self.organization.bin.clone().unwrap_or_default(),
            self.organization.name.display.clone().unwrap_or_default(),
            stored(domain::entities::DecisionKind::from(self.kind)),
            self.number.clone(),
            self.adopted_on.to_string(),
            self.title.display.clone().unwrap_or_default(),
            self.summary.display.clone().unwrap_or_default(),
            self.url.clone().unwrap_or_default(),
            self.provenance.source.clone(),
            self.provenance.upstream_id.clone(),
        ]
    }
}

pub async fn decisions_out(
    db: &DatabaseConnection,
    rows: Vec<decision::Model>,
    language: Language,
) -> Result<Vec<Decision>, DomainError> {
    let organizations = organizations_by_id(db, rows.iter().map(|row| row.organization_id)).await?;
    rows.into_iter()
        .map(|row| {
            let organization =
                organizations
                    .get(&row.organization_id)
                    .map(|org| OrganizationRef::new(org, language))
                    .ok_or_else(|| DomainError::Inconsistent(format!("decision {} has no organization", row.id)))?;
            Ok(Decision {
                organization,
                id: row.id,
                kind: row.kind.into(),
                number: row.number,
                adopted_on: row.adopted_on.into(),
                title: LocalizedName::new(row.title_ru, row.title_kk, row.title_en, language),
                summary: LocalizedName::new(row.summary_ru, row.summary_kk, row.summary_en, language),
                url: row.url,
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

#[OpenApi(tag = "ApiTags::Decisions")]
impl DecisionsApi {
    /// List decisions
    ///
    /// Decisions matching every given filter, a page at a time in the requested order; follow
    /// `links.next` until it is absent. With `format=csv` (or `Accept: text/csv`) every
    /// matching decision is streamed as CSV instead.
    #[oai(path = "/v1/decisions", method = "get", operation_id = "listDecisions")]
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        req: &Request,
        /// Only decisions of this body (BIN).
        #[oai(name = "organization_bin", validator(pattern = r"^[0-9]{12}$"))]
        organization_bin: Query<Option<String>>,
        /// Only decisions of bodies of this kind, e.g. `quasi_public`.
        #[oai(name = "organization_kind")]
        organization_kind: Query<Option<OrganizationKind>>,
        /// Only decisions of bodies registered in this territory (KATO code, with its sub-territories).
        #[oai(name = "region", validator(pattern = r"^[0-9]{9}$"))]
        region: Query<Option<String>>,
        /// Only decisions adopted on or after this day.
        #[oai(name = "date_from")]
        date_from: Query<Option<Day>>,
        /// Only decisions adopted on or before this day.
        #[oai(name = "date_to")]
        date_to: Query<Option<Day>>,
        /// Only decisions whose text matches these words (all of them; the last also as a prefix),
        /// through the full-text index, in Russian and Kazakh; see `/v1/search` for ranked results.
        #[oai(name = "q", validator(min_length = 1, max_length = 500))]
        q: Query<Option<String>>,
        /// The order: `id` (default), `date`, `-date`.
        #[oai(name = "sort")]
        sort: Query<Option<DateSort>>,
        /// Page size, 1 to 100; 20 when absent.
        #[oai(name = "limit", validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u64>>,
        /// Where to start: the `cursor` from a previous page's `links.next`. Opaque.
        #[oai(name = "cursor", validator(min_length = 1, max_length = 512, pattern = r"^[A-Za-z0-9_-]+$"))]
        cursor: Query<Option<String>>,
        /// `json` (default) for a page, `csv` for every matching row.
        #[oai(name = "format")]
        format: Query<Option<Format>>,
    ) -> ApiResult<DecisionListResponse> {
        let filters = Filters {
            text: q.0.as_deref().map(SearchText::parse).transpose()?,
            buyer_bin: parse_param("organization_bin", organization_bin.0)?,
            buyer_kind: organization_kind.0.map(Into::into),
            region: parse_param("region", region.0)?,
            date_from: date_from.0.map(Into::into),
            date_to: date_to.0.map(Into::into),
            ..Filters::default()
        };
        let sort = sort.0.unwrap_or(DateSort::Id).into();
        let language = preferred_language(req);
        let answer = list_or_export::<decision::Entity, _, _, _>(
            &self.db,
            &self.cache,
            req,
            filters,
            sort,
            format.0,
            limit.0,
            cursor.0,
            move |db, rows| async move { decisions_out(&db, rows, language).await },
        )
        .await?;
        Ok(DecisionListResponse::Ok(match answer {
            ListAnswer::Csv(body) => DecisionListBody::Csv(Binary(body)),
            ListAnswer::Page { items, total, next } => {
                DecisionListBody::Json(Json(DecisionPage { items, total, links: Links { next } }))
            }
        }))
    }

    /// Get a decision
    #[oai(path = "/v1/decisions/:id", method = "get", operation_id = "getDecision")]
    async fn get(
        &self,
        req: &Request,
        /// The decision's id.
        #[oai(name = "id")]
        id: Path<i64>,
    ) -> ApiResult<DecisionResponse> {
        let row = decision::Entity::find_by_id(id.0)
            .one(&self.db)
            .await
            .map_err(DomainError::from)?
            .ok_or_else(|| ApiError::not_found(&format!("decision {}", id.0)))?;
        Ok(DecisionResponse::Ok(Json(decisions_out(&self.db, vec![row], preferred_language(req)).await?.remove(0))))
    }
}
