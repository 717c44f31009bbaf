//! Benchmark: compliance and reports (issue 15). Not a test: it measures and prints.
//!
//! 1. Fleet compliance of `COMPLIANCE_CLUSTERS` (1,000) clusters in 20 groups, 300 findings each
//!    naming real catalog checks (a mix of statuses; 43 of them `absent`), with
//!    `COMPLIANCE_EXCEPTIONS` (50) exceptions in force scoped to all, groups and clusters: what
//!    `GET /api/v1/frameworks/cis-1.12/compliance` does per request (the store's count over every
//!    live cluster's current findings, exceptions matched; the roll-up of 131 controls; the JSON),
//!    for the fleet, one group and one cluster. p50/p95 over `COMPLIANCE_RUNS` (30).
//! 2. OSCAL Assessment Results of one scan of `OSCAL_RESULTS` (50,000) results (every catalog
//!    check on many resources, one in four failing): building the document and writing its JSON,
//!    min/median/max over 5 runs.
//!
//! Run: `CARGO_TARGET_DIR=/var/cache/palisade-target-release cargo bench --bench compliance`
//! (`COMPLIANCE_KEEP=1` keeps the database). PostgreSQL from `PALISADE_TEST_DATABASE_URL`.

use std::time::Instant;

use palisade::checks::{catalog, CheckResult, ResourceRef};
use palisade::domain::Status;
use palisade::frameworks::compliance::evaluate;
use palisade::store::compliance::{check_counts, Scope};
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

fn cluster_uuid(c: i64) -> Uuid {
    format!("00000000-0000-4000-8000-{c:012x}").parse().unwrap()
}

async fn fleet_compliance() -> anyhow::Result<()> {
    let clusters = env("COMPLIANCE_CLUSTERS", 1000);
    let exceptions = env("COMPLIANCE_EXCEPTIONS", 50);
    let runs = env("COMPLIANCE_RUNS", 30);
    let base = std::env::var("PALISADE_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let name = format!("palisade_bench_compliance_{}", Uuid::new_v4().simple());
    let mut admin = sqlx::PgConnection::connect(&base).await?;
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut admin).await?;
    let url = format!("{}/{name}", base.rsplit_once('/').map(|(b, _)| b).unwrap_or(&base));
    let pool = sqlx::postgres::PgPoolOptions::new().max_connections(4).connect(&url).await?;
    palisade::store::MIGRATOR.run(&pool).await?;
    let ids: Vec<String> = catalog().iter().map(|c| format!("'{}'", c.meta.id)).collect();
    let ids = format!("ARRAY[{}]", ids.join(", "));
    let n = catalog().len();
    let t = Instant::now();
    let setup = [
        format!(
            "INSERT INTO clusters (id, name, server_url, auth_kind, credentials, credentials_key_id, cluster_group)
             SELECT ('00000000-0000-4000-8000-' || lpad(to_hex(c), 12, '0'))::uuid, 'cluster-' || c,
                    'https://10.0.0.1:6443', 'token', '\\x00', 'bench', 'group-' || (c % 20)
             FROM generate_series(1, {clusters}) c"
        ),
        "INSERT INTO cluster_scan_state (cluster_id, last_result_scan_id, last_result_at, last_result_score)
         SELECT id, gen_random_uuid(), now(), 70 FROM clusters"
            .to_string(),
        format!(
            "INSERT INTO findings (id, cluster_id, check_id, title, area, severity, resource_kind, resource_namespace,
                                   resource_name, status, evidence, first_seen_at, first_seen_scan_id,
                                   first_seen_seq, status_since)
             SELECT gen_random_uuid(), c.id, ({ids})[1 + f % {n}], 'title', 'authz', 'medium', 'Pod',
                    'team-' || (f % 30), 'pod-' || f,
                    (ARRAY['pass', 'pass', 'pass', 'fail', 'warn', 'unknown', 'not_applicable'])[1 + ((f * 7 + hashtext(c.name)) % 7 + 7) % 7],
                    'evidence', now(), gen_random_uuid(), 1, now()
             FROM clusters c, generate_series(1, 257) f"
        ),
        "INSERT INTO findings (id, cluster_id, check_id, title, area, severity, resource_kind, resource_name, status,
                               evidence, first_seen_at, first_seen_scan_id, first_seen_seq, status_since)
         SELECT gen_random_uuid(), c.id, 'PAL-GONE', 'gone', 'authz', 'low', 'Pod', 'old-' || f, 'absent', '', now(),
                gen_random_uuid(), 1, now()
         FROM clusters c, generate_series(1, 43) f"
            .to_string(),
        format!(
            "INSERT INTO exceptions (id, check_id, scope, cluster_id, cluster_group, namespace, resource, resource_like,
                                     justification, expires_at, state, created_by_name, created_at, updated_at)
             SELECT gen_random_uuid(), ({ids})[1 + (e * 5) % {n}],
                    (ARRAY['all', 'group', 'cluster'])[1 + e % 3],
                    CASE WHEN e % 3 = 2 THEN ('00000000-0000-4000-8000-' || lpad(to_hex(1 + e), 12, '0'))::uuid END,
                    CASE WHEN e % 3 = 1 THEN 'group-' || (e % 20) END,
                    CASE WHEN e % 2 = 0 THEN 'team-' || (e % 30) END, 'pod-*', 'pod-%',
                    'bench', now() + interval '30 days', 'approved', 'bench', now(), now()
             FROM generate_series(1, {exceptions}) e"
        ),
        "ANALYZE".to_string(),
    ];
    for sql in &setup {
        sqlx::query(sql).execute(&pool).await?;
    }
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM findings").fetch_one(&pool).await?;
    println!(
        "fleet: {clusters} clusters in 20 groups, {rows} findings, {exceptions} exceptions in force (generated in {:.1} s)",
        t.elapsed().as_secs_f64()
    );
    let fw = palisade::frameworks::cis();
    let title =
        |check: &str| palisade::checks::find(check).map(|c| c.meta.title.to_string()).unwrap_or_default();
    println!("| scope ({runs} runs) | store p50 | store p95 | roll-up + JSON p50 | whole answer p50 | whole answer p95 |");
    println!("|---|---|---|---|---|---|");
    let scopes = [
        ("fleet", Scope::default()),
        ("group (50 clusters)", Scope { group: Some("group-7".into()), ..Default::default() }),
        ("cluster", Scope { cluster: Some(cluster_uuid(3)), ..Default::default() }),
    ];
    for (label, scope) in scopes {
        let (mut store, mut roll, mut whole) = (Vec::new(), Vec::new(), Vec::new());
        let mut excepted = 0;
        for _ in 0..runs {
            let t = Instant::now();
            let counts = check_counts(&pool, &scope).await?;
            let a = t.elapsed().as_secs_f64() * 1000.0;
            let t = Instant::now();
            let answer = evaluate(fw, &counts.checks, counts.scanned, &title);
            let json = serde_json::to_vec(&answer)?;
            std::hint::black_box(json);
            let b = t.elapsed().as_secs_f64() * 1000.0;
            excepted = counts.checks.values().map(|c| c.excepted).sum::<u64>();
            store.push(a);
            roll.push(b);
            whole.push(a + b);
        }
        println!(
            "| {label} ({excepted} results excepted) | {:.1} ms | {:.1} ms | {:.2} ms | {:.1} ms | {:.1} ms |",
            percentile(&mut store, 0.5),
            percentile(&mut store, 0.95),
            percentile(&mut roll, 0.5),
            percentile(&mut whole, 0.5),
            percentile(&mut whole, 0.95),
        );
    }
    pool.close().await;
    if std::env::var("COMPLIANCE_KEEP").is_ok() {
        println!("kept database {name}");
    } else {
        sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)")).execute(&mut admin).await?;
    }
    Ok(())
}

fn oscal() {
    let total = env("OSCAL_RESULTS", 50_000) as usize;
    let checks = catalog();
    let results: Vec<CheckResult> = (0..total)
        .map(|i| {
            let c = checks[i % checks.len()];
            let status = match i % 8 {
                0 | 1 => Status::Fail,
                2 => Status::Warn,
                3 => Status::Unknown,
                _ => Status::Pass,
            };
            let resource = ResourceRef {
                kind: "Pod".into(),
                namespace: Some(format!("team-{}", i % 40)),
                name: format!("workload-{}", i / checks.len()),
                node: None,
            };
            c.meta.result(status, resource, format!("observed value {i} of {}", c.meta.id), None)
        })
        .collect();
    let fails = results.iter().filter(|r| r.status == Status::Fail).count();
    let now = chrono::Utc::now();
    let mut times = Vec::new();
    let mut bytes = 0;
    for _ in 0..5 {
        let t = Instant::now();
        let doc = palisade::report::oscal::render(&palisade::report::oscal::Assessment {
            cluster: "bench",
            scan_id: Some(Uuid::new_v4()),
            started: now,
            finished: now,
            results: &results,
            framework: palisade::frameworks::cis(),
            generated_at: now,
        });
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        bytes = doc.len();
    }
    let (min, median, max) = {
        let mut v = times.clone();
        (percentile(&mut v, 0.0), percentile(&mut v, 0.5), percentile(&mut v, 1.0))
    };
    println!("| OSCAL: {total} results ({fails} failing), 5 runs | min | median | max | document |");
    println!("|---|---|---|---|---|");
    println!(
        "| build + pretty JSON | {min:.0} ms | {median:.0} ms | {max:.0} ms | {:.1} MiB |",
        bytes as f64 / (1024.0 * 1024.0)
    );
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    oscal();
    fleet_compliance().await
}
