//! sea-orm entities: the stored shape of the domain. Every table that importers fill carries
//! provenance columns (`source`, `upstream_id`, `fetched_at`, `content_hash`, `import_run_id`)
//! with `(source, upstream_id)` unique, so re-importing a record updates it instead of
//! duplicating it. Money columns are `*_minor` integers with a currency, an exchange rate
//! (decimal text) and a VAT flag beside them.

pub mod award;
pub mod bid;
pub mod budget_line;
pub mod contract;
pub mod contract_amendment;
pub mod decision;
pub mod delivery_act;
pub mod enums;
pub mod import_reject;
pub mod import_run;
pub mod lot;
pub mod organization;
pub mod payment;
pub mod plan_item;
pub mod tender;
pub mod unreliable_supplier;

pub use enums::*;
