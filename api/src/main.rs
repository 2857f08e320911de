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
    /// Manage accounts, for bootstrapping a fresh install (the first admin, say).
    #[command(subcommand)]
    Users(UsersCommand),
    /// Signing keys for access tokens and the audit log.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Recompute the red flags over the database, every process and buyer (`seed`, every
    /// `import`, and `serve` after each scheduled import recompute only what changed).
    RedFlags(RedFlagsArgs),
    /// Compute OCP cardinal's red-flag indicators over OCDS compiled releases, one per line
    /// (`-` reads standard input; gzip is read as such), or over release or record packages,
    /// compiled first. Prints cardinal's JSON result: `{"OCID": {ocid: {"R003": 1.0}},
    /// "Buyer": …, "ProcuringEntity": …, "Tenderer": …, "Meta": …}`. A line that is not JSON
    /// is reported on standard error with its line and column, and the other lines still count.
    /// Touches no database.
    Indicators(IndicatorsArgs),
}

#[derive(clap::Args)]
struct RedFlagsArgs {
    /// Recompute only what changed since the last refresh, as an import does: the processes
    /// and buyers the change feed names (everything when the settings changed or a record was
    /// deleted; nothing when nothing changed).
    #[arg(long)]
    if_changed: bool,
}

#[derive(clap::Args)]
struct IndicatorsArgs {
    /// The file, or `-` for standard input.
    file: PathBuf,
    /// Settings in cardinal's INI format; an indicator runs when its section is present.
    /// Without this file, every indicator runs with its defaults.
    #[arg(long, short)]
    settings: Option<PathBuf>,
    /// Leave out the `Meta` key (quartiles and fences).
    #[arg(long)]
    no_meta: bool,
    /// Lines longer than this many bytes are reported and skipped.
    #[arg(long, default_value_t = 64 << 20)]
    max_line_bytes: usize,
}

#[derive(Subcommand)]
enum UsersCommand {
    /// Create an account with roles.
    Create {
        #[arg(long)]
        email: String,
        /// At least 10 characters, not a common one (also from SCRUTINY_USER_PASSWORD, to keep
        /// it out of the shell history).
        #[arg(long, env = "SCRUTINY_USER_PASSWORD", hide_env_values = true)]
        password: String,
        /// Roles to grant (repeatable): citizen, ngo, council_member, body_officer, moderator, admin.
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
        /// The council, for council_member.
        #[arg(long)]
        council: Option<i64>,
        /// The organization's BIN, for body_officer.
        #[arg(long)]
        organization: Option<String>,
        /// The display name (default: the part of the email before the @).
        #[arg(long)]
        name: Option<String>,
        /// The non-profit's name, for ngo.
        #[arg(long)]
        ngo_name: Option<String>,
    },
    /// Grant a role to an existing account.
    Grant {
        #[arg(long)]
        email: String,
        #[arg(long)]
        role: String,
        #[arg(long)]
        council: Option<i64>,
        #[arg(long)]
        organization: Option<String>,
        #[arg(long)]
        ngo_name: Option<String>,
    },
    /// Revoke a role (for council_member, the seat on --council, or every seat).
    Revoke {
        #[arg(long)]
        email: String,
        #[arg(long)]
        role: String,
        #[arg(long)]
        council: Option<i64>,
    },
    /// List every account with its roles.
    List,
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Write a new Ed25519 signing key (PKCS#8 PEM, mode 0600) for SCRUTINY_JWT_PRIVATE_KEY or
    /// SCRUTINY_AUDIT_SIGNING_KEY. Refuses to overwrite a file.
    Generate { path: PathBuf },
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
    /// Extra trusted CA certificates (PEM), for upstreams with their own certificate
    /// (default: the `ca_bundle` setting, also SCRUTINY_CA_BUNDLE).
    #[arg(long, global = true)]
    ca_bundle: Option<PathBuf>,
    /// Requests in flight at once to the upstream.
    #[arg(long, global = true, default_value_t = 4)]
    concurrency: usize,
    /// Retries of a failed request (429, 5xx, timeouts) before the run fails.
    #[arg(long, global = true, default_value_t = 5)]
    max_retries: u32,
    /// Seconds before a request times out (default: the `upstream_timeout_seconds` setting, 60).
    #[arg(long, global = true)]
    timeout: Option<u64>,
    /// The largest upstream response read, in bytes (default: the `upstream_max_body_bytes`
    /// setting, 64 MiB); a larger one fails the run, which the next run resumes.
    #[arg(long, global = true)]
    max_body_bytes: Option<u64>,
    /// The largest OCDS release an input may hold, in bytes (default: the
    /// `ocds_max_release_bytes` setting, 64 MiB); a larger one is a reject naming its line.
    #[arg(long, global = true)]
    max_release_bytes: Option<u64>,
    /// Do not recompute the red flags after the import (run `scrutiny red-flags` later): for
    /// a series of imports, or to time the import alone.
    #[arg(long, global = true)]
    no_red_flags: bool,
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
    if let Command::Keys(KeysCommand::Generate { path }) = &cli.command {
        return match api::auth::keys::generate_key_file(path) {
            Ok(_) => {
                println!("wrote a new Ed25519 key to {}", path.display());
                ExitCode::SUCCESS
            }
            Err(error) => {
                eprintln!("error: {error}");
                ExitCode::FAILURE
            }
        };
    }
    if let Command::Indicators(args) = &cli.command {
        return match indicators_command(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("error: {error:#}");
                ExitCode::FAILURE
            }
        };
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

/// Recomputes the red flags with the configured settings and logs what changed. With
/// `only_if_changed`, only what changed since the last refresh, and nothing when nothing did.
async fn refresh_red_flags(
    db: &sea_orm::DatabaseConnection,
    settings: &Settings,
    only_if_changed: bool,
) -> anyhow::Result<()> {
    let indicators = api::startup::indicator_settings(settings)?;
    let now = chrono::Utc::now();
    let report = if only_if_changed {
        match indicators::database::refresh_if_changed(db, &indicators, now).await.context("computing red flags")? {
            Some(report) => report,
            None => {
                tracing::info!("red flags are up to date: no record and no setting changed");
                return Ok(());
            }
        }
    } else {
        indicators::database::refresh(db, &indicators, now).await.context("computing red flags")?
    };
    tracing::info!(
        kind = ?report.kind,
        processes = report.processes,
        raised = report.stored.raised,
        refreshed = report.stored.refreshed,
        cleared = report.stored.cleared,
        found = ?report.found,
        "red flags computed"
    );
    Ok(())
}

fn indicators_command(args: &IndicatorsArgs) -> anyhow::Result<()> {
    use std::io::Write;
    let settings = match &args.settings {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
            indicators::Settings::parse(&text).with_context(|| format!("in {}", path.display()))?
        }
        None => indicators::Settings::all(),
    };
    let engine = indicators::Engine::new(settings, false);
    let input = indicators::run::open(&args.file)?;
    let limits = indicators::run::Limits { max_line_bytes: args.max_line_bytes, ..Default::default() };
    let report = indicators::run::run(&engine, input, limits)?;
    let stderr = std::io::stderr();
    let mut stderr = stderr.lock();
    for error in &report.errors {
        writeln!(stderr, "{}: {error}", args.file.display())?;
    }
    if !report.errors.is_empty() {
        writeln!(stderr, "{} of {} lines could not be read; the others count", report.errors.len(), report.lines)?;
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    indicators::output::write(&report.outcome, !args.no_meta, &mut out)?;
    out.flush()?;
    Ok(())
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let mut settings = Settings::load(cli.config)?;
    telemetry::init(settings.log_format);
    domain::ocds::use_ocid_prefix(settings.ocid_prefix.clone())?;
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
            let keys = api::startup::Keys::load(&settings)?;
            let serving = PoolOptions {
                statement_timeout: Some(std::time::Duration::from_secs(settings.statement_timeout_seconds.max(1))),
                ..pool.clone()
            };
            let db = db::connect(settings.database_url.expose(), &serving)
                .await
                .with_context(|| format!("connecting to {}", settings.database_url))?;
            let app = Application::build_with_keys(settings.clone(), db, keys)
                .await
                .with_context(|| format!("starting on {}", settings.bind))?;
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
            refresh_red_flags(&db, &settings, true).await?;
        }
        Command::RedFlags(args) => {
            let db = connect().await?;
            db::migrate(&db).await.context("migrating")?;
            refresh_red_flags(&db, &settings, args.if_changed).await?;
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
            let recompute = !args.no_red_flags;
            let summary = import(&db, &settings, args).await?;
            print_summary(&summary);
            if recompute {
                refresh_red_flags(&db, &settings, true).await?;
            }
        }
        Command::Users(command) => {
            let db = connect().await?;
            db::migrate(&db).await.context("migrating")?;
            users(&db, &settings, command).await?;
        }
        Command::Openapi | Command::Keys(_) | Command::Indicators(_) => unreachable!("handled before configuration"),
    }
    Ok(())
}

async fn import(
    db: &sea_orm::DatabaseConnection,
    settings: &Settings,
    args: ImportArgs,
) -> anyhow::Result<importers::Summary> {
    use importers::runs::{Secret, SourceSpec};
    use std::io::IsTerminal;

    let options = importers::RunOptions {
        write_report: true,
        report: args.report,
        progress: !args.quiet && std::io::stderr().is_terminal(),
        batch_size: args.batch_size.max(1),
        max_release_bytes: args.max_release_bytes.unwrap_or(settings.ocds_max_release_bytes).max(1),
    };
    let defaults = settings.upstream();
    let http = importers::http::HttpOptions {
        ca_bundle: args.ca_bundle.or(defaults.ca_bundle),
        timeout: args.timeout.map_or(defaults.timeout, |seconds| std::time::Duration::from_secs(seconds.max(1))),
        max_retries: args.max_retries,
        concurrency: args.concurrency.max(1),
        max_body_bytes: args.max_body_bytes.map_or(defaults.max_body_bytes, |bytes| bytes.max(1)),
        ..defaults
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

async fn users(db: &sea_orm::DatabaseConnection, settings: &Settings, command: UsersCommand) -> anyhow::Result<()> {
    use domain::accounts::{self, Actor, Email, Grant, Password, PasswordHasher, Registration, Role};

    let operator = Actor::System("cli");
    let role = |text: &str| text.parse::<Role>().map_err(anyhow::Error::msg);
    let organization = |bin: Option<String>| async move {
        match bin {
            Some(bin) => accounts::organization_by_bin(db, &bin).await.map(Some),
            None => Ok(None),
        }
    };
    match command {
        UsersCommand::Create { email, password, roles, council, organization: bin, name, ngo_name } => {
            let email = Email::new(&email)?;
            let display_name = name.unwrap_or_else(|| email.as_str().split('@').next().unwrap_or_default().to_owned());
            let registration = Registration {
                display_name: accounts::name("display_name", &display_name)?,
                password: Password::new(&password)?,
                email,
            };
            let organization_id = organization(bin).await?;
            let grants = roles
                .iter()
                .map(|text| {
                    Ok(Grant {
                        role: Some(role(text)?),
                        council_id: council,
                        position: None,
                        organization_id,
                        ngo_name: ngo_name.clone(),
                    })
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let hasher = PasswordHasher::new(settings.password_hash_concurrency);
            let view = accounts::create(db, &hasher, &operator, registration, grants).await?;
            println!("created account {} ({})", view.id, roles_of(&view));
        }
        UsersCommand::Grant { email, role: text, council, organization: bin, ngo_name } => {
            let account_id = accounts::id_by_email(db, &email).await?;
            let grant = Grant {
                role: Some(role(&text)?),
                council_id: council,
                position: None,
                organization_id: organization(bin).await?,
                ngo_name,
            };
            let view = accounts::grant(db, &operator, account_id, grant, None).await?;
            println!("account {}: {}", view.id, roles_of(&view));
        }
        UsersCommand::Revoke { email, role: text, council } => {
            let account_id = accounts::id_by_email(db, &email).await?;
            let view = accounts::revoke(db, &operator, account_id, role(&text)?, council).await?;
            println!("account {}: {}", view.id, roles_of(&view));
        }
        UsersCommand::List => {
            let mut cursor: Option<String> = None;
            println!("id\temail\tdisplay_name\troles\tcouncils\torganization_id\tdisabled");
            loop {
                let limit = domain::pagination::Limit::new(Some(100)).map_err(anyhow::Error::msg)?;
                let page = accounts::list(db, &operator, None, cursor.as_deref(), limit).await?;
                for view in &page.items {
                    let councils: Vec<String> =
                        view.councils.iter().map(|s| format!("{}:{}", s.council_id, s.position)).collect();
                    println!(
                        "{}\t{}\t{}\t{}\t{}\t{}\t{}",
                        view.id,
                        view.email,
                        view.display_name,
                        roles_of(view),
                        councils.join(","),
                        view.organization_id.map(|id| id.to_string()).unwrap_or_default(),
                        view.disabled
                    );
                }
                match page.next {
                    Some(next) => cursor = Some(next.encode()),
                    None => break,
                }
            }
        }
    }
    Ok(())
}

fn roles_of(view: &domain::accounts::AccountView) -> String {
    let roles: Vec<&str> = view.roles.iter().map(|role| role.as_str()).collect();
    if roles.is_empty() { "no roles".to_owned() } else { roles.join(",") }
}
