//! Liveness, readiness and metrics.

use poem_openapi::payload::{Json, PlainText};
use poem_openapi::{ApiResponse, Object, OpenApi};
use sea_orm::DatabaseConnection;

use super::ApiTags;
use crate::error::{ApiError, ApiResult, Problem};
use crate::metrics::Metrics;

pub struct OperationsApi {
    pub db: DatabaseConnection,
    pub metrics: Metrics,
}

/// A health answer.
#[derive(Debug, Object)]
pub struct Health {
    /// `ok` when alive, `ready` when the database answers too.
    pub status: String,
}

#[derive(ApiResponse)]
pub enum HealthResponse {
    /// The process, or the process and its database, can serve requests.
    #[oai(status = 200)]
    Ok(Json<Health>),
}

#[derive(ApiResponse)]
pub enum MetricsResponse {
    /// Metrics in the Prometheus text format.
    #[oai(status = 200)]
    Ok(PlainText<String>),
}

#[OpenApi(tag = "ApiTags::Operations")]
impl OperationsApi {
    /// Liveness
    ///
    /// Answers while the process serves requests. It does not touch the database, so a
    /// database outage does not get the process restarted.
    #[oai(path = "/healthz", method = "get", operation_id = "getLiveness")]
    async fn healthz(&self) -> HealthResponse {
        HealthResponse::Ok(Json(Health { status: "ok".into() }))
    }

    /// Readiness
    ///
    /// Answers 200 when the database answers a query, 503 when it does not; a load balancer
    /// sends traffic only to ready instances.
    #[oai(path = "/readyz", method = "get", operation_id = "getReadiness")]
    async fn readyz(&self) -> ApiResult<HealthResponse> {
        match domain::db::ping(&self.db).await {
            Ok(()) => Ok(HealthResponse::Ok(Json(Health { status: "ready".into() }))),
            Err(error) => {
                tracing::warn!(error = %error, "database unreachable");
                Err(ApiError::Unavailable(Json(Problem::new(
                    poem::http::StatusCode::SERVICE_UNAVAILABLE,
                    "database-unavailable",
                    "the database does not answer".to_owned(),
                ))))
            }
        }
    }

    /// Metrics
    ///
    /// Prometheus text exposition: `scrutiny_http_requests_total` and
    /// `scrutiny_http_request_duration_seconds` by operation, method and status, and the
    /// database pool's `scrutiny_db_pool_*` gauges.
    #[oai(path = "/metrics", method = "get", operation_id = "getMetrics")]
    async fn metrics(&self) -> MetricsResponse {
        MetricsResponse::Ok(PlainText(self.metrics.render(&self.db)))
    }
}
