//! Dashboard benchmark (issue 16): the pages and their API twins against the real `palisade serve`
//! binary (its own process) on loopback.
//!
//! 1. A fleet of 1,000 clusters with a year of hourly scans (the `history_fleet` database,
//!    generated in SQL by `support/fleet.rs`, or an existing one named by `DASH_DB`): every page
//!    rendered `DASH_RUNS` times in a row by one logged-in user (p50/p95), then 50 logged-in users
//!    at once browsing the fleet, cluster and findings pages for `DASH_SECONDS` (p50/p95/p99).
//! 2. A generated 5,000-node cluster served by `palisade sim`, registered through the API and
//!    scanned by the server: its cluster page, a 500-row findings page, who-can and the
//!    reachability heatmap, as pages and as API calls (first request, then p50/p95).
//!
//! ```sh
//! CARGO_TARGET_DIR=/var/cache/palisade-target-release cargo bench --bench dashboard
//! # options: DASH_DB=<kept history_fleet database> DASH_KEEP=1 DASH_CLUSTERS=1000 DASH_DAYS=365
//! #          DASH_USERS=50 DASH_SECONDS=30 DASH_RUNS=30 DASH_BIG_SPEC=<sim spec> (empty: skip part 2)
//! ```
//!
//! Prints Markdown tables for BENCHMARKS.md. Not a test: it asserts nothing about time, but it
//! does refuse to time an answer that is not a 200 with the content the page should have.

#[path = "support/fleet.rs"]
mod fleet;
#[path = "support/server.rs"]
mod server;

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fleet::percentile;
use palisade::domain::Role;
use palisade::store::{self, users};
use server::{env_num, wait_ready, Browser, Proc, KEY_B64};
use sqlx::Connection;

const PASSWORD: &str = "bench-dashboard-password";
const BIG_SPEC: &str =
    "nodes=5000,namespaces=1000,pods=100000,roles=10000,bindings=10000,netpols=5000,seed=42";

/// A session cookie (`name=value; …`) from logging `username` in.
async fn session_cookie(base: &str, username: &str) -> anyhow::Result<String> {
    let r = reqwest::Client::new()
        .post(format!("{base}/api/v1/auth/login"))
        .json(&serde_json::json!({"username": username, "password": PASSWORD}))
        .send()
        .await?;
    anyhow::ensure!(r.status() == 200, "login of {username}: {}", r.status());
    let cookies: Vec<String> = r
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next().map(str::to_string))
        .collect();
    anyhow::ensure!(!cookies.is_empty(), "login of {username} set no cookie");
    Ok(cookies.join("; "))
}

/// The fleet → cluster → findings loop under `wrk -c USERS` with each user's session cookie, every
/// answer that is not a 200 counted as an error (a redirect to the login page included).
async fn wrk_loop(
    base: &str,
    names: &[String],
    ids: &[uuid::Uuid],
    users: u64,
    seconds: u64,
    dir: &Path,
) -> anyhow::Result<()> {
    if Command::new("wrk").arg("--version").output().is_err() {
        println!("\n(wrk is not installed: `apt-get install wrk` for the wrk run)");
        return Ok(());
    }
    let mut cookies = Vec::new();
    for name in names {
        cookies.push(format!("{:?}", session_cookie(base, name).await?));
    }
    let ids: Vec<String> = ids.iter().map(|id| format!("{:?}", id.to_string())).collect();
    let script = format!(
        r#"local cookies = {{{cookies}}}
local ids = {{{ids}}}
local threads = {{}}
local n = 0
bad = 0
function setup(thread) table.insert(threads, thread) end
function request()
  n = n + 1
  local step = n % 3
  local round = math.floor(n / 3)
  local cookie = cookies[round % #cookies + 1]
  local id = ids[(round * 7919) % #ids + 1]
  local path = "/"
  if step == 1 then path = "/clusters/" .. id elseif step == 2 then path = "/findings?cluster=" .. id end
  return wrk.format("GET", path, {{["Cookie"] = cookie}})
end
function response(status, headers, body)
  if status ~= 200 then bad = bad + 1 end
end
function done(summary, latency, requests)
  local b = 0
  for _, t in ipairs(threads) do b = b + t:get("bad") end
  io.write(string.format("WRK %d %d %.1f %.1f %.1f %.1f %d\n", summary.requests, b,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    summary.duration / 1e6, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
"#,
        cookies = cookies.join(", "),
        ids = ids.join(", "),
    );
    let path = dir.join("loop.lua");
    std::fs::write(&path, script)?;
    let out = Command::new("wrk")
        .args(["-t", "2", "-c", &users.to_string(), "-d", &format!("{seconds}s"), "--timeout", "10s", "-s"])
        .arg(&path)
        .arg(format!("{base}/"))
        .output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let Some(line) = text.lines().find(|l| l.starts_with("WRK ")) else {
        anyhow::bail!("wrk printed no summary: {text} {}", String::from_utf8_lossy(&out.stderr));
    };
    let f: Vec<f64> = line.split_whitespace().skip(1).filter_map(|v| v.parse().ok()).collect();
    println!("\n`wrk -t2 -c{users} -d{seconds}s`, the same loop (fleet → cluster → findings), each connection a logged-in user:\n");
    println!("| requests | non-200 | socket errors | p50 | p95 | p99 |");
    println!("|---|---|---|---|---|---|");
    println!(
        "| {:.0} ({:.0}/s) | {:.0} | {:.0} | {:.1} ms | {:.1} ms | **{:.1} ms** |",
        f[0],
        f[0] / f[5].max(0.001),
        f[1],
        f[6],
        f[2],
        f[3],
        f[4]
    );
    Ok(())
}

/// One page (or API call) timed `runs` times after one untimed first request.
struct Row {
    what: String,
    first_ms: f64,
    p50: f64,
    p95: f64,
    bytes: usize,
}

async fn time_page(b: &Browser, what: &str, path: &str, expect: &str, runs: u64) -> anyhow::Result<Row> {
    let (first_ms, bytes) = b.get(path, expect).await?;
    let mut times = Vec::new();
    for _ in 0..runs {
        times.push(b.get(path, expect).await?.0);
    }
    Ok(Row {
        what: what.to_string(),
        first_ms,
        p50: percentile(&mut times, 0.5),
        p95: percentile(&mut times, 0.95),
        bytes,
    })
}

fn print_rows(title: &str, rows: &[Row]) {
    println!("\n{title}\n");
    println!("| page | first request | p50 | p95 | size |");
    println!("|---|---|---|---|---|");
    for r in rows {
        println!(
            "| {} | {:.1} ms | {:.1} ms | **{:.1} ms** | {} KiB |",
            r.what,
            r.first_ms,
            r.p50,
            r.p95,
            r.bytes / 1024
        );
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    palisade::startup::install_crypto_provider();
    let users_n = env_num("DASH_USERS", 50);
    let seconds = env_num("DASH_SECONDS", 30);
    let runs = env_num("DASH_RUNS", 30);
    let clusters = env_num("DASH_CLUSTERS", 1000) as i64;
    let days = env_num("DASH_DAYS", 365) as i64;
    let big_spec = std::env::var("DASH_BIG_SPEC").unwrap_or_else(|_| BIG_SPEC.to_string());
    let server_url = std::env::var("PALISADE_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let existing = std::env::var("DASH_DB").ok();
    let db = existing.clone().unwrap_or_else(|| format!("palisade_dash_{}", uuid::Uuid::new_v4().simple()));
    let mut url = url::Url::parse(&server_url)?;
    url.set_path(&db);
    let mut admin_conn = sqlx::PgConnection::connect(&server_url).await?;
    if existing.is_none() {
        sqlx::query(&format!("CREATE DATABASE {db}")).execute(&mut admin_conn).await?;
    }
    let pool = store::connect(url.as_str(), 4, Duration::from_secs(5)).await?;
    store::MIGRATOR.run(&pool).await?;
    if existing.is_none() {
        fleet::generate(&pool, clusters, days, 1000).await?;
    }
    let db_size: i64 =
        sqlx::query_scalar("SELECT pg_database_size(current_database())").fetch_one(&pool).await?;
    let scans: i64 = sqlx::query_scalar("SELECT count(*) FROM scans").fetch_one(&pool).await?;
    let n_clusters: i64 = sqlx::query_scalar("SELECT count(*) FROM clusters").fetch_one(&pool).await?;
    println!("database {db}: {n_clusters} clusters, {scans} scans, {:.2} GB", db_size as f64 / 1e9);

    // The admin and the browsing users (viewers), with argon2id passwords as in production.
    palisade::startup::ensure_admin(&pool, Some(PASSWORD.into())).await?;
    let mut names = Vec::new();
    for i in 0..users_n {
        let name = format!("bench-user-{i:02}");
        if users::get_by_name(&pool, &name).await?.is_none() {
            users::create(&pool, &name.parse().map_err(anyhow::Error::msg)?, PASSWORD, Role::Viewer).await?;
        }
        names.push(name);
    }

    // The generated clusters have no real API server behind them: pause their schedules, so the
    // server does not spend the run failing to scan them (their history stays as generated).
    sqlx::query("UPDATE cluster_scan_state SET paused = true WHERE NOT paused").execute(&pool).await?;

    let dir = tempfile::tempdir()?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    // Outside the temporary directory, so it survives a failed run.
    let log_file = std::env::temp_dir().join("palisade-dashboard-bench-server.log");
    println!("server log: {}", log_file.display());
    let _server = Proc(
        Command::new(env!("CARGO_BIN_EXE_palisade"))
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .current_dir(dir.path())
            .env("DATABASE_URL", url.as_str())
            .env("PALISADE__SECRETS__KEY", KEY_B64)
            .env("PALISADE__EGRESS__ALLOW", "127.0.0.0/8,::1/128")
            // Login throttling counts per address: every bench user logs in from 127.0.0.1.
            .env("PALISADE__AUTH__MAX_FAILED_LOGINS", "1000")
            // Retention would prune the generated history's detail during the timed run (one
            // statement of seconds on 2 M change rows): a maintenance pass, not page load.
            .env("PALISADE__SCHEDULER__RETENTION_DAYS", "0")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log_file)?)
            .spawn()?,
    );
    let base = format!("http://127.0.0.1:{port}");
    wait_ready(&base).await?;
    let admin = Browser::login(&base, "admin", PASSWORD).await?;

    // ---- part 1: every page on the 1,000-cluster, one-year database
    let cluster_id: uuid::Uuid =
        sqlx::query_scalar("SELECT id FROM clusters ORDER BY name LIMIT 1").fetch_one(&pool).await?;
    let cluster_name: String = sqlx::query_scalar("SELECT name FROM clusters WHERE id = $1")
        .bind(cluster_id)
        .fetch_one(&pool)
        .await?;
    let check: String = sqlx::query_scalar(
        "SELECT check_id FROM findings WHERE status = 'fail' GROUP BY check_id ORDER BY count(*) DESC LIMIT 1",
    )
    .fetch_one(&pool)
    .await?;
    let scan_ids: Vec<uuid::Uuid> =
        sqlx::query_scalar("SELECT id FROM scans WHERE cluster_id = $1 ORDER BY finished_at DESC LIMIT 2")
            .bind(cluster_id)
            .fetch_all(&pool)
            .await?;
    let c = cluster_id;
    let pages: Vec<(&str, String, &str)> = vec![
        ("fleet `/`", "/".into(), cluster_name.as_str()),
        ("fleet filtered by label", "/?label=env%3Dprod".into(), "Fleet"),
        ("cluster page", format!("/clusters/{c}"), cluster_name.as_str()),
        (
            "scan diff (last two scans)",
            format!("/clusters/{c}/diff?a={}&b={}", scan_ids[1], scan_ids[0]),
            "Diff",
        ),
        ("check page", format!("/checks/{check}"), check.as_str()),
        ("checks list", "/checks".into(), check.as_str()),
        ("findings explorer (100 rows)", "/findings".into(), "Findings"),
        (
            "findings, failing high, 500 rows",
            "/findings?severity=high&status=fail&per_page=500".into(),
            "Findings",
        ),
        ("findings by resource", "/findings?view=resource".into(), "Findings"),
        ("findings CSV export", "/findings.csv".into(), "check_id"),
        ("trends (fleet, 30 days)", "/trends".into(), "<svg"),
        ("trends by area, 365 days", "/trends?by=area&days=365".into(), "<svg"),
        ("trends by group, 90 days", "/trends?by=group&days=90".into(), "<svg"),
        ("network index", "/network".into(), "Network"),
        ("RBAC index", "/rbac".into(), "RBAC"),
        ("admin: clusters", "/admin/clusters".into(), cluster_name.as_str()),
        ("admin: users", "/admin/users".into(), "bench-user-00"),
        ("admin: tokens", "/admin/tokens".into(), "token"),
        ("admin: audit log", "/admin/audit".into(), "Audit"),
    ];
    let mut rows = Vec::new();
    for (what, path, expect) in &pages {
        rows.push(time_page(&admin, what, path, expect, runs).await?);
    }
    print_rows(
        &format!("Pages, one logged-in admin, {runs} requests each after a first one ({n_clusters} clusters, {scans} scans):"),
        &rows,
    );

    // ---- 50 users at once: fleet, a cluster, findings
    let ids: Arc<Vec<uuid::Uuid>> =
        Arc::new(sqlx::query_scalar("SELECT id FROM clusters ORDER BY name").fetch_all(&pool).await?);
    let mut browsers = Vec::new();
    for name in &names {
        browsers.push(Browser::login(&base, name, PASSWORD).await?);
    }
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for (u, b) in browsers.into_iter().enumerate() {
        let ids = ids.clone();
        tasks.push(tokio::spawn(async move {
            let mut times: [Vec<f64>; 3] = Default::default();
            let mut errors = 0u64;
            let mut i = u;
            while Instant::now() < deadline {
                let id = ids[(i * 7919) % ids.len()];
                let steps = [
                    ("/".to_string(), "Fleet"),
                    (format!("/clusters/{id}"), "Scan"),
                    (format!("/findings?cluster={id}"), "Findings"),
                ];
                for (k, (path, expect)) in steps.iter().enumerate() {
                    match b.get(path, expect).await {
                        Ok((ms, _)) => times[k].push(ms),
                        Err(e) => {
                            errors += 1;
                            if errors <= 3 {
                                eprintln!("user {u}: {e}");
                            }
                        }
                    }
                }
                i += 1;
            }
            (times, errors)
        }));
    }
    let started = Instant::now();
    let mut all: [Vec<f64>; 3] = Default::default();
    let mut errors = 0;
    for t in tasks {
        let (times, e) = t.await?;
        for (k, v) in times.into_iter().enumerate() {
            all[k].extend(v);
        }
        errors += e;
    }
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "\n{users_n} logged-in users at once for {seconds} s, each looping fleet → cluster → findings:\n"
    );
    println!("| page | requests | p50 | p95 | p99 |");
    println!("|---|---|---|---|---|");
    let mut every = Vec::new();
    for (k, name) in ["fleet `/`", "cluster page", "findings (one cluster)"].iter().enumerate() {
        let v = &mut all[k];
        every.extend(v.iter().copied());
        println!(
            "| {name} | {} | {:.1} ms | {:.1} ms | **{:.1} ms** |",
            v.len(),
            percentile(v, 0.5),
            percentile(v, 0.95),
            percentile(v, 0.99)
        );
    }
    println!(
        "| all | {} ({:.0}/s) | {:.1} ms | {:.1} ms | **{:.1} ms** |",
        every.len(),
        every.len() as f64 / elapsed,
        percentile(&mut every, 0.5),
        percentile(&mut every, 0.95),
        percentile(&mut every, 0.99)
    );
    println!("errors: {errors}");

    // ---- the same loop driven by wrk (a C load generator: less of the two cores goes to the client)
    wrk_loop(&base, &names, &ids, users_n, seconds, dir.path()).await?;

    // ---- part 2: a 5,000-node cluster
    if !big_spec.is_empty() {
        big_cluster(&admin, &big_spec, dir.path(), runs).await?;
    }

    let log = std::fs::read_to_string(&log_file).unwrap_or_default();
    println!("\nserver log: {} lines at warn or above", log.lines().count());
    for line in log.lines().take(5) {
        println!("  {line}");
    }
    pool.close().await;
    if existing.is_none() && std::env::var("DASH_KEEP").is_err() {
        sqlx::query(&format!("DROP DATABASE IF EXISTS \"{db}\" WITH (FORCE)"))
            .execute(&mut admin_conn)
            .await?;
    } else {
        println!("kept database {db}");
    }
    Ok(())
}

/// Serve `spec` with `palisade sim`, register it, scan it through the server, then time its pages.
async fn big_cluster(admin: &Browser, spec: &str, dir: &Path, runs: u64) -> anyhow::Result<()> {
    let kubeconfig = dir.join("big.kubeconfig");
    let t = Instant::now();
    let _sim = Proc(
        Command::new(env!("CARGO_BIN_EXE_palisade"))
            .args(["sim", "--generate", spec, "--listen", "127.0.0.1:0", "--kubeconfig-out"])
            .arg(&kubeconfig)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?,
    );
    while !kubeconfig.exists() {
        anyhow::ensure!(t.elapsed() < Duration::from_secs(900), "the simulator did not write its kubeconfig");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    println!("\nsimulator up in {:.1} s: {spec}", t.elapsed().as_secs_f64());
    let kc = std::fs::read_to_string(&kubeconfig)?;
    let csrf: serde_json::Value =
        admin.http.get(format!("{}/api/v1/auth/me", admin.base)).send().await?.json().await?;
    let csrf = csrf["csrf_token"].as_str().unwrap_or_default().to_string();
    let r = admin
        .http
        .post(format!("{}/api/v1/clusters", admin.base))
        .header("X-CSRF-Token", &csrf)
        .json(&serde_json::json!({"name": "big-5000", "credentials": {"kubeconfig": kc}}))
        .send()
        .await?;
    anyhow::ensure!(r.status() == 201, "register: {} {}", r.status(), r.text().await?);
    let cluster: serde_json::Value = r.json().await?;
    let id = cluster["id"].as_str().unwrap_or_default().to_string();
    let t = Instant::now();
    let r = admin
        .http
        .post(format!("{}/api/v1/clusters/{id}/scans", admin.base))
        .header("X-CSRF-Token", &csrf)
        .send()
        .await?;
    anyhow::ensure!(r.status().is_success(), "scan: {} {}", r.status(), r.text().await?);
    let scan: serde_json::Value = r.json().await?;
    let scan_id = scan["id"].as_str().unwrap_or_default().to_string();
    let state = loop {
        let s: serde_json::Value =
            admin.http.get(format!("{}/api/v1/scans/{scan_id}", admin.base)).send().await?.json().await?;
        let state = s["state"].as_str().unwrap_or_default().to_string();
        if !["queued", "running"].contains(&state.as_str()) {
            anyhow::ensure!(state != "failed", "the scan failed: {}", s["error"]);
            let why = s["error"].as_str().map(|e| format!(" ({e})")).unwrap_or_default();
            break format!("{state}{why}, {} results", s["summary"]["total"]);
        }
        anyhow::ensure!(t.elapsed() < Duration::from_secs(1800), "the scan did not finish");
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    println!("registered and scanned through the server in {:.1} s: {state}", t.elapsed().as_secs_f64());

    let pages: Vec<(&str, String, &str)> = vec![
        ("cluster page", format!("/clusters/{id}"), "big-5000"),
        ("findings page, 500 rows", format!("/findings?cluster={id}&per_page=500"), "Findings"),
        ("API: scan results, 500 rows", format!("/api/v1/scans/{scan_id}/results?limit=500"), "items"),
        ("API: findings, 500 rows", format!("/api/v1/findings?cluster={id}&limit=500"), "items"),
        (
            "who-can page (get secrets)",
            format!("/clusters/{id}/rbac?verb=get&resource=secrets"),
            "Who can get",
        ),
        (
            "API: who-can (get secrets)",
            format!("/api/v1/clusters/{id}/rbac/who-can?verb=get&resource=secrets"),
            "allowed",
        ),
        ("reachability heatmap page", format!("/clusters/{id}/network"), "<table"),
        ("API: reachability matrix", format!("/api/v1/clusters/{id}/network/reachability"), "cells"),
    ];
    let mut rows = Vec::new();
    for (what, path, expect) in &pages {
        rows.push(time_page(admin, what, path, expect, runs).await?);
    }
    print_rows(&format!("The 5,000-node cluster ({runs} requests each after a first one):"), &rows);
    Ok(())
}
