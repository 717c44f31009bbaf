//! A `palisade serve` child process and logged-in HTTP clients for it: shared by the benches that
//! drive the real binary (`dashboard`, `soak`). Included with `#[path]`.

use std::process::Child;
use std::time::{Duration, Instant};

/// The servers' `[secrets] key` (32 bytes 0..=31, base64): benches that write encrypted
/// credentials themselves use [`key_bytes`].
pub const KEY_B64: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

/// The key [`KEY_B64`] encodes.
#[allow(dead_code)]
pub fn key_bytes() -> Vec<u8> {
    (0u8..32).collect()
}

pub fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// A child process killed when dropped.
pub struct Proc(pub Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A logged-in browser: its session cookie rides on every request.
#[derive(Clone)]
pub struct Browser {
    pub http: reqwest::Client,
    pub base: String,
}

impl Browser {
    pub async fn login(base: &str, username: &str, password: &str) -> anyhow::Result<Browser> {
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .pool_max_idle_per_host(4)
            .timeout(Duration::from_secs(30))
            .build()?;
        let r = http
            .post(format!("{base}/api/v1/auth/login"))
            .json(&serde_json::json!({"username": username, "password": password}))
            .send()
            .await?;
        anyhow::ensure!(r.status() == 200, "login of {username}: {}", r.status());
        Ok(Browser { http, base: base.to_string() })
    }

    /// GET `path`; the time to the whole body, refusing anything but a 200 containing `expect`.
    pub async fn get(&self, path: &str, expect: &str) -> anyhow::Result<(f64, usize)> {
        let t = Instant::now();
        let r = self.http.get(format!("{}{path}", self.base)).send().await?;
        let status = r.status();
        let body = r.text().await?;
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        anyhow::ensure!(
            status == 200,
            "GET {path}: {status}: {}",
            body.chars().take(300).collect::<String>()
        );
        anyhow::ensure!(body.contains(expect), "GET {path}: the answer does not contain {expect:?}");
        Ok((ms, body.len()))
    }
}

/// Wait (up to a minute) until `GET /readyz` answers 200.
pub async fn wait_ready(base: &str) -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    for _ in 0..600 {
        if http.get(format!("{base}/readyz")).send().await.is_ok_and(|r| r.status() == 200) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!("the server did not become ready")
}
