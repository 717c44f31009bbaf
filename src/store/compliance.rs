//! What framework compliance reads: the current results of every live cluster in a scope (its
//! findings' statuses, which are its newest result set), counted per check and status.

use std::collections::HashMap;

use sqlx::PgPool;
use uuid::Uuid;

use super::StoreError;
use crate::domain::Status;
use crate::frameworks::compliance::CheckCounts;

/// Which clusters a compliance answer covers: the live clusters matching every filter given (none:
/// the fleet), as the trends' `clusters` and `group` filters combine.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    pub cluster: Option<Uuid>,
    pub group: Option<String>,
    /// Only these clusters (empty: no such filter).
    pub clusters: Vec<Uuid>,
}

impl Scope {
    /// The clusters filter as a bind value (`NULL`: no filter).
    fn ids(&self) -> Option<&[Uuid]> {
        (!self.clusters.is_empty()).then_some(self.clusters.as_slice())
    }
}

/// Per-check result counts over a scope.
#[derive(Debug, Clone, Default)]
pub struct ScopeCounts {
    /// Live clusters in scope.
    pub clusters: u64,
    /// Of those, the ones with results.
    pub scanned: u64,
    pub checks: HashMap<String, CheckCounts>,
}

/// One live cluster of a scope with its per-check counts.
#[derive(Debug, Clone)]
pub struct ClusterCounts {
    pub id: Uuid,
    pub name: String,
    pub group: Option<String>,
    /// The score of its newest results; `None` before its first scan.
    pub score: Option<f64>,
    pub last_result_at: Option<chrono::DateTime<chrono::Utc>>,
    pub checks: HashMap<String, CheckCounts>,
}

/// The live clusters of the scope (`c`), with `$1` cluster, `$2` group, `$3` cluster ids.
const IN_SCOPE: &str = "c.deleted_at IS NULL AND ($1::uuid IS NULL OR c.id = $1) \
     AND ($2::text IS NULL OR c.cluster_group = $2) AND ($3::uuid[] IS NULL OR c.id = ANY($3))";

/// A query over the scope, its three parameters bound.
fn scoped<'q, T>(
    sql: &'q str,
    scope: &'q Scope,
) -> sqlx::query::QueryAs<'q, sqlx::Postgres, T, sqlx::postgres::PgArguments>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>,
{
    sqlx::query_as::<_, T>(sql).bind(scope.cluster).bind(scope.group.as_deref()).bind(scope.ids())
}

/// Current results of the scope an exception in force covers, per (check, status, cluster).
/// Counted apart and taken off the totals: joining the few exceptions to the findings of their
/// checks is far cheaper than asking, for each of hundreds of thousands of findings, whether one
/// covers it.
async fn covered(pool: &PgPool, scope: &Scope) -> Result<Vec<(String, String, Uuid, i64)>, StoreError> {
    let sql = format!(
        "SELECT check_id, status, cluster_id, count(*) FROM (
             SELECT DISTINCT f.id, f.check_id, f.status, f.cluster_id
             FROM exceptions e JOIN findings f ON f.check_id = e.check_id JOIN clusters c ON c.id = f.cluster_id
             WHERE e.state = 'approved' AND e.expires_at > now() AND f.status <> 'absent' AND {IN_SCOPE}
               AND palisade_exception_covers(e, f.cluster_id, c.cluster_group, f.check_id, f.resource_namespace,
                                             f.resource_name, now())) cv
         GROUP BY 1, 2, 3"
    );
    Ok(scoped(&sql, scope).fetch_all(pool).await?)
}

/// Count the current results of every live cluster in `scope` by check and status; results an
/// exception in force covers are counted as `excepted` instead of by their status.
#[tracing::instrument(skip(pool))]
pub async fn check_counts(pool: &PgPool, scope: &Scope) -> Result<ScopeCounts, StoreError> {
    let totals_sql = format!(
        "SELECT count(*), count(s.last_result_scan_id) FROM clusters c
         LEFT JOIN cluster_scan_state s ON s.cluster_id = c.id WHERE {IN_SCOPE}"
    );
    let by_status_sql = format!(
        "SELECT f.check_id, f.status, count(*) FROM findings f JOIN clusters c ON c.id = f.cluster_id
         WHERE f.status <> 'absent' AND {IN_SCOPE} GROUP BY 1, 2"
    );
    let failing_sql = format!(
        "SELECT f.check_id, f.cluster_id, count(*) FROM findings f JOIN clusters c ON c.id = f.cluster_id
         WHERE f.status = 'fail' AND {IN_SCOPE} GROUP BY 1, 2"
    );
    // Four independent reads, at once.
    let (totals, by_status, failing, covered) = futures::try_join!(
        async { Ok::<_, StoreError>(scoped::<(i64, i64)>(&totals_sql, scope).fetch_one(pool).await?) },
        async { Ok(scoped::<(String, String, i64)>(&by_status_sql, scope).fetch_all(pool).await?) },
        async { Ok(scoped::<(String, Uuid, i64)>(&failing_sql, scope).fetch_all(pool).await?) },
        covered(pool, scope),
    )?;
    let mut checks: HashMap<String, CheckCounts> = HashMap::new();
    for (check, status, n) in by_status {
        // A status this build does not know (a newer writer) is left out rather than guessed.
        let Ok(status) = status.parse::<Status>() else { continue };
        checks.entry(check).or_default().add(status, n as u64, 0);
    }
    // A cluster fails a check while any of its failing results there is not covered.
    let mut covered_fails: HashMap<(String, Uuid), i64> = HashMap::new();
    for (check, status, cluster, n) in covered {
        let Ok(status) = status.parse::<Status>() else { continue };
        if status == Status::Fail {
            covered_fails.insert((check.clone(), cluster), n);
        }
        checks.entry(check).or_default().except(status, n as u64);
    }
    for (check, cluster, n) in failing {
        if n > covered_fails.get(&(check.clone(), cluster)).copied().unwrap_or(0) {
            checks.entry(check).or_default().clusters_failing += 1;
        }
    }
    Ok(ScopeCounts { clusters: totals.0 as u64, scanned: totals.1 as u64, checks })
}

/// The same counts as [`check_counts`], cluster by cluster (in name order).
#[tracing::instrument(skip(pool))]
pub async fn check_counts_by_cluster(pool: &PgPool, scope: &Scope) -> Result<Vec<ClusterCounts>, StoreError> {
    let clusters_sql = format!(
        "SELECT c.id, c.name, c.cluster_group, s.last_result_score, s.last_result_at
         FROM clusters c LEFT JOIN cluster_scan_state s ON s.cluster_id = c.id WHERE {IN_SCOPE} ORDER BY c.name"
    );
    let counts_sql = format!(
        "SELECT f.cluster_id, f.check_id, f.status, count(*) FROM findings f JOIN clusters c ON c.id = f.cluster_id
         WHERE f.status <> 'absent' AND {IN_SCOPE} GROUP BY 1, 2, 3"
    );
    type ClusterRow = (Uuid, String, Option<String>, Option<f32>, Option<chrono::DateTime<chrono::Utc>>);
    let (rows, counts, covered) = futures::try_join!(
        async { Ok::<_, StoreError>(scoped::<ClusterRow>(&clusters_sql, scope).fetch_all(pool).await?) },
        async { Ok(scoped::<(Uuid, String, String, i64)>(&counts_sql, scope).fetch_all(pool).await?) },
        covered(pool, scope),
    )?;
    let mut out: Vec<ClusterCounts> = rows
        .into_iter()
        .map(|(id, name, group, score, last_result_at)| ClusterCounts {
            id,
            name,
            group,
            score: score.map(|s| (f64::from(s) * 10.0).round() / 10.0),
            last_result_at,
            checks: HashMap::new(),
        })
        .collect();
    let index: HashMap<Uuid, usize> = out.iter().enumerate().map(|(i, c)| (c.id, i)).collect();
    for (cluster, check, status, n) in counts {
        let (Some(&i), Ok(status)) = (index.get(&cluster), status.parse::<Status>()) else { continue };
        out[i].checks.entry(check).or_default().add(status, n as u64, 1);
    }
    for (check, status, cluster, n) in covered {
        let (Some(&i), Ok(status)) = (index.get(&cluster), status.parse::<Status>()) else { continue };
        let c = out[i].checks.entry(check).or_default();
        c.except(status, n as u64);
        if c.fail == 0 {
            c.clusters_failing = 0;
        }
    }
    Ok(out)
}
