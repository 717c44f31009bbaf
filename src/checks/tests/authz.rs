//! Authorization (PAL-AUTHZ-*): authorization modes, admission and the kubelet's authorization.

use super::*;

pub(super) fn cases() -> Vec<Case> {
    use Status::*;
    vec![
        Case {
            id: "PAL-AUTHZ-001",
            pass: k,
            fail: || k().with_apiserver_flag("authorization-mode", "AlwaysAllow"),
            fail_status: Fail,
            absent: || k().without_apiserver_flag("authorization-mode"),
            absent_status: Fail,
        },
        Case {
            id: "PAL-AUTHZ-002",
            pass: k,
            fail: || k().with_apiserver_flag("authorization-mode", "RBAC"),
            fail_status: Fail,
            absent: || k().without_apiserver_flag("authorization-mode"),
            absent_status: Fail,
        },
        Case {
            id: "PAL-AUTHZ-003",
            pass: k,
            fail: || k().with_apiserver_flag("authorization-mode", "Node"),
            fail_status: Fail,
            absent: || k().without_apiserver_flag("authorization-mode"),
            absent_status: Fail,
        },
        Case {
            id: "PAL-AUTHZ-004",
            pass: k,
            fail: || k().with_apiserver_flag("authorization-mode", "Node,RBAC,ABAC"),
            fail_status: Fail,
            absent: || k().without_apiserver_flag("authorization-mode"),
            absent_status: Pass,
        },
        Case {
            id: "PAL-AUTHZ-005",
            pass: k,
            fail: || k().with_apiserver_flag("enable-admission-plugins", "NodeRestriction,AlwaysAdmit"),
            fail_status: Fail,
            absent: || k().without_apiserver_flag("enable-admission-plugins"),
            absent_status: Pass,
        },
        Case {
            id: "PAL-AUTHZ-006",
            pass: k,
            fail: || k().with_apiserver_flag("enable-admission-plugins", "AlwaysPullImages"),
            fail_status: Fail,
            absent: || k().without_apiserver_flag("enable-admission-plugins"),
            absent_status: Fail,
        },
        Case {
            id: "PAL-AUTHZ-007",
            pass: || k().with_apiserver_flag("disable-admission-plugins", "DefaultStorageClass"),
            fail: || k().with_apiserver_flag("disable-admission-plugins", "ServiceAccount"),
            fail_status: Fail,
            absent: k,
            absent_status: Pass,
        },
        Case {
            id: "PAL-AUTHZ-008",
            pass: || k().with_apiserver_flag("disable-admission-plugins", "DefaultStorageClass"),
            fail: || k().with_apiserver_flag("disable-admission-plugins", "NamespaceLifecycle"),
            fail_status: Fail,
            absent: k,
            absent_status: Pass,
        },
        Case {
            id: "PAL-AUTHZ-009",
            pass: || k().with_apiserver_flag("enable-admission-plugins", "NodeRestriction,EventRateLimit"),
            fail: k,
            fail_status: Warn,
            absent: || k().without_apiserver_flag("enable-admission-plugins"),
            absent_status: Warn,
        },
        Case {
            id: "PAL-AUTHZ-010",
            pass: || k().with_apiserver_flag("enable-admission-plugins", "NodeRestriction,AlwaysPullImages"),
            fail: k,
            fail_status: Warn,
            absent: || k().without_apiserver_flag("enable-admission-plugins"),
            absent_status: Warn,
        },
        Case {
            id: "PAL-AUTHZ-011",
            pass: || k().with_apiserver_flag("profiling", "false"),
            fail: || k().with_apiserver_flag("profiling", "true"),
            fail_status: Fail,
            absent: k,
            absent_status: Fail,
        },
        Case {
            id: "PAL-AUTHZ-012",
            pass: || k().with_apiserver_flag("audit-log-path", "/var/log/kubernetes/audit/audit.log"),
            fail: k,
            fail_status: Fail,
            absent: k,
            absent_status: Fail,
        },
        Case {
            id: "PAL-AUTHZ-013",
            pass: || k().with_apiserver_flag("audit-log-maxage", "30"),
            fail: || k().with_apiserver_flag("audit-log-maxage", "7"),
            fail_status: Fail,
            absent: k,
            absent_status: Fail,
        },
        Case {
            id: "PAL-AUTHZ-014",
            pass: || k().with_apiserver_flag("audit-log-maxbackup", "10"),
            fail: || k().with_apiserver_flag("audit-log-maxbackup", "ten"),
            fail_status: Fail,
            absent: k,
            absent_status: Fail,
        },
        Case {
            id: "PAL-AUTHZ-015",
            pass: || k().with_apiserver_flag("audit-log-maxsize", "200"),
            fail: || k().with_apiserver_flag("audit-log-maxsize", "99"),
            fail_status: Fail,
            absent: k,
            absent_status: Fail,
        },
        Case {
            id: "PAL-AUTHZ-016",
            pass: || k().with_apiserver_flag("audit-policy-file", "/etc/kubernetes/audit-policy.yaml"),
            fail: k,
            fail_status: Warn,
            absent: k,
            absent_status: Warn,
        },
        Case {
            id: "PAL-AUTHZ-020",
            pass: || k().with_flag(CM, "profiling", "false"),
            fail: || k().with_flag(CM, "profiling", "true"),
            fail_status: Fail,
            absent: k,
            absent_status: Fail,
        },
        Case {
            id: "PAL-AUTHZ-021",
            pass: || k().with_flag(SCHED, "profiling", "false"),
            fail: || k().with_flag(SCHED, "profiling", "true"),
            fail_status: Fail,
            absent: k,
            absent_status: Fail,
        },
        Case {
            id: "PAL-AUTHZ-030",
            pass: k,
            fail: || k().with_kubelet_config("authorization.mode", json!("AlwaysAllow")),
            fail_status: Fail,
            absent: || k().without_kubelet_config("authorization"),
            absent_status: Pass,
        },
        Case {
            id: "PAL-AUTHZ-017",
            pass: || {
                k().with_apiserver_flag("enable-admission-plugins", "NodeRestriction,DenyServiceExternalIPs")
            },
            fail: k,
            fail_status: Warn,
            absent: || k().without_apiserver_flag("enable-admission-plugins"),
            absent_status: Warn,
        },
    ]
}

#[test]
fn authorization_config_files_are_read_when_collected() {
    let path = "/etc/kubernetes/authz.yaml";
    let good = "apiVersion: apiserver.config.k8s.io/v1\nkind: AuthorizationConfiguration\nauthorizers:\n  - type: Node\n    name: node\n  - type: RBAC\n    name: rbac\n";
    let snap = k()
        .without_apiserver_flag("authorization-mode")
        .with_apiserver_flag("authorization-config", path)
        .with_file(path, FilePurpose::AuthorizationConfig, good);
    for id in ["PAL-AUTHZ-001", "PAL-AUTHZ-002", "PAL-AUTHZ-003", "PAL-AUTHZ-004"] {
        let r = run(id, &snap);
        assert_eq!(r[0].status, Status::Pass, "{id}: {}", r[0].evidence);
    }
    let webhook_only = "apiVersion: apiserver.config.k8s.io/v1\nkind: AuthorizationConfiguration\nauthorizers:\n  - type: Webhook\n    name: opa\n";
    let snap = snap.with_file(path, FilePurpose::AuthorizationConfig, webhook_only);
    assert_eq!(run("PAL-AUTHZ-002", &snap)[0].status, Status::Fail);
    assert_eq!(run("PAL-AUTHZ-001", &snap)[0].status, Status::Pass);
    // The file is named but was not collected: unknown, not pass.
    let snap =
        k().without_apiserver_flag("authorization-mode").with_apiserver_flag("authorization-config", path);
    let r = run("PAL-AUTHZ-003", &snap);
    assert_eq!(r[0].status, Status::Unknown);
    assert!(r[0].evidence.contains("not in the collected evidence"));
}
