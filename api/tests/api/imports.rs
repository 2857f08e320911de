//! `scrutiny import` as an operator runs it, and `/v1/imports` as a reader audits it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sea_orm::{ConnectionTrait, DbBackend};
use serde_json::Value;

use crate::helpers::{TestApp, assert_problem, spawn_app};

const BINARY: &str = env!("CARGO_BIN_EXE_scrutiny");

fn fixture(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures").join(path)
}

/// Runs `scrutiny import …` against the app's database, from `dir`.
fn import(app: &TestApp, dir: &Path, args: &[&str]) -> Output {
    Command::new(BINARY)
        .arg("import")
        .args(args)
        .env("DATABASE_URL", app.database_url())
        .env("SCRUTINY_LOG_FORMAT", "json")
        .current_dir(dir)
        .output()
        .expect("runs")
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn report(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}")))
        .collect()
}

#[tokio::test]
async fn treasury_csv_imports_with_every_bad_row_reported_and_a_rerun_changes_nothing() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    let mapping = fixture("csv/treasury-payments.mapping.toml");
    let csv = fixture("csv/treasury-payments.csv");
    let args = ["csv", "--kind", "payments", "--mapping", mapping.to_str().unwrap(), csv.to_str().unwrap()];

    let first = stdout(&import(&app, dir.path(), &[&["--report", "first.jsonl"], &args[..]].concat()));
    assert!(first.contains("fetched 7, inserted 3, updated 0, unchanged 0, deleted 0, rejected 4"), "{first}");
    let rejects = report(&dir.path().join("first.jsonl"));
    let reasons: Vec<(u64, &str, &str)> = rejects
        .iter()
        .map(|r| (r["position"].as_u64().unwrap(), r["record_id"].as_str().unwrap(), r["reason"].as_str().unwrap()))
        .collect();
    assert_eq!(reasons.len(), 4, "{rejects:?}");
    assert_eq!(reasons[0].0, 4, "the header is line 1, so the third row is line 4");
    assert_eq!(reasons[0].1, "ПП-2020-0003");
    assert!(reasons[0].2.contains("payee_bin") && reasons[0].2.contains("check digit"), "{}", reasons[0].2);
    assert!(reasons[1].2.contains("negative"), "{}", reasons[1].2);
    assert!(reasons[2].2.contains("XX1"), "{}", reasons[2].2);
    assert!(reasons[3].2.contains("paid_at") && reasons[3].2.contains("31.02.2020"), "{}", reasons[3].2);
    for reject in &rejects {
        assert_eq!(reject["source"], "treasury");
        assert_eq!(reject["outcome"], "rejected", "{reject}");
        assert!(reject.get("action").is_none(), "{reject}");
        assert!(reject["input"].as_str().unwrap().ends_with("treasury-payments.csv"));
    }

    // The stored payments, exact to the tiyn, with payer and payee created from the rows.
    let payments = app.get_json("/v1/payments?sort=date").await;
    assert_eq!(payments["total"], 3);
    let first_payment = &payments["items"][0];
    assert_eq!(first_payment["amount"]["amount"], "10344.00");
    assert_eq!(first_payment["amount"]["currency"], "KZT");
    assert_eq!(first_payment["payer"]["bin"], "160440007161");
    assert_eq!(
        first_payment["paid_at"].as_str().unwrap()[..19],
        *"2020-02-11T18:00:00",
        "Almaty midnight, UTC+6 in 2020"
    );
    let usd = payments["items"].as_array().unwrap().iter().find(|p| p["amount"]["currency"] == "USD").unwrap();
    assert_eq!(usd["amount"]["amount"], "1250.75");

    // The run, as a reader audits it.
    let runs = app.get_json("/v1/imports?source=treasury").await;
    assert_eq!(runs["total"], 1);
    let run = &runs["items"][0];
    assert_eq!(run["status"], "succeeded");
    assert_eq!(run["counts"]["read"], 7);
    assert_eq!(run["counts"]["inserted"], 3);
    assert_eq!(run["counts"]["rejected"], 4);
    let rejects_href = format!("/v1/imports/{}/rejects", run["id"]);
    assert_eq!(run["rejects_href"], rejects_href.as_str());
    assert!(run.get("findings_href").is_none(), "{run}");
    let rejects = app.get_json(&rejects_href).await;
    let items = rejects["items"].as_array().unwrap();
    assert_eq!(items.len(), 4);
    assert_eq!(items[0]["record_id"], "ПП-2020-0003");
    for reject in items {
        assert_eq!(reject["outcome"], "rejected", "{reject}");
        assert!(reject.get("action").is_none(), "{reject}");
    }
    // The path before rejects were called rejects is gone.
    assert_problem(app.get(&format!("/v1/imports/{}/findings", run["id"])).await, 404).await;
    assert_eq!(first_payment["provenance"]["import_run_id"], run["id"]);

    // Again: nothing new, nothing duplicated.
    let second = stdout(&import(&app, dir.path(), &[&["--report", "second.jsonl"], &args[..]].concat()));
    assert!(second.contains("fetched 7, inserted 0, updated 0, unchanged 3, deleted 0, rejected 4"), "{second}");
    assert_eq!(app.get_json("/v1/payments").await["total"], 3);
}

#[tokio::test]
async fn windows_1251_tab_separated_decisions_import_with_their_cyrillic_intact() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    let rows = "id\tbin\tвид\tномер\tдата\tназвание\n\
                D-1\t160440007161\tприказ\t125-п\t2024-03-15\tОб утверждении плана закупок\n\
                D-2\t160440007161\tпостановление\t7\t2024-04-01\tО бюджете района\n";
    let (encoded, _, unmappable) = encoding_rs::WINDOWS_1251.encode(rows);
    assert!(!unmappable);
    std::fs::write(dir.path().join("decisions.tsv"), &encoded[..]).unwrap();
    std::fs::write(
        dir.path().join("mapping.toml"),
        "encoding = \"windows-1251\"\n[columns]\nid = \"id\"\norganization_bin = \"bin\"\nkind = \"вид\"\n\
         number = \"номер\"\nadopted_on = \"дата\"\ntitle_ru = \"название\"\n",
    )
    .unwrap();
    let out = stdout(&import(
        &app,
        dir.path(),
        &["csv", "--kind", "decisions", "--mapping", "mapping.toml", "decisions.tsv"],
    ));
    assert!(out.contains("fetched 2, inserted 2"), "{out}");
    let decisions = app.get_json("/v1/decisions?sort=date").await;
    assert_eq!(decisions["items"][0]["title"]["ru"], "Об утверждении плана закупок");
    assert_eq!(decisions["items"][0]["kind"], "order");
    assert_eq!(decisions["items"][1]["kind"], "resolution");
}

#[tokio::test]
async fn a_mapping_naming_a_missing_column_fails_the_run_with_the_reason() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("p.csv"), "a,b\n1,2\n").unwrap();
    let mapping = fixture("csv/treasury-payments.mapping.toml");
    let output =
        import(&app, dir.path(), &["csv", "--kind", "payments", "--mapping", mapping.to_str().unwrap(), "p.csv"]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no column \"Номер документа\""), "{stderr}");
    let runs = app.get_json("/v1/imports?status=failed").await;
    assert_eq!(runs["total"], 1);
    let run = &runs["items"][0];
    assert!(run["error"].as_str().unwrap().starts_with("input: "), "{run}");
    assert!(run["error"].as_str().unwrap().contains("Номер документа"));
    // The run read `p.csv` by its absolute path; the public sees the file's name only.
    assert_eq!(run["scope"], "payments p.csv", "{run}");
    let local = dir.path().to_str().unwrap();
    assert!(!run.to_string().contains(local), "no local path is published: {run}");
}

/// Writes `rows` payments between two real BINs as CSV.
fn write_payments(path: &Path, rows: usize) {
    let mut text = String::from("id,payer,payee,amount,date\n");
    for i in 0..rows {
        text.push_str(&format!(
            "P{i:07},160440007161,790226301486,{}.{:02},2024-05-{:02}\n",
            1000 + i,
            i % 100,
            1 + i % 28
        ));
    }
    std::fs::write(path, text).unwrap();
}

const PLAIN_MAPPING: &str =
    "[columns]\nid = \"id\"\npayer_bin = \"payer\"\npayee_bin = \"payee\"\namount = \"amount\"\npaid_at = \"date\"\n";

#[tokio::test]
async fn an_import_killed_mid_run_resumes_without_losing_or_duplicating_a_row() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    const ROWS: usize = 60_000;
    write_payments(&dir.path().join("payments.csv"), ROWS);
    std::fs::write(dir.path().join("mapping.toml"), PLAIN_MAPPING).unwrap();
    let args = ["--batch-size", "500", "csv", "--kind", "payments", "--mapping", "mapping.toml", "payments.csv"];

    let mut child = Command::new(BINARY)
        .arg("import")
        .args(args)
        .env("DATABASE_URL", app.database_url())
        .current_dir(dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Kill it (SIGKILL: no cleanup) once some batches have committed, well before the end.
    let mut committed = 0;
    for _ in 0..600 {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let runs = app.get_json("/v1/imports?source=csv-payments").await;
        committed = runs["items"][0]["counts"]["read"].as_i64().unwrap_or(0);
        if committed >= 2_000 {
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(committed > 0 && (committed as usize) < ROWS, "killed after {committed} rows");
    let run = &app.get_json("/v1/imports?source=csv-payments").await["items"][0];
    assert_eq!(run["status"], "running", "a killed run stays unfinished");
    let stored_at_kill = app.get_json("/v1/payments?limit=1").await["total"].as_i64().unwrap();
    assert_eq!(stored_at_kill, run["counts"]["inserted"].as_i64().unwrap(), "the checkpoint commits with its batch");

    let out = stdout(&import(&app, dir.path(), &args));
    assert!(out.contains("resumed"), "{out}");
    assert!(out.contains(&format!("fetched {ROWS}, inserted {ROWS}, updated 0, unchanged 0")), "{out}");
    let runs = app.get_json("/v1/imports?source=csv-payments").await;
    assert_eq!(runs["total"], 1, "the resumed run is the same run");
    assert_eq!(app.get_json("/v1/payments?limit=1").await["total"], ROWS as i64);
}

/// Makes the database refuse to store the payment `upstream_id`, as a constraint would.
async fn refuse_payment(app: &TestApp, upstream_id: &str) {
    let statements = match app.db.get_database_backend() {
        DbBackend::Postgres => vec![
            format!(
                "CREATE FUNCTION refuse_payment() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
                 IF NEW.upstream_id = '{upstream_id}' THEN RAISE EXCEPTION 'payment {upstream_id} refused'; END IF; \
                 RETURN NEW; END $$"
            ),
            "CREATE TRIGGER refuse_payment BEFORE INSERT ON payments FOR EACH ROW EXECUTE FUNCTION refuse_payment()"
                .to_owned(),
        ],
        _ => vec![format!(
            "CREATE TRIGGER refuse_payment BEFORE INSERT ON payments WHEN NEW.upstream_id = '{upstream_id}' \
             BEGIN SELECT RAISE(ABORT, 'payment {upstream_id} refused'); END"
        )],
    };
    for statement in statements {
        app.db.execute_unprepared(&statement).await.unwrap();
    }
}

#[tokio::test]
async fn a_batch_the_database_refuses_fails_the_run_and_a_rerun_resumes_after_the_batches_before_it() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    const ROWS: usize = 5_000;
    write_payments(&dir.path().join("payments.csv"), ROWS);
    std::fs::write(dir.path().join("mapping.toml"), PLAIN_MAPPING).unwrap();
    let args = ["--batch-size", "500", "csv", "--kind", "payments", "--mapping", "mapping.toml", "payments.csv"];
    // Row 2,701 is in the sixth batch of 500; the source reads on past it while the writer
    // works, so this checks that the writer's failure, not the source, ends the run.
    refuse_payment(&app, "P0002700").await;

    let failed = import(&app, dir.path(), &args);
    assert!(!failed.status.success(), "the run fails");
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert!(stderr.contains("payment P0002700 refused"), "{stderr}");
    let run = &app.get_json("/v1/imports?source=csv-payments").await["items"][0];
    assert_eq!(run["status"], "failed");
    let error = run["error"].as_str().unwrap();
    assert!(error.starts_with("database: "), "a stable reason: {error}");
    assert!(!error.contains("P0002700"), "the database's own words stay in the log: {error}");
    assert_eq!(run["counts"]["inserted"], 2_500, "the five batches before the refused one stay stored");
    assert_eq!(app.get_json("/v1/payments?limit=1").await["total"], 2_500);

    let drop = match app.db.get_database_backend() {
        DbBackend::Postgres => "DROP TRIGGER refuse_payment ON payments",
        _ => "DROP TRIGGER refuse_payment",
    };
    app.db.execute_unprepared(drop).await.unwrap();
    let out = stdout(&import(&app, dir.path(), &args));
    assert!(out.contains("resumed"), "{out}");
    assert!(out.contains(&format!("fetched {ROWS}, inserted {ROWS}, updated 0, unchanged 0")), "{out}");
    assert_eq!(app.get_json("/v1/imports?source=csv-payments").await["total"], 1, "the same run, resumed");
    assert_eq!(app.get_json("/v1/payments?limit=1").await["total"], ROWS as i64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_runs_scheduled_imports_in_the_background_while_reads_go_on() {
    let dir = tempfile::tempdir().unwrap();
    write_payments(&dir.path().join("payments.csv"), 20_000);
    std::fs::write(dir.path().join("mapping.toml"), PLAIN_MAPPING).unwrap();
    let spec = importers::runs::SourceSpec::Csv {
        kind: "payments".into(),
        mapping: dir.path().join("mapping.toml"),
        paths: vec![dir.path().join("payments.csv")],
    };
    let app = crate::helpers::spawn_app_with(|settings| {
        settings.imports = vec![api::config::ScheduledImport { every_minutes: 60, spec }];
    })
    .await;
    let mut reads_during_import = 0;
    let mut finished = None;
    for _ in 0..600 {
        let response = app.get("/v1/payments?limit=5").await;
        assert_eq!(response.status(), 200, "reads are served while the import writes");
        reads_during_import += 1;
        let runs = app.get_json("/v1/imports?source=csv-payments").await;
        if runs["items"][0]["status"] == "succeeded" {
            finished = Some(runs["items"][0].clone());
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let run = finished.expect("the scheduled import finished");
    assert_eq!(run["counts"]["inserted"], 20_000);
    assert!(reads_during_import > 1, "the server answered while the import ran");
    assert_eq!(app.get_json("/v1/payments?limit=1").await["total"], 20_000);
}
