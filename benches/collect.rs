//! Collection benchmark: a generated large cluster served by `palisade sim` (its own process, so
//! the simulator's memory is not counted), collected over HTTPS by `palisade scan --kubeconfig`,
//! then dumped to files and read back with `palisade scan --from`. Each scan runs under
//! `/usr/bin/time -v` for wall time and peak RSS.
//!
//! ```sh
//! CARGO_TARGET_DIR=/var/cache/palisade-target-release cargo bench --bench collect
//! # smaller: PALISADE_BENCH_SPEC=nodes=500,namespaces=50,pods=10000,roles=1000,bindings=1000,netpols=500,seed=7
//! ```
//!
//! Prints a Markdown table for BENCHMARKS.md. Not a test: it asserts nothing about time.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures::StreamExt;
use palisade::collect::client::{credentials_from_kubeconfig, FileRefs};

const DEFAULT_SPEC: &str =
    "nodes=5000,namespaces=500,pods=100000,roles=10000,bindings=10000,netpols=5000,seed=42";

struct Measured {
    wall: Duration,
    peak_rss_kib: u64,
    status: String,
}

/// Run `palisade <args>` under `/usr/bin/time -v`, returning wall time and peak RSS.
fn timed(bin: &Path, args: &[&str]) -> Measured {
    let out = Command::new("/usr/bin/time")
        .arg("-v")
        .arg(bin)
        .args(args)
        // Live scans probe the cluster's endpoints: loopback only, like everything a bench reaches.
        .env("PALISADE__EGRESS__ALLOW", "127.0.0.0/8,::1/128")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .expect("/usr/bin/time runs (apt-get install time)");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let field = |name: &str| {
        stderr
            .lines()
            .find_map(|l| l.trim().strip_prefix(name).map(|v| v.trim().to_string()))
            .unwrap_or_default()
    };
    let wall = parse_elapsed(&field("Elapsed (wall clock) time (h:mm:ss or m:ss):"));
    let peak_rss_kib = field("Maximum resident set size (kbytes):").parse().unwrap_or(0);
    if !out.status.success() {
        eprintln!("palisade {args:?} failed:\n{stderr}");
    }
    // palisade's own stderr (the collection summary) comes before time's report.
    let summary = stderr.split("\tCommand being timed").next().unwrap_or("");
    Measured { wall, peak_rss_kib, status: summary.lines().take(40).collect::<Vec<_>>().join("\n") }
}

fn parse_elapsed(s: &str) -> Duration {
    // h:mm:ss or m:ss.ss
    let parts: Vec<f64> = s.split(':').filter_map(|p| p.parse().ok()).collect();
    let secs = parts.iter().fold(0.0, |acc, p| acc * 60.0 + p);
    Duration::from_secs_f64(secs)
}

struct Sim(Child);

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_sim(bin: &Path, spec: &str, kubeconfig: &Path) -> Sim {
    let _ = std::fs::remove_file(kubeconfig);
    let child = Command::new(bin)
        .args(["sim", "--generate", spec, "--listen", "127.0.0.1:0", "--kubeconfig-out"])
        .arg(kubeconfig)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("palisade sim starts");
    let sim = Sim(child);
    let started = Instant::now();
    while !kubeconfig.exists() {
        assert!(started.elapsed() < Duration::from_secs(600), "the simulator did not write its kubeconfig");
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_millis(300)); // let the file be written completely
    sim
}

/// Write the served cluster as a dump: one `kubectl get --raw`-style JSON list per resource and
/// each node's configz, exactly what `kubectl get --raw` would save.
async fn write_dump(kubeconfig: &Path, dir: &Path) -> u64 {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let yaml = std::fs::read_to_string(kubeconfig).unwrap();
    let (_, creds) = credentials_from_kubeconfig(&yaml, None, &FileRefs::Refuse).unwrap();
    let client = creds.client(&palisade::egress::Egress::loopback_only()).unwrap();
    std::fs::create_dir_all(dir.join("kubelet")).unwrap();
    let resources = [
        ("nodes", "/api/v1/nodes"),
        ("namespaces", "/api/v1/namespaces"),
        ("pods", "/api/v1/pods"),
        ("serviceaccounts", "/api/v1/serviceaccounts"),
        ("secrets", "/api/v1/secrets"),
        ("roles", "/apis/rbac.authorization.k8s.io/v1/roles"),
        ("clusterroles", "/apis/rbac.authorization.k8s.io/v1/clusterroles"),
        ("rolebindings", "/apis/rbac.authorization.k8s.io/v1/rolebindings"),
        ("clusterrolebindings", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings"),
        ("networkpolicies", "/apis/networking.k8s.io/v1/networkpolicies"),
        ("daemonsets", "/apis/apps/v1/daemonsets"),
    ];
    let mut bytes = 0u64;
    let mut nodes = Vec::new();
    for (name, path) in resources {
        let text = client.request_text(http::Request::get(path).body(Vec::new()).unwrap()).await.unwrap();
        if name == "nodes" {
            let v: serde_json::Value = serde_json::from_str(&text).unwrap();
            nodes = v["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n["metadata"]["name"].as_str().unwrap().to_string())
                .collect();
        }
        bytes += text.len() as u64;
        std::fs::write(dir.join(format!("{name}.json")), text).unwrap();
    }
    let client = &client;
    let configs: Vec<(String, String)> = futures::stream::iter(nodes.into_iter().map(|node| async move {
        let path = format!("/api/v1/nodes/{node}/proxy/configz");
        let text = client.request_text(http::Request::get(path).body(Vec::new()).unwrap()).await.unwrap();
        (node, text)
    }))
    .buffer_unordered(16)
    .collect()
    .await;
    for (node, text) in configs {
        bytes += text.len() as u64;
        std::fs::write(dir.join("kubelet").join(format!("{node}.json")), text).unwrap();
    }
    bytes
}

/// The same dump as `kubectl get -A -o yaml` would write it: every JSON list rewritten as YAML.
fn yaml_copy(json_dir: &Path, yaml_dir: &Path) -> u64 {
    let mut bytes = 0;
    for entry in walk(json_dir) {
        let rel = entry.strip_prefix(json_dir).unwrap();
        let target = yaml_dir.join(rel).with_extension("yaml");
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        let value: serde_json::Value = serde_json::from_slice(&std::fs::read(&entry).unwrap()).unwrap();
        let text = serde_yaml::to_string(&value).unwrap();
        bytes += text.len() as u64;
        std::fs::write(target, text).unwrap();
    }
    bytes
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo bench -- --list` / `cargo test --benches` probes
    }
    // PALISADE_BENCH_BIN: a copy of the binary, since others' builds overwrite the shared target.
    let bin = std::env::var_os("PALISADE_BENCH_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_palisade")));
    let spec = std::env::var("PALISADE_BENCH_SPEC").unwrap_or_else(|_| DEFAULT_SPEC.to_string());
    let work = tempfile::tempdir().unwrap();
    let kubeconfig = work.path().join("kubeconfig");
    let snapshot = work.path().join("snapshot.json");
    let dump = work.path().join("dump");
    let kc = kubeconfig.to_str().unwrap();

    eprintln!("generating and serving: {spec}");
    let started = Instant::now();
    let _sim = start_sim(&bin, &spec, &kubeconfig);
    eprintln!("simulator ready in {:.1?}", started.elapsed());

    let snap_out = snapshot.to_str().unwrap();
    let live = timed(&bin, &["scan", "--collect-only", "--kubeconfig", kc, "--snapshot-out", snap_out]);
    let snapshot_bytes = std::fs::metadata(&snapshot).map(|m| m.len()).unwrap_or(0);
    eprintln!("{}", live.status);

    let rt = tokio::runtime::Runtime::new().unwrap();
    let dump_bytes = rt.block_on(write_dump(&kubeconfig, &dump));
    let full = timed(&bin, &["scan", "--quiet", "--format", "json", "--kubeconfig", kc]);
    let dump_snap = work.path().join("dump-snapshot.json");
    let dump_out = dump_snap.to_str().unwrap();
    let from_dump = timed(
        &bin,
        &["scan", "--collect-only", "--from", dump.to_str().unwrap(), "--snapshot-out", dump_out],
    );
    eprintln!("{}", from_dump.status);

    let yaml_dump = work.path().join("dump-yaml");
    let yaml_bytes = yaml_copy(&dump, &yaml_dump);
    let from_yaml = timed(
        &bin,
        &["scan", "--collect-only", "--from", yaml_dump.to_str().unwrap(), "--snapshot-out", dump_out],
    );

    println!("| what | wall time | peak RSS | size |");
    println!("|---|---|---|---|");
    println!(
        "| live collection over HTTPS (`scan --collect-only`, `{spec}`) | {:.1} s | {} MB | snapshot JSON {:.1} MB |",
        live.wall.as_secs_f64(),
        live.peak_rss_kib / 1024,
        snapshot_bytes as f64 / 1e6
    );
    println!(
        "| live scan with every check (`scan --format json`) | {:.1} s | {} MB | |",
        full.wall.as_secs_f64(),
        full.peak_rss_kib / 1024
    );
    println!(
        "| dump read (`scan --from`, JSON lists + configz) | {:.1} s | {} MB | dump {:.1} MB |",
        from_dump.wall.as_secs_f64(),
        from_dump.peak_rss_kib / 1024,
        dump_bytes as f64 / 1e6
    );
    println!(
        "| dump read (`scan --from`, the same dump as YAML) | {:.1} s | {} MB | dump {:.1} MB |",
        from_yaml.wall.as_secs_f64(),
        from_yaml.peak_rss_kib / 1024,
        yaml_bytes as f64 / 1e6
    );
}
