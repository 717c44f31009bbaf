//! Every catalog check judged on a passing, a failing and an absent-setting snapshot, and (for
//! control-plane components) the same three snapshots written in the `args` form. A test at the end
//! fails when a check in the catalog has no case here.

use serde_json::json;

use crate::domain::Status;
use crate::snapshot::{ComponentKind, FilePurpose, Snapshot};

use super::{catalog, find, CheckOptions, CheckResult};

type Build = fn() -> Snapshot;

struct Case {
    id: &'static str,
    pass: Build,
    fail: Build,
    fail_status: Status,
    absent: Build,
    absent_status: Status,
}

fn k() -> Snapshot {
    Snapshot::kubeadm_default()
}

const CM: ComponentKind = ComponentKind::KubeControllerManager;
const SCHED: ComponentKind = ComponentKind::KubeScheduler;

const AESCBC_FIRST: &str = "apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
  - resources: [secrets]
    providers:
      - aescbc:
          keys:
            - name: key1
              secret: c2VjcmV0IGlzIHNlY3VyZSwgb3IgaXMgaXQ/Cg==
      - identity: {}
";

const IDENTITY_FIRST: &str = "apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
  - resources: [secrets]
    providers:
      - identity: {}
      - aescbc:
          keys:
            - name: key1
              secret: c2VjcmV0IGlzIHNlY3VyZSwgb3IgaXMgaXQ/Cg==
";

const ENC_PATH: &str = "/etc/kubernetes/enc/encryption.yaml";

fn with_encryption(content: &str) -> Snapshot {
    k().with_apiserver_flag("encryption-provider-config", ENC_PATH).with_file(
        ENC_PATH,
        FilePurpose::EncryptionConfig,
        content,
    )
}

const STRONG_API_CIPHERS: &str =
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256";
const WEAK_CIPHERS: &str = "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_RSA_WITH_AES_128_CBC_SHA";

fn cases() -> Vec<Case> {
    use Status::*;
    vec![
        // ---- Palisade's own connection to the API server
        Case {
            id: "PAL-TLS-090",
            pass: || k().with_api_tls_verified(true),
            fail: || k().with_api_tls_verified(false),
            fail_status: Fail,
            absent: k,
            absent_status: NotApplicable,
        },
        // ---- kube-apiserver authn
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
        // ---- controller manager / scheduler
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
        // ---- kubelet authn
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
        // ---- authorization
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
        // ---- TLS: apiserver
        Case {
            id: "PAL-TLS-001",
            pass: k,
            fail: || k().without_apiserver_flag("tls-private-key-file"),
            fail_status: Fail,
            absent: || {
                k().without_apiserver_flag("tls-private-key-file").without_apiserver_flag("tls-cert-file")
            },
            absent_status: Fail,
        },
        Case {
            id: "PAL-TLS-002",
            pass: k,
            fail: || k().without_apiserver_flag("etcd-keyfile"),
            fail_status: Fail,
            absent: || k().without_apiserver_flag("etcd-keyfile").without_apiserver_flag("etcd-certfile"),
            absent_status: Fail,
        },
        Case {
            id: "PAL-TLS-003",
            pass: k,
            fail: || k().without_apiserver_flag("etcd-cafile"),
            fail_status: Fail,
            absent: || k().without_apiserver_flag("etcd-cafile"),
            absent_status: Fail,
        },
        Case {
            id: "PAL-TLS-004",
            pass: || k().with_apiserver_flag("kubelet-certificate-authority", "/etc/kubernetes/pki/ca.crt"),
            fail: k,
            fail_status: Fail,
            absent: k,
            absent_status: Fail,
        },
        Case {
            id: "PAL-TLS-005",
            pass: || k().with_apiserver_flag("tls-cipher-suites", STRONG_API_CIPHERS),
            fail: || k().with_apiserver_flag("tls-cipher-suites", WEAK_CIPHERS),
            fail_status: Warn,
            absent: k,
            absent_status: Warn,
        },
        Case {
            id: "PAL-TLS-006",
            pass: || k().with_apiserver_flag("tls-min-version", "VersionTLS13"),
            fail: || k().with_apiserver_flag("tls-min-version", "VersionTLS10"),
            fail_status: Fail,
            absent: k,
            absent_status: Pass,
        },
        Case {
            id: "PAL-TLS-007",
            pass: || k().with_apiserver_flag("secure-port", "443"),
            fail: || k().with_apiserver_flag("secure-port", "0"),
            fail_status: Fail,
            absent: || k().without_apiserver_flag("secure-port"),
            absent_status: Pass,
        },
        Case {
            id: "PAL-TLS-008",
            pass: || k().with_apiserver_flag("encryption-provider-config", ENC_PATH),
            fail: k,
            fail_status: Warn,
            absent: k,
            absent_status: Warn,
        },
        Case {
            id: "PAL-TLS-009",
            pass: || with_encryption(AESCBC_FIRST),
            fail: || with_encryption(IDENTITY_FIRST),
            fail_status: Warn,
            absent: k,
            absent_status: Warn,
        },
        // ---- etcd
        Case {
            id: "PAL-TLS-010",
            pass: k,
            fail: || k().without_etcd_flag("key-file"),
            fail_status: Fail,
            absent: || k().without_etcd_flag("key-file").without_etcd_flag("cert-file"),
            absent_status: Fail,
        },
        Case {
            id: "PAL-TLS-011",
            pass: k,
            fail: || k().with_etcd_flag("client-cert-auth", "false"),
            fail_status: Fail,
            absent: || k().without_etcd_flag("client-cert-auth"),
            absent_status: Fail,
        },
        Case {
            id: "PAL-TLS-012",
            pass: || k().with_etcd_flag("auto-tls", "false"),
            fail: || k().with_etcd_flag("auto-tls", "true"),
            fail_status: Fail,
            absent: k,
            absent_status: Pass,
        },
        Case {
            id: "PAL-TLS-013",
            pass: k,
            fail: || k().without_etcd_flag("peer-key-file"),
            fail_status: Fail,
            absent: || k().without_etcd_flag("peer-key-file").without_etcd_flag("peer-cert-file"),
            absent_status: Fail,
        },
        Case {
            id: "PAL-TLS-014",
            pass: k,
            fail: || k().with_etcd_flag("peer-client-cert-auth", "false"),
            fail_status: Fail,
            absent: || k().without_etcd_flag("peer-client-cert-auth"),
            absent_status: Fail,
        },
        Case {
            id: "PAL-TLS-015",
            pass: || k().with_etcd_flag("peer-auto-tls", "false"),
            fail: || k().with_etcd_flag("peer-auto-tls", "true"),
            fail_status: Fail,
            absent: k,
            absent_status: Pass,
        },
        Case {
            id: "PAL-TLS-016",
            pass: k,
            fail: || k().without_etcd_flag("trusted-ca-file"),
            fail_status: Warn,
            absent: || k().without_etcd_flag("trusted-ca-file"),
            absent_status: Warn,
        },
        // ---- controller manager TLS
        Case {
            id: "PAL-TLS-020",
            pass: k,
            fail: || k().without_flag(CM, "root-ca-file"),
            fail_status: Fail,
            absent: || k().without_flag(CM, "root-ca-file"),
            absent_status: Fail,
        },
        Case {
            id: "PAL-TLS-021",
            pass: || k().with_flag(CM, "feature-gates", "RotateKubeletServerCertificate=true"),
            fail: || k().with_flag(CM, "feature-gates", "SomeGate=true,RotateKubeletServerCertificate=false"),
            fail_status: Fail,
            absent: k,
            absent_status: Pass,
        },
        // ---- kubelet TLS and host
        Case {
            id: "PAL-TLS-030",
            pass: k,
            fail: || k().with_kubelet_config("rotateCertificates", json!(false)),
            fail_status: Fail,
            absent: || k().without_kubelet_config("rotateCertificates"),
            absent_status: Warn,
        },
        Case {
            id: "PAL-TLS-031",
            pass: || k().with_kubelet_config("featureGates.RotateKubeletServerCertificate", json!(true)),
            fail: || k().with_kubelet_config("featureGates.RotateKubeletServerCertificate", json!(false)),
            fail_status: Warn,
            absent: k,
            absent_status: Pass,
        },
        Case {
            id: "PAL-TLS-032",
            pass: || {
                k().with_kubelet_config(
                    "tlsCipherSuites",
                    json!(["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"]),
                )
            },
            fail: || {
                k().with_kubelet_config(
                    "tlsCipherSuites",
                    json!(["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_RSA_WITH_3DES_EDE_CBC_SHA"]),
                )
            },
            fail_status: Warn,
            absent: k,
            absent_status: Warn,
        },
        Case {
            id: "PAL-TLS-033",
            pass: || k().with_kubelet_config("tlsMinVersion", json!("VersionTLS12")),
            fail: || k().with_kubelet_config("tlsMinVersion", json!("VersionTLS11")),
            fail_status: Fail,
            absent: || k().with_version(29),
            absent_status: Fail,
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
        Case {
            id: "PAL-HOST-008",
            pass: || k().with_flag(CM, "terminated-pod-gc-threshold", "10"),
            fail: k,
            fail_status: Warn,
            absent: k,
            absent_status: Warn,
        },
        Case {
            id: "PAL-HOST-004",
            // The command line is known (it names only the config file): no override, pass.
            pass: || k().with_kubelet_flag("config", "/var/lib/kubelet/config.yaml"),
            fail: || k().with_kubelet_flag("hostname-override", "node-a"),
            fail_status: Warn,
            // Only /configz is known: a command-line-only flag cannot be judged.
            absent: k,
            absent_status: Unknown,
        },
        Case {
            id: "PAL-HOST-005",
            pass: || k().with_kubelet_config("eventRecordQPS", json!(5)),
            fail: || k().with_kubelet_config("eventRecordQPS", json!(-1)),
            fail_status: Warn,
            absent: k,
            absent_status: Pass,
        },
        Case {
            id: "PAL-TLS-034",
            pass: || {
                k().with_kubelet_config("tlsCertFile", json!("/var/lib/kubelet/pki/kubelet.crt"))
                    .with_kubelet_config("tlsPrivateKeyFile", json!("/var/lib/kubelet/pki/kubelet.key"))
            },
            fail: || k().with_kubelet_config("tlsCertFile", json!("/var/lib/kubelet/pki/kubelet.crt")),
            fail_status: Warn,
            absent: k,
            absent_status: Warn,
        },
        Case {
            id: "PAL-HOST-006",
            pass: || k().with_kubelet_config("podPidsLimit", json!(4096)),
            fail: || k().with_kubelet_config("podPidsLimit", json!(-1)),
            fail_status: Warn,
            absent: k,
            absent_status: Warn,
        },
        Case {
            id: "PAL-HOST-007",
            pass: || k().with_kubelet_config("seccompDefault", json!(true)),
            fail: || k().with_kubelet_config("seccompDefault", json!(false)),
            fail_status: Warn,
            absent: k,
            absent_status: Warn,
        },
        Case {
            id: "PAL-HOST-001",
            pass: || k().with_kubelet_config("streamingConnectionIdleTimeout", json!("5m")),
            fail: || k().with_kubelet_flag("streaming-connection-idle-timeout", "0"),
            fail_status: Warn,
            absent: || k().without_kubelet_config("streamingConnectionIdleTimeout"),
            absent_status: Pass,
        },
        Case {
            id: "PAL-HOST-002",
            pass: || k().with_kubelet_config("protectKernelDefaults", json!(true)),
            fail: || k().with_kubelet_config("protectKernelDefaults", json!(false)),
            fail_status: Warn,
            absent: k,
            absent_status: Warn,
        },
        Case {
            id: "PAL-HOST-003",
            pass: || k().with_kubelet_config("makeIPTablesUtilChains", json!(true)),
            fail: || k().with_kubelet_config("makeIPTablesUtilChains", json!(false)),
            fail_status: Fail,
            absent: k,
            absent_status: Pass,
        },
    ]
}

fn run(id: &str, snap: &Snapshot) -> Vec<CheckResult> {
    let check = find(id).unwrap_or_else(|| panic!("{id} is not in the catalog"));
    check.run_on(snap, &CheckOptions::default())
}

fn assert_all(id: &str, what: &str, snap: &Snapshot, want: Status) {
    let results = run(id, snap);
    assert!(!results.is_empty(), "{id} ({what}) gave no result");
    for r in &results {
        assert_eq!(r.status, want, "{id} ({what}) on {}: {}", r.resource.name, r.evidence);
        assert!(!r.evidence.is_empty());
        assert_eq!(r.check_id, id);
    }
}

#[test]
fn every_check_passes_fails_and_judges_an_absent_setting_as_the_benchmark_says() {
    for case in cases() {
        assert_all(case.id, "passing", &(case.pass)(), Status::Pass);
        assert_all(case.id, "failing", &(case.fail)(), case.fail_status);
        assert_all(case.id, "absent", &(case.absent)(), case.absent_status);
    }
}

#[test]
fn every_component_check_gives_the_same_verdicts_in_the_args_form() {
    for case in cases() {
        let kubelet_check = run(case.id, &k()).iter().all(|r| r.resource.kind == "kubelet");
        if kubelet_check {
            continue;
        }
        assert_all(case.id, "passing, args form", &(case.pass)().with_args_form(), Status::Pass);
        assert_all(case.id, "failing, args form", &(case.fail)().with_args_form(), case.fail_status);
        assert_all(case.id, "absent, args form", &(case.absent)().with_args_form(), case.absent_status);
    }
}

#[test]
fn every_catalog_check_has_a_pass_fail_and_absent_case() {
    let covered: Vec<&str> = cases().iter().map(|c| c.id).collect();
    for check in catalog() {
        let id = check.meta.id;
        // Checks owned by other modules (RBAC, network) carry their own tests.
        if id.starts_with("PAL-NET-") || id.starts_with("PAL-AUTHZ-1") || id.starts_with("PAL-HOST-1") {
            continue;
        }
        assert!(covered.contains(&id), "{id} has no pass/fail/absent case");
    }
}

#[test]
fn catalog_ids_are_unique_and_well_formed() {
    let mut ids: Vec<&str> = catalog().iter().map(|c| c.meta.id).collect();
    let n = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), n, "duplicate check ids");
    let re = regex::Regex::new(r"^PAL-(HOST|AUTHN|AUTHZ|TLS|NET)-\d{3}$").unwrap();
    for id in ids {
        assert!(re.is_match(id), "{id}");
    }
}

#[test]
fn evidence_names_the_instance_and_the_flag_as_written() {
    let r = run("PAL-AUTHN-001", &k().with_apiserver_flag("anonymous-auth", "true"));
    assert_eq!(
        r[0].evidence,
        "kube-apiserver on cp-1 runs with --anonymous-auth=true; expected --anonymous-auth=false"
    );
    assert_eq!(r[0].resource.name, "kube-apiserver-cp-1");
    assert_eq!(r[0].resource.node.as_deref(), Some("cp-1"));
    assert_eq!(r[0].refs[0].id, "1.2.1");
}

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
    // PAL-TLS-090 judges Palisade's own connection, which a managed cluster has too.
    let covered: Vec<&str> = cases().iter().map(|c| c.id).filter(|id| *id != "PAL-TLS-090").collect();
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
fn a_managed_cluster_scanned_without_certificate_verification_still_fails_the_tls_check() {
    let r = run("PAL-TLS-090", &k().managed().with_api_tls_verified(false));
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].status, Status::Fail);
    assert_eq!(r[0].resource.kind, "Cluster");
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
fn etcd_environment_variables_stand_in_for_absent_flags() {
    let snap = k()
        .without_etcd_flag("client-cert-auth")
        .with_etcd_env("ETCD_CLIENT_CERT_AUTH", "true")
        .without_etcd_flag("cert-file")
        .without_etcd_flag("key-file")
        .with_etcd_env("ETCD_CERT_FILE", "/etc/etcd/server.crt")
        .with_etcd_env("ETCD_KEY_FILE", "/etc/etcd/server.key");
    let r = run("PAL-TLS-011", &snap);
    assert_eq!(r[0].status, Status::Pass);
    assert!(r[0].evidence.contains("ETCD_CLIENT_CERT_AUTH=true in its environment"), "{}", r[0].evidence);
    assert_eq!(run("PAL-TLS-010", &snap)[0].status, Status::Pass);
    // The flag wins over the environment, as etcd reads it.
    let snap = k().with_etcd_flag("auto-tls", "false").with_etcd_env("ETCD_AUTO_TLS", "true");
    assert_eq!(run("PAL-TLS-012", &snap)[0].status, Status::Pass);
    let snap = k().with_etcd_env("ETCD_AUTO_TLS", "true");
    assert_eq!(run("PAL-TLS-012", &snap)[0].status, Status::Fail);
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

#[test]
fn a_zero_idle_timeout_from_configz_is_a_real_zero() {
    let mut snap = k();
    for kl in &mut snap.kubelets.items {
        kl.origin.source = crate::snapshot::Source::Api;
    }
    let r = run("PAL-HOST-001", &snap);
    assert!(r.iter().all(|x| x.status == Status::Warn), "{}", r[0].evidence);
    // The same 0s in a config file is defaulted to 4h by the kubelet.
    assert!(run("PAL-HOST-001", &k()).iter().all(|x| x.status == Status::Pass));
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

#[test]
fn the_first_encryption_provider_decides_and_keys_never_appear_in_evidence() {
    let r = run("PAL-TLS-009", &with_encryption(IDENTITY_FIRST));
    assert!(r[0].evidence.contains("new writes use identity"), "{}", r[0].evidence);
    assert!(!r[0].evidence.contains("c2VjcmV0"));
    let r = run("PAL-TLS-009", &with_encryption(AESCBC_FIRST));
    assert!(!r[0].evidence.contains("c2VjcmV0"));
    // Named but not collected: unknown.
    let snap = k().with_apiserver_flag("encryption-provider-config", ENC_PATH);
    assert_eq!(run("PAL-TLS-009", &snap)[0].status, Status::Unknown);
    // Garbage: unknown with the parse error, still no key material.
    let r = run("PAL-TLS-009", &with_encryption("resources: [secrets: {"));
    assert_eq!(r[0].status, Status::Unknown);
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

#[test]
fn kubeadm_default_is_judged_like_a_cis_audit_of_a_fresh_kubeadm_cluster() {
    let results = super::run_all(&k(), &CheckOptions::default());
    let status = |id: &str| {
        let r: Vec<_> = results.iter().filter(|r| r.check_id == id).collect();
        assert!(!r.is_empty(), "{id}");
        r[0].status
    };
    // kubeadm leaves these as CIS 1.12 reports them failing (Automated ⇒ FAIL, Manual ⇒ WARN).
    assert_eq!(status("PAL-AUTHZ-011"), Status::Fail, "1.2.15 profiling");
    assert_eq!(status("PAL-AUTHZ-012"), Status::Fail, "1.2.16 audit log");
    assert_eq!(status("PAL-TLS-004"), Status::Fail, "1.2.5 kubelet CA");
    assert_eq!(status("PAL-AUTHN-001"), Status::Warn, "1.2.1 anonymous auth (Manual)");
    assert_eq!(status("PAL-TLS-008"), Status::Warn, "1.2.27 encryption (Manual)");
    assert_eq!(status("PAL-AUTHZ-020"), Status::Fail, "1.3.2");
    assert_eq!(status("PAL-AUTHZ-021"), Status::Fail, "1.4.1");
    // …and gets these right.
    for id in
        ["PAL-AUTHZ-001", "PAL-AUTHZ-002", "PAL-AUTHZ-003", "PAL-AUTHZ-006", "PAL-TLS-011", "PAL-AUTHN-020"]
    {
        assert_eq!(status(id), Status::Pass, "{id}");
    }
}

#[test]
fn cis_automated_controls_fail_and_manual_controls_warn() {
    for case in cases() {
        let check = find(case.id).unwrap();
        for (fw, id) in check.meta.refs {
            if *fw != "cis-1.12" {
                continue;
            }
            let control = crate::frameworks::cis_control(id).unwrap();
            let want = if control.automated { Status::Fail } else { Status::Warn };
            assert_eq!(
                case.fail_status, want,
                "{} maps to CIS {id} (automated: {})",
                case.id, control.automated
            );
        }
    }
}
