//! Spending aggregates for dashboards: contracts or payments summed by buyer, supplier,
//! region, month, year or procurement method, with the list filters.
//!
//! Sums are exact integers (minor units) kept apart per currency and VAT basis, and the rows
//! of a report always add up to its total: when only the top groups are asked for, the rest
//! are summed into one `other` row rather than dropped.

use std::collections::BTreeMap;

use rust_decimal::{Decimal, RoundingStrategy};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func, SimpleExpr};
use sea_orm::{ActiveEnum, DatabaseBackend, DatabaseConnection, FromQueryResult, JoinType, QueryTrait};

use crate::DomainError;
use crate::entities::{ProcurementMethod, contract, organization, payment};
use crate::listing::{self, Filters};

/// What is summed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    /// Contract amounts (after amendments), dated by signing.
    Contracts,
    /// Payment amounts, dated by payment.
    Payments,
}

/// How rows are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    /// The buyer (for payments, the payer); the key is its id.
    Buyer,
    /// The supplier (for payments, the payee); the key is its id.
    Supplier,
    /// The buyer's region: the first two KATO digits followed by zeros, e.g. `750000000`.
    Region,
    /// The calendar month of signing or payment (UTC), `YYYY-MM`.
    Month,
    /// The fiscal year.
    Year,
    /// The procurement method (for payments, their contract's).
    ProcurementMethod,
}

/// An exact sum in one currency and VAT basis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BasisSum {
    pub currency: String,
    pub vat_included: bool,
    pub minor_units: i64,
}

/// One group: its key, how many rows it holds, and their sums.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupTotal {
    /// `None` for rows without a value (a payment without a contract, grouped by method).
    pub key: Option<String>,
    pub count: u64,
    /// One sum per currency and VAT basis, in (currency, basis) order.
    pub sums: Vec<BasisSum>,
}

impl GroupTotal {
    fn new(key: Option<String>) -> Self {
        GroupTotal { key, count: 0, sums: Vec::new() }
    }

    fn add(&mut self, count: u64, sums: &[BasisSum]) {
        self.count += count;
        for sum in sums {
            match self.sums.iter_mut().find(|s| s.currency == sum.currency && s.vat_included == sum.vat_included) {
                Some(existing) => existing.minor_units += sum.minor_units,
                None => self.sums.push(sum.clone()),
            }
        }
        self.sums.sort_by(|a, b| (&a.currency, a.vat_included).cmp(&(&b.currency, b.vat_included)));
    }

    /// The sort weight of a group: its minor units summed across bases. Used for ranking
    /// only; the reported sums stay apart.
    fn weight(&self) -> i128 {
        self.sums.iter().map(|s| i128::from(s.minor_units)).sum()
    }
}

/// A spending report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpendingReport {
    /// The largest groups, largest first (ties by key).
    pub groups: Vec<GroupTotal>,
    /// Every group beyond the top ones, summed; absent when all groups are listed.
    pub other: Option<GroupTotal>,
    /// How many groups there are in all.
    pub group_count: u64,
    /// All matching rows: equals the groups plus `other`.
    pub total: GroupTotal,
}

#[derive(Debug, FromQueryResult)]
struct GroupRow {
    group_key: Option<String>,
    currency: String,
    vat_included: bool,
    row_count: i64,
    minor_units: i64,
}

fn cast_text(expr: SimpleExpr) -> SimpleExpr {
    expr.cast_as(Alias::new("TEXT"))
}

/// The month of a timestamp column, `YYYY-MM`, as each engine stores it.
fn month_of(backend: DatabaseBackend, table: &str, column: &str) -> SimpleExpr {
    match backend {
        DatabaseBackend::Postgres => {
            Expr::cust(format!("to_char(\"{table}\".\"{column}\" AT TIME ZONE 'UTC', 'YYYY-MM')"))
        }
        // sea-orm stores UTC timestamps on SQLite as text starting `YYYY-MM-DD`.
        _ => Expr::cust(format!("substr(\"{table}\".\"{column}\", 1, 7)")),
    }
}

/// The region code of the joined organization's KATO code: its first two digits, then zeros.
fn region_of() -> SimpleExpr {
    Expr::cust("substr(\"organizations\".\"region_kato\", 1, 2) || '0000000'")
}

/// Sums `measure` grouped by `group_by` over the rows `filters` select, keeping the `top`
/// largest groups and summing the rest into `other`.
pub async fn spending(
    db: &DatabaseConnection,
    measure: Measure,
    group_by: GroupBy,
    filters: &Filters,
    top: usize,
) -> Result<SpendingReport, DomainError> {
    let backend = db.get_database_backend();
    let mut query = match measure {
        Measure::Contracts => listing::filtered::<contract::Entity>(backend, filters).into_query(),
        Measure::Payments => listing::filtered::<payment::Entity>(backend, filters).into_query(),
    };
    let (table, buyer, supplier, date) = match measure {
        Measure::Contracts => ("contracts", "buyer_id", "supplier_id", "signed_at"),
        Measure::Payments => ("payments", "payer_id", "payee_id", "paid_at"),
    };
    let column = |name: &'static str| Expr::col((Alias::new(table), Alias::new(name)));
    let key: SimpleExpr = match group_by {
        GroupBy::Buyer => cast_text(column(buyer)),
        GroupBy::Supplier => cast_text(column(supplier)),
        GroupBy::Year => cast_text(column("fiscal_year")),
        GroupBy::Month => month_of(backend, table, date),
        GroupBy::Region => {
            query.join(
                JoinType::LeftJoin,
                organization::Entity,
                Expr::col((organization::Entity, organization::Column::Id))
                    .equals((Alias::new(table), Alias::new(buyer))),
            );
            region_of()
        }
        GroupBy::ProcurementMethod => match measure {
            Measure::Contracts => column("procurement_method"),
            Measure::Payments => {
                let contracts = Alias::new("method_contract");
                query.join_as(
                    JoinType::LeftJoin,
                    contract::Entity,
                    contracts.clone(),
                    Expr::col((contracts.clone(), contract::Column::Id))
                        .equals((Alias::new(table), Alias::new("contract_id"))),
                );
                Expr::col((contracts, contract::Column::ProcurementMethod))
            }
        },
    };
    query
        .clear_selects()
        .expr_as(key.clone(), Alias::new("group_key"))
        .expr_as(column("currency"), Alias::new("currency"))
        .expr_as(column("vat_included"), Alias::new("vat_included"))
        .expr_as(Func::count(column("id")), Alias::new("row_count"))
        // SUM over BIGINT is NUMERIC on PostgreSQL: cast back so both engines return an integer.
        .expr_as(Func::sum(column("amount_minor")).cast_as(Alias::new("BIGINT")), Alias::new("minor_units"))
        .add_group_by([key, column("currency"), column("vat_included")]);
    let statement = backend.build(&query);
    let rows = GroupRow::find_by_statement(statement).all(db).await?;

    let mut groups: BTreeMap<Option<String>, GroupTotal> = BTreeMap::new();
    let mut total = GroupTotal::new(None);
    for row in rows {
        let sum = [BasisSum { currency: row.currency, vat_included: row.vat_included, minor_units: row.minor_units }];
        let count = row.row_count as u64;
        groups.entry(row.group_key.clone()).or_insert_with(|| GroupTotal::new(row.group_key)).add(count, &sum);
        total.add(count, &sum);
    }
    let group_count = groups.len() as u64;
    let mut ranked: Vec<GroupTotal> = groups.into_values().collect();
    ranked.sort_by(|a, b| b.weight().cmp(&a.weight()).then_with(|| a.key.cmp(&b.key)));
    let rest = if ranked.len() > top { ranked.split_off(top) } else { Vec::new() };
    let other = (!rest.is_empty()).then(|| {
        let mut other = GroupTotal::new(None);
        for group in &rest {
            other.add(group.count, &group.sums);
        }
        other
    });
    Ok(SpendingReport { groups: ranked, other, group_count, total })
}

/// One buyer's non-competitive share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NonCompetitiveShare {
    pub buyer_id: i64,
    pub contract_count: u64,
    pub single_source_count: u64,
    /// All contract amounts, in minor units (summed across currencies and VAT bases, as stored).
    pub amount_minor: i64,
    pub single_source_amount_minor: i64,
    /// Single-source amount as a percentage of the total, rounded half up to 2 places.
    pub share_percent: Decimal,
}

#[derive(Debug, FromQueryResult)]
struct ShareRow {
    buyer_id: i64,
    contract_count: i64,
    single_source_count: i64,
    amount_minor: i64,
    single_source_amount_minor: i64,
}

/// Per buyer, the share of contract amounts awarded without competition (single source),
/// highest share first (ties by larger single-source amount, then buyer id).
pub async fn non_competitive_shares(
    db: &DatabaseConnection,
    filters: &Filters,
) -> Result<Vec<NonCompetitiveShare>, DomainError> {
    let backend = db.get_database_backend();
    let mut query = listing::filtered::<contract::Entity>(backend, filters).into_query();
    let column = |name: contract::Column| Expr::col((contract::Entity, name));
    let single = || {
        Expr::case(column(contract::Column::ProcurementMethod).eq(ProcurementMethod::SingleSource.to_value()), 1)
            .finally(0)
    };
    let single_amount = Expr::case(
        column(contract::Column::ProcurementMethod).eq(ProcurementMethod::SingleSource.to_value()),
        column(contract::Column::AmountMinor),
    )
    .finally(0);
    query
        .clear_selects()
        .expr_as(column(contract::Column::BuyerId), Alias::new("buyer_id"))
        .expr_as(Func::count(column(contract::Column::Id)), Alias::new("contract_count"))
        .expr_as(Func::sum(single()).cast_as(Alias::new("BIGINT")), Alias::new("single_source_count"))
        .expr_as(
            Func::sum(column(contract::Column::AmountMinor)).cast_as(Alias::new("BIGINT")),
            Alias::new("amount_minor"),
        )
        .expr_as(Func::sum(single_amount).cast_as(Alias::new("BIGINT")), Alias::new("single_source_amount_minor"))
        .add_group_by([column(contract::Column::BuyerId)]);
    let rows = ShareRow::find_by_statement(backend.build(&query)).all(db).await?;
    let mut shares: Vec<NonCompetitiveShare> = rows
        .into_iter()
        .map(|row| NonCompetitiveShare {
            buyer_id: row.buyer_id,
            contract_count: row.contract_count as u64,
            single_source_count: row.single_source_count as u64,
            amount_minor: row.amount_minor,
            single_source_amount_minor: row.single_source_amount_minor,
            share_percent: percent(row.single_source_amount_minor, row.amount_minor),
        })
        .collect();
    shares.sort_by(|a, b| {
        b.share_percent
            .cmp(&a.share_percent)
            .then(b.single_source_amount_minor.cmp(&a.single_source_amount_minor))
            .then(a.buyer_id.cmp(&b.buyer_id))
    });
    Ok(shares)
}

/// `part / whole` as a percentage with two decimals, rounded half up; 0 when `whole` is 0.
pub fn percent(part: i64, whole: i64) -> Decimal {
    if whole == 0 {
        return Decimal::ZERO;
    }
    let mut share = (Decimal::from(part) * Decimal::ONE_HUNDRED / Decimal::from(whole))
        .round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
    share.rescale(2);
    share
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_round_half_up() {
        assert_eq!(percent(1, 3).to_string(), "33.33");
        assert_eq!(percent(2, 3).to_string(), "66.67");
        assert_eq!(percent(1, 8).to_string(), "12.50");
        assert_eq!(percent(0, 0), Decimal::ZERO);
        assert_eq!(percent(5, 5).to_string(), "100.00");
    }

    #[test]
    fn groups_keep_currencies_and_vat_bases_apart() {
        let mut group = GroupTotal::new(Some("x".into()));
        let kzt = |vat, minor| BasisSum { currency: "KZT".into(), vat_included: vat, minor_units: minor };
        group.add(2, &[kzt(true, 100)]);
        group.add(1, &[kzt(false, 50)]);
        group.add(3, &[kzt(true, 1)]);
        assert_eq!(group.count, 6);
        assert_eq!(group.sums, vec![kzt(false, 50), kzt(true, 101)]);
    }
}
