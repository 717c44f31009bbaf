//! The cluster registry API: list (paginated, filterable), register (from a kubeconfig context or
//! server URL + CA + token / client certificate), read, change, delete, check connectivity,
//! replace credentials. Credentials go in, never out.

use actix_web::{delete, get, patch, post, put, web, HttpResponse};
use serde::{Deserialize, Deserializer};
use uuid::Uuid;

use super::{decode_cursor, page_limit, paginate, Page};
use crate::collect::client::{credentials_from_kubeconfig, ClusterAuth, ClusterCredentials, FileRefs};
use crate::domain::{ClusterName, GroupName, Labels, Role};
use crate::store::audit;
use crate::store::clusters::{self, Cluster, ClusterFilter, ClusterPatch, NewCluster, NewPushCluster};
use crate::web::auth::Authenticated;
use crate::web::error::{ApiError, Problem};
use crate::web::AppState;

/// How to reach a cluster: either `kubeconfig` (+ optional `context`), or `server` with an optional
/// `ca_pem` and a `token` or `client_cert_pem` + `client_key_pem`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClusterSource {
    /// Kubeconfig YAML with embedded data (`kubectl config view --raw --flatten --minify`).
    /// `exec` and `auth-provider` credential plugins are refused.
    pub kubeconfig: Option<String>,
    /// The kubeconfig context to use (default: its current context).
    pub context: Option<String>,
    /// API server URL (`https://host:port`).
    pub server: Option<String>,
    /// PEM CA bundle for the API server (default: system roots).
    pub ca_pem: Option<String>,
    /// Bearer token (e.g. a read-only service account's).
    #[schema(format = Password)]
    pub token: Option<String>,
    pub client_cert_pem: Option<String>,
    #[schema(format = Password)]
    pub client_key_pem: Option<String>,
    pub tls_server_name: Option<String>,
    #[serde(default)]
    pub insecure_skip_tls_verify: bool,
}

impl ClusterSource {
    /// Parse into credentials, with messages a person understands.
    pub fn into_credentials(self) -> Result<ClusterCredentials, ApiError> {
        let bad = |e: crate::collect::client::CredentialsError| ApiError::BadRequest(e.to_string());
        match (self.kubeconfig, self.server) {
            (Some(_), Some(_)) => {
                Err(ApiError::BadRequest("give either `kubeconfig` or `server`, not both".into()))
            }
            (None, None) => Err(ApiError::BadRequest(
                "give the cluster's `kubeconfig`, or its `server` URL with a `token` or client certificate"
                    .into(),
            )),
            (Some(yaml), None) => {
                if self.token.is_some() || self.client_cert_pem.is_some() || self.ca_pem.is_some() {
                    return Err(ApiError::BadRequest(
                        "with a kubeconfig, the CA and credentials come from the kubeconfig; drop `token`, \
                         `ca_pem` and `client_cert_pem`"
                            .into(),
                    ));
                }
                let (_, creds) =
                    credentials_from_kubeconfig(&yaml, self.context.as_deref(), &FileRefs::Refuse)
                        .map_err(bad)?;
                Ok(creds)
            }
            (None, Some(server)) => {
                let auth = match (self.token, self.client_cert_pem, self.client_key_pem) {
                    (Some(_), Some(_), _) => {
                        return Err(ApiError::BadRequest(
                            "give either a `token` or a client certificate, not both".into(),
                        ))
                    }
                    (Some(token), None, None) => ClusterAuth::Token { token: token.trim().to_string() },
                    (None, Some(cert_pem), Some(key_pem)) => {
                        ClusterAuth::ClientCertificate { cert_pem, key_pem }
                    }
                    (None, Some(_), None) | (_, None, Some(_)) => {
                        return Err(ApiError::BadRequest(
                            "a client certificate needs both `client_cert_pem` and `client_key_pem`".into(),
                        ))
                    }
                    (None, None, None) => ClusterAuth::None,
                };
                let creds = ClusterCredentials {
                    server: server.trim().to_string(),
                    ca_pem: self.ca_pem.filter(|c| !c.trim().is_empty()),
                    tls_server_name: self.tls_server_name.filter(|s| !s.is_empty()),
                    insecure_skip_tls_verify: self.insecure_skip_tls_verify,
                    auth,
                };
                creds.validate().map_err(bad)?;
                Ok(creds)
            }
        }
    }
}

fn yes() -> bool {
    true
}

/// How a cluster's snapshots reach the server.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ClusterMode {
    #[default]
    Pull,
    Push,
}

/// A cluster to register.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterCluster {
    #[schema(value_type = String, example = "prod-eu-1")]
    pub name: ClusterName,
    #[serde(default)]
    #[schema(value_type = std::collections::HashMap<String, String>, example = json!({"environment": "prod", "owner": "platform"}))]
    pub labels: Labels,
    #[schema(value_type = Option<String>)]
    pub group: Option<GroupName>,
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Probe `GET /version` right away (default true; pull mode only). An unreachable cluster is
    /// still registered.
    #[serde(default = "yes")]
    pub check_connectivity: bool,
    /// `pull` (default): the server connects with `credentials`. `push`: the cluster cannot be
    /// reached from the server; its cluster agent (`palisade agent --mode cluster`, with an agent
    /// token) sends snapshots, no `credentials` are given, and the server never connects to it.
    #[serde(default)]
    pub mode: ClusterMode,
    /// How to reach the cluster (pull mode; leave out in push mode).
    pub credentials: Option<ClusterSource>,
    /// The port of the nodes' SSH servers for the SSH probe (default: the server's, 22; 0: do
    /// not probe SSH).
    #[schema(minimum = 0, maximum = 65535)]
    pub ssh_port: Option<u16>,
}

fn double_option<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// Changes to a cluster; absent fields stay as they are, `"group": null` clears the group.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateCluster {
    #[schema(value_type = Option<String>)]
    pub name: Option<ClusterName>,
    /// Replaces all labels; absent or `null` leaves them as they are (`{}` removes them all).
    #[schema(value_type = Option<std::collections::HashMap<String, String>>)]
    pub labels: Option<Labels>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub group: Option<Option<GroupName>>,
    pub enabled: Option<bool>,
    /// The nodes' SSH port (0: do not probe SSH); `null` goes back to the server's default.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<u16>, minimum = 0, maximum = 65535)]
    pub ssh_port: Option<Option<u16>>,
}

/// Listing filters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ClusterQuery {
    /// Page size, 1-500 (default 50).
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    #[serde(default, deserialize_with = "super::empty_as_none")]
    pub cursor: Option<String>,
    /// Label filter: `key=value[,key=value…]`; every pair must match.
    pub label: Option<String>,
    pub group: Option<String>,
    pub enabled: Option<bool>,
    /// Part of the name.
    pub q: Option<String>,
}

/// Deleting options.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DeleteQuery {
    /// Also delete the cluster's scans and findings (default false: history is kept).
    #[serde(default)]
    pub purge_history: bool,
}

/// Registered clusters, by name.
#[utoipa::path(tag = "clusters", params(ClusterQuery), responses(
    (status = 200, body = Page<Cluster>),
    (status = 400, body = Problem),
    (status = 401, body = Problem),
))]
#[get("/api/v1/clusters")]
pub async fn list_clusters(
    state: web::Data<AppState>,
    who: Authenticated,
    q: web::Query<ClusterQuery>,
) -> Result<web::Json<Page<Cluster>>, ApiError> {
    who.require(Role::Viewer)?;
    let q = q.into_inner();
    let limit = page_limit(q.limit)?;
    let labels = super::label_filter(q.label.as_deref())?;
    let filter = ClusterFilter {
        limit: limit + 1,
        after: q.cursor.as_deref().map(decode_cursor).transpose()?,
        labels,
        group: q.group,
        enabled: q.enabled,
        name_contains: q.q.filter(|s| !s.is_empty()),
    };
    let rows = clusters::list(&state.pool, &filter).await?;
    Ok(web::Json(paginate(rows, limit, |c| c.name.clone())))
}

/// Register a cluster and check that it answers (pull mode), or register a push-mode cluster
/// whose cluster agent will send its snapshots.
#[utoipa::path(tag = "clusters", request_body = RegisterCluster, responses(
    (status = 201, body = Cluster, description = "registered; `last_reachable` / `last_error` tell whether it answered"),
    (status = 400, body = Problem, description = "invalid name, labels or credentials (e.g. an exec plugin)"),
    (status = 401, body = Problem),
    (status = 403, body = Problem),
    (status = 409, body = Problem, description = "the name is taken"),
    (status = 413, body = Problem, description = "the body is over the limit"),
))]
#[post("/api/v1/clusters")]
pub async fn register_cluster(
    state: web::Data<AppState>,
    who: Authenticated,
    body: web::Json<RegisterCluster>,
) -> Result<HttpResponse, ApiError> {
    who.require(Role::Editor)?;
    let body = body.into_inner();
    let cluster =
        match (body.mode, body.credentials) {
            (ClusterMode::Push, Some(_)) => return Err(ApiError::BadRequest(
                "a push-mode cluster has no credentials: the server never connects to it; drop `credentials`"
                    .into(),
            )),
            (ClusterMode::Push, None) if body.ssh_port.is_some_and(|p| p != 0) => {
                return Err(ApiError::BadRequest(
                    "a push-mode cluster's nodes are not probed by the server: drop `ssh_port`".into(),
                ))
            }
            (ClusterMode::Push, None) => {
                let new = NewPushCluster {
                    name: body.name,
                    labels: body.labels,
                    group: body.group,
                    enabled: body.enabled,
                };
                state.register_push(&new, &who.actor()).await?
            }
            (ClusterMode::Pull, None) => {
                return Err(ApiError::BadRequest(
                    "give the cluster's `credentials` (a kubeconfig, or a server URL with a token or client \
                 certificate), or register it with `\"mode\": \"push\"` when the server cannot reach it"
                        .into(),
                ))
            }
            (ClusterMode::Pull, Some(source)) => {
                let new = NewCluster {
                    name: body.name,
                    labels: body.labels,
                    group: body.group,
                    enabled: body.enabled,
                    credentials: source.into_credentials()?,
                    ssh_port: body.ssh_port,
                };
                state.register_cluster(&new, &who.actor(), body.check_connectivity).await?
            }
        };
    Ok(HttpResponse::Created().json(cluster))
}

async fn find(state: &AppState, id: Uuid) -> Result<Cluster, ApiError> {
    clusters::get(&state.pool, id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no cluster with id {id}")))
}

/// One cluster.
#[utoipa::path(tag = "clusters", params(("id" = Uuid, Path)), responses(
    (status = 200, body = Cluster),
    (status = 401, body = Problem),
    (status = 404, body = Problem),
))]
#[get("/api/v1/clusters/{id}")]
pub async fn get_cluster(
    state: web::Data<AppState>,
    who: Authenticated,
    id: web::Path<Uuid>,
) -> Result<web::Json<Cluster>, ApiError> {
    who.require(Role::Viewer)?;
    Ok(web::Json(find(&state, *id).await?))
}

/// Rename, relabel, regroup, enable or disable a cluster.
#[utoipa::path(tag = "clusters", params(("id" = Uuid, Path)), request_body = UpdateCluster, responses(
    (status = 200, body = Cluster),
    (status = 400, body = Problem),
    (status = 401, body = Problem),
    (status = 403, body = Problem),
    (status = 404, body = Problem),
    (status = 409, body = Problem),
))]
#[patch("/api/v1/clusters/{id}")]
pub async fn update_cluster(
    state: web::Data<AppState>,
    who: Authenticated,
    id: web::Path<Uuid>,
    body: web::Json<UpdateCluster>,
) -> Result<web::Json<Cluster>, ApiError> {
    who.require(Role::Editor)?;
    let b = body.into_inner();
    let patch = ClusterPatch {
        name: b.name,
        labels: b.labels,
        group: b.group,
        enabled: b.enabled,
        ssh_port: b.ssh_port,
    };
    Ok(web::Json(clusters::update(&state.pool, *id, &patch, &who.actor()).await?))
}

/// Delete a cluster; its scan history is kept unless `purge_history=true`.
#[utoipa::path(tag = "clusters", params(("id" = Uuid, Path), DeleteQuery), responses(
    (status = 204, description = "deleted"),
    (status = 401, body = Problem),
    (status = 403, body = Problem),
    (status = 404, body = Problem),
))]
#[delete("/api/v1/clusters/{id}")]
pub async fn delete_cluster(
    state: web::Data<AppState>,
    who: Authenticated,
    id: web::Path<Uuid>,
    q: web::Query<DeleteQuery>,
) -> Result<HttpResponse, ApiError> {
    who.require(Role::Editor)?;
    clusters::delete(&state.pool, *id, q.purge_history, &who.actor()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Probe the cluster's `GET /version` now and store the outcome.
#[utoipa::path(tag = "clusters", params(("id" = Uuid, Path)), responses(
    (status = 200, body = Cluster, description = "checked; see `last_reachable`, `last_server_version`, `last_error`"),
    (status = 401, body = Problem),
    (status = 403, body = Problem),
    (status = 404, body = Problem),
    (status = 409, body = Problem, description = "the cluster is in push mode: the server never connects to it"),
))]
#[post("/api/v1/clusters/{id}/connectivity")]
pub async fn check_cluster(
    state: web::Data<AppState>,
    who: Authenticated,
    id: web::Path<Uuid>,
) -> Result<web::Json<Cluster>, ApiError> {
    Ok(web::Json(check(&state, &who, *id).await?))
}

/// Probe a cluster now (editors), store and audit the outcome; the API and the admin page both
/// call this.
pub async fn check(state: &AppState, who: &Authenticated, id: Uuid) -> Result<Cluster, ApiError> {
    who.require(Role::Editor)?;
    let cluster = find(state, id).await?;
    let checked = state.recheck(cluster.id).await?;
    audit::record(
        &state.pool,
        &who.actor(),
        "cluster.check",
        Some(&checked.name),
        serde_json::json!({"id": checked.id, "reachable": checked.last_reachable}),
    )
    .await?;
    Ok(checked)
}

/// Replace a cluster's credentials (e.g. a rotated token), then check connectivity.
#[utoipa::path(tag = "clusters", params(("id" = Uuid, Path)), request_body = ClusterSource, responses(
    (status = 200, body = Cluster),
    (status = 400, body = Problem),
    (status = 401, body = Problem),
    (status = 403, body = Problem),
    (status = 404, body = Problem),
    (status = 409, body = Problem, description = "the cluster is in push mode: it holds no credentials"),
))]
#[put("/api/v1/clusters/{id}/credentials")]
pub async fn replace_credentials(
    state: web::Data<AppState>,
    who: Authenticated,
    id: web::Path<Uuid>,
    body: web::Json<ClusterSource>,
) -> Result<web::Json<Cluster>, ApiError> {
    who.require(Role::Editor)?;
    let creds = body.into_inner().into_credentials()?;
    Ok(web::Json(state.replace_credentials(*id, &creds, &who.actor()).await?))
}
