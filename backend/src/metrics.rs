//! Prometheus metrics: requests by matched route and status, latency histograms and the
//! database pool's state. Labels never carry user data.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::db::DbPool;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: &'static str,
    route: String,
}

type HistogramFamily = Family<RouteLabels, Histogram, fn() -> Histogram>;

/// The service's metrics and their registry.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    durations: HistogramFamily,
    pool_connections: Gauge,
    pool_idle: Gauge,
    pool_waiting: Gauge,
    pool_max: Gauge,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

fn latency_histogram() -> Histogram {
    // 0.5 ms to about 8 s.
    Histogram::new(exponential_buckets(0.0005, 2.0, 15))
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Creates and registers every metric.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("taskflow");
        let requests = Family::<RequestLabels, Counter>::default();
        let durations = HistogramFamily::new_with_constructor(latency_histogram);
        let pool_connections = Gauge::default();
        let pool_idle = Gauge::default();
        let pool_waiting = Gauge::default();
        let pool_max = Gauge::default();
        registry.register("http_requests", "HTTP requests answered, by method, matched route and status", requests.clone());
        registry.register(
            "http_request_duration_seconds",
            "Time to answer HTTP requests, by method and matched route",
            durations.clone(),
        );
        registry.register("db_pool_connections", "Open database connections", pool_connections.clone());
        registry.register("db_pool_idle_connections", "Open database connections not in use", pool_idle.clone());
        registry.register("db_pool_waiting_requests", "Requests waiting for a database connection", pool_waiting.clone());
        registry.register("db_pool_max_connections", "Largest number of database connections", pool_max.clone());
        Self { inner: Arc::new(Inner { registry, requests, durations, pool_connections, pool_idle, pool_waiting, pool_max }) }
    }

    fn observe(&self, method: &'static str, route: String, status: StatusCode, seconds: f64) {
        self.inner
            .durations
            .get_or_create(&RouteLabels { method, route: route.clone() })
            .observe(seconds);
        self.inner.requests.get_or_create(&RequestLabels { method, route, status: status.as_u16() }).inc();
    }

    /// Renders all metrics in the OpenMetrics text format, sampling the pool first.
    pub fn render(&self, pool: &DbPool) -> Result<String, std::fmt::Error> {
        let status = pool.status();
        let to_i64 = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        self.inner.pool_connections.set(to_i64(status.size));
        self.inner.pool_idle.set(to_i64(status.available));
        self.inner.pool_waiting.set(to_i64(status.waiting));
        self.inner.pool_max.set(to_i64(status.max_size));
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.inner.registry)?;
        Ok(out)
    }
}

fn method_label(method: &http::Method) -> &'static str {
    match *method {
        http::Method::GET => "GET",
        http::Method::POST => "POST",
        http::Method::PUT => "PUT",
        http::Method::PATCH => "PATCH",
        http::Method::DELETE => "DELETE",
        http::Method::HEAD => "HEAD",
        http::Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

/// Middleware that counts and times every request by its matched route.
pub async fn track(State(metrics): State<Metrics>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(request.method());
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let response = next.run(request).await;
    metrics.observe(method, route, response.status(), started.elapsed().as_secs_f64());
    response
}

/// `GET /metrics`.
pub async fn endpoint(State(metrics): State<Metrics>, State(pool): State<DbPool>) -> Response {
    match metrics.render(&pool) {
        Ok(body) => (
            [(header::CONTENT_TYPE, HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"))],
            body,
        )
            .into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}
