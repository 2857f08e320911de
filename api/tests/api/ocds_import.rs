//! `scrutiny import ocds` over every real OCDS sample (Ukraine, Paraguay, Mexico City and the
//! standard's fictional example), from files and from a URL serving gzip.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::helpers::spawn_app;
use crate::upstream::{Answer, Upstream};

const BINARY: &str = env!("CARGO_BIN_EXE_scrutiny");

fn samples() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/ocds");
    let mut files = Vec::new();
    for folder in ["fictional", "mexico", "paraguay", "ukraine"] {
        let mut found: Vec<PathBuf> = std::fs::read_dir(root.join(folder))
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|e| e == "json"))
            .collect();
        found.sort();
        files.extend(found);
    }
    files
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_real_sample_imports_with_the_counted_records_and_a_rerun_adds_nothing() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    let files = samples();
    assert_eq!(files.len(), 31);
    let run = || {
        let output = Command::new(BINARY)
            .args(["import", "--report", "rejects.jsonl", "ocds"])
            .args(&files)
            .env("DATABASE_URL", app.database_url())
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).unwrap()
    };
    let first = run();
    assert!(first.contains("fetched 172, inserted 124, updated 7, unchanged 41, deleted 0, rejected 0"), "{first}");
    // Distinct processes, contracts and transactions, counted with python over the samples:
    // tenders = ocids (1 + 3 + 6 + 11); contracts 1 + 3 + 10 (13 less 3 that extend another,
    // stored as amendments) + 10; transactions 2 + 15 + 0 + 0.
    assert_eq!(app.get_json("/v1/tenders?limit=1").await["total"], 21);
    assert_eq!(app.get_json("/v1/contracts?limit=1").await["total"], 24);
    assert_eq!(app.get_json("/v1/payments?limit=1").await["total"], 17);
    let runs = app.get_json("/v1/imports?source=ocds").await;
    let counts = &runs["items"][0]["counts"];
    assert_eq!(counts["rejected"], 0);
    assert!(counts["repaired"].as_i64().unwrap() > 0, "the samples' deviations are reported: {counts}");
    let rejects = std::fs::read_to_string(dir.path().join("rejects.jsonl")).unwrap();
    assert!(rejects.contains("suppliers is an object"), "Paraguay's supplier objects are reported");
    for line in rejects.lines() {
        let reject: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(reject["outcome"], "repaired", "nothing is rejected, so every line is a repair: {line}");
    }

    // A Mexico City contract as published: its buyer and amount in pesos, exact.
    let mexico = app.get_json("/v1/contracts?limit=100").await;
    let peso = mexico["items"].as_array().unwrap().iter().find(|c| c["amount"]["currency"] == "MXN").unwrap();
    assert_eq!(peso["amount"]["exchange_rate"], serde_json::Value::Null, "no rate to tenge is known for pesos");

    // Again: nothing new. The fictional process's releases are applied in order on every run,
    // so its records pass through their earlier versions (counted updated) back to the same
    // final state; every other sample is unchanged.
    let second = run();
    assert!(second.contains("fetched 172, inserted 0,"), "{second}");
    assert_eq!(app.get_json("/v1/tenders?limit=1").await["total"], 21);
    assert_eq!(app.get_json("/v1/contracts?limit=1").await["total"], 24);
    assert_eq!(app.get_json("/v1/payments?limit=1").await["total"], 17);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gzipped_package_is_read_from_a_url() {
    let app = spawn_app().await;
    let upstream = Upstream::start().await;
    let package = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../fixtures/ocds/fictional/ocds-213czf-000-00001-06-implementation.json"),
    )
    .unwrap();
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gzip.write_all(&package).unwrap();
    upstream.on("/releases.json.gz", vec![Answer::status(503), Answer::json(gzip.finish().unwrap())]);
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(BINARY)
        .args(["import", "ocds", &format!("{}/releases.json.gz", upstream.base_url)])
        .env("DATABASE_URL", app.database_url())
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(upstream.hits("/releases.json.gz"), 2, "the 503 was retried");
    assert_eq!(app.get_json("/v1/payments?limit=1").await["total"], 2);
}

/// A release past `--max-release-bytes` (here a gzipped one holding a 2 MiB string) is one
/// reject naming its line; the releases beside it are stored and the run succeeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_release_larger_than_the_limit_is_a_reject_naming_its_line_and_the_others_are_stored() {
    let app = spawn_app().await;
    let upstream = Upstream::start().await;
    let release = |ocid: &str, note: &str| {
        serde_json::json!({
            "ocid": ocid, "id": format!("{ocid}-1"), "date": "2024-05-01T00:00:00Z", "tag": ["tender"],
            "initiationType": "tender",
            "buyer": {"id": "B", "name": "Buyer"},
            "parties": [{"id": "B", "name": "Buyer", "roles": ["buyer"]}],
            "tender": {"id": "t", "title": note, "status": "active",
                       "value": {"amount": 1000, "currency": "KZT"}}
        })
        .to_string()
    };
    let lines = [
        release("ocds-aaaaaa-1", "small"),
        release("ocds-aaaaaa-2", &"x".repeat(2 << 20)),
        release("ocds-aaaaaa-3", "small"),
    ];
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gzip.write_all(lines.join("\n").as_bytes()).unwrap();
    upstream.on("/releases.jsonl.gz", vec![Answer::json(gzip.finish().unwrap())]);
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(BINARY)
        .args(["import", "--max-release-bytes", "65536", "--report", "rejects.jsonl", "ocds"])
        .arg(format!("{}/releases.jsonl.gz", upstream.base_url))
        .env("DATABASE_URL", app.database_url())
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let rejects = std::fs::read_to_string(dir.path().join("rejects.jsonl")).unwrap();
    let rejected: Vec<serde_json::Value> = rejects.lines().map(|line| serde_json::from_str(line).unwrap()).collect();
    let too_large: Vec<&serde_json::Value> = rejected
        .iter()
        .filter(|r| r["reason"].as_str().unwrap_or("").contains("larger than the 64 KiB limit"))
        .collect();
    assert_eq!(too_large.len(), 1, "{rejects}");
    assert_eq!(too_large[0]["position"], 2, "the reject names its line: {rejects}");
    assert_eq!(app.get_json("/v1/tenders?limit=1").await["total"], 2, "the two small releases are stored");
}

/// Runs `scrutiny import ocds FILES` against the app's database; its summary line.
fn import_files(app: &crate::helpers::TestApp, dir: &Path, files: &[PathBuf]) -> String {
    let output = Command::new(BINARY)
        .args(["import", "--report", "rejects.jsonl", "ocds"])
        .args(files)
        .env("DATABASE_URL", app.database_url())
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

/// The standard's worked example, its six releases (planning to implementation) in one package,
/// newest first: they are merged into the process's compiled release, which is what is stored,
/// and reading the package again changes nothing. The process is served under its publisher's
/// ocid, as is a Prozorro release.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn releases_of_one_process_are_merged_and_served_under_the_publishers_ocid() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/ocds");
    let mut releases = Vec::new();
    for stage in ["01-planning", "02-tender", "03-tenderAmendment", "04-award", "05-contract", "06-implementation"] {
        let text =
            std::fs::read_to_string(fixtures.join(format!("fictional/ocds-213czf-000-00001-{stage}.json"))).unwrap();
        let package: serde_json::Value = serde_json::from_str(&text).unwrap();
        releases.extend(package["releases"].as_array().unwrap().iter().cloned());
    }
    releases.reverse();
    let package = serde_json::json!({
        "uri": "https://example.org/all.json", "publishedDate": "2010-05-10T10:30:00Z",
        "publisher": {"name": "Example"}, "version": "1.1", "releases": releases,
    });
    let file = dir.path().join("all.json");
    std::fs::write(&file, serde_json::to_string_pretty(&package).unwrap()).unwrap();
    let ukraine = fixtures.join("ukraine/ocds-be6bcu-UA-2016-06-02-000468-c-35ee2812b91b4ff299fbf6c217b46ae4.json");
    let inputs = [file, ukraine];

    let first = import_files(&app, dir.path(), &inputs);
    assert!(first.contains(", updated 0,"), "one compiled release per process, each stored once: {first}");
    let record = app.get_json("/v1/ocds/records/ocds-213czf-000-00001").await;
    let compiled = &record["records"][0]["compiledRelease"];
    assert_eq!(record["records"][0]["ocid"], "ocds-213czf-000-00001");
    assert_eq!(compiled["ocid"], "ocds-213czf-000-00001");
    // What the later releases said wins, whatever their order in the file: the tender as amended,
    // the award, the contract and the implementation's two payments.
    assert_eq!(compiled["tender"]["status"], "complete", "{compiled}");
    assert_eq!(compiled["contracts"].as_array().map(Vec::len), Some(1), "{compiled}");
    let transactions = compiled["contracts"][0]["implementation"]["transactions"].as_array().map(Vec::len);
    assert_eq!(transactions, Some(2), "{compiled}");
    let prozorro = app.get_json("/v1/ocds/records/ocds-be6bcu-UA-2016-06-02-000468-c").await;
    assert_eq!(prozorro["records"][0]["compiledRelease"]["ocid"], "ocds-be6bcu-UA-2016-06-02-000468-c");
    let released = app.get_json("/v1/ocds/releases?limit=100").await;
    let ocids: Vec<&str> =
        released["releases"].as_array().unwrap().iter().map(|r| r["ocid"].as_str().unwrap()).collect();
    assert!(
        ocids.contains(&"ocds-213czf-000-00001") && ocids.contains(&"ocds-be6bcu-UA-2016-06-02-000468-c"),
        "{ocids:?}"
    );

    let again = import_files(&app, dir.path(), &inputs);
    let fetched: String = first.split("fetched ").nth(1).unwrap().chars().take_while(char::is_ascii_digit).collect();
    assert!(again.contains(&format!("fetched {fetched}, inserted 0, updated 0, unchanged {fetched},")), "{again}");

    // An empty package is valid OCDS: nothing to store, nothing rejected.
    let empty = dir.path().join("empty.json");
    std::fs::write(&empty, r#"{"uri": "https://example.org/empty.json", "version": "1.1", "releases": []}"#).unwrap();
    let nothing = import_files(&app, dir.path(), &[empty]);
    assert!(nothing.contains("fetched 0, inserted 0, updated 0, unchanged 0, deleted 0, rejected 0"), "{nothing}");
}
