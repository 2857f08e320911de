//! The demo data set: one coherent, deterministic picture of Kazakhstan public spending over
//! three fiscal years, for `scrutiny seed`, the docs' examples and the tests.
//!
//! Organizations come from `fixtures/demo/organizations.csv` (real state bodies and national
//! companies by name, synthetic but check-digit-valid BINs, fictional suppliers). Procured items
//! and their prices come from `fixtures/demo/catalogue.csv`, taken from a real goszakup plans
//! page. Everything else is generated from a fixed seed, so every run yields the same records.
//!
//! Each generated record has a stable upstream key and is stored like an imported record
//! (source `demo`, content hash of the record), so loading twice stores nothing new.
//!
//! Beside the generated records, [`planted`] adds cases for every red flag, each with a near
//! miss (`fixtures/red-flags.md` lists them): organizations from
//! `fixtures/demo/planted-organizations.csv`, records under keys starting `rf-`, and the
//! register of unreliable suppliers. They come after everything generated, so the generated
//! records are the same with or without them.

mod planted;

pub use planted::{COVER_BIDS, ROUTINE_TENDERS};

use std::collections::HashMap;

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect, Set,
    TransactionTrait,
};
use serde::{Deserialize, Serialize};

use crate::DomainError;
use crate::biin::Biin;
use crate::entities::{self, *};
use crate::kato::KatoCode;
use crate::money::Money;
use crate::provenance::content_hash;

/// The `source` of every demo row.
pub const SOURCE: &str = "demo";
/// The fiscal years the demo data spans.
pub const FISCAL_YEARS: [i32; 3] = [2023, 2024, 2025];
/// How many of each record the generator makes.
pub const GENERATED_TENDERS: usize = 1_000;
pub const GENERATED_CONTRACTS: usize = 2_000;
pub const GENERATED_PAYMENTS: usize = 10_000;
/// How many of each record the demo set holds: the generated ones and the planted cases.
pub const TENDERS: usize = GENERATED_TENDERS + planted::TENDERS;
pub const CONTRACTS: usize = GENERATED_CONTRACTS + planted::CONTRACTS;
pub const PAYMENTS: usize = GENERATED_PAYMENTS + planted::PAYMENTS;
pub const DECISIONS: usize = 100;
pub const UNRELIABLE_SUPPLIERS: usize = planted::UNRELIABLE_SUPPLIERS;

const SEED: u64 = 0x005C_2023_0A0B;
const ORGANIZATIONS_CSV: &str = include_str!("../../fixtures/demo/organizations.csv");
const CATALOGUE_CSV: &str = include_str!("../../fixtures/demo/catalogue.csv");

/// When the demo set was "fetched": fixed, so that loads are identical.
fn fetched_at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 15, 0, 0, 0).unwrap()
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DemoOrganization {
    pub key: String,
    pub bin: String,
    pub kind: OrganizationKind,
    pub name_ru: String,
    pub name_kk: String,
    pub name_en: String,
    pub region_kato: String,
    pub parent_key: Option<String>,
    /// The day of its state registration, where the demo says (planted cases only). Left out of
    /// the record's JSON when unknown, so the other organizations hash as they always did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registered_on: Option<NaiveDate>,
}

#[derive(Debug, Clone, Deserialize)]
struct CatalogueItem {
    name_ru: String,
    name_kk: String,
    enstru_code: String,
    unit_price: String,
    quantity: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct DemoBudgetLine {
    pub key: String,
    pub administrator: String,
    pub fiscal_year: i32,
    pub program_code: String,
    pub name: [String; 3],
    pub approved_minor: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct DemoPlanItem {
    pub key: String,
    pub buyer: String,
    pub budget_line: Option<String>,
    pub fiscal_year: i32,
    pub name_ru: String,
    pub name_kk: String,
    pub enstru_code: String,
    pub method: ProcurementMethod,
    pub quantity: u32,
    pub unit_price_minor: i64,
    pub amount_minor: i64,
    pub planned_month: u32,
    pub vat_included: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct DemoTender {
    pub key: String,
    pub number: String,
    pub buyer: String,
    pub name_ru: String,
    pub name_kk: String,
    pub method: ProcurementMethod,
    pub status: TenderStatus,
    pub fiscal_year: i32,
    pub published_at: DateTime<Utc>,
    pub bids_open_at: DateTime<Utc>,
    pub bids_close_at: DateTime<Utc>,
    pub amount_minor: i64,
    pub vat_included: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct DemoLot {
    pub key: String,
    pub tender: String,
    pub plan_item: String,
    pub lot_number: String,
    pub name_ru: String,
    pub name_kk: String,
    pub status: TenderStatus,
    pub quantity: u32,
    pub amount_minor: i64,
    pub delivery_kato: String,
    pub vat_included: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct DemoBid {
    pub key: String,
    pub lot: String,
    pub bidder: String,
    pub submitted_at: DateTime<Utc>,
    pub amount_minor: i64,
    pub admitted: bool,
    pub vat_included: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct DemoAward {
    pub key: String,
    pub lot: String,
    pub supplier: String,
    pub awarded_at: DateTime<Utc>,
    pub amount_minor: i64,
    pub vat_included: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct DemoContract {
    pub key: String,
    pub number: String,
    pub buyer: String,
    pub supplier: String,
    pub tender: Option<String>,
    pub lot: Option<String>,
    pub award: Option<String>,
    pub method: ProcurementMethod,
    pub status: ContractStatus,
    pub fiscal_year: i32,
    pub description_ru: String,
    pub description_kk: String,
    pub signed_at: DateTime<Utc>,
    pub ends_on: NaiveDate,
    /// The amount after every amendment.
    pub amount_minor: i64,
    pub vat_included: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct DemoAmendment {
    pub key: String,
    pub contract: String,
    pub sequence: i32,
    pub signed_at: DateTime<Utc>,
    pub reason: [String; 3],
    pub previous_amount_minor: i64,
    pub new_amount_minor: i64,
    pub vat_included: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct DemoPayment {
    pub key: String,
    pub contract: String,
    pub payer: String,
    pub payee: String,
    pub budget_line: Option<String>,
    pub document_number: String,
    pub paid_at: DateTime<Utc>,
    pub fiscal_year: i32,
    pub purpose: [String; 3],
    pub amount_minor: i64,
    pub vat_included: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct DemoDeliveryAct {
    pub key: String,
    pub contract: String,
    pub number: String,
    pub signed_at: DateTime<Utc>,
    pub amount_minor: i64,
    pub vat_included: bool,
}

/// An entry of the register of unreliable suppliers.
#[derive(Debug, Clone, Serialize)]
pub struct DemoUnreliableSupplier {
    pub key: String,
    pub supplier: String,
    pub included_on: NaiveDate,
    /// The first day off the register; `None` while on it.
    pub excluded_on: Option<NaiveDate>,
    pub reason: [String; 3],
}

#[derive(Debug, Clone, Serialize)]
pub struct DemoDecision {
    pub key: String,
    pub organization: String,
    pub kind: DecisionKind,
    pub number: String,
    pub adopted_on: NaiveDate,
    pub title: [String; 3],
    pub summary: [String; 3],
}

/// The whole demo set, with records referring to each other by key.
#[derive(Debug, Clone, Default)]
pub struct DemoData {
    pub organizations: Vec<DemoOrganization>,
    pub budget_lines: Vec<DemoBudgetLine>,
    pub plan_items: Vec<DemoPlanItem>,
    pub tenders: Vec<DemoTender>,
    pub lots: Vec<DemoLot>,
    pub bids: Vec<DemoBid>,
    pub awards: Vec<DemoAward>,
    pub contracts: Vec<DemoContract>,
    pub amendments: Vec<DemoAmendment>,
    pub payments: Vec<DemoPayment>,
    pub delivery_acts: Vec<DemoDeliveryAct>,
    pub decisions: Vec<DemoDecision>,
    pub unreliable_suppliers: Vec<DemoUnreliableSupplier>,
}

/// Row counts per table, for reports and checks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub organizations: u64,
    pub budget_lines: u64,
    pub plan_items: u64,
    pub tenders: u64,
    pub lots: u64,
    pub bids: u64,
    pub awards: u64,
    pub contracts: u64,
    pub contract_amendments: u64,
    pub payments: u64,
    pub delivery_acts: u64,
    pub decisions: u64,
    pub unreliable_suppliers: u64,
}

impl Counts {
    pub fn total(&self) -> u64 {
        self.organizations
            + self.budget_lines
            + self.plan_items
            + self.tenders
            + self.lots
            + self.bids
            + self.awards
            + self.contracts
            + self.contract_amendments
            + self.payments
            + self.delivery_acts
            + self.decisions
            + self.unreliable_suppliers
    }

    /// How many rows of each table the database holds, from any source.
    pub async fn in_database(db: &DatabaseConnection) -> Result<Counts, DomainError> {
        Ok(Counts {
            organizations: entities::organization::Entity::find().count(db).await?,
            budget_lines: entities::budget_line::Entity::find().count(db).await?,
            plan_items: entities::plan_item::Entity::find().count(db).await?,
            tenders: entities::tender::Entity::find().count(db).await?,
            lots: entities::lot::Entity::find().count(db).await?,
            bids: entities::bid::Entity::find().count(db).await?,
            awards: entities::award::Entity::find().count(db).await?,
            contracts: entities::contract::Entity::find().count(db).await?,
            contract_amendments: entities::contract_amendment::Entity::find().count(db).await?,
            payments: entities::payment::Entity::find().count(db).await?,
            delivery_acts: entities::delivery_act::Entity::find().count(db).await?,
            decisions: entities::decision::Entity::find().count(db).await?,
            unreliable_suppliers: entities::unreliable_supplier::Entity::find().count(db).await?,
        })
    }
}

impl DemoData {
    pub fn counts(&self) -> Counts {
        Counts {
            organizations: self.organizations.len() as u64,
            budget_lines: self.budget_lines.len() as u64,
            plan_items: self.plan_items.len() as u64,
            tenders: self.tenders.len() as u64,
            lots: self.lots.len() as u64,
            bids: self.bids.len() as u64,
            awards: self.awards.len() as u64,
            contracts: self.contracts.len() as u64,
            contract_amendments: self.amendments.len() as u64,
            payments: self.payments.len() as u64,
            delivery_acts: self.delivery_acts.len() as u64,
            decisions: self.decisions.len() as u64,
            unreliable_suppliers: self.unreliable_suppliers.len() as u64,
        }
    }
}

/// Every demo organization: the fixture's, then the planted cases', checking every BIN/IIN, KATO
/// code and parent reference.
pub fn organizations() -> Result<Vec<DemoOrganization>, DomainError> {
    let mut all = parse_organizations(ORGANIZATIONS_CSV)?;
    let planted = planted::organizations(&all)?;
    all.extend(planted);
    Ok(all)
}

fn parse_organizations(text: &str) -> Result<Vec<DemoOrganization>, DomainError> {
    parse_organizations_with(text, "organizations.csv", &[])
}

/// Parses an organizations fixture whose parents are on its earlier lines or among `known`.
fn parse_organizations_with(
    text: &str,
    file: &str,
    known: &[DemoOrganization],
) -> Result<Vec<DemoOrganization>, DomainError> {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let mut all: Vec<DemoOrganization> = Vec::new();
    for (index, row) in reader.deserialize::<DemoOrganization>().enumerate() {
        let line = index + 2;
        let mut org = row.map_err(|e| DomainError::DemoData(format!("{file} line {line}: {e}")))?;
        org.parent_key = org.parent_key.filter(|key| !key.is_empty());
        org.bin
            .parse::<Biin>()
            .map_err(|e| DomainError::DemoData(format!("{file} line {line}: BIN {}: {e}", org.bin)))?;
        org.region_kato.parse::<KatoCode>().map_err(|e| DomainError::DemoData(format!("{file} line {line}: {e}")))?;
        if let Some(parent) = &org.parent_key
            && !all.iter().chain(known).any(|earlier| &earlier.key == parent)
        {
            return Err(DomainError::DemoData(format!(
                "{file} line {line}: parent {parent:?} must appear on an earlier line"
            )));
        }
        all.push(org);
    }
    Ok(all)
}

fn catalogue() -> Result<Vec<CatalogueItem>, DomainError> {
    let mut reader = csv::Reader::from_reader(CATALOGUE_CSV.as_bytes());
    reader
        .deserialize::<CatalogueItem>()
        .enumerate()
        .map(|(index, row)| row.map_err(|e| DomainError::DemoData(format!("catalogue.csv line {}: {e}", index + 2))))
        .collect()
}

/// Generates the demo set. Pure and deterministic: the same every call, on every machine.
pub fn generate() -> Result<DemoData, DomainError> {
    let main = parse_organizations(ORGANIZATIONS_CSV)?;
    let planted = planted::organizations(&main)?;
    let catalogue = catalogue()?;
    // The generator sees only the main fixture's organizations, so its draws do not depend on
    // the planted cases.
    let mut data = Generator::new(main, catalogue.clone()).run()?;
    planted::plant(&mut data, planted, &catalogue)?;
    Ok(data)
}

struct Generator {
    rng: fastrand::Rng,
    data: DemoData,
    catalogue: Vec<CatalogueItem>,
    buyers: Vec<usize>,
    suppliers: Vec<usize>,
}

/// Methods with their share of tenders, as percentages.
const METHOD_SHARES: [(ProcurementMethod, u32); 6] = [
    (ProcurementMethod::OpenTender, 30),
    (ProcurementMethod::PriceQuotation, 30),
    (ProcurementMethod::SingleSource, 18),
    (ProcurementMethod::Auction, 12),
    (ProcurementMethod::CommodityExchange, 5),
    (ProcurementMethod::PrequalifiedTender, 5),
];

const PROGRAMMES: [[&str; 3]; 4] = [
    [
        "Услуги по обеспечению деятельности",
        "Қызметін қамтамасыз ету жөніндегі қызметтер",
        "Services supporting the body's operations",
    ],
    ["Капитальные расходы", "Күрделі шығыстар", "Capital expenditure"],
    ["Информатизация и цифровизация", "Ақпараттандыру және цифрландыру", "Informatization and digitalization"],
    ["Строительство и ремонт объектов", "Объектілерді салу және жөндеу", "Construction and repair of facilities"],
];

const AMENDMENT_REASONS: [[&str; 3]; 3] = [
    [
        "Изменение объёма закупаемых товаров, работ, услуг",
        "Сатып алынатын тауарлар, жұмыстар, көрсетілетін қызметтер көлемінің өзгеруі",
        "Change in the quantity of goods, works or services",
    ],
    [
        "Уменьшение цены договора без изменения объёма",
        "Көлемін өзгертпей шарт бағасын азайту",
        "Price reduction with unchanged quantity",
    ],
    [
        "Изменение сроков исполнения договора",
        "Шартты орындау мерзімдерінің өзгеруі",
        "Change of the contract's delivery schedule",
    ],
];

const DECISION_TOPICS: [[&str; 6]; 6] = [
    [
        "Об утверждении плана государственных закупок на {year} год",
        "{year} жылға арналған мемлекеттік сатып алу жоспарын бекіту туралы",
        "On approval of the procurement plan for {year}",
        "Утвержден годовой план закупок товаров, работ и услуг.",
        "Тауарларды, жұмыстарды және көрсетілетін қызметтерді сатып алудың жылдық жоспары бекітілді.",
        "The annual plan for procuring goods, works and services was approved.",
    ],
    [
        "О внесении изменений в план закупок на {year} год",
        "{year} жылға арналған сатып алу жоспарына өзгерістер енгізу туралы",
        "On amendments to the procurement plan for {year}",
        "В план закупок включены новые позиции и исключены неактуальные.",
        "Сатып алу жоспарына жаңа позициялар енгізіліп, өзектілігін жойғандары алынып тасталды.",
        "New items were added to the procurement plan and obsolete ones removed.",
    ],
    [
        "Об утверждении отчёта об исполнении бюджета за {year} год",
        "{year} жылғы бюджеттің атқарылуы туралы есепті бекіту туралы",
        "On approval of the budget execution report for {year}",
        "Утвержден отчёт об исполнении бюджетных программ.",
        "Бюджеттік бағдарламалардың атқарылуы туралы есеп бекітілді.",
        "The report on the execution of budget programmes was approved.",
    ],
    [
        "О создании рабочей группы по мониторингу исполнения договоров",
        "Шарттардың орындалуын мониторингтеу жөніндегі жұмыс тобын құру туралы",
        "On establishing a working group to monitor contract performance",
        "Создана рабочая группа с участием членов общественного совета.",
        "Қоғамдық кеңес мүшелерінің қатысуымен жұмыс тобы құрылды.",
        "A working group including public council members was established.",
    ],
    [
        "Об одобрении крупной сделки",
        "Ірі мәмілені мақұлдау туралы",
        "On approval of a major transaction",
        "Одобрено заключение договора на сумму свыше десяти процентов активов.",
        "Активтердің он пайызынан асатын сомаға шарт жасасу мақұлданды.",
        "A contract exceeding ten percent of assets was approved.",
    ],
    [
        "Об утверждении плана развития на {year} год",
        "{year} жылға арналған даму жоспарын бекіту туралы",
        "On approval of the development plan for {year}",
        "Утверждены ключевые показатели деятельности и инвестиционные проекты.",
        "Қызметтің негізгі көрсеткіштері мен инвестициялық жобалар бекітілді.",
        "Key performance indicators and investment projects were approved.",
    ],
];

impl Generator {
    fn new(organizations: Vec<DemoOrganization>, catalogue: Vec<CatalogueItem>) -> Self {
        let buyers =
            (0..organizations.len()).filter(|&i| organizations[i].kind != OrganizationKind::Supplier).collect();
        let suppliers =
            (0..organizations.len()).filter(|&i| organizations[i].kind == OrganizationKind::Supplier).collect();
        Generator {
            rng: fastrand::Rng::with_seed(SEED),
            data: DemoData { organizations, ..Default::default() },
            catalogue,
            buyers,
            suppliers,
        }
    }

    fn org(&self, index: usize) -> &DemoOrganization {
        &self.data.organizations[index]
    }

    /// Quasi-public buyers buy through zakup.sk.kz, whose amounts exclude VAT.
    fn vat_included(&self, buyer: usize) -> bool {
        self.org(buyer).kind != OrganizationKind::QuasiPublic
    }

    fn pick_method(&mut self) -> ProcurementMethod {
        let mut roll = self.rng.u32(0..100);
        for (method, share) in METHOD_SHARES {
            if roll < share {
                return method;
            }
            roll -= share;
        }
        ProcurementMethod::Other
    }

    /// A moment during Almaty working hours (09:00–18:00, UTC+5) on day `day` of `year`.
    fn working_moment(&mut self, year: i32, day: u32) -> DateTime<Utc> {
        let start = Utc.with_ymd_and_hms(year, 1, 1, 4, 0, 0).unwrap();
        start + Duration::days(day as i64) + Duration::seconds(self.rng.i64(0..9 * 3600))
    }

    /// Scales an amount by a factor drawn from `percent_range`, exactly, in minor units.
    fn scale(&mut self, amount: i64, percent_range: std::ops::Range<i64>) -> i64 {
        amount * self.rng.i64(percent_range) / 100
    }

    fn run(mut self) -> Result<DemoData, DomainError> {
        self.budget_lines();
        self.tenders()?;
        self.direct_contracts()?;
        self.amendments();
        self.payments_and_acts();
        self.decisions();
        Ok(self.data)
    }

    fn budget_lines(&mut self) {
        for (abp_index, &buyer) in self.buyers.clone().iter().enumerate() {
            if self.org(buyer).kind != OrganizationKind::StateBody {
                continue;
            }
            for year in FISCAL_YEARS {
                for (programme_index, programme) in PROGRAMMES.iter().enumerate().take(2 + abp_index % 3) {
                    // 2 to 60 billion tenge, in tiyn.
                    let approved_minor = self.rng.i64(2_000..60_000) * 1_000_000 * 100;
                    let key = format!("budget-{}-{year}-{programme_index}", self.org(buyer).key);
                    self.data.budget_lines.push(DemoBudgetLine {
                        key,
                        administrator: self.org(buyer).key.clone(),
                        fiscal_year: year,
                        program_code: format!("{:03}-{:03}-100", 201 + abp_index, programme_index + 1),
                        name: programme.map(str::to_owned),
                        approved_minor,
                    });
                }
            }
        }
    }

    fn budget_line_for(&mut self, buyer: usize, year: i32) -> Option<String> {
        let prefix = format!("budget-{}-{year}-", self.org(buyer).key);
        let lines: Vec<&DemoBudgetLine> =
            self.data.budget_lines.iter().filter(|line| line.key.starts_with(&prefix)).collect();
        if lines.is_empty() {
            return None;
        }
        let index = self.rng.usize(0..lines.len());
        Some(lines[index].key.clone())
    }

    fn unit_price_minor(item: &CatalogueItem) -> Result<i64, DomainError> {
        Money::minor_units_from_str(&item.unit_price)
            .map_err(|e| DomainError::DemoData(format!("catalogue price {}: {e}", item.unit_price)))
    }

    fn tenders(&mut self) -> Result<(), DomainError> {
        for index in 0..GENERATED_TENDERS {
            let buyer = self.buyers[self.rng.usize(0..self.buyers.len())];
            let year = FISCAL_YEARS[self.rng.usize(0..FISCAL_YEARS.len())];
            let method = self.pick_method();
            let day = self.rng.u32(10..270);
            let published_at = self.working_moment(year, day);
            let bids_open_at = published_at + Duration::days(1);
            let bids_close_at = published_at + Duration::days(self.rng.i64(10..21));
            // The newest tenders are still open or under evaluation when the data was taken.
            let still_open = year == 2025 && published_at.ordinal() > 240;
            let status = if still_open {
                if self.rng.bool() { TenderStatus::Published } else { TenderStatus::Evaluation }
            } else if method == ProcurementMethod::SingleSource {
                TenderStatus::Awarded
            } else {
                match self.rng.u32(0..100) {
                    0..80 => TenderStatus::Awarded,
                    80..94 => TenderStatus::Failed,
                    _ => TenderStatus::Cancelled,
                }
            };
            let key = format!("tender-{index:05}");
            let lot_count = match self.rng.u32(0..10) {
                0..4 => 1,
                4..8 => 2,
                8 => 3,
                _ => 4,
            };
            let vat_included = self.vat_included(buyer);
            let mut tender_amount = 0;
            let mut first_name = None;
            for lot_index in 0..lot_count {
                let item = self.catalogue[self.rng.usize(0..self.catalogue.len())].clone();
                let quantity = item.quantity * self.rng.u32(1..6);
                let unit_price_minor = self.scale(Self::unit_price_minor(&item)?, 80..131);
                let amount_minor = unit_price_minor * quantity as i64;
                tender_amount += amount_minor;
                first_name.get_or_insert_with(|| (item.name_ru.clone(), item.name_kk.clone()));
                let plan_key = format!("plan-{index:05}-{lot_index}");
                let budget_line = self.budget_line_for(buyer, year);
                self.data.plan_items.push(DemoPlanItem {
                    key: plan_key.clone(),
                    buyer: self.org(buyer).key.clone(),
                    budget_line,
                    fiscal_year: year,
                    name_ru: item.name_ru.clone(),
                    name_kk: item.name_kk.clone(),
                    enstru_code: item.enstru_code.clone(),
                    method,
                    quantity,
                    unit_price_minor,
                    amount_minor,
                    planned_month: published_at.month(),
                    vat_included,
                });
                let lot_key = format!("lot-{index:05}-{lot_index}");
                self.data.lots.push(DemoLot {
                    key: lot_key.clone(),
                    tender: key.clone(),
                    plan_item: plan_key,
                    lot_number: format!("{}-ЗЦП{}", 10_000_000 + index * 37, lot_index + 1),
                    name_ru: item.name_ru.clone(),
                    name_kk: item.name_kk.clone(),
                    status,
                    quantity,
                    amount_minor,
                    delivery_kato: self.org(buyer).region_kato.clone(),
                    vat_included,
                });
                if matches!(status, TenderStatus::Awarded | TenderStatus::Failed | TenderStatus::Evaluation) {
                    self.bids_award_contract(
                        &key,
                        &lot_key,
                        &item,
                        buyer,
                        method,
                        status,
                        bids_close_at,
                        amount_minor,
                    )?;
                }
            }
            let (name_ru, name_kk) = first_name.expect("every tender has a lot");
            self.data.tenders.push(DemoTender {
                key,
                number: format!("{}-1", 10_000_000 + index * 37),
                buyer: self.org(buyer).key.clone(),
                name_ru,
                name_kk,
                method,
                status,
                fiscal_year: year,
                published_at,
                bids_open_at,
                bids_close_at,
                amount_minor: tender_amount,
                vat_included,
            });
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn bids_award_contract(
        &mut self,
        tender: &str,
        lot: &str,
        item: &CatalogueItem,
        buyer: usize,
        method: ProcurementMethod,
        status: TenderStatus,
        bids_close_at: DateTime<Utc>,
        lot_amount: i64,
    ) -> Result<(), DomainError> {
        let bidder_count = match method {
            ProcurementMethod::SingleSource => 1,
            _ if status == TenderStatus::Failed => self.rng.usize(0..2),
            _ => self.rng.usize(2..6),
        };
        let mut bidders = self.suppliers.clone();
        self.rng.shuffle(&mut bidders);
        let vat_included = self.vat_included(buyer);
        let mut best: Option<(usize, i64)> = None;
        for (bid_index, &bidder) in bidders.iter().take(bidder_count).enumerate() {
            let amount_minor = self.scale(lot_amount, 82..101);
            let admitted = status != TenderStatus::Failed && (bid_index == 0 || self.rng.u32(0..10) > 1);
            let submitted_at = bids_close_at - Duration::hours(self.rng.i64(2..200));
            self.data.bids.push(DemoBid {
                key: format!("bid-{lot}-{bid_index}"),
                lot: lot.to_owned(),
                bidder: self.org(bidder).key.clone(),
                submitted_at,
                amount_minor,
                admitted,
                vat_included,
            });
            if admitted && best.is_none_or(|(_, lowest)| amount_minor < lowest) {
                best = Some((bidder, amount_minor));
            }
        }
        let (Some((winner, amount_minor)), TenderStatus::Awarded) = (best, status) else {
            return Ok(());
        };
        let awarded_at = bids_close_at + Duration::days(self.rng.i64(2..8));
        let award_key = format!("award-{lot}");
        self.data.awards.push(DemoAward {
            key: award_key.clone(),
            lot: lot.to_owned(),
            supplier: self.org(winner).key.clone(),
            awarded_at,
            amount_minor,
            vat_included,
        });
        // Not every award reaches a signed contract within the data set's window.
        if self.data.contracts.len() < GENERATED_CONTRACTS {
            let signed_at = awarded_at + Duration::days(self.rng.i64(2..10));
            self.push_contract(
                buyer,
                winner,
                Some((tender.to_owned(), lot.to_owned(), award_key)),
                method,
                item,
                signed_at,
                amount_minor,
            );
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn push_contract(
        &mut self,
        buyer: usize,
        supplier: usize,
        origin: Option<(String, String, String)>,
        method: ProcurementMethod,
        item: &CatalogueItem,
        signed_at: DateTime<Utc>,
        amount_minor: i64,
    ) {
        let index = self.data.contracts.len();
        let year = signed_at.year();
        let status = match (year, self.rng.u32(0..100)) {
            (2025, 0..15) => ContractStatus::Signed,
            (2025, 15..90) => ContractStatus::InExecution,
            (_, 0..4) => ContractStatus::Terminated,
            _ => ContractStatus::Executed,
        };
        let buyer_org = self.org(buyer);
        let number = format!("{}/{}/{:02}", buyer_org.bin, 200_000 + index, 0);
        let (tender, lot, award) = match origin {
            Some((tender, lot, award)) => (Some(tender), Some(lot), Some(award)),
            None => (None, None, None),
        };
        self.data.contracts.push(DemoContract {
            key: format!("contract-{index:05}"),
            number,
            buyer: buyer_org.key.clone(),
            supplier: self.org(supplier).key.clone(),
            tender,
            lot,
            award,
            method,
            status,
            fiscal_year: year,
            description_ru: item.name_ru.clone(),
            description_kk: item.name_kk.clone(),
            signed_at,
            ends_on: NaiveDate::from_ymd_opt(year, 12, 31).expect("valid date"),
            amount_minor,
            vat_included: self.vat_included(buyer),
        });
    }

    /// Contracts signed without a tender (single source under the law's exemptions), up to
    /// the set's contract count.
    fn direct_contracts(&mut self) -> Result<(), DomainError> {
        while self.data.contracts.len() < GENERATED_CONTRACTS {
            let buyer = self.buyers[self.rng.usize(0..self.buyers.len())];
            let supplier = self.suppliers[self.rng.usize(0..self.suppliers.len())];
            let item = self.catalogue[self.rng.usize(0..self.catalogue.len())].clone();
            let year = FISCAL_YEARS[self.rng.usize(0..FISCAL_YEARS.len())];
            let day = self.rng.u32(15..300);
            let signed_at = self.working_moment(year, day);
            let amount_minor = self.scale(Self::unit_price_minor(&item)?, 90..111) * item.quantity as i64;
            self.push_contract(buyer, supplier, None, ProcurementMethod::SingleSource, &item, signed_at, amount_minor);
        }
        Ok(())
    }

    fn amendments(&mut self) {
        for index in 0..self.data.contracts.len() {
            if self.data.contracts[index].status == ContractStatus::Signed || self.rng.u32(0..100) >= 12 {
                continue;
            }
            let count = if self.rng.u32(0..10) < 3 { 2 } else { 1 };
            let mut amount = self.data.contracts[index].amount_minor;
            let mut signed_at = self.data.contracts[index].signed_at;
            for sequence in 1..=count {
                signed_at += Duration::days(self.rng.i64(10..40));
                let new_amount = self.scale(amount, 90..111);
                let reason = AMENDMENT_REASONS[self.rng.usize(0..AMENDMENT_REASONS.len())].map(str::to_owned);
                let contract = &self.data.contracts[index];
                self.data.amendments.push(DemoAmendment {
                    key: format!("amendment-{}-{sequence}", contract.key),
                    contract: contract.key.clone(),
                    sequence,
                    signed_at,
                    reason,
                    previous_amount_minor: amount,
                    new_amount_minor: new_amount,
                    vat_included: contract.vat_included,
                });
                amount = new_amount;
            }
            self.data.contracts[index].amount_minor = amount;
        }
    }

    /// Spreads exactly [`GENERATED_PAYMENTS`] payments over the contracts that have started, each
    /// preceded by a delivery act, never paying more than the contract's amount.
    fn payments_and_acts(&mut self) {
        let payable: Vec<usize> = (0..self.data.contracts.len())
            .filter(|&i| self.data.contracts[i].status != ContractStatus::Signed)
            .collect();
        let mut counts: Vec<usize> = payable.iter().map(|_| self.rng.usize(1..10)).collect();
        let mut total: usize = counts.iter().sum();
        while total != GENERATED_PAYMENTS {
            let slot = self.rng.usize(0..counts.len());
            if total > GENERATED_PAYMENTS && counts[slot] > 1 {
                counts[slot] -= 1;
                total -= 1;
            } else if total < GENERATED_PAYMENTS && counts[slot] < 12 {
                counts[slot] += 1;
                total += 1;
            }
        }
        let mut document_number = 0;
        for (&index, &count) in payable.iter().zip(&counts) {
            let contract = self.data.contracts[index].clone();
            let paid_share = match contract.status {
                ContractStatus::Executed => 100,
                ContractStatus::Terminated => self.rng.i64(30..80),
                _ => self.rng.i64(20..75),
            };
            let to_pay = contract.amount_minor * paid_share / 100;
            let weights: Vec<i64> = (0..count).map(|_| self.rng.i64(1..10)).collect();
            let weight_sum: i64 = weights.iter().sum();
            let window_start = contract.signed_at + Duration::days(5);
            let year_end = Utc.with_ymd_and_hms(contract.fiscal_year, 12, 28, 12, 0, 0).unwrap();
            let window_days = (year_end - window_start).num_days().max(1);
            let mut days: Vec<i64> = (0..count).map(|_| self.rng.i64(0..window_days)).collect();
            days.sort_unstable();
            let buyer = self.data.organizations.iter().position(|o| o.key == contract.buyer).expect("buyer");
            let budget_line = self.budget_line_for(buyer, contract.fiscal_year);
            let mut paid = 0;
            for (sequence, (weight, day)) in weights.iter().zip(days).enumerate() {
                // The last payment takes the remainder, so the parts sum to the paid amount.
                let amount_minor = if sequence + 1 == count { to_pay - paid } else { to_pay * weight / weight_sum };
                paid += amount_minor;
                document_number += 1;
                let paid_at = window_start + Duration::days(day) + Duration::seconds(self.rng.i64(0..28_800));
                let act_signed_at = paid_at - Duration::days(self.rng.i64(1..5));
                let number = &contract.number;
                self.data.delivery_acts.push(DemoDeliveryAct {
                    key: format!("act-{}-{sequence}", contract.key),
                    contract: contract.key.clone(),
                    number: format!("АВР-{}-{}", index + 1, sequence + 1),
                    signed_at: act_signed_at,
                    amount_minor,
                    vat_included: contract.vat_included,
                });
                self.data.payments.push(DemoPayment {
                    key: format!("payment-{}-{sequence}", contract.key),
                    contract: contract.key.clone(),
                    payer: contract.buyer.clone(),
                    payee: contract.supplier.clone(),
                    budget_line: budget_line.clone(),
                    document_number: format!("{}{:07}", contract.fiscal_year, document_number),
                    paid_at,
                    fiscal_year: contract.fiscal_year,
                    purpose: [
                        format!("Оплата по договору № {number}"),
                        format!("№ {number} шарт бойынша төлем"),
                        format!("Payment under contract No. {number}"),
                    ],
                    amount_minor,
                    vat_included: contract.vat_included,
                });
            }
        }
    }

    fn decisions(&mut self) {
        for index in 0..DECISIONS {
            let organization = self.buyers[self.rng.usize(0..self.buyers.len())];
            let org = self.org(organization).clone();
            let kind = match org.kind {
                OrganizationKind::QuasiPublic => DecisionKind::BoardDecision,
                _ if org.key.starts_with("akimat-") => DecisionKind::Resolution,
                _ => DecisionKind::Order,
            };
            let year = FISCAL_YEARS[index % FISCAL_YEARS.len()];
            let adopted_on = NaiveDate::from_yo_opt(year, self.rng.u32(5..355)).expect("valid day");
            let topic = DECISION_TOPICS[match kind {
                DecisionKind::BoardDecision => [4, 5, 2][self.rng.usize(0..3)],
                _ => [0, 1, 2, 3][self.rng.usize(0..4)],
            }];
            let fill = |text: &str| text.replace("{year}", &year.to_string());
            let serial = self.rng.u32(1..900);
            let number = match kind {
                DecisionKind::BoardDecision => format!("Протокол № {serial}"),
                _ => format!("№ {serial}"),
            };
            self.data.decisions.push(DemoDecision {
                key: format!("decision-{index:04}"),
                organization: org.key,
                kind,
                number,
                adopted_on,
                title: [fill(topic[0]), fill(topic[1]), fill(topic[2])],
                summary: [topic[3].to_owned(), topic[4].to_owned(), topic[5].to_owned()],
            });
        }
    }
}

/// What [`seed`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SeedReport {
    /// False when an earlier seed had already loaded the whole set and nothing was written.
    pub loaded: bool,
    /// Rows the set holds.
    pub expected: Counts,
    /// Rows written by this run (0 for rows that were already there).
    pub inserted: u64,
    pub import_run_id: i64,
}

/// Loads the demo set. A second run finds the first run's import record and writes nothing;
/// a run interrupted midway wrote nothing either, since the load is one transaction.
pub async fn seed(db: &DatabaseConnection) -> Result<SeedReport, DomainError> {
    let data = generate()?;
    let expected = data.counts();
    let finished = import_run::Entity::find()
        .filter(import_run::Column::Source.eq(SOURCE))
        .filter(import_run::Column::Status.eq(ImportRunStatus::Succeeded))
        .one(db)
        .await?;
    // Every state body and quasi-public entity has its public council (Law No. 383-V).
    let seeder = crate::accounts::Actor::System("seed");
    if let Some(run) = finished {
        crate::accounts::councils::ensure_for_public_organizations(db, &seeder).await?;
        crate::findings::demo::seed(db).await?;
        return Ok(SeedReport { loaded: false, expected, inserted: 0, import_run_id: run.id });
    }
    let run = import_run::ActiveModel {
        source: Set(SOURCE.to_owned()),
        status: Set(ImportRunStatus::Running),
        started_at: Set(Utc::now()),
        rows_in: Set(expected.total() as i64),
        ..Default::default()
    }
    .insert(db)
    .await?;
    let txn = db.begin().await?;
    let inserted = Loader { txn: &txn, run: run.id }.load(&data).await?;
    txn.commit().await?;
    import_run::ActiveModel {
        id: Set(run.id),
        status: Set(ImportRunStatus::Succeeded),
        finished_at: Set(Some(Utc::now())),
        rows_stored: Set(inserted as i64),
        rows_inserted: Set(inserted as i64),
        ..Default::default()
    }
    .update(db)
    .await?;
    crate::accounts::councils::ensure_for_public_organizations(db, &seeder).await?;
    crate::findings::demo::seed(db).await?;
    Ok(SeedReport { loaded: true, expected, inserted, import_run_id: run.id })
}

/// Rows per INSERT: well under SQLite's 32,766 bind parameters at 30 columns a row.
const BATCH: usize = 500;

struct Loader<'a> {
    txn: &'a sea_orm::DatabaseTransaction,
    run: i64,
}

/// Builds an imported row's active model: the named fields, plus demo provenance.
macro_rules! imported {
    ($loader:expr, $module:ident, $record:expr, { $($field:ident : $value:expr),* $(,)? }) => {
        entities::$module::ActiveModel {
            $($field: Set($value),)*
            source: Set(SOURCE.to_owned()),
            upstream_id: Set($record.key.clone()),
            fetched_at: Set(fetched_at()),
            content_hash: Set(content_hash($record)),
            import_run_id: Set(Some($loader.run)),
            ..Default::default()
        }
    };
}

/// Inserts rows in batches, skipping any whose `(source, upstream_id)` is already stored.
macro_rules! insert_batches {
    ($loader:expr, $module:ident, $rows:expr) => {{
        let mut inserted = 0u64;
        let rows: Vec<entities::$module::ActiveModel> = $rows;
        for batch in rows.chunks(BATCH) {
            let result = entities::$module::Entity::insert_many(batch.to_vec())
                .on_conflict_do_nothing_on([entities::$module::Column::Source, entities::$module::Column::UpstreamId])
                .exec_without_returning($loader.txn)
                .await?;
            if let sea_orm::TryInsertResult::Inserted(count) = result {
                inserted += count;
            }
        }
        inserted
    }};
}

/// The database id of every demo row of a table, by upstream key.
macro_rules! ids {
    ($loader:expr, $module:ident) => {{
        let pairs: Vec<(String, i64)> = entities::$module::Entity::find()
            .select_only()
            .column(entities::$module::Column::UpstreamId)
            .column(entities::$module::Column::Id)
            .filter(entities::$module::Column::Source.eq(SOURCE))
            .into_tuple()
            .all($loader.txn)
            .await?;
        pairs.into_iter().collect::<HashMap<String, i64>>()
    }};
}

fn id(ids: &HashMap<String, i64>, key: &str) -> Result<i64, DomainError> {
    ids.get(key).copied().ok_or_else(|| DomainError::DemoData(format!("{key} refers to a record that is not stored")))
}

fn optional_id(ids: &HashMap<String, i64>, key: &Option<String>) -> Result<Option<i64>, DomainError> {
    key.as_deref().map(|key| id(ids, key)).transpose()
}

const RATE_ONE: &str = "1";

impl Loader<'_> {
    async fn load(&self, data: &DemoData) -> Result<u64, DomainError> {
        let mut inserted = 0;

        // Rows go in without parents, which are linked once every organization has an id.
        let rows = data
            .organizations
            .iter()
            .map(|org| {
                imported!(self, organization, org, {
                    bin: Some(org.bin.clone()),
                    name_ru: Some(org.name_ru.clone()),
                    name_kk: Some(org.name_kk.clone()),
                    name_en: Some(org.name_en.clone()),
                    kind: org.kind,
                    region_kato: Some(org.region_kato.clone()),
                    parent_id: None,
                    registered_on: org.registered_on,
                })
            })
            .collect();
        inserted += insert_batches!(self, organization, rows);
        let orgs = ids!(self, organization);
        for org in data.organizations.iter().filter(|org| org.parent_key.is_some()) {
            entities::organization::Entity::update_many()
                .col_expr(
                    entities::organization::Column::ParentId,
                    sea_orm::sea_query::Expr::value(optional_id(&orgs, &org.parent_key)?),
                )
                .filter(entities::organization::Column::Id.eq(id(&orgs, &org.key)?))
                .exec(self.txn)
                .await?;
        }

        let rows = data
            .budget_lines
            .iter()
            .map(|line| {
                Ok(imported!(self, budget_line, line, {
                    administrator_id: id(&orgs, &line.administrator)?,
                    fiscal_year: line.fiscal_year,
                    program_code: line.program_code.clone(),
                    name_ru: Some(line.name[0].clone()),
                    name_kk: Some(line.name[1].clone()),
                    name_en: Some(line.name[2].clone()),
                    approved_minor: line.approved_minor,
                    currency: "KZT".to_owned(),
                }))
            })
            .collect::<Result<_, DomainError>>()?;
        inserted += insert_batches!(self, budget_line, rows);
        let budget_lines = ids!(self, budget_line);

        let rows = data
            .plan_items
            .iter()
            .map(|item| {
                Ok(imported!(self, plan_item, item, {
                    buyer_id: id(&orgs, &item.buyer)?,
                    budget_line_id: optional_id(&budget_lines, &item.budget_line)?,
                    fiscal_year: item.fiscal_year,
                    name_ru: Some(item.name_ru.clone()),
                    name_kk: Some(item.name_kk.clone()),
                    name_en: None,
                    enstru_code: Some(item.enstru_code.clone()),
                    procurement_method: item.method,
                    quantity: item.quantity.to_string(),
                    unit_price_minor: item.unit_price_minor,
                    amount_minor: item.amount_minor,
                    currency: "KZT".to_owned(),
                    exchange_rate: RATE_ONE.to_owned(),
                    vat_included: item.vat_included,
                    planned_month: Some(item.planned_month as i32),
                }))
            })
            .collect::<Result<_, DomainError>>()?;
        inserted += insert_batches!(self, plan_item, rows);
        let plan_items = ids!(self, plan_item);

        let rows = data
            .tenders
            .iter()
            .map(|tender| {
                Ok(imported!(self, tender, tender, {
                    number: tender.number.clone(),
                    buyer_id: id(&orgs, &tender.buyer)?,
                    name_ru: Some(tender.name_ru.clone()),
                    name_kk: Some(tender.name_kk.clone()),
                    name_en: None,
                    procurement_method: tender.method,
                    status: tender.status,
                    fiscal_year: tender.fiscal_year,
                    published_at: tender.published_at,
                    bids_open_at: Some(tender.bids_open_at),
                    bids_close_at: Some(tender.bids_close_at),
                    amount_minor: tender.amount_minor,
                    currency: "KZT".to_owned(),
                    exchange_rate: RATE_ONE.to_owned(),
                    vat_included: tender.vat_included,
                }))
            })
            .collect::<Result<_, DomainError>>()?;
        inserted += insert_batches!(self, tender, rows);
        let tenders = ids!(self, tender);

        let rows = data
            .lots
            .iter()
            .map(|lot| {
                Ok(imported!(self, lot, lot, {
                    tender_id: id(&tenders, &lot.tender)?,
                    plan_item_id: Some(id(&plan_items, &lot.plan_item)?),
                    lot_number: lot.lot_number.clone(),
                    name_ru: Some(lot.name_ru.clone()),
                    name_kk: Some(lot.name_kk.clone()),
                    name_en: None,
                    status: lot.status,
                    quantity: lot.quantity.to_string(),
                    amount_minor: lot.amount_minor,
                    currency: "KZT".to_owned(),
                    exchange_rate: RATE_ONE.to_owned(),
                    vat_included: lot.vat_included,
                    delivery_kato: Some(lot.delivery_kato.clone()),
                }))
            })
            .collect::<Result<_, DomainError>>()?;
        inserted += insert_batches!(self, lot, rows);
        let lots = ids!(self, lot);

        let rows = data
            .bids
            .iter()
            .map(|bid| {
                Ok(imported!(self, bid, bid, {
                    lot_id: id(&lots, &bid.lot)?,
                    bidder_id: id(&orgs, &bid.bidder)?,
                    submitted_at: bid.submitted_at,
                    amount_minor: bid.amount_minor,
                    currency: "KZT".to_owned(),
                    exchange_rate: RATE_ONE.to_owned(),
                    vat_included: bid.vat_included,
                    admitted: bid.admitted,
                }))
            })
            .collect::<Result<_, DomainError>>()?;
        inserted += insert_batches!(self, bid, rows);

        let rows = data
            .awards
            .iter()
            .map(|award| {
                Ok(imported!(self, award, award, {
                    lot_id: id(&lots, &award.lot)?,
                    supplier_id: id(&orgs, &award.supplier)?,
                    awarded_at: award.awarded_at,
                    amount_minor: award.amount_minor,
                    currency: "KZT".to_owned(),
                    exchange_rate: RATE_ONE.to_owned(),
                    vat_included: award.vat_included,
                }))
            })
            .collect::<Result<_, DomainError>>()?;
        inserted += insert_batches!(self, award, rows);
        let awards = ids!(self, award);

        let rows = data
            .contracts
            .iter()
            .map(|contract| {
                Ok(imported!(self, contract, contract, {
                    number: contract.number.clone(),
                    buyer_id: id(&orgs, &contract.buyer)?,
                    supplier_id: id(&orgs, &contract.supplier)?,
                    tender_id: optional_id(&tenders, &contract.tender)?,
                    lot_id: optional_id(&lots, &contract.lot)?,
                    award_id: optional_id(&awards, &contract.award)?,
                    procurement_method: contract.method,
                    status: contract.status,
                    fiscal_year: contract.fiscal_year,
                    description_ru: Some(contract.description_ru.clone()),
                    description_kk: Some(contract.description_kk.clone()),
                    description_en: None,
                    signed_at: Some(contract.signed_at),
                    ends_on: Some(contract.ends_on),
                    amount_minor: contract.amount_minor,
                    currency: "KZT".to_owned(),
                    exchange_rate: RATE_ONE.to_owned(),
                    vat_included: contract.vat_included,
                }))
            })
            .collect::<Result<_, DomainError>>()?;
        inserted += insert_batches!(self, contract, rows);
        let contracts = ids!(self, contract);

        let rows = data
            .amendments
            .iter()
            .map(|amendment| {
                Ok(imported!(self, contract_amendment, amendment, {
                    contract_id: id(&contracts, &amendment.contract)?,
                    sequence: amendment.sequence,
                    signed_at: amendment.signed_at,
                    reason_ru: Some(amendment.reason[0].clone()),
                    reason_kk: Some(amendment.reason[1].clone()),
                    reason_en: Some(amendment.reason[2].clone()),
                    previous_amount_minor: amendment.previous_amount_minor,
                    new_amount_minor: amendment.new_amount_minor,
                    currency: "KZT".to_owned(),
                    exchange_rate: RATE_ONE.to_owned(),
                    vat_included: amendment.vat_included,
                }))
            })
            .collect::<Result<_, DomainError>>()?;
        inserted += insert_batches!(self, contract_amendment, rows);

        let rows = data
            .payments
            .iter()
            .map(|payment| {
                Ok(imported!(self, payment, payment, {
                    contract_id: Some(id(&contracts, &payment.contract)?),
                    payer_id: id(&orgs, &payment.payer)?,
                    payee_id: id(&orgs, &payment.payee)?,
                    budget_line_id: optional_id(&budget_lines, &payment.budget_line)?,
                    document_number: payment.document_number.clone(),
                    paid_at: payment.paid_at,
                    fiscal_year: payment.fiscal_year,
                    purpose_ru: Some(payment.purpose[0].clone()),
                    purpose_kk: Some(payment.purpose[1].clone()),
                    purpose_en: Some(payment.purpose[2].clone()),
                    amount_minor: payment.amount_minor,
                    currency: "KZT".to_owned(),
                    exchange_rate: RATE_ONE.to_owned(),
                    vat_included: payment.vat_included,
                }))
            })
            .collect::<Result<_, DomainError>>()?;
        inserted += insert_batches!(self, payment, rows);

        let rows = data
            .delivery_acts
            .iter()
            .map(|act| {
                Ok(imported!(self, delivery_act, act, {
                    contract_id: id(&contracts, &act.contract)?,
                    number: act.number.clone(),
                    signed_at: act.signed_at,
                    amount_minor: act.amount_minor,
                    currency: "KZT".to_owned(),
                    exchange_rate: RATE_ONE.to_owned(),
                    vat_included: act.vat_included,
                }))
            })
            .collect::<Result<_, DomainError>>()?;
        inserted += insert_batches!(self, delivery_act, rows);

        let rows = data
            .decisions
            .iter()
            .map(|decision| {
                Ok(imported!(self, decision, decision, {
                    organization_id: id(&orgs, &decision.organization)?,
                    kind: decision.kind,
                    number: decision.number.clone(),
                    adopted_on: decision.adopted_on,
                    title_ru: Some(decision.title[0].clone()),
                    title_kk: Some(decision.title[1].clone()),
                    title_en: Some(decision.title[2].clone()),
                    summary_ru: Some(decision.summary[0].clone()),
                    summary_kk: Some(decision.summary[1].clone()),
                    summary_en: Some(decision.summary[2].clone()),
                    url: None,
                }))
            })
            .collect::<Result<_, DomainError>>()?;
        inserted += insert_batches!(self, decision, rows);

        let rows = data
            .unreliable_suppliers
            .iter()
            .map(|entry| {
                Ok(imported!(self, unreliable_supplier, entry, {
                    organization_id: id(&orgs, &entry.supplier)?,
                    included_on: entry.included_on,
                    excluded_on: entry.excluded_on,
                    reason_ru: Some(entry.reason[0].clone()),
                    reason_kk: Some(entry.reason[1].clone()),
                    reason_en: Some(entry.reason[2].clone()),
                }))
            })
            .collect::<Result<_, DomainError>>()?;
        inserted += insert_batches!(self, unreliable_supplier, rows);

        Ok(inserted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn demo() -> DemoData {
        generate().expect("demo set generates")
    }

    #[test]
    fn holds_the_promised_volumes() {
        let data = demo();
        let counts = data.counts();
        assert!(counts.organizations >= 60, "{counts:?}");
        assert_eq!(counts.tenders, TENDERS as u64);
        assert_eq!(counts.contracts, CONTRACTS as u64);
        assert_eq!(counts.payments, PAYMENTS as u64);
        assert_eq!(counts.decisions, DECISIONS as u64);
        assert_eq!(counts.unreliable_suppliers, UNRELIABLE_SUPPLIERS as u64);
        let planted = |key: &str| key.starts_with("rf-");
        assert_eq!(data.tenders.iter().filter(|t| !planted(&t.key)).count(), GENERATED_TENDERS);
        assert_eq!(data.contracts.iter().filter(|c| !planted(&c.key)).count(), GENERATED_CONTRACTS);
        assert_eq!(data.payments.iter().filter(|p| !planted(&p.key)).count(), GENERATED_PAYMENTS);
        let kinds: HashSet<_> = data.organizations.iter().map(|o| o.kind).collect();
        assert!(kinds.contains(&OrganizationKind::StateBody));
        assert!(kinds.contains(&OrganizationKind::QuasiPublic));
        assert!(kinds.contains(&OrganizationKind::Supplier));
    }

    #[test]
    fn is_the_same_on_every_run() {
        let (first, second) = (demo(), demo());
        assert_eq!(content_hash(&first.payments), content_hash(&second.payments));
        assert_eq!(content_hash(&first.contracts), content_hash(&second.contracts));
        assert_eq!(content_hash(&first.decisions), content_hash(&second.decisions));
    }

    #[test]
    fn spans_three_fiscal_years_and_several_regions() {
        let data = demo();
        let years: HashSet<i32> = data.contracts.iter().map(|c| c.fiscal_year).collect();
        assert_eq!(years, FISCAL_YEARS.into_iter().collect());
        let regions: HashSet<&str> = data.organizations.iter().map(|o| &o.region_kato[..2]).collect();
        assert!(regions.len() >= 10, "{regions:?}");
        assert!(data.organizations.iter().all(|o| !o.name_ru.is_empty() && !o.name_kk.is_empty()));
    }

    #[test]
    fn keys_are_unique_and_references_resolve() {
        let data = demo();
        let orgs: HashSet<&str> = data.organizations.iter().map(|o| o.key.as_str()).collect();
        assert_eq!(orgs.len(), data.organizations.len());
        let contracts: HashSet<&str> = data.contracts.iter().map(|c| c.key.as_str()).collect();
        assert_eq!(contracts.len(), data.contracts.len());
        let payments: HashSet<&str> = data.payments.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(payments.len(), data.payments.len());
        for contract in &data.contracts {
            assert!(orgs.contains(contract.buyer.as_str()) && orgs.contains(contract.supplier.as_str()));
        }
        for payment in &data.payments {
            assert!(contracts.contains(payment.contract.as_str()));
        }
    }

    /// The generated contracts; the planted ones (KZ08) break these rules on purpose.
    #[test]
    fn payments_never_exceed_their_contract_and_executed_ones_are_paid_in_full() {
        let data = demo();
        let mut paid: HashMap<&str, i64> = HashMap::new();
        for payment in &data.payments {
            assert!(payment.amount_minor >= 0, "{}", payment.key);
            *paid.entry(payment.contract.as_str()).or_default() += payment.amount_minor;
        }
        for contract in data.contracts.iter().filter(|c| !c.key.starts_with("rf-")) {
            let total = paid.get(contract.key.as_str()).copied().unwrap_or(0);
            assert!(total <= contract.amount_minor, "{} overpaid", contract.key);
            if contract.status == ContractStatus::Executed {
                assert_eq!(total, contract.amount_minor, "{} not fully paid", contract.key);
            }
            let payments_before_signing =
                data.payments.iter().filter(|p| p.contract == contract.key && p.paid_at < contract.signed_at).count();
            assert_eq!(payments_before_signing, 0, "{}", contract.key);
        }
    }

    #[test]
    fn amendments_chain_to_the_contract_amount() {
        let data = demo();
        assert!(!data.amendments.is_empty());
        for contract in &data.contracts {
            let chain: Vec<&DemoAmendment> = data.amendments.iter().filter(|a| a.contract == contract.key).collect();
            if let Some(last) = chain.last() {
                assert_eq!(last.new_amount_minor, contract.amount_minor, "{}", contract.key);
                for pair in chain.windows(2) {
                    assert_eq!(pair[0].new_amount_minor, pair[1].previous_amount_minor);
                }
            }
        }
    }

    /// Planting adds records after the generated ones and changes none of them: the generated
    /// set is the same record for record, and its organizations are the first ones.
    #[test]
    fn the_planted_cases_leave_every_generated_record_as_it_was() {
        let main = parse_organizations(ORGANIZATIONS_CSV).unwrap();
        let alone = Generator::new(main.clone(), catalogue().unwrap()).run().unwrap();
        let all = demo();
        fn prefix<T: Serialize>(all: &[T], alone: &[T]) {
            assert!(all.len() >= alone.len());
            assert_eq!(content_hash(&&all[..alone.len()]), content_hash(&alone));
        }
        prefix(&all.organizations, &alone.organizations);
        prefix(&all.budget_lines, &alone.budget_lines);
        prefix(&all.plan_items, &alone.plan_items);
        prefix(&all.tenders, &alone.tenders);
        prefix(&all.lots, &alone.lots);
        prefix(&all.bids, &alone.bids);
        prefix(&all.awards, &alone.awards);
        prefix(&all.contracts, &alone.contracts);
        prefix(&all.amendments, &alone.amendments);
        prefix(&all.payments, &alone.payments);
        prefix(&all.delivery_acts, &alone.delivery_acts);
        prefix(&all.decisions, &alone.decisions);
        let planted_keys = |keys: Vec<&str>| keys.into_iter().all(|key| key.starts_with("rf-"));
        assert!(planted_keys(all.organizations[main.len()..].iter().map(|o| o.key.as_str()).collect()));
        assert!(planted_keys(all.tenders[alone.tenders.len()..].iter().map(|t| t.key.as_str()).collect()));
        assert!(planted_keys(all.contracts[alone.contracts.len()..].iter().map(|c| c.key.as_str()).collect()));
        assert!(planted_keys(all.unreliable_suppliers.iter().map(|u| u.key.as_str()).collect()));
        // An organization's hash is what it was before registration days existed.
        assert!(!serde_json::to_string(&all.organizations[0]).unwrap().contains("registered_on"));
        // Every reference of a planted record resolves.
        let orgs: HashSet<&str> = all.organizations.iter().map(|o| o.key.as_str()).collect();
        let lots: HashSet<&str> = all.lots.iter().map(|l| l.key.as_str()).collect();
        let plans: HashSet<&str> = all.plan_items.iter().map(|p| p.key.as_str()).collect();
        assert!(all.lots.iter().all(|l| plans.contains(l.plan_item.as_str())));
        assert!(all.bids.iter().all(|b| lots.contains(b.lot.as_str()) && orgs.contains(b.bidder.as_str())));
        assert!(all.awards.iter().all(|a| lots.contains(a.lot.as_str()) && orgs.contains(a.supplier.as_str())));
        assert!(all.unreliable_suppliers.iter().all(|u| orgs.contains(u.supplier.as_str())));
        let bids: HashSet<&str> = all.bids.iter().map(|b| b.key.as_str()).collect();
        assert_eq!(bids.len(), all.bids.len(), "bid keys are unique");
    }

    #[test]
    fn a_broken_fixture_row_is_reported_with_its_line() {
        let mut lines: Vec<String> = ORGANIZATIONS_CSV.lines().map(str::to_owned).collect();
        let bin = lines[3].split(',').nth(1).unwrap().to_owned();
        let last = bin.as_bytes()[11] - b'0';
        let corrupted = format!("{}{}", &bin[..11], (last + 1) % 10);
        lines[3] = lines[3].replacen(&bin, &corrupted, 1);
        let error = parse_organizations(&lines.join("\n")).unwrap_err().to_string();
        assert!(error.contains("line 4") && error.contains(&corrupted), "{error}");

        let orphan = ORGANIZATIONS_CSV.replacen(",mf\n", ",no-such-parent\n", 1);
        let error = parse_organizations(&orphan).unwrap_err().to_string();
        assert!(error.contains("no-such-parent"), "{error}");
    }
}
