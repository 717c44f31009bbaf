//! A real headless Chromium (driven through chromedriver) logs in and uses the dashboard.
//! Set-up (driver, login, screenshots, demo fleet) is in `browser_support`.

use fantoccini::Locator;
use serde_json::json;

use crate::browser_support::Browser;
use crate::helpers::{spawn_app, ADMIN_PASSWORD};

#[tokio::test]
async fn an_admin_logs_in_with_a_real_browser_and_registers_a_cluster_on_the_clusters_page() {
    let app = spawn_app().await;
    app.register_cluster("existing-cluster", json!({"environment": "prod"})).await;
    let server = crate::tls_fixture::spawn_version_server(&["127.0.0.1"]).await;
    let browser = Browser::start().await;
    let b = &browser.client;

    let result = async {
        b.goto(&app.url("/clusters")).await?;
        // Not logged in: sent to the login page.
        b.wait().for_element(Locator::Id("username")).await?.send_keys("admin").await?;
        b.find(Locator::Id("password")).await?.send_keys(ADMIN_PASSWORD).await?;
        b.find(Locator::Id("login")).await?.click().await?;
        // The login leads to the fleet overview.
        b.wait().for_element(Locator::Id("fleet")).await?;
        b.goto(&app.url("/clusters")).await?;
        let table = b.wait().for_element(Locator::Id("clusters")).await?;
        let text = table.text().await?;
        assert!(text.contains("existing-cluster"), "{text}");
        assert!(text.contains("environment=prod"), "{text}");

        // Register a cluster through the form (kubeconfig pasted), see it reachable.
        use base64::Engine;
        let ca = base64::engine::general_purpose::STANDARD.encode(&server.ca_pem);
        let kubeconfig = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: {}\n    certificate-authority-data: {ca}\n\
             users:\n- name: u\n  user:\n    token: browser-token\ncontexts:\n- name: ctx\n  context: {{cluster: c, user: u}}\ncurrent-context: ctx\n",
            server.url
        );
        b.find(Locator::Css("input[name=name]")).await?.send_keys("from-browser").await?;
        b.find(Locator::Css("input[name=labels]")).await?.send_keys("owner=secops").await?;
        b.find(Locator::Css("textarea[name=kubeconfig]")).await?.send_keys(&kubeconfig).await?;
        b.find(Locator::Css("section.register button[type=submit]")).await?.click().await?;
        b.wait().for_element(Locator::Css("p.notice")).await?;
        let text = b.find(Locator::Id("clusters")).await?.text().await?;
        assert!(text.contains("from-browser"), "{text}");
        assert!(text.contains("v1.33.1"), "{text}");
        browser.screenshot("clusters-registry").await?;
        Ok::<_, fantoccini::error::CmdError>(())
    }
    .await;
    browser.close().await;
    result.expect("browser steps");
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM clusters WHERE name = 'from-browser'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(n, 1);
}

/// Poll `check` every 250 ms for up to `secs` seconds.
async fn eventually<F, Fut>(secs: u64, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..secs * 4 {
        if check().await {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_security_engineer_walks_the_fleet_a_cluster_a_scan_the_findings_and_a_check_in_a_real_browser() {
    let demo = crate::browser_support::spawn_demo_app().await;
    let app = &demo.app;
    let legacy = demo.clusters.iter().find(|c| c.name == "legacy").unwrap().clone();
    let started = std::time::SystemTime::now();
    let overview = palisade::store::trends::fleet_overview(&app.pool).await.unwrap();
    let browser = Browser::logged_in(app, "admin", ADMIN_PASSWORD).await;
    let b = &browser.client;

    let result = async {
        // The fleet: every cluster with its score.
        let fleet = b.wait().for_element(Locator::Id("fleet")).await?;
        for c in &overview {
            let row = fleet.find(Locator::XPath(&format!(".//tr[.//a[text()='{}']]", c.name))).await?;
            let score = row.find(Locator::Css("td.score")).await?.text().await?;
            assert_eq!(score, format!("{:.1}", c.score.unwrap()), "score of {}", c.name);
        }
        browser.screenshot("fleet").await?;

        // Follow the legacy cluster's link: its failing checks.
        fleet.find(Locator::LinkText("legacy")).await?.click().await?;
        b.wait().for_element(Locator::Id("areas-h")).await?;
        assert_eq!(b.current_url().await?.path(), format!("/clusters/{}", legacy.id));
        let authn = b.find(Locator::Id("checks-authn")).await?.text().await?;
        assert!(authn.contains("PAL-AUTHN-"), "{authn}");
        browser.screenshot("cluster").await?;

        // Scan now, and watch it finish (the page's script follows it and reloads).
        // (A scheduled scan may be running already: then the page says so and follows that one.)
        b.find(Locator::Id("scan-now")).await?.click().await?;
        let notice = b.wait().for_element(Locator::Css("p.notice")).await?.text().await?;
        let queued_by_us = notice == "Scan queued.";
        assert!(queued_by_us || notice.contains("already queued or running"), "{notice}");
        let finished = eventually(90, || async {
            match b.find(Locator::Id("scan-status")).await {
                Ok(el) => {
                    el.attr("data-active").await.ok().flatten().as_deref() == Some("false")
                        && el.text().await.map(|t| t.starts_with("Last scan")).unwrap_or(false)
                }
                Err(_) => false,
            }
        })
        .await;
        assert!(finished, "the scan never showed as finished on the page");
        let history = b.find(Locator::Id("history")).await?.text().await?;
        assert!(history.contains("manual"), "the manual scan is in the history: {history}");
        if queued_by_us {
            let ours: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM scans WHERE cluster_id = $1 AND requested_by = 'admin'
                   AND state NOT IN ('queued', 'running')",
            )
            .bind(legacy.id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
            assert_eq!(ours, 1, "the scan the browser asked for finished");
        }
        browser.screenshot("cluster-after-scan").await?;

        // Findings: filter to the legacy cluster's failures, export the CSV shown.
        b.find(Locator::LinkText("Findings")).await?.click().await?;
        b.wait().for_element(Locator::Id("findings-filter")).await?;
        b.find(Locator::Css("select[name=cluster]")).await?.select_by_label("legacy").await?;
        b.find(Locator::Css("select[name=status]")).await?.select_by_value("fail").await?;
        b.find(Locator::Css("select[name=per_page]")).await?.select_by_value("25").await?;
        b.find(Locator::Id("apply")).await?.click().await?;
        b.wait().for_element(Locator::Id("export-csv")).await?;
        let rows = b.find_all(Locator::Css("#findings tbody tr")).await?;
        let mut shown = Vec::new();
        for r in &rows {
            let cells = r.find_all(Locator::Css("td")).await?;
            assert_eq!(cells[1].text().await?, "legacy");
            shown.push(cells[0].find(Locator::Css("a")).await?.text().await?);
        }
        assert!(!shown.is_empty() && shown.len() <= 25, "{shown:?}");
        browser.screenshot("findings").await?;
        let href = b.find(Locator::Id("export-csv")).await?.attr("href").await?.unwrap();
        let csv = browser.session_client().await?.get(app.url(&href)).send().await.unwrap();
        assert_eq!(csv.status(), 200);
        let csv = csv.text().await.unwrap();
        let header = csv.lines().next().unwrap();
        for col in ["check_id", "cluster", "resource", "severity", "status", "first_seen", "evidence"] {
            assert!(header.split(',').any(|h| h == col), "{col} in {header}");
        }
        let exported: Vec<String> = csv
            .split("\r\n")
            .skip(1)
            .filter(|l| l.starts_with("PAL-"))
            .map(|l| l.split(',').next().unwrap().to_string())
            .collect();
        assert_eq!(exported, shown, "the CSV holds exactly the rows shown");

        // A check page, from the first finding.
        let first = shown[0].clone();
        b.find(Locator::LinkText(&first)).await?.click().await?;
        b.wait().for_element(Locator::Id("rationale")).await?;
        let failures = b.find(Locator::Id("failures")).await?.text().await?;
        assert!(failures.contains("legacy"), "{failures}");
        assert!(!b.find(Locator::Id("remediation")).await?.text().await?.is_empty());
        browser.screenshot("check").await?;

        b.goto(&app.url(&format!("/clusters/{}/diff", legacy.id))).await?;
        b.wait().for_element(Locator::Id("diff-new")).await?;
        browser.screenshot("diff").await?;
        Ok::<_, fantoccini::error::CmdError>(())
    }
    .await;
    browser.close().await;
    result.expect("browser steps");
    for name in ["fleet", "cluster", "cluster-after-scan", "findings", "check", "diff"] {
        let path = crate::browser_support::screenshot_dir().join(format!("{name}.png"));
        let meta = std::fs::metadata(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
        assert!(meta.len() > 1000 && meta.modified().unwrap() >= started, "{path:?} written by this run");
    }
}
