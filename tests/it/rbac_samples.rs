//! RBAC verdicts on the bundled sample clusters (data/samples), as an auditor reading
//! data/samples/README.md expects them: the named risky grants are reported, and nothing granted
//! by Kubernetes, kubeadm or the provider to its own components is.

use std::collections::BTreeSet;
use std::path::Path;

use palisade::checks::rbac::CHECKS;
use palisade::checks::{CheckOptions, CheckResult, Context};
use palisade::collect::dump;
use palisade::domain::Status;

fn verdicts(sample: &str) -> Vec<CheckResult> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/samples").join(sample);
    let snapshot = dump::collect(&dir).unwrap();
    let ctx = Context::new(&snapshot);
    CHECKS.iter().flat_map(|c| (c.run)(&c.meta, &ctx, &CheckOptions::default())).collect()
}

/// The resources (`kind namespace/name`) a check did not pass on.
fn flagged(results: &[CheckResult], id: &str) -> BTreeSet<String> {
    results
        .iter()
        .filter(|r| r.check_id == id && r.status != Status::Pass)
        .map(|r| {
            format!(
                "{} {}/{}",
                r.resource.kind,
                r.resource.namespace.as_deref().unwrap_or(""),
                r.resource.name
            )
        })
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn kubeadm_default_reports_only_the_ci_deployer_admin_and_the_shop_developers_exec() {
    let results = verdicts("kubeadm-default");
    assert_eq!(flagged(&results, "PAL-AUTHZ-101"), set(&["ClusterRoleBinding /ci-deployer-admin"]));
    let evidence = &results.iter().find(|r| r.check_id == "PAL-AUTHZ-101").unwrap().evidence;
    assert!(evidence.contains("ServiceAccount kube-system/ci-deployer"), "{evidence}");
    assert!(
        flagged(&results, "PAL-AUTHZ-102").is_empty(),
        "the kubeadm anonymous cluster-info read is a default"
    );
    assert!(flagged(&results, "PAL-AUTHZ-103").is_empty());
    // Every other grant finding is the ci-deployer's cluster-admin or the shop developers' exec.
    for r in results.iter().filter(|r| r.status != Status::Pass) {
        let id: u32 = r.check_id.trim_start_matches("PAL-AUTHZ-").parse().unwrap();
        if (101..=114).contains(&id) && id != 105 {
            assert!(
                r.resource.name == "ci-deployer-admin" || r.resource.name == "shop-developers",
                "unexpected finding: {r:#?}"
            );
        }
    }
    let exec = flagged(&results, "PAL-AUTHZ-107");
    assert!(exec.iter().any(|r| r.contains("shop/")), "{exec:?}");
    // No built-in system:* or kubeadm:* role is reported for its wildcards.
    assert!(flagged(&results, "PAL-AUTHZ-105")
        .iter()
        .all(|r| !r.contains("system:") && !r.contains("kubeadm:")));
}

#[test]
fn hardened_has_no_rbac_finding_and_default_accounts_do_not_automount() {
    let results = verdicts("hardened");
    for r in &results {
        assert_eq!(r.status, Status::Pass, "{r:#?}");
    }
    assert!(results.iter().any(|r| r.check_id == "PAL-AUTHZ-115"), "default service accounts were judged");
}

#[test]
fn legacy_reports_anonymous_admin_tiller_jenkins_secret_readers_impersonators_and_old_tokens() {
    let results = verdicts("legacy");
    let admins = flagged(&results, "PAL-AUTHZ-101");
    for b in ["anonymous-admin", "tiller-cluster-rule", "jenkins-admin"] {
        assert!(admins.iter().any(|r| r.ends_with(&format!("/{b}"))), "{b} missing from {admins:?}");
    }
    assert_eq!(flagged(&results, "PAL-AUTHZ-102"), set(&["ClusterRoleBinding /anonymous-admin"]));
    assert_eq!(flagged(&results, "PAL-AUTHZ-103"), set(&["ClusterRoleBinding /all-can-read-secrets"]));
    assert!(flagged(&results, "PAL-AUTHZ-104").contains("ClusterRoleBinding /all-can-read-secrets"));
    assert!(flagged(&results, "PAL-AUTHZ-108").contains("ClusterRoleBinding /ops-impersonation"));
    assert!(flagged(&results, "PAL-AUTHZ-105").contains("Role billing/billing-admin"));
    assert!(flagged(&results, "PAL-AUTHZ-117").iter().any(|r| r.starts_with("Secret ")));
}

#[test]
fn managed_reports_the_platform_admins_and_the_eks_leftover_but_not_eks_components() {
    let results = verdicts("managed");
    assert_eq!(flagged(&results, "PAL-AUTHZ-101"), set(&["ClusterRoleBinding /platform-admins"]));
    assert_eq!(
        flagged(&results, "PAL-AUTHZ-103"),
        set(&["ClusterRoleBinding /eks:podsecuritypolicy:authenticated"])
    );
    for r in results.iter().filter(|r| r.status != Status::Pass && r.resource.kind.ends_with("Binding")) {
        assert!(
            r.resource.name == "platform-admins" || r.resource.name == "eks:podsecuritypolicy:authenticated",
            "unexpected finding: {r:#?}"
        );
    }
}
