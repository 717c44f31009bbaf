//! The live collector: reads a cluster through its Kubernetes API into a [`Snapshot`] tagged `api`.
//!
//! How it stays bounded and honest:
//! - every resource is listed with `limit` + `continue` and each page is reduced to snapshot items
//!   as it arrives (see [`crate::collect::reduce`]), so memory holds one page of raw JSON per
//!   concurrent list, never the whole cluster;
//! - at most [`LiveOptions::concurrency`] lists (and [`LiveOptions::kubelet_concurrency`] node
//!   `configz` requests) run at once;
//! - each request has a timeout, and so does the whole scan;
//! - a dropped connection, a timeout or a 5xx/429 answer is retried a bounded number of times with
//!   backoff; a `410 Gone` on an expired `continue` token restarts that one list once;
//! - a 403 or 404 on one resource makes that group `unknown` with the reason, and the scan goes on;
//! - a 401 stops the scan with [`CollectError::Unauthorized`]: nothing else can succeed.
//!
//! Response bodies are never logged: they may carry secret material (the `data` of Secrets is
//! dropped in the reducer, but the raw page passes through here).

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use serde_json::Value;

use crate::collect::client::{ClientTimeouts, ClusterCredentials, CredentialsError};
use crate::collect::reduce::{parse_git_version, Group, GroupStates, Reducer};
use crate::snapshot::{EvidenceState, GapReason, KubeVersion, Origin, Snapshot, Source};

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
    pub connect_timeout: Duration,
    /// Timeout of one request (one page, one configz).
    pub request_timeout: Duration,
    /// Timeout of the whole scan.
    pub scan_timeout: Duration,
    /// Attempts per request for retryable failures (dropped connection, timeout, 5xx, 429).
    pub attempts: u32,
    /// First retry delay; doubles on each further attempt.
    pub backoff: Duration,
    pub progress: Option<ProgressFn>,
}

impl Default for LiveOptions {
    fn default() -> Self {
        Self {
            page_size: 500,
            concurrency: 4,
            kubelet_concurrency: 16,
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            scan_timeout: Duration::from_secs(600),
            attempts: 3,
            backoff: Duration::from_millis(200),
            progress: None,
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
            .finish_non_exhaustive()
    }
}

/// How one request failed after its retries.
#[derive(Debug, Clone)]
enum Failure {
    /// 401: fatal for the whole scan.
    Unauthorized,
    /// Any other HTTP error status, with the API's message.
    Status {
        code: u16,
        message: String,
    },
    TimedOut,
    /// The connection could not be made or was dropped.
    Transport(String),
}

impl Failure {
    fn reason(&self) -> GapReason {
        match self {
            Failure::Unauthorized => GapReason::Forbidden,
            Failure::Status { code: 403, .. } => GapReason::Forbidden,
            Failure::Status { code: 404, .. } => GapReason::NotFound,
            Failure::Status { .. } => GapReason::Error,
            Failure::TimedOut => GapReason::TimedOut,
            Failure::Transport(_) => GapReason::Unreachable,
        }
    }

    fn detail(&self, what: &str, timeout: Duration) -> String {
        match self {
            Failure::Unauthorized => format!("{what}: 401 Unauthorized"),
            Failure::Status { code: 403, message } => {
                format!("Palisade's identity may not read {what} (403 Forbidden: {message})")
            }
            Failure::Status { code: 404, message } => {
                format!("{what} is not served by this cluster (404: {message})")
            }
            Failure::Status { code, message } => format!("{what} answered HTTP {code}: {message}"),
            Failure::TimedOut => format!("{what} did not answer within {timeout:?}"),
            Failure::Transport(e) => format!("{what}: connection failed: {e}"),
        }
    }

    fn state(&self, what: &str, timeout: Duration) -> EvidenceState {
        EvidenceState::Unknown { reason: self.reason(), detail: self.detail(what, timeout) }
    }
}

struct Api {
    client: kube::Client,
    opts: LiveOptions,
}

impl Api {
    /// GET `path` as JSON with per-request timeout and bounded retries.
    async fn get(&self, path: &str) -> Result<Value, Failure> {
        let mut delay = self.opts.backoff;
        let mut attempt = 1;
        loop {
            let result = tokio::time::timeout(self.opts.request_timeout, self.get_once(path)).await;
            let failure = match result {
                Ok(Ok(value)) => return Ok(value),
                Ok(Err(f)) => f,
                Err(_) => Failure::TimedOut,
            };
            let retryable = match &failure {
                Failure::TimedOut | Failure::Transport(_) => true,
                Failure::Status { code, .. } => *code == 429 || *code >= 500,
                Failure::Unauthorized => false,
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

    async fn get_once(&self, path: &str) -> Result<Value, Failure> {
        let request = http::Request::get(path)
            .header(http::header::ACCEPT, "application/json")
            .body(kube::client::Body::empty())
            .map_err(|e| Failure::Transport(e.to_string()))?;
        let response = self.client.send(request).await.map_err(transport)?;
        let status = response.status();
        let body = response.into_body().collect_bytes().await.map_err(transport)?;
        if status == http::StatusCode::UNAUTHORIZED {
            return Err(Failure::Unauthorized);
        }
        if !status.is_success() {
            // A Kubernetes `Status` object carries a readable message; anything else is cut short.
            let message = serde_json::from_slice::<Value>(&body)
                .ok()
                .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_string))
                .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_string());
            return Err(Failure::Status { code: status.as_u16(), message });
        }
        serde_json::from_slice(&body).map_err(|e| Failure::Status {
            code: status.as_u16(),
            message: format!("the answer is not JSON: {e}"),
        })
    }

    fn report(&self, p: Progress) {
        if let Some(f) = &self.opts.progress {
            f(&p);
        }
    }
}

fn transport(e: kube::Error) -> Failure {
    // Walk the cause chain: hyper reports a dropped connection several layers down.
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    if text.contains("timed out") || text.contains("deadline has elapsed") {
        Failure::TimedOut
    } else {
        Failure::Transport(text)
    }
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
            let page = match api.get(&path).await {
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

/// Collect a live snapshot of the cluster `creds` point at.
#[tracing::instrument(skip_all, fields(cluster = cluster_name))]
pub async fn collect(
    cluster_name: &str,
    creds: &ClusterCredentials,
    opts: LiveOptions,
) -> Result<Snapshot, CollectError> {
    // rustls cannot pick a provider by itself when another crate in the build enables aws-lc-rs:
    // Palisade uses ring everywhere, so say so before the first TLS configuration is built.
    crate::crypto::install_crypto_provider();
    let client =
        creds.client(ClientTimeouts { connect: opts.connect_timeout, read: opts.request_timeout })?;
    let timeout = opts.scan_timeout;
    let api = Api { client, opts };
    match tokio::time::timeout(timeout, collect_with(cluster_name, &creds.server, &api)).await {
        Ok(result) => result,
        Err(_) => Err(CollectError::ScanTimedOut { server: creds.server.clone(), timeout }),
    }
}

async fn collect_with(cluster_name: &str, server: &str, api: &Api) -> Result<Snapshot, CollectError> {
    let origin = Origin::new(Source::Api, chrono::Utc::now());
    let timeout = api.opts.request_timeout;
    let mut states = GroupStates::default();
    let mut reducer = Reducer::new(origin.clone());

    // /version first: it tells whether the cluster is there and accepts the credentials.
    match api.get("/version").await {
        Ok(v) => states.version = version_of(&v),
        Err(Failure::Unauthorized) => return Err(CollectError::Unauthorized { server: server.into() }),
        Err(Failure::Transport(detail)) => {
            return Err(CollectError::Unreachable { server: server.into(), detail })
        }
        Err(Failure::TimedOut) => {
            return Err(CollectError::Unreachable {
                server: server.into(),
                detail: format!("no answer within {timeout:?}"),
            })
        }
        // Some clusters forbid /version to restricted identities; the version stays unknown.
        Err(f) => reducer.gaps.push(crate::snapshot::Gap {
            what: "version".into(),
            reason: f.reason(),
            detail: f.detail("/version", timeout),
        }),
    }

    let mut lists = futures::stream::iter(Group::ALL.map(|g| list(api, g, &origin)))
        .buffer_unordered(api.opts.concurrency.max(1));
    while let Some((group, part, result)) = lists.next().await {
        let items = part.seen(group);
        let state = match result {
            Ok(()) => EvidenceState::Complete,
            Err(Failure::Unauthorized) => return Err(CollectError::Unauthorized { server: server.into() }),
            Err(f) => f.state(group.resource(), timeout),
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
    match api.get("/api/v1/namespaces/kube-system/configmaps/kubeadm-config").await {
        Ok(cm) => reducer.add_object(&cm),
        Err(Failure::Status { code: 404, .. }) => {}
        Err(Failure::Unauthorized) => return Err(CollectError::Unauthorized { server: server.into() }),
        Err(f) => reducer.gaps.push(crate::snapshot::Gap {
            what: "configmaps/kube-system/kubeadm-config".into(),
            reason: f.reason(),
            detail: f.detail("the kubeadm-config ConfigMap", timeout),
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
    let timeout = api.opts.request_timeout;
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
            let result = api.get(&path).await;
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
                Some(config @ Value::Object(_)) => reducer.add_kubelet_config(&node, config),
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
                states
                    .kubelet_states
                    .insert(node.clone(), f.state(&format!("nodes/{node}/proxy/configz"), timeout));
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
