//! Hostile clusters: the server (in this process, as `palisade serve` builds it, scheduler on)
//! scans ten "clusters" at once whose every answer is an endless body. Samples this process's
//! RSS every 100 ms and `GET /healthz` every 250 ms for the whole window, then prints the peak
//! RSS, the health answers and their worst latency, and how the scans ended.
//!
//! ```sh
//! CARGO_TARGET_DIR=/var/cache/palisade-target-release cargo bench --bench hostile
//! # options: PALISADE_BENCH_CLUSTERS=10 PALISADE_BENCH_SECONDS=60
//! ```
//!
//! The target (issue 18) is an RSS under 400 MB with /healthz answering throughout. Not a test:
//! it prints figures for BENCHMARKS.md.

#[path = "../tests/it/tls_fixture.rs"]
#[allow(dead_code)]
mod tls_fixture;

use std::time::{Duration, Instant};

use palisade::config::{EgressSettings, Settings};
use palisade::secrets::Cipher;
use palisade::startup::Application;
use palisade::store::audit::Actor;
use palisade::store::clusters::NewCluster;
use secrecy::SecretString;

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    palisade::startup::install_crypto_provider();
    let n = env_num("PALISADE_BENCH_CLUSTERS", 10) as usize;
    let seconds = env_num("PALISADE_BENCH_SECONDS", 60);
    let server_url = std::env::var("PALISADE_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let db = format!("palisade_bench_{}", uuid::Uuid::new_v4().simple());
    let mut url = url::Url::parse(&server_url)?;
    url.set_path(&db);

    let dir = tempfile::tempdir()?;
    let mut settings = Settings::load_from(dir.path())?;
    settings.database.url = SecretString::from(url.to_string());
    settings.database.embedded_fallback = false;
    settings.server.listen = "127.0.0.1:0".parse()?;
    settings.server.workers = 2;
    settings.data_dir = dir.path().to_path_buf();
    settings.secrets.key = SecretString::from(palisade::secrets::generate_key_b64());
    settings.egress = EgressSettings::loopback_only();
    settings.scheduler.max_concurrent = n;
    settings.scheduler.tick_millis = 200;
    settings.scheduler.default_interval_secs = 24 * 3600;
    let limits = format!("{:?}", settings.egress);

    let pool = palisade::store::connect(url.as_str(), 8, Duration::from_secs(5)).await?;
    let cipher = Cipher::from_settings(&settings.secrets)?;
    let app = Application::build(settings, pool.clone(), cipher)?;
    let port = app.port();
    let state = app.state().clone();
    tokio::spawn(app.run_until_stopped());

    let baseline = rss_mb();
    let mut servers = Vec::new();
    for i in 0..n {
        let s = tls_fixture::spawn_server(&["127.0.0.1"], tls_fixture::Behaviour::EndlessEverywhere).await;
        let new = NewCluster {
            name: format!("hostile-{i:02}").parse().map_err(anyhow::Error::msg)?,
            labels: Default::default(),
            group: None,
            enabled: true,
            credentials: palisade::collect::client::ClusterCredentials {
                server: s.url.clone(),
                ca_pem: Some(s.ca_pem.clone()),
                tls_server_name: None,
                insecure_skip_tls_verify: false,
                auth: palisade::domain::ClusterAuth::Token { token: format!("t-{i}") },
            },
            ssh_port: None,
        };
        state.registry.register_cluster(&new, &Actor::system(), false).await?;
        servers.push(s);
    }
    println!("{n} endless-body clusters, scheduler max_concurrent {n}, window {seconds} s");
    println!("egress settings: {limits}");

    let health = reqwest::Client::builder().timeout(Duration::from_secs(5)).build()?;
    let started = Instant::now();
    let (mut peak, mut ok, mut failed, mut worst) = (baseline, 0u32, 0u32, Duration::ZERO);
    let mut next_health = Instant::now();
    while started.elapsed() < Duration::from_secs(seconds) {
        peak = peak.max(rss_mb());
        if Instant::now() >= next_health {
            next_health += Duration::from_millis(250);
            let t = Instant::now();
            match health.get(format!("http://127.0.0.1:{port}/healthz")).send().await {
                Ok(r) if r.status().is_success() => ok += 1,
                _ => failed += 1,
            }
            worst = worst.max(t.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let scans: Vec<(String, Option<String>)> =
        sqlx::query_as("SELECT state::text, error FROM scans ORDER BY queued_at").fetch_all(&pool).await?;
    let accepted: usize =
        servers.iter().map(|s| s.connections.load(std::sync::atomic::Ordering::SeqCst)).sum();

    println!();
    println!("| figure | value |");
    println!("|---|---|");
    println!("| RSS before the scans | {baseline:.0} MB |");
    println!("| peak RSS while scanning | {peak:.0} MB |");
    println!("| /healthz answered | {ok} of {} |", ok + failed);
    println!("| worst /healthz latency | {} ms |", worst.as_millis());
    println!("| connections the hostile servers accepted | {accepted} |");
    let mut states = std::collections::BTreeMap::<String, usize>::new();
    for (s, _) in &scans {
        *states.entry(s.clone()).or_default() += 1;
    }
    println!("| scans by state | {states:?} |");
    if let Some(e) = scans.iter().find_map(|(_, e)| e.clone()) {
        println!("| a failed scan's reason | {e} |");
    }

    drop(pool);
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&server_url).await?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS \"{db}\" WITH (FORCE)")).execute(&mut conn).await?;
    Ok(())
}
