//! Snapshot fixture builders for tests and benchmarks.
//!
//! [`Snapshot::kubeadm_default`] is a single-control-plane cluster exactly as `kubeadm init`
//! (v1.31) leaves it: the four static pods with kubeadm's command lines and kubeadm's
//! `KubeletConfiguration` on every node. Builder methods change one thing at a time so a test
//! reads as the sentence it proves:
//! `Snapshot::kubeadm_default().with_apiserver_flag("anonymous-auth", "true")`.
//!
//! These builders are plain library code (not `#[cfg(test)]`) because the integration tests and the
//! benchmark programs use them too.

use std::collections::BTreeMap;

use chrono::{TimeZone, Utc};
use serde_json::{json, Value};

use super::{
    ClusterInfo, Component, ComponentKind, ConfigFile, ControlPlane, Evidence, FilePurpose, Flags, GapReason,
    KubeVersion, Kubelet, Node, NodeAddress, Origin, Snapshot, Source,
};

/// kubeadm v1.31 `kube-apiserver` command line (advertise address filled per node).
const KUBEADM_APISERVER: &[&str] = &[
    "kube-apiserver",
    "--advertise-address={ip}",
    "--allow-privileged=true",
    "--authorization-mode=Node,RBAC",
    "--client-ca-file=/etc/kubernetes/pki/ca.crt",
    "--enable-admission-plugins=NodeRestriction",
    "--enable-bootstrap-token-auth=true",
    "--etcd-cafile=/etc/kubernetes/pki/etcd/ca.crt",
    "--etcd-certfile=/etc/kubernetes/pki/apiserver-etcd-client.crt",
    "--etcd-keyfile=/etc/kubernetes/pki/apiserver-etcd-client.key",
    "--etcd-servers=https://127.0.0.1:2379",
    "--kubelet-client-certificate=/etc/kubernetes/pki/apiserver-kubelet-client.crt",
    "--kubelet-client-key=/etc/kubernetes/pki/apiserver-kubelet-client.key",
    "--kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname",
    "--proxy-client-cert-file=/etc/kubernetes/pki/front-proxy-client.crt",
    "--proxy-client-key-file=/etc/kubernetes/pki/front-proxy-client.key",
    "--requestheader-allowed-names=front-proxy-client",
    "--requestheader-client-ca-file=/etc/kubernetes/pki/front-proxy-ca.crt",
    "--requestheader-extra-headers-prefix=X-Remote-Extra-",
    "--requestheader-group-headers=X-Remote-Group",
    "--requestheader-username-headers=X-Remote-User",
    "--secure-port=6443",
    "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
    "--service-account-key-file=/etc/kubernetes/pki/sa.pub",
    "--service-account-signing-key-file=/etc/kubernetes/pki/sa.key",
    "--service-cluster-ip-range=10.96.0.0/12",
    "--tls-cert-file=/etc/kubernetes/pki/apiserver.crt",
    "--tls-private-key-file=/etc/kubernetes/pki/apiserver.key",
];

const KUBEADM_ETCD: &[&str] = &[
    "etcd",
    "--advertise-client-urls=https://{ip}:2379",
    "--cert-file=/etc/kubernetes/pki/etcd/server.crt",
    "--client-cert-auth=true",
    "--data-dir=/var/lib/etcd",
    "--experimental-initial-corrupt-check=true",
    "--experimental-watch-progress-notify-interval=5s",
    "--initial-advertise-peer-urls=https://{ip}:2380",
    "--initial-cluster={node}=https://{ip}:2380",
    "--key-file=/etc/kubernetes/pki/etcd/server.key",
    "--listen-client-urls=https://127.0.0.1:2379,https://{ip}:2379",
    "--listen-metrics-urls=http://127.0.0.1:2381",
    "--listen-peer-urls=https://{ip}:2380",
    "--name={node}",
    "--peer-cert-file=/etc/kubernetes/pki/etcd/peer.crt",
    "--peer-client-cert-auth=true",
    "--peer-key-file=/etc/kubernetes/pki/etcd/peer.key",
    "--peer-trusted-ca-file=/etc/kubernetes/pki/etcd/ca.crt",
    "--snapshot-count=10000",
    "--trusted-ca-file=/etc/kubernetes/pki/etcd/ca.crt",
];

const KUBEADM_CONTROLLER_MANAGER: &[&str] = &[
    "kube-controller-manager",
    "--allocate-node-cidrs=true",
    "--authentication-kubeconfig=/etc/kubernetes/controller-manager.conf",
    "--authorization-kubeconfig=/etc/kubernetes/controller-manager.conf",
    "--bind-address=127.0.0.1",
    "--client-ca-file=/etc/kubernetes/pki/ca.crt",
    "--cluster-cidr=192.168.0.0/16",
    "--cluster-name=kubernetes",
    "--cluster-signing-cert-file=/etc/kubernetes/pki/ca.crt",
    "--cluster-signing-key-file=/etc/kubernetes/pki/ca.key",
    "--controllers=*,bootstrapsigner,tokencleaner",
    "--kubeconfig=/etc/kubernetes/controller-manager.conf",
    "--leader-elect=true",
    "--requestheader-client-ca-file=/etc/kubernetes/pki/front-proxy-ca.crt",
    "--root-ca-file=/etc/kubernetes/pki/ca.crt",
    "--service-account-private-key-file=/etc/kubernetes/pki/sa.key",
    "--service-cluster-ip-range=10.96.0.0/12",
    "--use-service-account-credentials=true",
];

const KUBEADM_SCHEDULER: &[&str] = &[
    "kube-scheduler",
    "--authentication-kubeconfig=/etc/kubernetes/scheduler.conf",
    "--authorization-kubeconfig=/etc/kubernetes/scheduler.conf",
    "--bind-address=127.0.0.1",
    "--kubeconfig=/etc/kubernetes/scheduler.conf",
    "--leader-elect=true",
];

/// The `KubeletConfiguration` kubeadm v1.31 writes to /var/lib/kubelet/config.yaml.
pub fn kubeadm_kubelet_config() -> Value {
    json!({
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "authentication": {
            "anonymous": {"enabled": false},
            "webhook": {"cacheTTL": "0s", "enabled": true},
            "x509": {"clientCAFile": "/etc/kubernetes/pki/ca.crt"}
        },
        "authorization": {
            "mode": "Webhook",
            "webhook": {"cacheAuthorizedTTL": "0s", "cacheUnauthorizedTTL": "0s"}
        },
        "cgroupDriver": "systemd",
        "clusterDNS": ["10.96.0.10"],
        "clusterDomain": "cluster.local",
        "healthzBindAddress": "127.0.0.1",
        "healthzPort": 10248,
        "rotateCertificates": true,
        "staticPodPath": "/etc/kubernetes/manifests",
        "streamingConnectionIdleTimeout": "0s",
        "syncFrequency": "0s"
    })
}

fn fill(template: &[&str], node: &str, ip: &str) -> Vec<String> {
    template.iter().map(|t| t.replace("{node}", node).replace("{ip}", ip)).collect()
}

fn fixture_time() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 15, 9, 30, 0).single().expect("valid fixture time")
}

impl Component {
    /// A static-pod component built from a container's `command` and `args`, as the collectors do.
    pub fn from_container(
        kind: ComponentKind,
        node: &str,
        command: &[String],
        args: &[String],
        origin: Origin,
    ) -> Component {
        let tokens: Vec<&str> = command.iter().chain(args.iter()).map(String::as_str).collect();
        Component {
            kind,
            name: format!("{}-{}", kind.as_str(), node),
            namespace: Some("kube-system".into()),
            node: Some(node.to_string()),
            origin,
            flags: Flags::parse(&tokens),
            env: BTreeMap::new(),
        }
    }
}

fn set_path(value: &mut Value, path: &str, new: Option<Value>) {
    let parts: Vec<&str> = path.split('.').collect();
    let mut cur = value;
    for (i, part) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        if !cur.is_object() {
            *cur = json!({});
        }
        let map = cur.as_object_mut().expect("object");
        if last {
            match new {
                Some(v) => {
                    map.insert(part.to_string(), v);
                }
                None => {
                    map.remove(*part);
                }
            }
            return;
        }
        cur = map.entry(part.to_string()).or_insert_with(|| json!({}));
    }
}

impl Snapshot {
    /// A kubeadm v1.31 cluster: control-plane node `cp-1` and worker `worker-1`, everything collected.
    pub fn kubeadm_default() -> Snapshot {
        Snapshot::kubeadm_with_control_planes(1, 1)
    }

    /// A kubeadm v1.31 cluster with `control_planes` control-plane nodes (`cp-1`…) each running the
    /// four static pods, and `workers` worker nodes (`worker-1`…).
    pub fn kubeadm_with_control_planes(control_planes: usize, workers: usize) -> Snapshot {
        let at = fixture_time();
        let origin = Origin::new(Source::Api, at);
        let mut snap = Snapshot::new(
            ClusterInfo {
                name: "kubeadm-default".into(),
                version: Some(KubeVersion { major: 1, minor: 31, git_version: "v1.31.4".into() }),
                control_plane: ControlPlane::SelfManaged,
                api_tls_verified: None,
            },
            at,
        );
        let mut components = Vec::new();
        let mut kubelets = Vec::new();
        let mut nodes = Vec::new();
        let mut add_node = |name: String, ip: String, control_plane: bool| {
            if control_plane {
                for (kind, template) in [
                    (ComponentKind::KubeApiserver, KUBEADM_APISERVER),
                    (ComponentKind::Etcd, KUBEADM_ETCD),
                    (ComponentKind::KubeControllerManager, KUBEADM_CONTROLLER_MANAGER),
                    (ComponentKind::KubeScheduler, KUBEADM_SCHEDULER),
                ] {
                    let tokens = fill(template, &name, &ip);
                    components.push(Component::from_container(
                        kind,
                        &name,
                        &tokens[..1],
                        &tokens[1..],
                        origin.clone(),
                    ));
                }
            }
            kubelets.push(Kubelet {
                node: name.clone(),
                // The config file as kubeadm writes it (not /configz, which would be defaulted).
                origin: Origin::new(Source::Dump, at),
                config: Some(kubeadm_kubelet_config()),
                config_state: super::EvidenceState::Complete,
                config_form: super::ConfigForm::File,
                flags: None,
                version: Some("v1.31.4".into()),
            });
            nodes.push(Node {
                name: name.clone(),
                roles: if control_plane { vec!["control-plane".into()] } else { vec![] },
                labels: BTreeMap::new(),
                addresses: vec![NodeAddress { kind: "InternalIP".into(), address: ip }],
                kubelet_version: "v1.31.4".into(),
                os_image: "Ubuntu 24.04.1 LTS".into(),
                container_runtime: "containerd://1.7.22".into(),
                kubelet_port: Some(10250),
            });
        };
        for i in 1..=control_planes {
            add_node(format!("cp-{i}"), format!("10.0.{}.{}", i / 250, 10 + i % 250), true);
        }
        for i in 1..=workers {
            add_node(format!("worker-{i}"), format!("10.1.{}.{}", i / 250, 10 + i % 250), false);
        }
        snap.components = Evidence::complete(origin.clone(), components);
        snap.kubelets = Evidence::complete(origin.clone(), kubelets);
        snap.nodes = Evidence::complete(origin, nodes);
        snap
    }

    fn each_component(mut self, kind: ComponentKind, f: impl Fn(&mut Component)) -> Snapshot {
        self.components.items.iter_mut().filter(|c| c.kind == kind).for_each(f);
        self
    }

    /// Set (or replace) a flag on every instance of a component.
    pub fn with_flag(self, kind: ComponentKind, flag: &str, value: &str) -> Snapshot {
        self.each_component(kind, |c| c.flags.set(flag, Some(value)))
    }

    /// Add a bare boolean flag (`--flag` with no value) on every instance of a component.
    pub fn with_bare_flag(self, kind: ComponentKind, flag: &str) -> Snapshot {
        self.each_component(kind, |c| c.flags.set(flag, None))
    }

    /// Remove a flag from every instance of a component.
    pub fn without_flag(self, kind: ComponentKind, flag: &str) -> Snapshot {
        self.each_component(kind, |c| c.flags.remove(flag))
    }

    pub fn with_apiserver_flag(self, flag: &str, value: &str) -> Snapshot {
        self.with_flag(ComponentKind::KubeApiserver, flag, value)
    }

    pub fn without_apiserver_flag(self, flag: &str) -> Snapshot {
        self.without_flag(ComponentKind::KubeApiserver, flag)
    }

    pub fn with_etcd_flag(self, flag: &str, value: &str) -> Snapshot {
        self.with_flag(ComponentKind::Etcd, flag, value)
    }

    pub fn without_etcd_flag(self, flag: &str) -> Snapshot {
        self.without_flag(ComponentKind::Etcd, flag)
    }

    /// Set an environment variable on every etcd container (etcd reads `ETCD_*` in place of flags).
    pub fn with_etcd_env(self, name: &str, value: &str) -> Snapshot {
        self.each_component(ComponentKind::Etcd, |c| {
            c.env.insert(name.to_string(), value.to_string());
        })
    }

    /// Set a dotted `KubeletConfiguration` path (e.g. `authentication.anonymous.enabled`) on every
    /// node's kubelet config.
    pub fn with_kubelet_config(mut self, path: &str, value: Value) -> Snapshot {
        for k in &mut self.kubelets.items {
            let cfg = k.config.get_or_insert_with(|| json!({}));
            set_path(cfg, path, Some(value.clone()));
        }
        self
    }

    /// Remove a dotted path from every node's kubelet config (the key is then defaulted).
    pub fn without_kubelet_config(mut self, path: &str) -> Snapshot {
        for k in &mut self.kubelets.items {
            if let Some(cfg) = k.config.as_mut() {
                set_path(cfg, path, None);
            }
        }
        self
    }

    /// Give every kubelet a command-line flag (which overrides its config file).
    pub fn with_kubelet_flag(mut self, flag: &str, value: &str) -> Snapshot {
        for k in &mut self.kubelets.items {
            k.flags.get_or_insert_with(Flags::default).set(flag, Some(value));
        }
        self
    }

    /// Every kubelet runs from command-line flags only, without a config file.
    pub fn with_kubelets_without_config_file(mut self) -> Snapshot {
        for k in &mut self.kubelets.items {
            k.config = None;
            k.flags.get_or_insert_with(Flags::default);
        }
        self
    }

    /// Re-render every component's flags as a container with `command: [binary]` and
    /// `args: ["--flag", "value", …]` (separate tokens) and parse them back, as a collector would
    /// for a manifest written in that style.
    pub fn with_args_form(mut self) -> Snapshot {
        for c in &mut self.components.items {
            let command = [c.kind.as_str().to_string()];
            let mut args = Vec::new();
            for f in c.flags.iter() {
                // A boolean takes its value only after `=`, in the args form too (pflag).
                let is_bool = super::kind_of(c.program(), &f.name) == super::FlagKind::Bool;
                match &f.value {
                    Some(v) if is_bool => args.push(format!("--{}={v}", f.name)),
                    Some(v) => {
                        args.push(format!("--{}", f.name));
                        args.push(v.clone());
                    }
                    None => args.push(format!("--{}", f.name)),
                }
            }
            let tokens: Vec<&str> = command.iter().chain(args.iter()).map(String::as_str).collect();
            c.flags = Flags::parse(&tokens);
        }
        self
    }

    /// The control plane is managed by a provider (EKS): its components are not visible.
    pub fn managed(mut self) -> Snapshot {
        self.cluster.control_plane = ControlPlane::Managed {
            provider: "eks".into(),
            evidence: "nodes carry eks.amazonaws.com/nodegroup labels; no control-plane pods".into(),
        };
        self.components.items.retain(|c| !c.kind.is_control_plane());
        self
    }

    /// Component evidence could not be collected (kube-system pods forbidden).
    pub fn without_component_evidence(mut self) -> Snapshot {
        self.components =
            Evidence::unknown(None, GapReason::Forbidden, "pods is forbidden in namespace kube-system");
        self.cluster.control_plane = ControlPlane::Unknown;
        self
    }

    /// Kubelet configuration could not be collected for any node.
    pub fn without_kubelet_evidence(mut self) -> Snapshot {
        for k in &mut self.kubelets.items {
            k.config = None;
            k.flags = None;
            k.config_state = super::EvidenceState::Unknown {
                reason: GapReason::Forbidden,
                detail: "nodes/proxy is forbidden".into(),
            };
        }
        self
    }

    /// Attach a configuration file (e.g. the encryption config) as seen on node `cp-1`.
    pub fn with_file(mut self, path: &str, purpose: FilePurpose, content: &str) -> Snapshot {
        self.files.retain(|f| f.path != path);
        self.files.push(ConfigFile {
            node: None,
            path: path.to_string(),
            purpose,
            origin: Origin::new(Source::Dump, self.collected_at),
            content: content.to_string(),
        });
        self
    }

    /// Set the cluster's Kubernetes version (`minor` of 1.x).
    /// Record how the collector's connection to the API server was secured.
    pub fn with_api_tls_verified(mut self, verified: bool) -> Snapshot {
        self.cluster.api_tls_verified = Some(verified);
        self
    }

    pub fn with_version(mut self, minor: u32) -> Snapshot {
        let git = format!("v1.{minor}.0");
        self.cluster.version = Some(KubeVersion { major: 1, minor, git_version: git.clone() });
        for k in &mut self.kubelets.items {
            k.version = Some(git.clone());
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubeadm_default_has_the_four_static_pods_and_two_kubelets() {
        let s = Snapshot::kubeadm_default();
        assert_eq!(s.components.len(), 4);
        assert_eq!(s.kubelets.len(), 2);
        let api = s.components_of(ComponentKind::KubeApiserver).next().unwrap();
        assert_eq!(api.flag("authorization-mode").as_deref(), Some("Node,RBAC"));
        assert_eq!(api.flag("advertise-address").as_deref(), Some("10.0.0.11"));
        assert_eq!(api.describe(), "kube-apiserver on cp-1");
    }

    #[test]
    fn the_args_form_reads_back_the_same_flags() {
        let s = Snapshot::kubeadm_default().with_bare_flag(ComponentKind::KubeApiserver, "profiling");
        let a = s.clone().with_args_form();
        for (x, y) in s.components.iter().zip(a.components.iter()) {
            for f in x.flags.iter() {
                assert_eq!(x.flag(&f.name), y.flag(&f.name), "{} {}", x.kind, f.name);
            }
        }
    }

    #[test]
    fn kubelet_config_paths_can_be_set_and_removed() {
        let s = Snapshot::kubeadm_default()
            .with_kubelet_config("authentication.anonymous.enabled", json!(true))
            .without_kubelet_config("rotateCertificates");
        let k = &s.kubelets.items[0];
        assert_eq!(k.setting("anonymous-auth", "authentication.anonymous.enabled").unwrap().0, "true");
        assert!(k.setting("rotate-certificates", "rotateCertificates").is_none());
    }
}
