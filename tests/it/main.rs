//! The single integration-test binary: each area adds its own module.

mod collect_dump;
mod rbac_checks;
mod rbac_cli;
