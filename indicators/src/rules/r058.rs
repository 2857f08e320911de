//! R058 — Heavily discounted bid.
//!
//! The spread between the winning and the second-lowest valid bid ([`super::second_lowest`]) is
//! at or above the upper fence `Q3 + 1.5 IQR` of all spreads (or the `threshold` set): a winner
//! far cheaper than everyone else may deliver a "lemon". Skipped when the fence is not positive.
//! Value: the spread; the winner gets 0.0.

use super::second_lowest::Spreads;
use super::{Code, Group, Meta, Sink};
use crate::facts;
use crate::settings::Threshold;
use crate::stats::{Sample, upper_fence};

pub fn finish(settings: &Threshold, spreads: &Spreads, sink: &mut Sink, meta: &mut Meta) {
    let mut figures = Vec::new();
    let fence = match settings.threshold {
        Some(threshold) => threshold,
        None => {
            let sample = Sample::new(spreads.values().map(|s| s.ratio).collect());
            let (q1, q3) = (sample.q1(), sample.q3());
            figures.extend([("q1".to_owned(), q1), ("q3".to_owned(), q3)]);
            upper_fence(q1, q3)
        }
    };
    figures.push(("upper_fence".to_owned(), fence));
    let quartiles = figures.clone();
    meta.push((Code::R058, figures));
    if fence.is_nan() || fence <= 0.0 {
        return;
    }
    let mut flagged: Vec<_> = spreads.iter().filter(|(_, s)| s.ratio >= fence).collect();
    flagged.sort_by_key(|(_, s)| s.line);
    for (ocid, spread) in flagged {
        sink.line = spread.line;
        let facts = || {
            let mut facts = facts! {
                "winner" => spread.winner, "winning_amount" => spread.winner_amount,
                "second_lowest_bidder" => spread.runner_up, "second_lowest_amount" => spread.runner_up_amount,
                "difference" => spread.ratio,
            };
            facts.extend(quartiles.iter().map(|(k, v)| (k.clone(), serde_json::json!(v))));
            facts
        };
        sink.raise(Code::R058, Group::Ocid, ocid, spread.ratio, Some(ocid), facts);
        sink.raise(Code::R058, Group::Tenderer, &spread.winner, 0.0, Some(ocid), facts);
    }
}
