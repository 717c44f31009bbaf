//! Server-side login sessions. The cookie carries a random secret; only its SHA-256 is stored,
//! so a database dump cannot be replayed as a cookie. Sessions expire and can be revoked.

use chrono::{DateTime, Duration, Utc};
use sqlx::{FromRow, PgPool};
use uuid::Uuid;

use super::StoreError;
use crate::domain::Role;

/// Make a random secret (32 bytes, base64url) and its SHA-256.
pub fn new_secret() -> (String, Vec<u8>) {
    use base64::Engine;
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let hash = hash_secret(&secret);
    (secret, hash)
}

/// SHA-256 of a secret as stored in the database.
pub fn hash_secret(secret: &str) -> Vec<u8> {
    use sha2::Digest;
    sha2::Sha256::digest(secret.as_bytes()).to_vec()
}

/// A live session and who it belongs to.
#[derive(Debug, Clone, FromRow)]
pub struct SessionUser {
    pub session_id: Uuid,
    pub csrf_token: String,
    pub user_id: Uuid,
    pub username: String,
    pub role: Role,
    pub expires_at: DateTime<Utc>,
}

/// A session as listed to its owner.
#[derive(Debug, Clone, FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct SessionInfo {
    pub id: Uuid,
    pub address: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// Start a session; returns the cookie secret and the CSRF token.
#[tracing::instrument(skip_all)]
pub async fn create(
    pool: &PgPool,
    user_id: Uuid,
    address: Option<&str>,
    ttl: Duration,
) -> Result<(String, String), StoreError> {
    let (secret, hash) = new_secret();
    let (csrf, _) = new_secret();
    sqlx::query(
        "INSERT INTO sessions (id, token_hash, user_id, csrf_token, address, expires_at) \
         VALUES ($1, $2, $3, $4, $5, now() + $6)",
    )
    .bind(Uuid::now_v7())
    .bind(hash)
    .bind(user_id)
    .bind(&csrf)
    .bind(address)
    .bind(ttl)
    .execute(pool)
    .await?;
    Ok((secret, csrf))
}

/// The live session for a cookie secret (not expired, not revoked, user enabled).
#[tracing::instrument(skip_all)]
pub async fn lookup(pool: &PgPool, secret: &str) -> Result<Option<SessionUser>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT s.id AS session_id, s.csrf_token, u.id AS user_id, u.username, u.role, s.expires_at FROM sessions s \
         JOIN users u ON u.id = s.user_id \
         WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > now() AND NOT u.disabled",
    )
    .bind(hash_secret(secret))
    .fetch_optional(pool)
    .await?)
}

/// Revoke one session of `user_id` (logout, or revoking from the sessions list).
#[tracing::instrument(skip_all)]
pub async fn revoke(pool: &PgPool, user_id: Uuid, session_id: Uuid) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE sessions SET revoked_at = now() WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL",
    )
    .bind(session_id)
    .bind(user_id)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The live sessions of a user.
#[tracing::instrument(skip_all)]
pub async fn list_for_user(pool: &PgPool, user_id: Uuid) -> Result<Vec<SessionInfo>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT id, address, created_at, expires_at FROM sessions \
         WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > now() ORDER BY created_at DESC",
    )
    .bind(user_id)
    .fetch_all(pool)
    .await?)
}

/// Record a failed login for throttling.
pub async fn record_failure(pool: &PgPool, username: &str, address: &str) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO login_failures (username, address) VALUES ($1, $2)")
        .bind(username)
        .bind(address)
        .execute(pool)
        .await?;
    Ok(())
}

/// Failed logins within the window: (for this account, from this address).
pub async fn recent_failures(
    pool: &PgPool,
    username: &str,
    address: &str,
    window: Duration,
) -> Result<(i64, i64), StoreError> {
    Ok(sqlx::query_as(
        "SELECT (SELECT count(*) FROM login_failures WHERE username = $1 AND at > now() - $3), \
                (SELECT count(*) FROM login_failures WHERE address = $2 AND at > now() - $3)",
    )
    .bind(username)
    .bind(address)
    .bind(window)
    .fetch_one(pool)
    .await?)
}

/// Forget an account's failures after a successful login.
pub async fn clear_failures(pool: &PgPool, username: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM login_failures WHERE username = $1").bind(username).execute(pool).await?;
    Ok(())
}

/// Remove sessions that expired, or were revoked more than a day ago, and failed logins older than
/// the throttling `window`. Returns (sessions, failures) removed.
pub async fn prune(pool: &PgPool, window: Duration) -> Result<(u64, u64), StoreError> {
    let sessions = sqlx::query(
        "DELETE FROM sessions WHERE expires_at < now() OR (revoked_at IS NOT NULL AND revoked_at < now() - interval '1 day')",
    )
    .execute(pool)
    .await?
    .rows_affected();
    let failures = sqlx::query("DELETE FROM login_failures WHERE at < now() - $1")
        .bind(window)
        .execute(pool)
        .await?
        .rows_affected();
    Ok((sessions, failures))
}

/// Prune every `every` until the task is aborted (one per replica; deleting twice is harmless).
pub fn spawn_pruning(
    pool: PgPool,
    every: std::time::Duration,
    window: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every.max(std::time::Duration::from_secs(1)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match prune(&pool, window).await {
                Ok((0, 0)) => {}
                Ok((sessions, failures)) => {
                    tracing::debug!(sessions, failures, "pruned expired sessions and old failed logins")
                }
                Err(e) => {
                    tracing::warn!(error = %crate::telemetry::Chain(&e), "cannot prune sessions and failed logins")
                }
            }
        }
    })
}
