//! The tasks page on a phone and on a desktop: screenshots for people to look at, and the layout
//! checks a machine can make (no sideways scrolling, the phone menu works).

use std::path::PathBuf;

use reqwest::Method;
use serde_json::json;

use crate::harness::{Javascript, Page, run};

/// Tallest screenshot taken, in CSS pixels.
const MAX_HEIGHT: u32 = 4000;

/// `$TASKFLOW_ARTIFACTS_DIR`, else `$CARGO_TARGET_DIR/taskflow-artifacts`, else
/// `taskflow-artifacts` in Cargo's temporary directory for tests.
fn artifacts_dir() -> PathBuf {
    let dir = std::env::var_os("TASKFLOW_ARTIFACTS_DIR")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("CARGO_TARGET_DIR")
                .map(|target| PathBuf::from(target).join("taskflow-artifacts"))
        })
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("taskflow-artifacts"));
    std::fs::create_dir_all(&dir).unwrap_or_else(|err| panic!("creating {}: {err}", dir.display()));
    dir
}

/// Width and height of a PNG, checking its signature and header.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert!(
        bytes.starts_with(b"\x89PNG\r\n\x1a\n") && bytes.get(12..16) == Some(b"IHDR".as_slice()),
        "the screenshot is not a PNG"
    );
    let number = |at: usize| {
        u32::from_be_bytes(
            bytes[at..at + 4]
                .try_into()
                .expect("four bytes of the PNG header"),
        )
    };
    (number(16), number(20))
}

/// The viewport's width and height in CSS pixels.
async fn viewport(page: &Page) -> (u32, u32) {
    let size = page
        .eval("return [window.innerWidth, window.innerHeight];")
        .await;
    let number = |at: usize| {
        size[at]
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or_else(|| panic!("reading the viewport size, got {size}"))
    };
    (number(0), number(1))
}

/// Resizes the window so that the viewport is `width` wide and as tall as the page (up to
/// [`MAX_HEIGHT`]); returns the viewport height.
pub(crate) async fn fit_window(page: &Page, width: u32) -> u32 {
    page.client
        .set_window_size(width, 900)
        .await
        .expect("resizing the window");
    let (inner_width, inner_height) = viewport(page).await;
    assert_eq!(inner_width, width, "the viewport is as wide as the window");
    // The window size includes the browser's own frame, even headless.
    let frame = 900_u32.saturating_sub(inner_height);
    let height = page
        .eval("return document.documentElement.scrollHeight;")
        .await
        .as_u64()
        .and_then(|height| u32::try_from(height).ok())
        .expect("reading the page height")
        .min(MAX_HEIGHT);
    page.client
        .set_window_size(width, height + frame)
        .await
        .expect("resizing the window to the page height");
    let (inner_width, inner_height) = viewport(page).await;
    assert_eq!(
        (inner_width, inner_height),
        (width, height),
        "the viewport fits the page"
    );
    height
}

/// Takes a screenshot of the viewport, saves it as `name` and checks it.
pub(crate) async fn screenshot(page: &Page, name: &str, width: u32, height: u32) -> PathBuf {
    let png = page.client.screenshot().await.expect("taking a screenshot");
    assert_eq!(
        png_size(&png),
        (width, height),
        "{name}: the screenshot covers the viewport"
    );
    assert!(
        png.len() > 10_000,
        "{name}: a {width}×{height} screenshot of the page should not be nearly empty ({} bytes)",
        png.len()
    );
    let path = artifacts_dir().join(name);
    std::fs::write(&path, &png).unwrap_or_else(|err| panic!("writing {}: {err}", path.display()));
    println!("screenshot: {}", path.display());
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tasks_page_fits_a_phone_and_a_desktop_and_screenshots_are_saved() {
    run(Javascript::On, |page| async move {
        let email = page.stack.register("Sam Rivera").await;
        page.sign_in(&email).await;
        let token = page.session_token().await;
        let today = chrono::Utc::now().date_naive();
        let tasks = [
            json!({ "title": "Renew passport before the summer trip", "priority": "high",
                    "due_date": (today - chrono::Days::new(3)).to_string(), "tags": ["admin", "travel"] }),
            json!({ "title": "Water the plants", "description": "Balcony first, then the kitchen herbs.",
                    "priority": "low", "tags": ["home"] }),
            json!({ "title": "Book a dentist appointment", "priority": "medium",
                    "due_date": (today + chrono::Days::new(10)).to_string(), "tags": ["health"] }),
            json!({ "title": "Send the quarterly report", "description": "Numbers from the shared sheet.",
                    "priority": "high", "due_date": (today + chrono::Days::new(1)).to_string(),
                    "tags": ["work", "reports", "q3"] }),
            json!({ "title": "Pick up dry cleaning", "priority": "medium", "tags": ["errands"] }),
        ];
        let mut ids = Vec::new();
        for task in tasks {
            ids.push(page.stack.create_task(&token, task).await["id"].clone());
        }
        for id in [&ids[1], &ids[4]] {
            let (status, body) = page
                .stack
                .api(
                    Method::PATCH,
                    &format!("/api/tasks/{id}"),
                    Some(&token),
                    Some(json!({ "completed": true })),
                )
                .await;
            assert!(status.is_success(), "completing task {id}: {body}");
        }
        page.goto("/tasks").await;
        page.wait_for_counts([5, 3, 2, 1]).await;
        assert_eq!(page.find_all("li.task.is-done").await.len(), 2);
        assert_eq!(page.find_all("li.task.is-overdue").await.len(), 1);

        let height = fit_window(&page, 1280).await;
        assert!(page.is_displayed(".nav-wide").await, "desktop: the full navigation shows");
        assert!(!page.is_displayed("details.nav-menu").await, "desktop: the phone menu is hidden");
        let desktop = screenshot(&page, "tasks-1280.png", 1280, height).await;

        let height = fit_window(&page, 390).await;
        let widths = page
            .eval("return [document.documentElement.scrollWidth, window.innerWidth];")
            .await;
        let (scroll_width, inner_width) = (widths[0].as_u64(), widths[1].as_u64());
        assert!(
            scroll_width.is_some() && scroll_width <= inner_width,
            "phone: the page scrolls sideways (scrollWidth, innerWidth) = {widths}"
        );
        assert!(!page.is_displayed(".nav-wide").await, "phone: the wide navigation is hidden");
        assert!(page.is_displayed("details.nav-menu").await, "phone: the menu button shows");
        assert!(
            !page.is_displayed("details.nav-menu form[action='/logout'] button").await,
            "phone: the menu starts closed"
        );
        let phone = screenshot(&page, "tasks-390.png", 390, height).await;

        page.click("details.nav-menu summary").await;
        assert_eq!(page.attr("details.nav-menu", "open").await.as_deref(), Some("true"), "phone: the menu opens");
        assert!(
            page.is_displayed("details.nav-menu form[action='/logout'] button").await,
            "phone: the open menu offers Sign out"
        );
        page.client
            .set_window_size(390, 900)
            .await
            .expect("resizing the window");
        let (_, menu_height) = viewport(&page).await;
        let menu = screenshot(&page, "tasks-390-menu.png", 390, menu_height).await;
        println!(
            "look at: {}, {} and {}",
            desktop.display(),
            phone.display(),
            menu.display()
        );
    })
    .await;
}
