//! Command lines as the components read them, from the shapes collectors meet: a static pod whose
//! command is a shell script, and a kubeadm v1beta4 ClusterConfiguration whose `extraArgs` list
//! repeats a name.

use palisade::collect::reduce::{component_from_pod, kubeadm_components};
use palisade::snapshot::{ComponentKind, FlagValue, Origin, Source};
use serde_json::json;

fn origin() -> Origin {
    Origin::new(Source::Dump, chrono::Utc::now())
}

fn value(v: FlagValue) -> String {
    match v {
        FlagValue::Set { value, .. } => value,
        other => panic!("expected a value, got {other:?}"),
    }
}

#[test]
fn a_static_pod_wrapped_in_sh_c_is_read_with_shell_quoting_and_exec_dropped() {
    let pod = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "kube-apiserver-cp-1", "namespace": "kube-system"},
        "spec": {"containers": [{
            "name": "kube-apiserver",
            "command": ["/bin/sh", "-c",
                "exec kube-apiserver --authorization-mode='Node,RBAC' --audit-log-path=\"/var/log/kube audit.log\" --anonymous-auth=${ANON}"]
        }]}
    });
    let c = component_from_pod(&pod, Some("cp-1"), origin()).expect("a component");
    assert_eq!(c.kind, ComponentKind::KubeApiserver);
    assert_eq!(value(c.flag_value("authorization-mode")), "Node,RBAC");
    assert_eq!(value(c.flag_value("audit-log-path")), "/var/log/kube audit.log");
    assert!(matches!(c.flag_value("anonymous-auth"), FlagValue::Unknown(_)));
}

#[test]
fn kubeadm_v1beta4_extra_args_keep_every_repeated_entry_in_order() {
    let config = json!({
        "apiVersion": "kubeadm.k8s.io/v1beta4", "kind": "ClusterConfiguration",
        "apiServer": {"extraArgs": [
            {"name": "authorization-mode", "value": "AlwaysAllow"},
            {"name": "enable-admission-plugins", "value": "NodeRestriction"},
            {"name": "authorization-mode", "value": "Node,RBAC"},
            {"name": "enable-admission-plugins", "value": "AlwaysAdmit"},
            {"name": "profiling", "value": "true"},
            {"name": "profiling", "value": "false"}
        ]}
    });
    let all = kubeadm_components(&config, &origin());
    let api = all.iter().find(|c| c.kind == ComponentKind::KubeApiserver).expect("an API server");
    // kubeadm replaces its own --authorization-mode=Node,RBAC with both entries, in order; the
    // API server appends them, so AlwaysAllow stays first.
    assert_eq!(value(api.flag_value("authorization-mode")), "AlwaysAllow,Node,RBAC");
    assert_eq!(value(api.flag_value("enable-admission-plugins")), "NodeRestriction,AlwaysAdmit");
    // A scalar: the last entry wins.
    assert_eq!(value(api.flag_value("profiling")), "false");
}
