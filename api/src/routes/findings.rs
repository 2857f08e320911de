//! Scrutiny findings: filing, the workflow's steps, the body's answers, and reading them.
//! Every handler parses, calls one `domain::findings` function and presents the result.

use poem::{Body, Request};
use poem_openapi::param::{Header, Path, Query};
use poem_openapi::payload::{Binary, Json};
use poem_openapi::{ApiResponse, Enum, Object, OpenApi, ResponseContent};

use domain::findings::tables as stored;
use domain::findings::{self as findings, FindingFilter, FindingView, Findings, LinkRef};
use domain::names::Language;
use domain::pagination::Limit;

use super::ApiTags;
use super::audit::AuditEvent;
use crate::auth::{Auth, BearerAuth, MaybeBearer};
use crate::dto::Day;
use crate::dto::{LocalizedName, Page, Text, Timestamp, preferred_language};
use crate::error::{ApiError, ApiResult};
use crate::lists::{CsvRecord, Encoding, Format, export_body, page_limit, wants_csv};
use crate::preconditions::{etag_of_variant, expected_version, idempotency_key};

pub struct FindingsApi {
    /// The findings service.
    pub findings: Findings,
    /// Who a request comes from.
    pub auth: std::sync::Arc<Auth>,
}

macro_rules! api_enum {
    ($(#[$meta:meta])* $name:ident <=> $domain:path { $($(#[$vmeta:meta])* $variant:ident),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
        #[oai(rename_all = "snake_case")]
        pub enum $name { $($(#[$vmeta])* $variant),+ }
        impl From<$domain> for $name {
            fn from(value: $domain) -> Self { match value { $(<$domain>::$variant => $name::$variant),+ } }
        }
        impl From<$name> for $domain {
            fn from(value: $name) -> Self { match value { $($name::$variant => <$domain>::$variant),+ } }
        }
    };
}

api_enum! {
    /// Where a finding is in the workflow: `draft` → `in_progress` → `completed` → `delivered` →
    /// `answered` → `closed`, or `withdrawn` from a draft or in progress.
    FindingStatus <=> stored::Status {
        /// Being written; seen only by its filers and admins.
        Draft,
        /// Published: public control is under way.
        InProgress,
        /// The final document is fixed; it must reach the body by `deliver_by`.
        Completed,
        /// The body has it and owes an answer to each recommendation by `answer_due`.
        Delivered,
        /// Every recommendation has its answer.
        Answered,
        /// Closed by its filers.
        Closed,
        /// Withdrawn by its filers before completion.
        Withdrawn,
    }
}

api_enum! {
    /// The form of public control (Law No. 30-VIII).
    FindingForm <=> stored::Form { Monitoring, Hearing, Expertise, ReportHearing }
}

api_enum! {
    /// Why public control was started.
    FindingReason <=> stored::Reason { RedFlag, Media, CitizenRequest, Plan }
}

api_enum! {
    /// Who filed: a public council (through a member), a citizen, or a non-profit.
    FilerKind <=> stored::FilerKind { Council, Citizen, Ngo }
}

api_enum! {
    /// A body's decision on a recommendation.
    RecommendationDecision <=> stored::Decision { Accepted, PartiallyAccepted, Declined }
}

api_enum! {
    /// The filers' judgement of a body's implementation report.
    ImplementationResult <=> stored::ImplementationResult { Implemented, NotImplemented }
}

api_enum! {
    /// The kind of a linked record.
    RecordType <=> findings::RecordType { Tender, Contract, Payment, Decision }
}

/// Who filed a finding, as the public sees them: never an email.
#[derive(Debug, Clone, Object)]
pub struct Filer {
    /// Council, citizen or non-profit.
    pub kind: FilerKind,
    /// The council, for a council's finding: `/v1/councils/{id}`.
    #[oai(skip_serializing_if_is_none)]
    pub council_id: Option<i64>,
    /// The name the filer chose to be seen by (for a council, the member who opened it).
    pub display_name: String,
}

/// A record a finding names.
#[derive(Debug, Clone, Object)]
pub struct FindingLink {
    /// Tender, contract, payment or decision.
    pub record_type: RecordType,
    /// The record's id.
    pub record_id: i64,
    /// Where to read it, e.g. `/v1/contracts/12`.
    pub href: String,
}

/// A record to link: it must exist and belong to the target organization.
#[derive(Debug, Clone, Object)]
pub struct LinkInput {
    /// Tender, contract (the target as buyer), payment (as payer) or decision.
    pub record_type: RecordType,
    /// The record's id.
    pub record_id: i64,
}

/// A body's answer to one recommendation.
#[derive(Debug, Clone, Object)]
pub struct RecommendationResponse {
    /// The body that answered: the target, or after an escalation its parent.
    pub organization_id: i64,
    /// Accepted, partially accepted or declined.
    pub decision: RecommendationDecision,
    /// Why.
    pub reasoning: String,
    /// What the body will do (acceptances).
    #[oai(skip_serializing_if_is_none)]
    pub measures: Option<String>,
    /// By when (acceptances).
    #[oai(skip_serializing_if_is_none)]
    pub implement_by: Option<Day>,
    /// When it answered (RFC 3339, UTC).
    pub answered_at: Timestamp,
}

/// The follow-up of an accepted recommendation.
#[derive(Debug, Clone, Object)]
pub struct Implementation {
    /// What the body reports it did.
    #[oai(skip_serializing_if_is_none)]
    pub report: Option<String>,
    /// When the body reported (RFC 3339, UTC).
    #[oai(skip_serializing_if_is_none)]
    pub reported_at: Option<Timestamp>,
    /// What the filers judged of it.
    #[oai(skip_serializing_if_is_none)]
    pub result: Option<ImplementationResult>,
    /// The filers' reason.
    #[oai(skip_serializing_if_is_none)]
    pub reason: Option<String>,
    /// When the filers judged it (RFC 3339, UTC).
    #[oai(skip_serializing_if_is_none)]
    pub assessed_at: Option<Timestamp>,
}

/// A numbered recommendation with its answers.
#[derive(Debug, Clone, Object)]
pub struct Recommendation {
    /// Its number, from 1 in the order given.
    pub number: i32,
    /// What the filers recommend.
    pub text: String,
    /// The scrutinised body's answer, once given.
    #[oai(skip_serializing_if_is_none)]
    pub response: Option<RecommendationResponse>,
    /// The parent body's answer after an escalation, once given.
    #[oai(skip_serializing_if_is_none)]
    pub escalation_response: Option<RecommendationResponse>,
    /// The follow-up, once the body reports or the filers judge.
    #[oai(skip_serializing_if_is_none)]
    pub implementation: Option<Implementation>,
}

/// A hearing a body offered before deciding.
#[derive(Debug, Clone, Object)]
pub struct Hearing {
    /// The hearing's id.
    pub id: i64,
    /// The body that offered it.
    pub organization_id: i64,
    /// When it starts (RFC 3339, UTC).
    pub starts_at: Timestamp,
    /// Where, in person.
    #[oai(skip_serializing_if_is_none)]
    pub place: Option<String>,
    /// Where to join online.
    #[oai(skip_serializing_if_is_none)]
    pub link: Option<String>,
    /// When it was announced: a decline may come 3 working days later.
    pub announced_at: Timestamp,
}

/// An escalation to the target's parent body.
#[derive(Debug, Clone, Object)]
pub struct Escalation {
    /// The parent body that now owes its answer.
    pub organization_id: i64,
    /// When the filers escalated (RFC 3339, UTC).
    pub escalated_at: Timestamp,
    /// The last day of its answer (10 working days).
    pub answer_due: Day,
    /// When the parent body had answered every recommendation.
    #[oai(skip_serializing_if_is_none)]
    pub answered_at: Option<Timestamp>,
    /// Whether it answered by the end of `answer_due` (Kazakhstan time); absent while it can.
    #[oai(skip_serializing_if_is_none)]
    pub answered_on_time: Option<bool>,
    /// The parent body's due date has passed without its answer.
    pub overdue: bool,
}

/// A moderator's hiding of content.
#[derive(Debug, Clone, Object)]
pub struct Hidden {
    /// When it was hidden (RFC 3339, UTC).
    pub at: Timestamp,
    /// The moderator's reason, public.
    pub reason: String,
}

/// A scrutiny finding.
#[derive(Debug, Clone, Object)]
pub struct Finding {
    /// Scrutiny's id for the finding.
    pub id: i64,
    /// Where it is in the workflow.
    pub status: FindingStatus,
    /// Who filed it, by the name they chose (never an email).
    pub filer: Filer,
    /// The council filing; absent for a citizen or non-profit filing.
    #[oai(skip_serializing_if_is_none)]
    pub council_id: Option<i64>,
    /// The state body or quasi-public entity scrutinised: `/v1/organizations/{id}`.
    pub target_organization_id: i64,
    /// The form of public control.
    pub form: FindingForm,
    /// Why public control was started.
    pub reason: FindingReason,
    /// Its title in each language it has.
    pub title: LocalizedName,
    /// Its summary in each language it has.
    pub summary: LocalizedName,
    /// The first day of the period scrutinised.
    #[oai(skip_serializing_if_is_none)]
    pub period_from: Option<Day>,
    /// The last day of the period scrutinised.
    #[oai(skip_serializing_if_is_none)]
    pub period_to: Option<Day>,
    /// The records it names.
    pub links: Vec<FindingLink>,
    /// The facts found.
    pub facts: Vec<String>,
    /// The recommendations, numbered from 1.
    pub recommendations: Vec<Recommendation>,
    /// Hearings the body offered.
    pub hearings: Vec<Hearing>,
    /// The request for public control it answers, if any.
    #[oai(skip_serializing_if_is_none)]
    pub request_id: Option<i64>,
    /// The red flag it was opened from: `/v1/red-flags/{id}`.
    #[oai(skip_serializing_if_is_none)]
    pub red_flag_id: Option<i64>,
    /// When it was filed (RFC 3339, UTC).
    pub created_at: Timestamp,
    /// When anything about it last changed.
    pub updated_at: Timestamp,
    /// When it was published.
    #[oai(skip_serializing_if_is_none)]
    pub published_at: Option<Timestamp>,
    /// When the final document was completed.
    #[oai(skip_serializing_if_is_none)]
    pub completed_at: Option<Timestamp>,
    /// When the final document was delivered to the body.
    #[oai(skip_serializing_if_is_none)]
    pub delivered_at: Option<Timestamp>,
    /// When the last recommendation had its answer.
    #[oai(skip_serializing_if_is_none)]
    pub answered_at: Option<Timestamp>,
    /// When its filers closed it.
    #[oai(skip_serializing_if_is_none)]
    pub closed_at: Option<Timestamp>,
    /// When its filers withdrew it.
    #[oai(skip_serializing_if_is_none)]
    pub withdrawn_at: Option<Timestamp>,
    /// The last day to deliver the final document: 7 working days after completion,
    /// ending at midnight Kazakhstan time.
    #[oai(skip_serializing_if_is_none)]
    pub deliver_by: Option<Day>,
    /// The last day for the body to answer every recommendation: 10 working days after
    /// delivery, ending at midnight Kazakhstan time.
    #[oai(skip_serializing_if_is_none)]
    pub answer_due: Option<Day>,
    /// The calendar version the due dates were counted on: `/v1/calendar/{year}?version=`.
    #[oai(skip_serializing_if_is_none)]
    pub calendar_version: Option<String>,
    /// A due date has passed with its step not taken (judged at the time of the request).
    pub overdue: bool,
    /// Whether the document was delivered by the end of `deliver_by`; `false` also while it
    /// is late; absent while it can still be on time.
    #[oai(skip_serializing_if_is_none)]
    pub delivered_on_time: Option<bool>,
    /// Whether every recommendation was answered by the end of `answer_due`; `false` also
    /// while the answer is late; absent while it can still be on time.
    #[oai(skip_serializing_if_is_none)]
    pub answered_on_time: Option<bool>,
    /// The escalation to the target's parent body, once made.
    #[oai(skip_serializing_if_is_none)]
    pub escalation: Option<Escalation>,
    /// Set when a moderator hid the content: the texts read as a marker.
    #[oai(skip_serializing_if_is_none)]
    pub hidden: Option<Hidden>,
}

/// A published finding, as the detail of a record or organization it names lists it.
#[derive(Debug, Clone, Object)]
pub struct FindingRef {
    /// The finding's id.
    pub id: i64,
    /// Where it is in the workflow.
    pub status: FindingStatus,
    /// The organization scrutinised.
    pub target_organization_id: i64,
    /// Its title in each language it has.
    pub title: LocalizedName,
    /// Where to read it: `/v1/findings/{id}`.
    pub href: String,
}

impl FindingRef {
    pub fn new(found: findings::FindingRef, language: Language) -> Self {
        FindingRef {
            id: found.id,
            status: found.status.into(),
            target_organization_id: found.target_organization_id,
            title: LocalizedName::new(found.title.ru, found.title.kk, found.title.en, language),
            href: format!("/v1/findings/{}", found.id),
        }
    }

    /// The refs of a domain list.
    pub fn all(found: Vec<findings::FindingRef>, language: Language) -> Vec<Self> {
        found.into_iter().map(|f| FindingRef::new(f, language)).collect()
    }
}

fn href(link: &LinkRef) -> String {
    let collection = match link.record_type {
        findings::RecordType::Tender => "tenders",
        findings::RecordType::Contract => "contracts",
        findings::RecordType::Payment => "payments",
        findings::RecordType::Decision => "decisions",
    };
    format!("/v1/{collection}/{}", link.record_id)
}

fn response_out(view: findings::ResponseView) -> RecommendationResponse {
    RecommendationResponse {
        organization_id: view.organization_id,
        decision: view.decision.into(),
        reasoning: view.reasoning,
        measures: view.measures,
        implement_by: view.implement_by.map(Into::into),
        answered_at: view.answered_at.into(),
    }
}

impl Finding {
    pub fn new(view: FindingView, language: Language) -> Self {
        let name = |n: domain::LocalizedName| LocalizedName::new(n.ru, n.kk, n.en, language);
        Finding {
            id: view.id,
            status: view.status.into(),
            filer: Filer {
                kind: view.filer.kind.into(),
                council_id: view.filer.council_id,
                display_name: view.filer.display_name,
            },
            council_id: view.council_id,
            target_organization_id: view.target_organization_id,
            form: view.form.into(),
            reason: view.reason.into(),
            title: name(view.title),
            summary: name(view.summary),
            period_from: view.period_from.map(Into::into),
            period_to: view.period_to.map(Into::into),
            links: view
                .links
                .iter()
                .map(|l| FindingLink { record_type: l.record_type.into(), record_id: l.record_id, href: href(l) })
                .collect(),
            facts: view.facts,
            recommendations: view
                .recommendations
                .into_iter()
                .map(|r| Recommendation {
                    number: r.number,
                    text: r.text,
                    response: r.response.map(response_out),
                    escalation_response: r.escalation_response.map(response_out),
                    implementation: r.implementation.map(|i| Implementation {
                        report: i.report,
                        reported_at: i.reported_at.map(Into::into),
                        result: i.result.map(Into::into),
                        reason: i.reason,
                        assessed_at: i.assessed_at.map(Into::into),
                    }),
                })
                .collect(),
            hearings: view
                .hearings
                .into_iter()
                .map(|h| Hearing {
                    id: h.id,
                    organization_id: h.organization_id,
                    starts_at: h.starts_at.into(),
                    place: h.place,
                    link: h.link,
                    announced_at: h.announced_at.into(),
                })
                .collect(),
            request_id: view.request_id,
            red_flag_id: view.red_flag_id,
            created_at: view.created_at.into(),
            updated_at: view.updated_at.into(),
            published_at: view.published_at.map(Into::into),
            completed_at: view.completed_at.map(Into::into),
            delivered_at: view.delivered_at.map(Into::into),
            answered_at: view.answered_at.map(Into::into),
            closed_at: view.closed_at.map(Into::into),
            withdrawn_at: view.withdrawn_at.map(Into::into),
            deliver_by: view.deliver_by.map(Into::into),
            answer_due: view.answer_due.map(Into::into),
            calendar_version: view.calendar_version,
            overdue: view.overdue,
            delivered_on_time: view.delivered_on_time,
            answered_on_time: view.answered_on_time,
            escalation: view.escalation.map(|e| Escalation {
                organization_id: e.organization_id,
                escalated_at: e.escalated_at.into(),
                answer_due: e.answer_due.into(),
                answered_at: e.answered_at.map(Into::into),
                answered_on_time: e.answered_on_time,
                overdue: e.overdue,
            }),
            hidden: view.hidden.map(|h| Hidden { at: h.at.into(), reason: h.reason }),
        }
    }
}

fn opt_bool(value: Option<bool>) -> String {
    value.map(|b| b.to_string()).unwrap_or_default()
}

impl CsvRecord for Finding {
    const HEADER: &'static [&'static str] = &[
        "id",
        "status",
        "form",
        "reason",
        "filer_kind",
        "council_id",
        "target_organization_id",
        "title",
        "created_at",
        "published_at",
        "completed_at",
        "deliver_by",
        "delivered_at",
        "delivered_on_time",
        "answer_due",
        "answered_at",
        "answered_on_time",
        "overdue",
        "recommendations",
        "accepted",
        "declined",
    ];

    fn cells(&self) -> Vec<String> {
        let decided = |d: RecommendationDecision| {
            self.recommendations
                .iter()
                .filter(|r| r.response.as_ref().is_some_and(|a| a.decision == d))
                .count()
                .to_string()
        };
        let time = |t: &Option<Timestamp>| t.map(|t| crate::dto::rfc3339(t.0)).unwrap_or_default();
        vec![
            self.id.to_string(),
            stored_name(self.status),
            stored_name(self.form),
            stored_name(self.reason),
            stored_name(self.filer.kind),
            self.council_id.map(|c| c.to_string()).unwrap_or_default(),
            self.target_organization_id.to_string(),
            self.title.display.clone().unwrap_or_default(),
            crate::dto::rfc3339(self.created_at.0),
            time(&self.published_at),
            time(&self.completed_at),
            self.deliver_by.map(|d| d.to_string()).unwrap_or_default(),
            time(&self.delivered_at),
            opt_bool(self.delivered_on_time),
            self.answer_due.map(|d| d.to_string()).unwrap_or_default(),
            time(&self.answered_at),
            opt_bool(self.answered_on_time),
            self.overdue.to_string(),
            self.recommendations.len().to_string(),
            decided(RecommendationDecision::Accepted),
            decided(RecommendationDecision::Declined),
        ]
    }
}

fn stored_name<T: poem_openapi::types::ToJSON>(value: T) -> String {
    value.to_json().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

/// A text in each language; any may be absent.
#[derive(Debug, Clone, Object)]
pub struct TextInput {
    /// Russian.
    #[oai(validator(max_length = 20000))]
    pub ru: Option<Text>,
    /// Kazakh.
    #[oai(validator(max_length = 20000))]
    pub kk: Option<Text>,
    /// English.
    #[oai(validator(max_length = 20000))]
    pub en: Option<Text>,
}

fn text_in(input: Option<TextInput>) -> domain::LocalizedName {
    input.map_or_else(domain::LocalizedName::default, |t| domain::LocalizedName {
        ru: t.ru.map(String::from),
        kk: t.kk.map(String::from),
        en: t.en.map(String::from),
    })
}

/// A finding to file, as a draft.
#[derive(Debug, Clone, Object)]
pub struct FindingInput {
    /// The state body or quasi-public entity scrutinised (a supplier is not a target). Needed
    /// unless `from_red_flag` names a flag with a buyer, which is then the target.
    pub target_organization_id: Option<i64>,
    /// Opens the finding from this red flag (`/v1/red-flags/{id}`): the reason becomes
    /// `red_flag`, the flag's buyer the target, its tender and contract are linked, and the flag
    /// with its evidence becomes the first fact. A flag no longer standing is refused.
    pub from_red_flag: Option<i64>,
    /// The council filing, for a council member; absent when a citizen or non-profit files
    /// in its own name.
    pub council_id: Option<i64>,
    /// `monitoring` when absent.
    pub form: Option<FindingForm>,
    /// `plan` when absent.
    pub reason: Option<FindingReason>,
    /// At most 500 characters in each language; needed to publish.
    pub title: Option<TextInput>,
    /// What it is about, in each language (at most 20,000 characters each).
    pub summary: Option<TextInput>,
    /// The first day of the period scrutinised.
    pub period_from: Option<Day>,
    /// The last day of the period scrutinised; not before `period_from`.
    pub period_to: Option<Day>,
    /// Records of the target: tenders, contracts (as buyer), payments (as payer), decisions.
    #[oai(default, validator(max_items = 100))]
    pub links: Vec<LinkInput>,
    /// The facts found, each a text.
    #[oai(default, validator(max_items = 100))]
    pub facts: Vec<Text>,
    /// The recommendations, numbered from 1 in this order; at least one to complete.
    #[oai(default, validator(max_items = 50))]
    pub recommendations: Vec<Text>,
}

/// Changes to a draft or in-progress finding; absent fields stay as they are, and lists
/// given replace the stored ones.
#[derive(Debug, Clone, Object)]
pub struct FindingPatch {
    /// The form of public control.
    pub form: Option<FindingForm>,
    /// Why public control was started.
    pub reason: Option<FindingReason>,
    /// The title, replacing every language.
    pub title: Option<TextInput>,
    /// The summary, replacing every language.
    pub summary: Option<TextInput>,
    /// The first day of the period scrutinised.
    pub period_from: Option<Day>,
    /// The last day of the period scrutinised.
    pub period_to: Option<Day>,
    /// The linked records, replacing the stored ones.
    #[oai(validator(max_items = 100))]
    pub links: Option<Vec<LinkInput>>,
    /// The facts found, replacing the stored ones.
    #[oai(validator(max_items = 100))]
    pub facts: Option<Vec<Text>>,
    /// The recommendations, renumbered from 1 in this order.
    #[oai(validator(max_items = 50))]
    pub recommendations: Option<Vec<Text>>,
}

/// A body's answer to one recommendation.
#[derive(Debug, Clone, Object)]
pub struct ResponseInput {
    /// Accepted, partially accepted or declined.
    pub decision: RecommendationDecision,
    /// Why; required for every decision.
    #[oai(validator(min_length = 1, max_length = 20000))]
    pub reasoning: Text,
    /// What the body will do: required to accept, wholly or in part.
    #[oai(validator(max_length = 20000))]
    pub measures: Option<Text>,
    /// By when: required to accept.
    pub implement_by: Option<Day>,
}

/// A hearing to offer; a place, a link, or both.
#[derive(Debug, Clone, Object)]
pub struct HearingInput {
    /// When it starts (RFC 3339); in the future.
    pub starts_at: chrono::DateTime<chrono::Utc>,
    /// Where, in person.
    #[oai(validator(max_length = 500))]
    pub place: Option<Text>,
    /// Where to join online: an http(s) URL.
    #[oai(validator(max_length = 2000))]
    pub link: Option<Text>,
}

/// What the body did about an accepted recommendation.
#[derive(Debug, Clone, Object)]
pub struct ImplementationInput {
    /// What the body did.
    #[oai(validator(min_length = 1, max_length = 20000))]
    pub report: Text,
}

/// The filers' judgement of the body's report.
#[derive(Debug, Clone, Object)]
pub struct AssessmentInput {
    /// Implemented or not implemented.
    pub result: ImplementationResult,
    /// Why.
    #[oai(validator(min_length = 1, max_length = 20000))]
    pub reason: Text,
}

/// A moderator's reason for hiding.
#[derive(Debug, Clone, Object)]
pub struct HideInput {
    /// Shown publicly in place of the content, and kept in the history.
    #[oai(validator(min_length = 1, max_length = 2000))]
    pub reason: Text,
}

#[derive(ResponseContent)]
pub enum FindingListBody {
    Json(Json<Page<Finding>>),
    #[oai(content_type = "text/csv; charset=utf-8")]
    Csv(Binary<Body>),
}

#[derive(ApiResponse)]
pub enum FindingListResponse {
    /// A page of findings in id order as JSON, or every matching finding as CSV.
    #[oai(status = 200)]
    Ok(FindingListBody),
}

#[derive(ApiResponse)]
pub enum FindingResponse {
    /// The finding.
    #[oai(status = 200)]
    Ok(
        Json<Finding>,
        /// The finding's version, for `If-Match` on edits.
        #[oai(header = "ETag")]
        String,
    ),
}

#[derive(ApiResponse)]
pub enum FindingCreated {
    /// The finding, created.
    #[oai(status = 201)]
    Created(
        Json<Finding>,
        /// The finding's version, for `If-Match` on edits.
        #[oai(header = "ETag")]
        String,
    ),
}

#[derive(ApiResponse)]
pub enum HistoryResponse {
    /// The finding's events from the audit log, oldest first.
    #[oai(status = 200)]
    Ok(Json<Page<AuditEvent>>),
}

fn language_tag(language: Language) -> &'static str {
    match language {
        Language::Ru => "ru",
        Language::Kk => "kk",
        Language::En => "en",
    }
}

fn texts(texts: Vec<Text>) -> Vec<String> {
    texts.into_iter().map(String::from).collect()
}

fn links_in(links: Vec<LinkInput>) -> Vec<LinkRef> {
    links.into_iter().map(|l| LinkRef { record_type: l.record_type.into(), record_id: l.record_id }).collect()
}

impl FindingsApi {
    /// The finding with its ETag: its version, the language, and the day in Kazakhstan, since
    /// `overdue` and the `*_on_time` flags turn at midnight there without a new version.
    fn ok(&self, view: FindingView, req: &Request) -> FindingResponse {
        let language = preferred_language(req);
        let today = domain::findings::calendar::kazakhstan_date(self.findings.clock.now());
        let variant = format!("{}.{today}", language_tag(language));
        let tag = etag_of_variant("finding", view.id, view.version, &variant);
        FindingResponse::Ok(Json(Finding::new(view, language)), tag)
    }

    async fn step(
        &self,
        req: &Request,
        bearer: &BearerAuth,
        id: i64,
        step: findings::Step,
    ) -> ApiResult<FindingResponse> {
        let actor = self.auth.actor(bearer).await?;
        Ok(self.ok(self.findings.step(&actor, id, step).await?, req))
    }
}

#[OpenApi(tag = "ApiTags::Findings")]
impl FindingsApi {
    /// List findings
    ///
    /// Published findings (and the caller's own drafts) matching every given filter, in id
    /// order, a page at a time; with `format=csv` every matching finding as CSV.
    #[oai(path = "/v1/findings", method = "get", operation_id = "listFindings")]
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        req: &Request,
        bearer: MaybeBearer,
        /// Only findings against this organization.
        #[oai(name = "target_organization_id")]
        target_organization_id: Query<Option<i64>>,
        /// Only findings against the organization with this BIN.
        #[oai(name = "target_bin", validator(pattern = r"^[0-9]{12}$"))]
        target_bin: Query<Option<String>>,
        /// Only findings of this council.
        #[oai(name = "council_id")]
        council_id: Query<Option<i64>>,
        /// Only findings in this state.
        #[oai(name = "status")]
        status: Query<Option<FindingStatus>>,
        /// Only findings of this form of public control.
        #[oai(name = "form")]
        form: Query<Option<FindingForm>>,
        /// Only findings started for this reason.
        #[oai(name = "reason")]
        reason: Query<Option<FindingReason>>,
        /// Only findings filed by this kind of filer.
        #[oai(name = "filer_kind")]
        filer_kind: Query<Option<FilerKind>>,
        /// Only findings with (`true`) or without (`false`) a passed due date.
        #[oai(name = "overdue")]
        overdue: Query<Option<bool>>,
        /// Only findings filed on or after this day (Kazakhstan time).
        #[oai(name = "date_from")]
        date_from: Query<Option<Day>>,
        /// Only findings filed on or before this day (Kazakhstan time).
        #[oai(name = "date_to")]
        date_to: Query<Option<Day>>,
        /// Only findings whose title or summary contains this text.
        #[oai(name = "q", validator(min_length = 1, max_length = 200))]
        q: Query<Option<String>>,
        /// Only findings that link this record, with `record_id`.
        #[oai(name = "record_type")]
        record_type: Query<Option<RecordType>>,
        /// The linked record's id, with `record_type`.
        #[oai(name = "record_id")]
        record_id: Query<Option<i64>>,
        /// Page size, 1 to 100; 20 when absent.
        #[oai(name = "limit", validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u64>>,
        /// Where to start: the `cursor` from a previous page's `links.next`. Opaque.
        #[oai(name = "cursor", validator(min_length = 1, max_length = 512, pattern = r"^[A-Za-z0-9_-]+$"))]
        cursor: Query<Option<String>>,
        /// `json` (default) for a page, `csv` for every matching finding.
        #[oai(name = "format")]
        format: Query<Option<Format>>,
    ) -> ApiResult<FindingListResponse> {
        let actor = self.auth.reader(&bearer).await?;
        crate::lists::check_date("date_from", date_from.0)?;
        crate::lists::check_date("date_to", date_to.0)?;
        let record = match (record_type.0, record_id.0) {
            (Some(record_type), Some(record_id)) => Some(LinkRef { record_type: record_type.into(), record_id }),
            (None, None) => None,
            (Some(_), None) => return Err(ApiError::invalid_param("record_id", "is needed with record_type")),
            (None, Some(_)) => return Err(ApiError::invalid_param("record_type", "is needed with record_id")),
        };
        let filter = FindingFilter {
            target_organization_id: target_organization_id.0,
            target_bin: target_bin.0,
            council_id: council_id.0,
            status: status.0.map(Into::into),
            form: form.0.map(Into::into),
            reason: reason.0.map(Into::into),
            filer_kind: filer_kind.0.map(Into::into),
            overdue: overdue.0,
            filed_from: date_from.0.map(Into::into),
            filed_to: date_to.0.map(Into::into),
            q: q.0,
            record,
        };
        let language = preferred_language(req);
        if wants_csv(req, format.0) {
            let chunks = finding_chunks(self.findings.clone(), actor, filter, language);
            return Ok(FindingListResponse::Ok(FindingListBody::Csv(Binary(export_body(chunks, Encoding::Csv)))));
        }
        let limit = page_limit(limit.0)?;
        let page = self.findings.list(&actor, &filter, cursor.0.as_deref(), limit).await?;
        Ok(FindingListResponse::Ok(FindingListBody::Json(Json(Page::new(req, limit, page, |view| {
            Finding::new(view, language)
        })))))
    }

    /// File a finding
    ///
    /// Opens a draft, seen only by its filers until published. A council member files for a
    /// council they sit on (`council_id`); a citizen or non-profit files in its own name.
    #[oai(path = "/v1/findings", method = "post", operation_id = "createFinding")]
    async fn create(
        &self,
        req: &Request,
        bearer: BearerAuth,
        /// Makes a retry safe: the same key with the same body returns the first answer; with
        /// another body, 422.
        #[oai(name = "Idempotency-Key")]
        key: Header<Option<String>>,
        body: Json<FindingInput>,
    ) -> ApiResult<FindingCreated> {
        let actor = self.auth.actor(&bearer).await?;
        let key = idempotency_key(req, key.0.as_deref(), &body.0)?;
        let input = body.0;
        let new = findings::NewFinding {
            target_organization_id: input.target_organization_id,
            red_flag_id: input.from_red_flag,
            council_id: input.council_id,
            form: input.form.map(Into::into),
            reason: input.reason.map(Into::into),
            title: text_in(input.title),
            summary: text_in(input.summary),
            period_from: input.period_from.map(Into::into),
            period_to: input.period_to.map(Into::into),
            links: links_in(input.links),
            facts: texts(input.facts),
            recommendations: texts(input.recommendations),
        };
        let view = self.findings.file(&actor, new, key.as_ref()).await?;
        let FindingResponse::Ok(json, tag) = self.ok(view, req);
        Ok(FindingCreated::Created(json, tag))
    }

    /// Get a finding
    ///
    /// With its recommendations, answers, hearings and due dates. A draft is 404 to anyone
    /// but its filers and admins.
    #[oai(path = "/v1/findings/:id", method = "get", operation_id = "getFinding")]
    async fn get(
        &self,
        req: &Request,
        bearer: MaybeBearer,
        /// The finding's id.
        #[oai(name = "id")]
        id: Path<i64>,
    ) -> ApiResult<FindingResponse> {
        let actor = self.auth.reader(&bearer).await?;
        Ok(self.ok(self.findings.get(&actor, id.0).await?, req))
    }

    /// Edit a finding
    ///
    /// Its filers edit a draft or in-progress finding; once completed, the final document is
    /// fixed (409). Needs `If-Match` with the finding's ETag.
    #[oai(path = "/v1/findings/:id", method = "patch", operation_id = "updateFinding")]
    async fn update(
        &self,
        req: &Request,
        bearer: BearerAuth,
        /// The finding's id.
        #[oai(name = "id")]
        id: Path<i64>,
        /// The ETag of the version this change applies to.
        #[oai(name = "If-Match")]
        if_match: Header<Option<String>>,
        body: Json<FindingPatch>,
    ) -> ApiResult<FindingResponse> {
        let actor = self.auth.actor(&bearer).await?;
        let version = expected_version("finding", id.0, if_match.0.as_deref())?;
        let patch = body.0;
        let changes = findings::FindingChanges {
            form: patch.form.map(Into::into),
            reason: patch.reason.map(Into::into),
            title: patch.title.map(|t| text_in(Some(t))),
            summary: patch.summary.map(|t| text_in(Some(t))),
            period_from: patch.period_from.map(Some).map(|d| d.map(Into::into)),
            period_to: patch.period_to.map(Some).map(|d| d.map(Into::into)),
            links: patch.links.map(links_in),
            facts: patch.facts.map(texts),
            recommendations: patch.recommendations.map(texts),
        };
        Ok(self.ok(self.findings.update(&actor, id.0, version, changes).await?, req))
    }

    /// Publish a draft
    ///
    /// `draft` → `in_progress`, by its filers; the finding becomes public.
    #[oai(path = "/v1/findings/:id/publish", method = "post", operation_id = "publishFinding")]
    async fn publish(
        &self,
        req: &Request,
        bearer: BearerAuth,
        /// The finding's id.
        #[oai(name = "id")]
        id: Path<i64>,
    ) -> ApiResult<FindingResponse> {
        self.step(req, &bearer, id.0, findings::Step::Publish).await
    }

    /// Complete the final document
    ///
    /// `in_progress` → `completed`, by its filers: facts and recommendations are fixed, and
    /// `deliver_by` is set 7 working days ahead.
    #[oai(path = "/v1/findings/:id/complete", method = "post", operation_id = "completeFinding")]
    async fn complete(
        &self,
        req: &Request,
        bearer: BearerAuth,
        /// The finding's id.
        #[oai(name = "id")]
        id: Path<i64>,
    ) -> ApiResult<FindingResponse> {
        self.step(req, &bearer, id.0, findings::Step::Complete).await
    }

    /// Deliver the final document
    ///
    /// `completed` → `delivered`, by its filers: the body's officers are notified, and
    /// `answer_due` is set 10 working days ahead.
    #[oai(path = "/v1/findings/:id/deliver", method = "post", operation_id = "deliverFinding")]
    async fn deliver(
        &self,
        req: &Request,
        bearer: BearerAuth,
        /// The finding's id.
        #[oai(name = "id")]
        id: Path<i64>,
    ) -> ApiResult<FindingResponse> {
        self.step(req, &bearer, id.0, findings::Step::Deliver).await
    }

    /// Close a finding
    ///
    /// `answered` → `closed` by its filers; also from `delivered` once the answer is overdue.
    #[oai(path = "/v1/findings/:id/close", method = "post", operation_id = "closeFinding")]
    async fn close(
        &self,
        req: &Request,
        bearer: BearerAuth,
        /// The finding's id.
        #[oai(name = "id")]
        id: Path<i64>,
    ) -> ApiResult<FindingResponse> {
        self.step(req, &bearer, id.0, findings::Step::Close).await
    }

    /// Withdraw a finding
    ///
    /// From `draft` or `in_progress`, by its filers.
    #[oai(path = "/v1/findings/:id/withdraw", method = "post", operation_id = "withdrawFinding")]
    async fn withdraw(
        &self,
        req: &Request,
        bearer: BearerAuth,
        /// The finding's id.
        #[oai(name = "id")]
        id: Path<i64>,
    ) -> ApiResult<FindingResponse> {
        self.step(req, &bearer, id.0, findings::Step::Withdraw).await
    }

    /// Escalate to the parent body
    ///
    /// Once, by its filers, when the answer is late or declines a recommendation: the
    /// target's parent body then owes its own answer within 10 working days.
    #[oai(path = "/v1/findings/:id/escalate", method = "post", operation_id = "escalateFinding")]
    async fn escalate(
        &self,
        req: &Request,
        bearer: BearerAuth,
        /// The finding's id.
        #[oai(name = "id")]
        id: Path<i64>,
    ) -> ApiResult<FindingResponse> {
        self.step(req, &bearer, id.0, findings::Step::Escalate).await
    }

    /// Answer a recommendation
    ///
    /// The body's officers (after an escalation, the parent's) answer each recommendation
    /// once. A decline needs a hearing announced at least 3 working days before (422 says
    /// from when it may come). When every recommendation has its answer, the finding is
    /// `answered`.
    #[oai(
        path = "/v1/findings/:id/recommendations/:number/response",
        method = "post",
        operation_id = "answerRecommendation"
    )]
    async fn answer(
        &self,
        req: &Request,
        bearer: BearerAuth,
        /// The finding's id.
        #[oai(name = "id")]
        id: Path<i64>,
        /// The recommendation's number, from 1.
        #[oai(name = "number", validator(minimum(value = "1"), maximum(value = "1000")))]
        number: Path<i32>,
        body: Json<ResponseInput>,
    ) -> ApiResult<FindingResponse> {
        let actor = self.auth.actor(&bearer).await?;
        let answer = findings::Answer {
            decision: body.0.decision.into(),
            reasoning: body.0.reasoning.into(),
            measures: body.0.measures.map(String::from),
            implement_by: body.0.implement_by.map(Into::into),
        };
        Ok(self.ok(self.findings.answer(&actor, id.0, number.0, answer).await?, req))
    }

    /// Offer a hearing
    ///
    /// The body's officers invite the filers before deciding; a decline may come 3 working
    /// days after the announcement.
    #[oai(path = "/v1/findings/:id/hearings", method = "post", operation_id = "offerHearing")]
    async fn offer_hearing(
        &self,
        req: &Request,
        bearer: BearerAuth,
        /// The finding's id.
        #[oai(name = "id")]
        id: Path<i64>,
        /// Makes a retry safe, as on other creating requests.
        #[oai(name = "Idempotency-Key")]
        key: Header<Option<String>>,
        body: Json<HearingInput>,
    ) -> ApiResult<FindingCreated> {
        let actor = self.auth.actor(&bearer).await?;
        let key = idempotency_key(req, key.0.as_deref(), &body.0)?;
        let new = findings::NewHearing {
            starts_at: body.0.starts_at,
            place: body.0.place.map(String::from),
            link: body.0.link.map(String::from),
        };
        let view = self.findings.offer_hearing(&actor, id.0, new, key.as_ref()).await?;
        let FindingResponse::Ok(json, tag) = self.ok(view, req);
        Ok(FindingCreated::Created(json, tag))
    }

    /// Report on implementation
    ///
    /// The body's officers report what they did about an accepted recommendation.
    #[oai(
        path = "/v1/findings/:id/recommendations/:number/implementation",
        method = "post",
        operation_id = "reportImplementation"
    )]
    async fn report_implementation(
        &self,
        req: &Request,
        bearer: BearerAuth,
        /// The finding's id.
        #[oai(name = "id")]
        id: Path<i64>,
        /// The recommendation's number, from 1.
        #[oai(name = "number", validator(minimum(value = "1"), maximum(value = "1000")))]
        number: Path<i32>,
        body: Json<ImplementationInput>,
    ) -> ApiResult<FindingResponse> {
        let actor = self.auth.actor(&bearer).await?;
        Ok(self.ok(self.findings.report_implementation(&actor, id.0, number.0, body.0.report.into()).await?, req))
    }

    /// Assess implementation
    ///
    /// The filers mark an accepted recommendation `implemented` or `not_implemented`, with
    /// a reason.
    #[oai(
        path = "/v1/findings/:id/recommendations/:number/assessment",
        method = "post",
        operation_id = "assessImplementation"
    )]
    async fn assess_implementation(
        &self,
        req: &Request,
        bearer: BearerAuth,
        /// The finding's id.
        #[oai(name = "id")]
        id: Path<i64>,
        /// The recommendation's number, from 1.
        #[oai(name = "number", validator(minimum(value = "1"), maximum(value = "1000")))]
        number: Path<i32>,
        body: Json<AssessmentInput>,
    ) -> ApiResult<FindingResponse> {
        let actor = self.auth.actor(&bearer).await?;
        let view = self
            .findings
            .assess_implementation(&actor, id.0, number.0, body.0.result.into(), body.0.reason.into())
            .await?;
        Ok(self.ok(view, req))
    }

    /// Hide a finding
    ///
    /// Moderators replace a published finding's texts with a public marker and the reason;
    /// the reason stays in the history.
    #[oai(path = "/v1/findings/:id/hide", method = "post", operation_id = "hideFinding")]
    async fn hide(
        &self,
        req: &Request,
        bearer: BearerAuth,
        /// The finding's id.
        #[oai(name = "id")]
        id: Path<i64>,
        body: Json<HideInput>,
    ) -> ApiResult<FindingResponse> {
        let actor = self.auth.actor(&bearer).await?;
        Ok(self.ok(self.findings.moderate(&actor, id.0, Some(body.0.reason.into())).await?, req))
    }

    /// Show a hidden finding again
    #[oai(path = "/v1/findings/:id/unhide", method = "post", operation_id = "unhideFinding")]
    async fn unhide(
        &self,
        req: &Request,
        bearer: BearerAuth,
        /// The finding's id.
        #[oai(name = "id")]
        id: Path<i64>,
    ) -> ApiResult<FindingResponse> {
        let actor = self.auth.actor(&bearer).await?;
        Ok(self.ok(self.findings.moderate(&actor, id.0, None).await?, req))
    }

    /// A finding's history
    ///
    /// Every step, answer, hearing and passed deadline, from the public audit log.
    #[oai(path = "/v1/findings/:id/history", method = "get", operation_id = "getFindingHistory")]
    async fn history(
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
    ) -> ApiResult<HistoryResponse> {
        let actor = self.auth.reader(&bearer).await?;
        let limit = page_limit(limit.0)?;
        let page = self.findings.history(&actor, id.0, cursor.0.as_deref(), limit).await?;
        Ok(HistoryResponse::Ok(Json(Page::new(req, limit, page, AuditEvent::from))))
    }
}

/// Every finding matching `filter` that `actor` may see, a page of 100 at a time, for an
/// export or a bulk file.
pub fn finding_chunks(
    findings: Findings,
    actor: domain::accounts::Actor,
    filter: FindingFilter,
    language: Language,
) -> impl futures_util::Stream<Item = Result<Vec<Finding>, domain::DomainError>> + Send + 'static {
    struct State {
        cursor: Option<String>,
        done: bool,
    }
    futures_util::stream::unfold(State { cursor: None, done: false }, move |state| {
        let (findings, actor, filter) = (findings.clone(), actor.clone(), filter.clone());
        async move {
            if state.done {
                return None;
            }
            let limit = Limit::new(Some(domain::pagination::MAX_LIMIT)).expect("the largest limit is a limit");
            match findings.list(&actor, &filter, state.cursor.as_deref(), limit).await {
                Ok(page) => {
                    let next = page.next.map(|c| c.encode());
                    let done = next.is_none();
                    let items = page.items.into_iter().map(|v| Finding::new(v, language)).collect();
                    Some((Ok(items), State { cursor: next, done }))
                }
                Err(error) => Some((Err(error), State { cursor: None, done: true })),
            }
        }
    })
}
