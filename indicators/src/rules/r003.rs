//! R003 — Short submission period.
//!
//! The submission period, `tender/tenderPeriod/endDate - startDate` in whole days (rounded
//! toward zero), is shorter than the threshold (15 days, or the one set for the process's
//! `procurementMethodDetails`). A buyer that tells its chosen bidder early and gives the others
//! little time to prepare leaves exactly this trace. Value: 1.0.

use chrono::DateTime;

use super::{Applicability, Code, Group, Sink, matches_procurement_method};
use crate::facts;
use crate::release::Release;
use crate::settings::R003;

pub fn fold(settings: &R003, release: &Release<'_>, ocid: &str, sink: &mut Sink) -> Applicability {
    let Some(tender) = release.tender() else { return Applicability::NotApplicable("no tender") };
    if !matches_procurement_method(tender, &settings.procurement_methods) {
        return Applicability::NotApplicable("procurement method not covered");
    }
    let Some(period) = tender.tender_period.get() else { return Applicability::NotApplicable("no tender period") };
    let (Some(start), Some(end)) = (period.start_date.get(), period.end_date.get()) else {
        return Applicability::NotApplicable("tender period without start or end");
    };
    let (Ok(start_at), Ok(end_at)) = (DateTime::parse_from_rfc3339(start), DateTime::parse_from_rfc3339(end)) else {
        return Applicability::NotApplicable("tender period dates not RFC 3339");
    };
    let days = (end_at - start_at).num_days();
    let details = tender.procurement_method_details.get();
    let threshold = details
        .and_then(|details| settings.procurement_method_details.get(details))
        .copied()
        .unwrap_or(settings.threshold);
    if days < threshold {
        sink.raise(Code::R003, Group::Ocid, ocid, 1.0, Some(ocid), || {
            facts! {
                "tender_period_start" => start,
                "tender_period_end" => end,
                "submission_period_days" => days,
                "threshold_days" => threshold,
                "procurement_method_details" => details,
            }
        });
    }
    Applicability::Evaluated
}
