//! Node-agent ingest (issue 14): 5,000 node agents report to the real `palisade serve` binary (its
//! own process) over loopback, each report what the agent sends for a control-plane node (sshd
//! settings, 40 files, 15 certificates: about 10 KB of JSON). The target is 5,000 agents every 10
//! minutes (8.3 reports/s); this sends a whole round of 5,000 reports as fast as 16 connections go,
//! three rounds, so each node's older reports are pruned as they would be in steady state. Per
//! report latency is timed by the client. Not a test: it asserts nothing about time.
//!
//! ```sh
//! CARGO_TARGET_DIR=/var/cache/palisade-target-release cargo bench --bench ingest
//! # options: PALISADE_BENCH_NODES=5000 PALISADE_BENCH_CONNECTIONS=16
//! ```

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use futures::StreamExt;
use palisade::snapshot::host::{
    FileFacts, HostFacts, KubeletFacts, NodeReport, PkiCert, SshdFacts, StaticPod, NODE_REPORT_SCHEMA,
};
use palisade::store::{self, agents, audit::Actor, clusters};

const KEY_B64: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn facts() -> HostFacts {
    let files = (0..40)
        .map(|i| FileFacts {
            path: format!("/etc/kubernetes/pki/file-{i:02}.crt"),
            exists: true,
            kind: Some("file".into()),
            mode: Some("644".into()),
            uid: Some(0),
            gid: Some(0),
            owner: Some("root".into()),
            group: Some("root".into()),
        })
        .collect();
    let pki = (0..15)
        .map(|i| PkiCert {
            path: format!("/etc/kubernetes/pki/cert-{i:02}.crt"),
            subject: format!("CN=kube-apiserver-{i}"),
            issuer: "CN=kubernetes".into(),
            not_after: chrono::Utc::now() + chrono::Duration::days(300),
        })
        .collect();
    let settings =
        [("permitrootlogin", "no"), ("passwordauthentication", "no"), ("pubkeyauthentication", "yes")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
    HostFacts {
        sshd: Some(SshdFacts { source: "sshd -T".into(), settings, root_authorized_keys: Some(2) }),
        files,
        pki,
        kubelet: Some(KubeletFacts {
            cmdline: Some(
                [
                    "/usr/bin/kubelet",
                    "--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf",
                    "--kubeconfig=/etc/kubernetes/kubelet.conf",
                    "--config=/var/lib/kubelet/config.yaml",
                    "--container-runtime-endpoint=unix:///var/run/containerd/containerd.sock",
                    "--pod-infra-container-image=registry.k8s.io/pause:3.10",
                ]
                .map(String::from)
                .to_vec(),
            ),
            config_path: Some("/var/lib/kubelet/config.yaml".into()),
            config: Some(serde_json::json!({
                "apiVersion": "kubelet.config.k8s.io/v1beta1", "kind": "KubeletConfiguration",
                "authentication": {"anonymous": {"enabled": false}, "webhook": {"enabled": true},
                                   "x509": {"clientCAFile": "/etc/kubernetes/pki/ca.crt"}},
                "authorization": {"mode": "Webhook"}, "readOnlyPort": 0, "rotateCertificates": true,
                "serverTLSBootstrap": true, "cgroupDriver": "systemd", "clusterDNS": ["10.96.0.10"],
                "clusterDomain": "cluster.local", "staticPodPath": "/etc/kubernetes/manifests"
            })),
        }),
        // The kubeadm sample's four control-plane manifests, as a control-plane node sends them.
        manifests: std::fs::read_dir(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/data/samples/kubeadm-default/manifests/cp-1"
        ))
        .map(|rd| {
            rd.filter_map(Result::ok)
                .filter_map(|e| {
                    let text = std::fs::read_to_string(e.path()).ok()?;
                    Some(StaticPod {
                        path: format!("/etc/kubernetes/manifests/{}", e.file_name().to_string_lossy()),
                        pod: serde_yaml::from_str::<serde_json::Value>(&text).ok()?,
                    })
                })
                .collect()
        })
        .unwrap_or_default(),
        errors: Vec::new(),
    }
}

/// One node's report as JSON.
fn body(node: usize, facts: &HostFacts) -> Vec<u8> {
    serde_json::to_vec(&NodeReport {
        schema: NODE_REPORT_SCHEMA.into(),
        report_id: uuid::Uuid::now_v7(),
        node: format!("node-{node:04}"),
        collected_at: chrono::Utc::now(),
        agent_version: "bench".into(),
        facts: facts.clone(),
    })
    .expect("a report encodes")
}

/// A table row from the per-report latencies (ms).
fn row(label: &str, wall: f64, mut ms: Vec<f64>, refused: usize) {
    ms.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!(
        "| {label} | {} | {wall:.2} s | {:.0} | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} ms | {refused} |",
        ms.len(),
        ms.len() as f64 / wall,
        pct(&ms, 0.50),
        pct(&ms, 0.95),
        pct(&ms, 0.99),
        ms[ms.len() - 1]
    );
}

/// Post one report; its latency in ms and the status (0: no answer).
async fn post(http: &reqwest::Client, url: &str, token: &str, body: Vec<u8>) -> (f64, u16) {
    let t = Instant::now();
    let status = http
        .post(url)
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0);
    (t.elapsed().as_secs_f64() * 1000.0, status)
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    palisade::startup::install_crypto_provider();
    let nodes = env_num("PALISADE_BENCH_NODES", 5000) as usize;
    let connections = env_num("PALISADE_BENCH_CONNECTIONS", 16) as usize;
    let server_url = std::env::var("PALISADE_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let db = format!("palisade_bench_{}", uuid::Uuid::new_v4().simple());
    let mut url = url::Url::parse(&server_url)?;
    url.set_path(&db);
    let pool = store::connect(url.as_str(), 4, Duration::from_secs(5)).await?;
    palisade::startup::ensure_admin(&pool, Some("bench-admin-password".into())).await?;
    let key = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.decode(KEY_B64)?
    };
    let cipher = palisade::secrets::Cipher::new(&key, &[])?;
    let new = clusters::NewCluster {
        name: "fleet".parse().map_err(anyhow::Error::msg)?,
        labels: Default::default(),
        group: None,
        enabled: false,
        credentials: palisade::collect::client::ClusterCredentials {
            server: "https://127.0.0.1:1".into(),
            ca_pem: None,
            tls_server_name: None,
            insecure_skip_tls_verify: false,
            auth: palisade::collect::client::ClusterAuth::Token { token: "t".into() },
        },
        ssh_port: None,
    };
    let cluster = clusters::register(&pool, &cipher, &new, &Actor::system()).await?;
    let (_, token) = agents::create_token(&pool, cluster.id, "bench", &Actor::system()).await?;

    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let dir = tempfile::tempdir()?;
    let mut server = Command::new(env!("CARGO_BIN_EXE_palisade"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .current_dir(dir.path())
        .env("DATABASE_URL", url.as_str())
        .env("PALISADE__SECRETS__KEY", KEY_B64)
        .env("PALISADE__EGRESS__ALLOW", "127.0.0.0/8,::1/128")
        .env("PALISADE__SCHEDULER__ENABLED", "false")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::builder().pool_max_idle_per_host(connections).build()?;
    for _ in 0..300 {
        if http.get(format!("{base}/readyz")).send().await.is_ok_and(|r| r.status() == 200) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let facts = facts();
    let size = body(0, &facts).len();
    println!("{nodes} nodes, {connections} connections, {size} bytes per report");
    println!("| round | reports | wall | reports/s | p50 | p95 | p99 | max | refused |");
    println!("|---|---|---|---|---|---|---|---|---|");
    let url = format!("{base}/api/v1/ingest/node");
    for round in 1..=3 {
        let bodies: Vec<Vec<u8>> = (0..nodes).map(|i| body(i, &facts)).collect();
        let started = Instant::now();
        let results: Vec<(f64, u16)> =
            futures::stream::iter(bodies.into_iter().map(|b| post(&http, &url, &token, b)))
                .buffer_unordered(connections)
                .collect()
                .await;
        let wall = started.elapsed().as_secs_f64();
        let refused = results.iter().filter(|r| r.1 != 202).count();
        row(&round.to_string(), wall, results.iter().map(|r| r.0).collect(), refused);
    }
    // Paced: ten times the target rate (83 reports/s), each node reporting again, for 30 s.
    let rate = env_num("PALISADE_BENCH_RATE", 83) as usize;
    let total = (rate * 30).min(nodes);
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate as f64));
    let mut tasks = Vec::with_capacity(total);
    let started = Instant::now();
    for i in 0..total {
        tick.tick().await;
        let body = body(i, &facts);
        let (http, url, token) = (http.clone(), url.clone(), token.clone());
        tasks.push(tokio::spawn(async move { post(&http, &url, &token, body).await }));
    }
    let mut ms = Vec::new();
    let mut refused = 0;
    for t in tasks {
        let (m, status) = t.await?;
        ms.push(m);
        refused += usize::from(status != 202);
    }
    let wall = started.elapsed().as_secs_f64();
    row(&format!("paced at {rate}/s"), wall, ms, refused);
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM node_reports").fetch_one(&pool).await?;
    println!("reports stored after pruning: {stored} (3 kept per node)");
    let _ = server.kill();
    let _ = server.wait();
    pool.close().await;
    {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(&server_url).await?;
        sqlx::query(&format!("DROP DATABASE IF EXISTS \"{db}\" WITH (FORCE)")).execute(&mut conn).await?;
    }
    Ok(())
}
