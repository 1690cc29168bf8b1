//! The tasks page and every task action. Each action is a plain form POST answered with a
//! 303 redirect; requests from our script get an HTML fragment to swap in instead.

use askama::Template;
use axum::extract::{FromRequestParts, Path, Query, State};
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
    /// The first page with the same filters (for a page past the end).
    pub first: String,
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

/// The `{id}` of a task URL. Anything but a number names no task: a 404 page, not a bare
/// "cannot parse" answer.
#[derive(Debug, Clone, Copy)]
pub struct TaskId(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for TaskId {
    type Rejection = PageError;

    async fn from_request_parts(
        parts: &mut http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| PageError::NotFound)?;
        raw.parse().map(Self).map_err(|_| PageError::NotFound)
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
                first: params.url(Some(1)),
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
        Err(BackendError::Validation { message, fields }) => {
            let form = input.as_form(FieldErrors::from_backend(&message, fields));
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
    TaskId(id): TaskId,
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
    TaskId(id): TaskId,
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
    TaskId(id): TaskId,
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
        Err(BackendError::Validation { message, fields }) => {
            let page = EditPage {
                shell: Shell::new("Edit task", "tasks", &csrf.0).with_user(&user.name),
                task_id: id,
                return_to,
                form: input.as_form(FieldErrors::from_backend(&message, fields)),
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
    TaskId(id): TaskId,
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
    TaskId(id): TaskId,
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

#[cfg(test)]
mod render_tests {
    use chrono::NaiveDate;

    use super::*;
    use crate::backend::Task;
    use crate::views::StatsView;

    const PAYLOAD: &str = "<script>alert(\"x\")</script>";

    fn today() -> NaiveDate {
        "2026-11-26".parse().unwrap()
    }

    fn task(id: i64, title: &str) -> TaskView {
        let at = "2026-11-20T10:30:00Z".parse().unwrap();
        TaskView::new(
            &Task {
                id,
                title: title.to_owned(),
                description: Some("Use the \"good\" <pen>".to_owned()),
                completed: false,
                priority: "low".to_owned(),
                due_date: Some("2026-11-01".parse().unwrap()),
                tags: vec!["a\"b".to_owned()],
                created_at: at,
                updated_at: at,
            },
            today(),
        )
    }

    fn page(tasks: Vec<TaskView>, filters: &ListParams, pages: PagesView) -> TasksPage {
        TasksPage {
            shell: Shell::new("Your tasks", "tasks", "tok123").with_user("Ann <Admin>"),
            csrf: "tok123".to_owned(),
            return_to: filters.url(None),
            stats: StatsView {
                total: 3,
                completed: 1,
                pending: 2,
                overdue: 1,
            },
            tasks,
            filters: filters.view(),
            pages,
            form: TaskForm::blank(),
            load_error: None,
        }
    }

    #[test]
    fn user_content_on_the_tasks_page_is_escaped() {
        let filters = ListParams {
            search: "\"><script>".to_owned(),
            ..ListParams::default()
        };
        let html = page(vec![task(7, PAYLOAD)], &filters, PagesView::default())
            .render()
            .unwrap();
        assert!(!html.contains("<script>alert"), "raw title");
        assert!(
            !html.contains("\"><script>"),
            "search broke out of its attribute"
        );
        assert!(!html.contains("<pen>"), "raw description");
        assert!(!html.contains("<Admin>"), "raw user name");
        assert!(html.contains("&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62;"));
        assert!(
            html.contains("data-title=\"&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62;\"")
        );
        assert!(html.contains("value=\"&#34;&#62;&#60;script&#62;\""));
        assert!(html.contains("Use the &#34;good&#34; &#60;pen&#62;"));
        assert!(
            html.contains("href=\"/tasks?tag=a%22b\""),
            "tags are URL-encoded"
        );
        assert!(html.contains("Signed in as <strong>Ann &#60;Admin&#62;</strong>"));
    }

    #[test]
    fn every_form_on_the_tasks_page_carries_the_token_and_the_return_path() {
        let filters = ListParams {
            status: "pending".to_owned(),
            page: "2".to_owned(),
            ..ListParams::default()
        };
        let html = page(
            vec![task(7, "A"), task(8, "B")],
            &filters,
            PagesView::default(),
        )
        .render()
        .unwrap();
        let forms = html.matches("<form method=\"post\"").count();
        let tokens = html
            .matches("<input type=\"hidden\" name=\"csrf\" value=\"tok123\">")
            .count();
        assert_eq!(forms, tokens, "one token per post form");
        assert_eq!(
            forms,
            1 + 2 + 3 * 2,
            "create, sign out in both menus, and three per row"
        );
        assert_eq!(
            html.matches("name=\"return_to\" value=\"/tasks?status=pending&#38;page=2\"")
                .count(),
            1 + 3 * 2
        );
    }

    #[test]
    fn the_counts_and_an_overdue_row_are_marked() {
        let html = page(
            vec![task(7, "Late")],
            &ListParams::default(),
            PagesView::default(),
        )
        .render()
        .unwrap();
        assert!(html.contains("<div><dt>Total</dt><dd>3</dd></div>"));
        assert!(html.contains("<div class=\"has-overdue\"><dt>Overdue</dt><dd>1</dd></div>"));
        assert!(html.contains("class=\"task is-overdue\" id=\"task-7\""));
        assert!(html.contains("<strong>(overdue)</strong>"));
        assert!(html.contains("<time datetime=\"2026-11-01\">1 Nov 2026</time>"));
    }

    #[test]
    fn pagination_shows_only_when_there_is_more_than_one_page() {
        let filters = ListParams {
            tag: "home".to_owned(),
            ..ListParams::default()
        };
        let pages = PagesView {
            page: 2,
            total_pages: 3,
            total: 45,
            prev: Some(filters.url(Some(1))),
            next: Some(filters.url(Some(3))),
            first: filters.url(Some(1)),
        };
        let html = page(vec![task(1, "A")], &filters, pages).render().unwrap();
        assert!(html.contains("<a rel=\"prev\" href=\"/tasks?tag=home\">"));
        assert!(html.contains("<a rel=\"next\" href=\"/tasks?tag=home&#38;page=3\">"));
        assert!(html.contains("Page 2 of 3 (45 tasks)"));
        let single = PagesView {
            page: 1,
            total_pages: 1,
            total: 1,
            ..PagesView::default()
        };
        let html = page(vec![task(1, "A")], &filters, single).render().unwrap();
        assert!(!html.contains("class=\"pagination\""));
    }

    #[test]
    fn an_empty_list_explains_itself_with_or_without_filters() {
        let html = page(vec![], &ListParams::default(), PagesView::default())
            .render()
            .unwrap();
        assert!(html.contains("No tasks yet. Add your first one above."));
        assert!(!html.contains("Clear filters"));
        let filters = ListParams {
            priority: "high".to_owned(),
            ..ListParams::default()
        };
        let html = page(vec![], &filters, PagesView::default())
            .render()
            .unwrap();
        assert!(html.contains("No tasks match these filters."));
        assert!(html.contains("<a href=\"/tasks\">Show all tasks</a>"));
        assert!(html.contains("href=\"/tasks\">Clear filters</a>"));
    }

    #[test]
    fn a_page_past_the_end_links_back_to_the_first_page() {
        let filters = ListParams {
            priority: "high".to_owned(),
            page: "4".to_owned(),
            ..ListParams::default()
        };
        let pages = PagesView {
            page: 4,
            total_pages: 3,
            total: 41,
            prev: Some(filters.url(Some(3))),
            next: None,
            first: filters.url(Some(1)),
        };
        let html = page(vec![], &filters, pages).render().unwrap();
        assert!(html.contains("There are no tasks on this page."));
        assert!(html.contains("<a href=\"/tasks?priority=high\">Go to the first page</a>"));
        assert!(!html.contains("No tasks yet"));
        assert!(!html.contains("No tasks match these filters."));
    }

    #[test]
    fn a_load_error_replaces_the_list_with_a_retry_link() {
        let filters = ListParams {
            sort: "colour".to_owned(),
            ..ListParams::default()
        };
        let mut tasks_page = page(vec![task(1, "Hidden")], &filters, PagesView::default());
        tasks_page.load_error = Some("These filters cannot be used: <bad>.".to_owned());
        let html = tasks_page.render().unwrap();
        assert!(html.contains("<p>These filters cannot be used: &#60;bad&#62;.</p>"));
        assert!(html.contains("<a class=\"button\" href=\"/tasks?sort=colour\">Retry</a>"));
        assert!(!html.contains("Hidden"), "no list under a load error");
    }

    #[test]
    fn create_form_errors_are_tied_to_their_fields() {
        let mut errors = FieldErrors::default();
        errors.add("title", "Title is required.");
        errors.add("due_date", "Due date must be a date.");
        errors.add("colour", "Unknown field.");
        let mut tasks_page = page(vec![], &ListParams::default(), PagesView::default());
        tasks_page.form = TaskForm {
            title: "\" onfocus=\"x".to_owned(),
            description: "</textarea><script>".to_owned(),
            priority: "high".to_owned(),
            due_date: "tomorrow".to_owned(),
            tags: String::new(),
            errors,
        };
        let html = tasks_page.render().unwrap();
        assert!(html.contains("value=\"&#34; onfocus=&#34;x\" aria-invalid=\"true\" aria-describedby=\"new-title-error\""));
        assert!(
            html.contains("<p class=\"field-error\" id=\"new-title-error\">Title is required.</p>")
        );
        assert!(html.contains("aria-describedby=\"new-due-error\""));
        assert!(html.contains("&#60;/textarea&#62;&#60;script&#62;</textarea>"));
        assert!(html.contains("<option value=\"high\" selected>High</option>"));
        assert!(html.contains("<p class=\"form-error\" role=\"alert\">colour: Unknown field.</p>"));
        assert!(!html.contains("new-description-error"));
    }

    #[test]
    fn a_fragment_holds_the_counts_and_the_row_or_a_removal_marker() {
        let fragment = TaskFragment {
            csrf: "tok123".to_owned(),
            return_to: "/tasks".to_owned(),
            stats: StatsView::default(),
            task: Some(task(7, PAYLOAD)),
            removed: None,
        };
        let html = fragment.render().unwrap();
        assert!(html.starts_with("<section id=\"stats\""));
        assert!(html.contains("id=\"task-7\""));
        assert!(!html.contains("<html") && !html.contains("<script>"));
        assert!(!html.contains("data-removed"));
        let removal = TaskFragment {
            task: None,
            removed: Some(7),
            ..fragment
        };
        let html = removal.render().unwrap();
        assert!(html.contains("<div id=\"task-7\" data-removed></div>"));
        assert!(!html.contains("<li"));
    }

    #[test]
    fn the_edit_and_delete_pages_escape_the_task_and_the_return_path() {
        let view = task(7, PAYLOAD);
        let edit = EditPage {
            shell: Shell::new("Edit task", "tasks", "tok123").with_user("Ann"),
            task_id: 7,
            return_to: "/tasks?tag=a\"b".to_owned(),
            form: TaskForm::of(&view),
        }
        .render()
        .unwrap();
        assert!(!edit.contains("<script>alert"));
        assert!(edit.contains("action=\"/tasks/7\""));
        assert!(edit.contains("id=\"edit-title\" name=\"title\""));
        assert!(edit.contains("href=\"/tasks?tag=a&#34;b\">Cancel</a>"));
        let delete = DeletePage {
            shell: Shell::new("Delete task", "tasks", "tok123").with_user("Ann"),
            task_id: 7,
            title: PAYLOAD.to_owned(),
            return_to: "/tasks".to_owned(),
        }
        .render()
        .unwrap();
        assert!(!delete.contains("<script>alert"));
        assert!(delete.contains(
            "“&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62;” will be deleted for good."
        ));
        assert!(delete.contains("action=\"/tasks/7/delete\""));
    }
}
