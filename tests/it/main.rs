//! The single integration-test binary: each area adds its own module.

mod collect_dump;
mod netpol_checks;
mod netpol_cli;
mod netpol_docs;
mod netpol_generated;
mod netpol_semantics;
mod netpol_support;
