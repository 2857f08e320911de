//! Red flags: where the data suggests a closer look, with the evidence to check it, and the
//! indicators that raise them.

use std::collections::HashMap;
use std::sync::Arc;

use poem::{Body, Request};
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::{Binary, Json};
use poem_openapi::{ApiResponse, Enum, Object, OpenApi, ResponseContent};
use sea_orm::DatabaseConnection;

use domain::DomainError;
use domain::findings::Findings;
use domain::kato::KatoCode;
use domain::names::Language;
use domain::pagination::Limit;
use domain::red_flags::query::{self, Embedding, FlagFilters};
use domain::red_flags::{self as stored, red_flag};
use indicators::catalogue::{IndicatorInfo, Text as CatalogueText};
use indicators::database::DatabaseSettings;

use super::ApiTags;
use crate::dto::Day;
use crate::dto::{LocalizedName, OrganizationRef, Page, Timestamp, preferred_language};
use crate::error::{ApiError, ApiResult};
use crate::lists::{
    CsvRecord, Encoding, Format, check_dates, export_body, organizations_by_id, page_limit, parse_param, wants_csv,
};

pub struct RedFlagsApi {
    pub db: DatabaseConnection,
    pub findings: Findings,
    /// The settings the flags were computed with, for the indicators' descriptions.
    pub settings: Arc<DatabaseSettings>,
}

/// How much a flag weighs: set per indicator (see `GET /v1/indicators` for why).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum Severity {
    Low,
    Medium,
    High,
}

impl From<stored::Severity> for Severity {
    fn from(severity: stored::Severity) -> Self {
        match severity {
            stored::Severity::Low => Severity::Low,
            stored::Severity::Medium => Severity::Medium,
            stored::Severity::High => Severity::High,
        }
    }
}

impl From<Severity> for stored::Severity {
    fn from(severity: Severity) -> Self {
        match severity {
            Severity::Low => stored::Severity::Low,
            Severity::Medium => stored::Severity::Medium,
            Severity::High => stored::Severity::High,
        }
    }
}

/// What a flag is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum FlagSubject {
    /// A contracting process (a tender, or a contract signed without one), by ocid.
    Process,
    /// A buyer, over its processes.
    Buyer,
    /// A procuring entity, over its processes.
    ProcuringEntity,
    /// A bidder or supplier, over its bids and awards.
    Tenderer,
    /// One contract.
    Contract,
}

impl From<stored::SubjectKind> for FlagSubject {
    fn from(kind: stored::SubjectKind) -> Self {
        match kind {
            stored::SubjectKind::Process => FlagSubject::Process,
            stored::SubjectKind::Buyer => FlagSubject::Buyer,
            stored::SubjectKind::ProcuringEntity => FlagSubject::ProcuringEntity,
            stored::SubjectKind::Tenderer => FlagSubject::Tenderer,
            stored::SubjectKind::Contract => FlagSubject::Contract,
        }
    }
}

impl From<FlagSubject> for stored::SubjectKind {
    fn from(kind: FlagSubject) -> Self {
        match kind {
            FlagSubject::Process => stored::SubjectKind::Process,
            FlagSubject::Buyer => stored::SubjectKind::Buyer,
            FlagSubject::ProcuringEntity => stored::SubjectKind::ProcuringEntity,
            FlagSubject::Tenderer => stored::SubjectKind::Tenderer,
            FlagSubject::Contract => stored::SubjectKind::Contract,
        }
    }
}

/// A red flag: a pattern in the data that deserves a closer look, not a finding of wrongdoing.
#[derive(Debug, Clone, Object)]
pub struct RedFlag {
    /// Scrutiny's id for the flag: `/v1/red-flags/{id}`.
    pub id: i64,
    /// The indicator's code (`R003` … cardinal's, `KZ01` … Kazakhstan's own): `/v1/indicators`.
    pub indicator: String,
    /// The indicator's title.
    pub title: LocalizedName,
    /// How much it weighs, set per indicator.
    pub severity: Severity,
    /// What it is about.
    pub subject_kind: FlagSubject,
    /// The ocid, party id or contract key the flag is about.
    pub subject_key: String,
    /// The contracting process, for flags raised over one: `/v1/ocds/records/{ocid}`.
    #[oai(skip_serializing_if_is_none)]
    pub ocid: Option<String>,
    /// The tender: `/v1/tenders/{id}`.
    #[oai(skip_serializing_if_is_none)]
    pub tender_id: Option<i64>,
    /// The contract: `/v1/contracts/{id}`.
    #[oai(skip_serializing_if_is_none)]
    pub contract_id: Option<i64>,
    /// The buyer.
    #[oai(skip_serializing_if_is_none)]
    pub buyer: Option<OrganizationRef>,
    /// The supplier or bidder.
    #[oai(skip_serializing_if_is_none)]
    pub supplier: Option<OrganizationRef>,
    /// The buyer's region (KATO code).
    #[oai(skip_serializing_if_is_none)]
    pub region_kato: Option<String>,
    /// The day of the flagged fact (in Kazakhstan): a tender's publication, a signing, a
    /// payment; for flags over many processes, the day they were computed.
    pub observed_on: Day,
    /// The indicator's value, as decimal text: 1 for a yes/no flag, else the measure (a
    /// difference, a share, a count, an amount in tenge).
    pub value: String,
    /// What a reader needs to check the flag: `facts` (the values compared, the thresholds,
    /// the quartiles and fences) and `records` (each with its `href`).
    pub evidence: serde_json::Value,
    /// When it was first raised.
    pub first_raised_at: Timestamp,
    /// When it was last computed.
    pub computed_at: Timestamp,
    /// When a later computation no longer found it; absent while it stands.
    #[oai(skip_serializing_if_is_none)]
    pub cleared_at: Option<Timestamp>,
    /// Where to read it: `/v1/red-flags/{id}`.
    pub href: String,
}

/// A red flag with the published findings opened from it.
#[derive(Debug, Clone, Object)]
pub struct RedFlagDetail {
    /// The flag itself.
    pub flag: RedFlag,
    /// Published findings opened from this flag (`from_red_flag`), newest first.
    pub findings: Vec<crate::routes::findings::FindingRef>,
}

impl CsvRecord for RedFlag {
    const HEADER: &'static [&'static str] = &[
        "id",
        "indicator",
        "title",
        "severity",
        "subject_kind",
        "subject_key",
        "ocid",
        "tender_id",
        "contract_id",
        "buyer_id",
        "buyer_bin",
        "buyer_name",
        "supplier_id",
        "supplier_bin",
        "supplier_name",
        "region_kato",
        "observed_on",
        "value",
        "evidence",
        "first_raised_at",
        "computed_at",
        "cleared_at",
    ];

    fn cells(&self) -> Vec<String> {
        let org = |org: &Option<OrganizationRef>| match org {
            Some(org) => {
                [org.id.to_string(), org.bin.clone().unwrap_or_default(), org.name.display.clone().unwrap_or_default()]
            }
            None => Default::default(),
        };
        let [buyer_id, buyer_bin, buyer_name] = org(&self.buyer);
        let [supplier_id, supplier_bin, supplier_name] = org(&self.supplier);
        let time = |t: &Timestamp| t.0.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
        vec![
            self.id.to_string(),
            self.indicator.clone(),
            self.title.display.clone().unwrap_or_default(),
            stored::Severity::from(self.severity).as_str().to_owned(),
            self.subject_kind.to_string(),
            self.subject_key.clone(),
            self.ocid.clone().unwrap_or_default(),
            self.tender_id.map(|id| id.to_string()).unwrap_or_default(),
            self.contract_id.map(|id| id.to_string()).unwrap_or_default(),
            buyer_id,
            buyer_bin,
            buyer_name,
            supplier_id,
            supplier_bin,
            supplier_name,
            self.region_kato.clone().unwrap_or_default(),
            self.observed_on.to_string(),
            self.value.clone(),
            self.evidence.to_string(),
            time(&self.first_raised_at),
            time(&self.computed_at),
            self.cleared_at.as_ref().map(time).unwrap_or_default(),
        ]
    }
}

impl std::fmt::Display for FlagSubject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(stored::SubjectKind::from(*self).as_str())
    }
}

fn text(text: CatalogueText, language: Language) -> LocalizedName {
    LocalizedName::new(Some(text.ru.to_owned()), Some(text.kk.to_owned()), Some(text.en.to_owned()), language)
}

/// Presents stored flags: organizations loaded in one query, titles from the catalogue.
pub async fn red_flags_out(
    db: &DatabaseConnection,
    catalogue: &HashMap<&'static str, IndicatorInfo>,
    rows: Vec<red_flag::Model>,
    language: Language,
) -> Result<Vec<RedFlag>, DomainError> {
    let ids: Vec<i64> = rows.iter().flat_map(|row| [row.buyer_id, row.supplier_id]).flatten().collect();
    let organizations = organizations_by_id(db, ids).await?;
    let org = |id: Option<i64>| id.and_then(|id| organizations.get(&id)).map(|o| OrganizationRef::new(o, language));
    Ok(rows
        .into_iter()
        .map(|row| {
            let title = catalogue.get(row.indicator.as_str()).map_or_else(
                || LocalizedName::new(None, None, Some(row.indicator.clone()), language),
                |info| text(info.title, language),
            );
            RedFlag {
                id: row.id,
                title,
                severity: row.severity.into(),
                subject_kind: row.subject_kind.into(),
                subject_key: row.subject_key,
                ocid: row.ocid,
                tender_id: row.tender_id,
                contract_id: row.contract_id,
                buyer: org(row.buyer_id),
                supplier: org(row.supplier_id),
                region_kato: row.region_kato,
                observed_on: row.observed_on.into(),
                value: row.value,
                // Stored by this program as a JSON object; anything else would be a bug.
                evidence: serde_json::from_str(&row.evidence).unwrap_or(serde_json::Value::Null),
                first_raised_at: Timestamp(row.first_raised_at),
                computed_at: Timestamp(row.computed_at),
                cleared_at: row.cleared_at.map(Timestamp),
                href: format!("/v1/red-flags/{}", row.id),
                indicator: row.indicator,
            }
        })
        .collect())
}

impl RedFlagsApi {
    fn catalogue(&self) -> HashMap<&'static str, IndicatorInfo> {
        indicators_catalogue(&self.settings).into_iter().map(|info| (info.code, info)).collect()
    }

    /// The flags a record's detail embeds.
    pub async fn embedded(
        db: &DatabaseConnection,
        settings: &DatabaseSettings,
        record: Embedding,
        language: Language,
    ) -> Result<Vec<RedFlag>, DomainError> {
        let catalogue = indicators_catalogue(settings).into_iter().map(|info| (info.code, info)).collect();
        red_flags_out(db, &catalogue, query::on_record(db, record).await?, language).await
    }
}

/// Every indicator, cardinal's then Kazakhstan's, with the settings in force.
pub fn indicators_catalogue(settings: &DatabaseSettings) -> Vec<IndicatorInfo> {
    let mut all = indicators::catalogue::cardinal(&settings.cardinal);
    all.extend(indicators::kazakhstan::catalogue(&settings.kazakhstan));
    all
}

#[derive(ResponseContent)]
pub enum RedFlagListBody {
    Json(Json<Page<RedFlag>>),
    #[oai(content_type = "text/csv; charset=utf-8")]
    Csv(Binary<Body>),
}

#[derive(ApiResponse)]
pub enum RedFlagListResponse {
    /// A page of red flags as JSON, or every matching flag as CSV.
    #[oai(status = 200)]
    Ok(RedFlagListBody),
}

#[derive(ApiResponse)]
pub enum RedFlagResponse {
    /// The flag, with the findings opened from it.
    #[oai(status = 200)]
    Ok(Json<RedFlagDetail>),
}

/// A setting of an indicator.
#[derive(Debug, Clone, Object)]
pub struct IndicatorSetting {
    /// The property in the settings file.
    pub name: String,
    /// The value in force.
    pub value: String,
    /// The default, when the value is not set.
    pub default: String,
    /// Why the default is what it is.
    pub reason: String,
}

/// A reason an indicator could not judge some records, and how many.
#[derive(Debug, Clone, Object)]
pub struct NotApplicable {
    /// In plain words, e.g. `no bids, no awards or an award not final`.
    pub reason: String,
    /// How many records it could not judge for this reason.
    pub count: u64,
}

/// What an indicator could judge at its last computation.
#[derive(Debug, Clone, Object)]
pub struct IndicatorCoverage {
    /// Records (processes, contracts, buyers) it judged.
    pub evaluated: u64,
    /// Why it could not judge the others.
    pub not_applicable: Vec<NotApplicable>,
    /// Flags standing.
    pub flags: u64,
    /// When it was last computed.
    pub computed_at: Timestamp,
}

/// An indicator: what it looks for, how much its flags weigh, and how it is set.
#[derive(Debug, Clone, Object)]
pub struct Indicator {
    /// `R003` … (OCP cardinal's methodology), `KZ01` … (Kazakhstan's own).
    pub code: String,
    /// `cardinal` or `kazakhstan`.
    pub family: String,
    /// Its title in Russian, Kazakh and English.
    pub title: LocalizedName,
    /// What it flags, in Russian, Kazakh and English.
    pub description: LocalizedName,
    /// How much its flags weigh.
    pub severity: Severity,
    /// Why its flags weigh what they do.
    pub severity_reason: String,
    /// Whether the settings in force run it.
    pub enabled: bool,
    /// Its settings as in force, each with its default and the reason for it.
    pub settings: Vec<IndicatorSetting>,
    /// Absent until the flags were first computed.
    #[oai(skip_serializing_if_is_none)]
    pub coverage: Option<IndicatorCoverage>,
    /// Its flags: `/v1/red-flags?indicator={code}`.
    pub flags_href: String,
}

/// Every indicator.
#[derive(Debug, Clone, Object)]
pub struct IndicatorList {
    /// Cardinal's eleven, then Kazakhstan's eight, by code.
    pub items: Vec<Indicator>,
}

#[derive(ApiResponse)]
pub enum IndicatorListResponse {
    /// Every indicator, cardinal's first.
    #[oai(status = 200)]
    Ok(Json<IndicatorList>),
}

/// Pages of flags for a CSV export, one query each.
fn flag_chunks(
    db: DatabaseConnection,
    catalogue: HashMap<&'static str, IndicatorInfo>,
    filters: FlagFilters,
    language: Language,
) -> impl futures_util::Stream<Item = Result<Vec<RedFlag>, DomainError>> + Send + 'static {
    futures_util::stream::unfold((None::<String>, false), move |(cursor, done)| {
        let (db, catalogue, filters) = (db.clone(), catalogue.clone(), filters.clone());
        async move {
            if done {
                return None;
            }
            let limit = Limit::new(Some(domain::pagination::MAX_LIMIT)).expect("the largest limit is a limit");
            let page = match query::list(&db, &filters, cursor.as_deref(), limit).await {
                Ok(page) => page,
                Err(error) => return Some((Err(error), (None, true))),
            };
            let next = page.next.map(|c| c.encode());
            let done = next.is_none();
            Some((red_flags_out(&db, &catalogue, page.items, language).await, (next, done)))
        }
    })
}

#[OpenApi(tag = "ApiTags::RedFlags")]
impl RedFlagsApi {
    /// List red flags
    ///
    /// Standing flags matching every given filter, oldest first, a page at a time; follow
    /// `links.next` until it is absent. With `format=csv` every matching flag as CSV. A flag
    /// points where to look; it is not a finding of wrongdoing.
    #[oai(path = "/v1/red-flags", method = "get", operation_id = "listRedFlags")]
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        req: &Request,
        /// Only flags of this indicator (`R024`, `KZ01`…; see `/v1/indicators`).
        #[oai(name = "indicator", validator(pattern = r"^(R[0-9]{3}|KZ[0-9]{2})$"))]
        indicator: Query<Option<String>>,
        /// Only flags about this organization, as buyer or as supplier.
        #[oai(name = "organization_id")]
        organization_id: Query<Option<i64>>,
        /// Only flags whose buyer is registered in this territory (KATO code, with its sub-territories).
        #[oai(name = "region", validator(pattern = r"^[0-9]{9}$"))]
        region: Query<Option<String>>,
        /// Only flags whose fact happened on or after this day.
        #[oai(name = "date_from")]
        date_from: Query<Option<Day>>,
        /// Only flags whose fact happened on or before this day.
        #[oai(name = "date_to")]
        date_to: Query<Option<Day>>,
        /// Only flags of this severity.
        #[oai(name = "severity")]
        severity: Query<Option<Severity>>,
        /// Only flags about this kind of subject.
        #[oai(name = "subject_kind")]
        subject_kind: Query<Option<FlagSubject>>,
        /// Only flags on this tender.
        #[oai(name = "tender_id")]
        tender_id: Query<Option<i64>>,
        /// Only flags on this contract.
        #[oai(name = "contract_id")]
        contract_id: Query<Option<i64>>,
        /// Also flags a later computation no longer found (`cleared_at` set).
        #[oai(name = "include_cleared")]
        include_cleared: Query<Option<bool>>,
        /// Page size, 1 to 100; 20 when absent.
        #[oai(name = "limit", validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u64>>,
        /// Where to start: the `cursor` from a previous page's `links.next`. Opaque.
        #[oai(name = "cursor", validator(min_length = 1, max_length = 512, pattern = r"^[A-Za-z0-9_-]+$"))]
        cursor: Query<Option<String>>,
        /// `json` (default) for a page, `csv` for every matching flag.
        #[oai(name = "format")]
        format: Query<Option<Format>>,
    ) -> ApiResult<RedFlagListResponse> {
        check_dates(date_from.0, date_to.0)?;
        let filters = FlagFilters {
            indicator: indicator.0,
            organization_id: organization_id.0,
            region: parse_param::<KatoCode>("region", region.0)?,
            date_from: date_from.0.map(Into::into),
            date_to: date_to.0.map(Into::into),
            severity: severity.0.map(Into::into),
            subject_kind: subject_kind.0.map(Into::into),
            tender_id: tender_id.0,
            contract_id: contract_id.0,
            include_cleared: include_cleared.0.unwrap_or(false),
        };
        let language = preferred_language(req);
        let catalogue = self.catalogue();
        if wants_csv(req, format.0) {
            let chunks = flag_chunks(self.db.clone(), catalogue, filters, language);
            return Ok(RedFlagListResponse::Ok(RedFlagListBody::Csv(Binary(export_body(chunks, Encoding::Csv)))));
        }
        let limit = page_limit(limit.0)?;
        let page = query::list(&self.db, &filters, cursor.0.as_deref(), limit).await?;
        let next = page.next.clone();
        let items = red_flags_out(&self.db, &catalogue, page.items, language).await?;
        let page = domain::pagination::Page { items, total: page.total, next };
        Ok(RedFlagListResponse::Ok(RedFlagListBody::Json(Json(Page::new(req, limit, page, |flag| flag)))))
    }

    /// Get a red flag
    ///
    /// With its evidence, the records involved, and the published findings opened from it.
    #[oai(path = "/v1/red-flags/:id", method = "get", operation_id = "getRedFlag")]
    async fn get(
        &self,
        req: &Request,
        /// The flag's id.
        #[oai(name = "id")]
        id: Path<i64>,
    ) -> ApiResult<RedFlagResponse> {
        let row =
            query::get(&self.db, id.0).await?.ok_or_else(|| ApiError::not_found(&format!("red flag {}", id.0)))?;
        let language = preferred_language(req);
        let flag = red_flags_out(&self.db, &self.catalogue(), vec![row], language).await?.remove(0);
        let findings = crate::routes::findings::FindingRef::all(self.findings.opened_from(flag.id).await?, language);
        Ok(RedFlagResponse::Ok(Json(RedFlagDetail { flag, findings })))
    }

    /// List indicators
    ///
    /// Every red-flag indicator: what it looks for in Russian, Kazakh and English, how much
    /// its flags weigh and why, its settings with their defaults and reasons, and at its last
    /// computation how many records it judged and why it could not judge the others.
    #[oai(path = "/v1/indicators", method = "get", operation_id = "listIndicators")]
    async fn indicators(&self, req: &Request) -> ApiResult<IndicatorListResponse> {
        let language = preferred_language(req);
        let coverage: HashMap<String, stored::indicator_coverage::Model> =
            query::coverage(&self.db).await?.into_iter().map(|row| (row.indicator.clone(), row)).collect();
        let items = indicators_catalogue(&self.settings)
            .into_iter()
            .map(|info| {
                let coverage = coverage.get(info.code).map(|row| {
                    let reasons: std::collections::BTreeMap<String, u64> =
                        serde_json::from_str(&row.not_applicable).unwrap_or_default();
                    IndicatorCoverage {
                        evaluated: row.evaluated.max(0) as u64,
                        not_applicable: reasons
                            .into_iter()
                            .map(|(reason, count)| NotApplicable { reason, count })
                            .collect(),
                        flags: row.flags.max(0) as u64,
                        computed_at: Timestamp(row.computed_at),
                    }
                });
                Indicator {
                    code: info.code.to_owned(),
                    family: if info.cardinal { "cardinal" } else { "kazakhstan" }.to_owned(),
                    title: text(info.title, language),
                    description: text(info.description, language),
                    severity: info.severity.into(),
                    severity_reason: info.severity_reason.to_owned(),
                    enabled: info.enabled,
                    settings: info
                        .settings
                        .into_iter()
                        .map(|s| IndicatorSetting {
                            name: s.name.to_owned(),
                            value: s.value,
                            default: s.default.to_owned(),
                            reason: s.reason.to_owned(),
                        })
                        .collect(),
                    coverage,
                    flags_href: format!("/v1/red-flags?indicator={}", info.code),
                }
            })
            .collect();
        Ok(IndicatorListResponse::Ok(Json(IndicatorList { items })))
    }
}
