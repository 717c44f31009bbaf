//! TLS probe benchmark (issue 13): one full `probe_tls` (versions, weak suites, certificate,
//! client-certificate requirement) per `openssl s_server` endpoint on loopback, through an egress
//! policy allowing loopback only, as `palisade probe tls` builds it. Median and max over
//! `PALISADE_BENCH_RUNS` runs (default 20) after one warm-up; the target is under 1 s each.
//!
//! When sslyze is installed (`PALISADE_SSLYZE`, else the virtualenv `scripts/tls-compare.sh` keeps
//! in `$CARGO_TARGET_DIR/tmp/sslyze-venv` or `/var/cache/palisade-target/tmp/sslyze-venv`), it is
//! timed on the same endpoints (`PALISADE_BENCH_SSLYZE_RUNS` runs, default 5) with the scans that
//! answer the same questions (`--tlsv1 --tlsv1_1 --tlsv1_2 --tlsv1_3`), side by side.
//!
//! ```sh
//! CARGO_TARGET_DIR=/var/cache/palisade-target-release cargo bench --bench probe_tls
//! # options: PALISADE_BENCH_RUNS=20 PALISADE_BENCH_SSLYZE_RUNS=5 PALISADE_SSLYZE=/path/to/sslyze
//! ```
//!
//! Not a test: it prints figures for BENCHMARKS.md, and fails only when an endpoint cannot be
//! probed at all.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use palisade::collect::probe::{probe_tls, TlsFacts, TlsTarget};
use palisade::egress::Egress;

/// Endpoint name, certificate (file stem), `openssl s_server` options.
const ENDPOINTS: &[(&str, &str, &[&str])] = &[
    ("modern (TLS 1.2+1.3, ECDSA)", "ec", &["-min_protocol", "TLSv1.2"]),
    (
        "strict (TLS 1.2+1.3, ECDHE AEAD only)",
        "rsa",
        &["-min_protocol", "TLSv1.2", "-cipher", "ECDHE+AESGCM:ECDHE+CHACHA20"],
    ),
    (
        "legacy (TLS 1.0-1.2, SECLEVEL=0)",
        "rsa",
        &["-min_protocol", "TLSv1", "-max_protocol", "TLSv1.2", "-cipher", "DEFAULT:@SECLEVEL=0"],
    ),
    ("TLS 1.0 only, SECLEVEL=0", "rsa", &["-tls1", "-cipher", "DEFAULT:@SECLEVEL=0"]),
    ("TLS 1.3 only", "rsa", &["-tls1_3"]),
    ("TLS 1.1 only, NULL suites", "rsa", &["-tls1_1", "-cipher", "ALL:eNULL:@SECLEVEL=0"]),
    ("client cert required (-Verify 1)", "rsa", &["-Verify", "1", "-CAfile", "client-ca.pem"]),
    ("client cert optional (-verify 1)", "rsa", &["-verify", "1", "-CAfile", "client-ca.pem"]),
];

fn env_num(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// An `openssl s_server` on a free loopback port, killed on drop.
struct SServer {
    child: Child,
    port: u16,
}

impl SServer {
    fn start(dir: &Path, cert: &str, extra: &[&str]) -> anyhow::Result<SServer> {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let child = Command::new("openssl")
            .args(["s_server", "-accept", &format!("127.0.0.1:{port}")])
            .args(["-cert", &format!("{cert}.pem"), "-key", &format!("{cert}.key"), "-www", "-quiet"])
            .args(extra)
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let server = SServer { child, port };
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            anyhow::ensure!(Instant::now() < deadline, "openssl s_server {extra:?} did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(server)
    }
}

impl Drop for SServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Self-signed RSA and ECDSA P-256 leaves for 127.0.0.1, and a client CA, made with openssl.
fn certificates(dir: &Path) -> anyhow::Result<()> {
    let made = |stem: &str, key: &[&str], cn: &str, san: bool| -> anyhow::Result<()> {
        let mut cmd = Command::new("openssl");
        cmd.args(["req", "-x509", "-newkey"]).args(key);
        cmd.args(["-nodes", "-keyout", &format!("{stem}.key"), "-out", &format!("{stem}.pem")]);
        cmd.args(["-days", "30", "-subj", &format!("/CN={cn}")]);
        if san {
            cmd.args(["-addext", "subjectAltName=IP:127.0.0.1"]);
        }
        let ok = cmd.current_dir(dir).stdout(Stdio::null()).stderr(Stdio::null()).status()?;
        anyhow::ensure!(ok.success(), "openssl req for {stem} failed");
        Ok(())
    };
    made("rsa", &["rsa:2048"], "bench-rsa", true)?;
    made("ec", &["ec", "-pkeyopt", "ec_paramgen_curve:P-256"], "bench-ecdsa", true)?;
    made("client-ca", &["rsa:2048"], "bench-client-ca", false)
}

fn sslyze_path() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("PALISADE_SSLYZE") {
        return Some(PathBuf::from(p));
    }
    let venv = |target: &str| PathBuf::from(target).join("tmp/sslyze-venv/bin/sslyze");
    std::env::var("CARGO_TARGET_DIR")
        .ok()
        .map(|t| venv(&t))
        .into_iter()
        .chain([venv("/var/cache/palisade-target")])
        .find(|p| p.is_file())
}

/// Median and max, in seconds.
fn median_max(mut v: Vec<f64>) -> (f64, f64) {
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    let median = if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 };
    (median, v[n - 1])
}

fn summary(f: &TlsFacts) -> String {
    let versions: Vec<&str> =
        f.protocols.iter().filter(|(_, ok)| **ok == Some(true)).map(|(v, _)| v.as_str()).collect();
    let client = match f.client_certificate_required {
        Some(true) => "client cert required",
        Some(false) => "no client cert needed",
        None => "client cert undecided",
    };
    format!("{}; {} weak; {client}", versions.join(" "), f.weak_ciphers_accepted.len())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    palisade::startup::install_crypto_provider();
    let runs = env_num("PALISADE_BENCH_RUNS", 20).max(1);
    let sslyze_runs = env_num("PALISADE_BENCH_SSLYZE_RUNS", 5).max(1);
    let sslyze = sslyze_path();
    let dir = tempfile::tempdir()?;
    certificates(dir.path())?;
    let egress = Egress::loopback_only();
    let timeout = Duration::from_secs(5);

    println!("probe_tls: {runs} runs per endpoint after one warm-up (target: under 1 s each)");
    match &sslyze {
        Some(p) => println!("sslyze: {} ({sslyze_runs} runs per endpoint)", p.display()),
        None => println!("sslyze: not found (set PALISADE_SSLYZE or run scripts/tls-compare.sh once)"),
    }
    let mut rows = Vec::new();
    for (name, cert, options) in ENDPOINTS {
        let server = SServer::start(dir.path(), cert, options)?;
        let target = TlsTarget::parse(&format!("127.0.0.1:{}", server.port)).map_err(anyhow::Error::msg)?;
        let warm = probe_tls(&egress, &target, timeout).await;
        anyhow::ensure!(warm.reachable && warm.reason.is_none(), "{name}: not probed: {:?}", warm.reason);
        let mut times = Vec::with_capacity(runs);
        for _ in 0..runs {
            let t = Instant::now();
            let facts = probe_tls(&egress, &target, timeout).await;
            times.push(t.elapsed().as_secs_f64());
            anyhow::ensure!(facts.reason.is_none(), "{name}: not probed: {:?}", facts.reason);
        }
        let (median, max) = median_max(times);
        let theirs = match &sslyze {
            Some(path) => {
                let mut times = Vec::with_capacity(sslyze_runs);
                for _ in 0..sslyze_runs {
                    let t = Instant::now();
                    let status = Command::new(path)
                        .args(["--quiet", "--mozilla_config", "disable"])
                        .args(["--tlsv1", "--tlsv1_1", "--tlsv1_2", "--tlsv1_3"])
                        .arg(format!("127.0.0.1:{}", server.port))
                        .stdout(Stdio::null())
                        .stderr(Stdio::null())
                        .status()?;
                    times.push(t.elapsed().as_secs_f64());
                    anyhow::ensure!(status.success(), "{name}: sslyze exited {status}");
                }
                Some(median_max(times))
            }
            None => None,
        };
        println!(
            "  {name}: palisade median {:.3} s, max {:.3} s{} [{}]",
            median,
            max,
            theirs.map(|(m, x)| format!("; sslyze median {m:.3} s, max {x:.3} s")).unwrap_or_default(),
            summary(&warm)
        );
        rows.push((name, median, max, theirs, summary(&warm)));
    }

    println!();
    println!("| endpoint | palisade median | palisade max | sslyze median | sslyze max | palisade saw |");
    println!("|---|---|---|---|---|---|");
    let cell = |v: Option<f64>| v.map(|s| format!("{s:.3} s")).unwrap_or_else(|| "-".into());
    for (name, median, max, theirs, seen) in &rows {
        println!(
            "| {name} | **{median:.3} s** | {max:.3} s | {} | {} | {seen} |",
            cell(theirs.map(|t| t.0)),
            cell(theirs.map(|t| t.1))
        );
    }
    let slowest = rows.iter().map(|r| r.2).fold(0.0, f64::max);
    println!();
    println!(
        "target (every probe under 1 s): {} (slowest single probe {slowest:.3} s)",
        if slowest < 1.0 { "met" } else { "NOT met" }
    );
    Ok(())
}
