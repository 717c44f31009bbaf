//! Authentication (PAL-AUTHN-*): anonymous access, token files, client certificates, service accounts, kubelet authentication.

use super::*;

pub(super) fn cases() -> Vec<Case> {
    use Status::*;
    vec![
        Case {
            id: "PAL-AUTHN-001",
            pass: || k().with_apiserver_flag("anonymous-auth", "false"),
            fail: || k().with_apiserver_flag("anonymous-auth", "true"),
            fail_status: Warn,
            absent: k,
            absent_status: Warn,
        },
        Case {
            id: "PAL-AUTHN-002",
            pass: k,
            fail: || k().with_apiserver_flag("token-auth-file", "/etc/kubernetes/tokens.csv"),
            fail_status: Fail,
            absent: k,
            absent_status: Pass,
        },
        Case {
            id: "PAL-AUTHN-003",
            pass: k,
            fail: || k().with_apiserver_flag("basic-auth-file", "/etc/kubernetes/passwords.csv"),
            fail_status: Fail,
            absent: k,
            absent_status: Pass,
        },
        Case {
            id: "PAL-AUTHN-004",
            pass: k,
            fail: || k().with_apiserver_flag("client-ca-file", "").without_apiserver_flag("client-ca-file"),
            fail_status: Fail,
            absent: || k().without_apiserver_flag("client-ca-file"),
            absent_status: Fail,
        },
        Case {
            id: "PAL-AUTHN-005",
            pass: || k().with_apiserver_flag("service-account-lookup", "true"),
            fail: || k().with_apiserver_flag("service-account-lookup", "false"),
            fail_status: Fail,
            absent: k,
            absent_status: Pass,
        },
        Case {
            id: "PAL-AUTHN-006",
            pass: k,
            fail: || k().without_apiserver_flag("service-account-key-file"),
            fail_status: Fail,
            absent: || k().without_apiserver_flag("service-account-key-file"),
            absent_status: Fail,
        },
        Case {
            id: "PAL-AUTHN-007",
            pass: || k().with_apiserver_flag("service-account-extend-token-expiration", "false"),
            fail: || k().with_apiserver_flag("service-account-extend-token-expiration", "true"),
            fail_status: Fail,
            absent: k,
            absent_status: Fail,
        },
        Case {
            id: "PAL-AUTHN-008",
            pass: k,
            fail: || k().without_apiserver_flag("kubelet-client-key"),
            fail_status: Fail,
            absent: || {
                k().without_apiserver_flag("kubelet-client-key")
                    .without_apiserver_flag("kubelet-client-certificate")
            },
            absent_status: Fail,
        },
        Case {
            id: "PAL-AUTHN-009",
            pass: k,
            fail: || {
                k().with_apiserver_flag("oidc-issuer-url", "https://sso.example.com")
                    .with_apiserver_flag("oidc-client-id", "kubernetes")
            },
            fail_status: Warn,
            absent: k,
            absent_status: Pass,
        },
        Case {
            id: "PAL-AUTHN-010",
            pass: || k().with_version(22),
            fail: || k().with_apiserver_flag("insecure-port", "8080"),
            fail_status: Fail,
            absent: || k().with_version(19),
            absent_status: Fail,
        },
        Case {
            id: "PAL-AUTHN-011",
            pass: k,
            fail: || k().with_flag(CM, "use-service-account-credentials", "false"),
            fail_status: Fail,
            absent: || k().without_flag(CM, "use-service-account-credentials"),
            absent_status: Fail,
        },
        Case {
            id: "PAL-AUTHN-012",
            pass: k,
            fail: || k().without_flag(CM, "service-account-private-key-file"),
            fail_status: Fail,
            absent: || k().without_flag(CM, "service-account-private-key-file"),
            absent_status: Fail,
        },
        Case {
            id: "PAL-AUTHN-013",
            pass: k,
            fail: || k().with_flag(CM, "bind-address", "0.0.0.0"),
            fail_status: Fail,
            absent: || k().without_flag(CM, "bind-address"),
            absent_status: Warn,
        },
        Case {
            id: "PAL-AUTHN-014",
            pass: k,
            fail: || k().with_flag(SCHED, "bind-address", "0.0.0.0"),
            fail_status: Fail,
            absent: || k().without_flag(SCHED, "bind-address"),
            absent_status: Warn,
        },
        Case {
            id: "PAL-AUTHN-020",
            pass: k,
            fail: || k().with_kubelet_config("authentication.anonymous.enabled", json!(true)),
            fail_status: Fail,
            absent: || k().without_kubelet_config("authentication.anonymous"),
            absent_status: Pass,
        },
        Case {
            id: "PAL-AUTHN-021",
            pass: k,
            fail: || k().without_kubelet_config("authentication.x509.clientCAFile"),
            fail_status: Fail,
            absent: || k().without_kubelet_config("authentication.x509"),
            absent_status: Fail,
        },
        Case {
            id: "PAL-AUTHN-022",
            pass: || k().with_kubelet_config("readOnlyPort", json!(0)),
            fail: || k().with_kubelet_config("readOnlyPort", json!(10255)),
            fail_status: Warn,
            absent: k,
            absent_status: Pass,
        },
    ]
}

#[test]
fn the_insecure_port_follows_the_kubernetes_version() {
    assert_eq!(run("PAL-AUTHN-010", &k())[0].status, Status::NotApplicable);
    assert_eq!(run("PAL-AUTHN-010", &k().with_version(22))[0].status, Status::Pass);
    assert_eq!(run("PAL-AUTHN-010", &k().with_version(18))[0].status, Status::Fail);
    let mut unknown = k();
    unknown.cluster.version = None;
    assert_eq!(run("PAL-AUTHN-010", &unknown)[0].status, Status::Unknown);
    assert_eq!(run("PAL-AUTHN-010", &k().with_apiserver_flag("insecure-port", "0"))[0].status, Status::Pass);
}
