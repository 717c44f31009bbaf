//! Scans: the queue, leases, progress, outcomes and stored snapshots (tables `scans`,
//! `cluster_scan_state`, `scan_daily`, `scan_snapshots`; see `migrations/0100_scans.sql`).
//!
//! Leasing: a replica claims queued scans (and running scans whose lease expired) with
//! `FOR UPDATE SKIP LOCKED`, writing a fresh lease token. Every later write of that run (progress,
//! lease renewal, the outcome) is fenced on the token, so a replica that lost its lease can never
//! write results: each scan's results are written exactly once, in one transaction.

use std::io::{Read, Write};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{FromRow, PgPool, Postgres, Transaction};
use uuid::Uuid;

use super::{findings, StoreError};
use crate::checks::CheckResult;
use crate::history::{Counts, ScanSummary};
use crate::snapshot::Snapshot;

/// The store's error under the name this module used before the store had one error type.
pub use super::StoreError as ScanStoreError;

/// The lifecycle state of a scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ScanState {
    Queued,
    Running,
    Succeeded,
    /// Finished, but some evidence could not be collected (results include `unknown`).
    Partial,
    Failed,
}

impl ScanState {
    pub fn as_str(self) -> &'static str {
        match self {
            ScanState::Queued => "queued",
            ScanState::Running => "running",
            ScanState::Succeeded => "succeeded",
            ScanState::Partial => "partial",
            ScanState::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Result<Self, StoreError> {
        Ok(match text {
            "queued" => ScanState::Queued,
            "running" => ScanState::Running,
            "succeeded" => ScanState::Succeeded,
            "partial" => ScanState::Partial,
            "failed" => ScanState::Failed,
            other => return Err(StoreError::Corrupt(format!("unknown scan state `{other}`"))),
        })
    }
}

/// Progress of a running scan, as the collector reports it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ScanProgress {
    /// e.g. `connecting`, `collecting pods`, `checking`, `saving`.
    pub phase: String,
    /// Items handled so far in this phase or overall (e.g. objects collected).
    #[serde(default)]
    pub done: u64,
    /// Expected items, when known.
    #[serde(default)]
    pub total: Option<u64>,
}

/// A scan as stored.
#[derive(Debug, Clone, FromRow)]
pub struct ScanRow {
    pub id: Uuid,
    pub cluster_id: Uuid,
    pub trigger: String,
    pub state: String,
    pub attempt: i32,
    pub requested_by: Option<String>,
    pub queued_at: DateTime<Utc>,
    pub not_before: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub lease_expires_at: Option<DateTime<Utc>>,
    pub takeovers: i32,
    pub progress: Option<sqlx::types::Json<ScanProgress>>,
    pub error: Option<String>,
    pub result_seq: Option<i64>,
    pub counts: Option<Vec<i32>>,
    pub score: Option<f32>,
    pub failures: Option<i32>,
    pub total_results: Option<i32>,
    pub changes: Option<i32>,
    pub detail_pruned: bool,
    pub quarantined: bool,
}

const SCAN_COLUMNS: &str = "id, cluster_id, trigger, state, attempt, requested_by, queued_at, not_before, \
    started_at, finished_at, lease_expires_at, takeovers, progress, error, result_seq, counts, score, failures, \
    total_results, changes, detail_pruned, quarantined";

/// A scan as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Scan {
    pub id: Uuid,
    pub cluster_id: Uuid,
    /// `schedule`, `manual` or `retry`.
    pub trigger: String,
    pub state: ScanState,
    /// 1 for the first try; a retry after a failure has the next number.
    pub attempt: i32,
    pub requested_by: Option<String>,
    pub queued_at: DateTime<Utc>,
    /// A queued retry does not start before this time (backoff).
    pub not_before: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Running scans: when the lease runs out unless renewed.
    pub lease_expires_at: Option<DateTime<Utc>>,
    /// How often another replica took the scan over after its lease expired.
    pub takeovers: i32,
    pub progress: Option<ScanProgress>,
    /// Why the scan failed, in words.
    pub error: Option<String>,
    /// Present once results are stored (succeeded or partial).
    pub summary: Option<ScanSummary>,
    /// Findings whose status or evidence changed compared to the cluster's previous results.
    pub changes: Option<i32>,
    /// True when the retention policy removed this scan's per-result detail (summary kept).
    pub detail_pruned: bool,
    /// True when the scan was failed for crashing or hanging every replica that ran it; it is
    /// not retried before the cluster's next due time.
    pub quarantined: bool,
}

impl ScanRow {
    pub fn state(&self) -> Result<ScanState, StoreError> {
        ScanState::parse(&self.state)
    }

    pub fn to_api(&self) -> Result<Scan, StoreError> {
        let summary = match &self.counts {
            Some(c) => Some(
                Counts::from_slice(c)
                    .map_err(StoreError::Corrupt)?
                    .summary(self.score.map(|s| (f64::from(s) * 10.0).round() / 10.0)),
            ),
            None => None,
        };
        Ok(Scan {
            id: self.id,
            cluster_id: self.cluster_id,
            trigger: self.trigger.clone(),
            state: self.state()?,
            attempt: self.attempt,
            requested_by: self.requested_by.clone(),
            queued_at: self.queued_at,
            not_before: self.not_before,
            started_at: self.started_at,
            finished_at: self.finished_at,
            lease_expires_at: self.lease_expires_at,
            takeovers: self.takeovers,
            progress: self.progress.as_ref().map(|p| p.0.clone()),
            error: self.error.clone(),
            summary,
            changes: self.changes,
            detail_pruned: self.detail_pruned,
            quarantined: self.quarantined,
        })
    }
}

/// One scan row by id.
#[tracing::instrument(skip_all, fields(scan = %id))]
pub async fn get(pool: &PgPool, id: Uuid) -> Result<ScanRow, StoreError> {
    sqlx::query_as::<_, ScanRow>(&format!("SELECT {SCAN_COLUMNS} FROM scans WHERE id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("no scan with id {id}")))
}

/// A cluster's scans, newest first, `limit` per page after the `before` cursor (a scan id).
#[tracing::instrument(skip_all, fields(cluster = %cluster_id))]
pub async fn list_for_cluster(
    pool: &PgPool,
    cluster_id: Uuid,
    before: Option<Uuid>,
    limit: i64,
) -> Result<Vec<ScanRow>, StoreError> {
    let rows = sqlx::query_as::<_, ScanRow>(&format!(
        "SELECT {SCAN_COLUMNS} FROM scans WHERE cluster_id = $1
           AND ($2::uuid IS NULL OR (queued_at, id) < (SELECT queued_at, id FROM scans WHERE id = $2))
         ORDER BY queued_at DESC, id DESC LIMIT $3"
    ))
    .bind(cluster_id)
    .bind(before)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(rows)
}

/// Create the scheduling rows of clusters that have none yet (first due now).
pub async fn ensure_cluster_states(pool: &PgPool) -> Result<u64, StoreError> {
    let done = sqlx::query(
        "INSERT INTO cluster_scan_state (cluster_id)
         SELECT c.id FROM clusters c
         WHERE c.deleted_at IS NULL AND NOT EXISTS (SELECT 1 FROM cluster_scan_state s WHERE s.cluster_id = c.id)
         ON CONFLICT DO NOTHING",
    )
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

/// A cluster's schedule: an interval, a cron expression, or the configured default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ScheduleSpec {
    pub interval_seconds: Option<i32>,
    pub cron: Option<String>,
    pub paused: bool,
}

/// Set a cluster's schedule; the next scan is due at `next_due_at`.
pub async fn set_schedule(
    pool: &PgPool,
    cluster_id: Uuid,
    spec: &ScheduleSpec,
    next_due_at: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO cluster_scan_state (cluster_id, interval_seconds, cron, paused, next_due_at)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (cluster_id) DO UPDATE SET interval_seconds = $2, cron = $3, paused = $4, next_due_at = $5",
    )
    .bind(cluster_id)
    .bind(spec.interval_seconds)
    .bind(&spec.cron)
    .bind(spec.paused)
    .bind(next_due_at)
    .execute(pool)
    .await?;
    Ok(())
}

/// A cluster whose schedule says a scan is due.
#[derive(Debug, Clone, FromRow)]
pub struct DueCluster {
    pub cluster_id: Uuid,
    pub interval_seconds: Option<i32>,
    pub cron: Option<String>,
}

/// Queue a scheduled scan for up to `limit` due clusters and move their next due time on with
/// `next_due` (computed by the scheduler from each schedule). Clusters that already have a queued
/// or running scan get no second one. Returns the number of scans queued.
pub async fn enqueue_due(
    pool: &PgPool,
    limit: i64,
    next_due: impl Fn(&DueCluster, DateTime<Utc>) -> DateTime<Utc>,
) -> Result<usize, StoreError> {
    let mut tx = pool.begin().await?;
    let now: DateTime<Utc> = sqlx::query_scalar("SELECT now()").fetch_one(&mut *tx).await?;
    let due = sqlx::query_as::<_, DueCluster>(
        "SELECT s.cluster_id, s.interval_seconds, s.cron FROM cluster_scan_state s
         JOIN clusters c ON c.id = s.cluster_id
         WHERE NOT s.paused AND s.next_due_at <= now() AND c.deleted_at IS NULL AND c.enabled \
           AND c.mode = 'pull'
         ORDER BY s.next_due_at LIMIT $1
         FOR UPDATE OF s SKIP LOCKED",
    )
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?;
    if due.is_empty() {
        return Ok(0);
    }
    let ids: Vec<Uuid> = due.iter().map(|d| d.cluster_id).collect();
    let nexts: Vec<DateTime<Utc>> = due.iter().map(|d| next_due(d, now)).collect();
    let scan_ids: Vec<Uuid> = due.iter().map(|_| Uuid::now_v7()).collect();
    let queued = sqlx::query(
        "INSERT INTO scans (id, cluster_id, trigger, state)
         SELECT sid, cid, 'schedule', 'queued' FROM UNNEST($1::uuid[], $2::uuid[]) AS t(sid, cid)
         ON CONFLICT (cluster_id) WHERE state IN ('queued', 'running') DO NOTHING",
    )
    .bind(&scan_ids)
    .bind(&ids)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    sqlx::query(
        "UPDATE cluster_scan_state s SET next_due_at = t.next
         FROM UNNEST($1::uuid[], $2::timestamptz[]) AS t(cid, next) WHERE s.cluster_id = t.cid",
    )
    .bind(&ids)
    .bind(&nexts)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(queued as usize)
}

/// Queue a scan requested by a user. When the cluster already has a queued or running scan, that
/// scan is returned instead (`false`): one scan at a time per cluster.
#[tracing::instrument(skip_all, fields(cluster = %cluster_id))]
pub async fn request(
    pool: &PgPool,
    cluster_id: Uuid,
    requested_by: Option<&str>,
) -> Result<(ScanRow, bool), StoreError> {
    for _ in 0..3 {
        let inserted = sqlx::query_as::<_, ScanRow>(&format!(
            "INSERT INTO scans (id, cluster_id, trigger, state, requested_by) VALUES ($1, $2, 'manual', 'queued', $3)
             ON CONFLICT (cluster_id) WHERE state IN ('queued', 'running') DO NOTHING
             RETURNING {SCAN_COLUMNS}"
        ))
        .bind(Uuid::now_v7())
        .bind(cluster_id)
        .bind(requested_by)
        .fetch_optional(pool)
        .await?;
        if let Some(row) = inserted {
            return Ok((row, true));
        }
        let active = sqlx::query_as::<_, ScanRow>(&format!(
            "SELECT {SCAN_COLUMNS} FROM scans WHERE cluster_id = $1 AND state IN ('queued', 'running')"
        ))
        .bind(cluster_id)
        .fetch_optional(pool)
        .await?;
        if let Some(row) = active {
            return Ok((row, false));
        }
        // The active scan finished between the two statements: try again.
    }
    Err(StoreError::Conflict("the cluster's scan queue is changing too fast; try again".into()))
}

/// A scan this run holds the lease of.
#[derive(Debug, Clone, FromRow)]
pub struct Claimed {
    pub id: Uuid,
    pub cluster_id: Uuid,
    pub attempt: i32,
    /// The fencing token of this run; every later write must present it.
    pub lease_token: String,
    /// True when the scan was running elsewhere and its lease had expired.
    pub taken_over: bool,
}

/// A scan failed by [`quarantine`].
#[derive(Debug, Clone, FromRow)]
pub struct Quarantined {
    pub id: Uuid,
    pub cluster_id: Uuid,
    pub takeovers: i32,
}

/// Fail, with `reason` and no retry, every running scan whose lease expired and that has already
/// been taken over `max_takeovers - 1` times: this expiry is its last takeover. Such scans are
/// never claimed again ([`claim`] skips them); the cluster's next scan comes at its next due time.
#[tracing::instrument(skip_all)]
pub async fn quarantine(
    pool: &PgPool,
    max_takeovers: i32,
    reason: &str,
) -> Result<Vec<Quarantined>, StoreError> {
    Ok(sqlx::query_as::<_, Quarantined>(
        "WITH poisoned AS (
             SELECT id FROM scans
             WHERE state = 'running' AND lease_expires_at <= now() AND takeovers + 1 >= $1
             FOR UPDATE SKIP LOCKED
         )
         UPDATE scans s SET state = 'failed', finished_at = now(), lease_expires_at = NULL,
                            takeovers = s.takeovers + 1, quarantined = true, error = $2
         FROM poisoned WHERE s.id = poisoned.id
         RETURNING s.id, s.cluster_id, s.takeovers",
    )
    .bind(max_takeovers)
    .bind(reason)
    .fetch_all(pool)
    .await?)
}

/// Claim up to `max` scans: queued ones that may start, and running ones whose lease expired
/// with fewer than `max_takeovers - 1` takeovers (the others are for [`quarantine`]).
/// With `global_limit`, never lets more than that many scans run (with live leases) across all
/// replicas; claims are serialized by an advisory lock so the count is exact.
#[tracing::instrument(skip_all, fields(owner = owner))]
pub async fn claim(
    pool: &PgPool,
    owner: &str,
    max: i64,
    global_limit: Option<i64>,
    lease: Duration,
    max_takeovers: i32,
) -> Result<Vec<Claimed>, StoreError> {
    if max <= 0 {
        return Ok(Vec::new());
    }
    let mut tx = pool.begin().await?;
    let mut max = max;
    if let Some(limit) = global_limit {
        // Key: the crate's name as a number, so it does not clash with other advisory locks.
        sqlx::query("SELECT pg_advisory_xact_lock(7107105115)").execute(&mut *tx).await?;
        let running: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM scans WHERE state = 'running' AND lease_expires_at > now()",
        )
        .fetch_one(&mut *tx)
        .await?;
        max = max.min(limit - running);
        if max <= 0 {
            return Ok(Vec::new());
        }
    }
    let token_prefix = format!("{owner}/");
    let claimed = sqlx::query_as::<_, Claimed>(
        "WITH picked AS (
             SELECT id, state FROM scans
             WHERE (state = 'queued' AND not_before <= now())
                OR (state = 'running' AND lease_expires_at <= now() AND takeovers + 1 < $4)
             ORDER BY not_before, queued_at
             LIMIT $1 FOR UPDATE SKIP LOCKED
         )
         UPDATE scans s SET
             state = 'running',
             lease_owner = $2 || gen_random_uuid()::text,
             lease_expires_at = now() + make_interval(secs => $3),
             started_at = now(),
             takeovers = s.takeovers + CASE WHEN picked.state = 'running' THEN 1 ELSE 0 END,
             progress = '{\"phase\": \"starting\", \"done\": 0}'::jsonb
         FROM picked WHERE s.id = picked.id
         RETURNING s.id, s.cluster_id, s.attempt, s.lease_owner AS lease_token, picked.state = 'running' AS taken_over",
    )
    .bind(max)
    .bind(&token_prefix)
    .bind(lease.as_secs_f64())
    .bind(max_takeovers)
    .fetch_all(&mut *tx)
    .await?;
    if !claimed.is_empty() {
        sqlx::query(
            "UPDATE cluster_scan_state s SET last_scan_id = t.id FROM UNNEST($1::uuid[], $2::uuid[]) AS t(id, cid)
             WHERE s.cluster_id = t.cid",
        )
        .bind(claimed.iter().map(|c| c.id).collect::<Vec<_>>())
        .bind(claimed.iter().map(|c| c.cluster_id).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(claimed)
}

/// Renew the lease and record progress. `Ok(false)` means the lease is lost: stop the run.
pub async fn heartbeat(
    pool: &PgPool,
    claim: &Claimed,
    lease: Duration,
    progress: Option<&ScanProgress>,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE scans SET lease_expires_at = now() + make_interval(secs => $3),
                          progress = COALESCE($4, progress)
         WHERE id = $1 AND lease_owner = $2 AND state = 'running'",
    )
    .bind(claim.id)
    .bind(&claim.lease_token)
    .bind(lease.as_secs_f64())
    .bind(progress.map(sqlx::types::Json))
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Record a failed run with its reason in words. With `retry_after`, queue the next attempt to
/// start no earlier than that; the failed scan stays in the history as it is.
#[tracing::instrument(skip_all, fields(scan = %claim.id))]
pub async fn fail(
    pool: &PgPool,
    claim: &Claimed,
    reason: &str,
    retry_after: Option<Duration>,
) -> Result<Option<Uuid>, StoreError> {
    let mut tx = pool.begin().await?;
    let row = sqlx::query_as::<_, (String,)>(
        "UPDATE scans SET state = 'failed', finished_at = now(), error = $3, lease_expires_at = NULL
         WHERE id = $1 AND lease_owner = $2 AND state = 'running' RETURNING trigger",
    )
    .bind(claim.id)
    .bind(&claim.lease_token)
    .bind(reason)
    .fetch_optional(&mut *tx)
    .await?;
    if row.is_none() {
        return Err(StoreError::LeaseLost);
    }
    let mut retry_id = None;
    if let Some(after) = retry_after {
        let id = Uuid::now_v7();
        let inserted = sqlx::query(
            "INSERT INTO scans (id, cluster_id, trigger, state, attempt, not_before)
             VALUES ($1, $2, 'retry', 'queued', $3, now() + make_interval(secs => $4))
             ON CONFLICT (cluster_id) WHERE state IN ('queued', 'running') DO NOTHING",
        )
        .bind(id)
        .bind(claim.cluster_id)
        .bind(claim.attempt + 1)
        .bind(after.as_secs_f64())
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() == 1 {
            retry_id = Some(id);
        }
    }
    tx.commit().await?;
    Ok(retry_id)
}

/// What a finished collection produced.
pub struct ScanOutcome {
    pub results: Vec<CheckResult>,
    pub snapshot: Option<Snapshot>,
    /// Some evidence could not be collected (the scan is `partial`).
    pub partial: bool,
}

/// What [`complete`] stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Completed {
    pub state: ScanState,
    pub result_seq: i64,
    pub changes: findings::ChangeStats,
}

/// Store a scan's results, summary and snapshot in one transaction, fenced on the lease token:
/// either everything is written and the scan is `succeeded`/`partial`, or nothing is.
pub async fn complete(
    pool: &PgPool,
    claim: &Claimed,
    outcome: &ScanOutcome,
    snapshots_kept: i64,
) -> Result<Completed, StoreError> {
    complete_as_of(pool, claim, outcome, snapshots_kept, None).await
}

/// [`complete`] with the finish time given instead of the database's clock: for importing past
/// scans (backfill) in chronological order, and for tests that need a history spread over time.
#[tracing::instrument(skip_all, fields(scan = %claim.id, results = outcome.results.len()))]
pub async fn complete_as_of(
    pool: &PgPool,
    claim: &Claimed,
    outcome: &ScanOutcome,
    snapshots_kept: i64,
    at: Option<DateTime<Utc>>,
) -> Result<Completed, StoreError> {
    // Compress before the transaction: it is the slow part and needs no lock.
    let snapshot_gz = match &outcome.snapshot {
        Some(s) => Some(compress_snapshot(s)?),
        None => None,
    };
    let mut tx = pool.begin().await?;
    let owned = sqlx::query_scalar::<_, Uuid>(
        "SELECT id FROM scans WHERE id = $1 AND lease_owner = $2 AND state = 'running' FOR UPDATE",
    )
    .bind(claim.id)
    .bind(&claim.lease_token)
    .fetch_optional(&mut *tx)
    .await?;
    if owned.is_none() {
        return Err(StoreError::LeaseLost);
    }
    // Lock the cluster's row: result sets of one cluster are written one after another, in order.
    sqlx::query("SELECT 1 FROM cluster_scan_state WHERE cluster_id = $1 FOR UPDATE")
        .bind(claim.cluster_id)
        .execute(&mut *tx)
        .await?;
    let (seq, db_now): (i64, DateTime<Utc>) =
        sqlx::query_as("SELECT nextval('scan_result_seq'), now()").fetch_one(&mut *tx).await?;
    let now = at.unwrap_or(db_now);
    let (stats, written) =
        findings::apply_results(&mut tx, claim.cluster_id, claim.id, seq, now, &outcome.results).await?;
    let counts = Counts::of(&outcome.results);
    let state = if outcome.partial { ScanState::Partial } else { ScanState::Succeeded };
    // Results an exception in force covers keep their status but do not count against the score.
    let covered = super::exceptions::covered_findings(&mut tx, claim.cluster_id, now).await?;
    let score = crate::history::score(outcome.results.iter().filter(|r| {
        covered.is_empty()
            || !covered.contains(&crate::history::finding_id(claim.cluster_id, &r.check_id, &r.resource))
    }))
    .map(|s| s as f32);
    sqlx::query(
        "UPDATE scans SET state = $2, finished_at = $3, started_at = LEAST(started_at, $3), lease_expires_at = NULL,
                          result_seq = $4, counts = $5,
                          score = $6, failures = $7, total_results = $8, changes = $9,
                          progress = '{\"phase\": \"done\", \"done\": 0}'::jsonb || jsonb_build_object('done', $8)
         WHERE id = $1",
    )
    .bind(claim.id)
    .bind(state.as_str())
    .bind(now)
    .bind(seq)
    .bind(&counts.cells[..])
    .bind(score)
    .bind(counts.failures())
    .bind(counts.total())
    .bind(stats.total() as i32)
    .execute(&mut *tx)
    .await?;
    // The cluster's previous end-of-day row (this cluster's writes are serialized by the lock above),
    // so the fleet and group totals move by exactly the change.
    let old: Option<(Option<f32>, i32, Vec<i32>, String)> = sqlx::query_as(
        "SELECT score, failures, counts, cluster_group FROM scan_daily \
         WHERE day = ($1 AT TIME ZONE 'UTC')::date AND cluster_id = $2",
    )
    .bind(now)
    .bind(claim.cluster_id)
    .fetch_optional(&mut *tx)
    .await?;
    let group: String = sqlx::query_scalar("SELECT COALESCE(cluster_group, '') FROM clusters WHERE id = $1")
        .bind(claim.cluster_id)
        .fetch_one(&mut *tx)
        .await?;
    let new_day = DayTotals::of(score, counts.failures(), &counts.cells);
    let old_day = old.as_ref().map(|(s, f, c, _)| DayTotals::of(*s, *f, c));
    let delta = new_day.minus(old_day.as_ref());
    add_day_totals(&mut tx, None, now, &delta).await?;
    match (&old, &old_day) {
        // Moved to another group since its last scan today: the day's row moves with it.
        (Some((_, _, _, old_group)), Some(old_day)) if *old_group != group => {
            add_day_totals(&mut tx, Some(old_group), now, &DayTotals::default().minus(Some(old_day))).await?;
            add_day_totals(&mut tx, Some(&group), now, &new_day).await?;
        }
        _ => add_day_totals(&mut tx, Some(&group), now, &delta).await?,
    }
    sqlx::query(
        "INSERT INTO scan_daily (cluster_id, day, scan_id, scans, counts, score, failures, cluster_group)
         VALUES ($1, ($2 AT TIME ZONE 'UTC')::date, $3, 1, $4, $5, $6, $7)
         ON CONFLICT (day, cluster_id) DO UPDATE SET scan_id = $3, scans = scan_daily.scans + 1, counts = $4,
                                                     score = $5, failures = $6, cluster_group = $7",
    )
    .bind(claim.cluster_id)
    .bind(now)
    .bind(claim.id)
    .bind(&counts.cells[..])
    .bind(score)
    .bind(counts.failures())
    .bind(&group)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        // An upsert: a scan requested before the scheduler made the cluster's row (the demo fleet
        // asks for its first scans at registration) must still be the cluster's newest results.
        "INSERT INTO cluster_scan_state (cluster_id, last_result_scan_id, last_result_seq, last_result_at, last_result_score)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (cluster_id) DO UPDATE SET last_result_scan_id = $2, last_result_seq = $3, last_result_at = $4,
                                                 last_result_score = $5",
    )
    .bind(claim.cluster_id)
    .bind(claim.id)
    .bind(seq)
    .bind(now)
    .bind(score)
    .execute(&mut *tx)
    .await?;
    // The dashboard's read model of open findings (migration 0106) moves only with the findings:
    // the checks and resources of the findings written, or all of them when most were written.
    if stats.total() > 0 {
        let only = (written.len() * 4 < outcome.results.len()).then_some(&written);
        sqlx::query("SELECT palisade_refresh_open_summary(ARRAY[$1]::uuid[], $2)")
            .bind(claim.cluster_id)
            .bind(only)
            .execute(&mut *tx)
            .await?;
    }
    if let (Some((raw, gz)), true) = (snapshot_gz, snapshots_kept > 0) {
        sqlx::query("INSERT INTO scan_snapshots (scan_id, cluster_id, created_at, raw_bytes, gzip) VALUES ($1, $2, $3, $4, $5)")
            .bind(claim.id)
            .bind(claim.cluster_id)
            .bind(now)
            .bind(raw as i64)
            .bind(gz)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "DELETE FROM scan_snapshots WHERE cluster_id = $1 AND scan_id NOT IN
               (SELECT scan_id FROM scan_snapshots WHERE cluster_id = $1 ORDER BY created_at DESC LIMIT $2)",
        )
        .bind(claim.cluster_id)
        .bind(snapshots_kept)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(Completed { state, result_seq: seq, changes: stats })
}

pub(crate) fn compress_snapshot(snapshot: &Snapshot) -> Result<(usize, Vec<u8>), StoreError> {
    let json = serde_json::to_vec(snapshot).map_err(|e| StoreError::Corrupt(format!("snapshot: {e}")))?;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(&json)
        .and_then(|_| enc.finish())
        .map(|gz| (json.len(), gz))
        .map_err(|e| StoreError::Corrupt(format!("cannot compress the snapshot: {e}")))
}

pub(crate) fn decompress_snapshot(gz: &[u8]) -> Result<Snapshot, StoreError> {
    let mut json = Vec::new();
    flate2::read::GzDecoder::new(gz)
        .read_to_end(&mut json)
        .map_err(|e| StoreError::Corrupt(format!("stored snapshot is not gzip: {e}")))?;
    serde_json::from_slice(&json).map_err(|e| StoreError::Corrupt(format!("stored snapshot: {e}")))
}

/// The snapshot of the cluster's latest successful or partial scan that still has one stored.
#[tracing::instrument(skip_all, fields(cluster = %cluster_id))]
pub async fn latest_snapshot(pool: &PgPool, cluster_id: Uuid) -> Result<Option<Snapshot>, StoreError> {
    let gz: Option<Vec<u8>> = sqlx::query_scalar(
        "SELECT gzip FROM scan_snapshots WHERE cluster_id = $1 ORDER BY created_at DESC LIMIT 1",
    )
    .bind(cluster_id)
    .fetch_optional(pool)
    .await?;
    gz.map(|g| decompress_snapshot(&g)).transpose()
}

/// The scan id and storage time of the cluster's newest stored snapshot (what
/// [`latest_snapshot`] would load), without loading it: the key of the analysis cache.
#[tracing::instrument(skip_all, fields(cluster = %cluster_id))]
pub async fn latest_snapshot_ref(
    pool: &PgPool,
    cluster_id: Uuid,
) -> Result<Option<(Uuid, DateTime<Utc>)>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT scan_id, created_at FROM scan_snapshots WHERE cluster_id = $1 ORDER BY created_at DESC LIMIT 1",
    )
    .bind(cluster_id)
    .fetch_optional(pool)
    .await?)
}

/// The stored snapshot of one scan, if it is still kept.
pub async fn snapshot_of(pool: &PgPool, scan_id: Uuid) -> Result<Option<Snapshot>, StoreError> {
    let gz: Option<Vec<u8>> = sqlx::query_scalar("SELECT gzip FROM scan_snapshots WHERE scan_id = $1")
        .bind(scan_id)
        .fetch_optional(pool)
        .await?;
    gz.map(|g| decompress_snapshot(&g)).transpose()
}

/// Retention: scans finished before `cutoff` lose their per-result detail (changes that no
/// retained scan needs); their summaries, the daily trend rows and finding lifecycles are kept.
/// Returns the number of change rows removed.
#[tracing::instrument(skip_all)]
pub async fn prune_detail(pool: &PgPool, cutoff: DateTime<Utc>) -> Result<u64, StoreError> {
    let mut tx: Transaction<'_, Postgres> = pool.begin().await?;
    // Per cluster: the newest result set older than the cutoff. Every change at or before it
    // except each finding's latest one is needed by no retained scan.
    let removed = sqlx::query(
        "WITH edge AS (
             SELECT cluster_id, max(result_seq) AS seq FROM scans
             WHERE result_seq IS NOT NULL AND finished_at < $1 AND NOT detail_pruned GROUP BY cluster_id
         ), keep AS (
             SELECT ch.finding_id, max(ch.seq) AS seq FROM finding_changes ch
             JOIN findings f ON f.id = ch.finding_id JOIN edge e ON e.cluster_id = f.cluster_id
             WHERE ch.seq <= e.seq GROUP BY ch.finding_id
         )
         DELETE FROM finding_changes ch USING keep
         WHERE ch.finding_id = keep.finding_id AND ch.seq < keep.seq",
    )
    .bind(cutoff)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    sqlx::query(
        "UPDATE scans SET detail_pruned = true WHERE result_seq IS NOT NULL AND finished_at < $1 AND NOT detail_pruned",
    )
    .bind(cutoff)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(removed)
}

/// Hand a running scan back to the queue (graceful shutdown): another replica may start it now.
pub async fn release(pool: &PgPool, claim: &Claimed) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE scans SET state = 'queued', lease_owner = NULL, lease_expires_at = NULL, progress = NULL,
                          not_before = now()
         WHERE id = $1 AND lease_owner = $2 AND state = 'running'",
    )
    .bind(claim.id)
    .bind(&claim.lease_token)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A cluster's schedule and next due time (the default schedule when none is stored yet).
pub async fn get_schedule(
    pool: &PgPool,
    cluster_id: Uuid,
) -> Result<(ScheduleSpec, Option<DateTime<Utc>>), StoreError> {
    type Row = (Option<i32>, Option<String>, bool, DateTime<Utc>);
    let row: Option<Row> = sqlx::query_as(
        "SELECT interval_seconds, cron, paused, next_due_at FROM cluster_scan_state WHERE cluster_id = $1",
    )
    .bind(cluster_id)
    .fetch_optional(pool)
    .await?;
    Ok(match row {
        Some((interval_seconds, cron, paused, next)) => {
            (ScheduleSpec { interval_seconds, cron, paused }, Some(next))
        }
        None => (ScheduleSpec { interval_seconds: None, cron: None, paused: false }, None),
    })
}

/// One cluster's end-of-day contribution to `fleet_daily` and `group_daily` (or a change of it).
#[derive(Debug, Default)]
struct DayTotals {
    clusters: i32,
    scored: i32,
    score_sum: f64,
    failures: i64,
    cells: Vec<i64>,
}

impl DayTotals {
    fn of(score: Option<f32>, failures: i32, cells: &[i32]) -> DayTotals {
        DayTotals {
            clusters: 1,
            scored: i32::from(score.is_some()),
            score_sum: f64::from(score.unwrap_or(0.0)),
            failures: i64::from(failures),
            cells: cells.iter().map(|c| i64::from(*c)).collect(),
        }
    }

    /// `self − other` (`None`: nothing to take away), cell by cell.
    fn minus(&self, other: Option<&DayTotals>) -> DayTotals {
        let zero = DayTotals::default();
        let o = other.unwrap_or(&zero);
        let n = self.cells.len().max(o.cells.len());
        let cell = |v: &[i64], i: usize| v.get(i).copied().unwrap_or(0);
        DayTotals {
            clusters: self.clusters - o.clusters,
            scored: self.scored - o.scored,
            score_sum: self.score_sum - o.score_sum,
            failures: self.failures - o.failures,
            cells: (0..n).map(|i| cell(&self.cells, i) - cell(&o.cells, i)).collect(),
        }
    }
}

/// Add `d` to the fleet's end-of-day totals (`group` `None`) or to a group's, for `now`'s UTC day.
async fn add_day_totals(
    conn: &mut sqlx::PgConnection,
    group: Option<&str>,
    now: DateTime<Utc>,
    d: &DayTotals,
) -> Result<(), StoreError> {
    let (table, key, values) = match group {
        None => ("fleet_daily", "day", "($1 AT TIME ZONE 'UTC')::date"),
        Some(_) => ("group_daily", "cluster_group, day", "$7, ($1 AT TIME ZONE 'UTC')::date"),
    };
    let sql = format!(
        "INSERT INTO {table} ({key}, clusters, scored, score_sum, failures, counts)
         VALUES ({values}, $2, $3, $4, $5, $6)
         ON CONFLICT ({key}) DO UPDATE SET clusters = {table}.clusters + $2, scored = {table}.scored + $3,
             score_sum = {table}.score_sum + $4, failures = {table}.failures + $5,
             counts = ARRAY(SELECT COALESCE(t.a, 0) + COALESCE(t.b, 0)
                            FROM unnest({table}.counts, $6::bigint[]) WITH ORDINALITY AS t(a, b, n) ORDER BY t.n)"
    );
    let mut q =
        sqlx::query(&sql).bind(now).bind(d.clusters).bind(d.scored).bind(d.score_sum).bind(d.failures);
    q = q.bind(&d.cells);
    if let Some(g) = group {
        q = q.bind(g);
    }
    q.execute(conn).await?;
    Ok(())
}
