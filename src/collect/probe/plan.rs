//! Which endpoints a scan probes, read from the evidence it already holds: the API server at the
//! cluster's URL (live) or at its flags' address (offline), each etcd client and peer URL, each
//! kubelet at its node's address and reported port, the controller-manager and scheduler secure
//! ports, and the plain-text ports that should be closed (API server insecure port, kubelet
//! read-only port, etcd over `http://`).
//!
//! A listen address on the node's own loopback (`127.0.0.1`, `localhost`) is not reachable from the
//! network: it is recorded as skipped with that reason, never dialled (from the scanner, loopback
//! is the scanner's own machine). `0.0.0.0` and `::` mean the node's address.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use crate::checks::component::lookup;
use crate::snapshot::probe::{ProbeTarget, Service, SkippedProbe, API_PATHS, KUBELET_PATHS};
use crate::snapshot::{Component, ComponentKind, Node, Snapshot};

/// Default ports of the components (their flags' defaults).
const API_SECURE_PORT: u16 = 6443;
const API_INSECURE_PORT: u16 = 8080;
const KUBELET_PORT: u16 = 10250;
const KUBELET_READ_ONLY_PORT: u16 = 10255;
const CONTROLLER_MANAGER_PORT: u16 = 10257;
const SCHEDULER_PORT: u16 = 10259;

/// One unauthenticated HTTP request to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpAsk {
    pub target: ProbeTarget,
    /// `http` or `https`.
    pub scheme: &'static str,
    pub path: &'static str,
}

/// What to probe, and what not and why.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub tls: Vec<ProbeTarget>,
    pub http: Vec<HttpAsk>,
    /// Nodes' SSH servers ([`Plan::ssh_nodes`]).
    pub ssh: Vec<ProbeTarget>,
    pub skipped: Vec<SkippedProbe>,
}

impl Plan {
    fn tls(&mut self, target: ProbeTarget) {
        if !self.tls.contains(&target) {
            self.tls.push(target);
        }
    }

    fn http(&mut self, target: &ProbeTarget, scheme: &'static str, paths: &[&'static str]) {
        for path in paths {
            let ask = HttpAsk { target: target.clone(), scheme, path };
            if !self.http.contains(&ask) {
                self.http.push(ask);
            }
        }
    }

    fn skip(&mut self, target: ProbeTarget, reason: String) {
        self.skipped.push(SkippedProbe { target, reason });
    }

    /// How many connections' worth of work the plan is (for progress).
    pub fn len(&self) -> usize {
        self.tls.len() + self.http.len() + self.ssh.len()
    }

    /// Add every node's SSH server at `port`: its InternalIP, else its ExternalIP (issue 14).
    pub fn ssh_nodes(&mut self, snapshot: &Snapshot, port: u16) {
        for node in &snapshot.nodes.items {
            let mut target = ProbeTarget {
                service: Service::Ssh,
                node: Some(node.name.clone()),
                host: String::new(),
                port,
                basis: format!("the address node {} reports and the cluster's SSH port", node.name),
            };
            match node.address() {
                Some(address) => {
                    target.host = address.to_string();
                    if !self.ssh.contains(&target) {
                        self.ssh.push(target);
                    }
                }
                None => self.skip(target, format!("node {} reports no InternalIP or ExternalIP", node.name)),
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Where a component listening on `listen` can be reached from the network.
enum Reach {
    At(String),
    /// Only on the node itself.
    NodeLocal,
    /// All interfaces, but the node's address is not known.
    NoAddress,
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost") || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn reach(listen: &str, node: Option<&Node>) -> Reach {
    let listen = listen.trim_start_matches('[').trim_end_matches(']');
    let own = node.and_then(Node::address);
    match listen {
        "" | "0.0.0.0" | "::" => own.map(|a| Reach::At(a.to_string())).unwrap_or(Reach::NoAddress),
        // A simulator's (or a test's) nodes may live on loopback addresses: their own is reachable.
        h if is_loopback(h) && own != Some(h) => Reach::NodeLocal,
        h => Reach::At(h.to_string()),
    }
}

/// `scheme://host:port` of a listen URL, with the scheme's default port.
fn split_url(url: &str) -> Option<(String, String, u16)> {
    let parsed = url::Url::parse(url.trim()).ok()?;
    let scheme = parsed.scheme().to_string();
    let host = match parsed.host()? {
        url::Host::Ipv6(ip) => ip.to_string(),
        other => other.to_string(),
    };
    let port = parsed.port_or_known_default().or(match scheme.as_str() {
        "unix" | "unixs" => None,
        _ => Some(2379),
    })?;
    Some((scheme, host, port))
}

/// Builds the plan for one snapshot.
struct Planner<'a> {
    nodes: BTreeMap<&'a str, &'a Node>,
    plan: Plan,
}

impl<'a> Planner<'a> {
    fn node(&self, c: &Component) -> Option<&'a Node> {
        c.node.as_deref().and_then(|n| self.nodes.get(n).copied())
    }

    /// A target for `component` listening on `listen:port`, or a skip saying why it is not dialled.
    fn target(
        &mut self,
        service: Service,
        c: &Component,
        listen: &str,
        port: u16,
        basis: String,
    ) -> Option<ProbeTarget> {
        let node = self.node(c);
        let mut target = ProbeTarget { service, node: c.node.clone(), host: listen.to_string(), port, basis };
        match reach(listen, node) {
            Reach::At(host) => {
                target.host = host;
                Some(target)
            }
            Reach::NodeLocal => {
                let reason = format!(
                    "{} listens on {listen}:{port}, its node's loopback: not reachable from the network",
                    c.describe()
                );
                self.plan.skip(target, reason);
                None
            }
            Reach::NoAddress => {
                let reason = format!(
                    "{} listens on all interfaces on port {port}, but its node's address is not known",
                    c.describe()
                );
                self.plan.skip(target, reason);
                None
            }
        }
    }

    fn apiserver(&mut self, c: &Component) {
        let flag = |f: &str| lookup(c, f).map(|found| found.value);
        let port = flag("secure-port").and_then(|p| p.parse().ok()).unwrap_or(API_SECURE_PORT);
        let (listen, basis) = match (flag("advertise-address"), flag("bind-address")) {
            (Some(a), _) => (a, format!("--advertise-address and --secure-port of {}", c.describe())),
            (None, Some(b)) => (b, format!("--bind-address and --secure-port of {}", c.describe())),
            (None, None) => {
                (String::new(), format!("its node's address and --secure-port of {}", c.describe()))
            }
        };
        if port != 0 {
            if let Some(t) = self.target(Service::ApiServer, c, &listen, port, basis) {
                self.plan.http(&t, "https", API_PATHS);
                self.plan.tls(t);
            }
        }
    }

    /// The insecure port: where the flags put it, else the old default 8080 on the node's address
    /// (what an attacker tries; a closed port is the pass).
    fn apiserver_insecure(&mut self, c: &Component) {
        let flag = |f: &str| lookup(c, f).map(|found| found.value);
        let (listen, port, basis) = match flag("insecure-port").and_then(|p| p.parse::<u16>().ok()) {
            Some(p) if p != 0 => (
                flag("insecure-bind-address").unwrap_or_else(|| "127.0.0.1".into()),
                p,
                format!("--insecure-port and --insecure-bind-address of {}", c.describe()),
            ),
            _ => (
                String::new(),
                API_INSECURE_PORT,
                format!("the default insecure port on the node of {}", c.describe()),
            ),
        };
        if let Some(t) = self.target(Service::ApiServer, c, &listen, port, basis) {
            self.plan.http(&t, "http", &["/version"]);
        }
    }

    fn etcd(&mut self, c: &Component) {
        for (flag, default, service) in [
            ("listen-client-urls", "http://localhost:2379", Service::Etcd),
            ("listen-peer-urls", "http://localhost:2380", Service::EtcdPeer),
        ] {
            let urls = lookup(c, flag).map(|f| f.value).unwrap_or_else(|| default.to_string());
            for url in urls.split(',').filter(|u| !u.trim().is_empty()) {
                let Some((scheme, host, port)) = split_url(url) else {
                    let target = ProbeTarget {
                        service,
                        node: c.node.clone(),
                        host: url.to_string(),
                        port: 0,
                        basis: format!("--{flag} of {}", c.describe()),
                    };
                    self.plan.skip(
                        target,
                        format!("`{url}` in --{flag} of {} is not a URL Palisade can dial", c.describe()),
                    );
                    continue;
                };
                let basis = format!("--{flag} of {}", c.describe());
                let Some(t) = self.target(service, c, &host, port, basis) else { continue };
                match scheme.as_str() {
                    "https" => self.plan.tls(t),
                    _ => self.plan.http(&t, "http", &["/version"]),
                }
            }
        }
    }

    fn secure_port(&mut self, c: &Component, service: Service, default_port: u16) {
        let flag = |f: &str| lookup(c, f).map(|found| found.value);
        let port = flag("secure-port").and_then(|p| p.parse().ok()).unwrap_or(default_port);
        let listen = flag("bind-address").unwrap_or_default();
        let basis = format!("--bind-address and --secure-port of {}", c.describe());
        if port == 0 {
            let target = ProbeTarget { service, node: c.node.clone(), host: listen, port, basis };
            self.plan.skip(target, format!("{} runs with --secure-port=0: it serves nothing", c.describe()));
            return;
        }
        if let Some(t) = self.target(service, c, &listen, port, basis) {
            self.plan.tls(t);
        }
    }

    fn kubelets(&mut self, snapshot: &Snapshot) {
        for node in &snapshot.nodes.items {
            let Some(address) = node.address() else {
                let target = ProbeTarget {
                    service: Service::Kubelet,
                    node: Some(node.name.clone()),
                    host: String::new(),
                    port: node.kubelet_port.unwrap_or(KUBELET_PORT),
                    basis: format!("node {}", node.name),
                };
                self.plan.skip(target, format!("node {} reports no InternalIP or ExternalIP", node.name));
                continue;
            };
            let t = ProbeTarget {
                service: Service::Kubelet,
                node: Some(node.name.clone()),
                host: address.to_string(),
                port: node.kubelet_port.unwrap_or(KUBELET_PORT),
                basis: format!("the address and kubelet port node {} reports", node.name),
            };
            self.plan.http(&t, "https", KUBELET_PATHS);
            self.plan.tls(t.clone());
            // The read-only port where the configuration puts it, else its old default.
            let configured = snapshot
                .kubelets
                .iter()
                .find(|k| k.node == node.name)
                .and_then(|k| k.setting("read-only-port", "readOnlyPort"))
                .and_then(|(v, _)| v.parse::<u16>().ok())
                .filter(|p| *p != 0);
            let read_only = ProbeTarget {
                port: configured.unwrap_or(KUBELET_READ_ONLY_PORT),
                basis: match configured {
                    Some(_) => format!("the readOnlyPort of node {}'s kubelet configuration", node.name),
                    None => format!("the default read-only port on node {}", node.name),
                },
                ..t
            };
            self.plan.http(&read_only, "http", &["/pods"]);
        }
    }
}

/// The probes for a snapshot. `api_url` is the cluster's API URL in a live scan (`None` offline:
/// the API servers are probed where their flags say they listen).
pub fn plan(snapshot: &Snapshot, api_url: Option<&str>) -> Plan {
    let mut planner = Planner {
        nodes: snapshot.nodes.items.iter().map(|n| (n.name.as_str(), n)).collect(),
        plan: Plan::default(),
    };
    if let Some(url) = api_url.and_then(|u| url::Url::parse(u).ok()) {
        if let (Some(host), Some(port)) = (url.host_str(), url.port_or_known_default()) {
            let t = ProbeTarget {
                service: Service::ApiServer,
                node: None,
                host: host.trim_start_matches('[').trim_end_matches(']').to_string(),
                port,
                basis: "the cluster's API URL".into(),
            };
            planner.plan.http(&t, "https", API_PATHS);
            planner.plan.tls(t);
        }
    }
    let mut seen = BTreeSet::new();
    for c in &snapshot.components.items {
        if !seen.insert((c.kind, c.node.clone(), c.name.clone())) {
            continue;
        }
        match c.kind {
            ComponentKind::KubeApiserver => {
                if api_url.is_none() {
                    planner.apiserver(c);
                }
                planner.apiserver_insecure(c);
            }
            ComponentKind::Etcd => planner.etcd(c),
            ComponentKind::KubeControllerManager => {
                planner.secure_port(c, Service::ControllerManager, CONTROLLER_MANAGER_PORT)
            }
            ComponentKind::KubeScheduler => planner.secure_port(c, Service::Scheduler, SCHEDULER_PORT),
            _ => {}
        }
    }
    planner.kubelets(snapshot);
    planner.plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::Snapshot;

    fn endpoints(plan: &Plan, service: Service) -> Vec<String> {
        plan.tls.iter().filter(|t| t.service == service).map(ProbeTarget::endpoint).collect()
    }

    #[test]
    fn kubeadm_defaults_put_etcd_clients_on_the_node_address_and_the_schedulers_on_loopback() {
        let snap = Snapshot::kubeadm_default();
        let cp = snap.nodes.iter().find(|n| n.roles.iter().any(|r| r == "control-plane")).unwrap();
        let ip = cp.address().unwrap();
        let p = plan(&snap, Some(&format!("https://{ip}:6443")));
        assert_eq!(endpoints(&p, Service::ApiServer), vec![format!("{ip}:6443")]);
        // --listen-client-urls=https://127.0.0.1:2379,https://<ip>:2379: the first is node-local.
        assert_eq!(endpoints(&p, Service::Etcd), vec![format!("{ip}:2379")]);
        assert!(
            p.skipped.iter().any(|s| s.target.service == Service::Etcd && s.reason.contains("loopback")),
            "{:?}",
            p.skipped
        );
        // kubeadm binds the controller-manager and the scheduler to 127.0.0.1.
        assert!(endpoints(&p, Service::ControllerManager).is_empty());
        assert!(p.skipped.iter().any(|s| s.target.service == Service::Scheduler));
        // Every node's kubelet, with its three unauthenticated paths and its read-only port.
        let kubelets = endpoints(&p, Service::Kubelet);
        assert_eq!(kubelets.len(), snap.nodes.len());
        let read_only =
            p.http.iter().filter(|h| h.target.service == Service::Kubelet && h.scheme == "http").count();
        assert_eq!(read_only, snap.nodes.len());
        assert!(p.http.iter().any(|h| h.path == "/api/v1/secrets" && h.scheme == "https"));
    }

    #[test]
    fn offline_the_api_server_is_probed_where_its_flags_say() {
        let snap = Snapshot::kubeadm_default().with_apiserver_flag("secure-port", "7443");
        let p = plan(&snap, None);
        let api = endpoints(&p, Service::ApiServer);
        assert_eq!(api.len(), 1, "{api:?}");
        assert!(api[0].ends_with(":7443"), "{api:?}");
    }

    #[test]
    fn plain_http_etcd_urls_become_plain_text_requests() {
        let snap = Snapshot::kubeadm_default().with_etcd_flag("listen-client-urls", "http://0.0.0.0:2379");
        let p = plan(&snap, None);
        assert!(endpoints(&p, Service::Etcd).is_empty());
        let plain: Vec<_> = p.http.iter().filter(|h| h.target.service == Service::Etcd).collect();
        assert_eq!(plain.len(), 1);
        assert_eq!(plain[0].scheme, "http");
        assert!(!plain[0].target.host.starts_with("0.0.0.0"), "{:?}", plain[0].target);
    }

    #[test]
    fn listen_urls_split_with_their_default_ports() {
        assert_eq!(split_url("https://[::1]:2379"), Some(("https".into(), "::1".into(), 2379)));
        assert_eq!(split_url("http://etcd"), Some(("http".into(), "etcd".into(), 80)));
        assert_eq!(split_url("not a url"), None);
    }
}
