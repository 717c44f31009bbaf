//! etcd checks (CIS 2.1–2.7): client and peer TLS, client-certificate authentication, no
//! self-signed auto TLS, a dedicated CA. Each flag may also be given as its `ETCD_*` environment
//! variable (etcd reads those when the flag is absent), which the lookup honours.

use crate::domain::{Area, Severity, Status};
use crate::snapshot::ComponentKind;

use super::component::{flag_checks, rule};
use super::eval::Op;
use super::{Check, CheckMeta};

const ETCD: ComponentKind = ComponentKind::Etcd;
const SRC: &str = "etcd command line and ETCD_* environment (static pod manifest or mirror pod)";

/// Table-driven etcd checks.
pub static CHECKS: &[Check] = flag_checks!(ETCD;
    {
        meta: CheckMeta {
            id: "PAL-TLS-010",
            title: "etcd serves clients over TLS",
            area: Area::Tls,
            severity: Severity::High,
            rationale: "etcd holds every secret of the cluster; without a serving certificate its client \
                traffic is plain text.",
            remediation: "Set --cert-file=/etc/kubernetes/pki/etcd/server.crt and \
                --key-file=/etc/kubernetes/pki/etcd/server.key in /etc/kubernetes/manifests/etcd.yaml.",
            evidence_source: SRC,
        },
        rule: rule!(all ["cert-file" => Op::Present, "key-file" => Op::Present]),
        on_fail: Status::Fail,
    },
    {
        meta: CheckMeta {
            id: "PAL-TLS-011",
            title: "etcd requires client certificates",
            area: Area::Tls,
            severity: Severity::Critical,
            rationale: "Without client-certificate authentication anyone who can reach port 2379 can read \
                and write every object, secrets included.",
            remediation: "Set --client-cert-auth=true (and --trusted-ca-file) in \
                /etc/kubernetes/manifests/etcd.yaml.",
            evidence_source: SRC,
        },
        rule: rule!(all ["client-cert-auth" => Op::Eq("true")]),
        on_fail: Status::Fail,
    },
    {
        meta: CheckMeta {
            id: "PAL-TLS-012",
            title: "etcd does not use self-signed auto TLS for clients",
            area: Area::Tls,
            severity: Severity::Medium,
            rationale: "Auto TLS generates self-signed certificates no client can verify.",
            remediation: "Remove --auto-tls (or set it to false) in /etc/kubernetes/manifests/etcd.yaml and \
                configure --cert-file/--key-file.",
            evidence_source: SRC,
        },
        rule: rule!(any ["auto-tls" => Op::NotSet, "auto-tls" => Op::Eq("false")]),
        on_fail: Status::Fail,
    },
    {
        meta: CheckMeta {
            id: "PAL-TLS-013",
            title: "etcd peers talk over TLS",
            area: Area::Tls,
            severity: Severity::High,
            rationale: "Peer replication carries the whole data set; without peer certificates it is plain \
                text between control-plane nodes.",
            remediation: "Set --peer-cert-file=/etc/kubernetes/pki/etcd/peer.crt and \
                --peer-key-file=/etc/kubernetes/pki/etcd/peer.key in /etc/kubernetes/manifests/etcd.yaml.",
            evidence_source: SRC,
        },
        rule: rule!(all ["peer-cert-file" => Op::Present, "peer-key-file" => Op::Present]),
        on_fail: Status::Fail,
    },
    {
        meta: CheckMeta {
            id: "PAL-TLS-014",
            title: "etcd requires peer client certificates",
            area: Area::Tls,
            severity: Severity::High,
            rationale: "Without peer certificate authentication any host that reaches port 2380 can join \
                the etcd cluster and receive all data.",
            remediation: "Set --peer-client-cert-auth=true in /etc/kubernetes/manifests/etcd.yaml.",
            evidence_source: SRC,
        },
        rule: rule!(all ["peer-client-cert-auth" => Op::Eq("true")]),
        on_fail: Status::Fail,
    },
    {
        meta: CheckMeta {
            id: "PAL-TLS-015",
            title: "etcd does not use self-signed auto TLS for peers",
            area: Area::Tls,
            severity: Severity::Medium,
            rationale: "Peer auto TLS uses self-signed certificates, so peers cannot authenticate each other.",
            remediation: "Remove --peer-auto-tls (or set it to false) in /etc/kubernetes/manifests/etcd.yaml.",
            evidence_source: SRC,
        },
        rule: rule!(any ["peer-auto-tls" => Op::NotSet, "peer-auto-tls" => Op::Eq("false")]),
        on_fail: Status::Fail,
    },
    {
        meta: CheckMeta {
            id: "PAL-TLS-016",
            title: "etcd trusts a dedicated certificate authority",
            area: Area::Tls,
            severity: Severity::Medium,
            rationale: "If etcd trusted the cluster CA, every certificate that CA signs (kubelets, users) \
                could talk to etcd directly.",
            remediation: "Set --trusted-ca-file=/etc/kubernetes/pki/etcd/ca.crt (a CA used only for etcd) \
                in /etc/kubernetes/manifests/etcd.yaml.",
            evidence_source: SRC,
        },
        rule: rule!(all ["trusted-ca-file" => Op::Present]),
        on_fail: Status::Warn,
    },
);
