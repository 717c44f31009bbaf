//! The namespace × namespace matrix: enumerates (ingress rule, egress rule) pairs that can meet,
//! not pod pairs (see the module doc of [`super`]). A missing ingress (egress) isolation acts as
//! one virtual rule admitting every peer on every port.

use super::groups::GroupSet;
use super::ports::{resolve_named, PortTable, ALL, NONE};
use super::{Matrix, NamespaceInfo, PodGroup, PolicyInfo, Rule, RuleBook};

/// The matrix, and per group how many namespaces (with pods) reach it
/// (`PodGroup::reachable_from_namespaces`, set here).
pub(super) fn reachability(
    ns_infos: &[NamespaceInfo],
    groups: &mut [PodGroup],
    ns_of_group: &[u32],
    policy_infos: &[PolicyInfo],
    rules: &RuleBook,
    with_pods_bits: &[u64],
) -> Matrix {
    let n = ns_infos.len();
    let g_count = groups.len() as u32;
    let mut ports = rules.ports.clone();
    let (ingress_rules, egress_rules) = (&rules.ingress, &rules.egress);
    // Rule → the groups it protects (its policy's selection).
    let targets = |rule: &Rule| -> &[u32] { &policy_infos[rule.policy as usize].selected_groups };
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

    for r in ingress_rules {
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
    for q in egress_rules {
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
            .zip(with_pods_bits)
            .map(|((r, o), w)| ((r | if group.ingress_isolated { 0 } else { *o }) & w).count_ones())
            .sum();
        group.reachable_from_namespaces = count;
    }

    Matrix { size: n, cells, ports }
}
