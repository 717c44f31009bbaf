//! The `palisade` command line. `main.rs` only calls [`run`]; each subcommand lives in its own
//! module so it can be tested without spawning the binary.

pub mod rbac;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub mod netpol;
pub mod scan;
pub mod scan_report;
pub mod sim;

/// Palisade keeps a fleet of Kubernetes clusters secure and compliant.
#[derive(Debug, Parser)]
#[command(name = "palisade", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read a snapshot JSON file and print what it holds.
    Snapshot(SnapshotArgs),
    /// RBAC analysis of a dump or snapshot: who can do what.
    Rbac(rbac::RbacArgs),
    /// Serve a sample or generated cluster as a Kubernetes API over HTTPS (for tests and demos).
    Sim(sim::SimArgs),
    /// Collect a cluster's evidence from a kubeconfig or a dump.
    Scan(scan::ScanArgs),
    /// Network-policy analysis: reachability matrix and per-namespace isolation.
    Netpol(netpol::NetpolArgs),
}

#[derive(Debug, clap::Args)]
pub struct SnapshotArgs {
    /// Snapshot JSON file (as written by `palisade scan --snapshot-out`).
    pub file: std::path::PathBuf,
}

/// Parse the command line and run the chosen subcommand.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Snapshot(args) => snapshot_summary(&args),
        Command::Rbac(args) => rbac::run(&args),
        Command::Sim(args) => sim::run(args),
        Command::Scan(args) => scan::run(&args),
        Command::Netpol(args) => netpol::run(&args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}

fn snapshot_summary(args: &SnapshotArgs) -> anyhow::Result<ExitCode> {
    use anyhow::Context;
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let snap = crate::snapshot::Snapshot::from_json(&text)
        .with_context(|| format!("{} is not a Palisade snapshot", args.file.display()))?;
    println!("cluster {} collected {}", snap.cluster.name, snap.collected_at);
    println!(
        "components {} · nodes {} · namespaces {} · pods {} · roles {} · cluster roles {} · bindings {} · \
         cluster bindings {} · network policies {} · gaps {}",
        snap.components.len(),
        snap.nodes.len(),
        snap.namespaces.len(),
        snap.pods.len(),
        snap.roles.len(),
        snap.cluster_roles.len(),
        snap.role_bindings.len(),
        snap.cluster_role_bindings.len(),
        snap.network_policies.len(),
        snap.gaps.len()
    );
    Ok(ExitCode::SUCCESS)
}
