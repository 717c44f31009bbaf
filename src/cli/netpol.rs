//! `palisade netpol`: the network-policy analysis from the command line, offline.
//!
//! `palisade netpol matrix --from DIR` prints which namespaces can reach which on which ports;
//! `palisade netpol namespace NS --from DIR` prints which policies select which pods there and
//! their isolation. Both read a dump (`--from`, as `palisade scan --from`) or a snapshot JSON file
//! (`--snapshot`, as written by `palisade scan --snapshot-out`).

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};

use crate::analysis::netpol::{self, NamespaceReport, ReachabilityReport};
use crate::checks::network::enforcement;
use crate::snapshot::Snapshot;

/// Arguments of `palisade netpol`.
#[derive(Debug, Clone, clap::Args)]
pub struct NetpolArgs {
    #[command(subcommand)]
    pub command: NetpolCommand,
}

#[derive(Debug, Clone, clap::Subcommand)]
pub enum NetpolCommand {
    /// The namespace × namespace reachability matrix with ports.
    Matrix {
        #[command(flatten)]
        input: Input,
        /// Keep system namespaces (kube-system, …) in the matrix.
        #[arg(long)]
        system: bool,
    },
    /// Which policies select which pods in one namespace, and their isolation.
    Namespace {
        /// The namespace.
        name: String,
        #[command(flatten)]
        input: Input,
    },
}

/// Where the cluster's evidence comes from, and how to print.
#[derive(Debug, Clone, clap::Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["from", "snapshot"])))]
pub struct Input {
    /// A dump: a directory or .tar.gz of `kubectl get -o yaml` output.
    #[arg(long, value_name = "DIR|FILE.tar.gz")]
    pub from: Option<PathBuf>,
    /// A snapshot JSON file written by `palisade scan --snapshot-out`.
    #[arg(long, value_name = "FILE")]
    pub snapshot: Option<PathBuf>,
    /// Output format.
    #[arg(long, default_value = "table", value_parser = ["table", "json"])]
    pub format: String,
}

impl Input {
    fn load(&self) -> anyhow::Result<Snapshot> {
        match (&self.from, &self.snapshot) {
            (Some(dir), None) => crate::collect::dump::collect(dir)
                .with_context(|| format!("cannot read the dump at {}", dir.display())),
            (None, Some(file)) => {
                let text = std::fs::read_to_string(file)
                    .with_context(|| format!("cannot read {}", file.display()))?;
                Snapshot::from_json(&text)
                    .with_context(|| format!("{} is not a Palisade snapshot", file.display()))
            }
            _ => bail!("pass exactly one of --from DIR or --snapshot FILE"),
        }
    }
}

/// Run the subcommand and print its output.
pub fn run(args: &NetpolArgs) -> anyhow::Result<ExitCode> {
    print!("{}", execute(args)?);
    Ok(ExitCode::SUCCESS)
}

/// Run the subcommand and return what it prints.
pub fn execute(args: &NetpolArgs) -> anyhow::Result<String> {
    match &args.command {
        NetpolCommand::Matrix { input, system } => {
            let snap = input.load()?;
            let analysis = netpol::analyze_snapshot(&snap)
                .map_err(|e| anyhow::anyhow!("cannot analyze network policies: {e}"))?;
            let report = analysis.reachability_report(enforcement(&snap), *system);
            if input.format == "json" {
                Ok(serde_json::to_string_pretty(&report)? + "\n")
            } else {
                Ok(matrix_table(&report))
            }
        }
        NetpolCommand::Namespace { name, input } => {
            let snap = input.load()?;
            let analysis = netpol::analyze_snapshot(&snap)
                .map_err(|e| anyhow::anyhow!("cannot analyze network policies: {e}"))?;
            let Some(report) = analysis.namespace_report(name, enforcement(&snap)) else {
                bail!(
                    "namespace {name} is not in the snapshot (neither listed nor holding pods or policies)"
                );
            };
            if input.format == "json" {
                Ok(serde_json::to_string_pretty(&report)? + "\n")
            } else {
                Ok(namespace_table(&report))
            }
        }
    }
}

/// Beyond this many namespaces the grid is unreadable; the cells are listed instead.
const GRID_LIMIT: usize = 12;

/// The matrix as text: a summary per namespace, then a grid (small clusters) or the list of
/// open cells.
pub fn matrix_table(report: &ReachabilityReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", report.enforcement.describe());
    if let Some(note) = &report.note {
        let _ = writeln!(out, "NOTE: {note}");
    }
    let _ = writeln!(out);
    let width = report.namespaces.iter().map(|n| n.name.len()).max().unwrap_or(9).max(9);
    let _ = writeln!(
        out,
        "{:width$}  {:>5}  {:>8}  {:>12}  {:>11}  default-deny",
        "NAMESPACE", "PODS", "POLICIES", "IN-ISOLATED", "EG-ISOLATED"
    );
    for ns in &report.namespaces {
        let deny = match (&ns.default_deny_ingress, &ns.default_deny_egress) {
            (Some(_), Some(_)) => "ingress+egress",
            (Some(_), None) => "ingress",
            (None, Some(_)) => "egress",
            (None, None) => "none",
        };
        let _ = writeln!(
            out,
            "{:width$}  {:>5}  {:>8}  {:>12}  {:>11}  {deny}{}",
            ns.name,
            ns.pods,
            ns.policies,
            ns.ingress_isolated_pods,
            ns.egress_isolated_pods,
            if ns.system { "  (system)" } else { "" }
        );
    }
    let _ = writeln!(out);
    if report.namespaces.len() <= GRID_LIMIT {
        let _ = writeln!(out, "reachability (row = from, column = to; - = nothing allowed):");
        let cell = |from: &str, to: &str| {
            report
                .cells
                .iter()
                .find(|c| c.from == from && c.to == to)
                .map(|c| c.ports.clone())
                .unwrap_or_else(|| "-".into())
        };
        let col = report
            .namespaces
            .iter()
            .flat_map(|a| report.namespaces.iter().map(move |b| (a, b)))
            .map(|(a, b)| cell(&a.name, &b.name).len())
            .chain(report.namespaces.iter().map(|n| n.name.len()))
            .max()
            .unwrap_or(1);
        let _ = write!(out, "{:width$}", "");
        for b in &report.namespaces {
            let _ = write!(out, "  {:col$}", b.name);
        }
        let _ = writeln!(out);
        for a in &report.namespaces {
            let _ = write!(out, "{:width$}", a.name);
            for b in &report.namespaces {
                let _ = write!(out, "  {:col$}", cell(&a.name, &b.name));
            }
            let _ = writeln!(out);
        }
    } else {
        let _ = writeln!(
            out,
            "allowed connections ({} of {} namespace pairs):",
            report.cells.len(),
            report.namespaces.len().pow(2)
        );
        for c in &report.cells {
            let _ = writeln!(out, "{:width$} -> {:width$}  {}", c.from, c.to, c.ports);
        }
    }
    let _ = writeln!(out);
    for a in &report.assumptions {
        let _ = writeln!(out, "assumption: {a}");
    }
    out
}

/// One namespace as text.
pub fn namespace_table(report: &NamespaceReport) -> String {
    let mut out = String::new();
    let s = &report.summary;
    let _ = writeln!(out, "namespace {}{}", s.name, if s.system { " (system)" } else { "" });
    let _ = writeln!(out, "{}", report.enforcement.describe());
    let _ = writeln!(
        out,
        "{} pods ({} on the host network, not covered by NetworkPolicy), {} policies",
        s.pods, s.host_network_pods, s.policies
    );
    let _ = writeln!(
        out,
        "default-deny ingress: {}; default-deny egress: {}",
        s.default_deny_ingress.as_deref().unwrap_or("none"),
        s.default_deny_egress.as_deref().unwrap_or("none")
    );
    let _ = writeln!(out, "\npolicies:");
    for p in &report.policies {
        let _ = writeln!(
            out,
            "  {} [{}] selects {} pod(s){}",
            p.name,
            p.policy_types.join(","),
            p.selected_pods,
            if p.selects_nothing { "  <- selects nothing" } else { "" }
        );
        for g in &p.selected_groups {
            let _ = writeln!(out, "    - {g}");
        }
    }
    let _ = writeln!(out, "\npod groups:");
    for g in &report.groups {
        let dir = |isolated: bool, policies: &[String]| {
            if isolated {
                format!("isolated by {}", policies.join(", "))
            } else {
                "open".to_string()
            }
        };
        let _ = writeln!(out, "  {}", g.description);
        let _ = writeln!(out, "    ingress: {}", dir(g.ingress_isolated, &g.ingress_policies));
        let _ = writeln!(out, "    egress:  {}", dir(g.egress_isolated, &g.egress_policies));
        let _ = writeln!(out, "    reachable from {} namespace(s)", g.reachable_from_namespaces);
        for (label, list) in [("from outside", &g.external_ingress), ("to outside", &g.external_egress)] {
            if let Some(list) = list {
                for e in list {
                    let _ = writeln!(out, "    {label}: {} on {}", e.peers, e.ports);
                }
            }
        }
    }
    let _ = writeln!(out, "\nreachable from:");
    for c in &report.reachable_from {
        let _ = writeln!(out, "  {} on {}", c.from, c.ports);
    }
    let _ = writeln!(out, "\nreaches:");
    for c in &report.reaches {
        let _ = writeln!(out, "  {} on {}", c.to, c.ports);
    }
    out
}
