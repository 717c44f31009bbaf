//! Delivering node reports: each report is written to the spool directory first (atomically),
//! then the spool is sent oldest first. A report leaves the spool when the server stored it, when
//! the server already had it (a duplicate: sent before, the answer lost), or when the server
//! refuses it for good (stale, malformed, too large: resending cannot help; the reason is logged).
//! On a connection error, a 5xx or a 401 (a token being rotated) the rest waits for the next
//! round, with backoff. The spool keeps at most `max_spooled` reports, dropping the oldest.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::snapshot::host::NodeReport;

/// Where and how to send.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// The server's base URL (`https://palisade.example:8443`).
    pub server: String,
    /// The cluster's agent token (`pla_…`).
    pub token: String,
    /// PEM CA that the server's certificate must chain to (default: the system roots).
    pub ca_pem: Option<String>,
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
pub fn spool(d: &Delivery, report: &NodeReport) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(&d.spool)?;
    let name = format!("{}-{}.json", report.collected_at.format("%Y%m%dT%H%M%S%.6fZ"), report.report_id);
    let path = d.spool.join(&name);
    let tmp = d.spool.join(format!(".{name}.tmp"));
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&serde_json::to_vec(report).map_err(std::io::Error::other)?)?;
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
                p.extension().is_some_and(|e| e == "json")
                    && !p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.'))
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
    let url = format!("{}/api/v1/ingest/node", d.server.trim_end_matches('/'));
    for (i, path) in files.iter().enumerate() {
        let Ok(body) = std::fs::read(path) else { continue };
        let sent = http
            .post(&url)
            .bearer_auth(&d.token)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await;
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
