//! Health, readiness, metrics, the API description, request ids, CORS and error shapes.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl as _};
use reqwest::header::{self, HeaderMap};
use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};
use taskflow_backend::db::MIGRATION_LOCK_KEY;
use uuid::Uuid;

use crate::helpers::{
    TestApp, TestDb, assert_error, json_body, spawn_app, spawn_app_with, start, test_config,
};

const REQUEST_ID: &str = "x-request-id";
const GENERIC_INTERNAL_MESSAGE: &str = "Something went wrong on our side.";

/// Every documented path with the methods it must offer.
const DOCUMENTED_ROUTES: &[(&str, &[&str])] = &[
    ("/api/auth/register", &["post"]),
    ("/api/auth/login", &["post"]),
    ("/api/auth/me", &["get"]),
    ("/api/auth/logout", &["post"]),
    ("/api/tasks", &["get", "post"]),
    ("/api/tasks/{id}", &["get", "patch", "delete"]),
    ("/api/tasks/stats", &["get"]),
    ("/api/chat", &["post"]),
    ("/api/conversations", &["get"]),
    ("/api/conversations/{id}", &["get", "delete"]),
    ("/api/conversations/{id}/messages", &["get"]),
    ("/mcp", &["post"]),
    ("/healthz", &["get"]),
    ("/readyz", &["get"]),
];

/// Paths whose operations need a bearer token.
const PROTECTED_PATHS: &[&str] = &[
    "/api/auth/me",
    "/api/auth/logout",
    "/api/tasks",
    "/api/tasks/{id}",
    "/api/tasks/stats",
    "/api/chat",
    "/api/conversations",
    "/api/conversations/{id}",
    "/api/conversations/{id}/messages",
    "/mcp",
];

/// Request and response types the document must describe.
const COMPONENT_SCHEMAS: &[&str] = &[
    "RegisterRequest",
    "LoginRequest",
    "LoginResponse",
    "UserResponse",
    "CreateTaskRequest",
    "UpdateTaskRequest",
    "TaskResponse",
    "TaskListResponse",
    "TaskStatsResponse",
    "ChatRequest",
    "ChatResponse",
    "ConversationResponse",
    "ConversationListResponse",
    "MessageListResponse",
    "ErrorBody",
    "HealthResponse",
];

const HTTP_METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

fn content_type(headers: &HeaderMap) -> &str {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
}

fn request_id(response: &Response) -> Option<String> {
    response
        .headers()
        .get(REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
}

/// Fetches the OpenAPI document.
async fn openapi_document(app: &TestApp) -> Value {
    let response = app.get("/api/openapi.json", None).await;
    assert!(
        content_type(response.headers()).starts_with("application/json"),
        "{:?}",
        response.headers()
    );
    json_body(response, StatusCode::OK).await
}

/// The (path, method) pairs of the document, methods in lower case.
fn documented_operations(doc: &Value) -> Vec<(String, String)> {
    let paths = doc["paths"].as_object().expect("the document has paths");
    let mut operations = Vec::new();
    for (path, item) in paths {
        let item = item.as_object().expect("a path item is an object");
        for method in item
            .keys()
            .filter(|key| HTTP_METHODS.contains(&key.as_str()))
        {
            operations.push((path.clone(), method.clone()));
        }
    }
    operations
}

/// Every `$ref` anywhere below `value`.
fn collect_refs(value: &Value, refs: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                match (key.as_str(), inner) {
                    ("$ref", Value::String(reference)) => {
                        refs.insert(reference.clone());
                    }
                    _ => collect_refs(inner, refs),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|inner| collect_refs(inner, refs)),
        _ => {}
    }
}

/// The values of every `route="..."` label in a metrics text.
fn route_labels(metrics: &str) -> BTreeSet<String> {
    metrics
        .split("route=\"")
        .skip(1)
        .filter_map(|rest| rest.split_once('"').map(|(value, _)| value.to_owned()))
        .collect()
}

async fn preflight(app: &TestApp, origin: &str) -> Response {
    app.client
        .request(Method::OPTIONS, app.url("/api/tasks"))
        .header(header::ORIGIN, origin)
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
        .header(
            header::ACCESS_CONTROL_REQUEST_HEADERS,
            "authorization, content-type",
        )
        .send()
        .await
        .expect("sending the preflight")
}

fn assert_no_wildcard_or_credentials(headers: &HeaderMap, case: &str) {
    assert_ne!(
        headers
            .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
            .map(|v| v.as_bytes()),
        Some(&b"*"[..]),
        "{case}: the allowed origin must never be `*`"
    );
    assert!(
        !headers
            .get(header::ACCESS_CONTROL_ALLOW_CREDENTIALS)
            .is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"true")),
        "{case}: credentials must never be allowed: {headers:?}"
    );
}

async fn admin_connection() -> AsyncPgConnection {
    let url = std::env::var("TEST_DATABASE_URL")
        .expect("TEST_DATABASE_URL is set by scripts/with-postgres.sh");
    AsyncPgConnection::establish(&url)
        .await
        .expect("connecting to TEST_DATABASE_URL")
}

/// The database name in a connection URL built by the harness.
fn database_name(url: &str) -> String {
    let base = url.split_once('?').map_or(url, |(base, _)| base);
    base.rsplit('/')
        .next()
        .expect("the URL names a database")
        .to_owned()
}

#[tokio::test]
async fn liveness_and_readiness_answer_once_migrated() {
    let app = spawn_app().await;
    let health = json_body(app.get("/healthz", None).await, StatusCode::OK).await;
    assert_eq!(health["status"], "ok");
    let ready = json_body(app.get("/readyz", None).await, StatusCode::OK).await;
    assert_eq!(ready["status"], "ready");
}

/// A request that the framework (not a handler) refuses, and the expected answer.
struct ErrorCase {
    case: &'static str,
    method: Method,
    path: &'static str,
    body_type: Option<&'static str>,
    body: Option<String>,
    status: StatusCode,
    code: &'static str,
}

impl ErrorCase {
    fn new(
        case: &'static str,
        method: Method,
        path: &'static str,
        status: StatusCode,
        code: &'static str,
    ) -> Self {
        Self {
            case,
            method,
            path,
            body_type: None,
            body: None,
            status,
            code,
        }
    }

    fn body(self, body_type: Option<&'static str>, body: &str) -> Self {
        Self {
            body_type,
            body: Some(body.to_owned()),
            ..self
        }
    }
}

#[tokio::test]
async fn framework_level_errors_have_the_json_error_shape() {
    let app = spawn_app_with(&[("BODY_LIMIT_BYTES", "2048")]).await;
    let oversized =
        json!({ "name": "Big", "email": "big@example.com", "password": "p".repeat(4096) })
            .to_string();
    let register = "/api/auth/register";
    let cases = [
        ErrorCase::new(
            "unknown route",
            Method::GET,
            "/api/nope",
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        ErrorCase::new(
            "unknown route outside /api",
            Method::GET,
            "/nope",
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        ErrorCase::new(
            "wrong method on a known route",
            Method::PUT,
            "/api/tasks",
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        ),
        ErrorCase::new(
            "wrong method on the health check",
            Method::POST,
            "/healthz",
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        ),
        ErrorCase::new(
            "body over BODY_LIMIT_BYTES",
            Method::POST,
            register,
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        )
        .body(Some("application/json"), &oversized),
        ErrorCase::new(
            "text/plain body",
            Method::POST,
            register,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        )
        .body(
            Some("text/plain"),
            r#"{"name":"a","email":"a@example.com","password":"long enough"}"#,
        ),
        ErrorCase::new(
            "no content type",
            Method::POST,
            register,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        )
        .body(None, "{}"),
        ErrorCase::new(
            "broken JSON",
            Method::POST,
            register,
            StatusCode::BAD_REQUEST,
            "bad_request",
        )
        .body(Some("application/json"), r#"{"name": "a","#),
        ErrorCase::new(
            "unknown field",
            Method::POST,
            register,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        )
        .body(Some("application/json"), r#"{"nmae": "a"}"#),
    ];
    for ErrorCase {
        case,
        method,
        path,
        body_type,
        body,
        status,
        code,
    } in cases
    {
        let mut request = app.client.request(method, app.url(path));
        if let Some(body_type) = body_type {
            request = request.header(header::CONTENT_TYPE, body_type);
        }
        if let Some(body) = body {
            request = request.body(body);
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|err| panic!("{case}: sending failed: {err}"));
        let actual = response.status();
        let headers = response.headers().clone();
        let text = response
            .text()
            .await
            .unwrap_or_else(|err| panic!("{case}: reading the body failed: {err}"));
        assert_eq!(actual, status, "{case}: status; body: {text}");
        assert_eq!(
            content_type(&headers),
            "application/json",
            "{case}: content type; body: {text}"
        );
        assert!(
            headers.contains_key(REQUEST_ID),
            "{case}: error responses carry a request id"
        );
        let body: Value = serde_json::from_str(&text)
            .unwrap_or_else(|err| panic!("{case}: body is not JSON ({err}): {text}"));
        assert_eq!(body["error"]["code"], code, "{case}: code; body: {text}");
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{case}: message; body: {text}"
        );
        assert_eq!(
            body.as_object().map(serde_json::Map::len),
            Some(1),
            "{case}: only `error` at the top level; body: {text}"
        );
    }
}

#[tokio::test]
async fn every_response_carries_a_generated_request_id_unless_the_client_sent_one() {
    let app = spawn_app().await;
    for path in ["/healthz", "/api/nope"] {
        let generated = request_id(&app.get(path, None).await)
            .unwrap_or_else(|| panic!("{path}: no x-request-id"));
        assert!(
            Uuid::parse_str(&generated).is_ok(),
            "{path}: generated id {generated:?} is not a UUID"
        );
        let another = request_id(&app.get(path, None).await)
            .unwrap_or_else(|| panic!("{path}: no x-request-id"));
        assert_ne!(generated, another, "{path}: each request gets its own id");

        let echoed = app
            .client
            .get(app.url(path))
            .header(REQUEST_ID, "abc-123")
            .send()
            .await
            .expect("sending");
        assert_eq!(
            request_id(&echoed).as_deref(),
            Some("abc-123"),
            "{path}: the client's id is echoed unchanged"
        );
    }
}

#[tokio::test]
async fn metrics_count_requests_by_route_template_without_user_data() {
    let app = spawn_app().await;
    let user = app.signed_up_user().await;
    assert_error(
        app.get("/api/tasks/12345", Some(&user.token)).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    json_body(
        app.get("/api/tasks?search=secret-search-text", Some(&user.token))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_error(
        app.get("/api/does-not-exist-98765", None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    json_body(
        app.get("/api/auth/me", Some(&user.token)).await,
        StatusCode::OK,
    )
    .await;

    let response = app.get("/metrics", None).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        content_type(response.headers()).starts_with("application/openmetrics-text"),
        "content type: {:?}",
        response.headers().get(header::CONTENT_TYPE)
    );
    let metrics = response.text().await.expect("reading the metrics");

    for expected in [
        "taskflow_http_requests_total{",
        "taskflow_http_requests_total{method=\"GET\",route=\"/api/tasks/{id}\",status=\"404\"} 1\n",
        "taskflow_http_requests_total{method=\"POST\",route=\"/api/auth/register\",status=\"201\"} 1\n",
        "taskflow_http_requests_total{method=\"POST\",route=\"/api/auth/login\",status=\"200\"} 1\n",
        "status=\"404\"",
        "taskflow_http_request_duration_seconds_bucket{",
        "taskflow_http_request_duration_seconds_count{method=\"GET\",route=\"/api/tasks/{id}\"} 1\n",
        "taskflow_db_pool_max_connections ",
        "taskflow_db_pool_connections ",
        "taskflow_db_pool_idle_connections ",
        "taskflow_db_pool_waiting_requests ",
        "# EOF",
    ] {
        assert!(
            metrics.contains(expected),
            "`{expected}` missing from the metrics:\n{metrics}"
        );
    }
    let routes = route_labels(&metrics);
    for route in &routes {
        assert!(
            !route.contains("12345") && !route.contains("98765"),
            "a concrete path leaked into a route label: {route}"
        );
        assert!(
            !route.contains('?'),
            "a query string leaked into a route label: {route}"
        );
    }
    assert!(routes.contains("/api/tasks"), "routes: {routes:?}");
    for secret in [
        user.email.as_str(),
        user.token.as_str(),
        user.password.as_str(),
        "secret-search-text",
    ] {
        assert!(
            !metrics.contains(secret),
            "`{secret}` leaked into the metrics"
        );
    }
    assert!(
        !metrics.contains(&user.id.to_string()),
        "the user id leaked into the metrics"
    );
    assert!(
        !metrics.contains('@'),
        "an email address leaked into the metrics"
    );
}

#[tokio::test]
async fn the_openapi_document_describes_every_route_its_security_and_its_types() {
    let app = spawn_app().await;
    let doc = openapi_document(&app).await;
    assert!(
        doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")),
        "openapi version: {}",
        doc["openapi"]
    );
    assert!(
        doc["info"]["title"].as_str().is_some_and(|t| !t.is_empty()),
        "info.title"
    );

    let mut documented: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (path, method) in documented_operations(&doc) {
        documented.entry(path).or_default().insert(method);
    }
    for (path, methods) in DOCUMENTED_ROUTES {
        let expected: BTreeSet<String> = methods.iter().map(|m| (*m).to_owned()).collect();
        assert_eq!(
            documented.get(*path),
            Some(&expected),
            "methods of {path}; document has {documented:?}"
        );
    }

    let schemes = doc["components"]["securitySchemes"]
        .as_object()
        .expect("security schemes");
    let bearer = schemes
        .iter()
        .find(|(_, scheme)| {
            scheme["type"] == "http"
                && scheme["scheme"]
                    .as_str()
                    .is_some_and(|s| s.eq_ignore_ascii_case("bearer"))
        })
        .map(|(name, _)| name.clone())
        .unwrap_or_else(|| panic!("no bearer scheme in {schemes:?}"));
    for (path, method) in documented_operations(&doc) {
        let security = &doc["paths"][&path][&method]["security"];
        let uses_bearer = security
            .as_array()
            .is_some_and(|requirements| requirements.iter().any(|r| r.get(&bearer).is_some()));
        assert_eq!(
            uses_bearer,
            PROTECTED_PATHS.contains(&path.as_str()),
            "{method} {path}: security {security}"
        );
        assert!(
            doc["paths"][&path][&method]["responses"]
                .as_object()
                .is_some_and(|r| !r.is_empty()),
            "{method} {path} documents its responses"
        );
    }

    let schemas = doc["components"]["schemas"]
        .as_object()
        .expect("component schemas");
    for name in COMPONENT_SCHEMAS {
        assert!(
            schemas.contains_key(*name),
            "schema {name} missing; have {:?}",
            schemas.keys().collect::<Vec<_>>()
        );
    }
    let mut refs = BTreeSet::new();
    collect_refs(&doc, &mut refs);
    assert!(!refs.is_empty(), "the document references its schemas");
    for reference in refs {
        let target = reference
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("external reference {reference}"));
        assert!(
            doc.pointer(target).is_some(),
            "dangling reference {reference}"
        );
    }
}

#[tokio::test]
async fn every_documented_operation_is_routed_and_undocumented_methods_are_refused() {
    let app = spawn_app().await;
    let doc = openapi_document(&app).await;
    let operations = documented_operations(&doc);
    assert!(operations.len() >= 11, "operations: {operations:?}");
    for (path, method) in &operations {
        let concrete = path.replace("{id}", "1");
        let method = Method::from_bytes(method.to_uppercase().as_bytes()).expect("an HTTP method");
        let body = matches!(method, Method::POST | Method::PATCH).then(|| json!({}));
        let response = app
            .request(method.clone(), &concrete, None, body.as_ref())
            .await;
        let status = response.status();
        let text = response.text().await.expect("reading the body");
        assert!(
            status != StatusCode::NOT_FOUND && status != StatusCode::METHOD_NOT_ALLOWED,
            "{method} {concrete} is documented but answers {status}: {text}"
        );
    }
    for (path, methods) in DOCUMENTED_ROUTES {
        let concrete = path.replace("{id}", "1");
        for method in [
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ] {
            if methods.contains(&method.as_str().to_lowercase().as_str()) {
                continue;
            }
            let response = app.request(method.clone(), &concrete, None, None).await;
            let status = response.status();
            let body = response.text().await.expect("reading the body");
            assert_eq!(
                status,
                StatusCode::METHOD_NOT_ALLOWED,
                "{method} {concrete} is undocumented: {body}"
            );
            assert!(
                body.contains("\"method_not_allowed\""),
                "{method} {concrete}: {body}"
            );
        }
    }
}

#[tokio::test]
async fn the_api_page_lists_every_path_and_loads_nothing_from_elsewhere() {
    let app = spawn_app().await;
    let doc = openapi_document(&app).await;
    let response = app.get("/api/docs", None).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        content_type(response.headers()).starts_with("text/html"),
        "{:?}",
        response.headers()
    );
    let html = response.text().await.expect("reading the page");
    let paths = doc["paths"].as_object().expect("paths");
    for (path, _) in DOCUMENTED_ROUTES {
        assert!(paths.contains_key(*path), "{path} is in the document");
    }
    for path in paths.keys() {
        assert!(
            html.contains(&format!("<code>{path}</code>")),
            "{path} missing from the page"
        );
    }
    let lower = html.to_lowercase();
    for forbidden in [
        "http://",
        "https://",
        "<script src",
        "src=\"//",
        "href=\"//",
        "@import",
    ] {
        assert!(
            !lower.contains(forbidden),
            "the page contains `{forbidden}`"
        );
    }
}

#[tokio::test]
async fn cross_origin_requests_are_refused_by_default() {
    let app = spawn_app().await;
    let response = preflight(&app, "https://evil.example").await;
    assert!(
        !response.status().is_server_error(),
        "preflight: {}",
        response.status()
    );
    let headers = response.headers();
    assert!(
        !headers.contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN),
        "preflight allowed: {headers:?}"
    );
    assert_no_wildcard_or_credentials(headers, "default preflight");

    let simple = app
        .client
        .get(app.url("/healthz"))
        .header(header::ORIGIN, "https://evil.example")
        .send()
        .await
        .expect("sending");
    assert_eq!(simple.status(), StatusCode::OK);
    assert!(
        !simple
            .headers()
            .contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN),
        "simple request allowed: {:?}",
        simple.headers()
    );
}

#[tokio::test]
async fn only_configured_origins_may_call_the_api_cross_origin() {
    let app = spawn_app_with(&[("CORS_ALLOWED_ORIGINS", "https://app.example")]).await;

    let allowed = preflight(&app, "https://app.example").await;
    assert!(
        allowed.status().is_success(),
        "allowed preflight: {}",
        allowed.status()
    );
    let headers = allowed.headers();
    assert_eq!(
        headers
            .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
            .map(|v| v.as_bytes()),
        Some(&b"https://app.example"[..]),
        "{headers:?}"
    );
    let methods = headers
        .get(header::ACCESS_CONTROL_ALLOW_METHODS)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(methods.contains("POST"), "allowed methods: {methods}");
    let allowed_headers = headers
        .get(header::ACCESS_CONTROL_ALLOW_HEADERS)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_lowercase();
    assert!(
        allowed_headers.contains("authorization") && allowed_headers.contains("content-type"),
        "{allowed_headers}"
    );
    assert_no_wildcard_or_credentials(headers, "allowed preflight");

    let simple = app
        .client
        .get(app.url("/healthz"))
        .header(header::ORIGIN, "https://app.example")
        .send()
        .await
        .expect("sending");
    assert_eq!(
        simple
            .headers()
            .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
            .map(|v| v.as_bytes()),
        Some(&b"https://app.example"[..]),
        "{:?}",
        simple.headers()
    );
    assert_no_wildcard_or_credentials(simple.headers(), "allowed simple request");

    for origin in [
        "https://evil.example",
        "https://app.example.evil.example",
        "http://app.example",
        "null",
    ] {
        let refused = preflight(&app, origin).await;
        assert!(
            !refused
                .headers()
                .contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN),
            "{origin}: {:?}",
            refused.headers()
        );
        assert_no_wildcard_or_credentials(refused.headers(), origin);
    }
}

/// Asserts the state of an app whose schema is not migrated yet.
async fn assert_alive_but_not_ready(app: &TestApp) {
    let health = json_body(app.get("/healthz", None).await, StatusCode::OK).await;
    assert_eq!(health["status"], "ok");
    assert_error(
        app.get("/readyz", None).await,
        StatusCode::SERVICE_UNAVAILABLE,
        "not_ready",
    )
    .await;
    assert_error(
        app.get("/api/tasks", None).await,
        StatusCode::SERVICE_UNAVAILABLE,
        "unavailable",
    )
    .await;
    let register = app
        .register("Early", "early@example.com", "long enough password")
        .await;
    assert_error(register, StatusCode::SERVICE_UNAVAILABLE, "unavailable").await;
    assert_eq!(
        app.get("/api/openapi.json", None).await.status(),
        StatusCode::OK,
        "the API description needs no database"
    );
}

#[tokio::test]
async fn readiness_waits_for_migrations_that_another_process_is_holding_up() {
    let db = TestDb::empty().await;
    // Holding the migration lock stands for another replica that is migrating right now.
    let mut holder = db.connection().await;
    diesel::sql_query(format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})"))
        .execute(&mut holder)
        .await
        .expect("taking the migration lock");
    let config = test_config(db.url(), &[]);
    let app = start(config, db).await;

    assert_alive_but_not_ready(&app).await;

    diesel::sql_query(format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})"))
        .execute(&mut holder)
        .await
        .expect("releasing the migration lock");
    app.wait_until_ready().await;
    let ready = json_body(app.get("/readyz", None).await, StatusCode::OK).await;
    assert_eq!(ready["status"], "ready");
    assert_error(
        app.get("/api/tasks", None).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;
    app.signed_up_user().await;
}

#[tokio::test]
async fn the_service_migrates_a_database_that_appears_after_it_started() {
    let db = TestDb::empty().await;
    let name = database_name(db.url());
    let mut admin = admin_connection().await;
    diesel::sql_query(format!("DROP DATABASE {name} WITH (FORCE)"))
        .execute(&mut admin)
        .await
        .expect("dropping");
    let app = start(test_config(db.url(), &[]), db).await;

    assert_alive_but_not_ready(&app).await;

    diesel::sql_query(format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .expect("creating the database");
    let started = Instant::now();
    app.wait_until_ready().await;
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "recovered only after {:?}",
        started.elapsed()
    );
    app.signed_up_user().await;
}

#[tokio::test]
async fn server_errors_carry_no_internal_detail() {
    let app = spawn_app().await;
    let user = app.signed_up_user().await;
    let task = app
        .create_task(&user, &json!({ "title": "Sabotaged" }))
        .await;
    let mut conn = app.db.connection().await;
    diesel::sql_query("ALTER TABLE tasks RENAME COLUMN title TO title_x")
        .execute(&mut conn)
        .await
        .expect("sabotaging tasks");

    let id = task["id"].as_i64().expect("task id");
    let cases = [
        ("list", Method::GET, "/api/tasks".to_owned(), None),
        (
            "create",
            Method::POST,
            "/api/tasks".to_owned(),
            Some(json!({ "title": "Another" })),
        ),
        ("read", Method::GET, format!("/api/tasks/{id}"), None),
    ];
    for (case, method, path, body) in cases {
        let response = app
            .request(method, &path, Some(&user.token), body.as_ref())
            .await;
        assert!(
            request_id(&response).is_some(),
            "{case}: a 500 still carries a request id"
        );
        let body = assert_error(response, StatusCode::INTERNAL_SERVER_ERROR, "internal").await;
        assert_eq!(
            body["error"]["message"], GENERIC_INTERNAL_MESSAGE,
            "{case}: {body}"
        );
        assert!(body["error"].get("fields").is_none(), "{case}: {body}");
        let text = body.to_string().to_lowercase();
        for leak in [
            "title_x", "column", "relation", "select", "tasks", "diesel", "postgres", "sql",
        ] {
            assert!(!text.contains(leak), "{case}: `{leak}` leaked: {text}");
        }
    }
}
