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
    /// The server's clock: moving it walks findings past their deadlines.
    pub clock: domain::clock::Clock,
    /// Kept so the database lives as long as the app; dropping it removes the database.
    _database: TestDatabase,
    /// Where the keys of a PostgreSQL run live.
    _keys: tempfile::TempDir,
}

/// The password of every account the tests create.
pub const PASSWORD: &str = "correct horse battery staple";

/// An account the tests created, logged in.
#[derive(Debug, Clone)]
pub struct User {
    pub id: i64,
    pub email: String,
    /// A valid access token.
    pub token: String,
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
    let keys = tempfile::tempdir().expect("temp dir");
    let mut settings = Settings {
        database_url: api::config::DatabaseUrl(database.url.clone()),
        bind: "127.0.0.1:0".parse().unwrap(),
        // Tests tamper with the log and check again at once.
        audit_verify_every_seconds: 0,
        ..Settings::default()
    };
    // A SQLite file gets keys generated beside it; PostgreSQL needs them configured.
    if matches!(Engine::from_env(), Engine::Postgres { .. }) {
        let audit_key = keys.path().join("audit.pem");
        api::auth::keys::generate_key_file(&audit_key).expect("writes a key");
        settings.audit_signing_key = Some(audit_key);
        settings.attachments_dir = Some(keys.path().join("attachments"));
        settings.jwt_secret = Some(api::config::Secret(uuid::Uuid::new_v4().simple().to_string().repeat(2)));
    }
    adjust(&mut settings);
    let db = db::connect(&database.url, &PoolOptions { max_connections: 5, ..Default::default() })
        .await
        .expect("test database reachable");
    db::migrate(&db).await.expect("migrations apply");
    let application = Application::build(settings, db.clone()).await.expect("binds port 0");
    let address = format!("http://{}", application.address());
    let clock = application.clock();
    tokio::spawn(application.run_until_stopped());
    TestApp { address, client: reqwest::Client::new(), db, clock, _database: database, _keys: keys }
}

impl TestApp {
    /// Stores `count` suppliers named `ТОО "{tag} {n}"` (upstream ids `{tag}-{n}`), all fetched
    /// at one fixed moment, so that their pages and files are the same on every run.
    pub async fn insert_suppliers(&self, tag: &str, count: usize) {
        use domain::entities::{OrganizationKind, organization};
        use sea_orm::{ActiveModelTrait, Set};
        for n in 0..count {
            organization::ActiveModel {
                name_ru: Set(Some(format!("ТОО \"{tag} {n}\""))),
                kind: Set(OrganizationKind::Supplier),
                source: Set("test".into()),
                upstream_id: Set(format!("{tag}-{n}")),
                fetched_at: Set(chrono::DateTime::from_timestamp(1_767_225_600, 0).unwrap()),
                content_hash: Set("0".repeat(64)),
                ..Default::default()
            }
            .insert(&self.db)
            .await
            .unwrap();
        }
    }

    /// The URL of the app's database, for tools run beside the server (`scrutiny import`).
    pub fn database_url(&self) -> &str {
        &self._database.url
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client.get(format!("{}{path}", self.address)).send().await.expect("request sent")
    }

    /// Creates an account with these roles through the domain (as the operator would with
    /// `scrutiny users create`) and logs it in through the API. `council` and `organization`
    /// go with `council_member` and `body_officer`.
    pub async fn user(&self, roles: &[&str], council: Option<i64>, organization: Option<i64>) -> User {
        use domain::accounts::{self, Actor, Email, Grant, Password, PasswordHasher, Registration};
        let email = format!("user-{}@example.kz", uuid::Uuid::new_v4().simple());
        let registration = Registration {
            email: Email::new(&email).unwrap(),
            password: Password::new(PASSWORD).unwrap(),
            display_name: format!("Tester {}", &email[5..11]),
        };
        let grants = roles
            .iter()
            .map(|role| Grant {
                role: Some(role.parse().unwrap()),
                council_id: council,
                organization_id: organization,
                ngo_name: Some("Адал сатып алу".to_owned()),
                position: None,
            })
            .collect();
        let view = accounts::create(&self.db, &PasswordHasher::new(2), &Actor::System("test"), registration, grants)
            .await
            .expect("account created");
        let token = self.login(&email, PASSWORD).await["access_token"].as_str().unwrap().to_owned();
        User { id: view.id, email, token }
    }

    /// `POST /v1/auth/token`; panics unless it succeeds.
    pub async fn login(&self, email: &str, password: &str) -> Value {
        let response = self
            .client
            .post(format!("{}/v1/auth/token", self.address))
            .json(&serde_json::json!({"email": email, "password": password}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "login of {email}");
        response.json().await.unwrap()
    }

    /// A request with a bearer token, when one is given.
    pub fn request(&self, method: reqwest::Method, path: &str, token: Option<&str>) -> reqwest::RequestBuilder {
        let builder = self.client.request(method, format!("{}{path}", self.address));
        match token {
            Some(token) => builder.bearer_auth(token),
            None => builder,
        }
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
