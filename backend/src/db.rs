//! Database access: the connection pool and the embedded migrations.

pub mod schema;

use std::time::Duration;

use anyhow::Context as _;
use diesel::connection::SimpleConnection as _;
use diesel_async::AsyncPgConnection;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_async::pooled_connection::AsyncDieselConnectionManager;
use diesel_async::pooled_connection::deadpool::Pool;
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
pub fn pool(database_url: &str, max_size: usize, acquire_timeout: Duration) -> anyhow::Result<DbPool> {
    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new(database_url);
    Pool::builder(manager)
        .max_size(max_size)
        .wait_timeout(Some(acquire_timeout))
        .create_timeout(Some(acquire_timeout))
        .recycle_timeout(Some(acquire_timeout))
        .runtime(deadpool::Runtime::Tokio1)
        .build()
        .context("building the database pool")
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
        let mut conn =
            AsyncConnectionWrapper::<AsyncPgConnection>::establish(&url).context("connecting to the database")?;
        conn.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})"))
            .context("taking the migration lock")?;
        let applied = conn
            .run_pending_migrations(MIGRATIONS)
            .map(|versions| versions.iter().map(ToString::to_string).collect())
            .map_err(|err| anyhow::anyhow!("applying migrations: {err}"));
        // Closing the connection would release the lock too; unlocking explicitly keeps the
        // wait short for the others when the connection lingers.
        let unlocked = conn.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})"));
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
        let mut conn =
            AsyncConnectionWrapper::<AsyncPgConnection>::establish(&url).context("connecting to the database")?;
        let reverted = conn.revert_all_migrations(MIGRATIONS).map_err(|err| anyhow::anyhow!("reverting migrations: {err}"))?;
        Ok(reverted.len())
    })
    .await
    .context("migration task failed")?
}
