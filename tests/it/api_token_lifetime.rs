//! A token created with a token cannot outlive it (issue 18): a later or missing `expires_at` is
//! refused with 400 naming the limit; one within the parent's lifetime is created.

use palisade::domain::Role;
use serde_json::json;

use crate::helpers::{assert_problem, bearer_client, spawn_app};

#[tokio::test]
async fn a_token_created_with_a_short_lived_token_cannot_outlive_it() {
    let app = spawn_app().await;
    let user = app.create_user(Role::Editor).await;
    let parent_expiry = chrono::Utc::now() + chrono::Duration::hours(1);
    let (_, secret) =
        palisade::store::tokens::create(&app.pool, user.id, "short", Role::Editor, Some(parent_expiry))
            .await
            .unwrap();
    let client = bearer_client(&secret);
    let create = |body: serde_json::Value| client.post(app.url("/api/v1/tokens")).json(&body).send();

    let forever = create(json!({"name": "forever"})).await.unwrap();
    assert!(assert_problem(forever, 400).await.contains("cannot outlive it"));
    let later = (parent_expiry + chrono::Duration::days(30)).to_rfc3339();
    let longer = create(json!({"name": "longer", "expires_at": later})).await.unwrap();
    assert!(assert_problem(longer, 400).await.contains("no later than"));

    let within = (parent_expiry - chrono::Duration::minutes(5)).to_rfc3339();
    let ok = create(json!({"name": "within", "expires_at": within})).await.unwrap();
    assert_eq!(ok.status(), 201);

    // A session or a token without expiry is not limited.
    let free = app.admin.post(app.url("/api/v1/tokens")).json(&json!({"name": "free"})).send().await.unwrap();
    assert_eq!(free.status(), 201);
}
