//! `soak`: open-loop load over a weighted mix of requests for a long run, with the server's
//! memory sampled along the way. Request `i` is due at `start + i / rate` and is sent then,
//! whatever the earlier ones are doing; its latency runs from that due time to the last byte
//! of its body, so queueing in the server or in this client shows in the figures.
//!
//! A mix line is `weight path [name]`; `{a..b}` in a path is replaced by a random integer in
//! `a..=b` on every request (detail reads spread over the rows, not one cached row).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::{Value, json};
use tokio::sync::Semaphore;
use tokio::time::Instant;

/// The mix on the demo data `scrutiny seed` loads (89 organizations, 1,332 tenders, 2,091
/// contracts, 10,006 payments, 100 decisions): reads of every public kind, with the expensive
/// ones the server caps (exports, bulk files, searches, aggregates) at 15% of the requests.
/// The whole year of payments as CSV (1.2 MB, about 0.2 s of a core) is the rarest. Every
/// path answers 200 on that data (`soak --check` verifies it).
pub const DEMO_MIX: &str = "\
# weight (of 1,000) path name
60  /healthz                                                                                      healthz
50  /v1/organizations?limit=50                                                                    organizations_page
30  /v1/organizations?kind=state_body&limit=20                                                    organizations_filtered
80  /v1/organizations/{1..89}                                                                     organization
60  /v1/contracts?limit=50                                                                        contracts_page
60  /v1/contracts?buyer_kind=quasi_public&fiscal_year=2024&sort=-amount&limit=50                  contracts_filtered
90  /v1/contracts/{1..2091}                                                                       contract
60  /v1/payments?fiscal_year=2024&sort=-date&limit=50                                             payments_filtered
30  /v1/payments?region=750000000&date_from=2024-01-01&date_to=2024-03-31                         payments_region_quarter
60  /v1/payments/{1..10006}                                                                       payment
50  /v1/tenders?limit=50                                                                          tenders_page
30  /v1/tenders?procurement_method=open_tender&fiscal_year=2024&limit=50                          tenders_filtered
60  /v1/tenders/{1..1332}                                                                         tender
18  /v1/decisions?limit=20                                                                        decisions_page
30  /v1/changes?limit=100                                                                         changes
40  /v1/red-flags?limit=50                                                                        red_flags
20  /v1/ocds/releases?limit=10                                                                    ocds_releases
10  /v1/findings?limit=20                                                                         findings
10  /v1/feeds/findings.atom                                                                       findings_feed
30  /v1/search?q=%D0%BC%D0%B8%D0%BD%D0%B8%D1%81%D1%82%D0%B5%D1%80%D1%81%D1%82%D0%B2%D0%BE         search_ru
20  /v1/search?q=%D0%B4%D0%B5%D1%80%D0%B0%D1%82%D0%B8%D0%B7%D0%B0%D1%86%D0%B8%D1%8F&kind=contract search_contracts
30  /v1/stats/spending?group_by=buyer&fiscal_year=2024&top=10                                     stats_spending
20  /v1/stats/non-competitive?fiscal_year=2024                                                    stats_non_competitive
10  /v1/contracts?fiscal_year=2024&format=csv                                                     export_contracts_year_csv
20  /v1/payments?region=750000000&fiscal_year=2024&format=csv                                     export_payments_region_csv
2   /v1/payments?fiscal_year=2024&format=csv                                                      export_payments_year_csv
10  /v1/bulk/contracts.csv.gz                                                                     bulk_contracts_csv
10  /v1/bulk/payments.jsonl.gz                                                                    bulk_payments_jsonl
";

pub struct Options {
    pub base_url: String,
    pub rate: u32,
    pub seconds: u64,
    pub mix: String,
    pub max_in_flight: usize,
    pub timeout: Duration,
    pub server_pid: Option<u32>,
    pub sample_seconds: u64,
    pub window_seconds: u64,
    pub seed: u64,
}

/// One entry of the mix.
struct Kind {
    name: String,
    template: String,
    weight: u32,
    parts: Vec<Part>,
}

enum Part {
    Text(String),
    Range(u64, u64),
}

impl Kind {
    fn render(&self, rng: &mut fastrand::Rng) -> String {
        self.parts
            .iter()
            .map(|part| match part {
                Part::Text(text) => text.clone(),
                Part::Range(low, high) => rng.u64(*low..=*high).to_string(),
            })
            .collect()
    }

    /// The path with every range at its low (`false`) or high (`true`) end.
    fn at_end(&self, high: bool) -> String {
        self.parts
            .iter()
            .map(|part| match part {
                Part::Text(text) => text.clone(),
                Part::Range(low, top) => (if high { top } else { low }).to_string(),
            })
            .collect()
    }
}

fn parse_template(template: &str) -> anyhow::Result<Vec<Part>> {
    let mut parts = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let close = rest[open..].find('}').map(|i| open + i).with_context(|| format!("unclosed {{ in {template}"))?;
        let (low, high) =
            rest[open + 1..close].split_once("..").with_context(|| format!("expected {{a..b}} in {template}"))?;
        let (low, high): (u64, u64) = (low.trim().parse()?, high.trim().parse()?);
        if low > high {
            bail!("empty range {{{low}..{high}}} in {template}");
        }
        parts.push(Part::Text(rest[..open].to_owned()));
        parts.push(Part::Range(low, high));
        rest = &rest[close + 1..];
    }
    parts.push(Part::Text(rest.to_owned()));
    Ok(parts)
}

fn parse_mix(text: &str) -> anyhow::Result<Vec<Kind>> {
    let mut kinds = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (weight, template, name) = match fields[..] {
            [weight, path] => (weight, path, path),
            [weight, path, name] => (weight, path, name),
            _ => bail!("mix line {}: expected `weight path [name]`, got {line:?}", number + 1),
        };
        let weight: u32 = weight.parse().with_context(|| format!("mix line {}: weight {weight:?}", number + 1))?;
        if !template.starts_with('/') {
            bail!("mix line {}: the path must start with /", number + 1);
        }
        if weight > 0 {
            let parts = parse_template(template)?;
            kinds.push(Kind { name: name.to_owned(), template: template.to_owned(), weight, parts });
        }
    }
    if kinds.is_empty() {
        bail!("the mix has no request with a weight above 0");
    }
    Ok(kinds)
}

/// How one request ended.
enum Ending {
    Status(u16),
    Transport(String),
    Timeout,
}

struct Record {
    kind: usize,
    /// When it was due, from the start of the run.
    due: Duration,
    latency: Duration,
    ending: Ending,
    bytes: u64,
    /// The start of an error response's body, for the report.
    detail: Option<String>,
}

fn is_ok(status: u16) -> bool {
    (200..400).contains(&status)
}

/// A transport error with its causes, which reqwest's `Display` leaves out.
fn describe(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Sends one GET and reads its body to the end without keeping it (exports are large).
async fn fetch(client: &reqwest::Client, url: &str) -> (Ending, u64, Option<String>) {
    let mut response = match client.get(url).send().await {
        Ok(response) => response,
        Err(error) => return (Ending::Transport(describe(&error)), 0, None),
    };
    let status = response.status().as_u16();
    let mut bytes = 0u64;
    let mut head = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                bytes += chunk.len() as u64;
                if !is_ok(status) && head.len() < 300 {
                    head.extend_from_slice(&chunk[..chunk.len().min(300 - head.len())]);
                }
            }
            Ok(None) => break,
            Err(error) => {
                return (Ending::Transport(format!("body after {bytes} bytes: {}", describe(&error))), bytes, None);
            }
        }
    }
    let detail = (!is_ok(status)).then(|| String::from_utf8_lossy(&head).into_owned());
    (Ending::Status(status), bytes, detail)
}

fn percentiles(latencies: &mut [Duration]) -> Value {
    if latencies.is_empty() {
        return Value::Null;
    }
    latencies.sort_unstable();
    let at = |q: f64| {
        let ms = latencies[((latencies.len() as f64 - 1.0) * q).round() as usize].as_secs_f64() * 1e3;
        (ms * 100.0).round() / 100.0
    };
    json!({"p50": at(0.50), "p90": at(0.90), "p99": at(0.99), "max": at(1.0)})
}

/// Counts of a set of records: outcomes, errors by status, latency over all and over the
/// successful ones only (a fast 503 would otherwise make a shed kind look quick).
fn summarize<'a>(records: impl Iterator<Item = &'a Record>) -> serde_json::Map<String, Value> {
    let (mut sent, mut completed, mut ok, mut shed, mut transport, mut timeouts, mut bytes) = (0u64, 0, 0, 0, 0, 0, 0);
    let mut by_status: BTreeMap<String, u64> = BTreeMap::new();
    let (mut all, mut successful) = (Vec::new(), Vec::new());
    for record in records {
        sent += 1;
        bytes += record.bytes;
        all.push(record.latency);
        match record.ending {
            Ending::Status(status) => {
                completed += 1;
                if is_ok(status) {
                    ok += 1;
                    successful.push(record.latency);
                } else {
                    *by_status.entry(status.to_string()).or_default() += 1;
                    shed += u64::from(status == 503);
                }
            }
            Ending::Transport(_) => transport += 1,
            Ending::Timeout => timeouts += 1,
        }
    }
    let mut map = serde_json::Map::new();
    map.insert("sent".into(), sent.into());
    map.insert("completed".into(), completed.into());
    map.insert("ok".into(), ok.into());
    map.insert(
        "errors".into(),
        json!({
            "total": sent - ok,
            "by_status": by_status,
            "status_503": shed,
            "status_other": completed - ok - shed,
            "transport": transport,
            "timeouts": timeouts,
        }),
    );
    map.insert("bytes".into(), bytes.into());
    map.insert("latency_ms".into(), percentiles(&mut all));
    map.insert("ok_latency_ms".into(), percentiles(&mut successful));
    map
}

/// `VmRSS`, `VmHWM` (KiB) and CPU seconds of a process, from `/proc`.
fn process_sample(pid: u32) -> Option<(u64, u64, f64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status.lines().find_map(|line| line.strip_prefix(name)?.trim().strip_suffix("kB")?.trim().parse::<u64>().ok())
    };
    Some((field("VmRSS:")?, field("VmHWM:")?, cpu_seconds(&format!("/proc/{pid}/stat"))?))
}

/// utime + stime of `/proc/…/stat`, at Linux's fixed 100 ticks a second (USER_HZ).
fn cpu_seconds(path: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(path).ok()?;
    // The command name may hold spaces; the fields after it are fixed.
    let fields: Vec<&str> = stat[stat.rfind(')')? + 2..].split(' ').collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / 100.0)
}

/// Requests every path of the mix once, with each range at both ends; fails unless all of
/// them answer 2xx.
pub async fn check(base_url: &str, mix: &str, timeout: Duration) -> anyhow::Result<()> {
    importers::http::init_tls();
    let kinds = parse_mix(mix)?;
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?;
    let mut failed = 0;
    for kind in &kinds {
        let mut paths = vec![kind.at_end(false)];
        if kind.parts.iter().any(|part| matches!(part, Part::Range(..))) {
            paths.push(kind.at_end(true));
        }
        for path in paths {
            let started = Instant::now();
            let (ending, bytes, detail) =
                match tokio::time::timeout(timeout, fetch(&client, &format!("{base_url}{path}"))).await {
                    Ok(result) => result,
                    Err(_) => (Ending::Timeout, 0, None),
                };
            let ms = started.elapsed().as_secs_f64() * 1e3;
            let (status, good) = match &ending {
                Ending::Status(status) => (json!(status), (200..300).contains(status)),
                Ending::Transport(error) => (json!(error), false),
                Ending::Timeout => (json!("timeout"), false),
            };
            failed += usize::from(!good);
            println!(
                "{}",
                json!({"check": kind.name, "path": path, "status": status, "bytes": bytes,
                       "ms": (ms * 10.0).round() / 10.0, "detail": detail})
            );
        }
    }
    if failed > 0 {
        bail!("{failed} path(s) of the mix did not answer 2xx");
    }
    Ok(())
}

pub async fn run(options: Options) -> anyhow::Result<()> {
    importers::http::init_tls();
    let kinds = Arc::new(parse_mix(&options.mix)?);
    if options.rate == 0 || options.seconds == 0 {
        bail!("--rate and --seconds must be above 0");
    }
    // Redirects are answers, not something to follow: a 3xx counts as served.
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(options.max_in_flight)
        .build()?;
    let total_weight: u64 = kinds.iter().map(|kind| u64::from(kind.weight)).sum();
    let scheduled = u64::from(options.rate) * options.seconds;
    let in_flight = Arc::new(Semaphore::new(options.max_in_flight));
    let records: Arc<Mutex<Vec<Record>>> = Arc::new(Mutex::new(Vec::with_capacity(scheduled as usize)));
    let sent = Arc::new(AtomicU64::new(0));
    let finished = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let mut dropped = vec![0u64; kinds.len()];
    let mut peak_in_flight = 0;
    let mut rng = fastrand::Rng::with_seed(options.seed);

    let idle = options.server_pid.and_then(process_sample);
    let started = Instant::now();
    let samples = Arc::new(Mutex::new(Vec::new()));
    if let Some((rss, hwm, cpu)) = idle {
        samples.lock().unwrap().push(json!({"t_s": 0, "rss_kib": rss, "hwm_kib": hwm, "cpu_s": cpu}));
    }
    // Samples the server and tells progress on stderr, so a long run shows growth as it goes.
    let sampler = {
        let (samples, sent, finished, failed) = (samples.clone(), sent.clone(), finished.clone(), failed.clone());
        let (pid, every) = (options.server_pid, Duration::from_secs(options.sample_seconds.max(1)));
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval_at(started + every, every);
            loop {
                ticks.tick().await;
                let t = started.elapsed().as_secs();
                let done = finished.load(Ordering::Relaxed);
                let mut line = format!(
                    "soak t={t}s finished={done} not-ok={} in-flight={}",
                    failed.load(Ordering::Relaxed),
                    sent.load(Ordering::Relaxed) - done
                );
                if let Some((rss, hwm, cpu)) = pid.and_then(process_sample) {
                    samples.lock().unwrap().push(json!({"t_s": t, "rss_kib": rss, "hwm_kib": hwm, "cpu_s": cpu}));
                    line.push_str(&format!(" server-rss={} MiB hwm={} MiB", rss / 1024, hwm / 1024));
                }
                eprintln!("{line}");
            }
        })
    };

    let interval = 1.0 / f64::from(options.rate);
    for index in 0..scheduled {
        let due = started + Duration::from_secs_f64(index as f64 * interval);
        tokio::time::sleep_until(due).await;
        let mut pick = rng.u64(0..total_weight);
        let kind = kinds
            .iter()
            .position(|kind| {
                let hit = pick < u64::from(kind.weight);
                pick = pick.saturating_sub(u64::from(kind.weight));
                hit
            })
            .expect("a pick below the total weight");
        let Ok(permit) = in_flight.clone().try_acquire_owned() else {
            dropped[kind] += 1;
            continue;
        };
        sent.fetch_add(1, Ordering::Relaxed);
        peak_in_flight = peak_in_flight.max(options.max_in_flight - in_flight.available_permits());
        let url = format!("{}{}", options.base_url, kinds[kind].render(&mut rng));
        let (client, records, finished, failed, timeout) =
            (client.clone(), records.clone(), finished.clone(), failed.clone(), options.timeout);
        tokio::spawn(async move {
            let (ending, bytes, detail) = match tokio::time::timeout(timeout, fetch(&client, &url)).await {
                Ok(result) => result,
                Err(_) => (Ending::Timeout, 0, None),
            };
            let latency = due.elapsed();
            finished.fetch_add(1, Ordering::Relaxed);
            if !matches!(ending, Ending::Status(status) if is_ok(status)) {
                failed.fetch_add(1, Ordering::Relaxed);
            }
            records.lock().unwrap().push(Record { kind, due: due - started, latency, ending, bytes, detail });
            drop(permit);
        });
    }
    let send_seconds = started.elapsed().as_secs_f64();
    // Every request holds a permit until its record is in; all permits back means all done.
    let _all = in_flight.acquire_many(options.max_in_flight as u32).await?;
    let elapsed = started.elapsed().as_secs_f64();
    sampler.abort();
    let last = options.server_pid.and_then(process_sample);
    if let Some((rss, hwm, cpu)) = last {
        samples.lock().unwrap().push(json!({"t_s": elapsed.round(), "rss_kib": rss, "hwm_kib": hwm, "cpu_s": cpu}));
    }

    let records = std::mem::take(&mut *records.lock().unwrap());
    let mut overall = summarize(records.iter());
    let sent = records.len() as u64;
    let total_dropped: u64 = dropped.iter().sum();
    let mut transport_errors: BTreeMap<String, u64> = BTreeMap::new();
    let mut error_samples: BTreeMap<(String, String), Value> = BTreeMap::new();
    for record in &records {
        let kind = &kinds[record.kind];
        match &record.ending {
            Ending::Transport(error) => {
                let known = transport_errors.len() < 20 || transport_errors.contains_key(error);
                if known {
                    *transport_errors.entry(error.clone()).or_default() += 1;
                }
            }
            Ending::Status(status) if !is_ok(*status) => {
                let key = (kind.name.clone(), status.to_string());
                if error_samples.len() < 40 && !error_samples.contains_key(&key) {
                    let at = (record.due.as_secs_f64() * 10.0).round() / 10.0;
                    error_samples
                        .insert(key, json!({"kind": kind.name, "status": status, "due_s": at, "body": record.detail}));
                }
            }
            _ => {}
        }
    }
    let per_kind: Vec<Value> = kinds
        .iter()
        .enumerate()
        .map(|(index, kind)| {
            let mut map = summarize(records.iter().filter(|record| record.kind == index));
            map.insert("name".into(), kind.name.clone().into());
            map.insert("path".into(), kind.template.clone().into());
            map.insert("weight".into(), kind.weight.into());
            map.insert("dropped_client_saturated".into(), dropped[index].into());
            Value::Object(map)
        })
        .collect();
    let window = Duration::from_secs(options.window_seconds.max(1));
    let windows: Vec<Value> = (0..options.seconds.div_ceil(window.as_secs()))
        .map(|n| {
            let (from, to) = (window * n as u32, window * (n as u32 + 1));
            let mut map = summarize(records.iter().filter(|record| record.due >= from && record.due < to));
            map.insert("from_s".into(), from.as_secs().into());
            map.remove("ok_latency_ms");
            Value::Object(map)
        })
        .collect();
    let server = options.server_pid.map(|pid| {
        json!({
            "pid": pid,
            "idle_rss_kib": idle.map(|(rss, _, _)| rss),
            "peak_rss_kib": last.map(|(_, hwm, _)| hwm),
            "final_rss_kib": last.map(|(rss, _, _)| rss),
            "cpu_seconds": last.zip(idle).map(|((_, _, end), (_, _, start))| ((end - start) * 100.0).round() / 100.0),
            "samples": *samples.lock().unwrap(),
        })
    });
    overall.insert("scheduled".into(), scheduled.into());
    overall.insert("dropped_client_saturated".into(), total_dropped.into());
    let report = json!({
        "name": "soak",
        "base_url": options.base_url,
        "rate": options.rate,
        "seconds": options.seconds,
        "max_in_flight": options.max_in_flight,
        "timeout_s": options.timeout.as_secs_f64(),
        "overall": overall,
        "achieved_rate": (sent as f64 / send_seconds * 10.0).round() / 10.0,
        "completed_rate": (records.iter().filter(|r| matches!(r.ending, Ending::Status(_))).count() as f64 / elapsed * 10.0).round() / 10.0,
        "send_seconds": (send_seconds * 100.0).round() / 100.0,
        "elapsed_seconds": (elapsed * 100.0).round() / 100.0,
        "peak_in_flight": peak_in_flight,
        "client_cpu_seconds": cpu_seconds("/proc/self/stat"),
        "server": server,
        "kinds": per_kind,
        "windows": windows,
        "transport_errors": transport_errors,
        "error_samples": error_samples.into_values().collect::<Vec<_>>(),
    });
    println!("{report}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_mix_parses_with_every_kind_named_once() {
        let kinds = parse_mix(DEMO_MIX).unwrap();
        let mut names: Vec<&str> = kinds.iter().map(|kind| kind.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), kinds.len());
        assert!(kinds.iter().any(|kind| kind.template.contains("format=csv")));
        assert!(kinds.iter().any(|kind| kind.template.starts_with("/v1/bulk/")));
    }

    #[test]
    fn ranges_render_within_their_bounds() {
        let kinds = parse_mix("1 /v1/contracts/{3..5}?x=1").unwrap();
        let mut rng = fastrand::Rng::with_seed(1);
        for _ in 0..100 {
            let path = kinds[0].render(&mut rng);
            let id: u64 = path.trim_start_matches("/v1/contracts/").trim_end_matches("?x=1").parse().unwrap();
            assert!((3..=5).contains(&id), "{path}");
        }
        assert_eq!(kinds[0].at_end(true), "/v1/contracts/5?x=1");
    }

    #[test]
    fn a_line_without_a_name_is_named_by_its_path_and_bad_lines_are_refused() {
        assert_eq!(parse_mix("2 /healthz").unwrap()[0].name, "/healthz");
        assert!(parse_mix("x /healthz").is_err());
        assert!(parse_mix("1 healthz").is_err());
        assert!(parse_mix("1 /v1/contracts/{5..3}").is_err());
        assert!(parse_mix("0 /healthz").is_err());
    }
}
