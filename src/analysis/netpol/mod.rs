//! NetworkPolicy analysis: which pods are isolated, by which policies, and which namespaces can
//! reach which on which ports. Pure: a function of pods, namespaces and policies.
//!
//! Semantics follow the Kubernetes NetworkPolicy API exactly:
//! - `policyTypes` omitted (or empty) defaults to `Ingress`, plus `Egress` when the policy has at
//!   least one egress rule (the API server's defaulting: an empty `egress: []` does not add it).
//! - A pod is isolated for a direction only when some policy in its namespace selects it and has
//!   that direction in its (effective) types; otherwise all traffic in that direction is allowed.
//!   Policies are additive: an isolated pod accepts the union of the rules of every selecting
//!   policy. An empty rule list (`ingress: []` or omitted) allows nothing; an empty rule (`{}`)
//!   allows every peer on every port.
//! - Peers: `podSelector` alone selects pods of the policy's own namespace; `namespaceSelector`
//!   alone every pod of the matching namespaces; both in ONE element select pods matching the pod
//!   selector inside matching namespaces (AND); separate elements are alternatives (OR). Empty
//!   selectors select everything in their scope. Namespaces always carry the
//!   `kubernetes.io/metadata.name` label (the API server sets it; it is added here when a source
//!   left it out).
//! - `ipBlock` peers describe addresses outside the cluster. Assumption, stated wherever it
//!   matters: they match no cluster pod (pod IPs are ephemeral and the plugins differ in whether an
//!   ipBlock covers pod traffic), so they show up as external exposure, not in the pod matrix.
//! - Ports: protocol defaults to TCP; a missing port means every port of the protocol; `endPort`
//!   makes a range; a named port resolves per destination pod against its container ports of that
//!   name and protocol (a pod without it is not reachable through that entry). No `ports` (or an
//!   empty list) means every port of every protocol.
//! - Traffic from pod A to pod B on a port is allowed iff A's egress allows it to B AND B's ingress
//!   allows it from A.
//! - Pods with `hostNetwork: true` are outside the scope of NetworkPolicy (the API leaves their
//!   treatment undefined); they are counted per namespace and left out of the matrix.
//!
//! Work is done on pod GROUPS: pods of one namespace with identical labels (and identical named
//! container ports) are indistinguishable to every policy. The namespace × namespace matrix is
//! computed by enumerating (ingress rule, egress rule) pairs that can meet, not pod pairs, so the
//! cost follows the reach of the rules rather than the square of the pod count.
//!
//! Layout: [`ports`] (protocols and port sets), [`policy`] (one policy object's semantics and the
//! words that describe it), [`groups`] (sets of pod groups, peer resolution), [`phases`] (one
//! function per step of the analysis), [`matrix`] (the namespace matrix), [`views`] (reports).

use serde::{Deserialize, Serialize};

use crate::snapshot::{Labels, Namespace, NetworkPolicy, Pod, Snapshot};

mod groups;
mod matrix;
mod phases;
mod policy;
mod ports;
mod views;

use groups::GroupSet;
pub use policy::{
    describe_labels, describe_peer, describe_selector, effective_types, rule_allows_all_peers,
    rule_allows_all_ports,
};
pub use ports::{PortSet, PortTable, Proto, ALL, NONE};
pub use views::{
    ExternalView, GroupView, NamespaceReport, NamespaceSummary, PolicyView, ReachCell, ReachabilityReport,
    ASSUMPTIONS,
};

/// The label the API server puts on every namespace with the namespace's name.
pub const NAMESPACE_NAME_LABEL: &str = "kubernetes.io/metadata.name";

/// Namespaces run by Kubernetes or its add-ons rather than by tenants.
pub const SYSTEM_NAMESPACES: &[&str] = &[
    "kube-system",
    "kube-public",
    "kube-node-lease",
    "kube-flannel",
    "calico-system",
    "calico-apiserver",
    "tigera-operator",
    "cilium",
    "cilium-system",
    "local-path-storage",
];

/// Whether a namespace belongs to the platform (listed in [`SYSTEM_NAMESPACES`]).
pub fn is_system_namespace(name: &str) -> bool {
    SYSTEM_NAMESPACES.contains(&name)
}

/// Why a namespace's pods are (not) isolated in one direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Ingress,
    Egress,
}

/// A namespace as the analysis sees it.
#[derive(Debug, Clone)]
pub struct NamespaceInfo {
    pub name: String,
    /// Labels including `kubernetes.io/metadata.name`.
    pub labels: Labels,
    pub system: bool,
    /// Pods analyzed (not host-network).
    pub pods: usize,
    /// Pods with `hostNetwork: true`, outside NetworkPolicy's reach.
    pub host_network_pods: usize,
    /// Indices into [`NetworkAnalysis::groups`] (a contiguous range).
    pub groups: std::ops::Range<u32>,
    /// Indices into [`NetworkAnalysis::policies`].
    pub policies: Vec<u32>,
    /// Whether the namespace was in the collected namespace list (else only seen on pods/policies).
    pub listed: bool,
}

/// Pods of one namespace that no policy can tell apart.
#[derive(Debug, Clone)]
pub struct PodGroup {
    pub namespace: u32,
    pub labels: Labels,
    /// Pod names (sorted).
    pub pods: Vec<String>,
    /// The owner shared by every pod of the group, when they share one (e.g. `ReplicaSet web-5d9`).
    pub owner: Option<String>,
    /// Named container ports `(name, protocol, number)`.
    pub named_ports: Vec<(String, Proto, u16)>,
    /// Policies selecting the group (indices into [`NetworkAnalysis::policies`]), any direction.
    pub selected_by: Vec<u32>,
    /// Isolated for ingress: some selecting policy has `Ingress` in its effective types.
    pub ingress_isolated: bool,
    pub egress_isolated: bool,
    /// How many namespaces (with analyzed pods) have some pod that can reach this group.
    pub reachable_from_namespaces: u32,
    /// Traffic from outside the cluster this group accepts (`peers`, `ports`); `None` when not
    /// isolated (everything).
    pub external_ingress: Option<Vec<(String, String)>>,
    /// Traffic to outside the cluster this group may send; `None` when not isolated.
    pub external_egress: Option<Vec<(String, String)>>,
}

impl PodGroup {
    /// e.g. `ReplicaSet web-5d9 (3 pods)` or `pod db-0`.
    pub fn describe(&self) -> String {
        let who = match (&self.owner, self.pods.as_slice()) {
            (Some(owner), _) => owner.clone(),
            (None, [one]) => format!("pod {one}"),
            (None, pods) => format!("pods {}…", pods.first().map(String::as_str).unwrap_or("")),
        };
        format!(
            "{who} ({} pod{}, labels {})",
            self.pods.len(),
            plural(self.pods.len()),
            describe_labels(&self.labels)
        )
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// A policy with what it selects.
#[derive(Debug, Clone)]
pub struct PolicyInfo {
    pub namespace: u32,
    pub name: String,
    /// Effective `policyTypes` after defaulting.
    pub ingress: bool,
    pub egress: bool,
    /// Groups selected (indices into [`NetworkAnalysis::groups`]).
    pub selected_groups: Vec<u32>,
    pub selected_pods: usize,
    /// The pod selector is empty: the policy covers every pod of its namespace, present and future.
    pub selects_all: bool,
    /// Some effective ingress rule admits every peer on every port.
    pub ingress_allows_everything: bool,
    /// Some effective egress rule admits every peer on every port.
    pub egress_allows_everything: bool,
}

impl PolicyInfo {
    /// A policy that isolates every pod of its namespace in `direction` and does not itself
    /// re-open everything: the namespace's default deny (exceptions may follow in its rules or
    /// in other policies).
    pub fn is_default_deny(&self, direction: Direction) -> bool {
        self.selects_all
            && match direction {
                Direction::Ingress => self.ingress && !self.ingress_allows_everything,
                Direction::Egress => self.egress && !self.egress_allows_everything,
            }
    }
}

/// The namespace × namespace reachability matrix. Cell `(from, to)` holds the ports on which
/// some pod of `from` can open a connection to some pod of `to`.
#[derive(Debug, Clone)]
pub struct Matrix {
    pub size: usize,
    cells: Vec<u32>,
    pub ports: PortTable,
}

impl Matrix {
    /// The ports from namespace index `from` to namespace index `to` (empty: no traffic).
    pub fn ports(&self, from: usize, to: usize) -> &PortSet {
        self.ports.get(self.cells[from * self.size + to])
    }

    /// Interned id of a cell (ids index [`Matrix::ports`]).
    pub fn cell_id(&self, from: usize, to: usize) -> u32 {
        self.cells[from * self.size + to]
    }
}

/// Everything the network findings, the CLI and the API need.
#[derive(Debug, Clone)]
pub struct NetworkAnalysis {
    /// Sorted by name.
    pub namespaces: Vec<NamespaceInfo>,
    pub groups: Vec<PodGroup>,
    pub policies: Vec<PolicyInfo>,
    /// `None` when only isolation was analyzed ([`analyze_isolation`]).
    pub matrix: Option<Matrix>,
    /// Namespaces with at least one analyzed pod.
    pub namespaces_with_pods: u32,
    rules: RuleBook,
}

/// The compiled rules, kept to answer pair queries ([`NetworkAnalysis::group_ports`]).
#[derive(Debug, Clone)]
struct RuleBook {
    ingress: Vec<Rule>,
    egress: Vec<Rule>,
    /// Per group: the rules that protect it.
    ingress_of: Vec<Vec<u32>>,
    egress_of: Vec<Vec<u32>>,
    ports: PortTable,
}

/// The evidence needed for the analysis is incomplete: results are `unknown` with this reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Undecided(pub String);

/// Analyze a snapshot, refusing (with the reason) when pods, namespaces or policies are not
/// completely collected: a partial view of policies could only produce wrong answers.
pub fn analyze_snapshot(snapshot: &Snapshot) -> Result<NetworkAnalysis, Undecided> {
    check_complete(snapshot)?;
    Ok(analyze(&snapshot.pods.items, &snapshot.namespaces.items, &snapshot.network_policies.items))
}

/// [`analyze_snapshot`] without the matrix.
pub fn analyze_snapshot_isolation(snapshot: &Snapshot) -> Result<NetworkAnalysis, Undecided> {
    check_complete(snapshot)?;
    Ok(analyze_isolation(&snapshot.pods.items, &snapshot.namespaces.items, &snapshot.network_policies.items))
}

fn check_complete(snapshot: &Snapshot) -> Result<(), Undecided> {
    let mut missing = Vec::new();
    for (what, state) in [
        ("network policies", &snapshot.network_policies.state),
        ("pods", &snapshot.pods.state),
        ("namespaces", &snapshot.namespaces.state),
    ] {
        if let Some(reason) = state.missing_reason() {
            missing.push(format!("{what} ({reason})"));
        }
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(Undecided(format!("evidence incomplete: {}", missing.join("; "))))
    }
}

/// One ingress or egress rule, compiled.
#[derive(Debug, Clone)]
struct Rule {
    policy: u32,
    /// Peer pods (sources for ingress, destinations for egress).
    peers: GroupSet,
    /// Port entries by number, and named ones resolved per destination.
    fixed_ports: u32,
    named_ports: Vec<(String, Proto)>,
    /// Outside-the-cluster peers in words (`ipBlock`s, or "any address" for an allow-all rule).
    external: Vec<String>,
}

/// Analyze pods, namespaces and policies: selection, isolation and the reachability matrix.
pub fn analyze(pods: &[Pod], namespaces: &[Namespace], policies: &[NetworkPolicy]) -> NetworkAnalysis {
    analyze_inner(pods, namespaces, policies, true)
}

/// Selection and isolation only, without the reachability matrix (`matrix` is `None`,
/// `reachable_from_namespaces` is 0): what most findings need, at a fraction of the cost.
pub fn analyze_isolation(
    pods: &[Pod],
    namespaces: &[Namespace],
    policies: &[NetworkPolicy],
) -> NetworkAnalysis {
    analyze_inner(pods, namespaces, policies, false)
}

fn analyze_inner(
    pods: &[Pod],
    namespaces: &[Namespace],
    policies: &[NetworkPolicy],
    with_matrix: bool,
) -> NetworkAnalysis {
    let (mut ns_infos, ns_index) = phases::namespaces(pods, namespaces, policies);
    let (mut groups, ns_of_group) = phases::pod_groups(pods, &ns_index, &mut ns_infos);
    let compiled = phases::compile_policies(policies, &ns_index, &ns_infos, &groups);
    let (policy_infos, rules) = phases::isolation(compiled, &mut ns_infos, &mut groups);
    phases::external_exposure(&rules, &mut groups);
    let with_pods = phases::namespaces_with_pods(&ns_infos);
    let matrix = with_matrix.then(|| {
        matrix::reachability(&ns_infos, &mut groups, &ns_of_group, &policy_infos, &rules, &with_pods)
    });
    NetworkAnalysis {
        namespaces: ns_infos,
        groups,
        policies: policy_infos,
        matrix,
        namespaces_with_pods: with_pods.iter().map(|w| w.count_ones()).sum(),
        rules,
    }
}
