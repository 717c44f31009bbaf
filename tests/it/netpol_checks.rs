//! The network findings (area `network`) as a user sees them in scan results.

use palisade::checks::{self, CheckOptions, CheckResult};
use palisade::domain::{Area, Status};
use palisade::snapshot::{Evidence, GapReason, Snapshot};

use super::netpol_support::{daemonset, namespace, pod, policy, snapshot};

fn run(snap: &Snapshot, options: &CheckOptions) -> Vec<CheckResult> {
    let ctx = checks::Context::new(snap);
    checks::catalog()
        .into_iter()
        .filter(|c| c.meta.area == Area::Network)
        .flat_map(|c| (c.run)(&c.meta, &ctx, options))
        .collect()
}

fn find<'a>(results: &'a [CheckResult], id: &str, name: &str) -> &'a CheckResult {
    results
        .iter()
        .find(|r| r.check_id == id && r.resource.name == name)
        .unwrap_or_else(|| panic!("no {id} result for {name}: {results:#?}"))
}

fn calico() -> palisade::snapshot::Workload {
    daemonset("kube-system", "calico-node", &["docker.io/calico/node:v3.28.0"])
}

fn flannel() -> palisade::snapshot::Workload {
    daemonset("kube-flannel", "kube-flannel-ds", &["docker.io/flannel/flannel:v0.25.1"])
}

fn shop_cluster(cni: palisade::snapshot::Workload) -> Snapshot {
    snapshot(
        vec![namespace("shop", &[]), namespace("blog", &[]), namespace("kube-system", &[])],
        vec![
            pod("shop", "api-1", &[("app", "api")]),
            pod("shop", "db-0", &[("app", "db")]),
            pod("blog", "wp-1", &[("app", "wp")]),
            pod("kube-system", "coredns-1", &[("k8s-app", "kube-dns")]),
        ],
        vec![
            policy("metadata: {name: default-deny, namespace: shop}\nspec:\n  podSelector: {}\n  policyTypes: [Ingress, Egress]\n"),
            policy(
                "metadata: {name: api-from-anywhere, namespace: shop}\nspec:\n  podSelector: {matchLabels: {app: api}}\n  ingress:\n  - {}\n",
            ),
            policy(
                "metadata: {name: db-typo, namespace: shop}\nspec:\n  podSelector: {matchLabels: {app: dbb}}\n  ingress:\n  - from: [{podSelector: {matchLabels: {app: api}}}]\n",
            ),
            policy(
                "metadata: {name: world-egress, namespace: shop}\nspec:\n  podSelector: {matchLabels: {app: api}}\n  policyTypes: [Egress]\n  egress:\n  - to: [{ipBlock: {cidr: 0.0.0.0/0}}]\n    ports: [{port: 443}]\n",
            ),
            policy(
                r#"
metadata: {name: dns-and-blog, namespace: shop}
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress:
  - to: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}}]
    ports: [{port: 53, protocol: UDP}]
  - to: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: blog}}}]
    ports: [{port: 80}]
"#,
            ),
        ],
        vec![cni],
    )
}

#[test]
fn flannel_alone_fails_the_cni_check_and_calico_passes_it() {
    let results = run(&shop_cluster(flannel()), &CheckOptions::default());
    let cni = find(&results, "PAL-NET-001", "test");
    assert_eq!(cni.status, Status::Fail);
    assert!(
        cni.evidence.contains("flannel") && cni.evidence.contains("5 NetworkPolicies have no effect"),
        "{}",
        cni.evidence
    );
    assert_eq!(cni.refs[0].id, "5.3.1");

    let results = run(&shop_cluster(calico()), &CheckOptions::default());
    assert_eq!(find(&results, "PAL-NET-001", "test").status, Status::Pass);
}

#[test]
fn an_unrecognized_plugin_is_unknown_not_a_pass() {
    let results = run(
        &shop_cluster(daemonset("kube-system", "kube-proxy", &["registry.k8s.io/kube-proxy:v1.31.0"])),
        &CheckOptions::default(),
    );
    assert_eq!(find(&results, "PAL-NET-001", "test").status, Status::Unknown);
}

#[test]
fn a_namespace_without_policies_fails_cis_5_3_2_and_one_with_policies_passes() {
    let results = run(&shop_cluster(calico()), &CheckOptions::default());
    let blog = find(&results, "PAL-NET-002", "blog");
    assert_eq!(blog.status, Status::Fail);
    assert_eq!(blog.refs[0].id, "5.3.2");
    assert_eq!(find(&results, "PAL-NET-002", "shop").status, Status::Pass);
    assert_eq!(find(&results, "PAL-NET-003", "shop").status, Status::Pass);
    assert_eq!(find(&results, "PAL-NET-004", "shop").status, Status::Pass);
    assert_eq!(find(&results, "PAL-NET-003", "blog").status, Status::Fail);
}

#[test]
fn system_namespaces_are_reported_by_their_own_checks_unless_excluded() {
    let results = run(&shop_cluster(calico()), &CheckOptions::default());
    assert!(!results.iter().any(|r| r.check_id == "PAL-NET-002" && r.resource.name == "kube-system"));
    assert_eq!(find(&results, "PAL-NET-102", "kube-system").status, Status::Fail);
    assert_eq!(find(&results, "PAL-NET-105", "coredns-1").status, Status::Fail);

    let options = CheckOptions { excluded_namespaces: vec!["kube-system".into()] };
    let results = run(&shop_cluster(calico()), &options);
    assert!(!results
        .iter()
        .any(|r| r.resource.name == "kube-system" || r.resource.namespace.as_deref() == Some("kube-system")));
}

#[test]
fn pods_no_policy_selects_are_reported() {
    let results = run(&shop_cluster(calico()), &CheckOptions::default());
    let wp = find(&results, "PAL-NET-005", "wp-1");
    assert_eq!(wp.status, Status::Fail);
    assert!(wp.evidence.contains("selected by no NetworkPolicy"));
    assert_eq!(find(&results, "PAL-NET-005", "db-0").status, Status::Pass);
}

#[test]
fn a_policy_selecting_nothing_is_flagged_as_dead() {
    let results = run(&shop_cluster(calico()), &CheckOptions::default());
    let typo = find(&results, "PAL-NET-006", "db-typo");
    assert_eq!(typo.status, Status::Warn);
    assert!(typo.evidence.contains("app=dbb") && typo.evidence.contains("app=db"), "{}", typo.evidence);
    assert_eq!(find(&results, "PAL-NET-006", "default-deny").status, Status::Pass);
}

#[test]
fn allow_all_rules_and_egress_to_the_whole_internet_are_flagged() {
    let results = run(&shop_cluster(calico()), &CheckOptions::default());
    assert_eq!(find(&results, "PAL-NET-007", "api-from-anywhere").status, Status::Fail);
    assert_eq!(find(&results, "PAL-NET-007", "default-deny").status, Status::Pass);
    let world = find(&results, "PAL-NET-008", "world-egress");
    assert_eq!(world.status, Status::Fail);
    assert!(world.evidence.contains("0.0.0.0/0"));
    // A policy that does not affect egress is not judged on egress.
    assert!(!results.iter().any(|r| r.check_id == "PAL-NET-008" && r.resource.name == "api-from-anywhere"));
}

#[test]
fn a_workload_every_namespace_reaches_is_flagged_and_an_isolated_one_is_not() {
    let results = run(&shop_cluster(calico()), &CheckOptions::default());
    // blog's wordpress is not isolated and shop's egress allows it: every namespace reaches it.
    let wp = find(&results, "PAL-NET-009", "wp-1");
    assert_eq!(wp.status, Status::Fail, "{}", wp.evidence);
    assert_eq!(find(&results, "PAL-NET-109", "coredns-1").status, Status::Fail);
    // api admits everyone (ingress: [{}]) but shop's own pods may not send to it (default-deny egress).
    let api = find(&results, "PAL-NET-009", "api-1");
    assert_eq!(api.status, Status::Pass);
    assert!(api.evidence.contains("reachable from 2 of 3"), "{}", api.evidence);
    let db = find(&results, "PAL-NET-009", "db-0");
    assert_eq!(db.status, Status::Pass);
    assert!(db.evidence.contains("reachable from 0 of 3"), "{}", db.evidence);
}

#[test]
fn isolation_written_in_policies_fails_when_the_plugin_ignores_them() {
    let results = run(&shop_cluster(flannel()), &CheckOptions::default());
    let deny = find(&results, "PAL-NET-003", "shop");
    assert_eq!(deny.status, Status::Fail);
    assert!(deny.evidence.contains("does not enforce"));
    assert_eq!(find(&results, "PAL-NET-009", "db-0").status, Status::Fail);
}

#[test]
fn forbidden_pods_make_the_network_checks_unknown_with_the_reason() {
    let mut snap = shop_cluster(calico());
    snap.pods = Evidence::unknown(None, GapReason::Forbidden, "pods is forbidden: User cannot list pods");
    let results = run(&snap, &CheckOptions::default());
    for id in ["PAL-NET-002", "PAL-NET-003", "PAL-NET-005", "PAL-NET-006", "PAL-NET-009"] {
        let r = find(&results, id, "test");
        assert_eq!(r.status, Status::Unknown, "{id}");
        assert!(r.evidence.contains("forbidden"), "{id}: {}", r.evidence);
    }
    assert!(!results.iter().any(|r| r.status == Status::Pass
        && r.check_id != "PAL-NET-001"
        && r.check_id != "PAL-NET-007"
        && r.check_id != "PAL-NET-008"));
}
