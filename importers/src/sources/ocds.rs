//! OCDS (Open Contracting Data Standard, 1.0 and 1.1) files and feeds: release packages, record
//! packages, bare releases and JSON Lines of any of these, gzip-compressed or not, mapped to
//! domain records. Every deviation from the standard that the importer works around is reported
//! as a repair naming the JSON path; every part it cannot map is reported as a reject.
//!
//! # Reading
//!
//! [`read`] detects gzip by its magic bytes, then looks at the first non-empty line: if it is a
//! complete JSON value, the input is JSON Lines (one release, release package or record package
//! per line; a one-line document is the same thing); if it is the start of a value, the input is
//! one (pretty-printed) document. Either way the input is parsed as a stream on a worker thread,
//! which hands the consumer one `Parsed` at a time over a bounded channel: a package's
//! `releases`/`records` array is visited one element at a time (also on a single huge line), so
//! memory holds one release and a few dozen parsed ones, whatever the size of the input. The
//! thread starts on the first call to `next` and stops when the iterator is dropped.
//!
//! `Location.position` is always a 1-based line of the (decompressed) input: the JSON Lines
//! line, or the line where the release or record object starts in a document. A JSON Lines line
//! that cannot be read is rejected and reading goes on with the next line; a document that cannot
//! be read is rejected at the line where it breaks (releases before that point are kept). A
//! broken gzip stream ends the input.
//!
//! One release can still be arbitrarily large (a 2 GiB string fits in 2 MiB of gzip), so no value
//! that is read whole into memory (a release, a record, a bare release or record, a package's own
//! fields around its `releases`/`records`, an element of a top-level array) may take more than
//! `max_release_bytes` of (decompressed) input: [`DEFAULT_MAX_RELEASE_BYTES`] (64 MiB) with
//! [`read`], any other with [`read_with_limit`]. The parser is stopped as soon as a value takes
//! one byte more, so memory never holds much more than the limit (a value of exactly the limit
//! is read). Such a value is a reject, not a read error, naming its line: "release at line 3 is
//! larger than the 64 MiB limit (max_release_bytes); skipped". In JSON Lines the rest of that line
//! is skipped without being kept and reading goes on with the next line; in a document the next
//! release cannot be found without parsing the big one, so reading stops there, as when a document
//! breaks (the releases before it are kept).
//!
//! # Merging
//!
//! A process is stored as its compiled release, what the OCDS merge routine
//! (`domain::ocds::merge`) makes of all its releases: the latest value of every field, in order
//! of `date`. A record's `compiledRelease` is taken as the publisher compiled it; a record with
//! only its `releases` is compiled here. Releases in a package, or one per JSON Lines line, wait
//! in a window grouped by ocid and are merged when the input ends, or when the window is full
//! (over [`WINDOW_RELEASES`] releases or [`WINDOW_BYTES`] of input: the group seen first goes).
//! So a package read again changes nothing, whatever the order of its releases; releases of one
//! process that are further apart than the window are merged in separate groups, each stored on
//! top of the one before, and an empty package stores nothing and rejects nothing.
//!
//! # Output and accounting
//!
//! Each release (or merged group of releases) gives one `Parsed::Records` (possibly with no records, say for a planning-only
//! release), followed by one `Parsed::Rejected` per part that could not be stored (an award with
//! a negative amount, a transaction without a date), each naming that part's upstream id, so the
//! store counts it as read and rejected. [`parse_release`] returns the same in a single `Parsed`,
//! with the rejects appended to `repairs` (their reasons start with "rejected:");
//! [`parse_release_parts`] returns the separate items `read` yields.
//!
//! # Mapping
//!
//! Upstream ids, all within source [`SOURCE`]: tender = the `ocid` (so the process is published
//! under its publisher's ocid, see `domain::ocds::ocid`); lot = `{ocid}/lot/{lot.id}`;
//! bid = `{ocid}/bid/{id}`; award = `{ocid}/award/{id}`; contract = `{ocid}/contract/{id}`;
//! amendment = `{ocid}/contract/{cid}/amendment/{n}` (1-based); payment =
//! `{ocid}/contract/{cid}/transaction/{tx.id}`. An id longer than the 128 characters the store
//! keeps is cut to 111 characters plus `~` and a 64-bit FNV-1a hash of the whole id (a repair).
//! Records of one release come referenced first: tender, lots, bids, awards, contracts,
//! amendments, payments.
//!
//! - **Partial releases.** A release without a `tender` object (an award or contract release)
//!   yields no tender and no lots: its awards and contracts refer to those an earlier release of
//!   the same ocid stored, rather than overwrite them with a tender made up of defaults.
//! - **Lots.** A bid or award names its lot by `relatedLots[0]` (Ukraine's `lotID` and
//!   `relatedLot` are read too, as repairs). One that names none goes to the tender's lot when
//!   the tender has exactly one, else to a synthetic lot `{ocid}/lot/-` standing for the whole
//!   tender (a repair when the tender does have several lots). The synthetic lot is stored only
//!   when some bid or award needs it; its amount is the tender's when the tender has no lots of
//!   its own, else 0 (so sums over lots do not count the tender twice). A lot without a value
//!   takes the tender's value when it is the tender's only lot, else 0 (a repair either way). A
//!   lot's quantity is the quantity of its one item (`items[].relatedLot`), else "1".
//! - **Organisations** (`buyer`, `tender.procuringEntity`, award and contract `suppliers`, bid
//!   `tenderers`, transaction `payer`/`payee`) are looked up in `parties[]` by `id`; OCDS 1.0
//!   data that embeds the organisation (identifier and all) in the reference is read as is. The
//!   BIN is set only for an identifier (or additional identifier) of scheme `KZ-BIN`, `KZ-IIN` or
//!   the legacy `KZ-KGD` whose id passes the check digit (an invalid one is a repair). Otherwise
//!   the key is `{scheme}-{identifier.id}`; an identifier without a scheme (Mexico) is keyed by
//!   the publisher's ocid prefix, `{prefix}-{id}` (e.g. `OCDS-87SD3T-0901`), since such ids are
//!   only unique within a publisher; with no identifier at all the key is `party:{id or name}`.
//!   The name is `identifier.legalName`, else the party's `name`, else the reference's `name`
//!   (the registered name is the one a journalist can look up). OCDS texts are in one language:
//!   they go in the `kk` or `en` slot when the release `language` is Kazakh (`kk`, also the
//!   informal `kz`) or English, else in `ru` (so a Ukrainian or Spanish name lands in `ru`). The
//!   buyer and procuring entity are created as state bodies, suppliers and tenderers as suppliers.
//! - **Tender.** number = Prozorro's public `tenderID` when present, else `tender.id`, else
//!   (missing, or longer than the 64 characters the store
//!   keeps) the ocid; method from `tender.procurementMethod`: open → open tender, selective →
//!   prequalified tender, direct → single source, limited → other (the buyer picks whom to ask:
//!   Kazakhstan's price quotation is published to all, so calling it that would overstate the
//!   competition), anything else → other; then `procurementMethodDetails` and Prozorro's
//!   `procurementMethodType` refine it: auction words (auction, аукцион, subasta) → auction,
//!   quotation words (quotation, ценовых предложений, cotización, `priceQuotation`) → price
//!   quotation, commodity exchange words → commodity exchange, single-source words (single
//!   source, из одного источника, бір көзден, contratación/adjudicación directa, and Prozorro's
//!   `reporting` and `negotiation` procedures, which are contracts negotiated with one supplier)
//!   → single source. Status: planning/planned/active → published, complete → awarded,
//!   unsuccessful → failed, cancelled/withdrawn → cancelled; missing → awarded when there is a
//!   live award, else published (an unknown code is taken the same way, as a repair). Published
//!   at `tender.datePublished`, else `tenderPeriod.startDate`, else the release `date` (a repair
//!   when falling back); bids open and close at `tenderPeriod` start and end; the fiscal year is
//!   the year of publication as written (in its own UTC offset). Amount from `tender.value`, else
//!   `tender.minValue` (a repair), else 0 (a repair).
//! - **Amounts.** The currency must be three upper-case letters: when it is missing or not, that
//!   record (not the release) is rejected, naming the field. The exchange rate is 1 for KZT and
//!   0 for any other currency, meaning "rate to tenge unknown" (an upstream `exchangeRate` is to
//!   the publisher's currency, not to tenge, so it is not used). VAT is included unless
//!   `valueAddedTaxIncluded` says otherwise (OCDS amounts are what the buyer pays). An amount
//!   given as text ("12 500.00") is read, as a repair; more than two decimals are rounded half to
//!   even, as a repair; a negative amount rejects the record. A missing value or amount is
//!   stored as 0 (a repair) in the value's currency, else the tender's, else `XXX` (ISO 4217's
//!   "no currency"), except for transactions, which are rejected without an amount.
//! - **Bids** (`bids.details[]`): bidder = the first tenderer (a repair when there are more);
//!   submitted at `date`, else the release date (a repair); admitted unless the status is
//!   disqualified, withdrawn, invalid, unsuccessful or deleted.
//! - **Awards**: supplier = the first supplier (a repair saying the others were not kept);
//!   `suppliers` as an object instead of an array (Paraguay) is a repair. Awarded at `date`, else
//!   the release date (a repair). An award whose status is `cancelled` or `unsuccessful` is no
//!   award: it yields a `Record::Deletion` of that award (a no-op unless an earlier release stored
//!   it as active), so nobody reads a disqualified bidder as a winner. Pending awards are kept.
//! - **Contracts**: buyer = the release buyer (else the procuring entity); supplier = the
//!   contract's own `suppliers` (the contract-suppliers extension; Paraguay names one per
//!   contract where the award lists several) else those of the award named by `awardID`, the
//!   first one (a repair when there are more); no supplier rejects the contract. number =
//!   `contractNumber` (else `contractID`, as Prozorro publishes them), else `id`;
//!   signed at `dateSigned`, else `period.startDate`, else the release date (a repair); ends on
//!   the date of `period.endDate` as written; status pending → signed, active → in execution,
//!   terminated → executed, cancelled → terminated, missing → signed; method = the tender's
//!   (other when the release has no tender); description = `title`, else `description`; tender =
//!   the ocid; lot and award = the award's.
//! - **Amendments**: `contracts[].amendments[]`, or the deprecated singular `amendment`. Signed
//!   at the amendment's `date`, else the release date (a repair); reason = `rationale`, else
//!   `description`. OCDS amendments state no amounts: the new amount is the contract's value in
//!   this release, and the previous amount is the `former_value` of an OCDS 1.0 change to the
//!   contract's value when there is one, else the same value (no change shown). Paraguay files
//!   its modifications as extra contracts with `extendsContractID`: each becomes an amendment of
//!   the contract it extends (numbered after that contract's own amendments), previous amount =
//!   the extended contract's value, new amount = the modification's own value if it states one,
//!   else unchanged, reason = its `description`, else `dncpAmendmentType`, else `title` (a repair;
//!   such an entry's own transactions, none seen so far, are not read).
//! - **Payments** (`contracts[].implementation.transactions[]`): amount from `value` or the
//!   deprecated `amount`; `date` is required; payer = `payer`, else the deprecated
//!   `providerOrganization` identifier, else the buyer; payee = `payee`, else
//!   `receiverOrganization`, else the contract's supplier; document number = the transaction id;
//!   purpose = the contract's description. A payment of a contract that could not be stored is
//!   kept without the contract reference.
//! - **Record packages**: a record's `compiledRelease` when it has one; else its full releases
//!   (objects with an `ocid` or `id`), oldest `date` first; releases that are only links (`url`,
//!   `date`, `tag`) cannot be read without fetching them, which is reported as a reject.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::io::{self, BufRead, BufReader, Cursor, Read};
use std::panic::AssertUnwindSafe;
use std::rc::Rc;
use std::sync::mpsc::{self, Receiver, SyncSender};

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use flate2::bufread::MultiGzDecoder;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::error::Category;
use serde_json::{Map, Value};

use domain::LocalizedName;
use domain::entities::{ContractStatus, OrganizationKind, ProcurementMethod, TenderStatus};
use domain::ingest::{
    AmendmentRecord, Amount, AwardRecord, BidRecord, ContractRecord, Location, LotRecord, OrgRef, Parsed,
    PaymentRecord, Record, Reject, Table, TenderRecord,
};
use domain::money::parse_currency;

use crate::parse::{self, kind_of, text};

/// Processes keep their publisher's ocid under this source (see `domain::ocds::ocid`).
pub const SOURCE: &str = domain::ocds::IMPORTED_SOURCE;

/// Parsed items the worker may read ahead of the consumer.
const CHANNEL_BOUND: usize = 32;
/// Read buffer size.
const BUFFER: usize = 1 << 16;
/// The first line (and, to tell a cut-short JSON Lines line from a document's opening line, the
/// second) is held in memory up to this size; a longer first line is streamed as JSON Lines.
const PROBE_LIMIT: usize = 1 << 20;
/// Longest upstream id (and organisation key) the store keeps.
const MAX_ID: usize = 128;
const MAX_TENDER_NUMBER: usize = 64;
const MAX_LOT_NUMBER: usize = 64;
const MAX_CONTRACT_NUMBER: usize = 128;
const MAX_DOCUMENT_NUMBER: usize = 64;
const MAX_QUANTITY: usize = 32;
/// Identifier schemes whose ids are Kazakh BINs or IINs.
const KZ_SCHEMES: [&str; 3] = ["KZ-BIN", "KZ-IIN", "KZ-KGD"];
/// ISO 4217's code for "no currency", for a zero amount whose currency nobody stated.
const NO_CURRENCY: &str = "XXX";
/// The most (decompressed) input one release, record or other value read whole may take with
/// [`read`]: far above any real release (the largest seen are a few MiB), and low enough that a
/// crafted or broken one cannot take the importer's memory.
pub const DEFAULT_MAX_RELEASE_BYTES: u64 = 64 * 1024 * 1024;

/// Streams the OCDS documents in one input. `input` names the file or URL (used in Locations).
/// Detects gzip by its magic bytes, then JSON Lines (one JSON value per non-empty line: a release,
/// a release package or a record package) versus a single JSON document (package or bare release,
/// possibly pretty-printed over many lines). Yields one `Parsed` per release (or per compiled
/// record), each followed by a `Parsed::Rejected` per part of it that could not be stored. An
/// unreadable input (truncated JSON, HTML instead of JSON, bad gzip) yields a `Parsed::Rejected`
/// naming the input and line, and reading goes on with the next line for JSON Lines. A release
/// over [`DEFAULT_MAX_RELEASE_BYTES`] is rejected (see [`read_with_limit`]).
pub fn read(input: &str, reader: Box<dyn Read + Send>) -> Box<dyn Iterator<Item = Parsed> + Send> {
    read_with_limit(input, reader, DEFAULT_MAX_RELEASE_BYTES)
}

/// [`read`], with at most `max_release_bytes` of (decompressed) input for any one release, record
/// or other value read whole: a larger one is rejected at its line, and then the rest of its JSON
/// Lines line is skipped, or the rest of a document is not read (see the module documentation).
pub fn read_with_limit(
    input: &str,
    reader: Box<dyn Read + Send>,
    max_release_bytes: u64,
) -> Box<dyn Iterator<Item = Parsed> + Send> {
    Box::new(Reader { input: input.to_owned(), max_release_bytes, state: State::Pending(reader) })
}

/// Maps one release object (a bare release, an element of a package's `releases`, or a record's
/// `compiledRelease`) to records. Parts that cannot be stored are left out, and the rejects
/// about them are appended to `repairs` with reasons starting "rejected:"; see
/// [`parse_release_parts`] for the same as separate items.
pub fn parse_release(location: Location, release: &Value) -> Parsed {
    match map_release(&location, release) {
        Err(reject) => Parsed::Rejected(reject),
        Ok(mapped) => {
            let mut repairs = mapped.repairs;
            repairs.extend(mapped.rejects.into_iter().map(|mut reject| {
                reject.reason = format!("rejected: {}", reject.reason);
                reject
            }));
            Parsed::Records { location, records: mapped.records, repairs }
        }
    }
}

/// Maps one release object to a `Parsed::Records` followed by one `Parsed::Rejected` per part
/// that could not be stored (what [`read`] yields), or to a single `Parsed::Rejected` when the
/// release as a whole cannot be read (not an object, no ocid).
pub fn parse_release_parts(location: Location, release: &Value) -> Vec<Parsed> {
    match map_release(&location, release) {
        Err(reject) => vec![Parsed::Rejected(reject)],
        Ok(mapped) => {
            let mut parts = Vec::with_capacity(1 + mapped.rejects.len());
            parts.push(Parsed::Records { location, records: mapped.records, repairs: mapped.repairs });
            parts.extend(mapped.rejects.into_iter().map(Parsed::Rejected));
            parts
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------------------------

struct Reader {
    input: String,
    max_release_bytes: u64,
    state: State,
}

enum State {
    Pending(Box<dyn Read + Send>),
    Running(Receiver<Parsed>),
    Done,
}

impl Iterator for Reader {
    type Item = Parsed;

    fn next(&mut self) -> Option<Parsed> {
        loop {
            match std::mem::replace(&mut self.state, State::Done) {
                State::Pending(reader) => {
                    self.state = State::Running(spawn(self.input.clone(), reader, self.max_release_bytes));
                }
                State::Running(receiver) => {
                    let parsed = receiver.recv().ok()?;
                    self.state = State::Running(receiver);
                    return Some(parsed);
                }
                State::Done => return None,
            }
        }
    }
}

/// Starts the worker that parses `reader` and sends what it finds; the channel closes when the
/// input is done, and the worker stops when the receiver is dropped.
fn spawn(input: String, reader: Box<dyn Read + Send>, max_release_bytes: u64) -> Receiver<Parsed> {
    let (sender, receiver) = mpsc::sync_channel(CHANNEL_BOUND);
    let worker_sender = sender.clone();
    let worker_input = input.clone();
    let spawned = std::thread::Builder::new().name("ocds-reader".into()).spawn(move || {
        let panic_sender = worker_sender.clone();
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
            let sink = Sink::new(&worker_input, worker_sender, max_release_bytes);
            let _ = run(&sink, reader);
            // The input is done, read to its end or up to where it broke: the releases still
            // waiting to be merged are mapped either way, unless nobody is listening any more.
            if !sink.stopped.get() {
                let _ = sink.flush_window();
            }
        }));
        if outcome.is_err() {
            let reason = "internal error: the OCDS reader failed; the rest of the input was not read";
            let _ = panic_sender.send(Parsed::Rejected(Reject::new(Location::new(worker_input, None), None, reason)));
        }
    });
    if let Err(error) = spawned {
        let reason = format!("cannot start the OCDS reader: {error}");
        let _ = sender.send(Parsed::Rejected(Reject::new(Location::new(input, None), None, reason)));
    }
    receiver
}

/// The consumer is gone (or the input cannot be read further): stop.
struct Stop;

/// Where the worker sends what it parses, and how it knows the line it is at.
struct Sink {
    input: String,
    sender: SyncSender<Parsed>,
    /// Newlines read so far by a document parse (see [`LineCounter`]).
    newlines: Rc<Cell<u64>>,
    /// The JSON Lines line being parsed; `None` in a document.
    line: Cell<Option<u64>>,
    stopped: Cell<bool>,
    /// Whether the input is gzip, for read errors' wording.
    gzip: Cell<bool>,
    /// The value being read whole and the input it has taken, against `max_release_bytes`.
    budget: Budget,
    /// Releases read but not yet mapped, grouped by ocid to be merged.
    window: RefCell<Window>,
}

impl Sink {
    fn new(input: &str, sender: SyncSender<Parsed>, max_release_bytes: u64) -> Self {
        Sink {
            input: input.to_owned(),
            sender,
            newlines: Rc::new(Cell::new(0)),
            line: Cell::new(None),
            stopped: Cell::new(false),
            gzip: Cell::new(false),
            budget: Budget::new(max_release_bytes),
            window: RefCell::new(Window::default()),
        }
    }

    /// Takes a release into the merge window; what it returns (the groups the window had to let
    /// go to stay within its bounds) is to be emitted now. `notes` are repairs about how the
    /// release was found, kept with its records.
    fn release(&self, location: Location, release: Value, bytes: u64, notes: Vec<String>) -> Vec<Parsed> {
        let Some(ocid) = text(release.get("ocid")) else {
            return with_notes(parse_release_parts(location, &release), &notes);
        };
        let mut window = self.window.borrow_mut();
        window.add(ocid, location, release, bytes, notes);
        let mut parts = Vec::new();
        while window.over_bounds() {
            match window.groups.pop_front() {
                Some(group) => parts.extend(window.release_group(group)),
                None => break,
            }
        }
        parts
    }

    /// Maps and sends every group still in the window, at the end of the input.
    fn flush_window(&self) -> Result<(), Stop> {
        let groups: Vec<Group> = {
            let mut window = self.window.borrow_mut();
            window.index.clear();
            window.bytes = 0;
            window.releases = 0;
            window.groups.drain(..).collect()
        };
        for group in groups {
            for parsed in group.parts() {
                self.send(parsed)?;
            }
        }
        Ok(())
    }

    /// The line the parser is at: the JSON Lines line, or in a document the line of the last
    /// byte read (the first byte of the value about to be parsed, which serde has peeked).
    fn position(&self) -> u64 {
        self.line.get().unwrap_or_else(|| self.newlines.get() + 1)
    }

    fn location(&self, position: u64) -> Location {
        Location::new(self.input.clone(), Some(position))
    }

    fn send(&self, parsed: Parsed) -> Result<(), Stop> {
        self.sender.send(parsed).map_err(|_| {
            self.stopped.set(true);
            Stop
        })
    }

    fn reject(&self, position: Option<u64>, reason: impl Into<String>) -> Result<(), Stop> {
        // What was read before the input broke comes first, so rejects keep the input's order.
        self.flush_window()?;
        self.send(Parsed::Rejected(Reject::new(Location::new(self.input.clone(), position), None, reason)))
    }

    /// Rejects what is left of the input after a read error, and stops.
    fn fail(&self, position: u64, error: &io::Error) -> Result<(), Stop> {
        let hint = if self.gzip.get() { " (a corrupt or cut-short gzip stream?)" } else { "" };
        self.reject(Some(position), format!("cannot read the input at line {position}{hint}: {error}"))?;
        Err(Stop)
    }

    fn emit<E: de::Error>(&self, parts: Vec<Parsed>) -> Result<(), E> {
        for parsed in parts {
            self.send(parsed).map_err(|_| E::custom("the reader was dropped"))?;
        }
        Ok(())
    }
}

/// The decompressed input and the number of newlines consumed from it.
struct Input {
    source: Box<dyn BufRead + Send>,
    newlines: u64,
}

impl Input {
    /// Skips whitespace (blank lines included); whether a non-blank byte follows.
    fn skip_blank(&mut self) -> io::Result<bool> {
        loop {
            let available = self.source.fill_buf()?;
            if available.is_empty() {
                return Ok(false);
            }
            let blank = available.iter().take_while(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n')).count();
            self.newlines += available[..blank].iter().filter(|b| **b == b'\n').count() as u64;
            let more = blank < available.len();
            self.source.consume(blank);
            if more {
                return Ok(true);
            }
        }
    }

    /// Reads up to the end of the line (newline included) or `limit` bytes; whether the line
    /// ended (by a newline or the end of the input) within the limit.
    fn read_line_capped(&mut self, limit: usize) -> io::Result<(Vec<u8>, bool)> {
        let mut line = Vec::new();
        loop {
            let available = self.source.fill_buf()?;
            if available.is_empty() {
                return Ok((line, true));
            }
            let room = limit.saturating_sub(line.len());
            if room == 0 {
                return Ok((line, false));
            }
            let window = &available[..available.len().min(room)];
            match window.iter().position(|b| *b == b'\n') {
                Some(end) => {
                    line.extend_from_slice(&window[..=end]);
                    self.source.consume(end + 1);
                    self.newlines += 1;
                    return Ok((line, true));
                }
                None => {
                    let taken = window.len();
                    line.extend_from_slice(window);
                    self.source.consume(taken);
                }
            }
        }
    }

    /// Skips the rest of the current line.
    fn skip_line(&mut self) -> io::Result<()> {
        loop {
            let available = self.source.fill_buf()?;
            if available.is_empty() {
                return Ok(());
            }
            match available.iter().position(|b| *b == b'\n') {
                Some(end) => {
                    self.source.consume(end + 1);
                    self.newlines += 1;
                    return Ok(());
                }
                None => {
                    let taken = available.len();
                    self.source.consume(taken);
                }
            }
        }
    }
}

/// Reads one line of the input (its newline included), then reports the end of input.
struct LineReader<'i> {
    input: &'i mut Input,
    ended: bool,
}

impl Read for LineReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.ended || buf.is_empty() {
            return Ok(0);
        }
        let available = self.input.source.fill_buf()?;
        if available.is_empty() {
            self.ended = true;
            return Ok(0);
        }
        let window = &available[..available.len().min(buf.len())];
        let taken = match window.iter().position(|b| *b == b'\n') {
            Some(end) => {
                self.ended = true;
                self.input.newlines += 1;
                end + 1
            }
            None => window.len(),
        };
        buf[..taken].copy_from_slice(&window[..taken]);
        self.input.source.consume(taken);
        Ok(taken)
    }
}

/// Counts the newlines read through it, so a document's parser knows its line.
struct LineCounter<R> {
    inner: R,
    newlines: Rc<Cell<u64>>,
}

impl<R: Read> Read for LineCounter<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let read = self.inner.read(buf)?;
        let newlines = buf[..read].iter().filter(|b| **b == b'\n').count() as u64;
        self.newlines.set(self.newlines.get() + newlines);
        Ok(read)
    }
}

/// A value read whole into memory (a release, a record, a top-level document): what it is and
/// where it starts, for the reject when it is too large.
#[derive(Debug, Clone, Copy)]
struct Counted {
    /// "release", "record", "release package", "document", ...
    what: &'static str,
    line: u64,
    /// Whether it is the top-level value (in JSON Lines, the whole line).
    top: bool,
}

/// The value being read whole and the bytes of input it has taken so far. The visitors mark where
/// each value starts; [`SizeLimit`] counts what the parser reads and stops it when the value
/// takes more than `limit`, which bounds the memory one huge release can take.
struct Budget {
    limit: u64,
    /// The value being read; `None` between the elements of a streamed array and after the
    /// top-level value, where the parser reads only whitespace, commas and brackets, and keeps
    /// none of them.
    current: Cell<Option<Counted>>,
    /// Bytes `current` has taken.
    used: Cell<u64>,
}

/// What [`Budget::save`] saved: the value being read around a streamed array.
struct Saved {
    current: Option<Counted>,
    used: u64,
}

impl Budget {
    fn new(limit: u64) -> Self {
        Budget { limit, current: Cell::new(None), used: Cell::new(0) }
    }

    /// Starts counting a value that has already taken `used` bytes (the parser has read its first
    /// byte when it hands it to a visitor).
    fn start(&self, counted: Counted, used: u64) {
        self.current.set(Some(counted));
        self.used.set(used);
    }

    /// Stops counting: the value is read.
    fn pause(&self) {
        self.current.set(None);
    }

    /// Names the value being read anew, once its keys tell what it is.
    fn rename(&self, what: &'static str) {
        if let Some(counted) = self.current.get() {
            self.current.set(Some(Counted { what, ..counted }));
        }
    }

    fn save(&self) -> Saved {
        Saved { current: self.current.get(), used: self.used.get() }
    }

    /// Goes back to counting the value around a streamed array, whose elements were counted
    /// apart.
    fn restore(&self, saved: Saved) {
        self.current.set(saved.current);
        self.used.set(saved.used);
    }
}

/// The read error [`SizeLimit`] stops the parser with: a value larger than the limit. Told apart
/// from a real read error by its type, since it is a reject and not a failure of the input.
#[derive(Debug, Clone, Copy)]
struct TooLarge {
    counted: Counted,
    limit: u64,
}

impl TooLarge {
    /// The size limit that stopped a parse, if that is what stopped it.
    fn of(error: &io::Error) -> Option<TooLarge> {
        error.get_ref()?.downcast_ref::<TooLarge>().copied()
    }
}

impl fmt::Display for TooLarge {
    fn fmt(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        let Counted { what, line, .. } = self.counted;
        write!(formatter, "{what} at line {line} is larger than the {} limit (max_release_bytes)", bytes(self.limit))
    }
}

impl std::error::Error for TooLarge {}

/// A size for people: whole MiB or KiB when it is one, else bytes.
fn bytes(size: u64) -> String {
    const KIB: u64 = 1 << 10;
    const MIB: u64 = 1 << 20;
    if size >= MIB && size.is_multiple_of(MIB) {
        format!("{} MiB", size / MIB)
    } else if size >= KIB && size.is_multiple_of(KIB) {
        format!("{} KiB", size / KIB)
    } else {
        format!("{size} B")
    }
}

/// The reader serde_json parses from: counts the bytes of the value being read (the parser reads
/// one byte at a time, so the count is exact) and fails with [`TooLarge`] instead of reading a
/// byte past the limit, so the parser stops mid-string rather than buffer the rest of it.
struct SizeLimit<'b, R> {
    inner: R,
    budget: &'b Budget,
}

impl<R: Read> Read for SizeLimit<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let Some(counted) = self.budget.current.get() else { return self.inner.read(buf) };
        let used = self.budget.used.get();
        let room = self.budget.limit.saturating_sub(used);
        if room == 0 && !buf.is_empty() {
            return Err(io::Error::other(TooLarge { counted, limit: self.budget.limit }));
        }
        let wanted = buf.len().min(usize::try_from(room).unwrap_or(usize::MAX));
        let read = self.inner.read(&mut buf[..wanted])?;
        self.budget.used.set(used + read as u64);
        Ok(read)
    }
}

/// What stopped a parse.
enum Failure {
    /// A value over the size limit.
    TooLarge(TooLarge),
    /// The input could not be read (the message of the parse error).
    Read(String),
    /// The JSON is broken, or not OCDS.
    Json(serde_json::Error),
}

impl From<serde_json::Error> for Failure {
    fn from(error: serde_json::Error) -> Self {
        if !error.is_io() {
            return Failure::Json(error);
        }
        let message = error.to_string();
        match TooLarge::of(&io::Error::from(error)) {
            Some(too_large) => Failure::TooLarge(too_large),
            None => Failure::Read(message),
        }
    }
}

/// The worker: detects the format and parses the whole input.
fn run(sink: &Sink, reader: Box<dyn Read + Send>) -> Result<(), Stop> {
    let mut source: Box<dyn BufRead + Send> = Box::new(BufReader::with_capacity(BUFFER, reader));
    let gzip = match source.fill_buf() {
        Ok(head) => head.starts_with(&[0x1f, 0x8b]),
        Err(error) => return sink.fail(1, &error),
    };
    if gzip {
        sink.gzip.set(true);
        source = Box::new(BufReader::with_capacity(BUFFER, MultiGzDecoder::new(source)));
    }
    let mut input = Input { source, newlines: 0 };
    match input.source.fill_buf() {
        Ok(head) if head.starts_with(b"\xef\xbb\xbf") => input.source.consume(3),
        Ok(_) => {}
        Err(error) => return sink.fail(1, &error),
    }
    match input.skip_blank() {
        Ok(true) => {}
        Ok(false) => return sink.reject(None, "the input is empty"),
        Err(error) => return sink.fail(1, &error),
    }
    let before_first = input.newlines;
    let first_line = before_first + 1;
    let (first, complete) = match input.read_line_capped(PROBE_LIMIT) {
        Ok(read) => read,
        Err(error) => return sink.fail(first_line, &error),
    };
    if !matches!(first.first(), Some(b'{' | b'[')) {
        let start: String = String::from_utf8_lossy(&first[..first.len().min(40)]).trim_end().to_owned();
        let hint = if start.starts_with('<') { " (an HTML or XML page?)" } else { "" };
        return sink
            .reject(Some(first_line), format!("the input is not JSON: line {first_line} starts with {start:?}{hint}"));
    }
    if !complete {
        // A first line over the probe limit: a JSON Lines line (or one-line document), streamed.
        sink.line.set(Some(first_line));
        let mut reader = Cursor::new(first).chain(LineReader { input: &mut input, ended: false });
        let result = parse_stream(sink, &mut reader);
        let ended = reader.get_ref().1.ended;
        finish_line(sink, &mut input, first_line, result, ended)?;
        return json_lines(sink, &mut input);
    }
    match serde_json::from_slice::<IgnoredAny>(&first) {
        Ok(_) => {
            sink.line.set(Some(first_line));
            finish_line(sink, &mut input, first_line, parse_stream(sink, first.as_slice()), true)?;
            json_lines(sink, &mut input)
        }
        Err(error) if error.is_eof() => {
            // The opening of a document, or a JSON Lines file whose first line is cut short:
            // the second line tells.
            let mut prefix = first;
            let before_gap = input.newlines;
            let more = match input.skip_blank() {
                Ok(more) => more,
                Err(error) => return sink.fail(input.newlines + 1, &error),
            };
            if more {
                prefix.extend(std::iter::repeat_n(b'\n', (input.newlines - before_gap) as usize));
                let second_line = input.newlines + 1;
                let (second, complete) = match input.read_line_capped(PROBE_LIMIT) {
                    Ok(read) => read,
                    Err(error) => return sink.fail(second_line, &error),
                };
                if complete && second.first() == Some(&b'{') && serde_json::from_slice::<IgnoredAny>(&second).is_ok() {
                    sink.reject(Some(first_line), describe(&error, first_line))?;
                    sink.line.set(Some(second_line));
                    finish_line(sink, &mut input, second_line, parse_stream(sink, second.as_slice()), true)?;
                    return json_lines(sink, &mut input);
                }
                prefix.extend_from_slice(&second);
            }
            document(sink, prefix, &mut input, before_first)
        }
        Err(error) => {
            sink.reject(Some(first_line), describe(&error, first_line))?;
            json_lines(sink, &mut input)
        }
    }
}

/// Parses the rest of a JSON Lines input, one line at a time.
fn json_lines(sink: &Sink, input: &mut Input) -> Result<(), Stop> {
    loop {
        match input.skip_blank() {
            Ok(true) => {}
            Ok(false) => return Ok(()),
            Err(error) => return sink.fail(input.newlines + 1, &error),
        }
        let line = input.newlines + 1;
        sink.line.set(Some(line));
        let mut reader = LineReader { input: &mut *input, ended: false };
        let result = parse_stream(sink, &mut reader);
        let ended = reader.ended;
        finish_line(sink, input, line, result, ended)?;
    }
}

/// Reports a JSON Lines line that could not be parsed, and skips what is left of it.
fn finish_line(
    sink: &Sink,
    input: &mut Input,
    line: u64,
    result: serde_json::Result<()>,
    ended: bool,
) -> Result<(), Stop> {
    let Err(error) = result else { return Ok(()) };
    if sink.stopped.get() {
        return Err(Stop);
    }
    match Failure::from(error) {
        Failure::Read(message) => return sink.fail(line, &io::Error::other(message)),
        Failure::TooLarge(too_large) => {
            let skipped = if too_large.counted.top { "skipped" } else { "skipped, with the rest of its line" };
            sink.reject(Some(too_large.counted.line), format!("{too_large}; {skipped}"))?;
        }
        Failure::Json(error) => sink.reject(Some(line), describe(&error, line))?,
    }
    if !ended && let Err(error) = input.skip_line() {
        return sink.fail(line, &error);
    }
    Ok(())
}

/// Parses a (possibly pretty-printed) document: `prefix` holds its first lines, already read,
/// which started after `before` newlines.
fn document(sink: &Sink, prefix: Vec<u8>, input: &mut Input, before: u64) -> Result<(), Stop> {
    sink.line.set(None);
    sink.newlines.set(before);
    let reader = LineCounter { inner: Cursor::new(prefix).chain(&mut input.source), newlines: sink.newlines.clone() };
    let Err(error) = parse_stream(sink, reader) else { return Ok(()) };
    if sink.stopped.get() {
        return Err(Stop);
    }
    let line = if error.line() == 0 { sink.newlines.get() + 1 } else { error.line() as u64 + before };
    match Failure::from(error) {
        Failure::Read(message) => sink.fail(line, &io::Error::other(message)),
        Failure::TooLarge(too_large) => sink.reject(
            Some(too_large.counted.line),
            format!("{too_large}; neither it nor the rest of the input was read"),
        ),
        Failure::Json(error) => sink.reject(Some(line), describe(&error, line)),
    }
}

/// Parses one top-level value (a document, or a JSON Lines line) from `reader`, each value read
/// whole held to the size limit.
fn parse_stream<R: Read>(sink: &Sink, reader: R) -> serde_json::Result<()> {
    sink.budget.start(Counted { what: "document", line: sink.position(), top: true }, 0);
    let mut deserializer = serde_json::Deserializer::from_reader(SizeLimit { inner: reader, budget: &sink.budget });
    DocumentSeed { sink }.deserialize(&mut deserializer)?;
    // Only whitespace may follow, which the parser does not keep.
    sink.budget.pause();
    deserializer.end()
}

/// A reject reason for a parse error at `line` (serde's own line is relative to the parse).
fn describe(error: &serde_json::Error, line: u64) -> String {
    let full = error.to_string();
    let suffix = format!(" at line {} column {}", error.line(), error.column());
    let message = full.strip_suffix(&suffix).unwrap_or(&full);
    let column = error.column();
    match error.classify() {
        Category::Eof => format!("the JSON is cut short (truncated) at line {line}, column {column}: {message}"),
        Category::Syntax => format!("the JSON is malformed at line {line}, column {column}: {message}"),
        Category::Data => format!("not an OCDS release, release package or record package (line {line}): {message}"),
        Category::Io => format!("cannot read the input at line {line}: {message}"),
    }
}

/// The top-level value of a document or JSON Lines line.
struct DocumentSeed<'s> {
    sink: &'s Sink,
}

impl<'de> DeserializeSeed<'de> for DocumentSeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for DocumentSeed<'_> {
    type Value = ();

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("an OCDS release package, record package or release (a JSON object)")
    }

    /// A package's `releases`/`records` array is streamed; anything else (package metadata, or
    /// the whole of a bare release or record) is kept and mapped at the end of the object.
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let position = self.sink.position();
        let mut rest = Map::new();
        let mut streamed = None;
        while let Some(key) = map.next_key::<String>()? {
            // A bare record has `releases` too, after its `ocid`: keep it whole.
            let kind = match key.as_str() {
                "releases" if !rest.contains_key("ocid") => Some(Kind::Releases),
                "records" => Some(Kind::Records),
                _ => None,
            };
            self.sink.budget.rename(document_kind(&rest, &key, streamed.or(kind)));
            match kind {
                Some(kind) => {
                    map.next_value_seed(ItemsSeed { sink: self.sink, kind })?;
                    streamed = Some(kind);
                }
                None => {
                    let value: Value = map.next_value()?;
                    rest.insert(key, value);
                }
            }
        }
        if streamed.is_none() {
            let bytes = self.sink.budget.used.get();
            let parts = value_parts(self.sink, self.sink.location(position), Value::Object(rest), bytes, Vec::new());
            self.sink.emit(parts)?;
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        ItemsSeed { sink: self.sink, kind: Kind::Documents }.visit_seq(seq)
    }
}

/// What a top-level object is, from its keys read so far and `key`, about to be read: for the
/// reject when it is too large (its releases or records, if streamed, are counted apart).
fn document_kind(rest: &Map<String, Value>, key: &str, streamed: Option<Kind>) -> &'static str {
    let has = |name: &str| key == name || rest.contains_key(name);
    match streamed {
        Some(Kind::Records) => "record package",
        Some(_) => "release package",
        None if has("ocid") && (has("compiledRelease") || has("releases")) => "record",
        None if has("ocid") => "release",
        None => "document",
    }
}

/// What the elements of a streamed array are.
#[derive(Clone, Copy)]
enum Kind {
    Releases,
    Records,
    /// A top-level array (not OCDS): each element is a release or package.
    Documents,
}

impl Kind {
    /// What to emit now for one element: a release goes to the merge window (and what comes out
    /// of it is emitted), a record is compiled and mapped at once. `notes` are repairs about how
    /// the element was found.
    fn parts(self, sink: &Sink, location: Location, value: Value, bytes: u64, mut notes: Vec<String>) -> Vec<Parsed> {
        match self {
            Kind::Releases => sink.release(location, value, bytes, notes),
            Kind::Records => with_notes(record_parts(location, &value), &notes),
            Kind::Documents => {
                notes.push("the input is a JSON array, not a release or record package".into());
                value_parts(sink, location, value, bytes, notes)
            }
        }
    }

    fn field(self) -> &'static str {
        match self {
            Kind::Releases => "releases",
            Kind::Records => "records",
            Kind::Documents => "the input",
        }
    }

    /// One element, in a reject's reason.
    fn element(self) -> &'static str {
        match self {
            Kind::Releases => "release",
            Kind::Records => "record",
            Kind::Documents => "document",
        }
    }
}

/// A package's `releases` or `records`, visited one element at a time.
struct ItemsSeed<'s> {
    sink: &'s Sink,
    kind: Kind,
}

impl<'de> DeserializeSeed<'de> for ItemsSeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ItemsSeed<'_> {
    type Value = ();

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        write!(formatter, "an array of {}", self.kind.field())
    }

    /// Each element is counted against the size limit on its own, and the value around the
    /// array (a package's own fields) goes on being counted after it.
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let around = self.sink.budget.save();
        while seq.next_element_seed(ItemSeed { sink: self.sink, kind: self.kind })?.is_some() {}
        self.sink.budget.restore(around);
        Ok(())
    }

    /// One release or record as an object instead of an array of one.
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        let position = self.sink.position();
        let around = self.sink.budget.save();
        // The parser has read the object's `{`.
        self.sink.budget.start(Counted { what: self.kind.element(), line: position, top: false }, 1);
        let value = Value::deserialize(de::value::MapAccessDeserializer::new(map))?;
        let bytes = self.sink.budget.used.get();
        self.sink.budget.restore(around);
        let note = format!("{} is an object, not an array", self.kind.field());
        self.sink.emit(self.kind.parts(self.sink, self.sink.location(position), value, bytes, vec![note]))
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
}

struct ItemSeed<'s> {
    sink: &'s Sink,
    kind: Kind,
}

impl<'de> DeserializeSeed<'de> for ItemSeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        let position = self.sink.position();
        // The parser has read the element's first byte to find it.
        self.sink.budget.start(Counted { what: self.kind.element(), line: position, top: false }, 1);
        let value = Value::deserialize(deserializer)?;
        let bytes = self.sink.budget.used.get();
        // Up to the next element come only whitespace and a comma.
        self.sink.budget.pause();
        self.sink.emit(self.kind.parts(self.sink, self.sink.location(position), value, bytes, Vec::new()))
    }
}

fn add_repair(parts: &mut [Parsed], reason: &str) {
    if let Some(Parsed::Records { location, repairs, .. }) =
        parts.iter_mut().find(|parsed| matches!(parsed, Parsed::Records { .. }))
    {
        repairs.push(Reject::new(location.clone(), None, reason));
    }
}

/// A JSON value read whole: a package, a record or a release. `bytes` is the input it took.
fn value_parts(sink: &Sink, location: Location, value: Value, bytes: u64, notes: Vec<String>) -> Vec<Parsed> {
    let Value::Object(mut object) = value else {
        let reason = format!("not an OCDS release or package: the value is {}", kind_of(&value));
        return vec![Parsed::Rejected(Reject::new(location, None, reason))];
    };
    let has_ocid = object.contains_key("ocid");
    if !has_ocid && (object.contains_key("releases") || object.contains_key("records")) {
        let mut parts = Vec::new();
        for (field, kind) in [("releases", Kind::Releases), ("records", Kind::Records)] {
            match object.remove(field) {
                Some(Value::Array(items)) => {
                    // The package was read whole: its elements share its size evenly.
                    let each = bytes / (items.len() as u64).max(1);
                    for item in items {
                        parts.extend(kind.parts(sink, location.clone(), item, each, notes.clone()));
                    }
                }
                Some(item @ Value::Object(_)) => {
                    let mut notes = notes.clone();
                    notes.push(format!("{field} is an object, not an array"));
                    parts.extend(kind.parts(sink, location.clone(), item, bytes, notes));
                }
                _ => {}
            }
        }
        return parts;
    }
    let value = Value::Object(object);
    if has_ocid && (value.get("compiledRelease").is_some() || value.get("releases").is_some()) {
        return with_notes(record_parts(location, &value), &notes);
    }
    if has_ocid {
        return sink.release(location, value, bytes, notes);
    }
    let reason = "neither a release (no ocid), a release package (no releases) nor a record package (no records)";
    vec![Parsed::Rejected(Reject::new(location, None, reason))]
}

/// `parts` with each note added to its records as a repair.
fn with_notes(mut parts: Vec<Parsed>, notes: &[String]) -> Vec<Parsed> {
    for note in notes {
        add_repair(&mut parts, note);
    }
    parts
}

// ---------------------------------------------------------------------------------------------
// Merging
// ---------------------------------------------------------------------------------------------

/// The most releases the merge window holds; past it, the group first seen longest ago is mapped.
/// Publishers write a process's releases together (a record's, a day's changes), so a window
/// of this size finds them; releases of one process further apart are merged in separate groups,
/// each applied on top of what the earlier stored.
const WINDOW_RELEASES: usize = 1024;
/// The most input the releases in the window may have taken, bounding its memory whatever the
/// publisher sends (one release may be up to `max_release_bytes`: it is mapped on its own).
const WINDOW_BYTES: u64 = 16 * 1024 * 1024;

/// Releases of one contracting process waiting to be merged.
struct Group {
    ocid: String,
    /// Where its first release was read: the location of the records it maps to.
    location: Location,
    releases: Vec<Value>,
    notes: Vec<String>,
    /// The input its releases took.
    bytes: u64,
}

impl Group {
    /// The group's records: of its one release, or of the compiled release the OCDS merge
    /// routine makes of several (latest value of every field, in order of `date`), so that the
    /// store holds the process as the publisher's record compiles it and reading the same
    /// package again changes nothing.
    fn parts(mut self) -> Vec<Parsed> {
        let parts = if self.releases.len() == 1 {
            let release = self.releases.pop().expect("one release");
            parse_release_parts(self.location, &release)
        } else {
            parse_release_parts(self.location, &domain::ocds::merge::compile(self.releases))
        };
        with_notes(parts, &self.notes)
    }
}

/// Releases grouped by ocid, in order of each group's first release.
#[derive(Default)]
struct Window {
    groups: std::collections::VecDeque<Group>,
    /// ocid → the group's sequence number; the front group's is `popped`.
    index: HashMap<String, u64>,
    popped: u64,
    releases: usize,
    bytes: u64,
}

impl Window {
    fn add(&mut self, ocid: String, location: Location, release: Value, bytes: u64, notes: Vec<String>) {
        self.releases += 1;
        self.bytes = self.bytes.saturating_add(bytes);
        if let Some(&seq) = self.index.get(&ocid) {
            let group = &mut self.groups[(seq - self.popped) as usize];
            group.releases.push(release);
            group.notes.extend(notes);
            group.bytes = group.bytes.saturating_add(bytes);
            return;
        }
        self.index.insert(ocid.clone(), self.popped + self.groups.len() as u64);
        self.groups.push_back(Group { ocid, location, releases: vec![release], notes, bytes });
    }

    fn over_bounds(&self) -> bool {
        self.releases > WINDOW_RELEASES || self.bytes > WINDOW_BYTES
    }

    /// Maps a group taken from the front, and forgets it.
    fn release_group(&mut self, group: Group) -> Vec<Parsed> {
        self.popped += 1;
        self.index.remove(&group.ocid);
        self.releases -= group.releases.len();
        self.bytes = self.bytes.saturating_sub(group.bytes);
        group.parts()
    }
}

/// One record of a record package.
fn record_parts(location: Location, record: &Value) -> Vec<Parsed> {
    let Some(object) = record.as_object() else {
        let reason = format!("the record is {}, not an object", kind_of(record));
        return vec![Parsed::Rejected(Reject::new(location, None, reason))];
    };
    let ocid = text(object.get("ocid"));
    let with_ocid = |release: &Value, what: &str| -> (Value, Option<String>) {
        let mut release = release.clone();
        let mut repair = None;
        if let (Some(ocid), Some(fields)) = (&ocid, release.as_object_mut())
            && text(fields.get("ocid")).is_none()
        {
            fields.insert("ocid".into(), Value::String(ocid.clone()));
            repair = Some(format!("{what} has no ocid; the record's ocid is used"));
        }
        (release, repair)
    };
    if let Some(compiled) = object.get("compiledRelease").filter(|value| value.is_object()) {
        if text(compiled.get("ocid")).is_some() {
            return parse_release_parts(location, compiled);
        }
        let (release, repair) = with_ocid(compiled, "compiledRelease");
        let mut parts = parse_release_parts(location, &release);
        if let Some(repair) = repair {
            add_repair(&mut parts, &repair);
        }
        return parts;
    }
    let releases: Vec<&Value> = match object.get("releases") {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(item @ Value::Object(_)) => vec![item],
        _ => Vec::new(),
    };
    let (full, linked): (Vec<&Value>, Vec<&Value>) =
        releases.into_iter().partition(|release| release.get("ocid").is_some() || release.get("id").is_some());
    let name = ocid.as_deref().unwrap_or("without an ocid");
    if full.is_empty() {
        let reason = if linked.is_empty() {
            format!("record {name} has neither a compiledRelease nor releases")
        } else {
            format!(
                "record {name} has no compiledRelease and its {} releases are only links (url); it cannot be read \
                 without fetching them",
                linked.len()
            )
        };
        return vec![Parsed::Rejected(Reject::new(location, ocid, reason))];
    }
    // The record's releases compile into its compiled release, as the OCDS merge routine does
    // (the publisher left that to the reader).
    let mut repairs = Vec::new();
    let releases: Vec<Value> = full
        .into_iter()
        .enumerate()
        .map(|(index, release)| {
            let (release, repair) = with_ocid(release, &format!("release {}", index + 1));
            repairs.extend(repair);
            release
        })
        .collect();
    let compiled = if releases.len() == 1 {
        releases.into_iter().next().expect("one release")
    } else {
        domain::ocds::merge::compile(releases)
    };
    let mut parts = with_notes(parse_release_parts(location.clone(), &compiled), &repairs);
    if !linked.is_empty() {
        let reason = format!(
            "record {name}: {} of its releases are only links (url) and were not read; the full ones were",
            linked.len()
        );
        parts.push(Parsed::Rejected(Reject::new(location, ocid, reason)));
    }
    parts
}

// ---------------------------------------------------------------------------------------------
// Mapping
// ---------------------------------------------------------------------------------------------

/// What one release maps to.
struct Mapped {
    records: Vec<Record>,
    repairs: Vec<Reject>,
    rejects: Vec<Reject>,
}

fn map_release(location: &Location, release: &Value) -> Result<Mapped, Reject> {
    let Some(object) = release.as_object() else {
        let reason = format!("the release is {}, not an object", kind_of(release));
        return Err(Reject::new(location.clone(), None, reason));
    };
    let Some(ocid) = text(object.get("ocid")) else {
        return Err(Reject::new(location.clone(), text(object.get("id")), "the release has no ocid"));
    };
    let mut mapper = Mapper::new(location.clone(), ocid, object);
    let records = mapper.map(object);
    Ok(Mapped { records, repairs: mapper.repairs, rejects: mapper.rejects })
}

/// A timestamp, in UTC and as the local date it was written with.
#[derive(Debug, Clone, Copy)]
struct Stamp {
    utc: DateTime<Utc>,
    local: NaiveDate,
}

fn stamp_of(text: &str) -> Result<Stamp, String> {
    let trimmed = text.trim();
    if let Ok(parsed) = DateTime::parse_from_rfc3339(trimmed) {
        return Ok(Stamp { utc: parsed.with_timezone(&Utc), local: parsed.date_naive() });
    }
    let utc = parse::timestamp_to_utc(trimmed)?;
    let local = trimmed.get(..10).and_then(|date| NaiveDate::parse_from_str(date, "%Y-%m-%d").ok());
    Ok(Stamp { utc, local: local.unwrap_or_else(|| utc.date_naive()) })
}

/// Which slot of a `LocalizedName` the release's texts go in.
#[derive(Debug, Clone, Copy)]
enum Slot {
    Ru,
    Kk,
    En,
}

impl Slot {
    fn of(language: Option<String>) -> Slot {
        let language = language.unwrap_or_default().to_ascii_lowercase();
        match language.split(['-', '_']).next().unwrap_or_default() {
            "kk" | "kz" => Slot::Kk,
            "en" => Slot::En,
            _ => Slot::Ru,
        }
    }

    fn name(self, text: Option<String>) -> LocalizedName {
        let mut name = LocalizedName::default();
        match self {
            Slot::Ru => name.ru = text,
            Slot::Kk => name.kk = text,
            Slot::En => name.en = text,
        }
        name
    }
}

/// What the rest of the release needs to know of its tender.
enum TenderState {
    /// The release has no tender object: lots are those of an earlier release.
    Absent,
    /// The tender could not be stored, nor anything under it.
    Rejected,
    Stored {
        status: TenderStatus,
        name: LocalizedName,
        amount: Amount,
        /// The tender's lots in order, and whether each was stored.
        lots: Vec<(String, bool)>,
        /// Quantity of the tender's only item, for the synthetic lot.
        quantity: String,
        /// Whether a bid or award needs the synthetic whole-tender lot.
        synthetic: bool,
    },
}

/// What a contract needs to know of an award.
struct AwardInfo<'a> {
    upstream: String,
    lot: Option<String>,
    suppliers: Vec<&'a Value>,
    suppliers_path: String,
    withdrawn: bool,
}

/// What amendments and payments need to know of a contract.
struct ContractInfo {
    upstream: String,
    stored: bool,
    amount: Option<Amount>,
    supplier: Option<OrgRef>,
    description: LocalizedName,
    amendments: usize,
}

struct Mapper<'a> {
    location: Location,
    ocid: String,
    /// The ocid prefix (`ocds-213czf`): the publisher, namespacing identifiers without a scheme.
    publisher: String,
    slot: Slot,
    release_date: Option<Stamp>,
    parties: HashMap<String, &'a Map<String, Value>>,
    /// The currency of a zero amount nobody stated: the tender's, else `XXX`.
    fallback_currency: String,
    repairs: Vec<Reject>,
    rejects: Vec<Reject>,
    /// `(record id, reason)` of the repairs reported, so that one seen twice (an organisation
    /// referenced by an award and again by its contract) is reported once.
    reported: HashSet<(String, String)>,
}

impl<'a> Mapper<'a> {
    fn new(location: Location, ocid: String, release: &'a Map<String, Value>) -> Self {
        let publisher = match ocid.match_indices('-').nth(1) {
            Some((end, _)) => ocid[..end].to_owned(),
            None => ocid.clone(),
        };
        let tender = release.get("tender");
        let fallback_currency = ["value", "minValue"]
            .iter()
            .filter_map(|field| text(tender.and_then(|t| t.get(field)).and_then(|v| v.get("currency"))))
            .find(|currency| parse_currency(currency).is_ok())
            .unwrap_or_else(|| NO_CURRENCY.to_owned());
        let mut mapper = Mapper {
            location,
            publisher,
            slot: Slot::of(text(release.get("language"))),
            release_date: None,
            parties: HashMap::new(),
            fallback_currency,
            repairs: Vec::new(),
            rejects: Vec::new(),
            reported: HashSet::new(),
            ocid,
        };
        let ocid = mapper.ocid.clone();
        mapper.release_date = mapper.stamp(release.get("date"), "date", &ocid);
        for party in mapper.list(release.get("parties"), "parties", &ocid) {
            if let (Some(fields), Some(id)) = (party.as_object(), text(party.get("id"))) {
                mapper.parties.insert(id, fields);
            }
        }
        mapper
    }

    fn repair(&mut self, record_id: &str, reason: impl Into<String>) {
        let reason = reason.into();
        if self.reported.insert((record_id.to_owned(), reason.clone())) {
            self.repairs.push(Reject::new(self.location.clone(), Some(record_id.to_owned()), reason));
        }
    }

    fn reject(&mut self, record_id: &str, reason: impl Into<String>) {
        self.rejects.push(Reject::new(self.location.clone(), Some(record_id.to_owned()), reason));
    }

    /// The elements of an array field; an object stands for an array of one (a repair).
    fn list(&mut self, value: Option<&'a Value>, path: &str, record_id: &str) -> Vec<&'a Value> {
        match value {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items.iter().collect(),
            Some(object @ Value::Object(_)) => {
                self.repair(record_id, format!("{path} is an object, not an array"));
                vec![object]
            }
            Some(other) => {
                self.repair(record_id, format!("{path} is {}, not an array; ignored", kind_of(other)));
                Vec::new()
            }
        }
    }

    /// A timestamp field; `None` when missing, or unreadable (a repair).
    fn stamp(&mut self, value: Option<&Value>, path: &str, record_id: &str) -> Option<Stamp> {
        let raw = text(value)?;
        match stamp_of(&raw) {
            Ok(stamp) => Some(stamp),
            Err(error) => {
                self.repair(record_id, format!("{path} is not a date-time: {error}"));
                None
            }
        }
    }

    /// The first date among `candidates`, else the release date; a repair when it is not the first.
    fn date_chain(&mut self, candidates: &[(&str, Option<&Value>)], record_id: &str, what: &str) -> Option<Stamp> {
        let first = candidates.first().map_or("date", |(path, _)| *path);
        for (index, (path, value)) in candidates.iter().enumerate() {
            if let Some(stamp) = self.stamp(*value, path, record_id) {
                if index > 0 {
                    self.repair(record_id, format!("{first} is missing; {path} is used as {what}"));
                }
                return Some(stamp);
            }
        }
        let date = self.release_date?;
        self.repair(record_id, format!("{first} is missing; the release date is used as {what}"));
        Some(date)
    }

    /// An OCDS Value object. `Ok(None)` when the value or its amount is missing; `Err` rejects
    /// the record (unreadable or negative amount, missing or invalid currency).
    fn amount(&mut self, value: Option<&Value>, path: &str, record_id: &str) -> Result<Option<Amount>, String> {
        let Some(value) = value.filter(|value| !value.is_null()) else { return Ok(None) };
        let Some(fields) = value.as_object() else {
            return Err(format!("{path} is {}, not a Value object with amount and currency", kind_of(value)));
        };
        let raw = match fields.get("amount") {
            None | Some(Value::Null) => return Ok(None),
            Some(raw) => raw,
        };
        let decimal = match raw {
            Value::Number(_) => parse::decimal(raw).map_err(|error| format!("{path}.amount: {error}"))?,
            Value::String(written) => {
                let decimal = parse::decimal_text(written).map_err(|error| format!("{path}.amount: {error}"))?;
                self.repair(record_id, format!("{path}.amount is text ({written:?}), not a number"));
                decimal
            }
            other => return Err(format!("{path}.amount is {}, not a number", kind_of(other))),
        };
        if decimal.is_sign_negative() && !decimal.is_zero() {
            return Err(format!("{path}.amount is negative ({decimal})"));
        }
        let mut decimal = decimal.normalize();
        if decimal.scale() > 2 {
            let rounded = decimal.round_dp_with_strategy(2, RoundingStrategy::MidpointNearestEven);
            self.repair(
                record_id,
                format!("{path}.amount {decimal} has more than 2 decimals; rounded half to even to {rounded}"),
            );
            decimal = rounded;
        }
        let minor_units = parse::minor_units(decimal).map_err(|error| format!("{path}.amount: {error}"))?;
        let currency = match fields.get("currency") {
            None | Some(Value::Null) => return Err(format!("{path}.currency is missing")),
            Some(Value::String(code)) => {
                let (repaired, repair) = parse::repaired_code(code);
                let currency = parse_currency(&repaired)
                    .map_err(|_| format!("{path}.currency {code:?} is not an ISO 4217 currency code"))?;
                if let Some(repair) = repair {
                    self.repair(record_id, format!("{path}.currency: {repair}"));
                }
                currency
            }
            Some(other) => return Err(format!("{path}.currency is {}, not a currency code", kind_of(other))),
        };
        let vat_included = self.vat(fields.get("valueAddedTaxIncluded"), path, record_id);
        Ok(Some(Amount { minor_units, exchange_rate: rate(&currency), currency, vat_included }))
    }

    fn vat(&mut self, value: Option<&Value>, path: &str, record_id: &str) -> bool {
        match value {
            None | Some(Value::Null) => true,
            Some(Value::Bool(included)) => *included,
            Some(other) => {
                let kind = kind_of(other);
                self.repair(
                    record_id,
                    format!("{path}.valueAddedTaxIncluded is {kind}, not a boolean; VAT taken as included"),
                );
                true
            }
        }
    }

    /// A zero amount standing for a missing one (a repair), in the value's currency if it states
    /// a valid one, else `currency`.
    fn zero(&mut self, value: Option<&Value>, path: &str, record_id: &str, currency: &str) -> Amount {
        let fields = value.and_then(Value::as_object);
        let stated = text(fields.and_then(|fields| fields.get("currency"))).filter(|code| parse_currency(code).is_ok());
        let currency = stated.unwrap_or_else(|| currency.to_owned());
        let vat_included = self.vat(fields.and_then(|fields| fields.get("valueAddedTaxIncluded")), path, record_id);
        let what = if fields.is_some() { format!("{path}.amount") } else { path.to_owned() };
        self.repair(record_id, format!("{what} is missing; the amount is stored as 0"));
        Amount { minor_units: 0, exchange_rate: rate(&currency), currency, vat_included }
    }

    fn amount_or_zero(
        &mut self,
        value: Option<&Value>,
        path: &str,
        record_id: &str,
        currency: &str,
    ) -> Result<Amount, String> {
        match self.amount(value, path, record_id)? {
            Some(amount) => Ok(amount),
            None => Ok(self.zero(value, path, record_id, currency)),
        }
    }

    /// An organisation reference (`{id, name}` into `parties`, or an OCDS 1.0 organisation with
    /// its identifier inline); `None` when it names nobody.
    fn org(&mut self, reference: &Value, path: &str, kind: OrganizationKind, record_id: &str) -> Option<OrgRef> {
        let fields = reference.as_object()?;
        let id = text(fields.get("id"));
        let party = id.as_ref().and_then(|id| self.parties.get(id).copied());
        if let (Some(id), None) = (&id, party) {
            self.repair(record_id, format!("{path}.id {id:?} is not among the release's parties"));
        }
        let identifier = party
            .and_then(|party| party.get("identifier"))
            .or_else(|| fields.get("identifier"))
            .filter(|value| value.is_object());
        let additional = party
            .and_then(|party| party.get("additionalIdentifiers"))
            .or_else(|| fields.get("additionalIdentifiers"))
            .and_then(Value::as_array);
        let legal_name = text(identifier.and_then(|identifier| identifier.get("legalName")));
        let common_name = text(party.and_then(|party| party.get("name"))).or_else(|| text(fields.get("name")));
        let mut bin = None;
        for candidate in identifier.into_iter().chain(additional.into_iter().flatten()) {
            let Some(scheme) = text(candidate.get("scheme")) else { continue };
            if !KZ_SCHEMES.contains(&scheme.to_ascii_uppercase().as_str()) {
                continue;
            }
            match candidate.get("id").map(parse::biin) {
                Some(Ok(valid)) => {
                    bin = Some(valid);
                    break;
                }
                Some(Err(error)) => {
                    self.repair(record_id, format!("{path}: the {scheme} identifier is not valid: {error}"))
                }
                None => {}
            }
        }
        let key = match &bin {
            Some(_) => None,
            None => {
                let identifier_id = text(identifier.and_then(|identifier| identifier.get("id")));
                let scheme = text(identifier.and_then(|identifier| identifier.get("scheme")));
                let key = match (scheme, identifier_id) {
                    (Some(scheme), Some(identifier_id)) => format!("{scheme}-{identifier_id}"),
                    (None, Some(identifier_id)) => format!("{}-{identifier_id}", self.publisher),
                    _ => format!("party:{}", id.clone().or_else(|| common_name.clone())?),
                };
                Some(self.fit_id(key))
            }
        };
        let name = legal_name.or(common_name);
        Some(OrgRef { bin, key, name: self.slot.name(name), kind })
    }

    /// An OCDS 1.0 transaction's `providerOrganization`/`receiverOrganization`: an identifier.
    fn org_from_identifier(
        &mut self,
        identifier: &Value,
        path: &str,
        kind: OrganizationKind,
        record_id: &str,
    ) -> Option<OrgRef> {
        identifier.as_object()?;
        let reference = serde_json::json!({ "identifier": identifier, "name": identifier.get("legalName") });
        self.org(&reference, path, kind, record_id)
    }

    /// An upstream id (or organisation key) the store can keep: one over 128 characters is cut
    /// and hashed, the same way every time (a repair, naming the id as stored).
    fn fit_id(&mut self, id: String) -> String {
        if id.chars().count() <= MAX_ID {
            return id;
        }
        let head: String = id.chars().take(MAX_ID - 17).collect();
        let short = format!("{head}~{:016x}", fnv1a(id.as_bytes()));
        let reason = format!("the id {id:?} is longer than {MAX_ID} characters; stored as {short:?}");
        self.repair(&short, reason);
        short
    }

    /// A number shown to readers, cut to what the store keeps (a repair).
    fn fit_text(&mut self, value: String, max: usize, path: &str, record_id: &str) -> String {
        if value.chars().count() <= max {
            return value;
        }
        self.repair(record_id, format!("{path} is longer than {max} characters; cut to {max}"));
        value.chars().take(max).collect()
    }

    /// The id a bid or award gives its lot, if any (`relatedLots`, or Ukraine's `lotID` or
    /// `relatedLot`, as repairs).
    fn related_lot(&mut self, item: &Value, path: &str, record_id: &str) -> Option<String> {
        match item.get("relatedLots") {
            Some(Value::Array(lots)) if !lots.is_empty() => return text(lots.first()),
            Some(single @ (Value::String(_) | Value::Number(_))) => {
                self.repair(record_id, format!("{path}.relatedLots is {}, not an array", kind_of(single)));
                return text(Some(single));
            }
            _ => {}
        }
        for field in ["lotID", "relatedLot"] {
            if let Some(lot) = text(item.get(field)) {
                self.repair(record_id, format!("{path}.{field} (not OCDS) is read as relatedLots"));
                return Some(lot);
            }
        }
        None
    }

    /// The lot a bid or award goes under; `Err` when that lot (or the tender) was not stored.
    fn lot_for(
        &mut self,
        item: &Value,
        path: &str,
        record_id: &str,
        tender: &mut TenderState,
    ) -> Result<String, String> {
        let related = self.related_lot(item, path, record_id);
        let synthetic = format!("{}/lot/-", self.ocid);
        match tender {
            TenderState::Rejected => Err(format!("its tender {} was not stored", self.ocid)),
            TenderState::Absent => Ok(match related {
                Some(lot) => self.fit_id(format!("{}/lot/{lot}", self.ocid)),
                None => synthetic,
            }),
            TenderState::Stored { lots, synthetic: needs_synthetic, .. } => match related {
                Some(lot) => match lots.iter().find(|(id, _)| *id == lot) {
                    Some((_, false)) => Err(format!("its lot {lot} was not stored")),
                    _ => Ok(self.fit_id(format!("{}/lot/{lot}", self.ocid))),
                },
                None => match lots.as_slice() {
                    [] => {
                        *needs_synthetic = true;
                        Ok(synthetic)
                    }
                    [(lot, true)] => {
                        let lot = lot.clone();
                        Ok(self.fit_id(format!("{}/lot/{lot}", self.ocid)))
                    }
                    [(lot, false)] => Err(format!("its lot {lot} was not stored")),
                    several => {
                        let count = several.len();
                        *needs_synthetic = true;
                        self.repair(
                            record_id,
                            format!(
                                "{path} names none of the tender's {count} lots; it is stored under the whole-tender \
                                 lot {synthetic}"
                            ),
                        );
                        Ok(synthetic)
                    }
                },
            },
        }
    }

    fn map(&mut self, release: &'a Map<String, Value>) -> Vec<Record> {
        let ocid = self.ocid.clone();
        let tender = release.get("tender").filter(|tender| tender.is_object());
        let buyer =
            match release.get("buyer").and_then(|buyer| self.org(buyer, "buyer", OrganizationKind::StateBody, &ocid)) {
                Some(buyer) => Some(buyer),
                None => tender
                    .and_then(|tender| tender.get("procuringEntity"))
                    .and_then(|entity| self.org(entity, "tender.procuringEntity", OrganizationKind::StateBody, &ocid)),
            };
        let method = tender.map_or(ProcurementMethod::Other, procurement_method);
        let awards = self.list(release.get("awards"), "awards", &ocid);
        let live_award = awards.iter().any(|award| !withdrawn(award));

        let mut tenders = Vec::new();
        let mut lots = Vec::new();
        let mut state = match tender {
            None => TenderState::Absent,
            Some(tender) => self.tender(tender, buyer.clone(), method, live_award, &mut tenders, &mut lots),
        };

        let bids = self.bids(release, &mut state);
        let mut award_records = Vec::new();
        let mut infos = HashMap::new();
        for (index, award) in awards.into_iter().enumerate() {
            if let Some((id, info)) = self.award(award, index, &mut state, &mut award_records) {
                infos.insert(id, info);
            }
        }
        if let TenderState::Stored { synthetic: true, status, name, amount, lots: own, quantity } = &state {
            let amount = if own.is_empty() { amount.clone() } else { Amount { minor_units: 0, ..amount.clone() } };
            let upstream_id = self.fit_id(format!("{ocid}/lot/-"));
            lots.push(Record::Lot(LotRecord {
                upstream_id,
                tender: self.fit_id(ocid.clone()),
                plan_item: None,
                lot_number: "-".into(),
                name: name.clone(),
                status: *status,
                quantity: quantity.clone(),
                amount,
                delivery_kato: None,
            }));
        }

        let (contracts, amendments, payments) = self.contracts(release, buyer.as_ref(), method, &infos);
        let mut records = tenders;
        records.extend(lots);
        records.extend(bids);
        records.extend(award_records);
        records.extend(contracts);
        records.extend(amendments);
        records.extend(payments);
        records
    }

    /// The tender and its lots.
    fn tender(
        &mut self,
        tender: &'a Value,
        buyer: Option<OrgRef>,
        method: ProcurementMethod,
        live_award: bool,
        tenders: &mut Vec<Record>,
        lots: &mut Vec<Record>,
    ) -> TenderState {
        let ocid = self.ocid.clone();
        let own_lots = self.list(tender.get("lots"), "tender.lots", &ocid);
        let record = match self.tender_record(tender, buyer, method, live_award) {
            Ok(record) => record,
            Err(reason) => {
                self.reject(&ocid, reason);
                for (index, lot) in own_lots.iter().enumerate() {
                    let id = match text(lot.get("id")) {
                        Some(id) => format!("{ocid}/lot/{id}"),
                        None => format!("{ocid}/lot/#{}", index + 1),
                    };
                    let id = self.fit_id(id);
                    self.reject(&id, format!("tender.lots[{index}]: its tender {ocid} was not stored"));
                }
                return TenderState::Rejected;
            }
        };
        let items = self.list(tender.get("items"), "tender.items", &ocid);
        let mut stored = Vec::new();
        let count = own_lots.len();
        for (index, lot) in own_lots.into_iter().enumerate() {
            let path = format!("tender.lots[{index}]");
            let Some(lot_id) = text(lot.get("id")) else {
                self.reject(&ocid, format!("{path} has no id"));
                continue;
            };
            let upstream = self.fit_id(format!("{ocid}/lot/{lot_id}"));
            let amount = match self.amount(lot.get("value"), &format!("{path}.value"), &upstream) {
                Ok(Some(amount)) => amount,
                Ok(None) if count == 1 => {
                    self.repair(
                        &upstream,
                        format!("{path}.value is missing; the tender's value is used (its only lot)"),
                    );
                    record.amount.clone()
                }
                Ok(None) => {
                    let currency = record.amount.currency.clone();
                    self.zero(lot.get("value"), &format!("{path}.value"), &upstream, &currency)
                }
                Err(reason) => {
                    self.reject(&upstream, reason);
                    stored.push((lot_id, false));
                    continue;
                }
            };
            let status_path = format!("{path}.status");
            let status = self.tender_status(lot.get("status"), &status_path, &upstream, record.status);
            let name = text(lot.get("title")).or_else(|| text(lot.get("description")));
            let name = if name.is_some() { self.slot.name(name) } else { record.name.clone() };
            let related: Vec<&Value> = items
                .iter()
                .copied()
                .filter(|item| text(item.get("relatedLot")).as_deref() == Some(lot_id.as_str()))
                .collect();
            let quantity = self.quantity(&related, &upstream);
            let lot_number = self.fit_text(lot_id.clone(), MAX_LOT_NUMBER, &format!("{path}.id"), &upstream);
            lots.push(Record::Lot(LotRecord {
                upstream_id: upstream,
                tender: record.upstream_id.clone(),
                plan_item: None,
                lot_number,
                name,
                status,
                quantity,
                amount,
                delivery_kato: None,
            }));
            stored.push((lot_id, true));
        }
        let quantity = self.quantity(&items, &ocid);
        let state = TenderState::Stored {
            status: record.status,
            name: record.name.clone(),
            amount: record.amount.clone(),
            lots: stored,
            quantity,
            synthetic: false,
        };
        tenders.push(Record::Tender(record));
        state
    }

    /// The quantity of a lot with these items: that of its only item, else 1.
    fn quantity(&mut self, items: &[&Value], record_id: &str) -> String {
        let [item] = items else { return "1".into() };
        match item.get("quantity").map(parse::decimal) {
            Some(Ok(quantity)) if !quantity.is_sign_negative() => {
                let quantity = quantity.normalize().to_string();
                if quantity.len() <= MAX_QUANTITY { quantity } else { "1".into() }
            }
            Some(_) => {
                self.repair(record_id, "the item's quantity is not a non-negative number; the lot's quantity is 1");
                "1".into()
            }
            None => "1".into(),
        }
    }

    fn tender_record(
        &mut self,
        tender: &Value,
        buyer: Option<OrgRef>,
        method: ProcurementMethod,
        live_award: bool,
    ) -> Result<TenderRecord, String> {
        let ocid = self.ocid.clone();
        let upstream_id = self.fit_id(ocid.clone());
        // Prozorro's `tenderID` (`UA-2016-06-02-000468-c`) is the number the public sees;
        // its `tender.id` is an internal hash.
        let public_number = text(tender.get("tenderID")).filter(|n| n.chars().count() <= MAX_TENDER_NUMBER);
        let number = match public_number.or_else(|| text(tender.get("id"))) {
            Some(id) if id.chars().count() <= MAX_TENDER_NUMBER => id,
            Some(_) => {
                self.repair(
                    &ocid,
                    format!("tender.id is longer than {MAX_TENDER_NUMBER} characters; the ocid is the tender's number"),
                );
                self.fit_text(ocid.clone(), MAX_TENDER_NUMBER, "ocid", &ocid)
            }
            None => {
                self.repair(&ocid, "tender.id is missing; the ocid is the tender's number");
                self.fit_text(ocid.clone(), MAX_TENDER_NUMBER, "ocid", &ocid)
            }
        };
        let buyer = buyer.ok_or("the release names no buyer (neither buyer nor tender.procuringEntity)")?;
        let default = if live_award { TenderStatus::Awarded } else { TenderStatus::Published };
        let status = self.tender_status(tender.get("status"), "tender.status", &ocid, default);
        let period = tender.get("tenderPeriod");
        let start = period.and_then(|period| period.get("startDate"));
        let published = self
            .date_chain(
                &[("tender.datePublished", tender.get("datePublished")), ("tender.tenderPeriod.startDate", start)],
                &ocid,
                "the publication date",
            )
            .ok_or(
                "the tender has no publication date: tender.datePublished, tender.tenderPeriod.startDate and the \
                 release date are missing",
            )?;
        let bids_open_at = self.stamp(start, "tender.tenderPeriod.startDate", &ocid).map(|stamp| stamp.utc);
        let end = period.and_then(|period| period.get("endDate"));
        let bids_close_at = self.stamp(end, "tender.tenderPeriod.endDate", &ocid).map(|stamp| stamp.utc);
        let currency = self.fallback_currency.clone();
        let amount = match self.amount(tender.get("value"), "tender.value", &ocid)? {
            Some(amount) => amount,
            None => match self.amount(tender.get("minValue"), "tender.minValue", &ocid)? {
                Some(amount) => {
                    self.repair(&ocid, "tender.value is missing; tender.minValue is used");
                    amount
                }
                None => self.zero(tender.get("value"), "tender.value", &ocid, &currency),
            },
        };
        let name = text(tender.get("title")).or_else(|| text(tender.get("description")));
        Ok(TenderRecord {
            upstream_id,
            number,
            buyer,
            name: self.slot.name(name),
            procurement_method: method,
            status,
            fiscal_year: published.local.year(),
            published_at: published.utc,
            bids_open_at,
            bids_close_at,
            amount,
        })
    }

    fn tender_status(
        &mut self,
        code: Option<&Value>,
        path: &str,
        record_id: &str,
        default: TenderStatus,
    ) -> TenderStatus {
        let Some(code) = text(code) else { return default };
        match code.as_str() {
            "planning" | "planned" | "active" => TenderStatus::Published,
            "complete" => TenderStatus::Awarded,
            "unsuccessful" => TenderStatus::Failed,
            "cancelled" | "withdrawn" => TenderStatus::Cancelled,
            other => {
                self.repair(record_id, format!("{path} {other:?} is not an OCDS tender status; taken as {default:?}"));
                default
            }
        }
    }

    fn bids(&mut self, release: &'a Map<String, Value>, state: &mut TenderState) -> Vec<Record> {
        let ocid = self.ocid.clone();
        let details = match release.get("bids") {
            Some(Value::Array(_)) => {
                self.repair(&ocid, "bids is an array, not an object with details; read as bids.details");
                self.list(release.get("bids"), "bids", &ocid)
            }
            Some(bids) => self.list(bids.get("details"), "bids.details", &ocid),
            None => Vec::new(),
        };
        let mut records = Vec::new();
        for (index, bid) in details.into_iter().enumerate() {
            let path = format!("bids.details[{index}]");
            let Some(id) = text(bid.get("id")) else {
                self.reject(&ocid, format!("{path} has no id"));
                continue;
            };
            let upstream = self.fit_id(format!("{ocid}/bid/{id}"));
            match self.bid(bid, &path, &upstream, state) {
                Ok(record) => records.push(Record::Bid(record)),
                Err(reason) => self.reject(&upstream, reason),
            }
        }
        records
    }

    fn bid(
        &mut self,
        bid: &'a Value,
        path: &str,
        upstream: &str,
        state: &mut TenderState,
    ) -> Result<BidRecord, String> {
        let lot = self.lot_for(bid, path, upstream, state)?;
        let tenderers = self.list(bid.get("tenderers"), &format!("{path}.tenderers"), upstream);
        let bidder = tenderers
            .first()
            .and_then(|tenderer| {
                self.org(tenderer, &format!("{path}.tenderers[0]"), OrganizationKind::Supplier, upstream)
            })
            .ok_or_else(|| format!("{path} names no tenderer"))?;
        if tenderers.len() > 1 {
            self.repair(
                upstream,
                format!("{path}.tenderers lists {} tenderers; only the first is kept", tenderers.len()),
            );
        }
        let date_path = format!("{path}.date");
        let submitted = self
            .date_chain(&[(date_path.as_str(), bid.get("date"))], upstream, "the submission date")
            .ok_or_else(|| format!("{path} has no date, nor has the release"))?;
        let currency = self.fallback_currency.clone();
        let amount = self.amount_or_zero(bid.get("value"), &format!("{path}.value"), upstream, &currency)?;
        let admitted = match text(bid.get("status")).as_deref() {
            None | Some("valid" | "pending" | "active" | "invited") => true,
            Some("disqualified" | "withdrawn" | "invalid" | "unsuccessful" | "deleted") => false,
            Some(other) => {
                self.repair(
                    upstream,
                    format!("{path}.status {other:?} is not an OCDS bid status; the bid is taken as admitted"),
                );
                true
            }
        };
        Ok(BidRecord { upstream_id: upstream.to_owned(), lot, bidder, submitted_at: submitted.utc, amount, admitted })
    }

    /// One award: its record (or deletion) goes to `records`; its id and what contracts need
    /// of it are returned.
    fn award(
        &mut self,
        award: &'a Value,
        index: usize,
        state: &mut TenderState,
        records: &mut Vec<Record>,
    ) -> Option<(String, AwardInfo<'a>)> {
        let ocid = self.ocid.clone();
        let path = format!("awards[{index}]");
        let Some(id) = text(award.get("id")) else {
            self.reject(&ocid, format!("{path} has no id"));
            return None;
        };
        let upstream = self.fit_id(format!("{ocid}/award/{id}"));
        let suppliers_path = format!("{path}.suppliers");
        if withdrawn(award) {
            records.push(Record::Deletion { table: Table::Awards, upstream_id: upstream.clone() });
            let info = AwardInfo { upstream, lot: None, suppliers: Vec::new(), suppliers_path, withdrawn: true };
            return Some((id, info));
        }
        if let Some(status) = text(award.get("status"))
            && !matches!(status.as_str(), "active" | "pending")
        {
            self.repair(&upstream, format!("{path}.status {status:?} is not an OCDS award status; the award is kept"));
        }
        let lot = self.lot_for(award, &path, &upstream, state);
        let suppliers = self.list(award.get("suppliers"), &suppliers_path, &upstream);
        let mut info = AwardInfo {
            upstream: upstream.clone(),
            lot: lot.clone().ok(),
            suppliers,
            suppliers_path,
            withdrawn: false,
        };
        let result = (|| {
            let lot = lot?;
            let supplier = info
                .suppliers
                .first()
                .and_then(|supplier| {
                    self.org(supplier, &format!("{path}.suppliers[0]"), OrganizationKind::Supplier, &upstream)
                })
                .ok_or_else(|| format!("{path} names no supplier"))?;
            if info.suppliers.len() > 1 {
                let count = info.suppliers.len();
                let name = supplier.name.display(domain::names::Language::Ru).unwrap_or("unnamed").to_owned();
                self.repair(
                    &upstream,
                    format!("{path}.suppliers lists {count} suppliers; only the first ({name}) is kept"),
                );
            }
            let date_path = format!("{path}.date");
            let awarded = self
                .date_chain(&[(date_path.as_str(), award.get("date"))], &upstream, "the award date")
                .ok_or_else(|| format!("{path} has no date, nor has the release"))?;
            let currency = self.fallback_currency.clone();
            let amount = self.amount_or_zero(award.get("value"), &format!("{path}.value"), &upstream, &currency)?;
            Ok::<_, String>(AwardRecord {
                upstream_id: upstream.clone(),
                lot,
                supplier,
                awarded_at: awarded.utc,
                amount,
            })
        })();
        match result {
            Ok(record) => records.push(Record::Award(record)),
            Err(reason) => {
                self.reject(&upstream, reason);
                info.lot = None;
            }
        }
        Some((id, info))
    }

    /// Contracts, their amendments and their payments.
    fn contracts(
        &mut self,
        release: &'a Map<String, Value>,
        buyer: Option<&OrgRef>,
        method: ProcurementMethod,
        awards: &HashMap<String, AwardInfo<'a>>,
    ) -> (Vec<Record>, Vec<Record>, Vec<Record>) {
        let ocid = self.ocid.clone();
        let contracts = self.list(release.get("contracts"), "contracts", &ocid);
        let ids: Vec<Option<String>> = contracts.iter().map(|contract| text(contract.get("id"))).collect();
        // Paraguay's modifications: contracts extending another contract of the release.
        let extends: Vec<Option<String>> = contracts
            .iter()
            .zip(&ids)
            .map(|(contract, id)| {
                let target = text(contract.get("extendsContractID"))?;
                let known = ids.iter().zip(&contracts).any(|(other, other_contract)| {
                    other.as_ref() == Some(&target) && text(other_contract.get("extendsContractID")).is_none()
                });
                (id.is_some() && known && id.as_ref() != Some(&target)).then_some(target)
            })
            .collect();
        let (mut records, mut amendments, mut payments) = (Vec::new(), Vec::new(), Vec::new());
        let mut infos: HashMap<String, ContractInfo> = HashMap::new();
        for (index, contract) in contracts.iter().enumerate() {
            if extends[index].is_some() {
                continue;
            }
            let path = format!("contracts[{index}]");
            let Some(id) = ids[index].clone() else {
                self.reject(&ocid, format!("{path} has no id"));
                continue;
            };
            let upstream = self.fit_id(format!("{ocid}/contract/{id}"));
            let (record, mut info) = self.contract(contract, &path, &id, upstream, buyer, method, awards);
            if let Some(record) = record {
                records.push(Record::Contract(record));
            }
            // Paraguay's modifications are numbered after these (below).
            info.amendments = self.amendments(contract, &path, &info, &mut amendments);
            self.payments(contract, &path, &info, buyer, &mut payments);
            infos.insert(id, info);
        }
        let mut extension_counts: HashMap<String, usize> = HashMap::new();
        for (index, contract) in contracts.iter().enumerate() {
            let Some(target) = &extends[index] else { continue };
            let path = format!("contracts[{index}]");
            let Some(info) = infos.get(target) else { continue };
            let count = extension_counts.entry(target.clone()).or_default();
            *count += 1;
            let sequence = info.amendments + *count;
            let upstream = self.fit_id(format!("{}/amendment/{sequence}", info.upstream));
            let id = ids[index].clone().unwrap_or_default();
            self.repair(
                &upstream,
                format!(
                    "{path} ({id}) extends contract {target} (extendsContractID): stored as its amendment {sequence}"
                ),
            );
            if !info.stored {
                self.reject(&upstream, format!("{path}: the contract it extends, {target}, was not stored"));
                continue;
            }
            let (info_upstream, previous) = (info.upstream.clone(), info.amount.clone());
            let result = (|| {
                let date_path = format!("{path}.dateSigned");
                let signed = self
                    .date_chain(&[(date_path.as_str(), contract.get("dateSigned"))], &upstream, "the amendment date")
                    .ok_or_else(|| format!("{path} has no dateSigned, nor has the release a date"))?;
                let previous = previous.ok_or_else(|| format!("the contract {target} has no amount"))?;
                let new_amount = self
                    .amount(contract.get("value"), &format!("{path}.value"), &upstream)?
                    .unwrap_or_else(|| previous.clone());
                let reason =
                    ["description", "dncpAmendmentType", "title"].iter().find_map(|field| text(contract.get(field)));
                Ok::<_, String>(AmendmentRecord {
                    upstream_id: upstream.clone(),
                    contract: info_upstream,
                    sequence: i32::try_from(sequence).unwrap_or(i32::MAX),
                    signed_at: signed.utc,
                    reason: self.slot.name(reason),
                    previous_amount_minor: previous.minor_units,
                    new_amount,
                })
            })();
            match result {
                Ok(record) => amendments.push(Record::Amendment(record)),
                Err(reason) => self.reject(&upstream, reason),
            }
        }
        (records, amendments, payments)
    }

    #[allow(clippy::too_many_arguments)]
    fn contract(
        &mut self,
        contract: &'a Value,
        path: &str,
        id: &str,
        upstream: String,
        buyer: Option<&OrgRef>,
        method: ProcurementMethod,
        awards: &HashMap<String, AwardInfo<'a>>,
    ) -> (Option<ContractRecord>, ContractInfo) {
        let award = text(contract.get("awardID")).and_then(|award| awards.get(&award).map(|info| (award, info)));
        let own = self.list(contract.get("suppliers"), &format!("{path}.suppliers"), &upstream);
        let (suppliers, suppliers_path) = match (own.is_empty(), &award) {
            (false, _) => (own, format!("{path}.suppliers")),
            (true, Some((_, info))) => (info.suppliers.clone(), info.suppliers_path.clone()),
            (true, None) => (Vec::new(), String::new()),
        };
        let supplier = suppliers.first().and_then(|supplier| {
            self.org(supplier, &format!("{suppliers_path}[0]"), OrganizationKind::Supplier, &upstream)
        });
        if supplier.is_some() && suppliers.len() > 1 {
            self.repair(
                &upstream,
                format!("{suppliers_path} lists {} suppliers; the contract is stored with the first", suppliers.len()),
            );
        }
        let description = self.slot.name(text(contract.get("title")).or_else(|| text(contract.get("description"))));
        let mut info = ContractInfo {
            upstream: upstream.clone(),
            stored: false,
            amount: None,
            supplier: supplier.clone(),
            description: description.clone(),
            amendments: 0,
        };
        let result = (|| {
            let supplier = supplier.ok_or_else(|| {
                format!(
                    "contract {id} has no supplier: neither {path}.suppliers nor the suppliers of its award name one"
                )
            })?;
            let buyer =
                buyer.cloned().ok_or("the release names no buyer (neither buyer nor tender.procuringEntity)")?;
            let period = contract.get("period");
            let (signed_path, start_path) = (format!("{path}.dateSigned"), format!("{path}.period.startDate"));
            let signed = self
                .date_chain(
                    &[
                        (signed_path.as_str(), contract.get("dateSigned")),
                        (start_path.as_str(), period.and_then(|period| period.get("startDate"))),
                    ],
                    &upstream,
                    "the signing date",
                )
                .ok_or_else(|| {
                    format!("contract {id} has no dateSigned, no period.startDate, and the release no date")
                })?;
            let ends_on = self
                .stamp(period.and_then(|period| period.get("endDate")), &format!("{path}.period.endDate"), &upstream)
                .map(|stamp| stamp.local);
            let status = match text(contract.get("status")).as_deref() {
                None | Some("pending") => ContractStatus::Signed,
                Some("active") => ContractStatus::InExecution,
                Some("terminated") => ContractStatus::Executed,
                Some("cancelled") => ContractStatus::Terminated,
                Some(other) => {
                    self.repair(
                        &upstream,
                        format!("{path}.status {other:?} is not an OCDS contract status; taken as signed"),
                    );
                    ContractStatus::Signed
                }
            };
            let currency = self.fallback_currency.clone();
            let amount = self.amount_or_zero(contract.get("value"), &format!("{path}.value"), &upstream, &currency)?;
            // The number on the signed contract when the publisher gives it (Prozorro's
            // `contractNumber`, else `contractID`), else the OCDS id.
            let shown = text(contract.get("contractNumber"))
                .or_else(|| text(contract.get("contractID")))
                .unwrap_or_else(|| id.to_owned());
            let number = self.fit_text(shown, MAX_CONTRACT_NUMBER, &format!("{path}.id"), &upstream);
            // An award of this release (none if it was withdrawn), else one an earlier release stored.
            let (lot, award) = match award {
                Some((_, info)) if info.withdrawn => (None, None),
                Some((_, info)) => (info.lot.clone(), Some(info.upstream.clone())),
                None => match text(contract.get("awardID")) {
                    Some(award) => (None, Some(self.fit_id(format!("{}/award/{award}", self.ocid)))),
                    None => (None, None),
                },
            };
            Ok::<_, String>(ContractRecord {
                upstream_id: upstream.clone(),
                number,
                buyer,
                supplier,
                tender: Some(self.fit_id(self.ocid.clone())),
                lot,
                award,
                procurement_method: method,
                status,
                fiscal_year: signed.local.year(),
                description,
                signed_at: Some(signed.utc),
                ends_on,
                amount,
            })
        })();
        match result {
            Ok(record) => {
                info.stored = true;
                info.amount = Some(record.amount.clone());
                (Some(record), info)
            }
            Err(reason) => {
                self.reject(&upstream, reason);
                (None, info)
            }
        }
    }

    /// A contract's own amendments; returns how many it lists.
    fn amendments(&mut self, contract: &'a Value, path: &str, info: &ContractInfo, out: &mut Vec<Record>) -> usize {
        let (list, list_path) = match contract.get("amendments") {
            Some(value) if !value.is_null() => {
                (self.list(Some(value), &format!("{path}.amendments"), &info.upstream), "amendments")
            }
            _ => (contract.get("amendment").filter(|value| value.is_object()).into_iter().collect(), "amendment"),
        };
        let mut count = 0;
        for (index, amendment) in list.into_iter().enumerate() {
            count = index + 1;
            let amendment_path = if list_path == "amendment" {
                format!("{path}.amendment")
            } else {
                format!("{path}.amendments[{index}]")
            };
            let upstream = self.fit_id(format!("{}/amendment/{count}", info.upstream));
            let Some(new_amount) = info.amount.clone().filter(|_| info.stored) else {
                self.reject(&upstream, format!("{amendment_path}: its contract was not stored"));
                continue;
            };
            let date_path = format!("{amendment_path}.date");
            let Some(signed) =
                self.date_chain(&[(date_path.as_str(), amendment.get("date"))], &upstream, "the amendment date")
            else {
                self.reject(&upstream, format!("{amendment_path} has no date, nor has the release"));
                continue;
            };
            let previous = self.former_amount(amendment, &amendment_path, &upstream).unwrap_or(new_amount.minor_units);
            let reason = text(amendment.get("rationale")).or_else(|| text(amendment.get("description")));
            out.push(Record::Amendment(AmendmentRecord {
                upstream_id: upstream,
                contract: info.upstream.clone(),
                sequence: i32::try_from(count).unwrap_or(i32::MAX),
                signed_at: signed.utc,
                reason: self.slot.name(reason),
                previous_amount_minor: previous,
                new_amount,
            }));
        }
        count
    }

    /// The contract value before an OCDS 1.0 amendment, from its `changes[].former_value`.
    fn former_amount(&mut self, amendment: &Value, path: &str, record_id: &str) -> Option<i64> {
        let changes = amendment.get("changes")?.as_array()?;
        let change = changes.iter().find(|change| {
            matches!(
                text(change.get("property")).as_deref(),
                Some("value" | "value.amount" | "/value" | "/value/amount")
            )
        })?;
        let former = change.get("former_value")?;
        let former = former.get("amount").unwrap_or(former);
        match parse::decimal(former).and_then(|decimal| {
            parse::minor_units(decimal.round_dp_with_strategy(2, RoundingStrategy::MidpointNearestEven))
        }) {
            Ok(minor) => Some(minor),
            Err(error) => {
                let reason = format!(
                    "{path}.changes: the former value is unreadable ({error}); the previous amount is the current one"
                );
                self.repair(record_id, reason);
                None
            }
        }
    }

    fn payments(
        &mut self,
        contract: &'a Value,
        path: &str,
        info: &ContractInfo,
        buyer: Option<&OrgRef>,
        out: &mut Vec<Record>,
    ) {
        let implementation = contract.get("implementation");
        let transactions_path = format!("{path}.implementation.transactions");
        let transactions =
            self.list(implementation.and_then(|i| i.get("transactions")), &transactions_path, &info.upstream);
        for (index, transaction) in transactions.into_iter().enumerate() {
            let tx_path = format!("{transactions_path}[{index}]");
            let Some(id) = text(transaction.get("id")) else {
                self.reject(&info.upstream, format!("{tx_path} has no id"));
                continue;
            };
            let upstream = self.fit_id(format!("{}/transaction/{id}", info.upstream));
            match self.payment(transaction, &tx_path, &id, &upstream, info, buyer) {
                Ok(record) => out.push(Record::Payment(record)),
                Err(reason) => self.reject(&upstream, reason),
            }
        }
    }

    fn payment(
        &mut self,
        transaction: &Value,
        path: &str,
        id: &str,
        upstream: &str,
        info: &ContractInfo,
        buyer: Option<&OrgRef>,
    ) -> Result<PaymentRecord, String> {
        let (value, value_path) = match transaction.get("value").filter(|value| !value.is_null()) {
            Some(value) => (Some(value), format!("{path}.value")),
            None => (transaction.get("amount"), format!("{path}.amount")),
        };
        let amount =
            self.amount(value, &value_path, upstream)?.ok_or_else(|| format!("{path} states no amount (value)"))?;
        let paid = self
            .stamp(transaction.get("date"), &format!("{path}.date"), upstream)
            .ok_or_else(|| format!("{path}.date is missing"))?;
        let payer = match transaction.get("payer").filter(|payer| payer.is_object()) {
            Some(payer) => self.org(payer, &format!("{path}.payer"), OrganizationKind::StateBody, upstream),
            None => transaction.get("providerOrganization").and_then(|provider| {
                self.org_from_identifier(
                    provider,
                    &format!("{path}.providerOrganization"),
                    OrganizationKind::StateBody,
                    upstream,
                )
            }),
        }
        .or_else(|| buyer.cloned())
        .ok_or_else(|| format!("{path} names no payer, and the release no buyer"))?;
        let payee = match transaction.get("payee").filter(|payee| payee.is_object()) {
            Some(payee) => self.org(payee, &format!("{path}.payee"), OrganizationKind::Supplier, upstream),
            None => transaction.get("receiverOrganization").and_then(|receiver| {
                self.org_from_identifier(
                    receiver,
                    &format!("{path}.receiverOrganization"),
                    OrganizationKind::Supplier,
                    upstream,
                )
            }),
        }
        .or_else(|| info.supplier.clone())
        .ok_or_else(|| format!("{path} names no payee, and its contract no supplier"))?;
        let document_number = self.fit_text(id.to_owned(), MAX_DOCUMENT_NUMBER, &format!("{path}.id"), upstream);
        Ok(PaymentRecord {
            upstream_id: upstream.to_owned(),
            contract: info.stored.then(|| info.upstream.clone()),
            payer,
            payee,
            budget_line: None,
            document_number,
            paid_at: paid.utc,
            fiscal_year: paid.local.year(),
            purpose: info.description.clone(),
            amount,
        })
    }
}

/// Whether an award says it is no award (`cancelled` or `unsuccessful`).
fn withdrawn(award: &Value) -> bool {
    matches!(text(award.get("status")).as_deref(), Some("cancelled" | "unsuccessful"))
}

/// The rate to tenge: 1 for tenge, 0 ("unknown") for any other currency.
fn rate(currency: &str) -> Decimal {
    if currency == "KZT" { Decimal::ONE } else { Decimal::ZERO }
}

/// See the module documentation for the mapping.
fn procurement_method(tender: &Value) -> ProcurementMethod {
    let base = match text(tender.get("procurementMethod")).as_deref() {
        Some("open") => ProcurementMethod::OpenTender,
        Some("selective") => ProcurementMethod::PrequalifiedTender,
        Some("direct") => ProcurementMethod::SingleSource,
        _ => ProcurementMethod::Other,
    };
    match text(tender.get("procurementMethodType")).as_deref() {
        Some("reporting" | "negotiation" | "negotiation.quick") => return ProcurementMethod::SingleSource,
        Some("priceQuotation") => return ProcurementMethod::PriceQuotation,
        _ => {}
    }
    let details = text(tender.get("procurementMethodDetails")).unwrap_or_default().to_lowercase();
    const RULES: [(&[&str], ProcurementMethod); 4] = [
        (&["auction", "аукцион", "аукціон", "subasta"], ProcurementMethod::Auction),
        (
            &["quotation", "ценовых предложений", "цінових пропозицій", "баға ұсыныстар", "cotización", "cotizacion"],
            ProcurementMethod::PriceQuotation,
        ),
        (
            &["commodity exchange", "товарн", "бирж", "біржа", "bolsa de productos"],
            ProcurementMethod::CommodityExchange,
        ),
        (
            &[
                "single source",
                "single-source",
                "одного источника",
                "одного джерела",
                "бір көзден",
                "contratación directa",
                "adjudicación directa",
            ],
            ProcurementMethod::SingleSource,
        ),
    ];
    RULES.iter().find(|(words, _)| words.iter().any(|word| details.contains(word))).map_or(base, |(_, method)| *method)
}

/// 64-bit FNV-1a, for ids too long to keep whole.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use flate2::Compression;
    use flate2::write::GzEncoder;
    use serde_json::json;
    use std::io::Write;
    use std::path::{Path, PathBuf};

    fn fixtures() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/ocds")
    }

    fn files(folder: &str) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(fixtures().join(folder))
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
            .collect();
        files.sort();
        files
    }

    fn read_file(path: &Path) -> Vec<Parsed> {
        read(&path.display().to_string(), Box::new(std::fs::File::open(path).unwrap())).collect()
    }

    fn read_bytes(input: &str, bytes: Vec<u8>) -> Vec<Parsed> {
        read(input, Box::new(Cursor::new(bytes))).collect()
    }

    fn records(parsed: &[Parsed]) -> impl Iterator<Item = &Record> {
        parsed.iter().flat_map(|parsed| match parsed {
            Parsed::Records { records, .. } => records.as_slice(),
            Parsed::Rejected(_) => &[],
        })
    }

    fn repairs(parsed: &[Parsed]) -> impl Iterator<Item = &Reject> {
        parsed.iter().flat_map(|parsed| match parsed {
            Parsed::Records { repairs, .. } => repairs.as_slice(),
            Parsed::Rejected(_) => &[],
        })
    }

    fn rejects(parsed: &[Parsed]) -> Vec<&Reject> {
        parsed
            .iter()
            .filter_map(|parsed| match parsed {
                Parsed::Rejected(reject) => Some(reject),
                Parsed::Records { .. } => None,
            })
            .collect()
    }

    fn find<'p>(parsed: &'p [Parsed], upstream_id: &str) -> &'p Record {
        records(parsed)
            .find(|record| record.upstream_id() == upstream_id)
            .unwrap_or_else(|| panic!("no record {upstream_id}"))
    }

    #[derive(Debug, Default, PartialEq, Eq)]
    struct Tally {
        /// `Parsed::Records`, one per release or compiled record.
        releases: usize,
        tenders: usize,
        /// Synthetic whole-tender lots included.
        lots: usize,
        bids: usize,
        awards: usize,
        /// Deletions of cancelled or unsuccessful awards.
        withdrawn_awards: usize,
        contracts: usize,
        amendments: usize,
        payments: usize,
        repairs: usize,
        /// Parts rejected (`Parsed::Rejected` with a record id).
        rejects: usize,
    }

    fn tally(parsed: &[Parsed]) -> Tally {
        let mut tally = Tally {
            releases: parsed.iter().filter(|parsed| matches!(parsed, Parsed::Records { .. })).count(),
            repairs: repairs(parsed).count(),
            rejects: rejects(parsed).len(),
            ..Tally::default()
        };
        for record in records(parsed) {
            match record {
                Record::Tender(_) => tally.tenders += 1,
                Record::Lot(_) => tally.lots += 1,
                Record::Bid(_) => tally.bids += 1,
                Record::Award(_) => tally.awards += 1,
                Record::Deletion { table: Table::Awards, .. } => tally.withdrawn_awards += 1,
                Record::Contract(_) => tally.contracts += 1,
                Record::Amendment(_) => tally.amendments += 1,
                Record::Payment(_) => tally.payments += 1,
                other => panic!("unexpected record {other:?}"),
            }
        }
        tally
    }

    /// The expected numbers were counted with a Python script written apart from this module: it
    /// walks each folder's JSON (`json.load`, records' `compiledRelease`, packages' `releases`,
    /// else the bare release) and applies the mapping rules of the module documentation, e.g.
    /// - fictional: 6 release packages of one release + 2 record packages with a compiledRelease =
    ///   8 releases; 6 of them have a `tender` (6 tenders); no tender has lots, and the 3 with
    ///   awards get the synthetic lot; 5 awards (4 active, 1 pending); 4 contracts; 3 × 2
    ///   transactions; repairs: 5 publication dates from `tenderPeriod.startDate`, 1 from the
    ///   release date, 1 tender without value (amount 0);
    /// - mexico: 6 bare releases, each with a lot-less tender (6 synthetic lots), one award and one
    ///   contract; 30 `implementation.transactions` in all; 6 publication-date repairs;
    /// - paraguay: 6 compiled records; 9 real lots + 3 synthetic (an award naming no lot in a
    ///   2-lot tender: 3 repairs); 13 contracts of which 3 carry `extendsContractID` and become
    ///   amendments (3 repairs, plus 3 for their missing `dateSigned`); 10 contracts whose
    ///   `suppliers` is an object (10 repairs); 4 tender ids over 64 characters, 6 publication
    ///   dates, 3 tenders and 9 lots without amounts, 2 awards with several suppliers: 43 repairs;
    /// - ukraine: 11 bare releases; 3 real lots + 8 synthetic; 12 `bids.details`; 13 awards of
    ///   which 3 unsuccessful (deleted, not stored as awards); 10 contracts; repairs: 11
    ///   publication dates, 2 `lotID` and 2 `relatedLot`, 1 contract signed at the release date.
    #[test]
    fn every_sample_is_read_without_rejects_and_maps_to_the_counted_records() {
        let expected = [
            (
                "fictional",
                Tally {
                    releases: 8,
                    tenders: 6,
                    lots: 3,
                    bids: 0,
                    awards: 5,
                    withdrawn_awards: 0,
                    contracts: 4,
                    amendments: 0,
                    payments: 6,
                    repairs: 7,
                    rejects: 0,
                },
            ),
            (
                "mexico",
                Tally {
                    releases: 6,
                    tenders: 6,
                    lots: 6,
                    bids: 0,
                    awards: 6,
                    withdrawn_awards: 0,
                    contracts: 6,
                    amendments: 0,
                    payments: 30,
                    repairs: 6,
                    rejects: 0,
                },
            ),
            (
                "paraguay",
                Tally {
                    releases: 6,
                    tenders: 6,
                    lots: 12,
                    bids: 0,
                    awards: 6,
                    withdrawn_awards: 0,
                    contracts: 10,
                    amendments: 3,
                    payments: 0,
                    repairs: 43,
                    rejects: 0,
                },
            ),
            (
                "ukraine",
                Tally {
                    releases: 11,
                    tenders: 11,
                    lots: 11,
                    bids: 12,
                    awards: 10,
                    withdrawn_awards: 3,
                    contracts: 10,
                    amendments: 0,
                    payments: 0,
                    repairs: 16,
                    rejects: 0,
                },
            ),
        ];
        for (folder, expected) in expected {
            let mut all = Vec::new();
            for path in files(folder) {
                let parsed = read_file(&path);
                assert!(rejects(&parsed).is_empty(), "{}: {:?}", path.display(), rejects(&parsed));
                for repair in repairs(&parsed) {
                    assert_eq!(repair.location.input, path.display().to_string());
                    assert!(repair.location.position.is_some());
                }
                all.extend(parsed);
            }
            assert_eq!(tally(&all), expected, "{folder}");
        }
    }

    #[test]
    fn a_ukrainian_release_maps_its_buyer_award_and_method() {
        let path = fixtures().join("ukraine/ocds-be6bcu-UA-2017-01-20-000582-a-101cce7fff6e41cfa0b4bf90f7a91eb2.json");
        let parsed = read_file(&path);
        let ocid = "ocds-be6bcu-UA-2017-01-20-000582-a";
        let Record::Tender(tender) = find(&parsed, ocid) else { panic!() };
        assert_eq!(tender.buyer.bin, None);
        assert_eq!(tender.buyer.key.as_deref(), Some("UA-EDR-02144772"));
        assert_eq!(tender.buyer.name.ru.as_deref(), Some("Відділ освіти Перемишлянської райдержадміністрації"));
        assert_eq!(tender.buyer.kind, OrganizationKind::StateBody);
        // `limited` with Prozorro's `reporting`: a contract reported after negotiating with one supplier.
        assert_eq!(tender.procurement_method, ProcurementMethod::SingleSource);
        assert_eq!(tender.status, TenderStatus::Awarded);
        let Record::Award(award) = find(&parsed, &format!("{ocid}/award/f5b3bb67ac524f40a90180725b431753")) else {
            panic!()
        };
        assert_eq!(award.amount.minor_units, 8_454_383);
        assert_eq!(award.amount.currency, "UAH");
        assert_eq!(award.amount.exchange_rate, Decimal::ZERO);
        assert!(award.amount.vat_included);
        assert_eq!(award.lot, format!("{ocid}/lot/-"));
        assert_eq!(award.supplier.key.as_deref(), Some("UA-EDR-31755529"));
        assert_eq!(award.supplier.name.ru.as_deref(), Some("ПП \"Добробут\""));
        assert_eq!(
            award.awarded_at,
            Utc.with_ymd_and_hms(2017, 1, 20, 11, 32, 5).unwrap() + chrono::Duration::microseconds(725_777)
        );
    }

    #[test]
    fn unsuccessful_awards_are_deleted_not_stored() {
        let path = fixtures().join("ukraine/ocds-be6bcu-UA-2016-06-08-000504-c-2aa52fb7af274126af4f629fd7a11a04.json");
        let parsed = read_file(&path);
        let ocid = "ocds-be6bcu-UA-2016-06-08-000504-c";
        let deleted = records(&parsed)
            .filter_map(|record| match record {
                Record::Deletion { table: Table::Awards, upstream_id } => Some(upstream_id.as_str()),
                _ => None,
            })
            .collect::<Vec<_>>();
        assert_eq!(deleted.len(), 1);
        assert!(deleted[0].starts_with(&format!("{ocid}/award/24ce627bf6")));
        assert_eq!(records(&parsed).filter(|record| matches!(record, Record::Award(_))).count(), 1);
    }

    #[test]
    fn a_paraguayan_supplier_object_is_repaired_and_modifications_become_amendments() {
        let parsed = read_file(&fixtures().join("paraguay/274231.json"));
        let contract_id = "ocds-03ad3f-274231/contract/274231-rieder-cia-saci-2";
        let repair = repairs(&parsed)
            .find(|repair| repair.reason == "contracts[0].suppliers is an object, not an array")
            .expect("the repair is reported");
        assert_eq!(repair.record_id.as_deref(), Some(contract_id));
        assert_eq!(repair.location.position, Some(18), "the line where the record starts");
        assert!(repair.location.input.ends_with("paraguay/274231.json"));
        let Record::Contract(contract) = find(&parsed, contract_id) else { panic!() };
        assert_eq!(contract.supplier.name.ru.as_deref(), Some("RIEDER Y CIA. SACI"));
        assert_eq!(contract.amount.minor_units, 18_094_145_600);
        assert_eq!(contract.amount.currency, "PYG");
        assert_eq!(contract.buyer.key.as_deref(), Some("party:Compañía Paraguaya de Comunicaciones (COPACO)"));

        let parsed = read_file(&fixtures().join("paraguay/273637.json"));
        let Record::Amendment(amendment) =
            find(&parsed, "ocds-03ad3f-273637/contract/273637-infocenter-s-a-1/amendment/1")
        else {
            panic!()
        };
        assert_eq!(amendment.contract, "ocds-03ad3f-273637/contract/273637-infocenter-s-a-1");
        assert_eq!(amendment.reason.ru.as_deref(), Some("Ampliación de Plazo"));
        assert_eq!(amendment.previous_amount_minor, 280_999_987_200);
        assert_eq!(amendment.new_amount.minor_units, 280_999_987_200);
        assert!(repairs(&parsed).any(|repair| repair.reason.contains("extendsContractID")));
    }

    #[test]
    fn a_mexican_transaction_is_a_payment() {
        let parsed = read_file(&fixtures().join("mexico/OCDS-87SD3T-AD-SF-DRM-063-2015-01.json"));
        let contract = "OCDS-87SD3T-AD-SF-DRM-063-2015/contract/1";
        let Record::Payment(payment) = find(&parsed, &format!("{contract}/transaction/CLC0010000009-2016")) else {
            panic!()
        };
        assert_eq!(payment.contract.as_deref(), Some(contract));
        assert_eq!(
            payment.amount,
            Amount {
                minor_units: 10_927_200,
                currency: "MXN".into(),
                exchange_rate: Decimal::ZERO,
                vat_included: true
            }
        );
        assert_eq!(payment.paid_at, Utc.with_ymd_and_hms(2016, 4, 8, 6, 0, 0).unwrap());
        assert_eq!(payment.fiscal_year, 2016);
        assert_eq!(payment.document_number, "CLC0010000009-2016");
        assert_eq!(payment.payer.key.as_deref(), Some("OCDS-87SD3T-0901"));
        assert_eq!(payment.payer.name.ru.as_deref(), Some("SECRETARÍA DE FINANZAS"));
        assert_eq!(payment.payer.kind, OrganizationKind::StateBody);
        assert_eq!(payment.payee.key.as_deref(), Some("OCDS-87SD3T-C&C021030KX2"));
        assert_eq!(payment.payee.kind, OrganizationKind::Supplier);
        assert_eq!(payment.purpose.ru.as_deref(), Some("CA-004/2016"));
        let Record::Contract(record) = find(&parsed, contract) else { panic!() };
        assert_eq!(record.award.as_deref(), Some("OCDS-87SD3T-AD-SF-DRM-063-2015/award/1"));
        assert_eq!(record.lot.as_deref(), Some("OCDS-87SD3T-AD-SF-DRM-063-2015/lot/-"));
        assert_eq!(record.procurement_method, ProcurementMethod::PrequalifiedTender);
        assert_eq!(record.ends_on, NaiveDate::from_ymd_opt(2016, 12, 31));
    }

    #[test]
    fn fictional_parties_are_resolved_by_id_and_named_in_english() {
        let parsed = read_file(&fixtures().join("fictional/ocds-213czf-000-00001.json"));
        let Record::Tender(tender) = find(&parsed, "ocds-213czf-000-00001") else { panic!() };
        assert_eq!(tender.buyer.key.as_deref(), Some("GB-LAC-E09000003"));
        assert_eq!(tender.buyer.name.en.as_deref(), Some("London Borough of Barnet"));
        assert_eq!(tender.buyer.name.ru, None);
        assert_eq!(tender.amount.minor_units, 110_000_000);
        assert_eq!(tender.procurement_method, ProcurementMethod::OpenTender);
        let Record::Award(award) = find(&parsed, "ocds-213czf-000-00001/award/ocds-213czf-000-00001-award-01") else {
            panic!()
        };
        assert_eq!(award.supplier.key.as_deref(), Some("GB-COH-11111111.0"));
        assert_eq!(award.supplier.name.en.as_deref(), Some("AnyCorp Ltd"));
        // Referenced records come first.
        let order: Vec<Table> = records(&parsed).map(Record::table).collect();
        let mut sorted = order.clone();
        sorted.sort();
        assert_eq!(order, sorted);
    }

    fn ukrainian_lines() -> Vec<String> {
        files("ukraine")
            .iter()
            .map(|path| {
                let value: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
                serde_json::to_string(&value).unwrap()
            })
            .collect()
    }

    #[test]
    fn json_lines_go_on_after_a_broken_line() {
        let lines = ukrainian_lines();
        let mut text = String::new();
        for (index, line) in lines.iter().enumerate() {
            if index == 2 {
                text.push_str("{\"ocid\": \"ocds-cut\", \"tender\": {\"id\": \n"); // line 3: cut short
                text.push('\n'); // line 4: blank
            }
            text.push_str(line);
            text.push('\n');
        }
        let parsed = read_bytes("ukraine.jsonl", text.into_bytes());
        let rejected = rejects(&parsed);
        assert_eq!(rejected.len(), 1, "{rejected:?}");
        assert_eq!(rejected[0].location, Location::new("ukraine.jsonl", Some(3)));
        assert!(rejected[0].reason.contains("truncated"), "{}", rejected[0].reason);
        let mut whole = Vec::new();
        for path in files("ukraine") {
            whole.extend(read_file(&path));
        }
        assert_eq!(tally(&parsed), Tally { rejects: 1, ..tally(&whole) });
        // Each release is located at its line: 1, 2, then 5 onwards.
        let positions: Vec<u64> = parsed
            .iter()
            .filter_map(|parsed| match parsed {
                Parsed::Records { location, .. } => location.position,
                Parsed::Rejected(_) => None,
            })
            .collect();
        let expected: Vec<u64> = (1..=2).chain(5..=13).collect();
        assert_eq!(positions, expected);
    }

    #[test]
    fn a_cut_short_first_line_of_json_lines_is_not_taken_for_a_document() {
        let lines = ukrainian_lines();
        let text = format!("{}\n{}\n{}\n", &lines[0][..100], lines[1], lines[2]);
        let parsed = read_bytes("cut.jsonl", text.into_bytes());
        assert_eq!(rejects(&parsed).len(), 1);
        assert_eq!(rejects(&parsed)[0].location.position, Some(1));
        assert_eq!(parsed.iter().filter(|parsed| matches!(parsed, Parsed::Records { .. })).count(), 2);
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn gzip_is_detected_by_its_magic_bytes() {
        let path = fixtures().join("fictional/ocds-213czf-000-00001-withversions.json");
        let plain = std::fs::read(&path).unwrap();
        let expected = read_bytes("package", plain.clone());
        assert_eq!(read_bytes("package", gzip(&plain)), expected);
        assert_eq!(tally(&expected).payments, 2);

        let lines = ukrainian_lines().join("\n").into_bytes();
        let expected = read_bytes("lines", lines.clone());
        assert_eq!(read_bytes("lines", gzip(&lines)), expected);
    }

    #[test]
    fn a_broken_gzip_stream_is_rejected_after_what_could_be_read() {
        let parsed = read_bytes("bad.json.gz", vec![0x1f, 0x8b, 0x08, 0x00, 0xde, 0xad, 0xbe, 0xef, 0x00, 0x01, 0x02]);
        let rejected = rejects(&parsed);
        assert_eq!(parsed.len(), 1);
        assert_eq!(rejected[0].location.input, "bad.json.gz");
        assert!(rejected[0].reason.contains("cannot read"), "{}", rejected[0].reason);

        let lines = ukrainian_lines().join("\n").into_bytes();
        let compressed = gzip(&lines);
        let parsed = read_bytes("cut.jsonl.gz", compressed[..compressed.len() * 3 / 4].to_vec());
        let rejected = rejects(&parsed);
        assert_eq!(rejected.len(), 1, "{rejected:?}");
        assert!(rejected[0].reason.contains("cannot read"), "{}", rejected[0].reason);
        let read_before = parsed.iter().filter(|parsed| matches!(parsed, Parsed::Records { .. })).count();
        assert!((1..11).contains(&read_before), "{read_before}");
    }

    #[test]
    fn a_truncated_document_keeps_the_releases_before_the_cut() {
        let releases: Vec<Value> = files("ukraine")
            .iter()
            .take(4)
            .map(|path| serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap())
            .collect();
        let package = json!({ "uri": "https://example.com/package", "version": "1.1", "releases": releases });
        let text = serde_json::to_string_pretty(&package).unwrap();
        // Releases start at the lines holding `    {` (elements of `releases`, indented 4).
        let starts: Vec<u64> =
            text.lines().enumerate().filter(|(_, line)| *line == "    {").map(|(index, _)| index as u64 + 1).collect();
        assert_eq!(starts.len(), 4);
        let whole = read_bytes("package.json", text.clone().into_bytes());
        assert!(rejects(&whole).is_empty());
        let positions: Vec<Option<u64>> = whole
            .iter()
            .map(|parsed| match parsed {
                Parsed::Records { location, .. } => location.position,
                Parsed::Rejected(reject) => reject.location.position,
            })
            .collect();
        assert_eq!(positions, starts.iter().map(|line| Some(*line)).collect::<Vec<_>>());

        // Cut in the middle of the third release.
        let cut_line = starts[2] + 10;
        let cut: String = text.lines().take(cut_line as usize).collect::<Vec<_>>().join("\n");
        let parsed = read_bytes("package.json", cut.into_bytes());
        assert_eq!(parsed.len(), 3, "{parsed:?}");
        assert_eq!(parsed[..2], whole[..2]);
        let Parsed::Rejected(reject) = &parsed[2] else { panic!("{:?}", parsed[2]) };
        assert_eq!(reject.location, Location::new("package.json", Some(cut_line)));
        assert!(reject.reason.contains("truncated"), "{}", reject.reason);

        // A fixture cut in half: one reject at its last line.
        let text = std::fs::read_to_string(fixtures().join("fictional/ocds-213czf-000-00001-04-award.json")).unwrap();
        let half = &text[..text.char_indices().nth(text.chars().count() / 2).unwrap().0];
        let parsed = read_bytes("award.json", half.as_bytes().to_vec());
        assert_eq!(parsed.len(), 1);
        let Parsed::Rejected(reject) = &parsed[0] else { panic!() };
        assert_eq!(reject.location, Location::new("award.json", Some(half.matches('\n').count() as u64 + 1)));
    }

    #[test]
    fn an_html_page_is_rejected_as_not_json() {
        let page = "\n<!DOCTYPE html>\n<html><body><h1>502 Bad Gateway</h1></body></html>\n";
        let parsed = read_bytes("https://example.com/ocds.json", page.as_bytes().to_vec());
        assert_eq!(parsed.len(), 1);
        let Parsed::Rejected(reject) = &parsed[0] else { panic!() };
        assert_eq!(reject.location, Location::new("https://example.com/ocds.json", Some(2)));
        assert!(reject.reason.contains("not JSON") && reject.reason.contains("HTML"), "{}", reject.reason);
        assert_eq!(read_bytes("empty", Vec::new()).len(), 1);
    }

    fn release(ocid: &str) -> Value {
        json!({
            "ocid": ocid,
            "id": "1",
            "date": "2024-03-01T10:00:00+05:00",
            "language": "ru",
            "parties": [
                { "id": "buyer", "name": "ГУ «Аппарат акима»", "identifier": { "scheme": "KZ-BIN", "id": "000740001307" } },
                { "id": "supplier", "name": "ТОО «Поставщик»", "identifier": { "scheme": "KZ-BIN", "id": "123456789012" } }
            ],
            "buyer": { "id": "buyer", "name": "ГУ «Аппарат акима»" },
            "tender": {
                "id": "T-1",
                "title": "Канцтовары",
                "status": "complete",
                "procurementMethod": "open",
                "procurementMethodDetails": "Запрос ценовых предложений",
                "datePublished": "2024-02-01T09:00:00+05:00",
                "value": { "amount": 1000000, "currency": "KZT" }
            },
            "awards": [{
                "id": "1",
                "date": "2024-02-20T12:00:00+05:00",
                "value": { "amount": 950000.5, "currency": "KZT" },
                "suppliers": [{ "id": "supplier", "name": "ТОО «Поставщик»" }]
            }]
        })
    }

    /// Releases of one process, newest first and interleaved with another process's, map to one
    /// compiled release each: the later tender status and the award of the last release win, the
    /// records come at the line of each process's first release, and the order in the file does
    /// not change what is stored.
    #[test]
    fn releases_of_one_process_in_a_package_are_merged_whatever_their_order() {
        let mut tender = release("ocds-merge-1");
        tender["id"] = json!("1");
        tender["date"] = json!("2024-02-01T09:00:00+05:00");
        tender["tender"]["status"] = json!("active");
        tender.as_object_mut().unwrap().remove("awards");
        let mut award = release("ocds-merge-1");
        award["id"] = json!("2");
        award["tender"].as_object_mut().unwrap().remove("value");
        let other = release("ocds-merge-2");
        let read_package = |releases: Vec<&Value>| {
            let package = json!({ "uri": "u", "version": "1.1", "releases": releases });
            read_bytes("package.json", serde_json::to_vec(&package).unwrap())
        };
        let parsed = read_package(vec![&award, &other, &tender]);
        assert_eq!(tally(&parsed).releases, 2, "{parsed:?}");
        let tenders: Vec<&TenderRecord> = records(&parsed)
            .filter_map(|record| match record {
                Record::Tender(tender) => Some(tender),
                _ => None,
            })
            .collect();
        let merged = tenders.iter().find(|t| t.upstream_id == "ocds-merge-1").expect("the merged process");
        assert_eq!(merged.status, TenderStatus::Awarded, "the tender as its later release left it");
        assert_eq!(records(&parsed).filter(|r| matches!(r, Record::Award(_))).count(), 2);
        let in_order = read_package(vec![&tender, &other, &award]);
        let stored = |parsed: &[Parsed]| {
            let mut records: Vec<String> = records(parsed).map(|record| format!("{record:?}")).collect();
            records.sort();
            records
        };
        assert_eq!(stored(&parsed), stored(&in_order));

        // A record package's record with only its releases is compiled the same way.
        let record = json!({ "uri": "u", "version": "1.1", "records": [
            { "ocid": "ocds-merge-1", "releases": [award, tender] }
        ]});
        let compiled = read_bytes("records.json", serde_json::to_vec(&record).unwrap());
        assert_eq!(tally(&compiled).releases, 1);
        let merged_again: Vec<String> = records(&compiled).map(|record| format!("{record:?}")).collect();
        let from_package: Vec<String> = records(&in_order)
            .filter(|record| record.upstream_id().starts_with("ocds-merge-1"))
            .map(|record| format!("{record:?}"))
            .collect();
        assert_eq!(merged_again, from_package);
    }

    #[test]
    fn a_negative_amount_rejects_that_record_only() {
        let mut value = release("ocds-neg-1");
        value["awards"][0]["value"]["amount"] = json!(-5);
        let line = serde_json::to_string(&value).unwrap();
        let parsed = read_bytes("negative.jsonl", format!("{line}\n").into_bytes());
        assert_eq!(parsed.len(), 2, "{parsed:?}");
        let Parsed::Records { records, .. } = &parsed[0] else { panic!() };
        assert_eq!(records.iter().map(Record::table).collect::<Vec<_>>(), vec![Table::Tenders, Table::Lots]);
        let Parsed::Rejected(reject) = &parsed[1] else { panic!() };
        assert_eq!(reject.location, Location::new("negative.jsonl", Some(1)));
        assert_eq!(reject.record_id.as_deref(), Some("ocds-neg-1/award/1"));
        assert_eq!(reject.reason, "awards[0].value.amount is negative (-5)");

        // The single-item form says the same in its repairs.
        let Parsed::Records { repairs, .. } = parse_release(Location::new("x", Some(7)), &value) else { panic!() };
        assert!(repairs.iter().any(|repair| repair.reason == "rejected: awards[0].value.amount is negative (-5)"));
    }

    #[test]
    fn an_unknown_currency_rejects_the_tender_and_what_hangs_from_it() {
        let good = serde_json::to_string(&release("ocds-ok-1")).unwrap();
        let mut bad = release("ocds-xx1-1");
        bad["tender"]["value"]["currency"] = json!("XX1");
        let bad = serde_json::to_string(&bad).unwrap();
        let parsed = read_bytes("currency.jsonl", format!("{good}\n{bad}\n").into_bytes());
        let rejected = rejects(&parsed);
        assert_eq!(rejected.len(), 2, "{rejected:?}");
        assert_eq!(rejected[0].location, Location::new("currency.jsonl", Some(2)));
        assert_eq!(rejected[0].record_id.as_deref(), Some("ocds-xx1-1"));
        assert_eq!(rejected[0].reason, "tender.value.currency \"XX1\" is not an ISO 4217 currency code");
        assert_eq!(rejected[1].record_id.as_deref(), Some("ocds-xx1-1/award/1"));
        assert!(rejected[1].reason.contains("its tender ocds-xx1-1 was not stored"));
        assert_eq!(tally(&parsed).tenders, 1);
    }

    #[test]
    fn kazakh_bins_prices_and_methods() {
        let parsed = parse_release_parts(Location::new("kz", Some(1)), &release("ocds-kz-1"));
        assert_eq!(parsed.len(), 1);
        let Record::Tender(tender) = find(&parsed, "ocds-kz-1") else { panic!() };
        assert_eq!(tender.buyer.bin.as_ref().map(|bin| bin.as_str()), Some("000740001307"));
        assert_eq!(tender.buyer.key, None);
        assert_eq!(tender.procurement_method, ProcurementMethod::PriceQuotation);
        assert_eq!(tender.amount, Amount::kzt(100_000_000, true));
        assert_eq!(tender.fiscal_year, 2024);
        assert_eq!(tender.published_at, Utc.with_ymd_and_hms(2024, 2, 1, 4, 0, 0).unwrap());
        let Record::Award(award) = find(&parsed, "ocds-kz-1/award/1") else { panic!() };
        assert_eq!(award.amount, Amount::kzt(95_000_050, true));
        // 123456789012 fails the check digit: keyed by scheme, with a repair.
        assert_eq!(award.supplier.bin, None);
        assert_eq!(award.supplier.key.as_deref(), Some("KZ-BIN-123456789012"));
        assert!(repairs(&parsed).any(|repair| repair.reason.contains("KZ-BIN identifier is not valid")));

        let mut value = release("ocds-kz-2");
        value["language"] = json!("kk");
        value["awards"][0]["value"]["amount"] = json!("12 500,005");
        value["awards"][0]["suppliers"] = json!({ "id": "supplier" });
        let parsed = parse_release_parts(Location::new("kz", Some(2)), &value);
        let Record::Award(award) = find(&parsed, "ocds-kz-2/award/1") else { panic!() };
        assert_eq!(award.amount.minor_units, 1_250_000);
        assert_eq!(award.supplier.name.kk.as_deref(), Some("ТОО «Поставщик»"));
        let reasons: Vec<&str> = repairs(&parsed).map(|repair| repair.reason.as_str()).collect();
        assert!(reasons.contains(&"awards[0].value.amount is text (\"12 500,005\"), not a number"), "{reasons:?}");
        assert!(
            reasons.contains(
                &"awards[0].value.amount 12500.005 has more than 2 decimals; rounded half to even to 12500.00"
            )
        );
        assert!(reasons.contains(&"awards[0].suppliers is an object, not an array"));
    }

    #[test]
    fn ids_too_long_for_the_store_are_cut_and_hashed_once() {
        let mut value = release("ocds-long-1");
        let long = "x".repeat(200);
        value["awards"][0]["id"] = json!(long);
        value["contracts"] = json!([{ "id": "c", "awardID": long, "dateSigned": "2024-03-01T00:00:00+05:00",
                                      "value": { "amount": 1, "currency": "KZT" } }]);
        let parsed = parse_release_parts(Location::new("long", Some(1)), &value);
        let awards: Vec<&AwardRecord> = records(&parsed)
            .filter_map(|record| if let Record::Award(award) = record { Some(award) } else { None })
            .collect();
        assert_eq!(awards.len(), 1);
        let id = &awards[0].upstream_id;
        assert_eq!(id.chars().count(), 128);
        assert!(id.starts_with("ocds-long-1/award/xxx"));
        let Record::Contract(contract) = find(&parsed, "ocds-long-1/contract/c") else { panic!() };
        assert_eq!(contract.award.as_ref(), Some(id));
        let reported: Vec<&Reject> =
            repairs(&parsed).filter(|repair| repair.reason.contains("longer than 128")).collect();
        assert_eq!(reported.len(), 1, "{reported:?}");
        assert_eq!(reported[0].record_id.as_ref(), Some(id));
        // A fit id is stable: the same input gives the same id.
        let again = parse_release_parts(Location::new("long", Some(1)), &value);
        assert_eq!(again, parsed);
    }

    #[test]
    fn a_record_of_linked_releases_cannot_be_read() {
        let package = json!({
            "uri": "https://example.com/records",
            "records": [{
                "ocid": "ocds-linked-1",
                "releases": [{ "url": "https://example.com/r/1", "date": "2020-01-01T00:00:00Z", "tag": ["tender"] }]
            }]
        });
        let parsed = read_bytes("records.json", serde_json::to_vec_pretty(&package).unwrap());
        let rejected = rejects(&parsed);
        assert_eq!(parsed.len(), 1);
        assert_eq!(rejected[0].record_id.as_deref(), Some("ocds-linked-1"));
        // `{`, `"records": [`, then the record (serde_json sorts the keys of `json!`).
        assert_eq!(rejected[0].location, Location::new("records.json", Some(3)));
        assert!(rejected[0].reason.contains("without fetching"), "{}", rejected[0].reason);
    }

    /// An endless package or JSON Lines stream: reading must not wait for its end.
    struct Endless {
        head: Vec<u8>,
        item: Vec<u8>,
        pending: Vec<u8>,
        served: usize,
    }

    impl Read for Endless {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.pending.is_empty() {
                self.pending = if self.served == 0 { self.head.clone() } else { self.item.clone() };
                self.served += 1;
            }
            let n = buf.len().min(self.pending.len());
            buf[..n].copy_from_slice(&self.pending[..n]);
            self.pending.drain(..n);
            Ok(n)
        }
    }

    #[test]
    fn packages_and_lines_are_streamed_through_a_bounded_window() {
        let release = serde_json::to_string_pretty(&release("ocds-stream-1")).unwrap();
        let endless = Endless {
            head: format!("{{\n  \"uri\": \"x\",\n  \"releases\": [\n{release}").into_bytes(),
            item: format!(",\n{release}").into_bytes(),
            pending: Vec::new(),
            served: 0,
        };
        let lines_per_release = release.lines().count() as u64;
        let first: Vec<Parsed> = read("endless.json", Box::new(endless)).take(3).collect();
        let positions: Vec<Option<u64>> = first
            .iter()
            .map(|parsed| match parsed {
                Parsed::Records { location, .. } => location.position,
                Parsed::Rejected(reject) => panic!("{reject:?}"),
            })
            .collect();
        // The same process again and again: its releases are merged by the window, which lets a
        // group go once it holds more than `WINDOW_RELEASES`, so output never waits for the end.
        let group = WINDOW_RELEASES as u64 + 1;
        assert_eq!(
            positions,
            vec![Some(4), Some(4 + group * lines_per_release), Some(4 + 2 * group * lines_per_release)]
        );

        let line = serde_json::to_string(&super::tests::release("ocds-stream-2")).unwrap();
        let endless = Endless {
            head: format!("{line}\n").into_bytes(),
            item: format!("{line}\n").into_bytes(),
            pending: Vec::new(),
            served: 0,
        };
        let first: Vec<Parsed> = read("endless.jsonl", Box::new(endless)).take(5).collect();
        assert_eq!(tally(&first).tenders, 5);
    }

    /// A small limit for the size tests; `release()` takes well under it.
    const TEST_LIMIT: u64 = 4 * 1024;

    fn read_limited(input: &str, bytes: Vec<u8>, limit: u64) -> Vec<Parsed> {
        read_with_limit(input, Box::new(Cursor::new(bytes)), limit).collect()
    }

    /// `release()` with a tender title of `size` bytes.
    fn big_release(ocid: &str, size: usize) -> Value {
        let mut value = release(ocid);
        value["tender"]["title"] = json!("x".repeat(size));
        value
    }

    /// The positions of the items read, in position order: releases wait in the merge window
    /// until the input ends, so a reject about a later line may come before them.
    fn positions(parsed: &[Parsed]) -> Vec<Option<u64>> {
        let mut positions: Vec<Option<u64>> = parsed
            .iter()
            .map(|parsed| match parsed {
                Parsed::Records { location, .. } => location.position,
                Parsed::Rejected(reject) => reject.location.position,
            })
            .collect();
        positions.sort();
        positions
    }

    #[test]
    fn a_json_lines_release_over_the_size_limit_is_one_reject_and_the_next_lines_are_read() {
        let lines: Vec<String> =
            [release("ocds-size-1"), big_release("ocds-size-2", 100 * 1024), release("ocds-size-3")]
                .iter()
                .map(|value| serde_json::to_string(value).unwrap())
                .collect();
        assert!(lines[0].len() < TEST_LIMIT as usize / 2, "{}", lines[0].len());
        let parsed = read_limited("big.jsonl", format!("{}\n", lines.join("\n")).into_bytes(), TEST_LIMIT);
        let rejected = rejects(&parsed);
        assert_eq!(rejected.len(), 1, "{rejected:?}");
        assert_eq!(rejected[0].location, Location::new("big.jsonl", Some(2)));
        assert_eq!(rejected[0].record_id, None);
        assert_eq!(rejected[0].reason, "release at line 2 is larger than the 4 KiB limit (max_release_bytes); skipped");
        // Each line is counted once, read or rejected (rows in = stored + rejected), and the lines
        // around the big one give what they give on their own.
        assert_eq!(positions(&parsed), vec![Some(1), Some(2), Some(3)]);
        let around = read_bytes("small.jsonl", format!("{}\n{}\n", lines[0], lines[2]).into_bytes());
        assert_eq!(tally(&parsed), Tally { rejects: tally(&around).rejects + 1, ..tally(&around) });
    }

    #[test]
    fn a_release_over_the_size_limit_ends_a_document_and_keeps_the_releases_before_it() {
        let releases = vec![
            release("ocds-doc-1"),
            release("ocds-doc-2"),
            big_release("ocds-doc-3", 100 * 1024),
            release("ocds-doc-4"),
        ];
        let package = json!({ "uri": "https://example.com/package", "version": "1.1", "releases": releases });
        let text = serde_json::to_string_pretty(&package).unwrap();
        // Releases start at the lines holding `    {` (elements of `releases`, indented 4).
        let starts: Vec<u64> =
            text.lines().enumerate().filter(|(_, line)| *line == "    {").map(|(index, _)| index as u64 + 1).collect();
        assert_eq!(starts.len(), 4);
        let parsed = read_limited("package.json", text.clone().into_bytes(), TEST_LIMIT);
        assert_eq!(positions(&parsed), vec![Some(starts[0]), Some(starts[1]), Some(starts[2])], "{parsed:?}");
        let whole = read_bytes("package.json", text.into_bytes());
        assert_eq!(parsed[..2], whole[..2]);
        let Parsed::Rejected(reject) = &parsed[2] else { panic!("{:?}", parsed[2]) };
        assert_eq!(
            reject.reason,
            format!(
                "release at line {} is larger than the 4 KiB limit (max_release_bytes); neither it nor the rest of \
                 the input was read",
                starts[2]
            )
        );

        // A one-line package, longer than the first line held in memory: the rest of its line is
        // skipped, and the next line is read.
        let package = json!({ "releases": [release("ocds-line-1"), big_release("ocds-line-2", 2 << 20), release("ocds-line-3")] });
        let text = format!("{package}\n{}\n", serde_json::to_string(&release("ocds-line-4")).unwrap());
        let parsed = read_limited("packages.jsonl", text.into_bytes(), TEST_LIMIT);
        assert_eq!(positions(&parsed), vec![Some(1), Some(1), Some(2)], "{parsed:?}");
        let Parsed::Rejected(reject) = &parsed[1] else { panic!("{:?}", parsed[1]) };
        assert_eq!(
            reject.reason,
            "release at line 1 is larger than the 4 KiB limit (max_release_bytes); skipped, with the rest of its line"
        );
        let tenders: Vec<&str> = records(&parsed)
            .filter_map(
                |record| if let Record::Tender(tender) = record { Some(tender.upstream_id.as_str()) } else { None },
            )
            .collect();
        assert_eq!(tenders, vec!["ocds-line-1", "ocds-line-4"]);
    }

    /// `head`, then `letters` pseudo-random lowercase letters (which compress about as badly as
    /// text does), then `tail`, made as they are read; `served` counts the bytes read.
    struct Generated {
        head: Cursor<Vec<u8>>,
        letters: u64,
        state: u64,
        tail: Cursor<Vec<u8>>,
        served: std::sync::Arc<std::sync::atomic::AtomicU64>,
    }

    impl Generated {
        fn new(head: &str, letters: u64, tail: &str) -> Self {
            Generated {
                head: Cursor::new(head.as_bytes().to_vec()),
                letters,
                state: 0x9E37_79B9_7F4A_7C15,
                tail: Cursor::new(tail.as_bytes().to_vec()),
                served: Default::default(),
            }
        }
    }

    impl Read for Generated {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let read = if self.head.position() < self.head.get_ref().len() as u64 {
                self.head.read(buf)?
            } else if self.letters > 0 {
                let read = buf.len().min(usize::try_from(self.letters).unwrap_or(usize::MAX));
                for byte in &mut buf[..read] {
                    // xorshift64
                    self.state ^= self.state << 13;
                    self.state ^= self.state >> 7;
                    self.state ^= self.state << 17;
                    *byte = b'a' + (self.state % 26) as u8;
                }
                self.letters -= read as u64;
                read
            } else {
                self.tail.read(buf)?
            };
            self.served.fetch_add(read as u64, std::sync::atomic::Ordering::SeqCst);
            Ok(read)
        }
    }

    #[test]
    fn a_gzip_release_over_the_size_limit_is_rejected_without_decompressing_it_whole() {
        let small = serde_json::to_string(&release("ocds-gz-1")).unwrap();
        let head =
            format!("{{\n  \"releases\": [\n    {small},\n    {{\"ocid\": \"ocds-gz-2\", \"tender\": {{\"title\": \"");
        let letters: u64 = 32 << 20;
        let plain = Generated::new(&head, letters, "\"}}\n  ]\n}\n");
        let served = plain.served.clone();
        let compressed = flate2::read::GzEncoder::new(plain, Compression::fast());
        let parsed: Vec<Parsed> = read_with_limit("big.json.gz", Box::new(compressed), TEST_LIMIT).collect();
        assert_eq!(positions(&parsed), vec![Some(3), Some(4)], "{parsed:?}");
        assert_eq!(tally(&parsed).tenders, 1);
        let Parsed::Rejected(reject) = &parsed[1] else { panic!("{:?}", parsed[1]) };
        assert_eq!(
            reject.reason,
            "release at line 4 is larger than the 4 KiB limit (max_release_bytes); neither it nor the rest of the \
             input was read"
        );
        // The parser stopped at the limit: what was decompressed beyond it is what the read
        // buffers (64 KiB of gzip, 64 KiB decompressed) hold, not the 32 MiB string.
        let served = served.load(std::sync::atomic::Ordering::SeqCst);
        let bound = head.len() as u64 + TEST_LIMIT + 3 * BUFFER as u64;
        assert!(served < bound, "{served} bytes decompressed, more than {bound}");
    }

    #[test]
    fn the_parser_reads_no_byte_past_the_limit() {
        let (sender, _receiver) = mpsc::sync_channel(CHANNEL_BOUND);
        let sink = Sink::new("counted.jsonl", sender, TEST_LIMIT);
        sink.line.set(Some(7));
        let plain = Generated::new("{\"ocid\": \"ocds-counted-1\", \"tender\": {\"title\": \"", 100 * 1024, "\"}}\n");
        let served = plain.served.clone();
        let error = parse_stream(&sink, plain).unwrap_err();
        let Failure::TooLarge(too_large) = Failure::from(error) else { panic!("not the size limit") };
        assert_eq!(too_large.counted.line, 7);
        assert_eq!(too_large.counted.what, "release");
        assert_eq!(served.load(std::sync::atomic::Ordering::SeqCst), TEST_LIMIT);
    }

    #[test]
    fn a_release_of_exactly_the_limit_is_read() {
        let line = serde_json::to_string(&big_release("ocds-edge-1", 3000)).unwrap();
        let size = line.len() as u64;
        let parsed = read_limited("edge.jsonl", format!("{line}\n").into_bytes(), size);
        assert!(rejects(&parsed).is_empty(), "{parsed:?}");
        assert_eq!(tally(&parsed).tenders, 1);
        let parsed = read_limited("edge.jsonl", format!("{line}\n").into_bytes(), size - 1);
        assert_eq!(parsed.len(), 1);
        assert_eq!(
            rejects(&parsed)[0].reason,
            format!("release at line 1 is larger than the {} B limit (max_release_bytes); skipped", size - 1)
        );

        // An element of a package is counted on its own, without the package around it.
        let package = format!("{{\n  \"uri\": \"x\",\n  \"releases\": [\n{line}\n]}}\n");
        let parsed = read_limited("edge.json", package.clone().into_bytes(), size);
        assert!(rejects(&parsed).is_empty(), "{parsed:?}");
        assert_eq!(tally(&parsed).tenders, 1);
        let parsed = read_limited("edge.json", package.into_bytes(), size - 1);
        assert_eq!(positions(&parsed), vec![Some(4)], "{parsed:?}");
        assert!(rejects(&parsed)[0].reason.starts_with("release at line 4 is larger"), "{parsed:?}");

        // The default is 64 MiB.
        assert_eq!(bytes(DEFAULT_MAX_RELEASE_BYTES), "64 MiB");
    }
}
