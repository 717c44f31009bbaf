//! Trends and the fleet overview, read from scan summaries (`scans.counts`, `scan_daily`).
//!
//! A trend point is computed in two steps: per cluster, its latest result set inside the time
//! bucket (the posture at the end of the bucket); then across clusters, the mean (score) or the
//! sum (failures). Clusters without results in a bucket are left out of it (a failed scan adds no
//! point; `null` when no cluster has one). Steps of whole days read the end-of-day table
//! `scan_daily` (one row per cluster and day whatever the scan frequency); shorter steps read the
//! scans themselves. Per-area and per-severity scores are the plain share of decided results
//! (`pass` + `fail`) that pass in that area or severity.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::Serialize;
use sqlx::{FromRow, PgPool};
use uuid::Uuid;

use super::StoreError;
use crate::domain::{Area, Labels, Severity, Status};
use crate::history::Counts;

/// The measured quantity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Severity-weighted pass share in percent (per area/severity: the plain pass share).
    Score,
    /// Number of failed results.
    Failures,
}

/// How series are split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SplitBy {
    /// One series for the whole selection.
    Fleet,
    Cluster,
    Area,
    Severity,
    Group,
}

/// A trend request, already validated.
#[derive(Debug, Clone)]
pub struct TrendQuery {
    pub metric: Metric,
    pub by: SplitBy,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub step: Duration,
    /// Restrict to these clusters (empty: all).
    pub clusters: Vec<Uuid>,
    pub group: Option<String>,
}

/// One point of a series; `value` is `null` where no scan had results in the bucket.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Point {
    /// Start of the bucket.
    pub t: DateTime<Utc>,
    pub value: Option<f64>,
}

/// A named time series.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Series {
    /// Cluster id, group name, area or severity; `fleet` for the whole selection.
    pub key: String,
    /// Cluster name for `by=cluster`, else the key.
    pub label: String,
    pub points: Vec<Point>,
}

#[derive(FromRow)]
struct Row {
    /// Index of the bucket from `from`.
    bucket: i64,
    key: String,
    label: String,
    vals: Vec<Option<f64>>,
}

/// Which expressions to average per cluster and bucket, and how to combine them.
enum Plan {
    /// One column; clusters combined by mean (score) or sum (failures).
    Single { expr: &'static str, combine: &'static str },
    /// One series per key, each a sum of one cell.
    Cells { keys: Vec<String>, cells: Vec<usize> },
    /// One series per key, `100 * pass / (pass + fail)` with per-key pass and fail cells.
    Ratios { keys: Vec<String>, pass: Vec<usize>, fail: Vec<usize> },
}

fn plan(metric: Metric, by: SplitBy) -> Plan {
    let areas = || Area::ALL.iter().map(|a| a.as_str().to_string()).collect::<Vec<_>>();
    let sevs = || Severity::ALL.iter().map(|s| s.as_str().to_string()).collect::<Vec<_>>();
    match (metric, by) {
        (Metric::Score, SplitBy::Fleet | SplitBy::Cluster | SplitBy::Group) => {
            Plan::Single { expr: "score::float8", combine: "avg" }
        }
        (Metric::Failures, SplitBy::Fleet | SplitBy::Cluster | SplitBy::Group) => {
            Plan::Single { expr: "failures::float8", combine: "sum" }
        }
        (Metric::Failures, SplitBy::Area) => Plan::Cells {
            keys: areas(),
            cells: Area::ALL.iter().map(|a| Counts::area_cell(*a, Status::Fail)).collect(),
        },
        (Metric::Failures, SplitBy::Severity) => Plan::Cells {
            keys: sevs(),
            cells: Severity::ALL.iter().map(|s| Counts::severity_cell(*s, Status::Fail)).collect(),
        },
        (Metric::Score, SplitBy::Area) => Plan::Ratios {
            keys: areas(),
            pass: Area::ALL.iter().map(|a| Counts::area_cell(*a, Status::Pass)).collect(),
            fail: Area::ALL.iter().map(|a| Counts::area_cell(*a, Status::Fail)).collect(),
        },
        (Metric::Score, SplitBy::Severity) => Plan::Ratios {
            keys: sevs(),
            pass: Severity::ALL.iter().map(|s| Counts::severity_cell(*s, Status::Pass)).collect(),
            fail: Severity::ALL.iter().map(|s| Counts::severity_cell(*s, Status::Fail)).collect(),
        },
    }
}

/// Answer a trend query. Buckets are `[from + k*step, from + (k+1)*step)` up to `to`.
#[tracing::instrument(skip_all, fields(metric = ?q.metric, by = ?q.by))]
pub async fn trend(pool: &PgPool, q: &TrendQuery) -> Result<Vec<Series>, StoreError> {
    let day = Duration::days(1);
    let daily = q.step >= day && q.step.num_seconds() % 86_400 == 0;
    let step_s = q.step.num_seconds().max(1);
    let fleet_wide = q.clusters.is_empty() && q.group.is_none();
    if daily
        && step_s == 86_400
        && fleet_wide
        && matches!(q.by, SplitBy::Fleet | SplitBy::Area | SplitBy::Severity)
    {
        return day_totals(pool, q, Totals::Fleet).await;
    }
    // By group, or one group as a whole: the groups' running totals.
    if daily && step_s == 86_400 && q.clusters.is_empty() {
        match (q.by, &q.group) {
            (SplitBy::Group, group) => return day_totals(pool, q, Totals::Groups(group.clone())).await,
            (SplitBy::Fleet | SplitBy::Area | SplitBy::Severity, Some(g)) => {
                return day_totals(pool, q, Totals::Groups(Some(g.clone()))).await
            }
            _ => {}
        }
    }
    // Source rows: (cluster_id, bucket index, counts, score, failures) in the window.
    let source = if daily {
        // Days are whole UTC days: the window starts at `from`'s day.
        "SELECT d.cluster_id, ((d.day - ($1::timestamptz AT TIME ZONE 'UTC')::date) / ($3::float8 / 86400)::int)::bigint AS bucket,
                d.counts, d.score, d.failures, d.day::timestamp AS ts
         FROM scan_daily d
         WHERE d.day >= ($1::timestamptz AT TIME ZONE 'UTC')::date AND d.day < ($2::timestamptz AT TIME ZONE 'UTC')::date"
    } else {
        "SELECT s.cluster_id, floor((extract(epoch FROM s.finished_at) - extract(epoch FROM $1::timestamptz)) / $3)::bigint AS bucket,
                s.counts, s.score, s.failures, s.finished_at AS ts
         FROM scans s
         WHERE s.result_seq IS NOT NULL AND s.finished_at >= $1 AND s.finished_at < $2"
    };
    // Each cluster counts with its latest result set in the bucket; with daily rows and a one-day
    // step there is exactly one, so the costly DISTINCT ON is skipped.
    let one_row_per_bucket = daily && step_s == 86_400;
    let plan = plan(q.metric, q.by);
    let inner_cols: Vec<String> = match &plan {
        Plan::Single { expr, .. } => vec![format!("{expr} AS v0")],
        Plan::Cells { cells, .. } => {
            cells.iter().enumerate().map(|(i, c)| format!("{}::float8 AS v{i}", cell_of(*c))).collect()
        }
        Plan::Ratios { pass, fail, .. } => pass
            .iter()
            .chain(fail.iter())
            .enumerate()
            .map(|(i, c)| format!("{}::float8 AS v{i}", cell_of(*c)))
            .collect(),
    };
    let outer_vals = match &plan {
        Plan::Single { combine, .. } => format!("ARRAY[{combine}(v0)::float8]"),
        Plan::Cells { cells, .. } => {
            format!(
                "ARRAY[{}]",
                (0..cells.len()).map(|i| format!("sum(v{i})::float8")).collect::<Vec<_>>().join(", ")
            )
        }
        Plan::Ratios { pass, .. } => {
            let n = pass.len();
            format!(
                "ARRAY[{}]",
                (0..n)
                    .map(|i| format!("100 * sum(v{i}) / NULLIF(sum(v{i}) + sum(v{}), 0)", i + n))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    };
    let (key, label) = match q.by {
        SplitBy::Cluster => ("c.id::text", "c.name"),
        SplitBy::Group => ("COALESCE(c.cluster_group, '')", "COALESCE(c.cluster_group, '')"),
        _ => ("'fleet'", "'fleet'"),
    };
    let sql = format!(
        "WITH src AS ({source}),
         per_cluster AS (
             SELECT {distinct} cluster_id, bucket, {inner} FROM src
             WHERE (cardinality($4::uuid[]) = 0 OR cluster_id = ANY($4))
             {order}
         )
         SELECT p.bucket, {key} AS key, {label} AS label, {outer} AS vals
         FROM per_cluster p JOIN clusters c ON c.id = p.cluster_id
         WHERE c.deleted_at IS NULL AND ($5::text IS NULL OR c.cluster_group = $5)
         GROUP BY 1, 2, 3 ORDER BY 2, 1",
        inner = inner_cols.join(", "),
        distinct = if one_row_per_bucket { "" } else { "DISTINCT ON (cluster_id, bucket)" },
        order = if one_row_per_bucket { "" } else { "ORDER BY cluster_id, bucket, ts DESC" },
        outer = outer_vals,
    );
    let rows = sqlx::query_as::<_, Row>(&sql)
        .bind(q.from)
        .bind(q.to)
        .bind(step_s as f64)
        .bind(&q.clusters)
        .bind(&q.group)
        .fetch_all(pool)
        .await?;
    Ok(assemble(q, &plan, rows))
}

/// Which running totals a daily trend reads.
enum Totals {
    /// `fleet_daily`.
    Fleet,
    /// `group_daily`: every group (each its own series when split by group), or one.
    Groups(Option<String>),
}

/// Day by day from the running totals (365 rows a year for the fleet, or per group): one series,
/// or split by group, area or severity from the summed cells. Same semantics as the per-cluster
/// path: a score is the mean cluster score, or per area/severity the pass share of the decided
/// results; failures are summed. Clusters deleted since still count on the days they were
/// scanned, in the group they were in that day.
async fn day_totals(pool: &PgPool, q: &TrendQuery, totals: Totals) -> Result<Vec<Series>, StoreError> {
    let plan = plan(q.metric, q.by);
    let vals: Vec<String> = match &plan {
        Plan::Single { .. } => vec![match q.metric {
            Metric::Score => "CASE WHEN scored > 0 THEN score_sum / scored END".into(),
            Metric::Failures => "failures::float8".into(),
        }],
        Plan::Cells { cells, .. } => cells.iter().map(|c| format!("{}::float8", cell_of(*c))).collect(),
        Plan::Ratios { pass, fail, .. } => pass
            .iter()
            .zip(fail)
            .map(|(p, f)| {
                format!("100 * {p}::float8 / NULLIF({p} + {f}, 0)", p = cell_of(*p), f = cell_of(*f))
            })
            .collect(),
    };
    let days = "day >= ($1::timestamptz AT TIME ZONE 'UTC')::date AND day < ($2::timestamptz AT TIME ZONE 'UTC')::date \
                AND clusters > 0";
    let bucket = "(day - ($1::timestamptz AT TIME ZONE 'UTC')::date)::bigint AS bucket";
    let sql = match (&totals, q.by) {
        (Totals::Fleet, _) => format!(
            "SELECT {bucket}, 'fleet' AS key, 'fleet' AS label, ARRAY[{}] AS vals
             FROM fleet_daily WHERE {days} ORDER BY day",
            vals.join(", ")
        ),
        (Totals::Groups(_), SplitBy::Group) => format!(
            "SELECT {bucket}, cluster_group AS key, cluster_group AS label, ARRAY[{}] AS vals
             FROM group_daily WHERE {days} AND ($3::text IS NULL OR cluster_group = $3)
             ORDER BY cluster_group, day",
            vals.join(", ")
        ),
        // One group as a whole (its rows are the only ones read).
        (Totals::Groups(_), _) => format!(
            "SELECT {bucket}, 'fleet' AS key, 'fleet' AS label, ARRAY[{}] AS vals
             FROM group_daily WHERE {days} AND cluster_group = $3 ORDER BY day",
            vals.join(", ")
        ),
    };
    let group = match &totals {
        Totals::Fleet => None,
        Totals::Groups(g) => g.clone(),
    };
    let mut query = sqlx::query_as::<_, Row>(&sql).bind(q.from).bind(q.to);
    if !matches!(totals, Totals::Fleet) {
        query = query.bind(group);
    }
    let rows = query.fetch_all(pool).await?;
    Ok(assemble(q, &plan, rows))
}

/// Turn (bucket, key, values) rows into complete series: every bucket present, gaps `null`.
fn assemble(q: &TrendQuery, plan: &Plan, rows: Vec<Row>) -> Vec<Series> {
    let mut buckets = Vec::new();
    let mut t = q.from;
    while t < q.to {
        buckets.push(t);
        t += q.step;
    }
    let index_of = |k: i64| -> Option<usize> { usize::try_from(k).ok().filter(|k| *k < buckets.len()) };
    let empty = |key: String, label: String| Series {
        key,
        label,
        points: buckets.iter().map(|t| Point { t: *t, value: None }).collect(),
    };
    match plan {
        Plan::Single { .. } => {
            let mut out: Vec<Series> = Vec::new();
            for r in rows {
                if out.last().map(|s| s.key != r.key).unwrap_or(true) {
                    out.push(empty(r.key.clone(), r.label.clone()));
                }
                if let (Some(i), Some(series)) = (index_of(r.bucket), out.last_mut()) {
                    series.points[i].value = r.vals.first().copied().flatten().map(round2);
                }
            }
            if out.is_empty() && q.by == SplitBy::Fleet {
                out.push(empty("fleet".into(), "fleet".into()));
            }
            out
        }
        Plan::Cells { keys, .. } | Plan::Ratios { keys, .. } => {
            let mut out: Vec<Series> = keys.iter().map(|k| empty(k.clone(), k.clone())).collect();
            for r in rows {
                if let Some(i) = index_of(r.bucket) {
                    for (s, v) in out.iter_mut().zip(r.vals.iter()) {
                        s.points[i].value = v.map(round2);
                    }
                }
            }
            out
        }
    }
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// One cluster in the fleet overview.
#[derive(Debug, Clone, Serialize, FromRow, utoipa::ToSchema)]
pub struct ClusterOverview {
    pub cluster_id: Uuid,
    pub name: String,
    pub group: Option<String>,
    #[schema(value_type = Object)]
    pub labels: serde_json::Value,
    /// State of the newest scan that started (running or finished), e.g. `failed` when the cluster
    /// is unreachable; queued retries are not shown here.
    pub last_scan_state: Option<String>,
    pub last_scan_at: Option<DateTime<Utc>>,
    pub last_scan_error: Option<String>,
    /// The newest stored results (succeeded or partial).
    pub last_result_at: Option<DateTime<Utc>>,
    pub score: Option<f32>,
    pub failures: Option<i32>,
    /// Results failing or warning in the newest results (the cluster's open findings).
    pub open_findings: Option<i64>,
    pub next_due_at: Option<DateTime<Utc>>,
}

/// `counts[…]` of the cell at 0-based `index` of [`Counts::cells`] (PostgreSQL arrays are 1-based).
fn cell(table: &str, index: usize) -> String {
    format!("{table}.{}", cell_of(index))
}

/// `counts[…]` of the cell at 0-based `index`, unqualified.
fn cell_of(index: usize) -> String {
    format!("counts[{}]", index + 1)
}

/// The SQL sum of a scan's open results (failing or warning, over every area), read through
/// [`Counts`]'s layout rather than by position.
fn open_findings_sql(table: &str) -> String {
    Area::ALL
        .iter()
        .flat_map(|a| [Status::Fail, Status::Warn].map(|s| cell(table, Counts::area_cell(*a, s))))
        .collect::<Vec<_>>()
        .join(" + ")
}

/// Which live clusters a fleet view covers: every label given must match, and the group if given.
#[derive(Debug, Clone, Default)]
pub struct FleetScope {
    pub labels: Labels,
    pub group: Option<String>,
}

impl FleetScope {
    /// The SQL condition on clusters `c`, binding the labels as `$1` and the group as `$2`.
    pub(crate) const SQL: &'static str =
        "c.deleted_at IS NULL AND c.labels @> $1::jsonb AND ($2::text IS NULL OR c.cluster_group = $2)";

    /// True when the scope is the whole fleet.
    pub fn is_everything(&self) -> bool {
        self.labels.iter().next().is_none() && self.group.is_none()
    }

    pub(crate) fn labels_json(&self) -> serde_json::Value {
        serde_json::Value::Object(
            self.labels.iter().map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone()))).collect(),
        )
    }
}

/// The fleet overview's orders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FleetOrder {
    /// Lowest score first (where to look first); clusters without a score before all.
    #[default]
    Worst,
    Name,
}

/// One page of the fleet overview.
#[derive(Debug, Clone)]
pub struct FleetPage {
    pub clusters: Vec<ClusterOverview>,
    /// Live clusters in the scope (all pages).
    pub matched: i64,
}

/// Every live cluster with its newest scan and newest results, by name.
#[tracing::instrument(skip_all)]
pub async fn fleet_overview(pool: &PgPool) -> Result<Vec<ClusterOverview>, StoreError> {
    Ok(fleet_page(pool, &FleetScope::default(), FleetOrder::Name, 0, i64::MAX).await?.clusters)
}

/// `limit` clusters of `scope` from `offset` in `order`, with their newest scan and results: the
/// page is chosen first, so the per-cluster lookups cost the page, not the fleet.
#[tracing::instrument(skip_all)]
pub async fn fleet_page(
    pool: &PgPool,
    scope: &FleetScope,
    order: FleetOrder,
    offset: i64,
    limit: i64,
) -> Result<FleetPage, StoreError> {
    let order_by = |score: &str, name: &str| match order {
        FleetOrder::Worst => format!("{score} ASC NULLS FIRST, {name}, 1"),
        FleetOrder::Name => format!("{name}, 1"),
    };
    let sql = format!(
        "WITH matched AS (
             SELECT c.id, c.name, s.last_result_score AS score FROM clusters c
             LEFT JOIN cluster_scan_state s ON s.cluster_id = c.id
             WHERE {scope}
         ), page AS (
             SELECT id, name, score FROM matched ORDER BY {page_order} OFFSET $3 LIMIT $4
         )
         SELECT c.id AS cluster_id, c.name, c.cluster_group AS \"group\", c.labels,
                ls.state AS last_scan_state, COALESCE(ls.finished_at, ls.started_at, ls.queued_at) AS last_scan_at,
                ls.error AS last_scan_error, s.last_result_at, lr.score, lr.failures,
                ({open})::bigint AS open_findings,
                s.next_due_at
         FROM page p JOIN clusters c ON c.id = p.id
         LEFT JOIN cluster_scan_state s ON s.cluster_id = c.id
         LEFT JOIN scans lr ON lr.id = s.last_result_scan_id
         LEFT JOIN LATERAL (SELECT state, started_at, finished_at, queued_at, error FROM scans x
                            WHERE x.cluster_id = c.id AND x.state <> 'queued'
                            ORDER BY x.queued_at DESC LIMIT 1) ls ON true
         ORDER BY {outer_order}",
        scope = FleetScope::SQL,
        page_order = order_by("score", "name"),
        outer_order = order_by("p.score", "p.name"),
        open = open_findings_sql("lr"),
    );
    let clusters = sqlx::query_as::<_, ClusterOverview>(&sql)
        .bind(scope.labels_json())
        .bind(&scope.group)
        .bind(offset)
        .bind(limit)
        .fetch_all(pool)
        .await?;
    Ok(FleetPage { clusters, matched: count_clusters(pool, scope).await? })
}

/// How many live clusters `scope` covers.
#[tracing::instrument(skip_all)]
pub async fn count_clusters(pool: &PgPool, scope: &FleetScope) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar(&format!("SELECT count(*) FROM clusters c WHERE {}", FleetScope::SQL))
        .bind(scope.labels_json())
        .bind(&scope.group)
        .fetch_one(pool)
        .await?)
}

/// A live cluster as a choice in a form: id, name and group, by name.
#[derive(Debug, Clone, FromRow)]
pub struct ClusterChoice {
    pub id: Uuid,
    pub name: String,
    pub group: Option<String>,
}

/// Every live cluster as a form choice.
#[tracing::instrument(skip_all)]
pub async fn cluster_choices(pool: &PgPool) -> Result<Vec<ClusterChoice>, StoreError> {
    Ok(sqlx::query_as::<_, ClusterChoice>(
        "SELECT id, name, cluster_group AS \"group\" FROM clusters WHERE deleted_at IS NULL ORDER BY name",
    )
    .fetch_all(pool)
    .await?)
}

/// The groups of live clusters, sorted.
#[tracing::instrument(skip_all)]
pub async fn groups(pool: &PgPool) -> Result<Vec<String>, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT DISTINCT cluster_group FROM clusters WHERE deleted_at IS NULL AND cluster_group IS NOT NULL
         ORDER BY 1",
    )
    .fetch_all(pool)
    .await?)
}

/// The first day a daily trend bucket covers (exposed for tests and docs).
pub fn day_of(t: DateTime<Utc>) -> NaiveDate {
    t.date_naive()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_findings_are_the_failing_and_warning_cells_of_every_area() {
        // The layout of today's five areas and five statuses, spelled out once as a witness.
        assert_eq!(
            open_findings_sql("lr"),
            "lr.counts[2] + lr.counts[3] + lr.counts[7] + lr.counts[8] + lr.counts[12] + lr.counts[13] + \
             lr.counts[17] + lr.counts[18] + lr.counts[22] + lr.counts[23]"
        );
    }
}
