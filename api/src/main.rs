//! The `scrutiny` command line: serve the API, migrate, load demo data, print the spec.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

use api::config::Settings;
use api::{Application, telemetry};
use domain::db::{self, PoolOptions};

#[derive(Parser)]
#[command(name = "scrutiny", version, about = "Public scrutiny of state spending: the API server and its tools")]
struct Cli {
    /// Configuration file (default: scrutiny.toml if present, or $SCRUTINY_CONFIG).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API.
    Serve {
        /// Address to listen on (overrides the configuration's `bind`).
        #[arg(long)]
        bind: Option<SocketAddr>,
    },
    /// Apply pending database migrations.
    Migrate,
    /// Load the demo data set; running it again changes nothing.
    Seed,
    /// Print the OpenAPI spec as YAML; touches no database.
    Openapi,
    /// Import records from an upstream source. Exits 0 when the run completes (rejected
    /// records included, see the reject report); non-zero on a fatal error, which the next run
    /// of the same source and scope resumes from its last checkpoint.
    Import(ImportArgs),
}

#[derive(clap::Args)]
struct ImportArgs {
    /// Where the JSON Lines reject report goes (default: import-<run id>-rejects.jsonl).
    #[arg(long, global = true)]
    report: Option<PathBuf>,
    /// Records written per transaction.
    #[arg(long, global = true, default_value_t = 10_000)]
    batch_size: usize,
    /// No progress bars (they are drawn only on a terminal anyway).
    #[arg(long, global = true)]
    quiet: bool,
    /// Extra trusted CA certificates (PEM), for upstreams with their own certificate.
    #[arg(long, global = true, env = "SCRUTINY_CA_BUNDLE")]
    ca_bundle: Option<PathBuf>,
    /// Requests in flight at once to the upstream.
    #[arg(long, global = true, default_value_t = 4)]
    concurrency: usize,
    /// Retries of a failed request (429, 5xx, timeouts) before the run fails.
    #[arg(long, global = true, default_value_t = 5)]
    max_retries: u32,
    /// Seconds before a request times out.
    #[arg(long, global = true, default_value_t = 60)]
    timeout: u64,
    #[command(subcommand)]
    source: ImportSource,
}

#[derive(Subcommand)]
enum ImportSource {
    /// goszakup.gov.kz OWS v3 REST: full read, or the journal since the last successful run.
    Goszakup {
        #[arg(long, default_value = "https://ows.goszakup.gov.kz")]
        base_url: String,
        /// The OWS token (also from SCRUTINY_GOSZAKUP_TOKEN); never logged.
        #[arg(long, env = "SCRUTINY_GOSZAKUP_TOKEN", hide_env_values = true)]
        token: Option<String>,
        /// Collections to read, comma-separated (default: all), e.g. contract,trd-buy.
        #[arg(long, value_delimiter = ',')]
        only: Vec<String>,
    },
    /// zakup.sk.kz, Samruk-Kazyna's procurement: tenders, their lots and contract cards.
    Samruk {
        #[arg(long, default_value = "https://zakup.sk.kz")]
        base_url: String,
    },
    /// A data.egov.kz dataset (registers of state bodies and quasi-public organisations).
    Egov {
        #[arg(long, default_value = "https://data.egov.kz")]
        base_url: String,
        /// The portal's API key (also from SCRUTINY_EGOV_API_KEY); never logged.
        #[arg(long, env = "SCRUTINY_EGOV_API_KEY", hide_env_values = true)]
        api_key: String,
        /// The dataset, optionally with its version: `name` or `name/v2`.
        #[arg(long)]
        dataset: String,
    },
    /// OCDS release packages, record packages, releases or JSON Lines (gzip or not).
    Ocds {
        /// Files or URLs.
        #[arg(required = true)]
        inputs: Vec<String>,
    },
    /// CSV files of payments, decisions or budget lines, through a column mapping.
    Csv {
        #[arg(long, value_parser = ["payments", "decisions", "budget"])]
        kind: String,
        /// The TOML file saying which column is which.
        #[arg(long)]
        mapping: PathBuf,
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Openapi = cli.command {
        print!("{}", api::openapi_yaml());
        return ExitCode::SUCCESS;
    }
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(error = format!("{error:#}"), "failed");
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let mut settings = Settings::load(cli.config)?;
    telemetry::init(settings.log_format);
    let pool = PoolOptions { max_connections: settings.database_max_connections, ..PoolOptions::default() };
    let connect = || async {
        db::connect(settings.database_url.expose(), &pool)
            .await
            .with_context(|| format!("connecting to {}", settings.database_url))
    };
    match cli.command {
        Command::Serve { bind } => {
            if let Some(bind) = bind {
                settings.bind = bind;
            }
            let db = connect().await?;
            let app =
                Application::build(settings.clone(), db).await.with_context(|| format!("binding {}", settings.bind))?;
            tracing::info!(address = %app.address(), database = %settings.database_url, "serving; docs at /docs");
            app.run_until_stopped().await?;
        }
        Command::Migrate => {
            let db = connect().await?;
            db::migrate(&db).await.context("migrating")?;
            tracing::info!(database = %settings.database_url, "migrations applied");
        }
        Command::Seed => {
            let db = connect().await?;
            let report = domain::demo::seed(&db).await.context("loading demo data")?;
            if report.loaded {
                tracing::info!(rows = report.inserted, import_run = report.import_run_id, "demo data loaded");
            } else {
                tracing::info!(import_run = report.import_run_id, "demo data already loaded; nothing changed");
            }
        }
        Command::Import(args) => {
            // An import is one writer whose batches follow each other. One connection keeps
            // SQLite's page cache, grown for each batch, on one thread: with two, each
            // connection's thread kept its own freed cache (a 1M-row SQLite import peaked at
            // 241 MiB with two connections, 174 MiB with one).
            let db = db::connect(
                settings.database_url.expose(),
                &PoolOptions { max_connections: 1, ..PoolOptions::default() },
            )
            .await
            .with_context(|| format!("connecting to {}", settings.database_url))?;
            db::migrate(&db).await.context("migrating")?;
            let summary = import(&db, args).await?;
            print_summary(&summary);
        }
        Command::Openapi => unreachable!("handled before configuration"),
    }
    Ok(())
}

async fn import(db: &sea_orm::DatabaseConnection, args: ImportArgs) -> anyhow::Result<importers::Summary> {
    use importers::runs::{Secret, SourceSpec};
    use std::io::IsTerminal;

    let options = importers::RunOptions {
        write_report: true,
        report: args.report,
        progress: !args.quiet && std::io::stderr().is_terminal(),
        batch_size: args.batch_size.max(1),
    };
    let http = importers::http::HttpOptions {
        ca_bundle: args.ca_bundle,
        timeout: std::time::Duration::from_secs(args.timeout.max(1)),
        max_retries: args.max_retries,
        concurrency: args.concurrency.max(1),
        ..Default::default()
    };
    let spec = match args.source {
        ImportSource::Goszakup { base_url, token, only } => {
            SourceSpec::Goszakup { base_url, token: token.map(Secret), only }
        }
        ImportSource::Samruk { base_url } => SourceSpec::Samruk { base_url },
        ImportSource::Egov { base_url, api_key, dataset } => {
            SourceSpec::Egov { base_url, api_key: Secret(api_key), dataset }
        }
        ImportSource::Ocds { inputs } => SourceSpec::Ocds { inputs },
        ImportSource::Csv { kind, mapping, paths } => SourceSpec::Csv { kind, mapping, paths },
    };
    Ok(importers::runs::run(db, &spec, &http, options).await?)
}

fn print_summary(summary: &importers::Summary) {
    println!(
        "import run {} ({}{}): fetched {}, inserted {}, updated {}, unchanged {}, deleted {}, rejected {} (repaired {})",
        summary.import_run_id,
        summary.source,
        if summary.resumed { ", resumed" } else { "" },
        summary.fetched,
        summary.inserted,
        summary.updated,
        summary.unchanged,
        summary.deleted,
        summary.rejected,
        summary.repaired,
    );
    if let Some(report) = &summary.report {
        println!("reject report: {report}");
    }
    if let Some(cursor) = &summary.cursor {
        println!("upstream cursor reached: {cursor}");
    }
}
