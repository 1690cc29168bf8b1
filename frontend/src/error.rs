//! Error pages. Every failure a browser can meet is a page with the right status, a plain
//! explanation and a way forward; causes are logged, never shown.

use askama::Template;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use http::StatusCode;

use crate::backend::BackendError;
use crate::session::{end_session, login_url};
use crate::views::Shell;

/// Why a page could not be shown.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// A form post from another site or without a valid token (403).
    #[error("forbidden")]
    Forbidden,
    /// No such page or task (404).
    #[error("not found")]
    NotFound,
    /// A request our pages never send, such as a malformed query or form (400).
    #[error("bad request")]
    BadRequest,
    /// The page does not take that method (405).
    #[error("method not allowed")]
    MethodNotAllowed,
    /// The form is larger than any of ours (413).
    #[error("payload too large")]
    PayloadTooLarge,
    /// The session ended (expired or revoked token): sign in again, then come back to `next`.
    #[error("session expired")]
    SessionExpired {
        /// Where to return after signing in.
        next: String,
    },
    /// The backend failed; `retry` is the page to try again.
    #[error("backend error: {error}")]
    Backend {
        /// What went wrong.
        error: BackendError,
        /// Where the retry link points.
        retry: String,
    },
    /// The whole request took longer than `REQUEST_TIMEOUT_SECONDS` (504); `retry` is the page
    /// to try again, when there is one.
    #[error("request timed out")]
    TimedOut {
        /// Where the retry link points.
        retry: Option<String>,
    },
    /// Anything unexpected (500).
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl PageError {
    /// Maps a backend failure on page `retry`: an ended session becomes a sign-in redirect.
    pub fn backend(error: BackendError, retry: &str) -> Self {
        match error {
            BackendError::Unauthorized => Self::SessionExpired {
                next: retry.to_owned(),
            },
            BackendError::NotFound => Self::NotFound,
            error => Self::Backend {
                error,
                retry: retry.to_owned(),
            },
        }
    }
}

/// The error page.
#[derive(Debug, Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub shell: Shell,
    pub status: u16,
    pub heading: String,
    pub message: String,
    pub retry: Option<String>,
}

impl ErrorPage {
    /// Renders the page with `status`; falls back to plain text if rendering fails.
    pub fn respond(self, status: StatusCode) -> Response {
        match self.render() {
            Ok(html) => (status, Html(html)).into_response(),
            Err(err) => {
                tracing::error!(error = %err, "rendering the error page failed");
                (status, "Something went wrong. Please try again.").into_response()
            }
        }
    }
}

const TIMEOUT_HEADING: &str = "This is taking too long";
const TIMEOUT_MESSAGE: &str =
    "The task service did not answer in time. Your data is safe; please try again in a moment.";

fn page(status: StatusCode, heading: &str, message: &str, retry: Option<String>) -> Response {
    ErrorPage {
        shell: Shell::new(heading, "", ""),
        status: status.as_u16(),
        heading: heading.to_owned(),
        message: message.to_owned(),
        retry,
    }
    .respond(status)
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self {
            Self::Forbidden => page(
                StatusCode::FORBIDDEN,
                "This form could not be accepted",
                "It was sent from another site, or the page was open too long. Go back, reload the page and try again.",
                None,
            ),
            Self::NotFound => page(
                StatusCode::NOT_FOUND,
                "Page not found",
                "There is nothing here. It may have been deleted.",
                None,
            ),
            Self::BadRequest => page(
                StatusCode::BAD_REQUEST,
                "This request could not be understood",
                "The address or the form was not one this site sends. Go back, reload the page and try again.",
                None,
            ),
            Self::TimedOut { retry } => {
                tracing::warn!("request timed out");
                page(
                    StatusCode::GATEWAY_TIMEOUT,
                    TIMEOUT_HEADING,
                    TIMEOUT_MESSAGE,
                    retry,
                )
            }
            Self::MethodNotAllowed => page(
                StatusCode::METHOD_NOT_ALLOWED,
                "Not possible here",
                "This page cannot be used that way. Go back and use the links and buttons on the page.",
                None,
            ),
            Self::PayloadTooLarge => page(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Too much text",
                "The form was too large to accept. Shorten it and try again.",
                None,
            ),
            Self::SessionExpired { next } => {
                let target = format!(
                    "{}{}expired=1",
                    login_url(&next),
                    if login_url(&next).contains('?') {
                        "&"
                    } else {
                        "?"
                    }
                );
                (end_session(CookieJar::new()), Redirect::to(&target)).into_response()
            }
            Self::Backend { error, retry } => {
                let (status, heading, message) = match &error {
                    BackendError::Timeout => (
                        StatusCode::GATEWAY_TIMEOUT,
                        TIMEOUT_HEADING,
                        TIMEOUT_MESSAGE,
                    ),
                    BackendError::Unavailable(_) => (
                        StatusCode::SERVICE_UNAVAILABLE,
                        "TaskFlow is temporarily unavailable",
                        "The task service cannot be reached right now. Your data is safe; please try again in a moment.",
                    ),
                    BackendError::RateLimited(_) => (
                        StatusCode::TOO_MANY_REQUESTS,
                        "Too many attempts",
                        "Please wait a minute before trying again.",
                    ),
                    _ => (
                        StatusCode::BAD_GATEWAY,
                        "Something went wrong",
                        "The task service gave an unexpected answer. Please try again.",
                    ),
                };
                tracing::warn!(error = %error, status = status.as_u16(), "backend call failed");
                page(status, heading, message, Some(retry))
            }
            Self::Internal(err) => {
                tracing::error!(error = format!("{err:#}"), "page failed");
                page(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    "An unexpected error happened on our side. Please try again.",
                    None,
                )
            }
        }
    }
}
