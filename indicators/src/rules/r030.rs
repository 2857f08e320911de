//! R030 — Late bid won.
//!
//! A valid bid's `date` is after `tender/tenderPeriod/endDate`, and its tenderer is a supplier
//! of an active award: a buyer that ignores its own deadline for its chosen bidder. Dates are
//! compared as written (RFC 3339 text compares in time order when offsets agree), as cardinal
//! does. The process and those tenderers are flagged. Value: 1.0.

use std::collections::HashSet;

use super::{Applicability, Code, Group, Sink};
use crate::facts;
use crate::release::{Obj, Release};

pub fn fold(release: &Release<'_>, ocid: &str, sink: &mut Sink) -> Applicability {
    let Some(end) = release.tender().and_then(|t| t.tender_period.get()).and_then(|p| p.end_date.get()) else {
        return Applicability::NotApplicable("no submission deadline");
    };
    let Some(awards) = release.awards.get() else { return Applicability::NotApplicable("no awards") };
    let Some(details) = release.bid_details() else { return Applicability::NotApplicable("no bids") };
    let suppliers: HashSet<&str> = awards
        .iter()
        .filter_map(Obj::get)
        .filter(|award| award.status.get() == Some("active") && award.suppliers.get().is_some())
        .flat_map(|award| award.supplier_ids())
        .collect();
    for bid in details.iter().filter_map(Obj::get) {
        let (Some("valid"), Some(date)) = (bid.status.get(), bid.date.get()) else { continue };
        if bid.tenderers.get().is_none() || date <= end {
            continue;
        }
        for id in bid.tenderer_ids().filter(|id| suppliers.contains(id)) {
            let facts = || facts! { "bid_date" => date, "submission_deadline" => end, "tenderer" => id };
            sink.raise(Code::R030, Group::Ocid, ocid, 1.0, Some(ocid), facts);
            sink.raise(Code::R030, Group::Tenderer, id, 1.0, Some(ocid), facts);
        }
    }
    Applicability::Evaluated
}
