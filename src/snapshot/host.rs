//! Host evidence from the node agent (issue 14): what `palisade agent --mode node` read on a node
//! and reported to the server. A scan takes each node's newest report as `node-agent` evidence.
//! Only facts are kept: settings, modes, owners, certificate names and dates; never a file's
//! content or a key.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The schema a node report declares.
pub const NODE_REPORT_SCHEMA: &str = "palisade.node-report/v1";

/// One report, as the agent sends it to `POST /api/v1/ingest/node`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NodeReport {
    /// Always `palisade.node-report/v1`.
    pub schema: String,
    /// Unique per report: a report sent twice (a retry, a replay) is recognized by it.
    pub report_id: uuid::Uuid,
    /// The node's name, as the cluster knows it.
    #[schema(max_length = 253)]
    pub node: String,
    /// When the agent read the facts.
    pub collected_at: DateTime<Utc>,
    pub agent_version: String,
    pub facts: HostFacts,
}

pub const CLUSTER_REPORT_SCHEMA: &str = "palisade.cluster-report/v1";

/// A cluster agent's report (push mode), as it sends it to `POST /api/v1/ingest/cluster`: the
/// snapshot it collected inside the cluster (the API objects and its probes), in the form
/// `palisade scan --snapshot-out` writes.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClusterReport {
    /// Always `palisade.cluster-report/v1`.
    pub schema: String,
    /// Unique per report: a report sent twice (a retry, a replay) is recognized by it.
    pub report_id: uuid::Uuid,
    /// When the agent finished collecting.
    pub collected_at: DateTime<Utc>,
    pub agent_version: String,
    /// The collected snapshot (`palisade scan --snapshot-out` writes the same document).
    #[schema(value_type = Object)]
    pub snapshot: super::Snapshot,
}

/// What the agent read on one node.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HostFacts {
    /// The SSH server's effective settings; `None` when no sshd is installed.
    #[serde(default)]
    pub sshd: Option<SshdFacts>,
    /// The CIS 1.1.x and 4.1.x files, present or not.
    #[serde(default)]
    pub files: Vec<FileFacts>,
    /// Every certificate under the PKI directories.
    #[serde(default)]
    pub pki: Vec<PkiCert>,
    /// The kubelet's command line and configuration file, when a kubelet runs on the node.
    #[serde(default)]
    pub kubelet: Option<KubeletFacts>,
    /// The static pod manifests in the kubelet's staticPodPath (environment values that look
    /// like credentials are omitted by the agent).
    #[serde(default)]
    pub manifests: Vec<StaticPod>,
    /// What could not be read, in the agent's words.
    #[serde(default)]
    pub errors: Vec<String>,
}

/// The running kubelet as the node sees it: its command line (flags override the file) and its
/// configuration file as written.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KubeletFacts {
    /// The kubelet process's argv, from /proc (`None`: no kubelet process was found).
    #[serde(default)]
    pub cmdline: Option<Vec<String>>,
    /// The configuration file: `--config`, else /var/lib/kubelet/config.yaml.
    #[serde(default)]
    pub config_path: Option<String>,
    /// Its content, as JSON (`None`: not readable).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub config: Option<serde_json::Value>,
}

/// One static pod manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StaticPod {
    pub path: String,
    /// The manifest as JSON.
    #[schema(value_type = Object)]
    pub pod: serde_json::Value,
}

/// sshd's effective settings for a root login.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SshdFacts {
    /// `sshd -T` (OpenSSH's own evaluation, `Match` blocks applied) or `sshd_config` (parsed by
    /// the agent, with `Include` and `Match`).
    pub source: String,
    /// Lower-case keyword → value, for root connecting: `permitrootlogin`, `passwordauthentication`,
    /// `kbdinteractiveauthentication`, `pubkeyauthentication`, `permitemptypasswords`,
    /// `authenticationmethods`.
    pub settings: std::collections::BTreeMap<String, String>,
    /// Keys in root's authorized_keys files (`None`: not readable).
    #[serde(default)]
    pub root_authorized_keys: Option<u32>,
}

impl SshdFacts {
    /// A setting, with OpenSSH's default when the configuration leaves it out.
    pub fn get(&self, keyword: &str) -> &str {
        if let Some(v) = self.settings.get(keyword) {
            return v;
        }
        match keyword {
            "permitrootlogin" => "prohibit-password",
            "passwordauthentication" | "kbdinteractiveauthentication" | "pubkeyauthentication" => "yes",
            "permitemptypasswords" => "no",
            "authenticationmethods" => "any",
            _ => "",
        }
    }
}

/// One file's mode and owner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FileFacts {
    /// The path on the node (without the agent's `--host-root`).
    pub path: String,
    pub exists: bool,
    /// `file`, `dir`, `symlink` or `other`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Permission bits, octal (`600`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gid: Option<u32>,
    /// User and group names from the node's /etc/passwd and /etc/group, when listed there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
}

impl FileFacts {
    /// The permission bits as a number.
    pub fn mode_bits(&self) -> Option<u32> {
        self.mode.as_deref().and_then(|m| u32::from_str_radix(m, 8).ok())
    }

    /// `owner:group`, by name where known, else by id.
    pub fn owner_group(&self) -> String {
        let user = self.owner.clone().or_else(|| self.uid.map(|u| u.to_string())).unwrap_or_default();
        let group = self.group.clone().or_else(|| self.gid.map(|g| g.to_string())).unwrap_or_default();
        format!("{user}:{group}")
    }
}

/// A certificate found under a PKI directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PkiCert {
    pub path: String,
    pub subject: String,
    pub issuer: String,
    pub not_after: DateTime<Utc>,
}

/// A node's newest report, as a scan holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostReport {
    pub node: String,
    pub report_id: uuid::Uuid,
    pub collected_at: DateTime<Utc>,
    pub received_at: DateTime<Utc>,
    pub facts: HostFacts,
}

/// Node reports as a scan's evidence: `complete` with the newest receipt as its origin, or
/// `not_collected` when no agent reports.
pub fn evidence(mut reports: Vec<HostReport>) -> super::Evidence<HostReport> {
    let Some(newest) = reports.iter().map(|r| r.received_at).max() else {
        return super::Evidence::default();
    };
    reports.sort_by(|a, b| a.node.cmp(&b.node));
    super::Evidence {
        origin: Some(super::Origin::new(super::Source::NodeAgent, newest)),
        state: super::EvidenceState::Complete,
        items: reports,
    }
}

impl super::Snapshot {
    /// Take each node's newest agent report: as `hosts` evidence, and for the kubelet, its command
    /// line (flags override the configuration file) and, where the API could not serve the
    /// effective configuration, the file as written.
    pub fn add_host_reports(&mut self, reports: Vec<HostReport>) {
        for r in &reports {
            let Some(k) = &r.facts.kubelet else { continue };
            let origin = super::Origin::new(super::Source::NodeAgent, r.received_at);
            let flags = k.cmdline.as_ref().map(|argv| super::Flags::parse(argv));
            let idx = match self.kubelets.items.iter().position(|x| x.node == r.node) {
                Some(i) => i,
                None => {
                    self.kubelets.items.push(super::Kubelet {
                        node: r.node.clone(),
                        origin,
                        config: None,
                        config_state: super::EvidenceState::NotCollected,
                        config_form: super::ConfigForm::File,
                        flags: None,
                        version: None,
                    });
                    self.kubelets.items.len() - 1
                }
            };
            let kubelet = &mut self.kubelets.items[idx];
            if kubelet.flags.is_none() {
                kubelet.flags = flags;
            }
            if kubelet.config.is_none() {
                if let Some(config) = &k.config {
                    kubelet.config = Some(config.clone());
                    kubelet.config_state = super::EvidenceState::Complete;
                    kubelet.config_form = super::ConfigForm::File;
                }
            }
        }
        if !reports.is_empty() && !self.kubelets.state.is_complete() && !self.kubelets.items.is_empty() {
            self.kubelets.state = super::EvidenceState::Complete;
        }
        self.hosts = evidence(reports);
    }
}
