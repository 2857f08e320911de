//! Red flags over the demo data: every indicator finds its planted case, the database flags
//! agree with cardinal's run over the releases the API serves, a refresh without changes
//! changes nothing, a flag no longer found is cleared, and a council member opens a finding
//! from a flag.

use std::collections::{BTreeMap, BTreeSet};

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem, spawn_seeded_app};
use indicators::database::{DatabaseSettings, refresh};

/// The demo data with its flags computed, as `scrutiny seed` leaves it.
async fn flagged_app() -> TestApp {
    let app = spawn_seeded_app().await;
    refresh(&app.db, &DatabaseSettings::project(), chrono::Utc::now()).await.expect("flags computed");
    app
}

/// Every page of a list, following `links.next`.
async fn all_items(app: &TestApp, first: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut next = Some(first.to_owned());
    while let Some(path) = next {
        let page = app.get_json(&path).await;
        items.extend(page["items"].as_array().unwrap().iter().cloned());
        next = page["links"]["next"].as_str().map(str::to_owned);
    }
    items
}

#[tokio::test]
async fn every_indicator_flags_its_planted_case_with_evidence_that_links_to_real_records() {
    let app = flagged_app().await;
    let indicators = app.get_json("/v1/indicators").await;
    let items = indicators["items"].as_array().unwrap();
    assert_eq!(items.len(), 19, "eleven of cardinal's, eight of Kazakhstan's");
    for indicator in items {
        let code = indicator["code"].as_str().unwrap();
        for language in ["ru", "kk", "en"] {
            assert!(indicator["title"][language].as_str().is_some_and(|t| !t.is_empty()), "{code} title {language}");
            assert!(indicator["description"][language].as_str().is_some_and(|t| !t.is_empty()), "{code} {language}");
        }
        assert_eq!(indicator["enabled"], true, "{code}");
        let coverage = &indicator["coverage"];
        assert!(coverage["evaluated"].as_u64().unwrap() > 0, "{code} judged nothing: {coverage}");
        assert!(coverage["flags"].as_u64().unwrap() > 0, "{code} found no planted case: {coverage}");
        let flags = all_items(&app, &format!("/v1/red-flags?indicator={code}&limit=100")).await;
        assert_eq!(flags.len() as u64, coverage["flags"].as_u64().unwrap(), "{code}");
        for flag in &flags {
            let evidence = &flag["evidence"];
            assert!(evidence.is_object(), "{code}: {flag}");
            for record in evidence["records"].as_array().into_iter().flatten() {
                let href = record["href"].as_str().unwrap();
                assert_eq!(app.get(href).await.status(), 200, "{code}: {href}");
            }
        }
    }
}

#[tokio::test]
async fn database_flags_are_what_cardinal_finds_in_the_releases_the_api_serves() {
    let app = flagged_app().await;
    // The releases as a reader downloads them, one per line, run through the engine as
    // `scrutiny indicators` runs a file.
    let mut lines = String::new();
    let mut next = Some("/v1/ocds/releases?limit=100".to_owned());
    while let Some(path) = next {
        let package = app.get_json(&path).await;
        for release in package["releases"].as_array().unwrap() {
            lines.push_str(&release.to_string());
            lines.push('\n');
        }
        // Packages link absolutely, as OCDS asks.
        next = package["links"]["next"].as_str().map(|url| url.strip_prefix(&app.address).unwrap_or(url).to_owned());
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("releases.jsonl");
    std::fs::write(&path, lines).unwrap();
    let settings = DatabaseSettings::project().cardinal;
    let engine = indicators::Engine::new(settings, false);
    let report = indicators::run::run(&engine, indicators::run::open(&path).unwrap(), Default::default()).unwrap();
    assert!(report.errors.is_empty());
    let from_file: BTreeSet<(String, String)> = report
        .outcome
        .results()
        .into_iter()
        .flat_map(|(group, keys)| {
            keys.into_iter().flat_map(move |(key, codes)| {
                codes.into_keys().map(move |code| (format!("{}:{}", group.as_str(), key), code.as_str().to_owned()))
            })
        })
        .collect();
    let stored: BTreeSet<(String, String)> = all_items(&app, "/v1/red-flags?limit=100")
        .await
        .into_iter()
        .filter(|flag| flag["indicator"].as_str().unwrap().starts_with('R'))
        .map(|flag| {
            let group = match flag["subject_kind"].as_str().unwrap() {
                "process" => "OCID",
                "buyer" => "Buyer",
                "procuring_entity" => "ProcuringEntity",
                _ => "Tenderer",
            };
            (
                format!("{group}:{}", flag["subject_key"].as_str().unwrap()),
                flag["indicator"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(!from_file.is_empty());
    assert_eq!(stored, from_file);
}

#[tokio::test]
async fn a_refresh_without_changes_changes_nothing_and_a_flag_no_longer_found_is_cleared() {
    let app = flagged_app().await;
    let settings = DatabaseSettings::project();
    let skipped = indicators::database::refresh_if_changed(&app.db, &settings, chrono::Utc::now()).await.unwrap();
    assert!(skipped.is_none(), "nothing changed since the refresh: nothing to do");
    let feed_before = domain::changes::last_sequence(&app.db).await.unwrap();
    let again = refresh(&app.db, &DatabaseSettings::project(), chrono::Utc::now()).await.unwrap();
    assert_eq!((again.stored.raised, again.stored.refreshed, again.stored.cleared), (0, 0, 0));
    assert_eq!(domain::changes::last_sequence(&app.db).await.unwrap(), feed_before, "no change recorded");

    // An indicator turned off is not judged: its flags stand as they were.
    let r003 = app.get_json("/v1/red-flags?indicator=R003").await;
    assert!(r003["total"].as_u64().unwrap() > 0);
    let without = DatabaseSettings::parse(&indicators::database::PROJECT_SETTINGS.replace("[R003]\n", "")).unwrap();
    let off = refresh(&app.db, &without, chrono::Utc::now()).await.unwrap();
    assert_eq!(off.stored.cleared, 0);

    // Lengthen a flagged tender's submission period to 30 days: its R003 flag is cleared, kept,
    // and listed only on request.
    use sea_orm::{ActiveModelTrait, EntityTrait, Set};
    let flag = &r003["items"][0];
    let tender_id = flag["tender_id"].as_i64().expect("R003 flags a tender");
    let tender = domain::entities::tender::Entity::find_by_id(tender_id).one(&app.db).await.unwrap().unwrap();
    let opens = tender.bids_open_at.expect("a flagged tender has a period");
    let mut longer: domain::entities::tender::ActiveModel = tender.into();
    longer.bids_close_at = Set(Some(opens + chrono::Duration::days(30)));
    longer.update(&app.db).await.unwrap();
    let after = indicators::database::refresh_if_changed(&app.db, &settings, chrono::Utc::now())
        .await
        .unwrap()
        .expect("a tender changed: the flags are recomputed");
    assert_eq!(after.stored.cleared, 1, "{:?}", after.stored);
    let standing = app.get_json("/v1/red-flags?indicator=R003").await;
    assert_eq!(standing["total"].as_u64().unwrap(), r003["total"].as_u64().unwrap() - 1);
    let id = flag["id"].as_i64().unwrap();
    let detail = app.get_json(&format!("/v1/red-flags/{id}")).await;
    assert!(detail["flag"]["cleared_at"].as_str().is_some_and(|t| t.ends_with('Z')), "{detail}");
    let with_cleared = app.get_json("/v1/red-flags?indicator=R003&include_cleared=true").await;
    assert_eq!(with_cleared["total"], r003["total"]);

    // The change feed carries the flags, with hrefs that answer.
    let mut flag_changes = Vec::new();
    let mut next = Some("/v1/changes?limit=1000".to_owned());
    while let Some(path) = next {
        let page = app.get_json(&path).await;
        let items = page["items"].as_array().unwrap().clone();
        flag_changes.extend(items.into_iter().filter(|c| c["entity"] == "red_flag"));
        next =
            page["links"]["next"].as_str().filter(|_| !page["items"].as_array().unwrap().is_empty()).map(str::to_owned);
    }
    assert!(flag_changes.iter().any(|c| c["id"] == id && c["action"] == "updated"), "the clearing is in the feed");
    for change in flag_changes.iter().take(5) {
        assert_eq!(app.get(change["href"].as_str().unwrap()).await.status(), 200);
    }
}

#[tokio::test]
async fn filters_narrow_the_list_and_csv_exports_every_match() {
    let app = flagged_app().await;
    let all = all_items(&app, "/v1/red-flags?limit=100").await;
    let high: Vec<&Value> = all.iter().filter(|f| f["severity"] == "high").collect();
    let listed = app.get_json("/v1/red-flags?severity=high&limit=100").await;
    assert_eq!(listed["total"].as_u64().unwrap() as usize, high.len());
    let buyer = all.iter().find_map(|f| f["buyer"]["id"].as_i64()).expect("a flag with a buyer");
    let of_buyer = all_items(&app, &format!("/v1/red-flags?organization_id={buyer}&limit=100")).await;
    assert!(!of_buyer.is_empty());
    assert!(of_buyer.iter().all(|f| f["buyer"]["id"] == buyer || f["supplier"]["id"] == buyer));
    let day = all[0]["observed_on"].as_str().unwrap().to_owned();
    let that_day = all_items(&app, &format!("/v1/red-flags?date_from={day}&date_to={day}&limit=100")).await;
    assert!(that_day.iter().all(|f| f["observed_on"] == day.as_str()));
    assert_eq!(
        that_day.len(),
        all.iter().filter(|f| f["observed_on"] == day.as_str()).count(),
        "every flag of that day"
    );
    let csv = app.get("/v1/red-flags?format=csv").await;
    assert_eq!(csv.status(), 200);
    let text = csv.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    assert_eq!(&reader.headers().unwrap()[1], "indicator");
    assert_eq!(reader.records().count(), all.len());
    assert_problem(app.get("/v1/red-flags?indicator=X1").await, 400).await;
    assert_problem(app.get("/v1/red-flags?date_from=2026-02-01&date_to=2026-01-01").await, 400).await;
    assert_problem(app.get("/v1/red-flags/999999").await, 404).await;
}

#[tokio::test]
async fn details_embed_their_flags() {
    let app = flagged_app().await;
    let all = all_items(&app, "/v1/red-flags?limit=100").await;
    let on_tender = all.iter().find(|f| f["tender_id"].is_i64()).expect("a flag on a tender");
    let tender = app.get_json(&format!("/v1/tenders/{}", on_tender["tender_id"])).await;
    assert!(tender["red_flags"].as_array().unwrap().iter().any(|f| f["id"] == on_tender["id"]));
    let on_contract = all.iter().find(|f| f["contract_id"].is_i64()).expect("a flag on a contract");
    let contract = app.get_json(&format!("/v1/contracts/{}", on_contract["contract_id"])).await;
    assert!(contract["red_flags"].as_array().unwrap().iter().any(|f| f["id"] == on_contract["id"]));
    let buyer = on_contract["buyer"]["id"].as_i64().unwrap();
    let organization = app.get_json(&format!("/v1/organizations/{buyer}")).await;
    assert!(!organization["red_flags"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn a_council_member_opens_a_draft_finding_from_a_flag() {
    let app = flagged_app().await;
    let all = all_items(&app, "/v1/red-flags?limit=100").await;
    // A flag on a contract of a state body or quasi-public buyer with a council.
    let mut chosen = None;
    for flag in all.iter().filter(|f| f["contract_id"].is_i64() && f["buyer"]["id"].is_i64()) {
        let buyer = flag["buyer"]["id"].as_i64().unwrap();
        let councils = app.get_json(&format!("/v1/councils?host_organization_id={buyer}")).await;
        if let Some(council) = councils["items"][0]["id"].as_i64() {
            chosen = Some((flag.clone(), buyer, council));
            break;
        }
    }
    let (flag, buyer, council) = chosen.expect("a flag on a body with a council");
    let member = app.user(&["council_member"], Some(council), None).await;
    let id = flag["id"].as_i64().unwrap();
    let body = json!({"council_id": council, "from_red_flag": id});
    let response = app.request(Method::POST, "/v1/findings", Some(&member.token)).json(&body).send().await.unwrap();
    assert_eq!(response.status(), 201);
    let draft: Value = response.json().await.unwrap();
    assert_eq!(draft["reason"], "red_flag");
    assert_eq!(draft["target_organization_id"], buyer);
    assert_eq!(draft["red_flag_id"], id);
    let links: BTreeMap<String, i64> = draft["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["record_type"].as_str().unwrap().to_owned(), l["record_id"].as_i64().unwrap()))
        .collect();
    assert_eq!(links.get("contract"), flag["contract_id"].as_i64().as_ref());
    let first_fact = draft["facts"][0].as_str().unwrap();
    assert!(first_fact.starts_with(&format!("Красный флаг {}", flag["indicator"].as_str().unwrap())), "{first_fact}");
    assert!(first_fact.contains(flag["value"].as_str().unwrap()));

    // Another target than the flag's buyer, or a flag that does not exist: 422 naming the field.
    let wrong = json!({"council_id": council, "from_red_flag": id, "target_organization_id": buyer + 100000});
    let problem = assert_problem(
        app.request(Method::POST, "/v1/findings", Some(&member.token)).json(&wrong).send().await.unwrap(),
        422,
    )
    .await;
    assert!(problem.to_string().contains("target_organization_id"), "{problem}");
    let missing = json!({"council_id": council, "from_red_flag": 999999});
    let problem = assert_problem(
        app.request(Method::POST, "/v1/findings", Some(&member.token)).json(&missing).send().await.unwrap(),
        422,
    )
    .await;
    assert!(problem.to_string().contains("from_red_flag"), "{problem}");
    let other_reason = json!({"council_id": council, "from_red_flag": id, "reason": "media"});
    let problem = assert_problem(
        app.request(Method::POST, "/v1/findings", Some(&member.token)).json(&other_reason).send().await.unwrap(),
        422,
    )
    .await;
    assert!(problem.to_string().contains("reason"), "{problem}");
    // A flag no longer standing is refused.
    {
        use sea_orm::{ActiveModelTrait, EntityTrait, Set};
        let row = domain::red_flags::red_flag::Entity::find_by_id(id).one(&app.db).await.unwrap().unwrap();
        let mut cleared: domain::red_flags::red_flag::ActiveModel = row.into();
        cleared.cleared_at = Set(Some(chrono::Utc::now()));
        cleared.update(&app.db).await.unwrap();
    }
    let problem = assert_problem(
        app.request(Method::POST, "/v1/findings", Some(&member.token)).json(&body).send().await.unwrap(),
        422,
    )
    .await;
    assert!(problem.to_string().contains("was cleared"), "{problem}");
    // Drafts are the filers' own: the flag lists published findings only.
    let detail = app.get_json(&format!("/v1/red-flags/{id}")).await;
    assert_eq!(detail["findings"], json!([]));
}

/// What the stored coverage says, without when it was computed.
async fn coverage_rows(app: &TestApp) -> Vec<(String, i64, String, i64, String)> {
    domain::red_flags::query::coverage(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|row| (row.indicator, row.evaluated, row.not_applicable, row.flags, row.settings))
        .collect()
}

#[tokio::test]
async fn a_refresh_after_changes_recomputes_only_what_changed_and_agrees_with_a_full_one() {
    use domain::entities::{bid, contract, organization, payment, tender};
    use indicators::database::RefreshKind;
    use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
    let app = flagged_app().await;
    let settings = DatabaseSettings::project();

    // One change of each kind an import makes: a tender's period, a bid's amount, a payment's
    // amount, a supplier's registration day, a direct contract's value.
    let r003 = app.get_json("/v1/red-flags?indicator=R003").await;
    let tender_id = r003["items"][0]["tender_id"].as_i64().expect("R003 flags a tender");
    let tender = tender::Entity::find_by_id(tender_id).one(&app.db).await.unwrap().unwrap();
    let opens = tender.bids_open_at.expect("a flagged tender has a period");
    let mut active: tender::ActiveModel = tender.into();
    active.bids_close_at = Set(Some(opens + chrono::Duration::days(30)));
    active.update(&app.db).await.unwrap();

    let first_bid = bid::Entity::find().order_by_asc(bid::Column::Id).one(&app.db).await.unwrap().unwrap();
    let doubled = first_bid.amount_minor * 2;
    let mut active: bid::ActiveModel = first_bid.into();
    active.amount_minor = Set(doubled);
    active.update(&app.db).await.unwrap();

    let paid = payment::Entity::find()
        .filter(payment::Column::ContractId.is_not_null())
        .order_by_asc(payment::Column::Id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let contract_id = paid.contract_id.unwrap();
    let inflated = paid.amount_minor * 1_000;
    let mut active: payment::ActiveModel = paid.into();
    active.amount_minor = Set(inflated);
    active.update(&app.db).await.unwrap();

    let signed = contract::Entity::find_by_id(contract_id).one(&app.db).await.unwrap().unwrap();
    let supplier = organization::Entity::find_by_id(signed.supplier_id).one(&app.db).await.unwrap().unwrap();
    let mut active: organization::ActiveModel = supplier.into();
    active.registered_on = Set(Some(signed.signed_at.expect("signed").date_naive() - chrono::Duration::days(10)));
    active.update(&app.db).await.unwrap();

    let direct = contract::Entity::find()
        .filter(contract::Column::TenderId.is_null())
        .order_by_asc(contract::Column::Id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let raised = direct.amount_minor * 3;
    let mut active: contract::ActiveModel = direct.into();
    active.amount_minor = Set(raised);
    active.update(&app.db).await.unwrap();

    let incremental = indicators::database::refresh_if_changed(&app.db, &settings, chrono::Utc::now())
        .await
        .unwrap()
        .expect("records changed: the flags are recomputed");
    let RefreshKind::Incremental { changes, processes, buyers } = &incremental.kind else {
        panic!("five updates are followed one by one, not by a full refresh: {:?}", incremental.kind)
    };
    assert_eq!(*changes, 5);
    assert!(*processes > 0 && *processes < incremental.processes, "{processes} of {}", incremental.processes);
    assert!(*buyers > 0);
    assert!(incremental.stored.cleared >= 1, "the lengthened tender's R003 flag is cleared: {:?}", incremental.stored);
    let kz08 = app.get_json(&format!("/v1/red-flags?indicator=KZ08&contract_id={contract_id}")).await;
    assert_eq!(kz08["total"], 1, "the inflated payment exceeds its contract: {kz08}");

    // A full refresh over the same data finds exactly what the incremental one stored.
    let coverage = coverage_rows(&app).await;
    let full = refresh(&app.db, &settings, chrono::Utc::now()).await.unwrap();
    assert_eq!(
        (full.stored.raised, full.stored.refreshed, full.stored.cleared),
        (0, 0, 0),
        "the incremental refresh left the flags a full one finds"
    );
    assert_eq!(coverage_rows(&app).await, coverage, "and the coverage");

    // A delete cannot be followed to what it was part of: the next refresh is a full one.
    let gone = payment::Entity::find().order_by_desc(payment::Column::Id).one(&app.db).await.unwrap().unwrap();
    payment::Entity::delete_by_id(gone.id).exec(&app.db).await.unwrap();
    let after_delete =
        indicators::database::refresh_if_changed(&app.db, &settings, chrono::Utc::now()).await.unwrap().unwrap();
    assert!(
        matches!(&after_delete.kind, RefreshKind::Full { reason } if reason.contains("deleted")),
        "{:?}",
        after_delete.kind
    );
}
