//! SSH checks (`PAL-HOST-101`–`104`) on kubeadm's cluster with SSH probe evidence for two nodes:
//! each passing, failing, and with the server not decided (unreachable, no cipher in common).

use super::{k, run, Case};
use crate::domain::Status;
use crate::snapshot::probe::{ProbeTarget, Probes, Service, SshFacts, SshProbe, SshWeak};
use crate::snapshot::{EvidenceState, Origin, Snapshot, Source};

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// A keys-only server with modern algorithms.
fn good(endpoint: String) -> SshFacts {
    SshFacts {
        endpoint,
        reachable: true,
        reason: None,
        banner: Some("SSH-2.0-OpenSSH_9.2p1".into()),
        kex: strs(&["curve25519-sha256"]),
        host_key: strs(&["ssh-ed25519"]),
        ciphers: strs(&["chacha20-poly1305@openssh.com"]),
        macs: strs(&["hmac-sha2-256-etm@openssh.com"]),
        weak: SshWeak::default(),
        host_key_fingerprint: None,
        auth_methods: Some(strs(&["publickey"])),
        root_auth_methods: Some(strs(&["publickey"])),
        password_auth: Some(false),
        none_accepted: false,
        auth_error: None,
    }
}

fn ssh(change: fn(&mut SshFacts)) -> Snapshot {
    let mut snap = k();
    let probes = ["cp-1", "worker-1"]
        .iter()
        .enumerate()
        .map(|(i, node)| {
            let target = ProbeTarget {
                service: Service::Ssh,
                node: Some(node.to_string()),
                host: format!("10.0.0.{}", 11 + i),
                port: 22,
                basis: "a test".into(),
            };
            let mut facts = good(target.endpoint());
            change(&mut facts);
            SshProbe { target, facts }
        })
        .collect();
    snap.probes = Probes {
        origin: Some(Origin::new(Source::Probe, snap.collected_at)),
        state: EvidenceState::Complete,
        ssh: probes,
        ..Default::default()
    };
    snap
}

fn unchanged(_: &mut SshFacts) {}

fn unreachable(f: &mut SshFacts) {
    *f = SshFacts::unreachable(f.endpoint.clone(), "connection refused".into());
}

fn no_common_cipher(f: &mut SshFacts) {
    f.auth_methods = None;
    f.root_auth_methods = None;
    f.password_auth = None;
    f.auth_error = Some("no cipher in common: the server offers aes128-ctr".into());
}

pub(super) fn cases() -> Vec<Case> {
    use Status::*;
    vec![
        Case {
            id: "PAL-HOST-101",
            pass: || ssh(unchanged),
            fail: || {
                ssh(|f| {
                    f.auth_methods = Some(strs(&["publickey", "password"]));
                    f.root_auth_methods = f.auth_methods.clone();
                    f.password_auth = Some(true);
                })
            },
            fail_status: Fail,
            absent: || ssh(no_common_cipher),
            absent_status: Unknown,
        },
        Case {
            id: "PAL-HOST-102",
            pass: || ssh(unchanged),
            fail: || ssh(|f| f.none_accepted = true),
            fail_status: Fail,
            absent: || ssh(unreachable),
            absent_status: Unknown,
        },
        Case {
            id: "PAL-HOST-103",
            pass: || ssh(unchanged),
            fail: || {
                ssh(|f| {
                    f.auth_methods = Some(strs(&["password"]));
                    f.root_auth_methods = f.auth_methods.clone();
                })
            },
            fail_status: Fail,
            absent: || ssh(no_common_cipher),
            absent_status: Unknown,
        },
        Case {
            id: "PAL-HOST-104",
            pass: || ssh(no_common_cipher),
            fail: || ssh(|f| f.weak.ciphers = strs(&["3des-cbc"])),
            fail_status: Fail,
            absent: || ssh(unreachable),
            absent_status: Unknown,
        },
    ]
}

#[test]
fn a_match_block_for_root_is_named_and_each_node_is_its_own_result() {
    let snap = ssh(|f| {
        f.root_auth_methods = Some(strs(&["publickey", "password"]));
        f.password_auth = Some(true);
    });
    let results = run("PAL-HOST-101", &snap);
    assert_eq!(results.len(), 2);
    for r in &results {
        assert_eq!(r.status, Status::Fail);
        assert_eq!(r.resource.kind, "Node");
        assert!(r.evidence.contains("a Match block lets root use one"), "{}", r.evidence);
        assert!(r.evidence.contains("to root"), "{}", r.evidence);
    }
    assert_eq!(results[0].resource.name, "cp-1");
}

#[test]
fn without_probes_or_without_ssh_targets_the_checks_say_why_and_claim_nothing() {
    let snap = k();
    for id in ["PAL-HOST-101", "PAL-HOST-102", "PAL-HOST-103", "PAL-HOST-104"] {
        let r = run(id, &snap);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].status, Status::NotApplicable, "{id}");
        assert!(r[0].evidence.contains("did not probe"), "{}", r[0].evidence);
    }
    let mut off = ssh(unchanged);
    off.probes.ssh.clear();
    let r = run("PAL-HOST-101", &off);
    assert_eq!(r[0].status, Status::NotApplicable);
    assert!(r[0].evidence.contains("ssh_port 0"), "{}", r[0].evidence);
}

fn with_agent(sshd: &[(&str, &str)], probe_password: Option<bool>) -> Snapshot {
    use crate::snapshot::host::{HostFacts, HostReport, SshdFacts};
    let mut snap = ssh(|f| f.password_auth = Some(false));
    if let Some(p) = probe_password {
        for s in &mut snap.probes.ssh {
            s.facts.password_auth = Some(p);
        }
    } else {
        snap.probes.ssh.clear();
    }
    let facts = HostFacts {
        sshd: Some(SshdFacts {
            source: "sshd_config".into(),
            settings: sshd.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            root_authorized_keys: Some(1),
        }),
        ..Default::default()
    };
    let reports = ["cp-1", "worker-1"]
        .iter()
        .map(|n| HostReport {
            node: n.to_string(),
            report_id: uuid::Uuid::nil(),
            collected_at: snap.collected_at,
            received_at: snap.collected_at,
            facts: facts.clone(),
        })
        .collect();
    snap.hosts = crate::snapshot::host::evidence(reports);
    snap
}

#[test]
fn the_live_server_wins_over_its_configuration_and_the_finding_names_both() {
    let keys_only = [("passwordauthentication", "no"), ("kbdinteractiveauthentication", "no")];
    // The configuration says keys only, the probe was offered a password: fail, naming both.
    for r in run("PAL-HOST-107", &with_agent(&keys_only, Some(true))) {
        assert_eq!(r.status, Status::Fail, "{r:?}");
        assert!(
            r.evidence.contains("PasswordAuthentication no")
                && r.evidence.contains("the SSH probe was offered password login"),
            "{}",
            r.evidence
        );
    }
    // The configuration alone decides when there was no probe.
    assert!(run("PAL-HOST-107", &with_agent(&keys_only, None)).iter().all(|r| r.status == Status::Pass));
    // OpenSSH's defaults (nothing set): passwords on, root by key only (warn), no empty passwords.
    let defaults = with_agent(&[], None);
    assert!(run("PAL-HOST-107", &defaults).iter().all(|r| r.status == Status::Fail));
    for r in run("PAL-HOST-105", &defaults) {
        assert_eq!(r.status, Status::Warn, "{r:?}");
        assert!(r.evidence.contains("PermitRootLogin prohibit-password"), "{}", r.evidence);
    }
    assert!(run("PAL-HOST-106", &defaults).iter().all(|r| r.status == Status::Pass));
    assert!(run("PAL-HOST-105", &with_agent(&[("permitrootlogin", "yes")], None))
        .iter()
        .all(|r| r.status == Status::Fail));
    assert!(run("PAL-HOST-106", &with_agent(&[("permitemptypasswords", "yes")], None))
        .iter()
        .all(|r| r.status == Status::Fail));
}

#[test]
fn file_checks_follow_the_benchmark_for_missing_files_and_unscored_controls() {
    use crate::snapshot::host::FileFacts;
    let mut snap = with_agent(&[], None);
    let file = |path: &str, mode: Option<&str>| FileFacts {
        path: path.into(),
        exists: mode.is_some(),
        kind: mode.map(|_| "file".into()),
        mode: mode.map(str::to_string),
        uid: mode.map(|_| 0),
        gid: mode.map(|_| 0),
        owner: mode.map(|_| "root".into()),
        group: mode.map(|_| "root".into()),
    };
    for r in &mut snap.hosts.items {
        r.facts.files = vec![
            file("/var/lib/kubelet/config.yaml", Some("640")),
            file("/etc/systemd/system/kubelet.service.d/10-kubeadm.conf", None),
            file("/etc/kubernetes/proxy.conf", None),
            file("/etc/kubernetes/kubelet.conf", Some("600")),
        ];
    }
    let status = |id: &str| run(id, &snap).into_iter().map(|r| r.status).collect::<Vec<_>>();
    assert_eq!(status("PAL-HOST-149"), vec![Status::Fail; 2], "640 has a group bit outside 600");
    assert_eq!(status("PAL-HOST-145"), vec![Status::Pass; 2]);
    assert_eq!(status("PAL-HOST-141"), vec![Status::Fail; 2], "4.1.1: a missing service file fails");
    assert_eq!(status("PAL-HOST-142"), vec![Status::Pass; 2], "4.1.2: a missing service file passes");
    assert_eq!(status("PAL-HOST-143"), vec![Status::Warn; 2], "4.1.3 is unscored: missing warns");
    // The control-plane files are judged only on control-plane nodes (cp-1 by its static pods).
    let api = run("PAL-HOST-111", &snap);
    assert_eq!(api.len(), 1, "{api:#?}");
    assert_eq!(api[0].resource.name, "cp-1");
    assert_eq!(api[0].status, Status::Unknown, "the agent did not report the file: {}", api[0].evidence);
}
