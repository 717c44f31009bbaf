//! Settings: the embedded defaults < `config/default.toml` < `config/<environment>.toml` <
//! `PALISADE__SECTION__KEY` environment variables (`DATABASE_URL` is honoured as well).
//!
//! Secrets are wrapped in [`SecretString`] so they never appear in `Debug` output; [`Settings::redacted`]
//! renders the effective settings for people with every secret replaced.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

/// The defaults, compiled in so the binary works from any directory.
const DEFAULTS: &str = include_str!("../config/default.toml");

/// All of Palisade's settings.
#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    /// Where Palisade keeps its own files (key file, embedded PostgreSQL).
    pub data_dir: PathBuf,
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub secrets: SecretSettings,
    pub auth: AuthSettings,
    /// Scheduled scanning (see [`SchedulerSettings`]).
    #[serde(default)]
    pub scheduler: SchedulerSettings,
    /// Where Palisade may connect, and how much it reads (see [`EgressSettings`]).
    #[serde(default)]
    pub egress: EgressSettings,
    /// The Prometheus endpoint (see [`MetricsSettings`]).
    #[serde(default)]
    pub metrics: MetricsSettings,
    /// Exceptions (waivers) of findings (see [`ExceptionSettings`]).
    #[serde(default)]
    pub exceptions: ExceptionSettings,
    /// Compliance reports (see [`ReportSettings`]).
    #[serde(default)]
    pub reports: ReportSettings,
}

/// `[reports]`, `PALISADE__REPORTS__*`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct ReportSettings {
    /// The Chromium executable that prints PDF reports (Debian package `chromium`).
    pub chromium: String,
    /// How long printing one PDF may take.
    pub pdf_timeout_secs: u64,
    /// How often each replica looks for report definitions that are due.
    pub tick_secs: u64,
}

impl Default for ReportSettings {
    fn default() -> Self {
        ReportSettings { chromium: "chromium".into(), pdf_timeout_secs: 60, tick_secs: 30 }
    }
}

/// `[exceptions]`, `PALISADE__EXCEPTIONS__*`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ExceptionSettings {
    /// An exception an editor creates or changes is `pending` until an admin approves it, and only
    /// approved exceptions cover results. Off: an editor's exception applies at once.
    pub require_approval: bool,
}

/// The HTTP server.
#[derive(Debug, Clone, Deserialize)]
pub struct ServerSettings {
    pub listen: SocketAddr,
    pub body_limit_bytes: usize,
    /// Mark the session cookie `Secure` (set when served behind TLS).
    pub secure_cookies: bool,
    /// HTTP worker threads; 0 means one per core.
    pub workers: usize,
    /// Seconds a verified API token or session is remembered in memory (0: look every request up
    /// in the database). Any change to users, tokens or sessions clears it at once, on every replica.
    #[serde(default = "default_credential_cache_secs")]
    pub credential_cache_secs: u64,
    /// How many scans' analyses (RBAC graph with its who-can index, network reachability) are
    /// kept in memory for the RBAC and network API and pages (0: build them on every request).
    #[serde(default = "default_analysis_cache_entries")]
    pub analysis_cache_entries: usize,
    /// Serve HTTPS with this PEM certificate chain (with `tls_key_file`); unset: plain HTTP.
    #[serde(default)]
    pub tls_cert_file: Option<PathBuf>,
    /// The PEM private key of `tls_cert_file`.
    #[serde(default)]
    pub tls_key_file: Option<PathBuf>,
    /// Seconds between looks at the certificate files; a changed pair is served without a restart.
    #[serde(default = "default_tls_reload_secs")]
    pub tls_reload_secs: u64,
    /// Largest cluster agent snapshot taken by `POST /api/v1/ingest/cluster`, in bytes of JSON
    /// (after gzip decoding when the agent compresses it).
    #[serde(default = "default_cluster_report_limit_bytes")]
    pub cluster_report_limit_bytes: usize,
}

fn default_tls_reload_secs() -> u64 {
    30
}

fn default_cluster_report_limit_bytes() -> usize {
    256 << 20
}

impl ServerSettings {
    /// The certificate and key to serve HTTPS with: both or neither must be set.
    pub fn tls_files(&self) -> Result<Option<(&Path, &Path)>, String> {
        match (&self.tls_cert_file, &self.tls_key_file) {
            (Some(c), Some(k)) => Ok(Some((c.as_path(), k.as_path()))),
            (None, None) => Ok(None),
            _ => {
                Err("set both server.tls_cert_file and server.tls_key_file to serve HTTPS, or neither".into())
            }
        }
    }
}

fn default_credential_cache_secs() -> u64 {
    5
}

fn default_analysis_cache_entries() -> usize {
    8
}

/// The PostgreSQL connection.
#[derive(Debug, Clone, Deserialize)]
pub struct DatabaseSettings {
    /// Connection URL. May hold a password, hence secret.
    pub url: SecretString,
    pub max_connections: u32,
    pub acquire_timeout_secs: u64,
    /// Start a private PostgreSQL under `data_dir` when none answers at the default URL.
    pub embedded_fallback: bool,
    pub embedded_port: u16,
}

/// The key that encrypts cluster credentials at rest.
#[derive(Debug, Clone, Deserialize)]
pub struct SecretSettings {
    /// Base64 of 32 bytes; empty means "use `key_file`".
    pub key: SecretString,
    pub key_file: PathBuf,
    /// Keys still accepted for decryption while rotating (base64).
    #[serde(default)]
    pub previous_keys: Vec<SecretString>,
}

/// Sessions and login throttling.
#[derive(Debug, Clone, Deserialize)]
pub struct AuthSettings {
    pub session_ttl_hours: i64,
    pub max_failed_logins: i64,
    pub failed_login_window_secs: i64,
    /// Seconds between removals of expired sessions and of failed logins older than the window.
    #[serde(default = "default_prune_interval_secs")]
    pub prune_interval_secs: u64,
}

fn default_prune_interval_secs() -> u64 {
    600
}

/// The default database URL; the embedded fallback only replaces this one, never a URL someone set.
pub const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/palisade";

impl Settings {
    /// Load settings from the current directory's `config/` and the environment.
    pub fn load() -> anyhow::Result<Settings> {
        Self::load_from(Path::new("config"))
    }

    /// Load settings with `dir` as the configuration directory.
    pub fn load_from(dir: &Path) -> anyhow::Result<Settings> {
        use config::{Config, Environment, File, FileFormat};
        let environment =
            std::env::var("PALISADE_ENVIRONMENT").unwrap_or_else(|_| "local".to_string()).to_lowercase();
        let mut builder = Config::builder()
            .add_source(File::from_str(DEFAULTS, FileFormat::Toml))
            .add_source(File::from(dir.join("default.toml")).required(false))
            .add_source(File::from(dir.join(format!("{environment}.toml"))).required(false))
            .add_source(
                Environment::with_prefix("PALISADE")
                    .prefix_separator("__")
                    .separator("__")
                    .try_parsing(true)
                    .list_separator(",")
                    .with_list_parse_key("secrets.previous_keys")
                    .with_list_parse_key("egress.deny")
                    .with_list_parse_key("egress.allow"),
            );
        if let Ok(url) = std::env::var("DATABASE_URL") {
            builder = builder.set_override("database.url", url)?;
        }
        let settings: Settings = builder.build()?.try_deserialize()?;
        Ok(settings)
    }

    /// Whether the database URL is still the built-in default (so the embedded fallback may apply).
    pub fn uses_default_database(&self) -> bool {
        self.database.url.expose_secret() == DEFAULT_DATABASE_URL
    }

    /// The settings as text for people, with every secret redacted.
    pub fn redacted(&self) -> String {
        let db_url = redact_url(self.database.url.expose_secret());
        format!(
            "data_dir = {:?}\n[server]\nlisten = \"{}\"\nbody_limit_bytes = {}\nsecure_cookies = {}\nworkers = {}\n\
             tls_cert_file = {:?}\ntls_key_file = {:?}\n\
             [database]\nurl = \"{}\"\nmax_connections = {}\nacquire_timeout_secs = {}\nembedded_fallback = {}\n\
             embedded_port = {}\n[secrets]\nkey = \"{}\"\nkey_file = {:?}\nprevious_keys = {} key(s) [redacted]\n\
             [auth]\nsession_ttl_hours = {}\nmax_failed_logins = {}\nfailed_login_window_secs = {}\n\
             [metrics]\nlisten = \"{}\"\n",
            self.data_dir,
            self.server.listen,
            self.server.body_limit_bytes,
            self.server.secure_cookies,
            self.server.workers,
            self.server.tls_cert_file,
            self.server.tls_key_file,
            db_url,
            self.database.max_connections,
            self.database.acquire_timeout_secs,
            self.database.embedded_fallback,
            self.database.embedded_port,
            if self.secrets.key.expose_secret().is_empty() { "" } else { "[redacted]" },
            self.secrets.key_file,
            self.secrets.previous_keys.len(),
            self.auth.session_ttl_hours,
            self.auth.max_failed_logins,
            self.auth.failed_login_window_secs,
            self.metrics.listen.map(|a| a.to_string()).unwrap_or_default(),
        )
    }
}

/// Replace the password of a URL (if any) with `[redacted]`.
pub fn redact_url(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut url) => {
            if url.password().is_some() {
                let _ = url.set_password(Some("redacted"));
            }
            url.to_string()
        }
        Err(_) => "[unparseable url redacted]".to_string(),
    }
}

/// `[metrics]`, `PALISADE__METRICS__*`: `GET /metrics` is always served on the main listener to
/// viewers and above; `listen` serves it on a second address as well, without authentication.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct MetricsSettings {
    /// Also serve `/metrics` (and nothing else) here, over plain HTTP and to anyone who can connect:
    /// bind it only to an interface that scrapers in a trusted network reach (loopback, or a pod
    /// address that a NetworkPolicy limits to Prometheus). Empty or unset: no second listener.
    #[serde(deserialize_with = "empty_as_none")]
    pub listen: Option<SocketAddr>,
}

/// An optional address where an empty string (the way a setting is switched off from the
/// environment) means none.
fn empty_as_none<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<SocketAddr>, D::Error> {
    use serde::de::Error;
    let text: Option<String> = Option::deserialize(d)?;
    match text.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(t) => {
            t.parse().map(Some).map_err(|e| D::Error::custom(format!("`{t}` is not ADDRESS:PORT: {e}")))
        }
    }
}

/// Scheduler settings (`[scheduler]` in the configuration files, `PALISADE__SCHEDULER__*`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct SchedulerSettings {
    /// Run the scheduler in this replica (`false` makes a replica serve the API only).
    pub enabled: bool,
    /// Interval between scans of a cluster without its own schedule.
    pub default_interval_secs: u64,
    /// How often the scheduler looks for due and queued scans.
    pub tick_millis: u64,
    /// Scans this replica runs at the same time.
    pub max_concurrent: usize,
    /// Scans running at the same time across all replicas (0: no fleet-wide limit).
    pub global_max_concurrent: i64,
    /// A lease not renewed for this long is taken over by another replica.
    pub lease_secs: u64,
    /// A scan that takes longer fails with "timed out".
    pub scan_timeout_secs: u64,
    /// Attempts per scan including the first; a failure with attempts left queues a retry.
    pub max_attempts: i32,
    /// A scan whose lease expired this many times (each a takeover) is failed as quarantined
    /// instead of being run again: it crashed or hung every replica that ran it.
    pub max_takeovers: i32,
    /// First retry delay; doubles per attempt up to `retry_max_secs`.
    pub retry_base_secs: u64,
    pub retry_max_secs: u64,
    /// Compressed snapshots kept per cluster (the newest ones).
    pub snapshots_kept: i64,
    /// Per-result detail older than this is pruned; summaries are kept forever. 0: keep all.
    pub retention_days: i64,
    /// Probe each scanned cluster's endpoints (API server, etcd, kubelets, secure and plain-text
    /// ports) through the egress policy after listing it.
    pub probes: bool,
    /// Endpoints probed at once per scan.
    pub probe_concurrency: usize,
    /// Time allowed for each probe exchange, in milliseconds.
    pub probe_timeout_millis: u64,
    /// The port of the nodes' SSH servers, probed at each node's address, for clusters that set
    /// none of their own (0: do not probe SSH).
    pub ssh_port: u16,
}

impl Default for SchedulerSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            default_interval_secs: 3600,
            tick_millis: 1000,
            max_concurrent: 8,
            global_max_concurrent: 0,
            lease_secs: 30,
            scan_timeout_secs: 600,
            max_attempts: 3,
            max_takeovers: 3,
            retry_base_secs: 30,
            retry_max_secs: 900,
            snapshots_kept: 3,
            retention_days: 90,
            probes: true,
            probe_concurrency: 64,
            probe_timeout_millis: 3000,
            ssh_port: 22,
        }
    }
}

/// Outbound connections (`[egress]`, `PALISADE__EGRESS__*`): which addresses Palisade may dial and
/// how much of an answer it reads. Applied by `crate::egress` to every connection it opens.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct EgressSettings {
    /// CIDRs never dialled (a bare address means one host). Wins over `allow`.
    pub deny: Vec<String>,
    /// When not empty, the only CIDRs dialled.
    pub allow: Vec<String>,
    pub connect_timeout_secs: u64,
    /// From the request sent to the answer's headers.
    pub first_byte_timeout_secs: u64,
    /// From the headers to the end of the body.
    pub body_timeout_secs: u64,
    /// Largest answer to `/version`, discovery and single objects, in MiB.
    pub small_response_mib: u64,
    /// Largest page of a list, in MiB.
    pub page_response_mib: u64,
    /// All the answers of one scan together, in MiB.
    pub scan_response_mib: u64,
    /// Answers held in memory at once by this process, across every scan, in MiB.
    pub buffered_mib: u64,
}

/// Link-local and cloud metadata addresses, and "this network".
pub const DEFAULT_EGRESS_DENY: &[&str] =
    &["169.254.0.0/16", "fe80::/10", "169.254.169.254", "fd00:ec2::254", "100.100.100.200", "0.0.0.0/8"];

impl Default for EgressSettings {
    fn default() -> Self {
        Self {
            deny: DEFAULT_EGRESS_DENY.iter().map(|s| s.to_string()).collect(),
            allow: Vec::new(),
            connect_timeout_secs: 10,
            first_byte_timeout_secs: 30,
            body_timeout_secs: 120,
            small_response_mib: 1,
            page_response_mib: 64,
            scan_response_mib: 2048,
            buffered_mib: 256,
        }
    }
}

impl EgressSettings {
    /// Only loopback may be dialled: what tests, benchmarks and the demo use.
    pub fn loopback_only() -> Self {
        Self { allow: vec!["127.0.0.0/8".into(), "::1/128".into()], ..Self::default() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_defaults_load_and_passwords_are_redacted() {
        let dir = tempfile::tempdir().unwrap();
        let settings = Settings::load_from(dir.path()).unwrap();
        assert_eq!(settings.server.body_limit_bytes, 1_048_576);
        assert_eq!(redact_url("postgres://u:hunter2@db/x"), "postgres://u:redacted@db/x");
        assert!(!settings.redacted().contains("hunter2"));
    }

    #[test]
    fn egress_lists_come_comma_separated_from_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        let defaults = Settings::load_from(dir.path()).unwrap();
        assert!(defaults.egress.deny.iter().any(|d| d == "169.254.169.254"), "{:?}", defaults.egress.deny);
        assert!(defaults.egress.allow.is_empty());
        // SAFETY of the environment: these names are read by no other test.
        std::env::set_var("PALISADE__EGRESS__ALLOW", "127.0.0.0/8,::1/128");
        std::env::set_var("PALISADE__EGRESS__DENY", "127.0.0.2/32");
        let settings = Settings::load_from(dir.path());
        std::env::remove_var("PALISADE__EGRESS__ALLOW");
        std::env::remove_var("PALISADE__EGRESS__DENY");
        let settings = settings.unwrap();
        assert_eq!(settings.egress.allow, vec!["127.0.0.0/8", "::1/128"]);
        assert_eq!(settings.egress.deny, vec!["127.0.0.2/32"]);
    }

    #[test]
    fn the_metrics_listener_is_off_unless_an_address_is_set() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Settings::load_from(dir.path()).unwrap().metrics.listen, None);
        let config = |text: &str| {
            std::fs::write(dir.path().join("local.toml"), text).unwrap();
            Settings::load_from(dir.path()).map(|s| s.metrics.listen)
        };
        assert_eq!(config("[metrics]\nlisten = \"\"\n").unwrap(), None);
        assert_eq!(
            config("[metrics]\nlisten = \"127.0.0.1:9464\"\n").unwrap(),
            Some("127.0.0.1:9464".parse().unwrap())
        );
        let err = config("[metrics]\nlisten = \"9464\"\n").unwrap_err();
        assert!(format!("{err:#}").contains("not ADDRESS:PORT"), "{err:#}");
    }
}
