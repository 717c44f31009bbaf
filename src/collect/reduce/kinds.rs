//! Per-kind reduction: one function per Kubernetes kind, from its API JSON to the snapshot item
//! checks use. A Secret's data never leaves [`reduce_secret`].

use super::*;

/// A Node.
pub fn reduce_node(obj: &Value) -> Node {
    let labels = labels_at(obj, &["metadata", "labels"]);
    let mut roles: Vec<String> = labels
        .keys()
        .filter_map(|k| k.strip_prefix("node-role.kubernetes.io/"))
        .filter(|r| !r.is_empty())
        .map(str::to_string)
        .collect();
    if let Some(role) = labels.get("kubernetes.io/role") {
        if !roles.contains(role) {
            roles.push(role.clone());
        }
    }
    let status = obj.get("status").cloned().unwrap_or(Value::Null);
    Node {
        name: name(obj),
        roles,
        addresses: array(&status, "addresses")
            .iter()
            .map(|a| NodeAddress {
                kind: str_at(a, &["type"]).into(),
                address: str_at(a, &["address"]).into(),
            })
            .collect(),
        kubelet_version: str_at(&status, &["nodeInfo", "kubeletVersion"]).into(),
        os_image: str_at(&status, &["nodeInfo", "osImage"]).into(),
        container_runtime: str_at(&status, &["nodeInfo", "containerRuntimeVersion"]).into(),
        kubelet_port: status
            .pointer("/daemonEndpoints/kubeletEndpoint/Port")
            .and_then(Value::as_u64)
            .and_then(|p| u16::try_from(p).ok())
            .filter(|p| *p != 0),
        labels,
    }
}

fn containers(spec: &Value) -> impl Iterator<Item = &Value> {
    array(spec, "initContainers")
        .iter()
        .chain(array(spec, "containers"))
        .chain(array(spec, "ephemeralContainers"))
}

/// A Pod, reduced to what checks use.
pub fn reduce_pod(obj: &Value) -> Pod {
    let spec = obj.get("spec").unwrap_or(&Value::Null);
    let owners = array(obj.get("metadata").unwrap_or(&Value::Null), "ownerReferences");
    let owner = owners
        .iter()
        .find(|o| o.get("controller").and_then(Value::as_bool) == Some(true))
        .or_else(|| owners.first())
        .map(|o| OwnerRef { kind: str_at(o, &["kind"]).into(), name: str_at(o, &["name"]).into() });
    let service_account = [str_at(spec, &["serviceAccountName"]), str_at(spec, &["serviceAccount"])]
        .into_iter()
        .find(|s| !s.is_empty())
        .unwrap_or("default")
        .to_string();
    let mut host_ports = Vec::new();
    let mut container_ports = Vec::new();
    let mut images = Vec::new();
    let mut privileged = false;
    for c in containers(spec) {
        if c.pointer("/securityContext/privileged").and_then(Value::as_bool) == Some(true) {
            privileged = true;
        }
        let image = str_at(c, &["image"]);
        if !image.is_empty() && !images.iter().any(|i| i == image) {
            images.push(image.to_string());
        }
        for p in array(c, "ports") {
            if let Some(hp) = port_u16(p.get("hostPort")).filter(|p| *p != 0) {
                host_ports.push(hp);
            }
            if let Some(port) = port_u16(p.get("containerPort")) {
                container_ports.push(ContainerPort {
                    name: p.get("name").and_then(Value::as_str).map(str::to_string),
                    port,
                    protocol: p.get("protocol").and_then(Value::as_str).unwrap_or("TCP").to_string(),
                });
            }
        }
    }
    let flag = |k: &str| spec.get(k).and_then(Value::as_bool).unwrap_or(false);
    Pod {
        namespace: namespace(obj),
        name: name(obj),
        labels: labels_at(obj, &["metadata", "labels"]),
        owner,
        service_account,
        automount_token: spec.get("automountServiceAccountToken").and_then(Value::as_bool),
        host_network: flag("hostNetwork"),
        host_pid: flag("hostPID"),
        host_ipc: flag("hostIPC"),
        privileged,
        host_ports,
        container_ports,
        node: spec.get("nodeName").and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string),
        images,
    }
}

/// The component a pod runs, with its flags and environment, if any container is a known
/// component (by container name, then by the binary in `command`).
pub fn component_from_pod(obj: &Value, node: Option<&str>, origin: Origin) -> Option<Component> {
    let spec = obj.get("spec")?;
    let found = array(spec, "containers").iter().find_map(|c| {
        let by_name = ComponentKind::recognize(str_at(c, &["name"]));
        let by_command =
            array(c, "command").first().and_then(Value::as_str).and_then(ComponentKind::recognize);
        // `registry.k8s.io/kube-proxy:v1.31.4` → `kube-proxy` (a container named `proxy` is common).
        let by_image = c
            .get("image")
            .and_then(Value::as_str)
            .map(|i| i.split('@').next().unwrap_or(i))
            .map(|i| i.rsplit('/').next().unwrap_or(i))
            .map(|i| i.split(':').next().unwrap_or(i))
            .and_then(ComponentKind::recognize);
        by_name.or(by_command).or(by_image).map(|k| (k, c))
    });
    let (kind, container) = found?;
    let mut tokens: Vec<String> = strings(container, "command");
    tokens.extend(strings(container, "args"));
    // `sh -c "exec kube-apiserver --flag …"`: `from_container` splits the script as the shell does.
    let env = array(container, "env")
        .iter()
        .filter_map(|e| {
            // valueFrom (secret or config map references) is not a value: leave it out rather than
            // read what it points to.
            let value = e.get("value")?.as_str()?;
            Some((str_at(e, &["name"]).to_string(), value.to_string()))
        })
        .collect();
    let env = super::redact::environment(env);
    let node = node.map(str::to_string).or_else(|| {
        spec.get("nodeName").and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string)
    });
    let pod_name = name(obj);
    // The kubelet puts a static pod without a namespace into `default`.
    let namespace = str_at(obj, &["metadata", "namespace"]);
    let namespace = if namespace.is_empty() { "default" } else { namespace };
    Some(Component {
        kind,
        name: if pod_name.is_empty() { kind.as_str().to_string() } else { pod_name },
        namespace: Some(namespace.to_string()),
        node,
        origin,
        flags: Flags::from_container(crate::snapshot::Program::Component(kind), &tokens),
        env,
    })
}

/// A Secret's metadata; the data never leaves this function.
pub fn reduce_secret(obj: &Value) -> SecretMeta {
    let mut annotations = labels_at(obj, &["metadata", "annotations"]);
    annotations.remove(LAST_APPLIED);
    SecretMeta {
        namespace: namespace(obj),
        name: name(obj),
        type_: obj.get("type").and_then(Value::as_str).unwrap_or("Opaque").to_string(),
        annotations,
    }
}

/// A `metav1.LabelSelector` from its API shape.
pub fn reduce_selector(v: &Value) -> LabelSelector {
    LabelSelector {
        match_labels: labels_at(v, &["matchLabels"]),
        match_expressions: array(v, "matchExpressions")
            .iter()
            .map(|r| SelectorRequirement {
                key: str_at(r, &["key"]).into(),
                operator: str_at(r, &["operator"]).into(),
                values: strings(r, "values"),
            })
            .collect(),
    }
}

/// A Role (`namespaced`) or ClusterRole.
pub fn reduce_role(obj: &Value, namespaced: bool) -> Role {
    let aggregation = obj
        .get("aggregationRule")
        .filter(|a| !a.is_null())
        .map(|a| array(a, "clusterRoleSelectors").iter().map(reduce_selector).collect());
    Role {
        namespace: namespaced.then(|| namespace(obj)),
        name: name(obj),
        labels: labels_at(obj, &["metadata", "labels"]),
        rules: array(obj, "rules")
            .iter()
            .map(|r| PolicyRule {
                verbs: strings(r, "verbs"),
                api_groups: strings(r, "apiGroups"),
                resources: strings(r, "resources"),
                resource_names: strings(r, "resourceNames"),
                non_resource_urls: strings(r, "nonResourceURLs"),
            })
            .collect(),
        aggregation,
    }
}

/// A RoleBinding (`namespaced`) or ClusterRoleBinding.
pub fn reduce_binding(obj: &Value, namespaced: bool) -> Binding {
    let role_ref = obj.get("roleRef").unwrap_or(&Value::Null);
    Binding {
        namespace: namespaced.then(|| namespace(obj)),
        name: name(obj),
        role_ref: RoleRef {
            kind: str_at(role_ref, &["kind"]).into(),
            name: str_at(role_ref, &["name"]).into(),
        },
        subjects: array(obj, "subjects")
            .iter()
            .map(|s| Subject {
                kind: str_at(s, &["kind"]).into(),
                name: str_at(s, &["name"]).into(),
                namespace: s
                    .get("namespace")
                    .and_then(Value::as_str)
                    .filter(|n| !n.is_empty())
                    .map(str::to_string),
            })
            .collect(),
    }
}

fn reduce_netpol_rule(rule: &Value, peers_key: &str) -> NetworkPolicyRule {
    NetworkPolicyRule {
        peers: rule.get(peers_key).filter(|p| !p.is_null()).map(|_| {
            array(rule, peers_key)
                .iter()
                .map(|p| NetworkPolicyPeer {
                    pod_selector: p.get("podSelector").filter(|s| !s.is_null()).map(reduce_selector),
                    namespace_selector: p
                        .get("namespaceSelector")
                        .filter(|s| !s.is_null())
                        .map(reduce_selector),
                    ip_block: p
                        .get("ipBlock")
                        .filter(|s| !s.is_null())
                        .map(|b| IpBlock { cidr: str_at(b, &["cidr"]).into(), except: strings(b, "except") }),
                })
                .collect()
        }),
        ports: rule.get("ports").filter(|p| !p.is_null()).map(|_| {
            array(rule, "ports")
                .iter()
                .map(|p| NetworkPolicyPort {
                    protocol: p.get("protocol").and_then(Value::as_str).map(str::to_string),
                    port: match p.get("port") {
                        Some(Value::Number(n)) => {
                            n.as_u64().and_then(|n| u16::try_from(n).ok()).map(PortRef::Number)
                        }
                        Some(Value::String(s)) => Some(match s.parse::<u16>() {
                            Ok(n) => PortRef::Number(n),
                            Err(_) => PortRef::Name(s.clone()),
                        }),
                        _ => None,
                    },
                    end_port: port_u16(p.get("endPort")),
                })
                .collect()
        }),
    }
}

/// A NetworkPolicy, keeping the difference between omitted and empty lists.
pub fn reduce_network_policy(obj: &Value) -> NetworkPolicy {
    let spec = obj.get("spec").unwrap_or(&Value::Null);
    let rules = |key: &str, peers: &str| {
        spec.get(key)
            .filter(|r| !r.is_null())
            .map(|_| array(spec, key).iter().map(|r| reduce_netpol_rule(r, peers)).collect())
    };
    NetworkPolicy {
        namespace: namespace(obj),
        name: name(obj),
        pod_selector: spec.get("podSelector").map(reduce_selector).unwrap_or_default(),
        policy_types: opt_strings(spec, "policyTypes"),
        ingress: rules("ingress", "from"),
        egress: rules("egress", "to"),
    }
}

/// A DaemonSet (or other workload controller).
pub fn reduce_workload(obj: &Value) -> Workload {
    let pod_spec = obj.pointer("/spec/template/spec").unwrap_or(&Value::Null);
    let mut images: Vec<String> = Vec::new();
    for c in containers(pod_spec) {
        let image = str_at(c, &["image"]);
        if !image.is_empty() && !images.iter().any(|i| i == image) {
            images.push(image.to_string());
        }
    }
    Workload {
        kind: str_at(obj, &["kind"]).into(),
        namespace: namespace(obj),
        name: name(obj),
        labels: labels_at(obj, &["metadata", "labels"]),
        images,
    }
}
