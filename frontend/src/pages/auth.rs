//! Sign in, create an account, sign out.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use axum_extra::extract::cookie::CookieJar;
use http::StatusCode;
use serde::Deserialize;

use super::render;
use crate::backend::{BackendClient, BackendError};
use crate::csrf::CsrfToken;
use crate::error::PageError;
use crate::session::{
    CurrentUser, Flash, RequestInfo, end_session, safe_next, set_flash, start_session, take_flash,
};
use crate::state::CookieSettings;
use crate::views::{FieldErrors, Shell};

/// The sign-in page.
#[derive(Debug, Template)]
#[template(path = "login.html")]
pub struct LoginPage {
    pub shell: Shell,
    pub email: String,
    pub next: String,
    pub notice: Option<String>,
    pub error: Option<String>,
}

/// The registration page.
#[derive(Debug, Template)]
#[template(path = "register.html")]
pub struct RegisterPage {
    pub shell: Shell,
    pub name: String,
    pub email: String,
    pub errors: FieldErrors,
    pub error: Option<String>,
}

/// Query of `GET /login`.
#[derive(Debug, Default, Deserialize)]
pub struct LoginQuery {
    #[serde(default)]
    next: String,
    #[serde(default)]
    expired: Option<String>,
    #[serde(default)]
    registered: Option<String>,
}

/// Form of `POST /login`.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

/// Form of `POST /register`.
#[derive(Debug, Deserialize)]
pub struct RegisterForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_confirm: String,
}

fn next_or_tasks(next: &str) -> String {
    safe_next(next).unwrap_or("/tasks").to_owned()
}

/// `GET /login`.
pub async fn login_form(
    Extension(csrf): Extension<CsrfToken>,
    jar: CookieJar,
    Query(query): Query<LoginQuery>,
) -> Result<Response, PageError> {
    let (jar, flash) = take_flash(jar);
    let notice = if query.registered.is_some() {
        Some("Your account is ready. Sign in to continue.".to_owned())
    } else if query.expired.is_some() {
        Some("Your session has ended. Sign in again to continue.".to_owned())
    } else {
        None
    };
    let page = LoginPage {
        shell: Shell::new("Sign in", "login", &csrf.0).with_flash(flash),
        email: String::new(),
        next: safe_next(&query.next).unwrap_or_default().to_owned(),
        notice,
        error: None,
    };
    Ok((jar, render(&page)?).into_response())
}

/// `POST /login`.
pub async fn login(
    State(backend): State<BackendClient>,
    cookies: CookieSettings,
    Extension(csrf): Extension<CsrfToken>,
    info: RequestInfo,
    jar: CookieJar,
    Form(form): Form<LoginForm>,
) -> Result<Response, PageError> {
    let again = |status: StatusCode, message: String| -> Result<Response, PageError> {
        let page = LoginPage {
            shell: Shell::new("Sign in", "login", &csrf.0),
            email: form.email.clone(),
            next: safe_next(&form.next).unwrap_or_default().to_owned(),
            notice: None,
            error: Some(message),
        };
        Ok((status, render(&page)?).into_response())
    };
    if form.email.trim().is_empty() || form.password.is_empty() {
        return again(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Enter your email and your password.".to_owned(),
        );
    }
    match backend
        .login(&info.anonymous(), form.email.trim(), &form.password)
        .await
    {
        Ok(session) => {
            tracing::info!(user_id = %session.user.id, "signed in");
            let jar = start_session(
                jar,
                &cookies,
                session.access_token,
                &session.user.name,
                session.expires_at,
            );
            let jar = set_flash(
                jar,
                &cookies,
                &Flash::success(format!("Welcome, {}.", session.user.name)),
            );
            let jar = jar.add(crate::csrf::fresh_cookie(cookies.secure));
            Ok((jar, Redirect::to(&next_or_tasks(&form.next))).into_response())
        }
        Err(BackendError::InvalidCredentials | BackendError::Unauthorized) => again(
            StatusCode::UNAUTHORIZED,
            "Incorrect email or password.".to_owned(),
        ),
        Err(BackendError::Validation { .. }) => again(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Enter your email and your password.".to_owned(),
        ),
        Err(BackendError::RateLimited(seconds)) => again(
            StatusCode::TOO_MANY_REQUESTS,
            format!("Too many sign-in attempts. Try again in {seconds} seconds."),
        ),
        Err(err) => Err(PageError::backend(err, "/login")),
    }
}

/// `GET /register`.
pub async fn register_form(
    Extension(csrf): Extension<CsrfToken>,
    jar: CookieJar,
) -> Result<Response, PageError> {
    let (jar, flash) = take_flash(jar);
    let page = RegisterPage {
        shell: Shell::new("Create an account", "register", &csrf.0).with_flash(flash),
        name: String::new(),
        email: String::new(),
        errors: FieldErrors::default(),
        error: None,
    };
    Ok((jar, render(&page)?).into_response())
}

/// `POST /register`.
pub async fn register(
    State(backend): State<BackendClient>,
    Extension(csrf): Extension<CsrfToken>,
    info: RequestInfo,
    Form(form): Form<RegisterForm>,
) -> Result<Response, PageError> {
    let again = |status: StatusCode,
                 errors: FieldErrors,
                 error: Option<String>|
     -> Result<Response, PageError> {
        let page = RegisterPage {
            shell: Shell::new("Create an account", "register", &csrf.0),
            name: form.name.clone(),
            email: form.email.clone(),
            errors,
            error,
        };
        Ok((status, render(&page)?).into_response())
    };
    if form.password != form.password_confirm {
        let mut errors = FieldErrors::default();
        errors.add("password_confirm", "The two passwords do not match.");
        return again(StatusCode::UNPROCESSABLE_ENTITY, errors, None);
    }
    match backend
        .register(&info.anonymous(), &form.name, &form.email, &form.password)
        .await
    {
        Ok(user) => {
            tracing::info!(user_id = %user.id, "account created");
            Ok(Redirect::to("/login?registered=1").into_response())
        }
        Err(BackendError::Validation { message, fields }) => again(
            StatusCode::UNPROCESSABLE_ENTITY,
            FieldErrors::from_backend(&message, fields),
            None,
        ),
        Err(BackendError::Conflict(_)) => {
            let mut errors = FieldErrors::default();
            errors.add(
                "email",
                "An account with this email already exists. Sign in instead?",
            );
            again(StatusCode::CONFLICT, errors, None)
        }
        Err(BackendError::RateLimited(seconds)) => again(
            StatusCode::TOO_MANY_REQUESTS,
            FieldErrors::default(),
            Some(format!(
                "Too many attempts. Try again in {seconds} seconds."
            )),
        ),
        Err(err) => Err(PageError::backend(err, "/register")),
    }
}

/// `POST /logout`: ends the session here and at the backend.
pub async fn logout(
    State(backend): State<BackendClient>,
    cookies: CookieSettings,
    user: Result<CurrentUser, crate::session::LoginRequired>,
    info: RequestInfo,
    jar: CookieJar,
) -> Response {
    if let Ok(user) = user {
        match backend.logout(&info.as_user(&user)).await {
            Ok(()) | Err(BackendError::Unauthorized) => {}
            // The cookie goes anyway; the token expires on its own.
            Err(err) => tracing::warn!(error = %err, "revoking the token at sign-out failed"),
        }
    }
    let jar = set_flash(
        end_session(jar),
        &cookies,
        &Flash::success("You have signed out."),
    );
    (jar, Redirect::to("/login")).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn login_page(error: Option<&str>) -> LoginPage {
        LoginPage {
            shell: Shell::new("Sign in", "login", "tok123"),
            email: "\"><script>alert(1)</script>".to_owned(),
            next: "/tasks?tag=a&b=\"c\"".to_owned(),
            notice: Some("Your <session> has ended.".to_owned()),
            error: error.map(str::to_owned),
        }
    }

    #[test]
    fn the_login_page_escapes_what_it_repeats_and_never_fills_the_password() {
        let html = login_page(Some("Incorrect email or password."))
            .render()
            .unwrap();
        assert!(!html.contains("<script>alert"));
        assert!(html.contains("value=\"&#34;&#62;&#60;script&#62;alert(1)&#60;/script&#62;\""));
        assert!(html.contains(
            "<input type=\"hidden\" name=\"next\" value=\"/tasks?tag=a&#38;b=&#34;c&#34;\">"
        ));
        assert!(html.contains("<input type=\"hidden\" name=\"csrf\" value=\"tok123\">"));
        assert!(html.contains("Your &#60;session&#62; has ended."));
        assert!(html.contains(
            "<input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required>"
        ));
        assert!(html.contains("aria-describedby=\"login-error\" aria-invalid=\"true\""));
        assert!(html.contains("<p class=\"form-error\" role=\"alert\" id=\"login-error\">Incorrect email or password.</p>"));
    }

    #[test]
    fn the_login_page_without_an_error_marks_nothing_invalid() {
        let html = login_page(None).render().unwrap();
        assert!(!html.contains("aria-invalid"));
        assert!(!html.contains("role=\"alert\""));
        assert!(html.contains("aria-current=\"page\">Sign in</a>"));
    }

    #[test]
    fn the_register_page_repeats_name_and_email_escaped_but_no_password() {
        let mut errors = FieldErrors::default();
        errors.add("password_confirm", "The two passwords do not match.");
        errors.add("email", "Email must be <valid>.");
        let html = RegisterPage {
            shell: Shell::new("Create an account", "register", "tok123"),
            name: "Ann \"<b>\" Lee".to_owned(),
            email: "ann@example.com".to_owned(),
            errors,
            error: Some("Too many attempts. Try again in 60 seconds.".to_owned()),
        }
        .render()
        .unwrap();
        assert!(html.contains("value=\"Ann &#34;&#60;b&#62;&#34; Lee\""));
        assert!(html.contains(
            "value=\"ann@example.com\" aria-invalid=\"true\" aria-describedby=\"email-error\""
        ));
        assert!(html.contains(
            "<p class=\"field-error\" id=\"email-error\">Email must be &#60;valid&#62;.</p>"
        ));
        assert!(html.contains("aria-invalid=\"true\" aria-describedby=\"password_confirm-error\""));
        assert!(html.contains("id=\"password_confirm-error\">The two passwords do not match.</p>"));
        assert!(
            html.contains("aria-describedby=\"password-hint\">"),
            "password itself is fine"
        );
        assert!(html.contains(
            "<p class=\"form-error\" role=\"alert\">Too many attempts. Try again in 60 seconds.</p>"
        ));
        for id in ["password", "password_confirm"] {
            let start = html.find(&format!("<input id=\"{id}\"")).unwrap();
            let tag = &html[start..start + html[start..].find('>').unwrap()];
            assert!(!tag.contains("value="), "{id} is never filled: {tag}");
        }
        assert!(!html.contains("aria-describedby=\"name-error\""));
    }

    #[test]
    fn next_paths_fall_back_to_the_tasks_page() {
        assert_eq!(next_or_tasks("/tasks?page=2"), "/tasks?page=2");
        assert_eq!(next_or_tasks("//evil.example"), "/tasks");
        assert_eq!(next_or_tasks(""), "/tasks");
    }
}
