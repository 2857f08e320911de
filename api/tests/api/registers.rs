//! `scrutiny import samruk` and `scrutiny import egov` against a local server playing
//! zakup.sk.kz and data.egov.kz with their recorded formats.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

use crate::helpers::{TestApp, spawn_app};
use crate::upstream::{Answer, Upstream};

const BINARY: &str = env!("CARGO_BIN_EXE_scrutiny");

fn fixture(path: &str) -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures").join(path)).unwrap()
}

fn import(app: &TestApp, args: &[&str]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    Command::new(BINARY)
        .arg("import")
        .args(args)
        .env("DATABASE_URL", app.database_url())
        .env("SCRUTINY_LOG_FORMAT", "json")
        .env("RUST_LOG", "debug")
        .current_dir(dir.path())
        .output()
        .expect("runs")
}

fn succeeded(output: &Output) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    stdout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn samruk_tenders_lots_and_contract_cards_import_as_quasi_public_spending() {
    let app = spawn_app().await;
    let upstream = Upstream::start().await;
    let adverts: Value = serde_json::from_slice(&fixture("samruk/adverts-filter-page.json")).unwrap();
    upstream.on(
        "/eprocsearch/api/external/4dv3rts/filter?size=50&page=0",
        vec![Answer::json(fixture("samruk/adverts-filter-page.json"))],
    );
    for (index, advert) in adverts.as_array().unwrap().iter().enumerate() {
        let body = if index == 0 { fixture("samruk/advert-lots-page.json") } else { b"[]".to_vec() };
        upstream.on(
            &format!("/eprocsearch/api/external/4dv3rts/lots/{}?size=100&page=0", advert["id"]),
            vec![Answer::json(body)],
        );
    }
    upstream.on(
        "/eprocsearch/api/external/contract-cards/filter?size=100&page=0",
        vec![Answer::status(502), Answer::json(fixture("samruk/contract-cards-page.json"))],
    );
    let stdout = succeeded(&import(&app, &["samruk", "--base-url", &upstream.base_url]));
    assert!(stdout.contains("rejected 0"), "{stdout}");
    let tenders = app.get_json("/v1/tenders?limit=10").await;
    assert_eq!(tenders["total"], 3);
    assert!(
        tenders["items"].as_array().unwrap().iter().all(|t| t["amount"]["vat_included"] == false),
        "sumTruNoNds excludes VAT"
    );
    assert_eq!(app.get_json("/v1/lots?limit=1").await["total"], 1);
    assert_eq!(app.get_json("/v1/contracts?limit=1").await["total"], 3);
    let buyers = app.get_json("/v1/organizations?kind=quasi_public").await;
    assert!(buyers["total"].as_i64().unwrap() >= 1, "{buyers}");

    // Again: all unchanged.
    let stdout = succeeded(&import(&app, &["samruk", "--base-url", &upstream.base_url]));
    assert!(stdout.contains("inserted 0, updated 0, unchanged 7"), "{stdout}");
}

/// The query data.egov.kz pages with: `apiKey`, then `source={"from":N,"size":100}`, encoded.
fn egov_query(key: &str, from: usize) -> String {
    format!("apiKey={key}&source=%7B%22from%22%3A{from}%2C%22size%22%3A100%7D")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn egov_registers_page_through_and_enrich_organizations_without_showing_the_key() {
    let app = spawn_app().await;
    let upstream = Upstream::start().await;
    let key = "egov-k3y";
    let rows: Vec<Value> =
        serde_json::from_slice(&fixture("egov/statistics-by-quasi-public-organizations.json")).unwrap();
    assert_eq!(rows.len(), 1178);
    for (page, chunk) in rows.chunks(100).enumerate() {
        upstream.on(
            &format!("/api/v4/quasi_public_organizations/v1?{}", egov_query(key, page * 100)),
            vec![Answer::json(serde_json::to_vec(chunk).unwrap())],
        );
    }
    upstream.on(
        &format!("/api/v4/central_gov_agencies/v1?{}", egov_query(key, 0)),
        vec![Answer::json(fixture("egov/statistics-by-central-gov-agencies.json"))],
    );
    let output = import(
        &app,
        &["egov", "--base-url", &upstream.base_url, "--api-key", key, "--dataset", "quasi_public_organizations"],
    );
    let stdout = succeeded(&output);
    assert!(stdout.contains("fetched 1178, inserted 1178"), "{stdout}");
    assert!(!String::from_utf8_lossy(&output.stderr).contains(key), "the API key never reaches the logs");
    let quasi = app.get_json("/v1/organizations?kind=quasi_public&limit=1").await;
    assert_eq!(quasi["total"], 1178);

    let output = import(
        &app,
        &["egov", "--base-url", &upstream.base_url, "--api-key", key, "--dataset", "central_gov_agencies"],
    );
    let stdout = succeeded(&output);
    assert!(
        stdout.contains("fetched 32, inserted 32") && stdout.contains("repaired 4"),
        "swapped kk/en names: {stdout}"
    );
    let runs = app.get_json("/v1/imports?source=egov").await;
    assert_eq!(runs["total"], 2);
    let rejects = app.get_json(runs["items"][0]["rejects_href"].as_str().unwrap()).await;
    let items = rejects["items"].as_array().unwrap();
    assert_eq!(items.len(), 4, "the four repairs: {rejects}");
    for reject in items {
        assert_eq!(reject["outcome"], "repaired", "{reject}");
        assert!(!reject["input"].as_str().unwrap().contains(key), "{reject}");
        assert!(reject["input"].as_str().unwrap().contains("apiKey=***"), "{reject}");
    }
    assert!(!runs.to_string().contains(key));
}
