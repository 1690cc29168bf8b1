//! Accounts: register, log in, who am I, log out.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::{AuthUser, JwtKeys, PasswordHasher, SessionCache};
use crate::db::DbPool;
use crate::domain::{EmailAddress, FieldErrors, Invalid, Password, UserName};
use crate::error::ApiError;
use crate::extract::AppJson;
use crate::rate_limit::AuthRateLimits;
use crate::repo;
use crate::state::AppState;

/// Routes under `/api/auth`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/register", post(register))
        .route("/login", post(login))
        .route("/me", get(me))
        .route("/logout", post(logout))
}

/// Body of `POST /api/auth/register`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    /// Display name, 1–100 characters.
    #[serde(default)]
    name: String,
    /// Email address; unique regardless of letter case.
    #[serde(default)]
    email: String,
    /// Password, 8–128 characters.
    #[serde(default)]
    #[schema(value_type = String, format = Password)]
    password: String,
}

/// Body of `POST /api/auth/login`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// Email address (any letter case).
    #[serde(default)]
    email: String,
    /// Password.
    #[serde(default)]
    #[schema(value_type = String, format = Password)]
    password: String,
}

/// An account as shown to its owner.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserResponse {
    /// Account id.
    pub id: Uuid,
    /// Display name.
    pub name: String,
    /// Email as registered.
    pub email: String,
    /// Creation time (RFC 3339, UTC).
    pub created_at: DateTime<Utc>,
}

/// Answer to a successful login.
#[derive(Debug, Serialize, ToSchema)]
pub struct LoginResponse {
    /// Bearer token for the `Authorization` header.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// When the token stops working.
    pub expires_at: DateTime<Utc>,
    /// The signed-in account.
    pub user: UserResponse,
}

fn check_rate(
    limits: &AuthRateLimits,
    parts: &http::request::Parts,
    email: &str,
) -> Result<(), ApiError> {
    let Some(ip) = limits.client_ip(parts) else {
        return Ok(());
    };
    limits.check(ip, email).map_err(ApiError::RateLimited)
}

/// Create an account.
#[utoipa::path(
    post, path = "/api/auth/register", tag = "auth",
    request_body = RegisterRequest,
    responses(
        (status = 201, description = "Account created", body = UserResponse),
        (status = 409, description = "An account with this email already exists", body = crate::error::ErrorBody),
        (status = 422, description = "Invalid fields", body = crate::error::ErrorBody),
        (status = 429, description = "Too many attempts", body = crate::error::ErrorBody),
    )
)]
async fn register(
    State(pool): State<DbPool>,
    State(hasher): State<PasswordHasher>,
    State(limits): State<AuthRateLimits>,
    parts: http::request::Parts,
    AppJson(body): AppJson<RegisterRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let mut errors = FieldErrors::default();
    let name = errors.check("name", UserName::parse(&body.name));
    let email = errors.check("email", EmailAddress::parse(&body.email));
    let password = errors.check("password", Password::parse(body.password));
    let (Some(name), Some(email), Some(password)) = (name, email, password) else {
        return Err(ApiError::Validation(errors));
    };
    check_rate(&limits, &parts, email.as_ref())?;
    let hash = hasher.hash(password.secret()).await?;
    let mut conn = pool.get().await?;
    let user = repo::users::insert(&mut conn, name.as_ref(), email.as_ref(), &hash)
        .await
        .map_err(|err| {
            if repo::is_unique_violation(&err, repo::users::EMAIL_UNIQUE_INDEX) {
                ApiError::Conflict("An account with this email already exists.")
            } else {
                err.into()
            }
        })?;
    tracing::info!(user_id = %user.id, "account created");
    let body = UserResponse {
        id: user.id,
        name: user.name,
        email: user.email,
        created_at: user.created_at,
    };
    Ok((
        StatusCode::CREATED,
        [(http::header::LOCATION, "/api/auth/me")],
        Json(body),
    ))
}

/// Exchange email and password for a bearer token.
#[utoipa::path(
    post, path = "/api/auth/login", tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in", body = LoginResponse),
        (status = 401, description = "Incorrect email or password (one message for both)", body = crate::error::ErrorBody),
        (status = 422, description = "Email or password missing", body = crate::error::ErrorBody),
        (status = 429, description = "Too many attempts", body = crate::error::ErrorBody),
    )
)]
async fn login(
    State(pool): State<DbPool>,
    State(hasher): State<PasswordHasher>,
    State(limits): State<AuthRateLimits>,
    State(jwt): State<JwtKeys>,
    parts: http::request::Parts,
    AppJson(body): AppJson<LoginRequest>,
) -> Result<Json<LoginResponse>, ApiError> {
    let mut errors = FieldErrors::default();
    if body.email.trim().is_empty() {
        errors.add("email", Invalid::new("email is required"));
    }
    if body.password.is_empty() {
        errors.add("password", Invalid::new("password is required"));
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    check_rate(&limits, &parts, &body.email)?;
    if body.password.chars().count() > Password::MAX_CHARS
        || body.email.chars().any(char::is_control)
    {
        // No account has such a password or such an email address (registration refuses
        // both), so refuse without a hash or a query; PostgreSQL rejects NUL bytes anyway.
        return Err(ApiError::InvalidCredentials);
    }
    let user = {
        let mut conn = pool.get().await?;
        repo::users::find_by_email(&mut conn, body.email.trim()).await?
    };
    let password = SecretString::from(body.password);
    // Unknown emails are checked against a dummy hash so both failures take the same time.
    let verified = hasher
        .verify(
            &password,
            user.as_ref().map(|user| user.password_hash.as_str()),
        )
        .await?;
    let user = match user {
        Some(user) if verified => user,
        _ => return Err(ApiError::InvalidCredentials),
    };
    let issued = jwt.issue(user.id, Utc::now())?;
    tracing::info!(user_id = %user.id, "signed in");
    Ok(Json(LoginResponse {
        access_token: issued.token,
        token_type: "Bearer",
        expires_at: issued.expires_at,
        user: UserResponse {
            id: user.id,
            name: user.name,
            email: user.email,
            created_at: user.created_at,
        },
    }))
}

/// The signed-in account.
#[utoipa::path(
    get, path = "/api/auth/me", tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The account behind the token", body = UserResponse),
        (status = 401, description = "Missing, invalid, expired or revoked token", body = crate::error::ErrorBody),
    )
)]
async fn me(user: AuthUser) -> Json<UserResponse> {
    Json(UserResponse {
        id: user.id,
        name: user.name,
        email: user.email,
        created_at: user.created_at,
    })
}

/// End this session: the token is refused from now on.
#[utoipa::path(
    post, path = "/api/auth/logout", tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Signed out"),
        (status = 401, description = "Missing, invalid, expired or revoked token", body = crate::error::ErrorBody),
    )
)]
async fn logout(
    State(pool): State<DbPool>,
    State(sessions): State<SessionCache>,
    user: AuthUser,
) -> Result<StatusCode, ApiError> {
    let mut conn = pool.get().await?;
    repo::tokens::revoke(&mut conn, user.token_id, user.id, user.token_expires_at).await?;
    // At once for this process; the others drop it when the database's notification arrives.
    sessions.revoke(user.token_id);
    tracing::info!(user_id = %user.id, "signed out");
    Ok(StatusCode::NO_CONTENT)
}

/// The OpenAPI paths of this module.
#[derive(Debug, utoipa::OpenApi)]
#[openapi(paths(register, login, me, logout))]
pub struct AuthApi;
