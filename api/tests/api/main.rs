//! The API's integration tests: one binary, each test against its own server on a free port
//! and its own fresh database. SQLite always; PostgreSQL when `TEST_DATABASE_URL` is set.

mod cli;
mod errors;
mod helpers;
mod migrations;
mod observability;
mod openapi;
mod operations;
mod organizations;
mod seed;
