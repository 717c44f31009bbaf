//! The scheduler against real parts: clusters served by the simulator over HTTPS, collected live,
//! judged by the real checks, stored in PostgreSQL. Each "replica" is the scheduler a
//! `palisade serve` process starts (`Scheduler::for_server`), with its own connection pool.

use std::sync::Arc;
use std::time::Duration;

use palisade::domain::Labels;
use palisade::scheduler::{Scheduler, SchedulerHandle, SchedulerSettings};
use palisade::secrets::Cipher;
use palisade::sim::{sample, FaultRule, SimConfig, SimHandle, SimServer};
use palisade::store::audit::Actor;
use palisade::store::clusters::{self, NewCluster};
use palisade::store::findings::{self, ResultFilter};
use palisade::store::scans::{self, ScanRow};
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

use crate::helpers::{spawn_app, test_server_url, TestApp};
use crate::history_support::{fresh_pool_on, PrivatePostgres};

pub(crate) async fn start_sim(faults: Vec<FaultRule>) -> SimHandle {
    palisade::startup::install_crypto_provider();
    let cluster = sample::load_dir(sample::samples_dir().join("kubeadm-default")).expect("sample loads");
    let mut config = SimConfig::new(cluster);
    config.faults.extend(faults);
    SimServer::start(config).await.expect("simulator starts")
}

pub(crate) fn settings() -> SchedulerSettings {
    SchedulerSettings {
        tick_millis: 100,
        lease_secs: 3,
        max_concurrent: 3,
        default_interval_secs: 24 * 3600,
        scan_timeout_secs: 120,
        retry_base_secs: 300,
        ..SchedulerSettings::default()
    }
}

async fn replica_pool(url: &str) -> PgPool {
    sqlx::postgres::PgPoolOptions::new().max_connections(4).connect(url).await.expect("replica connects")
}

pub(crate) fn app_db_url(app: &TestApp) -> String {
    let base = test_server_url();
    format!("{}/{}", base.rsplit_once('/').map(|(b, _)| b).unwrap_or(&base), app.db_name)
}

pub(crate) async fn replica(url: &str, cipher: Arc<Cipher>, s: SchedulerSettings) -> SchedulerHandle {
    Scheduler::for_server(replica_pool(url).await, cipher, s, palisade::egress::Egress::loopback_only())
        .spawn()
}

pub(crate) async fn register(pool: &PgPool, cipher: &Cipher, name: &str, sim: &SimHandle) -> Uuid {
    let new = NewCluster {
        name: name.parse().unwrap(),
        labels: Labels::default(),
        group: None,
        enabled: true,
        credentials: sim.credentials(),
        ssh_port: None,
    };
    clusters::register(pool, cipher, &new, &Actor::system()).await.expect("registered").id
}

/// Poll `check` every 200 ms until it returns `Some`, or fail after `secs` seconds.
pub(crate) async fn eventually<T, F, Fut>(secs: u64, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Wait until at least `n` scans have stored results, or fail after `secs` seconds.
async fn wait_for_stored_scans(pool: &PgPool, n: i64, secs: u64) {
    eventually(secs, &format!("{n} stored scans"), || async {
        let done: i64 = sqlx::query_scalar("SELECT count(*) FROM scans WHERE result_seq IS NOT NULL")
            .fetch_one(pool)
            .await
            .unwrap();
        (done >= n).then_some(())
    })
    .await;
}

async fn all_scans(pool: &PgPool) -> Vec<ScanRow> {
    let ids: Vec<Uuid> =
        sqlx::query_scalar("SELECT id FROM scans ORDER BY queued_at").fetch_all(pool).await.unwrap();
    let mut out = Vec::new();
    for id in ids {
        out.push(scans::get(pool, id).await.unwrap());
    }
    out
}

#[tokio::test]
async fn two_replicas_scan_fifty_due_clusters_each_exactly_once() {
    let app = spawn_app().await;
    let sim = start_sim(vec![]).await;
    for i in 0..50 {
        register(&app.pool, &app.state.cipher, &format!("fleet-{i:02}"), &sim).await;
    }
    let url = app_db_url(&app);
    let a = replica(&url, app.state.cipher.clone(), settings()).await;
    let b = replica(&url, app.state.cipher.clone(), settings()).await;
    let (owner_a, owner_b) = (a.owner.clone(), b.owner.clone());
    wait_for_stored_scans(&app.pool, 50, 240).await;
    // Give a duplicate (if there were one) the time to show up, then stop both.
    tokio::time::sleep(Duration::from_secs(2)).await;
    a.shutdown().await;
    b.shutdown().await;

    let rows: Vec<(Uuid, i64, i64)> =
        sqlx::query_as("SELECT cluster_id, count(*), count(result_seq) FROM scans GROUP BY cluster_id")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(rows.len(), 50, "every cluster was scanned");
    assert!(rows.iter().all(|(_, scans, stored)| *scans == 1 && *stored == 1), "each exactly once: {rows:?}");
    let states: Vec<(String, i64)> = sqlx::query_as("SELECT state, count(*) FROM scans GROUP BY state")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert!(states.iter().all(|(s, _)| s == "succeeded" || s == "partial"), "{states:?}");
    let takeovers: i64 =
        sqlx::query_scalar("SELECT sum(takeovers) FROM scans").fetch_one(&app.pool).await.unwrap();
    assert_eq!(takeovers, 0);
    let owners: Vec<String> =
        sqlx::query_scalar("SELECT DISTINCT split_part(lease_owner, '/', 1) FROM scans")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert!(owners.contains(&owner_a) && owners.contains(&owner_b), "both replicas scanned: {owners:?}");
}

/// More scans at once than the pool has connections: every scan still finishes promptly. (A
/// heartbeat awaited while the scan's own future was suspended mid-query once made every scan wait
/// on every other for the pool's acquire timeout.)
#[tokio::test]
async fn more_running_scans_than_pool_connections_do_not_stall() {
    let app = spawn_app().await;
    let sim = start_sim(vec![]).await;
    for i in 0..24 {
        register(&app.pool, &app.state.cipher, &format!("busy-{i:02}"), &sim).await;
    }
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(3)
        .acquire_timeout(Duration::from_secs(20))
        .connect(&app_db_url(&app))
        .await
        .unwrap();
    let s = SchedulerSettings { max_concurrent: 8, ..settings() };
    let started = std::time::Instant::now();
    let handle = Scheduler::for_server(pool, app.state.cipher.clone(), s, app.state.egress.clone()).spawn();
    wait_for_stored_scans(&app.pool, 24, 60).await;
    let took = started.elapsed();
    handle.shutdown().await;
    let failed: i64 = sqlx::query_scalar("SELECT count(*) FROM scans WHERE state = 'failed'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(failed, 0);
    // Well under one acquire timeout (20 s): nothing waited for the pool to give up.
    assert!(took < Duration::from_secs(15), "24 scans took {took:?}");
}

#[tokio::test]
async fn a_scan_whose_replica_dies_is_finished_by_the_other_after_its_lease_expires() {
    let app = spawn_app().await;
    // Slow pod lists keep the scan running long enough to kill its replica mid-scan.
    let sim = start_sim(vec![FaultRule::on_resource("pods").latency(Duration::from_secs(4))]).await;
    let cluster = register(&app.pool, &app.state.cipher, "slow", &sim).await;
    let url = app_db_url(&app);
    let a = replica(&url, app.state.cipher.clone(), settings()).await;
    let owner_a = a.owner.clone();

    // 202 queues a scan; 200 returns the scan the scheduler already queued for the new cluster.
    let resp = app.admin.post(app.url(&format!("/api/v1/clusters/{cluster}/scans"))).send().await.unwrap();
    assert!(resp.status() == 202 || resp.status() == 200, "{}", resp.status());
    let scan: Value = resp.json().await.unwrap();
    let scan_id = scan["id"].as_str().unwrap().to_string();
    // Live: running with a collection phase.
    let running: Value = eventually(60, "the scan running on replica A", || async {
        let s: Value = app.admin_json(&format!("/api/v1/scans/{scan_id}")).await;
        (s["state"] == "running" && s["progress"]["phase"].as_str().unwrap_or("").starts_with("collecting"))
            .then_some(s)
    })
    .await;
    assert!(running["lease_expires_at"].is_string());
    let owner: String = sqlx::query_scalar("SELECT lease_owner FROM scans WHERE id = $1::uuid")
        .bind(&scan_id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(owner.starts_with(&owner_a));

    a.abort(); // the replica dies: no clean-up, its lease just stops being renewed
    let b = replica(&url, app.state.cipher.clone(), settings()).await;
    let done: Value = eventually(120, "replica B finishing the scan", || async {
        let s: Value = app.admin_json(&format!("/api/v1/scans/{scan_id}")).await;
        (s["state"] == "succeeded" || s["state"] == "partial").then_some(s)
    })
    .await;
    b.shutdown().await;
    assert_eq!(done["takeovers"], 1);
    assert!(done["summary"]["total"].as_i64().unwrap() > 0);
    let owner: String = sqlx::query_scalar("SELECT lease_owner FROM scans WHERE id = $1::uuid")
        .bind(&scan_id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(!owner.starts_with(&owner_a), "written by the replica that took over");
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM scans").fetch_one(&app.pool).await.unwrap();
    assert_eq!(count, 1, "taken over, not scanned twice");
    let results: Value = app.admin_json(&format!("/api/v1/scans/{scan_id}/results?limit=500")).await;
    assert_eq!(results["items"].as_array().unwrap().len() as i64, done["summary"]["total"].as_i64().unwrap());
}

#[tokio::test]
async fn a_postgres_restart_during_a_scan_loses_nothing() {
    palisade::startup::install_crypto_provider();
    let pg = PrivatePostgres::start();
    let pool = fresh_pool_on(&pg.url()).await;
    let cipher = Arc::new(Cipher::new(&[7u8; 32], &[]).unwrap());
    let sim = start_sim(vec![FaultRule::on_resource("pods").latency(Duration::from_secs(3))]).await;
    let cluster = register(&pool, &cipher, "restart", &sim).await;
    let url = pool
        .connect_options()
        .get_database()
        .map(|db| format!("postgres://postgres@127.0.0.1:{}/{db}", pg.port))
        .unwrap();
    let s = SchedulerSettings { lease_secs: 10, ..settings() };
    let r = replica(&url, cipher.clone(), s).await;
    let (scan, _) = scans::request(&pool, cluster, Some("tester")).await.unwrap();
    eventually(60, "the scan running", || async {
        let row = scans::get(&pool, scan.id).await.ok()?;
        (row.state == "running").then_some(())
    })
    .await;
    pg.restart(); // every connection of both pools is cut while the collector is busy
    let done = eventually(120, "the scan finishing after the restart", || async {
        let row = scans::get(&pool, scan.id).await.ok()?;
        (row.state == "succeeded" || row.state == "partial").then_some(row)
    })
    .await;
    r.shutdown().await;
    let stored = findings::results(&pool, &done, &ResultFilter::default(), None, 10_000).await.unwrap();
    assert_eq!(stored.len() as i32, done.total_results.unwrap(), "every result stored, none half-written");
    assert!(!stored.is_empty());
    let scans = all_scans(&pool).await;
    assert_eq!(scans.len(), 1);
    let changes: i64 =
        sqlx::query_scalar("SELECT count(*) FROM finding_changes").fetch_one(&pool).await.unwrap();
    assert_eq!(changes, stored.len() as i64, "one first-sighting row per finding, written once");
    pool.close().await;
}

#[tokio::test]
async fn an_unreachable_cluster_keeps_its_history_and_shows_the_failure() {
    let app = spawn_app().await;
    let sim = start_sim(vec![]).await;
    let cluster = register(&app.pool, &app.state.cipher, "goes-dark", &sim).await;
    let url = app_db_url(&app);
    let r = replica(&url, app.state.cipher.clone(), settings()).await;
    let first = scan_on_demand(&app, &cluster.to_string()).await;
    assert_ne!(first["state"], "failed");
    sim.shutdown().await;
    let second = scan_on_demand(&app, &cluster.to_string()).await;
    r.shutdown().await;
    assert_eq!(second["state"], "failed");
    let reason = second["error"].as_str().unwrap();
    assert!(reason.contains("cannot reach the cluster"), "reason in words: {reason}");

    // History: both scans listed (newest first) plus the queued retry with backoff; the first
    // scan's results are untouched.
    let list: Value = app.admin_json(&format!("/api/v1/clusters/{cluster}/scans")).await;
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert_eq!(
        (items[0]["trigger"].as_str(), items[0]["state"].as_str(), items[0]["attempt"].as_i64()),
        (Some("retry"), Some("queued"), Some(2))
    );
    assert!(
        items[0]["not_before"].as_str().unwrap() > second["finished_at"].as_str().unwrap(),
        "retried after a backoff"
    );
    assert_eq!(items[1]["id"], second["id"]);
    assert_eq!(items[2]["id"], first["id"]);
    let results: Value =
        app.admin_json(&format!("/api/v1/scans/{}/results?limit=500", first["id"].as_str().unwrap())).await;
    assert_eq!(
        results["items"].as_array().unwrap().len() as i64,
        first["summary"]["total"].as_i64().unwrap()
    );
    // The fleet overview shows the failure next to the last known posture.
    let fleet: Value = app.admin_json("/api/v1/fleet").await;
    let me =
        fleet.as_array().unwrap().iter().find(|c| c["cluster_id"] == cluster.to_string()).unwrap().clone();
    assert_eq!(me["last_scan_state"], "failed");
    assert!(me["last_scan_error"].as_str().unwrap().contains("cannot reach"));
    assert_eq!(me["score"], first["summary"]["score"]);
    // Open findings of the first scan are still open: an outage is not a fix.
    let open: Value = app.admin_json(&format!("/api/v1/findings?cluster={cluster}&limit=500")).await;
    let open_count = first["summary"]["by_status"]["fail"].as_i64().unwrap()
        + first["summary"]["by_status"]["warn"].as_i64().unwrap();
    assert_eq!(open["items"].as_array().unwrap().len() as i64, open_count);
}

#[tokio::test]
async fn a_scan_that_takes_too_long_fails_as_timed_out_and_is_retried_later() {
    let app = spawn_app().await;
    let sim = start_sim(vec![FaultRule::on_resource("pods").latency(Duration::from_secs(30))]).await;
    let cluster = register(&app.pool, &app.state.cipher, "too-slow", &sim).await;
    let s = SchedulerSettings { scan_timeout_secs: 2, ..settings() };
    let r = replica(&app_db_url(&app), app.state.cipher.clone(), s).await;
    let failed = eventually(60, "the scan to time out", || async {
        let row: Option<(String, Option<String>)> =
            sqlx::query_as("SELECT state, error FROM scans WHERE cluster_id = $1 AND state = 'failed'")
                .bind(cluster)
                .fetch_optional(&app.pool)
                .await
                .unwrap();
        row
    })
    .await;
    r.shutdown().await;
    let reason = failed.1.unwrap();
    assert!(reason.contains("did not finish within") || reason.contains("timed out"), "{reason}");
    let retry: (String, i32) =
        sqlx::query_as("SELECT trigger, attempt FROM scans WHERE cluster_id = $1 AND state = 'queued'")
            .bind(cluster)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(retry, ("retry".to_string(), 2));
}

/// Ask for a scan of `cluster` through the API and wait until it has finished.
pub(crate) async fn scan_on_demand(app: &TestApp, cluster: &str) -> Value {
    let resp = app.admin.post(app.url(&format!("/api/v1/clusters/{cluster}/scans"))).send().await.unwrap();
    assert!(resp.status() == 202 || resp.status() == 200, "{}", resp.status());
    let id = resp.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    eventually(90, "the scan to finish", || {
        let id = id.clone();
        async move {
            let s: Value = app.admin_json(&format!("/api/v1/scans/{id}")).await;
            matches!(s["state"].as_str(), Some("succeeded" | "partial" | "failed")).then_some(s)
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_scanned_only_on_demand_shows_its_newest_results_in_the_fleet_overview() {
    let app = spawn_app().await;
    let sim = start_sim(vec![]).await;
    // Registered through the API from its kubeconfig, its schedule paused before any scheduler runs.
    let resp = app
        .admin
        .post(app.url("/api/v1/clusters"))
        .json(&serde_json::json!({"name": "on-demand", "credentials": {"kubeconfig": sim.kubeconfig()}, "check_connectivity": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201, "{}", resp.text().await.unwrap());
    let cluster = resp.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    let resp = app
        .admin
        .put(app.url(&format!("/api/v1/clusters/{cluster}/schedule")))
        .json(&serde_json::json!({"paused": true}))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{}", resp.text().await.unwrap());
    let r = replica(&app_db_url(&app), app.state.cipher.clone(), settings()).await;
    let mut last = Value::Null;
    for _ in 0..3 {
        last = scan_on_demand(&app, &cluster).await;
        assert_eq!(last["trigger"], "manual");
        assert_ne!(last["state"], "failed", "{last}");
    }
    r.shutdown().await;
    let all: Value = app.admin_json(&format!("/api/v1/clusters/{cluster}/scans")).await;
    let triggers: Vec<&str> =
        all["items"].as_array().unwrap().iter().map(|s| s["trigger"].as_str().unwrap()).collect();
    assert_eq!(triggers, ["manual", "manual", "manual"], "no scheduled scan ran");

    let fleet: Value = app.admin_json("/api/v1/fleet").await;
    let me = fleet.as_array().unwrap().iter().find(|c| c["cluster_id"] == cluster.as_str()).unwrap().clone();
    assert!(me["score"].is_number(), "{me}");
    assert_eq!(me["score"], last["summary"]["score"]);
    assert_eq!(me["last_result_at"], last["finished_at"]);
    let open = last["summary"]["by_status"]["fail"].as_i64().unwrap()
        + last["summary"]["by_status"]["warn"].as_i64().unwrap();
    assert!(open > 0, "the kubeadm sample has findings");
    assert_eq!(me["open_findings"].as_i64(), Some(open));
    assert_eq!(me["last_scan_state"], last["state"]);
}
