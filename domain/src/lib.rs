//! Scrutiny's domain layer: the types the rest of the system speaks in, the sea-orm entities
//! that store them on SQLite and PostgreSQL alike, one migration set, and the services that
//! query and load them.
//!
//! This crate knows nothing of HTTP or of upstream transports: the API and the importers
//! depend on it, never the other way round.

pub mod accounts;
pub mod audit;
pub mod biin;
pub mod cache;
pub mod changes;
pub mod clock;
pub mod db;
pub mod demo;
pub mod entities;
pub mod error;
pub mod findings;
pub mod imports;
pub mod ingest;
pub mod kato;
pub mod listing;
pub mod migration;
pub mod money;
pub mod names;
pub mod notifications;
pub mod ocds;
pub mod organizations;
pub mod pagination;
pub mod provenance;
pub mod records;
pub mod red_flags;
pub mod search;
pub mod stats;
pub mod writes;

pub use biin::{Biin, BiinError};
pub use error::DomainError;
pub use kato::KatoCode;
pub use money::Money;
pub use names::LocalizedName;
