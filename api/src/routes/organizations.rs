//! Organizations: state bodies, quasi-public entities and suppliers.

use std::sync::Arc;

use poem::{Body, Request};
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::{Binary, Json};
use poem_openapi::{ApiResponse, Object, OpenApi, ResponseContent};
use sea_orm::DatabaseConnection;

use domain::cache::ResultCache;

use domain::DomainError;
use domain::entities::organization;
use domain::listing::{Filters, Sort};
use domain::names::Language;
use domain::organizations::{self, SideTotals};
use domain::search::SearchText;

use super::ApiTags;
use crate::dto::{Links, LocalizedName, Money, OrganizationKind, Provenance, preferred_language};
use crate::error::{ApiError, ApiResult};
use crate::lists::{CsvRecord, Format, ListAnswer, list_or_export, parse_param};
use crate::vocab::stored;

pub struct OrganizationsApi {
    pub db: DatabaseConnection,
    /// Counts and aggregates kept while the data is unchanged.
    pub cache: Arc<ResultCache>,
    /// The findings that name a record.
    pub findings: domain::findings::Findings,
    /// The indicators' settings, for the titles of embedded red flags.
    pub indicators: std::sync::Arc<indicators::database::DatabaseSettings>,
}

/// An organization.
#[derive(Debug, Clone, Object)]
pub struct Organization {
    /// Scrutiny's id for the organization.
    pub id: i64,
    /// BIN (legal entities) or IIN (individual entrepreneurs): 12 digits, check digit verified.
    /// Absent for organizations registered abroad.
    #[oai(skip_serializing_if_is_none)]
    pub bin: Option<String>,
    /// The organization's name in each language the source gave.
    pub name: LocalizedName,
    pub kind: OrganizationKind,
    /// KATO code (9 digits) of the region where the organization is registered.
    #[oai(skip_serializing_if_is_none)]
    pub region_kato: Option<String>,
    /// The parent organization's id: the ministry above a committee, the holding above a company.
    #[oai(skip_serializing_if_is_none)]
    pub parent_id: Option<i64>,
    pub provenance: Provenance,
}

/// Contracts and payments on one side (buyer or supplier), per currency.
#[derive(Debug, Clone, Object)]
pub struct Totals {
    /// How many contracts the organization signed on this side.
    pub contract_count: u64,
    /// Their amounts summed, one entry per currency and VAT basis.
    pub contracted: Vec<Money>,
    /// How many payments it made (as buyer) or received (as supplier).
    pub payment_count: u64,
    /// Their amounts summed, one entry per currency and VAT basis.
    pub paid: Vec<Money>,
}

/// An organization with its totals as a buyer and as a supplier.
#[derive(Debug, Clone, Object)]
pub struct OrganizationDetail {
    #[oai(flatten)]
    pub organization: Organization,
    /// What it bought: contracts it signed as buyer, payments it made.
    pub as_buyer: Totals,
    /// What it sold: contracts it signed as supplier, payments it received.
    pub as_supplier: Totals,
    /// The public council at this state body or quasi-public entity: `/v1/councils/{id}`.
    /// Absent for suppliers, and for bodies whose council is not registered yet.
    #[oai(skip_serializing_if_is_none)]
    pub council: Option<crate::routes::councils::Council>,
    /// Published scrutiny findings against it, newest first (at most 50;
    /// `/v1/findings?target_organization_id={id}` lists them all).
    pub findings: Vec<crate::routes::findings::FindingRef>,
    /// Red flags standing on it, newest first (at most 50; `/v1/red-flags` filters list them all).
    pub red_flags: Vec<crate::routes::red_flags::RedFlag>,
}

/// A page of organizations.
#[derive(Debug, Object)]
pub struct OrganizationPage {
    /// The organizations on this page, in id order.
    pub items: Vec<Organization>,
    /// How many organizations match the filters, across all pages.
    pub total: u64,
    pub links: Links,
}

#[derive(ResponseContent)]
pub enum OrganizationListBody {
    Json(Json<OrganizationPage>),
    #[oai(content_type = "text/csv; charset=utf-8")]
    Csv(Binary<Body>),
}

#[derive(ApiResponse)]
pub enum OrganizationPageResponse {
    /// A page of organizations as JSON, or every matching organization as CSV.
    #[oai(status = 200)]
    Ok(OrganizationListBody),
}

#[derive(ApiResponse)]
pub enum OrganizationResponse {
    /// The organization.
    #[oai(status = 200)]
    Ok(Json<OrganizationDetail>),
}

impl Organization {
    pub fn new(model: organization::Model, language: Language) -> Self {
        Organization {
            id: model.id,
            bin: model.bin,
            name: LocalizedName::new(model.name_ru, model.name_kk, model.name_en, language),
            kind: model.kind.into(),
            region_kato: model.region_kato,
            parent_id: model.parent_id,
            provenance: Provenance::new(
                model.source,
                model.upstream_id,
                model.fetched_at,
                model.content_hash,
                model.import_run_id,
            ),
        }
    }
}

impl From<SideTotals> for Totals {
    fn from(totals: SideTotals) -> Self {
        let money = |sums: Vec<(String, bool, i64)>| {
            sums.into_iter().map(|(currency, vat, minor)| Money::total(minor, &currency, vat)).collect::<Vec<_>>()
        };
        Totals {
            contract_count: totals.contract_count,
            contracted: money(totals.contracted),
            payment_count: totals.payment_count,
            paid: money(totals.paid),
        }
    }
}

impl CsvRecord for Organization {
    const HEADER: &'static [&'static str] =
        &["id", "bin", "name_ru", "name_kk", "name_en", "kind", "region_kato", "parent_id", "source", "upstream_id"];

    fn cells(&self) -> Vec<String> {
        vec![
            self.id.to_string(),
            self.bin.clone().unwrap_or_default(),
            self.name.ru.clone().unwrap_or_default(),
            self.name.kk.clone().unwrap_or_default(),
            self.name.en.clone().unwrap_or_default(),
            stored(domain::entities::OrganizationKind::from(self.kind)),
            self.region_kato.clone().unwrap_or_default(),
            self.parent_id.map(|id| id.to_string()).unwrap_or_default(),
            self.provenance.source.clone(),
            self.provenance.upstream_id.clone(),
        ]
    }
}

#[OpenApi(tag = "ApiTags::Organizations")]
impl OrganizationsApi {
    /// List organizations
    ///
    /// Organizations matching every given filter, in id order, a page at a time. Follow
    /// `links.next` until it is absent to read them all; each appears exactly once, even while
    /// new ones arrive. With `format=csv` (or `Accept: text/csv`) every match is streamed as CSV.
    #[oai(path = "/v1/organizations", method = "get", operation_id = "listOrganizations")]
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        req: &Request,
        /// Only organizations of this kind, e.g. `quasi_public` for the quasi-public sector.
        #[oai(name = "kind")]
        kind: Query<Option<OrganizationKind>>,
        /// Only organizations registered in this territory: a 9-digit KATO code, matched with
        /// everything inside it (`750000000` is all of Almaty).
        #[oai(name = "region", validator(pattern = r"^[0-9]{9}$"))]
        region: Query<Option<String>>,
        /// Only the organization with this BIN or IIN.
        #[oai(name = "bin", validator(pattern = r"^[0-9]{12}$"))]
        bin: Query<Option<String>>,
        /// Only organizations whose text matches these words (all of them; the last also as a prefix),
        /// through the full-text index, in Russian and Kazakh; see `/v1/search` for ranked results.
        #[oai(name = "q", validator(min_length = 1, max_length = 500))]
        q: Query<Option<String>>,
        /// Page size, 1 to 100; 20 when absent.
        #[oai(name = "limit", validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u64>>,
        /// Where to start: the `cursor` from a previous page's `links.next`. Opaque.
        #[oai(name = "cursor", validator(min_length = 1, max_length = 512, pattern = r"^[A-Za-z0-9_-]+$"))]
        cursor: Query<Option<String>>,
        /// `json` (default) for a page, `csv` for every matching row.
        #[oai(name = "format")]
        format: Query<Option<Format>>,
    ) -> ApiResult<OrganizationPageResponse> {
        let filters = Filters {
            text: q.0.as_deref().map(SearchText::parse).transpose()?,
            organization_kind: kind.0.map(Into::into),
            region: parse_param("region", region.0)?,
            bin: parse_param("bin", bin.0)?,
            ..Filters::default()
        };
        let language = preferred_language(req);
        let answer = list_or_export::<organization::Entity, _, _, _>(
            &self.db,
            &self.cache,
            req,
            filters,
            Sort::ID,
            format.0,
            limit.0,
            cursor.0,
            move |_db, rows| async move {
                Ok::<_, DomainError>(rows.into_iter().map(|row| Organization::new(row, language)).collect())
            },
        )
        .await?;
        Ok(OrganizationPageResponse::Ok(match answer {
            ListAnswer::Csv(body) => OrganizationListBody::Csv(Binary(body)),
            ListAnswer::Page { items, total, next } => {
                OrganizationListBody::Json(Json(OrganizationPage { items, total, links: Links { next } }))
            }
        }))
    }

    /// Get an organization
    ///
    /// The organization with its totals as a buyer (contracts it signed, payments it made) and
    /// as a supplier (contracts it won, payments it received).
    #[oai(path = "/v1/organizations/:id", method = "get", operation_id = "getOrganization")]
    async fn get(
        &self,
        req: &Request,
        /// The organization's id.
        #[oai(name = "id")]
        id: Path<i64>,
    ) -> ApiResult<OrganizationResponse> {
        let model = organizations::get(&self.db, id.0)
            .await?
            .ok_or_else(|| ApiError::not_found(&format!("organization {}", id.0)))?;
        let totals = organizations::totals(&self.db, model.id).await?;
        let council = domain::accounts::councils::of_organization(&self.db, model.id).await?;
        let language = preferred_language(req);
        let findings = crate::routes::findings::FindingRef::all(self.findings.against(model.id).await?, language);
        let red_flags = crate::routes::red_flags::RedFlagsApi::embedded(
            &self.db,
            &self.indicators,
            domain::red_flags::query::Embedding::Organization(model.id),
            language,
        )
        .await?;
        Ok(OrganizationResponse::Ok(Json(OrganizationDetail {
            organization: Organization::new(model, language),
            as_buyer: totals.as_buyer.into(),
            as_supplier: totals.as_supplier.into(),
            council: council.map(|view| crate::routes::councils::Council::new(view, language)),
            findings,
            red_flags,
        })))
    }
}
