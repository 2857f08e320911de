//! Bulk downloads: whole datasets, gzip-compressed, as CSV and JSON Lines.

use std::io::Read;

use domain::demo;
use flate2::read::GzDecoder;
use serde_json::Value;

use crate::helpers::{assert_problem, spawn_app, spawn_seeded_app};

async fn download(app: &crate::helpers::TestApp, name: &str) -> String {
    let response = app.get(&format!("/v1/bulk/{name}")).await;
    assert_eq!(response.status(), 200, "{name}");
    assert_eq!(response.headers()["content-type"], "application/gzip");
    assert_eq!(response.headers()["content-disposition"], format!("attachment; filename={name}").as_str());
    let compressed = response.bytes().await.unwrap();
    let mut text = String::new();
    GzDecoder::new(&compressed[..]).read_to_string(&mut text).expect("valid gzip");
    text
}

#[tokio::test]
async fn every_dataset_downloads_whole_in_both_formats() {
    let app = spawn_seeded_app().await;
    let counts = demo::generate().unwrap().counts();
    let index = app.get_json("/v1/bulk").await;
    let files = index["files"].as_array().unwrap();
    assert_eq!(files.len(), 16);
    for (dataset, expected) in [
        ("organizations", counts.organizations),
        ("plan-items", counts.plan_items),
        ("tenders", counts.tenders),
        ("lots", counts.lots),
        ("contracts", counts.contracts),
        ("payments", counts.payments),
        ("decisions", counts.decisions),
    ] {
        let csv = download(&app, &format!("{dataset}.csv.gz")).await;
        let mut reader = csv::Reader::from_reader(csv.as_bytes());
        assert_eq!(reader.headers().unwrap().get(0), Some("id"), "{dataset}");
        assert_eq!(reader.records().count() as u64, expected, "{dataset}.csv.gz");

        let jsonl = download(&app, &format!("{dataset}.jsonl.gz")).await;
        let lines: Vec<Value> = jsonl.lines().map(|line| serde_json::from_str(line).unwrap()).collect();
        assert_eq!(lines.len() as u64, expected, "{dataset}.jsonl.gz");
        assert!(lines.iter().all(|line| line["provenance"]["source"] == "demo"), "{dataset}");
        assert!(files.iter().any(|f| f["href"] == format!("/v1/bulk/{dataset}.jsonl.gz").as_str()));
    }
    // JSON Lines keep every language of a name.
    let orgs = download(&app, "organizations.jsonl.gz").await;
    let first: Value = serde_json::from_str(orgs.lines().next().unwrap()).unwrap();
    assert!(first["name"]["ru"].is_string() && first["name"]["kk"].is_string() && first["name"]["en"].is_string());
}

#[tokio::test]
async fn an_empty_dataset_is_a_valid_file_and_an_unknown_one_is_a_problem() {
    let app = spawn_app().await;
    let csv = download(&app, "payments.csv.gz").await;
    assert_eq!(csv.lines().count(), 1, "just the header");
    assert_eq!(download(&app, "payments.jsonl.gz").await, "");
    let problem = assert_problem(app.get("/v1/bulk/payments.xlsx").await, 400).await;
    assert_eq!(problem["invalid_params"][0]["name"], "file");
}

/// The Data Package names every CSV bulk file with its columns in file order, typed so that
/// codes stay text: a tool reading it gets BINs with their leading zeros.
#[tokio::test]
async fn the_data_package_describes_every_csv_bulk_file_column_by_column() {
    let app = spawn_seeded_app().await;
    let package = app.get_json("/v1/bulk/datapackage.json").await;
    assert_eq!(package["profile"], "tabular-data-package");
    let resources = package["resources"].as_array().unwrap();
    let index = app.get_json("/v1/bulk").await;
    let csv_files = index["files"].as_array().unwrap().iter().filter(|f| f["media_type"] == "text/csv").count();
    assert_eq!(resources.len(), csv_files, "one resource per CSV bulk file");
    for resource in resources {
        let path = resource["path"].as_str().unwrap();
        let gzipped = app.get(&format!("/v1/bulk/{path}")).await.bytes().await.unwrap();
        let mut text = String::new();
        GzDecoder::new(&gzipped[..]).read_to_string(&mut text).unwrap();
        let header: Vec<String> =
            csv::Reader::from_reader(text.as_bytes()).headers().unwrap().iter().map(str::to_owned).collect();
        let fields: Vec<String> = resource["schema"]["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|field| field["name"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(fields, header, "{path}");
        let type_of = |name: &str| {
            resource["schema"]["fields"]
                .as_array()
                .unwrap()
                .iter()
                .find(|f| f["name"] == name)
                .map(|f| f["type"].clone())
        };
        for column in header.iter().filter(|c| c.ends_with("bin") || c.ends_with("kato") || *c == "upstream_id") {
            assert_eq!(type_of(column).unwrap(), "string", "{path}: {column}");
        }
        if let Some(amount) = type_of("amount") {
            assert_eq!(amount, "number", "{path}");
        }
    }
    let contracts = resources.iter().find(|r| r["name"] == "contracts").unwrap();
    let signed = contracts["schema"]["fields"].as_array().unwrap().iter().find(|f| f["name"] == "signed_at").unwrap();
    assert_eq!(signed["type"], "datetime");
}
