//! Tracing setup: human-readable logs by default, JSON with `PALISADE_LOG_FORMAT=json`,
//! filtered by `RUST_LOG` (default `info`).

use tracing_subscriber::{fmt, EnvFilter};

/// The filter when `RUST_LOG` is not set. The TLS verifier and kube's client builder log every
/// failed connection to a cluster at ERROR; Palisade records the same failure, explained, on the
/// cluster and the scan, so their lines are left out (`RUST_LOG=...,kube_client=debug` brings them back).
pub const DEFAULT_FILTER: &str =
    "info,sqlx=warn,actix_server=warn,kube=warn,kube_client=off,rustls_platform_verifier=off";

/// Install the global subscriber once; later calls do nothing (tests call it repeatedly).
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let json = std::env::var("PALISADE_LOG_FORMAT").map(|v| v == "json").unwrap_or(false);
    let result = if json {
        fmt().with_env_filter(filter).json().with_writer(std::io::stderr).try_init()
    } else {
        fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init()
    };
    // Already installed (e.g. a second test in the same process): keep the first one.
    let _ = result;
}

/// An error with its whole cause chain on one line (`outer: cause: root cause`), for log fields:
/// `tracing::warn!(error = %Chain(&e), ...)`. A bare `%e` prints only the outermost message, which
/// for a store error is "database error" without the reason.
pub struct Chain<'a>(pub &'a (dyn std::error::Error + 'static));

impl std::fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::Chain;

    #[derive(Debug, thiserror::Error)]
    #[error("database error")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn the_chain_names_every_cause() {
        let e = Outer(std::io::Error::other("duplicate key value violates unique constraint"));
        assert_eq!(Chain(&e).to_string(), "database error: duplicate key value violates unique constraint");
    }
}
