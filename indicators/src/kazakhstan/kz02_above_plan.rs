//! KZ02 — Contract above its planned amount.
//!
//! A buyer may not sign a contract for more than the amount set aside for the purchase: the
//! plan item's amount in its procurement plan, and the amount announced for the lot (or, for a
//! tender whose contract names no lot, the tender). A contract above them spends money the plan
//! did not provide, or was let at a price the announcement did not offer to other suppliers.
//!
//! Each contract is compared with every reference it has: the plan item behind its lot, the
//! lot, or (without a lot) the tender. A reference in another currency is not compared. Amounts
//! are compared like with like on VAT: goszakup stores plan items without VAT while contracts
//! may include it, so an amount without VAT counts as `amount × (1 + vat_rate)` with VAT. The
//! comparison is exact (integer arithmetic on tiyn); the reference is shown on the contract's VAT
//! basis rounded to the tiyn.
//!
//! Flagged: a contract whose excess over a reference, as a share of the reference, is more than
//! `tolerance`.
//!
//! - Subject: the contract. Value: the largest excess share (`0.2500`). Observed on: signing day.
//! - Evidence: the contract's amount; per reference, its record, amount as stored, amount on the
//!   contract's VAT basis, the excess in money and as a share, and whether it is over; the
//!   references not compared and why; the VAT rate applied (under the name of its setting) and
//!   `tolerance`.
//! - Not applicable: "no plan item, lot or tender amount" (direct contracts, mostly), "different
//!   currency", "reference amount not positive".
//! - Severity: medium: an excess may have a lawful explanation (a plan corrected after the
//!   announcement and not re-imported, a wrong VAT flag upstream), and needs a look at the
//!   documents before it means anything.
//!
//! Settings:
//! - `vat_rate` = 0.12: the standard VAT rate of the Tax Code of the Republic of Kazakhstan of
//!   2017 (art. 422: 12%), for contracts signed before 2026. A supplier that pays no VAT signs
//!   without it, and its contract's own VAT flag says so.
//! - `vat_rate_from_2026` = 0.16: for contracts signed from 1 January 2026, when the Tax Code of
//!   2025 raised the standard rate to 16% (our understanding of the new Code: check it before
//!   relying on it). Without it, a 2026 contract with VAT would look 3.6% above a plan item
//!   without VAT. Goods at a reduced rate are converted at the standard one all the same.
//! - `tolerance` = 0.00: the law allows no excess at all, and the comparison is exact, so no
//!   rounding slack is needed; raise it to see only large excesses.

use domain::red_flags::{NewFlag, Severity};
use serde_json::{Map, Value, json};

use super::Indicator;
use super::facts::{ContractFacts, Tally, lot_ref, plan_item_ref, tender_ref};
use super::setting;
use super::values::{
    Share, VAT_RATE_2026_DEFAULT, VAT_RATE_2026_REASON, VAT_RATE_DEFAULT, VAT_RATE_REASON, VatRates, amount_text,
    div_round, on_basis, ratio_text, vat_included_scaled,
};
use crate::catalogue::{SettingInfo, Text};
use crate::settings::{Property, SettingsError, unknown};

pub const CODE: &str = "KZ02";

pub const INDICATOR: Indicator = Indicator {
    code: CODE,
    title: Text {
        ru: "Сумма договора больше запланированной",
        kk: "Шарт сомасы жоспарланған сомадан көп",
        en: "Contract above its planned amount",
    },
    description: Text {
        ru: "Сумма договора больше суммы пункта плана государственных закупок, лота или объявления, по которым он \
             заключён, более чем на долю tolerance. Суммы сравниваются с НДС: сумма без НДС увеличивается на ставку \
             vat_rate (для договоров с 2026 года — vat_rate_from_2026). Суммы в разных валютах не сравниваются.",
        kk: "Шарт сомасы өзі жасалған мемлекеттік сатып алу жоспары тармағының, лоттың немесе хабарландырудың \
             сомасынан tolerance үлесінен артық асып кеткен. Сомалар ҚҚС-пен салыстырылады: ҚҚС-сыз сома \
             vat_rate мөлшерлемесі бойынша (2026 жылдан бастап жасалған шарттарда — vat_rate_from_2026) \
             ұлғайтылады. Әртүрлі валютадағы сомалар салыстырылмайды.",
        en: "The contract's amount exceeds the amount of the procurement plan item, lot or announcement it was \
             signed under by more than the share tolerance. Amounts are compared with VAT: an amount without VAT is \
             raised by vat_rate (vat_rate_from_2026 for contracts signed from 2026). Amounts in different currencies \
             are not compared.",
    },
    severity: Severity::Medium,
    severity_reason: "An excess breaks the rule that a contract stays within the amount set aside, but can have a \
                      lawful explanation (a plan corrected later, a wrong VAT flag upstream): the documents decide.",
};

const TOLERANCE_DEFAULT: &str = "0.00";
const TOLERANCE_REASON: &str = "The law allows a contract no excess over the amount set aside, and the comparison is \
                                exact to the tiyn, so no slack is needed for rounding.";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub vat_rates: VatRates,
    pub tolerance: Share,
}

impl Default for Settings {
    fn default() -> Self {
        Settings { vat_rates: VatRates::default(), tolerance: Share::from_millionths(0) }
    }
}

impl Settings {
    pub fn read(section: &str, properties: &[Property]) -> Result<Self, SettingsError> {
        let mut settings = Settings::default();
        for property in properties {
            let Property { line, key, value } = property;
            match key.as_str() {
                "vat_rate" => settings.vat_rates.before_2026 = Share::parse(*line, key, value)?,
                "vat_rate_from_2026" => settings.vat_rates.from_2026 = Share::parse(*line, key, value)?,
                "tolerance" => settings.tolerance = Share::parse(*line, key, value)?,
                _ => return Err(unknown(*line, key, section, &["vat_rate", "vat_rate_from_2026", "tolerance"])),
            }
        }
        Ok(settings)
    }

    pub fn info(&self) -> Vec<SettingInfo> {
        vec![
            setting("vat_rate", self.vat_rates.before_2026.text(), VAT_RATE_DEFAULT, VAT_RATE_REASON),
            setting("vat_rate_from_2026", self.vat_rates.from_2026.text(), VAT_RATE_2026_DEFAULT, VAT_RATE_2026_REASON),
            setting("tolerance", self.tolerance.text(), TOLERANCE_DEFAULT, TOLERANCE_REASON),
        ]
    }
}

/// An amount the contract should stay within.
struct Reference {
    record: Value,
    minor_units: i64,
    currency: String,
    vat_included: bool,
}

fn references(facts: &ContractFacts<'_>) -> Vec<Reference> {
    let mut references = Vec::new();
    if let Some(item) = facts.plan_item {
        references.push(Reference {
            record: plan_item_ref(item),
            minor_units: item.amount_minor,
            currency: item.currency.clone(),
            vat_included: item.vat_included,
        });
    }
    match (facts.lot, facts.tender) {
        (Some(lot), _) => references.push(Reference {
            record: lot_ref(lot),
            minor_units: lot.amount_minor,
            currency: lot.currency.clone(),
            vat_included: lot.vat_included,
        }),
        // Without a lot the whole tender is the reference: a contract above all of it is above
        // whichever lot it was for.
        (None, Some(tender)) => references.push(Reference {
            record: tender_ref(tender),
            minor_units: tender.amount_minor,
            currency: tender.currency.clone(),
            vat_included: tender.vat_included,
        }),
        (None, None) => {}
    }
    references
}

pub fn judge(settings: &Settings, facts: &ContractFacts<'_>, tally: &mut Tally) -> Option<NewFlag> {
    let contract = facts.contract;
    let references = references(facts);
    if references.is_empty() {
        tally.skip("no plan item, lot or tender amount");
        return None;
    }
    let (rate_setting, vat_rate) = settings.vat_rates.on(facts.signed_on);
    let contract_scaled = vat_included_scaled(contract.amount_minor, contract.vat_included, vat_rate);
    let mut comparisons = Vec::new();
    let mut not_compared = Vec::new();
    // The largest excess share among the references exceeded, in hundred-millionths (exact
    // cross-multiplication of two scaled amounts could overflow `i128`), with the ratio itself.
    let mut largest: Option<(i128, i128, i128)> = None;
    for reference in references {
        if reference.currency != contract.currency {
            not_compared.push(json!({ "reference": reference.record, "reason": "different currency" }));
            continue;
        }
        if reference.minor_units <= 0 {
            not_compared.push(json!({ "reference": reference.record, "reason": "reference amount not positive" }));
            continue;
        }
        let reference_scaled = vat_included_scaled(reference.minor_units, reference.vat_included, vat_rate);
        let excess_scaled = contract_scaled - reference_scaled;
        let over = excess_scaled > 0 && settings.tolerance.is_exceeded_by(excess_scaled, reference_scaled);
        let rank = div_round(excess_scaled * 100_000_000, reference_scaled);
        if over && largest.is_none_or(|(largest_rank, _, _)| rank > largest_rank) {
            largest = Some((rank, excess_scaled, reference_scaled));
        }
        let on_contract_basis = on_basis(reference_scaled, contract.vat_included, vat_rate);
        comparisons.push(json!({
            "reference": reference.record,
            "reference_amount": amount_text(reference.minor_units.into()),
            "reference_vat_included": reference.vat_included,
            "reference_amount_on_contract_basis": amount_text(on_contract_basis),
            "contract_amount": amount_text(contract.amount_minor.into()),
            "currency": contract.currency,
            "contract_vat_included": contract.vat_included,
            "excess": amount_text(i128::from(contract.amount_minor) - on_contract_basis),
            "excess_share": ratio_text(excess_scaled, reference_scaled),
            "over_tolerance": over,
        }));
    }
    if comparisons.is_empty() {
        // Every reference was set aside: count the contract under the first reason.
        let reason =
            not_compared.first().and_then(|entry| entry["reason"].as_str()).unwrap_or("different currency").to_owned();
        tally.skip(&reason);
        return None;
    }
    tally.evaluated();
    let (_, excess, of) = largest?;
    let mut evidence = Map::new();
    evidence.insert("comparisons".into(), comparisons.into());
    if !not_compared.is_empty() {
        evidence.insert("not_compared".into(), not_compared.into());
    }
    // The rate applied, under the name of the setting it came from.
    evidence.insert(rate_setting.into(), vat_rate.text().into());
    evidence.insert("tolerance".into(), settings.tolerance.text().into());
    Some(facts.flag(CODE, INDICATOR.severity, facts.signed_on, ratio_text(excess, of), evidence))
}
