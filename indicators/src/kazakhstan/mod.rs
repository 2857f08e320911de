//! Kazakhstan's own red flags, over the database.
//!
//! Eight indicators that read what OCDS releases do not carry, or that only Kazakhstan's law
//! defines: the register of unreliable suppliers, plan items and VAT, amendments, ENSTRU codes
//! and MCI thresholds, the quasi-public sector's groups, treasury payments. One module each,
//! with its methodology, settings, defaults and their reasons in its doc comment:
//!
//! - [`kz01_unreliable_supplier`]: a contract with a supplier on the register that day.
//! - [`kz02_above_plan`]: a contract above its plan item, lot or tender.
//! - [`kz03_amendments`]: amendments raising a contract's value by more than a share.
//! - [`kz04_split_purchases`]: purchases split to stay under a method's threshold.
//! - [`kz05_single_source_share`]: a buyer spending most of a year by single source.
//! - [`kz06_new_supplier`]: a supplier registered shortly before it won.
//! - [`kz07_related_party`]: a quasi-public buyer buying within its group.
//! - [`kz08_payments`]: payments above a contract's value or before its signing.
//!
//! [`compute`] walks the contracts once, a page at a time in buyer order ([`load`]), and hands
//! each contract with its rows to every enabled indicator. Settings come from the settings file's
//! `[KZ01]` … `[KZ08]` sections: a section present turns its indicator on, and each property
//! overrides one default. Days are days in Kazakhstan; money is compared in integer tiyn and
//! shown as decimal text, never as floats ([`values`]).

pub mod facts;
pub mod kz01_unreliable_supplier;
pub mod kz02_above_plan;
pub mod kz03_amendments;
pub mod kz04_split_purchases;
pub mod kz05_single_source_share;
pub mod kz06_new_supplier;
pub mod kz07_related_party;
pub mod kz08_payments;
pub mod load;
pub mod values;

use std::collections::BTreeMap;

use domain::DomainError;
use domain::entities::organization;
use domain::red_flags::{CoverageRow, NewFlag, Severity};
use sea_orm::DatabaseConnection;
use serde_json::{Map, Value};

use crate::catalogue::{IndicatorInfo, SettingInfo, Text};
use crate::settings::{Property, SettingsError, error};
use facts::Tally;
use load::{Needs, Page, Walk};

/// Which of Kazakhstan's indicators run, each with its settings; `None` is off.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KzSettings {
    pub kz01: Option<kz01_unreliable_supplier::Settings>,
    pub kz02: Option<kz02_above_plan::Settings>,
    pub kz03: Option<kz03_amendments::Settings>,
    pub kz04: Option<kz04_split_purchases::Settings>,
    pub kz05: Option<kz05_single_source_share::Settings>,
    pub kz06: Option<kz06_new_supplier::Settings>,
    pub kz07: Option<kz07_related_party::Settings>,
    pub kz08: Option<kz08_payments::Settings>,
}

impl KzSettings {
    /// Every indicator on with its defaults.
    pub fn all() -> Self {
        KzSettings {
            kz01: Some(Default::default()),
            kz02: Some(Default::default()),
            kz03: Some(Default::default()),
            kz04: Some(Default::default()),
            kz05: Some(Default::default()),
            kz06: Some(Default::default()),
            kz07: Some(Default::default()),
            kz08: Some(Default::default()),
        }
    }

    /// From the raw `[KZ01]` … sections; a section present turns its indicator on; unknown
    /// sections or properties are errors naming the line.
    ///
    /// The raw sections keep the lines of their properties but not of their headers, so an
    /// unknown section is reported at its first property's line, or at line 0 when it has none
    /// (the reason names the section either way).
    pub fn from_sections(sections: &BTreeMap<String, Vec<Property>>) -> Result<Self, SettingsError> {
        let mut settings = KzSettings::default();
        for (section, properties) in sections {
            let name = section.as_str();
            match name {
                "KZ01" => settings.kz01 = Some(kz01_unreliable_supplier::Settings::read(name, properties)?),
                "KZ02" => settings.kz02 = Some(kz02_above_plan::Settings::read(name, properties)?),
                "KZ03" => settings.kz03 = Some(kz03_amendments::Settings::read(name, properties)?),
                "KZ04" => settings.kz04 = Some(kz04_split_purchases::Settings::read(name, properties)?),
                "KZ05" => settings.kz05 = Some(kz05_single_source_share::Settings::read(name, properties)?),
                "KZ06" => settings.kz06 = Some(kz06_new_supplier::Settings::read(name, properties)?),
                "KZ07" => settings.kz07 = Some(kz07_related_party::Settings::read(name, properties)?),
                "KZ08" => settings.kz08 = Some(kz08_payments::Settings::read(name, properties)?),
                _ => {
                    let line = properties.first().map_or(0, |property| property.line);
                    let codes: Vec<&str> = INDICATORS.iter().map(|indicator| indicator.code).collect();
                    return Err(error(
                        line,
                        format!("`[{section}]` is not one of Kazakhstan's indicators; they are {}", codes.join(", ")),
                    ));
                }
            }
        }
        Ok(settings)
    }

    /// The related rows the enabled indicators read.
    fn needs(&self) -> Needs {
        Needs {
            lots: self.kz02.is_some() || self.kz04.is_some(),
            awards: self.kz06.is_some(),
            // KZ08 shows the last amendment beside the value it compares with.
            amendments: self.kz03.is_some() || self.kz08.is_some(),
            payments: self.kz08.is_some(),
            register: self.kz01.is_some(),
            parents: self.kz07.is_some(),
        }
    }

    fn any(&self) -> bool {
        self.kz01.is_some()
            || self.kz02.is_some()
            || self.kz03.is_some()
            || self.kz04.is_some()
            || self.kz05.is_some()
            || self.kz06.is_some()
            || self.kz07.is_some()
            || self.kz08.is_some()
    }

    /// Each indicator with its settings in force (the defaults where it is off), and whether it is on.
    fn entries(&self) -> [(&'static Indicator, bool, Vec<SettingInfo>); 8] {
        fn entry<S: Default>(
            indicator: &'static Indicator,
            settings: &Option<S>,
            info: impl Fn(&S) -> Vec<SettingInfo>,
        ) -> (&'static Indicator, bool, Vec<SettingInfo>) {
            let settings_info = match settings {
                Some(settings) => info(settings),
                None => info(&S::default()),
            };
            (indicator, settings.is_some(), settings_info)
        }
        [
            entry(&kz01_unreliable_supplier::INDICATOR, &self.kz01, kz01_unreliable_supplier::Settings::info),
            entry(&kz02_above_plan::INDICATOR, &self.kz02, kz02_above_plan::Settings::info),
            entry(&kz03_amendments::INDICATOR, &self.kz03, kz03_amendments::Settings::info),
            entry(&kz04_split_purchases::INDICATOR, &self.kz04, kz04_split_purchases::Settings::info),
            entry(&kz05_single_source_share::INDICATOR, &self.kz05, kz05_single_source_share::Settings::info),
            entry(&kz06_new_supplier::INDICATOR, &self.kz06, kz06_new_supplier::Settings::info),
            entry(&kz07_related_party::INDICATOR, &self.kz07, kz07_related_party::Settings::info),
            entry(&kz08_payments::INDICATOR, &self.kz08, kz08_payments::Settings::info),
        ]
    }
}

/// The eight indicators in code order.
const INDICATORS: [&Indicator; 8] = [
    &kz01_unreliable_supplier::INDICATOR,
    &kz02_above_plan::INDICATOR,
    &kz03_amendments::INDICATOR,
    &kz04_split_purchases::INDICATOR,
    &kz05_single_source_share::INDICATOR,
    &kz06_new_supplier::INDICATOR,
    &kz07_related_party::INDICATOR,
    &kz08_payments::INDICATOR,
];

/// What an indicator is for people, as each module declares it.
#[derive(Debug)]
pub struct Indicator {
    pub code: &'static str,
    pub title: Text,
    pub description: Text,
    pub severity: Severity,
    pub severity_reason: &'static str,
}

/// A setting's catalogue entry.
fn setting(name: &'static str, value: String, default: &'static str, reason: &'static str) -> SettingInfo {
    SettingInfo { name, value, default, reason }
}

/// The settings in force as a coverage row keeps them: whole numbers as JSON numbers, shares and
/// amounts as their decimal text (never floats).
fn settings_json(settings: &[SettingInfo]) -> Value {
    let mut object = Map::new();
    for setting in settings {
        let value = match setting.value.parse::<u64>() {
            Ok(number) if !setting.value.contains('.') => Value::from(number),
            _ => Value::String(setting.value.clone()),
        };
        object.insert(setting.name.to_owned(), value);
    }
    Value::Object(object)
}

/// What a computation found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KzOutcome {
    /// By indicator, then subject key.
    pub flags: Vec<NewFlag>,
    /// One row per enabled indicator, in code order.
    pub coverage: Vec<CoverageRow>,
    /// What each indicator could judge per buyer walked, in buyer order: an incremental
    /// computation adds the buyers it did not walk from their digests.
    pub buyers: Vec<(i64, [Tally; 8])>,
}

/// The per-buyer state of the walk: the buyer it is on and what KZ04 and KZ05 hold for it.
struct CurrentBuyer {
    buyer: organization::Model,
    parts: kz04_split_purchases::BuyerParts,
    years: kz05_single_source_share::BuyerYears,
    /// Indexed as [`INDICATORS`].
    tallies: [Tally; 8],
}

/// A computation in progress.
struct Run<'s> {
    settings: &'s KzSettings,
    flags: Vec<NewFlag>,
    current: Option<CurrentBuyer>,
    buyers: Vec<(i64, [Tally; 8])>,
}

impl<'s> Run<'s> {
    fn new(settings: &'s KzSettings) -> Self {
        Run { settings, flags: Vec::new(), current: None, buyers: Vec::new() }
    }

    fn contract(&mut self, page: &Page, contract: &domain::entities::contract::Model) -> Result<(), DomainError> {
        let facts = page.facts(contract)?;
        if self.current.as_ref().is_none_or(|current| current.buyer.id != contract.buyer_id) {
            self.finish_buyer();
            self.current = Some(CurrentBuyer {
                buyer: facts.buyer.clone(),
                parts: Default::default(),
                years: Default::default(),
                tallies: Default::default(),
            });
        }
        let settings = self.settings;
        let Some(current) = &mut self.current else { return Ok(()) };
        let [t1, t2, t3, t4, _, t6, t7, t8] = &mut current.tallies;
        let found = [
            settings.kz01.as_ref().and_then(|s| kz01_unreliable_supplier::judge(s, &facts, t1)),
            settings.kz02.as_ref().and_then(|s| kz02_above_plan::judge(s, &facts, t2)),
            settings.kz03.as_ref().and_then(|s| kz03_amendments::judge(s, &facts, t3)),
            settings.kz06.as_ref().and_then(|s| kz06_new_supplier::judge(s, &facts, t6)),
            settings.kz07.as_ref().and_then(|s| kz07_related_party::judge(s, &facts, t7)),
            settings.kz08.as_ref().and_then(|s| kz08_payments::judge(s, &facts, t8)),
        ];
        self.flags.extend(found.into_iter().flatten());
        if let Some(kz04) = &settings.kz04 {
            kz04_split_purchases::collect(kz04, &facts, t4, &mut current.parts);
        }
        if settings.kz05.is_some() {
            kz05_single_source_share::collect(&facts, &mut current.years);
        }
        Ok(())
    }

    /// Hands every contract of `walk`, a page at a time with its related rows, to the indicators.
    async fn walk(&mut self, db: &DatabaseConnection, mut walk: Walk, needs: Needs) -> Result<(), DomainError> {
        while let Some(contracts) = walk.next(db).await? {
            let mut page = Page::load(db, contracts, needs).await?;
            let contracts = std::mem::take(&mut page.contracts);
            for contract in &contracts {
                self.contract(&page, contract)?;
            }
        }
        Ok(())
    }

    /// Judges the buyer the walk is leaving.
    fn finish_buyer(&mut self) {
        let Some(mut current) = self.current.take() else { return };
        if let Some(kz04) = &self.settings.kz04 {
            kz04_split_purchases::finish(kz04, &current.buyer, current.parts, &mut self.flags);
        }
        if let Some(kz05) = &self.settings.kz05 {
            kz05_single_source_share::finish(
                kz05,
                &current.buyer,
                current.years,
                &mut current.tallies[4],
                &mut self.flags,
            );
        }
        self.buyers.push((current.buyer.id, current.tallies));
    }

    fn outcome(mut self) -> KzOutcome {
        self.finish_buyer();
        let mut flags = self.flags;
        flags.sort_by(|a, b| (&a.indicator, &a.subject_key).cmp(&(&b.indicator, &b.subject_key)));
        let mut totals: [Tally; 8] = Default::default();
        for (_, tallies) in &self.buyers {
            for (total, tally) in totals.iter_mut().zip(tallies) {
                total.merge(tally);
            }
        }
        KzOutcome { flags, coverage: coverage_rows(self.settings, totals), buyers: self.buyers }
    }
}

/// The coverage rows of the enabled indicators from their tallies (indexed as [`INDICATORS`]).
pub fn coverage_rows(settings: &KzSettings, tallies: [Tally; 8]) -> Vec<CoverageRow> {
    settings
        .entries()
        .into_iter()
        .zip(tallies)
        .filter(|((_, enabled, _), _)| *enabled)
        .map(|((indicator, _, settings), tally)| tally.into_row(indicator.code, settings_json(&settings)))
        .collect()
}

/// The codes of the enabled indicators.
pub fn enabled_codes(settings: &KzSettings) -> Vec<&'static str> {
    settings.entries().into_iter().filter(|(_, enabled, _)| *enabled).map(|(indicator, _, _)| indicator.code).collect()
}

/// Computes every enabled indicator over the database. Reads in bounded batches (keyset pages
/// of [`load::PAGE`] contracts in buyer order with `IN (...)` loads of their related rows,
/// chunked under SQLite's bind limit), never the whole database into memory at once: beyond a
/// page, only the current buyer's small aggregates and the flags found.
pub async fn compute(db: &DatabaseConnection, settings: &KzSettings) -> Result<KzOutcome, DomainError> {
    compute_in_pages(db, settings, load::PAGE).await
}

/// [`compute`] over the contracts of `buyers` only: the flags and tallies of those buyers, as
/// a computation over every buyer would find them (each indicator judges one buyer's contracts
/// at a time).
pub async fn compute_for_buyers(
    db: &DatabaseConnection,
    settings: &KzSettings,
    buyers: &[i64],
) -> Result<KzOutcome, DomainError> {
    let mut run = Run::new(settings);
    if settings.any() {
        let needs = settings.needs();
        let mut sorted = buyers.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        // Chunks in ascending order keep the walk in buyer order across them.
        for chunk in sorted.chunks(load::IN_CHUNK) {
            run.walk(db, Walk::of_buyers(load::PAGE, chunk.to_vec()), needs).await?;
        }
    }
    Ok(run.outcome())
}

/// [`compute`] with pages of `page_size` contracts: the outcome is the same for any size.
async fn compute_in_pages(
    db: &DatabaseConnection,
    settings: &KzSettings,
    page_size: u64,
) -> Result<KzOutcome, DomainError> {
    let mut run = Run::new(settings);
    if settings.any() {
        run.walk(db, Walk::new(page_size), settings.needs()).await?;
    }
    Ok(run.outcome())
}

/// The catalogue entries of the eight indicators, with the settings in force.
pub fn catalogue(settings: &KzSettings) -> Vec<IndicatorInfo> {
    settings
        .entries()
        .into_iter()
        .map(|(indicator, enabled, settings)| IndicatorInfo {
            code: indicator.code,
            title: indicator.title,
            description: indicator.description,
            severity: indicator.severity,
            severity_reason: indicator.severity_reason,
            cardinal: false,
            enabled,
            settings,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};
    use domain::entities::{ContractStatus, OrganizationKind, ProcurementMethod, contract, organization};
    use sea_orm::{ActiveModelTrait, EntityTrait, Set};

    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    async fn organization(db: &DatabaseConnection, key: &str, kind: OrganizationKind) -> i64 {
        organization::ActiveModel {
            bin: Set(Some(format!("{key:0>12}"))),
            kind: Set(kind),
            source: Set("test".into()),
            upstream_id: Set(key.into()),
            fetched_at: Set(at("2026-01-01T00:00:00Z")),
            content_hash: Set(key.into()),
            ..Default::default()
        }
        .insert(db)
        .await
        .unwrap()
        .id
    }

    async fn contract(db: &DatabaseConnection, key: usize, buyer: i64, supplier: i64, method: ProcurementMethod) {
        contract::ActiveModel {
            number: Set(format!("C-{key}")),
            buyer_id: Set(buyer),
            supplier_id: Set(supplier),
            procurement_method: Set(method),
            status: Set(ContractStatus::Signed),
            fiscal_year: Set(2025),
            signed_at: Set(Some(at("2025-05-05T06:00:00Z"))),
            amount_minor: Set(100_000),
            currency: Set("KZT".into()),
            exchange_rate: Set("1".into()),
            vat_included: Set(true),
            source: Set("test".into()),
            upstream_id: Set(format!("c{key}")),
            fetched_at: Set(at("2026-01-01T00:00:00Z")),
            content_hash: Set(format!("c{key}")),
            ..Default::default()
        }
        .insert(db)
        .await
        .unwrap();
    }

    /// Buyers' contracts interleaved by id and cut across pages are still judged per buyer.
    #[test]
    fn the_outcome_does_not_depend_on_the_page_size() {
        sea_orm::sqlx::test_block_on(async {
            let dir = tempfile::tempdir().unwrap();
            let url = format!("sqlite://{}", dir.path().join("walk.db").display());
            let db = domain::db::connect(&url, &Default::default()).await.unwrap();
            domain::db::migrate(&db).await.unwrap();
            let buyers = [
                organization(&db, "1", OrganizationKind::StateBody).await,
                organization(&db, "2", OrganizationKind::StateBody).await,
                organization(&db, "3", OrganizationKind::StateBody).await,
            ];
            let supplier = organization(&db, "4", OrganizationKind::Supplier).await;
            // Buyer 2: twelve contracts, eight by single source; the others a few each.
            let mut key = 0;
            for round in 0..12 {
                for (index, buyer) in buyers.iter().enumerate() {
                    if index != 1 && round % 3 != 0 {
                        continue;
                    }
                    let method =
                        if round < 8 { ProcurementMethod::SingleSource } else { ProcurementMethod::OpenTender };
                    key += 1;
                    contract(&db, key, *buyer, supplier, method).await;
                }
            }
            // A quasi-public group: its parent buys too, so the parent is on some pages as a
            // buyer and on others only as the parent of the buyer and supplier of a KZ07 case.
            let parent = organization(&db, "5", OrganizationKind::QuasiPublic).await;
            let member = organization(&db, "6", OrganizationKind::QuasiPublic).await;
            let sibling = organization(&db, "7", OrganizationKind::Supplier).await;
            for child in [member, sibling] {
                let mut active: organization::ActiveModel =
                    organization::Entity::find_by_id(child).one(&db).await.unwrap().unwrap().into();
                active.parent_id = Set(Some(parent));
                active.update(&db).await.unwrap();
            }
            for (buyer, seller) in [(parent, supplier), (member, sibling), (parent, supplier)] {
                key += 1;
                contract(&db, key, buyer, seller, ProcurementMethod::OpenTender).await;
            }

            let mut walk = Walk::new(2);
            let mut seen = Vec::new();
            while let Some(page) = walk.next(&db).await.unwrap() {
                assert!(page.len() <= 2);
                seen.extend(page.iter().map(|contract| (contract.buyer_id, contract.id)));
            }
            let mut expected = seen.clone();
            expected.sort_unstable();
            expected.dedup();
            assert_eq!(seen, expected, "every contract once, in buyer order");
            assert_eq!(seen.len(), key);

            let whole = compute_in_pages(&db, &KzSettings::all(), load::PAGE).await.unwrap();
            let kz05: Vec<Option<i64>> =
                whole.flags.iter().filter(|flag| flag.indicator == "KZ05").map(|flag| flag.buyer_id).collect();
            assert_eq!(kz05, [Some(buyers[1])]);
            assert!(whole.flags.iter().any(|flag| flag.indicator == "KZ07"), "the group's case is flagged");
            for page_size in [1, 2, 3, 5] {
                assert_eq!(compute_in_pages(&db, &KzSettings::all(), page_size).await.unwrap(), whole, "{page_size}");
            }
        });
    }
}
