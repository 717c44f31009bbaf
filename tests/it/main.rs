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
mod collect_dump;
mod collect_live;
mod collect_scan;
mod history_api;
mod history_lifecycle;
mod history_scheduler;
mod history_support;
mod netpol_checks;
mod netpol_docs;
mod netpol_semantics;
mod netpol_support;
mod rbac_checks;
mod rbac_cli;
mod sim_api;
mod sim_kubectl;
mod tls_fixture;
