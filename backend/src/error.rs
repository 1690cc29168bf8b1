//! The API's errors and their one JSON shape:
//! `{"error": {"code": "...", "message": "...", "fields": {...}}}`.
//!
//! Handlers return [`ApiError`]; [`json_errors`] rewrites every other error response (axum's
//! rejections, 404 for unknown routes, 405, 408, 413, ...) into the same shape. A 5xx carries a
//! generic message only; its cause is logged once, inside the request's span.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::Json;
use axum::extract::Request;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::FieldErrors;

/// Everything a request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// One or more input fields are invalid (422).
    #[error("validation failed")]
    Validation(FieldErrors),
    /// The request is malformed (400).
    #[error("bad request: {0}")]
    BadRequest(String),
    /// A body that is not valid for the endpoint (422), with the parser's explanation.
    #[error("unprocessable body: {0}")]
    UnprocessableBody(String),
    /// No valid credentials (401).
    #[error("unauthorized")]
    Unauthorized,
    /// Wrong email or password at login (401).
    #[error("invalid credentials")]
    InvalidCredentials,
    /// Nothing here for this user (404).
    #[error("not found")]
    NotFound,
    /// The request conflicts with existing data (409).
    #[error("conflict: {0}")]
    Conflict(&'static str),
    /// The body is larger than the configured limit (413).
    #[error("payload too large")]
    PayloadTooLarge,
    /// The body has the wrong content type (415).
    #[error("unsupported media type")]
    UnsupportedMediaType,
    /// Too many attempts; retry after the given time (429).
    #[error("rate limited")]
    RateLimited(Duration),
    /// A dependency is down or saturated (503).
    #[error("service unavailable: {0}")]
    Unavailable(&'static str),
    /// The language model provider failed or answered nonsense (502); the cause is logged.
    #[error("upstream error: {0}")]
    Upstream(String),
    /// The language model provider did not answer in time (504).
    #[error("upstream timeout")]
    UpstreamTimeout,
    /// Anything unexpected (500); the cause is logged, never sent.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// The JSON body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code, e.g. `validation_failed`, `not_found`, `unauthorized`.
    pub code: &'static str,
    /// Human-readable explanation.
    pub message: String,
    /// Per-field messages, for `validation_failed` only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<BTreeMap<String, String>>,
}

impl ApiError {
    /// The HTTP status this error maps to.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Validation(_) | Self::UnprocessableBody(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized | Self::InvalidCredentials => StatusCode::UNAUTHORIZED,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Upstream(_) => StatusCode::BAD_GATEWAY,
            Self::UpstreamTimeout => StatusCode::GATEWAY_TIMEOUT,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn detail(&self) -> ErrorDetail {
        let (code, message) = match self {
            Self::Validation(_) => ("validation_failed", "Some fields are invalid.".to_owned()),
            Self::BadRequest(message) => ("bad_request", message.clone()),
            Self::UnprocessableBody(message) => ("invalid_body", message.clone()),
            Self::Unauthorized => (
                "unauthorized",
                "Sign in to continue: the token is missing, invalid or expired.".to_owned(),
            ),
            Self::InvalidCredentials => (
                "invalid_credentials",
                "Incorrect email or password.".to_owned(),
            ),
            Self::NotFound => ("not_found", "Not found.".to_owned()),
            Self::Conflict(message) => ("conflict", (*message).to_owned()),
            Self::PayloadTooLarge => (
                "payload_too_large",
                "The request body is too large.".to_owned(),
            ),
            Self::UnsupportedMediaType => (
                "unsupported_media_type",
                "Send the body as JSON with Content-Type: application/json.".to_owned(),
            ),
            Self::RateLimited(_) => (
                "rate_limited",
                "Too many attempts; try again later.".to_owned(),
            ),
            Self::Unavailable(_) => (
                "unavailable",
                "The service is temporarily unavailable; try again shortly.".to_owned(),
            ),
            Self::Upstream(_) => (
                "upstream_error",
                "The assistant's language model is unavailable; your message was saved. Try again shortly."
                    .to_owned(),
            ),
            Self::UpstreamTimeout => (
                "upstream_timeout",
                "The assistant's language model did not answer in time; your message was saved. Try again shortly."
                    .to_owned(),
            ),
            Self::Internal(_) => ("internal", "Something went wrong on our side.".to_owned()),
        };
        let fields = match self {
            Self::Validation(errors) => Some(errors.as_map().clone()),
            _ => None,
        };
        ErrorDetail {
            code,
            message,
            fields,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match &self {
            Self::Internal(cause) => {
                tracing::error!(error = format!("{cause:#}"), "request failed")
            }
            Self::Unavailable(reason) => tracing::warn!(reason, "dependency unavailable"),
            Self::Upstream(reason) => {
                tracing::warn!(reason = reason.as_str(), "language model provider failed")
            }
            Self::UpstreamTimeout => tracing::warn!("language model provider timed out"),
            _ => {}
        }
        let status = self.status();
        let mut response = (
            status,
            Json(ErrorBody {
                error: self.detail(),
            }),
        )
            .into_response();
        let headers = response.headers_mut();
        match &self {
            Self::Unauthorized | Self::InvalidCredentials => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            Self::RateLimited(wait) => {
                let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
                headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
            }
            _ => {}
        }
        response
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::MissingJsonContentType(_) => Self::UnsupportedMediaType,
            JsonRejection::JsonSyntaxError(err) => {
                Self::BadRequest(format!("The body is not valid JSON: {}", source_text(&err)))
            }
            JsonRejection::JsonDataError(err) => Self::UnprocessableBody(format!(
                "The body does not match the expected shape: {}",
                source_text(&err)
            )),
            JsonRejection::BytesRejection(err) if err.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Self::PayloadTooLarge
            }
            other => Self::BadRequest(other.body_text()),
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        Self::BadRequest(format!("Invalid query string: {}", rejection.body_text()))
    }
}

impl From<PathRejection> for ApiError {
    fn from(_: PathRejection) -> Self {
        // A malformed id names nothing that exists.
        Self::NotFound
    }
}

/// The innermost message of a serde error, which says where in the body the problem is.
fn source_text(err: &dyn std::error::Error) -> String {
    let mut current = err;
    while let Some(next) = current.source() {
        current = next;
    }
    current.to_string()
}

impl From<diesel::result::Error> for ApiError {
    fn from(err: diesel::result::Error) -> Self {
        use diesel::result::Error;
        match err {
            Error::NotFound => Self::NotFound,
            Error::DatabaseError(kind, ref info) if is_connection_failure(kind, info.message()) => {
                Self::Unavailable("database connection lost")
            }
            other => Self::Internal(anyhow::Error::new(other).context("database query failed")),
        }
    }
}

/// Messages of the client library for a connection that broke or was already closed
/// (tokio-postgres's "closed" and I/O errors, which diesel-async reports without a SQLSTATE).
const CLIENT_CONNECTION_FAILURES: [&str; 2] =
    ["connection closed", "error communicating with the server"];

/// Messages PostgreSQL sends when it ends or refuses a session because the server is
/// shutting down, restarting or recovering: SQLSTATE 57P01 admin_shutdown, 57P02
/// crash_shutdown, 57P03 cannot_connect_now and 57P05 idle_session_timeout.
///
/// diesel-async passes on the server's message but not its SQLSTATE, so these are recognised
/// by their text as the server writes it with `lc_messages` = C (the chart's PostgreSQL uses
/// the C locale). A server that writes its messages in another language makes the request
/// that was running at the moment of the shutdown a 500; the requests after it then see a
/// closed connection, which is recognised by the client library's own message above.
const SERVER_SHUTDOWN_MESSAGES: [&str; 4] = [
    "terminating connection due to administrator command",
    "terminating connection because of crash of another server process",
    "the database system is ",
    "terminating connection due to idle-session timeout",
];

/// True when a query failed because the connection to the database was lost, not because of
/// the query: the answer is then `503 unavailable`, which a client may retry, and the pool
/// replaces the connection. Everything else (a bug, a broken schema) stays a 500.
pub fn is_connection_failure(kind: diesel::result::DatabaseErrorKind, message: &str) -> bool {
    use diesel::result::DatabaseErrorKind;
    match kind {
        DatabaseErrorKind::ClosedConnection => true,
        DatabaseErrorKind::UnableToSendCommand => CLIENT_CONNECTION_FAILURES
            .iter()
            .any(|prefix| message.starts_with(prefix)),
        DatabaseErrorKind::Unknown => SERVER_SHUTDOWN_MESSAGES
            .iter()
            .any(|prefix| message.starts_with(prefix)),
        _ => false,
    }
}

impl From<diesel_async::pooled_connection::deadpool::PoolError> for ApiError {
    fn from(err: diesel_async::pooled_connection::deadpool::PoolError) -> Self {
        use deadpool::managed::PoolError;
        match err {
            PoolError::Timeout(_) => Self::Unavailable("no database connection available in time"),
            PoolError::Backend(_) => Self::Unavailable("database unreachable"),
            other => Self::Internal(anyhow::anyhow!("database pool error: {other}")),
        }
    }
}

/// Gives every error response the JSON shape, whoever produced it (router fallbacks, 405,
/// the timeout and body-limit layers, rejections built outside our extractors).
pub async fn json_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(b"application/json"));
    if is_json {
        return response;
    }
    let (code, message) = generic_error(status);
    let (mut parts, _) = response.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    let body = ErrorBody {
        error: ErrorDetail {
            code,
            message: message.to_owned(),
            fields: None,
        },
    };
    let bytes = serde_json::to_vec(&body).unwrap_or_default();
    Response::from_parts(parts, axum::body::Body::from(bytes))
}

fn generic_error(status: StatusCode) -> (&'static str, &'static str) {
    match status {
        StatusCode::BAD_REQUEST => ("bad_request", "The request is malformed."),
        StatusCode::UNAUTHORIZED => (
            "unauthorized",
            "Sign in to continue: the token is missing, invalid or expired.",
        ),
        StatusCode::FORBIDDEN => ("forbidden", "This request is not allowed here."),
        StatusCode::NOT_FOUND => ("not_found", "No such endpoint."),
        StatusCode::METHOD_NOT_ALLOWED => (
            "method_not_allowed",
            "This endpoint does not accept that method.",
        ),
        StatusCode::REQUEST_TIMEOUT => ("timeout", "The request took too long."),
        StatusCode::PAYLOAD_TOO_LARGE => ("payload_too_large", "The request body is too large."),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            "unsupported_media_type",
            "Send the body as JSON with Content-Type: application/json.",
        ),
        StatusCode::UNPROCESSABLE_ENTITY => ("invalid_body", "The request body is invalid."),
        StatusCode::TOO_MANY_REQUESTS => ("rate_limited", "Too many attempts; try again later."),
        StatusCode::SERVICE_UNAVAILABLE => (
            "unavailable",
            "The service is temporarily unavailable; try again shortly.",
        ),
        status if status.is_server_error() => ("internal", "Something went wrong on our side."),
        _ => ("error", "The request failed."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Invalid;

    async fn body_json(response: Response) -> serde_json::Value {
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[tokio::test]
    async fn each_error_maps_to_its_status_and_code() {
        let mut fields = FieldErrors::default();
        fields.add("title", Invalid::new("title must not be blank"));
        let cases = [
            (ApiError::Validation(fields), 422, "validation_failed"),
            (ApiError::BadRequest("x".to_owned()), 400, "bad_request"),
            (ApiError::Unauthorized, 401, "unauthorized"),
            (ApiError::InvalidCredentials, 401, "invalid_credentials"),
            (ApiError::NotFound, 404, "not_found"),
            (ApiError::Conflict("taken"), 409, "conflict"),
            (ApiError::PayloadTooLarge, 413, "payload_too_large"),
            (
                ApiError::UnsupportedMediaType,
                415,
                "unsupported_media_type",
            ),
            (
                ApiError::RateLimited(Duration::from_millis(1500)),
                429,
                "rate_limited",
            ),
            (ApiError::Unavailable("db"), 503, "unavailable"),
            (
                ApiError::Upstream("status 500".to_owned()),
                502,
                "upstream_error",
            ),
            (ApiError::UpstreamTimeout, 504, "upstream_timeout"),
            (
                ApiError::Internal(anyhow::anyhow!("secret detail")),
                500,
                "internal",
            ),
        ];
        for (error, status, code) in cases {
            let response = error.into_response();
            assert_eq!(response.status().as_u16(), status, "{code}");
            let body = body_json(response).await;
            assert_eq!(body["error"]["code"], code);
        }
    }

    #[tokio::test]
    async fn validation_errors_list_each_field() {
        let mut fields = FieldErrors::default();
        fields.add("email", Invalid::new("email is required"));
        let body = body_json(ApiError::Validation(fields).into_response()).await;
        assert_eq!(body["error"]["fields"]["email"], "email is required");
    }

    #[tokio::test]
    async fn internal_errors_hide_their_cause() {
        let response =
            ApiError::Internal(anyhow::anyhow!("password=hunter2 at db:5432")).into_response();
        let body = body_json(response).await.to_string();
        assert!(!body.contains("hunter2"), "{body}");
        assert!(!body.contains("5432"), "{body}");
    }

    #[test]
    fn unauthorized_carries_a_bearer_challenge_and_rate_limits_a_retry_after() {
        let response = ApiError::Unauthorized.into_response();
        assert_eq!(response.headers()[header::WWW_AUTHENTICATE], "Bearer");
        let response = ApiError::RateLimited(Duration::from_millis(1500)).into_response();
        assert_eq!(response.headers()[header::RETRY_AFTER], "2");
    }

    #[tokio::test]
    async fn upstream_errors_hide_the_providers_answer() {
        let response =
            ApiError::Upstream("provider said: invalid key sk-abc123".to_owned()).into_response();
        let body = body_json(response).await.to_string();
        assert!(!body.contains("sk-abc123"), "{body}");
    }

    #[test]
    fn a_missing_row_is_not_found() {
        assert!(matches!(
            ApiError::from(diesel::result::Error::NotFound),
            ApiError::NotFound
        ));
    }
}
