//! The one integration-test binary: every module shares one build. Each engineer adds their own
//! modules here; `helpers` has `spawn_app()`.

mod helpers;

mod api_auth;
mod api_clusters;
mod api_health;
mod api_tokens;
mod api_users;
mod browser;
mod cli;
mod tls_fixture;
