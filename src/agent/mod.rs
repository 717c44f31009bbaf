//! The agents (issue 14). `palisade agent --mode node` runs on each node and reports what the
//! server cannot see from outside ([`collect`]): sshd's effective settings, the CIS file modes and
//! owners, the node's certificates. Reports go to `POST /api/v1/ingest/node` with the cluster's
//! agent token; while the server is away they wait in a bounded spool on local disk
//! ([`deliver`]), oldest first, and a report the server already has is dropped, never sent twice.
//!
//! `palisade agent --mode cluster` ([`cluster`]) runs inside a cluster the server cannot reach,
//! collects the same snapshot and probes as a server scan, and pushes them to
//! `POST /api/v1/ingest/cluster` through the same spool.

pub mod cluster;
pub mod collect;
pub mod deliver;
pub mod sshd_config;
