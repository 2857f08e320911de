//! data.egov.kz: the open data portal. Its registers of state bodies and of quasi-public
//! organizations become organizations.
//!
//! This module is the pure mapping layer; the crawler fetches
//! `GET /api/v4/{dataset}/{version}?apiKey=…&source={"from":0,"size":100}` ([`dataset_path`]),
//! which answers a bare JSON array, and calls [`parse_rows`] and [`map_row`].
//!
//! # Rows
//!
//! Column names differ per dataset; the registers recorded in `fixtures/egov/` have `nameRu`,
//! `nameKk`, `nameEn` and `govAgency` (the portal's opaque agency id). A row becomes an
//! [`OrganizationRecord`]:
//!
//! - `upstream_id`: `govAgency`, else a valid `bin`/`biin`, else `id`; a row with none of them
//!   is rejected;
//! - `bin`: a `bin`, `biin` or `iin` field holding a valid BIN/IIN; one that fails its check
//!   digit is dropped with a repair (the row still identifies an organization by name);
//! - names: `nameRu`/`nameKk`/`nameEn` (also `name_ru`, `name_kk`/`name_kz`, `name_en`),
//!   trimmed silently; a row with no name at all is rejected;
//! - `kind`: quasi-public for a dataset whose name says so (contains `quasi` or `квази`, as
//!   `statistics-by-quasi-public-organizations` does), else a state body;
//! - `region_kato`: a `kato`/`katoCode`/`kato_code` field holding 9 digits.
//!
//! # Swapped names
//!
//! Some rows carry the Kazakh name under `nameEn` and the English one under `nameKk` (e.g.
//! "АФМ РК": `nameEn` "ҚР ҚМА", `nameKk` "FMA RK"). When the "Kazakh" name is in Latin script
//! (Latin letters, no Cyrillic) and the "English" one contains a letter only Kazakh Cyrillic has
//! (ә ғ қ ң ө ұ ү һ і), the two are swapped back and the fix is reported as a repair. Nothing
//! else is guessed: an English name that merely repeats the Russian or Kazakh one is kept.

use serde_json::Value;

use domain::entities::OrganizationKind;
use domain::ingest::{Location, OrganizationRecord, Parsed, Record, Reject};
use domain::{Biin, KatoCode, LocalizedName};

use crate::parse;
use crate::parse::{kind_of, parse_json_body};

/// The `source` the store records for data.egov.kz rows.
pub const SOURCE: &str = "egov";

/// The path of one page of a dataset version: `/api/v4/{dataset}/{version}`. The crawler
/// adds `apiKey` and `source={"from":N,"size":100}`.
pub fn dataset_path(dataset: &str, version: &str) -> String {
    format!("/api/v4/{dataset}/{version}")
}

/// Parses one page of a dataset: a bare JSON array of rows (the `/api/detailed/…` form,
/// `{totalCount, data}`, is accepted too). HTML, an empty body, truncated or invalid JSON,
/// and any other shape are refused with the reason.
pub fn parse_rows(body: &[u8]) -> Result<Vec<Value>, String> {
    match parse_json_body(body)? {
        Value::Array(rows) => Ok(rows),
        Value::Object(mut object) => match object.remove("data") {
            Some(Value::Array(rows)) => Ok(rows),
            _ => {
                let said = parse::text(object.get("message").or_else(|| object.get("error")))
                    .map(|message| format!(" (it says: {message})"))
                    .unwrap_or_default();
                Err(format!("the response is an object without a `data` array, not a JSON array{said}"))
            }
        },
        other => Err(format!("the response is {}, not a JSON array", kind_of(&other))),
    }
}

/// The kind of the organizations a dataset lists: quasi-public when its name says so
/// (contains `quasi` or `квази`, in any case), else a state body.
pub fn dataset_kind(dataset: &str) -> OrganizationKind {
    let name = dataset.to_lowercase();
    if name.contains("quasi") || name.contains("квази") {
        OrganizationKind::QuasiPublic
    } else {
        OrganizationKind::StateBody
    }
}

/// Maps one row of a register to an organization (see the module notes).
pub fn map_row(dataset: &str, location: Location, row: &Value) -> Parsed {
    let Some(object) = row.as_object() else {
        return Parsed::Rejected(Reject::new(location, None, format!("the row is {}, not an object", kind_of(row))));
    };
    let field = |names: &[&str]| names.iter().find_map(|name| parse::text(object.get(*name)));
    let mut repairs = Vec::new();

    let bin_field = ["bin", "biin", "iin"].into_iter().find(|name| parse::text(object.get(*name)).is_some());
    let bin = match bin_field {
        None => None,
        Some(name) => match parse::biin(&object[name]) {
            Ok(bin) => Some(bin),
            Err(error) => {
                repairs.push(format!("`{name}`: {error}; stored without a BIN"));
                None
            }
        },
    };
    let upstream_id = field(&["govAgency"]).or_else(|| bin.as_ref().map(Biin::to_string)).or_else(|| field(&["id"]));
    let record_id = upstream_id.clone();
    let reject = |reason: String| Reject::new(location.clone(), record_id.clone(), reason);
    let Some(upstream_id) = upstream_id else {
        return Parsed::Rejected(reject("the row has no `govAgency`, valid `bin` or `id` to identify it".into()));
    };

    let ru = field(&["nameRu", "name_ru"]);
    let mut kk = field(&["nameKk", "name_kk", "nameKz", "name_kz"]);
    let mut en = field(&["nameEn", "name_en"]);
    if let (Some(kazakh), Some(english)) = (&kk, &en)
        && is_latin_script(kazakh)
        && has_kazakh_letter(english)
    {
        repairs.push(format!(
            "swapped the Kazakh name {english:?} (given as nameEn) and the English name {kazakh:?} (given as nameKk)"
        ));
        std::mem::swap(&mut kk, &mut en);
    }
    let name = LocalizedName::from_parts(ru.as_deref(), kk.as_deref(), en.as_deref());
    if name == LocalizedName::default() {
        return Parsed::Rejected(reject("the row has no name in any language".into()));
    }
    let region_kato = field(&["kato", "katoCode", "kato_code"]).and_then(|code| code.parse::<KatoCode>().ok());

    Parsed::Records {
        records: vec![Record::Organization(OrganizationRecord {
            upstream_id,
            bin,
            name,
            kind: dataset_kind(dataset),
            region_kato,
            registered_on: None,
        })],
        repairs: repairs.into_iter().map(&reject).collect(),
        location: location.clone(),
    }
}

/// Latin letters and no Cyrillic ones ("FMA RK", "KazAID").
fn is_latin_script(text: &str) -> bool {
    text.chars().any(|c| c.is_ascii_alphabetic()) && !text.chars().any(is_cyrillic)
}

fn is_cyrillic(c: char) -> bool {
    matches!(c, '\u{0400}'..='\u{04FF}' | '\u{0500}'..='\u{052F}')
}

/// Whether the text has a letter that Kazakh Cyrillic has and Russian does not.
fn has_kazakh_letter(text: &str) -> bool {
    text.chars().any(|c| "әғқңөұүһіӘҒҚҢӨҰҮҺІ".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    const QUASI: &str = "statistics-by-quasi-public-organizations";
    const CENTRAL: &str = "statistics-by-central-gov-agencies";
    const LOCAL: &str = "statistics-by-local-executive-bodies";

    fn rows(dataset: &str) -> Vec<Value> {
        let path = format!("{}/../fixtures/egov/{dataset}.json", env!("CARGO_MANIFEST_DIR"));
        let body = std::fs::read(&path).unwrap_or_else(|error| panic!("{path}: {error}"));
        parse_rows(&body).unwrap()
    }

    fn map_all(dataset: &str) -> Vec<Parsed> {
        let url = format!("https://data.egov.kz/api/v4/{dataset}/v1");
        rows(dataset)
            .iter()
            .enumerate()
            .map(|(i, row)| map_row(dataset, Location::new(&url, Some(i as u64 + 1)), row))
            .collect()
    }

    fn organizations(parsed: &[Parsed]) -> Vec<(OrganizationRecord, Vec<Reject>)> {
        parsed
            .iter()
            .map(|p| match p {
                Parsed::Records { records, repairs, .. } => match &records[..] {
                    [Record::Organization(organization)] => (organization.clone(), repairs.clone()),
                    other => panic!("{other:?}"),
                },
                Parsed::Rejected(reject) => panic!("rejected: {reject:?}"),
            })
            .collect()
    }

    fn trimmed(name: &LocalizedName) -> bool {
        [&name.ru, &name.kk, &name.en].into_iter().flatten().all(|part| part.trim() == part && !part.is_empty())
    }

    /// Counted independently with python3 over the recorded file: 1,178 rows, no
    /// `govAgency` repeated; no row has a Latin-script `nameKk` together with a Kazakh-letter
    /// `nameEn` (the one Latin `nameKk`, "KazAID", has a Latin `nameEn` too; the 172 `nameEn`
    /// with Kazakh letters have a Cyrillic `nameKk`), so 0 swaps and 0 repairs. 170 rows have
    /// a name with spaces at an end (`nameRu` 126, `nameEn` 132, `nameKk` 145), trimmed
    /// silently.
    #[test]
    fn all_1178_quasi_public_rows_map_without_swaps() {
        let mapped = organizations(&map_all(QUASI));
        assert_eq!(mapped.len(), 1178);
        let repairs: usize = mapped.iter().map(|(_, repairs)| repairs.len()).sum();
        assert_eq!(repairs, 0);
        assert!(mapped.iter().all(|(o, _)| o.kind == OrganizationKind::QuasiPublic && o.bin.is_none()));
        assert!(mapped.iter().all(|(o, _)| trimmed(&o.name)));
        let ids: HashSet<&str> = mapped.iter().map(|(o, _)| o.upstream_id.as_str()).collect();
        assert_eq!(ids.len(), 1178);
        let (first, _) = &mapped[0];
        assert_eq!(first.upstream_id, "AXvs__B9G0QrlYMCb6lE");
        assert_eq!(first.name.ru.as_deref(), Some("АО КазАгроФинанс"));
        assert_eq!(first.name.kk.as_deref(), Some("ҚазАгроҚаржы АҚ"));
        let raw = rows(QUASI);
        let names = ["nameRu", "nameEn", "nameKk"];
        let padded_rows = raw
            .iter()
            .filter(|row| names.iter().any(|name| row[*name].as_str().is_some_and(|text| text != text.trim())))
            .count();
        assert_eq!(padded_rows, 170);
        let padded = raw.iter().position(|row| row["nameRu"].as_str().is_some_and(|n| n != n.trim())).unwrap();
        assert_eq!(mapped[padded].0.name.ru.as_deref(), raw[padded]["nameRu"].as_str().map(str::trim));
    }

    /// Counted independently with python3: 4 of the 32 central bodies have the swap (АФМ РК,
    /// МНЭ РК, МСХ РК, МЭПР РК); 1 row has a padded name; none of the 20 akimats has either.
    #[test]
    fn central_bodies_get_their_swapped_names_fixed_with_a_repair() {
        let mapped = organizations(&map_all(CENTRAL));
        assert_eq!(mapped.len(), 32);
        let fixed: Vec<&str> = mapped
            .iter()
            .filter(|(_, repairs)| !repairs.is_empty())
            .map(|(o, _)| o.name.ru.as_deref().unwrap())
            .collect();
        assert_eq!(fixed, ["АФМ РК", "МНЭ РК", "МСХ РК", "МЭПР РК"]);
        let (afm, repairs) = mapped.iter().find(|(o, _)| o.name.ru.as_deref() == Some("АФМ РК")).unwrap();
        assert_eq!((afm.name.kk.as_deref(), afm.name.en.as_deref()), (Some("ҚР ҚМА"), Some("FMA RK")));
        assert_eq!(
            repairs[0].reason,
            "swapped the Kazakh name \"ҚР ҚМА\" (given as nameEn) and the English name \"FMA RK\" (given as nameKk)"
        );
        assert!(repairs[0].location.input.ends_with("/statistics-by-central-gov-agencies/v1"));
        assert_eq!(repairs[0].record_id.as_deref(), Some(afm.upstream_id.as_str()));
        assert!(mapped.iter().all(|(o, _)| o.kind == OrganizationKind::StateBody && trimmed(&o.name)));
        let (first, _) = &mapped[0];
        assert_eq!(
            (first.upstream_id.as_str(), first.name.ru.as_deref(), first.name.en.as_deref(), first.name.kk.as_deref()),
            ("AXhuI-MwFKT3bahHJGyl", Some("АСПР РК"), Some("Agency"), Some("ҚР СЖРЖА"))
        );

        let akimats = organizations(&map_all(LOCAL));
        assert_eq!(akimats.len(), 20);
        assert!(akimats.iter().all(|(o, repairs)| repairs.is_empty() && o.kind == OrganizationKind::StateBody));
        assert_eq!(akimats[0].0.name.en.as_deref(), Some("Abay r."));
    }

    #[test]
    fn bins_kato_and_bad_rows() {
        let location = Location::new("u", Some(1));
        let row = serde_json::json!({"id": 7, "nameRu": " ТОО Пример ", "bin": "000740000728", "kato": "711210000"});
        let Parsed::Records { records, repairs, .. } = map_row("registry-of-quasi", location.clone(), &row) else {
            panic!()
        };
        let Record::Organization(organization) = &records[0] else { panic!() };
        assert_eq!(
            organization.upstream_id, "000740000728",
            "a valid BIN identifies the row when there is no govAgency"
        );
        assert_eq!(organization.bin.as_ref().map(Biin::as_str), Some("000740000728"));
        assert_eq!(organization.region_kato.as_ref().map(KatoCode::as_str), Some("711210000"));
        assert_eq!(organization.name.ru.as_deref(), Some("ТОО Пример"));
        assert!(repairs.is_empty());

        let row = serde_json::json!({"id": 7, "nameRu": "ТОО Пример", "biin": "000740000729"});
        let Parsed::Records { records, repairs, .. } = map_row("gos-organy", location.clone(), &row) else { panic!() };
        let Record::Organization(organization) = &records[0] else { panic!() };
        assert_eq!((organization.upstream_id.as_str(), organization.bin.clone()), ("7", None));
        assert_eq!(organization.kind, OrganizationKind::StateBody);
        assert!(repairs[0].reason.starts_with("`biin`: BIN \"000740000729\""), "{repairs:?}");

        let nameless = map_row(QUASI, location.clone(), &serde_json::json!({"govAgency": "A", "nameRu": "  "}));
        assert!(matches!(nameless, Parsed::Rejected(ref f) if f.reason == "the row has no name in any language"));
        let anonymous = map_row(QUASI, location.clone(), &serde_json::json!({"nameRu": "X"}));
        assert!(matches!(anonymous, Parsed::Rejected(ref f) if f.reason.contains("no `govAgency`")));
        assert!(matches!(map_row(QUASI, location, &serde_json::json!([1])), Parsed::Rejected(_)));
    }

    #[test]
    fn pages_are_bare_arrays() {
        assert_eq!(parse_rows(b"[]").unwrap(), Vec::<Value>::new());
        assert_eq!(parse_rows(br#"{"totalCount": 1, "data": [{"id": 1}]}"#).unwrap().len(), 1);
        assert_eq!(
            parse_rows(br#"{"message": "apiKey is invalid"}"#).unwrap_err(),
            "the response is an object without a `data` array, not a JSON array (it says: apiKey is invalid)"
        );
        assert!(
            parse_rows(b"<!doctype html><p>maintenance</p>").unwrap_err().starts_with("the page is HTML, not JSON")
        );
        assert!(parse_rows(b"[{\"nameRu\": \"x\"").unwrap_err().starts_with("the JSON is truncated"));
        assert_eq!(dataset_path("gos_uchrezhdeniya", "v2"), "/api/v4/gos_uchrezhdeniya/v2");
        assert_eq!(dataset_kind("Statistics-By-QUASI-Public"), OrganizationKind::QuasiPublic);
        assert_eq!(dataset_kind("реестр квазигосударственного сектора"), OrganizationKind::QuasiPublic);
    }
}
