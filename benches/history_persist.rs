//! Benchmark: storing scan results and what an unchanged scan costs on disk.
//!
//! 1. Persist one scan of 50,000 results (first scan of a cluster: every finding is new), then a
//!    scan where 1 % of the results changed, through the same store calls the scheduler uses
//!    (queue → claim → complete).
//! 2. Store 200 unchanged repeat scans and measure the growth of the history tables with
//!    `pg_total_relation_size` (snapshots excluded; none are stored here), per scan.
//!
//! Run: `CARGO_TARGET_DIR=/var/cache/palisade-target-release cargo bench --bench history_persist`
//! (PostgreSQL from `PALISADE_TEST_DATABASE_URL`, default `postgres://postgres@127.0.0.1:5432/postgres`;
//! a fresh database is created and dropped).

use std::time::{Duration, Instant};

use palisade::checks::{CheckResult, FrameworkRef, ResourceRef};
use palisade::domain::{Area, Severity, Status};
use palisade::snapshot::Source;
use palisade::store::scans::{self, ScanOutcome};
use sqlx::{Connection, PgPool};
use uuid::Uuid;

const TABLES: &str = "'scans','findings','finding_changes','scan_daily','cluster_scan_state'";

fn results(n: usize, variant: usize) -> Vec<CheckResult> {
    (0..n)
        .map(|i| {
            // 1 % of results flip status in each variant.
            let flipped = variant > 0 && i % 100 == variant % 100;
            let failing = (i % 9 == 0) != flipped;
            CheckResult {
                check_id: format!("PAL-{}-{:03}", Area::ALL[i % 5].as_str().to_uppercase(), i % 60),
                title: format!("Check number {}", i % 60),
                area: Area::ALL[i % 5],
                severity: Severity::ALL[i % 5],
                status: if failing { Status::Fail } else { Status::Pass },
                resource: ResourceRef {
                    kind: "Pod".into(),
                    namespace: Some(format!("team-{}", i % 200)),
                    name: format!("workload-{i}-7f9c6d5b8-x2x4k"),
                    node: None,
                },
                evidence: if failing {
                    format!("container app in pod workload-{i} runs privileged")
                } else {
                    "no privileged containers".into()
                },
                source: Some(Source::Api),
                refs: vec![FrameworkRef { framework: "cis-1.12".into(), id: "5.2.2".into() }],
            }
        })
        .collect()
}

async fn persist(pool: &PgPool, cluster: Uuid, results: Vec<CheckResult>) -> anyhow::Result<Duration> {
    scans::request(pool, cluster, None).await?;
    let claim =
        scans::claim(pool, "bench", 1, None, Duration::from_secs(60), 3).await?.pop().expect("claimed");
    let outcome = ScanOutcome { results, snapshot: None, partial: false };
    let t = Instant::now();
    scans::complete(pool, &claim, &outcome, 0).await?;
    Ok(t.elapsed())
}

async fn size(pool: &PgPool) -> anyhow::Result<i64> {
    let q = format!(
        "SELECT sum(pg_total_relation_size(c.oid))::bigint FROM pg_class c WHERE c.relname IN ({TABLES})"
    );
    Ok(sqlx::query_scalar(&q).fetch_one(pool).await?)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let base = std::env::var("PALISADE_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let name = format!("palisade_bench_{}", Uuid::new_v4().simple());
    let mut admin = sqlx::PgConnection::connect(&base).await?;
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut admin).await?;
    let url = format!("{}/{name}", base.rsplit_once('/').map(|(b, _)| b).unwrap_or(&base));
    let pool = sqlx::postgres::PgPoolOptions::new().max_connections(4).connect(&url).await?;
    palisade::store::MIGRATOR.run(&pool).await?;
    let cluster = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO clusters (id, name, server_url, auth_kind, credentials, credentials_key_id)
         VALUES ($1, 'bench', 'https://127.0.0.1:6443', 'token', '\\x00', 'bench')",
    )
    .bind(cluster)
    .execute(&pool)
    .await?;
    scans::ensure_cluster_states(&pool).await?;

    let n = 50_000;
    let first = persist(&pool, cluster, results(n, 0)).await?;
    println!("persist first scan of {n} results (all new findings): {:.3} s", first.as_secs_f64());
    let mut changed = Vec::new();
    for v in 1..=5 {
        changed.push(persist(&pool, cluster, results(n, v)).await?.as_secs_f64());
    }
    println!(
        "persist a scan of {n} results with 1 % changed: median {:.3} s over 5 (max {:.3} s)",
        median(&mut changed),
        changed.iter().cloned().fold(0.0, f64::max)
    );
    let mut same = Vec::new();
    for _ in 0..5 {
        same.push(persist(&pool, cluster, results(n, 5)).await?.as_secs_f64());
    }
    println!("persist an unchanged scan of {n} results: median {:.3} s over 5", median(&mut same));

    sqlx::query("VACUUM ANALYZE").execute(&pool).await?;
    let before = size(&pool).await?;
    let repeats = 200;
    for _ in 0..repeats {
        persist(&pool, cluster, results(n, 5)).await?;
    }
    sqlx::query("VACUUM").execute(&pool).await?;
    let after = size(&pool).await?;
    println!(
        "{repeats} unchanged repeat scans grew the history tables by {} bytes: {:.0} bytes per scan",
        after - before,
        (after - before) as f64 / repeats as f64
    );
    let rows: (i64, i64) =
        sqlx::query_as("SELECT (SELECT count(*) FROM findings), (SELECT count(*) FROM finding_changes)")
            .fetch_one(&pool)
            .await?;
    println!("rows: findings {} · finding_changes {} · total history size {} bytes", rows.0, rows.1, after);
    pool.close().await;
    sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)")).execute(&mut admin).await?;
    Ok(())
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}
