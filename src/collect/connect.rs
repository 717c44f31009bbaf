//! The connectivity probe: `GET /version` against a cluster's API server with its credentials,
//! reporting reachability, the server version, and — when it fails — why, in words a person
//! understands (an untrusted or expired certificate, a wrong host name, a refused connection, a
//! rejected credential, an address the egress policy denies, an answer that is not a Kubernetes
//! API server's). It goes through the same capped, deadlined reads as a scan, and never repeats
//! the remote body or includes secret material in the message.

use std::sync::Arc;
use std::time::Duration;

use super::client::ClusterCredentials;
use super::kube::{Api, Failure, LiveOptions, Read};
use crate::domain::Connectivity;
use crate::egress::{self, Egress};

/// Probe the API server once. Never fails: the outcome carries the reason.
#[tracing::instrument(skip_all, fields(server = %creds.server))]
pub async fn probe(creds: &ClusterCredentials, egress: &Arc<Egress>) -> Connectivity {
    if let Err(e) = egress.check_url(&creds.server).await {
        return failed(format!("not contacted: {e}"));
    }
    // One attempt, a short outer deadline: a person is waiting.
    let opts = LiveOptions {
        attempts: 1,
        request_timeout: Duration::from_secs(15),
        egress: Arc::clone(egress),
        ..LiveOptions::default()
    };
    let api = match Api::new(creds, opts) {
        Ok(api) => api,
        Err(e) => return failed(e.to_string()),
    };
    match api.get("/version", Read::Small).await {
        Ok(v) => match v.get("gitVersion").and_then(serde_json::Value::as_str) {
            Some(git) => Connectivity { reachable: true, server_version: Some(git.to_string()), error: None },
            None => failed(format!(
                "{} answered /version with JSON that is not a Kubernetes version (no gitVersion)",
                creds.server
            )),
        },
        Err(f) => failed(explain(&f, &creds.server)),
    }
}

fn failed(error: String) -> Connectivity {
    Connectivity { reachable: false, server_version: None, error: Some(error) }
}

/// Turn a failed `/version` into a sentence. TLS failures are the most common registration
/// problem, so they are recognised from rustls' error names anywhere in the cause chain.
pub(crate) fn explain(f: &Failure, server: &str) -> String {
    match f {
        Failure::Unauthorized => format!(
            "{server} answered but rejected Palisade's credentials (HTTP 401): the token or client \
             certificate is not valid for this cluster"
        ),
        Failure::Status { code: 403, message } => {
            format!("{server} answered but refused access to /version (HTTP 403): {message}")
        }
        Failure::Status { code, message } => {
            format!("{server} answered /version with HTTP {code}: {message}")
        }
        Failure::TimedOut(d) => {
            format!("{server} did not answer /version: timed out after {}", egress::secs(*d))
        }
        Failure::Read(e) => format!("{server} /version: {e}"),
        Failure::Egress(e) => format!("not contacted: {e}"),
        Failure::Transport(all) => explain_transport(all, server),
    }
}

fn explain_transport(all: &str, server: &str) -> String {
    let host =
        url::Url::parse(server).ok().and_then(|u| u.host_str().map(str::to_string)).unwrap_or_default();
    let tls = |what: &str| format!("TLS handshake with {server} failed: {what}");
    if all.contains("UnknownIssuer") {
        tls("the server's certificate is not signed by a CA Palisade trusts (check the CA bundle / certificate-authority-data)")
    } else if all.contains("NotValidForName") || all.contains("not valid for name") {
        tls(&format!("the server's certificate is not valid for the host name `{host}` (check the server URL or tls-server-name)"))
    } else if all.contains("Expired") {
        tls("the server's certificate has expired")
    } else if all.contains("NotValidYet") {
        tls("the server's certificate is not valid yet (check the clocks)")
    } else if all.contains("BadSignature")
        || all.contains("InvalidCertificate")
        || all.contains("invalid peer certificate")
    {
        tls(&format!(
            "the server's certificate was rejected ({})",
            all.rsplit(": ").next().unwrap_or_default()
        ))
    } else if all.contains("CertificateRequired")
        || all.contains("BadCertificate")
        || all.contains("bad certificate")
    {
        tls("the server rejected Palisade's client certificate")
    } else if all.contains("InvalidContentType")
        || all.contains("CorruptMessage")
        || all.contains("wrong version number")
    {
        tls("the server does not speak TLS on this port (is it plain HTTP?)")
    } else if all.contains("Connection refused") {
        format!("connection to {server} refused: nothing is listening there")
    } else if all.contains("cannot resolve the host name") {
        format!("cannot resolve the host name `{host}`")
    } else if all.contains("timed out") {
        format!("{server} did not answer in time ({all})")
    } else {
        format!("cannot reach {server}: {all}")
    }
}
