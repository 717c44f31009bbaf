//! Local users: argon2id password hashes (hashing runs on the blocking pool, never on the async
//! runtime), roles, disabling.

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use chrono::{DateTime, Utc};
use sqlx::{FromRow, PgPool};
use uuid::Uuid;

use super::{is_unique_violation, StoreError};
use crate::domain::{Role, Username};

/// A user as stored (without the hash).
#[derive(Debug, Clone, FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct User {
    pub id: Uuid,
    pub username: String,
    pub role: Role,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
}

/// Hash a password with argon2id on the blocking thread pool.
pub async fn hash_password(password: String) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("cannot hash the password: {e}"))
    })
    .await?
}

/// Verify a password against a stored hash on the blocking thread pool.
pub async fn verify_password(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash).map(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
    })
    .await
    .ok()
    .and_then(Result::ok)
    .unwrap_or(false)
}

/// A hash of a random password, verified against when the user does not exist so a wrong
/// username costs as much time as a wrong password.
pub async fn dummy_hash() -> &'static str {
    static DUMMY: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    DUMMY
        .get_or_init(|| async {
            hash_password(uuid::Uuid::new_v4().to_string()).await.unwrap_or_else(|_| String::new())
        })
        .await
}

const COLUMNS: &str = "id, username, role, disabled, created_at";

/// Create a user. Fails with `Conflict` when the name is taken.
#[tracing::instrument(skip_all, fields(username = %username))]
pub async fn create(
    pool: &PgPool,
    username: &Username,
    password: &str,
    role: Role,
) -> Result<User, StoreError> {
    let hash = hash_password(password.to_string()).await.map_err(|e| StoreError::Other(e.to_string()))?;
    sqlx::query_as::<_, User>(&format!(
        "INSERT INTO users (id, username, password_hash, role) VALUES ($1, $2, $3, $4) RETURNING {COLUMNS}"
    ))
    .bind(Uuid::now_v7())
    .bind(username.as_str())
    .bind(hash)
    .bind(role.as_str())
    .fetch_one(pool)
    .await
    .map_err(|e| {
        if is_unique_violation(&e) {
            StoreError::Conflict(format!("a user named `{username}` already exists"))
        } else {
            e.into()
        }
    })
}

/// Count users (first start creates `admin` when zero).
pub async fn count(pool: &PgPool) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar("SELECT count(*) FROM users").fetch_one(pool).await?)
}

/// All users, by name.
#[tracing::instrument(skip_all)]
pub async fn list(pool: &PgPool) -> Result<Vec<User>, StoreError> {
    list_page(pool, None, None, None, i64::MAX).await
}

/// A page of users by name: after `after`, optionally only one role or names containing `q`.
#[tracing::instrument(skip_all)]
pub async fn list_page(
    pool: &PgPool,
    after: Option<&str>,
    role: Option<Role>,
    q: Option<&str>,
    limit: i64,
) -> Result<Vec<User>, StoreError> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM users WHERE ($1::text IS NULL OR username > $1) \
         AND ($2::text IS NULL OR role = $2) AND ($3::text IS NULL OR strpos(username, $3) > 0) \
         ORDER BY username LIMIT $4"
    ))
    .bind(after)
    .bind(role.map(|r| r.as_str()))
    .bind(q)
    .bind(limit)
    .fetch_all(pool)
    .await?)
}

/// One user by id.
#[tracing::instrument(skip_all)]
pub async fn get(pool: &PgPool, id: Uuid) -> Result<Option<User>, StoreError> {
    Ok(sqlx::query_as(&format!("SELECT {COLUMNS} FROM users WHERE id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await?)
}

/// One user by name.
#[tracing::instrument(skip_all)]
pub async fn get_by_name(pool: &PgPool, username: &str) -> Result<Option<User>, StoreError> {
    Ok(sqlx::query_as(&format!("SELECT {COLUMNS} FROM users WHERE username = $1"))
        .bind(username)
        .fetch_optional(pool)
        .await?)
}

/// Check a username and password. Returns the user when both match and the user is enabled.
#[tracing::instrument(skip_all)]
pub async fn authenticate(pool: &PgPool, username: &str, password: &str) -> Result<Option<User>, StoreError> {
    let row: Option<(Uuid, String)> =
        sqlx::query_as("SELECT id, password_hash FROM users WHERE username = $1 AND NOT disabled")
            .bind(username)
            .fetch_optional(pool)
            .await?;
    match row {
        Some((id, hash)) => {
            if verify_password(password.to_string(), hash).await {
                get(pool, id).await
            } else {
                Ok(None)
            }
        }
        None => {
            let _ = verify_password(password.to_string(), dummy_hash().await.to_string()).await;
            Ok(None)
        }
    }
}

/// Change what is given of a user's password, role and disabled flag. Changing the password or
/// disabling revokes the user's sessions; lowering the role revokes tokens above the new role.
#[tracing::instrument(skip_all)]
pub async fn update(
    pool: &PgPool,
    id: Uuid,
    password: Option<&str>,
    role: Option<Role>,
    disabled: Option<bool>,
) -> Result<User, StoreError> {
    let hash = match password {
        Some(p) => Some(hash_password(p.to_string()).await.map_err(|e| StoreError::Other(e.to_string()))?),
        None => None,
    };
    let mut tx = pool.begin().await?;
    let user: Option<User> = sqlx::query_as(&format!(
        "UPDATE users SET password_hash = coalesce($2, password_hash), role = coalesce($3, role), \
         disabled = coalesce($4, disabled), updated_at = now() WHERE id = $1 RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(hash.as_deref())
    .bind(role.map(|r| r.as_str()))
    .bind(disabled)
    .fetch_optional(&mut *tx)
    .await?;
    let user = user.ok_or_else(|| StoreError::NotFound(format!("no user with id {id}")))?;
    if password.is_some() || disabled == Some(true) {
        sqlx::query("UPDATE sessions SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL")
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    if disabled == Some(true) {
        sqlx::query("UPDATE api_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL")
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    if let Some(role) = role {
        let above: Vec<&str> = Role::ALL.iter().filter(|r| **r > role).map(|r| r.as_str()).collect();
        sqlx::query("UPDATE api_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL AND role = ANY($2)")
            .bind(id)
            .bind(&above)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(user)
}

/// Count enabled admins (the last one cannot be demoted or disabled).
pub async fn count_enabled_admins(pool: &PgPool) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar("SELECT count(*) FROM users WHERE role = 'admin' AND NOT disabled")
        .fetch_one(pool)
        .await?)
}
