//! Liveness (`/healthz`) and readiness (`/readyz`).

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router, routing::get};
use diesel_async::RunQueryDsl as _;
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::DbPool;
use crate::error::{ErrorBody, ErrorDetail};
use crate::state::{AppState, Lifecycle};

/// `/healthz` and `/readyz`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

/// Health answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct HealthResponse {
    /// `ok` or `ready`.
    pub status: &'static str,
}

/// Liveness: the process answers. Checks nothing else, so a database outage never gets the
/// pod restarted.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, body = HealthResponse)))]
async fn healthz() -> Json<HealthResponse> {
    Json(HealthResponse { status: "ok" })
}

/// Readiness: migrations applied, not shutting down, and the database answers.
#[utoipa::path(
    get, path = "/readyz", tag = "operations",
    responses(
        (status = 200, description = "Ready for traffic", body = HealthResponse),
        (status = 503, description = "Starting, stopping or database unreachable", body = ErrorBody),
    )
)]
async fn readyz(State(lifecycle): State<Lifecycle>, State(pool): State<DbPool>) -> Response {
    if lifecycle.is_stopping() {
        return not_ready("shutting down");
    }
    if !lifecycle.is_migrated() {
        return not_ready("database migrations are not applied yet");
    }
    let check = async {
        let mut conn = pool.get().await.ok()?;
        diesel::sql_query("SELECT 1").execute(&mut conn).await.ok()
    };
    match tokio::time::timeout(Duration::from_secs(3), check).await {
        Ok(Some(_)) => Json(HealthResponse { status: "ready" }).into_response(),
        _ => not_ready("database unreachable"),
    }
}

fn not_ready(reason: &str) -> Response {
    let body = ErrorBody {
        error: ErrorDetail {
            code: "not_ready",
            message: format!("Not ready: {reason}."),
            fields: None,
        },
    };
    (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
}

/// The OpenAPI paths of this module.
#[derive(Debug, utoipa::OpenApi)]
#[openapi(paths(healthz, readyz))]
pub struct HealthApi;
