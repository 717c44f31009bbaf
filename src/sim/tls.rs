//! The simulator's PKI and TLS: a fresh CA per server, a serving certificate for 127.0.0.1 and
//! localhost, a client certificate for the certificate identity, and the rustls (ring) server
//! configuration that accepts either a client certificate signed by the CA or none (bearer
//! tokens then).

use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose, SanType,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::WebPkiClientVerifier;

use super::settings::Identity;

/// Certificates generated for one simulated cluster.
pub struct Pki {
    pub ca_pem: String,
    ca_der: CertificateDer<'static>,
    server_chain: Vec<CertificateDer<'static>>,
    server_key: PrivateKeyDer<'static>,
    /// PEM client certificate and key for the certificate identity.
    pub client_cert_pem: String,
    pub client_key_pem: String,
    /// The CA itself, to issue the serving certificates of kubelets that bootstrap theirs.
    pub ca: Authority,
}

impl std::fmt::Debug for Pki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pki").field("ca_pem", &"[certificate]").finish_non_exhaustive()
    }
}

fn dn(cn: &str, orgs: &[String]) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    for o in orgs {
        dn.push(DnType::OrganizationName, o.as_str());
    }
    dn.push(DnType::CommonName, cn);
    dn
}

impl Pki {
    /// Generate a CA named after the cluster, a serving certificate for `hosts` and a client
    /// certificate whose subject is the identity (CN = user, O = groups, as Kubernetes reads it).
    pub fn generate(cluster: &str, hosts: &[String], client: &Identity) -> Result<Self, rcgen::Error> {
        let ca_key = KeyPair::generate()?;
        let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
        ca_params.distinguished_name = dn(&format!("palisade-sim-ca ({cluster})"), &[]);
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages =
            vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
        let ca = ca_params.self_signed(&ca_key)?;

        let server_key = KeyPair::generate()?;
        let mut sp = CertificateParams::new(Vec::<String>::new())?;
        sp.distinguished_name = dn("kube-apiserver", &[]);
        sp.subject_alt_names = Vec::new();
        for h in hosts.iter().chain(["kubernetes".to_string(), "kubernetes.default.svc".to_string()].iter()) {
            match h.parse::<std::net::IpAddr>() {
                Ok(ip) => sp.subject_alt_names.push(SanType::IpAddress(ip)),
                Err(_) => sp.subject_alt_names.push(SanType::DnsName(h.clone().try_into()?)),
            }
        }
        sp.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        sp.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
        let server = sp.signed_by(&server_key, &ca, &ca_key)?;

        let client_key = KeyPair::generate()?;
        let mut cp = CertificateParams::new(Vec::<String>::new())?;
        let orgs: Vec<String> =
            client.groups.iter().filter(|g| *g != "system:authenticated").cloned().collect();
        cp.distinguished_name = dn(&client.user, &orgs);
        cp.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        cp.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
        let client_cert = cp.signed_by(&client_key, &ca, &ca_key)?;

        Ok(Self {
            ca_pem: ca.pem(),
            ca_der: ca.der().clone(),
            server_chain: vec![server.der().clone(), ca.der().clone()],
            server_key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der())),
            client_cert_pem: client_cert.pem(),
            client_key_pem: client_key.serialize_pem(),
            ca: Authority { cert: ca, key: ca_key },
        })
    }

    /// A rustls server configuration: ring provider, the given lowest protocol version, HTTP/2
    /// and HTTP/1.1 by ALPN, client certificates optional but verified against the CA.
    pub fn server_config(
        &self,
        min_version: &'static rustls::SupportedProtocolVersion,
    ) -> Result<rustls::ServerConfig, rustls::Error> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.ca_der.clone())?;
        let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
            .allow_unauthenticated()
            .build()
            .map_err(|e| rustls::Error::General(format!("client verifier: {e}")))?;
        let versions: &[&'static rustls::SupportedProtocolVersion] = if min_version == &rustls::version::TLS13
        {
            &[&rustls::version::TLS13]
        } else {
            &[&rustls::version::TLS13, &rustls::version::TLS12]
        };
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(versions)?
            .with_client_cert_verifier(verifier)
            .with_single_cert(self.server_chain.clone(), self.server_key.clone_key())?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(config)
    }
}

/// A certificate authority that issues more certificates (the cluster CA for kubelets that
/// bootstrap their serving certificates, a separate etcd CA as kubeadm makes).
pub struct Authority {
    cert: rcgen::Certificate,
    key: KeyPair,
}

/// A serving certificate chain and its key.
pub struct Served {
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
}

fn leaf_params(cn: &str, hosts: &[String]) -> Result<CertificateParams, rcgen::Error> {
    let mut p = CertificateParams::new(Vec::<String>::new())?;
    p.distinguished_name = dn(cn, &[]);
    for h in hosts {
        match h.parse::<std::net::IpAddr>() {
            Ok(ip) => p.subject_alt_names.push(SanType::IpAddress(ip)),
            Err(_) => p.subject_alt_names.push(SanType::DnsName(h.clone().try_into()?)),
        }
    }
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth, ExtendedKeyUsagePurpose::ClientAuth];
    p.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
    Ok(p)
}

impl Authority {
    pub fn generate(cn: &str) -> Result<Self, rcgen::Error> {
        let key = KeyPair::generate()?;
        let mut p = CertificateParams::new(Vec::<String>::new())?;
        p.distinguished_name = dn(cn, &[]);
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.key_usages =
            vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
        let cert = p.self_signed(&key)?;
        Ok(Self { cert, key })
    }

    pub fn pem(&self) -> String {
        self.cert.pem()
    }

    pub fn der(&self) -> CertificateDer<'static> {
        self.cert.der().clone()
    }

    /// A leaf for `hosts` signed by this authority (server and client use), with the CA in its chain.
    pub fn issue(&self, cn: &str, hosts: &[String]) -> Result<Served, rcgen::Error> {
        let key = KeyPair::generate()?;
        let cert = leaf_params(cn, hosts)?.signed_by(&key, &self.cert, &self.key)?;
        Ok(Served {
            chain: vec![cert.der().clone(), self.cert.der().clone()],
            key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        })
    }

    /// A leaf and key as PEM (for a client certificate handed to a test).
    pub fn issue_pem(&self, cn: &str) -> Result<(String, String), rcgen::Error> {
        let key = KeyPair::generate()?;
        let cert = leaf_params(cn, &[])?.signed_by(&key, &self.cert, &self.key)?;
        Ok((cert.pem(), key.serialize_pem()))
    }
}

/// A self-signed leaf, as a kubelet or a controller makes for itself when given no certificate.
pub fn self_signed(cn: &str, hosts: &[String]) -> Result<Served, rcgen::Error> {
    let key = KeyPair::generate()?;
    let cert = leaf_params(cn, hosts)?.self_signed(&key)?;
    Ok(Served {
        chain: vec![cert.der().clone()],
        key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
    })
}

/// A rustls (ring) server configuration for one endpoint: `min` as the lowest version, HTTP/1.1,
/// and client certificates from `clients` required when given (none asked for otherwise).
pub fn endpoint_config(
    served: Served,
    min: &'static rustls::SupportedProtocolVersion,
    clients: Option<CertificateDer<'static>>,
) -> Result<rustls::ServerConfig, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let versions: &[&'static rustls::SupportedProtocolVersion] = if min == &rustls::version::TLS13 {
        &[&rustls::version::TLS13]
    } else {
        &[&rustls::version::TLS13, &rustls::version::TLS12]
    };
    let builder =
        rustls::ServerConfig::builder_with_provider(provider.clone()).with_protocol_versions(versions)?;
    let builder = match clients {
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            roots.add(ca)?;
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| rustls::Error::General(format!("client verifier: {e}")))?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let mut config = builder.with_single_cert(served.chain, served.key)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// The Kubernetes user a verified client certificate names: CN is the user, each O a group.
pub fn cert_subject(der: &[u8]) -> Option<(String, Vec<String>)> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let subject = cert.subject();
    let cn = subject.iter_common_name().next()?.as_str().ok()?.to_string();
    let orgs = subject.iter_organization().filter_map(|o| o.as_str().ok().map(str::to_string)).collect();
    Some((cn, orgs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_certificate_names_the_identity_as_kubernetes_reads_it() {
        let pki =
            Pki::generate("t", &["127.0.0.1".into(), "localhost".into()], &Identity::auditor()).unwrap();
        let der = rustls_pemfile::certs(&mut pki.client_cert_pem.as_bytes()).next().unwrap().unwrap();
        let (cn, orgs) = cert_subject(&der).unwrap();
        assert_eq!(cn, "palisade-auditor");
        assert_eq!(orgs, vec!["palisade:auditors".to_string()]);
        assert!(pki.server_config(&rustls::version::TLS13).is_ok());
    }
}
