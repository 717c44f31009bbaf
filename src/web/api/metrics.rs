//! `GET /metrics`: the fleet's posture and the scan machinery in the Prometheus text exposition
//! format (version 0.0.4), for a viewer or higher on the main listener, or without credentials on
//! the separate `[metrics] listen` address (see [`configure_listener`]).
//!
//! Families (HELP and TYPE for each, every label value escaped):
//! - `palisade_build_info{version}`, `palisade_clusters`;
//! - per live cluster with results, labelled `cluster` and `group` (empty without one):
//!   `palisade_cluster_score`, `palisade_cluster_last_scan_timestamp_seconds`, and
//!   `palisade_cluster_findings{area, severity}` for every area and severity (zeros included, so a
//!   fixed finding shows as 0 rather than a vanished series);
//! - `palisade_scans_total{outcome}` and the histogram `palisade_scan_duration_seconds{outcome}`,
//!   cumulative since the database was created (counters: use `rate()`/`increase()`);
//! - `palisade_scan_queue_depth`, `palisade_scan_queue_wait_seconds`,
//!   `palisade_scan_retries_waiting`, `palisade_scans_running`, `palisade_scan_leases_expired`.
//!
//! Every figure comes from PostgreSQL, so every replica answers the same. Nothing secret is a label:
//! cluster and group names only, never a server URL, credential or label value.

use std::fmt::{Display, Write};

use actix_web::{get, web, HttpResponse};

use crate::domain::{Area, Role, Severity};
use crate::store::metrics::{self, Metrics};
use crate::web::auth::Authenticated;
use crate::web::error::ApiError;
use crate::web::AppState;

/// The exposition format's media type.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Metrics in the Prometheus text format.
///
/// Needs the viewer role or higher. Servers configured with `[metrics] listen` also serve it
/// there without credentials, for scrapers in a trusted network.
#[utoipa::path(tag = "metrics", responses(
    (status = 200, description = "The metrics (Prometheus text exposition format 0.0.4)",
     content_type = "text/plain; version=0.0.4; charset=utf-8", body = String),
    (status = 401, body = crate::web::error::Problem),
))]
#[get("/metrics")]
pub async fn get_metrics(state: web::Data<AppState>, who: Authenticated) -> Result<HttpResponse, ApiError> {
    who.require(Role::Viewer)?;
    scrape(&state).await
}

/// The separate listener's only route: `GET /metrics` without credentials. Everything else is
/// a plain 404.
pub fn configure_listener(cfg: &mut web::ServiceConfig) {
    cfg.route("/metrics", web::get().to(|state: web::Data<AppState>| async move { scrape(&state).await }))
        .default_service(web::to(|| async {
            HttpResponse::NotFound().content_type("text/plain; charset=utf-8").body("404 Not Found\n")
        }));
}

#[tracing::instrument(skip_all)]
async fn scrape(state: &AppState) -> Result<HttpResponse, ApiError> {
    let m = metrics::read(&state.pool).await?;
    Ok(HttpResponse::Ok()
        .content_type(CONTENT_TYPE)
        .insert_header(("Cache-Control", "no-store"))
        .body(render(&m)))
}

/// The text exposition of `m`.
pub fn render(m: &Metrics) -> String {
    // About 90 bytes a line; the findings are 25 lines per cluster.
    let mut out = Exposition(String::with_capacity(4096 + m.clusters.len() * 27 * 96));
    out.family("palisade_build_info", "gauge", "Always 1; the version of the Palisade server answering.");
    out.sample("palisade_build_info", &[("version", env!("CARGO_PKG_VERSION"))], 1);
    out.family("palisade_clusters", "gauge", "Registered clusters (not deleted), with or without results.");
    out.sample("palisade_clusters", NO_LABELS, m.clusters.len());

    let scanned: Vec<_> = m.clusters.iter().filter(|c| c.last_result_at.is_some()).collect();
    out.family(
        "palisade_cluster_score",
        "gauge",
        "Score of the cluster's newest results in percent (0-100, see docs/scoring.md); absent until a \
         scan decided something.",
    );
    for c in &scanned {
        if let Some(score) = c.score.filter(|s| s.is_finite()) {
            out.sample("palisade_cluster_score", &cluster_labels(c), score);
        }
    }
    out.family(
        "palisade_cluster_last_scan_timestamp_seconds",
        "gauge",
        "When the cluster's newest results were stored (succeeded or partial scan), in Unix seconds.",
    );
    for c in &scanned {
        if let Some(at) = c.last_result_at {
            out.sample(
                "palisade_cluster_last_scan_timestamp_seconds",
                &cluster_labels(c),
                at.timestamp_micros() as f64 / 1e6,
            );
        }
    }
    out.family(
        "palisade_cluster_findings",
        "gauge",
        "Failing findings (a check failing on a resource) in the cluster's newest results, by area and severity.",
    );
    for c in &scanned {
        let [cluster, group] = cluster_labels(c);
        let grid = m.failing.get(&c.id);
        for (a, area) in Area::ALL.iter().enumerate() {
            for (s, severity) in Severity::ALL.iter().enumerate() {
                let n = grid.map_or(0, |g| g[a][s]);
                out.sample(
                    "palisade_cluster_findings",
                    &[cluster, group, ("area", area.as_str()), ("severity", severity.as_str())],
                    n,
                );
            }
        }
    }

    out.family(
        "palisade_scans_total",
        "counter",
        "Scans that ended, by outcome (succeeded, partial: some evidence missing, failed), since the \
         database was created; each attempt of a retried scan counts.",
    );
    for o in &m.outcomes {
        out.sample("palisade_scans_total", &[("outcome", o.outcome.as_str())], o.scans);
    }
    out.family(
        "palisade_scan_duration_seconds",
        "histogram",
        "How long scans ran, from their last start (a takeover restarts a scan) to their end, by \
         outcome, since the database was created.",
    );
    for o in &m.outcomes {
        let outcome = ("outcome", o.outcome.as_str());
        let mut cumulative = 0;
        for (i, n) in o.buckets.iter().enumerate() {
            cumulative += n;
            let le = o.bounds.get(i).map_or_else(|| "+Inf".to_string(), |b| b.to_string());
            out.sample("palisade_scan_duration_seconds_bucket", &[outcome, ("le", le.as_str())], cumulative);
        }
        out.sample("palisade_scan_duration_seconds_sum", &[outcome], o.seconds_sum);
        out.sample("palisade_scan_duration_seconds_count", &[outcome], o.timed);
    }

    let q = &m.queue;
    out.family(
        "palisade_scan_queue_depth",
        "gauge",
        "Queued scans that may start now (the schedulers take them next).",
    );
    out.sample("palisade_scan_queue_depth", NO_LABELS, q.due);
    out.family(
        "palisade_scan_queue_wait_seconds",
        "gauge",
        "How long the longest-waiting scan that may start has waited since it could (0 when none waits).",
    );
    out.sample("palisade_scan_queue_wait_seconds", NO_LABELS, q.oldest_due_seconds);
    out.family(
        "palisade_scan_retries_waiting",
        "gauge",
        "Queued scans that may not start yet: retries of failed scans waiting out their backoff.",
    );
    out.sample("palisade_scan_retries_waiting", NO_LABELS, q.waiting);
    out.family("palisade_scans_running", "gauge", "Running scans whose replica holds a live lease.");
    out.sample("palisade_scans_running", NO_LABELS, q.running);
    out.family(
        "palisade_scan_leases_expired",
        "gauge",
        "Running scans whose lease expired (their replica stopped renewing it); another replica takes \
         them over, or quarantines them after too many takeovers.",
    );
    out.sample("palisade_scan_leases_expired", NO_LABELS, q.leases_expired);
    out.0
}

/// A cluster's identity labels: its name and group (empty without one).
fn cluster_labels(c: &metrics::ClusterRow) -> [(&'static str, &str); 2] {
    [("cluster", c.name.as_str()), ("group", c.group.as_deref().unwrap_or(""))]
}

const NO_LABELS: &[(&str, &str)] = &[];

/// A text exposition being written.
struct Exposition(String);

impl Exposition {
    /// The HELP and TYPE lines that open a family; its samples follow.
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let help = help.replace('\\', "\\\\").replace('\n', "\\n");
        let _ = writeln!(self.0, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl Display) {
        self.0.push_str(name);
        if !labels.is_empty() {
            self.0.push('{');
            for (i, (key, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.0.push(',');
                }
                self.0.push_str(key);
                self.0.push_str("=\"");
                escape_label_value(&mut self.0, v);
                self.0.push('"');
            }
            self.0.push('}');
        }
        let _ = writeln!(self.0, " {value}");
    }
}

/// A label value as the exposition format writes it: backslash, double quote and line feed escaped.
fn escape_label_value(out: &mut String, value: &str) {
    for ch in value.chars() {
        match ch {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    use crate::store::metrics::{ClusterRow, OutcomeTotals, QueueRow};

    fn cluster(name: &str, group: Option<&str>, score: Option<f32>, scanned: bool) -> ClusterRow {
        ClusterRow {
            id: Uuid::new_v4(),
            name: name.into(),
            group: group.map(Into::into),
            score,
            last_result_at: scanned.then(|| "2024-05-01T12:00:00.250Z".parse().unwrap()),
        }
    }

    #[test]
    fn label_values_escape_backslash_quote_and_newline() {
        let mut out = String::new();
        escape_label_value(&mut out, "a\\b\"c\nd");
        assert_eq!(out, r#"a\\b\"c\nd"#);
    }

    #[test]
    fn the_exposition_holds_every_family_once_with_zeros_and_cumulative_buckets() {
        let a = cluster("prod", Some("pay\"ments"), Some(87.3), true);
        let m = Metrics {
            failing: [(a.id, {
                let mut grid = [[0; 5]; 5];
                grid[2][4] = 4; // authz, critical
                grid
            })]
            .into(),
            clusters: vec![a, cluster("new", None, None, false), cluster("undecided", None, None, true)],
            queue: QueueRow { due: 2, waiting: 1, running: 3, leases_expired: 1, oldest_due_seconds: 1.5 },
            outcomes: vec![OutcomeTotals {
                outcome: "succeeded".into(),
                scans: 3,
                timed: 3,
                seconds_sum: 12.5,
                buckets: vec![1, 0, 2],
                bounds: vec![1.0, 2.5],
            }],
        };
        let text = render(&m);
        for line in [
            "palisade_clusters 3",
            r#"palisade_cluster_score{cluster="prod",group="pay\"ments"} 87.3"#,
            r#"palisade_cluster_last_scan_timestamp_seconds{cluster="prod",group="pay\"ments"} 1714564800.25"#,
            r#"palisade_cluster_findings{cluster="prod",group="pay\"ments",area="authz",severity="critical"} 4"#,
            r#"palisade_cluster_findings{cluster="prod",group="pay\"ments",area="host",severity="info"} 0"#,
            r#"palisade_cluster_findings{cluster="undecided",group="",area="tls",severity="high"} 0"#,
            r#"palisade_scan_duration_seconds_bucket{outcome="succeeded",le="1"} 1"#,
            r#"palisade_scan_duration_seconds_bucket{outcome="succeeded",le="2.5"} 1"#,
            r#"palisade_scan_duration_seconds_bucket{outcome="succeeded",le="+Inf"} 3"#,
            r#"palisade_scan_duration_seconds_count{outcome="succeeded"} 3"#,
            "palisade_scan_queue_depth 2",
            "palisade_scan_leases_expired 1",
        ] {
            assert!(text.lines().any(|l| l == line), "no line `{line}` in:\n{text}");
        }
        // A cluster without results has no series; one whose results decided nothing has no score.
        assert!(!text.contains(r#"cluster="new""#), "{text}");
        assert!(!text.contains(r#"palisade_cluster_score{cluster="undecided""#), "{text}");
        assert_eq!(text.matches("palisade_cluster_findings{").count(), 2 * 25);
        assert_eq!(text.matches("# TYPE ").count(), text.matches("# HELP ").count());
    }
}
