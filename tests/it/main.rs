//! The single integration-test binary: each area adds its own module.

mod collect_dump;
mod collect_live;
mod collect_scan;
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
