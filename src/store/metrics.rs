//! What `GET /metrics` reports, read in four aggregate queries whatever the size of the fleet:
//! each live cluster with its newest results' score and time, their failing findings counted per
//! (cluster, area, severity) from the dashboard's `open_checks` read model (migration 0106), the
//! scan queue and leases, and the cumulative scan outcome totals a trigger keeps
//! (`scan_outcome_totals`, migration 0111).
//!
//! Every figure is the database's, not this process's: any replica answers the same.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::{FromRow, PgPool};
use uuid::Uuid;

use super::StoreError;
use crate::domain::{Area, Severity};

/// A live (not deleted) cluster and its newest results.
#[derive(Debug, Clone, FromRow)]
pub struct ClusterRow {
    pub id: Uuid,
    pub name: String,
    pub group: Option<String>,
    /// The newest results' score in percent; `None` without results or when nothing was decided.
    pub score: Option<f32>,
    /// When the newest results were stored; `None` before the first.
    pub last_result_at: Option<DateTime<Utc>>,
}

/// Failing findings of a cluster's newest results, `[area][severity]` in the order of
/// [`Area::ALL`] and [`Severity::ALL`].
pub type FailingGrid = [[i64; Severity::ALL.len()]; Area::ALL.len()];

/// The scan queue and the leases of running scans, now.
#[derive(Debug, Clone, Default, FromRow)]
pub struct QueueRow {
    /// Queued scans that may start now (what the schedulers claim next).
    pub due: i64,
    /// Queued scans that may not start yet (retries waiting out their backoff).
    pub waiting: i64,
    /// Running scans whose lease is live.
    pub running: i64,
    /// Running scans whose lease expired: their replica stopped renewing it (crashed, hung or cut
    /// off); another replica takes them over or quarantines them.
    pub leases_expired: i64,
    /// Seconds since the longest-waiting due scan became due (0 when none is).
    pub oldest_due_seconds: f64,
}

/// How many scans ended with one outcome, and how long they ran, since the database was made.
#[derive(Debug, Clone, FromRow)]
pub struct OutcomeTotals {
    /// `succeeded`, `partial` or `failed`.
    pub outcome: String,
    pub scans: i64,
    /// Scans that ran (had a start time): the histogram's count.
    pub timed: i64,
    pub seconds_sum: f64,
    /// Timed scans per bucket, not cumulative; one more than `bounds` (the last is +Inf).
    pub buckets: Vec<i64>,
    /// The buckets' upper bounds in seconds.
    pub bounds: Vec<f64>,
}

/// Everything `GET /metrics` shows.
#[derive(Debug, Clone)]
pub struct Metrics {
    /// Live clusters by name.
    pub clusters: Vec<ClusterRow>,
    /// Clusters with a failing finding (a cluster absent here fails nothing).
    pub failing: HashMap<Uuid, FailingGrid>,
    pub queue: QueueRow,
    pub outcomes: Vec<OutcomeTotals>,
}

/// Read the metrics: four queries, sent at once.
#[tracing::instrument(skip_all)]
pub async fn read(pool: &PgPool) -> Result<Metrics, StoreError> {
    let clusters = sqlx::query_as::<_, ClusterRow>(
        "SELECT c.id, c.name, c.cluster_group AS \"group\", s.last_result_score AS score, s.last_result_at
         FROM clusters c LEFT JOIN cluster_scan_state s ON s.cluster_id = c.id
         WHERE c.deleted_at IS NULL ORDER BY c.name",
    )
    .fetch_all(pool);
    // open_checks holds the open findings of each cluster's newest results, one row per (check,
    // severity); a deleted cluster's rows are gone, and the join keeps it so.
    let failing = sqlx::query_as::<_, (Uuid, String, String, i64)>(
        "SELECT o.cluster_id, o.area, o.severity, sum(o.failing)::bigint AS failing
         FROM open_checks o JOIN clusters c ON c.id = o.cluster_id
         WHERE c.deleted_at IS NULL AND o.failing > 0
         GROUP BY o.cluster_id, o.area, o.severity",
    )
    .fetch_all(pool);
    // Only queued and running scans: the rows of the one-active-scan-per-cluster index. The
    // conditions are the scheduler's (store::scans::claim).
    let queue = sqlx::query_as::<_, QueueRow>(
        "SELECT count(*) FILTER (WHERE state = 'queued' AND not_before <= now()) AS due,
                count(*) FILTER (WHERE state = 'queued' AND not_before > now()) AS waiting,
                count(*) FILTER (WHERE state = 'running' AND lease_expires_at > now()) AS running,
                count(*) FILTER (WHERE state = 'running' AND NOT COALESCE(lease_expires_at > now(), false))
                    AS leases_expired,
                COALESCE(extract(epoch FROM now() - min(not_before)
                    FILTER (WHERE state = 'queued' AND not_before <= now()))::float8, 0) AS oldest_due_seconds
         FROM scans WHERE state IN ('queued', 'running')",
    )
    .fetch_one(pool);
    let outcomes = sqlx::query_as::<_, OutcomeTotals>(
        "SELECT outcome, scans, timed, seconds_sum, buckets, palisade_scan_duration_bounds() AS bounds
         FROM scan_outcome_totals ORDER BY outcome",
    )
    .fetch_all(pool);
    let (clusters, failing, queue, outcomes) = tokio::try_join!(clusters, failing, queue, outcomes)?;
    if let Some(o) = outcomes.iter().find(|o| o.buckets.len() != o.bounds.len() + 1) {
        return Err(StoreError::Corrupt(format!(
            "the `{}` scan totals hold {} buckets for {} bounds",
            o.outcome,
            o.buckets.len(),
            o.bounds.len()
        )));
    }
    let mut grids: HashMap<Uuid, FailingGrid> = HashMap::new();
    for (cluster_id, area, severity, n) in failing {
        let (Ok(area), Ok(severity)) = (area.parse::<Area>(), severity.parse::<Severity>()) else {
            return Err(StoreError::Corrupt(format!(
                "an open check of area `{area}` and severity `{severity}`"
            )));
        };
        let a = Area::ALL.iter().position(|x| *x == area).unwrap_or_default();
        let s = Severity::ALL.iter().position(|x| *x == severity).unwrap_or_default();
        grids.entry(cluster_id).or_insert([[0; Severity::ALL.len()]; Area::ALL.len()])[a][s] = n;
    }
    Ok(Metrics { clusters, failing: grids, queue, outcomes })
}
