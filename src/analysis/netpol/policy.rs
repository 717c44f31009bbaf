//! The semantics of one policy object (defaulting of `policyTypes`, allow-all rules) and the
//! words used to describe policies, peers, selectors and labels in evidence.

use crate::snapshot::{LabelSelector, Labels, NetworkPolicy, NetworkPolicyPeer, NetworkPolicyRule};

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

/// Some rule admits every peer on every port.
pub(super) fn allows_everything(rules: &Option<Vec<NetworkPolicyRule>>) -> bool {
    rules.iter().flatten().any(|r| rule_allows_all_peers(r) && rule_allows_all_ports(r))
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
