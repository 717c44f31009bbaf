//! Soak (issue 17): the real `palisade serve` binary for `SOAK_SECONDS` (30 minutes) with
//! `SOAK_CLUSTERS` (1,000) simulated clusters scanned continuously by its scheduler and
//! `SOAK_USERS` (50) logged-in users at once on the dashboard and the API. Every 10 s it samples
//! the server's resident memory (`/proc/<pid>/status` VmRSS), the answers and their latency, and
//! the scans stored; at the end it prints the figures BENCHMARKS.md records: memory after the
//! warm-up (`SOAK_WARMUP`, 5 minutes) within ±10 % of its mean, p99 under 200 ms, no error answer.
//!
//! ```sh
//! ./scripts/soak.sh                        # the documented run (release build, 30 minutes)
//! SOAK_SECONDS=120 SOAK_WARMUP=30 ./scripts/soak.sh   # a short rehearsal
//! # options: SOAK_CLUSTERS=1000 SOAK_SIMS=10 SOAK_USERS=50 SOAK_API_USERS=10 SOAK_INTERVAL=60
//! #          SOAK_THINK_MS=1000 SOAK_KEEP=1 (keep the database)
//! ```
//!
//! The simulators (the `kubeadm-default` sample over HTTPS, with their node endpoints) run in this
//! process, so they, the load generator and the server share the machine's cores. Each user waits
//! `SOAK_THINK_MS` between two requests (a person reading a page); `SOAK_THINK_MS=0` turns the
//! users into a closed loop. Not a test: it asserts nothing about time, but every answer that is
//! not a 200 with the content its page should have counts as an error, and so does a failed scan.

#[allow(dead_code)] // only its percentile
#[path = "support/fleet.rs"]
mod fleet;
#[path = "support/server.rs"]
mod server;

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fleet::percentile;
use palisade::domain::{Labels, Role};
use palisade::secrets::Cipher;
use palisade::sim::{sample, SimConfig, SimServer};
use palisade::store::audit::Actor;
use palisade::store::clusters::{self, NewCluster};
use palisade::store::{self, users};
use server::{env_num, key_bytes, wait_ready, Browser, Proc, KEY_B64};
use sqlx::Connection;

const PASSWORD: &str = "bench-soak-password";

/// What the users saw since the last sample.
#[derive(Default)]
struct Window {
    times: Vec<f64>,
    errors: u64,
    first_errors: Vec<String>,
}

fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("no VmRSS in /proc/{pid}/status"))
}

/// One user: a dashboard user loops fleet → cluster → findings; an API user loops the cluster
/// list → a cluster's scans → that scan's results.
async fn user(
    b: Browser,
    api: bool,
    ids: Arc<Vec<uuid::Uuid>>,
    seed: usize,
    think: Duration,
    stop: Arc<AtomicBool>,
    window: Arc<Mutex<Window>>,
) {
    let mut i = seed;
    while !stop.load(Ordering::Relaxed) {
        let id = ids[(i * 7919) % ids.len()];
        i += 1;
        let steps: Vec<(String, &str)> = if api {
            vec![
                ("/api/v1/clusters?limit=50".into(), "\"items\""),
                (format!("/api/v1/clusters/{id}/scans?limit=5"), "\"items\""),
                (format!("/api/v1/clusters/{id}"), "\"name\""),
            ]
        } else {
            vec![
                ("/".into(), "Fleet"),
                (format!("/clusters/{id}"), "Scan"),
                (format!("/findings?cluster={id}"), "Findings"),
            ]
        };
        for (path, expect) in &steps {
            let result = b.get(path, expect).await;
            {
                let mut w = window.lock().unwrap();
                match result {
                    Ok((ms, _)) => w.times.push(ms),
                    Err(e) => {
                        w.errors += 1;
                        if w.first_errors.len() < 3 {
                            w.first_errors.push(e.to_string());
                        }
                    }
                }
            }
            if !think.is_zero() {
                tokio::time::sleep(think).await;
            }
        }
    }
}

/// One 10-second sample.
struct Sample {
    at: f64,
    rss_mib: f64,
    requests: usize,
    p99: f64,
    errors: u64,
    scans: i64,
    failed: i64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    palisade::startup::install_crypto_provider();
    let seconds = env_num("SOAK_SECONDS", 1800);
    let warmup = env_num("SOAK_WARMUP", 300).min(seconds / 2);
    let n_clusters = env_num("SOAK_CLUSTERS", 1000) as usize;
    let n_sims = env_num("SOAK_SIMS", 10).max(1) as usize;
    let n_users = env_num("SOAK_USERS", 50) as usize;
    let n_api = (env_num("SOAK_API_USERS", 10) as usize).min(n_users);
    let interval = env_num("SOAK_INTERVAL", 60);
    let think = Duration::from_millis(env_num("SOAK_THINK_MS", 1000));

    let server_url = std::env::var("PALISADE_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let db = format!("palisade_soak_{}", uuid::Uuid::new_v4().simple());
    let mut url = url::Url::parse(&server_url)?;
    url.set_path(&db);
    let mut admin_conn = sqlx::PgConnection::connect(&server_url).await?;
    sqlx::query(&format!("CREATE DATABASE {db}")).execute(&mut admin_conn).await?;
    let pool = store::connect(url.as_str(), 4, Duration::from_secs(10)).await?;
    store::MIGRATOR.run(&pool).await?;

    // The simulators, and the clusters registered against them with the server's key.
    let mut sims = Vec::new();
    for _ in 0..n_sims {
        let s = sample::load_dir(sample::samples_dir().join("kubeadm-default"))?;
        sims.push(SimServer::start(SimConfig::new(s)).await?);
    }
    let cipher = Cipher::new(&key_bytes(), &[])?;
    let mut ids = Vec::new();
    for i in 0..n_clusters {
        let new = NewCluster {
            name: format!("soak-{i:04}").parse().map_err(anyhow::Error::msg)?,
            labels: Labels::from_pairs([format!("env={}", ["prod", "staging", "dev"][i % 3]).as_str()])
                .map_err(anyhow::Error::msg)?,
            group: Some(format!("team-{}", i % 10).parse().map_err(anyhow::Error::msg)?),
            enabled: true,
            credentials: sims[i % n_sims].credentials(),
            ssh_port: Some(0),
        };
        ids.push(clusters::register(&pool, &cipher, &new, &Actor::system()).await?.id);
    }
    palisade::startup::ensure_admin(&pool, Some(PASSWORD.into())).await?;
    let mut names = Vec::new();
    for i in 0..n_users {
        let name = format!("soak-user-{i:02}");
        users::create(&pool, &name.parse().map_err(anyhow::Error::msg)?, PASSWORD, Role::Viewer).await?;
        names.push(name);
    }

    let dir = tempfile::tempdir()?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let log_file = std::env::temp_dir().join("palisade-soak-server.log");
    let server = Proc(
        Command::new(env!("CARGO_BIN_EXE_palisade"))
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .current_dir(dir.path())
            .env("DATABASE_URL", url.as_str())
            .env("PALISADE__SECRETS__KEY", KEY_B64)
            .env("PALISADE__EGRESS__ALLOW", "127.0.0.0/8,::1/128")
            .env("PALISADE__AUTH__MAX_FAILED_LOGINS", "1000")
            .env("PALISADE__SCHEDULER__DEFAULT_INTERVAL_SECS", interval.to_string())
            .env("PALISADE__SCHEDULER__SSH_PORT", "0")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log_file)?)
            .spawn()?,
    );
    let pid = server.0.id();
    let base = format!("http://127.0.0.1:{port}");
    wait_ready(&base).await?;
    println!(
        "soak: {n_clusters} clusters on {n_sims} simulators, each due every {interval} s; {n_users} users \
         ({n_api} on the API), {} ms between requests; {seconds} s, warm-up {warmup} s; database {db}; \
         server log {}",
        think.as_millis(),
        log_file.display()
    );

    let ids = Arc::new(ids);
    let stop = Arc::new(AtomicBool::new(false));
    let window = Arc::new(Mutex::new(Window::default()));
    let mut tasks = Vec::new();
    for (u, name) in names.iter().enumerate() {
        let b = Browser::login(&base, name, PASSWORD).await?;
        tasks.push(tokio::spawn(user(b, u < n_api, ids.clone(), u, think, stop.clone(), window.clone())));
    }

    let started = Instant::now();
    let mut samples: Vec<Sample> = Vec::new();
    let mut every: Vec<(f64, f64)> = Vec::new(); // (elapsed s, latency ms)
    let mut errors_total = 0;
    let mut first_errors = Vec::new();
    println!("\n| t | RSS | requests | p99 (10 s) | errors | scans stored | failed |");
    println!("|---|---|---|---|---|---|---|");
    while started.elapsed() < Duration::from_secs(seconds) {
        tokio::time::sleep(Duration::from_secs(10)).await;
        let at = started.elapsed().as_secs_f64();
        let w = std::mem::take(&mut *window.lock().unwrap());
        let mut times = w.times;
        let (scans, failed): (i64, i64) = sqlx::query_as(
            "SELECT count(*) FILTER (WHERE result_seq IS NOT NULL), count(*) FILTER (WHERE state = 'failed') FROM scans",
        )
        .fetch_one(&pool)
        .await?;
        let s = Sample {
            at,
            rss_mib: rss_kib(pid)? as f64 / 1024.0,
            requests: times.len(),
            p99: if times.is_empty() { 0.0 } else { percentile(&mut times, 0.99) },
            errors: w.errors,
            scans,
            failed,
        };
        every.extend(times.into_iter().map(|t| (at, t)));
        errors_total += w.errors;
        first_errors.extend(w.first_errors);
        // One line a minute on screen, all samples in the summary.
        if samples.len() % 6 == 5 || samples.is_empty() {
            println!(
                "| {:.0} s | {:.1} MiB | {} | {:.1} ms | {} | {} | {} |",
                s.at, s.rss_mib, s.requests, s.p99, s.errors, s.scans, s.failed
            );
        }
        samples.push(s);
    }
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await?;
    }

    let after: Vec<&Sample> = samples.iter().filter(|s| s.at > warmup as f64).collect();
    let rss: Vec<f64> = after.iter().map(|s| s.rss_mib).collect();
    let mean = rss.iter().sum::<f64>() / rss.len().max(1) as f64;
    let (lo, hi) = rss.iter().fold((f64::MAX, 0f64), |(l, h), v| (l.min(*v), h.max(*v)));
    let mut lat: Vec<f64> = every.iter().filter(|(at, _)| *at > warmup as f64).map(|(_, t)| *t).collect();
    let mut lat_all: Vec<f64> = every.iter().map(|(_, t)| *t).collect();
    let (first, last) =
        (after.first().map(|s| s.scans).unwrap_or(0), samples.last().map(|s| s.scans).unwrap_or(0));
    let span = after.last().zip(after.first()).map(|(l, f)| l.at - f.at).unwrap_or(1.0).max(1.0);
    let failed = samples.last().map(|s| s.failed).unwrap_or(0);
    println!("\nSummary ({seconds} s, figures after the {warmup} s warm-up unless said):\n");
    println!("| figure | value | target |");
    println!("|---|---|---|");
    println!(
        "| server RSS | mean {mean:.1} MiB, min {lo:.1} ({:+.1} %), max {hi:.1} ({:+.1} %) | within ±10 % |",
        (lo / mean - 1.0) * 100.0,
        (hi / mean - 1.0) * 100.0
    );
    if !lat.is_empty() {
        println!(
            "| answers | {} ({:.0}/s), p50 {:.1} ms, p95 {:.1} ms, **p99 {:.1} ms** (whole run: p99 {:.1} ms) | p99 < 200 ms |",
            lat.len(),
            lat.len() as f64 / span,
            percentile(&mut lat, 0.5),
            percentile(&mut lat, 0.95),
            percentile(&mut lat, 0.99),
            percentile(&mut lat_all, 0.99)
        );
    }
    println!("| error answers | {errors_total} (whole run) | 0 |");
    println!(
        "| scans stored | {last} in all, {:.0}/min after warm-up; {failed} failed | every cluster every {interval} s = {:.0}/min |",
        (last - first) as f64 / span * 60.0,
        n_clusters as f64 * 60.0 / interval as f64
    );
    for e in first_errors.iter().take(5) {
        println!("  error: {e}");
    }
    let log = std::fs::read_to_string(&log_file).unwrap_or_default();
    println!("server log: {} lines at warn or above", log.lines().count());
    for line in log.lines().take(5) {
        println!("  {line}");
    }

    drop(server);
    for s in sims {
        s.shutdown().await;
    }
    pool.close().await;
    if std::env::var("SOAK_KEEP").is_err() {
        sqlx::query(&format!("DROP DATABASE IF EXISTS \"{db}\" WITH (FORCE)"))
            .execute(&mut admin_conn)
            .await?;
    } else {
        println!("kept database {db}");
    }
    Ok(())
}
