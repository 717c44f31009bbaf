//! Benchmark: the full network-policy analysis of a large generated cluster.
//!
//! Default shape (the target): 100,000 pods in 1,000 namespaces with 5,000 policies.
//! Run with `cargo bench --bench netpol` (release), or with arguments
//! `PODS NAMESPACES POLICIES` to change the shape. Prints wall times of each phase; peak RSS is
//! measured from outside with `/usr/bin/time -v`.
//!
//! The cluster looks like a real multi-tenant one: namespaces labelled by team and tier,
//! Deployments of identical pods (one group each), StatefulSets whose pods carry a unique
//! `statefulset.kubernetes.io/pod-name` label (one group per pod), named container ports, and
//! the usual policy kinds: default-deny, allow-same-namespace, DNS egress to kube-system, ingress
//! from the ingress controller on a named port, cross-namespace allows by team and tier (selectors
//! ANDed in one peer), egress to data namespaces, some ipBlock egress, and in one namespace out of
//! five no isolation at all.

use std::time::Instant;

use chrono::Utc;
use palisade::analysis::netpol::{analyze, analyze_isolation};
use palisade::checks::{self, CheckOptions};
use palisade::domain::Area;
use palisade::snapshot::{
    ClusterInfo, ContainerPort, Evidence, IpBlock, LabelSelector, Labels, Namespace, NetworkPolicy,
    NetworkPolicyPeer, NetworkPolicyPort, NetworkPolicyRule, Origin, OwnerRef, Pod, PortRef, Snapshot,
    Source, Workload,
};

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn sel(pairs: &[(&str, &str)]) -> LabelSelector {
    LabelSelector { match_labels: labels(pairs), match_expressions: vec![] }
}

fn peer(ns: Option<LabelSelector>, pod: Option<LabelSelector>) -> NetworkPolicyPeer {
    NetworkPolicyPeer { namespace_selector: ns, pod_selector: pod, ip_block: None }
}

fn port(proto: &str, p: PortRef) -> NetworkPolicyPort {
    NetworkPolicyPort { protocol: Some(proto.into()), port: Some(p), end_port: None }
}

fn np(ns: &str, name: &str, pod_selector: LabelSelector, types: &[&str]) -> NetworkPolicy {
    NetworkPolicy {
        namespace: ns.into(),
        name: name.into(),
        pod_selector,
        policy_types: Some(types.iter().map(|s| s.to_string()).collect()),
        ingress: None,
        egress: None,
    }
}

/// A deterministic generator (no randomness needed: the shape is what matters).
fn generate(pods_total: usize, namespaces: usize, policies_total: usize) -> Snapshot {
    let tiers = ["front", "back", "data"];
    let mut ns_items = Vec::with_capacity(namespaces + 2);
    let mut pods = Vec::with_capacity(pods_total + 10);
    let mut policies = Vec::with_capacity(policies_total);
    for sys in ["kube-system", "ingress-nginx"] {
        ns_items
            .push(Namespace { name: sys.into(), labels: labels(&[("kubernetes.io/metadata.name", sys)]) });
    }
    let sys_pod = |ns: &str, name: &str, l: &[(&str, &str)], ports: Vec<ContainerPort>| Pod {
        namespace: ns.into(),
        name: name.into(),
        labels: labels(l),
        owner: None,
        service_account: "default".into(),
        automount_token: None,
        host_network: false,
        host_pid: false,
        host_ipc: false,
        privileged: false,
        host_ports: vec![],
        container_ports: ports,
        node: None,
        images: vec![],
    };
    for i in 0..2 {
        pods.push(sys_pod(
            "kube-system",
            &format!("coredns-{i}"),
            &[("k8s-app", "kube-dns")],
            vec![ContainerPort { name: Some("dns".into()), port: 53, protocol: "UDP".into() }],
        ));
        pods.push(sys_pod("ingress-nginx", &format!("controller-{i}"), &[("app", "ingress-nginx")], vec![]));
    }
    let per_ns = pods_total / namespaces;
    // Per namespace: 4 StatefulSet pods (unique labels), the rest in 8 Deployments.
    let sts = 4.min(per_ns);
    let deployments = 8usize;
    let isolated_namespaces = (0..namespaces).filter(|i| i % 5 != 4).count();
    let per_isolated = policies_total.div_ceil(isolated_namespaces.max(1)).max(1);
    for i in 0..namespaces {
        let ns = format!("team{}-{}-{i}", i % 50, tiers[i % 3]);
        let tier = tiers[i % 3];
        let team = format!("t{}", i % 50);
        ns_items.push(Namespace {
            name: ns.clone(),
            labels: labels(&[
                ("kubernetes.io/metadata.name", &ns),
                ("team", &team),
                ("tier", tier),
                ("env", if i % 2 == 0 { "prod" } else { "staging" }),
            ]),
        });
        for k in 0..per_ns {
            let (app, mut l, owner) = if k < sts {
                let name = format!("db-{k}");
                (
                    "db".to_string(),
                    labels(&[("app", "db"), ("tier", tier), ("statefulset.kubernetes.io/pod-name", &name)]),
                    OwnerRef { kind: "StatefulSet".into(), name: "db".into() },
                )
            } else {
                let d = (k - sts) % deployments;
                let app = format!("app-{d}");
                (
                    app.clone(),
                    labels(&[("app", &app), ("tier", tier), ("pod-template-hash", &format!("5d9f{d}"))]),
                    OwnerRef { kind: "ReplicaSet".into(), name: format!("{app}-5d9f{d}") },
                )
            };
            l.insert("version".into(), "v1".into());
            pods.push(Pod {
                namespace: ns.clone(),
                name: format!("{app}-{k}"),
                labels: l,
                owner: Some(owner),
                service_account: app.clone(),
                automount_token: None,
                host_network: false,
                host_pid: false,
                host_ipc: false,
                privileged: false,
                host_ports: vec![],
                container_ports: vec![
                    ContainerPort { name: Some("http".into()), port: 8080, protocol: "TCP".into() },
                    ContainerPort { name: Some("metrics".into()), port: 9090, protocol: "TCP".into() },
                ],
                node: None,
                images: vec![format!("registry.example/{app}:1")],
            });
        }
        if i % 5 == 4 {
            continue; // an open namespace
        }
        let all = LabelSelector::default();
        let mut kinds: Vec<NetworkPolicy> = Vec::new();
        kinds.push(np(&ns, "default-deny", all.clone(), &["Ingress", "Egress"]));
        let mut same = np(&ns, "allow-same-namespace", all.clone(), &["Ingress", "Egress"]);
        same.ingress =
            Some(vec![NetworkPolicyRule { peers: Some(vec![peer(None, Some(all.clone()))]), ports: None }]);
        same.egress =
            Some(vec![NetworkPolicyRule { peers: Some(vec![peer(None, Some(all.clone()))]), ports: None }]);
        kinds.push(same);
        let mut dns = np(&ns, "allow-dns", all.clone(), &["Egress"]);
        dns.egress = Some(vec![NetworkPolicyRule {
            peers: Some(vec![peer(
                Some(sel(&[("kubernetes.io/metadata.name", "kube-system")])),
                Some(sel(&[("k8s-app", "kube-dns")])),
            )]),
            ports: Some(vec![port("UDP", PortRef::Number(53)), port("TCP", PortRef::Number(53))]),
        }]);
        kinds.push(dns);
        let mut from_ingress = np(&ns, "allow-from-ingress", sel(&[("app", "app-0")]), &["Ingress"]);
        from_ingress.ingress = Some(vec![NetworkPolicyRule {
            peers: Some(vec![peer(
                Some(sel(&[("kubernetes.io/metadata.name", "ingress-nginx")])),
                Some(sel(&[("app", "ingress-nginx")])),
            )]),
            ports: Some(vec![port("TCP", PortRef::Name("http".into()))]),
        }]);
        kinds.push(from_ingress);
        let mut team_front = np(&ns, "allow-team-front", sel(&[("app", "app-1")]), &["Ingress"]);
        team_front.ingress = Some(vec![NetworkPolicyRule {
            peers: Some(vec![peer(Some(sel(&[("team", &team)])), Some(sel(&[("tier", "front")])))]),
            ports: Some(vec![port("TCP", PortRef::Number(8080))]),
        }]);
        kinds.push(team_front);
        let mut to_data = np(&ns, "allow-to-data", sel(&[("app", "app-1")]), &["Egress"]);
        to_data.egress = Some(vec![
            NetworkPolicyRule {
                peers: Some(vec![peer(Some(sel(&[("tier", "data")])), Some(sel(&[("app", "db")])))]),
                ports: Some(vec![port("TCP", PortRef::Number(5432))]),
            },
            NetworkPolicyRule {
                peers: Some(vec![NetworkPolicyPeer {
                    ip_block: Some(IpBlock {
                        cidr: "10.20.0.0/16".into(),
                        except: vec!["10.20.5.0/24".into()],
                    }),
                    ..Default::default()
                }]),
                ports: Some(vec![port("TCP", PortRef::Number(443))]),
            },
        ]);
        kinds.push(to_data);
        let mut db_from_back = np(&ns, "db-from-back", sel(&[("app", "db")]), &["Ingress"]);
        db_from_back.ingress = Some(vec![NetworkPolicyRule {
            peers: Some(vec![peer(Some(sel(&[("tier", "back")])), Some(sel(&[("app", "app-1")])))]),
            ports: Some(vec![port("TCP", PortRef::Number(5432))]),
        }]);
        kinds.push(db_from_back);
        let mut metrics = np(&ns, "allow-metrics", all.clone(), &["Ingress"]);
        metrics.ingress = Some(vec![NetworkPolicyRule {
            peers: Some(vec![peer(Some(sel(&[("kubernetes.io/metadata.name", "kube-system")])), None)]),
            ports: Some(vec![port("TCP", PortRef::Name("metrics".into()))]),
        }]);
        kinds.push(metrics);
        policies.extend(kinds.into_iter().cycle().take(per_isolated).enumerate().map(|(n, mut p)| {
            if n >= 8 {
                p.name = format!("{}-{n}", p.name);
            }
            p
        }));
    }
    policies.truncate(policies_total);
    let at = Utc::now();
    let origin = Origin::new(Source::Api, at);
    let mut snap = Snapshot::new(ClusterInfo { name: "bench".into(), ..Default::default() }, at);
    snap.namespaces = Evidence::complete(origin.clone(), ns_items);
    snap.pods = Evidence::complete(origin.clone(), pods);
    snap.network_policies = Evidence::complete(origin.clone(), policies);
    snap.daemonsets = Evidence::complete(
        origin,
        vec![Workload {
            kind: "DaemonSet".into(),
            namespace: "kube-system".into(),
            name: "calico-node".into(),
            labels: Labels::new(),
            images: vec!["docker.io/calico/node:v3.28.0".into()],
        }],
    );
    snap
}

fn main() {
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let (pods, namespaces, policies) = match args.as_slice() {
        [p, n, q] => (*p, *n, *q),
        _ => (100_000, 1_000, 5_000),
    };
    let t = Instant::now();
    let snap = generate(pods, namespaces, policies);
    println!(
        "generated {} pods, {} namespaces, {} policies in {:.2?}",
        snap.pods.len(),
        snap.namespaces.len(),
        snap.network_policies.len(),
        t.elapsed()
    );

    let t = Instant::now();
    let iso = analyze_isolation(&snap.pods.items, &snap.namespaces.items, &snap.network_policies.items);
    println!("isolation only (groups, selection): {:.2?} — {} groups", t.elapsed(), iso.groups.len());
    drop(iso);

    let t = Instant::now();
    let analysis = analyze(&snap.pods.items, &snap.namespaces.items, &snap.network_policies.items);
    let full = t.elapsed();
    let m = analysis.matrix.as_ref().expect("matrix computed");
    let open_cells = (0..m.size)
        .flat_map(|a| (0..m.size).map(move |b| (a, b)))
        .filter(|(a, b)| !m.ports(*a, *b).is_empty())
        .count();
    println!(
        "full analysis with the {n}x{n} matrix: {full:.2?} — {open_cells} non-empty cells, {} groups",
        analysis.groups.len(),
        n = m.size
    );

    let t = Instant::now();
    let report = analysis.reachability_report(palisade::checks::network::enforcement(&snap), true);
    let json = serde_json::to_vec(&report).expect("serializable");
    println!(
        "reachability report + JSON: {:.2?} — {} cells, {} bytes",
        t.elapsed(),
        report.cells.len(),
        json.len()
    );
    drop((report, json, analysis));

    let t = Instant::now();
    let ctx = checks::Context::new(&snap);
    let results: usize = checks::catalog()
        .into_iter()
        .filter(|c| c.meta.area == Area::Network)
        .map(|c| (c.run)(&c.meta, &ctx, &CheckOptions::default()).len())
        .sum();
    println!("all network checks: {:.2?} — {results} results", t.elapsed());
}
