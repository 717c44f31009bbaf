//! Scan API: trigger a scan, watch it live, list a cluster's scans, read a scan's results and the
//! diff between two scans, read and set a cluster's schedule. Viewers read; editors trigger scans
//! and change schedules.

use actix_web::{get, post, put, web, HttpResponse};
use serde::Deserialize;
use uuid::Uuid;

use super::{decode_cursor_id, page_limit, paginate, Page};
use crate::domain::{Area, Role, Severity, Status};
use crate::store::clusters;
use crate::store::findings::{self, DiffEntry, ResultFilter, StoredResult};
use crate::store::scans::{self, Scan, ScheduleSpec};
use crate::web::auth::Authenticated;
use crate::web::error::{ApiError, Problem};
use crate::web::AppState;

async fn cluster_exists(state: &AppState, id: Uuid) -> Result<clusters::Cluster, ApiError> {
    clusters::get(&state.pool, id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no cluster with id {id}")))
}

fn parse_cursor_id(cursor: Option<&str>) -> Result<Option<Uuid>, ApiError> {
    cursor.map(decode_cursor_id).transpose()
}

/// Queue a scan of the cluster now. If the cluster already has a queued or running scan, that scan
/// is returned (200) instead of a second one: one scan at a time per cluster.
#[utoipa::path(tag = "scans", params(("id" = Uuid, Path, description = "cluster id")), responses(
    (status = 202, body = Scan, description = "queued; poll GET /api/v1/scans/{id}"),
    (status = 200, body = Scan, description = "a scan of this cluster is already queued or running"),
    (status = 401, body = Problem),
    (status = 403, body = Problem, description = "needs the editor role"),
    (status = 404, body = Problem),
))]
#[post("/api/v1/clusters/{id}/scans")]
pub async fn trigger_scan(
    state: web::Data<AppState>,
    who: Authenticated,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    who.require(Role::Editor)?;
    let cluster = cluster_exists(&state, *id).await?;
    let (row, created) = state.request_scan(&cluster, &who.actor()).await?;
    if created {
        Ok(HttpResponse::Accepted().json(row.to_api()?))
    } else {
        Ok(HttpResponse::Ok().json(row.to_api()?))
    }
}

/// Paging parameters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// Page size, 1-500 (default 50).
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    #[serde(default, deserialize_with = "super::empty_as_none")]
    pub cursor: Option<String>,
}

/// A cluster's scans, newest first, including failed ones.
#[utoipa::path(tag = "scans", params(("id" = Uuid, Path, description = "cluster id"), PageQuery), responses(
    (status = 200, body = Page<Scan>),
    (status = 400, body = Problem),
    (status = 401, body = Problem),
    (status = 404, body = Problem),
))]
#[get("/api/v1/clusters/{id}/scans")]
pub async fn list_scans(
    state: web::Data<AppState>,
    who: Authenticated,
    id: web::Path<Uuid>,
    q: web::Query<PageQuery>,
) -> Result<web::Json<Page<Scan>>, ApiError> {
    who.require(Role::Viewer)?;
    let limit = page_limit(q.limit)?;
    let before = parse_cursor_id(q.cursor.as_deref())?;
    // History outlives a deleted cluster, so only an id never seen is a 404.
    let rows = scans::list_for_cluster(&state.pool, *id, before, limit + 1).await?;
    if rows.is_empty() && before.is_none() {
        cluster_exists(&state, *id).await?;
    }
    let items = rows.iter().map(|r| r.to_api()).collect::<Result<Vec<_>, _>>()?;
    Ok(web::Json(paginate(items, limit, |s| s.id.to_string())))
}

/// One scan: state, live progress while running, the failure reason, the summary when done.
#[utoipa::path(tag = "scans", params(("id" = Uuid, Path, description = "scan id")), responses(
    (status = 200, body = Scan),
    (status = 401, body = Problem),
    (status = 404, body = Problem),
))]
#[get("/api/v1/scans/{id}")]
pub async fn get_scan(
    state: web::Data<AppState>,
    who: Authenticated,
    id: web::Path<Uuid>,
) -> Result<web::Json<Scan>, ApiError> {
    who.require(Role::Viewer)?;
    Ok(web::Json(scans::get(&state.pool, *id).await?.to_api()?))
}

/// Result filters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ResultQuery {
    /// Page size, 1-500 (default 50).
    pub limit: Option<i64>,
    #[serde(default, deserialize_with = "super::empty_as_none")]
    pub cursor: Option<String>,
    /// `pass`, `fail`, `warn`, `not_applicable` or `unknown`.
    pub status: Option<String>,
    /// `host`, `authn`, `authz`, `tls` or `network`.
    pub area: Option<String>,
    /// `info`, `low`, `medium`, `high` or `critical`.
    pub severity: Option<String>,
    /// A check id, e.g. `PAL-AUTHN-001`.
    pub check: Option<String>,
    /// Results about resources in this namespace.
    pub namespace: Option<String>,
    /// `true`: only results an exception in force covers; `false`: only the others.
    pub excepted: Option<bool>,
}

pub(crate) fn parse_opt<T: std::str::FromStr<Err = String>>(v: Option<&str>) -> Result<Option<T>, ApiError> {
    v.filter(|s| !s.is_empty()).map(|s| s.parse::<T>().map_err(ApiError::BadRequest)).transpose()
}

/// The results of a scan (as they were at that scan), filterable, by finding id.
#[utoipa::path(tag = "scans", params(("id" = Uuid, Path, description = "scan id"), ResultQuery), responses(
    (status = 200, body = Page<StoredResult>),
    (status = 400, body = Problem),
    (status = 401, body = Problem),
    (status = 404, body = Problem),
    (status = 409, body = Problem, description = "the scan has no results (queued, running, failed) or they were pruned"),
))]
#[get("/api/v1/scans/{id}/results")]
pub async fn scan_results(
    state: web::Data<AppState>,
    who: Authenticated,
    id: web::Path<Uuid>,
    q: web::Query<ResultQuery>,
) -> Result<web::Json<Page<StoredResult>>, ApiError> {
    who.require(Role::Viewer)?;
    let limit = page_limit(q.limit)?;
    let filter = ResultFilter {
        status: parse_opt::<Status>(q.status.as_deref())?,
        area: parse_opt::<Area>(q.area.as_deref())?,
        severity: parse_opt::<Severity>(q.severity.as_deref())?,
        check: q.check.clone().filter(|s| !s.is_empty()),
        namespace: q.namespace.clone().filter(|s| !s.is_empty()),
        excepted: q.excepted,
    };
    let after = parse_cursor_id(q.cursor.as_deref())?;
    let scan = scans::get(&state.pool, *id).await?;
    let rows = findings::results(&state.pool, &scan, &filter, after, limit + 1).await?;
    Ok(web::Json(paginate(rows, limit, |r| r.finding_id.to_string())))
}

/// Which framework an OSCAL document judges against.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct OscalQuery {
    /// A framework id (`GET /api/v1/frameworks`); default `cis-1.12`.
    #[serde(default, deserialize_with = "super::empty_as_none")]
    pub framework: Option<String>,
}

/// The scan as OSCAL 1.1 Assessment Results: every result that is not a pass is an observation
/// with its evidence, every control a check decides a finding with its verdict, and every failed
/// check appears in a finding.
#[utoipa::path(tag = "scans", params(("id" = Uuid, Path, description = "scan id"), OscalQuery), responses(
    (status = 200, description = "an OSCAL 1.1 assessment-results document", body = Object, content_type = "application/json"),
    (status = 400, body = Problem),
    (status = 401, body = Problem),
    (status = 404, body = Problem, description = "no such scan or framework"),
    (status = 409, body = Problem, description = "the scan has no results (queued, running, failed) or they were pruned"),
))]
#[get("/api/v1/scans/{id}/oscal")]
pub async fn scan_oscal(
    state: web::Data<AppState>,
    who: Authenticated,
    id: web::Path<Uuid>,
    q: web::Query<OscalQuery>,
) -> Result<HttpResponse, ApiError> {
    who.require(Role::Viewer)?;
    let framework_id = q.framework.as_deref().unwrap_or(crate::frameworks::CIS_1_12);
    let framework = crate::frameworks::registry::get(framework_id).ok_or_else(|| {
        ApiError::NotFound(format!("no framework `{framework_id}`; GET /api/v1/frameworks lists them"))
    })?;
    let scan = scans::get(&state.pool, *id).await?;
    let results = findings::check_results(&state.pool, &scan).await?;
    let cluster = clusters::get(&state.pool, scan.cluster_id).await?;
    let name = cluster.map(|c| c.name.to_string()).unwrap_or_else(|| scan.cluster_id.to_string());
    let finished = scan.finished_at.unwrap_or(scan.queued_at);
    let doc = crate::report::oscal::assessment_results(&crate::report::oscal::Assessment {
        cluster: &name,
        scan_id: Some(scan.id),
        started: scan.started_at.unwrap_or(finished),
        finished,
        results: &results,
        framework,
        generated_at: chrono::Utc::now(),
    });
    Ok(HttpResponse::Ok().json(doc))
}

/// A diff between two scans.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ScanDiff {
    pub from: Uuid,
    pub to: Uuid,
    pub new: usize,
    pub resolved: usize,
    pub changed: usize,
    /// Every difference, by check and resource.
    pub entries: Vec<DiffEntry>,
}

/// What changed from scan `a` to scan `b`: findings that are new (open in b, not in a), resolved
/// (open in a, passing or gone in b) and changed (other status or evidence changes).
#[utoipa::path(tag = "scans", params(("a" = Uuid, Path), ("b" = Uuid, Path)), responses(
    (status = 200, body = ScanDiff),
    (status = 401, body = Problem),
    (status = 404, body = Problem),
    (status = 409, body = Problem, description = "one of the scans has no results"),
))]
#[get("/api/v1/scans/{a}/diff/{b}")]
pub async fn scan_diff(
    state: web::Data<AppState>,
    who: Authenticated,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<web::Json<ScanDiff>, ApiError> {
    who.require(Role::Viewer)?;
    let (a, b) = path.into_inner();
    let sa = scans::get(&state.pool, a).await?;
    let sb = scans::get(&state.pool, b).await?;
    let entries = findings::diff(&state.pool, &sa, &sb).await?;
    let count = |k| entries.iter().filter(|e| e.change == k).count();
    use crate::history::ChangeKind as K;
    Ok(web::Json(ScanDiff {
        from: a,
        to: b,
        new: count(K::New),
        resolved: count(K::Resolved),
        changed: count(K::Changed),
        entries,
    }))
}

/// A cluster's scan schedule.
#[derive(Debug, Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleBody {
    /// Scan every this many seconds.
    pub interval_seconds: Option<i32>,
    /// Or a cron expression (`min hour day month weekday`, UTC), e.g. `*/15 * * * *`.
    pub cron: Option<String>,
    /// Stop scheduled scans (on-demand scans still run).
    #[serde(default)]
    pub paused: bool,
}

/// A schedule as stored, with the next due time.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ScheduleView {
    #[serde(flatten)]
    pub schedule: ScheduleSpec,
    /// The configured default interval applies when neither interval nor cron is set.
    pub default_interval_seconds: u64,
    pub next_due_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// Set when the cluster is scanned: an interval, a cron expression, or neither for the default.
#[utoipa::path(tag = "scans", params(("id" = Uuid, Path, description = "cluster id")), request_body = ScheduleBody,
    responses(
        (status = 200, body = ScheduleView),
        (status = 400, body = Problem, description = "both or an invalid interval / cron expression"),
        (status = 401, body = Problem),
        (status = 403, body = Problem),
        (status = 404, body = Problem),
))]
#[put("/api/v1/clusters/{id}/schedule")]
pub async fn set_schedule(
    state: web::Data<AppState>,
    who: Authenticated,
    id: web::Path<Uuid>,
    body: web::Json<ScheduleBody>,
) -> Result<web::Json<ScheduleView>, ApiError> {
    Ok(web::Json(apply_schedule(&state, &who, *id, body.into_inner()).await?))
}

/// Validate and store a cluster's schedule (editors), audited; the API and the admin page both
/// call this.
pub async fn apply_schedule(
    state: &AppState,
    who: &Authenticated,
    id: Uuid,
    b: ScheduleBody,
) -> Result<ScheduleView, ApiError> {
    who.require(Role::Editor)?;
    let cluster = cluster_exists(state, id).await?;
    let (spec, next) =
        state.set_schedule(&cluster, b.interval_seconds, b.cron, b.paused, &who.actor()).await?;
    Ok(ScheduleView {
        schedule: spec,
        default_interval_seconds: state.settings.scheduler.default_interval_secs,
        next_due_at: Some(next),
    })
}

/// A cluster's schedule and next due time.
#[utoipa::path(tag = "scans", params(("id" = Uuid, Path, description = "cluster id")), responses(
    (status = 200, body = ScheduleView),
    (status = 401, body = Problem),
    (status = 404, body = Problem),
))]
#[get("/api/v1/clusters/{id}/schedule")]
pub async fn get_schedule(
    state: web::Data<AppState>,
    who: Authenticated,
    id: web::Path<Uuid>,
) -> Result<web::Json<ScheduleView>, ApiError> {
    who.require(Role::Viewer)?;
    let cluster = cluster_exists(&state, *id).await?;
    let (spec, next) = scans::get_schedule(&state.pool, cluster.id).await?;
    Ok(web::Json(ScheduleView {
        schedule: spec,
        default_interval_seconds: state.settings.scheduler.default_interval_secs,
        next_due_at: next,
    }))
}
