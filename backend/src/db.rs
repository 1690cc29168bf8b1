//! Database access: the connection pool and the embedded migrations.

pub mod schema;

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use diesel::QueryResult;
use diesel::connection::SimpleConnection as _;
use diesel::result::DatabaseErrorKind;
use diesel_async::AsyncPgConnection;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_async::pooled_connection::AsyncDieselConnectionManager;
use diesel_async::pooled_connection::deadpool::Pool;
use diesel_async::pooled_connection::{ManagerConfig, RecyclingMethod};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness as _, embed_migrations};

/// The shared pool of PostgreSQL connections.
pub type DbPool = Pool<AsyncPgConnection>;

/// The SQL migrations in `backend/migrations`, compiled into the binary.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// Key of the PostgreSQL advisory lock that serialises migration runs across processes
/// ("taskflow" in ASCII).
pub const MIGRATION_LOCK_KEY: i64 = 0x7461_736b_666c_6f77;

/// Builds a bounded pool. Connections are opened lazily; waiting for one, opening one and
/// checking a returned one are each limited to `acquire_timeout`, so a request never hangs
/// on a database that is down.
///
/// Idle connections are checked with a one-round-trip `SELECT 1` before reuse. Once one
/// check has failed (or timed out), the other idle connections are discarded without a
/// check until a check or a new connection succeeds: otherwise a request would wait
/// `acquire_timeout` for every idle connection in turn when the database stops answering.
pub fn pool(
    database_url: &str,
    max_size: usize,
    acquire_timeout: Duration,
) -> anyhow::Result<DbPool> {
    let health = Arc::new(DbHealth::default());
    let mut config = ManagerConfig::<AsyncPgConnection>::default();
    let checker = Arc::clone(&health);
    config.recycling_method = RecyclingMethod::CustomFunction(Box::new(move |conn| {
        let health = Arc::clone(&checker);
        Box::pin(async move { health.check(conn, acquire_timeout).await })
    }));
    config.custom_setup = Box::new(move |url| {
        let health = Arc::clone(&health);
        Box::pin(async move {
            let conn = <AsyncPgConnection as diesel_async::AsyncConnection>::establish(url).await?;
            health.mark_healthy();
            Ok(conn)
        })
    });
    let manager =
        AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(database_url, config);
    Pool::builder(manager)
        .max_size(max_size)
        .wait_timeout(Some(acquire_timeout))
        .create_timeout(Some(acquire_timeout))
        .recycle_timeout(Some(acquire_timeout))
        .runtime(deadpool::Runtime::Tokio1)
        .build()
        .context("building the database pool")
}

/// When the last connection check failed, if no check or new connection has succeeded since.
#[derive(Debug, Default)]
struct DbHealth {
    failed_at: Mutex<Option<Instant>>,
}

impl DbHealth {
    fn mark_healthy(&self) {
        *self
            .failed_at
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = None;
    }

    fn mark_failed(&self) {
        *self
            .failed_at
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(Instant::now());
    }

    fn failed_within(&self, window: Duration) -> bool {
        self.failed_at
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some_and(|at| at.elapsed() < window)
    }

    /// The recycle check of an idle connection.
    async fn check(&self, conn: &mut AsyncPgConnection, window: Duration) -> QueryResult<()> {
        if self.failed_within(window) {
            return Err(diesel::result::Error::DatabaseError(
                DatabaseErrorKind::ClosedConnection,
                Box::new("another connection failed its check just now".to_owned()),
            ));
        }
        // The pool drops this future when its recycle timeout fires: count that as a failure.
        let failure = FailureOnDrop(Some(self));
        // The simple query protocol: one round trip, nothing prepared (through `sql_query`,
        // the check was prepared as a new statement every time: two round trips).
        diesel_async::SimpleAsyncConnection::batch_execute(conn, "SELECT 1").await?;
        failure.disarm();
        self.mark_healthy();
        Ok(())
    }
}

/// Marks the database as failing when dropped before [`FailureOnDrop::disarm`].
struct FailureOnDrop<'a>(Option<&'a DbHealth>);

impl FailureOnDrop<'_> {
    fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for FailureOnDrop<'_> {
    fn drop(&mut self) {
        if let Some(health) = self.0 {
            health.mark_failed();
        }
    }
}

/// Applies every pending migration and returns the versions applied.
///
/// Holds a session-level advisory lock for the whole run, so that any number of processes
/// starting at once apply each migration exactly once: the first one migrates, the others
/// wait and then find nothing pending.
pub async fn run_migrations(database_url: &str) -> anyhow::Result<Vec<String>> {
    let url = database_url.to_owned();
    tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<String>> {
        use diesel::Connection as _;
        let mut conn = AsyncConnectionWrapper::<AsyncPgConnection>::establish(&url)
            .context("connecting to the database")?;
        conn.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})"))
            .context("taking the migration lock")?;
        let applied = conn
            .run_pending_migrations(MIGRATIONS)
            .map(|versions| versions.iter().map(ToString::to_string).collect())
            .map_err(|err| anyhow::anyhow!("applying migrations: {err}"));
        // Closing the connection would release the lock too; unlocking explicitly keeps the
        // wait short for the others when the connection lingers.
        let unlocked =
            conn.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})"));
        let applied = applied?;
        unlocked.context("releasing the migration lock")?;
        Ok(applied)
    })
    .await
    .context("migration task failed")?
}

/// Reverts every applied migration, newest first, and returns how many (used to test the
/// down migrations).
pub async fn revert_all_migrations(database_url: &str) -> anyhow::Result<usize> {
    let url = database_url.to_owned();
    tokio::task::spawn_blocking(move || -> anyhow::Result<usize> {
        use diesel::Connection as _;
        let mut conn = AsyncConnectionWrapper::<AsyncPgConnection>::establish(&url)
            .context("connecting to the database")?;
        let reverted = conn
            .revert_all_migrations(MIGRATIONS)
            .map_err(|err| anyhow::anyhow!("reverting migrations: {err}"))?;
        Ok(reverted.len())
    })
    .await
    .context("migration task failed")?
}

#[cfg(test)]
mod tests {
    use super::*;

    const LONG_AGO: Duration = Duration::from_secs(3600);

    #[test]
    fn an_interrupted_check_marks_the_database_as_failing_until_something_succeeds() {
        let health = DbHealth::default();
        assert!(!health.failed_within(LONG_AGO));
        drop(FailureOnDrop(Some(&health)));
        assert!(health.failed_within(LONG_AGO));
        assert!(
            !health.failed_within(Duration::ZERO),
            "the mark expires after the window"
        );
        health.mark_healthy();
        assert!(!health.failed_within(LONG_AGO));
    }

    #[test]
    fn a_completed_check_leaves_no_failure_mark() {
        let health = DbHealth::default();
        FailureOnDrop(Some(&health)).disarm();
        assert!(!health.failed_within(LONG_AGO));
    }
}
