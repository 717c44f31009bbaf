//! Foundation benchmark: `GET /api/v1/clusters?limit=100` with 1,000 registered clusters,
//! authenticated with an API token, loaded by `wrk` over loopback against the real
//! `palisade serve` binary (its own process, run under `/usr/bin/time -v` for peak RSS).
//!
//! ```sh
//! apt-get install -y wrk time
//! CARGO_TARGET_DIR=/var/cache/palisade-target-release cargo bench --bench foundation_api
//! # options: PALISADE_BENCH_CLUSTERS=1000 PALISADE_BENCH_SECONDS=20 PALISADE_BENCH_CONNECTIONS=32
//! ```
//!
//! Prints a Markdown table for BENCHMARKS.md. Not a test: it asserts nothing about time.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use palisade::domain::Role;
use palisade::secrets::Cipher;
use palisade::store::{self, audit::Actor, clusters, tokens, users};

const KEY_B64: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    palisade::startup::install_crypto_provider();
    let n_clusters = env_num("PALISADE_BENCH_CLUSTERS", 1000);
    let seconds = env_num("PALISADE_BENCH_SECONDS", 20);
    let connections = env_num("PALISADE_BENCH_CONNECTIONS", 32);
    let server_url = std::env::var("PALISADE_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let db = format!("palisade_bench_{}", uuid::Uuid::new_v4().simple());
    let mut url = url::Url::parse(&server_url)?;
    url.set_path(&db);

    // Fill the registry through the store, as registration does (encrypted credentials).
    let pool = store::connect(url.as_str(), 8, Duration::from_secs(5)).await?;
    palisade::startup::ensure_admin(&pool, Some("bench-admin-password".into())).await?;
    let admin = users::get_by_name(&pool, "admin").await?.expect("admin");
    let (_, token) = tokens::create(&pool, admin.id, "bench", Role::Viewer, None).await?;
    let key = base64_decode(KEY_B64);
    let cipher = Cipher::new(&key, &[])?;
    let started = Instant::now();
    for i in 0..n_clusters {
        let labels = palisade::domain::Labels::from_pairs([
            format!("environment={}", ["prod", "staging", "dev"][i as usize % 3]).as_str(),
            format!("region=region-{}", i % 7).as_str(),
            "owner=platform",
        ])
        .map_err(anyhow::Error::msg)?;
        let new = clusters::NewCluster {
            name: format!("cluster-{i:05}").parse().map_err(anyhow::Error::msg)?,
            labels,
            group: Some(format!("group-{}", i % 10).parse().map_err(anyhow::Error::msg)?),
            enabled: true,
            credentials: palisade::collect::client::ClusterCredentials {
                server: format!("https://10.0.{}.{}:6443", i / 250, i % 250),
                ca_pem: None,
                tls_server_name: None,
                insecure_skip_tls_verify: false,
                auth: palisade::collect::client::ClusterAuth::Token { token: format!("sa-token-{i}") },
            },
            ssh_port: None,
        };
        clusters::register(&pool, &cipher, &new, &Actor::system()).await?;
    }
    let fill = started.elapsed();
    sqlx::query("ANALYZE").execute(&pool).await?;

    // The server in its own process.
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let dir = tempfile::tempdir()?;
    // The server's log and /usr/bin/time's report go to files: a pipe nobody reads while wrk runs
    // fills up and blocks the server on its next log line.
    let time_file = dir.path().join("time.txt");
    let log_file = dir.path().join("server.log");
    let server = Command::new("/usr/bin/time")
        .arg("-v")
        .arg("-o")
        .arg(&time_file)
        .arg(env!("CARGO_BIN_EXE_palisade"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .current_dir(dir.path())
        .env("DATABASE_URL", url.as_str())
        .env("PALISADE__SECRETS__KEY", KEY_B64)
        .env("PALISADE__EGRESS__ALLOW", "127.0.0.0/8,::1/128")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log_file)?)
        .spawn()?;
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let mut ready = false;
    for _ in 0..300 {
        if http.get(format!("{base}/readyz")).send().await.is_ok_and(|r| r.status() == 200) {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::ensure!(ready, "the server did not become ready");
    let target = format!("{base}/api/v1/clusters?limit=100");
    let page: serde_json::Value = http.get(&target).bearer_auth(&token).send().await?.json().await?;
    anyhow::ensure!(page["items"].as_array().map(Vec::len) == Some(100), "expected 100 clusters per page");
    let bytes = serde_json::to_vec(&page)?.len();

    let wrk = Command::new("wrk")
        .args(["-t2", &format!("-c{connections}"), &format!("-d{seconds}s"), "--latency"])
        .args(["-H", &format!("Authorization: Bearer {token}")])
        .arg(&target)
        .output()?;
    let report = String::from_utf8_lossy(&wrk.stdout).to_string();

    // Stop the server (SIGINT: graceful) and read its peak RSS.
    let pid = server.id().to_string();
    let children = Command::new("pgrep").args(["-P", &pid]).output()?;
    for child in String::from_utf8_lossy(&children.stdout).split_whitespace() {
        Command::new("kill").args(["-INT", child]).status()?;
    }
    let mut server = server;
    server.wait()?;
    let time_report = std::fs::read_to_string(&time_file).unwrap_or_default();
    let log = std::fs::read_to_string(&log_file).unwrap_or_default();
    let log_lines: Vec<&str> = log.lines().collect();
    println!("server log: {} lines at warn or above", log_lines.len());
    for line in log_lines.iter().take(5) {
        println!("  {line}");
    }
    let rss = time_report
        .lines()
        .find_map(|l| l.trim().strip_prefix("Maximum resident set size (kbytes): "))
        .unwrap_or("?")
        .to_string();

    pool.close().await;
    {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(&server_url).await?;
        sqlx::query(&format!("DROP DATABASE IF EXISTS \"{db}\" WITH (FORCE)")).execute(&mut conn).await?;
    }

    let rps = report.lines().find_map(|l| l.strip_prefix("Requests/sec:")).unwrap_or("?").trim().to_string();
    let pct = |p: &str| {
        report
            .lines()
            .find_map(|l| l.trim().strip_prefix(p).map(|v| v.trim().to_string()))
            .unwrap_or_else(|| "?".into())
    };
    let errors =
        report.lines().filter(|l| l.contains("Non-2xx") || l.contains("Socket errors")).collect::<Vec<_>>();
    println!("{report}");
    println!(
        "| clusters | page | connections | duration | requests/s | p50 | p99 | server peak RSS | errors |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    println!(
        "| {n_clusters} | 100 ({bytes} B JSON) | {connections} | {seconds} s | {rps} | {} | {} | {} MiB | {} |",
        pct("50%"),
        pct("99%"),
        rss.parse::<u64>().map(|k| (k / 1024).to_string()).unwrap_or(rss.clone()),
        if errors.is_empty() { "none".to_string() } else { errors.join("; ") }
    );
    println!("(registering {n_clusters} clusters through the store took {:.1} s)", fill.as_secs_f64());
    Ok(())
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(s).expect("valid base64")
}
