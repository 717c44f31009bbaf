//! The network API over HTTP: the reachability matrix and the namespace view of a cluster's
//! latest stored scan, with problem+json errors. Scans are stored through the store, as the
//! scheduler stores them; the snapshot is read from a dump by the real dump collector.

use std::time::Duration;

use palisade::domain::Role;
use palisade::snapshot::{Evidence, GapReason, Snapshot};
use palisade::store::scans::{self, ScanOutcome};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::{assert_problem, cookie_client, spawn_app, TestApp};

fn shop() -> Snapshot {
    palisade::collect::dump::collect(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/fixtures/netpol-shop"))
        .expect("fixture dump reads")
}

async fn cluster(app: &TestApp, name: &str) -> Uuid {
    app.register_cluster(name, json!({})).await["id"].as_str().unwrap().parse().unwrap()
}

async fn store(app: &TestApp, cluster: Uuid, snapshot: Snapshot) {
    scans::request(&app.pool, cluster, None).await.unwrap();
    let claim = scans::claim(&app.pool, "test", 1, None, Duration::from_secs(30), 3).await.unwrap().remove(0);
    scans::complete(
        &app.pool,
        &claim,
        &ScanOutcome { results: vec![], snapshot: Some(snapshot), partial: false },
        5,
    )
    .await
    .unwrap();
}

fn cell<'a>(report: &'a Value, from: &str, to: &str) -> Option<&'a str> {
    report["cells"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["from"] == from && c["to"] == to)
        .map(|c| c["ports"].as_str().unwrap())
}

#[tokio::test]
async fn a_viewer_reads_the_reachability_matrix_of_the_latest_scan() {
    let app = spawn_app().await;
    let c = cluster(&app, "shop-prod").await;
    store(&app, c, shop()).await;
    let viewer = app.client_with_role(Role::Viewer).await;

    let resp =
        viewer.get(app.url(&format!("/api/v1/clusters/{c}/network/reachability"))).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let report: Value = resp.json().await.unwrap();
    assert_eq!(report["enforcement"]["state"], "enforced");
    assert_eq!(cell(&report, "blog", "shop"), Some("TCP 8080"));
    assert_eq!(cell(&report, "shop", "shop"), Some("TCP 5432"));
    assert_eq!(cell(&report, "shop", "blog"), None);
    let names: Vec<&str> =
        report["namespaces"].as_array().unwrap().iter().map(|n| n["name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["blog", "shop"], "system namespaces are left out by default");

    let with_system: Value = viewer
        .get(app.url(&format!("/api/v1/clusters/{c}/network/reachability?system=true")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(cell(&with_system, "shop", "kube-system"), Some("UDP 53"));
}

#[tokio::test]
async fn the_namespace_view_shows_which_policies_isolate_which_pods() {
    let app = spawn_app().await;
    let c = cluster(&app, "shop-prod").await;
    store(&app, c, shop()).await;
    let viewer = app.client_with_role(Role::Viewer).await;
    let resp =
        viewer.get(app.url(&format!("/api/v1/clusters/{c}/network/namespaces/shop"))).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let ns: Value = resp.json().await.unwrap();
    assert_eq!(ns["summary"]["default_deny_egress"], "default-deny");
    let db = ns["groups"].as_array().unwrap().iter().find(|g| g["owner"] == "StatefulSet db").unwrap();
    assert_eq!(db["ingress_policies"], json!(["db-from-api", "default-deny"]));
    assert_eq!(db["egress_isolated"], true);

    let missing =
        viewer.get(app.url(&format!("/api/v1/clusters/{c}/network/namespaces/nope"))).send().await.unwrap();
    assert!(assert_problem(missing, 404).await.contains("namespace nope"));
}

#[tokio::test]
async fn a_cluster_never_scanned_has_no_matrix_and_says_so() {
    let app = spawn_app().await;
    let c = cluster(&app, "fresh").await;
    let viewer = app.client_with_role(Role::Viewer).await;
    let resp =
        viewer.get(app.url(&format!("/api/v1/clusters/{c}/network/reachability"))).send().await.unwrap();
    assert!(assert_problem(resp, 404).await.contains("no stored scan snapshot"));
    let unknown = Uuid::new_v4();
    let resp = viewer
        .get(app.url(&format!("/api/v1/clusters/{unknown}/network/reachability")))
        .send()
        .await
        .unwrap();
    assert!(assert_problem(resp, 404).await.contains("no cluster"));
}

#[tokio::test]
async fn forbidden_pods_make_the_matrix_undecidable_instead_of_empty() {
    let app = spawn_app().await;
    let c = cluster(&app, "locked").await;
    let mut snap = shop();
    snap.pods = Evidence::unknown(None, GapReason::Forbidden, "pods is forbidden");
    store(&app, c, snap).await;
    let viewer = app.client_with_role(Role::Viewer).await;
    let resp =
        viewer.get(app.url(&format!("/api/v1/clusters/{c}/network/reachability"))).send().await.unwrap();
    let detail = assert_problem(resp, 409).await;
    assert!(detail.contains("pods") && detail.contains("forbidden"), "{detail}");
}

#[tokio::test]
async fn the_network_endpoints_refuse_anonymous_requests() {
    let app = spawn_app().await;
    let c = cluster(&app, "shop-prod").await;
    let anon = cookie_client();
    let resp = anon.get(app.url(&format!("/api/v1/clusters/{c}/network/reachability"))).send().await.unwrap();
    assert_problem(resp, 401).await;
}
