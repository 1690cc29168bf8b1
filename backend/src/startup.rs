//! Building and running the service: bind first, then migrate in the background while
//! already answering `/healthz`, then serve until a stop signal and drain gracefully.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, Method, StatusCode};
use secrecy::ExposeSecret as _;
use taskflow_common::metrics::track;
use taskflow_common::server::{REQUEST_ID, ServeOptions, serve, with_request_tracing};
use tokio::net::TcpListener;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;

use crate::assistant::Assistant;
use crate::auth::{JwtKeys, PasswordHasher, SessionCache, sessions};
use crate::config::Config;
use crate::db;
use crate::error::{ApiError, json_errors};
use crate::mcp;
use crate::metrics::Metrics;
use crate::rate_limit::AuthRateLimits;
use crate::routes;
use crate::state::{AppState, Lifecycle};

/// A bound, ready-to-run service.
#[derive(Debug)]
pub struct Application {
    listener: TcpListener,
    state: AppState,
}

impl Application {
    /// Binds the listener and builds the state. Does not touch the database yet.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let addr = config.http_addr();
        let listener = TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr}"))?;
        let pool = db::pool(
            config.database_url.expose_secret(),
            config.db_pool_size,
            config.db_acquire_timeout(),
        )?;
        let assistant = Assistant::new(&config, pool.clone())?;
        if assistant.is_offline() {
            tracing::info!("LLM_API_KEY is not set: the chat uses the offline assistant");
        } else {
            tracing::info!(model = %config.llm_model, "the chat uses a language model provider");
        }
        let state = AppState {
            db: pool,
            jwt: JwtKeys::new(&config.jwt_secret, config.jwt_ttl()),
            hasher: PasswordHasher::new(PasswordHasher::default_concurrency())?,
            sessions: SessionCache::default(),
            rate_limits: AuthRateLimits::new(
                config.auth_rate_limit_per_ip,
                config.auth_rate_limit_per_account,
                config.trust_forwarded_for,
            ),
            metrics: Metrics::new(),
            lifecycle: Lifecycle::default(),
            assistant,
            config: Arc::new(config),
        };
        Ok(Self { listener, state })
    }

    /// The port actually bound (useful with port 0).
    pub fn port(&self) -> u16 {
        self.listener.local_addr().map_or(0, |addr| addr.port())
    }

    /// The shared state (tests use it to reach the pool).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Applies migrations in the background (readiness stays false until done) and serves
    /// until `stop` completes; then drains in-flight requests for the grace period.
    pub async fn run_until_stopped(
        self,
        stop: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let Self { listener, state } = self;
        let migrator = tokio::spawn(migrate_until_done(
            state.config.database_url.expose_secret().to_owned(),
            state.lifecycle.clone(),
        ));
        let listener_task = tokio::spawn(sessions::listen(
            state.sessions.clone(),
            state.config.database_url.expose_secret().to_owned(),
        ));
        let router = app(state.clone());
        let options = ServeOptions {
            header_read_timeout: state.config.header_read_timeout(),
            shutdown_grace: state.config.shutdown_grace(),
        };
        let lifecycle = state.lifecycle.clone();
        serve(listener, router, stop, options, move || {
            lifecycle.set_stopping()
        })
        .await;
        migrator.abort();
        listener_task.abort();
        Ok(())
    }
}

/// Retries migrations with backoff until they succeed: the database may start after us.
async fn migrate_until_done(database_url: String, lifecycle: Lifecycle) {
    let mut wait = Duration::from_millis(200);
    loop {
        match db::run_migrations(&database_url).await {
            Ok(applied) => {
                tracing::info!(applied = applied.len(), versions = ?applied, "database schema is up to date");
                lifecycle.set_migrated();
                return;
            }
            Err(err) => {
                tracing::warn!(
                    error = format!("{err:#}"),
                    retry_in_ms = wait.as_millis(),
                    "migrations not applied yet"
                );
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(5));
            }
        }
    }
}

/// The full service: routes plus middleware.
pub fn app(state: AppState) -> Router {
    let config = Arc::clone(&state.config);
    let cors = cors_layer(&config.cors_origins());
    // As few `layer` calls as possible: axum boxes every layer added with its own call and
    // clones each boxed level again on every request, so each call costs a copy of the stack
    // beneath it per request. Inside a `ServiceBuilder` the order is outermost first.
    let router = routes::router()
        .merge(mcp::router(&state))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            require_migrated,
        ))
        .layer(DefaultBodyLimit::max(config.body_limit_bytes))
        .layer(
            ServiceBuilder::new()
                .layer(middleware::from_fn(json_errors))
                .layer(CatchPanicLayer::custom(|_| {
                    ApiError::Internal(anyhow::anyhow!("handler panicked")).into_response()
                }))
                // Outside the timeout, so that a 408 still carries the CORS headers a browser
                // needs.
                .layer(cors)
                .layer(TimeoutLayer::with_status_code(
                    StatusCode::REQUEST_TIMEOUT,
                    config.request_timeout(),
                ))
                .layer(middleware::from_fn_with_state(
                    state.metrics.http.clone(),
                    track,
                ))
                .layer(RequestBodyLimitLayer::new(config.body_limit_bytes)),
        )
        .with_state(state);
    with_request_tracing(router)
}

fn cors_layer(origins: &[String]) -> CorsLayer {
    let origins: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|origin| HeaderValue::from_str(origin).ok())
        .collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([Method::GET, Method::POST, Method::PATCH, Method::DELETE])
        .allow_headers([
            http::header::AUTHORIZATION,
            http::header::CONTENT_TYPE,
            REQUEST_ID,
        ])
        .expose_headers([
            REQUEST_ID,
            http::header::LOCATION,
            http::header::RETRY_AFTER,
            routes::chat::CONVERSATION_ID,
        ])
        .max_age(Duration::from_secs(600))
}

/// Answers API and MCP calls with 503 until the schema is migrated (health and metrics stay up).
async fn require_migrated(
    State(lifecycle): State<Lifecycle>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    let needs_database =
        (path.starts_with("/api/") && !is_static_api_path(path)) || path == mcp::PATH;
    if !lifecycle.is_migrated() && needs_database {
        return ApiError::Unavailable("database migrations are not applied yet").into_response();
    }
    next.run(request).await
}

fn is_static_api_path(path: &str) -> bool {
    matches!(path, "/api/openapi.json" | "/api/docs")
}
