//! The cluster agent and push mode (issue 14), with real processes: a cluster registered in push
//! mode holds no credentials; `palisade agent --mode cluster` collects the simulator through the
//! real Kubernetes API with a kubeconfig and pushes the snapshot with the cluster's agent token;
//! the server judges it without ever connecting to the cluster. `POST /api/v1/ingest/cluster`
//! refuses the wrong cluster, replays, stale, malformed and oversized snapshots, each with why.

use std::io::Write;
use std::path::Path;

use serde::Deserialize;
use serde_json::{json, Value};

use crate::helpers::{assert_problem, spawn_app, spawn_app_with, TestApp};
use crate::history_scheduler::{app_db_url, replica, scan_on_demand, settings, start_sim};

async fn register_push(app: &TestApp, name: &str) -> String {
    let resp = app
        .admin
        .post(app.url("/api/v1/clusters"))
        .json(&json!({"name": name, "mode": "push", "labels": {"site": "edge"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201, "{}", resp.text().await.unwrap());
    let c: Value = resp.json().await.unwrap();
    assert_eq!(c["mode"], "push", "{c:#}");
    assert!(c.get("credentials").is_none());
    c["id"].as_str().unwrap().to_string()
}

async fn agent_token(app: &TestApp, cluster: &str) -> String {
    let resp = app
        .admin
        .post(app.url(&format!("/api/v1/clusters/{cluster}/agent-tokens")))
        .json(&json!({"name": "cluster-agent"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201, "{}", resp.text().await.unwrap());
    resp.json::<Value>().await.unwrap()["secret"].as_str().unwrap().to_string()
}

/// `palisade agent --mode cluster ARGS`, only loopback allowed out.
async fn cluster_agent(args: &[&str]) -> std::process::Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_palisade"))
        .args(["agent", "--mode", "cluster"])
        .args(args)
        .env("PALISADE__EGRESS__ALLOW", "127.0.0.0/8,::1/128")
        .output()
        .await
        .unwrap()
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_string()
}

async fn push(app: &TestApp, token: &str, body: Vec<u8>, gzip: bool) -> reqwest::Response {
    let mut req = reqwest::Client::new()
        .post(app.url("/api/v1/ingest/cluster"))
        .bearer_auth(token)
        .header("content-type", "application/json");
    if gzip {
        req = req.header("content-encoding", "gzip");
    }
    req.body(body).send().await.unwrap()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_mode_cluster_is_judged_from_its_agents_snapshot_and_never_dialled() {
    let app = spawn_app().await;
    let sim = start_sim(vec![]).await;
    let cluster = register_push(&app, "edge-7").await;

    // The server has nothing to dial with: no connectivity check, no credentials to set.
    let r =
        app.admin.post(app.url(&format!("/api/v1/clusters/{cluster}/connectivity"))).send().await.unwrap();
    let detail = assert_problem(r, 409).await;
    assert!(detail.contains("push mode"), "{detail}");
    let r = app
        .admin
        .put(app.url(&format!("/api/v1/clusters/{cluster}/credentials")))
        .json(&json!({"kubeconfig": sim.kubeconfig()}))
        .send()
        .await
        .unwrap();
    assert_problem(r, 409).await;
    // Before the first snapshot, the cluster page says what to do.
    let (browser, _) = app.login("admin", crate::helpers::ADMIN_PASSWORD).await;
    let page = |browser: reqwest::Client| {
        let url = app.url(&format!("/clusters/{cluster}"));
        async move { browser.get(url).send().await.unwrap().text().await.unwrap() }
    };
    let html = page(browser.clone()).await;
    assert!(html.contains("no snapshot from the cluster agent yet") && html.contains("push mode"), "{html}");

    let token = agent_token(&app, &cluster).await;
    let tmp = tempfile::tempdir().unwrap();
    let token_file = write(tmp.path(), "token", &token);
    let kubeconfig = write(tmp.path(), "kubeconfig", &sim.kubeconfig());
    let ssh_port = sim.ssh_port.map(|p| p.to_string()).unwrap_or_else(|| "0".into());
    let spool = tmp.path().join("spool");
    let out = cluster_agent(&[
        "--once",
        "--server",
        &app.address,
        "--token-file",
        &token_file,
        "--kubeconfig",
        &kubeconfig,
        "--ssh-port",
        &ssh_port,
        "--spool-dir",
        spool.to_str().unwrap(),
    ])
    .await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("delivered 1 report"), "{stderr}");
    assert!(stderr.contains("collected 3 nodes"), "{stderr}");
    let dialled_by_agent = sim.requests_served();
    assert!(dialled_by_agent > 0);

    // The ingest queued a scan; a scheduler replica judges the stored snapshot.
    let r = replica(&app_db_url(&app), app.state.cipher.clone(), settings()).await;
    let scan = scan_on_demand(&app, &cluster).await;
    r.shutdown().await;
    // Partial only for what no agent reported here (node agents' host facts): nothing was
    // missing from the snapshot itself.
    assert!(scan["state"] == "succeeded" || scan["state"] == "partial", "{scan:#}");
    assert!(scan["error"].is_null(), "{scan:#}");
    assert_eq!(scan["summary"]["by_area"]["tls"]["unknown"], 0, "the agent's probes decided TLS: {scan:#}");
    assert_eq!(sim.requests_served(), dialled_by_agent, "the server never connected to the cluster");
    let id = scan["id"].as_str().unwrap();
    let results: Value = app.admin_json(&format!("/api/v1/scans/{id}/results?limit=500&status=fail")).await;
    let items = results["items"].as_array().unwrap();
    assert!(!items.is_empty(), "the sample's failures are found: {results:#}");
    // The sample kubeadm cluster's anonymous kubelet access and its RBAC are judged from the
    // agent's snapshot, as in a pull scan.
    let checks: Vec<&str> = items.iter().filter_map(|i| i["check_id"].as_str()).collect();
    assert!(checks.iter().any(|c| c.starts_with("PAL-")), "{checks:?}");
    // The probes ran inside the cluster (the agent's side): TLS facts of the API server.
    let tls: Value = app.admin_json(&format!("/api/v1/scans/{id}/results?limit=500&check=PAL-TLS-201")).await;
    assert!(
        tls["items"].as_array().unwrap().iter().any(|i| i["status"] != "unknown"),
        "the agent's TLS probe decided PAL-TLS-201: {tls:#}"
    );

    // The cluster page names the agent's last snapshot; the admin list says push mode.
    let html = page(browser.clone()).await;
    assert!(html.contains("id=\"cluster-agent\">Cluster agent"), "{html}");
    let admin = browser.get(app.url("/admin/clusters")).send().await.unwrap().text().await.unwrap();
    assert!(admin.contains("push mode (cluster agent)"), "{admin}");
    let stored: i64 =
        sqlx::query_scalar("SELECT count(*) FROM cluster_reports").fetch_one(&app.pool).await.unwrap();
    assert_eq!(stored, 1);
}

/// One real report from the agent (`--print`, no probes), as JSON.
async fn printed_report(sim: &palisade::sim::SimHandle, dir: &Path) -> Value {
    let kubeconfig = write(dir, "kubeconfig", &sim.kubeconfig());
    let out = cluster_agent(&["--print", "--no-probe", "--kubeconfig", &kubeconfig]).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).expect("--print writes the report as JSON");
    assert_eq!(v["schema"], "palisade.cluster-report/v1");
    assert_eq!(v["snapshot"]["nodes"]["items"].as_array().unwrap().len(), 3);
    v
}

fn fresh(report: &Value, collected_at: chrono::DateTime<chrono::Utc>) -> Value {
    let mut r = report.clone();
    r["report_id"] = json!(uuid::Uuid::now_v7());
    r["collected_at"] = json!(collected_at);
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_ingest_refuses_what_it_must_and_says_why() {
    let app = spawn_app_with(|s| s.server.cluster_report_limit_bytes = 4 * 1024 * 1024).await;
    let sim = start_sim(vec![]).await;
    let tmp = tempfile::tempdir().unwrap();
    let report = printed_report(&sim, tmp.path()).await;
    let push_a = register_push(&app, "edge-a").await;
    let pull = app.register_cluster("pulled", json!({})).await["id"].as_str().unwrap().to_string();
    let token_a = agent_token(&app, &push_a).await;
    let token_pull = agent_token(&app, &pull).await;
    let now = chrono::Utc::now();

    // No token, an API token: 401. A pull-mode cluster's agent token: 409, with the reason.
    let body = serde_json::to_vec(&fresh(&report, now)).unwrap();
    let r = reqwest::Client::new().post(app.url("/api/v1/ingest/cluster")).body(body.clone()).send().await;
    assert_problem(r.unwrap(), 401).await;
    assert_problem(push(&app, &app.admin_token, body.clone(), false).await, 401).await;
    let detail = assert_problem(push(&app, &token_pull, body.clone(), false).await, 409).await;
    assert!(detail.contains("pull mode"), "{detail}");

    // Gzip-compressed, accepted; the same report again is a replay; an older one is stale.
    let r = push(&app, &token_a, gzip(&body), true).await;
    assert_eq!(r.status(), 202, "{}", r.text().await.unwrap());
    let accepted: Value = r.json().await.unwrap();
    assert_eq!(accepted["cluster"], "edge-a");
    assert!(accepted["scan_id"].is_string(), "{accepted:#}");
    let detail = assert_problem(push(&app, &token_a, body.clone(), false).await, 409).await;
    assert!(detail.starts_with("duplicate report"), "{detail}");
    let older = serde_json::to_vec(&fresh(&report, now - chrono::Duration::hours(1))).unwrap();
    let detail = assert_problem(push(&app, &token_a, older, false).await, 409).await;
    assert!(detail.starts_with("stale report"), "{detail}");

    // Malformed: not gzip though it says so, not JSON, an unknown schema, the future.
    let detail = assert_problem(push(&app, &token_a, b"not gzip".to_vec(), true).await, 400).await;
    assert!(detail.contains("gzip"), "{detail}");
    assert_problem(push(&app, &token_a, b"{\"schema\":".to_vec(), false).await, 400).await;
    let mut other = fresh(&report, now);
    other["schema"] = json!("palisade.cluster-report/v9");
    let detail =
        assert_problem(push(&app, &token_a, serde_json::to_vec(&other).unwrap(), false).await, 400).await;
    assert!(detail.contains("schema"), "{detail}");
    let future = fresh(&report, now + chrono::Duration::hours(2));
    let detail =
        assert_problem(push(&app, &token_a, serde_json::to_vec(&future).unwrap(), false).await, 400).await;
    assert!(detail.contains("in the future"), "{detail}");

    // Over the limit, plain and as a small gzip that inflates past it (a zip bomb): 413.
    let mut big = fresh(&report, chrono::Utc::now());
    big["snapshot"]["gaps"] = json!([{"what": "x".repeat(5 * 1024 * 1024), "reason": "padding"}]);
    let big = serde_json::to_vec(&big).unwrap();
    assert_problem(push(&app, &token_a, big.clone(), false).await, 413).await;
    let bomb = gzip(&big);
    assert!(bomb.len() < 1024 * 1024);
    assert_problem(push(&app, &token_a, bomb, true).await, 413).await;

    // Only the two newest snapshots are kept; every rejection above stored nothing.
    let stored: i64 =
        sqlx::query_scalar("SELECT count(*) FROM cluster_reports").fetch_one(&app.pool).await.unwrap();
    assert_eq!(stored, 1);
    for _ in 0..3 {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        let r = fresh(&report, chrono::Utc::now());
        let resp = push(&app, &token_a, serde_json::to_vec(&r).unwrap(), false).await;
        assert_eq!(resp.status(), 202, "{}", resp.text().await.unwrap());
    }
    let stored: i64 =
        sqlx::query_scalar("SELECT count(*) FROM cluster_reports").fetch_one(&app.pool).await.unwrap();
    assert_eq!(stored, 2, "the two newest snapshots are kept");
}

#[test]
fn the_cluster_agent_manifest_parses_grants_only_reads_and_names_only_flags_the_agent_takes() {
    use k8s_openapi::api::apps::v1::Deployment;
    use k8s_openapi::api::rbac::v1::ClusterRole;
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/cluster-agent.yaml")).unwrap();
    let docs: Vec<serde_yaml::Value> = serde_yaml::Deserializer::from_str(&text)
        .map(|d| serde_yaml::Value::deserialize(d).unwrap())
        .collect();
    let of =
        |kind: &str| docs.iter().find(|v| v["kind"] == kind).cloned().unwrap_or_else(|| panic!("a {kind}"));
    let role: ClusterRole = serde_yaml::from_value(of("ClusterRole")).unwrap();
    for rule in role.rules.unwrap() {
        for verb in &rule.verbs {
            assert!(["get", "list"].contains(&verb.as_str()), "read-only: {verb} on {:?}", rule.resources);
        }
    }
    let deployment: Deployment = serde_yaml::from_value(of("Deployment")).unwrap();
    let pod = deployment.spec.unwrap().template.spec.unwrap();
    assert_eq!(pod.service_account_name.as_deref(), Some("palisade-cluster-agent"));
    let c = &pod.containers[0];
    let mut args: Vec<String> = c.args.clone().unwrap();
    args.retain(|a| a != "agent" && !a.starts_with("--mode"));
    // Outside a pod there is no service account: the agent says to pass a kubeconfig, after its
    // parser accepted every flag of the manifest.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_palisade"))
        .args(["agent", "--mode", "cluster", "--print", "--no-probe"])
        .args(&args)
        .env_remove("KUBERNETES_SERVICE_HOST")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("--kubeconfig"), "{stderr}");
    assert!(!stderr.contains("unexpected argument"), "{stderr}");
}
