//! Page handlers, one module per area; [`router`] composes them.

pub mod auth;
pub mod chat;
pub mod health;
pub mod home;
pub mod tasks;

use askama::Template;
use axum::Router;
use axum::response::{Html, IntoResponse as _, Response};
use axum::routing::{get, post};

use crate::assets;
use crate::error::PageError;
use crate::state::AppState;

/// Every route of the web app, without middleware.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(home::show))
        .route("/login", get(auth::login_form).post(auth::login))
        .route("/register", get(auth::register_form).post(auth::register))
        .route("/logout", post(auth::logout))
        .route("/tasks", get(tasks::index).post(tasks::create))
        .route("/tasks/{id}", post(tasks::update))
        .route("/tasks/{id}/edit", get(tasks::edit_form))
        .route("/tasks/{id}/toggle", post(tasks::toggle))
        .route(
            "/tasks/{id}/delete",
            get(tasks::delete_form).post(tasks::delete),
        )
        .route("/chat", get(chat::new_conversation).post(chat::send))
        .route("/chat/{id}", get(chat::conversation))
        .route("/chat/{id}/delete", post(chat::delete))
        .route("/static/app.css", get(assets::css))
        .route("/static/app.js", get(assets::js))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
}

async fn not_found() -> PageError {
    PageError::NotFound
}

async fn method_not_allowed() -> PageError {
    PageError::MethodNotAllowed
}

/// Renders a template into an HTML response.
pub fn render(template: &impl Template) -> Result<Response, PageError> {
    let html = template
        .render()
        .map_err(|err| PageError::Internal(anyhow::anyhow!("rendering a page: {err}")))?;
    Ok(Html(html).into_response())
}

/// True for requests made by our script, which want a fragment instead of a redirect.
pub fn wants_fragment(headers: &http::HeaderMap) -> bool {
    headers
        .get("x-requested-with")
        .is_some_and(|value| value == "taskflow")
}
