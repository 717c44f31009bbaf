//! Network API: a cluster's NetworkPolicy reachability matrix and per-namespace isolation, from
//! the analysis of its latest stored scan (`analysis::netpol`), kept in the scan analysis cache
//! ([`crate::web::analyses`]) so repeated requests do not rebuild it. Viewers read.

use actix_web::{get, web, HttpResponse};
use serde::Deserialize;
use uuid::Uuid;

use crate::analysis::netpol::{NamespaceReport, ReachabilityReport};
use crate::domain::Role;
use crate::web::auth::Authenticated;
use crate::web::error::{ApiError, Problem};
use crate::web::AppState;

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
) -> Result<HttpResponse, ApiError> {
    who.require(Role::Viewer)?;
    let analyses = state.analyses.latest(&state.pool, *id).await?;
    let system = q.system.unwrap_or(false);
    let json = web::block(move || analyses.network().map(|n| n.reachability_json(system)))
        .await
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("network report task failed: {e}")))??;
    Ok(HttpResponse::Ok().content_type("application/json").body(json))
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
    let analyses = state.analyses.latest(&state.pool, id).await?;
    Ok(web::Json(namespace_report(&analyses, &ns)?))
}

/// A namespace's report from a scan's analyses; 404 for a namespace the scan does not know.
pub fn namespace_report(
    analyses: &crate::web::analyses::ScanAnalyses,
    ns: &str,
) -> Result<NamespaceReport, ApiError> {
    let net = analyses.network()?;
    net.analysis
        .namespace_report(ns, net.enforcement.clone())
        .ok_or_else(|| ApiError::NotFound(format!("namespace {ns} is not in the cluster's latest snapshot")))
}
