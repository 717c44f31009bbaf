//! `palisade serve --demo`: the four sample clusters are simulated in-process, registered
//! through the registry like any other cluster, reachable, and re-pointed (not duplicated) when
//! the demo starts again against the same database.

use palisade::sim::demo::DemoFleet;

use crate::helpers::spawn_app;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_fleet_registers_four_reachable_clusters_and_reuses_them_on_restart() {
    let app = spawn_app().await;
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
