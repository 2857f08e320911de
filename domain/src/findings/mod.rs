//! Scrutiny findings: the Public Control workflow from filing to answer (Law No. 30-VIII of
//! 2 October 2023, Art. 13), and the working-day calendar its deadlines count on.
//!
//! `tables` is the stored shape; `service` files, edits and moves findings (each change one
//! audited write); `view` assembles what readers see and judges the due dates; `query` lists
//! them; `deadlines` records passed due dates and recomputes them when the calendar changes.

pub mod attachments;
pub mod calendar;
pub mod comments;
pub mod deadlines;
pub mod demo;
pub mod query;
pub mod requests;
pub mod service;
pub mod stats;
pub mod tables;
pub mod view;

pub use query::{FindingFilter, FindingRef};
pub use service::*;
pub use view::*;
