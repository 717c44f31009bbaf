//! The RBAC API over HTTP, answering from a cluster's latest stored snapshot (stored through the
//! store as the scheduler stores it, from a real dump with a backdoor).

use palisade::collect::dump;
use palisade::domain::Role;
use palisade::store::scans::{self, ScanOutcome};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::{assert_problem, spawn_app, TestApp};
use crate::rbac_checks::{kubeadm_default_with, BACKDOOR};

async fn cluster_with_snapshot(app: &TestApp, name: &str) -> Uuid {
    let id: Uuid = app.register_cluster(name, json!({})).await["id"].as_str().unwrap().parse().unwrap();
    let dir = kubeadm_default_with(BACKDOOR);
    let snapshot = dump::collect(dir.path()).unwrap();
    scans::request(&app.pool, id, None).await.unwrap();
    let claim = scans::claim(&app.pool, "test", 1, None, std::time::Duration::from_secs(30), 3)
        .await
        .unwrap()
        .remove(0);
    scans::complete(
        &app.pool,
        &claim,
        &ScanOutcome { results: vec![], snapshot: Some(snapshot), partial: false },
        1,
    )
    .await
    .unwrap();
    id
}

#[tokio::test]
async fn a_viewer_asks_who_can_impersonate_and_sees_the_backdoor_service_account() {
    let app = spawn_app().await;
    let id = cluster_with_snapshot(&app, "shop-prod").await;
    let viewer = app.client_with_role(Role::Viewer).await;
    let resp = viewer
        .get(app.url(&format!("/api/v1/clusters/{id}/rbac/who-can?verb=impersonate&resource=users")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let answer: Value = resp.json().await.unwrap();
    let outsiders: Vec<&Value> =
        answer["allowed"].as_array().unwrap().iter().filter(|e| e.get("system_default").is_none()).collect();
    assert_eq!(outsiders.len(), 1, "{answer:#}");
    assert_eq!(
        outsiders[0]["subject"],
        json!({"kind": "ServiceAccount", "name": "web-backend", "namespace": "shop"})
    );
    assert_eq!(outsiders[0]["binding"]["name"], "metrics-helper");
    assert_eq!(outsiders[0]["role"]["name"], "metrics-helper");

    // Namespace-scoped question: secrets in kube-system.
    let resp = viewer
        .get(app.url(&format!(
            "/api/v1/clusters/{id}/rbac/who-can?verb=get&resource=secrets&namespace=kube-system"
        )))
        .send()
        .await
        .unwrap();
    let answer: Value = resp.json().await.unwrap();
    let names: Vec<&str> = answer["allowed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["subject"]["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"token-cleaner") && names.contains(&"system:masters"), "{names:?}");
    assert!(!names.contains(&"web-backend"));
}

#[tokio::test]
async fn a_viewer_reads_what_a_service_account_can_do() {
    let app = spawn_app().await;
    let id = cluster_with_snapshot(&app, "shop-prod").await;
    let viewer = app.client_with_role(Role::Viewer).await;
    let resp = viewer
        .get(app.url(&format!("/api/v1/clusters/{id}/rbac/subjects/ServiceAccount/shop:web-backend")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let p: Value = resp.json().await.unwrap();
    assert_eq!(p["identity"]["user"], "system:serviceaccount:shop:web-backend");
    let grant =
        p["grants"].as_array().unwrap().iter().find(|g| g["binding"]["name"] == "metrics-helper").unwrap();
    assert_eq!(grant["scope"], json!({"scope": "cluster"}));
    assert!(grant["rules"].as_array().unwrap().iter().any(|r| r["rule"]["verbs"] == json!(["impersonate"])));
}

#[tokio::test]
async fn bad_questions_unknown_clusters_and_anonymous_callers_get_problems() {
    let app = spawn_app().await;
    let id = cluster_with_snapshot(&app, "shop-prod").await;
    let detail = assert_problem(
        app.admin
            .get(app.url(&format!("/api/v1/clusters/{id}/rbac/who-can?verb=get&resource=gizmos")))
            .send()
            .await
            .unwrap(),
        400,
    )
    .await;
    assert!(detail.contains("RESOURCE.GROUP"), "{detail}");
    let detail = assert_problem(
        app.admin
            .get(app.url(&format!("/api/v1/clusters/{id}/rbac/subjects/Robot/r2")))
            .send()
            .await
            .unwrap(),
        400,
    )
    .await;
    assert!(detail.contains("User, Group or ServiceAccount"), "{detail}");
    let other: Uuid =
        app.register_cluster("never-scanned", json!({})).await["id"].as_str().unwrap().parse().unwrap();
    let detail = assert_problem(
        app.admin
            .get(app.url(&format!("/api/v1/clusters/{other}/rbac/who-can?verb=get&resource=pods")))
            .send()
            .await
            .unwrap(),
        404,
    )
    .await;
    assert!(detail.contains("no stored scan snapshot"), "{detail}");
    assert_problem(
        app.admin
            .get(app.url(&format!("/api/v1/clusters/{}/rbac/who-can?verb=get&resource=pods", Uuid::new_v4())))
            .send()
            .await
            .unwrap(),
        404,
    )
    .await;
    let anonymous = reqwest::Client::new();
    assert_problem(
        anonymous
            .get(app.url(&format!("/api/v1/clusters/{id}/rbac/who-can?verb=get&resource=pods")))
            .send()
            .await
            .unwrap(),
        401,
    )
    .await;
}
