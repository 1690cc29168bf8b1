//! Cross-site request forgery protection, security headers, the assets and what pages may
//! reference under the Content-Security-Policy.

use reqwest::{Method, StatusCode};
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::helpers::{
    CSRF_COOKIE, PUBLIC_ORIGIN, Page, SESSION_COOKIE, Settings, TOKEN, TestApp,
    assert_security_headers, form_body, page_json, stats_json, task_json,
};

const OTHER_TOKEN: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// A raw POST to `/tasks` with the given cookie, headers and csrf field.
async fn forged_post(
    app: &TestApp,
    csrf_cookie: Option<&str>,
    csrf_field: Option<&str>,
    headers: &[(&str, &str)],
) -> Page {
    let mut fields = vec![("title", "Sneaky"), ("return_to", "/tasks")];
    if let Some(field) = csrf_field {
        fields.push(("csrf", field));
    }
    let mut cookies = vec![format!("{SESSION_COOKIE}={TOKEN}")];
    if let Some(cookie) = csrf_cookie {
        cookies.push(format!("{CSRF_COOKIE}={cookie}"));
    }
    let mut request = app
        .bare_request(Method::POST, "/tasks")
        .header("cookie", cookies.join("; "))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form_body(&fields));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    app.send(request).await
}

/// One way a forged post can look.
struct Forgery<'a> {
    case: &'a str,
    cookie: Option<&'a str>,
    field: Option<&'a str>,
    headers: &'a [(&'a str, &'a str)],
}

impl<'a> Forgery<'a> {
    fn new(
        case: &'a str,
        cookie: Option<&'a str>,
        field: Option<&'a str>,
        headers: &'a [(&'a str, &'a str)],
    ) -> Self {
        Self {
            case,
            cookie,
            field,
            headers,
        }
    }
}

#[tokio::test]
async fn forged_or_cross_site_posts_are_refused_before_reaching_the_backend() {
    let app = TestApp::spawn().await;
    Mock::given(method("POST"))
        .and(path("/api/tasks"))
        .respond_with(ResponseTemplate::new(201).set_body_json(task_json(1, "Sneaky")))
        .expect(0)
        .mount(&app.backend)
        .await;
    let token = app.csrf().await;
    let same_origin = [("sec-fetch-site", "same-origin")];
    let cases = [
        Forgery::new("no csrf field", Some(&token), None, &same_origin),
        Forgery::new(
            "a wrong csrf field",
            Some(&token),
            Some(OTHER_TOKEN),
            &same_origin,
        ),
        Forgery::new("no csrf cookie", None, Some(&token), &same_origin),
        Forgery::new(
            "a short cookie and field that match",
            Some("abc"),
            Some("abc"),
            &same_origin,
        ),
        Forgery::new(
            "Sec-Fetch-Site: cross-site",
            Some(&token),
            Some(&token),
            &[("sec-fetch-site", "cross-site")],
        ),
        Forgery::new(
            "Sec-Fetch-Site: same-site",
            Some(&token),
            Some(&token),
            &[("sec-fetch-site", "same-site")],
        ),
        Forgery::new(
            "Origin: https://evil.example",
            Some(&token),
            Some(&token),
            &[("origin", "https://evil.example")],
        ),
        Forgery::new(
            "Origin: null",
            Some(&token),
            Some(&token),
            &[("origin", "null")],
        ),
    ];
    for Forgery {
        case,
        cookie,
        field,
        headers,
    } in cases
    {
        let page = forged_post(&app, cookie, field, headers).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{case}: {}", page.body);
        page.assert_html_page(case);
        assert!(
            page.body.contains("This form could not be accepted"),
            "{case}: {}",
            page.body
        );
    }
    app.backend.verify().await;
}

#[tokio::test]
async fn a_post_from_our_own_pages_with_the_token_is_accepted() {
    let app = TestApp::spawn().await;
    Mock::given(method("POST"))
        .and(path("/api/tasks"))
        .respond_with(ResponseTemplate::new(201).set_body_json(task_json(1, "Real")))
        .expect(2)
        .mount(&app.backend)
        .await;
    let token = app.csrf().await;
    let cases: [(&str, &[(&str, &str)]); 2] = [
        (
            "Sec-Fetch-Site: same-origin",
            &[("sec-fetch-site", "same-origin")],
        ),
        (
            "Origin equal to PUBLIC_ORIGIN",
            &[("origin", PUBLIC_ORIGIN)],
        ),
    ];
    for (case, headers) in cases {
        let page = forged_post(&app, Some(&token), Some(&token), headers).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{case}: {}", page.body);
        assert_eq!(page.location(), "/tasks", "{case}");
    }
    app.backend.verify().await;
}

#[tokio::test]
async fn the_csrf_cookie_is_issued_once_and_repeated_in_every_form() {
    let app = TestApp::spawn().await;
    let first = app.get("/register").await;
    let cookie = first
        .set_cookie(CSRF_COOKIE)
        .expect("the first page sets the token");
    assert_eq!(cookie.value().len(), 64);
    assert!(cookie.value().chars().all(|c| c.is_ascii_hexdigit()));
    assert_eq!(cookie.path(), Some("/"));
    assert_eq!(first.hidden_field("csrf").as_deref(), Some(cookie.value()));
    let second = app.get("/login").await;
    assert!(
        second.set_cookie(CSRF_COOKIE).is_none(),
        "an existing token is kept"
    );
    assert_eq!(second.hidden_field("csrf").as_deref(), Some(cookie.value()));
    let other = TestApp::spawn().await;
    assert_ne!(other.csrf().await, cookie.value(), "tokens are random");
}

#[tokio::test]
async fn every_kind_of_response_carries_the_security_headers() {
    let app = TestApp::spawn().await;
    let closed = Settings::default().closed_backend().spawn().await;
    closed.sign_in();
    let cases = [
        ("landing page", app.get("/").await, StatusCode::OK),
        ("login page", app.get("/login").await, StatusCode::OK),
        (
            "404 page",
            app.get("/no/such/page").await,
            StatusCode::NOT_FOUND,
        ),
        (
            "405 page",
            app.send(app.request(Method::PUT, "/login")).await,
            StatusCode::METHOD_NOT_ALLOWED,
        ),
        (
            "403 page",
            app.send(app.request(Method::POST, "/logout")).await,
            StatusCode::FORBIDDEN,
        ),
        (
            "backend down page",
            closed.get("/tasks").await,
            StatusCode::SERVICE_UNAVAILABLE,
        ),
    ];
    for (case, page, status) in cases {
        assert_eq!(page.status, status, "{case}");
        page.assert_html_page(case);
        assert_eq!(page.header("cache-control"), "no-store", "{case}");
    }
    let redirect = app.get("/tasks").await;
    assert_eq!(redirect.status, StatusCode::SEE_OTHER);
    assert_security_headers(&redirect.headers, "redirect");
    let health = app.get("/healthz").await;
    assert_security_headers(&health.headers, "health check");
}

#[tokio::test]
async fn assets_are_served_with_their_types_and_long_lived_caching() {
    let app = TestApp::spawn().await;
    let login = app.get("/login").await;
    let css_url = taskflow_frontend::assets::css_url();
    let js_url = taskflow_frontend::assets::js_url();
    assert!(
        login
            .body
            .contains(&format!("<link rel=\"stylesheet\" href=\"{css_url}\">")),
        "the page links the versioned stylesheet: {}",
        login.body
    );
    assert!(
        login
            .body
            .contains(&format!("<script src=\"{js_url}\" defer></script>")),
        "the page loads the versioned script"
    );
    let cases = [
        (
            css_url,
            "text/css; charset=utf-8",
            include_str!("../../static/app.css"),
        ),
        (
            js_url,
            "text/javascript; charset=utf-8",
            include_str!("../../static/app.js"),
        ),
    ];
    for (url, content_type, content) in cases {
        let asset = app.get(url).await;
        assert_eq!(asset.status, StatusCode::OK, "{url}");
        assert_eq!(asset.header("content-type"), content_type, "{url}");
        assert_eq!(
            asset.header("cache-control"),
            "public, max-age=31536000, immutable",
            "{url}"
        );
        assert_eq!(asset.body, content, "{url}");
        assert_security_headers(&asset.headers, url);
    }
}

/// True when some tag has an `on…=` attribute.
fn has_event_handler_attribute(body: &str) -> bool {
    body.split('<').skip(1).any(|rest| {
        let tag = rest.split_once('>').map_or(rest, |(tag, _)| tag);
        tag.split_whitespace().skip(1).any(|attribute| {
            attribute.starts_with("on")
                && attribute
                    .split_once('=')
                    .is_some_and(|(name, _)| name.chars().all(|c| c.is_ascii_alphabetic()))
        })
    })
}

/// Asserts that `page` loads nothing from elsewhere and has no code or style the CSP blocks.
fn assert_csp_friendly(case: &str, page: &Page) {
    let body = &page.body;
    for scheme in ["http://", "https://", "//"] {
        for attribute in ["href=\"", "src=\"", "action=\""] {
            let needle = format!("{attribute}{scheme}");
            assert!(!body.contains(&needle), "{case}: contains {needle}");
        }
    }
    assert!(!body.contains("http://"), "{case}: mentions another origin");
    assert!(
        !body.contains("https://"),
        "{case}: mentions another origin"
    );
    let scripts: Vec<&str> = body
        .split("<script")
        .skip(1)
        .map(|rest| rest.split_once('>').map_or(rest, |(tag, _)| tag))
        .collect();
    assert_eq!(scripts.len(), 1, "{case}: exactly our script");
    for tag in scripts {
        assert!(
            tag.contains(" src=\"/static/"),
            "{case}: inline <script{tag}>"
        );
    }
    assert!(!body.contains(" style="), "{case}: style attribute");
    assert!(!body.contains("<style"), "{case}: style element");
    assert!(
        !has_event_handler_attribute(body),
        "{case}: inline event handler"
    );
    assert!(!body.contains("javascript:"), "{case}: javascript: URL");
}

#[tokio::test]
async fn pages_reference_no_other_origin_and_nothing_inline() {
    let app = TestApp::spawn().await;
    let mut task = task_json(7, "Call <b>Bob</b>");
    task["tags"] = serde_json::json!(["home"]);
    task["due_date"] = serde_json::json!("2026-01-02");
    app.mount_task_list(page_json(&[task.clone()], 1, 1, 1), stats_json(1, 0, 1, 1))
        .await;
    Mock::given(method("GET"))
        .and(path("/api/tasks/7"))
        .respond_with(ResponseTemplate::new(200).set_body_json(task))
        .mount(&app.backend)
        .await;
    let anonymous = [
        ("landing", "/", StatusCode::OK),
        ("login", "/login", StatusCode::OK),
        ("register", "/register", StatusCode::OK),
        ("404", "/missing", StatusCode::NOT_FOUND),
    ];
    let signed_in = [
        ("landing signed in", "/", false),
        ("tasks", "/tasks", true),
        ("edit", "/tasks/7/edit", true),
        ("delete", "/tasks/7/delete", true),
    ];
    for (case, target, status) in anonymous {
        let page = app.get(target).await;
        assert_eq!(page.status, status, "{case}");
        assert_csp_friendly(case, &page);
    }
    app.sign_in();
    for (case, target, shows_the_task) in signed_in {
        let page = app.get(target).await;
        assert_eq!(page.status, StatusCode::OK, "{case}: {}", page.body);
        assert_eq!(
            page.body.contains("Call &#60;b&#62;Bob&#60;/b&#62;"),
            shows_the_task,
            "{case}: the title shows escaped"
        );
        assert_csp_friendly(case, &page);
    }
}
