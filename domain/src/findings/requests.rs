//! Requests for public control: a citizen or non-profit asks a public council to scrutinise
//! a body; a member of that council accepts (opening a draft finding that answers it) or
//! declines with a reason, once. A request is seen by its requester, the council's members
//! and admins only; its text enters the audit log only as a salted hash kept beside it.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, Set};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::comments::clean_text;
use super::service::{Findings, NewFinding};
use super::tables::{FilerKind, Form, Reason, RequestStatus, control_request};
use super::view::FindingView;
use crate::DomainError;
use crate::accounts::tables::{account, council, council_member};
use crate::accounts::{Actor, Role};
use crate::audit::log::MASKED;
use crate::entities::{OrganizationKind, organization};
use crate::names::LocalizedName;
use crate::notifications::{self, NewMessage};
use crate::pagination::{Limit, Page, by_key};
use crate::writes::{IdempotencyKey, Write};

/// The longest request text, in characters (after trimming).
pub const MAX_REQUEST_CHARS: usize = 10_000;
/// The longest reason for declining a request.
pub const MAX_DECLINE_REASON_CHARS: usize = 2_000;
/// How much of the request's text titles the finding that answers it.
pub const TITLE_CHARS: usize = 200;

/// A request to send.
#[derive(Debug, Clone, Serialize)]
pub struct NewRequest {
    /// What the council is asked to scrutinise, and why.
    pub text: String,
    /// The state body or quasi-public entity to scrutinise; the council's host when absent.
    pub target_organization_id: Option<i64>,
}

/// A request as those who may see it see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestView {
    pub id: i64,
    pub council_id: i64,
    pub target_organization_id: Option<i64>,
    /// The requester's text; [`MASKED`] once the requester is erased.
    pub text: String,
    pub status: RequestStatus,
    pub created_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
    pub decline_reason: Option<String>,
    /// The draft finding that answers an accepted request.
    pub finding_id: Option<i64>,
    /// The name the requester chose to be seen by; [`MASKED`] once erased.
    pub requester_display_name: String,
}

fn status_name(status: RequestStatus) -> &'static str {
    match status {
        RequestStatus::Pending => "pending",
        RequestStatus::Accepted => "accepted",
        RequestStatus::Declined => "declined",
    }
}

/// Whether the actor sits on this council.
fn is_member(actor: &Actor, council_id: i64) -> bool {
    match actor {
        Actor::Account(principal) => principal.has(Role::CouncilMember) && principal.councils.contains(&council_id),
        _ => false,
    }
}

/// Its requester, the council's members and admins see a request; no one else learns it exists.
fn may_see(actor: &Actor, row: &control_request::Model) -> bool {
    actor.is_admin() || actor.account_id() == Some(row.requester_account_id) || is_member(actor, row.council_id)
}

/// The views of these requests, in the rows' order; one query for the requesters' names.
async fn views(db: &impl ConnectionTrait, rows: Vec<control_request::Model>) -> Result<Vec<RequestView>, DomainError> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let names: BTreeMap<i64, Option<String>> = account::Entity::find()
        .filter(account::Column::Id.is_in(rows.iter().map(|row| row.requester_account_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|a| (a.id, if a.erased_at.is_some() { None } else { Some(a.display_name) }))
        .collect();
    Ok(rows
        .into_iter()
        .map(|row| {
            let name = names.get(&row.requester_account_id).cloned().flatten();
            RequestView {
                id: row.id,
                council_id: row.council_id,
                target_organization_id: row.target_organization_id,
                text: if name.is_some() { row.text } else { MASKED.to_owned() },
                status: row.status,
                created_at: row.created_at,
                decided_at: row.decided_at,
                decline_reason: row.decline_reason,
                finding_id: row.finding_id,
                requester_display_name: name.unwrap_or_else(|| MASKED.to_owned()),
            }
        })
        .collect())
}

/// A request as the audit log keeps it: the requester as an account id, the text only as a
/// reference to the personal data kept beside the log.
fn snapshot(row: &control_request::Model, text: &Value) -> Value {
    json!({
        "id": row.id,
        "council_id": row.council_id,
        "requester_account_id": row.requester_account_id,
        "target_organization_id": row.target_organization_id,
        "text": text,
        "status": row.status,
        "created_at": row.created_at,
        "decided_at": row.decided_at,
        "decided_by_account_id": row.decided_by_account_id,
        "decline_reason": row.decline_reason,
        "finding_id": row.finding_id,
    })
}

/// The start of the request's text on one line, as the answering finding's title.
fn title_from(text: &str) -> String {
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    line.chars().take(TITLE_CHARS).collect::<String>().trim_end().to_owned()
}

/// What the council's members hear of a new request: that it came, not what it says.
async fn arrival_messages(
    db: &impl ConnectionTrait,
    row: &control_request::Model,
) -> Result<Vec<NewMessage>, DomainError> {
    let members =
        council_member::Entity::find().filter(council_member::Column::CouncilId.eq(row.council_id)).all(db).await?;
    Ok(members
        .into_iter()
        .filter(|m| m.account_id != row.requester_account_id)
        .map(|m| NewMessage {
            kind: "request.received".to_owned(),
            recipient_account_id: m.account_id,
            finding_id: None,
            subject: format!("Запрос на общественный контроль № {}", row.id),
            body: format!(
                "Council {} has received request for public control {}. Read it and accept or decline it at \
                 /v1/requests/{}.",
                row.council_id, row.id, row.id
            ),
        })
        .collect())
}

impl Findings {
    /// A citizen or non-profit asks a council for public control.
    pub async fn request_control(
        &self,
        actor: &Actor,
        council_id: i64,
        new: NewRequest,
        key: Option<&IdempotencyKey>,
    ) -> Result<RequestView, DomainError> {
        let requester = match actor {
            Actor::Account(principal) if principal.has(Role::Citizen) || principal.has(Role::Ngo) => {
                principal.account_id
            }
            _ => {
                return Err(DomainError::Forbidden(
                    "requests for public control are sent by citizens and non-profits".into(),
                ));
            }
        };
        let mut write = self.begin().await?;
        if let Some(replayed) = write.replay(actor, "createControlRequest", key).await? {
            return Ok(replayed);
        }
        let txn = write.txn();
        if council::Entity::find_by_id(council_id).one(txn).await?.is_none() {
            return Err(DomainError::invalid("council_id", format!("council {council_id} does not exist")));
        }
        if let Some(target) = new.target_organization_id {
            let org = organization::Entity::find_by_id(target).one(txn).await?.ok_or_else(|| {
                DomainError::invalid("target_organization_id", format!("organization {target} does not exist"))
            })?;
            if !matches!(org.kind, OrganizationKind::StateBody | OrganizationKind::QuasiPublic) {
                return Err(DomainError::invalid(
                    "target_organization_id",
                    format!(
                        "organization {target} is not a state body or quasi-public entity; public control \
                         scrutinises only those"
                    ),
                ));
            }
        }
        let text = clean_text("text", &new.text, MAX_REQUEST_CHARS)?;
        let now = write.now();
        let row = control_request::ActiveModel {
            council_id: Set(council_id),
            requester_account_id: Set(requester),
            target_organization_id: Set(new.target_organization_id),
            text: Set(text.clone()),
            status: Set(RequestStatus::Pending),
            created_at: Set(now),
            decided_at: Set(None),
            decided_by_account_id: Set(None),
            decline_reason: Set(None),
            finding_id: Set(None),
            version: Set(1),
            ..Default::default()
        }
        .insert(txn)
        .await?;
        let outbox = arrival_messages(txn, &row).await?;
        notifications::enqueue(txn, now, outbox).await?;
        let personal = write.personal(requester, &text).await?;
        write.record(actor, "request.create", "control_request", row.id, None, Some(snapshot(&row, &personal))).await?;
        let view = views(write.txn(), vec![row]).await?.remove(0);
        write.remember(actor, "createControlRequest", key, &view).await?;
        write.commit().await?;
        Ok(view)
    }

    /// A page of a council's requests, in id order: all of them for its members and admins,
    /// the caller's own for anyone else.
    pub async fn requests(
        &self,
        actor: &Actor,
        council_id: i64,
        cursor: Option<&str>,
        limit: Limit,
    ) -> Result<Page<RequestView>, DomainError> {
        if council::Entity::find_by_id(council_id).one(&self.db).await?.is_none() {
            return Err(DomainError::NotFound(format!("council {council_id}")));
        }
        let mut query = control_request::Entity::find().filter(control_request::Column::CouncilId.eq(council_id));
        if !(actor.is_admin() || is_member(actor, council_id)) {
            // Anonymous callers have no requests: -1 is never an account id.
            let own = actor.account_id().unwrap_or(-1);
            query = query.filter(control_request::Column::RequesterAccountId.eq(own));
        }
        let page =
            by_key(&self.db, query, control_request::Column::Id, |row| row.id, "requests", cursor, limit).await?;
        let items = views(&self.db, page.items).await?;
        Ok(Page { items, total: page.total, next: page.next })
    }

    /// One request, to those who may see it (404 to anyone else).
    pub async fn get_request(&self, actor: &Actor, request_id: i64) -> Result<RequestView, DomainError> {
        let row = visible_request(&self.db, actor, request_id).await?;
        Ok(views(&self.db, vec![row]).await?.remove(0))
    }

    /// A member of the council accepts a pending request: a draft finding of the council
    /// answers it, and the requester hears of it.
    pub async fn accept_request(
        &self,
        actor: &Actor,
        request_id: i64,
    ) -> Result<(RequestView, FindingView), DomainError> {
        let mut write = self.begin().await?;
        let (row, member) = decidable(&write, actor, request_id).await?;
        let target = match row.target_organization_id {
            Some(target) => target,
            None => {
                council::Entity::find_by_id(row.council_id)
                    .one(write.txn())
                    .await?
                    .ok_or_else(|| DomainError::Inconsistent(format!("request {request_id} has no council")))?
                    .host_organization_id
            }
        };
        let title = title_from(&row.text);
        let new = NewFinding {
            target_organization_id: Some(target),
            red_flag_id: None,
            council_id: Some(row.council_id),
            form: Some(Form::Monitoring),
            reason: Some(Reason::CitizenRequest),
            title: LocalizedName { ru: Some(title.clone()), kk: None, en: None },
            ..Default::default()
        };
        let finding = self.insert(&mut write, actor, member, FilerKind::Council, new, Some(request_id)).await?;
        let now = write.now();
        let mut active = row.clone().into_active_model();
        active.status = Set(RequestStatus::Accepted);
        active.decided_at = Set(Some(now));
        active.decided_by_account_id = Set(Some(member));
        active.finding_id = Set(Some(finding.id));
        active.version = Set(row.version + 1);
        let after = active.update(write.txn()).await?;
        let outbox = vec![NewMessage {
            kind: "request.accepted".to_owned(),
            recipient_account_id: row.requester_account_id,
            finding_id: Some(finding.id),
            subject: format!("Ваш запрос № {request_id} принят советом"),
            body: format!(
                "Council {} accepted your request for public control {request_id} and opened finding {} \
                 (\"{title}\"). It becomes public at /v1/findings/{} once the council publishes it.",
                row.council_id, finding.id, finding.id
            ),
        }];
        notifications::enqueue(write.txn(), now, outbox).await?;
        self.record_decision(&mut write, actor, "request.accept", &row, &after).await?;
        let view = views(write.txn(), vec![after]).await?.remove(0);
        write.commit().await?;
        Ok((view, finding))
    }

    /// A member of the council declines a pending request, saying why; the requester hears
    /// of it.
    pub async fn decline_request(
        &self,
        actor: &Actor,
        request_id: i64,
        reason: String,
    ) -> Result<RequestView, DomainError> {
        let mut write = self.begin().await?;
        let (row, member) = decidable(&write, actor, request_id).await?;
        let reason = clean_text("reason", &reason, MAX_DECLINE_REASON_CHARS)?;
        let now = write.now();
        let mut active = row.clone().into_active_model();
        active.status = Set(RequestStatus::Declined);
        active.decided_at = Set(Some(now));
        active.decided_by_account_id = Set(Some(member));
        active.decline_reason = Set(Some(reason.clone()));
        active.version = Set(row.version + 1);
        let after = active.update(write.txn()).await?;
        let outbox = vec![NewMessage {
            kind: "request.declined".to_owned(),
            recipient_account_id: row.requester_account_id,
            finding_id: None,
            subject: format!("Ваш запрос № {request_id} отклонён советом"),
            body: format!(
                "Council {} declined your request for public control {request_id}. Its reason: {reason}",
                row.council_id
            ),
        }];
        notifications::enqueue(write.txn(), now, outbox).await?;
        self.record_decision(&mut write, actor, "request.decline", &row, &after).await?;
        let view = views(write.txn(), vec![after]).await?.remove(0);
        write.commit().await?;
        Ok(view)
    }

    async fn record_decision(
        &self,
        write: &mut Write,
        actor: &Actor,
        action: &str,
        before: &control_request::Model,
        after: &control_request::Model,
    ) -> Result<(), DomainError> {
        let personal = write.personal(before.requester_account_id, &before.text).await?;
        write
            .record(
                actor,
                action,
                "control_request",
                before.id,
                Some(snapshot(before, &personal)),
                Some(snapshot(after, &personal)),
            )
            .await?;
        Ok(())
    }
}

async fn visible_request(
    db: &impl ConnectionTrait,
    actor: &Actor,
    request_id: i64,
) -> Result<control_request::Model, DomainError> {
    control_request::Entity::find_by_id(request_id)
        .one(db)
        .await?
        .filter(|row| may_see(actor, row))
        .ok_or_else(|| DomainError::NotFound(format!("request {request_id}")))
}

/// The request, if the actor may decide it now, with the deciding member's account id: 404
/// to those who may not see it, 403 to those who see it without sitting on its council, 409
/// once decided.
async fn decidable(
    write: &Write,
    actor: &Actor,
    request_id: i64,
) -> Result<(control_request::Model, i64), DomainError> {
    let row = visible_request(write.txn(), actor, request_id).await?;
    let member = match actor.account_id() {
        Some(account) if is_member(actor, row.council_id) => account,
        _ => {
            return Err(DomainError::Forbidden(format!(
                "only members of council {} decide its requests",
                row.council_id
            )));
        }
    };
    if row.status != RequestStatus::Pending {
        return Err(DomainError::Conflict(format!(
            "request {request_id} is {} already: only pending requests are decided",
            status_name(row.status)
        )));
    }
    Ok((row, member))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_title_is_the_start_of_the_text_on_one_line() {
        assert_eq!(title_from("Проверьте\n\nзакупку   парт"), "Проверьте закупку парт");
        let long = "слово ".repeat(100);
        let title = title_from(&long);
        assert!(title.chars().count() <= TITLE_CHARS);
        assert!(!title.ends_with(' '));
    }
}
