//! The assistant's chat API: the offline assistant (a table of phrasings per intent and their
//! effect on the tasks), a fake OpenAI-compatible provider scripted per test (single and
//! multi-step tool calls, history on later turns, errors, timeouts, retries, malformed and
//! unknown tool calls, a model that never stops), validation, paging, isolation between
//! users, and conversations that outlive a restart and are shared by two instances.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{Days, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::helpers::{
    TEST_LLM_KEY, TestApp, TestUser, assert_error, json_body, spawn_app, spawn_app_with_provider,
    start_instance,
};

const COMPLETIONS: &str = "/v1/chat/completions";

/// Answers the provider's requests with the given responses in turn; after the last one it
/// repeats the last.
struct Script(Mutex<VecDeque<ResponseTemplate>>);

impl Respond for Script {
    fn respond(&self, _request: &Request) -> ResponseTemplate {
        let mut queue = self.0.lock().expect("script lock");
        if queue.len() > 1 {
            queue.pop_front().expect("a scripted response")
        } else {
            queue
                .front()
                .cloned()
                .unwrap_or_else(|| ResponseTemplate::new(500))
        }
    }
}

/// A fake provider that answers with `responses` in turn.
async fn provider(responses: Vec<ResponseTemplate>) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(COMPLETIONS))
        .respond_with(Script(Mutex::new(responses.into())))
        .mount(&server)
        .await;
    server
}

fn completion(message: &Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "model": "test-model",
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
    }))
}

/// A plain text answer.
fn says(text: &str) -> ResponseTemplate {
    completion(&json!({"role": "assistant", "content": text}))
}

/// An answer asking for tool calls `(id, name, arguments as sent)`.
fn calls(tool_calls: &[(&str, &str, &str)]) -> ResponseTemplate {
    let tool_calls: Vec<Value> = tool_calls
        .iter()
        .map(|(id, name, arguments)| {
            json!({"id": id, "type": "function", "function": {"name": name, "arguments": arguments}})
        })
        .collect();
    completion(&json!({"role": "assistant", "content": null, "tool_calls": tool_calls}))
}

/// The JSON bodies the provider received, in order.
async fn provider_requests(server: &MockServer) -> Vec<Value> {
    server
        .received_requests()
        .await
        .expect("request recording is on")
        .iter()
        .map(|request| serde_json::from_slice(&request.body).expect("the request body is JSON"))
        .collect()
}

/// `(role, content)` of every message of a provider request.
fn roles_and_contents(request: &Value) -> Vec<(String, String)> {
    request["messages"]
        .as_array()
        .expect("`messages` is an array")
        .iter()
        .map(|message| {
            (
                message["role"].as_str().unwrap_or_default().to_owned(),
                message["content"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// The messages of a conversation (first page, newest 100), oldest first.
async fn messages(app: &TestApp, user: &TestUser, conversation: &str) -> Vec<Value> {
    let page = json_body(
        app.get(
            &format!("/api/conversations/{conversation}/messages?limit=100"),
            Some(&user.token),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    page["messages"].as_array().expect("`messages`").clone()
}

fn tomorrow() -> String {
    (Utc::now().date_naive() + Days::new(1)).to_string()
}

/// `(title, completed, due_date, priority)` of every task, oldest first.
async fn task_summaries(app: &TestApp, user: &TestUser) -> Vec<(String, bool, Value, String)> {
    app.all_tasks(user)
        .await
        .iter()
        .map(|task| {
            (
                task["title"].as_str().unwrap_or_default().to_owned(),
                task["completed"].as_bool().unwrap_or_default(),
                task["due_date"].clone(),
                task["priority"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The offline assistant

/// One offline phrasing: the tasks before (title, completed), the message (`{id}` is replaced
/// by the first task's id), the tool expected, its outcome status, and the tasks after
/// (title, completed, due date, priority).
struct OfflineCase {
    before: &'static [(&'static str, bool)],
    message: &'static str,
    tool: &'static str,
    status: &'static str,
    after: Vec<(&'static str, bool, Value, &'static str)>,
}

#[tokio::test]
async fn offline_phrasings_have_the_expected_effect_on_the_tasks() {
    let app = spawn_app().await;
    let due = json!(tomorrow());
    let none = Value::Null;
    let cases = vec![
        OfflineCase {
            before: &[],
            message: "add buy milk tomorrow",
            tool: "add_task",
            status: "ok",
            after: vec![("buy milk", false, due.clone(), "medium")],
        },
        OfflineCase {
            before: &[],
            message: "Please create a task called Water the plants with high priority",
            tool: "add_task",
            status: "ok",
            after: vec![("Water the plants", false, none.clone(), "high")],
        },
        OfflineCase {
            before: &[],
            message: "remind me to call the bank tomorrow",
            tool: "add_task",
            status: "ok",
            after: vec![("call the bank", false, due.clone(), "medium")],
        },
        OfflineCase {
            before: &[("Buy milk", false), ("Old errand", true)],
            message: "what's pending",
            tool: "list_tasks",
            status: "ok",
            after: vec![
                ("Buy milk", false, none.clone(), "medium"),
                ("Old errand", true, none.clone(), "medium"),
            ],
        },
        OfflineCase {
            before: &[("Buy milk", false)],
            message: "mark buy milk done",
            tool: "complete_task",
            status: "ok",
            after: vec![("Buy milk", true, none.clone(), "medium")],
        },
        OfflineCase {
            before: &[("Buy milk", false)],
            message: "complete task {id}",
            tool: "complete_task",
            status: "ok",
            after: vec![("Buy milk", true, none.clone(), "medium")],
        },
        OfflineCase {
            before: &[("Buy milk", false)],
            message: "buy milk is done",
            tool: "complete_task",
            status: "ok",
            after: vec![("Buy milk", true, none.clone(), "medium")],
        },
        OfflineCase {
            before: &[("Buy milk", false)],
            message: "rename {id} to Buy oat milk",
            tool: "update_task",
            status: "ok",
            after: vec![("Buy oat milk", false, none.clone(), "medium")],
        },
        OfflineCase {
            before: &[("Buy milk", false)],
            message: "move buy milk to tomorrow",
            tool: "update_task",
            status: "ok",
            after: vec![("Buy milk", false, due.clone(), "medium")],
        },
        OfflineCase {
            before: &[("Buy milk", true)],
            message: "reopen task {id}",
            tool: "update_task",
            status: "ok",
            after: vec![("Buy milk", false, none.clone(), "medium")],
        },
        OfflineCase {
            before: &[("Buy milk", false), ("Walk the dog", false)],
            message: "delete the milk task",
            tool: "delete_task",
            status: "ok",
            after: vec![("Walk the dog", false, none.clone(), "medium")],
        },
        OfflineCase {
            before: &[("Buy milk", false)],
            message: "remove #{id}",
            tool: "delete_task",
            status: "ok",
            after: vec![],
        },
        OfflineCase {
            before: &[("Buy milk", false)],
            message: "delete the bread task",
            tool: "delete_task",
            status: "not_found",
            after: vec![("Buy milk", false, none.clone(), "medium")],
        },
    ];
    for case in cases {
        let user = app.signed_up_user().await;
        let mut first_id = String::new();
        for (title, completed) in case.before {
            let task = app
                .create_task(&user, &json!({"title": title, "completed": completed}))
                .await;
            if first_id.is_empty() {
                first_id = task["id"].to_string();
            }
        }
        let message = case.message.replace("{id}", &first_id);
        let answer = app.chat_ok(&user, &message, None).await;
        assert_eq!(answer["offline"], true, "{message}: {answer}");
        assert!(
            answer["reply"]
                .as_str()
                .is_some_and(|reply| reply.starts_with("Offline mode: ")),
            "{message}: {answer}"
        );
        let tool_calls = answer["tool_calls"].as_array().expect("tool_calls");
        assert_eq!(tool_calls.len(), 1, "{message}: {answer}");
        assert_eq!(tool_calls[0]["name"], case.tool, "{message}: {answer}");
        assert_eq!(
            tool_calls[0]["outcome"]["status"], case.status,
            "{message}: {answer}"
        );
        let expected: Vec<(String, bool, Value, String)> = case
            .after
            .iter()
            .map(|(title, completed, due, priority)| {
                (
                    (*title).to_owned(),
                    *completed,
                    due.clone(),
                    (*priority).to_owned(),
                )
            })
            .collect();
        assert_eq!(
            task_summaries(&app, &user).await,
            expected,
            "tasks after {message:?}"
        );
    }
}

#[tokio::test]
async fn the_offline_listing_shows_only_the_asked_for_tasks() {
    let app = spawn_app().await;
    let user = app.signed_up_user().await;
    app.create_task(&user, &json!({"title": "Buy milk"})).await;
    app.create_task(&user, &json!({"title": "File taxes", "completed": true}))
        .await;
    let cases = [
        ("what's pending", vec!["Buy milk"]),
        ("show completed tasks", vec!["File taxes"]),
        ("list all tasks", vec!["File taxes", "Buy milk"]),
        ("show tasks about taxes", vec!["File taxes"]),
    ];
    for (message, titles) in cases {
        let answer = app.chat_ok(&user, message, None).await;
        let listed: Vec<&str> = answer["tool_calls"][0]["outcome"]["tasks"]
            .as_array()
            .unwrap_or_else(|| panic!("{message}: {answer}"))
            .iter()
            .map(|task| task["title"].as_str().unwrap_or_default())
            .collect();
        assert_eq!(listed, titles, "{message}");
        for title in titles {
            assert!(
                answer["reply"].as_str().unwrap_or_default().contains(title),
                "{message}: the reply names {title}: {answer}"
            );
        }
    }
}

#[tokio::test]
async fn an_ambiguous_title_gets_a_question_listing_the_candidates_and_changes_nothing() {
    let app = spawn_app().await;
    let user = app.signed_up_user().await;
    let milk = app.create_task(&user, &json!({"title": "Buy milk"})).await;
    let oat = app
        .create_task(&user, &json!({"title": "Buy oat milk"}))
        .await;
    let answer = app.chat_ok(&user, "mark milk done", None).await;
    let outcome = &answer["tool_calls"][0]["outcome"];
    assert_eq!(outcome["status"], "ambiguous", "{answer}");
    let mut candidates: Vec<i64> = outcome["candidates"]
        .as_array()
        .expect("candidates")
        .iter()
        .map(|task| task["id"].as_i64().expect("id"))
        .collect();
    candidates.sort_unstable();
    assert_eq!(
        candidates,
        [milk["id"].as_i64().unwrap(), oat["id"].as_i64().unwrap()]
    );
    let reply = answer["reply"].as_str().unwrap_or_default();
    assert!(reply.contains("Which one do you mean?"), "{reply}");
    assert!(
        reply.contains("Buy milk") && reply.contains("Buy oat milk"),
        "{reply}"
    );
    assert!(
        app.all_tasks(&user)
            .await
            .iter()
            .all(|task| task["completed"] == false),
        "nothing was completed"
    );

    // An exact title is not ambiguous.
    let exact = app.chat_ok(&user, "mark buy milk done", None).await;
    assert_eq!(exact["tool_calls"][0]["outcome"]["status"], "ok", "{exact}");
    assert_eq!(exact["tool_calls"][0]["outcome"]["task"]["id"], milk["id"]);
}

#[tokio::test]
async fn a_message_the_offline_assistant_does_not_understand_gets_an_explanation() {
    let app = spawn_app().await;
    let user = app.signed_up_user().await;
    let answer = app.chat_ok(&user, "tell me a joke", None).await;
    assert_eq!(answer["offline"], true);
    assert_eq!(answer["tool_calls"], json!([]));
    let reply = answer["reply"].as_str().unwrap_or_default();
    assert!(reply.starts_with("Offline mode: "), "{reply}");
    assert!(reply.contains("add buy milk tomorrow"), "{reply}");
    assert!(app.all_tasks(&user).await.is_empty());
}

// ---------------------------------------------------------------------------------------------
// A language model provider

#[tokio::test]
async fn a_tool_call_of_the_model_is_carried_out_and_reported() {
    let server = provider(vec![
        calls(&[(
            "call_1",
            "add_task",
            r#"{"title": "Buy milk", "priority": "high"}"#,
        )]),
        says("I added Buy milk."),
    ])
    .await;
    let app = spawn_app_with_provider(&server, &[("LLM_MODEL", "test-model-7")]).await;
    let user = app.signed_up_user().await;

    let answer = app
        .chat_ok(&user, "please remember to buy milk", None)
        .await;

    assert_eq!(answer["reply"], "I added Buy milk.");
    assert_eq!(answer["offline"], false);
    let tool_calls = answer["tool_calls"].as_array().expect("tool_calls");
    assert_eq!(tool_calls.len(), 1, "{answer}");
    assert_eq!(tool_calls[0]["name"], "add_task");
    assert_eq!(
        tool_calls[0]["arguments"],
        json!({"title": "Buy milk", "priority": "high"})
    );
    assert_eq!(tool_calls[0]["outcome"]["status"], "ok");
    assert_eq!(
        answer["assistant_message"]["tool_calls"],
        answer["tool_calls"]
    );
    assert_eq!(answer["assistant_message"]["role"], "assistant");
    assert_eq!(
        answer["user_message"]["content"],
        "please remember to buy milk"
    );
    assert_eq!(
        task_summaries(&app, &user).await,
        [("Buy milk".to_owned(), false, Value::Null, "high".to_owned())]
    );

    let received = server.received_requests().await.expect("recorded");
    assert_eq!(received.len(), 2, "one request per round");
    for request in &received {
        assert_eq!(
            request.headers["authorization"],
            format!("Bearer {TEST_LLM_KEY}").as_str()
        );
    }
    let bodies = provider_requests(&server).await;
    assert_eq!(bodies[0]["model"], "test-model-7");
    let tools: Vec<&str> = bodies[0]["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .map(|tool| tool["function"]["name"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        tools,
        [
            "add_task",
            "list_tasks",
            "complete_task",
            "update_task",
            "delete_task"
        ]
    );
    let second = roles_and_contents(&bodies[1]);
    let roles: Vec<&str> = second.iter().map(|(role, _)| role.as_str()).collect();
    assert_eq!(roles, ["system", "user", "assistant", "tool"]);
    let tool_message = &bodies[1]["messages"][3];
    assert_eq!(tool_message["tool_call_id"], "call_1");
    let reported: Value =
        serde_json::from_str(tool_message["content"].as_str().expect("content")).expect("JSON");
    assert_eq!(reported["status"], "ok");
    assert_eq!(reported["task"]["title"], "Buy milk");
}

#[tokio::test]
async fn several_rounds_of_tool_calls_are_carried_out_in_order() {
    let server = provider(vec![
        calls(&[("c1", "list_tasks", r#"{"status": "pending"}"#)]),
        calls(&[
            ("c2", "complete_task", r#"{"title_match": "report"}"#),
            ("c3", "add_task", r#"{"title": "Send the report"}"#),
        ]),
        says("Done: the report is finished and sending it is on your list."),
    ])
    .await;
    let app = spawn_app_with_provider(&server, &[]).await;
    let user = app.signed_up_user().await;
    app.create_task(&user, &json!({"title": "Write the report"}))
        .await;

    let answer = app.chat_ok(&user, "I finished the report", None).await;

    let names: Vec<&str> = answer["tool_calls"]
        .as_array()
        .expect("tool_calls")
        .iter()
        .map(|call| call["name"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(names, ["list_tasks", "complete_task", "add_task"]);
    assert!(
        answer["tool_calls"]
            .as_array()
            .unwrap()
            .iter()
            .all(|call| call["outcome"]["status"] == "ok"),
        "{answer}"
    );
    assert_eq!(
        answer["tool_calls"][0]["outcome"]["tasks"][0]["title"],
        "Write the report"
    );
    let tasks = task_summaries(&app, &user).await;
    assert_eq!(
        tasks
            .iter()
            .map(|(title, done, _, _)| (title.as_str(), *done))
            .collect::<Vec<_>>(),
        [("Write the report", true), ("Send the report", false)]
    );
    let bodies = provider_requests(&server).await;
    assert_eq!(bodies.len(), 3);
    let last: Vec<String> = roles_and_contents(&bodies[2])
        .into_iter()
        .map(|(role, _)| role)
        .collect();
    assert_eq!(
        last,
        [
            "system",
            "user",
            "assistant",
            "tool",
            "assistant",
            "tool",
            "tool"
        ]
    );
}

#[tokio::test]
async fn the_conversation_history_is_sent_with_the_next_message() {
    let server = provider(vec![
        calls(&[("c1", "add_task", r#"{"title": "Feed Tom"}"#)]),
        says("Noted: your cat is Tom, and feeding him is on your list."),
        says("Your cat is called Tom."),
    ])
    .await;
    let app = spawn_app_with_provider(&server, &[]).await;
    let user = app.signed_up_user().await;

    let first = app
        .chat_ok(&user, "My cat is called Tom; remind me to feed him", None)
        .await;
    let conversation = first["conversation_id"].as_str().expect("id").to_owned();
    let second = app
        .chat_ok(&user, "What is my cat called?", Some(&conversation))
        .await;

    assert_eq!(second["conversation_id"], conversation.as_str());
    assert_eq!(second["reply"], "Your cat is called Tom.");
    let bodies = provider_requests(&server).await;
    assert_eq!(bodies.len(), 3);
    let turn_two = roles_and_contents(&bodies[2]);
    let roles: Vec<&str> = turn_two.iter().map(|(role, _)| role.as_str()).collect();
    assert_eq!(
        roles,
        ["system", "user", "assistant", "tool", "assistant", "user"],
        "{turn_two:?}"
    );
    assert_eq!(turn_two[1].1, "My cat is called Tom; remind me to feed him");
    assert_eq!(
        turn_two[4].1,
        "Noted: your cat is Tom, and feeding him is on your list."
    );
    assert_eq!(turn_two[5].1, "What is my cat called?");
    let replayed_call = &bodies[2]["messages"][2]["tool_calls"][0];
    assert_eq!(replayed_call["function"]["name"], "add_task");
    assert_eq!(
        serde_json::from_str::<Value>(replayed_call["function"]["arguments"].as_str().unwrap())
            .unwrap(),
        json!({"title": "Feed Tom"})
    );
    assert_eq!(
        bodies[2]["messages"][3]["tool_call_id"],
        replayed_call["id"]
    );
    assert_eq!(messages(&app, &user, &conversation).await.len(), 4);
}

#[tokio::test]
async fn the_history_sent_is_bounded_by_chat_history_messages() {
    let server = provider(vec![says("one"), says("two"), says("three")]).await;
    let app = spawn_app_with_provider(&server, &[("CHAT_HISTORY_MESSAGES", "2")]).await;
    let user = app.signed_up_user().await;
    let first = app.chat_ok(&user, "first", None).await;
    let conversation = first["conversation_id"].as_str().expect("id").to_owned();
    app.chat_ok(&user, "second", Some(&conversation)).await;
    app.chat_ok(&user, "third", Some(&conversation)).await;

    let bodies = provider_requests(&server).await;
    let turn_three = roles_and_contents(&bodies[2]);
    let sent: Vec<(&str, &str)> = turn_three
        .iter()
        .skip(1)
        .map(|(role, content)| (role.as_str(), content.as_str()))
        .collect();
    assert_eq!(
        sent,
        [("user", "second"), ("assistant", "two"), ("user", "third")]
    );
}

#[tokio::test]
async fn a_provider_error_is_a_502_and_the_message_is_kept() {
    let server = provider(vec![ResponseTemplate::new(500).set_body_string("boom")]).await;
    let app = spawn_app_with_provider(&server, &[]).await;
    let user = app.signed_up_user().await;

    let response = app.chat(&user, "add buy milk", None).await;

    let conversation = response
        .headers()
        .get("x-conversation-id")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
        .expect("the x-conversation-id header names the conversation");
    let body = assert_error(response, StatusCode::BAD_GATEWAY, "upstream_error").await;
    assert!(!body.to_string().contains("boom"), "{body}");
    assert_eq!(
        server.received_requests().await.expect("recorded").len(),
        3,
        "a 500 is retried twice"
    );
    let stored = messages(&app, &user, &conversation).await;
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert_eq!(stored[0]["role"], "user");
    assert_eq!(stored[0]["content"], "add buy milk");
    assert!(app.all_tasks(&user).await.is_empty());
}

#[tokio::test]
async fn a_provider_that_does_not_answer_in_time_is_a_504_and_the_message_is_kept() {
    let server = provider(vec![says("too late").set_delay(Duration::from_secs(10))]).await;
    let app = spawn_app_with_provider(&server, &[("LLM_TIMEOUT_SECONDS", "1")]).await;
    let user = app.signed_up_user().await;
    let started = Instant::now();

    let response = app.chat(&user, "hello", None).await;

    assert!(
        started.elapsed() < Duration::from_secs(5),
        "answered after {:?}",
        started.elapsed()
    );
    let conversation = response.headers()["x-conversation-id"]
        .to_str()
        .expect("header")
        .to_owned();
    assert_error(response, StatusCode::GATEWAY_TIMEOUT, "upstream_timeout").await;
    assert_eq!(
        server.received_requests().await.expect("recorded").len(),
        1,
        "a timeout is not retried"
    );
    let stored = messages(&app, &user, &conversation).await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0]["content"], "hello");
}

#[tokio::test]
async fn a_rate_limited_call_is_retried_and_then_succeeds() {
    let server = provider(vec![
        ResponseTemplate::new(429).insert_header("retry-after", "0"),
        ResponseTemplate::new(503),
        says("Hello again."),
    ])
    .await;
    let app = spawn_app_with_provider(&server, &[]).await;
    let user = app.signed_up_user().await;

    let answer = app.chat_ok(&user, "hello", None).await;

    assert_eq!(answer["reply"], "Hello again.");
    assert_eq!(server.received_requests().await.expect("recorded").len(), 3);
}

#[tokio::test]
async fn a_client_error_of_the_provider_is_not_retried() {
    let server = provider(vec![ResponseTemplate::new(401)]).await;
    let app = spawn_app_with_provider(&server, &[]).await;
    let user = app.signed_up_user().await;
    let response = app.chat(&user, "hello", None).await;
    assert_error(response, StatusCode::BAD_GATEWAY, "upstream_error").await;
    assert_eq!(server.received_requests().await.expect("recorded").len(), 1);
}

#[tokio::test]
async fn an_answer_that_is_not_a_completion_is_a_502() {
    let server = provider(vec![
        ResponseTemplate::new(200).set_body_string("<html>proxy error</html>"),
    ])
    .await;
    let app = spawn_app_with_provider(&server, &[]).await;
    let user = app.signed_up_user().await;
    let response = app.chat(&user, "hello", None).await;
    assert_error(response, StatusCode::BAD_GATEWAY, "upstream_error").await;
}

#[tokio::test]
async fn malformed_tool_arguments_are_answered_as_a_tool_error_and_change_nothing() {
    let server = provider(vec![
        calls(&[("bad", "add_task", r#"{"title": "Buy milk""#)]),
        calls(&[(
            "worse",
            "add_task",
            r#"{"title": "Buy milk", "user_id": "someone-else"}"#,
        )]),
        says("Sorry, I could not add it."),
    ])
    .await;
    let app = spawn_app_with_provider(&server, &[]).await;
    let user = app.signed_up_user().await;

    let answer = app.chat_ok(&user, "add buy milk", None).await;

    assert_eq!(answer["reply"], "Sorry, I could not add it.");
    let tool_calls = answer["tool_calls"].as_array().expect("tool_calls");
    assert_eq!(tool_calls.len(), 2);
    assert_eq!(tool_calls[0]["arguments"], r#"{"title": "Buy milk""#);
    assert_eq!(tool_calls[0]["outcome"]["status"], "invalid");
    assert!(
        tool_calls[0]["outcome"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("not valid JSON"),
        "{answer}"
    );
    assert_eq!(tool_calls[1]["outcome"]["status"], "invalid");
    assert!(
        tool_calls[1]["outcome"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("unknown field `user_id`"),
        "no argument names a user: {answer}"
    );
    assert!(app.all_tasks(&user).await.is_empty());
    let bodies = provider_requests(&server).await;
    let reported = bodies[1]["messages"]
        .as_array()
        .expect("messages")
        .last()
        .expect("a tool message")
        .clone();
    assert_eq!(reported["role"], "tool");
    assert_eq!(reported["tool_call_id"], "bad");
    assert!(
        reported["content"]
            .as_str()
            .unwrap_or_default()
            .contains("not valid JSON"),
        "{reported}"
    );
}

#[tokio::test]
async fn an_unknown_tool_is_answered_as_a_tool_error() {
    let server = provider(vec![
        calls(&[("x", "drop_all_tables", "{}")]),
        says("I cannot do that."),
    ])
    .await;
    let app = spawn_app_with_provider(&server, &[]).await;
    let user = app.signed_up_user().await;
    app.create_task(&user, &json!({"title": "Keep me"})).await;

    let answer = app.chat_ok(&user, "wipe everything", None).await;

    let outcome = &answer["tool_calls"][0]["outcome"];
    assert_eq!(answer["tool_calls"][0]["name"], "drop_all_tables");
    assert_eq!(outcome["status"], "invalid");
    assert!(
        outcome["message"]
            .as_str()
            .unwrap_or_default()
            .starts_with("There is no tool named `drop_all_tables`"),
        "{outcome}"
    );
    assert_eq!(app.all_tasks(&user).await.len(), 1);
}

#[tokio::test]
async fn a_model_that_never_stops_calling_tools_is_stopped_after_the_round_limit() {
    let server = provider(vec![calls(&[("again", "list_tasks", "{}")])]).await;
    let app = spawn_app_with_provider(&server, &[("LLM_MAX_TOOL_ROUNDS", "3")]).await;
    let user = app.signed_up_user().await;

    let answer = app.chat_ok(&user, "loop forever", None).await;

    assert_eq!(server.received_requests().await.expect("recorded").len(), 3);
    assert_eq!(
        answer["tool_calls"].as_array().expect("tool_calls").len(),
        3
    );
    assert!(
        answer["reply"]
            .as_str()
            .unwrap_or_default()
            .contains("stopped after 3 rounds"),
        "{answer}"
    );
}

#[tokio::test]
async fn too_many_tool_calls_in_one_answer_are_refused_beyond_the_limit() {
    let many: Vec<(String, String)> = (0..12)
        .map(|i| (format!("c{i}"), format!(r#"{{"title": "Task {i}"}}"#)))
        .collect();
    let requested: Vec<(&str, &str, &str)> = many
        .iter()
        .map(|(id, arguments)| (id.as_str(), "add_task", arguments.as_str()))
        .collect();
    let server = provider(vec![calls(&requested), says("Added what I could.")]).await;
    let app = spawn_app_with_provider(&server, &[]).await;
    let user = app.signed_up_user().await;

    let answer = app.chat_ok(&user, "add twelve tasks", None).await;

    let statuses: Vec<&str> = answer["tool_calls"]
        .as_array()
        .expect("tool_calls")
        .iter()
        .map(|call| call["outcome"]["status"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(statuses.len(), 12);
    assert!(
        statuses[..10].iter().all(|status| *status == "ok"),
        "{statuses:?}"
    );
    assert!(
        statuses[10..].iter().all(|status| *status == "invalid"),
        "{statuses:?}"
    );
    assert_eq!(app.all_tasks(&user).await.len(), 10);
}

#[tokio::test]
async fn a_provider_failure_after_tool_calls_keeps_a_record_of_what_was_done() {
    let server = provider(vec![
        calls(&[("c1", "add_task", r#"{"title": "Buy milk"}"#)]),
        ResponseTemplate::new(500),
    ])
    .await;
    let app = spawn_app_with_provider(&server, &[]).await;
    let user = app.signed_up_user().await;

    let response = app.chat(&user, "add buy milk", None).await;

    let conversation = response.headers()["x-conversation-id"]
        .to_str()
        .expect("header")
        .to_owned();
    assert_error(response, StatusCode::BAD_GATEWAY, "upstream_error").await;
    assert_eq!(
        app.all_tasks(&user).await.len(),
        1,
        "the tool call happened"
    );
    let stored = messages(&app, &user, &conversation).await;
    assert_eq!(stored.len(), 2, "{stored:?}");
    assert_eq!(stored[1]["role"], "assistant");
    assert_eq!(stored[1]["tool_calls"][0]["name"], "add_task");
    assert_eq!(stored[1]["tool_calls"][0]["outcome"]["status"], "ok");
}

#[tokio::test]
async fn a_model_without_any_text_or_tool_call_still_gets_a_reply_stored() {
    let server = provider(vec![completion(
        &json!({"role": "assistant", "content": ""}),
    )])
    .await;
    let app = spawn_app_with_provider(&server, &[]).await;
    let user = app.signed_up_user().await;
    let answer = app.chat_ok(&user, "hello", None).await;
    assert!(
        !answer["reply"].as_str().unwrap_or_default().is_empty(),
        "{answer}"
    );
}

// ---------------------------------------------------------------------------------------------
// Validation, conversations, paging

#[tokio::test]
async fn invalid_chat_requests_are_refused_and_store_nothing() {
    let app = spawn_app().await;
    let user = app.signed_up_user().await;
    let cases = [
        (
            json!({"message": ""}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            json!({"message": "   "}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            json!({}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            json!({"message": "x".repeat(2001)}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            json!({"message": 5}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            json!({"message": "hi", "user_id": user.id.to_string()}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            json!({"message": "hi", "conversation_id": "abc"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            json!({"message": "hi", "conversation_id": Uuid::new_v4().to_string()}),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
    ];
    for (body, status, code) in cases {
        let response = app.post("/api/chat", Some(&user.token), &body).await;
        let error = assert_error(response, status, code).await;
        if code == "validation_failed" {
            assert!(
                error["error"]["fields"]["message"].is_string(),
                "{body}: {error}"
            );
        }
    }
    let exactly = app.chat(&user, &"x".repeat(2000), None).await;
    assert_eq!(
        exactly.status(),
        StatusCode::OK,
        "2000 characters are allowed"
    );
    let list = json_body(
        app.get("/api/conversations", Some(&user.token)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        list["total"], 1,
        "only the valid message was stored: {list}"
    );

    let anonymous = app.post("/api/chat", None, &json!({"message": "hi"})).await;
    assert_error(anonymous, StatusCode::UNAUTHORIZED, "unauthorized").await;
}

#[tokio::test]
async fn conversations_are_listed_most_recently_active_first_and_paged() {
    let app = spawn_app().await;
    let user = app.signed_up_user().await;
    let mut ids = Vec::new();
    for message in ["first chat", "second chat", "third chat"] {
        let answer = app.chat_ok(&user, message, None).await;
        ids.push(answer["conversation_id"].as_str().expect("id").to_owned());
    }
    // Talking in the first conversation makes it the most recent.
    app.chat_ok(&user, "hello again", Some(&ids[0])).await;

    let page = json_body(
        app.get("/api/conversations?limit=2", Some(&user.token))
            .await,
        StatusCode::OK,
    )
    .await;
    let listed: Vec<&str> = page["conversations"]
        .as_array()
        .expect("conversations")
        .iter()
        .map(|c| c["id"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(listed, [ids[0].as_str(), ids[2].as_str()]);
    assert_eq!(
        (
            page["total"].clone(),
            page["page"].clone(),
            page["limit"].clone(),
            page["total_pages"].clone()
        ),
        (json!(3), json!(1), json!(2), json!(2))
    );
    assert_eq!(page["conversations"][1]["title"], "third chat");
    let second = json_body(
        app.get("/api/conversations?limit=2&page=2", Some(&user.token))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(second["conversations"][0]["id"], ids[1].as_str());
    let past_the_end = json_body(
        app.get("/api/conversations?page=9", Some(&user.token))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(past_the_end["conversations"], json!([]));
    assert_eq!(past_the_end["total"], 3);

    let one = json_body(
        app.get(&format!("/api/conversations/{}", ids[1]), Some(&user.token))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(one["title"], "second chat");

    for (query, status, code) in [
        (
            "?limit=0",
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            "?limit=101",
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            "?page=-1",
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        ("?sort=title", StatusCode::BAD_REQUEST, "bad_request"),
    ] {
        let response = app
            .get(&format!("/api/conversations{query}"), Some(&user.token))
            .await;
        assert_error(response, status, code).await;
    }
}

#[tokio::test]
async fn messages_are_paged_from_the_newest_and_listed_oldest_first() {
    let app = spawn_app().await;
    let user = app.signed_up_user().await;
    let first = app.chat_ok(&user, "help", None).await;
    let conversation = first["conversation_id"].as_str().expect("id").to_owned();
    app.chat_ok(&user, "what's pending", Some(&conversation))
        .await;
    app.chat_ok(&user, "add buy milk", Some(&conversation))
        .await;

    let page = json_body(
        app.get(
            &format!("/api/conversations/{conversation}/messages?limit=4"),
            Some(&user.token),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (page["total"].clone(), page["total_pages"].clone()),
        (json!(6), json!(2))
    );
    let contents: Vec<&str> = page["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| m["content"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(contents.len(), 4);
    assert_eq!(contents[0], "what's pending");
    assert_eq!(contents[2], "add buy milk");
    assert!(
        contents[3].starts_with("Offline mode: Created task"),
        "{contents:?}"
    );
    assert_eq!(page["messages"][3]["tool_calls"][0]["name"], "add_task");
    assert_eq!(page["messages"][2]["tool_calls"], json!([]));
    let ids: Vec<i64> = page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_i64().unwrap())
        .collect();
    assert!(ids.windows(2).all(|pair| pair[0] < pair[1]), "{ids:?}");

    let older = json_body(
        app.get(
            &format!("/api/conversations/{conversation}/messages?limit=4&page=2"),
            Some(&user.token),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let older: Vec<&str> = older["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| m["role"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(older, ["user", "assistant"]);
}

#[tokio::test]
async fn deleting_a_conversation_removes_its_messages_but_not_the_tasks() {
    let app = spawn_app().await;
    let user = app.signed_up_user().await;
    let answer = app.chat_ok(&user, "add buy milk", None).await;
    let conversation = answer["conversation_id"].as_str().expect("id").to_owned();
    let path = format!("/api/conversations/{conversation}");

    let deleted = app.delete(&path, Some(&user.token)).await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    for route in [path.clone(), format!("{path}/messages")] {
        let response = app.get(&route, Some(&user.token)).await;
        assert_error(response, StatusCode::NOT_FOUND, "not_found").await;
    }
    let again = app.delete(&path, Some(&user.token)).await;
    assert_error(again, StatusCode::NOT_FOUND, "not_found").await;
    let continued = app.chat(&user, "hello", Some(&conversation)).await;
    assert_error(continued, StatusCode::NOT_FOUND, "not_found").await;
    assert_eq!(app.all_tasks(&user).await.len(), 1, "the task stays");
}

#[tokio::test]
async fn malformed_conversation_ids_are_not_found() {
    let app = spawn_app().await;
    let user = app.signed_up_user().await;
    for id in ["abc", "1", "00000000-0000-0000-0000-00000000000g"] {
        for (method, route) in [
            (reqwest::Method::GET, format!("/api/conversations/{id}")),
            (
                reqwest::Method::GET,
                format!("/api/conversations/{id}/messages"),
            ),
            (reqwest::Method::DELETE, format!("/api/conversations/{id}")),
        ] {
            let response = app
                .request(method.clone(), &route, Some(&user.token), None)
                .await;
            assert_error(response, StatusCode::NOT_FOUND, "not_found").await;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Isolation

#[tokio::test]
async fn another_users_conversation_is_not_found_on_every_route() {
    let app = spawn_app().await;
    let owner = app.signed_up_user().await;
    let other = app.signed_up_user().await;
    let answer = app.chat_ok(&owner, "add secret plan", None).await;
    let conversation = answer["conversation_id"].as_str().expect("id").to_owned();

    let attempts = [
        app.chat(&other, "what's pending", Some(&conversation))
            .await,
        app.get(
            &format!("/api/conversations/{conversation}"),
            Some(&other.token),
        )
        .await,
        app.get(
            &format!("/api/conversations/{conversation}/messages"),
            Some(&other.token),
        )
        .await,
        app.delete(
            &format!("/api/conversations/{conversation}"),
            Some(&other.token),
        )
        .await,
    ];
    for response in attempts {
        assert_error(response, StatusCode::NOT_FOUND, "not_found").await;
    }
    let theirs = json_body(
        app.get("/api/conversations", Some(&other.token)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(theirs["total"], 0, "{theirs}");
    assert_eq!(messages(&app, &owner, &conversation).await.len(), 2);
    assert!(app.all_tasks(&other).await.is_empty());
}

#[tokio::test]
async fn the_tools_never_touch_another_users_tasks() {
    let app = spawn_app().await;
    let owner = app.signed_up_user().await;
    let task = app
        .create_task(&owner, &json!({"title": "Secret plan"}))
        .await;
    let id = task["id"].to_string();
    let other = app.signed_up_user().await;

    for message in [
        format!("mark {id} done"),
        format!("rename {id} to Stolen"),
        format!("delete task {id}"),
        "delete the secret plan task".to_owned(),
        "mark secret plan done".to_owned(),
    ] {
        let answer = app.chat_ok(&other, &message, None).await;
        assert_eq!(
            answer["tool_calls"][0]["outcome"]["status"], "not_found",
            "{message}: {answer}"
        );
    }
    let listing = app.chat_ok(&other, "show my tasks", None).await;
    assert_eq!(listing["tool_calls"][0]["outcome"]["tasks"], json!([]));
    assert_eq!(
        task_summaries(&app, &owner).await,
        [(
            "Secret plan".to_owned(),
            false,
            Value::Null,
            "medium".to_owned()
        )]
    );
}

#[tokio::test]
async fn a_model_cannot_reach_another_users_tasks_either() {
    let app_owner_task = |id: &str| {
        vec![
            calls(&[
                ("a", "complete_task", &format!(r#"{{"id": {id}}}"#)),
                (
                    "b",
                    "update_task",
                    &format!(r#"{{"id": {id}, "title": "Stolen"}}"#),
                ),
                ("c", "delete_task", r#"{"title_match": "Secret"}"#),
                ("d", "list_tasks", "{}"),
            ]),
            says("Nothing there."),
        ]
    };
    let server = MockServer::start().await;
    let app = spawn_app_with_provider(&server, &[]).await;
    let owner = app.signed_up_user().await;
    let task = app
        .create_task(&owner, &json!({"title": "Secret plan"}))
        .await;
    Mock::given(method("POST"))
        .and(path(COMPLETIONS))
        .respond_with(Script(Mutex::new(
            app_owner_task(&task["id"].to_string()).into(),
        )))
        .mount(&server)
        .await;
    let other = app.signed_up_user().await;

    let answer = app.chat_ok(&other, "mess with the secret plan", None).await;

    let statuses: Vec<&str> = answer["tool_calls"]
        .as_array()
        .expect("tool_calls")
        .iter()
        .map(|call| call["outcome"]["status"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(statuses, ["not_found", "not_found", "not_found", "ok"]);
    assert_eq!(answer["tool_calls"][3]["outcome"]["tasks"], json!([]));
    assert_eq!(
        task_summaries(&app, &owner).await,
        [(
            "Secret plan".to_owned(),
            false,
            Value::Null,
            "medium".to_owned()
        )]
    );
}

// ---------------------------------------------------------------------------------------------
// Persistence

#[tokio::test]
async fn conversations_survive_a_restart_of_the_service() {
    let mut app = spawn_app().await;
    let user = app.signed_up_user().await;
    let answer = app.chat_ok(&user, "add buy milk", None).await;
    let conversation = answer["conversation_id"].as_str().expect("id").to_owned();
    app.stop_server().await;

    let restarted = start_instance(app.db.url(), &[]).await;
    let listed = restarted
        .request(
            reqwest::Method::GET,
            &format!("/api/conversations/{conversation}/messages"),
            &user.token,
            None,
        )
        .await;
    let page = json_body(listed, StatusCode::OK).await;
    let contents: Vec<&str> = page["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| m["content"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(contents.len(), 2);
    assert_eq!(contents[0], "add buy milk");
    assert_eq!(page["messages"][1]["tool_calls"][0]["name"], "add_task");

    let next = restarted
        .request(
            reqwest::Method::POST,
            "/api/chat",
            &user.token,
            Some(&json!({"message": "what's pending", "conversation_id": conversation})),
        )
        .await;
    let next = json_body(next, StatusCode::OK).await;
    assert!(
        next["reply"]
            .as_str()
            .unwrap_or_default()
            .contains("buy milk"),
        "{next}"
    );
}

#[tokio::test]
async fn two_instances_on_one_database_share_conversations_and_history() {
    let server = provider(vec![says("Hi, Ada."), says("Your name is Ada.")]).await;
    let provider_base = format!("{}/v1", server.uri());
    let overrides = [
        ("LLM_BASE_URL", provider_base.as_str()),
        ("LLM_API_KEY", TEST_LLM_KEY),
    ];
    let app = spawn_app_with_provider(&server, &[]).await;
    let replica = start_instance(app.db.url(), &overrides).await;
    let user = app.signed_up_user().await;

    let first = app.chat_ok(&user, "My name is Ada", None).await;
    let conversation = first["conversation_id"].as_str().expect("id").to_owned();
    let second = replica
        .request(
            reqwest::Method::POST,
            "/api/chat",
            &user.token,
            Some(&json!({"message": "What is my name?", "conversation_id": conversation})),
        )
        .await;
    let second = json_body(second, StatusCode::OK).await;

    assert_eq!(second["reply"], "Your name is Ada.");
    let bodies = provider_requests(&server).await;
    let sent: Vec<(String, String)> = roles_and_contents(&bodies[1]).into_iter().skip(1).collect();
    assert_eq!(
        sent,
        [
            ("user".to_owned(), "My name is Ada".to_owned()),
            ("assistant".to_owned(), "Hi, Ada.".to_owned()),
            ("user".to_owned(), "What is my name?".to_owned()),
        ],
        "the replica sent the history the first instance stored"
    );
    assert_eq!(messages(&app, &user, &conversation).await.len(), 4);
}
