//! Prometheus metrics of the backend: the shared HTTP metrics plus the database pool's state.

use axum::extract::State;
use axum::response::Response;
use prometheus_client::metrics::gauge::Gauge;
use taskflow_common::metrics::{HttpMetrics, MetricsBuilder};

use crate::db::DbPool;

/// The backend's metrics; cheap to clone.
#[derive(Clone, Debug)]
pub struct Metrics {
    /// Requests, statuses and latencies, and the registry that renders everything.
    pub http: HttpMetrics,
    pool_connections: Gauge,
    pool_idle: Gauge,
    pool_waiting: Gauge,
    pool_max: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Creates and registers every metric (names start with `taskflow_`).
    pub fn new() -> Self {
        let mut builder = MetricsBuilder::new("taskflow");
        let pool_connections = builder.gauge("db_pool_connections", "Open database connections");
        let pool_idle = builder.gauge(
            "db_pool_idle_connections",
            "Open database connections not in use",
        );
        let pool_waiting = builder.gauge(
            "db_pool_waiting_requests",
            "Requests waiting for a database connection",
        );
        let pool_max = builder.gauge(
            "db_pool_max_connections",
            "Largest number of database connections",
        );
        Self {
            http: builder.build(),
            pool_connections,
            pool_idle,
            pool_waiting,
            pool_max,
        }
    }

    /// Samples the pool into the gauges.
    pub fn sample_pool(&self, pool: &DbPool) {
        let status = pool.status();
        let to_i64 = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        self.pool_connections.set(to_i64(status.size));
        self.pool_idle.set(to_i64(status.available));
        self.pool_waiting.set(to_i64(status.waiting));
        self.pool_max.set(to_i64(status.max_size));
    }
}

/// `GET /metrics`.
pub async fn endpoint(State(metrics): State<Metrics>, State(pool): State<DbPool>) -> Response {
    metrics.sample_pool(&pool);
    metrics.http.response()
}
