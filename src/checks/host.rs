//! Host checks on what the SSH probe saw of each node's SSH server (issue 14), all `source:
//! probe`: password login possible, no authentication at all, public keys refused, weak
//! algorithms offered. One result per node probed.
//!
//! - A scan that did not probe gets one `not_applicable` result per check, as the other probe
//!   checks do; one that probed no SSH server (SSH probing off for the cluster, no node address)
//!   gets one `not_applicable` saying so.
//! - A node whose SSH server could not be reached, or whose methods could not be read (no key
//!   exchange in common), is `unknown` with the reason: never a pass.
//!
//! Ids are `PAL-HOST-1NN`, the host-probe range. Like the other probe checks they cite no CIS
//! control: the benchmark does not cover SSH.

use crate::domain::{Area, Severity, Status};
use crate::snapshot::probe::{SshProbe, SshWeak};
use crate::snapshot::{EvidenceState, Source};

use super::{Check, CheckMeta, CheckOptions, CheckResult, Context, ResourceRef};

const SRC: &str =
    "the SSH probe of each node's address (KEXINIT, key exchange, a `none` authentication request)";

fn resource(p: &SshProbe) -> ResourceRef {
    ResourceRef {
        kind: "Node".into(),
        namespace: None,
        name: p.target.node.clone().unwrap_or_else(|| p.target.endpoint()),
        node: p.target.node.clone(),
    }
}

fn cluster(ctx: &Context) -> ResourceRef {
    ResourceRef { kind: "Cluster".into(), name: ctx.cluster.name.clone(), ..Default::default() }
}

/// Judge each node's SSH probe; a server not probed is `unknown`, none at all `not_applicable`.
fn each_ssh(
    meta: &CheckMeta,
    ctx: &Context,
    judge: &dyn Fn(&SshProbe) -> (Status, String),
) -> Vec<CheckResult> {
    let single = |status, evidence: String| vec![meta.result(status, cluster(ctx), evidence, None)];
    match &ctx.probes.state {
        EvidenceState::Complete => {}
        EvidenceState::NotCollected => {
            return single(
                Status::NotApplicable,
                "this scan did not probe the cluster's endpoints (offline scans probe only with --probe)"
                    .into(),
            )
        }
        EvidenceState::Unknown { reason, detail } => {
            return single(Status::Unknown, format!("the probes did not run: {reason}: {detail}"))
        }
    }
    if ctx.probes.ssh.is_empty() {
        return single(
            Status::NotApplicable,
            "no node's SSH server was probed: SSH probing is off for this cluster (ssh_port 0), or no node \
             reports an address"
                .into(),
        );
    }
    ctx.probes
        .ssh
        .iter()
        .map(|p| {
            let (status, evidence) = if p.facts.probed() {
                judge(p)
            } else {
                let why = p.facts.reason.as_deref().unwrap_or("no answer");
                (Status::Unknown, format!("{} could not be probed: {why}", p.target.describe()))
            };
            meta.result(status, resource(p), evidence, Some(Source::Probe))
        })
        .collect()
}

/// The methods offered, in words.
fn offered(p: &SshProbe) -> String {
    let list = |m: &Option<Vec<String>>| match m {
        Some(m) if m.is_empty() => "nothing".to_string(),
        Some(m) => m.join(","),
        None => "unknown".to_string(),
    };
    if p.facts.auth_methods == p.facts.root_auth_methods {
        format!("offers {}", list(&p.facts.auth_methods))
    } else {
        format!(
            "offers {} to other users and {} to root",
            list(&p.facts.auth_methods),
            list(&p.facts.root_auth_methods)
        )
    }
}

fn undecided(p: &SshProbe) -> (Status, String) {
    let why = p.facts.auth_error.as_deref().unwrap_or("the server did not say");
    (Status::Unknown, format!("{}: its authentication methods could not be read: {why}", p.target.describe()))
}

fn password_login(meta: &CheckMeta, ctx: &Context, _: &CheckOptions) -> Vec<CheckResult> {
    each_ssh(meta, ctx, &|p| match p.facts.password_auth {
        Some(true) => {
            let who = match (&p.facts.auth_methods, &p.facts.root_auth_methods) {
                (Some(a), Some(r)) if !has_password(a) && has_password(r) => {
                    " (a Match block lets root use one)"
                }
                _ => "",
            };
            (Status::Fail, format!("{} accepts passwords{who}: it {}", p.target.describe(), offered(p)))
        }
        Some(false) => (Status::Pass, format!("{} {}: no password login", p.target.describe(), offered(p))),
        None => undecided(p),
    })
}

fn has_password(methods: &[String]) -> bool {
    methods.iter().any(|m| m == "password" || m == "keyboard-interactive")
}

fn no_authentication(meta: &CheckMeta, ctx: &Context, _: &CheckOptions) -> Vec<CheckResult> {
    each_ssh(meta, ctx, &|p| {
        if p.facts.none_accepted {
            (Status::Fail, format!("{} let a user in without any authentication", p.target.describe()))
        } else if p.facts.auth_methods.is_none() && p.facts.root_auth_methods.is_none() {
            undecided(p)
        } else {
            (Status::Pass, format!("{} refused a login without authentication", p.target.describe()))
        }
    })
}

fn public_keys(meta: &CheckMeta, ctx: &Context, _: &CheckOptions) -> Vec<CheckResult> {
    each_ssh(meta, ctx, &|p| {
        let (Some(a), Some(r)) = (&p.facts.auth_methods, &p.facts.root_auth_methods) else {
            return undecided(p);
        };
        if a.iter().chain(r).any(|m| m == "publickey") {
            (Status::Pass, format!("{} {}", p.target.describe(), offered(p)))
        } else {
            (
                Status::Fail,
                format!(
                    "{} does not offer public-key authentication: it {}",
                    p.target.describe(),
                    offered(p)
                ),
            )
        }
    })
}

fn weak_list(w: &SshWeak) -> String {
    let mut parts = Vec::new();
    for (kind, list) in
        [("kex", &w.kex), ("host keys", &w.host_key), ("ciphers", &w.ciphers), ("MACs", &w.macs)]
    {
        if !list.is_empty() {
            parts.push(format!("{kind} {}", list.join(",")));
        }
    }
    parts.join("; ")
}

fn weak_algorithms(meta: &CheckMeta, ctx: &Context, _: &CheckOptions) -> Vec<CheckResult> {
    each_ssh(meta, ctx, &|p| {
        if p.facts.weak.is_empty() {
            (Status::Pass, format!("{} offers no weak algorithm", p.target.describe()))
        } else {
            (
                Status::Fail,
                format!("{} offers weak algorithms: {}", p.target.describe(), weak_list(&p.facts.weak)),
            )
        }
    })
}

macro_rules! host_check {
    ($id:literal, $title:literal, $sev:expr, $run:expr, $rationale:literal, $remediation:literal) => {
        super::check!($id, $title, Area::Host, $sev, $run, $rationale, $remediation)
    };
}

/// The SSH checks, in catalog order.
pub static CHECKS: &[Check] = &[
    host_check!("PAL-HOST-101", "Nodes' SSH does not accept passwords", Severity::High, password_login,
        "Passwords can be guessed and sprayed across a fleet; keys cannot. A node that offers password or keyboard-interactive login to any user, root included, is one weak password away from a shell on a Kubernetes node.",
        "Set `PasswordAuthentication no` and `KbdInteractiveAuthentication no` (`ChallengeResponseAuthentication no` before OpenSSH 8.7) in sshd_config, and in every `Match` block, then reload sshd."),
    host_check!("PAL-HOST-102", "Nodes' SSH requires authentication", Severity::Critical, no_authentication,
        "A server that accepts the `none` method lets anyone who reaches it log in.",
        "Remove `PermitEmptyPasswords yes` and any `AuthenticationMethods none`; require `publickey`."),
    host_check!("PAL-HOST-103", "Nodes' SSH accepts public keys", Severity::Medium, public_keys,
        "Without public-key authentication, administrators fall back to passwords or to no SSH at all.",
        "Set `PubkeyAuthentication yes` and leave `publickey` in `AuthenticationMethods`."),
    host_check!("PAL-HOST-104", "Nodes' SSH offers no weak algorithms", Severity::Medium, weak_algorithms,
        "SHA-1 and MD5, 1024-bit groups, 3DES, RC4 and CBC ciphers, 64-bit tags, ssh-rsa and DSA signatures and the distrusted NIST curves let an attacker downgrade or break the session.",
        "Set `KexAlgorithms`, `HostKeyAlgorithms`, `Ciphers` and `MACs` to modern lists (sntrup761x25519-sha512, curve25519-sha256; ssh-ed25519, rsa-sha2-512; chacha20-poly1305, aes-gcm; hmac-sha2-*-etm), as ssh-audit's hardening guides do."),
];
