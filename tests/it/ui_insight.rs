//! The trends, network and RBAC pages as a logged-in viewer sees them (server-rendered HTML):
//! the SVG chart with its axis labels, the reachability heatmap with each cell's state in words
//! and its namespace click-through, the who-can answer and the risky subjects; empty states and
//! refused input.

use std::time::Duration;

use palisade::checks::{run_all, CheckOptions};
use palisade::domain::Role;
use palisade::snapshot::Snapshot;
use palisade::store::scans::{self, ScanOutcome};
use serde_json::json;
use uuid::Uuid;

use crate::helpers::{spawn_app, TestApp};
use crate::rbac_checks::{kubeadm_default_with, BACKDOOR};

fn shop() -> Snapshot {
    palisade::collect::dump::collect(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/fixtures/netpol-shop"))
        .expect("fixture dump reads")
}

/// Store a scan of `snapshot` with its real check results, as the scheduler does.
async fn store(app: &TestApp, cluster: Uuid, snapshot: Snapshot) {
    let results = run_all(&snapshot, &CheckOptions::default());
    // The scheduler keeps one state row per cluster (where the newest results are recorded).
    scans::ensure_cluster_states(&app.pool).await.unwrap();
    scans::request(&app.pool, cluster, None).await.unwrap();
    let claim = scans::claim(&app.pool, "test", 1, None, Duration::from_secs(30), 3).await.unwrap().remove(0);
    scans::complete(&app.pool, &claim, &ScanOutcome { results, snapshot: Some(snapshot), partial: false }, 5)
        .await
        .unwrap();
}

async fn cluster(app: &TestApp, name: &str) -> Uuid {
    app.register_cluster(name, json!({})).await["id"].as_str().unwrap().parse().unwrap()
}

async fn viewer(app: &TestApp) -> reqwest::Client {
    let user = app.create_user(Role::Viewer).await;
    app.login(&user.username, &user.password).await.0
}

async fn get(client: &reqwest::Client, app: &TestApp, path: &str) -> (u16, String) {
    let resp = client.get(app.url(path)).send().await.unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

#[tokio::test]
async fn the_trends_page_draws_an_svg_chart_per_cluster_with_axis_labels() {
    let app = spawn_app().await;
    let c = cluster(&app, "shop-prod").await;
    store(&app, c, shop()).await;
    let v = viewer(&app).await;

    let (status, page) = get(&v, &app, "/trends").await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("<svg id=\"trend-chart\""), "{page}");
    assert!(page.contains("score (%)") && page.contains("date (UTC)"), "axis labels");
    assert!(page.contains("<path d=\"M"), "a line is drawn: {page}");
    assert!(page.contains("Data collected at"), "the page says when its data was collected");

    let (status, page) = get(&v, &app, "/trends?metric=failures&by=cluster&days=7").await;
    assert_eq!(status, 200);
    assert!(page.contains("Failures over the last 7 days, by cluster"), "{page}");
    assert!(page.contains("data-series=\"shop-prod\""), "{page}");
    assert!(page.contains("failed results"));

    let (status, page) = get(&v, &app, "/trends?by=planet").await;
    assert_eq!(status, 400);
    assert!(page.contains("unknown split `planet`"), "{page}");
}

#[tokio::test]
async fn the_trends_page_without_clusters_says_what_to_do() {
    let app = spawn_app().await;
    let (status, page) = get(&viewer(&app).await, &app, "/trends").await;
    assert_eq!(status, 200);
    assert!(page.contains("No clusters registered yet"), "{page}");
}

#[tokio::test]
async fn the_network_heatmap_shows_each_cell_in_words_and_links_to_a_namespace() {
    let app = spawn_app().await;
    let c = cluster(&app, "shop-prod").await;
    store(&app, c, shop()).await;
    let never = cluster(&app, "never-scanned").await;
    let v = viewer(&app).await;

    let (status, page) = get(&v, &app, "/network").await;
    assert_eq!(status, 200);
    assert!(page.contains(&format!("/clusters/{c}/network\">shop-prod")), "{page}");

    let (status, page) = get(&v, &app, &format!("/clusters/{c}/network")).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("id=\"heatmap\""), "{page}");
    assert!(page.contains("title=\"blog → shop: TCP 8080\""), "{page}");
    assert!(page.contains("title=\"shop → blog: none\""), "{page}");
    assert!(page.contains(&format!("href=\"/clusters/{c}/network/shop\"")), "{page}");
    assert!(page.contains("enforces NetworkPolicies"), "{page}");

    let (status, page) = get(&v, &app, &format!("/clusters/{c}/network/shop")).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Namespace shop"));
    assert!(page.contains("id=\"policies\""));
    assert!(page.contains("blog</a>: TCP 8080"), "who can connect: {page}");

    let (status, page) = get(&v, &app, &format!("/clusters/{c}/network/no-such-ns")).await;
    assert_eq!(status, 404);
    assert!(page.contains("no-such-ns"));

    let (status, page) = get(&v, &app, &format!("/clusters/{never}/network")).await;
    assert_eq!(status, 200);
    assert!(page.contains("no stored scan yet"), "{page}");
    let (status, _) = get(&v, &app, &format!("/clusters/{}/network", Uuid::new_v4())).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn the_rbac_page_answers_who_can_and_lists_the_risky_subjects() {
    let app = spawn_app().await;
    let c = cluster(&app, "shop-prod").await;
    let dir = kubeadm_default_with(BACKDOOR);
    store(&app, c, palisade::collect::dump::collect(dir.path()).unwrap()).await;
    let v = viewer(&app).await;

    let (status, page) = get(&v, &app, &format!("/clusters/{c}/rbac")).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("id=\"risky\""));
    assert!(page.contains("ServiceAccount shop/web-backend"), "{page}");
    assert!(page.contains("escalate, bind or impersonate"), "{page}");
    assert!(!page.contains("id=\"who-can-answer\""), "no question, no answer");

    let (status, page) = get(&v, &app, &format!("/clusters/{c}/rbac?verb=impersonate&resource=users")).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("id=\"who-can-answer\""), "{page}");
    assert!(page.contains("ServiceAccount shop/web-backend"));
    assert!(page.contains("ClusterRoleBinding metrics-helper") || page.contains("metrics-helper"), "{page}");

    let (status, page) = get(&v, &app, &format!("/clusters/{c}/rbac?verb=get&resource=gizmos")).await;
    assert_eq!(status, 400);
    assert!(page.contains("RESOURCE.GROUP"), "{page}");

    let (status, page) = get(&v, &app, "/rbac").await;
    assert_eq!(status, 200);
    assert!(page.contains(&format!("/clusters/{c}/rbac\">shop-prod")), "{page}");
}

#[tokio::test]
async fn the_insight_pages_send_anonymous_visitors_to_the_login_page() {
    let app = spawn_app().await;
    let c = cluster(&app, "shop-prod").await;
    let anon = crate::helpers::cookie_client();
    for path in [
        "/trends".to_string(),
        "/network".into(),
        "/rbac".into(),
        format!("/clusters/{c}/network"),
        format!("/clusters/{c}/rbac"),
    ] {
        let resp = anon.get(app.url(&path)).send().await.unwrap();
        assert_eq!(resp.status(), 303, "{path}");
        assert_eq!(resp.headers()["location"], "/login", "{path}");
    }
}
