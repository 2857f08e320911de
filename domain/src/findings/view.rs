//! Findings as readers see them: assembled from their rows, with the due dates judged against
//! today, and content masked where a draft is private or a moderator hid it.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::Serialize;

use super::calendar::end_of_day;
use super::tables::{
    Decision, FilerKind, Form, ImplementationResult, Level, Reason, Status, finding, finding_link, hearing,
    recommendation, response,
};
use crate::DomainError;
use crate::accounts::tables::account;
use crate::accounts::{Actor, Role};
use crate::names::LocalizedName;

/// What replaces the content of a finding or comment a moderator hid.
pub const HIDDEN_MARKER: &str = "[hidden by a moderator]";

/// The kinds of record a finding links to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordType {
    Tender,
    Contract,
    Payment,
    Decision,
}

impl RecordType {
    pub const ALL: [RecordType; 4] =
        [RecordType::Tender, RecordType::Contract, RecordType::Payment, RecordType::Decision];

    pub fn as_str(self) -> &'static str {
        match self {
            RecordType::Tender => "tender",
            RecordType::Contract => "contract",
            RecordType::Payment => "payment",
            RecordType::Decision => "decision",
        }
    }

    pub fn parse(text: &str) -> Option<RecordType> {
        RecordType::ALL.into_iter().find(|kind| kind.as_str() == text)
    }
}

/// A linked record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize)]
pub struct LinkRef {
    pub record_type: RecordType,
    pub record_id: i64,
}

/// Who filed a finding, as the public sees them.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct FilerView {
    pub kind: FilerKind,
    pub council_id: Option<i64>,
    /// The name the filer chose to be seen by (for a council, the member who opened it).
    pub display_name: String,
}

/// A body's answer to a recommendation.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct ResponseView {
    pub organization_id: i64,
    pub decision: Decision,
    pub reasoning: String,
    pub measures: Option<String>,
    pub implement_by: Option<NaiveDate>,
    pub answered_at: DateTime<Utc>,
}

/// The follow-up of an accepted recommendation.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct ImplementationView {
    pub report: Option<String>,
    pub reported_at: Option<DateTime<Utc>>,
    pub result: Option<ImplementationResult>,
    pub reason: Option<String>,
    pub assessed_at: Option<DateTime<Utc>>,
}

/// A numbered recommendation with its answers.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct RecommendationView {
    pub number: i32,
    pub text: String,
    /// The scrutinised body's answer.
    pub response: Option<ResponseView>,
    /// The parent body's answer, after an escalation.
    pub escalation_response: Option<ResponseView>,
    pub implementation: Option<ImplementationView>,
}

/// A hearing a body offered.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct HearingView {
    pub id: i64,
    pub organization_id: i64,
    pub starts_at: DateTime<Utc>,
    pub place: Option<String>,
    pub link: Option<String>,
    pub announced_at: DateTime<Utc>,
}

/// An escalation to the target's parent body.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct EscalationView {
    pub organization_id: i64,
    pub escalated_at: DateTime<Utc>,
    pub answer_due: NaiveDate,
    pub answered_at: Option<DateTime<Utc>>,
    pub answered_on_time: Option<bool>,
    pub overdue: bool,
}

/// A moderator's hiding of a finding or comment.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct HiddenView {
    pub at: DateTime<Utc>,
    pub reason: String,
}

/// A finding with everything that hangs off it.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct FindingView {
    pub id: i64,
    pub status: Status,
    pub filer: FilerView,
    pub council_id: Option<i64>,
    pub target_organization_id: i64,
    pub form: Form,
    pub reason: Reason,
    pub title: LocalizedName,
    pub summary: LocalizedName,
    pub period_from: Option<NaiveDate>,
    pub period_to: Option<NaiveDate>,
    pub links: Vec<LinkRef>,
    pub facts: Vec<String>,
    pub recommendations: Vec<RecommendationView>,
    pub hearings: Vec<HearingView>,
    pub request_id: Option<i64>,
    /// The red flag it was opened from.
    pub red_flag_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub published_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub answered_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub withdrawn_at: Option<DateTime<Utc>>,
    /// The last day to deliver the final document (7 working days after completion).
    pub deliver_by: Option<NaiveDate>,
    /// The last day to answer every recommendation (10 working days after delivery).
    pub answer_due: Option<NaiveDate>,
    /// The calendar version the due dates were counted on.
    pub calendar_version: Option<String>,
    /// A due date has passed with its step not taken (judged now, never stored).
    pub overdue: bool,
    pub delivered_on_time: Option<bool>,
    pub answered_on_time: Option<bool>,
    pub escalation: Option<EscalationView>,
    pub hidden: Option<HiddenView>,
    pub version: i64,
}

/// Whether the actor files for this finding: its citizen or non-profit, or a member of its
/// council (the operator counts as everyone).
pub fn is_filer(actor: &Actor, row: &finding::Model) -> bool {
    match actor {
        Actor::System(_) => true,
        Actor::Anonymous => false,
        Actor::Account(principal) => match row.filer_kind {
            FilerKind::Council => {
                row.council_id.is_some_and(|council| principal.councils.contains(&council))
                    && principal.has(Role::CouncilMember)
            }
            FilerKind::Citizen | FilerKind::Ngo => principal.account_id == row.filer_account_id,
        },
    }
}

/// Whether the actor answers for this organization.
pub fn is_officer_of(actor: &Actor, organization_id: i64) -> bool {
    match actor {
        Actor::System(_) => true,
        Actor::Anonymous => false,
        Actor::Account(principal) => {
            principal.has(Role::BodyOfficer) && principal.organization_id == Some(organization_id)
        }
    }
}

/// A finding never published (a draft, or one withdrawn as a draft) is its filers' (and
/// admins'); a published one is public.
pub fn may_see(actor: &Actor, row: &finding::Model) -> bool {
    row.published_at.is_some() || actor.is_admin() || is_filer(actor, row)
}

/// Whether the actor sees a hidden finding's content: its filers, moderators and admins.
fn sees_hidden(actor: &Actor, row: &finding::Model) -> bool {
    actor.is_admin() || actor.has(Role::Moderator) || is_filer(actor, row)
}

/// The derived deadline facts of a finding at `now`.
pub struct Timeliness {
    pub overdue: bool,
    pub delivered_on_time: Option<bool>,
    pub answered_on_time: Option<bool>,
    pub escalation_overdue: bool,
    pub escalation_answered_on_time: Option<bool>,
}

/// On time means done by the end of the due day, Kazakhstan time.
fn on_time(done: Option<DateTime<Utc>>, due: Option<NaiveDate>, now: DateTime<Utc>) -> Option<bool> {
    let due = due?;
    match done {
        Some(done) => Some(done < end_of_day(due)),
        None if now >= end_of_day(due) => Some(false),
        None => None,
    }
}

pub fn timeliness(row: &finding::Model, now: DateTime<Utc>) -> Timeliness {
    let open = !matches!(row.status, Status::Closed | Status::Withdrawn);
    let deliver_late = row.status == Status::Completed && row.deliver_by.is_some_and(|due| now >= end_of_day(due));
    let answer_late = row.status == Status::Delivered && row.answer_due.is_some_and(|due| now >= end_of_day(due));
    let escalation_overdue = open
        && row.escalated_at.is_some()
        && row.escalation_answered_at.is_none()
        && row.escalation_due.is_some_and(|due| now >= end_of_day(due));
    Timeliness {
        overdue: deliver_late || answer_late || escalation_overdue,
        delivered_on_time: if row.status == Status::Withdrawn {
            None
        } else {
            on_time(row.delivered_at, row.deliver_by, now)
        },
        answered_on_time: if row.delivered_at.is_some() { on_time(row.answered_at, row.answer_due, now) } else { None },
        escalation_overdue,
        escalation_answered_on_time: row
            .escalated_at
            .and_then(|_| on_time(row.escalation_answered_at, row.escalation_due, now)),
    }
}

fn facts_of(row: &finding::Model) -> Result<Vec<String>, DomainError> {
    serde_json::from_str(&row.facts).map_err(|e| DomainError::Inconsistent(format!("finding {} facts: {e}", row.id)))
}

/// The views of these findings, as `actor` may see them, in the rows' order; three queries
/// per call whatever the number of rows.
pub async fn views(
    db: &impl ConnectionTrait,
    actor: &Actor,
    rows: Vec<finding::Model>,
    now: DateTime<Utc>,
) -> Result<Vec<FindingView>, DomainError> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = rows.iter().map(|row| row.id).collect();
    let mut links: BTreeMap<i64, Vec<LinkRef>> = BTreeMap::new();
    for link in finding_link::Entity::find().filter(finding_link::Column::FindingId.is_in(ids.clone())).all(db).await? {
        let record_type = RecordType::parse(&link.record_type)
            .ok_or_else(|| DomainError::Inconsistent(format!("finding link type {:?}", link.record_type)))?;
        links.entry(link.finding_id).or_default().push(LinkRef { record_type, record_id: link.record_id });
    }
    let mut recommendations: BTreeMap<i64, Vec<recommendation::Model>> = BTreeMap::new();
    for row in recommendation::Entity::find()
        .filter(recommendation::Column::FindingId.is_in(ids.clone()))
        .order_by_asc(recommendation::Column::Number)
        .all(db)
        .await?
    {
        recommendations.entry(row.finding_id).or_default().push(row);
    }
    let mut responses: BTreeMap<(i64, i32, Level), response::Model> = BTreeMap::new();
    for row in response::Entity::find().filter(response::Column::FindingId.is_in(ids.clone())).all(db).await? {
        responses.insert((row.finding_id, row.number, row.level), row);
    }
    let mut hearings: BTreeMap<i64, Vec<HearingView>> = BTreeMap::new();
    for row in hearing::Entity::find()
        .filter(hearing::Column::FindingId.is_in(ids.clone()))
        .order_by_asc(hearing::Column::Id)
        .all(db)
        .await?
    {
        hearings.entry(row.finding_id).or_default().push(HearingView {
            id: row.id,
            organization_id: row.organization_id,
            starts_at: row.starts_at,
            place: row.place,
            link: row.link,
            announced_at: row.announced_at,
        });
    }
    let names: BTreeMap<i64, String> = account::Entity::find()
        .filter(account::Column::Id.is_in(rows.iter().map(|row| row.filer_account_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|a| (a.id, if a.erased_at.is_some() { crate::audit::log::MASKED.to_owned() } else { a.display_name }))
        .collect();

    rows.into_iter()
        .map(|row| {
            let time = timeliness(&row, now);
            let masked = row.hidden_at.is_some() && !sees_hidden(actor, &row);
            let mask = |text: String| if masked { HIDDEN_MARKER.to_owned() } else { text };
            let mask_name = |name: Option<String>| name.map(mask);
            let facts = facts_of(&row)?.into_iter().map(mask).collect();
            let recommendations = recommendations
                .remove(&row.id)
                .unwrap_or_default()
                .into_iter()
                .map(|rec| {
                    let answer = |level| {
                        responses.get(&(row.id, rec.number, level)).map(|r| ResponseView {
                            organization_id: r.organization_id,
                            decision: r.decision,
                            reasoning: mask(r.reasoning.clone()),
                            measures: r.measures.clone().map(mask),
                            implement_by: r.implement_by,
                            answered_at: r.answered_at,
                        })
                    };
                    let implementation = (rec.implementation_reported_at.is_some()
                        || rec.implementation_assessed_at.is_some())
                    .then(|| ImplementationView {
                        report: rec.implementation_report.clone().map(mask),
                        reported_at: rec.implementation_reported_at,
                        result: rec.implementation_result,
                        reason: rec.implementation_reason.clone().map(mask),
                        assessed_at: rec.implementation_assessed_at,
                    });
                    RecommendationView {
                        number: rec.number,
                        text: mask(rec.text),
                        response: answer(Level::Target),
                        escalation_response: answer(Level::Escalation),
                        implementation,
                    }
                })
                .collect();
            let escalation = match (row.escalated_at, row.escalated_to_organization_id, row.escalation_due) {
                (Some(escalated_at), Some(organization_id), Some(answer_due)) => Some(EscalationView {
                    organization_id,
                    escalated_at,
                    answer_due,
                    answered_at: row.escalation_answered_at,
                    answered_on_time: time.escalation_answered_on_time,
                    overdue: time.escalation_overdue,
                }),
                _ => None,
            };
            Ok(FindingView {
                id: row.id,
                status: row.status,
                filer: FilerView {
                    kind: row.filer_kind,
                    council_id: row.council_id,
                    display_name: names.get(&row.filer_account_id).cloned().unwrap_or_default(),
                },
                council_id: row.council_id,
                target_organization_id: row.target_organization_id,
                form: row.form,
                reason: row.reason,
                title: LocalizedName {
                    ru: mask_name(row.title_ru.clone()),
                    kk: mask_name(row.title_kk.clone()),
                    en: mask_name(row.title_en.clone()),
                },
                summary: LocalizedName {
                    ru: mask_name(row.summary_ru.clone()),
                    kk: mask_name(row.summary_kk.clone()),
                    en: mask_name(row.summary_en.clone()),
                },
                period_from: row.period_from,
                period_to: row.period_to,
                links: links.remove(&row.id).unwrap_or_default(),
                facts,
                recommendations,
                hearings: hearings
                    .remove(&row.id)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|h| HearingView { place: h.place.map(mask), link: h.link.map(mask), ..h })
                    .collect(),
                request_id: row.request_id,
                red_flag_id: row.red_flag_id,
                created_at: row.created_at,
                updated_at: row.updated_at,
                published_at: row.published_at,
                completed_at: row.completed_at,
                delivered_at: row.delivered_at,
                answered_at: row.answered_at,
                closed_at: row.closed_at,
                withdrawn_at: row.withdrawn_at,
                deliver_by: row.deliver_by,
                answer_due: row.answer_due,
                calendar_version: row.calendar_version.clone(),
                overdue: time.overdue,
                delivered_on_time: time.delivered_on_time,
                answered_on_time: time.answered_on_time,
                escalation,
                hidden: match (row.hidden_at, row.hidden_reason.clone()) {
                    (Some(at), Some(reason)) => Some(HiddenView { at, reason }),
                    _ => None,
                },
                version: row.version,
            })
        })
        .collect()
}
