//! The chat assistant: answers a user's message within a conversation by working on that
//! user's tasks through [`tools`].
//!
//! With `LLM_API_KEY` set, the message and the recent history of the conversation go to an
//! OpenAI-compatible model ([`provider`]), which may call tools for a bounded number of rounds
//! before it answers. Without a key, the [`offline`] assistant maps the message to one tool
//! call with fixed rules. Either way every tool call is recorded (name, arguments, outcome)
//! and stored with the reply.
//!
//! The user's message is stored before the model is asked, so a provider failure loses
//! nothing: the client gets a 502/504 error, and any tool calls already carried out are
//! stored with a note saying that the answer was cut short.

pub mod offline;
pub mod provider;
pub mod tools;

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::time::Instant;
use uuid::Uuid;

use self::offline::Plan;
use self::provider::{Provider, ProviderError, RequestedCall};
use self::tools::{TaskTools, ToolCallRecord, ToolOutcome, definitions};
use crate::config::Config;
use crate::db::DbPool;
use crate::domain::{ChatMessage, ConversationTitle};
use crate::error::ApiError;
use crate::repo;
use crate::repo::conversations::{MAX_MESSAGE_CHARS, MessageRow, NewMessage, Role};

/// Most tool calls carried out from one model answer; further ones are refused.
pub const MAX_CALLS_PER_ROUND: usize = 10;

/// The assistant; cheap to clone.
#[derive(Clone)]
pub struct Assistant {
    inner: Arc<Inner>,
}

struct Inner {
    pool: DbPool,
    tools: TaskTools,
    provider: Option<Provider>,
    max_tool_rounds: u32,
    history_messages: i64,
    deadline: Duration,
}

impl std::fmt::Debug for Assistant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Assistant")
            .field("provider", &self.inner.provider)
            .field("max_tool_rounds", &self.inner.max_tool_rounds)
            .field("history_messages", &self.inner.history_messages)
            .finish_non_exhaustive()
    }
}

/// One answered message.
#[derive(Debug, Clone)]
pub struct Turn {
    /// The assistant's reply.
    pub reply: String,
    /// Every tool call made while answering, in order.
    pub tool_calls: Vec<ToolCallRecord>,
    /// True when the offline assistant answered.
    pub offline: bool,
}

/// A message the provider could not answer, with the tool calls carried out before it failed.
#[derive(Debug, Clone)]
pub struct TurnFailure {
    /// What went wrong.
    pub error: ProviderError,
    /// Tool calls already carried out.
    pub tool_calls: Vec<ToolCallRecord>,
}

/// A stored exchange: the user's message and the assistant's reply.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// The conversation (new or existing).
    pub conversation_id: Uuid,
    /// The user's message as stored.
    pub user_message: MessageRow,
    /// The reply as stored.
    pub assistant_message: MessageRow,
    /// The tool calls made for the reply.
    pub tool_calls: Vec<ToolCallRecord>,
    /// True when the offline assistant answered.
    pub offline: bool,
}

/// A failed exchange, with the conversation the user's message was stored in (if it was).
#[derive(Debug)]
pub struct ChatError {
    /// What to answer.
    pub error: ApiError,
    /// The conversation holding the user's message, when it was stored.
    pub conversation_id: Option<Uuid>,
}

impl From<ApiError> for ChatError {
    fn from(error: ApiError) -> Self {
        Self {
            error,
            conversation_id: None,
        }
    }
}

impl From<diesel::result::Error> for ChatError {
    fn from(error: diesel::result::Error) -> Self {
        ApiError::from(error).into()
    }
}

impl From<diesel_async::pooled_connection::deadpool::PoolError> for ChatError {
    fn from(error: diesel_async::pooled_connection::deadpool::PoolError) -> Self {
        ApiError::from(error).into()
    }
}

const SYSTEM_PROMPT: &str = "You are the assistant of TaskFlow, a to-do list app. You help the signed-in user manage their own tasks with the tools provided; you can only see and change this user's tasks. Use list_tasks to look tasks up when you are not sure which one is meant. Name a task by its id, or by words from its title as title_match. If a tool answers that several tasks match, ask the user which one they mean: never choose for them. Only say that something was done when a tool confirmed it. Keep answers short and plain.";

const EMPTY_REPLY: &str = "Done.";

impl Assistant {
    /// The assistant for `config`: with a provider when `LLM_API_KEY` is set, offline otherwise.
    pub fn new(config: &Config, pool: DbPool) -> anyhow::Result<Self> {
        let provider = match config.llm_key() {
            Some(key) => Some(Provider::new(
                &config.llm_chat_completions_url(),
                &config.llm_model,
                key,
                config.llm_timeout(),
            )?),
            None => None,
        };
        Ok(Self {
            inner: Arc::new(Inner {
                tools: TaskTools::new(pool.clone()),
                pool,
                provider,
                max_tool_rounds: config.llm_max_tool_rounds,
                history_messages: i64::from(config.chat_history_messages),
                deadline: config.chat_deadline(),
            }),
        })
    }

    /// The task tools (shared with the MCP server).
    pub fn tools(&self) -> &TaskTools {
        &self.inner.tools
    }

    /// True when no provider is configured.
    pub fn is_offline(&self) -> bool {
        self.inner.provider.is_none()
    }

    /// Stores `message` in the user's conversation (a new one when `conversation_id` is
    /// `None`), answers it, and stores the answer.
    pub async fn converse(
        &self,
        user_id: Uuid,
        conversation_id: Option<Uuid>,
        message: ChatMessage,
    ) -> Result<Exchange, ChatError> {
        let no_tool_calls = json!([]);
        let incoming = NewMessage {
            role: Role::User,
            content: message.as_ref(),
            tool_calls: &no_tool_calls,
        };
        let (user_message, history) = {
            let mut conn = self.inner.pool.get().await?;
            match conversation_id {
                None => {
                    let title = ConversationTitle::from_first_message(&message);
                    let row =
                        repo::conversations::start(&mut conn, user_id, title.as_ref(), &incoming)
                            .await?;
                    (row, Vec::new())
                }
                Some(id) => {
                    let row =
                        repo::conversations::add_message(&mut conn, user_id, id, &incoming).await?;
                    let history = if self.inner.history_messages > 0 {
                        repo::conversations::recent_messages(
                            &mut conn,
                            id,
                            row.id,
                            self.inner.history_messages,
                        )
                        .await?
                    } else {
                        Vec::new()
                    };
                    (row, history)
                }
            }
        };
        let conversation_id = user_message.conversation_id;
        let failed = |error: ApiError| ChatError {
            error,
            conversation_id: Some(conversation_id),
        };
        let (turn, failure) = match self.answer(user_id, &history, message.as_ref()).await {
            Ok(turn) => (turn, None),
            Err(failure) => {
                let error = match failure.error {
                    ProviderError::Timeout => ApiError::UpstreamTimeout,
                    other => ApiError::Upstream(other.to_string()),
                };
                if failure.tool_calls.is_empty() {
                    return Err(failed(error));
                }
                let note = Turn {
                    reply: "I could not finish answering because the language model failed. The actions listed here were carried out; ask again to continue.".to_owned(),
                    tool_calls: failure.tool_calls,
                    offline: false,
                };
                (note, Some(error))
            }
        };
        let tool_calls = serde_json::to_value(&turn.tool_calls)
            .map_err(|err| failed(anyhow::Error::new(err).into()))?;
        let reply = truncate(&turn.reply, MAX_MESSAGE_CHARS);
        let outgoing = NewMessage {
            role: Role::Assistant,
            content: &reply,
            tool_calls: &tool_calls,
        };
        let assistant_message = {
            let mut conn = self
                .inner
                .pool
                .get()
                .await
                .map_err(|err| failed(err.into()))?;
            repo::conversations::add_message(&mut conn, user_id, conversation_id, &outgoing)
                .await
                .map_err(|err| failed(err.into()))?
        };
        if let Some(error) = failure {
            return Err(failed(error));
        }
        Ok(Exchange {
            conversation_id,
            user_message,
            assistant_message,
            tool_calls: turn.tool_calls,
            offline: turn.offline,
        })
    }

    /// Answers `message` for `user_id`, given the earlier messages of the conversation.
    pub async fn answer(
        &self,
        user_id: Uuid,
        history: &[MessageRow],
        message: &str,
    ) -> Result<Turn, TurnFailure> {
        let Some(provider) = &self.inner.provider else {
            return Ok(self.answer_offline(user_id, message).await);
        };
        let deadline = Instant::now() + self.inner.deadline;
        let mut messages = vec![json!({
            "role": "system",
            "content": format!(
                "{SYSTEM_PROMPT} Today is {} (UTC); write dates as YYYY-MM-DD.",
                tools::today()
            ),
        })];
        messages.extend(history_messages(history));
        messages.push(json!({"role": "user", "content": message}));
        let mut records: Vec<ToolCallRecord> = Vec::new();
        for round in 1..=self.inner.max_tool_rounds {
            let completion = match provider.complete(&messages, definitions(), deadline).await {
                Ok(completion) => completion,
                Err(error) => {
                    return Err(TurnFailure {
                        error,
                        tool_calls: records,
                    });
                }
            };
            if completion.tool_calls.is_empty() {
                tracing::info!(
                    rounds = round,
                    tool_calls = records.len(),
                    "the assistant answered"
                );
                return Ok(Turn {
                    reply: completion.content.unwrap_or_else(|| EMPTY_REPLY.to_owned()),
                    tool_calls: records,
                    offline: false,
                });
            }
            messages.push(json!({
                "role": "assistant",
                "content": completion.content,
                "tool_calls": completion.tool_calls.iter().map(|call| json!({
                    "id": call.id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": call.arguments},
                })).collect::<Vec<_>>(),
            }));
            for (index, call) in completion.tool_calls.iter().enumerate() {
                let record = if index < MAX_CALLS_PER_ROUND {
                    self.run(user_id, call).await
                } else {
                    ToolCallRecord {
                        name: call.name.clone(),
                        arguments: arguments_value(&call.arguments),
                        outcome: ToolOutcome::invalid(format!(
                            "Not carried out: at most {MAX_CALLS_PER_ROUND} tool calls are allowed per step."
                        )),
                    }
                };
                messages.push(json!({
                    "role": "tool",
                    "tool_call_id": call.id,
                    "content": serde_json::to_string(&record.outcome).unwrap_or_default(),
                }));
                records.push(record);
            }
        }
        tracing::warn!(
            rounds = self.inner.max_tool_rounds,
            tool_calls = records.len(),
            "the model kept calling tools; stopped"
        );
        Ok(Turn {
            reply: format!(
                "I stopped after {} rounds of actions without finishing. The actions carried out are listed with this reply; please check your tasks and ask again if something is missing.",
                self.inner.max_tool_rounds
            ),
            tool_calls: records,
            offline: false,
        })
    }

    async fn answer_offline(&self, user_id: Uuid, message: &str) -> Turn {
        match offline::plan(message, tools::today()) {
            Plan::Reply(reply) => Turn {
                reply,
                tool_calls: Vec::new(),
                offline: true,
            },
            Plan::Call { name, arguments } => {
                let outcome = self.inner.tools.call(user_id, name, &arguments).await;
                Turn {
                    reply: offline::reply(&outcome),
                    tool_calls: vec![ToolCallRecord {
                        name: name.to_owned(),
                        arguments,
                        outcome,
                    }],
                    offline: true,
                }
            }
        }
    }

    /// Runs one tool call the model asked for. Malformed arguments and unknown tools are
    /// answered with an outcome that says so; nothing is changed then.
    async fn run(&self, user_id: Uuid, call: &RequestedCall) -> ToolCallRecord {
        let parsed = if call.arguments.trim().is_empty() {
            Ok(Value::Null)
        } else {
            serde_json::from_str::<Value>(&call.arguments)
        };
        let outcome = match &parsed {
            _ if !TaskTools::knows(&call.name) => {
                self.inner
                    .tools
                    .call(user_id, &call.name, &Value::Null)
                    .await
            }
            Ok(arguments) => self.inner.tools.call(user_id, &call.name, arguments).await,
            Err(err) => ToolOutcome::invalid(format!(
                "The arguments are not valid JSON ({err}). Nothing was changed; send them again as a JSON object."
            )),
        };
        ToolCallRecord {
            name: call.name.clone(),
            arguments: parsed.unwrap_or_else(|_| Value::String(call.arguments.clone())),
            outcome,
        }
    }
}

/// The arguments as JSON when they parse, as the raw string otherwise.
fn arguments_value(raw: &str) -> Value {
    serde_json::from_str(raw).unwrap_or_else(|_| Value::String(raw.to_owned()))
}

/// Earlier messages in the chat format. A reply that used tools is preceded by its tool calls
/// and their outcomes (without task lists, to keep the request small), so that the model knows
/// what it did before.
fn history_messages(history: &[MessageRow]) -> Vec<Value> {
    let mut messages = Vec::new();
    for row in history {
        if row.role != Role::Assistant.as_str() {
            messages.push(json!({"role": "user", "content": row.content}));
            continue;
        }
        let calls: Vec<ToolCallRecord> =
            serde_json::from_value(row.tool_calls.clone()).unwrap_or_default();
        if !calls.is_empty() {
            let ids: Vec<String> = (0..calls.len())
                .map(|index| format!("history_{}_{index}", row.id))
                .collect();
            messages.push(json!({
                "role": "assistant",
                "content": null,
                "tool_calls": calls.iter().zip(&ids).map(|(call, id)| json!({
                    "id": id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": call.arguments.to_string()},
                })).collect::<Vec<_>>(),
            }));
            for (call, id) in calls.iter().zip(&ids) {
                messages.push(json!({
                    "role": "tool",
                    "tool_call_id": id,
                    "content": call.outcome.summary().to_string(),
                }));
            }
        }
        messages.push(json!({"role": "assistant", "content": row.content}));
    }
    messages
}

/// `text` cut to at most `max` characters (the last one an ellipsis when cut).
fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max - 1).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::assistant::tools::OutcomeStatus;

    fn row(id: i64, role: Role, content: &str, tool_calls: Value) -> MessageRow {
        MessageRow {
            id,
            conversation_id: Uuid::nil(),
            role: role.as_str().to_owned(),
            content: content.to_owned(),
            tool_calls,
            created_at: Utc::now(),
        }
    }

    #[test]
    fn history_replays_earlier_tool_calls_before_the_reply() {
        let outcome = ToolOutcome::invalid("nope");
        let calls = serde_json::to_value(vec![ToolCallRecord {
            name: "add_task".to_owned(),
            arguments: json!({"title": "x"}),
            outcome,
        }])
        .unwrap();
        let history = [
            row(1, Role::User, "add x", json!([])),
            row(2, Role::Assistant, "Could not.", calls),
        ];
        let messages = history_messages(&history);
        let roles: Vec<&str> = messages
            .iter()
            .map(|m| m["role"].as_str().unwrap())
            .collect();
        assert_eq!(roles, ["user", "assistant", "tool", "assistant"]);
        assert_eq!(messages[1]["tool_calls"][0]["id"], "history_2_0");
        assert_eq!(
            messages[1]["tool_calls"][0]["function"]["arguments"],
            r#"{"title":"x"}"#
        );
        assert_eq!(messages[2]["tool_call_id"], "history_2_0");
        let content: Value =
            serde_json::from_str(messages[2]["content"].as_str().unwrap()).unwrap();
        assert_eq!(content["status"], json!(OutcomeStatus::Invalid));
        assert_eq!(messages[3]["content"], "Could not.");
    }

    #[test]
    fn long_replies_are_cut_to_the_stored_limit() {
        assert_eq!(truncate("short", 10), "short");
        let cut = truncate(&"x".repeat(30), 10);
        assert_eq!(cut.chars().count(), 10);
        assert!(cut.ends_with('…'));
    }

    #[test]
    fn unparsable_arguments_are_kept_as_text() {
        assert_eq!(arguments_value(r#"{"a":1}"#), json!({"a": 1}));
        assert_eq!(arguments_value("{oops"), json!("{oops"));
    }
}
