//! The check catalog over HTTP: `GET /api/v1/checks` and `GET /api/v1/checks/{id}` on a real server
//! with a fresh PostgreSQL database.

use palisade::checks::catalog;
use palisade::domain::Role;
use serde_json::Value;

use crate::helpers::{bearer_client, spawn_app};

#[tokio::test]
async fn a_viewer_can_list_the_whole_check_catalog() {
    let app = spawn_app().await;
    let viewer = app.create_user(Role::Viewer).await;
    let token = app.create_token(&viewer, Role::Viewer).await;
    let resp = bearer_client(&token).get(app.url("/api/v1/checks")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    let items = body["items"].as_array().unwrap();
    assert_eq!(items.len(), catalog().len());
    let anon = items.iter().find(|c| c["id"] == "PAL-AUTHN-001").unwrap();
    assert_eq!(anon["area"], "authn");
    assert_eq!(anon["severity"], "high");
    assert_eq!(anon["refs"][0]["framework"], "cis-1.12");
    assert_eq!(anon["refs"][0]["id"], "1.2.1");
    assert_eq!(anon["refs"][0]["title"], "--anonymous-auth argument is set to false");
    assert_eq!(anon["refs"][0]["automated"], false);
    assert!(anon["remediation"].as_str().unwrap().contains("--anonymous-auth=false"));
}

#[tokio::test]
async fn the_catalog_filters_by_area_severity_and_control() {
    let app = spawn_app().await;
    let get = |q: &'static str| {
        let client = app.admin.clone();
        let url = app.url(&format!("/api/v1/checks?{q}"));
        async move { client.get(url).send().await.unwrap() }
    };
    let body: Value = get("area=tls").await.json().await.unwrap();
    let items = body["items"].as_array().unwrap();
    assert!(!items.is_empty());
    assert!(items.iter().all(|c| c["area"] == "tls"));

    let body: Value = get("min_severity=critical").await.json().await.unwrap();
    assert!(body["items"].as_array().unwrap().iter().all(|c| c["severity"] == "critical"));

    let body: Value = get("control=cis-1.12:2.2").await.json().await.unwrap();
    let ids: Vec<&str> =
        body["items"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["PAL-TLS-011"]);

    let resp = get("area=moat").await;
    assert_eq!(resp.status(), 400);
    assert_eq!(resp.headers()["content-type"], "application/problem+json");
    let problem: Value = resp.json().await.unwrap();
    assert!(problem["detail"].as_str().unwrap_or_default().contains("moat"), "{problem}");
}

#[tokio::test]
async fn one_check_is_served_by_id_and_an_unknown_id_is_a_404_problem() {
    let app = spawn_app().await;
    let resp = app.admin.get(app.url("/api/v1/checks/PAL-TLS-009")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["id"], "PAL-TLS-009");
    assert_eq!(body["refs"][0]["id"], "1.2.28");

    let resp = app.admin.get(app.url("/api/v1/checks/PAL-NOPE-999")).send().await.unwrap();
    assert_eq!(resp.status(), 404);
    let problem: Value = resp.json().await.unwrap();
    assert!(problem["detail"].as_str().unwrap_or_default().contains("PAL-NOPE-999"), "{problem}");
}

#[tokio::test]
async fn the_catalog_refuses_anonymous_callers() {
    let app = spawn_app().await;
    let resp = reqwest::get(app.url("/api/v1/checks")).await.unwrap();
    assert_eq!(resp.status(), 401);
    let resp = reqwest::get(app.url("/api/v1/checks/PAL-AUTHN-001")).await.unwrap();
    assert_eq!(resp.status(), 401);
}
