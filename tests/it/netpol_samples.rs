//! Network verdicts on the bundled sample clusters (data/samples), as their README says an auditor
//! should find them, read through the real dump collector.

use palisade::checks::{self, CheckOptions, CheckResult};
use palisade::domain::{Area, Status};

fn network_results(sample: &str) -> Vec<CheckResult> {
    let dir = format!("{}/data/samples/{sample}", env!("CARGO_MANIFEST_DIR"));
    let snap = palisade::collect::dump::collect(&dir).expect("sample reads");
    let ctx = checks::Context::new(&snap);
    checks::catalog()
        .into_iter()
        .filter(|c| c.meta.area == Area::Network)
        .flat_map(|c| (c.run)(&c.meta, &ctx, &CheckOptions::default()))
        .collect()
}

fn status(results: &[CheckResult], id: &str, name: &str) -> Status {
    results
        .iter()
        .find(|r| r.check_id == id && r.resource.name == name)
        .unwrap_or_else(|| panic!("no {id} result for {name}"))
        .status
}

#[test]
fn the_hardened_sample_enforces_default_deny_where_its_readme_says() {
    let r = network_results("hardened");
    assert_eq!(status(&r, "PAL-NET-001", "hardened"), Status::Pass, "calico enforces");
    for ns in ["shop", "default"] {
        assert_eq!(status(&r, "PAL-NET-003", ns), Status::Pass, "{ns} ingress");
        assert_eq!(status(&r, "PAL-NET-004", ns), Status::Pass, "{ns} egress");
    }
    // monitoring: default-deny ingress only.
    assert_eq!(status(&r, "PAL-NET-003", "monitoring"), Status::Pass);
    assert_eq!(status(&r, "PAL-NET-004", "monitoring"), Status::Fail);
    // System namespaces, reported separately: kube-system has only the CoreDNS ingress policy.
    assert_eq!(status(&r, "PAL-NET-102", "kube-system"), Status::Pass);
    assert_eq!(status(&r, "PAL-NET-103", "kube-system"), Status::Fail);
    assert_eq!(status(&r, "PAL-NET-102", "kube-node-lease"), Status::Fail);
}

#[test]
fn the_legacy_sample_runs_flannel_which_ignores_policies_and_has_none() {
    let r = network_results("legacy");
    assert_eq!(status(&r, "PAL-NET-001", "legacy"), Status::Fail);
    let tenant: Vec<&CheckResult> = r.iter().filter(|x| x.check_id == "PAL-NET-002").collect();
    assert!(!tenant.is_empty());
    assert!(tenant.iter().all(|x| x.status == Status::Fail), "no namespace has a policy");
}

#[test]
fn the_kubeadm_default_sample_has_no_network_policies_anywhere() {
    let r = network_results("kubeadm-default");
    assert!(r
        .iter()
        .filter(|x| x.check_id == "PAL-NET-002" || x.check_id == "PAL-NET-102")
        .all(|x| x.status == Status::Fail));
    assert!(r.iter().any(|x| x.check_id == "PAL-NET-005" && x.status == Status::Fail));
}

#[test]
fn the_managed_sample_isolates_payments_ingress_and_cannot_tell_whether_the_vpc_cni_enforces() {
    let r = network_results("managed");
    // The VPC CNI's policy agent is present; whether enforcement is switched on is an add-on
    // setting the snapshot does not hold.
    assert_eq!(status(&r, "PAL-NET-001", "managed"), Status::Unknown);
    assert_eq!(status(&r, "PAL-NET-002", "payments"), Status::Pass);
    assert_eq!(status(&r, "PAL-NET-003", "payments"), Status::Pass);
    assert_eq!(status(&r, "PAL-NET-004", "payments"), Status::Fail);
}
