//! R018 — Single bid received.
//!
//! A competitive procedure (`procurementMethod` open or selective, configurable) with
//! `tender/numberOfTenderers` equal to 1: competition that was suppressed looks like this.
//! Value: 1.0.

use super::{Applicability, Code, Group, Sink, matches_procurement_method};
use crate::facts;
use crate::release::Release;
use crate::settings::R018;

pub fn fold(settings: &R018, release: &Release<'_>, ocid: &str, sink: &mut Sink) -> Applicability {
    let Some(tender) = release.tender() else { return Applicability::NotApplicable("no tender") };
    if !matches_procurement_method(tender, &settings.procurement_methods) {
        return Applicability::NotApplicable("procurement method not competitive");
    }
    let Some(number) = tender.number_of_tenderers.float else {
        return Applicability::NotApplicable("number of tenderers not given");
    };
    // Cardinal reads the count as an unsigned integer; 1.0 or -1 is not one tenderer.
    if tender.number_of_tenderers.unsigned == Some(1) {
        sink.raise(Code::R018, Group::Ocid, ocid, 1.0, Some(ocid), || {
            facts! {
                "number_of_tenderers" => number,
                "procurement_method" => tender.procurement_method.get(),
            }
        });
    }
    Applicability::Evaluated
}
