//! OSCAL Assessment Results of a stored scan (issue 15), from a real scan of the simulator's
//! kubeadm sample: every failed check appears as a finding with its observations, each carrying
//! the result's evidence; controls carry their verdict. The document's validity against NIST's
//! model is checked by `scripts/oscal-validate.sh` (compliance-trestle), which runs this test with
//! `PALISADE_OSCAL_OUT=DIR` to collect the documents it writes.

use std::collections::{BTreeSet, HashMap};

use palisade::domain::Role;
use serde_json::Value;

use crate::frameworks::{all_results, register, scanned};
use crate::helpers::{assert_problem, spawn_app};
use crate::history_scheduler::start_sim;

fn keep(name: &str, doc: &Value) {
    if let Some(dir) = std::env::var_os("PALISADE_OSCAL_OUT") {
        let path = std::path::Path::new(&dir).join(name);
        std::fs::write(&path, serde_json::to_vec_pretty(doc).unwrap()).unwrap();
    }
}

#[tokio::test]
async fn a_stored_scan_as_oscal_assessment_results_names_every_failed_check_with_its_evidence() {
    let app = spawn_app().await;
    let sim = start_sim(vec![]).await;
    let viewer = app.client_with_role(Role::Viewer).await;
    let cluster = register(&app, "oscal-prod", "payments", &sim.kubeconfig()).await;

    // No results yet: nothing to assess.
    let resp = app.admin.post(app.url(&format!("/api/v1/clusters/{cluster}/scans"))).send().await.unwrap();
    let queued: Value = resp.json().await.unwrap();
    let url = app.url(&format!("/api/v1/scans/{}/oscal", queued["id"].as_str().unwrap()));
    assert_problem(viewer.get(&url).send().await.unwrap(), 409).await;

    let scan = scanned(&app, &cluster).await;
    let scan_id = scan["id"].as_str().unwrap();
    let resp = viewer.get(app.url(&format!("/api/v1/scans/{scan_id}/oscal"))).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
    let doc: Value = resp.json().await.unwrap();
    keep("api-cis.json", &doc);
    let ar = &doc["assessment-results"];
    assert_eq!(ar["metadata"]["oscal-version"], "1.1.2");
    let result = &ar["results"][0];
    let at = |v: &Value| chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap()).unwrap().timestamp();
    assert_eq!(at(&result["start"]), at(&scan["started_at"]), "{result}");
    assert_eq!(at(&result["end"]), at(&scan["finished_at"]));
    let props = result["props"].as_array().unwrap();
    assert!(props.iter().any(|p| p["name"] == "scan-id" && p["value"] == scan_id), "{props:?}");
    assert!(props.iter().any(|p| p["name"] == "cluster" && p["value"] == "oscal-prod"));

    // Every non-passing result is an observation with the result's own evidence.
    let results = all_results(&app, scan_id).await;
    let observations = result["observations"].as_array().unwrap();
    let prop_of = |o: &Value, name: &str| -> String {
        o["props"].as_array().unwrap().iter().find(|p| p["name"] == name).unwrap()["value"]
            .as_str()
            .unwrap()
            .into()
    };
    let not_passing: Vec<&Value> =
        results.iter().filter(|r| !matches!(r["status"].as_str(), Some("pass" | "not_applicable"))).collect();
    assert_eq!(observations.len(), not_passing.len());
    let by_id: HashMap<&str, &Value> =
        observations.iter().map(|o| (o["uuid"].as_str().unwrap(), o)).collect();
    for r in &not_passing {
        let found = observations.iter().any(|o| {
            prop_of(o, "check-id") == r["check_id"].as_str().unwrap()
                && o["relevant-evidence"][0]["description"] == r["evidence"]
                && prop_of(o, "status") == r["status"].as_str().unwrap()
        });
        assert!(found, "no observation for {r}");
    }

    // Every failed check is reached from a finding; CIS 1.2.15 (profiling) is not satisfied and
    // 1.2.2 (no token file) is.
    let failed: BTreeSet<&str> =
        results.iter().filter(|r| r["status"] == "fail").map(|r| r["check_id"].as_str().unwrap()).collect();
    assert!(failed.len() >= 3, "{failed:?}");
    let findings = result["findings"].as_array().unwrap();
    let reached: BTreeSet<String> = findings
        .iter()
        .flat_map(|f| f["related-observations"].as_array().cloned().unwrap_or_default())
        .map(|o| prop_of(by_id[o["observation-uuid"].as_str().unwrap()], "check-id"))
        .collect();
    for check in &failed {
        assert!(reached.contains(*check), "{check} is in no finding");
    }
    let target =
        |id: &str| findings.iter().find(|f| f["target"]["target-id"] == id).unwrap_or_else(|| panic!("{id}"));
    assert_eq!(target("cis-1.12_1.2.15")["target"]["status"]["state"], "not-satisfied");
    assert_eq!(target("cis-1.12_1.2.2")["target"]["status"]["state"], "satisfied");
    // The same verdicts as the compliance API for this cluster.
    let compliance: Value =
        app.admin_json(&format!("/api/v1/frameworks/cis-1.12/compliance?cluster={cluster}")).await;
    for c in compliance["controls"].as_array().unwrap() {
        let token = format!("cis-1.12_{}", c["id"].as_str().unwrap());
        let f = findings.iter().find(|f| f["target"]["target-id"] == token.as_str());
        match c["status"].as_str().unwrap() {
            "pass" => assert_eq!(f.unwrap()["target"]["status"]["state"], "satisfied", "{token}"),
            "fail" => assert_eq!(f.unwrap()["target"]["status"]["state"], "not-satisfied", "{token}"),
            _ => assert!(f.is_none(), "{token}: {c}"),
        }
    }

    // Another framework; the same scan gives the same identifiers.
    let nsa: Value = app.admin_json(&format!("/api/v1/scans/{scan_id}/oscal?framework=nsa-cisa-1.2")).await;
    keep("api-nsa.json", &nsa);
    let findings = nsa["assessment-results"]["results"][0]["findings"].as_array().unwrap();
    assert!(findings.iter().any(|f| f["target"]["target-id"] == "nsa-cisa-1.2_network-policies"
        && f["target"]["status"]["state"] == "not-satisfied"));
    let again: Value = app.admin_json(&format!("/api/v1/scans/{scan_id}/oscal")).await;
    assert_eq!(again["assessment-results"]["uuid"], ar["uuid"]);
    assert_eq!(again["assessment-results"]["results"], ar["results"]);

    let resp = viewer
        .get(app.url(&format!("/api/v1/scans/{scan_id}/oscal?framework=iso-27001")))
        .send()
        .await
        .unwrap();
    assert!(assert_problem(resp, 404).await.contains("no framework"));
    let resp =
        viewer.get(app.url(&format!("/api/v1/scans/{}/oscal", uuid::Uuid::new_v4()))).send().await.unwrap();
    assert_problem(resp, 404).await;
}
