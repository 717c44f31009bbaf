//! The history API over HTTP: roles, filters, cursor pagination, diffs, trends and schedules,
//! with problem+json errors. Scans are stored through the store (as the scheduler stores them).

use chrono::{TimeZone, Utc};
use palisade::checks::{CheckResult, ResourceRef};
use palisade::domain::{Area, Role, Severity, Status};
use palisade::store::scans::{self, ScanOutcome};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::{assert_problem, spawn_app, TestApp};

fn result(i: usize, status: Status) -> CheckResult {
    CheckResult {
        check_id: format!("PAL-NET-{:03}", i % 3),
        title: "Namespace has no default-deny policy".into(),
        area: if i % 2 == 0 { Area::Network } else { Area::Authz },
        severity: if i % 2 == 0 { Severity::High } else { Severity::Low },
        status,
        resource: ResourceRef {
            kind: "Namespace".into(),
            namespace: Some(format!("ns-{}", i % 4)),
            name: format!("ns-{i}"),
            node: None,
        },
        evidence: format!("namespace ns-{i} has no policy"),
        source: None,
        refs: vec![],
    }
}

async fn cluster(app: &TestApp, name: &str) -> Uuid {
    app.register_cluster(name, json!({"env": "prod"})).await["id"].as_str().unwrap().parse().unwrap()
}

async fn store(app: &TestApp, cluster: Uuid, results: Vec<CheckResult>, day: u32) -> Uuid {
    let (queued, _) = scans::request(&app.pool, cluster, None).await.unwrap();
    let claim = scans::claim(&app.pool, "test", 1, None, std::time::Duration::from_secs(30), 3)
        .await
        .unwrap()
        .remove(0);
    let at = Utc.with_ymd_and_hms(2026, 4, day, 12, 0, 0).unwrap();
    scans::complete_as_of(
        &app.pool,
        &claim,
        &ScanOutcome { results, snapshot: None, partial: false },
        1,
        Some(at),
    )
    .await
    .unwrap();
    queued.id
}

#[tokio::test]
async fn a_viewer_reads_history_but_cannot_trigger_a_scan() {
    let app = spawn_app().await;
    let c = cluster(&app, "prod-1").await;
    let viewer = app.client_with_role(Role::Viewer).await;
    let resp = viewer.post(app.url(&format!("/api/v1/clusters/{c}/scans"))).send().await.unwrap();
    assert!(assert_problem(resp, 403).await.contains("editor"));
    let editor = app.client_with_role(Role::Editor).await;
    let resp = editor.post(app.url(&format!("/api/v1/clusters/{c}/scans"))).send().await.unwrap();
    assert_eq!(resp.status(), 202);
    let queued: Value = resp.json().await.unwrap();
    assert_eq!((queued["state"].as_str(), queued["trigger"].as_str()), (Some("queued"), Some("manual")));
    // One scan at a time per cluster: asking again returns the queued scan.
    let again = editor.post(app.url(&format!("/api/v1/clusters/{c}/scans"))).send().await.unwrap();
    assert_eq!(again.status(), 200);
    assert_eq!(again.json::<Value>().await.unwrap()["id"], queued["id"]);
    let seen: Value = viewer
        .get(app.url(&format!("/api/v1/scans/{}", queued["id"].as_str().unwrap())))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(seen["state"], "queued");
    let resp =
        reqwest::Client::new().get(app.url(&format!("/api/v1/clusters/{c}/scans"))).send().await.unwrap();
    assert_problem(resp, 401).await;
    let resp =
        editor.post(app.url(&format!("/api/v1/clusters/{}/scans", Uuid::new_v4()))).send().await.unwrap();
    assert_problem(resp, 404).await;
}

#[tokio::test]
async fn results_are_filtered_and_paged_with_a_cursor() {
    let app = spawn_app().await;
    let c = cluster(&app, "prod-2").await;
    let results: Vec<_> =
        (0..30).map(|i| result(i, if i % 3 == 0 { Status::Fail } else { Status::Pass })).collect();
    let scan = store(&app, c, results, 1).await;
    let viewer = app.client_with_role(Role::Viewer).await;
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = app.url(&format!("/api/v1/scans/{scan}/results?limit=7"));
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let page: Value = viewer.get(url).send().await.unwrap().json().await.unwrap();
        seen.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["resource"]["name"].as_str().unwrap().to_string()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 30, "every result exactly once across pages");
    // 10 failures (i = 0, 3, …, 27); 5 of them network/high (even i).
    let page: Value = viewer
        .get(app.url(&format!("/api/v1/scans/{scan}/results?status=fail&limit=100")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 10);
    let page: Value =
        viewer
            .get(app.url(&format!(
                "/api/v1/scans/{scan}/results?status=fail&area=network&severity=high&limit=100"
            )))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 5);
    // ns-0 holds i = 0, 4, 8, …, 28 (8 results), and PAL-NET-000 those with i % 3 == 0 among them (0, 12, 24).
    let page: Value = viewer
        .get(app.url(&format!("/api/v1/scans/{scan}/results?namespace=ns-0&check=PAL-NET-000&limit=100")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 3);
    let resp =
        viewer.get(app.url(&format!("/api/v1/scans/{scan}/results?status=broken"))).send().await.unwrap();
    assert!(assert_problem(resp, 400).await.contains("unknown status"));
    let resp = viewer
        .get(app.url(&format!("/api/v1/scans/{scan}/results?cursor=bm90LWEtdXVpZA")))
        .send()
        .await
        .unwrap();
    assert_problem(resp, 400).await;
    let scan_json: Value =
        viewer.get(app.url(&format!("/api/v1/scans/{scan}"))).send().await.unwrap().json().await.unwrap();
    assert_eq!(scan_json["summary"]["by_status"]["fail"], 10);
    assert_eq!(scan_json["summary"]["total"], 30);
}

#[tokio::test]
async fn the_diff_endpoint_counts_new_resolved_and_changed() {
    let app = spawn_app().await;
    let c = cluster(&app, "prod-3").await;
    let a =
        store(&app, c, vec![result(0, Status::Fail), result(1, Status::Fail), result(2, Status::Pass)], 1)
            .await;
    // 0 fixed, 1 unchanged, 2 regressed, 3 new and failing.
    let b = store(
        &app,
        c,
        vec![
            result(0, Status::Pass),
            result(1, Status::Fail),
            result(2, Status::Fail),
            result(3, Status::Fail),
        ],
        2,
    )
    .await;
    let d: Value = app
        .admin
        .get(app.url(&format!("/api/v1/scans/{a}/diff/{b}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (d["new"].as_i64(), d["resolved"].as_i64(), d["changed"].as_i64()),
        (Some(2), Some(1), Some(0))
    );
    let resolved = d["entries"].as_array().unwrap().iter().find(|e| e["change"] == "resolved").unwrap();
    assert_eq!(
        (
            resolved["resource"]["name"].as_str(),
            resolved["before_status"].as_str(),
            resolved["after_status"].as_str()
        ),
        (Some("ns-0"), Some("fail"), Some("pass"))
    );
    // A queued scan has no results to compare.
    let (queued, _) = scans::request(&app.pool, c, None).await.unwrap();
    let resp = app.admin.get(app.url(&format!("/api/v1/scans/{a}/diff/{}", queued.id))).send().await.unwrap();
    assert!(assert_problem(resp, 409).await.contains("has no results"));
}

#[tokio::test]
async fn trends_and_findings_answer_over_http_and_refuse_bad_parameters() {
    let app = spawn_app().await;
    let c = cluster(&app, "prod-4").await;
    store(&app, c, vec![result(0, Status::Fail), result(2, Status::Pass)], 1).await;
    store(&app, c, vec![result(0, Status::Pass), result(2, Status::Pass)], 2).await;
    let t: Value = app
        .admin
        .get(app.url("/api/v1/trends?metric=failures&by=fleet&from=2026-04-01T00:00:00Z&to=2026-04-03T00:00:00Z&step=1d"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let values: Vec<Value> =
        t["series"][0]["points"].as_array().unwrap().iter().map(|p| p["value"].clone()).collect();
    assert_eq!(values, vec![json!(1.0), json!(0.0)]);
    let t: Value = app
        .admin
        .get(app.url("/api/v1/trends?metric=score&from=2026-04-01T00:00:00Z&to=2026-04-03T00:00:00Z&step=1d"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let values: Vec<Value> =
        t["series"][0]["points"].as_array().unwrap().iter().map(|p| p["value"].clone()).collect();
    assert_eq!(values, vec![json!(50.0), json!(100.0)], "two high results: one of two passes, then both");
    for bad in [
        "metric=speed",
        "step=1s",
        "from=2026-04-03T00:00:00Z&to=2026-04-01T00:00:00Z",
        "step=1m&from=2020-01-01T00:00:00Z",
        "clusters=nope",
    ] {
        let resp = app.admin.get(app.url(&format!("/api/v1/trends?{bad}"))).send().await.unwrap();
        assert_problem(resp, 400).await;
    }
    // Without a step, a long window gets whole-day buckets wide enough for 2,000 points.
    let t: Value = app
        .admin
        .get(app.url("/api/v1/trends?from=2000-01-01T00:00:00Z&to=2026-04-03T00:00:00Z&step="))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let step = t["step_seconds"].as_i64().unwrap();
    assert!(step > 86_400 && step % 86_400 == 0, "{t}");
    assert!(t["series"][0]["points"].as_array().unwrap().len() <= 2_000);
    // The finding resolved on day 2 is found by "resolved since", with its time to fix.
    let f: Value = app
        .admin
        .get(app.url("/api/v1/findings?state=resolved&since=2026-04-02T00:00:00Z&label=env=prod"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let items = f["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["resource"]["name"], "ns-0");
    assert_eq!(items[0]["opened_at"], "2026-04-01T12:00:00Z");
    assert_eq!(items[0]["resolved_at"], "2026-04-02T12:00:00Z");
    let f: Value =
        app.admin.get(app.url("/api/v1/findings?label=env=dev")).send().await.unwrap().json().await.unwrap();
    assert!(f["items"].as_array().unwrap().is_empty(), "label filter applies");
    let resp = app.admin.get(app.url("/api/v1/findings?severity=urgent")).send().await.unwrap();
    assert_problem(resp, 400).await;
}

#[tokio::test]
async fn an_editor_sets_a_cron_schedule_and_a_bad_one_is_refused() {
    let app = spawn_app().await;
    let c = cluster(&app, "prod-5").await;
    let editor = app.client_with_role(Role::Editor).await;
    let resp = editor
        .put(app.url(&format!("/api/v1/clusters/{c}/schedule")))
        .json(&json!({"cron": "*/15 * * * *"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let s: Value = resp.json().await.unwrap();
    let next: chrono::DateTime<Utc> = s["next_due_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(next.timestamp() % 900, 0, "due on a quarter hour");
    let got: Value = app
        .admin
        .get(app.url(&format!("/api/v1/clusters/{c}/schedule")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(got["cron"], "*/15 * * * *");
    let resp = editor
        .put(app.url(&format!("/api/v1/clusters/{c}/schedule")))
        .json(&json!({"cron": "every day"}))
        .send()
        .await
        .unwrap();
    assert!(assert_problem(resp, 400).await.contains("not a valid cron"));
    // A blank expression is not "no cron": the document's pattern refuses it, and so does the server.
    let resp = editor
        .put(app.url(&format!("/api/v1/clusters/{c}/schedule")))
        .json(&json!({"cron": "", "interval_seconds": 1}))
        .send()
        .await
        .unwrap();
    assert_problem(resp, 400).await;
    let resp = editor
        .put(app.url(&format!("/api/v1/clusters/{c}/schedule")))
        .json(&json!({"cron": "  "}))
        .send()
        .await
        .unwrap();
    assert!(assert_problem(resp, 400).await.contains("not a valid cron"));
    let resp = editor
        .put(app.url(&format!("/api/v1/clusters/{c}/schedule")))
        .json(&json!({"cron": "* * * * *", "interval_seconds": 60}))
        .send()
        .await
        .unwrap();
    assert_problem(resp, 400).await;
    let viewer = app.client_with_role(Role::Viewer).await;
    let resp = viewer
        .put(app.url(&format!("/api/v1/clusters/{c}/schedule")))
        .json(&json!({"interval_seconds": 600}))
        .send()
        .await
        .unwrap();
    assert_problem(resp, 403).await;
}
