//! The client of an OpenAI-compatible chat-completions API with tool calling (`POST
//! {LLM_BASE_URL}/chat/completions`): OpenAI itself, or any service or local model server
//! that speaks the same protocol.
//!
//! Every call has a time limit; 429 and 5xx answers and connection failures are retried a
//! bounded number of times with growing pauses (honouring `Retry-After`), never past the
//! deadline of the message being answered. HTTPS uses rustls with the ring provider and the
//! system's CA certificates (`SSL_CERT_FILE` / `SSL_CERT_DIR` are honoured). The API key is
//! only ever put in the `Authorization` header, marked sensitive; prompts and replies are
//! never logged.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use http::header::{AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER, USER_AGENT};
use http::{HeaderValue, Request, StatusCode, Uri};
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Bytes;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::time::Instant;

use super::tools::ToolDefinition;

/// Attempts per provider call (the first one plus retries).
pub const MAX_ATTEMPTS: u32 = 3;
/// Pause before the first retry; it doubles for each further one.
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
/// Longest pause between attempts, whatever `Retry-After` says.
const MAX_BACKOFF: Duration = Duration::from_secs(4);
/// Largest provider answer read.
const MAX_RESPONSE_BYTES: usize = 4 * 1024 * 1024;
/// Time limit for opening a connection to the provider.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

type HttpsClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// Why a provider call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// No answer within the time limit.
    #[error("the provider did not answer in time")]
    Timeout,
    /// An answer with an error status.
    #[error("the provider answered with status {0}")]
    Status(u16),
    /// The connection failed.
    #[error("could not reach the provider: {0}")]
    Transport(String),
    /// A 2xx answer that is not a chat completion.
    #[error("the provider's answer is not a chat completion: {0}")]
    Malformed(String),
}

impl ProviderError {
    /// Whether trying again may help: rate limits, server errors and connection failures.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Status(status) => *status == 429 || (500..=599).contains(status),
            Self::Transport(_) => true,
            Self::Timeout | Self::Malformed(_) => false,
        }
    }
}

/// A tool call the model asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestedCall {
    /// The id to answer with (generated when the provider sent none).
    pub id: String,
    /// The tool's name.
    pub name: String,
    /// The arguments as the model wrote them: normally a JSON object in a string.
    pub arguments: String,
}

/// What the model answered: text, tool calls, or both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    /// The reply text, if any.
    pub content: Option<String>,
    /// The tool calls asked for, in order.
    pub tool_calls: Vec<RequestedCall>,
}

/// A configured provider.
#[derive(Clone)]
pub struct Provider {
    client: HttpsClient,
    endpoint: Uri,
    model: String,
    /// `Bearer <key>`, marked sensitive so that it is never printed.
    authorization: HeaderValue,
    timeout: Duration,
}

impl std::fmt::Debug for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Provider")
            .field("endpoint", &self.endpoint)
            .field("model", &self.model)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Provider {
    /// A client for `endpoint` (the full chat-completions URL) using `model` and `key`; each
    /// attempt may take at most `timeout`.
    pub fn new(
        endpoint: &str,
        model: &str,
        key: &SecretString,
        timeout: Duration,
    ) -> anyhow::Result<Self> {
        let endpoint: Uri = endpoint
            .parse()
            .with_context(|| format!("LLM endpoint `{endpoint}` is not a valid URL"))?;
        let mut authorization =
            HeaderValue::from_str(&format!("Bearer {}", key.expose_secret().trim()))
                .map_err(|_| anyhow::anyhow!("LLM_API_KEY cannot be sent in an HTTP header"))?;
        authorization.set_sensitive(true);
        let tls = tls_config(endpoint.scheme_str() == Some("https"))?;
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(CONNECT_TIMEOUT));
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new()).build(connector);
        Ok(Self {
            client,
            endpoint,
            model: model.to_owned(),
            authorization,
            timeout,
        })
    }

    /// Asks the model to continue `messages` (OpenAI chat format), offering `tools`. Retries
    /// as described in the module documentation; gives up with [`ProviderError::Timeout`]
    /// when `deadline` passes.
    pub async fn complete(
        &self,
        messages: &[Value],
        tools: &[ToolDefinition],
        deadline: Instant,
    ) -> Result<Completion, ProviderError> {
        let tools: Vec<Value> = tools
            .iter()
            .map(|tool| {
                json!({
                    "type": "function",
                    "function": {
                        "name": tool.name,
                        "description": tool.description,
                        "parameters": tool.parameters,
                    }
                })
            })
            .collect();
        let body = json!({
            "model": self.model,
            "messages": messages,
            "tools": tools,
        });
        let body = Bytes::from(serde_json::to_vec(&body).unwrap_or_default());
        let mut attempt = 1;
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return Err(ProviderError::Timeout);
            }
            let failure =
                match tokio::time::timeout(self.timeout.min(remaining), self.send(body.clone()))
                    .await
                {
                    Ok(Ok(completion)) => return Ok(completion),
                    Ok(Err(failure)) => failure,
                    Err(_) => return Err(ProviderError::Timeout),
                };
            if !failure.error.is_retryable() || attempt >= MAX_ATTEMPTS {
                return Err(failure.error);
            }
            let backoff = FIRST_BACKOFF * 2u32.pow(attempt - 1);
            let pause = failure.retry_after.unwrap_or(backoff).min(MAX_BACKOFF);
            if Instant::now() + pause >= deadline {
                return Err(failure.error);
            }
            tracing::warn!(
                attempt,
                error = %failure.error,
                retry_in_ms = pause.as_millis(),
                "language model call failed; retrying"
            );
            tokio::time::sleep(pause).await;
            attempt += 1;
        }
    }

    async fn send(&self, body: Bytes) -> Result<Completion, Failure> {
        let request = Request::post(self.endpoint.clone())
            .header(CONTENT_TYPE, "application/json")
            .header(
                USER_AGENT,
                concat!("taskflow-backend/", env!("CARGO_PKG_VERSION")),
            )
            .header(AUTHORIZATION, self.authorization.clone())
            .body(Full::new(body))
            .map_err(|err| Failure::from(ProviderError::Transport(err.to_string())))?;
        let response = self
            .client
            .request(request)
            .await
            .map_err(|err| Failure::from(ProviderError::Transport(error_chain(&err))))?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let bytes = Limited::new(response.into_body(), MAX_RESPONSE_BYTES)
            .collect()
            .await
            .map_err(|err| Failure::from(ProviderError::Transport(err.to_string())))?
            .to_bytes();
        if !status.is_success() {
            return Err(Failure {
                error: ProviderError::Status(status.as_u16()),
                retry_after: (status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error())
                    .then_some(retry_after)
                    .flatten(),
            });
        }
        parse_completion(&bytes).map_err(Failure::from)
    }
}

/// A failed attempt, with the pause the provider asked for.
#[derive(Debug)]
struct Failure {
    error: ProviderError,
    retry_after: Option<Duration>,
}

impl From<ProviderError> for Failure {
    fn from(error: ProviderError) -> Self {
        Self {
            error,
            retry_after: None,
        }
    }
}

/// The error and its causes on one line (hyper's own message alone says little).
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// rustls with the ring provider; for an https endpoint, the system's CA certificates.
fn tls_config(load_system_roots: bool) -> anyhow::Result<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    if load_system_roots {
        let found = rustls_native_certs::load_native_certs();
        for error in &found.errors {
            tracing::warn!(error = %error, "could not read some CA certificates");
        }
        let (added, _ignored) = roots.add_parsable_certificates(found.certs);
        if added == 0 {
            tracing::warn!(
                "no CA certificates found (set SSL_CERT_FILE); HTTPS calls to the language model will fail"
            );
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("configuring TLS")?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

#[derive(Debug, Deserialize)]
struct WireCompletion {
    choices: Vec<WireChoice>,
}

#[derive(Debug, Deserialize)]
struct WireChoice {
    message: WireMessage,
}

#[derive(Debug, Deserialize)]
struct WireMessage {
    #[serde(default)]
    content: Value,
    #[serde(default)]
    tool_calls: Option<Vec<WireToolCall>>,
}

#[derive(Debug, Deserialize)]
struct WireToolCall {
    #[serde(default)]
    id: Option<String>,
    function: WireFunction,
}

#[derive(Debug, Deserialize)]
struct WireFunction {
    name: String,
    #[serde(default)]
    arguments: Value,
}

/// Reads the first choice of a chat completion. Content may be a string or a list of text
/// parts; arguments may be a JSON string (the standard) or an object (some local servers).
fn parse_completion(bytes: &[u8]) -> Result<Completion, ProviderError> {
    let wire: WireCompletion =
        serde_json::from_slice(bytes).map_err(|err| ProviderError::Malformed(err.to_string()))?;
    let Some(choice) = wire.choices.into_iter().next() else {
        return Err(ProviderError::Malformed("no choices".to_owned()));
    };
    let content = match choice.message.content {
        Value::String(text) => Some(text),
        Value::Array(parts) => Some(
            parts
                .iter()
                .filter_map(|part| part.get("text").and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join(""),
        ),
        _ => None,
    }
    .filter(|text| !text.trim().is_empty());
    let tool_calls = choice
        .message
        .tool_calls
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(index, call)| RequestedCall {
            id: call
                .id
                .filter(|id| !id.is_empty())
                .unwrap_or_else(|| format!("call_{index}")),
            name: call.function.name,
            arguments: match call.function.arguments {
                Value::String(text) => text,
                Value::Null => String::new(),
                other => other.to_string(),
            },
        })
        .collect();
    Ok(Completion {
        content,
        tool_calls,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_answer_is_read() {
        let completion = parse_completion(
            br#"{"choices":[{"index":0,"message":{"role":"assistant","content":"Hello"},"finish_reason":"stop"}]}"#,
        )
        .unwrap();
        assert_eq!(completion.content.as_deref(), Some("Hello"));
        assert!(completion.tool_calls.is_empty());
    }

    #[test]
    fn tool_calls_are_read_with_string_or_object_arguments() {
        let completion = parse_completion(
            br#"{"choices":[{"message":{"content":null,"tool_calls":[
                {"id":"a1","type":"function","function":{"name":"add_task","arguments":"{\"title\":\"x\"}"}},
                {"type":"function","function":{"name":"list_tasks","arguments":{"status":"pending"}}},
                {"id":"","function":{"name":"list_tasks"}}
            ]}}]}"#,
        )
        .unwrap();
        assert_eq!(completion.content, None);
        let calls: Vec<(&str, &str, &str)> = completion
            .tool_calls
            .iter()
            .map(|c| (c.id.as_str(), c.name.as_str(), c.arguments.as_str()))
            .collect();
        assert_eq!(
            calls,
            [
                ("a1", "add_task", r#"{"title":"x"}"#),
                ("call_1", "list_tasks", r#"{"status":"pending"}"#),
                ("call_2", "list_tasks", ""),
            ]
        );
    }

    #[test]
    fn content_given_as_parts_is_joined_and_blank_content_is_none() {
        let parts = parse_completion(
            br#"{"choices":[{"message":{"content":[{"type":"text","text":"Hel"},{"type":"text","text":"lo"}]}}]}"#,
        )
        .unwrap();
        assert_eq!(parts.content.as_deref(), Some("Hello"));
        let blank = parse_completion(br#"{"choices":[{"message":{"content":"  "}}]}"#).unwrap();
        assert_eq!(blank.content, None);
    }

    #[test]
    fn answers_that_are_not_completions_are_malformed() {
        for body in [
            &b"not json"[..],
            br#"{"choices":[]}"#,
            br#"{"error":{"message":"bad"}}"#,
            br#"{"choices":[{"message":{"tool_calls":[{"function":{}}]}}]}"#,
        ] {
            assert!(
                matches!(parse_completion(body), Err(ProviderError::Malformed(_))),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn rate_limits_server_errors_and_connection_failures_are_retried_and_nothing_else() {
        let cases = [
            (ProviderError::Status(429), true),
            (ProviderError::Status(500), true),
            (ProviderError::Status(503), true),
            (ProviderError::Transport("refused".to_owned()), true),
            (ProviderError::Status(400), false),
            (ProviderError::Status(401), false),
            (ProviderError::Status(404), false),
            (ProviderError::Timeout, false),
            (ProviderError::Malformed("x".to_owned()), false),
        ];
        for (error, retryable) in cases {
            assert_eq!(error.is_retryable(), retryable, "{error:?}");
        }
    }

    #[test]
    fn the_debug_output_never_shows_the_key() {
        let provider = Provider::new(
            "http://127.0.0.1:9/v1/chat/completions",
            "m",
            &SecretString::from("sk-very-secret"),
            Duration::from_secs(1),
        )
        .unwrap();
        let debug = format!("{provider:?}");
        assert!(!debug.contains("sk-very-secret"), "{debug}");
    }
}
