//! Shared helpers of the history tests: a fresh migrated database per test and clusters
//! registered through the cluster store.

use sqlx::PgPool;
use uuid::Uuid;

/// A fresh database `palisade_test_<uuid>` with every migration applied.
pub async fn fresh_pool() -> PgPool {
    let base = std::env::var("PALISADE_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    fresh_pool_on(&base).await
}

/// A fresh migrated database on the server `base` points at.
pub async fn fresh_pool_on(base: &str) -> PgPool {
    use sqlx::Connection;
    let name = format!("palisade_test_{}", Uuid::new_v4().simple());
    let mut admin = sqlx::PgConnection::connect(base).await.expect("PostgreSQL answers");
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut admin).await.unwrap();
    let url = format!("{}/{name}", base.rsplit_once('/').map(|(b, _)| b).unwrap_or(base));
    let pool = sqlx::postgres::PgPoolOptions::new().max_connections(5).connect(&url).await.unwrap();
    palisade::store::MIGRATOR.run(&pool).await.unwrap();
    pool
}

/// Register a cluster (no credentials are used by these tests: they store results directly).
pub async fn add_cluster(pool: &PgPool, name: &str, group: Option<&str>, labels: &[(&str, &str)]) -> Uuid {
    let labels: serde_json::Map<String, serde_json::Value> =
        labels.iter().map(|(k, v)| (k.to_string(), serde_json::Value::String(v.to_string()))).collect();
    let id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO clusters (id, name, server_url, auth_kind, credentials, credentials_key_id, labels, cluster_group)
         VALUES ($1, $2, 'https://127.0.0.1:1', 'token', '\\x00', 'test', $3, $4)",
    )
    .bind(id)
    .bind(name)
    .bind(serde_json::Value::Object(labels))
    .bind(group)
    .execute(pool)
    .await
    .unwrap();
    id
}

/// A private PostgreSQL server (initdb + pg_ctl as the `postgres` user on a free port) for tests
/// that restart the database; the shared server on 5432 is left alone. Stopped on drop.
pub struct PrivatePostgres {
    dir: std::path::PathBuf,
    pub port: u16,
}

const PG_BIN: &str = "/usr/lib/postgresql/15/bin";

fn as_postgres(args: &[&str]) -> std::process::Output {
    let mut cmd = std::process::Command::new("runuser");
    cmd.args(["-u", "postgres", "--"]).args(args);
    cmd.output().expect("runuser runs")
}

impl PrivatePostgres {
    pub fn start() -> PrivatePostgres {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let dir = std::env::temp_dir().join(format!("palisade-pg-{}", Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let chown =
            std::process::Command::new("chown").args(["postgres:postgres", dir.to_str().unwrap()]).status();
        assert!(chown.map(|s| s.success()).unwrap_or(false), "chown the private data directory");
        let data = dir.join("data");
        let out = as_postgres(&[
            &format!("{PG_BIN}/initdb"),
            "-D",
            data.to_str().unwrap(),
            "-A",
            "trust",
            "-U",
            "postgres",
        ]);
        assert!(out.status.success(), "initdb: {}", String::from_utf8_lossy(&out.stderr));
        let pg = PrivatePostgres { dir, port };
        pg.pg_ctl("start");
        pg
    }

    fn pg_ctl(&self, action: &str) {
        let data = self.dir.join("data");
        let log = self.dir.join("log");
        let opts =
            format!("-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off", self.port, self.dir.display());
        let out = as_postgres(&[
            &format!("{PG_BIN}/pg_ctl"),
            "-D",
            data.to_str().unwrap(),
            "-l",
            log.to_str().unwrap(),
            "-o",
            &opts,
            "-m",
            "fast",
            "-w",
            action,
        ]);
        assert!(out.status.success(), "pg_ctl {action}: {}", String::from_utf8_lossy(&out.stderr));
    }

    /// Restart the server: every open connection is cut.
    pub fn restart(&self) {
        self.pg_ctl("restart");
    }

    /// Stop the server (fast shutdown: every connection is cut); [`Self::start_again`] brings it back.
    pub fn stop(&self) {
        self.pg_ctl("stop");
    }

    /// Start a stopped server on the same port and data.
    pub fn start_again(&self) {
        self.pg_ctl("start");
    }

    /// URL of the `postgres` database on this server.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let data = self.dir.join("data");
        let _ = as_postgres(&[
            &format!("{PG_BIN}/pg_ctl"),
            "-D",
            data.to_str().unwrap(),
            "-m",
            "immediate",
            "-w",
            "stop",
        ]);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
