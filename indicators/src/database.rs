//! The indicators over the database: cardinal's over the compiled releases the database
//! serves (the same releases `/v1/ocds/releases` publishes, so a reader can re-run cardinal
//! on them and get the same flags), Kazakhstan's own over the records, and the results stored.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use domain::DomainError;
use domain::entities::organization;
use domain::findings::calendar::kazakhstan_date;
use domain::ocds::{self, Process};
use domain::pagination::{Cursor, Limit};
use domain::red_flags::affected::{self, Affected, AffectedRecords};
use domain::red_flags::{self, CoverageRow, NewFlag, Refresh, Stored, SubjectKind};

use crate::catalogue;
use crate::digest::{BuyerDigest, ProcessDigest, ProcessFacts};
use crate::engine::{Engine, Outcome, Partial};
use crate::kazakhstan::facts::Tally;
use crate::kazakhstan::{self, KzOutcome, KzSettings};
use crate::rules::{Flag, Group};
use crate::settings::Settings;

/// How a refresh went about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshKind {
    /// Every process and buyer recomputed, for the reason given.
    Full { reason: String },
    /// Only what the change feed named since the last refresh.
    Incremental {
        /// Changes followed.
        changes: u64,
        /// Processes whose releases were built and folded again.
        processes: u64,
        /// Buyers whose contracts were judged again.
        buyers: u64,
    },
}

/// What a refresh did.
#[derive(Debug, Clone)]
pub struct RefreshReport {
    pub kind: RefreshKind,
    /// Processes cardinal's indicators read (from releases or from their digests).
    pub processes: u64,
    /// Flags found per indicator among what was recomputed.
    pub found: BTreeMap<String, u64>,
    pub stored: Stored,
    pub last_change_id: i64,
}

/// Digest scopes: a process by the record that defines it, in list order (index 0 tenders,
/// 1 direct contracts), and a buyer.
const PROCESS_SCOPES: [&str; 2] = ["tender", "direct"];
const BUYER: &str = "buyer";
/// Processes per batch of releases built for an incremental refresh, as a page of the list.
const RELEASE_BATCH: usize = 100;
/// Digests read per query.
const DIGEST_PAGE: u64 = 1_000;

/// A process's place in list order (tenders by id, then direct contracts by id): its scope's
/// index in [`PROCESS_SCOPES`] and its record id.
fn list_key(process: &Process) -> (usize, i64) {
    match process {
        Process::Tender(tender) => (0, tender.id),
        Process::Direct(contract) => (1, contract.id),
    }
}

fn facts_of(process: &Process) -> ProcessFacts {
    match process {
        Process::Tender(tender) => ProcessFacts {
            tender_id: Some(tender.id),
            contract_id: None,
            buyer_id: tender.buyer_id,
            observed_on: kazakhstan_date(tender.published_at),
        },
        Process::Direct(contract) => ProcessFacts {
            tender_id: None,
            contract_id: Some(contract.id),
            buyer_id: contract.buyer_id,
            // A draft is observed from when the portal learned of it.
            observed_on: kazakhstan_date(contract.signed_at.unwrap_or(contract.fetched_at)),
        },
    }
}

/// One process's release folded on its own, if it parses.
fn digest_of(engine: &Engine, release: &Value, process: &Process) -> Option<ProcessDigest> {
    // The releases are in memory already: the parse borrows from them.
    let parsed = crate::release::from_value(release)?;
    let mut partial = engine.partial();
    engine.fold(&parsed, 0, &mut partial);
    Some(ProcessDigest::of(process.ocid(), facts_of(process), partial))
}

fn digest_text(digest: &ProcessDigest) -> String {
    serde_json::to_string(digest).expect("a digest serialises")
}

/// Digests merged in list order, each as the next input line.
struct Fold<'e> {
    engine: &'e Engine,
    total: Partial,
    processes: HashMap<String, ProcessFacts>,
    line: u64,
}

impl<'e> Fold<'e> {
    fn new(engine: &'e Engine) -> Self {
        Fold { engine, total: engine.partial(), processes: HashMap::new(), line: 0 }
    }

    fn add(&mut self, digest: ProcessDigest) {
        self.line += 1;
        self.processes.insert(digest.ocid.clone(), digest.facts.clone());
        digest.merge_into(&mut self.total, self.line);
    }

    async fn finish(
        self,
        db: &DatabaseConnection,
        settings: &Settings,
        now: DateTime<Utc>,
    ) -> Result<CardinalPass, DomainError> {
        let outcome = self.engine.finish(vec![self.total]);
        let flags = to_new_flags(db, &outcome, &self.processes, now).await?;
        let coverage = outcome
            .coverage
            .iter()
            .map(|(code, coverage)| CoverageRow {
                indicator: code.as_str().to_owned(),
                evaluated: coverage.evaluated,
                not_applicable: coverage.not_applicable.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
                settings: catalogue::cardinal_settings_json(settings, *code),
            })
            .collect();
        Ok(CardinalPass {
            flags,
            coverage,
            processes: outcome.releases,
            digests: Default::default(),
            stale: Default::default(),
            main_currency: self.engine.main_currency().map(str::to_owned),
            rebuilt: 0,
        })
    }
}

/// What a pass of cardinal's indicators found, and the digests to keep.
struct CardinalPass {
    flags: Vec<NewFlag>,
    coverage: Vec<CoverageRow>,
    processes: u64,
    /// Digests to write, by scope (as [`PROCESS_SCOPES`]): record id, digest.
    digests: [Vec<(i64, String)>; 2],
    /// Digests to remove first, by scope: the processes recomputed or gone.
    stale: [Vec<i64>; 2],
    main_currency: Option<String>,
    /// Releases built.
    rebuilt: u64,
}

/// Cardinal's indicators over every process in the database, keeping each process's digest.
async fn cardinal_full(
    db: &DatabaseConnection,
    settings: &Settings,
    now: DateTime<Utc>,
) -> Result<CardinalPass, DomainError> {
    let engine = Engine::new(settings.clone(), true);
    let mut fold = Fold::new(&engine);
    let mut digests: [Vec<(i64, String)>; 2] = Default::default();
    let limit = Limit::new(Some(domain::pagination::MAX_LIMIT)).expect("the largest page is a valid limit");
    let mut after: Option<Cursor> = None;
    loop {
        let page = ocds::releases(db, after.as_ref(), limit).await?;
        for (release, process) in page.releases.iter().zip(&page.processes) {
            let Some(digest) = digest_of(&engine, release, process) else { continue };
            let (scope, id) = list_key(process);
            digests[scope].push((id, digest_text(&digest)));
            fold.add(digest);
        }
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    let rebuilt = digests.iter().map(Vec::len).sum::<usize>() as u64;
    let mut pass = fold.finish(db, settings, now).await?;
    pass.digests = digests;
    pass.rebuilt = rebuilt;
    Ok(pass)
}

/// Cardinal's indicators with the affected processes' releases folded again and every other
/// process read from its digest; `Err` with the reason when a stored digest cannot be read (a
/// full refresh then writes them again).
async fn cardinal_incremental(
    db: &DatabaseConnection,
    settings: &Settings,
    main_currency: Option<String>,
    affected: &AffectedRecords,
    now: DateTime<Utc>,
) -> Result<Result<CardinalPass, String>, DomainError> {
    let engine = Engine::new(settings.clone(), true);
    if let Some(currency) = main_currency {
        engine.set_currency(currency);
    }
    // Every affected key, with its new digest or `None` when it no longer defines a process.
    let mut fresh: BTreeMap<(usize, i64), Option<ProcessDigest>> = BTreeMap::new();
    fresh.extend(affected.tenders.iter().map(|id| ((0, *id), None)));
    fresh.extend(affected.direct_contracts.iter().map(|id| ((1, *id), None)));
    let tenders: Vec<i64> = affected.tenders.iter().copied().collect();
    let direct: Vec<i64> = affected.direct_contracts.iter().copied().collect();
    let mut rebuilt = 0;
    for (tender_ids, direct_ids) in tenders
        .chunks(RELEASE_BATCH)
        .map(|chunk| (chunk, &[][..]))
        .chain(direct.chunks(RELEASE_BATCH).map(|chunk| (&[][..], chunk)))
    {
        let page = ocds::releases_of(db, tender_ids, direct_ids).await?;
        for (release, process) in page.releases.iter().zip(&page.processes) {
            rebuilt += 1;
            fresh.insert(list_key(process), digest_of(&engine, release, process));
        }
    }
    let mut digests: [Vec<(i64, String)>; 2] = Default::default();
    let mut stale: [Vec<i64>; 2] = Default::default();
    for ((scope, id), digest) in &fresh {
        stale[*scope].push(*id);
        if let Some(digest) = digest {
            digests[*scope].push((*id, digest_text(digest)));
        }
    }

    let mut fold = Fold::new(&engine);
    let mut fresh = fresh.into_iter().peekable();
    for (order, scope) in PROCESS_SCOPES.into_iter().enumerate() {
        let mut after = 0;
        loop {
            let rows = red_flags::store::digests(db, scope, after, DIGEST_PAGE).await?;
            if rows.is_empty() {
                break;
            }
            for (id, text) in rows {
                after = id;
                let mut replaced = false;
                while let Some(((fresh_order, fresh_id), _)) = fresh.peek() {
                    if (*fresh_order, *fresh_id) > (order, id) {
                        break;
                    }
                    let (key, digest) = fresh.next().expect("peeked");
                    replaced |= key == (order, id);
                    if let Some(digest) = digest {
                        fold.add(digest);
                    }
                }
                if replaced {
                    continue;
                }
                match serde_json::from_str::<ProcessDigest>(&text) {
                    Ok(digest) => fold.add(digest),
                    Err(error) => return Ok(Err(format!("the digest of {scope} {id} cannot be read: {error}"))),
                }
            }
        }
    }
    for (_, digest) in fresh {
        if let Some(digest) = digest {
            fold.add(digest);
        }
    }
    let mut pass = fold.finish(db, settings, now).await?;
    pass.digests = digests;
    pass.stale = stale;
    pass.rebuilt = rebuilt;
    Ok(Ok(pass))
}

/// Organizations by the party id releases give them.
async fn organizations_by_party(
    db: &DatabaseConnection,
    party_ids: &BTreeSet<&str>,
    buyer_ids: &BTreeSet<i64>,
) -> Result<(HashMap<String, organization::Model>, HashMap<i64, organization::Model>), DomainError> {
    let bins: Vec<&str> = party_ids.iter().filter_map(|id| id.strip_prefix("KZ-BIN-")).collect();
    let mut by_party = HashMap::new();
    for chunk in bins.chunks(5_000) {
        for row in
            organization::Entity::find().filter(organization::Column::Bin.is_in(chunk.iter().copied())).all(db).await?
        {
            by_party.insert(ocds::party_id(&row), row);
        }
    }
    let others: Vec<&str> = party_ids.iter().copied().filter(|id| !id.starts_with("KZ-BIN-")).collect();
    for id in others {
        // `{source}-{upstream id}`: sources have no hyphen.
        let Some((source, upstream_id)) = id.split_once('-') else { continue };
        let row = organization::Entity::find()
            .filter(organization::Column::Source.eq(source))
            .filter(organization::Column::UpstreamId.eq(upstream_id))
            .one(db)
            .await?;
        if let Some(row) = row {
            by_party.insert(id.to_owned(), row);
        }
    }
    let mut by_id = HashMap::new();
    let ids: Vec<i64> = buyer_ids.iter().copied().collect();
    for chunk in ids.chunks(5_000) {
        for row in
            organization::Entity::find().filter(organization::Column::Id.is_in(chunk.iter().copied())).all(db).await?
        {
            by_id.insert(row.id, row);
        }
    }
    Ok((by_party, by_id))
}

fn record(kind: &str, id: i64) -> Value {
    let collection = match kind {
        "tender" => "tenders",
        "contract" => "contracts",
        _ => "organizations",
    };
    json!({ "type": kind, "id": id, "href": format!("/v1/{collection}/{id}") })
}

/// A float as the decimal text a flag stores: the shortest that reads back the same.
fn decimal_text(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 { format!("{}", value as i64) } else { format!("{value}") }
}

async fn to_new_flags(
    db: &DatabaseConnection,
    outcome: &Outcome,
    processes: &HashMap<String, ProcessFacts>,
    now: DateTime<Utc>,
) -> Result<Vec<NewFlag>, DomainError> {
    // The last flag per (group, key, code) stands, as in cardinal's output.
    let mut last: BTreeMap<(Group, &str, crate::Code), &Flag> = BTreeMap::new();
    for flag in &outcome.flags {
        last.insert((flag.group, flag.key.as_str(), flag.code), flag);
    }
    let party_ids: BTreeSet<&str> =
        last.keys().filter(|(group, _, _)| *group != Group::Ocid).map(|(_, key, _)| *key).collect();
    let buyer_ids: BTreeSet<i64> = processes.values().map(|p| p.buyer_id).collect();
    let (by_party, by_id) = organizations_by_party(db, &party_ids, &buyer_ids).await?;
    let today = kazakhstan_date(now);
    let mut flags = Vec::with_capacity(last.len());
    for ((group, key, code), flag) in last {
        let evidence = flag.evidence.as_deref();
        let ocid = evidence.and_then(|e| e.ocid.clone());
        let process = ocid.as_deref().and_then(|ocid| processes.get(ocid));
        let mut records = Vec::new();
        let (subject_kind, buyer_id, supplier_id) = match group {
            Group::Ocid => (SubjectKind::Process, process.map(|p| p.buyer_id), None),
            Group::Buyer | Group::ProcuringEntity => {
                let kind = if group == Group::Buyer { SubjectKind::Buyer } else { SubjectKind::ProcuringEntity };
                (kind, by_party.get(key).map(|o| o.id), None)
            }
            Group::Tenderer => (SubjectKind::Tenderer, process.map(|p| p.buyer_id), by_party.get(key).map(|o| o.id)),
        };
        if let Some(process) = process {
            if let Some(id) = process.tender_id {
                records.push(record("tender", id));
            }
            if let Some(id) = process.contract_id {
                records.push(record("contract", id));
            }
        }
        for id in [buyer_id, supplier_id].into_iter().flatten() {
            records.push(record("organization", id));
        }
        let region_kato =
            buyer_id.and_then(|id| by_id.get(&id).or_else(|| by_party.get(key)).and_then(|o| o.region_kato.clone()));
        let mut body = serde_json::Map::new();
        body.insert("indicator".into(), json!(code.as_str()));
        body.insert("group".into(), json!(group.as_str()));
        body.insert("key".into(), json!(key));
        body.insert("value".into(), json!(flag.value));
        if let Some(evidence) = evidence {
            body.insert("facts".into(), Value::Object(evidence.facts.clone()));
        }
        body.insert("records".into(), Value::Array(records));
        flags.push(NewFlag {
            indicator: code.as_str().to_owned(),
            subject_kind,
            subject_key: key.to_owned(),
            ocid: ocid.clone(),
            tender_id: process.and_then(|p| p.tender_id),
            contract_id: process.and_then(|p| p.contract_id),
            buyer_id,
            supplier_id,
            region_kato,
            // Flags over all processes (outliers among organizations) are about now.
            observed_on: process.map_or(today, |p| p.observed_on),
            severity: catalogue::cardinal_severity(code),
            value: decimal_text(flag.value),
            evidence: Value::Object(body).to_string(),
        });
    }
    Ok(flags)
}

/// The settings the database is judged with: cardinal's indicators, and Kazakhstan's own.
#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    pub cardinal: Settings,
    pub kazakhstan: KzSettings,
    /// The file's SHA-256, stored with the flags: a refresh with other settings recomputes.
    pub sha256: String,
}

impl DatabaseSettings {
    /// Reads a settings file holding both (`[R003]` … and `[KZ01]` …).
    pub fn parse(text: &str) -> Result<Self, crate::settings::SettingsError> {
        use sha2::Digest;
        let cardinal = Settings::parse(text)?;
        let kazakhstan = KzSettings::from_sections(&cardinal.kazakhstan)?;
        let sha256 = sha2::Sha256::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
        Ok(DatabaseSettings { cardinal, kazakhstan, sha256 })
    }

    /// The project's own settings, `fixtures/indicators.ini`: every indicator on.
    pub fn project() -> Self {
        DatabaseSettings::parse(PROJECT_SETTINGS).expect("fixtures/indicators.ini is valid")
    }
}

/// The project's settings file, with each threshold's reason.
pub const PROJECT_SETTINGS: &str = include_str!("../../fixtures/indicators.ini");

/// Recomputes every indicator over the database and stores the flags in one transaction.
pub async fn refresh(
    db: &DatabaseConnection,
    settings: &DatabaseSettings,
    now: DateTime<Utc>,
) -> Result<RefreshReport, DomainError> {
    full_refresh(db, settings, now, "asked for".to_owned()).await
}

async fn full_refresh(
    db: &DatabaseConnection,
    settings: &DatabaseSettings,
    now: DateTime<Utc>,
    reason: String,
) -> Result<RefreshReport, DomainError> {
    // Changes after this one may or may not be in what is read: the next refresh reads them.
    let last_change_id = domain::changes::last_sequence(db).await?;
    // Building every release is the cost of cardinal's indicators: none enabled, none built.
    let cardinal = if settings.cardinal.enabled().is_empty() {
        None
    } else {
        Some(cardinal_full(db, &settings.cardinal, now).await?)
    };
    let kz = kazakhstan::compute(db, &settings.kazakhstan).await?;
    let mut store = Refresh::begin(db, now).await?;
    store.clear_digests().await?;
    let report = store_results(&mut store, settings, cardinal, kz, None).await?;
    let stored = store.commit(last_change_id, &settings.sha256, report.main_currency).await?;
    Ok(RefreshReport {
        kind: RefreshKind::Full { reason },
        processes: report.processes,
        found: report.found,
        stored,
        last_change_id,
    })
}

/// What [`store_results`] hands back for the report.
struct StoredResults {
    processes: u64,
    found: BTreeMap<String, u64>,
    main_currency: Option<String>,
}

/// Stores a pass's flags, coverage and digests. `buyers` are the buyers an incremental pass
/// recomputed (`None`: all of them), with the tallies of the others' digests in `others`.
async fn store_results(
    store: &mut Refresh,
    settings: &DatabaseSettings,
    cardinal: Option<CardinalPass>,
    kz: KzOutcome,
    incremental: Option<(&[i64], [Tally; 8])>,
) -> Result<StoredResults, DomainError> {
    let mut found: BTreeMap<String, u64> = BTreeMap::new();
    let cardinal_flags = cardinal.as_ref().map_or(&[][..], |pass| pass.flags.as_slice());
    for flag in cardinal_flags.iter().chain(&kz.flags) {
        *found.entry(flag.indicator.clone()).or_default() += 1;
    }
    let mut coverage = Vec::new();
    let mut processes = 0;
    let mut main_currency = None;
    if let Some(pass) = cardinal {
        let codes: Vec<&str> = settings.cardinal.enabled().into_iter().map(|c| c.as_str()).collect();
        store.replace(&codes, pass.flags).await?;
        for ((scope, stale), digests) in PROCESS_SCOPES.into_iter().zip(pass.stale).zip(pass.digests) {
            store.delete_digests(scope, &stale).await?;
            store.insert_digests(scope, digests).await?;
        }
        coverage.extend(pass.coverage);
        processes = pass.processes;
        main_currency = pass.main_currency;
    }
    let kz_codes = kazakhstan::enabled_codes(&settings.kazakhstan);
    let buyer_digests: Vec<(i64, String)> = kz
        .buyers
        .iter()
        .map(|(id, tallies)| {
            let digest = BuyerDigest { tallies: tallies.clone() };
            (*id, serde_json::to_string(&digest).expect("a digest serialises"))
        })
        .collect();
    match incremental {
        None => {
            store.replace(&kz_codes, kz.flags).await?;
            coverage.extend(kz.coverage);
        }
        Some((buyers, mut totals)) => {
            store.replace_for_buyers(&kz_codes, buyers, kz.flags).await?;
            store.delete_digests(BUYER, buyers).await?;
            for (_, tallies) in &kz.buyers {
                for (total, tally) in totals.iter_mut().zip(tallies) {
                    total.merge(tally);
                }
            }
            coverage.extend(kazakhstan::coverage_rows(&settings.kazakhstan, totals));
        }
    }
    store.insert_digests(BUYER, buyer_digests).await?;
    store.coverage(coverage).await?;
    Ok(StoredResults { processes, found, main_currency })
}

/// The tallies of every buyer's digest but `skip`'s; `Err` with the reason when one cannot be read.
async fn buyer_totals(
    db: &DatabaseConnection,
    skip: &BTreeSet<i64>,
) -> Result<Result<[Tally; 8], String>, DomainError> {
    let mut totals: [Tally; 8] = Default::default();
    let mut after = 0;
    loop {
        let rows = red_flags::store::digests(db, BUYER, after, DIGEST_PAGE).await?;
        if rows.is_empty() {
            return Ok(Ok(totals));
        }
        for (id, text) in rows {
            after = id;
            if skip.contains(&id) {
                continue;
            }
            match serde_json::from_str::<BuyerDigest>(&text) {
                Ok(digest) => {
                    for (total, tally) in totals.iter_mut().zip(&digest.tallies) {
                        total.merge(tally);
                    }
                }
                Err(error) => return Ok(Err(format!("the digest of buyer {id} cannot be read: {error}"))),
            }
        }
    }
}

/// Recomputes what changed since the last refresh: the processes and buyers the change feed
/// names ([`domain::red_flags::affected`]), with the outlier indicators finished again over
/// every process's digest. A full refresh instead when there was none before, the settings
/// changed, a record was deleted, there are too many changes, or a digest cannot be read.
/// `None` when nothing the indicators read changed.
pub async fn refresh_if_changed(
    db: &DatabaseConnection,
    settings: &DatabaseSettings,
    now: DateTime<Utc>,
) -> Result<Option<RefreshReport>, DomainError> {
    let Some(state) = red_flags::store::state(db).await? else {
        return full_refresh(db, settings, now, "no earlier refresh".to_owned()).await.map(Some);
    };
    if state.settings_sha256 != settings.sha256 {
        return full_refresh(db, settings, now, "the settings changed".to_owned()).await.map(Some);
    }
    let last_change_id = domain::changes::last_sequence(db).await?;
    let affected = match affected::since(db, state.last_change_id, state.refreshed_at, Default::default()).await? {
        Affected::Nothing => return Ok(None),
        Affected::Everything(reason) => return full_refresh(db, settings, now, reason).await.map(Some),
        Affected::Some(records) => records,
    };
    let any_process = !(affected.tenders.is_empty() && affected.direct_contracts.is_empty());
    let cardinal = if settings.cardinal.enabled().is_empty() || !any_process {
        None
    } else {
        match cardinal_incremental(db, &settings.cardinal, state.main_currency.clone(), &affected, now).await? {
            Ok(pass) => Some(pass),
            Err(reason) => return full_refresh(db, settings, now, reason).await.map(Some),
        }
    };
    let buyers: Vec<i64> = affected.buyers.iter().copied().collect();
    let others = match buyer_totals(db, &affected.buyers).await? {
        Ok(totals) => totals,
        Err(reason) => return full_refresh(db, settings, now, reason).await.map(Some),
    };
    let kz = kazakhstan::compute_for_buyers(db, &settings.kazakhstan, &buyers).await?;
    let rebuilt = cardinal.as_ref().map_or(0, |pass| pass.rebuilt);
    let mut store = Refresh::begin(db, now).await?;
    let report = store_results(&mut store, settings, cardinal, kz, Some((&buyers, others))).await?;
    let main_currency = report.main_currency.or(state.main_currency);
    let stored = store.commit(last_change_id, &settings.sha256, main_currency).await?;
    Ok(Some(RefreshReport {
        kind: RefreshKind::Incremental { changes: affected.changes, processes: rebuilt, buyers: buyers.len() as u64 },
        processes: report.processes,
        found: report.found,
        stored,
        last_change_id,
    }))
}
