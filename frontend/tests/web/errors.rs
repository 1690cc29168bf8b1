//! What a browser sees when things go wrong: the backend down, slow, broken or answering
//! garbage, an ended session, unknown pages and wrong methods.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::helpers::{
    Page, SESSION_COOKIE, Settings, TestApp, USER_COOKIE, error_json, stats_json, task_json,
};

/// Asserts a friendly error page that explains nothing of the internals.
fn assert_error_page(app: &TestApp, page: &Page, status: StatusCode, heading: &str, retry: &str) {
    assert_eq!(page.status, status, "{heading}: {}", page.body);
    page.assert_html_page(heading);
    assert!(
        page.body.contains(&format!("<h1>{heading}</h1>")),
        "{}",
        page.body
    );
    assert!(
        page.body.contains(&format!(
            "<a class=\"button\" href=\"{retry}\">Try again</a>"
        )),
        "{heading}: retry link to {retry}: {}",
        page.body
    );
    assert!(page.body.contains(&format!("Error {}", status.as_u16())));
    let backend_host = app.backend_url.trim_start_matches("http://");
    for leak in [
        backend_host,
        "127.0.0.1",
        "/api/",
        "reqwest",
        "error sending request",
        "unreadable",
        "status 500",
        "expected value",
        "Internal explosion",
        "timed out",
    ] {
        assert!(!page.body.contains(leak), "{heading}: leaks {leak:?}");
    }
}

#[tokio::test]
async fn an_unreachable_backend_gives_a_503_page_with_a_retry_link() {
    let app = Settings::default().closed_backend().spawn().await;
    app.sign_in();
    let page = app.get("/tasks?status=pending").await;
    assert_error_page(
        &app,
        &page,
        StatusCode::SERVICE_UNAVAILABLE,
        "TaskFlow is temporarily unavailable",
        "/tasks?status=pending",
    );
    let login = app
        .post_form(
            "/login",
            &[("email", "ann@example.com"), ("password", "pw")],
        )
        .await;
    assert_error_page(
        &app,
        &login,
        StatusCode::SERVICE_UNAVAILABLE,
        "TaskFlow is temporarily unavailable",
        "/login",
    );
}

#[tokio::test]
async fn a_backend_slower_than_the_time_limit_gives_a_504_page() {
    let app = Settings::default().backend_timeout_ms(300).spawn().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(stats_json(0, 0, 0, 0))
                .set_delay(Duration::from_secs(3)),
        )
        .mount(&app.backend)
        .await;
    app.sign_in();
    let started = std::time::Instant::now();
    let page = app.get("/tasks").await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "gave up after {:?}",
        started.elapsed()
    );
    assert_error_page(
        &app,
        &page,
        StatusCode::GATEWAY_TIMEOUT,
        "This is taking too long",
        "/tasks",
    );
}

#[tokio::test]
async fn a_request_outliving_the_request_time_limit_still_gets_an_error_page() {
    let app = Settings::default()
        .request_timeout_seconds(1)
        .backend_timeout_ms(10_000)
        .spawn()
        .await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(stats_json(0, 0, 0, 0))
                .set_delay(Duration::from_secs(4)),
        )
        .mount(&app.backend)
        .await;
    app.sign_in();
    let page = app.get("/tasks?tag=home").await;
    assert_error_page(
        &app,
        &page,
        StatusCode::GATEWAY_TIMEOUT,
        "This is taking too long",
        "/tasks?tag=home",
    );
}

#[tokio::test]
async fn broken_backend_answers_give_gateway_error_pages() {
    let app = TestApp::spawn().await;
    let cases = [
        (
            "a 500",
            ResponseTemplate::new(500).set_body_json(error_json("internal", "Internal explosion")),
            StatusCode::BAD_GATEWAY,
            "Something went wrong",
        ),
        (
            "garbage JSON",
            ResponseTemplate::new(200).set_body_string("{\"tasks\": [oops"),
            StatusCode::BAD_GATEWAY,
            "Something went wrong",
        ),
        (
            "JSON of the wrong shape",
            ResponseTemplate::new(200).set_body_json(serde_json::json!({ "items": [] })),
            StatusCode::BAD_GATEWAY,
            "Something went wrong",
        ),
        (
            "an HTML 502 from a proxy",
            ResponseTemplate::new(502).set_body_string("<html>Bad Gateway</html>"),
            StatusCode::BAD_GATEWAY,
            "Something went wrong",
        ),
        (
            "a 503",
            ResponseTemplate::new(503).set_body_json(error_json("not_ready", "Not ready.")),
            StatusCode::SERVICE_UNAVAILABLE,
            "TaskFlow is temporarily unavailable",
        ),
    ];
    app.sign_in();
    for (case, response, status, heading) in cases {
        app.backend.reset().await;
        Mock::given(method("GET"))
            .and(path("/api/tasks"))
            .respond_with(response)
            .mount(&app.backend)
            .await;
        app.mount_stats(stats_json(1, 0, 1, 0)).await;
        let page = app.get("/tasks?page=2").await;
        assert_eq!(page.status, status, "{case}");
        assert_error_page(&app, &page, status, heading, "/tasks?page=2");
        assert!(
            !page.body.contains("Bad Gateway</html>"),
            "{case}: backend body shown"
        );
    }
}

#[tokio::test]
async fn a_failing_action_shows_the_error_page_with_a_retry_to_the_list() {
    let app = TestApp::spawn().await;
    Mock::given(method("PATCH"))
        .and(path("/api/tasks/7"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&app.backend)
        .await;
    app.sign_in();
    let page = app
        .post_form(
            "/tasks/7/toggle",
            &[("completed", "true"), ("return_to", "/tasks?tag=home")],
        )
        .await;
    assert_error_page(
        &app,
        &page,
        StatusCode::BAD_GATEWAY,
        "Something went wrong",
        "/tasks?tag=home",
    );
}

#[tokio::test]
async fn an_ended_session_clears_the_cookies_and_asks_to_sign_in_again() {
    let app = TestApp::spawn().await;
    let cases = [
        ("/tasks", "/login?next=%2Ftasks&expired=1"),
        (
            "/tasks?status=pending",
            "/login?next=%2Ftasks%3Fstatus%3Dpending&expired=1",
        ),
    ];
    for (target, expected) in cases {
        app.backend.reset().await;
        Mock::given(method("GET"))
            .and(path("/api/tasks"))
            .respond_with(
                ResponseTemplate::new(401)
                    .set_body_json(error_json("unauthorized", "Token expired.")),
            )
            .mount(&app.backend)
            .await;
        app.mount_stats(stats_json(0, 0, 0, 0)).await;
        app.sign_in();
        let page = app.get(target).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{target}");
        assert_eq!(page.location(), expected, "{target}");
        assert!(
            page.removes_cookie(SESSION_COOKIE),
            "{target}: session cookie"
        );
        assert!(page.removes_cookie(USER_COOKIE), "{target}: user cookie");
    }
    let login = app.get("/login?next=%2Ftasks&expired=1").await;
    assert!(
        login
            .body
            .contains("Your session has ended. Sign in again to continue.")
    );
    assert_eq!(login.hidden_field("next").as_deref(), Some("/tasks"));
    assert!(app.cookie(SESSION_COOKIE).is_none());
}

#[tokio::test]
async fn an_ended_session_during_an_action_also_leads_to_sign_in() {
    let app = TestApp::spawn().await;
    Mock::given(method("DELETE"))
        .and(path("/api/tasks/7"))
        .respond_with(
            ResponseTemplate::new(401).set_body_json(error_json("unauthorized", "Revoked.")),
        )
        .mount(&app.backend)
        .await;
    app.sign_in();
    let page = app
        .post_form("/tasks/7/delete", &[("return_to", "/tasks?page=2")])
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), "/login?next=%2Ftasks%3Fpage%3D2&expired=1");
    assert!(page.removes_cookie(SESSION_COOKIE));
}

#[tokio::test]
async fn a_task_the_backend_does_not_know_gives_a_404_page() {
    let app = TestApp::spawn().await;
    Mock::given(method("GET"))
        .and(path("/api/tasks/99"))
        .respond_with(
            ResponseTemplate::new(404).set_body_json(error_json("not_found", "No such task.")),
        )
        .mount(&app.backend)
        .await;
    app.sign_in();
    for target in ["/tasks/99/edit", "/tasks/99/delete"] {
        let page = app.get(target).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{target}");
        page.assert_html_page(target);
        assert!(page.body.contains("<h1>Page not found</h1>"), "{target}");
    }
}

#[tokio::test]
async fn unknown_pages_wrong_methods_and_malformed_requests_get_html_error_pages() {
    let app = TestApp::spawn().await;
    app.sign_in();
    let csrf = app.csrf().await;
    let cases = [
        (
            "unknown page",
            app.send(app.request(Method::GET, "/nothing/here")).await,
            StatusCode::NOT_FOUND,
            "Page not found",
        ),
        (
            "non-numeric task id",
            app.send(app.request(Method::GET, "/tasks/abc/edit")).await,
            StatusCode::NOT_FOUND,
            "Page not found",
        ),
        (
            "a repeated filter parameter",
            app.send(app.request(Method::GET, "/tasks?status=a&status=b"))
                .await,
            StatusCode::BAD_REQUEST,
            "This request could not be understood",
        ),
        (
            "a form that is not URL-encoded",
            app.send(
                app.request(Method::POST, "/tasks")
                    .header("sec-fetch-site", "same-origin")
                    .header("content-type", "text/plain")
                    .body(format!("csrf={csrf}")),
            )
            .await,
            StatusCode::BAD_REQUEST,
            "This request could not be understood",
        ),
        (
            "GET /logout",
            app.send(app.request(Method::GET, "/logout")).await,
            StatusCode::METHOD_NOT_ALLOWED,
            "Not possible here",
        ),
        (
            "DELETE /tasks",
            app.send(app.request(Method::DELETE, "/tasks")).await,
            StatusCode::METHOD_NOT_ALLOWED,
            "Not possible here",
        ),
        (
            "POST / with a valid token",
            app.send(app.form_request("/", &csrf, &[])).await,
            StatusCode::METHOD_NOT_ALLOWED,
            "Not possible here",
        ),
    ];
    for (case, page, status, heading) in cases {
        assert_eq!(page.status, status, "{case}: {}", page.body);
        page.assert_html_page(case);
        assert!(page.body.contains(&format!("<h1>{heading}</h1>")), "{case}");
        assert!(
            page.body.contains("href=\"/\">Home</a>"),
            "{case}: a way forward"
        );
        assert!(!page.body.contains("Try again"), "{case}: nothing to retry");
    }
}

#[tokio::test]
async fn an_oversized_form_is_refused_with_an_html_page() {
    let app = TestApp::spawn().await;
    Mock::given(method("POST"))
        .and(path("/api/tasks"))
        .respond_with(ResponseTemplate::new(201).set_body_json(task_json(1, "big")))
        .expect(0)
        .mount(&app.backend)
        .await;
    app.sign_in();
    let big = "x".repeat(100 * 1024);
    let page = app
        .post_form("/tasks", &[("title", "big"), ("description", &big)])
        .await;
    assert_eq!(page.status, StatusCode::PAYLOAD_TOO_LARGE);
    page.assert_html_page("oversized form");
    assert!(page.body.contains("Too much text"), "{}", page.body);
    app.backend.verify().await;
}
