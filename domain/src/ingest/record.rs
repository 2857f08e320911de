//! What an importer hands the store: one upstream record, already parsed into domain types,
//! whose references to other records are upstream keys the store resolves to row ids.
//!
//! Records carry no row ids and no provenance: the store adds `source`, `fetched_at`,
//! `import_run_id` and the content hash (SHA-256 of the record's JSON), so the same upstream
//! record read twice hashes the same and is counted unchanged.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::biin::Biin;
use crate::entities::{ContractStatus, DecisionKind, OrganizationKind, ProcurementMethod, TenderStatus};
use crate::kato::KatoCode;
use crate::names::LocalizedName;

/// An exact amount as an upstream record states it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Amount {
    /// Minor units (tiyn for tenge).
    pub minor_units: i64,
    /// ISO 4217 code, checked by `money::parse_currency`.
    pub currency: String,
    /// Rate to tenge on the day the amount was fixed; 1 for tenge.
    pub exchange_rate: Decimal,
    /// Whether the amount includes VAT.
    pub vat_included: bool,
}

impl Amount {
    /// Tenge at rate 1.
    pub fn kzt(minor_units: i64, vat_included: bool) -> Self {
        Amount { minor_units, currency: "KZT".into(), exchange_rate: Decimal::ONE, vat_included }
    }
}

/// A reference to an organization from another record (a buyer, a supplier, a payer).
///
/// The store finds the organization by BIN when there is one, else by `key` within the
/// source; an organization not yet stored is created from what the reference says, and a
/// later organization record from a register fills in the rest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrgRef {
    pub bin: Option<Biin>,
    /// The party's identifier within the source when it has no BIN (an OCDS party id, a
    /// foreign tax number); ignored when `bin` is set.
    pub key: Option<String>,
    pub name: LocalizedName,
    /// What the organization is taken to be if it has to be created.
    pub kind: OrganizationKind,
}

impl OrgRef {
    pub fn by_bin(bin: Biin, name: LocalizedName, kind: OrganizationKind) -> Self {
        OrgRef { bin: Some(bin), key: None, name, kind }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrganizationRecord {
    pub upstream_id: String,
    pub bin: Option<Biin>,
    pub name: LocalizedName,
    pub kind: OrganizationKind,
    pub region_kato: Option<KatoCode>,
    /// The day the organization was registered (its state registration), when the register
    /// says. Left out of the record's JSON when unknown, so that records of sources that never
    /// know it hash as they did before the field existed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registered_on: Option<NaiveDate>,
}

/// An entry of the register of unreliable suppliers (goszakup's `rnu`): who may not take part
/// in public procurement, from when and until when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnreliableSupplierRecord {
    pub upstream_id: String,
    pub supplier: OrgRef,
    /// The first day on the register.
    pub included_on: NaiveDate,
    /// The first day off it again; `None` while the register gives no end.
    pub excluded_on: Option<NaiveDate>,
    /// Why, e.g. the court decision that put the supplier on the register.
    pub reason: LocalizedName,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanItemRecord {
    pub upstream_id: String,
    pub buyer: OrgRef,
    pub fiscal_year: i32,
    pub name: LocalizedName,
    /// ENS TRU (goods, works and services classifier) code.
    pub enstru_code: Option<String>,
    pub procurement_method: ProcurementMethod,
    /// Decimal text, e.g. `"12.5"`.
    pub quantity: String,
    pub unit_price_minor: i64,
    pub amount: Amount,
    pub planned_month: Option<i32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TenderRecord {
    pub upstream_id: String,
    /// The number the public sees, e.g. goszakup's `number_anno`.
    pub number: String,
    pub buyer: OrgRef,
    pub name: LocalizedName,
    pub procurement_method: ProcurementMethod,
    pub status: TenderStatus,
    pub fiscal_year: i32,
    pub published_at: DateTime<Utc>,
    pub bids_open_at: Option<DateTime<Utc>>,
    pub bids_close_at: Option<DateTime<Utc>>,
    pub amount: Amount,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LotRecord {
    pub upstream_id: String,
    /// The tender's upstream id in the same source; a lot whose tender is not stored is rejected.
    pub tender: String,
    pub plan_item: Option<String>,
    pub lot_number: String,
    pub name: LocalizedName,
    pub status: TenderStatus,
    pub quantity: String,
    pub amount: Amount,
    pub delivery_kato: Option<KatoCode>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BidRecord {
    pub upstream_id: String,
    pub lot: String,
    pub bidder: OrgRef,
    pub submitted_at: DateTime<Utc>,
    pub amount: Amount,
    pub admitted: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AwardRecord {
    pub upstream_id: String,
    pub lot: String,
    pub supplier: OrgRef,
    pub awarded_at: DateTime<Utc>,
    pub amount: Amount,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContractRecord {
    pub upstream_id: String,
    pub number: String,
    pub buyer: OrgRef,
    pub supplier: OrgRef,
    /// Upstream ids in the same source; a reference not (yet) stored is left empty.
    pub tender: Option<String>,
    pub lot: Option<String>,
    pub award: Option<String>,
    pub procurement_method: ProcurementMethod,
    pub status: ContractStatus,
    pub fiscal_year: i32,
    pub description: LocalizedName,
    /// `None`: not signed yet (a draft).
    pub signed_at: Option<DateTime<Utc>>,
    pub ends_on: Option<NaiveDate>,
    pub amount: Amount,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AmendmentRecord {
    pub upstream_id: String,
    pub contract: String,
    pub sequence: i32,
    pub signed_at: DateTime<Utc>,
    pub reason: LocalizedName,
    pub previous_amount_minor: i64,
    /// The amount after the amendment, with its currency and VAT basis.
    pub new_amount: Amount,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PaymentRecord {
    pub upstream_id: String,
    /// The contract's upstream id in the same source, when the payment names one.
    pub contract: Option<String>,
    pub payer: OrgRef,
    pub payee: OrgRef,
    pub budget_line: Option<String>,
    pub document_number: String,
    pub paid_at: DateTime<Utc>,
    pub fiscal_year: i32,
    pub purpose: LocalizedName,
    pub amount: Amount,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeliveryActRecord {
    pub upstream_id: String,
    pub contract: String,
    pub number: String,
    pub signed_at: DateTime<Utc>,
    pub amount: Amount,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DecisionRecord {
    pub upstream_id: String,
    pub organization: OrgRef,
    pub kind: DecisionKind,
    pub number: String,
    pub adopted_on: NaiveDate,
    pub title: LocalizedName,
    pub summary: LocalizedName,
    pub url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BudgetLineRecord {
    pub upstream_id: String,
    pub administrator: OrgRef,
    pub fiscal_year: i32,
    /// Administrator, programme and sub-programme codes, e.g. `217-001-100`.
    pub program_code: String,
    pub name: LocalizedName,
    pub approved_minor: i64,
    pub currency: String,
}

/// The tables a record can land in, in the order a batch writes them (referenced first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Table {
    Organizations,
    UnreliableSuppliers,
    BudgetLines,
    PlanItems,
    Tenders,
    Lots,
    Bids,
    Awards,
    Contracts,
    ContractAmendments,
    Payments,
    DeliveryActs,
    Decisions,
}

impl Table {
    pub fn name(self) -> &'static str {
        match self {
            Table::Organizations => "organizations",
            Table::UnreliableSuppliers => "unreliable_suppliers",
            Table::BudgetLines => "budget_lines",
            Table::PlanItems => "plan_items",
            Table::Tenders => "tenders",
            Table::Lots => "lots",
            Table::Bids => "bids",
            Table::Awards => "awards",
            Table::Contracts => "contracts",
            Table::ContractAmendments => "contract_amendments",
            Table::Payments => "payments",
            Table::DeliveryActs => "delivery_acts",
            Table::Decisions => "decisions",
        }
    }
}

/// One upstream record, or the upstream's word that a record is gone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Record {
    Organization(OrganizationRecord),
    UnreliableSupplier(UnreliableSupplierRecord),
    BudgetLine(BudgetLineRecord),
    PlanItem(PlanItemRecord),
    Tender(TenderRecord),
    Lot(LotRecord),
    Bid(BidRecord),
    Award(AwardRecord),
    Contract(ContractRecord),
    Amendment(AmendmentRecord),
    Payment(PaymentRecord),
    DeliveryAct(DeliveryActRecord),
    Decision(DecisionRecord),
    /// The upstream deleted (or flagged as deleted) this record.
    Deletion {
        table: Table,
        upstream_id: String,
    },
    /// The upstream took a supplier off the register of unreliable suppliers (goszakup's
    /// journal deleted the entry): the stored entry keeps its row, with `excluded_on` set to
    /// this day unless it already ends earlier.
    RegisterExit {
        upstream_id: String,
        excluded_on: NaiveDate,
    },
}

impl Record {
    pub fn table(&self) -> Table {
        match self {
            Record::Organization(_) => Table::Organizations,
            Record::UnreliableSupplier(_) | Record::RegisterExit { .. } => Table::UnreliableSuppliers,
            Record::BudgetLine(_) => Table::BudgetLines,
            Record::PlanItem(_) => Table::PlanItems,
            Record::Tender(_) => Table::Tenders,
            Record::Lot(_) => Table::Lots,
            Record::Bid(_) => Table::Bids,
            Record::Award(_) => Table::Awards,
            Record::Contract(_) => Table::Contracts,
            Record::Amendment(_) => Table::ContractAmendments,
            Record::Payment(_) => Table::Payments,
            Record::DeliveryAct(_) => Table::DeliveryActs,
            Record::Decision(_) => Table::Decisions,
            Record::Deletion { table, .. } => *table,
        }
    }

    pub fn upstream_id(&self) -> &str {
        match self {
            Record::Organization(r) => &r.upstream_id,
            Record::UnreliableSupplier(r) => &r.upstream_id,
            Record::BudgetLine(r) => &r.upstream_id,
            Record::PlanItem(r) => &r.upstream_id,
            Record::Tender(r) => &r.upstream_id,
            Record::Lot(r) => &r.upstream_id,
            Record::Bid(r) => &r.upstream_id,
            Record::Award(r) => &r.upstream_id,
            Record::Contract(r) => &r.upstream_id,
            Record::Amendment(r) => &r.upstream_id,
            Record::Payment(r) => &r.upstream_id,
            Record::DeliveryAct(r) => &r.upstream_id,
            Record::Decision(r) => &r.upstream_id,
            Record::Deletion { upstream_id, .. } | Record::RegisterExit { upstream_id, .. } => upstream_id,
        }
    }
}

/// Where in the input a record was read: a file and line, or a URL and the item's position.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Location {
    /// A file path or a URL.
    pub input: String,
    /// The 1-based line (CSV, JSON Lines) or item index within a page or file.
    pub position: Option<u64>,
}

impl Location {
    pub fn new(input: impl Into<String>, position: Option<u64>) -> Self {
        Location { input: input.into(), position }
    }
}

/// A reject: one input record that was rejected, or stored after a repair the importer made
/// to a known upstream deviation (an object where an array belongs, say).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reject {
    pub location: Location,
    /// The record's upstream id when it could be read.
    pub record_id: Option<String>,
    pub reason: String,
}

impl Reject {
    pub fn new(location: Location, record_id: Option<String>, reason: impl Into<String>) -> Self {
        Reject { location, record_id, reason: reason.into() }
    }
}

/// What a parser makes of one input record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// Records to store (an OCDS release yields several), with the repairs made on the way.
    Records { location: Location, records: Vec<Record>, repairs: Vec<Reject> },
    /// The input record is rejected as a whole.
    Rejected(Reject),
}
