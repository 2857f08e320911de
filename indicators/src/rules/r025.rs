//! R025 — Excessive unsuccessful bids.
//!
//! For each tenderer, the share of processes it won among those where it had a valid bid
//! (processes with every award final and exactly one active award to one supplier; a tenderer
//! counts once per process). A top tenderer — with at least the `percentile` (75th) of valid
//! bids — whose share is at or below the lower fence `Q1 − 1.5 IQR` of all shares (or the
//! `threshold`) is flagged: a cover bidder losing on purpose. Skipped when Q1 or the fence is
//! not positive. Value: the share.

use std::collections::{HashMap, HashSet};

use super::{Applicability, Code, Fraction, Group, Meta, Sink};
use crate::facts;
use crate::release::{Obj, Release};
use crate::settings::R025;
use crate::stats::{Sample, lower_fence};

/// Processes won over processes bid in, by tenderer.
pub type Wins = HashMap<String, Fraction>;

pub fn fold(release: &Release<'_>, wins: &mut Wins) -> Applicability {
    let Some((awards, details)) = release.final_awards_and_bids() else {
        return Applicability::NotApplicable("no bids, no awards or an award not final");
    };
    let [award] = awards.as_slice() else { return Applicability::NotApplicable("not exactly one active award") };
    let Some(supplier) = award.sole_supplier() else {
        return Applicability::NotApplicable("award not to exactly one supplier");
    };
    let tenderers: HashSet<&str> = details
        .iter()
        .filter_map(Obj::get)
        .filter(|bid| bid.status.get() == Some("valid"))
        .filter_map(|bid| bid.sole_tenderer())
        .collect();
    for tenderer in tenderers {
        let fraction = match wins.get_mut(tenderer) {
            Some(fraction) => fraction,
            None => wins.entry(tenderer.to_owned()).or_default(),
        };
        fraction.add(usize::from(tenderer == supplier), 1);
    }
    Applicability::Evaluated
}

pub fn merge(into: &mut Wins, other: Wins) {
    for (id, fraction) in other {
        into.entry(id).or_default().merge(fraction);
    }
}

pub fn finish(settings: &R025, wins: &Wins, sink: &mut Sink, meta: &mut Meta) {
    let top = Sample::new(wins.values().map(|f| f.denominator as f64).collect()).percentile(settings.percentile);
    let mut figures = Vec::new();
    let (fence, q1) = match settings.threshold {
        Some(threshold) => (threshold, 1.0),
        None => {
            let sample = Sample::new(wins.values().map(|f| f.ratio()).collect());
            let (q1, q3) = (sample.q1(), sample.q3());
            figures.extend([("q1".to_owned(), q1), ("q3".to_owned(), q3)]);
            (lower_fence(q1, q3), q1)
        }
    };
    figures.extend([("upper_fence".to_owned(), top), ("lower_fence".to_owned(), fence)]);
    meta.push((Code::R025, figures));
    if !(q1 > 0.0 && fence > 0.0) {
        return;
    }
    sink.line = 0;
    let mut flagged: Vec<_> = wins.iter().filter(|(_, f)| f.denominator as f64 >= top && f.ratio() <= fence).collect();
    flagged.sort_by(|a, b| a.0.cmp(b.0));
    for (id, fraction) in flagged {
        sink.raise(Code::R025, Group::Tenderer, id, fraction.ratio(), None, || {
            facts! {
                "processes_won" => fraction.numerator, "processes_with_valid_bid" => fraction.denominator,
                "win_share" => fraction.ratio(), "top_tenderer_minimum_bids" => top, "lower_fence" => fence,
                "q1" => q1,
            }
        });
    }
}
