//! API tokens: shown once, stored hashed, capped by the creator's role, revocable at once.

use palisade::domain::Role;
use serde_json::{json, Value};

use crate::helpers::{assert_problem, bearer_client, spawn_app};

#[tokio::test]
async fn a_token_cannot_exceed_its_creators_role() {
    let app = spawn_app().await;
    let viewer = app.client_with_role(Role::Viewer).await;
    let resp = viewer
        .post(app.url("/api/v1/tokens"))
        .json(&json!({"name": "ci", "role": "editor"}))
        .send()
        .await
        .unwrap();
    let d = assert_problem(resp, 403).await;
    assert!(d.contains("more rights than its creator"), "{d}");
    let resp = viewer.post(app.url("/api/v1/tokens")).json(&json!({"name": "ci"})).send().await.unwrap();
    assert_eq!(resp.status(), 201);
    let created: Value = resp.json().await.unwrap();
    assert_eq!(created["role"], "viewer");
}

#[tokio::test]
async fn a_token_never_acts_above_its_owners_current_role() {
    let app = spawn_app().await;
    let user = app.create_user(Role::Editor).await;
    let token = app.create_token(&user, Role::Editor).await;
    // Demoting the owner revokes tokens above the new role.
    app.admin
        .patch(app.url(&format!("/api/v1/users/{}", user.id)))
        .json(&json!({"role": "viewer"}))
        .send()
        .await
        .unwrap();
    let resp = bearer_client(&token).get(app.url("/api/v1/auth/me")).send().await.unwrap();
    assert_eq!(resp.status(), 401);
}

#[tokio::test]
async fn a_revoked_token_stops_working_at_once() {
    let app = spawn_app().await;
    let resp = app
        .admin
        .post(app.url("/api/v1/tokens"))
        .json(&json!({"name": "pipeline", "role": "viewer"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let created: Value = resp.json().await.unwrap();
    let secret = created["secret"].as_str().unwrap();
    assert!(secret.starts_with("pal_"));
    let client = bearer_client(secret);
    assert_eq!(client.get(app.url("/api/v1/clusters")).send().await.unwrap().status(), 200);

    let id = created["id"].as_str().unwrap();
    let resp = app.admin.delete(app.url(&format!("/api/v1/tokens/{id}"))).send().await.unwrap();
    assert_eq!(resp.status(), 204);
    let resp = client.get(app.url("/api/v1/clusters")).send().await.unwrap();
    assert_problem(resp, 401).await;
    // Listing shows metadata only, never the secret.
    let list = app.admin.get(app.url("/api/v1/tokens")).send().await.unwrap().text().await.unwrap();
    assert!(list.contains("pipeline") && !list.contains(secret));
}

#[tokio::test]
async fn an_expired_token_is_refused() {
    let app = spawn_app().await;
    let user = app.create_user(Role::Viewer).await;
    let (_, secret) = palisade::store::tokens::create(
        &app.pool,
        user.id,
        "old",
        Role::Viewer,
        Some(chrono::Utc::now() - chrono::Duration::seconds(1)),
    )
    .await
    .unwrap();
    let resp = bearer_client(&secret).get(app.url("/api/v1/clusters")).send().await.unwrap();
    assert_problem(resp, 401).await;
    let resp = app
        .admin
        .post(app.url("/api/v1/tokens"))
        .json(&json!({"name": "x", "expires_at": "2001-01-01T00:00:00Z"}))
        .send()
        .await
        .unwrap();
    assert!(assert_problem(resp, 400).await.contains("in the past"));
}

#[tokio::test]
async fn tokens_are_stored_only_as_hashes() {
    let app = spawn_app().await;
    let created: Value = app
        .admin
        .post(app.url("/api/v1/tokens"))
        .json(&json!({"name": "hashed"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let secret = created["secret"].as_str().unwrap();
    let rows: Vec<(Vec<u8>, String)> =
        sqlx::query_as("SELECT token_hash, prefix FROM api_tokens").fetch_all(&app.pool).await.unwrap();
    for (hash, prefix) in rows {
        assert_eq!(hash.len(), 32);
        assert!(!hash.windows(secret.len().min(8)).any(|w| secret.as_bytes().starts_with(w)));
        assert!(prefix.len() < 12);
    }
    let dump: String = sqlx::query_scalar("SELECT string_agg(t::text, '|') FROM api_tokens t")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(!dump.contains(&secret[4..]));
}

#[tokio::test]
async fn someone_elses_token_cannot_be_revoked_by_a_non_admin() {
    let app = spawn_app().await;
    let created: Value = app
        .admin
        .post(app.url("/api/v1/tokens"))
        .json(&json!({"name": "admins"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let editor = app.client_with_role(Role::Editor).await;
    let resp = editor
        .delete(app.url(&format!("/api/v1/tokens/{}", created["id"].as_str().unwrap())))
        .send()
        .await
        .unwrap();
    assert_problem(resp, 404).await;
    let resp = bearer_client(created["secret"].as_str().unwrap())
        .get(app.url("/api/v1/auth/me"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn the_tokens_list_pages_newest_first() {
    let app = spawn_app().await;
    for i in 0..5 {
        let resp = app
            .admin
            .post(app.url("/api/v1/tokens"))
            .json(&json!({"name": format!("t{i}"), "role": "viewer"}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201);
    }
    // Five created here plus the test harness's own token, newest first, three per page.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let q = match &cursor {
            Some(c) => format!("?limit=3&cursor={c}"),
            None => "?limit=3".into(),
        };
        let page: Value =
            app.admin.get(app.url(&format!("/api/v1/tokens{q}"))).send().await.unwrap().json().await.unwrap();
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 3);
        seen.extend(items.iter().map(|t| t["name"].as_str().unwrap().to_string()));
        assert!(items.iter().all(|t| t.get("secret").is_none() && t.get("token_hash").is_none()));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(seen, ["t4", "t3", "t2", "t1", "t0", "test-admin"]);
    let resp = app.admin.get(app.url("/api/v1/tokens?cursor=bm9wZQ")).send().await.unwrap();
    assert_problem(resp, 400).await;
}

/// The credential cache (src/web/auth/cache.rs) serves a recently verified token without a
/// database read, and a revoke made by someone else (another replica, the CLI, plain SQL) still
/// stops the token on this server: the database's NOTIFY clears the cache.
#[tokio::test]
async fn a_token_revoked_elsewhere_stops_working_on_this_server_too() {
    let app = spawn_app().await;
    let user = app.create_user(Role::Viewer).await;
    let token = app.create_token(&user, Role::Viewer).await;
    let client = bearer_client(&token);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !app.state.credentials.is_active() {
        assert!(std::time::Instant::now() < deadline, "the invalidation feed never connected");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(client.get(app.url("/api/v1/auth/me")).send().await.unwrap().status(), 200);

    // Another process changes the stored hash without a notification: the cached answer stands,
    // which shows the second request was served from the cache.
    let other = sqlx::PgPool::connect(&app.database_url()).await.unwrap();
    sqlx::query("ALTER TABLE api_tokens DISABLE TRIGGER api_tokens_credentials_changed")
        .execute(&other)
        .await
        .unwrap();
    sqlx::query("UPDATE api_tokens SET revoked_at = now() WHERE user_id = $1")
        .bind(user.id)
        .execute(&other)
        .await
        .unwrap();
    sqlx::query("ALTER TABLE api_tokens ENABLE TRIGGER api_tokens_credentials_changed")
        .execute(&other)
        .await
        .unwrap();
    assert_eq!(client.get(app.url("/api/v1/auth/me")).send().await.unwrap().status(), 200);

    // Any credential change that does notify clears the cache: now the revoke is seen.
    sqlx::query("UPDATE sessions SET revoked_at = now() WHERE revoked_at IS NULL")
        .execute(&other)
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    loop {
        let status = client.get(app.url("/api/v1/auth/me")).send().await.unwrap().status();
        if status == 401 {
            break;
        }
        assert_eq!(status, 200);
        assert!(std::time::Instant::now() < deadline, "the revoked token still works after 2 s");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}
