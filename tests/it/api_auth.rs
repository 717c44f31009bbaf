//! Authentication, sessions, CSRF and login throttling.

use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::{assert_problem, cookie_client, spawn_app, spawn_app_with, ADMIN_PASSWORD};

/// Operations that are public on purpose.
const PUBLIC: &[(&str, &str)] = &[("get", "/healthz"), ("get", "/readyz"), ("post", "/api/v1/auth/login")];

#[tokio::test]
async fn every_api_route_refuses_unauthenticated_requests() {
    let app = spawn_app().await;
    let doc: Value = reqwest::get(app.url("/api/openapi.json")).await.unwrap().json().await.unwrap();
    let client = reqwest::Client::new();
    let mut checked = 0;
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            let public = op["security"]
                .as_array()
                .is_some_and(|s| s.iter().any(|r| r.as_object().unwrap().is_empty()));
            let listed = PUBLIC.contains(&(method.as_str(), path.as_str()));
            assert_eq!(
                public, listed,
                "{method} {path}: public in OpenAPI = {public}, listed as public = {listed}"
            );
            if public {
                continue;
            }
            let url = app.url(
                &path
                    .replace("{id}", &Uuid::new_v4().to_string())
                    .replace("{token_id}", &Uuid::new_v4().to_string()),
            );
            let req = match method.as_str() {
                "get" => client.get(&url),
                "post" => client.post(&url),
                "put" => client.put(&url),
                "patch" => client.patch(&url),
                "delete" => client.delete(&url),
                other => panic!("unexpected method {other}"),
            };
            let resp = req.header("content-type", "application/json").body("{}").send().await.unwrap();
            assert_eq!(resp.status(), 401, "{method} {path} must refuse anonymous callers");
            // A garbage token is refused the same way.
            let req = client.request(method.to_uppercase().parse().unwrap(), &url).bearer_auth("pal_forged");
            assert_eq!(req.send().await.unwrap().status(), 401, "{method} {path} with a forged token");
            checked += 1;
        }
    }
    assert!(checked >= 15, "only {checked} protected operations found");
}

#[tokio::test]
async fn a_user_logs_in_with_a_session_cookie_and_logs_out() {
    let app = spawn_app().await;
    let client = cookie_client();
    let resp = client
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"username": "admin", "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let cookie = resp.headers().get("set-cookie").unwrap().to_str().unwrap().to_string();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
    assert!(!cookie.contains("Secure"), "plain HTTP test server must not set Secure: {cookie}");
    let me: Value = resp.json().await.unwrap();
    assert_eq!(me["role"], "admin");
    let csrf = me["csrf_token"].as_str().unwrap();

    let me: Value = client.get(app.url("/api/v1/auth/me")).send().await.unwrap().json().await.unwrap();
    assert_eq!(me["username"], "admin");
    assert_eq!(me["via"], "session");

    let resp = client.post(app.url("/api/v1/auth/logout")).header("x-csrf-token", csrf).send().await.unwrap();
    assert_eq!(resp.status(), 204);
    let resp = client.get(app.url("/api/v1/auth/me")).send().await.unwrap();
    assert_problem(resp, 401).await;
}

#[tokio::test]
async fn a_revoked_session_stops_working_even_with_the_old_cookie() {
    let app = spawn_app().await;
    let (browser, _) = app.login("admin", ADMIN_PASSWORD).await;
    let sessions: Value =
        app.admin.get(app.url("/api/v1/auth/sessions")).send().await.unwrap().json().await.unwrap();
    let id = sessions[0]["id"].as_str().unwrap();
    let resp = app.admin.delete(app.url(&format!("/api/v1/auth/sessions/{id}"))).send().await.unwrap();
    assert_eq!(resp.status(), 204);
    assert_eq!(browser.get(app.url("/api/v1/auth/me")).send().await.unwrap().status(), 401);
}

#[tokio::test]
async fn a_wrong_password_is_refused_and_audited() {
    let app = spawn_app().await;
    let resp = reqwest::Client::new()
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"username": "admin", "password": "not-the-password"}))
        .send()
        .await
        .unwrap();
    assert_problem(resp, 401).await;
    let audit: Value = app
        .admin
        .get(app.url("/api/v1/audit?action=auth.login_failed"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(audit["items"].as_array().unwrap().len(), 1);
    assert!(!audit.to_string().contains("not-the-password"));
}

#[tokio::test]
async fn login_throttling_kicks_in_after_repeated_failures() {
    let app = spawn_app_with(|s| s.auth.max_failed_logins = 3).await;
    let client = reqwest::Client::new();
    let login = |password: &'static str| {
        client
            .post(app.url("/api/v1/auth/login"))
            .json(&json!({"username": "admin", "password": password}))
            .send()
    };
    for _ in 0..3 {
        assert_eq!(login("wrong-password!").await.unwrap().status(), 401);
    }
    // Even the right password is refused while the account is throttled.
    let resp = login(ADMIN_PASSWORD).await.unwrap();
    assert!(resp.headers().get("retry-after").is_some());
    let detail = assert_problem(resp, 429).await;
    assert!(detail.contains("too many failed logins"), "{detail}");
    // Another account from the same address is not yet throttled (per-address limit is higher).
    let other = app.create_user(palisade::domain::Role::Viewer).await;
    let resp = client
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"username": other.username, "password": other.password}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn cookie_sessions_must_send_the_csrf_header_to_change_state() {
    let app = spawn_app().await;
    let (browser, csrf) = app.login("admin", ADMIN_PASSWORD).await;
    let resp = browser.post(app.url("/api/v1/tokens")).json(&json!({"name": "x"})).send().await.unwrap();
    let detail = assert_problem(resp, 403).await;
    assert!(detail.contains("X-CSRF-Token"), "{detail}");
    let resp = browser
        .post(app.url("/api/v1/tokens"))
        .header("x-csrf-token", "wrong")
        .json(&json!({"name": "x"}))
        .send()
        .await
        .unwrap();
    assert_problem(resp, 403).await;
    let resp = browser
        .post(app.url("/api/v1/tokens"))
        .header("x-csrf-token", &csrf)
        .json(&json!({"name": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
}

#[tokio::test]
async fn csrf_less_form_posts_are_refused() {
    let app = spawn_app().await;
    // The login form needs the token from its own page (double-submit cookie).
    let client = cookie_client();
    let resp = client
        .post(app.url("/login"))
        .form(&[("username", "admin"), ("password", ADMIN_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    assert!(resp
        .headers()
        .get("set-cookie")
        .is_none_or(|c| !c.to_str().unwrap().contains("palisade_session=")));

    // A logged-in browser posting the register form without the token changes nothing.
    let (browser, _) = app.login("admin", ADMIN_PASSWORD).await;
    let (content_type, body) =
        crate::helpers::multipart_form(&[("name", "sneaky"), ("kubeconfig", "apiVersion: v1")]);
    let resp = browser
        .post(app.url("/admin/clusters"))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM clusters").fetch_one(&app.pool).await.unwrap();
    assert_eq!(n, 0);
    let resp = browser.post(app.url("/logout")).form(&[("csrf_token", "forged")]).send().await.unwrap();
    assert_eq!(resp.status(), 403);
}

#[tokio::test]
async fn a_user_changes_their_password_and_old_sessions_end() {
    let app = spawn_app().await;
    let user = app.create_user(palisade::domain::Role::Viewer).await;
    let (browser, csrf) = app.login(&user.username, &user.password).await;
    let resp = browser
        .post(app.url("/api/v1/auth/password"))
        .header("x-csrf-token", &csrf)
        .json(&json!({"current_password": "wrong", "new_password": "a-new-long-password"}))
        .send()
        .await
        .unwrap();
    assert_problem(resp, 403).await;
    let resp = browser
        .post(app.url("/api/v1/auth/password"))
        .header("x-csrf-token", &csrf)
        .json(&json!({"current_password": user.password, "new_password": "a-new-long-password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    assert_eq!(browser.get(app.url("/api/v1/auth/me")).send().await.unwrap().status(), 401);
    app.login(&user.username, "a-new-long-password").await;
}
