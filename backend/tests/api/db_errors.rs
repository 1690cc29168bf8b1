//! Which database failures become `503 unavailable` (the connection was lost: retrying can
//! work) and which stay `500 internal` (the query itself failed).

use std::time::{Duration, Instant};

use diesel::result::{DatabaseErrorKind, Error};
use diesel::sql_types::Integer;
use diesel::{QueryableByName, sql_query};
use diesel_async::RunQueryDsl as _;
use http::StatusCode as HttpStatus;
use reqwest::StatusCode;
use serde_json::json;
use taskflow_backend::error::ApiError;

use crate::helpers::{assert_error, json_body, spawn_app};

fn database_error(kind: DatabaseErrorKind, message: &str) -> Error {
    Error::DatabaseError(kind, Box::new(message.to_owned()))
}

#[test]
fn a_lost_connection_or_a_server_shutdown_is_503_unavailable() {
    let cases = [
        (
            DatabaseErrorKind::ClosedConnection,
            "server closed the connection",
        ),
        (DatabaseErrorKind::UnableToSendCommand, "connection closed"),
        (
            DatabaseErrorKind::UnableToSendCommand,
            "error communicating with the server: Broken pipe (os error 32)",
        ),
        (
            DatabaseErrorKind::UnableToSendCommand,
            "error communicating with the server: Connection reset by peer (os error 104)",
        ),
        // 57P01 admin_shutdown: `pg_ctl stop -m fast`, `pg_terminate_backend`.
        (
            DatabaseErrorKind::Unknown,
            "terminating connection due to administrator command",
        ),
        // 57P02 crash_shutdown.
        (
            DatabaseErrorKind::Unknown,
            "terminating connection because of crash of another server process",
        ),
        // 57P03 cannot_connect_now.
        (
            DatabaseErrorKind::Unknown,
            "the database system is shutting down",
        ),
        (
            DatabaseErrorKind::Unknown,
            "the database system is starting up",
        ),
        (
            DatabaseErrorKind::Unknown,
            "the database system is in recovery mode",
        ),
        // 57P05 idle_session_timeout.
        (
            DatabaseErrorKind::Unknown,
            "terminating connection due to idle-session timeout",
        ),
    ];
    for (kind, message) in cases {
        let error = ApiError::from(database_error(kind, message));
        assert_eq!(
            error.status(),
            HttpStatus::SERVICE_UNAVAILABLE,
            "{kind:?} {message:?} gave {error:?}"
        );
        assert!(
            matches!(error, ApiError::Unavailable(_)),
            "{kind:?} {message:?} gave {error:?}"
        );
    }
}

#[test]
fn a_failing_query_on_a_working_connection_stays_500() {
    let cases = [
        // 42703 undefined_column: a broken schema, not an outage.
        (
            DatabaseErrorKind::Unknown,
            "column \"title\" does not exist",
        ),
        // 22021 character_not_in_repertoire.
        (
            DatabaseErrorKind::Unknown,
            "invalid byte sequence for encoding \"UTF8\": 0x00",
        ),
        // A client-side bug reported without a SQLSTATE.
        (
            DatabaseErrorKind::UnableToSendCommand,
            "expected 2 parameters but got 1",
        ),
        (
            DatabaseErrorKind::UniqueViolation,
            "terminating connection due to administrator command",
        ),
        // The prefix must be at the start: this is a constraint message, not a shutdown.
        (
            DatabaseErrorKind::Unknown,
            "value violates check: connection closed",
        ),
    ];
    for (kind, message) in cases {
        let error = ApiError::from(database_error(kind, message));
        assert_eq!(
            error.status(),
            HttpStatus::INTERNAL_SERVER_ERROR,
            "{kind:?} {message:?} gave {error:?}"
        );
    }
    assert!(matches!(
        ApiError::from(Error::NotFound),
        ApiError::NotFound
    ));
}

#[derive(QueryableByName)]
struct Pid {
    #[diesel(sql_type = Integer)]
    pid: i32,
}

/// The server process of a query of this database that waits for a lock, once there is one.
async fn wait_for_blocked_query(conn: &mut diesel_async::AsyncPgConnection) -> i32 {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let blocked = sql_query(
            "SELECT pid FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid() \
             AND wait_event_type = 'Lock'",
        )
        .load::<Pid>(conn)
        .await
        .expect("reading pg_stat_activity");
        if let Some(row) = blocked.into_iter().next() {
            return row.pid;
        }
        assert!(
            Instant::now() < deadline,
            "no query started waiting for the lock within 10 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_request_whose_connection_is_terminated_mid_query_gets_503_and_requests_succeed_again() {
    let app = spawn_app().await;
    let user = app.signed_up_user().await;
    app.create_task(&user, &json!({ "title": "before the cut" }))
        .await;

    // Hold the tasks table so that the list query is surely running when its server
    // process is terminated (the same FATAL 57P01 that `pg_ctl stop -m fast` sends).
    let mut locker = app.db.connection().await;
    sql_query("BEGIN")
        .execute(&mut locker)
        .await
        .expect("beginning");
    sql_query("LOCK TABLE tasks IN ACCESS EXCLUSIVE MODE")
        .execute(&mut locker)
        .await
        .expect("locking tasks");
    let mut observer = app.db.connection().await;
    let terminate = async {
        let pid = wait_for_blocked_query(&mut observer).await;
        sql_query(format!("SELECT pg_terminate_backend({pid})"))
            .execute(&mut observer)
            .await
            .expect("terminating the blocked query");
    };
    let (response, ()) = tokio::join!(app.get("/api/tasks", Some(&user.token)), terminate);
    assert_error(response, StatusCode::SERVICE_UNAVAILABLE, "unavailable").await;

    sql_query("ROLLBACK")
        .execute(&mut locker)
        .await
        .expect("releasing the lock");
    // The pool may hand out the terminated connection once more before it notices that it
    // is closed (that request is a 503 too); within a few seconds requests succeed again.
    let deadline = Instant::now() + Duration::from_secs(5);
    let list = loop {
        let response = app.get("/api/tasks", Some(&user.token)).await;
        if response.status() == StatusCode::OK || Instant::now() > deadline {
            break json_body(response, StatusCode::OK).await;
        }
        assert_error(response, StatusCode::SERVICE_UNAVAILABLE, "unavailable").await;
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(list["total"], 1, "{list}");
}
