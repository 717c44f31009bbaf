//! The live collector against the real simulator over HTTPS: pagination, permissions, faults,
//! managed clusters and bad credentials.

use std::time::Duration;

use palisade::collect::client::{ClusterAuth, ClusterCredentials};
use palisade::collect::kube::{self, CollectError, LiveOptions};
use palisade::sim::faults::FaultRule;
use palisade::sim::settings::{Access, SimSettings};
use palisade::sim::store::{ClusterBuilder, ClusterData};
use palisade::sim::{SimConfig, SimHandle, SimServer};
use palisade::snapshot::{ComponentKind, ControlPlane, EvidenceState, GapReason, Snapshot, Source};
use serde_json::json;

/// A small kubeadm-like cluster: one control-plane node with its static pods, `workers` worker
/// nodes, `pods` workload pods spread over a few namespaces, RBAC, a secret and a policy.
fn cluster(name: &str, pods: usize, settings: SimSettings) -> ClusterData {
    let mut b = ClusterBuilder::new(name, settings);
    let mut add = |v: serde_json::Value| b.add_object(v).unwrap();
    add(json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "cp-1",
        "labels": {"node-role.kubernetes.io/control-plane": ""}},
        "status": {"nodeInfo": {"kubeletVersion": "v1.31.4", "osImage": "Ubuntu 24.04.1 LTS",
            "containerRuntimeVersion": "containerd://1.7.22"},
            "addresses": [{"type": "InternalIP", "address": "10.0.0.10"}]}}));
    for w in 1..=2 {
        add(json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": format!("worker-{w}")},
            "status": {"nodeInfo": {"kubeletVersion": "v1.31.4"}}}));
    }
    for ns in ["default", "kube-system", "shop", "data"] {
        add(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns,
            "labels": {"kubernetes.io/metadata.name": ns}}}));
        add(
            json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": ns}}),
        );
    }
    for i in 0..pods {
        let ns = if i % 2 == 0 { "shop" } else { "data" };
        add(
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": format!("web-{i}"), "namespace": ns,
            "labels": {"app": "web"}},
            "spec": {"nodeName": format!("worker-{}", 1 + i % 2), "containers": [{"name": "web",
                "image": "nginx:1.27", "ports": [{"containerPort": 8080}]}]}}),
        );
    }
    add(json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db", "namespace": "data"},
        "type": "Opaque", "data": {"password": "aHVudGVyMg=="}}));
    add(json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
        "metadata": {"name": "cluster-admin"}, "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]}));
    add(json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": "cluster-admin"}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io",
            "kind": "ClusterRole", "name": "cluster-admin"},
        "subjects": [{"kind": "Group", "name": "system:masters", "apiGroup": "rbac.authorization.k8s.io"}]}));
    add(json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
        "metadata": {"name": "reader", "namespace": "shop"}, "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]}));
    add(json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": "reader", "namespace": "shop"}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io",
            "kind": "Role", "name": "reader"}, "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": "shop"}]}));
    add(json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
        "metadata": {"name": "default-deny", "namespace": "data"}, "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}}));
    add(
        json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "calico-node", "namespace": "kube-system"},
        "spec": {"selector": {"matchLabels": {"k8s-app": "calico-node"}}, "template": {"metadata": {"labels": {"k8s-app": "calico-node"}},
            "spec": {"containers": [{"name": "calico-node", "image": "docker.io/calico/node:v3.28.2"}]}}}}),
    );
    b.add_static_pod(
        "cp-1",
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "kube-apiserver", "namespace": "kube-system",
            "labels": {"component": "kube-apiserver", "tier": "control-plane"}},
            "spec": {"hostNetwork": true, "containers": [{"name": "kube-apiserver",
                "image": "registry.k8s.io/kube-apiserver:v1.31.4",
                "command": ["kube-apiserver", "--authorization-mode=Node,RBAC", "--profiling=true",
                    "--anonymous-auth=false"]}]}}),
    );
    for node in ["cp-1", "worker-1", "worker-2"] {
        b.set_kubelet_config(
            node,
            json!({"kind": "KubeletConfiguration", "apiVersion": "kubelet.config.k8s.io/v1beta1",
                "readOnlyPort": 0, "authentication": {"anonymous": {"enabled": false}}}),
        );
    }
    b.finish()
}

async fn start(config: SimConfig) -> SimHandle {
    SimServer::start(config).await.expect("the simulator starts")
}

fn quick() -> LiveOptions {
    LiveOptions {
        request_timeout: Duration::from_secs(5),
        scan_timeout: Duration::from_secs(60),
        backoff: Duration::from_millis(20),
        egress: palisade::egress::Egress::loopback_only(),
        ..Default::default()
    }
}

#[tokio::test]
async fn a_live_scan_pages_through_every_resource_and_reduces_it_into_a_snapshot() {
    let sim = start(SimConfig::new(cluster("paged", 1_234, SimSettings::default()))).await;
    let opts = LiveOptions { page_size: 50, ..quick() };
    let before = sim.requests_served();
    let snap = kube::collect("paged", &sim.credentials(), opts).await.unwrap();
    // 1,234 workload pods + the apiserver's mirror pod, read in pages of 50.
    assert_eq!(snap.pods.len(), 1_235);
    assert!(snap.pods.is_complete());
    assert!(sim.requests_served() - before >= 1_235 / 50, "the pods were read in many pages");
    assert_eq!(snap.nodes.len(), 3);
    assert_eq!(snap.namespaces.len(), 4);
    assert_eq!(snap.cluster_role_bindings.len(), 1);
    assert_eq!(snap.roles.len(), 1);
    assert_eq!(snap.network_policies.len(), 1);
    assert_eq!(snap.cluster.control_plane, ControlPlane::SelfManaged);
    let api: Vec<_> = snap.components_of(ComponentKind::KubeApiserver).collect();
    assert_eq!(api.len(), 1, "the mirror pod is the API server");
    assert_eq!(api[0].node.as_deref(), Some("cp-1"));
    assert_eq!(api[0].flag("profiling").as_deref(), Some("true"));
    assert_eq!(api[0].origin.source, Source::Api);
    assert_eq!(snap.kubelets.len(), 3);
    assert!(snap.kubelets.is_complete(), "{:?}", snap.kubelets.state);
    let kubelet = snap.kubelets.iter().find(|k| k.node == "worker-2").unwrap();
    assert_eq!(kubelet.setting("read-only-port", "readOnlyPort").unwrap().0, "0");
    assert_eq!(snap.cni.as_ref().unwrap().plugins, vec!["calico".to_string()]);
    // Secrets are metadata only: the password never reaches the snapshot.
    let json = snap.to_json().unwrap();
    assert!(!json.contains("aHVudGVyMg=="));
    assert_eq!(Snapshot::from_json(&json).unwrap(), snap);
}

#[tokio::test]
async fn a_403_on_secrets_makes_only_secrets_unknown_and_the_scan_goes_on() {
    let config = SimConfig::new(cluster("no-secrets", 10, SimSettings::default()))
        .token_access(Access::all_except(&["secrets"]));
    let sim = start(config).await;
    let snap = kube::collect("no-secrets", &sim.credentials(), quick()).await.unwrap();
    match &snap.secrets.state {
        EvidenceState::Unknown { reason: GapReason::Forbidden, detail } => {
            assert!(detail.contains("secrets"), "{detail}")
        }
        other => panic!("secrets should be forbidden, got {other:?}"),
    }
    assert!(snap.gaps.iter().any(|g| g.what == "secrets" && g.reason == GapReason::Forbidden));
    assert!(
        snap.pods.is_complete() && snap.cluster_roles.is_complete() && snap.network_policies.is_complete()
    );
    assert_eq!(snap.pods.len(), 11);
}

#[tokio::test]
async fn forbidden_node_proxy_leaves_every_kubelet_unknown_with_the_reason() {
    let config = SimConfig::new(cluster("no-proxy", 1, SimSettings::default()))
        .token_access(Access::all_except(&["nodes/proxy"]));
    let sim = start(config).await;
    let snap = kube::collect("no-proxy", &sim.credentials(), quick()).await.unwrap();
    assert_eq!(snap.kubelets.len(), 3);
    assert!(matches!(snap.kubelets.state, EvidenceState::Unknown { reason: GapReason::Forbidden, .. }));
    assert!(snap.kubelets.iter().all(|k| k.config.is_none()
        && matches!(k.config_state, EvidenceState::Unknown { reason: GapReason::Forbidden, .. })));
    assert!(snap.nodes.is_complete());
}

#[tokio::test]
async fn a_route_that_times_out_is_unknown_timed_out_and_the_rest_is_collected() {
    let config = SimConfig::new(cluster("slow", 5, SimSettings::default()))
        .fault(FaultRule::on_resource("networkpolicies").latency(Duration::from_secs(5)));
    let sim = start(config).await;
    let opts = LiveOptions { request_timeout: Duration::from_millis(400), attempts: 2, ..quick() };
    let snap = kube::collect("slow", &sim.credentials(), opts).await.unwrap();
    assert!(
        matches!(snap.network_policies.state, EvidenceState::Unknown { reason: GapReason::TimedOut, .. }),
        "{:?}",
        snap.network_policies.state
    );
    assert!(snap.pods.is_complete() && snap.nodes.is_complete() && snap.secrets.is_complete());
}

#[tokio::test]
async fn a_dropped_connection_is_retried_and_the_list_completes() {
    let config = SimConfig::new(cluster("flaky", 120, SimSettings::default()))
        .fault(FaultRule::on_resource("pods").dropped().times(2));
    let sim = start(config).await;
    let opts = LiveOptions { page_size: 50, attempts: 3, ..quick() };
    let snap = kube::collect("flaky", &sim.credentials(), opts).await.unwrap();
    assert!(snap.pods.is_complete(), "{:?}", snap.pods.state);
    assert_eq!(snap.pods.len(), 121);
}

#[tokio::test]
async fn a_connection_dropped_every_time_gives_up_after_bounded_retries() {
    let config = SimConfig::new(cluster("down", 3, SimSettings::default()))
        .fault(FaultRule::on_resource("rolebindings").dropped());
    let sim = start(config).await;
    let snap =
        kube::collect("down", &sim.credentials(), LiveOptions { attempts: 3, ..quick() }).await.unwrap();
    assert!(matches!(
        snap.role_bindings.state,
        EvidenceState::Unknown { reason: GapReason::Unreachable, .. }
    ));
    assert!(snap.cluster_role_bindings.is_complete());
}

#[tokio::test]
async fn a_managed_cluster_is_recognized_and_its_control_plane_marked_not_visible() {
    let settings =
        SimSettings { managed: true, version: Some("v1.31.2-eks-7f9249a".into()), ..Default::default() };
    let sim = start(SimConfig::new(cluster("eks", 4, settings))).await;
    let snap = kube::collect("eks", &sim.credentials(), quick()).await.unwrap();
    match &snap.cluster.control_plane {
        ControlPlane::Managed { provider, evidence } => {
            assert_eq!(provider, "EKS");
            assert!(evidence.contains("no control-plane pods"), "{evidence}");
        }
        other => panic!("expected a managed control plane, got {other:?}"),
    }
    assert_eq!(snap.components_of(ComponentKind::KubeApiserver).count(), 0);
    assert!(matches!(snap.components.state, EvidenceState::Unknown { reason: GapReason::NotCollected, .. }));
    assert_eq!(snap.cluster.version.as_ref().unwrap().minor, 31);
}

#[tokio::test]
async fn a_wrong_token_is_a_clear_error_not_an_empty_snapshot() {
    let sim = start(SimConfig::new(cluster("locked", 1, SimSettings::default()))).await;
    let creds = ClusterCredentials {
        auth: ClusterAuth::Token { token: "not-the-token".into() },
        ..sim.credentials()
    };
    let err = kube::collect("locked", &creds, quick()).await.unwrap_err();
    assert!(matches!(err, CollectError::Unauthorized { .. }), "{err}");
    assert!(err.to_string().contains("rejected Palisade's credentials"), "{err}");
    assert!(!err.to_string().contains("not-the-token"), "the token is never echoed");
}

#[tokio::test]
async fn a_client_certificate_identity_is_accepted() {
    let sim = start(SimConfig::new(cluster("cert", 2, SimSettings::default()))).await;
    let snap = kube::collect("cert", &sim.cert_credentials(), quick()).await.unwrap();
    assert_eq!(snap.nodes.len(), 3);
}

#[tokio::test]
async fn an_unreachable_server_is_a_clear_error() {
    let creds = ClusterCredentials {
        server: "https://127.0.0.1:1".into(),
        ca_pem: None,
        tls_server_name: None,
        insecure_skip_tls_verify: false,
        auth: ClusterAuth::Token { token: "t".into() },
    };
    let err = kube::collect("gone", &creds, LiveOptions { attempts: 2, ..quick() }).await.unwrap_err();
    assert!(matches!(err, CollectError::Unreachable { .. }), "{err}");
    assert!(err.to_string().contains("cannot reach"), "{err}");
}

/// Everything in a snapshot except where and when it was observed, and the form of the kubelet
/// configurations (`/configz` serves the effective one, a dump holds the file as written).
fn without_origin(snap: &Snapshot) -> serde_json::Value {
    let mut v = serde_json::to_value(snap).unwrap();
    fn strip(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(m) => {
                m.remove("origin");
                m.remove("config_form");
                m.values_mut().for_each(strip);
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(strip),
            _ => {}
        }
    }
    strip(&mut v);
    v.as_object_mut().unwrap().remove("collected_at");
    v
}

#[tokio::test]
async fn a_sample_scanned_live_and_from_its_dump_gives_the_same_evidence() {
    let dir = palisade::sim::sample::samples_dir().join("kubeadm-default");
    // The nodes keep the sample's addresses (no loopback endpoints), so the evidence is the same.
    let sim =
        start(SimConfig::new(palisade::sim::sample::load_dir(&dir).unwrap()).without_node_endpoints()).await;
    let live = kube::collect("kubeadm-default", &sim.credentials(), quick()).await.unwrap();
    let offline = palisade::collect::dump::collect(&dir).unwrap();
    let (l, o) = (without_origin(&live), without_origin(&offline));
    for group in [
        "nodes",
        "namespaces",
        "service_accounts",
        "secrets",
        "roles",
        "cluster_roles",
        "role_bindings",
        "cluster_role_bindings",
        "network_policies",
        "daemonsets",
        "kubelets",
        "cni",
    ] {
        assert_eq!(l[group], o[group], "{group} differs between the live scan and the dump");
    }
    // The control plane: the dump's manifests and the live mirror pods are the same components.
    let flags = |s: &Snapshot| {
        let mut v: Vec<_> = s.components.iter().map(|c| (c.kind, c.node.clone(), c.flags.clone())).collect();
        v.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        v
    };
    assert_eq!(flags(&live), flags(&offline));
    assert_eq!(live.cluster.control_plane, ControlPlane::SelfManaged);
    assert_eq!(offline.cluster.control_plane, ControlPlane::SelfManaged);
    assert!(live.components_of(ComponentKind::KubeApiserver).count() >= 1);
    // The API also serves the static pods as mirror pods (owned by their Node); the dump has
    // them as manifests. Every other pod is the same.
    let not_mirror = |s: &Snapshot| {
        s.pods
            .iter()
            .filter(|p| p.owner.as_ref().is_none_or(|o| o.kind != "Node"))
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(not_mirror(&live), not_mirror(&offline));
    assert!(live.pods.len() > not_mirror(&live).len(), "mirror pods are served");
}

#[tokio::test]
async fn progress_is_reported_for_every_resource_and_the_kubelets() {
    let sim = start(SimConfig::new(cluster("progress", 30, SimSettings::default()))).await;
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = seen.clone();
    let opts = LiveOptions {
        page_size: 10,
        progress: Some(std::sync::Arc::new(move |p: &kube::Progress| sink.lock().unwrap().push(p.clone()))),
        ..quick()
    };
    kube::collect("progress", &sim.credentials(), opts).await.unwrap();
    let seen = seen.lock().unwrap();
    let listed: Vec<&str> = seen
        .iter()
        .filter_map(|p| match p {
            kube::Progress::Listed { resource, .. } => Some(*resource),
            _ => None,
        })
        .collect();
    assert_eq!(listed.len(), 11, "{listed:?}");
    assert!(seen.contains(&kube::Progress::Listed { resource: "pods", items: 31, state: "complete".into() }));
    assert!(
        seen.iter().filter(|p| matches!(p, kube::Progress::Listing { resource: "pods", .. })).count() >= 4
    );
    assert!(seen.contains(&kube::Progress::Kubelets { done: 3, total: 3 }));
}
