//! The embedded migrations: `src/db/schema.rs` agrees with them, they revert cleanly, they run
//! once, and the database itself enforces the data rules (unique email, cascades, checks),
//! for the conversations and messages of the assistant too.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use diesel::pg::{Pg, PgMetadataLookup, PgTypeMetadata};
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel::sql_types::{self, HasSqlType, SqlType, is_nullable};
use diesel::{Column, ExpressionMethods as _, QueryDsl as _, QueryResult};
use diesel_async::{AsyncPgConnection, RunQueryDsl as _};
use taskflow_backend::db::{self, schema};
use taskflow_backend::repo;
use taskflow_backend::repo::conversations::{ConversationRow, MessageRow, NewMessage, Role};
use taskflow_backend::repo::tasks::{NewTask, TaskRow};
use taskflow_backend::repo::users::UserRow;
use uuid::Uuid;

use crate::helpers::TestDb;

/// The tables the migrations create.
const OUR_TABLES: &[&str] = &[
    "conversations",
    "messages",
    "revoked_tokens",
    "tasks",
    "users",
];
/// Diesel's bookkeeping table, which reverting leaves in place.
const DIESEL_TABLE: &str = "__diesel_schema_migrations";
/// How many migrations `migrations/` holds.
const MIGRATION_COUNT: usize = 5;

#[derive(Debug, diesel::QueryableByName)]
struct Name {
    #[diesel(sql_type = sql_types::Text)]
    name: String,
}

#[derive(Debug, diesel::QueryableByName)]
struct DbColumn {
    #[diesel(sql_type = sql_types::Text)]
    table_name: String,
    #[diesel(sql_type = sql_types::Text)]
    column_name: String,
    #[diesel(sql_type = sql_types::Integer)]
    type_oid: i32,
    #[diesel(sql_type = sql_types::Bool)]
    nullable: bool,
}

#[derive(Debug, diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = sql_types::BigInt)]
    count: i64,
}

/// What `schema.rs` declares about one column.
#[derive(Debug, PartialEq, Eq)]
struct DeclaredColumn {
    table: &'static str,
    column: &'static str,
    type_oid: u32,
    nullable: bool,
}

/// Metadata lookup for built-in types only: the schema declares no custom types.
struct BuiltinTypesOnly;

impl PgMetadataLookup for BuiltinTypesOnly {
    fn lookup_type(&mut self, type_name: &str, schema: Option<&str>) -> PgTypeMetadata {
        panic!(
            "schema.rs uses the custom type {schema:?}.{type_name}, which this test does not know"
        )
    }
}

/// Whether a diesel SQL type is `Nullable<_>`.
trait Nullability {
    const NULLABLE: bool;
}

impl Nullability for is_nullable::NotNull {
    const NULLABLE: bool = false;
}

impl Nullability for is_nullable::IsNullable {
    const NULLABLE: bool = true;
}

fn declared<C>(table: &'static str) -> DeclaredColumn
where
    C: Column,
    C::SqlType: SqlType,
    <C::SqlType as SqlType>::IsNull: Nullability,
    Pg: HasSqlType<C::SqlType>,
{
    let metadata = <Pg as HasSqlType<C::SqlType>>::metadata(&mut BuiltinTypesOnly);
    DeclaredColumn {
        table,
        column: C::NAME,
        type_oid: metadata.oid().expect("built-in types have a static oid"),
        nullable: <<C::SqlType as SqlType>::IsNull as Nullability>::NULLABLE,
    }
}

/// Every column `schema.rs` declares, with its type and nullability.
macro_rules! declared_columns {
    ($($table:ident: [$($column:ident),* $(,)?]),* $(,)?) => {
        vec![$($(declared::<schema::$table::$column>(stringify!($table)),)*)*]
    };
}

/// Column names in the order of `table::all_columns`, read from the SQL diesel generates.
fn all_columns_sql<Q>(query: &Q) -> Vec<String>
where
    Q: diesel::query_builder::QueryFragment<Pg>,
{
    let sql = diesel::debug_query::<Pg, _>(query).to_string();
    let list = sql
        .strip_prefix("SELECT ")
        .and_then(|rest| rest.split_once(" FROM "))
        .map(|(list, _)| list)
        .unwrap_or_else(|| panic!("unexpected SQL: {sql}"));
    list.split(", ")
        .map(|qualified| {
            qualified
                .rsplit('.')
                .next()
                .unwrap_or(qualified)
                .trim_matches('"')
                .to_owned()
        })
        .collect()
}

async fn public_columns(conn: &mut AsyncPgConnection) -> Vec<DbColumn> {
    diesel::sql_query(
        "SELECT c.relname::text AS table_name, a.attname::text AS column_name, a.atttypid::int4 AS type_oid, \
         NOT a.attnotnull AS nullable \
         FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = 'public' AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped \
         AND c.relname <> '__diesel_schema_migrations' \
         ORDER BY c.relname, a.attnum",
    )
    .load(conn)
    .await
    .expect("listing the columns")
}

/// Every object of ours in `public`: relations (tables, indexes, sequences), functions and
/// triggers, apart from diesel's bookkeeping table and its index.
async fn our_objects(conn: &mut AsyncPgConnection) -> BTreeSet<String> {
    let rows: Vec<Name> = diesel::sql_query(
        "SELECT 'relation ' || c.relname::text AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
           WHERE n.nspname = 'public' AND c.relname NOT LIKE '\\_\\_diesel\\_schema\\_migrations%' \
         UNION ALL SELECT 'function ' || p.proname::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace \
           WHERE n.nspname = 'public' \
         UNION ALL SELECT 'trigger ' || t.tgname::text FROM pg_trigger t WHERE NOT t.tgisinternal \
         UNION ALL SELECT 'type ' || t.typname::text FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace \
           WHERE n.nspname = 'public' AND t.typname NOT LIKE '%\\_\\_diesel\\_schema\\_migrations'",
    )
    .load(conn)
    .await
    .expect("listing objects");
    rows.into_iter().map(|row| row.name).collect()
}

async fn public_tables(conn: &mut AsyncPgConnection) -> BTreeSet<String> {
    let rows: Vec<Name> = diesel::sql_query(
        "SELECT table_name::text AS name FROM information_schema.tables WHERE table_schema = 'public'",
    )
    .load(conn)
    .await
    .expect("listing tables");
    rows.into_iter().map(|row| row.name).collect()
}

async fn applied_versions(conn: &mut AsyncPgConnection) -> Vec<String> {
    let rows: Vec<Name> = diesel::sql_query(
        "SELECT version::text AS name FROM __diesel_schema_migrations ORDER BY version",
    )
    .load(conn)
    .await
    .expect("reading __diesel_schema_migrations");
    rows.into_iter().map(|row| row.name).collect()
}

async fn count(conn: &mut AsyncPgConnection, sql: &str) -> i64 {
    let rows: Vec<Count> = diesel::sql_query(sql)
        .load(conn)
        .await
        .unwrap_or_else(|err| panic!("`{sql}` failed: {err}"));
    rows.into_iter()
        .next()
        .map(|row| row.count)
        .unwrap_or_else(|| panic!("`{sql}` returned no row"))
}

async fn insert_user(conn: &mut AsyncPgConnection, email: &str) -> UserRow {
    repo::users::insert(conn, "Schema Tester", email, "$argon2id$not-a-real-hash")
        .await
        .expect("inserting a user")
}

fn new_task(user_id: Uuid, title: &str) -> NewTask {
    NewTask {
        user_id,
        title: title.to_owned(),
        description: None,
        completed: false,
        priority: 1,
        due_date: None,
        tags: Vec::new(),
    }
}

#[derive(Debug, diesel::QueryableByName)]
struct UpdatedAt {
    #[diesel(sql_type = sql_types::Timestamptz)]
    updated_at: DateTime<Utc>,
}

/// `updated_at` of the only row of `table`.
async fn updated_at(conn: &mut AsyncPgConnection, table: &str) -> DateTime<Utc> {
    let rows: Vec<UpdatedAt> = diesel::sql_query(format!("SELECT updated_at FROM {table}"))
        .load(conn)
        .await
        .expect("reading updated_at");
    assert_eq!(rows.len(), 1, "{table} has one row");
    rows[0].updated_at
}

/// The violated constraint when `result` failed with a database error of `kind`.
fn violated_constraint<T: std::fmt::Debug>(result: QueryResult<T>, kind: &str) -> Option<String> {
    match result {
        Err(DieselError::DatabaseError(actual, info)) => {
            let matches = match kind {
                "check" => matches!(actual, DatabaseErrorKind::CheckViolation),
                "unique" => matches!(actual, DatabaseErrorKind::UniqueViolation),
                "not null" => matches!(actual, DatabaseErrorKind::NotNullViolation),
                "foreign key" => matches!(actual, DatabaseErrorKind::ForeignKeyViolation),
                other => panic!("unknown violation kind {other}"),
            };
            assert!(
                matches,
                "expected a {kind} violation, got {actual:?}: {}",
                info.message()
            );
            info.constraint_name().map(str::to_owned)
        }
        other => panic!("expected a {kind} violation, got {other:?}"),
    }
}

#[tokio::test]
async fn schema_matches_database() {
    let db = TestDb::migrated().await;
    let mut conn = db.connection().await;

    let declared = declared_columns! {
        users: [id, name, email, password_hash, created_at, updated_at],
        tasks: [id, user_id, title, description, completed, priority, due_date, tags, created_at, updated_at],
        revoked_tokens: [jti, user_id, expires_at, revoked_at],
        conversations: [id, user_id, title, created_at, updated_at],
        messages: [id, conversation_id, role, content, tool_calls, created_at],
    };
    let actual = public_columns(&mut conn).await;
    let tables: BTreeSet<&str> = actual.iter().map(|c| c.table_name.as_str()).collect();
    assert_eq!(
        tables,
        OUR_TABLES.iter().copied().collect(),
        "the migrations create exactly the tables schema.rs knows"
    );

    // The same columns in the same order as `all_columns`, which `Queryable` row types rely on.
    for (table, generated) in [
        (
            "users",
            all_columns_sql(&schema::users::table.select(schema::users::all_columns)),
        ),
        (
            "tasks",
            all_columns_sql(&schema::tasks::table.select(schema::tasks::all_columns)),
        ),
        (
            "revoked_tokens",
            all_columns_sql(
                &schema::revoked_tokens::table.select(schema::revoked_tokens::all_columns),
            ),
        ),
        (
            "conversations",
            all_columns_sql(
                &schema::conversations::table.select(schema::conversations::all_columns),
            ),
        ),
        (
            "messages",
            all_columns_sql(&schema::messages::table.select(schema::messages::all_columns)),
        ),
    ] {
        let in_database: Vec<String> = actual
            .iter()
            .filter(|c| c.table_name == table)
            .map(|c| c.column_name.clone())
            .collect();
        assert_eq!(
            generated, in_database,
            "columns of {table}: schema.rs vs the migrated database"
        );
        let listed: Vec<&str> = declared
            .iter()
            .filter(|c| c.table == table)
            .map(|c| c.column)
            .collect();
        assert_eq!(
            listed, in_database,
            "this test lists every column of {table}"
        );
    }

    // Types and nullability, column by column.
    for column in &declared {
        let found = actual
            .iter()
            .find(|c| c.table_name == column.table && c.column_name == column.column)
            .unwrap_or_else(|| {
                panic!(
                    "{}.{} is declared but not in the database",
                    column.table, column.column
                )
            });
        let oid = u32::try_from(found.type_oid).expect("oids are positive");
        assert_eq!(
            oid, column.type_oid,
            "type of {}.{} (pg_type oid)",
            column.table, column.column
        );
        assert_eq!(
            found.nullable, column.nullable,
            "nullability of {}.{}",
            column.table, column.column
        );
    }

    // A round trip of every column of every table into the row types the code uses.
    let user = insert_user(&mut conn, "schema@example.com").await;
    let users: Vec<UserRow> = schema::users::table
        .select(schema::users::all_columns)
        .load(&mut conn)
        .await
        .expect("loading users");
    assert_eq!(users.len(), 1);
    assert_eq!(
        (users[0].id, users[0].email.as_str()),
        (user.id, "schema@example.com")
    );

    let full = NewTask {
        user_id: user.id,
        title: "Every column".to_owned(),
        description: Some("filled in".to_owned()),
        completed: true,
        priority: 2,
        due_date: NaiveDate::from_ymd_opt(2030, 1, 31),
        tags: vec!["a".to_owned(), "b".to_owned()],
    };
    repo::tasks::insert(&mut conn, &full)
        .await
        .expect("inserting a full task");
    repo::tasks::insert(&mut conn, &new_task(user.id, "Nulls"))
        .await
        .expect("inserting a task with nulls");
    let tasks: Vec<TaskRow> = schema::tasks::table
        .select(schema::tasks::all_columns)
        .order(schema::tasks::id)
        .load(&mut conn)
        .await
        .expect("loading tasks");
    assert_eq!(tasks.len(), 2);
    assert_eq!(tasks[0].description.as_deref(), Some("filled in"));
    assert_eq!(tasks[0].due_date, NaiveDate::from_ymd_opt(2030, 1, 31));
    assert_eq!(tasks[0].tags, ["a", "b"]);
    assert_eq!((tasks[0].priority, tasks[0].completed), (2, true));
    assert_eq!(
        (tasks[1].description.as_deref(), tasks[1].due_date),
        (None, None)
    );
    assert!(tasks[1].tags.is_empty());

    let jti = Uuid::new_v4();
    let expires_at = Utc::now() + Duration::hours(1);
    repo::tokens::revoke(&mut conn, jti, user.id, expires_at)
        .await
        .expect("revoking a token");
    let revoked: Vec<(Uuid, Uuid, DateTime<Utc>, DateTime<Utc>)> = schema::revoked_tokens::table
        .select(schema::revoked_tokens::all_columns)
        .load(&mut conn)
        .await
        .expect("loading revoked tokens");
    assert_eq!(revoked.len(), 1);
    assert_eq!((revoked[0].0, revoked[0].1), (jti, user.id));
    assert_eq!(
        revoked[0].2.timestamp_micros(),
        expires_at.timestamp_micros()
    );

    let calls = serde_json::json!([{"name": "add_task", "arguments": {}, "outcome": {}}]);
    let first = repo::conversations::start(
        &mut conn,
        user.id,
        "A title",
        &NewMessage {
            role: Role::User,
            content: "hello",
            tool_calls: &serde_json::json!([]),
        },
    )
    .await
    .expect("starting a conversation");
    repo::conversations::add_message(
        &mut conn,
        user.id,
        first.conversation_id,
        &NewMessage {
            role: Role::Assistant,
            content: "hi",
            tool_calls: &calls,
        },
    )
    .await
    .expect("adding a message");
    let conversations: Vec<ConversationRow> = schema::conversations::table
        .select(schema::conversations::all_columns)
        .load(&mut conn)
        .await
        .expect("loading conversations");
    assert_eq!(conversations.len(), 1);
    assert_eq!(
        (
            conversations[0].id,
            conversations[0].user_id,
            conversations[0].title.as_str()
        ),
        (first.conversation_id, user.id, "A title")
    );
    let messages: Vec<MessageRow> = schema::messages::table
        .select(schema::messages::all_columns)
        .order(schema::messages::id)
        .load(&mut conn)
        .await
        .expect("loading messages");
    assert_eq!(messages.len(), 2);
    assert_eq!(
        (messages[0].role.as_str(), messages[0].content.as_str()),
        ("user", "hello")
    );
    assert_eq!(messages[1].tool_calls, calls);
}

#[tokio::test]
async fn every_migration_reverts_cleanly_and_applies_again() {
    let db = TestDb::empty().await;
    let mut conn = db.connection().await;

    let applied = db::run_migrations(db.url()).await.expect("migrating");
    assert_eq!(applied.len(), MIGRATION_COUNT, "applied {applied:?}");
    let mut expected_tables: BTreeSet<String> =
        OUR_TABLES.iter().map(|t| (*t).to_owned()).collect();
    expected_tables.insert(DIESEL_TABLE.to_owned());
    assert_eq!(public_tables(&mut conn).await, expected_tables);
    assert_eq!(applied_versions(&mut conn).await.len(), MIGRATION_COUNT);
    let migrated_objects = our_objects(&mut conn).await;
    assert!(
        migrated_objects.contains("function taskflow_set_updated_at"),
        "{migrated_objects:?}"
    );
    assert!(
        migrated_objects.contains("trigger tasks_set_updated_at"),
        "{migrated_objects:?}"
    );

    let reverted = db::revert_all_migrations(db.url())
        .await
        .expect("reverting");
    assert_eq!(reverted, MIGRATION_COUNT);
    assert_eq!(
        public_tables(&mut conn).await,
        BTreeSet::from([DIESEL_TABLE.to_owned()]),
        "only diesel's table remains"
    );
    assert_eq!(
        our_objects(&mut conn).await,
        BTreeSet::new(),
        "nothing of ours remains"
    );
    assert!(applied_versions(&mut conn).await.is_empty());

    let again = db::run_migrations(db.url()).await.expect("migrating again");
    assert_eq!(again, applied, "the same versions apply again");
    assert_eq!(
        our_objects(&mut conn).await,
        migrated_objects,
        "the second run recreates the same objects"
    );
    insert_user(&mut conn, "again@example.com").await;
}

#[tokio::test]
async fn running_migrations_twice_applies_nothing_the_second_time() {
    let db = TestDb::empty().await;
    let first = db::run_migrations(db.url()).await.expect("migrating");
    assert_eq!(first.len(), MIGRATION_COUNT, "{first:?}");
    let mut sorted = first.clone();
    sorted.sort();
    assert_eq!(first, sorted, "migrations apply oldest first");
    let second = db::run_migrations(db.url()).await.expect("migrating again");
    assert!(second.is_empty(), "the second run applied {second:?}");
    let mut conn = db.connection().await;
    assert_eq!(applied_versions(&mut conn).await.len(), MIGRATION_COUNT);
}

#[tokio::test]
async fn concurrent_migration_runs_apply_each_migration_exactly_once() {
    let db = TestDb::empty().await;
    let runs: Vec<_> = (0..4)
        .map(|_| {
            let url = db.url().to_owned();
            tokio::spawn(async move { db::run_migrations(&url).await })
        })
        .collect();
    let mut applied = Vec::new();
    for run in runs {
        applied.extend(
            run.await
                .expect("migration task")
                .expect("a concurrent run succeeds"),
        );
    }
    applied.sort();
    let unique: BTreeSet<&String> = applied.iter().collect();
    assert_eq!(
        applied.len(),
        MIGRATION_COUNT,
        "versions applied over all runs: {applied:?}"
    );
    assert_eq!(unique.len(), MIGRATION_COUNT, "{applied:?}");
}

#[tokio::test]
async fn the_database_refuses_an_email_that_differs_only_in_letter_case() {
    let db = TestDb::migrated().await;
    let mut conn = db.connection().await;
    let insert = "INSERT INTO users (name, email, password_hash) VALUES ('A', $1, 'hash')";
    diesel::sql_query(insert)
        .bind::<sql_types::Text, _>("a@x.io")
        .execute(&mut conn)
        .await
        .expect("first insert");
    for duplicate in ["A@X.IO", "a@x.io", "A@x.io"] {
        let result = diesel::sql_query(insert)
            .bind::<sql_types::Text, _>(duplicate)
            .execute(&mut conn)
            .await;
        assert_eq!(
            violated_constraint(result, "unique").as_deref(),
            Some(repo::users::EMAIL_UNIQUE_INDEX),
            "{duplicate}"
        );
    }
    diesel::sql_query(insert)
        .bind::<sql_types::Text, _>("b@x.io")
        .execute(&mut conn)
        .await
        .expect("another address");
}

#[tokio::test]
async fn deleting_a_user_removes_their_tasks_and_revoked_tokens() {
    let db = TestDb::migrated().await;
    let mut conn = db.connection().await;
    let doomed = insert_user(&mut conn, "doomed@example.com").await;
    let kept = insert_user(&mut conn, "kept@example.com").await;
    for user in [&doomed, &kept] {
        for title in ["One", "Two"] {
            repo::tasks::insert(&mut conn, &new_task(user.id, title))
                .await
                .expect("inserting a task");
        }
        repo::tokens::revoke(
            &mut conn,
            Uuid::new_v4(),
            user.id,
            Utc::now() + Duration::hours(1),
        )
        .await
        .expect("revoking a token");
    }

    let deleted = diesel::delete(schema::users::table.filter(schema::users::id.eq(doomed.id)))
        .execute(&mut conn)
        .await
        .expect("deleting the user");
    assert_eq!(deleted, 1);

    for (table, column) in [("tasks", "user_id"), ("revoked_tokens", "user_id")] {
        let of =
            |id: Uuid| format!("SELECT count(*) AS count FROM {table} WHERE {column} = '{id}'");
        assert_eq!(
            count(&mut conn, &of(doomed.id)).await,
            0,
            "{table} of the deleted user"
        );
        let survivors = count(&mut conn, &of(kept.id)).await;
        assert!(survivors > 0, "{table} of the other user survive");
    }
}

#[tokio::test]
async fn check_constraints_refuse_invalid_rows() {
    let db = TestDb::migrated().await;
    let mut conn = db.connection().await;
    let user = insert_user(&mut conn, "checks@example.com").await;
    let task = |title: &str, description: &str, priority: i16, tags: &str| {
        format!(
            "INSERT INTO tasks (user_id, title, description, priority, tags) VALUES ('{}', '{title}', {description}, {priority}, {tags})",
            user.id
        )
    };
    let ten_tags = format!(
        "ARRAY[{}]",
        (0..10)
            .map(|i| format!("'t{i}'"))
            .collect::<Vec<_>>()
            .join(",")
    );
    let eleven_tags = format!(
        "ARRAY[{}]",
        (0..11)
            .map(|i| format!("'t{i}'"))
            .collect::<Vec<_>>()
            .join(",")
    );
    let long_description = format!("'{}'", "d".repeat(1001));

    // The limits themselves are accepted, so the checks are not stricter than the rules.
    for (case, sql) in [
        (
            "200-character title",
            task(&"t".repeat(200), "NULL", 1, "'{}'"),
        ),
        (
            "1000-character description",
            task("ok", &format!("'{}'", "d".repeat(1000)), 1, "'{}'"),
        ),
        ("priority 0", task("ok", "NULL", 0, "'{}'")),
        ("priority 2", task("ok", "NULL", 2, "'{}'")),
        ("10 tags", task("ok", "NULL", 1, &ten_tags)),
    ] {
        diesel::sql_query(&sql)
            .execute(&mut conn)
            .await
            .unwrap_or_else(|err| panic!("{case} must be accepted: {err}"));
    }

    let cases = [
        (
            "201-character title",
            task(&"t".repeat(201), "NULL", 1, "'{}'"),
            "tasks_title_length",
        ),
        (
            "empty title",
            task("", "NULL", 1, "'{}'"),
            "tasks_title_length",
        ),
        (
            "untrimmed title",
            task(" padded ", "NULL", 1, "'{}'"),
            "tasks_title_length",
        ),
        (
            "1001-character description",
            task("ok", &long_description, 1, "'{}'"),
            "tasks_description_length",
        ),
        (
            "priority 5",
            task("ok", "NULL", 5, "'{}'"),
            "tasks_priority_range",
        ),
        (
            "priority -1",
            task("ok", "NULL", -1, "'{}'"),
            "tasks_priority_range",
        ),
        (
            "11 tags",
            task("ok", "NULL", 1, &eleven_tags),
            "tasks_tags_count",
        ),
        (
            "a null tag",
            task("ok", "NULL", 1, "ARRAY['a', NULL]"),
            "tasks_tags_not_null",
        ),
        (
            "empty user name",
            "INSERT INTO users (name, email, password_hash) VALUES ('', 'empty@example.com', 'h')"
                .to_owned(),
            "users_name_length",
        ),
        (
            "101-character user name",
            format!(
                "INSERT INTO users (name, email, password_hash) VALUES ('{}', 'long@example.com', 'h')",
                "n".repeat(101)
            ),
            "users_name_length",
        ),
        (
            "2-character email",
            "INSERT INTO users (name, email, password_hash) VALUES ('n', 'a@', 'h')".to_owned(),
            "users_email_length",
        ),
    ];
    for (case, sql, constraint) in cases {
        let result = diesel::sql_query(&sql).execute(&mut conn).await;
        assert_eq!(
            violated_constraint(result, "check").as_deref(),
            Some(constraint),
            "{case}"
        );
    }

    let orphan = diesel::sql_query(format!(
        "INSERT INTO tasks (user_id, title) VALUES ('{}', 'orphan')",
        Uuid::new_v4()
    ))
    .execute(&mut conn)
    .await;
    assert_eq!(
        violated_constraint(orphan, "foreign key").as_deref(),
        Some("tasks_user_id_fkey"),
        "task of no user"
    );
    let untitled = diesel::sql_query(format!(
        "INSERT INTO tasks (user_id, title) VALUES ('{}', NULL)",
        user.id
    ))
    .execute(&mut conn)
    .await;
    violated_constraint(untitled, "not null");
}

#[tokio::test]
async fn the_database_keeps_updated_at_current_on_every_real_change() {
    let db = TestDb::migrated().await;
    let mut conn = db.connection().await;
    let user = insert_user(&mut conn, "clock@example.com").await;
    let task = repo::tasks::insert(&mut conn, &new_task(user.id, "Tick"))
        .await
        .expect("inserting a task");
    let past = DateTime::from_timestamp_micros((Utc::now() - Duration::days(3)).timestamp_micros())
        .expect("a valid time");
    for table in ["tasks", "users"] {
        diesel::sql_query(format!("ALTER TABLE {table} DISABLE TRIGGER USER"))
            .execute(&mut conn)
            .await
            .expect("pausing");
        diesel::sql_query(format!("UPDATE {table} SET updated_at = $1"))
            .bind::<sql_types::Timestamptz, _>(past)
            .execute(&mut conn)
            .await
            .expect("backdating");
        diesel::sql_query(format!("ALTER TABLE {table} ENABLE TRIGGER USER"))
            .execute(&mut conn)
            .await
            .expect("resuming");
    }
    // Writing the same values is no change.
    diesel::update(schema::tasks::table.filter(schema::tasks::id.eq(task.id)))
        .set(schema::tasks::title.eq("Tick"))
        .execute(&mut conn)
        .await
        .expect("no-op update");
    assert_eq!(
        updated_at(&mut conn, "tasks").await,
        past,
        "a no-op update keeps updated_at"
    );

    diesel::update(schema::tasks::table.filter(schema::tasks::id.eq(task.id)))
        .set(schema::tasks::title.eq("Tock"))
        .execute(&mut conn)
        .await
        .expect("updating the task");
    assert!(
        updated_at(&mut conn, "tasks").await > past,
        "a task change moves updated_at"
    );

    diesel::update(schema::users::table.filter(schema::users::id.eq(user.id)))
        .set(schema::users::name.eq("Renamed"))
        .execute(&mut conn)
        .await
        .expect("updating the user");
    assert!(
        updated_at(&mut conn, "users").await > past,
        "a user change moves updated_at"
    );
}

/// Starts a conversation of `user_id` with one message; returns the conversation id.
async fn start_conversation(conn: &mut AsyncPgConnection, user_id: Uuid) -> Uuid {
    repo::conversations::start(
        conn,
        user_id,
        "Chat",
        &NewMessage {
            role: Role::User,
            content: "hello",
            tool_calls: &serde_json::json!([]),
        },
    )
    .await
    .expect("starting a conversation")
    .conversation_id
}

#[tokio::test]
async fn deleting_a_user_or_a_conversation_removes_its_messages() {
    let db = TestDb::migrated().await;
    let mut conn = db.connection().await;
    let doomed = insert_user(&mut conn, "doomed-chat@example.com").await;
    let kept = insert_user(&mut conn, "kept-chat@example.com").await;
    start_conversation(&mut conn, doomed.id).await;
    let kept_conversation = start_conversation(&mut conn, kept.id).await;
    let dropped_conversation = start_conversation(&mut conn, kept.id).await;

    diesel::delete(schema::users::table.filter(schema::users::id.eq(doomed.id)))
        .execute(&mut conn)
        .await
        .expect("deleting the user");
    assert!(
        repo::conversations::delete(&mut conn, kept.id, dropped_conversation)
            .await
            .expect("deleting a conversation")
    );

    assert_eq!(
        count(
            &mut conn,
            &format!(
                "SELECT count(*) AS count FROM conversations WHERE user_id = '{}'",
                doomed.id
            )
        )
        .await,
        0
    );
    assert_eq!(
        count(&mut conn, "SELECT count(*) AS count FROM messages").await,
        1,
        "only the message of the kept conversation remains"
    );
    assert_eq!(
        count(
            &mut conn,
            &format!(
                "SELECT count(*) AS count FROM messages WHERE conversation_id = '{kept_conversation}'"
            )
        )
        .await,
        1
    );
}

#[tokio::test]
async fn conversation_and_message_checks_refuse_invalid_rows() {
    let db = TestDb::migrated().await;
    let mut conn = db.connection().await;
    let user = insert_user(&mut conn, "chat-checks@example.com").await;
    let conversation = start_conversation(&mut conn, user.id).await;
    let too_long = "x".repeat(20_001);
    let cases = [
        (
            format!(
                "INSERT INTO conversations (user_id, title) VALUES ('{}', '')",
                user.id
            ),
            "check",
            "conversations_title_length",
        ),
        (
            format!(
                "INSERT INTO conversations (user_id, title) VALUES ('{}', ' padded ')",
                user.id
            ),
            "check",
            "conversations_title_length",
        ),
        (
            format!(
                "INSERT INTO conversations (user_id, title) VALUES ('{}', 'x')",
                Uuid::new_v4()
            ),
            "foreign key",
            "conversations_user_id_fkey",
        ),
        (
            format!(
                "INSERT INTO messages (conversation_id, role, content) VALUES ('{conversation}', 'system', 'x')"
            ),
            "check",
            "messages_role_valid",
        ),
        (
            format!(
                "INSERT INTO messages (conversation_id, role, content) VALUES ('{conversation}', 'user', '')"
            ),
            "check",
            "messages_content_length",
        ),
        (
            format!(
                "INSERT INTO messages (conversation_id, role, content) VALUES ('{conversation}', 'user', '{too_long}')"
            ),
            "check",
            "messages_content_length",
        ),
        (
            format!(
                "INSERT INTO messages (conversation_id, role, content, tool_calls) VALUES ('{conversation}', 'assistant', 'x', '{{}}')"
            ),
            "check",
            "messages_tool_calls_array",
        ),
        (
            format!(
                "INSERT INTO messages (conversation_id, role, content) VALUES ('{}', 'user', 'x')",
                Uuid::new_v4()
            ),
            "foreign key",
            "messages_conversation_id_fkey",
        ),
    ];
    for (sql, kind, constraint) in cases {
        let result = diesel::sql_query(&sql).execute(&mut conn).await;
        assert_eq!(
            violated_constraint(result, kind).as_deref(),
            Some(constraint),
            "{}",
            sql.chars().take(120).collect::<String>()
        );
    }
}

#[tokio::test]
async fn a_message_can_only_be_added_to_a_conversation_of_the_same_user() {
    let db = TestDb::migrated().await;
    let mut conn = db.connection().await;
    let owner = insert_user(&mut conn, "owner-chat@example.com").await;
    let other = insert_user(&mut conn, "other-chat@example.com").await;
    let conversation = start_conversation(&mut conn, owner.id).await;
    let result = repo::conversations::add_message(
        &mut conn,
        other.id,
        conversation,
        &NewMessage {
            role: Role::User,
            content: "sneaky",
            tool_calls: &serde_json::json!([]),
        },
    )
    .await;
    assert!(matches!(result, Err(DieselError::NotFound)), "{result:?}");
    assert_eq!(
        count(&mut conn, "SELECT count(*) AS count FROM messages").await,
        1
    );
}
