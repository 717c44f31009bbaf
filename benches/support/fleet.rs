//! A fleet of clusters with a history of hourly scans, generated directly in SQL: shared by the
//! benches that need a big database (`history_fleet`, `dashboard`). Included with `#[path]`.

use std::time::Instant;

use chrono::{Duration, Utc};
use sqlx::PgPool;

async fn timed(pool: &PgPool, label: &str, sql: &str) -> anyhow::Result<()> {
    let t = Instant::now();
    let r = sqlx::query(sql).execute(pool).await?;
    println!("  generate {label}: {} rows in {:.1} s", r.rows_affected(), t.elapsed().as_secs_f64());
    Ok(())
}

/// The `p` quantile (0..=1) of `v`, sorting it.
pub fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

/// The groups' running totals (migration 0110) derived from the end-of-day rows, when
/// `group_daily` is still empty: a generated history, or a database generated before 0110.
pub const GROUP_DAILY_FROM_SCAN_DAILY: &str = "INSERT INTO group_daily (cluster_group, day, clusters, scored, score_sum, failures, counts)
     SELECT cluster_group, day, count(*), count(score), COALESCE(sum(score), 0), sum(failures),
            (SELECT array_agg(total ORDER BY i) FROM (
                 SELECT t.i, sum(t.v)::bigint AS total FROM scan_daily d2, unnest(d2.counts) WITH ORDINALITY AS t(v, i)
                 WHERE d2.day = d.day AND d2.cluster_group = d.cluster_group GROUP BY t.i) cells)
     FROM scan_daily d WHERE NOT EXISTS (SELECT 1 FROM group_daily) GROUP BY cluster_group, day";

/// The fleet's running totals (migrations 0101, 0104) derived from the end-of-day rows, when
/// `fleet_daily` is still empty: a generated history, or a database generated before 0101.
pub const FLEET_DAILY_FROM_SCAN_DAILY: &str = "INSERT INTO fleet_daily (day, clusters, scored, score_sum, failures, counts)
     SELECT day, count(*), count(score), COALESCE(sum(score), 0), sum(failures),
            (SELECT array_agg(total ORDER BY i) FROM (
                 SELECT t.i, sum(t.v)::bigint AS total FROM scan_daily d2, unnest(d2.counts) WITH ORDINALITY AS t(v, i)
                 WHERE d2.day = d.day GROUP BY t.i) cells)
     FROM scan_daily d WHERE NOT EXISTS (SELECT 1 FROM fleet_daily) GROUP BY day";

pub async fn generate(pool: &PgPool, clusters: i64, days: i64, per_cluster: i64) -> anyhow::Result<()> {
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
        // In day order, as a server writes them (day after day), not cluster by cluster.
        "INSERT INTO scan_daily (cluster_id, day, scan_id, scans, counts, score, failures, cluster_group)
         SELECT d.*, COALESCE(c.cluster_group, '') FROM (
             SELECT DISTINCT ON (cluster_id, (finished_at AT TIME ZONE 'UTC')::date)
                    cluster_id, (finished_at AT TIME ZONE 'UTC')::date AS day, id, 24, counts, score, failures
             FROM scans ORDER BY cluster_id, (finished_at AT TIME ZONE 'UTC')::date, finished_at DESC
         ) d JOIN clusters c ON c.id = d.cluster_id ORDER BY d.day, d.cluster_id",
    )
    .await?;
    timed(pool, "fleet_daily", FLEET_DAILY_FROM_SCAN_DAILY).await?;
    timed(pool, "group_daily", GROUP_DAILY_FROM_SCAN_DAILY).await?;
    timed(
        pool,
        "cluster_scan_state",
        "INSERT INTO cluster_scan_state (cluster_id, next_due_at, last_scan_id, last_result_scan_id, last_result_seq,
                                         last_result_at, last_result_score)
         SELECT DISTINCT ON (cluster_id) cluster_id, finished_at + interval '1 hour', id, id, result_seq, finished_at,
                score
         FROM scans ORDER BY cluster_id, finished_at DESC",
    )
    .await?;
    // Findings name real catalog checks (id, title, area, severity), so check pages find them.
    let catalog = palisade::checks::catalog();
    let list = |f: &dyn Fn(&palisade::checks::CheckMeta) -> String| {
        let items: Vec<String> =
            catalog.iter().map(|c| format!("'{}'", f(&c.meta).replace('\'', "''"))).collect();
        format!("ARRAY[{}]", items.join(", "))
    };
    let (ids, titles) = (list(&|m| m.id.to_string()), list(&|m| m.title.to_string()));
    let (areas, severities) =
        (list(&|m| m.area.as_str().to_string()), list(&|m| m.severity.as_str().to_string()));
    let n = catalog.len();
    timed(
        pool,
        "findings",
        &format!(
            "INSERT INTO findings (id, cluster_id, check_id, title, area, severity, resource_kind, resource_namespace,
                                   resource_name, status, evidence, source, first_seen_at, first_seen_scan_id,
                                   first_seen_seq, status_since, opened_at, resolved_at)
             SELECT gen_random_uuid(), cl.id, ({ids})[1 + f % {n}], ({titles})[1 + f % {n}],
                    ({areas})[1 + f % {n}], ({severities})[1 + f % {n}], 'Pod', 'team-' || (f % 50),
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
    // The dashboard's read model of open findings, as stored scans keep it (migration 0106).
    timed(
        pool,
        "open-findings read model",
        "SELECT palisade_refresh_open_summary(ARRAY(SELECT cluster_id FROM cluster_scan_state))",
    )
    .await?;
    // Later scans take their result sequence numbers after the generated ones.
    sqlx::query("SELECT setval('scan_result_seq', (SELECT max(result_seq) FROM scans))")
        .execute(pool)
        .await?;
    sqlx::query("VACUUM ANALYZE").execute(pool).await?;
    println!("generated in {:.0} s", t0.elapsed().as_secs_f64());
    Ok(())
}
