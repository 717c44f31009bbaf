//! Managed providers (EKS, GKE, AKS), recognized from node labels, system DaemonSets or the server
//! version.

use super::*;

/// A managed provider recognized from node labels, system DaemonSets or the server version.
pub(super) fn managed_provider(
    nodes: &[Node],
    daemonsets: &[Workload],
    version: Option<&KubeVersion>,
) -> Option<(String, String)> {
    let label_hint = |prefix: &str| {
        nodes.iter().find_map(|n| {
            n.labels.keys().find(|k| k.starts_with(prefix)).map(|k| (n.name.clone(), k.clone()))
        })
    };
    if let Some((node, label)) = label_hint("eks.amazonaws.com/") {
        return Some(("EKS".into(), format!("node {node} has label {label}")));
    }
    if let Some(ds) = daemonsets.iter().find(|d| d.namespace == "kube-system" && d.name == "aws-node") {
        return Some(("EKS".into(), format!("DaemonSet {}/{} (Amazon VPC CNI)", ds.namespace, ds.name)));
    }
    if let Some((node, label)) = label_hint("cloud.google.com/gke-") {
        return Some(("GKE".into(), format!("node {node} has label {label}")));
    }
    if let Some((node, label)) = label_hint("kubernetes.azure.com/") {
        return Some(("AKS".into(), format!("node {node} has label {label}")));
    }
    let git = version.map(|v| v.git_version.as_str()).unwrap_or("");
    if git.contains("-eks-") {
        return Some(("EKS".into(), format!("server version {git}")));
    }
    if git.contains("-gke.") {
        return Some(("GKE".into(), format!("server version {git}")));
    }
    None
}
