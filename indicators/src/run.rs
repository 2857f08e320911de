//! Reading a file of OCDS data and running the indicators over it, in parallel.
//!
//! The fast path is cardinal's input: compiled releases, one JSON object per line. One thread
//! reads lines into chunks and hands them to one worker per core through a bounded queue, so
//! memory holds a few chunks whatever the file's size; each worker parses and folds its lines
//! into totals of its own, and the totals are joined at the end. A line that is not JSON is
//! reported with its line and column, and the rest still count.
//!
//! Release packages and record packages are compiled first ([`crate::merge`]): releases of one
//! process may be spread over the whole input, so these are read whole.

use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;
use std::sync::mpsc;

use crate::engine::{Engine, Outcome, Partial};
use crate::release;

/// Limits on what a run reads.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// A longer line is reported and skipped, never held whole.
    pub max_line_bytes: usize,
    /// A package (read whole, unlike lines) may not be larger once decompressed.
    pub max_package_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_line_bytes: 64 << 20, max_package_bytes: 2 << 30 }
    }
}

/// A line of input that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    pub line: u64,
    /// The column (1-based) where the JSON breaks; 0 when the whole line is at fault.
    pub column: usize,
    pub reason: String,
}

impl std::fmt::Display for LineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.column > 0 {
            write!(f, "line {}, column {}: {}", self.line, self.column, self.reason)
        } else {
            write!(f, "line {}: {}", self.line, self.reason)
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("cannot read {path}: {source}")]
    Open { path: String, source: io::Error },
    #[error("reading the input failed after line {line}: {source}")]
    Read { line: u64, source: io::Error },
    #[error("the package is larger than {limit} bytes once decompressed; split it or compile it first")]
    PackageTooLarge { limit: u64 },
    #[error("the package is not valid JSON: line {line}, column {column}: {reason}")]
    Package { line: usize, column: usize, reason: String },
    #[error("the package cannot be compiled: {0}")]
    Merge(#[from] crate::merge::MergeError),
}

/// What a run read and found.
#[derive(Debug, Default)]
pub struct Report {
    pub outcome: Outcome,
    pub errors: Vec<LineError>,
    pub lines: u64,
}

/// Lines per chunk handed to a worker: large enough that the queue is not the cost.
const CHUNK_LINES: usize = 512;
/// Lines read to find the main currency before workers start, so that the first currency in
/// file order is the main one, as when reading in order; past them, the first a worker meets.
const CURRENCY_SCAN_LINES: u64 = 10_000;

/// Opens `path` (`-` for standard input), decompressing gzip whatever the file's name.
pub fn open(path: &Path) -> Result<Box<dyn BufRead + Send>, RunError> {
    let raw: Box<dyn Read + Send> = if path == Path::new("-") {
        Box::new(io::stdin())
    } else {
        let file =
            std::fs::File::open(path).map_err(|source| RunError::Open { path: path.display().to_string(), source })?;
        Box::new(file)
    };
    let mut buffered = BufReader::with_capacity(1 << 20, raw);
    let gzip = buffered
        .fill_buf()
        .map_err(|source| RunError::Open { path: path.display().to_string(), source })?
        .starts_with(&[0x1f, 0x8b]);
    if gzip {
        Ok(Box::new(BufReader::with_capacity(1 << 20, flate2::bufread::MultiGzDecoder::new(buffered))))
    } else {
        Ok(Box::new(buffered))
    }
}

/// Reads one line into `buffer` (without its newline), up to `limit` bytes; the rest of a
/// longer line is skipped. Returns `None` at the end of input, else whether the line fit.
fn read_line(input: &mut dyn BufRead, buffer: &mut Vec<u8>, limit: usize) -> io::Result<Option<bool>> {
    buffer.clear();
    let mut fits = true;
    let mut any = false;
    loop {
        let available = input.fill_buf()?;
        if available.is_empty() {
            return Ok(any.then_some(fits));
        }
        any = true;
        let (taken, done) = match available.iter().position(|&b| b == b'\n') {
            Some(at) => (at, true),
            None => (available.len(), false),
        };
        if fits {
            if buffer.len() + taken > limit {
                fits = false;
                buffer.clear();
            } else {
                buffer.extend_from_slice(&available[..taken]);
            }
        }
        input.consume(if done { taken + 1 } else { taken });
        if done {
            if buffer.last() == Some(&b'\r') {
                buffer.pop();
            }
            return Ok(Some(fits));
        }
    }
}

/// A chunk of consecutive lines: one text buffer, the line ends, the first line's number.
struct Chunk {
    text: Vec<u8>,
    ends: Vec<usize>,
    first_line: u64,
    /// Lines too long to hold, by number.
    too_long: Vec<u64>,
}

/// Runs `engine` over the input. Packages are detected from the first line.
pub fn run(engine: &Engine, mut input: Box<dyn BufRead + Send>, limits: Limits) -> Result<Report, RunError> {
    let mut first = Vec::new();
    let fits = read_line(&mut *input, &mut first, limits.max_line_bytes)
        .map_err(|source| RunError::Read { line: 0, source })?;
    if fits == Some(true) && looks_like_package_start(&first) {
        return run_packages(engine, first, input, limits);
    }
    Ok(run_lines(engine, fits.map(|fits| (first, fits)), input, limits))
}

/// A package is a JSON object with `releases` or `records`; written on one line or over many.
fn looks_like_package_start(line: &[u8]) -> bool {
    #[derive(serde::Deserialize)]
    struct Probe {
        releases: Option<serde::de::IgnoredAny>,
        records: Option<serde::de::IgnoredAny>,
        ocid: Option<serde::de::IgnoredAny>,
    }
    match serde_json::from_slice::<Probe>(line) {
        Ok(probe) => probe.ocid.is_none() && (probe.releases.is_some() || probe.records.is_some()),
        // An opening brace alone, or the start of a pretty-printed document.
        Err(error) => error.is_eof() && line.trim_ascii_start().starts_with(b"{"),
    }
}

fn run_packages(
    engine: &Engine,
    first: Vec<u8>,
    input: Box<dyn BufRead + Send>,
    limits: Limits,
) -> Result<Report, RunError> {
    let mut text = first;
    text.push(b'\n');
    let mut limited = input.take(limits.max_package_bytes.saturating_sub(text.len() as u64) + 1);
    limited.read_to_end(&mut text).map_err(|source| RunError::Read { line: 1, source })?;
    if text.len() as u64 > limits.max_package_bytes {
        return Err(RunError::PackageTooLarge { limit: limits.max_package_bytes });
    }
    // One package over many lines, or one package per line.
    let documents: Vec<serde_json::Value> = match serde_json::from_slice(&text) {
        Ok(document) => vec![document],
        Err(whole) => {
            let mut documents = Vec::new();
            for (index, line) in text.split(|&b| b == b'\n').enumerate() {
                if line.trim_ascii().is_empty() {
                    continue;
                }
                match serde_json::from_slice(line) {
                    Ok(document) => documents.push(document),
                    Err(_) => {
                        return Err(RunError::Package {
                            line: whole.line().max(index + 1),
                            column: whole.column(),
                            reason: json_reason(&whole),
                        });
                    }
                }
            }
            documents
        }
    };
    let mut releases = Vec::new();
    for document in documents {
        releases.extend(crate::merge::compiled_releases(document)?);
    }
    let mut partial = engine.partial();
    for (index, value) in releases.iter().enumerate() {
        if let Some(release) = release::from_value(value) {
            engine.fold(&release, index as u64 + 1, &mut partial);
        }
    }
    Ok(Report { outcome: engine.finish(vec![partial]), errors: Vec::new(), lines: releases.len() as u64 })
}

fn run_lines(
    engine: &Engine,
    first: Option<(Vec<u8>, bool)>,
    mut input: Box<dyn BufRead + Send>,
    limits: Limits,
) -> Report {
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(1, 32);
    let (sender, receiver) = mpsc::sync_channel::<Chunk>(workers * 2);
    let receiver = std::sync::Mutex::new(receiver);
    let mut read_error = None;
    let mut lines = 0;
    let (partials, mut errors) = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut partial = engine.partial();
                    let mut errors = Vec::new();
                    loop {
                        // The lock is held only to take the next chunk.
                        let next = receiver.lock().map(|r| r.recv());
                        let Ok(Ok(chunk)) = next else { break };
                        fold_chunk(engine, &chunk, &mut partial, &mut errors);
                    }
                    (partial, errors)
                })
            })
            .collect();

        let mut scanning = engine.needs_currency();
        let mut chunk = new_chunk(1);
        let mut line_buffer = Vec::new();
        let mut pending = first;
        loop {
            let line = match pending.take() {
                Some(line) => Some(line),
                None => match read_line(&mut *input, &mut line_buffer, limits.max_line_bytes) {
                    Ok(Some(fits)) => Some((std::mem::take(&mut line_buffer), fits)),
                    Ok(None) => None,
                    Err(error) => {
                        read_error =
                            Some(LineError { line: lines + 1, column: 0, reason: format!("reading stopped: {error}") });
                        None
                    }
                },
            };
            let Some((text, fits)) = line else { break };
            lines += 1;
            if fits {
                if scanning {
                    if let Some(currency) = find_currency(engine, &text) {
                        engine.set_currency(currency);
                        scanning = false;
                    } else if lines >= CURRENCY_SCAN_LINES {
                        scanning = false;
                    }
                }
                chunk.text.extend_from_slice(&text);
            } else {
                chunk.too_long.push(lines);
            }
            chunk.ends.push(chunk.text.len());
            line_buffer = text;
            if chunk.ends.len() >= CHUNK_LINES {
                let full = std::mem::replace(&mut chunk, new_chunk(lines + 1));
                if sender.send(full).is_err() {
                    break;
                }
            }
        }
        if !chunk.ends.is_empty() {
            let _ = sender.send(chunk);
        }
        drop(sender);
        let mut partials = Vec::new();
        let mut errors = Vec::new();
        for handle in handles {
            // A worker panics only on a bug; its lines are lost, the others still count.
            if let Ok((partial, worker_errors)) = handle.join() {
                partials.push(partial);
                errors.extend(worker_errors);
            }
        }
        (partials, errors)
    });
    errors.extend(read_error);
    errors.sort_by_key(|error| error.line);
    let outcome = engine.finish(partials);
    Report { outcome, errors, lines }
}

fn new_chunk(first_line: u64) -> Chunk {
    Chunk { text: Vec::with_capacity(1 << 20), ends: Vec::with_capacity(CHUNK_LINES), first_line, too_long: Vec::new() }
}

fn find_currency(engine: &Engine, line: &[u8]) -> Option<String> {
    // Most lines say nothing of money; skipping them unparsed keeps the scan cheap.
    if !line.windows(10).any(|w| w == b"\"currency\"") {
        return None;
    }
    let text = std::str::from_utf8(line).ok()?;
    let release = release::parse(text).ok()??;
    engine.first_currency(&release)
}

fn fold_chunk(engine: &Engine, chunk: &Chunk, partial: &mut Partial, errors: &mut Vec<LineError>) {
    let mut start = 0;
    let mut too_long = chunk.too_long.iter().peekable();
    for (offset, &end) in chunk.ends.iter().enumerate() {
        let line = chunk.first_line + offset as u64;
        let bytes = &chunk.text[start..end];
        start = end;
        if too_long.peek() == Some(&&line) {
            too_long.next();
            errors.push(LineError { line, column: 0, reason: "the line is longer than the limit; skipped".into() });
            continue;
        }
        if bytes.trim_ascii().is_empty() {
            continue;
        }
        let text = match std::str::from_utf8(bytes) {
            Ok(text) => text,
            Err(error) => {
                errors.push(LineError {
                    line,
                    column: error.valid_up_to() + 1,
                    reason: "the line is not UTF-8 text".into(),
                });
                continue;
            }
        };
        match release::parse(text) {
            Ok(Some(release)) => engine.fold(&release, line, partial),
            Ok(None) => {}
            Err(error) => errors.push(LineError { line, column: error.column(), reason: json_reason(&error) }),
        }
    }
}

/// serde_json's message without its own " at line L column C", which the caller reports.
fn json_reason(error: &serde_json::Error) -> String {
    let message = error.to_string();
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message,
    }
}
