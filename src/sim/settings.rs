//! Simulator settings: what a sample's `sim.yaml` may say, and the identities the simulated API
//! server knows (bearer token, client certificate, anonymous) with the resources each may read.
//!
//! Example `sim.yaml`:
//! ```yaml
//! version: v1.31.4          # served on /version (default: the kube-apiserver image tag)
//! managed: false            # true hides the control plane (no mirror pods), as EKS/GKE/AKS do
//! minTlsVersion: "1.2"      # or "1.3"
//! tokenIdentity:            # who the bearer token in the kubeconfig is
//!   user: system:serviceaccount:palisade:scanner
//!   deny: [secrets]         # 403 on these resources (`nodes/proxy` for configz)
//! anonymous:                # unauthenticated requests (kube-apiserver --anonymous-auth)
//!   enabled: true
//!   allow: ["*"]            # what system:anonymous may read beyond /version and health
//! faults:
//!   - {resource: pods, latencyMs: 200}
//! ssh:                      # the nodes' SSH servers (see sim::ssh)
//!   passwordAuthentication: true
//!   addCiphers: [3des-cbc]
//! ```

use serde::{Deserialize, Serialize};

use super::faults::FaultRule;

/// Settings of one simulated cluster (the `sim.yaml` of a sample).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SimSettings {
    /// `gitVersion` served on `/version`.
    #[serde(default)]
    pub version: Option<String>,
    /// A managed control plane: static pods are not served as mirror pods.
    #[serde(default)]
    pub managed: bool,
    /// Lowest TLS version accepted: `"1.2"` (default) or `"1.3"`.
    #[serde(default)]
    pub min_tls_version: Option<String>,
    /// The identity behind the bearer token.
    #[serde(default)]
    pub token_identity: Option<IdentitySettings>,
    /// The identity behind the client certificate the simulator issues.
    #[serde(default)]
    pub cert_identity: Option<IdentitySettings>,
    /// How unauthenticated requests are treated.
    #[serde(default)]
    pub anonymous: Option<AnonymousSettings>,
    /// Faults injected from the start.
    #[serde(default)]
    pub faults: Vec<FaultRule>,
    /// Free text shown in `palisade sim` output (what the sample is for).
    #[serde(default)]
    pub description: Option<String>,
    /// The nodes' SSH servers ([`super::ssh::SshSettings`]; default: OpenSSH 9.2's defaults
    /// with password login off).
    #[serde(default)]
    pub ssh: Option<super::ssh::SshSettings>,
}

/// One identity in `sim.yaml`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IdentitySettings {
    pub user: String,
    #[serde(default)]
    pub groups: Vec<String>,
    /// Resources (plural names, `nodes/proxy`) this identity may get and list; `*` for all.
    #[serde(default = "all")]
    pub allow: Vec<String>,
    /// Resources refused even when `allow` covers them.
    #[serde(default)]
    pub deny: Vec<String>,
    /// A fixed bearer token (token identity only); a random one is made when absent.
    #[serde(default)]
    pub token: Option<String>,
}

/// Unauthenticated access in `sim.yaml`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AnonymousSettings {
    pub enabled: bool,
    /// Resources `system:anonymous` may read (e.g. `["*"]` where cluster-admin is bound to it).
    #[serde(default)]
    pub allow: Vec<String>,
}

fn all() -> Vec<String> {
    vec!["*".to_string()]
}

/// What an identity may read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Access {
    pub allow: Vec<String>,
    pub deny: Vec<String>,
}

impl Access {
    /// Read access to everything.
    pub fn all() -> Self {
        Self { allow: all(), deny: Vec::new() }
    }

    /// No access to any resource.
    pub fn none() -> Self {
        Self { allow: Vec::new(), deny: Vec::new() }
    }

    /// Everything except these resources.
    pub fn all_except(deny: &[&str]) -> Self {
        Self { allow: all(), deny: deny.iter().map(|s| s.to_string()).collect() }
    }

    /// Whether `resource` (`pods`, `nodes/proxy`) may be read.
    pub fn permits(&self, resource: &str) -> bool {
        !self.deny.iter().any(|d| d == resource) && self.allow.iter().any(|a| a == "*" || a == resource)
    }
}

/// A user the simulated API server authenticates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub user: String,
    pub groups: Vec<String>,
    pub access: Access,
}

impl Identity {
    /// The default scanner identity: a service account that may read everything.
    pub fn scanner() -> Self {
        Self {
            user: "system:serviceaccount:palisade:scanner".into(),
            groups: vec![
                "system:serviceaccounts".into(),
                "system:serviceaccounts:palisade".into(),
                "system:authenticated".into(),
            ],
            access: Access::all(),
        }
    }

    /// The default client-certificate identity: a read-only auditor.
    pub fn auditor() -> Self {
        Self {
            user: "palisade-auditor".into(),
            groups: vec!["palisade:auditors".into(), "system:authenticated".into()],
            access: Access::all(),
        }
    }

    /// `system:anonymous` with the given access.
    pub fn anonymous(access: Access) -> Self {
        Self { user: "system:anonymous".into(), groups: vec!["system:unauthenticated".into()], access }
    }
}

impl From<&IdentitySettings> for Identity {
    fn from(s: &IdentitySettings) -> Self {
        let mut groups = s.groups.clone();
        if !groups.iter().any(|g| g == "system:authenticated") {
            groups.push("system:authenticated".into());
        }
        Self { user: s.user.clone(), groups, access: Access { allow: s.allow.clone(), deny: s.deny.clone() } }
    }
}

/// Parse a TLS version setting.
pub fn parse_tls_version(v: &str) -> Result<&'static rustls::SupportedProtocolVersion, String> {
    match v.trim().trim_start_matches("VersionTLS").trim_start_matches("TLS").trim_start_matches('v') {
        "1.2" | "12" => Ok(&rustls::version::TLS12),
        "1.3" | "13" => Ok(&rustls::version::TLS13),
        other => Err(format!("unsupported minimum TLS version `{other}` (use 1.2 or 1.3)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deny_wins_over_a_wildcard_allow() {
        let a = Access::all_except(&["secrets"]);
        assert!(a.permits("pods"));
        assert!(a.permits("nodes/proxy"));
        assert!(!a.permits("secrets"));
        assert!(!Access::none().permits("pods"));
    }

    #[test]
    fn sim_yaml_parses_and_rejects_unknown_keys() {
        let s: SimSettings = serde_yaml::from_str(
            "version: v1.31.1\nmanaged: true\ntokenIdentity: {user: bob, deny: [secrets]}\nanonymous: {enabled: true, allow: ['*']}\n",
        )
        .unwrap();
        assert!(s.managed);
        let id = Identity::from(s.token_identity.as_ref().unwrap());
        assert!(!id.access.permits("secrets"));
        assert!(id.access.permits("pods"));
        assert!(serde_yaml::from_str::<SimSettings>("manged: true").is_err());
    }
}
