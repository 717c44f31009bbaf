//! Recognizes the cluster's network plugin (CNI) from kube-system DaemonSets and pods, and says
//! whether it enforces NetworkPolicies.
//!
//! Collectors call [`recognize`] once the DaemonSets and pods are read and store the answer in
//! `Snapshot::cni`; checks call [`enforcement`] on it. Recognition is by DaemonSet/pod name and
//! container image, the two things every installation method of these plugins keeps stable.

use serde::{Deserialize, Serialize};

use crate::snapshot::{CniInfo, Pod, Workload};

/// Namespaces network plugins are installed into (kube-system and the operators' own).
const PLUGIN_NAMESPACES: &[&str] =
    &["kube-system", "kube-flannel", "calico-system", "tigera-operator", "cilium", "cilium-system"];

/// One recognizable plugin: its canonical name, the name prefixes of its DaemonSet/pods, and
/// image path fragments that identify it.
struct Signature {
    plugin: &'static str,
    names: &'static [&'static str],
    images: &'static [&'static str],
}

/// Known plugins. Order matters only for readability of the evidence text.
const SIGNATURES: &[Signature] = &[
    Signature { plugin: "canal", names: &["canal"], images: &[] },
    Signature { plugin: "calico", names: &["calico-node"], images: &["calico/node"] },
    Signature { plugin: "cilium", names: &["cilium", "anetd"], images: &["cilium/cilium"] },
    Signature {
        plugin: "antrea",
        names: &["antrea-agent"],
        images: &["antrea/antrea-agent", "antrea/antrea-ubuntu"],
    },
    Signature { plugin: "weave", names: &["weave-net"], images: &["weaveworks/weave-kube", "weave-npc"] },
    Signature { plugin: "kube-router", names: &["kube-router"], images: &["cloudnativelabs/kube-router"] },
    Signature {
        plugin: "flannel",
        names: &["kube-flannel", "flannel"],
        images: &["flannel/flannel", "coreos/flannel", "flannel-io/flannel", "rancher/mirrored-flannelcni"],
    },
    Signature { plugin: "aws-vpc-cni", names: &["aws-node"], images: &["amazon-k8s-cni"] },
    Signature { plugin: "aws-network-policy-agent", names: &[], images: &["aws-network-policy-agent"] },
    Signature { plugin: "azure-npm", names: &["azure-npm"], images: &["azure-npm"] },
    Signature { plugin: "azure-cni", names: &["azure-cns", "azure-vnet"], images: &["azure-cns"] },
    Signature { plugin: "kindnet", names: &["kindnet"], images: &["kindnetd"] },
];

/// Plugins that implement NetworkPolicy.
const ENFORCING: &[&str] = &["calico", "canal", "cilium", "antrea", "weave", "kube-router", "azure-npm"];
/// Plugins known to ignore NetworkPolicy objects when they run alone.
const NOT_ENFORCING: &[&str] = &["flannel", "aws-vpc-cni", "azure-cni"];

/// Whether NetworkPolicies take effect in the cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Enforcement {
    /// A plugin that implements NetworkPolicy runs.
    Enforced { plugin: String, evidence: String },
    /// Only plugins that ignore NetworkPolicy run: every policy is decoration.
    Ignored { plugins: Vec<String>, evidence: String },
    /// Could not be decided (nothing recognized, evidence missing, or configuration-dependent).
    Unknown { reason: String },
}

impl Enforcement {
    pub fn is_enforced(&self) -> bool {
        matches!(self, Enforcement::Enforced { .. })
    }

    pub fn is_ignored(&self) -> bool {
        matches!(self, Enforcement::Ignored { .. })
    }

    /// One sentence for evidence texts.
    pub fn describe(&self) -> String {
        match self {
            Enforcement::Enforced { plugin, evidence } => {
                format!("network plugin {plugin} enforces NetworkPolicies ({evidence})")
            }
            Enforcement::Ignored { plugins, evidence } => format!(
                "network plugin {} does not enforce NetworkPolicies ({evidence}): every policy is ignored",
                plugins.join(" + ")
            ),
            Enforcement::Unknown { reason } => {
                format!("whether NetworkPolicies are enforced is unknown: {reason}")
            }
        }
    }
}

fn name_matches(object_name: &str, prefix: &str) -> bool {
    // DaemonSet names are exact or carry a suffix ("kube-flannel-ds"); pod names carry the
    // controller's generated suffix ("calico-node-x7k2p").
    object_name == prefix || object_name.starts_with(&format!("{prefix}-"))
}

fn image_matches(images: &[String], fragment: &str) -> bool {
    images.iter().any(|i| i.contains(fragment))
}

/// Recognize the network plugin(s) from DaemonSets and pods in the system namespaces. `None`
/// when nothing is recognized.
pub fn recognize(daemonsets: &[Workload], pods: &[Pod]) -> Option<CniInfo> {
    let mut found: Vec<(&'static str, String)> = Vec::new();
    let mut note = |plugin: &'static str, why: String| {
        if !found.iter().any(|(p, _)| *p == plugin) {
            found.push((plugin, why));
        }
    };
    let objects = daemonsets
        .iter()
        .map(|d| (d.kind.as_str(), d.namespace.as_str(), d.name.as_str(), d.images.as_slice()))
        .chain(pods.iter().map(|p| ("Pod", p.namespace.as_str(), p.name.as_str(), p.images.as_slice())));
    for (kind, ns, name, images) in objects {
        if !PLUGIN_NAMESPACES.contains(&ns) {
            continue;
        }
        for sig in SIGNATURES {
            if sig.names.iter().any(|n| name_matches(name, n)) {
                note(sig.plugin, format!("{kind} {ns}/{name}"));
            } else if let Some(frag) = sig.images.iter().find(|f| image_matches(images, f)) {
                note(sig.plugin, format!("{kind} {ns}/{name} runs an image containing `{frag}`"));
            }
        }
    }
    if found.is_empty() {
        return None;
    }
    // Canal is Calico's policy engine over Flannel's network; its DaemonSet also runs both images.
    if found.iter().any(|(p, _)| *p == "canal") {
        found.retain(|(p, _)| *p != "calico" && *p != "flannel");
    }
    Some(CniInfo {
        plugins: found.iter().map(|(p, _)| p.to_string()).collect(),
        evidence: found.iter().map(|(_, why)| why.as_str()).collect::<Vec<_>>().join("; "),
    })
}

/// Whether the recognized plugin(s) enforce NetworkPolicies. Any enforcing plugin present wins
/// (Flannel + Calico is Canal in all but name).
pub fn enforcement(cni: Option<&CniInfo>) -> Enforcement {
    let Some(cni) = cni else {
        return Enforcement::Unknown {
            reason: "no known network plugin was recognized among the kube-system DaemonSets and pods".into(),
        };
    };
    if let Some(p) = cni.plugins.iter().find(|p| ENFORCING.contains(&p.as_str())) {
        return Enforcement::Enforced { plugin: p.clone(), evidence: cni.evidence.clone() };
    }
    let has = |name: &str| cni.plugins.iter().any(|p| p == name);
    if has("aws-network-policy-agent") {
        return Enforcement::Unknown {
            reason: format!(
                "the AWS VPC CNI runs its network policy agent ({}); whether policy enforcement is \
                 enabled is a setting of the add-on that the snapshot does not hold",
                cni.evidence
            ),
        };
    }
    if has("kindnet") {
        return Enforcement::Unknown {
            reason: format!(
                "kindnet ({}) enforces NetworkPolicies only in recent releases; its version decides",
                cni.evidence
            ),
        };
    }
    let ignoring: Vec<String> =
        cni.plugins.iter().filter(|p| NOT_ENFORCING.contains(&p.as_str())).cloned().collect();
    if !ignoring.is_empty() && ignoring.len() == cni.plugins.len() {
        return Enforcement::Ignored { plugins: ignoring, evidence: cni.evidence.clone() };
    }
    Enforcement::Unknown {
        reason: format!(
            "recognized plugin(s) {} ({}) are not known to enforce or to ignore NetworkPolicies",
            cni.plugins.join(", "),
            cni.evidence
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ds(ns: &str, name: &str, image: &str) -> Workload {
        Workload {
            kind: "DaemonSet".into(),
            namespace: ns.into(),
            name: name.into(),
            labels: Default::default(),
            images: vec![image.into()],
        }
    }

    #[test]
    fn flannel_alone_ignores_policies() {
        let cni =
            recognize(&[ds("kube-flannel", "kube-flannel-ds", "docker.io/flannel/flannel:v0.25.1")], &[]);
        let cni = cni.expect("flannel recognized");
        assert_eq!(cni.plugins, vec!["flannel"]);
        assert!(enforcement(Some(&cni)).is_ignored());
    }

    #[test]
    fn calico_enforces_policies() {
        let cni =
            recognize(&[ds("kube-system", "calico-node", "docker.io/calico/node:v3.28.0")], &[]).unwrap();
        assert_eq!(cni.plugins, vec!["calico"]);
        assert!(enforcement(Some(&cni)).is_enforced());
    }

    #[test]
    fn canal_replaces_its_calico_and_flannel_parts() {
        let mut d = ds("kube-system", "canal", "docker.io/calico/node:v3.28.0");
        d.images.push("docker.io/flannel/flannel:v0.25.1".into());
        let cni = recognize(&[d], &[]).unwrap();
        assert_eq!(cni.plugins, vec!["canal"]);
        assert!(enforcement(Some(&cni)).is_enforced());
    }

    #[test]
    fn nothing_recognized_is_unknown_not_a_pass() {
        assert!(recognize(&[ds("kube-system", "kube-proxy", "registry.k8s.io/kube-proxy:v1.31.0")], &[])
            .is_none());
        assert!(matches!(enforcement(None), Enforcement::Unknown { .. }));
    }

    #[test]
    fn plugins_outside_system_namespaces_are_not_taken_for_the_cni() {
        assert!(recognize(&[ds("default", "calico-node", "calico/node:v3")], &[]).is_none());
    }
}
