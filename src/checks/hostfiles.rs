//! The CIS 1.1.x and 4.1.x file checks, and the host checks that read the node agent's sshd
//! settings and certificates (issue 14), all `source: node-agent`. One result per node with a
//! report; a node without one, while others report, is `unknown` (nothing read). A cluster no
//! agent reports for gets one `not_applicable` per check saying how to deploy one, as a scan
//! that did not probe does for the probe checks: nothing was read, so nothing is claimed.
//!
//! File semantics follow the benchmark (reference §2.0): a mode passes when it has no bit outside
//! the mask (`600`); a missing file fails a scored control and warns an unscored one, except
//! 4.1.2, where a missing kubelet service file passes. The control-plane files (1.1.x) are
//! judged on control-plane nodes only (a node role, a control-plane static pod, or its manifests).

use crate::domain::{Area, Severity, Status};
use crate::snapshot::host::{FileFacts, HostReport};
use crate::snapshot::{ComponentKind, EvidenceState, Source};

use super::component::lookup;
use super::{Check, CheckMeta, CheckOptions, CheckResult, Context, ResourceRef};

/// Single files the agent reports (present or not).
pub const AGENT_FILES: &[&str] = &[
    "/etc/kubernetes/manifests/kube-apiserver.yaml",
    "/etc/kubernetes/manifests/kube-controller-manager.yaml",
    "/etc/kubernetes/manifests/kube-scheduler.yaml",
    "/etc/kubernetes/manifests/etcd.yaml",
    "/var/lib/etcd",
    "/var/lib/etcd/default.etcd",
    "/etc/kubernetes/admin.conf",
    "/etc/kubernetes/scheduler.conf",
    "/etc/kubernetes/controller-manager.conf",
    "/etc/kubernetes/pki",
    "/etc/systemd/system/kubelet.service.d/10-kubeadm.conf",
    "/etc/kubernetes/proxy.conf",
    "/etc/kubernetes/kubelet.conf",
    "/etc/kubernetes/pki/ca.crt",
    "/var/lib/kubelet/config.yaml",
    "/etc/cni/net.d",
    "/var/lib/cni/networks",
];
/// Directories the agent reports every entry of.
pub const AGENT_DIRS: &[&str] = &["/etc/kubernetes/pki", "/etc/cni/net.d", "/var/lib/cni/networks"];

const SRC: &str = "the node agent's report (file modes and owners, sshd settings, certificates)";

#[derive(Clone, Copy)]
enum Target {
    Path(&'static str),
    /// etcd's `--data-dir` on the node, else the benchmark's default.
    EtcdDataDir,
    /// The kubelet's client CA file, else the benchmark's default.
    KubeletCa,
    /// Every entry under a directory, optionally only names ending so.
    Tree(&'static str, Option<&'static str>),
    /// The CNI configuration and state directories' files.
    Cni,
}

#[derive(Clone, Copy)]
enum Expect {
    ModeWithin(u32),
    Owner(&'static str),
}

struct Rule {
    id: &'static str,
    target: Target,
    expect: Expect,
    scored: bool,
    control_plane: bool,
    /// A missing file passes (4.1.2).
    missing_passes: bool,
}

const fn rule(id: &'static str, target: Target, expect: Expect, scored: bool, control_plane: bool) -> Rule {
    Rule { id, target, expect, scored, control_plane, missing_passes: false }
}

static RULES: &[Rule] = &[
    rule(
        "PAL-HOST-111",
        Target::Path("/etc/kubernetes/manifests/kube-apiserver.yaml"),
        Expect::ModeWithin(0o600),
        true,
        true,
    ),
    rule(
        "PAL-HOST-112",
        Target::Path("/etc/kubernetes/manifests/kube-apiserver.yaml"),
        Expect::Owner("root:root"),
        true,
        true,
    ),
    rule(
        "PAL-HOST-113",
        Target::Path("/etc/kubernetes/manifests/kube-controller-manager.yaml"),
        Expect::ModeWithin(0o600),
        true,
        true,
    ),
    rule(
        "PAL-HOST-114",
        Target::Path("/etc/kubernetes/manifests/kube-controller-manager.yaml"),
        Expect::Owner("root:root"),
        true,
        true,
    ),
    rule(
        "PAL-HOST-115",
        Target::Path("/etc/kubernetes/manifests/kube-scheduler.yaml"),
        Expect::ModeWithin(0o600),
        true,
        true,
    ),
    rule(
        "PAL-HOST-116",
        Target::Path("/etc/kubernetes/manifests/kube-scheduler.yaml"),
        Expect::Owner("root:root"),
        true,
        true,
    ),
    rule(
        "PAL-HOST-117",
        Target::Path("/etc/kubernetes/manifests/etcd.yaml"),
        Expect::ModeWithin(0o600),
        true,
        true,
    ),
    rule(
        "PAL-HOST-118",
        Target::Path("/etc/kubernetes/manifests/etcd.yaml"),
        Expect::Owner("root:root"),
        true,
        true,
    ),
    rule("PAL-HOST-119", Target::Cni, Expect::ModeWithin(0o600), false, true),
    rule("PAL-HOST-120", Target::Cni, Expect::Owner("root:root"), false, true),
    rule("PAL-HOST-121", Target::EtcdDataDir, Expect::ModeWithin(0o700), true, true),
    rule("PAL-HOST-122", Target::EtcdDataDir, Expect::Owner("etcd:etcd"), true, true),
    rule("PAL-HOST-123", Target::Path("/etc/kubernetes/admin.conf"), Expect::ModeWithin(0o600), true, true),
    rule("PAL-HOST-124", Target::Path("/etc/kubernetes/admin.conf"), Expect::Owner("root:root"), true, true),
    rule(
        "PAL-HOST-125",
        Target::Path("/etc/kubernetes/scheduler.conf"),
        Expect::ModeWithin(0o600),
        true,
        true,
    ),
    rule(
        "PAL-HOST-126",
        Target::Path("/etc/kubernetes/scheduler.conf"),
        Expect::Owner("root:root"),
        true,
        true,
    ),
    rule(
        "PAL-HOST-127",
        Target::Path("/etc/kubernetes/controller-manager.conf"),
        Expect::ModeWithin(0o600),
        true,
        true,
    ),
    rule(
        "PAL-HOST-128",
        Target::Path("/etc/kubernetes/controller-manager.conf"),
        Expect::Owner("root:root"),
        true,
        true,
    ),
    rule("PAL-HOST-129", Target::Tree("/etc/kubernetes/pki", None), Expect::Owner("root:root"), true, true),
    rule(
        "PAL-HOST-130",
        Target::Tree("/etc/kubernetes/pki", Some(".crt")),
        Expect::ModeWithin(0o644),
        false,
        true,
    ),
    rule(
        "PAL-HOST-131",
        Target::Tree("/etc/kubernetes/pki", Some(".key")),
        Expect::ModeWithin(0o600),
        false,
        true,
    ),
    rule(
        "PAL-HOST-141",
        Target::Path("/etc/systemd/system/kubelet.service.d/10-kubeadm.conf"),
        Expect::ModeWithin(0o600),
        true,
        false,
    ),
    Rule {
        id: "PAL-HOST-142",
        target: Target::Path("/etc/systemd/system/kubelet.service.d/10-kubeadm.conf"),
        expect: Expect::Owner("root:root"),
        scored: true,
        control_plane: false,
        missing_passes: true,
    },
    rule("PAL-HOST-143", Target::Path("/etc/kubernetes/proxy.conf"), Expect::ModeWithin(0o600), false, false),
    rule(
        "PAL-HOST-144",
        Target::Path("/etc/kubernetes/proxy.conf"),
        Expect::Owner("root:root"),
        false,
        false,
    ),
    rule(
        "PAL-HOST-145",
        Target::Path("/etc/kubernetes/kubelet.conf"),
        Expect::ModeWithin(0o600),
        true,
        false,
    ),
    rule(
        "PAL-HOST-146",
        Target::Path("/etc/kubernetes/kubelet.conf"),
        Expect::Owner("root:root"),
        true,
        false,
    ),
    rule("PAL-HOST-147", Target::KubeletCa, Expect::ModeWithin(0o644), false, false),
    rule("PAL-HOST-148", Target::KubeletCa, Expect::Owner("root:root"), false, false),
    rule(
        "PAL-HOST-149",
        Target::Path("/var/lib/kubelet/config.yaml"),
        Expect::ModeWithin(0o600),
        true,
        false,
    ),
    rule(
        "PAL-HOST-150",
        Target::Path("/var/lib/kubelet/config.yaml"),
        Expect::Owner("root:root"),
        true,
        false,
    ),
];

fn node(r: &HostReport) -> ResourceRef {
    ResourceRef { kind: "Node".into(), namespace: None, name: r.node.clone(), node: Some(r.node.clone()) }
}

fn cluster(ctx: &Context) -> ResourceRef {
    ResourceRef { kind: "Cluster".into(), name: ctx.cluster.name.clone(), ..Default::default() }
}

/// The node reports, or the one result saying why there are none.
fn reports<'a>(meta: &CheckMeta, ctx: &'a Context) -> Result<&'a [HostReport], Vec<CheckResult>> {
    match &ctx.hosts.state {
        EvidenceState::Complete if !ctx.hosts.items.is_empty() => Ok(&ctx.hosts.items),
        EvidenceState::Unknown { reason, detail } => Err(vec![meta.result(
            Status::Unknown,
            cluster(ctx),
            format!("the node agents' reports could not be read: {reason}: {detail}"),
            None,
        )]),
        _ => Err(vec![meta.result(
            Status::NotApplicable,
            cluster(ctx),
            "no node agent reports for this cluster: deploy `palisade agent --mode node` (deploy/node-agent.yaml) \
             with an agent token to decide this",
            None,
        )]),
    }
}

/// Nodes the cluster lists that sent no report: `unknown`, nothing read.
fn silent_nodes(meta: &CheckMeta, ctx: &Context, applies: &dyn Fn(&str) -> bool) -> Vec<CheckResult> {
    ctx.nodes
        .items
        .iter()
        .filter(|n| applies(&n.name) && !ctx.hosts.items.iter().any(|r| r.node == n.name))
        .map(|n| {
            meta.result(
                Status::Unknown,
                ResourceRef {
                    kind: "Node".into(),
                    namespace: None,
                    name: n.name.clone(),
                    node: Some(n.name.clone()),
                },
                format!("no node agent report from {}", n.name),
                None,
            )
        })
        .collect()
}

fn is_control_plane(ctx: &Context, name: &str) -> bool {
    let by_role = ctx
        .nodes
        .items
        .iter()
        .any(|n| n.name == name && n.roles.iter().any(|r| r == "control-plane" || r == "master"));
    let by_pod =
        ctx.components.items.iter().any(|c| c.node.as_deref() == Some(name) && c.kind.is_control_plane());
    let by_files = ctx.hosts.items.iter().any(|r| {
        r.node == name
            && r.facts.files.iter().any(|f| f.exists && f.path.starts_with("/etc/kubernetes/manifests/"))
    });
    by_role || by_pod || by_files
}

fn file<'a>(r: &'a HostReport, path: &str) -> Option<&'a FileFacts> {
    r.facts.files.iter().find(|f| f.path == path)
}

/// The files a rule judges on one node, or why it cannot tell.
fn targets<'a>(ctx: &Context, r: &'a HostReport, target: Target) -> Result<Vec<&'a FileFacts>, String> {
    let one = |path: &str| {
        file(r, path).map(|f| vec![f]).ok_or_else(|| format!("the agent on {} did not report {path}", r.node))
    };
    match target {
        Target::Path(p) => one(p),
        Target::EtcdDataDir => {
            let flag = ctx
                .components_of(ComponentKind::Etcd)
                .find(|c| c.node.as_deref() == Some(r.node.as_str()))
                .and_then(|c| lookup(c, "data-dir"))
                .map(|f| f.value);
            one(flag.as_deref().unwrap_or("/var/lib/etcd/default.etcd"))
        }
        Target::KubeletCa => {
            let configured = ctx
                .kubelets
                .items
                .iter()
                .find(|k| k.node == r.node)
                .and_then(|k| k.setting("client-ca-file", "authentication.x509.clientCAFile"))
                .map(|(v, _)| v);
            one(configured.as_deref().unwrap_or("/etc/kubernetes/pki/ca.crt"))
        }
        Target::Tree(dir, suffix) => {
            let prefix = format!("{dir}/");
            Ok(r.facts
                .files
                .iter()
                .filter(|f| {
                    f.exists && f.path.starts_with(&prefix) && suffix.is_none_or(|s| f.path.ends_with(s))
                })
                .collect())
        }
        Target::Cni => Ok(r
            .facts
            .files
            .iter()
            .filter(|f| {
                f.exists
                    && f.kind.as_deref() == Some("file")
                    && (f.path.starts_with("/etc/cni/net.d/") || f.path.starts_with("/var/lib/cni/networks/"))
            })
            .collect()),
    }
}

fn offends(f: &FileFacts, expect: Expect) -> Option<String> {
    match expect {
        Expect::ModeWithin(mask) => match f.mode_bits() {
            Some(m) if m & !mask == 0 => None,
            Some(m) => Some(format!("{} has mode {m:o}", f.path)),
            None => Some(format!("{}: mode not read", f.path)),
        },
        Expect::Owner(want) => {
            let has = f.owner_group();
            (has != want).then(|| format!("{} is owned by {has}", f.path))
        }
    }
}

fn judge_rule(meta: &CheckMeta, ctx: &Context, rule: &Rule) -> Vec<CheckResult> {
    let reports = match reports(meta, ctx) {
        Ok(r) => r,
        Err(r) => return r,
    };
    let applies = |name: &str| !rule.control_plane || is_control_plane(ctx, name);
    let failing = if rule.scored { Status::Fail } else { Status::Warn };
    let want = match rule.expect {
        Expect::ModeWithin(m) => format!("mode {m:o} or more restrictive"),
        Expect::Owner(o) => format!("owner {o}"),
    };
    let mut out: Vec<CheckResult> = reports
        .iter()
        .filter(|r| applies(&r.node))
        .map(|r| {
            let (status, evidence) = match targets(ctx, r, rule.target) {
                Err(why) => (Status::Unknown, why),
                Ok(files) if files.is_empty() => {
                    (failing, format!("{}: no such files to check on {}", describe(rule.target), r.node))
                }
                Ok(files) => {
                    let missing: Vec<&str> =
                        files.iter().filter(|f| !f.exists).map(|f| f.path.as_str()).collect();
                    if !missing.is_empty() {
                        if rule.missing_passes {
                            (
                                Status::Pass,
                                format!(
                                    "{} does not exist on {} (the benchmark passes this)",
                                    missing.join(", "),
                                    r.node
                                ),
                            )
                        } else {
                            (failing, format!("{} does not exist on {}", missing.join(", "), r.node))
                        }
                    } else {
                        let bad: Vec<String> = files.iter().filter_map(|f| offends(f, rule.expect)).collect();
                        if bad.is_empty() {
                            let shown = if files.len() == 1 {
                                files[0].path.clone()
                            } else {
                                format!("{} files under {}", files.len(), describe(rule.target))
                            };
                            (Status::Pass, format!("{shown} on {}: {want}", r.node))
                        } else {
                            let more = if bad.len() > 5 {
                                format!(" and {} more", bad.len() - 5)
                            } else {
                                String::new()
                            };
                            (
                                failing,
                                format!(
                                    "on {}: {}{more} (want {want})",
                                    r.node,
                                    bad.iter().take(5).cloned().collect::<Vec<_>>().join("; ")
                                ),
                            )
                        }
                    }
                }
            };
            meta.result(status, node(r), evidence, Some(Source::NodeAgent))
        })
        .collect();
    out.extend(silent_nodes(meta, ctx, &applies));
    if out.is_empty() {
        out.push(meta.result(
            Status::NotApplicable,
            cluster(ctx),
            "no control-plane node reports: the control plane is not on the nodes the agents run on (or is managed)",
            None,
        ));
    }
    out
}

fn describe(t: Target) -> String {
    match t {
        Target::Path(p) => p.to_string(),
        Target::EtcdDataDir => "etcd's data directory".into(),
        Target::KubeletCa => "the kubelet's client CA file".into(),
        Target::Tree(d, Some(s)) => format!("{d}/**/*{s}"),
        Target::Tree(d, None) => format!("{d}/**"),
        Target::Cni => "/etc/cni/net.d and /var/lib/cni/networks".into(),
    }
}

fn file_check(meta: &CheckMeta, ctx: &Context, _: &CheckOptions) -> Vec<CheckResult> {
    let rule = RULES.iter().find(|r| r.id == meta.id).expect("every file check has a rule");
    judge_rule(meta, ctx, rule)
}

/// Judge each report's sshd settings.
fn each_sshd(
    meta: &CheckMeta,
    ctx: &Context,
    judge: &dyn Fn(&crate::snapshot::host::SshdFacts, &str) -> (Status, String),
) -> Vec<CheckResult> {
    let reports = match reports(meta, ctx) {
        Ok(r) => r,
        Err(r) => return r,
    };
    let mut out: Vec<CheckResult> = reports
        .iter()
        .map(|r| {
            let (status, evidence) = match &r.facts.sshd {
                Some(s) => judge(s, &r.node),
                None => {
                    (Status::NotApplicable, format!("no sshd configuration on {}: no SSH server", r.node))
                }
            };
            meta.result(status, node(r), evidence, Some(Source::NodeAgent))
        })
        .collect();
    out.extend(silent_nodes(meta, ctx, &|_| true));
    out
}

fn root_login(meta: &CheckMeta, ctx: &Context, _: &CheckOptions) -> Vec<CheckResult> {
    each_sshd(meta, ctx, &|s, n| {
        let v = s.get("permitrootlogin");
        let keys =
            s.root_authorized_keys.map(|k| format!("; root has {k} authorized keys")).unwrap_or_default();
        let how = format!("PermitRootLogin {v} on {n} ({}){keys}", s.source);
        match v {
            "no" => (Status::Pass, how),
            "prohibit-password" | "without-password" | "forced-commands-only" => {
                (Status::Warn, format!("{how}: root may still log in with a key"))
            }
            _ => (Status::Fail, format!("{how}: root may log in with a password")),
        }
    })
}

fn empty_passwords(meta: &CheckMeta, ctx: &Context, _: &CheckOptions) -> Vec<CheckResult> {
    each_sshd(meta, ctx, &|s, n| match s.get("permitemptypasswords") {
        "no" => (Status::Pass, format!("PermitEmptyPasswords no on {n} ({})", s.source)),
        v => (
            Status::Fail,
            format!("PermitEmptyPasswords {v} on {n} ({}): an account without a password logs in", s.source),
        ),
    })
}

fn agent_passwords(meta: &CheckMeta, ctx: &Context, _: &CheckOptions) -> Vec<CheckResult> {
    each_sshd(meta, ctx, &|s, n| {
        let password = s.get("passwordauthentication");
        let kbd = s
            .settings
            .get("kbdinteractiveauthentication")
            .or(s.settings.get("challengeresponseauthentication"))
            .map(String::as_str)
            .unwrap_or("yes");
        let pam = s.get("usepam") == "yes";
        // Keyboard-interactive asks for a password through PAM (or BSD auth): with it on, a
        // password works even when PasswordAuthentication is off.
        let live = ctx
            .probes
            .ssh
            .iter()
            .find(|p| p.target.node.as_deref() == Some(n))
            .and_then(|p| p.facts.password_auth);
        let configured = password == "yes" || (kbd == "yes" && (pam || s.source == "sshd -T"));
        let said = format!(
            "PasswordAuthentication {password}, KbdInteractiveAuthentication {kbd} on {n} ({})",
            s.source
        );
        match (configured, live) {
            (_, Some(true)) if !configured => (
                Status::Fail,
                format!("{said}, but the SSH probe was offered password login: the live server wins"),
            ),
            (_, Some(false)) if configured => (
                Status::Pass,
                format!("{said}, but the SSH probe was not offered password login: the live server wins"),
            ),
            (true, _) => (Status::Fail, format!("{said}: password login is possible")),
            (false, _) => (Status::Pass, format!("{said}: keys only")),
        }
    })
}

fn pubkey(meta: &CheckMeta, ctx: &Context, _: &CheckOptions) -> Vec<CheckResult> {
    each_sshd(meta, ctx, &|s, n| match s.get("pubkeyauthentication") {
        "no" => (Status::Fail, format!("PubkeyAuthentication no on {n} ({})", s.source)),
        v => (Status::Pass, format!("PubkeyAuthentication {v} on {n} ({})", s.source)),
    })
}

fn pki_expiry(meta: &CheckMeta, ctx: &Context, within_days: i64) -> Vec<CheckResult> {
    let reports = match reports(meta, ctx) {
        Ok(r) => r,
        Err(r) => return r,
    };
    let now = ctx.collected_at;
    let mut out: Vec<CheckResult> = reports
        .iter()
        .map(|r| {
            let mut bad: Vec<String> = Vec::new();
            for c in &r.facts.pki {
                let days = (c.not_after - now).num_days();
                let expired = c.not_after <= now;
                let hit = if within_days == 0 { expired } else { !expired && days < within_days };
                if hit {
                    let when = c.not_after.format("%Y-%m-%d");
                    bad.push(if expired {
                        format!("{} ({}) expired on {when}", c.path, c.subject)
                    } else {
                        format!("{} ({}) expires on {when}, in {days} days", c.path, c.subject)
                    });
                }
            }
            let (status, evidence) = if r.facts.pki.is_empty() {
                (Status::NotApplicable, format!("no certificates under the PKI directories of {}", r.node))
            } else if bad.is_empty() {
                let what = if within_days == 0 {
                    "none has expired".to_string()
                } else {
                    format!("none expires within {within_days} days")
                };
                (Status::Pass, format!("{} certificates on {}: {what}", r.facts.pki.len(), r.node))
            } else {
                (Status::Fail, format!("on {}: {}", r.node, bad.join("; ")))
            };
            meta.result(status, node(r), evidence, Some(Source::NodeAgent))
        })
        .collect();
    out.extend(silent_nodes(meta, ctx, &|_| true));
    out
}

fn pki_expired(meta: &CheckMeta, ctx: &Context, _: &CheckOptions) -> Vec<CheckResult> {
    pki_expiry(meta, ctx, 0)
}

fn pki_30_days(meta: &CheckMeta, ctx: &Context, _: &CheckOptions) -> Vec<CheckResult> {
    pki_expiry(meta, ctx, 30)
}

macro_rules! agent_check {
    ($id:literal, $title:literal, $sev:expr, $run:expr, $rationale:expr, $remediation:expr) => {
        super::check!($id, $title, Area::Host, $sev, $run, $rationale, $remediation)
    };
}

macro_rules! mode_check {
    ($id:literal, $title:literal, $sev:expr) => {
        agent_check!($id, $title, $sev, file_check,
            "Anyone who can rewrite these files changes what runs with cluster privileges, or reads the credentials in them.",
            "chmod the file as the title says (e.g. `chmod 600 <file>`), on every node the result names.")
    };
}

macro_rules! owner_check {
    ($id:literal, $title:literal, $sev:expr, $owner:literal) => {
        agent_check!(
            $id,
            $title,
            $sev,
            file_check,
            "A file owned by another user can be rewritten by that user, or by whoever takes that account.",
            concat!("chown ", $owner, " <file> on every node the result names.")
        )
    };
}

/// The node-agent checks, in catalog order.
pub static CHECKS: &[Check] = &[
    agent_check!("PAL-HOST-105", "Nodes' sshd refuses root logins", Severity::High, root_login,
        "A root login skips every audit trail of who did what; with a password it is also guessable.",
        "Set `PermitRootLogin no` in sshd_config (and every `Match` block), log in as a named user and use sudo."),
    agent_check!("PAL-HOST-106", "Nodes' sshd refuses empty passwords", Severity::Critical, empty_passwords,
        "An account with an empty password is an open door when sshd permits it.",
        "Set `PermitEmptyPasswords no` (OpenSSH's default) in sshd_config."),
    agent_check!("PAL-HOST-107", "Nodes' sshd is configured for keys only", Severity::High, agent_passwords,
        "Password or keyboard-interactive login makes every node one guessed password away from a shell. When the configuration and the SSH probe disagree, what the live server offered wins and the finding names both.",
        "Set `PasswordAuthentication no` and `KbdInteractiveAuthentication no` in sshd_config and every `Match` block, then reload sshd."),
    agent_check!("PAL-HOST-108", "Nodes' sshd accepts public keys", Severity::Medium, pubkey,
        "With public keys off, administrators fall back to passwords.",
        "Set `PubkeyAuthentication yes` (OpenSSH's default)."),
    agent_check!("PAL-HOST-160", "Node PKI certificates are not expired", Severity::Critical, pki_expired,
        "An expired certificate under /etc/kubernetes/pki or /var/lib/kubelet/pki takes its component down or makes its clients stop verifying.",
        "Renew it (`kubeadm certs renew all`; kubelets: rotateCertificates: true) and restart what uses it."),
    agent_check!("PAL-HOST-161", "Node PKI certificates do not expire within 30 days", Severity::High, pki_30_days,
        "A certificate that expires within a month is an outage unless it is renewed now.",
        "`kubeadm certs check-expiration`, then `kubeadm certs renew`."),
    mode_check!("PAL-HOST-111", "API server pod specification file permissions are 600 or more restrictive", Severity::High),
    owner_check!("PAL-HOST-112", "API server pod specification file is owned by root:root", Severity::High, "root:root"),
    mode_check!("PAL-HOST-113", "Controller manager pod specification file permissions are 600 or more restrictive", Severity::High),
    owner_check!("PAL-HOST-114", "Controller manager pod specification file is owned by root:root", Severity::High, "root:root"),
    mode_check!("PAL-HOST-115", "Scheduler pod specification file permissions are 600 or more restrictive", Severity::High),
    owner_check!("PAL-HOST-116", "Scheduler pod specification file is owned by root:root", Severity::High, "root:root"),
    mode_check!("PAL-HOST-117", "etcd pod specification file permissions are 600 or more restrictive", Severity::High),
    owner_check!("PAL-HOST-118", "etcd pod specification file is owned by root:root", Severity::High, "root:root"),
    mode_check!("PAL-HOST-119", "Container Network Interface file permissions are 600 or more restrictive", Severity::Medium),
    owner_check!("PAL-HOST-120", "Container Network Interface files are owned by root:root", Severity::Medium, "root:root"),
    mode_check!("PAL-HOST-121", "etcd data directory permissions are 700 or more restrictive", Severity::High),
    owner_check!("PAL-HOST-122", "etcd data directory is owned by etcd:etcd", Severity::Medium, "etcd:etcd"),
    mode_check!("PAL-HOST-123", "admin.conf permissions are 600 or more restrictive", Severity::Critical),
    owner_check!("PAL-HOST-124", "admin.conf is owned by root:root", Severity::Critical, "root:root"),
    mode_check!("PAL-HOST-125", "scheduler.conf permissions are 600 or more restrictive", Severity::High),
    owner_check!("PAL-HOST-126", "scheduler.conf is owned by root:root", Severity::High, "root:root"),
    mode_check!("PAL-HOST-127", "controller-manager.conf permissions are 600 or more restrictive", Severity::High),
    owner_check!("PAL-HOST-128", "controller-manager.conf is owned by root:root", Severity::High, "root:root"),
    owner_check!("PAL-HOST-129", "The Kubernetes PKI directory and files are owned by root:root", Severity::High, "-R root:root"),
    mode_check!("PAL-HOST-130", "Kubernetes PKI certificate files are 644 or more restrictive", Severity::Medium),
    mode_check!("PAL-HOST-131", "Kubernetes PKI key files are 600", Severity::High),
    mode_check!("PAL-HOST-141", "kubelet service file permissions are 600 or more restrictive", Severity::Medium),
    owner_check!("PAL-HOST-142", "kubelet service file is owned by root:root", Severity::Medium, "root:root"),
    mode_check!("PAL-HOST-143", "kube-proxy kubeconfig permissions are 600 or more restrictive", Severity::Medium),
    owner_check!("PAL-HOST-144", "kube-proxy kubeconfig is owned by root:root", Severity::Medium, "root:root"),
    mode_check!("PAL-HOST-145", "kubelet.conf permissions are 600 or more restrictive", Severity::High),
    owner_check!("PAL-HOST-146", "kubelet.conf is owned by root:root", Severity::High, "root:root"),
    mode_check!("PAL-HOST-147", "Certificate authorities file permissions are 644 or more restrictive", Severity::Medium),
    owner_check!("PAL-HOST-148", "Client certificate authorities file is owned by root:root", Severity::Medium, "root:root"),
    mode_check!("PAL-HOST-149", "kubelet config.yaml permissions are 600 or more restrictive", Severity::High),
    owner_check!("PAL-HOST-150", "kubelet config.yaml is owned by root:root", Severity::High, "root:root"),
];
