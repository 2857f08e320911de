//! The change feed: what was created, updated and deleted, in order, so that a copy of the data
//! can be kept current without reading it all again.

use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use sea_orm::DatabaseConnection;

use domain::DomainError;
use domain::changes::{self, ChangedEntity as StoredEntity};

use super::ApiTags;
use crate::dto::Timestamp;
use crate::error::{ApiError, ApiResult};

pub struct ChangesApi {
    pub db: DatabaseConnection,
}

/// Caches may keep a page but must ask again before reusing it: a dashboard polling the same
/// cursor must see new changes at once. Revalidation is cheap, by `ETag`.
const FEED_CACHE_CONTROL: &str = "public, no-cache";

/// The kind of record that changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum ChangedEntity {
    /// An organization: `/v1/organizations/{id}`.
    Organization,
    /// A budget line: `/v1/budget-lines/{id}`.
    BudgetLine,
    /// A procurement plan item: `/v1/plan-items/{id}`.
    PlanItem,
    /// A tender: `/v1/tenders/{id}`.
    Tender,
    /// A lot of a tender: `/v1/lots/{id}`.
    Lot,
    /// A bid on a lot: `/v1/bids/{id}`.
    Bid,
    /// An award of a lot: `/v1/awards/{id}`.
    Award,
    /// A contract: `/v1/contracts/{id}`.
    Contract,
    /// An amendment of a contract: `/v1/contract-amendments/{id}`.
    ContractAmendment,
    /// A treasury payment: `/v1/payments/{id}`.
    Payment,
    /// An act of delivery under a contract: `/v1/delivery-acts/{id}`.
    DeliveryAct,
    /// A decision: `/v1/decisions/{id}`.
    Decision,
    /// A published scrutiny finding: `/v1/findings/{id}`; drafts stay out of the feed, and a
    /// finding first appears when published, as `updated`.
    Finding,
    /// A red flag: `/v1/red-flags/{id}`; raised (`created`), re-computed with other evidence or
    /// cleared because a later computation no longer finds it (`updated`).
    RedFlag,
}

impl ChangedEntity {
    /// The collection the record's path sits under.
    fn collection(self) -> &'static str {
        match self {
            ChangedEntity::Organization => "organizations",
            ChangedEntity::BudgetLine => "budget-lines",
            ChangedEntity::PlanItem => "plan-items",
            ChangedEntity::Tender => "tenders",
            ChangedEntity::Lot => "lots",
            ChangedEntity::Bid => "bids",
            ChangedEntity::Award => "awards",
            ChangedEntity::Contract => "contracts",
            ChangedEntity::ContractAmendment => "contract-amendments",
            ChangedEntity::Payment => "payments",
            ChangedEntity::DeliveryAct => "delivery-acts",
            ChangedEntity::Decision => "decisions",
            ChangedEntity::Finding => "findings",
            ChangedEntity::RedFlag => "red-flags",
        }
    }
}

impl From<StoredEntity> for ChangedEntity {
    fn from(entity: StoredEntity) -> Self {
        match entity {
            StoredEntity::Organization => ChangedEntity::Organization,
            StoredEntity::BudgetLine => ChangedEntity::BudgetLine,
            StoredEntity::PlanItem => ChangedEntity::PlanItem,
            StoredEntity::Tender => ChangedEntity::Tender,
            StoredEntity::Lot => ChangedEntity::Lot,
            StoredEntity::Bid => ChangedEntity::Bid,
            StoredEntity::Award => ChangedEntity::Award,
            StoredEntity::Contract => ChangedEntity::Contract,
            StoredEntity::ContractAmendment => ChangedEntity::ContractAmendment,
            StoredEntity::Payment => ChangedEntity::Payment,
            StoredEntity::DeliveryAct => ChangedEntity::DeliveryAct,
            StoredEntity::Decision => ChangedEntity::Decision,
            StoredEntity::Finding => ChangedEntity::Finding,
            StoredEntity::RedFlag => ChangedEntity::RedFlag,
        }
    }
}

/// What happened to the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum ChangeAction {
    /// The record was added.
    Created,
    /// Some of the record's fields changed; read it again at `href`.
    Updated,
    /// The record was removed; `href` now answers 404.
    Deleted,
}

impl From<changes::ChangeAction> for ChangeAction {
    fn from(action: changes::ChangeAction) -> Self {
        match action {
            changes::ChangeAction::Created => ChangeAction::Created,
            changes::ChangeAction::Updated => ChangeAction::Updated,
            changes::ChangeAction::Deleted => ChangeAction::Deleted,
        }
    }
}

/// One change of one record.
#[derive(Debug, Clone, Object)]
pub struct Change {
    /// The change's place in the feed: increasing, though not without gaps.
    pub sequence: i64,
    /// The kind of record that changed.
    pub entity: ChangedEntity,
    /// The record's id.
    pub id: i64,
    /// What happened to it.
    pub action: ChangeAction,
    /// When the database recorded the change (RFC 3339, UTC).
    pub changed_at: Timestamp,
    /// The record's path in this API, e.g. `/v1/contracts/42`; it answers 404 once the record
    /// is deleted.
    pub href: String,
}

impl From<changes::Change> for Change {
    fn from(change: changes::Change) -> Self {
        let entity = ChangedEntity::from(change.entity);
        Change {
            sequence: change.sequence,
            entity,
            id: change.record_id,
            action: change.action.into(),
            changed_at: change.changed_at.into(),
            href: format!("/v1/{}/{}", entity.collection(), change.record_id),
        }
    }
}

/// Where to read on.
#[derive(Debug, Clone, Object)]
pub struct ChangeFeedLinks {
    /// The request to make next, as a path with its query. Always present: when there is
    /// nothing new it names the same position as this request, so polling it returns changes
    /// as they happen.
    pub next: String,
}

/// A page of the change feed.
#[derive(Debug, Object)]
pub struct ChangeFeedPage {
    /// The changes after the requested position, in feed order; empty when there is none yet.
    pub items: Vec<Change>,
    pub links: ChangeFeedLinks,
}

#[derive(ApiResponse)]
pub enum ChangeFeedResponse {
    /// The changes after the requested position, at most `limit` of them.
    #[oai(
        status = 200,
        header(name = "ETag", ty = "String", description = "A validator for this page; send it in `If-None-Match`.")
    )]
    Ok(
        Json<ChangeFeedPage>,
        /// `public, no-cache`: caches must revalidate before reusing a page, so that polling
        /// sees new changes at once.
        #[oai(header = "Cache-Control")]
        String,
    ),
    /// Nothing changed since the page whose `ETag` the request sent in `If-None-Match`.
    #[oai(status = 304, header(name = "ETag", ty = "String", description = "The page's validator, unchanged."))]
    NotModified,
}

#[OpenApi(tag = "ApiTags::Changes")]
impl ChangesApi {
    /// List changes
    ///
    /// Every record created, updated or deleted in the domain tables (organizations, budget
    /// lines, plan items, tenders, lots, bids, awards, contracts, contract amendments,
    /// payments, delivery acts and decisions), in the order the database recorded them,
    /// whoever wrote them. To keep a copy current, read from the beginning, then keep
    /// requesting `links.next`; an empty page means nothing is new yet, and polling the same
    /// `links.next` later returns what changed since. A change appears when the transaction
    /// that made it commits, after every change committed before it, so reading on from
    /// `links.next` returns each change exactly once.
    #[oai(
        path = "/v1/changes",
        method = "get",
        operation_id = "listChanges",
        request_header(
            name = "If-None-Match",
            ty = "Option<String>",
            description = "The `ETag` of a page already held; when it still matches, the answer is 304."
        )
    )]
    async fn list(
        &self,
        /// Where to start: the `since` in a previous response's `links.next`. Opaque. Absent:
        /// from the beginning of the feed.
        #[oai(name = "since")]
        since: Query<Option<String>>,
        /// How many changes to return at most, 1 to 1000; 100 when absent.
        #[oai(name = "limit", validator(minimum(value = "1"), maximum(value = "1000")))]
        limit: Query<Option<u64>>,
    ) -> ApiResult<ChangeFeedResponse> {
        let limit = limit.0.unwrap_or(changes::DEFAULT_LIMIT);
        let after = match since.0.as_deref() {
            Some(token) => changes::decode_cursor(token).map_err(|error| match error {
                DomainError::InvalidCursor(reason) => ApiError::invalid_param("since", reason),
                other => other.into(),
            })?,
            None => 0,
        };
        let page = changes::after(&self.db, after, limit).await?;
        let next = format!("/v1/changes?since={}&limit={limit}", page.next_cursor().encode());
        Ok(ChangeFeedResponse::Ok(
            Json(ChangeFeedPage {
                items: page.items.into_iter().map(Change::from).collect(),
                links: ChangeFeedLinks { next },
            }),
            FEED_CACHE_CONTROL.to_owned(),
        ))
    }
}
