//! Probing a big cluster's kubelets (issue 13): `palisade sim --generate` in its own process puts
//! 5,000 nodes on loopback with a kubelet each; this process collects the cluster live without
//! probes, then times the probe phase alone — every kubelet's TLS probe (versions by raw
//! ClientHello, weak-suite classes, certificate, client-certificate requirement) — and then the
//! full kubelet plan (TLS plus the unauthenticated requests and read-only ports). Peak memory is
//! this process's high-water mark over the probe phase (reset through /proc/self/clear_refs
//! before it). Not a test: it asserts nothing about time.
//!
//! ```sh
//! CARGO_TARGET_DIR=/var/cache/palisade-target-release cargo bench --bench probe_kubelets
//! # smaller: PALISADE_BENCH_SPEC=nodes=500,namespaces=20,pods=2000,seed=7
//! ```

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use palisade::collect::kube::{self, LiveOptions};
use palisade::collect::probe::{self, ProbeOptions};
use palisade::snapshot::probe::Service;

const DEFAULT_SPEC: &str = "nodes=5000,namespaces=100,pods=10000,roles=100,bindings=100,netpols=50,seed=42";

fn binary() -> PathBuf {
    std::env::var_os("PALISADE_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_palisade")))
}

/// A memory line of /proc/self/status (`VmHWM`: the peak, `VmRSS`: now), in MiB.
fn status_mib(field: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// Reset the high-water mark to the current RSS (Linux `clear_refs` value 5).
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn main() {
    let spec = std::env::var("PALISADE_BENCH_SPEC").unwrap_or_else(|_| DEFAULT_SPEC.to_string());
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    let started = Instant::now();
    let mut child = Command::new(binary())
        .args(["sim", "--generate", &spec, "--listen", "127.0.0.1:0", "--kubeconfig-out"])
        .arg(&kubeconfig)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the palisade binary runs");
    while !kubeconfig.exists() {
        assert!(started.elapsed() < Duration::from_secs(900), "the simulator did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(200));
    println!("simulator `{spec}` ready in {:.1} s", started.elapsed().as_secs_f64());

    let yaml = std::fs::read_to_string(&kubeconfig).unwrap();
    let (_, creds) = palisade::collect::client::credentials_from_kubeconfig(
        &yaml,
        None,
        &palisade::collect::client::FileRefs::Refuse,
    )
    .unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let egress = palisade::egress::Egress::loopback_only();
    let opts = LiveOptions { egress: egress.clone(), ..Default::default() };
    let collected = Instant::now();
    let snap = rt.block_on(kube::collect("generated", &creds, opts)).unwrap();
    println!(
        "collected {} nodes without probes in {:.1} s",
        snap.nodes.len(),
        collected.elapsed().as_secs_f64()
    );

    let options = ProbeOptions { ca_pem: creds.ca_pem.clone(), ..Default::default() };
    let full = probe::plan(&snap, Some(&creds.server));
    let mut tls_only = full.clone();
    tls_only.tls.retain(|t| t.service == Service::Kubelet);
    tls_only.http.clear();
    tls_only.skipped.clear();
    let mut kubelet_all = full.clone();
    kubelet_all.tls.retain(|t| t.service == Service::Kubelet);
    kubelet_all.http.retain(|h| h.target.service == Service::Kubelet);

    println!("| run | endpoints | wall | peak RSS over the run | RSS before |");
    println!("|---|---|---|---|---|");
    for (label, plan) in
        [("kubelet TLS probes", &tls_only), ("kubelet TLS + HTTP (anonymous, read-only port)", &kubelet_all)]
    {
        for run in 1..=3 {
            let before = status_mib("VmRSS");
            reset_peak();
            let t = Instant::now();
            let probes = rt.block_on(probe::run(plan.clone(), &egress, &options, &|_, _| {}));
            let wall = t.elapsed().as_secs_f64();
            let peak = status_mib("VmHWM");
            let probed = probes.tls.iter().filter(|p| p.facts.probed()).count();
            let answered = probes.http.iter().filter(|p| p.status.is_some() || p.error.is_some()).count();
            assert_eq!(probed, plan.tls.len(), "every kubelet spoke TLS");
            assert_eq!(answered, plan.http.len());
            println!(
                "| {label} (run {run}) | {} | {wall:.2} s | {peak:.0} MiB | {before:.0} MiB |",
                plan.len()
            );
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}
