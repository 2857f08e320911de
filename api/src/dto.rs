//! Shapes shared by many responses.

use chrono::{DateTime, NaiveDate, Utc};
use poem::Request;
use poem_openapi::{Enum, Object};

use domain::entities::{self, organization};
use domain::money::format_minor_units;
use domain::names::Language;

/// A name in Russian, Kazakh and English; a language the source did not give is absent.
#[derive(Debug, Clone, Object)]
pub struct LocalizedName {
    /// The name in the language the request's `Accept-Language` prefers (kk, ru or en),
    /// falling back to Russian, Kazakh, then English.
    #[oai(skip_serializing_if_is_none)]
    pub display: Option<String>,
    /// Russian.
    #[oai(skip_serializing_if_is_none)]
    pub ru: Option<String>,
    /// Kazakh.
    #[oai(skip_serializing_if_is_none)]
    pub kk: Option<String>,
    /// English.
    #[oai(skip_serializing_if_is_none)]
    pub en: Option<String>,
}

impl LocalizedName {
    pub fn new(ru: Option<String>, kk: Option<String>, en: Option<String>, language: Language) -> Self {
        let name = domain::LocalizedName { ru, kk, en };
        LocalizedName { display: name.display(language).map(str::to_owned), ru: name.ru, kk: name.kk, en: name.en }
    }
}

/// The reader's preferred language from `Accept-Language`: the highest-weighted of kk, ru and
/// en (`kz` is taken as Kazakh, as Kazakhstan's sites often write it); Russian when none is named.
pub fn preferred_language(req: &Request) -> Language {
    let Some(header) = req.headers().get("accept-language").and_then(|v| v.to_str().ok()) else {
        return Language::Ru;
    };
    let mut best: Option<(f32, Language)> = None;
    for part in header.split(',') {
        let mut pieces = part.trim().split(';');
        let tag = pieces.next().unwrap_or_default().trim().to_ascii_lowercase();
        let weight =
            pieces.find_map(|p| p.trim().strip_prefix("q=").and_then(|q| q.parse::<f32>().ok())).unwrap_or(1.0);
        let language = match tag.split('-').next().unwrap_or_default() {
            "kk" | "kz" => Language::Kk,
            "ru" => Language::Ru,
            "en" => Language::En,
            _ => continue,
        };
        if weight > 0.0 && best.is_none_or(|(w, _)| weight > w) {
            best = Some((weight, language));
        }
    }
    best.map_or(Language::Ru, |(_, language)| language)
}

/// Where a record came from, to check it against its source.
#[derive(Debug, Clone, Object)]
pub struct Provenance {
    /// The upstream source: `goszakup`, `samruk` (zakup.sk.kz), `egov` (data.egov.kz), `ocds`,
    /// the source a CSV mapping names (e.g. `treasury`, `csv-payments`), or `demo` for the demo
    /// data set.
    pub source: String,
    /// The record's identifier in that source.
    pub upstream_id: String,
    /// When the record was read from the source (RFC 3339, UTC).
    pub fetched_at: Timestamp,
    /// SHA-256 (hex) of the record as the source delivered it.
    pub content_hash: String,
    /// The import run that last wrote the record: `/v1/imports/{import_run_id}`.
    #[oai(skip_serializing_if_is_none)]
    pub import_run_id: Option<i64>,
}

impl Provenance {
    pub fn new(
        source: String,
        upstream_id: String,
        fetched_at: DateTime<Utc>,
        content_hash: String,
        import_run_id: Option<i64>,
    ) -> Self {
        Provenance { source, upstream_id, fetched_at: fetched_at.into(), content_hash, import_run_id }
    }
}

/// A page of a list: its items, how many match in all, and the link to the next page.
#[derive(Debug, Object)]
pub struct Page<T: poem_openapi::types::ParseFromJSON + poem_openapi::types::ToJSON + Send + Sync> {
    /// The items on this page, in the list's order.
    pub items: Vec<T>,
    /// How many items match the filters, across all pages.
    pub total: u64,
    pub links: Links,
}

impl<T: poem_openapi::types::ParseFromJSON + poem_openapi::types::ToJSON + Send + Sync> Page<T> {
    /// A domain page with its items presented, and `links.next` on the request's path and query.
    pub fn new<D>(
        req: &Request,
        limit: domain::pagination::Limit,
        page: domain::pagination::Page<D>,
        present: impl FnMut(D) -> T,
    ) -> Self {
        let next = page.next.map(|cursor| crate::lists::next_link(req, limit.get(), &cursor));
        Page { items: page.items.into_iter().map(present).collect(), total: page.total, links: Links { next } }
    }
}

/// Links to related pages.
#[derive(Debug, Clone, Object)]
pub struct Links {
    /// The next page, as a path with its query; absent on the last page.
    #[oai(skip_serializing_if_is_none)]
    pub next: Option<String>,
}

/// An exact amount of money.
#[derive(Debug, Clone, Object)]
pub struct Money {
    /// The amount in major units as a decimal string with two places, e.g. `"10344.00"`: exact,
    /// unlike a JSON number.
    pub amount: String,
    /// ISO 4217 currency code.
    pub currency: String,
    /// Whether the amount includes VAT (goszakup amounts do; zakup.sk.kz amounts do not).
    pub vat_included: bool,
    /// Tenge per unit of the currency when the amount was fixed; `"1"` for tenge. `null` when
    /// no rate is known (an OCDS publication in pesos gives none) and on sums of amounts fixed
    /// on different days.
    pub exchange_rate: Option<String>,
}

impl Money {
    pub fn new(minor_units: i64, currency: &str, exchange_rate: &str, vat_included: bool) -> Self {
        Money {
            amount: format_minor_units(minor_units),
            currency: currency.to_owned(),
            vat_included,
            // Importers store 0 where the source gives no rate: a rate of zero tenge is not one.
            exchange_rate: exchange_rate
                .bytes()
                .any(|b| b.is_ascii_digit() && b != b'0')
                .then(|| exchange_rate.to_owned()),
        }
    }

    /// A sum of amounts in one currency and VAT basis.
    pub fn total(minor_units: i64, currency: &str, vat_included: bool) -> Self {
        Money {
            amount: format_minor_units(minor_units),
            currency: currency.to_owned(),
            vat_included,
            exchange_rate: (currency == "KZT").then(|| "1".to_owned()),
        }
    }
}

/// What part of the public sector, if any, an organization belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum OrganizationKind {
    /// A ministry, agency, akimat or other state body or state institution.
    StateBody,
    /// A national holding, national company or other quasi-public-sector entity.
    QuasiPublic,
    /// A company or individual entrepreneur that sells to the public sector.
    Supplier,
    /// Anything else.
    Other,
}

impl From<entities::OrganizationKind> for OrganizationKind {
    fn from(kind: entities::OrganizationKind) -> Self {
        match kind {
            entities::OrganizationKind::StateBody => OrganizationKind::StateBody,
            entities::OrganizationKind::QuasiPublic => OrganizationKind::QuasiPublic,
            entities::OrganizationKind::Supplier => OrganizationKind::Supplier,
            entities::OrganizationKind::Other => OrganizationKind::Other,
        }
    }
}

impl From<OrganizationKind> for entities::OrganizationKind {
    fn from(kind: OrganizationKind) -> Self {
        match kind {
            OrganizationKind::StateBody => entities::OrganizationKind::StateBody,
            OrganizationKind::QuasiPublic => entities::OrganizationKind::QuasiPublic,
            OrganizationKind::Supplier => entities::OrganizationKind::Supplier,
            OrganizationKind::Other => entities::OrganizationKind::Other,
        }
    }
}

/// A reference to an organization, with what a reader needs to recognise it.
#[derive(Debug, Clone, Object)]
pub struct OrganizationRef {
    /// The organization's id; its details are at `/v1/organizations/{id}`.
    pub id: i64,
    /// BIN or IIN.
    #[oai(skip_serializing_if_is_none)]
    pub bin: Option<String>,
    pub name: LocalizedName,
    pub kind: OrganizationKind,
}

impl OrganizationRef {
    pub fn new(model: &organization::Model, language: Language) -> Self {
        OrganizationRef {
            id: model.id,
            bin: model.bin.clone(),
            name: LocalizedName::new(model.name_ru.clone(), model.name_kk.clone(), model.name_en.clone(), language),
            kind: model.kind.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_header(value: &str) -> Request {
        Request::builder().header("accept-language", value).finish()
    }

    #[test]
    fn the_highest_weighted_known_language_wins() {
        assert_eq!(preferred_language(&with_header("kk-KZ,ru;q=0.8")), Language::Kk);
        assert_eq!(preferred_language(&with_header("de, en;q=0.5, ru;q=0.9")), Language::Ru);
        assert_eq!(preferred_language(&with_header("en-US")), Language::En);
        assert_eq!(preferred_language(&with_header("kz")), Language::Kk);
        assert_eq!(preferred_language(&with_header("fr, de")), Language::Ru);
        assert_eq!(preferred_language(&with_header("kk;q=0, en")), Language::En);
        assert_eq!(preferred_language(&Request::default()), Language::Ru);
    }
}

/// An instant as the API writes it in text: RFC 3339 in UTC with `Z`.
pub fn rfc3339(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

/// An instant as the API writes it: RFC 3339 in UTC with `Z` (`2026-12-01T08:34:39.123456Z`).
/// chrono's own `to_rfc3339` writes `+00:00`; this type is what the API promises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timestamp(pub DateTime<Utc>);

impl From<DateTime<Utc>> for Timestamp {
    fn from(time: DateTime<Utc>) -> Self {
        Timestamp(time)
    }
}

impl poem_openapi::types::Type for Timestamp {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> std::borrow::Cow<'static, str> {
        "string_date-time".into()
    }

    fn schema_ref() -> poem_openapi::registry::MetaSchemaRef {
        poem_openapi::registry::MetaSchemaRef::Inline(Box::new(poem_openapi::registry::MetaSchema::new_with_format(
            "string",
            "date-time",
        )))
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        Some(self)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
        Box::new(self.as_raw_value().into_iter())
    }
}

impl poem_openapi::types::ToJSON for Timestamp {
    fn to_json(&self) -> Option<serde_json::Value> {
        Some(serde_json::Value::String(self.0.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)))
    }
}

impl poem_openapi::types::ParseFromJSON for Timestamp {
    fn parse_from_json(value: Option<serde_json::Value>) -> poem_openapi::types::ParseResult<Self> {
        match value.unwrap_or_default() {
            serde_json::Value::String(text) => {
                let parsed = DateTime::parse_from_rfc3339(&text).map_err(poem_openapi::types::ParseError::custom)?;
                Ok(Timestamp(parsed.with_timezone(&Utc)))
            }
            other => Err(poem_openapi::types::ParseError::expected_type(other)),
        }
    }
}

/// A calendar day as the API writes and reads it: `YYYY-MM-DD`, declared with OpenAPI's
/// standard `format: date` (poem-openapi's own `NaiveDate` declares `naive-date`, which no
/// generator knows).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day(pub NaiveDate);

impl From<NaiveDate> for Day {
    fn from(day: NaiveDate) -> Self {
        Day(day)
    }
}

impl From<Day> for NaiveDate {
    fn from(day: Day) -> Self {
        day.0
    }
}

impl std::fmt::Display for Day {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl Day {
    fn parse(text: &str) -> poem_openapi::types::ParseResult<Self> {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").map(Day).map_err(poem_openapi::types::ParseError::custom)
    }
}

impl poem_openapi::types::Type for Day {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> std::borrow::Cow<'static, str> {
        "string_date".into()
    }

    fn schema_ref() -> poem_openapi::registry::MetaSchemaRef {
        poem_openapi::registry::MetaSchemaRef::Inline(Box::new(poem_openapi::registry::MetaSchema::new_with_format(
            "string", "date",
        )))
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        Some(self)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
        Box::new(self.as_raw_value().into_iter())
    }
}

impl poem_openapi::types::ToJSON for Day {
    fn to_json(&self) -> Option<serde_json::Value> {
        Some(serde_json::Value::String(self.0.format("%Y-%m-%d").to_string()))
    }
}

impl poem_openapi::types::ParseFromJSON for Day {
    fn parse_from_json(value: Option<serde_json::Value>) -> poem_openapi::types::ParseResult<Self> {
        match value.unwrap_or_default() {
            serde_json::Value::String(text) => Day::parse(&text),
            other => Err(poem_openapi::types::ParseError::expected_type(other)),
        }
    }
}

impl poem_openapi::types::ParseFromParameter for Day {
    fn parse_from_parameter(value: &str) -> poem_openapi::types::ParseResult<Self> {
        Day::parse(value)
    }
}

/// A text field of a request body: a JSON string and nothing else. (poem-openapi's `String`
/// would take `1` or `true` as the text "1" or "true": a body that breaks its schema must be
/// refused, not stored.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text(pub String);

impl AsRef<str> for Text {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl From<Text> for String {
    fn from(text: Text) -> Self {
        text.0
    }
}

impl poem_openapi::types::Type for Text {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> std::borrow::Cow<'static, str> {
        "string".into()
    }

    fn schema_ref() -> poem_openapi::registry::MetaSchemaRef {
        poem_openapi::registry::MetaSchemaRef::Inline(Box::new(poem_openapi::registry::MetaSchema::new("string")))
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        Some(self)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
        Box::new(self.as_raw_value().into_iter())
    }
}

impl poem_openapi::types::ToJSON for Text {
    fn to_json(&self) -> Option<serde_json::Value> {
        Some(serde_json::Value::String(self.0.clone()))
    }
}

impl poem_openapi::types::ParseFromJSON for Text {
    fn parse_from_json(value: Option<serde_json::Value>) -> poem_openapi::types::ParseResult<Self> {
        match value.unwrap_or_default() {
            serde_json::Value::String(text) => Ok(Text(text)),
            other => Err(poem_openapi::types::ParseError::expected_type(other)),
        }
    }
}

/// A JSON document served byte for byte as stored (an audit entry, whose hash covers its
/// exact bytes), rather than re-serialised.
pub struct RawJson(pub Vec<u8>);

impl poem_openapi::payload::Payload for RawJson {
    const CONTENT_TYPE: &'static str = "application/json";

    fn schema_ref() -> poem_openapi::registry::MetaSchemaRef {
        poem_openapi::registry::MetaSchemaRef::Inline(Box::new(poem_openapi::registry::MetaSchema::new("object")))
    }
}

impl poem::IntoResponse for RawJson {
    fn into_response(self) -> poem::Response {
        use poem_openapi::payload::Payload;
        poem::Response::builder().content_type(Self::CONTENT_TYPE).body(self.0)
    }
}
