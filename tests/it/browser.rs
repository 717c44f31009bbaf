//! A real headless Chromium (driven through chromedriver) logs in and uses the clusters page.
//! `scripts/test.sh` installs chromium and chromium-driver when missing.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{ClientBuilder, Locator};
use serde_json::json;

use crate::helpers::{spawn_app, ADMIN_PASSWORD};

/// A chromedriver child process, killed on drop.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start_chromedriver() -> Driver {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect(
            "chromedriver is installed (apt-get install chromium chromium-driver; scripts/test.sh does it)",
        );
    let url = format!("http://127.0.0.1:{port}");
    for _ in 0..100 {
        if reqwest::get(format!("{url}/status")).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Driver { child, url }
}

#[tokio::test]
async fn an_admin_logs_in_with_a_real_browser_and_registers_a_cluster_on_the_clusters_page() {
    let app = spawn_app().await;
    app.register_cluster("existing-cluster", json!({"environment": "prod"})).await;
    let server = crate::tls_fixture::spawn_version_server(&["127.0.0.1"]).await;
    let driver = start_chromedriver().await;

    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({"args": ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                        "--disable-background-networking", "--disable-component-update", "--disable-sync",
                        "--disable-dev-shm-usage"]}),
    );
    let browser = ClientBuilder::rustls()
        .unwrap()
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("webdriver session");

    let result = async {
        browser.goto(&app.url("/clusters")).await?;
        // Not logged in: sent to the login page.
        browser.wait().for_element(Locator::Id("username")).await?.send_keys("admin").await?;
        browser.find(Locator::Id("password")).await?.send_keys(ADMIN_PASSWORD).await?;
        browser.find(Locator::Id("login")).await?.click().await?;
        let table = browser.wait().for_element(Locator::Id("clusters")).await?;
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
        browser.find(Locator::Css("input[name=name]")).await?.send_keys("from-browser").await?;
        browser.find(Locator::Css("input[name=labels]")).await?.send_keys("owner=secops").await?;
        browser.find(Locator::Css("textarea[name=kubeconfig]")).await?.send_keys(&kubeconfig).await?;
        browser.find(Locator::Css("section.register button[type=submit]")).await?.click().await?;
        browser.wait().for_element(Locator::Css("p.notice")).await?;
        let text = browser.find(Locator::Id("clusters")).await?.text().await?;
        assert!(text.contains("from-browser"), "{text}");
        assert!(text.contains("v1.33.1"), "{text}");
        Ok::<_, fantoccini::error::CmdError>(())
    }
    .await;
    let _ = browser.close().await;
    result.expect("browser steps");
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM clusters WHERE name = 'from-browser'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(n, 1);
}
