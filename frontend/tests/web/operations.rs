//! Operational endpoints and request correlation: health, readiness against the backend,
//! metrics, and request ids passed through to the backend.

use reqwest::StatusCode;
use serde_json::Value;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::helpers::{Settings, TestApp, page_json, stats_json};

#[tokio::test]
async fn the_health_check_answers_without_asking_the_backend() {
    let app = Settings::default().closed_backend().spawn().await;
    let page = app.get("/healthz").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.header("content-type").starts_with("application/json"));
    let body: Value = serde_json::from_str(&page.body).expect("JSON");
    assert_eq!(body["status"], "ok");
}

#[tokio::test]
async fn readiness_follows_the_backends_readiness() {
    let app = TestApp::spawn().await;
    let cases = [
        ("backend ready", 200, StatusCode::OK),
        ("backend not ready", 503, StatusCode::SERVICE_UNAVAILABLE),
        ("backend failing", 500, StatusCode::SERVICE_UNAVAILABLE),
    ];
    for (case, backend_status, expected) in cases {
        app.backend.reset().await;
        Mock::given(method("GET"))
            .and(path("/readyz"))
            .respond_with(ResponseTemplate::new(backend_status))
            .expect(1)
            .mount(&app.backend)
            .await;
        let page = app.get("/readyz").await;
        assert_eq!(page.status, expected, "{case}");
        let body: Value = serde_json::from_str(&page.body).expect("JSON");
        if expected == StatusCode::OK {
            assert_eq!(body["status"], "ready", "{case}");
        } else {
            assert_eq!(body["error"]["code"], "not_ready", "{case}");
            let message = body["error"]["message"].as_str().unwrap_or_default();
            assert!(!message.contains("127.0.0.1"), "{case}: {message}");
        }
        app.backend.verify().await;
    }
}

#[tokio::test]
async fn readiness_fails_when_the_backend_is_unreachable() {
    let app = Settings::default().closed_backend().spawn().await;
    let page = app.get("/readyz").await;
    assert_eq!(page.status, StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = serde_json::from_str(&page.body).expect("JSON");
    assert_eq!(body["error"]["code"], "not_ready");
}

#[tokio::test]
async fn the_request_id_is_echoed_and_passed_to_every_backend_call() {
    let app = TestApp::spawn().await;
    app.mount_task_list(page_json(&[], 1, 0, 0), stats_json(0, 0, 0, 0))
        .await;
    app.sign_in();
    let page = app
        .send(
            app.request(reqwest::Method::GET, "/tasks")
                .header("x-request-id", "trace-abc-123"),
        )
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.header("x-request-id"), "trace-abc-123");
    let requests = app.backend_requests().await;
    assert_eq!(requests.len(), 2, "list and stats");
    for request in &requests {
        let id = request
            .headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok());
        assert_eq!(id, Some("trace-abc-123"), "{}", request.url);
        let ip = request
            .headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok());
        assert_eq!(ip, Some("127.0.0.1"), "{}", request.url);
    }
}

#[tokio::test]
async fn a_generated_request_id_is_also_the_one_sent_to_the_backend() {
    let app = TestApp::spawn().await;
    Mock::given(method("GET"))
        .and(path("/api/tasks/stats"))
        .respond_with(ResponseTemplate::new(200).set_body_json(stats_json(0, 0, 0, 0)))
        .mount(&app.backend)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/tasks"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page_json(&[], 1, 0, 0)))
        .mount(&app.backend)
        .await;
    app.sign_in();
    let page = app.get("/tasks").await;
    let id = page.header("x-request-id").to_owned();
    assert!(!id.is_empty(), "the response carries a request id");
    let sent: Vec<String> = app
        .backend_requests()
        .await
        .iter()
        .filter_map(|r| {
            r.headers
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        })
        .collect();
    assert_eq!(
        sent,
        [id.clone(), id],
        "both backend calls carry the generated id"
    );
}

#[tokio::test]
async fn metrics_count_page_requests_under_the_frontend_prefix() {
    let app = TestApp::spawn().await;
    let missing = app.get("/no-such-page").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let login = app.get("/login").await;
    assert_eq!(login.status, StatusCode::OK);
    let page = app.get("/metrics").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.header("content-type")
            .starts_with("application/openmetrics-text"),
        "{}",
        page.header("content-type")
    );
    assert!(
        page.body.contains("taskflow_frontend_http_requests_total"),
        "{}",
        page.body
    );
    assert!(
        page.body.lines().any(
            |line| line.starts_with("taskflow_frontend_http_requests_total")
                && line.contains("route=\"/login\"")
                && line.contains("status=\"200\"")
        ),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains("taskflow_frontend_http_request_duration_seconds")
    );
    assert!(
        page.body
            .lines()
            .any(|line| line.contains("route=\"unmatched\"") && line.contains("status=\"404\"")),
        "unknown paths share one label: {}",
        page.body
    );
}
