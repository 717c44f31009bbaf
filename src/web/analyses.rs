//! The analyses of a scan's stored snapshot, kept in memory for the RBAC and network API and
//! pages: the resolved RBAC graph with its who-can index, the network analysis with its
//! reachability matrix, and views derived from them (the matrix as JSON, the risky subjects).
//!
//! Loading a stored snapshot (decompress + parse) and building these is most of the cost of a
//! who-can or reachability request on a large cluster; answering from them takes milliseconds.
//! [`AnalysisCache`] keeps the last `server.analysis_cache_entries` scans' analyses, least
//! recently used out first. Entries are keyed by scan id and a stored scan never changes, so
//! there is nothing to invalidate: once a cluster has a newer scan, requests ask for that one
//! and the old entry ages out.
//!
//! The RBAC graph borrows from the snapshot it was built from, so it lives on a thread of its own
//! that owns both ([`ScanAnalyses::with_rbac`] sends it work); the network analysis owns its data.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use crate::analysis::cni::Enforcement;
use crate::analysis::netpol::{self, NetworkAnalysis};
use crate::analysis::rbac::{Rbac, WhoCanIndex};
use crate::checks::rbac::RiskySubject;
use crate::snapshot::Snapshot;
use crate::store::{clusters, scans};
use crate::web::error::ApiError;

/// The network analysis of a scan with the plugin's enforcement.
pub struct Network {
    pub analysis: NetworkAnalysis,
    pub enforcement: Enforcement,
    /// `GET …/network/reachability` as JSON, without and with system namespaces.
    json: [OnceLock<bytes::Bytes>; 2],
}

impl Network {
    /// The reachability report as JSON (built once per entry and flag).
    pub fn reachability_json(&self, include_system: bool) -> bytes::Bytes {
        self.json[usize::from(include_system)]
            .get_or_init(|| {
                let report = self.analysis.reachability_report(self.enforcement.clone(), include_system);
                serde_json::to_vec(&report).map(bytes::Bytes::from).unwrap_or_default()
            })
            .clone()
    }
}

type RbacJob = Box<dyn for<'r, 'a> FnOnce(&'r Rbac<'a>, &'r WhoCanIndex<'r, 'a>) + Send>;

/// Everything derived from one stored scan snapshot.
pub struct ScanAnalyses {
    pub scan_id: Uuid,
    pub cluster_id: Uuid,
    /// When the snapshot's evidence was collected.
    pub collected_at: DateTime<Utc>,
    /// `Err` with the reason when pods, namespaces or policies were not completely collected.
    pub network: Result<Network, netpol::Undecided>,
    rbac: Mutex<std::sync::mpsc::Sender<RbacJob>>,
    risky: tokio::sync::OnceCell<Arc<Vec<RiskySubject>>>,
}

impl std::fmt::Debug for ScanAnalyses {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScanAnalyses").field("scan_id", &self.scan_id).finish_non_exhaustive()
    }
}

impl ScanAnalyses {
    /// Analyze a snapshot (CPU work: call on the blocking pool). Keeps only what the views need:
    /// the network analysis, and the RBAC objects on the RBAC thread.
    pub fn build(scan_id: Uuid, cluster_id: Uuid, snapshot: Snapshot) -> ScanAnalyses {
        let network = netpol::analyze_snapshot(&snapshot).map(|analysis| Network {
            analysis,
            enforcement: crate::checks::network::enforcement(&snapshot),
            json: Default::default(),
        });
        let collected_at = snapshot.collected_at;
        let mut rbac_only = Snapshot::new(snapshot.cluster.clone(), collected_at);
        let mut snapshot = snapshot;
        rbac_only.roles = std::mem::take(&mut snapshot.roles);
        rbac_only.cluster_roles = std::mem::take(&mut snapshot.cluster_roles);
        rbac_only.role_bindings = std::mem::take(&mut snapshot.role_bindings);
        rbac_only.cluster_role_bindings = std::mem::take(&mut snapshot.cluster_role_bindings);
        drop(snapshot);
        let (tx, rx) = std::sync::mpsc::channel::<RbacJob>();
        let spawned = std::thread::Builder::new().name(format!("rbac-{scan_id}")).spawn(move || {
            let rbac = Rbac::new(&rbac_only);
            let index = WhoCanIndex::build(&rbac);
            // Ends when the entry is dropped (its sender with it).
            for job in rx {
                job(&rbac, &index);
            }
        });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "cannot start the RBAC analysis thread");
        }
        ScanAnalyses {
            scan_id,
            cluster_id,
            collected_at,
            network,
            rbac: Mutex::new(tx),
            risky: tokio::sync::OnceCell::new(),
        }
    }

    /// Run `f` against the scan's RBAC graph and who-can index (on the entry's RBAC thread).
    pub async fn with_rbac<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: for<'r, 'a> FnOnce(&'r Rbac<'a>, &'r WhoCanIndex<'r, 'a>) -> T + Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: RbacJob = Box::new(move |rbac, index| {
            let _ = tx.send(f(rbac, index));
        });
        let lost = || ApiError::Internal(anyhow::anyhow!("the RBAC analysis did not finish"));
        self.rbac.lock().unwrap_or_else(|p| p.into_inner()).send(job).map_err(|_| lost())?;
        rx.await.map_err(|_| lost())
    }

    /// The subjects holding dangerous RBAC capabilities (computed once per entry).
    pub async fn risky_subjects(&self) -> Result<Arc<Vec<RiskySubject>>, ApiError> {
        self.risky
            .get_or_try_init(|| async {
                self.with_rbac(|rbac, _| Arc::new(crate::checks::rbac::risky_subjects(rbac))).await
            })
            .await
            .cloned()
    }

    /// The network analysis, or 409 with why it cannot be decided.
    pub fn network(&self) -> Result<&Network, ApiError> {
        self.network
            .as_ref()
            .map_err(|e| ApiError::Conflict(format!("the network analysis cannot be decided: {e}")))
    }
}

type Slot = Arc<tokio::sync::OnceCell<Arc<ScanAnalyses>>>;

#[derive(Default)]
struct Slots {
    clock: u64,
    /// scan id → (last use, slot).
    map: HashMap<Uuid, (u64, Slot)>,
}

/// A bounded, least-recently-used cache of [`ScanAnalyses`] by scan id.
pub struct AnalysisCache {
    capacity: usize,
    slots: Mutex<Slots>,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl std::fmt::Debug for AnalysisCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnalysisCache").field("capacity", &self.capacity).field("len", &self.len()).finish()
    }
}

impl AnalysisCache {
    /// A cache holding at most `capacity` scans (0: nothing is kept).
    pub fn new(capacity: usize) -> AnalysisCache {
        AnalysisCache {
            capacity,
            slots: Mutex::new(Slots::default()),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// Number of scans held (including one being built).
    pub fn len(&self) -> usize {
        self.lock().map.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the analyses of `scan_id` are held.
    pub fn contains(&self, scan_id: Uuid) -> bool {
        self.lock().map.get(&scan_id).is_some_and(|(_, s)| s.initialized())
    }

    /// (hits, misses) since start.
    pub fn stats(&self) -> (u64, u64) {
        (self.hits.load(Ordering::Relaxed), self.misses.load(Ordering::Relaxed))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Slots> {
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The slot of `scan_id`, made (evicting the least recently used beyond capacity) if absent.
    fn slot(&self, scan_id: Uuid) -> Slot {
        let mut slots = self.lock();
        slots.clock += 1;
        let now = slots.clock;
        if let Some((used, slot)) = slots.map.get_mut(&scan_id) {
            *used = now;
            return slot.clone();
        }
        let slot: Slot = Arc::default();
        if self.capacity == 0 {
            return slot;
        }
        slots.map.insert(scan_id, (now, slot.clone()));
        while slots.map.len() > self.capacity {
            let Some(oldest) = slots.map.iter().min_by_key(|(_, (used, _))| *used).map(|(k, _)| *k) else {
                break;
            };
            slots.map.remove(&oldest);
        }
        slot
    }

    /// The analyses of `scan_id`, built by `load` on a miss. Concurrent requests for the same scan
    /// wait for one build; a failed build is not kept.
    pub async fn get_or_load<F, Fut>(&self, scan_id: Uuid, load: F) -> Result<Arc<ScanAnalyses>, ApiError>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<ScanAnalyses, ApiError>>,
    {
        let slot = self.slot(scan_id);
        if let Some(hit) = slot.get() {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(hit.clone());
        }
        let result = slot
            .get_or_try_init(|| async {
                self.misses.fetch_add(1, Ordering::Relaxed);
                load().await.map(Arc::new)
            })
            .await
            .cloned();
        if result.is_err() {
            let mut slots = self.lock();
            if slots.map.get(&scan_id).is_some_and(|(_, s)| Arc::ptr_eq(s, &slot)) {
                slots.map.remove(&scan_id);
            }
        }
        result
    }

    /// The analyses of the cluster's newest stored snapshot: 404 for an unknown cluster or one
    /// with no stored snapshot yet.
    pub async fn latest(&self, pool: &PgPool, cluster_id: Uuid) -> Result<Arc<ScanAnalyses>, ApiError> {
        clusters::get(pool, cluster_id)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("no cluster with id {cluster_id}")))?;
        let (scan_id, _) = scans::latest_snapshot_ref(pool, cluster_id).await?.ok_or_else(|| {
            ApiError::NotFound(format!(
                "cluster {cluster_id} has no stored scan snapshot yet; run a scan first"
            ))
        })?;
        self.scan(pool, cluster_id, scan_id).await
    }

    /// The analyses of one scan's stored snapshot (404 when it is no longer kept).
    pub async fn scan(
        &self,
        pool: &PgPool,
        cluster_id: Uuid,
        scan_id: Uuid,
    ) -> Result<Arc<ScanAnalyses>, ApiError> {
        self.get_or_load(scan_id, || async move {
            let snapshot = scans::snapshot_of(pool, scan_id).await?.ok_or_else(|| {
                ApiError::NotFound(format!("the snapshot of scan {scan_id} is no longer stored"))
            })?;
            actix_web::web::block(move || ScanAnalyses::build(scan_id, cluster_id, snapshot))
                .await
                .map_err(|e| ApiError::Internal(anyhow::anyhow!("the analysis task failed: {e}")))
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn empty(scan: Uuid) -> ScanAnalyses {
        let info = crate::snapshot::ClusterInfo { name: "t".into(), ..Default::default() };
        ScanAnalyses::build(scan, Uuid::nil(), Snapshot::new(info, Utc::now()))
    }

    async fn load(cache: &AnalysisCache, scan: Uuid) {
        cache.get_or_load(scan, || async move { Ok(empty(scan)) }).await.expect("loads");
    }

    #[tokio::test]
    async fn the_least_recently_used_scan_is_evicted_beyond_capacity() {
        let cache = AnalysisCache::new(2);
        let (a, b, c) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        load(&cache, a).await;
        load(&cache, b).await;
        load(&cache, a).await; // a is now more recent than b
        load(&cache, c).await;
        assert_eq!(cache.len(), 2);
        assert!(cache.contains(a) && cache.contains(c));
        assert!(!cache.contains(b), "b was the least recently used");
        assert_eq!(cache.stats(), (1, 3));
    }

    #[tokio::test]
    async fn a_hit_does_not_load_again() {
        let cache = AnalysisCache::new(4);
        let scan = Uuid::new_v4();
        let loads = AtomicU64::new(0);
        for _ in 0..3 {
            cache
                .get_or_load(scan, || async {
                    loads.fetch_add(1, Ordering::Relaxed);
                    Ok(empty(scan))
                })
                .await
                .unwrap();
        }
        assert_eq!(loads.load(Ordering::Relaxed), 1);
        assert_eq!(cache.stats(), (2, 1));
    }

    #[tokio::test]
    async fn a_failed_load_is_not_kept_and_zero_capacity_keeps_nothing() {
        let cache = AnalysisCache::new(4);
        let scan = Uuid::new_v4();
        let err = cache.get_or_load(scan, || async { Err(ApiError::NotFound("gone".into())) }).await;
        assert!(err.is_err());
        assert!(cache.is_empty());
        load(&cache, scan).await;
        assert!(cache.contains(scan));

        let none = AnalysisCache::new(0);
        load(&none, scan).await;
        load(&none, scan).await;
        assert!(none.is_empty());
        assert_eq!(none.stats(), (0, 2));
    }

    #[tokio::test]
    async fn the_rbac_thread_answers_and_an_empty_snapshot_has_no_risky_subjects() {
        let analyses = empty(Uuid::new_v4());
        let roles = analyses.with_rbac(|rbac, _| rbac.roles.len()).await.unwrap();
        assert_eq!(roles, 0);
        assert!(analyses.risky_subjects().await.unwrap().is_empty());
        assert!(analyses.network().is_err(), "pods were not collected: the network is undecided");
    }
}
