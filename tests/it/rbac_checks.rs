//! RBAC findings on real dumps read by the dump collector: a kubeadm default cluster (no false
//! alarm), a backdoored one, namespace-limited grants through aggregated ClusterRoles, anonymous
//! grants, default service accounts, legacy tokens and incomplete evidence.

use std::path::{Path, PathBuf};

use palisade::analysis::rbac::{Identity, Rbac, Request, WhoCanIndex};
use palisade::checks::rbac::CHECKS;
use palisade::checks::{CheckOptions, CheckResult, Context};
use palisade::collect::dump;
use palisade::domain::Status;
use palisade::snapshot::{Evidence, GapReason, Snapshot};

pub(crate) fn kubeadm_default_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/rbac_data/kubeadm-default")
}

/// A copy of the kubeadm default dump with `extra` written as one more YAML file.
pub(crate) fn kubeadm_default_with(extra: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(kubeadm_default_dir()).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
    }
    std::fs::write(dir.path().join("zz-extra.yaml"), extra).unwrap();
    dir
}

fn run(snapshot: &Snapshot) -> Vec<CheckResult> {
    let ctx = Context::new(snapshot);
    CHECKS.iter().flat_map(|c| (c.run)(&c.meta, &ctx, &CheckOptions::default())).collect()
}

fn of<'a>(results: &'a [CheckResult], id: &str) -> Vec<&'a CheckResult> {
    results.iter().filter(|r| r.check_id == id).collect()
}

fn only_result<'a>(results: &'a [CheckResult], id: &str) -> &'a CheckResult {
    let found = of(results, id);
    assert_eq!(found.len(), 1, "{id}: {found:#?}");
    found[0]
}

#[test]
fn a_kubeadm_default_cluster_raises_no_rbac_alarm() {
    let snapshot = dump::collect(kubeadm_default_dir()).unwrap();
    let results = run(&snapshot);
    for r in &results {
        match r.check_id.as_str() {
            // CIS 5.1.5 asks every `default` service account to opt out of token automounting;
            // kubeadm leaves it unset, so a CIS auditor expects these advisories.
            "PAL-AUTHZ-115" => {
                assert_eq!(r.status, Status::Warn, "{r:#?}");
                assert_eq!(r.resource.name, "default");
            }
            _ => assert_eq!(r.status, Status::Pass, "{r:#?}"),
        }
    }
    assert_eq!(of(&results, "PAL-AUTHZ-115").len(), 4, "one per namespace's default service account");
    let info = only_result(&results, "PAL-AUTHZ-100");
    assert!(
        info.evidence.contains("ClusterRoleBinding cluster-admin → Group system:masters"),
        "{}",
        info.evidence
    );
    assert!(
        info.evidence
            .contains("RoleBinding kube-public/kubeadm:bootstrap-signer-clusterinfo → User system:anonymous"),
        "{}",
        info.evidence
    );
    assert!(info.evidence.contains("ServiceAccount kube-system/generic-garbage-collector"));
}

pub(crate) const BACKDOOR: &str = r#"
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: web-backend, namespace: shop}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: metrics-helper}
rules:
- apiGroups: [""]
  resources: [nodes, pods]
  verbs: [get, list]
- apiGroups: [""]
  resources: [users, groups]
  verbs: [impersonate]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: metrics-helper}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: metrics-helper}
subjects:
- {kind: ServiceAccount, name: web-backend, namespace: shop}
"#;

#[test]
fn a_workload_service_account_that_can_impersonate_is_reported_as_a_backdoor() {
    let dir = kubeadm_default_with(BACKDOOR);
    let snapshot = dump::collect(dir.path()).unwrap();
    let results = run(&snapshot);
    let finding = only_result(&results, "PAL-AUTHZ-108");
    assert_eq!(finding.status, Status::Fail);
    assert_eq!(finding.resource.kind, "ClusterRoleBinding");
    assert_eq!(finding.resource.name, "metrics-helper");
    for needle in
        ["ServiceAccount shop/web-backend", "ClusterRole metrics-helper", "impersonate", "cluster-wide"]
    {
        assert!(finding.evidence.contains(needle), "{needle} missing from {}", finding.evidence);
    }
    // The controllers' own escalate grant (clusterrole-aggregation-controller) stays recognized.
    assert!(!finding.evidence.contains("clusterrole-aggregation-controller"));

    let rbac = Rbac::new(&snapshot);
    let backdoor = Identity::service_account("shop", "web-backend");
    assert!(rbac.authorize(&backdoor, &Request::resource("impersonate", "", "users", None)).is_allowed());
    assert!(!rbac
        .authorize(
            &Identity::service_account("shop", "other"),
            &Request::resource("impersonate", "", "users", None)
        )
        .is_allowed());
    let who = WhoCanIndex::build(&rbac).who_can(&Request::resource("impersonate", "", "groups", None));
    let non_system: Vec<_> = who.allowed.iter().filter(|e| e.system_default.is_none()).collect();
    assert_eq!(non_system.len(), 1, "{non_system:#?}");
    assert_eq!(non_system[0].subject.name, "web-backend");
}

#[test]
fn a_user_appended_to_the_cluster_admin_binding_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(kubeadm_default_dir()).unwrap() {
        let entry = entry.unwrap();
        let text = std::fs::read_to_string(entry.path()).unwrap();
        let text = text.replace(
            "  - {kind: Group, name: 'system:masters', apiGroup: rbac.authorization.k8s.io}\n",
            "  - {kind: Group, name: 'system:masters', apiGroup: rbac.authorization.k8s.io}\n  - {kind: User, name: mallory}\n",
        );
        std::fs::write(dir.path().join(entry.file_name()), text).unwrap();
    }
    let snapshot = dump::collect(dir.path()).unwrap();
    let results = run(&snapshot);
    let finding = only_result(&results, "PAL-AUTHZ-101");
    assert_eq!(finding.status, Status::Fail);
    assert_eq!(finding.resource.name, "cluster-admin");
    assert!(finding.evidence.contains("to User mallory"), "{}", finding.evidence);
    assert!(
        !finding.evidence.contains("system:masters"),
        "the default subject is not blamed: {}",
        finding.evidence
    );
    assert_eq!(
        only_result(&results, "PAL-AUTHZ-104").status,
        Status::Fail,
        "cluster-admin reads every secret"
    );
}

const TEAM_EDIT: &str = r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: alice-edit, namespace: team-a}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: edit}
subjects:
- {kind: User, name: alice, apiGroup: rbac.authorization.k8s.io}
"#;

#[test]
fn an_aggregated_cluster_role_bound_in_one_namespace_is_judged_in_that_namespace_only() {
    let dir = kubeadm_default_with(TEAM_EDIT);
    let snapshot = dump::collect(dir.path()).unwrap();
    let results = run(&snapshot);
    // `edit` gets its rules from system:aggregate-to-edit (and view, transitively).
    let exec = only_result(&results, "PAL-AUTHZ-107");
    assert_eq!(exec.status, Status::Warn);
    assert_eq!(exec.resource.kind, "RoleBinding");
    assert_eq!(exec.resource.namespace.as_deref(), Some("team-a"));
    assert!(
        exec.evidence.contains("aggregated from ClusterRole system:aggregate-to-edit"),
        "{}",
        exec.evidence
    );
    assert!(exec.evidence.contains("in namespace team-a"), "{}", exec.evidence);
    assert!(exec.evidence.contains("User alice"));
    assert_eq!(only_result(&results, "PAL-AUTHZ-110").status, Status::Fail);
    assert_eq!(only_result(&results, "PAL-AUTHZ-106").status, Status::Warn);
    // Reading secrets in team-a is not reading them cluster-wide or in kube-system.
    assert_eq!(only_result(&results, "PAL-AUTHZ-104").status, Status::Pass);

    let rbac = Rbac::new(&snapshot);
    let alice = Identity::user("alice", &[]);
    assert!(rbac.authorize(&alice, &Request::resource("get", "", "secrets", Some("team-a"))).is_allowed());
    assert!(!rbac.authorize(&alice, &Request::resource("get", "", "secrets", Some("team-b"))).is_allowed());
    assert!(rbac
        .authorize(&alice, &Request::resource("list", "apps", "deployments", Some("team-a")))
        .is_allowed());
    assert!(
        !rbac
            .authorize(
                &alice,
                &Request::resource("create", "rbac.authorization.k8s.io", "roles", Some("team-a"))
            )
            .is_allowed(),
        "admin-only"
    );
}

const ANONYMOUS: &str = r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: public-pods, namespace: default}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
subjects:
- {kind: Group, name: 'system:unauthenticated', apiGroup: rbac.authorization.k8s.io}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: everyone-views}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
subjects:
- {kind: Group, name: 'system:authenticated', apiGroup: rbac.authorization.k8s.io}
"#;

#[test]
fn grants_to_anonymous_and_to_every_authenticated_user_are_reported_beyond_the_defaults() {
    let dir = kubeadm_default_with(ANONYMOUS);
    let snapshot = dump::collect(dir.path()).unwrap();
    let results = run(&snapshot);
    let anon = only_result(&results, "PAL-AUTHZ-102");
    assert_eq!(anon.status, Status::Fail);
    assert_eq!(anon.resource.name, "public-pods");
    assert!(anon.evidence.contains("Group system:unauthenticated"));
    let broad = only_result(&results, "PAL-AUTHZ-103");
    assert_eq!(broad.status, Status::Fail);
    assert_eq!(broad.resource.name, "everyone-views");

    let rbac = Rbac::new(&snapshot);
    let pods = Request::resource("list", "", "pods", Some("default"));
    assert!(rbac.authorize(&Identity::anonymous(), &pods).is_allowed());
    assert!(!rbac
        .authorize(&Identity::anonymous(), &Request::resource("list", "", "pods", Some("shop")))
        .is_allowed());
}

const DEFAULT_SA: &str = r#"
apiVersion: v1
kind: ServiceAccount
metadata: {name: default, namespace: team-a}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: default, namespace: team-b}
automountServiceAccountToken: false
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: default-view, namespace: team-a}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
subjects:
- {kind: ServiceAccount, name: default}
---
apiVersion: v1
kind: Pod
metadata: {name: web-1, namespace: team-a}
spec: {containers: [{name: web, image: nginx}]}
---
apiVersion: v1
kind: Pod
metadata: {name: batch-1, namespace: team-a}
spec: {automountServiceAccountToken: false, containers: [{name: batch, image: busybox}]}
---
apiVersion: v1
kind: Pod
metadata: {name: web-1, namespace: team-b}
spec: {containers: [{name: web, image: nginx}]}
---
apiVersion: v1
kind: Secret
metadata:
  name: ci-token
  namespace: team-a
  annotations: {kubernetes.io/service-account.name: ci}
type: kubernetes.io/service-account-token
"#;

#[test]
fn default_service_accounts_in_use_and_legacy_tokens_are_reported() {
    let dir = kubeadm_default_with(DEFAULT_SA);
    let snapshot = dump::collect(dir.path()).unwrap();
    let results = run(&snapshot);
    let bound = only_result(&results, "PAL-AUTHZ-114");
    assert_eq!(bound.resource.name, "default-view");
    // A ServiceAccount subject without a namespace is the RoleBinding's namespace's.
    assert!(bound.evidence.contains("ServiceAccount team-a/default"), "{}", bound.evidence);
    let automount = of(&results, "PAL-AUTHZ-115");
    let team_b = automount.iter().find(|r| r.resource.namespace.as_deref() == Some("team-b")).unwrap();
    assert_eq!(team_b.status, Status::Pass);
    let pods = of(&results, "PAL-AUTHZ-116");
    assert_eq!(pods.len(), 1, "{pods:#?}");
    assert_eq!(pods[0].resource.namespace.as_deref(), Some("team-a"));
    assert_eq!(pods[0].resource.name, "web-1");
    let token = only_result(&results, "PAL-AUTHZ-117");
    assert_eq!(token.status, Status::Fail);
    assert!(token.evidence.contains("ServiceAccount team-a/ci"));
}

#[test]
fn forbidden_rbac_evidence_gives_unknown_results_with_the_reason_never_a_pass() {
    let mut snapshot = dump::collect(kubeadm_default_dir()).unwrap();
    snapshot.cluster_role_bindings = Evidence::unknown(
        None,
        GapReason::Forbidden,
        "clusterrolebindings.rbac.authorization.k8s.io is forbidden",
    );
    snapshot.secrets = Evidence::unknown(None, GapReason::Forbidden, "secrets is forbidden");
    let results = run(&snapshot);
    for id in
        ["PAL-AUTHZ-100", "PAL-AUTHZ-101", "PAL-AUTHZ-104", "PAL-AUTHZ-105", "PAL-AUTHZ-108", "PAL-AUTHZ-117"]
    {
        let found = of(&results, id);
        assert!(!found.is_empty(), "{id}");
        assert!(found.iter().all(|r| r.status != Status::Pass), "{id}: {found:#?}");
        let unknown = found.iter().find(|r| r.status == Status::Unknown).unwrap_or_else(|| panic!("{id}"));
        assert!(unknown.evidence.contains("forbidden"), "{}", unknown.evidence);
    }
}
