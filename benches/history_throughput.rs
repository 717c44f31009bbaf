//! Benchmark: how many clusters one replica keeps scanned. Starts simulator instances serving
//! the `kubeadm-default` sample over HTTPS (in this process, so they share the 2 cores with the
//! scheduler: a pessimistic setup), registers `THROUGHPUT_CLUSTERS` clusters spread over them, starts
//! one `Scheduler::for_server` (the scheduler `palisade serve` runs) and times until every cluster
//! has a stored scan (live collection → checks → history write).
//!
//! Run: `CARGO_TARGET_DIR=/var/cache/palisade-target-release cargo bench --bench history_throughput`
//! Options (env): `THROUGHPUT_CLUSTERS` (200), `THROUGHPUT_SIMS` (10), `THROUGHPUT_CONCURRENCY` (8) and
//! `THROUGHPUT_POOL` (16): the server's defaults (`scheduler.max_concurrent`, `database.max_connections`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use palisade::domain::Labels;
use palisade::scheduler::{Scheduler, SchedulerSettings};
use palisade::secrets::Cipher;
use palisade::sim::{sample, SimConfig, SimServer};
use palisade::store::audit::Actor;
use palisade::store::clusters::{self, NewCluster};
use sqlx::Connection;
use uuid::Uuid;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    palisade::startup::install_crypto_provider();
    let n = env("THROUGHPUT_CLUSTERS", 200);
    let sims = env("THROUGHPUT_SIMS", 10);
    let concurrency = env("THROUGHPUT_CONCURRENCY", 8);
    let base = std::env::var("PALISADE_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let name = format!("palisade_bench_{}", Uuid::new_v4().simple());
    let mut admin = sqlx::PgConnection::connect(&base).await?;
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut admin).await?;
    let url = format!("{}/{name}", base.rsplit_once('/').map(|(b, _)| b).unwrap_or(&base));
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(env("THROUGHPUT_POOL", 16) as u32)
        .connect(&url)
        .await?;
    palisade::store::MIGRATOR.run(&pool).await?;

    let mut handles = Vec::new();
    for _ in 0..sims {
        let sample = sample::load_dir(sample::samples_dir().join("kubeadm-default"))?;
        handles.push(SimServer::start(SimConfig::new(sample)).await?);
    }
    let cipher = Arc::new(Cipher::new(&[9u8; 32], &[])?);
    for i in 0..n {
        let new = NewCluster {
            name: format!("sim-{i:04}").parse().map_err(anyhow::Error::msg)?,
            labels: Labels::default(),
            group: None,
            enabled: true,
            credentials: handles[i % sims].credentials(),
            ssh_port: None,
        };
        clusters::register(&pool, &cipher, &new, &Actor::system()).await?;
    }
    let settings = SchedulerSettings {
        tick_millis: 200,
        max_concurrent: concurrency,
        default_interval_secs: 900,
        ..SchedulerSettings::default()
    };
    println!("{n} clusters on {sims} simulators, one replica, max_concurrent {concurrency}");
    let t = Instant::now();
    let egress = palisade::egress::Egress::loopback_only();
    let handle = Scheduler::for_server(pool.clone(), cipher, settings, egress).spawn();
    loop {
        let (done, failed): (i64, i64) = sqlx::query_as(
            "SELECT count(*) FILTER (WHERE result_seq IS NOT NULL), count(*) FILTER (WHERE state = 'failed') FROM scans",
        )
        .fetch_one(&pool)
        .await?;
        if done + failed >= n as i64 {
            let secs = t.elapsed().as_secs_f64();
            let per_min = done as f64 / secs * 60.0;
            println!("{done} scans stored ({failed} failed) in {secs:.1} s: {per_min:.0} scans/minute");
            println!(
                "1,000 clusters every 15 minutes needs 66.7 scans/minute: {:.1}x headroom at this rate",
                per_min / 66.7
            );
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    handle.shutdown().await;
    let (avg_results, avg_ms): (Option<f64>, Option<f64>) = sqlx::query_as(
        "SELECT avg(total_results)::float8, avg(extract(epoch FROM finished_at - started_at) * 1000)::float8
         FROM scans WHERE result_seq IS NOT NULL",
    )
    .fetch_one(&pool)
    .await?;
    println!(
        "per scan: {:.0} results, {:.0} ms from claim to stored (with {concurrency} running at once)",
        avg_results.unwrap_or(0.0),
        avg_ms.unwrap_or(0.0)
    );
    for h in handles {
        h.shutdown().await;
    }
    pool.close().await;
    sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)")).execute(&mut admin).await?;
    Ok(())
}
