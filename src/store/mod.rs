//! All SQL lives here (sqlx `query_as` + `FromRow`, runtime-checked). One module per aggregate:
//! users, sessions, API tokens, the audit log, clusters. Migrations are the numbered files in
//! `migrations/`, embedded in the binary and applied at start-up.

pub mod agents;
pub mod audit;
pub mod clusters;
pub mod compliance;
pub mod dashboard;
pub mod db;
pub mod exceptions;
pub mod findings;
pub mod metrics;
pub mod reports;
pub mod scans;
pub mod sessions;
pub mod tokens;
pub mod trends;
pub mod users;

pub use db::{connect, MIGRATOR};

/// The store's one error type: every function of this module answers with it. The web layer maps
/// it to HTTP in `web::error` alone; the variants are what callers need to tell apart.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0}")]
    NotFound(String),
    /// The request does not fit the stored state (a name already taken, results of a scan that
    /// has none).
    #[error("{0}")]
    Conflict(String),
    /// The data was pruned by the retention policy; its summary is kept.
    #[error("{0}")]
    Gone(String),
    /// This run no longer holds the scan's lease (another replica took it over).
    #[error("the scan's lease was lost to another run")]
    LeaseLost,
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Secrets(#[from] crate::secrets::SecretsError),
    #[error("database error")]
    Database(#[from] sqlx::Error),
    #[error("{0}")]
    Other(String),
}

impl StoreError {
    /// Whether this is "PostgreSQL is away" (restarting, refusing connections) rather than a bug:
    /// callers retry those (the API answers 503).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, StoreError::Database(e) if is_unavailable(e))
    }
}

/// Whether a database error means PostgreSQL is unreachable or refusing work for now.
pub fn is_unavailable(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed | sqlx::Error::Tls(_) => {
            true
        }
        sqlx::Error::Database(db) => {
            let code = db.code().unwrap_or_default();
            // 08: connection exception, 57P: operator intervention (shutdown, cannot connect now),
            // 53: insufficient resources, 55000 "database … is not currently accepting connections".
            code.starts_with("08")
                || code.starts_with("57P")
                || code.starts_with("53")
                || (code == "55000" && db.message().contains("accepting connections"))
        }
        _ => false,
    }
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

/// ` AND {column} = $n` on `qb` when `value` is set: filters that only name the conditions they
/// set, so PostgreSQL plans each combination with the index that fits.
pub(crate) fn and_eq<'a, T>(qb: &mut sqlx::QueryBuilder<'a, sqlx::Postgres>, column: &str, value: Option<T>)
where
    T: 'a + sqlx::Encode<'a, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + Send,
{
    if let Some(v) = value {
        qb.push(format_args!(" AND {column} = ")).push_bind(v);
    }
}
