//! Scan reports: one [`Report`] (cluster, time, summary, results) rendered as a table for people,
//! JSON for programs (the same result shape as the API), SARIF 2.1.0 for code-scanning tools or
//! OSCAL 1.1 Assessment Results for auditors.
//!
//! The JSON layout is stable and documented in `docs/report-json.md`:
//! `{"cluster", "scanned_at", "summary", "results": [CheckResult…]}`.

pub mod json;
pub mod oscal;
pub mod sarif;
pub mod table;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::checks::{run_all, CheckOptions, CheckResult};
use crate::domain::{Severity, Status};
use crate::frameworks::{cis_compliance, Compliance};
use crate::snapshot::{ComponentKind, Snapshot};

/// Output format of `palisade scan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Grouped by area, colored on a terminal.
    Table,
    /// The stable JSON report.
    Json,
    /// SARIF 2.1.0 (failures, warnings and unknowns).
    Sarif,
    /// OSCAL 1.1 Assessment Results, judged against CIS v1.12 (every failed check a finding).
    Oscal,
}

/// Counts over a scan's results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Number of results.
    pub total: usize,
    /// Results per status (`pass`, `fail`, `warn`, `not_applicable`, `unknown`), all keys present.
    pub by_status: BTreeMap<String, usize>,
    /// Failed results per severity (`critical` … `info`), all keys present.
    pub failed_by_severity: BTreeMap<String, usize>,
    /// CIS v1.12 roll-up: controls assessed, passed, failed, warned, unknown, not applicable and
    /// the score in percent.
    pub cis_1_12: ComplianceSummary,
    /// How many instances of each component were judged (`kube-apiserver`, `etcd`, …, `kubelet`):
    /// distinct resources of that kind with at least one decided result (pass, fail or warn; a
    /// component whose evidence is missing is not judged). Every kind is present.
    #[serde(default)]
    pub components_judged: BTreeMap<String, usize>,
}

/// The headline numbers of a framework roll-up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComplianceSummary {
    pub assessed: usize,
    pub passed: usize,
    pub failed: usize,
    pub warned: usize,
    pub unknown: usize,
    pub not_applicable: usize,
    pub score: Option<f64>,
}

impl From<&Compliance> for ComplianceSummary {
    fn from(c: &Compliance) -> Self {
        ComplianceSummary {
            assessed: c.assessed,
            passed: c.passed,
            failed: c.failed,
            warned: c.warned,
            unknown: c.unknown,
            not_applicable: c.not_applicable,
            score: c.score,
        }
    }
}

/// The result of judging one snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The cluster's name.
    pub cluster: String,
    /// When the evidence was collected.
    pub scanned_at: DateTime<Utc>,
    pub summary: Summary,
    pub results: Vec<CheckResult>,
}

impl Report {
    /// Run every check on a snapshot and summarize.
    pub fn from_snapshot(snap: &Snapshot, options: &CheckOptions) -> Report {
        Report::new(&snap.cluster.name, snap.collected_at, run_all(snap, options))
    }

    /// A report over given results.
    pub fn new(cluster: &str, scanned_at: DateTime<Utc>, results: Vec<CheckResult>) -> Report {
        let mut by_status: BTreeMap<String, usize> = Status::ALL.iter().map(|s| (s.to_string(), 0)).collect();
        let mut failed_by_severity: BTreeMap<String, usize> =
            Severity::ALL.iter().map(|s| (s.to_string(), 0)).collect();
        for r in &results {
            *by_status.entry(r.status.to_string()).or_default() += 1;
            if r.status == Status::Fail {
                *failed_by_severity.entry(r.severity.to_string()).or_default() += 1;
            }
        }
        let compliance = cis_compliance(&results);
        let kinds = ComponentKind::ALL.iter().map(|k| k.as_str()).chain(["kubelet"]);
        let components_judged = kinds
            .map(|kind| {
                let instances: std::collections::BTreeSet<(&str, Option<&str>)> = results
                    .iter()
                    .filter(|r| {
                        r.resource.kind == kind
                            && matches!(r.status, Status::Pass | Status::Fail | Status::Warn)
                    })
                    .map(|r| (r.resource.name.as_str(), r.resource.node.as_deref()))
                    .collect();
                (kind.to_string(), instances.len())
            })
            .collect();
        Report {
            cluster: cluster.to_string(),
            scanned_at,
            summary: Summary {
                total: results.len(),
                by_status,
                failed_by_severity,
                cis_1_12: ComplianceSummary::from(&compliance),
                components_judged,
            },
            results,
        }
    }

    /// Whether any result failed at `threshold` severity or above (the `--fail-on` gate).
    pub fn fails_at(&self, threshold: Severity) -> bool {
        self.results.iter().any(|r| r.status == Status::Fail && r.severity >= threshold)
    }

    /// Render in a format. `color` applies to the table only.
    pub fn render(
        &self,
        format: Format,
        color: bool,
        locate: &dyn Fn(&CheckResult) -> Option<String>,
    ) -> String {
        match format {
            Format::Table => table::render(self, color),
            Format::Json => json::render(self),
            Format::Sarif => sarif::render(self, locate),
            Format::Oscal => oscal::render(&oscal::Assessment {
                cluster: &self.cluster,
                scan_id: None,
                started: self.scanned_at,
                finished: self.scanned_at,
                results: &self.results,
                framework: crate::frameworks::cis(),
                generated_at: Utc::now(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fail_on_counts_only_failures_at_or_above_the_threshold() {
        let report = Report::from_snapshot(&Snapshot::kubeadm_default(), &CheckOptions::default());
        // kubeadm-default fails profiling (low), audit (medium), kubelet CA (medium) but nothing critical.
        assert!(report.fails_at(Severity::Low));
        assert!(report.fails_at(Severity::Medium));
        assert!(!report.fails_at(Severity::Critical));
        let bad = Snapshot::kubeadm_default().with_apiserver_flag("authorization-mode", "AlwaysAllow");
        assert!(Report::from_snapshot(&bad, &CheckOptions::default()).fails_at(Severity::Critical));
    }

    #[test]
    fn the_summary_counts_every_status_and_failed_severity() {
        let report = Report::from_snapshot(&Snapshot::kubeadm_default(), &CheckOptions::default());
        let s = &report.summary;
        assert_eq!(s.by_status.values().sum::<usize>(), s.total);
        assert_eq!(s.by_status.len(), 5);
        assert_eq!(s.failed_by_severity.values().sum::<usize>(), s.by_status["fail"]);
        assert!(s.cis_1_12.assessed > 0);
    }
}
