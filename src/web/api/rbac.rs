//! RBAC questions about a registered cluster, answered from its latest stored snapshot:
//! `GET /api/v1/clusters/{id}/rbac/who-can` and `GET /api/v1/clusters/{id}/rbac/subjects/{kind}/{name}`.
//! Any authenticated user may ask. The analysis itself is [`crate::analysis::rbac`]; it runs on the
//! blocking pool because a large cluster takes a noticeable fraction of a second to index.

use actix_web::{get, web};
use serde::Deserialize;
use uuid::Uuid;

use crate::analysis::rbac::{parse_request, Identity, Permissions, Rbac, WhoCan, WhoCanIndex};
use crate::domain::Role;
use crate::snapshot::Snapshot;
use crate::store::{clusters, scans};
use crate::web::auth::Authenticated;
use crate::web::error::{ApiError, Problem};
use crate::web::AppState;

/// The request to answer.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct WhoCanQuery {
    /// e.g. `get`, `create`, `impersonate`, `*`.
    pub verb: String,
    /// `pods`, `deployments.apps`, `pods/exec`, `widgets.example.com`, `*`, or a non-resource URL
    /// such as `/metrics`.
    pub resource: String,
    /// Namespace of the request; absent for a cluster-wide request (only ClusterRoleBindings).
    pub namespace: Option<String>,
    /// The object's name (rules with resourceNames only grant named objects).
    pub name: Option<String>,
}

async fn latest(state: &AppState, id: Uuid) -> Result<Snapshot, ApiError> {
    clusters::get(&state.pool, id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no cluster with id {id}")))?;
    scans::latest_snapshot(&state.pool, id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("cluster {id} has no stored snapshot yet; scan it first")))
}

/// Who may perform a request in the cluster, by RBAC (members of system:masters always may).
#[utoipa::path(tag = "rbac", params(("id" = Uuid, Path, description = "cluster id"), WhoCanQuery), responses(
    (status = 200, body = WhoCan),
    (status = 400, body = Problem),
    (status = 401, body = Problem),
    (status = 404, body = Problem, description = "no such cluster, or no stored snapshot yet"),
))]
#[get("/api/v1/clusters/{id}/rbac/who-can")]
pub async fn who_can(
    state: web::Data<AppState>,
    who: Authenticated,
    id: web::Path<Uuid>,
    q: web::Query<WhoCanQuery>,
) -> Result<web::Json<WhoCan>, ApiError> {
    who.require(Role::Viewer)?;
    let request = parse_request(&q.verb, &q.resource, q.namespace.as_deref(), q.name.as_deref())
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let snapshot = latest(&state, *id).await?;
    let answer = web::block(move || {
        let rbac = Rbac::new(&snapshot);
        WhoCanIndex::build(&rbac).who_can(&request)
    })
    .await
    .map_err(|e| ApiError::Internal(anyhow::anyhow!("the RBAC analysis did not finish: {e}")))?;
    Ok(web::Json(answer))
}

/// What a subject may do in the cluster: every binding that applies, with roles, scopes and rules.
/// `kind` is `User`, `Group` or `ServiceAccount`; a service account's name is `namespace:name`
/// (or `namespace%2Fname`). Users are taken to be in `system:authenticated`.
#[utoipa::path(tag = "rbac", params(
        ("id" = Uuid, Path, description = "cluster id"),
        ("kind" = String, Path, description = "User, Group or ServiceAccount"),
        ("name" = String, Path, description = "user or group name, or namespace:name for a ServiceAccount"),
    ), responses(
    (status = 200, body = Permissions),
    (status = 400, body = Problem),
    (status = 401, body = Problem),
    (status = 404, body = Problem, description = "no such cluster, or no stored snapshot yet"),
))]
#[get("/api/v1/clusters/{id}/rbac/subjects/{kind}/{name}")]
pub async fn subject(
    state: web::Data<AppState>,
    who: Authenticated,
    path: web::Path<(Uuid, String, String)>,
) -> Result<web::Json<Permissions>, ApiError> {
    who.require(Role::Viewer)?;
    let (id, kind, name) = path.into_inner();
    let identity = Identity::from_subject(&kind, &name).map_err(ApiError::BadRequest)?;
    let snapshot = latest(&state, id).await?;
    let answer = web::block(move || Rbac::new(&snapshot).permissions_of(&identity))
        .await
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("the RBAC analysis did not finish: {e}")))?;
    Ok(web::Json(answer))
}
