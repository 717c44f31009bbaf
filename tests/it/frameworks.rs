//! Compliance frameworks (issue 15): the bundled frameworks are listed, and a framework's controls
//! are judged over a cluster, a group and the fleet from real scans of the simulator (the kubeadm
//! sample). The verdicts are checked against a CIS auditor's reading of that sample, and the roll-up
//! against the scan's own results read back through the results API.

use std::collections::{BTreeMap, HashMap};

use palisade::domain::Role;
use serde_json::{json, Value};

use crate::helpers::{assert_problem, spawn_app, TestApp};
use crate::history_scheduler::{app_db_url, replica, scan_on_demand, settings, start_sim};

pub(crate) async fn register(app: &TestApp, name: &str, group: &str, kubeconfig: &str) -> String {
    let resp = app
        .admin
        .post(app.url("/api/v1/clusters"))
        .json(&json!({"name": name, "group": group, "credentials": {"kubeconfig": kubeconfig},
                      "check_connectivity": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201, "{}", resp.text().await.unwrap());
    let id = resp.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    let resp = app
        .admin
        .put(app.url(&format!("/api/v1/clusters/{id}/schedule")))
        .json(&json!({"paused": true}))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{}", resp.text().await.unwrap());
    id
}

/// Scan `cluster` on demand with a scheduler replica running for it; the scan must not fail.
pub(crate) async fn scanned(app: &TestApp, cluster: &str) -> Value {
    let r = replica(&app_db_url(app), app.state.cipher.clone(), settings()).await;
    let scan = scan_on_demand(app, cluster).await;
    r.shutdown().await;
    assert_ne!(scan["state"], "failed", "{scan}");
    scan
}

pub(crate) fn control<'a>(answer: &'a Value, id: &str) -> &'a Value {
    answer["controls"].as_array().unwrap().iter().find(|c| c["id"] == id).unwrap_or_else(|| panic!("{id}"))
}

/// Every result of a scan, through the paginated results API.
pub(crate) async fn all_results(app: &TestApp, scan: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = format!("/api/v1/scans/{scan}/results?limit=500");
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let page: Value = app.admin_json(&url).await;
        out.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return out,
        }
    }
}

#[tokio::test]
async fn cis_and_nsa_compliance_of_a_scanned_cluster_its_group_and_the_fleet() {
    let app = spawn_app().await;
    let sim = start_sim(vec![]).await;
    let viewer = app.client_with_role(Role::Viewer).await;

    let list: Value = viewer.get(app.url("/api/v1/frameworks")).send().await.unwrap().json().await.unwrap();
    let ids: Vec<&str> =
        list["items"].as_array().unwrap().iter().map(|f| f["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["cis-1.12", "nsa-cisa-1.2"]);
    assert_eq!(list["items"][0]["controls"], 131);

    let prod = register(&app, "compliance-prod", "payments", &sim.kubeconfig()).await;
    let idle = register(&app, "compliance-idle", "staging", &sim.kubeconfig()).await;

    // Before any scan every decided control is unknown, and manual ones stay manual.
    let before: Value = app.admin_json("/api/v1/frameworks/cis-1.12/compliance").await;
    assert_eq!(before["scope"]["kind"], "fleet");
    assert_eq!(before["scope"]["clusters"], 2);
    assert_eq!(before["scope"]["scanned_clusters"], 0);
    assert_eq!(control(&before, "1.2.5")["status"], "unknown");
    assert_eq!(control(&before, "5.1.7")["status"], "manual");

    let scan = scanned(&app, &prod).await;
    let scan_id = scan["id"].as_str().unwrap();

    let url = format!("/api/v1/frameworks/cis-1.12/compliance?cluster={prod}");
    let resp = viewer.get(app.url(&url)).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let cis: Value = resp.json().await.unwrap();
    assert_eq!(cis["framework"]["id"], "cis-1.12");
    assert_eq!(cis["scope"]["kind"], "cluster");
    assert_eq!(cis["scope"]["cluster_name"], "compliance-prod");
    assert_eq!(cis["controls"].as_array().unwrap().len(), 131);

    // A CIS audit of stock kubeadm (the simulator serves the kubeadm sample).
    for (id, want) in [
        ("1.2.2", "pass"),   // no --token-auth-file
        ("1.2.5", "fail"),   // no --kubelet-certificate-authority (Automated)
        ("1.2.6", "pass"),   // Node,RBAC
        ("1.2.15", "fail"),  // --profiling defaults to true
        ("1.2.16", "fail"),  // no audit log
        ("1.2.1", "manual"), // anonymous auth on: a Manual recommendation, for a reviewer
        ("5.1.7", "manual"), // no check decides it
    ] {
        let c = control(&cis, id);
        assert_eq!(c["status"], want, "CIS {id}: {c}");
    }
    let failing = control(&cis, "1.2.15");
    assert!(failing["reason"].as_str().unwrap().starts_with("PAL-AUTHZ-011 fails on"), "{failing}");
    assert_eq!(failing["type"], "automated");
    assert_eq!(failing["checks"][0]["id"], "PAL-AUTHZ-011");
    assert!(failing["checks"][0]["results"]["fail"].as_u64().unwrap() >= 1);
    assert_eq!(failing["checks"][0]["results"]["clusters_failing"], 1);
    assert!(control(&cis, "5.1.7")["reason"].as_str().unwrap().contains("system:masters"));

    // The roll-up equals the scan's own results: per control, the worst status of its checks'
    // results (fail, then warn → manual, then unknown, then pass, else not applicable).
    let catalog: Value = app.admin_json("/api/v1/checks?control=cis-1.12").await;
    let mut checks_of: HashMap<String, Vec<String>> = HashMap::new();
    for check in catalog["items"].as_array().unwrap() {
        for r in check["refs"].as_array().unwrap().iter().filter(|r| r["framework"] == "cis-1.12") {
            checks_of
                .entry(r["id"].as_str().unwrap().into())
                .or_default()
                .push(check["id"].as_str().unwrap().into());
        }
    }
    let results = all_results(&app, scan_id).await;
    let mut statuses: HashMap<&str, Vec<&str>> = HashMap::new();
    for r in &results {
        statuses.entry(r["check_id"].as_str().unwrap()).or_default().push(r["status"].as_str().unwrap());
    }
    let mut tally: BTreeMap<String, usize> = BTreeMap::new();
    for c in cis["controls"].as_array().unwrap() {
        let id = c["id"].as_str().unwrap();
        let seen: Vec<&str> = checks_of
            .get(id)
            .into_iter()
            .flatten()
            .flat_map(|check| statuses.get(check.as_str()).cloned().unwrap_or_default())
            .collect();
        let expected = if !checks_of.contains_key(id) {
            "manual"
        } else if seen.contains(&"fail") {
            "fail"
        } else if seen.contains(&"warn") {
            "manual"
        } else if seen.contains(&"unknown") {
            "unknown"
        } else if seen.contains(&"pass") {
            "pass"
        } else {
            "not_applicable"
        };
        assert_eq!(c["status"], expected, "CIS {id}: {c}");
        *tally.entry(expected.to_string()).or_default() += 1;
    }
    let summary = &cis["summary"];
    for status in ["pass", "fail", "manual", "unknown", "not_applicable"] {
        assert_eq!(
            summary[status].as_u64().unwrap() as usize,
            tally.get(status).copied().unwrap_or(0),
            "{status}"
        );
    }
    let (pass, fail, unknown) =
        (tally["pass"] as f64, tally["fail"] as f64, tally.get("unknown").copied().unwrap_or(0) as f64);
    let percentage = (pass * 1000.0 / (pass + fail + unknown)).round() / 10.0;
    assert_eq!(summary["percentage"].as_f64(), Some(percentage), "{summary}");
    assert!(summary["method"].as_str().unwrap().starts_with("pass / (pass + fail + unknown)"));

    // Its group holds only this cluster: the same verdicts. The fleet adds a never-scanned
    // cluster, which changes no verdict, and says so in its scope.
    let group: Value = app.admin_json("/api/v1/frameworks/cis-1.12/compliance?group=payments").await;
    assert_eq!(group["scope"]["kind"], "group");
    assert_eq!(group["summary"], cis["summary"]);
    let fleet: Value = app.admin_json("/api/v1/frameworks/cis-1.12/compliance").await;
    assert_eq!(fleet["scope"]["clusters"], 2);
    assert_eq!(fleet["scope"]["scanned_clusters"], 1);
    assert_eq!(fleet["summary"], cis["summary"]);
    // An empty `group=` is no group filter, as in the cluster list and trends.
    let empty: Value = app.admin_json("/api/v1/frameworks/cis-1.12/compliance?group=").await;
    assert_eq!(empty["scope"]["kind"], "fleet");
    assert_eq!(empty["summary"], fleet["summary"]);
    let staging: Value = app.admin_json("/api/v1/frameworks/cis-1.12/compliance?group=staging").await;
    assert_eq!(staging["scope"]["scanned_clusters"], 0);
    assert_eq!(control(&staging, "1.2.15")["status"], "unknown");
    let _ = idle;

    // NSA/CISA: network policies fail on the sample (no NetworkPolicies), etcd passes.
    let nsa: Value =
        app.admin_json(&format!("/api/v1/frameworks/nsa-cisa-1.2/compliance?cluster={prod}")).await;
    assert_eq!(nsa["framework"]["name"], "NSA/CISA Kubernetes Hardening Guidance");
    assert_eq!(control(&nsa, "network-policies")["status"], "fail", "{}", control(&nsa, "network-policies"));
    assert_eq!(control(&nsa, "audit-logging")["status"], "fail");
    assert_eq!(control(&nsa, "non-root-containers")["status"], "manual");
    assert_eq!(control(&nsa, "network-policies")["section"], "Network separation and hardening");

    // Refusals.
    let resp = viewer.get(app.url("/api/v1/frameworks/pci-4/compliance")).send().await.unwrap();
    let detail = assert_problem(resp, 404).await;
    assert!(detail.contains("no framework `pci-4`"), "{detail}");
    // `cluster` and `group` combine: the cluster when it is in the group, else nothing.
    let both: Value = app
        .admin_json(&format!("/api/v1/frameworks/cis-1.12/compliance?cluster={prod}&group=payments"))
        .await;
    assert_eq!(both["scope"]["kind"], "cluster");
    assert_eq!(both["scope"]["clusters"], 1);
    assert_eq!(both["summary"], cis["summary"]);
    let elsewhere: Value =
        app.admin_json(&format!("/api/v1/frameworks/cis-1.12/compliance?cluster={prod}&group=staging")).await;
    assert_eq!(elsewhere["scope"]["clusters"], 0);
    assert_eq!(control(&elsewhere, "1.2.15")["status"], "unknown");
    let resp = viewer
        .get(app.url(&format!("/api/v1/frameworks/cis-1.12/compliance?cluster={}", uuid::Uuid::nil())))
        .send()
        .await
        .unwrap();
    let detail = assert_problem(resp, 404).await;
    assert!(detail.contains("no cluster"), "{detail}");
    let resp = reqwest::Client::new().get(app.url("/api/v1/frameworks")).send().await.unwrap();
    assert_eq!(resp.status(), 401);
}
