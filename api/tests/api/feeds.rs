//! The Atom feeds through HTTP: findings walked by the roles, then read as a feed reader
//! would, parsed as Atom (RFC 4287).

use chrono::{DateTime, Utc};
use reqwest::Method;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};

use domain::entities::{OrganizationKind, contract, organization};
use domain::findings::HIDDEN_MARKER;
use domain::findings::tables::{finding, response};

use crate::helpers::{TestApp, User, assert_problem, invalid_param_name, spawn_seeded_app};

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
}

/// The people of a target: a council member files, an officer of the target answers.
struct Cast {
    target: organization::Model,
    council: i64,
    contract: i64,
    member: User,
    officer: User,
}

/// A state body with a BIN that buys, that no finding names yet and that answered none as a
/// parent body (the demo data files and answers some), with its council and its people.
async fn cast(app: &TestApp) -> Cast {
    let buyers: Vec<i64> =
        contract::Entity::find().all(&app.db).await.unwrap().into_iter().map(|c| c.buyer_id).collect();
    let mut named: Vec<i64> =
        finding::Entity::find().all(&app.db).await.unwrap().into_iter().map(|f| f.target_organization_id).collect();
    named.extend(response::Entity::find().all(&app.db).await.unwrap().into_iter().map(|r| r.organization_id));
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
        member: app.user(&["council_member"], Some(council), None).await,
        officer: app.user(&["body_officer"], None, Some(target.id)).await,
        target,
        council,
        contract,
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

async fn file(app: &TestApp, cast: &Cast, title: &str) -> Value {
    let body = json!({
        "target_organization_id": cast.target.id,
        "council_id": cast.council,
        "title": {"ru": title, "en": "Monitoring"},
        "summary": {"ru": "Проверка исполнения договора <№ 7> & приёмки"},
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

/// A feed as served: its status and media type checked, its text, and the text parsed.
async fn feed(app: &TestApp, path: &str) -> (String, atom_syndication::Feed) {
    let response = app.get(path).await;
    assert_eq!(response.status(), 200, "GET {path}");
    let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(content_type.starts_with("application/atom+xml"), "{content_type}");
    let text = response.text().await.unwrap();
    let parsed = atom_syndication::Feed::read_from(text.as_bytes()).unwrap_or_else(|e| panic!("{e}: {text}"));
    well_formed(&text, &parsed);
    (text, parsed)
}

/// What RFC 4287 requires of a feed and its entries (§4.1.1, §4.1.2), and the `Z` times.
fn well_formed(text: &str, feed: &atom_syndication::Feed) {
    assert!(text.contains("<feed xmlns=\"http://www.w3.org/2005/Atom\""), "{text}");
    assert!(!feed.id().is_empty() && !feed.title().as_str().is_empty(), "{text}");
    assert!(feed.links().iter().any(|l| l.rel() == "self"), "a self link: {text}");
    assert!(!feed.authors().is_empty(), "the feed names an author for entries without one");
    for entry in feed.entries() {
        assert!(entry.id().starts_with("urn:scrutiny:finding:"), "{}", entry.id());
        assert!(!entry.title().as_str().is_empty());
        assert!(entry.summary().is_some_and(|s| !s.as_str().is_empty()));
        assert!(entry.links().iter().any(|l| l.rel() == "alternate" && l.href().starts_with("/v1/findings/")));
    }
    let times: Vec<&str> = text.split("<updated>").skip(1).map(|rest| rest.split('<').next().unwrap()).collect();
    assert_eq!(times.len(), feed.entries().len() + 1, "{text}");
    for time in times {
        assert!(time.ends_with('Z') && DateTime::parse_from_rfc3339(time).is_ok(), "RFC 3339 in UTC: {time}");
    }
}

fn ids(feed: &atom_syndication::Feed) -> Vec<String> {
    feed.entries().iter().map(|e| e.id().to_owned()).collect()
}

fn urn(finding: &Value) -> String {
    format!("urn:scrutiny:finding:{}", finding["id"])
}

#[tokio::test]
async fn the_findings_feed_lists_published_findings_newest_first_and_never_a_draft() {
    let app = spawn_seeded_app().await;
    let cast = cast(&app).await;
    let moderator = app.user(&["moderator"], None, None).await;
    let bin = cast.target.bin.clone().unwrap();

    app.clock.set(at("2026-03-16T05:00:00Z"));
    let first = file(&app, &cast, "Мониторинг закупок школьной мебели").await;
    step(&app, &cast.member, &first, &["publish"]).await;
    app.clock.set(at("2026-03-17T05:00:00Z"));
    let second = file(&app, &cast, "Мониторинг закупок учебников").await;
    step(&app, &cast.member, &second, &["publish", "complete", "deliver"]).await;
    app.clock.set(at("2026-03-18T05:00:00Z"));
    let hidden = file(&app, &cast, "Оскорбительный заголовок").await;
    step(&app, &cast.member, &hidden, &["publish"]).await;
    let reason = json!({"reason": "Оскорбительные выражения"});
    ok(send(&app, Method::POST, &path(&hidden, "hide"), Some(&moderator), Some(reason)).await, 200).await;
    let draft = file(&app, &cast, "Черновик").await;

    let (text, parsed) = feed(&app, &format!("/v1/feeds/findings.atom?organization={bin}")).await;
    assert_eq!(ids(&parsed), [urn(&hidden), urn(&second), urn(&first)], "newest first, no draft: {text}");
    assert!(!text.contains("Черновик"));
    assert_eq!(parsed.id(), format!("urn:scrutiny:feed:findings:organization:{bin}"));
    let self_link = parsed.links().iter().find(|l| l.rel() == "self").unwrap();
    assert_eq!(self_link.href(), format!("/v1/feeds/findings.atom?organization={bin}"));
    let entries = parsed.entries();
    assert_eq!(entries[0].title().as_str(), HIDDEN_MARKER, "a hidden finding reads as the marker");
    assert_eq!(entries[0].summary().unwrap().as_str(), HIDDEN_MARKER);
    assert!(!text.contains("Оскорбительный"), "{text}");
    assert_eq!(entries[1].title().as_str(), "Мониторинг закупок учебников");
    assert_eq!(entries[2].summary().unwrap().as_str(), "Проверка исполнения договора <№ 7> & приёмки");
    assert_eq!(entries[2].links()[0].href(), format!("/v1/findings/{}", first["id"]));
    assert_eq!(entries[1].categories()[0].term(), "delivered");
    assert!(entries[2].published().unwrap().to_rfc3339().starts_with("2026-03-16T05:0"));
    assert!(!entries[0].authors().is_empty());
    assert!(!text.contains(&cast.member.email) && !text.contains("@"), "no email ever: {text}");
    // The feed's `updated` is its newest entry's.
    assert_eq!(parsed.updated(), entries.iter().map(|e| *e.updated()).max().as_ref().unwrap());

    let (_, by_council) = feed(&app, &format!("/v1/feeds/findings.atom?council={}", cast.council)).await;
    assert_eq!(ids(&by_council), ids(&parsed));
    let (_, everything) = feed(&app, "/v1/feeds/findings.atom").await;
    let all = ids(&everything);
    assert!(all.contains(&urn(&first)) && !all.contains(&urn(&draft)), "{all:?}");
    assert!(all.len() > 3 && all.len() <= 50, "the demo findings too, at most 50: {all:?}");

    // Another organization's feed has none of these.
    let other = organization::Entity::find()
        .filter(organization::Column::Bin.is_not_null())
        .filter(organization::Column::Id.ne(cast.target.id))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let (_, elsewhere) = feed(&app, &format!("/v1/feeds/findings.atom?organization={}", other.bin.unwrap())).await;
    assert!(ids(&elsewhere).iter().all(|id| ![urn(&first), urn(&second), urn(&hidden)].contains(id)));

    assert_problem(app.get("/v1/feeds/findings.atom?organization=000000000000").await, 404).await;
    assert_problem(app.get("/v1/feeds/findings.atom?council=999999999").await, 404).await;
    let problem = assert_problem(app.get("/v1/feeds/findings.atom?organization=12345").await, 400).await;
    assert_eq!(invalid_param_name(&problem), "organization");
}

#[tokio::test]
async fn the_answers_feed_lists_the_bodies_answers_newest_first() {
    let app = spawn_seeded_app().await;
    let cast = cast(&app).await;
    let bin = cast.target.bin.clone().unwrap();
    app.clock.set(at("2026-03-16T05:00:00Z"));
    let finding = file(&app, &cast, "Мониторинг закупок учебников").await;
    step(&app, &cast.member, &finding, &["publish", "complete", "deliver"]).await;

    let (_, empty) = feed(&app, &format!("/v1/feeds/answers.atom?organization={bin}")).await;
    assert!(empty.entries().is_empty());

    let accept = json!({
        "decision": "accepted",
        "reasoning": "Нарушение подтверждено",
        "measures": "Претензия поставщику",
        "implement_by": "2026-06-30",
    });
    let answer = path(&finding, "recommendations/1/response");
    ok(send(&app, Method::POST, &answer, Some(&cast.officer), Some(accept.clone())).await, 200).await;
    app.clock.set(at("2026-03-17T05:00:00Z"));
    let answer = path(&finding, "recommendations/2/response");
    ok(send(&app, Method::POST, &answer, Some(&cast.officer), Some(accept)).await, 200).await;

    let (text, parsed) = feed(&app, &format!("/v1/feeds/answers.atom?organization={bin}")).await;
    let id = finding["id"].as_i64().unwrap();
    assert_eq!(
        ids(&parsed),
        [
            format!("urn:scrutiny:finding:{id}:recommendation:2:response"),
            format!("urn:scrutiny:finding:{id}:recommendation:1:response")
        ],
        "{text}"
    );
    assert_eq!(parsed.id(), format!("urn:scrutiny:feed:answers:organization:{bin}"));
    let entry = &parsed.entries()[1];
    assert!(entry.title().as_str().contains("Мониторинг закупок учебников"), "{text}");
    let summary = entry.summary().unwrap().as_str();
    assert!(summary.starts_with("accepted: Нарушение подтверждено"), "{summary}");
    assert!(summary.contains("Претензия поставщику") && summary.contains("2026-06-30"), "{summary}");
    assert_eq!(entry.links()[0].href(), format!("/v1/findings/{id}"));
    assert_eq!(entry.categories()[0].term(), "accepted");
    let body_name = cast.target.name_ru.clone().or(cast.target.name_kk.clone()).or(cast.target.name_en.clone());
    if let Some(name) = body_name {
        assert_eq!(entry.authors()[0].name(), name, "the answering body is the author");
    }
    assert!(!text.contains(&cast.officer.email));
    assert!(entry.updated().to_rfc3339().starts_with("2026-03-16T05:0"));

    let (_, by_council) = feed(&app, &format!("/v1/feeds/answers.atom?council={}", cast.council)).await;
    assert_eq!(ids(&by_council), ids(&parsed));
    let (_, everything) = feed(&app, "/v1/feeds/answers.atom").await;
    assert!(ids(&everything).contains(&ids(&parsed)[0]));
    assert!(everything.entries().len() <= 50);
}
