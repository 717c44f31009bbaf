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

/// Count the current results of every live cluster in `scope` by check and status.
#[tracing::instrument(skip(pool))]
pub async fn check_counts(pool: &PgPool, scope: &Scope) -> Result<ScopeCounts, StoreError> {
    let (cluster, group) = (scope.cluster, scope.group.as_deref());
    let (clusters, scanned): (i64, i64) = sqlx::query_as(
        "SELECT count(*), count(s.last_result_scan_id)
         FROM clusters c LEFT JOIN cluster_scan_state s ON s.cluster_id = c.id
         WHERE c.deleted_at IS NULL AND ($1::uuid IS NULL OR c.id = $1)
           AND ($2::text IS NULL OR c.cluster_group = $2)",
    )
    .bind(cluster)
    .bind(group)
    .fetch_one(pool)
    .await?;
    // A result an exception in force covers is counted apart: it does not count against a control.
    let rows: Vec<(String, String, bool, i64, i64)> = sqlx::query_as(&format!(
        "SELECT f.check_id, f.status, x.exception_id IS NOT NULL, count(*), count(DISTINCT f.cluster_id)
         FROM findings f JOIN clusters c ON c.id = f.cluster_id{join}
         WHERE c.deleted_at IS NULL AND f.status <> 'absent'
           AND ($1::uuid IS NULL OR c.id = $1) AND ($2::text IS NULL OR c.cluster_group = $2)
         GROUP BY 1, 2, 3",
        join = super::exceptions::join_exception("c")
    ))
    .bind(cluster)
    .bind(group)
    .fetch_all(pool)
    .await?;
    let mut checks: HashMap<String, CheckCounts> = HashMap::new();
    for (check, status, excepted, n, in_clusters) in rows {
        // A status this build does not know (a newer writer) is left out rather than guessed.
        let Ok(status) = status.parse::<Status>() else { continue };
        let counts = checks.entry(check).or_default();
        if excepted {
            counts.excepted += n as u64;
        } else {
            counts.add(status, n as u64, in_clusters as u64);
        }
    }
    Ok(ScopeCounts { clusters: clusters as u64, scanned: scanned as u64, checks })
}
