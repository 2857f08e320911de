//! CSV files of treasury payments, decisions and budget lines, read through a declared column
//! mapping (a TOML file saying which column is which), with any delimiter and in UTF-8 (with or
//! without BOM) or Windows-1251.
//!
//! A mapping file:
//!
//! ```toml
//! source = "treasury"          # the records' source; default "csv-payments" etc.
//! delimiter = ";"              # default: guessed from the header line (, ; tab |)
//! encoding = "windows-1251"    # "utf-8", "windows-1251" or "auto" (the default)
//! date_format = "%d.%m.%Y"     # default: ISO 8601, then dd.mm.yyyy; times are Almaty local
//! amount_multiplier = "1000"   # amounts given in thousands of tenge
//!
//! [columns]                    # field = "header" or ["header", "header"] (joined with "/")
//! id = "Номер документа"
//! payer_bin = "БИН плательщика"
//! amount = "Сумма"
//! paid_at = "Дата"
//!
//! [defaults]                   # fields without a column
//! currency = "KZT"
//! vat_included = "true"
//! ```
//!
//! The fields of each kind are listed in `Kind::fields`. Reading streams row by row; the
//! checkpoint is the file and byte offset after the last committed row, so a resumed run seeks
//! straight there.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::Deserialize;

use domain::Biin;
use domain::entities::{DecisionKind, OrganizationKind};
use domain::ingest::*;
use domain::names::LocalizedName;

use crate::engine::{ImportError, Sink};
use crate::parse;

/// What the files hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Payments,
    Decisions,
    Budget,
}

impl Kind {
    pub fn parse(name: &str) -> Option<Kind> {
        match name {
            "payments" => Some(Kind::Payments),
            "decisions" => Some(Kind::Decisions),
            "budget" => Some(Kind::Budget),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Kind::Payments => "payments",
            Kind::Decisions => "decisions",
            Kind::Budget => "budget",
        }
    }

    /// The fields a mapping may name, required ones first.
    pub fn fields(self) -> (&'static [&'static str], &'static [&'static str]) {
        match self {
            Kind::Payments => (
                &["id", "payer_bin", "payee_bin", "amount", "paid_at"],
                &[
                    "payer_name",
                    "payee_name",
                    "currency",
                    "exchange_rate",
                    "vat_included",
                    "fiscal_year",
                    "document_number",
                    "purpose_ru",
                    "purpose_kk",
                    "purpose_en",
                    "contract",
                    "budget_line",
                ],
            ),
            Kind::Decisions => (
                &["id", "organization_bin", "kind", "number", "adopted_on"],
                &[
                    "organization_name",
                    "title_ru",
                    "title_kk",
                    "title_en",
                    "summary_ru",
                    "summary_kk",
                    "summary_en",
                    "url",
                ],
            ),
            Kind::Budget => (
                &["id", "administrator_bin", "fiscal_year", "program_code", "approved"],
                &["administrator_name", "name_ru", "name_kk", "name_en", "currency"],
            ),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum ColumnSpec {
    One(String),
    Many(Vec<String>),
}

/// A mapping file as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappingFile {
    source: Option<String>,
    delimiter: Option<String>,
    encoding: Option<String>,
    date_format: Option<String>,
    amount_multiplier: Option<String>,
    #[serde(default)]
    columns: HashMap<String, ColumnSpec>,
    #[serde(default)]
    defaults: HashMap<String, String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Utf8,
    Windows1251,
    Auto,
}

/// A checked mapping.
#[derive(Debug, Clone)]
pub struct Mapping {
    kind: Kind,
    pub source: String,
    delimiter: Option<u8>,
    encoding: Encoding,
    date_format: Option<String>,
    multiplier: Decimal,
    columns: HashMap<String, Vec<String>>,
    defaults: HashMap<String, String>,
}

impl Mapping {
    /// Reads and checks a mapping file: every field must be known, every required field mapped.
    pub fn load(kind: Kind, path: &Path) -> Result<Mapping, ImportError> {
        let text = std::fs::read_to_string(path)
            .map_err(|error| ImportError::Input(format!("reading the mapping {}: {error}", path.display())))?;
        let file: MappingFile = toml::from_str(&text)
            .map_err(|error| ImportError::Input(format!("the mapping {}: {error}", path.display())))?;
        Mapping::new(kind, file)
            .map_err(|reason| ImportError::Input(format!("the mapping {}: {reason}", path.display())))
    }

    pub fn new(kind: Kind, file: MappingFile) -> Result<Mapping, String> {
        let (required, optional) = kind.fields();
        for field in file.columns.keys().chain(file.defaults.keys()) {
            if !required.contains(&field.as_str()) && !optional.contains(&field.as_str()) {
                return Err(format!(
                    "unknown field {field:?} for {}; the fields are {}",
                    kind.name(),
                    required.iter().chain(optional).copied().collect::<Vec<_>>().join(", ")
                ));
            }
        }
        for field in required {
            if !file.columns.contains_key(*field) && !file.defaults.contains_key(*field) {
                return Err(format!("the required field {field:?} has no column and no default"));
            }
        }
        let delimiter = match file.delimiter.as_deref() {
            None => None,
            Some("\\t" | "tab") => Some(b'\t'),
            Some(text) if text.len() == 1 => Some(text.as_bytes()[0]),
            Some(text) => return Err(format!("the delimiter {text:?} is not one ASCII character")),
        };
        let encoding = match file.encoding.as_deref().map(str::to_ascii_lowercase).as_deref() {
            None | Some("auto") => Encoding::Auto,
            Some("utf-8" | "utf8") => Encoding::Utf8,
            Some("windows-1251" | "cp1251") => Encoding::Windows1251,
            Some(other) => return Err(format!("the encoding {other:?} is not utf-8, windows-1251 or auto")),
        };
        let multiplier = match file.amount_multiplier.as_deref() {
            None => Decimal::ONE,
            Some(text) => parse::decimal_text(text).map_err(|reason| format!("amount_multiplier: {reason}"))?,
        };
        let columns = file
            .columns
            .into_iter()
            .map(|(field, spec)| {
                let headers = match spec {
                    ColumnSpec::One(header) => vec![header],
                    ColumnSpec::Many(headers) => headers,
                };
                (field, headers)
            })
            .collect();
        Ok(Mapping {
            kind,
            source: file.source.unwrap_or_else(|| format!("csv-{}", kind.name())),
            delimiter,
            encoding,
            date_format: file.date_format,
            multiplier,
            columns,
            defaults: file.defaults,
        })
    }
}

/// A row's fields by name, decoded.
struct Row<'a> {
    mapping: &'a Mapping,
    /// Field name → header positions.
    positions: &'a HashMap<String, Vec<usize>>,
    values: Vec<String>,
    /// Repairs made while reading the row, each naming its field.
    repairs: std::cell::RefCell<Vec<String>>,
}

impl Row<'_> {
    fn get(&self, field: &str) -> Option<String> {
        if let Some(positions) = self.positions.get(field) {
            let parts: Vec<&str> = positions
                .iter()
                .filter_map(|p| self.values.get(*p))
                .map(|v| v.trim())
                .filter(|v| !v.is_empty())
                .collect();
            if !parts.is_empty() {
                return Some(parts.join("/"));
            }
        }
        self.mapping.defaults.get(field).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
    }

    fn required(&self, field: &str) -> Result<String, String> {
        self.get(field).ok_or_else(|| format!("{field} is empty"))
    }

    /// A code with its case and spacing repaired (see [`parse::repaired_code`]).
    fn code(&self, field: &str, text: &str) -> String {
        let (code, repair) = parse::repaired_code(text);
        if let Some(repair) = repair {
            self.repairs.borrow_mut().push(format!("{field}: {repair}"));
        }
        code
    }

    fn biin(&self, field: &str) -> Result<Biin, String> {
        let text = self.required(field)?;
        let code = self.code(field, &text);
        code.parse::<Biin>().map_err(|error| format!("{field}: {text:?} is not a valid BIN/IIN: {error}"))
    }

    fn org(&self, prefix: &str, kind: OrganizationKind) -> Result<OrgRef, String> {
        let bin = self.biin(&format!("{prefix}_bin"))?;
        let name = LocalizedName::from_parts(self.get(&format!("{prefix}_name")).as_deref(), None, None);
        Ok(OrgRef::by_bin(bin, name, kind))
    }

    fn amount_minor(&self, field: &str) -> Result<i64, String> {
        let text = self.required(field)?;
        let amount = parse::decimal_text(&text).map_err(|reason| format!("{field}: {reason}"))?;
        parse::minor_units(amount * self.mapping.multiplier).map_err(|reason| format!("{field}: {reason}"))
    }

    fn currency(&self) -> String {
        self.code("currency", &self.get("currency").unwrap_or_else(|| "KZT".into()))
    }

    fn exchange_rate(&self, currency: &str) -> Result<Decimal, String> {
        match self.get("exchange_rate") {
            Some(text) => parse::decimal_text(&text).map_err(|reason| format!("exchange_rate: {reason}")),
            None if currency == "KZT" => Ok(Decimal::ONE),
            None => Ok(Decimal::ZERO),
        }
    }

    fn flag(&self, field: &str, default: bool) -> Result<bool, String> {
        match self.get(field).map(|v| v.to_lowercase()) {
            None => Ok(default),
            Some(v) if ["true", "1", "yes", "да", "иә", "с ндс"].contains(&v.as_str()) => Ok(true),
            Some(v) if ["false", "0", "no", "нет", "жоқ", "без ндс"].contains(&v.as_str()) => Ok(false),
            Some(v) => Err(format!("{field}: {v:?} is not true or false")),
        }
    }

    fn timestamp(&self, field: &str) -> Result<DateTime<Utc>, String> {
        let text = self.required(field)?;
        let reason = |detail: String| format!("{field}: {detail}");
        if let Some(format) = &self.mapping.date_format {
            let naive = chrono::NaiveDateTime::parse_from_str(&text, format)
                .or_else(|_| NaiveDate::parse_from_str(&text, format).map(|d| d.and_hms_opt(0, 0, 0).unwrap()))
                .map_err(|_| reason(format!("{text:?} does not match the date format {format:?}")))?;
            return parse::almaty_to_utc(&naive.format("%Y-%m-%d %H:%M:%S").to_string()).map_err(reason);
        }
        if let Ok(date) = NaiveDate::parse_from_str(&text, "%d.%m.%Y") {
            return parse::almaty_to_utc(&date.format("%Y-%m-%d").to_string()).map_err(reason);
        }
        parse::timestamp_to_utc(&text).map_err(reason)
    }

    fn date(&self, field: &str) -> Result<NaiveDate, String> {
        let at = self.timestamp(field)?;
        Ok(at.with_timezone(&chrono_tz::Asia::Almaty).date_naive())
    }

    /// A year: a 4-digit number anywhere in the text (`2024`, `01.2024`, `2024-01-31`).
    fn year(&self, field: &str) -> Result<i32, String> {
        let text = self.required(field)?;
        text.split(|c: char| !c.is_ascii_digit())
            .find(|part| part.len() == 4)
            .and_then(|part| part.parse::<i32>().ok())
            .filter(|year| (1991..=2100).contains(year))
            .ok_or_else(|| format!("{field}: {text:?} holds no year"))
    }

    fn names(&self, prefix: &str) -> LocalizedName {
        LocalizedName::from_parts(
            self.get(&format!("{prefix}_ru")).as_deref(),
            self.get(&format!("{prefix}_kk")).as_deref(),
            self.get(&format!("{prefix}_en")).as_deref(),
        )
    }
}

fn map_row(row: &Row<'_>) -> Result<Record, String> {
    let upstream_id = row.required("id")?;
    match row.mapping.kind {
        Kind::Payments => {
            let paid_at = row.timestamp("paid_at")?;
            let currency = row.currency();
            let amount = Amount {
                minor_units: row.amount_minor("amount")?,
                exchange_rate: row.exchange_rate(&currency)?,
                currency,
                vat_included: row.flag("vat_included", true)?,
            };
            let fiscal_year = match row.get("fiscal_year") {
                Some(_) => row.year("fiscal_year")?,
                None => paid_at.with_timezone(&chrono_tz::Asia::Almaty).year(),
            };
            Ok(Record::Payment(PaymentRecord {
                document_number: row.get("document_number").unwrap_or_else(|| upstream_id.clone()),
                upstream_id,
                contract: row.get("contract"),
                payer: row.org("payer", OrganizationKind::StateBody)?,
                payee: row.org("payee", OrganizationKind::Supplier)?,
                budget_line: row.get("budget_line"),
                paid_at,
                fiscal_year,
                purpose: row.names("purpose"),
                amount,
            }))
        }
        Kind::Decisions => {
            let kind_text = row.required("kind")?;
            let kind = match kind_text.to_lowercase().as_str() {
                "order" | "приказ" | "бұйрық" => DecisionKind::Order,
                "resolution" | "постановление" | "қаулы" => DecisionKind::Resolution,
                "board_decision" | "решение совета директоров" | "решение" | "шешім" => {
                    DecisionKind::BoardDecision
                }
                other => return Err(format!("kind: {other:?} is not order, resolution or board_decision")),
            };
            Ok(Record::Decision(DecisionRecord {
                upstream_id,
                organization: row.org("organization", OrganizationKind::StateBody)?,
                kind,
                number: row.required("number")?,
                adopted_on: row.date("adopted_on")?,
                title: row.names("title"),
                summary: row.names("summary"),
                url: row.get("url"),
            }))
        }
        Kind::Budget => {
            let currency = row.currency();
            Ok(Record::BudgetLine(BudgetLineRecord {
                upstream_id,
                administrator: row.org("administrator", OrganizationKind::StateBody)?,
                fiscal_year: row.year("fiscal_year")?,
                program_code: row.required("program_code")?,
                name: row.names("name"),
                approved_minor: row.amount_minor("approved")?,
                currency,
            }))
        }
    }
}

fn guess_delimiter(header: &[u8]) -> u8 {
    let line = header.split(|b| *b == b'\n').next().unwrap_or_default();
    [b',', b';', b'\t', b'|'].into_iter().max_by_key(|d| line.iter().filter(|b| *b == d).count()).unwrap_or(b',')
}

fn decode(encoding: Encoding, bytes: &[u8]) -> String {
    match encoding {
        Encoding::Windows1251 => encoding_rs::WINDOWS_1251.decode_without_bom_handling(bytes).0.into_owned(),
        _ => String::from_utf8_lossy(bytes).into_owned(),
    }
}

/// A file's resume point: `file index:byte offset:line`.
fn checkpoint(file: usize, position: &csv::Position) -> String {
    format!("{file}:{}:{}", position.byte(), position.line())
}

fn parse_checkpoint(text: &str) -> Option<(usize, u64, u64)> {
    let mut parts = text.split(':').map(|p| p.parse::<u64>().ok());
    Some((parts.next()?? as usize, parts.next()??, parts.next()??))
}

/// Imports the files, resuming an unfinished run of the same files.
pub async fn import(sink: &mut Sink, mapping: &Mapping, paths: &[PathBuf]) -> Result<Option<String>, ImportError> {
    let resume = sink.resume_from().and_then(parse_checkpoint);
    let total: u64 = paths.iter().filter_map(|p| std::fs::metadata(p).ok()).map(|m| m.len()).sum();
    sink.set_total(total, "bytes");
    let mut done_bytes = 0u64;
    for (index, path) in paths.iter().enumerate() {
        let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        if let Some((file, _, _)) = resume
            && index < file
        {
            done_bytes += size;
            continue;
        }
        let start = resume.filter(|(file, _, _)| *file == index).map(|(_, byte, line)| (byte, line));
        import_file(sink, mapping, index, path, start, done_bytes).await?;
        done_bytes += size;
    }
    Ok(None)
}

/// One row read: what it maps to, and where the reader stands after it (the checkpoint).
struct RowRead {
    parsed: Parsed,
    after: csv::Position,
}

/// Rows the reader may read ahead of the store.
const READ_AHEAD: usize = 1024;

async fn import_file(
    sink: &mut Sink,
    mapping: &Mapping,
    index: usize,
    path: &Path,
    start: Option<(u64, u64)>,
    done_bytes: u64,
) -> Result<(), ImportError> {
    // The csv reader's reads block: they run on a blocking thread and hand rows over a bounded
    // channel, so `serve`'s async workers, which answer requests while a scheduled import runs,
    // are never held by a file.
    let (rows, mut received) = tokio::sync::mpsc::channel(READ_AHEAD);
    let (mapping_for_reader, path_for_reader) = (mapping.clone(), path.to_owned());
    let reading = tokio::task::spawn_blocking(move || read_rows(&mapping_for_reader, &path_for_reader, start, rows));
    let mut last = None;
    while let Some(read) = received.recv().await {
        sink.push(read.parsed);
        if sink.full() {
            sink.commit(Some(checkpoint(index, &read.after))).await?;
            sink.set_position(done_bytes + read.after.byte());
        }
        last = Some(read.after);
    }
    reading.await.map_err(|error| ImportError::Input(format!("reading {}: {error}", path.display())))??;
    let position = match last {
        Some(position) => position,
        None => {
            // No row: the file is read to its header, or resumed at its end.
            let mut position = csv::Position::new();
            if let Some((byte, line)) = start {
                position.set_byte(byte).set_line(line);
            }
            position
        }
    };
    sink.commit(Some(checkpoint(index, &position))).await?;
    sink.set_position(done_bytes + position.byte());
    Ok(())
}

/// Reads one file's rows and sends each, mapped, with the reader's position after it. Runs on a
/// blocking thread: it stops when the receiver is gone (the run failed to write).
fn read_rows(
    mapping: &Mapping,
    path: &Path,
    start: Option<(u64, u64)>,
    rows: tokio::sync::mpsc::Sender<RowRead>,
) -> Result<(), ImportError> {
    let input = path.display().to_string();
    let open = || File::open(path).map_err(|error| ImportError::Input(format!("opening {input}: {error}")));
    // The first 64 KiB decide the delimiter and, under `auto`, the encoding.
    let mut head = Vec::with_capacity(65_536);
    open()?
        .take(65_536)
        .read_to_end(&mut head)
        .map_err(|error| ImportError::Input(format!("reading {input}: {error}")))?;
    let bom = head.starts_with(b"\xEF\xBB\xBF");
    let encoding = match mapping.encoding {
        Encoding::Auto if bom => Encoding::Utf8,
        Encoding::Auto => match std::str::from_utf8(&head) {
            Ok(_) => Encoding::Utf8,
            // A cut in the middle of a multi-byte character at the 64 KiB edge is still UTF-8.
            Err(error) if error.error_len().is_none() => Encoding::Utf8,
            Err(_) => Encoding::Windows1251,
        },
        fixed => fixed,
    };
    let delimiter = mapping.delimiter.unwrap_or_else(|| guess_delimiter(if bom { &head[3..] } else { &head }));
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .has_headers(true)
        .from_reader(BufReader::with_capacity(1 << 20, open()?));
    let headers: Vec<String> = reader
        .byte_headers()
        .map_err(|error| ImportError::Input(format!("{input}: reading the header: {error}")))?
        .iter()
        .enumerate()
        .map(|(i, h)| {
            // The csv reader drops a leading BOM itself; this is for one it left.
            let h = if i == 0 { h.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(h) } else { h };
            decode(encoding, h).trim().to_owned()
        })
        .collect();
    let mut positions = HashMap::new();
    let mut missing = Vec::new();
    for (field, names) in &mapping.columns {
        let mut found = Vec::new();
        for name in names {
            match headers.iter().position(|h| h == name) {
                Some(position) => found.push(position),
                None => missing.push(format!("{name:?} (for {field})")),
            }
        }
        positions.insert(field.clone(), found);
    }
    if !missing.is_empty() {
        missing.sort();
        return Err(ImportError::Input(format!(
            "{input}: no column {}; the header has {}",
            missing.join(", no column "),
            headers.join(", ")
        )));
    }
    if let Some((byte, line)) = start {
        let mut position = csv::Position::new();
        position.set_byte(byte).set_line(line);
        reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .flexible(true)
            .has_headers(false)
            .from_reader(BufReader::with_capacity(1 << 20, open()?));
        reader
            .seek_raw(std::io::SeekFrom::Start(byte), position)
            .map_err(|error| ImportError::Input(format!("{input}: seeking to the checkpoint: {error}")))?;
    }
    let mut record = csv::ByteRecord::new();
    loop {
        let line = reader.position().line();
        let more = match reader.read_byte_record(&mut record) {
            Ok(more) => more,
            Err(error) => {
                // A malformed row (an unterminated quote, bad UTF-8 in a quoted field): reject
                // it and go on from the next line.
                let parsed = Parsed::Rejected(Reject::new(Location::new(&input, Some(line)), None, error.to_string()));
                if rows.blocking_send(RowRead { parsed, after: reader.position().clone() }).is_err() {
                    return Ok(());
                }
                true
            }
        };
        if !more {
            break;
        }
        if record.iter().all(|field| field.is_empty()) {
            continue;
        }
        let location = Location::new(&input, Some(record.position().map_or(line, |p| p.line())));
        let row = Row {
            mapping,
            positions: &positions,
            values: record.iter().map(|field| decode(encoding, field)).collect(),
            repairs: Default::default(),
        };
        let parsed = match map_row(&row) {
            Ok(record) => {
                let id = row.get("id");
                let repairs: Vec<Reject> = row
                    .repairs
                    .take()
                    .into_iter()
                    .map(|reason| Reject::new(location.clone(), id.clone(), reason))
                    .collect();
                Parsed::Records { location, records: vec![record], repairs }
            }
            Err(reason) => Parsed::Rejected(Reject::new(location, row.get("id"), reason)),
        };
        if rows.blocking_send(RowRead { parsed, after: reader.position().clone() }).is_err() {
            return Ok(());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiters_are_guessed_from_the_header() {
        assert_eq!(guess_delimiter(b"a;b;c\n1,5;2;3"), b';');
        assert_eq!(guess_delimiter(b"a\tb\tc"), b'\t');
        assert_eq!(guess_delimiter(b"a,b,c"), b',');
    }

    #[test]
    fn mappings_name_known_fields_and_every_required_one() {
        let file: MappingFile = toml::from_str("[columns]\nid = \"N\"\npayer_bin = \"P\"\npayee_bin = \"Q\"\namount = \"S\"\npaid_at = \"D\"\nmood = \"M\"").unwrap();
        assert!(Mapping::new(Kind::Payments, file).unwrap_err().contains("unknown field \"mood\""));
        let file: MappingFile = toml::from_str("[columns]\nid = \"N\"").unwrap();
        assert!(Mapping::new(Kind::Payments, file).unwrap_err().contains("payer_bin"));
    }

    #[test]
    fn checkpoints_round_trip() {
        let mut position = csv::Position::new();
        position.set_byte(1234).set_line(17);
        assert_eq!(parse_checkpoint(&checkpoint(2, &position)), Some((2, 1234, 17)));
    }
}
