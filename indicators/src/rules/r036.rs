//! R036 — Lowest bid disqualified.
//!
//! The process has an active award and a valid bid with an amount, and its lowest submitted bid
//! (in the main currency) was disqualified: under a price-only criterion, the cheapest offer
//! thrown out. Not applied where the buyer sets the price. Value: 1.0.

use super::{Applicability, Code, Group, PriceComparison, Sink};
use crate::facts;
use crate::release::{Obj, Release};

pub fn fold(
    prices: &PriceComparison,
    currency: &dyn Fn(&str) -> bool,
    release: &Release<'_>,
    ocid: &str,
    sink: &mut Sink,
) -> Applicability {
    if !prices.allows(release) {
        return Applicability::NotApplicable("prices set by the buyer");
    }
    let has_active_award = release
        .awards
        .get()
        .is_some_and(|awards| awards.iter().filter_map(Obj::get).any(|a| a.status.get() == Some("active")));
    if !has_active_award {
        return Applicability::NotApplicable("no active award");
    }
    let mut lowest: Option<(f64, bool)> = None;
    let mut has_valid_amount = false;
    for bid in release.submitted_bids() {
        let Some((amount, bid_currency)) = bid.amount() else { continue };
        if !currency(bid_currency) {
            continue;
        }
        let disqualified = bid.status.get() == Some("disqualified");
        if lowest.is_none_or(|(low, _)| amount < low) {
            lowest = Some((amount, disqualified));
        }
        has_valid_amount |= bid.status.get() == Some("valid");
    }
    if has_valid_amount && let Some((amount, true)) = lowest {
        sink.raise(Code::R036, Group::Ocid, ocid, 1.0, Some(ocid), || facts! { "lowest_bid_amount" => amount });
    }
    Applicability::Evaluated
}
