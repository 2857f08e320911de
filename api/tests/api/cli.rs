//! The `scrutiny` binary as a new user runs it.

use std::process::Command;

const BINARY: &str = env!("CARGO_BIN_EXE_scrutiny");

#[test]
fn openapi_prints_the_committed_spec_without_touching_a_database() {
    let output = Command::new(BINARY)
        .arg("openapi")
        .env("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")
        .output()
        .expect("runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(String::from_utf8(output.stdout).unwrap(), include_str!("../../../openapi/openapi.yaml"));
}

#[test]
fn migrate_then_seed_twice_on_a_sqlite_file() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("scrutiny.db").display());
    let run = |command: &str| {
        let output = Command::new(BINARY)
            .arg(command)
            .env("DATABASE_URL", &url)
            .env("SCRUTINY_LOG_FORMAT", "json")
            .current_dir(dir.path())
            .output()
            .expect("runs");
        assert!(output.status.success(), "{command}: {}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stderr).unwrap()
    };
    run("migrate");
    let first = run("seed");
    assert!(first.contains("demo data loaded"), "{first}");
    let second = run("seed");
    assert!(second.contains("already loaded"), "{second}");
    // Logs are JSON lines when asked.
    for line in first.lines() {
        serde_json::from_str::<serde_json::Value>(line).unwrap_or_else(|e| panic!("{line}: {e}"));
    }
}

#[test]
fn a_database_password_never_reaches_the_logs() {
    let output = Command::new(BINARY)
        .arg("migrate")
        .env("DATABASE_URL", "postgres://scrutiny:hunter2-secret@127.0.0.1:1/scrutiny")
        .output()
        .expect("runs");
    assert!(!output.status.success());
    let printed = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(printed.contains("scrutiny:***@127.0.0.1"), "{printed}");
    assert!(!printed.contains("hunter2"), "{printed}");
}
