//! The main user journey (create an account, sign in, add, edit, complete, find and delete a
//! task, sign out), once with JavaScript enhancing the pages and once with plain forms.

use serde_json::json;

use crate::harness::{Javascript, PASSWORD, Page, run};

const NAME: &str = "Ada Lovelace";
/// What `window.__taskflowMarker` is set to; it survives only while the page is not reloaded.
const MARKER: &str = "set before the action";

fn new_email() -> String {
    format!("ada-{:016x}@example.com", rand::random::<u64>())
}

/// Landing page → registration → login page with the "account is ready" notice → tasks page.
async fn register_and_sign_in(page: &Page, email: &str) {
    page.goto("/").await;
    assert_eq!(page.text("h1").await, "Your tasks, kept simple");
    page.click(".cta a[href='/register']").await;
    page.wait_for_path("/register").await;
    assert_eq!(page.text("h1").await, "Create an account");
    page.fill("#name", NAME).await;
    page.fill("#email", email).await;
    page.fill("#password", PASSWORD).await;
    page.fill("#password_confirm", PASSWORD).await;
    page.click("main form button[type=submit]").await;

    page.wait_for_path("/login?registered=1").await;
    page.wait_for_text(".notice", "Your account is ready. Sign in to continue.")
        .await;
    page.fill("#email", email).await;
    page.fill("#password", PASSWORD).await;
    page.click("main form button[type=submit]").await;

    page.wait_for_path("/tasks").await;
    assert_eq!(
        page.client.title().await.expect("reading the title"),
        "Your tasks · TaskFlow"
    );
    page.wait_for_text("#status", &format!("Welcome, {NAME}."))
        .await;
    assert_eq!(
        page.text(".nav-wide .nav-user").await,
        format!("Signed in as {NAME}")
    );
    page.wait_for_counts([0, 0, 0, 0]).await;
    assert_eq!(
        page.text(".empty-state").await,
        "No tasks yet. Add your first one above."
    );
}

/// Fills in and sends the "Add a task" form; returns the new row's id.
async fn add_task(
    page: &Page,
    title: &str,
    priority: &str,
    due: Option<(&str, &str)>,
    tags: &str,
) -> i64 {
    page.fill("#new-title", title).await;
    page.fill("#new-description", &format!("Details of {title}"))
        .await;
    page.select("#new-priority", priority).await;
    if let Some((typed, iso)) = due {
        page.fill("#new-due", typed).await;
        let value = page
            .find("#new-due")
            .await
            .prop("value")
            .await
            .expect("reading the due date");
        assert_eq!(
            value.as_deref(),
            Some(iso),
            "typing {typed} into the date field"
        );
    }
    page.fill("#new-tags", tags).await;
    page.click("form[action='/tasks'] button[type=submit]")
        .await;
    page.wait_for_text("#status", &format!("Added “{title}”."))
        .await;
    page.task_id(title).await
}

async fn set_marker(page: &Page) {
    page.eval(&format!(
        "window.__taskflowMarker = {}; return null;",
        json!(MARKER)
    ))
    .await;
}

async fn assert_not_reloaded(page: &Page, action: &str) {
    assert_eq!(
        page.eval("return window.__taskflowMarker === undefined ? null : window.__taskflowMarker;")
            .await,
        json!(MARKER),
        "{action} reloaded the whole page instead of swapping the row in place"
    );
}

/// Signs out with the header button and checks that the tasks page then asks to sign in.
async fn sign_out(page: &Page) {
    page.click(".nav-wide form[action='/logout'] button").await;
    page.wait_for_path("/login").await;
    page.wait_for_text("#status", "You have signed out.").await;
    page.goto("/tasks").await;
    page.wait_for_path("/login?next=%2Ftasks").await;
    assert_eq!(page.text("h1").await, "Sign in");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_javascript_a_visitor_signs_up_and_manages_tasks_in_place_without_page_reloads() {
    run(Javascript::On, |page| async move {
        let email = new_email();
        register_and_sign_in(&page, &email).await;
        assert_eq!(page.find_all("html.js").await.len(), 1, "app.js ran");

        let milk = add_task(
            &page,
            "Buy oat milk",
            "high",
            Some(("01152030", "2030-01-15")),
            "home, errands",
        )
        .await;
        let row = format!("#task-{milk}");
        let text = page.text(&row).await;
        for expected in [
            "Buy oat milk",
            "Details of Buy oat milk",
            "High priority",
            "Due 15 Jan 2030",
            "#home",
            "#errands",
        ] {
            assert!(
                text.contains(expected),
                "the new row shows {expected:?}; it reads {text:?}"
            );
        }
        page.wait_for_counts([1, 1, 0, 0]).await;
        let plumber = add_task(&page, "Call the plumber", "low", None, "").await;
        page.wait_for_counts([2, 2, 0, 0]).await;
        page.wait_for_listed(&[plumber, milk], "newest first").await;

        // Edit in place: the inline form opens without navigating and the row is swapped in.
        set_marker(&page).await;
        page.click(&format!("{row} [data-edit]")).await;
        assert!(
            page.is_displayed(&format!("{row} .edit-form")).await,
            "the inline edit form opens"
        );
        assert_eq!(
            page.path().await,
            "/tasks",
            "opening the editor does not navigate"
        );
        assert_eq!(
            page.eval("return document.activeElement.id;").await,
            json!(format!("edit-{milk}-title")),
            "the title field has the focus"
        );
        page.fill(&format!("#edit-{milk}-title"), "Buy oat milk and bread")
            .await;
        page.click(&format!("{row} .edit-form button[type=submit]"))
            .await;
        page.wait_for_text(&format!("{row} .task-title"), "Buy oat milk and bread")
            .await;
        page.wait_for_text("#status", "Task saved.").await;
        assert!(
            !page.is_displayed(&format!("{row} .edit-form")).await,
            "the editor closes after saving"
        );
        assert_not_reloaded(&page, "saving an edit").await;

        // Complete with the round button.
        page.click(&format!("{row} .check")).await;
        page.wait_until(
            "the row takes the done state",
            &format!("document.querySelector('{row}').classList.contains('is-done')"),
        )
        .await;
        page.wait_for_counts([2, 1, 1, 0]).await;
        assert_eq!(
            page.attr(&format!("{row} .check"), "aria-pressed")
                .await
                .as_deref(),
            Some("true")
        );
        page.wait_for_text(&format!("{row} .task-title"), "Done")
            .await;
        page.wait_for_text("#status", "Marked as done.").await;
        assert_not_reloaded(&page, "completing a task").await;

        // Filter by status, then search (the panel starts closed while no filter is active).
        page.click(".filter-panel > summary").await;
        page.select("#f-status", "completed").await;
        page.click(".filters button[type=submit]").await;
        page.wait_until(
            "the status filter is in the URL",
            "location.search.includes('status=completed')",
        )
        .await;
        page.wait_for_listed(&[milk], "only the completed task is listed")
            .await;
        page.select("#f-status", "all").await;
        page.fill("#f-search", "plumber").await;
        page.click(".filters button[type=submit]").await;
        page.wait_until(
            "the search is in the URL",
            "location.search.includes('search=plumber')",
        )
        .await;
        page.wait_for_listed(&[plumber], "only the matching task is listed")
            .await;
        page.fill("#f-search", "no such words").await;
        page.click(".filters button[type=submit]").await;
        page.wait_for_text(".empty-state", "No tasks match these filters.")
            .await;
        page.click(".filter-actions a[href='/tasks']").await;
        page.wait_for_path("/tasks").await;
        page.wait_for_listed(&[plumber, milk], "clearing the filters lists everything")
            .await;

        // Delete through the confirmation dialog.
        set_marker(&page).await;
        page.click(&format!("{row} [data-delete]")).await;
        page.wait_until(
            "the confirmation dialog opens",
            "document.getElementById('confirm-delete').open",
        )
        .await;
        assert_eq!(
            page.text("#confirm-delete p").await,
            "“Buy oat milk and bread” will be deleted for good."
        );
        page.click("#confirm-delete button[value=confirm]").await;
        page.wait_gone(&row).await;
        page.wait_for_counts([1, 1, 0, 0]).await;
        page.wait_for_text("#status", "Task deleted.").await;
        assert_not_reloaded(&page, "deleting a task").await;
        let stored = page.stack.tasks(&page.session_token().await).await;
        assert_eq!(
            stored.len(),
            1,
            "the backend keeps only the other task: {stored:?}"
        );
        assert_eq!(stored[0]["title"], "Call the plumber");

        sign_out(&page).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_javascript_every_step_works_through_plain_form_posts_and_redirects() {
    run(Javascript::Off, |page| async move {
        let email = new_email();
        register_and_sign_in(&page, &email).await;
        assert!(
            page.find_all("html.js").await.is_empty(),
            "app.js must not run in this browser"
        );

        let milk = add_task(
            &page,
            "Buy oat milk",
            "high",
            Some(("01152030", "2030-01-15")),
            "home",
        )
        .await;
        let row = format!("#task-{milk}");
        page.wait_for_counts([1, 1, 0, 0]).await;

        // Edit on the edit page.
        page.click(&format!("{row} [data-edit]")).await;
        page.wait_for_path(&format!("/tasks/{milk}/edit?return_to=/tasks"))
            .await;
        assert_eq!(page.text("h1").await, "Edit task");
        let due = page
            .find("#edit-due")
            .await
            .prop("value")
            .await
            .expect("reading the due date");
        assert_eq!(
            due.as_deref(),
            Some("2030-01-15"),
            "the edit form shows the stored due date"
        );
        page.fill("#edit-title", "Buy oat milk and bread").await;
        page.click("main form button[type=submit]").await;
        page.wait_for_path("/tasks").await;
        page.wait_for_text("#status", "Saved “Buy oat milk and bread”.")
            .await;
        page.wait_for_text(&format!("{row} .task-title"), "Buy oat milk and bread")
            .await;

        // Complete.
        page.click(&format!("{row} .check")).await;
        page.wait_for_text("#status", "Marked “Buy oat milk and bread” as done.")
            .await;
        assert_eq!(page.path().await, "/tasks");
        let class = page.attr(&row, "class").await.unwrap_or_default();
        assert!(
            class.contains("is-done"),
            "the row shows the done state: class {class:?}"
        );
        page.wait_for_counts([1, 0, 1, 0]).await;

        // Delete on the confirmation page.
        page.click(&format!("{row} [data-delete]")).await;
        page.wait_for_path(&format!("/tasks/{milk}/delete?return_to=/tasks"))
            .await;
        assert_eq!(page.text("h1").await, "Delete this task?");
        assert_eq!(
            page.text("main .card p").await,
            "“Buy oat milk and bread” will be deleted for good."
        );
        page.click("main form button[type=submit]").await;
        page.wait_for_path("/tasks").await;
        page.wait_for_text("#status", "Task deleted.").await;
        page.wait_gone(&row).await;
        page.wait_for_counts([0, 0, 0, 0]).await;
        assert!(
            page.stack
                .tasks(&page.session_token().await)
                .await
                .is_empty(),
            "the backend has no tasks left"
        );

        sign_out(&page).await;
    })
    .await;
}
