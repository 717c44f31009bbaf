//! A generated cluster whose reachability matrix is known by construction, checked three ways:
//! against the construction, against the pair-wise computation, and against the naive oracle.
//!
//! Construction: namespace `ns-i` has tier `front` | `back` | `data` (i mod 3) and pods `web`,
//! `api` (named port `grpc` = 9000 + i mod 3) and `db` (5432), two replicas each. Every fifth
//! namespace is "open" (no policies). The others have: default-deny both ways; allow everything
//! within the namespace; back `api` admits front `web` (one peer element: namespaceSelector AND
//! podSelector) on port `grpc`; data `db` admits back `api` on 5432; and the matching egress
//! rules on the other side. So, for A ≠ B unless both are open: front → back is `TCP grpc(B)`,
//! back → data is `TCP 5432`, anything else nothing; A → A and open → open is everything.

use palisade::analysis::netpol::{analyze, PortSet, Proto};
use palisade::snapshot::{NetworkPolicy, Pod};

use super::netpol_support::{naive_allowed, namespace, pod, pod_with_ports, policy};

const N: usize = 30;

fn tier(i: usize) -> &'static str {
    ["front", "back", "data"][i % 3]
}

fn open(i: usize) -> bool {
    i % 5 == 4
}

fn grpc(i: usize) -> u16 {
    9000 + (i % 3) as u16
}

fn cluster() -> (Vec<palisade::snapshot::Namespace>, Vec<Pod>, Vec<NetworkPolicy>) {
    let mut namespaces = Vec::new();
    let mut pods = Vec::new();
    let mut policies = Vec::new();
    for i in 0..N {
        let ns = format!("ns-{i}");
        namespaces.push(namespace(&ns, &[("tier", tier(i))]));
        for r in 0..2 {
            pods.push(pod_with_ports(&ns, &format!("web-{r}"), &[("app", "web")], &[("http", 8080, "TCP")]));
            pods.push(pod_with_ports(
                &ns,
                &format!("api-{r}"),
                &[("app", "api")],
                &[("grpc", grpc(i), "TCP")],
            ));
            pods.push(pod_with_ports(&ns, &format!("db-{r}"), &[("app", "db")], &[("", 5432, "TCP")]));
        }
        let mut host = pod(&ns, "node-exporter", &[("app", "exporter")]);
        host.host_network = true;
        pods.push(host);
        if open(i) {
            continue;
        }
        let p = |yaml: String| policy(&yaml);
        policies.push(p(format!(
            "metadata: {{name: default-deny, namespace: {ns}}}\nspec:\n  podSelector: {{}}\n  policyTypes: [Ingress, Egress]\n"
        )));
        policies.push(p(format!(
            "metadata: {{name: same-namespace, namespace: {ns}}}\nspec:\n  podSelector: {{}}\n  policyTypes: [Ingress, Egress]\n  ingress:\n  - from: [{{podSelector: {{}}}}]\n  egress:\n  - to: [{{podSelector: {{}}}}]\n"
        )));
        // A dead policy (label typo) changes nothing.
        policies.push(p(format!(
            "metadata: {{name: typo, namespace: {ns}}}\nspec:\n  podSelector: {{matchLabels: {{app: wbe}}}}\n  ingress:\n  - {{}}\n"
        )));
        match tier(i) {
            "front" => policies.push(p(format!(
                "metadata: {{name: web-to-back, namespace: {ns}}}\nspec:\n  podSelector: {{matchLabels: {{app: web}}}}\n  policyTypes: [Egress]\n  egress:\n  - to: [{{namespaceSelector: {{matchLabels: {{tier: back}}}}, podSelector: {{matchLabels: {{app: api}}}}}}]\n    ports: [{{port: grpc}}]\n"
            ))),
            "back" => {
                policies.push(p(format!(
                    "metadata: {{name: api-from-front, namespace: {ns}}}\nspec:\n  podSelector: {{matchLabels: {{app: api}}}}\n  ingress:\n  - from: [{{namespaceSelector: {{matchLabels: {{tier: front}}}}, podSelector: {{matchLabels: {{app: web}}}}}}]\n    ports: [{{port: grpc}}]\n"
                )));
                policies.push(p(format!(
                    "metadata: {{name: api-to-data, namespace: {ns}}}\nspec:\n  podSelector: {{matchLabels: {{app: api}}}}\n  policyTypes: [Egress]\n  egress:\n  - to: [{{namespaceSelector: {{matchLabels: {{tier: data}}}}, podSelector: {{matchLabels: {{app: db}}}}}}]\n    ports: [{{port: 5432, protocol: TCP}}]\n"
                )));
            }
            _ => policies.push(p(format!(
                "metadata: {{name: db-from-back, namespace: {ns}}}\nspec:\n  podSelector: {{matchLabels: {{app: db}}}}\n  ingress:\n  - from: [{{namespaceSelector: {{matchLabels: {{tier: back}}}}, podSelector: {{matchLabels: {{app: api}}}}}}]\n    ports: [{{port: 5432}}]\n"
            ))),
        }
    }
    (namespaces, pods, policies)
}

fn expected(a: usize, b: usize) -> PortSet {
    if a == b || (open(a) && open(b)) {
        PortSet::all()
    } else if tier(a) == "front" && tier(b) == "back" {
        PortSet::single(Proto::Tcp, grpc(b))
    } else if tier(a) == "back" && tier(b) == "data" {
        PortSet::single(Proto::Tcp, 5432)
    } else {
        PortSet::none()
    }
}

#[test]
fn a_generated_cluster_yields_the_matrix_known_by_construction() {
    let (namespaces, pods, policies) = cluster();
    let a = analyze(&pods, &namespaces, &policies);
    assert_eq!(a.namespaces_with_pods as usize, N);
    for i in 0..N {
        for j in 0..N {
            let got = a.namespace_ports(&format!("ns-{i}"), &format!("ns-{j}")).unwrap();
            assert_eq!(got, &expected(i, j), "ns-{i} -> ns-{j}: got {got}, expected {}", expected(i, j));
        }
    }
    // Three groups per namespace; host-network pods are counted, not grouped.
    assert_eq!(a.groups.len(), 3 * N);
    assert!(a.namespaces.iter().all(|ns| ns.host_network_pods == 1));
    // Dead policies are visible as such.
    assert!(a.policies.iter().filter(|p| p.name == "typo").all(|p| p.selected_groups.is_empty()));
}

#[test]
fn the_matrix_agrees_with_the_pairwise_computation_for_every_group_pair() {
    let (namespaces, pods, policies) = cluster();
    let a = analyze(&pods, &namespaces, &policies);
    let m = a.matrix.as_ref().unwrap();
    for from in 0..a.namespaces.len() {
        for to in 0..a.namespaces.len() {
            let mut union = PortSet::none();
            for g1 in a.namespaces[from].groups.clone() {
                for g2 in a.namespaces[to].groups.clone() {
                    union = union.union(&a.group_ports(g1 as usize, g2 as usize));
                }
            }
            assert_eq!(&union, m.ports(from, to), "{from} -> {to}");
        }
    }
}

#[test]
fn pod_level_answers_agree_with_the_naive_reading_of_the_rules() {
    let (namespaces, pods, policies) = cluster();
    let a = analyze(&pods, &namespaces, &policies);
    let probes: Vec<(&str, u16)> =
        vec![("TCP", 8080), ("TCP", 9000), ("TCP", 9001), ("TCP", 9002), ("TCP", 5432), ("UDP", 53)];
    // Every pod pair among the first 9 namespaces (mixes open and closed, all tiers), non-host.
    let sample: Vec<&Pod> = pods
        .iter()
        .filter(|p| !p.host_network && p.namespace.trim_start_matches("ns-").parse::<usize>().unwrap() < 9)
        .collect();
    for src in &sample {
        for dst in &sample {
            let ports = a.pod_ports((&src.namespace, &src.name), (&dst.namespace, &dst.name)).unwrap();
            for (proto, port) in &probes {
                let p = if *proto == "TCP" { Proto::Tcp } else { Proto::Udp };
                assert_eq!(
                    ports.contains(p, *port),
                    naive_allowed(&policies, &namespaces, src, dst, proto, *port),
                    "{}/{} -> {}/{} {proto} {port}",
                    src.namespace,
                    src.name,
                    dst.namespace,
                    dst.name
                );
            }
        }
    }
}
