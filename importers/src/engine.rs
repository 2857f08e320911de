//! The engine every source shares: a `Sink` that buffers parsed records, writes them in
//! batches through the domain store with the source's checkpoint, shows progress, and at the
//! end writes the run's reject report.
//!
//! The batches are written by a task of their own, one at a time and in order, while the source
//! goes on reading and parsing the next one: on two cores, parsing a CSV file and writing into
//! the database then overlap instead of taking turns. At most one batch waits between the two,
//! so memory stays at a few batches whatever the input size.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use serde::Serialize;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use domain::DomainError;
use domain::ingest::{Batch, Counts, Parsed, PreparedBatch, RunStart, Store};

/// Fatal import errors: the run stops, is marked failed, and the next run resumes it.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    Domain(#[from] DomainError),
    #[error(transparent)]
    Fetch(#[from] crate::http::FetchError),
    #[error("{0}")]
    Input(String),
    #[error("writing the reject report {path}: {source}")]
    Report { path: String, source: std::io::Error },
}

impl ImportError {
    /// The reason a failed run shows the public (`/v1/imports`): a stable code and plain words,
    /// without upstream answers, database messages or local paths. The whole error, with its
    /// causes, goes to the log.
    pub fn public_reason(&self) -> String {
        use crate::http::FetchError;
        match self {
            ImportError::Domain(_) => {
                "database: the database refused a write; the details are in the server log".to_owned()
            }
            ImportError::Fetch(FetchError::Status { url, status, .. }) => {
                format!("upstream_status: {url} answered HTTP {}", status.as_u16())
            }
            ImportError::Fetch(FetchError::Transport { url, attempts, .. }) => {
                format!("upstream_unreachable: {url} could not be read ({attempts} attempts)")
            }
            ImportError::Fetch(FetchError::TooLarge { url, limit }) => {
                format!("upstream_too_large: {url} sent a response larger than the {limit} bytes allowed")
            }
            ImportError::Fetch(FetchError::CaBundle { .. } | FetchError::Client(_)) => {
                "client: the HTTP client could not be set up (CA bundle or TLS settings)".to_owned()
            }
            ImportError::Input(reason) => format!("input: {}", domain::imports::without_local_paths(reason)),
            ImportError::Report { .. } => "report: the reject report could not be written".to_owned(),
        }
    }
}

/// How a run reports itself.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Whether to write the JSON Lines reject report (the rejects are in the database and at
    /// `/v1/imports/{id}/rejects` either way).
    pub write_report: bool,
    /// Where the report goes; default `import-<run id>-rejects.jsonl`.
    pub report: Option<PathBuf>,
    /// Draw progress bars on standard error (when it is a terminal).
    pub progress: bool,
    /// Records per transaction.
    pub batch_size: usize,
    /// The largest OCDS release (or record, or document read whole) taken from an input, in
    /// bytes of decompressed input; a larger one is a reject, never held.
    pub max_release_bytes: u64,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            write_report: true,
            report: None,
            progress: false,
            batch_size: 10_000,
            max_release_bytes: crate::sources::ocds::DEFAULT_MAX_RELEASE_BYTES,
        }
    }
}

/// The outcome of a run, as `scrutiny import` prints it.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub import_run_id: i64,
    pub source: String,
    pub resumed: bool,
    /// Records fetched from upstream or read from files.
    pub fetched: i64,
    pub inserted: i64,
    pub updated: i64,
    pub unchanged: i64,
    pub deleted: i64,
    pub rejected: i64,
    pub repaired: i64,
    /// The reject report (every rejected and repaired record), when there is anything in it.
    pub report: Option<String>,
    /// The upstream cursor reached, for the next incremental run.
    pub cursor: Option<String>,
}

impl Summary {
    fn new(
        run_id: i64,
        source: &str,
        resumed: bool,
        counts: Counts,
        report: Option<String>,
        cursor: Option<String>,
    ) -> Self {
        Summary {
            import_run_id: run_id,
            source: source.to_owned(),
            resumed,
            fetched: counts.read,
            inserted: counts.inserted,
            updated: counts.updated,
            unchanged: counts.unchanged,
            deleted: counts.deleted,
            rejected: counts.rejected,
            repaired: counts.repaired,
            report,
            cursor,
        }
    }
}

/// Where a source puts what it reads.
pub struct Sink {
    db: DatabaseConnection,
    writer: Writer,
    source: String,
    start: RunStart,
    options: RunOptions,
    buffer: Vec<Parsed>,
    buffered_records: usize,
    fetched_at: DateTime<Utc>,
    bar: ProgressBar,
}

impl Sink {
    /// Starts (or resumes) the run of `source` over `scope`.
    pub async fn start(
        db: &DatabaseConnection,
        source: &str,
        scope: &str,
        options: RunOptions,
    ) -> Result<Sink, ImportError> {
        let (store, start) = Store::start(db, source, scope).await?;
        let bar = if options.progress {
            ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr())
        } else {
            ProgressBar::hidden()
        };
        bar.set_style(
            ProgressStyle::with_template("{spinner} {prefix} {human_pos} records, {per_sec}, {elapsed} {msg}")
                .expect("a valid template"),
        );
        bar.set_prefix(source.to_owned());
        bar.enable_steady_tick(Duration::from_millis(200));
        if start.resumed {
            tracing::info!(run = start.run_id, checkpoint = ?start.checkpoint, "resuming an unfinished run");
        }
        Ok(Sink {
            db: db.clone(),
            writer: Writer::spawn(store, bar.clone()),
            source: source.to_owned(),
            start,
            options,
            buffer: Vec::new(),
            buffered_records: 0,
            fetched_at: Utc::now(),
            bar,
        })
    }

    /// Where the unfinished run had got to, when this one resumes it.
    pub fn resume_from(&self) -> Option<&str> {
        self.start.checkpoint.as_deref()
    }

    /// The cursor the last successful run of this scope reached (for incremental runs).
    pub fn previous_cursor(&self) -> Option<&str> {
        self.start.previous_cursor.as_deref()
    }

    pub fn run_id(&self) -> i64 {
        self.start.run_id
    }

    /// The total to expect, in records or (for files) bytes, once a source knows it: the bar
    /// then shows an ETA.
    pub fn set_total(&self, total: u64, unit: &str) {
        self.bar.set_length(total);
        self.bar.set_style(
            ProgressStyle::with_template(&format!(
                "{{spinner}} {{prefix}} [{{bar:30}}] {{human_pos}}/{{human_len}} {unit}, {{per_sec}}, ETA {{eta}} {{msg}}"
            ))
            .expect("a valid template"),
        );
    }

    /// Moves the bar to a position measured in the unit of `set_total`.
    pub fn set_position(&self, position: u64) {
        self.bar.set_position(position);
    }

    /// When the records being pushed were fetched.
    pub fn fetched_now(&mut self) {
        self.fetched_at = Utc::now();
    }

    /// Whether enough is buffered that the source should `commit` at its next consistent point.
    /// The options the run was started with.
    pub fn options(&self) -> &RunOptions {
        &self.options
    }

    pub fn full(&self) -> bool {
        self.buffered_records >= self.options.batch_size
    }

    pub fn push(&mut self, parsed: Parsed) {
        self.buffered_records += match &parsed {
            Parsed::Records { records, .. } => records.len().max(1),
            Parsed::Rejected(_) => 1,
        };
        self.buffer.push(parsed);
    }

    /// Hands what is buffered, with the checkpoint that follows it, to the writer, which
    /// writes both in one transaction once the batches before it are written. Fails when an
    /// earlier batch failed; `finish` then reports that batch's error as the run's.
    pub async fn commit(&mut self, checkpoint: Option<String>) -> Result<(), ImportError> {
        let parsed = std::mem::take(&mut self.buffer);
        self.buffered_records = 0;
        self.writer.send(Batch { fetched_at: self.fetched_at, parsed, checkpoint }.prepare()).await
    }

    /// Ends the run: commits what is left, waits for the writer, records success (with the
    /// cursor reached) or the failure, and writes the reject report.
    pub async fn finish(mut self, outcome: Result<Option<String>, ImportError>) -> Result<Summary, ImportError> {
        let outcome = match outcome {
            Ok(cursor) => self.commit(None).await.map(|()| cursor),
            Err(error) => Err(error),
        };
        let (store, written) = self.writer.close().await?;
        // A failed write is the cause; a source error after it is only its consequence.
        let outcome = written.and(outcome);
        self.bar.finish_and_clear();
        let run_id = self.start.run_id;
        let resumed = self.start.resumed;
        match outcome {
            Ok(cursor) => {
                let counts = store.finish(Ok(cursor.clone())).await?;
                let report = if self.options.write_report {
                    write_report(&self.db, run_id, &self.source, self.options.report.as_deref()).await?
                } else {
                    None
                };
                Ok(Summary::new(run_id, &self.source, resumed, counts, report, cursor))
            }
            Err(error) => {
                tracing::error!(run_id, source = %self.source, error = %with_causes(&error), "import run failed");
                store.finish(Err(error.public_reason())).await?;
                Err(error)
            }
        }
    }
}

/// An error and its causes on one line, as the run records it: "database error" alone would
/// not tell the operator which row or constraint the database refused.
fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(next) = cause {
        let line = next.to_string();
        if !text.ends_with(&line) {
            text.push_str(": ");
            text.push_str(&line);
        }
        cause = next.source();
    }
    text
}

/// The task that writes batches through the store, in the order they were sent.
struct Writer {
    batches: Option<mpsc::Sender<PreparedBatch>>,
    task: JoinHandle<(Store, Result<(), ImportError>)>,
}

impl Writer {
    fn spawn(mut store: Store, bar: ProgressBar) -> Writer {
        // One batch may wait while another is written: enough to keep both sides busy.
        let (batches, mut incoming) = mpsc::channel::<PreparedBatch>(1);
        let task = tokio::spawn(async move {
            while let Some(batch) = incoming.recv().await {
                let delta = match store.write(batch).await {
                    Ok(delta) => delta,
                    Err(error) => return (store, Err(ImportError::from(error))),
                };
                if bar.length().is_none() {
                    bar.inc(delta.read as u64);
                }
                let counts = store.counts();
                bar.set_message(format!(
                    "(+{} ~{} ={} -{} rejected {})",
                    counts.inserted, counts.updated, counts.unchanged, counts.deleted, counts.rejected
                ));
            }
            (store, Ok(()))
        });
        Writer { batches: Some(batches), task }
    }

    async fn send(&mut self, batch: PreparedBatch) -> Result<(), ImportError> {
        let sent = match &self.batches {
            Some(batches) => batches.send(batch).await.is_ok(),
            None => false,
        };
        if sent {
            return Ok(());
        }
        // The writer stopped at a failed batch; its error is the one to report, and `close`
        // reports it again, so the source stops at once either way.
        self.batches = None;
        Err(ImportError::Input("the writer stopped at an earlier batch; see the run's error".to_owned()))
    }

    /// Waits for every sent batch to be written; gives the store back with the first error.
    async fn close(mut self) -> Result<(Store, Result<(), ImportError>), ImportError> {
        self.batches = None;
        self.task.await.map_err(|error| ImportError::Input(format!("the batch writer stopped abnormally: {error}")))
    }
}

#[derive(Serialize)]
struct ReportLine<'a> {
    source: &'a str,
    import_run_id: i64,
    /// `rejected` or `repaired`.
    outcome: String,
    input: String,
    position: Option<i64>,
    record_id: Option<String>,
    reason: String,
}

/// Writes every reject of the run as JSON Lines; `None` when there is none.
async fn write_report(
    db: &DatabaseConnection,
    run_id: i64,
    source: &str,
    path: Option<&Path>,
) -> Result<Option<String>, ImportError> {
    let backend = db.get_database_backend();
    let placeholder = if backend == sea_orm::DbBackend::Postgres { "$1" } else { "?" };
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            format!(
                "SELECT outcome, input, position, record_id, reason FROM import_rejects \
                 WHERE import_run_id = {placeholder} ORDER BY id"
            ),
            [run_id.into()],
        ))
        .await
        .map_err(DomainError::from)?;
    if rows.is_empty() {
        return Ok(None);
    }
    let path = path.map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from(format!("import-{run_id}-rejects.jsonl")));
    let shown = path.display().to_string();
    let io = |source| ImportError::Report { path: shown.clone(), source };
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).map_err(io)?);
    for row in rows {
        let line = ReportLine {
            source,
            import_run_id: run_id,
            outcome: row.try_get("", "outcome").map_err(DomainError::from)?,
            input: row.try_get("", "input").map_err(DomainError::from)?,
            position: row.try_get("", "position").map_err(DomainError::from)?,
            record_id: row.try_get("", "record_id").map_err(DomainError::from)?,
            reason: row.try_get("", "reason").map_err(DomainError::from)?,
        };
        serde_json::to_writer(&mut file, &line).map_err(|error| io(std::io::Error::other(error)))?;
        file.write_all(b"\n").map_err(io)?;
    }
    file.flush().map_err(io)?;
    Ok(Some(shown))
}
