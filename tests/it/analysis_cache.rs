//! The scan analysis cache behind the RBAC and network API: a second request is answered from the
//! cached analyses of the scan, with exactly the answer the first (a miss) got, and a newer scan
//! is analyzed afresh.

use std::time::Duration;

use palisade::snapshot::Snapshot;
use palisade::store::scans::{self, ScanOutcome};
use serde_json::json;
use uuid::Uuid;

use crate::helpers::{spawn_app, TestApp};

fn shop() -> Snapshot {
    palisade::collect::dump::collect(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/fixtures/netpol-shop"))
        .expect("fixture dump reads")
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

async fn body(app: &TestApp, path: &str) -> (u16, String) {
    let resp = app.admin.get(app.url(path)).send().await.unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

#[tokio::test]
async fn answers_from_the_cache_are_identical_to_answers_built_afresh() {
    let app = spawn_app().await;
    let id: Uuid =
        app.register_cluster("shop-prod", json!({})).await["id"].as_str().unwrap().parse().unwrap();
    store(&app, id, shop()).await;
    let paths = [
        format!("/api/v1/clusters/{id}/network/reachability"),
        format!("/api/v1/clusters/{id}/network/reachability?system=true"),
        format!("/api/v1/clusters/{id}/network/namespaces/shop"),
        format!("/api/v1/clusters/{id}/rbac/who-can?verb=get&resource=secrets&namespace=shop"),
        format!("/api/v1/clusters/{id}/rbac/subjects/User/alice"),
    ];
    assert!(app.state.analyses.is_empty());
    let mut first = Vec::new();
    for p in &paths {
        first.push(body(&app, p).await);
    }
    let (hits, misses) = app.state.analyses.stats();
    assert_eq!(misses, 1, "one scan, analyzed once");
    assert_eq!(hits, paths.len() as u64 - 1);
    for (p, miss) in paths.iter().zip(&first) {
        assert_eq!(miss.0, 200, "{p}: {}", miss.1);
        let hit = body(&app, p).await;
        assert_eq!(&hit, miss, "{p} answers the same from the cache");
    }
    assert_eq!(app.state.analyses.stats(), (hits + paths.len() as u64, 1));

    // A cache that keeps nothing rebuilds every time and still answers the same.
    let cold = crate::helpers::spawn_app_with(|s| s.server.analysis_cache_entries = 0).await;
    let cid: Uuid =
        cold.register_cluster("shop-prod", json!({})).await["id"].as_str().unwrap().parse().unwrap();
    store(&cold, cid, shop()).await;
    for (p, miss) in paths.iter().zip(&first) {
        let rebuilt = body(&cold, &p.replace(&id.to_string(), &cid.to_string())).await;
        assert_eq!(&rebuilt, miss, "{p} answers the same without a cache");
    }
    assert!(cold.state.analyses.is_empty());
    assert_eq!(cold.state.analyses.stats().1, paths.len() as u64);
}

#[tokio::test]
async fn a_newer_scan_is_analyzed_afresh() {
    let app = spawn_app().await;
    let id: Uuid =
        app.register_cluster("shop-prod", json!({})).await["id"].as_str().unwrap().parse().unwrap();
    store(&app, id, shop()).await;
    let path = format!("/api/v1/clusters/{id}/network/namespaces/shop");
    let before = body(&app, &path).await;
    assert_eq!(before.0, 200);
    assert!(before.1.contains("\"policies\":[{"), "{}", before.1);

    let mut open = shop();
    open.network_policies.items.retain(|p| p.namespace != "shop");
    store(&app, id, open).await;
    let after = body(&app, &path).await;
    assert_eq!(after.0, 200);
    assert!(after.1.contains("\"policies\":[]"), "the new scan has no policy in shop: {}", after.1);
    assert_eq!(app.state.analyses.stats().1, 2, "the newer scan was a miss");
    assert_eq!(app.state.analyses.len(), 2);
}
