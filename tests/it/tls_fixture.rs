//! A tiny real HTTPS server answering `GET /version` like a Kubernetes API server, with a
//! certificate from a throw-away CA. Used to see connectivity checks succeed, and fail with the
//! TLS error in words (untrusted CA, wrong host name), and hostile variants: an endless body, an
//! HTML 404 page, an answer trickling in byte by byte.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A running fixture.
pub struct VersionServer {
    /// `https://127.0.0.1:<port>`
    pub url: String,
    /// The CA that signed the server certificate.
    pub ca_pem: String,
}

/// A CA and its key.
pub fn make_ca(name: &str) -> (rcgen::Certificate, KeyPair) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    (params.self_signed(&key).unwrap(), key)
}

/// How a fixture answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// `/version` as a Kubernetes API server would; lists empty.
    Kubernetes,
    /// `/version` streams a JSON body that never ends; lists empty.
    EndlessVersion,
    /// `/version` answers; every list call streams a body that never ends.
    EndlessLists,
    /// Every answer is a body that never ends (benches/hostile.rs).
    #[allow(dead_code)]
    EndlessEverywhere,
    /// Every path answers `404` with an HTML page holding this marker.
    Html404(&'static str),
    /// Every path sends its headers, then one byte every 200 ms, forever.
    ByteByByte,
    /// Every path answers `302 Found` to the same path on `https://127.0.0.1:<port>`.
    Redirect(u16),
}

/// A running fixture.
pub struct HostileServer {
    pub url: String,
    pub ca_pem: String,
    /// TCP connections accepted so far (a refused address must see none).
    pub connections: Arc<AtomicUsize>,
}

const VERSION: &str = r#"{"major":"1","minor":"33","gitVersion":"v1.33.1","gitCommit":"abc","gitTreeState":"clean","buildDate":"2025-05-01T00:00:00Z","goVersion":"go1.24","compiler":"gc","platform":"linux/amd64"}"#;

/// Serve `/version` over TLS with a certificate for `names`, signed by a fresh CA.
pub async fn spawn_version_server(names: &[&str]) -> VersionServer {
    let s = spawn_server(names, Behaviour::Kubernetes).await;
    VersionServer { url: s.url, ca_pem: s.ca_pem }
}

/// Serve HTTPS on 127.0.0.1 with a certificate for `names` (signed by a fresh CA), answering
/// every request as `behaviour` says.
pub async fn spawn_server(names: &[&str], behaviour: Behaviour) -> HostileServer {
    let (ca, ca_key) = make_ca("fixture-ca");
    let leaf_key = KeyPair::generate().unwrap();
    let params = CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
    let leaf = params.signed_by(&leaf_key, &ca, &ca_key).unwrap();
    let certs = vec![leaf.der().clone()];
    let key = rustls::pki_types::PrivateKeyDer::try_from(leaf_key.serialize_der()).unwrap();
    let config =
        rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let connections = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&connections);
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else { return };
            count.fetch_add(1, Ordering::SeqCst);
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else { return };
                let mut buf = vec![0u8; 8192];
                let mut got = Vec::new();
                while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => got.extend_from_slice(&buf[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&got).to_string();
                let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
                answer(&mut tls, behaviour, &path).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    HostileServer { url: format!("https://127.0.0.1:{port}"), ca_pem: ca.pem(), connections }
}

async fn answer<S: tokio::io::AsyncWrite + Unpin>(tls: &mut S, behaviour: Behaviour, path: &str) {
    let is_list = path.contains("limit=");
    let fixed = |status: &str, ct: &str, body: &str| {
        format!(
            "HTTP/1.1 {status}\r\ncontent-type: {ct}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
    };
    let empty_list = r#"{"kind":"List","apiVersion":"v1","metadata":{},"items":[]}"#;
    match behaviour {
        Behaviour::Html404(marker) => {
            let page = format!("<html><body><h1>Not here</h1><p>{marker}</p></body></html>");
            let _ = tls.write_all(fixed("404 Not Found", "text/html; charset=utf-8", &page).as_bytes()).await;
        }
        Behaviour::ByteByByte => {
            let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100000\r\nconnection: close\r\n\r\n";
            if tls.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            loop {
                if tls.write_all(b" ").await.is_err() || tls.flush().await.is_err() {
                    return;
                }
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
        }
        Behaviour::Redirect(port) => {
            let head = format!(
                "HTTP/1.1 302 Found\r\nlocation: https://127.0.0.1:{port}{path}\r\ncontent-type: text/html\r\n\
                 content-length: 0\r\nconnection: close\r\n\r\n"
            );
            let _ = tls.write_all(head.as_bytes()).await;
        }
        Behaviour::EndlessEverywhere => endless(tls).await,
        Behaviour::EndlessVersion if path.starts_with("/version") => endless(tls).await,
        Behaviour::EndlessLists if is_list => endless(tls).await,
        _ if path.starts_with("/version") => {
            let _ = tls.write_all(fixed("200 OK", "application/json", VERSION).as_bytes()).await;
        }
        _ if is_list => {
            let _ = tls.write_all(fixed("200 OK", "application/json", empty_list).as_bytes()).await;
        }
        _ => {
            let status = r#"{"kind":"Status","apiVersion":"v1","status":"Failure","message":"not found","reason":"NotFound","code":404}"#;
            let _ = tls.write_all(fixed("404 Not Found", "application/json", status).as_bytes()).await;
        }
    }
}

/// A chunked JSON body that never ends, as fast as the peer reads it.
async fn endless<S: tokio::io::AsyncWrite + Unpin>(tls: &mut S) {
    let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n";
    if tls.write_all(head.as_bytes()).await.is_err() {
        return;
    }
    let piece = "{\"kind\":\"Pod\",\"metadata\":{\"name\":\"x\"}},".repeat(1500);
    let chunk = format!("{:x}\r\n{piece}\r\n", piece.len());
    let _ = tls.write_all(b"6\r\n{\"a\":[\r\n").await;
    while tls.write_all(chunk.as_bytes()).await.is_ok() {}
}
