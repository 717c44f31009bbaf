//! The `palisade` command line. `main.rs` only calls [`run`]; each subcommand lives in its own
//! module so it can be tested without spawning the binary.

pub mod rbac;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub mod agent;
pub mod cluster;
pub mod migrate;
pub mod netpol;
pub mod probe;
pub mod scan;
pub mod scan_report;
pub mod serve;
pub mod sim;
pub mod user;

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
    /// Run the Palisade server (HTTP API and dashboard).
    Serve(serve::ServeArgs),
    /// Create the database if missing and apply the migrations.
    Migrate,
    /// Manage local users.
    #[command(subcommand)]
    User(user::UserCommand),
    /// Manage the cluster registry.
    #[command(subcommand)]
    Cluster(Box<cluster::ClusterCommand>),
    /// RBAC analysis of a dump or snapshot: who can do what.
    Rbac(rbac::RbacArgs),
    /// Serve a sample or generated cluster as a Kubernetes API over HTTPS (for tests and demos).
    Sim(sim::SimArgs),
    /// Collect a cluster's evidence from a kubeconfig or a dump.
    Scan(scan::ScanArgs),
    /// Network-policy analysis: reachability matrix and per-namespace isolation.
    Netpol(netpol::NetpolArgs),
    /// Probe a live endpoint and print what it actually does.
    Probe(probe::ProbeArgs),
    /// Run an agent: `--mode node` reports this node's sshd settings, file modes and certificates.
    Agent(agent::AgentArgs),
}

#[derive(Debug, clap::Args)]
pub struct SnapshotArgs {
    /// Snapshot JSON file (as written by `palisade scan --snapshot-out`).
    pub file: std::path::PathBuf,
}

/// Parse the command line and run the chosen subcommand.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    crate::crypto::install_crypto_provider();
    let result = match cli.command {
        Command::Snapshot(args) => snapshot_summary(&args),
        Command::Serve(args) => serve::run(&args).map(|()| ExitCode::SUCCESS),
        Command::Migrate => migrate::run().map(|()| ExitCode::SUCCESS),
        Command::User(cmd) => user::run(&cmd).map(|()| ExitCode::SUCCESS),
        Command::Cluster(cmd) => cluster::run(&cmd).map(|()| ExitCode::SUCCESS),
        Command::Rbac(args) => rbac::run(&args),
        Command::Sim(args) => sim::run(args),
        Command::Scan(args) => scan::run(&args),
        Command::Netpol(args) => netpol::run(&args),
        Command::Probe(args) => probe::run(&args),
        Command::Agent(args) => agent::run(&args),
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

/// Run a future on a fresh runtime (for subcommands that need the database).
pub(crate) fn block_on<F: std::future::Future<Output = anyhow::Result<()>>>(f: F) -> anyhow::Result<()> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(f)
}

/// Connect to the configured database (embedded fallback included), run `f`, disconnect.
pub(crate) fn with_pool<F, Fut>(f: F) -> anyhow::Result<()>
where
    F: FnOnce(sqlx::PgPool) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    use anyhow::Context;
    let settings = crate::config::Settings::load().context("cannot load the settings")?;
    block_on(async {
        let (pool, embedded) = crate::store::db::connect_for_serve(&settings).await?;
        let result = f(pool.clone()).await;
        pool.close().await;
        if let Some(pg) = embedded {
            pg.stop();
        }
        result
    })
}
