//! Delivering reports (a node agent's, a cluster agent's): each report is written to the spool directory first (atomically),
//! then the spool is sent oldest first. A report leaves the spool when the server stored it, when
//! the server already had it (a duplicate: sent before, the answer lost), or when the server
//! refuses it for good (stale, malformed, too large: resending cannot help; the reason is logged).
//! On a connection error, a 5xx or a 401 (a token being rotated) the rest waits for the next
//! round, with backoff. The spool keeps at most `max_spooled` reports, dropping the oldest.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::snapshot::host::{ClusterReport, NodeReport};

/// What the spool holds: a report with an id (the server recognizes one sent twice) and a
/// collection time (the spool sends oldest first).
pub trait Report: serde::Serialize {
    fn report_id(&self) -> Uuid;
    fn collected_at(&self) -> DateTime<Utc>;
}

impl Report for NodeReport {
    fn report_id(&self) -> Uuid {
        self.report_id
    }
    fn collected_at(&self) -> DateTime<Utc> {
        self.collected_at
    }
}

impl Report for ClusterReport {
    fn report_id(&self) -> Uuid {
        self.report_id
    }
    fn collected_at(&self) -> DateTime<Utc> {
        self.collected_at
    }
}

/// The node agent's ingest path.
pub const NODE_ENDPOINT: &str = "/api/v1/ingest/node";
/// The cluster agent's ingest path.
pub const CLUSTER_ENDPOINT: &str = "/api/v1/ingest/cluster";

/// Where and how to send.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// The server's base URL (`https://palisade.example:8443`).
    pub server: String,
    /// The cluster's agent token (`pla_…`).
    pub token: String,
    /// PEM CA that the server's certificate must chain to (default: the system roots).
    pub ca_pem: Option<String>,
    /// The ingest path reports are posted to ([`NODE_ENDPOINT`], [`CLUSTER_ENDPOINT`]).
    pub endpoint: &'static str,
    /// Spool and send reports gzip-compressed (`Content-Encoding: gzip`): a cluster's snapshot
    /// shrinks about tenfold.
    pub gzip: bool,
    pub spool: PathBuf,
    pub max_spooled: usize,
    pub timeout: Duration,
}

/// What one attempt to empty the spool did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Flushed {
    pub delivered: usize,
    /// Already stored by the server (sent before).
    pub duplicates: usize,
    /// Refused for good, with the server's reason.
    pub refused: Vec<String>,
    /// Still spooled (the server is away).
    pub waiting: usize,
    /// Why the rest is waiting.
    pub error: Option<String>,
}

/// Put a report in the spool (write, fsync, rename), dropping the oldest beyond the bound.
pub fn spool(d: &Delivery, report: &impl Report) -> std::io::Result<PathBuf> {
    use std::io::Write;
    std::fs::create_dir_all(&d.spool)?;
    let name = format!(
        "{}-{}.{}",
        report.collected_at().format("%Y%m%dT%H%M%S%.6fZ"),
        report.report_id(),
        if d.gzip { "json.gz" } else { "json" }
    );
    let path = d.spool.join(&name);
    let tmp = d.spool.join(format!(".{name}.tmp"));
    {
        let f = std::fs::File::create(&tmp)?;
        let json = serde_json::to_vec(report).map_err(std::io::Error::other)?;
        let f = if d.gzip {
            let mut gz = flate2::write::GzEncoder::new(f, flate2::Compression::fast());
            gz.write_all(&json)?;
            gz.finish()?
        } else {
            let mut f = f;
            f.write_all(&json)?;
            f
        };
        f.sync_all()?;
    }
    std::fs::rename(&tmp, &path)?;
    let mut all = spooled(&d.spool)?;
    while all.len() > d.max_spooled.max(1) {
        let oldest = all.remove(0);
        tracing::warn!(file = %oldest.display(), "spool full: dropping the oldest report");
        let _ = std::fs::remove_file(oldest);
    }
    Ok(path)
}

/// Spooled reports, oldest first (their names start with the collection time).
pub fn spooled(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(rd) => rd
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .map(|n| n.to_string_lossy())
                    .is_some_and(|n| (n.ends_with(".json") || n.ends_with(".json.gz")) && !n.starts_with('.'))
            })
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(e),
    };
    files.sort();
    Ok(files)
}

fn client(d: &Delivery) -> Result<reqwest::Client, String> {
    let mut b = reqwest::Client::builder()
        .timeout(d.timeout)
        .user_agent(concat!("palisade-agent/", env!("CARGO_PKG_VERSION")));
    if let Some(pem) = &d.ca_pem {
        let ca = reqwest::Certificate::from_pem(pem.as_bytes())
            .map_err(|e| format!("the CA file is not PEM: {e}"))?;
        b = b.add_root_certificate(ca);
    }
    b.build().map_err(|e| format!("cannot build the HTTP client: {e}"))
}

/// Send what is spooled, oldest first, until the server is unreachable.
pub async fn flush(d: &Delivery) -> Flushed {
    let mut out = Flushed::default();
    let files = match spooled(&d.spool) {
        Ok(f) => f,
        Err(e) => {
            out.error = Some(format!("cannot read the spool {}: {e}", d.spool.display()));
            return out;
        }
    };
    let http = match client(d) {
        Ok(c) => c,
        Err(e) => {
            out.waiting = files.len();
            out.error = Some(e);
            return out;
        }
    };
    let url = format!("{}{}", d.server.trim_end_matches('/'), d.endpoint);
    for (i, path) in files.iter().enumerate() {
        let Ok(body) = std::fs::read(path) else { continue };
        let mut request =
            http.post(&url).bearer_auth(&d.token).header(reqwest::header::CONTENT_TYPE, "application/json");
        if path.to_string_lossy().ends_with(".gz") {
            request = request.header(reqwest::header::CONTENT_ENCODING, "gzip");
        }
        let sent = request.body(body).send().await;
        let response = match sent {
            Ok(r) => r,
            Err(e) => {
                out.waiting = files.len() - i;
                out.error = Some(format!("cannot reach {url}: {}", crate::telemetry::Chain(&e)));
                return out;
            }
        };
        let status = response.status().as_u16();
        let detail = response
            .json::<serde_json::Value>()
            .await
            .ok()
            .and_then(|v| v.get("detail").and_then(|d| d.as_str()).map(str::to_string))
            .unwrap_or_default();
        match status {
            200..=299 => out.delivered += 1,
            409 if detail.starts_with("duplicate") => out.duplicates += 1,
            400 | 409 | 413 | 415 | 422 => {
                tracing::error!(%status, %detail, file = %path.display(), "the server refused a report for good; dropped");
                out.refused.push(format!("{status}: {detail}"));
            }
            _ => {
                out.waiting = files.len() - i;
                out.error = Some(format!("{url} answered {status}: {detail}"));
                return out;
            }
        }
        let _ = std::fs::remove_file(path);
    }
    out
}
