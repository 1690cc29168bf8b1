// What the previous release of taskflow-backend reads from the database: its
// backend/src/db/schema.rs, verbatim below, and the names of the constraints and indexes
// it matches errors against, one per "// constraint:" line. The schema_compat tests check
// that the newest migrations keep all of it (docs/development.md, "Schema changes stay
// backward compatible"). It is read as text, never compiled. Replace it when a release is tagged:
//   cp backend/src/db/schema.rs backend/tests/api/schema_compat/released_schema.rs
// and put the header and the constraint lines of that release back on top.
//
// release: 0.1.0
// constraint: users_email_lower_key
//
//! Diesel table definitions for the tables that `migrations/` creates.
//!
//! Kept in the layout `diesel print-schema` writes; the `schema_matches_database` test
//! loads every column of every table from a migrated database, so drift fails the tests.

diesel::table! {
    conversations (id) {
        id -> Uuid,
        user_id -> Uuid,
        title -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    messages (id) {
        id -> Int8,
        conversation_id -> Uuid,
        role -> Text,
        content -> Text,
        tool_calls -> Jsonb,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    revoked_tokens (jti) {
        jti -> Uuid,
        user_id -> Uuid,
        expires_at -> Timestamptz,
        revoked_at -> Timestamptz,
    }
}

diesel::table! {
    tasks (id) {
        id -> Int8,
        user_id -> Uuid,
        title -> Text,
        description -> Nullable<Text>,
        completed -> Bool,
        priority -> Int2,
        due_date -> Nullable<Date>,
        tags -> Array<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    users (id) {
        id -> Uuid,
        name -> Text,
        email -> Text,
        password_hash -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::joinable!(conversations -> users (user_id));
diesel::joinable!(messages -> conversations (conversation_id));
diesel::joinable!(revoked_tokens -> users (user_id));
diesel::joinable!(tasks -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(
    conversations,
    messages,
    revoked_tokens,
    tasks,
    users,
);
