//! KZ08 — Payments above the contract's value, or before it was signed.
//!
//! The treasury pays a buyer's obligations under a registered contract, up to its amount. Paying
//! more than the contract (as last amended) is paying for what nobody contracted; paying before
//! the contract was signed is paying for what nobody had yet agreed to buy.
//!
//! Two checks over the payments that name the contract (`payment.contract_id`):
//! - overpaid: the sum of the payments in the contract's currency is more than the contract's
//!   amount after amendments (`contract.amount_minor`). Payments on another VAT basis than the
//!   contract are converted at the rate for the contract's signing day, exactly as in KZ02.
//! - paid early: a payment's day in Kazakhstan is before the contract's signing day (a payment
//!   later on the signing day is not early).
//!
//! Flagged: a contract with either.
//!
//! - Subject: the contract. Value: the amount paid above the contract's value when overpaid,
//!   else the sum paid before signing (in tenge, on the contract's VAT basis; `0.00` when the
//!   early payments are all in another currency). Observed on: the earlier of the day of the
//!   payment that took the total over the contract's value and the first early payment's day.
//! - Evidence: the contract's value (and its last amendment), the sum paid, the excess, the
//!   payment that crossed the value, the early payments, and the payments (the first
//!   hundred), each with its href.
//! - Not applicable: "no payments".
//! - Severity: high: either breaks the treasury's own rule that a payment follows a registered
//!   contract and stays within it; a reader can check both against the payment documents.
//!
//! Settings: `vat_rate` = 0.12 and `vat_rate_from_2026` = 0.16, as in KZ02 and for the same
//! reasons.

use chrono::NaiveDate;
use domain::entities::payment;
use domain::red_flags::{NewFlag, Severity};
use serde_json::{Map, Value};

use super::Indicator;
use super::facts::{ContractFacts, Tally, amendment_ref, kazakhstan_date, payment_ref};
use super::setting;
use super::values::{
    Share, VAT_RATE_2026_DEFAULT, VAT_RATE_2026_REASON, VAT_RATE_DEFAULT, VAT_RATE_REASON, VatRates, amount_text,
    on_basis, vat_included_scaled,
};
use crate::catalogue::{SettingInfo, Text};
use crate::settings::{Property, SettingsError, unknown};

pub const CODE: &str = "KZ08";

/// How many payments the evidence lists.
const PAYMENTS_LISTED: usize = 100;

pub const INDICATOR: Indicator = Indicator {
    code: CODE,
    title: Text {
        ru: "Оплата сверх суммы договора или до его подписания",
        kk: "Шарт сомасынан артық немесе шартқа қол қойылмай тұрып төлеу",
        en: "Payments above the contract's value or before it was signed",
    },
    description: Text {
        ru: "Сумма платежей по договору больше его суммы с учётом дополнительных соглашений, или платёж проведён \
             раньше дня подписания договора.",
        kk: "Шарт бойынша төлемдердің жиыны қосымша келісімдерді ескергендегі шарт сомасынан көп, немесе төлем \
             шартқа қол қойылған күннен бұрын жүргізілген.",
        en: "The payments under the contract add up to more than its value after amendments, or a payment was made \
             before the day the contract was signed.",
    },
    severity: Severity::High,
    severity_reason: "Either breaks the treasury's rule that a payment follows a registered contract and stays \
                      within it, and the payment documents confirm or refute it.",
};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    pub vat_rates: VatRates,
}

impl Settings {
    pub fn read(section: &str, properties: &[Property]) -> Result<Self, SettingsError> {
        let mut settings = Settings::default();
        for Property { line, key, value } in properties {
            match key.as_str() {
                "vat_rate" => settings.vat_rates.before_2026 = Share::parse(*line, key, value)?,
                "vat_rate_from_2026" => settings.vat_rates.from_2026 = Share::parse(*line, key, value)?,
                _ => return Err(unknown(*line, key, section, &["vat_rate", "vat_rate_from_2026"])),
            }
        }
        Ok(settings)
    }

    pub fn info(&self) -> Vec<SettingInfo> {
        vec![
            setting("vat_rate", self.vat_rates.before_2026.text(), VAT_RATE_DEFAULT, VAT_RATE_REASON),
            setting("vat_rate_from_2026", self.vat_rates.from_2026.text(), VAT_RATE_2026_DEFAULT, VAT_RATE_2026_REASON),
        ]
    }
}

pub fn judge(settings: &Settings, facts: &ContractFacts<'_>, tally: &mut Tally) -> Option<NewFlag> {
    let contract = facts.contract;
    let payments = facts.payments;
    if payments.is_empty() {
        tally.skip("no payments");
        return None;
    }
    tally.evaluated();
    let (rate_setting, rate) = settings.vat_rates.on(facts.signed_on);
    let scaled = |payment: &payment::Model| vat_included_scaled(payment.amount_minor, payment.vat_included, rate);
    let contract_scaled = vat_included_scaled(contract.amount_minor, contract.vat_included, rate);

    let in_currency: Vec<&payment::Model> =
        payments.iter().filter(|payment| payment.currency == contract.currency).collect();
    let mut paid_scaled = 0;
    // The payment after which the running total went over the value and stayed there (a refund
    // can bring it back under).
    let mut crossing: Option<&payment::Model> = None;
    for payment in &in_currency {
        let before = paid_scaled;
        paid_scaled += scaled(payment);
        if before <= contract_scaled && paid_scaled > contract_scaled {
            crossing = Some(payment);
        }
    }
    let overpaid = paid_scaled > contract_scaled;
    let early: Vec<&payment::Model> =
        payments.iter().filter(|payment| kazakhstan_date(payment.paid_at) < facts.signed_on).collect();
    if !overpaid && early.is_empty() {
        return None;
    }

    let excess = on_basis(paid_scaled - contract_scaled, contract.vat_included, rate);
    let early_in_currency: i128 =
        early.iter().filter(|payment| payment.currency == contract.currency).map(|payment| scaled(payment)).sum();
    let value = if overpaid { excess } else { on_basis(early_in_currency, contract.vat_included, rate) };
    let days = crossing
        .filter(|_| overpaid)
        .map(|payment| kazakhstan_date(payment.paid_at))
        .into_iter()
        .chain(early.first().map(|payment| kazakhstan_date(payment.paid_at)));
    let observed_on: NaiveDate = days.min().unwrap_or(facts.signed_on);

    let mut evidence = Map::new();
    evidence.insert("contract_amount".into(), amount_text(contract.amount_minor.into()).into());
    evidence.insert("currency".into(), contract.currency.clone().into());
    evidence.insert("contract_vat_included".into(), contract.vat_included.into());
    if let Some(last) = facts.amendments.last() {
        evidence.insert("last_amendment".into(), amendment_ref(last));
    }
    evidence.insert("paid_total".into(), amount_text(on_basis(paid_scaled, contract.vat_included, rate)).into());
    evidence.insert("payments_count".into(), in_currency.len().into());
    evidence.insert("payments_in_other_currency".into(), (payments.len() - in_currency.len()).into());
    evidence.insert("overpaid".into(), overpaid.into());
    if overpaid {
        evidence.insert("excess".into(), amount_text(excess).into());
        if let Some(payment) = crossing {
            evidence.insert("crossing_payment".into(), payment_ref(payment));
        }
    }
    evidence.insert("paid_before_signing".into(), (!early.is_empty()).into());
    evidence.insert("signed_on".into(), facts.signed_on.to_string().into());
    evidence.insert("early_payments".into(), Value::Array(early.iter().map(|payment| payment_ref(payment)).collect()));
    evidence.insert("payments".into(), Value::Array(payments.iter().take(PAYMENTS_LISTED).map(payment_ref).collect()));
    evidence.insert("payments_not_listed".into(), payments.len().saturating_sub(PAYMENTS_LISTED).into());
    evidence.insert(rate_setting.into(), rate.text().into());
    Some(facts.flag(CODE, INDICATOR.severity, observed_on, amount_text(value), evidence))
}
