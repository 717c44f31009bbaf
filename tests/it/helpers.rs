//! `spawn_app()`: a real Palisade server on port 0 over a fresh PostgreSQL database, with an
//! authenticated admin client and helpers to make users, tokens and clusters.
//!
//! The PostgreSQL server is `PALISADE_TEST_DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`); each app gets its own `palisade_test_<uuid>`
//! database, dropped when the app is dropped.

#![allow(dead_code)]

use std::time::Duration;

use palisade::config::Settings;
use palisade::domain::Role;
use palisade::secrets::Cipher;
use palisade::startup::{ensure_admin, Application};
use palisade::store::{self, tokens, users};
use palisade::web::AppState;
use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION};
use secrecy::SecretString;
use serde_json::{json, Value};
use sqlx::PgPool;
use uuid::Uuid;

pub const ADMIN_PASSWORD: &str = "correct-horse-battery-staple";

/// The PostgreSQL server the tests use.
pub fn test_server_url() -> String {
    std::env::var("PALISADE_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string())
}

/// A running test server.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`
    pub address: String,
    pub port: u16,
    /// The port of the unauthenticated `/metrics` listener, when `metrics.listen` is set.
    pub metrics_port: Option<u16>,
    /// A pool on the app's own database (read tables directly in assertions).
    pub pool: PgPool,
    pub db_name: String,
    /// The handlers' shared state (register clusters programmatically, load credentials).
    pub state: AppState,
    /// A client sending the admin's API token.
    pub admin: reqwest::Client,
    pub admin_token: String,
    pub admin_id: Uuid,
    /// Kept alive for the app's data directory.
    _data_dir: tempfile::TempDir,
}

/// A user made by [`TestApp::create_user`].
#[derive(Debug, Clone)]
pub struct TestUser {
    pub id: Uuid,
    pub username: String,
    pub password: String,
    pub role: Role,
}

/// Start an app with default test settings.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Start an app after letting the caller adjust the settings.
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Settings)) -> TestApp {
    spawn_app_on(&test_server_url(), adjust).await
}

/// Start an app whose database lives on the PostgreSQL server `server_url` points at (a private
/// server a test may stop and start).
pub async fn spawn_app_on(server_url: &str, adjust: impl FnOnce(&mut Settings)) -> TestApp {
    palisade::telemetry::init();
    palisade::startup::install_crypto_provider();
    let data_dir = tempfile::tempdir().expect("tempdir");
    let mut settings = Settings::load_from(data_dir.path()).expect("settings");
    let db_name = format!("palisade_test_{}", Uuid::new_v4().simple());
    let mut url = url::Url::parse(server_url).expect("PALISADE_TEST_DATABASE_URL is a URL");
    url.set_path(&db_name);
    settings.database.url = SecretString::from(url.to_string());
    settings.database.embedded_fallback = false;
    settings.database.max_connections = 8;
    settings.server.listen = "127.0.0.1:0".parse().unwrap();
    settings.server.workers = 2;
    settings.data_dir = data_dir.path().to_path_buf();
    settings.secrets.key = SecretString::from(palisade::secrets::generate_key_b64());
    settings.secrets.key_file = data_dir.path().join("secret.key");
    // Tests that scan turn the scheduler on themselves (tests/it/history_*.rs).
    settings.scheduler.enabled = false;
    // Nothing a test does may leave the machine.
    settings.egress = palisade::config::EgressSettings::loopback_only();
    adjust(&mut settings);

    let pool = store::connect(url.as_str(), settings.database.max_connections, Duration::from_secs(5))
        .await
        .expect("connect to the test database (is PostgreSQL running? see scripts/test.sh)");
    ensure_admin(&pool, Some(ADMIN_PASSWORD.to_string())).await.expect("admin");
    let cipher = Cipher::from_settings(&settings.secrets).expect("cipher");
    let app = Application::build(settings, pool.clone(), cipher).expect("build app");
    let port = app.port();
    let metrics_port = app.metrics_port();
    let state = app.state().clone();
    tokio::spawn(app.run_until_stopped());

    let admin_user = users::get_by_name(&pool, "admin").await.unwrap().unwrap();
    let (_, admin_token) =
        tokens::create(&pool, admin_user.id, "test-admin", Role::Admin, None).await.unwrap();
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        port,
        metrics_port,
        admin: bearer_client(&admin_token),
        admin_token,
        admin_id: admin_user.id,
        pool,
        db_name,
        state,
        _data_dir: data_dir,
    }
}

/// A client that sends `Authorization: Bearer <token>` on every request.
pub fn bearer_client(token: &str) -> reqwest::Client {
    let mut headers = HeaderMap::new();
    headers.insert(AUTHORIZATION, HeaderValue::from_str(&format!("Bearer {token}")).unwrap());
    reqwest::Client::builder()
        .default_headers(headers)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A client with a cookie jar and no credentials.
pub fn cookie_client() -> reqwest::Client {
    reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

impl TestApp {
    /// Absolute URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// `GET path` as the admin, its JSON body.
    pub async fn admin_json(&self, path: &str) -> Value {
        self.admin.get(self.url(path)).send().await.unwrap().json().await.unwrap()
    }

    /// The test database's URL (for a second, independent connection).
    pub fn database_url(&self) -> String {
        let mut url = url::Url::parse(&test_server_url()).expect("PALISADE_TEST_DATABASE_URL is a URL");
        url.set_path(&self.db_name);
        url.to_string()
    }

    /// Create a user with `role` (random name, known password) directly in the store.
    pub async fn create_user(&self, role: Role) -> TestUser {
        let username = format!("{}-{}", role, &Uuid::new_v4().simple().to_string()[..8]);
        let password = format!("pw-{}", Uuid::new_v4().simple());
        let user = users::create(&self.pool, &username.parse().unwrap(), &password, role).await.unwrap();
        TestUser { id: user.id, username, password, role }
    }

    /// Create an API token for `user` with `role` directly in the store; returns the secret.
    pub async fn create_token(&self, user: &TestUser, role: Role) -> String {
        tokens::create(&self.pool, user.id, "test", role, None).await.unwrap().1
    }

    /// A bearer client for a fresh user with `role`.
    pub async fn client_with_role(&self, role: Role) -> reqwest::Client {
        let user = self.create_user(role).await;
        bearer_client(&self.create_token(&user, role).await)
    }

    /// Log in through the API; returns a cookie client and the session's CSRF token.
    pub async fn login(&self, username: &str, password: &str) -> (reqwest::Client, String) {
        let client = cookie_client();
        let resp = client
            .post(self.url("/api/v1/auth/login"))
            .json(&json!({"username": username, "password": password}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "login failed: {}", resp.text().await.unwrap());
        let me: Value = resp.json().await.unwrap();
        (client, me["csrf_token"].as_str().unwrap().to_string())
    }

    /// Register a cluster through the API as admin, without a connectivity probe.
    pub async fn register_cluster(&self, name: &str, labels: Value) -> Value {
        let resp = self
            .admin
            .post(self.url("/api/v1/clusters"))
            .json(&json!({
                "name": name,
                "labels": labels,
                "check_connectivity": false,
                "credentials": {"server": "https://127.0.0.1:1", "token": format!("token-of-{name}")}
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201, "register failed: {}", resp.text().await.unwrap());
        resp.json().await.unwrap()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Drop the database on a separate thread: Drop cannot await, and the test's runtime may be
        // shutting down. FORCE ends the app's own connections.
        let name = self.db_name.clone();
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            rt.block_on(async {
                use sqlx::Connection;
                let mut conn = sqlx::PgConnection::connect(&test_server_url()).await.ok()?;
                sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                    .execute(&mut conn)
                    .await
                    .ok()
            })
        })
        .join();
    }
}

/// Assert a response is a problem document with `status`; returns its `detail`.
pub async fn assert_problem(resp: reqwest::Response, status: u16) -> String {
    assert_eq!(resp.status().as_u16(), status, "unexpected status; body: {:?}", "<below>");
    let ct = resp.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    assert_eq!(ct, "application/problem+json");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["status"], status);
    body["detail"].as_str().unwrap().to_string()
}

/// A `multipart/form-data` body as a browser sends it: `(content type, body)`. A field whose name
/// ends in `_file` is sent as an uploaded file.
pub fn multipart_form(fields: &[(&str, &str)]) -> (String, String) {
    let boundary = format!("----palisade{}", Uuid::new_v4().simple());
    let mut body = String::new();
    for (name, value) in fields {
        body.push_str(&format!("--{boundary}\r\n"));
        if name.ends_with("_file") {
            body.push_str(&format!(
                "Content-Disposition: form-data; name=\"{name}\"; filename=\"kubeconfig.yaml\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            ));
        } else {
            body.push_str(&format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n"));
        }
        body.push_str(value);
        body.push_str("\r\n");
    }
    body.push_str(&format!("--{boundary}--\r\n"));
    (format!("multipart/form-data; boundary={boundary}"), body)
}
