//! Shared helpers of the history tests: a fresh migrated database per test and clusters
//! registered through the cluster store.

use sqlx::PgPool;
use uuid::Uuid;

/// A fresh database `palisade_test_<uuid>` with every migration applied.
pub async fn fresh_pool() -> PgPool {
    let base = std::env::var("PALISADE_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    fresh_pool_on(&base).await
}

/// A fresh migrated database on the server `base` points at.
pub async fn fresh_pool_on(base: &str) -> PgPool {
    use sqlx::Connection;
    let name = format!("palisade_test_{}", Uuid::new_v4().simple());
    let mut admin = sqlx::PgConnection::connect(base).await.expect("PostgreSQL answers");
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut admin).await.unwrap();
    let url = format!("{}/{name}", base.rsplit_once('/').map(|(b, _)| b).unwrap_or(base));
    let pool = sqlx::postgres::PgPoolOptions::new().max_connections(5).connect(&url).await.unwrap();
    palisade::store::MIGRATOR.run(&pool).await.unwrap();
    pool
}

/// Register a cluster (no credentials are used by these tests: they store results directly).
pub async fn add_cluster(pool: &PgPool, name: &str, group: Option<&str>, labels: &[(&str, &str)]) -> Uuid {
    let labels: serde_json::Map<String, serde_json::Value> =
        labels.iter().map(|(k, v)| (k.to_string(), serde_json::Value::String(v.to_string()))).collect();
    let id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO clusters (id, name, server_url, auth_kind, credentials, credentials_key_id, labels, cluster_group)
         VALUES ($1, $2, 'https://127.0.0.1:1', 'token', '\\x00', 'test', $3, $4)",
    )
    .bind(id)
    .bind(name)
    .bind(serde_json::Value::Object(labels))
    .bind(group)
    .execute(pool)
    .await
    .unwrap();
    id
}
