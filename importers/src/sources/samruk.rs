//! zakup.sk.kz: the procurement portal of Samruk-Kazyna, the national wealth fund, whose
//! subsidiaries are the buyers here (quasi-public organizations). No token is needed.
//!
//! This module is the pure mapping layer; the crawler that fetches pages calls it:
//!
//! - tenders ("adverts"): `POST /eprocsearch/api/external/4dv3rts/filter?size=50&page=N`
//!   ([`ADVERTS_PATH`]) answers a bare JSON array → [`parse_adverts`], [`map_advert`];
//! - lots of a tender: `GET /eprocsearch/api/external/4dv3rts/lots/{tender_id}?size=..&page=..`
//!   ([`lots_path`]). The recorded excerpt shows one item, not the envelope, so
//!   [`parse_lots`] accepts both a bare array and a Spring page → [`map_lot`];
//! - contract cards: `POST /eprocsearch/api/external/contract-cards/filter?size=100&page=N`
//!   ([`CONTRACT_CARDS_PATH`]) answers a Spring page `{content, totalElements, totalPages,
//!   size, number}` → [`parse_spring_page`], [`map_contract_card`].
//!
//! Fields are camelCase; names come as `nameRu`/`nameKk`; timestamps are ISO 8601 with a
//! zone (`2026-08-17T05:00:00Z`); `sumTruNoNds` and `sumNoNds` exclude VAT and are tenge.
//!
//! # Buyers
//!
//! The filter endpoint's adverts name no buyer. A `customer` object (`bin`, `identifier` or
//! `binIin`, with `nameRu`/`nameKk`), as the tender detail endpoint and contract cards carry
//! it, is used when present (also flat `customerBin`/`customerNameRu`/`customerNameKk`);
//! otherwise the buyer is the fund itself, [`samruk_kazyna`]: no BIN, key `samruk-kazyna`. A
//! later run over tender details or contract cards then names the subsidiary.
//!
//! # Codes
//!
//! `tenderType`: a code starting with `OT` is an open tender and one starting with `CP` a
//! request for price offers, as public client code reads them (only `OTP` is in a captured
//! response); see [`method_from_tender_type`]. `advertStatus`/`lotStatus`/`status`: only
//! `PUBLISHED` is in a captured response; the other words are matched by their stems (see
//! [`tender_status_from_code`], [`contract_status_from_code`]). An unknown code is stored as
//! `other` / `published` / `signed` and reported as a repair, never rejected.
//!
//! # Contract cards
//!
//! No public source shows a `contract-cards/filter` response. The field names used here are
//! the camelCase forms of the Samruk-Kazyna contract card columns that public ETL code reads
//! from the fund's own API (`contractNumber`, `systemNumber`, `contractDateTime`,
//! `contractEndDateTime`, `sumNoNds`, `sumNds`, `foreignSum`, `currency`, `currencyRate`,
//! `tenderType`, `advert`, `status`, `supplier`, `customer`, `contractItemsNameRu`/`Kk`,
//! `rescissionDateTime`, …); `fixtures/samruk/README.md` says which fixture is written from
//! them. `sumNoNds` is taken as tenge without VAT (`foreignSum` would be the amount in a
//! foreign currency, which is not stored).

use chrono::{DateTime, Datelike, Utc};
use chrono_tz::Asia::Almaty;
use serde::Serialize;
use serde_json::{Map, Value};

use domain::entities::{ContractStatus, OrganizationKind, ProcurementMethod, TenderStatus};
use domain::ingest::{Amount, ContractRecord, Location, LotRecord, OrgRef, Parsed, Record, Reject, TenderRecord};
use domain::money::parse_currency;
use domain::{Biin, KatoCode, LocalizedName};

use crate::parse;
use crate::parse::{kind_of, parse_json_body};

/// The `source` the store records for zakup.sk.kz rows.
pub const SOURCE: &str = "samruk";

/// The tender search (POST, JSON body with filters; `?size=50&page=N`).
pub const ADVERTS_PATH: &str = "/eprocsearch/api/external/4dv3rts/filter";

/// The contract card search (POST; `?size=100&page=N`).
pub const CONTRACT_CARDS_PATH: &str = "/eprocsearch/api/external/contract-cards/filter";

/// The path of a tender's lots (GET; `?size=..&page=..`).
pub fn lots_path(tender_id: &str) -> String {
    format!("/eprocsearch/api/external/4dv3rts/lots/{tender_id}")
}

/// The buyer of an advert that names none: the fund itself, without a BIN, under the key
/// `samruk-kazyna`.
pub fn samruk_kazyna() -> OrgRef {
    OrgRef {
        bin: None,
        key: Some("samruk-kazyna".into()),
        name: LocalizedName::from_parts(
            Some("АО «Фонд национального благосостояния «Самрук-Қазына»"),
            Some("«Самұрық-Қазына» ұлттық әл-ауқат қоры» АҚ"),
            Some("Samruk-Kazyna JSC"),
        ),
        kind: OrganizationKind::QuasiPublic,
    }
}

/// One page of a Spring Data list.
#[derive(Debug, Clone, PartialEq)]
pub struct SpringPage {
    pub content: Vec<Value>,
    pub total_elements: Option<u64>,
    pub total_pages: u64,
    pub size: Option<u64>,
    /// The 0-based page number.
    pub number: u64,
}

impl SpringPage {
    /// Whether this is the last page (or the list is empty).
    pub fn is_last(&self) -> bool {
        self.number + 1 >= self.total_pages
    }
}

/// Parses the tender search's response: a bare JSON array of adverts. HTML, an empty body,
/// truncated or invalid JSON, and any other JSON shape are refused with the reason.
pub fn parse_adverts(body: &[u8]) -> Result<Vec<Value>, String> {
    match parse_json_body(body)? {
        Value::Array(items) => Ok(items),
        other => Err(format!("the adverts response is {}, not a JSON array", kind_of(&other))),
    }
}

/// Parses a Spring page (`content`, `totalPages`, `number`, optionally `totalElements` and
/// `size`). A body without `content`, `totalPages` or `number` is refused.
pub fn parse_spring_page(body: &[u8]) -> Result<SpringPage, String> {
    let value = parse_json_body(body)?;
    let Value::Object(object) = value else {
        return Err(format!("the page is {}, not a Spring page object", kind_of(&value)));
    };
    spring_page(&object)
}

fn spring_page(object: &Map<String, Value>) -> Result<SpringPage, String> {
    let content = match object.get("content") {
        Some(Value::Array(content)) => content.clone(),
        Some(other) => return Err(format!("`content` is {}, not an array", kind_of(other))),
        None => {
            let keys: Vec<&str> = object.keys().map(String::as_str).take(8).collect();
            return Err(format!("the JSON has no `content` array; its keys are {keys:?}"));
        }
    };
    let count = |field: &str| object.get(field).and_then(Value::as_u64);
    Ok(SpringPage {
        content,
        total_elements: count("totalElements"),
        total_pages: count("totalPages").ok_or("the page has no `totalPages`")?,
        size: count("size"),
        number: count("number").ok_or("the page has no `number`")?,
    })
}

/// Parses a tender's lots, given either as a bare array or as a Spring page's `content`.
pub fn parse_lots(body: &[u8]) -> Result<Vec<Value>, String> {
    match parse_json_body(body)? {
        Value::Array(items) => Ok(items),
        Value::Object(object) => Ok(spring_page(&object)?.content),
        other => Err(format!("the lots response is {}, neither an array nor a Spring page", kind_of(&other))),
    }
}

/// Maps one advert of the tender search to a tender: `id`, `number`, `nameRu`/`nameKk`, the
/// buyer (see the module notes), `tenderType`, `advertStatus`, `sumTruNoNds` (VAT excluded,
/// tenge), `acceptanceBeginDateTime`/`acceptanceEndDateTime` (bids open and close). The filter
/// items carry no publication time, so `publishDate` is used when present and the start of
/// acceptance otherwise; the fiscal year is `year`/`finYear` or that time's year in Almaty.
pub fn map_advert(location: Location, item: &Value) -> Parsed {
    mapped(location, item, "id", |item| {
        let id = item.id.clone().ok_or("the advert has no `id`")?;
        let number = item.text("number").unwrap_or_else(|| id.clone());
        let buyer =
            party(item, "customer", "customerBin", "customerNameRu", "customerNameKk")?.unwrap_or_else(samruk_kazyna);
        let bids_open_at = item.optional_time("acceptanceBeginDateTime")?;
        let bids_close_at = item.optional_time("acceptanceEndDateTime")?;
        let published_at = match item.optional_time("publishDate")? {
            Some(published) => published,
            None => bids_open_at.ok_or("neither `publishDate` nor `acceptanceBeginDateTime` is set")?,
        };
        let amount = Amount::kzt(item.minor("sumTruNoNds")?, false);
        let procurement_method = item.coded("tenderType", method_from_tender_type, ProcurementMethod::Other);
        let status = item.coded("advertStatus", tender_status_from_code, TenderStatus::Published);
        let fiscal_year = item
            .int("year")
            .or_else(|| item.int("finYear"))
            .and_then(|year| i32::try_from(year).ok())
            .unwrap_or_else(|| published_at.with_timezone(&Almaty).year());
        Ok(Record::Tender(TenderRecord {
            upstream_id: id,
            number,
            buyer,
            name: item.name("nameRu", "nameKk"),
            procurement_method,
            status,
            fiscal_year,
            published_at,
            bids_open_at,
            bids_close_at,
            amount,
        }))
    })
}

/// Maps one lot of a tender: `id`, `number`, `nameRu`/`nameKk`, `lotStatus`, `count`,
/// `sumTruNoNds` (VAT excluded, tenge) and the delivery place `deliveryKato.code` (a code that
/// is not 9 digits is dropped with a repair).
pub fn map_lot(tender_id: &str, location: Location, item: &Value) -> Parsed {
    mapped(location, item, "id", |item| {
        let id = item.id.clone().ok_or("the lot has no `id`")?;
        let quantity = item.quantity("count")?;
        let amount = Amount::kzt(item.minor("sumTruNoNds")?, false);
        let status = item.coded("lotStatus", tender_status_from_code, TenderStatus::Published);
        let kato = item.get("deliveryKato").and_then(|kato| parse::text(kato.get("code")));
        let delivery_kato = match kato {
            None => None,
            Some(code) => match code.parse::<KatoCode>() {
                Ok(kato) => Some(kato),
                Err(error) => {
                    item.repair(format!("`deliveryKato.code`: {error}; stored without a delivery place"));
                    None
                }
            },
        };
        Ok(Record::Lot(LotRecord {
            upstream_id: id.clone(),
            tender: tender_id.to_owned(),
            plan_item: None,
            lot_number: item.text("number").unwrap_or(id),
            name: item.name("nameRu", "nameKk"),
            status,
            quantity,
            amount,
            delivery_kato,
        }))
    })
}

/// Maps one contract card (see the module notes on where its field names come from):
/// `contractNumber` (else `systemNumber`), the buyer `customer` (else the fund), the supplier
/// `supplier` (`identifier`/`bin`/`binIin` and names; a supplier without a BIN is keyed by its
/// portal `id`), the tender `advert.id`, `tenderType`, `status` (terminated when
/// `rescissionDateTime` is set), `contractDateTime`, `contractEndDateTime`, `sumNoNds` (else
/// `sumTruNoNds`; tenge without VAT), and the items' names as the description.
pub fn map_contract_card(location: Location, item: &Value) -> Parsed {
    mapped(location, item, "id", |item| {
        let id = item.id.clone().ok_or("the contract card has no `id`")?;
        let number = item
            .text("contractNumber")
            .or_else(|| item.text("systemNumber"))
            .ok_or("neither `contractNumber` nor `systemNumber` is set")?;
        let buyer =
            party(item, "customer", "customerBin", "customerNameRu", "customerNameKk")?.unwrap_or_else(samruk_kazyna);
        let supplier = match party(item, "supplier", "supplierBin", "supplierNameRu", "supplierNameKk")? {
            Some(supplier) => OrgRef { kind: OrganizationKind::Supplier, ..supplier },
            None => match item.get("supplier").and_then(|s| parse::text(s.get("id"))) {
                Some(portal_id) => OrgRef {
                    bin: None,
                    key: Some(format!("samruk-supplier:{portal_id}")),
                    name: object_name(item.get("supplier")),
                    kind: OrganizationKind::Supplier,
                },
                None => return Err("the card names no supplier (`supplier` has no BIN and no `id`)".into()),
            },
        };
        if let Some(code) =
            item.get("currency").and_then(|c| parse::text(c.get("code")).or_else(|| parse::text(Some(c))))
        {
            let (code, repair) = parse::repaired_code(&code);
            parse_currency(&code).map_err(|_| format!("`currency` {code:?} is not a known currency"))?;
            if let Some(repair) = repair {
                item.repair(format!("`currency`: {repair}"));
            }
        }
        let signed_at = item.time("contractDateTime")?;
        let ends_on = item.optional_time("contractEndDateTime")?.map(|end| end.with_timezone(&Almaty).date_naive());
        let field = if item.get("sumNoNds").is_some() { "sumNoNds" } else { "sumTruNoNds" };
        let amount = Amount::kzt(item.minor(field)?, false);
        let procurement_method = item.coded("tenderType", method_from_tender_type, ProcurementMethod::Other);
        let mut status = item.coded("status", contract_status_from_code, ContractStatus::Signed);
        if item.optional_time("rescissionDateTime")?.is_some() {
            status = ContractStatus::Terminated;
        }
        let mut description = item.name("contractItemsNameRu", "contractItemsNameKk");
        if description == LocalizedName::default() {
            description = item.name("nameRu", "nameKk");
        }
        let reference = |object: &str, flat: &str| {
            item.get(object).and_then(|o| parse::text(o.get("id"))).or_else(|| item.text(flat))
        };
        Ok(Record::Contract(ContractRecord {
            upstream_id: id,
            number,
            buyer,
            supplier,
            tender: reference("advert", "advertId"),
            lot: reference("lot", "lotId"),
            award: None,
            procurement_method,
            status,
            fiscal_year: signed_at.with_timezone(&Almaty).year(),
            description,
            signed_at: Some(signed_at),
            ends_on,
            amount,
        }))
    })
}

/// The procurement method a `tenderType` code stands for: `OT…` open tender, `CP…` price
/// offers, and by their words single source (`IOI`, `OI`, `SINGLE`), auction (`AUC`) and
/// commodity exchange (`EXCHANGE`, `TB`).
pub fn method_from_tender_type(code: &str) -> Option<ProcurementMethod> {
    let code = code.trim().to_ascii_uppercase();
    if code.starts_with("OT") {
        Some(ProcurementMethod::OpenTender)
    } else if code.starts_with("CP") {
        Some(ProcurementMethod::PriceQuotation)
    } else if code.starts_with("IOI") || code.starts_with("OI") || code.contains("SINGLE") {
        Some(ProcurementMethod::SingleSource)
    } else if code.contains("AUC") {
        Some(ProcurementMethod::Auction)
    } else if code.contains("EXCHANGE") || code == "TB" {
        Some(ProcurementMethod::CommodityExchange)
    } else {
        None
    }
}

/// The tender status an `advertStatus` or `lotStatus` code stands for, by its stem:
/// `PUBLISH`/`ACCEPT` published; `REVIEW`, `EVALUAT`, `ADMISSION`, `NEGOTIAT`, `DISCUSS`,
/// `OPEN`, `SUSPEND` evaluation; `COMPLETE`, `FINISH`, `SUMMAR`, `CONCLU`, `AWARD` awarded;
/// `FAIL`, `NOT_HELD`, `UNSUCCESS` failed; `CANCEL`, `REVOK` cancelled.
pub fn tender_status_from_code(code: &str) -> Option<TenderStatus> {
    let code = code.trim().to_ascii_uppercase();
    let has = |stem: &str| code.contains(stem);
    if has("FAIL") || has("NOT_HELD") || has("UNSUCCESS") {
        Some(TenderStatus::Failed)
    } else if has("CANCEL") || has("REVOK") {
        Some(TenderStatus::Cancelled)
    } else if has("COMPLETE") || has("FINISH") || has("SUMMAR") || has("CONCLU") || has("AWARD") {
        Some(TenderStatus::Awarded)
    } else if ["REVIEW", "EVALUAT", "ADMISSION", "NEGOTIAT", "DISCUSS", "OPEN", "SUSPEND"].iter().any(|s| has(s)) {
        Some(TenderStatus::Evaluation)
    } else if has("PUBLISH") || has("ACCEPT") {
        Some(TenderStatus::Published)
    } else {
        None
    }
}

/// The contract status a contract card's `status` stands for, by its stem: `RESCI`,
/// `TERMINAT`, `CANCEL` terminated; `EXECUTED`, `COMPLETE`, `FINISH`, `CLOSED` executed;
/// `EXECUT…`/`PROGRESS`/`ACTIVE` in execution; `SIGN`, `CONCLU`, `REGISTER` signed.
pub fn contract_status_from_code(code: &str) -> Option<ContractStatus> {
    let code = code.trim().to_ascii_uppercase();
    let has = |stem: &str| code.contains(stem);
    if has("RESCI") || has("TERMINAT") || has("CANCEL") {
        Some(ContractStatus::Terminated)
    } else if has("EXECUTED") || has("COMPLETE") || has("FINISH") || has("CLOSED") {
        Some(ContractStatus::Executed)
    } else if has("EXECUT") || has("PROGRESS") || has("ACTIVE") {
        Some(ContractStatus::InExecution)
    } else if has("SIGN") || has("CONCLU") || has("REGISTER") {
        Some(ContractStatus::Signed)
    } else {
        None
    }
}

// ---------------------------------------------------------------------------------------------

/// One item being mapped, with the repairs made so far.
struct Item<'a> {
    object: &'a Map<String, Value>,
    location: Location,
    id: Option<String>,
    repairs: Vec<Reject>,
}

fn mapped(
    location: Location,
    value: &Value,
    id_field: &str,
    map: impl FnOnce(&mut Item<'_>) -> Result<Record, String>,
) -> Parsed {
    let Some(object) = value.as_object() else {
        return Parsed::Rejected(Reject::new(location, None, format!("the item is {}, not an object", kind_of(value))));
    };
    let mut item = Item { object, id: parse::text(object.get(id_field)), location, repairs: Vec::new() };
    match map(&mut item) {
        Ok(record) => Parsed::Records { location: item.location, records: vec![record], repairs: item.repairs },
        Err(reason) => Parsed::Rejected(Reject::new(item.location, item.id, reason)),
    }
}

impl Item<'_> {
    fn get(&self, field: &str) -> Option<&Value> {
        parse::field(self.object, field)
    }

    fn text(&self, field: &str) -> Option<String> {
        parse::text(self.get(field))
    }

    fn int(&self, field: &str) -> Option<i64> {
        self.get(field).and_then(Value::as_i64)
    }

    fn name(&self, ru: &str, kk: &str) -> LocalizedName {
        name_parts(self.get(ru), self.get(kk))
    }

    /// A non-negative amount in major units, as exact minor units.
    fn minor(&self, field: &str) -> Result<i64, String> {
        parse::field_minor_units(self.object, field)
    }

    /// A non-negative quantity, as decimal text (`"12.5"`).
    fn quantity(&self, field: &str) -> Result<String, String> {
        parse::field_quantity(self.object, field)
    }

    fn time(&self, field: &str) -> Result<DateTime<Utc>, String> {
        let text = self.text(field).ok_or_else(|| format!("`{field}` is missing"))?;
        parse::timestamp_to_utc(&text).map_err(|error| format!("`{field}`: {error}"))
    }

    fn optional_time(&self, field: &str) -> Result<Option<DateTime<Utc>>, String> {
        match self.text(field) {
            None => Ok(None),
            Some(_) => self.time(field).map(Some),
        }
    }

    fn repair(&mut self, reason: impl Into<String>) {
        self.repairs.push(Reject::new(self.location.clone(), self.id.clone(), reason));
    }

    /// A code resolved by `classify`; a missing or unknown code gives `default` and a repair.
    fn coded<T: Copy + Serialize>(&mut self, field: &str, classify: fn(&str) -> Option<T>, default: T) -> T {
        match self.text(field) {
            Some(code) => classify(&code).unwrap_or_else(|| {
                self.repair(format!(
                    "`{field}` {code:?} is not a code the importer knows; taken as {}",
                    snake(&default)
                ));
                default
            }),
            None => {
                self.repair(format!("`{field}` is missing; taken as {}", snake(&default)));
                default
            }
        }
    }
}

/// A party named by a nested object (`customer`: `bin`, `identifier` or `binIin`, `nameRu`,
/// `nameKk`) or by flat fields. `None` when neither gives a BIN; a BIN that fails its check is
/// an error.
fn party(
    item: &Item<'_>,
    object: &str,
    flat_bin: &str,
    flat_ru: &str,
    flat_kk: &str,
) -> Result<Option<OrgRef>, String> {
    let kind = OrganizationKind::QuasiPublic;
    if let Some(Value::Object(party)) = item.get(object) {
        for field in ["bin", "identifier", "binIin", "iin"] {
            if let Some(text) = parse::text(party.get(field)) {
                let bin: Biin = text.parse().map_err(|error| format!("`{object}.{field}` {text:?}: {error}"))?;
                return Ok(Some(OrgRef::by_bin(bin, object_name(item.get(object)), kind)));
            }
        }
    }
    match item.text(flat_bin) {
        None => Ok(None),
        Some(text) => {
            let bin: Biin = text.parse().map_err(|error| format!("`{flat_bin}` {text:?}: {error}"))?;
            Ok(Some(OrgRef::by_bin(bin, item.name(flat_ru, flat_kk), kind)))
        }
    }
}

fn object_name(object: Option<&Value>) -> LocalizedName {
    match object {
        Some(Value::Object(object)) => name_parts(object.get("nameRu"), object.get("nameKk")),
        _ => LocalizedName::default(),
    }
}

/// Names from `nameRu`/`nameKk`, trimmed; a part without a single letter or digit (the
/// recorded excerpt's `"..."`, a lone dash) is a placeholder and is dropped.
fn name_parts(ru: Option<&Value>, kk: Option<&Value>) -> LocalizedName {
    let part = |value: Option<&Value>| parse::text(value).filter(|text| text.chars().any(char::is_alphanumeric));
    LocalizedName::from_parts(part(ru).as_deref(), part(kk).as_deref(), None)
}

fn snake<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(Value::String(name)) => name,
        _ => "?".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, TimeZone};
    use serde_json::json;

    const ADVERTS_URL: &str = "https://zakup.sk.kz/eprocsearch/api/external/4dv3rts/filter?size=50&page=0";

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!("{}/../fixtures/samruk/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap_or_else(|error| panic!("{path}: {error}"))
    }

    fn at(position: u64) -> Location {
        Location::new(ADVERTS_URL, Some(position))
    }

    fn record(parsed: &Parsed) -> &Record {
        match parsed {
            Parsed::Records { records, .. } if records.len() == 1 => &records[0],
            other => panic!("expected one record, got {other:?}"),
        }
    }

    fn repairs(parsed: &Parsed) -> &[Reject] {
        match parsed {
            Parsed::Records { repairs, .. } => repairs,
            other => panic!("expected records, got {other:?}"),
        }
    }

    fn reason(parsed: &Parsed) -> &str {
        match parsed {
            Parsed::Rejected(reject) => &reject.reason,
            other => panic!("expected a reject, got {other:?}"),
        }
    }

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap()
    }

    #[test]
    fn the_recorded_advert_maps_to_a_tender_of_the_fund() {
        let item: Value = serde_json::from_slice(&fixture("adverts-filter-item-excerpt.json")).unwrap();
        let parsed = map_advert(at(1), &item);
        let Record::Tender(tender) = record(&parsed) else { panic!() };
        assert_eq!((tender.upstream_id.as_str(), tender.number.as_str()), ("1242993", "1242993"));
        assert_eq!(tender.name.ru.as_deref(), Some("Услуги консультационные технические"));
        assert_eq!(tender.name.kk, None, "the excerpt's \"...\" is a placeholder");
        assert_eq!(tender.buyer, samruk_kazyna());
        assert_eq!(tender.buyer.kind, OrganizationKind::QuasiPublic);
        assert_eq!(tender.procurement_method, ProcurementMethod::OpenTender, "OTP");
        assert_eq!(tender.status, TenderStatus::Published);
        assert_eq!(tender.amount, Amount::kzt(1_750_000_000, false));
        assert_eq!(tender.published_at, utc(2026, 8, 6, 5, 0, 0));
        assert_eq!(tender.bids_open_at, Some(utc(2026, 8, 6, 5, 0, 0)));
        assert_eq!(tender.bids_close_at, Some(utc(2026, 8, 17, 5, 0, 0)));
        assert_eq!(tender.fiscal_year, 2026);
        assert!(repairs(&parsed).is_empty());
    }

    #[test]
    fn the_adverts_page_is_a_bare_array_and_maps_each_advert() {
        let items = parse_adverts(&fixture("adverts-filter-page.json")).unwrap();
        assert_eq!(items.len(), 3);
        let parsed: Vec<Parsed> =
            items.iter().enumerate().map(|(index, item)| map_advert(at(index as u64 + 1), item)).collect();
        let Record::Tender(with_customer) = record(&parsed[1]) else { panic!() };
        assert_eq!(with_customer.buyer.bin.as_ref().map(Biin::as_str), Some("081340007778"));
        assert_eq!(with_customer.buyer.name.kk.as_deref(), Some("«Пример Энерго» АҚ"));
        assert_eq!(with_customer.procurement_method, ProcurementMethod::PriceQuotation);
        assert_eq!(with_customer.amount.minor_units, 482_000_050);
        let Record::Tender(cancelled) = record(&parsed[2]) else { panic!() };
        assert_eq!(cancelled.status, TenderStatus::Cancelled);
        assert_eq!(cancelled.published_at, utc(2026, 7, 19, 23, 0, 0), "+05:00 is honoured");
        assert_eq!(
            parse_adverts(b"{\"content\": []}").unwrap_err(),
            "the adverts response is an object, not a JSON array"
        );
        assert!(
            parse_adverts(b"<html><body>Service Unavailable</body></html>")
                .unwrap_err()
                .starts_with("the page is HTML")
        );
        assert!(parse_adverts(b"[{\"id\": 1").unwrap_err().starts_with("the JSON is truncated"));
    }

    #[test]
    fn bad_adverts_are_rejected_and_unknown_codes_repaired() {
        let item: Value = serde_json::from_slice(&fixture("adverts-filter-item-excerpt.json")).unwrap();
        let mut negative = item.clone();
        negative["sumTruNoNds"] = json!(-1);
        assert_eq!(reason(&map_advert(at(1), &negative)), "`sumTruNoNds`: the amount -1 is negative");
        let mut broken = item.clone();
        broken["acceptanceBeginDateTime"] = json!("2026-13-06T05:00:00Z");
        assert!(reason(&map_advert(at(1), &broken)).starts_with("`acceptanceBeginDateTime`: \"2026-13-06T05:00:00Z\""));
        let mut bad_bin = item.clone();
        bad_bin["customer"] = json!({"bin": "081340007779", "nameRu": "x"});
        let rejected = map_advert(at(4), &bad_bin);
        assert!(reason(&rejected).starts_with("`customer.bin` \"081340007779\": check digit"), "{rejected:?}");
        let Parsed::Rejected(reject) = rejected else { unreachable!() };
        assert_eq!((reject.location, reject.record_id.as_deref()), (at(4), Some("1242993")));
        let mut unknown = item;
        unknown["tenderType"] = json!("ZZ");
        unknown["advertStatus"] = json!("ON_MOON");
        let parsed = map_advert(at(1), &unknown);
        let Record::Tender(tender) = record(&parsed) else { panic!() };
        assert_eq!((tender.procurement_method, tender.status), (ProcurementMethod::Other, TenderStatus::Published));
        let reasons: Vec<&str> = repairs(&parsed).iter().map(|r| r.reason.as_str()).collect();
        assert_eq!(
            reasons,
            [
                "`tenderType` \"ZZ\" is not a code the importer knows; taken as other",
                "`advertStatus` \"ON_MOON\" is not a code the importer knows; taken as published"
            ]
        );
    }

    #[test]
    fn the_recorded_lot_maps_under_its_tender() {
        let items = parse_lots(&fixture("advert-lots-page.json")).unwrap();
        let parsed = map_lot("1242993", at(1), &items[0]);
        let Record::Lot(lot) = record(&parsed) else { panic!() };
        assert_eq!(
            (lot.upstream_id.as_str(), lot.tender.as_str(), lot.lot_number.as_str()),
            ("4500680", "1242993", "4500680")
        );
        assert_eq!(lot.name.ru.as_deref(), Some("Услуги консультационные технические"));
        assert_eq!((lot.quantity.as_str(), lot.amount.clone()), ("1", Amount::kzt(1_750_000_000, false)));
        assert_eq!(lot.delivery_kato.as_ref().map(KatoCode::as_str), Some("710000000"));
        assert_eq!(lot.status, TenderStatus::Published);
        let excerpt: Value = serde_json::from_slice(&fixture("advert-lots-item-excerpt.json")).unwrap();
        let spring = serde_json::to_vec(&json!({"content": [excerpt], "totalPages": 1, "number": 0})).unwrap();
        assert_eq!(parse_lots(&spring).unwrap().len(), 1, "a Spring page of lots is read too");
        let mut odd_kato = excerpt;
        odd_kato["deliveryKato"] = json!({"code": "7100", "ru": "?"});
        let parsed = map_lot("1242993", at(1), &odd_kato);
        let Record::Lot(lot) = record(&parsed) else { panic!() };
        assert_eq!(lot.delivery_kato, None);
        assert_eq!(repairs(&parsed).len(), 1);
    }

    #[test]
    fn contract_cards_come_in_a_spring_page_and_map_to_contracts() {
        let page = parse_spring_page(&fixture("contract-cards-page.json")).unwrap();
        assert_eq!((page.content.len(), page.total_elements, page.total_pages, page.number), (3, Some(3), 1, 0));
        assert!(page.is_last());
        let url = "https://zakup.sk.kz/eprocsearch/api/external/contract-cards/filter?size=100&page=0";
        let parsed: Vec<Parsed> = page
            .content
            .iter()
            .enumerate()
            .map(|(index, item)| map_contract_card(Location::new(url, Some(index as u64 + 1)), item))
            .collect();
        let Record::Contract(first) = record(&parsed[0]) else { panic!() };
        assert_eq!((first.upstream_id.as_str(), first.number.as_str()), ("880311", "811-2026/ОТП"));
        assert_eq!(first.buyer.bin.as_ref().map(Biin::as_str), Some("081340007778"));
        assert_eq!(first.buyer.kind, OrganizationKind::QuasiPublic);
        assert_eq!(first.supplier.bin.as_ref().map(Biin::as_str), Some("151340008880"));
        assert_eq!(first.supplier.kind, OrganizationKind::Supplier);
        assert_eq!(first.tender.as_deref(), Some("1242993"));
        assert_eq!(first.procurement_method, ProcurementMethod::OpenTender);
        assert_eq!(first.status, ContractStatus::Signed);
        assert_eq!(first.signed_at, Some(utc(2026, 8, 20, 5, 15, 0)));
        assert_eq!(first.ends_on, NaiveDate::from_ymd_opt(2026, 12, 31));
        assert_eq!(first.amount, Amount::kzt(1_735_000_000, false));
        assert_eq!(first.description.kk.as_deref(), Some("Техникалық консультациялық қызметтер"));
        let Record::Contract(executed) = record(&parsed[1]) else { panic!() };
        assert_eq!(
            (executed.status, executed.procurement_method),
            (ContractStatus::Executed, ProcurementMethod::PriceQuotation)
        );
        assert_eq!(executed.ends_on, NaiveDate::from_ymd_opt(2026, 10, 31), "18:00 UTC is 23:00 in Almaty");
        let Record::Contract(rescinded) = record(&parsed[2]) else { panic!() };
        assert_eq!(rescinded.status, ContractStatus::Terminated);
        assert!(parsed.iter().all(|p| repairs(p).is_empty()));
    }

    #[test]
    fn bad_contract_cards_are_rejected() {
        let page = parse_spring_page(&fixture("contract-cards-page.json")).unwrap();
        let card = page.content[0].clone();
        let mut currency = card.clone();
        currency["currency"] = json!({"code": "ABC"});
        assert_eq!(reason(&map_contract_card(at(1), &currency)), "`currency` \"ABC\" is not a known currency");
        let mut supplier = card.clone();
        supplier["supplier"]["identifier"] = json!("151340008881");
        assert!(reason(&map_contract_card(at(1), &supplier)).starts_with("`supplier.identifier` \"151340008881\""));
        let mut unsigned = card.clone();
        unsigned["contractDateTime"] = Value::Null;
        assert_eq!(reason(&map_contract_card(at(1), &unsigned)), "`contractDateTime` is missing");
        let mut foreign = card;
        foreign["supplier"] = json!({"id": 77, "nameRu": "Example LLC"});
        let Record::Contract(contract) = record(&map_contract_card(at(1), &foreign)).clone() else { panic!() };
        assert_eq!(contract.supplier.key.as_deref(), Some("samruk-supplier:77"));
        assert_eq!(parse_spring_page(b"{\"content\": []}").unwrap_err(), "the page has no `totalPages`");
        assert_eq!(parse_spring_page(b"[]").unwrap_err(), "the page is an array, not a Spring page object");
    }

    #[test]
    fn tender_type_and_status_codes() {
        assert_eq!(method_from_tender_type("OTP"), Some(ProcurementMethod::OpenTender));
        assert_eq!(method_from_tender_type("CPOU"), Some(ProcurementMethod::PriceQuotation));
        assert_eq!(method_from_tender_type("IOI"), Some(ProcurementMethod::SingleSource));
        assert_eq!(method_from_tender_type("XX"), None);
        assert_eq!(tender_status_from_code("PUBLISHED"), Some(TenderStatus::Published));
        assert_eq!(tender_status_from_code("REVIEW_APPLICATIONS"), Some(TenderStatus::Evaluation));
        assert_eq!(tender_status_from_code("NOT_HELD"), Some(TenderStatus::Failed));
        assert_eq!(contract_status_from_code("IN_EXECUTION"), Some(ContractStatus::InExecution));
        assert_eq!(contract_status_from_code("EXECUTED"), Some(ContractStatus::Executed));
        assert_eq!(lots_path("1242993"), "/eprocsearch/api/external/4dv3rts/lots/1242993");
    }
}
