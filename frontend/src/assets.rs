//! The stylesheet and script, compiled into the binary and served with long-lived caching:
//! their URLs carry a hash of their content, so a new build gets new URLs.

use std::sync::LazyLock;

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, header};

const CSS: &str = include_str!("../static/app.css");
const JS: &str = include_str!("../static/app.js");

/// FNV-1a, enough to tell builds apart.
fn content_hash(content: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in content.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{:08x}", hash >> 32)
}

static CSS_URL: LazyLock<String> =
    LazyLock::new(|| format!("/static/app.css?v={}", content_hash(CSS)));
static JS_URL: LazyLock<String> =
    LazyLock::new(|| format!("/static/app.js?v={}", content_hash(JS)));

/// URL of the stylesheet, for templates.
pub fn css_url() -> &'static str {
    &CSS_URL
}

/// URL of the script, for templates.
pub fn js_url() -> &'static str {
    &JS_URL
}

fn asset(content: &'static str, content_type: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=31536000, immutable"),
            ),
        ],
        content,
    )
        .into_response()
}

/// `GET /static/app.css`.
pub async fn css() -> Response {
    asset(CSS, "text/css; charset=utf-8")
}

/// `GET /static/app.js`.
pub async fn js() -> Response {
    asset(JS, "text/javascript; charset=utf-8")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asset_urls_change_with_the_content() {
        assert_ne!(content_hash("a"), content_hash("b"));
        assert!(css_url().starts_with("/static/app.css?v="));
        assert!(js_url().starts_with("/static/app.js?v="));
    }
}
