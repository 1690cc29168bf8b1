//! Argon2id hashing on the blocking pool, behind a semaphore that bounds memory use.

use std::sync::Arc;

use anyhow::Context as _;
use argon2::password_hash::phc::PasswordHash;
use argon2::{Algorithm, Argon2, Params, PasswordHasher as _, PasswordVerifier as _, Version};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Semaphore;
use tracing::Instrument as _;

/// OWASP's recommended Argon2id cost: 19 MiB of memory, 2 passes, 1 lane.
const MEMORY_KIB: u32 = 19 * 1024;
const PASSES: u32 = 2;
const LANES: u32 = 1;

/// Hashes and verifies passwords. Each operation takes 19 MiB for a few tens of
/// milliseconds; the semaphore caps how many run at once so that a burst of logins queues
/// instead of exhausting memory.
#[derive(Clone)]
pub struct PasswordHasher {
    permits: Arc<Semaphore>,
    /// A real hash of a random password, verified against when the account does not exist so
    /// that unknown and known emails take the same time.
    dummy_hash: Arc<str>,
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("available_permits", &self.permits.available_permits())
            .finish()
    }
}

fn argon2() -> Argon2<'static> {
    // The constants are valid Argon2 parameters; `Params::new` only rejects out-of-range values.
    let params =
        Params::new(MEMORY_KIB, PASSES, LANES, None).expect("BUG: Argon2 parameters are in range");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

fn hash_blocking(password: &[u8]) -> anyhow::Result<String> {
    let hash = argon2()
        .hash_password(password)
        .map_err(|err| anyhow::anyhow!("hashing password: {err}"))?;
    Ok(hash.to_string())
}

fn verify_blocking(password: &[u8], stored: &str) -> anyhow::Result<bool> {
    let parsed = PasswordHash::new(stored)
        .map_err(|err| anyhow::anyhow!("parsing stored password hash: {err}"))?;
    match argon2().verify_password(password, &parsed) {
        Ok(()) => Ok(true),
        Err(argon2::password_hash::Error::PasswordInvalid) => Ok(false),
        Err(err) => Err(anyhow::anyhow!("verifying password: {err}")),
    }
}

impl PasswordHasher {
    /// Creates a hasher that runs at most `concurrency` hashes at once.
    pub fn new(concurrency: usize) -> anyhow::Result<Self> {
        let random: [u8; 32] = rand::random();
        let dummy_hash = hash_blocking(&random)?;
        Ok(Self {
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            dummy_hash: dummy_hash.into(),
        })
    }

    /// A concurrency that keeps the CPU busy without queueing more memory than needed.
    pub fn default_concurrency() -> usize {
        std::thread::available_parallelism()
            .map_or(2, |n| n.get())
            .clamp(1, 8)
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
    ) -> anyhow::Result<T> {
        // The permit moves into the blocking task: if this future is dropped (the client went
        // away, the request timed out), the hash still runs to completion and keeps its permit
        // until then, so the number of hashes in memory stays bounded.
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .context("password hasher closed")?;
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            span.in_scope(work)
        })
        .instrument(tracing::Span::current())
        .await
        .context("password hashing task failed")?
    }

    /// Hashes a new password into a PHC string.
    pub async fn hash(&self, password: &SecretString) -> anyhow::Result<String> {
        let password = password.clone();
        self.run(move || hash_blocking(password.expose_secret().as_bytes()))
            .await
    }

    /// Checks a password against a stored hash, or against the dummy hash when there is no
    /// account (`stored = None`), which always fails but costs the same time.
    pub async fn verify(
        &self,
        password: &SecretString,
        stored: Option<&str>,
    ) -> anyhow::Result<bool> {
        let password = password.clone();
        let known = stored.is_some();
        let stored: Arc<str> = stored.map_or_else(|| Arc::clone(&self.dummy_hash), Arc::from);
        let matches = self
            .run(move || verify_blocking(password.expose_secret().as_bytes(), &stored))
            .await?;
        Ok(known && matches)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn wait_for_permits(hasher: &PasswordHasher, expected: usize) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while hasher.permits.available_permits() != expected {
            assert!(
                std::time::Instant::now() < deadline,
                "permits never became {expected}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
    }

    #[tokio::test]
    async fn a_cancelled_caller_does_not_free_the_permit_while_its_hash_still_runs() {
        let hasher = PasswordHasher::new(1).unwrap();
        let (release, released) = std::sync::mpsc::channel::<()>();
        let caller = {
            let hasher = hasher.clone();
            tokio::spawn(async move {
                hasher
                    .run(move || {
                        let _ = released.recv();
                        Ok(())
                    })
                    .await
            })
        };
        wait_for_permits(&hasher, 0).await;
        caller.abort();
        assert!(caller.await.unwrap_err().is_cancelled());
        assert_eq!(
            hasher.permits.available_permits(),
            0,
            "the blocking work is still running, so its permit must still be taken"
        );
        release.send(()).unwrap();
        wait_for_permits(&hasher, 1).await;
    }

    #[tokio::test]
    async fn a_hashed_password_verifies_and_a_wrong_one_does_not() {
        let hasher = PasswordHasher::new(2).unwrap();
        let password = SecretString::from("correct horse battery");
        let hash = hasher.hash(&password).await.unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(hasher.verify(&password, Some(&hash)).await.unwrap());
        assert!(
            !hasher
                .verify(&SecretString::from("wrong horse battery"), Some(&hash))
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn an_unknown_account_never_verifies() {
        let hasher = PasswordHasher::new(1).unwrap();
        assert!(
            !hasher
                .verify(&SecretString::from("anything at all"), None)
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn a_corrupt_stored_hash_is_an_error_not_a_match() {
        let hasher = PasswordHasher::new(1).unwrap();
        assert!(
            hasher
                .verify(&SecretString::from("anything at all"), Some("not-a-hash"))
                .await
                .is_err()
        );
    }
}
