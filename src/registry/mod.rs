//! The service layer for what a cluster goes through: registration, its credentials, the
//! connectivity check and its scan schedule. The web layer, the CLI, the demo fleet and the
//! scheduler all come here; the registry calls the store (rows, encrypted credentials, audit) and
//! the collectors (the `GET /version` probe). It knows no HTTP and no terminal.

pub mod exceptions;
pub mod schedule;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

pub use schedule::{Schedule, ScheduleError};

use crate::domain::ClusterCredentials;
use crate::egress::{Egress, EgressError};
use crate::secrets::Cipher;
use crate::store::audit::{self, Actor};
use crate::store::clusters::{self, Cluster, NewCluster};
use crate::store::scans::{self, ScheduleSpec};
use crate::store::StoreError;

/// Where a scan's snapshot comes from.
#[derive(Debug, Clone)]
pub enum ScanSource {
    /// Collect the cluster live with its stored credentials.
    Pull(ClusterCredentials),
    /// Judge the cluster agent's newest snapshot (`None`: it has sent none yet). The server never
    /// connects to a push-mode cluster.
    Push(Option<Box<crate::store::agents::PushedSnapshot>>),
}

/// What a scan of one cluster needs.
#[derive(Debug, Clone)]
pub struct ScanTarget {
    pub name: String,
    pub source: ScanSource,
    /// The cluster's own SSH port (`None`: the server's default; `Some(0)`: not probed).
    pub ssh_port: Option<u16>,
    /// Each node's newest node-agent report.
    pub hosts: Vec<crate::snapshot::host::HostReport>,
}

/// What can go wrong in the registry.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The cluster was deleted (or never existed).
    #[error("the cluster was deleted")]
    ClusterGone(Uuid),
    #[error(transparent)]
    Schedule(#[from] ScheduleError),
    /// The server address is denied by the egress policy (nothing was stored or sent).
    #[error("{0}")]
    Egress(#[from] EgressError),
    /// Certificate verification may be switched off only by an administrator.
    #[error("only an administrator may register a cluster with insecure_skip_tls_verify")]
    SkipVerifyNeedsAdmin,
    /// The request does not fit the rules (in words).
    #[error("{0}")]
    Invalid(String),
    /// Something the request names does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The caller's role does not allow it.
    #[error("{0}")]
    Forbidden(String),
}

/// The cluster registry: the database, the credential cipher, the default scan interval and the
/// egress policy every cluster address must pass.
#[derive(Debug, Clone)]
pub struct Registry {
    pub pool: PgPool,
    pub cipher: Arc<Cipher>,
    /// Scan interval of a cluster without its own schedule.
    pub default_interval: Duration,
    pub egress: Arc<Egress>,
}

impl Registry {
    pub fn new(
        pool: PgPool,
        cipher: Arc<Cipher>,
        default_interval: Duration,
        egress: Arc<Egress>,
    ) -> Registry {
        Registry { pool, cipher, default_interval: default_interval.max(Duration::from_secs(1)), egress }
    }

    /// What every new or changed set of credentials must pass before it is stored: the address
    /// is allowed by the egress policy, and only an admin switches certificate verification off.
    async fn admit(&self, creds: &ClusterCredentials, actor: &Actor) -> Result<(), RegistryError> {
        if creds.insecure_skip_tls_verify && !actor.admin {
            return Err(RegistryError::SkipVerifyNeedsAdmin);
        }
        Ok(self.egress.check_url(&creds.server).await?)
    }

    /// Register a cluster and (when asked) check that it answers; the connectivity outcome is
    /// stored with the cluster. An unreachable cluster is still registered.
    pub async fn register_cluster(
        &self,
        new: &NewCluster,
        actor: &Actor,
        check_connectivity: bool,
    ) -> Result<Cluster, RegistryError> {
        self.admit(&new.credentials, actor).await?;
        let cluster = clusters::register(&self.pool, &self.cipher, new, actor).await?;
        if check_connectivity {
            self.check_connectivity(cluster.id, &new.credentials).await
        } else {
            Ok(cluster)
        }
    }

    /// Register a push-mode cluster (audited): no credentials, no connectivity check; it is
    /// scanned from what its cluster agent sends.
    pub async fn register_push(
        &self,
        new: &clusters::NewPushCluster,
        actor: &Actor,
    ) -> Result<Cluster, RegistryError> {
        Ok(clusters::register_push(&self.pool, new, actor).await?)
    }

    /// Store a cluster agent's snapshot and queue a scan of it (the scan judges the newest
    /// snapshot, so reports arriving while one is queued are judged together). Returns the stored
    /// size and the queued scan, or why the report was refused.
    pub async fn ingest_cluster_report(
        &self,
        who: &crate::store::agents::AgentPrincipal,
        report: crate::snapshot::host::ClusterReport,
    ) -> Result<Result<(usize, scans::ScanRow), crate::store::agents::Refused>, RegistryError> {
        let stored = match crate::store::agents::ingest_cluster(&self.pool, who, report).await? {
            Ok(bytes) => bytes,
            Err(refused) => return Ok(Err(refused)),
        };
        let (scan, _) = scans::request(&self.pool, who.cluster_id, Some("cluster-agent")).await?;
        Ok(Ok((stored, scan)))
    }

    /// Probe a cluster's `GET /version` with `creds` and store the outcome.
    pub async fn check_connectivity(
        &self,
        id: Uuid,
        creds: &ClusterCredentials,
    ) -> Result<Cluster, RegistryError> {
        let outcome = crate::collect::connect::probe(creds, &self.egress).await;
        Ok(clusters::record_connectivity(&self.pool, id, &outcome).await?)
    }

    /// Check a registered cluster's connectivity again with its stored credentials.
    pub async fn recheck(&self, id: Uuid) -> Result<Cluster, RegistryError> {
        let creds = self.cluster_credentials(id).await?;
        self.check_connectivity(id, &creds).await
    }

    /// Replace a cluster's credentials (audited), then check that the new ones work.
    pub async fn replace_credentials(
        &self,
        id: Uuid,
        creds: &ClusterCredentials,
        actor: &Actor,
    ) -> Result<Cluster, RegistryError> {
        self.admit(creds, actor).await?;
        clusters::set_credentials(&self.pool, &self.cipher, id, creds, actor).await?;
        self.check_connectivity(id, creds).await
    }

    /// A cluster's decrypted credentials (collectors, scheduler).
    pub async fn cluster_credentials(&self, id: Uuid) -> Result<ClusterCredentials, RegistryError> {
        Ok(clusters::load_credentials(&self.pool, &self.cipher, id).await?)
    }

    /// What a scan needs: the cluster's name, its decrypted credentials (pull) or its agent's
    /// newest snapshot (push), its probe settings and its nodes' agent reports.
    pub async fn scan_target(&self, id: Uuid) -> Result<ScanTarget, RegistryError> {
        let cluster = clusters::get(&self.pool, id).await?.ok_or(RegistryError::ClusterGone(id))?;
        let source = if cluster.mode == "push" {
            ScanSource::Push(crate::store::agents::latest_cluster_report(&self.pool, id).await?.map(Box::new))
        } else {
            ScanSource::Pull(self.cluster_credentials(id).await?)
        };
        Ok(ScanTarget {
            hosts: crate::store::agents::latest(&self.pool, id).await?,
            source,
            ssh_port: cluster.ssh_port.and_then(|p| u16::try_from(p).ok()),
            name: cluster.name,
        })
    }

    /// A stored schedule as a [`Schedule`], with the default interval when it names none.
    pub fn schedule(
        &self,
        interval_seconds: Option<i32>,
        cron: Option<&str>,
    ) -> Result<Schedule, ScheduleError> {
        Schedule::parse(interval_seconds, cron, self.default_interval)
    }

    /// Queue an on-demand scan of `cluster` (audited when a new one is queued). Returns the scan
    /// and whether it is new (`false`: one was already queued or running).
    pub async fn request_scan(
        &self,
        cluster: &Cluster,
        actor: &Actor,
    ) -> Result<(scans::ScanRow, bool), RegistryError> {
        let (row, created) = scans::request(&self.pool, cluster.id, Some(&actor.name)).await?;
        if created {
            audit::record(
                &self.pool,
                actor,
                "scan.request",
                Some(&cluster.name),
                serde_json::json!({"cluster": cluster.id, "scan": row.id}),
            )
            .await?;
        }
        Ok((row, created))
    }

    /// Set when `cluster` is scanned (audited); returns what was stored and the next due time.
    pub async fn set_schedule(
        &self,
        cluster: &Cluster,
        interval_seconds: Option<i32>,
        cron: Option<String>,
        paused: bool,
        actor: &Actor,
    ) -> Result<(ScheduleSpec, DateTime<Utc>), RegistryError> {
        // A blank expression is refused by the parser rather than read as "no cron": callers
        // that take blank form fields (the admin page) leave them out themselves.
        let cron = cron.map(|c| c.trim().to_string());
        let schedule = self.schedule(interval_seconds, cron.as_deref())?;
        let spec = ScheduleSpec { interval_seconds, cron, paused };
        let next = schedule.next_after(Utc::now());
        scans::set_schedule(&self.pool, cluster.id, &spec, next).await?;
        audit::record(
            &self.pool,
            actor,
            "cluster.schedule",
            Some(&cluster.name),
            serde_json::to_value(&spec).unwrap_or_default(),
        )
        .await?;
        Ok((spec, next))
    }
}
