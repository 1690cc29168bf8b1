//! The assistant's chat: send a message, list conversations, read one conversation and its
//! messages, delete a conversation. The owner always comes from the token; another user's
//! conversation is answered with 404, as if it did not exist.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use http::HeaderName;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::paging::{page_and_limit, total_pages};
use crate::assistant::tools::ToolCallRecord;
use crate::assistant::{Assistant, ChatError};
use crate::auth::AuthUser;
use crate::db::DbPool;
use crate::domain::{ChatMessage, FieldErrors};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{AppJson, AppPath, AppQuery};
use crate::repo;
use crate::repo::conversations::{ConversationRow, MessageRow};
use crate::state::AppState;

/// Names the conversation that holds the user's message when `POST /api/chat` fails after
/// storing it (502, 504).
pub const CONVERSATION_ID: HeaderName = HeaderName::from_static("x-conversation-id");
/// Conversations per page when `limit` is not given.
pub const DEFAULT_CONVERSATIONS_PAGE: i64 = 20;
/// Messages per page when `limit` is not given.
pub const DEFAULT_MESSAGES_PAGE: i64 = 50;

/// Routes under `/api`: `/chat` and `/conversations`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/chat", post(chat_send))
        .route("/conversations", get(conversations_list))
        .route(
            "/conversations/{id}",
            get(conversations_get).delete(conversations_delete),
        )
        .route("/conversations/{id}/messages", get(conversation_messages))
}

/// Body of `POST /api/chat`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChatRequest {
    /// The message, 1–2000 characters after trimming.
    #[serde(default)]
    message: String,
    /// The conversation to continue; omit it (or send null) to start a new one.
    #[serde(default)]
    conversation_id: Option<Uuid>,
}

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum MessageRole {
    /// The signed-in user.
    User,
    /// The assistant.
    Assistant,
}

/// A stored message.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageResponse {
    /// Message id; ids grow with time within a conversation.
    pub id: i64,
    /// `user` or `assistant`.
    pub role: MessageRole,
    /// The text.
    pub content: String,
    /// The tool calls the assistant made for this reply (always empty for user messages).
    pub tool_calls: Vec<ToolCallRecord>,
    /// When it was stored (RFC 3339, UTC).
    pub created_at: DateTime<Utc>,
}

impl From<MessageRow> for MessageResponse {
    fn from(row: MessageRow) -> Self {
        let tool_calls = serde_json::from_value(row.tool_calls).unwrap_or_else(|err| {
            tracing::warn!(message_id = row.id, error = %err, "stored tool calls do not parse");
            Vec::new()
        });
        Self {
            id: row.id,
            role: if row.role == "assistant" {
                MessageRole::Assistant
            } else {
                MessageRole::User
            },
            content: row.content,
            tool_calls,
            created_at: row.created_at,
        }
    }
}

/// The assistant's answer to a message.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChatResponse {
    /// The conversation (the new one, when none was given).
    pub conversation_id: Uuid,
    /// The assistant's reply (also in `assistant_message`).
    pub reply: String,
    /// The tool calls made for the reply, in order (also in `assistant_message`).
    pub tool_calls: Vec<ToolCallRecord>,
    /// True when the built-in offline assistant answered (no language model configured).
    pub offline: bool,
    /// The user's message as stored.
    pub user_message: MessageResponse,
    /// The reply as stored.
    pub assistant_message: MessageResponse,
}

/// A conversation.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConversationResponse {
    /// Conversation id.
    pub id: Uuid,
    /// The start of its first message.
    pub title: String,
    /// When it was started (RFC 3339, UTC).
    pub created_at: DateTime<Utc>,
    /// When its last message was stored (RFC 3339, UTC).
    pub updated_at: DateTime<Utc>,
}

impl From<ConversationRow> for ConversationResponse {
    fn from(row: ConversationRow) -> Self {
        Self {
            id: row.id,
            title: row.title,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// One page of conversations.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConversationListResponse {
    /// Most recently active first.
    pub conversations: Vec<ConversationResponse>,
    /// All conversations of the user.
    pub total: i64,
    /// This page's number, from 1.
    pub page: i64,
    /// Page size.
    pub limit: i64,
    /// Number of pages (0 when there is none).
    pub total_pages: i64,
}

/// One page of a conversation's messages.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageListResponse {
    /// The page's messages, oldest first.
    pub messages: Vec<MessageResponse>,
    /// All messages of the conversation.
    pub total: i64,
    /// This page's number, from 1 (page 1 holds the newest messages).
    pub page: i64,
    /// Page size.
    pub limit: i64,
    /// Number of pages.
    pub total_pages: i64,
}

/// Query parameters of the paged lists.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Page number, from 1 (default 1).
    page: Option<String>,
    /// Page size, 1–100 (default 20 for conversations, 50 for messages).
    limit: Option<String>,
}

impl PageParams {
    /// `(page, limit)`.
    fn parse(&self, default_limit: i64) -> Result<(i64, i64), ApiError> {
        let mut errors = FieldErrors::default();
        page_and_limit(
            self.page.as_deref(),
            self.limit.as_deref(),
            default_limit,
            &mut errors,
        )
        .ok_or(ApiError::Validation(errors))
    }
}

/// Send a message to the assistant and get its reply.
///
/// The message is stored first. The assistant may work on the user's tasks through tools;
/// every call it made is listed with its outcome. When the language model fails, the answer
/// is 502 (`upstream_error`) or 504 (`upstream_timeout`) and the `x-conversation-id` header
/// names the conversation that holds the stored message.
#[utoipa::path(
    post, path = "/api/chat", tag = "assistant",
    security(("bearer" = [])),
    request_body = ChatRequest,
    responses(
        (status = 200, description = "The reply and the tool calls made", body = ChatResponse),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No such conversation for this user", body = ErrorBody),
        (status = 422, description = "Invalid message", body = ErrorBody),
        (status = 502, description = "The language model failed; the message was stored", body = ErrorBody,
            headers(("x-conversation-id" = Uuid, description = "The conversation holding the message"))),
        (status = 504, description = "The language model did not answer in time; the message was stored", body = ErrorBody,
            headers(("x-conversation-id" = Uuid, description = "The conversation holding the message"))),
    )
)]
async fn chat_send(
    State(assistant): State<Assistant>,
    user: AuthUser,
    AppJson(body): AppJson<ChatRequest>,
) -> Result<Json<ChatResponse>, Response> {
    let mut errors = FieldErrors::default();
    let Some(message) = errors.check("message", ChatMessage::parse(&body.message)) else {
        return Err(ApiError::Validation(errors).into_response());
    };
    match assistant
        .converse(user.id, body.conversation_id, message)
        .await
    {
        Ok(exchange) => Ok(Json(ChatResponse {
            conversation_id: exchange.conversation_id,
            reply: exchange.assistant_message.content.clone(),
            tool_calls: exchange.tool_calls,
            offline: exchange.offline,
            user_message: exchange.user_message.into(),
            assistant_message: exchange.assistant_message.into(),
        })),
        Err(ChatError {
            error,
            conversation_id: Some(id),
        }) => Err(([(CONVERSATION_ID, id.to_string())], error).into_response()),
        Err(ChatError { error, .. }) => Err(error.into_response()),
    }
}

/// The user's conversations, most recently active first.
#[utoipa::path(
    get, path = "/api/conversations", tag = "assistant",
    security(("bearer" = [])),
    params(PageParams),
    responses(
        (status = 200, description = "One page of conversations", body = ConversationListResponse),
        (status = 400, description = "Unknown query parameter", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 422, description = "Invalid page or limit", body = ErrorBody),
    )
)]
async fn conversations_list(
    State(pool): State<DbPool>,
    user: AuthUser,
    AppQuery(params): AppQuery<PageParams>,
) -> Result<Json<ConversationListResponse>, ApiError> {
    let (page, limit) = params.parse(DEFAULT_CONVERSATIONS_PAGE)?;
    let mut conn = pool.get().await?;
    let (rows, total) =
        repo::conversations::list(&mut conn, user.id, limit, (page - 1) * limit).await?;
    Ok(Json(ConversationListResponse {
        conversations: rows.into_iter().map(ConversationResponse::from).collect(),
        total,
        page,
        limit,
        total_pages: total_pages(total, limit),
    }))
}

/// One conversation.
#[utoipa::path(
    get, path = "/api/conversations/{id}", tag = "assistant",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Conversation id")),
    responses(
        (status = 200, description = "The conversation", body = ConversationResponse),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No such conversation for this user", body = ErrorBody),
    )
)]
async fn conversations_get(
    State(pool): State<DbPool>,
    user: AuthUser,
    AppPath(id): AppPath<Uuid>,
) -> Result<Json<ConversationResponse>, ApiError> {
    let mut conn = pool.get().await?;
    Ok(Json(
        repo::conversations::find(&mut conn, user.id, id)
            .await?
            .into(),
    ))
}

/// A conversation's messages, a page at a time. Page 1 holds the newest messages; each page
/// lists its messages oldest first.
#[utoipa::path(
    get, path = "/api/conversations/{id}/messages", tag = "assistant",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Conversation id"), PageParams),
    responses(
        (status = 200, description = "One page of messages", body = MessageListResponse),
        (status = 400, description = "Unknown query parameter", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No such conversation for this user", body = ErrorBody),
        (status = 422, description = "Invalid page or limit", body = ErrorBody),
    )
)]
async fn conversation_messages(
    State(pool): State<DbPool>,
    user: AuthUser,
    AppPath(id): AppPath<Uuid>,
    AppQuery(params): AppQuery<PageParams>,
) -> Result<Json<MessageListResponse>, ApiError> {
    let (page, limit) = params.parse(DEFAULT_MESSAGES_PAGE)?;
    let mut conn = pool.get().await?;
    repo::conversations::find(&mut conn, user.id, id).await?;
    let (rows, total) =
        repo::conversations::messages_page(&mut conn, id, limit, (page - 1) * limit).await?;
    Ok(Json(MessageListResponse {
        messages: rows.into_iter().map(MessageResponse::from).collect(),
        total,
        page,
        limit,
        total_pages: total_pages(total, limit),
    }))
}

/// Delete a conversation and its messages (the tasks it changed stay as they are).
#[utoipa::path(
    delete, path = "/api/conversations/{id}", tag = "assistant",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Conversation id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No such conversation for this user", body = ErrorBody),
    )
)]
async fn conversations_delete(
    State(pool): State<DbPool>,
    user: AuthUser,
    AppPath(id): AppPath<Uuid>,
) -> Result<StatusCode, ApiError> {
    let mut conn = pool.get().await?;
    if repo::conversations::delete(&mut conn, user.id, id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound)
    }
}

/// The OpenAPI paths of this module.
#[derive(Debug, utoipa::OpenApi)]
#[openapi(paths(
    chat_send,
    conversations_list,
    conversations_get,
    conversation_messages,
    conversations_delete
))]
pub struct ChatApi;

#[cfg(test)]
mod tests {
    use super::*;

    fn params(query: &str) -> PageParams {
        let uri: http::Uri = format!("/?{query}").parse().unwrap();
        axum::extract::Query::<PageParams>::try_from_uri(&uri)
            .unwrap()
            .0
    }

    #[test]
    fn pages_default_to_the_first_with_the_given_size() {
        assert_eq!(params("").parse(50).unwrap(), (1, 50));
        assert_eq!(params("page=3&limit=10").parse(50).unwrap(), (3, 10));
    }

    #[test]
    fn invalid_pages_are_reported_per_field() {
        let cases = [
            ("page=0", "page", "page must be a whole number from 1"),
            ("page=x", "page", "page must be a whole number"),
            (
                "limit=101",
                "limit",
                "limit must be a whole number from 1 to 100",
            ),
            ("limit=0", "limit", "limit must be a whole number"),
        ];
        for (query, field, expected) in cases {
            let Err(ApiError::Validation(errors)) = params(query).parse(20) else {
                panic!("{query} should be rejected");
            };
            let message = &errors.as_map()[field];
            assert!(message.starts_with(expected), "{query}: {message}");
        }
    }
}
