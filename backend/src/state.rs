//! The state shared by all handlers.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::extract::FromRef;

use crate::assistant::Assistant;
use crate::auth::{JwtKeys, PasswordHasher, SessionCache};
use crate::config::Config;
use crate::db::DbPool;
use crate::metrics::Metrics;
use crate::rate_limit::AuthRateLimits;

/// Everything a handler may need; extractors take the parts they use with `FromRef`.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub db: DbPool,
    pub jwt: JwtKeys,
    pub hasher: PasswordHasher,
    /// Checked sessions, kept exact by database notifications.
    pub sessions: SessionCache,
    pub rate_limits: AuthRateLimits,
    pub metrics: Metrics,
    pub lifecycle: Lifecycle,
    pub assistant: Assistant,
    pub config: Arc<Config>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("db", &self.db.status())
            .field("lifecycle", &self.lifecycle)
            .finish_non_exhaustive()
    }
}

/// Start-up and shutdown flags that readiness reports on.
#[derive(Clone, Debug, Default)]
pub struct Lifecycle {
    migrated: Arc<AtomicBool>,
    stopping: Arc<AtomicBool>,
}

impl Lifecycle {
    /// Marks the schema as up to date.
    pub fn set_migrated(&self) {
        self.migrated.store(true, Ordering::Release);
    }

    /// True once migrations have been applied.
    pub fn is_migrated(&self) -> bool {
        self.migrated.load(Ordering::Acquire)
    }

    /// Marks the process as shutting down, which makes readiness fail.
    pub fn set_stopping(&self) {
        self.stopping.store(true, Ordering::Release);
    }

    /// True after a stop signal.
    pub fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::Acquire)
    }
}
