//! The examples of the Kubernetes NetworkPolicy documentation
//! (kubernetes.io/docs/concepts/services-networking/network-policies/), each checked against the
//! meaning the documentation gives it.

use palisade::analysis::netpol::{analyze, Direction, PortSet, Proto};

use super::netpol_support::{namespace, pod, pod_with_ports, policy};

const TEST_NETWORK_POLICY: &str = r#"
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: test-network-policy
  namespace: default
spec:
  podSelector:
    matchLabels:
      role: db
  policyTypes:
  - Ingress
  - Egress
  ingress:
  - from:
    - ipBlock:
        cidr: 172.17.0.0/16
        except:
        - 172.17.1.0/24
    - namespaceSelector:
        matchLabels:
          project: myproject
    - podSelector:
        matchLabels:
          role: frontend
    ports:
    - protocol: TCP
      port: 6379
  egress:
  - to:
    - ipBlock:
        cidr: 10.0.0.0/24
    ports:
    - protocol: TCP
      port: 5978
"#;

#[test]
fn the_documented_test_network_policy_admits_frontend_and_myproject_pods_to_db_on_6379_only() {
    let namespaces = vec![
        namespace("default", &[]),
        namespace("myproject", &[("project", "myproject")]),
        namespace("other", &[]),
    ];
    let pods = vec![
        pod_with_ports("default", "db", &[("role", "db")], &[("redis", 6379, "TCP")]),
        pod("default", "frontend", &[("role", "frontend")]),
        pod("default", "backend", &[("role", "backend")]),
        pod("myproject", "anything", &[("app", "x")]),
        pod("other", "frontend", &[("role", "frontend")]),
    ];
    let a = analyze(&pods, &namespaces, &[policy(TEST_NETWORK_POLICY)]);
    let tcp6379 = PortSet::single(Proto::Tcp, 6379);

    // "isolates role=db pods in the default namespace for both ingress and egress traffic"
    let db = &a.groups[a.group_of_pod("default", "db").unwrap()];
    assert!(db.ingress_isolated && db.egress_isolated);
    // "(Ingress rules) allows connections to all pods in the default namespace with the label
    // role=db on TCP port 6379 from: any pod in the default namespace with the label
    // role=frontend; any pod in a namespace with the label project=myproject"
    assert_eq!(a.pod_ports(("default", "frontend"), ("default", "db")), Some(tcp6379.clone()));
    assert_eq!(a.pod_ports(("myproject", "anything"), ("default", "db")), Some(tcp6379.clone()));
    // Not from other pods of default, nor from role=frontend pods of a namespace without the label.
    assert_eq!(a.pod_ports(("default", "backend"), ("default", "db")), Some(PortSet::none()));
    assert_eq!(a.pod_ports(("other", "frontend"), ("default", "db")), Some(PortSet::none()));
    // "IP addresses in the ranges 172.17.0.0–172.17.0.255 and 172.17.2.0–172.17.255.255"
    let ext = db.external_ingress.as_ref().unwrap();
    assert_eq!(ext.len(), 1);
    assert_eq!(ext[0].0, "addresses 172.17.0.0/16 except 172.17.1.0/24");
    assert_eq!(ext[0].1, "TCP 6379");
    // "(Egress rules) allows connections from any pod in the default namespace with the label
    // role=db to CIDR 10.0.0.0/24 on TCP port 5978" — and to no cluster pod.
    assert_eq!(
        db.external_egress.as_ref().unwrap(),
        &vec![("addresses 10.0.0.0/24".to_string(), "TCP 5978".to_string())]
    );
    assert_eq!(a.pod_ports(("default", "db"), ("default", "frontend")), Some(PortSet::none()));
    // Pods the policy does not select stay open.
    assert_eq!(a.pod_ports(("other", "frontend"), ("default", "backend")), Some(PortSet::all()));
    // The matrix: myproject reaches default (db on 6379, others on everything).
    assert_eq!(a.namespace_ports("myproject", "default"), Some(&PortSet::all()));
    assert_eq!(a.namespace_ports("default", "other"), Some(&PortSet::all()));
}

#[test]
fn one_element_with_both_selectors_means_and_two_elements_mean_or() {
    let and = policy(
        r#"
metadata: {name: and, namespace: default}
spec:
  podSelector: {matchLabels: {app: server}}
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {user: alice}}
      podSelector: {matchLabels: {role: client}}
"#,
    );
    let or = policy(
        r#"
metadata: {name: or, namespace: default}
spec:
  podSelector: {matchLabels: {app: server}}
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {user: alice}}
    - podSelector: {matchLabels: {role: client}}
"#,
    );
    let namespaces = vec![namespace("default", &[]), namespace("alice", &[("user", "alice")])];
    let pods = vec![
        pod("default", "server", &[("app", "server")]),
        pod("default", "client", &[("role", "client")]),
        pod("alice", "client", &[("role", "client")]),
        pod("alice", "other", &[("role", "other")]),
    ];
    let a = analyze(&pods, &namespaces, &[and]);
    // "allowing connections from Pods with the label role=client in namespaces with the label user=alice"
    assert!(a.pod_ports(("alice", "client"), ("default", "server")).unwrap().is_all());
    assert!(a.pod_ports(("alice", "other"), ("default", "server")).unwrap().is_empty());
    assert!(a.pod_ports(("default", "client"), ("default", "server")).unwrap().is_empty());

    let o = analyze(&pods, &namespaces, &[or]);
    // "allows connections from Pods in the local Namespace with the label role=client, or from
    // any Pod in any namespace with the label user=alice"
    assert!(o.pod_ports(("alice", "client"), ("default", "server")).unwrap().is_all());
    assert!(o.pod_ports(("alice", "other"), ("default", "server")).unwrap().is_all());
    assert!(o.pod_ports(("default", "client"), ("default", "server")).unwrap().is_all());
}

#[test]
fn default_deny_ingress_isolates_every_pod_for_ingress_but_not_for_egress() {
    let deny = policy(
        "metadata: {name: default-deny-ingress}\nspec:\n  podSelector: {}\n  policyTypes: [Ingress]\n",
    );
    let namespaces = vec![namespace("default", &[]), namespace("web", &[])];
    let pods = vec![pod("default", "a", &[("app", "a")]), pod("default", "b", &[]), pod("web", "w", &[])];
    let a = analyze(&pods, &namespaces, &[deny]);
    let d = a.namespace_index("default").unwrap();
    // "even Pods that aren't selected by any other NetworkPolicy will still be isolated for ingress"
    assert!(a
        .groups
        .iter()
        .filter(|g| g.namespace as usize == d)
        .all(|g| g.ingress_isolated && !g.egress_isolated));
    assert!(a.default_deny(d, Direction::Ingress).is_some());
    assert!(a.default_deny(d, Direction::Egress).is_none());
    assert!(a.namespace_ports("web", "default").unwrap().is_empty());
    assert!(a.namespace_ports("default", "default").unwrap().is_empty());
    // "This policy does not affect isolation for egress from any Pod."
    assert!(a.namespace_ports("default", "web").unwrap().is_all());
}

#[test]
fn allow_all_ingress_cannot_be_narrowed_by_other_policies() {
    let deny = policy("metadata: {name: deny}\nspec:\n  podSelector: {}\n  policyTypes: [Ingress]\n");
    let allow = policy(
        "metadata: {name: allow-all-ingress}\nspec:\n  podSelector: {}\n  ingress:\n  - {}\n  policyTypes: [Ingress]\n",
    );
    let namespaces = vec![namespace("default", &[]), namespace("x", &[])];
    let pods = vec![pod("default", "a", &[]), pod("x", "b", &[])];
    let a = analyze(&pods, &namespaces, &[deny, allow]);
    // "no additional policy or policies can cause any incoming connection to those Pods to be denied"
    assert!(a.groups[a.group_of_pod("default", "a").unwrap()].ingress_isolated);
    assert!(a.namespace_ports("x", "default").unwrap().is_all());
    // The allow-all policy is not a default deny itself; the namespace's deny policy still is.
    assert_eq!(
        a.default_deny(a.namespace_index("default").unwrap(), Direction::Ingress).unwrap().name,
        "deny"
    );
}

#[test]
fn default_deny_egress_and_allow_all_egress_behave_as_documented() {
    let deny =
        policy("metadata: {name: default-deny-egress}\nspec:\n  podSelector: {}\n  policyTypes: [Egress]\n");
    let allow =
        policy("metadata: {name: allow-all-egress}\nspec:\n  podSelector: {}\n  egress:\n  - {}\n  policyTypes: [Egress]\n");
    let namespaces = vec![namespace("default", &[]), namespace("x", &[])];
    let pods = vec![pod("default", "a", &[]), pod("x", "b", &[])];

    let a = analyze(&pods, &namespaces, std::slice::from_ref(&deny));
    // "ensures that even Pods that aren't selected by any other NetworkPolicy will not be allowed egress traffic"
    assert!(a.namespace_ports("default", "x").unwrap().is_empty());
    assert!(a.namespace_ports("x", "default").unwrap().is_all(), "ingress is not affected");
    let g = &a.groups[a.group_of_pod("default", "a").unwrap()];
    assert!(g.egress_isolated && !g.ingress_isolated);

    let b = analyze(&pods, &namespaces, &[deny, allow]);
    // allow-all-egress: "no additional policy or policies can cause any outgoing connection from those Pods to be denied"
    assert!(b.namespace_ports("default", "x").unwrap().is_all());
    assert_eq!(
        b.groups[b.group_of_pod("default", "a").unwrap()].external_egress.as_ref().unwrap()[0].0,
        "any address"
    );
}

#[test]
fn default_deny_all_blocks_both_directions() {
    let deny = policy(
        "metadata: {name: default-deny-all}\nspec:\n  podSelector: {}\n  policyTypes:\n  - Ingress\n  - Egress\n",
    );
    let namespaces = vec![namespace("default", &[]), namespace("x", &[])];
    let pods = vec![pod("default", "a", &[]), pod("default", "b", &[("k", "v")]), pod("x", "c", &[])];
    let a = analyze(&pods, &namespaces, &[deny]);
    assert!(a.namespace_ports("default", "default").unwrap().is_empty());
    assert!(a.namespace_ports("default", "x").unwrap().is_empty());
    assert!(a.namespace_ports("x", "default").unwrap().is_empty());
    assert!(a.namespace_ports("x", "x").unwrap().is_all());
    let d = a.namespace_index("default").unwrap();
    assert_eq!(a.default_deny(d, Direction::Ingress).unwrap().name, "default-deny-all");
    assert_eq!(a.default_deny(d, Direction::Egress).unwrap().name, "default-deny-all");
}

#[test]
fn the_documented_port_range_allows_32000_to_32768_over_tcp() {
    let multi = policy(
        r#"
metadata: {name: multi-port-egress, namespace: default}
spec:
  podSelector: {matchLabels: {role: db}}
  policyTypes: [Egress]
  egress:
  - to:
    - ipBlock: {cidr: 10.0.0.0/24}
    ports:
    - protocol: TCP
      port: 32000
      endPort: 32768
"#,
    );
    let namespaces = vec![namespace("default", &[])];
    let pods = vec![pod("default", "db", &[("role", "db")]), pod("default", "web", &[])];
    let a = analyze(&pods, &namespaces, &[multi]);
    let db = &a.groups[a.group_of_pod("default", "db").unwrap()];
    // "communicate with any IP within the range 10.0.0.0/24 over TCP, provided that the target
    // port is between the range 32000 and 32768"
    assert_eq!(
        db.external_egress.as_ref().unwrap(),
        &vec![("addresses 10.0.0.0/24".to_string(), "TCP 32000-32768".to_string())]
    );
    // ipBlock is outside the cluster (our stated assumption): no pod-to-pod egress from db.
    assert!(a.pod_ports(("default", "db"), ("default", "web")).unwrap().is_empty());
}

#[test]
fn a_namespace_can_be_targeted_by_its_automatic_name_label() {
    let p = policy(
        r#"
metadata: {name: from-monitoring, namespace: app}
spec:
  podSelector: {}
  ingress:
  - from:
    - namespaceSelector:
        matchLabels:
          kubernetes.io/metadata.name: monitoring
"#,
    );
    // The monitoring namespace as a source wrote it: without the label the API server adds.
    let namespaces = vec![
        palisade::snapshot::Namespace { name: "monitoring".into(), labels: Default::default() },
        namespace("app", &[]),
        namespace("other", &[]),
    ];
    let pods = vec![pod("monitoring", "prom", &[]), pod("app", "api", &[]), pod("other", "x", &[])];
    let a = analyze(&pods, &namespaces, &[p]);
    assert!(a.namespace_ports("monitoring", "app").unwrap().is_all());
    assert!(a.namespace_ports("other", "app").unwrap().is_empty());
}
