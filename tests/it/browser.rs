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
