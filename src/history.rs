//! Pure history logic: scan summaries and scores, finding identity, the finding lifecycle and
//! the diff between two result sets.
//!
//! Nothing here does I/O. `store::scans`, `store::findings` and `store::trends` persist what these
//! functions compute, so the rules ("what counts as resolved", "how a score is made") live in one
//! place and are unit-tested without a database.
//!
//! Rules:
//! - A finding is one (cluster, check, resource). Its id is a fingerprint of those three, so the
//!   same problem on the same object keeps its identity across scans and replicas.
//! - A finding is *open* while its status is `fail` or `warn`. It is *resolved* when a later scan
//!   shows it `pass` or `not_applicable`, or no longer reports it (`absent`: the resource is gone).
//!   `unknown` never resolves anything: evidence that could not be collected is not a fix.
//! - A resolved finding that is open again is *reopened* (a regression), counted per finding.
//! - The score ([`score`], documented in `docs/scoring.md`) counts each resource once per area:
//!   the resource weighs as much as its worst decided severity there, and scores the
//!   severity-weighted share of its decided results (`pass` + `fail`) that pass. One bad
//!   ClusterRoleBinding failing seven RBAC checks is one thing to fix and costs its weight once.
//!   `warn`, `not_applicable` and `unknown` do not move it. `None` when nothing was decided.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::checks::{CheckResult, ResourceRef};
use crate::domain::{Area, Severity, Status};

/// Number of slots in [`Counts::cells`]: 5 areas × 5 statuses, then 5 severities × 5 statuses.
pub const COUNT_CELLS: usize = 50;

/// Weight of a severity in the score: a critical failure weighs as much as eight low ones.
pub fn severity_weight(severity: Severity) -> f64 {
    match severity {
        Severity::Info => 0.0,
        Severity::Low => 1.0,
        Severity::Medium => 2.0,
        Severity::High => 4.0,
        Severity::Critical => 8.0,
    }
}

fn area_index(area: Area) -> usize {
    Area::ALL.iter().position(|a| *a == area).unwrap_or(0)
}

fn severity_index(severity: Severity) -> usize {
    Severity::ALL.iter().position(|s| *s == severity).unwrap_or(0)
}

fn status_index(status: Status) -> usize {
    Status::ALL.iter().position(|s| *s == status).unwrap_or(0)
}

/// Result counts of one scan, stored as a flat array of [`COUNT_CELLS`] integers so that trend
/// queries can sum single cells in SQL (`counts[i]`) without parsing JSON.
///
/// Layout (0-based): `area * 5 + status` for the 25 area cells, then
/// `25 + severity * 5 + status`, each enum in its `ALL` order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counts {
    pub cells: [i32; COUNT_CELLS],
}

impl Default for Counts {
    fn default() -> Self {
        Self { cells: [0; COUNT_CELLS] }
    }
}

impl Counts {
    /// Count a set of results.
    pub fn of<'a>(results: impl IntoIterator<Item = &'a CheckResult>) -> Self {
        let mut counts = Counts::default();
        for r in results {
            counts.add(r.area, r.severity, r.status);
        }
        counts
    }

    pub fn add(&mut self, area: Area, severity: Severity, status: Status) {
        self.cells[Self::area_cell(area, status)] += 1;
        self.cells[Self::severity_cell(severity, status)] += 1;
    }

    /// Index of the (area, status) cell, 0-based.
    pub fn area_cell(area: Area, status: Status) -> usize {
        area_index(area) * 5 + status_index(status)
    }

    /// Index of the (severity, status) cell, 0-based.
    pub fn severity_cell(severity: Severity, status: Status) -> usize {
        25 + severity_index(severity) * 5 + status_index(status)
    }

    /// Rebuild from the stored array; a wrong length is a corrupt row, reported as an error.
    pub fn from_slice(cells: &[i32]) -> Result<Self, String> {
        let cells: [i32; COUNT_CELLS] = cells
            .try_into()
            .map_err(|_| format!("a scan's counts hold {} cells, expected {COUNT_CELLS}", cells.len()))?;
        Ok(Self { cells })
    }

    pub fn by_status(&self, status: Status) -> i32 {
        Area::ALL.iter().map(|a| self.cells[Self::area_cell(*a, status)]).sum()
    }

    pub fn area(&self, area: Area, status: Status) -> i32 {
        self.cells[Self::area_cell(area, status)]
    }

    pub fn severity(&self, severity: Severity, status: Status) -> i32 {
        self.cells[Self::severity_cell(severity, status)]
    }

    pub fn total(&self) -> i32 {
        self.cells[..25].iter().sum()
    }

    /// Failed results (not warnings): the `failures` trend metric.
    pub fn failures(&self) -> i32 {
        self.by_status(Status::Fail)
    }

    /// The summary shape the API returns, with the scan's `score` (see [`score`]: it is made from
    /// the results, which the counts alone cannot rebuild).
    pub fn summary(&self, score: Option<f64>) -> ScanSummary {
        let row = |f: &dyn Fn(Status) -> i32| StatusCounts {
            pass: f(Status::Pass),
            fail: f(Status::Fail),
            warn: f(Status::Warn),
            not_applicable: f(Status::NotApplicable),
            unknown: f(Status::Unknown),
        };
        ScanSummary {
            total: self.total(),
            score,
            by_status: row(&|s| self.by_status(s)),
            by_area: Area::ALL.iter().map(|a| (a.as_str().to_string(), row(&|s| self.area(*a, s)))).collect(),
            by_severity: Severity::ALL
                .iter()
                .map(|v| (v.as_str().to_string(), row(&|s| self.severity(*v, s))))
                .collect(),
        }
    }
}

/// The score of a result set, in percent with one decimal; `None` when nothing was decided.
///
/// Results are grouped into *units*: one per (area, resource). A unit weighs
/// [`severity_weight`] of the worst severity among its decided (`pass`/`fail`) results, and earns
/// that weight times the severity-weighted share of its decided results that pass. The score is
/// the earned weight over the total weight. So a resource failing seven checks of one area costs
/// its weight once (not seven times), and fixing one of several flags on one component still
/// moves the score.
pub fn score<'a>(results: impl IntoIterator<Item = &'a CheckResult>) -> Option<f64> {
    #[derive(Default)]
    struct Unit {
        worst: f64,
        passed: f64,
        decided: f64,
    }
    let mut units: HashMap<(Area, &ResourceRef), Unit> = HashMap::new();
    for r in results {
        if !matches!(r.status, Status::Pass | Status::Fail) {
            continue;
        }
        let w = severity_weight(r.severity);
        let u = units.entry((r.area, &r.resource)).or_default();
        u.worst = u.worst.max(w);
        u.decided += w;
        if r.status == Status::Pass {
            u.passed += w;
        }
    }
    let (mut earned, mut total) = (0.0, 0.0);
    for u in units.values().filter(|u| u.decided > 0.0) {
        earned += u.worst * u.passed / u.decided;
        total += u.worst;
    }
    (total > 0.0).then(|| (1000.0 * earned / total).round() / 10.0)
}

/// Counts of results by status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StatusCounts {
    pub pass: i32,
    pub fail: i32,
    pub warn: i32,
    pub not_applicable: i32,
    pub unknown: i32,
}

/// A scan's summary: counts by status, area and severity, and the score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ScanSummary {
    pub total: i32,
    /// Severity-weighted share of decided results that pass, in percent; `null` if none decided.
    pub score: Option<f64>,
    pub by_status: StatusCounts,
    /// Keyed by area (`host`, `authn`, `authz`, `tls`, `network`).
    pub by_area: std::collections::BTreeMap<String, StatusCounts>,
    /// Keyed by severity (`info` … `critical`).
    pub by_severity: std::collections::BTreeMap<String, StatusCounts>,
}

/// The identity of a finding: a UUID made from a SHA-256 of cluster, check and resource.
///
/// Fields are length-prefixed so `("a", "bc")` and `("ab", "c")` never collide.
pub fn finding_id(cluster_id: Uuid, check_id: &str, resource: &ResourceRef) -> Uuid {
    let mut h = Sha256::new();
    h.update(cluster_id.as_bytes());
    for part in [
        Some(check_id),
        Some(resource.kind.as_str()),
        resource.namespace.as_deref(),
        Some(resource.name.as_str()),
        resource.node.as_deref(),
    ] {
        match part {
            Some(p) => {
                h.update([1u8]);
                h.update((p.len() as u64).to_be_bytes());
                h.update(p.as_bytes());
            }
            None => h.update([0u8]),
        }
    }
    let digest = h.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
}

/// A finding's status as history sees it: a check status, or `Absent` once no longer reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Observed {
    Present(Status),
    Absent,
}

impl Observed {
    pub fn as_str(self) -> &'static str {
        match self {
            Observed::Present(s) => s.as_str(),
            Observed::Absent => "absent",
        }
    }

    pub fn parse(text: &str) -> Result<Self, String> {
        if text == "absent" {
            Ok(Observed::Absent)
        } else {
            text.parse().map(Observed::Present)
        }
    }

    /// Open: something to fix (`fail` or `warn`).
    pub fn is_open(self) -> bool {
        matches!(self, Observed::Present(Status::Fail | Status::Warn))
    }

    /// Decided as fine: `pass`, `not_applicable` or gone.
    pub fn is_cleared(self) -> bool {
        matches!(self, Observed::Absent | Observed::Present(Status::Pass | Status::NotApplicable))
    }
}

/// The lifecycle fields of one finding, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lifecycle {
    pub status: Observed,
    pub status_since: DateTime<Utc>,
    pub first_seen_at: DateTime<Utc>,
    /// When it last became open.
    pub opened_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub reopened_at: Option<DateTime<Utc>>,
    pub reopen_count: i32,
    /// Set when the finding stops being reported; present findings are last seen at the
    /// cluster's latest scan.
    pub last_seen_at: Option<DateTime<Utc>>,
}

impl Lifecycle {
    /// A finding seen for the first time at `at`.
    pub fn first(status: Status, at: DateTime<Utc>) -> Self {
        let observed = Observed::Present(status);
        Self {
            status: observed,
            status_since: at,
            first_seen_at: at,
            opened_at: observed.is_open().then_some(at),
            resolved_at: None,
            reopened_at: None,
            reopen_count: 0,
            last_seen_at: None,
        }
    }

    /// The lifecycle after a scan at `at` observed `next`. Unchanged status returns `self` as is.
    pub fn transition(&self, next: Observed, at: DateTime<Utc>) -> Self {
        let mut out = self.clone();
        if next == self.status {
            return out;
        }
        out.status = next;
        out.status_since = at;
        out.last_seen_at = match next {
            Observed::Absent => Some(at),
            Observed::Present(_) => None,
        };
        if next.is_open() && !self.status.is_open() {
            if self.resolved_at.is_some() {
                // It was fixed once and is back: a regression.
                out.reopened_at = Some(at);
                out.reopen_count += 1;
                out.resolved_at = None;
                out.opened_at = Some(at);
            } else if self.opened_at.is_none() {
                out.opened_at = Some(at);
            }
            // Open → unknown → open keeps the original opened_at: it was never fixed.
        } else if next.is_cleared() && self.opened_at.is_some() && self.resolved_at.is_none() {
            out.resolved_at = Some(at);
        }
        out
    }

    /// Time to fix, when the finding is resolved.
    pub fn time_to_fix(&self) -> Option<chrono::Duration> {
        Some(self.resolved_at? - self.opened_at?)
    }
}

/// What one scan observed about one finding, keyed by fingerprint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    pub status: Observed,
    pub evidence: String,
}

/// How one finding changed between two result sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// Open in the later set, and absent or cleared in the earlier one.
    New,
    /// Open in the earlier set, and absent or cleared in the later one.
    Resolved,
    /// Present in both with a different status or evidence (includes `unknown` transitions).
    Changed,
}

/// Classify the change of one key between `before` and `after`; `None` when nothing changed.
pub fn classify(before: Option<&Observation>, after: Option<&Observation>) -> Option<ChangeKind> {
    let b = before.map(|o| o.status).unwrap_or(Observed::Absent);
    let a = after.map(|o| o.status).unwrap_or(Observed::Absent);
    if a.is_open() && b.is_cleared() {
        return Some(ChangeKind::New);
    }
    if b.is_open() && a.is_cleared() {
        return Some(ChangeKind::Resolved);
    }
    match (before, after) {
        (None, None) => None,
        (Some(x), Some(y)) if x == y => None,
        // Appearing or disappearing as pass/not_applicable/unknown is still a change worth listing.
        _ => Some(ChangeKind::Changed),
    }
}

/// The difference between two result sets with the same key type, each key once per side.
pub fn diff<K: Clone + Eq + std::hash::Hash + Ord>(
    before: &HashMap<K, Observation>,
    after: &HashMap<K, Observation>,
) -> Vec<(K, ChangeKind)> {
    let mut out = Vec::new();
    for (k, a) in after {
        if let Some(kind) = classify(before.get(k), Some(a)) {
            out.push((k.clone(), kind));
        }
    }
    for (k, b) in before {
        if !after.contains_key(k) {
            if let Some(kind) = classify(Some(b), None) {
                out.push((k.clone(), kind));
            }
        }
    }
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, hour, 0, 0).unwrap()
    }

    fn result(check: &str, name: &str, area: Area, severity: Severity, status: Status) -> CheckResult {
        CheckResult {
            check_id: check.into(),
            title: "t".into(),
            area,
            severity,
            status,
            resource: ResourceRef {
                kind: "Pod".into(),
                namespace: Some("ns".into()),
                name: name.into(),
                node: None,
            },
            evidence: "e".into(),
            source: None,
            refs: vec![],
        }
    }

    #[test]
    fn counts_add_up_by_status_area_and_severity() {
        let rs = vec![
            result("A", "a", Area::Tls, Severity::High, Status::Fail),
            result("A", "b", Area::Tls, Severity::High, Status::Pass),
            result("B", "a", Area::Authn, Severity::Critical, Status::Fail),
            result("C", "a", Area::Network, Severity::Low, Status::Unknown),
        ];
        let c = Counts::of(&rs);
        assert_eq!(c.total(), 4);
        assert_eq!(c.failures(), 2);
        assert_eq!(c.area(Area::Tls, Status::Fail), 1);
        assert_eq!(c.severity(Severity::Critical, Status::Fail), 1);
        assert_eq!(c.by_status(Status::Unknown), 1);
        // Three units (tls/a, tls/b, authn/a): earned 4 (tls/b) of 4 + 4 + 8 = 16 → 25 %.
        assert_eq!(score(&rs), Some(25.0));
        let s = c.summary(score(&rs));
        assert_eq!(s.score, Some(25.0));
        assert_eq!(s.by_area["tls"].pass, 1);
        assert_eq!(s.by_severity["low"].unknown, 1);
        assert_eq!(Counts::from_slice(&c.cells).unwrap(), c);
        assert!(Counts::from_slice(&[1, 2]).is_err());
    }

    #[test]
    fn a_scan_with_nothing_decided_has_no_score() {
        let rs = vec![result("A", "a", Area::Tls, Severity::High, Status::Unknown)];
        assert_eq!(score(&rs), None);
    }

    #[test]
    fn a_resource_failing_seven_checks_of_one_area_costs_its_weight_once() {
        // One ClusterRoleBinding to cluster-admin fails seven critical RBAC checks.
        let ids = [
            "PAL-AUTHZ-101",
            "PAL-AUTHZ-104",
            "PAL-AUTHZ-108",
            "PAL-AUTHZ-109",
            "PAL-AUTHZ-110",
            "PAL-AUTHZ-111",
            "PAL-AUTHZ-112",
        ];
        let mut rs: Vec<CheckResult> = ids
            .iter()
            .map(|id| result(id, "admin-binding", Area::Authz, Severity::Critical, Status::Fail))
            .collect();
        // Three other bindings are fine on one check each.
        for name in ["a", "b", "c"] {
            rs.push(result("PAL-AUTHZ-101", name, Area::Authz, Severity::Critical, Status::Pass));
        }
        // Per result this would be 3 / 10 = 30 %; per resource it is 3 of 4 bindings = 75 %.
        assert_eq!(score(&rs), Some(75.0));
        // The same binding failing one check only scores the same: one thing to fix either way.
        let one = [&rs[0..1], &rs[7..]].concat();
        assert_eq!(score(&one), Some(75.0));
    }

    #[test]
    fn a_unit_weighs_its_worst_severity_and_earns_its_weighted_pass_share() {
        let rs = vec![
            // apiserver/authn: one critical fail, one low pass → weight 8, earns 8 * 1/9.
            result("A", "apiserver", Area::Authn, Severity::Critical, Status::Fail),
            result("B", "apiserver", Area::Authn, Severity::Low, Status::Pass),
            // The same pod in another area is another unit: tls, medium pass → weight 2, earns 2.
            result("C", "apiserver", Area::Tls, Severity::Medium, Status::Pass),
            // Undecided results make no unit.
            result("D", "other", Area::Tls, Severity::Critical, Status::Unknown),
            result("E", "other", Area::Tls, Severity::Critical, Status::Warn),
        ];
        // (8/9 + 2) / 10 = 28.9 %.
        assert_eq!(score(&rs), Some(28.9));
    }

    #[test]
    fn finding_ids_are_stable_and_distinguish_every_part() {
        let c = Uuid::nil();
        let r =
            ResourceRef { kind: "Pod".into(), namespace: Some("a".into()), name: "bc".into(), node: None };
        let r2 =
            ResourceRef { kind: "Pod".into(), namespace: Some("ab".into()), name: "c".into(), node: None };
        let r3 =
            ResourceRef { kind: "Pod".into(), namespace: None, name: "bc".into(), node: Some("a".into()) };
        assert_eq!(finding_id(c, "X", &r), finding_id(c, "X", &r));
        assert_ne!(finding_id(c, "X", &r), finding_id(c, "X", &r2));
        assert_ne!(finding_id(c, "X", &r), finding_id(c, "X", &r3));
        assert_ne!(finding_id(c, "X", &r), finding_id(c, "Y", &r));
        assert_ne!(finding_id(c, "X", &r), finding_id(Uuid::from_u128(1), "X", &r));
    }

    #[test]
    fn a_finding_fixed_and_regressed_is_resolved_then_reopened() {
        let l = Lifecycle::first(Status::Fail, t(1));
        assert_eq!(l.opened_at, Some(t(1)));
        let fixed = l.transition(Observed::Present(Status::Pass), t(2));
        assert_eq!(fixed.resolved_at, Some(t(2)));
        assert_eq!(fixed.time_to_fix(), Some(chrono::Duration::hours(1)));
        let same = fixed.transition(Observed::Present(Status::Pass), t(3));
        assert_eq!(same, fixed);
        let back = fixed.transition(Observed::Present(Status::Fail), t(4));
        assert_eq!(back.reopen_count, 1);
        assert_eq!(back.reopened_at, Some(t(4)));
        assert_eq!(back.resolved_at, None);
        assert_eq!(back.opened_at, Some(t(4)));
        let gone = back.transition(Observed::Absent, t(5));
        assert_eq!(gone.resolved_at, Some(t(5)));
        assert_eq!(gone.last_seen_at, Some(t(5)));
    }

    #[test]
    fn unknown_evidence_never_resolves_a_finding() {
        let l = Lifecycle::first(Status::Fail, t(1));
        let unk = l.transition(Observed::Present(Status::Unknown), t(2));
        assert_eq!(unk.resolved_at, None);
        let again = unk.transition(Observed::Present(Status::Fail), t(3));
        assert_eq!(again.reopen_count, 0);
        assert_eq!(again.opened_at, Some(t(1)));
    }

    #[test]
    fn a_passing_finding_that_starts_failing_is_opened_but_not_reopened() {
        let l = Lifecycle::first(Status::Pass, t(1));
        assert_eq!(l.opened_at, None);
        let f = l.transition(Observed::Present(Status::Fail), t(2));
        assert_eq!(f.opened_at, Some(t(2)));
        assert_eq!(f.reopen_count, 0);
    }

    #[test]
    fn diff_lists_new_resolved_and_changed() {
        let o = |s: Status, e: &str| Observation { status: Observed::Present(s), evidence: e.into() };
        let before: HashMap<&str, Observation> = [
            ("fixed", o(Status::Fail, "x")),
            ("gone", o(Status::Warn, "x")),
            ("same", o(Status::Fail, "x")),
            ("reworded", o(Status::Fail, "x")),
            ("regressed", o(Status::Pass, "x")),
            ("to-unknown", o(Status::Fail, "x")),
        ]
        .into_iter()
        .collect();
        let after: HashMap<&str, Observation> = [
            ("fixed", o(Status::Pass, "x")),
            ("same", o(Status::Fail, "x")),
            ("reworded", o(Status::Fail, "y")),
            ("regressed", o(Status::Fail, "x")),
            ("to-unknown", o(Status::Unknown, "timed out")),
            ("brand-new", o(Status::Fail, "x")),
            ("new-pass", o(Status::Pass, "x")),
        ]
        .into_iter()
        .collect();
        let d = diff(&before, &after);
        assert_eq!(
            d,
            vec![
                ("brand-new", ChangeKind::New),
                ("fixed", ChangeKind::Resolved),
                ("gone", ChangeKind::Resolved),
                ("new-pass", ChangeKind::Changed),
                ("regressed", ChangeKind::New),
                ("reworded", ChangeKind::Changed),
                ("to-unknown", ChangeKind::Changed),
            ]
        );
    }
}
