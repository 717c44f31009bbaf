//! Collectors: everything that reads a cluster (live API, dump files, probes) and fills a
//! [`crate::snapshot::Snapshot`]. Only this module and `sim` talk to clusters.

pub mod client;
pub mod connect;
pub mod dump;
pub mod kube;
pub mod probe;
pub mod reduce;
