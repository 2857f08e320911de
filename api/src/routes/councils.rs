//! Public councils: one at each state body and quasi-public entity, with public members.

use std::sync::Arc;

use crate::dto::Timestamp;
use poem::Request;
use poem_openapi::param::{Header, Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use sea_orm::DatabaseConnection;

use domain::accounts::councils::{self, CouncilDetail as CouncilDetailView, CouncilView, NewCouncil, NewMember};
use domain::names::Language;

use super::ApiTags;
use crate::auth::{Auth, BearerAuth};
use crate::dto::{LocalizedName, Page, preferred_language};
use crate::error::ApiResult;
use crate::preconditions::{etag_of_variant, expected_version, idempotency_key};

pub struct CouncilsApi {
    pub db: DatabaseConnection,
    pub auth: Arc<Auth>,
}

/// A public council.
#[derive(Debug, Clone, Object)]
pub struct Council {
    /// Scrutiny's id for the council.
    pub id: i64,
    /// The state body or quasi-public entity the council sits at: `/v1/organizations/{id}`.
    pub host_organization_id: i64,
    pub name: LocalizedName,
    /// How many members it has.
    pub member_count: u64,
    /// When it was created (RFC 3339, UTC).
    pub created_at: Timestamp,
    /// When it or its members last changed (RFC 3339, UTC).
    pub updated_at: Timestamp,
}

/// A member of a council, as the public sees them: the name they chose and their position.
#[derive(Debug, Clone, Object)]
pub struct CouncilMember {
    /// The member's account.
    pub account_id: i64,
    /// The name the member chose to be seen by.
    pub display_name: String,
    /// `chair`, `secretary` or `member`.
    pub position: String,
}

/// A council with its members.
#[derive(Debug, Clone, Object)]
pub struct CouncilDetail {
    #[oai(flatten)]
    pub council: Council,
    /// Its members, by account id.
    pub members: Vec<CouncilMember>,
}

impl Council {
    pub fn new(view: CouncilView, language: Language) -> Self {
        Council {
            id: view.id,
            host_organization_id: view.host_organization_id,
            name: LocalizedName::new(view.name.ru, view.name.kk, view.name.en, language),
            member_count: view.member_count,
            created_at: view.created_at.into(),
            updated_at: view.updated_at.into(),
        }
    }
}

fn present(detail: CouncilDetailView, language: Language) -> CouncilDetail {
    CouncilDetail {
        council: Council::new(detail.council, language),
        members: detail
            .members
            .into_iter()
            .map(|m| CouncilMember { account_id: m.account_id, display_name: m.display_name, position: m.position })
            .collect(),
    }
}

/// A name in each language; absent parts are named after the host organization.
#[derive(Debug, Clone, Object)]
pub struct NameInput {
    /// Russian.
    #[oai(validator(max_length = 200))]
    pub ru: Option<crate::dto::Text>,
    /// Kazakh.
    #[oai(validator(max_length = 200))]
    pub kk: Option<crate::dto::Text>,
    /// English.
    #[oai(validator(max_length = 200))]
    pub en: Option<crate::dto::Text>,
}

/// A council to create.
#[derive(Debug, Clone, Object)]
pub struct CouncilInput {
    /// The state body or quasi-public entity it sits at; one council each.
    pub host_organization_id: i64,
    /// Its name; "Общественный совет при …" after the host when absent.
    pub name: Option<NameInput>,
}

/// One seat to fill.
#[derive(Debug, Clone, Object)]
pub struct MemberInput {
    /// An enabled account.
    pub account_id: i64,
    /// `chair`, `secretary` or `member` (the default).
    #[oai(validator(max_length = 24))]
    pub position: Option<String>,
}

/// A council's whole membership.
#[derive(Debug, Clone, Object)]
pub struct MembersInput {
    /// Every member, replacing the current list (at most 500).
    #[oai(validator(max_items = 500))]
    pub members: Vec<MemberInput>,
}

#[derive(ApiResponse)]
pub enum CouncilPageResponse {
    /// A page of councils, in id order.
    #[oai(status = 200)]
    Ok(Json<Page<Council>>),
}

#[derive(ApiResponse)]
pub enum CouncilResponse {
    /// The council with its members.
    #[oai(status = 200)]
    Ok(
        Json<CouncilDetail>,
        /// The council's version, for `If-Match` on updates.
        #[oai(header = "ETag")]
        String,
    ),
}

#[derive(ApiResponse)]
pub enum CouncilCreated {
    /// The new council.
    #[oai(status = 201)]
    Created(
        Json<CouncilDetail>,
        /// The council's version, for `If-Match` on updates.
        #[oai(header = "ETag")]
        String,
    ),
}

/// The council's ETag for one language: the version decides `If-Match`, the language keeps
/// caches from serving one language's `display` names for another's.
fn council_tag(detail: &CouncilDetailView, language: Language) -> String {
    let suffix = match language {
        Language::Ru => "ru",
        Language::Kk => "kk",
        Language::En => "en",
    };
    etag_of_variant("council", detail.council.id, detail.council.version, suffix)
}

#[OpenApi(tag = "ApiTags::Councils")]
impl CouncilsApi {
    /// List public councils
    ///
    /// Councils in id order, a page at a time.
    #[oai(path = "/v1/councils", method = "get", operation_id = "listCouncils")]
    async fn list(
        &self,
        req: &Request,
        /// Only the council at this organization.
        #[oai(name = "host_organization_id")]
        host: Query<Option<i64>>,
        /// Page size, 1 to 100; 20 when absent.
        #[oai(name = "limit", validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u64>>,
        /// Where to start: the `cursor` from a previous page's `links.next`. Opaque.
        #[oai(name = "cursor", validator(min_length = 1, max_length = 512, pattern = r"^[A-Za-z0-9_-]+$"))]
        cursor: Query<Option<String>>,
    ) -> ApiResult<CouncilPageResponse> {
        let limit = crate::lists::page_limit(limit.0)?;
        let page = councils::list(&self.db, host.0, cursor.0.as_deref(), limit).await?;
        let language = preferred_language(req);
        Ok(CouncilPageResponse::Ok(Json(Page::new(req, limit, page, |view| Council::new(view, language)))))
    }

    /// Get a public council
    ///
    /// The council with its members' display names and positions (never their emails).
    #[oai(path = "/v1/councils/:id", method = "get", operation_id = "getCouncil")]
    async fn get(
        &self,
        req: &Request,
        /// The council's id.
        #[oai(name = "id")]
        id: Path<i64>,
    ) -> ApiResult<CouncilResponse> {
        let detail = councils::get(&self.db, id.0).await?;
        let language = preferred_language(req);
        let tag = council_tag(&detail, language);
        Ok(CouncilResponse::Ok(Json(present(detail, language)), tag))
    }

    /// Create a public council
    ///
    /// Admins create the council of a state body or quasi-public entity that has none.
    #[oai(path = "/v1/councils", method = "post", operation_id = "createCouncil")]
    async fn create(
        &self,
        req: &Request,
        bearer: BearerAuth,
        /// Makes a retry safe: the same key with the same body returns the first answer; with
        /// another body, 422.
        #[oai(name = "Idempotency-Key")]
        key: Header<Option<String>>,
        body: Json<CouncilInput>,
    ) -> ApiResult<CouncilCreated> {
        let actor = self.auth.actor(&bearer).await?;
        let key = idempotency_key(req, key.0.as_deref(), &body.0)?;
        let name = body.0.name.map_or_else(domain::LocalizedName::default, |n| domain::LocalizedName {
            ru: n.ru.map(String::from),
            kk: n.kk.map(String::from),
            en: n.en.map(String::from),
        });
        let new = NewCouncil { host_organization_id: body.0.host_organization_id, name };
        let detail = councils::create(&self.db, &actor, new, key.as_ref()).await?;
        let language = preferred_language(req);
        let tag = council_tag(&detail, language);
        Ok(CouncilCreated::Created(Json(present(detail, language)), tag))
    }

    /// Set a council's members
    ///
    /// Admins replace the council's membership. Needs `If-Match` with the council's ETag.
    #[oai(path = "/v1/councils/:id/members", method = "put", operation_id = "setCouncilMembers")]
    async fn set_members(
        &self,
        req: &Request,
        bearer: BearerAuth,
        /// The council's id.
        #[oai(name = "id")]
        id: Path<i64>,
        /// The ETag of the version this change applies to.
        #[oai(name = "If-Match")]
        if_match: Header<Option<String>>,
        body: Json<MembersInput>,
    ) -> ApiResult<CouncilResponse> {
        let actor = self.auth.actor(&bearer).await?;
        let version = expected_version("council", id.0, if_match.0.as_deref())?;
        let members =
            body.0.members.into_iter().map(|m| NewMember { account_id: m.account_id, position: m.position }).collect();
        let detail = councils::set_members(&self.db, &actor, id.0, version, members).await?;
        let language = preferred_language(req);
        let tag = council_tag(&detail, language);
        Ok(CouncilResponse::Ok(Json(present(detail, language)), tag))
    }
}
