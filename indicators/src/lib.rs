//! Scrutiny's red-flag engine.
//!
//! - [`rules`]: OCP cardinal's procurement indicators (R003 … R058), one module each, over OCDS
//!   compiled releases ([`release`] reads what they need of a line), wired together by
//!   [`engine`] and configured by [`settings`] in cardinal's INI format.
//! - [`run`]: a file of releases (or of packages, compiled first with [`merge`]) read in
//!   parallel, with broken lines reported by line and column; [`output`] prints cardinal's JSON.

pub mod catalogue;
pub mod database;
pub mod digest;
pub mod engine;
pub mod kazakhstan;
pub mod output;
pub mod release;
pub mod rules;
pub mod run;
pub mod settings;
pub mod stats;

/// The OCDS merge routine, which the importers share: it lives in `domain`.
pub use domain::ocds::merge;
pub use engine::{Engine, Outcome};
pub use rules::{Code, Flag, Group};
pub use settings::Settings;
