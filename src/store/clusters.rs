//! The cluster registry. A row holds non-secret metadata (server URL, auth kind, labels, group,
//! enabled, last connectivity result) and the credentials as AES-256-GCM ciphertext
//! ([`crate::secrets::Cipher`]). The decrypted credentials leave this module only through
//! [`load_credentials`], for collectors; no endpoint returns them.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sqlx::{FromRow, PgPool};
use uuid::Uuid;

use super::audit::{self, Actor};
use super::{is_unique_violation, StoreError};
use crate::domain::Connectivity;
use crate::domain::{ClusterCredentials, ClusterName, GroupName, Labels};
use crate::secrets::Cipher;

/// A registered cluster, as the API shows it (no credentials).
#[derive(Debug, Clone, FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct Cluster {
    pub id: Uuid,
    pub name: String,
    /// The API server URL.
    pub server_url: String,
    /// `token`, `client_certificate` or `none`.
    pub auth_kind: String,
    #[sqlx(json)]
    pub labels: BTreeMap<String, String>,
    #[sqlx(rename = "cluster_group")]
    pub group: Option<String>,
    pub enabled: bool,
    /// The server certificate is not verified (itself a finding).
    pub insecure_skip_tls_verify: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When connectivity was last checked.
    pub last_checked_at: Option<DateTime<Utc>>,
    /// Whether `GET /version` answered at the last check.
    pub last_reachable: Option<bool>,
    /// `gitVersion` reported by the cluster at the last successful check.
    pub last_server_version: Option<String>,
    /// Why the last check failed, in words (TLS errors explained).
    pub last_error: Option<String>,
    /// Set while the cluster's newest scan is quarantined (it crashed or hung every replica that
    /// ran it): the reason, in words. Cleared when the next scan starts.
    pub quarantined: Option<String>,
    /// The port of the nodes' SSH servers for the SSH probe; `null`: the server's default
    /// (`[scheduler] ssh_port`, 22); `0`: SSH is not probed.
    #[schema(minimum = 0, maximum = 65535)]
    pub ssh_port: Option<i32>,
    /// `pull`: the server connects to the cluster with its stored credentials. `push`: the
    /// cluster's agent (`palisade agent --mode cluster`) sends snapshots, and the server never
    /// connects to it.
    #[schema(pattern = "^(pull|push)$", example = "pull")]
    pub mode: String,
}

/// What to register.
#[derive(Debug, Clone)]
pub struct NewCluster {
    pub name: ClusterName,
    pub labels: Labels,
    pub group: Option<GroupName>,
    pub enabled: bool,
    pub credentials: ClusterCredentials,
    /// The nodes' SSH port (`None`: the server's default; `Some(0)`: not probed).
    pub ssh_port: Option<u16>,
}

/// Filters and cursor for listing clusters (ordered by name).
#[derive(Debug, Clone, Default)]
pub struct ClusterFilter {
    pub limit: i64,
    /// Return names after this one (the cursor).
    pub after: Option<String>,
    /// Every label given must match.
    pub labels: Labels,
    pub group: Option<String>,
    pub enabled: Option<bool>,
    /// Substring of the name.
    pub name_contains: Option<String>,
}

/// A change to a cluster's metadata; `None` leaves a field alone.
#[derive(Debug, Clone, Default)]
pub struct ClusterPatch {
    pub name: Option<ClusterName>,
    pub labels: Option<Labels>,
    /// `Some(None)` clears the group.
    pub group: Option<Option<GroupName>>,
    pub enabled: Option<bool>,
    /// `Some(None)` goes back to the server's default SSH port.
    pub ssh_port: Option<Option<u16>>,
}

const COLUMNS: &str =
    "id, name, server_url, auth_kind, labels, cluster_group, enabled, insecure_skip_tls_verify, ssh_port, mode, \
     created_at, updated_at, last_checked_at, last_reachable, last_server_version, last_error, \
     (SELECT q.error FROM cluster_scan_state qs JOIN scans q ON q.id = qs.last_scan_id \
      WHERE qs.cluster_id = clusters.id AND q.quarantined) AS quarantined";

fn name_conflict(e: sqlx::Error, name: &str) -> StoreError {
    if is_unique_violation(&e) {
        StoreError::Conflict(format!("a cluster named `{name}` is already registered"))
    } else {
        e.into()
    }
}

/// Register a cluster: encrypt its credentials, insert it and write the audit entry in one
/// transaction. The connectivity check is the caller's (see `registry::Registry::register_cluster`).
#[tracing::instrument(skip_all, fields(cluster = %new.name))]
pub async fn register(
    pool: &PgPool,
    cipher: &Cipher,
    new: &NewCluster,
    actor: &Actor,
) -> Result<Cluster, StoreError> {
    let plain = serde_json::to_vec(&new.credentials).map_err(|e| StoreError::Other(e.to_string()))?;
    let (key_id, sealed) = cipher.encrypt(&plain)?;
    let labels = serde_json::to_value(new.labels.as_map()).map_err(|e| StoreError::Other(e.to_string()))?;
    let mut tx = pool.begin().await?;
    let cluster: Cluster = sqlx::query_as(&format!(
        "INSERT INTO clusters (id, name, server_url, auth_kind, labels, cluster_group, enabled, credentials, \
         credentials_key_id, insecure_skip_tls_verify, ssh_port) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
         RETURNING {COLUMNS}"
    ))
    .bind(Uuid::now_v7())
    .bind(new.name.as_str())
    .bind(&new.credentials.server)
    .bind(new.credentials.auth.kind())
    .bind(labels)
    .bind(new.group.as_ref().map(|g| g.as_str()))
    .bind(new.enabled)
    .bind(sealed)
    .bind(key_id)
    .bind(new.credentials.insecure_skip_tls_verify)
    .bind(new.ssh_port.map(i32::from))
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| name_conflict(e, new.name.as_str()))?;
    audit::record(
        &mut *tx,
        actor,
        "cluster.register",
        Some(&cluster.name),
        serde_json::json!({"id": cluster.id, "server": cluster.server_url, "auth": cluster.auth_kind}),
    )
    .await?;
    tx.commit().await?;
    Ok(cluster)
}

/// A cluster registered in push mode: no credentials, the server never connects to it.
#[derive(Debug, Clone)]
pub struct NewPushCluster {
    pub name: ClusterName,
    pub labels: Labels,
    pub group: Option<GroupName>,
    pub enabled: bool,
}

/// What a push-mode cluster's `server_url` and `auth_kind` hold: it has no address the server
/// uses and no credentials.
pub const PUSH_AUTH_KIND: &str = "agent";

/// Register a push-mode cluster (audited). Its cluster agent needs an agent token (see
/// `store::agents::create_token`).
#[tracing::instrument(skip_all, fields(cluster = %new.name))]
pub async fn register_push(
    pool: &PgPool,
    new: &NewPushCluster,
    actor: &Actor,
) -> Result<Cluster, StoreError> {
    let labels = serde_json::to_value(new.labels.as_map()).map_err(|e| StoreError::Other(e.to_string()))?;
    let mut tx = pool.begin().await?;
    let cluster: Cluster = sqlx::query_as(&format!(
        "INSERT INTO clusters (id, name, server_url, auth_kind, labels, cluster_group, enabled, mode, ssh_port) \
         VALUES ($1, $2, '', $3, $4, $5, $6, 'push', 0) RETURNING {COLUMNS}"
    ))
    .bind(Uuid::now_v7())
    .bind(new.name.as_str())
    .bind(PUSH_AUTH_KIND)
    .bind(labels)
    .bind(new.group.as_ref().map(|g| g.as_str()))
    .bind(new.enabled)
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| name_conflict(e, new.name.as_str()))?;
    audit::record(
        &mut *tx,
        actor,
        "cluster.register",
        Some(&cluster.name),
        serde_json::json!({"id": cluster.id, "mode": "push"}),
    )
    .await?;
    tx.commit().await?;
    Ok(cluster)
}

fn push_mode(name: &str) -> StoreError {
    StoreError::Conflict(format!(
        "cluster `{name}` is registered in push mode: its cluster agent sends snapshots, and the server \
         holds no credentials for it and never connects to it"
    ))
}

/// Decrypt a cluster's credentials (for collectors and the connectivity probe only).
#[tracing::instrument(skip_all, fields(cluster_id = %id))]
pub async fn load_credentials(
    pool: &PgPool,
    cipher: &Cipher,
    id: Uuid,
) -> Result<ClusterCredentials, StoreError> {
    let row: Option<(String, Option<String>, Option<Vec<u8>>)> = sqlx::query_as(
        "SELECT name, credentials_key_id, credentials FROM clusters WHERE id = $1 AND deleted_at IS NULL",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?;
    let (name, key_id, sealed) =
        row.ok_or_else(|| StoreError::NotFound(format!("no cluster with id {id}")))?;
    let (Some(key_id), Some(sealed)) = (key_id, sealed) else { return Err(push_mode(&name)) };
    let plain = cipher.decrypt(&key_id, &sealed)?;
    serde_json::from_slice(&plain)
        .map_err(|_| StoreError::Other("the stored credentials are not readable".into()))
}

/// Replace a cluster's credentials (re-upload, or re-encryption with the current key).
#[tracing::instrument(skip_all, fields(cluster_id = %id))]
pub async fn set_credentials(
    pool: &PgPool,
    cipher: &Cipher,
    id: Uuid,
    creds: &ClusterCredentials,
    actor: &Actor,
) -> Result<Cluster, StoreError> {
    let plain = serde_json::to_vec(creds).map_err(|e| StoreError::Other(e.to_string()))?;
    let (key_id, sealed) = cipher.encrypt(&plain)?;
    let mut tx = pool.begin().await?;
    let cluster: Option<Cluster> = sqlx::query_as(&format!(
        "UPDATE clusters SET credentials = $2, credentials_key_id = $3, server_url = $4, auth_kind = $5, \
         insecure_skip_tls_verify = $6, updated_at = now() WHERE id = $1 AND deleted_at IS NULL AND mode = 'pull' \
         RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(sealed)
    .bind(key_id)
    .bind(&creds.server)
    .bind(creds.auth.kind())
    .bind(creds.insecure_skip_tls_verify)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(cluster) = cluster else {
        return Err(match get(pool, id).await? {
            Some(c) => push_mode(&c.name),
            None => StoreError::NotFound(format!("no cluster with id {id}")),
        });
    };
    audit::record(&mut *tx, actor, "cluster.credentials", Some(&cluster.name), serde_json::json!({"id": id}))
        .await?;
    tx.commit().await?;
    Ok(cluster)
}

/// Re-encrypt every cluster's credentials with the current key (after a key rotation).
/// Returns how many rows were re-encrypted.
pub async fn rekey(pool: &PgPool, cipher: &Cipher) -> Result<u64, StoreError> {
    let rows: Vec<(Uuid, String, Vec<u8>)> = sqlx::query_as(
        "SELECT id, credentials_key_id, credentials FROM clusters WHERE credentials_key_id <> $1",
    )
    .bind(cipher.current_key_id())
    .fetch_all(pool)
    .await?;
    let mut tx = pool.begin().await?;
    let mut n = 0;
    for (id, key_id, sealed) in rows {
        let plain = cipher.decrypt(&key_id, &sealed)?;
        let (new_id, resealed) = cipher.encrypt(&plain)?;
        sqlx::query("UPDATE clusters SET credentials = $2, credentials_key_id = $3 WHERE id = $1")
            .bind(id)
            .bind(resealed)
            .bind(new_id)
            .execute(&mut *tx)
            .await?;
        n += 1;
    }
    audit::record(&mut *tx, &Actor::cli(), "cluster.rekey", None, serde_json::json!({"clusters": n})).await?;
    tx.commit().await?;
    Ok(n)
}

/// Store the outcome of a connectivity check.
#[tracing::instrument(skip_all, fields(cluster_id = %id))]
pub async fn record_connectivity(pool: &PgPool, id: Uuid, c: &Connectivity) -> Result<Cluster, StoreError> {
    let cluster: Option<Cluster> = sqlx::query_as(&format!(
        "UPDATE clusters SET last_checked_at = now(), last_reachable = $2, \
         last_server_version = coalesce($3, last_server_version), last_error = $4 \
         WHERE id = $1 AND deleted_at IS NULL RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(c.reachable)
    .bind(c.server_version.as_deref())
    .bind(c.error.as_deref())
    .fetch_optional(pool)
    .await?;
    cluster.ok_or_else(|| StoreError::NotFound(format!("no cluster with id {id}")))
}

/// One live cluster.
#[tracing::instrument(skip_all)]
pub async fn get(pool: &PgPool, id: Uuid) -> Result<Option<Cluster>, StoreError> {
    Ok(sqlx::query_as(&format!("SELECT {COLUMNS} FROM clusters WHERE id = $1 AND deleted_at IS NULL"))
        .bind(id)
        .fetch_optional(pool)
        .await?)
}

/// One live cluster by name.
#[tracing::instrument(skip_all)]
pub async fn get_by_name(pool: &PgPool, name: &str) -> Result<Option<Cluster>, StoreError> {
    Ok(sqlx::query_as(&format!("SELECT {COLUMNS} FROM clusters WHERE name = $1 AND deleted_at IS NULL"))
        .bind(name)
        .fetch_optional(pool)
        .await?)
}

/// A page of live clusters ordered by name; fetch `limit + 1` to know whether there is more.
#[tracing::instrument(skip_all)]
pub async fn list(pool: &PgPool, f: &ClusterFilter) -> Result<Vec<Cluster>, StoreError> {
    let labels = serde_json::to_value(f.labels.as_map()).unwrap_or_default();
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM clusters WHERE deleted_at IS NULL \
         AND ($1::text IS NULL OR name > $1) \
         AND labels @> $2::jsonb \
         AND ($3::text IS NULL OR cluster_group = $3) \
         AND ($4::boolean IS NULL OR enabled = $4) \
         AND ($5::text IS NULL OR strpos(name, $5) > 0) \
         ORDER BY name LIMIT $6"
    ))
    .bind(f.after.as_deref())
    .bind(labels)
    .bind(f.group.as_deref())
    .bind(f.enabled)
    .bind(f.name_contains.as_deref())
    .bind(f.limit)
    .fetch_all(pool)
    .await?)
}

/// Every live, enabled cluster's id and name (for schedulers).
pub async fn list_enabled_ids(pool: &PgPool) -> Result<Vec<(Uuid, String)>, StoreError> {
    Ok(sqlx::query_as("SELECT id, name FROM clusters WHERE deleted_at IS NULL AND enabled ORDER BY name")
        .fetch_all(pool)
        .await?)
}

/// Every live cluster's id and name, by name.
pub async fn live_names(pool: &PgPool) -> Result<Vec<(Uuid, String)>, StoreError> {
    Ok(sqlx::query_as("SELECT id, name FROM clusters WHERE deleted_at IS NULL ORDER BY name")
        .fetch_all(pool)
        .await?)
}

/// Change a cluster's metadata and audit it, in one transaction.
#[tracing::instrument(skip_all, fields(cluster_id = %id))]
pub async fn update(
    pool: &PgPool,
    id: Uuid,
    patch: &ClusterPatch,
    actor: &Actor,
) -> Result<Cluster, StoreError> {
    let labels = match &patch.labels {
        Some(l) => Some(serde_json::to_value(l.as_map()).map_err(|e| StoreError::Other(e.to_string()))?),
        None => None,
    };
    let mut tx = pool.begin().await?;
    let cluster: Option<Cluster> = sqlx::query_as(&format!(
        "UPDATE clusters SET name = coalesce($2, name), labels = coalesce($3, labels), \
         cluster_group = CASE WHEN $4 THEN $5 ELSE cluster_group END, enabled = coalesce($6, enabled), \
         ssh_port = CASE WHEN $7 THEN $8 ELSE ssh_port END, updated_at = now() WHERE id = $1 AND deleted_at IS NULL RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(patch.name.as_ref().map(|n| n.as_str()))
    .bind(labels)
    .bind(patch.group.is_some())
    .bind(patch.group.as_ref().and_then(|g| g.as_ref().map(|g| g.as_str())))
    .bind(patch.enabled)
    .bind(patch.ssh_port.is_some())
    .bind(patch.ssh_port.flatten().map(i32::from))
    .fetch_optional(&mut *tx)
    .await
    .map_err(|e| name_conflict(e, patch.name.as_ref().map(|n| n.as_str()).unwrap_or("")))?;
    let cluster = cluster.ok_or_else(|| StoreError::NotFound(format!("no cluster with id {id}")))?;
    let mut changed = serde_json::Map::new();
    changed.insert("id".into(), serde_json::json!(id));
    if patch.name.is_some() {
        changed.insert("name".into(), serde_json::json!(cluster.name));
    }
    if patch.labels.is_some() {
        changed.insert("labels".into(), serde_json::json!(cluster.labels));
    }
    if patch.group.is_some() {
        changed.insert("group".into(), serde_json::json!(cluster.group));
    }
    if let Some(e) = patch.enabled {
        changed.insert("enabled".into(), serde_json::json!(e));
    }
    if patch.ssh_port.is_some() {
        changed.insert("ssh_port".into(), serde_json::json!(cluster.ssh_port));
    }
    audit::record(&mut *tx, actor, "cluster.update", Some(&cluster.name), changed.into()).await?;
    tx.commit().await?;
    Ok(cluster)
}

/// Delete a cluster. With `purge_history` the row goes, and with it (through `ON DELETE CASCADE`)
/// every scan and finding that references it; without, the row is kept as deleted so its history
/// stays readable and its name can be reused.
#[tracing::instrument(skip_all, fields(cluster_id = %id))]
pub async fn delete(
    pool: &PgPool,
    id: Uuid,
    purge_history: bool,
    actor: &Actor,
) -> Result<Cluster, StoreError> {
    let mut tx = pool.begin().await?;
    let cluster: Option<Cluster> = sqlx::query_as(&format!(
        "UPDATE clusters SET deleted_at = COALESCE(deleted_at, now()), enabled = false, updated_at = now() \
         WHERE id = $1 AND (deleted_at IS NULL OR $2) RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(purge_history)
    .fetch_optional(&mut *tx)
    .await?;
    let cluster = cluster.ok_or_else(|| StoreError::NotFound(format!("no cluster with id {id}")))?;
    // A deleted cluster's open findings leave the dashboard's read model and the fleet totals.
    sqlx::query("SELECT palisade_refresh_open_summary(ARRAY[$1]::uuid[])").bind(id).execute(&mut *tx).await?;
    if purge_history {
        sqlx::query("DELETE FROM clusters WHERE id = $1").bind(id).execute(&mut *tx).await?;
    }
    audit::record(
        &mut *tx,
        actor,
        "cluster.delete",
        Some(&cluster.name),
        serde_json::json!({"id": id, "purge_history": purge_history}),
    )
    .await?;
    tx.commit().await?;
    Ok(cluster)
}
