//! Benchmark: a fleet of 1,000 clusters with one year of hourly scans, generated directly in SQL
//! (8.76 million scans, their end-of-day rows, 1,000 findings per cluster with a few changes
//! each). Measures the fleet overview and one-year trend queries (p50/p95 over repeated runs,
//! through the same store functions the API calls) and the database size.
//!
//! Run: `CARGO_TARGET_DIR=/var/cache/palisade-target-release cargo bench --bench history_fleet`
//! Options (env): `FLEET_CLUSTERS` (1000), `FLEET_DAYS` (365), `FLEET_FINDINGS` (1000 per cluster),
//! `FLEET_KEEP=1` keeps the database afterwards. PostgreSQL from `PALISADE_TEST_DATABASE_URL`.

#[path = "support/fleet.rs"]
mod fleet;

use std::time::Instant;

use chrono::{Duration, Utc};
use fleet::{generate, percentile, FLEET_DAILY_FROM_SCAN_DAILY};
use palisade::store::trends::{self, Metric, SplitBy, TrendQuery};
use sqlx::{Connection, PgPool};
use uuid::Uuid;

fn env(name: &str, default: i64) -> i64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let clusters = env("FLEET_CLUSTERS", 1000);
    let days = env("FLEET_DAYS", 365);
    let per_cluster = env("FLEET_FINDINGS", 1000);
    let base = std::env::var("PALISADE_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    // FLEET_DB names an already generated database (e.g. kept with FLEET_KEEP=1): measure only.
    let existing = std::env::var("FLEET_DB").ok();
    let name = existing.clone().unwrap_or_else(|| format!("palisade_fleet_{}", Uuid::new_v4().simple()));
    let mut admin = sqlx::PgConnection::connect(&base).await?;
    if existing.is_none() {
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut admin).await?;
    }
    let url = format!("{}/{name}", base.rsplit_once('/').map(|(b, _)| b).unwrap_or(&base));
    let pool = sqlx::postgres::PgPoolOptions::new().max_connections(4).connect(&url).await?;
    palisade::store::MIGRATOR.run(&pool).await?;
    println!("fleet: {clusters} clusters × {days} days of hourly scans, {per_cluster} findings per cluster");
    if existing.is_none() {
        generate(&pool, clusters, days, per_cluster).await?;
    } else {
        // A database generated before migration 0101: derive the fleet totals once.
        sqlx::query(FLEET_DAILY_FROM_SCAN_DAILY).execute(&pool).await?;
    }
    measure(&pool, clusters, days).await?;
    pool.close().await;
    if std::env::var("FLEET_KEEP").is_ok() || existing.is_some() {
        println!("kept database {name}");
    } else {
        sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)")).execute(&mut admin).await?;
    }
    Ok(())
}

async fn measure(pool: &PgPool, clusters: i64, days: i64) -> anyhow::Result<()> {
    let db_size: i64 =
        sqlx::query_scalar("SELECT pg_database_size(current_database())").fetch_one(pool).await?;
    println!("database size: {:.2} GB", db_size as f64 / 1e9);

    let runs = 30;
    let mut overview = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        let rows = trends::fleet_overview(pool).await?;
        overview.push(t.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(rows.len() as i64, clusters);
    }
    println!(
        "fleet overview ({clusters} clusters): p50 {:.1} ms, p95 {:.1} ms over {runs} runs",
        percentile(&mut overview, 0.5),
        percentile(&mut overview, 0.95)
    );
    let to = Utc::now();
    for (metric, by) in [
        (Metric::Score, SplitBy::Fleet),
        (Metric::Failures, SplitBy::Fleet),
        (Metric::Failures, SplitBy::Area),
        (Metric::Score, SplitBy::Group),
    ] {
        let q = TrendQuery {
            metric,
            by,
            from: (to - Duration::days(days)).date_naive().and_hms_opt(0, 0, 0).unwrap().and_utc(),
            to,
            step: Duration::days(1),
            clusters: vec![],
            group: None,
        };
        let mut times = Vec::new();
        let mut points = 0;
        for _ in 0..runs {
            let t = Instant::now();
            let series = trends::trend(pool, &q).await?;
            times.push(t.elapsed().as_secs_f64() * 1000.0);
            points = series.iter().map(|s| s.points.len()).sum();
        }
        println!(
            "1-year trend metric={metric:?} by={by:?} step=1d ({points} points): p50 {:.1} ms, p95 {:.1} ms",
            percentile(&mut times, 0.5),
            percentile(&mut times, 0.95)
        );
    }
    let q = TrendQuery {
        metric: Metric::Score,
        by: SplitBy::Fleet,
        from: to - Duration::days(7),
        to,
        step: Duration::hours(1),
        clusters: vec![],
        group: None,
    };
    let mut times = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        trends::trend(pool, &q).await?;
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    println!(
        "7-day hourly fleet score trend (168 000 scans read): p50 {:.1} ms, p95 {:.1} ms",
        percentile(&mut times, 0.5),
        percentile(&mut times, 0.95)
    );
    Ok(())
}
