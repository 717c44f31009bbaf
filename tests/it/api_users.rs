//! Users and roles: admins manage users, nobody else does.

use palisade::domain::Role;
use serde_json::{json, Value};

use crate::helpers::{assert_problem, spawn_app};

#[tokio::test]
async fn an_editor_cannot_manage_users() {
    let app = spawn_app().await;
    let editor = app.client_with_role(Role::Editor).await;
    assert_problem(editor.get(app.url("/api/v1/users")).send().await.unwrap(), 403).await;
    let resp = editor
        .post(app.url("/api/v1/users"))
        .json(&json!({"username": "mallory", "password": "long-enough-password", "role": "admin"}))
        .send()
        .await
        .unwrap();
    let detail = assert_problem(resp, 403).await;
    assert!(detail.contains("admin"), "{detail}");
    let resp = editor
        .patch(app.url(&format!("/api/v1/users/{}", app.admin_id)))
        .json(&json!({"disabled": true}))
        .send()
        .await
        .unwrap();
    assert_problem(resp, 403).await;
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM users WHERE username = 'mallory'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(n, 0);
}

#[tokio::test]
async fn an_admin_creates_a_user_who_can_then_log_in_with_an_argon2id_hash() {
    let app = spawn_app().await;
    let resp = app
        .admin
        .post(app.url("/api/v1/users"))
        .json(&json!({"username": "alice", "password": "alice-password-123", "role": "editor"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let user: Value = resp.json().await.unwrap();
    assert_eq!(user["role"], "editor");
    assert!(user.get("password_hash").is_none());
    let hash: String = sqlx::query_scalar("SELECT password_hash FROM users WHERE username = 'alice'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    let (_, _) = app.login("alice", "alice-password-123").await;
    let users: Value = app.admin.get(app.url("/api/v1/users")).send().await.unwrap().json().await.unwrap();
    assert_eq!(users["items"].as_array().unwrap().len(), 2);
    assert!(users["next_cursor"].is_null());
}

#[tokio::test]
async fn the_users_list_pages_and_filters() {
    let app = spawn_app().await;
    for (name, role) in [("ann", "viewer"), ("bob", "editor"), ("cid", "viewer"), ("dan", "viewer")] {
        let resp = app
            .admin
            .post(app.url("/api/v1/users"))
            .json(&json!({"username": name, "password": "a-long-enough-password", "role": role}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201);
    }
    let get = |q: String| {
        let c = app.admin.clone();
        let url = app.url(&format!("/api/v1/users{q}"));
        async move { c.get(url).send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let names = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["username"].as_str().unwrap().to_string())
            .collect()
    };
    // admin, ann, bob, cid, dan: pages of two.
    let first = get("?limit=2".into()).await;
    assert_eq!(names(&first), ["admin", "ann"]);
    let cursor = first["next_cursor"].as_str().unwrap().to_string();
    let second = get(format!("?limit=2&cursor={cursor}")).await;
    assert_eq!(names(&second), ["bob", "cid"]);
    let third = get(format!("?limit=2&cursor={}", second["next_cursor"].as_str().unwrap())).await;
    assert_eq!(names(&third), ["dan"]);
    assert!(third["next_cursor"].is_null());
    assert_eq!(names(&get("?role=viewer".into()).await), ["ann", "cid", "dan"]);
    assert_eq!(names(&get("?q=d".into()).await), ["admin", "cid", "dan"]);
    let resp = app.admin.get(app.url("/api/v1/users?limit=0")).send().await.unwrap();
    assert_problem(resp, 400).await;
    let resp = app.admin.get(app.url("/api/v1/users?cursor=%%%")).send().await.unwrap();
    assert_problem(resp, 400).await;
}

#[tokio::test]
async fn bad_user_input_gets_clear_errors() {
    let app = spawn_app().await;
    let post = |body: Value| app.admin.post(app.url("/api/v1/users")).json(&body).send();
    let d = assert_problem(
        post(json!({"username": "bob", "password": "short", "role": "viewer"})).await.unwrap(),
        400,
    )
    .await;
    assert!(d.contains("too short"), "{d}");
    let d = assert_problem(
        post(json!({"username": "Bob Smith", "password": "long-enough-password", "role": "viewer"}))
            .await
            .unwrap(),
        400,
    )
    .await;
    assert!(d.contains("invalid username"), "{d}");
    let d = assert_problem(
        post(json!({"username": "bob", "password": "long-enough-password", "role": "root"})).await.unwrap(),
        400,
    )
    .await;
    assert!(d.contains("unknown variant") || d.contains("root"), "{d}");
    let ok = json!({"username": "bob", "password": "long-enough-password", "role": "viewer"});
    assert_eq!(post(ok.clone()).await.unwrap().status(), 201);
    let d = assert_problem(post(ok).await.unwrap(), 409).await;
    assert!(d.contains("already exists"), "{d}");
}

#[tokio::test]
async fn disabling_a_user_ends_their_sessions_and_tokens() {
    let app = spawn_app().await;
    let user = app.create_user(Role::Editor).await;
    let token = app.create_token(&user, Role::Editor).await;
    let (browser, _) = app.login(&user.username, &user.password).await;
    let resp = app
        .admin
        .patch(app.url(&format!("/api/v1/users/{}", user.id)))
        .json(&json!({"disabled": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(browser.get(app.url("/api/v1/auth/me")).send().await.unwrap().status(), 401);
    let resp = crate::helpers::bearer_client(&token).get(app.url("/api/v1/auth/me")).send().await.unwrap();
    assert_eq!(resp.status(), 401);
    let resp = reqwest::Client::new()
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"username": user.username, "password": user.password}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
}

#[tokio::test]
async fn the_last_admin_cannot_be_demoted() {
    let app = spawn_app().await;
    let resp = app
        .admin
        .patch(app.url(&format!("/api/v1/users/{}", app.admin_id)))
        .json(&json!({"role": "viewer"}))
        .send()
        .await
        .unwrap();
    let d = assert_problem(resp, 409).await;
    assert!(d.contains("last enabled admin"), "{d}");
}
