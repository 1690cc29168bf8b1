//! Signing in, creating an account and signing out: redirects, cookies, what the backend
//! receives, and forms that come back with their values and messages.

use reqwest::StatusCode;
use serde_json::json;
use wiremock::matchers::{body_json, header, header_exists, method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::helpers::{
    CSRF_COOKIE, FLASH_COOKIE, SESSION_COOKIE, Settings, TOKEN, TestApp, USER_COOKIE, USER_NAME,
    error_json, page_json, session_json, stats_json,
};

async fn mount_login_success(app: &TestApp, seconds: i64) {
    Mock::given(method("POST"))
        .and(path("/api/auth/login"))
        .respond_with(ResponseTemplate::new(200).set_body_json(session_json(seconds)))
        .mount(&app.backend)
        .await;
}

#[tokio::test]
async fn the_tasks_page_sends_visitors_without_a_session_to_the_login_page() {
    let app = TestApp::spawn().await;
    let cases = [
        ("/tasks", "/login?next=%2Ftasks"),
        (
            "/tasks?status=pending&page=2",
            "/login?next=%2Ftasks%3Fstatus%3Dpending%26page%3D2",
        ),
        ("/tasks/7/edit", "/login?next=%2Ftasks%2F7%2Fedit"),
    ];
    for (target, expected) in cases {
        let page = app.get(target).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "GET {target}");
        assert_eq!(page.location(), expected, "GET {target}");
    }
    assert!(
        app.backend_requests().await.is_empty(),
        "no backend call without a session"
    );
}

#[tokio::test]
async fn the_login_page_keeps_a_safe_next_path_and_drops_a_foreign_one() {
    let app = TestApp::spawn().await;
    let page = app.get("/login?next=%2Ftasks%3Fstatus%3Dpending").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(
        page.hidden_field("next").as_deref(),
        Some("/tasks?status=pending")
    );
    let page = app.get("/login?next=https%3A%2F%2Fevil.example").await;
    assert_eq!(page.hidden_field("next").as_deref(), Some(""));
}

#[tokio::test]
async fn signing_in_sends_the_credentials_and_client_details_to_the_backend() {
    let app = TestApp::spawn().await;
    Mock::given(method("POST"))
        .and(path("/api/auth/login"))
        .and(body_json(
            json!({ "email": "ann@example.com", "password": "correct horse" }),
        ))
        .and(header("x-forwarded-for", "127.0.0.1"))
        .and(header("x-request-id", "req-login-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(session_json(3600)))
        .expect(1)
        .mount(&app.backend)
        .await;
    let csrf = app.csrf().await;
    let page = app
        .send(
            app.form_request(
                "/login",
                &csrf,
                &[
                    ("email", "  ann@example.com "),
                    ("password", "correct horse"),
                    ("next", "/tasks?status=pending"),
                ],
            )
            .header("x-request-id", "req-login-1"),
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert_eq!(page.location(), "/tasks?status=pending");
    assert_eq!(page.header("x-request-id"), "req-login-1");
    app.backend.verify().await;
}

#[tokio::test]
async fn signing_in_sets_http_only_lax_session_cookies_that_expire_with_the_token() {
    let app = TestApp::spawn().await;
    mount_login_success(&app, 7200).await;
    let page = app
        .post_form(
            "/login",
            &[("email", "ann@example.com"), ("password", "pw")],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    for name in [SESSION_COOKIE, USER_COOKIE] {
        let cookie = page
            .set_cookie(name)
            .unwrap_or_else(|| panic!("{name} is set"));
        assert_eq!(cookie.http_only(), Some(true), "{name}");
        assert_eq!(cookie.same_site(), Some(cookie::SameSite::Lax), "{name}");
        assert_eq!(cookie.path(), Some("/"), "{name}");
        assert_ne!(
            cookie.secure(),
            Some(true),
            "{name} with COOKIE_SECURE=false"
        );
        let max_age = cookie.max_age().expect("Max-Age").whole_seconds();
        assert!(
            (7190..=7200).contains(&max_age),
            "{name}: Max-Age {max_age}"
        );
    }
    assert_eq!(
        page.set_cookie(SESSION_COOKIE)
            .map(|c| c.value().to_owned()),
        Some(TOKEN.to_owned())
    );
    let user = page.set_cookie(USER_COOKIE).expect("user cookie");
    assert!(
        user.value().starts_with("Ann%") && !user.value().contains(' '),
        "the name is encoded: {}",
        user.value()
    );
}

#[tokio::test]
async fn signing_in_replaces_the_anti_forgery_token() {
    let app = TestApp::spawn().await;
    mount_login_success(&app, 3600).await;
    let before = app.csrf().await;
    let page = app
        .post_form(
            "/login",
            &[("email", "ann@example.com"), ("password", "pw")],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    let after = page
        .set_cookie(CSRF_COOKIE)
        .expect("a new anti-forgery cookie is set at sign-in");
    assert_eq!(after.value().len(), 64);
    assert_ne!(
        after.value(),
        before,
        "the token seen before sign-in is replaced"
    );
    assert_eq!(after.http_only(), Some(true));
}

#[tokio::test]
async fn cookies_are_marked_secure_when_cookie_secure_is_on() {
    let app = Settings::default().secure_cookies().spawn().await;
    mount_login_success(&app, 3600).await;
    let login_page = app.get("/login").await;
    let csrf_cookie = login_page.set_cookie(CSRF_COOKIE).expect("csrf cookie");
    assert_eq!(csrf_cookie.secure(), Some(true), "csrf cookie");
    assert_eq!(
        csrf_cookie.same_site(),
        Some(cookie::SameSite::Strict),
        "csrf cookie"
    );
    assert_eq!(csrf_cookie.http_only(), Some(true), "csrf cookie");
    let page = app
        .post_form(
            "/login",
            &[("email", "ann@example.com"), ("password", "pw")],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    for name in [SESSION_COOKIE, USER_COOKIE, FLASH_COOKIE] {
        let cookie = page
            .set_cookie(name)
            .unwrap_or_else(|| panic!("{name} is set"));
        assert_eq!(cookie.secure(), Some(true), "{name}");
    }
}

#[tokio::test]
async fn after_signing_in_only_local_next_paths_are_followed() {
    let app = TestApp::spawn().await;
    mount_login_success(&app, 3600).await;
    let cases = [
        ("/tasks?tag=home", "/tasks?tag=home"),
        ("/tasks/3/edit", "/tasks/3/edit"),
        ("", "/tasks"),
        ("//evil.example", "/tasks"),
        ("https://evil.example", "/tasks"),
        ("/\\evil.example", "/tasks"),
        ("/\t/evil.example", "/tasks"),
        ("javascript:alert(1)", "/tasks"),
    ];
    for (next, expected) in cases {
        let page = app
            .post_form(
                "/login",
                &[
                    ("email", "ann@example.com"),
                    ("password", "pw"),
                    ("next", next),
                ],
            )
            .await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "next={next:?}");
        assert_eq!(page.location(), expected, "next={next:?}");
    }
}

#[tokio::test]
async fn the_first_page_after_signing_in_greets_the_user_once() {
    let app = TestApp::spawn().await;
    mount_login_success(&app, 3600).await;
    app.mount_task_list(page_json(&[], 1, 0, 0), stats_json(0, 0, 0, 0))
        .await;
    let page = app
        .post_form(
            "/login",
            &[("email", "ann@example.com"), ("password", "pw")],
        )
        .await;
    assert_eq!(page.location(), "/tasks");
    let tasks = app.get("/tasks").await;
    assert_eq!(tasks.status, StatusCode::OK);
    assert!(tasks.body.contains("Welcome, Ann Lee."), "{}", tasks.body);
    assert!(
        tasks
            .body
            .contains(&format!("Signed in as <strong>{USER_NAME}</strong>"))
    );
    assert!(tasks.removes_cookie(FLASH_COOKIE), "the flash is used up");
    let again = app.get("/tasks").await;
    assert!(!again.body.contains("Welcome, Ann Lee."));
}

#[tokio::test]
async fn wrong_credentials_show_a_generic_message_and_keep_the_email() {
    let app = TestApp::spawn().await;
    Mock::given(method("POST"))
        .and(path("/api/auth/login"))
        .respond_with(ResponseTemplate::new(401).set_body_json(error_json(
            "invalid_credentials",
            "Incorrect email or password.",
        )))
        .mount(&app.backend)
        .await;
    let page = app
        .post_form(
            "/login",
            &[
                ("email", "ann@example.com"),
                ("password", "not-the-password-42"),
                ("next", "/tasks?tag=home"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    page.assert_html_page("wrong credentials");
    assert!(page.body.contains("Incorrect email or password."));
    assert_eq!(
        page.attribute("email", "value").as_deref(),
        Some("ann@example.com")
    );
    assert_eq!(
        page.attribute("email", "aria-invalid").as_deref(),
        Some("true")
    );
    assert_eq!(
        page.hidden_field("next").as_deref(),
        Some("/tasks?tag=home")
    );
    assert!(
        !page.body.contains("not-the-password-42"),
        "password echoed"
    );
    assert!(page.set_cookie(SESSION_COOKIE).is_none());
}

#[tokio::test]
async fn a_blank_sign_in_form_is_refused_without_asking_the_backend() {
    let app = TestApp::spawn().await;
    Mock::given(method("POST"))
        .and(path("/api/auth/login"))
        .respond_with(ResponseTemplate::new(200).set_body_json(session_json(3600)))
        .expect(0)
        .mount(&app.backend)
        .await;
    let cases = [("", "pw"), ("   ", "pw"), ("ann@example.com", "")];
    for (email, password) in cases {
        let page = app
            .post_form("/login", &[("email", email), ("password", password)])
            .await;
        assert_eq!(
            page.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "email={email:?} password={password:?}"
        );
        assert!(
            page.body.contains("Enter your email and your password."),
            "email={email:?} password={password:?}"
        );
    }
    app.backend.verify().await;
}

#[tokio::test]
async fn too_many_sign_in_attempts_show_how_long_to_wait() {
    let app = TestApp::spawn().await;
    Mock::given(method("POST"))
        .and(path("/api/auth/login"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "30")
                .set_body_json(error_json("rate_limited", "Too many requests.")),
        )
        .mount(&app.backend)
        .await;
    let page = app
        .post_form(
            "/login",
            &[("email", "ann@example.com"), ("password", "pw")],
        )
        .await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        page.body
            .contains("Too many sign-in attempts. Try again in 30 seconds."),
        "{}",
        page.body
    );
    assert_eq!(
        page.attribute("email", "value").as_deref(),
        Some("ann@example.com")
    );
}

#[tokio::test]
async fn signing_out_revokes_the_token_and_removes_the_session_cookies() {
    let app = TestApp::spawn().await;
    Mock::given(method("POST"))
        .and(path("/api/auth/logout"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .and(header_exists("x-request-id"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&app.backend)
        .await;
    app.sign_in();
    let page = app.post_form("/logout", &[]).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), "/login");
    assert!(page.removes_cookie(SESSION_COOKIE), "session cookie kept");
    assert!(page.removes_cookie(USER_COOKIE), "user cookie kept");
    for name in [SESSION_COOKIE, USER_COOKIE] {
        let count = page
            .set_cookies()
            .iter()
            .filter(|cookie| cookie.name() == name)
            .count();
        assert_eq!(count, 1, "{name} is set once");
        let cookie = page.set_cookie(name).expect("removal cookie");
        assert_eq!(
            cookie.path(),
            Some("/"),
            "{name} removed on the path it was set"
        );
    }
    let login = app.get("/login").await;
    assert!(
        login.body.contains("You have signed out."),
        "{}",
        login.body
    );
    let tasks = app.get("/tasks").await;
    assert_eq!(tasks.location(), "/login?next=%2Ftasks");
    app.backend.verify().await;
}

#[tokio::test]
async fn signing_out_still_ends_the_session_when_the_backend_is_down() {
    let app = TestApp::spawn().await;
    Mock::given(method("POST"))
        .and(path("/api/auth/logout"))
        .respond_with(ResponseTemplate::new(503))
        .expect(1)
        .mount(&app.backend)
        .await;
    app.sign_in();
    let page = app.post_form("/logout", &[]).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), "/login");
    assert!(page.removes_cookie(SESSION_COOKIE));
    app.backend.verify().await;
}

#[tokio::test]
async fn registering_sends_the_account_and_leads_to_the_login_page_with_a_notice() {
    let app = TestApp::spawn().await;
    Mock::given(method("POST"))
        .and(path("/api/auth/register"))
        .and(body_json(json!({
            "name": "Ann Lee",
            "email": "ann@example.com",
            "password": "correct horse battery",
        })))
        .and(header("x-forwarded-for", "127.0.0.1"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "id": "3f1c9a52-7a43-4c51-9a0e-2f4bd8a3e001",
            "name": "Ann Lee",
            "email": "ann@example.com",
            "created_at": "2026-11-20T10:30:00Z",
        })))
        .expect(1)
        .mount(&app.backend)
        .await;
    let page = app
        .post_form(
            "/register",
            &[
                ("name", "Ann Lee"),
                ("email", "ann@example.com"),
                ("password", "correct horse battery"),
                ("password_confirm", "correct horse battery"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert_eq!(page.location(), "/login?registered=1");
    let login = app.get("/login?registered=1").await;
    assert!(
        login
            .body
            .contains("Your account is ready. Sign in to continue.")
    );
    app.backend.verify().await;
}

#[tokio::test]
async fn mismatching_passwords_come_back_with_the_name_and_email_but_no_password() {
    let app = TestApp::spawn().await;
    Mock::given(method("POST"))
        .and(path("/api/auth/register"))
        .respond_with(ResponseTemplate::new(201))
        .expect(0)
        .mount(&app.backend)
        .await;
    let page = app
        .post_form(
            "/register",
            &[
                ("name", "Ann \"The Tester\" Lee"),
                ("email", "ann@example.com"),
                ("password", "first-secret-1"),
                ("password_confirm", "second-secret-2"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    page.assert_html_page("password mismatch");
    assert_eq!(
        page.attribute("name", "value").as_deref(),
        Some("Ann \"The Tester\" Lee")
    );
    assert_eq!(
        page.attribute("email", "value").as_deref(),
        Some("ann@example.com")
    );
    assert_eq!(page.attribute("password", "value"), None);
    assert_eq!(page.attribute("password_confirm", "value"), None);
    assert!(!page.body.contains("first-secret-1") && !page.body.contains("second-secret-2"));
    assert_eq!(
        page.attribute("password_confirm", "aria-invalid")
            .as_deref(),
        Some("true")
    );
    assert!(page.body.contains(
        "<p class=\"field-error\" id=\"password_confirm-error\">The two passwords do not match.</p>"
    ));
    app.backend.verify().await;
}

#[tokio::test]
async fn backend_field_errors_are_shown_next_to_their_fields_as_sentences() {
    let app = TestApp::spawn().await;
    Mock::given(method("POST"))
        .and(path("/api/auth/register"))
        .respond_with(ResponseTemplate::new(422).set_body_json(json!({
            "error": {
                "code": "validation_failed",
                "message": "The request is invalid.",
                "fields": {
                    "email": "email must be a valid email address",
                    "password": "password must be at least 8 characters",
                },
            }
        })))
        .mount(&app.backend)
        .await;
    let page = app
        .post_form(
            "/register",
            &[
                ("name", "Ann"),
                ("email", "not-an-email"),
                ("password", "short"),
                ("password_confirm", "short"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        page.attribute("email", "aria-invalid").as_deref(),
        Some("true")
    );
    assert_eq!(
        page.attribute("email", "aria-describedby").as_deref(),
        Some("email-error")
    );
    assert!(page.body.contains(
        "<p class=\"field-error\" id=\"email-error\">Email must be a valid email address.</p>"
    ));
    assert_eq!(
        page.attribute("password", "aria-invalid").as_deref(),
        Some("true")
    );
    assert!(
        page.body
            .contains("Password must be at least 8 characters.")
    );
    assert_eq!(page.attribute("name", "aria-invalid"), None, "name is fine");
    assert_eq!(
        page.attribute("email", "value").as_deref(),
        Some("not-an-email")
    );
    assert_eq!(page.attribute("name", "value").as_deref(), Some("Ann"));
}

#[tokio::test]
async fn an_email_already_in_use_is_reported_on_the_email_field() {
    let app = TestApp::spawn().await;
    Mock::given(method("POST"))
        .and(path("/api/auth/register"))
        .respond_with(ResponseTemplate::new(409).set_body_json(error_json(
            "email_taken",
            "This email is already registered.",
        )))
        .mount(&app.backend)
        .await;
    let page = app
        .post_form(
            "/register",
            &[
                ("name", "Ann"),
                ("email", "ann@example.com"),
                ("password", "correct horse battery"),
                ("password_confirm", "correct horse battery"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::CONFLICT);
    assert_eq!(
        page.attribute("email", "aria-invalid").as_deref(),
        Some("true")
    );
    assert!(page.body.contains(
        "id=\"email-error\">An account with this email already exists. Sign in instead?</p>"
    ));
    assert!(!page.body.contains("correct horse battery"));
}
