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

use std::time::Instant;

use palisade::collect::kube::{self, LiveOptions};
use palisade::collect::probe::{self, ProbeOptions};
use palisade::snapshot::probe::Service;

#[path = "support/generated.rs"]
mod generated;
use generated::{measured, GeneratedSim};

const DEFAULT_SPEC: &str = "nodes=5000,namespaces=100,pods=10000,roles=100,bindings=100,netpols=50,seed=42";

fn main() {
    let spec = std::env::var("PALISADE_BENCH_SPEC").unwrap_or_else(|_| DEFAULT_SPEC.to_string());
    let sim = GeneratedSim::start(&spec);
    let creds = sim.credentials.clone();
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
            let (probes, wall, peak, before) =
                measured(|| rt.block_on(probe::run(plan.clone(), &egress, &options, &|_, _| {})));
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
}
