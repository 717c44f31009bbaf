//! The node agent and the ingest API (issue 14), with real processes: `palisade agent --mode node`
//! reads a fake host root with planted modes, owners, sshd settings and certificates, posts to a
//! running server with its cluster's agent token, and the cluster's next scan judges the facts.
//! Ingest refuses missing, wrong, revoked and API tokens, oversized and malformed reports, and
//! recognizes duplicates and stale reports; the spool keeps reports while the server is away and
//! delivers each exactly once.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;
use serde_json::{json, Value};

use crate::helpers::{assert_problem, spawn_app, TestApp};
use crate::history_scheduler::{app_db_url, replica, scan_on_demand, settings, start_sim};

fn put(root: &Path, path: &str, text: &str, mode: u32) -> PathBuf {
    let p = root.join(path.trim_start_matches('/'));
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, text).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
    p
}

fn cert_pem(days: i64) -> String {
    let mut params = rcgen::CertificateParams::new(vec!["node".to_string()]).unwrap();
    params.distinguished_name.push(rcgen::DnType::CommonName, format!("valid-{days}-days"));
    use chrono::Datelike;
    let ymd =
        |d: chrono::DateTime<chrono::Utc>| rcgen::date_time_ymd(d.year(), d.month() as u8, d.day() as u8);
    let now = chrono::Utc::now();
    params.not_before = ymd(now - chrono::Duration::days(400));
    params.not_after = ymd(now + chrono::Duration::days(days));
    let key = rcgen::KeyPair::generate().unwrap();
    params.self_signed(&key).unwrap().pem()
}

/// A control-plane node's root: a world-readable API server manifest, an admin.conf owned by a
/// user, a private key readable by all, an expired certificate, and an sshd that lets root in
/// with a password through a Match block.
fn host_root() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    put(r, "/etc/passwd", "root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/sh\n", 0o644);
    put(r, "/etc/group", "root:x:0:\nalice:x:1000:\n", 0o644);
    put(r, "/etc/hostname", "cp-1\n", 0o644);
    put(
        r,
        "/etc/kubernetes/manifests/kube-apiserver.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: kube-apiserver, namespace: kube-system}\nspec:\n  containers:\n  - name: kube-apiserver\n    command: [kube-apiserver, --anonymous-auth=false]\n    env:\n    - {name: CLOUD_TOKEN, value: planted-secret-value}\n    - {name: GOMAXPROCS, value: \"2\"}\n",
        0o644,
    );
    put(r, "/etc/kubernetes/manifests/etcd.yaml", "kind: Pod\n", 0o600);
    let admin = put(r, "/etc/kubernetes/admin.conf", "kind: Config\n", 0o600);
    std::os::unix::fs::chown(&admin, Some(1000), Some(1000)).expect("the tests run as root (chown)");
    put(r, "/etc/kubernetes/pki/ca.crt", &cert_pem(3650), 0o644);
    put(r, "/etc/kubernetes/pki/ca.key", "key material is never read", 0o644);
    put(r, "/etc/kubernetes/pki/apiserver.crt", &cert_pem(-3), 0o644);
    put(r, "/var/lib/kubelet/config.yaml", "kind: KubeletConfiguration\nreadOnlyPort: 0\n", 0o600);
    // The running kubelet, as the host's /proc shows it: it overrides its hostname.
    put(r, "/proc/1/cmdline", "/sbin/init\0", 0o444);
    put(
        r,
        "/proc/812/cmdline",
        "/usr/bin/kubelet\0--config=/var/lib/kubelet/config.yaml\0--hostname-override\0node-a\0",
        0o444,
    );
    put(
        r,
        "/etc/ssh/sshd_config",
        "Include /etc/ssh/sshd_config.d/*.conf\nPermitRootLogin yes\nMatch User root\n  PasswordAuthentication yes\n",
        0o644,
    );
    put(
        r,
        "/etc/ssh/sshd_config.d/10-hardening.conf",
        "PasswordAuthentication no\nKbdInteractiveAuthentication no\n",
        0o644,
    );
    put(r, "/root/.ssh/authorized_keys", "ssh-ed25519 AAAA one\n# comment\nssh-ed25519 AAAA two\n", 0o600);
    dir
}

fn agent(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_palisade"))
        .arg("agent")
        .args(["--mode", "node"])
        .args(args)
        .output()
        .unwrap()
}

async fn agent_token(app: &TestApp, cluster: &str) -> (String, String) {
    let resp = app
        .admin
        .post(app.url(&format!("/api/v1/clusters/{cluster}/agent-tokens")))
        .json(&json!({"name": "node-agents"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201, "{}", resp.text().await.unwrap());
    let v: Value = resp.json().await.unwrap();
    (v["secret"].as_str().unwrap().to_string(), v["id"].as_str().unwrap().to_string())
}

fn report(node: &str, collected_at: chrono::DateTime<chrono::Utc>) -> Value {
    json!({"schema": "palisade.node-report/v1", "report_id": uuid::Uuid::now_v7(), "node": node,
           "collected_at": collected_at, "agent_version": "test", "facts": {}})
}

async fn ingest(app: &TestApp, token: &str, body: &Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(app.url("/api/v1/ingest/node"))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agents_report_joins_the_next_scan_and_its_findings_name_the_node() {
    let app = spawn_app().await;
    let sim = start_sim(vec![]).await;
    let resp = app
        .admin
        .post(app.url("/api/v1/clusters"))
        .json(&json!({"name": "with-agents", "credentials": {"kubeconfig": sim.kubeconfig()}, "check_connectivity": false, "ssh_port": sim.ssh_port}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let cluster = resp.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    let (token, _) = agent_token(&app, &cluster).await;
    let tmp = tempfile::tempdir().unwrap();
    let token_file = put(tmp.path(), "/token", &token, 0o600);
    let root = host_root();
    let out = agent(&[
        "--once",
        "--server",
        &app.address,
        "--token-file",
        token_file.to_str().unwrap(),
        "--host-root",
        root.path().to_str().unwrap(),
        "--spool-dir",
        tmp.path().join("spool").to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("delivered 1 report"));

    let agents: Value = app.admin_json(&format!("/api/v1/clusters/{cluster}/agents")).await;
    assert_eq!(agents.as_array().unwrap().len(), 1, "{agents}");
    // The manifest went with the report, its credential-like environment value omitted.
    let stored: String =
        sqlx::query_scalar("SELECT facts::text FROM node_reports").fetch_one(&app.pool).await.unwrap();
    assert!(stored.contains("kube-apiserver") && stored.contains("(omitted by the node agent)"), "{stored}");
    assert!(!stored.contains("planted-secret-value") && stored.contains("GOMAXPROCS"));
    assert_eq!(agents[0]["node"], "cp-1", "the node name comes from the host's /etc/hostname");
    assert_eq!(agents[0]["sshd"], true);
    assert_eq!(agents[0]["certificates"], 2);
    // The dashboard's cluster page lists the agent and the expired node certificate.
    let (browser, _) = app.login("admin", crate::helpers::ADMIN_PASSWORD).await;
    let html =
        browser.get(app.url(&format!("/clusters/{cluster}"))).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("<table id=\"agents\">") && html.contains("<td>cp-1</td>"), "{html}");
    let certs = &html[html.find("<table id=\"certs\">").expect("a certificate table")..];
    assert!(certs.contains("/etc/kubernetes/pki/apiserver.crt") && certs.contains("expired"), "{certs}");
    assert!(
        !certs[..certs.find("</table>").unwrap()].contains("ca.crt"),
        "a CA valid for ten years is not listed"
    );

    let r = replica(&app_db_url(&app), app.state.cipher.clone(), settings()).await;
    let scan = scan_on_demand(&app, &cluster).await;
    r.shutdown().await;
    let id = scan["id"].as_str().unwrap();
    let verdicts = |check: &'static str| {
        let app = &app;
        async move {
            let v: Value =
                app.admin_json(&format!("/api/v1/scans/{id}/results?limit=500&check={check}")).await;
            v["items"].as_array().unwrap().clone()
        }
    };
    let on = |items: &[Value], node: &str| -> Value {
        items
            .iter()
            .find(|i| i["resource"]["name"] == node)
            .cloned()
            .unwrap_or_else(|| panic!("no result for {node}: {items:#?}"))
    };
    // 1.1.1: the planted 644 manifest.
    let r = on(&verdicts("PAL-HOST-111").await, "cp-1");
    assert_eq!(r["status"], "fail", "{r:#}");
    assert!(r["evidence"].as_str().unwrap().contains("mode 644"), "{r:#}");
    // 1.1.7 passes (600); 1.1.14: admin.conf owned by alice.
    assert_eq!(on(&verdicts("PAL-HOST-117").await, "cp-1")["status"], "pass");
    let r = on(&verdicts("PAL-HOST-124").await, "cp-1");
    assert!(r["status"] == "fail" && r["evidence"].as_str().unwrap().contains("alice:alice"), "{r:#}");
    // 1.1.21 is unscored: a readable key warns.
    let r = on(&verdicts("PAL-HOST-131").await, "cp-1");
    assert!(
        r["status"] == "warn" && r["evidence"].as_str().unwrap().contains("ca.key has mode 644"),
        "{r:#}"
    );
    // The workers sent no report: unknown, not passed.
    assert_eq!(on(&verdicts("PAL-HOST-149").await, "worker-1")["status"], "unknown");
    // sshd: root may log in, with a password through the Match block; two authorized keys.
    let r = on(&verdicts("PAL-HOST-105").await, "cp-1");
    assert!(r["status"] == "fail" && r["evidence"].as_str().unwrap().contains("2 authorized keys"), "{r:#}");
    let r = on(&verdicts("PAL-HOST-107").await, "cp-1");
    assert_eq!(r["status"], "fail", "{r:#}");
    // The configuration (the Match block's `yes` for root) and the probe of the simulated node
    // (whose sample lets root use a password) agree.
    let ev = r["evidence"].as_str().unwrap();
    assert!(ev.contains("PasswordAuthentication yes") && ev.contains("password login is possible"), "{ev}");
    // 4.2.7 needs the kubelet's command line, which only the agent reads: decided on cp-1 (it
    // overrides its hostname), still unknown on the workers.
    let hostname = verdicts("PAL-HOST-004").await;
    let cp = hostname.iter().find(|i| i["resource"]["node"] == "cp-1").expect("a result for cp-1's kubelet");
    assert!(
        cp["status"] == "warn" && cp["evidence"].as_str().unwrap().contains("hostname-override"),
        "{cp:#}"
    );
    let worker = hostname.iter().find(|i| i["resource"]["node"] == "worker-1").unwrap();
    assert_eq!(worker["status"], "unknown", "{worker:#}");
    // The expired apiserver certificate.
    let r = on(&verdicts("PAL-HOST-160").await, "cp-1");
    assert!(r["status"] == "fail" && r["evidence"].as_str().unwrap().contains("apiserver.crt"), "{r:#}");
}

#[tokio::test]
async fn ingest_refuses_what_it_must_and_says_why() {
    let app = spawn_app_limited().await;
    let a = app.register_cluster("cluster-a", json!({})).await;
    let b = app.register_cluster("cluster-b", json!({})).await;
    let (a, b) = (a["id"].as_str().unwrap().to_string(), b["id"].as_str().unwrap().to_string());
    let (token_a, token_a_id) = agent_token(&app, &a).await;
    let (token_b, _) = agent_token(&app, &b).await;
    let now = chrono::Utc::now();

    // No token, an API token, a made-up token.
    let r = reqwest::Client::new()
        .post(app.url("/api/v1/ingest/node"))
        .json(&report("n1", now))
        .send()
        .await
        .unwrap();
    assert_problem(r, 401).await;
    assert_problem(ingest(&app, &app.admin_token, &report("n1", now)).await, 401).await;
    assert_problem(ingest(&app, "pla_not-a-token", &report("n1", now)).await, 401).await;

    // Each token writes to its own cluster only.
    let first = report("n1", now);
    assert_eq!(ingest(&app, &token_a, &first).await.status(), 202);
    assert_eq!(ingest(&app, &token_b, &report("n2", now)).await.status(), 202);
    let on_a: Value = app.admin_json(&format!("/api/v1/clusters/{a}/agents")).await;
    let on_b: Value = app.admin_json(&format!("/api/v1/clusters/{b}/agents")).await;
    assert_eq!(on_a.as_array().unwrap().iter().map(|r| r["node"].clone()).collect::<Vec<_>>(), [json!("n1")]);
    assert_eq!(on_b.as_array().unwrap().iter().map(|r| r["node"].clone()).collect::<Vec<_>>(), [json!("n2")]);

    // A replay, then an older report for the same node.
    let detail = assert_problem(ingest(&app, &token_a, &first).await, 409).await;
    assert!(detail.starts_with("duplicate report"), "{detail}");
    let detail =
        assert_problem(ingest(&app, &token_a, &report("n1", now - chrono::Duration::hours(1))).await, 409)
            .await;
    assert!(detail.starts_with("stale report"), "{detail}");
    // Malformed: a bad node name, an unknown schema, the future, unknown fields, oversized.
    let detail = assert_problem(ingest(&app, &token_a, &report("Not_A_Node", now)).await, 400).await;
    assert!(detail.contains("not a node name"), "{detail}");
    let mut other = report("n1", now);
    other["schema"] = json!("palisade.node-report/v9");
    assert!(assert_problem(ingest(&app, &token_a, &other).await, 400)
        .await
        .contains("unknown report schema"));
    let detail =
        assert_problem(ingest(&app, &token_a, &report("n1", now + chrono::Duration::hours(2))).await, 400)
            .await;
    assert!(detail.contains("in the future"), "{detail}");
    let mut extra = report("n1", now);
    extra["facts"]["shell_history"] = json!("…");
    assert_problem(ingest(&app, &token_a, &extra).await, 400).await;
    // NUL cannot be stored: refused after the token, with the reason; before it, only 401.
    let mut nul = report("n1", now);
    nul["facts"]["errors"] = json!(["a\u{0}b"]);
    let detail = assert_problem(ingest(&app, &token_b, &nul).await, 400).await;
    assert!(detail.contains("NUL"), "{detail}");
    assert_problem(ingest(&app, &app.admin_token, &nul).await, 401).await;
    let mut big = report("n1", now);
    big["facts"]["errors"] = json!(vec!["x".repeat(1000); 200]);
    assert_problem(ingest(&app, &token_a, &big).await, 413).await;

    // Only admins manage agent tokens; a revoked token is refused at once.
    let editor = app.client_with_role(palisade::domain::Role::Editor).await;
    let r = editor
        .post(app.url(&format!("/api/v1/clusters/{a}/agent-tokens")))
        .json(&json!({"name": "x"}))
        .send()
        .await
        .unwrap();
    assert_problem(r, 403).await;
    let listed: Value = app.admin_json(&format!("/api/v1/clusters/{a}/agent-tokens")).await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert!(listed[0].get("secret").is_none() && !listed.to_string().contains(&token_a));
    let r = app
        .admin
        .delete(app.url(&format!("/api/v1/clusters/{a}/agent-tokens/{token_a_id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_problem(ingest(&app, &token_a, &report("n1", chrono::Utc::now())).await, 401).await;
    let audit: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action LIKE 'agent_token.%'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(audit, 3, "two creations and a revocation");
}

/// An app with a small body limit, so an oversized report is cheap to make.
async fn spawn_app_limited() -> TestApp {
    crate::helpers::spawn_app_with(|s| s.server.body_limit_bytes = 64 * 1024).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_wait_in_the_spool_while_the_server_is_away_and_arrive_exactly_once() {
    let app = spawn_app().await;
    let c = app.register_cluster("spooled", json!({})).await;
    let cluster = c["id"].as_str().unwrap().to_string();
    let (token, _) = agent_token(&app, &cluster).await;
    let tmp = tempfile::tempdir().unwrap();
    let token_file = put(tmp.path(), "/token", &token, 0o600);
    let spool = tmp.path().join("spool");
    let root = host_root();
    let run = |server: &str| {
        agent(&[
            "--once",
            "--server",
            server,
            "--token-file",
            token_file.to_str().unwrap(),
            "--host-root",
            root.path().to_str().unwrap(),
            "--node",
            "node-7",
            "--spool-dir",
            spool.to_str().unwrap(),
        ])
    };
    let away = format!("http://127.0.0.1:{}", crate::sshd_support::free_port());
    for _ in 0..2 {
        let out = run(&away);
        assert_eq!(out.status.code(), Some(3), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(String::from_utf8_lossy(&out.stderr).contains("spooled for later"));
    }
    let kept = palisade::agent::deliver::spooled(&spool).unwrap();
    assert_eq!(kept.len(), 2);
    // The first spooled report is delivered, but its answer is "lost": it stays in the spool.
    let lost = std::fs::read(&kept[0]).unwrap();
    let r = reqwest::Client::new()
        .post(app.url("/api/v1/ingest/node"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(lost)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    // Back: the two spooled and a new one arrive in order; the one already stored is not stored twice.
    let out = run(&app.address);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("delivered 3 report(s) (1 already stored)"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(palisade::agent::deliver::spooled(&spool).unwrap().is_empty());
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM node_reports WHERE node = 'node-7'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(stored, 3);
}

#[test]
fn the_agent_reads_real_sshd_with_sshd_t_and_agrees_with_the_probe() {
    let dir = tempfile::tempdir().unwrap();
    let sshd = crate::sshd_support::Sshd::start(
        dir.path(),
        "PasswordAuthentication no\nKbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\n\
         Match User root\n  PasswordAuthentication yes\n",
    );
    let config = dir.path().join(format!("sshd-{}.conf", sshd.port));
    let out = agent(&["--print", "--node", "n1", "--sshd-config", config.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let sshd_facts = &v["facts"]["sshd"];
    assert_eq!(sshd_facts["source"], "sshd -T", "{v:#}");
    // sshd -T -C user=root applies the Match block, as the live server does for root.
    assert_eq!(sshd_facts["settings"]["passwordauthentication"], "yes");
    assert_eq!(sshd_facts["settings"]["permitrootlogin"], "without-password");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let probed = rt.block_on(palisade::collect::probe::ssh::probe_ssh(
        &palisade::egress::Egress::loopback_only(),
        "127.0.0.1",
        sshd.port,
        std::time::Duration::from_secs(5),
    ));
    assert_eq!(probed.root_auth_methods, Some(vec!["publickey".to_string(), "password".to_string()]));
}

#[test]
fn the_daemonset_manifest_parses_and_names_only_flags_the_agent_takes() {
    use k8s_openapi::api::apps::v1::DaemonSet;
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/node-agent.yaml")).unwrap();
    let ds = serde_yaml::Deserializer::from_str(&text)
        .map(|d| serde_yaml::Value::deserialize(d).unwrap())
        .find(|v| v["kind"] == "DaemonSet")
        .expect("a DaemonSet");
    let ds: DaemonSet = serde_yaml::from_value(ds).unwrap();
    let pod = ds.spec.unwrap().template.spec.unwrap();
    let c = &pod.containers[0];
    assert!(c
        .volume_mounts
        .as_ref()
        .unwrap()
        .iter()
        .any(|m| m.mount_path == "/host" && m.read_only == Some(true)));
    let mut args: Vec<String> = c.args.clone().unwrap();
    args.retain(|a| a != "agent");
    // The agent's own parser accepts every flag (`--print` so nothing is sent).
    let out = Command::new(env!("CARGO_BIN_EXE_palisade"))
        .arg("agent")
        .args(args.iter().map(|a| a.replace("--host-root=/host", "--host-root=/nonexistent")))
        .args(["--print", "--node", "n1"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}
