//! Checks benchmark. Not a test: it measures and prints, asserting nothing about time.
//!
//! 1. All control-plane and kubelet checks (every catalog check outside RBAC and network) on a
//!    generated 5,000-node kubeadm snapshot (5 control-plane nodes with the four static pods each,
//!    4,995 workers, one kubelet config per node), in process: wall time per full run, and the
//!    process's peak RSS (`VmHWM`).
//! 2. End to end: `palisade scan --from DIR --format json` on 3,000 generated manifests
//!    (`benches/gen-manifests.py`: static pods of 187 control-plane nodes + 2,252 RBAC objects),
//!    each run under `/usr/bin/time -v` for wall time and peak RSS.
//!
//! ```sh
//! CARGO_TARGET_DIR=/var/cache/palisade-target-release cargo bench --bench checks
//! ```

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use palisade::checks::{catalog, CheckOptions, Context};
use palisade::snapshot::Snapshot;

fn is_config_check(id: &str) -> bool {
    !(id.starts_with("PAL-NET-") || id.starts_with("PAL-AUTHZ-1") || id.starts_with("PAL-HOST-1"))
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn stats(mut v: Vec<Duration>) -> (Duration, Duration, Duration) {
    v.sort();
    (v[0], v[v.len() / 2], v[v.len() - 1])
}

fn in_process() {
    let t = Instant::now();
    let snap = Snapshot::kubeadm_with_control_planes(5, 4995);
    let build = t.elapsed();
    let checks: Vec<_> = catalog().into_iter().filter(|c| is_config_check(c.meta.id)).collect();
    let opts = CheckOptions::default();
    let mut times = Vec::new();
    let mut results = 0;
    for _ in 0..10 {
        let t = Instant::now();
        let ctx = Context::new(&snap);
        results = checks.iter().map(|c| (c.run)(&c.meta, &ctx, &opts).len()).sum::<usize>();
        times.push(t.elapsed());
    }
    let (min, median, max) = stats(times);
    println!(
        "| control-plane + kubelet checks, 5,000-node snapshot ({} checks, {results} results) | {:.1} ms | {:.1} ms | {:.1} ms | {} MiB (whole process, incl. the {:.0} ms snapshot build) |",
        checks.len(),
        min.as_secs_f64() * 1e3,
        median.as_secs_f64() * 1e3,
        max.as_secs_f64() * 1e3,
        peak_rss_kib() / 1024,
        build.as_secs_f64() * 1e3,
    );
}

fn timed(bin: &Path, args: &[&str]) -> (Duration, u64, bool) {
    let out = Command::new("/usr/bin/time")
        .arg("-v")
        .arg(bin)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .expect("/usr/bin/time runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let field =
        |name: &str| stderr.lines().find_map(|l| l.trim().strip_prefix(name).map(|v| v.trim().to_string()));
    let rss = field("Maximum resident set size (kbytes):").and_then(|v| v.parse().ok()).unwrap_or(0);
    let wall = field("Elapsed (wall clock) time (h:mm:ss or m:ss):")
        .map(|v| v.split(':').fold(0.0, |acc, part| acc * 60.0 + part.parse::<f64>().unwrap_or(0.0)))
        .map(Duration::from_secs_f64)
        .unwrap_or_default();
    (wall, rss, out.status.success())
}

/// `flat`: the static pod manifests without node directories, each its own component.
fn end_to_end(flat: bool) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir =
        std::env::temp_dir().join(format!("checks-bench-3000-manifests{}", if flat { "-flat" } else { "" }));
    let _ = std::fs::remove_dir_all(&dir);
    let status = Command::new("python3")
        .arg(root.join("benches/gen-manifests.py"))
        .arg(&dir)
        .arg("3000")
        .args(flat.then_some("--flat"))
        .status()
        .expect("python3 runs the generator");
    assert!(status.success(), "generator failed");
    // Run a private copy: other engineers rebuild the shared release directory.
    let bin = std::env::temp_dir().join("checks-palisade");
    std::fs::copy(env!("CARGO_BIN_EXE_palisade"), &bin).expect("copy the palisade binary");
    let dir_s = dir.to_string_lossy().into_owned();
    let args = ["scan", "--from", dir_s.as_str(), "--format", "json", "--quiet"];
    // Every manifest is judged: one API server per control-plane manifest, in both layouts.
    let out = Command::new(&bin).args(args).output().expect("scan runs");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("a JSON report");
    let judged = &report["summary"]["components_judged"];
    assert_eq!(judged["kube-apiserver"].as_u64(), Some(187), "{judged}");
    let _ = timed(&bin, &args); // warm the page cache
    let mut walls = Vec::new();
    let mut rss = Vec::new();
    for _ in 0..5 {
        let (w, r, ok) = timed(&bin, &args);
        assert!(ok, "scan failed");
        walls.push(w);
        rss.push(r);
    }
    let (min, median, max) = stats(walls);
    println!(
        "| `palisade scan --from <3,000 manifests{}> --format json` (end to end, {} API servers judged) | {:.2} s | {:.2} s | {:.2} s | {} MiB (max of 5 runs) |",
        if flat { ", no node directories" } else { "" },
        judged["kube-apiserver"],
        min.as_secs_f64(),
        median.as_secs_f64(),
        max.as_secs_f64(),
        rss.iter().max().unwrap() / 1024
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn main() {
    println!("| workload | min | median | max | peak RSS |");
    println!("|---|---|---|---|---|");
    in_process();
    end_to_end(false);
    end_to_end(true);
}
