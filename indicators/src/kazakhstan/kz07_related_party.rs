//! KZ07 — Quasi-public buyer purchasing within its own group.
//!
//! National holdings, national companies and their subsidiaries (the quasi-public sector) buy
//! under their own rules, which allow purchases from companies of the same group. Such a purchase
//! keeps the money inside the group at a price no competitor tested, and is where costs are
//! moved between companies out of sight of the budget.
//!
//! Flagged: a contract whose buyer is quasi-public (`OrganizationKind::QuasiPublic`) and whose
//! supplier is related to it through `parent_id`: both have the same parent, or one is the
//! other's parent. Deeper relations (grandparents, cousins) are not followed: the register gives
//! the direct parent only.
//!
//! - Subject: the contract. Value: `1`. Observed on: the signing day.
//! - Evidence: the relation (`same_parent`, `supplier_is_buyers_parent`, `buyer_is_suppliers_parent`)
//!   and the parent organization.
//! - Not applicable: "buyer not quasi-public".
//! - Settings: none.
//! - Severity: medium: purchases within a group are often lawful, but they are the ones whose
//!   price nobody outside the group checked.

use domain::entities::OrganizationKind;
use domain::red_flags::{NewFlag, Severity};
use serde_json::Map;

use super::Indicator;
use super::facts::{ContractFacts, Tally, bare_ref, organization_ref};
use crate::catalogue::{SettingInfo, Text};
use crate::settings::{Property, SettingsError, unknown};

pub const CODE: &str = "KZ07";

pub const INDICATOR: Indicator = Indicator {
    code: CODE,
    title: Text {
        ru: "Закупка субъекта квазигосударственного сектора у организации своей группы",
        kk: "Квазимемлекеттік сектор субъектісінің өз тобындағы ұйымнан сатып алуы",
        en: "Quasi-public buyer purchasing within its own group",
    },
    description: Text {
        ru: "Заказчик — субъект квазигосударственного сектора, а поставщик входит в ту же группу: у них общая \
             материнская организация, или одна из них — материнская для другой.",
        kk: "Тапсырыс беруші — квазимемлекеттік сектор субъектісі, ал жеткізуші сол топқа кіреді: олардың бас \
             ұйымы ортақ, немесе біреуі екіншісінің бас ұйымы.",
        en: "The buyer is a quasi-public-sector entity and the supplier belongs to its group: they share a parent \
             organization, or one is the other's parent.",
    },
    severity: Severity::Medium,
    severity_reason: "Purchases within a group are often lawful, but they are the ones whose price nobody outside \
                      the group tested.",
};

/// KZ07 has no settings.
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
    let (buyer, supplier) = (facts.buyer, facts.supplier);
    if buyer.kind != OrganizationKind::QuasiPublic {
        tally.skip("buyer not quasi-public");
        return None;
    }
    tally.evaluated();
    if buyer.id == supplier.id {
        return None;
    }
    let (relation, parent_id) = if buyer.parent_id == Some(supplier.id) {
        ("supplier_is_buyers_parent", supplier.id)
    } else if supplier.parent_id == Some(buyer.id) {
        ("buyer_is_suppliers_parent", buyer.id)
    } else {
        match (buyer.parent_id, supplier.parent_id) {
            (Some(a), Some(b)) if a == b => ("same_parent", a),
            _ => return None,
        }
    };
    let parent = if parent_id == buyer.id {
        organization_ref(buyer)
    } else if parent_id == supplier.id {
        organization_ref(supplier)
    } else {
        facts
            .parents
            .get(&parent_id)
            .map_or_else(|| bare_ref("organization", "organizations", parent_id), organization_ref)
    };
    let mut evidence = Map::new();
    evidence.insert("relation".into(), relation.into());
    evidence.insert("parent".into(), parent);
    evidence.insert("buyer_parent_id".into(), buyer.parent_id.into());
    evidence.insert("supplier_parent_id".into(), supplier.parent_id.into());
    Some(facts.flag(CODE, INDICATOR.severity, facts.signed_on, "1".into(), evidence))
}
