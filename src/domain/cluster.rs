//! What a registered cluster is reached with, and what a connectivity check found. Shared by
//! the store (which keeps the credentials encrypted), the collectors (which use them), the
//! registry and the web layer, so it lives at the bottom of the module order. Parsing
//! kubeconfigs and building clients stays in `collect::client`.

use serde::{Deserialize, Serialize};

/// How Palisade authenticates to a cluster.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClusterAuth {
    /// A bearer token (typically a read-only service account's).
    Token { token: String },
    /// A client certificate and its private key, PEM encoded.
    ClientCertificate { cert_pem: String, key_pem: String },
    /// No credentials (only useful against a cluster that allows anonymous reads).
    None,
}

impl ClusterAuth {
    pub fn kind(&self) -> &'static str {
        match self {
            ClusterAuth::Token { .. } => "token",
            ClusterAuth::ClientCertificate { .. } => "client_certificate",
            ClusterAuth::None => "none",
        }
    }
}

impl std::fmt::Debug for ClusterAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print secret material, not even in debug logs.
        write!(f, "ClusterAuth::{}([redacted])", self.kind())
    }
}

/// Everything needed to reach one cluster's API server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterCredentials {
    /// `https://host:port`.
    pub server: String,
    /// PEM bundle of CAs to trust for the API server; `None` uses the system roots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_pem: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_server_name: Option<String>,
    /// Skip server certificate verification (reported as a finding by the registry).
    #[serde(default)]
    pub insecure_skip_tls_verify: bool,
    pub auth: ClusterAuth,
}

/// The outcome of a connectivity check (`GET /version`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Connectivity {
    pub reachable: bool,
    pub server_version: Option<String>,
    pub error: Option<String>,
}
