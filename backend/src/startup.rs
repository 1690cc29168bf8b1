//! Building and running the service: bind first, then migrate in the background while
//! already answering `/healthz`, then serve until a stop signal and drain gracefully.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use http::{HeaderName, HeaderValue, Method, StatusCode};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use secrecy::ExposeSecret as _;
use tokio::net::TcpListener;
use tower::ServiceExt as _;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::auth::{JwtKeys, PasswordHasher};
use crate::config::Config;
use crate::db;
use crate::error::{ApiError, json_errors};
use crate::metrics::{self, Metrics};
use crate::rate_limit::AuthRateLimits;
use crate::routes;
use crate::state::{AppState, Lifecycle};

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

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
        let listener = TcpListener::bind(addr).await.with_context(|| format!("cannot listen on {addr}"))?;
        let pool = db::pool(config.database_url.expose_secret(), config.db_pool_size, config.db_acquire_timeout())?;
        let state = AppState {
            db: pool,
            jwt: JwtKeys::new(&config.jwt_secret, config.jwt_ttl()),
            hasher: PasswordHasher::new(PasswordHasher::default_concurrency())?,
            rate_limits: AuthRateLimits::new(
                config.auth_rate_limit_per_ip,
                config.auth_rate_limit_per_account,
                config.trust_forwarded_for,
            ),
            metrics: Metrics::new(),
            lifecycle: Lifecycle::default(),
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
    pub async fn run_until_stopped(self, stop: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let Self { listener, state } = self;
        let migrator = tokio::spawn(migrate_until_done(
            state.config.database_url.expose_secret().to_owned(),
            state.lifecycle.clone(),
        ));
        let router = app(state.clone());
        serve(listener, router, stop, &state).await;
        migrator.abort();
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
                tracing::warn!(error = format!("{err:#}"), retry_in_ms = wait.as_millis(), "migrations not applied yet");
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
    routes::router()
        .layer(middleware::from_fn_with_state(state.clone(), require_migrated))
        .layer(DefaultBodyLimit::max(config.body_limit_bytes))
        .layer(RequestBodyLimitLayer::new(config.body_limit_bytes))
        .layer(middleware::from_fn_with_state(state.metrics.clone(), metrics::track))
        .layer(cors)
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, config.request_timeout()))
        .layer(CatchPanicLayer::custom(|_| ApiError::Internal(anyhow::anyhow!("handler panicked")).into_response()))
        .layer(middleware::from_fn(json_errors))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request| {
                    let request_id = request.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or_default();
                    // The path only: query strings can carry search text.
                    tracing::info_span!("request", method = %request.method(), path = request.uri().path(), request_id, user_id = tracing::field::Empty)
                })
                .on_request(())
                .on_response(DefaultOnResponse::new().level(Level::INFO))
                .on_failure(()),
        )
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .layer(SetSensitiveRequestHeadersLayer::new([http::header::AUTHORIZATION, http::header::COOKIE]))
        .with_state(state)
}

fn cors_layer(origins: &[String]) -> CorsLayer {
    let origins: Vec<HeaderValue> = origins.iter().filter_map(|origin| HeaderValue::from_str(origin).ok()).collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([Method::GET, Method::POST, Method::PATCH, Method::DELETE])
        .allow_headers([http::header::AUTHORIZATION, http::header::CONTENT_TYPE, REQUEST_ID])
        .expose_headers([REQUEST_ID, http::header::LOCATION, http::header::RETRY_AFTER])
        .max_age(Duration::from_secs(600))
}

/// Answers API calls with 503 until the schema is migrated (health and metrics stay up).
async fn require_migrated(State(lifecycle): State<Lifecycle>, request: Request, next: Next) -> Response {
    if !lifecycle.is_migrated() && request.uri().path().starts_with("/api/") && !is_static_api_path(request.uri().path()) {
        return ApiError::Unavailable("database migrations are not applied yet").into_response();
    }
    next.run(request).await
}

fn is_static_api_path(path: &str) -> bool {
    matches!(path, "/api/openapi.json" | "/api/docs")
}

/// Accepts connections until `stop`, then lets open requests finish within the grace period.
async fn serve(listener: TcpListener, router: Router, stop: impl Future<Output = ()> + Send + 'static, state: &AppState) {
    let config = &state.config;
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new()).header_read_timeout(config.header_read_timeout());
    let graceful = GracefulShutdown::new();
    tracing::info!(addr = %listener.local_addr().map_or_else(|_| "?".to_owned(), |a| a.to_string()), "listening");
    tokio::pin!(stop);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(connection) => connection,
                Err(err) => {
                    // Usually "too many open files": back off briefly instead of spinning.
                    tracing::warn!(error = %err, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut request: http::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
            router.clone().oneshot(request.map(axum::body::Body::new))
        });
        let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service).into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(err) = connection.await {
                tracing::debug!(error = %err, "connection closed with an error");
            }
        });
    }
    state.lifecycle.set_stopping();
    drop(listener);
    tracing::info!(grace_seconds = config.shutdown_grace_seconds, "stop signal received; finishing open requests");
    match tokio::time::timeout(config.shutdown_grace(), graceful.shutdown()).await {
        Ok(()) => tracing::info!("all connections closed; exiting"),
        Err(_) => tracing::warn!("grace period over; closing the remaining connections"),
    }
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
pub async fn stop_signal() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
}
