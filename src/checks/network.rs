//! Network findings (area `network`): does the network plugin enforce NetworkPolicies, which
//! namespaces have policies and default-deny, which pods no policy selects, dead and over-broad
//! policies, and workloads every namespace can reach.
//!
//! The judging rests on `analysis::netpol` (exact NetworkPolicy semantics) and `analysis::cni`.
//! System namespaces (`analysis::netpol::SYSTEM_NAMESPACES`) are reported by their own checks
//! (ids `PAL-NET-1xx`, lower severity) so a team can triage tenants and platform separately;
//! namespaces listed in `CheckOptions::excluded_namespaces` are left out of every network check.
//! When pods, namespaces or policies were not completely collected, every check answers `unknown`
//! with the reason.

use crate::analysis::cni::{self, Enforcement};
use crate::analysis::netpol::{
    self, describe_labels, describe_selector, effective_types, rule_allows_all_peers, rule_allows_all_ports,
    Direction, PodGroup,
};
use crate::checks::{Check, CheckMeta, CheckOptions, CheckResult, Context, ResourceRef};
use crate::domain::{Area, Severity, Status};
use crate::snapshot::{NetworkPolicy, Snapshot, Source};

const NET_EVIDENCE: &str = "NetworkPolicies, pods and namespaces";

/// Which namespaces a namespace-scoped check covers.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Scope {
    Tenant,
    System,
}

const fn meta(
    id: &'static str,
    title: &'static str,
    severity: Severity,
    rationale: &'static str,
    remediation: &'static str,
    evidence_source: &'static str,
) -> CheckMeta {
    CheckMeta { id, title, area: Area::Network, severity, rationale, remediation, evidence_source }
}

const HAS_POLICY_WHY: &str =
    "Without any NetworkPolicy every pod of the namespace accepts connections from every pod \
     in the cluster and may connect anywhere: one compromised pod reaches them all.";
const HAS_POLICY_FIX: &str = "Add NetworkPolicies to the namespace, starting with a default-deny policy \
     (podSelector: {}, policyTypes: [Ingress, Egress]) and explicit allows.";
const DENY_IN_WHY: &str =
    "A default-deny ingress policy (empty podSelector, Ingress in policyTypes) isolates every \
     present and future pod, so only explicitly allowed traffic gets in.";
const DENY_IN_FIX: &str =
    "kubectl apply -n <ns> -f - with a NetworkPolicy `default-deny-ingress`: podSelector: {}, \
     policyTypes: [Ingress], no ingress rules; then allow what each workload needs.";
const DENY_EG_WHY: &str =
    "A default-deny egress policy stops a compromised pod from scanning the cluster or \
     exfiltrating data to arbitrary destinations.";
const DENY_EG_FIX: &str = "Add a NetworkPolicy with podSelector: {}, policyTypes: [Egress] and no egress rules, \
     plus an allow for DNS (kube-system, k8s-app=kube-dns, UDP/TCP 53) and the destinations each workload needs.";
const UNSELECTED_WHY: &str =
    "A pod selected by no NetworkPolicy is not isolated in either direction: it accepts \
     every connection and may open any.";
const UNSELECTED_FIX: &str =
    "Cover the pods with a policy: a namespace default-deny (podSelector: {}) covers every \
     pod, including ones created later.";
const REACH_WHY: &str =
    "A workload every namespace can reach is exposed to any compromised pod anywhere in the \
     cluster: lateral movement needs no further step.";
const REACH_FIX: &str = "Restrict the workload's ingress to the namespaces and pods that need it \
     (namespaceSelector + podSelector in one `from` element), and enforce default-deny egress elsewhere.";

/// Every network check, in catalog order.
pub static CHECKS: [Check; 14] = [
    Check {
        meta: meta(
            "PAL-NET-001",
            "The network plugin enforces NetworkPolicies",
            Severity::High,
            "NetworkPolicies are only API objects: the network plugin enforces them. With a plugin that \
             ignores them (Flannel alone), every policy is decoration and every pod reaches every pod.",
            "Run a plugin that enforces NetworkPolicy (Calico, Cilium, Antrea, Weave Net, kube-router, or \
             Canal on top of Flannel).",
            "kube-system DaemonSets and pods (network plugin)",
        ),
        run: cni_enforces,
    },
    Check {
        meta: meta(
            "PAL-NET-002",
            "Namespaces have NetworkPolicies",
            Severity::Medium,
            HAS_POLICY_WHY,
            HAS_POLICY_FIX,
            NET_EVIDENCE,
        ),
        run: |m, s, o| has_policy(m, s, o, Scope::Tenant),
    },
    Check {
        meta: meta(
            "PAL-NET-003",
            "Namespaces deny ingress by default",
            Severity::Medium,
            DENY_IN_WHY,
            DENY_IN_FIX,
            NET_EVIDENCE,
        ),
        run: |m, s, o| default_deny(m, s, o, Scope::Tenant, Direction::Ingress),
    },
    Check {
        meta: meta(
            "PAL-NET-004",
            "Namespaces deny egress by default",
            Severity::Low,
            DENY_EG_WHY,
            DENY_EG_FIX,
            NET_EVIDENCE,
        ),
        run: |m, s, o| default_deny(m, s, o, Scope::Tenant, Direction::Egress),
    },
    Check {
        meta: meta(
            "PAL-NET-005",
            "Pods are selected by a NetworkPolicy",
            Severity::Medium,
            UNSELECTED_WHY,
            UNSELECTED_FIX,
            NET_EVIDENCE,
        ),
        run: |m, s, o| unselected_pods(m, s, o, Scope::Tenant),
    },
    Check {
        meta: meta(
            "PAL-NET-006",
            "NetworkPolicies select pods",
            Severity::Low,
            "A policy whose podSelector matches no pod protects nothing; usually a label typo leaves the \
             intended pods open while the policy looks reassuring.",
            "Compare the policy's podSelector with the labels of the pods it should cover \
             (kubectl get pods -n <ns> --show-labels) and fix the selector or delete the policy.",
            NET_EVIDENCE,
        ),
        run: dead_policies,
    },
    Check {
        meta: meta(
            "PAL-NET-007",
            "NetworkPolicy rules do not allow every peer",
            Severity::Medium,
            "A rule without `from` (`to`) admits every pod of the cluster and every outside address; on all \
             ports it undoes the isolation the policy creates.",
            "Name the peers in the rule: podSelector / namespaceSelector for cluster pods, ipBlock for \
             outside addresses, and the ports needed.",
            "NetworkPolicies",
        ),
        run: allow_all_rules,
    },
    Check {
        meta: meta(
            "PAL-NET-008",
            "NetworkPolicies do not allow egress to 0.0.0.0/0",
            Severity::Medium,
            "An egress ipBlock of 0.0.0.0/0 (or ::/0) lets the selected pods connect to any address on the \
             internet and in the cluster's networks: the path data is exfiltrated on.",
            "Replace the /0 block with the CIDRs the workload really needs (or an egress gateway), and keep \
             DNS as its own rule.",
            "NetworkPolicies",
        ),
        run: egress_to_world,
    },
    Check {
        meta: meta(
            "PAL-NET-009",
            "Workloads are not reachable from every namespace",
            Severity::Medium,
            REACH_WHY,
            REACH_FIX,
            NET_EVIDENCE,
        ),
        run: |m, s, o| reachable_everywhere(m, s, o, Scope::Tenant),
    },
    Check {
        meta: meta(
            "PAL-NET-102",
            "System namespaces have NetworkPolicies",
            Severity::Low,
            HAS_POLICY_WHY,
            HAS_POLICY_FIX,
            NET_EVIDENCE,
        ),
        run: |m, s, o| has_policy(m, s, o, Scope::System),
    },
    Check {
        meta: meta(
            "PAL-NET-103",
            "System namespaces deny ingress by default",
            Severity::Low,
            DENY_IN_WHY,
            DENY_IN_FIX,
            NET_EVIDENCE,
        ),
        run: |m, s, o| default_deny(m, s, o, Scope::System, Direction::Ingress),
    },
    Check {
        meta: meta(
            "PAL-NET-104",
            "System namespaces deny egress by default",
            Severity::Info,
            DENY_EG_WHY,
            DENY_EG_FIX,
            NET_EVIDENCE,
        ),
        run: |m, s, o| default_deny(m, s, o, Scope::System, Direction::Egress),
    },
    Check {
        meta: meta(
            "PAL-NET-105",
            "System pods are selected by a NetworkPolicy",
            Severity::Low,
            UNSELECTED_WHY,
            UNSELECTED_FIX,
            NET_EVIDENCE,
        ),
        run: |m, s, o| unselected_pods(m, s, o, Scope::System),
    },
    Check {
        meta: meta(
            "PAL-NET-109",
            "System workloads are not reachable from every namespace",
            Severity::Low,
            REACH_WHY,
            REACH_FIX,
            NET_EVIDENCE,
        ),
        run: |m, s, o| reachable_everywhere(m, s, o, Scope::System),
    },
];

// ---------------------------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------------------------

fn cluster_ref(snapshot: &Snapshot) -> ResourceRef {
    ResourceRef { kind: "Cluster".into(), namespace: None, name: snapshot.cluster.name.clone(), node: None }
}

fn namespace_ref(name: &str) -> ResourceRef {
    ResourceRef { kind: "Namespace".into(), namespace: None, name: name.into(), node: None }
}

fn policy_ref(ns: &str, name: &str) -> ResourceRef {
    ResourceRef { kind: "NetworkPolicy".into(), namespace: Some(ns.into()), name: name.into(), node: None }
}

/// The group's controller when its pods share one, else its (first) pod.
fn group_ref(ns: &str, group: &PodGroup) -> ResourceRef {
    let (kind, name) = match group.owner.as_deref().and_then(|o| o.split_once(' ')) {
        Some((kind, name)) => (kind.to_string(), name.to_string()),
        None => match group.pods.as_slice() {
            [one] => ("Pod".to_string(), one.clone()),
            pods => ("Pod".to_string(), format!("{} (+{} alike)", pods[0], pods.len() - 1)),
        },
    };
    ResourceRef { kind, namespace: Some(ns.into()), name, node: None }
}

fn source(snapshot: &Snapshot) -> Option<Source> {
    snapshot.network_policies.origin.as_ref().or(snapshot.pods.origin.as_ref()).map(|o| o.source)
}

fn undecided(meta: &CheckMeta, snapshot: &Snapshot, reason: &str) -> Vec<CheckResult> {
    vec![meta.result(Status::Unknown, cluster_ref(snapshot), reason, None)]
}

fn excluded(options: &CheckOptions, ns: &str) -> bool {
    options.excluded_namespaces.iter().any(|e| e == ns)
}

fn in_scope(options: &CheckOptions, ns: &netpol::NamespaceInfo, scope: Scope) -> bool {
    !excluded(options, &ns.name) && ns.system == (scope == Scope::System)
}

/// Whether the cluster's plugin enforces policies: the collector's recognition when present,
/// else recognized here from the DaemonSets and pods in the snapshot.
pub fn enforcement(snapshot: &Snapshot) -> Enforcement {
    if let Some(cni) = &snapshot.cni {
        return cni::enforcement(Some(cni));
    }
    let recognized = cni::recognize(&snapshot.daemonsets.items, &snapshot.pods.items);
    if recognized.is_none() {
        let gaps: Vec<String> = [("DaemonSets", &snapshot.daemonsets.state), ("pods", &snapshot.pods.state)]
            .into_iter()
            .filter_map(|(what, s)| s.missing_reason().map(|r| format!("{what}: {r}")))
            .collect();
        if !gaps.is_empty() {
            return Enforcement::Unknown {
                reason: format!("the network plugin could not be recognized ({})", gaps.join("; ")),
            };
        }
    }
    cni::enforcement(recognized.as_ref())
}

/// A pass that the plugin turns into a fail: isolation written in policies that nothing enforces.
fn unless_ignored(status: Status, evidence: String, enforcement: &Enforcement) -> (Status, String) {
    match (status, enforcement) {
        (Status::Pass, Enforcement::Ignored { .. }) => {
            (Status::Fail, format!("{evidence}, but {}", enforcement.describe()))
        }
        _ => (status, evidence),
    }
}

// ---------------------------------------------------------------------------------------------
// checks
// ---------------------------------------------------------------------------------------------

fn cni_enforces(meta: &CheckMeta, snapshot: &Context, _options: &CheckOptions) -> Vec<CheckResult> {
    let enforcement = enforcement(snapshot);
    let src = snapshot.daemonsets.origin.as_ref().or(snapshot.pods.origin.as_ref()).map(|o| o.source);
    let (status, evidence) = match &enforcement {
        Enforcement::Enforced { .. } => (Status::Pass, enforcement.describe()),
        Enforcement::Ignored { .. } => {
            let count = snapshot.network_policies.len();
            let tail = if count > 0 {
                format!(
                    "; the cluster's {count} NetworkPolicies have no effect and every pod reaches every pod"
                )
            } else {
                String::new()
            };
            (Status::Fail, format!("{}{tail}", enforcement.describe()))
        }
        Enforcement::Unknown { .. } => (Status::Unknown, enforcement.describe()),
    };
    let src = if status == Status::Unknown && snapshot.cni.is_none() { None } else { src };
    vec![meta.result(status, cluster_ref(snapshot), evidence, src)]
}

fn has_policy(
    meta: &CheckMeta,
    snapshot: &Context,
    options: &CheckOptions,
    scope: Scope,
) -> Vec<CheckResult> {
    let analysis = match snapshot.isolation() {
        Ok(a) => a,
        Err(reason) => return undecided(meta, snapshot, reason),
    };
    let mut out = Vec::new();
    for ns in analysis.namespaces.iter().filter(|ns| in_scope(options, ns, scope)) {
        let (status, evidence) = if ns.policies.is_empty() {
            (
                Status::Fail,
                format!(
                    "namespace {} has no NetworkPolicy: its {} pod{} accept traffic from every pod and may connect anywhere",
                    ns.name,
                    ns.pods,
                    if ns.pods == 1 { "" } else { "s" }
                ),
            )
        } else {
            let names: Vec<&str> =
                ns.policies.iter().take(5).map(|p| analysis.policies[*p as usize].name.as_str()).collect();
            let more = if ns.policies.len() > 5 { ", …" } else { "" };
            (
                Status::Pass,
                format!(
                    "namespace {} has {} NetworkPolic{} ({}{more})",
                    ns.name,
                    ns.policies.len(),
                    if ns.policies.len() == 1 { "y" } else { "ies" },
                    names.join(", ")
                ),
            )
        };
        out.push(meta.result(status, namespace_ref(&ns.name), evidence, source(snapshot)));
    }
    out
}

fn default_deny(
    meta: &CheckMeta,
    snapshot: &Context,
    options: &CheckOptions,
    scope: Scope,
    direction: Direction,
) -> Vec<CheckResult> {
    let analysis = match snapshot.isolation() {
        Ok(a) => a,
        Err(reason) => return undecided(meta, snapshot, reason),
    };
    let enforcement = enforcement(snapshot);
    let word = match direction {
        Direction::Ingress => "ingress",
        Direction::Egress => "egress",
    };
    let mut out = Vec::new();
    for (i, ns) in analysis.namespaces.iter().enumerate() {
        if !in_scope(options, ns, scope) {
            continue;
        }
        let (status, evidence) = match analysis.default_deny(i, direction) {
            Some(p) => (
                Status::Pass,
                format!(
                    "NetworkPolicy {}/{} selects every pod (podSelector: {{}}) and isolates {word}",
                    ns.name, p.name
                ),
            ),
            None => {
                let summary = analysis.summary(i);
                let isolated = match direction {
                    Direction::Ingress => summary.ingress_isolated_pods,
                    Direction::Egress => summary.egress_isolated_pods,
                };
                (
                    Status::Fail,
                    format!(
                        "no NetworkPolicy in namespace {} denies {word} by default (empty podSelector with {} in \
                         policyTypes and no allow-all rule); {isolated} of {} pods are isolated for {word} by other policies",
                        ns.name,
                        match direction {
                            Direction::Ingress => "Ingress",
                            Direction::Egress => "Egress",
                        },
                        ns.pods
                    ),
                )
            }
        };
        let (status, evidence) = unless_ignored(status, evidence, &enforcement);
        out.push(meta.result(status, namespace_ref(&ns.name), evidence, source(snapshot)));
    }
    out
}

fn unselected_pods(
    meta: &CheckMeta,
    snapshot: &Context,
    options: &CheckOptions,
    scope: Scope,
) -> Vec<CheckResult> {
    let analysis = match snapshot.isolation() {
        Ok(a) => a,
        Err(reason) => return undecided(meta, snapshot, reason),
    };
    let enforcement = enforcement(snapshot);
    let mut out = Vec::new();
    for ns in analysis.namespaces.iter().filter(|ns| in_scope(options, ns, scope)) {
        for group in &analysis.groups[ns.groups.start as usize..ns.groups.end as usize] {
            let (status, evidence) = if group.selected_by.is_empty() {
                (
                    Status::Fail,
                    format!(
                        "{} in namespace {} {} selected by no NetworkPolicy: not isolated for ingress or egress",
                        group.describe(),
                        ns.name,
                        if group.pods.len() == 1 { "is" } else { "are" }
                    ),
                )
            } else {
                let names: Vec<&str> =
                    group.selected_by.iter().map(|p| analysis.policies[*p as usize].name.as_str()).collect();
                (
                    Status::Pass,
                    format!(
                        "{} in namespace {} selected by {} (ingress {}, egress {})",
                        group.describe(),
                        ns.name,
                        names.join(", "),
                        if group.ingress_isolated { "isolated" } else { "open" },
                        if group.egress_isolated { "isolated" } else { "open" },
                    ),
                )
            };
            let (status, evidence) = unless_ignored(status, evidence, &enforcement);
            out.push(meta.result(status, group_ref(&ns.name, group), evidence, source(snapshot)));
        }
    }
    out
}

fn dead_policies(meta: &CheckMeta, snapshot: &Context, options: &CheckOptions) -> Vec<CheckResult> {
    let analysis = match snapshot.isolation() {
        Ok(a) => a,
        Err(reason) => return undecided(meta, snapshot, reason),
    };
    let selectors: std::collections::HashMap<(&str, &str), &NetworkPolicy> =
        snapshot.network_policies.iter().map(|p| ((p.namespace.as_str(), p.name.as_str()), p)).collect();
    let mut out = Vec::new();
    for p in &analysis.policies {
        let ns = &analysis.namespaces[p.namespace as usize];
        if excluded(options, &ns.name) {
            continue;
        }
        let selector = selectors
            .get(&(ns.name.as_str(), p.name.as_str()))
            .map(|np| describe_selector(&np.pod_selector))
            .unwrap_or_default();
        let (status, evidence) = if !p.selected_groups.is_empty() {
            (
                Status::Pass,
                format!(
                    "NetworkPolicy {}/{} selects {} pod(s) (podSelector {selector})",
                    ns.name, p.name, p.selected_pods
                ),
            )
        } else if p.selects_all {
            // An empty selector in an empty namespace is ready for future pods, not dead.
            (
                Status::Pass,
                format!(
                    "NetworkPolicy {}/{} selects every pod of the namespace (none running now)",
                    ns.name, p.name
                ),
            )
        } else {
            let labels: Vec<String> = analysis.groups[ns.groups.start as usize..ns.groups.end as usize]
                .iter()
                .take(3)
                .map(|g| describe_labels(&g.labels))
                .collect();
            let seen = if labels.is_empty() {
                "the namespace has no pods".to_string()
            } else {
                format!("pods there carry e.g. {}", labels.join(" | "))
            };
            (
                Status::Warn,
                format!(
                    "NetworkPolicy {}/{} selects no pod: podSelector {selector} matches nothing ({seen}); a label typo?",
                    ns.name, p.name
                ),
            )
        };
        out.push(meta.result(status, policy_ref(&ns.name, &p.name), evidence, source(snapshot)));
    }
    out
}

fn allow_all_rules(meta: &CheckMeta, snapshot: &Context, options: &CheckOptions) -> Vec<CheckResult> {
    if let Some(reason) = snapshot.network_policies.state.missing_reason() {
        return undecided(meta, snapshot, &format!("network policies: {reason}"));
    }
    let mut out = Vec::new();
    for p in snapshot.network_policies.iter().filter(|p| !excluded(options, &p.namespace)) {
        let (ing, eg) = effective_types(p);
        let mut broad = Vec::new();
        let mut all_ports = false;
        for (applies, rules, dir, field) in
            [(ing, &p.ingress, "ingress", "from"), (eg, &p.egress, "egress", "to")]
        {
            if !applies {
                continue;
            }
            for (i, rule) in rules.iter().flatten().enumerate() {
                if rule_allows_all_peers(rule) {
                    let every_port = rule_allows_all_ports(rule);
                    all_ports |= every_port;
                    broad.push(format!(
                        "{dir} rule {} has no `{field}`: every pod and every outside address, {}",
                        i + 1,
                        if every_port {
                            "on all ports".to_string()
                        } else {
                            "on the ports it lists".to_string()
                        }
                    ));
                }
            }
        }
        let (status, evidence) = if broad.is_empty() {
            (Status::Pass, format!("NetworkPolicy {}/{} names the peers of every rule", p.namespace, p.name))
        } else {
            (
                if all_ports { Status::Fail } else { Status::Warn },
                format!("NetworkPolicy {}/{}: {}", p.namespace, p.name, broad.join("; ")),
            )
        };
        out.push(meta.result(status, policy_ref(&p.namespace, &p.name), evidence, source(snapshot)));
    }
    out
}

/// Whether a CIDR is the whole address space (`0.0.0.0/0`, `::/0`).
fn is_world(cidr: &str) -> bool {
    cidr.split_once('/').is_some_and(|(_, bits)| bits.trim() == "0")
}

fn egress_to_world(meta: &CheckMeta, snapshot: &Context, options: &CheckOptions) -> Vec<CheckResult> {
    if let Some(reason) = snapshot.network_policies.state.missing_reason() {
        return undecided(meta, snapshot, &format!("network policies: {reason}"));
    }
    let mut out = Vec::new();
    for p in snapshot.network_policies.iter().filter(|p| !excluded(options, &p.namespace)) {
        let (_, eg) = effective_types(p);
        if !eg {
            continue; // the policy does not affect egress: nothing to judge
        }
        let mut found = Vec::new();
        let mut unrestricted = false;
        for (i, rule) in p.egress.iter().flatten().enumerate() {
            for peer in rule.peers.iter().flatten() {
                if let Some(block) = peer.ip_block.as_ref().filter(|b| is_world(&b.cidr)) {
                    unrestricted |= block.except.is_empty();
                    let except = if block.except.is_empty() {
                        String::new()
                    } else {
                        format!(" except {}", block.except.join(", "))
                    };
                    let ports = if rule_allows_all_ports(rule) { "all ports" } else { "the listed ports" };
                    found.push(format!("egress rule {} allows {}{except} on {ports}", i + 1, block.cidr));
                }
            }
        }
        let (status, evidence) = if found.is_empty() {
            (
                Status::Pass,
                format!("NetworkPolicy {}/{} has no egress to 0.0.0.0/0 or ::/0", p.namespace, p.name),
            )
        } else {
            (
                if unrestricted { Status::Fail } else { Status::Warn },
                format!("NetworkPolicy {}/{}: {}", p.namespace, p.name, found.join("; ")),
            )
        };
        out.push(meta.result(status, policy_ref(&p.namespace, &p.name), evidence, source(snapshot)));
    }
    out
}

fn reachable_everywhere(
    meta: &CheckMeta,
    snapshot: &Context,
    options: &CheckOptions,
    scope: Scope,
) -> Vec<CheckResult> {
    let analysis = match snapshot.network() {
        Ok(a) => a,
        Err(reason) => return undecided(meta, snapshot, reason),
    };
    let enforcement = enforcement(snapshot);
    let total = analysis.namespaces_with_pods;
    let mut out = Vec::new();
    for ns in analysis.namespaces.iter().filter(|ns| in_scope(options, ns, scope)) {
        for group in &analysis.groups[ns.groups.start as usize..ns.groups.end as usize] {
            let resource = group_ref(&ns.name, group);
            if total < 2 {
                out.push(meta.result(
                    Status::NotApplicable,
                    resource,
                    format!("only {total} namespace has pods: reachability across namespaces does not arise"),
                    source(snapshot),
                ));
                continue;
            }
            let (status, evidence) = if enforcement.is_ignored() {
                (
                    Status::Fail,
                    format!(
                        "{} in namespace {} is reachable from all {total} namespaces with pods: {}",
                        group.describe(),
                        ns.name,
                        enforcement.describe()
                    ),
                )
            } else if group.reachable_from_namespaces >= total {
                (
                    Status::Fail,
                    format!(
                        "{} in namespace {} is reachable from all {total} namespaces with pods (ingress {})",
                        group.describe(),
                        ns.name,
                        if group.ingress_isolated {
                            "isolated, but the rules admit every namespace"
                        } else {
                            "not isolated"
                        }
                    ),
                )
            } else {
                (
                    Status::Pass,
                    format!(
                        "{} in namespace {} is reachable from {} of {total} namespaces with pods",
                        group.describe(),
                        ns.name,
                        group.reachable_from_namespaces
                    ),
                )
            };
            out.push(meta.result(status, resource, evidence, source(snapshot)));
        }
    }
    out
}
