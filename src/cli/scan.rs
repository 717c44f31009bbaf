//! `palisade scan`: collect a snapshot from a live cluster (kubeconfig) or a dump, print what was
//! collected and what could not be, and optionally write the snapshot JSON.
//!
//! The collection itself is the library function [`collect_snapshot`], so the report formats and
//! the scheduler call the same code the command line does.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;

use crate::collect::client::{credentials_from_kubeconfig, FileRefs};
use crate::collect::kube::{LiveOptions, Progress};
use crate::collect::probe::ProbeOptions;
use crate::snapshot::{ControlPlane, Snapshot};

/// Arguments of `palisade scan`.
#[derive(Debug, Clone, clap::Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["kubeconfig", "from"])))]
pub struct ScanArgs {
    /// Scan the live cluster of this kubeconfig (credential plugins are refused).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// Kubeconfig context to use (default: the current context).
    #[arg(long, value_name = "NAME", requires = "kubeconfig")]
    pub context: Option<String>,
    /// Scan a dump: a directory or .tar.gz of `kubectl get -o yaml` output and static pod manifests.
    #[arg(long, value_name = "DIR|FILE.tar.gz")]
    pub from: Option<PathBuf>,
    /// Write the collected snapshot as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub snapshot_out: Option<PathBuf>,
    /// Name to scan the cluster under (default: the context or dump name).
    #[arg(long)]
    pub name: Option<String>,
    /// Give up on the whole scan after this long (e.g. `90s`, `10m`).
    #[arg(long, default_value = "10m", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
    /// Timeout of one API request.
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    pub request_timeout: Duration,
    /// Do not print progress to stderr.
    #[arg(long, short)]
    pub quiet: bool,
    /// Only collect (and write `--snapshot-out`): run no checks, print no verdicts. For moving
    /// evidence out of an air-gapped network, and for measuring collection alone.
    #[arg(long, requires = "snapshot_out")]
    pub collect_only: bool,
    /// How to print the verdicts: `table` (grouped by area, colored on a terminal), `json` (stable
    /// report) or `sarif` (SARIF 2.1.0 for code-scanning tools).
    #[arg(long, value_enum, default_value = "table")]
    pub format: crate::report::Format,
    /// Exit with code 1 when any check fails at this severity or above
    /// (`critical`, `high`, `medium`, `low`, `info`). Without it a completed scan exits 0.
    #[arg(long, value_name = "SEVERITY")]
    pub fail_on: Option<crate::domain::Severity>,
    /// Probe the endpoints a dump names (its flags' addresses and its nodes'): TLS, unauthenticated
    /// access, plain-text ports. Offline scans send no packet without it. Every connection goes
    /// through the `[egress]` policy.
    #[arg(long, requires = "from")]
    pub probe: bool,
    /// Do not probe the live cluster's endpoints (the API, etcd, kubelets, secure ports).
    #[arg(long, requires = "kubeconfig")]
    pub no_probe: bool,
    /// PEM CA the probed certificates must chain to (live scans use the kubeconfig's CA).
    #[arg(long, value_name = "FILE")]
    pub probe_ca: Option<PathBuf>,
    /// Time allowed for each probe exchange.
    #[arg(long, default_value = "3s", value_parser = humantime::parse_duration)]
    pub probe_timeout: Duration,
    /// The port of the nodes' SSH servers, probed at each node's address (0: do not probe SSH).
    #[arg(long, default_value_t = 22, value_name = "PORT")]
    pub ssh_port: u16,
}

/// Where a scan reads its cluster from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanSource {
    /// A live cluster through a local kubeconfig file (relative file references resolve against
    /// the kubeconfig's directory).
    Kubeconfig { path: PathBuf, context: Option<String> },
    /// A dump directory, `.tar.gz` archive or single YAML/JSON file.
    Dump(PathBuf),
}

impl ScanArgs {
    /// The source named on the command line.
    pub fn source(&self) -> anyhow::Result<ScanSource> {
        match (&self.kubeconfig, &self.from) {
            (Some(path), None) => {
                Ok(ScanSource::Kubeconfig { path: path.clone(), context: self.context.clone() })
            }
            (None, Some(path)) => Ok(ScanSource::Dump(path.clone())),
            _ => anyhow::bail!("pass exactly one of --kubeconfig FILE or --from DIR|FILE.tar.gz"),
        }
    }

    /// Live-collection options from the flags (progress to stderr unless `--quiet`) and the
    /// `[egress]` settings.
    pub fn live_options(&self) -> anyhow::Result<LiveOptions> {
        let settings = crate::config::Settings::load()?;
        let mut opts = LiveOptions {
            scan_timeout: self.timeout,
            request_timeout: self.request_timeout,
            egress: std::sync::Arc::new(crate::egress::Egress::from_settings(&settings.egress)?),
            ..Default::default()
        };
        if !self.quiet {
            opts.progress = Some(std::sync::Arc::new(print_progress));
        }
        let probing = if self.from.is_some() { self.probe } else { !self.no_probe };
        if probing {
            let ca_pem = match &self.probe_ca {
                Some(path) => Some(
                    std::fs::read_to_string(path)
                        .with_context(|| format!("cannot read the CA file {}", path.display()))?,
                ),
                None => None,
            };
            let ssh_port = (self.ssh_port != 0).then_some(self.ssh_port);
            opts.probe =
                Some(ProbeOptions { timeout: self.probe_timeout, ca_pem, ssh_port, ..Default::default() });
        }
        Ok(opts)
    }
}

fn print_progress(p: &Progress) {
    match p {
        Progress::Listing { .. } => {}
        Progress::Listed { resource, items, state } => eprintln!("  {resource:<20} {items:>8}  {state}"),
        Progress::Kubelets { done, total } if done == total => {
            eprintln!("  {:<20} {done:>8}  of {total} nodes", "kubelet configz")
        }
        Progress::Kubelets { .. } => {}
        Progress::Probing { done, total } if done == total => {
            eprintln!("  {:<20} {done:>8}  endpoints", "probes")
        }
        Progress::Probing { .. } => {}
    }
}

/// Collect a snapshot from `source` with default options. This is the scan the CLI runs; report
/// formats and the scheduler call it too.
pub async fn collect_snapshot(source: &ScanSource) -> anyhow::Result<Snapshot> {
    collect_snapshot_with(source, None, LiveOptions::default()).await
}

/// [`collect_snapshot`] with a cluster name and live-collection options.
pub async fn collect_snapshot_with(
    source: &ScanSource,
    name: Option<&str>,
    opts: LiveOptions,
) -> anyhow::Result<Snapshot> {
    match source {
        ScanSource::Kubeconfig { path, context } => {
            let yaml = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the kubeconfig {}", path.display()))?;
            let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
            let (context, creds) =
                credentials_from_kubeconfig(&yaml, context.as_deref(), &FileRefs::ResolveFrom(dir))
                    .with_context(|| format!("cannot use the kubeconfig {}", path.display()))?;
            let name = name.unwrap_or(&context);
            Ok(crate::collect::kube::collect(name, &creds, opts).await?)
        }
        ScanSource::Dump(path) => {
            let path = path.clone();
            let name = name.map(str::to_string);
            // Reading a large dump is CPU-bound: keep it off the async workers.
            let mut snap = tokio::task::spawn_blocking(move || crate::collect::dump::collect(&path))
                .await
                .context("the dump reader stopped unexpectedly")??;
            if let Some(name) = name {
                snap.cluster.name = name;
            }
            if let Some(options) = &opts.probe {
                snap.probes = crate::collect::kube::probe_snapshot(
                    &snap,
                    None,
                    &opts.egress,
                    options,
                    opts.progress.as_ref(),
                )
                .await;
            }
            Ok(snap)
        }
    }
}

/// Run `palisade scan`: collect, judge, print the verdicts in `--format` on stdout (what was
/// collected goes to stderr unless `--quiet`). Exit code 0 when the scan completed, 1 when a check
/// failed at or above `--fail-on`, 2 when the cluster could not be scanned at all.
pub fn run(args: &ScanArgs) -> anyhow::Result<ExitCode> {
    let source = args.source()?;
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let snap =
        runtime.block_on(collect_snapshot_with(&source, args.name.as_deref(), args.live_options()?))?;
    if let Some(out) = &args.snapshot_out {
        let json = snap.to_json().context("cannot serialize the snapshot")?;
        std::fs::write(out, &json).with_context(|| format!("cannot write {}", out.display()))?;
        eprintln!("snapshot written to {} ({} bytes)", out.display(), json.len());
    }
    if !args.quiet {
        eprint!("{}", summary(&snap));
    }
    if args.collect_only {
        return Ok(ExitCode::SUCCESS);
    }
    super::scan_report::print_report(&snap, &source, args.format, args.fail_on)
}

/// A human summary of what a snapshot holds and what it lacks.
pub fn summary(snap: &Snapshot) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let version = snap.cluster.version.as_ref().map(|v| v.git_version.as_str()).unwrap_or("unknown version");
    let plane = match &snap.cluster.control_plane {
        ControlPlane::SelfManaged => "self-managed control plane".to_string(),
        ControlPlane::Managed { provider, evidence } => {
            format!("managed control plane ({provider}: {evidence})")
        }
        ControlPlane::Unknown => "control plane not determined".to_string(),
    };
    let _ = writeln!(out, "cluster {} · {version} · {plane}", snap.cluster.name);
    let rows: [(&str, usize, Option<String>); 15] = [
        ("components", snap.components.len(), snap.components.state.missing_reason()),
        (
            "kubelets",
            snap.kubelets.iter().filter(|k| k.config.is_some()).count(),
            snap.kubelets.state.missing_reason(),
        ),
        ("nodes", snap.nodes.len(), snap.nodes.state.missing_reason()),
        ("namespaces", snap.namespaces.len(), snap.namespaces.state.missing_reason()),
        ("pods", snap.pods.len(), snap.pods.state.missing_reason()),
        ("service accounts", snap.service_accounts.len(), snap.service_accounts.state.missing_reason()),
        ("secrets (metadata)", snap.secrets.len(), snap.secrets.state.missing_reason()),
        ("roles", snap.roles.len(), snap.roles.state.missing_reason()),
        ("cluster roles", snap.cluster_roles.len(), snap.cluster_roles.state.missing_reason()),
        ("role bindings", snap.role_bindings.len(), snap.role_bindings.state.missing_reason()),
        (
            "cluster role bindings",
            snap.cluster_role_bindings.len(),
            snap.cluster_role_bindings.state.missing_reason(),
        ),
        ("network policies", snap.network_policies.len(), snap.network_policies.state.missing_reason()),
        ("daemonsets", snap.daemonsets.len(), snap.daemonsets.state.missing_reason()),
        ("config files", snap.files.len(), None),
        (
            "probed endpoints",
            snap.probes.tls.len() + snap.probes.http.len(),
            match &snap.probes.state {
                crate::snapshot::EvidenceState::NotCollected => Some("not probed".into()),
                other => other.missing_reason(),
            },
        ),
    ];
    for (what, n, missing) in rows {
        let _ = writeln!(out, "  {what:<22} {n:>8}  {}", missing.unwrap_or_else(|| "complete".into()));
    }
    if let Some(cni) = &snap.cni {
        let _ = writeln!(out, "  network plugin: {} ({})", cni.plugins.join(", "), cni.evidence);
    }
    if !snap.gaps.is_empty() {
        let _ = writeln!(out, "not collected ({}):", snap.gaps.len());
        for gap in &snap.gaps {
            let _ = writeln!(out, "  {}: {}: {}", gap.what, gap.reason, gap.detail);
        }
    }
    out
}
