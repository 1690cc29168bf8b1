//! A typed client for the backend REST API. The frontend never lets the browser talk to the
//! backend: every call is made here, on the server, with the user's token.

use std::collections::BTreeMap;
use std::net::IpAddr;

use chrono::{DateTime, NaiveDate, Utc};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config::Config;

/// What a backend call can fail with, classified for the pages.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// The token is missing, expired or revoked (401).
    #[error("not signed in")]
    Unauthorized,
    /// Wrong email or password (401 `invalid_credentials`).
    #[error("invalid credentials")]
    InvalidCredentials,
    /// The input was refused, field by field (422).
    #[error("validation failed")]
    Validation {
        message: String,
        fields: BTreeMap<String, String>,
    },
    /// Nothing there for this user (404).
    #[error("not found")]
    NotFound,
    /// Conflicts with existing data (409), with the backend's explanation.
    #[error("conflict: {0}")]
    Conflict(String),
    /// Too many attempts; retry after this many seconds (429).
    #[error("rate limited")]
    RateLimited(u64),
    /// The backend cannot be reached or says it is unavailable (503).
    #[error("backend unavailable: {0}")]
    Unavailable(String),
    /// The backend did not answer in time (504).
    #[error("backend timed out")]
    Timeout,
    /// The language-model provider behind the backend failed (502) or was too slow (504).
    /// The backend kept the user's message in `conversation_id`.
    #[error("the assistant's provider failed (timed out: {timed_out})")]
    Upstream {
        /// True for a timeout (504), false for a failure (502).
        timed_out: bool,
        /// The conversation the message was stored in, when the backend said.
        conversation_id: Option<String>,
    },
    /// The backend answered something unexpected (502).
    #[error("unexpected backend answer: {0}")]
    BadGateway(String),
}

/// Who is asking: the session token, the request id to pass on, and the browser's address.
#[derive(Debug, Clone, Default)]
pub struct Caller {
    /// The backend token from the session cookie.
    pub token: Option<String>,
    /// The request id of the incoming request, forwarded for log correlation.
    pub request_id: Option<String>,
    /// The browser's address, forwarded so the backend's per-client rate limits apply per user.
    pub client_ip: Option<IpAddr>,
}

/// An account.
#[derive(Debug, Clone, Deserialize)]
pub struct User {
    /// Account id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Email.
    pub email: String,
}

/// A successful login.
#[derive(Debug, Clone, Deserialize)]
pub struct Session {
    /// The bearer token.
    pub access_token: String,
    /// When it expires.
    pub expires_at: DateTime<Utc>,
    /// Who signed in.
    pub user: User,
}

/// A task.
#[derive(Debug, Clone, Deserialize)]
pub struct Task {
    pub id: i64,
    pub title: String,
    pub description: Option<String>,
    pub completed: bool,
    pub priority: String,
    pub due_date: Option<NaiveDate>,
    pub tags: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One page of tasks.
#[derive(Debug, Clone, Deserialize)]
pub struct TaskPage {
    pub tasks: Vec<Task>,
    pub total: i64,
    pub page: i64,
    pub limit: i64,
    pub total_pages: i64,
}

/// Task counts.
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct TaskStats {
    pub total: i64,
    pub completed: i64,
    pub pending: i64,
    pub overdue: i64,
}

/// Fields of a new task, as the backend expects them.
#[derive(Debug, Clone, Serialize)]
pub struct NewTask {
    pub title: String,
    pub description: Option<String>,
    pub priority: String,
    pub due_date: Option<String>,
    pub tags: Vec<String>,
}

/// One tool call the assistant made.
#[derive(Debug, Clone, Deserialize)]
pub struct ToolCall {
    /// The tool's name.
    pub name: String,
    /// How it ended.
    pub outcome: ToolOutcome,
}

/// The outcome of a tool call.
#[derive(Debug, Clone, Deserialize)]
pub struct ToolOutcome {
    /// `ok`, `invalid`, `not_found`, `ambiguous` or `failed`.
    pub status: String,
    /// What happened, in a sentence.
    pub message: String,
}

/// A stored chat message.
#[derive(Debug, Clone, Deserialize)]
pub struct ChatMessage {
    pub id: i64,
    /// `user` or `assistant`.
    pub role: String,
    pub content: String,
    #[serde(default)]
    pub tool_calls: Vec<ToolCall>,
    pub created_at: DateTime<Utc>,
}

/// The assistant's answer.
#[derive(Debug, Clone, Deserialize)]
pub struct ChatReply {
    pub conversation_id: String,
    /// True when the built-in offline assistant answered.
    pub offline: bool,
    pub user_message: ChatMessage,
    pub assistant_message: ChatMessage,
}

/// A conversation.
#[derive(Debug, Clone, Deserialize)]
pub struct Conversation {
    pub id: String,
    pub title: String,
    pub updated_at: DateTime<Utc>,
}

/// The user's conversations.
#[derive(Debug, Clone, Deserialize)]
pub struct ConversationPage {
    pub conversations: Vec<Conversation>,
}

/// One page of a conversation's messages (page 1 holds the newest, oldest first).
#[derive(Debug, Clone, Deserialize)]
pub struct MessagePage {
    pub messages: Vec<ChatMessage>,
    pub total: i64,
    pub page: i64,
    pub total_pages: i64,
}

#[derive(Debug, Deserialize)]
struct ErrorEnvelope {
    error: ErrorDetail,
}

#[derive(Debug, Deserialize)]
struct ErrorDetail {
    code: String,
    message: String,
    #[serde(default)]
    fields: BTreeMap<String, String>,
}

/// The backend client; cheap to clone.
#[derive(Debug, Clone)]
pub struct BackendClient {
    http: reqwest::Client,
    base_url: String,
    /// Time limit of a chat call: the assistant may take a while to answer.
    chat_timeout: std::time::Duration,
}

impl BackendClient {
    /// Builds the client with the configured timeouts. It never uses a proxy: the backend is
    /// on the cluster network.
    pub fn new(config: &Config) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .connect_timeout(config.backend_connect_timeout())
            .timeout(config.backend_timeout())
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .pool_idle_timeout(std::time::Duration::from_secs(30))
            .build()?;
        // A chat answer may take until just before this request's own deadline.
        let chat_timeout = config
            .request_timeout()
            .saturating_sub(std::time::Duration::from_secs(1))
            .max(config.backend_timeout());
        Ok(Self {
            chat_timeout,
            http,
            base_url: config.backend_url.clone(),
        })
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        caller: &Caller,
        body: Option<&Value>,
    ) -> Result<T, BackendError> {
        self.call_within(method, path, caller, body, None).await
    }

    /// Like `call`, with a time limit other than the client's default.
    async fn call_within<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        caller: &Caller,
        body: Option<&Value>,
        timeout: Option<std::time::Duration>,
    ) -> Result<T, BackendError> {
        let response = self.send(method, path, caller, body, timeout).await?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|err| classify_transport(&err))?;
        serde_json::from_slice(&bytes).map_err(|err| {
            BackendError::BadGateway(format!("{status} with an unreadable body: {err}"))
        })
    }

    async fn call_empty(
        &self,
        method: Method,
        path: &str,
        caller: &Caller,
    ) -> Result<(), BackendError> {
        self.send(method, path, caller, None, None).await.map(drop)
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        caller: &Caller,
        body: Option<&Value>,
        timeout: Option<std::time::Duration>,
    ) -> Result<reqwest::Response, BackendError> {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base_url));
        if let Some(token) = &caller.token {
            request = request.bearer_auth(token);
        }
        if let Some(id) = &caller.request_id {
            request = request.header("x-request-id", id);
        }
        if let Some(ip) = caller.client_ip {
            request = request.header("x-forwarded-for", ip.to_string());
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        if let Some(timeout) = timeout {
            request = request.timeout(timeout);
        }
        let response = request
            .send()
            .await
            .map_err(|err| classify_transport(&err))?;
        if response.status().is_success() {
            return Ok(response);
        }
        Err(classify_status(response).await)
    }

    /// `POST /api/auth/register`.
    pub async fn register(
        &self,
        caller: &Caller,
        name: &str,
        email: &str,
        password: &str,
    ) -> Result<User, BackendError> {
        let body = serde_json::json!({ "name": name, "email": email, "password": password });
        self.call(Method::POST, "/api/auth/register", caller, Some(&body))
            .await
    }

    /// `POST /api/auth/login`.
    pub async fn login(
        &self,
        caller: &Caller,
        email: &str,
        password: &str,
    ) -> Result<Session, BackendError> {
        let body = serde_json::json!({ "email": email, "password": password });
        self.call(Method::POST, "/api/auth/login", caller, Some(&body))
            .await
    }

    /// `POST /api/auth/logout`.
    pub async fn logout(&self, caller: &Caller) -> Result<(), BackendError> {
        self.call_empty(Method::POST, "/api/auth/logout", caller)
            .await
    }

    /// `GET /api/tasks` with the given query pairs.
    pub async fn list_tasks(
        &self,
        caller: &Caller,
        query: &[(&str, String)],
    ) -> Result<TaskPage, BackendError> {
        let query: String = query
            .iter()
            .filter(|(_, value)| !value.is_empty())
            .map(|(key, value)| format!("{key}={}", urlencoding::encode(value)))
            .collect::<Vec<_>>()
            .join("&");
        let path = if query.is_empty() {
            "/api/tasks".to_owned()
        } else {
            format!("/api/tasks?{query}")
        };
        self.call(Method::GET, &path, caller, None).await
    }

    /// `GET /api/tasks/stats`.
    pub async fn stats(&self, caller: &Caller) -> Result<TaskStats, BackendError> {
        self.call(Method::GET, "/api/tasks/stats", caller, None)
            .await
    }

    /// `GET /api/tasks/{id}`.
    pub async fn task(&self, caller: &Caller, id: i64) -> Result<Task, BackendError> {
        self.call(Method::GET, &format!("/api/tasks/{id}"), caller, None)
            .await
    }

    /// `POST /api/tasks`.
    pub async fn create_task(&self, caller: &Caller, task: &NewTask) -> Result<Task, BackendError> {
        let body =
            serde_json::to_value(task).map_err(|err| BackendError::BadGateway(err.to_string()))?;
        self.call(Method::POST, "/api/tasks", caller, Some(&body))
            .await
    }

    /// `PATCH /api/tasks/{id}` with the given changes.
    pub async fn update_task(
        &self,
        caller: &Caller,
        id: i64,
        changes: &Value,
    ) -> Result<Task, BackendError> {
        self.call(
            Method::PATCH,
            &format!("/api/tasks/{id}"),
            caller,
            Some(changes),
        )
        .await
    }

    /// `DELETE /api/tasks/{id}`.
    pub async fn delete_task(&self, caller: &Caller, id: i64) -> Result<(), BackendError> {
        self.call_empty(Method::DELETE, &format!("/api/tasks/{id}"), caller)
            .await
    }

    /// `POST /api/chat`: sends a message, in a conversation or a new one.
    pub async fn chat(
        &self,
        caller: &Caller,
        message: &str,
        conversation_id: Option<&str>,
    ) -> Result<ChatReply, BackendError> {
        let body = serde_json::json!({ "message": message, "conversation_id": conversation_id });
        self.call_within(
            Method::POST,
            "/api/chat",
            caller,
            Some(&body),
            Some(self.chat_timeout),
        )
        .await
    }

    /// `GET /api/conversations` (newest first).
    pub async fn conversations(&self, caller: &Caller) -> Result<ConversationPage, BackendError> {
        self.call(Method::GET, "/api/conversations?limit=50", caller, None)
            .await
    }

    /// `GET /api/conversations/{id}/messages`, page `page` (1 = the newest messages).
    pub async fn messages(
        &self,
        caller: &Caller,
        id: &str,
        page: i64,
    ) -> Result<MessagePage, BackendError> {
        let path = format!(
            "/api/conversations/{}/messages?page={page}&limit=50",
            urlencoding::encode(id)
        );
        self.call(Method::GET, &path, caller, None).await
    }

    /// `DELETE /api/conversations/{id}`.
    pub async fn delete_conversation(&self, caller: &Caller, id: &str) -> Result<(), BackendError> {
        self.call_empty(
            Method::DELETE,
            &format!("/api/conversations/{}", urlencoding::encode(id)),
            caller,
        )
        .await
    }

    /// `GET /readyz` of the backend.
    pub async fn ready(&self) -> Result<(), BackendError> {
        self.call_empty(Method::GET, "/readyz", &Caller::default())
            .await
    }
}

fn classify_transport(err: &reqwest::Error) -> BackendError {
    // The URL can carry the user's search text; keep it out of messages that get logged.
    let detail = without_url(err);
    if err.is_timeout() {
        BackendError::Timeout
    } else if err.is_connect() {
        BackendError::Unavailable(format!("cannot connect: {detail}"))
    } else {
        BackendError::BadGateway(detail)
    }
}

fn without_url(err: &reqwest::Error) -> String {
    let mut text = err.to_string();
    if let Some(url) = err.url() {
        text = text.replace(url.as_str(), "<backend>");
    }
    text
}

async fn classify_status(response: reqwest::Response) -> BackendError {
    let status = response.status();
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok())
        .unwrap_or(60);
    let conversation_id = response
        .headers()
        .get("x-conversation-id")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let detail = response
        .json::<ErrorEnvelope>()
        .await
        .ok()
        .map(|envelope| envelope.error);
    match (status, detail) {
        (StatusCode::UNAUTHORIZED, Some(detail)) if detail.code == "invalid_credentials" => {
            BackendError::InvalidCredentials
        }
        (StatusCode::UNAUTHORIZED, _) => BackendError::Unauthorized,
        (StatusCode::NOT_FOUND, _) => BackendError::NotFound,
        (StatusCode::CONFLICT, Some(detail)) => BackendError::Conflict(detail.message),
        (StatusCode::UNPROCESSABLE_ENTITY, Some(detail)) => BackendError::Validation {
            message: detail.message,
            fields: detail.fields,
        },
        (StatusCode::TOO_MANY_REQUESTS, _) => BackendError::RateLimited(retry_after),
        (StatusCode::SERVICE_UNAVAILABLE, _) => {
            BackendError::Unavailable("the backend answered 503".to_owned())
        }
        (StatusCode::BAD_GATEWAY, Some(detail)) if detail.code == "upstream_error" => {
            BackendError::Upstream {
                timed_out: false,
                conversation_id,
            }
        }
        (StatusCode::GATEWAY_TIMEOUT, Some(detail)) if detail.code == "upstream_timeout" => {
            BackendError::Upstream {
                timed_out: true,
                conversation_id,
            }
        }
        (StatusCode::GATEWAY_TIMEOUT | StatusCode::REQUEST_TIMEOUT, _) => BackendError::Timeout,
        (status, detail) => BackendError::BadGateway(format!(
            "status {status}{}",
            detail.map(|d| format!(" ({})", d.code)).unwrap_or_default()
        )),
    }
}
