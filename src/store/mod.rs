//! All SQL lives here (sqlx `query_as` + `FromRow`, runtime-checked). One module per aggregate:
//! users, sessions, API tokens, the audit log, clusters. Migrations are the numbered files in
//! `migrations/`, embedded in the binary and applied at start-up.

pub mod audit;
pub mod clusters;
pub mod dashboard;
pub mod db;
pub mod findings;
pub mod scans;
pub mod sessions;
pub mod tokens;
pub mod trends;
pub mod users;

pub use db::{connect, MIGRATOR};

/// Errors from the store that callers may want to tell apart.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    NotFound(String),
    #[error(transparent)]
    Secrets(#[from] crate::secrets::SecretsError),
    #[error("database error")]
    Database(#[from] sqlx::Error),
    #[error("{0}")]
    Other(String),
}

/// True when `err` is PostgreSQL's unique-violation.
pub(crate) fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.code().as_deref() == Some("23505"))
}

/// Roles are stored as their text names (`viewer`, `editor`, `admin`).
impl sqlx::Type<sqlx::Postgres> for crate::domain::Role {
    fn type_info() -> sqlx::postgres::PgTypeInfo {
        <String as sqlx::Type<sqlx::Postgres>>::type_info()
    }
    fn compatible(ty: &sqlx::postgres::PgTypeInfo) -> bool {
        <String as sqlx::Type<sqlx::Postgres>>::compatible(ty)
    }
}

impl<'r> sqlx::Decode<'r, sqlx::Postgres> for crate::domain::Role {
    fn decode(value: sqlx::postgres::PgValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        let s = <&str as sqlx::Decode<sqlx::Postgres>>::decode(value)?;
        Ok(s.parse::<crate::domain::Role>()?)
    }
}
