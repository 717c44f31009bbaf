//! Compliance reports: a framework judged over a scope (the fleet, a group or some clusters),
//! with every cluster's own verdict and the scope's score trend, written as HTML (print-ready,
//! with the trend chart as SVG), PDF, CSV (one row per control) or JSON.
//!
//! **PDF** is the HTML report printed by headless Chromium (Debian package `chromium`,
//! `[reports] chromium`): the same document, charts included, with no second layout to keep in
//! step, and nothing downloaded at build or run time. Chromium runs with every network request
//! refused (the report has no external reference anyway), in a fresh profile, under a deadline.
//!
//! Reports are made on demand (`POST /api/v1/reports`) or by a definition on its schedule: every
//! replica looks for due definitions every `[reports] tick_secs` and takes one at a time with
//! `FOR UPDATE SKIP LOCKED`, so a definition runs once per due time however many replicas run.

use std::time::{Duration, Instant};

use askama::Template;
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::ui::chart::{line_chart, Chart};
use super::ui::findings::csv_cell;
use super::AppState;
use crate::frameworks::compliance::{evaluate, ComplianceTotals, FrameworkCompliance};
use crate::frameworks::registry::{self, Framework};
use crate::registry::Schedule;
use crate::store::compliance::{check_counts, check_counts_by_cluster, Scope};
use crate::store::reports::{self, NewReport, Report, ReportDefinition, ReportScope};
use crate::store::trends::{self, Metric, SplitBy, TrendQuery};
use crate::store::StoreError;

/// A report's file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReportFormat {
    Html,
    Pdf,
    Csv,
    Json,
}

impl ReportFormat {
    pub const ALL: [ReportFormat; 4] =
        [ReportFormat::Html, ReportFormat::Pdf, ReportFormat::Csv, ReportFormat::Json];

    pub fn as_str(self) -> &'static str {
        match self {
            ReportFormat::Html => "html",
            ReportFormat::Pdf => "pdf",
            ReportFormat::Csv => "csv",
            ReportFormat::Json => "json",
        }
    }

    pub fn parse(s: &str) -> Option<ReportFormat> {
        ReportFormat::ALL.into_iter().find(|f| f.as_str() == s)
    }

    pub fn content_type(self) -> &'static str {
        match self {
            ReportFormat::Html => "text/html; charset=utf-8",
            ReportFormat::Pdf => "application/pdf",
            ReportFormat::Csv => "text/csv; charset=utf-8",
            ReportFormat::Json => "application/json",
        }
    }
}

/// Why a report could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Invalid(String),
    /// Rendering failed (the template, or Chromium for a PDF).
    #[error("{0}")]
    Render(String),
}

/// One cluster's line of a report.
#[derive(Debug, Clone, Serialize)]
pub struct ClusterLine {
    pub id: Uuid,
    pub name: String,
    pub group: Option<String>,
    pub score: Option<f64>,
    pub last_scanned_at: Option<DateTime<Utc>>,
    pub compliance: ComplianceTotals,
}

/// Everything a report shows, whatever its format (the JSON format is this).
#[derive(Debug, Clone, Serialize)]
pub struct ReportData {
    pub title: String,
    pub scope: ReportScope,
    /// The scope in words.
    pub scope_text: String,
    pub generated_at: DateTime<Utc>,
    /// The framework judged over the whole scope.
    pub compliance: FrameworkCompliance,
    pub clusters: Vec<ClusterLine>,
    /// The scope's daily mean score over the last 30 days.
    pub trend: Vec<trends::Point>,
}

fn store_scope(scope: &ReportScope) -> Scope {
    match scope {
        ReportScope::Fleet => Scope::default(),
        ReportScope::Group { group } => Scope { group: Some(group.clone()), ..Default::default() },
        ReportScope::Clusters { clusters } => Scope { clusters: clusters.clone(), ..Default::default() },
    }
}

fn scope_text(scope: &ReportScope, clusters: usize) -> String {
    match scope {
        ReportScope::Fleet => format!("the fleet ({clusters} clusters)"),
        ReportScope::Group { group } => format!("group {group} ({clusters} clusters)"),
        ReportScope::Clusters { .. } => format!("{clusters} selected clusters"),
    }
}

/// Read what a report shows.
pub async fn gather(
    state: &AppState,
    framework: &Framework,
    scope: &ReportScope,
) -> Result<ReportData, ReportError> {
    let title_of =
        |check: &str| crate::checks::find(check).map(|c| c.meta.title.to_string()).unwrap_or_default();
    let s = store_scope(scope);
    let whole = check_counts(&state.pool, &s).await?;
    let compliance = evaluate(framework, &whole.checks, whole.scanned, &title_of);
    let per_cluster = check_counts_by_cluster(&state.pool, &s).await?;
    let clusters: Vec<ClusterLine> = per_cluster
        .iter()
        .map(|c| ClusterLine {
            id: c.id,
            name: c.name.clone(),
            group: c.group.clone(),
            score: c.score,
            last_scanned_at: c.last_result_at,
            compliance: evaluate(framework, &c.checks, u64::from(c.last_result_at.is_some()), &title_of)
                .summary,
        })
        .collect();
    let now = Utc::now();
    let day = chrono::Duration::days(1);
    // Whole UTC days, today's included (the trends bucket days from midnight).
    let midnight = now.date_naive().and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
    let query = TrendQuery {
        metric: Metric::Score,
        by: SplitBy::Fleet,
        from: midnight - day * 29,
        to: midnight + day,
        step: day,
        clusters: s.clusters.clone(),
        group: s.group.clone(),
    };
    let trend =
        trends::trend(&state.pool, &query).await?.into_iter().next().map(|s| s.points).unwrap_or_default();
    Ok(ReportData {
        title: format!("{} compliance of {}", framework.name, scope_text(scope, clusters.len())),
        scope_text: scope_text(scope, clusters.len()),
        scope: scope.clone(),
        generated_at: now,
        compliance,
        clusters,
        trend,
    })
}

#[derive(Template)]
#[template(path = "report.html")]
struct ReportPage<'a> {
    title: &'a str,
    data: &'a ReportData,
    chart: Chart,
}

/// The print-ready HTML document.
pub fn html(data: &ReportData) -> Result<String, ReportError> {
    let series =
        trends::Series { key: "fleet".into(), label: data.scope_text.clone(), points: data.trend.clone() };
    let chart = line_chart(&[series], Some(100.0), "mean score (%)", "%");
    ReportPage { title: &data.title, data, chart }.render().map_err(|e| ReportError::Render(e.to_string()))
}

/// One row per control of the framework, judged over the scope.
pub fn csv(data: &ReportData) -> String {
    let mut out =
        String::from("control,title,section,type,status,reason,checks,failing_results,clusters_failing\r\n");
    for c in &data.compliance.controls {
        let checks: Vec<&str> = c.checks.iter().map(|k| k.id.as_str()).collect();
        let failing: u64 = c.checks.iter().map(|k| k.results.fail).sum();
        let clusters: u64 = c.checks.iter().map(|k| k.results.clusters_failing).max().unwrap_or(0);
        let kind = serde_json::to_value(c.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let cells = [
            c.id.clone(),
            c.title.clone(),
            c.section.clone().unwrap_or_default(),
            kind,
            c.status.as_str().to_string(),
            c.reason.clone(),
            checks.join(" "),
            failing.to_string(),
            clusters.to_string(),
        ];
        out.push_str(&cells.iter().map(|v| csv_cell(v)).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
    }
    out
}

/// Whether this process runs as root (Chromium's sandbox cannot start as root).
fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("Uid:")).map(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

/// Print an HTML document to PDF with headless Chromium.
pub async fn pdf(chromium: &str, html: &str, deadline: Duration) -> Result<Vec<u8>, ReportError> {
    let dir = std::env::temp_dir().join(format!("palisade-report-{}", Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir)
        .map_err(|e| ReportError::Render(format!("cannot make a work directory: {e}")))?;
    let (input, output) = (dir.join("report.html"), dir.join("report.pdf"));
    let result = async {
        std::fs::write(&input, html).map_err(|e| ReportError::Render(format!("cannot write the HTML: {e}")))?;
        let mut cmd = tokio::process::Command::new(chromium);
        cmd.arg("--headless")
            .arg("--disable-gpu")
            .arg("--no-first-run")
            .arg("--disable-extensions")
            .arg("--no-pdf-header-footer")
            // Nothing may leave the machine: every name resolves nowhere, every request goes to
            // a proxy that does not exist.
            .arg("--host-resolver-rules=MAP * ~NOTFOUND")
            .arg("--proxy-server=127.0.0.1:9")
            .arg(format!("--user-data-dir={}", dir.join("profile").display()))
            .arg(format!("--print-to-pdf={}", output.display()))
            .arg(format!("file://{}", input.display()))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true);
        if is_root() {
            cmd.arg("--no-sandbox");
        }
        let child = cmd.spawn().map_err(|e| {
            ReportError::Render(format!("cannot start `{chromium}` to print the PDF ({e}); install the `chromium` package or set [reports] chromium"))
        })?;
        let out = tokio::time::timeout(deadline, child.wait_with_output())
            .await
            .map_err(|_| ReportError::Render(format!("Chromium did not print the PDF within {} s", deadline.as_secs())))?
            .map_err(|e| ReportError::Render(format!("Chromium failed: {e}")))?;
        match std::fs::read(&output) {
            Ok(bytes) if bytes.starts_with(b"%PDF") => Ok(bytes),
            _ => {
                let err = String::from_utf8_lossy(&out.stderr);
                let last = err.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("no output");
                Err(ReportError::Render(format!("Chromium printed no PDF (exit {}): {last}", out.status)))
            }
        }
    }
    .await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// Render `data` in `format`.
pub async fn render(
    state: &AppState,
    data: &ReportData,
    format: ReportFormat,
) -> Result<Vec<u8>, ReportError> {
    Ok(match format {
        ReportFormat::Json => {
            serde_json::to_vec_pretty(data).map_err(|e| ReportError::Render(e.to_string()))?
        }
        ReportFormat::Csv => csv(data).into_bytes(),
        ReportFormat::Html => html(data)?.into_bytes(),
        ReportFormat::Pdf => {
            let s = &state.settings.reports;
            pdf(&s.chromium, &html(data)?, Duration::from_secs(s.pdf_timeout_secs)).await?
        }
    })
}

/// Look up a framework by id.
pub fn framework(id: &str) -> Result<&'static Framework, ReportError> {
    registry::get(id).ok_or_else(|| {
        ReportError::NotFound(format!("no framework `{id}`; GET /api/v1/frameworks lists them"))
    })
}

/// Make and store one report per format (the data read once).
pub async fn generate(
    state: &AppState,
    framework_id: &str,
    scope: &ReportScope,
    formats: &[ReportFormat],
    definition_id: Option<Uuid>,
    created_by: &str,
) -> Result<Vec<Report>, ReportError> {
    let fw = framework(framework_id)?;
    let t = Instant::now();
    let data = gather(state, fw, scope).await?;
    let gathered = t.elapsed();
    let mut bodies = Vec::with_capacity(formats.len());
    for &format in formats {
        let t = Instant::now();
        let body = render(state, &data, format).await?;
        bodies.push((format, body, (gathered + t.elapsed()).as_millis() as i32));
    }
    let mut tx = state.pool.begin().await.map_err(StoreError::from)?;
    let mut out = Vec::new();
    for (format, body, ms) in &bodies {
        out.push(
            reports::insert_report(
                &mut tx,
                &NewReport {
                    definition_id,
                    title: &data.title,
                    framework: &fw.id,
                    scope,
                    format: format.as_str(),
                    content_type: format.content_type(),
                    body,
                    generation_ms: *ms,
                    created_by,
                },
            )
            .await?,
        );
    }
    tx.commit().await.map_err(StoreError::from)?;
    Ok(out)
}

/// The next time a definition's crontab line fires after `now`.
pub fn next_run(cron: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, ReportError> {
    let schedule = Schedule::parse(None, Some(cron), Duration::from_secs(86_400))
        .map_err(|e| ReportError::Invalid(e.to_string()))?;
    Ok(schedule.next_after(now))
}

fn formats_of(d: &ReportDefinition) -> Vec<ReportFormat> {
    d.formats.iter().filter_map(|f| ReportFormat::parse(f)).collect()
}

/// Run every due definition (one at a time, each locked while it runs); answers how many ran.
pub async fn run_due(state: &AppState) -> Result<usize, ReportError> {
    let mut ran = 0;
    loop {
        let mut tx = state.pool.begin().await.map_err(StoreError::from)?;
        let Some(def) = reports::claim_due(&mut tx).await? else { return Ok(ran) };
        let result =
            generate(state, &def.framework, &def.scope, &formats_of(&def), Some(def.id), "schedule").await;
        let next = next_run(&def.cron, Utc::now()).unwrap_or_else(|_| Utc::now() + chrono::Duration::days(1));
        let error = result.as_ref().err().map(|e| e.to_string());
        if let Some(e) = &error {
            tracing::warn!(definition = %def.id, error = %e, "a scheduled report failed");
        }
        reports::finish_run(&mut tx, def.id, next, error.as_deref()).await?;
        tx.commit().await.map_err(StoreError::from)?;
        ran += 1;
    }
}

/// Look for due definitions every `every`, for as long as the server runs.
pub fn spawn_schedule(state: AppState, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every.max(Duration::from_millis(100)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = run_due(&state).await {
                tracing::warn!(error = %crate::telemetry::Chain(&e), "cannot run due reports");
            }
        }
    })
}

/// Per-status counts of a report's clusters, for the HTML (how many clusters fail anything).
pub fn clusters_failing(data: &ReportData) -> usize {
    data.clusters.iter().filter(|c| c.compliance.fail > 0).count()
}

/// A percentage as the report prints it (`—` when there is none).
pub fn pct(p: &Option<f64>) -> String {
    p.map(|p| format!("{p:.1} %")).unwrap_or_else(|| "—".into())
}
