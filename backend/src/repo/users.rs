//! The `users` table.

use chrono::{DateTime, Utc};
use diesel::{
    ExpressionMethods as _, Insertable, OptionalExtension as _, QueryDsl as _, QueryResult,
    Queryable, Selectable, SelectableHelper as _,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl as _};
use uuid::Uuid;

use crate::db::schema::{revoked_tokens, users};

/// Unique index that makes emails case-insensitively unique.
pub const EMAIL_UNIQUE_INDEX: &str = "users_email_lower_key";

diesel::define_sql_function!(fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text);

/// A stored account.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users, check_for_backend(diesel::pg::Pg))]
pub struct UserRow {
    pub id: Uuid,
    pub name: String,
    pub email: String,
    pub password_hash: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = users)]
struct NewUser<'a> {
    name: &'a str,
    email: &'a str,
    password_hash: &'a str,
}

/// Inserts an account. A duplicate email fails with a unique violation of
/// [`EMAIL_UNIQUE_INDEX`].
pub async fn insert(
    conn: &mut AsyncPgConnection,
    name: &str,
    email: &str,
    password_hash: &str,
) -> QueryResult<UserRow> {
    diesel::insert_into(users::table)
        .values(NewUser {
            name,
            email,
            password_hash,
        })
        .returning(UserRow::as_returning())
        .get_result(conn)
        .await
}

/// Finds an account by email, ignoring letter case.
pub async fn find_by_email(
    conn: &mut AsyncPgConnection,
    email: &str,
) -> QueryResult<Option<UserRow>> {
    users::table
        .filter(lower(users::email).eq(lower(email)))
        .select(UserRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// Finds the account behind a session token, unless that token was revoked.
pub async fn find_for_session(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    jti: Uuid,
) -> QueryResult<Option<UserRow>> {
    let revoked = revoked_tokens::table.filter(revoked_tokens::jti.eq(jti));
    users::table
        .filter(users::id.eq(user_id))
        .filter(diesel::dsl::not(diesel::dsl::exists(revoked)))
        .select(UserRow::as_select())
        .first(conn)
        .await
        .optional()
}
