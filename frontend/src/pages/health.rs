//! Liveness, readiness and metrics.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde_json::json;
use taskflow_common::metrics::HttpMetrics;

use crate::backend::BackendClient;
use crate::state::Stopping;

/// `GET /healthz`: the process answers.
pub async fn healthz() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

/// `GET /readyz`: not stopping, and the backend's readiness answers 200.
pub async fn readyz(
    State(stopping): State<Stopping>,
    State(backend): State<BackendClient>,
) -> Response {
    let reason = if stopping.is_set() {
        Some("shutting down")
    } else if let Err(err) = backend.ready().await {
        tracing::warn!(error = %err, "backend not ready");
        Some("the backend is not ready")
    } else {
        None
    };
    match reason {
        None => Json(json!({ "status": "ready" })).into_response(),
        Some(reason) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "error": { "code": "not_ready", "message": format!("Not ready: {reason}.") } })),
        )
            .into_response(),
    }
}

/// `GET /metrics`.
pub async fn metrics(State(metrics): State<HttpMetrics>) -> Response {
    metrics.response()
}
