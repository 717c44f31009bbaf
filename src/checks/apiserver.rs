//! kube-apiserver checks: authentication (CIS 1.2.1–1.2.5, 1.2.21–1.2.22, 1.2.25, 1.2.30),
//! authorization (1.2.6–1.2.8, also through `--authorization-config` files), admission plugins that
//! guard authn/authz (1.2.9–1.2.14), profiling and audit logging (1.2.15–1.2.19, 3.2.1), TLS
//! (1.2.23–1.2.24, 1.2.26, 1.2.29, minimum version, secure port) and encryption at rest
//! (1.2.27–1.2.28), plus Palisade's own: basic-auth file, ABAC, insecure port, external
//! authenticators.

use serde::Deserialize;

use crate::domain::{Area, Severity, Status};
use crate::snapshot::{Component, ComponentKind, FlagValue, Snapshot};

use super::component::{flag_checks, for_each_component, judge_rule, lookup, rule};
use super::eval::Op;
use super::{Check, CheckMeta, CheckOptions, CheckResult, Context};

const API: ComponentKind = ComponentKind::KubeApiserver;
const SRC: &str = "kube-apiserver command line (static pod manifest or mirror pod)";

/// Strong TLS 1.2/1.3 cipher suites CIS 1.2.29 allows for the API server.
pub const APISERVER_STRONG_CIPHERS: &[&str] = &[
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
];

/// Encryption providers CIS 1.2.28 accepts for writes.
pub const STRONG_ENCRYPTION_PROVIDERS: &[&str] = &["aescbc", "kms", "secretbox"];

/// Table-driven kube-apiserver flag checks.
pub static FLAG_CHECKS: &[Check] = flag_checks!(API;
    {
        meta: CheckMeta {
            id: "PAL-AUTHN-001",
            title: "API server rejects anonymous requests",
            area: Area::Authn,
            severity: Severity::High,
            rationale: "With anonymous auth on, every request without credentials is served as \
                system:anonymous; one careless RBAC binding then opens the API to the network.",
            remediation: "Set --anonymous-auth=false in /etc/kubernetes/manifests/kube-apiserver.yaml on \
                every control-plane node (load-balancer health checks can use /livez with a client \
                certificate, or an AuthenticationConfiguration anonymous block limited to /healthz).",
            evidence_source: SRC,
        },
        rule: rule!(all ["anonymous-auth" => Op::Eq("false")]),
        on_fail: Status::Warn,
    },
    {
        meta: CheckMeta {
            id: "PAL-AUTHN-002",
            title: "API server does not use a static token file",
            area: Area::Authn,
            severity: Severity::High,
            rationale: "Static bearer tokens live in clear text on disk, never expire and can only be \
                changed by restarting the API server.",
            remediation: "Remove --token-auth-file from /etc/kubernetes/manifests/kube-apiserver.yaml and \
                move those users to client certificates, OIDC or service-account tokens.",
            evidence_source: SRC,
        },
        rule: rule!(all ["token-auth-file" => Op::NotSet]),
        on_fail: Status::Fail,
    },
    {
        meta: CheckMeta {
            id: "PAL-AUTHN-003",
            title: "API server does not use a basic-auth password file",
            area: Area::Authn,
            severity: Severity::Critical,
            rationale: "Basic-auth passwords are clear text on disk and sent with every request; the \
                flag was removed in v1.19, so its presence means an unsupported, unpatched API server.",
            remediation: "Remove --basic-auth-file from /etc/kubernetes/manifests/kube-apiserver.yaml, \
                upgrade the control plane, and move users to certificates or OIDC.",
            evidence_source: SRC,
        },
        rule: rule!(all ["basic-auth-file" => Op::NotSet]),
        on_fail: Status::Fail,
    },
    {
        meta: CheckMeta {
            id: "PAL-AUTHN-004",
            title: "API server verifies client certificates against a CA",
            area: Area::Authn,
            severity: Severity::High,
            rationale: "Without --client-ca-file the API server cannot authenticate client certificates, \
                so kubelets and administrators fall back to weaker credentials.",
            remediation: "Set --client-ca-file=/etc/kubernetes/pki/ca.crt in \
                /etc/kubernetes/manifests/kube-apiserver.yaml.",
            evidence_source: SRC,
        },
        rule: rule!(all ["client-ca-file" => Op::Present]),
        on_fail: Status::Fail,
    },
    {
        meta: CheckMeta {
            id: "PAL-AUTHN-005",
            title: "API server checks that service-account tokens still exist",
            area: Area::Authn,
            severity: Severity::Medium,
            rationale: "Without the lookup a token stays valid after its service account or secret is \
                deleted, until it expires.",
            remediation: "Remove --service-account-lookup=false (the default is true) or set \
                --service-account-lookup=true in /etc/kubernetes/manifests/kube-apiserver.yaml.",
            evidence_source: SRC,
        },
        rule: rule!(any ["service-account-lookup" => Op::NotSet, "service-account-lookup" => Op::Eq("true")]),
        on_fail: Status::Fail,
    },
    {
        meta: CheckMeta {
            id: "PAL-AUTHN-006",
            title: "API server has a service-account verification key",
            area: Area::Authn,
            severity: Severity::High,
            rationale: "An explicit public key lets service-account signing keys be rotated; without it \
                the API server verifies with its serving key.",
            remediation: "Set --service-account-key-file=/etc/kubernetes/pki/sa.pub in \
                /etc/kubernetes/manifests/kube-apiserver.yaml (the public half of the controller \
                manager's --service-account-private-key-file).",
            evidence_source: SRC,
        },
        rule: rule!(all ["service-account-key-file" => Op::Present]),
        on_fail: Status::Fail,
    },
    {
        meta: CheckMeta {
            id: "PAL-AUTHN-007",
            title: "API server does not extend service-account token lifetimes",
            area: Area::Authn,
            severity: Severity::Low,
            rationale: "With extension on, bound tokens are issued valid for a year so legacy clients keep \
                working; a stolen token then works for a year.",
            remediation: "Set --service-account-extend-token-expiration=false in \
                /etc/kubernetes/manifests/kube-apiserver.yaml once clients reload tokens.",
            evidence_source: SRC,
        },
        rule: rule!(all ["service-account-extend-token-expiration" => Op::Eq("false")]),
        on_fail: Status::Fail,
    },
    {
        meta: CheckMeta {
            id: "PAL-AUTHN-008",
            title: "API server authenticates to kubelets with a client certificate",
            area: Area::Authn,
            severity: Severity::High,
            rationale: "Kubelets authenticate the API server's exec, logs and port-forward calls by its \
                client certificate; without one those calls depend on the kubelet allowing anonymous \
                requests.",
            remediation: "Set --kubelet-client-certificate=/etc/kubernetes/pki/apiserver-kubelet-client.crt \
                and --kubelet-client-key=/etc/kubernetes/pki/apiserver-kubelet-client.key in \
                /etc/kubernetes/manifests/kube-apiserver.yaml.",
            evidence_source: SRC,
        },
        rule: rule!(all ["kubelet-client-certificate" => Op::Present, "kubelet-client-key" => Op::Present]),
        on_fail: Status::Fail,
    },
    {
        meta: CheckMeta {
            id: "PAL-AUTHZ-005",
            title: "Admission plugin AlwaysAdmit is not enabled",
            area: Area::Authz,
            severity: Severity::High,
            rationale: "AlwaysAdmit disables admission control: every other plugin's decision is ignored.",
            remediation: "Remove AlwaysAdmit from --enable-admission-plugins in \
                /etc/kubernetes/manifests/kube-apiserver.yaml.",
            evidence_source: SRC,
        },
        rule: rule!(any [
            "enable-admission-plugins" => Op::NotHave("AlwaysAdmit"),
            "enable-admission-plugins" => Op::NotSet,
        ]),
        on_fail: Status::Fail,
    },
    {
        meta: CheckMeta {
            id: "PAL-AUTHZ-006",
            title: "Admission plugin NodeRestriction is enabled",
            area: Area::Authz,
            severity: Severity::High,
            rationale: "NodeRestriction limits each kubelet to its own Node and the pods bound to it; \
                without it one compromised node can modify every node and pod.",
            remediation: "Add NodeRestriction to --enable-admission-plugins in \
                /etc/kubernetes/manifests/kube-apiserver.yaml (with --authorization-mode including Node).",
            evidence_source: SRC,
        },
        rule: rule!(all ["enable-admission-plugins" => Op::Has("NodeRestriction")]),
        on_fail: Status::Fail,
    },
    {
        meta: CheckMeta {
            id: "PAL-AUTHZ-007",
            title: "Admission plugin ServiceAccount is not disabled",
            area: Area::Authz,
            severity: Severity::Medium,
            rationale: "The ServiceAccount plugin enforces that pods only use service accounts that exist \
                in their namespace.",
            remediation: "Remove ServiceAccount from --disable-admission-plugins in \
                /etc/kubernetes/manifests/kube-apiserver.yaml.",
            evidence_source: SRC,
        },
        rule: rule!(any [
            "disable-admission-plugins" => Op::NotHave("ServiceAccount"),
            "disable-admission-plugins" => Op::NotSet,
        ]),
        on_fail: Status::Fail,
    },
    {
        meta: CheckMeta {
            id: "PAL-AUTHZ-008",
            title: "Admission plugin NamespaceLifecycle is not disabled",
            area: Area::Authz,
            severity: Severity::Low,
            rationale: "NamespaceLifecycle refuses objects in terminating or non-existent namespaces, \
                which keeps deleted namespaces from being silently recreated with their old grants.",
            remediation: "Remove NamespaceLifecycle from --disable-admission-plugins in \
                /etc/kubernetes/manifests/kube-apiserver.yaml.",
            evidence_source: SRC,
        },
        rule: rule!(any [
            "disable-admission-plugins" => Op::NotHave("NamespaceLifecycle"),
            "disable-admission-plugins" => Op::NotSet,
        ]),
        on_fail: Status::Fail,
    },
    {
        meta: CheckMeta {
            id: "PAL-AUTHZ-009",
            title: "Admission plugin EventRateLimit is enabled",
            area: Area::Authz,
            severity: Severity::Low,
            rationale: "EventRateLimit keeps a noisy or hostile client from flooding the API server and \
                etcd with events.",
            remediation: "Add EventRateLimit to --enable-admission-plugins and configure its limits through \
                --admission-control-config-file in /etc/kubernetes/manifests/kube-apiserver.yaml.",
            evidence_source: SRC,
        },
        rule: rule!(all ["enable-admission-plugins" => Op::Has("EventRateLimit")]),
        on_fail: Status::Warn,
    },
    {
        meta: CheckMeta {
            id: "PAL-AUTHZ-010",
            title: "Admission plugin AlwaysPullImages is enabled",
            area: Area::Authz,
            severity: Severity::Low,
            rationale: "Without it a pod can run a private image already cached on its node without \
                having the pull credentials for it.",
            remediation: "Add AlwaysPullImages to --enable-admission-plugins in \
                /etc/kubernetes/manifests/kube-apiserver.yaml.",
            evidence_source: SRC,
        },
        rule: rule!(all ["enable-admission-plugins" => Op::Has("AlwaysPullImages")]),
        on_fail: Status::Warn,
    },
    {
        meta: CheckMeta {
            id: "PAL-AUTHZ-017",
            title: "Admission plugin DenyServiceExternalIPs is enabled",
            area: Area::Authz,
            severity: Severity::Medium,
            rationale: "Anyone who may create Services can otherwise set externalIPs and intercept traffic to \
                those addresses from every pod (CVE-2020-8554).",
            remediation: "Add DenyServiceExternalIPs to --enable-admission-plugins in \
                /etc/kubernetes/manifests/kube-apiserver.yaml.",
            evidence_source: SRC,
        },
        rule: rule!(all ["enable-admission-plugins" => Op::Has("DenyServiceExternalIPs")]),
        on_fail: Status::Warn,
    },
    {
        meta: CheckMeta {
            id: "PAL-AUTHZ-011",
            title: "API server profiling is disabled",
            area: Area::Authz,
            severity: Severity::Low,
            rationale: "The /debug/pprof endpoints reveal internals and cost CPU; they are not needed in \
                production.",
            remediation: "Set --profiling=false in /etc/kubernetes/manifests/kube-apiserver.yaml.",
            evidence_source: SRC,
        },
        rule: rule!(all ["profiling" => Op::Eq("false")]),
        on_fail: Status::Fail,
    },
    {
        meta: CheckMeta {
            id: "PAL-AUTHZ-012",
            title: "API server writes an audit log",
            area: Area::Authz,
            severity: Severity::Medium,
            rationale: "Without an audit log nobody can tell who did what through the API after an \
                incident.",
            remediation: "Set --audit-log-path=/var/log/kubernetes/audit/audit.log (and \
                --audit-policy-file) in /etc/kubernetes/manifests/kube-apiserver.yaml, with a hostPath \
                mount for the directory.",
            evidence_source: SRC,
        },
        rule: rule!(all ["audit-log-path" => Op::Present]),
        on_fail: Status::Fail,
    },
    {
        meta: CheckMeta {
            id: "PAL-AUTHZ-013",
            title: "API server keeps audit logs for at least 30 days",
            area: Area::Authz,
            severity: Severity::Low,
            rationale: "Incidents are often found weeks later; the audit trail must still be there.",
            remediation: "Set --audit-log-maxage=30 (or more) in /etc/kubernetes/manifests/kube-apiserver.yaml.",
            evidence_source: SRC,
        },
        rule: rule!(all ["audit-log-maxage" => Op::Gte(30)]),
        on_fail: Status::Fail,
    },
    {
        meta: CheckMeta {
            id: "PAL-AUTHZ-014",
            title: "API server keeps at least 10 rotated audit log files",
            area: Area::Authz,
            severity: Severity::Low,
            rationale: "Too few rotated files lose the audit trail under load.",
            remediation: "Set --audit-log-maxbackup=10 (or more) in \
                /etc/kubernetes/manifests/kube-apiserver.yaml.",
            evidence_source: SRC,
        },
        rule: rule!(all ["audit-log-maxbackup" => Op::Gte(10)]),
        on_fail: Status::Fail,
    },
    {
        meta: CheckMeta {
            id: "PAL-AUTHZ-015",
            title: "API server rotates audit logs at 100 MB or more",
            area: Area::Authz,
            severity: Severity::Low,
            rationale: "Small audit files rotate away the trail too quickly.",
            remediation: "Set --audit-log-maxsize=100 (or more) in \
                /etc/kubernetes/manifests/kube-apiserver.yaml.",
            evidence_source: SRC,
        },
        rule: rule!(all ["audit-log-maxsize" => Op::Gte(100)]),
        on_fail: Status::Fail,
    },
    {
        meta: CheckMeta {
            id: "PAL-AUTHZ-016",
            title: "API server has an audit policy",
            area: Area::Authz,
            severity: Severity::Medium,
            rationale: "Without --audit-policy-file the API server records no audit events at all, even \
                with a log path set.",
            remediation: "Write an audit Policy (at least Metadata level for secrets, configmaps and \
                tokenreviews) and set --audit-policy-file in /etc/kubernetes/manifests/kube-apiserver.yaml.",
            evidence_source: SRC,
        },
        rule: rule!(all ["audit-policy-file" => Op::Present]),
        on_fail: Status::Warn,
    },
    {
        meta: CheckMeta {
            id: "PAL-TLS-001",
            title: "API server serves TLS with its own certificate",
            area: Area::Tls,
            severity: Severity::High,
            rationale: "Without an explicit certificate and key the API server generates a self-signed \
                one that clients cannot verify.",
            remediation: "Set --tls-cert-file=/etc/kubernetes/pki/apiserver.crt and \
                --tls-private-key-file=/etc/kubernetes/pki/apiserver.key in \
                /etc/kubernetes/manifests/kube-apiserver.yaml.",
            evidence_source: SRC,
        },
        rule: rule!(all ["tls-cert-file" => Op::Present, "tls-private-key-file" => Op::Present]),
        on_fail: Status::Fail,
    },
    {
        meta: CheckMeta {
            id: "PAL-TLS-002",
            title: "API server authenticates to etcd with a client certificate",
            area: Area::Tls,
            severity: Severity::High,
            rationale: "etcd holds every secret of the cluster; the API server must present a client \
                certificate so etcd can refuse everyone else.",
            remediation: "Set --etcd-certfile=/etc/kubernetes/pki/apiserver-etcd-client.crt and \
                --etcd-keyfile=/etc/kubernetes/pki/apiserver-etcd-client.key in \
                /etc/kubernetes/manifests/kube-apiserver.yaml.",
            evidence_source: SRC,
        },
        rule: rule!(all ["etcd-certfile" => Op::Present, "etcd-keyfile" => Op::Present]),
        on_fail: Status::Fail,
    },
    {
        meta: CheckMeta {
            id: "PAL-TLS-003",
            title: "API server verifies etcd's certificate",
            area: Area::Tls,
            severity: Severity::High,
            rationale: "Without --etcd-cafile the API server cannot tell the real etcd from an impostor \
                that would receive every write.",
            remediation: "Set --etcd-cafile=/etc/kubernetes/pki/etcd/ca.crt in \
                /etc/kubernetes/manifests/kube-apiserver.yaml.",
            evidence_source: SRC,
        },
        rule: rule!(all ["etcd-cafile" => Op::Present]),
        on_fail: Status::Fail,
    },
    {
        meta: CheckMeta {
            id: "PAL-TLS-004",
            title: "API server verifies kubelet serving certificates",
            area: Area::Tls,
            severity: Severity::Medium,
            rationale: "Without --kubelet-certificate-authority the API server's exec and logs connections \
                to kubelets can be intercepted.",
            remediation: "Enable kubelet serving certificates (serverTLSBootstrap) and set \
                --kubelet-certificate-authority=/etc/kubernetes/pki/ca.crt in \
                /etc/kubernetes/manifests/kube-apiserver.yaml.",
            evidence_source: SRC,
        },
        rule: rule!(all ["kubelet-certificate-authority" => Op::Present]),
        on_fail: Status::Fail,
    },
    {
        meta: CheckMeta {
            id: "PAL-TLS-005",
            title: "API server offers only strong TLS cipher suites",
            area: Area::Tls,
            severity: Severity::Medium,
            rationale: "CBC, RC4, 3DES and static-RSA suites allow downgrade and decryption attacks.",
            remediation: "Set --tls-cipher-suites to AEAD ECDHE suites only (e.g. \
                TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,\
                TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,\
                TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305,TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305) in \
                /etc/kubernetes/manifests/kube-apiserver.yaml.",
            evidence_source: SRC,
        },
        rule: rule!(all ["tls-cipher-suites" => Op::ValidElements(APISERVER_STRONG_CIPHERS)]),
        on_fail: Status::Warn,
    },
    {
        meta: CheckMeta {
            id: "PAL-TLS-007",
            title: "API server serves on a secure port",
            area: Area::Tls,
            severity: Severity::High,
            rationale: "--secure-port=0 turns HTTPS off; older API servers then serve only the \
                unauthenticated insecure port.",
            remediation: "Remove --secure-port=0 (the default is 6443) from \
                /etc/kubernetes/manifests/kube-apiserver.yaml.",
            evidence_source: SRC,
        },
        rule: rule!(any ["secure-port" => Op::NotEq("0"), "secure-port" => Op::NotSet]),
        on_fail: Status::Fail,
    },
    {
        meta: CheckMeta {
            id: "PAL-TLS-008",
            title: "API server encrypts resources at rest",
            area: Area::Tls,
            severity: Severity::High,
            rationale: "Without an encryption provider config, secrets are stored in etcd and its backups \
                in plain text.",
            remediation: "Write an EncryptionConfiguration with aescbc, secretbox or kms first for secrets \
                and set --encryption-provider-config in /etc/kubernetes/manifests/kube-apiserver.yaml \
                (then rewrite existing secrets with kubectl get secrets -A -o json | kubectl replace -f -).",
            evidence_source: SRC,
        },
        rule: rule!(all ["encryption-provider-config" => Op::Present]),
        on_fail: Status::Warn,
    },
);

/// kube-apiserver checks that need more than one flag rule.
pub static CUSTOM_CHECKS: &[Check] = &[
    Check {
        meta: CheckMeta {
            id: "PAL-TLS-090",
            title: "Palisade verifies the API server's certificate",
            area: Area::Tls,
            severity: Severity::High,
            rationale: "With certificate verification off, anyone on the path to the API server can pose \
                as it: they receive Palisade's credentials for the cluster and can feed it any evidence.",
            remediation:
                "Register the cluster with its CA bundle (certificate-authority-data, or --ca-file) \
                and without insecure_skip_tls_verify: PUT /api/v1/clusters/{id}/credentials.",
            evidence_source: "the cluster's registration in Palisade (recorded by the live collector)",
        },
        run: api_tls_verified,
    },
    Check {
        meta: CheckMeta {
            id: "PAL-AUTHN-009",
            title: "External authenticators trusted by the API server",
            area: Area::Authn,
            severity: Severity::Info,
            rationale: "OIDC issuers and token webhooks decide who a user is; whoever controls them can \
                log in as anyone they can name, so they belong in the security review.",
            remediation: "Review the OIDC issuer (claims used for username and groups, prefixes) and the \
                webhook's endpoint and credentials; remove authenticators no longer in use.",
            evidence_source: "kube-apiserver --oidc-*, --authentication-token-webhook-config-file and \
                --authentication-config flags and the structured authentication file",
        },
        run: external_authenticators,
    },
    Check {
        meta: CheckMeta {
            id: "PAL-AUTHN-010",
            title: "API server has no insecure (plain HTTP) port",
            area: Area::Authn,
            severity: Severity::Critical,
            rationale: "The insecure port serves the whole API without authentication or authorization.",
            remediation: "Set --insecure-port=0 and remove --insecure-bind-address in \
                /etc/kubernetes/manifests/kube-apiserver.yaml (the port was removed in v1.24).",
            evidence_source: SRC,
        },
        run: insecure_port,
    },
    Check {
        meta: CheckMeta {
            id: "PAL-AUTHZ-001",
            title: "API server authorization mode is not AlwaysAllow",
            area: Area::Authz,
            severity: Severity::Critical,
            rationale: "AlwaysAllow authorizes every authenticated (and anonymous) request: RBAC is \
                bypassed completely.",
            remediation:
                "Set --authorization-mode=Node,RBAC in /etc/kubernetes/manifests/kube-apiserver.yaml \
                (or list Node and RBAC authorizers in the --authorization-config file).",
            evidence_source: "kube-apiserver --authorization-mode or the --authorization-config file",
        },
        run: |m, s, _| authorizer_check(m, s, Authz::NotAlwaysAllow),
    },
    Check {
        meta: CheckMeta {
            id: "PAL-AUTHZ-002",
            title: "API server authorization includes the Node authorizer",
            area: Area::Authz,
            severity: Severity::High,
            rationale: "The Node authorizer limits each kubelet to the secrets, configmaps and volumes of \
                pods on its own node.",
            remediation: "Add Node to --authorization-mode in /etc/kubernetes/manifests/kube-apiserver.yaml \
                (or a Node authorizer to the --authorization-config file).",
            evidence_source: "kube-apiserver --authorization-mode or the --authorization-config file",
        },
        run: |m, s, _| authorizer_check(m, s, Authz::Has("Node")),
    },
    Check {
        meta: CheckMeta {
            id: "PAL-AUTHZ-003",
            title: "API server authorization includes RBAC",
            area: Area::Authz,
            severity: Severity::High,
            rationale: "RBAC is the only built-in authorizer with least-privilege, auditable grants.",
            remediation: "Add RBAC to --authorization-mode in /etc/kubernetes/manifests/kube-apiserver.yaml \
                (or an RBAC authorizer to the --authorization-config file).",
            evidence_source: "kube-apiserver --authorization-mode or the --authorization-config file",
        },
        run: |m, s, _| authorizer_check(m, s, Authz::Has("RBAC")),
    },
    Check {
        meta: CheckMeta {
            id: "PAL-AUTHZ-004",
            title: "API server does not use ABAC authorization",
            area: Area::Authz,
            severity: Severity::Medium,
            rationale: "ABAC policies live in a file on each control-plane node, need a restart to change \
                and are easy to get too broad; RBAC replaces them.",
            remediation: "Translate the --authorization-policy-file rules into RBAC Roles and bindings, \
                then remove ABAC from --authorization-mode in /etc/kubernetes/manifests/kube-apiserver.yaml.",
            evidence_source: "kube-apiserver --authorization-mode or the --authorization-config file",
        },
        run: |m, s, _| authorizer_check(m, s, Authz::NotAbac),
    },
    Check {
        meta: CheckMeta {
            id: "PAL-TLS-006",
            title: "API server refuses TLS versions below 1.2",
            area: Area::Tls,
            severity: Severity::Medium,
            rationale: "TLS 1.0 and 1.1 are deprecated (RFC 8996) and allow downgrade attacks.",
            remediation: "Set --tls-min-version=VersionTLS12 (or VersionTLS13) in \
                /etc/kubernetes/manifests/kube-apiserver.yaml.",
            evidence_source: SRC,
        },
        run: |m, s, _| {
            for_each_component(m, s, API, &|c| {
                tls_min_version(
                    c,
                    "tls-min-version",
                    "the kube-apiserver default (k8s.io/apiserver secure \
                    serving sets MinVersion TLS 1.2 in every supported version)",
                    Some("VersionTLS12"),
                )
            })
        },
    },
    Check {
        meta: CheckMeta {
            id: "PAL-TLS-009",
            title: "Secrets are encrypted at rest with a strong provider",
            area: Area::Tls,
            severity: Severity::High,
            rationale: "The first provider listed for a resource encrypts every write; identity (or a weak \
                provider) first means new secrets land in etcd unencrypted or weakly encrypted.",
            remediation: "Put aescbc, secretbox or kms (v2) first in the providers list for secrets in the \
                EncryptionConfiguration named by --encryption-provider-config, restart the API server, \
                then rewrite all secrets.",
            evidence_source:
                "kube-apiserver --encryption-provider-config and the EncryptionConfiguration file",
        },
        run: encryption_providers,
    },
];

// ---------------------------------------------------------------------------------------------
// Authorization: --authorization-mode or --authorization-config.

enum Authz {
    NotAlwaysAllow,
    Has(&'static str),
    NotAbac,
}

#[derive(Deserialize)]
struct AuthorizationConfiguration {
    #[serde(default)]
    authorizers: Vec<AuthorizerEntry>,
}

#[derive(Deserialize)]
struct AuthorizerEntry {
    #[serde(rename = "type")]
    type_: String,
}

/// The authorizers an API server runs, and how that was seen. `Err` = cannot be decided (why).
fn authorizers(c: &Component, snap: &Snapshot) -> Result<Option<(Vec<String>, String)>, String> {
    if let Some(why) = super::component::unreadable(c, ["authorization-mode", "authorization-config"]) {
        return Err(why);
    }
    // A slice flag: repeats append, so the chain is every occurrence in order.
    if let FlagValue::Set { value, shown } = c.flag_value("authorization-mode") {
        let list = value.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
        return Ok(Some((list, shown)));
    }
    let Some(path) = c.flag("authorization-config") else { return Ok(None) };
    let path = path.as_str();
    let Some(file) = snap.file(c.node.as_deref(), path) else {
        return Err(format!(
            "{} is configured by --authorization-config={path}, but that file is not in the collected \
             evidence",
            c.describe()
        ));
    };
    let cfg: AuthorizationConfiguration = serde_yaml::from_str(&file.content)
        .map_err(|e| format!("the authorization config {path} of {} cannot be parsed: {e}", c.describe()))?;
    let list: Vec<String> = cfg.authorizers.into_iter().map(|a| a.type_).collect();
    let shown = format!("--authorization-config={path} listing authorizers [{}]", list.join(", "));
    Ok(Some((list, shown)))
}

fn authorizer_check(meta: &CheckMeta, snap: &Snapshot, want: Authz) -> Vec<CheckResult> {
    for_each_component(meta, snap, API, &|c| match authorizers(c, snap) {
        Err(reason) => (Status::Unknown, reason),
        Ok(None) => {
            // CIS: the flag is absent ⇒ the value test fails (the compiled-in default is AlwaysAllow).
            let ok = matches!(want, Authz::NotAbac);
            let status = if ok { Status::Pass } else { Status::Fail };
            let text = format!(
                "{} runs without --authorization-mode or --authorization-config (default AlwaysAllow in {})",
                c.describe(),
                super::component::version_phrase(snap)
            );
            (status, text)
        }
        Ok(Some((list, shown))) => {
            let has = |m: &str| list.iter().any(|x| x == m);
            let (ok, expected) = match want {
                Authz::NotAlwaysAllow => (!has("AlwaysAllow"), "no AlwaysAllow authorizer".to_string()),
                Authz::Has(m) => (has(m), format!("the {m} authorizer")),
                Authz::NotAbac => (!has("ABAC"), "no ABAC authorizer".to_string()),
            };
            let observed = format!("{} runs with {shown}", c.describe());
            if ok {
                (Status::Pass, observed)
            } else {
                (Status::Fail, format!("{observed}; expected {expected}"))
            }
        }
    })
}

// ---------------------------------------------------------------------------------------------
// External authenticators (OIDC, webhook, structured authentication config).

#[derive(Deserialize)]
struct AuthenticationConfiguration {
    #[serde(default)]
    jwt: Vec<JwtAuthenticator>,
}

#[derive(Deserialize)]
struct JwtAuthenticator {
    issuer: JwtIssuer,
}

#[derive(Deserialize)]
struct JwtIssuer {
    url: String,
}

fn external_authenticators(meta: &CheckMeta, snap: &Context, _: &CheckOptions) -> Vec<CheckResult> {
    for_each_component(meta, snap, API, &|c| {
        let mut found = Vec::new();
        if let Some(url) = c.flag("oidc-issuer-url") {
            let client = c.flag("oidc-client-id").unwrap_or_else(|| "(no client id)".into());
            let user = c.flag("oidc-username-claim").unwrap_or_else(|| "sub".into());
            found.push(format!("OIDC tokens from {url} for client {client} (username claim {user})"));
        }
        if let Some(path) = c.flag("authentication-token-webhook-config-file") {
            found.push(format!("a token-review webhook configured in {path}"));
        }
        if let Some(path) = c.flag("authentication-config") {
            match snap.file(c.node.as_deref(), &path) {
                Some(f) => match serde_yaml::from_str::<AuthenticationConfiguration>(&f.content) {
                    Ok(cfg) if !cfg.jwt.is_empty() => {
                        let issuers: Vec<String> = cfg.jwt.into_iter().map(|j| j.issuer.url).collect();
                        found.push(format!(
                            "JWT issuers [{}] from --authentication-config={path}",
                            issuers.join(", ")
                        ));
                    }
                    Ok(_) => {
                        found.push(format!("a structured authentication config {path} with no JWT issuers"))
                    }
                    Err(e) => found.push(format!(
                        "a structured authentication config {path} that cannot be parsed ({e})"
                    )),
                },
                None => found.push(format!(
                    "a structured authentication config --authentication-config={path} (file not collected)"
                )),
            }
        }
        if found.is_empty() {
            (
                Status::Pass,
                format!(
                    "{} trusts no OIDC issuer, token webhook or structured authentication config",
                    c.describe()
                ),
            )
        } else {
            (Status::Warn, format!("{} trusts {}; review them", c.describe(), found.join("; ")))
        }
    })
}

// ---------------------------------------------------------------------------------------------
// Insecure port.

fn api_tls_verified(meta: &CheckMeta, snap: &Context, _: &CheckOptions) -> Vec<CheckResult> {
    let resource =
        super::ResourceRef { kind: "Cluster".into(), name: snap.cluster.name.clone(), ..Default::default() };
    let (status, evidence, source) = match snap.cluster.api_tls_verified {
        Some(true) => (
            Status::Pass,
            "Palisade connected to the API server with certificate verification".to_string(),
            Some(crate::snapshot::Source::Api),
        ),
        Some(false) => (
            Status::Fail,
            "the cluster is registered with insecure_skip_tls_verify: Palisade connected to the API server \
             without verifying its certificate"
                .to_string(),
            Some(crate::snapshot::Source::Api),
        ),
        None => (
            Status::NotApplicable,
            "this scan made no connection to the API server (offline source)".to_string(),
            None,
        ),
    };
    vec![meta.result(status, resource, evidence, source)]
}

fn insecure_port(meta: &CheckMeta, snap: &Context, _: &CheckOptions) -> Vec<CheckResult> {
    let minor = snap.cluster.version.as_ref().map(|v| (v.major, v.minor));
    for_each_component(meta, snap, API, &|c| {
        let bind = c.flag("insecure-bind-address");
        match c.flag("insecure-port").as_deref() {
            Some("0") => (Status::Pass, format!("{} runs with --insecure-port=0", c.describe())),
            Some(port) => (
                Status::Fail,
                format!(
                    "{} runs with --insecure-port={port}{}: the whole API is served over plain HTTP without \
                     authentication or authorization",
                    c.describe(),
                    bind.map(|b| format!(" and --insecure-bind-address={b}")).unwrap_or_default()
                ),
            ),
            None => match minor {
                Some((1, m)) if m >= 24 => (
                    Status::NotApplicable,
                    format!(
                        "{} runs without --insecure-port; v1.{m} has no insecure port (removed in v1.24)",
                        c.describe()
                    ),
                ),
                Some((1, m)) if m >= 20 => (
                    Status::Pass,
                    format!(
                        "{} runs without --insecure-port (default 0 since v1.20; this is v1.{m})",
                        c.describe()
                    ),
                ),
                Some((1, m)) => (
                    Status::Fail,
                    format!(
                        "{} runs without --insecure-port; v1.{m} defaults to port 8080 on {} without \
                         authentication",
                        c.describe(),
                        bind.as_deref().unwrap_or("127.0.0.1")
                    ),
                ),
                _ => (
                    Status::Unknown,
                    format!(
                        "{} runs without --insecure-port and the Kubernetes version is unknown: the default \
                         is 8080 before v1.20 and none from v1.20",
                        c.describe()
                    ),
                ),
            },
        }
    })
}

// ---------------------------------------------------------------------------------------------
// TLS minimum version (shared with the kubelet check).

/// Judge a `--tls-min-version`-style value. `default` is the version assumed when the setting is
/// absent, with `why` naming where that default comes from; `None` = not known (unknown).
pub fn tls_min_version(c: &Component, flag: &str, why: &str, default: Option<&str>) -> (Status, String) {
    match lookup(c, flag) {
        Some(found) => tls_min_version_value(&c.describe(), &found.shown, &found.value),
        None => match default {
            Some(d) => {
                let (status, _) = tls_min_version_value("", "", d);
                (status, format!("{} runs without --{flag}; assumed {d}: {why}", c.describe()))
            }
            None => (Status::Unknown, format!("{} runs without --{flag}; {why}", c.describe())),
        },
    }
}

/// Status and sentence for a TLS version name such as `VersionTLS12`.
pub fn tls_min_version_value(who: &str, shown: &str, value: &str) -> (Status, String) {
    let text = format!("{who} runs with {shown}");
    match value {
        "VersionTLS12" | "VersionTLS13" => (Status::Pass, text),
        "VersionTLS10" | "VersionTLS11" => (
            Status::Fail,
            format!("{text}; TLS 1.0 and 1.1 are deprecated (expected VersionTLS12 or higher)"),
        ),
        other => (Status::Fail, format!("{text}; `{other}` is not a TLS version the component accepts")),
    }
}

// ---------------------------------------------------------------------------------------------
// Encryption at rest: the FIRST provider of the entry covering secrets encrypts writes.

#[derive(Deserialize)]
struct EncryptionConfiguration {
    #[serde(default)]
    resources: Vec<EncryptionResource>,
}

#[derive(Deserialize)]
struct EncryptionResource {
    #[serde(default)]
    resources: Vec<String>,
    #[serde(default)]
    providers: Vec<serde_yaml::Mapping>,
}

/// The write provider for secrets, from an EncryptionConfiguration. Never returns key material.
pub fn secrets_write_provider(content: &str) -> Result<Option<(String, Vec<String>)>, String> {
    let cfg: EncryptionConfiguration = serde_yaml::from_str(content).map_err(|e| {
        // serde_yaml errors quote positions, not values; keep only the message's first line.
        e.to_string().lines().next().unwrap_or("invalid YAML").to_string()
    })?;
    for entry in cfg.resources {
        // The API server uses the first entry that matches a resource: exact, `*.` (core group) or `*.*`.
        if entry.resources.iter().any(|r| r == "secrets" || r == "*." || r == "*.*") {
            let names: Vec<String> = entry
                .providers
                .iter()
                .filter_map(|p| p.keys().next().and_then(|k| k.as_str()).map(str::to_string))
                .collect();
            return Ok(names.first().cloned().map(|first| (first, names)));
        }
    }
    Ok(None)
}

fn encryption_providers(meta: &CheckMeta, snap: &Context, _: &CheckOptions) -> Vec<CheckResult> {
    for_each_component(meta, snap, API, &|c| {
        let Some(path) = c.flag("encryption-provider-config") else {
            let (_, text) =
                judge_rule(c, snap, &rule!(all ["encryption-provider-config" => Op::Present]), Status::Warn);
            return (Status::Warn, format!("{text}: secrets are written to etcd unencrypted (identity)"));
        };
        let Some(file) = snap.file(c.node.as_deref(), &path) else {
            return (
                Status::Unknown,
                format!(
                    "{} runs with --encryption-provider-config={path}, but that file is not in the collected \
                     evidence",
                    c.describe()
                ),
            );
        };
        match secrets_write_provider(&file.content) {
            Err(e) => (
                Status::Unknown,
                format!("the encryption config {path} of {} cannot be parsed: {e}", c.describe()),
            ),
            Ok(None) => (
                Status::Warn,
                format!(
                    "{} runs with --encryption-provider-config={path}, but no entry in it covers secrets: \
                     secrets are written unencrypted",
                    c.describe()
                ),
            ),
            Ok(Some((first, all))) => {
                let text = format!(
                    "{} encrypts secrets with providers [{}] from {path}; new writes use {first}",
                    c.describe(),
                    all.join(", ")
                );
                if STRONG_ENCRYPTION_PROVIDERS.contains(&first.as_str()) {
                    (Status::Pass, text)
                } else {
                    (Status::Warn, format!("{text}; expected aescbc, kms or secretbox first"))
                }
            }
        }
    })
}
