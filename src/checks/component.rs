//! Scaffolding shared by the control-plane checks: one result per component instance,
//! `not_applicable` on managed control planes, `unknown` with the reason when the component
//! evidence is missing, and the compiled-in defaults of the flags the checks read.

use crate::domain::Status;
use crate::snapshot::{Component, ComponentKind, ControlPlane, FlagValue, Snapshot};

use super::eval::{self, evaluate, Found, Outcome, Rule};
use super::{CheckMeta, CheckResult, ResourceRef};

/// The resource a component result is about: its static pod (kind = component name).
pub fn component_resource(c: &Component) -> ResourceRef {
    ResourceRef {
        kind: c.kind.as_str().to_string(),
        namespace: c.namespace.clone(),
        name: c.name.clone(),
        node: c.node.clone(),
    }
}

fn cluster_resource(snap: &Snapshot, kind: ComponentKind) -> ResourceRef {
    ResourceRef {
        kind: kind.as_str().to_string(),
        namespace: None,
        name: snap.cluster.name.clone(),
        node: None,
    }
}

/// Judge every instance of `kind` with `judge`, which returns the status and evidence sentence.
///
/// - managed control plane ⇒ one `not_applicable` result naming the provider;
/// - no instance and the component evidence incomplete ⇒ one `unknown` result with the reason;
/// - no instance although the evidence is complete ⇒ `unknown` too: a self-managed cluster without
///   the component means the collector could not see it, and a check must not pass on nothing.
pub fn for_each_component(
    meta: &CheckMeta,
    snap: &Snapshot,
    kind: ComponentKind,
    judge: &dyn Fn(&Component) -> (Status, String),
) -> Vec<CheckResult> {
    if let ControlPlane::Managed { provider, evidence } = &snap.cluster.control_plane {
        if kind.is_control_plane() {
            return vec![meta.result(
                Status::NotApplicable,
                cluster_resource(snap, kind),
                format!(
                    "the control plane is managed by {provider} ({evidence}); {kind} is operated by the \
                     provider and its flags are not visible"
                ),
                None,
            )];
        }
    }
    let instances: Vec<&Component> = snap.components_of(kind).collect();
    if instances.is_empty() {
        let reason = match snap.components.state.missing_reason() {
            Some(r) => format!("no {kind} evidence: {r}"),
            None => format!(
                "no {kind} instance was found in the collected evidence (control plane: {}); its flags \
                 cannot be judged",
                match snap.cluster.control_plane {
                    ControlPlane::SelfManaged => "self-managed",
                    ControlPlane::Managed { .. } => "managed",
                    ControlPlane::Unknown => "not determined",
                }
            ),
        };
        return vec![meta.result(Status::Unknown, cluster_resource(snap, kind), reason, None)];
    }
    instances
        .into_iter()
        .map(|c| {
            let (status, evidence) = judge(c);
            meta.result(status, component_resource(c), evidence, Some(c.origin.source))
        })
        .collect()
}

/// Look a setting up on a component: the flag, then (etcd only) its `ETCD_*` environment variable.
pub fn lookup(c: &Component, flag: &str) -> Option<Found> {
    if let FlagValue::Set { value, shown } = c.flag_value(flag) {
        return Some(Found { value, shown });
    }
    if c.kind == ComponentKind::Etcd {
        let env = format!("ETCD_{}", flag.to_ascii_uppercase().replace('-', "_"));
        if let Some(v) = c.env.get(&env) {
            return Some(Found { value: v.clone(), shown: format!("{env}={v} in its environment") });
        }
    }
    None
}

/// Why one of `flags` cannot be read on `c` as the component reads it, when one cannot: the
/// check that depends on it is `unknown`, never judged on a guess.
pub fn unreadable<'a>(c: &Component, flags: impl IntoIterator<Item = &'a str>) -> Option<String> {
    flags.into_iter().find_map(|f| match c.flag_value(f) {
        FlagValue::Unknown(why) => Some(format!("{}: {why}", c.describe())),
        _ => None,
    })
}

/// The version phrase used in default explanations, e.g. "v1.31".
pub fn version_phrase(snap: &Snapshot) -> String {
    match &snap.cluster.version {
        Some(v) => format!("v{}.{}", v.major, v.minor),
        None => "every supported version (cluster version unknown)".into(),
    }
}

/// Compiled-in defaults of the flags the control-plane checks read (unchanged v1.24–v1.34).
pub fn flag_default(kind: ComponentKind, flag: &str, snap: &Snapshot) -> Option<eval::Default> {
    use ComponentKind::*;
    let value = match (kind, flag) {
        (KubeApiserver, "anonymous-auth") => "true",
        (KubeApiserver, "profiling") => "true",
        (KubeApiserver, "service-account-lookup") => "true",
        (KubeApiserver, "service-account-extend-token-expiration") => "true",
        (KubeApiserver, "authorization-mode") => "AlwaysAllow",
        (KubeApiserver, "audit-log-maxage") => "0",
        (KubeApiserver, "audit-log-maxbackup") => "0",
        (KubeApiserver, "audit-log-maxsize") => "0",
        (KubeControllerManager, "profiling") => "true",
        (KubeControllerManager, "use-service-account-credentials") => "false",
        (KubeControllerManager, "bind-address") => "0.0.0.0",
        (KubeScheduler, "profiling") => "true",
        (KubeScheduler, "bind-address") => "0.0.0.0",
        (Etcd, "client-cert-auth") => "false",
        (Etcd, "auto-tls") => "false",
        (Etcd, "peer-client-cert-auth") => "false",
        (Etcd, "peer-auto-tls") => "false",
        _ => return None,
    };
    let why = if kind == Etcd {
        "etcd v3.5 default (the etcd kubeadm ships for this Kubernetes version)".to_string()
    } else {
        format!("{kind} default in {}", version_phrase(snap))
    };
    Some(eval::Default { value: value.to_string(), why })
}

/// Judge a CIS flag rule on every instance of `kind`. `on_fail` is `fail` for CIS "Automated"
/// controls and `warn` for "Manual" ones (kube-bench scores the latter as WARN).
pub fn component_rule(
    meta: &CheckMeta,
    snap: &Snapshot,
    kind: ComponentKind,
    rule: &Rule,
    on_fail: Status,
) -> Vec<CheckResult> {
    for_each_component(meta, snap, kind, &|c| judge_rule(c, snap, rule, on_fail))
}

/// The status and evidence sentence for one component and one rule.
pub fn judge_rule(c: &Component, snap: &Snapshot, rule: &Rule, on_fail: Status) -> (Status, String) {
    if let Some(why) = unreadable(c, rule.tests.iter().map(|t| t.flag)) {
        return (Status::Unknown, why);
    }
    let e = evaluate(rule, &|f| lookup(c, f), &|f| flag_default(c.kind, f, snap));
    let expected = eval::expectation(rule);
    let observed = observed_sentence(c, &e.observed);
    match e.outcome {
        Outcome::Pass => (Status::Pass, observed),
        Outcome::Fail => (on_fail, format!("{observed}; expected {expected}")),
        Outcome::Caveat => (
            Status::Warn,
            format!(
                "{observed}; CIS 1.12 accepts leaving it unset, but the default does not meet {}",
                eval::value_expectation(rule)
            ),
        ),
    }
}

/// "kube-apiserver on cp-1 runs with --a=1 and without --b".
pub fn observed_sentence(c: &Component, observed: &[String]) -> String {
    let parts: Vec<String> = observed
        .iter()
        .map(|o| if o.starts_with("without ") { o.clone() } else { format!("with {o}") })
        .collect();
    // "with a", "with b", "without c" → "with a, b and without c".
    let mut text = String::new();
    let mut last_kind = "";
    for (i, p) in parts.iter().enumerate() {
        let (kind, rest) =
            if let Some(r) = p.strip_prefix("without ") { ("without", r) } else { ("with", &p[5..]) };
        if i > 0 {
            text.push_str(if i + 1 == parts.len() { " and " } else { ", " });
        }
        if kind != last_kind {
            text.push_str(kind);
            text.push(' ');
            last_kind = kind;
        }
        text.push_str(rest);
    }
    format!("{} runs {}", c.describe(), text)
}

/// Defines a static table of CIS flag checks on one component kind.
///
/// `flag_checks!(KIND; { meta: CheckMeta {..}, rule: Rule {..}, on_fail: Status::Fail }, ...)`
macro_rules! flag_checks {
    ($kind:expr; $({ meta: $meta:expr, rule: $rule:expr, on_fail: $on_fail:expr $(,)? }),+ $(,)?) => {
        &[$(
            $crate::checks::Check {
                meta: $meta,
                run: |m, s, _o| $crate::checks::component::component_rule(m, s, $kind, &$rule, $on_fail),
            }
        ),+]
    };
}
pub(crate) use flag_checks;

/// A CIS test block written like the benchmark: `rule!(any ["bind-address" => Op::Eq("127.0.0.1"),
/// "bind-address" => Op::NotSet])`.
macro_rules! rule {
    (all [$($flag:literal => $op:expr),+ $(,)?]) => {
        $crate::checks::eval::Rule {
            combine: $crate::checks::eval::Combine::All,
            tests: &[$($crate::checks::eval::Test { flag: $flag, op: $op }),+],
        }
    };
    (any [$($flag:literal => $op:expr),+ $(,)?]) => {
        $crate::checks::eval::Rule {
            combine: $crate::checks::eval::Combine::Any,
            tests: &[$($crate::checks::eval::Test { flag: $flag, op: $op }),+],
        }
    };
}
pub(crate) use rule;
