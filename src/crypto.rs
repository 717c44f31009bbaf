//! The process-wide rustls crypto provider (ring, the one TLS stack of the project). Low in the
//! module order so that collectors, the simulator, the CLI and the server can all install it.

/// Make ring the process-wide rustls provider. Normal builds only link ring, but test builds also
/// link aws-lc-rs (through a dev-dependency), and then rustls cannot pick one by itself. Safe to
/// call any number of times.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
