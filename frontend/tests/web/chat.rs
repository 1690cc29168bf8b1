//! The assistant page against a fake backend: history, sending with and without the script,
//! refusals and provider failures, deleting a conversation.

use reqwest::StatusCode;
use serde_json::{Value, json};
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, ResponseTemplate};

use crate::helpers::{TOKEN, TestApp};

const CONVERSATION: &str = "6f1d2c3b-0a9e-4d5f-8c7b-1a2b3c4d5e6f";

fn bearer() -> String {
    format!("Bearer {TOKEN}")
}

fn message(id: i64, role: &str, content: &str, tool_calls: &Value) -> Value {
    json!({
        "id": id,
        "role": role,
        "content": content,
        "tool_calls": tool_calls,
        "created_at": "2026-11-26T10:15:00Z",
    })
}

fn added_milk() -> Value {
    json!([{
        "name": "add_task",
        "arguments": { "title": "Buy milk" },
        "outcome": { "status": "ok", "message": "Added “Buy milk”." },
    }])
}

async fn mount_conversations(app: &TestApp, conversations: Value) {
    Mock::given(method("GET"))
        .and(path("/api/conversations"))
        .and(header("authorization", bearer().as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "conversations": conversations,
            "total": 1, "page": 1, "limit": 50, "total_pages": 1,
        })))
        .mount(&app.backend)
        .await;
}

fn one_conversation() -> Value {
    json!([{ "id": CONVERSATION, "title": "add buy milk", "created_at": "2026-11-26T10:15:00Z", "updated_at": "2026-11-26T10:15:00Z" }])
}

async fn mount_reply(app: &TestApp, expected_body: Value) {
    Mock::given(method("POST"))
        .and(path("/api/chat"))
        .and(header("authorization", bearer().as_str()))
        .and(body_json(expected_body))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "conversation_id": CONVERSATION,
            "reply": "Added “Buy milk”.",
            "tool_calls": added_milk(),
            "offline": true,
            "user_message": message(11, "user", "add buy milk", &json!([])),
            "assistant_message": message(12, "assistant", "Added “Buy milk”. (offline mode)", &added_milk()),
        })))
        .expect(1)
        .mount(&app.backend)
        .await;
}

#[tokio::test]
async fn the_assistant_page_needs_a_session() {
    let app = TestApp::spawn().await;
    let page = app.get("/chat").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), "/login?next=%2Fchat");
}

#[tokio::test]
async fn a_new_conversation_offers_example_prompts_next_to_earlier_conversations() {
    let app = TestApp::spawn().await;
    mount_conversations(&app, one_conversation()).await;
    app.sign_in();
    let page = app.get("/chat").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    page.assert_html_page("assistant page");
    assert!(
        page.body
            .contains(&format!("href=\"/chat/{CONVERSATION}\"")),
        "earlier conversations are listed"
    );
    assert!(
        page.body
            .contains("name=\"message\" value=\"add buy milk tomorrow\""),
        "example prompts are buttons that send"
    );
    assert!(
        page.body.contains("maxlength=\"2000\""),
        "the box is limited to 2000 characters"
    );
    assert!(
        page.body.contains("aria-current=\"page\">Assistant</a>"),
        "the navigation marks the page"
    );
}

#[tokio::test]
async fn a_conversation_shows_its_history_with_tool_badges_and_escaped_text() {
    let app = TestApp::spawn().await;
    mount_conversations(&app, one_conversation()).await;
    Mock::given(method("GET"))
        .and(path(format!("/api/conversations/{CONVERSATION}/messages")))
        .and(query_param("page", "1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "messages": [
                message(11, "user", "add <b>buy</b> milk", &json!([])),
                message(12, "assistant", "Added “Buy milk”.", &added_milk()),
            ],
            "total": 60, "page": 1, "limit": 50, "total_pages": 2,
        })))
        .mount(&app.backend)
        .await;
    app.sign_in();
    let page = app.get(&format!("/chat/{CONVERSATION}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains("add &#60;b&#62;buy&#60;/b&#62; milk"),
        "user text is escaped"
    );
    assert!(!page.body.contains("<b>buy</b>"));
    assert!(page.body.contains("id=\"message-12\""));
    assert!(
        page.body
            .contains("<span class=\"tool-name\">add_task</span>"),
        "tool calls are shown as badges"
    );
    assert!(
        page.body
            .contains(&format!("href=\"/chat/{CONVERSATION}?page=2\"")),
        "older messages are a link away"
    );
    assert!(
        page.body.contains(&format!("value=\"{CONVERSATION}\"")),
        "the form continues this conversation"
    );
    assert!(
        page.body.contains("aria-current=\"page\">add buy milk</a>"),
        "the open conversation is marked"
    );
}

#[tokio::test]
async fn sending_without_the_script_redirects_to_the_reply() {
    let app = TestApp::spawn().await;
    mount_reply(
        &app,
        json!({ "message": "add buy milk", "conversation_id": null }),
    )
    .await;
    app.sign_in();
    let page = app
        .post_form(
            "/chat",
            &[("message", "  add buy milk "), ("conversation_id", "")],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert_eq!(page.location(), format!("/chat/{CONVERSATION}#message-12"));
    app.backend.verify().await;
}

#[tokio::test]
async fn sending_from_the_script_gets_the_two_new_messages_and_the_conversation_list() {
    let app = TestApp::spawn().await;
    mount_reply(
        &app,
        json!({ "message": "add buy milk", "conversation_id": CONVERSATION }),
    )
    .await;
    mount_conversations(&app, one_conversation()).await;
    app.sign_in();
    let page = app
        .post_fragment(
            "/chat",
            &[
                ("message", "add buy milk"),
                ("conversation_id", CONVERSATION),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("<ol id=\"new-messages\">"));
    assert!(page.body.contains("id=\"message-11\"") && page.body.contains("id=\"message-12\""));
    assert!(page.body.contains("id=\"conversations\""));
    assert!(page.body.contains(&format!(
        "id=\"conversation-id\" name=\"conversation_id\" value=\"{CONVERSATION}\""
    )));
    assert!(!page.body.contains("<html"), "a fragment, not a page");
    app.backend.verify().await;
}

#[tokio::test]
async fn an_empty_or_overlong_message_is_refused_without_asking_the_backend() {
    let app = TestApp::spawn().await;
    Mock::given(method("POST"))
        .and(path("/api/chat"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&app.backend)
        .await;
    mount_conversations(&app, json!([])).await;
    app.sign_in();
    let long = "x".repeat(2001);
    let cases = [
        ("   ", "Write a message first."),
        (long.as_str(), "Messages can be at most 2000 characters."),
    ];
    for (text, expected) in cases {
        let page = app.post_form("/chat", &[("message", text)]).await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{expected}");
        assert!(page.body.contains(expected), "{expected}: {}", page.body);
        assert!(
            page.body.contains("aria-invalid=\"true\""),
            "{expected}: the box is marked"
        );
    }
    let fragment = app.post_fragment("/chat", &[("message", "")]).await;
    assert_eq!(fragment.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(fragment.header("x-taskflow-fragment"), "banner");
    app.backend.verify().await;
}

#[tokio::test]
async fn a_provider_failure_shows_a_banner_keeps_the_draft_and_the_conversation() {
    let cases = [
        (
            502,
            "upstream_error",
            StatusCode::BAD_GATEWAY,
            "could not answer just now",
        ),
        (
            504,
            "upstream_timeout",
            StatusCode::GATEWAY_TIMEOUT,
            "took too long to answer",
        ),
    ];
    for (backend_status, code, expected, text) in cases {
        let app = TestApp::spawn().await;
        let failure = json!({ "error": { "code": code, "message": "The assistant's language model failed." } });
        Mock::given(method("POST"))
            .and(path("/api/chat"))
            .respond_with(
                ResponseTemplate::new(backend_status)
                    .insert_header("x-conversation-id", CONVERSATION)
                    .set_body_json(failure),
            )
            .mount(&app.backend)
            .await;
        mount_conversations(&app, one_conversation()).await;
        Mock::given(method("GET"))
            .and(path(format!("/api/conversations/{CONVERSATION}/messages")))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "messages": [message(21, "user", "what's pending?", &json!([]))],
                "total": 1, "page": 1, "limit": 50, "total_pages": 1,
            })))
            .mount(&app.backend)
            .await;
        app.sign_in();
        let page = app
            .post_form("/chat", &[("message", "what's pending?")])
            .await;
        assert_eq!(page.status, expected, "backend {backend_status}");
        assert!(
            page.body.contains(text),
            "backend {backend_status}: {}",
            page.body
        );
        assert!(
            page.body.contains("data-dismiss"),
            "the banner can be dismissed"
        );
        assert!(
            page.body.contains(">what&#39;s pending?</textarea>"),
            "the draft stays: {}",
            page.body
        );
        assert!(
            page.body.contains("id=\"message-21\""),
            "backend {backend_status}: the saved message is shown"
        );
        assert!(
            page.body
                .contains(&format!("id=\"conversation-id\" value=\"{CONVERSATION}\"")),
            "backend {backend_status}: a retry continues the conversation the message was kept in"
        );
        let fragment = app
            .post_fragment("/chat", &[("message", "what's pending?")])
            .await;
        assert_eq!(fragment.status, expected);
        assert_eq!(fragment.header("x-taskflow-fragment"), "banner");
        assert!(fragment.body.contains("id=\"chat-banner\"") && fragment.body.contains(text));
        assert!(
            fragment.body.contains(&format!("value=\"{CONVERSATION}\"")),
            "the script learns the conversation too"
        );
    }
}

#[tokio::test]
async fn deleting_a_conversation_asks_the_backend_and_returns_to_a_new_one() {
    let app = TestApp::spawn().await;
    Mock::given(method("DELETE"))
        .and(path(format!("/api/conversations/{CONVERSATION}")))
        .and(header("authorization", bearer().as_str()))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&app.backend)
        .await;
    app.sign_in();
    let page = app
        .post_form(&format!("/chat/{CONVERSATION}/delete"), &[])
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), "/chat");
    app.backend.verify().await;
}

#[tokio::test]
async fn another_users_conversation_is_not_found() {
    let app = TestApp::spawn().await;
    mount_conversations(&app, json!([])).await;
    Mock::given(method("GET"))
        .and(path(format!("/api/conversations/{CONVERSATION}/messages")))
        .respond_with(
            ResponseTemplate::new(404).set_body_json(
                json!({ "error": { "code": "not_found", "message": "Not found." } }),
            ),
        )
        .mount(&app.backend)
        .await;
    app.sign_in();
    let page = app.get(&format!("/chat/{CONVERSATION}")).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    page.assert_html_page("missing conversation");
}
