//! Sets of pod groups and the resolution of policy peers to them.

use std::collections::HashMap;

use super::{NamespaceInfo, PodGroup};
use crate::snapshot::{LabelSelector, NetworkPolicyPeer};

// ---------------------------------------------------------------------------------------------
// Group sets: unions of ranges over group indices (groups are ordered by namespace, so a
// namespace is one range and a namespace selector yields few ranges)
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct GroupSet {
    /// Sorted, disjoint, non-adjacent half-open ranges.
    pub(super) ranges: Vec<(u32, u32)>,
}

impl GroupSet {
    pub(super) fn from_ranges(mut ranges: Vec<(u32, u32)>) -> Self {
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

    pub(super) fn contains(&self, g: u32) -> bool {
        // The last range starting at or before g.
        let idx = self.ranges.partition_point(|(a, _)| *a <= g);
        idx > 0 && g < self.ranges[idx - 1].1
    }

    /// The members within `lo..hi`.
    pub(super) fn members_in(&self, lo: u32, hi: u32) -> impl Iterator<Item = u32> + '_ {
        let start = self.ranges.partition_point(|(_, b)| *b <= lo);
        self.ranges[start..]
            .iter()
            .take_while(move |(a, _)| *a < hi)
            .flat_map(move |(a, b)| (*a).max(lo)..(*b).min(hi))
    }
}

/// Resolves peer elements to group sets, caching per distinct selector: a namespace selector →
/// matching namespaces; (namespace selector, pod selector, scope) → groups.
pub(super) struct PeerResolver<'a> {
    namespaces: &'a [NamespaceInfo],
    groups: &'a [PodGroup],
    ns_cache: HashMap<&'a LabelSelector, Vec<u32>>,
    peer_cache: HashMap<(Option<&'a LabelSelector>, Option<&'a LabelSelector>, u32), GroupSet>,
}

impl<'a> PeerResolver<'a> {
    pub(super) fn new(namespaces: &'a [NamespaceInfo], groups: &'a [PodGroup]) -> Self {
        Self { namespaces, groups, ns_cache: HashMap::new(), peer_cache: HashMap::new() }
    }

    /// The cluster pods a (non-ipBlock) peer element selects, for a policy in `policy_ns`.
    pub(super) fn peer_set(&mut self, peer: &'a NetworkPolicyPeer, policy_ns: u32) -> &GroupSet {
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
