//! Scrutiny statistics: how bodies answer public control, per organization and grouped.
//! Every handler parses, calls one `domain::findings` function and presents the result.

use poem::Request;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};

use domain::findings::Findings;
use domain::findings::stats::{self, GroupBy, GroupKey, Rate, SortField};

use super::ApiTags;
use super::findings::FilerKind;
use crate::dto::{OrganizationRef, Timestamp, preferred_language};
use crate::error::{ApiError, ApiResult};
use crate::lists::organizations_by_id;

pub struct ScrutinyStatsApi {
    pub findings: Findings,
    /// Figures kept while the data is unchanged (and for at most a minute: `overdue_now`
    /// moves with the clock, and the deadline sweep records it within its interval).
    pub cache: std::sync::Arc<domain::cache::ResultCache>,
}

/// The minute a figure was computed in, part of its cache key.
fn minute(at: chrono::DateTime<chrono::Utc>) -> i64 {
    at.timestamp() / 60
}

/// A proportion with its sample size and its 95 % Wilson score interval (z = 1.959964).
/// The rate and the bounds are decimal strings with four places between `0.0000` and
/// `1.0000`, rounded half away from zero; all three are absent when `trials` is 0.
#[derive(Debug, Clone, Object)]
pub struct ScrutinyRate {
    /// How many of the trials succeeded.
    pub successes: u64,
    /// The sample size.
    pub trials: u64,
    /// `successes / trials`, e.g. `0.7500`.
    #[oai(skip_serializing_if_is_none)]
    pub rate: Option<String>,
    /// The lower bound of the 95 % Wilson score interval, e.g. `0.2065` for 1 of 1.
    #[oai(skip_serializing_if_is_none)]
    pub wilson_low: Option<String>,
    /// The upper bound of the 95 % Wilson score interval.
    #[oai(skip_serializing_if_is_none)]
    pub wilson_high: Option<String>,
}

impl From<Rate> for ScrutinyRate {
    fn from(rate: Rate) -> Self {
        let text = |d: Option<rust_decimal::Decimal>| d.map(|d| d.to_string());
        ScrutinyRate {
            successes: rate.successes,
            trials: rate.trials,
            rate: text(rate.rate),
            wilson_low: text(rate.wilson_low),
            wilson_high: text(rate.wilson_high),
        }
    }
}

/// The target bodies' decisions on recommendations (answers by a parent body after an
/// escalation are not counted).
#[derive(Debug, Clone, Object)]
pub struct ScrutinyDecisions {
    /// Recommendations accepted.
    pub accepted: u64,
    /// Recommendations accepted in part.
    pub partially_accepted: u64,
    /// Recommendations declined (after a hearing).
    pub declined: u64,
}

/// Scrutiny figures over published findings (in progress, completed, delivered, answered or
/// closed; drafts and withdrawn findings never count). Deadlines are judged at the time of
/// the request, by the end of the due day in Kazakhstan time.
#[derive(Debug, Clone, Object)]
pub struct ScrutinyFigures {
    /// Published findings.
    pub findings: u64,
    /// Of those, the ones the body received: delivered, answered or closed.
    pub received: u64,
    /// Final documents delivered to the body by `deliver_by`, over those delivered or past
    /// `deliver_by` undelivered: the filers' timeliness.
    pub delivered_on_time: ScrutinyRate,
    /// Findings whose every recommendation the body answered by `answer_due`, over those
    /// answered or past `answer_due` unanswered: the body's timeliness.
    pub answered_on_time: ScrutinyRate,
    /// Findings with a due date passed and its step not taken, now.
    pub overdue_now: u64,
    /// The target bodies' decisions, counted per recommendation.
    pub decisions: ScrutinyDecisions,
    /// Recommendations accepted wholly or in part, over those the target body answered.
    pub acceptance: ScrutinyRate,
    /// Recommendations the filers judged implemented, over those they assessed.
    pub implementation: ScrutinyRate,
    /// Fewer than 5 findings: the rates rest on too few cases to compare.
    pub small_sample: bool,
}

impl From<stats::ScrutinyFigures> for ScrutinyFigures {
    fn from(figures: stats::ScrutinyFigures) -> Self {
        ScrutinyFigures {
            findings: figures.findings,
            received: figures.received,
            delivered_on_time: figures.delivered_on_time.into(),
            answered_on_time: figures.answered_on_time.into(),
            overdue_now: figures.overdue_now,
            decisions: ScrutinyDecisions {
                accepted: figures.decisions.accepted,
                partially_accepted: figures.decisions.partially_accepted,
                declined: figures.decisions.declined,
            },
            acceptance: figures.acceptance.into(),
            implementation: figures.implementation.into(),
            small_sample: figures.small_sample,
        }
    }
}

/// One organization's scrutiny figures, as the target of findings.
#[derive(Debug, Clone, Object)]
pub struct OrganizationScrutinyStats {
    pub organization: OrganizationRef,
    pub figures: ScrutinyFigures,
    /// The instant deadlines were judged at (RFC 3339, UTC).
    pub computed_at: Timestamp,
}

/// How findings are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum ScrutinyGroupBy {
    /// By target organization; the key is its id.
    Organization,
    /// By filing council; the key is its id, absent for the group of findings citizens and
    /// non-profits filed in their own name.
    Council,
    /// By the target's region: the first two KATO digits followed by zeros, e.g. `750000000`;
    /// absent for targets without a KATO code.
    Region,
    /// By kind of filer; the key is `council`, `citizen` or `ngo`.
    Kind,
}

/// Orders for scrutiny groups: a field ascending, or descending with `-`. Rates order by
/// their exact proportion, groups without trials last either way; ties go to more findings,
/// then to the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum ScrutinySort {
    /// Fewest findings first.
    #[oai(rename = "findings")]
    Findings,
    /// Most findings first (the default).
    #[oai(rename = "-findings")]
    FindingsDesc,
    /// Fewest received first.
    #[oai(rename = "received")]
    Received,
    /// Most received first.
    #[oai(rename = "-received")]
    ReceivedDesc,
    /// Fewest overdue first.
    #[oai(rename = "overdue_now")]
    OverdueNow,
    /// Most overdue first.
    #[oai(rename = "-overdue_now")]
    OverdueNowDesc,
    /// Lowest on-time delivery first.
    #[oai(rename = "delivered_on_time")]
    DeliveredOnTime,
    /// Highest on-time delivery first.
    #[oai(rename = "-delivered_on_time")]
    DeliveredOnTimeDesc,
    /// Lowest on-time answer first.
    #[oai(rename = "answered_on_time")]
    AnsweredOnTime,
    /// Highest on-time answer first.
    #[oai(rename = "-answered_on_time")]
    AnsweredOnTimeDesc,
    /// Lowest acceptance first.
    #[oai(rename = "acceptance")]
    Acceptance,
    /// Highest acceptance first.
    #[oai(rename = "-acceptance")]
    AcceptanceDesc,
    /// Lowest implementation first.
    #[oai(rename = "implementation")]
    Implementation,
    /// Highest implementation first.
    #[oai(rename = "-implementation")]
    ImplementationDesc,
}

impl From<ScrutinySort> for stats::Sort {
    fn from(sort: ScrutinySort) -> Self {
        use ScrutinySort as S;
        let (field, descending) = match sort {
            S::Findings => (SortField::Findings, false),
            S::FindingsDesc => (SortField::Findings, true),
            S::Received => (SortField::Received, false),
            S::ReceivedDesc => (SortField::Received, true),
            S::OverdueNow => (SortField::OverdueNow, false),
            S::OverdueNowDesc => (SortField::OverdueNow, true),
            S::DeliveredOnTime => (SortField::DeliveredOnTime, false),
            S::DeliveredOnTimeDesc => (SortField::DeliveredOnTime, true),
            S::AnsweredOnTime => (SortField::AnsweredOnTime, false),
            S::AnsweredOnTimeDesc => (SortField::AnsweredOnTime, true),
            S::Acceptance => (SortField::Acceptance, false),
            S::AcceptanceDesc => (SortField::Acceptance, true),
            S::Implementation => (SortField::Implementation, false),
            S::ImplementationDesc => (SortField::Implementation, true),
        };
        stats::Sort { field, descending }
    }
}

/// One group of a scrutiny report.
#[derive(Debug, Clone, Object)]
pub struct ScrutinyGroup {
    /// The group's key (see `group_by`); absent for the group without a council or region.
    #[oai(skip_serializing_if_is_none)]
    pub key: Option<String>,
    /// The target organization, when grouping by organization.
    #[oai(skip_serializing_if_is_none)]
    pub organization: Option<OrganizationRef>,
    pub figures: ScrutinyFigures,
}

/// Scrutiny figures by group.
#[derive(Debug, Clone, Object)]
pub struct ScrutinyStats {
    pub group_by: ScrutinyGroupBy,
    pub sort: ScrutinySort,
    /// The groups in `sort` order, at most `limit`.
    pub groups: Vec<ScrutinyGroup>,
    /// The instant deadlines were judged at (RFC 3339, UTC).
    pub computed_at: Timestamp,
}

#[derive(ApiResponse)]
pub enum OrganizationScrutinyResponse {
    /// The organization's figures.
    #[oai(status = 200)]
    Ok(Json<OrganizationScrutinyStats>),
}

#[derive(ApiResponse)]
pub enum ScrutinyStatsResponse {
    /// The groups' figures.
    #[oai(status = 200)]
    Ok(Json<ScrutinyStats>),
}

fn key_text(key: &GroupKey) -> Option<String> {
    match key {
        GroupKey::Organization(id) => Some(id.to_string()),
        GroupKey::Council(id) => id.map(|id| id.to_string()),
        GroupKey::Region(code) => code.clone(),
        GroupKey::Kind(kind) => {
            let kind: FilerKind = (*kind).into();
            poem_openapi::types::ToJSON::to_json(&kind).and_then(|v| v.as_str().map(str::to_owned))
        }
    }
}

#[OpenApi(tag = "ApiTags::Findings")]
impl ScrutinyStatsApi {
    /// An organization's scrutiny figures
    ///
    /// How the organization fared as the target of published findings: how many it
    /// received, how many it answered on time, how many are overdue now, its decisions, and
    /// how many accepted recommendations the filers judged implemented. Every rate comes with
    /// its sample size and a 95 % Wilson interval; fewer than 5 findings are flagged
    /// `small_sample`.
    #[oai(path = "/v1/organizations/:id/scrutiny-stats", method = "get", operation_id = "getOrganizationScrutinyStats")]
    async fn organization(
        &self,
        req: &Request,
        /// The organization's id.
        #[oai(name = "id")]
        id: Path<i64>,
    ) -> ApiResult<OrganizationScrutinyResponse> {
        let computed_at = self.findings.clock.now();
        let key = format!("scrutiny-stats:organization:{}:{}", id.0, minute(computed_at));
        let figures =
            self.cache.get_or_compute(&self.findings.db, key, || self.findings.organization_stats(id.0)).await?;
        let organizations = organizations_by_id(&self.findings.db, [id.0]).await?;
        let organization =
            organizations.get(&id.0).ok_or_else(|| ApiError::not_found(&format!("organization {}", id.0)))?;
        Ok(OrganizationScrutinyResponse::Ok(Json(OrganizationScrutinyStats {
            organization: OrganizationRef::new(organization, preferred_language(req)),
            figures: figures.into(),
            computed_at: computed_at.into(),
        })))
    }

    /// Scrutiny figures by group
    ///
    /// The figures of published findings grouped by target organization, filing council,
    /// the target's region or kind of filer, ordered by a figure. Every rate comes with its
    /// sample size and a 95 % Wilson interval; groups of fewer than 5 findings are flagged
    /// `small_sample`, to be read with care.
    #[oai(path = "/v1/stats/scrutiny", method = "get", operation_id = "getScrutinyStats")]
    async fn grouped(
        &self,
        req: &Request,
        /// How to group.
        #[oai(name = "group_by")]
        group_by: Query<ScrutinyGroupBy>,
        /// The order: a field ascending, or with `-` descending; `-findings` when absent.
        #[oai(name = "sort")]
        sort: Query<Option<ScrutinySort>>,
        /// How many groups to list, 1 to 1000; 100 when absent.
        #[oai(name = "limit", validator(minimum(value = "1"), maximum(value = "1000")))]
        limit: Query<Option<u32>>,
    ) -> ApiResult<ScrutinyStatsResponse> {
        let computed_at = self.findings.clock.now();
        let grouping = match group_by.0 {
            ScrutinyGroupBy::Organization => GroupBy::Organization,
            ScrutinyGroupBy::Council => GroupBy::Council,
            ScrutinyGroupBy::Region => GroupBy::Region,
            ScrutinyGroupBy::Kind => GroupBy::Kind,
        };
        let sort_param = sort.0.unwrap_or(ScrutinySort::FindingsDesc);
        let limit = limit.0.unwrap_or(100) as usize;
        let key = format!("scrutiny-stats:{grouping:?}:{sort_param:?}:{limit}:{}", minute(self.findings.clock.now()));
        let report = self
            .cache
            .get_or_compute(&self.findings.db, key, || self.findings.scrutiny_stats(grouping, sort_param.into(), limit))
            .await?;
        let organizations = if grouping == GroupBy::Organization {
            let ids = report.iter().filter_map(|(key, _)| match key {
                GroupKey::Organization(id) => Some(*id),
                _ => None,
            });
            organizations_by_id(&self.findings.db, ids).await?
        } else {
            Default::default()
        };
        let language = preferred_language(req);
        let groups = report
            .into_iter()
            .map(|(key, figures)| ScrutinyGroup {
                key: key_text(&key),
                organization: match key {
                    GroupKey::Organization(id) => organizations.get(&id).map(|org| OrganizationRef::new(org, language)),
                    _ => None,
                },
                figures: figures.into(),
            })
            .collect();
        Ok(ScrutinyStatsResponse::Ok(Json(ScrutinyStats {
            group_by: group_by.0,
            sort: sort_param,
            groups,
            computed_at: computed_at.into(),
        })))
    }
}
