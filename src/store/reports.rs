//! Report definitions (scope, framework, schedule, formats) and the generated reports, whose
//! documents are kept in the database so every replica serves them.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{FromRow, PgConnection, PgPool, QueryBuilder};
use uuid::Uuid;

use super::StoreError;

/// Which clusters a report covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ReportScope {
    /// Every live cluster.
    Fleet,
    /// The live clusters of a group.
    Group { group: String },
    /// These clusters (those still live).
    Clusters { clusters: Vec<Uuid> },
}

impl ReportScope {
    fn columns(&self) -> (Option<&str>, Option<&[Uuid]>) {
        match self {
            ReportScope::Fleet => (None, None),
            ReportScope::Group { group } => (Some(group.as_str()), None),
            ReportScope::Clusters { clusters } => (None, Some(clusters.as_slice())),
        }
    }

    fn of(group: Option<String>, clusters: Option<Vec<Uuid>>) -> ReportScope {
        match (group, clusters) {
            (Some(group), _) => ReportScope::Group { group },
            (None, Some(clusters)) => ReportScope::Clusters { clusters },
            (None, None) => ReportScope::Fleet,
        }
    }
}

/// A report definition.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReportDefinition {
    pub id: Uuid,
    pub name: String,
    pub framework: String,
    pub scope: ReportScope,
    /// When it runs: a crontab line (UTC).
    pub cron: String,
    pub formats: Vec<String>,
    pub enabled: bool,
    pub next_run_at: DateTime<Utc>,
    pub last_run_at: Option<DateTime<Utc>>,
    /// Why the last run failed; `null` when it succeeded.
    pub last_error: Option<String>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

#[derive(FromRow)]
struct DefinitionRow {
    id: Uuid,
    name: String,
    framework: String,
    scope_group: Option<String>,
    scope_clusters: Option<Vec<Uuid>>,
    cron: String,
    formats: Vec<String>,
    enabled: bool,
    next_run_at: DateTime<Utc>,
    last_run_at: Option<DateTime<Utc>>,
    last_error: Option<String>,
    created_by_name: String,
    created_at: DateTime<Utc>,
}

impl From<DefinitionRow> for ReportDefinition {
    fn from(r: DefinitionRow) -> Self {
        ReportDefinition {
            id: r.id,
            name: r.name,
            framework: r.framework,
            scope: ReportScope::of(r.scope_group, r.scope_clusters),
            cron: r.cron,
            formats: r.formats,
            enabled: r.enabled,
            next_run_at: r.next_run_at,
            last_run_at: r.last_run_at,
            last_error: r.last_error,
            created_by: r.created_by_name,
            created_at: r.created_at,
        }
    }
}

const DEFINITION_COLUMNS: &str = "id, name, framework, scope_group, scope_clusters, cron, formats, enabled, \
     next_run_at, last_run_at, last_error, created_by_name, created_at";

/// A definition to store (validated by the caller).
#[derive(Debug, Clone)]
pub struct NewDefinition<'a> {
    pub name: &'a str,
    pub framework: &'a str,
    pub scope: &'a ReportScope,
    pub cron: &'a str,
    pub formats: &'a [String],
    pub next_run_at: DateTime<Utc>,
    pub created_by: &'a str,
}

pub async fn insert_definition(
    db: &mut PgConnection,
    d: &NewDefinition<'_>,
) -> Result<ReportDefinition, StoreError> {
    let (group, clusters) = d.scope.columns();
    let row: DefinitionRow = sqlx::query_as(&format!(
        "INSERT INTO report_definitions (id, name, framework, scope_group, scope_clusters, cron, formats, next_run_at,
                                         created_by_name, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, now()) RETURNING {DEFINITION_COLUMNS}"
    ))
    .bind(Uuid::new_v4())
    .bind(d.name)
    .bind(d.framework)
    .bind(group)
    .bind(clusters)
    .bind(d.cron)
    .bind(d.formats)
    .bind(d.next_run_at)
    .bind(d.created_by)
    .fetch_one(db)
    .await?;
    Ok(row.into())
}

pub async fn definitions(pool: &PgPool) -> Result<Vec<ReportDefinition>, StoreError> {
    let rows: Vec<DefinitionRow> =
        sqlx::query_as(&format!("SELECT {DEFINITION_COLUMNS} FROM report_definitions ORDER BY name, id"))
            .fetch_all(pool)
            .await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

pub async fn definition(db: &mut PgConnection, id: Uuid) -> Result<Option<ReportDefinition>, StoreError> {
    let row: Option<DefinitionRow> =
        sqlx::query_as(&format!("SELECT {DEFINITION_COLUMNS} FROM report_definitions WHERE id = $1"))
            .bind(id)
            .fetch_optional(db)
            .await?;
    Ok(row.map(Into::into))
}

pub async fn delete_definition(db: &mut PgConnection, id: Uuid) -> Result<bool, StoreError> {
    Ok(sqlx::query("DELETE FROM report_definitions WHERE id = $1")
        .bind(id)
        .execute(db)
        .await?
        .rows_affected()
        > 0)
}

/// The next due, enabled definition no other replica is running, locked for this transaction
/// (`NO KEY UPDATE`: the reports it makes reference it from other connections meanwhile).
pub async fn claim_due(db: &mut PgConnection) -> Result<Option<ReportDefinition>, StoreError> {
    let row: Option<DefinitionRow> = sqlx::query_as(&format!(
        "SELECT {DEFINITION_COLUMNS} FROM report_definitions WHERE enabled AND next_run_at <= now()
         ORDER BY next_run_at LIMIT 1 FOR NO KEY UPDATE SKIP LOCKED"
    ))
    .fetch_optional(db)
    .await?;
    Ok(row.map(Into::into))
}

/// Record a run of a definition and when it runs next.
pub async fn finish_run(
    db: &mut PgConnection,
    id: Uuid,
    next_run_at: DateTime<Utc>,
    error: Option<&str>,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE report_definitions SET last_run_at = now(), next_run_at = $2, last_error = $3 WHERE id = $1",
    )
    .bind(id)
    .bind(next_run_at)
    .bind(error)
    .execute(db)
    .await?;
    Ok(())
}

/// A generated report, without its document.
#[derive(Debug, Clone, Serialize, FromRow, utoipa::ToSchema)]
pub struct Report {
    pub id: Uuid,
    /// The definition that made it; `null` for one made on demand (or whose definition is gone).
    pub definition_id: Option<Uuid>,
    pub title: String,
    pub framework: String,
    #[schema(value_type = ReportScope)]
    pub scope: sqlx::types::Json<ReportScope>,
    /// `html`, `pdf`, `csv` or `json`.
    pub format: String,
    pub content_type: String,
    pub size_bytes: i32,
    /// How long making it took, in milliseconds.
    pub generation_ms: i32,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

const REPORT_COLUMNS: &str = "id, definition_id, title, framework, scope, format, content_type, size_bytes, \
     generation_ms, created_by_name AS created_by, created_at";

/// A document to store.
#[derive(Debug, Clone)]
pub struct NewReport<'a> {
    pub definition_id: Option<Uuid>,
    pub title: &'a str,
    pub framework: &'a str,
    pub scope: &'a ReportScope,
    pub format: &'a str,
    pub content_type: &'a str,
    pub body: &'a [u8],
    pub generation_ms: i32,
    pub created_by: &'a str,
}

pub async fn insert_report(db: &mut PgConnection, r: &NewReport<'_>) -> Result<Report, StoreError> {
    Ok(sqlx::query_as(&format!(
        "INSERT INTO reports (id, definition_id, title, framework, scope, format, content_type, body, size_bytes,
                              generation_ms, created_by_name, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, now()) RETURNING {REPORT_COLUMNS}"
    ))
    .bind(Uuid::new_v4())
    .bind(r.definition_id)
    .bind(r.title)
    .bind(r.framework)
    .bind(sqlx::types::Json(r.scope))
    .bind(r.format)
    .bind(r.content_type)
    .bind(r.body)
    .bind(r.body.len() as i32)
    .bind(r.generation_ms)
    .bind(r.created_by)
    .fetch_one(db)
    .await?)
}

/// Reports, newest first, `limit` after the `(created_at, id)` cursor.
pub async fn reports(
    pool: &PgPool,
    definition: Option<Uuid>,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> Result<Vec<Report>, StoreError> {
    let mut qb = QueryBuilder::new(format!("SELECT {REPORT_COLUMNS} FROM reports WHERE true"));
    if let Some(d) = definition {
        qb.push(" AND definition_id = ").push_bind(d);
    }
    if let Some((at, id)) = after {
        qb.push(" AND (created_at, id) < (").push_bind(at).push(", ").push_bind(id).push(")");
    }
    qb.push(" ORDER BY created_at DESC, id DESC LIMIT ").push_bind(limit);
    Ok(qb.build_query_as().fetch_all(pool).await?)
}

pub async fn report(pool: &PgPool, id: Uuid) -> Result<Option<Report>, StoreError> {
    Ok(sqlx::query_as(&format!("SELECT {REPORT_COLUMNS} FROM reports WHERE id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await?)
}

/// A report's document.
pub async fn body(pool: &PgPool, id: Uuid) -> Result<Option<Vec<u8>>, StoreError> {
    Ok(sqlx::query_scalar("SELECT body FROM reports WHERE id = $1").bind(id).fetch_optional(pool).await?)
}
