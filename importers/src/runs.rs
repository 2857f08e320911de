//! How each networked or file source is walked: which pages or files, in what order, and
//! which checkpoint follows each, so a resumed run picks up at the page or item after the last
//! committed one.

use std::io::Read;
use std::path::PathBuf;

use chrono::{Duration, Utc};
use serde::{Deserialize, Serialize};

use domain::ingest::{Location, Parsed, Reject};

use crate::engine::{ImportError, RunOptions, Sink, Summary};
use crate::http::{HttpOptions, Upstream, redact_url};
use crate::sources::{csv_files, egov, goszakup, ocds, samruk};

/// A credential from the command line or the configuration: kept out of `Debug` output, and
/// so out of logs.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("\"***\"")
    }
}

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// What to import: a source and its arguments, as `scrutiny import` takes them on the command
/// line and `serve` reads them from the configuration's `[[imports]]` schedule.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum SourceSpec {
    Goszakup {
        base_url: String,
        /// The OWS bearer token; never logged.
        #[serde(default)]
        token: Option<Secret>,
        /// Collection names (`contract`, `trd-buy`, …); empty means all.
        #[serde(default)]
        only: Vec<String>,
    },
    Samruk {
        base_url: String,
    },
    Egov {
        base_url: String,
        api_key: Secret,
        dataset: String,
    },
    Ocds {
        inputs: Vec<String>,
    },
    Csv {
        kind: String,
        mapping: PathBuf,
        paths: Vec<PathBuf>,
    },
}

impl SourceSpec {
    /// The source's name, as import runs record it.
    pub fn name(&self) -> &'static str {
        match self {
            SourceSpec::Goszakup { .. } => goszakup::SOURCE,
            SourceSpec::Samruk { .. } => samruk::SOURCE,
            SourceSpec::Egov { .. } => egov::SOURCE,
            SourceSpec::Ocds { .. } => ocds::SOURCE,
            SourceSpec::Csv { .. } => "csv",
        }
    }
}

fn absolute(path: &std::path::Path) -> String {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf()).display().to_string()
}

/// Runs one import to the end: starts (or resumes) the run, walks the source, and records the
/// outcome. The scope that identifies a run (for resuming and for incremental reads) is the
/// base URL with the collections or dataset, or the absolute paths of the files.
pub async fn run(
    db: &sea_orm::DatabaseConnection,
    spec: &SourceSpec,
    http: &HttpOptions,
    options: RunOptions,
) -> Result<Summary, ImportError> {
    let plain = || Upstream::new(http.clone(), Default::default());
    match spec {
        SourceSpec::Goszakup { base_url, token, only } => {
            let collections = if only.is_empty() {
                goszakup::Collection::ALL.to_vec()
            } else {
                let mut chosen = Vec::new();
                for name in only {
                    let collection = goszakup::Collection::parse(name).ok_or_else(|| {
                        let known: Vec<&str> = goszakup::Collection::ALL.iter().map(|c| c.name()).collect();
                        ImportError::Input(format!(
                            "unknown goszakup collection {name:?}; the collections are {}",
                            known.join(", ")
                        ))
                    })?;
                    chosen.push(collection);
                }
                // Referenced collections first, whatever order they were named in.
                goszakup::Collection::ALL.into_iter().filter(|c| chosen.contains(c)).collect()
            };
            let headers = match token {
                Some(token) => Upstream::bearer(token.expose())?,
                None => Default::default(),
            };
            let upstream = Upstream::new(http.clone(), headers)?;
            let names: Vec<&str> = collections.iter().map(|c| c.name()).collect();
            let scope = format!("{} {}", base_url.trim_end_matches('/'), names.join(","));
            let mut sink = Sink::start(db, goszakup::SOURCE, &scope, options).await?;
            let outcome = goszakup(&mut sink, &upstream, base_url, &collections).await;
            sink.finish(outcome).await
        }
        SourceSpec::Samruk { base_url } => {
            let upstream = plain()?;
            let mut sink = Sink::start(db, samruk::SOURCE, base_url.trim_end_matches('/'), options).await?;
            let outcome = samruk(&mut sink, &upstream, base_url).await;
            sink.finish(outcome).await
        }
        SourceSpec::Egov { base_url, api_key, dataset } => {
            let upstream = plain()?;
            let scope = format!("{} {dataset}", base_url.trim_end_matches('/'));
            let mut sink = Sink::start(db, egov::SOURCE, &scope, options).await?;
            let outcome = egov(&mut sink, &upstream, base_url, api_key.expose(), dataset).await;
            sink.finish(outcome).await
        }
        SourceSpec::Ocds { inputs } => {
            let upstream = plain()?;
            let inputs: Vec<String> = inputs
                .iter()
                .map(|input| if is_url(input) { input.clone() } else { absolute(std::path::Path::new(input)) })
                .collect();
            let scope = inputs.iter().map(|i| redact_url(i)).collect::<Vec<_>>().join(" ");
            let mut sink = Sink::start(db, ocds::SOURCE, &scope, options).await?;
            let outcome = ocds(&mut sink, &upstream, &inputs).await;
            sink.finish(outcome).await
        }
        SourceSpec::Csv { kind, mapping, paths } => {
            let kind = csv_files::Kind::parse(kind)
                .ok_or_else(|| ImportError::Input(format!("--kind {kind:?} is not payments, decisions or budget")))?;
            let mapping = csv_files::Mapping::load(kind, mapping)?;
            let scope = format!("{} {}", kind.name(), paths.iter().map(|p| absolute(p)).collect::<Vec<_>>().join(" "));
            let mut sink = Sink::start(db, &mapping.source, &scope, options).await?;
            let outcome = csv_files::import(&mut sink, &mapping, paths).await;
            sink.finish(outcome).await
        }
    }
}

fn is_url(input: &str) -> bool {
    input.starts_with("http://") || input.starts_with("https://")
}

/// OCDS inputs, files or URLs, each read as a stream. Checkpoint: `input index:items done`.
pub async fn ocds(sink: &mut Sink, upstream: &Upstream, inputs: &[String]) -> Result<Option<String>, ImportError> {
    let resume = sink.resume_from().and_then(|text| {
        let (input, item) = text.split_once(':')?;
        Some((input.parse::<usize>().ok()?, item.parse::<u64>().ok()?))
    });
    for (index, input) in inputs.iter().enumerate() {
        let skip = match resume {
            Some((done_input, _)) if index < done_input => continue,
            Some((done_input, items)) if index == done_input => items,
            _ => 0,
        };
        let reader: Box<dyn Read + Send> = if is_url(input) {
            Box::new(std::io::Cursor::new(upstream.get(input).await?))
        } else {
            Box::new(
                std::fs::File::open(input).map_err(|error| ImportError::Input(format!("opening {input}: {error}")))?,
            )
        };
        sink.fetched_now();
        let shown = redact_url(input);
        let limit = sink.options().max_release_bytes;
        // The reader's iterator blocks while the parser works: it runs on a blocking thread and
        // hands its items over a bounded channel, so `serve`'s async workers, which answer
        // requests while a scheduled import runs, are never held by a large input.
        let (items, mut received) = tokio::sync::mpsc::channel(256);
        let reading = tokio::task::spawn_blocking(move || {
            for parsed in ocds::read_with_limit(&shown, reader, limit) {
                if items.blocking_send(parsed).is_err() {
                    // The run stopped (a failed write): dropping the iterator stops the parser.
                    break;
                }
            }
        });
        let mut done = 0u64;
        while let Some(parsed) = received.recv().await {
            done += 1;
            if done <= skip {
                continue;
            }
            sink.push(parsed);
            if sink.full() {
                sink.commit(Some(format!("{index}:{done}"))).await?;
            }
        }
        reading.await.map_err(|error| ImportError::Input(format!("reading {}: {error}", redact_url(input))))?;
        sink.commit(Some(format!("{index}:{done}"))).await?;
    }
    Ok(None)
}

/// Where a goszakup run had got to.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct GoszakupCheckpoint {
    /// The collection being read, and the page to read next (`None`: its first page).
    collection: String,
    next: Option<String>,
    /// When the run started: the journal cursor the next incremental run starts from.
    started: String,
}

/// goszakup OWS v3: a full read of each collection (following `next_page`), or, when an
/// earlier run of the same scope succeeded, the journal since the cursor it reached, applying
/// its updates (each changed object refetched) and deletions.
pub async fn goszakup(
    sink: &mut Sink,
    upstream: &Upstream,
    base_url: &str,
    collections: &[goszakup::Collection],
) -> Result<Option<String>, ImportError> {
    let base = base_url.trim_end_matches('/');
    let started = Utc::now().format("%Y-%m-%d %H:%M:%S").to_string();
    let mut refs = goszakup::Refs::new();
    for book in goszakup::REF_BOOKS {
        let url = format!("{base}{}", goszakup::ref_path(book));
        let mut next = Some(url);
        while let Some(url) = next.take() {
            let page = fetch_page(upstream, &url).await?;
            refs.add(book, &page.items);
            next = page.next_page.map(|path| join(base, &path)).transpose()?;
        }
    }
    if let (Some(previous), None) = (sink.previous_cursor().map(str::to_owned), sink.resume_from()) {
        return goszakup_journal(sink, upstream, base, collections, &refs, &previous, &started).await;
    }
    let resume: Option<GoszakupCheckpoint> = sink.resume_from().and_then(|text| serde_json::from_str(text).ok());
    let started = resume.as_ref().map(|c| c.started.clone()).unwrap_or(started);
    let mut skipping = resume.is_some();
    for collection in collections.iter().filter(|c| c.table().is_some()) {
        let mut next = Some(format!("{base}{}", collection.path()));
        if skipping {
            let checkpoint = resume.as_ref().expect("skipping only when resuming");
            if checkpoint.collection != collection.name() {
                continue;
            }
            skipping = false;
            match &checkpoint.next {
                Some(path) => next = Some(join(base, path)?),
                None => continue,
            }
        }
        let mut first = true;
        while let Some(url) = next.take() {
            let page = fetch_page(upstream, &url).await?;
            sink.fetched_now();
            if first && let Some(total) = page.total {
                sink.set_total(total, &format!("{} records", collection.name()));
                sink.set_position(0);
            }
            first = false;
            let count = page.items.len() as u64;
            let mapped = goszakup::map_page(*collection, &redact_url(&url), &page.items, &refs);
            for (item, parsed) in page.items.iter().zip(mapped) {
                // A register entry listed without its dates is read in full from its supplier's
                // page (one page: a supplier has a handful of entries), which replaces it.
                if *collection == goszakup::Collection::Rnu
                    && let Some(path) = goszakup::rnu_entries_path(item)
                {
                    let entries_url = format!("{base}{path}");
                    let entries = fetch_page(upstream, &entries_url).await?;
                    if !entries.items.is_empty() {
                        let shown = redact_url(&entries_url);
                        for parsed in goszakup::map_page(*collection, &shown, &entries.items, &refs) {
                            sink.push(parsed);
                        }
                        continue;
                    }
                }
                sink.push(parsed);
            }
            next = page.next_page.as_deref().map(|path| join(base, path)).transpose()?;
            let checkpoint = GoszakupCheckpoint {
                collection: collection.name().to_owned(),
                next: next.clone(),
                started: started.clone(),
            };
            sink.commit(Some(serde_json::to_string(&checkpoint).expect("checkpoints serialize"))).await?;
            sink.set_position(count);
        }
    }
    Ok(Some(started))
}

async fn goszakup_journal(
    sink: &mut Sink,
    upstream: &Upstream,
    base: &str,
    collections: &[goszakup::Collection],
    refs: &goszakup::Refs,
    since: &str,
    until: &str,
) -> Result<Option<String>, ImportError> {
    // A minute of overlap: an entry written as the previous run ended is read again, and
    // counted unchanged, rather than missed.
    let from = chrono::NaiveDateTime::parse_from_str(since, "%Y-%m-%d %H:%M:%S")
        .map(|t| (t - Duration::minutes(1)).format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_else(|_| since.to_owned());
    let query = |value: &str| value.replace(' ', "%20");
    let mut next = Some(format!("{base}/v3/journal?date_from={}&date_to={}", query(&from), query(until)));
    while let Some(url) = next.take() {
        let page = fetch_page(upstream, &url).await?;
        sink.fetched_now();
        for entry in goszakup::map_journal(&redact_url(&url), &page.items) {
            match entry {
                Ok(goszakup::JournalEntry::Deleted(record)) => sink.push(Parsed::Records {
                    location: Location::new(redact_url(&url), None),
                    records: vec![record],
                    repairs: vec![],
                }),
                Ok(goszakup::JournalEntry::Changed { collection, id }) => {
                    if !collections.contains(&collection) {
                        continue;
                    }
                    // One object: the list's path without `/all`, then the id.
                    let item_url = format!("{base}{}/{id}", collection.path().trim_end_matches("/all"));
                    let body = upstream.get(&item_url).await?;
                    match serde_json::from_slice::<serde_json::Value>(&body) {
                        Ok(item) => {
                            // One object, or (as `/v3/rnu/{biin}` answers) a list envelope of them.
                            let items = match item {
                                serde_json::Value::Object(mut object)
                                    if matches!(object.get("items"), Some(serde_json::Value::Array(_))) =>
                                {
                                    match object.remove("items") {
                                        Some(serde_json::Value::Array(items)) => items,
                                        _ => Vec::new(),
                                    }
                                }
                                item => vec![item],
                            };
                            for parsed in goszakup::map_page(collection, &redact_url(&item_url), &items, refs) {
                                sink.push(parsed);
                            }
                        }
                        Err(error) => sink.push(Parsed::Rejected(Reject::new(
                            Location::new(redact_url(&item_url), None),
                            Some(id),
                            format!("the object is not JSON: {error}"),
                        ))),
                    }
                }
                Err(reject) => sink.push(Parsed::Rejected(reject)),
            }
        }
        next = page.next_page.as_deref().map(|path| join(base, path)).transpose()?;
        sink.commit(None).await?;
    }
    Ok(Some(until.to_owned()))
}

/// `next_page` is a path (`/v3/contract/all?search_after=…`) or, rarely, a whole URL, which
/// must stay on the base URL's scheme, host and port: the requests carry the goszakup token,
/// and a page must not be able to send it elsewhere.
fn join(base: &str, path: &str) -> Result<String, ImportError> {
    if !is_url(path) {
        return Ok(format!("{base}/{}", path.trim_start_matches('/')));
    }
    let origin = |url: &str| reqwest::Url::parse(url).ok().map(|u| u.origin());
    match (origin(base), origin(path)) {
        (Some(base_origin), Some(next_origin)) if base_origin == next_origin => Ok(path.to_owned()),
        _ => Err(ImportError::Input(format!(
            "the upstream's next page {} leaves {}: refused, so the token goes nowhere else",
            redact_url(path),
            redact_url(base)
        ))),
    }
}

/// Fetches and parses a page; a malformed page (HTML from a proxy, truncated JSON) is fetched
/// again a few times, then stops the run with the reason, to resume at that page later.
async fn fetch_page(upstream: &Upstream, url: &str) -> Result<goszakup::Page, ImportError> {
    let mut last = String::new();
    for attempt in 0..3 {
        if attempt > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(200 << attempt)).await;
        }
        let body = upstream.get(url).await?;
        match goszakup::parse_page(&body) {
            Ok(page) => return Ok(page),
            Err(reason) => last = reason,
        }
    }
    Err(ImportError::Input(format!("{}: {last}", redact_url(url))))
}

/// zakup.sk.kz: adverts (tenders) page by page with each advert's lots, then contract cards.
/// Checkpoint: `adverts:N` or `contracts:N`, the next page to read.
pub async fn samruk(sink: &mut Sink, upstream: &Upstream, base_url: &str) -> Result<Option<String>, ImportError> {
    const ADVERTS_PER_PAGE: usize = 50;
    const LOTS_PER_PAGE: usize = 100;
    let base = base_url.trim_end_matches('/');
    let resume: Option<(String, u64)> = sink.resume_from().and_then(|text| {
        let (phase, page) = text.split_once(':')?;
        Some((phase.to_owned(), page.parse().ok()?))
    });
    let (phase, mut page) = resume.unwrap_or_else(|| ("adverts".into(), 0));
    if phase == "adverts" {
        loop {
            let url = format!("{base}{}?size={ADVERTS_PER_PAGE}&page={page}", samruk::ADVERTS_PATH);
            let body = upstream.post_json(&url, &serde_json::json!({})).await?;
            let adverts =
                samruk::parse_adverts(&body).map_err(|reason| ImportError::Input(format!("{url}: {reason}")))?;
            sink.fetched_now();
            for (position, advert) in adverts.iter().enumerate() {
                sink.push(samruk::map_advert(Location::new(&url, Some(position as u64 + 1)), advert));
                let Some(id) = crate::parse::text(advert.get("id")) else { continue };
                for lot_page in 0.. {
                    let lots_url = format!("{base}{}?size={LOTS_PER_PAGE}&page={lot_page}", samruk::lots_path(&id));
                    let body = upstream.get(&lots_url).await?;
                    let lots = samruk::parse_lots(&body)
                        .map_err(|reason| ImportError::Input(format!("{lots_url}: {reason}")))?;
                    for (position, lot) in lots.iter().enumerate() {
                        sink.push(samruk::map_lot(&id, Location::new(&lots_url, Some(position as u64 + 1)), lot));
                    }
                    if lots.len() < LOTS_PER_PAGE {
                        break;
                    }
                }
            }
            page += 1;
            sink.commit(Some(format!("adverts:{page}"))).await?;
            if adverts.len() < ADVERTS_PER_PAGE {
                break;
            }
        }
        page = 0;
    }
    loop {
        let url = format!("{base}{}?size=100&page={page}", samruk::CONTRACT_CARDS_PATH);
        let body = upstream.post_json(&url, &serde_json::json!({})).await?;
        let cards =
            samruk::parse_spring_page(&body).map_err(|reason| ImportError::Input(format!("{url}: {reason}")))?;
        sink.fetched_now();
        if let (0, Some(total)) = (page, cards.total_elements) {
            sink.set_total(total, "contract cards");
        }
        for (position, card) in cards.content.iter().enumerate() {
            sink.push(samruk::map_contract_card(Location::new(&url, Some(position as u64 + 1)), card));
        }
        page += 1;
        sink.commit(Some(format!("contracts:{page}"))).await?;
        if cards.is_last() || cards.content.is_empty() {
            break;
        }
    }
    Ok(None)
}

/// data.egov.kz: one dataset, 100 rows a request (`source={"from":N,"size":100}`) until a
/// short page. Checkpoint: rows done.
pub async fn egov(
    sink: &mut Sink,
    upstream: &Upstream,
    base_url: &str,
    api_key: &str,
    dataset: &str,
) -> Result<Option<String>, ImportError> {
    const SIZE: u64 = 100;
    let base = base_url.trim_end_matches('/');
    let (name, version) = dataset.split_once('/').unwrap_or((dataset, "v1"));
    let mut from: u64 = sink.resume_from().and_then(|text| text.parse().ok()).unwrap_or(0);
    loop {
        let source = format!("{{\"from\":{from},\"size\":{SIZE}}}");
        let url = format!(
            "{base}{}?apiKey={}&source={}",
            egov::dataset_path(name, version),
            encode(api_key),
            encode(&source)
        );
        let body = upstream.get(&url).await?;
        let shown = redact_url(&url);
        let rows = egov::parse_rows(&body).map_err(|reason| ImportError::Input(format!("{shown}: {reason}")))?;
        sink.fetched_now();
        for (position, row) in rows.iter().enumerate() {
            sink.push(egov::map_row(name, Location::new(&shown, Some(from + position as u64 + 1)), row));
        }
        from += rows.len() as u64;
        sink.commit(Some(from.to_string())).await?;
        if (rows.len() as u64) < SIZE {
            break;
        }
    }
    Ok(None)
}

/// Percent-encodes a query value.
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
