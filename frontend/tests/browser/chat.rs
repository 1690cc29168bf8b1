//! The assistant page with the backend's offline assistant (no language model configured):
//! the conversation flow with JavaScript (no reloads, Enter sends, Shift+Enter breaks the line,
//! the counter near the limit, deleting behind a confirm dialog) and with plain form posts,
//! its accessibility, and a phone-sized screenshot.

use std::time::{Duration, Instant};

use fantoccini::key::Key;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::accessibility::{audit, axe_source};
use crate::harness::{Javascript, PASSWORD, Page, run};
use crate::layout::{fit_window, screenshot};

/// What `window.__taskflowMarker` is set to; it survives only while the page is not reloaded.
const MARKER: &str = "set before sending";
/// The example prompts the empty conversation offers, in order.
const EXAMPLES: [&str; 4] = [
    "add buy milk tomorrow",
    "what's pending?",
    "mark buy milk done",
    "delete the milk task",
];

/// The title the offline assistant gives the task of "add buy milk tomorrow": the words as
/// typed (see `docs/api.md`, "Assistant").
const TITLE: &str = "buy milk";
/// The messages of the conversation shown, in order.
const MESSAGES: &str = "#messages > li.message";

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
        "{action} reloaded the page instead of appending the reply in place"
    );
}

/// Waits until the browser shows a conversation, `/chat/<uuid>`, and returns its id.
async fn wait_for_conversation(page: &Page) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let path = page.path().await;
        if let Some(id) = path.strip_prefix("/chat/")
            && is_uuid(id)
        {
            return id.to_owned();
        }
        assert!(
            Instant::now() < deadline,
            "expected the address of a conversation, /chat/<id>, but the browser is on {path}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// `8-4-4-4-12` hexadecimal digits.
fn is_uuid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.iter().map(|group| group.len()).eq([8, 4, 4, 4, 12])
        && groups
            .iter()
            .all(|group| group.chars().all(|c| c.is_ascii_hexdigit()))
}

/// The author line, text and tool badges of every message shown, one string each.
async fn transcript(page: &Page) -> Vec<(String, String, Vec<String>)> {
    let rows = page
        .eval(
            "return Array.from(document.querySelectorAll('#messages > li.message'), (li) => [\
               li.querySelector('.message-author').textContent.trim(),\
               li.querySelector('.message-text').textContent,\
               Array.from(li.querySelectorAll('.tool-call .tool-name'), (b) => b.textContent.trim()),\
             ]);",
        )
        .await;
    rows.as_array()
        .unwrap_or_else(|| panic!("reading the messages, got {rows}"))
        .iter()
        .map(|row| {
            let text = |at: usize| row[at].as_str().unwrap_or_default().to_owned();
            let badges = row[2]
                .as_array()
                .map(|names| {
                    names
                        .iter()
                        .filter_map(|name| name.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            (text(0), text(1), badges)
        })
        .collect()
}

/// Checks one message of the transcript: its author, a part of its text and its badges.
fn assert_message(
    transcript: &[(String, String, Vec<String>)],
    at: usize,
    author: &str,
    contains: &str,
    badges: &[&str],
) {
    let Some((who, text, shown)) = transcript.get(at) else {
        panic!("message {at} is missing; the page shows {transcript:?}");
    };
    assert_eq!(who, author, "author of message {at}: {transcript:?}");
    assert!(
        text.contains(contains),
        "message {at} should contain {contains:?}, it reads {text:?}"
    );
    assert_eq!(shown, badges, "tool badges of message {at}: {text:?}");
}

/// The due date the offline assistant gives "tomorrow", as the tasks page shows it. Read before
/// and after the action so that a test running across midnight (UTC) still agrees.
fn tomorrow_shown() -> String {
    (chrono::Utc::now().date_naive() + chrono::Days::new(1))
        .format("%-d %b %Y")
        .to_string()
}

/// Signs up on the registration page, then signs in on the login page.
async fn sign_up_and_sign_in(page: &Page) -> String {
    let email = format!("chat-{:016x}@example.com", rand::random::<u64>());
    page.goto("/register").await;
    page.fill("#name", "Grace Hopper").await;
    page.fill("#email", &email).await;
    page.fill("#password", PASSWORD).await;
    page.fill("#password_confirm", PASSWORD).await;
    page.click("main form button[type=submit]").await;
    page.wait_for_path("/login?registered=1").await;
    page.sign_in(&email).await;
    email
}

/// The conversations the backend keeps for the token's owner.
async fn stored_conversations(page: &Page, token: &str) -> Vec<Value> {
    let (status, body) = page
        .stack
        .api(Method::GET, "/api/conversations", Some(token), None)
        .await;
    assert_eq!(status, StatusCode::OK, "listing conversations: {body}");
    body["conversations"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// Sends `messages` through the API in one new conversation; returns its id.
async fn chat_through_api(page: &Page, token: &str, messages: &[&str]) -> String {
    let mut conversation = Value::Null;
    for message in messages {
        let (status, body) = page
            .stack
            .api(
                Method::POST,
                "/api/chat",
                Some(token),
                Some(json!({ "message": message, "conversation_id": conversation })),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "sending {message:?}: {body}");
        conversation = body["conversation_id"].clone();
    }
    conversation
        .as_str()
        .unwrap_or_else(|| panic!("the chat answer names its conversation, got {conversation}"))
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_javascript_the_assistant_answers_in_place_and_its_changes_show_on_the_tasks_page() {
    run(Javascript::On, |page| async move {
        sign_up_and_sign_in(&page).await;
        let token = page.session_token().await;

        page.click(".nav-wide a[href='/chat']").await;
        page.wait_for_path("/chat").await;
        assert_eq!(page.find_all("html.js").await.len(), 1, "app.js ran");
        assert_eq!(page.text("h1").await, "Assistant");
        assert_eq!(
            page.attr(".nav-wide a[href='/chat']", "aria-current")
                .await
                .as_deref(),
            Some("page"),
            "the navigation marks the assistant page as current"
        );
        assert_eq!(page.text("#conversations .muted").await, "No conversations yet.");
        let examples = page
            .eval(
                "return Array.from(document.querySelectorAll('#chat-empty form.examples button'), \
                 (b) => [b.textContent.trim(), b.value]);",
            )
            .await;
        let expected: Vec<Value> = EXAMPLES.iter().map(|e| json!([e, e])).collect();
        assert_eq!(
            examples,
            json!(expected),
            "the empty state offers the example prompts as buttons sending them"
        );
        assert_eq!(page.text("#chat-counter").await, "", "no counter far from the limit");

        // Enter sends; the reply is appended without a reload.
        set_marker(&page).await;
        let due_before = tomorrow_shown();
        let field = page.find("#chat-message").await;
        field
            .send_keys(&format!("add buy milk tomorrow{}", char::from(Key::Enter)))
            .await
            .expect("typing the message and Enter");
        page.wait_for_count(MESSAGES, 2).await;
        let due_after = tomorrow_shown();
        assert_not_reloaded(&page, "sending with Enter").await;
        let shown = transcript(&page).await;
        assert_message(&shown, 0, "You", "add buy milk tomorrow", &[]);
        assert_message(&shown, 1, "Assistant", "Offline mode:", &["add_task"]);
        assert!(
            shown[1].1.contains(&format!("Created task #1 \"{TITLE}\"")),
            "the reply names the new task: {:?}",
            shown[1].1
        );
        assert_eq!(
            page.find_all("#messages > li.message time[datetime]").await.len(),
            2,
            "every message shows its time"
        );
        let id = wait_for_conversation(&page).await;
        assert_eq!(
            page.attr("#conversation-id", "value").await.as_deref(),
            Some(id.as_str()),
            "the next message continues this conversation"
        );
        page.wait_gone("#chat-empty").await;
        let link = format!("#conversations a[href='/chat/{id}']");
        assert_eq!(
            page.attr(&link, "aria-current").await.as_deref(),
            Some("page"),
            "the conversation appears in the list as the current one"
        );
        assert_eq!(page.find_all("#conversations li").await.len(), 1);
        assert_eq!(
            page.find("#chat-message")
                .await
                .prop("value")
                .await
                .expect("reading the message field")
                .as_deref(),
            Some(""),
            "the field is emptied after sending"
        );
        assert!(
            !page.is_displayed("#chat-waiting").await,
            "the waiting notice is gone once the reply is shown"
        );

        // Shift+Enter starts a new line and sends nothing.
        let field = page.find("#chat-message").await;
        field
            .send_keys(&format!(
                "first line{}{}{}second line",
                char::from(Key::Shift),
                char::from(Key::Enter),
                char::from(Key::Null)
            ))
            .await
            .expect("typing with Shift+Enter");
        let state = page
            .eval(
                "return [document.getElementById('chat-message').value, \
                 document.getElementById('chat-waiting').hidden, \
                 document.querySelector('#chat-form button[type=submit]').disabled];",
            )
            .await;
        assert_eq!(
            state,
            json!(["first line\nsecond line", true, false]),
            "Shift+Enter inserts a newline and does not send (value, waiting hidden, button disabled)"
        );
        assert_eq!(page.find_all(MESSAGES).await.len(), 2, "nothing was sent");

        // The counter appears near the limit.
        page.fill("#chat-message", &"x".repeat(1900)).await;
        page.wait_for_text("#chat-counter", "1900 / 2000").await;

        // A second message with the button, in the same conversation.
        page.fill("#chat-message", "what's pending").await;
        page.click("#chat-form button[type=submit]").await;
        page.wait_for_count(MESSAGES, 4).await;
        assert_not_reloaded(&page, "sending with the button").await;
        let shown = transcript(&page).await;
        assert_message(&shown, 2, "You", "what's pending", &[]);
        assert_message(&shown, 3, "Assistant", "Offline mode:", &["list_tasks"]);
        assert!(
            shown[3].1.contains(&format!("1 pending task:\n#1 \"{TITLE}\"")),
            "the pending list names the task: {:?}",
            shown[3].1
        );
        assert_eq!(page.text("#chat-counter").await, "", "the counter is cleared");
        assert_eq!(page.find_all("#conversations li").await.len(), 1, "still one conversation");

        // The task the assistant added is on the tasks page.
        page.goto("/tasks").await;
        page.wait_for_counts([1, 1, 0, 0]).await;
        let task = page.task_id(TITLE).await;
        let row = page.text(&format!("#task-{task}")).await;
        assert!(
            row.contains(&format!("Due {due_before}")) || row.contains(&format!("Due {due_after}")),
            "the task is due tomorrow ({due_before}); its row reads {row:?}"
        );

        // The history is there when the conversation is opened again.
        page.goto(&format!("/chat/{id}")).await;
        page.wait_for_count(MESSAGES, 4).await;
        let history = transcript(&page).await;
        assert_eq!(
            history.iter().map(|(who, _, badges)| (who.as_str(), badges.clone())).collect::<Vec<_>>(),
            vec![
                ("You", vec![]),
                ("Assistant", vec!["add_task".to_owned()]),
                ("You", vec![]),
                ("Assistant", vec!["list_tasks".to_owned()]),
            ],
            "the history shows the four messages in order: {history:?}"
        );
        assert_eq!(history[..2], shown[..2], "the history matches what was shown");

        // Deleting asks first: cancelling keeps the conversation, confirming deletes it.
        let delete = ".delete-conversation button[data-confirm]";
        page.click(delete).await;
        assert_eq!(page.wait_for_dialog().await, "Delete this conversation?");
        page.client.dismiss_alert().await.expect("cancelling the dialog");
        assert_eq!(page.path().await, format!("/chat/{id}"), "cancelling stays on the page");
        assert_eq!(stored_conversations(&page, &token).await.len(), 1, "cancelling keeps it");

        page.click(delete).await;
        assert_eq!(page.wait_for_dialog().await, "Delete this conversation?");
        page.client.accept_alert().await.expect("confirming the dialog");
        page.wait_for_path("/chat").await;
        page.wait_for_text("#status", "Conversation deleted.").await;
        assert_eq!(page.text("#conversations .muted").await, "No conversations yet.");
        assert_eq!(page.find_all("#conversations li").await.len(), 0);
        assert!(page.is_displayed("#chat-empty").await, "the empty state is back");
        assert!(
            stored_conversations(&page, &token).await.is_empty(),
            "the backend no longer has the conversation"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_javascript_the_assistant_works_through_plain_form_posts() {
    run(Javascript::Off, |page| async move {
        let email = page.stack.register("Alan Turing").await;
        page.sign_in(&email).await;
        let token = page.session_token().await;
        page.goto("/chat").await;
        assert!(
            page.find_all("html.js").await.is_empty(),
            "app.js must not run here"
        );

        // An example prompt is a submit button of a plain form.
        page.click("#chat-empty form.examples button[value='add buy milk tomorrow']")
            .await;
        let id = wait_for_conversation(&page).await;
        assert_eq!(page.status().await, 200);
        page.wait_for_count(MESSAGES, 2).await;
        let shown = transcript(&page).await;
        assert_message(&shown, 0, "You", "add buy milk tomorrow", &[]);
        assert_message(&shown, 1, "Assistant", "Offline mode:", &["add_task"]);
        assert!(
            page.find_all("#chat-empty").await.is_empty(),
            "no empty state any more"
        );
        assert_eq!(
            page.attr(
                &format!("#conversations a[href='/chat/{id}']"),
                "aria-current"
            )
            .await
            .as_deref(),
            Some("page")
        );

        // The message form continues the conversation.
        page.fill("#chat-message", "mark buy milk done").await;
        page.click("#chat-form button[type=submit]").await;
        page.wait_for_count(MESSAGES, 4).await;
        assert_eq!(wait_for_conversation(&page).await, id, "same conversation");
        let shown = transcript(&page).await;
        assert_message(&shown, 2, "You", "mark buy milk done", &[]);
        assert_message(&shown, 3, "Assistant", "Offline mode:", &["complete_task"]);
        assert!(
            page.find_all("#messages > li.message .tool-call.tool-ok")
                .await
                .len()
                == 2,
            "both actions succeeded"
        );

        page.goto("/tasks").await;
        page.wait_for_counts([1, 0, 1, 0]).await;
        let task = page.task_id(TITLE).await;
        let class = page
            .attr(&format!("#task-{task}"), "class")
            .await
            .unwrap_or_default();
        assert!(
            class.contains("is-done"),
            "the task shows as done: class {class:?}"
        );

        // An empty message is refused by the web app, keeping the conversation on screen.
        page.goto(&format!("/chat/{id}")).await;
        page.click("#chat-form button[type=submit]").await;
        page.wait_for_text("#chat-error", "Write a message first.")
            .await;
        assert_eq!(page.status().await, 422, "the empty message is refused");
        assert_eq!(
            page.attr("#chat-message", "aria-invalid").await.as_deref(),
            Some("true")
        );
        assert_eq!(
            page.attr("#conversation-id", "value").await.as_deref(),
            Some(id.as_str()),
            "the form still continues the conversation"
        );
        assert_eq!(
            page.find_all(MESSAGES).await.len(),
            4,
            "the history stays shown"
        );
        assert_eq!(
            stored_conversations(&page, &token).await[0]["id"],
            json!(id),
            "nothing new was started"
        );

        // Without the script there is no confirm dialog: the button deletes at once.
        page.click(".delete-conversation button").await;
        page.wait_for_path("/chat").await;
        page.wait_for_text("#status", "Conversation deleted.").await;
        assert!(stored_conversations(&page, &token).await.is_empty());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_assistant_page_has_no_serious_or_critical_accessibility_violations() {
    let axe = axe_source();
    run(Javascript::On, |page| async move {
        let email = page.stack.register("Lin").await;
        page.sign_in(&email).await;
        let token = page.session_token().await;
        let mut found = Vec::new();
        let mut severe = Vec::new();
        let mut check = async |name: &str| {
            let (lines, bad) = audit(&page, &axe, name).await;
            found.extend(lines);
            if bad {
                severe.push(name.to_owned());
            }
        };

        page.goto("/chat").await;
        page.find("#chat-empty").await;
        check("assistant page, empty conversation").await;

        let id = chat_through_api(&page, &token, &["add buy milk tomorrow", "what's pending"]).await;
        page.goto(&format!("/chat/{id}")).await;
        page.wait_for_count(MESSAGES, 4).await;
        check("assistant page with a history").await;

        page.fill("#chat-message", "mark buy milk done").await;
        page.click("#chat-form button[type=submit]").await;
        page.wait_for_count(MESSAGES, 6).await;
        check("assistant page after a reply added in place").await;

        assert!(
            severe.is_empty(),
            "serious or critical accessibility violations on: {severe:?}\nall violations found:\n{}",
            found.join("\n")
        );
        if !found.is_empty() {
            eprintln!("minor accessibility findings:\n{}", found.join("\n"));
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conversation_fits_a_phone_screen_and_a_screenshot_is_saved() {
    run(Javascript::On, |page| async move {
        let email = page.stack.register("Sam Rivera").await;
        page.sign_in(&email).await;
        let token = page.session_token().await;
        page.stack
            .create_task(
                &token,
                json!({ "title": "Renew passport before the summer trip", "priority": "high" }),
            )
            .await;
        let id = chat_through_api(
            &page,
            &token,
            &[
                "add buy milk tomorrow",
                "add call the plumber about the dripping kitchen tap on friday",
                "what's pending",
                "mark buy milk done",
            ],
        )
        .await;
        page.goto(&format!("/chat/{id}")).await;
        page.wait_for_count(MESSAGES, 8).await;

        let height = fit_window(&page, 390).await;
        let widths = page
            .eval("return [document.documentElement.scrollWidth, window.innerWidth];")
            .await;
        let (scroll_width, inner_width) = (widths[0].as_u64(), widths[1].as_u64());
        assert!(
            scroll_width.is_some() && scroll_width <= inner_width,
            "phone: the page scrolls sideways (scrollWidth, innerWidth) = {widths}"
        );
        for element in [
            "#conversations",
            "#messages",
            "#chat-message",
            "#chat-form button[type=submit]",
        ] {
            assert!(
                page.is_displayed(element).await,
                "phone: {element} is shown"
            );
        }
        let path = screenshot(&page, "chat-390.png", 390, height).await;
        println!("look at: {}", path.display());
    })
    .await;
}
