//! Probe evidence: what Palisade saw when it connected to a cluster's endpoints the way an attacker
//! on the network would (issue 13). Collectors fill it (`collect::probe`); checks judge it. Only
//! facts are kept: status codes and item counts of unauthenticated answers, never their content.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{EvidenceState, Origin};

/// Unauthenticated requests to the API server: discovery, then what should never leak.
pub const API_PATHS: &[&str] =
    &["/version", "/healthz", "/api", "/apis", "/api/v1/namespaces", "/api/v1/secrets"];
/// Unauthenticated requests to a kubelet's authenticated port.
pub const KUBELET_PATHS: &[&str] = &["/pods", "/runningpods/", "/configz"];

/// The negotiated version and suite of a default handshake.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Negotiated {
    pub version: String,
    pub cipher: String,
}

/// One endpoint's TLS facts (the stable JSON of `palisade probe tls`, docs/probe-json.md).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TlsFacts {
    pub endpoint: String,
    pub reachable: bool,
    /// Why the endpoint could not be probed (unreachable, outside the egress policy, not TLS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// `tls1.0` … `tls1.3`: accepted or not; `null` when not decided.
    pub protocols: BTreeMap<String, Option<bool>>,
    pub negotiated: Option<Negotiated>,
    pub weak_ciphers_accepted: Vec<String>,
    pub certificate: Option<CertFacts>,
    /// Why there is no certificate, when there is none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_error: Option<String>,
    /// The server asked for a client certificate and refused to go on without one.
    pub client_certificate_required: Option<bool>,
}

impl TlsFacts {
    /// The endpoint was reached and spoke TLS.
    pub fn probed(&self) -> bool {
        self.reachable && self.reason.is_none()
    }

    /// Whether a version (`tls1.0` …) was accepted; `None` when not decided.
    pub fn accepts(&self, version: &str) -> Option<bool> {
        self.protocols.get(version).copied().flatten()
    }
}

/// The leaf certificate as the probe saw it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CertFacts {
    pub subject: String,
    pub issuer: String,
    pub sans: Vec<String>,
    pub not_before: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
    /// Whole days until `not_after` (negative once expired).
    pub days_left: i64,
    pub expired: bool,
    /// e.g. `rsa-2048`, `ecdsa-p256`, `ed25519`.
    pub key: String,
    /// e.g. `ecdsa-with-SHA256`, `sha256WithRSAEncryption`.
    pub signature: String,
    pub self_signed: bool,
    /// The chain verifies against the CA given (or the cluster CA) for the name probed.
    pub verified: bool,
    pub verify_error: Option<String>,
}

/// The service behind a probed endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Service {
    #[serde(rename = "kube-apiserver")]
    ApiServer,
    /// etcd's client URLs (`--listen-client-urls`).
    #[serde(rename = "etcd")]
    Etcd,
    /// etcd's peer URLs (`--listen-peer-urls`).
    #[serde(rename = "etcd-peer")]
    EtcdPeer,
    #[serde(rename = "kubelet")]
    Kubelet,
    #[serde(rename = "kube-controller-manager")]
    ControllerManager,
    #[serde(rename = "kube-scheduler")]
    Scheduler,
}

impl Service {
    pub fn as_str(self) -> &'static str {
        match self {
            Service::ApiServer => "kube-apiserver",
            Service::Etcd => "etcd",
            Service::EtcdPeer => "etcd-peer",
            Service::Kubelet => "kubelet",
            Service::ControllerManager => "kube-controller-manager",
            Service::Scheduler => "kube-scheduler",
        }
    }
}

impl std::fmt::Display for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An endpoint to probe, and why Palisade thinks the service listens there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbeTarget {
    pub service: Service,
    /// The node it runs on, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    pub host: String,
    pub port: u16,
    /// Where the address came from, in words: "the cluster's API URL", "--listen-client-urls of etcd
    /// on cp-1", "InternalIP and kubelet port of node worker-1".
    pub basis: String,
}

/// `host:port`, with brackets around an IPv6 host.
pub fn host_port(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

impl ProbeTarget {
    /// `host:port`, with brackets around an IPv6 host.
    pub fn endpoint(&self) -> String {
        host_port(&self.host, self.port)
    }

    /// "kubelet on worker-1 at 127.0.0.5:10250".
    pub fn describe(&self) -> String {
        match &self.node {
            Some(node) => format!("{} on {node} at {}", self.service, self.endpoint()),
            None => format!("{} at {}", self.service, self.endpoint()),
        }
    }
}

/// A TLS endpoint's facts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TlsProbe {
    pub target: ProbeTarget,
    pub facts: TlsFacts,
}

/// One unauthenticated HTTP request and what answered it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpProbe {
    pub target: ProbeTarget,
    /// `http` (a plain-text port) or `https` (no client certificate, no token).
    pub scheme: String,
    pub path: String,
    /// The answer's status code, when there was an HTTP answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Why there was no answer: refused, timed out, outside the egress policy, not HTTP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// How many objects a list answer held (its `items`), never what they were.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items: Option<usize>,
}

impl HttpProbe {
    /// `http://127.0.0.5:10255/pods`.
    pub fn url(&self) -> String {
        format!("{}://{}{}", self.scheme, self.target.endpoint(), self.path)
    }

    /// The request was answered with a 2xx.
    pub fn succeeded(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

/// An endpoint Palisade chose not to dial, and why (it listens on its node's loopback only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedProbe {
    pub target: ProbeTarget,
    pub reason: String,
}

/// Everything the probes of one scan saw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Probes {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<Origin>,
    /// `not_collected` when the scan did not probe (an offline scan without `--probe`).
    #[serde(flatten)]
    pub state: EvidenceState,
    #[serde(default)]
    pub tls: Vec<TlsProbe>,
    #[serde(default)]
    pub http: Vec<HttpProbe>,
    #[serde(default)]
    pub skipped: Vec<SkippedProbe>,
}

impl Probes {
    /// TLS probes of one service.
    pub fn tls_of(&self, service: Service) -> impl Iterator<Item = &TlsProbe> {
        self.tls.iter().filter(move |p| p.target.service == service)
    }

    /// HTTP probes of one service.
    pub fn http_of(&self, service: Service) -> impl Iterator<Item = &HttpProbe> {
        self.http.iter().filter(move |p| p.target.service == service)
    }
}
