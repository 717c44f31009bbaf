//! Benchmark: `GET /metrics` for a fleet of 1,000 clusters (issue 15), i.e. the store's four
//! queries and the rendering of the text, as the handler runs them (p50/p95 over repeated runs).
//!
//! The queries read only each live cluster's newest results, the open-checks read model, the
//! active scans and three totals rows, never the scan history, so the fleet is generated without
//! one: `METRICS_CLUSTERS` (1000) clusters with a score, `METRICS_CHECKS` (120) open checks each
//! spread over every area and severity, and a queued scan for one cluster in five.
//!
//! Run: `CARGO_TARGET_DIR=/var/cache/palisade-target-release cargo bench --bench metrics`
//! (`METRICS_RUNS`, default 30; `METRICS_KEEP=1` keeps the database). PostgreSQL from `PALISADE_TEST_DATABASE_URL`.

use std::time::Instant;

use sqlx::Connection;
use uuid::Uuid;

fn env(name: &str, default: i64) -> i64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// The `p` quantile (0..=1) of `v`, sorting it.
fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let clusters = env("METRICS_CLUSTERS", 1000);
    let checks = env("METRICS_CHECKS", 120);
    let runs = env("METRICS_RUNS", 30);
    let base = std::env::var("PALISADE_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let name = format!("palisade_metrics_{}", Uuid::new_v4().simple());
    let mut admin = sqlx::PgConnection::connect(&base).await?;
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut admin).await?;
    let url = format!("{}/{name}", base.rsplit_once('/').map(|(b, _)| b).unwrap_or(&base));
    let pool = sqlx::postgres::PgPoolOptions::new().max_connections(4).connect(&url).await?;
    palisade::store::MIGRATOR.run(&pool).await?;
    let setup = [
        format!(
            "INSERT INTO clusters (id, name, server_url, auth_kind, credentials, credentials_key_id, cluster_group)
             SELECT ('00000000-0000-4000-8000-' || lpad(to_hex(c), 12, '0'))::uuid, 'cluster-' || c,
                    'https://10.0.0.1:6443', 'token', '\\x00', 'bench', 'group-' || (c % 10)
             FROM generate_series(1, {clusters}) c"
        ),
        "INSERT INTO cluster_scan_state (cluster_id, last_result_at, last_result_score)
         SELECT id, now() - random() * interval '1 hour', (random() * 100)::real FROM clusters"
            .to_string(),
        format!(
            "INSERT INTO open_checks (cluster_id, check_id, severity, area, title, failing, warning)
             SELECT c.id, 'PAL-' || k, (ARRAY['info', 'low', 'medium', 'high', 'critical'])[1 + k % 5],
                    (ARRAY['host', 'authn', 'authz', 'tls', 'network'])[1 + (k / 5) % 5], 'check ' || k,
                    (random() * 20)::int, (random() * 3)::int
             FROM clusters c, generate_series(1, {checks}) k"
        ),
        "INSERT INTO scans (id, cluster_id, trigger, state)
         SELECT gen_random_uuid(), id, 'schedule', 'queued' FROM clusters WHERE get_byte(uuid_send(id), 15) % 5 = 0"
            .to_string(),
        "ANALYZE".to_string(),
    ];
    for sql in &setup {
        sqlx::query(sql).execute(&pool).await?;
    }
    println!("fleet: {clusters} clusters, {checks} open checks each");

    let (mut read_ms, mut render_ms) = (Vec::new(), Vec::new());
    let mut bytes = 0;
    let mut lines = 0;
    for _ in 0..runs {
        let t = Instant::now();
        let m = palisade::store::metrics::read(&pool).await?;
        read_ms.push(t.elapsed().as_secs_f64() * 1000.0);
        let t = Instant::now();
        let text = palisade::web::api::metrics::render(&m);
        render_ms.push(t.elapsed().as_secs_f64() * 1000.0);
        bytes = text.len();
        lines = text.lines().filter(|l| !l.starts_with('#')).count();
    }
    let total: Vec<f64> = read_ms.iter().zip(&render_ms).map(|(a, b)| a + b).collect();
    println!("| what ({runs} runs) | p50 | p95 |\n|---|---|---|");
    for (what, mut v) in [("store: four queries", read_ms), ("render", render_ms), ("scrape (both)", total)] {
        println!("| {what} | {:.1} ms | {:.1} ms |", percentile(&mut v, 0.5), percentile(&mut v, 0.95));
    }
    println!("text: {lines} samples, {:.2} MiB", bytes as f64 / (1024.0 * 1024.0));
    pool.close().await;
    if std::env::var("METRICS_KEEP").is_ok() {
        println!("kept database {name}");
    } else {
        sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)")).execute(&mut admin).await?;
    }
    Ok(())
}
