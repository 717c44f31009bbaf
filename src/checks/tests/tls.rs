//! TLS (PAL-TLS-*): every link encrypted and authenticated, protocol versions, ciphers, encryption at rest.

use super::*;

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

pub(super) fn cases() -> Vec<Case> {
    use Status::*;
    vec![
        Case {
            id: "PAL-TLS-090",
            pass: || k().with_api_tls_verified(true),
            fail: || k().with_api_tls_verified(false),
            fail_status: Fail,
            absent: k,
            absent_status: NotApplicable,
        },
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
    ]
}

#[test]
fn a_managed_cluster_scanned_without_certificate_verification_still_fails_the_tls_check() {
    let r = run("PAL-TLS-090", &k().managed().with_api_tls_verified(false));
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].status, Status::Fail);
    assert_eq!(r[0].resource.kind, "Cluster");
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
