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
    assert_eq!(contracts, 500, "every real contract is stored, drafts too: {run}");
    assert_eq!(run["counts"]["rejected"], 0, "{run}");
    assert!(stdout.contains(&format!("fetched 500, inserted {contracts}")), "{stdout}");

    // The 47 never signed are there with their status and no signing date; sorted by signing
    // date, both ways, they come after the signed ones, and the pages hold every contract once.
    for sort in ["date", "-date"] {
        let mut seen = std::collections::HashSet::new();
        let mut unsigned_from = None;
        let mut next = Some(format!("/v1/contracts?sort={sort}&limit=40"));
        while let Some(path) = next.take() {
            let page = app.get_json(&path).await;
            for contract in page["items"].as_array().unwrap() {
                assert!(seen.insert(contract["id"].as_i64().unwrap()), "{sort}: {contract} twice");
                match (&contract["signed_at"], unsigned_from) {
                    (serde_json::Value::Null, None) => unsigned_from = Some(seen.len()),
                    (serde_json::Value::Null, Some(_)) => {}
                    (_, Some(_)) => panic!("{sort}: a signed contract after the unsigned ones: {contract}"),
                    (_, None) => {}
                }
            }
            next = page["links"]["next"].as_str().map(str::to_owned);
        }
        assert_eq!(seen.len(), 500, "{sort}");
        assert_eq!(unsigned_from, Some(454), "{sort}: 453 signed, then 47 unsigned");
    }

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_larger_than_the_body_limit_fails_the_run_unread_and_a_larger_limit_resumes_it() {
    let app = spawn_app().await;
    let upstream = Upstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    serve_refs(&upstream);
    let body = page("trd-buy-all-page.json");
    assert!(body.len() > 4096);
    upstream.on("/v3/trd-buy/all", vec![Answer::json(body)]);
    let limited = Command::new(BINARY)
        .args(["import", "--max-retries", "0", "--max-body-bytes", "4096", "goszakup"])
        .args(["--base-url", &upstream.base_url, "--only", "trd-buy"])
        .env("DATABASE_URL", app.database_url())
        .env("SCRUTINY_GOSZAKUP_TOKEN", "s3cret-token")
        .current_dir(dir.path())
        .output()
        .unwrap();
    let (stdout, stderr) = text(&limited);
    assert!(!limited.status.success(), "{stdout}");
    assert!(stderr.contains("larger than the 4096 bytes allowed"), "{stderr}");
    assert_eq!(app.get_json("/v1/tenders?limit=1").await["total"], 0, "nothing was read from the page");

    // The setting, from the environment, is the default the flag overrides.
    let from_settings = Command::new(BINARY)
        .args(["import", "--max-retries", "0", "goszakup", "--base-url", &upstream.base_url, "--only", "trd-buy"])
        .env("DATABASE_URL", app.database_url())
        .env("SCRUTINY_GOSZAKUP_TOKEN", "s3cret-token")
        .env("SCRUTINY_UPSTREAM_MAX_BODY_BYTES", "4096")
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(!from_settings.status.success());
    assert!(text(&from_settings).1.contains("larger than the 4096 bytes allowed"), "{}", text(&from_settings).1);

    let output = import(&app, &upstream, dir.path(), "trd-buy");
    let (stdout, stderr) = text(&output);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(app.get_json("/v1/tenders?limit=1").await["total"].as_i64().unwrap() > 0);
}

/// The register of unreliable suppliers: each entry stored with its dates beside its supplier
/// (an entry listed without dates is read in full from `/v3/rnu/{biin}`), every item stored or
/// rejected, a second read stores nothing twice, and the journal takes a supplier off it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bad_supplier_register_keeps_its_dates_and_the_journal_takes_a_supplier_off_it() {
    use domain::entities::{organization, unreliable_supplier};
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

    let app = spawn_app().await;
    let upstream = Upstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    serve_refs(&upstream);
    upstream.on("/v3/rnu", vec![Answer::json(page("rnu-page.json"))]);
    // The short-form item 900021's entries, in full.
    let entries = serde_json::json!({"total": 1, "limit": 500, "next_page": "", "items": [{
        "id": 5301990, "pid": 900021, "supplier_biin": "191340001236", "supplier_innunp": null,
        "supplier_name_ru": "ТОО «Пример Строй Сервис»", "supplier_name_kz": "«Пример Строй Сервис» ЖШС",
        "court_decision": "Решение специализированного межрайонного экономического суда по делу № 7194-20-00-2/301",
        "court_decision_date": "2020-01-28 00:00:00", "start_date": "2020-02-07 00:00:00",
        "end_date": "2022-02-07 00:00:00", "ref_reason_id": 2, "index_date": "2020-02-07 00:15:00", "system_id": 3
    }]});
    upstream.on("/v3/rnu/191340001236", vec![Answer::json(serde_json::to_vec(&entries).unwrap())]);

    let output = import(&app, &upstream, dir.path(), "rnu");
    let (stdout, stderr) = text(&output);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert_eq!(upstream.hits("/v3/rnu/191340001236"), 1, "the short item was read in full");
    let run = &app.get_json("/v1/imports?source=goszakup").await["items"][0];
    assert_eq!(run["status"], "succeeded", "{run}");
    // Four entries of two records each (the supplier, the entry), two items rejected.
    assert_eq!(run["counts"]["read"], 10, "{run}");
    assert_eq!(run["counts"]["inserted"], 8, "{run}");
    assert_eq!(run["counts"]["rejected"], 2, "{run}");
    assert_eq!(
        run["counts"]["inserted"].as_i64().unwrap() + run["counts"]["rejected"].as_i64().unwrap(),
        run["counts"]["read"].as_i64().unwrap(),
        "rows in = stored + rejected: {run}"
    );
    let rejects = app.get_json(&format!("/v1/imports/{}/rejects", run["id"])).await;
    let reasons: Vec<(String, String)> = rejects["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["record_id"].as_str().unwrap().to_owned(), r["reason"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(reasons.len(), 2, "{rejects}");
    assert!(reasons.iter().any(|(id, why)| id == "5302200" && why.starts_with("`start_date`: ")), "{reasons:?}");
    assert!(
        reasons.iter().any(|(id, why)| id == "900022" && why.starts_with("`start_date` is missing")),
        "{reasons:?}"
    );

    let stored = unreliable_supplier::Entity::find()
        .order_by_asc(unreliable_supplier::Column::UpstreamId)
        .all(&app.db)
        .await
        .unwrap();
    let keys: Vec<&str> = stored.iter().map(|e| e.upstream_id.as_str()).collect();
    assert_eq!(keys, ["5298760", "5301877", "5301990", "5302114"]);
    let first = &stored[1];
    let day = |y, m, d| chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap();
    assert_eq!((first.included_on, first.excluded_on), (day(2020, 1, 14), Some(day(2022, 1, 14))));
    assert_eq!(first.source, "goszakup");
    assert_eq!(first.import_run_id, run["id"].as_i64());
    assert_eq!(first.content_hash.len(), 64);
    let supplier = organization::Entity::find_by_id(first.organization_id).one(&app.db).await.unwrap().unwrap();
    assert_eq!(supplier.bin.as_deref(), Some("191340001246"));
    assert_eq!(supplier.name_ru.as_deref(), Some("ТОО «Пример Инжиниринг»"));
    assert!(stored[3].excluded_on.is_none(), "no end date: still on the register");

    // Read again with the participants (a new scope, so a full read): nothing stored twice,
    // and the participants' registration dates arrive.
    upstream.on("/v3/subject/all", vec![Answer::json(page("subject-all-page.json"))]);
    let output = import(&app, &upstream, dir.path(), "subject,rnu");
    let (stdout, stderr) = text(&output);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    let run = &app.get_json("/v1/imports?source=goszakup").await["items"][0];
    assert_eq!(run["counts"]["unchanged"], 8, "the register read again is unchanged: {run}");
    assert_eq!(unreliable_supplier::Entity::find().all(&app.db).await.unwrap().len(), 4);
    let water = organization::Entity::find()
        .filter(organization::Column::Bin.eq("000940002622"))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(water.registered_on, Some(day(2015, 5, 18)), "`regdate`");

    // The journal deletes entry 5301877 on 2020-06-30: off the register from that day, the
    // entry and the supplier kept. An entry never imported changes nothing.
    let journal = serde_json::json!({"total": 2, "limit": 500, "next_page": "", "items": [
        {"id": 1, "action": "D", "object_id": 5301877, "service_name": "rnu", "date": "2020-06-30 12:00:00"},
        {"id": 2, "action": "D", "object_id": 4242, "service_name": "rnu", "date": "2020-06-30 12:00:00"}
    ]});
    upstream.on("/v3/journal", vec![Answer::json(serde_json::to_vec(&journal).unwrap())]);
    let output = import(&app, &upstream, dir.path(), "rnu");
    let (stdout, stderr) = text(&output);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    let run = &app.get_json("/v1/imports?source=goszakup").await["items"][0];
    assert_eq!((run["counts"]["updated"].as_i64(), run["counts"]["unchanged"].as_i64()), (Some(1), Some(1)), "{run}");
    let deleted = unreliable_supplier::Entity::find()
        .filter(unreliable_supplier::Column::UpstreamId.eq("5301877"))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((deleted.included_on, deleted.excluded_on), (day(2020, 1, 14), Some(day(2020, 6, 30))));
    assert!(organization::Entity::find_by_id(deleted.organization_id).one(&app.db).await.unwrap().is_some());
}
