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
use sqlx::{FromRow, PgPool, Postgres, QueryBuilder};
use uuid::Uuid;

use super::findings::{Finding, ResourceRow};
use super::scans::ScanRow;
use super::trends::FleetScope;
use super::{and_eq, StoreError};

/// SQL rank of a severity text (higher is worse; migration 0106 defines the function).
const SEVERITY_RANK: &str = "palisade_severity_rank(severity)";

/// The counts of these clusters' newest results (`history::Counts` cells).
#[tracing::instrument(skip_all)]
pub async fn latest_counts(pool: &PgPool, clusters: &[Uuid]) -> Result<Vec<(Uuid, Vec<i32>)>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT s.cluster_id, lr.counts FROM cluster_scan_state s
         JOIN scans lr ON lr.id = s.last_result_scan_id WHERE lr.counts IS NOT NULL AND s.cluster_id = ANY($1)",
    )
    .bind(clusters)
    .fetch_all(pool)
    .await?)
}

/// End-of-day scores of these clusters since `since` (the fleet sparklines).
#[tracing::instrument(skip_all)]
pub async fn daily_scores(
    pool: &PgPool,
    clusters: &[Uuid],
    since: NaiveDate,
) -> Result<Vec<(Uuid, NaiveDate, Option<f32>)>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT cluster_id, day, score FROM scan_daily WHERE cluster_id = ANY($1) AND day >= $2
         ORDER BY cluster_id, day",
    )
    .bind(clusters)
    .bind(since)
    .fetch_all(pool)
    .await?)
}

/// Per cluster: how many resources fail with a worst severity of critical, and of high (kept by
/// every stored scan, migration 0106), of these clusters.
#[tracing::instrument(skip_all)]
pub async fn critical_high_resources(
    pool: &PgPool,
    clusters: &[Uuid],
) -> Result<Vec<(Uuid, i64, i64)>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT cluster_id, critical_resources::bigint, high_resources::bigint FROM cluster_scan_state
         WHERE cluster_id = ANY($1)",
    )
    .bind(clusters)
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

/// The checks failing across the clusters of `scope`, worst first: by severity, then by how many
/// clusters and resources fail them (the whole fleet from the `fleet_checks` totals, a part of it
/// from the `open_checks` read model).
#[tracing::instrument(skip_all)]
pub async fn failing_checks(
    pool: &PgPool,
    scope: &FleetScope,
    limit: i64,
) -> Result<Vec<CheckFailures>, StoreError> {
    if scope.is_everything() {
        return Ok(sqlx::query_as::<_, CheckFailures>(&format!(
            "SELECT check_id, title, area, severity, failing_clusters::bigint AS clusters, failing AS resources
             FROM fleet_checks WHERE failing_clusters > 0
             ORDER BY {SEVERITY_RANK} DESC, failing_clusters DESC, failing DESC, check_id LIMIT $1"
        ))
        .bind(limit)
        .fetch_all(pool)
        .await?);
    }
    // Counted per (check, severity) over the scope's clusters; titles from the fleet totals.
    Ok(sqlx::query_as::<_, CheckFailures>(&format!(
        "SELECT g.check_id, t.title, t.area, g.severity, g.clusters, g.resources
         FROM (SELECT o.check_id, o.severity, count(*) AS clusters, sum(o.failing)::bigint AS resources
               FROM open_checks o JOIN clusters c ON c.id = o.cluster_id
               WHERE o.failing > 0 AND {scope}
               GROUP BY o.check_id, o.severity) g
         JOIN fleet_checks t ON t.check_id = g.check_id AND t.severity = g.severity
         ORDER BY palisade_severity_rank(g.severity) DESC, g.clusters DESC, g.resources DESC, g.check_id
         LIMIT $3",
        scope = FleetScope::SQL
    ))
    .bind(scope.labels_json())
    .bind(&scope.group)
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
        "SELECT area, check_id, title, severity, CASE WHEN failing > 0 THEN 'fail' ELSE 'warn' END AS status,
                (failing + warning)::bigint AS resources
         FROM open_checks WHERE cluster_id = $1
         ORDER BY area, failing = 0, {SEVERITY_RANK} DESC, failing + warning DESC, check_id"
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
        "SELECT COALESCE((SELECT failing_resources::bigint FROM cluster_scan_state WHERE cluster_id = $1), 0)",
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
    /// Only findings an exception in force covers (`true`), or only the others (`false`).
    pub excepted: Option<bool>,
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
                // The order of the `findings_open_by_rank` index, so a page of open findings is read in
                // order instead of sorting the fleet's.
                "palisade_severity_rank(f.severity) DESC, f.check_id, f.cluster_id, f.id".to_string()
            }
            ExplorerSort::FirstSeen => "f.first_seen_at DESC, f.id".to_string(),
            ExplorerSort::Cluster => "c.name, f.check_id, f.resource_name, f.id".to_string(),
            ExplorerSort::Check => "f.check_id, c.name, f.resource_name, f.id".to_string(),
        }
    }
}

/// The explorer's conditions on findings `f` joined to clusters `c`, only those the filter sets:
/// each filter combination is its own statement, so PostgreSQL plans it with the indexes that
/// fit (a generic `$n IS NULL OR …` plan walks the whole table).
fn push_explorer_where<'a>(qb: &mut QueryBuilder<'a, Postgres>, filter: &'a ExplorerFilter) {
    qb.push(" WHERE c.deleted_at IS NULL AND ");
    qb.push(match filter.status.as_str() {
        "open" => "f.status IN ('fail', 'warn')",
        "fail" => "f.status = 'fail'",
        "warn" => "f.status = 'warn'",
        "resolved" => "f.resolved_at IS NOT NULL AND f.status NOT IN ('fail', 'warn')",
        _ => "true",
    });
    and_eq(qb, "f.cluster_id", filter.cluster);
    and_eq(qb, "f.area", filter.area.as_deref());
    and_eq(qb, "f.severity", filter.severity.as_deref());
    and_eq(qb, "f.check_id", filter.check.as_deref());
    and_eq(qb, "f.resource_namespace", filter.namespace.as_deref());
    if let Some(t) = filter.seen_after {
        qb.push(" AND f.first_seen_at >= ").push_bind(t);
    }
    if let Some(t) = filter.seen_before {
        qb.push(" AND f.first_seen_at < ").push_bind(t);
    }
    if let Some(excepted) = filter.excepted {
        qb.push(if excepted { " AND " } else { " AND NOT " }).push(super::exceptions::COVERED_CONDITION);
    }
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
    let mut qb = QueryBuilder::new(format!(
        "SELECT f.id, f.cluster_id, c.name AS cluster_name, f.check_id, f.title, f.area, f.severity,
                f.resource_kind, f.resource_namespace, f.resource_name, f.resource_node, f.status, f.evidence,
                f.first_seen_at, COALESCE(f.last_seen_at, s.last_result_at) AS last_seen_at, f.status_since,
                f.opened_at, f.resolved_at, f.reopened_at, f.reopen_count, {}
         FROM findings f JOIN clusters c ON c.id = f.cluster_id
         LEFT JOIN cluster_scan_state s ON s.cluster_id = f.cluster_id{}",
        super::exceptions::EXCEPTION_COLUMN,
        super::exceptions::join_exception("c"),
    ));
    push_explorer_where(&mut qb, filter);
    qb.push(format_args!(" ORDER BY {} OFFSET ", sort.order_by())).push_bind(offset);
    qb.push(" LIMIT ").push_bind(limit);
    Ok(qb.build_query_as::<Finding>().fetch_all(pool).await?)
}

/// The order of resource rows, worst first: by the worst severity, then by how many checks are
/// open on it, then by resource and cluster (stable pages). `rank` and `n` are SQL expressions.
fn resource_order(rank: &str, n: &str, t: &str) -> String {
    format!(
        "{rank} DESC, {n} DESC, {t}.resource_kind, {t}.resource_name, {t}.resource_namespace NULLS FIRST,
         {t}.resource_node NULLS FIRST, {t}.cluster_id"
    )
}

/// One page of the explorer grouped by resource: one row per (cluster, resource) with the
/// matching checks as tags, worst first. Open or failing findings filtered at most by cluster and
/// namespace are read from the `open_resources` read model; any other filter groups the matching
/// findings.
#[tracing::instrument(skip_all)]
pub async fn explore_by_resource(
    pool: &PgPool,
    filter: &ExplorerFilter,
    offset: i64,
    limit: i64,
) -> Result<Vec<ResourceRisks>, StoreError> {
    let stored = matches!(filter.status.as_str(), "open" | "fail")
        && filter.area.is_none()
        && filter.severity.is_none()
        && filter.check.is_none()
        && filter.seen_after.is_none()
        && filter.seen_before.is_none();
    let mut qb = if stored {
        // The failing view reads the `fail_` columns of the same rows.
        let p = if filter.status == "fail" { "fail_" } else { "" };
        let mut qb = QueryBuilder::new(format!(
            "SELECT r.cluster_id, c.name AS cluster_name, r.resource_kind, r.resource_namespace, r.resource_name,
                    r.resource_node, (ARRAY['info', 'low', 'medium', 'high', 'critical'])[r.{p}worst + 1] AS severity,
                    r.{p}checks AS checks, r.{p}areas AS areas
             FROM open_resources r JOIN clusters c ON c.id = r.cluster_id WHERE c.deleted_at IS NULL
               AND r.{p}results > 0"
        ));
        and_eq(&mut qb, "r.cluster_id", filter.cluster);
        and_eq(&mut qb, "r.resource_namespace", filter.namespace.as_deref());
        qb.push(format_args!(
            " ORDER BY {}",
            resource_order(&format!("r.{p}worst"), &format!("r.{p}results"), "r")
        ));
        qb
    } else {
        let mut qb = QueryBuilder::new(
            "SELECT f.cluster_id, min(c.name) AS cluster_name, f.resource_kind, f.resource_namespace,
                    f.resource_name, f.resource_node,
                    (ARRAY['info', 'low', 'medium', 'high', 'critical'])[max(palisade_severity_rank(f.severity)) + 1]
                        AS severity,
                    array_agg(f.check_id ORDER BY palisade_severity_rank(f.severity) DESC, f.check_id) AS checks,
                    array_agg(DISTINCT f.area ORDER BY f.area) AS areas
             FROM findings f JOIN clusters c ON c.id = f.cluster_id",
        );
        push_explorer_where(&mut qb, filter);
        qb.push(
            " GROUP BY f.cluster_id, f.resource_kind, f.resource_namespace, f.resource_name, f.resource_node",
        );
        qb.push(format_args!(
            " ORDER BY {}",
            resource_order("max(palisade_severity_rank(f.severity))", "count(*)", "f")
        ));
        qb
    };
    qb.push(" OFFSET ").push_bind(offset).push(" LIMIT ").push_bind(limit);
    let mut rows = qb.build_query_as::<ResourceRisks>().fetch_all(pool).await?;
    // The read model keeps one area per check.
    for r in &mut rows {
        r.areas.sort();
        r.areas.dedup();
    }
    Ok(rows)
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
