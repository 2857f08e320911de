use std::time::{Duration, Instant};

use reqwest::Response;

use crate::helpers::{TestApp, assert_problem, spawn_app, spawn_app_with};

/// A cheap operation to spend requests on.
const PATH: &str = "/v1/changes";

async fn get_as(app: &TestApp, client: Option<&str>) -> Response {
    let mut request = app.client.get(format!("{}{PATH}", app.address));
    if let Some(address) = client {
        request = request.header("x-forwarded-for", address);
    }
    request.send().await.expect("request sent")
}

/// Sends requests until one is refused, and returns how many got through and the refusal.
/// With `per_second` requests a second and bursts of `burst`, at least `burst` get through, and
/// at most as many more as were replenished while the requests ran.
async fn exhaust(app: &TestApp, client: Option<&str>, per_second: u32, burst: u32) -> (u32, Response) {
    let started = Instant::now();
    let mut passed = 0;
    loop {
        let response = get_as(app, client).await;
        if response.status() == 429 {
            let replenished = (started.elapsed().as_secs_f64() * f64::from(per_second)).ceil() as u32;
            assert!(passed >= burst, "refused after {passed} of a burst of {burst}");
            assert!(passed <= burst + replenished, "{passed} passed; burst {burst}, {replenished} replenished");
            return (passed, response);
        }
        assert_eq!(response.status(), 200);
        passed += 1;
        assert!(passed <= 10_000, "never refused");
    }
}

#[tokio::test]
async fn past_the_burst_a_client_gets_429_with_retry_after() {
    let app = spawn_app_with(|settings| {
        settings.rate_limit_per_second = 1;
        settings.rate_limit_burst = 5;
    })
    .await;
    let (_, refused) = exhaust(&app, None, 1, 5).await;
    let retry_after: u64 = refused.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry_after), "Retry-After: {retry_after}");
    assert!(refused.headers().contains_key("x-request-id"));
    assert!(!refused.headers().contains_key("etag"));
    let problem = assert_problem(refused, 429).await;
    assert_eq!(problem["type"], "/problems/too-many-requests");
    assert_eq!(problem["title"], "Too Many Requests");

    // Probes and metrics are never limited, and the refusals are counted.
    for path in ["/healthz", "/readyz", "/metrics"] {
        assert_eq!(app.get(path).await.status(), 200, "{path}");
    }
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(metrics.contains(r#"operation="rateLimited",status="429""#), "{metrics}");
}

#[tokio::test]
async fn clients_are_limited_separately_when_the_proxy_is_trusted() {
    let app = spawn_app_with(|settings| {
        settings.rate_limit_per_second = 1;
        settings.rate_limit_burst = 3;
        settings.trust_forwarded_for = true;
    })
    .await;
    exhaust(&app, Some("203.0.113.1"), 1, 3).await;
    let refused_at = Instant::now();
    for _ in 0..3 {
        assert_eq!(get_as(&app, Some("203.0.113.2")).await.status(), 200, "another client has its own burst");
    }
    // The proxy appends the address it saw; what the client wrote before it is not trusted.
    let spoofed = get_as(&app, Some("198.51.100.7, 203.0.113.1")).await;
    if refused_at.elapsed() < Duration::from_millis(500) {
        assert_eq!(spoofed.status(), 429, "still 203.0.113.1, still limited");
    }
}

#[tokio::test]
async fn x_forwarded_for_is_ignored_unless_trusted() {
    let app = spawn_app_with(|settings| {
        settings.rate_limit_per_second = 1;
        settings.rate_limit_burst = 3;
    })
    .await;
    exhaust(&app, Some("203.0.113.1"), 1, 3).await;
    let refused_at = Instant::now();
    let other = get_as(&app, Some("203.0.113.2")).await;
    // Both count against 127.0.0.1, whose next request is due a second after the burst began.
    if refused_at.elapsed() < Duration::from_millis(500) {
        assert_eq!(other.status(), 429, "a header the client sets does not buy a new burst");
    }
}

#[tokio::test]
async fn the_limit_recovers_after_waiting() {
    let (per_second, burst) = (20, 2);
    let app = spawn_app_with(|settings| {
        settings.rate_limit_per_second = per_second;
        settings.rate_limit_burst = burst;
    })
    .await;
    exhaust(&app, None, per_second, burst).await;
    // A request is replenished every 50 ms; the wait covers the burst several times over.
    tokio::time::sleep(Duration::from_millis(300)).await;
    for _ in 0..burst {
        assert_eq!(get_as(&app, None).await.status(), 200);
    }
}

#[tokio::test]
async fn without_a_configured_rate_nothing_is_limited() {
    let app = spawn_app().await;
    for _ in 0..200 {
        assert_eq!(get_as(&app, None).await.status(), 200);
    }
}
