//! Session tokens: HS256 JWTs with `sub`, `iat`, `exp` and a `jti` that sign-out revokes.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The claims of a session token.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    /// The user's id.
    pub sub: Uuid,
    /// Issued at (seconds since the epoch).
    pub iat: i64,
    /// Expires at (seconds since the epoch).
    pub exp: i64,
    /// Token id, listed in `revoked_tokens` after sign-out.
    pub jti: Uuid,
}

/// A freshly signed token and when it expires.
#[derive(Debug)]
pub struct IssuedToken {
    /// The compact JWT.
    pub token: String,
    /// Its expiry.
    pub expires_at: DateTime<Utc>,
}

/// Signing and verification keys plus the token lifetime.
#[derive(Clone)]
pub struct JwtKeys {
    inner: Arc<Keys>,
}

struct Keys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl: chrono::Duration,
}

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtKeys")
            .field("ttl", &self.inner.ttl)
            .finish_non_exhaustive()
    }
}

impl JwtKeys {
    /// Builds the keys from the configured secret and lifetime.
    pub fn new(secret: &SecretString, ttl: Duration) -> Self {
        let bytes = secret.expose_secret().as_bytes();
        let mut validation = Validation::new(Algorithm::HS256);
        // Only HS256 is accepted: a token claiming any other algorithm is refused.
        validation.algorithms = vec![Algorithm::HS256];
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub", "iat"]);
        let ttl = chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::days(7));
        Self {
            inner: Arc::new(Keys {
                encoding: EncodingKey::from_secret(bytes),
                decoding: DecodingKey::from_secret(bytes),
                validation,
                ttl,
            }),
        }
    }

    /// Signs a new token for `user_id`, valid from `now` for the configured lifetime.
    pub fn issue(&self, user_id: Uuid, now: DateTime<Utc>) -> anyhow::Result<IssuedToken> {
        // JWT times are whole seconds; announce exactly the expiry the token carries.
        let now = DateTime::from_timestamp(now.timestamp(), 0).unwrap_or(now);
        let expires_at = now + self.inner.ttl;
        let claims = Claims {
            sub: user_id,
            iat: now.timestamp(),
            exp: expires_at.timestamp(),
            jti: Uuid::new_v4(),
        };
        let token = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &self.inner.encoding,
        )
        .map_err(|err| anyhow::anyhow!("signing token: {err}"))?;
        Ok(IssuedToken { token, expires_at })
    }

    /// Checks the signature, algorithm and expiry and returns the claims.
    pub fn verify(&self, token: &str) -> Option<Claims> {
        jsonwebtoken::decode::<Claims>(token, &self.inner.decoding, &self.inner.validation)
            .ok()
            .map(|data| data.claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> JwtKeys {
        JwtKeys::new(
            &SecretString::from("k".repeat(32)),
            Duration::from_secs(3600),
        )
    }

    #[test]
    fn an_issued_token_verifies_with_its_claims() {
        let user = Uuid::new_v4();
        let issued = keys().issue(user, Utc::now()).unwrap();
        let claims = keys().verify(&issued.token).unwrap();
        assert_eq!(claims.sub, user);
        assert_eq!(claims.exp - claims.iat, 3600);
        assert_eq!(claims.exp, issued.expires_at.timestamp());
        assert_eq!(
            issued.expires_at.timestamp_subsec_nanos(),
            0,
            "the announced expiry is the token's"
        );
    }

    #[test]
    fn a_token_signed_with_another_secret_is_refused() {
        let other = JwtKeys::new(
            &SecretString::from("o".repeat(32)),
            Duration::from_secs(3600),
        );
        let issued = other.issue(Uuid::new_v4(), Utc::now()).unwrap();
        assert!(keys().verify(&issued.token).is_none());
    }

    #[test]
    fn an_expired_token_is_refused() {
        let issued = keys()
            .issue(Uuid::new_v4(), Utc::now() - chrono::Duration::hours(2))
            .unwrap();
        assert!(keys().verify(&issued.token).is_none());
    }

    #[test]
    fn a_token_with_another_algorithm_is_refused() {
        let claims = Claims {
            sub: Uuid::new_v4(),
            iat: Utc::now().timestamp(),
            exp: Utc::now().timestamp() + 60,
            jti: Uuid::new_v4(),
        };
        let secret = "k".repeat(32);
        let hs512 = jsonwebtoken::encode(
            &Header::new(Algorithm::HS512),
            &claims,
            &EncodingKey::from_secret(secret.as_bytes()),
        )
        .unwrap();
        assert!(keys().verify(&hs512).is_none());
    }

    #[test]
    fn garbage_is_refused() {
        assert!(keys().verify("not.a.token").is_none());
        assert!(keys().verify("").is_none());
    }
}
