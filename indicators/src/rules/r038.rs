//! R038 — Excessive disqualified bids.
//!
//! For each buyer, procuring entity and tenderer, the share of submitted bids that were
//! disqualified, over all processes. Those at or above the upper fence `Q3 + 1.5 IQR` of their
//! group's shares (or the `threshold`) are flagged: a buyer clearing the way for chosen bidders,
//! or a bidder feigning competition. Tenderers with fewer than `minimum_submitted_bids` bids,
//! and buyers and procuring entities that received fewer than `minimum_contracting_processes`
//! bids, are left out. Skipped when the fence is not positive. Value: the share.

use std::collections::HashMap;

use super::{Applicability, Code, Fraction, Group, Meta, Sink};
use crate::facts;
use crate::release::Release;
use crate::settings::R038;
use crate::stats::{Sample, upper_fence};

/// Disqualified over submitted bids, per organization of each group.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Disqualifications {
    pub buyer: HashMap<String, Fraction>,
    pub procuring_entity: HashMap<String, Fraction>,
    pub tenderer: HashMap<String, Fraction>,
}

impl Disqualifications {
    pub fn is_empty(&self) -> bool {
        self.buyer.is_empty() && self.procuring_entity.is_empty() && self.tenderer.is_empty()
    }
}

fn add(map: &mut HashMap<String, Fraction>, id: &str, numerator: usize, denominator: usize) {
    match map.get_mut(id) {
        Some(fraction) => fraction.add(numerator, denominator),
        None => map.entry(id.to_owned()).or_default().add(numerator, denominator),
    }
}

pub fn fold(release: &Release<'_>, totals: &mut Disqualifications) -> Applicability {
    let mut submitted = 0;
    let mut disqualified = 0;
    for bid in release.submitted_bids() {
        submitted += 1;
        let is_disqualified = usize::from(bid.status.get() == Some("disqualified"));
        disqualified += is_disqualified;
        for id in bid.tenderer_ids() {
            add(&mut totals.tenderer, id, is_disqualified, 1);
        }
    }
    if submitted == 0 {
        return Applicability::NotApplicable("no submitted bids");
    }
    if let Some(id) = release.buyer.get().and_then(|buyer| buyer.id.get()) {
        add(&mut totals.buyer, id, disqualified, submitted);
    }
    if let Some(id) = release.tender().and_then(|t| t.procuring_entity.get()).and_then(|p| p.id.get()) {
        add(&mut totals.procuring_entity, id, disqualified, submitted);
    }
    Applicability::Evaluated
}

pub fn merge(into: &mut Disqualifications, other: Disqualifications) {
    for (mine, theirs) in [
        (&mut into.buyer, other.buyer),
        (&mut into.procuring_entity, other.procuring_entity),
        (&mut into.tenderer, other.tenderer),
    ] {
        for (id, fraction) in theirs {
            mine.entry(id).or_default().merge(fraction);
        }
    }
}

pub fn finish(settings: &R038, totals: &Disqualifications, sink: &mut Sink, meta: &mut Meta) {
    let mut figures = Vec::new();
    sink.line = 0;
    for (group, map, minimum) in [
        (Group::Buyer, &totals.buyer, settings.minimum_contracting_processes),
        (Group::ProcuringEntity, &totals.procuring_entity, settings.minimum_contracting_processes),
        (Group::Tenderer, &totals.tenderer, settings.minimum_submitted_bids),
    ] {
        let mut counted: Vec<(&String, Fraction)> =
            map.iter().filter(|(_, f)| f.denominator >= minimum).map(|(id, f)| (id, *f)).collect();
        if counted.is_empty() {
            continue;
        }
        let name = group.as_str();
        let fence = match settings.threshold {
            Some(threshold) => threshold,
            None => {
                let sample = Sample::new(counted.iter().map(|(_, f)| f.ratio()).collect());
                let (q1, q3) = (sample.q1(), sample.q3());
                figures.extend([(format!("{name}_q1"), q1), (format!("{name}_q3"), q3)]);
                upper_fence(q1, q3)
            }
        };
        figures.push((format!("{name}_upper_fence"), fence));
        if fence.is_nan() || fence <= 0.0 {
            continue;
        }
        counted.sort_by(|a, b| a.0.cmp(b.0));
        for (id, fraction) in counted.into_iter().filter(|(_, f)| f.ratio() >= fence) {
            sink.raise(Code::R038, group, id, fraction.ratio(), None, || {
                facts! {
                    "bids_disqualified" => fraction.numerator, "bids_submitted" => fraction.denominator,
                    "disqualified_share" => fraction.ratio(), "upper_fence" => fence,
                }
            });
        }
    }
    meta.push((Code::R038, figures));
}
