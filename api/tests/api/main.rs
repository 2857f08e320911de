//! The API's integration tests: one binary, each test against its own server on a free port
//! and its own fresh database. SQLite always; PostgreSQL when `TEST_DATABASE_URL` is set.

mod bulk;
mod changes;
mod cli;
mod errors;
mod goszakup;
mod helpers;
mod http_caching;
mod imports;
mod lists;
mod migrations;
mod observability;
mod ocds;
mod ocds_import;
mod openapi;
mod operations;
mod organizations;
mod rate_limit;
mod registers;
mod search;
mod seed;
mod stats;
mod upstream;
