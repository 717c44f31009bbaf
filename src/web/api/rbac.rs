//! RBAC questions about a registered cluster, answered from its latest stored snapshot:
//! `GET /api/v1/clusters/{id}/rbac/who-can` and `GET /api/v1/clusters/{id}/rbac/subjects/{kind}/{name}`.
//! Any authenticated user may ask. The analysis itself is [`crate::analysis::rbac`]; the resolved
//! graph and its who-can index are kept per scan in the analysis cache ([`crate::web::analyses`]).

use actix_web::{get, web};
use serde::Deserialize;
use uuid::Uuid;

use crate::analysis::rbac::{parse_request, Identity, Permissions, WhoCan};
use crate::domain::Role;
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

/// Parse a who-can question (400 with the reason when it is not one); the RBAC page asks the
/// same way.
pub fn parse_question(
    verb: &str,
    resource: &str,
    namespace: Option<&str>,
    name: Option<&str>,
) -> Result<crate::analysis::rbac::Request, ApiError> {
    parse_request(verb, resource, namespace, name).map_err(|e| ApiError::BadRequest(e.to_string()))
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
    let request = parse_question(&q.verb, &q.resource, q.namespace.as_deref(), q.name.as_deref())?;
    let analyses = state.analyses.latest(&state.pool, *id).await?;
    Ok(web::Json(analyses.with_rbac(move |_, index| index.who_can(&request)).await?))
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
    let analyses = state.analyses.latest(&state.pool, id).await?;
    Ok(web::Json(analyses.with_rbac(move |rbac, _| rbac.permissions_of(&identity)).await?))
}
