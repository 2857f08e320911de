//! Planted cases: records added to the demo set so that every red flag has something to find,
//! each with a near miss beside it. `fixtures/red-flags.md` lists them, with what makes each one
//! fire and what keeps each near miss from firing.
//!
//! Nothing here changes a generated record: the planted organizations come from their own
//! fixture (`fixtures/demo/planted-organizations.csv`), so the generator draws its buyers and
//! suppliers from the same pool as before, and every planted record is added after the
//! generator has finished, under keys that start with `rf-`. No randomness: every date and
//! amount is written out, or (for the routine tenders) computed from its index.
//!
//! Conventions, as on goszakup: plan items, lots and tenders are priced without VAT; bids,
//! awards, contracts, payments and acts of a state body include it (12%), those of a
//! quasi-public buyer do not.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};

use super::{
    CatalogueItem, DemoAmendment, DemoAward, DemoBid, DemoContract, DemoData, DemoDeliveryAct, DemoLot,
    DemoOrganization, DemoPayment, DemoPlanItem, DemoTender, DemoUnreliableSupplier, Generator,
};
use crate::DomainError;
use crate::entities::{ContractStatus, OrganizationKind, ProcurementMethod, TenderStatus};

pub(super) const PLANTED_ORGANIZATIONS_CSV: &str = include_str!("../../../fixtures/demo/planted-organizations.csv");

/// Routine price quotations with two or three valid bids and the second-lowest 5–7% above the
/// winner: enough of them that most processes with a price spread sit in that band, which gives
/// R024 and R058 (spread outliers) and R025 (win shares) the distribution they compare with.
pub const ROUTINE_TENDERS: usize = 300;
/// Of the routine tenders, how many the cover bidder (R025) bids in and loses.
pub const COVER_BIDS: usize = 120;
/// Planted tenders, contracts, payments and register entries, in all.
pub const TENDERS: usize = ROUTINE_TENDERS + 32;
pub const CONTRACTS: usize = 91;
pub const PAYMENTS: usize = 6;
pub const UNRELIABLE_SUPPLIERS: usize = 3;

fn tg(tenge: i64) -> i64 {
    tenge * 100
}

/// A moment in UTC (Almaty is UTC+5: 04:00–13:00 UTC is the working day).
fn at(y: i32, m: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, mi, 0).unwrap()
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// An amount with 12% VAT added, to the tiyn.
fn with_vat(minor: i64) -> i64 {
    minor * 112 / 100
}

/// What a lot buys: a plan item's goods, works or services, priced without VAT.
#[derive(Debug, Clone)]
struct Goods {
    name_ru: String,
    name_kk: String,
    enstru_code: String,
    unit_price_minor: i64,
    quantity: u32,
}

impl Goods {
    fn new(name_ru: &str, name_kk: &str, enstru_code: &str, unit_price_tenge: i64, quantity: u32) -> Goods {
        Goods {
            name_ru: name_ru.to_owned(),
            name_kk: name_kk.to_owned(),
            enstru_code: enstru_code.to_owned(),
            unit_price_minor: tg(unit_price_tenge),
            quantity,
        }
    }

    fn from_catalogue(item: &CatalogueItem, quantity: u32) -> Result<Goods, DomainError> {
        Ok(Goods {
            name_ru: item.name_ru.clone(),
            name_kk: item.name_kk.clone(),
            enstru_code: item.enstru_code.clone(),
            unit_price_minor: Generator::unit_price_minor(item)?,
            quantity: item.quantity * quantity,
        })
    }

    /// The planned amount, without VAT.
    fn amount(&self) -> i64 {
        self.unit_price_minor * self.quantity as i64
    }

    fn division(&self) -> &str {
        &self.enstru_code[..2]
    }
}

#[derive(Debug, Clone)]
struct BidPlan {
    bidder: String,
    amount_minor: i64,
    admitted: bool,
    /// How long before the submission deadline it came in; negative: after it.
    before_close: Duration,
}

fn bid(bidder: &str, amount_minor: i64) -> BidPlan {
    BidPlan { bidder: bidder.to_owned(), amount_minor, admitted: true, before_close: Duration::hours(24) }
}

impl BidPlan {
    fn disqualified(mut self) -> Self {
        self.admitted = false;
        self
    }

    fn hours_before_close(mut self, hours: i64) -> Self {
        self.before_close = Duration::hours(hours);
        self
    }
}

#[derive(Debug, Clone)]
struct LotPlan {
    goods: Goods,
    bids: Vec<BidPlan>,
    /// The winning bid, by index; the award is for its amount.
    winner: Option<usize>,
    /// Whether the award was followed by a contract (signed four days later, for the award's amount).
    contract: bool,
}

fn lot(goods: Goods, bids: Vec<BidPlan>, winner: usize) -> LotPlan {
    LotPlan { goods, bids, winner: Some(winner), contract: true }
}

#[derive(Debug, Clone)]
struct TenderPlan {
    case: String,
    buyer: String,
    method: ProcurementMethod,
    published_at: DateTime<Utc>,
    /// From the opening of bids (a day after publication) to the deadline.
    period: Duration,
    lots: Vec<LotPlan>,
}

fn tender(case: &str, buyer: &str, method: ProcurementMethod, published_at: DateTime<Utc>) -> TenderPlan {
    TenderPlan {
        case: case.to_owned(),
        buyer: buyer.to_owned(),
        method,
        published_at,
        period: Duration::days(20),
        lots: Vec::new(),
    }
}

impl TenderPlan {
    fn period_days(mut self, days: i64) -> Self {
        self.period = Duration::days(days);
        self
    }

    fn with(mut self, lot: LotPlan) -> Self {
        self.lots.push(lot);
        self
    }
}

/// A contract signed without a tender.
struct DirectPlan {
    case: String,
    buyer: &'static str,
    supplier: &'static str,
    goods: (&'static str, &'static str),
    signed_at: DateTime<Utc>,
    amount_minor: i64,
    status: ContractStatus,
}

struct Planter<'a> {
    data: &'a mut DemoData,
    /// Tender numbers: 12 000 000 and up, clear of the generated ones (10 000 000 to 10 036 963).
    serial: usize,
}

impl Planter<'_> {
    fn org(&self, key: &str) -> &DemoOrganization {
        self.data.organizations.iter().find(|o| o.key == key).unwrap_or_else(|| panic!("planted key {key}"))
    }

    /// Whether the buyer's bids, awards, contracts and payments include VAT (state bodies' do).
    fn vat(&self, buyer: &str) -> bool {
        self.org(buyer).kind != OrganizationKind::QuasiPublic
    }

    /// Adds a tender with its plan items, lots, bids, awards and contracts; returns the contract keys.
    fn tender(&mut self, plan: TenderPlan) -> Vec<String> {
        let number = 12_000_000 + self.serial * 7;
        self.serial += 1;
        let key = format!("rf-tender-{}", plan.case);
        let vat = self.vat(&plan.buyer);
        let bids_open_at = plan.published_at + Duration::days(1);
        let bids_close_at = bids_open_at + plan.period;
        let awarded_at = bids_close_at + Duration::days(3);
        let fiscal_year = plan.published_at.year();
        let buyer = plan.buyer.clone();
        let mut contracts = Vec::new();
        for (index, lot) in plan.lots.iter().enumerate() {
            let suffix = format!("{}-{}", plan.case, index + 1);
            let goods = &lot.goods;
            self.data.plan_items.push(DemoPlanItem {
                key: format!("rf-plan-{suffix}"),
                buyer: buyer.clone(),
                budget_line: None,
                fiscal_year,
                name_ru: goods.name_ru.clone(),
                name_kk: goods.name_kk.clone(),
                enstru_code: goods.enstru_code.clone(),
                method: plan.method,
                quantity: goods.quantity,
                unit_price_minor: goods.unit_price_minor,
                amount_minor: goods.amount(),
                planned_month: plan.published_at.month(),
                vat_included: false,
            });
            self.data.lots.push(DemoLot {
                key: format!("rf-lot-{suffix}"),
                tender: key.clone(),
                plan_item: format!("rf-plan-{suffix}"),
                lot_number: format!("{number}-ЗЦП{}", index + 1),
                name_ru: goods.name_ru.clone(),
                name_kk: goods.name_kk.clone(),
                status: TenderStatus::Awarded,
                quantity: goods.quantity,
                amount_minor: goods.amount(),
                delivery_kato: self.org(&plan.buyer).region_kato.clone(),
                vat_included: false,
            });
            for (bid_index, bid) in lot.bids.iter().enumerate() {
                self.data.bids.push(DemoBid {
                    key: format!("rf-bid-{suffix}-{}", bid_index + 1),
                    lot: format!("rf-lot-{suffix}"),
                    bidder: bid.bidder.clone(),
                    submitted_at: bids_close_at - bid.before_close,
                    amount_minor: bid.amount_minor,
                    admitted: bid.admitted,
                    vat_included: vat,
                });
            }
            let Some(winner) = lot.winner.map(|index| lot.bids[index].clone()) else { continue };
            let award = format!("rf-award-{suffix}");
            self.data.awards.push(DemoAward {
                key: award.clone(),
                lot: format!("rf-lot-{suffix}"),
                supplier: winner.bidder.clone(),
                awarded_at,
                amount_minor: winner.amount_minor,
                vat_included: vat,
            });
            if lot.contract {
                let signed_at = awarded_at + Duration::days(4);
                let contract = self.contract(
                    &format!("rf-contract-{suffix}"),
                    &plan.buyer,
                    &winner.bidder,
                    Some((key.clone(), format!("rf-lot-{suffix}"), award)),
                    plan.method,
                    (&goods.name_ru, &goods.name_kk),
                    signed_at,
                    winner.amount_minor,
                    ContractStatus::InExecution,
                );
                contracts.push(contract);
            }
        }
        let amount_minor = plan.lots.iter().map(|lot| lot.goods.amount()).sum();
        let first = &plan.lots[0].goods;
        self.data.tenders.push(DemoTender {
            key,
            number: format!("{number}-1"),
            buyer,
            name_ru: first.name_ru.clone(),
            name_kk: first.name_kk.clone(),
            method: plan.method,
            status: TenderStatus::Awarded,
            fiscal_year,
            published_at: plan.published_at,
            bids_open_at,
            bids_close_at,
            amount_minor,
            vat_included: false,
        });
        contracts
    }

    #[allow(clippy::too_many_arguments)]
    fn contract(
        &mut self,
        key: &str,
        buyer: &str,
        supplier: &str,
        origin: Option<(String, String, String)>,
        method: ProcurementMethod,
        (name_ru, name_kk): (&str, &str),
        signed_at: DateTime<Utc>,
        amount_minor: i64,
        status: ContractStatus,
    ) -> String {
        let index = self.data.contracts.len();
        let (tender, lot, award) = match origin {
            Some((tender, lot, award)) => (Some(tender), Some(lot), Some(award)),
            None => (None, None, None),
        };
        let year = signed_at.year();
        self.data.contracts.push(DemoContract {
            key: key.to_owned(),
            number: format!("{}/{}/00", self.org(buyer).bin, 200_000 + index),
            buyer: buyer.to_owned(),
            supplier: supplier.to_owned(),
            tender,
            lot,
            award,
            method,
            status,
            fiscal_year: year,
            description_ru: name_ru.to_owned(),
            description_kk: name_kk.to_owned(),
            signed_at,
            ends_on: NaiveDate::from_ymd_opt(year, 12, 31).expect("valid date"),
            amount_minor,
            vat_included: self.vat(buyer),
        });
        key.to_owned()
    }

    fn direct(&mut self, plan: DirectPlan) -> String {
        self.contract(
            &format!("rf-contract-{}", plan.case),
            plan.buyer,
            plan.supplier,
            None,
            ProcurementMethod::SingleSource,
            plan.goods,
            plan.signed_at,
            plan.amount_minor,
            plan.status,
        )
    }

    fn amend(&mut self, contract: &str, signed_at: DateTime<Utc>, new_amount_minor: i64) {
        let index = self.data.contracts.iter().position(|c| c.key == contract).expect("planted contract");
        let previous = self.data.contracts[index].amount_minor;
        let vat_included = self.data.contracts[index].vat_included;
        self.data.amendments.push(DemoAmendment {
            key: format!("rf-amendment-{}-1", &contract["rf-contract-".len()..]),
            contract: contract.to_owned(),
            sequence: 1,
            signed_at,
            reason: [
                "Изменение объёма закупаемых товаров, работ, услуг".to_owned(),
                "Сатып алынатын тауарлар, жұмыстар, көрсетілетін қызметтер көлемінің өзгеруі".to_owned(),
                "Change in the quantity of goods, works or services".to_owned(),
            ],
            previous_amount_minor: previous,
            new_amount_minor,
            vat_included,
        });
        self.data.contracts[index].amount_minor = new_amount_minor;
    }

    /// A payment under a contract, after a delivery act for the same sum two days before it.
    fn pay(&mut self, contract: &str, sequence: usize, paid_at: DateTime<Utc>, amount_minor: i64) {
        let contract = self.data.contracts.iter().find(|c| c.key == contract).expect("planted contract").clone();
        let case = &contract.key["rf-contract-".len()..];
        let number = &contract.number;
        self.data.delivery_acts.push(DemoDeliveryAct {
            key: format!("rf-act-{case}-{sequence}"),
            contract: contract.key.clone(),
            number: format!("АВР-РФ-{case}-{sequence}"),
            signed_at: paid_at - Duration::days(2),
            amount_minor,
            vat_included: contract.vat_included,
        });
        self.data.payments.push(DemoPayment {
            key: format!("rf-payment-{case}-{sequence}"),
            contract: contract.key.clone(),
            payer: contract.buyer.clone(),
            payee: contract.supplier.clone(),
            budget_line: None,
            document_number: format!("{}9{:06}", paid_at.year(), self.data.payments.len()),
            paid_at,
            fiscal_year: paid_at.year(),
            purpose: [
                format!("Оплата по договору № {number}"),
                format!("№ {number} шарт бойынша төлем"),
                format!("Payment under contract No. {number}"),
            ],
            amount_minor,
            vat_included: contract.vat_included,
        });
    }

    fn register(
        &mut self,
        key: &str,
        supplier: &str,
        included_on: NaiveDate,
        excluded_on: Option<NaiveDate>,
        reason: [&str; 3],
    ) {
        self.data.unreliable_suppliers.push(DemoUnreliableSupplier {
            key: key.to_owned(),
            supplier: supplier.to_owned(),
            included_on,
            excluded_on,
            reason: reason.map(str::to_owned),
        });
    }
}

/// Reads the planted organizations, checking them as the main fixture's are; parents may be
/// any demo organization.
pub(super) fn organizations(main: &[DemoOrganization]) -> Result<Vec<DemoOrganization>, DomainError> {
    let planted = super::parse_organizations_with(PLANTED_ORGANIZATIONS_CSV, "planted-organizations.csv", main)?;
    if let Some(clash) = planted.iter().find(|p| main.iter().any(|m| m.key == p.key || m.bin == p.bin)) {
        return Err(DomainError::DemoData(format!(
            "planted-organizations.csv: {} repeats a key or BIN of organizations.csv",
            clash.key
        )));
    }
    Ok(planted)
}

/// Adds every planted case to the generated set.
pub(super) fn plant(
    data: &mut DemoData,
    planted: Vec<DemoOrganization>,
    catalogue: &[CatalogueItem],
) -> Result<(), DomainError> {
    let generated_buyers: Vec<String> =
        data.organizations.iter().filter(|o| o.kind != OrganizationKind::Supplier).map(|o| o.key.clone()).collect();
    let generated_suppliers: Vec<String> =
        data.organizations.iter().filter(|o| o.kind == OrganizationKind::Supplier).map(|o| o.key.clone()).collect();
    data.organizations.extend(planted);
    let mut planter = Planter { data, serial: 0 };
    cardinal_cases(&mut planter);
    heterogeneous_supplier(&mut planter, catalogue)?;
    routine_tenders(&mut planter, catalogue, &generated_buyers, &generated_suppliers)?;
    register_cases(&mut planter);
    plan_and_amendment_cases(&mut planter);
    split_purchases(&mut planter);
    single_source_share(&mut planter);
    registration_and_group_cases(&mut planter);
    payment_cases(&mut planter);
    Ok(())
}

const MEDTECH: &str = "sup-medtech-kz";
const DALA_MED: &str = "sup-dala-med";
const AKTOBE_PHARM: &str = "sup-aktobe-pharm";
const OFFICE: &str = "sup-almaty-office";
const QAZSOFT: &str = "sup-qazsoft";
const SARYARKA_IT: &str = "sup-saryarka-it";
const SHYMKENT_TEXTILE: &str = "sup-shymkent-tekstil";
const CLEAN: &str = "sup-zhetysu-clean";
const ASTANA_STROY: &str = "sup-astana-stroy";
const SECURITY: &str = "sup-nomad-security";

const HEALTH: &str = "rf-uz-turkistan";
const EDUCATION: &str = "rf-uo-pavlodar";

/// The runner-up of a routine pair: `percent_hundredths` (600 = 6%) above the winner.
fn above(minor: i64, percent_hundredths: i64) -> i64 {
    minor + minor * percent_hundredths / 10_000
}

/// Cardinal's per-process indicators (R003, R018, R024, R028, R030, R035, R036, R058) and the
/// buyer with many disqualified bids (R038), each next to its near miss.
fn cardinal_cases(p: &mut Planter<'_>) {
    use ProcurementMethod::{OpenTender, PriceQuotation};
    let gloves = Goods::new(
        "Перчатки медицинские нитриловые",
        "Нитрилді медициналық қолғаптар",
        "222919.700.000003",
        84,
        100_000,
    );
    // R003: five days to bid. Near miss: fifteen.
    let winner = with_vat(gloves.amount()) * 98 / 100;
    p.tender(tender("r003", HEALTH, OpenTender, at(2025, 3, 3, 5, 0)).period_days(5).with(lot(
        gloves.clone(),
        vec![bid(MEDTECH, winner), bid(DALA_MED, above(winner, 600))],
        0,
    )));
    let masks = Goods::new("Маска медицинская", "Медициналық маска", "139229.900.000021", 42, 200_000);
    let winner = with_vat(masks.amount()) * 96 / 100;
    p.tender(tender("r003-near", HEALTH, OpenTender, at(2025, 3, 10, 5, 0)).period_days(15).with(lot(
        masks,
        vec![bid(DALA_MED, winner), bid(AKTOBE_PHARM, above(winner, 550))],
        0,
    )));
    // R018: an open tender with one bidder.
    let analyzer = Goods::new(
        "Анализатор гематологический автоматический",
        "Автоматты гематологиялық талдағыш",
        "266015.900.000012",
        18_500_000,
        1,
    );
    let winner = with_vat(analyzer.amount()) * 99 / 100;
    p.tender(tender("r018", HEALTH, OpenTender, at(2025, 4, 7, 6, 0)).with(lot(
        analyzer,
        vec![bid(MEDTECH, winner)],
        0,
    )));
    // R028: the two losing bids are the same to the tiyn. Near miss: a tenge apart.
    let syringes = Goods::new("Шприц одноразовый 5 мл", "Бір реттік шприц 5 мл", "325013.300.000005", 35, 120_000);
    let winner = with_vat(syringes.amount()) * 95 / 100;
    let cover = above(winner, 600);
    p.tender(tender("r028", HEALTH, PriceQuotation, at(2025, 4, 21, 5, 30)).with(lot(
        syringes,
        vec![bid(MEDTECH, winner), bid(DALA_MED, cover), bid(AKTOBE_PHARM, cover)],
        0,
    )));
    let catheters = Goods::new(
        "Катетер внутривенный периферический",
        "Перифериялық көктамырішілік катетер",
        "325013.500.000002",
        280,
        15_000,
    );
    let winner = with_vat(catheters.amount()) * 95 / 100;
    let cover = above(winner, 600);
    p.tender(tender("r028-near", HEALTH, PriceQuotation, at(2025, 5, 5, 5, 30)).with(lot(
        catheters,
        vec![bid(MEDTECH, winner), bid(DALA_MED, cover), bid(AKTOBE_PHARM, cover + tg(1))],
        0,
    )));
    // R030: the winning bid came in two hours after the deadline. Near miss: a late bid that lost.
    let reagents = Goods::new(
        "Реагенты для биохимического анализатора",
        "Биохимиялық талдағышқа арналған реагенттер",
        "205959.900.000077",
        1_250_000,
        8,
    );
    let winner = with_vat(reagents.amount()) * 97 / 100;
    p.tender(tender("r030", HEALTH, OpenTender, at(2025, 5, 19, 4, 30)).with(lot(
        reagents,
        vec![bid(DALA_MED, above(winner, 620)).hours_before_close(20), bid(MEDTECH, winner).hours_before_close(-2)],
        1,
    )));
    let xray =
        Goods::new("Рентгеновская пленка медицинская", "Медициналық рентген пленкасы", "205941.300.000001", 9_800, 600);
    let winner = with_vat(xray.amount()) * 97 / 100;
    p.tender(tender("r030-near", HEALTH, OpenTender, at(2025, 6, 2, 4, 30)).with(lot(
        xray,
        vec![bid(MEDTECH, winner).hours_before_close(26), bid(AKTOBE_PHARM, above(winner, 580)).hours_before_close(-3)],
        0,
    )));
    // R024: the second-lowest bid 0.5% above the winner's.
    let ct = Goods::new(
        "Услуги по техническому обслуживанию компьютерного томографа",
        "Компьютерлік томографқа техникалық қызмет көрсету қызметтері",
        "331319.000.000003",
        18_500_000,
        1,
    );
    let winner = tg(20_160_000);
    p.tender(tender("r024", HEALTH, PriceQuotation, at(2025, 6, 16, 5, 0)).with(lot(
        ct,
        vec![bid(MEDTECH, winner), bid(SARYARKA_IT, tg(20_260_800))],
        0,
    )));
    // R058: the second-lowest bid four times the winner's (300% above).
    let linen = Goods::new(
        "Комплект постельного белья",
        "Төсек-орын жабдықтарының жиынтығы",
        "139213.100.000000",
        22_000,
        1_000,
    );
    p.tender(tender("r058", HEALTH, PriceQuotation, at(2025, 7, 7, 5, 0)).with(lot(
        linen,
        vec![bid(SHYMKENT_TEXTILE, tg(5_000_000)), bid(MEDTECH, tg(20_000_000))],
        0,
    )));

    // The education department: every bid but the winner's disqualified (R035), the lowest bid
    // disqualified (R036), and, over its five tenders, 8 of 17 bids disqualified (R038).
    let desks =
        Goods::new("Парта ученическая двухместная", "Екі орындық оқушы партасы", "310912.500.000001", 41_000, 250);
    let winner = with_vat(desks.amount()) * 97 / 100;
    p.tender(tender("r035", EDUCATION, OpenTender, at(2025, 2, 10, 5, 0)).with(lot(
        desks,
        vec![
            bid(OFFICE, winner),
            bid(ASTANA_STROY, above(winner, 400)).disqualified(),
            bid(SHYMKENT_TEXTILE, above(winner, 500)).disqualified(),
            bid(QAZSOFT, above(winner, 800)).disqualified(),
        ],
        0,
    )));
    let chairs = Goods::new("Стул ученический", "Оқушы орындығы", "310011.500.000003", 12_500, 500);
    let winner = with_vat(chairs.amount()) * 96 / 100;
    p.tender(tender("r035-near", EDUCATION, OpenTender, at(2025, 2, 24, 5, 0)).with(lot(
        chairs,
        vec![
            bid(OFFICE, winner),
            bid(ASTANA_STROY, above(winner, 600)),
            bid(SHYMKENT_TEXTILE, above(winner, 900)).disqualified(),
        ],
        0,
    )));
    let laptops = Goods::new("Ноутбук", "Ноутбук", "262011.100.000005", 320_000, 25);
    let winner = with_vat(laptops.amount()) * 95 / 100;
    p.tender(tender("r036", EDUCATION, PriceQuotation, at(2025, 3, 17, 5, 0)).with(lot(
        laptops,
        vec![bid(QAZSOFT, winner * 92 / 100).disqualified(), bid(SARYARKA_IT, winner), bid(OFFICE, above(winner, 600))],
        1,
    )));
    let projectors = Goods::new("Проектор мультимедийный", "Мультимедиялық проектор", "267013.900.000002", 210_000, 20);
    let winner = with_vat(projectors.amount()) * 95 / 100;
    p.tender(tender("r036-near", EDUCATION, PriceQuotation, at(2025, 3, 31, 5, 0)).with(lot(
        projectors,
        vec![
            bid(SARYARKA_IT, winner),
            bid(OFFICE, above(winner, 600)),
            bid(QAZSOFT, above(winner, 1500)).disqualified(),
        ],
        0,
    )));
    let boards = Goods::new("Доска интерактивная", "Интерактивті тақта", "262040.000.000007", 650_000, 12);
    let winner = with_vat(boards.amount()) * 94 / 100;
    p.tender(tender("r038", EDUCATION, OpenTender, at(2025, 4, 14, 5, 0)).with(lot(
        boards,
        vec![
            bid(SARYARKA_IT, winner),
            bid(QAZSOFT, above(winner, 600)),
            bid(OFFICE, above(winner, 900)).disqualified(),
            bid(ASTANA_STROY, above(winner, 1200)).disqualified(),
        ],
        0,
    )));
}

/// Goods outside the catalogue's 30 divisions, for the supplier of everything (R048).
fn other_divisions() -> [Goods; 6] {
    [
        Goods::new("Хлеб пшеничный", "Бидай наны", "107111.100.000000", 280, 9_000),
        Goods::new("Бумага офисная формата А4", "А4 форматты кеңсе қағазы", "172318.500.000001", 2_400, 900),
        Goods::new("Антисептик кожный", "Теріге арналған антисептик", "212020.900.000014", 1_900, 1_200),
        Goods::new("Лампа светодиодная", "Жарықдиодты шам", "274011.300.000002", 1_450, 1_600),
        Goods::new("Полотенце махровое", "Түкті сүлгі", "139214.300.000001", 2_600, 1_000),
        Goods::new(
            "Услуги по организации питания",
            "Тамақтануды ұйымдастыру қызметтері",
            "562910.000.000000",
            3_100_000,
            1,
        ),
    ]
}

/// R048: one supplier awarded 36 lots of 36 different ENSTRU divisions in three tenders of
/// two buyers; a runner-up bid 6% above on each lot.
fn heterogeneous_supplier(p: &mut Planter<'_>, catalogue: &[CatalogueItem]) -> Result<(), DomainError> {
    let mut seen = BTreeSet::new();
    let mut goods = Vec::new();
    for item in catalogue {
        if seen.insert(item.enstru_code[..2].to_owned()) {
            goods.push(Goods::from_catalogue(item, 1)?);
        }
    }
    for extra in other_divisions() {
        if seen.insert(extra.division().to_owned()) {
            goods.push(extra);
        }
    }
    let losers = [ASTANA_STROY, OFFICE, CLEAN, SECURITY];
    let tenders = [
        ("r048-1", "rf-ustroy-aktobe", at(2025, 8, 4, 5, 0)),
        ("r048-2", "rf-uo-shymkent", at(2025, 8, 18, 5, 0)),
        ("r048-3", "rf-ustroy-aktobe", at(2025, 9, 1, 5, 0)),
    ];
    for (index, (case, buyer, published_at)) in tenders.into_iter().enumerate() {
        let mut plan = tender(case, buyer, ProcurementMethod::OpenTender, published_at);
        for (lot_index, goods) in goods.iter().enumerate().filter(|(i, _)| i % 3 == index) {
            let winner = with_vat(goods.amount()) * 95 / 100;
            let loser = losers[lot_index % losers.len()];
            plan = plan.with(lot(
                goods.clone(),
                vec![bid("rf-universal-snab", winner), bid(loser, above(winner, 600))],
                0,
            ));
        }
        p.tender(plan);
    }
    Ok(())
}

/// The divisions (first two ENSTRU digits) each supplier was awarded in the generated set.
fn awarded_divisions(data: &DemoData) -> BTreeMap<String, BTreeSet<String>> {
    let plan_of: BTreeMap<&str, &str> =
        data.lots.iter().map(|lot| (lot.key.as_str(), lot.plan_item.as_str())).collect();
    let code_of: BTreeMap<&str, &str> =
        data.plan_items.iter().map(|plan| (plan.key.as_str(), plan.enstru_code.as_str())).collect();
    let mut divisions: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for award in &data.awards {
        if let Some(code) = plan_of.get(award.lot.as_str()).and_then(|plan| code_of.get(plan)) {
            divisions.entry(award.supplier.clone()).or_default().insert(code[..2].to_owned());
        }
    }
    divisions
}

/// [`ROUTINE_TENDERS`] price quotations of the generated buyers, September to November 2025, two
/// generated suppliers each (every one wins as often as it loses), the runner-up 5–7% above the
/// winner, and in [`COVER_BIDS`] of them a third valid bid by the cover bidder, `rf-bereke`,
/// which never wins (R025). Each winner gets goods of a division it already supplies, so the
/// variety R048 measures stays as it was. Awarded, no contract yet.
fn routine_tenders(
    p: &mut Planter<'_>,
    catalogue: &[CatalogueItem],
    buyers: &[String],
    suppliers: &[String],
) -> Result<(), DomainError> {
    let divisions = awarded_divisions(p.data);
    for index in 0..ROUTINE_TENDERS {
        let winner = suppliers[index % suppliers.len()].as_str();
        let runner_up = suppliers[(index + 1 + index / suppliers.len()) % suppliers.len()].as_str();
        let runner_up = if runner_up == winner { suppliers[(index + 2) % suppliers.len()].as_str() } else { runner_up };
        let known = divisions.get(winner).cloned().unwrap_or_default();
        let fitting: Vec<&CatalogueItem> =
            catalogue.iter().filter(|item| known.contains(&item.enstru_code[..2])).collect();
        let item =
            if fitting.is_empty() { &catalogue[index % catalogue.len()] } else { fitting[index * 7 % fitting.len()] };
        let goods = Goods::from_catalogue(item, 1 + (index % 3) as u32)?;
        let buyer = buyers[index * 11 % buyers.len()].as_str();
        let published_at = at(2025, 9, 1, 4 + (index % 6) as u32, 0) + Duration::days((index / 6) as i64);
        let vat = p.vat(buyer);
        let ceiling = if vat { with_vat(goods.amount()) } else { goods.amount() };
        let winning = ceiling * (86 + (index % 12) as i64) / 100;
        // 5.00% … 7.00%, evenly over the tenders.
        let spread = 500 + (200 * index / (ROUTINE_TENDERS - 1)) as i64;
        let second = above(winning, spread);
        let mut bids = vec![bid(winner, winning).hours_before_close(26), bid(runner_up, second)];
        if index % 5 < 2 {
            bids.push(bid("rf-bereke", above(second, 300)).hours_before_close(50));
        }
        let mut routine = lot(goods, bids, 0);
        routine.contract = false;
        p.tender(
            tender(&format!("bulk-{index:03}"), buyer, ProcurementMethod::PriceQuotation, published_at).with(routine),
        );
    }
    Ok(())
}

/// KZ01: a contract signed while its supplier was on the register of unreliable suppliers, and
/// two near misses: a supplier whose term had ended, and one put on the register after signing.
fn register_cases(p: &mut Planter<'_>) {
    let builder = "rf-ostroy-ekibastuz";
    p.register(
        "rf-rnu-1",
        "rf-bekzat-stroy",
        day(2025, 2, 14),
        Some(day(2027, 2, 14)),
        [
            "Решение специализированного межрайонного экономического суда Павлодарской области по делу № 5599-25-00-2/118 от 27.01.2025: уклонение от заключения договора",
            "Павлодар облысының мамандандырылған ауданаралық экономикалық сотының 27.01.2025 № 5599-25-00-2/118 іс бойынша шешімі: шарт жасасудан жалтару",
            "Decision of the Pavlodar Region specialised inter-district economic court, case 5599-25-00-2/118 of 27.01.2025: evaded signing a contract",
        ],
    );
    p.direct(DirectPlan {
        case: "kz01".into(),
        buyer: builder,
        supplier: "rf-bekzat-stroy",
        goods: ("Работы по ремонту здания школы", "Мектеп ғимаратын жөндеу жұмыстары"),
        signed_at: at(2025, 6, 10, 5, 30),
        amount_minor: tg(44_800_000),
        status: ContractStatus::InExecution,
    });
    p.register(
        "rf-rnu-2",
        "rf-aksu-trade",
        day(2023, 1, 20),
        Some(day(2025, 1, 20)),
        [
            "Решение специализированного межрайонного экономического суда Павлодарской области по делу № 5599-22-00-2/2071 от 28.12.2022: неисполнение обязательств по договору",
            "Павлодар облысының мамандандырылған ауданаралық экономикалық сотының 28.12.2022 № 5599-22-00-2/2071 іс бойынша шешімі: шарт бойынша міндеттемелерді орындамау",
            "Decision of the Pavlodar Region specialised inter-district economic court, case 5599-22-00-2/2071 of 28.12.2022: failed to perform a contract",
        ],
    );
    p.direct(DirectPlan {
        case: "kz01-near-left".into(),
        buyer: builder,
        supplier: "rf-aksu-trade",
        goods: ("Поставка строительных материалов", "Құрылыс материалдарын жеткізу"),
        signed_at: at(2025, 3, 5, 6, 0),
        amount_minor: tg(6_720_000),
        status: ContractStatus::InExecution,
    });
    p.register(
        "rf-rnu-3",
        "rf-dostyk-med",
        day(2025, 10, 1),
        None,
        [
            "Решение специализированного межрайонного экономического суда города Алматы по делу № 7527-25-00-2/4410 от 12.09.2025: представление недостоверной информации",
            "Алматы қаласының мамандандырылған ауданаралық экономикалық сотының 12.09.2025 № 7527-25-00-2/4410 іс бойынша шешімі: дәйексіз ақпарат беру",
            "Decision of the Almaty specialised inter-district economic court, case 7527-25-00-2/4410 of 12.09.2025: submitted false information",
        ],
    );
    p.direct(DirectPlan {
        case: "kz01-near-before".into(),
        buyer: builder,
        supplier: "rf-dostyk-med",
        goods: ("Поставка аптечек первой помощи", "Алғашқы көмек қобдишаларын жеткізу"),
        signed_at: at(2025, 9, 26, 7, 0),
        amount_minor: tg(3_360_000),
        status: ContractStatus::InExecution,
    });
}

/// KZ02: a contract above its plan item once VAT is taken out; near miss: above the plan only if
/// VAT is left in. KZ03: an amendment adding 15%; near miss: one adding 8%.
fn plan_and_amendment_cases(p: &mut Planter<'_>) {
    use ProcurementMethod::PriceQuotation;
    // Plan: 100 × 100 000 = 10 000 000 without VAT.
    let oxygen = Goods::new(
        "Кислород медицинский газообразный",
        "Газ тәріздес медициналық оттегі",
        "201111.300.000000",
        100_000,
        100,
    );
    let winner = tg(11_760_000); // 10 500 000 without VAT: 5% over the plan.
    p.tender(tender("kz02", HEALTH, PriceQuotation, at(2025, 8, 11, 5, 0)).with(lot(
        oxygen,
        vec![bid(MEDTECH, winner), bid(DALA_MED, above(winner, 600))],
        0,
    )));
    let nitrogen = Goods::new("Азот жидкий медицинский", "Сұйық медициналық азот", "201111.500.000000", 100_000, 100);
    let winner = tg(11_150_000); // 9 955 357.14 without VAT: under the plan; 11 150 000 > 10 000 000 only with VAT.
    p.tender(tender("kz02-near", HEALTH, PriceQuotation, at(2025, 8, 25, 5, 0)).with(lot(
        nitrogen,
        vec![bid(AKTOBE_PHARM, winner), bid(MEDTECH, above(winner, 600))],
        0,
    )));

    let culture = "rf-ukult-almaty";
    let roof = p.direct(DirectPlan {
        case: "kz03".into(),
        buyer: culture,
        supplier: "sup-astana-stroy",
        goods: ("Работы по ремонту кровли здания театра", "Театр ғимаратының шатырын жөндеу жұмыстары"),
        signed_at: at(2025, 2, 10, 6, 0),
        amount_minor: tg(30_000_000),
        status: ContractStatus::InExecution,
    });
    p.amend(&roof, at(2025, 5, 12, 6, 0), tg(34_500_000));
    let lighting = p.direct(DirectPlan {
        case: "kz03-near".into(),
        buyer: culture,
        supplier: "sup-shygys-energo",
        goods: ("Работы по замене сценического освещения", "Сахналық жарықтандыруды ауыстыру жұмыстары"),
        signed_at: at(2025, 3, 3, 6, 0),
        amount_minor: tg(20_000_000),
        status: ContractStatus::InExecution,
    });
    p.amend(&lighting, at(2025, 6, 2, 6, 0), tg(21_600_000));
}

/// KZ04: one buyer, one ENSTRU code, three price quotations whose contracts of 14 560 000 (with
/// VAT) were signed within 23 days: each under the threshold, together over it (43 680 000; the
/// threshold is 8 000 MCI × 4 325 = 34 600 000 by default, and these are under and over the
/// 4 000 MCI line as well). Near miss: the same buyer, another code, three contracts of 8 400 000
/// over 43 days, so that no 30 days hold more than two (16 800 000, under either line).
fn split_purchases(p: &mut Planter<'_>) {
    let buyer = "rf-uzhkh-kostanay";
    // Planned at 13 500 000 without VAT; each contract 14 560 000 with it (13 000 000 without).
    let cleaning =
        Goods::new("Услуги по уборке помещений", "Үй-жайларды жинау қызметтері", "812110.000.000000", 13_500_000, 1);
    // Planned at 7 700 000 without VAT; each contract 8 400 000 with it (7 500 000 without).
    let boilers = Goods::new(
        "Работы по ремонту котельного оборудования",
        "Қазандық жабдығын жөндеу жұмыстары",
        "331112.900.000004",
        7_700_000,
        1,
    );
    let plans = [
        ("kz04-1", &cleaning, tg(14_560_000), at(2025, 3, 5, 5, 0), CLEAN, SECURITY),
        ("kz04-2", &cleaning, tg(14_560_000), at(2025, 3, 17, 5, 0), CLEAN, SECURITY),
        ("kz04-3", &cleaning, tg(14_560_000), at(2025, 3, 28, 5, 0), CLEAN, ASTANA_STROY),
        ("kz04-near-1", &boilers, tg(8_400_000), at(2025, 5, 5, 5, 0), "sup-shygys-energo", ASTANA_STROY),
        ("kz04-near-2", &boilers, tg(8_400_000), at(2025, 5, 23, 5, 0), "sup-shygys-energo", "sup-pavlodar-metall"),
        ("kz04-near-3", &boilers, tg(8_400_000), at(2025, 6, 17, 5, 0), "sup-shygys-energo", ASTANA_STROY),
    ];
    for (case, goods, amount, published_at, winner, runner_up) in plans {
        p.tender(tender(case, buyer, ProcurementMethod::PriceQuotation, published_at).with(lot(
            goods.clone(),
            vec![bid(winner, amount), bid(runner_up, above(amount, 600))],
            0,
        )));
    }
}

/// KZ05: in 2025 the Taraz housing department signed 11 contracts, 7 of them single-source worth
/// 54 000 000 of 85 000 000 (63.5%). Near miss, the same department in 2024: 10 contracts, 7 of
/// them single-source, but worth 16 800 000 of 37 300 000 (45%).
fn single_source_share(p: &mut Planter<'_>) {
    let buyer = "rf-ozhkh-taraz";
    let works = [
        ("Работы по ремонту жилого фонда", "Тұрғын үй қорын жөндеу жұмыстары"),
        ("Работы по ремонту внутриквартальных дорог", "Квартал ішіндегі жолдарды жөндеу жұмыстары"),
        ("Услуги по содержанию уличного освещения", "Көше жарығын күтіп-ұстау қызметтері"),
        ("Работы по ремонту детских игровых площадок", "Балалар ойын алаңдарын жөндеу жұмыстары"),
        ("Услуги по озеленению территории", "Аумақты көгалдандыру қызметтері"),
        ("Работы по ремонту систем водоотведения", "Су бұру жүйелерін жөндеу жұмыстары"),
        ("Услуги по вывозу снега", "Қар шығару қызметтері"),
    ];
    let suppliers = ["sup-taraz-beton", "ip-nurlanova", "sup-kazdorstroy", "sup-astana-stroy"];
    for (year, amounts) in [
        (2025, [12_000_000, 9_500_000, 8_400_000, 7_200_000, 6_800_000, 5_600_000, 4_500_000]),
        (2024, [3_000_000, 2_800_000, 2_600_000, 2_400_000, 2_200_000, 2_000_000, 1_800_000]),
    ] {
        for (index, (amount, goods)) in amounts.into_iter().zip(works).enumerate() {
            p.direct(DirectPlan {
                case: format!("kz05-{year}-direct-{}", index + 1),
                buyer,
                supplier: suppliers[index % suppliers.len()],
                goods,
                signed_at: at(year, 2 + index as u32, 12, 6, 0),
                amount_minor: tg(amount),
                status: ContractStatus::InExecution,
            });
        }
    }
    let tendered = [
        (2025, 9_000_000, "Бетон товарный", "Тауарлық бетон", "236310.000.000000"),
        (2025, 8_000_000, "Трубы полиэтиленовые", "Полиэтилен құбырлар", "222121.500.000004"),
        (2025, 7_500_000, "Светильник уличный светодиодный", "Жарықдиодты көше шамы", "274039.900.000001"),
        (2025, 6_500_000, "Скамья парковая", "Саябақ орындығы", "310012.900.000002"),
        (2024, 9_000_000, "Бетон товарный", "Тауарлық бетон", "236310.000.000000"),
        (2024, 6_500_000, "Трубы полиэтиленовые", "Полиэтилен құбырлар", "222121.500.000004"),
        (2024, 5_000_000, "Скамья парковая", "Саябақ орындығы", "310012.900.000002"),
    ];
    for (index, (year, amount, name_ru, name_kk, code)) in tendered.into_iter().enumerate() {
        // The contract is the winning bid, with VAT; the plan leaves room for it.
        let goods = Goods::new(name_ru, name_kk, code, amount, 1);
        let winner = tg(amount);
        let case = format!("kz05-{year}-tender-{}", index % 4 + 1);
        p.tender(
            tender(&case, buyer, ProcurementMethod::PriceQuotation, at(year, 3 + 2 * (index % 4) as u32, 3, 5, 0))
                .with(lot(goods, vec![bid("sup-taraz-beton", winner), bid("sup-kazdorstroy", above(winner, 600))], 0)),
        );
    }
}

/// KZ06: a supplier registered 20 days before it signed; near miss: one registered 121 days
/// before. KZ07: a quasi-public buyer buying from a company under its own parent (both under
/// Kazakhstan Temir Zholy); near miss: a company under another parent (Samruk-Energy). The
/// buyer is a planted subsidiary with just these two contracts, so that their single-source
/// method moves no generated buyer's share (KZ05).
fn registration_and_group_cases(p: &mut Planter<'_>) {
    let builder = "rf-ostroy-ekibastuz";
    p.direct(DirectPlan {
        case: "kz06".into(),
        buyer: builder,
        supplier: "rf-jana-kurylys",
        goods: ("Работы по благоустройству школьного двора", "Мектеп ауласын абаттандыру жұмыстары"),
        signed_at: at(2025, 6, 1, 6, 0),
        amount_minor: tg(24_640_000),
        status: ContractStatus::InExecution,
    });
    p.direct(DirectPlan {
        case: "kz06-near".into(),
        buyer: builder,
        supplier: "rf-kemel-trade",
        goods: ("Поставка мебели для актового зала", "Мәжіліс залына жиһаз жеткізу"),
        signed_at: at(2025, 6, 2, 6, 0),
        amount_minor: tg(8_960_000),
        status: ContractStatus::InExecution,
    });
    p.direct(DirectPlan {
        case: "kz07".into(),
        buyer: "rf-ktz-logistics",
        supplier: "rf-ktz-vagon",
        goods: (
            "Услуги по техническому обслуживанию пассажирских вагонов",
            "Жолаушылар вагондарына техникалық қызмет көрсету",
        ),
        signed_at: at(2025, 4, 21, 5, 0),
        amount_minor: tg(18_500_000),
        status: ContractStatus::InExecution,
    });
    p.direct(DirectPlan {
        case: "kz07-near".into(),
        buyer: "rf-ktz-logistics",
        supplier: "rf-se-remont",
        goods: ("Работы по ремонту электрооборудования депо", "Депоның электр жабдығын жөндеу жұмыстары"),
        signed_at: at(2025, 5, 15, 5, 0),
        amount_minor: tg(12_300_000),
        status: ContractStatus::InExecution,
    });
}

/// KZ08: payments summing 12% over the contract; a payment ten days before signing; near miss:
/// paid exactly in full, the first payment on the signing day itself, after the signature.
fn payment_cases(p: &mut Planter<'_>) {
    let culture = "rf-ukult-almaty";
    let over = p.direct(DirectPlan {
        case: "kz08-over".into(),
        buyer: culture,
        supplier: "sup-nomad-security",
        goods: ("Услуги по охране здания филармонии", "Филармония ғимаратын күзету қызметтері"),
        signed_at: at(2025, 3, 17, 5, 0),
        amount_minor: tg(8_000_000),
        status: ContractStatus::Executed,
    });
    p.pay(&over, 1, at(2025, 4, 15, 9, 0), tg(5_000_000));
    p.pay(&over, 2, at(2025, 5, 20, 9, 0), tg(3_960_000));
    let early = p.direct(DirectPlan {
        case: "kz08-early".into(),
        buyer: culture,
        supplier: "sup-zhetysu-clean",
        goods: ("Услуги по уборке здания музея", "Мұражай ғимаратын жинау қызметтері"),
        signed_at: at(2025, 7, 14, 5, 0),
        amount_minor: tg(6_500_000),
        status: ContractStatus::InExecution,
    });
    p.pay(&early, 1, at(2025, 7, 4, 9, 0), tg(1_950_000));
    p.pay(&early, 2, at(2025, 8, 20, 9, 0), tg(4_550_000));
    let near = p.direct(DirectPlan {
        case: "kz08-near".into(),
        buyer: culture,
        supplier: "sup-almaty-office",
        goods: ("Поставка канцелярских товаров", "Кеңсе тауарларын жеткізу"),
        signed_at: at(2025, 8, 5, 4, 0),
        amount_minor: tg(5_600_000),
        status: ContractStatus::Executed,
    });
    p.pay(&near, 1, at(2025, 8, 5, 11, 0), tg(1_680_000));
    p.pay(&near, 2, at(2025, 9, 10, 9, 0), tg(3_920_000));
}
