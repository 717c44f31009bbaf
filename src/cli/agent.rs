//! `palisade agent --mode node`: read this node's host facts and report them to the server with
//! the cluster's agent token, every `--interval`, spooling what cannot be sent yet.
//! `palisade agent --mode cluster`: collect the cluster this agent runs in (push mode) and send
//! the snapshot the same way.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;

use crate::agent::cluster::{collect_report, ApiAccess};
use crate::agent::collect::{collect, CollectOptions};
use crate::agent::deliver::{flush, spool, Delivery, Flushed, Report, CLUSTER_ENDPOINT, NODE_ENDPOINT};
use crate::collect::kube::LiveOptions;
use crate::collect::probe::ProbeOptions;
use crate::snapshot::host::{NodeReport, NODE_REPORT_SCHEMA};

#[derive(Debug, clap::Args)]
pub struct AgentArgs {
    /// `node`: report this node's sshd settings, file modes and certificates. `cluster`: collect
    /// the cluster this agent runs in (its API objects and probes) and push the snapshot, for a
    /// cluster registered in push mode.
    #[arg(long, value_parser = ["node", "cluster"])]
    pub mode: String,
    /// The Palisade server's base URL.
    #[arg(long, env = "PALISADE_AGENT_SERVER", required_unless_present = "print")]
    pub server: Option<String>,
    /// File holding the cluster's agent token (`pla_…`; an admin creates it).
    #[arg(long, env = "PALISADE_AGENT_TOKEN_FILE", required_unless_present = "print")]
    pub token_file: Option<PathBuf>,
    /// PEM CA the server's certificate must chain to.
    #[arg(long)]
    pub ca: Option<PathBuf>,
    /// This node's name in the cluster (default: `$NODE_NAME`, else the host's /etc/hostname).
    #[arg(long, env = "NODE_NAME")]
    pub node: Option<String>,
    /// Cluster mode: reach the API through this kubeconfig instead of the pod's service account.
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// Cluster mode: the kubeconfig context (default: its current context).
    #[arg(long, requires = "kubeconfig")]
    pub context: Option<String>,
    /// Cluster mode: do not probe the cluster's endpoints (API server, etcd, kubelets, SSH).
    #[arg(long)]
    pub no_probe: bool,
    /// Cluster mode: time allowed for each probe exchange.
    #[arg(long, default_value = "3s", value_parser = humantime::parse_duration)]
    pub probe_timeout: Duration,
    /// Cluster mode: the port of the nodes' SSH servers, probed at each node's address (0: do not
    /// probe SSH).
    #[arg(long, default_value_t = 22, value_name = "PORT")]
    pub ssh_port: u16,
    /// Cluster mode: time allowed for the whole collection.
    #[arg(long, default_value = "10m", value_parser = humantime::parse_duration)]
    pub collect_timeout: Duration,
    /// The node's root as mounted (a DaemonSet mounts it read-only at /host).
    #[arg(long, default_value = "/")]
    pub host_root: PathBuf,
    /// sshd's configuration on the node.
    #[arg(long, default_value = "/etc/ssh/sshd_config")]
    pub sshd_config: String,
    /// Where reports wait while the server is away.
    #[arg(long, default_value = "/var/lib/palisade-agent/spool")]
    pub spool_dir: PathBuf,
    /// Reports kept in the spool at most, the oldest dropped (default: 100 node reports, 3
    /// cluster snapshots).
    #[arg(long)]
    pub max_spooled: Option<usize>,
    /// Time between reports (default: 10m for a node, 1h for a cluster).
    #[arg(long, value_parser = humantime::parse_duration)]
    pub interval: Option<Duration>,
    /// Report once (and send what is spooled), then exit: 0 when everything was delivered, 3 when
    /// reports are still spooled.
    #[arg(long)]
    pub once: bool,
    /// Print the report as JSON and send nothing.
    #[arg(long)]
    pub print: bool,
}

fn node_name(a: &AgentArgs) -> anyhow::Result<String> {
    if let Some(n) = &a.node {
        return Ok(n.clone());
    }
    let path = crate::agent::sshd_config::join(&a.host_root, "/etc/hostname");
    let name = std::fs::read_to_string(&path)
        .with_context(|| format!("no --node given and cannot read {}", path.display()))?;
    Ok(name.trim().to_lowercase())
}

fn report(a: &AgentArgs, node: &str) -> NodeReport {
    let opts = CollectOptions {
        host_root: a.host_root.clone(),
        sshd_config: a.sshd_config.clone(),
        ..Default::default()
    };
    NodeReport {
        schema: NODE_REPORT_SCHEMA.into(),
        report_id: uuid::Uuid::now_v7(),
        node: node.to_string(),
        collected_at: chrono::Utc::now(),
        agent_version: env!("CARGO_PKG_VERSION").into(),
        facts: collect(&opts),
    }
}

fn say(f: &Flushed) {
    if f.delivered + f.duplicates > 0 {
        eprintln!(
            "delivered {} report(s){}",
            f.delivered + f.duplicates,
            if f.duplicates > 0 { format!(" ({} already stored)", f.duplicates) } else { String::new() }
        );
    }
    for r in &f.refused {
        eprintln!("refused by the server, dropped: {r}");
    }
    if let Some(e) = &f.error {
        eprintln!("{} report(s) spooled for later: {e}", f.waiting);
    }
}

/// What one round reports.
enum Source {
    Node(String),
    Cluster { access: ApiAccess, live: LiveOptions },
}

impl Source {
    fn of(a: &AgentArgs) -> anyhow::Result<Source> {
        if a.mode == "node" {
            return Ok(Source::Node(node_name(a)?));
        }
        let access = match &a.kubeconfig {
            Some(path) => ApiAccess::Kubeconfig { path: path.clone(), context: a.context.clone() },
            None => ApiAccess::InCluster { sa_dir: crate::collect::client::SERVICE_ACCOUNT_DIR.into() },
        };
        let settings = crate::config::Settings::load()?;
        let egress = std::sync::Arc::new(crate::egress::Egress::from_settings(&settings.egress)?);
        let probe = (!a.no_probe).then(|| ProbeOptions {
            timeout: a.probe_timeout,
            ssh_port: (a.ssh_port != 0).then_some(a.ssh_port),
            ..Default::default()
        });
        Ok(Source::Cluster {
            access,
            live: LiveOptions { scan_timeout: a.collect_timeout, egress, probe, ..Default::default() },
        })
    }

    fn is_cluster(&self) -> bool {
        matches!(self, Source::Cluster { .. })
    }

    /// Collect a report and spool it (or print it). A cluster that cannot be collected at all
    /// spools nothing; the error is said, and the next round tries again.
    async fn round(&self, a: &AgentArgs, d: Option<&Delivery>) -> anyhow::Result<()> {
        match self {
            Source::Node(node) => emit(&report(a, node), d),
            Source::Cluster { access, live } => {
                let r = collect_report(access, live.clone()).await?;
                let s = &r.snapshot;
                eprintln!(
                    "collected {} nodes, {} pods, {} probes{}",
                    s.nodes.items.len(),
                    s.pods.items.len(),
                    s.probes.tls.len() + s.probes.http.len() + s.probes.ssh.len(),
                    if s.gaps.is_empty() {
                        String::new()
                    } else {
                        format!(", {} not readable", s.gaps.len())
                    }
                );
                emit(&r, d)
            }
        }
    }
}

/// Spool `r` for delivery, or print it (`--print`).
fn emit(r: &impl Report, d: Option<&Delivery>) -> anyhow::Result<()> {
    match d {
        Some(d) => {
            spool(d, r).with_context(|| format!("cannot write to the spool {}", d.spool.display()))?;
        }
        None => println!("{}", serde_json::to_string_pretty(r)?),
    }
    Ok(())
}

pub fn run(a: &AgentArgs) -> anyhow::Result<ExitCode> {
    let source = Source::of(a)?;
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    if a.print {
        runtime.block_on(source.round(a, None))?;
        return Ok(ExitCode::SUCCESS);
    }
    let (Some(server), Some(token_file)) = (&a.server, &a.token_file) else {
        anyhow::bail!("--server and --token-file are required to send reports");
    };
    let token = std::fs::read_to_string(token_file)
        .with_context(|| format!("cannot read the token file {}", token_file.display()))?
        .trim()
        .to_string();
    if !token.starts_with(crate::store::agents::AGENT_TOKEN_PREFIX) {
        anyhow::bail!("{} does not hold an agent token (they start with `pla_`)", token_file.display());
    }
    let ca_pem =
        a.ca.as_ref()
            .map(|p| {
                std::fs::read_to_string(p).with_context(|| format!("cannot read the CA file {}", p.display()))
            })
            .transpose()?;
    let cluster = source.is_cluster();
    let d = Delivery {
        server: server.clone(),
        token,
        ca_pem,
        endpoint: if cluster { CLUSTER_ENDPOINT } else { NODE_ENDPOINT },
        gzip: cluster,
        spool: a.spool_dir.clone(),
        max_spooled: a.max_spooled.unwrap_or(if cluster { 3 } else { 100 }),
        timeout: Duration::from_secs(if cluster { 300 } else { 30 }),
    };
    let interval = a.interval.unwrap_or(Duration::from_secs(if cluster { 3600 } else { 600 }));
    runtime.block_on(async {
        loop {
            let collected = source.round(a, Some(&d)).await;
            if let Err(e) = &collected {
                eprintln!("cannot collect: {e:#}");
            }
            let mut flushed = flush(&d).await;
            say(&flushed);
            if a.once {
                let ok = collected.is_ok() && flushed.waiting == 0;
                return Ok(if ok { ExitCode::SUCCESS } else { ExitCode::from(3) });
            }
            // Until the next report is due, retry the spool with backoff while the server is away.
            let due = tokio::time::Instant::now() + interval;
            let mut backoff = Duration::from_secs(5);
            while flushed.waiting > 0 && tokio::time::Instant::now() + backoff < due {
                tokio::time::sleep(backoff).await;
                flushed = flush(&d).await;
                say(&flushed);
                backoff = (backoff * 2).min(interval);
            }
            tokio::time::sleep_until(due).await;
        }
    })
}
