use crate::helpers::spawn_app;

#[tokio::test]
async fn every_response_carries_a_request_id_and_echoes_the_callers() {
    let app = spawn_app().await;
    let generated = app.get("/healthz").await;
    let id = generated.headers()["x-request-id"].to_str().unwrap();
    assert_eq!(uuid::Uuid::parse_str(id).unwrap().get_version_num(), 4);

    let echoed = app
        .client
        .get(format!("{}/v1/nothing", app.address))
        .header("x-request-id", "trace-abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(echoed.headers()["x-request-id"], "trace-abc-123");

    let unprintable =
        app.client.get(format!("{}/healthz", app.address)).header("x-request-id", "a b").send().await.unwrap();
    assert_ne!(unprintable.headers()["x-request-id"], "a b");
}

#[tokio::test]
async fn metrics_count_requests_by_operation_and_status_and_show_the_pool() {
    let app = spawn_app().await;
    for _ in 0..3 {
        app.get("/v1/organizations").await;
    }
    app.get("/v1/organizations?limit=1000").await;
    app.get("/no/such/path").await;
    let metrics = app.get("/metrics").await.text().await.unwrap();
    let line = |needle: &str| {
        metrics
            .lines()
            .find(|line| line.starts_with(needle))
            .unwrap_or_else(|| panic!("no {needle} in\n{metrics}"))
            .to_owned()
    };
    assert!(
        line(r#"scrutiny_http_requests_total{method="GET",operation="listOrganizations",status="200"}"#)
            .ends_with(" 3")
    );
    assert!(
        line(r#"scrutiny_http_requests_total{method="GET",operation="listOrganizations",status="400"}"#)
            .ends_with(" 1")
    );
    assert!(line(r#"scrutiny_http_requests_total{method="GET",operation="unmatched",status="404"}"#).ends_with(" 1"));
    line(r#"scrutiny_http_request_duration_seconds_count{method="GET",operation="listOrganizations",status="200"}"#);
    assert!(line("scrutiny_db_pool_max_connections").ends_with(" 10"));
    line("scrutiny_db_pool_connections");
    line("scrutiny_db_pool_idle_connections");
}

#[tokio::test]
async fn made_up_methods_do_not_grow_the_metrics() {
    let app = spawn_app().await;
    let series = |text: &str| text.lines().filter(|line| line.starts_with("scrutiny_http_requests_total")).count();
    let before = app.get("/metrics").await.text().await.unwrap();
    for n in 1..=3 {
        let method = reqwest::Method::from_bytes(format!("FOOBAR{n}").as_bytes()).unwrap();
        let response = app.request(method, "/v1/organizations", None).send().await.unwrap();
        assert_eq!(response.status(), 405);
    }
    let after = app.get("/metrics").await.text().await.unwrap();
    assert!(!after.contains("FOOBAR"), "{after}");
    assert!(after.contains("method=\"other\""), "{after}");
    // Three requests of made-up methods are one series, not three (the scrapes add GET series).
    assert!(series(&after) <= series(&before) + 2, "{} → {}", series(&before), series(&after));
}
