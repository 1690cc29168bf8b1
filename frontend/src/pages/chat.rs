//! The assistant: a chat page with the user's conversations. Sending is a plain form POST
//! answered with a 303; the script posts in the background and appends the reply instead.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use axum_extra::extract::cookie::CookieJar;
use chrono::{DateTime, Utc};
use http::{HeaderMap, HeaderValue, StatusCode};
use serde::Deserialize;

use super::{render, wants_fragment};
use crate::backend::{BackendClient, BackendError, Caller, ChatMessage, Conversation};
use crate::csrf::CsrfToken;
use crate::error::PageError;
use crate::session::{CurrentUser, Flash, RequestInfo, set_flash, take_flash};
use crate::state::CookieSettings;
use crate::views::Shell;

/// Longest message, in characters (the backend enforces the same).
pub const MAX_MESSAGE_CHARS: usize = 2000;

/// Prompts offered on an empty conversation.
const EXAMPLES: [&str; 4] = [
    "add buy milk tomorrow",
    "what's pending?",
    "mark buy milk done",
    "delete the milk task",
];

/// A conversation in the list.
#[derive(Debug, Clone)]
pub struct ConversationView {
    pub id: String,
    pub title: String,
    pub updated: String,
    pub current: bool,
}

/// A tool call shown as a badge.
#[derive(Debug, Clone)]
pub struct ToolCallView {
    pub name: String,
    pub ok: bool,
    pub status: String,
    pub message: String,
}

/// A message, ready to display.
#[derive(Debug, Clone)]
pub struct MessageView {
    pub id: i64,
    pub from_user: bool,
    pub content: String,
    pub time: String,
    pub time_iso: String,
    pub tool_calls: Vec<ToolCallView>,
}

/// Longest tool message shown in a badge; the reply itself carries the details.
const BADGE_CHARS: usize = 80;

/// The first line of a tool's message, shortened for a badge.
fn badge_text(message: &str) -> String {
    let line = message.lines().next().unwrap_or_default().trim();
    if line.chars().count() <= BADGE_CHARS && !message.trim().contains('\n') {
        return line.to_owned();
    }
    let mut short: String = line.chars().take(BADGE_CHARS).collect();
    short.push('…');
    short
}

fn display_time(time: DateTime<Utc>) -> String {
    time.format("%-d %b, %H:%M UTC").to_string()
}

impl From<&ChatMessage> for MessageView {
    fn from(message: &ChatMessage) -> Self {
        Self {
            id: message.id,
            from_user: message.role == "user",
            content: message.content.clone(),
            time: display_time(message.created_at),
            time_iso: message.created_at.to_rfc3339(),
            tool_calls: message
                .tool_calls
                .iter()
                .map(|call| ToolCallView {
                    name: call.name.clone(),
                    ok: call.outcome.status == "ok",
                    status: call.outcome.status.replace('_', " "),
                    message: badge_text(&call.outcome.message),
                })
                .collect(),
        }
    }
}

fn conversation_views(
    conversations: &[Conversation],
    current: Option<&str>,
) -> Vec<ConversationView> {
    conversations
        .iter()
        .map(|conversation| ConversationView {
            id: conversation.id.clone(),
            title: conversation.title.clone(),
            updated: display_time(conversation.updated_at),
            current: current == Some(conversation.id.as_str()),
        })
        .collect()
}

/// The chat page.
#[derive(Debug, Template)]
#[template(path = "chat/index.html")]
pub struct ChatPage {
    pub shell: Shell,
    pub csrf: String,
    pub conversations: Vec<ConversationView>,
    pub conversation_id: String,
    pub messages: Vec<MessageView>,
    pub older: Option<String>,
    pub banner: Option<String>,
    pub draft: String,
    pub draft_error: Option<String>,
    pub examples: Vec<&'static str>,
    pub max_chars: usize,
}

/// What the script appends after a message was answered.
#[derive(Debug, Template)]
#[template(path = "chat/fragment.html")]
pub struct ChatFragment {
    pub conversations: Vec<ConversationView>,
    pub conversation_id: String,
    pub messages: Vec<MessageView>,
}

/// What the script shows when a message could not be answered.
#[derive(Debug, Template)]
#[template(path = "chat/banner.html")]
pub struct ChatBanner {
    pub banner: String,
    /// The conversation the backend kept the message in, for the form to continue.
    pub conversation_id: Option<String>,
}

/// Form of `POST /chat`.
#[derive(Debug, Deserialize)]
pub struct SendForm {
    #[serde(default)]
    message: String,
    #[serde(default)]
    conversation_id: String,
}

/// Query of `GET /chat/{id}`.
#[derive(Debug, Deserialize)]
pub struct HistoryQuery {
    #[serde(default)]
    page: Option<i64>,
}

/// Inputs of a chat page render.
struct PageInput<'a> {
    conversation_id: Option<&'a str>,
    page: i64,
    banner: Option<String>,
    draft: String,
    draft_error: Option<String>,
    flash: Option<Flash>,
}

async fn chat_page(
    backend: &BackendClient,
    user: &CurrentUser,
    caller: &Caller,
    csrf: &CsrfToken,
    input: PageInput<'_>,
) -> Result<ChatPage, PageError> {
    let retry = input
        .conversation_id
        .map_or_else(|| "/chat".to_owned(), |id| format!("/chat/{id}"));
    let conversations = backend
        .conversations(caller)
        .await
        .map_err(|err| PageError::backend(err, &retry))?;
    let (messages, older) = match input.conversation_id {
        Some(id) => {
            let page = backend
                .messages(caller, id, input.page.max(1))
                .await
                .map_err(|err| PageError::backend(err, &retry))?;
            let older = (page.page < page.total_pages)
                .then(|| format!("/chat/{id}?page={}", page.page + 1));
            (page.messages.iter().map(MessageView::from).collect(), older)
        }
        None => (Vec::new(), None),
    };
    Ok(ChatPage {
        shell: Shell::new("Assistant", "chat", &csrf.0)
            .with_user(&user.name)
            .with_flash(input.flash),
        csrf: csrf.0.clone(),
        conversations: conversation_views(&conversations.conversations, input.conversation_id),
        conversation_id: input.conversation_id.unwrap_or_default().to_owned(),
        messages,
        older,
        banner: input.banner,
        draft: input.draft,
        draft_error: input.draft_error,
        examples: EXAMPLES.to_vec(),
        max_chars: MAX_MESSAGE_CHARS,
    })
}

/// `GET /chat`: a new conversation, next to the list of earlier ones.
pub async fn new_conversation(
    State(backend): State<BackendClient>,
    user: CurrentUser,
    info: RequestInfo,
    Extension(csrf): Extension<CsrfToken>,
    jar: CookieJar,
) -> Result<Response, PageError> {
    let (jar, flash) = take_flash(jar);
    let input = PageInput {
        conversation_id: None,
        page: 1,
        banner: None,
        draft: String::new(),
        draft_error: None,
        flash,
    };
    let page = chat_page(&backend, &user, &info.as_user(&user), &csrf, input).await?;
    Ok((jar, render(&page)?).into_response())
}

/// `GET /chat/{id}`: a conversation's history (page 1 = the newest messages).
pub async fn conversation(
    State(backend): State<BackendClient>,
    user: CurrentUser,
    info: RequestInfo,
    Extension(csrf): Extension<CsrfToken>,
    jar: CookieJar,
    Path(id): Path<String>,
    Query(query): Query<HistoryQuery>,
) -> Result<Response, PageError> {
    let (jar, flash) = take_flash(jar);
    let input = PageInput {
        conversation_id: Some(&id),
        page: query.page.unwrap_or(1),
        banner: None,
        draft: String::new(),
        draft_error: None,
        flash,
    };
    let page = chat_page(&backend, &user, &info.as_user(&user), &csrf, input).await?;
    Ok((jar, render(&page)?).into_response())
}

fn fragment_header() -> [(&'static str, HeaderValue); 1] {
    [("x-taskflow-fragment", HeaderValue::from_static("banner"))]
}

/// `POST /chat`: sends a message and shows the reply.
#[allow(clippy::too_many_arguments)]
pub async fn send(
    State(backend): State<BackendClient>,
    user: CurrentUser,
    info: RequestInfo,
    Extension(csrf): Extension<CsrfToken>,
    headers: HeaderMap,
    Form(form): Form<SendForm>,
) -> Result<Response, PageError> {
    let caller = info.as_user(&user);
    let conversation_id = Some(form.conversation_id.trim()).filter(|id| !id.is_empty());
    let message = form.message.trim();
    let fragment = wants_fragment(&headers);
    let refused = |status: StatusCode, banner: Option<String>, draft_error: Option<String>| {
        let backend = backend.clone();
        let user = user.clone();
        let caller = caller.clone();
        let csrf = csrf.clone();
        let draft = form.message.clone();
        async move {
            if fragment {
                let text = banner.or(draft_error).unwrap_or_default();
                return Ok((
                    status,
                    fragment_header(),
                    render(&ChatBanner {
                        banner: text,
                        conversation_id: None,
                    })?,
                )
                    .into_response());
            }
            let input = PageInput {
                conversation_id,
                page: 1,
                banner,
                draft,
                draft_error,
                flash: None,
            };
            let page = chat_page(&backend, &user, &caller, &csrf, input).await?;
            Ok((status, render(&page)?).into_response())
        }
    };
    if message.is_empty() {
        return refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            Some("Write a message first.".to_owned()),
        )
        .await;
    }
    if message.chars().count() > MAX_MESSAGE_CHARS {
        return refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            Some(format!(
                "Messages can be at most {MAX_MESSAGE_CHARS} characters."
            )),
        )
        .await;
    }
    match backend.chat(&caller, message, conversation_id).await {
        Ok(reply) => {
            if fragment {
                let conversations = backend.conversations(&caller).await.map_err(|err| PageError::backend(err, "/chat"))?;
                let body = ChatFragment {
                    conversations: conversation_views(&conversations.conversations, Some(&reply.conversation_id)),
                    conversation_id: reply.conversation_id.clone(),
                    messages: vec![MessageView::from(&reply.user_message), MessageView::from(&reply.assistant_message)],
                };
                return render(&body);
            }
            let target = format!("/chat/{}#message-{}", reply.conversation_id, reply.assistant_message.id);
            Ok(Redirect::to(&target).into_response())
        }
        Err(BackendError::Validation { message, fields }) => {
            let text = fields.into_values().next().unwrap_or(message);
            refused(StatusCode::UNPROCESSABLE_ENTITY, None, Some(crate::views::sentence(&text))).await
        }
        Err(BackendError::Upstream { timed_out, conversation_id: stored_in }) => {
            let banner = if timed_out {
                "The assistant took too long to answer. Your message was saved; try again in a moment."
            } else {
                "The assistant could not answer just now. Your message was saved; try sending it again in a moment."
            };
            let status = if timed_out { StatusCode::GATEWAY_TIMEOUT } else { StatusCode::BAD_GATEWAY };
            // Show the conversation the backend kept the message in, so a retry continues it.
            let kept_in = stored_in.or_else(|| conversation_id.map(str::to_owned));
            if fragment {
                return Ok((status, fragment_header(), render(&ChatBanner { banner: banner.to_owned(), conversation_id: kept_in.clone() })?).into_response());
            }
            let input = PageInput { conversation_id: kept_in.as_deref(), page: 1, banner: Some(banner.to_owned()), draft: form.message.clone(), draft_error: None, flash: None };
            let page = chat_page(&backend, &user, &caller, &csrf, input).await?;
            Ok((status, render(&page)?).into_response())
        }
        Err(BackendError::Timeout) => {
            refused(
                StatusCode::GATEWAY_TIMEOUT,
                Some("The assistant took too long to answer. Your message was saved; try again in a moment.".to_owned()),
                None,
            )
            .await
        }
        Err(err) => Err(PageError::backend(err, conversation_id.map_or_else(|| "/chat".to_owned(), |id| format!("/chat/{id}")).as_str())),
    }
}

/// `POST /chat/{id}/delete`.
pub async fn delete(
    State(backend): State<BackendClient>,
    cookies: CookieSettings,
    user: CurrentUser,
    info: RequestInfo,
    jar: CookieJar,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    backend
        .delete_conversation(&info.as_user(&user), &id)
        .await
        .map_err(|err| PageError::backend(err, "/chat"))?;
    let jar = set_flash(jar, &cookies, &Flash::success("Conversation deleted."));
    Ok((jar, Redirect::to("/chat")).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn badges_show_the_first_line_of_a_tool_message_shortened() {
        assert_eq!(badge_text("Added “Buy milk”."), "Added “Buy milk”.");
        assert_eq!(badge_text("3 tasks:\n- a\n- b"), "3 tasks:…");
        let long = "x".repeat(100);
        assert_eq!(badge_text(&long).chars().count(), BADGE_CHARS + 1);
    }
}
