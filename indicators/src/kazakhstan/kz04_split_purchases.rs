//! KZ04 — Split purchase.
//!
//! A request for price quotations (запрос ценовых предложений) is allowed only while the
//! year's volume of homogeneous goods, works or services stays under a threshold in monthly
//! calculation indices (MCI, МРП), and the law forbids splitting a purchase to stay under it
//! (Law No. 106-VIII "On Public Procurement" of 1 July 2024, art. 10 p. 4, in force from 2025).
//! A buyer that needs goods above the threshold and buys them instead as several purchases just
//! under it, a few days apart, escapes the open tender or auction the total calls for.
//!
//! Parts: a buyer's contracts in tenge whose plan item (through the lot) has an ENSTRU code,
//! each under the threshold (`threshold_mci` × `mci_tenge`). Direct contracts have no lot, so no
//! ENSTRU code, and are not seen: this misses splits into direct single-source contracts. For
//! each buyer and code, parts are taken in signing order; a window opens at the first part not
//! yet flagged and holds every part signed within `window_days` consecutive days from it (so
//! with 30, a part signed 29 days after the first is in, one signed 30 days after is not).
//! Flagged: a window of at least two parts whose sum is over the threshold; the next window
//! opens after it. Otherwise the window moves on to the next part.
//!
//! - Subject: the buyer, keyed `{party id}:{ENSTRU code}:{first part's day}`, so the same split is
//!   the same flag from one computation to the next. Value: the parts' sum in tenge. Observed on:
//!   the last part's signing day.
//! - Evidence: the ENSTRU code, the window's first and last days, the threshold (in MCI, the MCI
//!   in tenge and the amount), the sum, and every part with its supplier, tender and plan item.
//! - Not applicable: "no ENSTRU code", "not in tenge".
//! - Severity: high: it is the pattern the law names and forbids; several parts just under a
//!   threshold within weeks rarely happen by chance.
//!
//! Amounts are compared as stored (goszakup's contract amounts include VAT where the supplier
//! pays it); a contract of another year is judged at the same `mci_tenge` (a lower MCI in
//! earlier years makes the threshold in tenge higher than it was then, so older splits are
//! missed rather than invented).
//!
//! Settings:
//! - `window_days` = 30: about a month, the rhythm of a buyer's purchases; the law counts the
//!   whole year's volume, so a longer window finds more (and more innocent) repeats.
//! - `threshold_mci` = 8000: the request for price quotations is allowed up to an annual volume
//!   of 8,000 MCI under Law No. 106-VIII art. 10 p. 4 (our reading of the law in force from 2025;
//!   for contracts under Law No. 434-V of 2015 the line was lower, 4,000 MCI as we understand
//!   it, and 100 MCI is the line for a direct purchase from a single source).
//! - `mci_tenge` = 4325.00: the MCI for 2026 set by the law on the republican budget.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use domain::entities::{ProcurementMethod, organization};
use domain::red_flags::{NewFlag, Severity};
use sea_orm::ActiveEnum;
use serde_json::{Map, Value, json};

use super::Indicator;
use super::facts::{BuyerFinding, ContractFacts, Tally, bare_ref, buyer_flag, money, record};
use super::setting;
use super::values::{amount, amount_text, count, days};
use crate::catalogue::{SettingInfo, Text};
use crate::settings::{Property, SettingsError, unknown};

pub const CODE: &str = "KZ04";

pub const INDICATOR: Indicator = Indicator {
    code: CODE,
    title: Text {
        ru: "Дробление закупки", kk: "Сатып алуды бөлшектеу", en: "Split purchase"
    },
    description: Text {
        ru: "Заказчик в течение window_days дней заключил не менее двух договоров по одному коду ЕНС ТРУ, каждый \
             ниже порога threshold_mci МРП, а вместе — выше него: закупка могла быть раздроблена, чтобы обойти \
             конкурс или аукцион.",
        kk: "Тапсырыс беруші window_days күн ішінде ТЖҚ БНА-ның (ЕНС ТРУ) бір коды бойынша кемінде екі шарт \
             жасаған: әрқайсысы threshold_mci АЕК шегінен төмен, ал жиыны одан жоғары. Конкурс не аукцион \
             өткізбеу үшін сатып алу бөлшектелген болуы мүмкін.",
        en: "Within window_days days the buyer signed at least two contracts for one ENSTRU code, each under the \
             threshold of threshold_mci monthly calculation indices and together above it: the purchase may have \
             been split to avoid a tender or auction.",
    },
    severity: Severity::High,
    severity_reason: "Splitting a purchase to stay under a method's threshold is what the law names and forbids, and \
                      parts just under the threshold within weeks rarely happen by chance.",
};

const WINDOW_DAYS_DEFAULT: &str = "30";
const WINDOW_DAYS_REASON: &str = "About a month, the rhythm of a buyer's purchases. The law counts the year's volume, \
                                  so a longer window finds more repeats, and more innocent ones.";
const THRESHOLD_MCI_DEFAULT: &str = "8000";
const THRESHOLD_MCI_REASON: &str = "A request for price quotations is allowed up to an annual volume of 8,000 MCI of \
                                    homogeneous goods, works or services, and splitting to use it is forbidden (Law \
                                    No. 106-VIII of 2024, art. 10 p. 4, as we read it). Under Law No. 434-V (before \
                                    2025) the line was lower, 4,000 MCI as we understand it; 100 MCI is the line for \
                                    a direct single-source purchase.";
const MCI_TENGE_DEFAULT: &str = "4325.00";
const MCI_TENGE_REASON: &str = "The monthly calculation index for 2026 in the law on the republican budget. Earlier \
                                years had a lower MCI, so their splits are judged against a higher threshold: missed \
                                rather than invented.";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub window_days: u32,
    pub threshold_mci: u64,
    /// Tiyn.
    pub mci_minor: i64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings { window_days: 30, threshold_mci: 8_000, mci_minor: 432_500 }
    }
}

impl Settings {
    pub fn read(section: &str, properties: &[Property]) -> Result<Self, SettingsError> {
        let mut settings = Settings::default();
        for Property { line, key, value } in properties {
            match key.as_str() {
                "window_days" => settings.window_days = days(*line, key, value)?,
                "threshold_mci" => settings.threshold_mci = count(*line, key, value)?,
                "mci_tenge" => settings.mci_minor = amount(*line, key, value)?,
                _ => return Err(unknown(*line, key, section, &["window_days", "threshold_mci", "mci_tenge"])),
            }
        }
        Ok(settings)
    }

    pub fn info(&self) -> Vec<SettingInfo> {
        vec![
            setting("window_days", self.window_days.to_string(), WINDOW_DAYS_DEFAULT, WINDOW_DAYS_REASON),
            setting("threshold_mci", self.threshold_mci.to_string(), THRESHOLD_MCI_DEFAULT, THRESHOLD_MCI_REASON),
            setting("mci_tenge", amount_text(self.mci_minor.into()), MCI_TENGE_DEFAULT, MCI_TENGE_REASON),
        ]
    }

    /// The threshold in tiyn.
    fn threshold_minor(&self) -> i128 {
        i128::from(self.threshold_mci) * i128::from(self.mci_minor)
    }
}

/// A contract that may be part of a split, kept without its rows until the buyer is done.
#[derive(Debug, Clone)]
struct Part {
    contract_id: i64,
    number: String,
    signed_on: NaiveDate,
    amount_minor: i64,
    vat_included: bool,
    procurement_method: ProcurementMethod,
    supplier_id: i64,
    tender_id: Option<i64>,
    plan_item_id: Option<i64>,
}

impl Part {
    fn evidence(&self) -> Value {
        let mut reference = record("contract", "contracts", self.contract_id);
        reference.insert("number".into(), self.number.clone().into());
        reference.insert("signed_on".into(), self.signed_on.to_string().into());
        reference.insert("procurement_method".into(), self.procurement_method.to_value().into());
        reference.insert("value".into(), money(self.amount_minor, "KZT", self.vat_included));
        reference.insert("supplier".into(), bare_ref("organization", "organizations", self.supplier_id));
        if let Some(tender_id) = self.tender_id {
            reference.insert("tender".into(), bare_ref("tender", "tenders", tender_id));
        }
        if let Some(plan_item_id) = self.plan_item_id {
            reference.insert("plan_item".into(), bare_ref("plan_item", "plan-items", plan_item_id));
        }
        Value::Object(reference)
    }
}

/// One buyer's possible parts, by ENSTRU code: held while the walk is on the buyer.
#[derive(Debug, Default)]
pub struct BuyerParts {
    by_code: BTreeMap<String, Vec<Part>>,
}

/// Notes a contract of the current buyer.
pub fn collect(settings: &Settings, facts: &ContractFacts<'_>, tally: &mut Tally, parts: &mut BuyerParts) {
    let contract = facts.contract;
    let code = facts.plan_item.and_then(|item| item.enstru_code.as_deref()).map(str::trim).unwrap_or_default();
    if code.is_empty() {
        tally.skip("no ENSTRU code");
        return;
    }
    if contract.currency != "KZT" {
        tally.skip("not in tenge");
        return;
    }
    tally.evaluated();
    // A contract at or over the threshold was not kept under it; it is no part of a split.
    if contract.amount_minor <= 0 || i128::from(contract.amount_minor) >= settings.threshold_minor() {
        return;
    }
    parts.by_code.entry(code.to_owned()).or_default().push(Part {
        contract_id: contract.id,
        number: contract.number.clone(),
        signed_on: facts.signed_on,
        amount_minor: contract.amount_minor,
        vat_included: contract.vat_included,
        procurement_method: contract.procurement_method,
        supplier_id: contract.supplier_id,
        tender_id: contract.tender_id,
        plan_item_id: facts.plan_item.map(|item| item.id),
    });
}

/// Flags the splits among a buyer's parts once the walk has seen all its contracts.
pub fn finish(settings: &Settings, buyer: &organization::Model, parts: BuyerParts, flags: &mut Vec<NewFlag>) {
    let threshold = settings.threshold_minor();
    for (code, mut parts) in parts.by_code {
        parts.sort_by_key(|part| (part.signed_on, part.contract_id));
        let mut start = 0;
        while start < parts.len() {
            let first_day = parts[start].signed_on;
            let end = parts[start..]
                .iter()
                .position(|part| (part.signed_on - first_day).num_days() >= i64::from(settings.window_days))
                .map_or(parts.len(), |offset| start + offset);
            let window = &parts[start..end];
            let sum: i128 = window.iter().map(|part| i128::from(part.amount_minor)).sum();
            if window.len() >= 2 && sum > threshold {
                flags.push(flag(settings, buyer, &code, window, sum));
                start = end;
            } else {
                start += 1;
            }
        }
    }
}

fn flag(settings: &Settings, buyer: &organization::Model, code: &str, window: &[Part], sum: i128) -> NewFlag {
    let first = &window[0];
    let last = &window[window.len() - 1];
    let single_supplier = window.iter().all(|part| part.supplier_id == first.supplier_id);
    let mut evidence = Map::new();
    evidence.insert("enstru_code".into(), code.into());
    evidence.insert(
        "window".into(),
        json!({
            "first_day": first.signed_on.to_string(),
            "last_day": last.signed_on.to_string(),
            "window_days": settings.window_days,
        }),
    );
    evidence.insert(
        "threshold".into(),
        json!({
            "threshold_mci": settings.threshold_mci,
            "mci_tenge": amount_text(settings.mci_minor.into()),
            "amount": amount_text(settings.threshold_minor()),
            "currency": "KZT",
        }),
    );
    evidence.insert("parts_total".into(), amount_text(sum).into());
    evidence.insert("parts_count".into(), window.len().into());
    evidence.insert("parts".into(), Value::Array(window.iter().map(Part::evidence).collect()));
    let finding = BuyerFinding {
        key_suffix: format!("{code}:{}", first.signed_on),
        supplier_id: single_supplier.then_some(first.supplier_id),
        observed_on: last.signed_on,
        value: amount_text(sum),
        evidence,
    };
    buyer_flag(CODE, INDICATOR.severity, buyer, finding)
}
