//! The agentless SSH probe (issue 14) against real OpenSSH servers started with the configurations
//! a fleet has: password login on, off with root `prohibit-password`, keys only with modern
//! algorithms, a `Match User root` exception, and broken algorithms added back. Expected facts
//! come from each configuration, not from Palisade's output.

use std::process::Command;
use std::time::Duration;

use palisade::collect::probe::ssh::{probe_ssh, SshFacts};
use palisade::egress::Egress;
use serde_json::Value;

use crate::sshd_support::Sshd;

async fn probe(sshd: &Sshd) -> SshFacts {
    probe_ssh(&Egress::loopback_only(), "127.0.0.1", sshd.port, Duration::from_secs(5)).await
}

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[tokio::test]
async fn password_login_on_is_seen_for_any_user_and_the_default_algorithms_flag_nist_and_sha1() {
    let dir = tempfile::tempdir().unwrap();
    let sshd = Sshd::start(dir.path(), "PasswordAuthentication yes\nKbdInteractiveAuthentication yes\n");
    let f = probe(&sshd).await;
    assert!(f.probed(), "{f:?}");
    assert!(f.banner.as_deref().unwrap().starts_with("SSH-2.0-OpenSSH_"), "{:?}", f.banner);
    assert_eq!(f.auth_methods, Some(strs(&["publickey", "password", "keyboard-interactive"])));
    assert_eq!(f.root_auth_methods, f.auth_methods);
    assert_eq!(f.password_auth, Some(true));
    assert!(!f.none_accepted);
    // OpenSSH's defaults: the NIST curves, an ECDSA host key, SHA-1 and 64-bit-tag MACs.
    assert!(f.kex.contains(&"curve25519-sha256".to_string()));
    assert!(f.weak.kex.contains(&"ecdh-sha2-nistp256".to_string()), "{:?}", f.weak);
    assert_eq!(f.weak.host_key, strs(&["ecdsa-sha2-nistp256"]));
    assert!(f.weak.ciphers.is_empty(), "{:?}", f.weak);
    assert!(f.weak.macs.contains(&"hmac-sha1".to_string()));
    assert!(!f.weak.kex.contains(&"curve25519-sha256".to_string()));
    // The fingerprint is the one ssh-keygen prints for the host key the exchange picked (ed25519).
    let keygen =
        Command::new("ssh-keygen").arg("-lf").arg(dir.path().join("host_ed25519.pub")).output().unwrap();
    let printed = String::from_utf8_lossy(&keygen.stdout).to_string();
    let fp = f.host_key_fingerprint.clone().unwrap();
    assert!(printed.contains(&fp), "{printed} vs {fp}");
}

#[tokio::test]
async fn password_off_with_root_prohibit_password_offers_keys_only() {
    let dir = tempfile::tempdir().unwrap();
    let sshd = Sshd::start(
        dir.path(),
        "PasswordAuthentication no\nKbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\n",
    );
    let f = probe(&sshd).await;
    assert_eq!(f.auth_methods, Some(strs(&["publickey"])), "{f:?}");
    assert_eq!(f.root_auth_methods, Some(strs(&["publickey"])));
    assert_eq!(f.password_auth, Some(false));
}

#[tokio::test]
async fn keys_only_with_modern_algorithms_has_nothing_weak() {
    let dir = tempfile::tempdir().unwrap();
    let sshd = Sshd::start(
        dir.path(),
        "PasswordAuthentication no\nKbdInteractiveAuthentication no\nPermitRootLogin no\n\
         KexAlgorithms sntrup761x25519-sha512@openssh.com,curve25519-sha256\n\
         HostKeyAlgorithms ssh-ed25519,rsa-sha2-512\n\
         Ciphers chacha20-poly1305@openssh.com,aes256-gcm@openssh.com\n\
         MACs hmac-sha2-512-etm@openssh.com,hmac-sha2-256-etm@openssh.com\n",
    );
    let f = probe(&sshd).await;
    assert!(f.weak.is_empty(), "{:?}", f.weak);
    assert_eq!(f.password_auth, Some(false));
    assert!(f.host_key.iter().all(|h| h == "ssh-ed25519" || h == "rsa-sha2-512"), "{:?}", f.host_key);
    assert!(f.to_table().contains("weak algorithms: none"), "{}", f.to_table());
}

#[tokio::test]
async fn a_match_block_that_lets_root_use_a_password_is_caught_on_the_root_connection() {
    let dir = tempfile::tempdir().unwrap();
    let sshd = Sshd::start(
        dir.path(),
        "PasswordAuthentication no\nKbdInteractiveAuthentication no\nMatch User root\n  PasswordAuthentication yes\n",
    );
    let f = probe(&sshd).await;
    assert_eq!(f.auth_methods, Some(strs(&["publickey"])), "{f:?}");
    assert_eq!(f.root_auth_methods, Some(strs(&["publickey", "password"])));
    assert_eq!(f.password_auth, Some(true));
}

#[tokio::test]
async fn broken_algorithms_added_back_are_each_flagged_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let sshd = Sshd::start(
        dir.path(),
        "KexAlgorithms +diffie-hellman-group1-sha1,diffie-hellman-group14-sha1\nCiphers +3des-cbc,aes128-cbc\n\
         MACs +hmac-md5\nHostKeyAlgorithms +ssh-rsa\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n",
    );
    let f = probe(&sshd).await;
    for (list, alg) in [
        (&f.weak.kex, "diffie-hellman-group1-sha1"),
        (&f.weak.kex, "diffie-hellman-group14-sha1"),
        (&f.weak.ciphers, "3des-cbc"),
        (&f.weak.ciphers, "aes128-cbc"),
        (&f.weak.macs, "hmac-md5"),
        (&f.weak.host_key, "ssh-rsa"),
    ] {
        assert!(list.contains(&alg.to_string()), "{alg} not flagged: {:?}", f.weak);
    }
    assert!(!f.weak.host_key.contains(&"rsa-sha2-512".to_string()));
    let table = f.to_table();
    assert!(table.contains("ciphers 3des-cbc: 3DES"), "{table}");
    assert!(table.contains("kex diffie-hellman-group1-sha1: a 1024-bit group"), "{table}");
    assert!(table.contains("password login possible: no"), "{table}");
}

#[tokio::test]
async fn gcm_and_p384_servers_are_spoken_to_and_one_with_no_common_cipher_is_unknown_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let gcm = Sshd::start(
        dir.path(),
        "KexAlgorithms ecdh-sha2-nistp384\nCiphers aes128-gcm@openssh.com\nPasswordAuthentication no\n",
    );
    let f = probe(&gcm).await;
    assert_eq!(f.auth_methods, Some(strs(&["publickey", "keyboard-interactive"])), "{f:?}");
    assert_eq!(f.password_auth, Some(true));
    let ctr = Sshd::start(dir.path(), "Ciphers aes128-ctr\nPasswordAuthentication no\n");
    let f = probe(&ctr).await;
    assert!(f.probed(), "{f:?}");
    assert_eq!(f.ciphers, strs(&["aes128-ctr"]));
    assert_eq!(f.password_auth, None);
    assert!(f.auth_error.as_deref().unwrap().contains("no cipher in common"), "{:?}", f.auth_error);
    assert!(
        f.to_table().contains("password login possible: unknown (no cipher in common"),
        "{}",
        f.to_table()
    );
}

#[tokio::test]
async fn a_closed_port_a_non_ssh_server_and_a_refused_address_each_say_why() {
    let closed = crate::sshd_support::free_port();
    let f = probe_ssh(&Egress::loopback_only(), "127.0.0.1", closed, Duration::from_secs(2)).await;
    assert!(!f.reachable && f.reason.is_some(), "{f:?}");
    let http = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = http.local_addr().unwrap().port();
    tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        while let Ok((mut s, _)) = http.accept().await {
            let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n").await;
        }
    });
    let f = probe_ssh(&Egress::loopback_only(), "127.0.0.1", port, Duration::from_secs(2)).await;
    assert!(f.reachable && !f.probed(), "{f:?}");
    assert!(f.reason.as_deref().unwrap().contains("not an SSH server"), "{:?}", f.reason);
    let f = probe_ssh(&Egress::loopback_only(), "10.0.0.1", 22, Duration::from_secs(2)).await;
    assert!(!f.reachable);
    assert!(f.reason.as_deref().unwrap().contains("allow list"), "{:?}", f.reason);
}

#[test]
fn the_cli_prints_the_documented_json_and_exits_2_when_it_cannot_probe() {
    let dir = tempfile::tempdir().unwrap();
    let sshd = Sshd::start(dir.path(), "PasswordAuthentication yes\n");
    let run = |endpoint: &str| {
        Command::new(env!("CARGO_BIN_EXE_palisade"))
            .args(["probe", "ssh", endpoint, "--format", "json"])
            .env("PALISADE__EGRESS__ALLOW", "127.0.0.0/8,::1/128")
            .output()
            .unwrap()
    };
    let out = run(&sshd.endpoint());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    for key in [
        "endpoint",
        "reachable",
        "banner",
        "kex",
        "host_key",
        "ciphers",
        "macs",
        "weak",
        "auth_methods",
        "password_auth",
    ] {
        assert!(v.get(key).is_some(), "no {key} in {v}");
    }
    assert_eq!(v["password_auth"], true);
    assert_eq!(v["endpoint"], sshd.endpoint());
    let out = run(&format!("127.0.0.1:{}", crate::sshd_support::free_port()));
    assert_eq!(out.status.code(), Some(2));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["reachable"], false);
}

/// `palisade scan --from DIR --probe --ssh-port PORT` on a dump of one node at 127.0.0.1.
fn offline_scan(port: u16) -> Vec<Value> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("nodes.yaml"),
        "apiVersion: v1\nkind: Node\nmetadata: {name: node-1}\nstatus:\n  addresses:\n  - {type: InternalIP, address: 127.0.0.1}\n  daemonEndpoints:\n    kubeletEndpoint: {Port: 1}\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_palisade"))
        .args(["scan", "--from"])
        .arg(dir.path())
        .args(["--probe", "--probe-timeout", "3s", "--format", "json", "--quiet", "--ssh-port"])
        .arg(port.to_string())
        .env("PALISADE__EGRESS__ALLOW", "127.0.0.0/8,::1/128")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    report["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["check_id"].as_str().unwrap().starts_with("PAL-HOST-1"))
        .cloned()
        .collect()
}

fn verdict<'a>(results: &'a [Value], id: &str) -> &'a Value {
    let of: Vec<&Value> = results.iter().filter(|r| r["check_id"] == id).collect();
    assert_eq!(of.len(), 1, "{id}: {of:#?}");
    of[0]
}

#[test]
fn an_offline_scan_with_probe_judges_each_nodes_real_sshd() {
    let dir = tempfile::tempdir().unwrap();
    let open = Sshd::start(dir.path(), "PasswordAuthentication yes\nKbdInteractiveAuthentication no\n");
    let results = offline_scan(open.port);
    let r = verdict(&results, "PAL-HOST-101");
    assert_eq!(r["status"], "fail", "{r:#}");
    assert_eq!(r["resource"]["name"], "node-1");
    assert!(r["evidence"].as_str().unwrap().contains("offers publickey,password"), "{r:#}");
    assert_eq!(verdict(&results, "PAL-HOST-102")["status"], "pass");
    assert_eq!(verdict(&results, "PAL-HOST-103")["status"], "pass");
    assert_eq!(verdict(&results, "PAL-HOST-104")["status"], "fail");

    let hardened = Sshd::start(
        dir.path(),
        "PasswordAuthentication no\nKbdInteractiveAuthentication no\nKexAlgorithms curve25519-sha256\n\
         HostKeyAlgorithms ssh-ed25519\nCiphers aes256-gcm@openssh.com\nMACs hmac-sha2-256-etm@openssh.com\n",
    );
    let results = offline_scan(hardened.port);
    for id in ["PAL-HOST-101", "PAL-HOST-102", "PAL-HOST-103", "PAL-HOST-104"] {
        assert_eq!(verdict(&results, id)["status"], "pass", "{id}: {results:#?}");
    }

    // Nothing listens: every SSH check is unknown with the reason, never a pass.
    let results = offline_scan(crate::sshd_support::free_port());
    for id in ["PAL-HOST-101", "PAL-HOST-104"] {
        let r = verdict(&results, id);
        assert_eq!(r["status"], "unknown", "{r:#}");
        assert!(r["evidence"].as_str().unwrap().contains("could not be probed"), "{r:#}");
    }
}
