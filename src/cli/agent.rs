//! `palisade agent --mode node`: read this node's host facts and report them to the server with
//! the cluster's agent token, every `--interval`, spooling what cannot be sent yet.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;

use crate::agent::collect::{collect, CollectOptions};
use crate::agent::deliver::{flush, spool, Delivery, Flushed};
use crate::snapshot::host::{NodeReport, NODE_REPORT_SCHEMA};

#[derive(Debug, clap::Args)]
pub struct AgentArgs {
    /// `node`: report this node's sshd settings, file modes and certificates.
    #[arg(long, value_parser = ["node"])]
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
    /// The node's root as mounted (a DaemonSet mounts it read-only at /host).
    #[arg(long, default_value = "/")]
    pub host_root: PathBuf,
    /// sshd's configuration on the node.
    #[arg(long, default_value = "/etc/ssh/sshd_config")]
    pub sshd_config: String,
    /// Where reports wait while the server is away.
    #[arg(long, default_value = "/var/lib/palisade-agent/spool")]
    pub spool_dir: PathBuf,
    /// Reports kept in the spool at most (the oldest are dropped).
    #[arg(long, default_value_t = 100)]
    pub max_spooled: usize,
    /// Time between reports.
    #[arg(long, default_value = "10m", value_parser = humantime::parse_duration)]
    pub interval: Duration,
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

pub fn run(a: &AgentArgs) -> anyhow::Result<ExitCode> {
    let node = node_name(a)?;
    if a.print {
        println!("{}", serde_json::to_string_pretty(&report(a, &node))?);
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
    let d = Delivery {
        server: server.clone(),
        token,
        ca_pem,
        spool: a.spool_dir.clone(),
        max_spooled: a.max_spooled,
        timeout: Duration::from_secs(30),
    };
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async {
        loop {
            let r = report(a, &node);
            spool(&d, &r).with_context(|| format!("cannot write to the spool {}", d.spool.display()))?;
            let mut flushed = flush(&d).await;
            say(&flushed);
            if a.once {
                return Ok(if flushed.waiting == 0 { ExitCode::SUCCESS } else { ExitCode::from(3) });
            }
            // Until the next report is due, retry the spool with backoff while the server is away.
            let due = tokio::time::Instant::now() + a.interval;
            let mut backoff = Duration::from_secs(5);
            while flushed.waiting > 0 && tokio::time::Instant::now() + backoff < due {
                tokio::time::sleep(backoff).await;
                flushed = flush(&d).await;
                say(&flushed);
                backoff = (backoff * 2).min(a.interval);
            }
            tokio::time::sleep_until(due).await;
        }
    })
}
