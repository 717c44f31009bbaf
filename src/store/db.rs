//! Connecting to PostgreSQL: creates the database when missing, applies the embedded migrations,
//! and (when allowed) starts a private PostgreSQL under the data directory if none answers.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::str::FromStr;
use std::time::Duration;

use anyhow::{bail, Context};
use secrecy::ExposeSecret;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgPool};

use super::StoreError;
use crate::config::Settings;

/// The migrations in `migrations/`, compiled into the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!();

/// Open a pool on `url`, creating the database if it is missing, and apply the migrations.
pub async fn connect(url: &str, max_connections: u32, acquire_timeout: Duration) -> anyhow::Result<PgPool> {
    let opts = PgConnectOptions::from_str(url).context("DATABASE_URL is not a valid PostgreSQL URL")?;
    let opts = opts.log_statements(tracing::log::LevelFilter::Trace);
    create_database_if_missing(&opts).await?;
    let pool = PgPoolOptions::new()
        .max_connections(max_connections)
        .min_connections(1)
        .acquire_timeout(acquire_timeout)
        .connect_with(opts)
        .await
        .with_context(|| format!("cannot connect to {}", crate::config::redact_url(url)))?;
    MIGRATOR.run(&pool).await.context("cannot apply the database migrations")?;
    Ok(pool)
}

async fn create_database_if_missing(opts: &PgConnectOptions) -> anyhow::Result<()> {
    let Some(name) = opts.get_database().map(str::to_string) else { return Ok(()) };
    match sqlx::PgConnection::connect_with(opts).await {
        Ok(conn) => {
            let _ = conn.close().await;
            Ok(())
        }
        Err(sqlx::Error::Database(db)) if db.code().as_deref() == Some("3D000") => {
            let mut admin = sqlx::PgConnection::connect_with(&opts.clone().database("postgres"))
                .await
                .context("cannot connect to the `postgres` database to create Palisade's")?;
            let quoted = format!("\"{}\"", name.replace('"', "\"\""));
            match sqlx::query(&format!("CREATE DATABASE {quoted}")).execute(&mut admin).await {
                Ok(_) => tracing::info!(database = %name, "created the database"),
                // Another replica created it at the same moment.
                Err(sqlx::Error::Database(db)) if db.code().as_deref() == Some("42P04") => {}
                Err(e) => return Err(e).with_context(|| format!("cannot create the database {name}")),
            }
            let _ = admin.close().await;
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

/// Whether every migration compiled into this binary is applied to the database.
pub async fn migrations_applied(pool: &PgPool) -> Result<bool, StoreError> {
    let applied: Vec<(i64,)> =
        sqlx::query_as("SELECT version FROM _sqlx_migrations WHERE success").fetch_all(pool).await?;
    Ok(MIGRATOR.iter().all(|m| applied.iter().any(|(v,)| *v == m.version)))
}

/// A private PostgreSQL started by Palisade; stopped again by [`EmbeddedPostgres::stop`].
#[derive(Debug)]
pub struct EmbeddedPostgres {
    bin: PathBuf,
    data: PathBuf,
    as_user: Option<String>,
    /// False when it was already running (another Palisade process started it): leave it running.
    started_here: bool,
    /// The URL to connect to it.
    pub url: String,
}

/// Connect with the configured database, falling back to an embedded PostgreSQL when the default
/// URL does not answer. The error message says how to provide a database when nothing works.
pub async fn connect_for_serve(settings: &Settings) -> anyhow::Result<(PgPool, Option<EmbeddedPostgres>)> {
    let url = settings.database.url.expose_secret().to_string();
    let timeout = Duration::from_secs(settings.database.acquire_timeout_secs);
    let max = settings.database.max_connections;
    match connect(&url, max, timeout).await {
        Ok(pool) => Ok((pool, None)),
        Err(err)
            if settings.uses_default_database()
                && settings.database.embedded_fallback
                && is_unreachable(&err) =>
        {
            let Some(bin) = find_pg_bin() else {
                bail!(
                    "no PostgreSQL answers at {} and the PostgreSQL server binaries (initdb, pg_ctl) are not installed.\n\
                     Provide a database in one of these ways:\n  \
                     * set DATABASE_URL=postgres://user:password@host:5432/palisade\n  \
                     * run `docker compose up -d postgres` (see docker-compose.yml)\n  \
                     * install PostgreSQL (e.g. `apt-get install postgresql`) and start it again",
                    crate::config::DEFAULT_DATABASE_URL
                );
            };
            tracing::warn!(
                "no PostgreSQL answers at the default URL; starting a private one under the data directory"
            );
            let embedded =
                EmbeddedPostgres::start(&bin, &settings.data_dir, settings.database.embedded_port)?;
            let pool = connect(&embedded.url, max, timeout).await?;
            Ok((pool, Some(embedded)))
        }
        Err(err) => Err(err.context(
            "cannot use the configured database; check DATABASE_URL / PALISADE__DATABASE__URL \
             (or run `docker compose up -d postgres`)",
        )),
    }
}

fn is_unreachable(err: &anyhow::Error) -> bool {
    err.chain().any(|e| match e.downcast_ref::<sqlx::Error>() {
        Some(sqlx::Error::Io(_)) | Some(sqlx::Error::PoolTimedOut) => true,
        _ => e.downcast_ref::<std::io::Error>().is_some(),
    })
}

/// The directory holding `initdb` and `pg_ctl`: on `PATH`, else the newest `/usr/lib/postgresql/*/bin`.
fn find_pg_bin() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            if dir.join("initdb").is_file() && dir.join("pg_ctl").is_file() {
                return Some(dir);
            }
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            (bin.join("initdb").is_file() && bin.join("pg_ctl").is_file()).then_some((v, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

impl EmbeddedPostgres {
    /// Initialise (first time) and start PostgreSQL in `<data_dir>/postgres`, listening on
    /// 127.0.0.1:`port` with trust authentication for local connections only.
    pub fn start(bin: &Path, data_dir: &Path, port: u16) -> anyhow::Result<EmbeddedPostgres> {
        std::fs::create_dir_all(data_dir).with_context(|| format!("cannot create {}", data_dir.display()))?;
        let data_dir = std::fs::canonicalize(data_dir)?;
        let data = data_dir.join("postgres");
        // PostgreSQL refuses to run as root; use the `postgres` system account then.
        let as_user = is_root().then(|| "postgres".to_string());
        let mut pg = EmbeddedPostgres {
            bin: bin.to_path_buf(),
            data: data.clone(),
            as_user,
            started_here: false,
            url: format!("postgres://postgres@127.0.0.1:{port}/palisade"),
        };
        if !data.join("PG_VERSION").exists() {
            std::fs::create_dir_all(&data)?;
            pg.chown(&data)?;
            pg.run(
                "initdb",
                &[
                    "-D",
                    path_str(&data)?,
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--no-instructions",
                ],
            )
            .context("initdb failed")?;
        }
        let status = pg.command("pg_ctl", &["-D", path_str(&data)?, "status"])?.output()?;
        if !status.status.success() {
            let log = data.join("server.log");
            let opts = format!("-p {port} -k {} -c listen_addresses=127.0.0.1", path_str(&data)?);
            pg.run("pg_ctl", &["-D", path_str(&data)?, "-l", path_str(&log)?, "-o", &opts, "-w", "start"])
                .with_context(|| format!("pg_ctl start failed; see {}", log.display()))?;
            pg.started_here = true;
        }
        tracing::info!(data = %data.display(), port, "embedded PostgreSQL is running");
        Ok(pg)
    }

    fn command(&self, tool: &str, args: &[&str]) -> anyhow::Result<Command> {
        let exe = self.bin.join(tool);
        let mut cmd = match &self.as_user {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(&exe);
                c
            }
            None => Command::new(&exe),
        };
        cmd.args(args).current_dir(&self.data);
        Ok(cmd)
    }

    fn run(&self, tool: &str, args: &[&str]) -> anyhow::Result<()> {
        let out = self.command(tool, args)?.output().with_context(|| format!("cannot run {tool}"))?;
        if !out.status.success() {
            bail!("{tool} exited with {}: {}", out.status, String::from_utf8_lossy(&out.stderr).trim());
        }
        Ok(())
    }

    fn chown(&self, dir: &Path) -> anyhow::Result<()> {
        if let Some(user) = &self.as_user {
            let out = Command::new("chown").args(["-R", &format!("{user}:{user}")]).arg(dir).output()?;
            if !out.status.success() {
                bail!(
                    "cannot hand {} to the {user} account: {}",
                    dir.display(),
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        }
        Ok(())
    }

    /// Stop the private PostgreSQL (fast shutdown).
    pub fn stop(&self) {
        if !self.started_here {
            return;
        }
        let data = self.data.display().to_string();
        match self.run("pg_ctl", &["-D", &data, "-m", "fast", "-w", "stop"]) {
            Ok(()) => tracing::info!("embedded PostgreSQL stopped"),
            Err(e) => tracing::warn!(error = %e, "cannot stop the embedded PostgreSQL"),
        }
    }
}

fn path_str(p: &Path) -> anyhow::Result<&str> {
    p.to_str().with_context(|| format!("the path {} is not UTF-8", p.display()))
}

fn is_root() -> bool {
    // The effective uid from /proc avoids unsafe libc calls.
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|u| u == "0"))
        })
        .unwrap_or(false)
}
