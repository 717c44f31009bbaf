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

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::analysis::cni::Enforcement;
use crate::snapshot::{
    ContainerPort, LabelSelector, Labels, Namespace, NetworkPolicy, NetworkPolicyPeer, NetworkPolicyPort,
    NetworkPolicyRule, OwnerRef, Pod, PortRef, Snapshot,
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

// ---------------------------------------------------------------------------------------------
// Ports
// ---------------------------------------------------------------------------------------------

/// A transport protocol NetworkPolicy can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Proto {
    #[serde(rename = "TCP")]
    Tcp,
    #[serde(rename = "UDP")]
    Udp,
    #[serde(rename = "SCTP")]
    Sctp,
}

impl Proto {
    pub const ALL: [Proto; 3] = [Proto::Tcp, Proto::Udp, Proto::Sctp];

    /// Parse the API's spelling; `None` for a protocol NetworkPolicy does not know.
    pub fn parse(s: &str) -> Option<Proto> {
        match s {
            "TCP" => Some(Proto::Tcp),
            "UDP" => Some(Proto::Udp),
            "SCTP" => Some(Proto::Sctp),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Proto::Tcp => "TCP",
            Proto::Udp => "UDP",
            Proto::Sctp => "SCTP",
        }
    }
}

/// A set of (protocol, port) pairs, kept as sorted, merged, inclusive ranges so that equal sets
/// compare equal.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct PortSet {
    ranges: Vec<(Proto, u16, u16)>,
}

impl PortSet {
    /// No traffic.
    pub fn none() -> Self {
        Self::default()
    }

    /// Every port of every protocol.
    pub fn all() -> Self {
        Self { ranges: Proto::ALL.iter().map(|p| (*p, 1, u16::MAX)).collect() }
    }

    /// Ports `lo..=hi` of one protocol.
    pub fn range(proto: Proto, lo: u16, hi: u16) -> Self {
        let (lo, hi) = (lo.max(1), hi.max(lo.max(1)));
        Self { ranges: vec![(proto, lo, hi)] }
    }

    pub fn single(proto: Proto, port: u16) -> Self {
        Self::range(proto, port, port)
    }

    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    pub fn is_all(&self) -> bool {
        *self == Self::all()
    }

    pub fn contains(&self, proto: Proto, port: u16) -> bool {
        self.ranges.iter().any(|(p, lo, hi)| *p == proto && *lo <= port && port <= *hi)
    }

    fn normalize(mut ranges: Vec<(Proto, u16, u16)>) -> Self {
        ranges.sort_unstable();
        let mut out: Vec<(Proto, u16, u16)> = Vec::with_capacity(ranges.len());
        for (p, lo, hi) in ranges {
            if let Some(last) = out.last_mut() {
                if last.0 == p && u32::from(lo) <= u32::from(last.2) + 1 {
                    last.2 = last.2.max(hi);
                    continue;
                }
            }
            out.push((p, lo, hi));
        }
        Self { ranges: out }
    }

    pub fn union(&self, other: &PortSet) -> PortSet {
        if self.is_empty() {
            return other.clone();
        }
        if other.is_empty() {
            return self.clone();
        }
        Self::normalize(self.ranges.iter().chain(other.ranges.iter()).copied().collect())
    }

    pub fn intersect(&self, other: &PortSet) -> PortSet {
        let mut out = Vec::new();
        for &(p, lo, hi) in &self.ranges {
            for &(q, lo2, hi2) in &other.ranges {
                if p == q {
                    let (a, b) = (lo.max(lo2), hi.min(hi2));
                    if a <= b {
                        out.push((p, a, b));
                    }
                }
            }
        }
        Self::normalize(out)
    }
}

impl fmt::Display for PortSet {
    /// `all`, `none`, or e.g. `TCP 80,443,8000-8080; UDP 53`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("none");
        }
        if self.is_all() {
            return f.write_str("all");
        }
        let mut first_proto = true;
        for proto in Proto::ALL {
            let mut parts = self.ranges.iter().filter(|r| r.0 == proto).peekable();
            if parts.peek().is_none() {
                continue;
            }
            if !first_proto {
                f.write_str("; ")?;
            }
            first_proto = false;
            write!(f, "{} ", proto.as_str())?;
            let mut first = true;
            for (_, lo, hi) in parts {
                if !first {
                    f.write_str(",")?;
                }
                first = false;
                match (*lo, *hi) {
                    (1, u16::MAX) => f.write_str("all")?,
                    (lo, hi) if lo == hi => write!(f, "{lo}")?,
                    (lo, hi) => write!(f, "{lo}-{hi}")?,
                }
            }
        }
        Ok(())
    }
}

/// Port sets interned to small ids, with memoized set operations (the matrix repeats the same
/// few sets millions of times).
#[derive(Debug, Clone)]
pub struct PortTable {
    sets: Vec<PortSet>,
    ids: HashMap<PortSet, u32>,
    unions: HashMap<(u32, u32), u32>,
    intersections: HashMap<(u32, u32), u32>,
}

/// Id of the empty set in every [`PortTable`].
pub const NONE: u32 = 0;
/// Id of the set of every port in every [`PortTable`].
pub const ALL: u32 = 1;

impl Default for PortTable {
    fn default() -> Self {
        let mut t = Self {
            sets: Vec::new(),
            ids: HashMap::new(),
            unions: HashMap::new(),
            intersections: HashMap::new(),
        };
        t.intern(PortSet::none());
        t.intern(PortSet::all());
        t
    }
}

impl PortTable {
    pub fn intern(&mut self, set: PortSet) -> u32 {
        if let Some(id) = self.ids.get(&set) {
            return *id;
        }
        let id = self.sets.len() as u32;
        self.sets.push(set.clone());
        self.ids.insert(set, id);
        id
    }

    pub fn get(&self, id: u32) -> &PortSet {
        &self.sets[id as usize]
    }

    pub fn union(&mut self, a: u32, b: u32) -> u32 {
        if a == b || b == NONE || a == ALL {
            return a;
        }
        if a == NONE || b == ALL {
            return b;
        }
        let key = (a.min(b), a.max(b));
        if let Some(id) = self.unions.get(&key) {
            return *id;
        }
        let set = self.sets[a as usize].union(&self.sets[b as usize]);
        let id = self.intern(set);
        self.unions.insert(key, id);
        id
    }

    pub fn intersect(&mut self, a: u32, b: u32) -> u32 {
        if a == b || b == ALL {
            return a;
        }
        if a == ALL {
            return b;
        }
        if a == NONE || b == NONE {
            return NONE;
        }
        let key = (a.min(b), a.max(b));
        if let Some(id) = self.intersections.get(&key) {
            return *id;
        }
        let set = self.sets[a as usize].intersect(&self.sets[b as usize]);
        let id = self.intern(set);
        self.intersections.insert(key, id);
        id
    }
}

// ---------------------------------------------------------------------------------------------
// Policy semantics on single objects
// ---------------------------------------------------------------------------------------------

/// The directions a policy affects after the API server's defaulting of `policyTypes`.
pub fn effective_types(policy: &NetworkPolicy) -> (bool, bool) {
    match &policy.policy_types {
        Some(types) if !types.is_empty() => {
            (types.iter().any(|t| t == "Ingress"), types.iter().any(|t| t == "Egress"))
        }
        // Omitted: Ingress always; Egress only when there is at least one egress rule.
        _ => (true, policy.egress.as_ref().is_some_and(|e| !e.is_empty())),
    }
}

/// Whether a rule admits every peer (no `from`/`to`, or an empty list): cluster pods and every
/// outside address alike.
pub fn rule_allows_all_peers(rule: &NetworkPolicyRule) -> bool {
    rule.peers.as_ref().is_none_or(|p| p.is_empty())
}

/// Whether a rule admits every port.
pub fn rule_allows_all_ports(rule: &NetworkPolicyRule) -> bool {
    rule.ports.as_ref().is_none_or(|p| p.is_empty())
}

/// The numeric part of a rule's ports, and the named entries to resolve per destination.
fn rule_ports(ports: &Option<Vec<NetworkPolicyPort>>) -> (PortSet, Vec<(String, Proto)>) {
    let Some(ports) = ports.as_ref().filter(|p| !p.is_empty()) else {
        return (PortSet::all(), Vec::new());
    };
    let mut set = PortSet::none();
    let mut named = Vec::new();
    for entry in ports {
        // An unknown protocol matches nothing (the API would have rejected it).
        let Some(proto) = Proto::parse(entry.protocol.as_deref().unwrap_or("TCP")) else { continue };
        match &entry.port {
            None => set = set.union(&PortSet::range(proto, 1, u16::MAX)),
            Some(PortRef::Number(n)) => {
                let end = entry.end_port.filter(|e| e >= n).unwrap_or(*n);
                set = set.union(&PortSet::range(proto, *n, end));
            }
            // A number written as a string ("8080") is a number to the API server too.
            Some(PortRef::Name(name)) => match name.parse::<u16>() {
                Ok(n) => {
                    let end = entry.end_port.filter(|e| *e >= n).unwrap_or(n);
                    set = set.union(&PortSet::range(proto, n, end));
                }
                Err(_) => named.push((name.clone(), proto)),
            },
        }
    }
    (set, named)
}

/// Resolve named port entries against one destination's container ports.
fn resolve_named(named: &[(String, Proto)], ports: &[(String, Proto, u16)]) -> PortSet {
    let mut out = Vec::new();
    for (name, proto) in named {
        for (n, p, num) in ports {
            if n == name && p == proto {
                out.push((*p, *num, *num));
            }
        }
    }
    PortSet::normalize(out)
}

/// A human description of a peer element, for evidence and detail views.
pub fn describe_peer(peer: &NetworkPolicyPeer, policy_ns: &str) -> String {
    match (&peer.ip_block, &peer.namespace_selector, &peer.pod_selector) {
        (Some(b), _, _) if b.except.is_empty() => format!("addresses {}", b.cidr),
        (Some(b), _, _) => format!("addresses {} except {}", b.cidr, b.except.join(", ")),
        (None, Some(ns), Some(pod)) => {
            format!("pods {} in namespaces {}", describe_selector(pod), describe_selector(ns))
        }
        (None, Some(ns), None) => format!("every pod in namespaces {}", describe_selector(ns)),
        (None, None, Some(pod)) => format!("pods {} in namespace {policy_ns}", describe_selector(pod)),
        (None, None, None) => "nothing (an empty peer is invalid)".into(),
    }
}

/// `{}` for the empty selector, else `app=web,tier in (a,b),!debug`.
pub fn describe_selector(sel: &LabelSelector) -> String {
    if sel.is_empty() {
        return "{} (all)".into();
    }
    let mut parts: Vec<String> = sel.match_labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    for r in &sel.match_expressions {
        parts.push(match r.operator.as_str() {
            "In" => format!("{} in ({})", r.key, r.values.join(",")),
            "NotIn" => format!("{} notin ({})", r.key, r.values.join(",")),
            "Exists" => r.key.clone(),
            "DoesNotExist" => format!("!{}", r.key),
            other => format!("{} {other} ({})", r.key, r.values.join(",")),
        });
    }
    parts.join(",")
}

/// `app=web,tier=front`, or `<no labels>`.
pub fn describe_labels(labels: &Labels) -> String {
    if labels.is_empty() {
        return "<no labels>".into();
    }
    labels.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",")
}

// ---------------------------------------------------------------------------------------------
// Group sets: unions of ranges over group indices (groups are ordered by namespace, so a
// namespace is one range and a namespace selector yields few ranges)
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct GroupSet {
    /// Sorted, disjoint, non-adjacent half-open ranges.
    ranges: Vec<(u32, u32)>,
}

impl GroupSet {
    fn from_ranges(mut ranges: Vec<(u32, u32)>) -> Self {
        ranges.retain(|(a, b)| a < b);
        ranges.sort_unstable();
        let mut out: Vec<(u32, u32)> = Vec::with_capacity(ranges.len());
        for (a, b) in ranges {
            if let Some(last) = out.last_mut() {
                if a <= last.1 {
                    last.1 = last.1.max(b);
                    continue;
                }
            }
            out.push((a, b));
        }
        Self { ranges: out }
    }

    fn contains(&self, g: u32) -> bool {
        // The last range starting at or before g.
        let idx = self.ranges.partition_point(|(a, _)| *a <= g);
        idx > 0 && g < self.ranges[idx - 1].1
    }

    /// The members within `lo..hi`.
    fn members_in(&self, lo: u32, hi: u32) -> impl Iterator<Item = u32> + '_ {
        let start = self.ranges.partition_point(|(_, b)| *b <= lo);
        self.ranges[start..]
            .iter()
            .take_while(move |(a, _)| *a < hi)
            .flat_map(move |(a, b)| (*a).max(lo)..(*b).min(hi))
    }
}

// ---------------------------------------------------------------------------------------------
// The analysis
// ---------------------------------------------------------------------------------------------

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

/// Resolves peer elements to group sets, caching per distinct selector: a namespace selector →
/// matching namespaces; (namespace selector, pod selector, scope) → groups.
struct PeerResolver<'a> {
    namespaces: &'a [NamespaceInfo],
    groups: &'a [PodGroup],
    ns_cache: HashMap<&'a LabelSelector, Vec<u32>>,
    peer_cache: HashMap<(Option<&'a LabelSelector>, Option<&'a LabelSelector>, u32), GroupSet>,
}

impl<'a> PeerResolver<'a> {
    fn new(namespaces: &'a [NamespaceInfo], groups: &'a [PodGroup]) -> Self {
        Self { namespaces, groups, ns_cache: HashMap::new(), peer_cache: HashMap::new() }
    }

    /// The cluster pods a (non-ipBlock) peer element selects, for a policy in `policy_ns`.
    fn peer_set(&mut self, peer: &'a NetworkPolicyPeer, policy_ns: u32) -> &GroupSet {
        let (ns_sel, pod_sel) = (peer.namespace_selector.as_ref(), peer.pod_selector.as_ref());
        // The policy's namespace matters only when there is no namespace selector.
        let scope = if ns_sel.is_none() { policy_ns } else { u32::MAX };
        let key = (ns_sel, pod_sel, scope);
        if !self.peer_cache.contains_key(&key) {
            let set = if peer.ip_block.is_some() || (ns_sel.is_none() && pod_sel.is_none()) {
                // ipBlock: outside the cluster by assumption (module doc); an empty peer is
                // invalid and selects nothing.
                GroupSet::default()
            } else {
                let namespaces: Vec<u32> = match ns_sel {
                    None => vec![policy_ns],
                    Some(sel) => {
                        let all = self.namespaces;
                        self.ns_cache
                            .entry(sel)
                            .or_insert_with(|| {
                                all.iter()
                                    .enumerate()
                                    .filter(|(_, ns)| sel.matches(&ns.labels))
                                    .map(|(i, _)| i as u32)
                                    .collect()
                            })
                            .clone()
                    }
                };
                let mut ranges = Vec::new();
                for i in namespaces {
                    let range = self.namespaces[i as usize].groups.clone();
                    match pod_sel {
                        Some(sel) if !sel.is_empty() => {
                            ranges.extend(
                                range
                                    .filter(|g| sel.matches(&self.groups[*g as usize].labels))
                                    .map(|g| (g, g + 1)),
                            );
                        }
                        _ => ranges.push((range.start, range.end)),
                    }
                }
                GroupSet::from_ranges(ranges)
            };
            self.peer_cache.insert(key, set);
        }
        &self.peer_cache[&key]
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
    // --- namespaces (sorted by name), including ones only seen on pods or policies
    let mut ns_map: BTreeMap<&str, (Labels, bool)> = BTreeMap::new();
    for ns in namespaces {
        ns_map.insert(ns.name.as_str(), (ns.labels.clone(), true));
    }
    for name in pods.iter().map(|p| p.namespace.as_str()).chain(policies.iter().map(|p| p.namespace.as_str()))
    {
        ns_map.entry(name).or_insert_with(|| (Labels::new(), false));
    }
    let ns_names: Vec<&str> = ns_map.keys().copied().collect();
    let ns_index: HashMap<&str, u32> = ns_names.iter().enumerate().map(|(i, n)| (*n, i as u32)).collect();
    let mut ns_infos: Vec<NamespaceInfo> = ns_map
        .into_iter()
        .map(|(name, (mut labels, listed))| {
            labels.entry(NAMESPACE_NAME_LABEL.to_string()).or_insert_with(|| name.to_string());
            NamespaceInfo {
                name: name.to_string(),
                labels,
                system: is_system_namespace(name),
                pods: 0,
                host_network_pods: 0,
                groups: 0..0,
                policies: Vec::new(),
                listed,
            }
        })
        .collect();
    let n = ns_infos.len();

    // --- pod groups, contiguous per namespace
    let mut pods_by_ns: Vec<Vec<&Pod>> = vec![Vec::new(); n];
    for pod in pods {
        let i = ns_index[pod.namespace.as_str()] as usize;
        if pod.host_network {
            ns_infos[i].host_network_pods += 1;
        } else {
            ns_infos[i].pods += 1;
            pods_by_ns[i].push(pod);
        }
    }
    let mut groups: Vec<PodGroup> = Vec::new();
    let mut ns_of_group: Vec<u32> = Vec::new();
    for (i, ns_pods) in pods_by_ns.iter().enumerate() {
        let start = groups.len() as u32;
        // Keys borrow from the pods: no allocation per pod beyond its name.
        let mut index: HashMap<(&Labels, Vec<NamedPortRef>), usize> = HashMap::new();
        // (group, the owner of its first pod, whether every pod shares that owner)
        let mut local: Vec<(PodGroup, Option<&OwnerRef>, bool)> = Vec::new();
        for pod in ns_pods {
            let named = borrowed_named_ports(&pod.container_ports);
            let owner = pod.owner.as_ref();
            let slot = *index.entry((&pod.labels, named)).or_insert_with_key(|(_, named)| {
                local.push((
                    PodGroup {
                        namespace: i as u32,
                        labels: pod.labels.clone(),
                        pods: Vec::new(),
                        owner: None,
                        named_ports: named.iter().map(|(n, p, num)| (n.to_string(), *p, *num)).collect(),
                        selected_by: Vec::new(),
                        ingress_isolated: false,
                        egress_isolated: false,
                        reachable_from_namespaces: 0,
                        external_ingress: None,
                        external_egress: None,
                    },
                    owner,
                    true,
                ));
                local.len() - 1
            });
            let entry = &mut local[slot];
            entry.0.pods.push(pod.name.clone());
            if entry.1 != owner {
                entry.2 = false;
            }
        }
        local.sort_by(|a, b| a.0.labels.cmp(&b.0.labels).then_with(|| a.0.named_ports.cmp(&b.0.named_ports)));
        for (mut group, owner, shared) in local {
            group.pods.sort_unstable();
            if shared {
                group.owner = owner.map(|o| format!("{} {}", o.kind, o.name));
            }
            groups.push(group);
            ns_of_group.push(i as u32);
        }
        ns_infos[i].groups = start..groups.len() as u32;
    }
    let g_count = groups.len() as u32;
    let ns_range = |ns: &NamespaceInfo| (ns.groups.start, ns.groups.end);

    // Policies repeat the same selectors many times: resolve each distinct one once.
    let mut resolver = PeerResolver::new(&ns_infos, &groups);

    // --- policies: selection and compiled rules (groups are read-only here)
    let mut ports = PortTable::default();
    let mut policy_infos: Vec<PolicyInfo> = Vec::with_capacity(policies.len());
    let mut ingress_rules: Vec<Rule> = Vec::new();
    let mut egress_rules: Vec<Rule> = Vec::new();
    let all_groups = GroupSet::from_ranges(vec![(0, g_count)]);
    let mut order: Vec<usize> = (0..policies.len()).collect();
    order.sort_by(|a, b| {
        (policies[*a].namespace.as_str(), policies[*a].name.as_str())
            .cmp(&(policies[*b].namespace.as_str(), policies[*b].name.as_str()))
    });
    for pi in order {
        let policy = &policies[pi];
        let ns = ns_index[policy.namespace.as_str()];
        let (lo, hi) = ns_range(&ns_infos[ns as usize]);
        let selected: Vec<u32> =
            (lo..hi).filter(|g| policy.pod_selector.matches(&groups[*g as usize].labels)).collect();
        let (ing, eg) = effective_types(policy);
        let idx = policy_infos.len() as u32;
        let directions =
            [(ing, &policy.ingress, &mut ingress_rules), (eg, &policy.egress, &mut egress_rules)];
        for (applies, rules, out) in directions {
            if !applies {
                continue;
            }
            for rule in rules.iter().flatten() {
                let (peers, external) = if rule_allows_all_peers(rule) {
                    (all_groups.clone(), vec!["any address".to_string()])
                } else {
                    let mut ranges = Vec::new();
                    let mut external = Vec::new();
                    for peer in rule.peers.iter().flatten() {
                        if peer.ip_block.is_some() {
                            external.push(describe_peer(peer, &policy.namespace));
                        } else {
                            ranges.extend(resolver.peer_set(peer, ns).ranges.iter().copied());
                        }
                    }
                    (GroupSet::from_ranges(ranges), external)
                };
                let (fixed, named) = rule_ports(&rule.ports);
                out.push(Rule {
                    policy: idx,
                    peers,
                    fixed_ports: ports.intern(fixed),
                    named_ports: named,
                    external,
                });
            }
        }
        let selected_pods = selected.iter().map(|g| groups[*g as usize].pods.len()).sum();
        policy_infos.push(PolicyInfo {
            namespace: ns,
            name: policy.name.clone(),
            ingress: ing,
            egress: eg,
            selected_groups: selected,
            selected_pods,
            selects_all: policy.pod_selector.is_empty(),
            ingress_allows_everything: ing && allows_everything(&policy.ingress),
            egress_allows_everything: eg && allows_everything(&policy.egress),
        });
    }
    drop(resolver);

    // --- isolation: which rules protect which group
    let mut ingress_rules_of: Vec<Vec<u32>> = vec![Vec::new(); g_count as usize];
    let mut egress_rules_of: Vec<Vec<u32>> = vec![Vec::new(); g_count as usize];
    for (idx, info) in policy_infos.iter().enumerate() {
        ns_infos[info.namespace as usize].policies.push(idx as u32);
        for g in &info.selected_groups {
            let group = &mut groups[*g as usize];
            group.selected_by.push(idx as u32);
            group.ingress_isolated |= info.ingress;
            group.egress_isolated |= info.egress;
        }
    }
    for (rules, of) in [(&ingress_rules, &mut ingress_rules_of), (&egress_rules, &mut egress_rules_of)] {
        for (ri, rule) in rules.iter().enumerate() {
            for g in &policy_infos[rule.policy as usize].selected_groups {
                of[*g as usize].push(ri as u32);
            }
        }
    }
    // Rule → the groups it protects (its policy's selection).
    let targets = |rule: &Rule| -> &[u32] { &policy_infos[rule.policy as usize].selected_groups };

    // --- external exposure per group (ipBlock peers and allow-all rules). Named ports of an
    // egress rule cannot be resolved against an outside address, so only numbered ones count.
    for (gi, group) in groups.iter_mut().enumerate() {
        if group.ingress_isolated {
            let mut out = Vec::new();
            for &ri in &ingress_rules_of[gi] {
                let rule = &ingress_rules[ri as usize];
                if rule.external.is_empty() {
                    continue;
                }
                let named = resolve_named(&rule.named_ports, &group.named_ports);
                let p = ports.get(rule.fixed_ports).union(&named);
                if !p.is_empty() {
                    out.push((rule.external.join(", "), p.to_string()));
                }
            }
            group.external_ingress = Some(out);
        }
        if group.egress_isolated {
            let mut out = Vec::new();
            for &ri in &egress_rules_of[gi] {
                let rule = &egress_rules[ri as usize];
                let p = ports.get(rule.fixed_ports);
                if !rule.external.is_empty() && !p.is_empty() {
                    out.push((rule.external.join(", "), p.to_string()));
                }
            }
            group.external_egress = Some(out);
        }
    }

    let with_pods_bits: Vec<u64> = {
        let mut bits = vec![0u64; n.div_ceil(64).max(1)];
        for (i, ns) in ns_infos.iter().enumerate() {
            if !ns.groups.is_empty() {
                bits[i / 64] |= 1u64 << (i % 64);
            }
        }
        bits
    };
    let namespaces_with_pods = with_pods_bits.iter().map(|w| w.count_ones()).sum();
    if !with_matrix {
        return NetworkAnalysis {
            namespaces: ns_infos,
            groups,
            policies: policy_infos,
            matrix: None,
            namespaces_with_pods,
            rules: RuleBook {
                ingress: ingress_rules,
                egress: egress_rules,
                ingress_of: ingress_rules_of,
                egress_of: egress_rules_of,
                ports,
            },
        };
    }
    let rule_ports_table = ports.clone();

    // --- the matrix: enumerate rule pairs (see module doc). A missing ingress (egress) isolation
    // acts as one virtual rule admitting every peer on every port.
    let words = n.div_ceil(64).max(1);
    let mut reach_bits = vec![0u64; g_count as usize * words];
    let mark = |bits: &mut Vec<u64>, g: u32, ns: u32| {
        bits[g as usize * words + (ns as usize / 64)] |= 1u64 << (ns % 64);
    };
    let mut cells = vec![NONE; n * n];
    let add = |cells: &mut Vec<u32>, ports: &mut PortTable, from: u32, to: u32, p: u32| {
        let c = &mut cells[from as usize * n + to as usize];
        *c = ports.union(*c, p);
    };
    let open_egress_groups: Vec<u32> = ns_infos
        .iter()
        .map(|ns| {
            (ns.groups.start..ns.groups.end).filter(|g| !groups[*g as usize].egress_isolated).count() as u32
        })
        .collect();
    let open_ingress_groups: Vec<u32> = ns_infos
        .iter()
        .map(|ns| {
            (ns.groups.start..ns.groups.end).filter(|g| !groups[*g as usize].ingress_isolated).count() as u32
        })
        .collect();
    let namespaces_touched = |set: &GroupSet| -> Vec<u32> {
        let mut out: Vec<u32> = Vec::new();
        for &(a, b) in &set.ranges {
            let mut g = a;
            while g < b {
                let ns = ns_of_group[g as usize];
                if out.last() != Some(&ns) {
                    out.push(ns);
                }
                g = ns_infos[ns as usize].groups.end;
            }
        }
        out
    };
    let resolve = |rule: &Rule, g: u32, ports: &mut PortTable| -> u32 {
        if rule.named_ports.is_empty() {
            return rule.fixed_ports;
        }
        let named = resolve_named(&rule.named_ports, &groups[g as usize].named_ports);
        let id = ports.intern(named);
        ports.union(rule.fixed_ports, id)
    };

    // Virtual × virtual: open egress sources to open ingress destinations, every port.
    let mut open_egress_ns_bits = vec![0u64; words];
    for a in 0..n {
        if open_egress_groups[a] == 0 {
            continue;
        }
        open_egress_ns_bits[a / 64] |= 1u64 << (a % 64);
        for b in 0..n {
            if open_ingress_groups[b] > 0 {
                cells[a * n + b] = ALL;
            }
        }
    }

    let mut egress_rules_by_ns: Vec<Vec<u32>> = vec![Vec::new(); n];
    for (qi, q) in egress_rules.iter().enumerate() {
        if !targets(q).is_empty() {
            egress_rules_by_ns[policy_infos[q.policy as usize].namespace as usize].push(qi as u32);
        }
    }

    for r in &ingress_rules {
        let t = targets(r);
        if t.is_empty() {
            continue;
        }
        let b = policy_infos[r.policy as usize].namespace;
        for a in namespaces_touched(&r.peers) {
            let (lo, hi) = (ns_infos[a as usize].groups.start, ns_infos[a as usize].groups.end);
            // Real ingress rule × virtual egress: sources in `a` with open egress.
            if open_egress_groups[a as usize] > 0
                && r.peers.members_in(lo, hi).any(|g| !groups[g as usize].egress_isolated)
            {
                for &g2 in t {
                    let p = resolve(r, g2, &mut ports);
                    if p != NONE {
                        add(&mut cells, &mut ports, a, b, p);
                        mark(&mut reach_bits, g2, a);
                    }
                }
            }
            // Real ingress rule × real egress rule.
            for &qi in &egress_rules_by_ns[a as usize] {
                let q = &egress_rules[qi as usize];
                if !targets(q).iter().any(|g1| r.peers.contains(*g1)) {
                    continue;
                }
                for &g2 in t {
                    if !q.peers.contains(g2) {
                        continue;
                    }
                    let pr = resolve(r, g2, &mut ports);
                    let pq = resolve(q, g2, &mut ports);
                    let p = ports.intersect(pr, pq);
                    if p != NONE {
                        add(&mut cells, &mut ports, a, b, p);
                        mark(&mut reach_bits, g2, a);
                    }
                }
            }
        }
    }
    // Virtual ingress × real egress rule: destinations with open ingress.
    for q in &egress_rules {
        if targets(q).is_empty() {
            continue;
        }
        let a = policy_infos[q.policy as usize].namespace;
        for b in namespaces_touched(&q.peers) {
            if open_ingress_groups[b as usize] == 0 {
                continue;
            }
            let (lo, hi) = (ns_infos[b as usize].groups.start, ns_infos[b as usize].groups.end);
            for g2 in q.peers.members_in(lo, hi) {
                if groups[g2 as usize].ingress_isolated {
                    continue;
                }
                let p = resolve(q, g2, &mut ports);
                if p != NONE {
                    add(&mut cells, &mut ports, a, b, p);
                    mark(&mut reach_bits, g2, a);
                }
            }
        }
    }

    // Per-group reach counts (open ingress groups are reached from every namespace that has an
    // open-egress pod).
    for (gi, group) in groups.iter_mut().enumerate() {
        let row = &reach_bits[gi * words..(gi + 1) * words];
        let count: u32 = row
            .iter()
            .zip(&open_egress_ns_bits)
            .zip(&with_pods_bits)
            .map(|((r, o), w)| ((r | if group.ingress_isolated { 0 } else { *o }) & w).count_ones())
            .sum();
        group.reachable_from_namespaces = count;
    }

    NetworkAnalysis {
        namespaces: ns_infos,
        groups,
        policies: policy_infos,
        matrix: Some(Matrix { size: n, cells, ports }),
        namespaces_with_pods,
        rules: RuleBook {
            ingress: ingress_rules,
            egress: egress_rules,
            ingress_of: ingress_rules_of,
            egress_of: egress_rules_of,
            ports: rule_ports_table,
        },
    }
}

fn allows_everything(rules: &Option<Vec<NetworkPolicyRule>>) -> bool {
    rules.iter().flatten().any(|r| rule_allows_all_peers(r) && rule_allows_all_ports(r))
}

/// A named container port `(name, protocol, number)`, borrowing the name.
type NamedPortRef<'a> = (&'a str, Proto, u16);

/// Named container ports, sorted.
fn borrowed_named_ports(ports: &[ContainerPort]) -> Vec<NamedPortRef<'_>> {
    let mut out: Vec<NamedPortRef<'_>> = ports
        .iter()
        .filter_map(|p| {
            let name = p.name.as_deref()?;
            Some((name, Proto::parse(&p.protocol).unwrap_or(Proto::Tcp), p.port))
        })
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

// ---------------------------------------------------------------------------------------------
// Views for the CLI and the API
// ---------------------------------------------------------------------------------------------

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
