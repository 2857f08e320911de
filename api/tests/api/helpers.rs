//! `spawn_app()`: a server on port 0 over a fresh database.

use std::sync::Once;

use api::config::{LogFormat, Settings};
use api::{Application, telemetry};
use domain::db::{self, PoolOptions};
use reqwest::Response;
use sea_orm::{ConnectionTrait, DatabaseConnection};
use serde_json::Value;

/// Which engine this run's tests use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres { admin_url: String },
}

impl Engine {
    pub fn from_env() -> Engine {
        match std::env::var("TEST_DATABASE_URL") {
            Ok(url) if !url.is_empty() => Engine::Postgres { admin_url: url },
            _ => Engine::Sqlite,
        }
    }
}

/// A fresh, empty database that is removed when dropped.
pub struct TestDatabase {
    pub url: String,
    engine: Engine,
    name: String,
    _dir: Option<tempfile::TempDir>,
}

impl TestDatabase {
    pub async fn create() -> TestDatabase {
        let engine = Engine::from_env();
        let name = format!("scrutiny_test_{}", uuid::Uuid::new_v4().simple());
        match &engine {
            Engine::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}", dir.path().join(format!("{name}.db")).display());
                TestDatabase { url, engine, name, _dir: Some(dir) }
            }
            Engine::Postgres { admin_url } => {
                let admin = db::connect(admin_url, &PoolOptions { max_connections: 1, ..Default::default() })
                    .await
                    .expect("TEST_DATABASE_URL reachable");
                admin.execute_unprepared(&format!("CREATE DATABASE \"{name}\"")).await.expect("create database");
                admin.close().await.ok();
                let url = with_database_name(admin_url, &name);
                TestDatabase { url, engine: engine.clone(), name, _dir: None }
            }
        }
    }
}

/// The same server URL with another database name.
fn with_database_name(url: &str, name: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let authority_end = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[authority_end..].find('/').map_or(base.len(), |i| authority_end + i);
    let mut rebuilt = format!("{}/{name}", &base[..path_start]);
    if let Some(query) = query {
        rebuilt.push('?');
        rebuilt.push_str(query);
    }
    rebuilt
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Engine::Postgres { admin_url } = &self.engine else { return };
        let (admin_url, name) = (admin_url.clone(), self.name.clone());
        // Drop runs inside the test's runtime, which cannot block on async work; a short-lived
        // thread with its own runtime removes the database (forcing off the server's pool).
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            runtime.block_on(async {
                if let Ok(admin) =
                    db::connect(&admin_url, &PoolOptions { max_connections: 1, ..Default::default() }).await
                {
                    let _ = admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).await;
                    admin.close().await.ok();
                }
            });
        })
        .join();
    }
}

pub struct TestApp {
    /// `http://127.0.0.1:<port>`
    pub address: String,
    pub client: reqwest::Client,
    pub db: DatabaseConnection,
    /// Kept so the database lives as long as the app; dropping it removes the database.
    _database: TestDatabase,
}

static TRACING: Once = Once::new();

/// A migrated, empty database behind a running server.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// The same, with the demo data set loaded.
pub async fn spawn_seeded_app() -> TestApp {
    let app = spawn_app().await;
    domain::demo::seed(&app.db).await.expect("demo data loads");
    app
}

/// A migrated, empty database behind a server whose settings `adjust` may change.
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Settings)) -> TestApp {
    importers::http::init_tls();
    TRACING.call_once(|| {
        if std::env::var_os("TEST_LOG").is_some() {
            telemetry::init(LogFormat::Text);
        }
    });
    let database = TestDatabase::create().await;
    let mut settings = Settings {
        database_url: api::config::DatabaseUrl(database.url.clone()),
        bind: "127.0.0.1:0".parse().unwrap(),
        ..Settings::default()
    };
    adjust(&mut settings);
    let db = db::connect(&database.url, &PoolOptions { max_connections: 5, ..Default::default() })
        .await
        .expect("test database reachable");
    db::migrate(&db).await.expect("migrations apply");
    let application = Application::build(settings, db.clone()).await.expect("binds port 0");
    let address = format!("http://{}", application.address());
    tokio::spawn(application.run_until_stopped());
    TestApp { address, client: reqwest::Client::new(), db, _database: database }
}

impl TestApp {
    /// The URL of the app's database, for tools run beside the server (`scrutiny import`).
    pub fn database_url(&self) -> &str {
        &self._database.url
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client.get(format!("{}{path}", self.address)).send().await.expect("request sent")
    }

    pub async fn get_json(&self, path: &str) -> Value {
        let response = self.get(path).await;
        assert_eq!(response.status(), 200, "GET {path}");
        response.json().await.expect("JSON body")
    }
}

/// Checks that a response is a problem with this status, and returns its body.
pub async fn assert_problem(response: Response, status: u16) -> Value {
    assert_eq!(response.status().as_u16(), status);
    let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
    assert_eq!(content_type, "application/problem+json");
    let body: Value = response.json().await.expect("problem body is JSON");
    assert_eq!(body["status"], status);
    assert!(body["type"].as_str().is_some_and(|t| t.starts_with("/problems/")), "{body}");
    assert!(body["title"].is_string(), "{body}");
    body
}

/// The single invalid parameter a 400 problem names.
pub fn invalid_param_name(problem: &Value) -> &str {
    problem["invalid_params"][0]["name"].as_str().expect("invalid_params names the parameter")
}
