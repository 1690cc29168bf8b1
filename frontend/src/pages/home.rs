//! The landing page.

use askama::Template;
use axum::Extension;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;

use super::render;
use crate::csrf::CsrfToken;
use crate::error::PageError;
use crate::session::{SESSION_COOKIE, USER_COOKIE, take_flash};
use crate::views::Shell;

/// The landing page.
#[derive(Debug, Template)]
#[template(path = "home.html")]
pub struct HomePage {
    pub shell: Shell,
}

/// `GET /`.
pub async fn show(
    Extension(csrf): Extension<CsrfToken>,
    jar: CookieJar,
) -> Result<Response, PageError> {
    let (jar, flash) = take_flash(jar);
    let mut shell = Shell::new("Your tasks, kept simple", "home", &csrf.0).with_flash(flash);
    if jar.get(SESSION_COOKIE).is_some() {
        let name = jar
            .get(USER_COOKIE)
            .and_then(|c| urlencoding::decode(c.value()).ok().map(|n| n.into_owned()))
            .unwrap_or_default();
        shell = shell.with_user(&name);
    }
    Ok((jar, render(&HomePage { shell })?).into_response())
}
