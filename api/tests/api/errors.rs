use sea_orm::ConnectionTrait;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{assert_problem, spawn_app, spawn_app_with};

#[tokio::test]
async fn an_unknown_path_is_a_404_problem() {
    let app = spawn_app().await;
    let problem = assert_problem(app.get("/v1/nothing-here").await, 404).await;
    assert_eq!(problem["type"], "/problems/not-found");
}

#[tokio::test]
async fn a_wrong_method_is_a_405_problem() {
    let app = spawn_app().await;
    let response = app.client.delete(format!("{}/v1/organizations", app.address)).send().await.unwrap();
    let problem = assert_problem(response, 405).await;
    assert_eq!(problem["type"], "/problems/method-not-allowed");
}

#[tokio::test]
async fn an_oversized_body_is_a_413_problem() {
    let app = spawn_app_with(|settings| settings.max_body_bytes = 1024).await;
    let response =
        app.client.post(format!("{}/v1/organizations", app.address)).body(vec![b'x'; 2048]).send().await.unwrap();
    let problem = assert_problem(response, 413).await;
    assert_eq!(problem["type"], "/problems/payload-too-large");
}

#[tokio::test]
async fn an_oversized_chunked_body_is_a_413_problem() {
    let app = spawn_app_with(|settings| settings.max_body_bytes = 1024).await;
    let host = app.address.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(host).await.unwrap();
    let chunk = "x".repeat(800);
    let request = format!(
        "POST /v1/organizations HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n\
         320\r\n{chunk}\r\n320\r\n{chunk}\r\n0\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.to_lowercase().contains("content-type: application/problem+json"), "{answer}");
}

#[tokio::test]
async fn an_internal_failure_is_a_generic_500_problem() {
    let app = spawn_app().await;
    app.db.execute_unprepared("ALTER TABLE organizations RENAME TO organizations_gone").await.expect("rename");
    let response = app.get("/v1/organizations").await;
    let request_id = response.headers()["x-request-id"].to_str().unwrap().to_owned();
    let problem = assert_problem(response, 500).await;
    assert_eq!(problem["type"], "/problems/internal");
    let text = problem.to_string().to_lowercase();
    assert!(!text.contains("organizations") && !text.contains("table") && !text.contains("sql"), "{text}");
    assert!(!request_id.is_empty());
}

#[tokio::test]
async fn a_date_the_data_cannot_hold_is_a_400_naming_the_parameter_on_every_list() {
    let app = spawn_app().await;
    for list in ["contracts", "payments", "tenders", "decisions", "findings"] {
        for (name, value) in [("date_from", "-100000-01-01"), ("date_to", "99999-12-31"), ("date_from", "1899-12-31")] {
            let path = format!("/v1/{list}?{name}={value}");
            let problem = assert_problem(app.get(&path).await, 400).await;
            assert_eq!(crate::helpers::invalid_param_name(&problem), name, "{path}: {problem}");
            assert!(problem["detail"].as_str().unwrap().contains("1900-01-01"), "{path}: {problem}");
        }
    }
    let stats = assert_problem(app.get("/v1/stats/spending?group_by=buyer&date_from=-100000-01-01").await, 400).await;
    assert_eq!(crate::helpers::invalid_param_name(&stats), "date_from");
}

#[tokio::test]
async fn a_pool_that_cannot_give_a_connection_in_time_answers_503() {
    use sea_orm::TransactionTrait;
    let app = spawn_app().await;
    // The tests' pool has 5 connections; hold them all.
    let mut held = Vec::new();
    for _ in 0..5 {
        held.push(app.db.begin().await.unwrap());
    }
    let problem = assert_problem(app.get("/v1/organizations").await, 503).await;
    assert!(problem["detail"].as_str().unwrap().contains("retry"), "{problem}");
    drop(held);
    assert_eq!(app.get("/v1/organizations").await.status(), 200);
}

#[tokio::test]
async fn a_request_past_its_time_answers_503_and_an_idle_connection_is_closed() {
    use sea_orm::TransactionTrait;
    let app = spawn_app_with(|settings| {
        settings.request_timeout_seconds = 1;
        settings.idle_timeout_seconds = 1;
    })
    .await;
    // Every connection held: the request waits for one (5 s), and its own time runs out first.
    let mut held = Vec::new();
    for _ in 0..5 {
        held.push(app.db.begin().await.unwrap());
    }
    let started = std::time::Instant::now();
    let problem = assert_problem(app.get("/v1/organizations").await, 503).await;
    assert_eq!(problem["type"], "/problems/timeout", "{problem}");
    assert!(started.elapsed() < std::time::Duration::from_secs(4), "{:?}", started.elapsed());
    drop(held);

    // A kept-alive connection with nothing more to say is closed once idle.
    let address = app.address.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let mut buffer = vec![0u8; 4096];
    let answered = stream.read(&mut buffer).await.unwrap();
    assert!(String::from_utf8_lossy(&buffer[..answered]).starts_with("HTTP/1.1 200"));
    let read = tokio::time::timeout(std::time::Duration::from_secs(5), stream.read(&mut buffer)).await;
    assert!(matches!(read, Ok(Ok(0)) | Ok(Err(_))), "the idle connection is closed within 5 s: {read:?}");
}

#[tokio::test]
async fn expensive_requests_past_their_cap_get_503_with_retry_after_and_cheap_ones_go_on() {
    let app = spawn_app_with(|settings| settings.expensive_concurrency = 0).await;
    for path in
        ["/v1/contracts?format=csv", "/v1/bulk/contracts.csv.gz", "/v1/search?q=школа", "/v1/stats/non-competitive"]
    {
        let response = app.get(path).await;
        assert_eq!(
            response.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned()),
            Some("1".into()),
            "{path}"
        );
        let problem = assert_problem(response, 503).await;
        assert_eq!(problem["type"], "/problems/busy", "{path}");
    }
    assert_eq!(app.get("/v1/contracts").await.status(), 200);
    assert_eq!(app.get("/healthz").await.status(), 200);
}

/// On PostgreSQL a statement past `statement_timeout` is cancelled by the database, and the
/// request that ran it gets a 503 problem saying so. (SQLite has no statement timeout; there
/// the request timeout answers. This runs in the PostgreSQL pass of `make test`.)
#[tokio::test]
async fn a_statement_past_the_timeout_is_cancelled_and_answers_503() {
    use poem::IntoResponse;
    let Some(url) = std::env::var("TEST_DATABASE_URL").ok().filter(|url| !url.is_empty()) else { return };
    let options = domain::db::PoolOptions {
        max_connections: 1,
        statement_timeout: Some(std::time::Duration::from_millis(200)),
        ..Default::default()
    };
    let db = domain::db::connect(&url, &options).await.unwrap();
    let started = std::time::Instant::now();
    let error = domain::DomainError::from(db.execute_unprepared("SELECT pg_sleep(5)").await.unwrap_err());
    assert!(started.elapsed() < std::time::Duration::from_secs(3), "cancelled, not waited out");
    assert!(error.is_statement_timeout(), "{error:?}");
    let response = api::error::ApiError::from(error).into_response();
    assert_eq!(response.status(), 503);
    let body: serde_json::Value = serde_json::from_slice(&response.into_body().into_bytes().await.unwrap()).unwrap();
    assert_eq!(body["type"], "/problems/timeout", "{body}");

    // Without the option, the same connection string waits the statement out.
    let patient =
        domain::db::connect(&url, &domain::db::PoolOptions { max_connections: 1, ..Default::default() }).await.unwrap();
    patient.execute_unprepared("SELECT pg_sleep(0.3)").await.unwrap();
}

/// A slowloris client, which sends a header byte every 300 ms and so is never idle, is cut
/// off once its headers have taken longer than `header_read_timeout_seconds`; a client that
/// sends its request at once on the same server is answered, twice on one connection.
#[tokio::test]
async fn a_client_dribbling_its_headers_is_cut_off_at_the_header_deadline() {
    let app = spawn_app_with(|settings| {
        settings.header_read_timeout_seconds = 2;
        settings.idle_timeout_seconds = 30;
    })
    .await;
    let address = app.address.trim_start_matches("http://").to_owned();

    let mut prompt = tokio::net::TcpStream::connect(&address).await.unwrap();
    let mut buffer = vec![0u8; 4096];
    for _ in 0..2 {
        prompt.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
        let answered = prompt.read(&mut buffer).await.unwrap();
        assert!(String::from_utf8_lossy(&buffer[..answered]).starts_with("HTTP/1.1 200"));
    }

    let mut slow = tokio::net::TcpStream::connect(&address).await.unwrap();
    let started = std::time::Instant::now();
    let request = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    let mut closed = false;
    for byte in request {
        if slow.write_all(&[*byte]).await.is_err() {
            closed = true;
            break;
        }
        let read = tokio::time::timeout(std::time::Duration::from_millis(300), slow.read(&mut buffer)).await;
        if matches!(read, Ok(Ok(0)) | Ok(Err(_))) {
            closed = true;
            break;
        }
        assert!(read.is_err(), "nothing is answered to half a request: {read:?}");
    }
    let elapsed = started.elapsed();
    assert!(closed, "the dribbling client was never cut off ({elapsed:?})");
    assert!(elapsed < std::time::Duration::from_secs(5), "cut off near the 2 s deadline, not later: {elapsed:?}");
    assert!(elapsed >= std::time::Duration::from_millis(1900), "not before the deadline: {elapsed:?}");
}

/// A NUL in a query parameter (schemathesis found one reaching PostgreSQL as a 500 on the
/// audit events' `object_type`) is a 400 naming the parameter, on every route.
#[tokio::test]
async fn a_nul_in_a_query_parameter_is_a_400_naming_it() {
    let app = spawn_app().await;
    for (path, name) in [
        ("/v1/audit/events?object_type=ab%00c&limit=5", "object_type"),
        ("/v1/contracts?q=%00", "q"),
        ("/v1/search?q=school%00", "q"),
    ] {
        let problem = assert_problem(app.get(path).await, 400).await;
        assert_eq!(problem["invalid_params"][0]["name"], name, "{path}: {problem}");
        assert!(problem["detail"].as_str().unwrap().contains("NUL"), "{problem}");
    }
    assert_eq!(
        app.get("/v1/contracts?q=%D1%88%D0%BA%D0%BE%D0%BB%D0%B0").await.status(),
        200,
        "other text is searched for"
    );
}
