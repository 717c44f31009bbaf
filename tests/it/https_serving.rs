//! Palisade serving HTTPS itself (issue 17): certificate and key from files, HSTS and Secure
//! cookies on, and a renewed certificate served without a restart; a broken renewal keeps the old.

use std::time::Duration;

use rcgen::{CertificateParams, DnType, KeyPair};

use crate::helpers::{spawn_app_with, ADMIN_PASSWORD};
use crate::tls_fixture::make_ca;

/// A leaf for 127.0.0.1 with common name `cn`, signed by `ca`: (cert PEM, key PEM).
fn leaf(cn: &str, ca: &rcgen::Certificate, ca_key: &KeyPair) -> (String, String) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).unwrap();
    params.distinguished_name.push(DnType::CommonName, cn);
    (params.signed_by(&key, ca, ca_key).unwrap().pem(), key.serialize_pem())
}

/// A fresh client (no TLS session to resume) trusting `ca_pem` only.
fn client(ca_pem: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(ca_pem.as_bytes()).unwrap())
        .tls_info(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The common name of the certificate the server presents.
async fn served_cn(url: &str, ca_pem: &str) -> String {
    let resp = client(ca_pem).get(url).send().await.unwrap();
    let info = resp.extensions().get::<reqwest::tls::TlsInfo>().unwrap();
    let der = info.peer_certificate().unwrap().to_vec();
    let (_, cert) = x509_parser::parse_x509_certificate(&der).unwrap();
    let cn = cert.subject().iter_common_name().next().unwrap().as_str().unwrap().to_string();
    cn
}

#[tokio::test]
async fn serves_https_from_files_and_reloads_a_renewed_certificate_without_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, ca_key) = make_ca("palisade-test-ca");
    let ca_pem = ca.pem();
    let cert_path = dir.path().join("tls.crt");
    let key_path = dir.path().join("tls.key");
    let (c, k) = leaf("first", &ca, &ca_key);
    std::fs::write(&cert_path, c).unwrap();
    std::fs::write(&key_path, k).unwrap();
    let (cp, kp) = (cert_path.clone(), key_path.clone());
    let app = spawn_app_with(move |s| {
        s.server.tls_cert_file = Some(cp);
        s.server.tls_key_file = Some(kp);
        s.server.tls_reload_secs = 1;
    })
    .await;
    let base = format!("https://127.0.0.1:{}", app.port);

    // HTTPS answers, with HSTS; plain HTTP on the same port does not get a page.
    let resp = client(&ca_pem).get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["strict-transport-security"], "max-age=31536000");
    assert!(reqwest::get(format!("http://127.0.0.1:{}/healthz", app.port))
        .await
        .map(|r| r.status() != 200)
        .unwrap_or(true));
    assert_eq!(served_cn(&format!("{base}/healthz"), &ca_pem).await, "first");

    // The session cookie of a login over HTTPS is Secure.
    let resp = client(&ca_pem)
        .post(format!("{base}/api/v1/auth/login"))
        .json(&serde_json::json!({"username": "admin", "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let cookies: Vec<String> =
        resp.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_string()).collect();
    assert!(!cookies.is_empty() && cookies.iter().all(|c| c.contains("Secure")), "{cookies:?}");

    // A renewed pair is served within a few reload periods, without a restart.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (c, k) = leaf("renewed", &ca, &ca_key);
    std::fs::write(&key_path, k).unwrap();
    std::fs::write(&cert_path, c).unwrap();
    let mut cn = String::new();
    for _ in 0..40 {
        cn = served_cn(&format!("{base}/healthz"), &ca_pem).await;
        if cn == "renewed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(cn, "renewed");

    // A broken renewal (a key that is not a key) keeps the renewed pair in service.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    std::fs::write(&key_path, "not a key").unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(served_cn(&format!("{base}/healthz"), &ca_pem).await, "renewed");
}

#[tokio::test]
async fn a_certificate_without_its_key_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, ca_key) = make_ca("palisade-test-ca");
    let (c, _) = leaf("first", &ca, &ca_key);
    let (_, other_key) = leaf("other", &ca, &ca_key);
    std::fs::write(dir.path().join("tls.crt"), c).unwrap();
    std::fs::write(dir.path().join("tls.key"), other_key).unwrap();
    let mismatch =
        palisade::web::tls::load_certified_key(&dir.path().join("tls.crt"), &dir.path().join("tls.key"))
            .unwrap_err();
    assert!(mismatch.to_string().contains("does not belong"), "{mismatch}");
    let missing =
        palisade::web::tls::load_certified_key(&dir.path().join("none.crt"), &dir.path().join("tls.key"))
            .unwrap_err();
    assert!(missing.to_string().contains("cannot read"), "{missing}");
}
