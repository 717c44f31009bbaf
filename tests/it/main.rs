//! The single integration-test binary: every engineer adds their modules here.

mod sim_api;
mod sim_kubectl;
