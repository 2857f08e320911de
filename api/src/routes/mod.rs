//! The API's operations, one module per tag.

use poem_openapi::Tags;

pub mod accounts;
pub mod attachments;
pub mod audit;
pub mod auth;
pub mod bulk;
pub mod calendar;
pub mod changes;
pub mod contracts;
pub mod councils;
pub mod decisions;
pub mod feeds;
pub mod findings;
pub mod imports;
pub mod lots;
pub mod ocds;
pub mod operations;
pub mod organizations;
pub mod participation;
pub mod payments;
pub mod plan_items;
pub mod records;
pub mod red_flags;
pub mod scrutiny_stats;
pub mod search;
pub mod stats;
pub mod tenders;

#[derive(Tags)]
pub enum ApiTags {
    /// Liveness, readiness and metrics, for operators and load balancers.
    Operations,
    /// State bodies, quasi-public entities and suppliers.
    Organizations,
    /// Procurement plans: what buyers intend to buy each year.
    Plans,
    /// Tenders (procurement announcements) and their lots.
    Tenders,
    /// Contracts between buyers and suppliers, with amendments.
    Contracts,
    /// Treasury payments under contracts.
    Payments,
    /// Orders, resolutions and board decisions of state bodies and quasi-public entities.
    Decisions,
    /// Aggregates for dashboards: spending by group, non-competitive shares.
    Stats,
    /// Whole datasets as compressed files.
    Bulk,
    /// Full-text search across organizations, tenders, contracts and decisions.
    Search,
    /// Procurement as Open Contracting Data Standard 1.1.5 release and record packages.
    Ocds,
    /// Every created, updated and deleted record, in order, to keep a copy of the data current.
    Changes,
    /// Import runs: what each importer read, stored and rejected, and why.
    Imports,
    /// Access tokens: log in, refresh, log out; the keys that verify them.
    Auth,
    /// Accounts and their roles: register, the caller's own account, and admins' changes.
    Accounts,
    /// Public councils at state bodies and quasi-public entities, and their members.
    Councils,
    /// The audit log of every write: hash-chained, a Merkle tree with signed heads and
    /// proofs (RFC 9162), verifiable without trusting the portal.
    Audit,
    /// Scrutiny findings: filed by councils, citizens and non-profits against state bodies
    /// and quasi-public entities, answered recommendation by recommendation within the law's
    /// deadlines.
    Findings,
    /// The working-day calendar deadlines count on.
    Calendar,
    /// Red flags: patterns in procurement that deserve a closer look (OCP cardinal's
    /// indicators and Kazakhstan's own), each with the evidence to check it, and the
    /// indicators that raise them.
    RedFlags,
}
