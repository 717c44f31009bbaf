//! Synthetic clusters of any size with realistic shapes, deterministic by seed:
//! `palisade sim --generate nodes=5000,namespaces=500,pods=100000,roles=10000,bindings=10000,netpols=5000,seed=42`.
//!
//! Shapes follow what real fleets look like: an HA kubeadm control plane (static pods served as
//! mirror pods), kube-proxy and calico on every node, application Deployments with
//! ReplicaSets and labelled pods spread over team namespaces, per-workload service accounts,
//! secret metadata, kubeadm's default RBAC plus team roles with a realistic sprinkling of risky
//! grants (wildcards, secrets readers, exec, escalate/bind/impersonate, cluster-admin for CI
//! accounts), and the usual kinds of network policies (default deny, same namespace, from the
//! ingress controller, DNS egress, monitoring scrapes, app to app, egress to CIDRs), leaving
//! some namespaces without any. A few nodes drift from the kubelet baseline.
//!
//! Counts: `pods` is the total number of pods including DaemonSet and mirror pods (system pods
//! are always created, even past the budget); `roles` counts Roles + ClusterRoles and `bindings`
//! RoleBindings + ClusterRoleBindings, kubeadm defaults included; `namespaces` counts application
//! namespaces (the four system namespaces come on top).

use std::str::FromStr;

use bytes::Bytes;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

use super::settings::SimSettings;
use super::store::{stable_uid, ClusterBuilder, ClusterData};

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenerateSpec {
    pub nodes: usize,
    pub namespaces: usize,
    pub pods: usize,
    pub roles: usize,
    pub bindings: usize,
    pub netpols: usize,
    pub seed: u64,
}

impl Default for GenerateSpec {
    fn default() -> Self {
        Self { nodes: 6, namespaces: 8, pods: 120, roles: 60, bindings: 60, netpols: 12, seed: 1 }
    }
}

impl FromStr for GenerateSpec {
    type Err = String;

    /// `nodes=N,namespaces=N,pods=N,roles=N,bindings=N,netpols=N,seed=S`; omitted keys keep their
    /// defaults.
    fn from_str(s: &str) -> Result<Self, String> {
        let mut spec = GenerateSpec::default();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, value) = part
                .split_once('=')
                .ok_or_else(|| format!("`{part}` in --generate needs a value, e.g. `{part}=100`"))?;
            let n: u64 = value
                .trim()
                .replace('_', "")
                .parse()
                .map_err(|_| format!("`{key}={value}` in --generate: `{value}` is not a whole number"))?;
            let size = usize::try_from(n).map_err(|_| format!("`{key}={value}` is too large"))?;
            match key.trim() {
                "nodes" => spec.nodes = size,
                "namespaces" => spec.namespaces = size,
                "pods" => spec.pods = size,
                "roles" => spec.roles = size,
                "bindings" => spec.bindings = size,
                "netpols" | "networkpolicies" => spec.netpols = size,
                "seed" => spec.seed = n,
                other => {
                    return Err(format!(
                        "unknown key `{other}` in --generate (use nodes, namespaces, pods, roles, bindings, netpols, seed)"
                    ))
                }
            }
        }
        if spec.nodes == 0 {
            return Err("--generate needs at least one node".into());
        }
        if spec.namespaces == 0 && spec.pods > 0 {
            return Err("--generate needs at least one namespace for application pods".into());
        }
        Ok(spec)
    }
}

impl GenerateSpec {
    /// The cluster name: `generated-<seed>`.
    pub fn cluster_name(&self) -> String {
        format!("generated-{}", self.seed)
    }
}

const WORDS: &[&str] = &[
    "payments",
    "checkout",
    "search",
    "catalog",
    "billing",
    "ledger",
    "identity",
    "notifications",
    "analytics",
    "recommendations",
    "inventory",
    "shipping",
    "pricing",
    "reviews",
    "media",
    "gateway",
    "reporting",
    "fraud",
    "loyalty",
    "support",
    "orders",
    "accounts",
    "auth",
    "profile",
    "cart",
    "ads",
    "geo",
    "streams",
    "warehouse",
    "tickets",
];
const COMPONENTS: &[&str] =
    &["api", "worker", "web", "consumer", "scheduler", "cache", "grpc", "admin", "sync", "proxy"];
const ZONES: &[&str] = &["eu-west-1a", "eu-west-1b", "eu-west-1c"];
const CREATED: &str = "2025-10-06T07:31:12Z";
const KUBE_VERSION: &str = "v1.31.4";

struct Gen {
    rng: StdRng,
    b: ClusterBuilder,
    name: String,
    ip_counter: u32,
    /// Pod names handed out, so a random suffix is redrawn on a clash (as the API server's
    /// generateName does) instead of silently replacing a pod.
    pod_names: std::collections::HashSet<(String, String)>,
}

fn suffix(rng: &mut StdRng, n: usize) -> String {
    const ALNUM: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    (0..n).map(|_| ALNUM[rng.gen_range(0..ALNUM.len())] as char).collect()
}

impl Gen {
    /// `<prefix>-<5 random characters>`, unique in the namespace.
    fn pod_name(&mut self, ns: &str, prefix: &str) -> String {
        loop {
            let name = format!("{prefix}-{}", suffix(&mut self.rng, 5));
            if self.pod_names.insert((ns.to_string(), name.clone())) {
                return name;
            }
        }
    }

    fn add(&mut self, v: Value) {
        // Generated objects always have kind, name and namespace; an error here is a bug.
        self.b.add_object(v).expect("generated objects are well formed");
    }

    fn meta(&self, kind: &str, ns: &str, name: &str, labels: Value) -> Value {
        let mut m = json!({
            "name": name,
            "uid": stable_uid(&self.name, kind, ns, name),
            "creationTimestamp": CREATED,
            "labels": labels,
        });
        if !ns.is_empty() {
            m["namespace"] = json!(ns);
        }
        m
    }

    fn pod_ip(&mut self) -> String {
        self.ip_counter += 1;
        let n = self.ip_counter;
        format!("10.{}.{}.{}", 64 + (n >> 16) % 64, (n >> 8) & 0xff, (n & 0xff).max(2))
    }
}

fn node_json(g: &Gen, name: &str, ip: &str, cp: bool, zone: &str) -> Value {
    let mut labels = json!({
        "kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/os": "linux", "beta.kubernetes.io/arch": "amd64",
        "topology.kubernetes.io/zone": zone, "topology.kubernetes.io/region": "eu-west-1",
        "node.kubernetes.io/instance-type": if cp { "m6i.xlarge" } else { "m6i.4xlarge" },
    });
    if cp {
        labels["node-role.kubernetes.io/control-plane"] = json!("");
    }
    let mut meta = g.meta("Node", "", name, labels);
    meta["annotations"] = json!({
        "kubeadm.alpha.kubernetes.io/cri-socket": "unix:///var/run/containerd/containerd.sock",
        "node.alpha.kubernetes.io/ttl": "0",
        "projectcalico.org/IPv4Address": format!("{ip}/16"),
        "volumes.kubernetes.io/controller-managed-attach-detach": "true",
    });
    let mut spec = json!({});
    if cp {
        spec["taints"] = json!([{"effect": "NoSchedule", "key": "node-role.kubernetes.io/control-plane"}]);
    }
    let cond = |t: &str, s: &str, r: &str| json!({"type": t, "status": s, "reason": r, "lastHeartbeatTime": "2026-01-12T06:40:11Z", "lastTransitionTime": CREATED});
    json!({
        "apiVersion": "v1", "kind": "Node", "metadata": meta, "spec": spec,
        "status": {
            "addresses": [{"type": "InternalIP", "address": ip}, {"type": "Hostname", "address": name}],
            "allocatable": {"cpu": if cp { "4" } else { "16" }, "memory": if cp { "15Gi" } else { "62Gi" }, "pods": "110"},
            "capacity": {"cpu": if cp { "4" } else { "16" }, "memory": if cp { "16Gi" } else { "64Gi" }, "pods": "110"},
            "conditions": [
                cond("MemoryPressure", "False", "KubeletHasSufficientMemory"),
                cond("DiskPressure", "False", "KubeletHasNoDiskPressure"),
                cond("PIDPressure", "False", "KubeletHasSufficientPID"),
                cond("Ready", "True", "KubeletReady"),
            ],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {
                "architecture": "amd64", "operatingSystem": "linux", "osImage": "Ubuntu 22.04.5 LTS",
                "kernelVersion": "5.15.0-126-generic", "containerRuntimeVersion": "containerd://1.7.24",
                "kubeletVersion": KUBE_VERSION, "kubeProxyVersion": "",
                "machineID": stable_uid(&g.name, "machine", "", name).replace('-', ""),
                "systemUUID": stable_uid(&g.name, "system", "", name), "bootID": stable_uid(&g.name, "boot", "", name),
            }
        }
    })
}

fn static_pod(component: &str, node: &str, ip: &str, flags: &[(&str, String)]) -> Value {
    let mut command = vec![json!(component)];
    command.extend(flags.iter().map(|(k, v)| json!(format!("--{k}={v}"))));
    let image = if component == "etcd" {
        "registry.k8s.io/etcd:3.5.15-0".to_string()
    } else {
        format!("registry.k8s.io/{component}:{KUBE_VERSION}")
    };
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": component, "namespace": "kube-system", "labels": {"component": component, "tier": "control-plane"},
                     "annotations": {"kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint": format!("{ip}:6443")}},
        "spec": {
            "hostNetwork": true, "priorityClassName": "system-node-critical", "priority": 2000001000,
            "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [{"name": component, "image": image, "imagePullPolicy": "IfNotPresent", "command": command,
                            "resources": {"requests": {"cpu": "250m"}},
                            "volumeMounts": [{"mountPath": "/etc/kubernetes/pki", "name": "k8s-certs", "readOnly": true}]}],
            "volumes": [{"name": "k8s-certs", "hostPath": {"path": "/etc/kubernetes/pki", "type": "DirectoryOrCreate"}}],
            "nodeName": node,
        }
    })
}

fn control_plane(node: &str, ip: &str, cps: &[(String, String)]) -> Vec<Value> {
    let s = |v: &str| v.to_string();
    let api = [
        ("advertise-address", s(ip)),
        ("allow-privileged", s("true")),
        ("authorization-mode", s("Node,RBAC")),
        ("client-ca-file", s("/etc/kubernetes/pki/ca.crt")),
        ("enable-admission-plugins", s("NodeRestriction")),
        ("enable-bootstrap-token-auth", s("true")),
        ("etcd-cafile", s("/etc/kubernetes/pki/etcd/ca.crt")),
        ("etcd-certfile", s("/etc/kubernetes/pki/apiserver-etcd-client.crt")),
        ("etcd-keyfile", s("/etc/kubernetes/pki/apiserver-etcd-client.key")),
        ("etcd-servers", s("https://127.0.0.1:2379")),
        ("kubelet-client-certificate", s("/etc/kubernetes/pki/apiserver-kubelet-client.crt")),
        ("kubelet-client-key", s("/etc/kubernetes/pki/apiserver-kubelet-client.key")),
        ("secure-port", s("6443")),
        ("service-account-issuer", s("https://kubernetes.default.svc.cluster.local")),
        ("service-account-key-file", s("/etc/kubernetes/pki/sa.pub")),
        ("service-account-signing-key-file", s("/etc/kubernetes/pki/sa.key")),
        ("service-cluster-ip-range", s("10.96.0.0/12")),
        ("tls-cert-file", s("/etc/kubernetes/pki/apiserver.crt")),
        ("tls-private-key-file", s("/etc/kubernetes/pki/apiserver.key")),
    ];
    let initial: Vec<String> = cps.iter().map(|(n, i)| format!("{n}=https://{i}:2380")).collect();
    let etcd = [
        ("advertise-client-urls", format!("https://{ip}:2379")),
        ("cert-file", s("/etc/kubernetes/pki/etcd/server.crt")),
        ("client-cert-auth", s("true")),
        ("data-dir", s("/var/lib/etcd")),
        ("initial-cluster", initial.join(",")),
        ("key-file", s("/etc/kubernetes/pki/etcd/server.key")),
        ("listen-client-urls", format!("https://127.0.0.1:2379,https://{ip}:2379")),
        ("name", s(node)),
        ("peer-cert-file", s("/etc/kubernetes/pki/etcd/peer.crt")),
        ("peer-client-cert-auth", s("true")),
        ("peer-key-file", s("/etc/kubernetes/pki/etcd/peer.key")),
        ("peer-trusted-ca-file", s("/etc/kubernetes/pki/etcd/ca.crt")),
        ("trusted-ca-file", s("/etc/kubernetes/pki/etcd/ca.crt")),
    ];
    let cm = [
        ("authentication-kubeconfig", s("/etc/kubernetes/controller-manager.conf")),
        ("authorization-kubeconfig", s("/etc/kubernetes/controller-manager.conf")),
        ("bind-address", s("127.0.0.1")),
        ("cluster-signing-cert-file", s("/etc/kubernetes/pki/ca.crt")),
        ("cluster-signing-key-file", s("/etc/kubernetes/pki/ca.key")),
        ("kubeconfig", s("/etc/kubernetes/controller-manager.conf")),
        ("leader-elect", s("true")),
        ("root-ca-file", s("/etc/kubernetes/pki/ca.crt")),
        ("service-account-private-key-file", s("/etc/kubernetes/pki/sa.key")),
        ("use-service-account-credentials", s("true")),
    ];
    let sched = [
        ("authentication-kubeconfig", s("/etc/kubernetes/scheduler.conf")),
        ("authorization-kubeconfig", s("/etc/kubernetes/scheduler.conf")),
        ("bind-address", s("127.0.0.1")),
        ("kubeconfig", s("/etc/kubernetes/scheduler.conf")),
        ("leader-elect", s("true")),
    ];
    vec![
        static_pod("kube-apiserver", node, ip, &api),
        static_pod("etcd", node, ip, &etcd),
        static_pod("kube-controller-manager", node, ip, &cm),
        static_pod("kube-scheduler", node, ip, &sched),
    ]
}

fn kubelet_config(anonymous: bool, read_only_port: u16) -> Bytes {
    let cfg = json!({"kubeletconfig": {
        "enableServer": true, "staticPodPath": "/etc/kubernetes/manifests", "address": "0.0.0.0", "port": 10250,
        "readOnlyPort": read_only_port, "rotateCertificates": true, "serverTLSBootstrap": false,
        "authentication": {"x509": {"clientCAFile": "/etc/kubernetes/pki/ca.crt"}, "webhook": {"enabled": !anonymous, "cacheTTL": "2m0s"},
                           "anonymous": {"enabled": anonymous}},
        "authorization": {"mode": if anonymous { "AlwaysAllow" } else { "Webhook" },
                          "webhook": {"cacheAuthorizedTTL": "5m0s", "cacheUnauthorizedTTL": "30s"}},
        "eventRecordQPS": 50, "streamingConnectionIdleTimeout": "4h0m0s", "makeIPTablesUtilChains": true,
        "clusterDomain": "cluster.local", "clusterDNS": ["10.96.0.10"], "cgroupDriver": "systemd", "maxPods": 110,
        "podPidsLimit": -1, "protectKernelDefaults": false, "seccompDefault": false, "healthzPort": 10248,
        "healthzBindAddress": "127.0.0.1", "containerRuntimeEndpoint": "unix:///var/run/containerd/containerd.sock",
    }});
    Bytes::from(cfg.to_string())
}

struct Workload<'a> {
    kind: &'a str,
    ns: &'a str,
    name: &'a str,
    labels: Value,
    owner: Value,
    service_account: &'a str,
    automount: Option<bool>,
    host_network: bool,
    privileged: bool,
    host_port: bool,
    image: &'a str,
    port: u16,
}

fn pod_json(g: &mut Gen, w: &Workload<'_>, pod_name: &str, node: &str, node_ip: &str) -> Value {
    let ip = if w.host_network { node_ip.to_string() } else { g.pod_ip() };
    let mut meta = g.meta("Pod", w.ns, pod_name, w.labels.clone());
    meta["ownerReferences"] = json!([w.owner]);
    meta["generateName"] = json!(format!("{}-", pod_name.rsplit_once('-').map_or(pod_name, |(p, _)| p)));
    let mut container = json!({
        "name": w.name.split('-').next_back().unwrap_or("app"), "image": w.image, "imagePullPolicy": "IfNotPresent",
        "ports": [{"containerPort": w.port, "protocol": "TCP", "name": "http"}],
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}},
    });
    if w.host_port {
        container["ports"][0]["hostPort"] = json!(w.port);
    }
    if w.privileged {
        container["securityContext"] = json!({"privileged": true});
    } else if w.kind == "Deployment" {
        container["securityContext"] = json!({"allowPrivilegeEscalation": false, "runAsNonRoot": true});
    }
    let mut spec = json!({
        "containers": [container], "nodeName": node, "serviceAccountName": w.service_account,
        "serviceAccount": w.service_account, "restartPolicy": "Always", "dnsPolicy": "ClusterFirst",
        "schedulerName": "default-scheduler", "terminationGracePeriodSeconds": 30,
        "tolerations": [
            {"effect": "NoExecute", "key": "node.kubernetes.io/not-ready", "operator": "Exists", "tolerationSeconds": 300},
            {"effect": "NoExecute", "key": "node.kubernetes.io/unreachable", "operator": "Exists", "tolerationSeconds": 300}
        ],
    });
    if let Some(a) = w.automount {
        spec["automountServiceAccountToken"] = json!(a);
    }
    if w.host_network {
        spec["hostNetwork"] = json!(true);
    }
    json!({
        "apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec,
        "status": {
            "phase": "Running", "hostIP": node_ip, "podIP": ip, "podIPs": [{"ip": ip}], "startTime": CREATED, "qosClass": "Burstable",
            "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": CREATED},
                           {"type": "PodScheduled", "status": "True", "lastTransitionTime": CREATED}],
            "containerStatuses": [{"name": "app", "ready": true, "restartCount": 0, "started": true, "image": w.image,
                                   "state": {"running": {"startedAt": CREATED}}}]
        }
    })
}

fn rule(groups: &[&str], resources: &[&str], verbs: &[&str]) -> Value {
    json!({"apiGroups": groups, "resources": resources, "verbs": verbs})
}

fn subject_sa(ns: &str, name: &str) -> Value {
    json!({"kind": "ServiceAccount", "name": name, "namespace": ns})
}

fn subject(kind: &str, name: &str) -> Value {
    json!({"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": name})
}

/// Generate a cluster.
pub fn generate(spec: &GenerateSpec) -> ClusterData {
    let name = spec.cluster_name();
    let settings = SimSettings {
        version: Some(KUBE_VERSION.into()),
        description: Some(format!("generated cluster ({spec:?})")),
        ..Default::default()
    };
    let mut g = Gen {
        rng: StdRng::seed_from_u64(spec.seed),
        b: ClusterBuilder::new(&name, settings),
        name,
        ip_counter: 0,
        pod_names: Default::default(),
    };

    // Namespaces.
    let system_ns = ["default", "kube-node-lease", "kube-public", "kube-system"];
    let mut app_ns = Vec::with_capacity(spec.namespaces);
    for i in 0..spec.namespaces {
        let word = WORDS[i % WORDS.len()];
        let env = ["prod", "staging", "dev"][g.rng.gen_range(0..3)];
        app_ns.push((format!("{word}-{env}-{i:04}"), word, env));
    }
    for ns in system_ns {
        let meta = g.meta("Namespace", "", ns, json!({"kubernetes.io/metadata.name": ns}));
        g.add(
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": meta, "status": {"phase": "Active"}}),
        );
    }
    for (ns, team, env) in &app_ns {
        let mut labels = json!({"kubernetes.io/metadata.name": ns, "team": team, "env": env});
        if *env == "prod" && g.rng.gen_bool(0.5) {
            labels["pod-security.kubernetes.io/enforce"] = json!("baseline");
        }
        let meta = g.meta("Namespace", "", ns, labels);
        g.add(
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": meta, "status": {"phase": "Active"}}),
        );
    }

    // Nodes, control plane and kubelet configuration.
    let cp_count = if spec.nodes >= 5 { 3 } else { 1 };
    let mut nodes: Vec<(String, String)> = Vec::with_capacity(spec.nodes);
    for i in 0..spec.nodes {
        let cp = i < cp_count;
        let name = if cp { format!("cp-{}", i + 1) } else { format!("worker-{:05}", i + 1 - cp_count) };
        let ip =
            format!("10.{}.{}.{}", i / 65536, (i / 256) % 256, i % 256 + if i % 256 == 0 { 1 } else { 0 });
        let v = node_json(&g, &name, &ip, cp, ZONES[i % ZONES.len()]);
        g.add(v);
        nodes.push((name, ip));
    }
    let cps: Vec<(String, String)> = nodes[..cp_count].to_vec();
    for (n, ip) in &cps {
        for pod in control_plane(n, ip, &cps) {
            g.b.add_static_pod(n.clone(), pod);
        }
    }
    let baseline = kubelet_config(false, 0);
    let drifted = kubelet_config(true, 10255);
    for (i, (n, _)) in nodes.iter().enumerate() {
        // About 1 in 100 workers was set up by hand and drifted from the baseline.
        let body = if i >= cp_count && g.rng.gen_ratio(1, 100) { drifted.clone() } else { baseline.clone() };
        g.b.set_kubelet_configz_bytes(n.clone(), body);
    }

    // System DaemonSets and their pods.
    let mut pods_made = cps.len() * 4;
    for (ds, image, labels) in [
        (
            "kube-proxy",
            format!("registry.k8s.io/kube-proxy:{KUBE_VERSION}"),
            json!({"k8s-app": "kube-proxy"}),
        ),
        ("calico-node", "docker.io/calico/node:v3.28.2".to_string(), json!({"k8s-app": "calico-node"})),
    ] {
        let mut meta = g.meta("DaemonSet", "kube-system", ds, labels.clone());
        meta["annotations"] = json!({"deprecated.daemonset.template.generation": "1"});
        let uid = meta["uid"].clone();
        g.add(json!({
            "apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": meta,
            "spec": {"selector": {"matchLabels": labels}, "template": {"metadata": {"labels": labels}, "spec": {
                "hostNetwork": true, "serviceAccountName": ds, "priorityClassName": "system-node-critical",
                "containers": [{"name": ds, "image": image, "securityContext": {"privileged": true}}],
                "tolerations": [{"operator": "Exists"}]}}},
            "status": {"desiredNumberScheduled": nodes.len(), "currentNumberScheduled": nodes.len(), "numberReady": nodes.len(),
                       "numberAvailable": nodes.len(), "updatedNumberScheduled": nodes.len(), "numberMisscheduled": 0}
        }));
        let owner = json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "name": ds, "uid": uid, "controller": true, "blockOwnerDeletion": true});
        for (n, ip) in nodes.clone() {
            let pod_name = g.pod_name("kube-system", ds);
            let w = Workload {
                kind: "DaemonSet",
                ns: "kube-system",
                name: ds,
                labels: labels.clone(),
                owner: owner.clone(),
                service_account: ds,
                automount: None,
                host_network: true,
                privileged: true,
                host_port: false,
                image: &image,
                port: 9091,
            };
            let pod = pod_json(&mut g, &w, &pod_name, &n, &ip);
            g.add(pod);
            pods_made += 1;
        }
        let sa_meta = g.meta("ServiceAccount", "kube-system", ds, json!({}));
        g.add(json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": sa_meta}));
    }

    // Service accounts and secret metadata per namespace.
    for ns in system_ns.iter().map(|s| s.to_string()).chain(app_ns.iter().map(|(n, _, _)| n.clone())) {
        let mut sa = json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": g.meta("ServiceAccount", &ns, "default", json!({}))});
        if g.rng.gen_ratio(1, 5) {
            sa["automountServiceAccountToken"] = json!(false);
        }
        g.add(sa);
        if !system_ns.contains(&ns.as_str()) {
            for (secret, ty, keys) in [
                ("app-config", "Opaque", json!({"DATABASE_URL": "", "API_KEY": ""})),
                ("registry-pull", "kubernetes.io/dockerconfigjson", json!({".dockerconfigjson": ""})),
            ] {
                let meta = g.meta("Secret", &ns, secret, json!({}));
                g.add(
                    json!({"apiVersion": "v1", "kind": "Secret", "type": ty, "metadata": meta, "data": keys}),
                );
            }
        }
    }

    // Application Deployments, ReplicaSets and pods until the pod budget is spent.
    let workers: Vec<(String, String)> =
        if nodes.len() > cp_count { nodes[cp_count..].to_vec() } else { nodes.clone() };
    let mut deploy_seq = 0usize;
    let mut node_cursor = 0usize;
    let mut workload_sas: Vec<(String, String)> = Vec::new();
    while pods_made < spec.pods && !app_ns.is_empty() {
        let (ns, team, _) = app_ns[deploy_seq % app_ns.len()].clone();
        let component = COMPONENTS[g.rng.gen_range(0..COMPONENTS.len())];
        let dname = format!("{team}-{component}-{}", deploy_seq / app_ns.len());
        deploy_seq += 1;
        let replicas = g.rng.gen_range(1..=8usize).min(spec.pods - pods_made);
        let labels = json!({"app": dname, "app.kubernetes.io/name": dname, "app.kubernetes.io/part-of": team, "tier": component});
        let own_sa = g.rng.gen_bool(0.6);
        let sa = if own_sa { dname.clone() } else { "default".to_string() };
        if own_sa {
            let mut sa_obj = json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": g.meta("ServiceAccount", &ns, &sa, json!({}))});
            if g.rng.gen_bool(0.3) {
                sa_obj["automountServiceAccountToken"] = json!(false);
            }
            g.add(sa_obj);
            workload_sas.push((ns.clone(), sa.clone()));
        }
        let image = format!(
            "registry.example.com/{team}/{component}:{}.{}.{}",
            g.rng.gen_range(1..5),
            g.rng.gen_range(0..30),
            g.rng.gen_range(0..10)
        );
        let risky = g.rng.gen_ratio(1, 200);
        let host_port = g.rng.gen_ratio(1, 150);
        let hash = suffix(&mut g.rng, 10);
        let dmeta = g.meta("Deployment", &ns, &dname, labels.clone());
        let duid = dmeta["uid"].clone();
        let selector = json!({"matchLabels": {"app": dname}});
        g.add(json!({
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": dmeta,
            "spec": {"replicas": replicas, "selector": selector, "template": {"metadata": {"labels": labels}, "spec": {
                "serviceAccountName": sa, "containers": [{"name": component, "image": image}]}}},
            "status": {"replicas": replicas, "readyReplicas": replicas, "availableReplicas": replicas, "updatedReplicas": replicas}
        }));
        let rs_name = format!("{dname}-{hash}");
        let mut rs_labels = labels.clone();
        rs_labels["pod-template-hash"] = json!(hash);
        let mut rs_meta = g.meta("ReplicaSet", &ns, &rs_name, rs_labels.clone());
        rs_meta["ownerReferences"] = json!([{"apiVersion": "apps/v1", "kind": "Deployment", "name": dname, "uid": duid, "controller": true, "blockOwnerDeletion": true}]);
        let rs_uid = rs_meta["uid"].clone();
        g.add(json!({
            "apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": rs_meta,
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": dname, "pod-template-hash": hash}}},
            "status": {"replicas": replicas, "readyReplicas": replicas, "availableReplicas": replicas}
        }));
        let owner = json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": rs_name, "uid": rs_uid, "controller": true, "blockOwnerDeletion": true});
        for _ in 0..replicas {
            let (node, node_ip) = workers[node_cursor % workers.len()].clone();
            node_cursor += 1;
            let pod_name = g.pod_name(&ns, &rs_name);
            let w = Workload {
                kind: "Deployment",
                ns: &ns,
                name: &dname,
                labels: rs_labels.clone(),
                owner: owner.clone(),
                service_account: &sa,
                automount: None,
                host_network: risky,
                privileged: risky,
                host_port,
                image: &image,
                port: 8080,
            };
            let pod = pod_json(&mut g, &w, &pod_name, &node, &node_ip);
            g.add(pod);
            pods_made += 1;
        }
    }

    generate_rbac(&mut g, spec, &app_ns, &workload_sas);
    generate_netpols(&mut g, spec, &app_ns);

    let builder = g.b;
    builder.finish()
}

/// kubeadm's default RBAC (a compact subset) plus team roles with occasional risky grants.
fn generate_rbac(
    g: &mut Gen,
    spec: &GenerateSpec,
    app_ns: &[(String, &str, &str)],
    sas: &[(String, String)],
) {
    let bootstrap = json!({"kubernetes.io/bootstrapping": "rbac-defaults"});
    let defaults: Vec<(&str, Vec<Value>)> = vec![
        (
            "cluster-admin",
            vec![rule(&["*"], &["*"], &["*"]), json!({"nonResourceURLs": ["*"], "verbs": ["*"]})],
        ),
        ("admin", vec![rule(&["", "apps"], &["*"], &["*"])]),
        (
            "edit",
            vec![rule(
                &["", "apps"],
                &["pods", "deployments", "services", "configmaps", "secrets"],
                &["create", "delete", "get", "list", "patch", "update", "watch"],
            )],
        ),
        (
            "view",
            vec![rule(
                &["", "apps"],
                &["pods", "deployments", "services", "configmaps"],
                &["get", "list", "watch"],
            )],
        ),
        (
            "system:basic-user",
            vec![rule(
                &["authorization.k8s.io"],
                &["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
                &["create"],
            )],
        ),
        (
            "system:discovery",
            vec![
                json!({"nonResourceURLs": ["/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/openapi", "/openapi/*", "/readyz", "/version", "/version/"], "verbs": ["get"]}),
            ],
        ),
        (
            "system:public-info-viewer",
            vec![
                json!({"nonResourceURLs": ["/healthz", "/livez", "/readyz", "/version", "/version/"], "verbs": ["get"]}),
            ],
        ),
        (
            "system:node-proxier",
            vec![rule(&[""], &["endpoints", "services", "nodes"], &["get", "list", "watch"])],
        ),
        ("system:kube-controller-manager", vec![rule(&["*"], &["*"], &["list", "watch"])]),
        (
            "system:kube-scheduler",
            vec![
                rule(&[""], &["pods", "nodes"], &["get", "list", "watch"]),
                rule(&[""], &["pods/binding", "bindings"], &["create"]),
            ],
        ),
    ];
    let default_count = defaults.len();
    for (name, rules) in defaults {
        let meta = g.meta("ClusterRole", "", name, bootstrap.clone());
        g.add(json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": meta, "rules": rules}));
    }
    let default_bindings = [
        ("cluster-admin", "cluster-admin", subject("Group", "system:masters")),
        ("kubeadm:cluster-admins", "cluster-admin", subject("Group", "kubeadm:cluster-admins")),
        ("system:basic-user", "system:basic-user", subject("Group", "system:authenticated")),
        ("system:discovery", "system:discovery", subject("Group", "system:authenticated")),
        (
            "system:public-info-viewer",
            "system:public-info-viewer",
            subject("Group", "system:unauthenticated"),
        ),
        ("system:node-proxier", "system:node-proxier", subject("User", "system:kube-proxy")),
        (
            "system:kube-controller-manager",
            "system:kube-controller-manager",
            subject("User", "system:kube-controller-manager"),
        ),
        ("system:kube-scheduler", "system:kube-scheduler", subject("User", "system:kube-scheduler")),
    ];
    let default_binding_count = default_bindings.len();
    for (name, role, subj) in default_bindings {
        let meta = g.meta("ClusterRoleBinding", "", name, bootstrap.clone());
        g.add(json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": meta,
                     "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role}, "subjects": [subj]}));
    }

    // Custom roles: a tenth cluster-wide, the rest in namespaces.
    let custom_roles = spec.roles.saturating_sub(default_count);
    let cluster_roles = custom_roles / 10;
    let mut cluster_role_names = Vec::new();
    for i in 0..custom_roles {
        let roll = g.rng.gen_range(0..100);
        let (flavour, rules) = match roll {
            0..=1 => ("ops-all", vec![rule(&["*"], &["*"], &["*"])]),
            2..=4 => ("secrets-reader", vec![rule(&[""], &["secrets"], &["get", "list", "watch"])]),
            5..=7 => (
                "debugger",
                vec![
                    rule(&[""], &["pods", "pods/log"], &["get", "list"]),
                    rule(&[""], &["pods/exec", "pods/attach"], &["create"]),
                ],
            ),
            8 => (
                "rbac-manager",
                vec![rule(
                    &["rbac.authorization.k8s.io"],
                    &["roles", "rolebindings"],
                    &["escalate", "bind", "create", "update"],
                )],
            ),
            9 => {
                ("impersonator", vec![rule(&[""], &["users", "groups", "serviceaccounts"], &["impersonate"])])
            }
            10..=39 => (
                "deployer",
                vec![
                    rule(
                        &["apps"],
                        &["deployments", "replicasets"],
                        &["get", "list", "watch", "create", "update", "patch"],
                    ),
                    rule(
                        &[""],
                        &["services", "configmaps"],
                        &["get", "list", "watch", "create", "update", "patch"],
                    ),
                ],
            ),
            _ => (
                "viewer",
                vec![rule(
                    &["", "apps"],
                    &["pods", "services", "deployments", "configmaps"],
                    &["get", "list", "watch"],
                )],
            ),
        };
        if i < cluster_roles {
            let name = format!("{flavour}-{i:05}");
            let meta = g.meta("ClusterRole", "", &name, json!({"app.kubernetes.io/managed-by": "platform"}));
            g.add(json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": meta, "rules": rules}));
            cluster_role_names.push(name);
        } else if !app_ns.is_empty() {
            let (ns, _, _) = &app_ns[i % app_ns.len()];
            let name = format!("{flavour}-{i:05}");
            let meta = g.meta("Role", ns, &name, json!({}));
            g.add(json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": meta, "rules": rules}));
        }
    }

    let custom_bindings = spec.bindings.saturating_sub(default_binding_count);
    let cluster_bindings = custom_bindings / 10;
    for i in 0..custom_bindings {
        let subj = match (sas.is_empty(), g.rng.gen_range(0..10)) {
            (false, 0..=5) => {
                let (ns, sa) = &sas[g.rng.gen_range(0..sas.len())];
                subject_sa(ns, sa)
            }
            (_, 6..=7) => subject("Group", &format!("team-{}", WORDS[g.rng.gen_range(0..WORDS.len())])),
            _ => subject("User", &format!("user{:04}@example.com", g.rng.gen_range(0..5000))),
        };
        if i < cluster_bindings {
            // Now and then a CI account gets cluster-admin, or everyone gets a custom role.
            let (role, subj) = match g.rng.gen_range(0..100) {
                0..=1 => ("cluster-admin".to_string(), subj),
                2 => (
                    cluster_role_names.first().cloned().unwrap_or_else(|| "view".into()),
                    subject("Group", "system:authenticated"),
                ),
                _ => (
                    if cluster_role_names.is_empty() {
                        "view".to_string()
                    } else {
                        cluster_role_names[g.rng.gen_range(0..cluster_role_names.len())].clone()
                    },
                    subj,
                ),
            };
            let name = format!("{role}-binding-{i:05}");
            let meta = g.meta("ClusterRoleBinding", "", &name, json!({}));
            g.add(json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": meta,
                         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role}, "subjects": [subj]}));
        } else if !app_ns.is_empty() {
            let (ns, _, _) = &app_ns[i % app_ns.len()];
            let (kind, role) = if g.rng.gen_bool(0.5) {
                ("ClusterRole", ["view", "edit", "admin"][g.rng.gen_range(0..3)].to_string())
            } else {
                ("Role", format!("deployer-{:05}", i % custom_roles.max(1)))
            };
            let name = format!("{}-{i:05}", role.split('-').next().unwrap_or("binding"));
            let meta = g.meta("RoleBinding", ns, &name, json!({}));
            g.add(json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": meta,
                         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": role}, "subjects": [subj]}));
        }
    }
}

/// The usual kinds of network policies, spread over most (not all) namespaces.
fn generate_netpols(g: &mut Gen, spec: &GenerateSpec, app_ns: &[(String, &str, &str)]) {
    if app_ns.is_empty() {
        return;
    }
    // About a quarter of namespaces never get a policy.
    let covered: Vec<&(String, &str, &str)> = app_ns.iter().filter(|_| !g.rng.gen_ratio(1, 4)).collect();
    let covered = if covered.is_empty() { app_ns.iter().collect() } else { covered };
    let mut made = 0;
    let mut round = 0;
    while made < spec.netpols {
        for (ns, team, _) in &covered {
            if made >= spec.netpols {
                break;
            }
            let (name, body) = match round {
                0 => ("default-deny-ingress", json!({"podSelector": {}, "policyTypes": ["Ingress"]})),
                1 => (
                    "allow-same-namespace",
                    json!({"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{"from": [{"podSelector": {}}]}]}),
                ),
                2 => (
                    "allow-dns-egress",
                    json!({"podSelector": {}, "policyTypes": ["Egress"], "egress": [{"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}, "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}], "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]}]}),
                ),
                3 => (
                    "allow-from-ingress",
                    json!({"podSelector": {"matchLabels": {"tier": "web"}}, "policyTypes": ["Ingress"], "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}], "ports": [{"port": 8080, "protocol": "TCP"}]}]}),
                ),
                4 => (
                    "allow-monitoring",
                    json!({"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}], "ports": [{"port": 9090, "protocol": "TCP"}]}]}),
                ),
                5 => (
                    "api-from-web",
                    json!({"podSelector": {"matchLabels": {"tier": "api"}}, "policyTypes": ["Ingress"], "ingress": [{"from": [{"podSelector": {"matchLabels": {"tier": "web"}}}], "ports": [{"port": 8080, "protocol": "TCP"}]}]}),
                ),
                6 => (
                    "egress-to-databases",
                    json!({"podSelector": {"matchExpressions": [{"key": "tier", "operator": "In", "values": ["api", "worker"]}]}, "policyTypes": ["Egress"], "egress": [{"to": [{"ipBlock": {"cidr": "10.200.0.0/16", "except": ["10.200.255.0/24"]}}], "ports": [{"port": 5432, "protocol": "TCP"}]}]}),
                ),
                7 => ("default-deny-egress", json!({"podSelector": {}, "policyTypes": ["Egress"]})),
                _ => (
                    "allow-team",
                    json!({"podSelector": {"matchLabels": {"app.kubernetes.io/part-of": team}}, "policyTypes": ["Ingress"], "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"team": team}}}]}]}),
                ),
            };
            let name = if round > 8 { format!("{name}-{round}") } else { name.to_string() };
            let meta = g.meta("NetworkPolicy", ns, &name, json!({}));
            g.add(json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": meta, "spec": body}));
            made += 1;
        }
        round += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::resources::find_plural;

    fn small() -> GenerateSpec {
        "nodes=12,namespaces=7,pods=300,roles=80,bindings=90,netpols=25,seed=9".parse().unwrap()
    }

    #[test]
    fn specs_parse_and_explain_mistakes() {
        let s = small();
        assert_eq!(
            (s.nodes, s.namespaces, s.pods, s.roles, s.bindings, s.netpols, s.seed),
            (12, 7, 300, 80, 90, 25, 9)
        );
        assert!("nodes=0".parse::<GenerateSpec>().unwrap_err().contains("at least one node"));
        assert!("pods=lots".parse::<GenerateSpec>().unwrap_err().contains("not a whole number"));
        assert!("replicas=3".parse::<GenerateSpec>().unwrap_err().contains("unknown key"));
    }

    #[test]
    fn generated_clusters_have_the_requested_counts() {
        let c = generate(&small());
        let count = |p: &str| c.count(find_plural(p).unwrap());
        assert_eq!(count("nodes"), 12);
        assert_eq!(count("namespaces"), 7 + 4);
        assert_eq!(count("pods"), 300);
        assert_eq!(count("roles") + count("clusterroles"), 80);
        assert_eq!(count("rolebindings") + count("clusterrolebindings"), 90);
        assert_eq!(count("networkpolicies"), 25);
        assert!(c.warnings().is_empty(), "{:?}", c.warnings());
        // Three control-plane nodes, each with its mirror pods.
        assert!(c.get(find_plural("pods").unwrap(), "kube-system", "kube-apiserver-cp-3").is_some());
        assert!(c.configz("worker-00009").is_some());
    }

    #[test]
    fn the_same_seed_gives_the_same_cluster() {
        let a = generate(&small());
        let b = generate(&small());
        let pods = find_plural("pods").unwrap();
        let names = |c: &ClusterData| {
            c.all(pods)
                .iter()
                .map(|o| (o.namespace.to_string(), o.name.to_string(), o.json.clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(names(&a), names(&b));
        let mut other = small();
        other.seed = 10;
        assert_ne!(names(&a), names(&generate(&other)));
    }
}
