//! The tasks page rendered from backend data, its filters and pagination, and every task
//! action, both as a plain form post (303) and as a fragment for our script.

use reqwest::StatusCode;
use serde_json::json;
use wiremock::matchers::{body_json, header, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, ResponseTemplate};

use crate::helpers::{FLASH_COOKIE, TOKEN, TestApp, page_json, stats_json, task_json, today_plus};

fn bearer() -> String {
    format!("Bearer {TOKEN}")
}

#[tokio::test]
async fn the_tasks_page_shows_the_counts_and_one_row_per_task() {
    let app = TestApp::spawn().await;
    let mut overdue = task_json(1, "Pay rent");
    overdue["due_date"] = json!(today_plus(-2));
    overdue["priority"] = json!("high");
    let mut done = task_json(2, "Buy milk");
    done["completed"] = json!(true);
    done["due_date"] = json!(today_plus(-5));
    done["updated_at"] = json!("2026-11-21T08:00:00Z");
    let mut later = task_json(3, "Plan trip");
    later["due_date"] = json!(today_plus(10));
    later["description"] = json!("Book the train");
    later["tags"] = json!(["travel", "family time"]);
    app.mount_task_list(
        page_json(&[overdue, done, later], 1, 3, 1),
        stats_json(3, 1, 2, 1),
    )
    .await;
    app.sign_in();
    let page = app.get("/tasks").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    page.assert_html_page("tasks page");
    for (label, count) in [
        ("Total", 3),
        ("Pending", 2),
        ("Completed", 1),
        ("Overdue", 1),
    ] {
        assert!(
            page.body
                .contains(&format!("<dt>{label}</dt><dd>{count}</dd>")),
            "{label} count"
        );
    }
    assert!(page.body.contains("class=\"has-overdue\""));
    let rows = page.body.matches("<li class=\"task").count();
    assert_eq!(rows, 3, "one row per task");
    let cases = [
        ("task-1", "task is-overdue", "overdue pending task"),
        (
            "task-2",
            "task is-done",
            "completed task, even if its date passed",
        ),
        ("task-3", "task", "task due later"),
    ];
    for (id, class, case) in cases {
        assert_eq!(
            page.attribute(id, "class").as_deref(),
            Some(class),
            "{case}"
        );
    }
    assert_eq!(page.body.matches("<strong>(overdue)</strong>").count(), 1);
    assert!(page.body.contains("High priority"));
    assert!(
        page.body
            .contains("<span class=\"badge badge-done\">Done</span>")
    );
    assert!(
        page.body
            .contains("<p class=\"task-description\">Book the train</p>")
    );
    assert!(
        page.links()
            .contains(&"/tasks?tag=family%20time".to_owned())
    );
    assert!(page.body.contains(
        "Created <time datetime=\"2026-11-20T10:30:00+00:00\">20 Nov 2026, 10:30 UTC</time>"
    ));
    assert!(
        page.body
            .contains("updated <time datetime=\"2026-11-21T08:00:00+00:00\">")
    );
    assert!(
        page.body.contains("aria-pressed=\"true\""),
        "the done task's button is pressed"
    );
    assert_eq!(
        page.tag_with_id("confirm-delete")
            .map(|t| t.starts_with("<dialog")),
        Some(true)
    );
}

#[tokio::test]
async fn filters_in_the_url_are_passed_to_the_backend_and_shown_in_the_form() {
    let app = TestApp::spawn().await;
    Mock::given(method("GET"))
        .and(path("/api/tasks"))
        .and(header("authorization", bearer().as_str()))
        .and(query_param("status", "pending"))
        .and(query_param("priority", "high"))
        .and(query_param("tag", "home"))
        .and(query_param("search", "milk & eggs"))
        .and(query_param("sort", "due"))
        .and(query_param("order", "asc"))
        .and(query_param("page", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page_json(
            &[task_json(9, "Milk & eggs")],
            2,
            21,
            2,
        )))
        .expect(1)
        .mount(&app.backend)
        .await;
    app.mount_stats(stats_json(21, 0, 21, 0)).await;
    app.sign_in();
    let page = app
        .get("/tasks?search=milk+%26+eggs&status=pending&priority=high&tag=home&sort=due&order=asc&page=2")
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(
        page.attribute("f-search", "value").as_deref(),
        Some("milk & eggs")
    );
    assert_eq!(page.attribute("f-tag", "value").as_deref(), Some("home"));
    for selected in [
        "<option value=\"pending\" selected>",
        "<option value=\"high\" selected>",
        "<option value=\"due\" selected>",
        "<option value=\"asc\" selected>",
    ] {
        assert!(page.body.contains(selected), "{selected}");
    }
    assert!(page.body.contains("Milk &#38; eggs"));
    app.backend.verify().await;
}

#[tokio::test]
async fn default_filter_values_are_not_sent_to_the_backend() {
    let app = TestApp::spawn().await;
    Mock::given(method("GET"))
        .and(path("/api/tasks"))
        .and(query_param_is_missing("status"))
        .and(query_param_is_missing("page"))
        .and(query_param_is_missing("search"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page_json(&[], 1, 0, 0)))
        .expect(1)
        .mount(&app.backend)
        .await;
    app.mount_stats(stats_json(0, 0, 0, 0)).await;
    app.sign_in();
    let page = app.get("/tasks?status=all&page=1&search=").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body
            .contains("No tasks yet. Add your first one above.")
    );
    assert!(!page.body.contains("Clear filters"), "nothing to clear");
    app.backend.verify().await;
}

#[tokio::test]
async fn a_middle_page_links_to_its_neighbours_keeping_the_filters() {
    let app = TestApp::spawn().await;
    let tasks: Vec<serde_json::Value> = (21..=40)
        .map(|id| task_json(id, &format!("Task {id}")))
        .collect();
    app.mount_task_list(page_json(&tasks, 2, 45, 3), stats_json(45, 0, 45, 0))
        .await;
    app.sign_in();
    let page = app.get("/tasks?status=pending&tag=home&page=2").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(
        page.rel_link("prev").as_deref(),
        Some("/tasks?status=pending&tag=home"),
        "page 1 has no page parameter"
    );
    assert_eq!(
        page.rel_link("next").as_deref(),
        Some("/tasks?status=pending&tag=home&page=3")
    );
    assert!(page.body.contains("Page 2 of 3 (45 tasks)"));
    assert_eq!(
        page.hidden_field("return_to").as_deref(),
        Some("/tasks?status=pending&tag=home&page=2"),
        "actions come back to this page"
    );
    let edit = "/tasks/21/edit?return_to=/tasks%3Fstatus%3Dpending%26tag%3Dhome%26page%3D2";
    assert!(
        page.links().iter().any(|link| link == edit),
        "{:?}",
        page.links()
    );
}

#[tokio::test]
async fn the_first_and_last_pages_link_only_inwards() {
    let app = TestApp::spawn().await;
    let cases = [
        (1, None, Some("/tasks?page=2")),
        (3, Some("/tasks?page=2"), None),
    ];
    for (number, prev, next) in cases {
        app.backend.reset().await;
        app.mount_task_list(
            page_json(&[task_json(number, "A task")], number, 41, 3),
            stats_json(41, 0, 41, 0),
        )
        .await;
        app.sign_in();
        let page = app.get(&format!("/tasks?page={number}")).await;
        assert_eq!(page.status, StatusCode::OK, "page {number}");
        assert_eq!(page.rel_link("prev").as_deref(), prev, "page {number}");
        assert_eq!(page.rel_link("next").as_deref(), next, "page {number}");
    }
}

#[tokio::test]
async fn no_match_for_the_filters_offers_a_way_back_to_all_tasks() {
    let app = TestApp::spawn().await;
    app.mount_task_list(page_json(&[], 1, 0, 0), stats_json(4, 1, 3, 0))
        .await;
    app.sign_in();
    let page = app.get("/tasks?search=nothing").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("No tasks match these filters."));
    assert!(!page.body.contains("No tasks yet"));
    assert!(page.body.contains("<a href=\"/tasks\">Show all tasks</a>"));
    assert!(page.body.contains("href=\"/tasks\">Clear filters</a>"));
    assert!(!page.body.contains("class=\"pagination\""));
}

#[tokio::test]
async fn a_page_past_the_end_offers_the_first_page_instead_of_an_empty_state() {
    let app = TestApp::spawn().await;
    app.mount_task_list(page_json(&[], 4, 41, 3), stats_json(41, 0, 41, 0))
        .await;
    app.sign_in();
    let page = app.get("/tasks?tag=home&page=4").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("There are no tasks on this page."),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains("<a href=\"/tasks?tag=home\">Go to the first page</a>")
    );
    assert!(!page.body.contains("No tasks yet"), "the user has tasks");
    assert!(!page.body.contains("No tasks match these filters."));
}

#[tokio::test]
async fn filters_the_backend_refuses_are_explained_on_the_page() {
    let app = TestApp::spawn().await;
    Mock::given(method("GET"))
        .and(path("/api/tasks"))
        .respond_with(ResponseTemplate::new(422).set_body_json(json!({
            "error": {
                "code": "validation_failed",
                "message": "Invalid query.",
                "fields": { "sort": "sort must be one of created, updated, due, priority, title" },
            }
        })))
        .mount(&app.backend)
        .await;
    app.mount_stats(stats_json(2, 0, 2, 0)).await;
    app.sign_in();
    let page = app.get("/tasks?sort=colour").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains(
            "These filters cannot be used: sort must be one of created, updated, due, priority, title."
        ),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains("<a class=\"button\" href=\"/tasks?sort=colour\">Retry</a>")
    );
}

#[tokio::test]
async fn user_content_is_escaped_everywhere_on_the_tasks_page() {
    let app = TestApp::spawn().await;
    let payload = "<script>alert(\"x\")</script>";
    let mut task = task_json(5, payload);
    task["description"] = json!("<img src=x onerror=alert(1)>");
    task["tags"] = json!(["<b>tag</b>"]);
    app.mount_task_list(page_json(&[task], 1, 1, 1), stats_json(1, 0, 1, 0))
        .await;
    app.set_cookie("taskflow_user", "%3Ci%3EAnn%3C%2Fi%3E");
    app.set_cookie("taskflow_session", TOKEN);
    let page = app.get("/tasks?search=%22%3E%3Cscript%3E").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.body.contains("<script>alert"), "raw script tag");
    assert!(!page.body.contains("<img src=x"), "raw img tag");
    assert!(!page.body.contains("<b>tag</b>"), "raw tag markup");
    assert!(!page.body.contains("<i>Ann</i>"), "raw user name");
    assert!(
        !page.body.contains("\"><script>"),
        "search broke out of its attribute"
    );
    assert!(
        page.body
            .contains("&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62;")
    );
    assert_eq!(
        page.attribute("task-5", "data-title").as_deref(),
        Some(payload)
    );
    assert_eq!(
        page.attribute("edit-5-title", "value").as_deref(),
        Some(payload)
    );
    assert_eq!(
        page.attribute("f-search", "value").as_deref(),
        Some("\"><script>")
    );
    assert!(
        page.body
            .contains("Signed in as <strong>&#60;i&#62;Ann&#60;/i&#62;</strong>")
    );
    assert!(
        page.links()
            .contains(&"/tasks?tag=%3Cb%3Etag%3C/b%3E".to_owned())
    );
}

#[tokio::test]
async fn creating_a_task_sends_its_fields_and_returns_to_the_list_with_a_message() {
    let app = TestApp::spawn().await;
    Mock::given(method("POST"))
        .and(path("/api/tasks"))
        .and(header("authorization", bearer().as_str()))
        .and(header("x-forwarded-for", "127.0.0.1"))
        .and(body_json(json!({
            "title": "Buy milk",
            "description": null,
            "priority": "high",
            "due_date": "2026-12-01",
            "tags": ["home", "errand"],
        })))
        .respond_with(ResponseTemplate::new(201).set_body_json(task_json(11, "Buy milk")))
        .expect(1)
        .mount(&app.backend)
        .await;
    app.mount_task_list(
        page_json(&[task_json(11, "Buy milk")], 1, 1, 1),
        stats_json(1, 0, 1, 0),
    )
    .await;
    app.sign_in();
    let page = app
        .post_form(
            "/tasks",
            &[
                ("title", "Buy milk"),
                ("description", "  "),
                ("priority", "high"),
                ("due_date", "2026-12-01"),
                ("tags", "home, errand,"),
                ("return_to", "/tasks?status=pending"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert_eq!(page.location(), "/tasks?status=pending");
    let list = app.get(page.location()).await;
    assert!(list.body.contains("Added “Buy milk”."), "{}", list.body);
    app.backend.verify().await;
}

#[tokio::test]
async fn after_an_action_only_tasks_pages_are_returned_to() {
    let app = TestApp::spawn().await;
    Mock::given(method("POST"))
        .and(path("/api/tasks"))
        .respond_with(ResponseTemplate::new(201).set_body_json(task_json(1, "A")))
        .mount(&app.backend)
        .await;
    app.sign_in();
    let cases = [
        ("/tasks?page=2", "/tasks?page=2"),
        ("https://evil.example/tasks", "/tasks"),
        ("//evil.example/tasks", "/tasks"),
        ("/login", "/tasks"),
        ("/tasksevil", "/tasks"),
    ];
    for (return_to, expected) in cases {
        let page = app
            .post_form("/tasks", &[("title", "A"), ("return_to", return_to)])
            .await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "return_to={return_to}");
        assert_eq!(page.location(), expected, "return_to={return_to}");
    }
}

#[tokio::test]
async fn a_refused_new_task_comes_back_with_its_values_and_the_field_message() {
    let app = TestApp::spawn().await;
    Mock::given(method("POST"))
        .and(path("/api/tasks"))
        .respond_with(ResponseTemplate::new(422).set_body_json(json!({
            "error": {
                "code": "validation_failed",
                "message": "The request is invalid.",
                "fields": {
                    "title": "title must be at most 200 characters",
                    "tags": "at most 10 tags",
                },
            }
        })))
        .mount(&app.backend)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/tasks"))
        .and(query_param("status", "pending"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page_json(
            &[task_json(4, "Existing task")],
            1,
            1,
            1,
        )))
        .expect(1)
        .mount(&app.backend)
        .await;
    app.mount_stats(stats_json(1, 0, 1, 0)).await;
    app.sign_in();
    let long_title = format!("{} \"quoted\"", "x".repeat(210));
    let page = app
        .post_form(
            "/tasks",
            &[
                ("title", &long_title),
                ("description", "Keep <this>"),
                ("priority", "low"),
                ("due_date", "2026-12-24"),
                ("tags", "a, b"),
                ("return_to", "/tasks?status=pending"),
            ],
        )
        .await;
    assert_eq!(
        page.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        page.body
    );
    page.assert_html_page("refused task");
    assert_eq!(
        page.attribute("new-title", "value").as_deref(),
        Some(long_title.as_str())
    );
    assert_eq!(
        page.attribute("new-title", "aria-invalid").as_deref(),
        Some("true")
    );
    assert!(page.body.contains(
        "<p class=\"field-error\" id=\"new-title-error\">Title must be at most 200 characters.</p>"
    ));
    assert!(
        page.body
            .contains("id=\"new-tags-error\">At most 10 tags.</p>")
    );
    assert!(page.body.contains(">Keep &#60;this&#62;</textarea>"));
    assert_eq!(
        page.attribute("new-due", "value").as_deref(),
        Some("2026-12-24")
    );
    assert_eq!(page.attribute("new-tags", "value").as_deref(), Some("a, b"));
    assert!(
        page.body
            .contains("<option value=\"low\" selected>Low</option>")
    );
    assert!(
        page.body.contains("Existing task"),
        "the list is still shown"
    );
    app.backend.verify().await;
}

#[tokio::test]
async fn toggling_for_the_script_answers_with_the_counts_and_the_changed_row() {
    let app = TestApp::spawn().await;
    let mut done = task_json(7, "Water plants");
    done["completed"] = json!(true);
    Mock::given(method("PATCH"))
        .and(path("/api/tasks/7"))
        .and(header("authorization", bearer().as_str()))
        .and(body_json(json!({ "completed": true })))
        .respond_with(ResponseTemplate::new(200).set_body_json(done))
        .expect(1)
        .mount(&app.backend)
        .await;
    app.mount_stats(stats_json(5, 3, 2, 0)).await;
    app.sign_in();
    let page = app
        .post_fragment(
            "/tasks/7/toggle",
            &[("completed", "true"), ("return_to", "/tasks?page=2")],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.header("content-type").starts_with("text/html"));
    assert!(!page.body.contains("<html"), "a fragment, not a page");
    assert!(
        page.body.starts_with("<section id=\"stats\""),
        "{}",
        page.body
    );
    assert!(page.body.contains("<dt>Completed</dt><dd>3</dd>"));
    assert_eq!(
        page.attribute("task-7", "class").as_deref(),
        Some("task is-done")
    );
    assert!(
        page.body.contains("name=\"completed\" value=\"false\""),
        "the next toggle undoes"
    );
    assert_eq!(
        page.hidden_field("return_to").as_deref(),
        Some("/tasks?page=2")
    );
    assert!(
        page.set_cookie(FLASH_COOKIE).is_none(),
        "no flash for the script"
    );
    app.backend.verify().await;
}

#[tokio::test]
async fn toggling_without_the_script_redirects_back_to_the_row_with_a_message() {
    let app = TestApp::spawn().await;
    Mock::given(method("PATCH"))
        .and(path("/api/tasks/7"))
        .and(body_json(json!({ "completed": false })))
        .respond_with(ResponseTemplate::new(200).set_body_json(task_json(7, "Water plants")))
        .expect(1)
        .mount(&app.backend)
        .await;
    app.sign_in();
    let page = app
        .post_form(
            "/tasks/7/toggle",
            &[("completed", "false"), ("return_to", "/tasks?tag=home")],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), "/tasks?tag=home#task-7");
    assert!(page.set_cookie(FLASH_COOKIE).is_some(), "a flash message");
    app.mount_task_list(
        page_json(&[task_json(7, "Water plants")], 1, 1, 1),
        stats_json(1, 0, 1, 0),
    )
    .await;
    let list = app.get("/tasks?tag=home").await;
    assert!(
        list.body
            .contains("<p class=\"flash flash-success\">Marked “Water plants” as not done.</p>"),
        "{}",
        list.body
    );
    app.backend.verify().await;
}

#[tokio::test]
async fn deleting_for_the_script_answers_with_the_counts_and_a_removal_marker() {
    let app = TestApp::spawn().await;
    Mock::given(method("DELETE"))
        .and(path("/api/tasks/7"))
        .and(header("authorization", bearer().as_str()))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&app.backend)
        .await;
    app.mount_stats(stats_json(4, 2, 2, 0)).await;
    app.sign_in();
    let page = app
        .post_fragment("/tasks/7/delete", &[("return_to", "/tasks")])
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("id=\"stats\""));
    assert!(page.body.contains("<dt>Total</dt><dd>4</dd>"));
    assert!(page.body.contains("<div id=\"task-7\" data-removed></div>"));
    assert!(!page.body.contains("<li"), "no row");
    app.backend.verify().await;
}

#[tokio::test]
async fn deleting_without_the_script_redirects_with_a_message() {
    let app = TestApp::spawn().await;
    Mock::given(method("DELETE"))
        .and(path("/api/tasks/7"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&app.backend)
        .await;
    app.mount_task_list(page_json(&[], 1, 0, 0), stats_json(0, 0, 0, 0))
        .await;
    app.sign_in();
    let page = app
        .post_form("/tasks/7/delete", &[("return_to", "/tasks?priority=low")])
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), "/tasks?priority=low");
    let list = app.get(page.location()).await;
    assert!(list.body.contains("Task deleted."));
    app.backend.verify().await;
}

#[tokio::test]
async fn the_delete_confirmation_page_names_the_task_and_posts_the_deletion() {
    let app = TestApp::spawn().await;
    Mock::given(method("GET"))
        .and(path("/api/tasks/7"))
        .respond_with(ResponseTemplate::new(200).set_body_json(task_json(7, "Old <notes>")))
        .mount(&app.backend)
        .await;
    app.sign_in();
    let page = app
        .get("/tasks/7/delete?return_to=%2Ftasks%3Fpage%3D2")
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body
            .contains("“Old &#60;notes&#62;” will be deleted for good.")
    );
    assert!(page.body.contains("action=\"/tasks/7/delete\""));
    assert_eq!(
        page.hidden_field("return_to").as_deref(),
        Some("/tasks?page=2")
    );
    assert!(page.body.contains("href=\"/tasks?page=2\">Cancel</a>"));
    assert_eq!(page.hidden_field("csrf"), app.cookie("taskflow_csrf"));
}

#[tokio::test]
async fn the_edit_page_is_filled_with_the_task() {
    let app = TestApp::spawn().await;
    let mut task = task_json(7, "Water plants");
    task["description"] = json!("Both balconies");
    task["priority"] = json!("high");
    task["due_date"] = json!("2026-12-03");
    task["tags"] = json!(["home", "garden"]);
    Mock::given(method("GET"))
        .and(path("/api/tasks/7"))
        .and(header("authorization", bearer().as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(task))
        .mount(&app.backend)
        .await;
    app.sign_in();
    let page = app
        .get("/tasks/7/edit?return_to=https%3A%2F%2Fevil.example")
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(
        page.attribute("edit-title", "value").as_deref(),
        Some("Water plants")
    );
    assert!(page.body.contains(">Both balconies</textarea>"));
    assert!(
        page.body
            .contains("<option value=\"high\" selected>High</option>")
    );
    assert_eq!(
        page.attribute("edit-due", "value").as_deref(),
        Some("2026-12-03")
    );
    assert_eq!(
        page.attribute("edit-tags", "value").as_deref(),
        Some("home, garden")
    );
    assert_eq!(
        page.hidden_field("return_to").as_deref(),
        Some("/tasks"),
        "a foreign return path is dropped"
    );
}

#[tokio::test]
async fn saving_an_edit_sends_every_field_and_redirects_to_the_row() {
    let app = TestApp::spawn().await;
    Mock::given(method("PATCH"))
        .and(path("/api/tasks/7"))
        .and(body_json(json!({
            "title": "Water all plants",
            "description": null,
            "priority": "low",
            "due_date": null,
            "tags": ["garden"],
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(task_json(7, "Water all plants")))
        .expect(1)
        .mount(&app.backend)
        .await;
    app.sign_in();
    let page = app
        .post_form(
            "/tasks/7",
            &[
                ("title", "Water all plants"),
                ("description", ""),
                ("priority", "low"),
                ("due_date", ""),
                ("tags", " garden "),
                ("return_to", "/tasks?page=3"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert_eq!(page.location(), "/tasks?page=3#task-7");
    app.mount_task_list(
        page_json(&[task_json(7, "Water all plants")], 3, 41, 3),
        stats_json(41, 0, 41, 0),
    )
    .await;
    let list = app.get("/tasks?page=3").await;
    assert!(
        list.body.contains("Saved “Water all plants”."),
        "{}",
        list.body
    );
    app.backend.verify().await;
}

#[tokio::test]
async fn a_refused_edit_comes_back_on_the_edit_page_with_the_message() {
    let app = TestApp::spawn().await;
    Mock::given(method("PATCH"))
        .and(path("/api/tasks/7"))
        .respond_with(ResponseTemplate::new(422).set_body_json(json!({
            "error": {
                "code": "validation_failed",
                "message": "The request is invalid.",
                "fields": { "title": "title must not be blank", "color": "unknown field" },
            }
        })))
        .mount(&app.backend)
        .await;
    app.sign_in();
    let page = app
        .post_fragment(
            "/tasks/7",
            &[
                ("title", "   "),
                ("priority", "high"),
                ("return_to", "/tasks"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    page.assert_html_page("refused edit");
    assert_eq!(
        page.attribute("edit-title", "aria-invalid").as_deref(),
        Some("true")
    );
    assert!(
        page.body
            .contains("id=\"edit-title-error\">Title must not be blank.</p>")
    );
    assert!(
        page.body
            .contains("<p class=\"form-error\" role=\"alert\">color: Unknown field.</p>")
    );
    assert!(
        page.body
            .contains("<option value=\"high\" selected>High</option>")
    );
}
