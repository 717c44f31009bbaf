//! Analyses: pure computations over a [`crate::snapshot::Snapshot`] that are bigger than one check
//! (network reachability, CNI recognition, effective RBAC permissions). No I/O, no verdicts: checks
//! and the API turn their answers into results.

pub mod cni;
pub mod netpol;
pub mod rbac;
