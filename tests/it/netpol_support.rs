//! Builders for the network-policy tests: policies written as Kubernetes manifests (YAML, as in
//! the documentation), pods, namespaces, complete snapshots — and a naive, pod-by-pod reading of
//! the NetworkPolicy rules, written independently of `analysis::netpol`, used as an oracle.

use chrono::{TimeZone, Utc};
use palisade::snapshot::{
    ClusterInfo, ContainerPort, Evidence, IpBlock, LabelSelector, Labels, Namespace, NetworkPolicy,
    NetworkPolicyPeer, NetworkPolicyPort, NetworkPolicyRule, Origin, Pod, PortRef, SelectorRequirement,
    Snapshot, Source, Workload,
};
use serde_json::Value;

pub fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

pub fn namespace(name: &str, pairs: &[(&str, &str)]) -> Namespace {
    let mut l = labels(pairs);
    l.insert("kubernetes.io/metadata.name".into(), name.into());
    Namespace { name: name.into(), labels: l }
}

pub fn pod(ns: &str, name: &str, pairs: &[(&str, &str)]) -> Pod {
    Pod {
        namespace: ns.into(),
        name: name.into(),
        labels: labels(pairs),
        owner: None,
        service_account: "default".into(),
        automount_token: None,
        host_network: false,
        host_pid: false,
        host_ipc: false,
        privileged: false,
        host_ports: vec![],
        container_ports: vec![],
        node: None,
        images: vec![],
    }
}

/// A pod with container ports `(name, number, protocol)`; an empty name means unnamed.
pub fn pod_with_ports(ns: &str, name: &str, pairs: &[(&str, &str)], ports: &[(&str, u16, &str)]) -> Pod {
    let mut p = pod(ns, name, pairs);
    p.container_ports = ports
        .iter()
        .map(|(n, port, proto)| ContainerPort {
            name: (!n.is_empty()).then(|| n.to_string()),
            port: *port,
            protocol: proto.to_string(),
        })
        .collect();
    p
}

fn selector(v: &Value) -> LabelSelector {
    let match_labels = v
        .get("matchLabels")
        .and_then(Value::as_object)
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string())).collect())
        .unwrap_or_default();
    let match_expressions = v
        .get("matchExpressions")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|e| SelectorRequirement {
                    key: e["key"].as_str().unwrap().into(),
                    operator: e["operator"].as_str().unwrap().into(),
                    values: e
                        .get("values")
                        .and_then(Value::as_array)
                        .map(|v| v.iter().map(|s| s.as_str().unwrap().to_string()).collect())
                        .unwrap_or_default(),
                })
                .collect()
        })
        .unwrap_or_default();
    LabelSelector { match_labels, match_expressions }
}

fn rules(v: Option<&Value>, field: &str) -> Option<Vec<NetworkPolicyRule>> {
    let arr = v?.as_array()?;
    Some(
        arr.iter()
            .map(|r| NetworkPolicyRule {
                peers: r.get(field).and_then(Value::as_array).map(|peers| {
                    peers
                        .iter()
                        .map(|p| NetworkPolicyPeer {
                            pod_selector: p.get("podSelector").map(selector),
                            namespace_selector: p.get("namespaceSelector").map(selector),
                            ip_block: p.get("ipBlock").map(|b| IpBlock {
                                cidr: b["cidr"].as_str().unwrap().into(),
                                except: b
                                    .get("except")
                                    .and_then(Value::as_array)
                                    .map(|e| e.iter().map(|s| s.as_str().unwrap().to_string()).collect())
                                    .unwrap_or_default(),
                            }),
                        })
                        .collect()
                }),
                ports: r.get("ports").and_then(Value::as_array).map(|ports| {
                    ports
                        .iter()
                        .map(|p| NetworkPolicyPort {
                            protocol: p.get("protocol").and_then(Value::as_str).map(str::to_string),
                            port: p.get("port").map(|x| match x {
                                Value::Number(n) => PortRef::Number(n.as_u64().unwrap() as u16),
                                Value::String(s) => PortRef::Name(s.clone()),
                                other => panic!("bad port {other}"),
                            }),
                            end_port: p.get("endPort").and_then(Value::as_u64).map(|n| n as u16),
                        })
                        .collect()
                }),
            })
            .collect(),
    )
}

/// A NetworkPolicy from its manifest (namespace `default` when the manifest names none).
pub fn policy(yaml: &str) -> NetworkPolicy {
    let v: Value = serde_yaml::from_str(yaml).expect("valid YAML");
    let spec = &v["spec"];
    NetworkPolicy {
        namespace: v["metadata"].get("namespace").and_then(Value::as_str).unwrap_or("default").into(),
        name: v["metadata"]["name"].as_str().unwrap().into(),
        pod_selector: spec.get("podSelector").map(selector).unwrap_or_default(),
        policy_types: spec
            .get("policyTypes")
            .and_then(Value::as_array)
            .map(|a| a.iter().map(|s| s.as_str().unwrap().to_string()).collect()),
        ingress: rules(spec.get("ingress"), "from"),
        egress: rules(spec.get("egress"), "to"),
    }
}

/// A snapshot with complete pods, namespaces and policies (and the given DaemonSets).
pub fn snapshot(
    namespaces: Vec<Namespace>,
    pods: Vec<Pod>,
    policies: Vec<NetworkPolicy>,
    daemonsets: Vec<Workload>,
) -> Snapshot {
    let at = Utc.with_ymd_and_hms(2026, 11, 1, 12, 0, 0).unwrap();
    let origin = Origin::new(Source::Dump, at);
    let mut s = Snapshot::new(ClusterInfo { name: "test".into(), ..Default::default() }, at);
    s.namespaces = Evidence::complete(origin.clone(), namespaces);
    s.pods = Evidence::complete(origin.clone(), pods);
    s.network_policies = Evidence::complete(origin.clone(), policies);
    s.daemonsets = Evidence::complete(origin, daemonsets);
    s
}

pub fn daemonset(ns: &str, name: &str, images: &[&str]) -> Workload {
    Workload {
        kind: "DaemonSet".into(),
        namespace: ns.into(),
        name: name.into(),
        labels: Labels::new(),
        images: images.iter().map(|s| s.to_string()).collect(),
    }
}

// ------------------------------------------------------------------------------------------
// The oracle: one connection at a time, straight from the API's documented rules.
// ------------------------------------------------------------------------------------------

fn ns_labels<'a>(namespaces: &'a [Namespace], name: &str) -> &'a Labels {
    &namespaces.iter().find(|n| n.name == name).expect("namespace listed").labels
}

fn types(p: &NetworkPolicy) -> (bool, bool) {
    match &p.policy_types {
        Some(t) if !t.is_empty() => (t.contains(&"Ingress".to_string()), t.contains(&"Egress".to_string())),
        _ => (true, p.egress.as_ref().is_some_and(|e| !e.is_empty())),
    }
}

fn peer_matches(peer: &NetworkPolicyPeer, policy_ns: &str, other: &Pod, namespaces: &[Namespace]) -> bool {
    if peer.ip_block.is_some() {
        return false;
    }
    match (&peer.namespace_selector, &peer.pod_selector) {
        (None, None) => false,
        (None, Some(ps)) => other.namespace == policy_ns && ps.matches(&other.labels),
        (Some(ns), ps) => {
            ns.matches(ns_labels(namespaces, &other.namespace))
                && ps.as_ref().is_none_or(|ps| ps.matches(&other.labels))
        }
    }
}

fn port_matches(ports: &Option<Vec<NetworkPolicyPort>>, dst: &Pod, proto: &str, port: u16) -> bool {
    let Some(ports) = ports.as_ref().filter(|p| !p.is_empty()) else { return true };
    ports.iter().any(|p| {
        if p.protocol.as_deref().unwrap_or("TCP") != proto {
            return false;
        }
        match &p.port {
            None => true,
            Some(PortRef::Number(n)) => port >= *n && port <= p.end_port.unwrap_or(*n).max(*n),
            Some(PortRef::Name(name)) => dst
                .container_ports
                .iter()
                .any(|c| c.name.as_deref() == Some(name.as_str()) && c.protocol == proto && c.port == port),
        }
    })
}

/// Whether `src` may open a `proto`/`port` connection to `dst` under `policies`.
pub fn naive_allowed(
    policies: &[NetworkPolicy],
    namespaces: &[Namespace],
    src: &Pod,
    dst: &Pod,
    proto: &str,
    port: u16,
) -> bool {
    let mut ingress_isolated = false;
    let mut ingress_ok = false;
    let mut egress_isolated = false;
    let mut egress_ok = false;
    for p in policies {
        let (ing, eg) = types(p);
        if ing && p.namespace == dst.namespace && p.pod_selector.matches(&dst.labels) {
            ingress_isolated = true;
            for rule in p.ingress.iter().flatten() {
                let peer_ok = match &rule.peers {
                    None => true,
                    Some(peers) if peers.is_empty() => true,
                    Some(peers) => peers.iter().any(|peer| peer_matches(peer, &p.namespace, src, namespaces)),
                };
                if peer_ok && port_matches(&rule.ports, dst, proto, port) {
                    ingress_ok = true;
                }
            }
        }
        if eg && p.namespace == src.namespace && p.pod_selector.matches(&src.labels) {
            egress_isolated = true;
            for rule in p.egress.iter().flatten() {
                let peer_ok = match &rule.peers {
                    None => true,
                    Some(peers) if peers.is_empty() => true,
                    Some(peers) => peers.iter().any(|peer| peer_matches(peer, &p.namespace, dst, namespaces)),
                };
                if peer_ok && port_matches(&rule.ports, dst, proto, port) {
                    egress_ok = true;
                }
            }
        }
    }
    (!ingress_isolated || ingress_ok) && (!egress_isolated || egress_ok)
}
