//! `palisade rbac`: "who can VERB RESOURCE" and "what can SUBJECT do" on a dump or snapshot.
//!
//! Requests and subjects are parsed and answered by [`crate::analysis::rbac`] (as for the API);
//! this module loads the evidence and renders the answer: a table for people or JSON
//! (`--output json`).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;

use crate::analysis::rbac::{
    describe_rule, describe_subject, parse_request, Identity, Permissions, Rbac, WhoCan, WhoCanIndex,
};
use crate::snapshot::Snapshot;

/// `palisade rbac …`
#[derive(Debug, clap::Args)]
pub struct RbacArgs {
    #[command(subcommand)]
    pub command: RbacCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum RbacCommand {
    /// Who may perform VERB on RESOURCE (members of system:masters always may).
    ///
    /// RESOURCE is `pods`, `deployments.apps`, `pods/exec` (a subresource), `*` (every resource
    /// of every group, i.e. "who is cluster-admin") or a non-resource URL such as `/metrics`.
    WhoCan(WhoCanArgs),
    /// What a subject may do: every binding that applies to it, with roles, scopes and rules.
    ///
    /// KIND is User, Group or ServiceAccount (NAME as NAMESPACE/NAME). Users are taken to be in
    /// system:authenticated; service accounts also in system:serviceaccounts[:NAMESPACE].
    Subject(SubjectArgs),
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    #[default]
    Table,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct WhoCanArgs {
    /// e.g. get, list, create, delete, impersonate, escalate, `*`.
    pub verb: String,
    /// e.g. secrets, deployments.apps, pods/exec, /metrics.
    pub resource: String,
    /// Namespace of the request; without it the request is cluster-wide (only
    /// ClusterRoleBindings answer it, as for `kubectl auth can-i -A`).
    #[arg(short = 'n', long)]
    pub namespace: Option<String>,
    /// The object's name (rules with resourceNames only grant named objects).
    #[arg(long)]
    pub name: Option<String>,
    /// A dump directory, a `.tar.gz` dump, or a snapshot `.json` file.
    #[arg(long)]
    pub from: PathBuf,
    #[arg(short, long, value_enum, default_value_t)]
    pub output: Output,
}

#[derive(Debug, clap::Args)]
pub struct SubjectArgs {
    /// User, Group or ServiceAccount.
    pub kind: String,
    /// The user or group name, or NAMESPACE/NAME for a service account.
    pub name: String,
    /// Extra groups the authenticator puts the user in (repeatable).
    #[arg(long = "group")]
    pub groups: Vec<String>,
    /// A dump directory, a `.tar.gz` dump, or a snapshot `.json` file.
    #[arg(long)]
    pub from: PathBuf,
    #[arg(short, long, value_enum, default_value_t)]
    pub output: Output,
}

/// Run `palisade rbac …`, printing to stdout.
pub fn run(args: &RbacArgs) -> anyhow::Result<ExitCode> {
    let text = match &args.command {
        RbacCommand::WhoCan(a) => who_can(a)?,
        RbacCommand::Subject(a) => subject(a)?,
    };
    print!("{text}");
    Ok(ExitCode::SUCCESS)
}

/// Load the evidence: a snapshot JSON file, or a dump read by the dump collector.
pub fn load(from: &Path) -> anyhow::Result<Snapshot> {
    if from.is_file() && from.extension().is_some_and(|e| e == "json") {
        let text =
            std::fs::read_to_string(from).with_context(|| format!("cannot read {}", from.display()))?;
        return Snapshot::from_json(&text)
            .with_context(|| format!("{} is not a Palisade snapshot", from.display()));
    }
    crate::collect::dump::collect(from).with_context(|| format!("cannot read the dump {}", from.display()))
}

/// The answer of `rbac who-can`, rendered.
pub fn who_can(args: &WhoCanArgs) -> anyhow::Result<String> {
    let request = parse_request(&args.verb, &args.resource, args.namespace.as_deref(), args.name.as_deref())?;
    let snapshot = load(&args.from)?;
    let rbac = Rbac::new(&snapshot);
    let answer = WhoCanIndex::build(&rbac).who_can(&request);
    Ok(match args.output {
        Output::Json => serde_json::to_string_pretty(&answer)? + "\n",
        Output::Table => render_who_can(&answer),
    })
}

/// The answer of `rbac subject`, rendered.
pub fn subject(args: &SubjectArgs) -> anyhow::Result<String> {
    let mut identity = Identity::from_subject(&args.kind, &args.name).map_err(anyhow::Error::msg)?;
    identity.groups.extend(args.groups.iter().cloned());
    let snapshot = load(&args.from)?;
    let permissions = Rbac::new(&snapshot).permissions_of(&identity);
    Ok(match args.output {
        Output::Json => serde_json::to_string_pretty(&permissions)? + "\n",
        Output::Table => render_permissions(&permissions),
    })
}

fn table(rows: &[Vec<String>]) -> String {
    let cols = rows.first().map(Vec::len).unwrap_or(0);
    let widths: Vec<usize> =
        (0..cols).map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0)).collect();
    let mut out = String::new();
    for row in rows {
        let line: Vec<String> = row.iter().zip(&widths).map(|(cell, w)| format!("{cell:<w$}")).collect();
        let _ = writeln!(out, "{}", line.join("  ").trim_end());
    }
    out
}

/// Render a who-can answer as a table.
pub fn render_who_can(answer: &WhoCan) -> String {
    let mut out = format!("Who can {} (members of system:masters always can):\n", answer.request);
    let rows = |entries: &[crate::analysis::rbac::WhoCanEntry]| {
        let mut rows =
            vec![vec!["SUBJECT".into(), "BINDING".into(), "ROLE".into(), "SCOPE".into(), "NOTE".into()]];
        for e in entries {
            rows.push(vec![
                describe_subject(&e.subject),
                e.binding.to_string(),
                e.role.to_string(),
                e.scope.to_string(),
                e.system_default.clone().map(|d| format!("system default: {d}")).unwrap_or_default(),
            ]);
        }
        table(&rows)
    };
    if answer.allowed.is_empty() {
        out.push_str("  nobody through RBAC\n");
    } else {
        out.push_str(&rows(&answer.allowed));
    }
    if !answer.only_named.is_empty() {
        out.push_str("\nOnly for the named objects of their rule's resourceNames:\n");
        out.push_str(&rows(&answer.only_named));
    }
    for gap in &answer.gaps {
        let _ = writeln!(out, "\nwarning: the answer may be incomplete: {gap}");
    }
    out
}

/// Render a subject's permissions.
pub fn render_permissions(p: &Permissions) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Identity: user {} in groups [{}]",
        p.identity.user.as_deref().unwrap_or("(group only)"),
        p.identity.groups.join(", ")
    );
    if p.superuser {
        out.push_str("Member of system:masters: every request is allowed, whatever RBAC says.\n");
    }
    if p.grants.is_empty() {
        out.push_str("No binding applies to this identity.\n");
    }
    for g in &p.grants {
        let _ = write!(
            out,
            "\n{} → {} {} (via {})",
            g.binding,
            g.role,
            g.scope,
            describe_subject(&g.via_subject)
        );
        if let Some(d) = &g.system_default {
            let _ = write!(out, " [system default: {d}]");
        }
        out.push('\n');
        if g.missing_role {
            out.push_str("  the role does not exist: this binding grants nothing until it is created\n");
        }
        for r in &g.rules {
            let _ = writeln!(
                out,
                "  {}{}",
                describe_rule(&r.rule),
                if r.from != g.role.name { format!("  (aggregated from {})", r.from) } else { String::new() }
            );
        }
    }
    for gap in &p.gaps {
        let _ = writeln!(out, "\nwarning: the answer may be incomplete: {gap}");
    }
    out
}
