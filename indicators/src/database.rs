//! The indicators over the database: cardinal's over the compiled releases the database
//! serves (the same releases `/v1/ocds/releases` publishes, so a reader can re-run cardinal
//! on them and get the same flags), Kazakhstan's own over the records, and the results stored.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use domain::DomainError;
use domain::entities::organization;
use domain::findings::calendar::kazakhstan_date;
use domain::ocds::{self, Process};
use domain::pagination::{Cursor, Limit};
use domain::red_flags::{CoverageRow, NewFlag, Refresh, Stored, SubjectKind};

use crate::catalogue;
use crate::engine::{Engine, Outcome};
use crate::kazakhstan::{self, KzSettings};
use crate::rules::{Flag, Group};
use crate::settings::Settings;

/// What a refresh did.
#[derive(Debug, Clone, Default)]
pub struct RefreshReport {
    /// Processes cardinal's indicators read.
    pub processes: u64,
    /// Flags found per indicator.
    pub found: BTreeMap<String, u64>,
    pub stored: Stored,
    pub last_change_id: i64,
}

/// Where a process sits in the database.
#[derive(Debug, Clone)]
struct ProcessFacts {
    tender_id: Option<i64>,
    contract_id: Option<i64>,
    buyer_id: i64,
    observed_on: NaiveDate,
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
            observed_on: kazakhstan_date(contract.signed_at),
        },
    }
}

/// Cardinal's indicators over every process in the database.
pub async fn cardinal_over_database(
    db: &DatabaseConnection,
    settings: &Settings,
    now: DateTime<Utc>,
) -> Result<(Vec<NewFlag>, Vec<CoverageRow>, u64), DomainError> {
    let engine = Engine::new(settings.clone(), true);
    let mut partial = engine.partial();
    let mut processes: HashMap<String, ProcessFacts> = HashMap::new();
    let limit = Limit::new(Some(domain::pagination::MAX_LIMIT)).expect("the largest page is a valid limit");
    let mut after: Option<Cursor> = None;
    let mut line = 0;
    loop {
        let page = ocds::releases(db, after.as_ref(), limit).await?;
        for (release, process) in page.releases.iter().zip(&page.processes) {
            line += 1;
            // The releases are in memory already: the parse borrows from them.
            let Some(parsed) = crate::release::from_value(release) else { continue };
            processes.insert(process.ocid(), facts_of(process));
            engine.fold(&parsed, line, &mut partial);
        }
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    let outcome = engine.finish(vec![partial]);
    let flags = to_new_flags(db, &outcome, &processes, now).await?;
    let coverage = outcome
        .coverage
        .iter()
        .map(|(code, coverage)| CoverageRow {
            indicator: code.as_str().to_owned(),
            evaluated: coverage.evaluated,
            not_applicable: coverage.not_applicable.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect(),
            settings: catalogue::cardinal_settings_json(settings, *code),
        })
        .collect();
    Ok((flags, coverage, outcome.releases))
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
    // Changes after this one may or may not be in what is read: the next refresh reads them.
    let last_change_id = domain::changes::last_sequence(db).await?;
    // Building every release is the cost of cardinal's indicators: none enabled, none built.
    let (cardinal_flags, cardinal_coverage, processes) = if settings.cardinal.enabled().is_empty() {
        (Vec::new(), Vec::new(), 0)
    } else {
        cardinal_over_database(db, &settings.cardinal, now).await?
    };
    let kz = kazakhstan::compute(db, &settings.kazakhstan).await?;
    let mut found: BTreeMap<String, u64> = BTreeMap::new();
    for flag in cardinal_flags.iter().chain(&kz.flags) {
        *found.entry(flag.indicator.clone()).or_default() += 1;
    }
    let cardinal_codes: Vec<&str> = settings.cardinal.enabled().into_iter().map(|c| c.as_str()).collect();
    let kz_codes: Vec<String> = kz.coverage.iter().map(|row| row.indicator.clone()).collect();
    let kz_codes: Vec<&str> = kz_codes.iter().map(String::as_str).collect();
    let mut store = Refresh::begin(db, now).await?;
    store.replace(&cardinal_codes, cardinal_flags).await?;
    store.replace(&kz_codes, kz.flags).await?;
    store.coverage(cardinal_coverage.into_iter().chain(kz.coverage).collect()).await?;
    let stored = store.commit(last_change_id, &settings.sha256).await?;
    Ok(RefreshReport { processes, found, stored, last_change_id })
}

/// Refreshes the flags unless nothing they are computed from changed since the last refresh:
/// no record changed in the change feed (flags' and findings' own changes aside) and the
/// settings are the same. `None` when nothing needed doing.
pub async fn refresh_if_changed(
    db: &DatabaseConnection,
    settings: &DatabaseSettings,
    now: DateTime<Utc>,
) -> Result<Option<RefreshReport>, DomainError> {
    use domain::changes::ChangedEntity;
    use domain::entities::unreliable_supplier;
    use sea_orm::PaginatorTrait;
    if let Some(state) = domain::red_flags::store::state(db).await?
        && state.settings_sha256 == settings.sha256
        && !domain::changes::any_after(db, state.last_change_id, &[ChangedEntity::RedFlag, ChangedEntity::Finding])
            .await?
        // The register is not in the change feed: its entries fetched since count as changes.
        && unreliable_supplier::Entity::find()
            .filter(unreliable_supplier::Column::FetchedAt.gt(state.refreshed_at))
            .count(db)
            .await?
            == 0
    {
        return Ok(None);
    }
    refresh(db, settings, now).await.map(Some)
}
