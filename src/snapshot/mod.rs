//! The evidence model: a normalized, compact record of what was observed in one cluster.
//!
//! A [`Snapshot`] holds no verdicts and does no I/O. Collectors (`collect::kube`,
//! `collect::dump`, agents) fill it; checks (`checks::*`) and analyses (`analysis::*`) read it.
//! Every group of items carries its [`Origin`] (where and when it was observed) and an
//! [`EvidenceState`] that says whether the group is complete or why it is missing, so a check can
//! answer `unknown` with a reason instead of passing silently.
//!
//! It serializes to and from JSON losslessly: it is stored per scan and shipped by agents.

mod fixtures;
pub mod flags;
pub mod host;
pub mod probe;
mod selector;

pub use fixtures::kubeadm_kubelet_config;
pub use flags::{kind_of, parse_go_bool, shell_words, Flag, FlagKind, FlagValue, Flags, Program, Word};
pub use selector::{LabelSelector, SelectorRequirement};

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Labels or annotations of an object, ordered for stable output.
pub type Labels = BTreeMap<String, String>;

/// Version of the snapshot JSON layout. Bump when a change is not backward compatible.
pub const SNAPSHOT_SCHEMA_VERSION: u32 = 1;

/// Where a piece of evidence came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    /// Read through the Kubernetes API.
    Api,
    /// Read from files (a `kubectl get -o yaml` dump, static pod manifests).
    Dump,
    /// Reported by Palisade's node agent running on the node.
    NodeAgent,
    /// Observed by a live network probe (TLS handshake, SSH, HTTP).
    Probe,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Api => "api",
            Source::Dump => "dump",
            Source::NodeAgent => "node-agent",
            Source::Probe => "probe",
        }
    }
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where and when a group of evidence was observed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    pub source: Source,
    pub at: DateTime<Utc>,
}

impl Origin {
    pub fn new(source: Source, at: DateTime<Utc>) -> Self {
        Self { source, at }
    }
}

/// Why evidence is missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GapReason {
    /// The API answered 403 for the identity Palisade uses.
    Forbidden,
    /// The resource or endpoint does not exist (404), e.g. an API group not served.
    NotFound,
    /// The request did not finish within its timeout.
    TimedOut,
    /// The cluster or node could not be reached at all.
    Unreachable,
    /// The source does not carry this evidence (e.g. a dump without static pod manifests,
    /// control-plane pods hidden by a managed provider).
    NotCollected,
    /// Anything else; the detail says what.
    Error,
}

impl GapReason {
    pub fn as_str(self) -> &'static str {
        match self {
            GapReason::Forbidden => "forbidden",
            GapReason::NotFound => "not_found",
            GapReason::TimedOut => "timed_out",
            GapReason::Unreachable => "unreachable",
            GapReason::NotCollected => "not_collected",
            GapReason::Error => "error",
        }
    }
}

impl std::fmt::Display for GapReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a group of evidence is complete.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum EvidenceState {
    /// Every item that exists was collected.
    Complete,
    /// Nothing (or not everything) could be collected; checks that need it answer `unknown`.
    Unknown { reason: GapReason, detail: String },
    /// The collector never tried (the default for a freshly built snapshot).
    #[default]
    NotCollected,
}

impl EvidenceState {
    pub fn is_complete(&self) -> bool {
        matches!(self, EvidenceState::Complete)
    }

    /// A sentence explaining why the evidence is not usable, or `None` when complete.
    pub fn missing_reason(&self) -> Option<String> {
        match self {
            EvidenceState::Complete => None,
            EvidenceState::Unknown { reason, detail } => Some(format!("{reason}: {detail}")),
            EvidenceState::NotCollected => Some("not_collected: this evidence was not collected".into()),
        }
    }
}

/// A list of items of one kind with where they came from and whether the list is complete.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(bound(serialize = "T: Serialize", deserialize = "T: Deserialize<'de>"))]
pub struct Evidence<T> {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<Origin>,
    #[serde(flatten)]
    pub state: EvidenceState,
    #[serde(default)]
    pub items: Vec<T>,
}

impl<T> Default for Evidence<T> {
    fn default() -> Self {
        Self { origin: None, state: EvidenceState::NotCollected, items: Vec::new() }
    }
}

impl<T> Evidence<T> {
    /// A complete list observed from `origin`.
    pub fn complete(origin: Origin, items: Vec<T>) -> Self {
        Self { origin: Some(origin), state: EvidenceState::Complete, items }
    }

    /// A list that could not be collected.
    pub fn unknown(origin: Option<Origin>, reason: GapReason, detail: impl Into<String>) -> Self {
        Self { origin, state: EvidenceState::Unknown { reason, detail: detail.into() }, items: Vec::new() }
    }

    pub fn is_complete(&self) -> bool {
        self.state.is_complete()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, T> {
        self.items.iter()
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

/// The whole evidence record for one cluster at one time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub schema_version: u32,
    pub collected_at: DateTime<Utc>,
    pub cluster: ClusterInfo,
    /// Control-plane and node components with their effective flags (one per instance).
    #[serde(default)]
    pub components: Evidence<Component>,
    /// Kubelet configuration, one entry per node.
    #[serde(default)]
    pub kubelets: Evidence<Kubelet>,
    #[serde(default)]
    pub nodes: Evidence<Node>,
    #[serde(default)]
    pub namespaces: Evidence<Namespace>,
    #[serde(default)]
    pub pods: Evidence<Pod>,
    #[serde(default)]
    pub service_accounts: Evidence<ServiceAccount>,
    /// Secrets as metadata only; Palisade never reads secret data.
    #[serde(default)]
    pub secrets: Evidence<SecretMeta>,
    /// Roles (namespaced) and ClusterRoles (`namespace == None`).
    #[serde(default)]
    pub roles: Evidence<Role>,
    #[serde(default)]
    pub cluster_roles: Evidence<Role>,
    /// RoleBindings (namespaced) and ClusterRoleBindings (`namespace == None`).
    #[serde(default)]
    pub role_bindings: Evidence<Binding>,
    #[serde(default)]
    pub cluster_role_bindings: Evidence<Binding>,
    #[serde(default)]
    pub network_policies: Evidence<NetworkPolicy>,
    /// DaemonSets in kube-system (and other system namespaces): used to recognize the CNI.
    #[serde(default)]
    pub daemonsets: Evidence<Workload>,
    /// The network plugin(s) recognized from `daemonsets` and kube-system pods.
    #[serde(default)]
    pub cni: Option<CniInfo>,
    /// Configuration files referenced by component flags (encryption, admission, authorization,
    /// audit policy) when the source could read them, and the kubeadm ClusterConfiguration.
    #[serde(default)]
    pub files: Vec<ConfigFile>,
    /// What live probes of the cluster's endpoints saw (TLS, unauthenticated HTTP, plain-text
    /// ports); `not_collected` when the scan did not probe.
    #[serde(default)]
    pub probes: probe::Probes,
    /// Each node's newest node-agent report (`not_collected` when no agent reports for the
    /// cluster).
    #[serde(default)]
    pub hosts: Evidence<host::HostReport>,
    /// Everything that could not be collected, and why, in the collector's words.
    #[serde(default)]
    pub gaps: Vec<Gap>,
}

impl Snapshot {
    /// An empty snapshot: every evidence group `not_collected`.
    pub fn new(cluster: ClusterInfo, collected_at: DateTime<Utc>) -> Self {
        Self {
            schema_version: SNAPSHOT_SCHEMA_VERSION,
            collected_at,
            cluster,
            components: Evidence::default(),
            kubelets: Evidence::default(),
            nodes: Evidence::default(),
            namespaces: Evidence::default(),
            pods: Evidence::default(),
            service_accounts: Evidence::default(),
            secrets: Evidence::default(),
            roles: Evidence::default(),
            cluster_roles: Evidence::default(),
            role_bindings: Evidence::default(),
            cluster_role_bindings: Evidence::default(),
            network_policies: Evidence::default(),
            daemonsets: Evidence::default(),
            cni: None,
            files: Vec::new(),
            probes: probe::Probes::default(),
            hosts: Evidence::default(),
            gaps: Vec::new(),
        }
    }

    /// Instances of one component kind (e.g. every kube-apiserver).
    pub fn components_of(&self, kind: ComponentKind) -> impl Iterator<Item = &Component> {
        self.components.items.iter().filter(move |c| c.kind == kind)
    }

    /// A referenced configuration file by path (and node, when known).
    pub fn file(&self, node: Option<&str>, path: &str) -> Option<&ConfigFile> {
        self.files
            .iter()
            .find(|f| f.path == path && (node.is_none() || f.node.is_none() || f.node.as_deref() == node))
    }

    pub fn to_json(&self) -> serde_json::Result<String> {
        serde_json::to_string(self)
    }

    pub fn from_json(text: &str) -> serde_json::Result<Self> {
        serde_json::from_str(text)
    }
}

/// What is known about the cluster as a whole.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ClusterInfo {
    /// The name the cluster is registered or scanned under.
    pub name: String,
    /// `GET /version` answer, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<KubeVersion>,
    /// Whether the control plane is visible (self-managed) or hidden by a provider.
    #[serde(default)]
    pub control_plane: ControlPlane,
    /// How the collector's own connection to the API server was secured: `Some(false)` when the
    /// cluster is registered with `insecure_skip_tls_verify` (its certificate was not verified),
    /// `None` when the source made no connection (a dump, an agent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_tls_verified: Option<bool>,
}

/// The Kubernetes server version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KubeVersion {
    pub major: u32,
    pub minor: u32,
    /// e.g. `v1.31.4`.
    pub git_version: String,
}

/// Visibility of the control plane.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ControlPlane {
    /// Control-plane static pods (or agent reports) are visible: checks can judge them.
    SelfManaged,
    /// A managed offering (EKS, GKE, AKS, …) hides the control plane: control-plane checks are
    /// `not_applicable`. `provider` names it when recognized.
    Managed { provider: String, evidence: String },
    /// Not determined (e.g. kube-system pods were forbidden).
    #[default]
    Unknown,
}

/// Which component a [`Component`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ComponentKind {
    KubeApiserver,
    Etcd,
    KubeControllerManager,
    KubeScheduler,
    KubeProxy,
}

impl ComponentKind {
    pub const ALL: [ComponentKind; 5] = [
        ComponentKind::KubeApiserver,
        ComponentKind::Etcd,
        ComponentKind::KubeControllerManager,
        ComponentKind::KubeScheduler,
        ComponentKind::KubeProxy,
    ];

    /// The binary / container name, e.g. `kube-apiserver`.
    pub fn as_str(self) -> &'static str {
        match self {
            ComponentKind::KubeApiserver => "kube-apiserver",
            ComponentKind::Etcd => "etcd",
            ComponentKind::KubeControllerManager => "kube-controller-manager",
            ComponentKind::KubeScheduler => "kube-scheduler",
            ComponentKind::KubeProxy => "kube-proxy",
        }
    }

    /// Recognize a component from a container name, binary path or static pod name.
    pub fn recognize(name: &str) -> Option<ComponentKind> {
        let base = name.rsplit('/').next().unwrap_or(name);
        ComponentKind::ALL
            .into_iter()
            .find(|k| base == k.as_str() || base.starts_with(&format!("{}-", k.as_str())))
    }

    /// True for the components that run only on control-plane nodes.
    pub fn is_control_plane(self) -> bool {
        !matches!(self, ComponentKind::KubeProxy)
    }
}

impl std::fmt::Display for ComponentKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One running instance of a component with its effective command line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Component {
    pub kind: ComponentKind,
    /// Pod name (e.g. `kube-apiserver-cp-1`) or process name for agent reports.
    pub name: String,
    /// The namespace of its pod (`kube-system` for kubeadm's static pods); `None` for a process
    /// reported by a node agent, which has no pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    pub origin: Origin,
    /// Effective flags from `command` + `args` (later occurrences win).
    pub flags: Flags,
    /// Container environment (etcd accepts `ETCD_*` variables in place of flags).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
}

impl Component {
    /// Effective value of a flag (without the leading dashes) as this component reads it: kinds,
    /// repeats and boolean spellings applied (see [`flags`]). `None` when absent or unknown.
    pub fn flag(&self, name: &str) -> Option<String> {
        self.flags.known(self.program(), name).map(|v| v.into_owned())
    }

    /// Effective value of a flag, or why it cannot be known.
    pub fn flag_value(&self, name: &str) -> FlagValue {
        self.flags.value(self.program(), name)
    }

    /// The flag table this component's command line is read with.
    pub fn program(&self) -> Program {
        Program::Component(self.kind)
    }

    /// Where this instance runs, for evidence sentences: "kube-apiserver on cp-1".
    pub fn describe(&self) -> String {
        match &self.node {
            Some(node) => format!("{} on {}", self.kind, node),
            None => format!("{} ({})", self.kind, self.name),
        }
    }
}

/// Kubelet configuration of one node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Kubelet {
    pub node: String,
    pub origin: Origin,
    /// The `KubeletConfiguration` (as served by `/configz` under `kubeletconfig`, or the config
    /// file), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<serde_json::Value>,
    /// Why `config` is missing, when it is.
    #[serde(default)]
    pub config_state: EvidenceState,
    /// Whether `config` is a file as written or the effective configuration `/configz` serves.
    #[serde(default)]
    pub config_form: ConfigForm,
    /// The kubelet command line, when known (node agent). Flags override the config file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flags: Option<Flags>,
    /// The kubelet version reported by the node, e.g. `v1.31.4`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// What a kubelet configuration is: the collectors record it, so the checks read every source with
/// one rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConfigForm {
    /// A `KubeletConfiguration` file as written (a dump's file, a node agent's read): the
    /// kubelet's v1beta1 defaulting has not been applied to it yet.
    #[default]
    File,
    /// What `/configz` serves: the configuration the kubelet runs with, defaults applied.
    Effective,
}

/// Where an effective kubelet setting came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SettingSource {
    CommandLine,
    ConfigFile,
}

impl Kubelet {
    /// The effective value of a setting: the command-line flag `flag` when present (it overrides
    /// the config file), else the config-file value at the dotted `path`
    /// (e.g. `authentication.anonymous.enabled`). Arrays are joined with commas.
    pub fn setting(&self, flag: &str, path: &str) -> Option<(String, SettingSource)> {
        if let Some(value) = self.flags.as_ref().and_then(|f| f.known(Program::Kubelet, flag)) {
            return Some((value.into_owned(), SettingSource::CommandLine));
        }
        let mut cur = self.config.as_ref()?;
        for part in path.split('.') {
            cur = cur.get(part)?;
        }
        let text = match cur {
            serde_json::Value::Null => return None,
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Array(items) => items
                .iter()
                .map(|v| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()))
                .collect::<Vec<_>>()
                .join(","),
            other => other.to_string(),
        };
        Some((text, SettingSource::ConfigFile))
    }

    /// The config-file value at a dotted `path`, ignoring the command line (arrays joined with
    /// commas, `null` read as absent).
    pub fn config_value(&self, path: &str) -> Option<String> {
        let mut cur = self.config.as_ref()?;
        for part in path.split('.') {
            cur = cur.get(part)?;
        }
        match cur {
            serde_json::Value::Null => None,
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Array(items) => Some(
                items
                    .iter()
                    .map(|v| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()))
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            other => Some(other.to_string()),
        }
    }
}

/// A node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Node {
    pub name: String,
    /// From `node-role.kubernetes.io/<role>` labels, e.g. `control-plane`.
    #[serde(default)]
    pub roles: Vec<String>,
    #[serde(default)]
    pub labels: Labels,
    #[serde(default)]
    pub addresses: Vec<NodeAddress>,
    #[serde(default)]
    pub kubelet_version: String,
    #[serde(default)]
    pub os_image: String,
    #[serde(default)]
    pub container_runtime: String,
    /// The kubelet's port from `status.daemonEndpoints.kubeletEndpoint.Port`, when reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubelet_port: Option<u16>,
}

impl Node {
    /// The address others reach it at: its InternalIP, else its ExternalIP.
    pub fn address(&self) -> Option<&str> {
        ["InternalIP", "ExternalIP"]
            .iter()
            .find_map(|kind| self.addresses.iter().find(|a| a.kind == *kind))
            .map(|a| a.address.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeAddress {
    /// `InternalIP`, `ExternalIP`, `Hostname`, …
    pub kind: String,
    pub address: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Namespace {
    pub name: String,
    #[serde(default)]
    pub labels: Labels,
}

/// A reference to the controller that owns an object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnerRef {
    pub kind: String,
    pub name: String,
}

/// A pod, reduced to what checks use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pod {
    pub namespace: String,
    pub name: String,
    #[serde(default)]
    pub labels: Labels,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<OwnerRef>,
    /// `spec.serviceAccountName` (`default` when unset).
    pub service_account: String,
    /// `spec.automountServiceAccountToken` as written (None when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub automount_token: Option<bool>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub host_network: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub host_pid: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub host_ipc: bool,
    /// Some container runs privileged.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub privileged: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub host_ports: Vec<u16>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub container_ports: Vec<ContainerPort>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// Container images (used to recognize the CNI and system components).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerPort {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub port: u16,
    /// `TCP` (default), `UDP` or `SCTP`.
    pub protocol: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceAccount {
    pub namespace: String,
    pub name: String,
    /// `automountServiceAccountToken` as written (None when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub automount_token: Option<bool>,
}

/// A secret's metadata. The data is never collected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretMeta {
    pub namespace: String,
    pub name: String,
    /// e.g. `kubernetes.io/service-account-token`, `Opaque`.
    #[serde(rename = "type")]
    pub type_: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: Labels,
}

/// A Role (`namespace` set) or ClusterRole (`namespace == None`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Role {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: Labels,
    #[serde(default)]
    pub rules: Vec<PolicyRule>,
    /// ClusterRole `aggregationRule.clusterRoleSelectors`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aggregation: Option<Vec<LabelSelector>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct PolicyRule {
    #[serde(default)]
    pub verbs: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub api_groups: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resource_names: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub non_resource_urls: Vec<String>,
}

/// A RoleBinding (`namespace` set) or ClusterRoleBinding (`namespace == None`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Binding {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
    pub role_ref: RoleRef,
    #[serde(default)]
    pub subjects: Vec<Subject>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleRef {
    /// `Role` or `ClusterRole`.
    pub kind: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Subject {
    /// `User`, `Group` or `ServiceAccount`.
    pub kind: String,
    pub name: String,
    /// Only for `ServiceAccount`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// A NetworkPolicy, kept close to the API shape so the analysis can apply its exact semantics.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkPolicy {
    pub namespace: String,
    pub name: String,
    pub pod_selector: LabelSelector,
    /// `spec.policyTypes` as written; `None` when omitted (the analysis applies the defaulting rule).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_types: Option<Vec<String>>,
    /// `spec.ingress`; `None` when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress: Option<Vec<NetworkPolicyRule>>,
    /// `spec.egress`; `None` when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub egress: Option<Vec<NetworkPolicyRule>>,
}

/// One ingress (`from`) or egress (`to`) rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct NetworkPolicyRule {
    /// `from` / `to`; `None` when omitted (both omitted and empty allow every peer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peers: Option<Vec<NetworkPolicyPeer>>,
    /// `ports`; `None` when omitted (all ports).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ports: Option<Vec<NetworkPolicyPort>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct NetworkPolicyPeer {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_selector: Option<LabelSelector>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_selector: Option<LabelSelector>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_block: Option<IpBlock>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpBlock {
    pub cidr: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub except: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct NetworkPolicyPort {
    /// `TCP` when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// A number or a named container port; `None` means every port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<PortRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_port: Option<u16>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PortRef {
    Number(u16),
    Name(String),
}

/// A workload controller (DaemonSet, Deployment) reduced to what CNI recognition uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Workload {
    pub kind: String,
    pub namespace: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: Labels,
    #[serde(default)]
    pub images: Vec<String>,
}

/// The network plugin(s) recognized in the cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CniInfo {
    /// Recognized plugin names, e.g. `calico`, `flannel`, `cilium`.
    pub plugins: Vec<String>,
    /// What they were recognized from, in words.
    pub evidence: String,
}

/// What a referenced configuration file is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FilePurpose {
    EncryptionConfig,
    AdmissionConfig,
    AuthorizationConfig,
    AuthenticationConfig,
    AuditPolicy,
    KubeletConfig,
    /// The `ClusterConfiguration` from the kubeadm-config ConfigMap.
    KubeadmClusterConfiguration,
    Other,
}

/// The content of a configuration file referenced by a component.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigFile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    pub path: String,
    pub purpose: FilePurpose,
    pub origin: Origin,
    pub content: String,
}

/// Something that could not be collected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gap {
    /// What was asked for, e.g. `secrets`, `nodes/cp-1/proxy/configz`, `dump:rbac.yaml:12`.
    pub what: String,
    pub reason: GapReason,
    pub detail: String,
}
