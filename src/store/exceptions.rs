//! Exceptions (waivers) of findings: their rows, and which findings the ones in force cover. The
//! matching itself is one SQL function, `palisade_exception_for` (migration 0112), that every
//! reader joins: results, findings, compliance and the score of a scan being stored.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{FromRow, PgConnection, PgPool, QueryBuilder};
use uuid::Uuid;

use super::StoreError;

/// What an exception covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExceptionScope {
    All,
    Cluster(Uuid),
    Group(String),
}

/// An exception's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExceptionState {
    /// Waits for an admin (`[exceptions] require_approval`); covers nothing yet.
    Pending,
    /// In force until `expires_at`.
    Approved,
    /// An admin declined it; covers nothing.
    Rejected,
}

impl ExceptionState {
    pub fn as_str(self) -> &'static str {
        match self {
            ExceptionState::Pending => "pending",
            ExceptionState::Approved => "approved",
            ExceptionState::Rejected => "rejected",
        }
    }

    fn parse(s: &str) -> Result<Self, StoreError> {
        match s {
            "pending" => Ok(ExceptionState::Pending),
            "approved" => Ok(ExceptionState::Approved),
            "rejected" => Ok(ExceptionState::Rejected),
            other => Err(StoreError::Corrupt(format!("exception state `{other}`"))),
        }
    }
}

/// A stored exception.
#[derive(Debug, Clone, PartialEq)]
pub struct ExceptionRecord {
    pub id: Uuid,
    pub check_id: String,
    pub scope: ExceptionScope,
    pub namespace: Option<String>,
    /// The resource-name glob as given.
    pub resource: Option<String>,
    pub justification: String,
    pub owner: Option<String>,
    pub expires_at: DateTime<Utc>,
    pub state: ExceptionState,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
}

#[derive(FromRow)]
struct Row {
    id: Uuid,
    check_id: String,
    scope: String,
    cluster_id: Option<Uuid>,
    cluster_group: Option<String>,
    namespace: Option<String>,
    resource: Option<String>,
    justification: String,
    owner: Option<String>,
    expires_at: DateTime<Utc>,
    state: String,
    created_by_name: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    decided_by_name: Option<String>,
    decided_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str =
    "id, check_id, scope, cluster_id, cluster_group, namespace, resource, justification, owner, \
     expires_at, state, created_by_name, created_at, updated_at, decided_by_name, decided_at";

impl TryFrom<Row> for ExceptionRecord {
    type Error = StoreError;
    fn try_from(r: Row) -> Result<Self, StoreError> {
        let scope = match (r.scope.as_str(), r.cluster_id, r.cluster_group) {
            ("all", _, _) => ExceptionScope::All,
            ("cluster", Some(id), _) => ExceptionScope::Cluster(id),
            ("group", _, Some(g)) => ExceptionScope::Group(g),
            (other, _, _) => return Err(StoreError::Corrupt(format!("exception {} scope `{other}`", r.id))),
        };
        Ok(ExceptionRecord {
            id: r.id,
            check_id: r.check_id,
            scope,
            namespace: r.namespace,
            resource: r.resource,
            justification: r.justification,
            owner: r.owner,
            expires_at: r.expires_at,
            state: ExceptionState::parse(&r.state)?,
            created_by: r.created_by_name,
            created_at: r.created_at,
            updated_at: r.updated_at,
            decided_by: r.decided_by_name,
            decided_at: r.decided_at,
        })
    }
}

/// The LIKE pattern (backslash escapes) that matches what a glob matches: `*` any run of
/// characters, `?` exactly one; every other character stands for itself.
pub fn glob_to_like(glob: &str) -> String {
    let mut out = String::with_capacity(glob.len() + 4);
    for c in glob.chars() {
        match c {
            '*' => out.push('%'),
            '?' => out.push('_'),
            '%' | '_' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// An exception to store (validated by the registry).
#[derive(Debug, Clone)]
pub struct NewException<'a> {
    pub check_id: &'a str,
    pub scope: &'a ExceptionScope,
    pub namespace: Option<&'a str>,
    pub resource: Option<&'a str>,
    pub justification: &'a str,
    pub owner: Option<&'a str>,
    pub expires_at: DateTime<Utc>,
    pub state: ExceptionState,
    pub created_by: (Option<Uuid>, &'a str),
    /// Who approved it as it was made (an admin's own exception).
    pub decided_by: Option<&'a str>,
}

fn scope_columns(scope: &ExceptionScope) -> (&'static str, Option<Uuid>, Option<&str>) {
    match scope {
        ExceptionScope::All => ("all", None, None),
        ExceptionScope::Cluster(id) => ("cluster", Some(*id), None),
        ExceptionScope::Group(g) => ("group", None, Some(g.as_str())),
    }
}

/// Store a new exception.
pub async fn insert(db: &mut PgConnection, new: &NewException<'_>) -> Result<ExceptionRecord, StoreError> {
    let (scope, cluster, group) = scope_columns(new.scope);
    let row: Row = sqlx::query_as(&format!(
        "INSERT INTO exceptions (id, check_id, scope, cluster_id, cluster_group, namespace, resource, resource_like,
                                 justification, owner, expires_at, state, created_by, created_by_name,
                                 created_at, updated_at, decided_by_name, decided_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, now(), now(), $15,
                 CASE WHEN $15::text IS NULL THEN NULL ELSE now() END)
         RETURNING {COLUMNS}"
    ))
    .bind(Uuid::new_v4())
    .bind(new.check_id)
    .bind(scope)
    .bind(cluster)
    .bind(group)
    .bind(new.namespace)
    .bind(new.resource)
    .bind(new.resource.map(glob_to_like))
    .bind(new.justification)
    .bind(new.owner)
    .bind(new.expires_at)
    .bind(new.state.as_str())
    .bind(new.created_by.0)
    .bind(new.created_by.1)
    .bind(new.decided_by)
    .fetch_one(db)
    .await?;
    row.try_into()
}

/// One exception, locked for update when `lock` (inside the caller's transaction).
pub async fn get(db: &mut PgConnection, id: Uuid, lock: bool) -> Result<Option<ExceptionRecord>, StoreError> {
    let sql =
        format!("SELECT {COLUMNS} FROM exceptions WHERE id = $1{}", if lock { " FOR UPDATE" } else { "" });
    let row: Option<Row> = sqlx::query_as(&sql).bind(id).fetch_optional(db).await?;
    row.map(TryInto::try_into).transpose()
}

/// Filters of the exception list; `None` means any.
#[derive(Debug, Clone, Default)]
pub struct ExceptionFilter {
    pub state: Option<ExceptionState>,
    pub check: Option<String>,
    /// Only exceptions that could cover this cluster: scoped to it, to its group, or to all.
    pub cluster: Option<Uuid>,
    /// `Some(true)`: only those in force now (approved, not expired); `Some(false)`: only those not.
    pub in_force: Option<bool>,
}

/// Exceptions, newest first, `limit` after the `(created_at, id)` cursor.
pub async fn list(
    pool: &PgPool,
    filter: &ExceptionFilter,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> Result<Vec<ExceptionRecord>, StoreError> {
    let mut qb = QueryBuilder::new(format!("SELECT {COLUMNS} FROM exceptions e WHERE true"));
    if let Some(s) = filter.state {
        qb.push(" AND state = ").push_bind(s.as_str());
    }
    if let Some(c) = &filter.check {
        qb.push(" AND check_id = ").push_bind(c.clone());
    }
    if let Some(id) = filter.cluster {
        qb.push(" AND (scope = 'all' OR cluster_id = ")
            .push_bind(id)
            .push(" OR cluster_group = (SELECT cluster_group FROM clusters WHERE id = ")
            .push_bind(id)
            .push("))");
    }
    match filter.in_force {
        Some(true) => qb.push(" AND state = 'approved' AND expires_at > now()"),
        Some(false) => qb.push(" AND NOT (state = 'approved' AND expires_at > now())"),
        None => &mut qb,
    };
    if let Some((at, id)) = after {
        qb.push(" AND (created_at, id) < (").push_bind(at).push(", ").push_bind(id).push(")");
    }
    qb.push(" ORDER BY created_at DESC, id DESC LIMIT ").push_bind(limit);
    let rows: Vec<Row> = qb.build_query_as().fetch_all(pool).await?;
    rows.into_iter().map(TryInto::try_into).collect()
}

/// Write back an exception's changeable fields (its id, check and creator stay).
pub async fn update(db: &mut PgConnection, e: &ExceptionRecord) -> Result<ExceptionRecord, StoreError> {
    let (scope, cluster, group) = scope_columns(&e.scope);
    let row: Row = sqlx::query_as(&format!(
        "UPDATE exceptions SET scope = $2, cluster_id = $3, cluster_group = $4, namespace = $5, resource = $6,
                resource_like = $7, justification = $8, owner = $9, expires_at = $10, state = $11,
                decided_by_name = $12, decided_at = $13, updated_at = now()
         WHERE id = $1 RETURNING {COLUMNS}"
    ))
    .bind(e.id)
    .bind(scope)
    .bind(cluster)
    .bind(group)
    .bind(e.namespace.as_deref())
    .bind(e.resource.as_deref())
    .bind(e.resource.as_deref().map(glob_to_like))
    .bind(&e.justification)
    .bind(e.owner.as_deref())
    .bind(e.expires_at)
    .bind(e.state.as_str())
    .bind(e.decided_by.as_deref())
    .bind(e.decided_at)
    .fetch_one(db)
    .await?;
    row.try_into()
}

/// Delete an exception; answers whether there was one.
pub async fn delete(db: &mut PgConnection, id: Uuid) -> Result<bool, StoreError> {
    Ok(sqlx::query("DELETE FROM exceptions WHERE id = $1").bind(id).execute(db).await?.rows_affected() > 0)
}

/// Current findings of a cluster (by their id) an exception in force at `at` covers.
pub async fn covered_findings(
    db: &mut PgConnection,
    cluster: Uuid,
    at: DateTime<Utc>,
) -> Result<HashSet<Uuid>, StoreError> {
    // Most clusters are covered by no exception: one cheap look first.
    let any: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM exceptions WHERE state = 'approved' AND expires_at > $1)",
    )
    .bind(at)
    .fetch_one(&mut *db)
    .await?;
    if !any {
        return Ok(HashSet::new());
    }
    let ids: Vec<Uuid> = sqlx::query_scalar(
        "SELECT f.id FROM findings f JOIN clusters c ON c.id = f.cluster_id
         CROSS JOIN LATERAL palisade_exception_for(f.cluster_id, c.cluster_group, f.check_id,
                                                   f.resource_namespace, f.resource_name, $2) x
         WHERE f.cluster_id = $1 AND f.status <> 'absent'",
    )
    .bind(cluster)
    .bind(at)
    .fetch_all(db)
    .await?;
    Ok(ids.into_iter().collect())
}

/// The exception a result carries: which one covers it, and until when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct ExceptionMark {
    pub id: Uuid,
    pub expires_at: DateTime<Utc>,
}

/// The SQL that joins the exception covering finding row `f` of the cluster row aliased
/// `clusters`, as the columns `x.exception_id`, `x.exception_expires_at` (NULL when none does).
pub(crate) fn join_exception(clusters: &str) -> String {
    format!(
        " LEFT JOIN LATERAL palisade_exception_for(f.cluster_id, {clusters}.cluster_group, f.check_id, \
         f.resource_namespace, f.resource_name, now()) x ON true"
    )
}

/// `exception` as one JSON column, for a row field of type `Option<Json<ExceptionMark>>`.
pub(crate) const EXCEPTION_COLUMN: &str = "CASE WHEN x.exception_id IS NULL THEN NULL ELSE \
     jsonb_build_object('id', x.exception_id, 'expires_at', x.exception_expires_at) END AS exception";

/// True when an exception in force covers finding row `f` of cluster row `c` (for queries that do
/// not join [`join_exception`]).
pub(crate) const COVERED_CONDITION: &str = "EXISTS (SELECT 1 FROM palisade_exception_for(f.cluster_id, \
     c.cluster_group, f.check_id, f.resource_namespace, f.resource_name, now()))";

/// Keep only rows an exception covers (`true`) or only rows none does (`false`).
pub(crate) fn excepted_condition(excepted: bool) -> &'static str {
    if excepted {
        " AND x.exception_id IS NOT NULL"
    } else {
        " AND x.exception_id IS NULL"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_become_like_patterns_with_like_characters_escaped() {
        assert_eq!(glob_to_like("kube-*"), "kube-%");
        assert_eq!(glob_to_like("node-?"), "node-_");
        assert_eq!(glob_to_like("a_b%c\\d"), "a\\_b\\%c\\\\d");
        assert_eq!(glob_to_like("exact"), "exact");
    }
}
