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

#[test]
fn indicators_reads_standard_input_names_a_broken_line_and_prints_cardinals_json() {
    use std::io::Write;
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/cardinal");
    let good = std::fs::read_to_string(format!("{fixtures}/R018.jsonl")).unwrap();
    let mut input: Vec<&str> = good.lines().collect();
    input.insert(2, "{\"ocid\": \"broken\",");
    let settings = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(settings.path(), "[R018]\n").unwrap();
    let mut child = Command::new(BINARY)
        .args(["indicators", "--settings"])
        .arg(settings.path())
        .args(["--no-meta", "-"])
        .env("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("runs");
    child.stdin.take().unwrap().write_all(input.join("\n").as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("-: line 3, column 18: EOF while parsing a value"), "{stderr}");
    assert!(stderr.contains("1 of 8 lines could not be read"), "{stderr}");
    let ours: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{fixtures}/R018.expected")).unwrap()).unwrap();
    assert_eq!(ours, expected);

    // A setting cardinal does not know is refused, naming its line.
    std::fs::write(settings.path(), "[R018]\nprocurement_method = open\n").unwrap();
    let output = Command::new(BINARY)
        .args(["indicators", "--settings"])
        .arg(settings.path())
        .arg(format!("{fixtures}/R018.jsonl"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("settings line 2: `procurement_method` is not a setting in [R018]"), "{stderr}");
}
