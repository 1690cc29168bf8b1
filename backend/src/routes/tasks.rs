//! The signed-in user's tasks. The owner always comes from the token.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::paging::{page_and_limit, total_pages};
use crate::auth::AuthUser;
use crate::db::DbPool;
use crate::domain::{
    FieldErrors, Invalid, Priority, TaskDescription, TaskTags, TaskTitle, parse_date,
};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{AppJson, AppPath, AppQuery};
use crate::repo;
use crate::repo::tasks::{
    ListQuery, NewTask, SortField, SortOrder, StatusFilter, TaskChanges, TaskRow,
};
use crate::state::AppState;

mod json;

/// Tasks per page when `limit` is not given.
pub const DEFAULT_PAGE_SIZE: i64 = 20;

/// Routes under `/api/tasks`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(tasks_list).post(tasks_create))
        .route("/stats", get(tasks_stats))
        .route(
            "/{id}",
            get(tasks_get).patch(tasks_update).delete(tasks_delete),
        )
}

/// A task as the API returns it.
#[derive(Debug, Serialize, ToSchema)]
pub struct TaskResponse {
    /// Task id.
    pub id: i64,
    /// Title, 1–200 characters.
    pub title: String,
    /// Description, up to 1000 characters, or null.
    pub description: Option<String>,
    /// Whether the task is done.
    pub completed: bool,
    /// low, medium or high.
    pub priority: Priority,
    /// Due date (YYYY-MM-DD), or null.
    #[serde(serialize_with = "date_text")]
    pub due_date: Option<NaiveDate>,
    /// Labels, lower-case.
    pub tags: Vec<String>,
    /// Creation time (RFC 3339, UTC).
    #[serde(serialize_with = "timestamp_text")]
    pub created_at: DateTime<Utc>,
    /// Last change (RFC 3339, UTC).
    #[serde(serialize_with = "timestamp_text")]
    pub updated_at: DateTime<Utc>,
}

// chrono serialises dates and times character by character through serde's string adapter,
// which was the largest single cost of a list of 100 tasks (see docs/performance.md).
// Formatting on the stack first and writing that once gives exactly the same text.

fn timestamp_text<S: serde::Serializer>(
    at: &DateTime<Utc>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(json::TimestampText::new(at).as_str())
}

fn date_text<S: serde::Serializer>(
    date: &Option<NaiveDate>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match date {
        Some(date) => serializer.serialize_str(json::DateText::new(*date).as_str()),
        None => serializer.serialize_none(),
    }
}

impl From<TaskRow> for TaskResponse {
    fn from(row: TaskRow) -> Self {
        Self {
            id: row.id,
            title: row.title,
            description: row.description,
            completed: row.completed,
            priority: Priority::from_i16(row.priority),
            due_date: row.due_date,
            tags: row.tags,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// One page of tasks.
#[derive(Debug, Serialize, ToSchema)]
pub struct TaskListResponse {
    /// The tasks on this page.
    pub tasks: Vec<TaskResponse>,
    /// Tasks matching the filters, over all pages.
    pub total: i64,
    /// This page's number, from 1.
    pub page: i64,
    /// Page size.
    pub limit: i64,
    /// Number of pages (0 when nothing matches).
    pub total_pages: i64,
}

/// Counts of the user's tasks.
#[derive(Debug, Serialize, ToSchema)]
pub struct TaskStatsResponse {
    /// All tasks.
    pub total: i64,
    /// Completed tasks.
    pub completed: i64,
    /// Tasks not completed.
    pub pending: i64,
    /// Tasks not completed whose due date is before today (UTC).
    pub overdue: i64,
}

/// Query parameters of `GET /api/tasks`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TaskListParams {
    /// `all` (default), `pending` or `completed`.
    status: Option<String>,
    /// `low`, `medium` or `high`.
    priority: Option<String>,
    /// Only tasks carrying this tag.
    tag: Option<String>,
    /// Text to find in the title or description (case-insensitive).
    search: Option<String>,
    /// Only tasks due strictly before this date (YYYY-MM-DD).
    due_before: Option<String>,
    /// Only tasks due strictly after this date (YYYY-MM-DD).
    due_after: Option<String>,
    /// `created` (default), `updated`, `due`, `priority` or `title`.
    sort: Option<String>,
    /// `asc` or `desc`; defaults to `desc` for created/updated/priority and `asc` for due/title.
    order: Option<String>,
    /// Page number, from 1 (default 1).
    page: Option<String>,
    /// Page size, 1–100 (default 20).
    limit: Option<String>,
}

/// Body of `POST /api/tasks`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTaskRequest {
    /// Title, 1–200 characters after trimming.
    #[serde(default)]
    title: String,
    /// Description, up to 1000 characters; blank or null means none.
    #[serde(default)]
    description: Option<String>,
    /// `low`, `medium` (default) or `high`.
    #[serde(default)]
    #[schema(value_type = Option<Priority>)]
    priority: Option<String>,
    /// Due date, YYYY-MM-DD; an empty string or null means none.
    #[serde(default)]
    #[schema(value_type = Option<String>, pattern = r"^(\d{4}-\d{2}-\d{2})?$")]
    due_date: Option<String>,
    /// Up to 10 labels of at most 30 characters.
    #[serde(default)]
    tags: Option<Vec<String>>,
    /// Whether the task starts completed (default false).
    #[serde(default)]
    completed: Option<bool>,
}

/// Body of `PATCH /api/tasks/{id}`: only the fields sent change; `null` clears
/// `description` and `due_date`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTaskRequest {
    /// New title.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    title: Option<Option<String>>,
    /// New description; null or blank clears it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    description: Option<Option<String>>,
    /// New priority.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Priority>)]
    priority: Option<Option<String>>,
    /// New due date (YYYY-MM-DD); null or an empty string clears it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, pattern = r"^(\d{4}-\d{2}-\d{2})?$")]
    due_date: Option<Option<String>>,
    /// New labels (replace the old ones); null or [] clears them.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Vec<String>>)]
    tags: Option<Option<Vec<String>>>,
    /// Mark complete (true) or not (false).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<bool>)]
    completed: Option<Option<bool>>,
}

/// Tells a field sent as `null` (`Some(None)`) from one not sent (`None`, via `default`).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(deserializer).map(Some)
}

impl TaskListParams {
    fn parse(self) -> Result<(ListQuery, i64), ApiError> {
        let mut errors = FieldErrors::default();
        let status = errors
            .check("status", StatusFilter::parse(self.status.as_deref()))
            .unwrap_or_default();
        let priority = self
            .priority
            .as_deref()
            .filter(|raw| !raw.trim().is_empty())
            .and_then(|raw| errors.check("priority", Priority::parse(raw)));
        let tag = self
            .tag
            .as_deref()
            .filter(|raw| !raw.trim().is_empty())
            .and_then(|raw| errors.check("tag", TaskTags::parse_one(raw)));
        let search = errors
            .check("search", repo::tasks::parse_search(self.search.as_deref()))
            .flatten();
        let due_before = self
            .due_before
            .as_deref()
            .filter(|raw| !raw.trim().is_empty())
            .and_then(|raw| errors.check("due_before", parse_date("due_before", raw)));
        let due_after = self
            .due_after
            .as_deref()
            .filter(|raw| !raw.trim().is_empty())
            .and_then(|raw| errors.check("due_after", parse_date("due_after", raw)));
        let sort = match self.sort.as_deref().map(str::trim) {
            None | Some("" | "created") => SortField::Created,
            Some("updated") => SortField::Updated,
            Some("due") => SortField::Due,
            Some("priority") => SortField::Priority,
            Some("title") => SortField::Title,
            Some(_) => {
                errors.add(
                    "sort",
                    Invalid::new("sort must be one of: created, updated, due, priority, title"),
                );
                SortField::Created
            }
        };
        let order = match self.order.as_deref().map(str::trim) {
            None | Some("") => match sort {
                SortField::Due | SortField::Title => SortOrder::Asc,
                SortField::Created | SortField::Updated | SortField::Priority => SortOrder::Desc,
            },
            Some("asc") => SortOrder::Asc,
            Some("desc") => SortOrder::Desc,
            Some(_) => {
                errors.add("order", Invalid::new("order must be asc or desc"));
                SortOrder::Desc
            }
        };
        let paging = page_and_limit(
            self.page.as_deref(),
            self.limit.as_deref(),
            DEFAULT_PAGE_SIZE,
            &mut errors,
        );
        let Some((page, limit)) = paging else {
            return Err(ApiError::Validation(errors));
        };
        if !errors.is_empty() {
            return Err(ApiError::Validation(errors));
        }
        let query = ListQuery {
            status,
            priority,
            tag,
            search,
            due_before,
            due_after,
            sort,
            order,
            limit,
            offset: (page - 1) * limit,
        };
        Ok((query, page))
    }
}

/// List the user's tasks, newest first unless sorted otherwise.
#[utoipa::path(
    get, path = "/api/tasks", tag = "tasks",
    security(("bearer" = [])),
    params(TaskListParams),
    responses(
        (status = 200, description = "One page of tasks", body = TaskListResponse),
        (status = 400, description = "Unknown query parameter", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 422, description = "Invalid filter, sort or page", body = ErrorBody),
    )
)]
async fn tasks_list(
    State(pool): State<DbPool>,
    user: AuthUser,
    AppQuery(params): AppQuery<TaskListParams>,
) -> Result<Response, ApiError> {
    let (query, page) = params.parse()?;
    let mut conn = pool.get().await?;
    let (rows, total) = repo::tasks::list(&mut conn, user.id, &query).await?;
    drop(conn);
    let list = TaskListResponse {
        tasks: rows.into_iter().map(TaskResponse::from).collect(),
        total,
        page,
        limit: query.limit,
        total_pages: total_pages(total, query.limit),
    };
    // The same text and header as `Json(list)`, written directly (see `json`).
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        list.to_json(),
    )
        .into_response())
}

/// Create a task.
#[utoipa::path(
    post, path = "/api/tasks", tag = "tasks",
    security(("bearer" = [])),
    request_body = CreateTaskRequest,
    responses(
        (status = 201, description = "Created; `Location` points at the task", body = TaskResponse),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody),
    )
)]
async fn tasks_create(
    State(pool): State<DbPool>,
    user: AuthUser,
    AppJson(body): AppJson<CreateTaskRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let mut errors = FieldErrors::default();
    let title = errors.check("title", TaskTitle::parse(&body.title));
    let description = match body.description.as_deref() {
        None => Some(None),
        Some(raw) => errors.check("description", TaskDescription::parse(raw)),
    };
    let priority = match body.priority.as_deref() {
        None => Some(Priority::default()),
        Some(raw) => errors.check("priority", Priority::parse(raw)),
    };
    let due_date = match body.due_date.as_deref() {
        None => Some(None),
        Some(raw) if raw.trim().is_empty() => Some(None),
        Some(raw) => errors
            .check("due_date", parse_date("due_date", raw))
            .map(Some),
    };
    let tags = errors.check(
        "tags",
        TaskTags::parse(body.tags.as_deref().unwrap_or_default()),
    );
    let (Some(title), Some(description), Some(priority), Some(due_date), Some(tags)) =
        (title, description, priority, due_date, tags)
    else {
        return Err(ApiError::Validation(errors));
    };
    let new = NewTask {
        user_id: user.id,
        title: title.into_inner(),
        description: description.map(TaskDescription::into_inner),
        completed: body.completed.unwrap_or(false),
        priority: priority.as_i16(),
        due_date,
        tags: tags.into_inner(),
    };
    let mut conn = pool.get().await?;
    let row = repo::tasks::insert(&mut conn, &new).await?;
    let location = format!("/api/tasks/{}", row.id);
    Ok((
        StatusCode::CREATED,
        [(http::header::LOCATION, location)],
        Json(TaskResponse::from(row)),
    ))
}

/// One task.
#[utoipa::path(
    get, path = "/api/tasks/{id}", tag = "tasks",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Task id")),
    responses(
        (status = 200, description = "The task", body = TaskResponse),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No such task for this user", body = ErrorBody),
    )
)]
async fn tasks_get(
    State(pool): State<DbPool>,
    user: AuthUser,
    AppPath(id): AppPath<i64>,
) -> Result<Json<TaskResponse>, ApiError> {
    let mut conn = pool.get().await?;
    Ok(Json(
        repo::tasks::find(&mut conn, user.id, id).await?.into(),
    ))
}

/// Change some fields of a task.
#[utoipa::path(
    patch, path = "/api/tasks/{id}", tag = "tasks",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Task id")),
    request_body = UpdateTaskRequest,
    responses(
        (status = 200, description = "The updated task", body = TaskResponse),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No such task for this user", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody),
    )
)]
async fn tasks_update(
    State(pool): State<DbPool>,
    user: AuthUser,
    AppPath(id): AppPath<i64>,
    AppJson(body): AppJson<UpdateTaskRequest>,
) -> Result<Json<TaskResponse>, ApiError> {
    let changes = body.into_changes()?;
    let mut conn = pool.get().await?;
    Ok(Json(
        repo::tasks::update(&mut conn, user.id, id, &changes)
            .await?
            .into(),
    ))
}

impl UpdateTaskRequest {
    fn into_changes(self) -> Result<TaskChanges, ApiError> {
        let mut errors = FieldErrors::default();
        let mut changes = TaskChanges::default();
        match self.title {
            None => {}
            Some(None) => errors.add("title", Invalid::new("title must not be null")),
            Some(Some(raw)) => {
                changes.title = errors
                    .check("title", TaskTitle::parse(&raw))
                    .map(TaskTitle::into_inner)
            }
        }
        match self.description {
            None => {}
            Some(None) => changes.description = Some(None),
            Some(Some(raw)) => {
                changes.description = errors
                    .check("description", TaskDescription::parse(&raw))
                    .map(|d| d.map(TaskDescription::into_inner));
            }
        }
        match self.priority {
            None => {}
            Some(None) => errors.add(
                "priority",
                Invalid::new("priority must be one of: low, medium, high"),
            ),
            Some(Some(raw)) => {
                changes.priority = errors
                    .check("priority", Priority::parse(&raw))
                    .map(Priority::as_i16)
            }
        }
        match self.due_date {
            None => {}
            Some(None) => changes.due_date = Some(None),
            Some(Some(raw)) if raw.trim().is_empty() => changes.due_date = Some(None),
            Some(Some(raw)) => {
                changes.due_date = errors
                    .check("due_date", parse_date("due_date", &raw))
                    .map(Some)
            }
        }
        match self.tags {
            None => {}
            Some(None) => changes.tags = Some(Vec::new()),
            Some(Some(raw)) => {
                changes.tags = errors
                    .check("tags", TaskTags::parse(&raw))
                    .map(TaskTags::into_inner)
            }
        }
        match self.completed {
            None => {}
            Some(None) => errors.add("completed", Invalid::new("completed must be true or false")),
            Some(Some(done)) => changes.completed = Some(done),
        }
        if errors.is_empty() {
            Ok(changes)
        } else {
            Err(ApiError::Validation(errors))
        }
    }
}

/// Delete a task.
#[utoipa::path(
    delete, path = "/api/tasks/{id}", tag = "tasks",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Task id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No such task for this user", body = ErrorBody),
    )
)]
async fn tasks_delete(
    State(pool): State<DbPool>,
    user: AuthUser,
    AppPath(id): AppPath<i64>,
) -> Result<StatusCode, ApiError> {
    let mut conn = pool.get().await?;
    if repo::tasks::delete(&mut conn, user.id, id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound)
    }
}

/// Counts of the user's tasks: total, completed, pending and overdue.
#[utoipa::path(
    get, path = "/api/tasks/stats", tag = "tasks",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The counts", body = TaskStatsResponse),
        (status = 401, description = "Not signed in", body = ErrorBody),
    )
)]
async fn tasks_stats(
    State(pool): State<DbPool>,
    user: AuthUser,
) -> Result<Json<TaskStatsResponse>, ApiError> {
    let mut conn = pool.get().await?;
    let counts = repo::tasks::counts(&mut conn, user.id, Utc::now().date_naive()).await?;
    Ok(Json(TaskStatsResponse {
        total: counts.total,
        completed: counts.completed,
        pending: counts.total - counts.completed,
        overdue: counts.overdue,
    }))
}

/// The OpenAPI paths of this module.
#[derive(Debug, utoipa::OpenApi)]
#[openapi(paths(
    tasks_list,
    tasks_create,
    tasks_get,
    tasks_update,
    tasks_delete,
    tasks_stats
))]
pub struct TasksApi;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tasks_serialise_their_dates_and_times_exactly_as_chrono_does() {
        let times = [
            "2026-11-27T01:02:03Z",
            "2026-11-27T01:02:03.120Z",
            "2026-11-27T01:02:03.123456Z",
            "2026-11-27T01:02:03.123456789Z",
        ];
        for time in times {
            let at: DateTime<Utc> = time.parse().unwrap();
            let task = TaskResponse {
                id: 1,
                title: "t".to_owned(),
                description: None,
                completed: false,
                priority: Priority::default(),
                due_date: Some(NaiveDate::from_ymd_opt(2027, 3, 4).unwrap()),
                tags: Vec::new(),
                created_at: at,
                updated_at: at,
            };
            let ours = serde_json::to_value(&task).unwrap();
            assert_eq!(
                ours["created_at"],
                serde_json::to_value(at).unwrap(),
                "{time}"
            );
            assert_eq!(
                ours["updated_at"],
                serde_json::to_value(at).unwrap(),
                "{time}"
            );
            assert_eq!(
                ours["due_date"],
                serde_json::to_value(task.due_date).unwrap()
            );
        }
        let undated = TaskResponse {
            due_date: None,
            ..TaskResponse::from(TaskRow {
                id: 2,
                user_id: uuid::Uuid::nil(),
                title: "u".to_owned(),
                description: None,
                completed: true,
                priority: 0,
                due_date: None,
                tags: Vec::new(),
                created_at: Utc::now(),
                updated_at: Utc::now(),
            })
        };
        assert!(serde_json::to_value(&undated).unwrap()["due_date"].is_null());
    }

    fn params(pairs: &[(&str, &str)]) -> TaskListParams {
        let query = pairs
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&");
        serde_urlencoded_from(&query)
    }

    fn serde_urlencoded_from(query: &str) -> TaskListParams {
        let uri: http::Uri = format!("/?{query}").parse().unwrap();
        axum::extract::Query::<TaskListParams>::try_from_uri(&uri)
            .unwrap()
            .0
    }

    #[test]
    fn defaults_list_newest_first_twenty_per_page() {
        let (query, page) = params(&[]).parse().unwrap();
        assert_eq!(
            (query.sort, query.order, query.limit, query.offset, page),
            (SortField::Created, SortOrder::Desc, 20, 0, 1)
        );
    }

    #[test]
    fn the_default_order_depends_on_the_sort_field() {
        assert_eq!(
            params(&[("sort", "title")]).parse().unwrap().0.order,
            SortOrder::Asc
        );
        assert_eq!(
            params(&[("sort", "due")]).parse().unwrap().0.order,
            SortOrder::Asc
        );
        assert_eq!(
            params(&[("sort", "priority")]).parse().unwrap().0.order,
            SortOrder::Desc
        );
    }

    #[test]
    fn pages_become_offsets() {
        let (query, page) = params(&[("page", "3"), ("limit", "50")]).parse().unwrap();
        assert_eq!((query.offset, query.limit, page), (100, 50, 3));
    }

    #[test]
    fn invalid_parameters_are_reported_per_field() {
        let cases: &[(&str, &str, &str)] = &[
            ("status", "done", "status must be one of"),
            ("priority", "urgent", "priority must be one of"),
            ("sort", "size", "sort must be one of"),
            ("order", "up", "order must be asc or desc"),
            ("limit", "101", "limit must be a whole number from 1 to 100"),
            ("limit", "0", "limit must be a whole number"),
            ("page", "-1", "page must be a whole number"),
            ("page", "x", "page must be a whole number"),
            ("due_before", "tomorrow", "due_before must be a date"),
            ("due_after", "2026-13-01", "due_after must be a date"),
        ];
        for (field, value, expected) in cases {
            let Err(ApiError::Validation(errors)) = params(&[(field, value)]).parse() else {
                panic!("{field}={value} should be rejected");
            };
            let message = &errors.as_map()[*field];
            assert!(message.starts_with(expected), "{field}={value}: {message}");
        }
    }

    #[test]
    fn dates_must_be_written_exactly_as_yyyy_mm_dd() {
        assert_eq!(
            parse_date("d", " 2026-02-28 ").unwrap(),
            NaiveDate::from_ymd_opt(2026, 2, 28).unwrap()
        );
        for raw in [
            "26-01-01",
            "2026-1-1",
            "2026-01-1",
            "+2026-01-01",
            "2026/01/01",
            "2026-02-30",
            "tomorrow",
            "",
        ] {
            assert!(parse_date("d", raw).is_err(), "{raw:?} should be rejected");
        }
    }
}
