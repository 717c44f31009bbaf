//! OSCAL Assessment Results (NIST OSCAL 1.1) of one scan, the form auditors import.
//!
//! One `result` per scan, judged against one framework (CIS v1.12 by default):
//! - every result that is not a pass (fail, warn, unknown) is an **observation**: what was tested
//!   (`methods: TEST`), on which resource (a `subject`, declared as an inventory item in the
//!   result's `local-definitions`), and the evidence in words with where it came from;
//! - every control a check decides is a **finding** with its verdict (`satisfied` or
//!   `not-satisfied`) and the observations of its failing results; a failed check that decides
//!   no control of the framework is a finding of its own (target: the check id), so every failed
//!   check appears as a finding with its observations;
//! - controls reviewed by hand, undecided ones and those that do not apply get no finding: the
//!   result's `remarks` count them.
//!
//! Identifiers are name-based UUIDs (v5) of the scan and what they name, so the same scan always
//! yields the same document. Prop values are trimmed (OSCAL forbids edge whitespace).

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::checks::{CheckResult, ResourceRef};
use crate::domain::Status;
use crate::frameworks::compliance::{evaluate, CheckCounts, ControlStatus};
use crate::frameworks::registry::Framework;

/// The OSCAL version the documents follow.
pub const OSCAL_VERSION: &str = "1.1.2";
/// The namespace of Palisade's own props.
pub const PROPS_NS: &str = "https://palisade.dev/ns/oscal";
/// The namespace of the name-based UUIDs.
const UUID_NS: Uuid = Uuid::from_u128(0x3f1c_2a64_8d0e_4b57_9a61_0c2e_5d7f_b913);

/// What the document describes.
#[derive(Debug, Clone)]
pub struct Assessment<'a> {
    pub cluster: &'a str,
    /// The scan's id when it was stored; offline scans name theirs by cluster and time.
    pub scan_id: Option<Uuid>,
    pub started: DateTime<Utc>,
    pub finished: DateTime<Utc>,
    pub results: &'a [CheckResult],
    pub framework: &'a Framework,
    /// When the document is written (`metadata.last-modified`).
    pub generated_at: DateTime<Utc>,
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A prop, or nothing when the value is blank.
fn prop(name: &str, value: &str) -> Option<Value> {
    let v = value.trim();
    (!v.is_empty()).then(|| json!({"name": name, "ns": PROPS_NS, "value": v}))
}

fn resource_text(r: &ResourceRef) -> String {
    ResourceRef::text(&r.kind, r.namespace.as_deref(), &r.name, r.node.as_deref())
}

/// An OSCAL token for a control of a framework: `cis-1.12_1.2.15`.
fn control_token(framework: &str, control: &str) -> String {
    let clean: String = control
        .chars()
        .map(|c| if c.is_alphanumeric() || matches!(c, '.' | '-' | '_') { c } else { '_' })
        .collect();
    format!("{framework}_{clean}")
}

/// The Assessment Results document.
pub fn assessment_results(a: &Assessment<'_>) -> Value {
    let key = match a.scan_id {
        Some(id) => id.to_string(),
        None => format!("{}@{}", a.cluster, time(a.finished)),
    };
    let id = |what: &str| Uuid::new_v5(&UUID_NS, format!("{key}|{what}").as_bytes()).to_string();

    let mut items: BTreeMap<String, Value> = BTreeMap::new();
    let mut observations = Vec::new();
    // Observation ids of the failing results, per check.
    let mut failing: HashMap<&str, Vec<String>> = HashMap::new();
    let mut counts: HashMap<String, CheckCounts> = HashMap::new();
    for r in a.results {
        counts.entry(r.check_id.clone()).or_default().add(r.status, 1, 1);
        if r.status == Status::Pass || r.status == Status::NotApplicable {
            continue;
        }
        let subject = resource_text(&r.resource);
        let item = id(&format!("item|{subject}"));
        items.entry(item.clone()).or_insert_with(|| {
            let props: Vec<Value> = [
                prop("kind", &r.resource.kind),
                r.resource.namespace.as_deref().and_then(|n| prop("namespace", n)),
                prop("name", &r.resource.name),
                r.resource.node.as_deref().and_then(|n| prop("node", n)),
            ]
            .into_iter()
            .flatten()
            .collect();
            json!({"uuid": item, "description": subject, "props": props})
        });
        let obs = id(&format!("obs|{}|{subject}", r.check_id));
        let props: Vec<Value> = [
            prop("check-id", &r.check_id),
            prop("status", r.status.as_str()),
            prop("severity", r.severity.as_str()),
            prop("area", r.area.as_str()),
        ]
        .into_iter()
        .flatten()
        .collect();
        let mut evidence = json!({"description": if r.evidence.trim().is_empty() { "no evidence recorded" } else { r.evidence.as_str() }});
        if let Some(p) = r.source.and_then(|s| prop("source", s.as_str())) {
            evidence["props"] = json!([p]);
        }
        observations.push(json!({
            "uuid": obs,
            "title": format!("{} {}", r.check_id, r.title),
            "description": format!("{}: {} — {}", r.status.as_str(), r.title, subject),
            "props": props,
            "methods": ["TEST"],
            "types": ["finding"],
            "subjects": [{"subject-uuid": item, "type": "inventory-item", "title": subject}],
            "relevant-evidence": [evidence],
            "collected": time(a.finished),
        }));
        if r.status == Status::Fail {
            failing.entry(r.check_id.as_str()).or_default().push(obs);
        }
    }

    let fw = a.framework;
    let judged = evaluate(fw, &counts, u64::from(!a.results.is_empty()), &|c| c.to_string());
    let mut findings = Vec::new();
    let mut decided_checks: std::collections::HashSet<&str> = std::collections::HashSet::new();
    let mut left = BTreeMap::<&str, usize>::new();
    for (control, verdict) in fw.controls.iter().zip(&judged.controls) {
        decided_checks.extend(control.checks.iter().map(String::as_str));
        let state = match verdict.status {
            ControlStatus::Pass => "satisfied",
            ControlStatus::Fail => "not-satisfied",
            other => {
                *left.entry(other.as_str()).or_default() += 1;
                continue;
            }
        };
        let related: Vec<Value> = control
            .checks
            .iter()
            .flat_map(|c| failing.get(c.as_str()).into_iter().flatten())
            .map(|o| json!({"observation-uuid": o}))
            .collect();
        let props: Vec<Value> = control.checks.iter().filter_map(|c| prop("check-id", c)).collect();
        let mut finding = json!({
            "uuid": id(&format!("finding|{}", control.id)),
            "title": format!("{} {}: {}", fw.name, control.id, control.title),
            "description": verdict.reason,
            "props": props,
            "target": {
                "type": "objective-id",
                "target-id": control_token(&fw.id, &control.id),
                "title": control.title,
                "status": {"state": state, "reason": if state == "satisfied" { "pass" } else { "fail" }},
            },
        });
        if !related.is_empty() {
            finding["related-observations"] = Value::Array(related);
        }
        findings.push(finding);
    }
    // Failed checks no control of the framework names: a finding each, on the check itself.
    let mut orphans: Vec<&&str> = failing.keys().filter(|c| !decided_checks.contains(**c)).collect();
    orphans.sort();
    for check in orphans {
        let title =
            a.results.iter().find(|r| r.check_id == **check).map(|r| r.title.as_str()).unwrap_or_default();
        let related: Vec<Value> = failing[*check].iter().map(|o| json!({"observation-uuid": o})).collect();
        findings.push(json!({
            "uuid": id(&format!("finding|check|{check}")),
            "title": format!("{check} {title}"),
            "description": format!(
                "{check} fails on {} resource(s); no {} control names it", related.len(), fw.name
            ),
            "props": [prop("check-id", check)],
            "target": {
                "type": "objective-id",
                "target-id": control_token("palisade", check),
                "title": title,
                "status": {"state": "not-satisfied", "reason": "fail"},
            },
            "related-observations": related,
        }));
    }

    let remarks = if left.is_empty() {
        "Every control a check decides was judged.".to_string()
    } else {
        let parts: Vec<String> = left.iter().map(|(s, n)| format!("{n} {s}")).collect();
        format!("Controls without a finding: {} (manual controls are reviewed by hand).", parts.join(", "))
    };
    let result_props: Vec<Value> =
        [prop("cluster", a.cluster), a.scan_id.and_then(|s| prop("scan-id", &s.to_string()))]
            .into_iter()
            .flatten()
            .collect();
    let mut result = json!({
        "uuid": id("result"),
        "title": format!("Palisade scan of cluster {}", a.cluster),
        "description": format!(
            "{} checks on cluster {} judged against the {} ({} results).",
            if a.scan_id.is_some() { "Scheduled or on-demand" } else { "Offline" },
            a.cluster, fw.name, a.results.len()
        ),
        "start": time(a.started),
        "end": time(a.finished),
        "props": result_props,
        "reviewed-controls": {
            "description": format!("Every control of the {} {}.", fw.name, fw.version),
            "control-selections": [{"include-all": {}}],
        },
        "observations": observations,
        "findings": findings,
        "remarks": remarks,
    });
    if !items.is_empty() {
        result["local-definitions"] = json!({"inventory-items": items.into_values().collect::<Vec<_>>()});
    }
    if result["observations"].as_array().is_some_and(Vec::is_empty) {
        result.as_object_mut().map(|o| o.remove("observations"));
    }
    if result["findings"].as_array().is_some_and(Vec::is_empty) {
        result.as_object_mut().map(|o| o.remove("findings"));
    }
    json!({
        "assessment-results": {
            "uuid": id("document"),
            "metadata": {
                "title": format!("Palisade assessment results: {}", a.cluster),
                "last-modified": time(a.generated_at),
                "version": env!("CARGO_PKG_VERSION"),
                "oscal-version": OSCAL_VERSION,
                "props": [prop("generator", "palisade")],
            },
            "import-ap": {
                "href": format!("urn:palisade:assessment-plan:{}", fw.id),
                "remarks": "Palisade's automated checks; the plan is its check catalog (GET /api/v1/checks).",
            },
            "results": [result],
        }
    })
}

/// The document as pretty JSON with a final newline.
pub fn render(a: &Assessment<'_>) -> String {
    let mut s = serde_json::to_string_pretty(&assessment_results(a)).unwrap_or_default();
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::{run_all, CheckOptions};
    use crate::snapshot::Snapshot;

    fn doc() -> (Value, Vec<CheckResult>) {
        let snap = Snapshot::kubeadm_default();
        let results = run_all(&snap, &CheckOptions::default());
        let at = snap.collected_at;
        let a = Assessment {
            cluster: "kubeadm",
            scan_id: None,
            started: at,
            finished: at,
            results: &results,
            framework: crate::frameworks::cis(),
            generated_at: at,
        };
        (assessment_results(&a), results)
    }

    #[test]
    fn every_failed_check_is_a_finding_with_its_observations_and_evidence() {
        let (doc, results) = doc();
        let result = &doc["assessment-results"]["results"][0];
        let observations = result["observations"].as_array().unwrap();
        let by_id: HashMap<&str, &Value> =
            observations.iter().map(|o| (o["uuid"].as_str().unwrap(), o)).collect();
        let failed: std::collections::BTreeSet<&str> =
            results.iter().filter(|r| r.status == Status::Fail).map(|r| r.check_id.as_str()).collect();
        assert!(!failed.is_empty());
        let findings = result["findings"].as_array().unwrap();
        for check in failed {
            let linked = findings.iter().any(|f| {
                f["related-observations"].as_array().into_iter().flatten().any(|o| {
                    let obs = by_id[o["observation-uuid"].as_str().unwrap()];
                    obs["props"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|p| p["name"] == "check-id" && p["value"] == check)
                })
            });
            assert!(linked, "{check} has no finding");
        }
        let profiling = findings.iter().find(|f| f["target"]["target-id"] == "cis-1.12_1.2.15").unwrap();
        assert_eq!(profiling["target"]["status"]["state"], "not-satisfied");
        let obs = by_id[profiling["related-observations"][0]["observation-uuid"].as_str().unwrap()];
        assert!(obs["relevant-evidence"][0]["description"].as_str().unwrap().contains("profiling"), "{obs}");
        let subject = obs["subjects"][0]["subject-uuid"].as_str().unwrap();
        let items = result["local-definitions"]["inventory-items"].as_array().unwrap();
        assert!(items.iter().any(|i| i["uuid"] == subject), "the subject is declared");
        assert_eq!(
            findings.iter().find(|f| f["target"]["target-id"] == "cis-1.12_1.2.2").unwrap()["target"]
                ["status"]["state"],
            "satisfied"
        );
    }

    #[test]
    fn the_same_scan_gives_the_same_document() {
        assert_eq!(doc().0, doc().0);
        let (d, _) = doc();
        assert_eq!(d["assessment-results"]["metadata"]["oscal-version"], OSCAL_VERSION);
        let uuid = d["assessment-results"]["uuid"].as_str().unwrap().parse::<Uuid>().unwrap();
        assert_eq!(uuid.get_version_num(), 5);
    }
}
