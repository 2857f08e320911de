//! `scrutiny-bench`: builds a large synthetic database and drives open-loop HTTP load at it.
//!
//! `generate` fills a fresh database with the demo organizations, extra suppliers, contracts
//! and payments (COPY on PostgreSQL, multi-row INSERTs in one transaction on SQLite).
//! `load` sends requests at a fixed rate whatever the server's pace (open loop: a slow answer
//! does not delay the next request), measuring each latency from its scheduled start, so
//! queueing shows in the figures instead of hiding (no coordinated omission).
//! `soak` does the same over a weighted mix of requests for a long run, sampling the server's
//! memory, and reports errors and latency per request kind.
//! `ocds-releases` writes synthetic OCDS compiled releases for the red-flag indicators.

mod ocds_releases;
mod soak;

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chrono::{DateTime, TimeZone, Utc};
use clap::{Parser, Subcommand};
use sea_orm::sqlx::{QueryBuilder, Sqlite};
use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseConnection};

use domain::biin::Biin;
use domain::db::{self, PoolOptions};

#[derive(Parser)]
#[command(name = "scrutiny-bench", about = "Benchmark data and load for Scrutiny")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Fill an empty, migrated database with synthetic contracts and payments.
    Generate {
        #[arg(long, env = "DATABASE_URL")]
        database_url: String,
        #[arg(long, default_value_t = 1_000_000)]
        contracts: usize,
        #[arg(long, default_value_t = 5_000_000)]
        payments: usize,
        /// Extra suppliers beside the demo organizations.
        #[arg(long, default_value_t = 2_000)]
        suppliers: usize,
    },
    /// Print a cursor that starts page `page` (of `limit` rows) of a list, computed in SQL.
    Cursor {
        #[arg(long, env = "DATABASE_URL")]
        database_url: String,
        /// `payments` or `contracts`.
        #[arg(long)]
        table: String,
        #[arg(long)]
        page: u64,
        #[arg(long, default_value_t = 100)]
        limit: u64,
    },
    /// Write a treasury-style payments CSV of `rows` rows between `organizations` synthetic
    /// BINs (for `scrutiny import csv`), deterministically.
    PaymentsCsv {
        #[arg(long, default_value_t = 5_000_000)]
        rows: usize,
        #[arg(long, default_value_t = 3_000)]
        organizations: usize,
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// Send GET requests to `path` at `rate` a second for `seconds`; print latency figures as JSON.
    Load {
        #[arg(long)]
        base_url: String,
        #[arg(long)]
        path: String,
        #[arg(long, default_value_t = 500)]
        rate: u32,
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// A name for the scenario, echoed in the output.
        #[arg(long, default_value = "")]
        name: String,
        /// POST this JSON body instead of sending a GET (a login, say).
        #[arg(long)]
        post_json: Option<String>,
    },
    /// Open-loop GET load over a weighted mix of paths (the demo-data mix unless `--mix` names
    /// a file of `weight path [name]` lines) at `rate` a second in all for `seconds`; print one
    /// JSON line: errors by status, 503s, transport errors and timeouts, latency overall and
    /// per kind, and the server's memory over time when `--server-pid` is given.
    Soak {
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        base_url: String,
        #[arg(long, default_value_t = 300)]
        rate: u32,
        #[arg(long, default_value_t = 600)]
        seconds: u64,
        /// A mix file; `{a..b}` in a path is a random integer in that range per request.
        #[arg(long)]
        mix: Option<std::path::PathBuf>,
        /// Requests awaiting their answer at once; a request due past it is not sent and is
        /// counted as dropped (the client, not the server, is saturated).
        #[arg(long, default_value_t = 2_000)]
        max_in_flight: usize,
        /// A request not answered in full by then counts as a timeout.
        #[arg(long, default_value_t = 30)]
        timeout_seconds: u64,
        /// The server's process, whose VmRSS, VmHWM and CPU time are sampled.
        #[arg(long)]
        server_pid: Option<u32>,
        #[arg(long, default_value_t = 30)]
        sample_seconds: u64,
        /// Length of the windows the report splits the run into, to show drift over time.
        #[arg(long, default_value_t = 60)]
        window_seconds: u64,
        /// Seeds the choice of kinds and of ids, so runs send the same sequence.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Request every path of the mix once (ranges at both ends) and fail unless all
        /// answer 2xx, instead of the load.
        #[arg(long)]
        check: bool,
        /// Print the built-in mix, in the mix-file format, and exit.
        #[arg(long)]
        print_mix: bool,
    },
    /// Append `events` synthetic events to the audit log through the write path (in
    /// transactions of 10,000), to measure tree heads, proofs and verification at that size.
    AuditEvents {
        #[arg(long, env = "DATABASE_URL")]
        database_url: String,
        #[arg(long, default_value_t = 100_000)]
        events: usize,
    },
    /// Write `count` synthetic OCDS compiled releases to standard output, one JSON object a
    /// line, deterministically for a `seed`: the input of `scripts/bench-indicators.sh`.
    OcdsReleases {
        #[arg(long, default_value_t = 500_000)]
        count: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Walk `count` findings through the workflow on a seeded database (file, publish,
    /// complete, deliver, and for three in four an answer to each of two recommendations),
    /// through the findings service and its audited write path; print the writes per second.
    Findings {
        #[arg(long, env = "DATABASE_URL")]
        database_url: String,
        #[arg(long, default_value_t = 2_000)]
        count: usize,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Generate { database_url, contracts, payments, suppliers } => {
            let db = db::connect(&database_url, &PoolOptions { max_connections: 2, ..Default::default() }).await?;
            db::migrate(&db).await?;
            generate(&db, contracts, payments, suppliers).await
        }
        Command::Cursor { database_url, table, page, limit } => {
            let db = db::connect(&database_url, &PoolOptions { max_connections: 1, ..Default::default() }).await?;
            println!("{}", cursor_for_page(&db, &table, page, limit).await?);
            Ok(())
        }
        Command::Load { base_url, path, rate, seconds, name, post_json } => {
            load(&base_url, &path, rate, seconds, &name, post_json).await
        }
        Command::Soak {
            base_url,
            rate,
            seconds,
            mix,
            max_in_flight,
            timeout_seconds,
            server_pid,
            sample_seconds,
            window_seconds,
            seed,
            check,
            print_mix,
        } => {
            let mix = match mix {
                Some(file) => std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?,
                None => soak::DEMO_MIX.to_owned(),
            };
            let timeout = Duration::from_secs(timeout_seconds);
            if print_mix {
                print!("{mix}");
                return Ok(());
            }
            if check {
                return soak::check(&base_url, &mix, timeout).await;
            }
            soak::run(soak::Options {
                base_url,
                rate,
                seconds,
                mix,
                max_in_flight,
                timeout,
                server_pid,
                sample_seconds,
                window_seconds,
                seed,
            })
            .await
        }
        Command::AuditEvents { database_url, events } => {
            let db = db::connect(&database_url, &PoolOptions { max_connections: 1, ..Default::default() }).await?;
            db::migrate(&db).await?;
            audit_events(&db, events).await
        }
        Command::PaymentsCsv { rows, organizations, out } => payments_csv(rows, organizations, &out),
        Command::OcdsReleases { count, seed } => Ok(ocds_releases::write(count, seed, std::io::stdout().lock())?),
        Command::Findings { database_url, count } => {
            let db = db::connect(&database_url, &PoolOptions { max_connections: 2, ..Default::default() }).await?;
            findings(&db, count).await
        }
    }
}

/// The mapping `scripts/bench-import.sh` uses for these files.
fn payments_csv(rows: usize, organizations: usize, out: &std::path::Path) -> anyhow::Result<()> {
    use std::io::Write;
    let mut rng = fastrand::Rng::with_seed(5);
    let bins: Vec<String> = (0u64..)
        .filter_map(|n| {
            let digits = format!("{:011}", 30_000_000_000 + n * 7_919);
            let prefix: Vec<u32> = digits.chars().map(|c| c.to_digit(10).unwrap()).collect();
            Biin::from_prefix(&prefix.try_into().unwrap()).map(|b| b.as_str().to_owned())
        })
        .take(organizations.max(2))
        .collect();
    let payers = &bins[..bins.len() / 6 + 1];
    let payees = &bins[bins.len() / 6 + 1..];
    let mut file = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(out)?);
    writeln!(file, "Номер документа;Дата оплаты;БИН плательщика;БИН получателя;Сумма;Валюта;Назначение платежа")?;
    for n in 0..rows {
        writeln!(
            file,
            "TP-{n:09};{:02}.{:02}.2024;{};{};{} {:03},{:02};KZT;Оплата по договору № {} за товары и услуги",
            rng.u32(1..=28),
            rng.u32(1..=12),
            payers[rng.usize(..payers.len())],
            payees[rng.usize(..payees.len())],
            rng.u32(1..=9_999),
            rng.u32(0..1_000),
            rng.u32(0..100),
            n / 3,
        )?;
    }
    file.flush()?;
    Ok(())
}

const FISCAL_YEARS: [i32; 3] = [2023, 2024, 2025];
const METHODS: [&str; 6] =
    ["open_tender", "price_quotation", "single_source", "auction", "commodity_exchange", "prequalified_tender"];
const STATUSES: [&str; 4] = ["signed", "in_execution", "executed", "terminated"];

struct ContractRow {
    buyer: i64,
    supplier: i64,
    year: i32,
    signed_at: DateTime<Utc>,
    amount: i64,
    vat: bool,
}

async fn generate(db: &DatabaseConnection, contracts: usize, payments: usize, suppliers: usize) -> anyhow::Result<()> {
    let started = Instant::now();
    let existing: Option<i64> = scalar(db, "SELECT COUNT(*) FROM payments").await?;
    if existing.unwrap_or(0) > 0 {
        bail!("the database already holds payments; generate into an empty one");
    }
    domain::demo::seed(db).await.context("demo organizations")?;
    let mut rng = fastrand::Rng::with_seed(5_000_000);

    // Extra suppliers with valid BINs, so a supplier filter selects a realistic share.
    let fetched = Utc.with_ymd_and_hms(2026, 1, 15, 0, 0, 0).unwrap();
    let mut supplier_rows = Vec::with_capacity(suppliers);
    let mut serial = 0u64;
    while supplier_rows.len() < suppliers {
        serial += 1;
        let text = format!("1501400{serial:04}");
        let prefix: [u32; 11] = std::array::from_fn(|i| u32::from(text.as_bytes()[i] - b'0'));
        if let Some(bin) = Biin::from_prefix(&prefix) {
            supplier_rows.push(bin.to_string());
        }
    }
    let org_sql = |bins: &[String]| {
        let values: Vec<String> = bins
            .iter()
            .map(|bin| {
                format!(
                    "('{bin}', 'ТОО \"Поставщик {bin}\"', 'supplier', '710000000', 'bench', 'supplier-{bin}', '{}', '{}')",
                    fetched.format("%Y-%m-%d %H:%M:%S+00:00"),
                    "0".repeat(64)
                )
            })
            .collect();
        format!(
            "INSERT INTO organizations (bin, name_ru, kind, region_kato, source, upstream_id, fetched_at, content_hash) VALUES {}",
            values.join(",")
        )
    };
    for chunk in supplier_rows.chunks(500) {
        db.execute_unprepared(&org_sql(chunk)).await?;
    }
    let buyers: Vec<i64> = ids(db, "SELECT id FROM organizations WHERE kind <> 'supplier' ORDER BY id").await?;
    let sellers: Vec<i64> = ids(db, "SELECT id FROM organizations WHERE kind = 'supplier' ORDER BY id").await?;
    let quasi: Vec<i64> = ids(db, "SELECT id FROM organizations WHERE kind = 'quasi_public' ORDER BY id").await?;
    eprintln!("organizations: {} buyers, {} suppliers ({:?})", buyers.len(), sellers.len(), started.elapsed());

    let year_start = |year: i32| Utc.with_ymd_and_hms(year, 1, 1, 4, 0, 0).unwrap();
    let contract_rows: Vec<ContractRow> = (0..contracts)
        .map(|_| {
            let year = FISCAL_YEARS[rng.usize(0..3)];
            let buyer = buyers[rng.usize(0..buyers.len())];
            ContractRow {
                buyer,
                supplier: sellers[rng.usize(0..sellers.len())],
                year,
                signed_at: year_start(year) + chrono::Duration::seconds(rng.i64(0..300 * 86_400)),
                // 10 thousand to 500 million tenge, in tiyn.
                amount: rng.i64(10_000 * 100..500_000_000 * 100),
                vat: !quasi.contains(&buyer),
            }
        })
        .collect();
    let first_contract = insert_contracts(db, &contract_rows, &mut rng, fetched).await?;
    eprintln!("contracts: {contracts} ({:?})", started.elapsed());
    insert_payments(db, &contract_rows, first_contract, payments, &mut rng, fetched).await?;
    eprintln!("payments: {payments} ({:?})", started.elapsed());
    if db.get_database_backend() == DatabaseBackend::Postgres {
        db.execute_unprepared("ANALYZE").await?;
    } else {
        db.execute_unprepared("ANALYZE").await?;
        db.execute_unprepared("PRAGMA wal_checkpoint(TRUNCATE)").await?;
    }
    println!(
        "{}",
        serde_json::json!({"contracts": contracts, "payments": payments, "suppliers": suppliers,
            "seconds": started.elapsed().as_secs_f64()})
    );
    Ok(())
}

async fn scalar(db: &DatabaseConnection, sql: &str) -> anyhow::Result<Option<i64>> {
    let row = db.query_one_raw(sea_orm::Statement::from_string(db.get_database_backend(), sql)).await?;
    Ok(row.map(|row| row.try_get_by_index::<i64>(0)).transpose()?)
}

async fn ids(db: &DatabaseConnection, sql: &str) -> anyhow::Result<Vec<i64>> {
    let rows = db.query_all_raw(sea_orm::Statement::from_string(db.get_database_backend(), sql)).await?;
    Ok(rows.iter().map(|row| row.try_get_by_index::<i64>(0)).collect::<Result<_, _>>()?)
}

const CONTRACT_COLUMNS: &str = "number, buyer_id, supplier_id, procurement_method, status, fiscal_year, \
    description_ru, signed_at, amount_minor, currency, exchange_rate, vat_included, source, upstream_id, \
    fetched_at, content_hash";
const PAYMENT_COLUMNS: &str = "contract_id, payer_id, payee_id, document_number, paid_at, fiscal_year, \
    purpose_ru, amount_minor, currency, exchange_rate, vat_included, source, upstream_id, fetched_at, content_hash";

/// Inserts the contracts and returns the id of the first (ids are then consecutive).
async fn insert_contracts(
    db: &DatabaseConnection,
    rows: &[ContractRow],
    rng: &mut fastrand::Rng,
    fetched: DateTime<Utc>,
) -> anyhow::Result<i64> {
    let hash = "0".repeat(64);
    let values: Vec<[String; 16]> = rows
        .iter()
        .enumerate()
        .map(|(index, row)| {
            [
                format!("BENCH/{index:07}"),
                row.buyer.to_string(),
                row.supplier.to_string(),
                METHODS[rng.usize(0..METHODS.len())].to_owned(),
                STATUSES[rng.usize(0..STATUSES.len())].to_owned(),
                row.year.to_string(),
                "Поставка товаров для нужд заказчика".to_owned(),
                row.signed_at.format("%Y-%m-%d %H:%M:%S+00:00").to_string(),
                row.amount.to_string(),
                "KZT".to_owned(),
                "1".to_owned(),
                row.vat.to_string(),
                "bench".to_owned(),
                format!("contract-{index}"),
                fetched.format("%Y-%m-%d %H:%M:%S+00:00").to_string(),
                hash.clone(),
            ]
        })
        .collect();
    write_rows(db, "contracts", CONTRACT_COLUMNS, &values).await?;
    Ok(scalar(db, "SELECT MIN(id) FROM contracts WHERE source = 'bench'").await?.unwrap_or(1))
}

async fn insert_payments(
    db: &DatabaseConnection,
    contracts: &[ContractRow],
    first_contract: i64,
    count: usize,
    rng: &mut fastrand::Rng,
    fetched: DateTime<Utc>,
) -> anyhow::Result<()> {
    let hash = "0".repeat(64);
    const CHUNK: usize = 500_000;
    let mut written = 0;
    while written < count {
        let chunk = CHUNK.min(count - written);
        let values: Vec<[String; 15]> = (written..written + chunk)
            .map(|index| {
                let contract_index = rng.usize(0..contracts.len());
                let contract = &contracts[contract_index];
                let paid_at = contract.signed_at + chrono::Duration::seconds(rng.i64(86_400..60 * 86_400));
                [
                    (first_contract + contract_index as i64).to_string(),
                    contract.buyer.to_string(),
                    contract.supplier.to_string(),
                    format!("{}{index:09}", contract.year),
                    paid_at.format("%Y-%m-%d %H:%M:%S+00:00").to_string(),
                    contract.year.to_string(),
                    "Оплата по договору".to_owned(),
                    (contract.amount / rng.i64(2..20)).to_string(),
                    "KZT".to_owned(),
                    "1".to_owned(),
                    contract.vat.to_string(),
                    "bench".to_owned(),
                    format!("payment-{index}"),
                    fetched.format("%Y-%m-%d %H:%M:%S+00:00").to_string(),
                    hash.clone(),
                ]
            })
            .collect();
        write_rows(db, "payments", PAYMENT_COLUMNS, &values).await?;
        written += chunk;
    }
    Ok(())
}

/// Writes rows of text values: COPY on PostgreSQL, 500-row INSERTs in one transaction on SQLite.
async fn write_rows<const N: usize>(
    db: &DatabaseConnection,
    table: &str,
    columns: &str,
    rows: &[[String; N]],
) -> anyhow::Result<()> {
    match db.get_database_backend() {
        DatabaseBackend::Postgres => {
            let pool = db.get_postgres_connection_pool();
            let mut connection = pool.acquire().await?;
            let mut copy =
                connection.copy_in_raw(&format!("COPY {table} ({columns}) FROM STDIN WITH (FORMAT csv)")).await?;
            let mut buffer = String::with_capacity(4 << 20);
            for row in rows {
                let line: Vec<String> = row.iter().map(|v| format!("\"{}\"", v.replace('"', "\"\""))).collect();
                buffer.push_str(&line.join(","));
                buffer.push('\n');
                if buffer.len() > 4 << 20 {
                    copy.send(buffer.as_bytes()).await?;
                    buffer.clear();
                }
            }
            copy.send(buffer.as_bytes()).await?;
            copy.finish().await?;
        }
        _ => {
            let pool = db.get_sqlite_connection_pool();
            let mut transaction = pool.begin().await?;
            for chunk in rows.chunks(500) {
                let mut builder: QueryBuilder<Sqlite> = QueryBuilder::new(format!("INSERT INTO {table} ({columns}) "));
                builder.push_values(chunk, |mut tuple, row| {
                    for value in row {
                        match value.as_str() {
                            "true" => tuple.push_bind(true),
                            "false" => tuple.push_bind(false),
                            text => match text.parse::<i64>() {
                                Ok(number) if !text.starts_with('0') || text == "0" => tuple.push_bind(number),
                                _ => tuple.push_bind(text.to_owned()),
                            },
                        };
                    }
                });
                builder.build().execute(&mut *transaction).await?;
            }
            transaction.commit().await?;
        }
    }
    Ok(())
}

/// The cursor that starts page `page` of `/v1/{table}?sort=-date`, as the API would encode it.
async fn cursor_for_page(db: &DatabaseConnection, table: &str, page: u64, limit: u64) -> anyhow::Result<String> {
    let date = match table {
        "payments" => "paid_at",
        "contracts" => "signed_at",
        other => bail!("no date column known for {other}"),
    };
    let offset = (page - 1) * limit - 1;
    let sql = format!("SELECT id FROM {table} ORDER BY {date} DESC, id DESC LIMIT 1 OFFSET {offset}");
    let id = scalar(db, &sql).await?.context("the table is too small for that page")?;
    let stamp_sql = format!("SELECT {date} FROM {table} WHERE id = {id}");
    let row = db
        .query_one_raw(sea_orm::Statement::from_string(db.get_database_backend(), stamp_sql))
        .await?
        .context("row vanished")?;
    let at: DateTime<Utc> = row.try_get_by_index(0)?;
    let cursor = domain::pagination::Cursor { sort: "-date".into(), value: Some(at.to_rfc3339()), id };
    Ok(cursor.encode())
}

/// Open-loop load: request `i` is due at `start + i / rate`, sent then whatever came before.
async fn load(
    base_url: &str,
    path: &str,
    rate: u32,
    seconds: u64,
    name: &str,
    post_json: Option<String>,
) -> anyhow::Result<()> {
    importers::http::init_tls();
    let client = reqwest::Client::builder().pool_max_idle_per_host(256).build()?;
    let url = format!("{base_url}{path}");
    let total = u64::from(rate) * seconds;
    let interval = Duration::from_secs_f64(1.0 / f64::from(rate));
    let started = tokio::time::Instant::now();
    let mut tasks = Vec::with_capacity(total as usize);
    for index in 0..total {
        let due = started + interval * index as u32;
        tokio::time::sleep_until(due).await;
        let (client, url, body) = (client.clone(), url.clone(), post_json.clone());
        tasks.push(tokio::spawn(async move {
            let request = match body {
                Some(body) => client.post(&url).header("content-type", "application/json").body(body),
                None => client.get(&url),
            };
            let outcome = request.send().await;
            let ok = match outcome {
                Ok(response) => response.status().is_success() && response.bytes().await.is_ok(),
                Err(_) => false,
            };
            (due.elapsed(), ok)
        }));
    }
    let mut latencies = Vec::with_capacity(tasks.len());
    let mut errors = 0;
    for task in tasks {
        let (latency, ok) = task.await?;
        latencies.push(latency);
        errors += usize::from(!ok);
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort();
    let quantile = |q: f64| latencies[((latencies.len() as f64 - 1.0) * q).round() as usize].as_secs_f64() * 1e3;
    println!(
        "{}",
        serde_json::json!({
            "name": name, "path": path, "rate": rate, "requests": latencies.len(), "errors": errors,
            "throughput": latencies.len() as f64 / elapsed,
            "p50_ms": quantile(0.50), "p95_ms": quantile(0.95), "p99_ms": quantile(0.99), "max_ms": quantile(1.0),
        })
    );
    Ok(())
}

/// Appends synthetic events through `domain::writes::Write`, the path every real write takes.
async fn audit_events(db: &DatabaseConnection, events: usize) -> anyhow::Result<()> {
    use domain::accounts::Actor;
    let actor = Actor::System("bench");
    let started = Instant::now();
    let mut written = 0;
    while written < events {
        let mut write = domain::writes::Write::begin(db).await?;
        let batch = (events - written).min(10_000);
        for i in written..written + batch {
            let after = serde_json::json!({"n": i, "note": "a synthetic event of about the size of a council change"});
            write.record(&actor, "bench.event", "bench", i, None, Some(after)).await?;
        }
        write.commit().await?;
        written += batch;
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{}",
        serde_json::json!({"name": "audit-append", "events": events, "seconds": seconds, "events_per_second": events as f64 / seconds})
    );
    Ok(())
}

/// See [`Command::Findings`].
async fn findings(db: &DatabaseConnection, count: usize) -> anyhow::Result<()> {
    use domain::accounts::{self, Actor, Email, Grant, Password, PasswordHasher, Registration, councils};
    use domain::findings::{Answer, Findings, NewFinding, Step, calendar::Calendar, tables::Decision};

    let council = councils::list(db, None, None, domain::pagination::Limit::new(Some(1)).map_err(anyhow::Error::msg)?)
        .await?
        .items
        .into_iter()
        .next()
        .context("the database has a council: run `scrutiny seed` first")?;
    let operator = Actor::System("bench");
    let hasher = PasswordHasher::new(1);
    let mut people = Vec::new();
    for (role, council_id, organization_id) in
        [("council_member", Some(council.id), None), ("body_officer", None, Some(council.host_organization_id))]
    {
        let registration = Registration {
            email: Email::new(&format!("bench-{role}-{}@example.kz", std::process::id()))
                .map_err(anyhow::Error::msg)?,
            password: Password::new("bench passphrase 2026").map_err(anyhow::Error::msg)?,
            display_name: format!("Bench {role}"),
        };
        let grant = Grant {
            role: Some(role.parse().map_err(anyhow::Error::msg)?),
            council_id,
            organization_id,
            ngo_name: None,
            position: None,
        };
        let view = accounts::create(db, &hasher, &operator, registration, vec![grant]).await?;
        let principal = accounts::principal(db, view.id).await?.context("the account just created")?;
        people.push(Actor::Account(principal));
    }
    let (member, officer) = (people[0].clone(), people[1].clone());
    let clock = domain::clock::Clock::system();
    clock.set(Utc.with_ymd_and_hms(2026, 9, 1, 5, 0, 0).unwrap());
    let findings = Findings::new(db.clone(), std::sync::Arc::new(Calendar::shipped()), clock);
    let started = Instant::now();
    let mut writes = 0;
    for n in 0..count {
        let new = NewFinding {
            target_organization_id: Some(council.host_organization_id),
            council_id: Some(council.id),
            title: domain::LocalizedName {
                ru: Some(format!("Мониторинг закупок № {n}")), kk: None, en: None
            },
            facts: vec!["Сроки поставки нарушены".into()],
            recommendations: vec!["Взыскать неустойку".into(), "Провести проверку".into()],
            ..NewFinding::default()
        };
        let view = findings.file(&member, new, None).await?;
        for step in [Step::Publish, Step::Complete, Step::Deliver] {
            findings.step(&member, view.id, step).await?;
        }
        writes += 4;
        if n % 4 != 0 {
            for number in [1, 2] {
                let answer = Answer {
                    decision: Decision::Accepted,
                    reasoning: "Нарушение подтверждено".into(),
                    measures: Some("Приказ".into()),
                    implement_by: chrono::NaiveDate::from_ymd_opt(2027, 6, 30),
                };
                findings.answer(&officer, view.id, number, answer).await?;
                writes += 1;
            }
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{}",
        serde_json::json!({"name": "findings-workflow", "findings": count, "writes": writes, "seconds": seconds,
                           "writes_per_second": writes as f64 / seconds})
    );
    Ok(())
}
