//! NetworkPolicy semantics the documentation states in prose: policyTypes defaulting, named ports,
//! empty rule lists versus empty rules, ipBlock, protocols and port forms, dead policies.

use palisade::analysis::netpol::{analyze, effective_types, PortSet, Proto};

use super::netpol_support::{naive_allowed, namespace, pod, pod_with_ports, policy};

#[test]
fn omitted_policy_types_mean_ingress_plus_egress_only_when_egress_rules_exist() {
    let with_egress =
        policy("metadata: {name: p}\nspec:\n  podSelector: {}\n  egress:\n  - to:\n    - podSelector: {}\n");
    let empty_egress = policy("metadata: {name: q}\nspec:\n  podSelector: {}\n  egress: []\n");
    let explicit_empty_types =
        policy("metadata: {name: r}\nspec:\n  podSelector: {}\n  policyTypes: []\n  egress:\n  - {}\n");
    let egress_only = policy("metadata: {name: s}\nspec:\n  podSelector: {}\n  policyTypes: [Egress]\n");
    assert_eq!(effective_types(&with_egress), (true, true));
    // The API server adds Egress only for a non-empty egress list.
    assert_eq!(effective_types(&empty_egress), (true, false));
    assert_eq!(effective_types(&explicit_empty_types), (true, true));
    assert_eq!(effective_types(&egress_only), (false, true));

    // With omitted types and egress rules, the ingress side is isolated with no rule: deny.
    let namespaces = vec![namespace("default", &[]), namespace("x", &[])];
    let pods = vec![pod("default", "a", &[]), pod("x", "b", &[])];
    let a = analyze(&pods, &namespaces, &[with_egress]);
    let g = &a.groups[a.group_of_pod("default", "a").unwrap()];
    assert!(g.ingress_isolated && g.egress_isolated);
    assert!(a.namespace_ports("x", "default").unwrap().is_empty(), "ingress defaulted on, no rule admits x");
    assert!(a.namespace_ports("default", "default").unwrap().is_empty(), "egress allowed, ingress not");
    // `podSelector: {}` alone in `to` means pods of the policy's own namespace only.
    assert!(a.namespace_ports("default", "x").unwrap().is_empty(), "egress only to its own namespace");
}

#[test]
fn an_empty_rule_list_denies_and_an_empty_rule_allows_everything() {
    let namespaces = vec![namespace("default", &[]), namespace("x", &[])];
    let pods = vec![pod("default", "a", &[]), pod("x", "b", &[])];
    let deny = policy("metadata: {name: deny}\nspec:\n  podSelector: {}\n  ingress: []\n");
    let allow = policy("metadata: {name: allow}\nspec:\n  podSelector: {}\n  ingress:\n  - {}\n");
    let from_empty = policy("metadata: {name: fe}\nspec:\n  podSelector: {}\n  ingress:\n  - from: []\n");
    assert!(analyze(&pods, &namespaces, &[deny]).namespace_ports("x", "default").unwrap().is_empty());
    assert!(analyze(&pods, &namespaces, &[allow]).namespace_ports("x", "default").unwrap().is_all());
    assert!(analyze(&pods, &namespaces, &[from_empty]).namespace_ports("x", "default").unwrap().is_all());
}

#[test]
fn named_ports_resolve_per_destination_pod() {
    // Two pods with the same labels but different numbers behind the port name "http".
    let namespaces = vec![namespace("web", &[]), namespace("client", &[])];
    let pods = vec![
        pod_with_ports("web", "old", &[("app", "web")], &[("http", 8080, "TCP")]),
        pod_with_ports("web", "new", &[("app", "web")], &[("http", 9090, "TCP")]),
        pod_with_ports("web", "plain", &[("app", "web2")], &[("", 80, "TCP")]),
        pod("client", "c", &[]),
    ];
    let p = policy(
        r#"
metadata: {name: http-only, namespace: web}
spec:
  podSelector: {}
  ingress:
  - ports:
    - port: http
"#,
    );
    let a = analyze(&pods, &namespaces, std::slice::from_ref(&p));
    assert_eq!(a.pod_ports(("client", "c"), ("web", "old")), Some(PortSet::single(Proto::Tcp, 8080)));
    assert_eq!(a.pod_ports(("client", "c"), ("web", "new")), Some(PortSet::single(Proto::Tcp, 9090)));
    // A pod without the named port is not reachable through that entry.
    assert_eq!(a.pod_ports(("client", "c"), ("web", "plain")), Some(PortSet::none()));
    let cell = a.namespace_ports("client", "web").unwrap();
    assert_eq!(cell.to_string(), "TCP 8080,9090");
    // The oracle agrees, connection by connection.
    for (dst, port, expected) in [(1usize, 9090u16, true), (0, 9090, false), (0, 8080, true), (2, 80, false)]
    {
        assert_eq!(
            naive_allowed(std::slice::from_ref(&p), &namespaces, &pods[3], &pods[dst], "TCP", port),
            expected
        );
    }
}

#[test]
fn a_named_port_must_match_the_protocol_too() {
    let namespaces = vec![namespace("dns", &[])];
    let pods = vec![
        pod_with_ports(
            "dns",
            "coredns",
            &[("k8s-app", "kube-dns")],
            &[("dns", 53, "UDP"), ("dns-tcp", 53, "TCP")],
        ),
        pod("dns", "client", &[]),
    ];
    let p = policy(
        "metadata: {name: p, namespace: dns}\nspec:\n  podSelector: {matchLabels: {k8s-app: kube-dns}}\n  ingress:\n  - ports:\n    - port: dns\n",
    );
    let a = analyze(&pods, &namespaces, &[p]);
    // `protocol` defaults to TCP; the port named "dns" is UDP: nothing matches.
    assert!(a.pod_ports(("dns", "client"), ("dns", "coredns")).unwrap().is_empty());
    let q = policy(
        "metadata: {name: q, namespace: dns}\nspec:\n  podSelector: {matchLabels: {k8s-app: kube-dns}}\n  ingress:\n  - ports:\n    - port: dns\n      protocol: UDP\n    - port: dns-tcp\n",
    );
    let b = analyze(&pods, &namespaces, &[q]);
    assert_eq!(b.pod_ports(("dns", "client"), ("dns", "coredns")).unwrap().to_string(), "TCP 53; UDP 53");
}

#[test]
fn a_port_entry_without_a_number_opens_every_port_of_its_protocol() {
    let namespaces = vec![namespace("a", &[])];
    let pods = vec![pod("a", "x", &[("app", "x")]), pod("a", "y", &[])];
    let p = policy(
        "metadata: {name: udp, namespace: a}\nspec:\n  podSelector: {matchLabels: {app: x}}\n  ingress:\n  - ports:\n    - protocol: UDP\n",
    );
    let a = analyze(&pods, &namespaces, &[p]);
    assert_eq!(a.pod_ports(("a", "y"), ("a", "x")), Some(PortSet::range(Proto::Udp, 1, 65535)));
}

#[test]
fn an_ip_block_with_except_stays_outside_the_pod_matrix() {
    // Assumption under test: ipBlock peers never match cluster pods.
    let namespaces = vec![namespace("a", &[]), namespace("b", &[])];
    let pods = vec![pod("a", "x", &[]), pod("b", "y", &[])];
    let p = policy(
        r#"
metadata: {name: cidr, namespace: a}
spec:
  podSelector: {}
  ingress:
  - from:
    - ipBlock:
        cidr: 0.0.0.0/0
        except: [10.0.0.0/8]
"#,
    );
    let a = analyze(&pods, &namespaces, &[p]);
    assert!(a.namespace_ports("b", "a").unwrap().is_empty());
    let g = &a.groups[a.group_of_pod("a", "x").unwrap()];
    assert_eq!(
        g.external_ingress.as_ref().unwrap()[0],
        ("addresses 0.0.0.0/0 except 10.0.0.0/8".into(), "all".into())
    );
}

#[test]
fn a_policy_that_selects_nothing_isolates_nothing() {
    let namespaces = vec![namespace("shop", &[]), namespace("x", &[])];
    let pods = vec![pod("shop", "api", &[("app", "api")]), pod("x", "y", &[])];
    // A typo: "ap" instead of "app".
    let typo = policy("metadata: {name: deny-api, namespace: shop}\nspec:\n  podSelector: {matchLabels: {ap: api}}\n  policyTypes: [Ingress, Egress]\n");
    let a = analyze(&pods, &namespaces, &[typo]);
    assert!(a.policies[0].selected_groups.is_empty());
    assert_eq!(a.policies[0].selected_pods, 0);
    assert!(a.namespace_ports("x", "shop").unwrap().is_all());
    assert!(a.groups[a.group_of_pod("shop", "api").unwrap()].selected_by.is_empty());
}

#[test]
fn traffic_needs_both_the_sources_egress_and_the_destinations_ingress() {
    let namespaces = vec![namespace("a", &[]), namespace("b", &[])];
    let pods = vec![pod("a", "x", &[]), pod("b", "y", &[])];
    // a's egress allows b on TCP 80-90; b's ingress allows a on TCP 85-100 and UDP 53.
    let eg = policy(
        r#"
metadata: {name: eg, namespace: a}
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress:
  - to: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: b}}}]
    ports: [{port: 80, endPort: 90}]
"#,
    );
    let ing = policy(
        r#"
metadata: {name: ing, namespace: b}
spec:
  podSelector: {}
  ingress:
  - from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: a}}}]
    ports: [{port: 85, endPort: 100}, {port: 53, protocol: UDP}]
"#,
    );
    let policies = vec![eg, ing];
    let a = analyze(&pods, &namespaces, &policies);
    assert_eq!(a.namespace_ports("a", "b").unwrap().to_string(), "TCP 85-90");
    assert_eq!(a.pod_ports(("a", "x"), ("b", "y")), Some(PortSet::range(Proto::Tcp, 85, 90)));
    for (port, proto, expected) in
        [(84, "TCP", false), (85, "TCP", true), (90, "TCP", true), (91, "TCP", false), (53, "UDP", false)]
    {
        assert_eq!(
            naive_allowed(&policies, &namespaces, &pods[0], &pods[1], proto, port),
            expected,
            "{proto} {port}"
        );
    }
    // b → a: b's egress is open, a's ingress is not isolated.
    assert!(a.namespace_ports("b", "a").unwrap().is_all());
}

#[test]
fn host_network_pods_are_left_out_and_counted() {
    let namespaces = vec![namespace("kube-system", &[])];
    let mut proxy = pod("kube-system", "kube-proxy-1", &[("k8s-app", "kube-proxy")]);
    proxy.host_network = true;
    let pods = vec![proxy, pod("kube-system", "coredns", &[("k8s-app", "kube-dns")])];
    let a = analyze(&pods, &namespaces, &[]);
    let ns = &a.namespaces[a.namespace_index("kube-system").unwrap()];
    assert_eq!((ns.pods, ns.host_network_pods), (1, 1));
    assert!(a.group_of_pod("kube-system", "kube-proxy-1").is_none());
}
