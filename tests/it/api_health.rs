//! Health probes, the OpenAPI document, Swagger UI and the error format.

use serde_json::Value;

use crate::helpers::{assert_problem, spawn_app, test_server_url};

#[tokio::test]
async fn healthz_answers_while_the_process_runs() {
    let app = spawn_app().await;
    let resp = reqwest::get(app.url("/healthz")).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.text().await.unwrap(), "ok");
}

#[tokio::test]
async fn readyz_turns_red_while_the_database_is_unavailable_and_green_again() {
    let app = spawn_app().await;
    let ready: Value = reqwest::get(app.url("/readyz")).await.unwrap().json().await.unwrap();
    assert_eq!(ready["database"], true);
    assert_eq!(ready["migrations"], true);

    // Take the database away: refuse new connections and end the existing ones.
    use sqlx::Connection;
    let mut admin = sqlx::PgConnection::connect(&test_server_url()).await.unwrap();
    sqlx::query(&format!("ALTER DATABASE \"{}\" ALLOW_CONNECTIONS false", app.db_name))
        .execute(&mut admin)
        .await
        .unwrap();
    sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1")
        .bind(&app.db_name)
        .execute(&mut admin)
        .await
        .unwrap();
    let resp = reqwest::get(app.url("/readyz")).await.unwrap();
    assert_eq!(resp.status(), 503);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["database"], false);
    assert!(body["reason"].as_str().unwrap().contains("database"), "{body}");
    // The API answers 503 with a problem document, it does not hang or crash.
    let resp = app.admin.get(app.url("/api/v1/clusters")).send().await.unwrap();
    assert_eq!(resp.headers()["retry-after"], "5", "a 503 says when to retry");
    assert_problem(resp, 503).await;

    sqlx::query(&format!("ALTER DATABASE \"{}\" ALLOW_CONNECTIONS true", app.db_name))
        .execute(&mut admin)
        .await
        .unwrap();
    let resp = reqwest::get(app.url("/readyz")).await.unwrap();
    assert_eq!(resp.status(), 200);
    let resp = app.admin.get(app.url("/api/v1/clusters")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn the_openapi_document_is_3_1_and_swagger_ui_is_served_locally() {
    let app = spawn_app().await;
    let doc: Value = reqwest::get(app.url("/api/openapi.json")).await.unwrap().json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"), "{}", doc["openapi"]);
    assert!(doc["paths"]["/api/v1/clusters"]["get"].is_object());
    let ui = reqwest::get(app.url("/api/docs/")).await.unwrap();
    assert_eq!(ui.status(), 200);
    assert!(ui.text().await.unwrap().contains("swagger-ui"));
    let bundle = reqwest::get(app.url("/api/docs/swagger-ui-bundle.js")).await.unwrap();
    assert_eq!(bundle.status(), 200);
}

#[tokio::test]
async fn unknown_api_routes_answer_a_problem_document() {
    let app = spawn_app().await;
    let resp = app.admin.get(app.url("/api/v1/nope")).send().await.unwrap();
    let detail = assert_problem(resp, 404).await;
    assert!(detail.contains("no such API route"));
}
