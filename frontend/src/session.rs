//! Cookies: the session (the backend token, `HttpOnly`), the signed-in user's name, the
//! anti-forgery token and one-shot flash messages.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRef, FromRequestParts};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use chrono::{DateTime, Utc};
use http::request::Parts;

use crate::backend::Caller;
use crate::state::CookieSettings;

/// Holds the backend token.
pub const SESSION_COOKIE: &str = "taskflow_session";
/// Holds the signed-in user's display name (for the header; not a credential).
pub const USER_COOKIE: &str = "taskflow_user";
/// Holds the anti-forgery token that every form repeats.
pub const CSRF_COOKIE: &str = "taskflow_csrf";
/// Holds a message for the next page.
pub const FLASH_COOKIE: &str = "taskflow_flash";

fn base_cookie(settings: &CookieSettings, name: &'static str, value: String) -> Cookie<'static> {
    Cookie::build((name, value))
        .path("/")
        .http_only(true)
        .secure(settings.secure)
        .same_site(SameSite::Lax)
        .build()
}

/// Adds the session cookies after a login; they expire with the token.
pub fn start_session(
    jar: CookieJar,
    settings: &CookieSettings,
    token: String,
    name: &str,
    expires_at: DateTime<Utc>,
) -> CookieJar {
    let max_age = (expires_at - Utc::now()).num_seconds().max(0);
    let max_age = cookie::time::Duration::seconds(max_age);
    let mut session = base_cookie(settings, SESSION_COOKIE, token);
    session.set_max_age(max_age);
    let mut user = base_cookie(
        settings,
        USER_COOKIE,
        urlencoding::encode(name).into_owned(),
    );
    user.set_max_age(max_age);
    jar.add(session).add(user)
}

/// A cookie that makes the browser delete cookie `name` (empty, `Max-Age=0`, on `Path=/`).
fn removal(name: &'static str) -> Cookie<'static> {
    let mut cookie = Cookie::build((name, "")).path("/").build();
    cookie.make_removal();
    cookie
}

/// Removes the session cookies. The removals are always sent, also when `jar` is not the
/// request's jar (a jar only sends removals for cookies it was built with).
pub fn end_session(jar: CookieJar) -> CookieJar {
    jar.add(removal(SESSION_COOKIE)).add(removal(USER_COOKIE))
}

/// Kind of a flash message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlashKind {
    /// Something worked.
    Success,
    /// Something needs attention.
    Error,
}

/// A message shown once, on the next page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flash {
    /// Success or error.
    pub kind: FlashKind,
    /// The text (escaped when rendered).
    pub message: String,
}

impl Flash {
    /// A success message.
    pub fn success(message: impl Into<String>) -> Self {
        Self {
            kind: FlashKind::Success,
            message: message.into(),
        }
    }

    /// An error message.
    pub fn error(message: impl Into<String>) -> Self {
        Self {
            kind: FlashKind::Error,
            message: message.into(),
        }
    }

    /// True for error messages (for the template).
    pub fn is_error(&self) -> bool {
        self.kind == FlashKind::Error
    }
}

/// Stores a flash message for the next page.
pub fn set_flash(jar: CookieJar, settings: &CookieSettings, flash: &Flash) -> CookieJar {
    let kind = match flash.kind {
        FlashKind::Success => "s",
        FlashKind::Error => "e",
    };
    let mut cookie = base_cookie(
        settings,
        FLASH_COOKIE,
        format!("{kind}{}", urlencoding::encode(&flash.message)),
    );
    cookie.set_max_age(cookie::time::Duration::seconds(120));
    jar.add(cookie)
}

/// Takes the pending flash message, if any, and removes it from the jar.
pub fn take_flash(jar: CookieJar) -> (CookieJar, Option<Flash>) {
    let Some(value) = jar
        .get(FLASH_COOKIE)
        .map(|cookie| cookie.value().to_owned())
    else {
        return (jar, None);
    };
    let jar = jar.remove(Cookie::build(FLASH_COOKIE).path("/"));
    let (kind, text) = value.split_at(value.len().min(1));
    let kind = if kind == "e" {
        FlashKind::Error
    } else {
        FlashKind::Success
    };
    let message = urlencoding::decode(text)
        .map(|text| text.into_owned())
        .unwrap_or_default();
    let flash = (!message.is_empty()).then_some(Flash { kind, message });
    (jar, flash)
}

/// A local path that is safe to redirect to: it starts with one `/` and stays on this site.
pub fn safe_next(next: &str) -> Option<&str> {
    let next = next.trim();
    let safe = next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains(['\\', '\r', '\n'])
        && !next.starts_with("/\t");
    safe.then_some(next)
}

/// The signed-in user of a page. Pages that need one redirect to the login page otherwise.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    /// The backend token.
    pub token: String,
    /// Display name.
    pub name: String,
}

/// Rejection of [`CurrentUser`]: go to the login page and come back afterwards.
#[derive(Debug)]
pub struct LoginRequired {
    next: String,
}

impl LoginRequired {
    /// A redirect to the login page that returns to `next`.
    pub fn to(next: &str) -> Self {
        Self {
            next: next.to_owned(),
        }
    }
}

impl IntoResponse for LoginRequired {
    fn into_response(self) -> Response {
        Redirect::to(&login_url(&self.next)).into_response()
    }
}

/// `/login?next=…` for a local path.
pub fn login_url(next: &str) -> String {
    match safe_next(next) {
        Some(next) if next != "/" => format!("/login?next={}", urlencoding::encode(next)),
        _ => "/login".to_owned(),
    }
}

impl<S: Send + Sync> FromRequestParts<S> for CurrentUser {
    type Rejection = LoginRequired;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let jar = CookieJar::from_headers(&parts.headers);
        let next = parts
            .uri
            .path_and_query()
            .map_or("/tasks", |pq| pq.as_str());
        let next = if parts.method == http::Method::GET {
            next
        } else {
            "/tasks"
        };
        let token = jar
            .get(SESSION_COOKIE)
            .map(|c| c.value().to_owned())
            .filter(|t| !t.is_empty());
        let Some(token) = token else {
            return Err(LoginRequired::to(next));
        };
        let name = jar
            .get(USER_COOKIE)
            .and_then(|c| {
                urlencoding::decode(c.value())
                    .ok()
                    .map(|name| name.into_owned())
            })
            .unwrap_or_default();
        Ok(Self { token, name })
    }
}

/// The request's id and client address, for backend calls.
#[derive(Debug, Clone)]
pub struct RequestInfo {
    /// The `x-request-id` of this request.
    pub request_id: Option<String>,
    /// The browser's address.
    pub client_ip: Option<IpAddr>,
}

impl RequestInfo {
    /// A caller without a token.
    pub fn anonymous(&self) -> Caller {
        Caller {
            token: None,
            request_id: self.request_id.clone(),
            client_ip: self.client_ip,
        }
    }

    /// A caller acting for `user`.
    pub fn as_user(&self, user: &CurrentUser) -> Caller {
        Caller {
            token: Some(user.token.clone()),
            request_id: self.request_id.clone(),
            client_ip: self.client_ip,
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for RequestInfo {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self {
            request_id: parts
                .headers
                .get(taskflow_common::server::REQUEST_ID)
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned),
            client_ip: parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(addr)| addr.ip()),
        })
    }
}

/// Cookie settings taken from the state.
impl<S> FromRequestParts<S> for CookieSettings
where
    S: Send + Sync,
    CookieSettings: FromRef<S>,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(_parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self::from_ref(state))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_accepted_as_next() {
        for good in ["/tasks", "/tasks?status=pending", "/"] {
            assert_eq!(safe_next(good), Some(good), "{good}");
        }
        for bad in [
            "//evil.example",
            "https://evil.example",
            "evil",
            "/\\evil.example",
            "",
            "/x\r\nSet-Cookie: a=b",
        ] {
            assert_eq!(safe_next(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn the_login_url_carries_the_next_path_encoded() {
        assert_eq!(
            login_url("/tasks?page=2"),
            "/login?next=%2Ftasks%3Fpage%3D2"
        );
        assert_eq!(login_url("//evil.example"), "/login");
        assert_eq!(login_url("/"), "/login");
    }

    #[test]
    fn flash_messages_survive_the_round_trip_once() {
        let settings = CookieSettings { secure: false };
        let jar = set_flash(
            CookieJar::new(),
            &settings,
            &Flash::error("Bad <thing>; 100% sure"),
        );
        let value = jar.get(FLASH_COOKIE).unwrap().value().to_owned();
        let incoming = CookieJar::new().add(Cookie::new(FLASH_COOKIE, value));
        let (_, flash) = take_flash(incoming);
        assert_eq!(flash, Some(Flash::error("Bad <thing>; 100% sure")));
        assert_eq!(take_flash(CookieJar::new()).1, None);
    }

    #[test]
    fn ending_a_session_removes_both_cookies_even_from_an_empty_jar() {
        for jar in [
            CookieJar::new(),
            CookieJar::new().add(Cookie::new(SESSION_COOKIE, "tok")),
        ] {
            let jar = end_session(jar);
            for name in [SESSION_COOKIE, USER_COOKIE] {
                let cookie = jar.get(name).expect("a removal cookie");
                assert_eq!(cookie.value(), "", "{name}");
                assert_eq!(
                    cookie.max_age(),
                    Some(cookie::time::Duration::ZERO),
                    "{name}"
                );
                assert_eq!(cookie.path(), Some("/"), "{name}");
            }
        }
    }

    #[test]
    fn session_cookies_are_http_only_lax_and_secure_when_configured() {
        let jar = start_session(
            CookieJar::new(),
            &CookieSettings { secure: true },
            "tok".to_owned(),
            "Ann",
            Utc::now() + chrono::Duration::hours(1),
        );
        let cookie = jar.get(SESSION_COOKIE).unwrap();
        assert_eq!(cookie.http_only(), Some(true));
        assert_eq!(cookie.secure(), Some(true));
        assert_eq!(cookie.same_site(), Some(SameSite::Lax));
        assert_eq!(cookie.path(), Some("/"));
        let max_age = cookie.max_age().unwrap().whole_seconds();
        assert!((3590..=3600).contains(&max_age), "{max_age}");
    }
}
