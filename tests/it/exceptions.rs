//! Exceptions (issue 15): a waived result keeps its status and shows its exception, is left out of
//! compliance at once and of the score from the next scan, and counts again when the exception
//! expires or is removed. Editors make them, admins approve them under required approval, viewers
//! only read; every change is in the audit log. Real scans of the simulator's kubeadm sample.

use palisade::domain::Role;
use serde_json::{json, Value};

use crate::frameworks::{all_results, control, register, scanned};
use crate::helpers::{assert_problem, spawn_app, spawn_app_with, TestApp};
use crate::history_scheduler::start_sim;

/// The check the kubeadm sample fails once, on the API server: `--profiling` is left on (CIS 1.2.15,
/// which no other check decides).
const PROFILING: &str = "PAL-AUTHZ-011";

fn in_secs(secs: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::seconds(secs)).to_rfc3339()
}

fn score(scan: &Value) -> f64 {
    scan["summary"]["score"].as_f64().unwrap_or_else(|| panic!("no score: {scan}"))
}

async fn post(client: &reqwest::Client, app: &TestApp, body: Value) -> reqwest::Response {
    client.post(app.url("/api/v1/exceptions")).json(&body).send().await.unwrap()
}

fn profiling_results(results: &[Value]) -> Vec<&Value> {
    results.iter().filter(|r| r["check_id"] == PROFILING).collect()
}

#[tokio::test]
async fn an_exception_hides_a_failure_from_score_and_compliance_until_it_expires() {
    let app = spawn_app().await;
    let sim = start_sim(vec![]).await;
    let editor = app.client_with_role(Role::Editor).await;
    let viewer = app.client_with_role(Role::Viewer).await;
    let cluster = register(&app, "waived", "payments", &sim.kubeconfig()).await;

    let first = scanned(&app, &cluster).await;
    let first_id = first["id"].as_str().unwrap();
    let results = all_results(&app, first_id).await;
    let failing = profiling_results(&results);
    assert_eq!(failing.len(), 1, "{failing:?}");
    assert_eq!(failing[0]["status"], "fail");
    assert_eq!(failing[0]["exception"], Value::Null);
    let apiserver = failing[0]["resource"]["name"].as_str().unwrap().to_string();
    let cis = format!("/api/v1/frameworks/cis-1.12/compliance?cluster={cluster}");
    let before: Value = app.admin_json(&cis).await;
    assert_eq!(control(&before, "1.2.15")["status"], "fail");

    // A viewer may not make one; an editor may. The glob matches the API server's pod name.
    let glob = format!("{}*", &apiserver[..apiserver.len().min(6)]);
    let body = json!({
        "check_id": PROFILING, "scope": {"cluster": cluster}, "resource": glob,
        "justification": "profiling is scraped by the platform team's continuous profiler",
        "expires_at": in_secs(3600), "owner": "platform-team",
    });
    assert_problem(post(&viewer, &app, body.clone()).await, 403).await;
    let resp = post(&editor, &app, body).await;
    assert_eq!(resp.status(), 201);
    let exception: Value = resp.json().await.unwrap();
    let id = exception["id"].as_str().unwrap().to_string();
    assert_eq!(exception["state"], "approved", "no approval required by default: {exception}");
    assert_eq!(exception["in_force"], true);
    assert_eq!(exception["scope"], json!({"cluster": cluster}));
    assert_eq!(exception["owner"], "platform-team");

    // At once: the result keeps its status and carries the exception; compliance leaves it out.
    let results = all_results(&app, first_id).await;
    let covered = profiling_results(&results);
    assert_eq!(covered[0]["status"], "fail");
    assert_eq!(covered[0]["exception"]["id"], id.as_str());
    assert!(covered[0]["exception"]["expires_at"].is_string());
    assert!(results.iter().filter(|r| r["check_id"] != PROFILING).all(|r| r["exception"].is_null()));
    let only: Value = viewer
        .get(app.url(&format!("/api/v1/scans/{first_id}/results?excepted=true")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(only["items"].as_array().unwrap().len(), 1, "{only}");
    assert_eq!(only["items"][0]["check_id"], PROFILING);
    let rest: Value =
        app.admin_json(&format!("/api/v1/scans/{first_id}/results?excepted=false&limit=500")).await;
    assert!(rest["items"].as_array().unwrap().iter().all(|r| r["check_id"] != PROFILING));
    let open: Value = app.admin_json(&format!("/api/v1/findings?cluster={cluster}&excepted=true")).await;
    assert_eq!(open["items"].as_array().unwrap().len(), 1, "{open}");
    assert_eq!(open["items"][0]["exception"]["id"], id.as_str());
    // The findings explorer marks it and filters on it, and so do its exports.
    let (browser, _) = crate::ui_admin::session(&app, Role::Viewer).await;
    let (status, html) = crate::ui_admin::get(&browser, &app, "/findings?excepted=only&status=all").await;
    assert_eq!(status, 200, "{html}");
    assert_eq!(html.matches(">excepted</a>").count(), 1, "{html}");
    assert!(html.contains(PROFILING));
    let (_, html) = crate::ui_admin::get(&browser, &app, "/findings?excepted=hide&status=all").await;
    assert!(!html.contains(">excepted</a>") && !html.contains(&format!(">{PROFILING}</a>")), "{html}");
    let (_, csv) = crate::ui_admin::get(&browser, &app, "/findings.csv?excepted=only&status=all").await;
    assert!(csv.lines().next().unwrap().ends_with(",excepted_until"), "{csv}");
    assert_eq!(csv.lines().count(), 2, "{csv}");
    let waived: Value = app.admin_json(&cis).await;
    let c = control(&waived, "1.2.15");
    assert_eq!(c["status"], "not_applicable", "{c}");
    assert!(c["reason"].as_str().unwrap().contains("covered by an exception"), "{c}");
    assert_eq!(c["checks"][0]["results"]["excepted"], 1);
    // One fewer failing control: the percentage rises (pass / (pass + fail + unknown)).
    assert_eq!(waived["summary"]["fail"].as_u64().unwrap() + 1, before["summary"]["fail"].as_u64().unwrap());
    assert!(waived["summary"]["percentage"].as_f64() > before["summary"]["percentage"].as_f64());

    // From the next scan, the score leaves the waived failure out.
    let second = scanned(&app, &cluster).await;
    assert!(score(&second) > score(&first), "{} then {}", score(&first), score(&second));

    // It expires (moved into the past, as time would): the result counts again everywhere.
    sqlx::query("UPDATE exceptions SET expires_at = now() - interval '1 second' WHERE id = $1::uuid")
        .bind(&id)
        .execute(&app.pool)
        .await
        .unwrap();
    let results = all_results(&app, second["id"].as_str().unwrap()).await;
    assert_eq!(profiling_results(&results)[0]["exception"], Value::Null);
    let back: Value = app.admin_json(&cis).await;
    assert_eq!(control(&back, "1.2.15")["status"], "fail");
    assert_eq!(back["summary"], before["summary"]);
    let third = scanned(&app, &cluster).await;
    assert_eq!(score(&third), score(&first));
    let listed: Value = app.admin_json(&format!("/api/v1/exceptions/{id}")).await;
    assert_eq!((listed["in_force"].clone(), listed["expired"].clone()), (json!(false), json!(true)));
    let active: Value = app.admin_json("/api/v1/exceptions?in_force=true").await;
    assert!(active["items"].as_array().unwrap().is_empty(), "{active}");

    // A real expiry, seconds away: covered now, not once it passes.
    let resp = post(
        &editor,
        &app,
        json!({"check_id": PROFILING, "scope": {"all": true}, "justification": "short", "expires_at": in_secs(2)}),
    )
    .await;
    assert_eq!(resp.status(), 201);
    let short: Value = resp.json().await.unwrap();
    let third_id = third["id"].as_str().unwrap();
    let url = format!("/api/v1/scans/{third_id}/results?excepted=true");
    assert_eq!(app.admin_json(&url).await["items"][0]["exception"]["id"], short["id"]);
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    assert!(app.admin_json(&url).await["items"].as_array().unwrap().is_empty());

    // Every change is audited.
    let resp = editor
        .patch(app.url(&format!("/api/v1/exceptions/{id}")))
        .json(&json!({"expires_at": in_secs(7200), "namespace": "kube-system"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let changed: Value = resp.json().await.unwrap();
    assert_eq!(changed["namespace"], "kube-system");
    assert_eq!(changed["in_force"], true);
    let resp = editor.delete(app.url(&format!("/api/v1/exceptions/{id}"))).send().await.unwrap();
    assert_eq!(resp.status(), 204);
    assert_problem(editor.get(app.url(&format!("/api/v1/exceptions/{id}"))).send().await.unwrap(), 404).await;
    for action in ["exception.create", "exception.update", "exception.delete"] {
        let log: Value = app.admin_json(&format!("/api/v1/audit?action={action}")).await;
        let entry = log["items"].as_array().unwrap().iter().find(|e| e["target"] == id.as_str());
        assert!(entry.is_some(), "{action}: {log}");
    }
    let update: Value = app.admin_json("/api/v1/audit?action=exception.update").await;
    let detail = &update["items"][0]["detail"];
    assert_eq!(detail["before"]["namespace"], Value::Null);
    assert_eq!(detail["after"]["namespace"], "kube-system");
}

#[tokio::test]
async fn with_required_approval_an_editors_exception_covers_nothing_until_an_admin_approves_it() {
    let app = spawn_app_with(|s| s.exceptions.require_approval = true).await;
    let sim = start_sim(vec![]).await;
    let editor = app.client_with_role(Role::Editor).await;
    let cluster = register(&app, "approval", "payments", &sim.kubeconfig()).await;
    let first = scanned(&app, &cluster).await;
    let results_url = format!("/api/v1/scans/{}/results?excepted=true", first["id"].as_str().unwrap());

    // Scoped to the cluster's group.
    let resp = post(
        &editor,
        &app,
        json!({"check_id": PROFILING, "scope": {"group": "payments"}, "justification": "accepted by the CISO",
               "expires_at": in_secs(3600)}),
    )
    .await;
    assert_eq!(resp.status(), 201);
    let pending: Value = resp.json().await.unwrap();
    let id = pending["id"].as_str().unwrap().to_string();
    assert_eq!(pending["state"], "pending");
    assert_eq!(pending["in_force"], false);
    assert!(app.admin_json(&results_url).await["items"].as_array().unwrap().is_empty());

    // Only an admin decides.
    let url = app.url(&format!("/api/v1/exceptions/{id}"));
    let resp = editor.patch(&url).json(&json!({"state": "approved"})).send().await.unwrap();
    assert_problem(resp, 403).await;
    let resp = app.admin.patch(&url).json(&json!({"state": "approved"})).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let approved: Value = resp.json().await.unwrap();
    assert_eq!(approved["state"], "approved");
    assert!(approved["decided_by"].is_string());
    let covered = app.admin_json(&results_url).await;
    assert_eq!(covered["items"][0]["exception"]["id"], id.as_str(), "{covered}");

    // An editor's change (a longer expiry) needs approval again.
    let resp = editor.patch(&url).json(&json!({"expires_at": in_secs(90 * 86400)})).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let again: Value = resp.json().await.unwrap();
    assert_eq!(again["state"], "pending");
    assert!(app.admin_json(&results_url).await["items"].as_array().unwrap().is_empty());
    let resp = app.admin.patch(&url).json(&json!({"state": "rejected"})).send().await.unwrap();
    assert_eq!(resp.json::<Value>().await.unwrap()["state"], "rejected");
    let log: Value = app.admin_json("/api/v1/audit?action=exception.approve").await;
    assert_eq!(log["items"][0]["target"], id.as_str());
    let log: Value = app.admin_json("/api/v1/audit?action=exception.reject").await;
    assert_eq!(log["items"][0]["target"], id.as_str());
    let pending_list: Value = app.admin_json("/api/v1/exceptions?state=rejected").await;
    assert_eq!(pending_list["items"].as_array().unwrap().len(), 1);

    // An admin's own exception applies at once.
    let resp = post(
        &app.admin,
        &app,
        json!({"check_id": PROFILING, "scope": {"cluster": cluster}, "justification": "admin decision",
               "expires_at": in_secs(3600)}),
    )
    .await;
    assert_eq!(resp.json::<Value>().await.unwrap()["state"], "approved");
}

#[tokio::test]
async fn exceptions_refuse_what_does_not_fit() {
    let app = spawn_app().await;
    let editor = app.client_with_role(Role::Editor).await;
    let ok = json!({"check_id": PROFILING, "scope": {"all": true}, "justification": "why", "expires_at": in_secs(60)});
    let with = |key: &str, value: Value| {
        let mut b = ok.clone();
        b[key] = value;
        b
    };
    for (body, status, says) in [
        (with("expires_at", json!(in_secs(-60))), 400, "not in the future"),
        (with("justification", json!("   ")), 400, "justification"),
        (with("scope", json!({"all": true, "group": "x"})), 400, "exactly one"),
        (with("scope", json!({})), 400, "exactly one"),
        (with("scope", json!({"all": false})), 400, "exactly one"),
        (with("scope", json!({"group": "Not A Group"})), 400, "invalid cluster name"),
        (with("resource", json!("has space")), 400, "resource"),
        (with("check_id", json!("PAL-NOPE-999")), 404, "no check"),
        (with("scope", json!({"cluster": uuid::Uuid::new_v4()})), 404, "no cluster"),
    ] {
        let detail = assert_problem(post(&editor, &app, body.clone()).await, status).await;
        assert!(detail.contains(says), "{body}: {detail}");
    }
    let resp = post(&editor, &app, ok).await;
    assert_eq!(resp.status(), 201);
    let id = resp.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    let url = app.url(&format!("/api/v1/exceptions/{id}"));
    let resp = editor.patch(&url).json(&json!({"state": "pending"})).send().await.unwrap();
    assert_problem(resp, 403).await;
    let resp = app.admin.patch(&url).json(&json!({"state": "pending"})).send().await.unwrap();
    assert_problem(resp, 400).await;
    let resp = app
        .admin
        .patch(app.url(&format!("/api/v1/exceptions/{}", uuid::Uuid::new_v4())))
        .json(&json!({"justification": "x"}))
        .send()
        .await
        .unwrap();
    assert_problem(resp, 404).await;
}

#[tokio::test]
async fn the_exceptions_page_lists_them_and_its_forms_make_approve_and_remove_them() {
    use crate::ui_admin::{get as page, post as form, session};
    let app = spawn_app_with(|s| s.exceptions.require_approval = true).await;
    let cluster = app.register_cluster("page-cluster", json!({})).await["id"].as_str().unwrap().to_string();
    let (viewer, _) = session(&app, Role::Viewer).await;
    let (status, html) = page(&viewer, &app, "/exceptions").await;
    assert_eq!(status, 200);
    assert!(html.contains("No exceptions."), "{html}");
    assert!(!html.contains("id=\"create-exception\""), "a viewer gets no form");
    assert!(html.contains("href=\"/exceptions\" aria-current=\"page\""), "the nav names the page");

    let (editor, csrf) = session(&app, Role::Editor).await;
    let (status, html) = page(&editor, &app, "/exceptions?check=PAL-AUTHZ-011").await;
    assert!(html.contains(&format!("<option value=\"{cluster}\">page-cluster</option>")), "{html}");
    assert!(html.contains("value=\"PAL-AUTHZ-011\" selected"), "the check from the link is chosen");
    assert_eq!(status, 200);
    let good: Vec<(&str, &str)> = vec![
        ("csrf_token", &csrf),
        ("check_id", PROFILING),
        ("scope", "cluster"),
        ("cluster", &cluster),
        ("resource", "kube-apiserver-*"),
        ("justification", "the profiler needs it"),
        ("expires_days", "30"),
    ];
    let count = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM exceptions").fetch_one(&app.pool).await.unwrap()
    };
    // Without the session's CSRF token nothing is made.
    let mut forged = good.clone();
    forged[0].1 = "forged";
    assert_eq!(form(&editor, &app, "/exceptions", &forged).await.0, 403);
    assert_eq!(count().await, 0);
    let (status, location) = form(&editor, &app, "/exceptions", &good).await;
    assert_eq!((status, location.as_str()), (303, "/exceptions?notice=pending"));
    let (_, html) = page(&editor, &app, "/exceptions?notice=pending").await;
    assert!(html.contains("covers nothing until an admin approves it"), "{html}");
    assert!(html.contains("pending approval"));
    assert!(html.contains("cluster page-cluster, resources <code>kube-apiserver-*</code>"), "{html}");
    assert!(!html.contains(">Approve</button>"), "an editor cannot approve");
    // A refused form says why and keeps the page.
    let mut blank = good.clone();
    blank.retain(|(k, _)| *k != "justification");
    blank.push(("justification", "  "));
    let (status, html) = form(&editor, &app, "/exceptions", &blank).await;
    assert_eq!(status, 400);
    assert!(html.contains("justification must be"), "{html}");

    let id: uuid::Uuid = sqlx::query_scalar("SELECT id FROM exceptions").fetch_one(&app.pool).await.unwrap();
    let (admin, admin_csrf) = session(&app, Role::Admin).await;
    let (_, html) = page(&admin, &app, "/exceptions").await;
    assert!(html.contains(">Approve</button>"), "{html}");
    let decision = format!("/exceptions/{id}/decision");
    let (status, _) = form(&editor, &app, &decision, &[("csrf_token", &csrf), ("state", "approved")]).await;
    assert_eq!(status, 403);
    let (status, location) =
        form(&admin, &app, &decision, &[("csrf_token", &admin_csrf), ("state", "approved")]).await;
    assert_eq!((status, location.as_str()), (303, "/exceptions?notice=approved"));
    let (_, html) = page(&viewer, &app, "/exceptions").await;
    assert!(html.contains("<span class=\"ok\">in force</span>"), "{html}");
    let (status, location) =
        form(&editor, &app, &format!("/exceptions/{id}/delete"), &[("csrf_token", &csrf)]).await;
    assert_eq!((status, location.as_str()), (303, "/exceptions?notice=deleted"));
    assert_eq!(count().await, 0);
}
