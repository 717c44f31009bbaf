//! Kubelet checks (CIS 4.2.x plus protect-kernel-defaults and TLS minimum version), one result per
//! node.
//!
//! A setting is read the way kube-bench and the kubelet itself do: the command-line flag first
//! (it overrides the config file), then the `KubeletConfiguration` key. When neither is present the
//! kubelet's own default applies, and that default depends on how the kubelet was started:
//! - with a config file (`--config`, which kubeadm always uses, or as served by `/configz`): the
//!   `kubelet.config.k8s.io/v1beta1` defaults, e.g. `authentication.anonymous.enabled: false`,
//!   `authorization.mode: Webhook`, `readOnlyPort: 0` — unchanged from v1.10 through v1.34;
//! - from command-line flags only: the flag defaults, e.g. `--anonymous-auth=true`,
//!   `--authorization-mode=AlwaysAllow`, `--read-only-port=10255`.
//!
//! The evidence text names the default assumed and the kubelet version it was assumed for.
//! A zero duration in a config *file* means "unset" (the v1beta1 defaulting replaces it), so
//! kubeadm's `streamingConnectionIdleTimeout: 0s` is read as the 4h default; `/configz` output is
//! already defaulted, so a zero there is a real zero. A file is taken as written (not defaulted)
//! only when it proves it: another always-defaulted duration such as `syncFrequency` is zero too.

use crate::domain::{Area, Severity, Status};
use crate::snapshot::{ConfigForm, FlagValue, Kubelet, Program, SettingSource, Snapshot};

use super::component::rule;
use super::eval::{self, evaluate, Found, Op, Outcome, Rule};
use super::{Check, CheckMeta, CheckOptions, CheckResult, Context, ResourceRef};

const SRC: &str = "kubelet command line and KubeletConfiguration (config file or /configz)";

/// CIS 4.2.12's strong cipher suites for the kubelet.
pub const KUBELET_STRONG_CIPHERS: &[&str] = &[
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
];

/// Flag name → KubeletConfiguration path, with (config-file default, flags-only default).
struct Key {
    flag: &'static str,
    path: &'static str,
    config_default: Option<&'static str>,
    flag_default: Option<&'static str>,
}

const KEYS: &[Key] = &[
    Key {
        flag: "anonymous-auth",
        path: "authentication.anonymous.enabled",
        config_default: Some("false"),
        flag_default: Some("true"),
    },
    Key {
        flag: "authorization-mode",
        path: "authorization.mode",
        config_default: Some("Webhook"),
        flag_default: Some("AlwaysAllow"),
    },
    Key {
        flag: "client-ca-file",
        path: "authentication.x509.clientCAFile",
        config_default: None,
        flag_default: None,
    },
    Key {
        flag: "read-only-port",
        path: "readOnlyPort",
        config_default: Some("0"),
        flag_default: Some("10255"),
    },
    Key {
        flag: "streaming-connection-idle-timeout",
        path: "streamingConnectionIdleTimeout",
        config_default: Some("4h0m0s"),
        flag_default: Some("4h0m0s"),
    },
    Key {
        flag: "make-iptables-util-chains",
        path: "makeIPTablesUtilChains",
        config_default: Some("true"),
        flag_default: Some("true"),
    },
    Key {
        flag: "protect-kernel-defaults",
        path: "protectKernelDefaults",
        config_default: Some("false"),
        flag_default: Some("false"),
    },
    Key {
        flag: "rotate-certificates",
        path: "rotateCertificates",
        config_default: Some("false"),
        flag_default: Some("false"),
    },
    // A feature gate: read from --feature-gates or featureGates; on by default since v1.12.
    Key {
        flag: "RotateKubeletServerCertificate",
        path: "featureGates.RotateKubeletServerCertificate",
        config_default: Some("true"),
        flag_default: Some("true"),
    },
    Key { flag: "tls-cipher-suites", path: "tlsCipherSuites", config_default: None, flag_default: None },
    Key { flag: "tls-min-version", path: "tlsMinVersion", config_default: None, flag_default: None },
    Key { flag: "tls-cert-file", path: "tlsCertFile", config_default: None, flag_default: None },
    Key { flag: "tls-private-key-file", path: "tlsPrivateKeyFile", config_default: None, flag_default: None },
    // Command line only: KubeletConfiguration has no such key.
    Key { flag: "hostname-override", path: "", config_default: None, flag_default: None },
    Key { flag: "event-qps", path: "eventRecordQPS", config_default: Some("50"), flag_default: Some("50") },
    Key { flag: "pod-max-pids", path: "podPidsLimit", config_default: Some("-1"), flag_default: Some("-1") },
    Key {
        flag: "seccomp-default",
        path: "seccompDefault",
        config_default: Some("false"),
        flag_default: Some("false"),
    },
];

fn key(flag: &str) -> &'static Key {
    KEYS.iter().find(|k| k.flag == flag).expect("every kubelet rule names a known key")
}

/// How the kubelet's settings can be read.
enum Mode {
    /// A KubeletConfiguration is known (file or /configz); flags (if any) override it.
    Config,
    /// The kubelet runs from flags only (no `--config`).
    FlagsOnly,
    /// Nothing beyond (maybe) some flags: settings not on the command line are unknown.
    Missing(String),
}

fn mode(k: &Kubelet) -> Mode {
    if k.config.is_some() {
        return Mode::Config;
    }
    match &k.flags {
        Some(f) if !f.contains("config") => Mode::FlagsOnly,
        Some(f) => Mode::Missing(format!(
            "its config file {} was not collected ({})",
            f.get("config").unwrap_or("?"),
            k.config_state.missing_reason().unwrap_or_else(|| "not in the evidence".into())
        )),
        None => Mode::Missing(
            k.config_state
                .missing_reason()
                .unwrap_or_else(|| "no kubelet configuration was collected".into()),
        ),
    }
}

/// `kubelet on worker-1 (v1.31.4)`.
pub fn describe(k: &Kubelet) -> String {
    match &k.version {
        Some(v) => format!("kubelet on {} ({v})", k.node),
        None => format!("kubelet on {}", k.node),
    }
}

fn version_text(k: &Kubelet, snap: &Snapshot) -> String {
    k.version
        .clone()
        .or_else(|| snap.cluster.version.as_ref().map(|v| v.git_version.clone()))
        .unwrap_or_else(|| "an unknown version (defaults unchanged v1.10–v1.34)".into())
}

fn feature_gate(list: &str, gate: &str) -> Option<String> {
    list.split(',')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| k.trim() == gate)
        .map(|(_, v)| v.trim().into())
}

/// Find a setting on a kubelet: command line first, then config.
fn lookup(k: &Kubelet, flag: &str) -> Option<Found> {
    let key = key(flag);
    if flag.starts_with(|c: char| c.is_ascii_uppercase()) {
        // Feature gate.
        if let Some(v) = k
            .flags
            .as_ref()
            .and_then(|f| f.known(Program::Kubelet, "feature-gates"))
            .and_then(|l| feature_gate(&l, flag))
        {
            return Some(Found {
                shown: format!("--feature-gates={flag}={v} on its command line"),
                value: v,
            });
        }
    } else if let Some((v, SettingSource::CommandLine)) = k.setting(flag, key.path) {
        return Some(Found { shown: format!("--{flag}={v} on its command line"), value: v });
    }
    if key.path.is_empty() {
        return None;
    }
    let v = k.config_value(key.path)?;
    if key.path == "streamingConnectionIdleTimeout"
        && eval::duration_is_zero(&v) == Some(true)
        && is_raw_file(k)
    {
        // v1beta1 defaulting treats a zero duration in the file as unset.
        return Some(Found {
            shown: format!(
                "{}: {v} in its config file (a zero duration in the file is unset; the kubelet defaults it \
                 to 4h0m0s)",
                key.path
            ),
            value: "4h0m0s".into(),
        });
    }
    Some(Found { shown: format!("{}: {v} in its config", key.path), value: v })
}

/// Durations the v1beta1 defaulting always makes non-zero: one of them at zero proves the config is
/// a file as written (kubeadm writes `0s` for every duration it leaves to the defaults), not the
/// effective configuration `/configz` serves.
const DEFAULTED_DURATIONS: &[&str] = &[
    "syncFrequency",
    "fileCheckFrequency",
    "httpCheckFrequency",
    "nodeStatusUpdateFrequency",
    "runtimeRequestTimeout",
];

fn is_raw_file(k: &Kubelet) -> bool {
    k.config_form == ConfigForm::File
        && DEFAULTED_DURATIONS
            .iter()
            .any(|p| k.config_value(p).is_some_and(|v| eval::duration_is_zero(&v) == Some(true)))
}

fn default_for(k: &Kubelet, snap: &Snapshot, flag: &str) -> Option<eval::Default> {
    let key = key(flag);
    let version = version_text(k, snap);
    match mode(k) {
        Mode::Config => key.config_default.map(|v| eval::Default {
            value: v.into(),
            why: format!("the KubeletConfiguration v1beta1 default for {} in {version}", key.path),
        }),
        Mode::FlagsOnly => key.flag_default.map(|v| eval::Default {
            value: v.into(),
            why: format!("the kubelet's command-line default without a config file in {version}"),
        }),
        Mode::Missing(_) => None,
    }
}

fn node_resource(node: &str) -> ResourceRef {
    ResourceRef {
        kind: "kubelet".into(),
        namespace: None,
        name: node.to_string(),
        node: Some(node.to_string()),
    }
}

/// One result per node: kubelets judged by `judge`, nodes without kubelet evidence `unknown`.
pub fn for_each_kubelet(
    meta: &CheckMeta,
    snap: &Snapshot,
    judge: &dyn Fn(&Kubelet) -> (Status, String),
) -> Vec<CheckResult> {
    let mut out: Vec<CheckResult> = Vec::new();
    for k in snap.kubelets.iter() {
        let (status, text) = judge(k);
        out.push(meta.result(status, node_resource(&k.node), text, Some(k.origin.source)));
    }
    // Nodes whose kubelet was never reported: unknown, never silently skipped.
    let reported: std::collections::HashSet<&str> = snap.kubelets.iter().map(|k| k.node.as_str()).collect();
    for n in snap.nodes.iter() {
        if !reported.contains(n.name.as_str()) {
            let why = snap
                .kubelets
                .state
                .missing_reason()
                .unwrap_or_else(|| "no kubelet configuration was collected for this node".into());
            out.push(meta.result(
                Status::Unknown,
                node_resource(&n.name),
                format!("kubelet on {}: {why}", n.name),
                None,
            ));
        }
    }
    if out.is_empty() {
        let why =
            snap.kubelets.state.missing_reason().unwrap_or_else(|| "the snapshot lists no nodes".into());
        out.push(meta.result(
            Status::Unknown,
            ResourceRef {
                kind: "kubelet".into(),
                namespace: None,
                name: snap.cluster.name.clone(),
                node: None,
            },
            format!("no kubelet evidence: {why}"),
            None,
        ));
    }
    out
}

/// Judge one CIS kubelet rule on one kubelet.
pub fn judge_kubelet(k: &Kubelet, snap: &Snapshot, rule: &Rule, on_fail: Status) -> (Status, String) {
    // A flag on the command line that the kubelet itself would not read as written (a stray word
    // after a boolean, a shell expansion) decides nothing.
    if let Some(flags) = &k.flags {
        let unknown = rule.tests.iter().find_map(|t| {
            let name =
                if t.flag.starts_with(|c: char| c.is_ascii_uppercase()) { "feature-gates" } else { t.flag };
            match flags.value(Program::Kubelet, name) {
                FlagValue::Unknown(why) => Some(why),
                _ => None,
            }
        });
        if let Some(why) = unknown {
            return (Status::Unknown, format!("{}: {why}", describe(k)));
        }
    }
    // Command-line-only settings (no KubeletConfiguration key) cannot be read from /configz or the
    // config file: without the kubelet's command line they are unknown, never a pass by absence.
    if k.flags.is_none() {
        if let Some(t) = rule.tests.iter().find(|t| key(t.flag).path.is_empty()) {
            return (
                Status::Unknown,
                format!(
                    "{}: --{} exists only on the kubelet's command line, which was not collected \
                     (a node agent reports it)",
                    describe(k),
                    t.flag
                ),
            );
        }
    }
    if let Mode::Missing(why) = mode(k) {
        // Only decidable when every flag the rule reads is on the command line.
        if rule.tests.iter().any(|t| lookup(k, t.flag).is_none()) {
            return (Status::Unknown, format!("{}: {why}", describe(k)));
        }
    }
    let e = evaluate(rule, &|f| lookup(k, f), &|f| default_for(k, snap, f));
    // Name the config key too when a setting is absent: "without --anonymous-auth or
    // authentication.anonymous.enabled".
    let observed: Vec<String> = e
        .observed
        .iter()
        .map(|o| {
            for t in rule.tests {
                let shown = eval::show_name(t.flag);
                if let Some(rest) =
                    o.strip_prefix(&format!("without {shown}")).filter(|_| !key(t.flag).path.is_empty())
                {
                    return format!("without {shown} or {}{rest}", key(t.flag).path);
                }
            }
            o.clone()
        })
        .collect();
    let observed = format!("{} runs {}", describe(k), join_observed(&observed));
    match e.outcome {
        Outcome::Pass => (Status::Pass, observed),
        Outcome::Fail => (on_fail, format!("{observed}; expected {}", eval::expectation(rule))),
        Outcome::Caveat => (
            Status::Warn,
            format!(
                "{observed}; CIS 1.12 accepts leaving it unset, but the default does not meet {}",
                eval::value_expectation(rule)
            ),
        ),
    }
}

fn join_observed(observed: &[String]) -> String {
    observed
        .iter()
        .map(|o| if o.starts_with("without ") { o.clone() } else { format!("with {o}") })
        .collect::<Vec<_>>()
        .join(" and ")
}

macro_rules! kubelet_checks {
    ($({ meta: $meta:expr, rule: $rule:expr, on_fail: $on_fail:expr $(,)? }),+ $(,)?) => {
        &[$(
            Check {
                meta: $meta,
                run: |m, s, _o| for_each_kubelet(m, s, &|k| judge_kubelet(k, s, &$rule, $on_fail)),
            }
        ),+]
    };
}

/// Table-driven kubelet checks.
pub static CHECKS: &[Check] = kubelet_checks!(
    {
        meta: CheckMeta {
            id: "PAL-AUTHN-020",
            title: "Kubelet rejects anonymous requests",
            area: Area::Authn,
            severity: Severity::Critical,
            rationale: "An anonymous kubelet API lets anyone who reaches port 10250 list pods and, with a \
                permissive authorizer, exec into them.",
            remediation: "Set authentication.anonymous.enabled: false in /var/lib/kubelet/config.yaml (or \
                --anonymous-auth=false) on every node and restart the kubelet.",
            evidence_source: SRC,
        },
        rule: rule!(all ["anonymous-auth" => Op::Eq("false")]),
        on_fail: Status::Fail,
    },
    {
        meta: CheckMeta {
            id: "PAL-AUTHZ-030",
            title: "Kubelet authorizes requests through the API server",
            area: Area::Authz,
            severity: Severity::Critical,
            rationale: "With AlwaysAllow every authenticated caller of the kubelet API can exec into any pod \
                on the node.",
            remediation: "Set authorization.mode: Webhook in /var/lib/kubelet/config.yaml (or \
                --authorization-mode=Webhook) and restart the kubelet.",
            evidence_source: SRC,
        },
        rule: rule!(all ["authorization-mode" => Op::NotHave("AlwaysAllow")]),
        on_fail: Status::Fail,
    },
    {
        meta: CheckMeta {
            id: "PAL-AUTHN-021",
            title: "Kubelet verifies client certificates against a CA",
            area: Area::Authn,
            severity: Severity::High,
            rationale: "Without a client CA the kubelet cannot authenticate the API server's certificate, so \
                exec and logs calls rely on weaker credentials.",
            remediation: "Set authentication.x509.clientCAFile: /etc/kubernetes/pki/ca.crt in \
                /var/lib/kubelet/config.yaml (or --client-ca-file) and restart the kubelet.",
            evidence_source: SRC,
        },
        rule: rule!(all ["client-ca-file" => Op::Present]),
        on_fail: Status::Fail,
    },
    {
        meta: CheckMeta {
            id: "PAL-AUTHN-022",
            title: "Kubelet read-only port is disabled",
            area: Area::Authn,
            severity: Severity::Medium,
            rationale: "The read-only port 10255 serves pod specs, environment and metrics with no \
                authentication at all.",
            remediation: "Set readOnlyPort: 0 in /var/lib/kubelet/config.yaml (or --read-only-port=0) and \
                restart the kubelet.",
            evidence_source: SRC,
        },
        rule: rule!(any ["read-only-port" => Op::Eq("0"), "read-only-port" => Op::NotSet]),
        on_fail: Status::Warn,
    },
    {
        meta: CheckMeta {
            id: "PAL-HOST-001",
            title: "Kubelet streaming connections time out",
            area: Area::Host,
            severity: Severity::Low,
            rationale: "Idle exec and port-forward streams that never time out keep doors open to the node \
                and exhaust its resources.",
            remediation: "Set streamingConnectionIdleTimeout: 5m in /var/lib/kubelet/config.yaml (or \
                --streaming-connection-idle-timeout=5m); never 0.",
            evidence_source: SRC,
        },
        rule: rule!(any [
            "streaming-connection-idle-timeout" => Op::NonZeroDuration,
            "streaming-connection-idle-timeout" => Op::NotSet,
        ]),
        on_fail: Status::Warn,
    },
    {
        meta: CheckMeta {
            id: "PAL-HOST-002",
            title: "Kubelet protects kernel defaults",
            area: Area::Host,
            severity: Severity::Low,
            rationale: "With protectKernelDefaults the kubelet refuses to start when kernel tunables differ \
                from what it expects instead of silently changing them (scored in CIS 1.6–1.8 as 4.2.6; no \
                longer in 1.12, so Palisade reports it as advice).",
            remediation: "Set protectKernelDefaults: true in /var/lib/kubelet/config.yaml after setting the \
                kernel parameters the kubelet expects (vm.overcommit_memory=1, kernel.panic=10, \
                kernel.panic_on_oops=1).",
            evidence_source: SRC,
        },
        rule: rule!(all ["protect-kernel-defaults" => Op::Eq("true")]),
        on_fail: Status::Warn,
    },
    {
        meta: CheckMeta {
            id: "PAL-HOST-003",
            title: "Kubelet manages its iptables chains",
            area: Area::Host,
            severity: Severity::Low,
            rationale: "The kubelet keeps the iptables rules pods need in sync with their networking \
                configuration; turning that off leaves stale or missing rules.",
            remediation: "Remove makeIPTablesUtilChains: false from /var/lib/kubelet/config.yaml (or set \
                --make-iptables-util-chains=true).",
            evidence_source: SRC,
        },
        rule: rule!(any [
            "make-iptables-util-chains" => Op::Eq("true"),
            "make-iptables-util-chains" => Op::NotSet,
        ]),
        on_fail: Status::Fail,
    },
    {
        meta: CheckMeta {
            id: "PAL-TLS-030",
            title: "Kubelet rotates its client certificate",
            area: Area::Tls,
            severity: Severity::Medium,
            rationale: "Without rotation the kubelet's client certificate expires (taking the node down) or \
                is issued long-lived.",
            remediation: "Set rotateCertificates: true in /var/lib/kubelet/config.yaml (or \
                --rotate-certificates=true) and restart the kubelet.",
            evidence_source: SRC,
        },
        rule: rule!(any ["rotate-certificates" => Op::Eq("true"), "rotate-certificates" => Op::NotSet]),
        on_fail: Status::Fail,
    },
    {
        meta: CheckMeta {
            id: "PAL-TLS-031",
            title: "Kubelet serving-certificate rotation is not disabled",
            area: Area::Tls,
            severity: Severity::Low,
            rationale: "Disabling the RotateKubeletServerCertificate gate keeps kubelets on long-lived \
                self-signed serving certificates.",
            remediation: "Remove RotateKubeletServerCertificate: false from featureGates in \
                /var/lib/kubelet/config.yaml (and set serverTLSBootstrap: true).",
            evidence_source: SRC,
        },
        rule: rule!(any [
            "RotateKubeletServerCertificate" => Op::NotHave("false"),
            "RotateKubeletServerCertificate" => Op::NotSet,
        ]),
        on_fail: Status::Warn,
    },
    {
        meta: CheckMeta {
            id: "PAL-TLS-032",
            title: "Kubelet offers only strong TLS cipher suites",
            area: Area::Tls,
            severity: Severity::Medium,
            rationale: "Without an explicit list the kubelet accepts Go's default suites, including CBC and \
                static-RSA ones on older versions.",
            remediation: "Set tlsCipherSuites in /var/lib/kubelet/config.yaml to the ECDHE AEAD suites \
                (TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, \
                TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305, TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, \
                TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305, TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384).",
            evidence_source: SRC,
        },
        rule: rule!(all ["tls-cipher-suites" => Op::ValidElements(KUBELET_STRONG_CIPHERS)]),
        on_fail: Status::Warn,
    },
);

/// Manual CIS 4.2.x kubelet recommendations (advisory: `warn` when not met).
pub static ADVISORY_CHECKS: &[Check] = kubelet_checks!(
    {
        meta: CheckMeta {
            id: "PAL-HOST-004",
            title: "Kubelet does not override its hostname",
            area: Area::Host,
            severity: Severity::Low,
            rationale: "An overridden hostname can make the node's name differ from its certificate, \
                breaking TLS verification between the API server and the kubelet.",
            remediation: "Remove --hostname-override from the kubelet's command line \
                (/etc/systemd/system/kubelet.service.d/10-kubeadm.conf or /var/lib/kubelet/kubeadm-flags.env).",
            evidence_source: SRC,
        },
        rule: rule!(all ["hostname-override" => Op::NotSet]),
        on_fail: Status::Warn,
    },
    {
        meta: CheckMeta {
            id: "PAL-HOST-005",
            title: "Kubelet records events",
            area: Area::Host,
            severity: Severity::Low,
            rationale: "Events are part of the audit trail of what happened on a node; a negative \
                eventRecordQPS drops them.",
            remediation: "Set eventRecordQPS to 0 (unlimited) or a level that captures events in \
                /var/lib/kubelet/config.yaml.",
            evidence_source: SRC,
        },
        rule: rule!(any ["event-qps" => Op::Gte(0), "event-qps" => Op::NotSet]),
        on_fail: Status::Warn,
    },
    {
        meta: CheckMeta {
            id: "PAL-TLS-034",
            title: "Kubelet serves TLS with a configured certificate",
            area: Area::Tls,
            severity: Severity::Medium,
            rationale: "Without tlsCertFile/tlsPrivateKeyFile (or serverTLSBootstrap) the kubelet serves a \
                self-signed certificate nobody can verify.",
            remediation: "Set tlsCertFile and tlsPrivateKeyFile in /var/lib/kubelet/config.yaml, or \
                serverTLSBootstrap: true with approved kubelet-serving CSRs.",
            evidence_source: SRC,
        },
        rule: rule!(all ["tls-cert-file" => Op::Present, "tls-private-key-file" => Op::Present]),
        on_fail: Status::Warn,
    },
    {
        meta: CheckMeta {
            id: "PAL-HOST-006",
            title: "Kubelet limits the PIDs of each pod",
            area: Area::Host,
            severity: Severity::Medium,
            rationale: "Without a PID limit one pod's fork bomb exhausts the node's process table and takes \
                every other pod down (CIS asks for a limit; -1 means none).",
            remediation: "Set podPidsLimit to a positive value (e.g. 4096) in /var/lib/kubelet/config.yaml.",
            evidence_source: SRC,
        },
        rule: rule!(all ["pod-max-pids" => Op::Gte(1)]),
        on_fail: Status::Warn,
    },
    {
        meta: CheckMeta {
            id: "PAL-HOST-007",
            title: "Kubelet applies the runtime's default seccomp profile",
            area: Area::Host,
            severity: Severity::Medium,
            rationale: "With seccompDefault every container without its own profile runs under \
                RuntimeDefault instead of Unconfined, blocking many kernel exploit paths.",
            remediation: "Set seccompDefault: true in /var/lib/kubelet/config.yaml (or --seccomp-default).",
            evidence_source: SRC,
        },
        rule: rule!(all ["seccomp-default" => Op::Eq("true")]),
        on_fail: Status::Warn,
    },
);

/// Kubelet checks that need version knowledge.
pub static CUSTOM_CHECKS: &[Check] = &[Check {
    meta: CheckMeta {
        id: "PAL-TLS-033",
        title: "Kubelet refuses TLS versions below 1.2",
        area: Area::Tls,
        severity: Severity::Medium,
        rationale: "TLS 1.0 and 1.1 are deprecated (RFC 8996); kubelets built with Go before 1.22 \
            (Kubernetes before v1.30) accept them unless tlsMinVersion is set.",
        remediation: "Set tlsMinVersion: VersionTLS12 in /var/lib/kubelet/config.yaml (or \
            --tls-min-version=VersionTLS12) and restart the kubelet.",
        evidence_source: SRC,
    },
    run: kubelet_tls_min_version,
}];

fn minor_of(version: &str) -> Option<u32> {
    let v = version.trim_start_matches('v');
    let mut parts = v.split('.');
    let major: u32 = parts.next()?.parse().ok()?;
    let minor: u32 = parts.next()?.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()?;
    (major == 1).then_some(minor)
}

fn kubelet_tls_min_version(meta: &CheckMeta, snap: &Context, _: &CheckOptions) -> Vec<CheckResult> {
    for_each_kubelet(meta, snap, &|k| {
        if let Some(found) = lookup(k, "tls-min-version") {
            return super::apiserver::tls_min_version_value(&describe(k), &found.shown, &found.value);
        }
        if let Mode::Missing(why) = mode(k) {
            return (Status::Unknown, format!("{}: {why}", describe(k)));
        }
        let minor = k
            .version
            .as_deref()
            .and_then(minor_of)
            .or_else(|| snap.cluster.version.as_ref().filter(|v| v.major == 1).map(|v| v.minor));
        match minor {
            Some(m) if m >= 30 => (
                Status::Pass,
                format!(
                    "{} runs without tlsMinVersion; v1.{m} is built with Go 1.22 or later, whose servers \
                     default to TLS 1.2",
                    describe(k)
                ),
            ),
            Some(m) => (
                Status::Fail,
                format!(
                    "{} runs without tlsMinVersion; v1.{m} is built with Go 1.21 or earlier, whose servers \
                     accept TLS 1.0 by default; expected VersionTLS12 or higher",
                    describe(k)
                ),
            ),
            None => (
                Status::Unknown,
                format!(
                    "{} runs without tlsMinVersion and its version is unknown: the default is TLS 1.0 before \
                     v1.30 and TLS 1.2 from v1.30",
                    describe(k)
                ),
            ),
        }
    })
}
