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
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};

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
