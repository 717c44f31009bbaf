//! The single integration-test binary: one module per area.

mod netpol_checks;
mod netpol_docs;
mod netpol_semantics;
mod netpol_support;
