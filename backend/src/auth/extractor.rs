//! The `AuthUser` extractor: a valid, unrevoked bearer token of an existing account.

use axum::extract::{FromRef, FromRequestParts};
use chrono::{DateTime, Utc};
use http::header::AUTHORIZATION;
use http::request::Parts;
use uuid::Uuid;

use super::{JwtKeys, SessionCache, SessionUser};
use crate::db::DbPool;
use crate::error::ApiError;
use crate::repo;

/// The signed-in user of a request, taken from `Authorization: Bearer <token>`.
#[derive(Debug, Clone)]
pub struct AuthUser {
    /// The account id.
    pub id: Uuid,
    /// Display name.
    pub name: String,
    /// Email as registered.
    pub email: String,
    /// When the account was created.
    pub created_at: DateTime<Utc>,
    /// The token's id (for sign-out).
    pub token_id: Uuid,
    /// When the token expires.
    pub token_expires_at: DateTime<Utc>,
}

fn bearer_token(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|token| !token.is_empty())
}

impl<S> FromRequestParts<S> for AuthUser
where
    S: Send + Sync,
    JwtKeys: FromRef<S>,
    DbPool: FromRef<S>,
    SessionCache: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let token = bearer_token(parts).ok_or(ApiError::Unauthorized)?;
        let claims = JwtKeys::from_ref(state)
            .verify(token)
            .ok_or(ApiError::Unauthorized)?;
        let token_expires_at =
            DateTime::from_timestamp(claims.exp, 0).ok_or(ApiError::Unauthorized)?;
        let sessions = SessionCache::from_ref(state);
        let user = match sessions.get(claims.jti, claims.sub) {
            Some(user) => user,
            None => {
                let generation = sessions.generation();
                let pool = DbPool::from_ref(state);
                let mut conn = pool.get().await?;
                let row = repo::users::find_for_session(&mut conn, claims.sub, claims.jti)
                    .await?
                    .ok_or(ApiError::Unauthorized)?;
                let user = SessionUser {
                    id: row.id,
                    name: row.name,
                    email: row.email,
                    created_at: row.created_at,
                };
                sessions.store(claims.jti, user.clone(), generation);
                user
            }
        };
        tracing::Span::current().record("user_id", tracing::field::display(user.id));
        Ok(Self {
            id: user.id,
            name: user.name,
            email: user.email,
            created_at: user.created_at,
            token_id: claims.jti,
            token_expires_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(value: &str) -> Parts {
        http::Request::builder()
            .header(AUTHORIZATION, value)
            .body(())
            .unwrap()
            .into_parts()
            .0
    }

    #[test]
    fn bearer_tokens_are_read_case_insensitively_and_other_schemes_ignored() {
        assert_eq!(bearer_token(&parts("Bearer abc")), Some("abc"));
        assert_eq!(bearer_token(&parts("bearer abc")), Some("abc"));
        assert_eq!(bearer_token(&parts("Basic abc")), None);
        assert_eq!(bearer_token(&parts("Bearer ")), None);
        assert_eq!(bearer_token(&parts("Bearer")), None);
    }
}
