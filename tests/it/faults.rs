//! Faults with real processes (issue 17): PostgreSQL stopped under a running server answers 503
//! with `Retry-After` and recovers by itself once it is back; a burst of 1,000 scan requests is
//! fully accounted for afterwards (none lost, none run twice, none left running).

use std::collections::HashSet;
use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::{assert_problem, spawn_app, spawn_app_on};
use crate::history_scheduler::{eventually, register, replica, settings, start_sim};
use crate::history_support::PrivatePostgres;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_postgres_answers_503_with_retry_after_and_the_server_recovers_when_it_returns() {
    let pg = PrivatePostgres::start();
    let app = spawn_app_on(&pg.url(), |s| {
        s.database.acquire_timeout_secs = 1;
        // Every request looks its credentials up in the database.
        s.server.credential_cache_secs = 0;
    })
    .await;
    let resp = app.admin.get(app.url("/api/v1/clusters")).send().await.unwrap();
    assert_eq!(resp.status(), 200);

    pg.stop();
    // Reads, writes and the dashboard while the database is away: a 503 that says when to retry
    // (never a 500, a 401 or a hang), and /healthz still answers.
    for (method, path) in
        [("GET", "/api/v1/clusters"), ("GET", "/api/v1/findings"), ("POST", "/api/v1/tokens")]
    {
        let req = match method {
            "GET" => app.admin.get(app.url(path)),
            _ => app.admin.post(app.url(path)).json(&json!({"name": "during-outage"})),
        };
        let resp = tokio::time::timeout(Duration::from_secs(15), req.send()).await.expect("no hang").unwrap();
        assert_eq!(
            resp.headers().get("retry-after").map(|v| v.to_str().unwrap()),
            Some("5"),
            "{method} {path}"
        );
        assert_problem(resp, 503).await;
    }
    let ready = reqwest::get(app.url("/readyz")).await.unwrap();
    assert_eq!(ready.status(), 503);
    assert_eq!(reqwest::get(app.url("/healthz")).await.unwrap().status(), 200);

    pg.start_again();
    // The pool reconnects by itself: no restart of Palisade.
    eventually(30, "the API answering again", || async {
        let resp = app.admin.get(app.url("/api/v1/clusters")).send().await.ok()?;
        (resp.status() == 200).then_some(())
    })
    .await;
    let resp = app
        .admin
        .post(app.url("/api/v1/tokens"))
        .json(&json!({"name": "after-outage"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    assert_eq!(reqwest::get(app.url("/readyz")).await.unwrap().status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_1000_scan_requests_is_fully_accounted_for() {
    let app = spawn_app().await;
    let sim = start_sim(vec![]).await;
    let mut clusters = Vec::new();
    for i in 0..10 {
        clusters.push(register(&app.pool, &app.state.cipher, &format!("burst-{i}"), &sim).await);
    }
    // Two replicas run the scans while the requests arrive.
    let url = crate::history_scheduler::app_db_url(&app);
    let r1 = replica(&url, app.state.cipher.clone(), settings()).await;
    let r2 = replica(&url, app.state.cipher.clone(), settings()).await;

    // 1,000 requests, 100 per cluster, 50 in flight at a time.
    let mut answered = Vec::new();
    let requests: Vec<_> = (0..1000).map(|i| clusters[i % clusters.len()]).collect();
    for chunk in requests.chunks(50) {
        let calls = chunk.iter().map(|c| {
            let req = app.admin.post(app.url(&format!("/api/v1/clusters/{c}/scans"))).send();
            async move {
                let resp = req.await.unwrap();
                let status = resp.status().as_u16();
                let body: Value = resp.json().await.unwrap();
                (status, body)
            }
        });
        answered.extend(futures::future::join_all(calls).await);
    }
    let mut ids = HashSet::new();
    for (status, body) in &answered {
        // 202: a new scan queued; 200: the cluster's queued or running scan, which covers it.
        assert!(*status == 202 || *status == 200, "{status}: {body}");
        ids.insert(body["id"].as_str().unwrap().to_string());
    }
    assert!(ids.len() >= clusters.len(), "every cluster got at least one scan");

    // Afterwards: every scan answered exists and finished; none is still queued or running.
    eventually(180, "every scan finished", || async {
        let open: i64 = sqlx::query_scalar("SELECT count(*) FROM scans WHERE state IN ('queued', 'running')")
            .fetch_one(&app.pool)
            .await
            .unwrap();
        (open == 0).then_some(())
    })
    .await;
    r1.shutdown().await;
    r2.shutdown().await;
    let rows: Vec<(String, String, i32, i32)> =
        sqlx::query_as("SELECT id::text, state, attempt, takeovers FROM scans")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    let stored: HashSet<String> = rows.iter().map(|r| r.0.clone()).collect();
    assert!(ids.is_subset(&stored), "a scan the API answered with is missing");
    assert_eq!(stored.len(), ids.len(), "a scan nobody asked for was made");
    for (id, state, attempt, takeovers) in &rows {
        assert!(state == "succeeded" || state == "partial", "scan {id} ended {state}");
        assert_eq!((*attempt, *takeovers), (1, 0), "scan {id} ran more than once");
    }
    // Each scan's results were stored once.
    let dupes: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM (SELECT scan_id FROM scan_snapshots GROUP BY scan_id HAVING count(*) > 1) d",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(dupes, 0);
}
