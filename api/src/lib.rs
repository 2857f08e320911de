//! Scrutiny's HTTP API: poem + poem-openapi endpoints over the domain layer.
//! The `scrutiny` binary (`src/main.rs`) is a thin command line over this library.

pub mod auth;
pub mod bulk_store;
pub mod config;
pub mod dto;
pub mod error;
pub mod lists;
pub mod mail;
pub mod metrics;
pub mod middleware;
pub mod preconditions;
pub mod routes;
pub mod schedule;
pub mod slow_clients;
pub mod spec;
pub mod startup;
pub mod telemetry;
pub mod vocab;

pub use startup::{Application, api_service, openapi_yaml, routes};
