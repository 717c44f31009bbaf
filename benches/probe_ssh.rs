//! SSH-probing a big fleet's nodes (issue 14): `palisade sim --generate` in its own process puts
//! 5,000 nodes on loopback, each with the simulator's SSH stand-in (a real SSH transport: version
//! exchange, KEXINIT, curve25519 key exchange, chacha20-poly1305, user-authentication answers).
//! This process collects the cluster without probes, then times the SSH probe phase alone: per
//! node two connections, each a full key exchange and a `none` request (once as a user that does
//! not exist, once as root). Peak memory is this process's high-water mark over the phase.
//!
//! Then one `palisade probe ssh` of a real sshd (openssh-server, when installed), timed as the
//! release binary a user runs, beside ssh-audit's time on the same server (`SSH_AUDIT=path`, or
//! `ssh-audit` on PATH). Not a test: it asserts nothing about time.
//!
//! ```sh
//! CARGO_TARGET_DIR=/var/cache/palisade-target-release cargo bench --bench probe_ssh
//! # smaller: PALISADE_BENCH_SPEC=nodes=500,namespaces=20,pods=2000,seed=7
//! ```

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use palisade::collect::kube::{self, LiveOptions};
use palisade::collect::probe::{self, Plan, ProbeOptions};

#[path = "support/generated.rs"]
mod generated;
use generated::{binary, measured, GeneratedSim};

const DEFAULT_SPEC: &str = "nodes=5000,namespaces=100,pods=10000,roles=100,bindings=100,netpols=50,seed=42";

fn fleet() {
    let spec = std::env::var("PALISADE_BENCH_SPEC").unwrap_or_else(|_| DEFAULT_SPEC.to_string());
    let sim = GeneratedSim::start(&spec);
    let port = sim.ssh_port.expect("the simulator prints its SSH port");
    let creds = sim.credentials.clone();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let egress = palisade::egress::Egress::loopback_only();
    let opts = LiveOptions { egress: egress.clone(), ..Default::default() };
    let snap = rt.block_on(kube::collect("generated", &creds, opts)).unwrap();
    let mut plan = Plan::default();
    plan.ssh_nodes(&snap, port);
    println!("| run | hosts | concurrency | wall | peak RSS over the run | RSS before |");
    println!("|---|---|---|---|---|---|");
    for concurrency in [64, 256] {
        let options = ProbeOptions { concurrency, ssh_port: Some(port), ..Default::default() };
        for run in 1..=3 {
            let (probes, wall, peak, before) =
                measured(|| rt.block_on(probe::run(plan.clone(), &egress, &options, &|_, _| {})));
            let decided =
                probes.ssh.iter().filter(|p| p.facts.probed() && p.facts.password_auth.is_some()).count();
            assert_eq!(decided, plan.ssh.len(), "every stand-in finished both key exchanges");
            println!(
                "| SSH probes (run {run}) | {} | {concurrency} | {wall:.2} s | {peak:.0} MiB | {before:.0} MiB |",
                plan.ssh.len()
            );
        }
    }
}

/// Real sshd on a free loopback port with its own host keys.
fn sshd(dir: &Path) -> Option<(std::process::Child, u16)> {
    if !Path::new("/usr/sbin/sshd").exists() {
        return None;
    }
    let _ = std::fs::create_dir_all("/run/sshd");
    let port = std::net::TcpListener::bind("127.0.0.1:0").ok()?.local_addr().ok()?.port();
    let mut config =
        format!("ListenAddress 127.0.0.1\nPort {port}\nPidFile none\nUsePAM no\nStrictModes no\n");
    for t in ["ed25519", "rsa", "ecdsa"] {
        let key = dir.join(format!("host_{t}"));
        Command::new("ssh-keygen").args(["-q", "-t", t, "-N", "", "-f"]).arg(&key).status().ok()?;
        config.push_str(&format!("HostKey {}\n", key.display()));
    }
    let path = dir.join("sshd.conf");
    std::fs::write(&path, config).ok()?;
    let child = Command::new("/usr/sbin/sshd")
        .args(["-D", "-e", "-f"])
        .arg(&path)
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Some((child, port))
}

fn times(n: usize, mut f: impl FnMut() -> bool) -> Option<(f64, f64, f64)> {
    let mut t: Vec<f64> = Vec::new();
    for _ in 0..n {
        let s = Instant::now();
        if !f() {
            return None;
        }
        t.push(s.elapsed().as_secs_f64());
    }
    t.sort_by(|a, b| a.partial_cmp(b).unwrap());
    Some((t[0], t[t.len() / 2], t[t.len() - 1]))
}

fn one_server() {
    let dir = tempfile::tempdir().unwrap();
    let Some((mut child, port)) = sshd(dir.path()) else {
        println!("no sshd: the single-server comparison is skipped");
        return;
    };
    let endpoint = format!("127.0.0.1:{port}");
    println!("| tool | runs | min | median | max |");
    println!("|---|---|---|---|---|");
    let palisade = times(10, || {
        Command::new(binary())
            .args(["probe", "ssh", &endpoint, "--format", "json"])
            .env("PALISADE__EGRESS__ALLOW", "127.0.0.0/8")
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    });
    if let Some((min, med, max)) = palisade {
        println!("| palisade probe ssh (process) | 10 | {min:.3} s | {med:.3} s | {max:.3} s |");
    }
    let audit = std::env::var("SSH_AUDIT").unwrap_or_else(|_| "ssh-audit".into());
    let reference = times(5, || {
        Command::new(&audit)
            .args(["-j", "-n", "--skip-rate-test", &endpoint])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| matches!(s.code(), Some(0..=3)))
    });
    match reference {
        Some((min, med, max)) => {
            println!("| ssh-audit --skip-rate-test | 5 | {min:.3} s | {med:.3} s | {max:.3} s |")
        }
        None => println!("| ssh-audit | - | not found (set SSH_AUDIT) | | |"),
    }
    let _ = child.kill();
    let _ = child.wait();
}

fn main() {
    one_server();
    fleet();
}
