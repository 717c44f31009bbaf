//! Housekeeping of credentials (issue 18): expired sessions and old failed logins are pruned on a
//! schedule; guessing the current password on the password-change endpoint is throttled like a
//! login.

use std::time::{Duration, Instant};

use palisade::domain::Role;
use palisade::store::sessions;
use serde_json::json;

use crate::helpers::{assert_problem, spawn_app, spawn_app_with};

async fn count(pool: &sqlx::PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

#[tokio::test]
async fn prune_removes_expired_sessions_and_old_failures_only() {
    let app = spawn_app().await;
    let user = app.create_user(Role::Viewer).await;
    sessions::create(&app.pool, user.id, Some("127.0.0.1"), chrono::Duration::hours(-1)).await.unwrap();
    sessions::create(&app.pool, user.id, Some("127.0.0.1"), chrono::Duration::hours(1)).await.unwrap();
    sessions::record_failure(&app.pool, "someone", "127.0.0.9").await.unwrap();
    sqlx::query("INSERT INTO login_failures (username, address, at) VALUES ('old', '127.0.0.9', now() - interval '2 hours')")
        .execute(&app.pool)
        .await
        .unwrap();
    let (s, f) = sessions::prune(&app.pool, chrono::Duration::minutes(15)).await.unwrap();
    assert_eq!((s, f), (1, 1));
    let live = format!("SELECT count(*) FROM sessions WHERE user_id = '{}'", user.id);
    assert_eq!(count(&app.pool, &live).await, 1, "the live session stays");
    assert_eq!(count(&app.pool, "SELECT count(*) FROM login_failures").await, 1, "the recent failure stays");
}

#[tokio::test]
async fn the_server_prunes_on_its_schedule() {
    let app = spawn_app_with(|s| s.auth.prune_interval_secs = 1).await;
    let user = app.create_user(Role::Viewer).await;
    sessions::create(&app.pool, user.id, None, chrono::Duration::seconds(-5)).await.unwrap();
    let expired = format!("SELECT count(*) FROM sessions WHERE user_id = '{}'", user.id);
    let started = Instant::now();
    while count(&app.pool, &expired).await > 0 {
        assert!(started.elapsed() < Duration::from_secs(10), "the expired session was not pruned");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn wrong_current_passwords_are_throttled_like_logins() {
    let app = spawn_app_with(|s| s.auth.max_failed_logins = 3).await;
    let user = app.create_user(Role::Viewer).await;
    let token = app.create_token(&user, Role::Viewer).await;
    let client = crate::helpers::bearer_client(&token);
    let change = |current: &str| {
        client
            .post(app.url("/api/v1/auth/password"))
            .json(&json!({"current_password": current, "new_password": "a-brand-new-password"}))
            .send()
    };
    for _ in 0..3 {
        assert_problem(change("not-the-password").await.unwrap(), 403).await;
    }
    // Now even the right password is refused for a while, with Retry-After.
    let resp = change(&user.password).await.unwrap();
    assert!(resp.headers().get("retry-after").is_some());
    assert_problem(resp, 429).await;
    // Logging in to that account is throttled too: the failures are the same count.
    let resp = reqwest::Client::new()
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"username": user.username, "password": user.password}))
        .send()
        .await
        .unwrap();
    assert_problem(resp, 429).await;
}
