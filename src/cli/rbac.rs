//! `palisade rbac`: "who can VERB RESOURCE" and "what can SUBJECT do" on a dump or snapshot.
//!
//! Parsing (resource names, API groups, subject kinds) happens here at the edge; the answers come
//! from [`crate::analysis::rbac`]. Output is a table for people or JSON (`--output json`).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};

use crate::analysis::rbac::{
    describe_rule, describe_subject, Identity, Permissions, Rbac, Request, WhoCan, WhoCanIndex,
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

/// Built-in resources and their API group, so `deployments` needs no `.apps`.
const BUILTIN_GROUPS: &[(&str, &[&str])] = &[
    (
        "",
        &[
            "pods",
            "services",
            "endpoints",
            "configmaps",
            "secrets",
            "serviceaccounts",
            "namespaces",
            "nodes",
            "persistentvolumes",
            "persistentvolumeclaims",
            "replicationcontrollers",
            "events",
            "limitranges",
            "resourcequotas",
            "podtemplates",
            "bindings",
            "componentstatuses",
            "users",
            "groups",
        ],
    ),
    ("apps", &["deployments", "replicasets", "daemonsets", "statefulsets", "controllerrevisions"]),
    ("batch", &["jobs", "cronjobs"]),
    ("rbac.authorization.k8s.io", &["roles", "clusterroles", "rolebindings", "clusterrolebindings"]),
    ("networking.k8s.io", &["networkpolicies", "ingresses", "ingressclasses"]),
    ("policy", &["poddisruptionbudgets"]),
    ("certificates.k8s.io", &["certificatesigningrequests", "signers"]),
    (
        "admissionregistration.k8s.io",
        &[
            "mutatingwebhookconfigurations",
            "validatingwebhookconfigurations",
            "validatingadmissionpolicies",
            "validatingadmissionpolicybindings",
        ],
    ),
    ("storage.k8s.io", &["storageclasses", "csidrivers", "csinodes", "volumeattachments"]),
    ("coordination.k8s.io", &["leases"]),
    ("authentication.k8s.io", &["tokenreviews", "uids", "userextras"]),
    (
        "authorization.k8s.io",
        &[
            "subjectaccessreviews",
            "selfsubjectaccessreviews",
            "localsubjectaccessreviews",
            "selfsubjectrulesreviews",
        ],
    ),
    ("apiextensions.k8s.io", &["customresourcedefinitions"]),
    ("scheduling.k8s.io", &["priorityclasses"]),
    ("autoscaling", &["horizontalpodautoscalers"]),
    ("discovery.k8s.io", &["endpointslices"]),
    ("node.k8s.io", &["runtimeclasses"]),
];

/// Parse `VERB RESOURCE` as the CLI and the API accept it.
pub fn parse_request(
    verb: &str,
    resource: &str,
    namespace: Option<&str>,
    name: Option<&str>,
) -> anyhow::Result<Request> {
    let verb = verb.trim();
    if verb.is_empty() || verb.contains(char::is_whitespace) {
        bail!("the verb must be one word such as get, list, create or `*`, got `{verb}`");
    }
    let resource = resource.trim();
    if resource.starts_with('/') {
        if namespace.is_some() || name.is_some() {
            bail!("a non-resource URL such as `{resource}` has no namespace or name");
        }
        return Ok(Request::non_resource(verb, resource));
    }
    if resource.is_empty() || resource.contains(char::is_whitespace) {
        bail!("the resource must look like pods, deployments.apps or pods/exec, got `{resource}`");
    }
    if let Some(ns) = namespace {
        if ns.is_empty() {
            bail!("the namespace must not be empty (leave out -n for a cluster-wide request)");
        }
    }
    let (type_part, sub) = match resource.split_once('/') {
        Some((t, s)) if !s.is_empty() && !s.contains('/') => (t, Some(s)),
        Some(_) => bail!("`{resource}` is not RESOURCE or RESOURCE/SUBRESOURCE"),
        None => (resource, None),
    };
    let (plural, group) = if type_part == "*" {
        ("*", "*".to_string())
    } else {
        match type_part.split_once('.') {
            Some((plural, group)) => (plural, group.to_string()),
            None => {
                let group = BUILTIN_GROUPS
                    .iter()
                    .find(|(_, list)| list.contains(&type_part))
                    .map(|(g, _)| g.to_string())
                    .ok_or_else(|| {
                        anyhow::anyhow!(
                            "`{type_part}` is not a built-in resource; name its API group as RESOURCE.GROUP \
                             (e.g. widgets.example.com)"
                        )
                    })?;
                (type_part, group)
            }
        }
    };
    let combined = match sub {
        Some(s) => format!("{plural}/{s}"),
        None => plural.to_string(),
    };
    let mut request = Request::resource(verb, &group, &combined, namespace);
    if let Some(n) = name {
        request = request.named(n);
    }
    Ok(request)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::rbac::Target;

    #[test]
    fn resources_are_parsed_with_their_group_and_subresource() {
        let r = parse_request("create", "pods/exec", Some("a"), None).unwrap();
        assert_eq!(
            r.target,
            Target::Resource {
                api_group: "".into(),
                resource: "pods".into(),
                subresource: Some("exec".into()),
                name: None,
                namespace: Some("a".into()),
            }
        );
        let r = parse_request("get", "deployments", None, Some("web")).unwrap();
        assert!(
            matches!(r.target, Target::Resource { ref api_group, ref name, .. } if api_group == "apps" && name.as_deref() == Some("web"))
        );
        let r = parse_request("get", "widgets.example.com", None, None).unwrap();
        assert!(matches!(r.target, Target::Resource { ref api_group, .. } if api_group == "example.com"));
        assert!(matches!(
            parse_request("get", "/metrics", None, None).unwrap().target,
            Target::NonResource { .. }
        ));
    }

    #[test]
    fn bad_requests_get_a_clear_error() {
        let err = parse_request("get", "widgets", None, None).unwrap_err().to_string();
        assert!(err.contains("RESOURCE.GROUP"), "{err}");
        assert!(parse_request("get", "pods/a/b", None, None).is_err());
        assert!(parse_request("get it", "pods", None, None).is_err());
        assert!(parse_request("get", "/healthz", Some("ns"), None).is_err());
        assert!(parse_request("get", "pods", Some(""), None).is_err());
        assert!(Identity::from_subject("ServiceAccount", "no-namespace").is_err());
        assert!(Identity::from_subject("Robot", "r2").is_err());
    }
}
