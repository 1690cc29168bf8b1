//! HTTP routes. Each module exposes a `router()`; [`router`] composes them under their
//! prefixes and [`ApiDoc`] gathers their OpenAPI descriptions.

pub mod auth;
pub mod chat;
pub mod docs;
pub mod health;
pub mod paging;
pub mod tasks;

use axum::Router;
use axum::routing::get;
use utoipa::OpenApi;
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{Content, Ref, RefOr, Response};

use crate::state::AppState;

/// Every route of the service, without middleware.
pub fn router() -> Router<AppState> {
    let api = Router::new()
        .nest("/auth", auth::router())
        .nest("/tasks", tasks::router())
        .merge(chat::router())
        .route("/openapi.json", get(docs::openapi_json))
        .route("/docs", get(docs::page));
    Router::new()
        .merge(health::router())
        .route("/metrics", get(crate::metrics::endpoint))
        .nest("/api", api)
}

/// The OpenAPI description of the API, generated from the handlers and types.
#[derive(Debug, OpenApi)]
#[openapi(
    info(title = "TaskFlow API", description = "Accounts, per-user tasks and the assistant that manages them. Send the token from `POST /api/auth/login` as `Authorization: Bearer <token>`."),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Accounts and sessions"),
        (name = "tasks", description = "The signed-in user's tasks"),
        (name = "assistant", description = "Chat with the assistant, which works on the user's tasks; conversations"),
        (name = "mcp", description = "The Model Context Protocol endpoint for MCP clients"),
        (name = "operations", description = "Health checks"),
    )
)]
pub struct ApiDoc;

/// The complete OpenAPI document: [`ApiDoc`] plus every module's paths.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.merge(auth::AuthApi::openapi());
    doc.merge(tasks::TasksApi::openapi());
    doc.merge(chat::ChatApi::openapi());
    doc.merge(crate::mcp::McpApi::openapi());
    doc.merge(health::HealthApi::openapi());
    utoipa::Modify::modify(&SharedResponses, &mut doc);
    doc
}

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// Adds the answers that come from layers shared by many operations rather than from the
/// handlers: a malformed body (every operation that reads a JSON body does so through the
/// same extractor and body limit) and an unavailable database (every operation under `/api`
/// and `/mcp`).
struct SharedResponses;

const BODY_RESPONSES: [(&str, &str); 4] = [
    ("400", "The body is not valid JSON"),
    ("413", "The body is larger than `BODY_LIMIT_BYTES`"),
    ("415", "The body is not sent as `application/json`"),
    ("422", "The body has the wrong shape or invalid values"),
];

const UNAVAILABLE: (&str, &str) = (
    "503",
    "The database is unreachable or busy, or migrations are not applied yet",
);

impl utoipa::Modify for SharedResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (path, item) in &mut openapi.paths.paths {
            let needs_database = path.starts_with("/api/") || path == crate::mcp::PATH;
            let operations = [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ];
            for operation in operations.into_iter().flatten() {
                if operation.request_body.is_some() {
                    for (status, description) in BODY_RESPONSES {
                        add_error_response(operation, status, description);
                    }
                }
                if needs_database {
                    add_error_response(operation, UNAVAILABLE.0, UNAVAILABLE.1);
                }
            }
        }
    }
}

/// Documents an `ErrorBody` answer with this status unless the operation already does.
fn add_error_response(operation: &mut Operation, status: &str, description: &str) {
    operation
        .responses
        .responses
        .entry(status.to_owned())
        .or_insert_with(|| {
            let mut response = Response::new(description);
            response.content.insert(
                "application/json".to_owned(),
                RefOr::T(Content::new(Some(Ref::from_schema_name("ErrorBody")))),
            );
            RefOr::T(response)
        });
}
