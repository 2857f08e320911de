//! R035 — All except winning bid disqualified.
//!
//! Every award is final; exactly one tenderer has valid bids; it is the supplier of every active
//! award; and at least `threshold` (1) other tenderers had bids disqualified. A buyer that
//! clears the way for its chosen bidder by disqualifying the rest. Value: the number of other
//! tenderers disqualified; the winner is flagged with 0.0.

use std::collections::HashSet;

use super::{Applicability, Code, Group, Sink};
use crate::facts;
use crate::release::{Obj, Release};
use crate::settings::R035;

pub fn fold(settings: &R035, release: &Release<'_>, ocid: &str, sink: &mut Sink) -> Applicability {
    let Some((awards, details)) = release.final_awards_and_bids() else {
        return Applicability::NotApplicable("no bids, no awards or an award not final");
    };
    let suppliers: HashSet<&str> = awards.iter().flat_map(|award| award.supplier_ids()).collect();
    let mut valid: HashSet<&str> = HashSet::new();
    let mut disqualified: HashSet<&str> = HashSet::new();
    for bid in details.iter().filter_map(Obj::get) {
        let set = match bid.status.get() {
            Some("valid") => &mut valid,
            Some("disqualified") => &mut disqualified,
            _ => continue,
        };
        set.extend(bid.tenderer_ids());
    }
    // Several valid tenderers or winners is not this pattern: a buyer may award many bids.
    if valid.len() == 1 && valid == suppliers {
        let others = disqualified.difference(&valid).count();
        if others >= settings.threshold {
            let winner = valid.iter().next().copied().unwrap_or_default();
            let facts = || {
                let mut others: Vec<&str> = disqualified.difference(&valid).copied().collect();
                others.sort_unstable();
                facts! { "winner" => winner, "disqualified_tenderers" => others, "threshold" => settings.threshold }
            };
            sink.raise(Code::R035, Group::Ocid, ocid, others as f64, Some(ocid), facts);
            sink.raise(Code::R035, Group::Tenderer, winner, 0.0, Some(ocid), facts);
        }
    }
    Applicability::Evaluated
}
