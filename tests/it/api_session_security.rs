//! Sessions under attack (issue 17): session fixation, CSRF on the API, and login throttling under
//! a password-spraying run (many accounts, one address).

use palisade::domain::Role;
use serde_json::json;

use crate::helpers::{assert_problem, cookie_client, spawn_app, spawn_app_with, ADMIN_PASSWORD};

fn session_cookie(resp: &reqwest::Response) -> Option<String> {
    resp.headers().get_all("set-cookie").iter().find_map(|v| {
        let v = v.to_str().ok()?;
        let pair = v.split(';').next()?;
        pair.strip_prefix("palisade_session=").filter(|s| !s.is_empty()).map(str::to_string)
    })
}

async fn login(
    app: &crate::helpers::TestApp,
    client: &reqwest::Client,
    cookie: Option<&str>,
) -> reqwest::Response {
    let mut req = client
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"username": "admin", "password": ADMIN_PASSWORD}));
    if let Some(c) = cookie {
        req = req.header("cookie", format!("palisade_session={c}"));
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn a_planted_session_id_is_never_accepted_and_every_login_gets_a_new_one() {
    let app = spawn_app().await;
    let planted = "attacker-chosen-session-id-0123456789abcdef";
    let plain = reqwest::Client::new();
    // Who the server takes a request with this session cookie for.
    let me_with = |cookie: &str| {
        plain.get(app.url("/api/v1/auth/me")).header("cookie", format!("palisade_session={cookie}")).send()
    };
    // The planted id authenticates nothing, before or after the victim logs in with it.
    let resp = me_with(planted).await.unwrap();
    assert_problem(resp, 401).await;
    let first = login(&app, &plain, Some(planted)).await;
    assert_eq!(first.status(), 200);
    let issued = session_cookie(&first).expect("login sets a session cookie");
    assert_ne!(issued, planted);
    let resp = me_with(planted).await.unwrap();
    assert_problem(resp, 401).await;
    // The issued one works; a second login issues yet another.
    let resp = me_with(&issued).await.unwrap();
    assert_eq!(resp.status(), 200);
    let second = session_cookie(&login(&app, &plain, Some(&issued)).await).unwrap();
    assert_ne!(second, issued);
    // The cookie is HttpOnly and SameSite.
    let raw = login(&app, &plain, None).await;
    let header = raw
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("palisade_session="))
        .unwrap();
    assert!(header.contains("HttpOnly") && header.contains("SameSite"), "{header}");
}

#[tokio::test]
async fn a_session_write_without_its_csrf_token_is_refused() {
    let app = spawn_app().await;
    let client = cookie_client();
    let me: serde_json::Value = login(&app, &client, None).await.json().await.unwrap();
    let csrf = me["csrf_token"].as_str().unwrap().to_string();
    let body = json!({"name": "csrf-probe"});
    let resp = client.post(app.url("/api/v1/tokens")).json(&body).send().await.unwrap();
    assert_problem(resp, 403).await;
    let resp = client
        .post(app.url("/api/v1/tokens"))
        .header("x-csrf-token", "wrong")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_problem(resp, 403).await;
    let resp =
        client.post(app.url("/api/v1/tokens")).header("x-csrf-token", csrf).json(&body).send().await.unwrap();
    assert_eq!(resp.status(), 201, "{}", resp.text().await.unwrap());
}

#[tokio::test]
async fn password_spraying_from_one_address_is_throttled_for_every_account() {
    let app = spawn_app_with(|s| s.auth.max_failed_logins = 3).await;
    // Thirteen accounts; the sprayer tries one password against twelve of them, once each.
    let mut users = Vec::new();
    for _ in 0..13 {
        users.push(app.create_user(Role::Viewer).await);
    }
    let plain = reqwest::Client::new();
    for u in &users[..12] {
        let resp = plain
            .post(app.url("/api/v1/auth/login"))
            .json(&json!({"username": u.username, "password": "Spring2026!Spring"}))
            .send()
            .await
            .unwrap();
        assert_problem(resp, 401).await;
    }
    // No single account failed more than once, yet the address is now throttled: even the right
    // password of an untouched account is refused from it, with Retry-After.
    let untouched = &users[12];
    let resp = plain
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"username": untouched.username, "password": untouched.password}))
        .send()
        .await
        .unwrap();
    assert!(resp.headers().get("retry-after").is_some());
    assert_problem(resp, 429).await;
    // Integrations with tokens are not locked out by it.
    let resp = app.admin.get(app.url("/api/v1/clusters")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
}
