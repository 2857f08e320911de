//! Filing, editing and moving findings through the workflow. Every change here is one
//! [`Write`]: the actor is checked against the finding, the change is made, its audit event
//! (the finding before and after) and any outbox messages are written, all in one transaction.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, IntoActiveModel, PaginatorTrait,
    QueryFilter, QueryOrder, Set,
};
use serde_json::{Value, json};
use sha2::Digest;

use super::calendar::{Calendar, kazakhstan_date};
use super::tables::{
    Decision, FilerKind, Form, ImplementationResult, Level, Reason, Status, finding, finding_link, hearing,
    recommendation, response,
};
use super::view::{FindingView, LinkRef, RecordType, is_filer, is_officer_of, may_see, timeliness, views};
use crate::DomainError;
use crate::accounts::tables::{account, account_role, council, council_member};
use crate::accounts::{Actor, Role};
use crate::clock::Clock;
use crate::entities::{OrganizationKind, contract, decision, organization, payment, tender};
use crate::names::LocalizedName;
use crate::notifications::{self, NewMessage};
use crate::writes::{IdempotencyKey, Write};

/// Working days to deliver the final document after completing it (Law No. 30-VIII, Art. 13).
pub const DELIVER_WITHIN: u32 = 7;
/// Working days to answer every recommendation after delivery (Art. 13).
pub const ANSWER_WITHIN: u32 = 10;
/// Working days a hearing is announced before a decline (Art. 13).
pub const HEARING_NOTICE: u32 = 3;
/// Working days the parent body has to answer an escalation.
pub const ESCALATION_ANSWER_WITHIN: u32 = 10;

pub const MAX_TITLE_CHARS: usize = 500;
pub const MAX_TEXT_CHARS: usize = 20_000;
pub const MAX_FACTS: usize = 100;
pub const MAX_RECOMMENDATIONS: usize = 50;
pub const MAX_LINKS: usize = 100;
pub const MAX_HEARINGS: u64 = 20;

/// The findings service: the database, the calendar deadlines count on, and the clock.
#[derive(Clone)]
pub struct Findings {
    pub db: DatabaseConnection,
    pub calendar: Arc<Calendar>,
    pub clock: Clock,
}

/// A finding to file.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct NewFinding {
    /// The body scrutinised; with `red_flag_id`, the flag's buyer when absent.
    pub target_organization_id: Option<i64>,
    /// The red flag the finding is opened from: its reason becomes `red_flag`, and its buyer,
    /// records and evidence fill the target, the links and a first fact.
    pub red_flag_id: Option<i64>,
    /// The council filing; absent for a citizen or non-profit filing in its own name.
    pub council_id: Option<i64>,
    pub form: Option<Form>,
    pub reason: Option<Reason>,
    pub title: LocalizedName,
    pub summary: LocalizedName,
    pub period_from: Option<NaiveDate>,
    pub period_to: Option<NaiveDate>,
    pub links: Vec<LinkRef>,
    pub facts: Vec<String>,
    pub recommendations: Vec<String>,
}

/// Changes to a draft or in-progress finding; absent fields stay as they are.
#[derive(Debug, Clone, Default)]
pub struct FindingChanges {
    pub form: Option<Form>,
    pub reason: Option<Reason>,
    pub title: Option<LocalizedName>,
    pub summary: Option<LocalizedName>,
    pub period_from: Option<Option<NaiveDate>>,
    pub period_to: Option<Option<NaiveDate>>,
    pub links: Option<Vec<LinkRef>>,
    pub facts: Option<Vec<String>>,
    pub recommendations: Option<Vec<String>>,
}

/// A step of the workflow that only moves the status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Publish,
    Complete,
    Deliver,
    Close,
    Withdraw,
    Escalate,
}

impl Step {
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Publish => "publish",
            Step::Complete => "complete",
            Step::Deliver => "deliver",
            Step::Close => "close",
            Step::Withdraw => "withdraw",
            Step::Escalate => "escalate",
        }
    }
}

/// The steps that can follow each status, for the 409 that names them.
pub fn steps_from(status: Status) -> &'static [&'static str] {
    match status {
        Status::Draft => &["edit", "publish", "withdraw"],
        Status::InProgress => &["edit", "complete", "withdraw"],
        Status::Completed => &["deliver"],
        Status::Delivered => &["hearing", "response", "escalate", "close (once the answer is overdue)"],
        Status::Answered => &["implementation", "escalate", "close"],
        Status::Closed | Status::Withdrawn => &[],
    }
}

/// A body's answer to one recommendation.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Answer {
    pub decision: Decision,
    pub reasoning: String,
    pub measures: Option<String>,
    pub implement_by: Option<NaiveDate>,
}

/// A hearing to offer.
#[derive(Debug, Clone, serde::Serialize)]
pub struct NewHearing {
    pub starts_at: DateTime<Utc>,
    pub place: Option<String>,
    pub link: Option<String>,
}

fn illegal(row: &finding::Model, step: &str) -> DomainError {
    let allowed = steps_from(row.status);
    let next = if allowed.is_empty() { "none: it is final".to_owned() } else { allowed.join(", ") };
    DomainError::IllegalStep {
        detail: format!(
            "finding {} is {}: `{step}` is not a step from there; the steps from {} are: {next}",
            row.id,
            row.status.as_str(),
            row.status.as_str()
        ),
        state: row.status.as_str().to_owned(),
        allowed: allowed.iter().map(|s| (*s).to_owned()).collect(),
    }
}

fn forbidden_unless(allowed: bool, why: &str) -> Result<(), DomainError> {
    if allowed { Ok(()) } else { Err(DomainError::Forbidden(why.to_owned())) }
}

fn text(field: &str, value: &str, max: usize) -> Result<String, DomainError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(DomainError::invalid(field, "must not be empty"));
    }
    if value.chars().count() > max {
        return Err(DomainError::invalid(field, format!("must be at most {max} characters")));
    }
    if value.chars().any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t') {
        return Err(DomainError::invalid(field, "must not contain control characters"));
    }
    Ok(value.to_owned())
}

fn localized(field: &str, name: &LocalizedName, max: usize) -> Result<LocalizedName, DomainError> {
    let part = |lang: &str, value: &Option<String>| {
        value.as_deref().map(|v| text(&format!("{field}.{lang}"), v, max)).transpose()
    };
    Ok(LocalizedName { ru: part("ru", &name.ru)?, kk: part("kk", &name.kk)?, en: part("en", &name.en)? })
}

fn texts(field: &str, values: &[String], max_items: usize, max: usize) -> Result<Vec<String>, DomainError> {
    if values.len() > max_items {
        return Err(DomainError::invalid(field, format!("at most {max_items} items")));
    }
    values.iter().enumerate().map(|(i, v)| text(&format!("{field}[{i}]"), v, max)).collect()
}

fn period(from: Option<NaiveDate>, to: Option<NaiveDate>) -> Result<(), DomainError> {
    for (field, date) in [("period_from", from), ("period_to", to)] {
        if let Some(date) = date {
            let year = chrono::Datelike::year(&date);
            if !(1991..=2100).contains(&year) {
                return Err(DomainError::invalid(field, "must be a day between 1991 and 2100"));
            }
        }
    }
    if let (Some(from), Some(to)) = (from, to)
        && from > to
    {
        return Err(DomainError::invalid("period_to", format!("must not be before period_from ({from})")));
    }
    Ok(())
}

/// Checks each linked record exists and belongs to the target.
async fn check_links(db: &impl ConnectionTrait, target: i64, links: &[LinkRef]) -> Result<Vec<LinkRef>, DomainError> {
    if links.len() > MAX_LINKS {
        return Err(DomainError::invalid("links", format!("at most {MAX_LINKS} links")));
    }
    let mut seen = std::collections::BTreeSet::new();
    for (index, link) in links.iter().enumerate() {
        let field = format!("links[{index}].record_id");
        let owner = match link.record_type {
            RecordType::Tender => tender::Entity::find_by_id(link.record_id).one(db).await?.map(|r| r.buyer_id),
            RecordType::Contract => contract::Entity::find_by_id(link.record_id).one(db).await?.map(|r| r.buyer_id),
            RecordType::Payment => payment::Entity::find_by_id(link.record_id).one(db).await?.map(|r| r.payer_id),
            RecordType::Decision => {
                decision::Entity::find_by_id(link.record_id).one(db).await?.map(|r| r.organization_id)
            }
        };
        let kind = link.record_type.as_str();
        match owner {
            None => return Err(DomainError::invalid(&field, format!("{kind} {} does not exist", link.record_id))),
            Some(owner) if owner != target => {
                return Err(DomainError::invalid(
                    &field,
                    format!(
                        "{kind} {} belongs to organization {owner}, not to the target organization {target}",
                        link.record_id
                    ),
                ));
            }
            Some(_) => {}
        }
        seen.insert(*link);
    }
    Ok(seen.into_iter().collect())
}

async fn target_organization(db: &impl ConnectionTrait, id: i64) -> Result<organization::Model, DomainError> {
    let org = organization::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| DomainError::invalid("target_organization_id", format!("organization {id} does not exist")))?;
    if !matches!(org.kind, OrganizationKind::StateBody | OrganizationKind::QuasiPublic) {
        return Err(DomainError::invalid(
            "target_organization_id",
            format!(
                "organization {id} is not a state body or quasi-public entity; public control scrutinises only those"
            ),
        ));
    }
    Ok(org)
}

/// The finding as the audit log keeps it: its content and dates, without personal data
/// (the filer is an account id).
///
/// The texts (title, summary, facts, recommendations, answers' reasoning and measures,
/// implementation reports, hearing places) enter the log only as the SHA-256 of their JSON,
/// `content_sha256`: the public log must not show what a draft or a hidden finding says, nor
/// keep text a citizen wrote after it is gone. The structure (states, dates, decisions,
/// links, who) stays readable.
fn snapshot(view: &FindingView, filer_account_id: i64) -> Value {
    let mut value = serde_json::to_value(view).unwrap_or(Value::Null);
    let mut texts = serde_json::Map::new();
    if let Some(object) = value.as_object_mut() {
        object.remove("filer");
        object.remove("overdue");
        for field in ["title", "summary", "facts"] {
            texts.insert(field.to_owned(), object.remove(field).unwrap_or(Value::Null));
        }
        let mut strip = |list: &str, fields: &[&str]| {
            let mut removed = Vec::new();
            if let Some(items) = object.get_mut(list).and_then(Value::as_array_mut) {
                for item in items {
                    let mut taken = serde_json::Map::new();
                    strip_fields(item, fields, &mut taken);
                    removed.push(Value::Object(taken));
                }
            }
            texts.insert(list.to_owned(), Value::Array(removed));
        };
        strip(
            "recommendations",
            &[
                "text",
                "response.reasoning",
                "response.measures",
                "escalation_response.reasoning",
                "escalation_response.measures",
                "implementation.report",
                "implementation.reason",
            ],
        );
        strip("hearings", &["place", "link"]);
        object.insert("filer_account_id".into(), json!(filer_account_id));
        let digest = sha2::Sha256::digest(serde_json::to_vec(&texts).unwrap_or_default());
        object.insert("content_sha256".into(), json!(crate::writes::hex(&digest)));
    }
    value
}

/// Moves `fields` (`a` or `a.b`) out of `item` into `taken`.
fn strip_fields(item: &mut Value, fields: &[&str], taken: &mut serde_json::Map<String, Value>) {
    for field in fields {
        let (parent, leaf) = match field.split_once('.') {
            Some((parent, leaf)) => (Some(parent), leaf),
            None => (None, *field),
        };
        let holder = match parent {
            Some(parent) => item.get_mut(parent),
            None => Some(&mut *item),
        };
        if let Some(value) = holder.and_then(Value::as_object_mut).and_then(|object| object.remove(leaf)) {
            taken.insert((*field).to_owned(), value);
        }
    }
}

/// The accounts that answer for an organization: its enabled body officers.
pub(crate) async fn officers_of(db: &impl ConnectionTrait, organization_id: i64) -> Result<Vec<i64>, DomainError> {
    use sea_orm::{QuerySelect, QueryTrait};
    let officers = account_role::Entity::find()
        .select_only()
        .column(account_role::Column::AccountId)
        .filter(account_role::Column::Role.eq(Role::BodyOfficer.as_str()))
        .into_query();
    Ok(account::Entity::find()
        .filter(account::Column::OrganizationId.eq(organization_id))
        .filter(account::Column::Id.in_subquery(officers))
        .filter(account::Column::DisabledAt.is_null())
        .filter(account::Column::ErasedAt.is_null())
        .all(db)
        .await?
        .into_iter()
        .map(|a| a.id)
        .collect())
}

/// The accounts that file for a finding: its council's members, or its citizen or non-profit.
pub(crate) async fn filers_of(db: &impl ConnectionTrait, row: &finding::Model) -> Result<Vec<i64>, DomainError> {
    match (row.filer_kind, row.council_id) {
        (FilerKind::Council, Some(council_id)) => Ok(council_member::Entity::find()
            .filter(council_member::Column::CouncilId.eq(council_id))
            .all(db)
            .await?
            .into_iter()
            .map(|m| m.account_id)
            .collect()),
        _ => Ok(vec![row.filer_account_id]),
    }
}

/// The title a message names a finding by.
pub(crate) fn title_of(row: &finding::Model) -> String {
    row.title_ru.clone().or(row.title_kk.clone()).or(row.title_en.clone()).unwrap_or_else(|| format!("№ {}", row.id))
}

pub(crate) fn messages(
    kind: &str,
    recipients: Vec<i64>,
    row: &finding::Model,
    subject: String,
    body: String,
) -> Vec<NewMessage> {
    recipients
        .into_iter()
        .map(|recipient_account_id| NewMessage {
            kind: kind.to_owned(),
            recipient_account_id,
            finding_id: Some(row.id),
            subject: subject.clone(),
            body: body.clone(),
        })
        .collect()
}

impl Findings {
    pub fn new(db: DatabaseConnection, calendar: Arc<Calendar>, clock: Clock) -> Self {
        Findings { db, calendar, clock }
    }

    /// The last day of a term of `working_days` counted from the day after `from`, and the
    /// calendar version it was counted on.
    pub(crate) fn due_after(&self, from: DateTime<Utc>, working_days: u32) -> Result<(NaiveDate, String), DomainError> {
        let today = kazakhstan_date(self.clock.now());
        let version = self.calendar.in_effect(today);
        let deadline = version
            .add_working_days(kazakhstan_date(from), working_days)
            .map_err(|e| DomainError::Unavailable(format!("the working-day calendar cannot count this term: {e}")))?;
        Ok((deadline.due, deadline.version))
    }

    pub(crate) async fn begin(&self) -> Result<Write, DomainError> {
        Write::begin_at(&self.db, self.clock.now()).await
    }

    /// One finding, as this actor may see it (a draft is 404 to anyone but its filers).
    pub async fn get(&self, actor: &Actor, id: i64) -> Result<FindingView, DomainError> {
        let row = self.visible(&self.db, actor, id).await?;
        Ok(views(&self.db, actor, vec![row], self.clock.now()).await?.remove(0))
    }

    pub(crate) async fn visible(
        &self,
        db: &impl ConnectionTrait,
        actor: &Actor,
        id: i64,
    ) -> Result<finding::Model, DomainError> {
        finding::Entity::find_by_id(id)
            .one(db)
            .await?
            .filter(|row| may_see(actor, row))
            .ok_or_else(|| DomainError::NotFound(format!("finding {id}")))
    }

    async fn view_in(
        &self,
        write: &Write,
        actor: &Actor,
        id: i64,
    ) -> Result<(finding::Model, FindingView), DomainError> {
        let row = finding::Entity::find_by_id(id)
            .one(write.txn())
            .await?
            .ok_or_else(|| DomainError::NotFound(format!("finding {id}")))?;
        let view = views(write.txn(), actor, vec![row.clone()], write.now()).await?.remove(0);
        Ok((row, view))
    }

    /// Files a draft. A council member files for a council they sit on; a citizen or
    /// non-profit files in its own name.
    pub async fn file(
        &self,
        actor: &Actor,
        new: NewFinding,
        key: Option<&IdempotencyKey>,
    ) -> Result<FindingView, DomainError> {
        let Actor::Account(principal) = actor else {
            return Err(DomainError::Forbidden("findings are filed from an account".into()));
        };
        let filer_kind = match new.council_id {
            Some(council_id) => {
                forbidden_unless(
                    principal.has(Role::CouncilMember) && principal.councils.contains(&council_id),
                    &format!("only members of council {council_id} file findings for it"),
                )?;
                FilerKind::Council
            }
            None if principal.has(Role::Ngo) => FilerKind::Ngo,
            None if principal.has(Role::Citizen) => FilerKind::Citizen,
            None => {
                return Err(DomainError::Forbidden(
                    "findings are filed by citizens, non-profits, or council members for their council (give council_id)"
                        .into(),
                ));
            }
        };
        let mut write = self.begin().await?;
        if let Some(replayed) = write.replay(actor, "createFinding", key).await? {
            return Ok(replayed);
        }
        let view = self.insert(&mut write, actor, principal.account_id, filer_kind, new, None).await?;
        write.remember(actor, "createFinding", key, &view).await?;
        write.commit().await?;
        Ok(view)
    }

    /// Inserts a draft inside `write` (filing, or accepting a request for public control).
    pub(crate) async fn insert(
        &self,
        write: &mut Write,
        actor: &Actor,
        filer_account_id: i64,
        filer_kind: FilerKind,
        new: NewFinding,
        request_id: Option<i64>,
    ) -> Result<FindingView, DomainError> {
        let txn = write.txn();
        if let Some(council_id) = new.council_id
            && council::Entity::find_by_id(council_id).one(txn).await?.is_none()
        {
            return Err(DomainError::invalid("council_id", format!("council {council_id} does not exist")));
        }
        let mut new = new;
        if let Some(flag_id) = new.red_flag_id {
            from_red_flag(txn, flag_id, &mut new).await?;
        }
        let target_id = new.target_organization_id.ok_or_else(|| {
            DomainError::invalid(
                "target_organization_id",
                "is needed: the organization scrutinised (or give from_red_flag)",
            )
        })?;
        let target = target_organization(txn, target_id).await?;
        let title = localized("title", &new.title, MAX_TITLE_CHARS)?;
        let summary = localized("summary", &new.summary, MAX_TEXT_CHARS)?;
        period(new.period_from, new.period_to)?;
        let facts = texts("facts", &new.facts, MAX_FACTS, MAX_TEXT_CHARS)?;
        let recommendations = texts("recommendations", &new.recommendations, MAX_RECOMMENDATIONS, MAX_TEXT_CHARS)?;
        let links = check_links(txn, target.id, &new.links).await?;
        let now = write.now();
        let row = finding::ActiveModel {
            status: Set(Status::Draft),
            filer_kind: Set(filer_kind),
            council_id: Set(new.council_id),
            filer_account_id: Set(filer_account_id),
            target_organization_id: Set(target.id),
            form: Set(new.form.unwrap_or(Form::Monitoring)),
            reason: Set(new.reason.unwrap_or(if request_id.is_some() { Reason::CitizenRequest } else { Reason::Plan })),
            title_ru: Set(title.ru),
            title_kk: Set(title.kk),
            title_en: Set(title.en),
            summary_ru: Set(summary.ru),
            summary_kk: Set(summary.kk),
            summary_en: Set(summary.en),
            period_from: Set(new.period_from),
            period_to: Set(new.period_to),
            facts: Set(serde_json::to_string(&facts).expect("texts serialise")),
            request_id: Set(request_id),
            red_flag_id: Set(new.red_flag_id),
            created_at: Set(now),
            updated_at: Set(now),
            version: Set(1),
            ..Default::default()
        }
        .insert(txn)
        .await?;
        replace_content(txn, row.id, Some(&links), Some(&recommendations)).await?;
        let (_, view) = self.view_in(write, actor, row.id).await?;
        write.record(actor, "finding.file", "finding", row.id, None, Some(snapshot(&view, filer_account_id))).await?;
        Ok(view)
    }

    /// Edits a draft or in-progress finding, at the version the caller read.
    pub async fn update(
        &self,
        actor: &Actor,
        id: i64,
        expected_version: Option<i64>,
        changes: FindingChanges,
    ) -> Result<FindingView, DomainError> {
        let mut write = self.begin().await?;
        let row = self.visible(write.txn(), actor, id).await?;
        forbidden_unless(is_filer(actor, &row) || actor.is_admin(), "only the finding's filers edit it")?;
        if !matches!(row.status, Status::Draft | Status::InProgress) {
            let mut refused = illegal(&row, "edit");
            if let DomainError::IllegalStep { detail, .. } = &mut refused {
                *detail = format!("{detail} (the content was fixed when the finding was completed)");
            }
            return Err(refused);
        }
        if let Some(expected) = expected_version
            && expected != row.version
        {
            return Err(DomainError::Stale(format!("finding {id} is at version {}, not {expected}", row.version)));
        }
        let (_, before) = self.view_in(&write, actor, id).await?;
        let txn = write.txn();
        let period_from = changes.period_from.unwrap_or(row.period_from);
        let period_to = changes.period_to.unwrap_or(row.period_to);
        period(period_from, period_to)?;
        let links = match &changes.links {
            Some(links) => Some(check_links(txn, row.target_organization_id, links).await?),
            None => None,
        };
        let recommendations = changes
            .recommendations
            .as_ref()
            .map(|r| texts("recommendations", r, MAX_RECOMMENDATIONS, MAX_TEXT_CHARS))
            .transpose()?;
        let facts = changes.facts.as_ref().map(|f| texts("facts", f, MAX_FACTS, MAX_TEXT_CHARS)).transpose()?;
        let filer_account_id = row.filer_account_id;
        let version = row.version;
        let mut active = row.into_active_model();
        if let Some(form) = changes.form {
            active.form = Set(form);
        }
        if let Some(reason) = changes.reason {
            active.reason = Set(reason);
        }
        if let Some(title) = &changes.title {
            let title = localized("title", title, MAX_TITLE_CHARS)?;
            active.title_ru = Set(title.ru);
            active.title_kk = Set(title.kk);
            active.title_en = Set(title.en);
        }
        if let Some(summary) = &changes.summary {
            let summary = localized("summary", summary, MAX_TEXT_CHARS)?;
            active.summary_ru = Set(summary.ru);
            active.summary_kk = Set(summary.kk);
            active.summary_en = Set(summary.en);
        }
        active.period_from = Set(period_from);
        active.period_to = Set(period_to);
        if let Some(facts) = facts {
            active.facts = Set(serde_json::to_string(&facts).expect("texts serialise"));
        }
        active.updated_at = Set(write.now());
        active.version = Set(version + 1);
        active.update(txn).await?;
        replace_content(txn, id, links.as_deref(), recommendations.as_deref()).await?;
        let (_, after) = self.view_in(&write, actor, id).await?;
        write
            .record(
                actor,
                "finding.edit",
                "finding",
                id,
                Some(snapshot(&before, filer_account_id)),
                Some(snapshot(&after, filer_account_id)),
            )
            .await?;
        write.commit().await?;
        Ok(after)
    }

    /// Publish, complete, deliver, close, withdraw or escalate.
    pub async fn step(&self, actor: &Actor, id: i64, step: Step) -> Result<FindingView, DomainError> {
        let mut write = self.begin().await?;
        let row = self.visible(write.txn(), actor, id).await?;
        forbidden_unless(is_filer(actor, &row), &format!("only the finding's filers may {}", step.as_str()))?;
        let (_, before) = self.view_in(&write, actor, id).await?;
        let now = write.now();
        let time = timeliness(&row, now);
        let mut active = row.clone().into_active_model();
        let mut outbox = Vec::new();
        let action = match (step, row.status) {
            (Step::Publish, Status::Draft) => {
                if row.title_ru.is_none() && row.title_kk.is_none() && row.title_en.is_none() {
                    return Err(DomainError::invalid(
                        "title",
                        "a finding needs a title in some language to be published",
                    ));
                }
                active.status = Set(Status::InProgress);
                active.published_at = Set(Some(now));
                "finding.publish"
            }
            (Step::Complete, Status::InProgress) => {
                let count = recommendation::Entity::find()
                    .filter(recommendation::Column::FindingId.eq(id))
                    .count(write.txn())
                    .await?;
                if count == 0 {
                    return Err(DomainError::invalid(
                        "recommendations",
                        "the final document needs at least one recommendation",
                    ));
                }
                let (deliver_by, version) = self.due_after(now, DELIVER_WITHIN)?;
                active.status = Set(Status::Completed);
                active.completed_at = Set(Some(now));
                active.deliver_by = Set(Some(deliver_by));
                active.calendar_version = Set(Some(version));
                "finding.complete"
            }
            (Step::Deliver, Status::Completed) => {
                let (answer_due, version) = self.due_after(now, ANSWER_WITHIN)?;
                active.status = Set(Status::Delivered);
                active.delivered_at = Set(Some(now));
                active.answer_due = Set(Some(answer_due));
                active.calendar_version = Set(Some(version));
                outbox = messages(
                    "finding.delivered",
                    officers_of(write.txn(), row.target_organization_id).await?,
                    &row,
                    format!("Итоговый документ общественного контроля: {}", title_of(&row)),
                    format!(
                        "Your organization has received the final document of public control \"{}\" (finding {}). \
                         A reasoned answer to each recommendation is due by {answer_due} (10 working days, \
                         Law No. 30-VIII, Art. 13). A decline needs a hearing announced 3 working days before it.",
                        title_of(&row),
                        row.id
                    ),
                );
                "finding.deliver"
            }
            (Step::Close, Status::Answered) => {
                active.status = Set(Status::Closed);
                active.closed_at = Set(Some(now));
                "finding.close"
            }
            (Step::Close, Status::Delivered) if time.overdue => {
                active.status = Set(Status::Closed);
                active.closed_at = Set(Some(now));
                "finding.close"
            }
            (Step::Withdraw, Status::Draft | Status::InProgress) => {
                active.status = Set(Status::Withdrawn);
                active.withdrawn_at = Set(Some(now));
                "finding.withdraw"
            }
            (Step::Escalate, Status::Delivered | Status::Answered) => {
                if row.escalated_at.is_some() {
                    return Err(DomainError::Conflict(format!(
                        "finding {id} was escalated already; escalation is once"
                    )));
                }
                let declined = response::Entity::find()
                    .filter(response::Column::FindingId.eq(id))
                    .filter(response::Column::Level.eq(Level::Target))
                    .filter(response::Column::Decision.eq(Decision::Declined))
                    .count(write.txn())
                    .await?
                    > 0;
                let late = time.answered_on_time == Some(false);
                if !declined && !late {
                    return Err(DomainError::Conflict(format!(
                        "finding {id} can be escalated when its answer is late or declines a recommendation; \
                         the answer is due by {}",
                        row.answer_due.map(|d| d.to_string()).unwrap_or_default()
                    )));
                }
                let target = organization::Entity::find_by_id(row.target_organization_id)
                    .one(write.txn())
                    .await?
                    .ok_or_else(|| DomainError::Inconsistent(format!("finding {id} has no target")))?;
                let parent = target.parent_id.ok_or_else(|| {
                    DomainError::Conflict(format!(
                        "organization {} has no parent body on record to escalate to",
                        target.id
                    ))
                })?;
                let (due, version) = self.due_after(now, ESCALATION_ANSWER_WITHIN)?;
                active.escalated_at = Set(Some(now));
                active.escalated_to_organization_id = Set(Some(parent));
                active.escalation_due = Set(Some(due));
                active.calendar_version = Set(Some(version));
                outbox = messages(
                    "finding.escalated",
                    officers_of(write.txn(), parent).await?,
                    &row,
                    format!("Эскалация общественного контроля: {}", title_of(&row)),
                    format!(
                        "The filers of finding {} (\"{}\") escalated it to your organization, the parent body of \
                         organization {}. Your answer to each recommendation is due by {due} (10 working days).",
                        row.id,
                        title_of(&row),
                        target.id
                    ),
                );
                "finding.escalate"
            }
            _ => return Err(illegal(&row, step.as_str())),
        };
        active.updated_at = Set(now);
        active.version = Set(row.version + 1);
        active.update(write.txn()).await?;
        notifications::enqueue(write.txn(), now, outbox).await?;
        let (_, after) = self.view_in(&write, actor, id).await?;
        write
            .record(
                actor,
                action,
                "finding",
                id,
                Some(snapshot(&before, row.filer_account_id)),
                Some(snapshot(&after, row.filer_account_id)),
            )
            .await?;
        write.commit().await?;
        Ok(after)
    }

    /// Which level the actor answers at, if any: the target's officers, or after an
    /// escalation the parent body's.
    fn level_of(actor: &Actor, row: &finding::Model) -> Option<(Level, i64)> {
        if let Some(parent) = row.escalated_to_organization_id
            && is_officer_of(actor, parent)
            && !matches!(actor, Actor::System(_))
        {
            return Some((Level::Escalation, parent));
        }
        is_officer_of(actor, row.target_organization_id).then_some((Level::Target, row.target_organization_id))
    }

    /// A body's answer to recommendation `number`.
    pub async fn answer(
        &self,
        actor: &Actor,
        id: i64,
        number: i32,
        answer: Answer,
    ) -> Result<FindingView, DomainError> {
        let mut write = self.begin().await?;
        let row = self.visible(write.txn(), actor, id).await?;
        let (level, organization_id) = Self::level_of(actor, &row).ok_or_else(|| {
            DomainError::Forbidden(
                "only officers of the scrutinised body (or, after an escalation, of its parent) answer".into(),
            )
        })?;
        let open = match level {
            Level::Target => row.status == Status::Delivered,
            Level::Escalation => {
                matches!(row.status, Status::Delivered | Status::Answered) && row.escalation_answered_at.is_none()
            }
        };
        if !open {
            return Err(illegal(&row, "response"));
        }
        let txn = write.txn();
        let total = recommendation::Entity::find().filter(recommendation::Column::FindingId.eq(id)).count(txn).await?;
        if number < 1 || number as u64 > total {
            return Err(DomainError::NotFound(format!("recommendation {number} of finding {id}")));
        }
        let exists = response::Entity::find()
            .filter(response::Column::FindingId.eq(id))
            .filter(response::Column::Number.eq(number))
            .filter(response::Column::Level.eq(level))
            .count(txn)
            .await?
            > 0;
        if exists {
            return Err(DomainError::Conflict(format!(
                "recommendation {number} of finding {id} has its answer already"
            )));
        }
        let reasoning = text("reasoning", &answer.reasoning, MAX_TEXT_CHARS)?;
        let measures = answer.measures.as_deref().map(|m| text("measures", m, MAX_TEXT_CHARS)).transpose()?;
        let now = write.now();
        if answer.decision.accepts() {
            if measures.is_none() {
                return Err(DomainError::invalid("measures", "an acceptance says what the body will do"));
            }
            match answer.implement_by {
                None => return Err(DomainError::invalid("implement_by", "an acceptance says by when")),
                Some(date) if date < kazakhstan_date(now) => {
                    return Err(DomainError::invalid("implement_by", "must not be in the past"));
                }
                Some(date) if chrono::Datelike::year(&date) > 2100 => {
                    return Err(DomainError::invalid("implement_by", "must be a day before 2101"));
                }
                Some(_) => {}
            }
        } else {
            self.check_hearing_before_decline(txn, &row, organization_id, now).await?;
        }
        let (_, before) = self.view_in(&write, actor, id).await?;
        let txn = write.txn();
        response::ActiveModel {
            finding_id: Set(id),
            number: Set(number),
            level: Set(level),
            organization_id: Set(organization_id),
            account_id: Set(actor.account_id().unwrap_or_default()),
            decision: Set(answer.decision),
            reasoning: Set(reasoning),
            measures: Set(if answer.decision.accepts() { measures } else { None }),
            implement_by: Set(if answer.decision.accepts() { answer.implement_by } else { None }),
            answered_at: Set(now),
            ..Default::default()
        }
        .insert(txn)
        .await?;
        let answered = response::Entity::find()
            .filter(response::Column::FindingId.eq(id))
            .filter(response::Column::Level.eq(level))
            .count(txn)
            .await?;
        let mut active = row.clone().into_active_model();
        if answered == total {
            match level {
                Level::Target => {
                    active.status = Set(Status::Answered);
                    active.answered_at = Set(Some(now));
                }
                Level::Escalation => active.escalation_answered_at = Set(Some(now)),
            }
        }
        active.updated_at = Set(now);
        active.version = Set(row.version + 1);
        active.update(txn).await?;
        let outbox = messages(
            "recommendation.answered",
            filers_of(txn, &row).await?,
            &row,
            format!("Ответ на рекомендацию {number}: {}", title_of(&row)),
            format!(
                "Organization {organization_id} answered recommendation {number} of finding {id} (\"{}\"): {}.",
                title_of(&row),
                serde_json::to_value(answer.decision)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default()
            ),
        );
        notifications::enqueue(txn, now, outbox).await?;
        let (_, after) = self.view_in(&write, actor, id).await?;
        write
            .record(
                actor,
                "finding.answer",
                "finding",
                id,
                Some(snapshot(&before, row.filer_account_id)),
                Some(snapshot(&after, row.filer_account_id)),
            )
            .await?;
        write.commit().await?;
        Ok(after)
    }

    /// A decline needs a hearing this body announced at least [`HEARING_NOTICE`] working
    /// days before it.
    async fn check_hearing_before_decline(
        &self,
        db: &impl ConnectionTrait,
        row: &finding::Model,
        organization_id: i64,
        now: DateTime<Utc>,
    ) -> Result<(), DomainError> {
        let first = hearing::Entity::find()
            .filter(hearing::Column::FindingId.eq(row.id))
            .filter(hearing::Column::OrganizationId.eq(organization_id))
            .order_by_asc(hearing::Column::AnnouncedAt)
            .one(db)
            .await?;
        let Some(first) = first else {
            return Err(DomainError::invalid(
                "decision",
                format!(
                    "a decline needs a hearing first: offer one (POST /v1/findings/{}/hearings) and decline no \
                     sooner than {HEARING_NOTICE} working days after announcing it",
                    row.id
                ),
            ));
        };
        let (allowed_from, _) = self.due_after(first.announced_at, HEARING_NOTICE)?;
        if kazakhstan_date(now) < allowed_from {
            return Err(DomainError::invalid(
                "decision",
                format!(
                    "the hearing was announced on {}; a decline may come from {allowed_from} on, \
                     {HEARING_NOTICE} working days after the announcement",
                    kazakhstan_date(first.announced_at)
                ),
            ));
        }
        Ok(())
    }

    /// A body offers the filers a hearing before deciding.
    pub async fn offer_hearing(
        &self,
        actor: &Actor,
        id: i64,
        new: NewHearing,
        key: Option<&IdempotencyKey>,
    ) -> Result<FindingView, DomainError> {
        let mut write = self.begin().await?;
        if let Some(replayed) = write.replay(actor, "offerHearing", key).await? {
            return Ok(replayed);
        }
        let row = self.visible(write.txn(), actor, id).await?;
        let (level, organization_id) = Self::level_of(actor, &row)
            .ok_or_else(|| DomainError::Forbidden("only officers of the body that answers offer hearings".into()))?;
        let open = match level {
            Level::Target => row.status == Status::Delivered,
            Level::Escalation => row.escalation_answered_at.is_none() && row.status != Status::Closed,
        };
        if !open {
            return Err(illegal(&row, "hearing"));
        }
        let offered = hearing::Entity::find().filter(hearing::Column::FindingId.eq(id)).count(write.txn()).await?;
        if offered >= MAX_HEARINGS {
            return Err(DomainError::invalid("starts_at", format!("a finding takes at most {MAX_HEARINGS} hearings")));
        }
        let now = write.now();
        if new.starts_at <= now {
            return Err(DomainError::invalid("starts_at", "must be in the future"));
        }
        if chrono::Datelike::year(&new.starts_at) > 2100 {
            return Err(DomainError::invalid("starts_at", "must be before 2101"));
        }
        let place = new.place.as_deref().map(|p| text("place", p, 500)).transpose()?;
        let link = new.link.as_deref().map(|l| text("link", l, 2_000)).transpose()?;
        if let Some(link) = &link
            && (!(link.starts_with("https://") || link.starts_with("http://")) || link.contains(char::is_whitespace))
        {
            return Err(DomainError::invalid("link", "must be an http or https URL"));
        }
        if place.is_none() && link.is_none() {
            return Err(DomainError::invalid("place", "a hearing needs a place or a link"));
        }
        let (_, before) = self.view_in(&write, actor, id).await?;
        let txn = write.txn();
        hearing::ActiveModel {
            finding_id: Set(id),
            organization_id: Set(organization_id),
            account_id: Set(actor.account_id().unwrap_or_default()),
            starts_at: Set(new.starts_at),
            place: Set(place.clone()),
            link: Set(link.clone()),
            announced_at: Set(now),
            ..Default::default()
        }
        .insert(txn)
        .await?;
        let mut active = row.clone().into_active_model();
        active.updated_at = Set(now);
        active.version = Set(row.version + 1);
        active.update(txn).await?;
        let where_ = place.or(link).unwrap_or_default();
        let outbox = messages(
            "hearing.offered",
            filers_of(txn, &row).await?,
            &row,
            format!("Слушание по итоговому документу: {}", title_of(&row)),
            format!(
                "Organization {organization_id} invites you to a hearing on finding {id} (\"{}\") at {} UTC, {where_}.",
                title_of(&row),
                new.starts_at.format("%Y-%m-%d %H:%M")
            ),
        );
        notifications::enqueue(txn, now, outbox).await?;
        let (_, after) = self.view_in(&write, actor, id).await?;
        write
            .record(
                actor,
                "finding.hearing",
                "finding",
                id,
                Some(snapshot(&before, row.filer_account_id)),
                Some(snapshot(&after, row.filer_account_id)),
            )
            .await?;
        write.remember(actor, "offerHearing", key, &after).await?;
        write.commit().await?;
        Ok(after)
    }

    /// The body reports what it did about an accepted recommendation.
    pub async fn report_implementation(
        &self,
        actor: &Actor,
        id: i64,
        number: i32,
        report: String,
    ) -> Result<FindingView, DomainError> {
        self.follow_up(actor, id, number, FollowUp::Report(report)).await
    }

    /// The filers judge the body's report.
    pub async fn assess_implementation(
        &self,
        actor: &Actor,
        id: i64,
        number: i32,
        result: ImplementationResult,
        reason: String,
    ) -> Result<FindingView, DomainError> {
        self.follow_up(actor, id, number, FollowUp::Assess(result, reason)).await
    }

    async fn follow_up(
        &self,
        actor: &Actor,
        id: i64,
        number: i32,
        follow_up: FollowUp,
    ) -> Result<FindingView, DomainError> {
        let mut write = self.begin().await?;
        let row = self.visible(write.txn(), actor, id).await?;
        let step = match follow_up {
            FollowUp::Report(_) => "implementation",
            FollowUp::Assess(..) => "implementation assessment",
        };
        let reporter = Self::level_of(actor, &row);
        match &follow_up {
            FollowUp::Report(_) => forbidden_unless(
                reporter.is_some(),
                "only officers of the body that answered report on implementation",
            )?,
            FollowUp::Assess(..) => forbidden_unless(is_filer(actor, &row), "only the finding's filers assess it")?,
        }
        if !matches!(row.status, Status::Delivered | Status::Answered) {
            return Err(illegal(&row, step));
        }
        let txn = write.txn();
        let rec = recommendation::Entity::find_by_id((id, number))
            .one(txn)
            .await?
            .ok_or_else(|| DomainError::NotFound(format!("recommendation {number} of finding {id}")))?;
        // The body reports on what it accepted itself; the filers judge any acceptance.
        let accepted = response::Entity::find()
            .filter(response::Column::FindingId.eq(id))
            .filter(response::Column::Number.eq(number))
            .all(txn)
            .await?
            .iter()
            .any(|r| {
                r.decision.accepts()
                    && match (&follow_up, reporter) {
                        (FollowUp::Report(_), Some((level, _))) => r.level == level,
                        _ => true,
                    }
            });
        if !accepted {
            return Err(DomainError::Conflict(format!(
                "recommendation {number} of finding {id} was not accepted: only accepted ones are followed up"
            )));
        }
        let (_, before) = self.view_in(&write, actor, id).await?;
        let now = write.now();
        let txn = write.txn();
        let mut active = rec.clone().into_active_model();
        match follow_up {
            FollowUp::Report(report) => {
                if rec.implementation_assessed_at.is_some() {
                    return Err(DomainError::Conflict(format!(
                        "the filers have judged the report on recommendation {number} already"
                    )));
                }
                active.implementation_report = Set(Some(text("report", &report, MAX_TEXT_CHARS)?));
                active.implementation_reported_at = Set(Some(now));
            }
            FollowUp::Assess(result, reason) => {
                if rec.implementation_reported_at.is_none() && result == ImplementationResult::Implemented {
                    return Err(DomainError::Conflict(format!(
                        "the body has not reported on recommendation {number} yet"
                    )));
                }
                active.implementation_result = Set(Some(result));
                active.implementation_reason = Set(Some(text("reason", &reason, MAX_TEXT_CHARS)?));
                active.implementation_assessed_at = Set(Some(now));
            }
        }
        active.update(txn).await?;
        let mut finding = row.clone().into_active_model();
        finding.updated_at = Set(now);
        finding.version = Set(row.version + 1);
        finding.update(txn).await?;
        let (_, after) = self.view_in(&write, actor, id).await?;
        let action =
            if step == "implementation" { "finding.implementation_report" } else { "finding.implementation_assess" };
        write
            .record(
                actor,
                action,
                "finding",
                id,
                Some(snapshot(&before, row.filer_account_id)),
                Some(snapshot(&after, row.filer_account_id)),
            )
            .await?;
        write.commit().await?;
        Ok(after)
    }

    /// A moderator hides a finding's content (`hide`) or shows it again (`None`).
    pub async fn moderate(&self, actor: &Actor, id: i64, hide: Option<String>) -> Result<FindingView, DomainError> {
        forbidden_unless(actor.has(Role::Moderator) || actor.is_admin(), "only moderators hide findings")?;
        let mut write = self.begin().await?;
        let row = self.visible(write.txn(), actor, id).await?;
        let answers_for = !matches!(actor, Actor::System(_))
            && (is_officer_of(actor, row.target_organization_id)
                || row.escalated_to_organization_id.is_some_and(|parent| is_officer_of(actor, parent)));
        forbidden_unless(!answers_for, "the scrutinised body's own accounts never hide its findings")?;
        if row.published_at.is_none() {
            return Err(DomainError::Conflict(format!(
                "finding {id} was never published: only published findings are moderated"
            )));
        }
        let reason = hide.as_deref().map(|r| text("reason", r, 2_000)).transpose()?;
        if reason.is_none() && row.hidden_at.is_none() {
            return Err(DomainError::Conflict(format!("finding {id} is not hidden")));
        }
        let (_, before) = self.view_in(&write, actor, id).await?;
        let now = write.now();
        let mut active = row.clone().into_active_model();
        active.hidden_at = Set(reason.as_ref().map(|_| now));
        active.hidden_reason = Set(reason.clone());
        active.updated_at = Set(now);
        active.version = Set(row.version + 1);
        active.update(write.txn()).await?;
        let (_, after) = self.view_in(&write, actor, id).await?;
        let action = if reason.is_some() { "finding.hide" } else { "finding.unhide" };
        write
            .record(
                actor,
                action,
                "finding",
                id,
                Some(snapshot(&before, row.filer_account_id)),
                Some(snapshot(&after, row.filer_account_id)),
            )
            .await?;
        write.commit().await?;
        Ok(after)
    }
}

enum FollowUp {
    Report(String),
    Assess(ImplementationResult, String),
}

/// Replaces a finding's links and recommendations (each when given).
async fn replace_content(
    txn: &impl ConnectionTrait,
    id: i64,
    links: Option<&[LinkRef]>,
    recommendations: Option<&[String]>,
) -> Result<(), DomainError> {
    if let Some(links) = links {
        finding_link::Entity::delete_many().filter(finding_link::Column::FindingId.eq(id)).exec(txn).await?;
        for link in links {
            finding_link::ActiveModel {
                finding_id: Set(id),
                record_type: Set(link.record_type.as_str().to_owned()),
                record_id: Set(link.record_id),
            }
            .insert(txn)
            .await?;
        }
    }
    if let Some(recommendations) = recommendations {
        recommendation::Entity::delete_many().filter(recommendation::Column::FindingId.eq(id)).exec(txn).await?;
        for (index, text) in recommendations.iter().enumerate() {
            recommendation::ActiveModel {
                finding_id: Set(id),
                number: Set(index as i32 + 1),
                text: Set(text.clone()),
                ..Default::default()
            }
            .insert(txn)
            .await?;
        }
    }
    Ok(())
}

/// Fills a new finding from the red flag it is opened from: the reason `red_flag`, the flag's
/// buyer as the target (a target given must be it), its tender and contract as links, and the
/// flag with its evidence as the first fact.
async fn from_red_flag(txn: &impl ConnectionTrait, flag_id: i64, new: &mut NewFinding) -> Result<(), DomainError> {
    use crate::red_flags::red_flag;
    let field = "from_red_flag";
    let flag = red_flag::Entity::find_by_id(flag_id)
        .one(txn)
        .await?
        .ok_or_else(|| DomainError::invalid(field, format!("red flag {flag_id} does not exist")))?;
    if let Some(cleared) = flag.cleared_at {
        return Err(DomainError::invalid(
            field,
            format!(
                "red flag {flag_id} was cleared on {}: a later computation no longer finds it",
                cleared.date_naive()
            ),
        ));
    }
    match (new.reason, flag.buyer_id, new.target_organization_id) {
        (Some(reason), _, _) if reason != Reason::RedFlag => {
            return Err(DomainError::invalid("reason", "is `red_flag` for a finding opened from a red flag"));
        }
        (_, Some(buyer), Some(target)) if buyer != target => {
            return Err(DomainError::invalid(
                "target_organization_id",
                format!("red flag {flag_id} is about organization {buyer}; leave the target out or name that one"),
            ));
        }
        (_, None, None) => {
            return Err(DomainError::invalid(
                "target_organization_id",
                format!("red flag {flag_id} is about a supplier; name the body scrutinised"),
            ));
        }
        _ => {}
    }
    new.reason = Some(Reason::RedFlag);
    new.target_organization_id = new.target_organization_id.or(flag.buyer_id);
    let flagged = [
        flag.tender_id.map(|id| LinkRef { record_type: RecordType::Tender, record_id: id }),
        flag.contract_id.map(|id| LinkRef { record_type: RecordType::Contract, record_id: id }),
    ];
    for link in flagged.into_iter().flatten() {
        if !new.links.contains(&link) {
            new.links.push(link);
        }
    }
    let subject = flag.ocid.as_deref().unwrap_or(&flag.subject_key);
    new.facts.insert(
        0,
        format!(
            "Красный флаг {} ({} {subject}, {}), значение {}: {}",
            flag.indicator,
            flag.subject_kind.as_str(),
            flag.observed_on,
            flag.value,
            flag.evidence
        ),
    );
    Ok(())
}
