//! Kazakhstan's own red flags over a real database: a small planted data set where each
//! indicator has a case that must fire and a near miss that must not, on a SQLite file in a
//! temporary directory, or on a fresh PostgreSQL database when `TEST_DATABASE_URL` is set.
//!
//! The crate has no async test runtime of its own among its dependencies, so tests block on
//! sqlx's (the Tokio runtime sea-orm already runs on).

use std::cell::Cell;
use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};

use chrono::{DateTime, NaiveDate, Utc};
use domain::db::{self, PoolOptions};
use domain::entities::{
    ContractStatus, OrganizationKind, ProcurementMethod, TenderStatus, award, contract, contract_amendment, lot,
    organization, payment, plan_item, tender, unreliable_supplier,
};
use domain::red_flags::{NewFlag, Severity, SubjectKind};
use indicators::Settings;
use indicators::kazakhstan::{KzOutcome, KzSettings, catalogue, compute};
use sea_orm::{ActiveModelTrait, ConnectionTrait, DatabaseConnection, Set};

fn block_on<F: Future>(future: F) -> F::Output {
    sea_orm::sqlx::test_block_on(future)
}

// ---------------------------------------------------------------------------------------------
// A fresh database per test.

/// A migrated, empty database, removed when dropped (the SQLite file with its directory; the
/// PostgreSQL database by an admin connection).
struct TestDatabase {
    db: DatabaseConnection,
    postgres: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

static DATABASES: AtomicU32 = AtomicU32::new(0);

impl TestDatabase {
    async fn create() -> TestDatabase {
        let name = format!(
            "scrutiny_kz_test_{}_{}_{}",
            std::process::id(),
            Utc::now().timestamp_micros(),
            DATABASES.fetch_add(1, Ordering::Relaxed)
        );
        let options = PoolOptions { max_connections: 2, ..Default::default() };
        let (db, postgres, dir) = match std::env::var("TEST_DATABASE_URL") {
            Ok(admin_url) if !admin_url.is_empty() => {
                let admin = db::connect(&admin_url, &PoolOptions { max_connections: 1, ..Default::default() })
                    .await
                    .expect("TEST_DATABASE_URL reachable");
                admin.execute_unprepared(&format!("CREATE DATABASE \"{name}\"")).await.expect("create database");
                admin.close().await.ok();
                let db = db::connect(&with_database_name(&admin_url, &name), &options).await.expect("test database");
                (db, Some((admin_url, name)), None)
            }
            _ => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}", dir.path().join(format!("{name}.db")).display());
                (db::connect(&url, &options).await.expect("SQLite file"), None, Some(dir))
            }
        };
        db::migrate(&db).await.expect("migrations apply");
        TestDatabase { db, postgres, _dir: dir }
    }
}

/// The same server URL with another database name.
fn with_database_name(url: &str, name: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let authority_end = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[authority_end..].find('/').map_or(base.len(), |i| authority_end + i);
    let mut rebuilt = format!("{}/{name}", &base[..path_start]);
    if let Some(query) = query {
        rebuilt.push('?');
        rebuilt.push_str(query);
    }
    rebuilt
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some((admin_url, name)) = self.postgres.take() else { return };
        // Drop may run inside the test's runtime, which cannot block: a thread with its own
        // runtime removes the database, forcing off the pool's connections.
        let _ = std::thread::spawn(move || {
            block_on(async {
                if let Ok(admin) =
                    db::connect(&admin_url, &PoolOptions { max_connections: 1, ..Default::default() }).await
                {
                    let _ = admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).await;
                    admin.close().await.ok();
                }
            })
        })
        .join();
    }
}

// ---------------------------------------------------------------------------------------------
// Planting records.

fn day(text: &str) -> NaiveDate {
    text.parse().expect("a date")
}

fn at(text: &str) -> DateTime<Utc> {
    text.parse().expect("an RFC 3339 instant")
}

/// Inserts records with unique upstream ids.
struct Seed<'a> {
    db: &'a DatabaseConnection,
    next: Cell<u32>,
}

/// A contract to plant; `Contract::new` fills the rest with plain values.
#[derive(Clone)]
struct Contract {
    buyer: i64,
    supplier: i64,
    tender: Option<i64>,
    lot: Option<i64>,
    award: Option<i64>,
    method: ProcurementMethod,
    fiscal_year: i32,
    signed_at: &'static str,
    amount: i64,
    currency: &'static str,
    vat_included: bool,
}

impl Contract {
    fn new(buyer: i64, supplier: i64, signed_at: &'static str, amount: i64) -> Self {
        Contract {
            buyer,
            supplier,
            tender: None,
            lot: None,
            award: None,
            method: ProcurementMethod::OpenTender,
            fiscal_year: signed_at[..4].parse().unwrap(),
            signed_at,
            amount,
            currency: "KZT",
            vat_included: true,
        }
    }
}

impl<'a> Seed<'a> {
    fn new(db: &'a DatabaseConnection) -> Self {
        Seed { db, next: Cell::new(1) }
    }

    fn key(&self) -> String {
        let key = self.next.get();
        self.next.set(key + 1);
        format!("u{key:04}")
    }

    async fn organization(&self, kind: OrganizationKind, parent: Option<i64>, registered_on: Option<&str>) -> i64 {
        let key = self.key();
        organization::ActiveModel {
            bin: Set(Some(format!("99{:0>10}", &key[1..]))),
            name_ru: Set(Some(format!("Организация {key}"))),
            kind: Set(kind),
            region_kato: Set(Some("751110000".into())),
            parent_id: Set(parent),
            registered_on: Set(registered_on.map(day)),
            source: Set("test".into()),
            upstream_id: Set(key.clone()),
            fetched_at: Set(at("2026-01-01T00:00:00Z")),
            content_hash: Set(key),
            ..Default::default()
        }
        .insert(self.db)
        .await
        .expect("organization")
        .id
    }

    async fn tender(&self, buyer: i64, amount: i64, vat_included: bool) -> i64 {
        let key = self.key();
        tender::ActiveModel {
            number: Set(format!("T-{key}")),
            buyer_id: Set(buyer),
            procurement_method: Set(ProcurementMethod::OpenTender),
            status: Set(TenderStatus::Awarded),
            fiscal_year: Set(2025),
            published_at: Set(at("2025-01-05T04:00:00Z")),
            amount_minor: Set(amount),
            currency: Set("KZT".into()),
            exchange_rate: Set("1".into()),
            vat_included: Set(vat_included),
            source: Set("test".into()),
            upstream_id: Set(key.clone()),
            fetched_at: Set(at("2026-01-01T00:00:00Z")),
            content_hash: Set(key),
            ..Default::default()
        }
        .insert(self.db)
        .await
        .expect("tender")
        .id
    }

    async fn plan_item(&self, buyer: i64, amount: i64, vat_included: bool, enstru: Option<&str>) -> i64 {
        let key = self.key();
        plan_item::ActiveModel {
            buyer_id: Set(buyer),
            fiscal_year: Set(2025),
            enstru_code: Set(enstru.map(str::to_owned)),
            procurement_method: Set(ProcurementMethod::OpenTender),
            quantity: Set("1".into()),
            unit_price_minor: Set(amount),
            amount_minor: Set(amount),
            currency: Set("KZT".into()),
            exchange_rate: Set("1".into()),
            vat_included: Set(vat_included),
            source: Set("test".into()),
            upstream_id: Set(key.clone()),
            fetched_at: Set(at("2026-01-01T00:00:00Z")),
            content_hash: Set(key),
            ..Default::default()
        }
        .insert(self.db)
        .await
        .expect("plan item")
        .id
    }

    async fn lot(&self, tender: i64, plan_item: Option<i64>, amount: i64, vat_included: bool) -> i64 {
        let key = self.key();
        lot::ActiveModel {
            tender_id: Set(tender),
            plan_item_id: Set(plan_item),
            lot_number: Set(format!("L-{key}")),
            status: Set(TenderStatus::Awarded),
            quantity: Set("1".into()),
            amount_minor: Set(amount),
            currency: Set("KZT".into()),
            exchange_rate: Set("1".into()),
            vat_included: Set(vat_included),
            source: Set("test".into()),
            upstream_id: Set(key.clone()),
            fetched_at: Set(at("2026-01-01T00:00:00Z")),
            content_hash: Set(key),
            ..Default::default()
        }
        .insert(self.db)
        .await
        .expect("lot")
        .id
    }

    async fn award(&self, lot: i64, supplier: i64, awarded_at: &str, amount: i64) -> i64 {
        let key = self.key();
        award::ActiveModel {
            lot_id: Set(lot),
            supplier_id: Set(supplier),
            awarded_at: Set(at(awarded_at)),
            amount_minor: Set(amount),
            currency: Set("KZT".into()),
            exchange_rate: Set("1".into()),
            vat_included: Set(true),
            source: Set("test".into()),
            upstream_id: Set(key.clone()),
            fetched_at: Set(at("2026-01-01T00:00:00Z")),
            content_hash: Set(key),
            ..Default::default()
        }
        .insert(self.db)
        .await
        .expect("award")
        .id
    }

    async fn contract(&self, spec: Contract) -> contract::Model {
        let key = self.key();
        contract::ActiveModel {
            number: Set(format!("C-{key}")),
            buyer_id: Set(spec.buyer),
            supplier_id: Set(spec.supplier),
            tender_id: Set(spec.tender),
            lot_id: Set(spec.lot),
            award_id: Set(spec.award),
            procurement_method: Set(spec.method),
            status: Set(ContractStatus::Signed),
            fiscal_year: Set(spec.fiscal_year),
            signed_at: Set(Some(at(spec.signed_at))),
            amount_minor: Set(spec.amount),
            currency: Set(spec.currency.into()),
            exchange_rate: Set("1".into()),
            vat_included: Set(spec.vat_included),
            source: Set("test".into()),
            upstream_id: Set(key.clone()),
            fetched_at: Set(at("2026-01-01T00:00:00Z")),
            content_hash: Set(key),
            ..Default::default()
        }
        .insert(self.db)
        .await
        .expect("contract")
    }

    /// A tendered contract whose plan item (with `enstru`), lot and tender all hold its amount.
    async fn tendered(&self, buyer: i64, supplier: i64, enstru: &str, signed_at: &'static str, amount: i64) -> i64 {
        let tender = self.tender(buyer, amount, true).await;
        let item = self.plan_item(buyer, amount, true, Some(enstru)).await;
        let lot = self.lot(tender, Some(item), amount, true).await;
        let spec =
            Contract { tender: Some(tender), lot: Some(lot), ..Contract::new(buyer, supplier, signed_at, amount) };
        self.contract(spec).await.id
    }

    async fn amendment(&self, contract: i64, sequence: i32, signed_at: &str, previous: i64, new: i64) {
        let key = self.key();
        contract_amendment::ActiveModel {
            contract_id: Set(contract),
            sequence: Set(sequence),
            signed_at: Set(at(signed_at)),
            reason_ru: Set(Some("Увеличение объёма".into())),
            previous_amount_minor: Set(previous),
            new_amount_minor: Set(new),
            currency: Set("KZT".into()),
            exchange_rate: Set("1".into()),
            vat_included: Set(true),
            source: Set("test".into()),
            upstream_id: Set(key.clone()),
            fetched_at: Set(at("2026-01-01T00:00:00Z")),
            content_hash: Set(key),
            ..Default::default()
        }
        .insert(self.db)
        .await
        .expect("amendment");
    }

    async fn payment(&self, contract: &contract::Model, paid_at: &str, amount: i64) -> i64 {
        let key = self.key();
        payment::ActiveModel {
            contract_id: Set(Some(contract.id)),
            payer_id: Set(contract.buyer_id),
            payee_id: Set(contract.supplier_id),
            document_number: Set(format!("P-{key}")),
            paid_at: Set(at(paid_at)),
            fiscal_year: Set(contract.fiscal_year),
            amount_minor: Set(amount),
            currency: Set("KZT".into()),
            exchange_rate: Set("1".into()),
            vat_included: Set(true),
            source: Set("test".into()),
            upstream_id: Set(key.clone()),
            fetched_at: Set(at("2026-01-01T00:00:00Z")),
            content_hash: Set(key),
            ..Default::default()
        }
        .insert(self.db)
        .await
        .expect("payment")
        .id
    }

    async fn register(&self, organization: i64, included_on: &str, excluded_on: Option<&str>) -> i64 {
        let key = self.key();
        unreliable_supplier::ActiveModel {
            organization_id: Set(organization),
            included_on: Set(day(included_on)),
            excluded_on: Set(excluded_on.map(day)),
            reason_ru: Set(Some("Неисполнение договора".into())),
            source: Set("test".into()),
            upstream_id: Set(key.clone()),
            fetched_at: Set(at("2026-01-01T00:00:00Z")),
            content_hash: Set(key),
            ..Default::default()
        }
        .insert(self.db)
        .await
        .expect("register entry")
        .id
    }
}

// ---------------------------------------------------------------------------------------------
// The planted data set.

const TENGE: i64 = 100;

/// The ids of the planted cases.
struct Planted {
    kz01_hit: i64,
    kz01_first_day: i64,
    kz01_day_off: i64,
    kz01_evening_before_day_off: i64,
    kz01_register_entry: i64,
    kz02_hit: i64,
    kz02_plan_item: i64,
    kz02_vat_alike: i64,
    kz02_vat_alike_2026: i64,
    kz02_other_currency: i64,
    kz03_hit: i64,
    kz03_exactly_max: i64,
    kz04_buyer: i64,
    kz04_parts: [i64; 2],
    kz04_buyer_party: String,
    kz05_buyer: i64,
    kz05_buyer_party: String,
    kz06_signing: i64,
    kz06_award: i64,
    kz06_day_91: i64,
    kz06_day_90: i64,
    kz07_sibling: i64,
    kz07_child: i64,
    kz07_holding: i64,
    kz07_unrelated: i64,
    kz08_over: i64,
    kz08_crossing_payment: i64,
    kz08_early: i64,
    kz08_early_payment: i64,
    kz08_exact_same_day: i64,
}

async fn plant(db: &DatabaseConnection) -> Planted {
    use OrganizationKind::{QuasiPublic, StateBody, Supplier};
    let seed = Seed::new(db);
    let buyer = seed.organization(StateBody, None, None).await;
    let supplier = seed.organization(Supplier, None, None).await;

    // KZ01: on the register from 10 January to (the first day off) 1 March 2025.
    let unreliable = seed.organization(Supplier, None, None).await;
    let kz01_register_entry = seed.register(unreliable, "2025-01-10", Some("2025-03-01")).await;
    let kz01 = |signed_at| seed.contract(Contract::new(buyer, unreliable, signed_at, 1_000 * TENGE));
    let kz01_hit = kz01("2025-02-15T10:00:00Z").await.id;
    // 00:30 on 10 January in Kazakhstan (UTC+5): the first day on the register.
    let kz01_first_day = kz01("2025-01-09T19:30:00Z").await.id;
    let kz01_day_off = kz01("2025-03-01T05:00:00Z").await.id;
    // 20:00 UTC on 28 February is 01:00 on 1 March in Kazakhstan: already off the register.
    let kz01_evening_before_day_off = kz01("2025-02-28T20:00:00Z").await.id;

    // KZ02: plan items without VAT, lots and contracts with it.
    let tender = seed.tender(buyer, 3_360_000 * TENGE, true).await;
    let kz02_plan_item = seed.plan_item(buyer, 1_000_000 * TENGE, false, None).await;
    let lot = seed.lot(tender, Some(kz02_plan_item), 1_120_000 * TENGE, true).await;
    let spec = Contract {
        tender: Some(tender),
        lot: Some(lot),
        ..Contract::new(buyer, supplier, "2025-05-05T06:00:00Z", 1_400_000 * TENGE)
    };
    let kz02_hit = seed.contract(spec).await.id;
    let item = seed.plan_item(buyer, 1_000_000 * TENGE, false, None).await;
    let lot = seed.lot(tender, Some(item), 1_120_000 * TENGE, true).await;
    let spec = Contract {
        tender: Some(tender),
        lot: Some(lot),
        ..Contract::new(buyer, supplier, "2025-05-06T06:00:00Z", 1_120_000 * TENGE)
    };
    let kz02_vat_alike = seed.contract(spec).await.id;
    // In 2026 VAT is 16%: 1,000,000 without VAT is 1,160,000 with it.
    let item = seed.plan_item(buyer, 1_000_000 * TENGE, false, None).await;
    let lot = seed.lot(tender, Some(item), 1_160_000 * TENGE, true).await;
    let spec = Contract {
        tender: Some(tender),
        lot: Some(lot),
        ..Contract::new(buyer, supplier, "2026-02-02T06:00:00Z", 1_160_000 * TENGE)
    };
    let kz02_vat_alike_2026 = seed.contract(spec).await.id;
    let lot = seed.lot(tender, None, 100 * TENGE, true).await;
    let spec = Contract {
        tender: Some(tender),
        lot: Some(lot),
        currency: "USD",
        ..Contract::new(buyer, supplier, "2025-05-07T06:00:00Z", 5_000 * TENGE)
    };
    let kz02_other_currency = seed.contract(spec).await.id;

    // KZ03: 1,000,000 raised in two steps to 1,300,000; and 1,000,000 raised by exactly 10%.
    let kz03_hit = seed.contract(Contract::new(buyer, supplier, "2025-06-01T06:00:00Z", 1_300_000 * TENGE)).await.id;
    seed.amendment(kz03_hit, 1, "2025-06-10T06:00:00Z", 1_000_000 * TENGE, 1_050_000 * TENGE).await;
    seed.amendment(kz03_hit, 2, "2025-07-01T06:00:00Z", 1_050_000 * TENGE, 1_300_000 * TENGE).await;
    let kz03_exactly_max =
        seed.contract(Contract::new(buyer, supplier, "2025-06-02T06:00:00Z", 1_100_000 * TENGE)).await.id;
    seed.amendment(kz03_exactly_max, 1, "2025-06-20T06:00:00Z", 1_000_000 * TENGE, 1_100_000 * TENGE).await;

    // KZ04: the threshold is 8,000 MCI × 4,325 = 34,600,000 tenge.
    let kz04_buyer = seed.organization(StateBody, None, None).await;
    let split = "171211.100.000001";
    let kz04_parts = [
        seed.tendered(kz04_buyer, supplier, split, "2025-03-03T06:00:00Z", 20_000_000 * TENGE).await,
        seed.tendered(kz04_buyer, supplier, split, "2025-03-20T06:00:00Z", 15_000_000 * TENGE).await,
    ];
    // Thirty days apart: not within a 30-day window.
    let apart = "222222.200.000002";
    seed.tendered(kz04_buyer, supplier, apart, "2025-03-03T06:00:00Z", 20_000_000 * TENGE).await;
    seed.tendered(kz04_buyer, supplier, apart, "2025-04-02T06:00:00Z", 15_000_000 * TENGE).await;
    // Summing to exactly the threshold: not over it.
    let exact = "333333.300.000003";
    seed.tendered(kz04_buyer, supplier, exact, "2025-03-03T06:00:00Z", 20_000_000 * TENGE).await;
    seed.tendered(kz04_buyer, supplier, exact, "2025-03-10T06:00:00Z", 14_600_000 * TENGE).await;
    // One part at the threshold: no part of a split.
    let whole = "444444.400.000004";
    seed.tendered(kz04_buyer, supplier, whole, "2025-03-03T06:00:00Z", 34_600_000 * TENGE).await;
    seed.tendered(kz04_buyer, supplier, whole, "2025-03-04T06:00:00Z", 1_000 * TENGE).await;

    // KZ05: in 2025 six of ten contracts in tenge, 60% of the value, by single source (and one
    // in dollars left out); in 2024 nine contracts, all single source, fewer than ten.
    let kz05_buyer = seed.organization(StateBody, None, None).await;
    for index in 0..10 {
        let method = if index < 6 { ProcurementMethod::SingleSource } else { ProcurementMethod::PriceQuotation };
        let spec = Contract { method, ..Contract::new(kz05_buyer, supplier, "2025-08-01T06:00:00Z", 100_000 * TENGE) };
        seed.contract(spec).await;
    }
    let spec = Contract { currency: "USD", ..Contract::new(kz05_buyer, supplier, "2025-09-01T06:00:00Z", 100 * TENGE) };
    seed.contract(spec).await;
    for _ in 0..9 {
        let spec = Contract {
            method: ProcurementMethod::SingleSource,
            ..Contract::new(kz05_buyer, supplier, "2024-08-01T06:00:00Z", 100_000 * TENGE)
        };
        seed.contract(spec).await;
    }

    // KZ06: registered on 1 April 2025 and on 1 January 2025.
    let newcomer = seed.organization(Supplier, None, Some("2025-04-01")).await;
    let kz06_signing = seed.contract(Contract::new(buyer, newcomer, "2025-05-15T06:00:00Z", 1_000 * TENGE)).await.id;
    let tender = seed.tender(buyer, 1_000 * TENGE, true).await;
    let lot = seed.lot(tender, None, 1_000 * TENGE, true).await;
    let award = seed.award(lot, newcomer, "2025-04-20T06:00:00Z", 1_000 * TENGE).await;
    let spec = Contract {
        tender: Some(tender),
        lot: Some(lot),
        award: Some(award),
        ..Contract::new(buyer, newcomer, "2025-09-01T06:00:00Z", 1_000 * TENGE)
    };
    let kz06_award = seed.contract(spec).await.id;
    let january = seed.organization(Supplier, None, Some("2025-01-01")).await;
    let kz06_day_90 = seed.contract(Contract::new(buyer, january, "2025-04-01T06:00:00Z", 1_000 * TENGE)).await.id;
    let kz06_day_91 = seed.contract(Contract::new(buyer, january, "2025-04-02T06:00:00Z", 1_000 * TENGE)).await.id;

    // KZ07: a quasi-public company of a holding buys from its sister, its daughter, and a stranger.
    let kz07_holding = seed.organization(QuasiPublic, None, None).await;
    let company = seed.organization(QuasiPublic, Some(kz07_holding), None).await;
    let sister = seed.organization(Supplier, Some(kz07_holding), None).await;
    let daughter = seed.organization(Supplier, Some(company), None).await;
    let kz07_sibling = seed.contract(Contract::new(company, sister, "2025-10-01T06:00:00Z", 1_000 * TENGE)).await.id;
    let kz07_child = seed.contract(Contract::new(company, daughter, "2025-10-02T06:00:00Z", 1_000 * TENGE)).await.id;
    let kz07_unrelated =
        seed.contract(Contract::new(company, supplier, "2025-10-03T06:00:00Z", 1_000 * TENGE)).await.id;
    // A state body with the same parent is not quasi-public: not judged.
    let state = seed.organization(StateBody, Some(kz07_holding), None).await;
    seed.contract(Contract::new(state, sister, "2025-10-04T06:00:00Z", 1_000 * TENGE)).await;

    // KZ08: paid 1,100,000 against 1,000,000; paid at 23:30 the evening before signing; paid
    // exactly the value, the first part at 00:30 on the signing day.
    let over = seed.contract(Contract::new(buyer, supplier, "2025-04-01T04:00:00Z", 1_000_000 * TENGE)).await;
    seed.payment(&over, "2025-05-01T06:00:00Z", 600_000 * TENGE).await;
    let kz08_crossing_payment = seed.payment(&over, "2025-06-01T06:00:00Z", 500_000 * TENGE).await;
    let early = seed.contract(Contract::new(buyer, supplier, "2025-04-10T04:00:00Z", 500_000 * TENGE)).await;
    let kz08_early_payment = seed.payment(&early, "2025-04-09T18:30:00Z", 100_000 * TENGE).await;
    let exact = seed.contract(Contract::new(buyer, supplier, "2025-04-10T04:00:00Z", 500_000 * TENGE)).await;
    seed.payment(&exact, "2025-04-09T19:30:00Z", 200_000 * TENGE).await;
    seed.payment(&exact, "2025-04-20T06:00:00Z", 300_000 * TENGE).await;

    let parties = organization_parties(db, [kz04_buyer, kz05_buyer]).await;
    Planted {
        kz01_hit,
        kz01_first_day,
        kz01_day_off,
        kz01_evening_before_day_off,
        kz01_register_entry,
        kz02_hit,
        kz02_plan_item,
        kz02_vat_alike,
        kz02_vat_alike_2026,
        kz02_other_currency,
        kz03_hit,
        kz03_exactly_max,
        kz04_buyer,
        kz04_parts,
        kz04_buyer_party: parties[0].clone(),
        kz05_buyer,
        kz05_buyer_party: parties[1].clone(),
        kz06_signing,
        kz06_award,
        kz06_day_91,
        kz06_day_90,
        kz07_sibling,
        kz07_child,
        kz07_holding,
        kz07_unrelated,
        kz08_over: over.id,
        kz08_crossing_payment,
        kz08_early: early.id,
        kz08_early_payment,
        kz08_exact_same_day: exact.id,
    }
}

async fn organization_parties<const N: usize>(db: &DatabaseConnection, ids: [i64; N]) -> [String; N] {
    use sea_orm::EntityTrait;
    let mut parties = Vec::new();
    for id in ids {
        let organization = organization::Entity::find_by_id(id).one(db).await.unwrap().expect("planted");
        parties.push(domain::ocds::party_id(&organization));
    }
    parties.try_into().unwrap()
}

// ---------------------------------------------------------------------------------------------
// Reading outcomes.

fn flags<'a>(outcome: &'a KzOutcome, code: &str) -> Vec<&'a NewFlag> {
    outcome.flags.iter().filter(|flag| flag.indicator == code).collect()
}

fn flagged_contracts(outcome: &KzOutcome, code: &str) -> Vec<i64> {
    let mut ids: Vec<i64> = flags(outcome, code).iter().filter_map(|flag| flag.contract_id).collect();
    ids.sort_unstable();
    ids
}

fn flag_of<'a>(outcome: &'a KzOutcome, code: &str, contract: i64) -> &'a NewFlag {
    flags(outcome, code)
        .into_iter()
        .find(|flag| flag.contract_id == Some(contract))
        .unwrap_or_else(|| panic!("{code} flags contract {contract}"))
}

fn coverage<'a>(outcome: &'a KzOutcome, code: &str) -> &'a domain::red_flags::CoverageRow {
    outcome.coverage.iter().find(|row| row.indicator == code).unwrap_or_else(|| panic!("coverage of {code}"))
}

fn sorted(mut ids: Vec<i64>) -> Vec<i64> {
    ids.sort_unstable();
    ids
}

fn settings(text: &str) -> KzSettings {
    let parsed = Settings::parse(text).expect("settings parse");
    KzSettings::from_sections(&parsed.kazakhstan).expect("Kazakhstan's sections read")
}

// ---------------------------------------------------------------------------------------------
// The tests.

#[test]
fn every_indicator_fires_on_its_case_and_not_on_its_near_miss() {
    block_on(async {
        let database = TestDatabase::create().await;
        let planted = plant(&database.db).await;
        let outcome = compute(&database.db, &KzSettings::all()).await.expect("computes");

        // Every flag carries what the store and the API need.
        for flag in &outcome.flags {
            assert!(flag.evidence_value().is_object(), "{flag:?}");
            assert!(flag.buyer_id.is_some());
            assert_eq!(flag.region_kato.as_deref(), Some("751110000"));
            if flag.subject_kind == SubjectKind::Contract {
                assert!(flag.ocid.as_deref().is_some_and(|ocid| ocid.starts_with("ocds-scrtny-test-")));
                assert!(flag.subject_key.starts_with("test:u"), "{}", flag.subject_key);
                let evidence = flag.evidence_value();
                let contract = &evidence["contract"];
                assert_eq!(contract["href"], format!("/v1/contracts/{}", flag.contract_id.unwrap()));
            }
        }
        assert_eq!(
            outcome.coverage.iter().map(|row| row.indicator.as_str()).collect::<Vec<_>>(),
            ["KZ01", "KZ02", "KZ03", "KZ04", "KZ05", "KZ06", "KZ07", "KZ08"]
        );

        // KZ01
        assert_eq!(flagged_contracts(&outcome, "KZ01"), sorted(vec![planted.kz01_hit, planted.kz01_first_day]));
        let flag = flag_of(&outcome, "KZ01", planted.kz01_hit);
        assert_eq!((flag.severity, flag.value.as_str()), (Severity::High, "1"));
        assert_eq!(flag.observed_on, day("2025-02-15"));
        let evidence = flag.evidence_value();
        let entry = &evidence["register_entry"];
        assert_eq!(entry["id"], planted.kz01_register_entry);
        assert_eq!(
            (entry["included_on"].as_str(), entry["excluded_on"].as_str()),
            (Some("2025-01-10"), Some("2025-03-01"))
        );
        assert_eq!(flag_of(&outcome, "KZ01", planted.kz01_first_day).observed_on, day("2025-01-10"));
        assert!(!flagged_contracts(&outcome, "KZ01").contains(&planted.kz01_day_off));
        assert!(!flagged_contracts(&outcome, "KZ01").contains(&planted.kz01_evening_before_day_off));

        // KZ02
        assert_eq!(flagged_contracts(&outcome, "KZ02"), [planted.kz02_hit]);
        let flag = flag_of(&outcome, "KZ02", planted.kz02_hit);
        assert_eq!((flag.severity, flag.value.as_str()), (Severity::Medium, "0.2500"));
        let evidence = flag.evidence_value();
        let comparisons = evidence["comparisons"].as_array().unwrap();
        assert_eq!(comparisons.len(), 2, "the plan item and the lot");
        let plan = &comparisons[0];
        assert_eq!(plan["reference"]["href"], format!("/v1/plan-items/{}", planted.kz02_plan_item));
        assert_eq!(plan["reference_amount"], "1000000.00");
        assert_eq!(plan["reference_vat_included"], false);
        assert_eq!(plan["reference_amount_on_contract_basis"], "1120000.00");
        assert_eq!(plan["contract_amount"], "1400000.00");
        assert_eq!(plan["excess"], "280000.00");
        assert_eq!(plan["excess_share"], "0.2500");
        assert_eq!(plan["over_tolerance"], true);
        assert_eq!(flag.evidence_value()["vat_rate"], "0.12");
        assert_eq!(flag.evidence_value()["tolerance"], "0.00");
        for alike in [planted.kz02_vat_alike, planted.kz02_vat_alike_2026, planted.kz02_other_currency] {
            assert!(!flagged_contracts(&outcome, "KZ02").contains(&alike));
        }
        let kz02 = coverage(&outcome, "KZ02");
        assert_eq!(kz02.not_applicable.get("different currency"), Some(&1));
        assert!(kz02.not_applicable["no plan item, lot or tender amount"] > 0);
        assert_eq!(kz02.settings["tolerance"], "0.00");

        // KZ03
        assert_eq!(flagged_contracts(&outcome, "KZ03"), [planted.kz03_hit]);
        let flag = flag_of(&outcome, "KZ03", planted.kz03_hit);
        assert_eq!((flag.severity, flag.value.as_str()), (Severity::Medium, "0.3000"));
        assert_eq!(flag.observed_on, day("2025-07-01"), "the second amendment took it past 10%");
        assert_eq!(flag.evidence_value()["original_amount"], "1000000.00");
        assert_eq!(flag.evidence_value()["final_amount"], "1300000.00");
        assert_eq!(flag.evidence_value()["increase"], "300000.00");
        assert_eq!(flag.evidence_value()["max_increase"], "0.10");
        assert_eq!(flag.evidence_value()["amendments"].as_array().unwrap().len(), 2);
        assert_eq!(coverage(&outcome, "KZ03").evaluated, 2);

        // KZ04
        let kz04 = flags(&outcome, "KZ04");
        assert_eq!(kz04.len(), 1, "{kz04:#?}");
        let flag = kz04[0];
        assert_eq!(flag.subject_kind, SubjectKind::Buyer);
        assert_eq!(flag.subject_key, format!("{}:171211.100.000001:2025-03-03", planted.kz04_buyer_party));
        assert_eq!((flag.severity, flag.value.as_str()), (Severity::High, "35000000.00"));
        assert_eq!(flag.buyer_id, Some(planted.kz04_buyer));
        assert_eq!(flag.observed_on, day("2025-03-20"));
        assert_eq!(flag.evidence_value()["threshold"]["amount"], "34600000.00");
        assert_eq!(flag.evidence_value()["threshold"]["threshold_mci"], 8000);
        assert_eq!(flag.evidence_value()["threshold"]["mci_tenge"], "4325.00");
        assert_eq!(flag.evidence_value()["window"]["window_days"], 30);
        let parts: Vec<i64> = flag.evidence_value()["parts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|part| part["id"].as_i64().unwrap())
            .collect();
        assert_eq!(parts, planted.kz04_parts);

        // KZ05
        let kz05 = flags(&outcome, "KZ05");
        assert_eq!(kz05.len(), 1, "{kz05:#?}");
        let flag = kz05[0];
        assert_eq!(flag.subject_key, format!("{}:2025", planted.kz05_buyer_party));
        assert_eq!(flag.buyer_id, Some(planted.kz05_buyer));
        assert_eq!((flag.severity, flag.value.as_str()), (Severity::Low, "0.6000"));
        assert_eq!(flag.evidence_value()["contracts"], 10);
        assert_eq!(flag.evidence_value()["single_source_contracts"], 6);
        assert_eq!(flag.evidence_value()["contracts_amount"], "1000000.00");
        assert_eq!(flag.evidence_value()["single_source_amount"], "600000.00");
        assert_eq!(flag.evidence_value()["contracts_not_in_tenge"], 1);
        assert_eq!(flag.evidence_value()["largest_single_source_contracts"].as_array().unwrap().len(), 6);
        let kz05 = coverage(&outcome, "KZ05");
        assert!(kz05.not_applicable["fewer contracts than minimum_contracts"] >= 1);
        assert_eq!(kz05.settings["minimum_contracts"], 10);

        // KZ06
        assert_eq!(
            flagged_contracts(&outcome, "KZ06"),
            sorted(vec![planted.kz06_signing, planted.kz06_award, planted.kz06_day_90])
        );
        let flag = flag_of(&outcome, "KZ06", planted.kz06_signing);
        assert_eq!((flag.value.as_str(), flag.evidence_value()["won_on_is"].as_str()), ("44", Some("signing")));
        let flag = flag_of(&outcome, "KZ06", planted.kz06_award);
        assert_eq!((flag.value.as_str(), flag.evidence_value()["won_on_is"].as_str()), ("19", Some("award")));
        assert_eq!(flag.observed_on, day("2025-04-20"));
        assert_eq!(flag_of(&outcome, "KZ06", planted.kz06_day_90).value, "90");
        assert!(!flagged_contracts(&outcome, "KZ06").contains(&planted.kz06_day_91));

        // KZ07
        assert_eq!(flagged_contracts(&outcome, "KZ07"), sorted(vec![planted.kz07_sibling, planted.kz07_child]));
        let flag = flag_of(&outcome, "KZ07", planted.kz07_sibling);
        assert_eq!(flag.evidence_value()["relation"], "same_parent");
        assert_eq!(flag.evidence_value()["parent"]["id"], planted.kz07_holding);
        assert_eq!(flag.evidence_value()["parent"]["href"], format!("/v1/organizations/{}", planted.kz07_holding));
        assert_eq!(
            flag_of(&outcome, "KZ07", planted.kz07_child).evidence_value()["relation"],
            "buyer_is_suppliers_parent"
        );
        assert!(!flagged_contracts(&outcome, "KZ07").contains(&planted.kz07_unrelated));
        assert!(coverage(&outcome, "KZ07").not_applicable["buyer not quasi-public"] > 0);

        // KZ08
        assert_eq!(flagged_contracts(&outcome, "KZ08"), sorted(vec![planted.kz08_over, planted.kz08_early]));
        let flag = flag_of(&outcome, "KZ08", planted.kz08_over);
        assert_eq!((flag.severity, flag.value.as_str()), (Severity::High, "100000.00"));
        assert_eq!(flag.observed_on, day("2025-06-01"));
        assert_eq!(flag.evidence_value()["paid_total"], "1100000.00");
        assert_eq!(flag.evidence_value()["contract_amount"], "1000000.00");
        assert_eq!(flag.evidence_value()["excess"], "100000.00");
        assert_eq!(
            flag.evidence_value()["crossing_payment"]["href"],
            format!("/v1/payments/{}", planted.kz08_crossing_payment)
        );
        let flag = flag_of(&outcome, "KZ08", planted.kz08_early);
        assert_eq!((flag.value.as_str(), flag.observed_on), ("100000.00", day("2025-04-09")));
        assert_eq!(flag.evidence_value()["overpaid"], false);
        assert_eq!(flag.evidence_value()["early_payments"][0]["id"], planted.kz08_early_payment);
        assert_eq!(flag.evidence_value()["early_payments"][0]["paid_on"], "2025-04-09");
        assert!(!flagged_contracts(&outcome, "KZ08").contains(&planted.kz08_exact_same_day));

        // The same data gives the same flags.
        let again = compute(&database.db, &KzSettings::all()).await.expect("computes again");
        assert_eq!(again, outcome);
    });
}

#[test]
fn a_threshold_set_in_its_section_changes_the_outcome() {
    block_on(async {
        let database = TestDatabase::create().await;
        let planted = plant(&database.db).await;

        let lower = settings("[KZ03]\nmax_increase = 0.05\n");
        assert!(lower.kz01.is_none() && lower.kz08.is_none(), "only the sections present are on");
        let outcome = compute(&database.db, &lower).await.unwrap();
        assert_eq!(flagged_contracts(&outcome, "KZ03"), sorted(vec![planted.kz03_hit, planted.kz03_exactly_max]));
        assert_eq!(flag_of(&outcome, "KZ03", planted.kz03_exactly_max).evidence_value()["max_increase"], "0.05");
        assert_eq!(outcome.coverage.len(), 1);
        assert_eq!(outcome.coverage[0].settings, serde_json::json!({ "max_increase": "0.05" }));
        assert!(outcome.flags.iter().all(|flag| flag.indicator == "KZ03"));

        let higher = settings("[KZ03]\nmax_increase = 0.30\n");
        let outcome = compute(&database.db, &higher).await.unwrap();
        assert!(flags(&outcome, "KZ03").is_empty(), "a rise of exactly 30% is not more than 30%");

        // A wider window joins the parts 30 days apart; a lower MCI lowers the threshold.
        let outcome = compute(&database.db, &settings("[KZ04]\nwindow_days = 31\n")).await.unwrap();
        assert_eq!(flags(&outcome, "KZ04").len(), 2);
        let outcome = compute(&database.db, &settings("[KZ04]\nmci_tenge = 4000\n")).await.unwrap();
        let codes: Vec<String> = flags(&outcome, "KZ04")
            .iter()
            .map(|flag| flag.evidence_value()["enstru_code"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(codes, ["171211.100.000001", "333333.300.000003"], "34,600,000 is over 32,000,000");

        // A tolerance of 25% lets the 25% excess pass.
        let outcome = compute(&database.db, &settings("[KZ02]\ntolerance = 0.25\n")).await.unwrap();
        assert!(flags(&outcome, "KZ02").is_empty());
        // At 12% in 2026 too, the 2026 contract looks above its plan item.
        let outcome = compute(&database.db, &settings("[KZ02]\nvat_rate_from_2026 = 0.12\n")).await.unwrap();
        assert_eq!(flagged_contracts(&outcome, "KZ02"), sorted(vec![planted.kz02_hit, planted.kz02_vat_alike_2026]));

        let outcome = compute(&database.db, &settings("[KZ06]\nwindow_days = 91\n")).await.unwrap();
        assert!(flagged_contracts(&outcome, "KZ06").contains(&planted.kz06_day_91));
    });
}

#[test]
fn nothing_enabled_reads_nothing_and_an_empty_database_flags_nothing() {
    block_on(async {
        let database = TestDatabase::create().await;
        let outcome = compute(&database.db, &KzSettings::all()).await.unwrap();
        assert!(outcome.flags.is_empty());
        assert_eq!(outcome.coverage.len(), 8);
        assert!(outcome.coverage.iter().all(|row| row.evaluated == 0));
        let outcome = compute(&database.db, &KzSettings::default()).await.unwrap();
        assert_eq!(outcome, KzOutcome::default());
    });
}

#[test]
fn sections_turn_indicators_on_and_mistakes_name_their_line() {
    let all = settings("[KZ01]\n[KZ02]\n[KZ03]\n[KZ04]\n[KZ05]\n[KZ06]\n[KZ07]\n[KZ08]\n");
    assert_eq!(all, KzSettings::all());
    assert_eq!(settings("[R024]\n"), KzSettings::default(), "cardinal's sections are not Kazakhstan's");

    let parsed = Settings::parse("[KZ03]\n\nmax_raise = 0.2\n").unwrap();
    let error = KzSettings::from_sections(&parsed.kazakhstan).unwrap_err();
    assert_eq!(error.line, 3);
    assert!(error.reason.contains("`max_raise` is not a setting in [KZ03]"), "{error}");
    assert!(error.reason.contains("max_increase"), "names the known settings: {error}");

    let parsed = Settings::parse("[KZ01]\nthreshold = 1\n").unwrap();
    let error = KzSettings::from_sections(&parsed.kazakhstan).unwrap_err();
    assert_eq!(error.line, 2);
    assert!(error.reason.contains("takes no settings"), "{error}");

    for (text, line) in [
        ("[KZ04]\nwindow_days = 0\n", 2),
        ("[KZ04]\nmci_tenge = -5\n", 2),
        ("[KZ05]\nmax_share = 0.5.1\n", 2),
        ("[KZ02]\nvat_rate = 12%\n", 2),
        ("\n[KZ05]\nminimum_contracts = ten\n", 3),
    ] {
        let parsed = Settings::parse(text).unwrap();
        let error = KzSettings::from_sections(&parsed.kazakhstan).unwrap_err();
        assert_eq!(error.line, line, "{text:?}: {error}");
    }

    let parsed = Settings::parse("[KZ09]\nx = 1\n").unwrap();
    let error = KzSettings::from_sections(&parsed.kazakhstan).unwrap_err();
    assert_eq!(error.line, 2, "an unknown section is placed at its first property");
    assert!(error.reason.contains("`[KZ09]` is not one of Kazakhstan's indicators"), "{error}");
}

#[test]
fn the_catalogue_describes_all_eight_with_the_settings_in_force() {
    let entries = catalogue(&settings("[KZ03]\nmax_increase = 0.2\n"));
    assert_eq!(
        entries.iter().map(|entry| entry.code).collect::<Vec<_>>(),
        ["KZ01", "KZ02", "KZ03", "KZ04", "KZ05", "KZ06", "KZ07", "KZ08"]
    );
    for entry in &entries {
        assert!(!entry.cardinal);
        assert_eq!(entry.enabled, entry.code == "KZ03", "{}", entry.code);
        for text in [entry.title, entry.description] {
            assert!(!text.ru.is_empty() && !text.kk.is_empty() && !text.en.is_empty(), "{}", entry.code);
        }
        assert!(!entry.severity_reason.is_empty());
        for setting in &entry.settings {
            assert!(!setting.reason.is_empty() && !setting.default.is_empty(), "{}", setting.name);
        }
    }
    let kz03 = &entries[2].settings[0];
    assert_eq!((kz03.name, kz03.value.as_str(), kz03.default), ("max_increase", "0.20", "0.10"));
    // An indicator that is off shows its defaults.
    let kz04: Vec<(&str, &str)> =
        entries[3].settings.iter().map(|setting| (setting.name, setting.value.as_str())).collect();
    assert_eq!(kz04, [("window_days", "30"), ("threshold_mci", "8000"), ("mci_tenge", "4325.00")]);
    for entry in catalogue(&KzSettings::all()) {
        assert!(entry.enabled);
        for setting in &entry.settings {
            assert_eq!(setting.value, setting.default, "{} {}", entry.code, setting.name);
        }
    }
}
