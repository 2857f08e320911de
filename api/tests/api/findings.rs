//! The findings workflow through HTTP, as the roles would walk it, on real calendar dates.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use reqwest::Method;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, Set};
use serde_json::{Value, json};

use domain::entities::{OrganizationKind, contract, organization};
use domain::findings::Findings;
use domain::findings::calendar::Calendar;

use crate::helpers::{TestApp, User, assert_problem, spawn_seeded_app};

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
}

/// The people of one finding: a council member files, an officer of the target answers.
struct Cast {
    target: i64,
    council: i64,
    contract: i64,
    member: User,
    officer: User,
    citizen: User,
}

/// A state body that buys (so a contract can be linked), with its council and its people.
async fn cast(app: &TestApp) -> Cast {
    let buyers: Vec<i64> = contract::Entity::find()
        .order_by_asc(contract::Column::Id)
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.buyer_id)
        .collect();
    // The last such body: the demo findings name the first ones.
    let target = organization::Entity::find()
        .filter(organization::Column::Kind.eq(OrganizationKind::StateBody))
        .filter(organization::Column::Id.is_in(buyers))
        .order_by_desc(organization::Column::Id)
        .one(&app.db)
        .await
        .unwrap()
        .expect("the demo data has a state body that buys");
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
        citizen: app.user(&["citizen"], None, None).await,
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
        "form": "monitoring",
        "reason": "plan",
        "title": {"ru": "Мониторинг закупок томографов", "en": "Monitoring of tomograph purchases"},
        "summary": {"ru": "Проверка исполнения договора"},
        "period_from": "2025-01-01",
        "period_to": "2025-12-31",
        "links": [{"record_type": "contract", "record_id": cast.contract}],
        "facts": ["Поставка задержана на 45 дней", "Акт приёмки подписан до поставки"],
        "recommendations": ["Взыскать неустойку с поставщика", "Провести служебную проверку"],
    });
    ok(send(app, Method::POST, "/v1/findings", Some(&cast.member), Some(body)).await, 201).await
}

fn path(finding: &Value, step: &str) -> String {
    format!("/v1/findings/{}/{step}", finding["id"])
}

#[tokio::test]
async fn a_finding_walks_from_filing_to_closing_as_the_roles_would() {
    let app = spawn_seeded_app().await;
    let cast = cast(&app).await;
    // Monday 16 March 2026, 10:00 in Astana: Nauryz (23–25 March, carried over) is ahead.
    app.clock.set(at("2026-03-16T05:00:00Z"));

    let draft = file(&app, &cast).await;
    assert_eq!(draft["status"], "draft");
    assert_eq!(draft["council_id"], cast.council);
    assert_eq!(draft["recommendations"][1]["number"], 2);
    assert_eq!(draft["links"][0]["href"], format!("/v1/contracts/{}", cast.contract));
    let id = draft["id"].as_i64().unwrap();
    // A draft is its filers' alone.
    assert_problem(app.get(&format!("/v1/findings/{id}")).await, 404).await;
    assert_problem(send(&app, Method::GET, &format!("/v1/findings/{id}"), Some(&cast.citizen), None).await, 404).await;
    ok(send(&app, Method::GET, &format!("/v1/findings/{id}"), Some(&cast.member), None).await, 200).await;
    // Nobody but a filer moves it.
    assert_problem(send(&app, Method::POST, &path(&draft, "publish"), Some(&cast.officer), None).await, 404).await;

    let published = ok(send(&app, Method::POST, &path(&draft, "publish"), Some(&cast.member), None).await, 200).await;
    assert_eq!(published["status"], "in_progress");
    assert_eq!(app.get_json(&format!("/v1/findings/{id}")).await["status"], "in_progress");
    assert_problem(send(&app, Method::POST, &path(&draft, "publish"), Some(&cast.citizen), None).await, 403).await;

    let completed = ok(send(&app, Method::POST, &path(&draft, "complete"), Some(&cast.member), None).await, 200).await;
    // 7 working days from Monday 16 March: 17, 18, 19, 20, (21–25 off), 26, 27, 30.
    assert_eq!(completed["deliver_by"], "2026-03-30");
    assert_eq!(completed["overdue"], false);
    // The final document is fixed now.
    let edit =
        send(&app, Method::PATCH, &format!("/v1/findings/{id}"), Some(&cast.member), Some(json!({"facts": []}))).await;
    assert_problem(edit, 428).await;
    let edit = app
        .request(Method::PATCH, &format!("/v1/findings/{id}"), Some(&cast.member.token))
        .header("If-Match", "*")
        .json(&json!({"facts": []}))
        .send()
        .await
        .unwrap();
    let problem = assert_problem(edit, 409).await;
    assert!(problem["detail"].as_str().unwrap().contains("completed"), "{problem}");
    assert_eq!((&problem["state"], &problem["allowed_steps"]), (&json!("completed"), &json!(["deliver"])), "{problem}");

    // Delivered on Wednesday 18 March: the answer is due 10 working days later.
    app.clock.set(at("2026-03-18T06:00:00Z"));
    let delivered = ok(send(&app, Method::POST, &path(&draft, "deliver"), Some(&cast.member), None).await, 200).await;
    assert_eq!(delivered["status"], "delivered");
    assert_eq!(delivered["delivered_on_time"], true);
    // 19, 20, (21–25 off), 26, 27, 30, 31, 1, 2, 3, 6 April.
    assert_eq!(delivered["answer_due"], "2026-04-06");

    // A decline without a hearing is refused, saying what to do.
    let decline = json!({"decision": "declined", "reasoning": "Неустойка уже взыскана"});
    let response = send(
        &app,
        Method::POST,
        &path(&draft, "recommendations/1/response"),
        Some(&cast.officer),
        Some(decline.clone()),
    )
    .await;
    let problem = assert_problem(response, 422).await;
    assert_eq!(problem["invalid_params"][0]["name"], "decision", "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("hearing"), "{problem}");
    // The filers do not answer for the body.
    let response = send(
        &app,
        Method::POST,
        &path(&draft, "recommendations/1/response"),
        Some(&cast.member),
        Some(decline.clone()),
    )
    .await;
    assert_problem(response, 403).await;

    // Thursday 19 March: the officer offers a hearing.
    app.clock.set(at("2026-03-19T04:00:00Z"));
    let hearing = json!({"starts_at": "2026-03-27T05:00:00Z", "place": "Астана, пр. Мангилик Ел 8, зал 3"});
    let offered =
        ok(send(&app, Method::POST, &path(&draft, "hearings"), Some(&cast.officer), Some(hearing)).await, 201).await;
    assert_eq!(offered["hearings"][0]["place"], "Астана, пр. Мангилик Ел 8, зал 3");

    // Friday 20 March is too soon: 3 working days after 19 March are 20, 26 and 27 March.
    app.clock.set(at("2026-03-20T04:00:00Z"));
    let response = send(
        &app,
        Method::POST,
        &path(&draft, "recommendations/1/response"),
        Some(&cast.officer),
        Some(decline.clone()),
    )
    .await;
    let problem = assert_problem(response, 422).await;
    assert!(problem["detail"].as_str().unwrap().contains("2026-03-27"), "{problem}");

    // Friday 27 March, after the hearing: the decline stands, the other is accepted.
    app.clock.set(at("2026-03-27T08:00:00Z"));
    let declined = ok(
        send(
            &app,
            Method::POST,
            &path(&draft, "recommendations/1/response"),
            Some(&cast.officer),
            Some(decline.clone()),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(declined["status"], "delivered");
    assert_eq!(declined["recommendations"][0]["response"]["decision"], "declined");
    // One answer per recommendation.
    let again =
        send(&app, Method::POST, &path(&draft, "recommendations/1/response"), Some(&cast.officer), Some(decline)).await;
    assert_problem(again, 409).await;
    let accept = json!({
        "decision": "accepted",
        "reasoning": "Нарушение подтверждено",
        "measures": "Служебная проверка приказом № 45",
        "implement_by": "2026-05-29",
    });
    let answered = ok(
        send(&app, Method::POST, &path(&draft, "recommendations/2/response"), Some(&cast.officer), Some(accept)).await,
        200,
    )
    .await;
    assert_eq!(answered["status"], "answered");
    assert_eq!(answered["answered_on_time"], true);
    assert_eq!(answered["recommendations"][1]["response"]["implement_by"], "2026-05-29");

    // Follow-up: the body reports, the filers judge.
    let report = json!({"report": "Проверка проведена, виновные привлечены к ответственности"});
    ok(
        send(&app, Method::POST, &path(&draft, "recommendations/2/implementation"), Some(&cast.officer), Some(report))
            .await,
        200,
    )
    .await;
    let assess = json!({"result": "implemented", "reason": "Приказ опубликован"});
    let assessed = ok(
        send(&app, Method::POST, &path(&draft, "recommendations/2/assessment"), Some(&cast.member), Some(assess)).await,
        200,
    )
    .await;
    assert_eq!(assessed["recommendations"][1]["implementation"]["result"], "implemented");

    assert_problem(send(&app, Method::POST, &path(&draft, "close"), Some(&cast.officer), None).await, 403).await;
    let closed = ok(send(&app, Method::POST, &path(&draft, "close"), Some(&cast.member), None).await, 200).await;
    assert_eq!(closed["status"], "closed");
    // A final state names itself and that nothing follows.
    let problem =
        assert_problem(send(&app, Method::POST, &path(&draft, "publish"), Some(&cast.member), None).await, 409).await;
    assert!(problem["detail"].as_str().unwrap().contains("closed"), "{problem}");
    assert_eq!((&problem["state"], &problem["allowed_steps"]), (&json!("closed"), &json!([])), "{problem}");

    let history = app.get_json(&format!("/v1/findings/{id}/history?limit=100")).await;
    let actions: Vec<&str> =
        history["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions,
        [
            "finding.file",
            "finding.publish",
            "finding.complete",
            "finding.deliver",
            "finding.hearing",
            "finding.answer",
            "finding.answer",
            "finding.implementation_report",
            "finding.implementation_assess",
            "finding.close"
        ]
    );
    let actors: Vec<&str> = history["items"].as_array().unwrap().iter().map(|e| e["actor"].as_str().unwrap()).collect();
    assert_eq!(actors[4], format!("account:{}", cast.officer.id));
    assert_eq!(actors[9], format!("account:{}", cast.member.id));
}

#[tokio::test]
async fn a_passed_deadline_is_overdue_recorded_once_and_stays_visible_after_the_fact() {
    let app = spawn_seeded_app().await;
    let cast = cast(&app).await;
    // Thursday 10 December 2026: Independence Day (Wed 16 Dec) falls inside the term.
    app.clock.set(at("2026-12-10T05:00:00Z"));
    let draft = file(&app, &cast).await;
    let id = draft["id"].as_i64().unwrap();
    ok(send(&app, Method::POST, &path(&draft, "publish"), Some(&cast.member), None).await, 200).await;
    let completed = ok(send(&app, Method::POST, &path(&draft, "complete"), Some(&cast.member), None).await, 200).await;
    // 11, 14, 15, (16 off), 17, 18, 21, 22.
    assert_eq!(completed["deliver_by"], "2026-12-22");

    let findings = Findings::new(app.db.clone(), Arc::new(Calendar::shipped()), app.clock.clone());
    // 22 December ends at 19:00 UTC (midnight in Astana): a minute before, nothing is late.
    app.clock.set(at("2026-12-22T18:59:00Z"));
    assert_eq!(findings.record_passed_deadlines().await.unwrap(), 0);
    assert_eq!(app.get_json(&format!("/v1/findings/{id}")).await["overdue"], false);
    app.clock.set(at("2026-12-22T19:01:00Z"));
    assert_eq!(findings.record_passed_deadlines().await.unwrap(), 1);
    assert_eq!(findings.record_passed_deadlines().await.unwrap(), 0, "a passed deadline is recorded once");
    let late = app.get_json(&format!("/v1/findings/{id}")).await;
    assert_eq!(late["overdue"], true);
    assert_eq!(late["delivered_on_time"], false);
    let listed = app.get_json(&format!("/v1/findings?overdue=true&target_organization_id={}", cast.target)).await;
    assert_eq!(listed["total"], 1);
    let listed = app.get_json(&format!("/v1/findings?overdue=false&target_organization_id={}", cast.target)).await;
    assert_eq!(listed["total"], 0);

    // Delivered late, over the New Year: still late after the fact, and the answer counts on.
    app.clock.set(at("2026-12-29T05:00:00Z"));
    let delivered = ok(send(&app, Method::POST, &path(&draft, "deliver"), Some(&cast.member), None).await, 200).await;
    assert_eq!(delivered["overdue"], false);
    assert_eq!(delivered["delivered_on_time"], false);
    // 30, 31 Dec, (1 Jan off; 4 Jan carried over from Sat 2 Jan), 5, 6, (7 off), 8, 11, 12, 13, 14, 15.
    assert_eq!(delivered["answer_due"], "2027-01-15");

    let history = app.get_json(&format!("/v1/findings/{id}/history?limit=100")).await;
    let passed: Vec<&Value> =
        history["items"].as_array().unwrap().iter().filter(|e| e["action"] == "finding.deadline_passed").collect();
    assert_eq!(passed.len(), 1);
    assert_eq!(passed[0]["after"]["deadline"], "deliver_by");
    assert_eq!(passed[0]["actor"], "system:deadlines");
}

#[tokio::test]
async fn a_late_or_declined_answer_escalates_once_to_the_parent_body() {
    let app = spawn_seeded_app().await;
    let cast = cast(&app).await;
    let parent = organization::Entity::find()
        .filter(organization::Column::Kind.eq(OrganizationKind::StateBody))
        .filter(organization::Column::Id.ne(cast.target))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let mut target =
        organization::Entity::find_by_id(cast.target).one(&app.db).await.unwrap().unwrap().into_active_model();
    target.parent_id = Set(Some(parent.id));
    target.update(&app.db).await.unwrap();
    let ministry = app.user(&["body_officer"], None, Some(parent.id)).await;

    app.clock.set(at("2026-04-06T05:00:00Z"));
    let draft = file(&app, &cast).await;
    for step in ["publish", "complete", "deliver"] {
        ok(send(&app, Method::POST, &path(&draft, step), Some(&cast.member), None).await, 200).await;
    }
    // Not late yet and nothing declined: no escalation.
    let problem =
        assert_problem(send(&app, Method::POST, &path(&draft, "escalate"), Some(&cast.member), None).await, 409).await;
    assert!(problem["detail"].as_str().unwrap().contains("late"), "{problem}");
    // The answer is due 20 April (10 working days from 6 April); the body stays silent.
    app.clock.set(at("2026-04-21T05:00:00Z"));
    let late = app.get_json(&format!("/v1/findings/{}", draft["id"])).await;
    assert_eq!(late["answer_due"], "2026-04-20");
    assert_eq!((late["overdue"].clone(), late["answered_on_time"].clone()), (json!(true), json!(false)));
    let escalated = ok(send(&app, Method::POST, &path(&draft, "escalate"), Some(&cast.member), None).await, 200).await;
    assert_eq!(escalated["escalation"]["organization_id"], parent.id);
    // 10 working days from 21 April: 22, 23, 24, 27, 28, 29, 30, (1 May off), 4, 5, 6.
    assert_eq!(escalated["escalation"]["answer_due"], "2026-05-06");
    assert_problem(send(&app, Method::POST, &path(&draft, "escalate"), Some(&cast.member), None).await, 409).await;

    let accept = json!({"decision": "accepted", "reasoning": "Поручено", "measures": "Поручение № 12", "implement_by": "2026-06-30"});
    for number in [1, 2] {
        ok(
            send(
                &app,
                Method::POST,
                &path(&draft, &format!("recommendations/{number}/response")),
                Some(&ministry),
                Some(accept.clone()),
            )
            .await,
            200,
        )
        .await;
    }
    let answered = app.get_json(&format!("/v1/findings/{}", draft["id"])).await;
    assert_eq!(answered["escalation"]["answered_on_time"], true);
    assert_eq!(answered["recommendations"][0]["escalation_response"]["organization_id"], parent.id);
    assert!(answered["recommendations"][0]["response"].is_null(), "the target never answered");
    assert_eq!(answered["overdue"], true, "the target's own answer is still late");
}

#[tokio::test]
async fn filing_refuses_what_cannot_be_stored_truthfully_and_names_the_field() {
    let app = spawn_seeded_app().await;
    let cast = cast(&app).await;
    let supplier = organization::Entity::find()
        .filter(organization::Column::Kind.eq(OrganizationKind::Supplier))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let other_contract =
        contract::Entity::find().filter(contract::Column::BuyerId.ne(cast.target)).one(&app.db).await.unwrap().unwrap();
    let cases = [
        (json!({"target_organization_id": supplier.id}), "target_organization_id"),
        (
            json!({"target_organization_id": cast.target, "links": [{"record_type": "contract", "record_id": 999999999}]}),
            "links[0].record_id",
        ),
        (
            json!({"target_organization_id": cast.target, "links": [{"record_type": "contract", "record_id": other_contract.id}]}),
            "links[0].record_id",
        ),
        (
            json!({"target_organization_id": cast.target, "period_from": "2025-05-01", "period_to": "2025-01-01"}),
            "period_to",
        ),
        (json!({"target_organization_id": cast.target, "recommendations": ["   "]}), "recommendations[0]"),
    ];
    for (body, field) in cases {
        let problem = assert_problem(
            send(&app, Method::POST, "/v1/findings", Some(&cast.citizen), Some(body.clone())).await,
            422,
        )
        .await;
        assert_eq!(problem["invalid_params"][0]["name"], field, "{body} → {problem}");
    }
    // A member files only for their own council; an officer is not a filer.
    let elsewhere = json!({"target_organization_id": cast.target, "council_id": cast.council + 1});
    assert_problem(send(&app, Method::POST, "/v1/findings", Some(&cast.member), Some(elsewhere)).await, 403).await;
    let own = json!({"target_organization_id": cast.target});
    assert_problem(send(&app, Method::POST, "/v1/findings", Some(&cast.officer), Some(own.clone())).await, 403).await;
    assert_problem(send(&app, Method::POST, "/v1/findings", None, Some(own.clone())).await, 401).await;
    // A citizen files in their own name.
    let filed = ok(send(&app, Method::POST, "/v1/findings", Some(&cast.citizen), Some(own)).await, 201).await;
    assert_eq!(filed["filer"]["kind"], "citizen");
    assert!(filed.get("council_id").is_none());
    assert!(!filed.to_string().contains(&cast.citizen.email), "an email never shows");
}

#[tokio::test]
async fn lists_show_the_public_their_findings_and_filers_their_drafts_as_json_and_csv() {
    let app = spawn_seeded_app().await;
    let cast = cast(&app).await;
    let draft = file(&app, &cast).await;
    let public = file(&app, &cast).await;
    ok(send(&app, Method::POST, &path(&public, "publish"), Some(&cast.member), None).await, 200).await;
    let anonymous = app.get_json(&format!("/v1/findings?council_id={}", cast.council)).await;
    assert_eq!(anonymous["total"], 1);
    assert_eq!(anonymous["items"][0]["id"], public["id"]);
    let member = ok(
        send(&app, Method::GET, &format!("/v1/findings?council_id={}", cast.council), Some(&cast.member), None).await,
        200,
    )
    .await;
    assert_eq!(member["total"], 2);
    let drafts = ok(send(&app, Method::GET, "/v1/findings?status=draft", Some(&cast.member), None).await, 200).await;
    assert_eq!(drafts["items"][0]["id"], draft["id"]);
    let by_record = app.get_json(&format!("/v1/findings?record_type=contract&record_id={}", cast.contract)).await;
    assert_eq!(by_record["total"], 1);
    let by_text = app.get_json("/v1/findings?q=томографов").await;
    assert_eq!(by_text["total"], 1);
    // The contract and the body it names show it; the draft stays out.
    let contract = app.get_json(&format!("/v1/contracts/{}", cast.contract)).await;
    let named: Vec<&Value> = contract["findings"].as_array().unwrap().iter().map(|f| &f["id"]).collect();
    assert_eq!(named, [&public["id"]]);
    assert_eq!(contract["findings"][0]["href"], format!("/v1/findings/{}", public["id"]));
    let body = app.get_json(&format!("/v1/organizations/{}", cast.target)).await;
    let named: Vec<&Value> = body["findings"].as_array().unwrap().iter().map(|f| &f["id"]).collect();
    assert_eq!(named, [&public["id"]]);

    let csv = app.get(&format!("/v1/findings?format=csv&council_id={}", cast.council)).await;
    assert_eq!(csv.status(), 200);
    let text = csv.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader.headers().unwrap().clone();
    assert_eq!(&headers[0], "id");
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 1, "{text}");
    assert_eq!(rows[0][1].to_string(), "in_progress");
}

#[tokio::test]
async fn a_moderator_hides_a_finding_behind_a_public_marker_and_can_undo_it() {
    let app = spawn_seeded_app().await;
    let cast = cast(&app).await;
    let moderator = app.user(&["moderator"], None, None).await;
    let finding = file(&app, &cast).await;
    ok(send(&app, Method::POST, &path(&finding, "publish"), Some(&cast.member), None).await, 200).await;
    let reason = json!({"reason": "Оскорбительные выражения"});
    assert_problem(
        send(&app, Method::POST, &path(&finding, "hide"), Some(&cast.officer), Some(reason.clone())).await,
        403,
    )
    .await;
    ok(send(&app, Method::POST, &path(&finding, "hide"), Some(&moderator), Some(reason)).await, 200).await;
    let public = app.get_json(&format!("/v1/findings/{}", finding["id"])).await;
    assert_eq!(public["hidden"]["reason"], "Оскорбительные выражения");
    assert_eq!(public["title"]["ru"], domain::findings::HIDDEN_MARKER);
    assert_eq!(public["facts"][0], domain::findings::HIDDEN_MARKER);
    let own =
        ok(send(&app, Method::GET, &format!("/v1/findings/{}", finding["id"]), Some(&cast.member), None).await, 200)
            .await;
    assert_ne!(own["title"]["ru"], domain::findings::HIDDEN_MARKER, "the filers still see their text");
    ok(send(&app, Method::POST, &path(&finding, "unhide"), Some(&moderator), None).await, 200).await;
    let shown = app.get_json(&format!("/v1/findings/{}", finding["id"])).await;
    assert!(shown.get("hidden").is_none());
    let history = app.get_json(&format!("/v1/findings/{}/history", finding["id"])).await;
    let actions: Vec<&str> =
        history["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["finding.file", "finding.publish", "finding.hide", "finding.unhide"]);
}

#[tokio::test]
async fn published_findings_join_the_change_feed_and_the_bulk_files_and_drafts_do_not() {
    let app = spawn_seeded_app().await;
    let cast = cast(&app).await;
    let draft = file(&app, &cast).await;
    let public = file(&app, &cast).await;
    ok(send(&app, Method::POST, &path(&public, "publish"), Some(&cast.member), None).await, 200).await;

    let mut hrefs = Vec::new();
    let mut next = Some("/v1/changes?limit=1000".to_owned());
    while let Some(page) = next {
        let body = app.get_json(&page).await;
        for change in body["items"].as_array().unwrap() {
            if change["entity"] == "finding" {
                hrefs.push(change["href"].as_str().unwrap().to_owned());
            }
        }
        next =
            body["links"]["next"].as_str().filter(|_| !body["items"].as_array().unwrap().is_empty()).map(str::to_owned);
    }
    assert!(hrefs.contains(&format!("/v1/findings/{}", public["id"])), "{hrefs:?}");
    assert!(!hrefs.contains(&format!("/v1/findings/{}", draft["id"])), "the draft stays out: {hrefs:?}");

    let bulk = app.get("/v1/bulk/findings.jsonl.gz").await;
    assert_eq!(bulk.status(), 200);
    let bytes = bulk.bytes().await.unwrap();
    let mut text = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut text).unwrap();
    let ids: Vec<i64> =
        text.lines().map(|line| serde_json::from_str::<Value>(line).unwrap()["id"].as_i64().unwrap()).collect();
    assert!(ids.contains(&public["id"].as_i64().unwrap()));
    assert!(!ids.contains(&draft["id"].as_i64().unwrap()));
}

#[tokio::test]
async fn a_new_calendar_version_recounts_an_open_due_date_as_an_event() {
    let app = spawn_seeded_app().await;
    let cast = cast(&app).await;
    // Tuesday 25 August 2026: the new Constitution made Monday 31 August a working day.
    app.clock.set(at("2026-08-25T05:00:00Z"));
    let draft = file(&app, &cast).await;
    ok(send(&app, Method::POST, &path(&draft, "publish"), Some(&cast.member), None).await, 200).await;
    let completed = ok(send(&app, Method::POST, &path(&draft, "complete"), Some(&cast.member), None).await, 200).await;
    // 26, 27, 28, 31 August, 1, 2, 3 September.
    assert_eq!(
        (completed["deliver_by"].as_str(), completed["calendar_version"].as_str()),
        (Some("2026-09-03"), Some("2026-03-15"))
    );

    // As stored by a server that still ran the calendar before the Constitution, on which
    // 31 August was carried over from Constitution Day and the term ended on 4 September.
    let id = draft["id"].as_i64().unwrap();
    let mut row = domain::findings::tables::finding::Entity::find_by_id(id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .into_active_model();
    row.deliver_by = Set(Some(chrono::NaiveDate::from_ymd_opt(2026, 9, 4).unwrap()));
    row.calendar_version = Set(Some("2025-11-21".into()));
    row.update(&app.db).await.unwrap();
    let old = Calendar::shipped();
    let counted = old
        .version("2025-11-21")
        .unwrap()
        .add_working_days(chrono::NaiveDate::from_ymd_opt(2026, 8, 25).unwrap(), 7)
        .unwrap();
    assert_eq!(counted.due.to_string(), "2026-09-04", "the old version skips 31 August");

    let findings = Findings::new(app.db.clone(), Arc::new(Calendar::shipped()), app.clock.clone());
    assert_eq!(findings.recompute_deadlines().await.unwrap(), 1);
    assert_eq!(findings.recompute_deadlines().await.unwrap(), 0, "recounted once");
    let recounted = app.get_json(&format!("/v1/findings/{id}")).await;
    assert_eq!(
        (recounted["deliver_by"].as_str(), recounted["calendar_version"].as_str()),
        (Some("2026-09-03"), Some("2026-03-15"))
    );
    let history = app.get_json(&format!("/v1/findings/{id}/history?limit=100")).await;
    let event = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "finding.deadline_recomputed")
        .expect("an event");
    assert_eq!(event["before"]["deliver_by"], "2026-09-04");
    assert_eq!(event["after"]["deliver_by"], "2026-09-03");
    assert_eq!(event["actor"], "system:calendar");
}

#[tokio::test]
async fn each_step_the_law_names_puts_a_message_in_the_outbox_for_the_people_concerned() {
    let app = spawn_seeded_app().await;
    let cast = cast(&app).await;
    app.clock.set(at("2026-06-01T05:00:00Z"));
    let draft = file(&app, &cast).await;
    for step in ["publish", "complete", "deliver"] {
        ok(send(&app, Method::POST, &path(&draft, step), Some(&cast.member), None).await, 200).await;
    }
    let hearing = json!({"starts_at": "2026-06-05T05:00:00Z", "link": "https://meet.example.kz/h/1"});
    ok(send(&app, Method::POST, &path(&draft, "hearings"), Some(&cast.officer), Some(hearing)).await, 201).await;
    let accept = json!({"decision": "accepted", "reasoning": "Да", "measures": "Приказ", "implement_by": "2026-09-01"});
    ok(
        send(&app, Method::POST, &path(&draft, "recommendations/1/response"), Some(&cast.officer), Some(accept)).await,
        200,
    )
    .await;
    let messages = domain::notifications::of_finding(&app.db, draft["id"].as_i64().unwrap()).await.unwrap();
    let to = |kind: &str| -> Vec<i64> {
        messages.iter().filter(|m| m.kind == kind).map(|m| m.recipient_account_id).collect()
    };
    assert_eq!(to("finding.delivered"), [cast.officer.id]);
    assert_eq!(to("hearing.offered"), [cast.member.id]);
    assert_eq!(to("recommendation.answered"), [cast.member.id]);
    assert!(messages.iter().all(|m| !m.body.contains('@')), "no address is kept in a message");
}

#[tokio::test]
async fn the_public_audit_log_keeps_a_findings_structure_and_only_a_hash_of_its_texts() {
    let app = spawn_seeded_app().await;
    let cast = cast(&app).await;
    let draft = file(&app, &cast).await;
    let id = draft["id"].as_i64().unwrap();
    let log = app.get(&format!("/v1/audit/events?object_type=finding&object_id={id}")).await.text().await.unwrap();
    for text in ["томографов", "Поставка задержана", "Взыскать неустойку", "Проверка исполнения"]
    {
        assert!(!log.contains(text), "a draft's text is not in the public log: {text}");
    }
    let parsed: Value = serde_json::from_str(&log).unwrap();
    let after = &parsed["items"][0]["after"];
    assert_eq!(after["status"], "draft");
    assert_eq!(after["recommendations"][1]["number"], 2);
    assert_eq!(after["content_sha256"].as_str().map(str::len), Some(64));

    // An officer who is also a moderator never hides a finding about their own body.
    ok(send(&app, Method::POST, &path(&draft, "publish"), Some(&cast.member), None).await, 200).await;
    let both = app.user(&["body_officer", "moderator"], None, Some(cast.target)).await;
    let reason = json!({"reason": "Не нравится"});
    assert_problem(send(&app, Method::POST, &path(&draft, "hide"), Some(&both), Some(reason)).await, 403).await;
}

#[tokio::test]
async fn a_text_field_takes_a_json_string_and_nothing_else() {
    let app = spawn_seeded_app().await;
    let cast = cast(&app).await;
    let moderator = app.user(&["moderator"], None, None).await;
    let finding = file(&app, &cast).await;
    ok(send(&app, Method::POST, &path(&finding, "publish"), Some(&cast.member), None).await, 200).await;
    let hide =
        send(&app, Method::POST, &path(&finding, "hide"), Some(&moderator), Some(json!({"reason": 1635544407}))).await;
    assert_problem(hide, 400).await;
    let comment =
        send(&app, Method::POST, &path(&finding, "comments"), Some(&cast.citizen), Some(json!({"text": true}))).await;
    assert_problem(comment, 400).await;
    let facts = json!({"target_organization_id": cast.target, "facts": [7]});
    assert_problem(send(&app, Method::POST, "/v1/findings", Some(&cast.citizen), Some(facts)).await, 400).await;
    assert!(app.get_json(&format!("/v1/findings/{}", finding["id"])).await.get("hidden").is_none());
}
