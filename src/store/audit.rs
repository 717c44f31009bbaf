//! The audit log: one row per state-changing action (logins, users, tokens, clusters, scans).
//! Details are plain JSON chosen by the caller and must never hold secrets.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, PgExecutor, PgPool};
use uuid::Uuid;

use super::StoreError;

/// Who did something.
#[derive(Debug, Clone)]
pub struct Actor {
    pub id: Option<Uuid>,
    /// Username, or `system` / `cli` for actions without a logged-in user.
    pub name: String,
    pub address: Option<String>,
    /// An administrator, or the server host itself (CLI, start-up): may do what only admins may,
    /// such as registering a cluster without certificate verification.
    pub admin: bool,
}

impl Actor {
    /// Palisade itself (start-up, demo fleet, scheduler).
    pub fn system() -> Actor {
        Actor { id: None, name: "system".into(), address: None, admin: true }
    }
    /// The command line on the server host.
    pub fn cli() -> Actor {
        Actor { id: None, name: "cli".into(), address: None, admin: true }
    }
}

/// One audit entry.
#[derive(Debug, Clone, FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct AuditEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor_id: Option<Uuid>,
    pub actor: String,
    pub action: String,
    pub target: Option<String>,
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
    pub address: Option<String>,
}

/// Append an entry (inside the caller's transaction when given one).
pub async fn record<'e>(
    db: impl PgExecutor<'e>,
    actor: &Actor,
    action: &str,
    target: Option<&str>,
    detail: serde_json::Value,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO audit_log (actor_id, actor, action, target, detail, address) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(actor.id)
        .bind(&actor.name)
        .bind(action)
        .bind(target)
        .bind(detail)
        .bind(actor.address.as_deref())
        .execute(db)
        .await?;
    Ok(())
}

/// Entries newest first, older than `before` (the cursor), optionally one action.
#[tracing::instrument(skip_all)]
pub async fn list(
    pool: &PgPool,
    limit: i64,
    before: Option<i64>,
    action: Option<&str>,
) -> Result<Vec<AuditEntry>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT id, at, actor_id, actor, action, target, detail, address FROM audit_log \
         WHERE ($1::bigint IS NULL OR id < $1) AND ($2::text IS NULL OR action = $2) ORDER BY id DESC LIMIT $3",
    )
    .bind(before)
    .bind(action)
    .bind(limit)
    .fetch_all(pool)
    .await?)
}
