//! Prometheus metrics shared by the services: requests by method, matched route and status,
//! and latency histograms by route. Labels never carry user data.

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

/// Content type of the exposition format.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

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

fn latency_histogram() -> Histogram {
    // 0.5 ms to about 8 s.
    Histogram::new(exponential_buckets(0.0005, 2.0, 15))
}

/// Collects a service's metrics before they are frozen into [`HttpMetrics`].
#[derive(Debug)]
pub struct MetricsBuilder {
    registry: Registry,
}

impl MetricsBuilder {
    /// Starts a registry whose metric names all begin with `prefix_`.
    pub fn new(prefix: &str) -> Self {
        Self {
            registry: Registry::with_prefix(prefix),
        }
    }

    /// Registers a gauge the service sets itself (for example the pool size).
    pub fn gauge(&mut self, name: &str, help: &str) -> Gauge {
        let gauge = Gauge::default();
        self.registry.register(name, help, gauge.clone());
        gauge
    }

    /// Adds the HTTP metrics and freezes the registry.
    pub fn build(mut self) -> HttpMetrics {
        let requests = Family::<RequestLabels, Counter>::default();
        let durations = HistogramFamily::new_with_constructor(latency_histogram);
        self.registry.register(
            "http_requests",
            "HTTP requests answered, by method, matched route and status",
            requests.clone(),
        );
        self.registry.register(
            "http_request_duration_seconds",
            "Time to answer HTTP requests, by method and matched route",
            durations.clone(),
        );
        HttpMetrics {
            inner: Arc::new(Inner {
                registry: self.registry,
                requests,
                durations,
            }),
        }
    }
}

/// The registry with the HTTP metrics; cheap to clone.
#[derive(Clone)]
pub struct HttpMetrics {
    inner: Arc<Inner>,
}

struct Inner {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    durations: HistogramFamily,
}

impl std::fmt::Debug for HttpMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpMetrics").finish_non_exhaustive()
    }
}

impl HttpMetrics {
    fn observe(&self, method: &'static str, route: String, status: StatusCode, seconds: f64) {
        self.inner
            .durations
            .get_or_create(&RouteLabels {
                method,
                route: route.clone(),
            })
            .observe(seconds);
        self.inner
            .requests
            .get_or_create(&RequestLabels {
                method,
                route,
                status: status.as_u16(),
            })
            .inc();
    }

    /// Every registered metric in the OpenMetrics text format.
    pub fn render(&self) -> Result<String, std::fmt::Error> {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.inner.registry)?;
        Ok(out)
    }

    /// The `/metrics` response.
    pub fn response(&self) -> Response {
        match self.render() {
            Ok(body) => (
                [(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE))],
                body,
            )
                .into_response(),
            Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        }
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

/// Middleware that counts and times every request by its matched route (`unmatched` for
/// requests no route took, so that probing random paths cannot grow the label set).
pub async fn track(State(metrics): State<HttpMetrics>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(request.method());
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let response = next.run(request).await;
    metrics.observe(
        method,
        route,
        response.status(),
        started.elapsed().as_secs_f64(),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observations_appear_in_the_exposition() {
        let mut builder = MetricsBuilder::new("demo");
        let gauge = builder.gauge("pool_connections", "Open connections");
        gauge.set(3);
        let metrics = builder.build();
        metrics.observe("GET", "/items/{id}".to_owned(), StatusCode::OK, 0.002);
        let text = metrics.render().unwrap();
        assert!(text.contains("demo_pool_connections 3"), "{text}");
        assert!(
            text.contains(
                r#"demo_http_requests_total{method="GET",route="/items/{id}",status="200"} 1"#
            ),
            "{text}"
        );
        assert!(
            text.contains("demo_http_request_duration_seconds_bucket"),
            "{text}"
        );
    }
}
