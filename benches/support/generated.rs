#![allow(dead_code)] // each bench uses part of it
//! Shared by the probe benches: the release binary, this process's memory high-water mark, and a
//! `palisade sim --generate` cluster in its own process.

use std::io::BufRead;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use palisade::collect::client::ClusterCredentials;

/// The palisade binary (`PALISADE_BIN`, else the one cargo built with the bench).
pub fn binary() -> PathBuf {
    std::env::var_os("PALISADE_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_palisade")))
}

/// A memory line of /proc/self/status (`VmHWM`: the peak, `VmRSS`: now), in MiB.
pub fn status_mib(field: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// Reset the high-water mark to the current RSS (Linux `clear_refs` value 5).
pub fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Run `f` once with the high-water mark reset: its result, wall seconds, peak RSS over the run
/// and RSS before it (MiB).
pub fn measured<T>(f: impl FnOnce() -> T) -> (T, f64, f64, f64) {
    let before = status_mib("VmRSS");
    reset_peak();
    let t = Instant::now();
    let out = f();
    let wall = t.elapsed().as_secs_f64();
    (out, wall, status_mib("VmHWM"), before)
}

/// A generated cluster served by `palisade sim` in its own process; killed on drop.
pub struct GeneratedSim {
    child: Child,
    _dir: tempfile::TempDir,
    pub credentials: ClusterCredentials,
    /// The port of the nodes' SSH stand-ins, as the simulator prints it.
    pub ssh_port: Option<u16>,
}

impl GeneratedSim {
    pub fn start(spec: &str) -> GeneratedSim {
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = dir.path().join("kubeconfig");
        let started = Instant::now();
        let mut child = Command::new(binary())
            .args(["sim", "--generate", spec, "--listen", "127.0.0.1:0", "--kubeconfig-out"])
            .arg(&kubeconfig)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the palisade binary runs");
        let mut ssh_port = None;
        for line in std::io::BufReader::new(child.stdout.take().unwrap()).lines() {
            let line = line.unwrap();
            if let Some(p) = line.split("--ssh-port ").nth(1) {
                ssh_port = p.trim_end_matches(')').parse::<u16>().ok();
            }
            if line.starts_with("kubeconfig written") {
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(900), "the simulator did not start");
        }
        println!("simulator `{spec}` ready in {:.1} s", started.elapsed().as_secs_f64());
        let yaml = std::fs::read_to_string(&kubeconfig).unwrap();
        let (_, credentials) = palisade::collect::client::credentials_from_kubeconfig(
            &yaml,
            None,
            &palisade::collect::client::FileRefs::Refuse,
        )
        .unwrap();
        GeneratedSim { child, _dir: dir, credentials, ssh_port }
    }
}

impl Drop for GeneratedSim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
