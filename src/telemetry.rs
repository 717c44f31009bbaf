//! Tracing setup: human-readable logs by default, JSON with `PALISADE_LOG_FORMAT=json`,
//! filtered by `RUST_LOG` (default `info`).

use tracing_subscriber::{fmt, EnvFilter};

/// Install the global subscriber once; later calls do nothing (tests call it repeatedly).
pub fn init() {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,actix_server=warn,kube=warn"));
    let json = std::env::var("PALISADE_LOG_FORMAT").map(|v| v == "json").unwrap_or(false);
    let result = if json {
        fmt().with_env_filter(filter).json().with_writer(std::io::stderr).try_init()
    } else {
        fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init()
    };
    // Already installed (e.g. a second test in the same process): keep the first one.
    let _ = result;
}
