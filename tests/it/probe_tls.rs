//! `palisade probe tls` against real TLS servers: `openssl s_server` speaking TLS 1.0 with weak
//! suites, serving an expired certificate, a certificate from another CA, and requiring client
//! certificates. Loopback only, through the egress allow list.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose, SanType};
use serde_json::Value;

/// An `openssl s_server` on a free loopback port, killed on drop.
struct SServer {
    child: Child,
    port: u16,
}

impl SServer {
    fn start(dir: &Path, cert: &str, key: &str, extra: &[&str]) -> SServer {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new("openssl")
            .args([
                "s_server",
                "-accept",
                &format!("127.0.0.1:{port}"),
                "-cert",
                cert,
                "-key",
                key,
                "-www",
                "-quiet",
            ])
            .args(extra)
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("openssl is installed (scripts/test.sh installs it)");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "openssl s_server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        SServer { child, port }
    }
}

impl Drop for SServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn probe(port: u16, extra: &[&str]) -> (Option<i32>, Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_palisade"))
        .args(["probe", "tls", &format!("127.0.0.1:{port}"), "--format", "json"])
        .args(extra)
        .env("PALISADE__EGRESS__ALLOW", "127.0.0.0/8,::1/128")
        .output()
        .unwrap();
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    });
    (out.status.code(), json)
}

/// A CA and a leaf for 127.0.0.1 it signed, valid from `from` to `to` (years); PEM files in `dir`.
fn pki(dir: &Path, name: &str, from: i32, to: i32) -> (PathBuf, PathBuf, PathBuf) {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.distinguished_name.push(DnType::CommonName, format!("{name} CA"));
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let mut leaf = CertificateParams::new(Vec::<String>::new()).unwrap();
    leaf.distinguished_name.push(DnType::CommonName, format!("{name} server"));
    leaf.subject_alt_names = vec![SanType::IpAddress("127.0.0.1".parse().unwrap())];
    leaf.not_before = rcgen::date_time_ymd(from, 1, 1);
    leaf.not_after = rcgen::date_time_ymd(to, 1, 1);
    let leaf_cert = leaf.signed_by(&key, &ca_cert, &ca_key).unwrap();
    let paths = (
        dir.join(format!("{name}-ca.pem")),
        dir.join(format!("{name}.pem")),
        dir.join(format!("{name}.key")),
    );
    std::fs::write(&paths.0, ca_cert.pem()).unwrap();
    std::fs::write(&paths.1, leaf_cert.pem()).unwrap();
    std::fs::write(&paths.2, key.serialize_pem()).unwrap();
    paths
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn tls_1_0_and_weak_suites_are_detected_with_the_certificate_seen_in_the_clear() {
    let dir = tempfile::tempdir().unwrap();
    let ok = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "rsa.key", "-out", "rsa.pem",
            "-days", "30",
        ])
        .args(["-subj", "/CN=legacy", "-addext", "subjectAltName=IP:127.0.0.1"])
        .current_dir(dir.path())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(ok.success());
    let server =
        SServer::start(dir.path(), "rsa.pem", "rsa.key", &["-tls1", "-cipher", "DEFAULT:@SECLEVEL=0"]);
    let (code, facts) = probe(server.port, &["--ca", s(&dir.path().join("rsa.pem"))]);
    assert_eq!(code, Some(0), "{facts}");
    assert_eq!(facts["reachable"], true);
    let p = &facts["protocols"];
    assert_eq!((p["tls1.0"].as_bool(), p["tls1.1"].as_bool()), (Some(true), Some(false)), "{facts}");
    assert_eq!((p["tls1.2"].as_bool(), p["tls1.3"].as_bool()), (Some(false), Some(false)), "{facts}");
    assert_eq!(facts["negotiated"]["version"], "tls1.0");
    let weak: Vec<&str> =
        facts["weak_ciphers_accepted"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert!(weak.contains(&"TLS_RSA_WITH_AES_128_CBC_SHA"), "RSA key exchange with CBC-SHA1: {weak:?}");
    let cert = &facts["certificate"];
    assert_eq!(cert["subject"], "CN=legacy");
    assert_eq!(cert["key"], "rsa-2048");
    assert_eq!(cert["self_signed"], true);
    assert_eq!(cert["sans"], serde_json::json!(["127.0.0.1"]));
    assert!(cert["days_left"].as_i64().unwrap() >= 29);
}

#[test]
fn expired_and_foreign_certificates_and_required_client_certificates_are_facts() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = pki(dir.path(), "cluster", 2020, 2021);
    let (other_ca, other_cert, other_key) = pki(dir.path(), "other", 2025, 2035);

    // An expired leaf of the cluster CA, on TLS 1.2 and 1.3 with strong suites only.
    let expired = SServer::start(dir.path(), s(&cert), s(&key), &["-cipher", "ECDHE+AESGCM"]);
    let (code, facts) = probe(expired.port, &["--ca", s(&ca)]);
    assert_eq!(code, Some(0), "{facts}");
    let c = &facts["certificate"];
    assert_eq!((c["expired"].as_bool(), c["verified"].as_bool()), (Some(true), Some(false)), "{facts}");
    assert!(c["verify_error"].as_str().unwrap().contains("expired"), "{c}");
    assert!(c["days_left"].as_i64().unwrap() < -300);
    assert_eq!(c["key"], "ecdsa-p256");
    assert_eq!(c["issuer"], "CN=cluster CA");
    assert_eq!(facts["protocols"]["tls1.0"], false);
    assert_eq!(facts["weak_ciphers_accepted"], serde_json::json!([]), "{facts}");
    assert_eq!(facts["client_certificate_required"], false);

    // A valid certificate from another CA: fine on its own, not from the cluster's CA.
    let foreign = SServer::start(dir.path(), s(&other_cert), s(&other_key), &[]);
    let (_, facts) = probe(foreign.port, &["--ca", s(&ca)]);
    assert_eq!(facts["certificate"]["verified"], false, "{facts}");
    assert!(facts["certificate"]["verify_error"].as_str().unwrap().contains("UnknownIssuer"), "{facts}");
    let (_, facts) = probe(foreign.port, &["--ca", s(&other_ca)]);
    assert_eq!(facts["certificate"]["verified"], true, "{facts}");
    assert_eq!(facts["certificate"]["verify_error"], Value::Null);

    // -Verify 1: a client certificate is required. The probe says so, and with one it finishes.
    let (client_ca, client_cert, client_key) = pki(dir.path(), "client", 2025, 2035);
    let strict = SServer::start(
        dir.path(),
        s(&other_cert),
        s(&other_key),
        &["-Verify", "1", "-CAfile", s(&client_ca)],
    );
    let (_, facts) = probe(strict.port, &["--ca", s(&other_ca)]);
    assert_eq!(facts["client_certificate_required"], true, "{facts}");
    assert_eq!(facts["certificate"]["verified"], true, "the server's certificate is read all the same");
    let (_, with) = probe(
        strict.port,
        &["--ca", s(&other_ca), "--client-cert", s(&client_cert), "--client-key", s(&client_key)],
    );
    assert_eq!(with["client_certificate_required"], true);
    assert_eq!(with["negotiated"]["version"], "tls1.3", "{with}");
}

#[test]
fn unreachable_endpoints_and_the_egress_policy_stop_the_probe_with_the_reason() {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let (code, facts) = probe(port, &[]);
    assert_eq!(code, Some(2));
    assert_eq!(facts["reachable"], false);
    assert!(facts["reason"].as_str().unwrap().contains("refused"), "{facts}");
    assert_eq!(facts["protocols"]["tls1.2"], Value::Null);

    let out = Command::new(env!("CARGO_BIN_EXE_palisade"))
        .args(["probe", "tls", "10.0.0.1:6443", "--format", "json"])
        .env("PALISADE__EGRESS__ALLOW", "127.0.0.0/8,::1/128")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let facts: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(facts["reason"].as_str().unwrap().contains("egress"), "nothing is sent off the machine: {facts}");

    // A plain-text HTTP server is reachable but not TLS.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        for mut conn in listener.incoming().flatten() {
            let mut buf = [0u8; 1024];
            let _ = conn.read(&mut buf);
            let _ = conn.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
        }
    });
    let (code, facts) = probe(port, &[]);
    assert_eq!(code, Some(2));
    assert_eq!(facts["reachable"], true);
    assert!(facts["reason"].as_str().unwrap().contains("not a TLS"), "{facts}");
}
