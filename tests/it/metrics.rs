//! `GET /metrics` (issue 15) against real parts: a cluster served by the simulator, scanned by a
//! scheduler replica, scraped with a viewer's token; the figures equal the API's for the same
//! scan, the queue and lease gauges follow the scans table, and every scrape passes a real
//! `promtool check metrics` (Debian package `prometheus`). The `[metrics] listen` address serves
//! the same text without credentials, and nothing else.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};

use palisade::domain::Role;
use serde_json::{json, Value};

use crate::helpers::{assert_problem, spawn_app, spawn_app_with, TestApp};
use crate::history_scheduler::{app_db_url, replica, scan_on_demand, settings, start_sim};

const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The samples of an exposition: (name, labels) → value. Label values here hold no escapes.
type Samples = BTreeMap<(String, BTreeMap<String, String>), f64>;

fn parse(text: &str) -> Samples {
    let mut out = Samples::new();
    for line in text.lines().filter(|l| !l.is_empty() && !l.starts_with('#')) {
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("no value: {line}"));
        let value: f64 = value.parse().unwrap_or_else(|_| panic!("not a number: {line}"));
        let (name, labels) = match series.split_once('{') {
            Some((name, rest)) => {
                let labels = rest
                    .strip_suffix('}')
                    .unwrap()
                    .split("\",")
                    .map(|pair| {
                        let (k, v) = pair.split_once("=\"").unwrap();
                        (k.to_string(), v.trim_end_matches('"').to_string())
                    })
                    .collect();
                (name.to_string(), labels)
            }
            None => (series.to_string(), BTreeMap::new()),
        };
        assert!(out.insert((name, labels), value).is_none(), "a series twice: {line}");
    }
    out
}

/// The value of one series, if present.
fn value(samples: &Samples, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let labels = labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    samples.get(&(name.to_string(), labels)).copied()
}

/// Sum of a family's series whose labels include `filter`.
fn sum(samples: &Samples, name: &str, filter: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .filter(|((n, l), _)| {
            n == name && filter.iter().all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|(_, v)| v)
        .sum()
}

/// Feed the text to a real `promtool check metrics` and require a clean bill.
fn promtool_accepts(text: &str) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool runs (Debian package `prometheus`; scripts/test.sh installs it)");
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
        "promtool check metrics: {}\n{}{}\n--- the text:\n{text}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Scrape `/metrics` with `client`: 200 in the exposition format, which promtool accepts.
async fn scrape(app: &TestApp, client: &reqwest::Client) -> (String, Samples) {
    let resp = client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], CONTENT_TYPE);
    let text = resp.text().await.unwrap();
    promtool_accepts(&text);
    let samples = parse(&text);
    (text, samples)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_scrapes_the_same_score_and_failures_the_api_shows_for_the_newest_scan() {
    let app = spawn_app().await;
    let sim = start_sim(vec![]).await;
    let resp = app
        .admin
        .post(app.url("/api/v1/clusters"))
        .json(&json!({"name": "metrics-prod", "group": "payments", "credentials": {"kubeconfig": sim.kubeconfig()},
                      "check_connectivity": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201, "{}", resp.text().await.unwrap());
    let cluster = resp.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    // Scanned on demand only: the one scan below is the cluster's only one.
    let resp = app
        .admin
        .put(app.url(&format!("/api/v1/clusters/{cluster}/schedule")))
        .json(&json!({"paused": true}))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{}", resp.text().await.unwrap());
    let viewer = app.client_with_role(Role::Viewer).await;
    let (_, before) = scrape(&app, &viewer).await;
    assert_eq!(value(&before, "palisade_clusters", &[]), Some(1.0));
    assert_eq!(sum(&before, "palisade_cluster_findings", &[]), 0.0, "no series before the first results");
    assert_eq!(value(&before, "palisade_scans_total", &[("outcome", "succeeded")]), Some(0.0));

    let r = replica(&app_db_url(&app), app.state.cipher.clone(), settings()).await;
    let scan = scan_on_demand(&app, &cluster).await;
    r.shutdown().await;
    let state = scan["state"].as_str().unwrap();
    assert_ne!(state, "failed", "{scan}");
    let scan: Value = app.admin_json(&format!("/api/v1/scans/{}", scan["id"].as_str().unwrap())).await;
    let summary = &scan["summary"];

    let (text, m) = scrape(&app, &viewer).await;
    let me = [("cluster", "metrics-prod"), ("group", "payments")];
    assert_eq!(value(&m, "palisade_cluster_score", &me), summary["score"].as_f64(), "{text}");
    let finished = chrono::DateTime::parse_from_rfc3339(scan["finished_at"].as_str().unwrap()).unwrap();
    let at = value(&m, "palisade_cluster_last_scan_timestamp_seconds", &me).unwrap();
    assert!((at - finished.timestamp_micros() as f64 / 1e6).abs() < 1e-3, "{at} vs {finished}");
    // Every area and severity has its series, and they add up to the summary's failures.
    assert_eq!(m.keys().filter(|(n, _)| n == "palisade_cluster_findings").count(), 25);
    let mut failing = 0.0;
    for (area, counts) in summary["by_area"].as_object().unwrap() {
        let fail = counts["fail"].as_f64().unwrap();
        assert_eq!(sum(&m, "palisade_cluster_findings", &[("area", area)]), fail, "area {area}");
        failing += fail;
    }
    for (severity, counts) in summary["by_severity"].as_object().unwrap() {
        let fail = counts["fail"].as_f64().unwrap();
        assert_eq!(
            sum(&m, "palisade_cluster_findings", &[("severity", severity)]),
            fail,
            "severity {severity}"
        );
    }
    assert!(failing > 0.0, "the kubeadm sample fails checks");
    assert_eq!(failing, summary["by_status"]["fail"].as_f64().unwrap());
    // The scan's end is counted once, with its duration.
    assert_eq!(value(&m, "palisade_scans_total", &[("outcome", state)]), Some(1.0), "{text}");
    assert_eq!(sum(&m, "palisade_scans_total", &[]), 1.0);
    let outcome = [("outcome", state)];
    assert_eq!(value(&m, "palisade_scan_duration_seconds_count", &outcome), Some(1.0));
    assert_eq!(value(&m, "palisade_scan_duration_seconds_bucket", &[outcome[0], ("le", "+Inf")]), Some(1.0));
    let started = chrono::DateTime::parse_from_rfc3339(scan["started_at"].as_str().unwrap()).unwrap();
    let ran = (finished - started).num_microseconds().unwrap() as f64 / 1e6;
    let seconds = value(&m, "palisade_scan_duration_seconds_sum", &outcome).unwrap();
    assert!((seconds - ran).abs() < 1e-3, "{seconds} s scraped, {ran} s by the API");
    assert_eq!(value(&m, "palisade_scan_queue_depth", &[]), Some(0.0));
    assert_eq!(value(&m, "palisade_scans_running", &[]), Some(0.0));
    // Nothing about how the cluster is reached is a label.
    assert!(!text.contains("https://") && !text.contains("127.0.0.1"), "{text}");
    assert!(!text.to_lowercase().contains("token"), "{text}");

    // A deleted cluster leaves the metrics (its history is kept, and so are the scan totals).
    let resp = app.admin.delete(app.url(&format!("/api/v1/clusters/{cluster}"))).send().await.unwrap();
    assert!(resp.status().is_success(), "{}", resp.status());
    let (text, m) = scrape(&app, &viewer).await;
    assert!(!text.contains("metrics-prod"), "{text}");
    assert_eq!(value(&m, "palisade_clusters", &[]), Some(0.0));
    assert_eq!(value(&m, "palisade_scans_total", &[("outcome", state)]), Some(1.0));
}

#[tokio::test]
async fn metrics_need_credentials_and_take_a_session_as_well_as_a_token() {
    let app = spawn_app().await;
    let resp = reqwest::get(app.url("/metrics")).await.unwrap();
    assert_problem(resp, 401).await;
    let resp =
        reqwest::Client::new().get(app.url("/metrics")).bearer_auth("pal_forged").send().await.unwrap();
    assert_problem(resp, 401).await;
    let (browser, _) = app.login("admin", crate::helpers::ADMIN_PASSWORD).await;
    let (text, _) = scrape(&app, &browser).await;
    assert!(text.contains(&format!("palisade_build_info{{version=\"{}\"}} 1\n", env!("CARGO_PKG_VERSION"))));
    // Without `[metrics] listen`, there is no second listener.
    assert_eq!(app.metrics_port, None);
}

#[tokio::test]
async fn queued_scans_and_expired_leases_show_in_the_queue_gauges() {
    let app = spawn_app().await;
    let a = app.register_cluster("queue-a", json!({})).await["id"].as_str().unwrap().to_string();
    let b = app.register_cluster("queue-b", json!({})).await["id"].as_str().unwrap().to_string();
    let viewer = app.client_with_role(Role::Viewer).await;
    let gauges = |m: &Samples| {
        [
            "palisade_scan_queue_depth",
            "palisade_scan_retries_waiting",
            "palisade_scans_running",
            "palisade_scan_leases_expired",
        ]
        .map(|name| value(m, name, &[]).unwrap())
    };
    // No scheduler runs in this app: a requested scan stays queued.
    let queue = |cluster: &str| app.admin.post(app.url(&format!("/api/v1/clusters/{cluster}/scans"))).send();
    assert_eq!(queue(&a).await.unwrap().status(), 202);
    let (_, m) = scrape(&app, &viewer).await;
    assert_eq!(gauges(&m), [1.0, 0.0, 0.0, 0.0]);
    assert!(value(&m, "palisade_scan_queue_wait_seconds", &[]).unwrap() >= 0.0);
    assert_eq!(value(&m, "palisade_clusters", &[]), Some(2.0));

    // A's scan is taken by a replica that then dies (its lease runs out); B's waits out a retry
    // backoff. Written as the scheduler writes them.
    sqlx::query(
        "UPDATE scans SET state = 'running', started_at = now() - interval '40 seconds', lease_owner = 'gone/1',
                          lease_expires_at = now() - interval '5 seconds' WHERE cluster_id = $1::uuid",
    )
    .bind(&a)
    .execute(&app.pool)
    .await
    .unwrap();
    assert_eq!(queue(&b).await.unwrap().status(), 202);
    let (_, m) = scrape(&app, &viewer).await;
    assert_eq!(gauges(&m), [1.0, 0.0, 0.0, 1.0]);
    sqlx::query("UPDATE scans SET not_before = now() + interval '10 minutes' WHERE cluster_id = $1::uuid")
        .bind(&b)
        .execute(&app.pool)
        .await
        .unwrap();
    sqlx::query(
        "UPDATE scans SET lease_expires_at = now() + interval '30 seconds' WHERE cluster_id = $1::uuid",
    )
    .bind(&a)
    .execute(&app.pool)
    .await
    .unwrap();
    let (_, m) = scrape(&app, &viewer).await;
    assert_eq!(gauges(&m), [0.0, 1.0, 1.0, 0.0]);

    // A's scan fails after 40 seconds: counted as failed, in the 60-second bucket.
    sqlx::query(
        "UPDATE scans SET state = 'failed', finished_at = started_at + interval '40 seconds', lease_expires_at = NULL,
                          error = 'unreachable' WHERE cluster_id = $1::uuid",
    )
    .bind(&a)
    .execute(&app.pool)
    .await
    .unwrap();
    let (text, m) = scrape(&app, &viewer).await;
    assert_eq!(gauges(&m), [0.0, 1.0, 0.0, 0.0]);
    let failed = ("outcome", "failed");
    assert_eq!(value(&m, "palisade_scans_total", &[failed]), Some(1.0), "{text}");
    assert_eq!(value(&m, "palisade_scan_duration_seconds_bucket", &[failed, ("le", "30")]), Some(0.0));
    assert_eq!(value(&m, "palisade_scan_duration_seconds_bucket", &[failed, ("le", "60")]), Some(1.0));
    assert_eq!(value(&m, "palisade_scan_duration_seconds_sum", &[failed]), Some(40.0));
    // No results yet, so no per-cluster series.
    assert!(!text.contains("cluster=\""), "{text}");
}

#[tokio::test]
async fn the_metrics_listener_serves_metrics_without_credentials_and_nothing_else() {
    let app = spawn_app_with(|s| s.metrics.listen = Some("127.0.0.1:0".parse().unwrap())).await;
    let port = app.metrics_port.expect("a metrics listener");
    assert_ne!(port, app.port);
    app.register_cluster("listened", json!({})).await;
    let url = |path: &str| format!("http://127.0.0.1:{port}{path}");
    let resp = reqwest::get(url("/metrics")).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], CONTENT_TYPE);
    let text = resp.text().await.unwrap();
    promtool_accepts(&text);
    assert_eq!(value(&parse(&text), "palisade_clusters", &[]), Some(1.0), "{text}");
    // Only /metrics: not the API, nor the dashboard, nor the health probes.
    for path in ["/api/v1/clusters", "/", "/healthz", "/api/openapi.json"] {
        let resp = app.admin.get(url(path)).send().await.unwrap();
        assert_eq!(resp.status(), 404, "{path}");
    }
    // The main listener still asks for credentials.
    assert_problem(reqwest::get(app.url("/metrics")).await.unwrap(), 401).await;
}
