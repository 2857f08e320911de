//! Writes racing each other: one `Idempotency-Key` creates one object however many requests
//! carry it at once, and one `If-Match` lets exactly one of many concurrent updates through.

use futures_util::future::join_all;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::spawn_seeded_app;

#[tokio::test]
async fn two_hundred_concurrent_requests_with_one_key_create_one_council() {
    let app = spawn_seeded_app().await;
    let admin = app.user(&["admin"], None, None).await;
    // A public body without a council: take one's council away by creating a fresh body.
    let host = {
        use sea_orm::{ActiveModelTrait, Set};
        domain::entities::organization::ActiveModel {
            name_ru: Set(Some("Агентство по делам гражданских инициатив".into())),
            kind: Set(domain::entities::OrganizationKind::StateBody),
            source: Set("test".into()),
            upstream_id: Set("idempotency".into()),
            fetched_at: Set(chrono::Utc::now()),
            content_hash: Set("0".repeat(64)),
            ..Default::default()
        }
        .insert(&app.db)
        .await
        .unwrap()
        .id
    };
    let body = json!({"host_organization_id": host, "name": {"en": "Civic council"}});
    let requests = (0..200).map(|_| {
        app.request(Method::POST, "/v1/councils", Some(&admin.token))
            .header("idempotency-key", "create-civic-council-1")
            .json(&body)
            .send()
    });
    let responses = join_all(requests).await;
    let mut ids = Vec::new();
    for response in responses {
        let response = response.unwrap();
        assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
        ids.push(response.json::<Value>().await.unwrap()["id"].as_i64().unwrap());
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "every replay returns the one council created");
    let listed = app.get_json(&format!("/v1/councils?host_organization_id={host}")).await;
    assert_eq!(listed["total"], 1);
    let events = app.get_json(&format!("/v1/audit/events?object_type=council&object_id={}", ids[0])).await;
    assert_eq!(events["total"], 1, "one creation, one event");

    // The same key with another body is refused, naming the header.
    let other = app
        .request(Method::POST, "/v1/councils", Some(&admin.token))
        .header("idempotency-key", "create-civic-council-1")
        .json(&json!({"host_organization_id": host}))
        .send()
        .await
        .unwrap();
    let problem = crate::helpers::assert_problem(other, 422).await;
    assert_eq!(problem["invalid_params"][0]["name"], "Idempotency-Key");
}

#[tokio::test]
async fn fifty_concurrent_updates_with_one_etag_give_one_success() {
    let app = spawn_seeded_app().await;
    let admin = app.user(&["admin"], None, None).await;
    let citizen = app.user(&["citizen"], None, None).await;
    let path = format!("/v1/accounts/{}", citizen.id);
    let etag = app.request(Method::GET, &path, Some(&admin.token)).send().await.unwrap().headers()["etag"]
        .to_str()
        .unwrap()
        .to_owned();
    let events_path = format!("/v1/audit/events?object_type=account&object_id={}", citizen.id);
    let before = app.get_json(&events_path).await["total"].as_u64().unwrap();
    let requests = (0..50).map(|i| {
        app.request(Method::PATCH, &path, Some(&admin.token))
            .header("if-match", &etag)
            .json(&json!({"display_name": format!("Имя {i}")}))
            .send()
    });
    let statuses: Vec<u16> = join_all(requests).await.into_iter().map(|r| r.unwrap().status().as_u16()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 412).count(), 49, "{statuses:?}");
    let after = app.get_json(&events_path).await["total"].as_u64().unwrap();
    assert_eq!(after, before + 1, "one update, one event");
}
