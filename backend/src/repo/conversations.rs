//! The `conversations` and `messages` tables. Every query is scoped to one user: another
//! user's conversation is as absent as one that does not exist, and messages are only ever
//! reached through a conversation of that user.

use chrono::{DateTime, Utc};
use diesel::dsl::sql;
use diesel::sql_types::{BigInt, Jsonb, Text, Uuid as SqlUuid};
use diesel::{
    ExpressionMethods as _, QueryDsl as _, QueryResult, Queryable, QueryableByName, Selectable,
    SelectableHelper as _,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl as _};
use uuid::Uuid;

use crate::db::schema::{conversations, messages};

/// A stored conversation.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = conversations, check_for_backend(diesel::pg::Pg))]
pub struct ConversationRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub title: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A stored message.
#[derive(Debug, Clone, Queryable, Selectable, QueryableByName)]
#[diesel(table_name = messages, check_for_backend(diesel::pg::Pg))]
pub struct MessageRow {
    pub id: i64,
    pub conversation_id: Uuid,
    pub role: String,
    pub content: String,
    pub tool_calls: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The signed-in user.
    User,
    /// The assistant.
    Assistant,
}

impl Role {
    /// The stored value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Assistant => "assistant",
        }
    }
}

/// A message to store: `content` is 1 to 20000 characters, `tool_calls` a JSON array.
#[derive(Debug)]
pub struct NewMessage<'a> {
    pub role: Role,
    pub content: &'a str,
    pub tool_calls: &'a serde_json::Value,
}

/// Most characters of a stored message (the table's CHECK).
pub const MAX_MESSAGE_CHARS: usize = 20_000;

/// Creates a conversation of the user with its first message, in one statement, and returns
/// that message (which carries the new conversation's id).
pub async fn start(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    title: &str,
    first: &NewMessage<'_>,
) -> QueryResult<MessageRow> {
    diesel::sql_query(
        "WITH conversation AS ( \
           INSERT INTO conversations (user_id, title) VALUES ($1, $2) RETURNING id \
         ) \
         INSERT INTO messages (conversation_id, role, content, tool_calls) \
         SELECT id, $3, $4, $5 FROM conversation \
         RETURNING id, conversation_id, role, content, tool_calls, created_at",
    )
    .bind::<SqlUuid, _>(user_id)
    .bind::<Text, _>(title)
    .bind::<Text, _>(first.role.as_str())
    .bind::<Text, _>(first.content)
    .bind::<Jsonb, _>(first.tool_calls)
    .get_result(conn)
    .await
}

/// Adds a message to a conversation of the user and marks the conversation as active, in one
/// statement. `NotFound` when the conversation is not the user's (or no longer exists).
pub async fn add_message(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    conversation_id: Uuid,
    message: &NewMessage<'_>,
) -> QueryResult<MessageRow> {
    diesel::sql_query(
        "WITH conversation AS ( \
           UPDATE conversations SET updated_at = now() \
           WHERE id = $1 AND user_id = $2 RETURNING id \
         ) \
         INSERT INTO messages (conversation_id, role, content, tool_calls) \
         SELECT id, $3, $4, $5 FROM conversation \
         RETURNING id, conversation_id, role, content, tool_calls, created_at",
    )
    .bind::<SqlUuid, _>(conversation_id)
    .bind::<SqlUuid, _>(user_id)
    .bind::<Text, _>(message.role.as_str())
    .bind::<Text, _>(message.content)
    .bind::<Jsonb, _>(message.tool_calls)
    .get_result(conn)
    .await
}

/// One conversation of the user.
pub async fn find(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    id: Uuid,
) -> QueryResult<ConversationRow> {
    conversations::table
        .filter(conversations::id.eq(id))
        .filter(conversations::user_id.eq(user_id))
        .select(ConversationRow::as_select())
        .first(conn)
        .await
}

/// One page of the user's conversations, most recently active first, plus how many there are.
pub async fn list(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    limit: i64,
    offset: i64,
) -> QueryResult<(Vec<ConversationRow>, i64)> {
    let rows: Vec<(ConversationRow, i64)> = conversations::table
        .filter(conversations::user_id.eq(user_id))
        .select((
            ConversationRow::as_select(),
            sql::<BigInt>("count(*) OVER ()"),
        ))
        .order_by(conversations::updated_at.desc())
        .then_order_by(conversations::id.desc())
        .limit(limit)
        .offset(offset)
        .load(conn)
        .await?;
    let total = match <[_]>::first(&rows) {
        Some((_, total)) => *total,
        // A page past the end has no rows to carry the count.
        None if offset > 0 => {
            conversations::table
                .filter(conversations::user_id.eq(user_id))
                .count()
                .get_result(conn)
                .await?
        }
        None => 0,
    };
    Ok((rows.into_iter().map(|(row, _)| row).collect(), total))
}

/// Deletes one conversation of the user with its messages; false when there was none.
pub async fn delete(conn: &mut AsyncPgConnection, user_id: Uuid, id: Uuid) -> QueryResult<bool> {
    let deleted = diesel::delete(
        conversations::table
            .filter(conversations::id.eq(id))
            .filter(conversations::user_id.eq(user_id)),
    )
    .execute(conn)
    .await?;
    Ok(deleted > 0)
}

/// One page of a conversation's messages counted from the newest (page 1 holds the latest
/// `limit`), returned oldest first, plus how many messages the conversation has. The caller
/// has checked that the conversation is the user's.
pub async fn messages_page(
    conn: &mut AsyncPgConnection,
    conversation_id: Uuid,
    limit: i64,
    offset: i64,
) -> QueryResult<(Vec<MessageRow>, i64)> {
    let rows: Vec<(MessageRow, i64)> = messages::table
        .filter(messages::conversation_id.eq(conversation_id))
        .select((MessageRow::as_select(), sql::<BigInt>("count(*) OVER ()")))
        .order_by(messages::id.desc())
        .limit(limit)
        .offset(offset)
        .load(conn)
        .await?;
    let total = match <[_]>::first(&rows) {
        Some((_, total)) => *total,
        None if offset > 0 => {
            messages::table
                .filter(messages::conversation_id.eq(conversation_id))
                .count()
                .get_result(conn)
                .await?
        }
        None => 0,
    };
    let mut page: Vec<MessageRow> = rows.into_iter().map(|(row, _)| row).collect();
    page.reverse();
    Ok((page, total))
}

/// The latest `limit` messages of a conversation before message `before`, oldest first: the
/// history the assistant is given. The caller has checked that the conversation is the user's.
pub async fn recent_messages(
    conn: &mut AsyncPgConnection,
    conversation_id: Uuid,
    before: i64,
    limit: i64,
) -> QueryResult<Vec<MessageRow>> {
    let mut rows: Vec<MessageRow> = messages::table
        .filter(messages::conversation_id.eq(conversation_id))
        .filter(messages::id.lt(before))
        .select(MessageRow::as_select())
        .order_by(messages::id.desc())
        .limit(limit)
        .load(conn)
        .await?;
    rows.reverse();
    Ok(rows)
}
