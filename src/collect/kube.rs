//! The live collector: reads a cluster through its Kubernetes API into a [`Snapshot`] tagged `api`.
//!
//! How it stays bounded and honest:
//! - every resource is listed with `limit` + `continue` and each page is reduced to snapshot items
//!   as it arrives (see [`crate::collect::reduce`]), so memory holds one page of raw JSON per
//!   concurrent list, never the whole cluster;
//! - at most [`LiveOptions::concurrency`] lists (and [`LiveOptions::kubelet_concurrency`] node
//!   `configz` requests) run at once;
//! - every connection goes through the egress policy ([`crate::egress`]), and every answer is read
//!   with a size cap (1 MiB for `/version` and single objects, a larger one per list page, a total
//!   per scan) and deadlines for the first byte and the whole body: an endless answer fails that
//!   one call ("the response exceeded 1 MiB"), and what it would have said is `unknown`;
//! - each request has a timeout, and so does the whole scan;
//! - an error answer is described by its status and a Kubernetes `Status` message (cut short) or
//!   what kind of answer it was: a remote body is never repeated;
//! - a dropped connection, a timeout or a 5xx/429 answer is retried a bounded number of times with
//!   backoff; a `410 Gone` on an expired `continue` token restarts that one list once;
//! - a 403 or 404 on one resource makes that group `unknown` with the reason, and the scan goes on;
//! - a 401 stops the scan with [`CollectError::Unauthorized`]: nothing else can succeed.
//!
//! Response bodies are never logged: they may carry secret material (the `data` of Secrets is
//! dropped in the reducer, but the raw page passes through here).

use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use serde_json::Value;

use crate::collect::client::{ClusterCredentials, CredentialsError};
use crate::collect::reduce::{parse_git_version, Group, GroupStates, Reducer};
use crate::egress::{self, Egress, EgressError, ReadError};
use crate::snapshot::{ConfigForm, EvidenceState, GapReason, KubeVersion, Origin, Snapshot, Source};

/// Why a live scan could not produce a snapshot at all.
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    #[error(
        "the cluster rejected Palisade's credentials (401 Unauthorized from {server}): the token or client \
         certificate is wrong, expired or revoked"
    )]
    Unauthorized { server: String },
    #[error("cannot reach the cluster at {server}: {detail}")]
    Unreachable { server: String, detail: String },
    #[error("the scan of {server} did not finish within {timeout:?}")]
    ScanTimedOut { server: String, timeout: Duration },
    #[error(transparent)]
    Credentials(#[from] CredentialsError),
    /// The server's address is denied by the egress policy: nothing was sent.
    #[error("not scanned: {0}")]
    Egress(#[from] EgressError),
}

/// A step of a live scan, reported as it happens (for the CLI and the scheduler's progress view).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// A page of `resource` was reduced; `items` so far.
    Listing { resource: &'static str, items: usize },
    /// `resource` is done; `state` is `complete` or the reason it is not.
    Listed { resource: &'static str, items: usize, state: String },
    /// Node `configz` requests: `done` of `total`.
    Kubelets { done: usize, total: usize },
    /// Endpoint probes: `done` of `total`.
    Probing { done: usize, total: usize },
}

/// A progress callback.
pub type ProgressFn = Arc<dyn Fn(&Progress) + Send + Sync>;

/// Tuning of a live scan.
#[derive(Clone)]
pub struct LiveOptions {
    /// Items per list page (`limit`).
    pub page_size: u32,
    /// Resources listed at once.
    pub concurrency: usize,
    /// Node `configz` requests at once.
    pub kubelet_concurrency: usize,
    /// Outer timeout of one request (one page, one configz), on top of the egress limits'
    /// connect, first-byte and body timeouts.
    pub request_timeout: Duration,
    /// Timeout of the whole scan.
    pub scan_timeout: Duration,
    /// Attempts per request for retryable failures (dropped connection, timeout, 5xx, 429).
    pub attempts: u32,
    /// First retry delay; doubles on each further attempt.
    pub backoff: Duration,
    pub progress: Option<ProgressFn>,
    /// Where the scan may connect, and the size caps and deadlines of its reads.
    pub egress: Arc<Egress>,
    /// Probe the cluster's endpoints after listing (`None`: no probes). The cluster CA of the
    /// credentials is used when the options name none.
    pub probe: Option<super::probe::ProbeOptions>,
}

impl Default for LiveOptions {
    fn default() -> Self {
        Self {
            page_size: 500,
            concurrency: 4,
            kubelet_concurrency: 16,
            request_timeout: Duration::from_secs(150),
            scan_timeout: Duration::from_secs(600),
            attempts: 3,
            backoff: Duration::from_millis(200),
            progress: None,
            egress: Arc::new(
                Egress::from_settings(&crate::config::EgressSettings::default())
                    .expect("valid built-in rules"),
            ),
            probe: None,
        }
    }
}

impl std::fmt::Debug for LiveOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveOptions")
            .field("page_size", &self.page_size)
            .field("concurrency", &self.concurrency)
            .field("kubelet_concurrency", &self.kubelet_concurrency)
            .field("request_timeout", &self.request_timeout)
            .field("scan_timeout", &self.scan_timeout)
            .field("attempts", &self.attempts)
            .field("limits", &self.egress.limits)
            .finish_non_exhaustive()
    }
}

/// How one request failed after its retries. No variant carries a remote body: a status names
/// the code and either a Kubernetes `Status` message (cut short) or what kind of answer it was.
#[derive(Debug, Clone)]
pub(crate) enum Failure {
    /// 401: fatal for the whole scan.
    Unauthorized,
    /// Any other HTTP error status.
    Status { code: u16, message: String },
    /// No answer in time, or a body that did not end in time.
    TimedOut(Duration),
    /// The answer was too large (or the scan's total was reached).
    Read(ReadError),
    /// The egress policy refused the address: no packet was sent.
    Egress(String),
    /// The connection could not be made or was dropped (local error text).
    Transport(String),
}

impl Failure {
    fn reason(&self) -> GapReason {
        match self {
            Failure::TimedOut(_) | Failure::Read(ReadError::TimedOut(_)) => GapReason::TimedOut,
            Failure::Unauthorized => GapReason::Forbidden,
            Failure::Status { code: 403, .. } => GapReason::Forbidden,
            Failure::Status { code: 404, .. } => GapReason::NotFound,
            Failure::Status { .. } | Failure::Read(_) | Failure::Egress(_) => GapReason::Error,
            Failure::Transport(_) => GapReason::Unreachable,
        }
    }

    pub(crate) fn detail(&self, what: &str) -> String {
        match self {
            Failure::Unauthorized => format!("{what}: 401 Unauthorized"),
            Failure::Status { code: 403, message } => {
                format!("Palisade's identity may not read {what} (403 Forbidden: {message})")
            }
            Failure::Status { code: 404, message } => {
                format!("{what} is not served by this cluster (404: {message})")
            }
            Failure::Status { code, message } => format!("{what} answered HTTP {code}: {message}"),
            Failure::TimedOut(d) => format!("{what}: timed out after {}", egress::secs(*d)),
            Failure::Read(e) => format!("{what}: {e}"),
            Failure::Egress(e) => format!("{what}: {e}"),
            Failure::Transport(e) => format!("{what}: connection failed: {e}"),
        }
    }

    fn state(&self, what: &str) -> EvidenceState {
        EvidenceState::Unknown { reason: self.reason(), detail: self.detail(what) }
    }
}

/// Longest Kubernetes `Status` message kept from an error answer.
const STATUS_MESSAGE_CHARS: usize = 200;

/// The words for an error answer: a real Kubernetes `Status` object's `message` (cut at 200
/// characters), else what kind of answer it was, never the body itself.
pub(crate) fn describe_error_answer(status: http::StatusCode, content_type: &str, body: &[u8]) -> String {
    let kube_status = serde_json::from_slice::<Value>(body).ok().filter(|v| {
        v.get("kind").and_then(Value::as_str) == Some("Status")
            && v.get("apiVersion").and_then(Value::as_str) == Some("v1")
    });
    if let Some(message) = kube_status.as_ref().and_then(|v| v.get("message")).and_then(Value::as_str) {
        let cut: String = message.chars().take(STATUS_MESSAGE_CHARS).collect();
        return if cut.len() < message.len() { format!("{cut}…") } else { cut };
    }
    not_kubernetes(status, content_type)
}

/// "not a Kubernetes API server: answered 404 with text/html".
pub(crate) fn not_kubernetes(status: http::StatusCode, content_type: &str) -> String {
    let kind = content_type.split(';').next().unwrap_or("").trim();
    // Only a media type's own characters: the header is remote text too.
    let kind: String =
        kind.chars().filter(|c| c.is_ascii_alphanumeric() || "/+.-".contains(*c)).take(60).collect();
    if status.is_redirection() {
        return format!(
            "not a Kubernetes API server: answered {} (a redirect, which Palisade never follows)",
            status.as_u16()
        );
    }
    let kind = if kind.is_empty() { "no content type".to_string() } else { kind };
    format!("not a Kubernetes API server: answered {} with {kind}", status.as_u16())
}

/// What a GET is for: picks its size cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Read {
    /// `/version`, discovery, one object.
    Small,
    /// One page of a list.
    Page,
}

/// A cluster's API with the scan's options and its running byte total.
pub(crate) struct Api {
    client: kube::Client,
    opts: LiveOptions,
    read_total: AtomicU64,
}

impl Api {
    /// A client for `creds` through `opts.egress`. No request is made.
    pub(crate) fn new(creds: &ClusterCredentials, opts: LiveOptions) -> Result<Api, CredentialsError> {
        crate::crypto::install_crypto_provider();
        let client = creds.client(&opts.egress)?;
        Ok(Api { client, opts, read_total: AtomicU64::new(0) })
    }

    /// GET `path` as JSON with per-request timeout and bounded retries.
    pub(crate) async fn get(&self, path: &str, read: Read) -> Result<Value, Failure> {
        let mut delay = self.opts.backoff;
        let mut attempt = 1;
        loop {
            let timeout = self.opts.request_timeout;
            let result = tokio::time::timeout(timeout, self.get_once(path, read)).await;
            let failure = match result {
                Ok(Ok(value)) => return Ok(value),
                Ok(Err(f)) => f,
                Err(_) => Failure::TimedOut(timeout),
            };
            let retryable = match &failure {
                Failure::TimedOut(_) | Failure::Transport(_) => true,
                Failure::Read(ReadError::Broken(_)) => true,
                Failure::Status { code, .. } => *code == 429 || *code >= 500,
                Failure::Unauthorized | Failure::Read(_) | Failure::Egress(_) => false,
            };
            if !retryable || attempt >= self.opts.attempts {
                return Err(failure);
            }
            tracing::debug!(path, attempt, failure = ?failure.reason(), "retrying request");
            tokio::time::sleep(delay).await;
            delay *= 2;
            attempt += 1;
        }
    }

    async fn get_once(&self, path: &str, read: Read) -> Result<Value, Failure> {
        let limits = self.opts.egress.limits;
        let request = http::Request::get(path)
            .header(http::header::ACCEPT, "application/json")
            .body(kube::client::Body::empty())
            .map_err(|e| Failure::Transport(e.to_string()))?;
        let response = tokio::time::timeout(limits.first_byte_timeout, self.client.send(request))
            .await
            .map_err(|_| Failure::TimedOut(limits.first_byte_timeout))?
            .map_err(transport)?;
        let status = response.status();
        let content_type = response
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        if status == http::StatusCode::UNAUTHORIZED {
            return Err(Failure::Unauthorized);
        }
        let cap = match read {
            Read::Small => limits.small_bytes,
            // An error answer is read only for a Status message: it gets the small cap.
            Read::Page if status.is_success() => limits.page_bytes,
            Read::Page => limits.small_bytes,
        };
        let body = self
            .opts
            .egress
            .read_body(response.into_body(), cap, &self.read_total)
            .await
            .map_err(Failure::Read)?;
        if !status.is_success() {
            return Err(Failure::Status {
                code: status.as_u16(),
                message: describe_error_answer(status, &content_type, &body),
            });
        }
        serde_json::from_slice(&body).map_err(|_| Failure::Status {
            code: status.as_u16(),
            message: format!("{}, not JSON", not_kubernetes(status, &content_type)),
        })
    }

    fn report(&self, p: Progress) {
        if let Some(f) = &self.opts.progress {
            f(&p);
        }
    }
}

fn transport(e: kube::Error) -> Failure {
    if let Some(refused) = egress::refusal_in(&e) {
        return match refused {
            EgressError::ConnectTimedOut { .. } | EgressError::Connect { .. } => {
                Failure::Transport(refused.to_string())
            }
            other => Failure::Egress(other.to_string()),
        };
    }
    // Walk the cause chain: hyper reports a dropped connection several layers down. These are
    // local errors (TLS, sockets), never remote text.
    Failure::Transport(crate::telemetry::Chain(&e).to_string())
}

/// The API path a group is listed from.
fn list_path(group: Group) -> &'static str {
    match group {
        Group::Nodes => "/api/v1/nodes",
        Group::Namespaces => "/api/v1/namespaces",
        Group::Pods => "/api/v1/pods",
        Group::ServiceAccounts => "/api/v1/serviceaccounts",
        Group::Secrets => "/api/v1/secrets",
        Group::Roles => "/apis/rbac.authorization.k8s.io/v1/roles",
        Group::ClusterRoles => "/apis/rbac.authorization.k8s.io/v1/clusterroles",
        Group::RoleBindings => "/apis/rbac.authorization.k8s.io/v1/rolebindings",
        Group::ClusterRoleBindings => "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
        Group::NetworkPolicies => "/apis/networking.k8s.io/v1/networkpolicies",
        Group::DaemonSets => "/apis/apps/v1/daemonsets",
    }
}

/// List one resource page by page into its own reducer.
async fn list(api: &Api, group: Group, origin: &Origin) -> (Group, Reducer, Result<(), Failure>) {
    let resource = group.resource();
    let mut restarted = false;
    'restart: loop {
        let mut reducer = Reducer::new(origin.clone());
        let mut items = 0usize;
        let mut token: Option<String> = None;
        loop {
            let mut path = format!("{}?limit={}", list_path(group), api.opts.page_size);
            if let Some(t) = &token {
                path.push_str("&continue=");
                path.push_str(&url::form_urlencoded::byte_serialize(t.as_bytes()).collect::<String>());
            }
            let page = match api.get(&path, Read::Page).await {
                Ok(page) => page,
                Err(Failure::Status { code: 410, .. }) if token.is_some() && !restarted => {
                    // The continue token expired (the list took longer than etcd's compaction
                    // window): start this list again from the top, once.
                    restarted = true;
                    continue 'restart;
                }
                Err(f) => return (group, reducer, Err(f)),
            };
            let mut page = page;
            if let Some(Value::Array(list)) = page.get_mut("items").map(Value::take) {
                for mut item in list {
                    // Typed lists omit each item's kind.
                    if let Value::Object(map) = &mut item {
                        map.entry("kind").or_insert_with(|| Value::String(group.kind().to_string()));
                    }
                    reducer.add_object(&item);
                    items += 1;
                }
            }
            api.report(Progress::Listing { resource, items });
            token = page
                .pointer("/metadata/continue")
                .and_then(Value::as_str)
                .filter(|t| !t.is_empty())
                .map(str::to_string);
            if token.is_none() {
                return (group, reducer, Ok(()));
            }
        }
    }
}

/// Probe the endpoints `snapshot` names (and the API at `api_url` in a live scan), reporting
/// [`Progress::Probing`]: the probe phase of live and offline scans alike.
pub async fn probe_snapshot(
    snapshot: &Snapshot,
    api_url: Option<&str>,
    egress: &Arc<Egress>,
    options: &super::probe::ProbeOptions,
    progress: Option<&ProgressFn>,
) -> crate::snapshot::probe::Probes {
    let mut plan = super::probe::plan(snapshot, api_url);
    if let Some(port) = options.ssh_port {
        plan.ssh_nodes(snapshot, port);
    }
    let report = |done, total| {
        if let Some(p) = progress {
            p(&Progress::Probing { done, total });
        }
    };
    super::probe::run(plan, egress, options, &report).await
}

/// Collect a live snapshot of the cluster `creds` point at.
#[tracing::instrument(skip_all, fields(cluster = cluster_name))]
pub async fn collect(
    cluster_name: &str,
    creds: &ClusterCredentials,
    opts: LiveOptions,
) -> Result<Snapshot, CollectError> {
    // rustls cannot pick a provider by itself when another crate in the build enables aws-lc-rs:
    // Palisade uses ring everywhere, so say so before the first TLS configuration is built.
    // Vet the address before anything is built: a denied cluster gets no packet at all (the
    // connector checks again on every connection).
    opts.egress.check_url(&creds.server).await?;
    let timeout = opts.scan_timeout;
    let (probe, egress, progress) = (opts.probe.clone(), opts.egress.clone(), opts.progress.clone());
    let api = Api::new(creds, opts)?;
    let scan = async {
        let mut snapshot = collect_with(cluster_name, &creds.server, &api).await?;
        snapshot.cluster.api_tls_verified = Some(!creds.insecure_skip_tls_verify);
        if let Some(mut options) = probe {
            if options.ca_pem.is_none() {
                options.ca_pem = creds.ca_pem.clone();
            }
            snapshot.probes =
                probe_snapshot(&snapshot, Some(&creds.server), &egress, &options, progress.as_ref()).await;
        }
        Ok(snapshot)
    };
    match tokio::time::timeout(timeout, scan).await {
        Ok(result) => result,
        Err(_) => Err(CollectError::ScanTimedOut { server: creds.server.clone(), timeout }),
    }
}

async fn collect_with(cluster_name: &str, server: &str, api: &Api) -> Result<Snapshot, CollectError> {
    let origin = Origin::new(Source::Api, chrono::Utc::now());
    let mut states = GroupStates::default();
    let mut reducer = Reducer::new(origin.clone());

    // /version first: it tells whether the cluster is there and accepts the credentials.
    match api.get("/version", Read::Small).await {
        Ok(v) => states.version = version_of(&v),
        Err(Failure::Unauthorized) => return Err(CollectError::Unauthorized { server: server.into() }),
        Err(Failure::Transport(detail) | Failure::Egress(detail)) => {
            return Err(CollectError::Unreachable { server: server.into(), detail })
        }
        Err(Failure::TimedOut(d)) => {
            return Err(CollectError::Unreachable {
                server: server.into(),
                detail: format!("no answer: timed out after {}", egress::secs(d)),
            })
        }
        // Some clusters forbid /version to restricted identities; the version stays unknown.
        Err(f) => reducer.gaps.push(crate::snapshot::Gap {
            what: "version".into(),
            reason: f.reason(),
            detail: f.detail("/version"),
        }),
    }

    let mut lists = futures::stream::iter(Group::ALL.map(|g| list(api, g, &origin)))
        .buffer_unordered(api.opts.concurrency.max(1));
    while let Some((group, part, result)) = lists.next().await {
        let items = part.seen(group);
        let state = match result {
            Ok(()) => EvidenceState::Complete,
            Err(Failure::Unauthorized) => return Err(CollectError::Unauthorized { server: server.into() }),
            Err(f) => f.state(group.resource()),
        };
        api.report(Progress::Listed {
            resource: group.resource(),
            items,
            state: state.missing_reason().unwrap_or_else(|| "complete".into()),
        });
        if group == Group::Pods {
            states.kube_system_pods_readable = state.is_complete();
        }
        // A list that failed half-way keeps what it read: the group says it is incomplete.
        reducer.merge(part);
        states.states.insert(group, state);
    }
    drop(lists);

    // kubeadm's ClusterConfiguration: secondary control-plane evidence, absent on other installers.
    match api.get("/api/v1/namespaces/kube-system/configmaps/kubeadm-config", Read::Small).await {
        Ok(cm) => reducer.add_object(&cm),
        Err(Failure::Status { code: 404, .. }) => {}
        Err(Failure::Unauthorized) => return Err(CollectError::Unauthorized { server: server.into() }),
        Err(f) => reducer.gaps.push(crate::snapshot::Gap {
            what: "configmaps/kube-system/kubeadm-config".into(),
            reason: f.reason(),
            detail: f.detail("the kubeadm-config ConfigMap"),
        }),
    }

    collect_kubelets(api, server, &mut reducer, &mut states).await?;
    Ok(reducer.finish(cluster_name, states))
}

/// Read every node's kubelet configuration through the API server's node proxy.
async fn collect_kubelets(
    api: &Api,
    server: &str,
    reducer: &mut Reducer,
    states: &mut GroupStates,
) -> Result<(), CollectError> {
    let nodes = reducer.node_names();
    let total = nodes.len();
    let forbidden = std::sync::atomic::AtomicBool::new(false);
    let fetch = |node: String| {
        let forbidden = &forbidden;
        async move {
            // nodes/proxy is granted cluster-wide or not at all in practice: after one 403, do
            // not send thousands more.
            if forbidden.load(std::sync::atomic::Ordering::Relaxed) {
                return (
                    node,
                    Err(Failure::Status { code: 403, message: "nodes/proxy is forbidden".into() }),
                );
            }
            let path = format!("/api/v1/nodes/{}/proxy/configz", urlencode_segment(&node));
            let result = api.get(&path, Read::Small).await;
            if matches!(result, Err(Failure::Status { code: 403, .. })) {
                forbidden.store(true, std::sync::atomic::Ordering::Relaxed);
            }
            (node, result)
        }
    };
    let mut results = futures::stream::iter(nodes.into_iter().map(fetch))
        .buffer_unordered(api.opts.kubelet_concurrency.max(1));
    let mut done = 0;
    while let Some((node, result)) = results.next().await {
        done += 1;
        match result {
            Ok(mut v) => match v.get_mut("kubeletconfig").map(Value::take) {
                Some(config @ Value::Object(_)) => {
                    reducer.add_kubelet_config(&node, config, ConfigForm::Effective)
                }
                _ => {
                    states.kubelet_states.insert(
                        node.clone(),
                        EvidenceState::Unknown {
                            reason: GapReason::Error,
                            detail: format!(
                                "nodes/{node}/proxy/configz answered without a `kubeletconfig` object"
                            ),
                        },
                    );
                }
            },
            Err(Failure::Unauthorized) => return Err(CollectError::Unauthorized { server: server.into() }),
            Err(f) => {
                states.kubelet_states.insert(node.clone(), f.state(&format!("nodes/{node}/proxy/configz")));
            }
        }
        if done % 100 == 0 || done == total {
            api.report(Progress::Kubelets { done, total });
        }
    }
    Ok(())
}

fn urlencode_segment(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn version_of(v: &Value) -> Option<KubeVersion> {
    let git = v.get("gitVersion").and_then(Value::as_str)?;
    let mut version = parse_git_version(git)?;
    // `major`/`minor` as the server states them ("1", "31+") win over the parsed git version.
    if let Some(m) = v.get("major").and_then(Value::as_str).and_then(|m| m.trim_end_matches('+').parse().ok())
    {
        version.major = m;
    }
    if let Some(m) = v.get("minor").and_then(Value::as_str).and_then(|m| m.trim_end_matches('+').parse().ok())
    {
        version.minor = m;
    }
    Some(version)
}
