//! Participation around findings: comments on published findings (and their moderation), and
//! requests for public control sent to a council. Every handler parses, calls one
//! `domain::findings` function and presents the result.

use poem::Request;
use poem_openapi::param::{Header, Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};

use domain::findings::Findings;
use domain::findings::comments::CommentView;
use domain::findings::requests::{NewRequest, RequestView};
use domain::findings::tables::RequestStatus;

use super::ApiTags;
use super::findings::{Finding, Hidden, HideInput};
use crate::auth::{Auth, BearerAuth, MaybeBearer};
use crate::dto::{Page, Timestamp, preferred_language};
use crate::error::ApiResult;
use crate::lists::page_limit;
use crate::preconditions::idempotency_key;

pub struct ParticipationApi {
    pub findings: Findings,
    pub auth: std::sync::Arc<Auth>,
}

/// A comment on a published finding.
#[derive(Debug, Clone, Object)]
pub struct Comment {
    /// The comment's id.
    pub id: i64,
    /// The finding it is on: `/v1/findings/{id}`.
    pub finding_id: i64,
    /// The name the author chose to be seen by (never an email); `[personal data]` once the
    /// author is erased.
    pub author_display_name: String,
    /// The text. While a moderator hides the comment it reads `[hidden by a moderator]` to
    /// everyone but moderators, admins and its author; `[personal data]` once the author is
    /// erased.
    pub text: String,
    /// When it was written (RFC 3339, UTC).
    pub created_at: Timestamp,
    /// Set while a moderator hides it, with the public reason.
    #[oai(skip_serializing_if_is_none)]
    pub hidden: Option<Hidden>,
}

impl Comment {
    pub fn new(view: CommentView) -> Self {
        Comment {
            id: view.id,
            finding_id: view.finding_id,
            author_display_name: view.author_display_name,
            text: view.text,
            created_at: view.created_at.into(),
            hidden: view.hidden.map(|h| Hidden { at: h.at.into(), reason: h.reason }),
        }
    }
}

/// A comment to write.
#[derive(Debug, Clone, Object)]
pub struct CommentInput {
    /// 1 to 5000 characters once trimmed; line breaks and tabs are kept, other control
    /// characters refused.
    #[oai(validator(max_length = 5000))]
    pub text: crate::dto::Text,
}

/// What a request for public control came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum ControlRequestStatus {
    /// Waiting for the council to decide.
    Pending,
    /// A member accepted it: `finding_id` names the draft finding that answers it.
    Accepted,
    /// A member declined it: `decline_reason` says why.
    Declined,
}

impl From<RequestStatus> for ControlRequestStatus {
    fn from(status: RequestStatus) -> Self {
        match status {
            RequestStatus::Pending => ControlRequestStatus::Pending,
            RequestStatus::Accepted => ControlRequestStatus::Accepted,
            RequestStatus::Declined => ControlRequestStatus::Declined,
        }
    }
}

/// A request for public control, as its requester, the council's members and admins see it.
#[derive(Debug, Clone, Object)]
pub struct ControlRequest {
    /// The request's id: `/v1/requests/{id}`.
    pub id: i64,
    /// The council asked: `/v1/councils/{id}`.
    pub council_id: i64,
    /// The state body or quasi-public entity to scrutinise; absent when the requester left it
    /// to the council (its host is then the target).
    #[oai(skip_serializing_if_is_none)]
    pub target_organization_id: Option<i64>,
    /// What the council is asked to scrutinise, and why; `[personal data]` once the requester
    /// is erased.
    pub text: String,
    pub status: ControlRequestStatus,
    /// When it was sent (RFC 3339, UTC).
    pub created_at: Timestamp,
    /// When a member accepted or declined it.
    #[oai(skip_serializing_if_is_none)]
    pub decided_at: Option<Timestamp>,
    /// Why it was declined.
    #[oai(skip_serializing_if_is_none)]
    pub decline_reason: Option<String>,
    /// The draft finding that answers an accepted request: `/v1/findings/{id}` (public once
    /// the council publishes it).
    #[oai(skip_serializing_if_is_none)]
    pub finding_id: Option<i64>,
    /// The name the requester chose to be seen by (never an email); `[personal data]` once
    /// erased.
    pub requester_display_name: String,
}

impl ControlRequest {
    pub fn new(view: RequestView) -> Self {
        ControlRequest {
            id: view.id,
            council_id: view.council_id,
            target_organization_id: view.target_organization_id,
            text: view.text,
            status: view.status.into(),
            created_at: view.created_at.into(),
            decided_at: view.decided_at.map(Into::into),
            decline_reason: view.decline_reason,
            finding_id: view.finding_id,
            requester_display_name: view.requester_display_name,
        }
    }
}

/// A request for public control to send to a council.
#[derive(Debug, Clone, Object)]
pub struct ControlRequestInput {
    /// What the council is asked to scrutinise, and why: 1 to 10000 characters once trimmed.
    /// Its first 200 characters title the finding if the council accepts.
    #[oai(validator(max_length = 10000))]
    pub text: crate::dto::Text,
    /// The state body or quasi-public entity to scrutinise (a supplier is not a target); the
    /// council's host when absent.
    pub target_organization_id: Option<i64>,
}

/// A council member's reason for declining a request.
#[derive(Debug, Clone, Object)]
pub struct ControlRequestDeclineInput {
    /// 1 to 2000 characters once trimmed; the requester reads it.
    #[oai(validator(max_length = 2000))]
    pub reason: crate::dto::Text,
}

/// An accepted request and the draft finding that answers it.
#[derive(Debug, Clone, Object)]
pub struct ControlRequestDecision {
    /// The request, now `accepted`.
    pub request: ControlRequest,
    /// The council's new draft finding, with reason `citizen_request` and `request_id` set.
    pub finding: Finding,
}

#[derive(ApiResponse)]
pub enum CommentResponse {
    /// The comment.
    #[oai(status = 200)]
    Ok(Json<Comment>),
}

#[derive(ApiResponse)]
pub enum CommentCreated {
    /// The comment, written.
    #[oai(status = 201)]
    Created(Json<Comment>),
}

#[derive(ApiResponse)]
pub enum CommentPageResponse {
    /// A page of the finding's comments, oldest first.
    #[oai(status = 200)]
    Ok(Json<Page<Comment>>),
}

#[derive(ApiResponse)]
pub enum ControlRequestResponse {
    /// The request.
    #[oai(status = 200)]
    Ok(Json<ControlRequest>),
}

#[derive(ApiResponse)]
pub enum ControlRequestCreated {
    /// The request, sent: `pending` until a member of the council decides it.
    #[oai(status = 201)]
    Created(Json<ControlRequest>),
}

#[derive(ApiResponse)]
pub enum ControlRequestPageResponse {
    /// A page of the council's requests in id order.
    #[oai(status = 200)]
    Ok(Json<Page<ControlRequest>>),
}

#[derive(ApiResponse)]
pub enum ControlRequestDecisionResponse {
    /// The request, accepted, and the draft finding that answers it.
    #[oai(status = 200)]
    Ok(Json<ControlRequestDecision>),
}

#[OpenApi(tag = "ApiTags::Findings")]
impl ParticipationApi {
    /// Comment on a finding
    ///
    /// Any account comments on a published finding, under the display name it chose; a
    /// draft takes no comments (409, or 404 to those who may not see it).
    #[oai(path = "/v1/findings/:id/comments", method = "post", operation_id = "createComment")]
    async fn create_comment(
        &self,
        req: &Request,
        bearer: BearerAuth,
        /// The finding's id.
        #[oai(name = "id")]
        id: Path<i64>,
        /// Makes a retry safe: the same key with the same body returns the first answer; with
        /// another body, 422.
        #[oai(name = "Idempotency-Key")]
        key: Header<Option<String>>,
        body: Json<CommentInput>,
    ) -> ApiResult<CommentCreated> {
        let actor = self.auth.actor(&bearer).await?;
        let key = idempotency_key(req, key.0.as_deref(), &body.0)?;
        let view = self.findings.comment(&actor, id.0, body.0.text.into(), key.as_ref()).await?;
        Ok(CommentCreated::Created(Json(Comment::new(view))))
    }

    /// List a finding's comments
    ///
    /// Oldest first, a page at a time. A hidden comment reads as a marker, with the
    /// moderator's reason, to everyone but moderators, admins and its author.
    #[oai(path = "/v1/findings/:id/comments", method = "get", operation_id = "listComments")]
    async fn list_comments(
        &self,
        req: &Request,
        bearer: MaybeBearer,
        /// The finding's id.
        #[oai(name = "id")]
        id: Path<i64>,
        /// Page size, 1 to 100; 20 when absent.
        #[oai(name = "limit", validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u64>>,
        /// Where to start: the `cursor` from a previous page's `links.next`. Opaque.
        #[oai(name = "cursor", validator(min_length = 1, max_length = 512, pattern = r"^[A-Za-z0-9_-]+$"))]
        cursor: Query<Option<String>>,
    ) -> ApiResult<CommentPageResponse> {
        let actor = self.auth.reader(&bearer).await?;
        let limit = page_limit(limit.0)?;
        let page = self.findings.comments(&actor, id.0, cursor.0.as_deref(), limit).await?;
        Ok(CommentPageResponse::Ok(Json(Page::new(req, limit, page, Comment::new))))
    }

    /// Hide a comment
    ///
    /// Moderators replace a comment's text with a public marker and the reason; its author
    /// still reads it, and the reason stays in the finding's history. Officers of the
    /// scrutinised body never hide comments on its findings.
    #[oai(path = "/v1/comments/:id/hide", method = "post", operation_id = "hideComment")]
    async fn hide_comment(
        &self,
        bearer: BearerAuth,
        /// The comment's id.
        #[oai(name = "id")]
        id: Path<i64>,
        body: Json<HideInput>,
    ) -> ApiResult<CommentResponse> {
        let actor = self.auth.actor(&bearer).await?;
        let view = self.findings.moderate_comment(&actor, id.0, Some(body.0.reason.into())).await?;
        Ok(CommentResponse::Ok(Json(Comment::new(view))))
    }

    /// Show a hidden comment again
    ///
    /// Moderators undo a hiding; a comment that is not hidden is 409.
    #[oai(path = "/v1/comments/:id/unhide", method = "post", operation_id = "unhideComment")]
    async fn unhide_comment(
        &self,
        bearer: BearerAuth,
        /// The comment's id.
        #[oai(name = "id")]
        id: Path<i64>,
    ) -> ApiResult<CommentResponse> {
        let actor = self.auth.actor(&bearer).await?;
        let view = self.findings.moderate_comment(&actor, id.0, None).await?;
        Ok(CommentResponse::Ok(Json(Comment::new(view))))
    }

    /// Request public control
    ///
    /// A citizen or non-profit asks a council to scrutinise a state body or quasi-public
    /// entity (the council's host when no target is given). Only the requester, the
    /// council's members and admins see the request.
    #[oai(path = "/v1/councils/:id/requests", method = "post", operation_id = "createControlRequest")]
    async fn create_request(
        &self,
        req: &Request,
        bearer: BearerAuth,
        /// The council's id.
        #[oai(name = "id")]
        id: Path<i64>,
        /// Makes a retry safe: the same key with the same body returns the first answer; with
        /// another body, 422.
        #[oai(name = "Idempotency-Key")]
        key: Header<Option<String>>,
        body: Json<ControlRequestInput>,
    ) -> ApiResult<ControlRequestCreated> {
        let actor = self.auth.actor(&bearer).await?;
        let key = idempotency_key(req, key.0.as_deref(), &body.0)?;
        let new = NewRequest { text: body.0.text.into(), target_organization_id: body.0.target_organization_id };
        let view = self.findings.request_control(&actor, id.0, new, key.as_ref()).await?;
        Ok(ControlRequestCreated::Created(Json(ControlRequest::new(view))))
    }

    /// List a council's requests
    ///
    /// Every request to the council for its members and admins; the caller's own for anyone
    /// else. In id order, a page at a time.
    #[oai(path = "/v1/councils/:id/requests", method = "get", operation_id = "listControlRequests")]
    async fn list_requests(
        &self,
        req: &Request,
        bearer: BearerAuth,
        /// The council's id.
        #[oai(name = "id")]
        id: Path<i64>,
        /// Page size, 1 to 100; 20 when absent.
        #[oai(name = "limit", validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u64>>,
        /// Where to start: the `cursor` from a previous page's `links.next`. Opaque.
        #[oai(name = "cursor", validator(min_length = 1, max_length = 512, pattern = r"^[A-Za-z0-9_-]+$"))]
        cursor: Query<Option<String>>,
    ) -> ApiResult<ControlRequestPageResponse> {
        let actor = self.auth.actor(&bearer).await?;
        let limit = page_limit(limit.0)?;
        let page = self.findings.requests(&actor, id.0, cursor.0.as_deref(), limit).await?;
        Ok(ControlRequestPageResponse::Ok(Json(Page::new(req, limit, page, ControlRequest::new))))
    }

    /// Get a request for public control
    ///
    /// To its requester (who reads the outcome here), the council's members and admins; 404
    /// to anyone else.
    #[oai(path = "/v1/requests/:id", method = "get", operation_id = "getControlRequest")]
    async fn get_request(
        &self,
        bearer: BearerAuth,
        /// The request's id.
        #[oai(name = "id")]
        id: Path<i64>,
    ) -> ApiResult<ControlRequestResponse> {
        let actor = self.auth.actor(&bearer).await?;
        let view = self.findings.get_request(&actor, id.0).await?;
        Ok(ControlRequestResponse::Ok(Json(ControlRequest::new(view))))
    }

    /// Accept a request for public control
    ///
    /// A member of the council accepts a pending request: a draft finding of the council
    /// answers it (reason `citizen_request`, titled with the request's first 200 characters,
    /// against its target or the council's host), and the requester is told. A decided
    /// request is 409.
    #[oai(path = "/v1/requests/:id/accept", method = "post", operation_id = "acceptControlRequest")]
    async fn accept_request(
        &self,
        req: &Request,
        bearer: BearerAuth,
        /// The request's id.
        #[oai(name = "id")]
        id: Path<i64>,
    ) -> ApiResult<ControlRequestDecisionResponse> {
        let actor = self.auth.actor(&bearer).await?;
        let (request, finding) = self.findings.accept_request(&actor, id.0).await?;
        let decision = ControlRequestDecision {
            request: ControlRequest::new(request),
            finding: Finding::new(finding, preferred_language(req)),
        };
        Ok(ControlRequestDecisionResponse::Ok(Json(decision)))
    }

    /// Decline a request for public control
    ///
    /// A member of the council declines a pending request with a reason the requester
    /// reads, and the requester is told. A decided request is 409.
    #[oai(path = "/v1/requests/:id/decline", method = "post", operation_id = "declineControlRequest")]
    async fn decline_request(
        &self,
        bearer: BearerAuth,
        /// The request's id.
        #[oai(name = "id")]
        id: Path<i64>,
        body: Json<ControlRequestDeclineInput>,
    ) -> ApiResult<ControlRequestResponse> {
        let actor = self.auth.actor(&bearer).await?;
        let view = self.findings.decline_request(&actor, id.0, body.0.reason.into()).await?;
        Ok(ControlRequestResponse::Ok(Json(ControlRequest::new(view))))
    }
}
