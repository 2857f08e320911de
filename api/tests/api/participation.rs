//! Participation through HTTP: comments on findings and their moderation, and requests for
//! public control from citizens and non-profits to a council.

use reqwest::Method;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};

use domain::entities::{OrganizationKind, organization};
use domain::findings::HIDDEN_MARKER;
use domain::notifications::tables::outbox_message;

use crate::helpers::{TestApp, User, assert_problem, spawn_seeded_app};

/// A state body with its council, and the people around one of its findings.
struct Cast {
    target: i64,
    council: i64,
    /// Another state body's council.
    other_council: i64,
    member: User,
    other_member: User,
    officer: User,
    citizen: User,
    moderator: User,
}

async fn cast(app: &TestApp) -> Cast {
    let bodies = organization::Entity::find()
        .filter(organization::Column::Kind.eq(OrganizationKind::StateBody))
        .order_by_asc(organization::Column::Id)
        .all(&app.db)
        .await
        .unwrap();
    let mut councils = Vec::new();
    for body in &bodies {
        let page = app.get_json(&format!("/v1/councils?host_organization_id={}", body.id)).await;
        if let Some(id) = page["items"][0]["id"].as_i64() {
            councils.push((body.id, id));
        }
        if councils.len() == 2 {
            break;
        }
    }
    assert_eq!(councils.len(), 2, "the demo data has two state bodies with councils");
    let ((target, council), (_, other_council)) = (councils[0], councils[1]);
    Cast {
        target,
        council,
        other_council,
        member: app.user(&["council_member"], Some(council), None).await,
        other_member: app.user(&["council_member"], Some(other_council), None).await,
        officer: app.user(&["body_officer"], None, Some(target)).await,
        citizen: app.user(&["citizen"], None, None).await,
        moderator: app.user(&["moderator"], None, None).await,
    }
}

/// The display name `TestApp::user` gives an account.
fn display_name(user: &User) -> String {
    format!("Tester {}", &user.email[5..11])
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

/// A council draft against the target.
async fn draft(app: &TestApp, cast: &Cast) -> i64 {
    let body = json!({
        "target_organization_id": cast.target,
        "council_id": cast.council,
        "title": {"ru": "Мониторинг закупки школьной мебели"},
        "recommendations": ["Провести служебную проверку"],
    });
    ok(send(app, Method::POST, "/v1/findings", Some(&cast.member), Some(body)).await, 201).await["id"].as_i64().unwrap()
}

async fn published(app: &TestApp, cast: &Cast) -> i64 {
    let id = draft(app, cast).await;
    ok(send(app, Method::POST, &format!("/v1/findings/{id}/publish"), Some(&cast.member), None).await, 200).await;
    id
}

fn comments(finding: i64) -> String {
    format!("/v1/findings/{finding}/comments")
}

fn actions(history: &Value) -> Vec<&str> {
    history["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn a_citizen_comments_on_a_published_finding_under_the_name_they_chose() {
    let app = spawn_seeded_app().await;
    let cast = cast(&app).await;
    let finding = published(&app, &cast).await;
    let text = json!({"text": "  Мебель в школе № 12 так и не появилась.\nФото есть.  "});

    assert_problem(send(&app, Method::POST, &comments(finding), None, Some(text.clone())).await, 401).await;
    let written = ok(
        app.request(Method::POST, &comments(finding), Some(&cast.citizen.token))
            .header("Idempotency-Key", "comment-1")
            .json(&text)
            .send()
            .await
            .unwrap(),
        201,
    )
    .await;
    assert_eq!(written["text"], "Мебель в школе № 12 так и не появилась.\nФото есть.");
    assert_eq!(written["finding_id"], finding);
    assert_eq!(written["author_display_name"], display_name(&cast.citizen));
    assert!(written.get("hidden").is_none());
    // A retry with the same key is the same comment.
    let retried = ok(
        app.request(Method::POST, &comments(finding), Some(&cast.citizen.token))
            .header("Idempotency-Key", "comment-1")
            .json(&text)
            .send()
            .await
            .unwrap(),
        201,
    )
    .await;
    assert_eq!(retried["id"], written["id"]);
    // Any account comments, an officer of the body too.
    ok(
        send(&app, Method::POST, &comments(finding), Some(&cast.officer), Some(json!({"text": "Поставка в мае"})))
            .await,
        201,
    )
    .await;

    let public = app.get_json(&comments(finding)).await;
    assert_eq!(public["total"], 2);
    assert_eq!(public["items"][0]["id"], written["id"]);
    assert_eq!(public["items"][0]["author_display_name"], display_name(&cast.citizen));
    assert_eq!(public["items"][1]["author_display_name"], display_name(&cast.officer));
    assert!(!public.to_string().contains(&cast.citizen.email), "an email never shows");
    assert!(!public.to_string().contains("@example.kz"), "no email at all");
    let first = app.get_json(&format!("{}?limit=1", comments(finding))).await;
    assert_eq!(first["items"].as_array().unwrap().len(), 1);
    let next = first["links"]["next"].as_str().expect("a second page");
    assert_eq!(app.get_json(next).await["items"][0]["author_display_name"], display_name(&cast.officer));

    // A draft takes no comments: 404 to those who may not see it, 409 to its filers.
    let unpublished = draft(&app, &cast).await;
    let body = json!({"text": "Рано"});
    assert_problem(
        send(&app, Method::POST, &comments(unpublished), Some(&cast.citizen), Some(body.clone())).await,
        404,
    )
    .await;
    assert_problem(app.get(&comments(unpublished)).await, 404).await;
    let problem =
        assert_problem(send(&app, Method::POST, &comments(unpublished), Some(&cast.member), Some(body)).await, 409)
            .await;
    assert!(problem["detail"].as_str().unwrap().contains("only published findings take comments"), "{problem}");
    assert_problem(app.get(&comments(999_999_999)).await, 404).await;

    // Bad text names its field.
    for bad in ["", "   ", "a\u{0}b"] {
        let problem = assert_problem(
            send(&app, Method::POST, &comments(finding), Some(&cast.citizen), Some(json!({"text": bad}))).await,
            422,
        )
        .await;
        assert_eq!(problem["invalid_params"][0]["name"], "text", "{bad:?} → {problem}");
    }
    let long = json!({"text": "ж".repeat(5001)});
    assert_problem(send(&app, Method::POST, &comments(finding), Some(&cast.citizen), Some(long)).await, 400).await;
    assert_problem(send(&app, Method::POST, &comments(finding), Some(&cast.citizen), Some(json!({}))).await, 400).await;
}

#[tokio::test]
async fn a_moderator_hides_a_comment_behind_a_marker_and_shows_it_again_in_the_findings_history() {
    let app = spawn_seeded_app().await;
    let cast = cast(&app).await;
    let finding = published(&app, &cast).await;
    let written = ok(
        send(&app, Method::POST, &comments(finding), Some(&cast.citizen), Some(json!({"text": "Директор — вор"})))
            .await,
        201,
    )
    .await;
    let id = written["id"].as_i64().unwrap();
    let hide = format!("/v1/comments/{id}/hide");
    let unhide = format!("/v1/comments/{id}/unhide");
    let reason = json!({"reason": "Оскорбление без доказательств"});

    // Only moderators hide; an officer of the body never does, whatever else they hold.
    for user in [&cast.officer, &cast.citizen, &cast.member] {
        assert_problem(send(&app, Method::POST, &hide, Some(user), Some(reason.clone())).await, 403).await;
    }
    let officer_moderator = app.user(&["body_officer", "moderator"], None, Some(cast.target)).await;
    assert_problem(send(&app, Method::POST, &hide, Some(&officer_moderator), Some(reason.clone())).await, 403).await;
    assert_problem(send(&app, Method::POST, &hide, None, Some(reason.clone())).await, 401).await;
    assert_problem(
        send(&app, Method::POST, "/v1/comments/999999999/hide", Some(&cast.moderator), Some(reason.clone())).await,
        404,
    )
    .await;
    let problem = assert_problem(
        send(&app, Method::POST, &hide, Some(&cast.moderator), Some(json!({"reason": "   "}))).await,
        422,
    )
    .await;
    assert_eq!(problem["invalid_params"][0]["name"], "reason", "{problem}");
    assert_problem(send(&app, Method::POST, &unhide, Some(&cast.moderator), None).await, 409).await;

    let hidden = ok(send(&app, Method::POST, &hide, Some(&cast.moderator), Some(reason)).await, 200).await;
    assert_eq!(hidden["hidden"]["reason"], "Оскорбление без доказательств");
    assert_eq!(hidden["text"], "Директор — вор", "the moderator still reads it");
    let public = app.get_json(&comments(finding)).await;
    assert_eq!(public["items"][0]["text"], HIDDEN_MARKER);
    assert_eq!(public["items"][0]["hidden"]["reason"], "Оскорбление без доказательств");
    assert!(!public.to_string().contains("вор"), "{public}");
    let filers = ok(send(&app, Method::GET, &comments(finding), Some(&cast.member), None).await, 200).await;
    assert_eq!(filers["items"][0]["text"], HIDDEN_MARKER, "the finding's filers are not the comment's author");
    let own = ok(send(&app, Method::GET, &comments(finding), Some(&cast.citizen), None).await, 200).await;
    assert_eq!(own["items"][0]["text"], "Директор — вор", "the author still reads it");
    assert!(own["items"][0]["hidden"].is_object());

    let shown = ok(send(&app, Method::POST, &unhide, Some(&cast.moderator), None).await, 200).await;
    assert!(shown.get("hidden").is_none());
    assert_eq!(app.get_json(&comments(finding)).await["items"][0]["text"], "Директор — вор");
    assert_problem(send(&app, Method::POST, &unhide, Some(&cast.moderator), None).await, 409).await;

    let history = app.get_json(&format!("/v1/findings/{finding}/history?limit=100")).await;
    assert_eq!(
        actions(&history),
        ["finding.file", "finding.publish", "comment.create", "comment.hide", "comment.unhide"]
    );
    let created = &history["items"][2];
    assert_eq!(created["actor"], format!("account:{}", cast.citizen.id));
    assert_eq!(created["after"]["comment_id"], id);
    assert_eq!(created["after"]["author_account_id"], cast.citizen.id);
    assert_eq!(created["after"]["text"], "[personal data]", "the text enters the log as personal data");
    assert_eq!(history["items"][3]["after"]["hidden_reason"], "Оскорбление без доказательств");
    assert_eq!(history["items"][3]["actor"], format!("account:{}", cast.moderator.id));
    assert!(history["items"][4]["after"]["hidden_at"].is_null());
    assert!(!history.to_string().contains("вор"), "{history}");
}

fn requests(council: i64) -> String {
    format!("/v1/councils/{council}/requests")
}

async fn request(app: &TestApp, cast: &Cast, user: &User, text: &str) -> Value {
    let body = json!({"text": text, "target_organization_id": cast.target});
    ok(send(app, Method::POST, &requests(cast.council), Some(user), Some(body)).await, 201).await
}

async fn outbox(app: &TestApp, kind: &str) -> Vec<outbox_message::Model> {
    outbox_message::Entity::find().filter(outbox_message::Column::Kind.eq(kind)).all(&app.db).await.unwrap()
}

#[tokio::test]
async fn a_council_member_accepts_a_citizens_request_with_a_draft_and_the_requester_sees_the_outcome() {
    let app = spawn_seeded_app().await;
    let cast = cast(&app).await;
    let text = "Прошу проверить закупку парт для школы № 12: договор исполнен на бумаге, парт нет. ".repeat(4);
    let sent = request(&app, &cast, &cast.citizen, &text).await;
    assert_eq!(sent["status"], "pending");
    assert_eq!(sent["council_id"], cast.council);
    assert_eq!(sent["target_organization_id"], cast.target);
    assert_eq!(sent["text"], text.trim());
    assert_eq!(sent["requester_display_name"], display_name(&cast.citizen));
    assert!(sent.get("finding_id").is_none() && sent.get("decided_at").is_none());
    assert!(!sent.to_string().contains(&cast.citizen.email));
    let id = sent["id"].as_i64().unwrap();
    let path = format!("/v1/requests/{id}");
    let accept = format!("/v1/requests/{id}/accept");
    let received = outbox(&app, "request.received").await;
    assert!(received.iter().any(|m| m.recipient_account_id == cast.member.id), "the council's members hear of it");
    assert!(received.iter().all(|m| !m.body.contains("парт")), "a message names the request, not its text");

    // Nobody outside the request sees it, a member of another council included.
    for user in [&cast.other_member, &cast.officer, &cast.moderator] {
        assert_problem(send(&app, Method::GET, &path, Some(user), None).await, 404).await;
        assert_problem(send(&app, Method::POST, &accept, Some(user), None).await, 404).await;
    }
    assert_problem(send(&app, Method::GET, &path, None, None).await, 401).await;
    let theirs = ok(send(&app, Method::GET, &requests(cast.council), Some(&cast.other_member), None).await, 200).await;
    assert_eq!(theirs["total"], 0);
    let members = ok(send(&app, Method::GET, &requests(cast.council), Some(&cast.member), None).await, 200).await;
    assert_eq!(members["total"], 1);
    assert_eq!(members["items"][0]["id"], id);
    let own = ok(send(&app, Method::GET, &requests(cast.council), Some(&cast.citizen), None).await, 200).await;
    assert_eq!(own["total"], 1);
    let elsewhere =
        ok(send(&app, Method::GET, &requests(cast.other_council), Some(&cast.other_member), None).await, 200).await;
    assert_eq!(elsewhere["total"], 0, "the request went to one council only");
    // The requester sees it but does not decide it.
    assert_problem(send(&app, Method::POST, &accept, Some(&cast.citizen), None).await, 403).await;

    let decision = ok(send(&app, Method::POST, &accept, Some(&cast.member), None).await, 200).await;
    let finding = &decision["finding"];
    assert_eq!(decision["request"]["status"], "accepted");
    assert_eq!(finding["status"], "draft");
    assert_eq!(finding["reason"], "citizen_request");
    assert_eq!(finding["request_id"], id);
    assert_eq!(finding["council_id"], cast.council);
    assert_eq!(finding["filer"]["kind"], "council");
    assert_eq!(finding["target_organization_id"], cast.target);
    let title = finding["title"]["ru"].as_str().unwrap();
    assert_eq!(title.chars().count(), 200);
    assert!(text.starts_with(title));
    assert_eq!(decision["request"]["finding_id"], finding["id"]);

    let outcome = ok(send(&app, Method::GET, &path, Some(&cast.citizen), None).await, 200).await;
    assert_eq!(outcome["status"], "accepted");
    assert_eq!(outcome["finding_id"], finding["id"]);
    assert!(outcome["decided_at"].is_string());
    let told = outbox(&app, "request.accepted").await;
    assert_eq!(told.len(), 1);
    assert_eq!(told[0].recipient_account_id, cast.citizen.id);
    assert_eq!(told[0].finding_id, finding["id"].as_i64());
    // The draft is the council's until published.
    let draft = format!("/v1/findings/{}", finding["id"]);
    assert_problem(send(&app, Method::GET, &draft, Some(&cast.citizen), None).await, 404).await;
    ok(send(&app, Method::GET, &draft, Some(&cast.member), None).await, 200).await;

    // Once decided, it stays decided.
    assert_problem(send(&app, Method::POST, &accept, Some(&cast.member), None).await, 409).await;
    let decline = json!({"reason": "Передумали"});
    let decline_path = format!("/v1/requests/{id}/decline");
    assert_problem(send(&app, Method::POST, &decline_path, Some(&cast.member), Some(decline)).await, 409).await;

    let events = app.get_json(&format!("/v1/audit/events?object_type=control_request&object_id={id}")).await;
    assert_eq!(actions(&events), ["request.create", "request.accept"]);
    assert_eq!(events["items"][1]["after"]["finding_id"], finding["id"]);
    assert_eq!(events["items"][0]["after"]["text"], "[personal data]");
    assert!(!events.to_string().contains("парт"), "the request's text stays out of the public log");
    let history = format!("/v1/findings/{}/history", finding["id"]);
    assert_problem(app.get(&history).await, 404).await;
    let history = ok(send(&app, Method::GET, &history, Some(&cast.member), None).await, 200).await;
    assert_eq!(actions(&history), ["finding.file"]);
    assert_eq!(history["items"][0]["actor"], format!("account:{}", cast.member.id));
}

#[tokio::test]
async fn a_council_member_declines_a_request_with_a_reason_and_only_once() {
    let app = spawn_seeded_app().await;
    let cast = cast(&app).await;
    let ngo = app.user(&["ngo"], None, None).await;
    let sent = request(&app, &cast, &ngo, "Проверьте расходы на ремонт дорог").await;
    let id = sent["id"].as_i64().unwrap();
    let decline = format!("/v1/requests/{id}/decline");

    assert_problem(
        send(&app, Method::POST, &decline, Some(&cast.other_member), Some(json!({"reason": "Нет"}))).await,
        404,
    )
    .await;
    let problem = assert_problem(
        send(&app, Method::POST, &decline, Some(&cast.member), Some(json!({"reason": " \t "}))).await,
        422,
    )
    .await;
    assert_eq!(problem["invalid_params"][0]["name"], "reason", "{problem}");
    assert_problem(send(&app, Method::POST, &decline, Some(&cast.member), Some(json!({}))).await, 400).await;

    let reason = "Дороги не в ведении этого органа; обратитесь в совет при акимате";
    let declined =
        ok(send(&app, Method::POST, &decline, Some(&cast.member), Some(json!({"reason": reason}))).await, 200).await;
    assert_eq!(declined["status"], "declined");
    assert_eq!(declined["decline_reason"], reason);
    assert!(declined.get("finding_id").is_none());
    let outcome = ok(send(&app, Method::GET, &format!("/v1/requests/{id}"), Some(&ngo), None).await, 200).await;
    assert_eq!(outcome["status"], "declined");
    assert_eq!(outcome["decline_reason"], reason);
    let told = outbox(&app, "request.declined").await;
    assert_eq!(told.len(), 1);
    assert_eq!(told[0].recipient_account_id, ngo.id);
    assert!(told[0].body.contains(reason));

    let problem = assert_problem(
        send(&app, Method::POST, &decline, Some(&cast.member), Some(json!({"reason": reason}))).await,
        409,
    )
    .await;
    assert!(problem["detail"].as_str().unwrap().contains("declined"), "{problem}");
    assert_problem(send(&app, Method::POST, &format!("/v1/requests/{id}/accept"), Some(&cast.member), None).await, 409)
        .await;
    let events = app.get_json(&format!("/v1/audit/events?object_type=control_request&object_id={id}")).await;
    assert_eq!(actions(&events), ["request.create", "request.decline"]);
    assert_eq!(events["items"][1]["actor"], format!("account:{}", cast.member.id));
}

#[tokio::test]
async fn a_request_refuses_senders_and_content_it_cannot_take_and_names_the_field() {
    let app = spawn_seeded_app().await;
    let cast = cast(&app).await;
    let supplier = organization::Entity::find()
        .filter(organization::Column::Kind.eq(OrganizationKind::Supplier))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let body = json!({"text": "Проверьте закупку"});

    // Citizens and non-profits send requests; a body officer or council member alone does not.
    assert_problem(send(&app, Method::POST, &requests(cast.council), None, Some(body.clone())).await, 401).await;
    for user in [&cast.officer, &cast.member, &cast.moderator] {
        assert_problem(send(&app, Method::POST, &requests(cast.council), Some(user), Some(body.clone())).await, 403)
            .await;
    }
    assert_problem(send(&app, Method::GET, &requests(cast.council), None, None).await, 401).await;
    assert_problem(send(&app, Method::GET, &requests(999_999_999), Some(&cast.citizen), None).await, 404).await;

    let cases = [
        (requests(999_999_999), json!({"text": "Проверьте закупку"}), "council_id"),
        (
            requests(cast.council),
            json!({"text": "Проверьте закупку", "target_organization_id": supplier.id}),
            "target_organization_id",
        ),
        (
            requests(cast.council),
            json!({"text": "Проверьте закупку", "target_organization_id": 999_999_999}),
            "target_organization_id",
        ),
        (requests(cast.council), json!({"text": "   "}), "text"),
        (requests(cast.council), json!({"text": "a\u{1b}b"}), "text"),
    ];
    for (path, body, field) in cases {
        let problem =
            assert_problem(send(&app, Method::POST, &path, Some(&cast.citizen), Some(body.clone())).await, 422).await;
        assert_eq!(problem["invalid_params"][0]["name"], field, "{body} → {problem}");
    }
    let long = json!({"text": "ж".repeat(10_001)});
    assert_problem(send(&app, Method::POST, &requests(cast.council), Some(&cast.citizen), Some(long)).await, 400).await;
    assert_problem(send(&app, Method::POST, &requests(cast.council), Some(&cast.citizen), Some(json!({}))).await, 400)
        .await;
    assert_problem(send(&app, Method::GET, "/v1/requests/999999999", Some(&cast.citizen), None).await, 404).await;

    // Without a target, the council's host is scrutinised.
    let sent = ok(send(&app, Method::POST, &requests(cast.council), Some(&cast.citizen), Some(body)).await, 201).await;
    assert!(sent.get("target_organization_id").is_none());
    let decision = ok(
        send(&app, Method::POST, &format!("/v1/requests/{}/accept", sent["id"]), Some(&cast.member), None).await,
        200,
    )
    .await;
    assert_eq!(decision["finding"]["target_organization_id"], cast.target);
    assert_eq!(decision["finding"]["title"]["ru"], "Проверьте закупку");
}
