//! Accessibility checks with axe-core (from `npm ci --prefix frontend/tests/browser`) on every
//! kind of page, in the states a user meets them: with data, with error messages, with the
//! inline editor and the confirmation dialog open.

use reqwest::Method;
use serde_json::json;

use crate::harness::{Javascript, Page, run};

/// Where `npm ci --prefix frontend/tests/browser` puts axe-core.
const AXE_PATH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/browser/node_modules/axe-core/axe.min.js"
);

/// Runs axe on the whole document and hands back the violations in a compact form.
const AXE_RUN: &str = r"
const done = arguments[arguments.length - 1];
axe.run(document, { resultTypes: ['violations'] })
  .then((results) => done({
    passed: results.passes.length,
    violations: results.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => n.target.join(' ') + ': ' + n.failureSummary),
    })),
  }))
  .catch((err) => done({ error: String(err) }));
";

pub(crate) fn axe_source() -> String {
    std::fs::read_to_string(AXE_PATH).unwrap_or_else(|err| {
        panic!(
            "cannot read {AXE_PATH} ({err}); install the test dependencies first: \
             npm ci --prefix frontend/tests/browser"
        )
    })
}

/// Runs axe on the page now shown; returns every violation found, one line each, and whether
/// any of them is serious or critical.
pub(crate) async fn audit(page: &Page, axe: &str, name: &str) -> (Vec<String>, bool) {
    page.eval(axe).await;
    assert_eq!(
        page.eval("return typeof window.axe;").await,
        json!("object"),
        "{name}: axe-core was injected"
    );
    let results = page
        .client
        .execute_async(AXE_RUN, Vec::new())
        .await
        .unwrap_or_else(|err| panic!("{name}: running axe failed: {err}"));
    let (Some(passed), Some(violations)) =
        (results["passed"].as_u64(), results["violations"].as_array())
    else {
        panic!("{name}: axe failed: {results}");
    };
    assert!(
        passed >= 10,
        "{name}: axe checked too little ({passed} rules passed): {results}"
    );
    let mut lines = Vec::new();
    let mut severe = false;
    for violation in violations {
        let impact = violation["impact"].as_str().unwrap_or("unknown").to_owned();
        severe |= matches!(impact.as_str(), "serious" | "critical");
        lines.push(format!(
            "{name}: [{impact}] {} ({}) at {}",
            violation["id"].as_str().unwrap_or_default(),
            violation["help"].as_str().unwrap_or_default(),
            violation["nodes"]
        ));
    }
    (lines, severe)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_page_has_serious_or_critical_accessibility_violations() {
    let axe = axe_source();
    run(Javascript::On, |page| async move {
        let mut found = Vec::new();
        let mut severe = Vec::new();
        let mut check = async |name: &str| {
            let (lines, bad) = audit(&page, &axe, name).await;
            found.extend(lines);
            if bad {
                severe.push(name.to_owned());
            }
        };

        page.goto("/").await;
        check("landing page").await;

        page.goto("/register").await;
        page.fill("#name", "Lin").await;
        page.fill("#email", "lin@example.com").await;
        page.fill("#password", "one password").await;
        page.fill("#password_confirm", "another password").await;
        page.click("main form button[type=submit]").await;
        page.wait_for_text("#password_confirm-error", "The two passwords do not match.")
            .await;
        check("registration page with a field error").await;

        let email = page.stack.register("Lin").await;
        page.goto("/login").await;
        page.fill("#email", &email).await;
        page.fill("#password", "not the password").await;
        page.click("main form button[type=submit]").await;
        page.wait_for_text("#login-error", "Incorrect email or password.")
            .await;
        check("sign-in page with an error").await;

        page.sign_in(&email).await;
        let token = page.session_token().await;
        let yesterday = (chrono::Utc::now().date_naive() - chrono::Days::new(1)).to_string();
        let tasks = [
            json!({ "title": "Renew passport", "priority": "high", "due_date": yesterday, "tags": ["admin"] }),
            json!({ "title": "Water the plants", "description": "Balcony and kitchen", "priority": "low", "tags": ["home"] }),
            json!({ "title": "Book dentist", "priority": "medium", "due_date": "2031-03-01" }),
        ];
        let mut ids = Vec::new();
        for task in tasks {
            ids.push(page.stack.create_task(&token, task).await["id"].clone());
        }
        let (status, body) = page
            .stack
            .api(
                Method::PATCH,
                &format!("/api/tasks/{}", ids[1]),
                Some(&token),
                Some(json!({ "completed": true })),
            )
            .await;
        assert!(status.is_success(), "completing a task: {body}");

        page.goto("/tasks").await;
        page.wait_for_counts([3, 2, 1, 1]).await;
        page.click("form[action='/tasks'] button[type=submit]").await;
        page.wait_for_text("#new-title-error", "Title must not be blank.")
            .await;
        assert_eq!(page.status().await, 422, "the blank task is refused");
        check("tasks page with tasks and a field error").await;

        let row = format!("#task-{}", ids[0]);
        page.click(&format!("{row} [data-edit]")).await;
        assert!(page.is_displayed(&format!("{row} .edit-form")).await);
        check("tasks page with the inline editor open").await;

        page.goto("/tasks").await;
        page.click(&format!("{row} [data-delete]")).await;
        page.wait_until(
            "the confirmation dialog opens",
            "document.getElementById('confirm-delete').open",
        )
        .await;
        check("tasks page with the confirmation dialog open").await;

        page.goto(&format!("/tasks/{}/edit", ids[0])).await;
        check("edit page").await;

        page.goto(&format!("/tasks/{}/delete", ids[0])).await;
        check("delete confirmation page").await;

        page.goto("/no-such-page").await;
        check("not-found page").await;

        assert!(
            severe.is_empty(),
            "serious or critical accessibility violations on: {severe:?}\nall violations found:\n{}",
            found.join("\n")
        );
        if !found.is_empty() {
            eprintln!("minor accessibility findings:\n{}", found.join("\n"));
        }

        // Control: the audit does catch a problem planted in the page.
        page.eval(
            "const img = document.createElement('img'); \
             img.src = 'data:image/gif;base64,R0lGODlhAQABAAAAACw='; \
             document.querySelector('main').append(img); return null;",
        )
        .await;
        let (planted, severe) = audit(&page, &axe, "page with a planted image without alt text").await;
        assert!(
            severe && planted.iter().any(|line| line.contains("image-alt")),
            "axe should report the planted image without alt text, got {planted:?}"
        );
    })
    .await;
}
