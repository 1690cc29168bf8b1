//! Accounts and sessions: registration, login, `/me`, logout, token tampering and expiry, rate limits, the
//! hashing semaphore under load, and that no password or hash ever leaves the service.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use diesel::{ExpressionMethods as _, QueryDsl as _};
use diesel_async::RunQueryDsl as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, LOCATION, RETRY_AFTER, WWW_AUTHENTICATE};
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};
use taskflow_backend::auth::Claims;
use taskflow_backend::db::schema::users;
use uuid::Uuid;

use taskflow_backend::startup::Application;

use crate::helpers::{
    JWT_SECRET, PASSWORD, TestApp, TestUser, assert_error, http_client, json_body, spawn_app,
    spawn_app_with, test_config,
};

const SEVEN_DAYS: i64 = 7 * 24 * 60 * 60;

// ---------------------------------------------------------------- helpers

/// Asserts a 401 `unauthorized` with `WWW-Authenticate: Bearer`, naming `case` on failure.
async fn expect_unauthorized(response: Response, case: &str) {
    let status = response.status();
    let challenge = response
        .headers()
        .get(WWW_AUTHENTICATE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let text = response.text().await.expect("reading the body");
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "{case}: status; body: {text}"
    );
    assert_eq!(
        challenge.as_deref(),
        Some("Bearer"),
        "{case}: WWW-Authenticate"
    );
    let body: Value = serde_json::from_str(&text)
        .unwrap_or_else(|err| panic!("{case}: body is not JSON ({err}): {text}"));
    assert_eq!(
        body["error"]["code"], "unauthorized",
        "{case}: error code; body: {body}"
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{case}: error message; body: {body}"
    );
}

/// Asserts a 422 `validation_failed` whose `fields` has exactly `expected` as keys.
async fn expect_field_errors(response: Response, expected: &[&str], case: &str) {
    let status = response.status();
    let text = response.text().await.expect("reading the body");
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{case}: status; body: {text}"
    );
    let body: Value = serde_json::from_str(&text)
        .unwrap_or_else(|err| panic!("{case}: body is not JSON ({err}): {text}"));
    assert_eq!(
        body["error"]["code"], "validation_failed",
        "{case}: error code; body: {body}"
    );
    let fields = body["error"]["fields"]
        .as_object()
        .unwrap_or_else(|| panic!("{case}: no `fields` object; body: {body}"));
    let keys: BTreeSet<&str> = fields.keys().map(String::as_str).collect();
    let expected: BTreeSet<&str> = expected.iter().copied().collect();
    assert_eq!(keys, expected, "{case}: field keys; body: {body}");
    for (field, message) in fields {
        assert!(
            message.as_str().is_some_and(|m| !m.is_empty()),
            "{case}: message for {field}; body: {body}"
        );
    }
}

/// Asserts a 429 `rate_limited` with a whole-seconds `Retry-After` of at least 1, naming `case`.
async fn expect_rate_limited(response: Response, case: &str) {
    let status = response.status();
    let retry_after = response
        .headers()
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let text = response.text().await.expect("reading the body");
    assert_eq!(
        status,
        StatusCode::TOO_MANY_REQUESTS,
        "{case}: status; body: {text}"
    );
    let retry_after = retry_after.unwrap_or_else(|| panic!("{case}: no Retry-After header"));
    let seconds: u64 = retry_after
        .parse()
        .unwrap_or_else(|_| panic!("{case}: Retry-After `{retry_after}` is not whole seconds"));
    assert!(
        (1..=60).contains(&seconds),
        "{case}: Retry-After {seconds} should be within the minute"
    );
    let body: Value = serde_json::from_str(&text)
        .unwrap_or_else(|err| panic!("{case}: body is not JSON ({err}): {text}"));
    assert_eq!(
        body["error"]["code"], "rate_limited",
        "{case}: error code; body: {body}"
    );
}

/// A request with a raw `Authorization` header (or none).
async fn get_with_authorization(
    app: &TestApp,
    path: &str,
    authorization: Option<&str>,
) -> Response {
    let mut request = app.client.get(app.url(path));
    if let Some(value) = authorization {
        request = request.header(AUTHORIZATION, value);
    }
    request.send().await.expect("sending the request")
}

/// `POST /api/auth/login`, optionally with an `X-Forwarded-For` header.
async fn login_forwarded_for(app: &TestApp, forwarded_for: Option<&str>, email: &str) -> Response {
    let mut request = app
        .client
        .post(app.url("/api/auth/login"))
        .json(&json!({ "email": email, "password": PASSWORD }));
    if let Some(value) = forwarded_for {
        request = request.header("x-forwarded-for", value);
    }
    request.send().await.expect("sending the request")
}

/// A POST with a raw body and an optional content type.
async fn post_raw(app: &TestApp, path: &str, content_type: Option<&str>, body: &str) -> Response {
    let mut request = app.client.post(app.url(path)).body(body.to_owned());
    if let Some(value) = content_type {
        request = request.header(CONTENT_TYPE, value);
    }
    request.send().await.expect("sending the request")
}

/// Signs `claims` as a JWT with `algorithm` and `secret`.
fn sign(claims: &Claims, algorithm: Algorithm, secret: &str) -> String {
    jsonwebtoken::encode(
        &Header::new(algorithm),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("signing a token")
}

/// Claims for `user` valid from now for an hour, with a fresh token id.
fn fresh_claims(user: Uuid) -> Claims {
    let now = Utc::now().timestamp();
    Claims {
        sub: user,
        iat: now,
        exp: now + 3600,
        jti: Uuid::new_v4(),
    }
}

/// The claims of a token, read without checking it (the test knows it is genuine).
fn claims_of(token: &str) -> Claims {
    jsonwebtoken::dangerous::insecure_decode_claims(token).expect("decoding a token's claims")
}

/// The three dot-separated parts of a compact JWT.
fn parts_of(token: &str) -> [&str; 3] {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "a compact JWT has three parts: {token}");
    [parts[0], parts[1], parts[2]]
}

/// `value` parsed as an RFC 3339 UTC timestamp written with `Z`.
fn utc_timestamp(value: &Value, what: &str) -> DateTime<Utc> {
    let text = value
        .as_str()
        .unwrap_or_else(|| panic!("{what} is not a string: {value}"));
    assert!(text.ends_with('Z'), "{what} should be UTC with `Z`: {text}");
    DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|err| panic!("{what} is not RFC 3339 ({err}): {text}"))
        .to_utc()
}

/// Asserts the public shape of an account: exactly id, name, email and created_at.
fn assert_user_shape(user: &Value, name: &str, email: &str) {
    let object = user
        .as_object()
        .unwrap_or_else(|| panic!("user is not an object: {user}"));
    let keys: BTreeSet<&str> = object.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        BTreeSet::from(["created_at", "email", "id", "name"]),
        "user fields: {user}"
    );
    assert!(
        user["id"]
            .as_str()
            .is_some_and(|id| id.parse::<Uuid>().is_ok()),
        "id is a UUID: {user}"
    );
    assert_eq!(user["name"], name, "name: {user}");
    assert_eq!(user["email"], email, "email: {user}");
    let created_at = utc_timestamp(&user["created_at"], "created_at");
    let age = Utc::now() - created_at;
    assert!(
        age.num_seconds().abs() < 60,
        "created_at should be about now: {created_at}"
    );
}

async fn delete_user_row(app: &TestApp, id: Uuid) {
    let mut conn = app.db.connection().await;
    let deleted = diesel::sql_query("DELETE FROM users WHERE id = $1")
        .bind::<diesel::sql_types::Uuid, _>(id)
        .execute(&mut conn)
        .await
        .expect("deleting the user row");
    assert_eq!(deleted, 1, "exactly one user row deleted");
}

async fn stored_password_hash(app: &TestApp, email: &str) -> String {
    let mut conn = app.db.connection().await;
    users::table
        .filter(users::email.eq(email))
        .select(users::password_hash)
        .first::<String>(&mut conn)
        .await
        .expect("reading the stored password hash")
}

async fn failed_login_duration(app: &TestApp, email: &str, password: &str) -> Duration {
    let started = Instant::now();
    let response = app.login(email, password).await;
    let elapsed = started.elapsed();
    assert_error(response, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    elapsed
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

// ---------------------------------------------------------------- register

#[tokio::test]
async fn registering_answers_201_with_the_account_and_its_location() {
    let app = spawn_app().await;
    let response = app
        .register("  Ann Lee  ", "ann@example.com", PASSWORD)
        .await;
    let location = response
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = json_body(response, StatusCode::CREATED).await;
    assert_user_shape(&body, "Ann Lee", "ann@example.com");
    assert_eq!(location.as_deref(), Some("/api/auth/me"));
}

#[tokio::test]
async fn the_registered_account_can_sign_in_and_is_the_same_account() {
    let app = spawn_app().await;
    let registered = json_body(
        app.register("Ann", "ann@example.com", PASSWORD).await,
        StatusCode::CREATED,
    )
    .await;
    let login = json_body(app.login("ann@example.com", PASSWORD).await, StatusCode::OK).await;
    assert_eq!(login["user"], registered);
}

#[tokio::test]
async fn names_of_100_characters_and_passwords_of_8_and_128_characters_are_accepted() {
    let app = spawn_app().await;
    let cases = [
        (
            "100-character name",
            "n".repeat(100),
            "a@example.com",
            "12345678".to_owned(),
        ),
        (
            "8-character password",
            "Ann".to_owned(),
            "b@example.com",
            "12345678".to_owned(),
        ),
        (
            "128-character password",
            "Ann".to_owned(),
            "c@example.com",
            "p".repeat(128),
        ),
        (
            "128 two-byte characters",
            "Ann".to_owned(),
            "d@example.com",
            "é".repeat(128),
        ),
    ];
    for (case, name, email, password) in cases {
        let response = app.register(&name, email, &password).await;
        assert_eq!(response.status(), StatusCode::CREATED, "{case}");
        let login = app.login(email, &password).await;
        assert_eq!(login.status(), StatusCode::OK, "{case}: signing in");
    }
}

#[tokio::test]
async fn an_email_already_registered_in_any_letter_case_is_a_conflict() {
    let app = spawn_app().await;
    assert_eq!(
        app.register("Ann", "ann@example.com", PASSWORD)
            .await
            .status(),
        StatusCode::CREATED
    );
    for email in [
        "ann@example.com",
        "Ann@Example.com",
        "ANN@EXAMPLE.COM",
        "  ann@example.com  ",
    ] {
        let response = app.register("Another Ann", email, "another password").await;
        let status = response.status();
        let body = response.text().await.expect("reading the body");
        assert_eq!(status, StatusCode::CONFLICT, "{email:?}: {body}");
        let body: Value = serde_json::from_str(&body).expect("JSON body");
        assert_eq!(body["error"]["code"], "conflict", "{email:?}: {body}");
    }
    let login = json_body(app.login("ann@example.com", PASSWORD).await, StatusCode::OK).await;
    assert_eq!(
        login["user"]["name"], "Ann",
        "the first account is untouched"
    );
}

#[tokio::test]
async fn invalid_registrations_are_rejected_with_the_offending_fields() {
    let app = spawn_app().await;
    let long_name = "n".repeat(101);
    let long_password = "p".repeat(129);
    let long_email = format!("{}@example.com", "a".repeat(250));
    let cases: Vec<(&str, Value, &[&str])> = vec![
        (
            "empty name",
            json!({"name": "", "email": "a@example.com", "password": PASSWORD}),
            &["name"],
        ),
        (
            "blank name",
            json!({"name": " \t ", "email": "a@example.com", "password": PASSWORD}),
            &["name"],
        ),
        (
            "101-character name",
            json!({"name": long_name, "email": "a@example.com", "password": PASSWORD}),
            &["name"],
        ),
        (
            "name with a control character",
            json!({"name": "Ann\u{7}", "email": "a@example.com", "password": PASSWORD}),
            &["name"],
        ),
        (
            "empty email",
            json!({"name": "Ann", "email": "", "password": PASSWORD}),
            &["email"],
        ),
        (
            "email without @",
            json!({"name": "Ann", "email": "ann", "password": PASSWORD}),
            &["email"],
        ),
        (
            "email without domain",
            json!({"name": "Ann", "email": "ann@", "password": PASSWORD}),
            &["email"],
        ),
        (
            "email without local part",
            json!({"name": "Ann", "email": "@example.com", "password": PASSWORD}),
            &["email"],
        ),
        (
            "email without top-level domain",
            json!({"name": "Ann", "email": "ann@example", "password": PASSWORD}),
            &["email"],
        ),
        (
            "email with a space",
            json!({"name": "Ann", "email": "a b@example.com", "password": PASSWORD}),
            &["email"],
        ),
        (
            "email with display name",
            json!({"name": "Ann", "email": "Ann <ann@example.com>", "password": PASSWORD}),
            &["email"],
        ),
        (
            "overlong email",
            json!({"name": "Ann", "email": long_email, "password": PASSWORD}),
            &["email"],
        ),
        (
            "7-character password",
            json!({"name": "Ann", "email": "a@example.com", "password": "1234567"}),
            &["password"],
        ),
        (
            "129-character password",
            json!({"name": "Ann", "email": "a@example.com", "password": long_password}),
            &["password"],
        ),
        (
            "missing name",
            json!({"email": "a@example.com", "password": PASSWORD}),
            &["name"],
        ),
        (
            "missing email",
            json!({"name": "Ann", "password": PASSWORD}),
            &["email"],
        ),
        (
            "missing password",
            json!({"name": "Ann", "email": "a@example.com"}),
            &["password"],
        ),
        ("empty object", json!({}), &["name", "email", "password"]),
        (
            "every field bad",
            json!({"name": "", "email": "nope", "password": "short"}),
            &["name", "email", "password"],
        ),
        (
            "email and password bad",
            json!({"name": "Ann", "email": "nope@", "password": "short"}),
            &["email", "password"],
        ),
    ];
    for (case, body, fields) in cases {
        let response = app.post("/api/auth/register", None, &body).await;
        expect_field_errors(response, fields, case).await;
    }
    let mut conn = app.db.connection().await;
    let count: i64 = users::table
        .count()
        .get_result(&mut conn)
        .await
        .expect("counting users");
    assert_eq!(count, 0, "no invalid registration created an account");
}

/// A raw-body case: name, path, content type, body, expected status and error code.
type BodyCase = (
    &'static str,
    &'static str,
    Option<&'static str>,
    &'static str,
    StatusCode,
    &'static str,
);

#[tokio::test]
async fn malformed_auth_bodies_get_the_matching_error() {
    let app = spawn_app().await;
    let register = r#"{"name":"Ann","email":"ann@example.com","password":"correct horse battery"}"#;
    let login = r#"{"email":"ann@example.com","password":"correct horse battery"}"#;
    let cases: [BodyCase; 8] = [
        (
            "register without content type",
            "/api/auth/register",
            None,
            register,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            "register as text/plain",
            "/api/auth/register",
            Some("text/plain"),
            register,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            "register with an unknown field",
            "/api/auth/register",
            Some("application/json"),
            r#"{"name":"Ann","email":"ann@example.com","password":"correct horse battery","admin":true}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            "register with a number as name",
            "/api/auth/register",
            Some("application/json"),
            r#"{"name":5,"email":"ann@example.com","password":"correct horse battery"}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            "register with broken JSON",
            "/api/auth/register",
            Some("application/json"),
            r#"{"name":"Ann","#,
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            "login without content type",
            "/api/auth/login",
            None,
            login,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            "login with an unknown field",
            "/api/auth/login",
            Some("application/json"),
            r#"{"email":"ann@example.com","password":"correct horse battery","remember":true}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            "login with broken JSON",
            "/api/auth/login",
            Some("application/json"),
            "{",
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
    ];
    for (case, path, content_type, body, status, code) in cases {
        let response = post_raw(&app, path, content_type, body).await;
        let actual = response.status();
        let text = response.text().await.expect("reading the body");
        assert_eq!(actual, status, "{case}: status; body: {text}");
        let body: Value = serde_json::from_str(&text)
            .unwrap_or_else(|err| panic!("{case}: not JSON ({err}): {text}"));
        assert_eq!(body["error"]["code"], code, "{case}: code; body: {body}");
    }
    let mut conn = app.db.connection().await;
    let count: i64 = users::table
        .count()
        .get_result(&mut conn)
        .await
        .expect("counting users");
    assert_eq!(count, 0, "no malformed registration created an account");
}

// ---------------------------------------------------------------- login

#[tokio::test]
async fn logging_in_answers_a_bearer_token_valid_for_seven_days_and_the_user() {
    let app = spawn_app().await;
    let registered = json_body(
        app.register("Ann", "ann@example.com", PASSWORD).await,
        StatusCode::CREATED,
    )
    .await;
    let body = json_body(app.login("ann@example.com", PASSWORD).await, StatusCode::OK).await;
    let keys: BTreeSet<&str> = body
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        BTreeSet::from(["access_token", "expires_at", "token_type", "user"]),
        "login fields: {body}"
    );
    assert_eq!(body["token_type"], "Bearer");
    assert!(
        body["access_token"]
            .as_str()
            .is_some_and(|t| t.split('.').count() == 3),
        "compact JWT: {body}"
    );
    let expires_at = utc_timestamp(&body["expires_at"], "expires_at");
    let off_by = (expires_at - (Utc::now() + chrono::Duration::seconds(SEVEN_DAYS)))
        .num_seconds()
        .abs();
    assert!(
        off_by <= 10,
        "expires_at {expires_at} should be about 7 days from now"
    );
    assert_user_shape(&body["user"], "Ann", "ann@example.com");
    assert_eq!(body["user"]["id"], registered["id"]);
}

#[tokio::test]
async fn the_token_is_hs256_with_subject_issue_time_expiry_and_a_unique_id() {
    let app = spawn_app().await;
    let user = app.signed_up_user().await;
    let header = jsonwebtoken::decode_header(&user.token).expect("token header");
    assert_eq!(header.alg, Algorithm::HS256);
    let claims = claims_of(&user.token);
    assert_eq!(claims.sub, user.id);
    assert_eq!(claims.exp - claims.iat, SEVEN_DAYS);
    assert!(
        (claims.iat - Utc::now().timestamp()).abs() <= 10,
        "iat is about now: {claims:?}"
    );
    let again = json_body(app.login(&user.email, PASSWORD).await, StatusCode::OK).await;
    let second = claims_of(again["access_token"].as_str().expect("token"));
    assert_ne!(second.jti, claims.jti, "every session has its own token id");
}

#[tokio::test]
async fn a_short_configured_token_lifetime_is_reflected_in_expires_at() {
    let app = spawn_app_with(&[("JWT_TTL_SECONDS", "60")]).await;
    let user = app.signed_up_user().await;
    let body = json_body(app.login(&user.email, PASSWORD).await, StatusCode::OK).await;
    let expires_at = utc_timestamp(&body["expires_at"], "expires_at");
    let off_by = (expires_at - (Utc::now() + chrono::Duration::seconds(60)))
        .num_seconds()
        .abs();
    assert!(
        off_by <= 5,
        "expires_at {expires_at} should be about 60 s from now"
    );
    let claims = claims_of(body["access_token"].as_str().expect("token"));
    assert_eq!(claims.exp - claims.iat, 60);
}

#[tokio::test]
async fn the_email_may_be_typed_in_another_letter_case_at_login() {
    let app = spawn_app().await;
    assert_eq!(
        app.register("Ann", "ann@example.com", PASSWORD)
            .await
            .status(),
        StatusCode::CREATED
    );
    for email in ["ANN@EXAMPLE.COM", "Ann@Example.com", "  ann@example.com "] {
        let body = json_body(app.login(email, PASSWORD).await, StatusCode::OK).await;
        assert_eq!(
            body["user"]["email"], "ann@example.com",
            "{email:?}: the email is shown as registered"
        );
    }
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_email_get_the_same_401() {
    let app = spawn_app().await;
    let user = app.signed_up_user().await;
    let cases = [
        (
            "wrong password",
            user.email.clone(),
            "wrong horse battery".to_owned(),
        ),
        (
            "password in another case",
            user.email.clone(),
            PASSWORD.to_uppercase(),
        ),
        (
            "unknown email",
            "nobody@example.com".to_owned(),
            PASSWORD.to_owned(),
        ),
        ("overlong password", user.email.clone(), "p".repeat(129)),
    ];
    let mut messages = BTreeSet::new();
    for (case, email, password) in cases {
        let response = app.login(&email, &password).await;
        let challenge = response
            .headers()
            .get(WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        assert_eq!(
            challenge.as_deref(),
            Some("Bearer"),
            "{case}: WWW-Authenticate"
        );
        let body = assert_error(response, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
        assert!(
            body["error"].get("fields").is_none(),
            "{case}: no field detail: {body}"
        );
        messages.insert(
            body["error"]["message"]
                .as_str()
                .expect("message")
                .to_owned(),
        );
    }
    assert_eq!(
        messages.len(),
        1,
        "one message for every failure: {messages:?}"
    );
}

#[tokio::test]
async fn blank_login_fields_are_rejected_with_field_errors() {
    let app = spawn_app().await;
    let cases: [(&str, Value, &[&str]); 6] = [
        (
            "empty email",
            json!({"email": "", "password": PASSWORD}),
            &["email"],
        ),
        (
            "blank email",
            json!({"email": "  ", "password": PASSWORD}),
            &["email"],
        ),
        (
            "empty password",
            json!({"email": "ann@example.com", "password": ""}),
            &["password"],
        ),
        (
            "missing password",
            json!({"email": "ann@example.com"}),
            &["password"],
        ),
        (
            "both empty",
            json!({"email": "", "password": ""}),
            &["email", "password"],
        ),
        ("empty object", json!({}), &["email", "password"]),
    ];
    for (case, body, fields) in cases {
        let response = app.post("/api/auth/login", None, &body).await;
        expect_field_errors(response, fields, case).await;
    }
}

#[tokio::test]
async fn an_unknown_email_is_not_answered_much_faster_than_a_wrong_password() {
    let app = spawn_app().await;
    let user = app.signed_up_user().await;
    // Warm up both paths (connections, caches) before measuring.
    failed_login_duration(&app, &user.email, "wrong horse battery").await;
    failed_login_duration(&app, "nobody@example.com", PASSWORD).await;
    let mut wrong_password = Vec::new();
    let mut unknown_email = Vec::new();
    for round in 0..5 {
        wrong_password.push(failed_login_duration(&app, &user.email, "wrong horse battery").await);
        unknown_email.push(
            failed_login_duration(&app, &format!("nobody-{round}@example.com"), PASSWORD).await,
        );
    }
    let wrong_password = median(wrong_password);
    let unknown_email = median(unknown_email);
    assert!(
        unknown_email.as_secs_f64() >= 0.4 * wrong_password.as_secs_f64(),
        "an unknown email took {unknown_email:?} (median) against {wrong_password:?} for a wrong password: \
         the password check is skipped for unknown accounts"
    );
}

// ---------------------------------------------------------------- me

#[tokio::test]
async fn me_answers_the_signed_in_account() {
    let app = spawn_app().await;
    let user = app.signed_up_user().await;
    let body = json_body(
        app.get("/api/auth/me", Some(&user.token)).await,
        StatusCode::OK,
    )
    .await;
    assert_user_shape(&body, &user.name, &user.email);
    assert_eq!(body["id"], user.id.to_string());
}

#[tokio::test]
async fn the_bearer_scheme_is_accepted_in_any_letter_case() {
    let app = spawn_app().await;
    let user = app.signed_up_user().await;
    for scheme in ["bearer", "BEARER", "Bearer"] {
        let response = get_with_authorization(
            &app,
            "/api/auth/me",
            Some(&format!("{scheme} {}", user.token)),
        )
        .await;
        assert_eq!(response.status(), StatusCode::OK, "scheme {scheme}");
    }
}

#[tokio::test]
async fn me_without_a_usable_bearer_token_is_401() {
    let app = spawn_app().await;
    let user = app.signed_up_user().await;
    let cases = [
        ("no Authorization header", None),
        (
            "Basic scheme",
            Some("Basic dXNlcjpwYXNzd29yZA==".to_owned()),
        ),
        (
            "Basic scheme carrying the token",
            Some(format!("Basic {}", user.token)),
        ),
        ("the token without a scheme", Some(user.token.clone())),
        ("empty bearer token", Some("Bearer ".to_owned())),
        ("garbage token", Some("Bearer not-a-token".to_owned())),
        ("garbage with dots", Some("Bearer aaa.bbb.ccc".to_owned())),
        (
            "token with an appended character",
            Some(format!("Bearer {}x", user.token)),
        ),
    ];
    for (case, authorization) in cases {
        let response = get_with_authorization(&app, "/api/auth/me", authorization.as_deref()).await;
        expect_unauthorized(response, case).await;
    }
}

// ---------------------------------------------------------------- token tampering

#[tokio::test]
async fn a_token_signed_by_the_test_with_the_service_secret_is_accepted() {
    // The control for the tampering tests below: the tokens they forge differ only in the tampered part.
    let app = spawn_app().await;
    let user = app.signed_up_user().await;
    let token = sign(&fresh_claims(user.id), Algorithm::HS256, JWT_SECRET);
    let body = json_body(app.get("/api/auth/me", Some(&token)).await, StatusCode::OK).await;
    assert_eq!(body["id"], user.id.to_string());
}

#[tokio::test]
async fn a_token_with_a_changed_signature_is_401() {
    let app = spawn_app().await;
    let user = app.signed_up_user().await;
    let [header, payload, signature] = parts_of(&user.token);
    let mut chars: Vec<char> = signature.chars().collect();
    chars[0] = if chars[0] == 'A' { 'B' } else { 'A' };
    let flipped: String = chars.into_iter().collect();
    let forged = format!("{header}.{payload}.{flipped}");
    expect_unauthorized(
        app.get("/api/auth/me", Some(&forged)).await,
        "first signature character changed",
    )
    .await;
    let truncated = format!("{header}.{payload}.{}", &signature[..signature.len() - 4]);
    expect_unauthorized(
        app.get("/api/auth/me", Some(&truncated)).await,
        "signature truncated",
    )
    .await;
    let stripped = format!("{header}.{payload}.");
    expect_unauthorized(
        app.get("/api/auth/me", Some(&stripped)).await,
        "signature removed",
    )
    .await;
}

#[tokio::test]
async fn a_token_whose_payload_was_changed_to_another_user_is_401() {
    let app = spawn_app().await;
    let attacker = app.signed_up_user().await;
    let victim = app.signed_up_user().await;
    let mut claims = claims_of(&attacker.token);
    claims.sub = victim.id;
    let genuine_for_victim = sign(&claims, Algorithm::HS256, JWT_SECRET);
    let [header, payload, _] = parts_of(&genuine_for_victim);
    let [_, _, attacker_signature] = parts_of(&attacker.token);
    let forged = format!("{header}.{payload}.{attacker_signature}");
    assert_ne!(
        forged, genuine_for_victim,
        "the forged token keeps the old signature"
    );
    expect_unauthorized(
        app.get("/api/auth/me", Some(&forged)).await,
        "payload re-encoded with another sub",
    )
    .await;
    expect_unauthorized(
        app.get("/api/tasks", Some(&forged)).await,
        "payload re-encoded with another sub, on /api/tasks",
    )
    .await;
}

#[tokio::test]
async fn a_token_signed_with_another_secret_is_401() {
    let app = spawn_app().await;
    let user = app.signed_up_user().await;
    let token = sign(
        &fresh_claims(user.id),
        Algorithm::HS256,
        "another-secret-another-secret-another!",
    );
    expect_unauthorized(
        app.get("/api/auth/me", Some(&token)).await,
        "signed with another secret",
    )
    .await;
}

#[tokio::test]
async fn a_token_with_another_hmac_algorithm_is_401_even_with_the_right_secret() {
    let app = spawn_app().await;
    let user = app.signed_up_user().await;
    for algorithm in [Algorithm::HS384, Algorithm::HS512] {
        let token = sign(&fresh_claims(user.id), algorithm, JWT_SECRET);
        expect_unauthorized(
            app.get("/api/auth/me", Some(&token)).await,
            &format!("{algorithm:?} with the right secret"),
        )
        .await;
    }
}

#[tokio::test]
async fn an_unsigned_alg_none_token_is_401() {
    let app = spawn_app().await;
    let user = app.signed_up_user().await;
    let genuine = sign(&fresh_claims(user.id), Algorithm::HS256, JWT_SECRET);
    let [_, payload, signature] = parts_of(&genuine);
    // {"alg":"none","typ":"JWT"} and {"alg":"none"}, base64url without padding.
    for header in ["eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0", "eyJhbGciOiJub25lIn0"] {
        let unsigned = format!("{header}.{payload}.");
        expect_unauthorized(
            app.get("/api/auth/me", Some(&unsigned)).await,
            &format!("alg none, header {header}"),
        )
        .await;
        let with_signature = format!("{header}.{payload}.{signature}");
        expect_unauthorized(
            app.get("/api/auth/me", Some(&with_signature)).await,
            &format!("alg none with a real signature, header {header}"),
        )
        .await;
    }
}

#[tokio::test]
async fn an_expired_token_is_401() {
    let app = spawn_app().await;
    let user = app.signed_up_user().await;
    let now = Utc::now().timestamp();
    let cases = [
        (
            "expired an hour ago",
            Claims {
                sub: user.id,
                iat: now - 7200,
                exp: now - 3600,
                jti: Uuid::new_v4(),
            },
        ),
        (
            "expired two seconds ago",
            Claims {
                sub: user.id,
                iat: now - 60,
                exp: now - 2,
                jti: Uuid::new_v4(),
            },
        ),
    ];
    for (case, claims) in cases {
        let token = sign(&claims, Algorithm::HS256, JWT_SECRET);
        expect_unauthorized(app.get("/api/auth/me", Some(&token)).await, case).await;
        expect_unauthorized(
            app.get("/api/tasks", Some(&token)).await,
            &format!("{case}, on /api/tasks"),
        )
        .await;
    }
}

#[tokio::test]
async fn a_token_of_a_deleted_account_is_401() {
    let app = spawn_app().await;
    let user = app.signed_up_user().await;
    assert_eq!(
        app.get("/api/auth/me", Some(&user.token)).await.status(),
        StatusCode::OK
    );
    delete_user_row(&app, user.id).await;
    // Checked sessions are cached per process and dropped when the database's notification
    // of the deletion arrives, which takes a moment when the change comes from elsewhere.
    let deadline = Instant::now() + Duration::from_secs(2);
    while app.get("/api/auth/me", Some(&user.token)).await.status() == StatusCode::OK {
        assert!(
            Instant::now() < deadline,
            "the deleted account's token was still accepted after 2 s"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    expect_unauthorized(
        app.get("/api/auth/me", Some(&user.token)).await,
        "account deleted, /me",
    )
    .await;
    expect_unauthorized(
        app.get("/api/tasks", Some(&user.token)).await,
        "account deleted, /api/tasks",
    )
    .await;
}

#[tokio::test]
async fn a_token_for_a_user_id_that_never_existed_is_401() {
    let app = spawn_app().await;
    let token = sign(&fresh_claims(Uuid::new_v4()), Algorithm::HS256, JWT_SECRET);
    expect_unauthorized(
        app.get("/api/auth/me", Some(&token)).await,
        "unknown subject",
    )
    .await;
}

// ---------------------------------------------------------------- logout

#[tokio::test]
async fn after_logout_the_token_is_refused_everywhere() {
    let app = spawn_app().await;
    let user = app.signed_up_user().await;
    assert_eq!(
        app.get("/api/tasks", Some(&user.token)).await.status(),
        StatusCode::OK
    );
    let response = app
        .post("/api/auth/logout", Some(&user.token), &json!({}))
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(
        response.text().await.expect("reading the body").is_empty(),
        "204 has no body"
    );
    expect_unauthorized(
        app.get("/api/auth/me", Some(&user.token)).await,
        "/me after logout",
    )
    .await;
    expect_unauthorized(
        app.get("/api/tasks", Some(&user.token)).await,
        "/api/tasks after logout",
    )
    .await;
    expect_unauthorized(
        app.post("/api/auth/logout", Some(&user.token), &json!({}))
            .await,
        "second logout",
    )
    .await;
}

#[tokio::test]
async fn a_logout_on_one_process_is_refused_by_another_that_had_cached_the_session() {
    let app = spawn_app().await;
    let user = app.signed_up_user().await;
    let claims = claims_of(&user.token);
    let other = Application::build(test_config(app.db.url(), &[]))
        .await
        .expect("building the second process");
    let sessions = other.state().sessions.clone();
    let address = format!("http://127.0.0.1:{}", other.port());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(other.run_until_stopped(async move {
        let _ = stopped.await;
    }));
    let client = http_client();
    // Ready (its start-up migration run has finished, so /api answers) and listening for
    // session changes.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let ready = client
            .get(format!("{address}/readyz"))
            .send()
            .await
            .is_ok_and(|response| response.status() == StatusCode::OK);
        if ready && sessions.is_live() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the second process never became ready with its session listener connected"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let me = || {
        client
            .get(format!("{address}/api/auth/me"))
            .bearer_auth(&user.token)
            .send()
    };
    assert_eq!(me().await.expect("calling /me").status(), StatusCode::OK);
    assert!(
        sessions.get(claims.jti, claims.sub).is_some(),
        "the second process cached the session"
    );

    let response = app
        .post("/api/auth/logout", Some(&user.token), &json!({}))
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let deadline = Instant::now() + Duration::from_secs(1);
    loop {
        let status = me().await.expect("calling /me").status();
        if status == StatusCode::UNAUTHORIZED {
            break;
        }
        assert_eq!(status, StatusCode::OK);
        assert!(
            Instant::now() < deadline,
            "the other process still accepted the token 1 s after the logout"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(sessions.get(claims.jti, claims.sub).is_none());
    let _ = stop.send(());
    let _ = server.await;
}

#[tokio::test]
async fn logout_ends_only_its_own_session() {
    let app = spawn_app().await;
    let first: TestUser = app.signed_up_user().await;
    let second = json_body(app.login(&first.email, PASSWORD).await, StatusCode::OK).await;
    let second_token = second["access_token"].as_str().expect("token").to_owned();
    let response = app
        .post("/api/auth/logout", Some(&first.token), &json!({}))
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    expect_unauthorized(
        app.get("/api/auth/me", Some(&first.token)).await,
        "the signed-out session",
    )
    .await;
    let me = json_body(
        app.get("/api/auth/me", Some(&second_token)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(me["id"], first.id.to_string());
    assert_eq!(
        app.get("/api/tasks", Some(&second_token)).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn logout_records_the_token_id_as_revoked() {
    let app = spawn_app().await;
    let user = app.signed_up_user().await;
    let jti = claims_of(&user.token).jti;
    assert_eq!(
        app.post("/api/auth/logout", Some(&user.token), &json!({}))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    let mut conn = app.db.connection().await;
    let revoked: Vec<Uuid> = taskflow_backend::db::schema::revoked_tokens::table
        .select(taskflow_backend::db::schema::revoked_tokens::jti)
        .load(&mut conn)
        .await
        .expect("reading revoked tokens");
    assert_eq!(revoked, [jti]);
}

#[tokio::test]
async fn logout_without_a_valid_token_is_401() {
    let app = spawn_app().await;
    expect_unauthorized(
        app.post("/api/auth/logout", None, &json!({})).await,
        "no token",
    )
    .await;
    expect_unauthorized(
        app.post("/api/auth/logout", Some("garbage"), &json!({}))
            .await,
        "garbage token",
    )
    .await;
}

// ---------------------------------------------------------------- rate limits

#[tokio::test]
async fn the_fourth_login_attempt_for_one_email_within_a_minute_is_429_in_any_letter_case() {
    let app = spawn_app_with(&[("AUTH_RATE_LIMIT_PER_ACCOUNT", "3")]).await;
    for email in [
        "target@example.com",
        "TARGET@example.com",
        "Target@Example.com",
    ] {
        assert_error(
            app.login(email, "guess one two").await,
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
        )
        .await;
    }
    for email in [
        "target@example.com",
        "TARGET@EXAMPLE.COM",
        " target@example.com ",
    ] {
        expect_rate_limited(
            app.login(email, "guess one two").await,
            &format!("attempt with {email:?}"),
        )
        .await;
    }
    assert_error(
        app.login("other@example.com", "guess one two").await,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    )
    .await;
}

#[tokio::test]
async fn a_rate_limited_account_is_refused_even_with_the_right_password_while_others_sign_in() {
    let app = spawn_app_with(&[("AUTH_RATE_LIMIT_PER_ACCOUNT", "3")]).await;
    // Registering spends one attempt of the account's budget, each login another.
    assert_eq!(
        app.register("Ann", "ann@example.com", PASSWORD)
            .await
            .status(),
        StatusCode::CREATED
    );
    assert_eq!(
        app.register("Bob", "bob@example.com", PASSWORD)
            .await
            .status(),
        StatusCode::CREATED
    );
    for attempt in 2..=3 {
        assert_eq!(
            app.login("ann@example.com", PASSWORD).await.status(),
            StatusCode::OK,
            "attempt {attempt}"
        );
    }
    expect_rate_limited(
        app.login("ann@example.com", PASSWORD).await,
        "fourth attempt with the right password",
    )
    .await;
    expect_rate_limited(
        app.register("Ann", "ANN@example.com", PASSWORD).await,
        "registering the same address",
    )
    .await;
    let bob = json_body(app.login("bob@example.com", PASSWORD).await, StatusCode::OK).await;
    assert_eq!(
        bob["user"]["email"], "bob@example.com",
        "another email is unaffected"
    );
}

#[tokio::test]
async fn the_fourth_attempt_from_one_address_across_emails_is_429() {
    let app = spawn_app_with(&[("AUTH_RATE_LIMIT_PER_IP", "3")]).await;
    assert_eq!(
        app.register("Ann", "a@example.com", PASSWORD)
            .await
            .status(),
        StatusCode::CREATED
    );
    assert_eq!(
        app.register("Bob", "b@example.com", PASSWORD)
            .await
            .status(),
        StatusCode::CREATED
    );
    assert_eq!(
        app.login("a@example.com", PASSWORD).await.status(),
        StatusCode::OK
    );
    expect_rate_limited(
        app.login("b@example.com", PASSWORD).await,
        "fourth attempt: a login",
    )
    .await;
    expect_rate_limited(
        app.register("Cy", "c@example.com", PASSWORD).await,
        "fifth attempt: a registration",
    )
    .await;
    let mut conn = app.db.connection().await;
    let count: i64 = users::table
        .count()
        .get_result(&mut conn)
        .await
        .expect("counting users");
    assert_eq!(count, 2, "the refused registration created no account");
}

#[tokio::test]
async fn invalid_input_is_rejected_before_spending_an_attempt() {
    let app = spawn_app_with(&[("AUTH_RATE_LIMIT_PER_IP", "2")]).await;
    for round in 0..5 {
        let response = app.register("", "not-an-email", "short").await;
        expect_field_errors(
            response,
            &["name", "email", "password"],
            &format!("invalid registration {round}"),
        )
        .await;
    }
    assert_eq!(
        app.register("Ann", "a@example.com", PASSWORD)
            .await
            .status(),
        StatusCode::CREATED
    );
    assert_eq!(
        app.login("a@example.com", PASSWORD).await.status(),
        StatusCode::OK
    );
    expect_rate_limited(
        app.login("a@example.com", PASSWORD).await,
        "third counted attempt",
    )
    .await;
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_address_has_its_own_budget() {
    let app = spawn_app_with(&[
        ("AUTH_RATE_LIMIT_PER_IP", "2"),
        ("TRUST_FORWARDED_FOR", "true"),
    ])
    .await;
    for attempt in 0..2 {
        let response = login_forwarded_for(
            &app,
            Some("203.0.113.1"),
            &format!("one-{attempt}@example.com"),
        )
        .await;
        assert_error(response, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    }
    let response = login_forwarded_for(&app, Some("203.0.113.1"), "one-2@example.com").await;
    expect_rate_limited(response, "third attempt from 203.0.113.1").await;
    let response = login_forwarded_for(&app, Some("203.0.113.2"), "two@example.com").await;
    assert_error(response, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    let response = login_forwarded_for(&app, None, "direct@example.com").await;
    assert_error(response, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
}

#[tokio::test]
async fn behind_a_trusted_proxy_only_the_last_forwarded_address_counts() {
    let app = spawn_app_with(&[
        ("AUTH_RATE_LIMIT_PER_IP", "2"),
        ("TRUST_FORWARDED_FOR", "true"),
    ])
    .await;
    // A client can prepend anything; the proxy appends the real address last.
    for (attempt, spoofed) in ["198.51.100.1", "198.51.100.2"].into_iter().enumerate() {
        let header = format!("{spoofed}, 203.0.113.9");
        let response =
            login_forwarded_for(&app, Some(&header), &format!("x-{attempt}@example.com")).await;
        assert_error(response, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    }
    let response =
        login_forwarded_for(&app, Some("198.51.100.3, 203.0.113.9"), "x-2@example.com").await;
    expect_rate_limited(
        response,
        "third attempt from 203.0.113.9 with another spoofed first entry",
    )
    .await;
}

#[tokio::test]
async fn behind_a_trusted_proxy_an_unparsable_last_entry_does_not_let_the_client_pick_its_address()
{
    let app = spawn_app_with(&[
        ("AUTH_RATE_LIMIT_PER_IP", "2"),
        ("TRUST_FORWARDED_FOR", "true"),
    ])
    .await;
    // Every attempt names a new address first, but the last entry is no address: all of
    // them count against the connection's own address.
    for attempt in 0..2 {
        let header = format!("198.51.100.{attempt}, unknown");
        let response =
            login_forwarded_for(&app, Some(&header), &format!("u-{attempt}@example.com")).await;
        assert_error(response, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    }
    let response =
        login_forwarded_for(&app, Some("198.51.100.2, unknown"), "u-2@example.com").await;
    expect_rate_limited(response, "third attempt with a spoofed first entry").await;
}

#[tokio::test]
async fn without_a_trusted_proxy_the_forwarded_for_header_is_ignored() {
    let app = spawn_app_with(&[("AUTH_RATE_LIMIT_PER_IP", "2")]).await;
    for (attempt, forwarded) in ["203.0.113.1", "203.0.113.2"].into_iter().enumerate() {
        let response =
            login_forwarded_for(&app, Some(forwarded), &format!("n-{attempt}@example.com")).await;
        assert_error(response, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    }
    let response = login_forwarded_for(&app, Some("203.0.113.3"), "n-2@example.com").await;
    expect_rate_limited(
        response,
        "third attempt from 127.0.0.1 claiming 203.0.113.3",
    )
    .await;
}

// ---------------------------------------------------------------- load and secrets

#[tokio::test]
async fn sixty_four_simultaneous_logins_of_one_user_all_succeed() {
    // The logins queue for the few hashing permits instead of failing or exhausting memory.
    let app = spawn_app().await;
    let user = app.signed_up_user().await;
    let mut logins = tokio::task::JoinSet::new();
    for _ in 0..64 {
        let request = app
            .client
            .post(app.url("/api/auth/login"))
            .json(&json!({ "email": user.email, "password": PASSWORD }));
        logins.spawn(async move {
            let response = request.send().await.expect("sending the login");
            let status = response.status();
            (status, response.text().await.expect("reading the body"))
        });
    }
    let mut tokens = BTreeSet::new();
    while let Some(joined) = logins.join_next().await {
        let (status, text) = joined.expect("login task");
        assert_eq!(status, StatusCode::OK, "every login succeeds; body: {text}");
        let body: Value = serde_json::from_str(&text).expect("JSON body");
        tokens.insert(body["access_token"].as_str().expect("token").to_owned());
    }
    assert_eq!(tokens.len(), 64, "64 distinct sessions");
}

#[tokio::test]
async fn responses_never_contain_the_password_or_its_hash() {
    let app = spawn_app().await;
    let responses = [
        (
            "register",
            app.register("Ann", "ann@example.com", PASSWORD).await,
        ),
        ("login", app.login("ann@example.com", PASSWORD).await),
        (
            "wrong password",
            app.login("ann@example.com", "wrong horse battery").await,
        ),
        (
            "duplicate",
            app.register("Ann", "ann@example.com", PASSWORD).await,
        ),
        (
            "short password",
            app.register("Ann", "ann2@example.com", "secret7").await,
        ),
    ];
    let mut token = None;
    for (case, response) in responses {
        let text = response.text().await.expect("reading the body");
        assert!(
            !text.contains(PASSWORD),
            "{case}: the password leaked: {text}"
        );
        assert!(
            !text.contains("secret7"),
            "{case}: the rejected password was echoed: {text}"
        );
        assert!(
            !text.contains("wrong horse battery"),
            "{case}: the wrong password was echoed: {text}"
        );
        assert!(
            !text.contains("$argon2"),
            "{case}: a password hash leaked: {text}"
        );
        assert!(
            !text.to_lowercase().contains("password_hash"),
            "{case}: a hash field leaked: {text}"
        );
        if case == "login" {
            let body: Value = serde_json::from_str(&text).expect("JSON body");
            token = body["access_token"].as_str().map(str::to_owned);
        }
    }
    let me = app
        .get("/api/auth/me", token.as_deref())
        .await
        .text()
        .await
        .expect("reading the body");
    assert!(
        !me.contains("$argon2") && !me.contains(PASSWORD),
        "me leaked a secret: {me}"
    );
}

#[tokio::test]
async fn passwords_are_stored_as_argon2id_with_owasp_parameters() {
    let app = spawn_app().await;
    assert_eq!(
        app.register("Ann", "ann@example.com", PASSWORD)
            .await
            .status(),
        StatusCode::CREATED
    );
    assert_eq!(
        app.register("Bob", "bob@example.com", PASSWORD)
            .await
            .status(),
        StatusCode::CREATED
    );
    let ann = stored_password_hash(&app, "ann@example.com").await;
    let bob = stored_password_hash(&app, "bob@example.com").await;
    for hash in [&ann, &bob] {
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "stored hash: {hash}"
        );
        assert!(!hash.contains(PASSWORD), "the hash contains the password");
    }
    assert_ne!(ann, bob, "each hash has its own salt");
}
