//! ClusterRole aggregation as the clusterrole-aggregation controller computes it, to its fixed point.

use super::*;

fn rule_hash(rule: &PolicyRule) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (&rule.verbs, &rule.api_groups, &rule.resources, &rule.resource_names, &rule.non_resource_urls)
        .hash(&mut h);
    h.finish()
}

/// Compute every role's effective rules, applying ClusterRole aggregation to its fixed point.
pub(super) fn resolve_aggregation(roles: &[&Role]) -> Vec<Vec<RuleId>> {
    let mut effective: Vec<Vec<RuleId>> = roles
        .iter()
        .enumerate()
        .map(|(i, r)| {
            if r.namespace.is_none() && r.aggregation.is_some() {
                Vec::new()
            } else {
                (0..r.rules.len() as u32).map(|rule| RuleId { role: i as RoleIdx, rule }).collect()
            }
        })
        .collect();
    let aggregated: Vec<usize> = (0..roles.len())
        .filter(|&i| roles[i].namespace.is_none() && roles[i].aggregation.is_some())
        .collect();
    if aggregated.is_empty() {
        return effective;
    }
    // Members of each aggregated role: every other ClusterRole a selector matches, by name.
    let members: Vec<Vec<usize>> = aggregated
        .iter()
        .map(|&a| {
            let selectors = roles[a].aggregation.as_deref().unwrap_or_default();
            let mut m: Vec<usize> = (0..roles.len())
                .filter(|&c| {
                    c != a
                        && roles[c].namespace.is_none()
                        && selectors.iter().any(|s| s.matches(&roles[c].labels))
                })
                .collect();
            m.sort_by(|x, y| roles[*x].name.cmp(&roles[*y].name));
            m
        })
        .collect();
    // Each pass can only add rules, so at most |aggregated| + 1 passes reach the fixed point.
    for _ in 0..=aggregated.len() {
        let mut changed = false;
        for (k, &a) in aggregated.iter().enumerate() {
            let mut union: Vec<RuleId> = Vec::new();
            // Rules are compared by content (as the controller does), through a hash to stay
            // linear for roles that aggregate hundreds of rules.
            let mut seen: HashMap<u64, Vec<RuleId>> = HashMap::new();
            for &m in &members[k] {
                for &id in &effective[m] {
                    let rule = &roles[id.role as usize].rules[id.rule as usize];
                    let same = seen.entry(rule_hash(rule)).or_default();
                    if !same.iter().any(|u| roles[u.role as usize].rules[u.rule as usize] == *rule) {
                        same.push(id);
                        union.push(id);
                    }
                }
            }
            if union != effective[a] {
                effective[a] = union;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    effective
}
