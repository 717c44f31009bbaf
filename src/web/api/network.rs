//! Network API: a cluster's NetworkPolicy reachability matrix and per-namespace isolation,
//! computed on request from the snapshot of its latest stored scan (`analysis::netpol`). Viewers
//! read. The analysis is CPU work, so it runs on the blocking pool, not on the request thread.

use actix_web::{get, web};
use serde::Deserialize;
use uuid::Uuid;

use crate::analysis::netpol::{self, NamespaceReport, ReachabilityReport};
use crate::checks::network::enforcement;
use crate::domain::Role;
use crate::snapshot::Snapshot;
use crate::store::{clusters, scans};
use crate::web::auth::Authenticated;
use crate::web::error::{ApiError, Problem};
use crate::web::AppState;

/// The snapshot of the cluster's latest stored scan; 404 for an unknown cluster or one never
/// scanned (or whose snapshots were pruned).
async fn latest(state: &AppState, id: Uuid) -> Result<Snapshot, ApiError> {
    clusters::get(&state.pool, id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no cluster with id {id}")))?;
    scans::latest_snapshot(&state.pool, id).await?.ok_or_else(|| {
        ApiError::NotFound(format!("cluster {id} has no stored scan snapshot yet; run a scan first"))
    })
}

/// Run the analysis off the request thread. Incomplete evidence (pods, namespaces or policies
/// forbidden or not collected) is a 409 naming what is missing, never an empty matrix.
async fn analyze<T: Send + 'static>(
    snap: Snapshot,
    view: impl FnOnce(netpol::NetworkAnalysis, &Snapshot) -> T + Send + 'static,
) -> Result<T, ApiError> {
    web::block(move || netpol::analyze_snapshot(&snap).map(|a| view(a, &snap)))
        .await
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("network analysis task failed: {e}")))?
        .map_err(|e| ApiError::Conflict(format!("the network analysis cannot be decided: {e}")))
}

/// Matrix options.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ReachabilityQuery {
    /// Keep system namespaces (kube-system, …) in the matrix; by default they are left out.
    pub system: Option<bool>,
}

/// The namespace × namespace reachability matrix with ports: which namespaces' pods may open
/// connections to which, on which ports, under the cluster's NetworkPolicies (only non-empty
/// cells are listed), plus each namespace's isolation summary and whether the network plugin
/// enforces policies at all.
#[utoipa::path(tag = "network", params(("id" = Uuid, Path, description = "cluster id"), ReachabilityQuery),
    responses(
        (status = 200, body = ReachabilityReport),
        (status = 400, body = Problem),
        (status = 401, body = Problem),
        (status = 404, body = Problem, description = "unknown cluster, or no stored snapshot yet"),
        (status = 409, body = Problem, description = "pods, namespaces or policies were not completely collected"),
    ))]
#[get("/api/v1/clusters/{id}/network/reachability")]
pub async fn reachability(
    state: web::Data<AppState>,
    who: Authenticated,
    id: web::Path<Uuid>,
    q: web::Query<ReachabilityQuery>,
) -> Result<web::Json<ReachabilityReport>, ApiError> {
    who.require(Role::Viewer)?;
    let snap = latest(&state, *id).await?;
    let system = q.system.unwrap_or(false);
    let report = analyze(snap, move |a, s| a.reachability_report(enforcement(s), system)).await?;
    Ok(web::Json(report))
}

/// One namespace: which policies select which pod groups, each group's ingress/egress isolation,
/// what may reach the namespace and what it may reach.
#[utoipa::path(tag = "network", params(
        ("id" = Uuid, Path, description = "cluster id"),
        ("ns" = String, Path, description = "namespace name"),
    ),
    responses(
        (status = 200, body = NamespaceReport),
        (status = 401, body = Problem),
        (status = 404, body = Problem, description = "unknown cluster or namespace, or no stored snapshot yet"),
        (status = 409, body = Problem, description = "pods, namespaces or policies were not completely collected"),
    ))]
#[get("/api/v1/clusters/{id}/network/namespaces/{ns}")]
pub async fn namespace(
    state: web::Data<AppState>,
    who: Authenticated,
    path: web::Path<(Uuid, String)>,
) -> Result<web::Json<NamespaceReport>, ApiError> {
    who.require(Role::Viewer)?;
    let (id, ns) = path.into_inner();
    let snap = latest(&state, id).await?;
    let wanted = ns.clone();
    let report = analyze(snap, move |a, s| a.namespace_report(&wanted, enforcement(s))).await?;
    report
        .map(web::Json)
        .ok_or_else(|| ApiError::NotFound(format!("namespace {ns} is not in the cluster's latest snapshot")))
}
