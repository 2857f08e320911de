//! Keys and secrets as an operator meets them: generated on a fresh SQLite install and kept
//! private, required on PostgreSQL, and never in the logs; and the `scrutiny users` commands.

use std::io::Read;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

const BINARY: &str = env!("CARGO_BIN_EXE_scrutiny");
const PASSWORD: &str = "operator chosen passphrase";

fn run(dir: &std::path::Path, url: &str, args: &[&str], envs: &[(&str, &str)]) -> std::process::Output {
    let mut command = Command::new(BINARY);
    command.args(args).env("DATABASE_URL", url).current_dir(dir).env_remove("RUST_LOG");
    for (key, value) in envs {
        command.env(key, value);
    }
    command.output().expect("runs")
}

#[test]
fn serve_on_postgresql_without_a_key_refuses_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let output = run(dir.path(), "postgres://nobody@127.0.0.1:1/none", &["serve", "--bind", "127.0.0.1:0"], &[]);
    assert!(!output.status.success());
    let printed = String::from_utf8_lossy(&output.stderr);
    assert!(printed.contains("SCRUTINY_JWT_SECRET") && printed.contains("SCRUTINY_JWT_PRIVATE_KEY"), "{printed}");
}

#[test]
fn a_fresh_sqlite_install_generates_private_keys_and_keeps_them() {
    let dir = tempfile::tempdir().unwrap();
    let settings = api::config::Settings {
        database_url: api::config::DatabaseUrl(format!("sqlite://{}", dir.path().join("scrutiny.db").display())),
        ..Default::default()
    };
    let first = api::startup::Keys::load(&settings).unwrap();
    for name in ["scrutiny.db.jwt-key.pem", "scrutiny.db.audit-key.pem"] {
        let metadata = std::fs::metadata(dir.path().join(name)).unwrap_or_else(|_| panic!("{name} written"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(metadata.permissions().mode() & 0o777, 0o600, "{name} is readable by its owner only");
        }
    }
    let second = api::startup::Keys::load(&settings).unwrap();
    assert_eq!(first.jwt.signing_kid, second.jwt.signing_kid, "the key survives a restart");
    assert_eq!(first.audit.key_id(), second.audit.key_id());
    let other = tempfile::tempdir().unwrap();
    let elsewhere = api::config::Settings {
        database_url: api::config::DatabaseUrl(format!("sqlite://{}", other.path().join("scrutiny.db").display())),
        ..Default::default()
    };
    assert_ne!(api::startup::Keys::load(&elsewhere).unwrap().jwt.signing_kid, first.jwt.signing_kid, "no fixed key");
}

#[test]
fn the_users_commands_bootstrap_an_install() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("scrutiny.db").display());
    assert!(run(dir.path(), &url, &["migrate"], &[]).status.success());
    let weak = run(
        dir.path(),
        &url,
        &["users", "create", "--email", "a@example.kz", "--role", "admin"],
        &[("SCRUTINY_USER_PASSWORD", "short")],
    );
    assert!(!weak.status.success());
    assert!(String::from_utf8_lossy(&weak.stderr).contains("password"), "{}", String::from_utf8_lossy(&weak.stderr));

    let created = run(
        dir.path(),
        &url,
        &[
            "users",
            "create",
            "--email",
            "Admin@Example.kz",
            "--role",
            "admin",
            "--role",
            "moderator",
            "--name",
            "Оператор",
        ],
        &[("SCRUTINY_USER_PASSWORD", PASSWORD)],
    );
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    let granted = run(
        dir.path(),
        &url,
        &["users", "grant", "--email", "admin@example.kz", "--role", "ngo", "--ngo-name", "Адал"],
        &[],
    );
    assert!(granted.status.success(), "{}", String::from_utf8_lossy(&granted.stderr));
    let revoked =
        run(dir.path(), &url, &["users", "revoke", "--email", "admin@example.kz", "--role", "moderator"], &[]);
    assert!(revoked.status.success(), "{}", String::from_utf8_lossy(&revoked.stderr));
    let listed = run(dir.path(), &url, &["users", "list"], &[]);
    let listed = String::from_utf8(listed.stdout).unwrap();
    let line = listed.lines().find(|line| line.contains("Admin@Example.kz")).unwrap_or_else(|| panic!("{listed}"));
    assert!(line.contains("\tОператор\tngo,admin\t"), "{line}");
    assert!(!listed.contains(PASSWORD) && !listed.contains("argon2"), "{listed}");
}

/// Starts `scrutiny serve` and returns the child and its address.
fn serve(dir: &std::path::Path, url: &str, envs: &[(&str, &str)]) -> (std::process::Child, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut command = Command::new(BINARY);
    command
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .env("DATABASE_URL", url)
        .env("RUST_LOG", "trace")
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (key, value) in envs {
        command.env(key, value);
    }
    (command.spawn().unwrap(), format!("http://127.0.0.1:{port}"))
}

#[tokio::test]
async fn secrets_never_reach_the_logs() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("scrutiny.db").display());
    let jwt_secret = "a-very-long-hs256-secret-that-must-stay-out-of-logs";
    assert!(run(dir.path(), &url, &["migrate"], &[]).status.success());
    let created = run(
        dir.path(),
        &url,
        &["users", "create", "--email", "ops@example.kz", "--role", "admin"],
        &[("SCRUTINY_USER_PASSWORD", PASSWORD)],
    );
    assert!(created.status.success());
    importers::http::init_tls();
    let (mut child, address) = serve(dir.path(), &url, &[("SCRUTINY_JWT_SECRET", jwt_secret)]);
    let client = reqwest::Client::new();
    let mut ready = false;
    for _ in 0..100 {
        if client.get(format!("{address}/readyz")).send().await.is_ok_and(|r| r.status() == 200) {
            ready = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(ready, "the server came up");

    let citizen_password = "citizen's own passphrase";
    let registered = client
        .post(format!("{address}/v1/accounts"))
        .json(&json!({"email": "c@example.kz", "password": citizen_password, "display_name": "C"}))
        .send()
        .await
        .unwrap();
    assert_eq!(registered.status(), 201);
    let wrong = client
        .post(format!("{address}/v1/auth/token"))
        .json(&json!({"email": "c@example.kz", "password": "a wrong guess at it"}))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let tokens: Value = client
        .post(format!("{address}/v1/auth/token"))
        .json(&json!({"email": "ops@example.kz", "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let me = client.get(format!("{address}/v1/me")).bearer_auth(&access).send().await.unwrap();
    assert_eq!(me.status(), 200);
    let rotated: Value = client
        .post(format!("{address}/v1/auth/refresh"))
        .json(&json!({"refresh_token": refresh}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let second_access = rotated["access_token"].as_str().unwrap().to_owned();
    let out = client.post(format!("{address}/v1/auth/logout")).bearer_auth(&second_access).send().await.unwrap();
    assert_eq!(out.status(), 204);
    let _ = client.get(format!("{address}/v1/me")).bearer_auth(&second_access).send().await.unwrap();

    child.kill().unwrap();
    let mut logs = String::new();
    child.stderr.take().unwrap().read_to_string(&mut logs).unwrap();
    child.stdout.take().unwrap().read_to_string(&mut logs).unwrap();
    child.wait().unwrap();
    assert!(logs.contains("answered"), "the logs were captured: {logs:.2000}");
    let audit_key = std::fs::read_to_string(dir.path().join("scrutiny.db.audit-key.pem")).unwrap();
    let key_body = audit_key.lines().nth(1).unwrap();
    for (what, secret) in [
        ("the operator's password", PASSWORD),
        ("a citizen's password", citizen_password),
        ("a wrong password", "a wrong guess at it"),
        ("the JWT secret", jwt_secret),
        ("an access token", access.as_str()),
        ("a refreshed access token", second_access.as_str()),
        ("a refresh token", refresh.as_str()),
        ("a rotated refresh token", rotated["refresh_token"].as_str().unwrap()),
        ("the audit signing key", key_body),
        ("a citizen's email", "c@example.kz"),
        ("the operator's email", "ops@example.kz"),
    ] {
        assert!(!logs.contains(secret), "{what} reached the logs");
    }
    // The token's signature alone is a secret too (the rest is base64 of public claims).
    let signature = access.rsplit('.').next().unwrap();
    assert!(!logs.contains(signature), "a token's signature reached the logs");
}
