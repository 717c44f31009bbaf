//! Reduction of raw Kubernetes objects (JSON as the API serves them) into snapshot items.
//!
//! Both collectors feed objects through a [`Reducer`] one at a time (the live collector page by
//! page as they arrive), so memory holds reduced items only, never whole object lists. The reducer
//! also owns the rules that cut across kinds: static pods and mirror pods become [`Component`]s
//! (de-duplicated), the kubeadm-config ConfigMap becomes secondary control-plane evidence, the CNI
//! is recognized from DaemonSets and pods (by [`crate::analysis::cni`]), and a managed control
//! plane is recognized from what is (not) visible.
//!
//! Secrets are reduced to metadata here, at the first point Palisade touches them: `data`,
//! `stringData` and the `last-applied-configuration` annotation (which holds the data too) are
//! never copied.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::snapshot::{
    Binding, ClusterInfo, Component, ComponentKind, ConfigFile, ContainerPort, ControlPlane, Evidence,
    EvidenceState, FilePurpose, Flags, Gap, GapReason, IpBlock, KubeVersion, Kubelet, LabelSelector, Labels,
    Namespace, NetworkPolicy, NetworkPolicyPeer, NetworkPolicyPort, NetworkPolicyRule, Node, NodeAddress,
    Origin, OwnerRef, Pod, PolicyRule, PortRef, Program, Role, RoleRef, SecretMeta, SelectorRequirement,
    ServiceAccount, Snapshot, Subject, Workload,
};

/// The annotation `kubectl apply` writes; on a Secret it holds the secret's data.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";
const MIRROR_ANNOTATION: &str = "kubernetes.io/config.mirror";

/// The evidence groups a collector fills, each with its own completeness state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Group {
    Nodes,
    Namespaces,
    Pods,
    ServiceAccounts,
    Secrets,
    Roles,
    ClusterRoles,
    RoleBindings,
    ClusterRoleBindings,
    NetworkPolicies,
    DaemonSets,
}

impl Group {
    pub const ALL: [Group; 11] = [
        Group::Nodes,
        Group::Namespaces,
        Group::Pods,
        Group::ServiceAccounts,
        Group::Secrets,
        Group::Roles,
        Group::ClusterRoles,
        Group::RoleBindings,
        Group::ClusterRoleBindings,
        Group::NetworkPolicies,
        Group::DaemonSets,
    ];

    /// The API resource name (`kubectl get <this>`), also used in gaps.
    pub fn resource(self) -> &'static str {
        match self {
            Group::Nodes => "nodes",
            Group::Namespaces => "namespaces",
            Group::Pods => "pods",
            Group::ServiceAccounts => "serviceaccounts",
            Group::Secrets => "secrets",
            Group::Roles => "roles",
            Group::ClusterRoles => "clusterroles",
            Group::RoleBindings => "rolebindings",
            Group::ClusterRoleBindings => "clusterrolebindings",
            Group::NetworkPolicies => "networkpolicies",
            Group::DaemonSets => "daemonsets",
        }
    }

    /// The object kind the group holds.
    pub fn kind(self) -> &'static str {
        match self {
            Group::Nodes => "Node",
            Group::Namespaces => "Namespace",
            Group::Pods => "Pod",
            Group::ServiceAccounts => "ServiceAccount",
            Group::Secrets => "Secret",
            Group::Roles => "Role",
            Group::ClusterRoles => "ClusterRole",
            Group::RoleBindings => "RoleBinding",
            Group::ClusterRoleBindings => "ClusterRoleBinding",
            Group::NetworkPolicies => "NetworkPolicy",
            Group::DaemonSets => "DaemonSet",
        }
    }

    /// The group an object kind belongs to.
    pub fn of_kind(kind: &str) -> Option<Group> {
        Group::ALL.into_iter().find(|g| g.kind() == kind)
    }
}

/// Where a component's pod was seen, which decides de-duplication.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ComponentSource {
    /// A static pod manifest file (authoritative: it is what the kubelet runs).
    Manifest,
    /// A pod seen through the API (mirror pod, kube-proxy DaemonSet pod).
    ApiPod,
}

/// Accumulates reduced items; [`Reducer::finish`] turns them into a [`Snapshot`].
#[derive(Debug)]
pub struct Reducer {
    origin: Origin,
    nodes: Vec<Node>,
    namespaces: Vec<Namespace>,
    pods: Vec<Pod>,
    service_accounts: Vec<ServiceAccount>,
    secrets: Vec<SecretMeta>,
    roles: Vec<Role>,
    cluster_roles: Vec<Role>,
    role_bindings: Vec<Binding>,
    cluster_role_bindings: Vec<Binding>,
    network_policies: Vec<NetworkPolicy>,
    daemonsets: Vec<Workload>,
    components: Vec<(ComponentSource, Component)>,
    kubelet_configs: BTreeMap<String, Value>,
    kubeadm_config: Option<Value>,
    files: Vec<ConfigFile>,
    /// Objects seen per group (to tell an empty dump group from a missing one).
    seen: BTreeMap<Group, usize>,
    /// Problems with single objects; they become gaps.
    pub gaps: Vec<Gap>,
}

/// Completeness of each group as the collector observed it, handed to [`Reducer::finish`].
#[derive(Debug, Clone, Default)]
pub struct GroupStates {
    pub states: BTreeMap<Group, EvidenceState>,
    /// Per-node kubelet configuration failures (node → state); nodes not listed and without a
    /// config are `not_collected`.
    pub kubelet_states: BTreeMap<String, EvidenceState>,
    /// Whether kube-system pods could be read (the precondition of managed-cluster detection).
    pub kube_system_pods_readable: bool,
    /// `GET /version`, when known.
    pub version: Option<KubeVersion>,
}

impl Reducer {
    pub fn new(origin: Origin) -> Self {
        Self {
            origin,
            nodes: Vec::new(),
            namespaces: Vec::new(),
            pods: Vec::new(),
            service_accounts: Vec::new(),
            secrets: Vec::new(),
            roles: Vec::new(),
            cluster_roles: Vec::new(),
            role_bindings: Vec::new(),
            cluster_role_bindings: Vec::new(),
            network_policies: Vec::new(),
            daemonsets: Vec::new(),
            components: Vec::new(),
            kubelet_configs: BTreeMap::new(),
            kubeadm_config: None,
            files: Vec::new(),
            seen: BTreeMap::new(),
            gaps: Vec::new(),
        }
    }

    /// Names of the nodes added so far.
    pub fn node_names(&self) -> Vec<String> {
        self.nodes.iter().map(|n| n.name.clone()).collect()
    }

    /// How many objects of a group were added.
    pub fn seen(&self, group: Group) -> usize {
        self.seen.get(&group).copied().unwrap_or(0)
    }

    /// Add one object as the API serves it. Kinds Palisade does not use are ignored; a ConfigMap
    /// is only kept when it is kube-system's `kubeadm-config`.
    pub fn add_object(&mut self, obj: &Value) {
        let kind = str_at(obj, &["kind"]);
        if let Some(group) = Group::of_kind(kind) {
            *self.seen.entry(group).or_default() += 1;
        }
        match kind {
            "Node" => self.nodes.push(reduce_node(obj)),
            "Namespace" => self
                .namespaces
                .push(Namespace { name: name(obj), labels: labels_at(obj, &["metadata", "labels"]) }),
            "Pod" => self.add_pod(obj),
            "ServiceAccount" => self.service_accounts.push(ServiceAccount {
                namespace: namespace(obj),
                name: name(obj),
                automount_token: obj.get("automountServiceAccountToken").and_then(Value::as_bool),
            }),
            "Secret" => self.secrets.push(reduce_secret(obj)),
            "Role" => self.roles.push(reduce_role(obj, true)),
            "ClusterRole" => self.cluster_roles.push(reduce_role(obj, false)),
            "RoleBinding" => self.role_bindings.push(reduce_binding(obj, true)),
            "ClusterRoleBinding" => self.cluster_role_bindings.push(reduce_binding(obj, false)),
            "NetworkPolicy" => self.network_policies.push(reduce_network_policy(obj)),
            "DaemonSet" => self.daemonsets.push(reduce_workload(obj)),
            "ConfigMap" if namespace(obj) == "kube-system" && name(obj) == "kubeadm-config" => {
                self.add_kubeadm_config(obj)
            }
            _ => {}
        }
    }

    fn add_pod(&mut self, obj: &Value) {
        let pod = reduce_pod(obj);
        if pod.namespace == "kube-system" {
            if let Some(component) = component_from_pod(obj, None, self.origin.clone()) {
                let mirror =
                    obj.pointer("/metadata/annotations").and_then(|a| a.get(MIRROR_ANNOTATION)).is_some()
                        || labels_at(obj, &["metadata", "labels"]).get("tier").map(String::as_str)
                            == Some("control-plane");
                // Control-plane components are only believed from mirror pods (a user's pod
                // named kube-apiserver-x is not the API server); kube-proxy runs as a DaemonSet.
                if mirror || component.kind == ComponentKind::KubeProxy {
                    self.components.push((ComponentSource::ApiPod, component));
                }
            }
        }
        self.pods.push(pod);
    }

    /// Add a static pod manifest read from a control-plane node (`node` from the dump layout).
    pub fn add_static_pod(&mut self, obj: &Value, node: Option<&str>) {
        match component_from_pod(obj, node, self.origin.clone()) {
            Some(component) => self.components.push((ComponentSource::Manifest, component)),
            None => self.gaps.push(Gap {
                what: format!("static pod {}", name(obj)),
                reason: GapReason::Error,
                detail: "the manifest runs no recognized control-plane component".into(),
            }),
        }
    }

    /// Add a node's KubeletConfiguration (from `/configz` or a file).
    pub fn add_kubelet_config(&mut self, node: &str, mut config: Value) {
        // `/configz` serves the settings without the type header a config file carries: drop it
        // so both sources give the same evidence.
        if let Value::Object(map) = &mut config {
            map.remove("kind");
            map.remove("apiVersion");
        }
        self.kubelet_configs.insert(node.to_string(), config);
    }

    /// Add a configuration file read from a node; its purpose comes from the component flag that
    /// names it (unknown files are kept as `Other`).
    pub fn add_node_file(&mut self, node: &str, path: &str, content: String) {
        self.files.push(ConfigFile {
            node: Some(node.to_string()),
            path: path.to_string(),
            purpose: FilePurpose::Other,
            origin: self.origin.clone(),
            content,
        });
    }

    fn add_kubeadm_config(&mut self, obj: &Value) {
        let Some(text) = obj.pointer("/data/ClusterConfiguration").and_then(Value::as_str) else {
            self.gaps.push(Gap {
                what: "configmaps/kube-system/kubeadm-config".into(),
                reason: GapReason::Error,
                detail: "the kubeadm-config ConfigMap has no ClusterConfiguration key".into(),
            });
            return;
        };
        match serde_yaml::from_str::<Value>(text) {
            Ok(config) => {
                self.files.push(ConfigFile {
                    node: None,
                    path: "configmaps/kube-system/kubeadm-config#ClusterConfiguration".into(),
                    purpose: FilePurpose::KubeadmClusterConfiguration,
                    origin: self.origin.clone(),
                    content: text.to_string(),
                });
                self.kubeadm_config = Some(config);
            }
            Err(e) => self.gaps.push(Gap {
                what: "configmaps/kube-system/kubeadm-config".into(),
                reason: GapReason::Error,
                detail: format!("the ClusterConfiguration is not valid YAML: {e}"),
            }),
        }
    }

    /// Absorb the items of another reducer (the live collector reduces each resource on its own).
    pub fn merge(&mut self, other: Reducer) {
        self.nodes.extend(other.nodes);
        self.namespaces.extend(other.namespaces);
        self.pods.extend(other.pods);
        self.service_accounts.extend(other.service_accounts);
        self.secrets.extend(other.secrets);
        self.roles.extend(other.roles);
        self.cluster_roles.extend(other.cluster_roles);
        self.role_bindings.extend(other.role_bindings);
        self.cluster_role_bindings.extend(other.cluster_role_bindings);
        self.network_policies.extend(other.network_policies);
        self.daemonsets.extend(other.daemonsets);
        self.components.extend(other.components);
        self.kubelet_configs.extend(other.kubelet_configs);
        if other.kubeadm_config.is_some() {
            self.kubeadm_config = other.kubeadm_config;
        }
        self.files.extend(other.files);
        for (group, n) in other.seen {
            *self.seen.entry(group).or_default() += n;
        }
        self.gaps.extend(other.gaps);
    }

    /// Build the snapshot. `states` says, per group, whether the collector read it completely.
    pub fn finish(mut self, cluster_name: &str, states: GroupStates) -> Snapshot {
        let origin = self.origin.clone();
        let mut snap = Snapshot::new(
            ClusterInfo {
                name: cluster_name.to_string(),
                version: states.version.clone(),
                ..Default::default()
            },
            origin.at,
        );
        let state = |g: Group| states.states.get(&g).cloned().unwrap_or(EvidenceState::NotCollected);
        fn group<T>(origin: &Origin, state: EvidenceState, mut items: Vec<T>) -> Evidence<T> {
            if !state.is_complete() && !matches!(state, EvidenceState::Unknown { .. }) {
                items.clear();
            }
            Evidence { origin: Some(origin.clone()), state, items }
        }

        // Components: manifests win over the mirror pods of the same component on the same node.
        let components = dedup_components(std::mem::take(&mut self.components));
        let has_control_plane = components.iter().any(|c| c.kind.is_control_plane());

        // CNI recognition needs DaemonSets and kube-system pods before they move into the snapshot.
        snap.cni = crate::analysis::cni::recognize(&self.daemonsets, &self.pods);

        let control_plane = if has_control_plane {
            ControlPlane::SelfManaged
        } else if let Some((provider, evidence)) =
            managed_provider(&self.nodes, &self.daemonsets, states.version.as_ref())
        {
            if states.kube_system_pods_readable {
                ControlPlane::Managed {
                    provider,
                    evidence: format!("no control-plane pods in kube-system; {evidence}"),
                }
            } else {
                ControlPlane::Unknown
            }
        } else if self.kubeadm_config.is_some() {
            // kubeadm installs a self-managed control plane even when its pods are not visible.
            ControlPlane::SelfManaged
        } else {
            ControlPlane::Unknown
        };

        // Secondary evidence: kubeadm's ClusterConfiguration tells how kubeadm rendered the
        // control plane when its static pods are not visible.
        let mut components = components;
        if !has_control_plane {
            if let Some(config) = &self.kubeadm_config {
                components.extend(kubeadm_components(config, &origin));
            }
        }
        let component_state = match (&control_plane, state(Group::Pods)) {
            (ControlPlane::SelfManaged, _) if !components.is_empty() => EvidenceState::Complete,
            (ControlPlane::Managed { provider, .. }, _) => EvidenceState::Unknown {
                reason: GapReason::NotCollected,
                detail: format!("the control plane is managed by {provider} and not visible to Palisade"),
            },
            (_, EvidenceState::Unknown { reason, detail }) => EvidenceState::Unknown {
                reason,
                detail: format!("control-plane pods could not be read: {detail}"),
            },
            _ => EvidenceState::Unknown {
                reason: GapReason::NotCollected,
                detail: "no control-plane component was visible (no static pod manifests, no mirror pods in \
                         kube-system, no kubeadm-config) and no managed provider was recognized"
                    .into(),
            },
        };
        if let EvidenceState::Unknown { reason, detail } = &component_state {
            if !matches!(control_plane, ControlPlane::Managed { .. }) {
                self.gaps.push(Gap {
                    what: "control-plane components".into(),
                    reason: *reason,
                    detail: detail.clone(),
                });
            }
        }
        if snap.cluster.version.is_none() {
            snap.cluster.version = version_from_nodes(&self.nodes);
        }
        snap.cluster.control_plane = control_plane;

        // Files: give referenced files their purpose from the flag that names them.
        for file in &mut self.files {
            if file.purpose == FilePurpose::Other {
                file.purpose = purpose_of(&components, file.node.as_deref(), &file.path);
            }
        }

        // Files a component names but the source could not read: say so, so a check on their
        // content answers `unknown` with this reason rather than guessing.
        for c in &components {
            for (kind, flag, _) in FILE_FLAGS {
                let Some(path) = c.flag(flag).filter(|_| c.kind == *kind) else { continue };
                let have = self
                    .files
                    .iter()
                    .any(|f| f.path == path && (f.node.is_none() || c.node.is_none() || f.node == c.node));
                if !have {
                    let source = match self.origin.source {
                        crate::snapshot::Source::Api => "the Kubernetes API does not serve node files",
                        _ => "the dump has no files/<node>/ copy of it",
                    };
                    self.gaps.push(Gap {
                        what: format!("file {}:{path}", c.node.as_deref().unwrap_or("*")),
                        reason: GapReason::NotCollected,
                        detail: format!("{} --{flag} names this file; {source}", c.describe()),
                    });
                }
            }
        }

        // Kubelets: one entry per known node, with its configuration or why it is missing.
        let mut kubelets = Vec::new();
        let mut node_names: BTreeSet<String> = self.nodes.iter().map(|n| n.name.clone()).collect();
        node_names.extend(self.kubelet_configs.keys().cloned());
        let versions: BTreeMap<&str, &str> =
            self.nodes.iter().map(|n| (n.name.as_str(), n.kubelet_version.as_str())).collect();
        let mut missing: Vec<(String, GapReason, String)> = Vec::new();
        for node in &node_names {
            let config = self.kubelet_configs.remove(node);
            let config_state = match (&config, states.kubelet_states.get(node)) {
                (Some(_), _) => EvidenceState::Complete,
                (None, Some(s)) => s.clone(),
                (None, None) => EvidenceState::Unknown {
                    reason: GapReason::NotCollected,
                    detail: format!("no kubelet configuration was collected for node {node}"),
                },
            };
            if let EvidenceState::Unknown { reason, detail } = &config_state {
                missing.push((node.clone(), *reason, detail.clone()));
            }
            kubelets.push(Kubelet {
                node: node.clone(),
                origin: origin.clone(),
                config,
                config_state,
                flags: None,
                version: versions.get(node.as_str()).filter(|v| !v.is_empty()).map(|v| v.to_string()),
            });
        }
        let kubelet_state = match missing.first() {
            None if !kubelets.is_empty() => EvidenceState::Complete,
            None => EvidenceState::Unknown {
                reason: GapReason::NotCollected,
                detail: "no node is known, so no kubelet configuration was read".into(),
            },
            Some((_, reason, detail)) if missing.len() == kubelets.len() => {
                EvidenceState::Unknown { reason: *reason, detail: detail.clone() }
            }
            Some((_, reason, _)) => EvidenceState::Unknown {
                reason: *reason,
                detail: format!(
                    "the kubelet configuration of {} of {} nodes could not be read",
                    missing.len(),
                    kubelets.len()
                ),
            },
        };
        // One gap per failing node would be 5,000 gaps on a large cluster: summarize past a few.
        for (node, reason, detail) in missing.iter().take(20) {
            self.gaps.push(Gap {
                what: format!("nodes/{node}/proxy/configz"),
                reason: *reason,
                detail: detail.clone(),
            });
        }
        if missing.len() > 20 {
            self.gaps.push(Gap {
                what: "nodes/*/proxy/configz".into(),
                reason: missing[20].1,
                detail: format!("{} more nodes without kubelet configuration", missing.len() - 20),
            });
        }

        for g in Group::ALL {
            if let EvidenceState::Unknown { reason, detail } = state(g) {
                self.gaps.push(Gap { what: g.resource().into(), reason, detail });
            }
        }

        // A stable order whatever the source or page order, so snapshots of the same cluster
        // compare and diff cleanly.
        self.nodes.sort_by(|a, b| a.name.cmp(&b.name));
        self.namespaces.sort_by(|a, b| a.name.cmp(&b.name));
        self.pods.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
        self.service_accounts.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
        self.secrets.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
        for roles in [&mut self.roles, &mut self.cluster_roles] {
            roles.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
        }
        for bindings in [&mut self.role_bindings, &mut self.cluster_role_bindings] {
            bindings.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
        }
        self.network_policies.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
        self.daemonsets.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
        self.files.sort_by(|a, b| (&a.node, &a.path).cmp(&(&b.node, &b.path)));
        components.sort_by(|a, b| (a.kind, &a.node, &a.name).cmp(&(b.kind, &b.node, &b.name)));

        snap.components =
            Evidence { origin: Some(origin.clone()), state: component_state, items: components };
        snap.kubelets = Evidence { origin: Some(origin.clone()), state: kubelet_state, items: kubelets };
        snap.nodes = group(&origin, state(Group::Nodes), self.nodes);
        snap.namespaces = group(&origin, state(Group::Namespaces), self.namespaces);
        snap.pods = group(&origin, state(Group::Pods), self.pods);
        snap.service_accounts = group(&origin, state(Group::ServiceAccounts), self.service_accounts);
        snap.secrets = group(&origin, state(Group::Secrets), self.secrets);
        snap.roles = group(&origin, state(Group::Roles), self.roles);
        snap.cluster_roles = group(&origin, state(Group::ClusterRoles), self.cluster_roles);
        snap.role_bindings = group(&origin, state(Group::RoleBindings), self.role_bindings);
        snap.cluster_role_bindings =
            group(&origin, state(Group::ClusterRoleBindings), self.cluster_role_bindings);
        snap.network_policies = group(&origin, state(Group::NetworkPolicies), self.network_policies);
        snap.daemonsets = group(&origin, state(Group::DaemonSets), self.daemonsets);
        snap.files = self.files;
        snap.gaps = self.gaps;
        snap
    }
}

fn version_from_nodes(nodes: &[Node]) -> Option<KubeVersion> {
    // The lowest kubelet version is not the server's; only used when /version is unknown (dumps),
    // and only when every node agrees.
    let mut versions = nodes.iter().map(|n| n.kubelet_version.as_str()).filter(|v| !v.is_empty());
    let first = versions.next()?;
    if versions.any(|v| v != first) {
        return None;
    }
    parse_git_version(first)
}

/// Parse `v1.31.4` (or `v1.31.4-eks-abc`) into a [`KubeVersion`].
pub fn parse_git_version(git: &str) -> Option<KubeVersion> {
    let rest = git.strip_prefix('v').unwrap_or(git);
    let mut parts = rest.split(['.', '-', '+']);
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.trim_end_matches('+').parse().ok()?;
    Some(KubeVersion { major, minor, git_version: git.to_string() })
}

fn dedup_components(mut found: Vec<(ComponentSource, Component)>) -> Vec<Component> {
    // Manifests first so they win; then the mirror pod of the same (kind, node) is dropped.
    found.sort_by_key(|(src, c)| (c.kind, c.node.clone(), *src != ComponentSource::Manifest, c.name.clone()));
    let mut seen: BTreeSet<(ComponentKind, Option<String>)> = BTreeSet::new();
    let mut out = Vec::new();
    let mirror_names: BTreeMap<(ComponentKind, Option<String>), String> = found
        .iter()
        .filter(|(src, c)| *src == ComponentSource::ApiPod && c.node.is_some())
        .map(|(_, c)| ((c.kind, c.node.clone()), c.name.clone()))
        .collect();
    for (src, mut c) in found {
        let key = (c.kind, c.node.clone());
        // kube-proxy pods on one node are one component per pod name (rolling updates leave two).
        if c.kind == ComponentKind::KubeProxy && src == ComponentSource::ApiPod {
            out.push(c);
            continue;
        }
        if !seen.insert(key.clone()) {
            continue;
        }
        if src == ComponentSource::Manifest {
            // Name it as kubectl shows it (the mirror pod's name) when the mirror pod was seen.
            if let Some(mirror) = mirror_names.get(&key) {
                c.name = mirror.clone();
            } else if let Some(node) = &c.node {
                if !c.name.ends_with(&format!("-{node}")) {
                    c.name = format!("{}-{node}", c.name);
                }
            }
        }
        out.push(c);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Field helpers

fn str_at<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    let mut cur = v;
    for p in path {
        match cur.get(p) {
            Some(next) => cur = next,
            None => return "",
        }
    }
    cur.as_str().unwrap_or("")
}

fn name(obj: &Value) -> String {
    str_at(obj, &["metadata", "name"]).to_string()
}

fn namespace(obj: &Value) -> String {
    str_at(obj, &["metadata", "namespace"]).to_string()
}

fn labels_at(v: &Value, path: &[&str]) -> Labels {
    let mut cur = v;
    for p in path {
        match cur.get(p) {
            Some(next) => cur = next,
            None => return Labels::new(),
        }
    }
    string_map(cur)
}

fn string_map(v: &Value) -> Labels {
    v.as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

fn array<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key).and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[])
}

fn strings(v: &Value, key: &str) -> Vec<String> {
    array(v, key).iter().map(|s| s.as_str().map(str::to_string).unwrap_or_else(|| s.to_string())).collect()
}

fn opt_strings(v: &Value, key: &str) -> Option<Vec<String>> {
    v.get(key).filter(|x| !x.is_null()).map(|_| strings(v, key))
}

fn port_u16(v: Option<&Value>) -> Option<u16> {
    v.and_then(Value::as_u64).and_then(|n| u16::try_from(n).ok())
}

// ---------------------------------------------------------------------------------------------
// Per-kind reduction

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
    let node = node.map(str::to_string).or_else(|| {
        spec.get("nodeName").and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string)
    });
    let pod_name = name(obj);
    Some(Component {
        kind,
        name: if pod_name.is_empty() { kind.as_str().to_string() } else { pod_name },
        node,
        origin,
        flags: Flags::from_container(Program::Component(kind), &tokens),
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

// ---------------------------------------------------------------------------------------------
// Cross-kind rules

/// A managed provider recognized from node labels, system DaemonSets or the server version.
fn managed_provider(
    nodes: &[Node],
    daemonsets: &[Workload],
    version: Option<&KubeVersion>,
) -> Option<(String, String)> {
    let label_hint = |prefix: &str| {
        nodes.iter().find_map(|n| {
            n.labels.keys().find(|k| k.starts_with(prefix)).map(|k| (n.name.clone(), k.clone()))
        })
    };
    if let Some((node, label)) = label_hint("eks.amazonaws.com/") {
        return Some(("EKS".into(), format!("node {node} has label {label}")));
    }
    if let Some(ds) = daemonsets.iter().find(|d| d.namespace == "kube-system" && d.name == "aws-node") {
        return Some(("EKS".into(), format!("DaemonSet {}/{} (Amazon VPC CNI)", ds.namespace, ds.name)));
    }
    if let Some((node, label)) = label_hint("cloud.google.com/gke-") {
        return Some(("GKE".into(), format!("node {node} has label {label}")));
    }
    if let Some((node, label)) = label_hint("kubernetes.azure.com/") {
        return Some(("AKS".into(), format!("node {node} has label {label}")));
    }
    let git = version.map(|v| v.git_version.as_str()).unwrap_or("");
    if git.contains("-eks-") {
        return Some(("EKS".into(), format!("server version {git}")));
    }
    if git.contains("-gke.") {
        return Some(("GKE".into(), format!("server version {git}")));
    }
    None
}

/// Flags naming configuration files, and what those files are for.
const FILE_FLAGS: &[(ComponentKind, &str, FilePurpose)] = &[
    (ComponentKind::KubeApiserver, "encryption-provider-config", FilePurpose::EncryptionConfig),
    (ComponentKind::KubeApiserver, "admission-control-config-file", FilePurpose::AdmissionConfig),
    (ComponentKind::KubeApiserver, "authorization-config", FilePurpose::AuthorizationConfig),
    (ComponentKind::KubeApiserver, "authentication-config", FilePurpose::AuthenticationConfig),
    (ComponentKind::KubeApiserver, "audit-policy-file", FilePurpose::AuditPolicy),
];

fn purpose_of(components: &[Component], node: Option<&str>, path: &str) -> FilePurpose {
    for (kind, flag, purpose) in FILE_FLAGS {
        let named = components
            .iter()
            .filter(|c| c.kind == *kind && (node.is_none() || c.node.is_none() || c.node.as_deref() == node))
            .any(|c| c.flag(flag).as_deref() == Some(path));
        if named {
            return *purpose;
        }
    }
    if path.ends_with("kubelet/config.yaml") {
        return FilePurpose::KubeletConfig;
    }
    FilePurpose::Other
}

/// `extraArgs` in either kubeadm API shape: v1beta3 map, v1beta4 list of `{name, value}`.
fn extra_args(section: Option<&Value>) -> Vec<(String, String)> {
    match section.and_then(|s| s.get("extraArgs")) {
        Some(Value::Object(m)) => m
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())))
            .collect(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|a| (str_at(a, &["name"]).to_string(), str_at(a, &["value"]).to_string()))
            .collect(),
        _ => Vec::new(),
    }
}

/// The control-plane command lines kubeadm renders from a ClusterConfiguration: kubeadm's own
/// flags (as of kubeadm 1.31) overridden by `extraArgs`. Used only when no static pod of the
/// component is visible, and named `kubeadm-config` so results say where they came from.
pub fn kubeadm_components(config: &Value, origin: &Origin) -> Vec<Component> {
    let pki =
        Some(str_at(config, &["certificatesDir"])).filter(|s| !s.is_empty()).unwrap_or("/etc/kubernetes/pki");
    let services = Some(str_at(config, &["networking", "serviceSubnet"]))
        .filter(|s| !s.is_empty())
        .unwrap_or("10.96.0.0/12");
    let cluster_name =
        Some(str_at(config, &["clusterName"])).filter(|s| !s.is_empty()).unwrap_or("kubernetes");
    let apiserver: Vec<String> = vec![
        "--allow-privileged=true".into(),
        "--authorization-mode=Node,RBAC".into(),
        format!("--client-ca-file={pki}/ca.crt"),
        "--enable-admission-plugins=NodeRestriction".into(),
        "--enable-bootstrap-token-auth=true".into(),
        format!("--etcd-cafile={pki}/etcd/ca.crt"),
        format!("--etcd-certfile={pki}/apiserver-etcd-client.crt"),
        format!("--etcd-keyfile={pki}/apiserver-etcd-client.key"),
        "--etcd-servers=https://127.0.0.1:2379".into(),
        format!("--kubelet-client-certificate={pki}/apiserver-kubelet-client.crt"),
        format!("--kubelet-client-key={pki}/apiserver-kubelet-client.key"),
        "--kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname".into(),
        format!("--proxy-client-cert-file={pki}/front-proxy-client.crt"),
        format!("--proxy-client-key-file={pki}/front-proxy-client.key"),
        "--requestheader-allowed-names=front-proxy-client".into(),
        format!("--requestheader-client-ca-file={pki}/front-proxy-ca.crt"),
        "--requestheader-extra-headers-prefix=X-Remote-Extra-".into(),
        "--requestheader-group-headers=X-Remote-Group".into(),
        "--requestheader-username-headers=X-Remote-User".into(),
        "--secure-port=6443".into(),
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local".into(),
        format!("--service-account-key-file={pki}/sa.pub"),
        format!("--service-account-signing-key-file={pki}/sa.key"),
        format!("--service-cluster-ip-range={services}"),
        format!("--tls-cert-file={pki}/apiserver.crt"),
        format!("--tls-private-key-file={pki}/apiserver.key"),
    ];
    let controller_manager: Vec<String> = vec![
        "--authentication-kubeconfig=/etc/kubernetes/controller-manager.conf".into(),
        "--authorization-kubeconfig=/etc/kubernetes/controller-manager.conf".into(),
        "--bind-address=127.0.0.1".into(),
        format!("--client-ca-file={pki}/ca.crt"),
        format!("--cluster-name={cluster_name}"),
        format!("--cluster-signing-cert-file={pki}/ca.crt"),
        format!("--cluster-signing-key-file={pki}/ca.key"),
        "--controllers=*,bootstrapsigner,tokencleaner".into(),
        "--kubeconfig=/etc/kubernetes/controller-manager.conf".into(),
        "--leader-elect=true".into(),
        format!("--requestheader-client-ca-file={pki}/front-proxy-ca.crt"),
        format!("--root-ca-file={pki}/ca.crt"),
        format!("--service-account-private-key-file={pki}/sa.key"),
        "--use-service-account-credentials=true".into(),
    ];
    let scheduler: Vec<String> = vec![
        "--authentication-kubeconfig=/etc/kubernetes/scheduler.conf".into(),
        "--authorization-kubeconfig=/etc/kubernetes/scheduler.conf".into(),
        "--bind-address=127.0.0.1".into(),
        "--kubeconfig=/etc/kubernetes/scheduler.conf".into(),
        "--leader-elect=true".into(),
    ];
    let etcd: Vec<String> = vec![
        format!("--cert-file={pki}/etcd/server.crt"),
        "--client-cert-auth=true".into(),
        "--data-dir=/var/lib/etcd".into(),
        format!("--key-file={pki}/etcd/server.key"),
        format!("--peer-cert-file={pki}/etcd/peer.crt"),
        "--peer-client-cert-auth=true".into(),
        format!("--peer-key-file={pki}/etcd/peer.key"),
        format!("--peer-trusted-ca-file={pki}/etcd/ca.crt"),
        format!("--trusted-ca-file={pki}/etcd/ca.crt"),
    ];
    let build = |kind: ComponentKind, base: Vec<String>, section: Option<&Value>| {
        let mut flags = Flags::parse(&base);
        // kubeadm replaces its own flag of that name; a v1beta4 list may repeat a name and every
        // entry is kept, in order (a slice flag then appends them).
        let extra = extra_args(section);
        for (k, _) in &extra {
            flags.remove(k);
        }
        for (k, v) in &extra {
            flags.push(k, Some(v));
        }
        Component {
            kind,
            name: "kubeadm-config".into(),
            node: None,
            origin: origin.clone(),
            flags,
            env: BTreeMap::new(),
        }
    };
    let mut out = vec![
        build(ComponentKind::KubeApiserver, apiserver, config.get("apiServer")),
        build(ComponentKind::KubeControllerManager, controller_manager, config.get("controllerManager")),
        build(ComponentKind::KubeScheduler, scheduler, config.get("scheduler")),
    ];
    // External etcd is not rendered by kubeadm: nothing to say about it from here.
    if config.pointer("/etcd/external").is_none() {
        out.push(build(ComponentKind::Etcd, etcd, config.pointer("/etcd/local")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::Source;
    use serde_json::json;

    fn origin() -> Origin {
        Origin::new(Source::Dump, chrono::Utc::now())
    }

    fn mirror_pod(node: &str) -> Value {
        json!({
            "kind": "Pod",
            "metadata": {"name": format!("kube-apiserver-{node}"), "namespace": "kube-system",
                "annotations": {"kubernetes.io/config.mirror": "abc"},
                "labels": {"component": "kube-apiserver", "tier": "control-plane"}},
            "spec": {"nodeName": node, "hostNetwork": true, "containers": [{"name": "kube-apiserver",
                "image": "registry.k8s.io/kube-apiserver:v1.31.4",
                "command": ["kube-apiserver", "--profiling=true", "--authorization-mode", "Node,RBAC"],
                "env": [{"name": "A", "value": "1"}, {"name": "S", "valueFrom": {"secretKeyRef": {"name": "x", "key": "y"}}}]}]}
        })
    }

    fn complete() -> GroupStates {
        GroupStates {
            states: Group::ALL.into_iter().map(|g| (g, EvidenceState::Complete)).collect(),
            kube_system_pods_readable: true,
            ..Default::default()
        }
    }

    #[test]
    fn a_mirror_pod_becomes_a_component_with_flags_and_plain_env() {
        let mut r = Reducer::new(origin());
        r.add_object(&mirror_pod("cp-1"));
        let snap = r.finish("c", complete());
        let api: Vec<_> = snap.components_of(ComponentKind::KubeApiserver).collect();
        assert_eq!(api.len(), 1);
        assert_eq!(api[0].node.as_deref(), Some("cp-1"));
        assert_eq!(api[0].flag("authorization-mode").as_deref(), Some("Node,RBAC"));
        assert_eq!(api[0].env.get("A").map(String::as_str), Some("1"));
        assert!(!api[0].env.contains_key("S"));
        assert_eq!(snap.cluster.control_plane, ControlPlane::SelfManaged);
        assert!(snap.components.is_complete());
        assert_eq!(snap.pods.len(), 1, "the mirror pod is a pod too");
    }

    #[test]
    fn a_manifest_and_its_mirror_pod_are_one_component_and_the_manifest_wins() {
        let mut r = Reducer::new(origin());
        r.add_object(&mirror_pod("cp-1"));
        let mut manifest = mirror_pod("cp-1");
        manifest["metadata"] = json!({"name": "kube-apiserver", "namespace": "kube-system"});
        manifest["spec"]["containers"][0]["command"] = json!(["kube-apiserver", "--profiling=false"]);
        r.add_static_pod(&manifest, Some("cp-1"));
        let snap = r.finish("c", complete());
        let api: Vec<_> = snap.components_of(ComponentKind::KubeApiserver).collect();
        assert_eq!(api.len(), 1);
        assert_eq!(api[0].flag("profiling").as_deref(), Some("false"));
        assert_eq!(api[0].name, "kube-apiserver-cp-1");
    }

    #[test]
    fn a_config_file_named_by_a_flag_but_not_collected_is_a_gap() {
        let mut pod = mirror_pod("cp-1");
        pod["spec"]["containers"][0]["command"] =
            json!(["kube-apiserver", "--encryption-provider-config=/etc/kubernetes/enc.yaml"]);
        let mut r = Reducer::new(Origin::new(Source::Api, chrono::Utc::now()));
        r.add_object(&pod);
        let snap = r.finish("c", complete());
        let gap = snap.gaps.iter().find(|g| g.what == "file cp-1:/etc/kubernetes/enc.yaml").expect("a gap");
        assert_eq!(gap.reason, GapReason::NotCollected);
        assert!(gap.detail.contains("--encryption-provider-config"), "{}", gap.detail);
    }

    #[test]
    fn a_user_pod_named_like_a_component_is_not_taken_for_the_control_plane() {
        let mut pod = mirror_pod("w-1");
        pod["metadata"] = json!({"name": "kube-apiserver-fake", "namespace": "kube-system"});
        let mut r = Reducer::new(origin());
        r.add_object(&pod);
        let snap = r.finish("c", complete());
        assert_eq!(snap.components_of(ComponentKind::KubeApiserver).count(), 0);
        assert_eq!(snap.cluster.control_plane, ControlPlane::Unknown);
        assert!(!snap.components.is_complete());
        assert!(snap.gaps.iter().any(|g| g.what == "control-plane components"));
    }

    #[test]
    fn secrets_keep_metadata_only() {
        let secret = json!({"kind": "Secret", "type": "kubernetes.io/service-account-token",
            "metadata": {"name": "s", "namespace": "n", "annotations": {
                "kubernetes.io/service-account.name": "default",
                "kubectl.kubernetes.io/last-applied-configuration": "{\"data\":{\"token\":\"c2VjcmV0\"}}"}},
            "data": {"token": "c2VjcmV0"}, "stringData": {"p": "secret"}});
        let meta = reduce_secret(&secret);
        let text = serde_json::to_string(&meta).unwrap();
        assert!(!text.contains("c2VjcmV0") && !text.contains("\"secret\""), "{text}");
        assert_eq!(meta.type_, "kubernetes.io/service-account-token");
        assert_eq!(meta.annotations.len(), 1);
    }

    #[test]
    fn an_eks_cluster_without_control_plane_pods_is_managed() {
        let mut r = Reducer::new(origin());
        r.add_object(&json!({"kind": "Node", "metadata": {"name": "ip-10-0-0-1",
            "labels": {"eks.amazonaws.com/nodegroup": "ng-1"}}, "status": {"nodeInfo": {"kubeletVersion": "v1.31.2-eks-1"}}}));
        r.add_object(&json!({"kind": "DaemonSet", "metadata": {"name": "aws-node", "namespace": "kube-system"},
            "spec": {"template": {"spec": {"containers": [{"name": "aws-node", "image": "amazon-k8s-cni:v1.18"}]}}}}));
        let snap = r.finish("c", complete());
        match &snap.cluster.control_plane {
            ControlPlane::Managed { provider, evidence } => {
                assert_eq!(provider, "EKS");
                assert!(evidence.contains("eks.amazonaws.com/nodegroup"), "{evidence}");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(snap.components.state, EvidenceState::Unknown { .. }));
        assert_eq!(snap.cni.unwrap().plugins, vec!["aws-vpc-cni".to_string()]);
    }

    #[test]
    fn network_policies_keep_omitted_and_empty_apart() {
        let np = reduce_network_policy(&json!({"kind": "NetworkPolicy",
            "metadata": {"name": "deny", "namespace": "a"},
            "spec": {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [
                {"from": [{"namespaceSelector": {"matchLabels": {"x": "y"}}}], "ports": [{"port": "http"}, {"port": 53, "protocol": "UDP"}]},
                {}]}}));
        assert!(np.pod_selector.is_empty());
        assert_eq!(np.egress, None);
        let ingress = np.ingress.unwrap();
        assert_eq!(ingress.len(), 2);
        assert_eq!(ingress[1].peers, None);
        let peer = &ingress[0].peers.as_ref().unwrap()[0];
        assert_eq!(peer.namespace_selector.as_ref().unwrap().match_labels.get("x").unwrap(), "y");
        let ports = ingress[0].ports.as_ref().unwrap();
        assert_eq!(ports[0].port, Some(PortRef::Name("http".into())));
        assert_eq!(ports[1].port, Some(PortRef::Number(53)));
    }

    #[test]
    fn kubeadm_config_gives_secondary_control_plane_evidence_when_no_pod_is_visible() {
        let cm = json!({"kind": "ConfigMap", "metadata": {"name": "kubeadm-config", "namespace": "kube-system"},
            "data": {"ClusterConfiguration": "apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\n\
apiServer:\n  extraArgs:\n  - name: profiling\n    value: \"false\"\n"}});
        let mut r = Reducer::new(origin());
        r.add_object(&cm);
        let snap = r.finish("c", complete());
        let api = snap.components_of(ComponentKind::KubeApiserver).next().unwrap();
        assert_eq!(api.name, "kubeadm-config");
        assert_eq!(api.flag("profiling").as_deref(), Some("false"));
        assert_eq!(api.flag("authorization-mode").as_deref(), Some("Node,RBAC"));
        assert_eq!(snap.cluster.control_plane, ControlPlane::SelfManaged);
        assert!(snap.files.iter().any(|f| f.purpose == FilePurpose::KubeadmClusterConfiguration));
    }

    #[test]
    fn cluster_role_aggregation_rules_are_kept() {
        let role = reduce_role(
            &json!({"kind": "ClusterRole", "metadata": {"name": "admin"}, "aggregationRule": {"clusterRoleSelectors": [
                {"matchLabels": {"rbac.authorization.k8s.io/aggregate-to-admin": "true"}}]}, "rules": null}),
            false,
        );
        assert_eq!(role.namespace, None);
        assert_eq!(role.aggregation.unwrap()[0].match_labels.len(), 1);
        assert!(role.rules.is_empty());
    }
}
