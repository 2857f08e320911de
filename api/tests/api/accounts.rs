//! Accounts, logins and sessions as their users meet them.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, assert_problem, spawn_app, spawn_seeded_app};

#[tokio::test]
async fn a_citizen_registers_logs_in_and_sees_their_account() {
    let app = spawn_app().await;
    let response = app
        .request(Method::POST, "/v1/accounts", None)
        .json(&json!({"email": "Aigerim@Example.kz", "password": PASSWORD, "display_name": "Айгерим"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    let account: Value = response.json().await.unwrap();
    assert_eq!(account["roles"], json!(["citizen"]));
    assert_eq!(account["email"], "Aigerim@Example.kz");
    assert!(account.get("password").is_none() && !account.to_string().contains("argon2"));
    assert!(account["created_at"].as_str().unwrap().ends_with('Z'));

    // Emails are unique whatever their case.
    let again = app
        .request(Method::POST, "/v1/accounts", None)
        .json(&json!({"email": "aigerim@example.KZ", "password": PASSWORD, "display_name": "Другая"}))
        .send()
        .await
        .unwrap();
    assert_problem(again, 409).await;

    let tokens = app.login("AIGERIM@example.kz", PASSWORD).await;
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 900);
    assert!(tokens["refresh_token"].as_str().unwrap().len() >= 40);
    let token = tokens["access_token"].as_str().unwrap();

    let me = app.request(Method::GET, "/v1/me", Some(token)).send().await.unwrap();
    assert_eq!(me.status(), 200);
    assert_eq!(me.headers()["etag"].to_str().unwrap(), etag);
    let me: Value = me.json().await.unwrap();
    assert_eq!(me["id"], account["id"]);
    assert_eq!(me["display_name"], "Айгерим");
}

#[tokio::test]
async fn weak_passwords_and_bad_fields_are_refused_by_name() {
    let app = spawn_app().await;
    for (email, password, name, field) in [
        ("a@example.kz", "short", "A", "password"),
        ("a@example.kz", "qwertyuiop", "A", "password"),
        ("a@example.kz", "1234567890", "A", "password"),
        ("not-an-email", PASSWORD, "A", "email"),
        ("a@example.kz", PASSWORD, "   ", "display_name"),
    ] {
        let response = app
            .request(Method::POST, "/v1/accounts", None)
            .json(&json!({"email": email, "password": password, "display_name": name}))
            .send()
            .await
            .unwrap();
        let problem = assert_problem(response, 422).await;
        assert_eq!(problem["invalid_params"][0]["name"], field, "{problem}");
    }
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_email_get_the_same_answer_then_429() {
    let app = spawn_app().await;
    let user = app.user(&["citizen"], None, None).await;
    let attempt = |email: String, password: &'static str| {
        let app = &app;
        async move {
            app.request(Method::POST, "/v1/auth/token", None)
                .json(&json!({"email": email, "password": password}))
                .send()
                .await
                .unwrap()
        }
    };
    let wrong = attempt(user.email.clone(), "wrong password here").await;
    assert_eq!(wrong.headers()["www-authenticate"], "Bearer");
    let wrong = assert_problem(wrong, 401).await;
    let unknown = assert_problem(attempt("nobody@example.kz".into(), "wrong password here").await, 401).await;
    assert_eq!(wrong, unknown, "the two answers must not tell an account exists");

    // Three more failures (five from this address, four for this account), then this
    // address is throttled, even with the right password.
    for _ in 0..3 {
        assert_eq!(attempt(user.email.clone(), "wrong password here").await.status(), 401);
    }
    let throttled = attempt(user.email.clone(), PASSWORD).await;
    assert_eq!(throttled.status(), 429);
    let retry_after: u64 = throttled.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert_problem(throttled, 429).await;
}

#[tokio::test]
async fn refresh_tokens_rotate_and_a_reused_one_ends_the_session() {
    let app = spawn_app().await;
    let user = app.user(&["citizen"], None, None).await;
    let first = app.login(&user.email, PASSWORD).await;
    let refresh = |token: &str| {
        let request = app.request(Method::POST, "/v1/auth/refresh", None).json(&json!({"refresh_token": token}));
        async move { request.send().await.unwrap() }
    };
    let second = refresh(first["refresh_token"].as_str().unwrap()).await;
    assert_eq!(second.status(), 200);
    assert_eq!(second.headers()["cache-control"], "no-store");
    let second: Value = second.json().await.unwrap();
    assert_ne!(second["refresh_token"], first["refresh_token"]);
    let access = second["access_token"].as_str().unwrap().to_owned();
    assert_eq!(app.request(Method::GET, "/v1/me", Some(&access)).send().await.unwrap().status(), 200);

    // The first token again: refused, and the whole family with it.
    assert_problem(refresh(first["refresh_token"].as_str().unwrap()).await, 401).await;
    assert_problem(refresh(second["refresh_token"].as_str().unwrap()).await, 401).await;
    assert_problem(app.request(Method::GET, "/v1/me", Some(&access)).send().await.unwrap(), 401).await;

    // Another login is another session, unaffected.
    let other = app.login(&user.email, PASSWORD).await;
    let other_access = other["access_token"].as_str().unwrap();
    assert_eq!(app.request(Method::GET, "/v1/me", Some(other_access)).send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn logout_revokes_the_access_token_and_its_refresh_tokens() {
    let app = spawn_app().await;
    let user = app.user(&["citizen"], None, None).await;
    let tokens = app.login(&user.email, PASSWORD).await;
    let access = tokens["access_token"].as_str().unwrap();
    let out = app.request(Method::POST, "/v1/auth/logout", Some(access)).send().await.unwrap();
    assert_eq!(out.status(), 204);
    assert_problem(app.request(Method::GET, "/v1/me", Some(access)).send().await.unwrap(), 401).await;
    let refreshed = app
        .request(Method::POST, "/v1/auth/refresh", None)
        .json(&json!({"refresh_token": tokens["refresh_token"]}))
        .send()
        .await
        .unwrap();
    assert_problem(refreshed, 401).await;
    // The account's other sessions go on.
    assert_eq!(app.request(Method::GET, "/v1/me", Some(&user.token)).send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn admins_grant_and_revoke_roles_and_disabling_stops_tokens_at_once() {
    let app = spawn_seeded_app().await;
    let admin = app.user(&["admin"], None, None).await;
    let citizen = app.user(&["citizen"], None, None).await;
    let council = app.get_json("/v1/councils?limit=1").await["items"][0].clone();
    let council_id = council["id"].as_i64().unwrap();

    let granted = app
        .request(Method::POST, &format!("/v1/accounts/{}/roles", citizen.id), Some(&admin.token))
        .json(&json!({"role": "council_member", "council_id": council_id, "position": "chair"}))
        .send()
        .await
        .unwrap();
    assert_eq!(granted.status(), 200);
    let granted: Value = granted.json().await.unwrap();
    assert_eq!(granted["roles"], json!(["citizen", "council_member"]));
    assert_eq!(granted["councils"], json!([{"council_id": council_id, "position": "chair"}]));

    // The council lists the member by display name, never by email.
    let detail = app.get(&format!("/v1/councils/{council_id}")).await.text().await.unwrap();
    assert!(detail.contains("\"position\":\"chair\""), "{detail}");
    assert!(!detail.contains(&citizen.email), "{detail}");

    let me =
        app.request(Method::GET, "/v1/me", Some(&citizen.token)).send().await.unwrap().json::<Value>().await.unwrap();
    assert!(me["councils"][0]["council_name"]["ru"].as_str().unwrap().starts_with("Общественный совет при"));

    let revoked = app
        .request(Method::DELETE, &format!("/v1/accounts/{}/roles/council_member", citizen.id), Some(&admin.token))
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    assert_eq!(revoked.json::<Value>().await.unwrap()["roles"], json!(["citizen"]));

    // Disabling needs the account's ETag; the citizen's token stops working at once.
    let current =
        app.request(Method::GET, &format!("/v1/accounts/{}", citizen.id), Some(&admin.token)).send().await.unwrap();
    let etag = current.headers()["etag"].to_str().unwrap().to_owned();
    let missing = app
        .request(Method::PATCH, &format!("/v1/accounts/{}", citizen.id), Some(&admin.token))
        .json(&json!({"disabled": true}))
        .send()
        .await
        .unwrap();
    assert_problem(missing, 428).await;
    let disabled = app
        .request(Method::PATCH, &format!("/v1/accounts/{}", citizen.id), Some(&admin.token))
        .header("if-match", &etag)
        .json(&json!({"disabled": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(disabled.status(), 200);
    assert_ne!(disabled.headers()["etag"].to_str().unwrap(), etag);
    let stale = app
        .request(Method::PATCH, &format!("/v1/accounts/{}", citizen.id), Some(&admin.token))
        .header("if-match", &etag)
        .json(&json!({"disabled": false}))
        .send()
        .await
        .unwrap();
    assert_problem(stale, 412).await;
    let refused = app.request(Method::GET, "/v1/me", Some(&citizen.token)).send().await.unwrap();
    assert_problem(refused, 401).await;
    let login = app
        .request(Method::POST, "/v1/auth/token", None)
        .json(&json!({"email": citizen.email, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_problem(login, 401).await;

    let page = app.request(Method::GET, "/v1/accounts?role=admin", Some(&admin.token)).send().await.unwrap();
    let page: Value = page.json().await.unwrap();
    assert_eq!(page["total"], 1);
    assert_eq!(page["items"][0]["id"], admin.id);
}

#[tokio::test]
async fn every_public_body_of_the_demo_data_has_a_council() {
    let app = spawn_seeded_app().await;
    let mut public = 0;
    for kind in ["state_body", "quasi_public"] {
        let mut path = format!("/v1/organizations?limit=100&kind={kind}");
        loop {
            let page = app.get_json(&path).await;
            for org in page["items"].as_array().unwrap() {
                public += 1;
                let detail = app.get_json(&format!("/v1/organizations/{}", org["id"])).await;
                let council = &detail["council"];
                assert!(council["id"].is_i64(), "{} has no council", org["id"]);
                assert_eq!(council["host_organization_id"], org["id"]);
            }
            match page["links"]["next"].as_str() {
                Some(next) => path = next.to_owned(),
                None => break,
            }
        }
    }
    let councils = app.get_json("/v1/councils?limit=1").await;
    assert_eq!(councils["total"], public);
    let supplier = app.get_json("/v1/organizations?kind=supplier&limit=1").await["items"][0]["id"].clone();
    assert!(app.get_json(&format!("/v1/organizations/{supplier}")).await.get("council").is_none());
}

#[tokio::test]
async fn a_burst_of_guesses_gets_no_more_tries_than_the_limit() {
    let app = spawn_app().await;
    let user = app.user(&["citizen"], None, None).await;
    let guesses = (0..50).map(|i| {
        app.request(Method::POST, "/v1/auth/token", None)
            .json(&json!({"email": user.email, "password": format!("guess number {i}")}))
            .send()
    });
    let statuses: Vec<u16> =
        futures_util::future::join_all(guesses).await.into_iter().map(|r| r.unwrap().status().as_u16()).collect();
    let tried = statuses.iter().filter(|s| **s == 401).count();
    assert!(tried <= 5, "{tried} guesses were checked: {statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 50 - tried, "{statuses:?}");
}

#[tokio::test]
async fn registrations_from_one_address_are_limited() {
    let app = crate::helpers::spawn_app_with(|settings| settings.registrations_per_minute = 3).await;
    let register = |i: usize| {
        app.request(Method::POST, "/v1/accounts", None)
            .json(&json!({"email": format!("r{i}@example.kz"), "password": PASSWORD, "display_name": "R"}))
            .send()
    };
    for i in 0..3 {
        assert_eq!(register(i).await.unwrap().status(), 201);
    }
    let refused = register(3).await.unwrap();
    assert_eq!(refused.status(), 429);
    assert!(refused.headers()["retry-after"].to_str().unwrap().parse::<u64>().unwrap() >= 1);
    assert_problem(refused, 429).await;
}

#[tokio::test]
async fn bad_writes_are_refused_naming_the_field() {
    let app = spawn_seeded_app().await;
    let admin = app.user(&["admin"], None, None).await;
    let citizen = app.user(&["citizen"], None, None).await;
    let supplier = app.get_json("/v1/organizations?kind=supplier&limit=1").await["items"][0]["id"].clone();
    let council = app.get_json("/v1/councils?limit=1").await["items"][0]["id"].clone();
    let council_path = format!("/v1/councils/{council}");
    let council_tag = app.get(&council_path).await.headers()["etag"].to_str().unwrap().to_owned();
    let roles = format!("/v1/accounts/{}/roles", citizen.id);
    let cases = [
        (
            Method::POST,
            roles.clone(),
            None,
            json!({"role": "body_officer", "organization_id": supplier}),
            "organization_id",
        ),
        (Method::POST, roles.clone(), None, json!({"role": "council_member"}), "council_id"),
        (Method::POST, roles.clone(), None, json!({"role": "council_member", "council_id": 999_999}), "council_id"),
        (
            Method::POST,
            roles.clone(),
            None,
            json!({"role": "council_member", "council_id": council, "position": "king"}),
            "position",
        ),
        (Method::POST, roles.clone(), None, json!({"role": "ngo"}), "ngo_name"),
        (
            Method::POST,
            "/v1/councils".to_owned(),
            None,
            json!({"host_organization_id": supplier}),
            "host_organization_id",
        ),
        (
            Method::PUT,
            format!("{council_path}/members"),
            Some(council_tag.clone()),
            json!({"members": [{"account_id": citizen.id, "position": "king"}]}),
            "members[0].position",
        ),
        (
            Method::PUT,
            format!("{council_path}/members"),
            Some(council_tag.clone()),
            json!({"members": [{"account_id": citizen.id}, {"account_id": citizen.id}]}),
            "members[1].account_id",
        ),
        (
            Method::PUT,
            format!("{council_path}/members"),
            Some(council_tag.clone()),
            json!({"members": [{"account_id": 999_999}]}),
            "members[0].account_id",
        ),
    ];
    for (method, path, if_match, body, field) in cases {
        let mut request = app.request(method.clone(), &path, Some(&admin.token)).json(&body);
        if let Some(tag) = if_match {
            request = request.header("if-match", tag);
        }
        let problem = assert_problem(request.send().await.unwrap(), 422).await;
        assert_eq!(problem["invalid_params"][0]["name"], field, "{method} {path} {body}: {problem}");
    }

    // An Idempotency-Key too long or not printable ASCII is refused by name.
    for key in ["k".repeat(256), "ключ".to_owned()] {
        let response = app
            .request(Method::POST, "/v1/accounts", None)
            .header("idempotency-key", key.as_bytes())
            .json(&json!({"email": "k@example.kz", "password": PASSWORD, "display_name": "K"}))
            .send()
            .await
            .unwrap();
        let problem = assert_problem(response, 422).await;
        assert_eq!(problem["invalid_params"][0]["name"], "Idempotency-Key", "{problem}");
    }
    // Nothing was granted or seated by the refused writes.
    let me: Value =
        app.request(Method::GET, "/v1/me", Some(&citizen.token)).send().await.unwrap().json().await.unwrap();
    assert_eq!(me["roles"], json!(["citizen"]));
}
