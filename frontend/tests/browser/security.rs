//! What a real browser does with hostile input and hostile sites: task text is shown as text,
//! forms posted from other sites are refused, and a revoked session sends the user to sign in.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::json;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;

use crate::harness::{Javascript, run};

const XSS_TITLE: &str = r#"<img src=x onerror="window.__xss=1"><script>window.__xss=1</script>"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn markup_in_a_task_title_is_shown_as_literal_text_and_never_runs() {
    run(Javascript::On, |page| async move {
        let email = page.stack.register("Mallory").await;
        page.sign_in(&email).await;
        page.fill("#new-title", XSS_TITLE).await;
        page.click("form[action='/tasks'] button[type=submit]").await;
        page.wait_for_text("#status", &format!("Added “{XSS_TITLE}”."))
            .await;
        let id = page.task_id(XSS_TITLE).await;
        let row = format!("#task-{id}");

        let check = |stage: &'static str| {
            let page = page.clone();
            let row = row.clone();
            async move {
                let shown = page.text(&format!("{row} .task-title")).await;
                assert_eq!(
                    shown.strip_suffix(" Done").unwrap_or(&shown),
                    XSS_TITLE,
                    "{stage}: the title is shown as typed (before the Done badge)"
                );
                assert_eq!(
                    page.eval("return document.querySelectorAll('main img, main script').length;")
                        .await,
                    json!(0),
                    "{stage}: the title's markup became elements"
                );
                assert_eq!(
                    page.eval("return typeof window.__xss;").await,
                    json!("undefined"),
                    "{stage}: the title's script ran"
                );
            }
        };
        check("after adding").await;

        // The row swapped in by the script after completing it.
        page.click(&format!("{row} .check")).await;
        page.wait_until(
            "the row takes the done state",
            &format!("document.querySelector('{row}').classList.contains('is-done')"),
        )
        .await;
        check("after the in-place swap").await;

        // The confirmation dialog fills in the title with the script.
        page.click(&format!("{row} [data-delete]")).await;
        page.wait_until(
            "the confirmation dialog opens",
            "document.getElementById('confirm-delete').open",
        )
        .await;
        assert_eq!(
            page.text("#confirm-delete [data-task-title]").await,
            XSS_TITLE
        );
        page.click("#confirm-delete button[value=cancel]").await;
        page.wait_until(
            "the confirmation dialog closes",
            "!document.getElementById('confirm-delete').open",
        )
        .await;
        check("after the dialog").await;

        // The edit page puts it into a field value.
        page.goto(&format!("/tasks/{id}/edit")).await;
        let value = page
            .find("#edit-title")
            .await
            .prop("value")
            .await
            .expect("reading the title field");
        assert_eq!(value.as_deref(), Some(XSS_TITLE));
        assert_eq!(
            page.eval("return [document.querySelectorAll('img, script:not([src])').length, typeof window.__xss];")
                .await,
            json!([0, "undefined"]),
            "the edit page has no injected elements and ran no injected script"
        );
    })
    .await;
}

/// Serves one fixed HTML page to every request on `listener`.
async fn serve_page(listener: TcpListener, html: String) {
    loop {
        let Ok((mut stream, _)) = listener.accept().await else {
            return;
        };
        let html = html.clone();
        tokio::spawn(async move {
            let mut request = Vec::new();
            let mut buffer = [0_u8; 1024];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < 16 * 1024 {
                match tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buffer)).await {
                    Ok(Ok(read)) if read > 0 => request.extend_from_slice(&buffer[..read]),
                    _ => return,
                }
            }
            let response = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: text/html; charset=utf-8\r\n\
                 content-length: {}\r\nconnection: close\r\n\r\n{html}",
                html.len()
            );
            let _ = stream.write_all(response.as_bytes()).await;
            let _ = stream.shutdown().await;
        });
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_form_posted_from_another_site_is_refused_even_with_the_right_token() {
    run(Javascript::On, |page| async move {
        let email = page.stack.register("Victim").await;
        page.sign_in(&email).await;
        let token = page.session_token().await;
        // The worst case: the other page even knows this browser's anti-forgery token.
        let csrf = page
            .client
            .get_named_cookie("taskflow_csrf")
            .await
            .expect("the browser holds the anti-forgery cookie")
            .value()
            .to_owned();
        let html = format!(
            "<!doctype html><html lang=\"en\"><head><title>You won a prize</title></head><body>\
             <form id=\"attack\" method=\"post\" action=\"{}/tasks\">\
             <input name=\"csrf\" value=\"{csrf}\">\
             <input name=\"title\" value=\"Planted by another site\">\
             <input name=\"return_to\" value=\"/tasks\">\
             </form><script>document.getElementById('attack').submit();</script></body></html>",
            page.stack.frontend
        );
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binding the other site's port");
        let port = listener.local_addr().expect("reading the port").port();
        let server = tokio::spawn(serve_page(listener, html));

        let cases = [
            (
                "a page of the same site on another port",
                format!("http://127.0.0.1:{port}/"),
            ),
            (
                "a page of another site",
                format!("http://localhost:{port}/"),
            ),
        ];
        for (origin, url) in cases {
            page.client
                .goto(&url)
                .await
                .unwrap_or_else(|err| panic!("{origin}: opening {url}: {err}"));
            page.wait_until(
                origin,
                &format!(
                    "location.href === {} && document.querySelector('h1') !== null",
                    json!(format!("{}/tasks", page.stack.frontend))
                ),
            )
            .await;
            assert_eq!(page.status().await, 403, "{origin}: the post is refused");
            assert_eq!(
                page.text("h1").await,
                "This form could not be accepted",
                "{origin}: the refusal page explains"
            );
        }
        server.abort();

        assert!(
            page.stack.tasks(&token).await.is_empty(),
            "no task was created at the backend"
        );
        page.goto("/tasks").await;
        page.wait_for_counts([0, 0, 0, 0]).await;
        assert_eq!(page.status().await, 200, "the session still works");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_the_session_is_revoked_the_next_page_asks_to_sign_in_again_and_returns_afterwards() {
    run(Javascript::On, |page| async move {
        let email = page.stack.register("Grace").await;
        page.sign_in(&email).await;
        let token = page.session_token().await;
        let (status, body) = page
            .stack
            .api(Method::POST, "/api/auth/logout", Some(&token), None)
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT, "revoking the token: {body}");

        page.client.refresh().await.expect("reloading the page");
        page.wait_for_path("/login?next=%2Ftasks&expired=1").await;
        assert_eq!(
            page.text(".notice").await,
            "Your session has ended. Sign in again to continue."
        );
        assert!(
            page.client
                .get_named_cookie("taskflow_session")
                .await
                .is_err(),
            "the dead session cookie is removed"
        );

        page.fill("#email", &email).await;
        page.fill("#password", crate::harness::PASSWORD).await;
        page.click("main form button[type=submit]").await;
        page.wait_for_path("/tasks").await;
        page.wait_for_counts([0, 0, 0, 0]).await;
    })
    .await;
}
