//! KZ01 — Contract with a supplier on the register of unreliable suppliers.
//!
//! A supplier entered in the register of unreliable participants of public procurement (реестр
//! недобросовестных участников государственных закупок, goszakup's `rnu`) may not take part in
//! public procurement while it is on it. A contract signed with it on a day it was on the
//! register is a contract that should not exist.
//!
//! Flagged: every contract whose supplier has a register entry covering the contract's signing
//! day in Kazakhstan: `included_on <= signed_on < excluded_on` (`excluded_on` is the first day off
//! the register; an open entry covers every day from its first). A contract signed on the day the
//! supplier left the register is not flagged.
//!
//! - Subject: the contract. Value: `1`. Observed on: the signing day.
//! - Evidence: the register entry (its first and first-free days, and the reason), the signing day.
//! - Settings: none.
//! - Severity: high: the law forbids the contract outright, and the register is public, so the
//!   buyer could have known.

use domain::red_flags::{NewFlag, Severity};
use serde_json::{Map, Value};

use super::Indicator;
use super::facts::{ContractFacts, Tally, register_entry_ref};
use crate::catalogue::{SettingInfo, Text};
use crate::settings::{Property, SettingsError, unknown};

pub const CODE: &str = "KZ01";

pub const INDICATOR: Indicator = Indicator {
    code: CODE,
    title: Text {
        ru: "Поставщик в реестре недобросовестных участников государственных закупок",
        kk: "Жеткізуші мемлекеттік сатып алуға жосықсыз қатысушылар тізілімінде",
        en: "Supplier on the register of unreliable suppliers",
    },
    description: Text {
        ru: "Договор подписан в день, когда поставщик состоял в реестре недобросовестных участников государственных \
             закупок. День подписания берётся по времени Казахстана; день исключения из реестра уже не считается.",
        kk: "Шартқа жеткізуші мемлекеттік сатып алуға жосықсыз қатысушылар тізілімінде тұрған күні қол қойылған. \
             Қол қойылған күн Қазақстан уақытымен алынады; тізілімнен шығарылған күн есепке алынбайды.",
        en: "The contract was signed on a day its supplier was on the register of unreliable participants in public \
             procurement. The signing day is taken in Kazakhstan time; the day the supplier left the register no \
             longer counts.",
    },
    severity: Severity::High,
    severity_reason: "The law bars a supplier on the register from public procurement, and the register is public: \
                      the contract should not have been signed.",
};

/// KZ01 has no settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings;

impl Settings {
    pub fn read(section: &str, properties: &[Property]) -> Result<Self, SettingsError> {
        match properties.first() {
            Some(property) => Err(unknown(property.line, &property.key, section, &[])),
            None => Ok(Settings),
        }
    }

    pub fn info(&self) -> Vec<SettingInfo> {
        Vec::new()
    }
}

pub fn judge(_settings: &Settings, facts: &ContractFacts<'_>, tally: &mut Tally) -> Option<NewFlag> {
    tally.evaluated();
    let entry = facts.register.iter().find(|entry| entry.covers(facts.signed_on))?;
    let mut evidence = Map::new();
    evidence.insert("signed_on".into(), Value::String(facts.signed_on.to_string()));
    evidence.insert("register_entry".into(), register_entry_ref(entry));
    evidence.insert(
        "rule".into(),
        Value::String("register_entry.included_on <= signed_on < register_entry.excluded_on".into()),
    );
    Some(facts.flag(CODE, INDICATOR.severity, facts.signed_on, "1".into(), evidence))
}
