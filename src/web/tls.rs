//! HTTPS served by Palisade itself (rustls): the certificate and key come from PEM files named in
//! `[server] tls_cert_file` / `tls_key_file` and are read again when either file changes, so a
//! renewed certificate (cert-manager, certbot) is served without a restart. A broken or
//! mismatched pair is logged and the previous certificate stays in service.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

/// Why a certificate and key could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{0} holds no PEM certificate")]
    NoCertificate(PathBuf),
    #[error("{0} holds no PEM private key")]
    NoKey(PathBuf),
    #[error("the key in {path} is not usable: {source}")]
    BadKey { path: PathBuf, source: rustls::Error },
    #[error("the key in {key} does not belong to the certificate in {cert}")]
    Mismatch { cert: PathBuf, key: PathBuf },
    #[error("cannot build the TLS configuration: {0}")]
    Config(#[from] rustls::Error),
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read { path: path.to_path_buf(), source })
}

/// Read a certificate chain and its private key from PEM files and check they belong together.
pub fn load_certified_key(cert: &Path, key: &Path) -> Result<CertifiedKey, TlsError> {
    let cert_pem = read(cert)?;
    let chain: Vec<_> = rustls_pemfile::certs(&mut cert_pem.as_slice()).filter_map(Result::ok).collect();
    if chain.is_empty() {
        return Err(TlsError::NoCertificate(cert.to_path_buf()));
    }
    let key_pem = read(key)?;
    let private = rustls_pemfile::private_key(&mut key_pem.as_slice())
        .ok()
        .flatten()
        .ok_or_else(|| TlsError::NoKey(key.to_path_buf()))?;
    let signing = rustls::crypto::ring::sign::any_supported_type(&private)
        .map_err(|source| TlsError::BadKey { path: key.to_path_buf(), source })?;
    let certified = CertifiedKey::new(chain, signing);
    certified
        .keys_match()
        .map_err(|_| TlsError::Mismatch { cert: cert.to_path_buf(), key: key.to_path_buf() })?;
    Ok(certified)
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// The serving certificate, replaced when its files change.
#[derive(Debug)]
pub struct ReloadingCert {
    cert: PathBuf,
    key: PathBuf,
    current: RwLock<Loaded>,
}

#[derive(Debug)]
struct Loaded {
    key: Arc<CertifiedKey>,
    stamps: (Option<SystemTime>, Option<SystemTime>),
}

impl ReloadingCert {
    /// Load the pair once; fails (and the server does not start) when it is not usable.
    pub fn new(cert: &Path, key: &Path) -> Result<Arc<ReloadingCert>, TlsError> {
        let stamps = (modified(cert), modified(key));
        let loaded = load_certified_key(cert, key)?;
        Ok(Arc::new(ReloadingCert {
            cert: cert.to_path_buf(),
            key: key.to_path_buf(),
            current: RwLock::new(Loaded { key: Arc::new(loaded), stamps }),
        }))
    }

    /// Reload when either file's modification time changed. Returns whether a new pair is served.
    pub fn reload_if_changed(&self) -> bool {
        let stamps = (modified(&self.cert), modified(&self.key));
        if self.current.read().map(|c| c.stamps == stamps).unwrap_or(true) {
            return false;
        }
        match load_certified_key(&self.cert, &self.key) {
            Ok(key) => {
                if let Ok(mut current) = self.current.write() {
                    *current = Loaded { key: Arc::new(key), stamps };
                }
                tracing::info!(cert = %self.cert.display(), "TLS certificate reloaded");
                true
            }
            Err(e) => {
                // Keep serving the old pair; try again once the files change again.
                if let Ok(mut current) = self.current.write() {
                    current.stamps = stamps;
                }
                tracing::warn!(error = %e, "TLS certificate not reloaded; the previous one stays in service");
                false
            }
        }
    }

    /// Check the files every `every` until the process ends.
    pub fn watch(self: &Arc<Self>, every: Duration) -> tokio::task::JoinHandle<()> {
        let me = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every.max(Duration::from_secs(1)));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                me.reload_if_changed();
            }
        })
    }

    /// The rustls server configuration serving this certificate (TLS 1.2 and 1.3, safe defaults).
    pub fn server_config(self: &Arc<Self>) -> Result<rustls::ServerConfig, TlsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        Ok(rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_cert_resolver(self.clone()))
    }
}

impl ResolvesServerCert for ReloadingCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.current.read().ok().map(|c| c.key.clone())
    }
}
