//! A framework's controls judged from the results of a scope (one cluster, a group, the fleet):
//! each control takes the worst verdict of the checks that decide it, over every resource of every
//! cluster in scope.
//!
//! - `fail`: some check that decides it fails on some resource;
//! - `manual`: no check decides it (its text says what to review), or a check found a Manual
//!   recommendation not met (`warn`): a reviewer decides;
//! - `unknown`: some result could not be decided (missing evidence), or nothing in scope was scanned;
//! - `pass`: every result of its checks passes;
//! - `not_applicable`: its checks do not apply here (e.g. a managed control plane).
//!
//! The percentage is pass / (pass + fail + unknown) controls: controls a check decides and that
//! apply. An undecided control counts against it, never as a pass.

use std::collections::HashMap;

use serde::Serialize;

use super::registry::{ControlType, Framework};
use super::roll_up;
use crate::domain::Status;

/// How the summary's percentage is computed, as the API states it.
pub const PERCENTAGE_METHOD: &str = "pass / (pass + fail + unknown) controls, in percent with one decimal: \
     controls reviewed by hand (manual) and controls that do not apply are left out; a control that \
     could not be decided counts against the percentage; results an exception in force covers are left out \
     of every control";

/// A control's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ControlStatus {
    Pass,
    Fail,
    Manual,
    NotApplicable,
    Unknown,
}

impl ControlStatus {
    pub const ALL: [ControlStatus; 5] = [
        ControlStatus::Fail,
        ControlStatus::Unknown,
        ControlStatus::Manual,
        ControlStatus::Pass,
        ControlStatus::NotApplicable,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ControlStatus::Pass => "pass",
            ControlStatus::Fail => "fail",
            ControlStatus::Manual => "manual",
            ControlStatus::NotApplicable => "not_applicable",
            ControlStatus::Unknown => "unknown",
        }
    }
}

/// Results of one check in scope, by status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CheckCounts {
    pub pass: u64,
    pub fail: u64,
    pub warn: u64,
    pub unknown: u64,
    pub not_applicable: u64,
    /// Clusters where it fails on at least one resource.
    pub clusters_failing: u64,
    /// Results an exception in force covers, whatever their status: counted here only, never
    /// against the control.
    pub excepted: u64,
}

impl CheckCounts {
    /// Add `n` results of `status` (from `clusters` distinct clusters).
    pub fn add(&mut self, status: Status, n: u64, clusters: u64) {
        match status {
            Status::Pass => self.pass += n,
            Status::Fail => {
                self.fail += n;
                self.clusters_failing += clusters;
            }
            Status::Warn => self.warn += n,
            Status::Unknown => self.unknown += n,
            Status::NotApplicable => self.not_applicable += n,
        }
    }

    /// Move `n` results of `status` to `excepted` (an exception in force covers them).
    pub fn except(&mut self, status: Status, n: u64) {
        let counted = match status {
            Status::Pass => &mut self.pass,
            Status::Fail => &mut self.fail,
            Status::Warn => &mut self.warn,
            Status::Unknown => &mut self.unknown,
            Status::NotApplicable => &mut self.not_applicable,
        };
        *counted = counted.saturating_sub(n);
        self.excepted += n;
    }

    /// Results of `status`.
    pub fn of(&self, status: Status) -> u64 {
        match status {
            Status::Pass => self.pass,
            Status::Fail => self.fail,
            Status::Warn => self.warn,
            Status::Unknown => self.unknown,
            Status::NotApplicable => self.not_applicable,
        }
    }
}

/// One check of a control, with its results in scope.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ControlCheck {
    pub id: String,
    pub title: String,
    pub results: CheckCounts,
}

/// One control's verdict in scope.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ControlResult {
    pub id: String,
    pub title: String,
    pub section: Option<String>,
    #[serde(rename = "type")]
    pub kind: ControlType,
    pub status: ControlStatus,
    /// Why, in words: the failing check, or what to review by hand.
    pub reason: String,
    pub checks: Vec<ControlCheck>,
}

/// Counts of controls by status, and the percentage.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ComplianceTotals {
    pub controls: usize,
    pub pass: usize,
    pub fail: usize,
    pub manual: usize,
    pub not_applicable: usize,
    pub unknown: usize,
    /// `None` when no control a check decides applies.
    pub percentage: Option<f64>,
    /// How the percentage is computed.
    pub method: &'static str,
}

/// The framework as the API names it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FrameworkInfo {
    /// Stable id, e.g. `cis-1.12`.
    pub id: String,
    pub name: String,
    pub version: String,
    pub source: Option<String>,
    pub controls: usize,
    /// Controls some Palisade check decides (the rest are reviewed by hand).
    pub automated_controls: usize,
}

impl From<&Framework> for FrameworkInfo {
    fn from(f: &Framework) -> Self {
        FrameworkInfo {
            id: f.id.clone(),
            name: f.name.clone(),
            version: f.version.clone(),
            source: f.source.clone(),
            controls: f.controls.len(),
            automated_controls: f.controls.iter().filter(|c| !c.checks.is_empty()).count(),
        }
    }
}

/// A framework judged over a scope.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FrameworkCompliance {
    pub framework: FrameworkInfo,
    pub controls: Vec<ControlResult>,
    pub summary: ComplianceTotals,
}

fn plural(n: u64, one: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {one}s")
    }
}

/// Judge every control of `fw` from per-check result counts. `scanned` is how many clusters in
/// scope have results; `titles` names the checks.
pub fn evaluate(
    fw: &Framework,
    counts: &HashMap<String, CheckCounts>,
    scanned: u64,
    titles: &dyn Fn(&str) -> String,
) -> FrameworkCompliance {
    let mut controls = Vec::with_capacity(fw.controls.len());
    for control in &fw.controls {
        let checks: Vec<ControlCheck> = control
            .checks
            .iter()
            .map(|id| ControlCheck {
                id: id.clone(),
                title: titles(id),
                results: counts.get(id).copied().unwrap_or_default(),
            })
            .collect();
        let (status, reason) = verdict(control.manual.as_deref(), &checks, scanned);
        controls.push(ControlResult {
            id: control.id.clone(),
            title: control.title.clone(),
            section: fw.section_title(control).map(str::to_string).or_else(|| control.section.clone()),
            kind: control.kind,
            status,
            reason,
            checks,
        });
    }
    let count = |s: ControlStatus| controls.iter().filter(|c| c.status == s).count();
    let (pass, fail, unknown) =
        (count(ControlStatus::Pass), count(ControlStatus::Fail), count(ControlStatus::Unknown));
    let decided = pass + fail + unknown;
    FrameworkCompliance {
        framework: FrameworkInfo::from(fw),
        summary: ComplianceTotals {
            controls: controls.len(),
            pass,
            fail,
            manual: count(ControlStatus::Manual),
            not_applicable: count(ControlStatus::NotApplicable),
            unknown,
            percentage: (decided > 0).then(|| (pass as f64 * 1000.0 / decided as f64).round() / 10.0),
            method: PERCENTAGE_METHOD,
        },
        controls,
    }
}

fn verdict(manual: Option<&str>, checks: &[ControlCheck], scanned: u64) -> (ControlStatus, String) {
    if checks.is_empty() {
        return (
            ControlStatus::Manual,
            format!("Reviewed by hand: {}", manual.unwrap_or("no check decides it")),
        );
    }
    if scanned == 0 {
        return (ControlStatus::Unknown, "no cluster in scope has scan results yet".into());
    }
    // The worst status any result of its checks has, in the per-scan roll-up's order; results an
    // exception covers are not among them.
    let excepted: u64 = checks.iter().map(|c| c.results.excepted).sum();
    let present: Vec<Status> =
        Status::ALL.iter().copied().filter(|s| checks.iter().any(|c| c.results.of(*s) > 0)).collect();
    let listed = |status: Status, say: &dyn Fn(&ControlCheck, u64) -> String| {
        let said: Vec<String> = checks
            .iter()
            .filter(|c| c.results.of(status) > 0)
            .map(|c| say(c, c.results.of(status)))
            .collect();
        said.join("; ")
    };
    match roll_up(&present) {
        Status::Fail => (
            ControlStatus::Fail,
            listed(Status::Fail, &|c, n| {
                format!(
                    "{} fails on {} in {}",
                    c.id,
                    plural(n, "resource"),
                    plural(c.results.clusters_failing, "cluster")
                )
            }),
        ),
        Status::Warn => (
            ControlStatus::Manual,
            format!(
                "A Manual recommendation for a reviewer to decide: {}",
                listed(Status::Warn, &|c, n| format!("{} is not met on {}", c.id, plural(n, "resource")))
            ),
        ),
        Status::Unknown => (
            ControlStatus::Unknown,
            format!(
                "{} (see the results for the missing evidence)",
                listed(Status::Unknown, &|c, n| {
                    format!("{} could not be decided on {}", c.id, plural(n, "resource"))
                })
            ),
        ),
        Status::Pass => {
            let passed: u64 = checks.iter().map(|c| c.results.pass).sum();
            let also = match excepted {
                0 => String::new(),
                n => format!("; {} covered by exceptions", plural(n, "result")),
            };
            (
                ControlStatus::Pass,
                format!("every result of its checks passes ({}{also})", plural(passed, "result")),
            )
        }
        Status::NotApplicable if present.is_empty() && excepted > 0 => (
            ControlStatus::NotApplicable,
            format!("every result of its checks is covered by an exception ({})", plural(excepted, "result")),
        ),
        Status::NotApplicable if present.is_empty() => {
            (ControlStatus::NotApplicable, "its checks found nothing to judge in scope".into())
        }
        Status::NotApplicable => {
            (ControlStatus::NotApplicable, "its checks do not apply to the clusters in scope".into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frameworks::registry::get;

    fn counts(entries: &[(&str, Status, u64)]) -> HashMap<String, CheckCounts> {
        let mut out: HashMap<String, CheckCounts> = HashMap::new();
        for (id, status, n) in entries {
            out.entry(id.to_string()).or_default().add(*status, *n, 1);
        }
        out
    }

    fn status_of(c: &FrameworkCompliance, id: &str) -> ControlStatus {
        c.controls.iter().find(|x| x.id == id).unwrap().status
    }

    #[test]
    fn one_failing_resource_fails_the_control_and_the_percentage_says_how() {
        let fw = get("cis-1.12").unwrap();
        // 1.2.15 (profiling) is decided by PAL-AUTHZ-011 alone.
        let c = evaluate(
            fw,
            &counts(&[("PAL-AUTHZ-011", Status::Pass, 2), ("PAL-AUTHZ-011", Status::Fail, 1)]),
            3,
            &|id| id.to_string(),
        );
        assert_eq!(status_of(&c, "1.2.15"), ControlStatus::Fail);
        let r = c.controls.iter().find(|x| x.id == "1.2.15").unwrap();
        assert_eq!(r.reason, "PAL-AUTHZ-011 fails on 1 resource in 1 cluster");
        // Checks with no results at all: not applicable; controls with no check: manual.
        assert_eq!(status_of(&c, "1.2.16"), ControlStatus::NotApplicable);
        assert_eq!(status_of(&c, "5.1.7"), ControlStatus::Manual);
        assert_eq!(c.summary.fail, 1);
        assert_eq!(c.summary.pass, 0);
        assert_eq!(c.summary.percentage, Some(0.0));
        assert_eq!(c.summary.controls, 131);
        assert_eq!(
            c.summary.pass + c.summary.fail + c.summary.manual + c.summary.not_applicable + c.summary.unknown,
            131
        );
    }

    #[test]
    fn warn_is_for_a_reviewer_and_unknown_is_never_a_pass() {
        let fw = get("cis-1.12").unwrap();
        let c = evaluate(
            fw,
            &counts(&[
                ("PAL-AUTHN-001", Status::Warn, 1), // 1.2.1 is a Manual recommendation
                ("PAL-AUTHN-002", Status::Pass, 3),
                ("PAL-AUTHN-002", Status::Unknown, 1), // 1.2.2
            ]),
            2,
            &|id| id.to_string(),
        );
        assert_eq!(status_of(&c, "1.2.1"), ControlStatus::Manual);
        assert_eq!(status_of(&c, "1.2.2"), ControlStatus::Unknown);
        assert_eq!(c.summary.percentage, Some(0.0));
        // Nothing scanned: every decided control is unknown.
        let none = evaluate(fw, &HashMap::new(), 0, &|id| id.to_string());
        assert_eq!(status_of(&none, "1.2.2"), ControlStatus::Unknown);
        assert_eq!(status_of(&none, "5.1.7"), ControlStatus::Manual);
    }

    #[test]
    fn excepted_results_count_neither_for_nor_against_a_control() {
        let fw = get("cis-1.12").unwrap();
        let mut by_check = counts(&[("PAL-AUTHZ-011", Status::Pass, 2)]);
        by_check.get_mut("PAL-AUTHZ-011").unwrap().excepted = 1;
        let c = evaluate(fw, &by_check, 3, &|id| id.to_string());
        let r = c.controls.iter().find(|x| x.id == "1.2.15").unwrap();
        assert_eq!(r.status, ControlStatus::Pass);
        assert_eq!(r.reason, "every result of its checks passes (2 results; 1 result covered by exceptions)");
        // Only excepted results: nothing left to judge, so the control leaves the percentage.
        let mut only = HashMap::new();
        only.insert("PAL-AUTHZ-011".to_string(), CheckCounts { excepted: 2, ..Default::default() });
        let c = evaluate(fw, &only, 3, &|id| id.to_string());
        let r = c.controls.iter().find(|x| x.id == "1.2.15").unwrap();
        assert_eq!(r.status, ControlStatus::NotApplicable);
        assert!(r.reason.contains("covered by an exception (2 results)"), "{}", r.reason);
        assert_eq!(c.summary.percentage, None);
    }
}
