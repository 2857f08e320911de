//! The audit log: every write appends an event, in the write's own transaction, to an
//! append-only log that is hash-chained and the leaves of a Merkle tree (RFC 9162).

pub mod merkle;
