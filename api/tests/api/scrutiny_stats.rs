//! Scrutiny statistics through HTTP: findings walked by the roles on real calendar dates,
//! then counted per organization and by group, each rate with its sample and Wilson interval.

use chrono::{DateTime, Utc};
use reqwest::Method;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};

use domain::entities::{OrganizationKind, contract, organization};
use domain::findings::tables::finding;

use crate::helpers::{TestApp, User, assert_problem, invalid_param_name, spawn_seeded_app};

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
}

/// The people of a target: a council member files, an officer of the target answers.
struct Cast {
    target: i64,
    council: i64,
    contract: i64,
    member: User,
    officer: User,
}

/// A state body that buys and that no finding names yet (the demo data files some), with
/// its council and its people.
async fn cast(app: &TestApp) -> Cast {
    let buyers: Vec<i64> =
        contract::Entity::find().all(&app.db).await.unwrap().into_iter().map(|c| c.buyer_id).collect();
    let named: Vec<i64> =
        finding::Entity::find().all(&app.db).await.unwrap().into_iter().map(|f| f.target_organization_id).collect();
    let target = organization::Entity::find()
        .filter(organization::Column::Kind.eq(OrganizationKind::StateBody))
        .filter(organization::Column::Id.is_in(buyers))
        .filter(organization::Column::Id.is_not_in(named))
        .filter(organization::Column::Bin.is_not_null())
        .order_by_asc(organization::Column::Id)
        .one(&app.db)
        .await
        .unwrap()
        .expect("the demo data has a state body that buys and is not scrutinised yet");
    let contract = contract::Entity::find()
        .filter(contract::Column::BuyerId.eq(target.id))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .id;
    let council = app.get_json(&format!("/v1/councils?host_organization_id={}", target.id)).await["items"][0]["id"]
        .as_i64()
        .expect("every state body has a council");
    Cast {
        target: target.id,
        council,
        contract,
        member: app.user(&["council_member"], Some(council), None).await,
        officer: app.user(&["body_officer"], None, Some(target.id)).await,
    }
}

async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    user: Option<&User>,
    body: Option<Value>,
) -> reqwest::Response {
    let mut request = app.request(method, path, user.map(|u| u.token.as_str()));
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.expect("request sent")
}

async fn ok(response: reqwest::Response, status: u16) -> Value {
    let code = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert_eq!(code, status, "{body}");
    body
}

async fn file(app: &TestApp, cast: &Cast) -> Value {
    let body = json!({
        "target_organization_id": cast.target,
        "council_id": cast.council,
        "title": {"ru": "Мониторинг закупок школьной мебели"},
        "summary": {"ru": "Проверка исполнения договора"},
        "links": [{"record_type": "contract", "record_id": cast.contract}],
        "facts": ["Поставка задержана на 30 дней"],
        "recommendations": ["Взыскать неустойку с поставщика", "Провести служебную проверку"],
    });
    ok(send(app, Method::POST, "/v1/findings", Some(&cast.member), Some(body)).await, 201).await
}

fn path(finding: &Value, step: &str) -> String {
    format!("/v1/findings/{}/{step}", finding["id"])
}

async fn step(app: &TestApp, user: &User, finding: &Value, steps: &[&str]) {
    for step in steps {
        ok(send(app, Method::POST, &path(finding, step), Some(user), None).await, 200).await;
    }
}

async fn accept(app: &TestApp, cast: &Cast, finding: &Value, number: i32) -> Value {
    let body = json!({
        "decision": "accepted",
        "reasoning": "Нарушение подтверждено",
        "measures": "Претензия поставщику",
        "implement_by": "2026-06-30",
    });
    let path = path(finding, &format!("recommendations/{number}/response"));
    ok(send(app, Method::POST, &path, Some(&cast.officer), Some(body)).await, 200).await
}

/// `(successes, trials, rate, wilson_low, wilson_high)` of a rate in a response.
fn rate(value: &Value) -> (u64, u64, Option<&str>, Option<&str>, Option<&str>) {
    (
        value["successes"].as_u64().unwrap(),
        value["trials"].as_u64().unwrap(),
        value["rate"].as_str(),
        value["wilson_low"].as_str(),
        value["wilson_high"].as_str(),
    )
}

/// Three received findings and two that do not count, as of 10 April 2026: one delivered on
/// time and answered on time (both recommendations accepted, one judged implemented), one
/// delivered on time and never answered (overdue now), one delivered late (its answer not
/// yet due); a draft and a withdrawn finding. Returns the silent one.
async fn walk(app: &TestApp, cast: &Cast) -> Value {
    // Monday 16 March 2026: delivery is due 30 March, answers 10 working days after delivery.
    app.clock.set(at("2026-03-16T05:00:00Z"));
    let answered = file(app, cast).await;
    step(app, &cast.member, &answered, &["publish", "complete", "deliver"]).await;
    accept(app, cast, &answered, 1).await;
    let done = accept(app, cast, &answered, 2).await;
    assert_eq!((done["status"].clone(), done["answered_on_time"].clone()), (json!("answered"), json!(true)));
    let report = json!({"report": "Неустойка взыскана"});
    let report_path = path(&answered, "recommendations/1/implementation");
    ok(send(app, Method::POST, &report_path, Some(&cast.officer), Some(report)).await, 200).await;
    let assess = json!({"result": "implemented", "reason": "Платёжное поручение получено"});
    let assess_path = path(&answered, "recommendations/1/assessment");
    ok(send(app, Method::POST, &assess_path, Some(&cast.member), Some(assess)).await, 200).await;

    let silent = file(app, cast).await;
    step(app, &cast.member, &silent, &["publish", "complete", "deliver"]).await;

    let late = file(app, cast).await;
    step(app, &cast.member, &late, &["publish", "complete"]).await;

    let _draft = file(app, cast).await;
    let withdrawn = file(app, cast).await;
    step(app, &cast.member, &withdrawn, &["publish", "withdraw"]).await;

    // Friday 10 April: the silent body's answer (due 2 April) is late; the late delivery
    // (due 30 March) happens now.
    app.clock.set(at("2026-04-10T05:00:00Z"));
    step(app, &cast.member, &late, &["deliver"]).await;
    let silent_now = app.get_json(&format!("/v1/findings/{}", silent["id"])).await;
    assert_eq!(silent_now["overdue"], true, "{silent_now}");
    silent
}

#[tokio::test]
async fn an_organizations_figures_count_on_time_and_late_with_their_samples_and_intervals() {
    let app = spawn_seeded_app().await;
    let cast = cast(&app).await;

    let empty = app.get_json(&format!("/v1/organizations/{}/scrutiny-stats", cast.target)).await;
    assert_eq!(empty["organization"]["id"], cast.target);
    assert_eq!(empty["figures"]["findings"], 0);
    assert_eq!(rate(&empty["figures"]["answered_on_time"]), (0, 0, None, None, None), "no trials, no rate");
    assert_eq!(empty["figures"]["small_sample"], true);

    let silent = walk(&app, &cast).await;
    let stats = app.get_json(&format!("/v1/organizations/{}/scrutiny-stats", cast.target)).await;
    let figures = &stats["figures"];
    assert_eq!(figures["findings"], 3, "the draft and the withdrawn finding do not count: {figures}");
    assert_eq!(figures["received"], 3);
    assert_eq!(
        rate(&figures["delivered_on_time"]),
        (2, 3, Some("0.6667"), Some("0.2077"), Some("0.9385")),
        "{figures}"
    );
    // The late delivery's answer is not due yet: two trials, one on time.
    assert_eq!(rate(&figures["answered_on_time"]), (1, 2, Some("0.5000"), Some("0.0945"), Some("0.9055")), "{figures}");
    assert_eq!(figures["overdue_now"], 1);
    assert_eq!(figures["decisions"], json!({"accepted": 2, "partially_accepted": 0, "declined": 0}));
    assert_eq!(rate(&figures["acceptance"]), (2, 2, Some("1.0000"), Some("0.3424"), Some("1.0000")));
    // 1 of 1: Wilson's lower bound is 1 / (1 + z²) = 0.206549…, the upper bound 1.
    assert_eq!(rate(&figures["implementation"]), (1, 1, Some("1.0000"), Some("0.2065"), Some("1.0000")));
    assert_eq!(figures["small_sample"], true, "3 findings are fewer than 5");
    assert!(stats["computed_at"].as_str().unwrap().starts_with("2026-04-10T05:0"), "{stats}");

    // Judged at the time of the request: once the silent body answers, nothing is overdue.
    app.clock.set(at("2026-04-13T05:00:00Z"));
    accept(&app, &cast, &silent, 1).await;
    accept(&app, &cast, &silent, 2).await;
    let later = app.get_json(&format!("/v1/organizations/{}/scrutiny-stats", cast.target)).await;
    assert_eq!(later["figures"]["overdue_now"], 0);
    assert_eq!(rate(&later["figures"]["answered_on_time"]).0, 1, "answered late still counts as late");
    assert_eq!(rate(&later["figures"]["answered_on_time"]).1, 2);
    assert_eq!(later["figures"]["decisions"]["accepted"], 4);

    assert_problem(app.get("/v1/organizations/999999999/scrutiny-stats").await, 404).await;
}

#[tokio::test]
async fn groups_carry_their_samples_are_flagged_when_small_and_sort_by_a_figure() {
    let app = spawn_seeded_app().await;
    let cast = cast(&app).await;
    walk(&app, &cast).await;

    let report = app.get_json("/v1/stats/scrutiny?group_by=organization&limit=1000").await;
    assert_eq!(report["group_by"], "organization");
    assert_eq!(report["sort"], "-findings");
    let groups = report["groups"].as_array().unwrap();
    let ours = groups
        .iter()
        .find(|g| g["key"].as_str() == Some(cast.target.to_string().as_str()))
        .expect("the target's group");
    assert_eq!(ours["organization"]["id"], cast.target);
    assert_eq!(ours["figures"]["findings"], 3);
    assert_eq!(ours["figures"]["small_sample"], true);
    assert_eq!(rate(&ours["figures"]["answered_on_time"]), (1, 2, Some("0.5000"), Some("0.0945"), Some("0.9055")));
    for group in groups {
        let findings = group["figures"]["findings"].as_u64().unwrap();
        assert_eq!(group["figures"]["small_sample"], findings < 5, "{group}");
        for name in ["delivered_on_time", "answered_on_time", "acceptance", "implementation"] {
            let (successes, trials, rate, low, high) = rate(&group["figures"][name]);
            assert!(successes <= trials, "{group}");
            assert_eq!(rate.is_some(), trials > 0, "{name} of {group}");
            if let (Some(rate), Some(low), Some(high)) = (rate, low, high) {
                let [rate, low, high] = [rate, low, high].map(|t| t.parse::<f64>().unwrap());
                assert!(low <= rate && rate <= high, "{name} of {group}");
            }
        }
    }
    let counts: Vec<u64> = groups.iter().map(|g| g["figures"]["findings"].as_u64().unwrap()).collect();
    assert!(counts.windows(2).all(|w| w[0] >= w[1]), "most findings first: {counts:?}");

    let by_rate = app.get_json("/v1/stats/scrutiny?group_by=organization&sort=-answered_on_time&limit=1000").await;
    let rates: Vec<Option<f64>> = by_rate["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["figures"]["answered_on_time"]["rate"].as_str().map(|r| r.parse().unwrap()))
        .collect();
    let judged: Vec<f64> = rates.iter().map_while(|r| *r).collect();
    assert!(judged.windows(2).all(|w| w[0] >= w[1]), "highest first: {rates:?}");
    assert!(rates[judged.len()..].iter().all(Option::is_none), "groups without trials last: {rates:?}");

    let limited = app.get_json("/v1/stats/scrutiny?group_by=organization&sort=overdue_now&limit=1").await;
    assert_eq!(limited["groups"].as_array().unwrap().len(), 1);

    let by_council = app.get_json("/v1/stats/scrutiny?group_by=council&limit=1000").await;
    let council = by_council["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["key"].as_str() == Some(cast.council.to_string().as_str()))
        .expect("the council's group");
    assert_eq!(council["figures"]["findings"], 3);
    assert!(council.get("organization").is_none());

    let by_kind = app.get_json("/v1/stats/scrutiny?group_by=kind").await;
    let kinds: Vec<&str> = by_kind["groups"].as_array().unwrap().iter().map(|g| g["key"].as_str().unwrap()).collect();
    assert!(kinds.contains(&"council"), "{kinds:?}");

    let target = organization::Entity::find_by_id(cast.target).one(&app.db).await.unwrap().unwrap();
    let by_region = app.get_json("/v1/stats/scrutiny?group_by=region&limit=1000").await;
    let region_keys: Vec<Value> = by_region["groups"].as_array().unwrap().iter().map(|g| g["key"].clone()).collect();
    match target.region_kato.as_deref() {
        Some(code) => assert!(region_keys.contains(&json!(format!("{}0000000", &code[..2]))), "{region_keys:?}"),
        None => assert!(region_keys.contains(&Value::Null), "{region_keys:?}"),
    }
    let total: u64 =
        by_region["groups"].as_array().unwrap().iter().map(|g| g["figures"]["findings"].as_u64().unwrap()).sum();
    let all: u64 = groups.iter().map(|g| g["figures"]["findings"].as_u64().unwrap()).sum();
    assert_eq!(total, all, "every published finding is in one group whatever the grouping");
}

#[tokio::test]
async fn a_bad_grouping_or_order_is_a_400_that_names_the_parameter() {
    let app = spawn_seeded_app().await;
    for (path, name) in [
        ("/v1/stats/scrutiny", "group_by"),
        ("/v1/stats/scrutiny?group_by=colour", "group_by"),
        ("/v1/stats/scrutiny?group_by=council&sort=colour", "sort"),
        ("/v1/stats/scrutiny?group_by=council&limit=0", "limit"),
        ("/v1/stats/scrutiny?group_by=council&limit=1001", "limit"),
    ] {
        let problem = assert_problem(app.get(path).await, 400).await;
        assert_eq!(invalid_param_name(&problem), name, "{path}: {problem}");
    }
}

#[tokio::test]
async fn figures_kept_between_requests_follow_every_write() {
    let app = spawn_seeded_app().await;
    let cast = cast(&app).await;
    app.clock.set(at("2026-06-01T05:00:00Z"));
    let path = format!("/v1/organizations/{}/scrutiny-stats", cast.target);
    assert_eq!(app.get_json(&path).await["figures"]["findings"], 0);
    let finding = file(&app, &cast).await;
    assert_eq!(app.get_json(&path).await["figures"]["findings"], 0, "a draft does not count");
    step(&app, &cast.member, &finding, &["publish"]).await;
    assert_eq!(app.get_json(&path).await["figures"]["findings"], 1, "the same minute, a new version");
    step(&app, &cast.member, &finding, &["complete", "deliver"]).await;
    assert_eq!(app.get_json(&path).await["figures"]["received"], 1);
}
