//! Palisade: security posture and compliance scanning for fleets of Kubernetes clusters.
//!
//! See `DESIGN.md` for the data flow: collectors fill a [`snapshot::Snapshot`], pure checks turn it
//! into results, the store keeps the history, and the web layer serves the dashboard and API.
#![forbid(unsafe_code)]

pub mod agent;
pub mod analysis;
pub mod checks;
pub mod cli;
pub mod collect;
pub mod config;
pub mod crypto;
pub mod domain;
pub mod egress;
pub mod frameworks;
pub mod history;
pub mod registry;
pub mod report;
pub mod scheduler;
pub mod secrets;
pub mod sim;
pub mod snapshot;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod web;

/// mimalloc instead of the system allocator, for every program built on this library (the
/// server, the CLI, benchmarks and tests alike, so benchmarks measure what runs): the server makes
/// many small, short-lived allocations per request and per stored result, where glibc's malloc
/// took 10–40 % of the CPU in profiles of the API and history benchmarks.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
