//! A cluster's page `/clusters/{id}`: its five areas with the failing checks grouped by check, the
//! failing resources (one row each, checks as tags), scan history, "Scan now" with live progress
//! (`/static/scan.js` polls `/clusters/{id}/scan.json`; without JavaScript the page shows the
//! state on reload), what the newest results opened and resolved, certificates and agents; and
//! the diff page `/clusters/{id}/diff?from=SCAN&to=SCAN` between any two scans with results.

use actix_web::http::header;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use askama::Template;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{fmt_opt_time, page, see_other, ui_user, CsrfForm, PageContext, UiError};
use crate::domain::{Area, Role};
use crate::history::ChangeKind;
use crate::store::clusters::{self, Cluster};
use crate::store::dashboard::{self, ExplorerFilter, OpenCheck, RecentChange, ResourceRisks};
use crate::store::findings::{self, DiffEntry};
use crate::store::scans::{self, ScanRow};
use crate::web::AppState;

/// Scans shown in the history.
const HISTORY: i64 = 20;
/// Failing resources listed on the page (the findings explorer has them all).
const RESOURCES: i64 = 50;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(cluster_page).service(scan_now).service(scan_status).service(diff_page).service(scan_js);
}

async fn cluster_or_404(state: &AppState, id: Uuid) -> Result<Cluster, UiError> {
    clusters::get(&state.pool, id)
        .await?
        .ok_or_else(|| UiError::not_found(format!("no cluster with id {id}")))
}

/// One area with its open checks.
pub struct AreaSection {
    pub area: &'static str,
    pub checks: Vec<OpenCheck>,
}

/// A scan in the history, as shown.
pub struct ScanLine {
    pub id: Uuid,
    pub state: String,
    pub trigger: String,
    pub when: String,
    pub score: Option<f32>,
    pub failures: Option<i32>,
    pub error: Option<String>,
    pub has_results: bool,
}

impl From<&ScanRow> for ScanLine {
    fn from(s: &ScanRow) -> Self {
        ScanLine {
            id: s.id,
            state: s.state.clone(),
            trigger: s.trigger.clone(),
            when: fmt_opt_time(&Some(s.finished_at.or(s.started_at).unwrap_or(s.queued_at))),
            score: s.score,
            failures: s.failures,
            error: s.error.clone(),
            has_results: s.result_seq.is_some() && !s.detail_pruned,
        }
    }
}

/// The live state of a cluster's newest scan (the JSON the progress script polls).
#[derive(Debug, Clone, Serialize)]
pub struct ScanStatus {
    pub scan_id: Option<Uuid>,
    /// `queued`, `running`, `succeeded`, `partial`, `failed`; `none` before any scan.
    pub state: String,
    /// True while queued or running.
    pub active: bool,
    pub phase: Option<String>,
    pub done: Option<u64>,
    pub total: Option<u64>,
    pub error: Option<String>,
    /// A sentence saying all of the above.
    pub text: String,
}

impl ScanStatus {
    fn of(scan: Option<&ScanRow>) -> ScanStatus {
        let Some(s) = scan else {
            return ScanStatus {
                scan_id: None,
                state: "none".into(),
                active: false,
                phase: None,
                done: None,
                total: None,
                error: None,
                text: "Never scanned.".into(),
            };
        };
        let progress = s.progress.as_ref().map(|p| p.0.clone());
        let active = matches!(s.state.as_str(), "queued" | "running");
        let text = match (s.state.as_str(), &progress) {
            ("queued", _) => "Scan queued; waiting for a scanner.".to_string(),
            ("running", Some(p)) => match p.total {
                Some(t) => format!("Scan running: {} ({} of {t}).", p.phase, p.done),
                None => format!("Scan running: {} ({} done).", p.phase, p.done),
            },
            ("running", None) => "Scan running.".to_string(),
            ("failed", _) => format!("Last scan failed: {}", s.error.as_deref().unwrap_or("no reason given")),
            (other, _) => format!("Last scan {other} at {}.", fmt_opt_time(&s.finished_at)),
        };
        ScanStatus {
            scan_id: Some(s.id),
            state: s.state.clone(),
            active,
            phase: progress.as_ref().map(|p| p.phase.clone()),
            done: progress.as_ref().map(|p| p.done),
            total: progress.and_then(|p| p.total),
            error: s.error.clone(),
            text,
        }
    }
}

#[derive(Template)]
#[template(path = "cluster.html")]
struct ClusterPage {
    ctx: PageContext,
    cluster: Cluster,
    score: Option<f32>,
    areas: Vec<AreaSection>,
    resources: Vec<ResourceRisks>,
    resource_count: i64,
    history: Vec<ScanLine>,
    status: ScanStatus,
    opened: Vec<RecentChange>,
    resolved: Vec<RecentChange>,
    /// The newest results are the cluster's first.
    first_results: bool,
    latest_id: Option<Uuid>,
    previous_id: Option<Uuid>,
    notice: Option<String>,
    agents: Vec<AgentLine>,
    certs: Vec<CertLine>,
    /// Push mode: the cluster agent's newest snapshot.
    cluster_agent: Option<ClusterAgentLine>,
}

/// A push-mode cluster's agent: its newest snapshot.
struct ClusterAgentLine {
    collected: String,
    received: String,
    version: String,
    kib: i64,
}

/// A node agent's last report.
struct AgentLine {
    node: String,
    collected: String,
    received: String,
    sshd: &'static str,
    files: usize,
    certificates: usize,
    errors: usize,
}

/// A node certificate that expires within 90 days, or has.
struct CertLine {
    node: String,
    path: String,
    subject: String,
    not_after: String,
    days_left: i64,
}

/// The agents' last reports, and the node certificates they saw expiring within 90 days.
async fn agents_and_certs(
    state: &AppState,
    cluster: Uuid,
) -> Result<(Vec<AgentLine>, Vec<CertLine>), UiError> {
    let now = chrono::Utc::now();
    let expiring =
        crate::store::agents::expiring(&state.pool, cluster, now + chrono::Duration::days(90)).await?;
    let certs = expiring
        .into_iter()
        .map(|c| CertLine {
            days_left: (c.not_after - now).num_days(),
            not_after: super::fmt_time(&c.not_after),
            node: c.node,
            path: c.path,
            subject: c.subject,
        })
        .collect();
    let agents = crate::store::agents::summaries(&state.pool, cluster)
        .await?
        .into_iter()
        .map(|r| AgentLine {
            collected: super::fmt_time(&r.collected_at),
            received: super::fmt_time(&r.received_at),
            sshd: if r.sshd { "yes" } else { "no sshd" },
            files: r.files as usize,
            certificates: r.certificates as usize,
            errors: r.errors.len(),
            node: r.node,
        })
        .collect();
    Ok((agents, certs))
}

#[derive(Deserialize, Default)]
struct ClusterQuery {
    notice: Option<String>,
}

#[get("/clusters/{id}")]
async fn cluster_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<Uuid>,
    q: web::Query<ClusterQuery>,
) -> Result<HttpResponse, UiError> {
    let who = ui_user(&state, &req).await?;
    let cluster = cluster_or_404(&state, *id).await?;
    let pool = &state.pool;
    let latest = dashboard::latest_result_scan(pool, cluster.id).await?;
    let open = dashboard::open_checks(pool, cluster.id).await?;
    let areas = Area::ALL
        .iter()
        .map(|a| AreaSection {
            area: a.as_str(),
            checks: open.iter().filter(|c| c.area == a.as_str()).cloned().collect(),
        })
        .collect();
    let failing = ExplorerFilter { status: "fail".into(), cluster: Some(cluster.id), ..Default::default() };
    let resources = dashboard::explore_by_resource(pool, &failing, 0, RESOURCES).await?;
    let resource_count = dashboard::failing_resource_count(pool, cluster.id).await?;
    let scans = scans::list_for_cluster(pool, cluster.id, None, HISTORY).await?;
    let status = ScanStatus::of(scans.first());
    let with_results: Vec<&ScanRow> =
        scans.iter().filter(|s| s.result_seq.is_some() && !s.detail_pruned).collect();
    // The first results of a cluster open everything (176,000 findings on a big cluster): the page
    // says so instead of listing them.
    let first_results =
        (scans.len() as i64) < HISTORY && scans.iter().filter(|s| s.result_seq.is_some()).count() == 1;
    let (opened, resolved) = match &latest {
        Some(l) if !first_results => {
            dashboard::changes_at(pool, l, 200).await?.into_iter().partition(|c| c.opened)
        }
        _ => (Vec::new(), Vec::new()),
    };
    let notice = match q.notice.as_deref() {
        Some("queued") => Some("Scan queued.".to_string()),
        Some("already") => Some("A scan of this cluster is already queued or running.".to_string()),
        _ => None,
    };
    let ctx = PageContext::new(&who, "fleet").collected(latest.as_ref().and_then(|l| l.finished_at));
    let (agents, certs) = agents_and_certs(&state, cluster.id).await?;
    let cluster_agent =
        crate::store::agents::cluster_report_summary(pool, cluster.id).await?.map(|r| ClusterAgentLine {
            collected: super::fmt_time(&r.collected_at),
            received: super::fmt_time(&r.received_at),
            version: r.agent_version,
            kib: (r.raw_bytes + 1023) / 1024,
        });
    Ok(page(&ClusterPage {
        agents,
        certs,
        cluster_agent,
        ctx,
        score: latest.as_ref().and_then(|l| l.score),
        cluster,
        areas,
        resources,
        resource_count,
        history: scans.iter().map(ScanLine::from).collect(),
        status,
        opened,
        resolved,
        first_results,
        latest_id: with_results.first().map(|s| s.id),
        previous_id: with_results.get(1).map(|s| s.id),
        notice,
    }))
}

/// "Scan now": queue a scan (editor or admin; CSRF-checked), then back to the cluster page.
#[post("/clusters/{id}/scan")]
async fn scan_now(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<Uuid>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, UiError> {
    let who = ui_user(&state, &req).await?;
    who.check_csrf(&form.csrf_token)?;
    who.require(Role::Editor)?;
    let cluster = cluster_or_404(&state, *id).await?;
    let (_, created) = state.request_scan(&cluster, &who.actor()).await?;
    let notice = if created { "queued" } else { "already" };
    Ok(see_other(&format!("/clusters/{}?notice={notice}#scan", cluster.id)))
}

/// The newest scan's live state, for the progress script.
#[get("/clusters/{id}/scan.json")]
async fn scan_status(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, UiError> {
    ui_user(&state, &req).await?;
    let cluster = cluster_or_404(&state, *id).await?;
    let newest = scans::list_for_cluster(&state.pool, cluster.id, None, 1).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(ScanStatus::of(newest.first())))
}

#[get("/static/scan.js")]
async fn scan_js() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(include_str!("../../../static/scan.js"))
}

#[derive(Template)]
#[template(path = "diff.html")]
struct DiffPage {
    ctx: PageContext,
    cluster: Cluster,
    scans: Vec<ScanLine>,
    from: Option<ScanLine>,
    to: Option<ScanLine>,
    sections: Vec<DiffSection>,
}

/// One kind of change in a diff.
pub struct DiffSection {
    pub title: &'static str,
    pub id: &'static str,
    pub rows: Vec<DiffEntry>,
}

#[derive(Deserialize)]
struct DiffQuery {
    from: Option<Uuid>,
    to: Option<Uuid>,
}

/// The diff between two scans of the cluster (defaults: its two newest scans with results).
#[get("/clusters/{id}/diff")]
async fn diff_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<Uuid>,
    q: web::Query<DiffQuery>,
) -> Result<HttpResponse, UiError> {
    let who = ui_user(&state, &req).await?;
    let cluster = cluster_or_404(&state, *id).await?;
    let all = scans::list_for_cluster(&state.pool, cluster.id, None, 200).await?;
    let with_results: Vec<&ScanRow> =
        all.iter().filter(|s| s.result_seq.is_some() && !s.detail_pruned).collect();
    let pick = |want: Option<Uuid>, default: Option<&&ScanRow>| -> Result<Option<ScanRow>, UiError> {
        match want {
            Some(w) => match all.iter().find(|s| s.id == w) {
                Some(s) if s.result_seq.is_some() && !s.detail_pruned => Ok(Some(s.clone())),
                Some(_) => Err(UiError::bad_request(format!("scan {w} has no stored results to compare"))),
                None => {
                    Err(UiError::not_found(format!("scan {w} is not one of this cluster's recent scans")))
                }
            },
            None => Ok(default.map(|s| (*s).clone())),
        }
    };
    let to = pick(q.to, with_results.first())?;
    let from = pick(q.from, with_results.get(1))?;
    let (mut new, mut resolved, mut changed) = (Vec::new(), Vec::new(), Vec::new());
    if let (Some(a), Some(b)) = (&from, &to) {
        for e in findings::diff(&state.pool, a, b).await? {
            match e.change {
                ChangeKind::New => new.push(e),
                ChangeKind::Resolved => resolved.push(e),
                ChangeKind::Changed => changed.push(e),
            }
        }
    }
    let ctx = PageContext::new(&who, "fleet").collected(to.as_ref().and_then(|s| s.finished_at));
    Ok(page(&DiffPage {
        ctx,
        cluster,
        scans: with_results.iter().map(|s| ScanLine::from(*s)).collect(),
        from: from.as_ref().map(ScanLine::from),
        to: to.as_ref().map(ScanLine::from),
        sections: vec![
            DiffSection { title: "New", id: "new", rows: new },
            DiffSection { title: "Resolved", id: "resolved", rows: resolved },
            DiffSection { title: "Changed", id: "changed", rows: changed },
        ],
    }))
}
