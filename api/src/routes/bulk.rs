//! Bulk downloads: each dataset whole, as gzip-compressed CSV or JSON Lines, built once per
//! data version into the bulk store and served from it with `ETag` and byte ranges.

use std::io::{Seek, SeekFrom};
use std::sync::Arc;

use poem::Body;
use poem::http::StatusCode;
use poem_openapi::param::{Header, Path};
use poem_openapi::payload::{Binary, Json};
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use sea_orm::DatabaseConnection;
use tokio::io::AsyncReadExt;

use domain::DomainError;
use domain::cache::ResultCache;
use domain::entities::{contract, decision, lot, organization, payment, plan_item, tender};
use domain::listing::{Filters, Sort};
use domain::names::Language;

use super::ApiTags;
use super::contracts::contracts_out;
use super::decisions::decisions_out;
use super::lots::lots_out;
use super::organizations::Organization;
use super::payments::payments_out;
use super::plan_items::plan_items_out;
use super::tenders::tenders_out;
use crate::bulk_store::{Answer, BulkStore, Conditions, Opened, Version};
use crate::config::Settings;
use crate::error::{ApiError, ApiResult, Problem};
use crate::lists::{CsvRecord, Encoding, export_body, record_chunks};
use crate::middleware::PUBLIC_CACHE_CONTROL;

pub struct BulkApi {
    pub db: DatabaseConnection,
    /// Published findings, as the public sees them.
    pub findings: domain::findings::Findings,
    /// Where the files are built and served from.
    pub store: Arc<BulkStore>,
}

/// The bulk store the settings name: `bulk_dir`, else beside a SQLite database file
/// (`<file>.bulk/`), else a directory of this process's own under the temporary directory.
pub fn store(settings: &Settings) -> BulkStore {
    let names: Vec<&str> = FILES.iter().map(|file| file.name()).collect();
    match (&settings.bulk_dir, settings.database_url.sqlite_file()) {
        (Some(dir), _) => BulkStore::open(dir.clone(), &names),
        (None, Some(database)) => {
            let mut dir = database.into_os_string();
            dir.push(".bulk");
            BulkStore::open(dir.into(), &names)
        }
        (None, None) => BulkStore::temporary(),
    }
}

/// A bulk file: a dataset in a format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum BulkFile {
    #[oai(rename = "organizations.csv.gz")]
    OrganizationsCsv,
    #[oai(rename = "organizations.jsonl.gz")]
    OrganizationsJsonl,
    #[oai(rename = "plan-items.csv.gz")]
    PlanItemsCsv,
    #[oai(rename = "plan-items.jsonl.gz")]
    PlanItemsJsonl,
    #[oai(rename = "tenders.csv.gz")]
    TendersCsv,
    #[oai(rename = "tenders.jsonl.gz")]
    TendersJsonl,
    #[oai(rename = "lots.csv.gz")]
    LotsCsv,
    #[oai(rename = "lots.jsonl.gz")]
    LotsJsonl,
    #[oai(rename = "contracts.csv.gz")]
    ContractsCsv,
    #[oai(rename = "contracts.jsonl.gz")]
    ContractsJsonl,
    #[oai(rename = "payments.csv.gz")]
    PaymentsCsv,
    #[oai(rename = "payments.jsonl.gz")]
    PaymentsJsonl,
    #[oai(rename = "decisions.csv.gz")]
    DecisionsCsv,
    #[oai(rename = "decisions.jsonl.gz")]
    DecisionsJsonl,
    #[oai(rename = "findings.csv.gz")]
    FindingsCsv,
    #[oai(rename = "findings.jsonl.gz")]
    FindingsJsonl,
}

const FILES: [BulkFile; 16] = [
    BulkFile::OrganizationsCsv,
    BulkFile::OrganizationsJsonl,
    BulkFile::PlanItemsCsv,
    BulkFile::PlanItemsJsonl,
    BulkFile::TendersCsv,
    BulkFile::TendersJsonl,
    BulkFile::LotsCsv,
    BulkFile::LotsJsonl,
    BulkFile::ContractsCsv,
    BulkFile::ContractsJsonl,
    BulkFile::PaymentsCsv,
    BulkFile::PaymentsJsonl,
    BulkFile::DecisionsCsv,
    BulkFile::DecisionsJsonl,
    BulkFile::FindingsCsv,
    BulkFile::FindingsJsonl,
];

impl BulkFile {
    fn name(self) -> &'static str {
        match self {
            BulkFile::OrganizationsCsv => "organizations.csv.gz",
            BulkFile::OrganizationsJsonl => "organizations.jsonl.gz",
            BulkFile::PlanItemsCsv => "plan-items.csv.gz",
            BulkFile::PlanItemsJsonl => "plan-items.jsonl.gz",
            BulkFile::TendersCsv => "tenders.csv.gz",
            BulkFile::TendersJsonl => "tenders.jsonl.gz",
            BulkFile::LotsCsv => "lots.csv.gz",
            BulkFile::LotsJsonl => "lots.jsonl.gz",
            BulkFile::ContractsCsv => "contracts.csv.gz",
            BulkFile::ContractsJsonl => "contracts.jsonl.gz",
            BulkFile::PaymentsCsv => "payments.csv.gz",
            BulkFile::PaymentsJsonl => "payments.jsonl.gz",
            BulkFile::DecisionsCsv => "decisions.csv.gz",
            BulkFile::DecisionsJsonl => "decisions.jsonl.gz",
            BulkFile::FindingsCsv => "findings.csv.gz",
            BulkFile::FindingsJsonl => "findings.jsonl.gz",
        }
    }

    fn encoding(self) -> Encoding {
        if self.name().ends_with(".csv.gz") { Encoding::CsvGzip } else { Encoding::JsonLinesGzip }
    }

    /// Whether the file has columns derived from today's date (a finding's `overdue`, its
    /// `answered_on_time` once a due day passes unanswered), which change with no write.
    fn depends_on_the_date(self) -> bool {
        matches!(self, BulkFile::FindingsCsv | BulkFile::FindingsJsonl)
    }
}

/// One downloadable file.
#[derive(Debug, Clone, Object)]
pub struct BulkFileLink {
    /// The file's name: `<dataset>.csv.gz` or `<dataset>.jsonl.gz`.
    pub name: String,
    /// Where to download it.
    pub href: String,
    /// `text/csv` or `application/x-ndjson`, gzip-compressed.
    pub media_type: String,
}

/// The bulk files on offer.
#[derive(Debug, Clone, Object)]
pub struct BulkIndex {
    /// Every dataset in both formats.
    pub files: Vec<BulkFileLink>,
}

#[derive(ApiResponse)]
pub enum BulkIndexResponse {
    /// The files on offer.
    #[oai(status = 200)]
    Ok(Json<BulkIndex>),
}

#[derive(ApiResponse)]
pub enum BulkFileResponse {
    /// The whole file, gzip-compressed.
    #[oai(status = 200, content_type = "application/gzip")]
    Ok(
        Binary<Body>,
        /// `attachment; filename=<name>`, so browsers save the file.
        #[oai(header = "Content-Disposition")]
        String,
        /// A strong tag of the file's bytes (a hash of them): send it in `If-None-Match` to
        /// revalidate, or in `If-Range` to resume a download.
        #[oai(header = "ETag")]
        String,
        /// When the file was built (an HTTP date).
        #[oai(header = "Last-Modified")]
        String,
        /// `bytes`: parts of the file may be asked for with `Range`.
        #[oai(header = "Accept-Ranges")]
        String,
        /// The file's size in bytes.
        #[oai(header = "Content-Length")]
        u64,
        /// `public, max-age=60`: reusable for a minute, then revalidated with the `ETag`.
        #[oai(header = "Cache-Control")]
        String,
    ),
    /// The one byte range asked for with `Range`.
    #[oai(status = 206, content_type = "application/gzip")]
    Partial(
        Binary<Body>,
        /// `bytes <first>-<last>/<size>`: which bytes of the file this is, and the file's size.
        #[oai(header = "Content-Range")]
        String,
        /// `attachment; filename=<name>`, so browsers save the file.
        #[oai(header = "Content-Disposition")]
        String,
        /// The whole file's tag, as on 200.
        #[oai(header = "ETag")]
        String,
        /// When the file was built (an HTTP date).
        #[oai(header = "Last-Modified")]
        String,
        /// `bytes`.
        #[oai(header = "Accept-Ranges")]
        String,
        /// The size of this part in bytes.
        #[oai(header = "Content-Length")]
        u64,
        /// `public, max-age=60`.
        #[oai(header = "Cache-Control")]
        String,
    ),
    /// `If-None-Match` names the current file (or `If-Modified-Since` is not before it was
    /// built): the copy the client has is current. No body.
    #[oai(status = 304)]
    NotModified(
        /// The current file's tag.
        #[oai(header = "ETag")]
        String,
        /// When the file was built (an HTTP date).
        #[oai(header = "Last-Modified")]
        String,
        /// `public, max-age=60`.
        #[oai(header = "Cache-Control")]
        String,
    ),
    /// No range asked for with `Range` starts within the file.
    #[oai(status = 416, content_type = "application/problem+json")]
    RangeNotSatisfiable(
        Json<Problem>,
        /// `bytes */<size>`: the file's size in bytes.
        #[oai(header = "Content-Range")]
        String,
    ),
}

/// A Frictionless Data Package (<https://specs.frictionlessdata.io/data-package/>)
/// describing the CSV bulk files, so that pandas, R and data portals read them typed.
#[derive(Debug, Clone, Object)]
pub struct DataPackage {
    /// `tabular-data-package`.
    pub profile: String,
    /// The package's name.
    pub name: String,
    /// What the package holds.
    pub title: String,
    /// One resource per CSV bulk file.
    pub resources: Vec<DataResource>,
}

/// A CSV bulk file as a Tabular Data Resource.
#[derive(Debug, Clone, Object)]
pub struct DataResource {
    /// The dataset, e.g. `contracts`.
    pub name: String,
    /// The file, relative to this document (`/v1/bulk/`), e.g. `contracts.csv.gz`.
    pub path: String,
    /// `tabular-data-resource`.
    pub profile: String,
    /// `csv`.
    pub format: String,
    /// `gz`: the file is gzip-compressed.
    pub compression: String,
    /// `text/csv`.
    pub mediatype: String,
    /// `utf-8`.
    pub encoding: String,
    /// The columns, in file order.
    pub schema: TableSchema,
}

/// A Table Schema (<https://specs.frictionlessdata.io/table-schema/>).
#[derive(Debug, Clone, Object)]
pub struct TableSchema {
    /// Every column, in file order.
    pub fields: Vec<TableField>,
    /// The column that identifies a row: `id`.
    #[oai(rename = "primaryKey")]
    pub primary_key: String,
    /// Cells that mean "no value": the empty string.
    #[oai(rename = "missingValues")]
    pub missing_values: Vec<String>,
}

/// One column.
#[derive(Debug, Clone, Object)]
pub struct TableField {
    /// The column's name, as in the file's header.
    pub name: String,
    /// `string`, `integer`, `number`, `boolean`, `date` or `datetime`. Codes (BINs, KATO
    /// codes, ENSTRU codes, document numbers, upstream ids) are strings: read as numbers, a
    /// BIN such as `030840708688` loses its leading zero.
    #[oai(rename = "type")]
    pub field_type: String,
    /// For times: `any` (RFC 3339 in UTC, `Z`, with or without fractional seconds).
    #[oai(skip_serializing_if_is_none)]
    pub format: Option<String>,
}

/// The Table Schema type of a bulk CSV column, from what the column holds.
fn field_type(name: &str) -> (&'static str, Option<&'static str>) {
    match name {
        "upstream_id" => ("string", None),
        "id" | "fiscal_year" | "planned_month" | "recommendations" | "accepted" | "declined" => ("integer", None),
        n if n.ends_with("_id") => ("integer", None),
        "amount" | "unit_price" | "quantity" => ("number", None),
        "vat_included" | "delivered_on_time" | "answered_on_time" | "overdue" => ("boolean", None),
        n if n.ends_with("_at") => ("datetime", Some("any")),
        n if n.ends_with("_on") || n == "deliver_by" || n == "answer_due" => ("date", None),
        _ => ("string", None),
    }
}

fn resource(name: &str, file: BulkFile, header: &[&str]) -> DataResource {
    DataResource {
        name: name.to_owned(),
        path: file.name().to_owned(),
        profile: "tabular-data-resource".to_owned(),
        format: "csv".to_owned(),
        compression: "gz".to_owned(),
        mediatype: "text/csv".to_owned(),
        encoding: "utf-8".to_owned(),
        schema: TableSchema {
            fields: header
                .iter()
                .map(|column| {
                    let (field_type, format) = field_type(column);
                    TableField {
                        name: (*column).to_owned(),
                        field_type: field_type.to_owned(),
                        format: format.map(str::to_owned),
                    }
                })
                .collect(),
            primary_key: "id".to_owned(),
            missing_values: vec![String::new()],
        },
    }
}

/// Every CSV bulk file with its columns: one header per dataset, the same the list
/// endpoints' `format=csv` exports write.
fn data_package() -> DataPackage {
    use super::contracts::Contract;
    use super::decisions::Decision;
    use super::findings::Finding;
    use super::lots::Lot;
    use super::payments::Payment;
    use super::plan_items::PlanItem;
    use super::tenders::Tender;
    DataPackage {
        profile: "tabular-data-package".to_owned(),
        name: "scrutiny".to_owned(),
        title: "Scrutiny: public spending in Kazakhstan, whole datasets".to_owned(),
        resources: vec![
            resource("organizations", BulkFile::OrganizationsCsv, Organization::HEADER),
            resource("plan-items", BulkFile::PlanItemsCsv, PlanItem::HEADER),
            resource("tenders", BulkFile::TendersCsv, Tender::HEADER),
            resource("lots", BulkFile::LotsCsv, Lot::HEADER),
            resource("contracts", BulkFile::ContractsCsv, Contract::HEADER),
            resource("payments", BulkFile::PaymentsCsv, Payment::HEADER),
            resource("decisions", BulkFile::DecisionsCsv, Decision::HEADER),
            resource("findings", BulkFile::FindingsCsv, Finding::HEADER),
        ],
    }
}

#[derive(ApiResponse)]
pub enum DataPackageResponse {
    /// The Data Package.
    #[oai(status = 200)]
    Ok(Json<DataPackage>),
}

/// Names in bulk files: every language is kept; CSV's single name column shows Russian.
const LANGUAGE: Language = Language::Ru;

#[OpenApi(tag = "ApiTags::Bulk")]
impl BulkApi {
    /// List bulk files
    ///
    /// Every dataset as a whole file, in gzip-compressed CSV (one name column, Russian first)
    /// and JSON Lines (the list endpoints' items, every language kept, one per line).
    #[oai(path = "/v1/bulk", method = "get", operation_id = "listBulkFiles")]
    async fn index(&self) -> BulkIndexResponse {
        let files = FILES
            .iter()
            .map(|file| BulkFileLink {
                name: file.name().to_owned(),
                href: format!("/v1/bulk/{}", file.name()),
                media_type: match file.encoding() {
                    Encoding::JsonLinesGzip => "application/x-ndjson".to_owned(),
                    _ => "text/csv".to_owned(),
                },
            })
            .collect();
        BulkIndexResponse::Ok(Json(BulkIndex { files }))
    }

    /// Describe the CSV bulk files (Frictionless Data Package)
    ///
    /// Each CSV bulk file as a Tabular Data Resource with its Table Schema: column types, so
    /// that tools read BINs, KATO codes and other codes as text, amounts as numbers and times as
    /// times. The same columns as the list endpoints' `format=csv` exports.
    #[oai(path = "/v1/bulk/datapackage.json", method = "get", operation_id = "getBulkDataPackage")]
    async fn data_package(&self) -> DataPackageResponse {
        DataPackageResponse::Ok(Json(data_package()))
    }

    /// Download a bulk file
    ///
    /// The whole dataset as one gzip-compressed file. Each file is built once per data version
    /// (the change feed's last sequence number; for findings also the day, since whether a
    /// finding is overdue changes with the date) and then served from storage, so repeated
    /// downloads cost no database work: the first request after a write waits for the build,
    /// and requests arriving meanwhile wait for the same build.
    ///
    /// The `ETag` is strong and names the bytes: `If-None-Match` with it gets 304 while the file
    /// is unchanged. A single byte range (`Range: bytes=a-b`, `bytes=a-` or `bytes=-n`) gets
    /// 206 with that part, so an interrupted download resumes (send `If-Range` with the `ETag`
    /// to get the whole new file instead if it changed meanwhile); a range past the end gets
    /// 416. Several ranges in one request get the whole file (200), as does a malformed
    /// `Range`.
    #[oai(path = "/v1/bulk/:file", method = "get", operation_id = "getBulkFile")]
    async fn file(
        &self,
        /// The file, as `/v1/bulk` lists it, e.g. `contracts.csv.gz`.
        #[oai(name = "file")]
        file: Path<BulkFile>,
        /// Tags of copies the client has; 304 when one is the current file's (`*` matches any).
        #[oai(name = "If-None-Match")]
        if_none_match: Header<Option<String>>,
        /// An HTTP date; 304 when the file was built no later. Ignored beside `If-None-Match`.
        #[oai(name = "If-Modified-Since")]
        if_modified_since: Header<Option<String>>,
        /// One byte range, `bytes=<first>-<last>`, `bytes=<first>-` or `bytes=-<suffix length>`.
        #[oai(name = "Range")]
        range: Header<Option<String>>,
        /// The `ETag` (or `Last-Modified` date) of the copy a `Range` continues: when the file
        /// has changed since, the answer is the whole new file rather than a part of it.
        #[oai(name = "If-Range")]
        if_range: Header<Option<String>>,
    ) -> ApiResult<BulkFileResponse> {
        let conditions = Conditions {
            if_none_match: if_none_match.0,
            if_modified_since: if_modified_since.0,
            range: range.0,
            if_range: if_range.0,
        };
        let opened = self.built(file.0).await?;
        respond(file.0, opened, &conditions)
    }
}

impl BulkApi {
    /// The file at the current version, built if it is not yet.
    async fn built(&self, file: BulkFile) -> ApiResult<Opened> {
        // Read before the build starts, so the file holds at least this version's rows.
        let data = ResultCache::data_version(&self.db).await?;
        let day =
            file.depends_on_the_date().then(|| domain::findings::calendar::kazakhstan_date(self.findings.clock.now()));
        let (db, findings) = (self.db.clone(), self.findings.clone());
        self.store
            .file(file.name(), Version { data, day }, move || file_body(file, db, findings))
            .await
            .map_err(|error| ApiError::internal(&error))
    }
}

/// The answer to a download of `opened` under `conditions`.
fn respond(file: BulkFile, mut opened: Opened, conditions: &Conditions) -> ApiResult<BulkFileResponse> {
    let disposition = format!("attachment; filename={}", file.name());
    let last_modified =
        chrono::DateTime::<chrono::Utc>::from(opened.modified).format("%a, %d %b %Y %H:%M:%S GMT").to_string();
    let len = opened.len;
    Ok(match crate::bulk_store::answer(conditions, &opened.etag, opened.modified, len) {
        Answer::NotModified => BulkFileResponse::NotModified(opened.etag, last_modified, PUBLIC_CACHE_CONTROL.into()),
        Answer::Whole => BulkFileResponse::Ok(
            Binary(Body::from_async_read(tokio::fs::File::from_std(opened.file))),
            disposition,
            opened.etag,
            last_modified,
            "bytes".into(),
            len,
            PUBLIC_CACHE_CONTROL.into(),
        ),
        Answer::Part(part) => {
            opened.file.seek(SeekFrom::Start(part.start)).map_err(|error| ApiError::internal(&error))?;
            let size = part.end - part.start;
            BulkFileResponse::Partial(
                Binary(Body::from_async_read(tokio::fs::File::from_std(opened.file).take(size))),
                format!("bytes {}-{}/{len}", part.start, part.end - 1),
                disposition,
                opened.etag,
                last_modified,
                "bytes".into(),
                size,
                PUBLIC_CACHE_CONTROL.into(),
            )
        }
        Answer::Unsatisfiable => BulkFileResponse::RangeNotSatisfiable(
            Json(Problem::new(
                StatusCode::RANGE_NOT_SATISFIABLE,
                "range-not-satisfiable",
                format!("the file is {len} bytes long: no range asked for starts within it"),
            )),
            format!("bytes */{len}"),
        ),
    })
}

/// The file's bytes: every row of its dataset, in id order, encoded and compressed as it is
/// read from the database (a chunk of rows at a time, so memory stays flat).
fn file_body(file: BulkFile, db: DatabaseConnection, findings: domain::findings::Findings) -> Body {
    let (all, sort, encoding) = (Filters::default(), Sort::ID, file.encoding());
    match file {
        BulkFile::OrganizationsCsv | BulkFile::OrganizationsJsonl => export_body(
            record_chunks::<organization::Entity, _, _, _>(db, all, sort, |_db, rows| async move {
                Ok::<_, DomainError>(rows.into_iter().map(|row| Organization::new(row, LANGUAGE)).collect())
            }),
            encoding,
        ),
        BulkFile::PlanItemsCsv | BulkFile::PlanItemsJsonl => export_body(
            record_chunks::<plan_item::Entity, _, _, _>(db, all, sort, |db, rows| async move {
                plan_items_out(&db, rows, LANGUAGE).await
            }),
            encoding,
        ),
        BulkFile::TendersCsv | BulkFile::TendersJsonl => export_body(
            record_chunks::<tender::Entity, _, _, _>(db, all, sort, |db, rows| async move {
                tenders_out(&db, rows, LANGUAGE).await
            }),
            encoding,
        ),
        BulkFile::LotsCsv | BulkFile::LotsJsonl => export_body(
            record_chunks::<lot::Entity, _, _, _>(db, all, sort, |_db, rows| async move {
                Ok::<_, DomainError>(lots_out(rows, LANGUAGE))
            }),
            encoding,
        ),
        BulkFile::ContractsCsv | BulkFile::ContractsJsonl => export_body(
            record_chunks::<contract::Entity, _, _, _>(db, all, sort, |db, rows| async move {
                contracts_out(&db, rows, LANGUAGE).await
            }),
            encoding,
        ),
        BulkFile::PaymentsCsv | BulkFile::PaymentsJsonl => export_body(
            record_chunks::<payment::Entity, _, _, _>(db, all, sort, |db, rows| async move {
                payments_out(&db, rows, LANGUAGE).await
            }),
            encoding,
        ),
        BulkFile::DecisionsCsv | BulkFile::DecisionsJsonl => export_body(
            record_chunks::<decision::Entity, _, _, _>(db, all, sort, |db, rows| async move {
                decisions_out(&db, rows, LANGUAGE).await
            }),
            encoding,
        ),
        BulkFile::FindingsCsv | BulkFile::FindingsJsonl => export_body(
            crate::routes::findings::finding_chunks(
                findings,
                domain::accounts::Actor::Anonymous,
                domain::findings::FindingFilter::default(),
                LANGUAGE,
            ),
            encoding,
        ),
    }
}
