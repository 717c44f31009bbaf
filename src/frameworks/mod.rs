//! Compliance frameworks: the CIS Kubernetes Benchmark v1.12 control list and compliance scoring
//! of a scan's results against it.
//!
//! Checks carry framework references (`("cis-1.12", "1.2.1")`); this module knows the controls
//! themselves (title, Automated or Manual) and rolls results up per control:
//! - a control is `fail` when any result mapped to it fails, else `warn` when any warns, else
//!   `unknown` when any is unknown, else `pass` when at least one passes, else `not_applicable`;
//! - a control no Palisade check maps to is "not assessed" and is left out of the score;
//! - the score is passed controls / assessed controls that are not `not_applicable`, in percent.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::checks::{CheckMeta, CheckResult};
use crate::domain::{Area, Severity, Status};

pub mod compliance;
pub use crate::checks::frameworks as registry;

pub use registry::{Control, ControlType, Framework};

/// Framework id used in references.
pub const CIS_1_12: &str = "cis-1.12";

/// The CIS Kubernetes Benchmark v1.12, from its data file.
pub fn cis() -> &'static Framework {
    registry::get(CIS_1_12).expect("the CIS v1.12 framework file is bundled")
}

/// A CIS v1.12 control by id.
pub fn cis_control(id: &str) -> Option<&'static Control> {
    cis().control(id)
}

/// A framework control a check maps to, with the control's title when the framework is known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ControlRef {
    /// e.g. `cis-1.12`.
    pub framework: String,
    /// e.g. `1.2.1`.
    pub id: String,
    /// The recommendation's title, e.g. "--anonymous-auth argument is set to false".
    pub title: Option<String>,
    /// CIS "(Automated)" (a failure is `fail`) or "(Manual)" (a failure is `warn`).
    pub automated: Option<bool>,
}

/// A catalog entry as the API and reports show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CheckInfo {
    /// Stable id, e.g. `PAL-AUTHN-001`.
    pub id: String,
    pub title: String,
    pub area: Area,
    pub severity: Severity,
    pub rationale: String,
    /// The flag or setting to change, with the command or file.
    pub remediation: String,
    /// What evidence the check reads.
    pub evidence_source: String,
    pub refs: Vec<ControlRef>,
}

impl From<&CheckMeta> for CheckInfo {
    fn from(m: &CheckMeta) -> Self {
        CheckInfo {
            id: m.id.to_string(),
            title: m.title.to_string(),
            area: m.area,
            severity: m.severity,
            rationale: m.rationale.to_string(),
            remediation: m.remediation.to_string(),
            evidence_source: m.evidence_source.to_string(),
            refs: registry::refs_of(m.id)
                .iter()
                .map(|r| {
                    let control = registry::get(&r.framework).and_then(|f| f.control(&r.id));
                    ControlRef {
                        framework: r.framework.clone(),
                        id: r.id.clone(),
                        title: control.map(|c| c.title.clone()),
                        automated: control.map(|c| c.kind == ControlType::Automated),
                    }
                })
                .collect(),
        }
    }
}

/// The verdict on one control.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ControlVerdict {
    pub id: &'static str,
    pub title: &'static str,
    pub automated: bool,
    /// `None` when no check maps to the control (not assessed).
    pub status: Option<Status>,
    /// How many results fed the verdict.
    pub results: usize,
    /// The Palisade checks mapped to the control.
    pub checks: Vec<&'static str>,
}

/// A framework roll-up of one scan.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Compliance {
    pub framework: &'static str,
    /// Controls some check maps to.
    pub assessed: usize,
    pub passed: usize,
    pub failed: usize,
    pub warned: usize,
    pub unknown: usize,
    pub not_applicable: usize,
    /// Passed / (assessed − not applicable), in percent with one decimal; `None` when nothing
    /// applicable was assessed.
    pub score: Option<f64>,
    pub controls: Vec<ControlVerdict>,
}

/// The worst of `statuses`: fail, then warn, then unknown, then pass, else not applicable (also
/// for none). Per-scan compliance and scope compliance both judge a control by it.
fn roll_up(statuses: &[Status]) -> Status {
    let has = |s: Status| statuses.contains(&s);
    if has(Status::Fail) {
        Status::Fail
    } else if has(Status::Warn) {
        Status::Warn
    } else if has(Status::Unknown) {
        Status::Unknown
    } else if has(Status::Pass) {
        Status::Pass
    } else {
        Status::NotApplicable
    }
}

/// Score a scan's results against CIS v1.12.
pub fn cis_compliance(results: &[CheckResult]) -> Compliance {
    let mut by_control: BTreeMap<&str, Vec<Status>> = BTreeMap::new();
    for r in results {
        for f in r.refs.iter().filter(|f| f.framework == CIS_1_12) {
            by_control.entry(f.id.as_str()).or_default().push(r.status);
        }
    }
    let mut out = Compliance {
        framework: CIS_1_12,
        assessed: 0,
        passed: 0,
        failed: 0,
        warned: 0,
        unknown: 0,
        not_applicable: 0,
        score: None,
        controls: Vec::new(),
    };
    for control in &cis().controls {
        let statuses = by_control.get(control.id.as_str()).map(Vec::as_slice).unwrap_or(&[]);
        let status = (!statuses.is_empty()).then(|| roll_up(statuses));
        if let Some(s) = status {
            out.assessed += 1;
            match s {
                Status::Pass => out.passed += 1,
                Status::Fail => out.failed += 1,
                Status::Warn => out.warned += 1,
                Status::Unknown => out.unknown += 1,
                Status::NotApplicable => out.not_applicable += 1,
            }
        }
        out.controls.push(ControlVerdict {
            id: &control.id,
            title: &control.title,
            automated: control.kind == ControlType::Automated,
            status,
            results: statuses.len(),
            checks: control.checks.iter().map(String::as_str).collect(),
        });
    }
    let applicable = out.assessed - out.not_applicable;
    if applicable > 0 {
        out.score = Some((out.passed as f64 * 1000.0 / applicable as f64).round() / 10.0);
    }
    out
}

/// The published mapping (`docs/cis-1.12-mapping.md`): every CIS v1.12 control with the checks
/// that decide it, generated from the catalog's references.
pub fn cis_mapping_markdown() -> String {
    let mut out = String::from(
        "# CIS Kubernetes Benchmark v1.12: the checks that decide each control\n\n\
         Generated from the framework's data file, `src/frameworks/data/cis-1.12.yaml` (`cis_mapping_markdown` \
         in `src/frameworks/mod.rs`); a test keeps this file and the data in step \
         (`PALISADE_WRITE_DOCS=1 cargo test cis_mapping` rewrites it).\n\n\
         A check listed against a control decides that control: the control fails when the check fails on any \
         resource (see `GET /api/v1/scans/{id}/compliance`). A control with no check is *not assessed* and is \
         left out of the compliance score. Checks that follow other guidance (the NSA/CISA Kubernetes \
         Hardening Guide) name it in their own references and are not listed here.\n\n\
         | Control | Title | Type | Decided by |\n|---|---|---|---|\n",
    );
    let mut assessed = 0;
    for c in &cis().controls {
        let deciding: Vec<String> = c
            .checks
            .iter()
            .filter_map(|id| crate::checks::find(id))
            .map(|k| format!("`{}` {}", k.meta.id, k.meta.title))
            .collect();
        if !deciding.is_empty() {
            assessed += 1;
        }
        let kind = if c.kind == ControlType::Automated { "Automated" } else { "Manual" };
        let by = if deciding.is_empty() { "*not assessed*".to_string() } else { deciding.join("<br>") };
        out.push_str(&format!("| {} | {} | {kind} | {by} |\n", c.id, c.title.replace('|', "\\|")));
    }
    out.push_str(&format!("\n{assessed} of {} controls are assessed.\n", cis().controls.len()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::{run_all, CheckOptions};
    use crate::snapshot::Snapshot;

    #[test]
    fn the_cis_table_has_every_control_of_the_benchmark() {
        assert_eq!(cis().controls.len(), 131);
        let c = cis_control("1.2.1").unwrap();
        assert_eq!(c.kind, ControlType::Manual);
        assert_eq!(cis_control("1.2.2").unwrap().kind, ControlType::Automated);
        assert!(cis_control("5.1.7").unwrap().kube_bench_manual);
    }

    #[test]
    fn the_published_cis_mapping_is_the_catalogs() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/cis-1.12-mapping.md");
        let generated = cis_mapping_markdown();
        if std::env::var_os("PALISADE_WRITE_DOCS").is_some() {
            std::fs::write(&path, &generated).unwrap();
        }
        let published = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            published == generated,
            "docs/cis-1.12-mapping.md is out of date with the catalog: run PALISADE_WRITE_DOCS=1 cargo test cis_mapping"
        );
        // Spot checks against the benchmark text: 5.3.2 ("all Namespaces have NetworkPolicies defined")
        // is decided by the has-a-policy checks alone; default-deny is hardening guidance, not CIS.
        let row = generated.lines().find(|l| l.starts_with("| 5.3.2 |")).unwrap();
        assert!(row.contains("PAL-NET-002") && row.contains("PAL-NET-102"), "{row}");
        for other in
            ["PAL-NET-003", "PAL-NET-004", "PAL-NET-005", "PAL-NET-103", "PAL-NET-104", "PAL-NET-105"]
        {
            assert!(!row.contains(other), "{other} does not decide 5.3.2: {row}");
        }
    }

    #[test]
    fn one_failing_instance_fails_the_control() {
        let mut snap = Snapshot::kubeadm_with_control_planes(2, 0).with_apiserver_flag("profiling", "false");
        snap.components.items[0].flags.set("profiling", Some("true"));
        let results = run_all(&snap, &CheckOptions::default());
        let c = cis_compliance(&results);
        let v = c.controls.iter().find(|v| v.id == "1.2.15").unwrap();
        assert_eq!(v.status, Some(Status::Fail));
        assert_eq!(v.results, 2);
        assert_eq!(v.checks, vec!["PAL-AUTHZ-011"]);
    }

    #[test]
    fn the_score_counts_only_assessed_applicable_controls() {
        let results = run_all(&Snapshot::kubeadm_default().managed(), &CheckOptions::default());
        let c = cis_compliance(&results);
        assert!(c.not_applicable > 0);
        assert_eq!(c.assessed, c.passed + c.failed + c.warned + c.unknown + c.not_applicable);
        let s = c.score.unwrap();
        let expected = (c.passed as f64 * 1000.0 / (c.assessed - c.not_applicable) as f64).round() / 10.0;
        assert_eq!(s, expected);
        // 1.1.x file permissions are read by the node agent: with no report they are not
        // applicable, not counted against the score.
        assert_eq!(c.controls.iter().find(|v| v.id == "1.1.1").unwrap().status, Some(Status::NotApplicable));
    }
}
