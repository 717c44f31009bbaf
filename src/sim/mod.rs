//! The cluster simulator: serves a sample directory or a generated cluster as a Kubernetes API
//! over real HTTPS (`palisade sim`), for tests, the demo fleet and scale benchmarks.
//!
//! It owns the server ([`server`]), its PKI ([`tls`]), identities and settings ([`settings`]),
//! the indexed object store with pagination ([`store`]), discovery ([`resources`]), server-side
//! tables for kubectl ([`table`]), fault injection ([`faults`]),, sample loading ([`sample`]) and the
//! synthetic cluster generator ([`generate`]), and the demo fleet of `serve --demo` ([`demo`]). Everything Palisade does against it, it does
//! against a real cluster: there is no back door.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use palisade::sim::{sample, SimConfig, SimServer};
//! let cluster = sample::load_dir("data/samples/kubeadm-default")?;
//! let handle = SimServer::start(SimConfig::new(cluster)).await?;
//! let creds = handle.credentials(); // bearer token + CA, ready for the live collector
//! std::fs::write("/tmp/kubeconfig", handle.kubeconfig())?;
//! # Ok(()) }
//! ```

pub mod demo;
pub mod endpoints;
pub mod faults;
pub mod generate;
pub mod resources;
pub mod sample;
pub mod server;
pub mod settings;
pub mod ssh;
pub mod store;
pub mod table;
pub mod tls;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use base64::Engine;
use serde_json::json;
use tokio::sync::watch;

pub use faults::FaultRule;
pub use settings::{Access, Identity, SimSettings};
pub use store::{ClusterBuilder, ClusterData};

use crate::domain::{ClusterAuth, ClusterCredentials};

/// Errors starting a simulator.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error("cannot generate the simulator's certificates: {0}")]
    Pki(#[from] rcgen::Error),
    #[error("cannot configure TLS: {0}")]
    Tls(#[from] rustls::Error),
    #[error("{0}")]
    Config(String),
}

/// How to run one simulated cluster.
pub struct SimConfig {
    pub cluster: Arc<ClusterData>,
    /// Address to listen on; port 0 picks a free port.
    pub listen: SocketAddr,
    /// Lowest TLS version (`"1.2"` or `"1.3"`); defaults to the sample's setting, else 1.2.
    pub min_tls_version: Option<String>,
    /// Bearer token; a random one when `None`.
    pub token: Option<String>,
    pub token_identity: Identity,
    pub cert_identity: Identity,
    /// `None` answers 401 to requests without credentials.
    pub anonymous: Option<Identity>,
    pub faults: Vec<FaultRule>,
    /// Move the nodes to loopback addresses and serve their kubelets, etcd and other endpoints
    /// there ([`endpoints`]), so probes of the cluster reach the simulator and nothing else.
    pub node_endpoints: bool,
}

impl SimConfig {
    /// Serve `cluster` on 127.0.0.1 (free port) with the identities its settings describe.
    pub fn new(cluster: ClusterData) -> Self {
        let s = cluster.settings.clone();
        let token_identity = s.token_identity.as_ref().map(Identity::from).unwrap_or_else(Identity::scanner);
        let cert_identity = s.cert_identity.as_ref().map(Identity::from).unwrap_or_else(Identity::auditor);
        let anonymous = match &s.anonymous {
            Some(a) if a.enabled => {
                Some(Identity::anonymous(Access { allow: a.allow.clone(), deny: Vec::new() }))
            }
            Some(_) => None,
            // kube-apiserver's default: anonymous requests reach /version and health only.
            None if cluster.apiserver_anonymous_auth() => Some(Identity::anonymous(Access::none())),
            None => None,
        };
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            min_tls_version: s.min_tls_version.clone(),
            token: s.token_identity.as_ref().and_then(|t| t.token.clone()),
            token_identity,
            cert_identity,
            anonymous,
            faults: s.faults.clone(),
            node_endpoints: true,
            cluster: Arc::new(cluster),
        }
    }

    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.listen = addr;
        self
    }

    /// Restrict what the bearer-token identity may read (e.g. `Access::all_except(&["secrets"])`).
    pub fn token_access(mut self, access: Access) -> Self {
        self.token_identity.access = access;
        self
    }

    pub fn fault(mut self, rule: FaultRule) -> Self {
        self.faults.push(rule);
        self
    }

    /// Serve the API only: nodes keep the sample's addresses and no node endpoint is served.
    pub fn without_node_endpoints(mut self) -> Self {
        self.node_endpoints = false;
        self
    }

    pub fn min_tls_version(mut self, v: &str) -> Self {
        self.min_tls_version = Some(v.to_string());
        self
    }
}

/// Starts simulators.
pub struct SimServer;

impl SimServer {
    /// Bind, generate certificates and serve in the background until the handle is shut down or
    /// dropped.
    pub async fn start(config: SimConfig) -> Result<SimHandle, SimError> {
        let min = settings::parse_tls_version(config.min_tls_version.as_deref().unwrap_or("1.2"))
            .map_err(SimError::Config)?;
        let listener = server::bind(config.listen)
            .await
            .map_err(|source| SimError::Bind { addr: config.listen, source })?;
        let addr = listener.local_addr().map_err(|source| SimError::Bind { addr: config.listen, source })?;
        let mut hosts = vec!["127.0.0.1".to_string(), "localhost".to_string()];
        if !addr.ip().is_loopback() && !addr.ip().is_unspecified() {
            hosts.push(addr.ip().to_string());
        }
        let pki = tls::Pki::generate(&config.cluster.name, &hosts, &config.cert_identity)?;
        let tls_config = pki.server_config(min)?;
        let token = config.token.clone().unwrap_or_else(random_token);
        let faults = Arc::new(faults::Faults::new(config.faults.clone()));
        let (tx, rx) = watch::channel(false);
        let name = config.cluster.name.clone();
        // Moved, not shared: moving the nodes to loopback then edits the one copy in place.
        let mut cluster = config.cluster;
        let endpoints = if config.node_endpoints {
            endpoints::start(&mut cluster, &pki, &rx)?.endpoints
        } else {
            Vec::new()
        };
        let state = Arc::new(server::State {
            cluster,
            token: token.clone(),
            token_identity: config.token_identity.clone(),
            cert_identity: config.cert_identity.clone(),
            anonymous: config.anonymous.clone(),
            faults: faults.clone(),
            requests: AtomicU64::new(0),
        });
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls_config));
        let task = tokio::spawn(server::serve(listener, acceptor, state.clone(), rx));
        let host = if addr.ip().is_unspecified() { "127.0.0.1".to_string() } else { addr.ip().to_string() };
        tracing::info!(cluster = %name, %addr, endpoints = endpoints.len(), "simulator listening");
        Ok(SimHandle {
            name,
            url: format!("https://{host}:{}", addr.port()),
            addr,
            ca_pem: pki.ca_pem.clone(),
            token,
            client_cert_pem: pki.client_cert_pem.clone(),
            client_key_pem: pki.client_key_pem.clone(),
            faults,
            state,
            ssh_port: endpoints.iter().find(|e| e.service == "sshd").map(|e| e.addr.port()),
            endpoints,
            shutdown: tx,
            task: Some(task),
        })
    }
}

fn random_token() -> String {
    use rand::RngCore;
    let mut b = [0u8; 24];
    rand::thread_rng().fill_bytes(&mut b);
    format!("sim-{}", hex::encode(b))
}

/// A running simulator. Dropping it stops the server.
pub struct SimHandle {
    /// Cluster name (the sample directory's name, or the generator's).
    pub name: String,
    /// `https://127.0.0.1:<port>`.
    pub url: String,
    pub addr: SocketAddr,
    /// PEM of the CA that signed the serving certificate.
    pub ca_pem: String,
    /// Bearer token of the token identity.
    pub token: String,
    pub client_cert_pem: String,
    pub client_key_pem: String,
    /// The node endpoints served on loopback (kubelets, etcd, plain-text ports), see [`endpoints`].
    pub endpoints: Vec<endpoints::Endpoint>,
    /// The port every node's SSH stand-in listens on ([`ssh`]), when they have one.
    pub ssh_port: Option<u16>,
    faults: Arc<faults::Faults>,
    state: Arc<server::State>,
    shutdown: watch::Sender<bool>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for SimHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimHandle").field("name", &self.name).field("url", &self.url).finish_non_exhaustive()
    }
}

impl SimHandle {
    /// Credentials with the bearer token, as the live collector takes them.
    pub fn credentials(&self) -> ClusterCredentials {
        ClusterCredentials {
            server: self.url.clone(),
            ca_pem: Some(self.ca_pem.clone()),
            tls_server_name: None,
            insecure_skip_tls_verify: false,
            auth: ClusterAuth::Token { token: self.token.clone() },
        }
    }

    /// Credentials with the client certificate of the certificate identity.
    pub fn cert_credentials(&self) -> ClusterCredentials {
        ClusterCredentials {
            auth: ClusterAuth::ClientCertificate {
                cert_pem: self.client_cert_pem.clone(),
                key_pem: self.client_key_pem.clone(),
            },
            ..self.credentials()
        }
    }

    /// A kubeconfig for kubectl: context `<name>` uses the token, `<name>-cert` the certificate.
    pub fn kubeconfig(&self) -> String {
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        let name = &self.name;
        let doc = json!({
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": name, "cluster": {"server": self.url, "certificate-authority-data": b64(&self.ca_pem)}}],
            "users": [
                {"name": format!("{name}-token"), "user": {"token": self.token}},
                {"name": format!("{name}-cert"), "user": {
                    "client-certificate-data": b64(&self.client_cert_pem),
                    "client-key-data": b64(&self.client_key_pem)}},
            ],
            "contexts": [
                {"name": name, "context": {"cluster": name, "user": format!("{name}-token")}},
                {"name": format!("{name}-cert"), "context": {"cluster": name, "user": format!("{name}-cert")}},
            ],
            "current-context": name,
            "preferences": {},
        });
        serde_yaml::to_string(&doc).expect("a kubeconfig always serializes")
    }

    /// Replace the fault rules (takes effect for the next request).
    pub fn set_faults(&self, rules: Vec<FaultRule>) {
        self.faults.set(rules);
    }

    /// How many HTTP requests the server has handled (lets tests see retries happen).
    pub fn requests_served(&self) -> u64 {
        self.state.requests.load(Ordering::Relaxed)
    }

    /// The cluster being served.
    pub fn cluster(&self) -> &ClusterData {
        &self.state.cluster
    }

    /// Stop serving and wait for the server task to end.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}
