//! The state shared by all handlers.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::extract::FromRef;
use taskflow_common::metrics::HttpMetrics;

use crate::backend::BackendClient;
use crate::config::Config;

/// Everything a handler may need.
#[derive(Debug, Clone, FromRef)]
pub struct AppState {
    pub backend: BackendClient,
    pub cookies: CookieSettings,
    pub metrics: HttpMetrics,
    pub stopping: Stopping,
    pub config: Arc<Config>,
}

/// How cookies are marked.
#[derive(Debug, Clone, Copy)]
pub struct CookieSettings {
    /// Send cookies over HTTPS only.
    pub secure: bool,
}

/// Set once a stop signal arrived; readiness then fails.
#[derive(Debug, Clone, Default)]
pub struct Stopping(Arc<AtomicBool>);

impl Stopping {
    /// Marks the process as stopping.
    pub fn set(&self) {
        self.0.store(true, Ordering::Release);
    }

    /// True after a stop signal.
    pub fn is_set(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}
