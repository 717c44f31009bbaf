//! Benchmark: a fleet of 1,000 clusters with one year of hourly scans, generated directly in SQL
//! (8.76 million scans, their end-of-day rows, 1,000 findings per cluster with a few changes
//! each). Measures the fleet overview and one-year trend queries (p50/p95 over repeated runs,
//! through the same store functions the API calls) and the database size.
//!
//! Run: `CARGO_TARGET_DIR=/var/cache/palisade-target-release cargo bench --bench history_fleet`
//! Options (env): `FLEET_CLUSTERS` (1000), `FLEET_DAYS` (365), `FLEET_FINDINGS` (1000 per cluster),
//! `FLEET_KEEP=1` keeps the database afterwards. PostgreSQL from `PALISADE_TEST_DATABASE_URL`.

use std::time::Instant;

use chrono::{Duration, Utc};
use palisade::store::trends::{self, Metric, SplitBy, TrendQuery};
use sqlx::{Connection, PgPool};
use uuid::Uuid;

fn env(name: &str, default: i64) -> i64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

async fn timed(pool: &PgPool, label: &str, sql: &str) -> anyhow::Result<()> {
    let t = Instant::now();
    let r = sqlx::query(sql).execute(pool).await?;
    println!("  generate {label}: {} rows in {:.1} s", r.rows_affected(), t.elapsed().as_secs_f64());
    Ok(())
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

/// The fleet's running totals (migrations 0101, 0104) derived from the end-of-day rows, when
/// `fleet_daily` is still empty: a generated history, or a database generated before 0101.
const FLEET_DAILY_FROM_SCAN_DAILY: &str = "INSERT INTO fleet_daily (day, clusters, scored, score_sum, failures, counts)
     SELECT day, count(*), count(score), COALESCE(sum(score), 0), sum(failures),
            (SELECT array_agg(total ORDER BY i) FROM (
                 SELECT t.i, sum(t.v)::bigint AS total FROM scan_daily d2, unnest(d2.counts) WITH ORDINALITY AS t(v, i)
                 WHERE d2.day = d.day GROUP BY t.i) cells)
     FROM scan_daily d WHERE NOT EXISTS (SELECT 1 FROM fleet_daily) GROUP BY day";

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

async fn generate(pool: &PgPool, clusters: i64, days: i64, per_cluster: i64) -> anyhow::Result<()> {
    let start = Utc::now() - Duration::days(days);
    let hours = days * 24;
    let t0 = Instant::now();
    timed(
        pool,
        "clusters",
        &format!(
            "INSERT INTO clusters (id, name, server_url, auth_kind, credentials, credentials_key_id, labels, cluster_group)
             SELECT ('00000000-0000-4000-8000-' || lpad(to_hex(c), 12, '0'))::uuid, 'cluster-' || c,
                    'https://10.0.0.1:6443', 'token', '\\x00', 'bench',
                    jsonb_build_object('env', CASE WHEN c % 3 = 0 THEN 'prod' ELSE 'dev' END), 'group-' || (c % 10)
             FROM generate_series(1, {clusters}) c"
        ),
    )
    .await?;
    // Counts drift slowly with the hour so trends have shape: 50 cells (see history::Counts).
    let cells: Vec<String> = (0..50).map(|k| format!("((c * 7 + {k} * 3 + h / 168) % 11)::int")).collect();
    let counts = format!("ARRAY[{}]", cells.join(", "));
    timed(
        pool,
        "scans (hourly)",
        &format!(
            "INSERT INTO scans (id, cluster_id, trigger, state, queued_at, not_before, started_at, finished_at,
                                result_seq, counts, score, failures, total_results, changes)
             SELECT (lpad(to_hex(h), 8, '0') || '-0000-7000-8000-' || lpad(to_hex(c), 12, '0'))::uuid,
                    ('00000000-0000-4000-8000-' || lpad(to_hex(c), 12, '0'))::uuid, 'schedule', 'succeeded',
                    ts, ts, ts, ts + interval '20 seconds', h::bigint * {clusters} + c, {counts},
                    (60 + (c * 13 + h / 24) % 40)::real, ((c * 7 + h / 168) % 11) * 5, 1000, 0
             FROM generate_series(0, {hours} - 1) h
             CROSS JOIN generate_series(1, {clusters}) c
             CROSS JOIN LATERAL (SELECT timestamptz '{start}' + h * interval '1 hour' AS ts) t
             ORDER BY h, c",
            start = start.to_rfc3339()
        ),
    )
    .await?;
    timed(
        pool,
        "scan_daily",
        "INSERT INTO scan_daily (cluster_id, day, scan_id, scans, counts, score, failures)
         SELECT DISTINCT ON (cluster_id, (finished_at AT TIME ZONE 'UTC')::date)
                cluster_id, (finished_at AT TIME ZONE 'UTC')::date, id, 24, counts, score, failures
         FROM scans ORDER BY cluster_id, (finished_at AT TIME ZONE 'UTC')::date, finished_at DESC",
    )
    .await?;
    timed(pool, "fleet_daily", FLEET_DAILY_FROM_SCAN_DAILY).await?;
    timed(
        pool,
        "cluster_scan_state",
        "INSERT INTO cluster_scan_state (cluster_id, next_due_at, last_scan_id, last_result_scan_id, last_result_seq,
                                         last_result_at)
         SELECT DISTINCT ON (cluster_id) cluster_id, finished_at + interval '1 hour', id, id, result_seq, finished_at
         FROM scans ORDER BY cluster_id, finished_at DESC",
    )
    .await?;
    timed(
        pool,
        "findings",
        &format!(
            "INSERT INTO findings (id, cluster_id, check_id, title, area, severity, resource_kind, resource_namespace,
                                   resource_name, status, evidence, source, first_seen_at, first_seen_scan_id,
                                   first_seen_seq, status_since, opened_at, resolved_at)
             SELECT gen_random_uuid(), cl.id, 'PAL-CHK-' || (f % 60), 'Check ' || (f % 60),
                    (ARRAY['host','authn','authz','tls','network'])[1 + f % 5],
                    (ARRAY['info','low','medium','high','critical'])[1 + f % 5], 'Pod', 'team-' || (f % 50),
                    'workload-' || f, CASE WHEN f % 9 = 0 THEN 'fail' ELSE 'pass' END,
                    'container app in workload-' || f || ' runs privileged', 'api', timestamptz '{start}', cl.id, 1,
                    timestamptz '{start}' + (f % 300) * interval '1 day',
                    CASE WHEN f % 9 = 0 THEN timestamptz '{start}' END,
                    CASE WHEN f % 9 <> 0 AND f % 4 = 0 THEN timestamptz '{start}' + (f % 300) * interval '1 day' END
             FROM clusters cl CROSS JOIN generate_series(1, {per_cluster}) f",
            start = start.to_rfc3339()
        ),
    )
    .await?;
    timed(
        pool,
        "finding_changes (3 per finding)",
        "INSERT INTO finding_changes (finding_id, seq, scan_id, status, evidence)
         SELECT f.id, k, f.cluster_id, CASE WHEN k = 2 THEN 'fail' ELSE f.status END, f.evidence
         FROM findings f CROSS JOIN generate_series(1, 3) k",
    )
    .await?;
    sqlx::query("VACUUM ANALYZE").execute(pool).await?;
    println!("generated in {:.0} s", t0.elapsed().as_secs_f64());
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
