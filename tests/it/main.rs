//! The single integration-test binary: each area adds its own modules; `helpers` has `spawn_app()`.

mod api_auth;
mod api_clusters;
mod api_health;
mod api_tokens;
mod api_users;
mod browser;
mod checks_api;
mod checks_cli;
mod checks_samples;
mod cli;
mod collect_dump;
mod collect_live;
mod collect_scan;
mod helpers;
mod netpol_checks;
mod netpol_cli;
mod netpol_docs;
mod netpol_generated;
mod netpol_samples;
mod netpol_semantics;
mod netpol_support;
mod rbac_checks;
mod rbac_cli;
mod sim_api;
mod sim_kubectl;
mod tls_fixture;
