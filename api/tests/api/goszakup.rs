//! `scrutiny import goszakup` against a local server playing goszakup OWS v3 with its real
//! pages: cursors, retries, the journal, and malformed pages.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use crate::helpers::{TestApp, spawn_app};
use crate::upstream::{Answer, Upstream};

const BINARY: &str = env!("CARGO_BIN_EXE_scrutiny");
const EMPTY_PAGE: &str = r#"{"total":0,"limit":500,"next_page":"","items":[]}"#;

fn page(name: &str) -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/goszakup").join(name)).unwrap()
}

fn import(app: &TestApp, upstream: &Upstream, dir: &Path, only: &str) -> Output {
    Command::new(BINARY)
        .args(["import", "--max-retries", "3", "goszakup", "--base-url", &upstream.base_url, "--only", only])
        .env("DATABASE_URL", app.database_url())
        .env("SCRUTINY_GOSZAKUP_TOKEN", "s3cret-token")
        .env("SCRUTINY_LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .current_dir(dir)
        .output()
        .expect("runs")
}

fn text(output: &Output) -> (String, String) {
    (String::from_utf8_lossy(&output.stdout).into_owned(), String::from_utf8_lossy(&output.stderr).into_owned())
}

/// Reference books: the two recorded ones, the others empty.
fn serve_refs(upstream: &Upstream) {
    upstream.on("/v3/refs/ref_trade_methods", vec![Answer::json(page("refs-ref-trade-methods-page.json"))]);
    upstream.on("/v3/refs/ref_buy_status", vec![Answer::json(page("refs-ref-buy-status-page.json"))]);
    upstream.on("/v3/refs/ref_lots_status", vec![Answer::json(EMPTY_PAGE)]);
    upstream.on("/v3/refs/ref_contract_status", vec![Answer::json(EMPTY_PAGE)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contracts_follow_the_cursor_through_429_500_and_a_slow_page_then_the_journal_updates_them() {
    let app = spawn_app().await;
    let upstream = Upstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    serve_refs(&upstream);
    upstream.on(
        "/v3/contract/all",
        vec![Answer::status(429).retry_after("1"), Answer::status(500), Answer::json(page("contract-all-page.json"))],
    );
    // The recorded page's own `next_page` cursor: a slow last page.
    let next = "/v3/contract/all?page=next&limit=500&search_after=9519858";
    upstream.on(next, vec![Answer::json(EMPTY_PAGE).after(Duration::from_millis(1500))]);

    let output = import(&app, &upstream, dir.path(), "contract");
    let (stdout, stderr) = text(&output);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert_eq!(upstream.hits("/v3/contract/all"), 3, "429, 500, then the page");
    assert_eq!(upstream.hits(next), 1, "the cursor was followed");
    assert!(!stderr.contains("s3cret-token"), "the token never reaches the logs");
    let contracts = app.get_json("/v1/contracts?limit=1").await["total"].as_i64().unwrap();
    let run = &app.get_json("/v1/imports?source=goszakup").await["items"][0];
    assert_eq!(run["status"], "succeeded");
    assert_eq!(run["counts"]["read"], 500);
    assert_eq!(run["counts"]["inserted"].as_i64().unwrap(), contracts);
    assert_eq!(
        run["counts"]["inserted"].as_i64().unwrap() + run["counts"]["rejected"].as_i64().unwrap(),
        500,
        "every record is stored or rejected: {run}"
    );
    assert!(contracts > 400, "most of the real page imports: {run}");
    assert!(stdout.contains(&format!("fetched 500, inserted {contracts}")), "{stdout}");

    // One contract as goszakup published it: 10 344 tenge with VAT, signed 2020-02-07 10:15:03
    // Almaty time (UTC+6 then).
    let found = app.get_json("/v1/contracts?supplier_bin=790226301486&sort=amount").await;
    let contract = found["items"].as_array().unwrap().iter().find(|c| c["amount"]["amount"] == "10344.00").unwrap();
    assert_eq!(contract["signed_at"].as_str().unwrap()[..19], *"2020-02-07T04:15:03");
    assert_eq!(contract["amount"]["vat_included"], true);

    // Incremental: the journal says contract 9525399 changed; its new version is fetched.
    let journal = page("journal-page.json");
    upstream.on("/v3/journal", vec![Answer::json(journal)]);
    let mut changed: serde_json::Value = serde_json::from_slice(&page("contract-all-page.json")).unwrap();
    let mut item = changed["items"].as_array_mut().unwrap().iter().find(|i| i["id"] == 9525399).unwrap().clone();
    item["contract_sum_wnds"] = serde_json::json!(11000);
    changed = item;
    upstream.on("/v3/contract/9525399", vec![Answer::json(serde_json::to_vec(&changed).unwrap())]);
    let output = import(&app, &upstream, dir.path(), "contract");
    let (stdout, stderr) = text(&output);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("updated 1"), "{stdout}");
    assert_eq!(upstream.hits("/v3/contract/9525399"), 1);
    let found = app.get_json("/v1/contracts?supplier_bin=790226301486&sort=-amount&limit=100").await;
    assert!(found["items"].as_array().unwrap().iter().any(|c| c["amount"]["amount"] == "11000.00"), "{found}");
    assert_eq!(app.get_json("/v1/contracts?limit=1").await["total"].as_i64().unwrap(), contracts, "no duplicate");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_html_page_fails_the_run_with_the_reason_and_the_next_run_resumes_there() {
    let app = spawn_app().await;
    let upstream = Upstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    serve_refs(&upstream);
    upstream.on("/v3/trd-buy/all", vec![Answer::html()]);
    let output = import(&app, &upstream, dir.path(), "trd-buy");
    let (stdout, stderr) = text(&output);
    assert!(!output.status.success(), "{stdout}");
    assert!(stderr.contains("HTML"), "{stderr}");
    let run = &app.get_json("/v1/imports?source=goszakup").await["items"][0];
    assert_eq!(run["status"], "failed");
    assert!(run["error"].as_str().unwrap().contains("/v3/trd-buy/all"), "{run}");

    // Truncated JSON is a failure too.
    let body = page("trd-buy-all-page.json");
    upstream.on("/v3/trd-buy/all", vec![Answer::json(body[..body.len() / 2].to_vec())]);
    let output = import(&app, &upstream, dir.path(), "trd-buy");
    assert!(!output.status.success());
    assert!(text(&output).1.contains("EOF"), "{}", text(&output).1);

    upstream.on("/v3/trd-buy/all", vec![Answer::json(body)]);
    let output = import(&app, &upstream, dir.path(), "trd-buy");
    let (stdout, stderr) = text(&output);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("resumed"), "{stdout}");
    let runs = app.get_json("/v1/imports?source=goszakup").await;
    assert_eq!(runs["total"], 1, "the failed run was resumed, not restarted");
    assert_eq!(runs["items"][0]["status"], "succeeded");
    assert!(app.get_json("/v1/tenders?limit=1").await["total"].as_i64().unwrap() > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_next_page_on_another_host_is_refused_and_gets_no_token() {
    let app = spawn_app().await;
    let upstream = Upstream::start().await;
    let elsewhere = Upstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    serve_refs(&upstream);
    let stolen = format!("{}/v3/trd-buy/all?search_after=1", elsewhere.base_url);
    let first = format!(r#"{{"total":2,"limit":500,"next_page":"{stolen}","items":[]}}"#);
    upstream.on("/v3/trd-buy/all", vec![Answer::json(first)]);
    elsewhere.on("/v3/trd-buy/all?search_after=1", vec![Answer::json(EMPTY_PAGE)]);
    let output = import(&app, &upstream, dir.path(), "trd-buy");
    let (stdout, stderr) = text(&output);
    assert!(!output.status.success(), "{stdout}");
    assert!(stderr.contains("leaves"), "{stderr}");
    assert!(!stderr.contains("s3cret-token"), "{stderr}");
    assert_eq!(elsewhere.hits("/v3/trd-buy/all?search_after=1"), 0, "the other host was never asked");
}
