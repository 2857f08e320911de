//! R028 — Identical bid prices.
//!
//! Different tenderers submitted bids with the same amount in the same currency: a leaked price
//! matched, or a cartel's cover bid. The process and those tenderers are flagged (a tenderer may
//! repeat its own price). Not applied where the buyer sets the price. Value: 1.0.

use std::collections::HashMap;

use super::{Applicability, Code, Group, PriceComparison, Sink};
use crate::facts;
use crate::release::Release;

/// An amount as a map key: equal numbers compare equal, whatever their sign of zero.
fn price_key(amount: f64) -> u64 {
    if amount == 0.0 { 0 } else { amount.to_bits() }
}

pub fn fold(prices: &PriceComparison, release: &Release<'_>, ocid: &str, sink: &mut Sink) -> Applicability {
    if !prices.allows(release) {
        return Applicability::NotApplicable("prices set by the buyer");
    }
    if release.bid_details().is_none() {
        return Applicability::NotApplicable("no bids");
    }
    let mut seen: HashMap<(u64, &str), Vec<&str>> = HashMap::new();
    for bid in release.submitted_bids() {
        if bid.tenderers.get().is_none() {
            continue;
        }
        let Some((amount, currency)) = bid.amount() else { continue };
        let mut ids: Vec<&str> = bid.tenderer_ids().collect();
        ids.sort_unstable();
        ids.dedup();
        if ids.is_empty() {
            continue;
        }
        let key = (price_key(amount), currency);
        if let Some(other) = seen.get(&key)
            && *other != ids
        {
            let other = other.clone();
            let facts = || facts! { "amount" => amount, "currency" => currency, "tenderers" => [&ids[..], &other[..]].concat() };
            sink.raise(Code::R028, Group::Ocid, ocid, 1.0, Some(ocid), facts);
            for id in ids.iter().chain(&other) {
                sink.raise(Code::R028, Group::Tenderer, id, 1.0, Some(ocid), facts);
            }
        }
        // The latest bid at a price is the one later bids are compared with, as in cardinal.
        seen.insert(key, ids);
    }
    Applicability::Evaluated
}
