//! The connectivity probe: `GET /version` against a cluster's API server with its credentials,
//! reporting reachability, the server version, and — when it fails — why, in words a person
//! understands (an untrusted or expired certificate, a wrong host name, a refused connection, a
//! rejected credential). Never includes secret material in the message.

use std::time::Duration;

use super::client::{ClientTimeouts, ClusterCredentials};
use crate::domain::Connectivity;

/// Probe the API server once. Never fails: the outcome carries the reason.
#[tracing::instrument(skip_all, fields(server = %creds.server))]
pub async fn probe(creds: &ClusterCredentials) -> Connectivity {
    crate::crypto::install_crypto_provider();
    let timeouts = ClientTimeouts { connect: Duration::from_secs(5), read: Duration::from_secs(10) };
    let client = match creds.client(timeouts) {
        Ok(c) => c,
        Err(e) => return failed(e.to_string()),
    };
    match tokio::time::timeout(Duration::from_secs(15), client.apiserver_version()).await {
        Ok(Ok(info)) => Connectivity { reachable: true, server_version: Some(info.git_version), error: None },
        Ok(Err(err)) => failed(explain(&err, &creds.server)),
        Err(_) => failed(format!("{} did not answer within 15 seconds", creds.server)),
    }
}

fn failed(error: String) -> Connectivity {
    Connectivity { reachable: false, server_version: None, error: Some(error) }
}

/// Turn a kube error into a sentence. TLS failures are the most common registration problem, so
/// they are recognised from rustls' error names anywhere in the cause chain.
pub fn explain(err: &kube::Error, server: &str) -> String {
    if let kube::Error::Api(status) = err {
        return match status.code {
            401 => format!(
                "{server} answered but rejected Palisade's credentials (HTTP 401): the token or client \
                 certificate is not valid for this cluster"
            ),
            403 => format!("{server} answered but refused access to /version (HTTP 403): {}", status.message),
            code => format!("{server} answered /version with HTTP {code}: {}", status.message),
        };
    }
    let mut chain = Vec::new();
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        chain.push(e.to_string());
        cur = e.source();
    }
    let all = chain.join(": ");
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
        tls(&format!("the server's certificate was rejected ({})", chain.last().cloned().unwrap_or_default()))
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
    } else if all.contains("failed to lookup address")
        || all.contains("Name or service not known")
        || all.contains("dns error")
    {
        format!("cannot resolve the host name `{host}`")
    } else if all.contains("timed out") || all.contains("Timeout") || all.contains("elapsed") {
        format!("{server} did not answer in time")
    } else {
        format!("cannot reach {server}: {all}")
    }
}
