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
    // No check reads `A`: its name is kept, its value is not (issue 18).
    assert_eq!(api[0].env.get("A").map(String::as_str), Some("redacted"));
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
    r.add_static_pod(&manifest, Some("cp-1"), None);
    let snap = r.finish("c", complete());
    let api: Vec<_> = snap.components_of(ComponentKind::KubeApiserver).collect();
    assert_eq!(api.len(), 1);
    assert_eq!(api[0].flag("profiling").as_deref(), Some("false"));
    assert_eq!(api[0].name, "kube-apiserver-cp-1");
}

#[test]
fn node_less_manifests_are_each_their_own_component_named_by_pod_or_file() {
    let mut r = Reducer::new(origin());
    let manifest = |name: &str| {
        let mut m = mirror_pod("cp-1");
        m["metadata"] = json!({"name": name, "namespace": "kube-system"});
        m["spec"].as_object_mut().unwrap().remove("nodeName");
        m
    };
    r.add_static_pod(&manifest("kube-apiserver"), None, Some("manifests/a/kube-apiserver.yaml"));
    r.add_static_pod(&manifest("kube-apiserver"), None, Some("manifests/b/kube-apiserver.yaml"));
    r.add_static_pod(&manifest(""), None, Some("manifests/apiserver-c.yaml"));
    // The same manifest on a node, with its mirror pod: still one component.
    r.add_object(&mirror_pod("cp-1"));
    r.add_static_pod(&manifest("kube-apiserver"), Some("cp-1"), Some("manifests/cp-1/kube-apiserver.yaml"));
    let snap = r.finish("c", complete());
    let mut names: Vec<_> =
        snap.components_of(ComponentKind::KubeApiserver).map(|c| c.name.clone()).collect();
    names.sort();
    assert_eq!(names, ["apiserver-c", "kube-apiserver", "kube-apiserver-2", "kube-apiserver-cp-1"]);
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

#[test]
fn agent_manifests_add_the_components_the_api_did_not_show_and_never_duplicate_one() {
    use crate::snapshot::host::{HostFacts, HostReport, StaticPod};
    let pod = |image: &str, flag: &str| {
        serde_json::json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "kube-apiserver", "namespace": "kube-system"},
            "spec": {"containers": [{"name": "kube-apiserver", "image": image,
                                     "command": ["kube-apiserver", flag]}]}})
    };
    let report = |node: &str, flag: &str| HostReport {
        node: node.into(),
        report_id: uuid::Uuid::nil(),
        collected_at: chrono::Utc::now(),
        received_at: chrono::Utc::now(),
        facts: HostFacts {
            manifests: vec![StaticPod {
                path: "/etc/kubernetes/manifests/kube-apiserver.yaml".into(),
                pod: pod("registry.k8s.io/kube-apiserver:v1.31.4", flag),
            }],
            ..Default::default()
        },
    };
    let mut snap = crate::snapshot::Snapshot::kubeadm_with_control_planes(1, 0);
    let api_node = snap.components.items[0].node.clone().unwrap();
    let before = snap.components.items.len();
    snap.add_host_reports(vec![
        report(&api_node, "--anonymous-auth=true"),
        report("cp-9", "--anonymous-auth=false"),
    ]);
    super::add_agent_components(&mut snap);
    assert_eq!(snap.components.items.len(), before + 1, "only cp-9's API server is new");
    let added = snap.components.items.last().unwrap();
    assert_eq!(added.node.as_deref(), Some("cp-9"));
    assert_eq!(added.origin.source, crate::snapshot::Source::NodeAgent);
    assert_eq!(added.flags.get("anonymous-auth"), Some("false"));
}
