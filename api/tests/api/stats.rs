//! Spending aggregates: exact, complete, and consistent with the data.

use std::collections::HashMap;

use domain::demo;
use domain::entities::ProcurementMethod;
use serde_json::Value;

use crate::helpers::{assert_problem, invalid_param_name, spawn_seeded_app};

/// Minor units per (currency, VAT basis) of a row's `amounts`.
fn sums(row: &Value) -> HashMap<(String, bool), i64> {
    row["amounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|money| {
            let key = (money["currency"].as_str().unwrap().to_owned(), money["vat_included"].as_bool().unwrap());
            (key, domain::money::Money::minor_units_from_str(money["amount"].as_str().unwrap()).unwrap())
        })
        .collect()
}

#[tokio::test]
async fn groups_and_other_add_up_exactly_to_the_total_for_every_grouping() {
    let app = spawn_seeded_app().await;
    let data = demo::generate().unwrap();
    let contract_total: i64 = data.contracts.iter().map(|c| c.amount_minor).sum();
    let payment_total: i64 = data.payments.iter().map(|p| p.amount_minor).sum();
    for measure in ["contracts", "payments"] {
        for group_by in ["buyer", "supplier", "region", "month", "year", "procurement_method"] {
            let report = app.get_json(&format!("/v1/stats/spending?measure={measure}&group_by={group_by}&top=3")).await;
            let name = format!("{measure} by {group_by}");
            let mut added: HashMap<(String, bool), i64> = HashMap::new();
            let mut count = 0;
            let rows = report["groups"]
                .as_array()
                .unwrap()
                .iter()
                .chain(report["other"].as_object().map(|_| &report["other"]));
            for row in rows {
                count += row["count"].as_u64().unwrap();
                for (key, minor) in sums(row) {
                    *added.entry(key).or_default() += minor;
                }
            }
            assert_eq!(added, sums(&report["total"]), "{name}");
            assert_eq!(count, report["total"]["count"].as_u64().unwrap(), "{name}");
            let expected = if measure == "contracts" { contract_total } else { payment_total };
            assert_eq!(sums(&report["total"]).values().sum::<i64>(), expected, "{name}");
            assert!(report["groups"].as_array().unwrap().len() <= 3, "{name}");
            if report["group_count"].as_u64().unwrap() > 3 {
                assert!(report["other"].is_object(), "{name}: the rest is summed, not dropped");
            }
        }
    }
}

#[tokio::test]
async fn groups_match_the_data_and_come_largest_first() {
    let app = spawn_seeded_app().await;
    let data = demo::generate().unwrap();
    let report = app.get_json("/v1/stats/spending?group_by=year&top=10").await;
    let groups = report["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 3);
    assert!(report.get("other").is_none());
    for group in groups {
        let year: i32 = group["key"].as_str().unwrap().parse().unwrap();
        let expected: i64 = data.contracts.iter().filter(|c| c.fiscal_year == year).map(|c| c.amount_minor).sum();
        assert_eq!(sums(group).values().sum::<i64>(), expected, "{year}");
    }
    let weights: Vec<i64> = groups.iter().map(|g| sums(g).values().sum()).collect();
    assert!(weights.windows(2).all(|w| w[0] >= w[1]), "largest first: {weights:?}");

    // Buyers carry their organization; filters narrow the rows.
    let report = app.get_json("/v1/stats/spending?group_by=buyer&buyer_kind=quasi_public&top=100").await;
    for group in report["groups"].as_array().unwrap() {
        assert_eq!(group["organization"]["kind"], "quasi_public");
        assert_eq!(group["organization"]["id"].to_string(), group["key"].as_str().unwrap());
    }
    let quasi: Vec<&str> = data
        .organizations
        .iter()
        .filter(|o| o.kind == domain::entities::OrganizationKind::QuasiPublic)
        .map(|o| o.key.as_str())
        .collect();
    let expected = data.contracts.iter().filter(|c| quasi.contains(&c.buyer.as_str())).count() as u64;
    assert_eq!(report["total"]["count"], expected);
}

#[tokio::test]
async fn the_non_competitive_share_per_buyer_matches_the_data() {
    let app = spawn_seeded_app().await;
    let data = demo::generate().unwrap();
    let report = app.get_json("/v1/stats/non-competitive?fiscal_year=2024").await;
    let items = report["items"].as_array().unwrap();
    assert!(!items.is_empty());
    let shares: Vec<f64> = items.iter().map(|i| i["share_percent"].as_str().unwrap().parse().unwrap()).collect();
    assert!(shares.windows(2).all(|w| w[0] >= w[1]), "highest share first");
    for item in items {
        let bin = item["buyer"]["bin"].as_str().unwrap();
        let buyer = data.organizations.iter().find(|o| o.bin == bin).unwrap();
        let contracts: Vec<_> =
            data.contracts.iter().filter(|c| c.buyer == buyer.key && c.fiscal_year == 2024).collect();
        let single: Vec<_> = contracts.iter().filter(|c| c.method == ProcurementMethod::SingleSource).collect();
        assert_eq!(item["contract_count"], contracts.len() as u64);
        assert_eq!(item["single_source_count"], single.len() as u64);
        let total: i64 = contracts.iter().map(|c| c.amount_minor).sum();
        let single_total: i64 = single.iter().map(|c| c.amount_minor).sum();
        assert_eq!(item["amount"], domain::money::format_minor_units(total));
        assert_eq!(item["single_source_amount"], domain::money::format_minor_units(single_total));
        assert_eq!(item["share_percent"], domain::stats::percent(single_total, total).to_string());
    }
}

#[tokio::test]
async fn bad_statistics_parameters_are_400_problems_naming_them() {
    let app = spawn_seeded_app().await;
    for (path, parameter) in [
        ("/v1/stats/spending", "group_by"),
        ("/v1/stats/spending?group_by=colour", "group_by"),
        ("/v1/stats/spending?group_by=year&measure=bids", "measure"),
        ("/v1/stats/spending?group_by=year&top=0", "top"),
        ("/v1/stats/spending?group_by=year&buyer_bin=1", "buyer_bin"),
        ("/v1/stats/non-competitive?date_from=yesterday", "date_from"),
    ] {
        let problem = assert_problem(app.get(path).await, 400).await;
        assert_eq!(invalid_param_name(&problem), parameter, "{path}: {problem}");
    }
}
