//! `palisade agent --mode cluster` (push mode): collect the cluster this agent runs in, with the
//! same live collector and probes the server uses, and wrap the snapshot in a [`ClusterReport`]
//! for `POST /api/v1/ingest/cluster`. For clusters the server cannot reach: the agent dials out,
//! the server never dials in.

use std::path::{Path, PathBuf};

use crate::collect::client::{
    credentials_from_kubeconfig, in_cluster_credentials, ClusterCredentials, FileRefs,
};
use crate::collect::kube::LiveOptions;
use crate::snapshot::host::{ClusterReport, CLUSTER_REPORT_SCHEMA};

/// How the agent reaches its own cluster's API.
#[derive(Debug, Clone)]
pub enum ApiAccess {
    /// The pod's service account (`KUBERNETES_SERVICE_HOST`, the mounted token and CA).
    InCluster { sa_dir: PathBuf },
    /// A kubeconfig file (relative file references resolve against its directory).
    Kubeconfig { path: PathBuf, context: Option<String> },
}

impl ApiAccess {
    /// The credentials, read again on every call: the kubelet rotates a projected token.
    pub fn credentials(&self) -> anyhow::Result<ClusterCredentials> {
        match self {
            ApiAccess::InCluster { sa_dir } => in_cluster_credentials(sa_dir).map_err(anyhow::Error::msg),
            ApiAccess::Kubeconfig { path, context } => {
                let yaml = std::fs::read_to_string(path)
                    .map_err(|e| anyhow::anyhow!("cannot read the kubeconfig {}: {e}", path.display()))?;
                let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
                let (_, creds) =
                    credentials_from_kubeconfig(&yaml, context.as_deref(), &FileRefs::ResolveFrom(dir))
                        .map_err(|e| anyhow::anyhow!("cannot use the kubeconfig {}: {e}", path.display()))?;
                Ok(creds)
            }
        }
    }
}

/// Collect one report. A cluster that cannot be listed at all is an error (nothing is spooled);
/// what could not be read is recorded in the snapshot's gaps, as in a server scan.
pub async fn collect_report(access: &ApiAccess, live: LiveOptions) -> anyhow::Result<ClusterReport> {
    let creds = access.credentials()?;
    // The server files the snapshot under the cluster the agent token belongs to.
    let snapshot = crate::collect::kube::collect("cluster-agent", &creds, live).await?;
    Ok(ClusterReport {
        schema: CLUSTER_REPORT_SCHEMA.into(),
        report_id: uuid::Uuid::now_v7(),
        collected_at: snapshot.collected_at,
        agent_version: env!("CARGO_PKG_VERSION").into(),
        snapshot,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outside_a_pod_the_in_cluster_access_says_to_pass_a_kubeconfig() {
        if std::env::var_os("KUBERNETES_SERVICE_HOST").is_some() {
            return;
        }
        let err = ApiAccess::InCluster { sa_dir: "/nonexistent".into() }.credentials().unwrap_err();
        assert!(err.to_string().contains("--kubeconfig"), "{err}");
    }
}
