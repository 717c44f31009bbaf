//! SARIF 2.1.0 output for code-scanning tools (GitHub code scanning, DefectDojo, …).
//!
//! Every catalog check is a rule (title, rationale, remediation as help, area and framework ids as
//! tags, `security-severity` from the severity). Results are the findings a reviewer must act on:
//! `fail` (kind `fail`, level from severity), `warn` (kind `review`, level `warning`/`note`) and
//! `unknown` (kind `open`, level `note`); passing and not-applicable results are left out, as
//! code-scanning tools track open findings. When the scan read manifests, the caller's `locate`
//! gives the file a result is about (e.g. `manifests/cp-1/kube-apiserver.yaml`) as the physical
//! location; every result also carries a logical location naming the Kubernetes object.

use serde_json::{json, Value};

use crate::checks::{catalog, CheckResult};
use crate::domain::{Severity, Status};

use super::Report;

/// The SARIF 2.1.0 schema URI.
pub const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

fn security_severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
        Severity::Info => "0.0",
    }
}

fn level(r: &CheckResult) -> &'static str {
    match (r.status, r.severity) {
        (Status::Fail, Severity::Critical | Severity::High) => "error",
        (Status::Fail, Severity::Medium | Severity::Low) => "warning",
        (Status::Warn, Severity::Critical | Severity::High) => "warning",
        _ => "note",
    }
}

fn kind(s: Status) -> &'static str {
    match s {
        Status::Fail => "fail",
        Status::Warn => "review",
        Status::Unknown => "open",
        Status::Pass => "pass",
        Status::NotApplicable => "notApplicable",
    }
}

/// Render the report as a SARIF 2.1.0 log.
pub fn render(report: &Report, locate: &dyn Fn(&CheckResult) -> Option<String>) -> String {
    let checks = catalog();
    let rules: Vec<Value> = checks
        .iter()
        .map(|c| {
            let m = &c.meta;
            let mut tags = vec!["security".to_string(), "kubernetes".to_string(), m.area.to_string()];
            tags.extend(m.framework_refs().iter().map(|r| format!("{}:{}", r.framework, r.id)));
            json!({
                "id": m.id,
                "name": m.id.replace('-', ""),
                "shortDescription": {"text": m.title},
                "fullDescription": {"text": m.rationale},
                "help": {"text": m.remediation, "markdown": format!("**Remediation:** {}", m.remediation)},
                "defaultConfiguration": {"level": match m.severity {
                    Severity::Critical | Severity::High => "error",
                    Severity::Medium | Severity::Low => "warning",
                    Severity::Info => "note",
                }},
                "properties": {
                    "tags": tags,
                    "security-severity": security_severity(m.severity),
                    "precision": "very-high",
                    "problem.severity": m.severity.as_str(),
                },
            })
        })
        .collect();
    let results: Vec<Value> = report
        .results
        .iter()
        .filter(|r| matches!(r.status, Status::Fail | Status::Warn | Status::Unknown))
        .map(|r| {
            let rule_index = checks.iter().position(|c| c.meta.id == r.check_id);
            let res = &r.resource;
            let fqn = [res.namespace.as_deref(), Some(res.kind.as_str()), Some(res.name.as_str())]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join("/");
            let mut location = json!({
                "logicalLocations": [{"name": res.name, "fullyQualifiedName": fqn, "kind": "resource"}],
            });
            if let Some(uri) = locate(r) {
                location["physicalLocation"] = json!({"artifactLocation": {"uri": uri}});
            }
            let mut result = json!({
                "ruleId": r.check_id,
                "kind": kind(r.status),
                "level": level(r),
                "message": {"text": r.evidence},
                "locations": [location],
                "partialFingerprints": {"palisade/v1": format!("{}|{}|{}", r.check_id, fqn, res.node.as_deref().unwrap_or(""))},
                "properties": {
                    "status": r.status.as_str(),
                    "severity": r.severity.as_str(),
                    "cluster": report.cluster,
                    "node": res.node,
                    "source": r.source.map(|s| s.as_str()),
                    "refs": r.refs.iter().map(|f| format!("{}:{}", f.framework, f.id)).collect::<Vec<_>>(),
                },
            });
            if let Some(i) = rule_index {
                result["ruleIndex"] = json!(i);
            }
            result
        })
        .collect();
    let log = json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "Palisade",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://github.com/palisade-security/palisade",
                "rules": rules,
            }},
            "automationDetails": {"id": format!("palisade/{}/", report.cluster)},
            "invocations": [{"executionSuccessful": true, "endTimeUtc": report.scanned_at.to_rfc3339()}],
            "results": results,
        }],
    });
    let mut text = serde_json::to_string_pretty(&log).expect("SARIF always serializes");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::CheckOptions;
    use crate::snapshot::Snapshot;

    #[test]
    fn sarif_lists_every_rule_and_only_open_findings() {
        let report = Report::from_snapshot(&Snapshot::kubeadm_default(), &CheckOptions::default());
        let locate = |r: &CheckResult| {
            r.resource.node.as_ref().map(|n| format!("manifests/{n}/{}.yaml", r.resource.kind))
        };
        let v: Value = serde_json::from_str(&render(&report, &locate)).unwrap();
        assert_eq!(v["version"], "2.1.0");
        let run = &v["runs"][0];
        let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
        assert_eq!(rules.len(), catalog().len());
        let results = run["results"].as_array().unwrap();
        let open = report
            .results
            .iter()
            .filter(|r| matches!(r.status, Status::Fail | Status::Warn | Status::Unknown))
            .count();
        assert_eq!(results.len(), open);
        let profiling = results.iter().find(|r| r["ruleId"] == "PAL-AUTHZ-011").unwrap();
        assert_eq!(profiling["kind"], "fail");
        assert_eq!(profiling["level"], "warning");
        assert_eq!(
            profiling["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            "manifests/cp-1/kube-apiserver.yaml"
        );
        assert_eq!(
            profiling["locations"][0]["logicalLocations"][0]["fullyQualifiedName"],
            "kube-system/kube-apiserver/kube-apiserver-cp-1"
        );
        let idx = profiling["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[idx]["id"], "PAL-AUTHZ-011");
        assert_eq!(rules[idx]["properties"]["tags"][3], "cis-1.12:1.2.15");
    }
}
