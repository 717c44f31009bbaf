//! The HTTPS server: TLS accept, authentication, authorization, fault injection and routing of
//! Kubernetes API paths to the [`ClusterData`] store.
//!
//! Answers are shaped like a real kube-apiserver's (JSON only, `Status` objects for errors with
//! the same reasons and messages) because the point of the simulator is that clients cannot tell
//! the difference for the read paths Palisade uses.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{header, Method, Request, Response, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use super::faults::{FaultRule, Faults};
use super::resources::{self, ResourceType, RESOURCES};
use super::settings::{Access, Identity};
use super::store::{list_body, ClusterData, ListError};
use super::table;
use super::tls::cert_subject;
use crate::snapshot::{LabelSelector, SelectorRequirement};

/// Response body type: whole or streamed (slow-body faults).
pub type Body = BoxBody<Bytes, std::io::Error>;

/// Returned by the service to make hyper close the connection without an answer.
#[derive(Debug)]
pub struct DropConnection;

impl std::fmt::Display for DropConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by fault injection")
    }
}

impl std::error::Error for DropConnection {}

/// Everything a request handler needs; shared by every connection.
pub struct State {
    pub cluster: Arc<ClusterData>,
    pub token: String,
    pub token_identity: Identity,
    pub cert_identity: Identity,
    pub anonymous: Option<Identity>,
    pub faults: Arc<Faults>,
    pub requests: AtomicU64,
}

/// Accept connections until `shutdown` flips to true, each handled by `handle` in its own task;
/// open connections are closed then too.
pub async fn accept_loop<F, Fut>(listener: TcpListener, mut shutdown: watch::Receiver<bool>, handle: F)
where
    F: Fn(tokio::net::TcpStream, SocketAddr) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let mut conns = tokio::task::JoinSet::new();
    loop {
        // Reap finished connection tasks so the set does not grow without bound.
        while conns.try_join_next().is_some() {}
        let accepted = tokio::select! {
            _ = shutdown.changed() => break,
            a = listener.accept() => a,
        };
        let (tcp, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        conns.spawn(handle(tcp, peer));
    }
    conns.abort_all();
}

/// Serve until `shutdown` flips to true; open connections are closed then too.
pub async fn serve(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    state: Arc<State>,
    shutdown: watch::Receiver<bool>,
) {
    accept_loop(listener, shutdown, move |tcp, peer| {
        let acceptor = acceptor.clone();
        let state = state.clone();
        async move {
            let tls = match acceptor.accept(tcp).await {
                Ok(t) => t,
                Err(e) => {
                    tracing::debug!(%peer, error = %e, "TLS handshake failed");
                    return;
                }
            };
            let client_cert =
                tls.get_ref().1.peer_certificates().and_then(|c| c.first()).and_then(|c| cert_subject(c));
            let svc = hyper::service::service_fn(move |req| {
                let state = state.clone();
                let client_cert = client_cert.clone();
                async move { handle(&state, client_cert.as_ref(), req).await }
            });
            let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            if let Err(e) = builder.serve_connection(TokioIo::new(tls), svc).await {
                tracing::debug!(%peer, error = %e, "connection ended");
            }
        }
    })
    .await
}

fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into()).map_err(|never: Infallible| match never {}).boxed()
}

fn json_response(code: StatusCode, body: Bytes) -> Response<Body> {
    Response::builder()
        .status(code)
        .header(header::CONTENT_TYPE, "application/json")
        .header("Audit-Id", uuid::Uuid::new_v4().to_string())
        .header(header::CACHE_CONTROL, "no-cache, private")
        .body(full(body))
        .expect("static headers are valid")
}

fn value_response(v: &Value) -> Response<Body> {
    json_response(StatusCode::OK, Bytes::from(v.to_string()))
}

/// A Kubernetes `Status` failure, as the API server writes it.
fn status(code: u16, reason: &str, message: &str, details: Option<Value>) -> Response<Body> {
    let mut v = json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message, "reason": reason, "code": code
    });
    if let Some(d) = details {
        v["details"] = d;
    }
    json_response(
        StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        Bytes::from(v.to_string()),
    )
}

fn unauthorized() -> Response<Body> {
    status(401, "Unauthorized", "Unauthorized", None)
}

fn path_not_found() -> Response<Body> {
    status(
        404,
        "NotFound",
        "the server could not find the requested resource",
        Some(json!({"causes": [{"reason": "UnexpectedServerResponse", "message": "404 page not found"}]})),
    )
}

fn reason_for(code: u16) -> &'static str {
    match code {
        400 => "BadRequest",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "NotFound",
        405 => "MethodNotAllowed",
        409 => "Conflict",
        410 => "Expired",
        429 => "TooManyRequests",
        500 => "InternalError",
        503 => "ServiceUnavailable",
        504 => "Timeout",
        _ => "Unknown",
    }
}

/// What a path asks for.
enum Route {
    Version,
    Health,
    CoreVersions,
    Groups,
    Group(String),
    Resources { group: String, version: String },
    List { idx: usize, namespace: Option<String> },
    Get { idx: usize, namespace: String, name: String },
    Configz { node: String },
    NodeProxyOther { node: String },
    NotFound,
}

impl Route {
    /// The resource for authorization and fault matching (`nodes/proxy` for the proxy).
    fn resource(&self) -> Option<&'static str> {
        match self {
            Route::List { idx, .. } | Route::Get { idx, .. } => Some(RESOURCES[*idx].plural),
            Route::Configz { .. } | Route::NodeProxyOther { .. } => Some("nodes/proxy"),
            _ => None,
        }
    }
}

fn route(path: &str) -> Route {
    let segs: Vec<&str> = path.trim_matches('/').split('/').filter(|s| !s.is_empty()).collect();
    match segs.as_slice() {
        ["version"] => Route::Version,
        ["healthz"] | ["livez"] | ["readyz"] => Route::Health,
        ["api"] => Route::CoreVersions,
        ["apis"] => Route::Groups,
        ["apis", group] => Route::Group(group.to_string()),
        ["api", version, rest @ ..] => resource_route("", version, rest),
        ["apis", group, version, rest @ ..] => resource_route(group, version, rest),
        _ => Route::NotFound,
    }
}

fn resource_route(group: &str, version: &str, rest: &[&str]) -> Route {
    let served =
        if group.is_empty() { *version == *"v1" } else { resources::serves_group_version(group, version) };
    if !served {
        return Route::NotFound;
    }
    let find = |plural: &str| resources::find(group, version, plural);
    match rest {
        [] => Route::Resources { group: group.into(), version: version.into() },
        ["nodes", node, "proxy", "configz"] if group.is_empty() => Route::Configz { node: node.to_string() },
        ["nodes", node, "proxy", ..] if group.is_empty() => Route::NodeProxyOther { node: node.to_string() },
        ["namespaces", ns, plural] => match find(plural) {
            Some(idx) if RESOURCES[idx].namespaced => Route::List { idx, namespace: Some(ns.to_string()) },
            _ => Route::NotFound,
        },
        ["namespaces", ns, plural, name] => match find(plural) {
            Some(idx) if RESOURCES[idx].namespaced => {
                Route::Get { idx, namespace: ns.to_string(), name: name.to_string() }
            }
            _ => Route::NotFound,
        },
        [plural] => match find(plural) {
            Some(idx) => Route::List { idx, namespace: None },
            None => Route::NotFound,
        },
        [plural, name] => match find(plural) {
            Some(idx) if !RESOURCES[idx].namespaced => {
                Route::Get { idx, namespace: String::new(), name: name.to_string() }
            }
            _ => Route::NotFound,
        },
        _ => Route::NotFound,
    }
}

fn query_params(query: Option<&str>) -> HashMap<String, String> {
    url::form_urlencoded::parse(query.unwrap_or("").as_bytes()).into_owned().collect()
}

/// Authenticate as kube-apiserver does: a verified client certificate first, then a bearer token
/// (a wrong one is a 401, never a fallback to anonymous), then anonymous when enabled. `None`
/// means 401.
fn authenticate<'a>(
    state: &'a State,
    client_cert: Option<&(String, Vec<String>)>,
    req: &Request<Incoming>,
) -> Option<std::borrow::Cow<'a, Identity>> {
    use std::borrow::Cow;
    if let Some((user, groups)) = client_cert {
        if *user == state.cert_identity.user {
            return Some(Cow::Borrowed(&state.cert_identity));
        }
        // Any other certificate the CA signed is a valid user; system:masters may read all.
        let access =
            if groups.iter().any(|g| g == "system:masters") { Access::all() } else { Access::none() };
        let mut groups = groups.clone();
        groups.push("system:authenticated".into());
        return Some(Cow::Owned(Identity { user: user.clone(), groups, access }));
    }
    if let Some(auth) = req.headers().get(header::AUTHORIZATION) {
        let token = auth.to_str().ok().and_then(|v| v.strip_prefix("Bearer ")).map(str::trim);
        return match token {
            Some(t) if constant_time_eq(t.as_bytes(), state.token.as_bytes()) => {
                Some(Cow::Borrowed(&state.token_identity))
            }
            _ => None,
        };
    }
    state.anonymous.as_ref().map(Cow::Borrowed)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn handle(
    state: &State,
    client_cert: Option<&(String, Vec<String>)>,
    req: Request<Incoming>,
) -> Result<Response<Body>, DropConnection> {
    state.requests.fetch_add(1, Ordering::Relaxed);
    let path = req.uri().path().to_string();
    let route = route(&path);
    let fault = state.faults.take(route.resource(), &path);
    if let Some(f) = &fault {
        if let Some(ms) = f.latency_ms {
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
        if f.drop {
            tracing::debug!(%path, "fault: dropping the connection");
            return Err(DropConnection);
        }
        if let Some(code) = f.status {
            return Ok(status(
                code,
                reason_for(code),
                &format!("injected fault: {path} answers {code}"),
                None,
            ));
        }
    }
    let response = respond(state, client_cert, &req, route);
    tracing::debug!(method = %req.method(), %path, status = response.status().as_u16(), "request");
    Ok(match fault.and_then(|f: FaultRule| f.slow_body) {
        Some(slow) => slow_down(response, slow.chunk_bytes, Duration::from_millis(slow.interval_ms)).await,
        None => response,
    })
}

/// Re-send a response body in `chunk` byte pieces, pausing `every` between them.
async fn slow_down(response: Response<Body>, chunk: usize, every: Duration) -> Response<Body> {
    let (parts, body) = response.into_parts();
    let bytes = match body.collect().await {
        Ok(c) => c.to_bytes(),
        Err(_) => Bytes::new(),
    };
    let stream = futures::stream::unfold((bytes, true), move |(mut rest, first)| async move {
        if rest.is_empty() {
            return None;
        }
        if !first {
            tokio::time::sleep(every).await;
        }
        let piece = rest.split_to(chunk.min(rest.len()));
        Some((Ok::<_, std::io::Error>(Frame::data(piece)), (rest, false)))
    });
    let mut parts = parts;
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, BodyExt::boxed(StreamBody::new(stream)))
}

fn respond(
    state: &State,
    client_cert: Option<&(String, Vec<String>)>,
    req: &Request<Incoming>,
    route: Route,
) -> Response<Body> {
    let Some(identity) = authenticate(state, client_cert, req) else {
        return unauthorized();
    };
    let path = req.uri().path();
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return status(
            405,
            "MethodNotAllowed",
            &format!("the simulator serves a read-only cluster; {} is not supported", req.method()),
            None,
        );
    }
    let anonymous = identity.user == "system:anonymous";
    let public = matches!(route, Route::Version | Route::Health);
    // Discovery is open to every authenticated user (system:discovery); anonymous users only see
    // /version and health unless their access covers resources (cluster-admin bound to them).
    if !public && anonymous && route.resource().is_none() && identity.access.allow.is_empty() {
        return status(
            403,
            "Forbidden",
            &format!("forbidden: User \"system:anonymous\" cannot get path \"{path}\""),
            Some(json!({})),
        );
    }
    let q = query_params(req.uri().query());
    if q.get("watch").is_some_and(|w| w == "true" || w == "1") {
        return status(405, "MethodNotAllowed", "watch is not supported by the simulator", None);
    }
    let cluster = &state.cluster;
    match route {
        Route::Version => value_response(&version_json(&cluster.version)),
        Route::Health => Response::builder()
            .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
            .body(full("ok"))
            .expect("static headers are valid"),
        Route::CoreVersions => value_response(&resources::core_versions()),
        Route::Groups => value_response(&resources::group_list()),
        Route::Group(g) => match resources::group(&g) {
            Some(v) => value_response(&v),
            None => path_not_found(),
        },
        Route::Resources { group, version } => value_response(&resources::resource_list(&group, &version)),
        Route::NotFound => path_not_found(),
        Route::Configz { node } | Route::NodeProxyOther { node }
            if !identity.access.permits("nodes/proxy") =>
        {
            forbidden(&identity, "get", "nodes/proxy", "", None, Some(&node))
        }
        Route::Configz { node } => {
            if !cluster.has_node(&node) {
                return status(
                    404,
                    "NotFound",
                    &format!("nodes \"{node}\" not found"),
                    Some(json!({"name": node, "kind": "nodes"})),
                );
            }
            match cluster.configz(&node) {
                Some(body) => json_response(StatusCode::OK, body.clone()),
                None => status(
                    503,
                    "ServiceUnavailable",
                    &format!(
                        "error trying to reach service: dial tcp {node}:10250: connect: connection refused"
                    ),
                    None,
                ),
            }
        }
        Route::NodeProxyOther { node } => status(
            404,
            "NotFound",
            &format!("the kubelet of {node} serves only /configz in the simulator"),
            None,
        ),
        Route::List { idx, namespace } => {
            let rt = &RESOURCES[idx];
            if !identity.access.permits(rt.plural) {
                return forbidden(&identity, "list", rt.plural, rt.group, namespace.as_deref(), None);
            }
            list(state, rt, idx, namespace.as_deref(), &q, req)
        }
        Route::Get { idx, namespace, name } => {
            let rt = &RESOURCES[idx];
            if !identity.access.permits(rt.plural) {
                let ns = (!namespace.is_empty()).then_some(namespace.as_str());
                return forbidden(&identity, "get", rt.plural, rt.group, ns, Some(&name));
            }
            match cluster.get(idx, &namespace, &name) {
                Some(o) => {
                    if wants_table(req) {
                        let t = table::render(rt, &[o], cluster.resource_version(), None, include_object(&q));
                        value_response(&t)
                    } else {
                        json_response(StatusCode::OK, o.json.clone())
                    }
                }
                None => status(
                    404,
                    "NotFound",
                    &format!("{}{} \"{name}\" not found", rt.plural, group_suffix(rt)),
                    Some(json!({"name": name, "group": rt.group, "kind": rt.plural})),
                ),
            }
        }
    }
}

fn group_suffix(rt: &ResourceType) -> String {
    if rt.group.is_empty() {
        String::new()
    } else {
        format!(".{}", rt.group)
    }
}

/// 403 with the API server's exact wording.
fn forbidden(
    identity: &Identity,
    verb: &str,
    resource: &str,
    group: &str,
    namespace: Option<&str>,
    name: Option<&str>,
) -> Response<Body> {
    let (base, sub) = resource.split_once('/').unwrap_or((resource, ""));
    let qualified = if group.is_empty() { base.to_string() } else { format!("{base}.{group}") };
    let subject = match name {
        Some(n) => format!("{qualified} \"{n}\""),
        None => qualified,
    };
    let scope = match namespace {
        Some(ns) => format!("in the namespace \"{ns}\""),
        None => "at the cluster scope".to_string(),
    };
    let message = format!(
        "{subject} is forbidden: User \"{}\" cannot {verb} resource \"{resource}\" in API group \"{group}\" {scope}",
        identity.user
    );
    let mut details = json!({"kind": base});
    if !group.is_empty() {
        details["group"] = json!(group);
    }
    if let Some(n) = name {
        details["name"] = json!(n);
    }
    let _ = sub;
    status(403, "Forbidden", &message, Some(details))
}

fn wants_table(req: &Request<Incoming>) -> bool {
    req.headers()
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .next()
        .is_some_and(|first| first.contains("as=Table") && first.contains("g=meta.k8s.io"))
}

fn include_object(q: &HashMap<String, String>) -> table::IncludeObject {
    match q.get("includeObject").map(String::as_str) {
        Some("None") => table::IncludeObject::None,
        Some("Object") => table::IncludeObject::Object,
        _ => table::IncludeObject::Metadata,
    }
}

fn list(
    state: &State,
    rt: &ResourceType,
    idx: usize,
    namespace: Option<&str>,
    q: &HashMap<String, String>,
    req: &Request<Incoming>,
) -> Response<Body> {
    let selector = match q.get("labelSelector").filter(|s| !s.trim().is_empty()) {
        None => None,
        Some(s) => match parse_label_selector(s) {
            Ok(sel) => Some(sel),
            Err(e) => return status(400, "BadRequest", &format!("unable to parse requirement: {e}"), None),
        },
    };
    let mut namespace = namespace.map(str::to_string);
    let mut name_filter = None;
    if let Some(fs) = q.get("fieldSelector").filter(|s| !s.trim().is_empty()) {
        for term in fs.split(',') {
            match term.split_once('=') {
                Some(("metadata.name", v)) => name_filter = Some(v.trim_start_matches('=').to_string()),
                Some(("metadata.namespace", v)) if rt.namespaced => {
                    namespace = Some(v.trim_start_matches('=').to_string())
                }
                _ => {
                    return status(
                        400,
                        "BadRequest",
                        &format!(
                            "field label not supported: {}",
                            term.split(['=', '!']).next().unwrap_or(term)
                        ),
                        None,
                    )
                }
            }
        }
    }
    let limit = match q.get("limit").map(|l| l.parse::<usize>()) {
        None => None,
        Some(Ok(l)) => Some(l),
        Some(Err(_)) => return status(400, "BadRequest", "limit must be a non-negative integer", None),
    };
    let cluster = &state.cluster;
    let mut page = match cluster.list(idx, namespace.as_deref(), selector.as_ref(), limit, q.get("continue").map(String::as_str)) {
        Ok(p) => p,
        Err(ListError::BadContinue(m)) => return status(400, "BadRequest", &m, None),
        Err(ListError::Expired) => {
            return status(
                410,
                "Expired",
                "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.",
                None,
            )
        }
    };
    if let Some(n) = &name_filter {
        page.items.retain(|o| &*o.name == n.as_str());
    }
    if wants_table(req) {
        let t = table::render(
            rt,
            &page.items,
            page.resource_version.clone(),
            page.continue_token.clone(),
            include_object(q),
        );
        return value_response(&t);
    }
    json_response(StatusCode::OK, list_body(rt, &page))
}

/// Parse a `labelSelector` query (`a=b,c!=d,e in (f,g),!h,i`).
pub fn parse_label_selector(s: &str) -> Result<LabelSelector, String> {
    let mut sel = LabelSelector::default();
    // Split on commas outside parentheses.
    let mut terms = Vec::new();
    let (mut depth, mut start) = (0i32, 0usize);
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                terms.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    terms.push(&s[start..]);
    for term in terms.into_iter().map(str::trim) {
        if term.is_empty() {
            return Err(format!("empty requirement in `{s}`"));
        }
        let req = if let Some(key) = term.strip_prefix('!') {
            SelectorRequirement { key: key.trim().into(), operator: "DoesNotExist".into(), values: vec![] }
        } else if let Some((k, v)) = term.split_once("!=") {
            SelectorRequirement {
                key: k.trim().into(),
                operator: "NotIn".into(),
                values: vec![v.trim().into()],
            }
        } else if let Some((k, v)) = term.split_once("==").or_else(|| term.split_once('=')) {
            SelectorRequirement { key: k.trim().into(), operator: "In".into(), values: vec![v.trim().into()] }
        } else if let Some((k, rest)) = split_set_op(term, " notin ") {
            SelectorRequirement { key: k.into(), operator: "NotIn".into(), values: parse_set(rest)? }
        } else if let Some((k, rest)) = split_set_op(term, " in ") {
            SelectorRequirement { key: k.into(), operator: "In".into(), values: parse_set(rest)? }
        } else {
            SelectorRequirement { key: term.into(), operator: "Exists".into(), values: vec![] }
        };
        if req.key.is_empty() || req.key.contains(char::is_whitespace) {
            return Err(format!("invalid label key in `{term}`"));
        }
        sel.match_expressions.push(req);
    }
    Ok(sel)
}

fn split_set_op<'a>(term: &'a str, op: &str) -> Option<(&'a str, &'a str)> {
    let i = term.find(op)?;
    Some((term[..i].trim(), term[i + op.len()..].trim()))
}

fn parse_set(s: &str) -> Result<Vec<String>, String> {
    let inner = s
        .strip_prefix('(')
        .and_then(|r| r.strip_suffix(')'))
        .ok_or_else(|| format!("expected a parenthesized set of values, found `{s}`"))?;
    Ok(inner.split(',').map(|v| v.trim().to_string()).filter(|v| !v.is_empty()).collect())
}

/// `/version` as kube-apiserver writes it.
pub fn version_json(git_version: &str) -> Value {
    let v = git_version.trim_start_matches('v');
    let mut parts = v.split('.');
    let major = parts.next().unwrap_or("1");
    let minor = parts.next().unwrap_or("31");
    json!({
        "major": major, "minor": minor, "gitVersion": git_version,
        "gitCommit": "0000000000000000000000000000000000000000", "gitTreeState": "clean",
        "buildDate": "2024-12-10T11:37:06Z", "goVersion": "go1.22.9", "compiler": "gc",
        "platform": "linux/amd64"
    })
}

/// Bind the listener (kept separate so the caller learns the port before serving).
pub async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::Labels;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn label_selectors_follow_kubectl_syntax() {
        let sel = parse_label_selector("app=web,tier!=db,env in (prod, staging),!legacy,team").unwrap();
        assert!(sel.matches(&labels(&[("app", "web"), ("env", "prod"), ("team", "a")])));
        assert!(!sel.matches(&labels(&[("app", "web"), ("env", "dev"), ("team", "a")])));
        assert!(!sel.matches(&labels(&[("app", "web"), ("env", "prod"), ("team", "a"), ("legacy", "1")])));
        assert!(!sel.matches(&labels(&[("app", "web"), ("env", "prod")])));
        assert!(parse_label_selector("app in prod").is_err());
    }

    #[test]
    fn paths_route_to_resources_like_the_api_server() {
        assert!(matches!(route("/api/v1/pods"), Route::List { namespace: None, .. }));
        assert!(matches!(
            route("/api/v1/namespaces/kube-system/pods"),
            Route::List { namespace: Some(_), .. }
        ));
        assert!(matches!(route("/api/v1/namespaces/kube-system"), Route::Get { .. }));
        assert!(matches!(route("/api/v1/nodes/n1/proxy/configz"), Route::Configz { .. }));
        assert!(matches!(
            route("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings"),
            Route::List { namespace: None, .. }
        ));
        assert!(matches!(route("/api/v1/pods/x"), Route::NotFound));
        assert!(matches!(route("/apis/batch/v1/jobs"), Route::NotFound));
    }
}
