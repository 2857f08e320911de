//! Cardinal's red-flag indicators, one module each.
//!
//! Each module holds the indicator's methodology in its doc comment, reads its settings from
//! [`crate::settings`], and has a `fold` over one release (flags about a contracting process
//! are raised there) and, for indicators that compare organizations or processes with each
//! other, a `finish` over the totals of all releases (flags about outliers are raised there).
//! [`crate::engine`] wires them together.

pub mod r003;
pub mod r018;
pub mod r024;
pub mod r025;
pub mod r028;
pub mod r030;
pub mod r035;
pub mod r036;
pub mod r038;
pub mod r048;
pub mod r058;
pub mod second_lowest;

use std::collections::HashSet;

use serde_json::{Map, Value};

use crate::release::{Release, Tender};

/// An indicator's code, as cardinal names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub enum Code {
    R003,
    R018,
    R024,
    R025,
    R028,
    R030,
    R035,
    R036,
    R038,
    R048,
    R058,
}

impl Code {
    pub const ALL: [Code; 11] = [
        Code::R003,
        Code::R018,
        Code::R024,
        Code::R025,
        Code::R028,
        Code::R030,
        Code::R035,
        Code::R036,
        Code::R038,
        Code::R048,
        Code::R058,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Code::R003 => "R003",
            Code::R018 => "R018",
            Code::R024 => "R024",
            Code::R025 => "R025",
            Code::R028 => "R028",
            Code::R030 => "R030",
            Code::R035 => "R035",
            Code::R036 => "R036",
            Code::R038 => "R038",
            Code::R048 => "R048",
            Code::R058 => "R058",
        }
    }

    pub fn parse(text: &str) -> Option<Code> {
        Code::ALL.into_iter().find(|code| code.as_str() == text)
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

/// What a flag is about: a contracting process or one of its organizations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub enum Group {
    /// Keyed by `ocid`.
    Ocid,
    /// Keyed by `buyer/id`.
    Buyer,
    /// Keyed by `tender/procuringEntity/id`.
    ProcuringEntity,
    /// Keyed by `bids/details[]/tenderers[]/id`.
    Tenderer,
}

impl Group {
    pub const ALL: [Group; 4] = [Group::Ocid, Group::Buyer, Group::ProcuringEntity, Group::Tenderer];

    /// The group's name in cardinal's output.
    pub fn as_str(self) -> &'static str {
        match self {
            Group::Ocid => "OCID",
            Group::Buyer => "Buyer",
            Group::ProcuringEntity => "ProcuringEntity",
            Group::Tenderer => "Tenderer",
        }
    }
}

/// One raised flag: cardinal's `Group → key → code → value`, with what a reader needs to check it.
#[derive(Debug, Clone, PartialEq)]
pub struct Flag {
    pub code: Code,
    pub group: Group,
    pub key: String,
    /// Cardinal's output value (1.0, a ratio, a count, a variety…).
    pub value: f64,
    /// The input line the flag came from (0 for flags over all releases): a later line's flag
    /// replaces an earlier one's, as a later release of the same ocid would.
    pub line: u64,
    /// Filled only when asked for ([`Context::evidence`]): the command-line output does not
    /// carry it, so it costs nothing there.
    pub evidence: Option<Box<Evidence>>,
}

/// The facts behind a flag.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct Evidence {
    /// The contracting process, for flags raised over one.
    pub ocid: Option<String>,
    /// The values compared and the thresholds they were compared with, by name.
    pub facts: Map<String, Value>,
}

/// Per-run inputs every fold may read.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// Build [`Evidence`] for every flag.
    pub evidence: bool,
    /// The main currency: amounts in other currencies are not compared.
    pub currency: Option<String>,
}

/// Where flags go during a fold.
#[derive(Debug, Default)]
pub struct Sink {
    pub flags: Vec<Flag>,
    pub line: u64,
    pub evidence: bool,
}

impl Sink {
    /// Raises a flag; `facts` is called only when evidence is wanted.
    pub fn raise(
        &mut self,
        code: Code,
        group: Group,
        key: &str,
        value: f64,
        ocid: Option<&str>,
        facts: impl FnOnce() -> Map<String, Value>,
    ) {
        let evidence = self.evidence.then(|| Box::new(Evidence { ocid: ocid.map(str::to_owned), facts: facts() }));
        self.flags.push(Flag { code, group, key: key.to_owned(), value, line: self.line, evidence });
    }
}

/// Why an indicator could not judge a release, or that it did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applicability {
    Evaluated,
    NotApplicable(&'static str),
}

/// Cardinal's quartiles and fences per indicator, in output order.
pub type Meta = Vec<(Code, Vec<(String, f64)>)>;

/// A running ratio: `numerator / denominator` summed over releases (a mediant).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Fraction {
    pub numerator: usize,
    pub denominator: usize,
}

impl Fraction {
    pub fn add(&mut self, numerator: usize, denominator: usize) {
        self.numerator += numerator;
        self.denominator += denominator;
    }

    pub fn merge(&mut self, other: Fraction) {
        self.add(other.numerator, other.denominator);
    }

    pub fn ratio(self) -> f64 {
        self.numerator as f64 / self.denominator as f64
    }
}

/// Whether `procurementMethod` is in `methods`; an empty set means any, and an unset method
/// matches only then.
pub fn matches_procurement_method(tender: &Tender<'_>, methods: &HashSet<String>) -> bool {
    methods.is_empty() || tender.procurement_method.get().is_some_and(|method| methods.contains(method))
}

/// Whether `procurementMethodDetails` passes an allow list (`include`, used when non-empty) or
/// else a deny list (`exclude`). An unset value passes only a deny list.
pub fn matches_procurement_method_details(
    release: &Release<'_>,
    include: &HashSet<String>,
    exclude: &HashSet<String>,
) -> bool {
    match release.tender().and_then(|tender| tender.procurement_method_details.get()) {
        Some(details) if include.is_empty() => !exclude.contains(details),
        Some(details) => include.contains(details),
        None => include.is_empty(),
    }
}

/// Prices the buyer did not set: the global price-comparison lists allow comparing them.
#[derive(Debug, Clone, Default)]
pub struct PriceComparison {
    pub include: HashSet<String>,
    pub exclude: HashSet<String>,
}

impl PriceComparison {
    pub fn allows(&self, release: &Release<'_>) -> bool {
        matches_procurement_method_details(release, &self.include, &self.exclude)
    }
}

/// Builds an evidence map from `name => value` pairs.
#[macro_export]
macro_rules! facts {
    ($($name:literal => $value:expr),* $(,)?) => {{
        #[allow(unused_mut)]
        let mut map = serde_json::Map::new();
        $(map.insert($name.to_owned(), serde_json::json!($value));)*
        map
    }};
}
