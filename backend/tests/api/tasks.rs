//! The tasks API: create, read, update, delete, listing (filters, sorting, pages), stats,
//! validation, malformed ids and isolation between users.

use std::collections::{BTreeSet, HashSet};

use chrono::{DateTime, Days, NaiveDate, Utc};
use reqwest::{Response, StatusCode, header};
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestUser, assert_error, json_body, spawn_app};

/// `/api/tasks/{id}` of a task as the API returned it.
fn task_path(task: &Value) -> String {
    format!("/api/tasks/{}", task["id"])
}

/// Reads one task, expecting 200.
async fn get_task(app: &TestApp, user: &TestUser, task: &Value) -> Value {
    json_body(
        app.get(&task_path(task), Some(&user.token)).await,
        StatusCode::OK,
    )
    .await
}

/// Patches one task, expecting 200, and returns the updated task.
async fn patch_task(app: &TestApp, user: &TestUser, task: &Value, body: &Value) -> Value {
    json_body(
        app.patch(&task_path(task), Some(&user.token), body).await,
        StatusCode::OK,
    )
    .await
}

/// `GET /api/tasks?{query}`, expecting 200.
async fn list(app: &TestApp, user: &TestUser, query: &str) -> Value {
    json_body(
        app.get(&format!("/api/tasks?{query}"), Some(&user.token))
            .await,
        StatusCode::OK,
    )
    .await
}

/// `GET /api/tasks/stats`, expecting 200.
async fn stats(app: &TestApp, user: &TestUser) -> Value {
    json_body(
        app.get("/api/tasks/stats", Some(&user.token)).await,
        StatusCode::OK,
    )
    .await
}

/// The titles of a listing, in order.
fn titles(page: &Value) -> Vec<String> {
    page["tasks"]
        .as_array()
        .expect("`tasks` is an array")
        .iter()
        .map(|task| {
            task["title"]
                .as_str()
                .expect("every task has a title")
                .to_owned()
        })
        .collect()
}

/// The ids of a listing, in order.
fn ids(page: &Value) -> Vec<i64> {
    page["tasks"]
        .as_array()
        .expect("`tasks` is an array")
        .iter()
        .map(|task| task["id"].as_i64().expect("every task has a numeric id"))
        .collect()
}

/// Creates one task per title, in order.
async fn create_titled(app: &TestApp, user: &TestUser, titles: &[&str]) -> Vec<Value> {
    let mut tasks = Vec::with_capacity(titles.len());
    for title in titles {
        tasks.push(app.create_task(user, &json!({ "title": title })).await);
    }
    tasks
}

/// A timestamp field of a task, checked to be RFC 3339 in UTC with a `Z` suffix.
fn timestamp(task: &Value, field: &str) -> DateTime<Utc> {
    let raw = task[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} is a string: {task}"));
    assert!(raw.ends_with('Z'), "{field} ends in Z: {raw}");
    DateTime::parse_from_rfc3339(raw)
        .unwrap_or_else(|err| panic!("{field} is RFC 3339 ({err}): {raw}"))
        .with_timezone(&Utc)
}

/// Percent-encodes a query value completely, so `%`, `_` and friends arrive literally.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|byte| {
            if byte.is_ascii_alphanumeric() {
                char::from(byte).to_string()
            } else {
                format!("%{byte:02X}")
            }
        })
        .collect()
}

/// Asserts a 422 `validation_failed` whose `fields` are exactly `expected`, naming `case` on failure.
async fn assert_fields(response: Response, case: &str, expected: &[&str]) {
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
        "{case}: code; body: {text}"
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{case}: message; body: {text}"
    );
    let fields = body["error"]["fields"]
        .as_object()
        .unwrap_or_else(|| panic!("{case}: `fields` is an object; body: {text}"));
    let actual: BTreeSet<&str> = fields.keys().map(String::as_str).collect();
    let wanted: BTreeSet<&str> = expected.iter().copied().collect();
    assert_eq!(actual, wanted, "{case}: fields; body: {text}");
    for (field, message) in fields {
        assert!(
            message.as_str().is_some_and(|m| !m.is_empty()),
            "{case}: message for {field}; body: {text}"
        );
    }
}

/// A raw request body sent as JSON, for bodies `serde_json::Value` cannot express.
async fn send_raw_json(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    user: &TestUser,
    body: &str,
) -> Response {
    app.client
        .request(method, app.url(path))
        .bearer_auth(&user.token)
        .header(header::CONTENT_TYPE, "application/json")
        .body(body.to_owned())
        .send()
        .await
        .expect("sending the request")
}

fn today() -> NaiveDate {
    Utc::now().date_naive()
}

// ---- create ----

#[tokio::test]
async fn creating_a_task_answers_201_with_a_location_that_resolves() {
    let app = spawn_app().await;
    let user = app.signed_up_user().await;
    let response = app
        .post(
            "/api/tasks",
            Some(&user.token),
            &json!({ "title": "Buy milk" }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let location = response.headers()[header::LOCATION]
        .to_str()
        .expect("Location is text")
        .to_owned();
    let created = response.json::<Value>().await.expect("task body is JSON");
    let id = created["id"].as_i64().expect("numeric id");
    assert_eq!(location, format!("/api/tasks/{id}"));
    let fetched = json_body(app.get(&location, Some(&user.token)).await, StatusCode::OK).await;
    assert_eq!(fetched, created);
}

#[tokio::test]
async fn a_new_task_gets_the_documented_defaults() {
    let app = spawn_app().await;
    let user = app.signed_up_user().await;
    let task = app
        .create_task(&user, &json!({ "title": "Defaults" }))
        .await;
    assert_eq!(task["title"], "Defaults");
    assert_eq!(task["completed"], false);
    assert_eq!(task["priority"], "medium");
    assert_eq!(task["description"], Value::Null);
    assert_eq!(task["due_date"], Value::Null);
    assert_eq!(task["tags"], json!([]));
    let keys: BTreeSet<&str> = task
        .as_object()
        .expect("task is an object")
        .keys()
        .map(String::as_str)
        .collect();
    let expected: BTreeSet<&str> = [
        "id",
        "title",
        "description",
        "completed",
        "priority",
        "due_date",
        "tags",
        "created_at",
        "updated_at",
    ]
    .into();
    assert_eq!(keys, expected, "task fields: {task}");
}

#[tokio::test]
async fn every_field_can_be_set_at_creation() {
    let app = spawn_app().await;
    let user = app.signed_up_user().await;
    let task = app
        .create_task(
            &user,
            &json!({
                "title": "Full",
                "description": "line one\nline two",
                "priority": "HIGH",
                "due_date": "2030-06-15",
                "tags": ["work"],
                "completed": true,
            }),
        )
        .await;
    assert_eq!(task["description"], "line one\nline two");
    assert_eq!(task["priority"], "high");
    assert_eq!(task["due_date"], "2030-06-15");
    assert_eq!(task["tags"], json!(["work"]));
    assert_eq!(task["completed"], true);
    assert_eq!(get_task(&app, &user, &task).await, task);
}

#[tokio::test]
async fn the_title_is_trimmed_and_tags_are_lowercased_and_deduplicated() {
    let app = spawn_app().await;
    let user = app.signed_up_user().await;
    let task = app
        .create_task(&user, &json!({ "title": "  \t Buy milk  ", "tags": ["Work", " work ", "HOME", "home", "Äpfel"] }))
        .await;
    assert_eq!(task["title"], "Buy milk");
    assert_eq!(task["tags"], json!(["work", "home", "äpfel"]));
}

#[tokio::test]
async fn a_new_task_has_equal_rfc3339_utc_creation_and_update_times() {
    let app = spawn_app().await;
    let user = app.signed_up_user().await;
    let before = Utc::now();
    let task = app
        .create_task(&user, &json!({ "title": "Timestamps" }))
        .await;
    let after = Utc::now();
    let created_at = timestamp(&task, "created_at");
    let updated_at = timestamp(&task, "updated_at");
    assert_eq!(created_at, updated_at);
    assert_eq!(task["created_at"], task["updated_at"]);
    let slack = chrono::Duration::seconds(5);
    assert!(
        created_at > before - slack && created_at < after + slack,
        "{created_at} is about now"
    );
}

#[tokio::test]
async fn invalid_create_inputs_are_rejected_with_the_field_named() {
    let app = spawn_app().await;
    let user = app.signed_up_user().await;
    let eleven_tags: Vec<String> = (0..11).map(|i| format!("t{i}")).collect();
    let cases: Vec<(&str, Value, &str)> = vec![
        ("missing title", json!({}), "title"),
        ("blank title", json!({ "title": "" }), "title"),
        (
            "whitespace-only title",
            json!({ "title": " \t  " }),
            "title",
        ),
        (
            "201-character title",
            json!({ "title": "t".repeat(201) }),
            "title",
        ),
        (
            "title with a newline",
            json!({ "title": "two\nlines" }),
            "title",
        ),
        (
            "title with a control character",
            json!({ "title": "bell\u{7}" }),
            "title",
        ),
        (
            "1001-character description",
            json!({ "title": "ok", "description": "d".repeat(1001) }),
            "description",
        ),
        (
            "unknown priority",
            json!({ "title": "ok", "priority": "urgent" }),
            "priority",
        ),
        (
            "blank priority",
            json!({ "title": "ok", "priority": "" }),
            "priority",
        ),
        (
            "due date 2026-02-30",
            json!({ "title": "ok", "due_date": "2026-02-30" }),
            "due_date",
        ),
        (
            "due date tomorrow",
            json!({ "title": "ok", "due_date": "tomorrow" }),
            "due_date",
        ),
        (
            "due date 26-01-01",
            json!({ "title": "ok", "due_date": "26-01-01" }),
            "due_date",
        ),
        (
            "due date with a time",
            json!({ "title": "ok", "due_date": "2026-01-01T00:00:00Z" }),
            "due_date",
        ),
        (
            "11 tags",
            json!({ "title": "ok", "tags": eleven_tags }),
            "tags",
        ),
        (
            "31-character tag",
            json!({ "title": "ok", "tags": ["x".repeat(31)] }),
            "tags",
        ),
        (
            "blank tag",
            json!({ "title": "ok", "tags": ["work", " "] }),
            "tags",
        ),
        (
            "tag with a comma",
            json!({ "title": "ok", "tags": ["a,b"] }),
            "tags",
        ),
    ];
    for (case, body, field) in cases {
        assert_fields(
            app.post("/api/tasks", Some(&user.token), &body).await,
            case,
            &[field],
        )
        .await;
    }
    assert_eq!(
        list(&app, &user, "").await["total"],
        0,
        "no invalid task was stored"
    );
}

#[tokio::test]
async fn limits_count_characters_not_bytes() {
    let app = spawn_app().await;
    let user = app.signed_up_user().await;
    let title = "ü".repeat(200);
    let description = "ö".repeat(1000);
    let tag = "ä".repeat(30);
    let task = app
        .create_task(
            &user,
            &json!({ "title": title, "description": description, "tags": [tag] }),
        )
        .await;
    assert_eq!(task["title"], title);
    assert_eq!(task["description"], description);
    assert_eq!(task["tags"], json!([tag]));
    let too_long = json!({ "title": "ü".repeat(201) });
    assert_fields(
        app.post("/api/tasks", Some(&user.token), &too_long).await,
        "201 × ü",
        &["title"],
    )
    .await;
}

#[tokio::test]
async fn several_invalid_fields_are_reported_together() {
    let app = spawn_app().await;
    let user = app.signed_up_user().await;
    let body = json!({
        "title": " ",
        "description": "d".repeat(1001),
        "priority": "urgent",
        "due_date": "2026-02-30",
        "tags": ["a,b"],
    });
    let response = app.post("/api/tasks", Some(&user.token), &body).await;
    assert_fields(
        response,
        "everything invalid",
        &["title", "description", "priority", "due_date", "tags"],
    )
    .await;
}

#[tokio::test]
async fn an_unknown_or_mistyped_field_is_an_invalid_body() {
    let app = spawn_app().await;
    let user = app.signed_up_user().await;
    let cases = [
        (
            "unknown field",
            json!({ "title": "ok", "owner": "someone" }),
        ),
        (
            "user_id in the body",
            json!({ "title": "ok", "user_id": user.id }),
        ),
        ("number as title", json!({ "title": 5 })),
        ("null title", json!({ "title": null })),
        (
            "string as completed",
            json!({ "title": "ok", "completed": "yes" }),
        ),
        ("string as tags", json!({ "title": "ok", "tags": "work" })),
        ("array as body", json!(["ok"])),
        ("string as body", json!("ok")),
    ];
    for (case, body) in cases {
        let response = app.post("/api/tasks", Some(&user.token), &body).await;
        let status = response.status();
        let error: Value = response.json().await.expect("error body is JSON");
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{case}: {error}");
        assert_eq!(error["error"]["code"], "invalid_body", "{case}: {error}");
    }
    assert_eq!(
        list(&app, &user, "").await["total"],
        0,
        "no task was stored"
    );
}

#[tokio::test]
async fn broken_json_is_a_bad_request() {
    let app = spawn_app().await;
    let user = app.signed_up_user().await;
    for (case, raw) in [
        ("truncated", r#"{"title": "#),
        ("trailing comma", r#"{"title": "x",}"#),
        ("empty", ""),
    ] {
        let response = send_raw_json(&app, reqwest::Method::POST, "/api/tasks", &user, raw).await;
        let status = response.status();
        let error: Value = response.json().await.expect("error body is JSON");
        assert_eq!(status, StatusCode::BAD_REQUEST, "{case}: {error}");
        assert_eq!(error["error"]["code"], "bad_request", "{case}: {error}");
    }
}

// ---- get, patch, delete ----

#[tokio::test]
async fn a_patch_changes_only_the_fields_sent() {
    let app = spawn_app().await;
    let user = app.signed_up_user().await;
    let original = app
        .create_task(
            &user,
            &json!({ "title": "Keep", "description": "desc", "priority": "high", "due_date": "2030-01-02", "tags": ["a", "b"] }),
        )
        .await;
    let changes = [
        ("title", json!("  New title "), json!("New title")),
        ("description", json!("new desc"), json!("new desc")),
        ("priority", json!("low"), json!("low")),
        ("due_date", json!("2031-03-04"), json!("2031-03-04")),
        ("tags", json!(["X", "y"]), json!(["x", "y"])),
        ("completed", json!(true), json!(true)),
    ];
    let mut expected = original.clone();
    for (field, sent, stored) in changes {
        let before = get_task(&app, &user, &original).await;
        let updated = patch_task(&app, &user, &original, &json!({ field: sent })).await;
        expected[field] = stored;
        expected["updated_at"] = updated["updated_at"].clone();
        assert_eq!(updated, expected, "patching only {field}");
        assert!(
            timestamp(&updated, "updated_at") > timestamp(&before, "updated_at"),
            "patching {field} moves updated_at"
        );
        assert_eq!(
            get_task(&app, &user, &original).await,
            updated,
            "patching {field} is stored"
        );
    }
}

#[tokio::test]
async fn an_empty_patch_changes_nothing_and_keeps_updated_at() {
    let app = spawn_app().await;
    let user = app.signed_up_user().await;
    let task = app
        .create_task(
            &user,
            &json!({ "title": "Still", "description": "same", "tags": ["t"] }),
        )
        .await;
    let patched = patch_task(&app, &user, &task, &json!({})).await;
    assert_eq!(patched, task);
    assert_eq!(get_task(&app, &user, &task).await, task);
}

#[tokio::test]
async fn a_real_change_moves_updated_at_past_created_at() {
    let app = spawn_app().await;
    let user = app.signed_up_user().await;
    let task = app.create_task(&user, &json!({ "title": "Before" })).await;
    let first = patch_task(&app, &user, &task, &json!({ "title": "After" })).await;
    let created_at = timestamp(&first, "created_at");
    let first_update = timestamp(&first, "updated_at");
    assert_eq!(
        created_at,
        timestamp(&task, "created_at"),
        "created_at never changes"
    );
    assert!(
        first_update > created_at,
        "updated_at {first_update} > created_at {created_at}"
    );
    let second = patch_task(&app, &user, &task, &json!({ "completed": true })).await;
    assert!(
        timestamp(&second, "updated_at") > first_update,
        "each change moves updated_at forward"
    );
    assert_eq!(timestamp(&second, "created_at"), created_at);
}

#[tokio::test]
async fn null_clears_description_due_date_and_tags() {
    let app = spawn_app().await;
    let user = app.signed_up_user().await;
    let task = app
        .create_task(&user, &json!({ "title": "Clear me", "description": "d", "due_date": "2030-01-01", "tags": ["a"] }))
        .await;
    let cleared = patch_task(
        &app,
        &user,
        &task,
        &json!({ "description": null, "due_date": null, "tags": null }),
    )
    .await;
    assert_eq!(cleared["description"], Value::Null);
    assert_eq!(cleared["due_date"], Value::Null);
    assert_eq!(cleared["tags"], json!([]));
    assert_eq!(cleared["title"], "Clear me");
    assert_eq!(get_task(&app, &user, &task).await, cleared);
}

#[tokio::test]
async fn null_title_priority_or_completed_is_rejected() {
    let app = spawn_app().await;
    let user = app.signed_up_user().await;
    let task = app
        .create_task(&user, &json!({ "title": "Required" }))
        .await;
    for field in ["title", "priority", "completed"] {
        let response = app
            .patch(
                &task_path(&task),
                Some(&user.token),
                &json!({ field: null }),
            )
            .await;
        assert_fields(response, &format!("{field}: null"), &[field]).await;
    }
    assert_eq!(get_task(&app, &user, &task).await, task, "nothing changed");
}

#[tokio::test]
async fn a_task_can_be_marked_complete_and_incomplete_again() {
    let app = spawn_app().await;
    let user = app.signed_up_user().await;
    let task = app.create_task(&user, &json!({ "title": "Toggle" })).await;
    let done = patch_task(&app, &user, &task, &json!({ "completed": true })).await;
    assert_eq!(done["completed"], true);
    assert_eq!(stats(&app, &user).await["completed"], 1);
    let undone = patch_task(&app, &user, &task, &json!({ "completed": false })).await;
    assert_eq!(undone["completed"], false);
    assert_eq!(get_task(&app, &user, &task).await["completed"], false);
    assert_eq!(stats(&app, &user).await["pending"], 1);
}

#[tokio::test]
async fn invalid_patch_values_are_rejected_with_the_field_named_and_change_nothing() {
    let app = spawn_app().await;
    let user = app.signed_up_user().await;
    let task = app
        .create_task(&user, &json!({ "title": "Untouched", "tags": ["keep"] }))
        .await;
    let eleven_tags: Vec<String> = (0..11).map(|i| format!("t{i}")).collect();
    let cases: Vec<(&str, Value, Vec<&str>)> = vec![
        ("blank title", json!({ "title": "" }), vec!["title"]),
        (
            "whitespace-only title",
            json!({ "title": "   " }),
            vec!["title"],
        ),
        (
            "201-character title",
            json!({ "title": "t".repeat(201) }),
            vec!["title"],
        ),
        (
            "title with a newline",
            json!({ "title": "a\nb" }),
            vec!["title"],
        ),
        (
            "1001-character description",
            json!({ "description": "d".repeat(1001) }),
            vec!["description"],
        ),
        (
            "unknown priority",
            json!({ "priority": "urgent" }),
            vec!["priority"],
        ),
        (
            "due date 2026-02-30",
            json!({ "due_date": "2026-02-30" }),
            vec!["due_date"],
        ),
        (
            "due date tomorrow",
            json!({ "due_date": "tomorrow" }),
            vec!["due_date"],
        ),
        (
            "due date 26-01-01",
            json!({ "due_date": "26-01-01" }),
            vec!["due_date"],
        ),
        ("11 tags", json!({ "tags": eleven_tags }), vec!["tags"]),
        (
            "31-character tag",
            json!({ "tags": ["x".repeat(31)] }),
            vec!["tags"],
        ),
        ("blank tag", json!({ "tags": [""] }), vec!["tags"]),
        ("tag with a comma", json!({ "tags": ["a,b"] }), vec!["tags"]),
        (
            "a valid field next to invalid ones",
            json!({ "title": "fine", "priority": "x", "tags": [""] }),
            vec!["priority", "tags"],
        ),
    ];
    for (case, body, fields) in cases {
        assert_fields(
            app.patch(&task_path(&task), Some(&user.token), &body).await,
            case,
            &fields,
        )
        .await;
    }
    for (case, body) in [
        ("unknown field", json!({ "done": true })),
        ("string as completed", json!({ "completed": "yes" })),
        ("array as body", json!(["renamed"])),
    ] {
        let response = app.patch(&task_path(&task), Some(&user.token), &body).await;
        let status = response.status();
        let error: Value = response.json().await.expect("error body is JSON");
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{case}: {error}");
        assert_eq!(error["error"]["code"], "invalid_body", "{case}: {error}");
    }
    assert_eq!(
        get_task(&app, &user, &task).await,
        task,
        "no invalid patch changed the task"
    );
}

#[tokio::test]
async fn a_deleted_task_is_gone_for_get_patch_and_delete() {
    let app = spawn_app().await;
    let user = app.signed_up_user().await;
    let task = app
        .create_task(&user, &json!({ "title": "Short-lived" }))
        .await;
    let keep = app.create_task(&user, &json!({ "title": "Stays" })).await;
    let path = task_path(&task);
    let deleted = app.delete(&path, Some(&user.token)).await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    assert!(
        deleted.text().await.expect("reading the body").is_empty(),
        "204 has no body"
    );
    assert_error(
        app.get(&path, Some(&user.token)).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_error(
        app.patch(&path, Some(&user.token), &json!({ "title": "back" }))
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_error(
        app.delete(&path, Some(&user.token)).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let remaining = list(&app, &user, "").await;
    assert_eq!(
        ids(&remaining),
        vec![keep["id"].as_i64().expect("numeric id")]
    );
}

// ---- isolation and authentication ----

#[tokio::test]
async fn another_users_task_is_indistinguishable_from_a_missing_one_on_every_route() {
    let app = spawn_app().await;
    let alice = app.signed_up_user().await;
    let bob = app.signed_up_user().await;
    let task = app
        .create_task(
            &alice,
            &json!({ "title": "Alice's", "description": "private", "tags": ["a"] }),
        )
        .await;
    let theirs = task_path(&task);
    let missing = format!(
        "/api/tasks/{}",
        task["id"].as_i64().expect("numeric id") + 1_000_000
    );
    let patch = json!({ "title": "hijacked", "completed": true });
    let requests = [
        (reqwest::Method::GET, None),
        (reqwest::Method::PATCH, Some(&patch)),
        (reqwest::Method::DELETE, None),
    ];
    for (method, body) in requests {
        let on_theirs = app
            .request(method.clone(), &theirs, Some(&bob.token), body)
            .await;
        let on_theirs = assert_error(on_theirs, StatusCode::NOT_FOUND, "not_found").await;
        let on_missing = app
            .request(method.clone(), &missing, Some(&bob.token), body)
            .await;
        let on_missing = assert_error(on_missing, StatusCode::NOT_FOUND, "not_found").await;
        assert_eq!(
            on_theirs, on_missing,
            "{method} on another user's task answers like a missing one"
        );
    }
    assert_eq!(
        get_task(&app, &alice, &task).await,
        task,
        "Alice's task is unchanged"
    );
}

#[tokio::test]
async fn another_users_tasks_never_appear_in_lists_or_stats() {
    let app = spawn_app().await;
    let alice = app.signed_up_user().await;
    let bob = app.signed_up_user().await;
    let yesterday = (today() - Days::new(1)).to_string();
    app.create_task(
        &alice,
        &json!({ "title": "shared words", "tags": ["work"], "due_date": yesterday }),
    )
    .await;
    app.create_task(
        &alice,
        &json!({ "title": "shared words done", "tags": ["work"], "completed": true }),
    )
    .await;
    let bobs = app
        .create_task(&bob, &json!({ "title": "Bob's own" }))
        .await;
    let own = vec![bobs["id"].as_i64().expect("numeric id")];
    let due_query = format!("due_before={}", today());
    let cases = [
        (due_query.as_str(), Vec::new()),
        ("", own.clone()),
        ("status=pending", own.clone()),
        ("status=completed", Vec::new()),
        ("tag=work", Vec::new()),
        ("search=shared", Vec::new()),
        ("sort=title&limit=100", own),
    ];
    for (query, expected) in cases {
        let page = list(&app, &bob, query).await;
        assert_eq!(ids(&page), expected, "Bob's listing `{query}`");
        assert_eq!(page["total"], expected.len(), "Bob's total for `{query}`");
    }
    assert_eq!(
        stats(&app, &bob).await,
        json!({ "total": 1, "completed": 0, "pending": 1, "overdue": 0 })
    );
    assert_eq!(
        stats(&app, &alice).await,
        json!({ "total": 2, "completed": 1, "pending": 1, "overdue": 1 })
    );
}

#[tokio::test]
async fn every_task_route_requires_a_valid_token() {
    let app = spawn_app().await;
    let user = app.signed_up_user().await;
    let task = app.create_task(&user, &json!({ "title": "Guarded" })).await;
    let path = task_path(&task);
    let body = json!({ "title": "x" });
    let routes = [
        (reqwest::Method::GET, "/api/tasks".to_owned(), None),
        (reqwest::Method::POST, "/api/tasks".to_owned(), Some(&body)),
        (reqwest::Method::GET, "/api/tasks/stats".to_owned(), None),
        (reqwest::Method::GET, path.clone(), None),
        (reqwest::Method::PATCH, path.clone(), Some(&body)),
        (reqwest::Method::DELETE, path, None),
    ];
    for (method, path, body) in routes {
        for token in [None, Some("not-a-token")] {
            let response = app.request(method.clone(), &path, token, body).await;
            let status = response.status();
            let challenge = response.headers().get(header::WWW_AUTHENTICATE).cloned();
            let error: Value = response.json().await.expect("error body is JSON");
            assert_eq!(
                status,
                StatusCode::UNAUTHORIZED,
                "{method} {path} with token {token:?}: {error}"
            );
            assert_eq!(
                error["error"]["code"], "unauthorized",
                "{method} {path} with token {token:?}"
            );
            assert_eq!(
                challenge.as_ref().map(|v| v.as_bytes()),
                Some(&b"Bearer"[..]),
                "{method} {path}: WWW-Authenticate"
            );
        }
    }
    assert_eq!(get_task(&app, &user, &task).await, task, "nothing changed");
    assert_eq!(
        list(&app, &user, "").await["total"],
        1,
        "nothing was created"
    );
}

#[tokio::test]
async fn malformed_ids_are_not_found_on_every_route() {
    let app = spawn_app().await;
    let user = app.signed_up_user().await;
    app.create_task(&user, &json!({ "title": "Exists" })).await;
    let reference = assert_error(
        app.get("/api/tasks/987654321", Some(&user.token)).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let patch = json!({ "title": "x" });
    for id in [
        "abc",
        "1.5",
        "99999999999999999999",
        "-1",
        "0",
        "1e3",
        "%20",
    ] {
        let path = format!("/api/tasks/{id}");
        let requests = [
            (reqwest::Method::GET, None),
            (reqwest::Method::PATCH, Some(&patch)),
            (reqwest::Method::DELETE, None),
        ];
        for (method, body) in requests {
            let response = app
                .request(method.clone(), &path, Some(&user.token), body)
                .await;
            let status = response.status();
            let text = response.text().await.expect("reading the body");
            assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}: {text}");
            let error: Value = serde_json::from_str(&text)
                .unwrap_or_else(|err| panic!("{method} {path}: not JSON ({err}): {text}"));
            assert_eq!(
                error, reference,
                "{method} {path} answers like a missing task"
            );
        }
    }
}

// ---- list ----

#[tokio::test]
async fn tasks_are_listed_newest_first_by_default() {
    let app = spawn_app().await;
    let user = app.signed_up_user().await;
    create_titled(&app, &user, &["first", "second", "third"]).await;
    let page = list(&app, &user, "").await;
    assert_eq!(titles(&page), ["third", "second", "first"]);
    assert_eq!(page["total"], 3);
    assert_eq!(page["page"], 1);
    assert_eq!(page["limit"], 20);
    assert_eq!(page["total_pages"], 1);
}

#[tokio::test]
async fn an_empty_list_has_no_pages() {
    let app = spawn_app().await;
    let user = app.signed_up_user().await;
    let page = list(&app, &user, "").await;
    assert_eq!(
        page,
        json!({ "tasks": [], "total": 0, "page": 1, "limit": 20, "total_pages": 0 })
    );
}

#[tokio::test]
async fn the_status_filter_selects_pending_or_completed_tasks() {
    let app = spawn_app().await;
    let user = app.signed_up_user().await;
    app.create_task(&user, &json!({ "title": "open 1" })).await;
    app.create_task(&user, &json!({ "title": "done 1", "completed": true }))
        .await;
    let open = app.create_task(&user, &json!({ "title": "open 2" })).await;
    patch_task(
        &app,
        &user,
        &open,
        &json!({ "title": "done 2", "completed": true }),
    )
    .await;
    app.create_task(&user, &json!({ "title": "open 3" })).await;
    let cases = [
        ("status=pending", vec!["open 3", "open 1"]),
        ("status=completed", vec!["done 2", "done 1"]),
        ("status=all", vec!["open 3", "done 2", "done 1", "open 1"]),
    ];
    for (query, expected) in cases {
        let page = list(&app, &user, query).await;
        assert_eq!(titles(&page), expected, "{query}");
        assert_eq!(page["total"], expected.len(), "{query}");
    }
}

#[tokio::test]
async fn the_priority_filter_selects_one_priority() {
    let app = spawn_app().await;
    let user = app.signed_up_user().await;
    for (title, priority) in [
        ("l", "low"),
        ("m", "medium"),
        ("h1", "high"),
        ("h2", "high"),
    ] {
        app.create_task(&user, &json!({ "title": title, "priority": priority }))
            .await;
    }
    for (query, expected) in [
        ("priority=low", vec!["l"]),
        ("priority=medium", vec!["m"]),
        ("priority=high", vec!["h2", "h1"]),
    ] {
        assert_eq!(titles(&list(&app, &user, query).await), expected, "{query}");
    }
}

#[tokio::test]
async fn the_tag_filter_matches_whole_tags_ignoring_letter_case() {
    let app = spawn_app().await;
    let user = app.signed_up_user().await;
    app.create_task(&user, &json!({ "title": "work only", "tags": ["work"] }))
        .await;
    app.create_task(&user, &json!({ "title": "both", "tags": ["Home", "WORK"] }))
        .await;
    app.create_task(&user, &json!({ "title": "homework", "tags": ["homework"] }))
        .await;
    app.create_task(&user, &json!({ "title": "untagged" }))
        .await;
    let cases = [
        ("tag=work", vec!["both", "work only"]),
        ("tag=WoRk", vec!["both", "work only"]),
        ("tag=home", vec!["both"]),
        ("tag=hom", vec![]),
        ("tag=holiday", vec![]),
    ];
    for (query, expected) in cases {
        assert_eq!(titles(&list(&app, &user, query).await), expected, "{query}");
    }
}

#[tokio::test]
async fn search_matches_title_and_description_ignoring_case() {
    let app = spawn_app().await;
    let user = app.signed_up_user().await;
    app.create_task(&user, &json!({ "title": "Buy MILK" }))
        .await;
    app.create_task(
        &user,
        &json!({ "title": "Groceries", "description": "eggs and milk" }),
    )
    .await;
    app.create_task(
        &user,
        &json!({ "title": "Call mum", "description": "about the weekend" }),
    )
    .await;
    let cases = [
        ("search=milk", vec!["Groceries", "Buy MILK"]),
        ("search=Milk", vec!["Groceries", "Buy MILK"]),
        ("search=WEEKEND", vec!["Call mum"]),
        ("search=gRoCeR", vec!["Groceries"]),
        ("search=bread", vec![]),
    ];
    for (query, expected) in cases {
        assert_eq!(titles(&list(&app, &user, query).await), expected, "{query}");
    }
}

#[tokio::test]
async fn search_matches_percent_underscore_and_backslash_literally() {
    let app = spawn_app().await;
    let user = app.signed_up_user().await;
    app.create_task(&user, &json!({ "title": "100% done" }))
        .await;
    app.create_task(&user, &json!({ "title": "snake_case" }))
        .await;
    app.create_task(&user, &json!({ "title": "plain" })).await;
    app.create_task(
        &user,
        &json!({ "title": "path", "description": "C:\\temp" }),
    )
    .await;
    let cases = [
        ("%", vec!["100% done"]),
        ("0%", vec!["100% done"]),
        ("_", vec!["snake_case"]),
        ("e_c", vec!["snake_case"]),
        ("p_a", vec![]),
        ("%_%", vec![]),
        ("\\", vec!["path"]),
    ];
    for (search, expected) in cases {
        let query = format!("search={}", encode(search));
        assert_eq!(
            titles(&list(&app, &user, &query).await),
            expected,
            "search {search:?}"
        );
    }
}

#[tokio::test]
async fn due_before_and_due_after_are_strict() {
    let app = spawn_app().await;
    let user = app.signed_up_user().await;
    for (title, due) in [
        ("9th", json!("2030-03-09")),
        ("10th", json!("2030-03-10")),
        ("11th", json!("2030-03-11")),
        ("never", Value::Null),
    ] {
        app.create_task(&user, &json!({ "title": title, "due_date": due }))
            .await;
    }
    let cases = [
        ("due_before=2030-03-10", vec!["9th"]),
        ("due_after=2030-03-10", vec!["11th"]),
        (
            "due_after=2030-03-08&due_before=2030-03-11",
            vec!["10th", "9th"],
        ),
        ("due_after=2030-03-10&due_before=2030-03-11", vec![]),
        ("due_before=2030-03-09", vec![]),
    ];
    for (query, expected) in cases {
        assert_eq!(titles(&list(&app, &user, query).await), expected, "{query}");
    }
}

#[tokio::test]
async fn sorting_by_priority_puts_high_first_when_descending() {
    let app = spawn_app().await;
    let user = app.signed_up_user().await;
    for (title, priority) in [("medium", "medium"), ("high", "high"), ("low", "low")] {
        app.create_task(&user, &json!({ "title": title, "priority": priority }))
            .await;
    }
    for (query, expected) in [
        ("sort=priority", ["high", "medium", "low"]),
        ("sort=priority&order=desc", ["high", "medium", "low"]),
        ("sort=priority&order=asc", ["low", "medium", "high"]),
    ] {
        assert_eq!(titles(&list(&app, &user, query).await), expected, "{query}");
    }
}

#[tokio::test]
async fn sorting_by_due_date_puts_tasks_without_one_last() {
    let app = spawn_app().await;
    let user = app.signed_up_user().await;
    for (title, due) in [
        ("none", Value::Null),
        ("late", json!("2030-12-01")),
        ("early", json!("2030-01-01")),
        ("mid", json!("2030-06-01")),
    ] {
        app.create_task(&user, &json!({ "title": title, "due_date": due }))
            .await;
    }
    for (query, expected) in [
        ("sort=due", ["early", "mid", "late", "none"]),
        ("sort=due&order=asc", ["early", "mid", "late", "none"]),
        ("sort=due&order=desc", ["late", "mid", "early", "none"]),
    ] {
        assert_eq!(titles(&list(&app, &user, query).await), expected, "{query}");
    }
}

#[tokio::test]
async fn sorting_by_title_ignores_letter_case() {
    let app = spawn_app().await;
    let user = app.signed_up_user().await;
    create_titled(&app, &user, &["banana", "Apple", "cherry", "Blueberry"]).await;
    for (query, expected) in [
        ("sort=title", ["Apple", "banana", "Blueberry", "cherry"]),
        (
            "sort=title&order=asc",
            ["Apple", "banana", "Blueberry", "cherry"],
        ),
        (
            "sort=title&order=desc",
            ["cherry", "Blueberry", "banana", "Apple"],
        ),
    ] {
        assert_eq!(titles(&list(&app, &user, query).await), expected, "{query}");
    }
}

#[tokio::test]
async fn sorting_by_creation_and_update_time_works_both_ways() {
    let app = spawn_app().await;
    let user = app.signed_up_user().await;
    let tasks = create_titled(&app, &user, &["one", "two", "three"]).await;
    patch_task(
        &app,
        &user,
        &tasks[0],
        &json!({ "description": "touched first" }),
    )
    .await;
    patch_task(
        &app,
        &user,
        &tasks[1],
        &json!({ "description": "touched last" }),
    )
    .await;
    let cases = [
        ("sort=created", ["three", "two", "one"]),
        ("sort=created&order=desc", ["three", "two", "one"]),
        ("sort=created&order=asc", ["one", "two", "three"]),
        ("sort=updated", ["two", "one", "three"]),
        ("sort=updated&order=desc", ["two", "one", "three"]),
        ("sort=updated&order=asc", ["three", "one", "two"]),
    ];
    for (query, expected) in cases {
        assert_eq!(titles(&list(&app, &user, query).await), expected, "{query}");
    }
}

#[tokio::test]
async fn pages_cover_every_task_exactly_once() {
    let app = spawn_app().await;
    let user = app.signed_up_user().await;
    let names: Vec<String> = (0..25).map(|i| format!("task {i:02}")).collect();
    let created = create_titled(
        &app,
        &user,
        &names.iter().map(String::as_str).collect::<Vec<_>>(),
    )
    .await;
    let mut newest_first: Vec<i64> = created
        .iter()
        .map(|task| task["id"].as_i64().expect("numeric id"))
        .collect();
    newest_first.reverse();
    let mut seen = Vec::new();
    for (page_number, expected_len) in [(1, 10), (2, 10), (3, 5)] {
        let page = list(&app, &user, &format!("limit=10&page={page_number}")).await;
        assert_eq!(
            page["tasks"].as_array().map(Vec::len),
            Some(expected_len),
            "page {page_number}"
        );
        assert_eq!(page["total"], 25, "page {page_number}");
        assert_eq!(page["total_pages"], 3, "page {page_number}");
        assert_eq!(page["page"], page_number, "page {page_number}");
        assert_eq!(page["limit"], 10, "page {page_number}");
        seen.extend(ids(&page));
    }
    let distinct: HashSet<i64> = seen.iter().copied().collect();
    assert_eq!(distinct.len(), 25, "no duplicates across pages");
    assert_eq!(
        seen, newest_first,
        "pages follow the listing order without gaps"
    );
    let everything = list(&app, &user, "limit=100").await;
    assert_eq!(ids(&everything), newest_first);
}

#[tokio::test]
async fn a_page_past_the_end_is_empty_but_keeps_the_total() {
    let app = spawn_app().await;
    let user = app.signed_up_user().await;
    create_titled(&app, &user, &["a", "b", "c"]).await;
    let page = list(&app, &user, "limit=2&page=5").await;
    assert_eq!(
        page,
        json!({ "tasks": [], "total": 3, "page": 5, "limit": 2, "total_pages": 2 })
    );
    let filtered = list(&app, &user, "limit=1&page=3&search=b").await;
    assert_eq!(
        filtered,
        json!({ "tasks": [], "total": 1, "page": 3, "limit": 1, "total_pages": 1 })
    );
}

#[tokio::test]
async fn invalid_list_parameters_are_rejected_with_the_field_named() {
    let app = spawn_app().await;
    let user = app.signed_up_user().await;
    let long_search = "s".repeat(201);
    let cases: Vec<(String, Vec<&str>)> = vec![
        ("limit=0".to_owned(), vec!["limit"]),
        ("limit=101".to_owned(), vec!["limit"]),
        ("limit=x".to_owned(), vec!["limit"]),
        ("limit=-5".to_owned(), vec!["limit"]),
        ("page=0".to_owned(), vec!["page"]),
        ("page=-1".to_owned(), vec!["page"]),
        ("page=1.5".to_owned(), vec!["page"]),
        ("status=done".to_owned(), vec!["status"]),
        ("priority=urgent".to_owned(), vec!["priority"]),
        ("sort=size".to_owned(), vec!["sort"]),
        ("order=up".to_owned(), vec!["order"]),
        ("tag=a%2Cb".to_owned(), vec!["tag"]),
        ("due_before=2026-02-30".to_owned(), vec!["due_before"]),
        ("due_after=tomorrow".to_owned(), vec!["due_after"]),
        ("due_after=26-01-01".to_owned(), vec!["due_after"]),
        (format!("search={long_search}"), vec!["search"]),
        (
            "limit=0&page=0&sort=size".to_owned(),
            vec!["limit", "page", "sort"],
        ),
    ];
    for (query, fields) in cases {
        let response = app
            .get(&format!("/api/tasks?{query}"), Some(&user.token))
            .await;
        assert_fields(response, &query, &fields).await;
    }
}

#[tokio::test]
async fn an_unknown_query_parameter_is_a_bad_request() {
    let app = spawn_app().await;
    let user = app.signed_up_user().await;
    for query in ["colour=red", "user_id=1", "status=pending&offset=5"] {
        let response = app
            .get(&format!("/api/tasks?{query}"), Some(&user.token))
            .await;
        let status = response.status();
        let error: Value = response.json().await.expect("error body is JSON");
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {error}");
        assert_eq!(error["error"]["code"], "bad_request", "{query}: {error}");
    }
}

#[tokio::test]
async fn filters_combine() {
    let app = spawn_app().await;
    let user = app.signed_up_user().await;
    app.create_task(&user, &json!({ "title": "Write report", "tags": ["work"] }))
        .await;
    app.create_task(
        &user,
        &json!({ "title": "Write report again", "tags": ["work"], "completed": true }),
    )
    .await;
    app.create_task(
        &user,
        &json!({ "title": "Write report at home", "tags": ["home"] }),
    )
    .await;
    app.create_task(
        &user,
        &json!({ "title": "Read mail", "description": "the REPORT thread", "tags": ["Work"] }),
    )
    .await;
    app.create_task(
        &user,
        &json!({ "title": "Other work", "tags": ["work"], "priority": "high" }),
    )
    .await;
    let page = list(&app, &user, "status=pending&tag=WORK&search=report").await;
    assert_eq!(titles(&page), ["Read mail", "Write report"]);
    assert_eq!(page["total"], 2);
    let narrower = list(
        &app,
        &user,
        "status=pending&tag=work&search=report&priority=medium&sort=title&limit=1",
    )
    .await;
    assert_eq!(titles(&narrower), ["Read mail"]);
    assert_eq!(narrower["total"], 2);
    assert_eq!(narrower["total_pages"], 2);
}

// ---- stats ----

#[tokio::test]
async fn stats_count_total_completed_pending_and_overdue() {
    let app = spawn_app().await;
    let user = app.signed_up_user().await;
    assert_eq!(
        stats(&app, &user).await,
        json!({ "total": 0, "completed": 0, "pending": 0, "overdue": 0 })
    );
    let today = today();
    let yesterday = (today - Days::new(1)).to_string();
    let last_year = (today - Days::new(365)).to_string();
    let tomorrow = (today + Days::new(1)).to_string();
    let tasks = [
        json!({ "title": "overdue", "due_date": yesterday }),
        json!({ "title": "long overdue", "due_date": last_year }),
        json!({ "title": "due today", "due_date": today.to_string() }),
        json!({ "title": "due tomorrow", "due_date": tomorrow }),
        json!({ "title": "no due date" }),
        json!({ "title": "done late", "due_date": yesterday, "completed": true }),
        json!({ "title": "done", "completed": true }),
    ];
    for task in &tasks {
        app.create_task(&user, task).await;
    }
    assert_eq!(
        stats(&app, &user).await,
        json!({ "total": 7, "completed": 2, "pending": 5, "overdue": 2 })
    );
}

#[tokio::test]
async fn stats_follow_completion_and_deletion() {
    let app = spawn_app().await;
    let user = app.signed_up_user().await;
    let yesterday = (today() - Days::new(1)).to_string();
    let late = app
        .create_task(&user, &json!({ "title": "late", "due_date": yesterday }))
        .await;
    let other = app.create_task(&user, &json!({ "title": "other" })).await;
    assert_eq!(
        stats(&app, &user).await,
        json!({ "total": 2, "completed": 0, "pending": 2, "overdue": 1 })
    );
    patch_task(&app, &user, &late, &json!({ "completed": true })).await;
    assert_eq!(
        stats(&app, &user).await,
        json!({ "total": 2, "completed": 1, "pending": 1, "overdue": 0 })
    );
    let deleted = app.delete(&task_path(&other), Some(&user.token)).await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        stats(&app, &user).await,
        json!({ "total": 1, "completed": 1, "pending": 0, "overdue": 0 })
    );
}
