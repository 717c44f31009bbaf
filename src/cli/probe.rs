//! `palisade probe tls HOST:PORT`: one endpoint's TLS facts (protocol versions, weak suites,
//! certificate, client-certificate requirement); `palisade probe ssh HOST:PORT`: one SSH server's
//! algorithms and authentication methods. Each as a table or the stable JSON of
//! docs/probe-json.md. Every connection goes through the `[egress]` policy.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;

use crate::collect::probe::{probe_tls, TlsTarget};

#[derive(Debug, clap::Args)]
pub struct ProbeArgs {
    #[command(subcommand)]
    pub command: ProbeCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum ProbeCommand {
    /// Probe a TLS endpoint: versions, weak ciphers, certificate, client-certificate requirement.
    Tls(TlsArgs),
    /// Probe an SSH server: algorithms offered (weak ones with their reason) and whether password
    /// login is possible. Sends no credential.
    Ssh(SshArgs),
}

#[derive(Debug, clap::Args)]
pub struct SshArgs {
    /// The server, `HOST:PORT`, `[IPV6]:PORT` or `HOST` (port 22).
    pub endpoint: String,
    /// `table` or `json`.
    #[arg(long, default_value = "table", value_parser = ["table", "json"])]
    pub format: String,
    /// Time allowed for each connection's whole exchange.
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
}

#[derive(Debug, clap::Args)]
pub struct TlsArgs {
    /// The endpoint, `HOST:PORT` (or `[IPV6]:PORT`).
    pub endpoint: String,
    /// PEM CA bundle the certificate chain must verify against.
    #[arg(long)]
    pub ca: Option<PathBuf>,
    /// Name to verify the certificate for and send as SNI (default: the host).
    #[arg(long)]
    pub server_name: Option<String>,
    /// PEM client certificate to present when the server asks (with --client-key).
    #[arg(long, requires = "client_key")]
    pub client_cert: Option<PathBuf>,
    #[arg(long, requires = "client_cert")]
    pub client_key: Option<PathBuf>,
    /// `table` or `json`.
    #[arg(long, default_value = "table", value_parser = ["table", "json"])]
    pub format: String,
    /// Time allowed for each connection's answer.
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
}

fn read(path: &PathBuf, what: &str) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read the {what} file {}", path.display()))
}

fn runtime_and_egress() -> anyhow::Result<(tokio::runtime::Runtime, std::sync::Arc<crate::egress::Egress>)> {
    let settings = crate::config::Settings::load()?;
    let egress = std::sync::Arc::new(crate::egress::Egress::from_settings(&settings.egress)?);
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    Ok((runtime, egress))
}

/// `probe ssh`: exit 0 when the server was probed, 2 when it could not be.
fn ssh(a: &SshArgs) -> anyhow::Result<ExitCode> {
    let (host, port) = crate::collect::probe::ssh::parse_endpoint(&a.endpoint).map_err(anyhow::Error::msg)?;
    let (runtime, egress) = runtime_and_egress()?;
    let facts = runtime.block_on(crate::collect::probe::ssh::probe_ssh(&egress, &host, port, a.timeout));
    if a.format == "json" {
        println!("{}", serde_json::to_string_pretty(&facts)?);
    } else {
        print!("{}", facts.to_table());
    }
    Ok(if facts.probed() { ExitCode::SUCCESS } else { ExitCode::from(2) })
}

/// Exit 0 when the endpoint was probed, 2 when it could not be (unreachable, outside the egress
/// policy, not TLS): the facts are printed either way.
pub fn run(args: &ProbeArgs) -> anyhow::Result<ExitCode> {
    let a = match &args.command {
        ProbeCommand::Tls(a) => a,
        ProbeCommand::Ssh(a) => return ssh(a),
    };
    let mut target = TlsTarget::parse(&a.endpoint).map_err(anyhow::Error::msg)?;
    target.server_name = a.server_name.clone();
    target.ca_pem = a.ca.as_ref().map(|p| read(p, "CA")).transpose()?;
    if let (Some(c), Some(k)) = (&a.client_cert, &a.client_key) {
        target.client = Some((read(c, "client certificate")?, read(k, "client key")?));
    }
    let (runtime, egress) = runtime_and_egress()?;
    let facts = runtime.block_on(probe_tls(&egress, &target, a.timeout));
    if a.format == "json" {
        println!("{}", serde_json::to_string_pretty(&facts)?);
    } else {
        print!("{}", facts.to_table());
    }
    let probed = facts.reachable && facts.reason.is_none();
    Ok(if probed { ExitCode::SUCCESS } else { ExitCode::from(2) })
}
