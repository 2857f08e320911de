//! The procurement data as Open Contracting Data Standard 1.1.5
//! (<https://standard.open-contracting.org/1.1/en/schema/>): one compiled release per
//! contracting process, wrapped in release and record packages.
//!
//! A contracting process is a tender, with its lots, the plan items behind them, bids, awards,
//! contracts, amendments and payments; or a contract signed without a tender (a direct
//! single-source contract, `tender_id` NULL), which is a process of its own.
//!
//! Nothing published depends on database ids: the ocid, every object id and the release id are
//! built from upstream identifiers (`source`, `upstream_id`, BINs), and arrays are ordered by
//! upstream data, so the same records give the same releases on any database.
//!
//! Beyond the core schema, releases use these extensions, declared in every package:
//! lots (`tender.lots`, `items[].relatedLot`, `awards[].relatedLots`), bids
//! (`bids.details`), DNCP's planning items (`planning.items`) and status details
//! (`statusDetails`, which keeps the domain's own status beside the codelist one).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use sea_orm::{ActiveEnum, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde_json::{Map, Value, json};

use crate::DomainError;
use crate::db::find_in;
use crate::entities::{
    ContractStatus, ProcurementMethod, TenderStatus, award, bid, budget_line, contract, contract_amendment, lot,
    organization, payment, plan_item, tender,
};
use crate::money::format_minor_units;
use crate::names::{Language, LocalizedName};
use crate::pagination::{Cursor, Limit};
use crate::provenance::content_hash;

pub mod merge;

/// The OCID prefix of the portal's own processes when the configuration names none
/// (`SCRUTINY_OCID_PREFIX`). A deployment must register its own prefix with the Open Contracting
/// Partnership (<https://standard.open-contracting.org/1.1/en/schema/identifiers/#contracting-process-identifier-ocid>)
/// and configure it, or its ocids may clash with another publisher's.
pub const DEFAULT_OCID_PREFIX: &str = "ocds-scrtny";
/// The source of processes imported from OCDS publishers: their upstream id is the publisher's
/// own ocid, which they keep.
pub const IMPORTED_SOURCE: &str = "ocds";

/// An OCID prefix as OCP assigns them: `ocds-` and six letters or digits (`ocds-213czf`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct OcidPrefix(String);

impl TryFrom<String> for OcidPrefix {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        OcidPrefix::parse(&text)
    }
}

impl From<OcidPrefix> for String {
    fn from(prefix: OcidPrefix) -> String {
        prefix.0
    }
}

impl OcidPrefix {
    pub fn parse(text: &str) -> Result<Self, String> {
        let bytes = text.as_bytes();
        let well_formed = bytes.len() == 11
            && bytes[..5].eq_ignore_ascii_case(b"ocds-")
            && bytes[5..].iter().all(u8::is_ascii_alphanumeric);
        if well_formed {
            Ok(OcidPrefix(text.to_owned()))
        } else {
            Err(format!("the OCID prefix {text:?} is not `ocds-` and six letters or digits, as OCP registers them"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for OcidPrefix {
    fn default() -> Self {
        OcidPrefix(DEFAULT_OCID_PREFIX.to_owned())
    }
}

/// The prefix of this deployment's ocids. It is one process-wide value, set once at start from
/// the configuration, because every ocid the process publishes (releases, records, red-flag
/// evidence) must agree on it.
static OCID_PREFIX: std::sync::OnceLock<OcidPrefix> = std::sync::OnceLock::new();

/// Sets the deployment's OCID prefix. It can be set once: setting it again to the same value is
/// fine, to another is an error (the process has already published ocids with the first one).
pub fn use_ocid_prefix(prefix: OcidPrefix) -> Result<(), DomainError> {
    let current = OCID_PREFIX.get_or_init(|| prefix.clone());
    if *current == prefix {
        Ok(())
    } else {
        Err(DomainError::Inconsistent(format!(
            "the OCID prefix is already {}; it cannot change to {} while the process runs",
            current.as_str(),
            prefix.as_str()
        )))
    }
}

/// This deployment's OCID prefix: the configured one, else [`DEFAULT_OCID_PREFIX`].
pub fn ocid_prefix() -> &'static str {
    OCID_PREFIX.get_or_init(OcidPrefix::default).as_str()
}

/// The OCDS version packages declare (major.minor, as the schema requires).
pub const OCDS_VERSION: &str = "1.1";
/// The publisher named in every package.
pub const PUBLISHER_NAME: &str = "Scrutiny";
/// The extensions releases use, as URLs of their `extension.json`.
pub const EXTENSIONS: [&str; 4] = [
    "https://raw.githubusercontent.com/open-contracting-extensions/ocds_lots_extension/v1.1.5/extension.json",
    "https://raw.githubusercontent.com/open-contracting-extensions/ocds_bid_extension/v1.1.5/extension.json",
    "https://gitlab.com/dncp-opendata/ocds_planning_items_extension/-/raw/master/extension.json",
    "https://gitlab.com/dncp-opendata/ocds_statusdetails_extension/-/raw/master/extension.json",
];
/// The cursor ordering of release lists: every tender by id, then every direct contract by id.
pub const SORT_BY_PROCESS: &str = "ocds_process";

/// The cursor `value` while the walk is among tenders, and once it has moved on to direct contracts.
const PHASE_TENDERS: &str = "tender";
const PHASE_DIRECT: &str = "direct";
/// Releases are written in Russian, the language sources fill most; Kazakh and English go in
/// language-suffixed fields (`title_kk`, `name_en`), as OCDS translations do.
const LANGUAGE: &str = "ru";
/// org-id.guide's scheme for Kazakhstan's Business Identification Numbers.
const BIN_SCHEME: &str = "KZ-BIN";
/// Kazakhstan's unified nomenclature of goods, works and services (ЕНС ТРУ).
const ENSTRU_SCHEME: &str = "ENSTRU";
/// Kazakhstan's single time zone (UTC+5 since March 2024), for dates known only to the day.
const KAZAKHSTAN_OFFSET: &str = "+05:00";
/// Tiyn in a tenge, cents in a dollar: every currency stored has two decimals.
const MINOR_PER_MAJOR: i64 = 100;
/// Amounts in minor units below this have at most 15 significant digits, so the JSON number
/// prints back as exactly the decimal amount (see [`amount`]).
const EXACT_MINOR_UNITS: u64 = 1_000_000_000_000_000;

/// The OCDS `method` code for a domain procurement method.
///
/// - `open_tender`, `auction`, `commodity_exchange` → `open`: announced publicly, any
///   qualifying supplier may bid.
/// - `price_quotation` → `open`. The codelist's `limited` means "the procuring entity contacts a
///   number of suppliers of its choice". Under the Law of the Republic of Kazakhstan "On Public
///   Procurement" (No. 434-V of 4 December 2015) a request for price quotations (запрос ценовых
///   предложений) is announced on the web portal and every potential supplier may submit one
///   price offer; the customer invites no one. Nothing about it is limited in the OCDS sense.
/// - `prequalified_tender` → `selective`: only suppliers that passed prequalification bid.
/// - `single_source` → `direct`.
/// - `other` → none: the source did not say, and guessing would mislead.
///
/// The domain method always stays in `procurementMethodDetails`.
pub fn method_code(method: ProcurementMethod) -> Option<&'static str> {
    match method {
        ProcurementMethod::OpenTender
        | ProcurementMethod::Auction
        | ProcurementMethod::CommodityExchange
        | ProcurementMethod::PriceQuotation => Some("open"),
        ProcurementMethod::PrequalifiedTender => Some("selective"),
        ProcurementMethod::SingleSource => Some("direct"),
        ProcurementMethod::Other => None,
    }
}

/// The OCDS `tenderStatus` code for a tender's or lot's status. Evaluation is still part of
/// the tender process (`active`); a tender that "did not take place" is `unsuccessful`.
pub fn tender_status_code(status: TenderStatus) -> &'static str {
    match status {
        TenderStatus::Published | TenderStatus::Evaluation => "active",
        TenderStatus::Awarded => "complete",
        TenderStatus::Failed => "unsuccessful",
        TenderStatus::Cancelled => "cancelled",
    }
}

/// The OCDS `awardStatus` code for an award on a lot with this status. An award is in force
/// (`active`) once its lot is awarded, follows its lot when the lot is cancelled or fails, and
/// is `pending` while the lot is still being evaluated.
pub fn award_status_code(lot_status: TenderStatus) -> &'static str {
    match lot_status {
        TenderStatus::Awarded => "active",
        TenderStatus::Cancelled => "cancelled",
        TenderStatus::Failed => "unsuccessful",
        TenderStatus::Published | TenderStatus::Evaluation => "pending",
    }
}

/// The OCDS `contractStatus` code. A signed contract is legally in force (`active`), in
/// execution or not; `terminated` covers both completion and early termination, as the
/// codelist defines it. `statusDetails` keeps which.
pub fn contract_status_code(status: ContractStatus) -> &'static str {
    match status {
        ContractStatus::Signed | ContractStatus::InExecution => "active",
        ContractStatus::Executed | ContractStatus::Terminated => "terminated",
    }
}

/// The bid extension's `bidStatus` code: admitted bids are `valid`, rejected ones `disqualified`.
pub fn bid_status_code(admitted: bool) -> &'static str {
    if admitted { "valid" } else { "disqualified" }
}

/// An amount of money as the JSON number OCDS wants, from integer minor units.
///
/// Whole amounts are JSON integers, exact for any `i64`. For the rest, `minor_units as f64` is
/// exact below 2^53 and IEEE division is correctly rounded, so the number is the double nearest
/// to `minor_units / 100`: the one parsing the decimal text would give. serde_json prints a
/// double in its shortest round-trip form, which for a decimal of at most 15 significant digits
/// is that decimal; every amount below 10 trillion tenge (10^15 tiyn) therefore prints exactly.
/// A larger amount with tiyn, which no real contract reaches, is the nearest double, and logged.
pub fn amount(minor_units: i64) -> Value {
    if minor_units % MINOR_PER_MAJOR == 0 {
        return Value::from(minor_units / MINOR_PER_MAJOR);
    }
    if minor_units.unsigned_abs() >= EXACT_MINOR_UNITS {
        tracing::warn!(minor_units, "amount too large for an exact OCDS number; publishing the nearest double");
    }
    Value::from(minor_units as f64 / MINOR_PER_MAJOR as f64)
}

/// An OCDS `Value`.
fn money(minor_units: i64, currency: &str) -> Value {
    json!({ "amount": amount(minor_units), "currency": currency })
}

/// RFC 3339, UTC, with fractional seconds only where the source had them.
fn date_time(at: DateTime<Utc>) -> Value {
    Value::String(at.to_rfc3339_opts(SecondsFormat::AutoSi, true))
}

/// An OCDS period from whichever of its ends is known; none when neither is.
fn period(start: Option<Value>, end: Option<Value>) -> Option<Value> {
    let mut period = Map::new();
    period.extend(start.map(|start| ("startDate".to_owned(), start)));
    period.extend(end.map(|end| ("endDate".to_owned(), end)));
    (!period.is_empty()).then_some(Value::Object(period))
}

/// A day-precision end date as the last second of that day in Kazakhstan.
fn end_of_day(day: NaiveDate) -> Value {
    Value::String(format!("{}T23:59:59{KAZAKHSTAN_OFFSET}", day.format("%Y-%m-%d")))
}

/// The ocid of the process whose defining record (tender, or direct contract) has this provenance.
/// A process imported from an OCDS publisher keeps the publisher's ocid: its tender's upstream id
/// is that ocid, and a contract's is `{ocid}/contract/{id}`. The portal's own processes are
/// `{prefix}-{source}-{upstream id}`.
pub fn ocid(source: &str, upstream_id: &str) -> String {
    if source == IMPORTED_SOURCE {
        return upstream_id.split_once(IMPORTED_CONTRACT).map_or(upstream_id, |(ocid, _)| ocid).to_owned();
    }
    format!("{}-{source}-{upstream_id}", ocid_prefix())
}

/// What separates an imported process's ocid from a contract's own id in its upstream id.
const IMPORTED_CONTRACT: &str = "/contract/";

/// The records an ocid may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OcidTarget<'a> {
    /// One of the portal's own processes: the `(source, upstream_id)` of its defining record.
    Own { source: &'a str, upstream_id: &'a str },
    /// A process imported from a publisher, under the publisher's ocid.
    Imported(&'a str),
}

/// Splits an ocid back into the `(source, upstream_id)` of its defining record, for the portal's
/// own prefix. Sources are single words (`goszakup`, `zakup_sk_kz`, `demo`), so the first hyphen
/// after the prefix ends it.
pub fn parse_ocid(ocid: &str) -> Option<(&str, &str)> {
    let local = ocid.strip_prefix(ocid_prefix())?.strip_prefix('-')?;
    let (source, upstream_id) = local.split_once('-')?;
    (!source.is_empty() && !upstream_id.is_empty()).then_some((source, upstream_id))
}

/// Where to look for the process an ocid names: the portal's own first (its prefix), else an
/// imported one. Anything non-empty may be a publisher's ocid.
pub fn ocid_targets(ocid: &str) -> Vec<OcidTarget<'_>> {
    let mut targets = Vec::with_capacity(2);
    if let Some((source, upstream_id)) = parse_ocid(ocid) {
        targets.push(OcidTarget::Own { source, upstream_id });
    }
    if !ocid.trim().is_empty() && !ocid.contains(IMPORTED_CONTRACT) {
        targets.push(OcidTarget::Imported(ocid));
    }
    targets
}

/// Reads a release-list cursor, checking it belongs to that list.
pub fn decode_cursor(token: &str) -> Result<Cursor, DomainError> {
    let cursor = Cursor::decode(token, SORT_BY_PROCESS)?;
    match cursor.value.as_deref() {
        Some(PHASE_TENDERS | PHASE_DIRECT) => Ok(cursor),
        _ => Err(DomainError::InvalidCursor("not a cursor this API issued".into())),
    }
}

/// A domain enum's stored string, e.g. `open_tender`.
fn stored<E: ActiveEnum<Value = String>>(value: E) -> Value {
    Value::String(value.to_value())
}

/// Sets `field` to the Russian text (or, failing that, Kazakh, then English) and adds
/// `field_kk` and `field_en` for the languages present.
fn put_localized(
    object: &mut Map<String, Value>,
    field: &str,
    ru: &Option<String>,
    kk: &Option<String>,
    en: &Option<String>,
) {
    let name = LocalizedName::from_parts(ru.as_deref(), kk.as_deref(), en.as_deref());
    if let Some(main) = name.display(Language::Ru) {
        object.insert(field.to_owned(), Value::String(main.to_owned()));
    }
    for (suffix, part) in [("kk", &name.kk), ("en", &name.en)] {
        if let Some(text) = part {
            object.insert(format!("{field}_{suffix}"), Value::String(text.clone()));
        }
    }
}

/// The same text in three languages, when it is Scrutiny's own wording.
fn put_phrase(object: &mut Map<String, Value>, field: &str, [ru, kk, en]: [String; 3]) {
    object.insert(field.to_owned(), Value::String(ru));
    object.insert(format!("{field}_kk"), Value::String(kk));
    object.insert(format!("{field}_en"), Value::String(en));
}

/// A decimal quantity as a JSON number; absent when the stored text is not a number.
fn quantity(text: &str) -> Option<Value> {
    text.trim().parse::<serde_json::Number>().ok().map(Value::Number)
}

/// An organization's party role, in the `partyRole` codelist's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Role {
    Buyer,
    ProcuringEntity,
    Supplier,
    Tenderer,
    Payer,
    Payee,
}

impl Role {
    fn code(self) -> &'static str {
        match self {
            Role::Buyer => "buyer",
            Role::ProcuringEntity => "procuringEntity",
            Role::Supplier => "supplier",
            Role::Tenderer => "tenderer",
            Role::Payer => "payer",
            Role::Payee => "payee",
        }
    }
}

/// The party id of an organization: its BIN where it has one, else its upstream key.
pub fn party_id(organization: &organization::Model) -> String {
    match &organization.bin {
        Some(bin) => format!("{BIN_SCHEME}-{bin}"),
        None => format!("{}-{}", organization.source, organization.upstream_id),
    }
}

/// The organizations one release references, each once, with every role it plays.
#[derive(Default)]
struct Parties<'a> {
    by_id: BTreeMap<String, (&'a organization::Model, BTreeSet<Role>)>,
}

impl<'a> Parties<'a> {
    /// Records the role and returns the `OrganizationReference` to put where it is referenced.
    fn add(&mut self, organization: &'a organization::Model, role: Role) -> Value {
        let id = party_id(organization);
        self.by_id.entry(id.clone()).or_insert_with(|| (organization, BTreeSet::new())).1.insert(role);
        let mut reference = Map::new();
        reference.insert("id".into(), Value::String(id));
        let name = LocalizedName::from_parts(
            organization.name_ru.as_deref(),
            organization.name_kk.as_deref(),
            organization.name_en.as_deref(),
        );
        if let Some(name) = name.display(Language::Ru) {
            reference.insert("name".into(), Value::String(name.to_owned()));
        }
        Value::Object(reference)
    }

    fn into_json(self) -> Value {
        self.by_id
            .into_iter()
            .map(|(id, (organization, roles))| {
                let mut party = Map::new();
                party.insert("id".into(), Value::String(id));
                put_localized(&mut party, "name", &organization.name_ru, &organization.name_kk, &organization.name_en);
                if let Some(bin) = &organization.bin {
                    let mut identifier = Map::new();
                    identifier.insert("scheme".into(), BIN_SCHEME.into());
                    identifier.insert("id".into(), Value::String(bin.clone()));
                    put_localized(
                        &mut identifier,
                        "legalName",
                        &organization.name_ru,
                        &organization.name_kk,
                        &organization.name_en,
                    );
                    party.insert("identifier".into(), Value::Object(identifier));
                }
                if let Some(kato) = &organization.region_kato {
                    // The region as its KATO code: registered in Kazakhstan, so the country is known.
                    party.insert(
                        "address".into(),
                        json!({
                            "region": kato,
                            "countryName": "Казахстан",
                            "countryName_kk": "Қазақстан",
                            "countryName_en": "Kazakhstan",
                        }),
                    );
                }
                party.insert("roles".into(), roles.into_iter().map(|role| Value::from(role.code())).collect());
                Value::Object(party)
            })
            .collect()
    }
}

/// The latest of the dates a release's facts carry: its `date`.
struct Latest(DateTime<Utc>);

impl Latest {
    fn see(&mut self, at: DateTime<Utc>) {
        self.0 = self.0.max(at);
    }
}

/// One contracting process: what defines it and so names its ocid.
#[derive(Debug, Clone)]
pub enum Process {
    Tender(tender::Model),
    /// A contract signed without a tender.
    Direct(contract::Model),
}

impl Process {
    pub fn ocid(&self) -> String {
        match self {
            Process::Tender(tender) => ocid(&tender.source, &tender.upstream_id),
            Process::Direct(contract) => ocid(&contract.source, &contract.upstream_id),
        }
    }

    /// A release-list cursor from which the next release is this process's.
    pub fn cursor_at(&self) -> Cursor {
        let (phase, id) = match self {
            Process::Tender(tender) => (PHASE_TENDERS, tender.id),
            Process::Direct(contract) => (PHASE_DIRECT, contract.id),
        };
        Cursor { sort: SORT_BY_PROCESS.to_owned(), value: Some(phase.to_owned()), id: id.saturating_sub(1) }
    }
}

/// The rows a set of processes draws on, indexed for building their releases.
#[derive(Debug, Default)]
pub struct ProcessRows {
    organizations: HashMap<i64, organization::Model>,
    plan_items: HashMap<i64, plan_item::Model>,
    budget_lines: HashMap<i64, budget_line::Model>,
    lots_by_tender: HashMap<i64, Vec<lot::Model>>,
    bids_by_lot: HashMap<i64, Vec<bid::Model>>,
    awards_by_lot: HashMap<i64, Vec<award::Model>>,
    awards_by_id: HashMap<i64, award::Model>,
    contracts_by_tender: HashMap<i64, Vec<contract::Model>>,
    amendments_by_contract: HashMap<i64, Vec<contract_amendment::Model>>,
    payments_by_contract: HashMap<i64, Vec<payment::Model>>,
}

fn group<T>(rows: Vec<T>, key: impl Fn(&T) -> Option<i64>) -> HashMap<i64, Vec<T>> {
    let mut groups: HashMap<i64, Vec<T>> = HashMap::new();
    for row in rows {
        if let Some(key) = key(&row) {
            groups.entry(key).or_default().push(row);
        }
    }
    groups
}

/// Every row the processes' releases need, loaded whatever their number with one `IN (...)`
/// query per table (per [`crate::db::IN_CHUNK`] ids): about ten queries a page.
pub struct LoadedRows {
    pub organizations: Vec<organization::Model>,
    pub plan_items: Vec<plan_item::Model>,
    pub budget_lines: Vec<budget_line::Model>,
    pub lots: Vec<lot::Model>,
    pub bids: Vec<bid::Model>,
    pub awards: Vec<award::Model>,
    /// Contracts that follow the tenders; direct contracts are processes, not rows.
    pub contracts: Vec<contract::Model>,
    pub amendments: Vec<contract_amendment::Model>,
    pub payments: Vec<payment::Model>,
}

impl ProcessRows {
    pub fn new(rows: LoadedRows) -> Self {
        let mut lots_by_tender = group(rows.lots, |lot| Some(lot.tender_id));
        for lots in lots_by_tender.values_mut() {
            lots.sort_by(|a, b| (&a.lot_number, &a.upstream_id).cmp(&(&b.lot_number, &b.upstream_id)));
        }
        let mut bids_by_lot = group(rows.bids, |bid| Some(bid.lot_id));
        for bids in bids_by_lot.values_mut() {
            bids.sort_by(|a, b| (a.submitted_at, &a.upstream_id).cmp(&(b.submitted_at, &b.upstream_id)));
        }
        let awards_by_id: HashMap<i64, award::Model> = rows.awards.iter().map(|a| (a.id, a.clone())).collect();
        let mut awards_by_lot = group(rows.awards, |award| Some(award.lot_id));
        for awards in awards_by_lot.values_mut() {
            awards.sort_by(|a, b| (a.awarded_at, &a.upstream_id).cmp(&(b.awarded_at, &b.upstream_id)));
        }
        let mut contracts_by_tender = group(rows.contracts, |contract| contract.tender_id);
        for contracts in contracts_by_tender.values_mut() {
            contracts.sort_by(|a, b| (a.signed_at, &a.upstream_id).cmp(&(b.signed_at, &b.upstream_id)));
        }
        let mut amendments_by_contract = group(rows.amendments, |amendment| Some(amendment.contract_id));
        for amendments in amendments_by_contract.values_mut() {
            amendments.sort_by_key(|amendment| amendment.sequence);
        }
        let mut payments_by_contract = group(rows.payments, |payment| payment.contract_id);
        for payments in payments_by_contract.values_mut() {
            payments.sort_by(|a, b| (a.paid_at, &a.upstream_id).cmp(&(b.paid_at, &b.upstream_id)));
        }
        ProcessRows {
            organizations: rows.organizations.into_iter().map(|o| (o.id, o)).collect(),
            plan_items: rows.plan_items.into_iter().map(|p| (p.id, p)).collect(),
            budget_lines: rows.budget_lines.into_iter().map(|b| (b.id, b)).collect(),
            lots_by_tender,
            bids_by_lot,
            awards_by_lot,
            awards_by_id,
            contracts_by_tender,
            amendments_by_contract,
            payments_by_contract,
        }
    }

    /// Loads what `processes` need.
    pub async fn load(db: &DatabaseConnection, processes: &[Process]) -> Result<Self, DomainError> {
        let tender_ids: Vec<i64> = processes
            .iter()
            .filter_map(|process| match process {
                Process::Tender(tender) => Some(tender.id),
                Process::Direct(_) => None,
            })
            .collect();
        let lots: Vec<lot::Model> = find_in::<lot::Entity>(db, lot::Column::TenderId, &tender_ids).await?;
        let lot_ids: Vec<i64> = lots.iter().map(|lot| lot.id).collect();
        let plan_item_ids: BTreeSet<i64> = lots.iter().filter_map(|lot| lot.plan_item_id).collect();
        let plan_items = find_in::<plan_item::Entity>(db, plan_item::Column::Id, &ids(plan_item_ids)).await?;
        let budget_line_ids: BTreeSet<i64> = plan_items.iter().filter_map(|item| item.budget_line_id).collect();
        let budget_lines = find_in::<budget_line::Entity>(db, budget_line::Column::Id, &ids(budget_line_ids)).await?;
        let bids = find_in::<bid::Entity>(db, bid::Column::LotId, &lot_ids).await?;
        let awards = find_in::<award::Entity>(db, award::Column::LotId, &lot_ids).await?;
        let contracts = find_in::<contract::Entity>(db, contract::Column::TenderId, &tender_ids).await?;

        let direct = processes.iter().filter_map(|process| match process {
            Process::Direct(contract) => Some(contract),
            Process::Tender(_) => None,
        });
        let contract_ids: Vec<i64> = contracts.iter().chain(direct.clone()).map(|contract| contract.id).collect();
        let amendments =
            find_in::<contract_amendment::Entity>(db, contract_amendment::Column::ContractId, &contract_ids).await?;
        let payments = find_in::<payment::Entity>(db, payment::Column::ContractId, &contract_ids).await?;

        let mut organization_ids = BTreeSet::new();
        for process in processes {
            if let Process::Tender(tender) = process {
                organization_ids.insert(tender.buyer_id);
            }
        }
        organization_ids.extend(plan_items.iter().map(|item| item.buyer_id));
        organization_ids.extend(bids.iter().map(|bid| bid.bidder_id));
        organization_ids.extend(awards.iter().map(|award| award.supplier_id));
        for contract in contracts.iter().chain(direct) {
            organization_ids.extend([contract.buyer_id, contract.supplier_id]);
        }
        for payment in &payments {
            organization_ids.extend([payment.payer_id, payment.payee_id]);
        }
        let organizations =
            find_in::<organization::Entity>(db, organization::Column::Id, &ids(organization_ids)).await?;

        Ok(ProcessRows::new(LoadedRows {
            organizations,
            plan_items,
            budget_lines,
            lots,
            bids,
            awards,
            contracts,
            amendments,
            payments,
        }))
    }

    fn organization(&self, id: i64) -> Result<&organization::Model, DomainError> {
        // The foreign keys forbid a dangling reference; meeting one means the database is broken.
        self.organizations
            .get(&id)
            .ok_or_else(|| DomainError::Inconsistent(format!("organization {id} is referenced but not stored")))
    }

    /// The process's compiled release.
    pub fn release(&self, process: &Process) -> Result<Value, DomainError> {
        let mut release = match process {
            Process::Tender(tender) => self.tender_release(tender)?,
            Process::Direct(contract) => self.direct_release(contract)?,
        };
        // A release is immutable, so its id names its content: the same facts give the same
        // id on every database and every request, and any change gives a new one. The hash is
        // of the JSON with sorted keys (serde_json's map is ordered unless `preserve_order`).
        let id = format!("{}-{}", process.ocid(), &content_hash(&release)[..16]);
        if let Value::Object(object) = &mut release {
            object.insert("id".into(), Value::String(id));
        }
        Ok(release)
    }

    fn tender_release(&self, tender: &tender::Model) -> Result<Value, DomainError> {
        let mut parties = Parties::default();
        let mut latest = Latest(tender.published_at);
        let buyer_organization = self.organization(tender.buyer_id)?;
        let buyer = parties.add(buyer_organization, Role::Buyer);
        // Kazakh customers organize their own procurement: the buyer is the procuring entity.
        parties.add(buyer_organization, Role::ProcuringEntity);
        let no_lots = Vec::new();
        let lots = self.lots_by_tender.get(&tender.id).unwrap_or(&no_lots);

        let mut planning_items = Vec::new();
        let mut plans = Vec::new();
        let mut items = Vec::new();
        let mut lot_objects = Vec::new();
        let mut bids = Vec::new();
        let mut tenderers = BTreeMap::new();
        let mut awards = Vec::new();
        for lot in lots {
            let plan = lot.plan_item_id.and_then(|id| self.plan_items.get(&id));
            if let Some(plan) = plan {
                parties.add(self.organization(plan.buyer_id)?, Role::Buyer);
                planning_items.push(plan_item_json(plan));
                plans.push(plan);
            }
            items.push(lot_item_json(lot, plan));
            lot_objects.push(lot_json(lot));
            for bid in self.bids_by_lot.get(&lot.id).into_iter().flatten() {
                latest.see(bid.submitted_at);
                let bidder = self.organization(bid.bidder_id)?;
                let tenderer = parties.add(bidder, Role::Tenderer);
                tenderers.insert(party_id(bidder), tenderer.clone());
                bids.push(json!({
                    "id": bid.upstream_id,
                    "date": date_time(bid.submitted_at),
                    "status": bid_status_code(bid.admitted),
                    "tenderers": [tenderer],
                    "value": money(bid.amount_minor, &bid.currency),
                    "relatedLots": [lot.upstream_id],
                }));
            }
            for award in self.awards_by_lot.get(&lot.id).into_iter().flatten() {
                latest.see(award.awarded_at);
                let supplier = parties.add(self.organization(award.supplier_id)?, Role::Supplier);
                let mut object = Map::new();
                object.insert("id".into(), award.upstream_id.clone().into());
                put_localized(&mut object, "title", &lot.name_ru, &lot.name_kk, &lot.name_en);
                object.insert("status".into(), award_status_code(lot.status).into());
                object.insert("date".into(), date_time(award.awarded_at));
                object.insert("value".into(), money(award.amount_minor, &award.currency));
                object.insert("suppliers".into(), json!([supplier]));
                // What was awarded: the lot's item, so indicators over awarded items (such as
                // the variety of what a supplier supplies) can read its classification.
                object.insert("items".into(), json!([lot_item_json(lot, plan)]));
                object.insert("relatedLots".into(), json!([lot.upstream_id]));
                awards.push(Value::Object(object));
            }
        }

        let mut contracts = Vec::new();
        for contract in self.contracts_by_tender.get(&tender.id).into_iter().flatten() {
            let award_id = match contract.award_id.and_then(|id| self.awards_by_id.get(&id)) {
                Some(award) => award.upstream_id.clone(),
                None => {
                    let lot = contract.lot_id.and_then(|id| lots.iter().find(|lot| lot.id == id));
                    let (id, award) = self.implied_award(contract, lot, &mut parties)?;
                    awards.push(award);
                    id
                }
            };
            contracts.push(self.contract_json(contract, &award_id, &mut parties, &mut latest)?);
        }

        let mut tender_object = Map::new();
        tender_object.insert("id".into(), tender.number.clone().into());
        put_localized(&mut tender_object, "title", &tender.name_ru, &tender.name_kk, &tender.name_en);
        tender_object.insert("status".into(), tender_status_code(tender.status).into());
        tender_object.insert("statusDetails".into(), stored(tender.status));
        tender_object.insert("procuringEntity".into(), buyer.clone());
        if !items.is_empty() {
            tender_object.insert("items".into(), Value::Array(items));
        }
        tender_object.insert("value".into(), money(tender.amount_minor, &tender.currency));
        if let Some(code) = method_code(tender.procurement_method) {
            tender_object.insert("procurementMethod".into(), code.into());
        }
        tender_object.insert("procurementMethodDetails".into(), stored(tender.procurement_method));
        if let Some(period) = period(tender.bids_open_at.map(date_time), tender.bids_close_at.map(date_time)) {
            tender_object.insert("tenderPeriod".into(), period);
        }
        // Only where bids are published: their absence says nothing about how many there were.
        if !bids.is_empty() {
            tender_object.insert("numberOfTenderers".into(), tenderers.len().into());
            tender_object.insert("tenderers".into(), tenderers.into_values().collect());
        }
        if !lot_objects.is_empty() {
            tender_object.insert("lots".into(), Value::Array(lot_objects));
        }

        let mut release = Map::new();
        release.insert("ocid".into(), ocid(&tender.source, &tender.upstream_id).into());
        if let Some(planning) = self.planning_json(&plans, planning_items) {
            release.insert("planning".into(), planning);
        }
        release.insert("tender".into(), Value::Object(tender_object));
        if !bids.is_empty() {
            release.insert("bids".into(), json!({ "details": bids }));
        }
        if !awards.is_empty() {
            release.insert("awards".into(), Value::Array(awards));
        }
        if !contracts.is_empty() {
            release.insert("contracts".into(), Value::Array(contracts));
        }
        Ok(finish(release, buyer, parties, latest))
    }

    fn direct_release(&self, contract: &contract::Model) -> Result<Value, DomainError> {
        let mut parties = Parties::default();
        // An unsigned contract's release is as new as the portal's knowledge of it.
        let mut latest = Latest(contract.signed_at.unwrap_or(contract.fetched_at));
        let buyer_organization = self.organization(contract.buyer_id)?;
        let buyer = parties.add(buyer_organization, Role::Buyer);
        parties.add(buyer_organization, Role::ProcuringEntity);
        let (award_id, award) = self.implied_award(contract, None, &mut parties)?;
        let contract_object = self.contract_json(contract, &award_id, &mut parties, &mut latest)?;

        // OCDS discloses a direct award's method in `tender` even though no tender was held.
        let mut tender_object = Map::new();
        tender_object.insert("id".into(), contract.upstream_id.clone().into());
        put_localized(
            &mut tender_object,
            "title",
            &contract.description_ru,
            &contract.description_kk,
            &contract.description_en,
        );
        tender_object.insert("status".into(), "complete".into());
        tender_object.insert("procuringEntity".into(), buyer.clone());
        if let Some(code) = method_code(contract.procurement_method) {
            tender_object.insert("procurementMethod".into(), code.into());
        }
        tender_object.insert("procurementMethodDetails".into(), stored(contract.procurement_method));

        let mut release = Map::new();
        release.insert("ocid".into(), ocid(&contract.source, &contract.upstream_id).into());
        release.insert("tender".into(), Value::Object(tender_object));
        release.insert("awards".into(), json!([award]));
        release.insert("contracts".into(), json!([contract_object]));
        Ok(finish(release, buyer, parties, latest))
    }

    /// The award a contract implies when the source records none (direct contracts always):
    /// OCDS requires every contract to name its award. It is dated at signature and worth
    /// what the contract was worth before any amendment.
    fn implied_award<'a>(
        &'a self,
        contract: &contract::Model,
        lot: Option<&lot::Model>,
        parties: &mut Parties<'a>,
    ) -> Result<(String, Value), DomainError> {
        let supplier = parties.add(self.organization(contract.supplier_id)?, Role::Supplier);
        let original_minor = self
            .amendments_by_contract
            .get(&contract.id)
            .and_then(|amendments| amendments.first())
            .map_or(contract.amount_minor, |first| first.previous_amount_minor);
        let id = format!("award-for-{}", contract.upstream_id);
        let mut award = Map::new();
        award.insert("id".into(), id.clone().into());
        award.insert("status".into(), "active".into());
        if let Some(signed_at) = contract.signed_at {
            award.insert("date".into(), date_time(signed_at));
        }
        award.insert("value".into(), money(original_minor, &contract.currency));
        award.insert("suppliers".into(), json!([supplier]));
        if let Some(lot) = lot {
            award.insert("relatedLots".into(), json!([lot.upstream_id]));
        }
        Ok((id, Value::Object(award)))
    }

    fn contract_json<'a>(
        &'a self,
        contract: &contract::Model,
        award_id: &str,
        parties: &mut Parties<'a>,
        latest: &mut Latest,
    ) -> Result<Value, DomainError> {
        if let Some(signed_at) = contract.signed_at {
            latest.see(signed_at);
        }
        parties.add(self.organization(contract.buyer_id)?, Role::Buyer);
        parties.add(self.organization(contract.supplier_id)?, Role::Supplier);
        let mut object = Map::new();
        object.insert("id".into(), contract.upstream_id.clone().into());
        object.insert("awardID".into(), award_id.into());
        let number = &contract.number;
        put_phrase(
            &mut object,
            "title",
            [format!("Договор № {number}"), format!("№ {number} шарт"), format!("Contract No. {number}")],
        );
        put_localized(
            &mut object,
            "description",
            &contract.description_ru,
            &contract.description_kk,
            &contract.description_en,
        );
        object.insert("status".into(), contract_status_code(contract.status).into());
        object.insert("statusDetails".into(), stored(contract.status));
        if let Some(period) = period(contract.signed_at.map(date_time), contract.ends_on.map(end_of_day)) {
            object.insert("period".into(), period);
        }
        object.insert("value".into(), money(contract.amount_minor, &contract.currency));
        if let Some(signed_at) = contract.signed_at {
            object.insert("dateSigned".into(), date_time(signed_at));
        }

        let amendments: Vec<Value> = self
            .amendments_by_contract
            .get(&contract.id)
            .into_iter()
            .flatten()
            .map(|amendment| {
                latest.see(amendment.signed_at);
                amendment_json(amendment)
            })
            .collect();
        if !amendments.is_empty() {
            object.insert("amendments".into(), Value::Array(amendments));
        }

        let mut transactions = Vec::new();
        for payment in self.payments_by_contract.get(&contract.id).into_iter().flatten() {
            latest.see(payment.paid_at);
            let payer = parties.add(self.organization(payment.payer_id)?, Role::Payer);
            let payee = parties.add(self.organization(payment.payee_id)?, Role::Payee);
            transactions.push(json!({
                "id": payment.upstream_id,
                "date": date_time(payment.paid_at),
                "value": money(payment.amount_minor, &payment.currency),
                "payer": payer,
                "payee": payee,
            }));
        }
        if !transactions.is_empty() {
            object.insert("implementation".into(), json!({ "transactions": transactions }));
        }
        Ok(Value::Object(object))
    }

    /// `planning`: the plan items behind the lots, and the budget they draw on. The budget's
    /// line is named only when every plan item draws on the same one.
    fn planning_json(&self, plans: &[&plan_item::Model], items: Vec<Value>) -> Option<Value> {
        let first = plans.first()?;
        let mut budget = Map::new();
        if plans.iter().all(|plan| plan.currency == first.currency) {
            let planned: i64 = plans.iter().map(|plan| plan.amount_minor).sum();
            budget.insert("amount".into(), money(planned, &first.currency));
        }
        let lines: BTreeSet<Option<i64>> = plans.iter().map(|plan| plan.budget_line_id).collect();
        if let [Some(line_id)] = lines.into_iter().collect::<Vec<_>>()[..]
            && let Some(line) = self.budget_lines.get(&line_id)
        {
            budget.insert("id".into(), line.program_code.clone().into());
            budget.insert("projectID".into(), line.program_code.clone().into());
            put_localized(&mut budget, "project", &line.name_ru, &line.name_kk, &line.name_en);
        }
        Some(json!({ "budget": budget, "items": items }))
    }
}

/// Adds what every release carries and returns it, without its `id` (see [`ProcessRows::release`]).
fn finish(mut release: Map<String, Value>, buyer: Value, parties: Parties, latest: Latest) -> Value {
    release.insert("date".into(), date_time(latest.0));
    release.insert("tag".into(), json!(["compiled"]));
    release.insert("initiationType".into(), "tender".into());
    release.insert("language".into(), LANGUAGE.into());
    release.insert("parties".into(), parties.into_json());
    release.insert("buyer".into(), buyer);
    Value::Object(release)
}

fn classification(enstru_code: &Option<String>) -> Option<Value> {
    enstru_code.as_ref().map(|code| json!({ "scheme": ENSTRU_SCHEME, "id": code }))
}

fn plan_item_json(plan: &plan_item::Model) -> Value {
    let mut item = Map::new();
    item.insert("id".into(), plan.upstream_id.clone().into());
    put_localized(&mut item, "description", &plan.name_ru, &plan.name_kk, &plan.name_en);
    if let Some(classification) = classification(&plan.enstru_code) {
        item.insert("classification".into(), classification);
    }
    if let Some(quantity) = quantity(&plan.quantity) {
        item.insert("quantity".into(), quantity);
    }
    item.insert("unit".into(), json!({ "value": money(plan.unit_price_minor, &plan.currency) }));
    Value::Object(item)
}

/// A lot's one item, classified by the plan item behind it.
fn lot_item_json(lot: &lot::Model, plan: Option<&plan_item::Model>) -> Value {
    let mut item = Map::new();
    item.insert("id".into(), lot.upstream_id.clone().into());
    put_localized(&mut item, "description", &lot.name_ru, &lot.name_kk, &lot.name_en);
    if let Some(classification) = plan.and_then(|plan| classification(&plan.enstru_code)) {
        item.insert("classification".into(), classification);
    }
    if let Some(quantity) = quantity(&lot.quantity) {
        item.insert("quantity".into(), quantity);
    }
    item.insert("relatedLot".into(), lot.upstream_id.clone().into());
    Value::Object(item)
}

fn lot_json(lot: &lot::Model) -> Value {
    let mut object = Map::new();
    object.insert("id".into(), lot.upstream_id.clone().into());
    put_localized(&mut object, "title", &lot.name_ru, &lot.name_kk, &lot.name_en);
    let number = &lot.lot_number;
    put_phrase(
        &mut object,
        "description",
        [format!("Лот № {number}"), format!("№ {number} лот"), format!("Lot No. {number}")],
    );
    object.insert("status".into(), tender_status_code(lot.status).into());
    object.insert("statusDetails".into(), stored(lot.status));
    object.insert("value".into(), money(lot.amount_minor, &lot.currency));
    Value::Object(object)
}

fn amendment_json(amendment: &contract_amendment::Model) -> Value {
    let mut object = Map::new();
    object.insert("id".into(), amendment.upstream_id.clone().into());
    object.insert("date".into(), date_time(amendment.signed_at));
    put_localized(&mut object, "rationale", &amendment.reason_ru, &amendment.reason_kk, &amendment.reason_en);
    let (before, after, currency) = (
        format_minor_units(amendment.previous_amount_minor),
        format_minor_units(amendment.new_amount_minor),
        &amendment.currency,
    );
    put_phrase(
        &mut object,
        "description",
        [
            format!("Сумма договора изменена с {before} до {after} {currency}"),
            format!("Шарт сомасы {before} {currency} орнына {after} {currency} болып өзгертілді"),
            format!("Contract value changed from {before} to {after} {currency}"),
        ],
    );
    Value::Object(object)
}

fn ids(set: BTreeSet<i64>) -> Vec<i64> {
    set.into_iter().collect()
}

/// One page of compiled releases.
#[derive(Debug, Clone)]
pub struct ReleasePage {
    /// In list order: tenders by id, then direct contracts by id.
    pub releases: Vec<Value>,
    /// The process of each release, in the same order.
    pub processes: Vec<Process>,
    /// Where the next page starts; `None` on the last page.
    pub next: Option<Cursor>,
}

/// One page of compiled releases, starting after `after`: every tender, then every direct
/// contract, each in id order. Rows inserted behind the cursor are reached, except tenders
/// added once the walk has moved on to direct contracts.
pub async fn releases(
    db: &DatabaseConnection,
    after: Option<&Cursor>,
    limit: Limit,
) -> Result<ReleasePage, DomainError> {
    let limit = limit.get() as usize;
    let (tenders_after, direct_after) = match after {
        None => (Some(0), 0),
        Some(cursor) if cursor.value.as_deref() == Some(PHASE_DIRECT) => (None, cursor.id),
        Some(cursor) => (Some(cursor.id), 0),
    };
    let mut processes: Vec<Process> = Vec::with_capacity(limit);
    if let Some(after) = tenders_after {
        // One row more than asked tells whether another page follows.
        let mut tenders = tender::Entity::find()
            .filter(tender::Column::Id.gt(after))
            .order_by_asc(tender::Column::Id)
            .limit(limit as u64 + 1)
            .all(db)
            .await?;
        if tenders.len() > limit {
            tenders.truncate(limit);
            let last = tenders.last().map_or(after, |tender| tender.id);
            processes.extend(tenders.into_iter().map(Process::Tender));
            return page(db, processes, Some(phase_cursor(PHASE_TENDERS, last))).await;
        }
        processes.extend(tenders.into_iter().map(Process::Tender));
    }
    let room = limit - processes.len();
    let mut direct = contract::Entity::find()
        .filter(contract::Column::TenderId.is_null())
        .filter(contract::Column::Id.gt(direct_after))
        .order_by_asc(contract::Column::Id)
        .limit(room as u64 + 1)
        .all(db)
        .await?;
    let next = if direct.len() > room {
        direct.truncate(room);
        let last = direct.last().map_or(direct_after, |contract| contract.id);
        Some(phase_cursor(PHASE_DIRECT, last))
    } else {
        None
    };
    processes.extend(direct.into_iter().map(Process::Direct));
    page(db, processes, next).await
}

/// The compiled releases of the processes these tenders and direct contracts define, in list
/// order. Ids that define no process (gone, or a contract that follows a tender) are left out:
/// the page's processes say which were found. For a few processes at a time, as an
/// incremental refresh of the red flags reads them.
pub async fn releases_of(
    db: &DatabaseConnection,
    tender_ids: &[i64],
    direct_contract_ids: &[i64],
) -> Result<ReleasePage, DomainError> {
    let mut tenders = find_in::<tender::Entity>(db, tender::Column::Id, tender_ids).await?;
    tenders.sort_by_key(|tender| tender.id);
    let mut direct: Vec<contract::Model> = find_in::<contract::Entity>(db, contract::Column::Id, direct_contract_ids)
        .await?
        .into_iter()
        .filter(|contract| contract.tender_id.is_none())
        .collect();
    direct.sort_by_key(|contract| contract.id);
    let processes = tenders.into_iter().map(Process::Tender).chain(direct.into_iter().map(Process::Direct)).collect();
    page(db, processes, None).await
}

fn phase_cursor(phase: &str, id: i64) -> Cursor {
    Cursor { sort: SORT_BY_PROCESS.to_owned(), value: Some(phase.to_owned()), id }
}

async fn page(
    db: &DatabaseConnection,
    processes: Vec<Process>,
    next: Option<Cursor>,
) -> Result<ReleasePage, DomainError> {
    let rows = ProcessRows::load(db, &processes).await?;
    let releases = processes.iter().map(|process| rows.release(process)).collect::<Result<_, _>>()?;
    Ok(ReleasePage { releases, processes, next })
}

/// One process's compiled release, and the release-list cursor from which it comes first.
#[derive(Debug, Clone)]
pub struct ProcessRecord {
    pub ocid: String,
    pub compiled_release: Value,
    pub cursor: Cursor,
}

/// The process an ocid names, if it exists: a tender, else a direct contract; the portal's own
/// first, then one imported under its publisher's ocid.
pub async fn record(db: &DatabaseConnection, ocid: &str) -> Result<Option<ProcessRecord>, DomainError> {
    let mut found = None;
    for target in ocid_targets(ocid) {
        found = find_process(db, target).await?;
        if found.is_some() {
            break;
        }
    }
    let Some(process) = found else { return Ok(None) };
    let rows = ProcessRows::load(db, std::slice::from_ref(&process)).await?;
    Ok(Some(ProcessRecord {
        ocid: process.ocid(),
        compiled_release: rows.release(&process)?,
        cursor: process.cursor_at(),
    }))
}

async fn find_process(db: &DatabaseConnection, target: OcidTarget<'_>) -> Result<Option<Process>, DomainError> {
    let (source, tender_id, direct) = match target {
        OcidTarget::Own { source, upstream_id } => {
            (source, upstream_id.to_owned(), contract::Column::UpstreamId.eq(upstream_id))
        }
        OcidTarget::Imported(ocid) => (
            IMPORTED_SOURCE,
            ocid.to_owned(),
            // `_` and `%` in an ocid are escaped, or LIKE would read them as wildcards.
            contract::Column::UpstreamId.like(
                sea_orm::sea_query::LikeExpr::new(format!("{}{IMPORTED_CONTRACT}%", crate::db::escape_like(ocid)))
                    .escape('\\'),
            ),
        ),
    };
    let tender = tender::Entity::find()
        .filter(tender::Column::Source.eq(source))
        .filter(tender::Column::UpstreamId.eq(tender_id))
        .one(db)
        .await?;
    if let Some(tender) = tender {
        return Ok(Some(Process::Tender(tender)));
    }
    let direct = contract::Entity::find()
        .filter(contract::Column::Source.eq(source))
        .filter(direct)
        .filter(contract::Column::TenderId.is_null())
        .order_by_asc(contract::Column::Id)
        .one(db)
        .await?;
    Ok(direct.map(Process::Direct))
}

fn publisher() -> Value {
    json!({ "name": PUBLISHER_NAME })
}

/// A release package (<https://standard.open-contracting.org/1.1/en/schema/release_package/>).
/// `uri` is this package's own URL; `next` the next page's, put in `links.next`.
pub fn release_package(uri: &str, releases: Vec<Value>, next: Option<String>) -> Value {
    // Generated on demand, so the package is as new as its newest release. RFC 3339 strings in
    // UTC with the same precision compare as text in time order.
    let newest = releases.iter().filter_map(|release| release["date"].as_str()).max().map(str::to_owned);
    let published = newest.map_or_else(|| date_time(Utc::now()), Value::String);
    let mut package = Map::new();
    package.insert("uri".into(), uri.into());
    package.insert("version".into(), OCDS_VERSION.into());
    package.insert("extensions".into(), json!(EXTENSIONS));
    package.insert("publishedDate".into(), published);
    package.insert("publisher".into(), publisher());
    package.insert("releases".into(), Value::Array(releases));
    if let Some(next) = next {
        package.insert("links".into(), json!({ "next": next }));
    }
    Value::Object(package)
}

/// A record package (<https://standard.open-contracting.org/1.1/en/schema/records_reference/>)
/// with one record: the process's compiled release, and a link to the release package that
/// holds it (`release_package_url`), the only release Scrutiny publishes for a process.
pub fn record_package(uri: &str, record: ProcessRecord, release_package_url: &str) -> Value {
    let release = record.compiled_release;
    let date = release["date"].clone();
    let link = json!({
        "url": format!("{release_package_url}#{}", release["id"].as_str().unwrap_or_default()),
        "date": date,
        "tag": release["tag"],
    });
    json!({
        "uri": uri,
        "version": OCDS_VERSION,
        "extensions": EXTENSIONS,
        "publishedDate": date,
        "publisher": publisher(),
        "packages": [release_package_url],
        "records": [{
            "ocid": record.ocid,
            "releases": [link],
            "compiledRelease": release,
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use sea_orm::Iterable;

    fn codelist(csv: &str) -> Vec<&str> {
        csv.lines().skip(1).filter_map(|line| line.split(',').next()).filter(|code| !code.is_empty()).collect()
    }

    const METHODS: &str = include_str!("../../../fixtures/ocds-schema-1.1.5/codelists/method.csv");
    const TENDER_STATUSES: &str = include_str!("../../../fixtures/ocds-schema-1.1.5/codelists/tenderStatus.csv");
    const AWARD_STATUSES: &str = include_str!("../../../fixtures/ocds-schema-1.1.5/codelists/awardStatus.csv");
    const CONTRACT_STATUSES: &str = include_str!("../../../fixtures/ocds-schema-1.1.5/codelists/contractStatus.csv");

    #[test]
    fn methods_map_into_the_method_codelist() {
        let codes = codelist(METHODS);
        assert_eq!(codes, ["open", "selective", "limited", "direct"]);
        for method in ProcurementMethod::iter() {
            if let Some(code) = method_code(method) {
                assert!(codes.contains(&code), "{method:?} → {code}");
            }
        }
        assert_eq!(method_code(ProcurementMethod::OpenTender), Some("open"));
        assert_eq!(method_code(ProcurementMethod::Auction), Some("open"));
        assert_eq!(method_code(ProcurementMethod::CommodityExchange), Some("open"));
        assert_eq!(method_code(ProcurementMethod::PriceQuotation), Some("open"));
        assert_eq!(method_code(ProcurementMethod::PrequalifiedTender), Some("selective"));
        assert_eq!(method_code(ProcurementMethod::SingleSource), Some("direct"));
        assert_eq!(method_code(ProcurementMethod::Other), None);
    }

    #[test]
    fn statuses_map_into_their_codelists() {
        let (tender_codes, award_codes, contract_codes) =
            (codelist(TENDER_STATUSES), codelist(AWARD_STATUSES), codelist(CONTRACT_STATUSES));
        for status in TenderStatus::iter() {
            assert!(tender_codes.contains(&tender_status_code(status)), "{status:?}");
            assert!(award_codes.contains(&award_status_code(status)), "{status:?}");
        }
        for status in ContractStatus::iter() {
            assert!(contract_codes.contains(&contract_status_code(status)), "{status:?}");
        }
        assert_eq!(tender_status_code(TenderStatus::Evaluation), "active");
        assert_eq!(tender_status_code(TenderStatus::Awarded), "complete");
        assert_eq!(tender_status_code(TenderStatus::Failed), "unsuccessful");
        assert_eq!(award_status_code(TenderStatus::Awarded), "active");
        assert_eq!(contract_status_code(ContractStatus::Signed), "active");
        assert_eq!(contract_status_code(ContractStatus::Executed), "terminated");
        assert_eq!((bid_status_code(true), bid_status_code(false)), ("valid", "disqualified"));
    }

    /// The JSON text of an amount, read back as exact minor units.
    fn printed_minor_units(minor_units: i64) -> i64 {
        let text = serde_json::to_string(&amount(minor_units)).unwrap();
        crate::money::Money::minor_units_from_str(&text).unwrap_or_else(|e| panic!("{minor_units}: {text}: {e}"))
    }

    #[test]
    fn amounts_print_as_their_exact_decimal() {
        for minor_units in
            [0, 1, 5, 10, 99, 100, 101, 1_034_400, 138_900_050, -150, 999_999_999_999_999, -999_999_999_999_999]
        {
            assert_eq!(printed_minor_units(minor_units), minor_units);
        }
        assert_eq!(serde_json::to_string(&amount(1_034_450)).unwrap(), "10344.5");
        assert_eq!(serde_json::to_string(&amount(7)).unwrap(), "0.07");
        assert_eq!(serde_json::to_string(&amount(1_034_400)).unwrap(), "10344", "whole amounts are integers");
        assert_eq!(printed_minor_units(i64::MAX - i64::MAX % 100), i64::MAX - i64::MAX % 100);
        // Every magnitude up to 10^15 tiyn, a thousand random amounts each.
        let mut rng = fastrand::Rng::with_seed(7);
        for digits in 1..=15u32 {
            for _ in 0..1_000 {
                let minor_units = rng.i64(0..10i64.pow(digits));
                assert_eq!(printed_minor_units(minor_units), minor_units);
            }
        }
    }

    #[test]
    fn every_amount_in_the_demo_data_prints_exactly() {
        let data = crate::demo::generate().unwrap();
        let amounts = data
            .plan_items
            .iter()
            .flat_map(|item| [item.amount_minor, item.unit_price_minor])
            .chain(data.tenders.iter().map(|tender| tender.amount_minor))
            .chain(data.lots.iter().map(|lot| lot.amount_minor))
            .chain(data.bids.iter().map(|bid| bid.amount_minor))
            .chain(data.awards.iter().map(|award| award.amount_minor))
            .chain(data.contracts.iter().map(|contract| contract.amount_minor))
            .chain(data.amendments.iter().flat_map(|a| [a.previous_amount_minor, a.new_amount_minor]))
            .chain(data.payments.iter().map(|payment| payment.amount_minor));
        let mut checked = 0;
        for minor_units in amounts {
            assert_eq!(printed_minor_units(minor_units), minor_units);
            checked += 1;
        }
        assert!(checked > 20_000, "{checked}");
    }

    #[test]
    fn ocids_name_the_defining_record_and_read_back() {
        let ocid = ocid("goszakup", "3918654-1");
        assert_eq!(ocid, "ocds-scrtny-goszakup-3918654-1");
        assert_eq!(parse_ocid(&ocid), Some(("goszakup", "3918654-1")));
        assert_eq!(parse_ocid("ocds-scrtny-demo-tender-00001"), Some(("demo", "tender-00001")));
        for foreign in
            ["ocds-213czf-000-00001", "ocds-scrtny", "ocds-scrtny-", "ocds-scrtny-demo", "ocds-scrtny-demo-", "x"]
        {
            assert_eq!(parse_ocid(foreign), None, "{foreign}");
        }
    }

    #[test]
    fn an_imported_process_keeps_its_publishers_ocid() {
        let ocid_of = |upstream_id: &str| ocid(IMPORTED_SOURCE, upstream_id);
        assert_eq!(ocid_of("ocds-be6bcu-UA-2016-06-02-000468-c"), "ocds-be6bcu-UA-2016-06-02-000468-c");
        assert_eq!(ocid_of("ocds-213czf-000-00001/contract/1"), "ocds-213czf-000-00001", "a direct contract");
        assert_eq!(
            ocid_targets("ocds-be6bcu-UA-2016-06-02-000468-c"),
            [OcidTarget::Imported("ocds-be6bcu-UA-2016-06-02-000468-c")]
        );
        assert_eq!(
            ocid_targets("ocds-scrtny-demo-tender-1"),
            [
                OcidTarget::Own { source: "demo", upstream_id: "tender-1" },
                OcidTarget::Imported("ocds-scrtny-demo-tender-1")
            ],
            "the portal's own first: a publisher may reuse any text",
        );
        assert!(ocid_targets(" ").is_empty());
        assert!(ocid_targets("ocds-213czf-1/contract/2").is_empty(), "a contract's upstream id is no ocid");
    }

    #[test]
    fn ocid_prefixes_are_checked_as_ocp_registers_them() {
        for good in ["ocds-213czf", "ocds-be6bcu", "OCDS-87SD3T"] {
            assert_eq!(OcidPrefix::parse(good).unwrap().as_str(), good);
        }
        for bad in
            ["", "ocds-", "ocds-12345", "ocds-1234567", "ocds_213czf", "xxxx-213czf", "ocds-21 3cz", "ocds-213cz\u{e9}"]
        {
            let error = OcidPrefix::parse(bad).unwrap_err();
            assert!(error.contains("six letters or digits"), "{bad}: {error}");
        }
        assert_eq!(use_ocid_prefix(OcidPrefix::default()).map_err(|e| e.to_string()), Ok(()));
        assert!(use_ocid_prefix(OcidPrefix::parse("ocds-abc123").unwrap()).is_err(), "set once per process");
    }

    #[test]
    fn cursors_belong_to_the_release_list() {
        let cursor = phase_cursor(PHASE_DIRECT, 41);
        assert_eq!(decode_cursor(&cursor.encode()).unwrap(), cursor);
        assert!(decode_cursor(&Cursor::after_id("id", 41).encode()).is_err());
        assert!(decode_cursor(&Cursor::after_id(SORT_BY_PROCESS, 41).encode()).is_err());
        let wrong_phase = Cursor { value: Some("plan".into()), ..cursor };
        assert!(decode_cursor(&wrong_phase.encode()).is_err());
    }

    fn at(day: u32, hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 3, day, hour, 0, 0).unwrap()
    }

    fn organization(id: i64, bin: &str, name_ru: &str, name_en: Option<&str>) -> organization::Model {
        organization::Model {
            id,
            bin: Some(bin.into()),
            name_ru: Some(name_ru.into()),
            name_kk: None,
            name_en: name_en.map(Into::into),
            kind: crate::entities::OrganizationKind::Other,
            region_kato: Some("750000000".into()),
            parent_id: None,
            registered_on: None,
            source: "test".into(),
            upstream_id: format!("org-{bin}"),
            fetched_at: at(1, 0),
            content_hash: String::new(),
            import_run_id: None,
        }
    }

    /// A small process: a two-lot tender, bids on both, one award and contract (amended, paid
    /// twice); and a direct contract, amended once. `shift` moves every database id, which
    /// must change nothing published.
    fn rows(shift: i64) -> (ProcessRows, Process, Process) {
        let (akimat, supplier, rival) = (1 + shift, 2 + shift, 3 + shift);
        let organizations = vec![
            organization(akimat, "990240424458", "Акимат города Алматы", Some("Akimat of Almaty")),
            organization(supplier, "050140000656", "ТОО \"Поставщик\"", None),
            organization(rival, "060140001234", "ТОО \"Соперник\"", None),
        ];
        let money_columns = |amount_minor: i64| (amount_minor, "KZT".to_owned(), "1".to_owned(), true);
        let tender = tender::Model {
            id: 10 + shift,
            number: "3918654-1".into(),
            buyer_id: akimat,
            name_ru: Some("Ремонт дорог".into()),
            name_kk: Some("Жол жөндеу".into()),
            name_en: None,
            procurement_method: ProcurementMethod::PriceQuotation,
            status: TenderStatus::Awarded,
            fiscal_year: 2024,
            published_at: at(1, 5),
            bids_open_at: Some(at(2, 5)),
            bids_close_at: Some(at(10, 5)),
            amount_minor: 300_000,
            currency: "KZT".into(),
            exchange_rate: "1".into(),
            vat_included: true,
            source: "demo".into(),
            upstream_id: "tender-1".into(),
            fetched_at: at(1, 0),
            content_hash: String::new(),
            import_run_id: None,
        };
        let plan = |n: i64, budget_line_id: Option<i64>| plan_item::Model {
            id: 20 + n + shift,
            buyer_id: akimat,
            budget_line_id,
            fiscal_year: 2024,
            name_ru: Some(format!("Позиция {n}")),
            name_kk: None,
            name_en: None,
            enstru_code: Some(format!("421110.000.00000{n}")),
            procurement_method: ProcurementMethod::PriceQuotation,
            quantity: "2".into(),
            unit_price_minor: 50_000 + n,
            amount_minor: 100_000 + 2 * n,
            currency: "KZT".into(),
            exchange_rate: "1".into(),
            vat_included: true,
            planned_month: Some(3),
            source: "demo".into(),
            upstream_id: format!("plan-{n}"),
            fetched_at: at(1, 0),
            content_hash: String::new(),
            import_run_id: None,
        };
        let budget_line = budget_line::Model {
            id: 30 + shift,
            administrator_id: akimat,
            fiscal_year: 2024,
            program_code: "201-001-100".into(),
            name_ru: Some("Капитальные расходы".into()),
            name_kk: None,
            name_en: Some("Capital expenditure".into()),
            approved_minor: 10_000_000_000,
            currency: "KZT".into(),
            source: "demo".into(),
            upstream_id: "budget-1".into(),
            fetched_at: at(1, 0),
            content_hash: String::new(),
            import_run_id: None,
        };
        let lot = |n: i64, status: TenderStatus| {
            let (amount_minor, currency, exchange_rate, vat_included) = money_columns(150_000);
            lot::Model {
                id: 40 + n + shift,
                tender_id: tender.id,
                plan_item_id: Some(20 + n + shift),
                lot_number: format!("10000000-ЗЦП{n}"),
                name_ru: Some(format!("Лот {n}")),
                name_kk: None,
                name_en: None,
                status,
                quantity: "2".into(),
                amount_minor,
                currency,
                exchange_rate,
                vat_included,
                delivery_kato: None,
                source: "demo".into(),
                upstream_id: format!("lot-{n}"),
                fetched_at: at(1, 0),
                content_hash: String::new(),
                import_run_id: None,
            }
        };
        let bid = |n: i64, lot: i64, bidder: i64, admitted: bool| bid::Model {
            id: 50 + n + shift,
            lot_id: 40 + lot + shift,
            bidder_id: bidder,
            submitted_at: at(9, n as u32),
            amount_minor: 140_000 + n,
            currency: "KZT".into(),
            exchange_rate: "1".into(),
            vat_included: true,
            admitted,
            source: "demo".into(),
            upstream_id: format!("bid-{n}"),
            fetched_at: at(1, 0),
            content_hash: String::new(),
            import_run_id: None,
        };
        let award = award::Model {
            id: 60 + shift,
            lot_id: 41 + shift,
            supplier_id: supplier,
            awarded_at: at(12, 5),
            amount_minor: 140_001,
            currency: "KZT".into(),
            exchange_rate: "1".into(),
            vat_included: true,
            source: "demo".into(),
            upstream_id: "award-1".into(),
            fetched_at: at(1, 0),
            content_hash: String::new(),
            import_run_id: None,
        };
        let contract = |n: i64, tender_id: Option<i64>, award_id: Option<i64>| contract::Model {
            id: 70 + n + shift,
            number: format!("990240424458/20000{n}/00"),
            buyer_id: akimat,
            supplier_id: supplier,
            tender_id,
            lot_id: tender_id.map(|_| 41 + shift),
            award_id,
            procurement_method: if tender_id.is_some() {
                ProcurementMethod::PriceQuotation
            } else {
                ProcurementMethod::SingleSource
            },
            status: ContractStatus::InExecution,
            fiscal_year: 2024,
            description_ru: Some("Ремонт дорог".into()),
            description_kk: None,
            description_en: None,
            signed_at: Some(at(15, 5)),
            ends_on: NaiveDate::from_ymd_opt(2024, 12, 31),
            amount_minor: 150_000,
            currency: "KZT".into(),
            exchange_rate: "1".into(),
            vat_included: true,
            source: "demo".into(),
            upstream_id: format!("contract-{n}"),
            fetched_at: at(1, 0),
            content_hash: String::new(),
            import_run_id: None,
        };
        let amendment = |contract: i64| contract_amendment::Model {
            id: 80 + contract + shift,
            contract_id: 70 + contract + shift,
            sequence: 1,
            signed_at: at(20, 5),
            reason_ru: Some("Изменение объёма".into()),
            reason_kk: None,
            reason_en: Some("Change in quantity".into()),
            previous_amount_minor: 140_001,
            new_amount_minor: 150_000,
            currency: "KZT".into(),
            exchange_rate: "1".into(),
            vat_included: true,
            source: "demo".into(),
            upstream_id: format!("amendment-{contract}"),
            fetched_at: at(1, 0),
            content_hash: String::new(),
            import_run_id: None,
        };
        let payment = |n: i64, amount_minor: i64, day: u32| payment::Model {
            id: 90 + n + shift,
            contract_id: Some(71 + shift),
            payer_id: akimat,
            payee_id: supplier,
            budget_line_id: None,
            document_number: format!("2024000000{n}"),
            paid_at: at(day, 5),
            fiscal_year: 2024,
            purpose_ru: None,
            purpose_kk: None,
            purpose_en: None,
            amount_minor,
            currency: "KZT".into(),
            exchange_rate: "1".into(),
            vat_included: true,
            source: "demo".into(),
            upstream_id: format!("payment-{n}"),
            fetched_at: at(1, 0),
            content_hash: String::new(),
            import_run_id: None,
        };
        let direct = contract(2, None, None);
        let rows = ProcessRows::new(LoadedRows {
            organizations,
            plan_items: vec![plan(1, Some(30 + shift)), plan(2, Some(30 + shift))],
            budget_lines: vec![budget_line],
            lots: vec![lot(2, TenderStatus::Failed), lot(1, TenderStatus::Awarded)],
            bids: vec![bid(2, 1, rival, false), bid(1, 1, supplier, true), bid(3, 2, rival, false)],
            awards: vec![award],
            contracts: vec![contract(1, Some(tender.id), Some(60 + shift))],
            amendments: vec![amendment(1), amendment(2)],
            payments: vec![payment(2, 25_050, 28), payment(1, 100_000, 25)],
        });
        (rows, Process::Tender(tender), Process::Direct(direct))
    }

    fn roles(release: &Value, party_id: &str) -> Vec<String> {
        let party = release["parties"].as_array().unwrap().iter().find(|p| p["id"] == party_id).expect(party_id);
        party["roles"].as_array().unwrap().iter().map(|r| r.as_str().unwrap().to_owned()).collect()
    }

    #[test]
    fn a_tender_release_gathers_plan_lots_bids_awards_contracts_and_payments() {
        let (rows, tender, _) = rows(0);
        let release = rows.release(&tender).unwrap();
        assert_eq!(release["ocid"], "ocds-scrtny-demo-tender-1");
        assert!(release["id"].as_str().unwrap().starts_with("ocds-scrtny-demo-tender-1-"));
        assert_eq!(release["tag"], json!(["compiled"]));
        assert_eq!(release["initiationType"], "tender");
        assert_eq!(release["date"], "2024-03-28T05:00:00Z", "the latest payment");
        assert_eq!(release["buyer"], json!({ "id": "KZ-BIN-990240424458", "name": "Акимат города Алматы" }));

        assert_eq!(roles(&release, "KZ-BIN-990240424458"), ["buyer", "procuringEntity", "payer"]);
        assert_eq!(roles(&release, "KZ-BIN-050140000656"), ["supplier", "tenderer", "payee"]);
        assert_eq!(roles(&release, "KZ-BIN-060140001234"), ["tenderer"]);
        let akimat = release["parties"].as_array().unwrap().iter().find(|p| p["id"] == "KZ-BIN-990240424458").unwrap();
        assert_eq!(akimat["identifier"]["scheme"], "KZ-BIN");
        assert_eq!(akimat["identifier"]["id"], "990240424458");
        assert_eq!(akimat["name_en"], "Akimat of Almaty");
        assert!(akimat.get("name_kk").is_none());

        let planning = &release["planning"];
        assert_eq!(planning["budget"]["amount"], json!({ "amount": 2000.06, "currency": "KZT" }));
        assert_eq!(planning["budget"]["projectID"], "201-001-100");
        assert_eq!(planning["budget"]["project_en"], "Capital expenditure");
        assert_eq!(planning["items"][0]["id"], "plan-1");
        assert_eq!(planning["items"][0]["unit"]["value"]["amount"], 500.01);

        let tender = &release["tender"];
        assert_eq!(tender["id"], "3918654-1");
        assert_eq!(tender["title"], "Ремонт дорог");
        assert_eq!(tender["title_kk"], "Жол жөндеу");
        assert_eq!(tender["status"], "complete");
        assert_eq!(tender["statusDetails"], "awarded");
        assert_eq!(tender["procurementMethod"], "open");
        assert_eq!(tender["procurementMethodDetails"], "price_quotation");
        assert_eq!(tender["value"], json!({ "amount": 3000, "currency": "KZT" }));
        assert_eq!(tender["tenderPeriod"]["endDate"], "2024-03-10T05:00:00Z");
        assert_eq!(tender["numberOfTenderers"], 2);
        let lots: Vec<&str> = tender["lots"].as_array().unwrap().iter().map(|l| l["id"].as_str().unwrap()).collect();
        assert_eq!(lots, ["lot-1", "lot-2"], "lots in lot-number order");
        assert_eq!(tender["lots"][1]["status"], "unsuccessful");
        assert_eq!(tender["lots"][0]["description"], "Лот № 10000000-ЗЦП1");
        assert_eq!(tender["items"][1]["relatedLot"], "lot-2");
        assert_eq!(tender["items"][1]["classification"], json!({ "scheme": "ENSTRU", "id": "421110.000.000002" }));
        assert_eq!(tender["items"][1]["quantity"], 2);

        let bids = release["bids"]["details"].as_array().unwrap();
        let bid_ids: Vec<&str> = bids.iter().map(|b| b["id"].as_str().unwrap()).collect();
        assert_eq!(bid_ids, ["bid-1", "bid-2", "bid-3"], "by lot, then submission time");
        assert_eq!(bids[0]["status"], "valid");
        assert_eq!(bids[1]["status"], "disqualified");
        assert_eq!(bids[2]["relatedLots"], json!(["lot-2"]));

        let awards = release["awards"].as_array().unwrap();
        assert_eq!(awards.len(), 1);
        assert_eq!(awards[0]["status"], "active");
        assert_eq!(awards[0]["relatedLots"], json!(["lot-1"]));
        assert_eq!(awards[0]["value"]["amount"], 1400.01);

        let contract = &release["contracts"][0];
        assert_eq!(contract["awardID"], "award-1");
        assert_eq!(contract["status"], "active");
        assert_eq!(contract["statusDetails"], "in_execution");
        assert_eq!(contract["period"]["endDate"], "2024-12-31T23:59:59+05:00");
        assert_eq!(contract["amendments"][0]["rationale_en"], "Change in quantity");
        assert_eq!(contract["amendments"][0]["description"], "Сумма договора изменена с 1400.01 до 1500.00 KZT");
        let transactions = contract["implementation"]["transactions"].as_array().unwrap();
        let ids: Vec<&str> = transactions.iter().map(|t| t["id"].as_str().unwrap()).collect();
        assert_eq!(ids, ["payment-1", "payment-2"], "in payment order");
        assert_eq!(transactions[1]["value"], json!({ "amount": 250.5, "currency": "KZT" }));
        assert_eq!(transactions[1]["payer"]["id"], "KZ-BIN-990240424458");
        assert_eq!(transactions[1]["payee"]["id"], "KZ-BIN-050140000656");
    }

    #[test]
    fn a_direct_contract_is_a_process_with_an_implied_award() {
        let (rows, _, direct) = rows(0);
        let release = rows.release(&direct).unwrap();
        assert_eq!(release["ocid"], "ocds-scrtny-demo-contract-2");
        assert_eq!(release["tender"]["procurementMethod"], "direct");
        assert_eq!(release["tender"]["procurementMethodDetails"], "single_source");
        assert_eq!(release["tender"]["status"], "complete");
        let award = &release["awards"][0];
        assert_eq!(award["id"], "award-for-contract-2");
        assert_eq!(release["contracts"][0]["awardID"], award["id"]);
        assert_eq!(award["value"]["amount"], 1400.01, "the amount before the amendment");
        assert_eq!(release["contracts"][0]["value"]["amount"], 1500);
        assert_eq!(release["date"], "2024-03-20T05:00:00Z", "the amendment");
        assert!(release.get("planning").is_none() && release.get("bids").is_none());
        assert_eq!(roles(&release, "KZ-BIN-050140000656"), ["supplier"]);
    }

    #[test]
    fn releases_depend_on_content_not_on_database_ids() {
        let (rows_a, tender_a, direct_a) = rows(0);
        let (rows_b, tender_b, direct_b) = rows(1_000);
        assert_eq!(rows_a.release(&tender_a).unwrap(), rows_b.release(&tender_b).unwrap());
        assert_eq!(rows_a.release(&direct_a).unwrap(), rows_b.release(&direct_b).unwrap());

        let (mut changed, tender, _) = rows(0);
        changed.payments_by_contract.values_mut().flatten().for_each(|payment| payment.amount_minor += 1);
        let before = rows_a.release(&tender_a).unwrap();
        let after = changed.release(&tender).unwrap();
        assert_ne!(before["id"], after["id"], "new facts, new release id");
        assert_eq!(before["ocid"], after["ocid"]);
    }

    #[test]
    fn a_dangling_organization_is_an_error_not_a_guess() {
        let (mut rows, tender, _) = rows(0);
        rows.organizations.remove(&3);
        assert!(matches!(rows.release(&tender), Err(DomainError::Inconsistent(_))));
    }

    #[test]
    fn packages_are_as_new_as_their_newest_release() {
        let (rows, tender, direct) = rows(0);
        let releases = vec![rows.release(&tender).unwrap(), rows.release(&direct).unwrap()];
        let package = release_package("http://example.test/v1/ocds/releases", releases, None);
        assert_eq!(package["publishedDate"], "2024-03-28T05:00:00Z");
        assert_eq!(package["version"], "1.1");
        assert!(package.get("links").is_none());
        let empty = release_package("http://example.test/p", vec![], Some("http://example.test/next".into()));
        assert!(empty["publishedDate"].is_string());
        assert_eq!(empty["links"]["next"], "http://example.test/next");
    }
}
