//! Live probes: connect to an endpoint the way an attacker on the network would and record what
//! it actually does, as `probe` evidence (issue 13). Every connection goes through the egress
//! policy; an endpoint outside it is never dialled.
//!
//! `probe_tls` answers, for one `host:port`:
//! - which protocol versions it accepts: a raw ClientHello per version (TLS 1.0 and 1.1 too, which
//!   rustls will not speak), read up to the ServerHello or the alert ([`hello`]);
//! - which weak suites it accepts (RC4, 3DES, CBC with SHA-1, RSA key exchange, NULL, EXPORT):
//!   offered all at once, the one it picks is recorded and withdrawn, until it refuses;
//! - its certificate, whether the chain verifies against the given CA for the name, and whether it
//!   requires a client certificate: a rustls handshake that trusts nothing and records everything
//!   ([`handshake`]).

pub mod handshake;
pub mod hello;
pub mod plan;
pub mod run;
pub mod ssh;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use crate::egress::Egress;
pub use crate::snapshot::probe::{CertFacts, Negotiated, TlsFacts};
use crate::telemetry;
use hello::{Answer, Version};
pub use plan::{plan, Plan};
pub use run::{run, ProbeOptions};

/// One TLS endpoint to probe.
#[derive(Debug, Clone)]
pub struct TlsTarget {
    pub host: String,
    pub port: u16,
    /// The name to verify the certificate for and send as SNI (default: `host`).
    pub server_name: Option<String>,
    /// PEM CA to verify the chain against (none: `verified` is false, with the reason).
    pub ca_pem: Option<String>,
    /// PEM client certificate and key to present when asked.
    pub client: Option<(String, String)>,
}

impl TlsTarget {
    /// `HOST:PORT` or `[V6]:PORT`.
    pub fn parse(endpoint: &str) -> Result<TlsTarget, String> {
        let (host, port) =
            endpoint.rsplit_once(':').ok_or_else(|| format!("`{endpoint}` is not HOST:PORT"))?;
        let port: u16 = port.parse().map_err(|_| format!("`{port}` in `{endpoint}` is not a port number"))?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() {
            return Err(format!("`{endpoint}` names no host"));
        }
        Ok(TlsTarget { host: host.to_string(), port, server_name: None, ca_pem: None, client: None })
    }

    pub fn endpoint(&self) -> String {
        crate::snapshot::probe::host_port(&self.host, self.port)
    }
}

impl TlsFacts {
    /// Facts of an endpoint that could not be probed.
    pub fn unreachable(endpoint: String, reason: String) -> TlsFacts {
        TlsFacts {
            endpoint,
            reachable: false,
            reason: Some(reason),
            protocols: Version::ALL.iter().map(|v| (v.as_str().to_string(), None)).collect(),
            negotiated: None,
            weak_ciphers_accepted: Vec::new(),
            certificate: None,
            certificate_error: None,
            client_certificate_required: None,
        }
    }

    /// The facts as lines of text (`--format table`).
    pub fn to_table(&self) -> String {
        let yes_no = |b: Option<bool>| match b {
            Some(true) => "yes",
            Some(false) => "no",
            None => "unknown",
        };
        let mut out = format!("endpoint: {}\n", self.endpoint);
        if !self.reachable {
            out.push_str(&format!(
                "reachable: no ({})\n",
                self.reason.as_deref().unwrap_or("unknown reason")
            ));
            return out;
        }
        out.push_str("protocols:");
        for (v, ok) in &self.protocols {
            out.push_str(&format!(" {v} {}", yes_no(*ok)));
        }
        out.push('\n');
        match &self.negotiated {
            Some(n) => out.push_str(&format!("negotiated: {} {}\n", n.version, n.cipher)),
            None => out.push_str("negotiated: none\n"),
        }
        if self.weak_ciphers_accepted.is_empty() {
            out.push_str("weak ciphers accepted: none\n");
        } else {
            out.push_str(&format!("weak ciphers accepted: {}\n", self.weak_ciphers_accepted.join(", ")));
        }
        match &self.certificate {
            Some(c) => {
                out.push_str(&format!(
                    "certificate subject: {}\ncertificate issuer: {}\n",
                    c.subject, c.issuer
                ));
                out.push_str(&format!("certificate names: {}\n", c.sans.join(", ")));
                out.push_str(&format!(
                    "certificate valid: {} to {} ({})\n",
                    c.not_before.format("%Y-%m-%d"),
                    c.not_after.format("%Y-%m-%d"),
                    if c.expired {
                        format!("expired {} days ago", -c.days_left)
                    } else {
                        format!("{} days left", c.days_left)
                    }
                ));
                out.push_str(&format!(
                    "certificate key: {}, signature {}, self-signed {}\n",
                    c.key,
                    c.signature,
                    yes_no(Some(c.self_signed))
                ));
                match &c.verify_error {
                    None => out.push_str("certificate verified: yes\n"),
                    Some(e) => out.push_str(&format!("certificate verified: no ({e})\n")),
                }
            }
            None => out.push_str(&format!(
                "certificate: none ({})\n",
                self.certificate_error.as_deref().unwrap_or("no handshake")
            )),
        }
        out.push_str(&format!("client certificate required: {}\n", yes_no(self.client_certificate_required)));
        out
    }
}

/// Probe one TLS endpoint through `egress`, each exchange within `timeout`.
pub async fn probe_tls(egress: &Arc<Egress>, target: &TlsTarget, timeout: Duration) -> TlsFacts {
    let endpoint = target.endpoint();
    let name = target.server_name.clone().unwrap_or_else(|| target.host.clone());
    // One connection first: unreachable or refused by policy ends the probe here.
    if let Err(e) = egress.connect(&target.host, target.port).await {
        return TlsFacts::unreachable(endpoint, telemetry::Chain(&e).to_string());
    }
    let name_ref = name.as_str();
    let answers = futures::future::join_all(Version::ALL.iter().map(|v| async move {
        let suites: Vec<u16> = match v {
            Version::Tls13 => hello::TLS13_SUITES.iter().map(|s| s.0).collect(),
            _ => hello::COMMON_SUITES.iter().map(|s| s.0).collect(),
        };
        (*v, offer(egress, target, *v, &suites, name_ref, timeout).await)
    }))
    .await;
    let mut protocols = BTreeMap::new();
    let mut reason = None;
    let mut best: Option<(Version, u16)> = None;
    for (v, answer) in &answers {
        let accepted = match answer {
            Ok(Answer::Hello { version, suite }) if version == v => {
                best = best.max(Some((*v, *suite)));
                Some(true)
            }
            Ok(_) => Some(false),
            Err(e) => {
                reason.get_or_insert_with(|| e.clone());
                None
            }
        };
        protocols.insert(v.as_str().to_string(), accepted);
    }
    if protocols.values().all(|p| p.is_none()) {
        let why = reason.unwrap_or_else(|| "no answer".into());
        let mut facts = TlsFacts::unreachable(endpoint, format!("not a TLS endpoint: {why}"));
        facts.reachable = true;
        return facts;
    }
    // Weak suites at the best version below 1.3 the server speaks (1.3 has no weak suites).
    let legacy = [Version::Tls12, Version::Tls11, Version::Tls10]
        .into_iter()
        .find(|v| protocols.get(v.as_str()).copied().flatten() == Some(true));
    let weak = async {
        let Some(v) = legacy else { return Vec::new() };
        let mut left: Vec<u16> = Vec::new();
        for (_, suites) in hello::WEAK_CLASSES {
            for s in suites.iter() {
                if !left.contains(&s.0) {
                    left.push(s.0);
                }
            }
        }
        let mut accepted = Vec::new();
        while !left.is_empty() {
            match offer(egress, target, v, &left, &name, timeout).await {
                Ok(Answer::Hello { version, suite }) if version == v && left.contains(&suite) => {
                    accepted.push(hello::suite_name(suite));
                    left.retain(|s| *s != suite);
                }
                _ => break,
            }
        }
        accepted
    };
    let client = match &target.client {
        Some((cert, key)) => {
            match handshake::certified_key(&rustls::crypto::ring::default_provider(), cert, key) {
                Ok(k) => Some(k),
                Err(e) => {
                    let mut facts = TlsFacts::unreachable(endpoint, e);
                    facts.reachable = true;
                    return facts;
                }
            }
        }
        None => None,
    };
    // Without a client certificate first: whether the server insists on one is a fact about the
    // server. The given certificate then finishes a handshake such a server refused.
    let once = |key: Option<Arc<rustls::sign::CertifiedKey>>| {
        let (name, endpoint) = (&name, &endpoint);
        async move {
            match egress.connect(&target.host, target.port).await {
                Ok(stream) => {
                    Some(handshake::handshake(stream, name, target.ca_pem.as_deref(), key, timeout).await)
                }
                Err(e) => {
                    tracing::debug!(endpoint = %endpoint, error = %telemetry::Chain(&e), "probe handshake: no connection");
                    None
                }
            }
        }
    };
    let shake = async {
        let first = once(None).await;
        match (&first, client) {
            (Some(h), Some(key)) if h.client_certificate_required => {
                once(Some(key)).await.map(|with| handshake::Handshake {
                    negotiated: with.negotiated,
                    client_certificate_required: true,
                    certificate: h.certificate.clone().or(with.certificate),
                    error: with.error,
                })
            }
            _ => first,
        }
    };
    let (weak, mut shake) = tokio::join!(weak, shake);
    // A server below TLS 1.2 (rustls will not handshake with it) still shows its certificate: in
    // the clear, in its first flight.
    let legacy_only = protocols.get("tls1.2").copied().flatten() != Some(true)
        && protocols.get("tls1.3").copied().flatten() != Some(true);
    if let (true, Some(v)) = (legacy_only, legacy) {
        let suites: Vec<u16> = hello::COMMON_SUITES.iter().map(|s| s.0).collect();
        if let Ok(stream) = egress.connect(&target.host, target.port).await {
            if let Ok(flight) =
                hello::read_flight(stream, &hello::client_hello(v, &suites, Some(&name)), timeout).await
            {
                if let Some(leaf) = flight.chain.first() {
                    let verdict = handshake::verify_chain(&flight.chain, &name, target.ca_pem.as_deref());
                    let certificate = handshake::cert_facts(leaf, verdict, chrono::Utc::now());
                    shake = Some(handshake::Handshake {
                        certificate,
                        negotiated: None,
                        // Asked, but whether it would go on without one needs a finished handshake.
                        client_certificate_required: false,
                        error: None,
                    });
                    if flight.asked_for_client_cert {
                        let mut facts = finish(endpoint, protocols, best, weak, shake);
                        facts.client_certificate_required = None;
                        return facts;
                    }
                }
            }
        }
    }
    finish(endpoint, protocols, best, weak, shake)
}

fn finish(
    endpoint: String,
    protocols: BTreeMap<String, Option<bool>>,
    best: Option<(Version, u16)>,
    weak: Vec<String>,
    shake: Option<handshake::Handshake>,
) -> TlsFacts {
    let negotiated = shake
        .as_ref()
        .and_then(|h| h.negotiated.clone())
        .map(|(version, cipher)| Negotiated { version, cipher })
        .or_else(|| {
            best.map(|(v, s)| Negotiated { version: v.as_str().into(), cipher: hello::suite_name(s) })
        });
    let certificate_error = match &shake {
        Some(h) if h.certificate.is_none() => {
            Some(h.error.clone().unwrap_or_else(|| "no certificate was sent".into()))
        }
        None => Some("no connection for the handshake".into()),
        _ => None,
    };
    TlsFacts {
        endpoint,
        reachable: true,
        reason: None,
        protocols,
        negotiated,
        weak_ciphers_accepted: weak,
        certificate: shake.as_ref().and_then(|h| h.certificate.clone()),
        certificate_error,
        client_certificate_required: shake.as_ref().map(|h| h.client_certificate_required),
    }
}

/// One ClientHello on a fresh connection.
async fn offer(
    egress: &Egress,
    target: &TlsTarget,
    version: Version,
    suites: &[u16],
    name: &str,
    timeout: Duration,
) -> Result<Answer, String> {
    let stream =
        egress.connect(&target.host, target.port).await.map_err(|e| telemetry::Chain(&e).to_string())?;
    hello::exchange(stream, &hello::client_hello(version, suites, Some(name)), timeout).await
}
