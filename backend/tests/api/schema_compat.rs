//! Schema changes stay backward compatible: the previous release's backend must start and
//! work on the newest schema, because a rollback (`nix run .#rollback`, `helm rollback`)
//! brings back the old binary but never undoes a migration.
//!
//! Two halves prove it:
//! - what the previous release reads (its `schema.rs` and the constraint names it matches,
//!   kept in `schema_compat/released_schema.rs`) must still be there after every current
//!   migration: same tables, columns, types, no column it reads as NOT NULL turned
//!   nullable, no new NOT NULL column without a default in its tables, its constraints;
//! - a binary runs on a schema newer than it knows: an additive migration it has never
//!   heard of, recorded as applied, neither stops its own migration run nor its readiness.
//!
//! The check itself is shown to catch a dropped, renamed or retyped column, a dropped
//! table, a loosened NOT NULL, a new NOT NULL column without a default and a renamed index.

use std::collections::{BTreeMap, BTreeSet};

use diesel::sql_types::{Bool, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl as _, SimpleAsyncConnection as _};
use reqwest::StatusCode;
use serde_json::{Value, json};
use taskflow_backend::db;

use crate::helpers::{TestDb, start, test_config};

/// The previous release's schema and constraint names (see the file's header).
const RELEASED: &str = include_str!("schema_compat/released_schema.rs");

/// A column as the previous release declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Declared {
    /// PostgreSQL's type name (`pg_type.typname`), e.g. `int8`, `_text` for `text[]`.
    type_name: String,
    nullable: bool,
}

/// What a release reads: table → column → declaration, and constraint/index names.
#[derive(Debug, Default)]
struct Snapshot {
    tables: BTreeMap<String, BTreeMap<String, Declared>>,
    constraints: BTreeSet<String>,
}

/// `pg_type.typname` of a diesel SQL type as `schema.rs` spells it (without `Nullable`).
fn pg_type_name(diesel_type: &str) -> String {
    if let Some(inner) = diesel_type
        .strip_prefix("Array<")
        .and_then(|rest| rest.strip_suffix('>'))
    {
        return format!("_{}", pg_type_name(inner));
    }
    let name = match diesel_type {
        "Bool" => "bool",
        "Int2" | "SmallInt" => "int2",
        "Int4" | "Integer" => "int4",
        "Int8" | "BigInt" => "int8",
        "Float4" => "float4",
        "Float8" | "Double" => "float8",
        "Numeric" => "numeric",
        "Text" | "VarChar" => "text",
        "Uuid" => "uuid",
        "Date" => "date",
        "Time" => "time",
        "Timestamp" => "timestamp",
        "Timestamptz" => "timestamptz",
        "Interval" => "interval",
        "Json" => "json",
        "Jsonb" => "jsonb",
        "Bytea" | "Binary" => "bytea",
        other => panic!(
            "schema_compat does not know the diesel type {other}; add its PostgreSQL name to pg_type_name"
        ),
    };
    name.to_owned()
}

/// Reads the `diesel::table!` blocks and the `// constraint:` lines of a snapshot.
fn parse_snapshot(text: &str) -> Snapshot {
    let mut snapshot = Snapshot::default();
    let mut in_table_macro = false;
    let mut current: Option<String> = None;
    for line in text.lines().map(str::trim) {
        if let Some(name) = line.strip_prefix("// constraint:") {
            snapshot.constraints.insert(name.trim().to_owned());
        } else if line == "diesel::table! {" {
            in_table_macro = true;
        } else if in_table_macro && current.is_none() && line.ends_with(") {") {
            let name = line
                .split_once(' ')
                .map_or(line, |(name, _)| name)
                .to_owned();
            snapshot.tables.insert(name.clone(), BTreeMap::new());
            current = Some(name);
        } else if let (Some(table), Some((column, sql_type))) = (&current, line.split_once(" -> "))
        {
            let sql_type = sql_type.trim_end_matches(',');
            let (inner, nullable) = match sql_type
                .strip_prefix("Nullable<")
                .and_then(|rest| rest.strip_suffix('>'))
            {
                Some(inner) => (inner, true),
                None => (sql_type, false),
            };
            snapshot
                .tables
                .get_mut(table)
                .expect("the table was inserted when its block started")
                .insert(
                    column.trim().to_owned(),
                    Declared {
                        type_name: pg_type_name(inner),
                        nullable,
                    },
                );
        } else if line == "}" {
            if current.is_some() {
                current = None;
            } else {
                in_table_macro = false;
            }
        }
    }
    snapshot
}

#[derive(Debug, diesel::QueryableByName)]
struct DbColumn {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Text)]
    type_name: String,
    #[diesel(sql_type = Bool)]
    nullable: bool,
    #[diesel(sql_type = Bool)]
    has_default: bool,
}

#[derive(Debug, diesel::QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    name: String,
}

/// The database as it is: its columns, and the names of its constraints and indexes.
async fn database_schema(conn: &mut AsyncPgConnection) -> (Vec<DbColumn>, BTreeSet<String>) {
    let columns: Vec<DbColumn> = diesel::sql_query(
        "SELECT c.relname::text AS table_name, a.attname::text AS column_name, \
                t.typname::text AS type_name, NOT a.attnotnull AS nullable, \
                (a.atthasdef OR a.attidentity <> '' OR a.attgenerated <> '') AS has_default \
         FROM pg_attribute a \
         JOIN pg_class c ON c.oid = a.attrelid \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         JOIN pg_type t ON t.oid = a.atttypid \
         WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND a.attnum > 0 \
           AND NOT a.attisdropped \
         ORDER BY c.relname, a.attnum",
    )
    .load(conn)
    .await
    .expect("listing the columns");
    let names: Vec<Name> = diesel::sql_query(
        "SELECT co.conname::text AS name FROM pg_constraint co \
           JOIN pg_namespace n ON n.oid = co.connamespace WHERE n.nspname = 'public' \
         UNION SELECT c.relname::text FROM pg_class c \
           JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'i'",
    )
    .load(conn)
    .await
    .expect("listing constraints and indexes");
    (columns, names.into_iter().map(|row| row.name).collect())
}

/// Everything in `snapshot` that the database no longer offers the way the release reads it.
fn compatibility_problems(
    snapshot: &Snapshot,
    columns: &[DbColumn],
    names: &BTreeSet<String>,
) -> Vec<String> {
    let mut problems = Vec::new();
    for (table, declared) in &snapshot.tables {
        let in_db: BTreeMap<&str, &DbColumn> = columns
            .iter()
            .filter(|c| &c.table_name == table)
            .map(|c| (c.column_name.as_str(), c))
            .collect();
        if in_db.is_empty() {
            problems.push(format!(
                "table {table} is gone (dropped or renamed), but the previous release reads it"
            ));
            continue;
        }
        for (column, wanted) in declared {
            let Some(found) = in_db.get(column.as_str()) else {
                problems.push(format!(
                    "column {table}.{column} is gone (dropped or renamed), but the previous release reads it"
                ));
                continue;
            };
            if found.type_name != wanted.type_name {
                problems.push(format!(
                    "column {table}.{column} changed type from {} to {}",
                    wanted.type_name, found.type_name
                ));
            }
            if found.nullable && !wanted.nullable {
                problems.push(format!(
                    "column {table}.{column} may now be NULL, which the previous release cannot read"
                ));
            }
        }
        for (column, found) in &in_db {
            if !declared.contains_key(*column) && !found.nullable && !found.has_default {
                problems.push(format!(
                    "new column {table}.{column} is NOT NULL without a default, so the previous release's inserts into {table} fail"
                ));
            }
        }
    }
    for name in &snapshot.constraints {
        if !names.contains(name) {
            problems.push(format!(
                "constraint or index {name} is gone (dropped or renamed), but the previous release matches errors against it"
            ));
        }
    }
    problems
}

async fn problems_in(db: &TestDb) -> Vec<String> {
    let mut conn = db.connection().await;
    let (columns, names) = database_schema(&mut conn).await;
    compatibility_problems(&parse_snapshot(RELEASED), &columns, &names)
}

async fn execute(db: &TestDb, sql: &str) {
    let mut conn = db.connection().await;
    conn.batch_execute(sql)
        .await
        .unwrap_or_else(|err| panic!("`{sql}` failed: {err}"));
}

#[test]
fn the_snapshot_lists_every_table_column_and_constraint_of_the_release() {
    let snapshot = parse_snapshot(RELEASED);
    let tables: Vec<&str> = snapshot.tables.keys().map(String::as_str).collect();
    assert_eq!(
        tables,
        [
            "conversations",
            "messages",
            "revoked_tokens",
            "tasks",
            "users"
        ]
    );
    let tasks = &snapshot.tables["tasks"];
    assert_eq!(tasks.len(), 10);
    assert_eq!(
        tasks["tags"],
        Declared {
            type_name: "_text".to_owned(),
            nullable: false
        }
    );
    assert_eq!(
        tasks["description"],
        Declared {
            type_name: "text".to_owned(),
            nullable: true
        }
    );
    assert!(snapshot.constraints.contains("users_email_lower_key"));
}

#[tokio::test]
async fn the_newest_schema_still_has_everything_the_previous_release_reads() {
    let db = TestDb::migrated().await;
    assert_eq!(problems_in(&db).await, Vec::<String>::new());
}

#[tokio::test]
async fn the_check_fails_on_dropped_renamed_retyped_or_loosened_columns() {
    let db = TestDb::migrated().await;
    for sql in [
        "ALTER TABLE tasks RENAME COLUMN title TO name",
        "ALTER TABLE tasks DROP COLUMN due_date",
        "ALTER TABLE tasks ALTER COLUMN priority TYPE int4",
        "ALTER TABLE users ALTER COLUMN name DROP NOT NULL",
        "ALTER TABLE users ADD COLUMN plan text NOT NULL",
        "DROP TABLE revoked_tokens",
        "ALTER INDEX users_email_lower_key RENAME TO users_email_unique",
    ] {
        execute(&db, sql).await;
    }
    let problems = problems_in(&db).await;
    for expected in [
        "column tasks.title is gone (dropped or renamed)",
        "column tasks.due_date is gone (dropped or renamed)",
        "column tasks.priority changed type from int2 to int4",
        "column users.name may now be NULL",
        "new column users.plan is NOT NULL without a default",
        "new column tasks.name is NOT NULL without a default",
        "table revoked_tokens is gone",
        "constraint or index users_email_lower_key is gone",
    ] {
        assert!(
            problems.iter().any(|p| p.starts_with(expected)),
            "expected a problem starting with {expected:?} in {problems:#?}"
        );
    }
    assert_eq!(problems.len(), 8, "{problems:#?}");
}

/// A migration of a later release, all additive: a nullable column, a NOT NULL column with
/// a default, a table, an index.
const FUTURE_MIGRATION: &str = "
    ALTER TABLE tasks ADD COLUMN estimate_minutes integer;
    ALTER TABLE users ADD COLUMN locale text NOT NULL DEFAULT 'en';
    CREATE TABLE task_comments (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        task_id bigint NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
        body text NOT NULL
    );
    CREATE INDEX tasks_estimate_idx ON tasks (estimate_minutes);
    INSERT INTO __diesel_schema_migrations (version) VALUES ('29991231235959');
";

#[tokio::test]
async fn a_backend_starts_and_works_on_a_schema_newer_than_it_knows() {
    let db = TestDb::migrated().await;
    execute(&db, FUTURE_MIGRATION).await;
    assert_eq!(problems_in(&db).await, Vec::<String>::new());

    // Diesel ignores applied versions it does not know: nothing to apply, no error.
    let applied = db::run_migrations(db.url())
        .await
        .expect("migrating a database that is ahead of this binary");
    assert_eq!(applied, Vec::<String>::new());

    // The service becomes ready (its readiness waits for its own migration run) and its
    // reads and writes work on the wider tables.
    let config = test_config(db.url(), &[]);
    let app = start(config, db).await;
    app.wait_until_ready().await;
    let user = app.signed_up_user().await;
    let task = app
        .create_task(
            &user,
            &json!({ "title": "On a newer schema", "tags": ["x"] }),
        )
        .await;
    assert_eq!(task["title"], "On a newer schema");
    let listed = app.get("/api/tasks", Some(&user.token)).await;
    assert_eq!(listed.status(), StatusCode::OK);
    let body: Value = listed.json().await.expect("list body is JSON");
    assert_eq!(body["total"], 1);
    let duplicate = app
        .register("Twin", &user.email.to_uppercase(), "correct horse battery")
        .await;
    assert_eq!(
        duplicate.status(),
        StatusCode::CONFLICT,
        "the unique index is still matched by name"
    );
}
