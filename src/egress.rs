//! The outbound policy: every connection Palisade opens to a cluster goes through [`Egress`].
//!
//! - **Where it may connect.** A deny list (link-local and cloud metadata addresses by default) and
//!   an optional allow list of CIDRs. A name is resolved first and *every* address it resolves to is
//!   checked: one denied address denies the name. The connection is then made to the vetted
//!   addresses themselves ([`Connector`] is the hyper connector kube's client uses), so a DNS answer
//!   that changes between the check and the connect (rebinding) cannot reach a denied address.
//!   Palisade's clients follow no redirects; any further hop would be a new connection through the
//!   same connector.
//! - **How much it reads.** Every answer is read by [`Egress::read_body`] with a size cap, a
//!   per-scan total, a process-wide memory budget and a deadline, so an endless or huge answer
//!   fails that one call ("the response exceeded 1 MiB") and its memory is freed.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures::future::BoxFuture;
use http_body_util::BodyExt;
use ipnet::IpNet;
use tokio::sync::Semaphore;

use crate::config::EgressSettings;

/// Why a connection was not made, or an answer not read. Messages are meant for people.
#[derive(Debug, Clone, thiserror::Error)]
pub enum EgressError {
    /// A setting is not a CIDR.
    #[error("egress setting `{setting}`: `{value}` is not an IP address or CIDR")]
    BadRule { setting: &'static str, value: String },
    /// The address (or one the name resolves to) is denied.
    #[error("{}", denied_text(host, ip, rule))]
    Denied { host: Option<String>, ip: IpAddr, rule: Refusal },
    #[error("cannot resolve the host name `{0}`")]
    Unresolvable(String),
    #[error("connection to {addr} timed out after {secs} s")]
    ConnectTimedOut { addr: SocketAddr, secs: u64 },
    /// The TCP connection failed (refused, unreachable); the text is the local error.
    #[error("connection to {addr} failed: {detail}")]
    Connect { addr: SocketAddr, detail: String },
    #[error("the URL `{0}` has no host")]
    NoHost(String),
}

/// Which rule refused an address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// On the deny list, by this entry.
    Denied(IpNet),
    /// Not on the (non-empty) allow list, shown whole.
    NotAllowed(String),
}

fn denied_text(host: &Option<String>, ip: &IpAddr, rule: &Refusal) -> String {
    let what = match host {
        Some(h) => format!("`{h}` resolves to {ip}, which"),
        None => ip.to_string(),
    };
    match rule {
        Refusal::Denied(net) => format!("{what} is on the egress deny list ({net})"),
        Refusal::NotAllowed(list) => format!("{what} is outside the egress allow list {list}"),
    }
}

/// Why reading an answer stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    #[error("the response exceeded {} MiB", mib(*.0))]
    TooLarge(u64),
    #[error("the scan's responses exceeded {} MiB in total", mib(*.0))]
    ScanTotal(u64),
    #[error("timed out after {}", secs(*.0))]
    TimedOut(Duration),
    /// The connection broke while reading; the text is the local error.
    #[error("the connection broke while reading the response: {0}")]
    Broken(String),
}

fn mib(bytes: u64) -> String {
    let m = bytes as f64 / (1024.0 * 1024.0);
    if m.fract() == 0.0 {
        format!("{m:.0}")
    } else {
        format!("{m:.2}")
    }
}

/// "30 s", "0.4 s".
pub fn secs(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

/// Size caps and deadlines of every read (see `[egress]` in `config/default.toml`).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub connect_timeout: Duration,
    pub first_byte_timeout: Duration,
    pub body_timeout: Duration,
    /// `/version`, discovery, single objects.
    pub small_bytes: u64,
    /// One page of a list.
    pub page_bytes: u64,
    /// One scan, all answers together.
    pub scan_bytes: u64,
}

/// The policy and the limits of one process. Cheap to share (`Arc`).
#[derive(Debug)]
pub struct Egress {
    deny: Vec<IpNet>,
    allow: Vec<IpNet>,
    pub limits: Limits,
    /// Bytes of answers held in memory at once, in KiB permits.
    budget: Arc<Semaphore>,
    budget_kib: u32,
}

fn parse_rules(setting: &'static str, values: &[String]) -> Result<Vec<IpNet>, EgressError> {
    values
        .iter()
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
        .map(|v| {
            v.parse::<IpNet>()
                .or_else(|_| v.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| EgressError::BadRule { setting, value: v.to_string() })
        })
        .collect()
}

/// An IPv4 address written as IPv6 (`::ffff:10.0.0.1`) is checked as the IPv4 address it is.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

impl Egress {
    pub fn from_settings(s: &EgressSettings) -> Result<Egress, EgressError> {
        let mib = |m: u64| m.max(1).saturating_mul(1024 * 1024);
        let budget_kib = (s.buffered_mib.max(1).saturating_mul(1024)).min(u32::MAX as u64 / 2) as u32;
        Ok(Egress {
            deny: parse_rules("egress.deny", &s.deny)?,
            allow: parse_rules("egress.allow", &s.allow)?,
            limits: Limits {
                connect_timeout: Duration::from_secs(s.connect_timeout_secs.max(1)),
                first_byte_timeout: Duration::from_secs(s.first_byte_timeout_secs.max(1)),
                body_timeout: Duration::from_secs(s.body_timeout_secs.max(1)),
                small_bytes: mib(s.small_response_mib),
                page_bytes: mib(s.page_response_mib),
                scan_bytes: mib(s.scan_response_mib),
            },
            budget: Arc::new(Semaphore::new(budget_kib as usize)),
            budget_kib,
        })
    }

    /// Loopback only, default limits: tests, benchmarks and the demo.
    pub fn loopback_only() -> Arc<Egress> {
        Arc::new(Egress::from_settings(&EgressSettings::loopback_only()).expect("valid built-in rules"))
    }

    /// Copy with other limits (same rules, same memory budget).
    pub fn with_limits(&self, limits: Limits) -> Egress {
        Egress {
            deny: self.deny.clone(),
            allow: self.allow.clone(),
            limits,
            budget: Arc::clone(&self.budget),
            budget_kib: self.budget_kib,
        }
    }

    /// Whether `ip` may be dialled, and if not, the rule that says no.
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), Refusal> {
        let ip = canonical(ip);
        if let Some(net) = self.deny.iter().find(|n| n.contains(&ip)) {
            return Err(Refusal::Denied(*net));
        }
        if !self.allow.is_empty() && !self.allow.iter().any(|n| n.contains(&ip)) {
            let list = self.allow.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(", ");
            return Err(Refusal::NotAllowed(list));
        }
        Ok(())
    }

    /// Resolve `host` and check every address; only vetted addresses come back.
    pub async fn resolve(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, EgressError> {
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let (addrs, name) = match bare.parse::<IpAddr>() {
            Ok(ip) => (vec![SocketAddr::new(ip, port)], None),
            Err(_) => {
                // A resolver that does not answer is bounded like a connection attempt.
                let lookup = tokio::net::lookup_host((bare, port));
                let found = tokio::time::timeout(self.limits.connect_timeout, lookup)
                    .await
                    .ok()
                    .and_then(Result::ok)
                    .ok_or_else(|| EgressError::Unresolvable(bare.to_string()))?
                    .collect::<Vec<_>>();
                (found, Some(bare.to_string()))
            }
        };
        if addrs.is_empty() {
            return Err(EgressError::Unresolvable(bare.to_string()));
        }
        for addr in &addrs {
            if let Err(rule) = self.check_ip(addr.ip()) {
                return Err(EgressError::Denied { host: name, ip: canonical(addr.ip()), rule });
            }
        }
        Ok(addrs)
    }

    /// Check a cluster's server URL as registration does: a denied address is an error; a name
    /// that does not resolve (yet) is not (the cluster is registered as unreachable).
    pub async fn check_url(&self, server: &str) -> Result<(), EgressError> {
        let url = url::Url::parse(server).map_err(|_| EgressError::NoHost(server.to_string()))?;
        let host = url.host_str().ok_or_else(|| EgressError::NoHost(server.to_string()))?;
        let port = url.port_or_known_default().unwrap_or(443);
        match self.resolve(host, port).await {
            Ok(_) | Err(EgressError::Unresolvable(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Open a TCP connection to `host:port` through the policy, trying each vetted address.
    pub async fn connect(&self, host: &str, port: u16) -> Result<tokio::net::TcpStream, EgressError> {
        let addrs = self.resolve(host, port).await?;
        let timeout = self.limits.connect_timeout;
        let mut last = None;
        for addr in addrs {
            match tokio::time::timeout(timeout, tokio::net::TcpStream::connect(addr)).await {
                Ok(Ok(stream)) => {
                    let _ = stream.set_nodelay(true);
                    return Ok(stream);
                }
                Ok(Err(e)) => last = Some(EgressError::Connect { addr, detail: e.to_string() }),
                Err(_) => last = Some(EgressError::ConnectTimedOut { addr, secs: timeout.as_secs() }),
            }
        }
        Err(last.unwrap_or_else(|| EgressError::Unresolvable(host.to_string())))
    }

    /// Read a whole body: at most `cap` bytes, counted into `scan_total` (at most
    /// `limits.scan_bytes`), within `limits.body_timeout`, holding memory from the process-wide
    /// budget while it buffers. On any failure the partial body is dropped at once.
    pub async fn read_body<B>(&self, body: B, cap: u64, scan_total: &AtomicU64) -> Result<Bytes, ReadError>
    where
        B: hyper::body::Body<Data = Bytes> + Unpin,
        B::Error: std::fmt::Display,
    {
        let deadline = self.limits.body_timeout;
        match tokio::time::timeout(deadline, self.read_capped(body, cap, scan_total)).await {
            Ok(result) => result,
            Err(_) => Err(ReadError::TimedOut(deadline)),
        }
    }

    async fn read_capped<B>(&self, mut body: B, cap: u64, scan_total: &AtomicU64) -> Result<Bytes, ReadError>
    where
        B: hyper::body::Body<Data = Bytes> + Unpin,
        B::Error: std::fmt::Display,
    {
        let mut chunks: Vec<Bytes> = Vec::new();
        let mut len: u64 = 0;
        let mut held: Option<tokio::sync::OwnedSemaphorePermit> = None;
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| ReadError::Broken(e.to_string()))?;
            let Ok(data) = frame.into_data() else { continue };
            len += data.len() as u64;
            if len > cap {
                return Err(ReadError::TooLarge(cap));
            }
            let before = scan_total.fetch_add(data.len() as u64, Ordering::Relaxed);
            if before + data.len() as u64 > self.limits.scan_bytes {
                return Err(ReadError::ScanTotal(self.limits.scan_bytes));
            }
            // Hold budget for what is buffered; waiting for it counts against the deadline.
            let want = (len.div_ceil(1024) as u32).min(self.budget_kib);
            let have = held.as_ref().map_or(0, |p| p.num_permits() as u32);
            if want > have {
                let more = Arc::clone(&self.budget)
                    .acquire_many_owned(want - have)
                    .await
                    .map_err(|_| ReadError::Broken("the memory budget is closed".into()))?;
                match &mut held {
                    Some(p) => p.merge(more),
                    None => held = Some(more),
                }
            }
            chunks.push(data);
        }
        if chunks.len() == 1 {
            return Ok(chunks.pop().unwrap_or_default());
        }
        let mut all = BytesMut::with_capacity(len as usize);
        for c in chunks {
            all.extend_from_slice(&c);
        }
        Ok(all.freeze())
    }

    /// The hyper connector that dials through this policy.
    pub fn connector(self: &Arc<Self>) -> Connector {
        Connector { egress: Arc::clone(self) }
    }
}

/// A hyper connector (`tower::Service<Uri>`) that resolves, vets and connects through [`Egress`].
/// TLS is layered on top of it by the caller.
#[derive(Debug, Clone)]
pub struct Connector {
    egress: Arc<Egress>,
}

impl tower::Service<http::Uri> for Connector {
    type Response = hyper_util::rt::TokioIo<tokio::net::TcpStream>;
    type Error = EgressError;
    type Future = BoxFuture<'static, Result<Self::Response, EgressError>>;

    fn poll_ready(&mut self, _: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), EgressError>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: http::Uri) -> Self::Future {
        let egress = Arc::clone(&self.egress);
        Box::pin(async move {
            let host = uri.host().ok_or_else(|| EgressError::NoHost(uri.to_string()))?.to_string();
            let port = uri.port_u16().unwrap_or(if uri.scheme_str() == Some("http") { 80 } else { 443 });
            egress.connect(&host, port).await.map(hyper_util::rt::TokioIo::new)
        })
    }
}

/// The egress refusal somewhere in an error's cause chain, if any.
pub fn refusal_in<'a>(err: &'a (dyn std::error::Error + 'static)) -> Option<&'a EgressError> {
    let mut cur: Option<&'a (dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(found) = e.downcast_ref::<EgressError>() {
            return Some(found);
        }
        cur = e.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(deny: &[&str], allow: &[&str]) -> Egress {
        let s = EgressSettings {
            deny: deny.iter().map(|s| s.to_string()).collect(),
            allow: allow.iter().map(|s| s.to_string()).collect(),
            ..EgressSettings::default()
        };
        Egress::from_settings(&s).unwrap()
    }

    #[test]
    fn the_default_deny_list_refuses_link_local_and_metadata_addresses() {
        let e = Egress::from_settings(&EgressSettings::default()).unwrap();
        for ip in ["169.254.169.254", "169.254.1.1", "fe80::1", "fd00:ec2::254", "100.100.100.200", "0.0.0.0"]
        {
            assert!(matches!(e.check_ip(ip.parse().unwrap()), Err(Refusal::Denied(_))), "{ip}");
        }
        assert_eq!(e.check_ip("10.0.0.5".parse().unwrap()), Ok(()));
        // An IPv4-mapped IPv6 address is the IPv4 address.
        assert!(e.check_ip("::ffff:169.254.169.254".parse().unwrap()).is_err());
    }

    #[test]
    fn a_non_empty_allow_list_allows_only_itself_and_the_deny_list_wins() {
        let e = policy(&["127.0.0.2"], &["127.0.0.0/8", "::1/128"]);
        assert_eq!(e.check_ip("127.0.0.1".parse().unwrap()), Ok(()));
        assert_eq!(e.check_ip("::1".parse().unwrap()), Ok(()));
        assert!(matches!(e.check_ip("127.0.0.2".parse().unwrap()), Err(Refusal::Denied(_))));
        let err = EgressError::Denied {
            host: None,
            ip: "10.0.0.5".parse().unwrap(),
            rule: e.check_ip("10.0.0.5".parse().unwrap()).unwrap_err(),
        };
        assert_eq!(err.to_string(), "10.0.0.5 is outside the egress allow list 127.0.0.0/8, ::1/128");
    }

    #[test]
    fn a_rule_that_is_not_a_cidr_is_an_error_naming_it() {
        let s = EgressSettings { allow: vec!["10.0.0.0/33".into()], ..EgressSettings::default() };
        let err = Egress::from_settings(&s).unwrap_err().to_string();
        assert!(err.contains("egress.allow") && err.contains("10.0.0.0/33"), "{err}");
    }

    #[tokio::test]
    async fn a_name_is_denied_when_any_address_it_resolves_to_is_denied() {
        let e = policy(&["127.0.0.0/8"], &[]);
        let err = e.resolve("localhost", 443).await.unwrap_err();
        assert!(matches!(err, EgressError::Denied { .. }), "{err}");
        assert!(err.to_string().starts_with("`localhost` resolves to 127.0.0.1"), "{err}");
        assert!(e.connect("localhost", 443).await.is_err());
    }

    #[tokio::test]
    async fn reads_stop_at_the_cap_and_count_into_the_scan_total() {
        let e = policy(&[], &[]);
        let total = AtomicU64::new(0);
        let body = http_body_util::Full::new(Bytes::from(vec![b'x'; 2 * 1024 * 1024]));
        let err = e.read_body(body, 1024 * 1024, &total).await.unwrap_err();
        assert_eq!(err.to_string(), "the response exceeded 1 MiB");
        let small = http_body_util::Full::new(Bytes::from_static(b"{}"));
        assert_eq!(e.read_body(small, 1024, &total).await.unwrap(), Bytes::from_static(b"{}"));
        // Every permit of the memory budget is back.
        assert_eq!(e.budget.available_permits(), e.budget_kib as usize);
    }
}
