//! Read models of the dashboard pages that the API's stores do not already answer: latest counts
//! and daily scores per cluster (fleet overview), open findings grouped by check or by resource,
//! the findings changed by a cluster's newest results, and the findings explorer's page (filters,
//! sort and offset in SQL, so a page costs its rows, not the fleet's).
//!
//! "Open" is `fail` or `warn`, as everywhere in the history model. Grouping by resource is the
//! "one root cause, one row" view: a resource failing several checks is one row whose tags are
//! the checks.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use sqlx::{FromRow, PgPool};
use uuid::Uuid;

use super::findings::{Finding, ResourceRow};
use super::scans::ScanRow;
use super::StoreError;

/// SQL rank of a severity text (higher is worse).
const SEVERITY_RANK: &str = "CASE severity WHEN 'critical' THEN 4 WHEN 'high' THEN 3 WHEN 'medium' THEN 2 \
     WHEN 'low' THEN 1 ELSE 0 END";

/// The counts of each cluster's newest results (`history::Counts` cells).
#[tracing::instrument(skip_all)]
pub async fn latest_counts(pool: &PgPool) -> Result<Vec<(Uuid, Vec<i32>)>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT s.cluster_id, lr.counts FROM cluster_scan_state s
         JOIN scans lr ON lr.id = s.last_result_scan_id WHERE lr.counts IS NOT NULL",
    )
    .fetch_all(pool)
    .await?)
}

/// End-of-day scores of every cluster since `since` (the fleet sparklines).
#[tracing::instrument(skip_all)]
pub async fn daily_scores(
    pool: &PgPool,
    since: NaiveDate,
) -> Result<Vec<(Uuid, NaiveDate, Option<f32>)>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT cluster_id, day, score FROM scan_daily WHERE day >= $1 ORDER BY cluster_id, day",
    )
    .bind(since)
    .fetch_all(pool)
    .await?)
}

/// Per cluster: how many resources fail with a worst severity of critical, and of high.
#[tracing::instrument(skip_all)]
pub async fn critical_high_resources(pool: &PgPool) -> Result<Vec<(Uuid, i64, i64)>, StoreError> {
    Ok(sqlx::query_as(&format!(
        "SELECT cluster_id, count(*) FILTER (WHERE worst = 4), count(*) FILTER (WHERE worst = 3)
         FROM (SELECT cluster_id, max({SEVERITY_RANK}) AS worst FROM findings
               WHERE status = 'fail' AND severity IN ('critical', 'high')
               GROUP BY cluster_id, resource_kind, resource_namespace, resource_name, resource_node) g
         GROUP BY cluster_id"
    ))
    .fetch_all(pool)
    .await?)
}

/// A check failing somewhere, with how widely.
#[derive(Debug, Clone, Serialize, FromRow)]
pub struct CheckFailures {
    pub check_id: String,
    pub title: String,
    pub area: String,
    pub severity: String,
    /// Clusters where it fails.
    pub clusters: i64,
    /// Resources where it fails.
    pub resources: i64,
}

/// The checks failing across `clusters` (none: every live cluster), worst first: by severity, then
/// by how many clusters and resources fail them.
#[tracing::instrument(skip_all)]
pub async fn failing_checks(
    pool: &PgPool,
    clusters: Option<&[Uuid]>,
    limit: i64,
) -> Result<Vec<CheckFailures>, StoreError> {
    Ok(sqlx::query_as::<_, CheckFailures>(&format!(
        "SELECT f.check_id, min(f.title) AS title, min(f.area) AS area, f.severity,
                count(DISTINCT f.cluster_id) AS clusters, count(*) AS resources
         FROM findings f JOIN clusters c ON c.id = f.cluster_id
         WHERE f.status = 'fail' AND c.deleted_at IS NULL AND ($1::uuid[] IS NULL OR f.cluster_id = ANY($1))
         GROUP BY f.check_id, f.severity
         ORDER BY max({SEVERITY_RANK}) DESC, count(DISTINCT f.cluster_id) DESC, count(*) DESC, f.check_id
         LIMIT $2"
    ))
    .bind(clusters)
    .bind(limit)
    .fetch_all(pool)
    .await?)
}

/// One check failing or warning on a cluster, and on how many resources.
#[derive(Debug, Clone, Serialize, FromRow)]
pub struct OpenCheck {
    pub area: String,
    pub check_id: String,
    pub title: String,
    pub severity: String,
    /// `fail` when any resource fails it, else `warn`.
    pub status: String,
    pub resources: i64,
}

/// A cluster's open checks (its current results), worst first within each area.
#[tracing::instrument(skip_all, fields(cluster = %cluster_id))]
pub async fn open_checks(pool: &PgPool, cluster_id: Uuid) -> Result<Vec<OpenCheck>, StoreError> {
    Ok(sqlx::query_as::<_, OpenCheck>(&format!(
        "SELECT area, check_id, min(title) AS title, severity, min(status) AS status, count(*) AS resources
         FROM findings WHERE cluster_id = $1 AND status IN ('fail', 'warn')
         GROUP BY area, check_id, severity
         ORDER BY area, min(status), max({SEVERITY_RANK}) DESC, count(*) DESC, check_id"
    ))
    .bind(cluster_id)
    .fetch_all(pool)
    .await?)
}

/// One resource with everything failing on it: one row per thing to fix.
#[derive(Debug, Clone, Serialize, FromRow)]
pub struct ResourceRisks {
    pub cluster_id: Uuid,
    pub cluster_name: String,
    #[sqlx(flatten)]
    pub resource: ResourceRow,
    /// The worst severity of its failing checks.
    pub severity: String,
    /// The failing checks, worst first.
    pub checks: Vec<String>,
    pub areas: Vec<String>,
}

/// How many resources of a cluster fail (the number of things to fix).
#[tracing::instrument(skip_all, fields(cluster = %cluster_id))]
pub async fn failing_resource_count(pool: &PgPool, cluster_id: Uuid) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT count(*) FROM (SELECT 1 FROM findings WHERE cluster_id = $1 AND status = 'fail'
                               GROUP BY resource_kind, resource_namespace, resource_name, resource_node) g",
    )
    .bind(cluster_id)
    .fetch_one(pool)
    .await?)
}

/// A finding changed by a cluster's newest results.
#[derive(Debug, Clone, Serialize, FromRow)]
pub struct RecentChange {
    pub check_id: String,
    pub title: String,
    pub severity: String,
    #[sqlx(flatten)]
    pub resource: ResourceRow,
    pub status: String,
    pub evidence: String,
    /// True when it became open (new or reopened) at that scan; false when it was resolved then.
    pub opened: bool,
}

/// What the newest results of `scan` (a cluster's newest result scan) opened and resolved.
#[tracing::instrument(skip_all, fields(scan = %scan.id))]
pub async fn changes_at(pool: &PgPool, scan: &ScanRow, limit: i64) -> Result<Vec<RecentChange>, StoreError> {
    let Some(at) = scan.finished_at else { return Ok(Vec::new()) };
    Ok(sqlx::query_as::<_, RecentChange>(&format!(
        "SELECT check_id, title, severity, resource_kind, resource_namespace, resource_name, resource_node, status,
                evidence, (opened_at = $2 AND status IN ('fail', 'warn')) AS opened
         FROM findings WHERE cluster_id = $1 AND status_since = $2
           AND ((opened_at = $2 AND status IN ('fail', 'warn')) OR resolved_at = $2)
         ORDER BY opened DESC, {SEVERITY_RANK} DESC, check_id, resource_name LIMIT $3"
    ))
    .bind(scan.cluster_id)
    .bind(at)
    .bind(limit)
    .fetch_all(pool)
    .await?)
}

/// The findings explorer's filters (all optional).
#[derive(Debug, Clone, Default)]
pub struct ExplorerFilter {
    pub cluster: Option<Uuid>,
    pub area: Option<String>,
    pub severity: Option<String>,
    /// `open` (fail or warn), `fail`, `warn`, `resolved` (fixed or gone, not reopened), `all`.
    pub status: String,
    pub check: Option<String>,
    pub namespace: Option<String>,
    /// First seen at or after this time.
    pub seen_after: Option<DateTime<Utc>>,
    /// First seen before this time.
    pub seen_before: Option<DateTime<Utc>>,
}

/// The explorer's sort orders; every order ends with the finding id, so pages are stable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExplorerSort {
    #[default]
    Severity,
    FirstSeen,
    Cluster,
    Check,
}

impl ExplorerSort {
    fn order_by(self) -> String {
        match self {
            ExplorerSort::Severity => {
                format!(
                    "{}, c.name, f.check_id, f.id",
                    SEVERITY_RANK.replace("severity", "f.severity") + " DESC"
                )
            }
            ExplorerSort::FirstSeen => "f.first_seen_at DESC, f.id".to_string(),
            ExplorerSort::Cluster => "c.name, f.check_id, f.resource_name, f.id".to_string(),
            ExplorerSort::Check => "f.check_id, c.name, f.resource_name, f.id".to_string(),
        }
    }
}

/// The explorer's WHERE clause, binding the filter as `$1`–`$8` (see [`bind_filter`]).
const EXPLORER_WHERE: &str = "c.deleted_at IS NULL
           AND CASE $1 WHEN 'open' THEN f.status IN ('fail', 'warn') WHEN 'fail' THEN f.status = 'fail'
                       WHEN 'warn' THEN f.status = 'warn'
                       WHEN 'resolved' THEN f.resolved_at IS NOT NULL AND f.status NOT IN ('fail', 'warn')
                       ELSE true END
           AND ($2::uuid IS NULL OR f.cluster_id = $2)
           AND ($3::text IS NULL OR f.area = $3) AND ($4::text IS NULL OR f.severity = $4)
           AND ($5::text IS NULL OR f.check_id = $5) AND ($6::text IS NULL OR f.resource_namespace = $6)
           AND ($7::timestamptz IS NULL OR f.first_seen_at >= $7)
           AND ($8::timestamptz IS NULL OR f.first_seen_at < $8)";

fn bind_filter<'q, O>(
    q: sqlx::query::QueryAs<'q, sqlx::Postgres, O, sqlx::postgres::PgArguments>,
    filter: &'q ExplorerFilter,
) -> sqlx::query::QueryAs<'q, sqlx::Postgres, O, sqlx::postgres::PgArguments> {
    q.bind(&filter.status)
        .bind(filter.cluster)
        .bind(&filter.area)
        .bind(&filter.severity)
        .bind(&filter.check)
        .bind(&filter.namespace)
        .bind(filter.seen_after)
        .bind(filter.seen_before)
}

/// One page of the findings explorer: `limit` rows from `offset`, filtered and sorted in SQL.
#[tracing::instrument(skip_all)]
pub async fn explore(
    pool: &PgPool,
    filter: &ExplorerFilter,
    sort: ExplorerSort,
    offset: i64,
    limit: i64,
) -> Result<Vec<Finding>, StoreError> {
    let sql = format!(
        "SELECT f.id, f.cluster_id, c.name AS cluster_name, f.check_id, f.title, f.area, f.severity,
                f.resource_kind, f.resource_namespace, f.resource_name, f.resource_node, f.status, f.evidence,
                f.first_seen_at, COALESCE(f.last_seen_at, s.last_result_at) AS last_seen_at, f.status_since,
                f.opened_at, f.resolved_at, f.reopened_at, f.reopen_count
         FROM findings f JOIN clusters c ON c.id = f.cluster_id
         LEFT JOIN cluster_scan_state s ON s.cluster_id = f.cluster_id
         WHERE {EXPLORER_WHERE}
         ORDER BY {} OFFSET $9 LIMIT $10",
        sort.order_by()
    );
    let q = bind_filter(sqlx::query_as::<_, Finding>(&sql), filter).bind(offset).bind(limit);
    Ok(q.fetch_all(pool).await?)
}

/// One page of the explorer grouped by resource: one row per (cluster, resource) with the
/// matching checks as tags, worst first.
#[tracing::instrument(skip_all)]
pub async fn explore_by_resource(
    pool: &PgPool,
    filter: &ExplorerFilter,
    offset: i64,
    limit: i64,
) -> Result<Vec<ResourceRisks>, StoreError> {
    let rank = SEVERITY_RANK.replace("severity", "f.severity");
    let sql = format!(
        "SELECT f.cluster_id, min(c.name) AS cluster_name, f.resource_kind, f.resource_namespace, f.resource_name,
                f.resource_node,
                (ARRAY['info', 'low', 'medium', 'high', 'critical'])[max({rank}) + 1] AS severity,
                array_agg(f.check_id ORDER BY {rank} DESC, f.check_id) AS checks,
                array_agg(DISTINCT f.area) AS areas
         FROM findings f JOIN clusters c ON c.id = f.cluster_id
         WHERE {EXPLORER_WHERE}
         GROUP BY f.cluster_id, f.resource_kind, f.resource_namespace, f.resource_name, f.resource_node
         ORDER BY max({rank}) DESC, count(*) DESC, min(c.name), f.resource_kind, f.resource_name,
                  f.resource_namespace NULLS FIRST, f.resource_node NULLS FIRST
         OFFSET $9 LIMIT $10"
    );
    let q = bind_filter(sqlx::query_as::<_, ResourceRisks>(&sql), filter).bind(offset).bind(limit);
    Ok(q.fetch_all(pool).await?)
}

/// The newest result scan of a cluster, if it has results.
#[tracing::instrument(skip_all, fields(cluster = %cluster_id))]
pub async fn latest_result_scan(pool: &PgPool, cluster_id: Uuid) -> Result<Option<ScanRow>, StoreError> {
    let id: Option<Uuid> =
        sqlx::query_scalar("SELECT last_result_scan_id FROM cluster_scan_state WHERE cluster_id = $1")
            .bind(cluster_id)
            .fetch_optional(pool)
            .await?
            .flatten();
    match id {
        Some(id) => Ok(Some(super::scans::get(pool, id).await?)),
        None => Ok(None),
    }
}

/// When the newest stored results of any live cluster were collected.
#[tracing::instrument(skip_all)]
pub async fn newest_results_at(pool: &PgPool) -> Result<Option<DateTime<Utc>>, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT max(s.last_result_at) FROM cluster_scan_state s JOIN clusters c ON c.id = s.cluster_id
         WHERE c.deleted_at IS NULL",
    )
    .fetch_one(pool)
    .await?)
}
