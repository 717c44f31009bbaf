//! API tokens for integrations: `pal_<secret>`, shown once at creation; only the SHA-256 is kept
//! (unique index, so a request costs one index probe). A token's role never exceeds its creator's.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, PgPool};
use uuid::Uuid;

use super::sessions::{hash_secret, new_secret};
use super::StoreError;
use crate::domain::Role;

/// The prefix that marks a Palisade API token (helps secret scanners).
pub const TOKEN_PREFIX: &str = "pal_";

/// A token's metadata (never the secret).
#[derive(Debug, Clone, FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct ApiToken {
    pub id: Uuid,
    pub name: String,
    /// First characters of the token, to recognise it.
    pub prefix: String,
    pub user_id: Uuid,
    pub role: Role,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
}

/// The principal behind a live token.
#[derive(Debug, Clone, FromRow)]
pub struct TokenUser {
    pub token_id: Uuid,
    pub user_id: Uuid,
    pub username: String,
    /// The token's role, capped by the user's current role.
    pub role: Role,
    pub user_role: Role,
    /// When the token stops working (`None`: never).
    pub expires_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str = "id, name, prefix, user_id, role, created_at, expires_at, revoked_at, last_used_at";

/// Create a token; returns its metadata and the secret (shown once).
#[tracing::instrument(skip_all)]
pub async fn create(
    pool: &PgPool,
    user_id: Uuid,
    name: &str,
    role: Role,
    expires_at: Option<DateTime<Utc>>,
) -> Result<(ApiToken, String), StoreError> {
    let (secret, _) = new_secret();
    let token = format!("{TOKEN_PREFIX}{secret}");
    let row = sqlx::query_as(&format!(
        "INSERT INTO api_tokens (id, name, token_hash, prefix, user_id, role, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {COLUMNS}"
    ))
    .bind(Uuid::now_v7())
    .bind(name)
    .bind(hash_secret(&token))
    .bind(&token[..TOKEN_PREFIX.len() + 6])
    .bind(user_id)
    .bind(role.as_str())
    .bind(expires_at)
    .fetch_one(pool)
    .await?;
    Ok((row, token))
}

/// The principal of a live token (not expired, not revoked, owner enabled).
#[tracing::instrument(skip_all)]
pub async fn lookup(pool: &PgPool, token: &str) -> Result<Option<TokenUser>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT t.id AS token_id, u.id AS user_id, u.username, t.role, u.role AS user_role, t.expires_at \
         FROM api_tokens t JOIN users u ON u.id = t.user_id \
         WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > now()) \
         AND NOT u.disabled",
    )
    .bind(hash_secret(token))
    .fetch_optional(pool)
    .await?)
}

/// Note that a token was used (called at most once a minute per token by the web layer).
pub async fn touch(pool: &PgPool, token_id: Uuid) -> Result<(), StoreError> {
    sqlx::query("UPDATE api_tokens SET last_used_at = now() WHERE id = $1")
        .bind(token_id)
        .execute(pool)
        .await?;
    Ok(())
}

/// A page of the tokens of one user, or of everyone when `user_id` is `None`; newest first,
/// continuing after the `(created_at, id)` of the previous page's last token.
#[tracing::instrument(skip_all)]
pub async fn list(
    pool: &PgPool,
    user_id: Option<Uuid>,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> Result<Vec<ApiToken>, StoreError> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM api_tokens WHERE ($1::uuid IS NULL OR user_id = $1) \
         AND ($2::timestamptz IS NULL OR (created_at, id) < ($2, $3)) \
         ORDER BY created_at DESC, id DESC LIMIT $4"
    ))
    .bind(user_id)
    .bind(after.map(|a| a.0))
    .bind(after.map(|a| a.1))
    .bind(limit)
    .fetch_all(pool)
    .await?)
}

/// One token's metadata.
pub async fn get(pool: &PgPool, id: Uuid) -> Result<Option<ApiToken>, StoreError> {
    Ok(sqlx::query_as(&format!("SELECT {COLUMNS} FROM api_tokens WHERE id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await?)
}

/// Revoke a token; returns false when it did not exist or was already revoked.
#[tracing::instrument(skip_all)]
pub async fn revoke(pool: &PgPool, id: Uuid) -> Result<bool, StoreError> {
    let done = sqlx::query("UPDATE api_tokens SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL")
        .bind(id)
        .execute(pool)
        .await?;
    Ok(done.rows_affected() == 1)
}
