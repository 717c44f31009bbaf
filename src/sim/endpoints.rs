//! The simulator's node endpoints (issue 13): what a probe of a real cluster would find on its
//! nodes, served on loopback.
//!
//! At start the simulator moves the sample's nodes to loopback addresses (`127.a.b.c`, one per
//! node, a random block per simulator so parallel tests do not collide) and rewrites kube-system's
//! pods to match, so static pods' `--advertise-address` and `--listen-client-urls` name them. Then
//! it serves, on each node's address:
//! - the kubelet on its `daemonEndpoints` port, with the TLS floor of its configuration
//!   (`tlsMinVersion`), a certificate from the cluster CA when it bootstraps one
//!   (`serverTLSBootstrap`, `tlsCertFile`) or else self-signed as a kubelet makes it, and anonymous
//!   requests to `/pods`, `/runningpods/` and `/configz` answered as its `authentication.anonymous`
//!   and `authorization.mode` say (401, 403 or 200);
//! - the kubelet's read-only port over plain HTTP when its configuration sets one;
//! - etcd's client and peer URLs from its static pod: over TLS with a certificate from a separate
//!   etcd CA, requiring client certificates when `--client-cert-auth` / `--peer-client-cert-auth`
//!   say so, or over plain HTTP for `http://` URLs;
//! - the API server's insecure port when its flags open one off loopback;
//! - the controller-manager's and scheduler's secure ports when bound off loopback;
//! - an SSH stand-in ([`super::ssh`]) offering the sample's algorithms and methods, on one port
//!   shared by every node (random per simulator: port 22 needs root).
//!
//! Nothing is served on addresses the sample does not name: a closed port is what the probe must
//! find there.

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use bytes::Bytes;
use http::{header, Response, StatusCode};
use http_body_util::Full;
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use super::store::ClusterData;
use super::tls::{self, Authority, Pki};
use super::SimError;
use crate::snapshot::Flags;

/// One endpoint the simulator serves for a node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `kubelet`, `kubelet-read-only`, `etcd`, `etcd-peer`, `kube-apiserver-insecure`,
    /// `kube-controller-manager`, `kube-scheduler`, `sshd`.
    pub service: &'static str,
    pub node: String,
    pub addr: SocketAddr,
    /// `https`, `http` or `ssh`.
    pub scheme: &'static str,
}

/// What an endpoint answers.
enum Answer {
    Kubelet { anonymous: bool, always_allow: bool, configz: Option<Bytes>, pods: Bytes },
    ReadOnly { pods: Bytes },
    Etcd,
    ApiInsecure { version: Bytes },
    Healthz,
    Ssh(Arc<super::ssh::Profile>),
}

struct Spec {
    endpoint: Endpoint,
    tls: Option<Arc<rustls::ServerConfig>>,
    answer: Arc<Answer>,
}

fn node_address(i: usize, base: (u8, u8)) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, base.0, base.1 + (i / 254) as u8, 1 + (i % 254) as u8))
}

fn random_base(nodes: usize) -> (u8, u8) {
    use rand::Rng;
    let blocks = nodes.div_ceil(254).max(1);
    let mut rng = rand::thread_rng();
    (rng.gen_range(2..=254), rng.gen_range(0..=(255 - blocks.min(255)) as u8))
}

fn ready_json(v: &Value) -> Bytes {
    Bytes::from(serde_json::to_vec(v).expect("a JSON value always serializes"))
}

/// The served endpoints and their tasks; dropping the shutdown sender stops them.
pub struct Served {
    pub endpoints: Vec<Endpoint>,
}

/// Move the nodes to loopback and serve their endpoints until `shutdown` turns true.
pub fn start(
    cluster: &mut Arc<ClusterData>,
    pki: &Pki,
    shutdown: &watch::Receiver<bool>,
) -> Result<Served, SimError> {
    let names = cluster.node_names();
    if names.is_empty() {
        return Ok(Served { endpoints: Vec::new() });
    }
    let etcd_ca = Authority::generate(&format!("etcd-ca ({})", cluster.name))?;
    let mut last = None;
    for _ in 0..16 {
        let base = random_base(names.len());
        let to: BTreeMap<String, IpAddr> =
            names.iter().enumerate().map(|(i, n)| (n.clone(), node_address(i, base))).collect();
        Arc::make_mut(cluster).move_nodes(&to);
        let ssh_port = {
            use rand::Rng;
            rand::thread_rng().gen_range(20_000..60_000)
        };
        let specs = specs(cluster, &to, pki, &etcd_ca, ssh_port)?;
        match bind(&specs) {
            Ok(listeners) => {
                let endpoints = specs.iter().map(|s| s.endpoint.clone()).collect();
                for (spec, listener) in specs.into_iter().zip(listeners) {
                    if let Answer::Ssh(profile) = &*spec.answer {
                        tokio::spawn(super::ssh::serve(listener, Arc::clone(profile), shutdown.clone()));
                        continue;
                    }
                    tokio::spawn(serve(
                        listener,
                        spec.tls.map(TlsAcceptor::from),
                        spec.answer,
                        shutdown.clone(),
                    ));
                }
                return Ok(Served { endpoints });
            }
            Err((addr, e)) if e.kind() == std::io::ErrorKind::AddrInUse => last = Some((addr, e)),
            Err((addr, source)) => return Err(SimError::Bind { addr, source }),
        }
    }
    let (addr, source) = last.expect("at least one attempt");
    Err(SimError::Bind { addr, source })
}

fn bind(specs: &[Spec]) -> Result<Vec<tokio::net::TcpListener>, (SocketAddr, std::io::Error)> {
    specs
        .iter()
        .map(|s| {
            let addr = s.endpoint.addr;
            let std = std::net::TcpListener::bind(addr).map_err(|e| (addr, e))?;
            std.set_nonblocking(true).map_err(|e| (addr, e))?;
            tokio::net::TcpListener::from_std(std).map_err(|e| (addr, e))
        })
        .collect()
}

fn min_version(v: Option<&str>) -> &'static rustls::SupportedProtocolVersion {
    match v {
        Some("VersionTLS13") | Some("TLS1.3") => &rustls::version::TLS13,
        _ => &rustls::version::TLS12,
    }
}

/// A kubelet configuration's `authentication.anonymous.enabled: true`.
fn anonymous_enabled(kc: Option<&Value>) -> bool {
    kc.and_then(|kc| kc.pointer("/authentication/anonymous/enabled")) == Some(&json!(true))
}

/// A kubelet configuration's non-zero `readOnlyPort`.
fn read_only_port(kc: Option<&Value>) -> Option<u16> {
    kc?.get("readOnlyPort")?.as_u64().and_then(|p| u16::try_from(p).ok()).filter(|p| *p != 0)
}

/// Pods by node name, as a kubelet's `/pods` answers them.
fn pods_by_node(cluster: &ClusterData) -> HashMap<String, Vec<Value>> {
    let mut out: HashMap<String, Vec<Value>> = HashMap::new();
    let Some(idx) = super::resources::find_plural("pods") else { return out };
    for o in cluster.all(idx) {
        let Ok(v) = serde_json::from_slice::<Value>(&o.json) else { continue };
        if let Some(node) = v.pointer("/spec/nodeName").and_then(Value::as_str) {
            out.entry(node.to_string()).or_default().push(v);
        }
    }
    out
}

fn pod_list(items: Option<&Vec<Value>>) -> Bytes {
    ready_json(
        &json!({"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": items.cloned().unwrap_or_default()}),
    )
}

fn specs(
    cluster: &ClusterData,
    to: &BTreeMap<String, IpAddr>,
    pki: &Pki,
    etcd_ca: &Authority,
    ssh_port: u16,
) -> Result<Vec<Spec>, SimError> {
    let mut specs = Vec::new();
    let ssh = cluster.settings.ssh.clone().unwrap_or_default();
    let nodes: HashMap<String, Value> = cluster
        .objects_in("nodes", "")
        .into_iter()
        .filter_map(|v| Some((v.pointer("/metadata/name")?.as_str()?.to_string(), v)))
        .collect();
    let configs: HashMap<&str, Value> = to
        .keys()
        .filter_map(|n| {
            let body = cluster.configz(n)?;
            let v: Value = serde_json::from_slice(body).ok()?;
            Some((n.as_str(), v.get("kubeletconfig").cloned().unwrap_or(v)))
        })
        .collect();
    let open = |kc: Option<&Value>| anonymous_enabled(kc) || read_only_port(kc).is_some();
    let pods =
        if to.keys().any(|n| open(configs.get(n.as_str()))) { pods_by_node(cluster) } else { HashMap::new() };
    let stamp = chrono::Utc::now().timestamp();
    for (name, ip) in to {
        if !ssh.disabled {
            let profile = super::ssh::Profile::new(&ssh).map_err(SimError::Config)?;
            specs.push(Spec {
                endpoint: Endpoint {
                    service: "sshd",
                    node: name.clone(),
                    addr: SocketAddr::new(*ip, ssh_port),
                    scheme: "ssh",
                },
                tls: None,
                answer: Arc::new(Answer::Ssh(Arc::new(profile))),
            });
        }
        let kc = configs.get(name.as_str());
        let port = nodes
            .get(name)
            .and_then(|n| n.pointer("/status/daemonEndpoints/kubeletEndpoint/Port"))
            .and_then(Value::as_u64)
            .and_then(|p| u16::try_from(p).ok())
            .filter(|p| *p != 0)
            .unwrap_or(10250);
        let str_at = |path: &str| kc.and_then(|kc| kc.pointer(path)).and_then(Value::as_str);
        let hosts = vec![ip.to_string(), name.clone()];
        let bootstrapped = kc.and_then(|kc| kc.get("serverTLSBootstrap")) == Some(&json!(true))
            || str_at("/tlsCertFile").is_some_and(|f| !f.is_empty());
        let served = if bootstrapped {
            pki.ca.issue(&format!("system:node:{name}"), &hosts)?
        } else {
            tls::self_signed(&format!("{name}@{stamp}"), &hosts)?
        };
        let config = tls::endpoint_config(served, min_version(str_at("/tlsMinVersion")), None)?;
        let node_pods = pod_list(pods.get(name));
        specs.push(Spec {
            endpoint: Endpoint {
                service: "kubelet",
                node: name.clone(),
                addr: SocketAddr::new(*ip, port),
                scheme: "https",
            },
            tls: Some(Arc::new(config)),
            answer: Arc::new(Answer::Kubelet {
                anonymous: anonymous_enabled(kc),
                always_allow: str_at("/authorization/mode") == Some("AlwaysAllow"),
                configz: cluster.configz(name).cloned(),
                pods: node_pods.clone(),
            }),
        });
        if let Some(read_only) = read_only_port(kc) {
            specs.push(Spec {
                endpoint: Endpoint {
                    service: "kubelet-read-only",
                    node: name.clone(),
                    addr: SocketAddr::new(*ip, read_only),
                    scheme: "http",
                },
                tls: None,
                answer: Arc::new(Answer::ReadOnly { pods: node_pods }),
            });
        }
    }
    for pod in cluster.objects_in("pods", "kube-system") {
        if pod.pointer("/metadata/annotations/kubernetes.io~1config.mirror").is_none() {
            continue;
        }
        let Some(node) = pod.pointer("/spec/nodeName").and_then(Value::as_str) else { continue };
        let Some(ip) = to.get(node) else { continue };
        let Some(container) = pod.pointer("/spec/containers/0") else { continue };
        let tokens: Vec<&str> = ["command", "args"]
            .iter()
            .filter_map(|k| container[*k].as_array())
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let flags = Flags::parse(&tokens);
        let flag = |f: &str| flags.get(f).map(str::to_string);
        // Where a listen address puts the endpoint: this node's address, or nowhere reachable.
        let on_node = |host: &str| match host.trim_start_matches('[').trim_end_matches(']') {
            "" | "0.0.0.0" | "::" => Some(*ip),
            h => h.parse::<IpAddr>().ok().filter(|a| a == ip),
        };
        let node = node.to_string();
        match container["name"].as_str().unwrap_or_default() {
            "etcd" => {
                for (urls, service, auth) in [
                    (
                        flag("listen-client-urls").unwrap_or_else(|| "http://localhost:2379".into()),
                        "etcd",
                        "client-cert-auth",
                    ),
                    (
                        flag("listen-peer-urls").unwrap_or_else(|| "http://localhost:2380".into()),
                        "etcd-peer",
                        "peer-client-cert-auth",
                    ),
                ] {
                    for url in urls.split(',') {
                        let Ok(u) = url::Url::parse(url.trim()) else { continue };
                        let (Some(host), Some(port)) = (u.host_str(), u.port_or_known_default()) else {
                            continue;
                        };
                        let Some(addr) = on_node(host) else { continue };
                        let https = u.scheme() == "https";
                        let tls = if https {
                            let require = flag(auth).as_deref() == Some("true");
                            let served = etcd_ca.issue(&node, &[addr.to_string(), node.clone()])?;
                            Some(Arc::new(tls::endpoint_config(
                                served,
                                &rustls::version::TLS12,
                                require.then(|| etcd_ca.der()),
                            )?))
                        } else {
                            None
                        };
                        specs.push(Spec {
                            endpoint: Endpoint {
                                service,
                                node: node.clone(),
                                addr: SocketAddr::new(addr, port),
                                scheme: if https { "https" } else { "http" },
                            },
                            tls,
                            answer: Arc::new(Answer::Etcd),
                        });
                    }
                }
            }
            "kube-apiserver" => {
                let port = flag("insecure-port").and_then(|p| p.parse::<u16>().ok()).unwrap_or(0);
                let bind = flag("insecure-bind-address").unwrap_or_else(|| "127.0.0.1".into());
                if let (true, Some(addr)) = (port != 0, on_node(&bind)) {
                    let version = ready_json(
                        &json!({"major": "1", "gitVersion": cluster.version, "platform": "linux/amd64"}),
                    );
                    specs.push(Spec {
                        endpoint: Endpoint {
                            service: "kube-apiserver-insecure",
                            node: node.clone(),
                            addr: SocketAddr::new(addr, port),
                            scheme: "http",
                        },
                        tls: None,
                        answer: Arc::new(Answer::ApiInsecure { version }),
                    });
                }
            }
            name @ ("kube-controller-manager" | "kube-scheduler") => {
                let default = if name == "kube-scheduler" { 10259 } else { 10257 };
                let port = flag("secure-port").and_then(|p| p.parse::<u16>().ok()).unwrap_or(default);
                let bind = flag("bind-address").unwrap_or_default();
                if let (true, Some(addr)) = (port != 0, on_node(&bind)) {
                    let served = tls::self_signed(&format!("{name}@{stamp}"), &[addr.to_string()])?;
                    let service =
                        if name == "kube-scheduler" { "kube-scheduler" } else { "kube-controller-manager" };
                    specs.push(Spec {
                        endpoint: Endpoint {
                            service,
                            node: node.clone(),
                            addr: SocketAddr::new(addr, port),
                            scheme: "https",
                        },
                        tls: Some(Arc::new(tls::endpoint_config(served, &rustls::version::TLS12, None)?)),
                        answer: Arc::new(Answer::Healthz),
                    });
                }
            }
            _ => {}
        }
    }
    Ok(specs)
}

type Body = Full<Bytes>;

fn reply(code: StatusCode, content_type: &str, body: impl Into<Bytes>) -> Response<Body> {
    Response::builder()
        .status(code)
        .header(header::CONTENT_TYPE, content_type)
        .body(Full::new(body.into()))
        .expect("static headers are valid")
}

fn answer(a: &Answer, path: &str, authenticated: bool) -> Response<Body> {
    let not_found = || reply(StatusCode::NOT_FOUND, "text/plain; charset=utf-8", "404 page not found\n");
    match a {
        Answer::Kubelet { anonymous, always_allow, configz, pods } => {
            if !matches!(path, "/pods" | "/runningpods/" | "/configz" | "/healthz") {
                return not_found();
            }
            if !anonymous && !authenticated {
                return reply(StatusCode::UNAUTHORIZED, "text/plain; charset=utf-8", "Unauthorized");
            }
            if !always_allow {
                return reply(
                    StatusCode::FORBIDDEN,
                    "text/plain; charset=utf-8",
                    "Forbidden (user=system:anonymous, verb=get, resource=nodes, subresource=proxy)",
                );
            }
            match path {
                "/configz" => match configz {
                    Some(c) => reply(StatusCode::OK, "application/json", c.clone()),
                    None => not_found(),
                },
                "/healthz" => reply(StatusCode::OK, "text/plain; charset=utf-8", "ok"),
                _ => reply(StatusCode::OK, "application/json", pods.clone()),
            }
        }
        Answer::ReadOnly { pods } => match path {
            "/pods" | "/pods/" => reply(StatusCode::OK, "application/json", pods.clone()),
            "/healthz" => reply(StatusCode::OK, "text/plain; charset=utf-8", "ok"),
            _ => not_found(),
        },
        Answer::Etcd => match path {
            "/version" => {
                reply(StatusCode::OK, "application/json", r#"{"etcdserver":"3.5.15","etcdcluster":"3.5.0"}"#)
            }
            "/health" => reply(StatusCode::OK, "application/json", r#"{"health":"true","reason":""}"#),
            _ => not_found(),
        },
        Answer::ApiInsecure { version } => match path {
            "/version" => reply(StatusCode::OK, "application/json", version.clone()),
            "/healthz" => reply(StatusCode::OK, "text/plain; charset=utf-8", "ok"),
            _ => not_found(),
        },
        // Served by `super::ssh`, never as HTTP.
        Answer::Ssh(_) => reply(StatusCode::BAD_REQUEST, "text/plain; charset=utf-8", "not HTTP"),
        Answer::Healthz => match path {
            "/healthz" => reply(StatusCode::OK, "text/plain; charset=utf-8", "ok"),
            _ => reply(StatusCode::FORBIDDEN, "text/plain; charset=utf-8", "forbidden"),
        },
    }
}

async fn serve(
    listener: tokio::net::TcpListener,
    tls: Option<TlsAcceptor>,
    answer_with: Arc<Answer>,
    shutdown: watch::Receiver<bool>,
) {
    super::server::accept_loop(listener, shutdown, move |tcp, _| {
        let (tls, a) = (tls.clone(), answer_with.clone());
        async move {
            let http = hyper::server::conn::http1::Builder::new();
            match tls {
                Some(acceptor) => {
                    let Ok(stream) = acceptor.accept(tcp).await else { return };
                    let authenticated = stream.get_ref().1.peer_certificates().is_some_and(|c| !c.is_empty());
                    let svc = hyper::service::service_fn(move |req: http::Request<hyper::body::Incoming>| {
                        let authenticated =
                            authenticated || req.headers().contains_key(header::AUTHORIZATION);
                        let response = answer(&a, req.uri().path(), authenticated);
                        async move { Ok::<_, Infallible>(response) }
                    });
                    let _ = http.serve_connection(TokioIo::new(stream), svc).await;
                }
                None => {
                    let svc = hyper::service::service_fn(move |req: http::Request<hyper::body::Incoming>| {
                        let response = answer(&a, req.uri().path(), false);
                        async move { Ok::<_, Infallible>(response) }
                    });
                    let _ = http.serve_connection(TokioIo::new(tcp), svc).await;
                }
            }
        }
    })
    .await
}
