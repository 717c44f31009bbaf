//! Compliance frameworks: `GET /api/v1/frameworks` lists the bundled frameworks and
//! `GET /api/v1/frameworks/{id}/compliance` judges one over a cluster, a group or the fleet from
//! their current results. Viewers may read.

use actix_web::{get, web};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::checks::find;
use crate::domain::Role;
use crate::frameworks::compliance::{evaluate, FrameworkCompliance, FrameworkInfo};
use crate::frameworks::registry;
use crate::store::{clusters, compliance};
use crate::web::auth::Authenticated;
use crate::web::error::{ApiError, Problem};
use crate::web::AppState;

/// The bundled frameworks.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FrameworkList {
    pub items: Vec<FrameworkInfo>,
}

/// List the compliance frameworks (ids are stable: `cis-1.12`, `nsa-cisa-1.2`).
#[utoipa::path(tag = "frameworks", responses(
    (status = 200, body = FrameworkList),
    (status = 401, body = Problem),
))]
#[get("/api/v1/frameworks")]
pub async fn list_frameworks(who: Authenticated) -> Result<web::Json<FrameworkList>, ApiError> {
    who.require(Role::Viewer)?;
    Ok(web::Json(FrameworkList { items: registry::all().iter().map(FrameworkInfo::from).collect() }))
}

/// Which clusters to judge: one cluster, one group, or (neither) the whole fleet.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ComplianceQuery {
    /// One cluster, by id (with `group` too: that cluster when it is in the group, else none).
    pub cluster: Option<Uuid>,
    /// The clusters of one group (empty: no group filter, as in the cluster list and trends).
    #[serde(default, deserialize_with = "super::empty_as_none")]
    pub group: Option<String>,
}

/// What a compliance answer covers.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ComplianceScope {
    /// `cluster`, `group` or `fleet`.
    pub kind: &'static str,
    pub cluster: Option<Uuid>,
    pub cluster_name: Option<String>,
    pub group: Option<String>,
    /// Live clusters in scope, and those of them with scan results.
    pub clusters: u64,
    pub scanned_clusters: u64,
}

/// A framework judged over a scope.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ComplianceAnswer {
    pub scope: ComplianceScope,
    #[serde(flatten)]
    pub compliance: FrameworkCompliance,
}

/// Judge a framework's controls over a cluster (`cluster=`), a group (`group=`) or the fleet; the
/// filters combine, as the trends' do.
/// A control fails when any check that decides it fails on any resource in scope.
#[utoipa::path(tag = "frameworks",
    params(("id" = String, Path, description = "framework id, e.g. cis-1.12"), ComplianceQuery),
    responses(
        (status = 200, body = ComplianceAnswer),
        (status = 400, body = Problem, description = "an invalid parameter value"),
        (status = 401, body = Problem),
        (status = 404, body = Problem, description = "no such framework or cluster"),
))]
#[get("/api/v1/frameworks/{id}/compliance")]
pub async fn framework_compliance(
    state: web::Data<AppState>,
    who: Authenticated,
    id: web::Path<String>,
    q: web::Query<ComplianceQuery>,
) -> Result<web::Json<ComplianceAnswer>, ApiError> {
    who.require(Role::Viewer)?;
    let framework = registry::get(&id).ok_or_else(|| {
        let known: Vec<&str> = registry::all().iter().map(|f| f.id.as_str()).collect();
        ApiError::NotFound(format!("no framework `{id}` (known: {})", known.join(", ")))
    })?;
    let q = q.into_inner();
    let cluster_name = match q.cluster {
        Some(cluster) => Some(
            clusters::get(&state.pool, cluster)
                .await?
                .ok_or_else(|| ApiError::NotFound(format!("no cluster with id {cluster}")))?
                .name
                .to_string(),
        ),
        None => None,
    };
    let kind = match (&q.cluster, &q.group) {
        (Some(_), _) => "cluster",
        (None, Some(_)) => "group",
        (None, None) => "fleet",
    };
    let scope = compliance::Scope { cluster: q.cluster, group: q.group.clone(), ..Default::default() };
    let counts = compliance::check_counts(&state.pool, &scope).await?;
    let out = ComplianceScope {
        kind,
        cluster: q.cluster,
        cluster_name,
        group: q.group,
        clusters: counts.clusters,
        scanned_clusters: counts.scanned,
    };
    let title = |check: &str| find(check).map(|c| c.meta.title.to_string()).unwrap_or_default();
    let compliance = evaluate(framework, &counts.checks, counts.scanned, &title);
    Ok(web::Json(ComplianceAnswer { scope: out, compliance }))
}
