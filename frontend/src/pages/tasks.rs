//! The tasks page and every task action. Each action is a plain form POST answered with a
//! 303 redirect; requests from our script get an HTML fragment to swap in instead.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use axum_extra::extract::cookie::CookieJar;
use chrono::Utc;
use http::{HeaderMap, StatusCode};
use serde::Deserialize;
use serde_json::json;

use super::{render, wants_fragment};
use crate::backend::{BackendClient, BackendError, Caller, NewTask, TaskPage};
use crate::csrf::CsrfToken;
use crate::error::PageError;
use crate::session::{CurrentUser, Flash, RequestInfo, safe_next, set_flash, take_flash};
use crate::state::CookieSettings;
use crate::views::{FieldErrors, Shell, StatsView, TaskForm, TaskView};

/// Filter, search, sort and page parameters of the list, as in the URL.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ListParams {
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub priority: String,
    #[serde(default)]
    pub tag: String,
    #[serde(default)]
    pub search: String,
    #[serde(default)]
    pub sort: String,
    #[serde(default)]
    pub order: String,
    #[serde(default)]
    pub page: String,
}

/// The filter form's current values.
#[derive(Debug, Clone)]
pub struct FilterView {
    pub status: String,
    pub priority: String,
    pub tag: String,
    pub search: String,
    pub sort: String,
    pub order: String,
    /// True when anything narrows or reorders the list.
    pub active: bool,
}

/// Pagination links.
#[derive(Debug, Clone, Default)]
pub struct PagesView {
    pub page: i64,
    pub total_pages: i64,
    pub total: i64,
    pub prev: Option<String>,
    pub next: Option<String>,
}

impl ListParams {
    fn pairs(&self) -> Vec<(&'static str, String)> {
        [
            ("status", &self.status),
            ("priority", &self.priority),
            ("tag", &self.tag),
            ("search", &self.search),
            ("sort", &self.sort),
            ("order", &self.order),
            ("page", &self.page),
        ]
        .into_iter()
        .map(|(key, value)| (key, value.trim().to_owned()))
        .filter(|(key, value)| {
            let default = (*key == "status" && value == "all") || (*key == "page" && value == "1");
            !value.is_empty() && !default
        })
        .collect()
    }

    /// `/tasks` with these parameters (and `page` replaced when given).
    fn url(&self, page: Option<i64>) -> String {
        let mut pairs = self.pairs();
        if let Some(page) = page {
            pairs.retain(|(key, _)| *key != "page");
            if page > 1 {
                pairs.push(("page", page.to_string()));
            }
        }
        if pairs.is_empty() {
            return "/tasks".to_owned();
        }
        let query: Vec<String> = pairs
            .iter()
            .map(|(key, value)| format!("{key}={}", urlencoding::encode(value)))
            .collect();
        format!("/tasks?{}", query.join("&"))
    }

    fn view(&self) -> FilterView {
        let status = if self.status.trim().is_empty() {
            "all".to_owned()
        } else {
            self.status.trim().to_owned()
        };
        FilterView {
            active: self.pairs().iter().any(|(key, _)| *key != "page"),
            status,
            priority: self.priority.trim().to_owned(),
            tag: self.tag.trim().to_owned(),
            search: self.search.trim().to_owned(),
            sort: if self.sort.trim().is_empty() {
                "created".to_owned()
            } else {
                self.sort.trim().to_owned()
            },
            order: self.order.trim().to_owned(),
        }
    }
}

/// A place to go back to after an action: a `/tasks` URL of this site, or `/tasks`.
fn return_path(raw: &str) -> String {
    match safe_next(raw) {
        Some(path) if path == "/tasks" || path.starts_with("/tasks?") => path.to_owned(),
        _ => "/tasks".to_owned(),
    }
}

/// The tasks page.
#[derive(Debug, Template)]
#[template(path = "tasks/index.html")]
pub struct TasksPage {
    pub shell: Shell,
    pub csrf: String,
    pub return_to: String,
    pub stats: StatsView,
    pub tasks: Vec<TaskView>,
    pub filters: FilterView,
    pub pages: PagesView,
    pub form: TaskForm,
    pub load_error: Option<String>,
}

/// The edit page (used without JavaScript, and when an inline edit is refused).
#[derive(Debug, Template)]
#[template(path = "tasks/edit.html")]
pub struct EditPage {
    pub shell: Shell,
    pub task_id: i64,
    pub return_to: String,
    pub form: TaskForm,
}

/// The delete confirmation page (used without JavaScript).
#[derive(Debug, Template)]
#[template(path = "tasks/delete.html")]
pub struct DeletePage {
    pub shell: Shell,
    pub task_id: i64,
    pub title: String,
    pub return_to: String,
}

/// What the script swaps in after an action: the counts, and the changed row or a removal.
#[derive(Debug, Template)]
#[template(path = "tasks/fragment.html")]
pub struct TaskFragment {
    pub csrf: String,
    pub return_to: String,
    pub stats: StatsView,
    pub task: Option<TaskView>,
    pub removed: Option<i64>,
}

/// Form of the create and edit actions.
#[derive(Debug, Deserialize)]
pub struct TaskFormInput {
    #[serde(default)]
    title: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    priority: String,
    #[serde(default)]
    due_date: String,
    #[serde(default)]
    tags: String,
    #[serde(default)]
    return_to: String,
}

impl TaskFormInput {
    fn tags(&self) -> Vec<String> {
        self.tags
            .split(',')
            .map(str::trim)
            .filter(|tag| !tag.is_empty())
            .map(str::to_owned)
            .collect()
    }

    fn as_form(&self, errors: FieldErrors) -> TaskForm {
        TaskForm {
            title: self.title.clone(),
            description: self.description.clone(),
            priority: if self.priority.is_empty() {
                "medium".to_owned()
            } else {
                self.priority.clone()
            },
            due_date: self.due_date.clone(),
            tags: self.tags.clone(),
            errors,
        }
    }
}

/// Form of the toggle and delete actions.
#[derive(Debug, Deserialize)]
pub struct ActionInput {
    #[serde(default)]
    completed: String,
    #[serde(default)]
    return_to: String,
}

/// Query carrying the page to go back to.
#[derive(Debug, Deserialize)]
pub struct ReturnQuery {
    #[serde(default)]
    return_to: String,
}

struct Loaded {
    page: Result<TaskPage, BackendError>,
    stats: StatsView,
}

async fn load(
    backend: &BackendClient,
    caller: &Caller,
    params: &ListParams,
) -> Result<Loaded, BackendError> {
    let query = params.pairs();
    let (page, stats) = tokio::join!(backend.list_tasks(caller, &query), backend.stats(caller));
    let stats = stats?;
    Ok(Loaded {
        page,
        stats: stats.into(),
    })
}

#[allow(clippy::too_many_arguments)]
async fn tasks_page(
    backend: &BackendClient,
    user: &CurrentUser,
    info: &RequestInfo,
    csrf: &CsrfToken,
    params: &ListParams,
    form: TaskForm,
    flash: Option<Flash>,
) -> Result<TasksPage, PageError> {
    let return_to = params.url(None);
    let loaded = load(backend, &info.as_user(user), params)
        .await
        .map_err(|err| PageError::backend(err, &return_to))?;
    let today = Utc::now().date_naive();
    let (tasks, pages, load_error) = match loaded.page {
        Ok(page) => {
            let pages = PagesView {
                page: page.page,
                total_pages: page.total_pages,
                total: page.total,
                prev: (page.page > 1).then(|| params.url(Some(page.page - 1))),
                next: (page.page < page.total_pages).then(|| params.url(Some(page.page + 1))),
            };
            (
                page.tasks
                    .iter()
                    .map(|task| TaskView::new(task, today))
                    .collect(),
                pages,
                None,
            )
        }
        Err(BackendError::Validation { fields, .. }) => {
            let detail: Vec<String> = fields.into_values().collect();
            (
                Vec::new(),
                PagesView::default(),
                Some(format!(
                    "These filters cannot be used: {}.",
                    detail.join("; ")
                )),
            )
        }
        Err(err) => return Err(PageError::backend(err, &return_to)),
    };
    Ok(TasksPage {
        shell: Shell::new("Your tasks", "tasks", &csrf.0)
            .with_user(&user.name)
            .with_flash(flash),
        csrf: csrf.0.clone(),
        return_to,
        stats: loaded.stats,
        tasks,
        filters: params.view(),
        pages,
        form,
        load_error,
    })
}

/// `GET /tasks`.
pub async fn index(
    State(backend): State<BackendClient>,
    user: CurrentUser,
    info: RequestInfo,
    Extension(csrf): Extension<CsrfToken>,
    jar: CookieJar,
    Query(params): Query<ListParams>,
) -> Result<Response, PageError> {
    let (jar, flash) = take_flash(jar);
    let page = tasks_page(
        &backend,
        &user,
        &info,
        &csrf,
        &params,
        TaskForm::blank(),
        flash,
    )
    .await?;
    Ok((jar, render(&page)?).into_response())
}

/// Parameters of a return path, to re-render the list it shows.
fn params_of(return_to: &str) -> ListParams {
    let query = return_to.split_once('?').map_or("", |(_, query)| query);
    serde_urlencoded_pairs(query)
}

fn serde_urlencoded_pairs(query: &str) -> ListParams {
    let uri: http::Uri = format!("/?{query}")
        .parse()
        .unwrap_or_else(|_| http::Uri::from_static("/"));
    Query::<ListParams>::try_from_uri(&uri)
        .map(|Query(params)| params)
        .unwrap_or_default()
}

fn changes_of(input: &TaskFormInput) -> serde_json::Value {
    let optional = |value: &str| {
        if value.trim().is_empty() {
            serde_json::Value::Null
        } else {
            json!(value)
        }
    };
    json!({
        "title": input.title,
        "description": optional(&input.description),
        "priority": if input.priority.is_empty() { "medium" } else { input.priority.as_str() },
        "due_date": optional(&input.due_date),
        "tags": input.tags(),
    })
}

/// `POST /tasks`.
pub async fn create(
    State(backend): State<BackendClient>,
    cookies: CookieSettings,
    user: CurrentUser,
    info: RequestInfo,
    Extension(csrf): Extension<CsrfToken>,
    jar: CookieJar,
    Form(input): Form<TaskFormInput>,
) -> Result<Response, PageError> {
    let return_to = return_path(&input.return_to);
    let optional = |value: &str| (!value.trim().is_empty()).then(|| value.to_owned());
    let task = NewTask {
        title: input.title.clone(),
        description: optional(&input.description),
        priority: if input.priority.is_empty() {
            "medium".to_owned()
        } else {
            input.priority.clone()
        },
        due_date: optional(&input.due_date),
        tags: input.tags(),
    };
    match backend.create_task(&info.as_user(&user), &task).await {
        Ok(created) => {
            let jar = set_flash(
                jar,
                &cookies,
                &Flash::success(format!("Added “{}”.", created.title)),
            );
            Ok((jar, Redirect::to(&return_to)).into_response())
        }
        Err(BackendError::Validation { fields, .. }) => {
            let form = input.as_form(FieldErrors::from_map(fields));
            let page = tasks_page(
                &backend,
                &user,
                &info,
                &csrf,
                &params_of(&return_to),
                form,
                None,
            )
            .await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response())
        }
        Err(err) => Err(PageError::backend(err, &return_to)),
    }
}

async fn fragment(
    backend: &BackendClient,
    caller: &Caller,
    csrf: &CsrfToken,
    return_to: String,
    task: Option<TaskView>,
    removed: Option<i64>,
) -> Result<Response, PageError> {
    let stats = backend
        .stats(caller)
        .await
        .map_err(|err| PageError::backend(err, &return_to))?;
    render(&TaskFragment {
        csrf: csrf.0.clone(),
        return_to,
        stats: stats.into(),
        task,
        removed,
    })
}

/// `POST /tasks/{id}/toggle`: mark complete or not.
#[allow(clippy::too_many_arguments)]
pub async fn toggle(
    State(backend): State<BackendClient>,
    cookies: CookieSettings,
    user: CurrentUser,
    info: RequestInfo,
    Extension(csrf): Extension<CsrfToken>,
    headers: HeaderMap,
    jar: CookieJar,
    Path(id): Path<i64>,
    Form(input): Form<ActionInput>,
) -> Result<Response, PageError> {
    let return_to = return_path(&input.return_to);
    let completed = input.completed == "true";
    let caller = info.as_user(&user);
    let task = backend
        .update_task(&caller, id, &json!({ "completed": completed }))
        .await
        .map_err(|err| PageError::backend(err, &return_to))?;
    if wants_fragment(&headers) {
        let view = TaskView::new(&task, Utc::now().date_naive());
        return fragment(&backend, &caller, &csrf, return_to, Some(view), None).await;
    }
    let message = if completed {
        format!("Marked “{}” as done.", task.title)
    } else {
        format!("Marked “{}” as not done.", task.title)
    };
    let jar = set_flash(jar, &cookies, &Flash::success(message));
    Ok((jar, Redirect::to(&format!("{return_to}#task-{id}"))).into_response())
}

/// `GET /tasks/{id}/edit`.
pub async fn edit_form(
    State(backend): State<BackendClient>,
    user: CurrentUser,
    info: RequestInfo,
    Extension(csrf): Extension<CsrfToken>,
    Path(id): Path<i64>,
    Query(query): Query<ReturnQuery>,
) -> Result<Response, PageError> {
    let return_to = return_path(&query.return_to);
    let task = backend
        .task(&info.as_user(&user), id)
        .await
        .map_err(|err| PageError::backend(err, &format!("/tasks/{id}/edit")))?;
    let view = TaskView::new(&task, Utc::now().date_naive());
    let page = EditPage {
        shell: Shell::new("Edit task", "tasks", &csrf.0).with_user(&user.name),
        task_id: id,
        return_to,
        form: TaskForm::of(&view),
    };
    render(&page)
}

/// `POST /tasks/{id}`: save an edit.
#[allow(clippy::too_many_arguments)]
pub async fn update(
    State(backend): State<BackendClient>,
    cookies: CookieSettings,
    user: CurrentUser,
    info: RequestInfo,
    Extension(csrf): Extension<CsrfToken>,
    headers: HeaderMap,
    jar: CookieJar,
    Path(id): Path<i64>,
    Form(input): Form<TaskFormInput>,
) -> Result<Response, PageError> {
    let return_to = return_path(&input.return_to);
    let caller = info.as_user(&user);
    match backend.update_task(&caller, id, &changes_of(&input)).await {
        Ok(task) => {
            if wants_fragment(&headers) {
                let view = TaskView::new(&task, Utc::now().date_naive());
                return fragment(&backend, &caller, &csrf, return_to, Some(view), None).await;
            }
            let jar = set_flash(
                jar,
                &cookies,
                &Flash::success(format!("Saved “{}”.", task.title)),
            );
            Ok((jar, Redirect::to(&format!("{return_to}#task-{id}"))).into_response())
        }
        Err(BackendError::Validation { fields, .. }) => {
            let page = EditPage {
                shell: Shell::new("Edit task", "tasks", &csrf.0).with_user(&user.name),
                task_id: id,
                return_to,
                form: input.as_form(FieldErrors::from_map(fields)),
            };
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response())
        }
        Err(err) => Err(PageError::backend(err, &return_to)),
    }
}

/// `GET /tasks/{id}/delete`: the confirmation page.
pub async fn delete_form(
    State(backend): State<BackendClient>,
    user: CurrentUser,
    info: RequestInfo,
    Extension(csrf): Extension<CsrfToken>,
    Path(id): Path<i64>,
    Query(query): Query<ReturnQuery>,
) -> Result<Response, PageError> {
    let return_to = return_path(&query.return_to);
    let task = backend
        .task(&info.as_user(&user), id)
        .await
        .map_err(|err| PageError::backend(err, &format!("/tasks/{id}/delete")))?;
    let page = DeletePage {
        shell: Shell::new("Delete task", "tasks", &csrf.0).with_user(&user.name),
        task_id: id,
        title: task.title,
        return_to,
    };
    render(&page)
}

/// `POST /tasks/{id}/delete`.
#[allow(clippy::too_many_arguments)]
pub async fn delete(
    State(backend): State<BackendClient>,
    cookies: CookieSettings,
    user: CurrentUser,
    info: RequestInfo,
    Extension(csrf): Extension<CsrfToken>,
    headers: HeaderMap,
    jar: CookieJar,
    Path(id): Path<i64>,
    Form(input): Form<ActionInput>,
) -> Result<Response, PageError> {
    let return_to = return_path(&input.return_to);
    let caller = info.as_user(&user);
    backend
        .delete_task(&caller, id)
        .await
        .map_err(|err| PageError::backend(err, &return_to))?;
    if wants_fragment(&headers) {
        return fragment(&backend, &caller, &csrf, return_to, None, Some(id)).await;
    }
    let jar = set_flash(jar, &cookies, &Flash::success("Task deleted."));
    Ok((jar, Redirect::to(&return_to)).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_urls_keep_only_meaningful_parameters() {
        let params = ListParams {
            status: "all".to_owned(),
            search: "milk & eggs".to_owned(),
            page: "1".to_owned(),
            ..ListParams::default()
        };
        assert_eq!(params.url(None), "/tasks?search=milk%20%26%20eggs");
        assert_eq!(
            params.url(Some(3)),
            "/tasks?search=milk%20%26%20eggs&page=3"
        );
        assert_eq!(ListParams::default().url(Some(1)), "/tasks");
        assert!(params.view().active);
        assert!(!ListParams::default().view().active);
    }

    #[test]
    fn return_paths_stay_on_the_tasks_page() {
        assert_eq!(
            return_path("/tasks?status=pending"),
            "/tasks?status=pending"
        );
        assert_eq!(return_path("https://evil.example/tasks"), "/tasks");
        assert_eq!(return_path("//evil.example"), "/tasks");
        assert_eq!(return_path("/login"), "/tasks");
        assert_eq!(return_path(""), "/tasks");
    }

    #[test]
    fn a_return_path_gives_back_its_filters() {
        let params = params_of("/tasks?status=pending&tag=home&page=2");
        assert_eq!(
            (
                params.status.as_str(),
                params.tag.as_str(),
                params.page.as_str()
            ),
            ("pending", "home", "2")
        );
    }

    #[test]
    fn tags_are_split_on_commas() {
        let input = TaskFormInput {
            title: String::new(),
            description: String::new(),
            priority: String::new(),
            due_date: String::new(),
            tags: " home, work ,,errand ".to_owned(),
            return_to: String::new(),
        };
        assert_eq!(input.tags(), ["home", "work", "errand"]);
        let changes = changes_of(&input);
        assert_eq!(changes["description"], serde_json::Value::Null);
        assert_eq!(changes["priority"], "medium");
    }
}
