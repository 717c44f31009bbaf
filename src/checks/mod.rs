//! The check engine: catalog entries plus pure functions from a [`Snapshot`] to results.
//!
//! A check never does I/O and never knows where its evidence came from beyond the
//! [`Source`] tag it reports. Each area has its own module; [`catalog`] lists every check.
//! Rules of the engine:
//! - one result per resource instance (three API servers give three results);
//! - evidence missing ⇒ `unknown` with the reason, never `pass` by default;
//! - control plane hidden by a managed provider ⇒ `not_applicable` for control-plane checks.
//!
//! Check ids are `PAL-<AREA>-<NNN>` and never reused. Ranges, so engineers adding checks do not
//! collide: `001–099` control-plane and kubelet configuration (this module's `apiserver`, `etcd`,
//! `controlplane`, `kubelet`); `PAL-AUTHZ-1NN` RBAC findings (`rbac`); `PAL-NET-NNN` network
//! findings (`network`); `PAL-HOST-1NN` host probes (`host`); `PAL-TLS-2NN` and `PAL-AUTHN-2NN` what live
//! probes of the endpoints saw (`probe`).

/// A catalog entry whose evidence source is the calling module's `SRC`.
macro_rules! check {
    ($id:literal, $title:literal, $area:expr, $sev:expr, $run:expr, $rationale:expr, $remediation:expr) => {
        $crate::checks::Check {
            meta: $crate::checks::CheckMeta {
                id: $id,
                title: $title,
                area: $area,
                severity: $sev,
                rationale: $rationale,
                remediation: $remediation,
                evidence_source: SRC,
            },
            run: $run,
        }
    };
}
pub(crate) use check;

pub mod apiserver;
pub mod component;
pub mod controlplane;
pub mod etcd;
pub mod eval;
pub mod frameworks;
pub mod host;
pub mod hostfiles;
pub mod kubelet;
pub mod probe;
#[cfg(test)]
mod tests;

pub mod network;
pub mod rbac;

use std::cell::OnceCell;
use std::ops::Deref;

use serde::{Deserialize, Serialize};

use crate::analysis::netpol::{self, NetworkAnalysis};
use crate::analysis::rbac::Rbac;
use crate::domain::{Area, Severity, Status};
use crate::snapshot::{Snapshot, Source};

/// A reference to a control in a compliance framework.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FrameworkRef {
    /// e.g. `cis-1.12`.
    pub framework: String,
    /// e.g. `1.2.1`.
    pub id: String,
}

/// The static description of a check.
#[derive(Debug, Clone, Copy)]
pub struct CheckMeta {
    /// Stable id, e.g. `PAL-AUTHN-001`. Never reused for a different meaning.
    pub id: &'static str,
    pub title: &'static str,
    pub area: Area,
    pub severity: Severity,
    pub rationale: &'static str,
    /// The flag or setting to change, with the command or file.
    pub remediation: &'static str,
    /// What evidence the check reads, in words (e.g. "kube-apiserver flags"). The framework
    /// controls a check decides are in the frameworks' data files ([`frameworks`]).
    pub evidence_source: &'static str,
}

/// Options that change how checks judge (from configuration).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CheckOptions {
    /// Namespaces to leave out of network findings (empty: report system namespaces separately).
    #[serde(default)]
    pub excluded_namespaces: Vec<String>,
}

/// A check: its description and the pure function that judges a snapshot.
pub struct Check {
    pub meta: CheckMeta,
    pub run: fn(&CheckMeta, &Context, &CheckOptions) -> Vec<CheckResult>,
}

impl Check {
    /// Run this check alone on a snapshot (a fresh [`Context`]; use [`run_all`] or a shared
    /// context to run many checks without repeating the analyses).
    pub fn run_on(&self, snapshot: &Snapshot, options: &CheckOptions) -> Vec<CheckResult> {
        (self.run)(&self.meta, &Context::new(snapshot), options)
    }
}

/// What checks read: the snapshot, plus the analyses several checks share (the resolved RBAC
/// graph, the network-policy analyses), each computed at most once, on first use.
///
/// It dereferences to the [`Snapshot`], so a check reads evidence as `ctx.control_plane` and
/// asks for an analysis with [`Context::rbac`] or [`Context::network`].
pub struct Context<'a> {
    snapshot: &'a Snapshot,
    rbac: OnceCell<Rbac<'a>>,
    network: OnceCell<Result<NetworkAnalysis, String>>,
    isolation: OnceCell<Result<NetworkAnalysis, String>>,
}

impl<'a> Context<'a> {
    pub fn new(snapshot: &'a Snapshot) -> Self {
        Context { snapshot, rbac: OnceCell::new(), network: OnceCell::new(), isolation: OnceCell::new() }
    }

    /// The resolved RBAC graph (aggregation, binding scopes, subject defaulting).
    pub fn rbac(&self) -> &Rbac<'a> {
        self.rbac.get_or_init(|| Rbac::new(self.snapshot))
    }

    /// The full network-policy analysis (pod groups, reachability matrix), or why it cannot be made.
    pub fn network(&self) -> Result<&NetworkAnalysis, &str> {
        self.network
            .get_or_init(|| netpol::analyze_snapshot(self.snapshot).map_err(|e| e.0))
            .as_ref()
            .map_err(String::as_str)
    }

    /// The isolation-only network analysis (which pods are selected by which policies, no matrix),
    /// or why it cannot be made.
    pub fn isolation(&self) -> Result<&NetworkAnalysis, &str> {
        self.isolation
            .get_or_init(|| netpol::analyze_snapshot_isolation(self.snapshot).map_err(|e| e.0))
            .as_ref()
            .map_err(String::as_str)
    }
}

impl Deref for Context<'_> {
    type Target = Snapshot;

    fn deref(&self) -> &Snapshot {
        self.snapshot
    }
}

/// The resource a result is about.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default, utoipa::ToSchema,
)]
pub struct ResourceRef {
    /// e.g. `Pod`, `Node`, `ClusterRoleBinding`, `Namespace`, `Cluster`, or a component name.
    pub kind: String,
    #[serde(default)]
    pub namespace: Option<String>,
    pub name: String,
    #[serde(default)]
    pub node: Option<String>,
}

impl ResourceRef {
    /// The resource as one line of text: `Kind namespace/name on node`.
    pub fn text(kind: &str, namespace: Option<&str>, name: &str, node: Option<&str>) -> String {
        let mut s = format!("{kind} ");
        if let Some(ns) = namespace {
            s.push_str(ns);
            s.push('/');
        }
        s.push_str(name);
        if let Some(n) = node {
            s.push_str(" on ");
            s.push_str(n);
        }
        s
    }
}

/// The verdict of one check on one resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CheckResult {
    pub check_id: String,
    pub title: String,
    pub area: Area,
    pub severity: Severity,
    pub status: Status,
    pub resource: ResourceRef,
    /// What was observed, in words: "kube-apiserver on cp-1 runs with --anonymous-auth=true".
    pub evidence: String,
    /// Where the evidence came from; `None` when there was none (`unknown`).
    #[schema(value_type = Option<String>)]
    pub source: Option<Source>,
    pub refs: Vec<FrameworkRef>,
}

impl CheckMeta {
    /// A result for this check with its catalog fields filled in.
    pub fn result(
        &self,
        status: Status,
        resource: ResourceRef,
        evidence: impl Into<String>,
        source: Option<Source>,
    ) -> CheckResult {
        CheckResult {
            check_id: self.id.to_string(),
            title: self.title.to_string(),
            area: self.area,
            severity: self.severity,
            status,
            resource,
            evidence: evidence.into(),
            source,
            refs: self.framework_refs(),
        }
    }

    /// The framework controls this check decides, from the frameworks' data files.
    pub fn framework_refs(&self) -> Vec<FrameworkRef> {
        frameworks::refs_of(self.id).to_vec()
    }
}

/// Every check Palisade knows, in catalog order.
pub fn catalog() -> Vec<&'static Check> {
    let groups: [&'static [Check]; 13] = [
        apiserver::FLAG_CHECKS,
        apiserver::CUSTOM_CHECKS,
        etcd::CHECKS,
        controlplane::CONTROLLER_MANAGER_CHECKS,
        controlplane::SCHEDULER_CHECKS,
        kubelet::CHECKS,
        kubelet::ADVISORY_CHECKS,
        kubelet::CUSTOM_CHECKS,
        rbac::CHECKS,
        &network::CHECKS,
        probe::CHECKS,
        host::CHECKS,
        hostfiles::CHECKS,
    ];
    groups.into_iter().flatten().collect()
}

/// A catalog entry by id.
pub fn find(id: &str) -> Option<&'static Check> {
    catalog().into_iter().find(|c| c.meta.id == id)
}

/// Run every check against a snapshot.
pub fn run_all(snapshot: &Snapshot, options: &CheckOptions) -> Vec<CheckResult> {
    let ctx = Context::new(snapshot);
    catalog().into_iter().flat_map(|c| (c.run)(&c.meta, &ctx, options)).collect()
}
