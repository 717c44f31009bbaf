//! Shared set-up of the real-browser tests: a chromedriver child process, a headless Chromium
//! session logged in through the login form, screenshots saved under
//! `<CARGO_TARGET_TMPDIR>/screenshots/`, and a server running the demo fleet with every cluster
//! scanned once.
//!
//! Debian's `chromium` and `chromium-driver` packages provide the browser
//! (`scripts/test.sh` installs them when missing).

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use palisade::sim::demo::DemoFleet;
use palisade::store::clusters::Cluster;
use serde_json::{json, Value};

use crate::helpers::{spawn_app_with, TestApp};

/// A chromedriver child process, killed on drop.
pub struct Driver {
    child: Child,
    pub url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Start chromedriver on a free loopback port and wait until it answers.
pub async fn start_chromedriver() -> Driver {
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

/// A headless Chromium session and the chromedriver behind it (the session is closed by
/// [`Browser::close`]; the driver is killed when dropped).
pub struct Browser {
    pub client: Client,
    _driver: Driver,
}

impl Browser {
    /// Start chromedriver and a fresh headless Chromium session (no network beyond loopback:
    /// background networking, component updates and sync are off).
    pub async fn start() -> Browser {
        let driver = start_chromedriver().await;
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({"args": ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                            "--disable-background-networking", "--disable-component-update", "--disable-sync",
                            "--disable-dev-shm-usage", "--window-size=1400,1000"]}),
        );
        let client = ClientBuilder::rustls()
            .unwrap()
            .capabilities(caps)
            .connect(&driver.url)
            .await
            .expect("webdriver session");
        Browser { client, _driver: driver }
    }

    /// Start a browser and log in as `username` through the login form; the browser is then on
    /// the page the login leads to (the fleet overview).
    pub async fn logged_in(app: &TestApp, username: &str, password: &str) -> Browser {
        let browser = Browser::start().await;
        browser.login(app, username, password).await.expect("log in through the form");
        browser
    }

    /// Log in through the login form.
    pub async fn login(
        &self,
        app: &TestApp,
        username: &str,
        password: &str,
    ) -> Result<(), fantoccini::error::CmdError> {
        self.client.goto(&app.url("/login")).await?;
        self.client.wait().for_element(Locator::Id("username")).await?.send_keys(username).await?;
        self.client.find(Locator::Id("password")).await?.send_keys(password).await?;
        self.client.find(Locator::Id("login")).await?.click().await?;
        // The logout form is on every page of a logged-in user.
        self.client.wait().for_element(Locator::Css("form.logout")).await?;
        Ok(())
    }

    /// Save a PNG of the current page as `screenshots/<name>.png` under the test output directory;
    /// returns its path.
    pub async fn screenshot(&self, name: &str) -> Result<PathBuf, fantoccini::error::CmdError> {
        let png = self.client.screenshot().await?;
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).expect("create the screenshot directory");
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).expect("write the screenshot");
        Ok(path)
    }

    /// The session cookie of the browser, for fetching a link (an export) with reqwest.
    pub async fn session_client(&self) -> Result<reqwest::Client, fantoccini::error::CmdError> {
        let cookies = self.client.get_all_cookies().await?;
        let header =
            cookies.iter().map(|c| format!("{}={}", c.name(), c.value())).collect::<Vec<_>>().join("; ");
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(reqwest::header::COOKIE, reqwest::header::HeaderValue::from_str(&header).unwrap());
        Ok(reqwest::Client::builder()
            .default_headers(headers)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap())
    }

    /// End the browser session.
    pub async fn close(self) {
        let _ = self.client.close().await;
    }
}

/// Where screenshots go: `<CARGO_TARGET_TMPDIR>/screenshots/`.
pub fn screenshot_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("screenshots")
}

/// A server with the scheduler on, the four demo clusters registered, and each scanned once.
pub struct DemoApp {
    pub app: TestApp,
    pub fleet: DemoFleet,
    pub clusters: Vec<Cluster>,
}

/// Start a server with the demo fleet and wait until every demo cluster has finished a scan.
pub async fn spawn_demo_app() -> DemoApp {
    let app = spawn_app_with(|s| {
        s.scheduler.enabled = true;
        s.scheduler.tick_millis = 100;
    })
    .await;
    let fleet = DemoFleet::start().await.expect("start the demo fleet");
    let clusters = fleet.register(&app.state).await.expect("register the demo fleet");
    for c in &clusters {
        wait_for_finished_scan(&app, c.id).await;
    }
    DemoApp { app, fleet, clusters }
}

/// The newest scan of a cluster once it has finished (bounded wait; the scheduler runs it).
pub async fn wait_for_finished_scan(app: &TestApp, cluster: uuid::Uuid) -> Value {
    for _ in 0..600 {
        let page: Value = app
            .admin
            .get(app.url(&format!("/api/v1/clusters/{cluster}/scans")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if let Some(scan) = page["items"].as_array().and_then(|a| a.first()) {
            if !matches!(scan["state"].as_str(), Some("queued" | "running")) {
                return scan.clone();
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("the scan of {cluster} never finished");
}
