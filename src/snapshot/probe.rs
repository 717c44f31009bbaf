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
    /// A node's SSH server.
    #[serde(rename = "sshd")]
    Ssh,
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
            Service::Ssh => "sshd",
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

/// The algorithms an SSH server offers that are weak, by kind (names only; the reasons are in
/// `collect::probe::ssh::weakness`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SshWeak {
    pub kex: Vec<String>,
    pub host_key: Vec<String>,
    pub ciphers: Vec<String>,
    pub macs: Vec<String>,
}

impl SshWeak {
    pub fn is_empty(&self) -> bool {
        self.kex.is_empty() && self.host_key.is_empty() && self.ciphers.is_empty() && self.macs.is_empty()
    }

    /// Every weak algorithm, by kind: `("kex", "diffie-hellman-group1-sha1")`.
    pub fn all(&self) -> impl Iterator<Item = (&'static str, &str)> {
        [("kex", &self.kex), ("host_key", &self.host_key), ("ciphers", &self.ciphers), ("macs", &self.macs)]
            .into_iter()
            .flat_map(|(k, v)| v.iter().map(move |a| (k, a.as_str())))
    }
}

/// One SSH server's facts (the stable JSON of `palisade probe ssh`, docs/probe-json.md): what its
/// KEXINIT offers, and which user-authentication methods it offers to a user that does not exist
/// and to `root` after a finished key exchange. No credential is ever sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SshFacts {
    pub endpoint: String,
    pub reachable: bool,
    /// Why the server could not be probed (unreachable, outside the egress policy, not SSH).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The version line, e.g. `SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3`.
    pub banner: Option<String>,
    pub kex: Vec<String>,
    pub host_key: Vec<String>,
    pub ciphers: Vec<String>,
    pub macs: Vec<String>,
    pub weak: SshWeak,
    /// The host key the server presented, as `ssh-keygen -l` prints it (`SHA256:…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_key_fingerprint: Option<String>,
    /// Methods offered to a user that does not exist (`none` refused).
    pub auth_methods: Option<Vec<String>>,
    /// Methods offered to `root`.
    pub root_auth_methods: Option<Vec<String>>,
    /// `password` or `keyboard-interactive` is offered to either: password login is possible.
    pub password_auth: Option<bool>,
    /// The server let a user in with no authentication at all.
    #[serde(default)]
    pub none_accepted: bool,
    /// Why the methods are not known (no key exchange in common, the server hung up).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_error: Option<String>,
}

impl SshFacts {
    /// The server was reached and spoke SSH.
    pub fn probed(&self) -> bool {
        self.reachable && self.reason.is_none()
    }
}

/// An SSH server's facts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SshProbe {
    pub target: ProbeTarget,
    pub facts: SshFacts,
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
    pub ssh: Vec<SshProbe>,
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
