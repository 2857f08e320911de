//! Prometheus metrics: requests and latency by operation, method and status, and the database
//! pool. Each application owns its registry, so apps built side by side (as in tests) never
//! mix their counts.

use prometheus::{Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry, TextEncoder};
use sea_orm::{DatabaseBackend, DatabaseConnection};

#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    pool_connections: IntGauge,
    pool_idle: IntGauge,
}

const LABELS: [&str; 3] = ["operation", "method", "status"];

impl Metrics {
    pub fn new(pool_max: u32) -> Self {
        let registry = Registry::new_custom(Some("scrutiny".into()), None).expect("valid prefix");
        let requests = IntCounterVec::new(
            Opts::new("http_requests_total", "HTTP requests answered, by operation, method and status"),
            &LABELS,
        )
        .expect("valid metric");
        let latency = HistogramVec::new(
            HistogramOpts::new("http_request_duration_seconds", "Time to answer an HTTP request")
                .buckets(vec![0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0]),
            &LABELS,
        )
        .expect("valid metric");
        let pool_connections = IntGauge::new("db_pool_connections", "Open database connections").expect("valid");
        let pool_idle = IntGauge::new("db_pool_idle_connections", "Idle database connections").expect("valid");
        let pool_max_gauge = IntGauge::new("db_pool_max_connections", "Configured pool size").expect("valid");
        pool_max_gauge.set(pool_max.into());
        for collector in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(latency.clone()),
            Box::new(pool_connections.clone()),
            Box::new(pool_idle.clone()),
            Box::new(pool_max_gauge.clone()),
        ] {
            registry.register(collector).expect("metric names are unique");
        }
        Metrics { registry, requests, latency, pool_connections, pool_idle }
    }

    pub fn observe(&self, operation: &str, method: &str, status: u16, seconds: f64) {
        let status = status.to_string();
        let labels = [operation, method, status.as_str()];
        self.requests.with_label_values(&labels).inc();
        self.latency.with_label_values(&labels).observe(seconds);
    }

    /// The text exposition, with the pool gauges read now.
    pub fn render(&self, db: &DatabaseConnection) -> String {
        let (size, idle) = match db.get_database_backend() {
            DatabaseBackend::Sqlite => {
                let pool = db.get_sqlite_connection_pool();
                (pool.size(), pool.num_idle())
            }
            DatabaseBackend::Postgres => {
                let pool = db.get_postgres_connection_pool();
                (pool.size(), pool.num_idle())
            }
            _ => (0, 0),
        };
        self.pool_connections.set(size.into());
        self.pool_idle.set(idle as i64);
        let mut buffer = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut buffer).expect("text encoding");
        String::from_utf8(buffer).expect("prometheus text is UTF-8")
    }
}
