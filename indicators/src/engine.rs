//! The indicators run together: a fold over releases into per-worker totals, a merge of the
//! workers' totals, and a finish that compares organizations and processes with each other.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::OnceLock;

use crate::release::{Obj, Release};
use crate::rules::second_lowest::{self, Spreads};
use crate::rules::{
    Applicability, Code, Flag, Group, Meta, PriceComparison, Sink, matches_procurement_method_details, r003, r018,
    r024, r025, r028, r030, r035, r036, r038, r048, r058,
};
use crate::settings::Settings;

/// How many releases an indicator judged, and why it could not judge the others.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Coverage {
    pub evaluated: u64,
    /// Reasons are the indicators' own words; borrowed while folding, owned once read back
    /// from a digest.
    pub not_applicable: BTreeMap<Cow<'static, str>, u64>,
}

impl Coverage {
    fn count(&mut self, applicability: Applicability) {
        match applicability {
            Applicability::Evaluated => self.evaluated += 1,
            Applicability::NotApplicable(reason) => *self.not_applicable.entry(Cow::Borrowed(reason)).or_default() += 1,
        }
    }

    pub(crate) fn merge(&mut self, other: Coverage) {
        self.evaluated += other.evaluated;
        for (reason, count) in other.not_applicable {
            *self.not_applicable.entry(reason).or_default() += count;
        }
    }
}

/// One worker's totals over the releases it read.
#[derive(Debug, Default)]
pub struct Partial {
    pub sink: Sink,
    pub(crate) spreads: Spreads,
    pub(crate) wins: r025::Wins,
    pub(crate) disqualifications: r038::Disqualifications,
    pub(crate) varieties: r048::Varieties,
    pub coverage: [Coverage; 11],
    /// Lines that were releases the indicators looked at.
    pub releases: u64,
    /// Lines skipped before any indicator: no ocid, a cancelled process, an excluded method.
    pub skipped: BTreeMap<Cow<'static, str>, u64>,
}

impl Partial {
    /// Adds another worker's totals to these.
    pub fn merge(&mut self, other: Partial) {
        self.sink.flags.extend(other.sink.flags);
        second_lowest::merge(&mut self.spreads, other.spreads);
        r025::merge(&mut self.wins, other.wins);
        r038::merge(&mut self.disqualifications, other.disqualifications);
        r048::merge(&mut self.varieties, other.varieties);
        for (mine, theirs) in self.coverage.iter_mut().zip(other.coverage) {
            mine.merge(theirs);
        }
        self.releases += other.releases;
        for (reason, count) in other.skipped {
            *self.skipped.entry(reason).or_default() += count;
        }
    }
}

/// Everything a run found.
#[derive(Debug, Default)]
pub struct Outcome {
    /// In input order; for the same group, key and code a later flag replaces an earlier one.
    pub flags: Vec<Flag>,
    pub meta: Meta,
    pub coverage: BTreeMap<Code, Coverage>,
    pub releases: u64,
    pub skipped: BTreeMap<Cow<'static, str>, u64>,
}

/// The enabled indicators, with what they share.
pub struct Engine {
    settings: Settings,
    prices: PriceComparison,
    evidence: bool,
    /// The main currency, fixed once seen (or set): amounts in others are not compared.
    currency: OnceLock<String>,
}

impl Engine {
    pub fn new(settings: Settings, evidence: bool) -> Self {
        let prices = PriceComparison {
            include: settings.price_comparison_procurement_methods.clone(),
            exclude: settings.no_price_comparison_procurement_methods.clone(),
        };
        let currency = OnceLock::new();
        if let Some(main) = &settings.currency {
            let _ = currency.set(main.clone());
        }
        Engine { settings, prices, evidence, currency }
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub fn partial(&self) -> Partial {
        Partial { sink: Sink { evidence: self.evidence, ..Sink::default() }, ..Partial::default() }
    }

    /// Whether any enabled indicator compares amounts, and so needs the main currency.
    pub fn needs_currency(&self) -> bool {
        self.currency.get().is_none()
            && (self.settings.r024.is_some() || self.settings.r058.is_some() || self.settings.r036.is_some())
    }

    /// The currency the first amount-comparing indicator would meet in this release, in the
    /// order cardinal meets it: the spread's valid bids first, then R036's submitted bids.
    pub fn first_currency(&self, release: &Release<'_>) -> Option<String> {
        if self.admits(release).is_err() || !self.prices.allows(release) {
            return None;
        }
        if self.settings.r024.is_some() || self.settings.r058.is_some() {
            let single_award = release.final_awards_and_bids().and_then(|(awards, details)| {
                let [award] = awards.as_slice() else { return None };
                award.sole_supplier().map(|_| details)
            });
            if let Some(details) = single_award {
                let found = details
                    .iter()
                    .filter_map(Obj::get)
                    .filter(|bid| bid.status.get() == Some("valid") && bid.sole_tenderer().is_some())
                    .find_map(|bid| bid.amount());
                if let Some((_, currency)) = found {
                    return Some(currency.to_owned());
                }
            }
        }
        if self.settings.r036.is_some() {
            let active = release
                .awards
                .get()
                .is_some_and(|awards| awards.iter().filter_map(Obj::get).any(|a| a.status.get() == Some("active")));
            if active {
                return release.submitted_bids().find_map(|bid| bid.amount()).map(|(_, c)| c.to_owned());
            }
        }
        None
    }

    /// Fixes the main currency if it is not yet set.
    pub fn set_currency(&self, currency: String) {
        let _ = self.currency.set(currency);
    }

    /// Whether a currency is the main one; the first asked becomes it when none is set yet.
    fn is_main_currency(&self, currency: &str) -> bool {
        self.currency.get_or_init(|| currency.to_owned()) == currency
    }

    /// The ocid of a release every indicator looks at, or why none does.
    fn admits<'r>(&self, release: &'r Release<'_>) -> Result<&'r str, &'static str> {
        let ocid = release.ocid.get().ok_or("no ocid")?;
        if release.tender().and_then(|t| t.status.get()) == Some("cancelled") {
            return Err("cancelled process");
        }
        let none = Default::default();
        if !matches_procurement_method_details(release, &none, &self.settings.excluded_procurement_method_details) {
            return Err("excluded procurement method details");
        }
        Ok(ocid)
    }

    /// Folds one release (from input line `line`) into `partial`.
    pub fn fold(&self, release: &Release<'_>, line: u64, partial: &mut Partial) {
        let ocid = match self.admits(release) {
            Ok(ocid) => ocid,
            Err(reason) => {
                *partial.skipped.entry(Cow::Borrowed(reason)).or_default() += 1;
                return;
            }
        };
        partial.releases += 1;
        partial.sink.line = line;
        let settings = &self.settings;
        let currency = |c: &str| self.is_main_currency(c);
        let sink = &mut partial.sink;
        let coverage = &mut partial.coverage;
        if settings.r024.is_some() || settings.r058.is_some() {
            let applicability = second_lowest::fold(&self.prices, &currency, release, ocid, line, &mut partial.spreads);
            for code in [Code::R024, Code::R058] {
                coverage[code.index()].count(applicability);
            }
        }
        if let Some(r003) = &settings.r003 {
            coverage[Code::R003.index()].count(r003::fold(r003, release, ocid, sink));
        }
        if let Some(r018) = &settings.r018 {
            coverage[Code::R018.index()].count(r018::fold(r018, release, ocid, sink));
        }
        if settings.r025.is_some() {
            coverage[Code::R025.index()].count(r025::fold(release, &mut partial.wins));
        }
        if settings.r028.is_some() {
            coverage[Code::R028.index()].count(r028::fold(&self.prices, release, ocid, sink));
        }
        if settings.r030.is_some() {
            coverage[Code::R030.index()].count(r030::fold(release, ocid, sink));
        }
        if let Some(r035) = &settings.r035 {
            coverage[Code::R035.index()].count(r035::fold(r035, release, ocid, sink));
        }
        if settings.r036.is_some() {
            coverage[Code::R036.index()].count(r036::fold(&self.prices, &currency, release, ocid, sink));
        }
        if settings.r038.is_some() {
            coverage[Code::R038.index()].count(r038::fold(release, &mut partial.disqualifications));
        }
        if let Some(r048) = &settings.r048 {
            coverage[Code::R048.index()].count(r048::fold(r048, release, &mut partial.varieties));
        }
    }

    /// The main currency, once fixed.
    pub fn main_currency(&self) -> Option<&str> {
        self.currency.get().map(String::as_str)
    }

    /// Joins the workers' totals and raises the flags that compare them.
    pub fn finish(&self, partials: Vec<Partial>) -> Outcome {
        let mut all = self.partial();
        for partial in partials {
            all.merge(partial);
        }
        let settings = &self.settings;
        let mut meta = Meta::new();
        let sink = &mut all.sink;
        if let Some(r024) = &settings.r024 {
            r024::finish(r024, &all.spreads, sink, &mut meta);
        }
        if let Some(r025) = &settings.r025 {
            r025::finish(r025, &all.wins, sink, &mut meta);
        }
        if let Some(r038) = &settings.r038 {
            r038::finish(r038, &all.disqualifications, sink, &mut meta);
        }
        if let Some(r048) = &settings.r048 {
            r048::finish(r048, &all.varieties, sink, &mut meta);
        }
        if let Some(r058) = &settings.r058 {
            r058::finish(r058, &all.spreads, sink, &mut meta);
        }
        // Workers finish chunks out of order; input order makes "the later line wins" hold.
        all.sink.flags.sort_by_key(|flag| flag.line);
        let coverage = settings.enabled().into_iter().map(|code| (code, all.coverage[code.index()].clone())).collect();
        Outcome { flags: all.sink.flags, meta, coverage, releases: all.releases, skipped: all.skipped }
    }
}

impl Outcome {
    /// Cardinal's results: group → key → code → value, the last flag for each winning.
    pub fn results(&self) -> BTreeMap<Group, BTreeMap<&str, BTreeMap<Code, f64>>> {
        let mut results: BTreeMap<Group, BTreeMap<&str, BTreeMap<Code, f64>>> = BTreeMap::new();
        for flag in &self.flags {
            results.entry(flag.group).or_default().entry(flag.key.as_str()).or_default().insert(flag.code, flag.value);
        }
        results
    }
}
