//! A full TLS 1.2/1.3 handshake with rustls that trusts nothing and records everything: the
//! server's chain (checked against the given CA separately, so an untrusted chain is a fact, not
//! a failed probe), whether it asked for a client certificate, and whether it went on without one.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{ResolvesClientCert, WebPkiServerVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

pub use crate::snapshot::probe::CertFacts;

/// What the handshake showed.
#[derive(Debug, Clone)]
pub struct Handshake {
    pub certificate: Option<CertFacts>,
    /// Version and suite, when the handshake finished.
    pub negotiated: Option<(String, String)>,
    pub client_certificate_required: bool,
    /// Why the handshake did not finish, if it did not.
    pub error: Option<String>,
}

#[derive(Debug, Default)]
struct Seen {
    chain: Option<(Vec<u8>, Result<(), String>)>,
    asked_for_client_cert: bool,
}

#[derive(Debug)]
struct Recorder {
    inner: Option<Arc<WebPkiServerVerifier>>,
    no_ca: &'static str,
    provider: Arc<CryptoProvider>,
    seen: Arc<Mutex<Seen>>,
}

impl ServerCertVerifier for Recorder {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verdict = match &self.inner {
            Some(v) => v
                .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
                .map(|_| ())
                .map_err(|e| e.to_string()),
            None => Err(self.no_ca.to_string()),
        };
        self.seen.lock().expect("probe state").chain = Some((end_entity.to_vec(), verdict));
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

/// Answers a CertificateRequest: with the given certificate, or with none, noting it was asked.
#[derive(Debug)]
struct ClientCert {
    key: Option<Arc<rustls::sign::CertifiedKey>>,
    seen: Arc<Mutex<Seen>>,
}

impl ResolvesClientCert for ClientCert {
    fn resolve(
        &self,
        _hints: &[&[u8]],
        _schemes: &[SignatureScheme],
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        self.seen.lock().expect("probe state").asked_for_client_cert = true;
        self.key.clone()
    }

    fn has_certs(&self) -> bool {
        true
    }
}

/// A client certificate and key, PEM.
pub fn certified_key(
    provider: &CryptoProvider,
    cert_pem: &str,
    key_pem: &str,
) -> Result<Arc<rustls::sign::CertifiedKey>, String> {
    let certs: Vec<CertificateDer<'static>> = rustls_pemfile::certs(&mut cert_pem.as_bytes())
        .collect::<Result<_, _>>()
        .map_err(|e| format!("the client certificate is not PEM: {e}"))?;
    if certs.is_empty() {
        return Err("the client certificate file holds no certificate".into());
    }
    let key = rustls_pemfile::private_key(&mut key_pem.as_bytes())
        .map_err(|e| format!("the client key is not PEM: {e}"))?
        .ok_or("the client key file holds no private key")?;
    let key = provider.key_provider.load_private_key(key).map_err(|e| format!("the client key: {e}"))?;
    Ok(Arc::new(rustls::sign::CertifiedKey::new(certs, key)))
}

/// A client configuration that accepts any server certificate and presents none, speaking
/// HTTP/1.1: how an unauthenticated attacker talks to an HTTPS port. Only the answer's status is a
/// fact here; the certificate is judged by the TLS probe.
pub fn unauthenticated_client() -> rustls::ClientConfig {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let recorder =
        Recorder { inner: None, no_ca: "not verified", provider: provider.clone(), seen: Default::default() };
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .expect("ring supports TLS 1.2 and 1.3")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(recorder))
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    config
}

/// Handshake on `stream` as `server_name`, trusting `ca_pem` for `verified`.
pub async fn handshake(
    stream: TcpStream,
    server_name: &str,
    ca_pem: Option<&str>,
    client: Option<Arc<rustls::sign::CertifiedKey>>,
    timeout: Duration,
) -> Handshake {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let seen = Arc::new(Mutex::new(Seen::default()));
    let (inner, no_ca) = match ca_pem.map(roots) {
        None => (None, "no CA was given to verify against"),
        Some(Err(e)) => {
            return Handshake {
                certificate: None,
                negotiated: None,
                client_certificate_required: false,
                error: Some(e),
            }
        }
        Some(Ok(roots)) => {
            match WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone()).build() {
                Ok(v) => (Some(v), ""),
                Err(e) => {
                    return Handshake {
                        certificate: None,
                        negotiated: None,
                        client_certificate_required: false,
                        error: Some(format!("the CA: {e}")),
                    }
                }
            }
        }
    };
    let had_client_cert = client.is_some();
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .expect("ring supports TLS 1.2 and 1.3")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(Recorder { inner, no_ca, provider, seen: seen.clone() }))
        .with_client_cert_resolver(Arc::new(ClientCert { key: client, seen: seen.clone() }));
    let name = match ServerName::try_from(server_name.to_string()) {
        Ok(n) => n,
        Err(e) => {
            return Handshake {
                certificate: None,
                negotiated: None,
                client_certificate_required: false,
                error: Some(format!("`{server_name}` is not a server name: {e}")),
            }
        }
    };
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let result = tokio::time::timeout(timeout, connector.connect(name, stream)).await;
    let mut out =
        Handshake { certificate: None, negotiated: None, client_certificate_required: false, error: None };
    match result {
        Err(_) => {
            out.error = Some(format!("the handshake did not finish within {} s", timeout.as_secs_f64()))
        }
        Ok(Err(e)) => {
            let asked = seen.lock().expect("probe state").asked_for_client_cert;
            // TLS 1.2 servers refuse a missing client certificate inside the handshake.
            out.client_certificate_required = asked && !had_client_cert;
            out.error = Some(e.to_string());
        }
        Ok(Ok(mut tls)) => {
            let (_, conn) = tls.get_ref();
            out.negotiated = conn.protocol_version().zip(conn.negotiated_cipher_suite()).map(|(v, s)| {
                (
                    match v {
                        rustls::ProtocolVersion::TLSv1_3 => "tls1.3".to_string(),
                        rustls::ProtocolVersion::TLSv1_2 => "tls1.2".to_string(),
                        other => format!("{other:?}"),
                    },
                    super::hello::suite_name(u16::from(s.suite())),
                )
            });
            let asked = seen.lock().expect("probe state").asked_for_client_cert;
            if asked && !had_client_cert {
                // TLS 1.3 servers refuse it after the client's Finished: their alert is the next
                // thing on the wire. Silence means it went on without one.
                let mut byte = [0u8; 1];
                out.client_certificate_required = matches!(
                    tokio::time::timeout(Duration::from_millis(800), tls.read(&mut byte)).await,
                    Ok(Err(_))
                );
            }
        }
    }
    let chain = seen.lock().expect("probe state").chain.take();
    if let Some((der, verdict)) = chain {
        out.certificate = cert_facts(&der, verdict, Utc::now());
    }
    out
}

/// Verify a chain (leaf first, DER) against `ca_pem` for `server_name`, as the handshake does.
pub fn verify_chain(chain: &[Vec<u8>], server_name: &str, ca_pem: Option<&str>) -> Result<(), String> {
    let ca = ca_pem.ok_or("no CA was given to verify against")?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots(ca)?), provider)
        .build()
        .map_err(|e| format!("the CA: {e}"))?;
    let (leaf, rest) = chain.split_first().ok_or("the server sent no certificate")?;
    let intermediates: Vec<CertificateDer<'_>> =
        rest.iter().map(|c| CertificateDer::from(c.as_slice())).collect();
    let name = ServerName::try_from(server_name.to_string()).map_err(|e| format!("`{server_name}`: {e}"))?;
    verifier
        .verify_server_cert(
            &CertificateDer::from(leaf.as_slice()),
            &intermediates,
            &name,
            &[],
            UnixTime::now(),
        )
        .map(|_| ())
        .map_err(|e| e.to_string())
}

fn roots(pem: &str) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    for cert in rustls_pemfile::certs(&mut pem.as_bytes()) {
        let cert = cert.map_err(|e| format!("the CA file is not PEM: {e}"))?;
        roots.add(cert).map_err(|e| format!("the CA file: {e}"))?;
    }
    if roots.is_empty() {
        return Err("the CA file holds no certificate".into());
    }
    Ok(roots)
}

/// The facts of a DER certificate, as of `now`.
pub fn cert_facts(der: &[u8], verdict: Result<(), String>, now: DateTime<Utc>) -> Option<CertFacts> {
    use x509_parser::extensions::GeneralName;
    use x509_parser::public_key::PublicKey;
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let at = |t: &x509_parser::time::ASN1Time| {
        DateTime::<Utc>::from_timestamp(t.timestamp(), 0).unwrap_or_default()
    };
    let (not_before, not_after) = (at(&cert.validity().not_before), at(&cert.validity().not_after));
    let sans = cert
        .subject_alternative_name()
        .ok()
        .flatten()
        .map(|ext| {
            ext.value
                .general_names
                .iter()
                .filter_map(|n| match n {
                    GeneralName::DNSName(d) => Some(d.to_string()),
                    GeneralName::IPAddress(b) => match b.len() {
                        4 => Some(std::net::Ipv4Addr::new(b[0], b[1], b[2], b[3]).to_string()),
                        16 => <[u8; 16]>::try_from(*b).ok().map(|a| std::net::Ipv6Addr::from(a).to_string()),
                        _ => None,
                    },
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    let spki = cert.public_key();
    let key = match spki.parsed() {
        Ok(PublicKey::RSA(rsa)) => format!("rsa-{}", rsa.key_size()),
        Ok(PublicKey::EC(_)) => {
            let curve =
                spki.algorithm.parameters.as_ref().and_then(|p| p.as_oid().ok()).map(|o| o.to_id_string());
            match curve.as_deref() {
                Some("1.2.840.10045.3.1.7") => "ecdsa-p256".into(),
                Some("1.3.132.0.34") => "ecdsa-p384".into(),
                Some("1.3.132.0.35") => "ecdsa-p521".into(),
                Some(other) => format!("ecdsa-{other}"),
                None => "ecdsa".into(),
            }
        }
        _ if spki.algorithm.algorithm.to_id_string() == "1.3.101.112" => "ed25519".into(),
        _ => spki.algorithm.algorithm.to_id_string(),
    };
    let signature = x509_parser::objects::oid2sn(
        &cert.signature_algorithm.algorithm,
        x509_parser::objects::oid_registry(),
    )
    .map(str::to_string)
    .unwrap_or_else(|_| cert.signature_algorithm.algorithm.to_id_string());
    let days_left = (not_after - now).num_seconds().div_euclid(86_400);
    Some(CertFacts {
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        sans,
        not_before,
        not_after,
        days_left,
        expired: now > not_after,
        key,
        signature,
        self_signed: cert.subject().as_raw() == cert.issuer().as_raw(),
        verified: verdict.is_ok(),
        verify_error: verdict.err(),
    })
}
