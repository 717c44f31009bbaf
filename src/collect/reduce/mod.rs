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
//!
//! The reducer and its cross-kind rules live here; per-kind reduction in `kinds`, JSON field helpers
//! in `fields`, the kubeadm-config evidence in `kubeadm`, managed providers in `managed`.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::snapshot::{
    Binding, ClusterInfo, Component, ComponentKind, ConfigFile, ConfigForm, ContainerPort, ControlPlane,
    Evidence, EvidenceState, FilePurpose, Flags, Gap, GapReason, IpBlock, KubeVersion, Kubelet,
    LabelSelector, Labels, Namespace, NetworkPolicy, NetworkPolicyPeer, NetworkPolicyPort, NetworkPolicyRule,
    Node, NodeAddress, Origin, OwnerRef, Pod, PolicyRule, PortRef, Role, RoleRef, SecretMeta,
    SelectorRequirement, ServiceAccount, Snapshot, Subject, Workload,
};

mod fields;
mod kinds;
mod kubeadm;
mod managed;
pub mod redact;
#[cfg(test)]
mod tests;

use fields::*;
pub use kinds::{
    component_from_pod, reduce_binding, reduce_network_policy, reduce_node, reduce_pod, reduce_role,
    reduce_secret, reduce_selector, reduce_workload,
};
pub use kubeadm::kubeadm_components;
use managed::managed_provider;

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
    kubelet_configs: BTreeMap<String, (Value, ConfigForm)>,
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

    /// Add a static pod manifest read from a control-plane node (`node` from the dump layout) or
    /// from a directory with no node level (`node` `None`, e.g. a Git repository of manifests).
    /// `file` is where it was read: a node-less manifest whose pod has no name is named by it.
    pub fn add_static_pod(&mut self, obj: &Value, node: Option<&str>, file: Option<&str>) {
        match component_from_pod(obj, node, self.origin.clone()) {
            Some(mut component) => {
                if component.node.is_none() && name(obj).is_empty() {
                    if let Some(stem) = file.map(file_stem).filter(|s| !s.is_empty()) {
                        component.name = stem.to_string();
                    }
                }
                self.components.push((ComponentSource::Manifest, component))
            }
            None => self.gaps.push(Gap {
                what: format!("static pod {}", name(obj)),
                reason: GapReason::Error,
                detail: "the manifest runs no recognized control-plane component".into(),
            }),
        }
    }

    /// Add a node's KubeletConfiguration (from `/configz` or a file).
    pub fn add_kubelet_config(&mut self, node: &str, mut config: Value, form: ConfigForm) {
        // `/configz` serves the settings without the type header a config file carries: drop it
        // so both sources give the same evidence.
        if let Value::Object(map) = &mut config {
            map.remove("kind");
            map.remove("apiVersion");
        }
        self.kubelet_configs.insert(node.to_string(), (config, form));
    }

    /// Add a configuration file read from a node; its purpose comes from the component flag that
    /// names it (unknown files are kept as `Other`).
    pub fn add_node_file(&mut self, node: &str, path: &str, content: String) {
        self.files.push(ConfigFile {
            node: Some(node.to_string()),
            path: path.to_string(),
            purpose: FilePurpose::Other,
            origin: self.origin.clone(),
            content: redact::config_file(&content),
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
        let text = redact::config_file(text);
        match serde_yaml::from_str::<Value>(&text) {
            Ok(config) => {
                self.files.push(ConfigFile {
                    node: None,
                    path: "configmaps/kube-system/kubeadm-config#ClusterConfiguration".into(),
                    purpose: FilePurpose::KubeadmClusterConfiguration,
                    origin: self.origin.clone(),
                    content: text,
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
            let (config, config_form) = match self.kubelet_configs.remove(node) {
                Some((config, form)) => (Some(config), form),
                None => (None, ConfigForm::default()),
            };
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
                config_form,
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

/// `manifests/kube-apiserver-a.yaml` → `kube-apiserver-a`.
pub(crate) fn file_stem(path: &str) -> &str {
    let file = path.rsplit('/').next().unwrap_or(path);
    file.rsplit_once('.').map(|(stem, _)| stem).unwrap_or(file)
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
    // Names already given to node-less manifests, to keep each one's name unique.
    let mut nodeless_names: BTreeSet<String> = BTreeSet::new();
    for (src, mut c) in found {
        let key = (c.kind, c.node.clone());
        // kube-proxy pods on one node are one component per pod name (rolling updates leave two).
        if c.kind == ComponentKind::KubeProxy && src == ComponentSource::ApiPod {
            out.push(c);
            continue;
        }
        // A manifest with no node (a directory of manifests without node levels) is its own
        // component: three API servers' manifests are three API servers, never one by kind.
        if src == ComponentSource::Manifest && c.node.is_none() {
            let base = c.name.clone();
            let mut n = 1;
            while !nodeless_names.insert(c.name.clone()) {
                n += 1;
                c.name = format!("{base}-{n}");
            }
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
// Cross-kind rules

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

/// Add the control-plane components the node agents read from their static pod manifests, for
/// nodes whose components the API did not show (no mirror pods, or kube-system not readable).
/// A component the API already showed on that node is kept as it is.
pub fn add_agent_components(snapshot: &mut Snapshot) {
    let mut added = Vec::new();
    for r in &snapshot.hosts.items {
        let origin = Origin::new(crate::snapshot::Source::NodeAgent, r.received_at);
        for m in &r.facts.manifests {
            let Some(c) = component_from_pod(&m.pod, Some(&r.node), origin.clone()) else { continue };
            let known = snapshot
                .components
                .items
                .iter()
                .chain(&added)
                .any(|x: &Component| x.kind == c.kind && x.node.as_deref() == Some(r.node.as_str()));
            if !known {
                added.push(c);
            }
        }
    }
    if added.is_empty() {
        return;
    }
    if matches!(snapshot.components.state, EvidenceState::NotCollected) {
        snapshot.components.state = EvidenceState::Complete;
    }
    snapshot.components.items.extend(added);
}
