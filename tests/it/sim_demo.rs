//! `palisade serve --demo`: the four sample clusters are simulated in-process, registered
//! through the registry like any other cluster, reachable, and re-pointed (not duplicated) when
//! the demo starts again against the same database.

use std::time::Duration;

use palisade::sim::demo::DemoFleet;
use serde_json::Value;

use crate::helpers::spawn_app_with;

/// The newest scan of a cluster once it has finished (bounded wait; the scheduler runs it).
async fn finished_scan(app: &crate::helpers::TestApp, cluster: uuid::Uuid) -> Value {
    for _ in 0..600 {
        let page: Value = app
            .admin
            .get(app.url(&format!("/api/v1/clusters/{cluster}/scans")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if let Some(scan) = page["items"].as_array().and_then(|a| a.first()) {
            if !matches!(scan["state"].as_str(), Some("queued" | "running")) {
                return scan.clone();
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("the demo scan of {cluster} never finished");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_fleet_registers_and_scans_four_clusters_and_reuses_them_on_restart() {
    let app = spawn_app_with(|s| {
        s.scheduler.enabled = true;
        s.scheduler.tick_millis = 100;
    })
    .await;
    let fleet = DemoFleet::start().await.unwrap();
    let registered = fleet.register(&app.state).await.unwrap();
    let names: Vec<&str> = registered.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["kubeadm-default", "hardened", "legacy", "managed"]);
    for c in &registered {
        assert_eq!(c.last_reachable, Some(true), "{} did not answer: {:?}", c.name, c.last_error);
        assert_eq!(c.labels.get("demo").map(String::as_str), Some("true"));
        assert_eq!(c.auth_kind, "token");
    }
    assert_eq!(registered[2].last_server_version.as_deref(), Some("v1.19.16"));

    // The API lists them, and never shows their credentials.
    let body: serde_json::Value =
        app.admin.get(app.url("/api/v1/clusters?limit=100")).send().await.unwrap().json().await.unwrap();
    let text = body.to_string();
    assert!(text.contains("hardened"), "{text}");
    for sim in &fleet.sims {
        assert!(!text.contains(&sim.token), "a simulator token leaked through the API");
    }

    // Each gets scanned: the legacy cluster fails checks, the managed one has not-applicable ones.
    let legacy = finished_scan(&app, registered[2].id).await;
    assert!(matches!(legacy["state"].as_str(), Some("succeeded" | "partial")), "{legacy}");
    assert!(legacy["summary"]["by_status"]["fail"].as_i64().unwrap() > 0, "{legacy}");
    let managed = finished_scan(&app, registered[3].id).await;
    assert!(managed["summary"]["by_status"]["not_applicable"].as_i64().unwrap() > 0, "{managed}");
    let hardened = finished_scan(&app, registered[1].id).await;
    assert!(
        hardened["summary"]["score"].as_f64().unwrap() > legacy["summary"]["score"].as_f64().unwrap(),
        "hardened {hardened} vs legacy {legacy}"
    );

    // A second start (new ports, new certificates) updates the same four rows.
    let first_ids: Vec<_> = registered.iter().map(|c| c.id).collect();
    drop(fleet);
    let again = DemoFleet::start().await.unwrap();
    let second = again.register(&app.state).await.unwrap();
    assert_eq!(second.iter().map(|c| c.id).collect::<Vec<_>>(), first_ids);
    assert!(second.iter().all(|c| c.last_reachable == Some(true)));
    let creds = app.state.cluster_credentials(second[0].id).await.unwrap();
    assert_eq!(creds.server, again.sims[0].url);
}
