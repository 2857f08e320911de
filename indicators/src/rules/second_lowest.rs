//! The measure R024 and R058 share: how far the second-lowest valid bid is above the winning
//! one, `(second − winner) / winner`, for processes that can be read as price-only.
//!
//! A process counts when every award is final, exactly one is active, it has one supplier, and
//! the winner's lowest valid bid is at or below every other tenderer's (otherwise the criterion
//! was not price alone). Bids count when valid, by one tenderer, with an amount in the main
//! currency. Not applied where the buyer sets the price.

use std::collections::HashMap;

use super::{Applicability, PriceComparison};
use crate::release::Release;

/// One process's measure.
#[derive(Debug, Clone, PartialEq)]
pub struct Spread {
    pub ratio: f64,
    pub winner: String,
    pub winner_amount: f64,
    pub runner_up: String,
    pub runner_up_amount: f64,
    /// The input line, so a later release of an ocid replaces an earlier one.
    pub line: u64,
}

/// Spreads by ocid.
pub type Spreads = HashMap<String, Spread>;

pub fn fold(
    prices: &PriceComparison,
    currency: &dyn Fn(&str) -> bool,
    release: &Release<'_>,
    ocid: &str,
    line: u64,
    spreads: &mut Spreads,
) -> Applicability {
    if !prices.allows(release) {
        return Applicability::NotApplicable("prices set by the buyer");
    }
    let Some((awards, details)) = release.final_awards_and_bids() else {
        return Applicability::NotApplicable("no bids, no awards or an award not final");
    };
    // With one active award, all bids competed for all items; several need lots to say which.
    let [award] = awards.as_slice() else { return Applicability::NotApplicable("not exactly one active award") };
    let Some(supplier) = award.sole_supplier() else {
        return Applicability::NotApplicable("award not to exactly one supplier");
    };
    let mut winner: Option<(&str, f64)> = None;
    let mut runner_up: Option<(&str, f64)> = None;
    for bid in details.iter().filter_map(|bid| bid.get()) {
        if bid.status.get() != Some("valid") {
            continue;
        }
        let (Some((amount, bid_currency)), Some(tenderer)) = (bid.amount(), bid.sole_tenderer()) else { continue };
        if !currency(bid_currency) {
            continue;
        }
        let slot = if tenderer == supplier { &mut winner } else { &mut runner_up };
        if slot.is_none_or(|(_, low)| amount < low) {
            *slot = Some((tenderer, amount));
        }
    }
    let (Some((winner, winner_amount)), Some((runner_up, runner_up_amount))) = (winner, runner_up) else {
        return Applicability::NotApplicable("no valid bid from the winner and from another tenderer");
    };
    if runner_up_amount < winner_amount {
        return Applicability::NotApplicable("the lowest bid did not win: not price-only");
    }
    spreads.insert(
        ocid.to_owned(),
        Spread {
            ratio: (runner_up_amount - winner_amount) / winner_amount,
            winner: winner.to_owned(),
            winner_amount,
            runner_up: runner_up.to_owned(),
            runner_up_amount,
            line,
        },
    );
    Applicability::Evaluated
}

/// Joins two workers' spreads; for an ocid on several lines the later line wins.
pub fn merge(into: &mut Spreads, other: Spreads) {
    for (ocid, spread) in other {
        match into.get(&ocid) {
            Some(existing) if existing.line > spread.line => {}
            _ => {
                into.insert(ocid, spread);
            }
        }
    }
}
