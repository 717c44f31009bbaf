//! The demo fleet behind `palisade serve --demo`: the four bundled samples served in-process
//! over real HTTPS and registered in the cluster registry like any other cluster, so a new user
//! sees scanned clusters on the dashboard within a minute.
//!
//! Simulators get fresh ports and certificates on every start, so a demo cluster that is already
//! registered (from an earlier run against the same database) has its credentials replaced
//! rather than being registered twice.

use std::collections::BTreeMap;

use anyhow::Context;

use super::{sample, SimConfig, SimHandle, SimServer};
use crate::domain::{ClusterName, Labels};
use crate::registry::Registry;
use crate::store::audit::{self, Actor};
use crate::store::clusters::{self, Cluster, NewCluster};
use crate::store::scans;

/// The running demo simulators. Dropping the fleet stops them.
#[derive(Debug)]
pub struct DemoFleet {
    pub sims: Vec<SimHandle>,
}

impl DemoFleet {
    /// Start every bundled sample on a free loopback port.
    pub async fn start() -> anyhow::Result<DemoFleet> {
        let mut sims = Vec::new();
        for name in sample::BUNDLED {
            let dir = sample::samples_dir().join(name);
            let cluster =
                sample::load_dir(&dir).with_context(|| format!("cannot load the demo sample {name}"))?;
            let handle = SimServer::start(SimConfig::new(cluster))
                .await
                .with_context(|| format!("cannot start the demo simulator for {name}"))?;
            tracing::info!(cluster = %name, url = %handle.url, "demo cluster simulated");
            sims.push(handle);
        }
        Ok(DemoFleet { sims })
    }

    /// Register each simulated cluster (or point an existing registration at the new simulator),
    /// check that it answers and queue a scan (the scheduler runs it). Returns the registry rows.
    pub async fn register(&self, registry: &Registry) -> anyhow::Result<Vec<Cluster>> {
        let mut out = Vec::new();
        for sim in &self.sims {
            let name: ClusterName = sim.name.parse().map_err(anyhow::Error::msg)?;
            let creds = sim.credentials();
            let actor = Actor::system();
            let cluster = match clusters::get_by_name(&registry.pool, name.as_str()).await? {
                Some(existing) => {
                    // A new simulator: new credentials, and its SSH stand-ins on a new port.
                    let patch = clusters::ClusterPatch { ssh_port: Some(sim.ssh_port), ..Default::default() };
                    clusters::update(&registry.pool, existing.id, &patch, &actor).await?;
                    registry.replace_credentials(existing.id, &creds, &actor).await?
                }
                None => {
                    let labels = Labels::try_from(BTreeMap::from([
                        ("demo".to_string(), "true".to_string()),
                        ("profile".to_string(), sim.name.clone()),
                    ]))
                    .map_err(anyhow::Error::msg)?;
                    let new = NewCluster {
                        name,
                        labels,
                        group: Some("demo".parse().map_err(anyhow::Error::msg)?),
                        enabled: true,
                        credentials: creds,
                        ssh_port: sim.ssh_port,
                    };
                    registry.register_cluster(&new, &actor, true).await?
                }
            };
            // Scan now rather than at the next scheduled time, so the dashboard fills at once.
            let (scan, created) = scans::request(&registry.pool, cluster.id, Some(&actor.name)).await?;
            if created {
                audit::record(
                    &registry.pool,
                    &actor,
                    "scan.request",
                    Some(&cluster.name),
                    serde_json::json!({"cluster": cluster.id, "scan": scan.id, "reason": "demo"}),
                )
                .await?;
            }
            tracing::info!(cluster = %cluster.name, reachable = ?cluster.last_reachable, scan = %scan.id, "demo cluster registered");
            out.push(cluster);
        }
        Ok(out)
    }
}
