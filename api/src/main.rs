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
        Command::Openapi => unreachable!("handled before configuration"),
    }
    Ok(())
}
