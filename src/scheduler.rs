//! The scheduler: queues due scans, leases them in PostgreSQL, runs collect → checks → store with a
//! per-scan timeout under a concurrency limit, renews leases while a scan runs, records failures
//! with their reason and retries them with backoff, and applies the retention policy.
//!
//! Every `palisade serve` replica runs one scheduler on the same database. PostgreSQL is the only
//! coordination: due clusters and queued scans are picked with `FOR UPDATE SKIP LOCKED`, a running
//! scan carries a lease (expiry + fencing token) renewed by its runner, and a scan whose replica
//! died is claimed again once its lease has expired. Results are written in one transaction fenced
//! on the token (see `store::scans::complete`), so a scan's results are stored exactly once.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use futures::future::BoxFuture;
use sqlx::PgPool;
use tokio::sync::watch;
use tokio::task::JoinSet;
use uuid::Uuid;

use crate::checks::CheckOptions;
use crate::collect::kube::{CollectError, LiveOptions, Progress, ProgressFn};
pub use crate::config::SchedulerSettings;
use crate::domain::Status;
use crate::egress::Egress;
use crate::registry::{Registry, RegistryError, ScanSource, Schedule};
use crate::store::scans::{self, Claimed, ScanOutcome, ScanProgress};
use crate::store::StoreError;
use crate::telemetry::Chain;

/// Delay before retry number `attempt + 1` after attempt `attempt` failed: `base * 2^(attempt-1)`,
/// at most `max`.
pub fn backoff(attempt: i32, base: Duration, max: Duration) -> Duration {
    let exp = attempt.saturating_sub(1).clamp(0, 20) as u32;
    base.saturating_mul(2u32.saturating_pow(exp)).min(max)
}

/// Why a scan could not produce results. Its `Display` is the one place the words a user reads
/// (stored with the failed scan, shown by the API and the dashboard) are made.
#[derive(Debug, thiserror::Error)]
pub enum ScanFailure {
    #[error("cannot load the cluster's credentials: {0}")]
    Credentials(#[source] RegistryError),
    #[error(transparent)]
    Collect(#[from] CollectError),
    #[error(
        "no snapshot from the cluster agent yet: this cluster is in push mode, so the server waits for \
         `palisade agent --mode cluster` to send one (deploy/cluster-agent.yaml, with an agent token)"
    )]
    NoPushedSnapshot,
    #[error("the checks crashed: {0}")]
    ChecksCrashed(#[source] tokio::task::JoinError),
    #[error("the scan timed out after {0} seconds")]
    TimedOut(u64),
    #[error("quarantined after {0} takeovers: the scan crashed or hung every replica that ran it")]
    Quarantined(i32),
}

/// Reports progress of a running scan; the runner stores the latest value with each heartbeat.
pub type ProgressSink = watch::Sender<ScanProgress>;

/// Produces the results of one cluster: in the server, collect live → run the checks.
pub trait Scanner: Send + Sync + 'static {
    fn scan(
        &self,
        cluster_id: Uuid,
        progress: ProgressSink,
    ) -> BoxFuture<'static, Result<ScanOutcome, ScanFailure>>;
}

/// Loads what a live scan needs for one cluster: its name, decrypted credentials and probe
/// settings.
pub type CredentialLoader =
    Arc<dyn Fn(Uuid) -> BoxFuture<'static, Result<crate::registry::ScanTarget, RegistryError>> + Send + Sync>;

/// The server's scanner: collect the cluster live over its API, then run every check.
pub struct LiveScanner {
    load: CredentialLoader,
    check_options: CheckOptions,
    live: LiveOptions,
}

impl LiveScanner {
    /// `scan_timeout` bounds the collection; the scheduler's own timeout bounds the whole scan.
    /// Every connection goes through `egress`: a cluster whose address it denies fails with the
    /// rule, and no packet is sent.
    pub fn new(
        load: CredentialLoader,
        check_options: CheckOptions,
        scan_timeout: Duration,
        egress: Arc<Egress>,
        probe: Option<crate::collect::probe::ProbeOptions>,
    ) -> Self {
        let live = LiveOptions { scan_timeout, egress, probe, ..LiveOptions::default() };
        Self { load, check_options, live }
    }
}

/// Turns collector progress events into the scan's progress (phase and object count).
fn progress_reporter(sink: ProgressSink) -> ProgressFn {
    let listed: Arc<std::sync::Mutex<std::collections::HashMap<&'static str, usize>>> = Default::default();
    Arc::new(move |p: &Progress| {
        let Ok(mut listed) = listed.lock() else { return };
        let (phase, done, total) = match p {
            Progress::Listing { resource, items } | Progress::Listed { resource, items, .. } => {
                listed.insert(resource, *items);
                (format!("collecting {resource}"), listed.values().sum::<usize>() as u64, None)
            }
            Progress::Kubelets { done, total } => {
                ("reading kubelet configuration".to_string(), *done as u64, Some(*total as u64))
            }
            Progress::Probing { done, total } => {
                ("probing endpoints".to_string(), *done as u64, Some(*total as u64))
            }
        };
        sink.send_replace(ScanProgress { phase, done, total });
    })
}

impl Scanner for LiveScanner {
    fn scan(
        &self,
        cluster_id: Uuid,
        progress: ProgressSink,
    ) -> BoxFuture<'static, Result<ScanOutcome, ScanFailure>> {
        let load = Arc::clone(&self.load);
        let options = self.check_options.clone();
        let mut live = self.live.clone();
        Box::pin(async move {
            let target = load(cluster_id).await.map_err(ScanFailure::Credentials)?;
            let (name, hosts) = (target.name, target.hosts);
            let mut snapshot = match target.source {
                ScanSource::Pull(creds) => {
                    if let (Some(port), Some(probe)) = (target.ssh_port, live.probe.as_mut()) {
                        probe.ssh_port = (port != 0).then_some(port);
                    }
                    live.progress = Some(progress_reporter(progress.clone()));
                    crate::collect::kube::collect(&name, &creds, live).await?
                }
                // The cluster agent collected and probed inside the cluster; nothing is dialled here.
                ScanSource::Push(pushed) => {
                    let mut snapshot = pushed.ok_or(ScanFailure::NoPushedSnapshot)?.snapshot;
                    snapshot.cluster.name = name;
                    snapshot
                }
            };
            snapshot.add_host_reports(hosts);
            crate::collect::reduce::add_agent_components(&mut snapshot);
            let objects = progress.borrow().done;
            progress.send_replace(ScanProgress { phase: "checking".into(), done: objects, total: None });
            // The checks are CPU-bound: keep them off the async workers.
            let (snapshot, results) = tokio::task::spawn_blocking(move || {
                let results = crate::checks::run_all(&snapshot, &options);
                (snapshot, results)
            })
            .await
            .map_err(ScanFailure::ChecksCrashed)?;
            let partial = !snapshot.gaps.is_empty() || results.iter().any(|r| r.status == Status::Unknown);
            Ok(ScanOutcome { results, snapshot: Some(snapshot), partial })
        })
    }
}

/// A task that is aborted when this handle is dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A running scheduler. Dropping the handle does not stop it; call [`SchedulerHandle::shutdown`]
/// (hand running scans back to the queue) or [`SchedulerHandle::abort`] (stop at once, as if the
/// process died: leases expire and another replica takes over).
pub struct SchedulerHandle {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
    /// This replica's lease owner name.
    pub owner: String,
}

impl SchedulerHandle {
    /// Stop claiming, cancel running scans and put them back in the queue.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }

    /// Stop immediately without touching the database, like a crash.
    pub fn abort(self) {
        self.task.abort();
    }
}

/// The scheduler of one replica.
pub struct Scheduler {
    pool: PgPool,
    settings: SchedulerSettings,
    scanner: Arc<dyn Scanner>,
    owner: String,
}

impl Scheduler {
    pub fn new(pool: PgPool, settings: SchedulerSettings, scanner: Arc<dyn Scanner>) -> Self {
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "palisade".into());
        let owner = format!("{host}-{}", Uuid::new_v4().simple());
        Self { pool, settings, scanner, owner }
    }

    /// The server's scheduler: live scans of registered clusters with their stored credentials.
    pub fn for_server(
        pool: PgPool,
        cipher: Arc<crate::secrets::Cipher>,
        settings: SchedulerSettings,
        egress: Arc<Egress>,
    ) -> Self {
        let interval = Duration::from_secs(settings.default_interval_secs);
        let registry = Registry::new(pool.clone(), cipher, interval, Arc::clone(&egress));
        let load: CredentialLoader = Arc::new(move |id| {
            let registry = registry.clone();
            Box::pin(async move { registry.scan_target(id).await })
        });
        let timeout = Duration::from_secs(settings.scan_timeout_secs.max(1));
        let probe = settings.probes.then(|| crate::collect::probe::ProbeOptions {
            concurrency: settings.probe_concurrency.max(1),
            timeout: Duration::from_millis(settings.probe_timeout_millis.max(1)),
            ca_pem: None,
            ssh_port: (settings.ssh_port != 0).then_some(settings.ssh_port),
        });
        let scanner = LiveScanner::new(load, CheckOptions::default(), timeout, egress, probe);
        Self::new(pool, settings, Arc::new(scanner))
    }

    /// Start the scheduler loop on the current runtime.
    pub fn spawn(self) -> SchedulerHandle {
        let (stop, stopped) = watch::channel(false);
        let owner = self.owner.clone();
        let task = tokio::spawn(self.run(stopped));
        SchedulerHandle { stop, task, owner }
    }

    async fn run(self, mut stopped: watch::Receiver<bool>) {
        let this = Arc::new(self);
        let mut running: JoinSet<()> = JoinSet::new();
        let mut claims: std::collections::HashMap<tokio::task::Id, Claimed> = Default::default();
        let tick = Duration::from_millis(this.settings.tick_millis.max(10));
        let mut ticks: u64 = 0;
        tracing::info!(owner = %this.owner, "scheduler started");
        loop {
            if *stopped.borrow() {
                break;
            }
            if let Err(e) = this.tick(ticks, &mut running, &mut claims).await {
                // A database outage must not stop the scheduler: try again next tick.
                tracing::warn!(error = %Chain(&e), "scheduler tick failed");
            }
            ticks += 1;
            tokio::select! {
                _ = tokio::time::sleep(tick) => {}
                Some(done) = running.join_next_with_id(), if !running.is_empty() => {
                    let id = match done { Ok((id, ())) => id, Err(e) => e.id() };
                    claims.remove(&id);
                }
                _ = stopped.changed() => {}
            }
        }
        // Graceful stop: cancel runs and hand their scans back so another replica starts them now.
        running.abort_all();
        while running.join_next().await.is_some() {}
        for claim in claims.values() {
            if let Err(e) = scans::release(&this.pool, claim).await {
                tracing::warn!(scan = %claim.id, error = %Chain(&e), "cannot hand the scan back; its lease will expire");
            }
        }
        tracing::info!(owner = %this.owner, "scheduler stopped");
    }

    async fn tick(
        self: &Arc<Self>,
        ticks: u64,
        running: &mut JoinSet<()>,
        claims: &mut std::collections::HashMap<tokio::task::Id, Claimed>,
    ) -> Result<(), StoreError> {
        while let Some(done) = running.try_join_next_with_id() {
            let id = match done {
                Ok((id, ())) => id,
                Err(e) => e.id(),
            };
            claims.remove(&id);
        }
        let s = &self.settings;
        if ticks % 10 == 0 {
            scans::ensure_cluster_states(&self.pool).await?;
        }
        let default = Duration::from_secs(s.default_interval_secs.max(1));
        scans::enqueue_due(&self.pool, 500, |due, now| {
            match Schedule::parse(due.interval_seconds, due.cron.as_deref(), default) {
                Ok(schedule) => schedule.next_after(now),
                Err(e) => {
                    // Stored schedules are validated on the way in; fall back rather than stall.
                    tracing::warn!(cluster = %due.cluster_id, error = %e, "invalid stored schedule; using the default");
                    Schedule::Every(default).next_after(now)
                }
            }
        })
        .await?;
        let free = s.max_concurrent.saturating_sub(running.len()) as i64;
        let global = (s.global_max_concurrent > 0).then_some(s.global_max_concurrent);
        let max_takeovers = s.max_takeovers.max(1);
        let reason = ScanFailure::Quarantined(max_takeovers).to_string();
        for q in scans::quarantine(&self.pool, max_takeovers, &reason).await? {
            tracing::error!(scan = %q.id, cluster = %q.cluster_id, takeovers = q.takeovers, "{reason}");
        }
        let claimed =
            scans::claim(&self.pool, &self.owner, free, global, self.lease(), max_takeovers).await?;
        for claim in claimed {
            if claim.taken_over {
                tracing::warn!(scan = %claim.id, cluster = %claim.cluster_id, "took over a scan whose lease expired");
            }
            let this = Arc::clone(self);
            let c = claim.clone();
            let handle = running.spawn(async move { this.run_scan(c).await });
            claims.insert(handle.id(), claim);
        }
        // Retention once an hour per replica (idempotent; concurrent runs just find less to do).
        if s.retention_days > 0 && ticks % (3_600_000 / s.tick_millis.max(10)).max(1) == 0 {
            let cutoff = Utc::now() - chrono::Duration::days(s.retention_days);
            match scans::prune_detail(&self.pool, cutoff).await {
                Ok(n) if n > 0 => tracing::info!(removed = n, "retention pruned old result detail"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %Chain(&e), "retention failed"),
            }
        }
        Ok(())
    }

    fn lease(&self) -> Duration {
        Duration::from_secs(self.settings.lease_secs.max(1))
    }

    /// Run one claimed scan to its end: results stored, failure recorded, or lease lost.
    #[tracing::instrument(skip_all, fields(scan = %claim.id, cluster = %claim.cluster_id, attempt = claim.attempt))]
    async fn run_scan(self: Arc<Self>, claim: Claimed) {
        let s = &self.settings;
        let (tx, mut rx) = watch::channel(ScanProgress { phase: "connecting".into(), done: 0, total: None });
        // A little longer than the collector's own timeout, whose message names the cluster; this
        // one catches anything else that hangs (the checks, a scanner without its own timeout).
        let work = tokio::time::timeout(
            Duration::from_secs(s.scan_timeout_secs.max(1) + 5),
            self.scanner.scan(claim.cluster_id, tx),
        );
        tokio::pin!(work);
        // Heartbeats run in their own task. Awaited inside the loop below they would suspend
        // `work`, which may hold a pooled connection mid-query, while waiting for another: with
        // as many scans as pool connections every scan could wait on every other until the pool's
        // acquire timeout (seen in benches/history_throughput.rs).
        let (lost_tx, mut lost_rx) = tokio::sync::oneshot::channel::<()>();
        // Aborted when this scan's future is dropped too (a crash-like abort of the scheduler, a
        // shutdown), so no orphaned task keeps renewing the lease of a scan nobody runs.
        let heart = AbortOnDrop(tokio::spawn({
            let this = Arc::clone(&self);
            let claim = claim.clone();
            async move {
                // Often enough for live progress, and at least three times per lease.
                let beat = (this.lease() / 3).min(Duration::from_secs(1));
                let mut ticker = tokio::time::interval(beat);
                ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    ticker.tick().await;
                    let progress = rx.has_changed().unwrap_or(false).then(|| rx.borrow_and_update().clone());
                    match scans::heartbeat(&this.pool, &claim, this.lease(), progress.as_ref()).await {
                        Ok(true) => {}
                        Ok(false) => {
                            let _ = lost_tx.send(());
                            return;
                        }
                        // PostgreSQL unreachable: keep scanning; the write at the end is fenced.
                        Err(e) => tracing::warn!(error = %Chain(&e), "cannot renew the scan's lease"),
                    }
                }
            }
        }));
        let outcome = tokio::select! {
            r = &mut work => r,
            Ok(()) = &mut lost_rx => {
                tracing::warn!("lost the scan's lease to another replica; abandoning this run");
                return;
            }
        };
        drop(heart);
        let result = match outcome {
            Err(_) => Err(ScanFailure::TimedOut(s.scan_timeout_secs + 5)),
            Ok(r) => r,
        };
        match result {
            Ok(outcome) => self.store_outcome(&claim, outcome).await,
            Err(failure) => self.store_failure(&claim, &failure).await,
        }
    }

    async fn store_outcome(&self, claim: &Claimed, outcome: ScanOutcome) {
        let saving = ScanProgress { phase: "saving".into(), done: outcome.results.len() as u64, total: None };
        let _ = scans::heartbeat(&self.pool, claim, self.lease(), Some(&saving)).await;
        // Retry while PostgreSQL is away: the write is one transaction, so it is all or nothing.
        for attempt in 0..12u32 {
            match scans::complete(&self.pool, claim, &outcome, self.settings.snapshots_kept).await {
                Ok(done) => {
                    tracing::info!(
                        state = done.state.as_str(),
                        results = outcome.results.len(),
                        new = done.changes.new,
                        changed = done.changes.changed,
                        gone = done.changes.gone,
                        "scan stored"
                    );
                    return;
                }
                Err(StoreError::LeaseLost) => {
                    tracing::warn!("the scan was taken over before its results were stored; discarding them");
                    return;
                }
                Err(e) => {
                    tracing::warn!(error = %Chain(&e), attempt, "cannot store the scan's results; retrying");
                    tokio::time::sleep(backoff(
                        attempt as i32 + 1,
                        Duration::from_millis(250),
                        Duration::from_secs(5),
                    ))
                    .await;
                    let _ = scans::heartbeat(&self.pool, claim, self.lease(), None).await;
                }
            }
        }
        tracing::error!("gave up storing the scan's results; the lease will expire and the scan run again");
    }

    async fn store_failure(&self, claim: &Claimed, failure: &ScanFailure) {
        let reason = failure.to_string();
        let reason = reason.as_str();
        let s = &self.settings;
        let retry = (claim.attempt < s.max_attempts).then(|| {
            backoff(
                claim.attempt,
                Duration::from_secs(s.retry_base_secs),
                Duration::from_secs(s.retry_max_secs),
            )
        });
        tracing::warn!(reason, "scan failed");
        for attempt in 0..12u32 {
            match scans::fail(&self.pool, claim, reason, retry).await {
                Ok(_) => return,
                Err(StoreError::LeaseLost) => return,
                Err(e) => {
                    tracing::warn!(error = %Chain(&e), "cannot record the scan's failure; retrying");
                    tokio::time::sleep(backoff(
                        attempt as i32 + 1,
                        Duration::from_millis(250),
                        Duration::from_secs(5),
                    ))
                    .await;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_exponentially_up_to_the_maximum() {
        let (b, m) = (Duration::from_secs(30), Duration::from_secs(300));
        assert_eq!(backoff(1, b, m), Duration::from_secs(30));
        assert_eq!(backoff(2, b, m), Duration::from_secs(60));
        assert_eq!(backoff(3, b, m), Duration::from_secs(120));
        assert_eq!(backoff(10, b, m), Duration::from_secs(300));
    }
}
