//! Palisade: security posture and compliance scanning for fleets of Kubernetes clusters.
//!
//! See `DESIGN.md` for the data flow: collectors fill a [`snapshot::Snapshot`], pure checks turn it
//! into results, the store keeps the history, and the web layer serves the dashboard and API.
#![forbid(unsafe_code)]

pub mod analysis;
pub mod checks;
pub mod cli;
pub mod collect;
pub mod config;
pub mod domain;
pub mod frameworks;
pub mod history;
pub mod report;
pub mod scheduler;
pub mod secrets;
pub mod sim;
pub mod snapshot;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod web;
