//! The steps of the analysis, one function each, in the order [`super::analyze`] runs them:
//! namespaces, pod groups, policies (selection and compiled rules), isolation, external exposure.
//! The namespace matrix, the last and optional step, is in [`super::matrix`].

use std::collections::{BTreeMap, HashMap};

use super::groups::{GroupSet, PeerResolver};
use super::policy::{allows_everything, describe_peer, effective_types, rule_allows_all_peers};
use super::ports::{resolve_named, rule_ports, PortTable, Proto};
use super::{is_system_namespace, NamespaceInfo, PodGroup, PolicyInfo, Rule, RuleBook, NAMESPACE_NAME_LABEL};
use crate::snapshot::{ContainerPort, Labels, Namespace, NetworkPolicy, OwnerRef, Pod};

/// Namespace name → index into the namespaces sorted by name.
pub(super) type NamespaceIndex<'a> = HashMap<&'a str, u32>;

/// The namespaces, sorted by name, including ones only seen on pods or policies.
pub(super) fn namespaces<'a>(
    pods: &'a [Pod],
    namespaces: &'a [Namespace],
    policies: &'a [NetworkPolicy],
) -> (Vec<NamespaceInfo>, NamespaceIndex<'a>) {
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
    let ns_infos: Vec<NamespaceInfo> = ns_map
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
    (ns_infos, ns_index)
}

/// Pods grouped by namespace, labels and named ports; groups are contiguous per namespace. Fills
/// each namespace's pod counts and group range, and returns the groups with the namespace of each.
pub(super) fn pod_groups(
    pods: &[Pod],
    ns_index: &NamespaceIndex<'_>,
    ns_infos: &mut [NamespaceInfo],
) -> (Vec<PodGroup>, Vec<u32>) {
    let n = ns_infos.len();
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
    (groups, ns_of_group)
}

/// The policies compiled: what each selects, and its rules in each direction.
pub(super) struct Compiled {
    pub(super) policies: Vec<PolicyInfo>,
    pub(super) ingress: Vec<Rule>,
    pub(super) egress: Vec<Rule>,
    pub(super) ports: PortTable,
}

/// Selection and compiled rules of every policy, in (namespace, name) order. Groups are read-only
/// here; policies repeat the same selectors many times, so each distinct one is resolved once.
pub(super) fn compile_policies(
    policies: &[NetworkPolicy],
    ns_index: &NamespaceIndex<'_>,
    ns_infos: &[NamespaceInfo],
    groups: &[PodGroup],
) -> Compiled {
    let g_count = groups.len() as u32;
    let ns_range = |ns: &NamespaceInfo| (ns.groups.start, ns.groups.end);
    let mut resolver = PeerResolver::new(ns_infos, groups);
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
    Compiled { policies: policy_infos, ingress: ingress_rules, egress: egress_rules, ports }
}

/// Isolation: records each policy on its namespace and on the groups it selects, and indexes the
/// rules that protect each group.
pub(super) fn isolation(
    compiled: Compiled,
    ns_infos: &mut [NamespaceInfo],
    groups: &mut [PodGroup],
) -> (Vec<PolicyInfo>, RuleBook) {
    let Compiled { policies: policy_infos, ingress: ingress_rules, egress: egress_rules, ports } = compiled;
    let g_count = groups.len() as u32;
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
    let rules = RuleBook {
        ingress: ingress_rules,
        egress: egress_rules,
        ingress_of: ingress_rules_of,
        egress_of: egress_rules_of,
        ports,
    };
    (policy_infos, rules)
}

/// External exposure per group: ipBlock peers and allow-all rules. Named ports of an egress rule
/// cannot be resolved against an outside address, so only numbered ones count.
pub(super) fn external_exposure(rules: &RuleBook, groups: &mut [PodGroup]) {
    let (ingress_rules, egress_rules, ports) = (&rules.ingress, &rules.egress, &rules.ports);
    let (ingress_rules_of, egress_rules_of) = (&rules.ingress_of, &rules.egress_of);
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
}

/// One bit per namespace, set when the namespace has analyzed pods.
pub(super) fn namespaces_with_pods(ns_infos: &[NamespaceInfo]) -> Vec<u64> {
    let mut bits = vec![0u64; ns_infos.len().div_ceil(64).max(1)];
    for (i, ns) in ns_infos.iter().enumerate() {
        if !ns.groups.is_empty() {
            bits[i / 64] |= 1u64 << (i % 64);
        }
    }
    bits
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
