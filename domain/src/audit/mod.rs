//! The audit log: every write appends an event, in the write's own transaction (see
//! [`crate::writes`]), to an append-only log that is hash-chained and the leaves of a Merkle
//! tree (RFC 9162), so that anyone can check it without trusting the portal.

pub mod log;
pub mod merkle;
pub mod tables;

pub use log::*;
