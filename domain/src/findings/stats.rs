//! Scrutiny statistics and the feeds' queries.
//!
//! The figures count **published** findings only: a draft is private and a withdrawn finding
//! never reached the body, so neither counts. A published finding is `in_progress`,
//! `completed`, `delivered`, `answered` or `closed`; of those, the body has **received** the
//! ones `delivered`, `answered` or `closed` (every one of them has a delivery date).
//!
//! Each rate comes with its sample size and a Wilson score interval at 95 % (z = 1.959964),
//! so a 100 % over one finding is read as what it is: somewhere between 20.65 % and 100 %.
//! The interval is computed in `f64`; rates and bounds are exposed as [`Decimal`]s with
//! exactly four places (a proportion between `0.0000` and `1.0000`), rounded half away from
//! zero. A group of fewer than [`SMALL_SAMPLE`] findings is flagged `small_sample`.
//!
//! Every figure is computed in three queries whatever the number of findings: the published
//! findings' dates (not their texts), the target bodies' decisions counted per finding and
//! decision, and the assessed recommendations counted per finding and result; the rest is
//! summed here. Deadlines are judged by [`timeliness`] at the service clock's now.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::{Decimal, RoundingStrategy};
use sea_orm::sea_query::{Expr, Func, SimpleExpr};
use sea_orm::{
    ColumnTrait, Condition, EntityTrait, FromQueryResult, JoinType, QueryFilter, QueryOrder, QuerySelect, RelationDef,
};

use super::service::Findings;
use super::tables::{
    Decision, FilerKind, Form, ImplementationResult, Level, Reason, Status, finding, recommendation, response,
};
use super::view::{FindingView, HIDDEN_MARKER, ResponseView, timeliness, views};
use crate::DomainError;
use crate::accounts::Actor;
use crate::accounts::tables::council;
use crate::entities::organization;

/// Groups of fewer findings than this are flagged `small_sample`.
pub const SMALL_SAMPLE: u64 = 5;

/// The normal quantile of a two-sided 95 % interval.
pub const WILSON_Z: f64 = 1.959964;

/// Statuses that are not (or no longer) public control: they count nowhere.
const UNPUBLISHED: [Status; 2] = [Status::Draft, Status::Withdrawn];

/// A proportion: how many of `trials` were `successes`, with its Wilson score interval.
/// `rate` and the bounds are absent when there were no trials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub successes: u64,
    pub trials: u64,
    /// `successes / trials`, four decimal places.
    pub rate: Option<Decimal>,
    /// The lower bound of the 95 % Wilson score interval, four decimal places.
    pub wilson_low: Option<Decimal>,
    /// The upper bound, likewise.
    pub wilson_high: Option<Decimal>,
}

/// `x` (a proportion) as a decimal of four places, rounded half away from zero, within [0, 1].
fn four_places(x: f64) -> Decimal {
    let units = (x.clamp(0.0, 1.0) * 10_000.0).round() as i64;
    Decimal::new(units, 4)
}

/// The 95 % Wilson score interval of `successes` out of `trials` (`trials > 0`).
fn wilson(successes: u64, trials: u64) -> (f64, f64) {
    let n = trials as f64;
    let p = successes as f64 / n;
    let z2 = WILSON_Z * WILSON_Z;
    let denominator = 1.0 + z2 / n;
    let centre = (p + z2 / (2.0 * n)) / denominator;
    let half = WILSON_Z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / denominator;
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

impl Rate {
    pub fn new(successes: u64, trials: u64) -> Rate {
        debug_assert!(successes <= trials);
        if trials == 0 {
            return Rate { successes, trials, rate: None, wilson_low: None, wilson_high: None };
        }
        let mut rate = (Decimal::from(successes) / Decimal::from(trials))
            .round_dp_with_strategy(4, RoundingStrategy::MidpointAwayFromZero);
        rate.rescale(4);
        let (low, high) = wilson(successes, trials);
        Rate {
            successes,
            trials,
            rate: Some(rate),
            wilson_low: Some(four_places(low)),
            wilson_high: Some(four_places(high)),
        }
    }

    /// Compares the exact proportions; a rate without trials is `None`.
    fn cmp_proportion(&self, other: &Rate) -> Option<Ordering> {
        if self.trials == 0 || other.trials == 0 {
            return None;
        }
        let left = u128::from(self.successes) * u128::from(other.trials);
        let right = u128::from(other.successes) * u128::from(self.trials);
        Some(left.cmp(&right))
    }
}

/// The target bodies' answers to recommendations, by decision (escalation answers excluded).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DecisionCounts {
    pub accepted: u64,
    pub partially_accepted: u64,
    pub declined: u64,
}

impl DecisionCounts {
    pub fn total(&self) -> u64 {
        self.accepted + self.partially_accepted + self.declined
    }
}

/// The scrutiny figures of a set of published findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScrutinyFigures {
    /// Published findings: in progress, completed, delivered, answered or closed.
    pub findings: u64,
    /// Of those, the ones the body received: delivered, answered or closed.
    pub received: u64,
    /// Completed findings whose final document reached the body by `deliver_by`, over those
    /// delivered or past `deliver_by` undelivered (the filers' timeliness).
    pub delivered_on_time: Rate,
    /// Received findings whose every recommendation was answered by `answer_due`, over those
    /// answered or past `answer_due` unanswered (the body's timeliness).
    pub answered_on_time: Rate,
    /// Findings with a due date passed and its step not taken, now.
    pub overdue_now: u64,
    /// The target bodies' decisions on recommendations.
    pub decisions: DecisionCounts,
    /// Recommendations accepted wholly or in part, over those the target body answered.
    pub acceptance: Rate,
    /// Recommendations the filers judged implemented, over those they assessed.
    pub implementation: Rate,
    /// Fewer than [`SMALL_SAMPLE`] findings: read the rates with care.
    pub small_sample: bool,
}

/// Counts summed per group before they become figures.
#[derive(Debug, Clone, Copy, Default)]
struct Tally {
    findings: u64,
    received: u64,
    delivered_on_time: u64,
    delivered_judged: u64,
    answered_on_time: u64,
    answered_judged: u64,
    overdue_now: u64,
    decisions: DecisionCounts,
    implemented: u64,
    assessed: u64,
}

impl Tally {
    fn figures(&self) -> ScrutinyFigures {
        let decisions = self.decisions;
        ScrutinyFigures {
            findings: self.findings,
            received: self.received,
            delivered_on_time: Rate::new(self.delivered_on_time, self.delivered_judged),
            answered_on_time: Rate::new(self.answered_on_time, self.answered_judged),
            overdue_now: self.overdue_now,
            decisions,
            acceptance: Rate::new(decisions.accepted + decisions.partially_accepted, decisions.total()),
            implementation: Rate::new(self.implemented, self.assessed),
            small_sample: self.findings < SMALL_SAMPLE,
        }
    }
}

/// How findings are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    /// The target organization.
    Organization,
    /// The filing council; findings filed by citizens and non-profits in their own name form
    /// one group without a council.
    Council,
    /// The target organization's region: the first two digits of its KATO code followed by
    /// zeros (`750000000` for Almaty); targets without a code form one group without a region.
    Region,
    /// The kind of filer: council, citizen or non-profit.
    Kind,
}

/// The key of a group.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum GroupKey {
    Organization(i64),
    /// `None`: filed by a citizen or non-profit in its own name.
    Council(Option<i64>),
    /// The region's 9-digit KATO code; `None` for targets without one.
    Region(Option<String>),
    Kind(FilerKind),
}

fn kind_rank(kind: FilerKind) -> u8 {
    match kind {
        FilerKind::Council => 0,
        FilerKind::Citizen => 1,
        FilerKind::Ngo => 2,
    }
}

impl GroupKey {
    /// Keys in a stable order: ids and codes ascending, the group without a value last.
    fn cmp_key(&self, other: &GroupKey) -> Ordering {
        fn last<T: Ord>(a: &Option<T>, b: &Option<T>) -> Ordering {
            match (a, b) {
                (Some(a), Some(b)) => a.cmp(b),
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (None, None) => Ordering::Equal,
            }
        }
        match (self, other) {
            (GroupKey::Organization(a), GroupKey::Organization(b)) => a.cmp(b),
            (GroupKey::Council(a), GroupKey::Council(b)) => last(a, b),
            (GroupKey::Region(a), GroupKey::Region(b)) => last(a, b),
            (GroupKey::Kind(a), GroupKey::Kind(b)) => kind_rank(*a).cmp(&kind_rank(*b)),
            // Keys of one report are all of one kind.
            _ => Ordering::Equal,
        }
    }
}

/// What a report is ordered by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortField {
    Findings,
    Received,
    OverdueNow,
    DeliveredOnTime,
    AnsweredOnTime,
    Acceptance,
    Implementation,
}

/// An order: a field, ascending or descending. Rates compare by their exact proportion and
/// groups without trials come last either way; ties go to the group with more findings, then
/// by key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort {
    pub field: SortField,
    pub descending: bool,
}

impl Default for Sort {
    /// Most findings first.
    fn default() -> Self {
        Sort { field: SortField::Findings, descending: true }
    }
}

fn compare(sort: Sort, a: &(GroupKey, ScrutinyFigures), b: &(GroupKey, ScrutinyFigures)) -> Ordering {
    let (fa, fb) = (&a.1, &b.1);
    let direct = |ordering: Ordering| if sort.descending { ordering.reverse() } else { ordering };
    let rate = |ra: &Rate, rb: &Rate| match ra.cmp_proportion(rb) {
        Some(ordering) => direct(ordering),
        None => (ra.trials == 0).cmp(&(rb.trials == 0)),
    };
    let primary = match sort.field {
        SortField::Findings => direct(fa.findings.cmp(&fb.findings)),
        SortField::Received => direct(fa.received.cmp(&fb.received)),
        SortField::OverdueNow => direct(fa.overdue_now.cmp(&fb.overdue_now)),
        SortField::DeliveredOnTime => rate(&fa.delivered_on_time, &fb.delivered_on_time),
        SortField::AnsweredOnTime => rate(&fa.answered_on_time, &fb.answered_on_time),
        SortField::Acceptance => rate(&fa.acceptance, &fb.acceptance),
        SortField::Implementation => rate(&fa.implementation, &fb.implementation),
    };
    primary.then_with(|| fb.findings.cmp(&fa.findings)).then_with(|| a.0.cmp_key(&b.0))
}

/// The columns of a published finding the figures need: its grouping and its dates (which
/// [`timeliness`] judges), never its texts.
#[derive(Debug, FromQueryResult)]
struct FindingFacts {
    id: i64,
    status: Status,
    filer_kind: FilerKind,
    council_id: Option<i64>,
    target_organization_id: i64,
    target_region_kato: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    published_at: Option<DateTime<Utc>>,
    completed_at: Option<DateTime<Utc>>,
    delivered_at: Option<DateTime<Utc>>,
    answered_at: Option<DateTime<Utc>>,
    closed_at: Option<DateTime<Utc>>,
    withdrawn_at: Option<DateTime<Utc>>,
    deliver_by: Option<NaiveDate>,
    answer_due: Option<NaiveDate>,
    escalated_at: Option<DateTime<Utc>>,
    escalated_to_organization_id: Option<i64>,
    escalation_due: Option<NaiveDate>,
    escalation_answered_at: Option<DateTime<Utc>>,
}

impl FindingFacts {
    /// The stored row with its texts left empty, for [`timeliness`].
    fn row(&self) -> finding::Model {
        finding::Model {
            id: self.id,
            status: self.status,
            filer_kind: self.filer_kind,
            council_id: self.council_id,
            filer_account_id: 0,
            target_organization_id: self.target_organization_id,
            form: Form::Monitoring,
            reason: Reason::Plan,
            title_ru: None,
            title_kk: None,
            title_en: None,
            summary_ru: None,
            summary_kk: None,
            summary_en: None,
            period_from: None,
            period_to: None,
            facts: String::new(),
            request_id: None,
            red_flag_id: None,
            created_at: self.created_at,
            updated_at: self.updated_at,
            published_at: self.published_at,
            completed_at: self.completed_at,
            delivered_at: self.delivered_at,
            answered_at: self.answered_at,
            closed_at: self.closed_at,
            withdrawn_at: self.withdrawn_at,
            deliver_by: self.deliver_by,
            answer_due: self.answer_due,
            calendar_version: None,
            escalated_at: self.escalated_at,
            escalated_to_organization_id: self.escalated_to_organization_id,
            escalation_due: self.escalation_due,
            escalation_answered_at: self.escalation_answered_at,
            deliver_passed_at: None,
            answer_passed_at: None,
            escalation_passed_at: None,
            hidden_at: None,
            hidden_reason: None,
            version: 0,
        }
    }

    fn key(&self, group_by: GroupBy) -> GroupKey {
        match group_by {
            GroupBy::Organization => GroupKey::Organization(self.target_organization_id),
            GroupBy::Council => GroupKey::Council(self.council_id),
            GroupBy::Region => GroupKey::Region(
                self.target_region_kato
                    .as_deref()
                    .filter(|code| code.len() >= 2 && code.is_char_boundary(2))
                    .map(|code| format!("{}0000000", &code[..2])),
            ),
            GroupBy::Kind => GroupKey::Kind(self.filer_kind),
        }
    }
}

#[derive(Debug, FromQueryResult)]
struct DecisionCount {
    finding_id: i64,
    decision: Decision,
    answers: i64,
}

#[derive(Debug, FromQueryResult)]
struct ResultCount {
    finding_id: i64,
    implementation_result: ImplementationResult,
    recommendations: i64,
}

fn to_finding<E: EntityTrait>(from: E::Column) -> RelationDef {
    E::belongs_to(finding::Entity).from(from).to(finding::Column::Id).into()
}

/// Which findings a feed shows; each given filter must hold.
#[derive(Debug, Clone, Default)]
pub struct FeedFilter {
    /// Findings against the organization with this BIN (for answers: also the answers this
    /// organization gave, as a parent body after an escalation).
    pub organization_bin: Option<String>,
    /// Findings this council filed.
    pub council_id: Option<i64>,
}

/// An answer to a recommendation, as the public sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct AnswerEntry {
    /// The finding answered, as the public sees it (masked when a moderator hid it).
    pub finding: FindingView,
    pub number: i32,
    /// The target body's answer, or its parent's after an escalation.
    pub level: Level,
    /// The answer; its reasoning and measures read as the marker when the finding is hidden.
    pub response: ResponseView,
}

impl Findings {
    /// The figures of the published findings against one organization (404 when it does not
    /// exist).
    pub async fn organization_stats(&self, organization_id: i64) -> Result<ScrutinyFigures, DomainError> {
        if organization::Entity::find_by_id(organization_id).one(&self.db).await?.is_none() {
            return Err(DomainError::NotFound(format!("organization {organization_id}")));
        }
        let mut groups = self.tallies(GroupBy::Organization, Some(organization_id)).await?;
        let tally = groups.remove(&GroupKey::Organization(organization_id)).unwrap_or_default();
        Ok(tally.figures())
    }

    /// The figures of all published findings, grouped, ordered by `sort`, the first `limit`.
    pub async fn scrutiny_stats(
        &self,
        group_by: GroupBy,
        sort: Sort,
        limit: usize,
    ) -> Result<Vec<(GroupKey, ScrutinyFigures)>, DomainError> {
        let groups = self.tallies(group_by, None).await?;
        let mut report: Vec<(GroupKey, ScrutinyFigures)> =
            groups.into_iter().map(|(key, tally)| (key, tally.figures())).collect();
        report.sort_by(|a, b| compare(sort, a, b));
        report.truncate(limit);
        Ok(report)
    }

    /// The tallies of published findings by group, optionally of one target only.
    async fn tallies(&self, group_by: GroupBy, target: Option<i64>) -> Result<HashMap<GroupKey, Tally>, DomainError> {
        let now = self.clock.now();
        let published = finding::Column::Status.is_not_in(UNPUBLISHED);
        let of_target = |column: finding::Column| {
            let mut condition = Condition::all();
            if let Some(id) = target {
                condition = condition.add(column.eq(id));
            }
            condition
        };

        let facts = finding::Entity::find()
            .select_only()
            .columns([
                finding::Column::Id,
                finding::Column::Status,
                finding::Column::FilerKind,
                finding::Column::CouncilId,
                finding::Column::TargetOrganizationId,
                finding::Column::CreatedAt,
                finding::Column::UpdatedAt,
                finding::Column::PublishedAt,
                finding::Column::CompletedAt,
                finding::Column::DeliveredAt,
                finding::Column::AnsweredAt,
                finding::Column::ClosedAt,
                finding::Column::WithdrawnAt,
                finding::Column::DeliverBy,
                finding::Column::AnswerDue,
                finding::Column::EscalatedAt,
                finding::Column::EscalatedToOrganizationId,
                finding::Column::EscalationDue,
                finding::Column::EscalationAnsweredAt,
            ])
            .column_as(Expr::col((organization::Entity, organization::Column::RegionKato)), "target_region_kato")
            .join(
                JoinType::LeftJoin,
                finding::Entity::belongs_to(organization::Entity)
                    .from(finding::Column::TargetOrganizationId)
                    .to(organization::Column::Id)
                    .into(),
            )
            .filter(published.clone())
            .filter(of_target(finding::Column::TargetOrganizationId))
            .into_model::<FindingFacts>()
            .all(&self.db)
            .await?;

        let mut keys: HashMap<i64, GroupKey> = HashMap::with_capacity(facts.len());
        let mut groups: HashMap<GroupKey, Tally> = HashMap::new();
        for fact in &facts {
            let key = fact.key(group_by);
            let tally = groups.entry(key.clone()).or_default();
            let time = timeliness(&fact.row(), now);
            tally.findings += 1;
            if matches!(fact.status, Status::Delivered | Status::Answered | Status::Closed) {
                tally.received += 1;
            }
            if let Some(on_time) = time.delivered_on_time {
                tally.delivered_judged += 1;
                tally.delivered_on_time += u64::from(on_time);
            }
            if let Some(on_time) = time.answered_on_time {
                tally.answered_judged += 1;
                tally.answered_on_time += u64::from(on_time);
            }
            tally.overdue_now += u64::from(time.overdue);
            keys.insert(fact.id, key);
        }

        let decisions = response::Entity::find()
            .select_only()
            .column(response::Column::FindingId)
            .column(response::Column::Decision)
            .column_as(SimpleExpr::from(Func::count(Expr::col((response::Entity, response::Column::Id)))), "answers")
            .join(JoinType::InnerJoin, to_finding::<response::Entity>(response::Column::FindingId))
            .filter(response::Column::Level.eq(Level::Target))
            .filter(published.clone())
            .filter(of_target(finding::Column::TargetOrganizationId))
            .group_by(response::Column::FindingId)
            .group_by(response::Column::Decision)
            .into_model::<DecisionCount>()
            .all(&self.db)
            .await?;
        for row in decisions {
            let Some(tally) = keys.get(&row.finding_id).and_then(|key| groups.get_mut(key)) else { continue };
            let count = row.answers.max(0) as u64;
            match row.decision {
                Decision::Accepted => tally.decisions.accepted += count,
                Decision::PartiallyAccepted => tally.decisions.partially_accepted += count,
                Decision::Declined => tally.decisions.declined += count,
            }
        }

        let results = recommendation::Entity::find()
            .select_only()
            .column(recommendation::Column::FindingId)
            .column(recommendation::Column::ImplementationResult)
            .column_as(
                SimpleExpr::from(Func::count(Expr::col((recommendation::Entity, recommendation::Column::Number)))),
                "recommendations",
            )
            .join(JoinType::InnerJoin, to_finding::<recommendation::Entity>(recommendation::Column::FindingId))
            .filter(recommendation::Column::ImplementationResult.is_not_null())
            .filter(published)
            .filter(of_target(finding::Column::TargetOrganizationId))
            .group_by(recommendation::Column::FindingId)
            .group_by(recommendation::Column::ImplementationResult)
            .into_model::<ResultCount>()
            .all(&self.db)
            .await?;
        for row in results {
            let Some(tally) = keys.get(&row.finding_id).and_then(|key| groups.get_mut(key)) else { continue };
            let count = row.recommendations.max(0) as u64;
            tally.assessed += count;
            if row.implementation_result == ImplementationResult::Implemented {
                tally.implemented += count;
            }
        }
        Ok(groups)
    }

    /// The feed filter as conditions on findings (and, for answers, on the answering body).
    async fn feed_scope(&self, filter: &FeedFilter) -> Result<(Option<i64>, Option<i64>), DomainError> {
        let organization_id = match &filter.organization_bin {
            Some(bin) => Some(
                organization::Entity::find()
                    .filter(organization::Column::Bin.eq(bin.as_str()))
                    .one(&self.db)
                    .await?
                    .ok_or_else(|| DomainError::NotFound(format!("organization with BIN {bin}")))?
                    .id,
            ),
            None => None,
        };
        if let Some(id) = filter.council_id
            && council::Entity::find_by_id(id).one(&self.db).await?.is_none()
        {
            return Err(DomainError::NotFound(format!("council {id}")));
        }
        Ok((organization_id, filter.council_id))
    }

    /// The `limit` most recently published findings the filter selects, newest first (by
    /// publication, then id), as the public sees them. 404 for an unknown BIN or council.
    pub async fn recent_findings(&self, filter: &FeedFilter, limit: u64) -> Result<Vec<FindingView>, DomainError> {
        let (organization_id, council_id) = self.feed_scope(filter).await?;
        let mut query = finding::Entity::find().filter(finding::Column::Status.is_not_in(UNPUBLISHED));
        if let Some(id) = organization_id {
            query = query.filter(finding::Column::TargetOrganizationId.eq(id));
        }
        if let Some(id) = council_id {
            query = query.filter(finding::Column::CouncilId.eq(id));
        }
        let rows = query
            .order_by_desc(finding::Column::PublishedAt)
            .order_by_desc(finding::Column::Id)
            .limit(limit)
            .all(&self.db)
            .await?;
        views(&self.db, &Actor::Anonymous, rows, self.clock.now()).await
    }

    /// The `limit` latest answers to recommendations of published findings, target and
    /// escalation level alike, newest first (by answer, then id), as the public sees them.
    /// With an organization, the answers on findings against it and those it gave itself.
    /// 404 for an unknown BIN or council.
    pub async fn recent_answers(&self, filter: &FeedFilter, limit: u64) -> Result<Vec<AnswerEntry>, DomainError> {
        let (organization_id, council_id) = self.feed_scope(filter).await?;
        let mut query = response::Entity::find()
            .join(JoinType::InnerJoin, to_finding::<response::Entity>(response::Column::FindingId))
            .filter(finding::Column::Status.is_not_in(UNPUBLISHED));
        if let Some(id) = organization_id {
            query = query.filter(
                Condition::any()
                    .add(finding::Column::TargetOrganizationId.eq(id))
                    .add(response::Column::OrganizationId.eq(id)),
            );
        }
        if let Some(id) = council_id {
            query = query.filter(finding::Column::CouncilId.eq(id));
        }
        let answers = query
            .order_by_desc(response::Column::AnsweredAt)
            .order_by_desc(response::Column::Id)
            .limit(limit)
            .all(&self.db)
            .await?;
        let ids: BTreeSet<i64> = answers.iter().map(|a| a.finding_id).collect();
        let rows = finding::Entity::find().filter(finding::Column::Id.is_in(ids)).all(&self.db).await?;
        let findings: BTreeMap<i64, FindingView> = views(&self.db, &Actor::Anonymous, rows, self.clock.now())
            .await?
            .into_iter()
            .map(|view| (view.id, view))
            .collect();
        let mut entries = Vec::with_capacity(answers.len());
        for answer in answers {
            let Some(view) = findings.get(&answer.finding_id) else { continue };
            let hidden = view.hidden.is_some();
            let mask = |text: String| if hidden { HIDDEN_MARKER.to_owned() } else { text };
            entries.push(AnswerEntry {
                finding: view.clone(),
                number: answer.number,
                level: answer.level,
                response: ResponseView {
                    organization_id: answer.organization_id,
                    decision: answer.decision,
                    reasoning: mask(answer.reasoning),
                    measures: answer.measures.map(mask),
                    implement_by: answer.implement_by,
                    answered_at: answer.answered_at,
                },
            });
        }
        Ok(entries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(value: Option<Decimal>) -> String {
        value.map(|d| d.to_string()).unwrap_or_default()
    }

    #[test]
    fn one_of_one_is_somewhere_between_a_fifth_and_all() {
        let rate = Rate::new(1, 1);
        assert_eq!(text(rate.rate), "1.0000");
        // Low = 1 / (1 + z²) = 0.206547…, high = 1.
        assert_eq!((text(rate.wilson_low), text(rate.wilson_high)), ("0.2065".into(), "1.0000".into()));
    }

    #[test]
    fn wilson_intervals_match_the_formula() {
        let cases = [
            (0, 1, "0.0000", "0.0000", "0.7935"),
            (5, 10, "0.5000", "0.2366", "0.7634"),
            (1, 3, "0.3333", "0.0615", "0.7923"),
            (2, 3, "0.6667", "0.2077", "0.9385"),
            (90, 100, "0.9000", "0.8256", "0.9448"),
        ];
        for (successes, trials, rate, low, high) in cases {
            let r = Rate::new(successes, trials);
            assert_eq!(
                (text(r.rate), text(r.wilson_low), text(r.wilson_high)),
                (rate.to_owned(), low.to_owned(), high.to_owned()),
                "{successes} of {trials}"
            );
        }
    }

    #[test]
    fn no_trials_means_no_rate() {
        let rate = Rate::new(0, 0);
        assert_eq!((rate.rate, rate.wilson_low, rate.wilson_high), (None, None, None));
    }

    #[test]
    fn rates_sort_by_proportion_with_empty_ones_last_either_way() {
        let group = |id, s, t| {
            let mut tally = Tally { findings: t, ..Tally::default() };
            tally.answered_on_time = s;
            tally.answered_judged = t;
            (GroupKey::Organization(id), tally.figures())
        };
        let mut report = vec![group(1, 1, 2), group(2, 0, 0), group(3, 2, 3), group(4, 1, 4)];
        let ids = |report: &[(GroupKey, ScrutinyFigures)]| {
            report
                .iter()
                .map(|(key, _)| match key {
                    GroupKey::Organization(id) => *id,
                    _ => unreachable!(),
                })
                .collect::<Vec<_>>()
        };
        report.sort_by(|a, b| compare(Sort { field: SortField::AnsweredOnTime, descending: true }, a, b));
        assert_eq!(ids(&report), [3, 1, 4, 2]);
        report.sort_by(|a, b| compare(Sort { field: SortField::AnsweredOnTime, descending: false }, a, b));
        assert_eq!(ids(&report), [4, 1, 3, 2]);
        assert!(report.iter().all(|(_, f)| f.small_sample));
    }
}
