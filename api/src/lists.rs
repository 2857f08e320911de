//! What every list endpoint shares: reading filter parameters, sort orders, pages as JSON,
//! and unbounded CSV exports streamed a chunk at a time.

use std::collections::{HashMap, HashSet};

use std::io::Write;

use chrono::NaiveDate;
use flate2::Compression;
use flate2::write::GzEncoder;
use futures_util::{Stream, StreamExt};
use poem::{Body, Request};
use poem_openapi::Enum;
use poem_openapi::types::ToJSON;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect};

use domain::DomainError;
use domain::cache::ResultCache;
use domain::entities::organization;
use domain::listing::{self, Filters, Listable, Sort, SortField};
use domain::money::Money;
use domain::pagination::{Cursor, Limit};

use crate::error::{ApiError, ApiResult};

/// Rows fetched per database round trip while streaming an export.
const EXPORT_CHUNK: u64 = 1_000;

/// How a list is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum Format {
    /// One page as JSON (the default).
    Json,
    /// Every matching row as CSV, streamed without a row cap; `limit` and `cursor` are ignored.
    Csv,
}

/// Orders for lists that have a date and an amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum DateAmountSort {
    /// By id, ascending (the default).
    #[oai(rename = "id")]
    Id,
    /// Oldest first.
    #[oai(rename = "date")]
    Date,
    /// Newest first.
    #[oai(rename = "-date")]
    DateDesc,
    /// Smallest amount first.
    #[oai(rename = "amount")]
    Amount,
    /// Largest amount first.
    #[oai(rename = "-amount")]
    AmountDesc,
}

impl From<DateAmountSort> for Sort {
    fn from(sort: DateAmountSort) -> Self {
        let (field, descending) = match sort {
            DateAmountSort::Id => (SortField::Id, false),
            DateAmountSort::Date => (SortField::Date, false),
            DateAmountSort::DateDesc => (SortField::Date, true),
            DateAmountSort::Amount => (SortField::Amount, false),
            DateAmountSort::AmountDesc => (SortField::Amount, true),
        };
        Sort { field, descending }
    }
}

/// Orders for lists that have an amount but no date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum AmountSort {
    /// By id, ascending (the default).
    #[oai(rename = "id")]
    Id,
    /// Smallest amount first.
    #[oai(rename = "amount")]
    Amount,
    /// Largest amount first.
    #[oai(rename = "-amount")]
    AmountDesc,
}

impl From<AmountSort> for Sort {
    fn from(sort: AmountSort) -> Self {
        match sort {
            AmountSort::Id => Sort::ID,
            AmountSort::Amount => Sort { field: SortField::Amount, descending: false },
            AmountSort::AmountDesc => Sort { field: SortField::Amount, descending: true },
        }
    }
}

/// Orders for lists that have a date but no amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum DateSort {
    /// By id, ascending (the default).
    #[oai(rename = "id")]
    Id,
    /// Oldest first.
    #[oai(rename = "date")]
    Date,
    /// Newest first.
    #[oai(rename = "-date")]
    DateDesc,
}

impl From<DateSort> for Sort {
    fn from(sort: DateSort) -> Self {
        match sort {
            DateSort::Id => Sort::ID,
            DateSort::Date => Sort { field: SortField::Date, descending: false },
            DateSort::DateDesc => Sort { field: SortField::Date, descending: true },
        }
    }
}

/// Parses an optional parameter, naming it in the 400 problem when it does not parse.
pub fn parse_param<T>(name: &str, value: Option<String>) -> ApiResult<Option<T>>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    value.map(|text| text.parse::<T>().map_err(|e| ApiError::invalid_param(name, e.to_string()))).transpose()
}

/// Parses a decimal amount in major units (e.g. `1500000.50`) into minor units.
pub fn parse_amount(name: &str, value: Option<String>) -> ApiResult<Option<i64>> {
    value
        .map(|text| Money::minor_units_from_str(&text).map_err(|e| ApiError::invalid_param(name, e.to_string())))
        .transpose()
}

/// Checks the order of the ranges a filter set holds; every list and aggregate calls it.
pub fn check_ranges(filters: &Filters) -> ApiResult<()> {
    check_dates(filters.date_from, filters.date_to)?;
    check_amounts(filters.amount_min, filters.amount_max)
}

/// The days a date filter accepts: every date the data can hold, and within what both
/// engines store and compare alike (PostgreSQL refuses a year before 4713 BC; SQLite compares
/// dates as text, where a five-digit year sorts wrong).
pub const FIRST_DAY: NaiveDate = NaiveDate::from_ymd_opt(1900, 1, 1).expect("a day");
pub const LAST_DAY: NaiveDate = NaiveDate::from_ymd_opt(2100, 12, 31).expect("a day");

/// Checks that a date filter is within [`FIRST_DAY`] and [`LAST_DAY`].
pub fn check_date(name: &str, date: Option<impl Into<NaiveDate>>) -> ApiResult<()> {
    let date: Option<NaiveDate> = date.map(Into::into);
    match date {
        Some(date) if !(FIRST_DAY..=LAST_DAY).contains(&date) => Err(ApiError::invalid_param(
            name,
            format!("{date} is out of range: give a day between {FIRST_DAY} and {LAST_DAY}"),
        )),
        _ => Ok(()),
    }
}

/// Checks a date range's bounds and order.
pub fn check_dates(from: Option<impl Into<NaiveDate>>, to: Option<impl Into<NaiveDate>>) -> ApiResult<()> {
    let (from, to): (Option<NaiveDate>, Option<NaiveDate>) = (from.map(Into::into), to.map(Into::into));
    check_date("date_from", from)?;
    check_date("date_to", to)?;
    match (from, to) {
        (Some(from), Some(to)) if from > to => {
            Err(ApiError::invalid_param("date_to", format!("{to} is before date_from {from}")))
        }
        _ => Ok(()),
    }
}

/// Checks an amount range's order.
fn check_amounts(min: Option<i64>, max: Option<i64>) -> ApiResult<()> {
    match (min, max) {
        (Some(min), Some(max)) if min > max => {
            Err(ApiError::invalid_param("amount_max", "is smaller than amount_min".to_owned()))
        }
        _ => Ok(()),
    }
}

/// Whether the client asked for CSV, by `format=csv` or by an `Accept` header that prefers
/// `text/csv` to JSON.
pub fn wants_csv(req: &Request, format: Option<Format>) -> bool {
    match format {
        Some(format) => format == Format::Csv,
        None => {
            req.headers().get("accept").and_then(|v| v.to_str().ok()).is_some_and(|accept| {
                accept.split(',').next().is_some_and(|first| first.trim().starts_with("text/csv"))
            })
        }
    }
}

/// A page request: the order, the size, and where to start.
pub struct PageRequest {
    pub sort: Sort,
    pub limit: Limit,
    pub after: Option<Cursor>,
}

/// The `limit` parameter as a page size, or 400 naming it.
pub fn page_limit(limit: Option<u64>) -> ApiResult<Limit> {
    Limit::new(limit).map_err(|reason| ApiError::invalid_param("limit", reason))
}

impl PageRequest {
    pub fn new(sort: Sort, limit: Option<u64>, cursor: Option<String>) -> ApiResult<PageRequest> {
        let limit = page_limit(limit)?;
        let after = cursor.as_deref().map(|token| Cursor::decode(token, sort.name())).transpose()?;
        Ok(PageRequest { sort, limit, after })
    }

    /// The `links.next` path: this request's path and query with the cursor replaced.
    pub fn next_link(&self, req: &Request, next: Option<Cursor>) -> Option<String> {
        Some(next_link(req, self.limit.get(), &next?))
    }
}

/// The `links.next` path: the request's path and query with `limit` and `cursor` replaced.
pub fn next_link(req: &Request, limit: u64, next: &Cursor) -> String {
    {
        let cursor = next.encode();
        let mut query: Vec<String> = req
            .uri()
            .query()
            .unwrap_or_default()
            .split('&')
            .filter(|pair| !pair.is_empty() && !pair.starts_with("cursor=") && !pair.starts_with("limit="))
            .map(str::to_owned)
            .collect();
        query.push(format!("limit={limit}"));
        query.push(format!("cursor={cursor}"));
        format!("{}?{}", req.uri().path(), query.join("&"))
    }
}

/// Loads the organizations a page refers to, in one query.
pub async fn organizations_by_id(
    db: &DatabaseConnection,
    ids: impl IntoIterator<Item = i64>,
) -> Result<HashMap<i64, organization::Model>, DomainError> {
    let ids: HashSet<i64> = ids.into_iter().collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = organization::Entity::find().filter(organization::Column::Id.is_in(ids)).all(db).await?;
    Ok(rows.into_iter().map(|row| (row.id, row)).collect())
}

/// A row of a CSV export.
pub trait CsvRecord {
    /// Column names, in order.
    const HEADER: &'static [&'static str];
    /// The row's cells, in header order.
    fn cells(&self) -> Vec<String>;
}

/// Neutralises a cell a spreadsheet would run as a formula (one that starts with `=`, `+`,
/// `-`, `@`, tab or carriage return) by prefixing a single quote. Plain numbers such as
/// `-150.00` are left alone: they are data, not formulas.
pub fn neutralise(cell: String) -> String {
    let dangerous = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let plain_number = {
        let digits = cell.strip_prefix('-').unwrap_or(&cell);
        !digits.is_empty()
            && digits.bytes().all(|b| b.is_ascii_digit() || b == b'.')
            && digits.matches('.').count() <= 1
    };
    if dangerous && !plain_number { format!("'{cell}") } else { cell }
}

fn csv_bytes<R: CsvRecord>(rows: &[R], with_header: bool) -> Result<Vec<u8>, csv::Error> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    if with_header {
        writer.write_record(R::HEADER)?;
    }
    for row in rows {
        writer.write_record(row.cells().into_iter().map(neutralise))?;
    }
    writer.into_inner().map_err(|e| csv::Error::from(e.into_error()))
}

fn json_lines<R: ToJSON>(rows: &[R]) -> Vec<u8> {
    let mut bytes = Vec::new();
    for row in rows {
        bytes.extend_from_slice(row.to_json_string().as_bytes());
        bytes.push(b'\n');
    }
    bytes
}

/// How an export is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Csv,
    CsvGzip,
    JsonLinesGzip,
}

/// Every row matching `filters`, in `sort` order, as chunks of `EXPORT_CHUNK` records: one
/// query per chunk, so memory stays flat whatever the result size. `convert` turns a chunk
/// of rows into records (it may query for related rows once per chunk).
pub fn record_chunks<E, R, F, Fut>(
    db: DatabaseConnection,
    filters: Filters,
    sort: Sort,
    convert: F,
) -> impl Stream<Item = Result<Vec<R>, DomainError>> + Send + 'static
where
    E: Listable + 'static,
    E::Model: Send + Sync,
    R: Send + 'static,
    F: Fn(DatabaseConnection, Vec<E::Model>) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<Vec<R>, DomainError>> + Send,
{
    struct State<C> {
        after: Option<Cursor>,
        done: bool,
        convert: C,
    }
    let start = State { after: None, done: false, convert };
    futures_util::stream::unfold(start, move |mut state| {
        let (db, filters) = (db.clone(), filters.clone());
        async move {
            if state.done {
                return None;
            }
            let chunk = async {
                let select = listing::ordered_after::<E>(
                    listing::filtered::<E>(db.get_database_backend(), &filters),
                    sort,
                    state.after.as_ref(),
                )?;
                Ok::<_, DomainError>(select.limit(EXPORT_CHUNK).all(&db).await?)
            };
            let rows = match chunk.await {
                Ok(rows) => rows,
                Err(error) => return Some((Err(error), State { done: true, ..state })),
            };
            state.done = (rows.len() as u64) < EXPORT_CHUNK;
            state.after = rows.last().map(|last| listing::cursor_after::<E>(sort, last));
            let records = (state.convert)(db, rows).await;
            if records.is_err() {
                state.done = true;
            }
            Some((records, state))
        }
    })
}

/// Writes record chunks as a streamed body in `encoding`.
pub fn export_body<R, S>(chunks: S, encoding: Encoding) -> Body
where
    R: CsvRecord + ToJSON + Send + 'static,
    S: Stream<Item = Result<Vec<R>, DomainError>> + Send + 'static,
{
    let gzip = matches!(encoding, Encoding::CsvGzip | Encoding::JsonLinesGzip);
    struct Writer {
        first: bool,
        gzip: Option<GzEncoder<Vec<u8>>>,
    }
    let writer = Writer { first: true, gzip: gzip.then(|| GzEncoder::new(Vec::new(), Compression::default())) };
    let encoded =
        chunks.map(Some).chain(futures_util::stream::once(async { None })).scan(writer, move |writer, chunk| {
            let bytes = match chunk {
                Some(Ok(records)) => {
                    let plain = match encoding {
                        Encoding::Csv | Encoding::CsvGzip => {
                            csv_bytes(&records, writer.first).map_err(|e| export_failed(&e))
                        }
                        Encoding::JsonLinesGzip => Ok(json_lines(&records)),
                    };
                    writer.first = false;
                    plain.and_then(|plain| match writer.gzip.as_mut() {
                        Some(gzip) => {
                            gzip.write_all(&plain).map_err(|e| export_failed(&e))?;
                            Ok(std::mem::take(gzip.get_mut()))
                        }
                        None => Ok(plain),
                    })
                }
                Some(Err(error)) => Err(export_failed(&error)),
                // The end: an empty CSV still gets its header, and gzip writes its trailer.
                None => {
                    let header = if writer.first && matches!(encoding, Encoding::Csv | Encoding::CsvGzip) {
                        csv_bytes::<R>(&[], true).map_err(|e| export_failed(&e))
                    } else {
                        Ok(Vec::new())
                    };
                    header.and_then(|plain| match writer.gzip.take() {
                        Some(mut gzip) => {
                            gzip.write_all(&plain).map_err(|e| export_failed(&e))?;
                            gzip.finish().map_err(|e| export_failed(&e))
                        }
                        None => Ok(plain),
                    })
                }
            };
            futures_util::future::ready(Some(bytes))
        });
    Body::from_bytes_stream(encoded)
}

/// Streams every row matching `filters` as CSV (see [`record_chunks`]).
pub fn csv_export<E, R, F, Fut>(db: DatabaseConnection, filters: Filters, sort: Sort, convert: F) -> Body
where
    E: Listable + 'static,
    E::Model: Send + Sync,
    R: CsvRecord + ToJSON + Send + 'static,
    F: Fn(DatabaseConnection, Vec<E::Model>) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<Vec<R>, DomainError>> + Send,
{
    export_body(record_chunks::<E, R, F, Fut>(db, filters, sort, convert), Encoding::Csv)
}

/// A list request's answer: every matching row as CSV, or one page.
pub enum ListAnswer<R> {
    Csv(Body),
    Page {
        items: Vec<R>,
        total: u64,
        /// The `links.next` path.
        next: Option<String>,
    },
}

/// What every list endpoint does once its filters are read: stream CSV when asked (see
/// [`wants_csv`]), else read one page after `cursor` and convert it with `convert`.
#[allow(clippy::too_many_arguments)]
pub async fn list_or_export<E, R, F, Fut>(
    db: &DatabaseConnection,
    cache: &ResultCache,
    req: &Request,
    filters: Filters,
    sort: Sort,
    format: Option<Format>,
    limit: Option<u64>,
    cursor: Option<String>,
    convert: F,
) -> ApiResult<ListAnswer<R>>
where
    E: Listable + 'static,
    E::Model: Send + Sync,
    R: CsvRecord + ToJSON + Send + 'static,
    F: Fn(DatabaseConnection, Vec<E::Model>) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<Vec<R>, DomainError>> + Send,
{
    check_ranges(&filters)?;
    if wants_csv(req, format) {
        return Ok(ListAnswer::Csv(csv_export::<E, R, F, Fut>(db.clone(), filters, sort, convert)));
    }
    let request = PageRequest::new(sort, limit, cursor)?;
    let page = listing::page::<E>(db, cache, &filters, sort, request.after.as_ref(), request.limit).await?;
    Ok(ListAnswer::Page {
        next: request.next_link(req, page.next),
        total: page.total,
        items: convert(db.clone(), page.items).await?,
    })
}

/// Headers are already sent when an export fails midway, so the failure is logged and the
/// connection cut, which a client sees as a truncated download rather than a complete file.
fn export_failed(error: &dyn std::error::Error) -> std::io::Error {
    tracing::error!(error = %error, "CSV export failed midway");
    std::io::Error::other("export failed")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised_and_numbers_are_not() {
        assert_eq!(neutralise("=HYPERLINK(\"x\")".into()), "'=HYPERLINK(\"x\")");
        assert_eq!(neutralise("+7 701".into()), "'+7 701");
        assert_eq!(neutralise("-1+2".into()), "'-1+2");
        assert_eq!(neutralise("@SUM(A1)".into()), "'@SUM(A1)");
        assert_eq!(neutralise("\tx".into()), "'\tx");
        assert_eq!(neutralise("\rx".into()), "'\rx");
        assert_eq!(neutralise("-150.00".into()), "-150.00");
        assert_eq!(neutralise("ТОО \"Алтын\"".into()), "ТОО \"Алтын\"");
        assert_eq!(neutralise("-".into()), "'-");
    }
}
