//! Node agents' tokens and reports (issue 14). An agent token (`pla_<secret>`) can only ingest
//! for the one cluster it was made for; it is shown once and only its SHA-256 is kept. Reports are
//! accepted once per id (a retry or a replay is recognized), and never older than the node's
//! newest (a stale report is recognized too); each node keeps its few newest. A cluster agent's
//! snapshots (push mode) follow the same rules per cluster.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, PgPool};
use uuid::Uuid;

use super::audit::{self, Actor};
use super::sessions::{hash_secret, new_secret};
use super::StoreError;
use crate::snapshot::host::{ClusterReport, HostReport, NodeReport};
use crate::snapshot::Snapshot;

/// The prefix that marks a Palisade agent token (helps secret scanners).
pub const AGENT_TOKEN_PREFIX: &str = "pla_";
/// Reports kept per node (the newest is what scans read).
const KEPT_PER_NODE: i64 = 3;

/// An agent token's metadata (never the secret).
#[derive(Debug, Clone, FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct AgentToken {
    pub id: Uuid,
    pub cluster_id: Uuid,
    pub name: String,
    /// First characters of the token, to recognise it.
    pub prefix: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str = "id, cluster_id, name, prefix, created_by, created_at, revoked_at, last_used_at";

/// Create a token for `cluster_id` (audited); returns its metadata and the secret (shown once).
pub async fn create_token(
    pool: &PgPool,
    cluster_id: Uuid,
    name: &str,
    actor: &Actor,
) -> Result<(AgentToken, String), StoreError> {
    let (secret, _) = new_secret();
    let token = format!("{AGENT_TOKEN_PREFIX}{secret}");
    let mut tx = pool.begin().await?;
    let row: AgentToken = sqlx::query_as(&format!(
        "INSERT INTO agent_tokens (id, cluster_id, name, token_hash, prefix, created_by) \
         SELECT $1, $2, $3, $4, $5, $6 WHERE EXISTS (SELECT 1 FROM clusters WHERE id = $2 AND deleted_at IS NULL) \
         RETURNING {COLUMNS}"
    ))
    .bind(Uuid::now_v7())
    .bind(cluster_id)
    .bind(name)
    .bind(hash_secret(&token))
    .bind(&token[..AGENT_TOKEN_PREFIX.len() + 6])
    .bind(&actor.name)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| StoreError::NotFound(format!("no cluster with id {cluster_id}")))?;
    audit::record(
        &mut *tx,
        actor,
        "agent_token.create",
        Some(name),
        serde_json::json!({"cluster": cluster_id, "token": row.id}),
    )
    .await?;
    tx.commit().await?;
    Ok((row, token))
}

/// A cluster's agent tokens, newest first.
pub async fn list_tokens(pool: &PgPool, cluster_id: Uuid) -> Result<Vec<AgentToken>, StoreError> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM agent_tokens WHERE cluster_id = $1 ORDER BY created_at DESC, id DESC"
    ))
    .bind(cluster_id)
    .fetch_all(pool)
    .await?)
}

/// Revoke one of a cluster's tokens (audited); false when there was no such live token.
pub async fn revoke_token(
    pool: &PgPool,
    cluster_id: Uuid,
    id: Uuid,
    actor: &Actor,
) -> Result<bool, StoreError> {
    let mut tx = pool.begin().await?;
    let name: Option<String> = sqlx::query_scalar(
        "UPDATE agent_tokens SET revoked_at = now() WHERE id = $1 AND cluster_id = $2 AND revoked_at IS NULL \
         RETURNING name",
    )
    .bind(id)
    .bind(cluster_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(name) = name else { return Ok(false) };
    audit::record(
        &mut *tx,
        actor,
        "agent_token.revoke",
        Some(&name),
        serde_json::json!({"cluster": cluster_id, "token": id}),
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// The cluster a live agent token may ingest for, and the token's id.
#[derive(Debug, Clone, FromRow)]
pub struct AgentPrincipal {
    pub token_id: Uuid,
    pub cluster_id: Uuid,
    pub cluster_name: String,
    /// `pull` (the server collects the cluster) or `push` (its cluster agent sends snapshots).
    pub cluster_mode: String,
}

pub async fn lookup(pool: &PgPool, token: &str) -> Result<Option<AgentPrincipal>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT t.id AS token_id, c.id AS cluster_id, c.name AS cluster_name, c.mode AS cluster_mode FROM agent_tokens t \
         JOIN clusters c ON c.id = t.cluster_id \
         WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND c.deleted_at IS NULL",
    )
    .bind(hash_secret(token))
    .fetch_optional(pool)
    .await?)
}

/// Why a report was not stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// This report id was accepted before.
    Duplicate { received_at: DateTime<Utc> },
    /// The node has a newer report already.
    Stale { newest: DateTime<Utc> },
}

/// Store a report for the token's cluster, unless it is a duplicate or stale.
pub async fn ingest(
    pool: &PgPool,
    who: &AgentPrincipal,
    report: &NodeReport,
) -> Result<Result<(), Refused>, StoreError> {
    let facts = serde_json::to_value(&report.facts).map_err(|e| StoreError::Other(e.to_string()))?;
    let mut tx = pool.begin().await?;
    // One writer per node at a time, so the staleness check and the insert agree.
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1::text || '/' || $2, 14))")
        .bind(who.cluster_id)
        .bind(&report.node)
        .execute(&mut *tx)
        .await?;
    let seen: Option<DateTime<Utc>> =
        sqlx::query_scalar("SELECT received_at FROM node_reports WHERE cluster_id = $1 AND report_id = $2")
            .bind(who.cluster_id)
            .bind(report.report_id)
            .fetch_optional(&mut *tx)
            .await?;
    if let Some(received_at) = seen {
        return Ok(Err(Refused::Duplicate { received_at }));
    }
    let newest: Option<DateTime<Utc>> =
        sqlx::query_scalar("SELECT max(collected_at) FROM node_reports WHERE cluster_id = $1 AND node = $2")
            .bind(who.cluster_id)
            .bind(&report.node)
            .fetch_one(&mut *tx)
            .await?;
    if let Some(newest) = newest.filter(|n| *n > report.collected_at) {
        return Ok(Err(Refused::Stale { newest }));
    }
    sqlx::query(
        "INSERT INTO node_reports (cluster_id, report_id, node, token_id, collected_at, agent_version, facts) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(who.cluster_id)
    .bind(report.report_id)
    .bind(&report.node)
    .bind(who.token_id)
    .bind(report.collected_at)
    .bind(&report.agent_version)
    .bind(facts)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "DELETE FROM node_reports WHERE cluster_id = $1 AND node = $2 AND report_id NOT IN \
         (SELECT report_id FROM node_reports WHERE cluster_id = $1 AND node = $2 ORDER BY collected_at DESC LIMIT $3)",
    )
    .bind(who.cluster_id)
    .bind(&report.node)
    .bind(KEPT_PER_NODE)
    .execute(&mut *tx)
    .await?;
    sqlx::query("UPDATE agent_tokens SET last_used_at = now() WHERE id = $1")
        .bind(who.token_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Ok(()))
}

#[derive(FromRow)]
struct ReportRow {
    node: String,
    report_id: Uuid,
    collected_at: DateTime<Utc>,
    received_at: DateTime<Utc>,
    facts: serde_json::Value,
}

/// Each node's newest report for a cluster, by node name.
pub async fn latest(pool: &PgPool, cluster_id: Uuid) -> Result<Vec<HostReport>, StoreError> {
    let rows: Vec<ReportRow> = sqlx::query_as(
        "SELECT DISTINCT ON (node) node, report_id, collected_at, received_at, facts FROM node_reports \
         WHERE cluster_id = $1 ORDER BY node, collected_at DESC",
    )
    .bind(cluster_id)
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(HostReport {
                facts: serde_json::from_value(r.facts).map_err(|e| StoreError::Corrupt(e.to_string()))?,
                node: r.node,
                report_id: r.report_id,
                collected_at: r.collected_at,
                received_at: r.received_at,
            })
        })
        .collect()
}

/// A node's newest report in brief, read without decoding its facts.
#[derive(Debug, Clone, FromRow)]
pub struct ReportSummary {
    pub node: String,
    pub report_id: Uuid,
    pub collected_at: DateTime<Utc>,
    pub received_at: DateTime<Utc>,
    pub sshd: bool,
    pub files: i32,
    pub certificates: i32,
    pub errors: Vec<String>,
}

/// The newest report per node, in brief (for the API's agent list and the dashboard): counted in
/// the database, so a page view does not decode every node's manifests and files.
pub async fn summaries(pool: &PgPool, cluster_id: Uuid) -> Result<Vec<ReportSummary>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT DISTINCT ON (node) node, report_id, collected_at, received_at, \
         coalesce(jsonb_typeof(facts->'sshd') = 'object', false) AS sshd, \
         coalesce(jsonb_array_length(facts->'files'), 0) AS files, \
         coalesce(jsonb_array_length(facts->'pki'), 0) AS certificates, \
         coalesce(ARRAY(SELECT jsonb_array_elements_text(facts->'errors')), '{}') AS errors \
         FROM node_reports WHERE cluster_id = $1 ORDER BY node, collected_at DESC",
    )
    .bind(cluster_id)
    .fetch_all(pool)
    .await?)
}

/// A certificate in a node's newest report that expires before a time.
#[derive(Debug, Clone, FromRow)]
pub struct ExpiringCert {
    pub node: String,
    pub path: String,
    pub subject: String,
    pub not_after: DateTime<Utc>,
}

/// The certificates of each node's newest report that expire before `before`, soonest first.
pub async fn expiring(
    pool: &PgPool,
    cluster_id: Uuid,
    before: DateTime<Utc>,
) -> Result<Vec<ExpiringCert>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT r.node, c->>'path' AS path, c->>'subject' AS subject, (c->>'not_after')::timestamptz AS not_after \
         FROM (SELECT DISTINCT ON (node) node, facts FROM node_reports WHERE cluster_id = $1 \
               ORDER BY node, collected_at DESC) r, \
              jsonb_array_elements(coalesce(r.facts->'pki', '[]')) c \
         WHERE (c->>'not_after')::timestamptz < $2 ORDER BY not_after, r.node, path",
    )
    .bind(cluster_id)
    .bind(before)
    .fetch_all(pool)
    .await?)
}

/// Snapshots kept per push-mode cluster (the newest is what scans judge).
const KEPT_PER_CLUSTER: i64 = 2;

/// Store a cluster agent's snapshot for the token's cluster, unless it is a duplicate or stale.
/// Returns the stored size (JSON bytes before compression).
pub async fn ingest_cluster(
    pool: &PgPool,
    who: &AgentPrincipal,
    report: ClusterReport,
) -> Result<Result<usize, Refused>, StoreError> {
    let ClusterReport { report_id, collected_at, agent_version, snapshot, .. } = report;
    // Compressing a large snapshot is CPU-bound: keep it off the async workers.
    let (raw, gz) = tokio::task::spawn_blocking(move || super::scans::compress_snapshot(&snapshot))
        .await
        .map_err(|e| StoreError::Other(format!("compressing the snapshot stopped: {e}")))??;
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1::text || '/cluster-report', 14))")
        .bind(who.cluster_id)
        .execute(&mut *tx)
        .await?;
    let seen: Option<DateTime<Utc>> = sqlx::query_scalar(
        "SELECT received_at FROM cluster_reports WHERE cluster_id = $1 AND report_id = $2",
    )
    .bind(who.cluster_id)
    .bind(report_id)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(received_at) = seen {
        return Ok(Err(Refused::Duplicate { received_at }));
    }
    let newest: Option<DateTime<Utc>> =
        sqlx::query_scalar("SELECT max(collected_at) FROM cluster_reports WHERE cluster_id = $1")
            .bind(who.cluster_id)
            .fetch_one(&mut *tx)
            .await?;
    if let Some(newest) = newest.filter(|n| *n > collected_at) {
        return Ok(Err(Refused::Stale { newest }));
    }
    sqlx::query(
        "INSERT INTO cluster_reports (cluster_id, report_id, token_id, collected_at, agent_version, raw_bytes, gzip) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(who.cluster_id)
    .bind(report_id)
    .bind(who.token_id)
    .bind(collected_at)
    .bind(&agent_version)
    .bind(raw as i64)
    .bind(gz)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "DELETE FROM cluster_reports WHERE cluster_id = $1 AND report_id NOT IN \
         (SELECT report_id FROM cluster_reports WHERE cluster_id = $1 ORDER BY collected_at DESC LIMIT $2)",
    )
    .bind(who.cluster_id)
    .bind(KEPT_PER_CLUSTER)
    .execute(&mut *tx)
    .await?;
    sqlx::query("UPDATE agent_tokens SET last_used_at = now() WHERE id = $1")
        .bind(who.token_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Ok(raw))
}

/// A cluster agent's newest report in brief.
#[derive(Debug, Clone, FromRow)]
pub struct ClusterReportSummary {
    pub report_id: Uuid,
    pub collected_at: DateTime<Utc>,
    pub received_at: DateTime<Utc>,
    pub agent_version: String,
    pub raw_bytes: i64,
}

/// The cluster agent's newest report in brief, if it has sent one.
pub async fn cluster_report_summary(
    pool: &PgPool,
    cluster_id: Uuid,
) -> Result<Option<ClusterReportSummary>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT report_id, collected_at, received_at, agent_version, raw_bytes FROM cluster_reports \
         WHERE cluster_id = $1 ORDER BY collected_at DESC LIMIT 1",
    )
    .bind(cluster_id)
    .fetch_optional(pool)
    .await?)
}

/// A pushed snapshot, as a scan judges it.
#[derive(Debug, Clone)]
pub struct PushedSnapshot {
    pub report: ClusterReportSummary,
    pub snapshot: Snapshot,
}

/// The cluster agent's newest snapshot, decoded.
pub async fn latest_cluster_report(
    pool: &PgPool,
    cluster_id: Uuid,
) -> Result<Option<PushedSnapshot>, StoreError> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        report: ClusterReportSummary,
        gzip: Vec<u8>,
    }
    let row: Option<Row> = sqlx::query_as(
        "SELECT report_id, collected_at, received_at, agent_version, raw_bytes, gzip FROM cluster_reports \
         WHERE cluster_id = $1 ORDER BY collected_at DESC LIMIT 1",
    )
    .bind(cluster_id)
    .fetch_optional(pool)
    .await?;
    let Some(Row { report, gzip: gz }) = row else {
        return Ok(None);
    };
    let snapshot = tokio::task::spawn_blocking(move || super::scans::decompress_snapshot(&gz))
        .await
        .map_err(|e| StoreError::Other(format!("decoding the snapshot stopped: {e}")))??;
    Ok(Some(PushedSnapshot { report, snapshot }))
}
