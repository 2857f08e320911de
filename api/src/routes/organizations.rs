//! Organizations: state bodies, quasi-public entities and suppliers.

use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use sea_orm::DatabaseConnection;

use domain::entities::{OrganizationKind as StoredKind, organization};
use domain::organizations::{self, SORT_BY_ID};
use domain::pagination::{Cursor, Limit};

use super::ApiTags;
use crate::dto::{Links, LocalizedName, Provenance};
use crate::error::{ApiError, ApiResult};

pub struct OrganizationsApi {
    pub db: DatabaseConnection,
}

/// What part of the public sector, if any, an organization belongs to.
#[derive(Debug, Clone, Copy, Enum)]
#[oai(rename_all = "snake_case")]
pub enum OrganizationKind {
    /// A ministry, agency, akimat or other state body or state institution.
    StateBody,
    /// A national holding, national company or other quasi-public-sector entity.
    QuasiPublic,
    /// A company or individual entrepreneur that sells to the public sector.
    Supplier,
    /// Anything else.
    Other,
}

impl From<StoredKind> for OrganizationKind {
    fn from(kind: StoredKind) -> Self {
        match kind {
            StoredKind::StateBody => OrganizationKind::StateBody,
            StoredKind::QuasiPublic => OrganizationKind::QuasiPublic,
            StoredKind::Supplier => OrganizationKind::Supplier,
            StoredKind::Other => OrganizationKind::Other,
        }
    }
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

impl From<organization::Model> for Organization {
    fn from(model: organization::Model) -> Self {
        Organization {
            id: model.id,
            bin: model.bin,
            name: LocalizedName::new(model.name_ru, model.name_kk, model.name_en),
            kind: model.kind.into(),
            region_kato: model.region_kato,
            parent_id: model.parent_id,
            provenance: Provenance {
                source: model.source,
                upstream_id: model.upstream_id,
                fetched_at: model.fetched_at,
                content_hash: model.content_hash,
            },
        }
    }
}

/// A page of organizations.
#[derive(Debug, Object)]
pub struct OrganizationPage {
    /// The organizations on this page, in id order.
    pub items: Vec<Organization>,
    /// How many organizations there are across all pages.
    pub total: u64,
    pub links: Links,
}

#[derive(ApiResponse)]
pub enum OrganizationPageResponse {
    /// One page of organizations.
    #[oai(status = 200)]
    Ok(Json<OrganizationPage>),
}

#[derive(ApiResponse)]
pub enum OrganizationResponse {
    /// The organization.
    #[oai(status = 200)]
    Ok(Json<Organization>),
}

#[OpenApi(tag = "ApiTags::Organizations")]
impl OrganizationsApi {
    /// List organizations
    ///
    /// Every organization, in id order, a page at a time. Follow `links.next` until it is
    /// absent to read them all; each appears exactly once, even while new ones arrive.
    #[oai(path = "/v1/organizations", method = "get", operation_id = "listOrganizations")]
    async fn list(
        &self,
        /// Page size, 1 to 100; 20 when absent.
        #[oai(name = "limit", validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u64>>,
        /// Where to start: the `cursor` from a previous page's `links.next`. Opaque.
        #[oai(name = "cursor")]
        cursor: Query<Option<String>>,
    ) -> ApiResult<OrganizationPageResponse> {
        let limit = Limit::new(limit.0).map_err(|reason| ApiError::invalid_param("limit", reason))?;
        let after = cursor.0.as_deref().map(|token| Cursor::decode(token, SORT_BY_ID)).transpose()?;
        let page = organizations::list(&self.db, after.as_ref(), limit).await?;
        let next =
            page.next.map(|cursor| format!("/v1/organizations?limit={}&cursor={}", limit.get(), cursor.encode()));
        Ok(OrganizationPageResponse::Ok(Json(OrganizationPage {
            items: page.items.into_iter().map(Organization::from).collect(),
            total: page.total,
            links: Links { next },
        })))
    }

    /// Get an organization
    #[oai(path = "/v1/organizations/:id", method = "get", operation_id = "getOrganization")]
    async fn get(
        &self,
        /// The organization's id.
        #[oai(name = "id")]
        id: Path<i64>,
    ) -> ApiResult<OrganizationResponse> {
        organizations::get(&self.db, id.0)
            .await?
            .map(|model| OrganizationResponse::Ok(Json(model.into())))
            .ok_or_else(|| ApiError::not_found(&format!("organization {}", id.0)))
    }
}
