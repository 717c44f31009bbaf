//! Reports for the CLI and the API, and the pair queries behind them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::ports::{resolve_named, PortSet};
use super::{Direction, NetworkAnalysis, PodGroup, PolicyInfo, Rule};
use crate::analysis::cni::Enforcement;

/// One non-empty matrix cell: pods of `from` can connect to pods of `to` on `ports`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReachCell {
    pub from: String,
    pub to: String,
    /// `all`, or e.g. `TCP 80,443; UDP 53`.
    pub ports: String,
}

/// A namespace's isolation in one line of the matrix view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NamespaceSummary {
    pub name: String,
    pub system: bool,
    pub pods: usize,
    /// Pods on the host network: NetworkPolicy does not apply to them; not in the matrix.
    pub host_network_pods: usize,
    pub policies: usize,
    pub ingress_isolated_pods: usize,
    pub egress_isolated_pods: usize,
    /// The policy that denies ingress by default, if any.
    pub default_deny_ingress: Option<String>,
    pub default_deny_egress: Option<String>,
}

/// The namespace × namespace matrix with ports (`GET .../network/reachability`).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReachabilityReport {
    pub enforcement: Enforcement,
    /// Set when the policies shown do not describe real traffic (plugin ignores them).
    pub note: Option<String>,
    /// Assumptions the analysis makes, in words.
    pub assumptions: Vec<String>,
    pub namespaces: Vec<NamespaceSummary>,
    /// Non-empty cells only, ordered by (from, to). A missing pair means no connection is allowed.
    pub cells: Vec<ReachCell>,
}

/// A policy in the namespace view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PolicyView {
    pub name: String,
    /// Effective `policyTypes` (after the API server's defaulting).
    pub policy_types: Vec<String>,
    pub selected_pods: usize,
    /// The groups it selects, described.
    pub selected_groups: Vec<String>,
    /// Selects no pod at all (often a label typo).
    pub selects_nothing: bool,
}

/// Traffic to or from outside the cluster a group is allowed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ExternalView {
    pub peers: String,
    pub ports: String,
}

/// A pod group in the namespace view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct GroupView {
    pub description: String,
    pub labels: BTreeMap<String, String>,
    pub pods: Vec<String>,
    pub owner: Option<String>,
    pub ingress_isolated: bool,
    pub egress_isolated: bool,
    pub ingress_policies: Vec<String>,
    pub egress_policies: Vec<String>,
    /// Namespaces (with pods) from which some pod can connect to this group.
    pub reachable_from_namespaces: u32,
    /// `None` when not isolated for ingress (everything is allowed).
    pub external_ingress: Option<Vec<ExternalView>>,
    pub external_egress: Option<Vec<ExternalView>>,
}

/// Which policies select which pods, and the isolation state (`GET .../network/namespaces/{ns}`).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NamespaceReport {
    pub enforcement: Enforcement,
    pub summary: NamespaceSummary,
    pub labels: BTreeMap<String, String>,
    pub policies: Vec<PolicyView>,
    pub groups: Vec<GroupView>,
    /// Matrix column: who can connect to this namespace.
    pub reachable_from: Vec<ReachCell>,
    /// Matrix row: where this namespace's pods can connect.
    pub reaches: Vec<ReachCell>,
}

/// Assumptions every report states.
pub const ASSUMPTIONS: &[&str] = &[
    "ipBlock peers are taken to match only addresses outside the cluster, never pod IPs",
    "pods with hostNetwork are outside NetworkPolicy and left out of the matrix",
    "namespaces carry the kubernetes.io/metadata.name label the API server sets, even when the source left it out",
];

impl NetworkAnalysis {
    /// The ports on which pods of group `from` may connect to pods of group `to`, computed pair-wise
    /// from the rules (ingress of `to` AND egress of `from`).
    pub fn group_ports(&self, from: usize, to: usize) -> PortSet {
        let rb = &self.rules;
        let resolve = |rule: &Rule| -> PortSet {
            let fixed = rb.ports.get(rule.fixed_ports);
            fixed.union(&resolve_named(&rule.named_ports, &self.groups[to].named_ports))
        };
        let ingress = if self.groups[to].ingress_isolated {
            rb.ingress_of[to]
                .iter()
                .map(|r| &rb.ingress[*r as usize])
                .filter(|r| r.peers.contains(from as u32))
                .fold(PortSet::none(), |acc, r| acc.union(&resolve(r)))
        } else {
            PortSet::all()
        };
        let egress = if self.groups[from].egress_isolated {
            rb.egress_of[from]
                .iter()
                .map(|q| &rb.egress[*q as usize])
                .filter(|q| q.peers.contains(to as u32))
                .fold(PortSet::none(), |acc, q| acc.union(&resolve(q)))
        } else {
            PortSet::all()
        };
        ingress.intersect(&egress)
    }

    /// The group holding pod `namespace/name`; `None` for an unknown or host-network pod.
    pub fn group_of_pod(&self, namespace: &str, name: &str) -> Option<usize> {
        let ns = &self.namespaces[self.namespace_index(namespace)?];
        (ns.groups.start as usize..ns.groups.end as usize)
            .find(|g| self.groups[*g].pods.binary_search_by(|p| p.as_str().cmp(name)).is_ok())
    }

    /// The ports on which pod `from` (namespace, name) may connect to pod `to`; `None` when either
    /// pod is unknown or on the host network.
    pub fn pod_ports(&self, from: (&str, &str), to: (&str, &str)) -> Option<PortSet> {
        Some(self.group_ports(self.group_of_pod(from.0, from.1)?, self.group_of_pod(to.0, to.1)?))
    }

    /// The matrix cell from namespace `from` to namespace `to` by name (`None` when a namespace is
    /// unknown or the matrix was not computed).
    pub fn namespace_ports(&self, from: &str, to: &str) -> Option<&PortSet> {
        let m = self.matrix.as_ref()?;
        Some(m.ports(self.namespace_index(from)?, self.namespace_index(to)?))
    }

    /// Index of a namespace by name.
    pub fn namespace_index(&self, name: &str) -> Option<usize> {
        self.namespaces.binary_search_by(|ns| ns.name.as_str().cmp(name)).ok()
    }

    /// The policy of `ns` that denies `direction` by default, if any.
    pub fn default_deny(&self, ns: usize, direction: Direction) -> Option<&PolicyInfo> {
        self.namespaces[ns]
            .policies
            .iter()
            .map(|p| &self.policies[*p as usize])
            .find(|p| p.is_default_deny(direction))
    }

    fn group_range(&self, ns: usize) -> &[PodGroup] {
        let r = &self.namespaces[ns].groups;
        &self.groups[r.start as usize..r.end as usize]
    }

    pub fn summary(&self, ns: usize) -> NamespaceSummary {
        let info = &self.namespaces[ns];
        let groups = self.group_range(ns);
        NamespaceSummary {
            name: info.name.clone(),
            system: info.system,
            pods: info.pods,
            host_network_pods: info.host_network_pods,
            policies: info.policies.len(),
            ingress_isolated_pods: groups.iter().filter(|g| g.ingress_isolated).map(|g| g.pods.len()).sum(),
            egress_isolated_pods: groups.iter().filter(|g| g.egress_isolated).map(|g| g.pods.len()).sum(),
            default_deny_ingress: self.default_deny(ns, Direction::Ingress).map(|p| p.name.clone()),
            default_deny_egress: self.default_deny(ns, Direction::Egress).map(|p| p.name.clone()),
        }
    }

    fn cell(&self, from: usize, to: usize) -> Option<ReachCell> {
        let ports = self.matrix.as_ref()?.ports(from, to);
        (!ports.is_empty()).then(|| ReachCell {
            from: self.namespaces[from].name.clone(),
            to: self.namespaces[to].name.clone(),
            ports: ports.to_string(),
        })
    }

    fn note(enforcement: &Enforcement) -> Option<String> {
        enforcement.is_ignored().then(|| {
            format!(
                "{}; the matrix shows the policies as written, real traffic is every pod to every pod",
                enforcement.describe()
            )
        })
    }

    /// The matrix view; `include_system` keeps system namespaces in it.
    pub fn reachability_report(&self, enforcement: Enforcement, include_system: bool) -> ReachabilityReport {
        let keep: Vec<usize> =
            (0..self.namespaces.len()).filter(|i| include_system || !self.namespaces[*i].system).collect();
        let mut cells = Vec::new();
        for &a in &keep {
            for &b in &keep {
                cells.extend(self.cell(a, b));
            }
        }
        ReachabilityReport {
            note: Self::note(&enforcement),
            enforcement,
            assumptions: ASSUMPTIONS.iter().map(|s| s.to_string()).collect(),
            namespaces: keep.iter().map(|i| self.summary(*i)).collect(),
            cells,
        }
    }

    /// The namespace view, `None` for a namespace the analysis does not know.
    pub fn namespace_report(&self, name: &str, enforcement: Enforcement) -> Option<NamespaceReport> {
        let ns = self.namespace_index(name)?;
        let info = &self.namespaces[ns];
        let policy_names = |group: &PodGroup, pick: fn(&PolicyInfo) -> bool| -> Vec<String> {
            group
                .selected_by
                .iter()
                .map(|p| &self.policies[*p as usize])
                .filter(|p| pick(p))
                .map(|p| p.name.clone())
                .collect()
        };
        let external = |list: &Option<Vec<(String, String)>>| {
            list.as_ref().map(|l| {
                l.iter()
                    .map(|(peers, ports)| ExternalView { peers: peers.clone(), ports: ports.clone() })
                    .collect()
            })
        };
        Some(NamespaceReport {
            summary: self.summary(ns),
            labels: info.labels.clone(),
            policies: info
                .policies
                .iter()
                .map(|p| {
                    let p = &self.policies[*p as usize];
                    let mut types = Vec::new();
                    if p.ingress {
                        types.push("Ingress".to_string());
                    }
                    if p.egress {
                        types.push("Egress".to_string());
                    }
                    PolicyView {
                        name: p.name.clone(),
                        policy_types: types,
                        selected_pods: p.selected_pods,
                        selected_groups: p
                            .selected_groups
                            .iter()
                            .map(|g| self.groups[*g as usize].describe())
                            .collect(),
                        selects_nothing: p.selected_groups.is_empty(),
                    }
                })
                .collect(),
            groups: self
                .group_range(ns)
                .iter()
                .map(|g| GroupView {
                    description: g.describe(),
                    labels: g.labels.clone(),
                    pods: g.pods.clone(),
                    owner: g.owner.clone(),
                    ingress_isolated: g.ingress_isolated,
                    egress_isolated: g.egress_isolated,
                    ingress_policies: policy_names(g, |p| p.ingress),
                    egress_policies: policy_names(g, |p| p.egress),
                    reachable_from_namespaces: g.reachable_from_namespaces,
                    external_ingress: external(&g.external_ingress),
                    external_egress: external(&g.external_egress),
                })
                .collect(),
            reachable_from: (0..self.namespaces.len()).filter_map(|a| self.cell(a, ns)).collect(),
            reaches: (0..self.namespaces.len()).filter_map(|b| self.cell(ns, b)).collect(),
            enforcement,
        })
    }
}
