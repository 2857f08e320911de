//! KZ05 — High share of single-source purchases.
//!
//! Purchases from a single source (из одного источника) skip competition, and the law allows
//! them only on the grounds it lists. A buyer that spends most of a year's contract value that
//! way either works in a field where competition is rare or avoids it by habit.
//!
//! Per buyer and fiscal year (the contract's `fiscal_year`): the value of its contracts in tenge,
//! and the part of it signed by the single-source method. Contracts in other currencies are
//! left out of both sums. Flagged: a buyer-year with at least `minimum_contracts` contracts in
//! tenge whose single-source share of the value is more than `max_share`.
//!
//! - Subject: the buyer, keyed `{party id}:{fiscal year}`. Value: the share (`0.7500`). Observed on:
//!   the last signing day among the year's contracts.
//! - Evidence: the year; contracts and single-source contracts, counted and summed; the share,
//!   `max_share` and `minimum_contracts`; the ten largest single-source contracts; where the buyer
//!   has a BIN, the API query listing all its single-source contracts of the year.
//! - Coverage counts buyer-years. Not applicable: "fewer contracts than minimum_contracts", "no
//!   contract value in the year"; and contracts "not in tenge (left out of the shares)".
//! - Severity: low: many single-source purchases are lawful (natural monopolies, a failed
//!   tender, the grounds the law lists), so a high share only says where to look.
//!
//! Settings:
//! - `max_share` = 0.50: more than half of the year's value without competition is the point
//!   where single source is no longer the exception the law makes it.
//! - `minimum_contracts` = 10: below about ten contracts one large lawful purchase (heating from
//!   the local monopoly) makes any share, and the share says nothing about habit.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use domain::entities::{ProcurementMethod, organization};
use domain::red_flags::{NewFlag, Severity};
use serde_json::{Map, Value};

use super::Indicator;
use super::facts::{BuyerFinding, ContractFacts, Tally, buyer_flag, money, record};
use super::setting;
use super::values::{Share, amount_text, count, ratio_text};
use crate::catalogue::{SettingInfo, Text};
use crate::settings::{Property, SettingsError, unknown};

pub const CODE: &str = "KZ05";

/// How many of the largest single-source contracts the evidence lists.
const LARGEST_LISTED: usize = 10;

pub const INDICATOR: Indicator = Indicator {
    code: CODE,
    title: Text {
        ru: "Высокая доля закупок из одного источника",
        kk: "Бір көзден сатып алу үлесі жоғары",
        en: "High share of single-source purchases",
    },
    description: Text {
        ru: "Доля суммы договоров заказчика за финансовый год (в тенге), заключённых способом из одного источника, \
             больше max_share. Рассматриваются заказчики, заключившие за год не менее minimum_contracts договоров.",
        kk: "Тапсырыс берушінің қаржы жылындағы шарттары сомасының (теңгемен) бір көзден алу тәсілімен жасалған \
             үлесі max_share-ден жоғары. Жыл ішінде кемінде minimum_contracts шарт жасаған тапсырыс берушілер \
             ғана қаралады.",
        en: "The share of a buyer's contract value in a fiscal year (in tenge) signed by single-source procurement is \
             above max_share. Only buyers with at least minimum_contracts contracts in the year are considered.",
    },
    severity: Severity::Low,
    severity_reason: "Many single-source purchases are lawful (natural monopolies, failed tenders, the grounds the law \
                      lists): a high share says where to look, not that a rule was broken.",
};

const MAX_SHARE_DEFAULT: &str = "0.50";
const MAX_SHARE_REASON: &str = "More than half of a year's contract value without competition is where single source \
                                stops being the exception the law makes it.";
const MINIMUM_CONTRACTS_DEFAULT: &str = "10";
const MINIMUM_CONTRACTS_REASON: &str = "Below about ten contracts a single large lawful purchase (heating from the \
                                        local monopoly) makes any share, and the share says nothing of habit.";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub max_share: Share,
    pub minimum_contracts: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings { max_share: Share::from_millionths(500_000), minimum_contracts: 10 }
    }
}

impl Settings {
    pub fn read(section: &str, properties: &[Property]) -> Result<Self, SettingsError> {
        let mut settings = Settings::default();
        for Property { line, key, value } in properties {
            match key.as_str() {
                "max_share" => settings.max_share = Share::parse(*line, key, value)?,
                "minimum_contracts" => settings.minimum_contracts = count(*line, key, value)?,
                _ => return Err(unknown(*line, key, section, &["max_share", "minimum_contracts"])),
            }
        }
        Ok(settings)
    }

    pub fn info(&self) -> Vec<SettingInfo> {
        vec![
            setting("max_share", self.max_share.text(), MAX_SHARE_DEFAULT, MAX_SHARE_REASON),
            setting(
                "minimum_contracts",
                self.minimum_contracts.to_string(),
                MINIMUM_CONTRACTS_DEFAULT,
                MINIMUM_CONTRACTS_REASON,
            ),
        ]
    }
}

/// A single-source contract among a year's largest.
#[derive(Debug, Clone)]
struct Listed {
    amount_minor: i64,
    contract_id: i64,
    number: String,
    signed_on: NaiveDate,
    vat_included: bool,
}

/// A buyer's contracts in tenge in one fiscal year.
#[derive(Debug, Default)]
struct Year {
    contracts: u64,
    total: i128,
    single_source_contracts: u64,
    single_source: i128,
    not_in_tenge: u64,
    last_day: Option<NaiveDate>,
    /// Largest first, at most [`LARGEST_LISTED`].
    largest: Vec<Listed>,
}

/// One buyer's totals per fiscal year: held while the walk is on the buyer.
#[derive(Debug, Default)]
pub struct BuyerYears {
    by_year: BTreeMap<i32, Year>,
}

/// Adds a contract of the current buyer to its year.
pub fn collect(facts: &ContractFacts<'_>, years: &mut BuyerYears) {
    let contract = facts.contract;
    let year = years.by_year.entry(contract.fiscal_year).or_default();
    if contract.currency != "KZT" {
        year.not_in_tenge += 1;
        return;
    }
    year.contracts += 1;
    year.total += i128::from(contract.amount_minor);
    year.last_day = year.last_day.max(Some(facts.signed_on));
    if contract.procurement_method == ProcurementMethod::SingleSource {
        year.single_source_contracts += 1;
        year.single_source += i128::from(contract.amount_minor);
        year.largest.push(Listed {
            amount_minor: contract.amount_minor,
            contract_id: contract.id,
            number: contract.number.clone(),
            signed_on: facts.signed_on,
            vat_included: contract.vat_included,
        });
        year.largest.sort_by_key(|listed| (std::cmp::Reverse(listed.amount_minor), listed.contract_id));
        year.largest.truncate(LARGEST_LISTED);
    }
}

/// Judges each of a buyer's years once the walk has seen all its contracts.
pub fn finish(
    settings: &Settings,
    buyer: &organization::Model,
    years: BuyerYears,
    tally: &mut Tally,
    flags: &mut Vec<NewFlag>,
) {
    for (fiscal_year, year) in years.by_year {
        tally.skip_many("contracts not in tenge (left out of the shares)", year.not_in_tenge);
        let Some(last_day) = year.last_day else { continue };
        if year.contracts < settings.minimum_contracts {
            tally.skip("fewer contracts than minimum_contracts");
            continue;
        }
        if year.total <= 0 {
            tally.skip("no contract value in the year");
            continue;
        }
        tally.evaluated();
        if !settings.max_share.is_exceeded_by(year.single_source, year.total) {
            continue;
        }
        flags.push(flag(settings, buyer, fiscal_year, &year, last_day));
    }
}

fn flag(
    settings: &Settings,
    buyer: &organization::Model,
    fiscal_year: i32,
    year: &Year,
    last_day: NaiveDate,
) -> NewFlag {
    let share = ratio_text(year.single_source, year.total);
    let mut evidence = Map::new();
    evidence.insert("fiscal_year".into(), fiscal_year.into());
    evidence.insert("currency".into(), "KZT".into());
    evidence.insert("contracts".into(), year.contracts.into());
    evidence.insert("contracts_amount".into(), amount_text(year.total).into());
    evidence.insert("single_source_contracts".into(), year.single_source_contracts.into());
    evidence.insert("single_source_amount".into(), amount_text(year.single_source).into());
    evidence.insert("single_source_share".into(), share.clone().into());
    evidence.insert("max_share".into(), settings.max_share.text().into());
    evidence.insert("minimum_contracts".into(), settings.minimum_contracts.into());
    evidence.insert("contracts_not_in_tenge".into(), year.not_in_tenge.into());
    let largest = year
        .largest
        .iter()
        .map(|listed| {
            let mut reference = record("contract", "contracts", listed.contract_id);
            reference.insert("number".into(), listed.number.clone().into());
            reference.insert("signed_on".into(), listed.signed_on.to_string().into());
            reference.insert("value".into(), money(listed.amount_minor, "KZT", listed.vat_included));
            Value::Object(reference)
        })
        .collect();
    evidence.insert("largest_single_source_contracts".into(), Value::Array(largest));
    if let Some(bin) = &buyer.bin {
        evidence.insert(
            "single_source_contracts_href".into(),
            format!("/v1/contracts?buyer_bin={bin}&fiscal_year={fiscal_year}&procurement_method=single_source").into(),
        );
    }
    let finding = BuyerFinding {
        key_suffix: fiscal_year.to_string(),
        supplier_id: None,
        observed_on: last_day,
        value: share,
        evidence,
    };
    buyer_flag(CODE, INDICATOR.severity, buyer, finding)
}
