//! Protection against cross-site form posts, in one middleware so that no handler can forget
//! it: every POST must come from our own pages (`Sec-Fetch-Site`/`Origin`) and repeat the
//! anti-forgery token of the `taskflow_csrf` cookie in its `csrf` field.

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use http::{HeaderMap, Method, header};
use subtle::ConstantTimeEq as _;

use crate::error::PageError;
use crate::state::AppState;

/// Largest form body read by the check (forms are small).
const MAX_FORM_BYTES: usize = 64 * 1024;

/// The anti-forgery token of this browser, for the forms of the page being rendered.
#[derive(Debug, Clone)]
pub struct CsrfToken(pub String);

fn new_token() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

fn token_cookie(token: String, secure: bool) -> Cookie<'static> {
    Cookie::build((crate::session::CSRF_COOKIE, token))
        .path("/")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Strict)
        .build()
}

/// A new anti-forgery token cookie, given out when the user signs in so that a token seen
/// before sign-in cannot be used afterwards.
pub fn fresh_cookie(secure: bool) -> Cookie<'static> {
    token_cookie(new_token(), secure)
}

/// True when the browser says the request comes from our own pages.
fn same_origin(headers: &HeaderMap, public_origin: &str) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return matches!(site, "same-origin" | "none");
    }
    match headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        Some(origin) => origin == public_origin,
        // Neither header: not a browser cross-site request; the token still has to match.
        None => true,
    }
}

/// The `csrf` field of a URL-encoded form.
fn form_token(body: &[u8]) -> Option<String> {
    url_pairs(body)
        .find(|(key, _)| key == "csrf")
        .map(|(_, value)| value)
}

fn url_pairs(body: &[u8]) -> impl Iterator<Item = (String, String)> + '_ {
    body.split(|b| *b == b'&').filter_map(|pair| {
        let pair = std::str::from_utf8(pair).ok()?;
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let decode = |s: &str| {
            urlencoding::decode(&s.replace('+', " "))
                .ok()
                .map(|s| s.into_owned())
        };
        Some((decode(key)?, decode(value)?))
    })
}

/// Middleware: gives every browser an anti-forgery token and checks it on every POST.
pub async fn protect(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let jar = CookieJar::from_headers(request.headers());
    let existing = jar
        .get(crate::session::CSRF_COOKIE)
        .map(|c| c.value().to_owned())
        .filter(|t| t.len() == 64);
    let token = existing.clone().unwrap_or_else(new_token);

    let (parts, body) = request.into_parts();
    let request = if parts.method == Method::POST {
        if !same_origin(&parts.headers, &state.config.public_origin) {
            tracing::warn!("cross-site form post refused");
            return PageError::Forbidden.into_response();
        }
        let bytes: Bytes = match axum::body::to_bytes(body, MAX_FORM_BYTES).await {
            Ok(bytes) => bytes,
            Err(_) => return PageError::PayloadTooLarge.into_response(),
        };
        let sent = form_token(&bytes).unwrap_or_default();
        let valid = existing
            .as_ref()
            .is_some_and(|cookie| bool::from(cookie.as_bytes().ct_eq(sent.as_bytes())));
        if !valid {
            tracing::warn!("form post without a valid anti-forgery token refused");
            return PageError::Forbidden.into_response();
        }
        Request::from_parts(parts, Body::from(bytes))
    } else {
        Request::from_parts(parts, body)
    };

    let mut request = request;
    request.extensions_mut().insert(CsrfToken(token.clone()));
    let response = next.run(request).await;
    if existing.is_some() {
        return response;
    }
    let cookie = token_cookie(token, state.cookies.secure);
    (CookieJar::new().add(cookie), response).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().unwrap());
        }
        map
    }

    #[test]
    fn fetch_metadata_decides_when_present() {
        let origin = "https://t.example";
        assert!(same_origin(
            &headers(&[("sec-fetch-site", "same-origin")]),
            origin
        ));
        assert!(!same_origin(
            &headers(&[("sec-fetch-site", "cross-site")]),
            origin
        ));
        assert!(!same_origin(
            &headers(&[("sec-fetch-site", "same-site")]),
            origin
        ));
        assert!(!same_origin(
            &headers(&[
                ("sec-fetch-site", "cross-site"),
                ("origin", "https://t.example")
            ]),
            origin
        ));
    }

    #[test]
    fn the_origin_header_must_match_the_public_origin() {
        let origin = "https://t.example";
        assert!(same_origin(
            &headers(&[("origin", "https://t.example")]),
            origin
        ));
        assert!(!same_origin(
            &headers(&[("origin", "https://evil.example")]),
            origin
        ));
        assert!(!same_origin(&headers(&[("origin", "null")]), origin));
        assert!(same_origin(&headers(&[]), origin));
    }

    #[test]
    fn the_token_is_read_from_url_encoded_forms() {
        assert_eq!(
            form_token(b"title=a+b&csrf=abc%3D"),
            Some("abc=".to_owned())
        );
        assert_eq!(form_token(b"title=x"), None);
        assert_eq!(new_token().len(), 64);
    }
}
