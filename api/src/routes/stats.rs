//! Spending aggregates for dashboards.

use std::sync::Arc;

use poem::Request;
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use sea_orm::DatabaseConnection;

use domain::cache::ResultCache;

use domain::listing::Filters;
use domain::money::format_minor_units;
use domain::stats::{self, BasisSum, GroupBy, GroupTotal, Measure};

use super::ApiTags;
use crate::dto::Day;
use crate::dto::{Money, OrganizationKind, OrganizationRef, preferred_language};
use crate::error::ApiResult;
use crate::lists::{check_ranges, organizations_by_id, parse_amount, parse_param};
use crate::vocab::{ContractStatus, ProcurementMethod, stored};

pub struct StatsApi {
    pub db: DatabaseConnection,
    /// Counts and aggregates kept while the data is unchanged.
    pub cache: Arc<ResultCache>,
}

/// What is summed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum SpendingMeasure {
    /// Contract amounts after amendments, dated by signing (the default).
    Contracts,
    /// Payment amounts, dated by payment; buyer and supplier are payer and payee.
    Payments,
}

/// How amounts are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum SpendingGroup {
    /// By buyer (payer); the key is the organization's id.
    Buyer,
    /// By supplier (payee); the key is the organization's id.
    Supplier,
    /// By the buyer's region; the key is the region's KATO code, e.g. `750000000`.
    Region,
    /// By calendar month (UTC) of signing or payment; the key is `YYYY-MM`.
    Month,
    /// By fiscal year; the key is the year.
    Year,
    /// By procurement method (for payments, their contract's); the key is the method.
    ProcurementMethod,
}

/// One group of a spending report.
#[derive(Debug, Clone, Object)]
pub struct SpendingGroupTotal {
    /// The group's key (see `group_by`); absent for the `other` row and for rows without a value.
    #[oai(skip_serializing_if_is_none)]
    pub key: Option<String>,
    /// The buyer or supplier, when grouping by organization.
    #[oai(skip_serializing_if_is_none)]
    pub organization: Option<OrganizationRef>,
    /// How many contracts or payments the group holds.
    pub count: u64,
    /// Their exact sums, one per currency and VAT basis.
    pub amounts: Vec<Money>,
}

/// Amounts grouped for a dashboard. The groups plus `other` add up exactly to `total`.
#[derive(Debug, Clone, Object)]
pub struct SpendingStats {
    pub measure: SpendingMeasure,
    pub group_by: SpendingGroup,
    /// The largest groups, largest first (by amount across bases; ties by key).
    pub groups: Vec<SpendingGroupTotal>,
    /// Every group beyond the `top` ones, summed; absent when all groups are listed.
    #[oai(skip_serializing_if_is_none)]
    pub other: Option<SpendingGroupTotal>,
    /// How many groups there are in all.
    pub group_count: u64,
    /// Everything matching the filters.
    pub total: SpendingGroupTotal,
}

/// One buyer's share of contracts awarded without competition.
#[derive(Debug, Clone, Object)]
pub struct NonCompetitiveShare {
    pub buyer: OrganizationRef,
    /// Contracts the buyer signed.
    pub contract_count: u64,
    /// Of those, signed with a single source.
    pub single_source_count: u64,
    /// All their amounts, in major units as a decimal string, summed as stored.
    pub amount: String,
    /// The single-source contracts' amounts, likewise.
    pub single_source_amount: String,
    /// `single_source_amount / amount` in percent, two decimals, rounded half up.
    pub share_percent: String,
}

/// Buyers by non-competitive share.
#[derive(Debug, Clone, Object)]
pub struct NonCompetitiveStats {
    /// One row per buyer, highest share first.
    pub items: Vec<NonCompetitiveShare>,
}

#[derive(ApiResponse)]
pub enum SpendingResponse {
    /// The grouped amounts.
    #[oai(status = 200)]
    Ok(Json<SpendingStats>),
}

#[derive(ApiResponse)]
pub enum NonCompetitiveResponse {
    /// The buyers' shares.
    #[oai(status = 200)]
    Ok(Json<NonCompetitiveStats>),
}

fn amounts(sums: &[BasisSum]) -> Vec<Money> {
    sums.iter().map(|sum| Money::total(sum.minor_units, &sum.currency, sum.vat_included)).collect()
}

#[OpenApi(tag = "ApiTags::Stats")]
impl StatsApi {
    /// Spending by group
    ///
    /// Contract or payment amounts summed by buyer, supplier, region, month, year or
    /// procurement method, over the rows the filters select (the same filters as the lists).
    /// Sums are exact and never mix currencies or VAT bases; the `top` groups are listed and
    /// the rest summed into `other`, so the rows always add up to `total`.
    #[oai(path = "/v1/stats/spending", method = "get", operation_id = "getSpendingStats")]
    #[allow(clippy::too_many_arguments)]
    async fn spending(
        &self,
        req: &Request,
        /// How to group.
        #[oai(name = "group_by")]
        group_by: Query<SpendingGroup>,
        /// What to sum: `contracts` (default) or `payments`.
        #[oai(name = "measure")]
        measure: Query<Option<SpendingMeasure>>,
        /// How many of the largest groups to list, 1 to 1000; 10 when absent.
        #[oai(name = "top", validator(minimum(value = "1"), maximum(value = "1000")))]
        top: Query<Option<u32>>,
        /// Only this buyer's (payer's) rows (BIN).
        #[oai(name = "buyer_bin", validator(pattern = r"^[0-9]{12}$"))]
        buyer_bin: Query<Option<String>>,
        /// Only this supplier's (payee's) rows (BIN or IIN).
        #[oai(name = "supplier_bin", validator(pattern = r"^[0-9]{12}$"))]
        supplier_bin: Query<Option<String>>,
        /// Only rows whose buyer is of this kind, e.g. `quasi_public`.
        #[oai(name = "buyer_kind")]
        buyer_kind: Query<Option<OrganizationKind>>,
        /// Only rows whose buyer is registered in this territory (KATO code, with its sub-territories).
        #[oai(name = "region", validator(pattern = r"^[0-9]{9}$"))]
        region: Query<Option<String>>,
        /// Only contracts in this status (contracts only).
        #[oai(name = "status")]
        status: Query<Option<ContractStatus>>,
        /// Only contracts procured this way (contracts only).
        #[oai(name = "procurement_method")]
        procurement_method: Query<Option<ProcurementMethod>>,
        /// Only rows of this fiscal year.
        #[oai(name = "fiscal_year", validator(minimum(value = "1990"), maximum(value = "2100")))]
        fiscal_year: Query<Option<i32>>,
        /// Only rows signed or paid on or after this day (UTC).
        #[oai(name = "date_from")]
        date_from: Query<Option<Day>>,
        /// Only rows signed or paid on or before this day (UTC).
        #[oai(name = "date_to")]
        date_to: Query<Option<Day>>,
        /// Only rows of at least this amount, in major units.
        #[oai(name = "amount_min", validator(pattern = r"^[0-9]{1,15}(\.[0-9]{1,2})?$"))]
        amount_min: Query<Option<String>>,
        /// Only rows of at most this amount, in major units.
        #[oai(name = "amount_max", validator(pattern = r"^[0-9]{1,15}(\.[0-9]{1,2})?$"))]
        amount_max: Query<Option<String>>,
    ) -> ApiResult<SpendingResponse> {
        let filters = Filters {
            buyer_bin: parse_param("buyer_bin", buyer_bin.0)?,
            supplier_bin: parse_param("supplier_bin", supplier_bin.0)?,
            buyer_kind: buyer_kind.0.map(Into::into),
            region: parse_param("region", region.0)?,
            status: status.0.map(|s| stored(domain::entities::ContractStatus::from(s))),
            method: procurement_method.0.map(Into::into),
            fiscal_year: fiscal_year.0,
            date_from: date_from.0.map(Into::into),
            date_to: date_to.0.map(Into::into),
            amount_min: parse_amount("amount_min", amount_min.0)?,
            amount_max: parse_amount("amount_max", amount_max.0)?,
            ..Filters::default()
        };
        check_ranges(&filters)?;
        let measure_param = measure.0.unwrap_or(SpendingMeasure::Contracts);
        let measure_domain = match measure_param {
            SpendingMeasure::Contracts => Measure::Contracts,
            SpendingMeasure::Payments => Measure::Payments,
        };
        let group = match group_by.0 {
            SpendingGroup::Buyer => GroupBy::Buyer,
            SpendingGroup::Supplier => GroupBy::Supplier,
            SpendingGroup::Region => GroupBy::Region,
            SpendingGroup::Month => GroupBy::Month,
            SpendingGroup::Year => GroupBy::Year,
            SpendingGroup::ProcurementMethod => GroupBy::ProcurementMethod,
        };
        let top = top.0.unwrap_or(10) as usize;
        let key = format!("spending:{measure_domain:?}:{group:?}:{top}:{filters:?}");
        let report = self
            .cache
            .get_or_compute(&self.db, key, || stats::spending(&self.db, measure_domain, group, &filters, top))
            .await?;
        let language = preferred_language(req);
        let by_organization = matches!(group, GroupBy::Buyer | GroupBy::Supplier);
        let organizations = if by_organization {
            let ids = report.groups.iter().filter_map(|g| g.key.as_deref()?.parse::<i64>().ok());
            organizations_by_id(&self.db, ids).await?
        } else {
            Default::default()
        };
        let row = |group: &GroupTotal| SpendingGroupTotal {
            key: group.key.clone(),
            organization: group
                .key
                .as_deref()
                .and_then(|key| key.parse::<i64>().ok())
                .filter(|_| by_organization)
                .and_then(|id| organizations.get(&id))
                .map(|org| OrganizationRef::new(org, language)),
            count: group.count,
            amounts: amounts(&group.sums),
        };
        Ok(SpendingResponse::Ok(Json(SpendingStats {
            measure: measure_param,
            group_by: group_by.0,
            groups: report.groups.iter().map(row).collect(),
            other: report.other.as_ref().map(row),
            group_count: report.group_count,
            total: row(&report.total),
        })))
    }

    /// Non-competitive share per buyer
    ///
    /// For each buyer, how much of its contracting went to a single source without
    /// competition, as counts, amounts and a percentage, highest share first. Takes the
    /// contract filters.
    #[oai(path = "/v1/stats/non-competitive", method = "get", operation_id = "getNonCompetitiveStats")]
    #[allow(clippy::too_many_arguments)]
    async fn non_competitive(
        &self,
        req: &Request,
        /// Only this buyer (BIN).
        #[oai(name = "buyer_bin", validator(pattern = r"^[0-9]{12}$"))]
        buyer_bin: Query<Option<String>>,
        /// Only buyers of this kind, e.g. `quasi_public`.
        #[oai(name = "buyer_kind")]
        buyer_kind: Query<Option<OrganizationKind>>,
        /// Only buyers registered in this territory (KATO code, with its sub-territories).
        #[oai(name = "region", validator(pattern = r"^[0-9]{9}$"))]
        region: Query<Option<String>>,
        /// Only contracts of this fiscal year.
        #[oai(name = "fiscal_year", validator(minimum(value = "1990"), maximum(value = "2100")))]
        fiscal_year: Query<Option<i32>>,
        /// Only contracts signed on or after this day (UTC).
        #[oai(name = "date_from")]
        date_from: Query<Option<Day>>,
        /// Only contracts signed on or before this day (UTC).
        #[oai(name = "date_to")]
        date_to: Query<Option<Day>>,
    ) -> ApiResult<NonCompetitiveResponse> {
        let filters = Filters {
            buyer_bin: parse_param("buyer_bin", buyer_bin.0)?,
            buyer_kind: buyer_kind.0.map(Into::into),
            region: parse_param("region", region.0)?,
            fiscal_year: fiscal_year.0,
            date_from: date_from.0.map(Into::into),
            date_to: date_to.0.map(Into::into),
            ..Filters::default()
        };
        check_ranges(&filters)?;
        let key = format!("non-competitive:{filters:?}");
        let shares =
            self.cache.get_or_compute(&self.db, key, || stats::non_competitive_shares(&self.db, &filters)).await?;
        let organizations = organizations_by_id(&self.db, shares.iter().map(|s| s.buyer_id)).await?;
        let language = preferred_language(req);
        let items = shares
            .into_iter()
            .filter_map(|share| {
                let buyer = organizations.get(&share.buyer_id)?;
                Some(NonCompetitiveShare {
                    buyer: OrganizationRef::new(buyer, language),
                    contract_count: share.contract_count,
                    single_source_count: share.single_source_count,
                    amount: format_minor_units(share.amount_minor),
                    single_source_amount: format_minor_units(share.single_source_amount_minor),
                    share_percent: share.share_percent.to_string(),
                })
            })
            .collect();
        Ok(NonCompetitiveResponse::Ok(Json(NonCompetitiveStats { items })))
    }
}
