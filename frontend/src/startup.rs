//! Building and running the web app.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse as _, Response};
use http::{HeaderName, HeaderValue, Method, header};
use taskflow_common::metrics::{self, MetricsBuilder};
use taskflow_common::server::{serve, with_request_tracing};
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::backend::BackendClient;
use crate::config::Config;
use crate::error::PageError;
use crate::session::safe_next;
use crate::state::{AppState, CookieSettings, Stopping};
use crate::{csrf, pages};

/// Largest request body (forms are small).
const BODY_LIMIT_BYTES: usize = 64 * 1024;

/// Scripts and styles only from this origin, no inline script, no framing.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// A bound, ready-to-run web app.
#[derive(Debug)]
pub struct Application {
    listener: TcpListener,
    state: AppState,
}

impl Application {
    /// Binds the listener and builds the state.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        if config.cookie_secure && config.public_origin.starts_with("http://") {
            tracing::warn!(
                public_origin = %config.public_origin,
                "PUBLIC_ORIGIN is plain HTTP but COOKIE_SECURE is on: browsers keep Secure cookies only over \
                 HTTPS (or on localhost), so sign-in will not stick; serve over HTTPS or set COOKIE_SECURE=false"
            );
        }
        let addr = config.http_addr();
        let listener = TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr}"))?;
        let state = AppState {
            backend: BackendClient::new(&config).context("building the backend client")?,
            cookies: CookieSettings {
                secure: config.cookie_secure,
            },
            metrics: MetricsBuilder::new("taskflow_frontend").build(),
            stopping: Stopping::default(),
            config: Arc::new(config),
        };
        Ok(Self { listener, state })
    }

    /// The port actually bound (useful with port 0).
    pub fn port(&self) -> u16 {
        self.listener.local_addr().map_or(0, |addr| addr.port())
    }

    /// Serves until `stop` completes, then lets open requests finish.
    pub async fn run_until_stopped(
        self,
        stop: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let Self { listener, state } = self;
        let options = state.config.serve_options();
        let stopping = state.stopping.clone();
        serve(listener, app(state), stop, options, move || stopping.set()).await;
        Ok(())
    }
}

/// True for answers meant as they are: pages, JSON, metrics, assets.
fn is_deliberate(response: &Response) -> bool {
    if response.status().is_success() || response.status().is_redirection() {
        return true;
    }
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|kind| kind.starts_with("text/html") || kind.starts_with("application/json"))
}

/// Middleware: the whole-request time limit, and error pages in place of the bare plain-text
/// answers of the layers and extractors inside (body too large, malformed query or form), so
/// that a browser always gets a page.
async fn error_pages(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    let retry = if request.method() == Method::GET {
        request
            .uri()
            .path_and_query()
            .and_then(|target| safe_next(target.as_str()))
            .map(str::to_owned)
    } else {
        None
    };
    let Ok(response) = tokio::time::timeout(limit, next.run(request)).await else {
        return PageError::TimedOut { retry }.into_response();
    };
    if is_deliberate(&response) {
        return response;
    }
    let status = response.status();
    tracing::debug!(
        status = status.as_u16(),
        "replacing a bare error answer with a page"
    );
    if status == http::StatusCode::PAYLOAD_TOO_LARGE {
        PageError::PayloadTooLarge.into_response()
    } else if status.is_client_error() {
        PageError::BadRequest.into_response()
    } else {
        PageError::Internal(anyhow::anyhow!("bare {status} answer")).into_response()
    }
}

fn header_layer(name: HeaderName, value: &'static str) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
}

/// The full web app: pages plus middleware.
pub fn app(state: AppState) -> Router {
    let router = pages::router()
        .layer(middleware::from_fn_with_state(state.clone(), csrf::protect))
        .layer(middleware::from_fn_with_state(
            state.metrics.clone(),
            metrics::track,
        ))
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT_BYTES))
        .layer(middleware::from_fn_with_state(
            state.config.request_timeout(),
            error_pages,
        ))
        .layer(CatchPanicLayer::custom(|_| {
            PageError::Internal(anyhow::anyhow!("handler panicked")).into_response()
        }))
        .layer(header_layer(
            header::CONTENT_SECURITY_POLICY,
            CONTENT_SECURITY_POLICY,
        ))
        .layer(header_layer(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(header_layer(header::REFERRER_POLICY, "same-origin"))
        .layer(header_layer(header::X_FRAME_OPTIONS, "DENY"))
        .layer(header_layer(
            HeaderName::from_static("cross-origin-opener-policy"),
            "same-origin",
        ))
        .layer(header_layer(
            HeaderName::from_static("permissions-policy"),
            "camera=(), microphone=(), geolocation=()",
        ))
        // Pages carry personal data: never store them in shared caches. Assets set their own.
        .layer(header_layer(header::CACHE_CONTROL, "no-store"))
        .with_state(state);
    with_request_tracing(router)
}
