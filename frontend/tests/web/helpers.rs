//! Test harness: a wiremock server plays the backend, the real web app runs on a random
//! loopback port, and a small hand-made browser (a cookie jar over `reqwest`, redirects not
//! followed) drives it.
//!
//! `PUBLIC_ORIGIN` is the fixed `http://frontend.test`; form posts send
//! `Sec-Fetch-Site: same-origin` like a browser on that origin would.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{NaiveDate, Utc};
use cookie::Cookie;
use reqwest::header::{HeaderMap, SET_COOKIE};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{Value, json};
use taskflow_frontend::config::Config;
use taskflow_frontend::startup::Application;
use tokio::sync::oneshot;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The origin the app believes it is served from.
pub(crate) const PUBLIC_ORIGIN: &str = "http://frontend.test";
/// The backend token of the signed-in test user.
pub(crate) const TOKEN: &str = "backend-token-0123456789";
/// The signed-in test user's name.
pub(crate) const USER_NAME: &str = "Ann Lee";
/// Name of the session cookie.
pub(crate) const SESSION_COOKIE: &str = "taskflow_session";
/// Name of the cookie with the user's name.
pub(crate) const USER_COOKIE: &str = "taskflow_user";
/// Name of the anti-forgery cookie.
pub(crate) const CSRF_COOKIE: &str = "taskflow_csrf";
/// Name of the flash-message cookie.
pub(crate) const FLASH_COOKIE: &str = "taskflow_flash";

/// How to configure the app under test.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    cookie_secure: bool,
    backend_timeout_ms: u64,
    request_timeout_seconds: u64,
    closed_backend: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            cookie_secure: false,
            backend_timeout_ms: 5_000,
            request_timeout_seconds: 20,
            closed_backend: false,
        }
    }
}

impl Settings {
    /// Marks cookies `Secure` (`COOKIE_SECURE=true`).
    pub(crate) fn secure_cookies(mut self) -> Self {
        self.cookie_secure = true;
        self
    }

    /// Sets `BACKEND_TIMEOUT_MS`.
    pub(crate) fn backend_timeout_ms(mut self, millis: u64) -> Self {
        self.backend_timeout_ms = millis;
        self
    }

    /// Sets `REQUEST_TIMEOUT_SECONDS`.
    pub(crate) fn request_timeout_seconds(mut self, seconds: u64) -> Self {
        self.request_timeout_seconds = seconds;
        self
    }

    /// Points `BACKEND_URL` at a loopback port nobody listens on.
    pub(crate) fn closed_backend(mut self) -> Self {
        self.closed_backend = true;
        self
    }

    /// Starts the fake backend and the app.
    pub(crate) async fn spawn(self) -> TestApp {
        let backend = MockServer::start().await;
        let backend_url = if self.closed_backend {
            format!("http://127.0.0.1:{}", closed_port())
        } else {
            backend.uri()
        };
        let vars = [
            ("BACKEND_URL", backend_url.clone()),
            ("PUBLIC_ORIGIN", PUBLIC_ORIGIN.to_owned()),
            ("COOKIE_SECURE", self.cookie_secure.to_string()),
            ("BACKEND_TIMEOUT_MS", self.backend_timeout_ms.to_string()),
            ("BACKEND_CONNECT_TIMEOUT_MS", "1000".to_owned()),
            (
                "REQUEST_TIMEOUT_SECONDS",
                self.request_timeout_seconds.to_string(),
            ),
            ("SHUTDOWN_GRACE_SECONDS", "1".to_owned()),
        ];
        let mut config =
            Config::from_vars(vars.into_iter().map(|(key, value)| (key.to_owned(), value)))
                .expect("test configuration is valid");
        config.http_host = "127.0.0.1".into();
        config.http_port = 0;
        let app = Application::build(config).await.expect("building the app");
        let port = app.port();
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(app.run_until_stopped(async move {
            let _ = stopped.await;
        }));
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(Duration::from_secs(15))
            .build()
            .expect("building the test client");
        TestApp {
            address: format!("http://127.0.0.1:{port}"),
            backend,
            backend_url,
            http,
            jar: Mutex::new(BTreeMap::new()),
            stop: Some(stop),
        }
    }
}

/// A loopback port that was free a moment ago and has no listener now.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binding a probe port");
    listener.local_addr().expect("probe address").port()
}

/// The running app, its fake backend and the test browser's cookies.
#[derive(Debug)]
pub(crate) struct TestApp {
    /// `http://127.0.0.1:<port>` of the app.
    pub(crate) address: String,
    /// The fake backend.
    pub(crate) backend: MockServer,
    /// The `BACKEND_URL` the app was given.
    pub(crate) backend_url: String,
    http: reqwest::Client,
    jar: Mutex<BTreeMap<String, String>>,
    stop: Option<oneshot::Sender<()>>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// An answer of the app, read completely.
#[derive(Debug)]
pub(crate) struct Page {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: String,
}

impl TestApp {
    /// The app with default settings.
    pub(crate) async fn spawn() -> Self {
        Settings::default().spawn().await
    }

    /// Puts a session into the jar, as a successful sign-in would have.
    pub(crate) fn sign_in(&self) {
        self.set_cookie(SESSION_COOKIE, TOKEN);
        self.set_cookie(USER_COOKIE, &urlencoding::encode(USER_NAME));
    }

    /// Puts a cookie into the jar.
    pub(crate) fn set_cookie(&self, name: &str, value: &str) {
        self.jar
            .lock()
            .expect("cookie jar")
            .insert(name.to_owned(), value.to_owned());
    }

    /// The value of a cookie in the jar.
    pub(crate) fn cookie(&self, name: &str) -> Option<String> {
        self.jar.lock().expect("cookie jar").get(name).cloned()
    }

    /// A request to the app carrying the jar's cookies.
    pub(crate) fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let cookies: Vec<String> = self
            .jar
            .lock()
            .expect("cookie jar")
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect();
        let request = self.http.request(method, format!("{}{path}", self.address));
        if cookies.is_empty() {
            request
        } else {
            request.header("cookie", cookies.join("; "))
        }
    }

    /// A request to the app without the jar's cookies.
    pub(crate) fn bare_request(&self, method: Method, path: &str) -> RequestBuilder {
        self.http.request(method, format!("{}{path}", self.address))
    }

    /// Sends `request`, stores the cookies it sets and reads the whole answer.
    pub(crate) async fn send(&self, request: RequestBuilder) -> Page {
        let response = request.send().await.expect("the app answers");
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.text().await.expect("reading the body");
        let page = Page {
            status,
            headers,
            body,
        };
        let mut jar = self.jar.lock().expect("cookie jar");
        for cookie in page.set_cookies() {
            let expired = cookie.max_age().is_some_and(|age| age.is_zero());
            if expired || cookie.value().is_empty() {
                jar.remove(cookie.name());
            } else {
                jar.insert(cookie.name().to_owned(), cookie.value().to_owned());
            }
        }
        page
    }

    /// `GET path`.
    pub(crate) async fn get(&self, path: &str) -> Page {
        self.send(self.request(Method::GET, path)).await
    }

    /// This browser's anti-forgery token: from the jar, or from the hidden field of a fresh
    /// sign-in page (checked to equal the cookie).
    pub(crate) async fn csrf(&self) -> String {
        if let Some(token) = self.cookie(CSRF_COOKIE) {
            return token;
        }
        let page = self.get("/login").await;
        assert_eq!(page.status, StatusCode::OK, "GET /login: {}", page.body);
        let field = page
            .hidden_field("csrf")
            .expect("the sign-in form has a csrf field");
        let cookie = self
            .cookie(CSRF_COOKIE)
            .expect("the first page sets the csrf cookie");
        assert_eq!(field, cookie, "the form repeats the cookie's token");
        cookie
    }

    /// A same-origin form POST of `fields` plus this browser's `csrf`.
    pub(crate) fn form_request(
        &self,
        path: &str,
        csrf: &str,
        fields: &[(&str, &str)],
    ) -> RequestBuilder {
        let mut all = vec![("csrf", csrf)];
        all.extend_from_slice(fields);
        self.request(Method::POST, path)
            .header("sec-fetch-site", "same-origin")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form_body(&all))
    }

    /// Submits a form the way a browser on our own page does.
    pub(crate) async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let csrf = self.csrf().await;
        self.send(self.form_request(path, &csrf, fields)).await
    }

    /// Submits a form the way our script does (asking for a fragment).
    pub(crate) async fn post_fragment(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let csrf = self.csrf().await;
        self.send(
            self.form_request(path, &csrf, fields)
                .header("x-requested-with", "taskflow"),
        )
        .await
    }

    /// Answers `GET /api/tasks` (any query) and `GET /api/tasks/stats` for the test token.
    pub(crate) async fn mount_task_list(&self, page: Value, stats: Value) {
        Mock::given(method("GET"))
            .and(path("/api/tasks"))
            .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
            .respond_with(ResponseTemplate::new(200).set_body_json(page))
            .mount(&self.backend)
            .await;
        self.mount_stats(stats).await;
    }

    /// Answers `GET /api/tasks/stats` for the test token.
    pub(crate) async fn mount_stats(&self, stats: Value) {
        Mock::given(method("GET"))
            .and(path("/api/tasks/stats"))
            .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
            .respond_with(ResponseTemplate::new(200).set_body_json(stats))
            .mount(&self.backend)
            .await;
    }

    /// Every request the fake backend received, in order.
    pub(crate) async fn backend_requests(&self) -> Vec<wiremock::Request> {
        self.backend
            .received_requests()
            .await
            .expect("request recording is on")
    }
}

/// `application/x-www-form-urlencoded` encoding of `fields`.
pub(crate) fn form_body(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(key, value)| {
            format!(
                "{}={}",
                urlencoding::encode(key),
                urlencoding::encode(value)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// Undoes the HTML escaping of attribute values and text.
pub(crate) fn unescape(text: &str) -> String {
    text.replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&#60;", "<")
        .replace("&#62;", ">")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#38;", "&")
        .replace("&amp;", "&")
}

impl Page {
    /// A header as text ("" when missing).
    pub(crate) fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
    }

    /// The `Location` of a redirect.
    pub(crate) fn location(&self) -> &str {
        self.header("location")
    }

    /// Every cookie the answer sets.
    pub(crate) fn set_cookies(&self) -> Vec<Cookie<'static>> {
        self.headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .map(|value| Cookie::parse(value.to_owned()).expect("a valid Set-Cookie header"))
            .collect()
    }

    /// The cookie named `name` set by the answer.
    pub(crate) fn set_cookie(&self, name: &str) -> Option<Cookie<'static>> {
        self.set_cookies()
            .into_iter()
            .find(|cookie| cookie.name() == name)
    }

    /// True when the answer removes cookie `name` (empty value, `Max-Age=0`).
    pub(crate) fn removes_cookie(&self, name: &str) -> bool {
        self.set_cookie(name).is_some_and(|cookie| {
            cookie.value().is_empty() && cookie.max_age().is_some_and(|age| age.is_zero())
        })
    }

    /// The opening tag of the element with `id`.
    pub(crate) fn tag_with_id(&self, id: &str) -> Option<&str> {
        let needle = format!(" id=\"{id}\"");
        let at = self.body.find(&needle)?;
        let start = self.body[..at].rfind('<')?;
        let end = at + self.body[at..].find('>')?;
        Some(&self.body[start..=end])
    }

    /// The unescaped value of attribute `name` in the opening tag of element `id`.
    pub(crate) fn attribute(&self, id: &str, name: &str) -> Option<String> {
        attribute_of(self.tag_with_id(id)?, name)
    }

    /// The unescaped value of the hidden input `name` (the first one on the page).
    pub(crate) fn hidden_field(&self, name: &str) -> Option<String> {
        let needle = format!("type=\"hidden\" name=\"{name}\"");
        let at = self.body.find(&needle)?;
        let end = at + self.body[at..].find('>')?;
        attribute_of(&self.body[at..=end], "value")
    }

    /// Every `href` of the page, unescaped.
    pub(crate) fn links(&self) -> Vec<String> {
        self.body
            .split(" href=\"")
            .skip(1)
            .filter_map(|rest| rest.split_once('"').map(|(href, _)| unescape(href)))
            .collect()
    }

    /// The `href` of the link with `rel`.
    pub(crate) fn rel_link(&self, rel: &str) -> Option<String> {
        let needle = format!("rel=\"{rel}\" href=\"");
        let at = self.body.find(&needle)? + needle.len();
        let href = &self.body[at..at + self.body[at..].find('"')?];
        Some(unescape(href))
    }

    /// Asserts an HTML page with the security headers.
    pub(crate) fn assert_html_page(&self, context: &str) {
        assert!(
            self.header("content-type").starts_with("text/html"),
            "{context}: content type {:?}",
            self.header("content-type")
        );
        assert!(
            self.body.starts_with("<!doctype html>"),
            "{context}: not a full page: {}",
            self.body
        );
        assert_security_headers(&self.headers, context);
    }
}

fn attribute_of(tag: &str, name: &str) -> Option<String> {
    let needle = format!(" {name}=\"");
    let at = tag.find(&needle)? + needle.len();
    let value = &tag[at..at + tag[at..].find('"')?];
    Some(unescape(value))
}

/// Asserts the headers every response carries.
pub(crate) fn assert_security_headers(headers: &HeaderMap, context: &str) {
    let get = |name: &str| {
        headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
    };
    let csp = get("content-security-policy");
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ] {
        assert!(
            csp.contains(directive),
            "{context}: CSP {csp:?} lacks {directive}"
        );
    }
    assert!(
        !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
        "{context}: CSP {csp:?} allows inline code"
    );
    assert_eq!(get("x-content-type-options"), "nosniff", "{context}");
    assert_eq!(get("x-frame-options"), "DENY", "{context}");
    assert_eq!(get("referrer-policy"), "same-origin", "{context}");
    assert!(
        !get("x-request-id").is_empty(),
        "{context}: no x-request-id"
    );
}

/// A task as the backend returns it.
pub(crate) fn task_json(id: i64, title: &str) -> Value {
    json!({
        "id": id,
        "title": title,
        "description": null,
        "completed": false,
        "priority": "medium",
        "due_date": null,
        "tags": [],
        "created_at": "2026-11-20T10:30:00Z",
        "updated_at": "2026-11-20T10:30:00Z",
    })
}

/// A page of tasks as the backend returns it.
pub(crate) fn page_json(tasks: &[Value], page: i64, total: i64, total_pages: i64) -> Value {
    json!({ "tasks": tasks, "total": total, "page": page, "limit": 20, "total_pages": total_pages })
}

/// Task counts as the backend returns them.
pub(crate) fn stats_json(total: i64, completed: i64, pending: i64, overdue: i64) -> Value {
    json!({ "total": total, "completed": completed, "pending": pending, "overdue": overdue })
}

/// The backend's error envelope.
pub(crate) fn error_json(code: &str, message: &str) -> Value {
    json!({ "error": { "code": code, "message": message } })
}

/// The backend's answer to a successful login, with a token valid for `seconds`.
pub(crate) fn session_json(seconds: i64) -> Value {
    let expires_at = Utc::now() + chrono::Duration::seconds(seconds);
    json!({
        "access_token": TOKEN,
        "token_type": "Bearer",
        "expires_at": expires_at.to_rfc3339(),
        "user": { "id": "3f1c9a52-7a43-4c51-9a0e-2f4bd8a3e001", "name": USER_NAME, "email": "ann@example.com" },
    })
}

/// Today in UTC, moved by `days`.
pub(crate) fn today_plus(days: i64) -> NaiveDate {
    Utc::now().date_naive() + chrono::Duration::days(days)
}
