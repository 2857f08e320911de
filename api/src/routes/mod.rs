//! The API's operations, one module per tag.

use poem_openapi::Tags;

pub mod operations;
pub mod organizations;

#[derive(Tags)]
pub enum ApiTags {
    /// Liveness, readiness and metrics, for operators and load balancers.
    Operations,
    /// State bodies, quasi-public entities and suppliers.
    Organizations,
}
