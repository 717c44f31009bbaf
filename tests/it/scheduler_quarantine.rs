//! Poison scans: a scan that crashes (here: is killed with) every replica that runs it is failed as
//! quarantined after `scheduler.max_takeovers` takeovers, is not retried before its cluster's next
//! due time, and the cluster shows it in the API and the cluster list.

use std::time::Duration;

use palisade::domain::Role;
use palisade::sim::FaultRule;
use serde_json::Value;
use uuid::Uuid;

use crate::helpers::spawn_app;
use crate::history_scheduler::{app_db_url, eventually, register, replica, settings, start_sim};

/// The cluster's one scan row: (id, state, takeovers, lease owner).
async fn the_scan(pool: &sqlx::PgPool, cluster: Uuid) -> Option<(Uuid, String, i32, Option<String>)> {
    sqlx::query_as("SELECT id, state, takeovers, lease_owner FROM scans WHERE cluster_id = $1")
        .bind(cluster)
        .fetch_optional(pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_scan_killed_mid_run_on_three_replicas_in_a_row_ends_quarantined() {
    let app = spawn_app().await;
    // Pod lists that take a minute keep every run busy until its replica is killed.
    let sim = start_sim(vec![FaultRule::on_resource("pods").latency(Duration::from_secs(60))]).await;
    let cluster = register(&app.pool, &app.state.cipher, "poison", &sim).await;
    let url = app_db_url(&app);
    let s = settings();
    assert_eq!(s.max_takeovers, 3, "the default");

    for run in 0..3 {
        let r = replica(&url, app.state.cipher.clone(), s.clone()).await;
        let owner = r.owner.clone();
        eventually(60, &format!("run {run} under its replica"), || async {
            let (_, state, takeovers, lease) = the_scan(&app.pool, cluster).await?;
            (state == "running" && takeovers == run && lease?.starts_with(&owner)).then_some(())
        })
        .await;
        r.abort(); // the replica dies mid-scan
    }

    let last = replica(&url, app.state.cipher.clone(), s.clone()).await;
    let scan: Value = eventually(60, "the scan quarantined", || async {
        let (id, state, _, _) = the_scan(&app.pool, cluster).await?;
        if state != "failed" {
            return None;
        }
        let resp = app.admin.get(app.url(&format!("/api/v1/scans/{id}"))).send().await.unwrap();
        Some(resp.json::<Value>().await.unwrap())
    })
    .await;
    let reason = "quarantined after 3 takeovers: the scan crashed or hung every replica that ran it";
    assert_eq!(scan["error"], reason);
    assert_eq!(scan["quarantined"], true);
    assert_eq!(scan["takeovers"], 3);

    // No replica loops on it, and no retry is queued: the next scan waits for the next due time.
    tokio::time::sleep(Duration::from_secs(2 * s.lease_secs)).await;
    last.shutdown().await;
    let scans: Vec<(String, bool)> =
        sqlx::query_as("SELECT state, quarantined FROM scans WHERE cluster_id = $1")
            .bind(cluster)
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(scans, vec![("failed".to_string(), true)]);
    let due: chrono::DateTime<chrono::Utc> =
        sqlx::query_scalar("SELECT next_due_at FROM cluster_scan_state WHERE cluster_id = $1")
            .bind(cluster)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(due > chrono::Utc::now() + chrono::Duration::hours(23), "next due a schedule interval away");

    // The cluster shows it: the API field and the cluster list.
    let c: Value = app
        .admin
        .get(app.url(&format!("/api/v1/clusters/{cluster}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(c["quarantined"], reason);
    let viewer = app.create_user(Role::Viewer).await;
    let (browser, _) = app.login(&viewer.username, &viewer.password).await;
    let page = browser.get(app.url("/")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains(reason), "the cluster list names the quarantine");

    // A manual scan is still possible, and clears the flag once it starts.
    let resp = app.admin.post(app.url(&format!("/api/v1/clusters/{cluster}/scans"))).send().await.unwrap();
    assert_eq!(resp.status(), 202);
}
