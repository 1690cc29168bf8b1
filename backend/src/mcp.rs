//! The MCP server at `/mcp`: the assistant's five task tools for any Model Context Protocol
//! client, over streamable HTTP (the `rmcp` SDK).
//!
//! Every request must carry the same bearer token as the REST API (401 otherwise), and the
//! tools act on that token's user only. The server is stateless: each POST carries one
//! JSON-RPC message and gets a JSON answer, so any replica can serve any request and nothing
//! is lost on a restart. The `Host` header must be one of `MCP_ALLOWED_HOSTS` (403 otherwise),
//! which protects local installations against DNS rebinding.

use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRequestParts as _, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse as _, Response};
use axum::routing::post_service;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData, RoleServer, ServerHandler};
use serde_json::Value;

use crate::assistant::tools::{TaskTools, definitions};
use crate::auth::AuthUser;
use crate::error::ErrorBody;
use crate::state::AppState;

/// Where the MCP endpoint is served.
pub const PATH: &str = "/mcp";

const INSTRUCTIONS: &str = "Tools for the signed-in TaskFlow user's to-do list. Name a task by its id or by words from its title (title_match); when several tasks match, the tool changes nothing and returns the candidates, so ask the user which one is meant.";

/// The `/mcp` route: bearer authentication in front of the rmcp service.
pub fn router(state: &AppState) -> Router<AppState> {
    let tools = state.assistant.tools().clone();
    let base = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true)
        .with_sse_keep_alive(None)
        .with_max_request_body_bytes(state.config.body_limit_bytes);
    let config = match state.config.mcp_host_allowlist() {
        Some(hosts) => base.with_allowed_hosts(hosts),
        None => base.disable_allowed_hosts(),
    };
    let service = StreamableHttpService::new(
        move || {
            Ok(TaskServer {
                tools: tools.clone(),
            })
        },
        Arc::new(NeverSessionManager::default()),
        config,
    );
    // Authentication wraps POST only, so that other methods get 405 like everywhere else.
    let endpoint = post_service(service)
        .route_layer(middleware::from_fn_with_state(state.clone(), authenticate));
    Router::new().route(PATH, endpoint)
}

// The OpenAPI description of `/mcp` is attached to its authentication layer, because the
// handler itself is the rmcp service.
/// Talk to the MCP server (JSON-RPC 2.0 over streamable HTTP).
///
/// Send one JSON-RPC message per POST with `Accept: application/json, text/event-stream`;
/// the answer is JSON. Methods: `initialize`, `tools/list`, `tools/call` (tools `add_task`,
/// `list_tasks`, `complete_task`, `update_task`, `delete_task`), `ping`. The tools act on
/// the token's user only.
#[utoipa::path(
    post, path = "/mcp", tag = "mcp",
    security(("bearer" = [])),
    request_body(content = Object, description = "A JSON-RPC 2.0 request or notification"),
    responses(
        (status = 200, description = "The JSON-RPC response", body = Object),
        (status = 202, description = "A notification was accepted"),
        (status = 401, description = "Missing, invalid, expired or revoked token", body = ErrorBody),
        (status = 403, description = "The Host header is not in MCP_ALLOWED_HOSTS", body = ErrorBody),
        (status = 406, description = "The Accept header does not allow JSON and event streams", body = ErrorBody),
    )
)]
async fn authenticate(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    match AuthUser::from_request_parts(&mut parts, &state).await {
        Ok(user) => {
            parts.extensions.insert(user);
            next.run(Request::from_parts(parts, body)).await
        }
        Err(rejection) => rejection.into_response(),
    }
}

/// The OpenAPI path of this module.
#[derive(Debug, utoipa::OpenApi)]
#[openapi(paths(authenticate))]
pub struct McpApi;

/// The MCP handler: lists the tools and runs them for the request's user.
#[derive(Clone)]
struct TaskServer {
    tools: TaskTools,
}

fn mcp_tools() -> Vec<Tool> {
    definitions()
        .iter()
        .map(|tool| {
            let schema = match &tool.parameters {
                Value::Object(schema) => schema.clone(),
                _ => serde_json::Map::new(),
            };
            Tool::new(tool.name, tool.description, Arc::new(schema))
        })
        .collect()
}

impl ServerHandler for TaskServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("taskflow", env!("CARGO_PKG_VERSION")))
            .with_instructions(INSTRUCTIONS)
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(mcp_tools()))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        mcp_tools().into_iter().find(|tool| tool.name == name)
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        // The authentication layer put the user into the HTTP request, which rmcp hands on.
        let user = context
            .extensions
            .get::<http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<AuthUser>())
            .ok_or_else(|| ErrorData::internal_error("the request is not authenticated", None))?;
        if !TaskTools::knows(&request.name) {
            return Err(ErrorData::invalid_params(
                format!("there is no tool named `{}`", request.name),
                None,
            ));
        }
        let arguments = request.arguments.map_or(Value::Null, Value::Object);
        let outcome = self.tools.call(user.id, &request.name, &arguments).await;
        tracing::info!(tool = %request.name, status = ?outcome.status, "MCP tool call");
        let mut result = if outcome.is_ok() {
            CallToolResult::success(vec![ContentBlock::text(outcome.message.clone())])
        } else {
            CallToolResult::error(vec![ContentBlock::text(outcome.message.clone())])
        };
        result.structured_content = serde_json::to_value(&outcome).ok();
        Ok(result.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mcp_tools_are_the_assistants_tools() {
        let names: Vec<String> = mcp_tools()
            .into_iter()
            .map(|tool| tool.name.into_owned())
            .collect();
        let expected: Vec<&str> = definitions().iter().map(|tool| tool.name).collect();
        assert_eq!(names, expected);
        for tool in mcp_tools() {
            assert_eq!(
                tool.input_schema.get("type"),
                Some(&Value::from("object")),
                "{}",
                tool.name
            );
        }
    }
}
