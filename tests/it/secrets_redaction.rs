//! Secrets stay out of snapshots and logs (issue 18): secrets planted in a simulated cluster and in
//! a dump are looked for, after real `palisade` processes logging at `trace` scanned them, in the
//! stored database, every API answer about the cluster, the stored snapshot file and the logs.
//! None is found; the variables' names and the keys' fingerprints are, so the search can fail.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use palisade::collect::reduce::redact::fingerprint;
use palisade::sim::settings::SimSettings;
use palisade::sim::store::ClusterBuilder;
use palisade::sim::{SimConfig, SimServer};
use serde_json::{json, Value};
use sqlx::Connection;

use crate::helpers::test_server_url;

const ENV_SECRET: &str = "planted-env-wJalrXUtnFEMI-K7MDENG";
const ENCRYPTION_SECRET: &str = "cGxhbnRlZC1lbmNyeXB0aW9uLWtleS0xMjM0NTY3OA==";
const KUBECONFIG_TOKEN: &str = "planted-kubeconfig-token-9f8e7d6c5b4a";
const CLIENT_KEY_DATA: &str = "cGxhbnRlZC1jbGllbnQta2V5LWRhdGE=";
const PEM_BODY: &str = "MHcCAQEEIPlantedPrivateKeyBodyThatMustNeverBeStored0123456789abc";

fn planted() -> Vec<&'static str> {
    vec![ENV_SECRET, ENCRYPTION_SECRET, KUBECONFIG_TOKEN, CLIENT_KEY_DATA, PEM_BODY]
}

fn apiserver_pod() -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "kube-apiserver", "namespace": "kube-system",
        "labels": {"component": "kube-apiserver", "tier": "control-plane"}},
        "spec": {"hostNetwork": true, "containers": [{"name": "kube-apiserver",
            "image": "registry.k8s.io/kube-apiserver:v1.31.4",
            "command": ["kube-apiserver", "--authorization-mode=Node,RBAC", "--anonymous-auth=false",
                "--encryption-provider-config=/etc/kubernetes/enc.yaml"],
            "env": [{"name": "AWS_SECRET_ACCESS_KEY", "value": ENV_SECRET},
                    {"name": "ETCD_NAME", "value": "cp-1"}]}]}})
}

fn assert_clean(what: &str, text: &str) {
    for secret in planted() {
        assert!(!text.contains(secret), "{what} holds the planted secret {secret}");
    }
}

/// A free loopback port for a child server.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn planted_secrets_are_in_no_snapshot_answer_or_log_line() {
    // A simulated cluster whose API server carries a secret in its environment.
    let mut b = ClusterBuilder::new("planted", SimSettings::default());
    b.add_object(json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "cp-1",
        "labels": {"node-role.kubernetes.io/control-plane": ""}},
        "status": {"nodeInfo": {"kubeletVersion": "v1.31.4"}}}))
        .unwrap();
    b.add_object(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kube-system"}}))
        .unwrap();
    b.add_static_pod("cp-1", apiserver_pod());
    let sim = SimServer::start(SimConfig::new(b.finish())).await.expect("the simulator starts");

    // A real server on its own database, logging everything.
    let db = format!("palisade_test_{}", uuid::Uuid::new_v4().simple());
    let mut admin = sqlx::PgConnection::connect(&test_server_url()).await.unwrap();
    sqlx::query(&format!("CREATE DATABASE \"{db}\"")).execute(&mut admin).await.unwrap();
    let mut url = url::Url::parse(&test_server_url()).unwrap();
    url.set_path(&db);
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let log_path = dir.path().join("serve.log");
    let password = "planted-test-admin-password";
    let mut server = Command::new(env!("CARGO_BIN_EXE_palisade"))
        .args(["serve"])
        .current_dir(dir.path())
        .env("DATABASE_URL", url.as_str())
        .env("PALISADE__DATABASE__EMBEDDED_FALLBACK", "false")
        .env("PALISADE__SERVER__LISTEN", format!("127.0.0.1:{port}"))
        .env("PALISADE__EGRESS__ALLOW", "127.0.0.0/8,::1/128")
        .env("PALISADE__SCHEDULER__TICK_MILLIS", "200")
        .env("PALISADE_ADMIN_PASSWORD", password)
        .env("RUST_LOG", "trace")
        .stdout(Stdio::from(std::fs::File::create(dir.path().join("serve.out")).unwrap()))
        .stderr(Stdio::from(std::fs::File::create(&log_path).unwrap()))
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::builder().cookie_store(true).build().unwrap();
    let started = Instant::now();
    while client.get(format!("{base}/readyz")).send().await.map(|r| r.status() != 200).unwrap_or(true) {
        assert!(started.elapsed() < Duration::from_secs(60), "the server did not start");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let me: Value = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"username": "admin", "password": password}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let csrf = me["csrf_token"].as_str().unwrap().to_string();
    let post = |path: &str, body: Value| {
        client.post(format!("{base}{path}")).header("x-csrf-token", &csrf).json(&body).send()
    };
    let resp =
        post("/api/v1/clusters", json!({"name": "planted", "credentials": {"kubeconfig": sim.kubeconfig()}}))
            .await
            .unwrap();
    assert_eq!(resp.status(), 201);
    let cluster: Value = resp.json().await.unwrap();
    let id = cluster["id"].as_str().unwrap().to_string();
    let resp = post(&format!("/api/v1/clusters/{id}/scans"), json!({})).await.unwrap();
    assert!(resp.status().is_success(), "{}", resp.text().await.unwrap());
    let started = Instant::now();
    let scan = loop {
        let scans: Value = client
            .get(format!("{base}/api/v1/clusters/{id}/scans"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let done = scans["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["state"] == "succeeded" || s["state"] == "partial")
            .cloned();
        if let Some(s) = done {
            break s;
        }
        assert!(started.elapsed() < Duration::from_secs(90), "the scan did not finish: {scans}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    let scan_id = scan["id"].as_str().unwrap();

    // Every answer about the cluster and its scan.
    let mut answers = String::new();
    for path in [
        format!("/api/v1/clusters/{id}"),
        format!("/api/v1/clusters/{id}/scans"),
        format!("/api/v1/scans/{scan_id}"),
        format!("/api/v1/scans/{scan_id}/results?limit=500"),
        "/api/v1/findings?limit=500".to_string(),
        "/api/v1/audit?limit=500".to_string(),
        format!("/clusters/{id}"),
    ] {
        let resp = client.get(format!("{base}{path}")).send().await.unwrap();
        answers.push_str(&resp.text().await.unwrap());
    }
    assert_clean("the API answers", &answers);

    // Every row of every table, as text.
    let mut conn = sqlx::PgConnection::connect(url.as_str()).await.unwrap();
    let tables: Vec<String> =
        sqlx::query_scalar("SELECT tablename::text FROM pg_tables WHERE schemaname = 'public'")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    let mut stored = String::new();
    for t in &tables {
        let rows: Vec<String> = sqlx::query_scalar(&format!("SELECT row_to_json(t)::text FROM \"{t}\" t"))
            .fetch_all(&mut conn)
            .await
            .unwrap();
        stored.push_str(&rows.join("\n"));
    }
    // Snapshots are stored gzip-compressed: read them as the server does.
    let snapshots: Vec<Vec<u8>> =
        sqlx::query_scalar("SELECT gzip FROM scan_snapshots").fetch_all(&mut conn).await.unwrap();
    assert!(!snapshots.is_empty(), "the scan stored its snapshot");
    for gz in snapshots {
        use std::io::Read;
        let mut text = String::new();
        flate2::read::GzDecoder::new(gz.as_slice()).read_to_string(&mut text).unwrap();
        stored.push_str(&text);
    }
    assert_clean("the database", &stored);
    // The search can fail: the variable is stored by name, its value redacted.
    assert!(stored.contains("AWS_SECRET_ACCESS_KEY") && stored.contains("redacted"), "no environment stored");
    assert!(stored.contains("ETCD_NAME"), "the variable checks read is kept");

    // The logs at trace level, and the cluster's own credential (the simulator's token).
    let _ = server.kill();
    let _ = server.wait();
    let logs = std::fs::read_to_string(&log_path).unwrap()
        + &std::fs::read_to_string(dir.path().join("serve.out")).unwrap();
    assert!(logs.lines().count() > 50 && logs.contains("TRACE"), "the server logged at trace");
    assert_clean("the server's log", &logs);
    if let palisade::collect::client::ClusterAuth::Token { token } = &sim.credentials().auth {
        assert!(
            !logs.contains(token.as_str()) && !answers.contains(token.as_str()),
            "the cluster's token leaked"
        );
    }
    drop(conn);
    sqlx::query(&format!("DROP DATABASE IF EXISTS \"{db}\" WITH (FORCE)")).execute(&mut admin).await.unwrap();
}

fn write(root: &std::path::Path, rel: &str, text: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

#[test]
fn planted_secrets_in_a_dump_are_in_neither_the_snapshot_nor_the_log() {
    let dump = tempfile::tempdir().unwrap();
    let root = dump.path();
    write(root, "manifests/cp-1/kube-apiserver.yaml", &serde_yaml::to_string(&apiserver_pod()).unwrap());
    write(
        root,
        "files/cp-1/etc/kubernetes/enc.yaml",
        &format!(
            "apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n- resources:\n  - secrets\n  \
             providers:\n  - aescbc:\n      keys:\n      - name: key1\n        secret: {ENCRYPTION_SECRET}\n  - identity: {{}}\n"
        ),
    );
    write(
        root,
        "files/cp-1/etc/kubernetes/admin.conf",
        &format!(
            "apiVersion: v1\nkind: Config\nusers:\n- name: admin\n  user:\n    token: {KUBECONFIG_TOKEN}\n    \
             client-key-data: {CLIENT_KEY_DATA}\n"
        ),
    );
    write(
        root,
        "files/cp-1/etc/kubernetes/pki/sa.key",
        &format!("-----BEGIN RSA PRIVATE KEY-----\n{PEM_BODY}\n-----END RSA PRIVATE KEY-----\n"),
    );
    let out_dir = tempfile::tempdir().unwrap();
    let snapshot = out_dir.path().join("snapshot.json");
    let out = Command::new(env!("CARGO_BIN_EXE_palisade"))
        .args(["scan", "--from"])
        .arg(root)
        .arg("--snapshot-out")
        .arg(&snapshot)
        .current_dir(out_dir.path())
        .env("RUST_LOG", "trace")
        .output()
        .unwrap();
    let printed = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let stored =
        std::fs::read_to_string(&snapshot).unwrap_or_else(|e| panic!("no snapshot ({e}): {printed}"));
    assert_clean("the stored snapshot", &stored);
    assert_clean("the scan's output and log", &printed);
    // What is kept instead: names and fingerprints, and the encryption check still reads the file.
    for kept in [fingerprint(ENCRYPTION_SECRET), fingerprint(KUBECONFIG_TOKEN), fingerprint(CLIENT_KEY_DATA)]
    {
        assert!(stored.contains(&kept), "{kept} not in the snapshot");
    }
    assert!(stored.contains("rsa private key sha256:"), "the private key's fingerprint is kept");
    assert!(stored.contains("AWS_SECRET_ACCESS_KEY"));
}
