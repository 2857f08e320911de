//! The API's integration tests: one binary, each test against its own server on a free port
//! and its own fresh database. SQLite always; PostgreSQL when `TEST_DATABASE_URL` is set.

mod accounts;
mod attachments;
mod audit;
mod bulk;
mod calendar;
mod changes;
mod cli;
mod concurrency;
mod errors;
mod feeds;
mod findings;
mod goszakup;
mod helpers;
mod http_caching;
mod imports;
mod lists;
mod mail;
mod matrix;
mod migrations;
mod observability;
mod ocds;
mod ocds_import;
mod openapi;
mod operations;
mod organizations;
mod participation;
mod rate_limit;
mod red_flags;
mod registers;
#[path = "../../../domain/tests/rfc9162.rs"]
mod rfc9162;
mod scrutiny_stats;
mod search;
mod secrets;
mod seed;
mod stats;
mod tokens;
mod upstream;
