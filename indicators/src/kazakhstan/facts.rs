//! What the indicators judge: one contract with the rows around it, and the pieces every flag
//! is made of: the flag itself, references to the records involved, and coverage tallies.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use domain::entities::{
    award, contract, contract_amendment, lot, organization, payment, plan_item, tender, unreliable_supplier,
};
use domain::money::format_minor_units;
use domain::names::{Language, LocalizedName};
use domain::red_flags::{CoverageRow, NewFlag, Severity, SubjectKind};
use sea_orm::ActiveEnum;
use serde_json::{Map, Value, json};

/// The day in Kazakhstan at an instant: UTC+5 since 1 March 2024, UTC+6 before (domain's
/// calendar holds the time zone; the indicators crate has no time-zone database of its own).
pub fn kazakhstan_date(at: DateTime<Utc>) -> NaiveDate {
    domain::findings::calendar::kazakhstan_date(at)
}

/// One contract and the rows the indicators read beside it.
pub struct ContractFacts<'a> {
    pub contract: &'a contract::Model,
    pub buyer: &'a organization::Model,
    pub supplier: &'a organization::Model,
    pub tender: Option<&'a tender::Model>,
    pub lot: Option<&'a lot::Model>,
    /// The plan item behind the contract's lot.
    pub plan_item: Option<&'a plan_item::Model>,
    pub award: Option<&'a award::Model>,
    /// By sequence.
    pub amendments: &'a [contract_amendment::Model],
    /// By payment time, then id.
    pub payments: &'a [payment::Model],
    /// The supplier's register entries, by first day.
    pub register: &'a [unreliable_supplier::Model],
    /// Organizations the buyer and supplier name as parents, where loaded.
    pub parents: &'a BTreeMap<i64, organization::Model>,
    /// The signing day in Kazakhstan.
    pub signed_on: NaiveDate,
}

impl ContractFacts<'_> {
    /// The ocid of the contract's process: its tender's, or its own for a direct contract.
    pub fn ocid(&self) -> String {
        match self.tender {
            Some(tender) => domain::ocds::ocid(&tender.source, &tender.upstream_id),
            None => domain::ocds::ocid(&self.contract.source, &self.contract.upstream_id),
        }
    }

    /// A flag about this contract, keyed by the contract's upstream identity, so that it is the
    /// same flag on every computation and on a database loaded again from the same sources.
    pub fn flag(
        &self,
        indicator: &str,
        severity: Severity,
        observed_on: NaiveDate,
        value: String,
        evidence: Map<String, Value>,
    ) -> NewFlag {
        let contract = self.contract;
        NewFlag {
            indicator: indicator.to_owned(),
            subject_kind: SubjectKind::Contract,
            subject_key: contract_key(contract),
            ocid: Some(self.ocid()),
            tender_id: contract.tender_id,
            contract_id: Some(contract.id),
            buyer_id: Some(contract.buyer_id),
            supplier_id: Some(contract.supplier_id),
            region_kato: self.buyer.region_kato.clone(),
            observed_on,
            severity,
            value,
            evidence: self.evidence(evidence).to_string(),
        }
    }

    /// The evidence every contract flag opens with (the contract, its parties and its tender),
    /// followed by the indicator's own entries.
    fn evidence(&self, specific: Map<String, Value>) -> Value {
        let mut evidence = Map::new();
        evidence.insert("contract".into(), contract_ref(self.contract, self.signed_on));
        evidence.insert("buyer".into(), organization_ref(self.buyer));
        evidence.insert("supplier".into(), organization_ref(self.supplier));
        if let Some(tender) = self.tender {
            evidence.insert("tender".into(), tender_ref(tender));
        }
        evidence.insert("ocid".into(), Value::String(self.ocid()));
        evidence.extend(specific);
        Value::Object(evidence)
    }
}

/// What a flag about a buyer's pattern of purchases says, beside the buyer.
pub struct BuyerFinding {
    /// Follows the buyer's party id in the subject key, naming which pattern of the buyer's it
    /// is (a fiscal year; a code and a window's first day).
    pub key_suffix: String,
    /// The supplier, when the pattern involves one only.
    pub supplier_id: Option<i64>,
    pub observed_on: NaiveDate,
    pub value: String,
    pub evidence: Map<String, Value>,
}

/// A flag about a buyer, keyed by its party id (its BIN, or its upstream identity): the same
/// on every computation and on a database loaded again from the same sources.
pub fn buyer_flag(indicator: &str, severity: Severity, buyer: &organization::Model, finding: BuyerFinding) -> NewFlag {
    let mut evidence = Map::new();
    evidence.insert("buyer".into(), organization_ref(buyer));
    evidence.extend(finding.evidence);
    NewFlag {
        indicator: indicator.to_owned(),
        subject_kind: SubjectKind::Buyer,
        subject_key: format!("{}:{}", domain::ocds::party_id(buyer), finding.key_suffix),
        ocid: None,
        tender_id: None,
        contract_id: None,
        buyer_id: Some(buyer.id),
        supplier_id: finding.supplier_id,
        region_kato: buyer.region_kato.clone(),
        observed_on: finding.observed_on,
        severity,
        value: finding.value,
        evidence: Value::Object(evidence).to_string(),
    }
}

/// A record of `kind` in `collection` by id alone, for records kept without their rows.
pub fn bare_ref(kind: &str, collection: &str, id: i64) -> Value {
    Value::Object(record(kind, collection, id))
}

/// A contract's subject key: `{source}:{upstream_id}`.
pub fn contract_key(contract: &contract::Model) -> String {
    format!("{}:{}", contract.source, contract.upstream_id)
}

/// `{"type": …, "id": …, "href": …}`: a record a reader can open in the API.
pub fn record(kind: &str, collection: &str, id: i64) -> Map<String, Value> {
    let mut reference = Map::new();
    reference.insert("type".into(), kind.into());
    reference.insert("id".into(), id.into());
    reference.insert("href".into(), format!("/v1/{collection}/{id}").into());
    reference
}

/// An amount as evidence shows it: decimal text in major units, with its currency and VAT basis.
pub fn money(minor_units: i64, currency: &str, vat_included: bool) -> Value {
    json!({ "amount": format_minor_units(minor_units), "currency": currency, "vat_included": vat_included })
}

pub fn contract_ref(contract: &contract::Model, signed_on: NaiveDate) -> Value {
    let mut reference = record("contract", "contracts", contract.id);
    reference.insert("number".into(), contract.number.clone().into());
    reference.insert("signed_on".into(), signed_on.to_string().into());
    reference.insert("procurement_method".into(), contract.procurement_method.to_value().into());
    reference.insert("value".into(), money(contract.amount_minor, &contract.currency, contract.vat_included));
    Value::Object(reference)
}

pub fn organization_ref(organization: &organization::Model) -> Value {
    let mut reference = record("organization", "organizations", organization.id);
    reference.insert("bin".into(), organization.bin.clone().into());
    let name = LocalizedName::from_parts(
        organization.name_ru.as_deref(),
        organization.name_kk.as_deref(),
        organization.name_en.as_deref(),
    );
    reference.insert("name".into(), name.display(Language::Ru).into());
    reference.insert("kind".into(), organization.kind.to_value().into());
    Value::Object(reference)
}

pub fn tender_ref(tender: &tender::Model) -> Value {
    let mut reference = record("tender", "tenders", tender.id);
    reference.insert("number".into(), tender.number.clone().into());
    reference.insert("procurement_method".into(), tender.procurement_method.to_value().into());
    reference.insert("value".into(), money(tender.amount_minor, &tender.currency, tender.vat_included));
    Value::Object(reference)
}

pub fn lot_ref(lot: &lot::Model) -> Value {
    let mut reference = record("lot", "lots", lot.id);
    reference.insert("lot_number".into(), lot.lot_number.clone().into());
    reference.insert("value".into(), money(lot.amount_minor, &lot.currency, lot.vat_included));
    Value::Object(reference)
}

pub fn plan_item_ref(item: &plan_item::Model) -> Value {
    let mut reference = record("plan_item", "plan-items", item.id);
    reference.insert("fiscal_year".into(), item.fiscal_year.into());
    reference.insert("enstru_code".into(), item.enstru_code.clone().into());
    reference.insert("value".into(), money(item.amount_minor, &item.currency, item.vat_included));
    Value::Object(reference)
}

pub fn payment_ref(payment: &payment::Model) -> Value {
    let mut reference = record("payment", "payments", payment.id);
    reference.insert("document_number".into(), payment.document_number.clone().into());
    reference.insert("paid_on".into(), kazakhstan_date(payment.paid_at).to_string().into());
    reference.insert("value".into(), money(payment.amount_minor, &payment.currency, payment.vat_included));
    Value::Object(reference)
}

/// An amendment: shown within its contract, which has the href.
pub fn amendment_ref(amendment: &contract_amendment::Model) -> Value {
    json!({
        "type": "contract_amendment",
        "id": amendment.id,
        "sequence": amendment.sequence,
        "signed_on": kazakhstan_date(amendment.signed_at).to_string(),
        "previous_value": money(amendment.previous_amount_minor, &amendment.currency, amendment.vat_included),
        "new_value": money(amendment.new_amount_minor, &amendment.currency, amendment.vat_included),
        "reason_ru": amendment.reason_ru,
    })
}

/// An award: shown within its contract's tender, which has the href.
pub fn award_ref(award: &award::Model) -> Value {
    json!({
        "type": "award",
        "id": award.id,
        "awarded_on": kazakhstan_date(award.awarded_at).to_string(),
        "value": money(award.amount_minor, &award.currency, award.vat_included),
    })
}

/// An entry of the unreliable-supplier register: shown within its supplier, which has the href.
pub fn register_entry_ref(entry: &unreliable_supplier::Model) -> Value {
    json!({
        "type": "unreliable_supplier",
        "id": entry.id,
        "organization_id": entry.organization_id,
        "included_on": entry.included_on.to_string(),
        "excluded_on": entry.excluded_on.map(|day| day.to_string()),
        "reason_ru": entry.reason_ru,
        "reason_kk": entry.reason_kk,
        "reason_en": entry.reason_en,
        "source": entry.source,
        "upstream_id": entry.upstream_id,
    })
}

/// How many records an indicator judged, and why it could not judge the others.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Tally {
    pub evaluated: u64,
    pub not_applicable: BTreeMap<String, u64>,
}

impl Tally {
    pub fn evaluated(&mut self) {
        self.evaluated += 1;
    }

    pub fn skip(&mut self, reason: &str) {
        self.skip_many(reason, 1);
    }

    pub fn skip_many(&mut self, reason: &str, records: u64) {
        if records > 0 {
            *self.not_applicable.entry(reason.to_owned()).or_default() += records;
        }
    }

    /// Adds another count to this one.
    pub fn merge(&mut self, other: &Tally) {
        self.evaluated += other.evaluated;
        for (reason, count) in &other.not_applicable {
            *self.not_applicable.entry(reason.clone()).or_default() += count;
        }
    }

    pub fn into_row(self, indicator: &str, settings: Value) -> CoverageRow {
        CoverageRow {
            indicator: indicator.to_owned(),
            evaluated: self.evaluated,
            not_applicable: self.not_applicable,
            settings,
        }
    }
}
