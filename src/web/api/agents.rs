//! Node agents (issue 14): per-cluster agent tokens (admins create and revoke them; shown once),
//! the ingest endpoint agents post their reports to, and each node's last report.
//!
//! An agent token authenticates nothing but `POST /api/v1/ingest/node`, and only for its own
//! cluster; API tokens and sessions cannot ingest. Every refusal says why: a duplicate report id
//! (a retry of a report already stored: the agent may forget it), a report older than the node's
//! newest, a report from the future, a node name that is not a DNS name, an unknown schema.

use actix_web::http::header;
use actix_web::{delete, get, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::Role;
use crate::snapshot::host::{ClusterReport, NodeReport, CLUSTER_REPORT_SCHEMA, NODE_REPORT_SCHEMA};
use crate::store::agents::{self, AgentPrincipal, AgentToken, Refused};
use crate::store::clusters;
use crate::web::auth::Authenticated;
use crate::web::error::{ApiError, Problem};
use crate::web::AppState;

/// An agent token to create.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAgentToken {
    /// What the token is for (1-100 characters), e.g. the DaemonSet it is mounted in.
    #[schema(example = "node-agent-daemonset", min_length = 1, max_length = 100, pattern = r"^[^\x00]*$")]
    pub name: String,
}

/// A created agent token: its metadata and the secret, shown this once.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedAgentToken {
    #[serde(flatten)]
    pub token: AgentToken,
    /// Give it to the agent (`--token-file`). It cannot be shown again.
    pub secret: String,
}

async fn cluster(state: &AppState, id: Uuid) -> Result<clusters::Cluster, ApiError> {
    clusters::get(&state.pool, id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no cluster with id {id}")))
}

/// Create an agent token for a cluster (admin). The secret is in the answer only.
#[utoipa::path(tag = "agents", params(("id" = Uuid, Path)), request_body = CreateAgentToken, responses(
    (status = 201, body = CreatedAgentToken),
    (status = 400, body = Problem),
    (status = 401, body = Problem),
    (status = 403, body = Problem),
    (status = 404, body = Problem),
))]
#[post("/api/v1/clusters/{id}/agent-tokens")]
pub async fn create_agent_token(
    state: web::Data<AppState>,
    who: Authenticated,
    id: web::Path<Uuid>,
    body: web::Json<CreateAgentToken>,
) -> Result<HttpResponse, ApiError> {
    who.require(Role::Admin)?;
    let name = body.name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.contains('\0') {
        return Err(ApiError::BadRequest("the token name must be 1-100 characters".into()));
    }
    let c = cluster(&state, *id).await?;
    let (token, secret) = agents::create_token(&state.pool, c.id, name, &who.actor()).await?;
    Ok(HttpResponse::Created().json(CreatedAgentToken { token, secret }))
}

/// A cluster's agent tokens (admin), newest first; never the secrets.
#[utoipa::path(tag = "agents", params(("id" = Uuid, Path)), responses(
    (status = 200, body = Vec<AgentToken>),
    (status = 401, body = Problem),
    (status = 403, body = Problem),
    (status = 404, body = Problem),
))]
#[get("/api/v1/clusters/{id}/agent-tokens")]
pub async fn list_agent_tokens(
    state: web::Data<AppState>,
    who: Authenticated,
    id: web::Path<Uuid>,
) -> Result<web::Json<Vec<AgentToken>>, ApiError> {
    who.require(Role::Admin)?;
    let c = cluster(&state, *id).await?;
    Ok(web::Json(agents::list_tokens(&state.pool, c.id).await?))
}

/// Revoke an agent token (admin): the agents holding it are refused from now on.
#[utoipa::path(tag = "agents", params(("id" = Uuid, Path), ("token_id" = Uuid, Path)), responses(
    (status = 204, description = "revoked"),
    (status = 401, body = Problem),
    (status = 403, body = Problem),
    (status = 404, body = Problem),
))]
#[delete("/api/v1/clusters/{id}/agent-tokens/{token_id}")]
pub async fn revoke_agent_token(
    state: web::Data<AppState>,
    who: Authenticated,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    who.require(Role::Admin)?;
    let (id, token_id) = path.into_inner();
    if agents::revoke_token(&state.pool, id, token_id, &who.actor()).await? {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(ApiError::NotFound(format!("cluster {id} has no live agent token {token_id}")))
    }
}

/// A node's last report, in brief.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AgentReportSummary {
    pub node: String,
    pub report_id: Uuid,
    pub collected_at: DateTime<Utc>,
    pub received_at: DateTime<Utc>,
    /// Whether the report holds sshd settings, and how many files and certificates.
    pub sshd: bool,
    pub files: usize,
    pub certificates: usize,
    /// What the agent could not read.
    pub errors: Vec<String>,
}

/// Each node's last agent report.
#[utoipa::path(tag = "agents", params(("id" = Uuid, Path)), responses(
    (status = 200, body = Vec<AgentReportSummary>),
    (status = 401, body = Problem),
    (status = 404, body = Problem),
))]
#[get("/api/v1/clusters/{id}/agents")]
pub async fn list_agents(
    state: web::Data<AppState>,
    who: Authenticated,
    id: web::Path<Uuid>,
) -> Result<web::Json<Vec<AgentReportSummary>>, ApiError> {
    who.require(Role::Viewer)?;
    let c = cluster(&state, *id).await?;
    let reports = agents::summaries(&state.pool, c.id).await?;
    Ok(web::Json(
        reports
            .into_iter()
            .map(|r| AgentReportSummary {
                node: r.node,
                report_id: r.report_id,
                collected_at: r.collected_at,
                received_at: r.received_at,
                sshd: r.sshd,
                files: r.files as usize,
                certificates: r.certificates as usize,
                errors: r.errors,
            })
            .collect(),
    ))
}

/// What the ingest endpoint answers for a stored report.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Ingested {
    pub cluster: String,
    pub node: String,
    pub report_id: Uuid,
}

/// Clock skew tolerated between an agent and the server.
const MAX_SKEW: chrono::Duration = chrono::Duration::minutes(5);

fn valid_node_name(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= 253
        && n.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        })
}

/// The cluster an agent token in the `Authorization` header may ingest for.
async fn agent(state: &AppState, req: &HttpRequest) -> Result<AgentPrincipal, ApiError> {
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(crate::web::auth::bearer)
        .filter(|t| t.starts_with(agents::AGENT_TOKEN_PREFIX))
        .ok_or(ApiError::Unauthenticated)?;
    agents::lookup(&state.pool, token).await?.ok_or(ApiError::Unauthenticated)
}

/// Reports are JSON. Checked only once the caller is known: an anonymous caller learns nothing
/// about what the endpoint takes.
fn require_json(req: &HttpRequest) -> Result<(), ApiError> {
    let json = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| {
        v.split(';').next().is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
    });
    if json {
        Ok(())
    } else {
        Err(ApiError::UnsupportedMediaType("send the report as application/json".into()))
    }
}

fn refusal(refused: Refused, report_id: Uuid, collected_at: DateTime<Utc>, whose: &str) -> ApiError {
    match refused {
        Refused::Duplicate { received_at } => ApiError::Conflict(format!(
            "duplicate report: {report_id} was stored at {}; nothing to resend",
            received_at.to_rfc3339()
        )),
        Refused::Stale { newest } => ApiError::Conflict(format!(
            "stale report: {whose} already has a report collected at {}, newer than this one ({})",
            newest.to_rfc3339(),
            collected_at.to_rfc3339()
        )),
    }
}

fn not_from_the_future(collected_at: DateTime<Utc>, whose: &str) -> Result<(), ApiError> {
    if collected_at > Utc::now() + MAX_SKEW {
        return Err(ApiError::BadRequest(format!(
            "the report was collected at {}, in the future: check the {whose}'s clock",
            collected_at.to_rfc3339()
        )));
    }
    Ok(())
}

/// A node agent's report, authenticated by its cluster's agent token.
#[utoipa::path(tag = "agents", request_body = NodeReport, security(("agent" = [])), responses(
    (status = 202, body = Ingested, description = "stored: the cluster's next scan judges it as node-agent evidence"),
    (status = 400, body = Problem, description = "not a report: bad JSON, unknown schema, a node name that is not a DNS name, a collection time in the future"),
    (status = 401, body = Problem, description = "no agent token, or a revoked or unknown one"),
    (status = 409, body = Problem, description = "a duplicate (this report id was stored before: drop it) or stale (the node has a newer report) report"),
    (status = 413, body = Problem),
    (status = 415, body = Problem),
))]
#[post("/api/v1/ingest/node")]
pub async fn ingest_node(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let who = agent(&state, &req).await?;
    require_json(&req)?;
    // NUL and invalid UTF-8 cannot be stored (PostgreSQL text and jsonb refuse them).
    crate::web::input::check_body("application/json", &body)?;
    let report: NodeReport =
        serde_json::from_slice(&body).map_err(|e| ApiError::BadRequest(format!("not a node report: {e}")))?;
    if report.schema != NODE_REPORT_SCHEMA {
        return Err(ApiError::BadRequest(format!(
            "unknown report schema `{}`: this server takes `{NODE_REPORT_SCHEMA}`",
            report.schema
        )));
    }
    if !valid_node_name(&report.node) {
        return Err(ApiError::BadRequest(format!("`{}` is not a node name (a DNS subdomain)", report.node)));
    }
    not_from_the_future(report.collected_at, "node")?;
    match agents::ingest(&state.pool, &who, &report).await? {
        Ok(()) => {
            tracing::info!(cluster = %who.cluster_name, node = %report.node, report = %report.report_id, "node report stored");
            Ok(HttpResponse::Accepted().json(Ingested {
                cluster: who.cluster_name,
                node: report.node,
                report_id: report.report_id,
            }))
        }
        Err(refused) => {
            Err(refusal(refused, report.report_id, report.collected_at, &format!("node {}", report.node)))
        }
    }
}

/// What the cluster ingest endpoint answers for a stored snapshot.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IngestedCluster {
    pub cluster: String,
    pub report_id: Uuid,
    /// Bytes of snapshot JSON stored.
    pub bytes: usize,
    /// The scan that judges it (queued now, or already queued).
    pub scan_id: Uuid,
}

/// Read a request body of at most `limit` bytes, decoding `Content-Encoding: gzip` (the limit
/// holds for the decoded JSON too, so a small compressed body cannot expand without bound).
async fn read_limited(
    req: &HttpRequest,
    mut payload: web::Payload,
    limit: usize,
) -> Result<Vec<u8>, ApiError> {
    use futures::StreamExt;
    let encoding = req
        .headers()
        .get(header::CONTENT_ENCODING)
        .map(|v| v.to_str().unwrap_or("?").trim().to_ascii_lowercase())
        .unwrap_or_default();
    let gzip = match encoding.as_str() {
        "" | "identity" => false,
        "gzip" | "x-gzip" => true,
        other => {
            return Err(ApiError::UnsupportedMediaType(format!(
                "Content-Encoding `{other}` is not taken: send the snapshot as is or gzip-compressed"
            )))
        }
    };
    let mut body = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| ApiError::BadRequest(format!("cannot read the request body: {e}")))?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::PayloadTooLarge(limit));
        }
        body.extend_from_slice(&chunk);
    }
    if !gzip {
        return Ok(body);
    }
    tokio::task::spawn_blocking(move || {
        use std::io::Read;
        let mut json = Vec::new();
        flate2::read::GzDecoder::new(body.as_slice())
            .take(limit as u64 + 1)
            .read_to_end(&mut json)
            .map_err(|e| ApiError::BadRequest(format!("the body is not valid gzip: {e}")))?;
        if json.len() > limit {
            return Err(ApiError::PayloadTooLarge(limit));
        }
        Ok(json)
    })
    .await
    .map_err(|e| ApiError::Internal(anyhow::anyhow!("decoding the body stopped: {e}")))?
}

/// A cluster agent's snapshot (push mode), authenticated by its cluster's agent token. The body
/// may be gzip-compressed (`Content-Encoding: gzip`); its limit is `[server]
/// cluster_report_limit_bytes` of JSON (256 MiB by default), not the API's general body limit.
/// The snapshot is stored and a scan of it is queued.
#[utoipa::path(tag = "agents", request_body = ClusterReport, security(("agent" = [])), responses(
    (status = 202, body = IngestedCluster, description = "stored, and a scan of it queued"),
    (status = 400, body = Problem, description = "not a report: bad JSON or gzip, unknown schema, not a snapshot, a collection time in the future"),
    (status = 401, body = Problem, description = "no agent token, or a revoked or unknown one"),
    (status = 409, body = Problem, description = "the cluster is in pull mode, or a duplicate (this report id was stored before: drop it) or stale (the cluster has a newer report) report"),
    (status = 413, body = Problem),
    (status = 415, body = Problem, description = "not application/json, or a Content-Encoding other than gzip"),
))]
#[post("/api/v1/ingest/cluster")]
pub async fn ingest_cluster(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let who = agent(&state, &req).await?;
    if who.cluster_mode != "push" {
        return Err(ApiError::Conflict(format!(
            "cluster `{}` is registered in pull mode: the server collects it itself; register it with \
             `\"mode\": \"push\"` to have its cluster agent send snapshots",
            who.cluster_name
        )));
    }
    require_json(&req)?;
    let body = read_limited(&req, payload, state.settings.server.cluster_report_limit_bytes).await?;
    let body = web::Bytes::from(body);
    crate::web::input::check_body("application/json", &body)?;
    // Decoding a large snapshot is CPU-bound: keep it off the async workers.
    let report: ClusterReport = tokio::task::spawn_blocking(move || serde_json::from_slice(&body))
        .await
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("decoding the report stopped: {e}")))?
        .map_err(|e| ApiError::BadRequest(format!("not a cluster report: {e}")))?;
    if report.schema != CLUSTER_REPORT_SCHEMA {
        return Err(ApiError::BadRequest(format!(
            "unknown report schema `{}`: this server takes `{CLUSTER_REPORT_SCHEMA}`",
            report.schema
        )));
    }
    not_from_the_future(report.collected_at, "cluster agent's node")?;
    let (report_id, collected_at) = (report.report_id, report.collected_at);
    match state.registry.ingest_cluster_report(&who, report).await? {
        Ok((bytes, scan)) => {
            tracing::info!(cluster = %who.cluster_name, report = %report_id, bytes, scan = %scan.id, "cluster report stored");
            Ok(HttpResponse::Accepted().json(IngestedCluster {
                cluster: who.cluster_name,
                report_id,
                bytes,
                scan_id: scan.id,
            }))
        }
        Err(refused) => {
            Err(refusal(refused, report_id, collected_at, &format!("cluster {}", who.cluster_name)))
        }
    }
}
