//! Simulator load benchmark: generate the large cluster with `palisade sim --generate` (its own
//! process, under `/usr/bin/time -v` for peak RSS), then list every served resource over HTTPS in
//! pages of 500 (what the live collector does) and fetch every node's configz, recording wall
//! times and bytes. Not a test: it asserts nothing about time.
//!
//! ```sh
//! CARGO_TARGET_DIR=/var/cache/palisade-target-release cargo bench --bench sim --no-run
//! cp /var/cache/palisade-target-release/release/palisade /tmp/sim-palisade
//! PALISADE_BIN=/tmp/sim-palisade /var/cache/palisade-target-release/release/deps/sim-<hash>
//! # smaller: PALISADE_BENCH_SPEC=nodes=500,namespaces=50,pods=10000,roles=1000,bindings=1000,netpols=500,seed=7
//! ```

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use futures::StreamExt;

const DEFAULT_SPEC: &str =
    "nodes=5000,namespaces=500,pods=100000,roles=10000,bindings=10000,netpols=5000,seed=42";

const RESOURCES: &[(&str, &str)] = &[
    ("nodes", "/api/v1/nodes"),
    ("namespaces", "/api/v1/namespaces"),
    ("pods", "/api/v1/pods"),
    ("serviceaccounts", "/api/v1/serviceaccounts"),
    ("secrets", "/api/v1/secrets"),
    ("daemonsets", "/apis/apps/v1/daemonsets"),
    ("roles", "/apis/rbac.authorization.k8s.io/v1/roles"),
    ("clusterroles", "/apis/rbac.authorization.k8s.io/v1/clusterroles"),
    ("rolebindings", "/apis/rbac.authorization.k8s.io/v1/rolebindings"),
    ("clusterrolebindings", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings"),
    ("networkpolicies", "/apis/networking.k8s.io/v1/networkpolicies"),
];

struct Listed {
    resource: &'static str,
    items: usize,
    pages: usize,
    bytes: usize,
    wall: Duration,
}

/// The palisade binary: `$PALISADE_BIN` (a private copy, since the shared release directory's
/// binary is rebuilt by others), else the one cargo built with this benchmark.
fn binary() -> PathBuf {
    std::env::var_os("PALISADE_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_palisade")))
}

fn kubeconfig_field(yaml: &str, key: &str) -> String {
    yaml.lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix(&format!("{key}: "))
                .map(|v| v.trim().trim_matches('\'').trim_matches('"').to_string())
        })
        .unwrap_or_else(|| panic!("kubeconfig has no {key}"))
}

async fn list_all(
    client: &reqwest::Client,
    server: &str,
    token: &str,
    resource: &'static str,
    path: &str,
) -> Listed {
    let started = Instant::now();
    let (mut items, mut pages, mut bytes) = (0, 0, 0);
    let mut cont = String::new();
    loop {
        let url = format!("{server}{path}?limit=500&continue={cont}");
        let body = client
            .get(url)
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .error_for_status()
            .unwrap()
            .bytes()
            .await
            .unwrap();
        bytes += body.len();
        pages += 1;
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        items += v["items"].as_array().map_or(0, Vec::len);
        match v["metadata"]["continue"].as_str() {
            Some(c) if !c.is_empty() => cont = c.to_string(),
            _ => break,
        }
    }
    Listed { resource, items, pages, bytes, wall: started.elapsed() }
}

fn main() {
    let spec = std::env::var("PALISADE_BENCH_SPEC").unwrap_or_else(|_| DEFAULT_SPEC.to_string());
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    let started = Instant::now();
    let time = Command::new("/usr/bin/time")
        .arg("-v")
        .arg(binary())
        .args(["sim", "--generate", &spec, "--listen", "127.0.0.1:0", "--kubeconfig-out"])
        .arg(&kubeconfig)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("/usr/bin/time and the palisade binary run (apt-get install time)");
    while !kubeconfig.exists() {
        assert!(started.elapsed() < Duration::from_secs(900), "the simulator did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let ready = started.elapsed();
    let yaml = std::fs::read_to_string(&kubeconfig).unwrap();
    let server = kubeconfig_field(&yaml, "server");
    let token = kubeconfig_field(&yaml, "token");
    let ca_b64 = kubeconfig_field(&yaml, "certificate-authority-data");
    use base64::Engine;
    let ca = base64::engine::general_purpose::STANDARD.decode(ca_b64).unwrap();

    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let (listed, configz, total) = rt.block_on(async {
        let client = reqwest::Client::builder()
            .use_rustls_tls()
            .add_root_certificate(reqwest::Certificate::from_pem(&ca).unwrap())
            .build()
            .unwrap();
        let all = Instant::now();
        let mut listed = Vec::new();
        for (resource, path) in RESOURCES {
            listed.push(list_all(&client, &server, &token, resource, path).await);
        }
        // Every node's kubelet configuration, 16 at a time.
        let nodes: serde_json::Value = client
            .get(format!("{server}/api/v1/nodes"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let names: Vec<String> = nodes["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["metadata"]["name"].as_str().unwrap().to_string())
            .collect();
        let cz = Instant::now();
        let count = names.len();
        let bytes: usize =
            futures::stream::iter(names.into_iter().map(|n| {
                let client = client.clone();
                let url = format!("{server}/api/v1/nodes/{n}/proxy/configz");
                let token = token.clone();
                async move {
                    client.get(url).bearer_auth(token).send().await.unwrap().bytes().await.unwrap().len()
                }
            }))
            .buffer_unordered(16)
            .fold(0, |acc, b| async move { acc + b })
            .await;
        (listed, (count, bytes, cz.elapsed()), all.elapsed())
    });

    // Stop the simulator (the child of /usr/bin/time) so time reports its peak RSS.
    let children =
        std::fs::read_to_string(format!("/proc/{0}/task/{0}/children", time.id())).unwrap_or_default();
    for pid in children.split_whitespace() {
        let _ = Command::new("kill").args(["-INT", pid]).status();
    }
    let out = report(time);
    let field = |name: &str| {
        out.lines()
            .find_map(|l| l.trim().strip_prefix(name).map(|v| v.trim().to_string()))
            .unwrap_or_default()
    };
    let rss_kib: u64 = field("Maximum resident set size (kbytes):").parse().unwrap_or(0);
    let generated = out.lines().find(|l| l.starts_with("generated")).unwrap_or("").to_string();

    println!("## Simulator benchmark\n");
    println!("spec `{spec}`\n");
    println!(
        "- start (generate + index + TLS, until the kubeconfig exists): {:.2} s ({generated})",
        ready.as_secs_f64()
    );
    println!("- simulator peak RSS (`/usr/bin/time -v`): {} MiB", rss_kib / 1024);
    println!(
        "- all lists in pages of 500, one resource after another: {:.2} s\n",
        total.as_secs_f64() - configz.2.as_secs_f64()
    );
    println!("| resource | items | pages | MiB | wall s | items/s |");
    println!("|---|---:|---:|---:|---:|---:|");
    for l in &listed {
        println!(
            "| {} | {} | {} | {:.1} | {:.2} | {:.0} |",
            l.resource,
            l.items,
            l.pages,
            l.bytes as f64 / 1048576.0,
            l.wall.as_secs_f64(),
            l.items as f64 / l.wall.as_secs_f64().max(1e-9)
        );
    }
    println!(
        "| configz (16 at a time) | {} | {} | {:.1} | {:.2} | {:.0} |",
        configz.0,
        configz.0,
        configz.1 as f64 / 1048576.0,
        configz.2.as_secs_f64(),
        configz.0 as f64 / configz.2.as_secs_f64().max(1e-9)
    );
}

/// Wait for `/usr/bin/time` to exit and return its report (stderr).
fn report(mut child: std::process::Child) -> String {
    use std::io::Read;
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut stderr);
    }
    let _ = child.wait();
    stderr
}
