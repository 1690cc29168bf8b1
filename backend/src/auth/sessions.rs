//! A per-process cache of checked sessions, so that an authenticated request does not need
//! a database round trip to learn that its token is still valid.
//!
//! Correctness rests on PostgreSQL notifications. Triggers (migration
//! `2026-11-27-000001_session_notifications`) send `token:<jti>` on channel [`CHANNEL`]
//! whenever a token is revoked and `user:<id>` whenever an account changes or is deleted,
//! whoever makes the change. Every process listens on a dedicated connection and drops the
//! matching entries. The cache answers only while that listener is known to be connected
//! (a heartbeat within [`LIVE_WINDOW`]); it is emptied whenever the listener (re)connects,
//! so nothing cached before a gap survives it. A sign-out also drops the entry in its own
//! process directly, so it takes effect there at once; other processes follow as soon as
//! PostgreSQL delivers the notification.
//!
//! A check that raced with an invalidation is not stored: every invalidation bumps a
//! generation counter, and an entry is stored only if the counter has not moved since its
//! database check began.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection as _, AsyncPgConnection};
use futures_util::StreamExt as _;
use uuid::Uuid;

/// The notification channel the triggers send on.
pub const CHANNEL: &str = "taskflow_sessions";

/// How often the listener proves its connection works.
pub const HEARTBEAT: Duration = Duration::from_secs(2);

/// The cache answers only if the listener's last heartbeat is more recent than this.
pub const LIVE_WINDOW: Duration = Duration::from_secs(5);

/// Longest time an entry is trusted, notifications or not.
pub const MAX_AGE: Duration = Duration::from_secs(60);

/// Most entries kept; when full, the cache starts over.
pub const MAX_ENTRIES: usize = 10_000;

/// The account behind a valid session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionUser {
    pub id: Uuid,
    pub name: String,
    pub email: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug)]
struct Entry {
    user: SessionUser,
    checked_at: Instant,
}

#[derive(Debug)]
struct Inner {
    entries: Mutex<HashMap<Uuid, Entry>>,
    generation: AtomicU64,
    /// Milliseconds since `epoch` of the listener's last successful heartbeat.
    heartbeat_ms: AtomicU64,
    has_heartbeat: AtomicBool,
    epoch: Instant,
}

/// Checked sessions by token id; cheap to clone.
#[derive(Debug, Clone)]
pub struct SessionCache {
    inner: Arc<Inner>,
}

impl Default for SessionCache {
    fn default() -> Self {
        Self {
            inner: Arc::new(Inner {
                entries: Mutex::new(HashMap::new()),
                generation: AtomicU64::new(0),
                heartbeat_ms: AtomicU64::new(0),
                has_heartbeat: AtomicBool::new(false),
                epoch: Instant::now(),
            }),
        }
    }
}

impl SessionCache {
    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, Entry>> {
        self.inner
            .entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// True while the listener has shown recently that notifications can arrive.
    pub fn is_live(&self) -> bool {
        if !self.inner.has_heartbeat.load(Ordering::Acquire) {
            return false;
        }
        let last = Duration::from_millis(self.inner.heartbeat_ms.load(Ordering::Acquire));
        self.inner.epoch.elapsed().saturating_sub(last) < LIVE_WINDOW
    }

    /// The cached user of token `jti` belonging to `user_id`, if the cache may answer.
    pub fn get(&self, jti: Uuid, user_id: Uuid) -> Option<SessionUser> {
        if !self.is_live() {
            return None;
        }
        let entries = self.entries();
        let entry = entries.get(&jti)?;
        (entry.user.id == user_id && entry.checked_at.elapsed() < MAX_AGE)
            .then(|| entry.user.clone())
    }

    /// Call before checking a session in the database; pass the result to [`Self::store`].
    pub fn generation(&self) -> u64 {
        self.inner.generation.load(Ordering::Acquire)
    }

    /// Remembers a session checked in the database, unless something was invalidated
    /// since `generation` was read or the listener is not live.
    pub fn store(&self, jti: Uuid, user: SessionUser, generation: u64) {
        if !self.is_live() {
            return;
        }
        let mut entries = self.entries();
        // Read under the lock: invalidations bump the counter under the same lock.
        if self.inner.generation.load(Ordering::Acquire) != generation {
            return;
        }
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(
            jti,
            Entry {
                user,
                checked_at: Instant::now(),
            },
        );
    }

    fn invalidate(&self, change: impl FnOnce(&mut HashMap<Uuid, Entry>)) {
        let mut entries = self.entries();
        self.inner.generation.fetch_add(1, Ordering::AcqRel);
        change(&mut entries);
    }

    /// Forgets a revoked token.
    pub fn revoke(&self, jti: Uuid) {
        self.invalidate(|entries| {
            entries.remove(&jti);
        });
    }

    /// Forgets every session of an account that changed or was deleted.
    pub fn forget_user(&self, user_id: Uuid) {
        self.invalidate(|entries| entries.retain(|_, entry| entry.user.id != user_id));
    }

    /// Forgets everything and stops answering until the next heartbeat.
    pub fn reset(&self) {
        self.inner.has_heartbeat.store(false, Ordering::Release);
        self.invalidate(HashMap::clear);
    }

    /// Records that the listener's connection works now.
    pub fn heartbeat(&self) {
        let now = u64::try_from(self.inner.epoch.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.inner.heartbeat_ms.store(now, Ordering::Release);
        self.inner.has_heartbeat.store(true, Ordering::Release);
    }

    /// Applies one notification payload; unknown payloads empty the cache (safe default).
    pub fn apply(&self, payload: &str) {
        let parsed = payload
            .split_once(':')
            .and_then(|(kind, id)| Some((kind, Uuid::parse_str(id).ok()?)));
        match parsed {
            Some(("token", jti)) => self.revoke(jti),
            Some(("user", user_id)) => self.forget_user(user_id),
            _ => self.invalidate(HashMap::clear),
        }
    }
}

/// Keeps a listener connection on [`CHANNEL`] for as long as the process runs: applies every
/// notification, sends a heartbeat every [`HEARTBEAT`], and reconnects with backoff when the
/// connection fails (the cache stays off meanwhile).
pub async fn listen(cache: SessionCache, database_url: String) {
    let mut wait = Duration::from_millis(200);
    loop {
        cache.reset();
        match listen_once(&cache, &database_url).await {
            Ok(()) => {}
            Err(err) => tracing::debug!(error = %err, "session notification listener stopped"),
        }
        cache.reset();
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(Duration::from_secs(5));
    }
}

async fn listen_once(cache: &SessionCache, database_url: &str) -> anyhow::Result<()> {
    let mut conn = tokio::time::timeout(HEARTBEAT, AsyncPgConnection::establish(database_url))
        .await
        .map_err(|_| anyhow::anyhow!("connecting timed out"))??;
    tokio::time::timeout(
        HEARTBEAT,
        diesel_async::SimpleAsyncConnection::batch_execute(&mut conn, &format!("LISTEN {CHANNEL}")),
    )
    .await
    .map_err(|_| anyhow::anyhow!("LISTEN timed out"))??;
    // Listening from here on: anything cached before is dropped by `reset` above, anything
    // revoked from now on is notified.
    cache.heartbeat();
    tracing::debug!("listening for session changes");
    loop {
        let next = {
            let mut notifications = std::pin::pin!(conn.notifications_stream());
            tokio::time::timeout(HEARTBEAT, notifications.next()).await
        };
        match next {
            Ok(Some(Ok(notification))) => cache.apply(&notification.payload),
            Ok(Some(Err(err))) => return Err(err.into()),
            Ok(None) => anyhow::bail!("the listener connection closed"),
            Err(_) => {
                tokio::time::timeout(
                    HEARTBEAT,
                    diesel_async::SimpleAsyncConnection::batch_execute(&mut conn, "SELECT 1"),
                )
                .await
                .map_err(|_| anyhow::anyhow!("heartbeat timed out"))??;
                cache.heartbeat();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: Uuid) -> SessionUser {
        SessionUser {
            id,
            name: "Ada".to_owned(),
            email: "ada@example.com".to_owned(),
            created_at: Utc::now(),
        }
    }

    fn live_cache() -> SessionCache {
        let cache = SessionCache::default();
        cache.heartbeat();
        cache
    }

    #[test]
    fn nothing_is_cached_or_answered_before_the_listener_is_live() {
        let cache = SessionCache::default();
        let (jti, id) = (Uuid::new_v4(), Uuid::new_v4());
        cache.store(jti, user(id), cache.generation());
        cache.heartbeat();
        assert_eq!(cache.get(jti, id), None, "stored while not live");
        cache.store(jti, user(id), cache.generation());
        assert_eq!(cache.get(jti, id).map(|found| found.id), Some(id));
        cache.reset();
        assert_eq!(
            cache.get(jti, id),
            None,
            "a reset empties the cache and turns it off"
        );
    }

    #[test]
    fn a_revoked_token_is_forgotten_and_a_check_that_raced_with_it_is_not_stored() {
        let cache = live_cache();
        let (jti, id) = (Uuid::new_v4(), Uuid::new_v4());
        cache.store(jti, user(id), cache.generation());
        assert!(cache.get(jti, id).is_some());
        cache.apply(&format!("token:{jti}"));
        assert!(cache.get(jti, id).is_none());

        let before_check = cache.generation();
        cache.revoke(jti);
        cache.store(jti, user(id), before_check);
        assert!(
            cache.get(jti, id).is_none(),
            "the check began before the revocation"
        );
    }

    #[test]
    fn a_changed_account_forgets_all_its_sessions_only() {
        let cache = live_cache();
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let (t1, t2, t3) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        for (jti, id) in [(t1, a), (t2, a), (t3, b)] {
            cache.store(jti, user(id), cache.generation());
        }
        cache.apply(&format!("user:{a}"));
        assert!(cache.get(t1, a).is_none());
        assert!(cache.get(t2, a).is_none());
        assert!(cache.get(t3, b).is_some());
        cache.apply("something else");
        assert!(
            cache.get(t3, b).is_none(),
            "an unknown payload empties the cache"
        );
    }

    #[test]
    fn a_token_is_answered_only_for_its_own_user() {
        let cache = live_cache();
        let (jti, id) = (Uuid::new_v4(), Uuid::new_v4());
        cache.store(jti, user(id), cache.generation());
        assert!(cache.get(jti, Uuid::new_v4()).is_none());
    }
}
