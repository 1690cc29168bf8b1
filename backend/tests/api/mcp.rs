//! The MCP server at `/mcp`, driven by a real MCP client (rmcp over streamable HTTP): the
//! tools are listed and called with a bearer token and act on that user's tasks only; without
//! a valid token, or with a `Host` outside `MCP_ALLOWED_HOSTS`, the endpoint refuses.

use reqwest::{StatusCode, header};
use rmcp::ServiceExt as _;
use rmcp::model::{CallToolRequestParams, CallToolResult, ClientConfig};
use rmcp::service::{RoleClient, RunningService};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestUser, assert_error, json_body, spawn_app, spawn_app_with};

type McpClient = RunningService<RoleClient, ClientConfig>;

/// An MCP client connected to the app's `/mcp`, sending `token` when given.
async fn connect(app: &TestApp, token: Option<&str>) -> Result<McpClient, String> {
    let mut config = StreamableHttpClientTransportConfig::with_uri(app.url("/mcp"));
    if let Some(token) = token {
        config = config.auth_header(token);
    }
    let transport = StreamableHttpClientTransport::from_config(config);
    ClientConfig::default()
        .serve(transport)
        .await
        .map_err(|err| err.to_string())
}

async fn connected(app: &TestApp, user: &TestUser) -> McpClient {
    connect(app, Some(&user.token))
        .await
        .expect("an MCP client with a valid token connects")
}

/// Calls `tool` with `arguments` and returns the result.
async fn call(client: &McpClient, tool: &'static str, arguments: Value) -> CallToolResult {
    let Value::Object(arguments) = arguments else {
        panic!("arguments must be an object");
    };
    client
        .call_tool(CallToolRequestParams::new(tool).with_arguments(arguments))
        .await
        .unwrap_or_else(|err| panic!("calling {tool}: {err}"))
}

/// The structured outcome of a tool result.
fn outcome(result: &CallToolResult) -> Value {
    result
        .structured_content
        .clone()
        .expect("tool results carry the outcome as structured content")
}

/// A raw MCP `initialize` request.
fn initialize_body() -> Value {
    json!({
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "raw-test", "version": "1.0"}
        }
    })
}

async fn raw_initialize(
    app: &TestApp,
    token: Option<&str>,
    host: Option<&str>,
) -> reqwest::Response {
    let mut request = app
        .client
        .post(app.url("/mcp"))
        .header(header::ACCEPT, "application/json, text/event-stream")
        .json(&initialize_body());
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(host) = host {
        request = request.header(header::HOST, host);
    }
    request.send().await.expect("sending the request")
}

#[tokio::test]
async fn an_mcp_client_lists_the_five_task_tools() {
    let app = spawn_app().await;
    let user = app.signed_up_user().await;
    let client = connected(&app, &user).await;

    let tools = client.list_all_tools().await.expect("listing tools");

    let names: Vec<&str> = tools.iter().map(|tool| tool.name.as_ref()).collect();
    assert_eq!(
        names,
        [
            "add_task",
            "list_tasks",
            "complete_task",
            "update_task",
            "delete_task"
        ]
    );
    for tool in &tools {
        assert_eq!(
            tool.input_schema.get("type"),
            Some(&json!("object")),
            "{}",
            tool.name
        );
        assert!(
            tool.description.is_some(),
            "{} has a description",
            tool.name
        );
    }
    let _ = client.cancel().await;
}

#[tokio::test]
async fn an_mcp_client_adds_and_lists_the_token_users_tasks() {
    let app = spawn_app().await;
    let user = app.signed_up_user().await;
    let client = connected(&app, &user).await;

    let added = call(
        &client,
        "add_task",
        json!({"title": "Buy milk", "due_date": "2030-01-31", "priority": "high"}),
    )
    .await;

    assert_eq!(added.is_error, Some(false));
    let added = outcome(&added);
    assert_eq!(added["status"], "ok");
    assert_eq!(added["task"]["title"], "Buy milk");
    let tasks = app.all_tasks(&user).await;
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0]["id"], added["task"]["id"]);
    assert_eq!(tasks[0]["due_date"], "2030-01-31");
    assert_eq!(tasks[0]["priority"], "high");

    let listed = call(&client, "list_tasks", json!({"status": "pending"})).await;
    assert_eq!(listed.is_error, Some(false));
    let listed = outcome(&listed);
    assert_eq!(
        listed["tasks"].as_array().map(Vec::len),
        Some(1),
        "{listed}"
    );
    assert_eq!(listed["tasks"][0]["title"], "Buy milk");

    let completed = call(&client, "complete_task", json!({"title_match": "milk"})).await;
    assert_eq!(outcome(&completed)["status"], "ok");
    assert_eq!(app.all_tasks(&user).await[0]["completed"], true);
    let _ = client.cancel().await;
}

#[tokio::test]
async fn mcp_tools_only_ever_see_the_token_users_tasks() {
    let app = spawn_app().await;
    let owner = app.signed_up_user().await;
    let task = app
        .create_task(&owner, &json!({"title": "Secret plan"}))
        .await;
    let other = app.signed_up_user().await;
    let client = connected(&app, &other).await;

    let listed = call(&client, "list_tasks", json!({})).await;
    assert_eq!(outcome(&listed)["tasks"], json!([]));
    for (tool, arguments) in [
        ("complete_task", json!({"id": task["id"]})),
        ("delete_task", json!({"title_match": "Secret"})),
        ("update_task", json!({"id": task["id"], "title": "Stolen"})),
    ] {
        let result = call(&client, tool, arguments).await;
        assert_eq!(result.is_error, Some(true), "{tool}");
        assert_eq!(outcome(&result)["status"], "not_found", "{tool}");
    }
    let named_user = call(
        &client,
        "list_tasks",
        json!({"user_id": owner.id.to_string()}),
    )
    .await;
    assert_eq!(outcome(&named_user)["status"], "invalid");
    let owners = app.all_tasks(&owner).await;
    assert_eq!(owners.len(), 1);
    assert_eq!(owners[0]["title"], "Secret plan");
    assert_eq!(owners[0]["completed"], false);
    let _ = client.cancel().await;
}

#[tokio::test]
async fn tool_failures_are_tool_errors_and_unknown_tools_are_protocol_errors() {
    let app = spawn_app().await;
    let user = app.signed_up_user().await;
    let client = connected(&app, &user).await;

    let invalid = call(&client, "add_task", json!({"title": " "})).await;
    assert_eq!(invalid.is_error, Some(true));
    let invalid = outcome(&invalid);
    assert_eq!(invalid["status"], "invalid");
    assert_eq!(invalid["fields"]["title"], "title must not be blank");

    let missing = call(&client, "delete_task", json!({"id": 999_999})).await;
    assert_eq!(outcome(&missing)["status"], "not_found");

    let unknown = client
        .call_tool(CallToolRequestParams::new("drop_all_tables"))
        .await;
    assert!(unknown.is_err(), "{unknown:?}");
    assert!(app.all_tasks(&user).await.is_empty());
    let _ = client.cancel().await;
}

#[tokio::test]
async fn without_a_valid_token_the_mcp_endpoint_refuses() {
    let app = spawn_app().await;
    let user = app.signed_up_user().await;

    assert!(
        connect(&app, None).await.is_err(),
        "a client without a token cannot connect"
    );
    assert!(
        connect(&app, Some("not-a-token")).await.is_err(),
        "a client with a bad token cannot connect"
    );

    let anonymous = raw_initialize(&app, None, None).await;
    assert_eq!(anonymous.headers()[header::WWW_AUTHENTICATE], "Bearer");
    assert_error(anonymous, StatusCode::UNAUTHORIZED, "unauthorized").await;

    let logout = app
        .post("/api/auth/logout", Some(&user.token), &json!({}))
        .await;
    assert_eq!(logout.status(), StatusCode::NO_CONTENT);
    let revoked = raw_initialize(&app, Some(&user.token), None).await;
    assert_error(revoked, StatusCode::UNAUTHORIZED, "unauthorized").await;
}

#[tokio::test]
async fn a_valid_token_gets_an_initialize_answer_over_plain_http() {
    let app = spawn_app().await;
    let user = app.signed_up_user().await;
    let response = raw_initialize(&app, Some(&user.token), None).await;
    let body = json_body(response, StatusCode::OK).await;
    assert_eq!(body["id"], 1);
    assert_eq!(body["result"]["serverInfo"]["name"], "taskflow");
    assert!(
        body["result"]["capabilities"]["tools"].is_object(),
        "{body}"
    );
}

#[tokio::test]
async fn a_host_outside_mcp_allowed_hosts_is_refused() {
    let app = spawn_app().await;
    let user = app.signed_up_user().await;
    let cases = [
        (Some("evil.example"), StatusCode::FORBIDDEN),
        (Some("evil.example:8000"), StatusCode::FORBIDDEN),
        (Some("localhost:8000"), StatusCode::OK),
        (None, StatusCode::OK),
    ];
    for (host, status) in cases {
        let response = raw_initialize(&app, Some(&user.token), host).await;
        assert_eq!(response.status(), status, "Host {host:?}");
        if status == StatusCode::FORBIDDEN {
            assert_error(response, status, "forbidden").await;
        }
    }

    let service_name = spawn_app_with(&[("MCP_ALLOWED_HOSTS", "taskflow-backend")]).await;
    let user = service_name.signed_up_user().await;
    let behind_a_service = raw_initialize(
        &service_name,
        Some(&user.token),
        Some("taskflow-backend:8000"),
    )
    .await;
    assert_eq!(behind_a_service.status(), StatusCode::OK);
    let loopback = raw_initialize(&service_name, Some(&user.token), None).await;
    assert_eq!(
        loopback.status(),
        StatusCode::FORBIDDEN,
        "only the listed hosts"
    );

    let any = spawn_app_with(&[("MCP_ALLOWED_HOSTS", "*")]).await;
    let user = any.signed_up_user().await;
    let anything = raw_initialize(&any, Some(&user.token), Some("whatever.example")).await;
    assert_eq!(anything.status(), StatusCode::OK);
}

#[tokio::test]
async fn methods_other_than_post_are_not_allowed_with_or_without_a_token() {
    let app = spawn_app().await;
    let user = app.signed_up_user().await;
    for method in [
        reqwest::Method::GET,
        reqwest::Method::PUT,
        reqwest::Method::DELETE,
    ] {
        for token in [None, Some(user.token.as_str())] {
            let response = app.request(method.clone(), "/mcp", token, None).await;
            assert_error(
                response,
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
            )
            .await;
        }
    }
}
