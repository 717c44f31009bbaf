//! kube-controller-manager (CIS 1.3.2–1.3.7) and kube-scheduler (CIS 1.4.1–1.4.2) checks.

use crate::domain::{Area, Severity, Status};
use crate::snapshot::ComponentKind;

use super::component::{flag_checks, rule};
use super::eval::Op;
use super::{Check, CheckMeta};

const CM: ComponentKind = ComponentKind::KubeControllerManager;
const SCHED: ComponentKind = ComponentKind::KubeScheduler;
const CM_SRC: &str = "kube-controller-manager command line (static pod manifest or mirror pod)";
const SCHED_SRC: &str = "kube-scheduler command line (static pod manifest or mirror pod)";

/// Table-driven kube-controller-manager checks.
pub static CONTROLLER_MANAGER_CHECKS: &[Check] = flag_checks!(CM;
    {
        meta: CheckMeta {
            id: "PAL-HOST-008",
            title: "Controller manager garbage-collects terminated pods",
            area: Area::Host,
            severity: Severity::Low,
            rationale: "The default threshold keeps 12,500 terminated pods; lowering it keeps etcd and the \
                controller manager from degrading.",
            remediation: "Set --terminated-pod-gc-threshold=10 (or a level that fits) in \
                /etc/kubernetes/manifests/kube-controller-manager.yaml.",
            evidence_source: CM_SRC,
        },
        rule: rule!(all ["terminated-pod-gc-threshold" => Op::Present]),
        on_fail: Status::Warn,
    },
    {
        meta: CheckMeta {
            id: "PAL-AUTHZ-020",
            title: "Controller manager profiling is disabled",
            area: Area::Authz,
            severity: Severity::Low,
            rationale: "The /debug/pprof endpoints reveal internals and are not needed in production.",
            remediation: "Set --profiling=false in /etc/kubernetes/manifests/kube-controller-manager.yaml.",
            evidence_source: CM_SRC,
        },
        rule: rule!(all ["profiling" => Op::Eq("false")]),
        on_fail: Status::Fail,
    },
    {
        meta: CheckMeta {
            id: "PAL-AUTHN-011",
            title: "Controllers use individual service-account credentials",
            area: Area::Authn,
            severity: Severity::Medium,
            rationale: "Without it every controller acts with the controller manager's own, very broad \
                identity instead of a per-controller service account with least privilege.",
            remediation: "Set --use-service-account-credentials=true in \
                /etc/kubernetes/manifests/kube-controller-manager.yaml.",
            evidence_source: CM_SRC,
        },
        rule: rule!(all ["use-service-account-credentials" => Op::NotEq("false")]),
        on_fail: Status::Fail,
    },
    {
        meta: CheckMeta {
            id: "PAL-AUTHN-012",
            title: "Controller manager signs service-account tokens with a dedicated key",
            area: Area::Authn,
            severity: Severity::High,
            rationale: "A dedicated signing key lets service-account keys be rotated independently of the \
                serving certificates.",
            remediation: "Set --service-account-private-key-file=/etc/kubernetes/pki/sa.key in \
                /etc/kubernetes/manifests/kube-controller-manager.yaml.",
            evidence_source: CM_SRC,
        },
        rule: rule!(all ["service-account-private-key-file" => Op::Present]),
        on_fail: Status::Fail,
    },
    {
        meta: CheckMeta {
            id: "PAL-TLS-020",
            title: "Controller manager gives pods the cluster root CA",
            area: Area::Tls,
            severity: Severity::Medium,
            rationale: "Pods verify the API server with the root CA bundle in their service-account volume; \
                without it they skip verification or cannot connect.",
            remediation: "Set --root-ca-file=/etc/kubernetes/pki/ca.crt in \
                /etc/kubernetes/manifests/kube-controller-manager.yaml.",
            evidence_source: CM_SRC,
        },
        rule: rule!(all ["root-ca-file" => Op::Present]),
        on_fail: Status::Fail,
    },
    {
        meta: CheckMeta {
            id: "PAL-TLS-021",
            title: "Controller manager approves kubelet serving-certificate rotation",
            area: Area::Tls,
            severity: Severity::Medium,
            rationale: "Disabling RotateKubeletServerCertificate leaves kubelets on long-lived serving \
                certificates.",
            remediation: "Remove RotateKubeletServerCertificate=false from --feature-gates in \
                /etc/kubernetes/manifests/kube-controller-manager.yaml.",
            evidence_source: CM_SRC,
        },
        rule: rule!(any [
            "feature-gates" => Op::NotHave("RotateKubeletServerCertificate=false"),
            "feature-gates" => Op::NotSet,
        ]),
        on_fail: Status::Fail,
    },
    {
        meta: CheckMeta {
            id: "PAL-AUTHN-013",
            title: "Controller manager listens only on localhost",
            area: Area::Authn,
            severity: Severity::Medium,
            rationale: "The controller manager's port answers health and metrics requests; bound to all \
                interfaces it is reachable from the network.",
            remediation: "Set --bind-address=127.0.0.1 in /etc/kubernetes/manifests/kube-controller-manager.yaml.",
            evidence_source: CM_SRC,
        },
        rule: rule!(any ["bind-address" => Op::Eq("127.0.0.1"), "bind-address" => Op::NotSet]),
        on_fail: Status::Fail,
    },
);

/// Table-driven kube-scheduler checks.
pub static SCHEDULER_CHECKS: &[Check] = flag_checks!(SCHED;
    {
        meta: CheckMeta {
            id: "PAL-AUTHZ-021",
            title: "Scheduler profiling is disabled",
            area: Area::Authz,
            severity: Severity::Low,
            rationale: "The /debug/pprof endpoints reveal internals and are not needed in production.",
            remediation: "Set --profiling=false in /etc/kubernetes/manifests/kube-scheduler.yaml.",
            evidence_source: SCHED_SRC,
        },
        rule: rule!(all ["profiling" => Op::Eq("false")]),
        on_fail: Status::Fail,
    },
    {
        meta: CheckMeta {
            id: "PAL-AUTHN-014",
            title: "Scheduler listens only on localhost",
            area: Area::Authn,
            severity: Severity::Medium,
            rationale: "The scheduler's port answers health and metrics requests; bound to all interfaces it \
                is reachable from the network.",
            remediation: "Set --bind-address=127.0.0.1 in /etc/kubernetes/manifests/kube-scheduler.yaml.",
            evidence_source: SCHED_SRC,
        },
        rule: rule!(any ["bind-address" => Op::Eq("127.0.0.1"), "bind-address" => Op::NotSet]),
        on_fail: Status::Fail,
    },
);
