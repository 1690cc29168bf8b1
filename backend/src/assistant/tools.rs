//! The five task tools that the chat assistant and MCP clients use: their definitions (name,
//! description and JSON Schema of the arguments) and their execution.
//!
//! A tool always acts for the user whom the caller authenticated; no argument names a user.
//! Arguments are checked with the same domain types as the REST API. A task is named by its
//! id or by words of its title; when several tasks match, the outcome lists them and asks
//! which one is meant instead of guessing. Every call ends in a [`ToolOutcome`], including
//! unknown tools and malformed arguments, so a confused model gets an answer it can act on.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use chrono::{NaiveDate, Utc};
use diesel_async::AsyncPgConnection;
use diesel_async::pooled_connection::deadpool::Object;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::DbPool;
use crate::domain::{FieldErrors, Priority, TaskDescription, TaskTags, TaskTitle, parse_date};
use crate::repo;
use crate::repo::tasks::{
    ListQuery, NewTask, SortField, SortOrder, StatusFilter, TaskChanges, TaskRow,
};

/// Creates a task.
pub const ADD_TASK: &str = "add_task";
/// Lists tasks, optionally only pending or completed ones and optionally matching a text.
pub const LIST_TASKS: &str = "list_tasks";
/// Marks a task as completed.
pub const COMPLETE_TASK: &str = "complete_task";
/// Changes a task's fields.
pub const UPDATE_TASK: &str = "update_task";
/// Deletes a task.
pub const DELETE_TASK: &str = "delete_task";

/// Most tasks a `list_tasks` outcome carries.
pub const LIST_LIMIT: i64 = 50;
/// Most candidates listed when a title matches several tasks.
const CANDIDATE_LIMIT: i64 = 10;

/// A tool as offered to a model or an MCP client.
#[derive(Debug, Clone)]
pub struct ToolDefinition {
    /// The tool's name.
    pub name: &'static str,
    /// What it does, for the model.
    pub description: &'static str,
    /// JSON Schema of its arguments (an object).
    pub parameters: Value,
}

/// The five tools, in a fixed order.
pub fn definitions() -> &'static [ToolDefinition] {
    static DEFINITIONS: LazyLock<Vec<ToolDefinition>> = LazyLock::new(build_definitions);
    &DEFINITIONS
}

fn target_properties() -> serde_json::Map<String, Value> {
    let mut properties = serde_json::Map::new();
    properties.insert(
        "id".to_owned(),
        json!({"type": "integer", "description": "The task's id (the number shown as #id)."}),
    );
    properties.insert(
        "title_match".to_owned(),
        json!({"type": "string", "description": "Words from the task's title, when the id is not known. If several tasks match, nothing is changed and the candidates are returned."}),
    );
    properties
}

fn build_definitions() -> Vec<ToolDefinition> {
    let mut update = target_properties();
    for (name, schema) in [
        (
            "title",
            json!({"type": "string", "description": "New title, 1-200 characters."}),
        ),
        (
            "description",
            json!({"type": "string", "description": "New description, up to 1000 characters; an empty string removes it."}),
        ),
        (
            "priority",
            json!({"type": "string", "enum": ["low", "medium", "high"]}),
        ),
        (
            "due_date",
            json!({"type": "string", "description": "New due date as YYYY-MM-DD; an empty string removes it."}),
        ),
        (
            "tags",
            json!({"type": "array", "items": {"type": "string"}, "description": "New labels, replacing the old ones; [] removes them."}),
        ),
        (
            "completed",
            json!({"type": "boolean", "description": "true marks the task done, false reopens it."}),
        ),
    ] {
        update.insert(name.to_owned(), schema);
    }
    vec![
        ToolDefinition {
            name: ADD_TASK,
            description: "Create a task for the user.",
            parameters: json!({
                "type": "object",
                "properties": {
                    "title": {"type": "string", "description": "Title, 1-200 characters."},
                    "description": {"type": "string", "description": "Optional details, up to 1000 characters."},
                    "priority": {"type": "string", "enum": ["low", "medium", "high"], "description": "Defaults to medium."},
                    "due_date": {"type": "string", "description": "Optional due date as YYYY-MM-DD."},
                    "tags": {"type": "array", "items": {"type": "string"}, "description": "Optional labels, at most 10."}
                },
                "required": ["title"],
                "additionalProperties": false
            }),
        },
        ToolDefinition {
            name: LIST_TASKS,
            description: "List the user's tasks, newest first (at most 50).",
            parameters: json!({
                "type": "object",
                "properties": {
                    "status": {"type": "string", "enum": ["all", "pending", "completed"], "description": "Which tasks; defaults to all."},
                    "search": {"type": "string", "description": "Only tasks whose title or description contains this text."}
                },
                "additionalProperties": false
            }),
        },
        ToolDefinition {
            name: COMPLETE_TASK,
            description: "Mark one task as completed. Name it by id or by words from its title.",
            parameters: json!({
                "type": "object",
                "properties": target_properties(),
                "additionalProperties": false
            }),
        },
        ToolDefinition {
            name: UPDATE_TASK,
            description: "Change one task: its title, description, priority, due date, tags or completion. Name it by id or by words from its title (title_match); only the fields given change.",
            parameters: json!({
                "type": "object",
                "properties": update,
                "additionalProperties": false
            }),
        },
        ToolDefinition {
            name: DELETE_TASK,
            description: "Delete one task for good. Name it by id or by words from its title.",
            parameters: json!({
                "type": "object",
                "properties": target_properties(),
                "additionalProperties": false
            }),
        },
    ]
}

/// How a tool call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeStatus {
    /// Done.
    Ok,
    /// Unknown tool, malformed or invalid arguments; nothing changed.
    Invalid,
    /// No task of the user matches; nothing changed.
    NotFound,
    /// Several tasks match the title; nothing changed, `candidates` lists them.
    Ambiguous,
    /// The task store could not be reached; nothing changed.
    Failed,
}

/// A task as tool outcomes show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ToolTask {
    /// Task id.
    pub id: i64,
    /// Title.
    pub title: String,
    /// Whether it is done.
    pub completed: bool,
    /// low, medium or high.
    pub priority: Priority,
    /// Due date, if any.
    pub due_date: Option<NaiveDate>,
}

impl From<&TaskRow> for ToolTask {
    fn from(row: &TaskRow) -> Self {
        Self {
            id: row.id,
            title: row.title.clone(),
            completed: row.completed,
            priority: Priority::from_i16(row.priority),
            due_date: row.due_date,
        }
    }
}

/// The result of one tool call, as reported to the model, the MCP client and the API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ToolOutcome {
    /// How the call ended.
    pub status: OutcomeStatus,
    /// What happened, in a sentence (or a question when the task is ambiguous).
    pub message: String,
    /// The task created or changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<ToolTask>,
    /// The tasks listed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tasks: Option<Vec<ToolTask>>,
    /// The tasks a title matched, when it matched more than one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub candidates: Option<Vec<ToolTask>>,
    /// Per-argument messages, when arguments were invalid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fields: Option<BTreeMap<String, String>>,
}

impl ToolOutcome {
    fn new(status: OutcomeStatus, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            task: None,
            tasks: None,
            candidates: None,
            fields: None,
        }
    }

    fn ok(message: impl Into<String>, task: &TaskRow) -> Self {
        Self {
            task: Some(task.into()),
            ..Self::new(OutcomeStatus::Ok, message)
        }
    }

    /// An outcome for arguments or a tool name that cannot be used.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(OutcomeStatus::Invalid, message)
    }

    fn invalid_fields(errors: &FieldErrors) -> Self {
        let details: Vec<String> = errors
            .as_map()
            .iter()
            .map(|(field, message)| format!("{field}: {message}"))
            .collect();
        Self {
            fields: Some(errors.as_map().clone()),
            ..Self::invalid(format!(
                "Some arguments are invalid ({}). Nothing was changed.",
                details.join("; ")
            ))
        }
    }

    fn failed() -> Self {
        Self::new(
            OutcomeStatus::Failed,
            "The task list could not be reached just now; nothing was changed. Try again shortly.",
        )
    }

    /// True when the call did what was asked.
    pub fn is_ok(&self) -> bool {
        self.status == OutcomeStatus::Ok
    }

    /// The outcome without task lists, for the history sent back to a model.
    pub fn summary(&self) -> Value {
        json!({"status": self.status, "message": self.message})
    }
}

/// One tool call and how it ended, as stored with the assistant's reply and reported by the API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ToolCallRecord {
    /// The tool's name, as the caller gave it.
    pub name: String,
    /// The arguments as given (a JSON object, or a string when they were not valid JSON).
    #[schema(value_type = Object)]
    pub arguments: Value,
    /// How the call ended.
    pub outcome: ToolOutcome,
}

/// Runs the task tools against the database, always for one given user.
#[derive(Clone)]
pub struct TaskTools {
    pool: DbPool,
}

impl std::fmt::Debug for TaskTools {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskTools").finish_non_exhaustive()
    }
}

/// Why a step of a tool could not run: the answer to give instead.
type Refusal = Box<ToolOutcome>;

fn store_failure(err: &dyn std::fmt::Display) -> Refusal {
    tracing::warn!(error = %err, "a task tool could not reach the database");
    Box::new(ToolOutcome::failed())
}

impl TaskTools {
    /// Tools working on the tasks in `pool`.
    pub fn new(pool: DbPool) -> Self {
        Self { pool }
    }

    /// True when `name` is one of the five tools.
    pub fn knows(name: &str) -> bool {
        definitions().iter().any(|tool| tool.name == name)
    }

    /// Runs tool `name` with `arguments` (a JSON object; null counts as `{}`) for `user_id`.
    pub async fn call(&self, user_id: Uuid, name: &str, arguments: &Value) -> ToolOutcome {
        let result = match name {
            ADD_TASK => self.add(user_id, arguments).await,
            LIST_TASKS => self.list(user_id, arguments).await,
            COMPLETE_TASK => self.complete(user_id, arguments).await,
            UPDATE_TASK => self.update(user_id, arguments).await,
            DELETE_TASK => self.delete(user_id, arguments).await,
            other => Err(Box::new(ToolOutcome::invalid(format!(
                "There is no tool named `{other}`. The tools are: {}.",
                definitions()
                    .iter()
                    .map(|tool| tool.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            )))),
        };
        result.unwrap_or_else(|refusal| *refusal)
    }

    async fn connection(&self) -> Result<Object<AsyncPgConnection>, Refusal> {
        self.pool.get().await.map_err(|err| store_failure(&err))
    }

    async fn add(&self, user_id: Uuid, arguments: &Value) -> Result<ToolOutcome, Refusal> {
        let args: AddTaskArgs = parse_arguments(ADD_TASK, arguments)?;
        let mut errors = FieldErrors::default();
        let title = errors.check("title", TaskTitle::parse(&args.title));
        let description = match args.description.as_deref() {
            None => Some(None),
            Some(raw) => errors.check("description", TaskDescription::parse(raw)),
        };
        let priority = match args.priority.as_deref() {
            None => Some(Priority::default()),
            Some(raw) => errors.check("priority", Priority::parse(raw)),
        };
        let due_date = optional_date(&mut errors, args.due_date.as_deref());
        let tags = errors.check(
            "tags",
            TaskTags::parse(args.tags.as_deref().unwrap_or_default()),
        );
        let (Some(title), Some(description), Some(priority), Some(due_date), Some(tags)) =
            (title, description, priority, due_date, tags)
        else {
            return Err(Box::new(ToolOutcome::invalid_fields(&errors)));
        };
        let new = NewTask {
            user_id,
            title: title.into_inner(),
            description: description.map(TaskDescription::into_inner),
            completed: false,
            priority: priority.as_i16(),
            due_date,
            tags: tags.into_inner(),
        };
        let mut conn = self.connection().await?;
        let row = repo::tasks::insert(&mut conn, &new)
            .await
            .map_err(|err| store_failure(&err))?;
        Ok(ToolOutcome::ok(
            format!("Created task {}.", line(&row)),
            &row,
        ))
    }

    async fn list(&self, user_id: Uuid, arguments: &Value) -> Result<ToolOutcome, Refusal> {
        let args: ListTasksArgs = parse_arguments(LIST_TASKS, arguments)?;
        let mut errors = FieldErrors::default();
        let status = errors
            .check("status", StatusFilter::parse(args.status.as_deref()))
            .unwrap_or_default();
        let search = errors
            .check(
                "search",
                crate::repo::tasks::parse_search(args.search.as_deref()),
            )
            .flatten();
        if !errors.is_empty() {
            return Err(Box::new(ToolOutcome::invalid_fields(&errors)));
        }
        let query = ListQuery {
            status,
            priority: None,
            tag: None,
            search: search.clone(),
            due_before: None,
            due_after: None,
            sort: SortField::Created,
            order: SortOrder::Desc,
            limit: LIST_LIMIT,
            offset: 0,
        };
        let mut conn = self.connection().await?;
        let (rows, total) = repo::tasks::list(&mut conn, user_id, &query)
            .await
            .map_err(|err| store_failure(&err))?;
        let kind = match status {
            StatusFilter::All => "",
            StatusFilter::Pending => "pending ",
            StatusFilter::Completed => "completed ",
        };
        let matching = search
            .as_deref()
            .map(|text| format!(" matching \"{text}\""))
            .unwrap_or_default();
        let mut message = match total {
            0 => format!("No {kind}tasks{matching}."),
            1 => format!("1 {kind}task{matching}:"),
            n => format!("{n} {kind}tasks{matching}:"),
        };
        for row in &rows {
            message.push('\n');
            message.push_str(&line(row));
        }
        if total > LIST_LIMIT {
            message.push_str(&format!("\n(showing the newest {LIST_LIMIT})"));
        }
        Ok(ToolOutcome {
            tasks: Some(rows.iter().map(ToolTask::from).collect()),
            ..ToolOutcome::new(OutcomeStatus::Ok, message)
        })
    }

    async fn complete(&self, user_id: Uuid, arguments: &Value) -> Result<ToolOutcome, Refusal> {
        let args: TargetArgs = parse_arguments(COMPLETE_TASK, arguments)?;
        let target = args.target()?;
        let mut conn = self.connection().await?;
        let task = resolve(&mut conn, user_id, &target).await?;
        if task.completed {
            return Ok(ToolOutcome::ok(
                format!("Task {} was already completed.", describe(&task)),
                &task,
            ));
        }
        let changes = TaskChanges {
            completed: Some(true),
            ..TaskChanges::default()
        };
        let row = repo::tasks::update(&mut conn, user_id, task.id, &changes)
            .await
            .map_err(|err| not_found_or_failure(&err, &target))?;
        Ok(ToolOutcome::ok(
            format!("Marked task {} as completed.", describe(&row)),
            &row,
        ))
    }

    async fn update(&self, user_id: Uuid, arguments: &Value) -> Result<ToolOutcome, Refusal> {
        let args: UpdateTaskArgs = parse_arguments(UPDATE_TASK, arguments)?;
        let target = TargetArgs {
            id: args.id,
            title_match: args.title_match.clone(),
        }
        .target()?;
        let (changes, changed) = args.changes()?;
        let mut conn = self.connection().await?;
        let task = resolve(&mut conn, user_id, &target).await?;
        let row = repo::tasks::update(&mut conn, user_id, task.id, &changes)
            .await
            .map_err(|err| not_found_or_failure(&err, &target))?;
        Ok(ToolOutcome::ok(
            format!(
                "Updated task {} (changed: {}).",
                describe(&row),
                changed.join(", ")
            ),
            &row,
        ))
    }

    async fn delete(&self, user_id: Uuid, arguments: &Value) -> Result<ToolOutcome, Refusal> {
        let args: TargetArgs = parse_arguments(DELETE_TASK, arguments)?;
        let target = args.target()?;
        let mut conn = self.connection().await?;
        let task = resolve(&mut conn, user_id, &target).await?;
        let deleted = repo::tasks::delete(&mut conn, user_id, task.id)
            .await
            .map_err(|err| store_failure(&err))?;
        if !deleted {
            return Err(Box::new(target.not_found()));
        }
        Ok(ToolOutcome::ok(
            format!("Deleted task {}.", describe(&task)),
            &task,
        ))
    }
}

/// `#12 "Buy milk"`.
fn describe(task: &TaskRow) -> String {
    format!("#{} \"{}\"", task.id, task.title)
}

/// One line of a listing: `#12 "Buy milk" (open, due 2026-11-28, high priority)`.
fn line(task: &TaskRow) -> String {
    let mut notes = vec![if task.completed { "done" } else { "open" }.to_owned()];
    if let Some(due) = task.due_date {
        notes.push(format!("due {due}"));
    }
    match Priority::from_i16(task.priority) {
        Priority::High => notes.push("high priority".to_owned()),
        Priority::Low => notes.push("low priority".to_owned()),
        Priority::Medium => {}
    }
    format!("{} ({})", describe(task), notes.join(", "))
}

/// Reads a tool's arguments; `null` counts as no arguments.
fn parse_arguments<T: DeserializeOwned>(tool: &str, arguments: &Value) -> Result<T, Refusal> {
    let value = match arguments {
        Value::Null => json!({}),
        other => other.clone(),
    };
    if !value.is_object() {
        return Err(Box::new(ToolOutcome::invalid(format!(
            "The arguments of {tool} must be a JSON object. Nothing was changed."
        ))));
    }
    serde_json::from_value(value).map_err(|err| {
        Box::new(ToolOutcome::invalid(format!(
            "The arguments do not fit {tool}: {err}. Nothing was changed."
        )))
    })
}

/// A due date argument: absent or blank means none.
fn optional_date(errors: &mut FieldErrors, raw: Option<&str>) -> Option<Option<NaiveDate>> {
    match raw {
        None => Some(None),
        Some(raw) if raw.trim().is_empty() => Some(None),
        Some(raw) => errors
            .check("due_date", parse_date("due_date", raw))
            .map(Some),
    }
}

/// Accepts an id written as a number or as a string of digits (`"#12"` included).
fn lenient_id<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Number(i64),
        Text(String),
    }
    match Option::<Raw>::deserialize(deserializer)? {
        None => Ok(None),
        Some(Raw::Number(id)) => Ok(Some(id)),
        Some(Raw::Text(text)) => text
            .trim()
            .trim_start_matches('#')
            .parse()
            .map(Some)
            .map_err(|_| serde::de::Error::custom("id must be a whole number")),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AddTaskArgs {
    #[serde(default)]
    title: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    priority: Option<String>,
    #[serde(default)]
    due_date: Option<String>,
    #[serde(default)]
    tags: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListTasksArgs {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    search: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TargetArgs {
    #[serde(default, deserialize_with = "lenient_id")]
    id: Option<i64>,
    #[serde(default)]
    title_match: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateTaskArgs {
    #[serde(default, deserialize_with = "lenient_id")]
    id: Option<i64>,
    #[serde(default)]
    title_match: Option<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    priority: Option<String>,
    #[serde(default)]
    due_date: Option<String>,
    #[serde(default)]
    tags: Option<Vec<String>>,
    #[serde(default)]
    completed: Option<bool>,
}

impl UpdateTaskArgs {
    /// The validated changes and the names of the fields they touch.
    fn changes(&self) -> Result<(TaskChanges, Vec<&'static str>), Refusal> {
        let mut errors = FieldErrors::default();
        let mut changes = TaskChanges::default();
        let mut changed = Vec::new();
        if let Some(raw) = &self.title {
            changes.title = errors
                .check("title", TaskTitle::parse(raw))
                .map(TaskTitle::into_inner);
            changed.push("title");
        }
        if let Some(raw) = &self.description {
            changes.description = errors
                .check("description", TaskDescription::parse(raw))
                .map(|d| d.map(TaskDescription::into_inner));
            changed.push("description");
        }
        if let Some(raw) = &self.priority {
            changes.priority = errors
                .check("priority", Priority::parse(raw))
                .map(Priority::as_i16);
            changed.push("priority");
        }
        if self.due_date.is_some() {
            changes.due_date = optional_date(&mut errors, self.due_date.as_deref());
            changed.push("due_date");
        }
        if let Some(raw) = &self.tags {
            changes.tags = errors
                .check("tags", TaskTags::parse(raw))
                .map(TaskTags::into_inner);
            changed.push("tags");
        }
        if let Some(done) = self.completed {
            changes.completed = Some(done);
            changed.push("completed");
        }
        if !errors.is_empty() {
            return Err(Box::new(ToolOutcome::invalid_fields(&errors)));
        }
        if changed.is_empty() {
            return Err(Box::new(ToolOutcome::invalid(
                "Nothing to change: give at least one of title, description, priority, due_date, tags or completed.",
            )));
        }
        Ok((changes, changed))
    }
}

/// Which task a call is about.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    Id(i64),
    Title(String),
}

impl TargetArgs {
    fn target(&self) -> Result<Target, Refusal> {
        if let Some(id) = self.id {
            return Ok(Target::Id(id));
        }
        match self.title_match.as_deref().map(str::trim) {
            Some(text) if text.chars().count() > TaskTitle::MAX_CHARS => Err(Box::new(
                ToolOutcome::invalid("title_match must be at most 200 characters."),
            )),
            Some(text) if !text.is_empty() => Ok(Target::Title(text.to_owned())),
            _ => Err(Box::new(ToolOutcome::invalid(
                "Say which task: give its id, or words from its title as title_match. Nothing was changed.",
            ))),
        }
    }
}

impl Target {
    fn not_found(&self) -> ToolOutcome {
        let message = match self {
            Self::Id(id) => format!("There is no task #{id}. Nothing was changed."),
            Self::Title(text) => {
                format!("No task has a title matching \"{text}\". Nothing was changed.")
            }
        };
        ToolOutcome::new(OutcomeStatus::NotFound, message)
    }
}

fn not_found_or_failure(err: &diesel::result::Error, target: &Target) -> Refusal {
    match err {
        diesel::result::Error::NotFound => Box::new(target.not_found()),
        other => store_failure(other),
    }
}

/// Finds the one task of the user that `target` names. A title matches a task whose title
/// equals it (ignoring letter case), otherwise any task whose title contains it; more than
/// one match is answered with the candidates, never with a guess.
async fn resolve(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    target: &Target,
) -> Result<TaskRow, Refusal> {
    match target {
        Target::Id(id) => repo::tasks::find(conn, user_id, *id)
            .await
            .map_err(|err| not_found_or_failure(&err, target)),
        Target::Title(text) => {
            let matches = repo::tasks::matching_title(conn, user_id, text, CANDIDATE_LIMIT)
                .await
                .map_err(|err| store_failure(&err))?;
            let wanted = text.to_lowercase();
            let exact: Vec<&TaskRow> = matches
                .iter()
                .filter(|task| task.title.to_lowercase() == wanted)
                .collect();
            let candidates: Vec<&TaskRow> = if exact.is_empty() {
                matches.iter().collect()
            } else {
                exact
            };
            match candidates.as_slice() {
                [] => Err(Box::new(target.not_found())),
                [only] => Ok((*only).clone()),
                several => Err(Box::new(ambiguous(text, several))),
            }
        }
    }
}

fn ambiguous(text: &str, candidates: &[&TaskRow]) -> ToolOutcome {
    let listed: Vec<String> = candidates.iter().map(|task| line(task)).collect();
    let more = if i64::try_from(candidates.len()).unwrap_or(i64::MAX) >= CANDIDATE_LIMIT {
        " (and possibly more)"
    } else {
        ""
    };
    ToolOutcome {
        candidates: Some(
            candidates
                .iter()
                .map(|task| ToolTask::from(*task))
                .collect(),
        ),
        ..ToolOutcome::new(
            OutcomeStatus::Ambiguous,
            format!(
                "Several tasks match \"{text}\"{more}: {}. Which one do you mean? Nothing was changed; name it by its number.",
                listed.join("; ")
            ),
        )
    }
}

/// Today's date for relative dates ("tomorrow"); UTC, like the overdue count.
pub fn today() -> NaiveDate {
    Utc::now().date_naive()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn there_are_five_tools_each_with_an_object_schema() {
        let names: Vec<&str> = definitions().iter().map(|tool| tool.name).collect();
        assert_eq!(
            names,
            [
                ADD_TASK,
                LIST_TASKS,
                COMPLETE_TASK,
                UPDATE_TASK,
                DELETE_TASK
            ]
        );
        for tool in definitions() {
            assert_eq!(tool.parameters["type"], "object", "{}", tool.name);
            assert_eq!(
                tool.parameters["additionalProperties"], false,
                "{}",
                tool.name
            );
            assert!(
                tool.parameters
                    .get("properties")
                    .is_some_and(Value::is_object),
                "{}",
                tool.name
            );
            assert!(
                !tool.parameters["properties"]
                    .as_object()
                    .is_some_and(|p| p.contains_key("user_id")),
                "no tool lets the caller name a user"
            );
        }
    }

    #[test]
    fn arguments_must_be_an_object_of_known_fields() {
        let cases = [
            (json!([1, 2]), "must be a JSON object"),
            (json!("buy milk"), "must be a JSON object"),
            (
                json!({"title": "x", "owner": "bob"}),
                "unknown field `owner`",
            ),
            (json!({"title": 5}), "invalid type"),
        ];
        for (arguments, expected) in cases {
            let refusal = parse_arguments::<AddTaskArgs>(ADD_TASK, &arguments).unwrap_err();
            assert_eq!(refusal.status, OutcomeStatus::Invalid, "{arguments}");
            assert!(
                refusal.message.contains(expected),
                "{arguments}: {}",
                refusal.message
            );
        }
        let none: ListTasksArgs = parse_arguments(LIST_TASKS, &Value::Null).unwrap();
        assert!(none.status.is_none() && none.search.is_none());
    }

    #[test]
    fn a_target_is_an_id_or_title_words_and_the_id_wins() {
        let target = |value: Value| {
            serde_json::from_value::<TargetArgs>(value)
                .map_err(|err| err.to_string())
                .and_then(|args| args.target().map_err(|refusal| refusal.message.clone()))
        };
        assert_eq!(target(json!({"id": 3})), Ok(Target::Id(3)));
        assert_eq!(target(json!({"id": "#7"})), Ok(Target::Id(7)));
        assert_eq!(
            target(json!({"title_match": "  milk "})),
            Ok(Target::Title("milk".to_owned()))
        );
        assert_eq!(
            target(json!({"id": 4, "title_match": "milk"})),
            Ok(Target::Id(4))
        );
        for missing in [json!({}), json!({"title_match": " "})] {
            let err = target(missing.clone()).unwrap_err();
            assert!(err.starts_with("Say which task"), "{missing}: {err}");
        }
        assert!(target(json!({"id": "three"})).is_err());
    }

    #[test]
    fn update_arguments_are_checked_like_the_rest_api() {
        let args: UpdateTaskArgs = serde_json::from_value(json!({
            "id": 1, "title": " ", "priority": "urgent", "due_date": "tomorrow"
        }))
        .unwrap();
        let refusal = args.changes().unwrap_err();
        let fields = refusal.fields.clone().unwrap();
        assert_eq!(fields["title"], "title must not be blank");
        assert_eq!(
            fields["priority"],
            "priority must be one of: low, medium, high"
        );
        assert_eq!(
            fields["due_date"],
            "due_date must be a date in the form YYYY-MM-DD"
        );

        let nothing: UpdateTaskArgs = serde_json::from_value(json!({"id": 1})).unwrap();
        assert!(
            nothing
                .changes()
                .unwrap_err()
                .message
                .starts_with("Nothing to change")
        );

        let clear: UpdateTaskArgs =
            serde_json::from_value(json!({"id": 1, "description": "", "due_date": ""})).unwrap();
        let (changes, changed) = clear.changes().unwrap();
        assert_eq!(changes.description, Some(None));
        assert_eq!(changes.due_date, Some(None));
        assert_eq!(changed, ["description", "due_date"]);
    }

    #[test]
    fn outcomes_serialise_without_empty_parts() {
        let outcome = ToolOutcome::invalid("nope");
        assert_eq!(
            serde_json::to_value(&outcome).unwrap(),
            json!({"status": "invalid", "message": "nope"})
        );
        let back: ToolOutcome =
            serde_json::from_value(json!({"status": "not_found", "message": "gone"})).unwrap();
        assert_eq!(back.status, OutcomeStatus::NotFound);
    }
}
