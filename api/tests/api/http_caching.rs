use reqwest::Response;
use sea_orm::ConnectionTrait;

use crate::helpers::{TestApp, spawn_app};

async fn app_with_organizations(count: usize) -> TestApp {
    let app = spawn_app().await;
    app.insert_suppliers("Поставщик", count).await;
    app
}

fn header<'r>(response: &'r Response, name: &str) -> Option<&'r str> {
    response.headers().get(name).map(|value| value.to_str().unwrap())
}

async fn get_with(app: &TestApp, path: &str, name: &str, value: &str) -> Response {
    app.client.get(format!("{}{path}", app.address)).header(name, value).send().await.unwrap()
}

async fn etag(app: &TestApp, path: &str) -> String {
    let response = app.get(path).await;
    assert_eq!(response.status(), 200, "GET {path}");
    header(&response, "etag").unwrap_or_else(|| panic!("GET {path} has no ETag")).to_owned()
}

#[tokio::test]
async fn reads_carry_a_stable_strong_etag_and_public_caching() {
    let app = app_with_organizations(3).await;
    for path in ["/v1/organizations/1", "/v1/organizations?limit=2", "/openapi.json"] {
        let first = app.get(path).await;
        assert_eq!(first.status(), 200);
        let tag = header(&first, "etag").unwrap().to_owned();
        assert!(tag.starts_with('"') && tag.ends_with('"') && tag.len() > 10, "a strong tag: {tag}");
        assert_eq!(header(&first, "cache-control"), Some("public, max-age=60"), "{path}");
        let vary = header(&first, "vary").unwrap().to_lowercase();
        assert!(vary.contains("accept-language") && vary.contains("accept"), "{path}: {vary}");
        assert_eq!(etag(&app, path).await, tag, "{path}: the same body, the same tag");
    }
    assert_ne!(etag(&app, "/v1/organizations/1").await, etag(&app, "/v1/organizations/2").await);
}

#[tokio::test]
async fn head_gets_the_caching_headers_but_no_etag() {
    let app = app_with_organizations(1).await;
    let response = app.client.head(format!("{}/v1/organizations/1", app.address)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "cache-control"), Some("public, max-age=60"));
    assert!(header(&response, "etag").is_none(), "poem drops HEAD bodies before there is anything to hash");
}

#[tokio::test]
async fn a_matching_if_none_match_gets_304_without_a_body() {
    let app = app_with_organizations(3).await;
    for path in ["/v1/organizations/2", "/v1/organizations?limit=2", "/v1/changes"] {
        let tag = etag(&app, path).await;
        for condition in [tag.clone(), format!("W/{tag}"), format!("\"stale\", {tag}"), "*".to_owned()] {
            let response = get_with(&app, path, "if-none-match", &condition).await;
            assert_eq!(response.status(), 304, "{path} with If-None-Match: {condition}");
            assert_eq!(header(&response, "etag"), Some(tag.as_str()));
            assert!(header(&response, "cache-control").is_some());
            assert!(header(&response, "x-request-id").is_some());
            assert!(response.bytes().await.unwrap().is_empty(), "a 304 has no body");
        }
        let response = get_with(&app, path, "if-none-match", "\"stale\", W/\"older\"").await;
        assert_eq!(response.status(), 200, "{path}: no tag matches");
        assert_eq!(header(&response, "etag"), Some(tag.as_str()));
        assert!(!response.bytes().await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn a_changed_record_changes_the_etag() {
    let app = app_with_organizations(3).await;
    let detail = etag(&app, "/v1/organizations/2").await;
    let list = etag(&app, "/v1/organizations").await;
    let other = etag(&app, "/v1/organizations/3").await;

    app.db
        .execute_unprepared("UPDATE organizations SET name_ru = 'ТОО \"Переименованный\"' WHERE id = 2")
        .await
        .unwrap();
    assert_ne!(etag(&app, "/v1/organizations/2").await, detail);
    assert_ne!(etag(&app, "/v1/organizations").await, list);
    assert_eq!(etag(&app, "/v1/organizations/3").await, other, "an untouched record keeps its tag");
    let response = get_with(&app, "/v1/organizations/2", "if-none-match", &detail).await;
    assert_eq!(response.status(), 200, "the old tag no longer matches");
}

#[tokio::test]
async fn errors_carry_no_etag_and_no_public_caching() {
    let app = app_with_organizations(1).await;
    for (path, status) in
        [("/v1/organizations/424242", 404), ("/v1/organizations?limit=0", 400), ("/v1/no-such-thing", 404)]
    {
        let response = get_with(&app, path, "if-none-match", "*").await;
        assert_eq!(response.status(), status, "{path}");
        assert!(header(&response, "etag").is_none(), "{path}");
        assert!(header(&response, "cache-control").is_none_or(|value| !value.contains("public")), "{path}");
    }
}

#[tokio::test]
async fn operational_paths_are_never_stored() {
    let app = spawn_app().await;
    for path in ["/healthz", "/readyz", "/metrics"] {
        let response = app.get(path).await;
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(header(&response, "cache-control"), Some("no-store"), "{path}");
        assert!(header(&response, "etag").is_none(), "{path}");
    }
    app.db.close_by_ref().await.unwrap();
    let response = app.get("/readyz").await;
    assert_eq!(response.status(), 503);
    assert_eq!(header(&response, "cache-control"), Some("no-store"), "a failing probe neither");
}

#[tokio::test]
async fn the_change_feed_must_be_revalidated() {
    let app = spawn_app().await;
    let response = app.get("/v1/changes").await;
    assert_eq!(header(&response, "cache-control"), Some("public, no-cache"));
    assert!(header(&response, "etag").is_some());
}

#[tokio::test]
async fn streamed_csv_carries_no_etag() {
    let app = spawn_app().await;
    let response = app.get("/v1/contracts?format=csv").await;
    assert_eq!(response.status(), 200);
    assert!(header(&response, "content-type").unwrap().starts_with("text/csv"));
    assert!(header(&response, "etag").is_none());
    assert_eq!(header(&response, "cache-control"), Some("public, max-age=60"));
}

#[tokio::test]
async fn requests_with_credentials_are_not_marked_public() {
    let app = app_with_organizations(1).await;
    let response = get_with(&app, "/v1/organizations/1", "authorization", "Bearer someone").await;
    assert_eq!(response.status(), 200);
    assert!(header(&response, "etag").is_none());
    assert!(header(&response, "cache-control").is_none());
}
