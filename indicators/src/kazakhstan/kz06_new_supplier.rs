//! KZ06 — Supplier registered shortly before it won.
//!
//! A company set up weeks before it wins a public contract has no record of doing the work,
//! and is a common vehicle for a contract meant for someone in particular (a front company, or
//! one founded by the buyer's own people).
//!
//! The day it won is the award's day (the evaluation protocol) where the contract names its
//! award, else the contract's signing day, both in Kazakhstan. Flagged: a supplier whose
//! registration day (`organization.registered_on`, from the state business register) is at most
//! `window_days` days before that day; registered that very day is 0 days.
//!
//! - Subject: the contract. Value: the days between registration and the win (`45`). Observed
//!   on: the day it won.
//! - Evidence: the supplier's registration day, the day it won and which fact that is (`award` or
//!   `signing`), the days between, `window_days`, and the award where used.
//! - Not applicable: "supplier's registration day unknown", "registered after the day it won"
//!   (a re-registration or an error upstream: worth a look, not a flag).
//! - Severity: medium: a new company may win fairly, especially in an open tender; together
//!   with other flags it weighs more.
//!
//! Settings:
//! - `window_days` = 90: a quarter, the shortest span with a tax return and some trade behind a
//!   company; younger ones rarely have the experience a tender asks for.

use domain::red_flags::{NewFlag, Severity};
use serde_json::Map;

use super::Indicator;
use super::facts::{ContractFacts, Tally, award_ref, kazakhstan_date};
use super::setting;
use super::values::days;
use crate::catalogue::{SettingInfo, Text};
use crate::settings::{Property, SettingsError, unknown};

pub const CODE: &str = "KZ06";

pub const INDICATOR: Indicator = Indicator {
    code: CODE,
    title: Text {
        ru: "Поставщик зарегистрирован незадолго до победы",
        kk: "Жеткізуші жеңіске аз уақыт қалғанда тіркелген",
        en: "Supplier registered shortly before it won",
    },
    description: Text {
        ru: "Поставщик зарегистрирован не более чем за window_days дней до подведения итогов закупки (или до \
             подписания договора, если итоги неизвестны).",
        kk: "Жеткізуші сатып алу қорытындысы шығарылғанға (ол белгісіз болса, шартқа қол қойылғанға) дейін \
             window_days күннен аспайтын уақыт бұрын тіркелген.",
        en: "The supplier was registered at most window_days days before the procurement was awarded (or before the \
             contract was signed, where the award is not known).",
    },
    severity: Severity::Medium,
    severity_reason: "A new company may win fairly, especially in an open tender; the flag weighs more beside others.",
};

const WINDOW_DAYS_DEFAULT: &str = "90";
const WINDOW_DAYS_REASON: &str = "A quarter: the shortest span with a tax return and some trade behind a company; \
                                  younger ones rarely have the experience a purchase asks for.";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub window_days: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings { window_days: 90 }
    }
}

impl Settings {
    pub fn read(section: &str, properties: &[Property]) -> Result<Self, SettingsError> {
        let mut settings = Settings::default();
        for Property { line, key, value } in properties {
            match key.as_str() {
                "window_days" => settings.window_days = days(*line, key, value)?,
                _ => return Err(unknown(*line, key, section, &["window_days"])),
            }
        }
        Ok(settings)
    }

    pub fn info(&self) -> Vec<SettingInfo> {
        vec![setting("window_days", self.window_days.to_string(), WINDOW_DAYS_DEFAULT, WINDOW_DAYS_REASON)]
    }
}

pub fn judge(settings: &Settings, facts: &ContractFacts<'_>, tally: &mut Tally) -> Option<NewFlag> {
    let Some(registered_on) = facts.supplier.registered_on else {
        tally.skip("supplier's registration day unknown");
        return None;
    };
    let (won_on, event) = match facts.award {
        Some(award) => (kazakhstan_date(award.awarded_at), "award"),
        None => (facts.signed_on, "signing"),
    };
    let days = (won_on - registered_on).num_days();
    if days < 0 {
        tally.skip("registered after the day it won");
        return None;
    }
    tally.evaluated();
    if days > i64::from(settings.window_days) {
        return None;
    }
    let mut evidence = Map::new();
    evidence.insert("registered_on".into(), registered_on.to_string().into());
    evidence.insert("won_on".into(), won_on.to_string().into());
    evidence.insert("won_on_is".into(), event.into());
    evidence.insert("days_between".into(), days.into());
    evidence.insert("window_days".into(), settings.window_days.into());
    if let Some(award) = facts.award {
        evidence.insert("award".into(), award_ref(award));
    }
    Some(facts.flag(CODE, INDICATOR.severity, won_on, days.to_string(), evidence))
}
