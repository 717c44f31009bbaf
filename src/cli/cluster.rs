//! `palisade cluster add|list|remove|check|rekey`: manage the registry from the server host.
//! Unlike uploads, a local kubeconfig may refer to files (resolved next to the kubeconfig).

use std::path::PathBuf;

use anyhow::{bail, Context};

use crate::collect::client::{credentials_from_kubeconfig, ClusterAuth, ClusterCredentials, FileRefs};
use crate::config::Settings;
use crate::domain::{ClusterName, GroupName, Labels};
use crate::registry::Registry;
use crate::secrets::Cipher;
use crate::store::audit::Actor;
use crate::store::clusters::{self, ClusterFilter, NewCluster, NewPushCluster};

/// Cluster subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum ClusterCommand {
    /// Register a cluster from a kubeconfig context, or from --server with a token or client certificate.
    Add(Box<AddArgs>),
    /// List registered clusters.
    List {
        /// Only clusters with this label (key=value); repeatable.
        #[arg(long = "label")]
        labels: Vec<String>,
    },
    /// Delete a cluster (its scan history is kept unless --purge-history).
    Remove {
        name: ClusterName,
        #[arg(long)]
        purge_history: bool,
    },
    /// Check a cluster's connectivity (GET /version) now.
    Check { name: ClusterName },
    /// Re-encrypt every cluster's credentials with the current key (after a key rotation).
    Rekey,
}

/// Options of `palisade cluster add`.
#[derive(Debug, clap::Args)]
pub struct AddArgs {
    pub name: ClusterName,
    /// Push mode: the cluster's agent (`palisade agent --mode cluster`, deploy/cluster-agent.yaml)
    /// sends its snapshots; the server holds no credentials for it and never connects to it.
    #[arg(long, conflicts_with_all = ["kubeconfig", "server", "no_check", "ssh_port"])]
    pub push: bool,
    /// Kubeconfig file to read the credentials from.
    #[arg(long, conflicts_with = "server")]
    pub kubeconfig: Option<PathBuf>,
    /// Context of the kubeconfig (default: its current context).
    #[arg(long, requires = "kubeconfig")]
    pub context: Option<String>,
    /// API server URL (https://host:port).
    #[arg(long)]
    pub server: Option<String>,
    /// PEM CA bundle file for --server.
    #[arg(long, requires = "server")]
    pub ca_file: Option<PathBuf>,
    /// File holding a bearer token for --server.
    #[arg(long, requires = "server", conflicts_with = "client_cert")]
    pub token_file: Option<PathBuf>,
    /// Client certificate PEM file for --server (with --client-key).
    #[arg(long, requires_all = ["server", "client_key"])]
    pub client_cert: Option<PathBuf>,
    #[arg(long, requires = "client_cert")]
    pub client_key: Option<PathBuf>,
    /// Label key=value; repeatable.
    #[arg(long = "label")]
    pub labels: Vec<String>,
    #[arg(long)]
    pub group: Option<GroupName>,
    /// Register disabled (not scanned).
    #[arg(long)]
    pub disabled: bool,
    /// Do not probe GET /version after registering.
    #[arg(long)]
    pub no_check: bool,
    /// The port of the nodes' SSH servers for the SSH probe (default: the server's `[scheduler]
    /// ssh_port`; 0: do not probe SSH).
    #[arg(long, value_name = "PORT")]
    pub ssh_port: Option<u16>,
}

fn read(path: &PathBuf, what: &str) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read the {what} {}", path.display()))
}

fn credentials(args: &AddArgs) -> anyhow::Result<ClusterCredentials> {
    if let Some(path) = &args.kubeconfig {
        let yaml = read(path, "kubeconfig")?;
        let dir = path.parent().map(PathBuf::from).unwrap_or_default();
        let (_, creds) =
            credentials_from_kubeconfig(&yaml, args.context.as_deref(), &FileRefs::ResolveFrom(dir))?;
        return Ok(creds);
    }
    let Some(server) = &args.server else { bail!("give --kubeconfig FILE or --server URL") };
    let auth = match (&args.token_file, &args.client_cert, &args.client_key) {
        (Some(t), _, _) => ClusterAuth::Token { token: read(t, "token file")?.trim().to_string() },
        (None, Some(c), Some(k)) => ClusterAuth::ClientCertificate {
            cert_pem: read(c, "client certificate")?,
            key_pem: read(k, "client key")?,
        },
        _ => ClusterAuth::None,
    };
    let ca_pem = args.ca_file.as_ref().map(|p| read(p, "CA file")).transpose()?;
    let creds = ClusterCredentials {
        server: server.clone(),
        ca_pem,
        tls_server_name: None,
        insecure_skip_tls_verify: false,
        auth,
    };
    creds.validate()?;
    Ok(creds)
}

/// Run a cluster subcommand.
pub fn run(cmd: &ClusterCommand) -> anyhow::Result<()> {
    let settings = Settings::load().context("cannot load the settings")?;
    super::with_pool(|pool| async move {
        let cipher = Cipher::from_settings(&settings.secrets)?;
        let interval = std::time::Duration::from_secs(settings.scheduler.default_interval_secs);
        let egress = std::sync::Arc::new(crate::egress::Egress::from_settings(&settings.egress)?);
        let registry = Registry::new(pool.clone(), std::sync::Arc::new(cipher), interval, egress);
        match cmd {
            ClusterCommand::Add(args) => {
                let labels =
                    Labels::from_pairs(args.labels.iter().map(String::as_str)).map_err(anyhow::Error::msg)?;
                if args.push {
                    let new = NewPushCluster {
                        name: args.name.clone(),
                        labels,
                        group: args.group.clone(),
                        enabled: !args.disabled,
                    };
                    let c = registry.register_push(&new, &Actor::cli()).await?;
                    println!("registered {} (push mode) id {}", c.name, c.id);
                    println!(
                        "next: create its agent token (POST /api/v1/clusters/{}/agent-tokens) and deploy \
                         deploy/cluster-agent.yaml in the cluster",
                        c.id
                    );
                    return Ok(());
                }
                let new = NewCluster {
                    name: args.name.clone(),
                    labels,
                    group: args.group.clone(),
                    enabled: !args.disabled,
                    credentials: credentials(args)?,
                    ssh_port: args.ssh_port,
                };
                let c = registry.register_cluster(&new, &Actor::cli(), !args.no_check).await?;
                println!("registered {} ({}) id {}", c.name, c.server_url, c.id);
                match (c.last_reachable, &c.last_server_version, &c.last_error) {
                    (Some(true), v, _) => println!("reachable, Kubernetes {}", v.as_deref().unwrap_or("?")),
                    (Some(false), _, e) => {
                        println!("NOT reachable: {}", e.as_deref().unwrap_or("unknown reason"))
                    }
                    _ => println!("connectivity not checked"),
                }
            }
            ClusterCommand::List { labels } => {
                let labels =
                    Labels::from_pairs(labels.iter().map(String::as_str)).map_err(anyhow::Error::msg)?;
                let mut filter = ClusterFilter { limit: 501, labels, ..Default::default() };
                println!("{:<32} {:<40} {:<8} {:<10} labels", "name", "server", "enabled", "reachable");
                loop {
                    let rows = clusters::list(&pool, &filter).await?;
                    let more = rows.len() > 500;
                    for c in rows.iter().take(500) {
                        let reach = match c.last_reachable {
                            _ if c.mode == "push" => "n/a",
                            Some(true) => "yes",
                            Some(false) => "no",
                            None => "unchecked",
                        };
                        let labels: Vec<String> = c.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
                        println!(
                            "{:<32} {:<40} {:<8} {:<10} {}",
                            c.name,
                            if c.mode == "push" { "(push mode)" } else { c.server_url.as_str() },
                            c.enabled,
                            reach,
                            labels.join(",")
                        );
                    }
                    if !more {
                        break;
                    }
                    filter.after = rows.get(499).map(|c| c.name.clone());
                }
            }
            ClusterCommand::Remove { name, purge_history } => {
                let Some(c) = clusters::get_by_name(&pool, name.as_str()).await? else {
                    bail!("no cluster named `{name}`")
                };
                clusters::delete(&pool, c.id, *purge_history, &Actor::cli()).await?;
                println!(
                    "removed {}{}",
                    c.name,
                    if *purge_history { " and its history" } else { " (history kept)" }
                );
            }
            ClusterCommand::Check { name } => {
                let Some(c) = clusters::get_by_name(&pool, name.as_str()).await? else {
                    bail!("no cluster named `{name}`")
                };
                let c = registry.recheck(c.id).await?;
                match c.last_reachable {
                    Some(true) => println!(
                        "{}: reachable, Kubernetes {}",
                        c.name,
                        c.last_server_version.unwrap_or_default()
                    ),
                    _ => println!("{}: NOT reachable: {}", c.name, c.last_error.unwrap_or_default()),
                }
            }
            ClusterCommand::Rekey => {
                let n = clusters::rekey(&pool, &registry.cipher).await?;
                println!(
                    "re-encrypted the credentials of {n} cluster(s) with key {}",
                    registry.cipher.current_key_id()
                );
            }
        }
        Ok(())
    })
}
