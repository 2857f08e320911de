//! R048 — Heterogeneous supplier.
//!
//! For each supplier of active single-supplier awards, the number of distinct first-level
//! classifications (the first `digits`, 2, characters of `items[].classification.id`) across
//! everything it was awarded. Among suppliers awarded in at least
//! `minimum_contracting_processes` (20) processes, those at or above the upper fence
//! `Q3 + 1.5 IQR` of that variety (or the `threshold`) are flagged: a firm that supplies
//! everything is more likely a front. Value: the variety.

use std::collections::{BTreeSet, HashMap, HashSet};

use super::{Applicability, Code, Group, Meta, Sink};
use crate::facts;
use crate::release::{Obj, Release};
use crate::settings::R048;
use crate::stats::{Sample, upper_fence};

/// Per supplier: processes it was awarded items in, and the first-level codes of those items.
pub type Varieties = HashMap<String, (usize, HashSet<String>)>;

pub fn fold(settings: &R048, release: &Release<'_>, varieties: &mut Varieties) -> Applicability {
    let Some(awards) = release.awards.get() else { return Applicability::NotApplicable("no awards") };
    let mut seen_here: HashSet<&str> = HashSet::new();
    let mut any = false;
    for award in awards.iter().filter_map(Obj::get) {
        if award.status.get() != Some("active") {
            continue;
        }
        // Several suppliers need not each supply every item: counting them would overcount.
        let (Some(items), Some(supplier)) = (award.items.get(), award.sole_supplier()) else { continue };
        for item in items.iter().filter_map(Obj::get) {
            let Some(code) = item.classification.get().and_then(|c| c.id.get()) else { continue };
            any = true;
            let entry = match varieties.get_mut(supplier) {
                Some(entry) => entry,
                None => varieties.entry(supplier.to_owned()).or_default(),
            };
            if seen_here.insert(supplier) {
                entry.0 += 1;
            }
            let first_level: String = code.chars().take(settings.digits).collect();
            if !entry.1.contains(&first_level) {
                entry.1.insert(first_level);
            }
        }
    }
    if any { Applicability::Evaluated } else { Applicability::NotApplicable("no classified items in active awards") }
}

pub fn merge(into: &mut Varieties, other: Varieties) {
    for (id, (count, codes)) in other {
        let entry = into.entry(id).or_default();
        entry.0 += count;
        entry.1.extend(codes);
    }
}

pub fn finish(settings: &R048, varieties: &Varieties, sink: &mut Sink, meta: &mut Meta) {
    let counted: Vec<(&String, &(usize, HashSet<String>))> =
        varieties.iter().filter(|(_, (count, _))| *count >= settings.minimum_contracting_processes).collect();
    let mut figures = Vec::new();
    let fence = match settings.threshold {
        Some(threshold) => threshold as f64,
        None => {
            let sample = Sample::new(counted.iter().map(|(_, (_, codes))| codes.len() as f64).collect());
            let (q1, q3) = (sample.q1(), sample.q3());
            figures.extend([("q1".to_owned(), q1), ("q3".to_owned(), q3)]);
            upper_fence(q1, q3)
        }
    };
    figures.push(("upper_fence".to_owned(), fence));
    meta.push((Code::R048, figures));
    sink.line = 0;
    let mut flagged: Vec<_> = counted.into_iter().filter(|(_, (_, codes))| codes.len() as f64 >= fence).collect();
    flagged.sort_by(|a, b| a.0.cmp(b.0));
    for (id, (count, codes)) in flagged {
        sink.raise(Code::R048, Group::Tenderer, id, codes.len() as f64, None, || {
            let codes: BTreeSet<&String> = codes.iter().collect();
            facts! { "processes_awarded" => count, "first_level_codes" => codes, "upper_fence" => fence }
        });
    }
}
