//! Background imports: `serve` runs each configured source periodically. Each source has its
//! own task, so a slow upstream delays only itself. Writes go through the same pool as reads
//! in short batch transactions, and SQLite runs in WAL mode, so reads go on while an import
//! writes.

use std::sync::Arc;
use std::time::Duration;

use indicators::database::DatabaseSettings;

use sea_orm::DatabaseConnection;
use tokio::task::JoinHandle;

use crate::config::ScheduledImport;
use importers::RunOptions;
use importers::http::HttpOptions;

/// Starts one task per scheduled import; the first run starts at once. Each talks to its
/// upstream with `http`, the settings `scrutiny import` uses (CA bundle, timeout, body limit),
/// and takes OCDS releases up to `max_release_bytes`.
/// After each import the red flags are recomputed, one refresh at a time.
pub fn spawn(
    db: DatabaseConnection,
    imports: &[ScheduledImport],
    http: HttpOptions,
    max_release_bytes: u64,
    indicators: Arc<DatabaseSettings>,
) -> Vec<JoinHandle<()>> {
    let refreshing = Arc::new(tokio::sync::Mutex::new(()));
    imports
        .iter()
        .cloned()
        .map(|scheduled| {
            let db = db.clone();
            let indicators = indicators.clone();
            let refreshing = refreshing.clone();
            let http = http.clone();
            tokio::spawn(async move {
                let every = Duration::from_secs(scheduled.every_minutes.max(1) * 60);
                let source = scheduled.spec.name();
                loop {
                    tracing::info!(source, "scheduled import starting");
                    // Rejects stay in the database (`/v1/imports/{id}/rejects`); no report file.
                    let options = RunOptions { write_report: false, max_release_bytes, ..RunOptions::default() };
                    match importers::runs::run(&db, &scheduled.spec, &http, options).await {
                        Ok(summary) => tracing::info!(
                            source,
                            import_run = summary.import_run_id,
                            fetched = summary.fetched,
                            inserted = summary.inserted,
                            updated = summary.updated,
                            unchanged = summary.unchanged,
                            deleted = summary.deleted,
                            rejected = summary.rejected,
                            "scheduled import finished"
                        ),
                        Err(error) => {
                            tracing::error!(source, error = %error, "scheduled import failed; the next run resumes it")
                        }
                    }
                    {
                        let _one_at_a_time = refreshing.lock().await;
                        match indicators::database::refresh_if_changed(&db, &indicators, chrono::Utc::now()).await {
                            Ok(None) => {}
                            Ok(Some(report)) => tracing::info!(
                                source,
                                kind = ?report.kind,
                                raised = report.stored.raised,
                                refreshed = report.stored.refreshed,
                                cleared = report.stored.cleared,
                                "red flags recomputed"
                            ),
                            Err(error) => tracing::error!(source, error = %error, "recomputing red flags failed"),
                        }
                    }
                    tokio::time::sleep(every).await;
                }
            })
        })
        .collect()
}

/// The deadline task: at start, recounts open due dates on the calendar in effect; then every
/// `every`, records the due dates that passed.
pub fn spawn_deadlines(findings: domain::findings::Findings, every: Duration) -> JoinHandle<()> {
    tokio::spawn(async move {
        match findings.recompute_deadlines().await {
            Ok(0) => {}
            Ok(changed) => tracing::info!(changed, "due dates recounted on the calendar in effect"),
            Err(error) => tracing::error!(error = %error, "recounting due dates failed"),
        }
        loop {
            match findings.record_passed_deadlines().await {
                Ok(0) => {}
                Ok(recorded) => tracing::info!(recorded, "passed due dates recorded"),
                Err(error) => tracing::error!(error = %error, "recording passed due dates failed; next sweep retries"),
            }
            tokio::time::sleep(every).await;
        }
    })
}
