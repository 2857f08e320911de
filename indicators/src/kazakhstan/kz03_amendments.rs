//! KZ03 — Contract value raised by amendments.
//!
//! The Law "On Public Procurement" lets the parties change a signed contract only in the cases
//! it lists (art. 45 of Law No. 434-V of 2015; art. 18 of Law No. 106-VIII of 2024, in force from
//! 2025), and a rise in the contract's amount only within them. A contract won at one price and
//! then raised by supplementary agreements is a classic way to win low and be paid high.
//!
//! The original value is the first amendment's `previous_amount_minor` (the amount before any
//! amendment); the final value the last amendment's `new_amount_minor`. Flagged: a rise of more
//! than `max_increase` of the original value; a rise of exactly `max_increase` is not flagged.
//!
//! - Subject: the contract. Value: the rise as a share of the original (`0.2500`). Observed on:
//!   the day (in Kazakhstan) of the first amendment that took the rise past `max_increase`.
//! - Evidence: original and final values, the rise in money and as a share, `max_increase`, and
//!   every amendment with its sequence, day, amounts and stated reason.
//! - Not applicable: "no amendments", "amendments in different currencies", "amendments on
//!   different VAT bases", "original amount not positive".
//! - Severity: medium: the law does allow some rises (more of the same goods at the same unit
//!   price, works re-estimated), so a flag asks for the amendment's grounds rather than proving
//!   a breach.
//!
//! Settings:
//! - `max_increase` = 0.10. We found no single share in the law to quote as a general cap, so
//!   the default borrows the de minimis share of EU Directive 2014/24/EU (art. 72(2)): a supply or
//!   service contract may be modified without a new procurement by less than 10% of its initial
//!   value. Beyond it a change is commonly treated as substantial. It is a setting: set it to the
//!   share a given review cares about.

use domain::red_flags::{NewFlag, Severity};
use serde_json::{Map, Value};

use super::Indicator;
use super::facts::{ContractFacts, Tally, amendment_ref, kazakhstan_date};
use super::setting;
use super::values::{Share, amount_text, ratio_text};
use crate::catalogue::{SettingInfo, Text};
use crate::settings::{Property, SettingsError, unknown};

pub const CODE: &str = "KZ03";

pub const INDICATOR: Indicator = Indicator {
    code: CODE,
    title: Text {
        ru: "Сумма договора увеличена дополнительными соглашениями",
        kk: "Шарт сомасы қосымша келісімдермен ұлғайтылған",
        en: "Contract value raised by amendments",
    },
    description: Text {
        ru: "Дополнительные соглашения увеличили сумму договора более чем на долю max_increase от первоначальной: \
             сравнивается сумма до первого соглашения и сумма после последнего.",
        kk: "Қосымша келісімдер шарт сомасын бастапқы сомадан max_increase үлесінен артық ұлғайтқан: бірінші \
             келісімге дейінгі сома мен соңғы келісімнен кейінгі сома салыстырылады.",
        en: "Amendments raised the contract's value by more than the share max_increase of the original value: the \
             amount before the first amendment is compared with the amount after the last.",
    },
    severity: Severity::Medium,
    severity_reason: "The law allows some rises in a contract's amount, so a flag asks for the amendments' grounds \
                      rather than proving a breach.",
};

const MAX_INCREASE_DEFAULT: &str = "0.10";
const MAX_INCREASE_REASON: &str = "The law lets a contract's amount rise only in the cases it lists (art. 45 of Law \
                                   No. 434-V, art. 18 of Law No. 106-VIII) without one general cap to quote; 10% is \
                                   the de minimis share of EU Directive 2014/24/EU art. 72(2) for supply and service \
                                   contracts, a common line between a minor and a substantial change.";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub max_increase: Share,
}

impl Default for Settings {
    fn default() -> Self {
        Settings { max_increase: Share::from_millionths(100_000) }
    }
}

impl Settings {
    pub fn read(section: &str, properties: &[Property]) -> Result<Self, SettingsError> {
        let mut settings = Settings::default();
        for Property { line, key, value } in properties {
            match key.as_str() {
                "max_increase" => settings.max_increase = Share::parse(*line, key, value)?,
                _ => return Err(unknown(*line, key, section, &["max_increase"])),
            }
        }
        Ok(settings)
    }

    pub fn info(&self) -> Vec<SettingInfo> {
        vec![setting("max_increase", self.max_increase.text(), MAX_INCREASE_DEFAULT, MAX_INCREASE_REASON)]
    }
}

pub fn judge(settings: &Settings, facts: &ContractFacts<'_>, tally: &mut Tally) -> Option<NewFlag> {
    let amendments = facts.amendments;
    let (Some(first), Some(last)) = (amendments.first(), amendments.last()) else {
        tally.skip("no amendments");
        return None;
    };
    if amendments.iter().any(|amendment| amendment.currency != first.currency) {
        tally.skip("amendments in different currencies");
        return None;
    }
    if amendments.iter().any(|amendment| amendment.vat_included != first.vat_included) {
        tally.skip("amendments on different VAT bases");
        return None;
    }
    let original = i128::from(first.previous_amount_minor);
    if original <= 0 {
        tally.skip("original amount not positive");
        return None;
    }
    tally.evaluated();
    let over = |amount: i64| {
        let rise = i128::from(amount) - original;
        rise > 0 && settings.max_increase.is_exceeded_by(rise, original)
    };
    if !over(last.new_amount_minor) {
        return None;
    }
    let rise = i128::from(last.new_amount_minor) - original;
    // The rise may have come in steps: the flagged fact is the step that took it past the cap.
    let crossing = amendments.iter().find(|amendment| over(amendment.new_amount_minor)).unwrap_or(last);
    let observed_on = kazakhstan_date(crossing.signed_at);
    let mut evidence = Map::new();
    evidence.insert("original_amount".into(), amount_text(original).into());
    evidence.insert("final_amount".into(), amount_text(last.new_amount_minor.into()).into());
    evidence.insert("currency".into(), first.currency.clone().into());
    evidence.insert("vat_included".into(), first.vat_included.into());
    evidence.insert("increase".into(), amount_text(rise).into());
    evidence.insert("increase_share".into(), ratio_text(rise, original).into());
    evidence.insert("max_increase".into(), settings.max_increase.text().into());
    evidence.insert("crossed_by_amendment".into(), crossing.sequence.into());
    evidence.insert("amendments".into(), Value::Array(amendments.iter().map(amendment_ref).collect()));
    Some(facts.flag(CODE, INDICATOR.severity, observed_on, ratio_text(rise, original), evidence))
}
