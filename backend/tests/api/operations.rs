//! Health, readiness, metrics, the API description, request ids, CORS and error shapes.

use reqwest::StatusCode;

use crate::helpers::{json_body, spawn_app};

#[tokio::test]
async fn liveness_and_readiness_answer_once_migrated() {
    let app = spawn_app().await;
    let health = json_body(app.get("/healthz", None).await, StatusCode::OK).await;
    assert_eq!(health["status"], "ok");
    let ready = json_body(app.get("/readyz", None).await, StatusCode::OK).await;
    assert_eq!(ready["status"], "ready");
}
