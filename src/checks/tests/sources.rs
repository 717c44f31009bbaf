//! Where evidence comes from and how much of it: one result per instance, managed clusters, missing
//! evidence, and flags read the way the components read them (command line over config file).

use super::*;

#[test]
fn a_control_plane_with_three_api_servers_gives_three_results() {
    let snap = Snapshot::kubeadm_with_control_planes(3, 2).with_apiserver_flag("profiling", "false");
    let r = run("PAL-AUTHZ-011", &snap);
    assert_eq!(r.len(), 3);
    let nodes: Vec<_> = r.iter().map(|x| x.resource.node.clone().unwrap()).collect();
    assert_eq!(nodes, ["cp-1", "cp-2", "cp-3"]);
    assert!(r.iter().all(|x| x.status == Status::Pass));
}

#[test]
fn one_bad_api_server_among_three_fails_only_its_own_result() {
    let mut snap = Snapshot::kubeadm_with_control_planes(3, 0);
    for c in snap.components.items.iter_mut() {
        if c.kind == ComponentKind::KubeApiserver && c.node.as_deref() == Some("cp-2") {
            c.flags.set("authorization-mode", Some("AlwaysAllow"));
        }
    }
    let r = run("PAL-AUTHZ-001", &snap);
    let failing: Vec<_> =
        r.iter().filter(|x| x.status == Status::Fail).map(|x| x.resource.name.as_str()).collect();
    assert_eq!(failing, ["kube-apiserver-cp-2"]);
}

#[test]
fn control_plane_checks_are_not_applicable_on_a_managed_cluster_but_kubelet_checks_run() {
    let snap = k().managed();
    // PAL-TLS-090 judges Palisade's own connection, which a managed cluster has too, and the probe
    // checks (PAL-TLS-2NN, PAL-AUTHN-2NN, and the nodes' SSH: PAL-HOST-1NN) judge what answers on
    // the network, managed or not.
    let probe = |id: &str| {
        id.starts_with("PAL-TLS-2") || id.starts_with("PAL-AUTHN-2") || id.starts_with("PAL-HOST-1")
    };
    let covered: Vec<&str> =
        cases().iter().map(|c| c.id).filter(|id| *id != "PAL-TLS-090" && !probe(id)).collect();
    for check in catalog().into_iter().filter(|c| covered.contains(&c.meta.id)) {
        let results = check.run_on(&snap, &CheckOptions::default());
        let kubelet = results.iter().any(|r| r.resource.kind == "kubelet");
        for r in &results {
            if kubelet {
                assert_ne!(r.status, Status::NotApplicable, "{}", check.meta.id);
            } else {
                assert_eq!(r.status, Status::NotApplicable, "{}: {}", check.meta.id, r.evidence);
                assert!(r.evidence.contains("managed by eks"), "{}", r.evidence);
            }
        }
    }
}

#[test]
fn missing_component_evidence_is_unknown_with_the_reason_never_pass() {
    let snap = k().without_component_evidence();
    for id in ["PAL-AUTHN-002", "PAL-AUTHZ-001", "PAL-TLS-011", "PAL-AUTHN-013", "PAL-AUTHZ-021"] {
        let r = run(id, &snap);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].status, Status::Unknown, "{id}");
        assert!(r[0].evidence.contains("forbidden"), "{id}: {}", r[0].evidence);
        assert_eq!(r[0].source, None);
    }
}

#[test]
fn a_self_managed_cluster_without_an_api_server_pod_is_unknown() {
    let mut snap = k();
    snap.components.items.retain(|c| c.kind != ComponentKind::KubeApiserver);
    let r = run("PAL-AUTHN-001", &snap);
    assert_eq!(r[0].status, Status::Unknown);
    assert!(r[0].evidence.contains("no kube-apiserver instance"), "{}", r[0].evidence);
}

#[test]
fn missing_kubelet_evidence_is_unknown_per_node() {
    let snap = k().without_kubelet_evidence();
    let r = run("PAL-AUTHN-020", &snap);
    assert_eq!(r.len(), 2);
    assert!(r.iter().all(|x| x.status == Status::Unknown && x.evidence.contains("forbidden")));
    // A node with no kubelet entry at all is unknown too.
    let mut snap = k();
    snap.kubelets.items.retain(|x| x.node != "worker-1");
    let r = run("PAL-AUTHN-020", &snap);
    let w = r.iter().find(|x| x.resource.name == "worker-1").unwrap();
    assert_eq!(w.status, Status::Unknown);
}

#[test]
fn a_bare_boolean_flag_reads_true() {
    let snap = k().with_bare_flag(ComponentKind::Etcd, "auto-tls");
    let r = run("PAL-TLS-012", &snap);
    assert_eq!(r[0].status, Status::Fail);
    assert!(r[0].evidence.contains("runs with --auto-tls;"), "{}", r[0].evidence);
}

#[test]
fn the_kubelet_command_line_overrides_its_config_file() {
    let snap = k().with_kubelet_flag("anonymous-auth", "true");
    let r = run("PAL-AUTHN-020", &snap);
    assert!(r.iter().all(|x| x.status == Status::Fail));
    assert!(r[0].evidence.contains("--anonymous-auth=true on its command line"), "{}", r[0].evidence);
    let snap = k()
        .with_kubelet_config("authorization.mode", json!("AlwaysAllow"))
        .with_kubelet_flag("authorization-mode", "Webhook");
    assert!(run("PAL-AUTHZ-030", &snap).iter().all(|x| x.status == Status::Pass));
}

#[test]
fn a_kubelet_without_a_config_file_is_judged_by_its_flag_defaults() {
    let snap = k().with_kubelets_without_config_file();
    let anon = run("PAL-AUTHN-020", &snap);
    assert!(anon.iter().all(|x| x.status == Status::Fail));
    assert!(anon[0].evidence.contains("default true"), "{}", anon[0].evidence);
    assert!(run("PAL-AUTHZ-030", &snap).iter().all(|x| x.status == Status::Fail));
    // CIS accepts an unset read-only port, but without a config file the kubelet opens 10255.
    let ro = run("PAL-AUTHN-022", &snap);
    assert!(ro.iter().all(|x| x.status == Status::Warn), "{}", ro[0].evidence);
    assert!(ro[0].evidence.contains("10255"));
}

#[test]
fn a_kubelet_default_names_the_version_it_was_assumed_for() {
    let r = run("PAL-AUTHN-020", &k().without_kubelet_config("authentication.anonymous"));
    assert!(r[0].evidence.contains("v1.31.4"), "{}", r[0].evidence);
    assert!(r[0].evidence.contains("default false"), "{}", r[0].evidence);
}
