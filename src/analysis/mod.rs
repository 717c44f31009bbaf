//! Analyses over a [`crate::snapshot::Snapshot`] that go beyond one check: pure functions with
//! indexes, shared by checks, the CLI and the API.

pub mod rbac;
