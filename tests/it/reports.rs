//! Compliance reports (issue 15) from a real scan of the simulator: made on demand in every format
//! (the PDF printed by a real headless Chromium and its first page rendered by `pdftoppm`), and by
//! a definition whose schedule fires, once per due time.

use palisade::domain::Role;
use serde_json::{json, Value};

use crate::frameworks::{register, scanned};
use crate::helpers::{assert_problem, spawn_app_with, TestApp};
use crate::history_scheduler::start_sim;

async fn content(app: &TestApp, client: &reqwest::Client, report: &Value) -> (String, Vec<u8>) {
    let resp = client
        .get(app.url(&format!("/api/v1/reports/{}/content", report["id"].as_str().unwrap())))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let disposition = resp.headers()["content-disposition"].to_str().unwrap().to_string();
    assert!(disposition.starts_with("attachment; filename=\"palisade-cis-1.12-"), "{disposition}");
    let ct = resp.headers()["content-type"].to_str().unwrap().to_string();
    (ct, resp.bytes().await.unwrap().to_vec())
}

#[tokio::test]
async fn reports_in_every_format_on_demand_and_on_schedule() {
    let app = spawn_app_with(|s| s.reports.tick_secs = 1).await;
    let sim = start_sim(vec![]).await;
    let viewer = app.client_with_role(Role::Viewer).await;
    let editor = app.client_with_role(Role::Editor).await;
    let prod = register(&app, "report-prod", "payments", &sim.kubeconfig()).await;
    let _idle = register(&app, "report-idle", "staging", &sim.kubeconfig()).await;
    scanned(&app, &prod).await;
    let compliance: Value =
        app.admin_json(&format!("/api/v1/frameworks/cis-1.12/compliance?cluster={prod}")).await;

    // Viewers read, editors make.
    let make =
        |format: &str, scope: Value| json!({"framework": "cis-1.12", "format": format, "scope": scope});
    let resp = viewer.post(app.url("/api/v1/reports")).json(&make("csv", json!(null))).send().await.unwrap();
    assert_problem(resp, 403).await;
    let mut made = std::collections::HashMap::new();
    for format in ["html", "pdf", "csv", "json"] {
        let resp = editor
            .post(app.url("/api/v1/reports"))
            .json(&make(format, json!({"group": "payments"})))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201, "{format}: {}", resp.text().await.unwrap());
        let report: Value = resp.json().await.unwrap();
        assert_eq!(report["format"], format);
        assert_eq!(report["scope"], json!({"kind": "group", "group": "payments"}));
        assert!(report["size_bytes"].as_u64().unwrap() > 0);
        made.insert(format, report);
    }

    // JSON: the group's compliance equals the compliance API's for its one cluster.
    let (ct, body) = content(&app, &viewer, &made["json"]).await;
    assert_eq!(ct, "application/json");
    let data: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(data["compliance"]["summary"], compliance["summary"]);
    assert_eq!(data["clusters"].as_array().unwrap().len(), 1);
    assert_eq!(data["clusters"][0]["name"], "report-prod");
    assert!(data["clusters"][0]["score"].as_f64().is_some());

    // CSV: one row per control, with the verdicts of the compliance API.
    let (ct, body) = content(&app, &viewer, &made["csv"]).await;
    assert!(ct.starts_with("text/csv"));
    let csv = String::from_utf8(body).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "control,title,section,type,status,reason,checks,failing_results,clusters_failing");
    assert_eq!(lines.len(), 1 + 131);
    let row = lines.iter().find(|l| l.starts_with("1.2.15,")).unwrap();
    assert!(row.contains(",fail,"), "{row}");
    assert!(row.contains("PAL-AUTHZ-011"));

    // HTML: print-ready, with the trend chart and both tables.
    let (ct, body) = content(&app, &viewer, &made["html"]).await;
    assert!(ct.starts_with("text/html"));
    let html = String::from_utf8(body).unwrap();
    assert!(html.contains("@page"), "print styles");
    assert!(html.contains("<svg id=\"trend-chart\""), "the trend chart");
    assert!(html.contains("<td>report-prod</td>"));
    assert!(!html.contains("report-idle"), "the other group's cluster is not in scope");
    assert!(html.contains(&format!("{} %", compliance["summary"]["percentage"].as_f64().unwrap())));

    // PDF: a real PDF whose first page renders.
    let (ct, pdf) = content(&app, &viewer, &made["pdf"]).await;
    assert_eq!(ct, "application/pdf");
    assert!(pdf.starts_with(b"%PDF-"));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("r.pdf"), &pdf).unwrap();
    let out = std::process::Command::new("pdftoppm")
        .args(["-f", "1", "-l", "1", "-png", "-r", "50"])
        .arg(dir.path().join("r.pdf"))
        .arg(dir.path().join("page"))
        .output()
        .expect("pdftoppm runs (apt-get install poppler-utils; scripts/test.sh does it)");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let png = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(Result::ok)
        .find(|e| e.file_name().to_string_lossy().ends_with(".png"))
        .expect("page 1 rendered");
    let image = std::fs::read(png.path()).unwrap();
    assert!(image.starts_with(b"\x89PNG") && image.len() > 1000, "{} bytes", image.len());

    // A definition fires on its schedule: every format, once per due time.
    let resp = editor
        .post(app.url("/api/v1/reports/definitions"))
        .json(
            &json!({"name": "weekly fleet", "schedule": "weekly", "formats": ["html", "pdf", "csv", "json"]}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let def: Value = resp.json().await.unwrap();
    let def_id = def["id"].as_str().unwrap().to_string();
    assert_eq!(def["cron"], "0 6 * * 1");
    assert_eq!(def["scope"], json!({"kind": "fleet"}));
    let next: chrono::DateTime<chrono::Utc> = def["next_run_at"].as_str().unwrap().parse().unwrap();
    assert!(next > chrono::Utc::now());
    let list_url = format!("/api/v1/reports?definition={def_id}");
    assert!(app.admin_json(&list_url).await["items"].as_array().unwrap().is_empty(), "not due yet");
    // Its due time comes (moved into the past, as time would).
    sqlx::query(
        "UPDATE report_definitions SET next_run_at = now() - interval '1 second' WHERE id = $1::uuid",
    )
    .bind(&def_id)
    .execute(&app.pool)
    .await
    .unwrap();
    let mut formats = Vec::new();
    for _ in 0..120 {
        let page = app.admin_json(&list_url).await;
        formats = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["format"].as_str().unwrap().to_string())
            .collect();
        if formats.len() >= 4 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    formats.sort();
    assert_eq!(formats, ["csv", "html", "json", "pdf"]);
    let defs: Value = app.admin_json("/api/v1/reports/definitions").await;
    let after = &defs["items"][0];
    assert!(after["last_run_at"].is_string());
    assert_eq!(after["last_error"], Value::Null);
    let next_after: chrono::DateTime<chrono::Utc> = after["next_run_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(next_after, next, "the next run is the schedule's next Monday 06:00");
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    assert_eq!(app.admin_json(&list_url).await["items"].as_array().unwrap().len(), 4, "it ran once");
    let (_, body) = content(&app, &viewer, &app.admin_json(&list_url).await["items"][0].clone()).await;
    assert!(!body.is_empty());

    // On demand, the schedule unchanged.
    let resp =
        editor.post(app.url(&format!("/api/v1/reports/definitions/{def_id}/run"))).send().await.unwrap();
    assert_eq!(resp.status(), 201);
    assert_eq!(resp.json::<Value>().await.unwrap()["items"].as_array().unwrap().len(), 4);
    let log: Value = app.admin_json("/api/v1/audit?action=report.definition.create").await;
    assert_eq!(log["items"][0]["target"], def_id.as_str());

    // Refusals.
    for (body, status, says) in [
        (json!({"name": "x", "schedule": "sometimes", "formats": ["csv"]}), 400, "crontab"),
        (json!({"name": "x", "schedule": "daily", "formats": []}), 400, "at least one format"),
        (json!({"name": " ", "schedule": "daily", "formats": ["csv"]}), 400, "name"),
        (
            json!({"name": "x", "framework": "iso-27001", "schedule": "daily", "formats": ["csv"]}),
            404,
            "no framework",
        ),
        (
            json!({"name": "x", "schedule": "daily", "formats": ["csv"], "scope": {"group": "payments", "clusters": [prod]}}),
            400,
            "not both",
        ),
        (
            json!({"name": "x", "schedule": "daily", "formats": ["csv"], "scope": {"clusters": [uuid::Uuid::new_v4()]}}),
            404,
            "no cluster",
        ),
    ] {
        let resp = editor.post(app.url("/api/v1/reports/definitions")).json(&body).send().await.unwrap();
        let detail = assert_problem(resp, status).await;
        assert!(detail.contains(says), "{body}: {detail}");
    }
    let resp = editor.delete(app.url(&format!("/api/v1/reports/definitions/{def_id}"))).send().await.unwrap();
    assert_eq!(resp.status(), 204);
    // Its reports stay.
    let all: Value = app.admin_json("/api/v1/reports?limit=500").await;
    assert_eq!(all["items"].as_array().unwrap().len(), 4 + 4 + 4);
}
