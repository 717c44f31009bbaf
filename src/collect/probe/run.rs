//! Running a scan's probes: every planned endpoint at once up to a bound, each exchange within a
//! short timeout, every connection through the egress policy (an address outside it is recorded
//! as such and gets no packet). Unauthenticated HTTP requests keep their status and the number
//! of items a list answer held, nothing of its content.

use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use http_body_util::Empty;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};

use super::plan::{HttpAsk, Plan};
use super::{probe_tls, TlsTarget};
use crate::egress::Egress;
use crate::snapshot::probe::{HttpProbe, Probes, SshProbe, TlsProbe};
use crate::snapshot::{EvidenceState, Origin, Source};
use crate::telemetry;

/// How a scan probes.
#[derive(Debug, Clone)]
pub struct ProbeOptions {
    /// Endpoints probed at once (each TLS probe opens a handful of connections itself).
    pub concurrency: usize,
    /// Time allowed for each exchange (connect, hello, handshake, answer).
    pub timeout: Duration,
    /// The cluster CA: certificates are `verified` against it.
    pub ca_pem: Option<String>,
    /// The port of the nodes' SSH servers (`None`: SSH is not probed).
    pub ssh_port: Option<u16>,
}

impl Default for ProbeOptions {
    fn default() -> Self {
        Self { concurrency: 64, timeout: Duration::from_secs(3), ca_pem: None, ssh_port: Some(22) }
    }
}

/// The largest answer read to count its items; a bigger one keeps its status only.
const BODY_CAP: u64 = 8 << 20;

/// Probe everything in `plan`. `progress` is told `(done, total)` as endpoints finish.
pub async fn run(
    plan: Plan,
    egress: &Arc<Egress>,
    opts: &ProbeOptions,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Probes {
    let origin = Origin::new(Source::Probe, chrono::Utc::now());
    let total = plan.len();
    let done = std::sync::atomic::AtomicUsize::new(0);
    let tick = || {
        let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        progress(n, total);
    };
    let bound = opts.concurrency.max(1);
    let tls = futures::stream::iter(plan.tls.into_iter().map(|target| {
        let tick = &tick;
        async move {
            let t = TlsTarget {
                host: target.host.clone(),
                port: target.port,
                server_name: None,
                ca_pem: opts.ca_pem.clone(),
                client: None,
            };
            let facts = probe_tls(egress, &t, opts.timeout).await;
            tick();
            TlsProbe { target, facts }
        }
    }))
    .buffer_unordered(bound)
    .collect::<Vec<_>>();
    let http = futures::stream::iter(plan.http.into_iter().map(|ask| {
        let tick = &tick;
        async move {
            let probe = http_get(egress, ask, opts.timeout).await;
            tick();
            probe
        }
    }))
    .buffer_unordered(bound)
    .collect::<Vec<_>>();
    let ssh = futures::stream::iter(plan.ssh.into_iter().map(|target| {
        let tick = &tick;
        async move {
            let facts = super::ssh::probe_ssh(egress, &target.host, target.port, opts.timeout).await;
            tick();
            SshProbe { target, facts }
        }
    }))
    .buffer_unordered(bound)
    .collect::<Vec<_>>();
    let (mut tls, mut http, mut ssh) = tokio::join!(tls, http, ssh);
    ssh.sort_by(|a, b| (&a.target.node, a.target.endpoint()).cmp(&(&b.target.node, b.target.endpoint())));
    tls.sort_by(|a, b| {
        (a.target.service, &a.target.node, a.target.endpoint()).cmp(&(
            b.target.service,
            &b.target.node,
            b.target.endpoint(),
        ))
    });
    http.sort_by(|a, b| {
        (a.target.service, &a.target.node, a.target.endpoint(), &a.path).cmp(&(
            b.target.service,
            &b.target.node,
            b.target.endpoint(),
            &b.path,
        ))
    });
    Probes { origin: Some(origin), state: EvidenceState::Complete, tls, http, ssh, skipped: plan.skipped }
}

/// One unauthenticated GET.
pub async fn http_get(egress: &Arc<Egress>, ask: HttpAsk, timeout: Duration) -> HttpProbe {
    let HttpAsk { target, scheme, path } = ask;
    let mut probe = HttpProbe {
        target,
        scheme: scheme.to_string(),
        path: path.to_string(),
        status: None,
        error: None,
        items: None,
    };
    let stream = match egress.connect(&probe.target.host, probe.target.port).await {
        Ok(s) => s,
        Err(e) => {
            probe.error = Some(telemetry::Chain(&e).to_string());
            return probe;
        }
    };
    let host = probe.target.endpoint();
    let answer = tokio::time::timeout(timeout, async {
        if scheme == "https" {
            let config = Arc::new(super::handshake::unauthenticated_client());
            let name = rustls::pki_types::ServerName::try_from(probe.target.host.clone())
                .map_err(|e| format!("`{}` is not a server name: {e}", probe.target.host))?;
            let tls = tokio_rustls::TlsConnector::from(config)
                .connect(name, stream)
                .await
                .map_err(|e| format!("no TLS handshake: {e}"))?;
            exchange(egress, tls, &host, path).await
        } else {
            exchange(egress, stream, &host, path).await
        }
    })
    .await;
    match answer {
        Ok(Ok((status, items))) => {
            probe.status = Some(status);
            probe.items = items;
        }
        Ok(Err(e)) => probe.error = Some(e),
        Err(_) => probe.error = Some(format!("no answer within {} s", timeout.as_secs_f64())),
    }
    probe
}

async fn exchange<S>(egress: &Egress, io: S, host: &str, path: &str) -> Result<(u16, Option<usize>), String>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake::<_, Empty<Bytes>>(TokioIo::new(io))
        .await
        .map_err(|e| format!("not HTTP: {e}"))?;
    let driver = tokio::spawn(async move {
        let _ = conn.await;
    });
    let request = http::Request::get(path)
        .header(http::header::HOST, host)
        .header(http::header::ACCEPT, "application/json")
        .header(http::header::USER_AGENT, concat!("palisade-probe/", env!("CARGO_PKG_VERSION")))
        .body(Empty::new())
        .map_err(|e| format!("cannot build the request: {e}"))?;
    let response = sender.send_request(request).await.map_err(|e| format!("no HTTP answer: {e}"))?;
    let status = response.status().as_u16();
    let items = match egress.read_body(response.into_body(), BODY_CAP, &AtomicU64::new(0)).await {
        Ok(body) => serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v.get("items").and_then(|i| i.as_array()).map(Vec::len)),
        Err(_) => None,
    };
    driver.abort();
    Ok((status, items))
}
