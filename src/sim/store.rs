//! The simulated cluster's objects, indexed and pre-serialized for serving.
//!
//! Objects are added one at a time through [`ClusterBuilder`] (so a generator can stream 100,000
//! pods without holding them all as `serde_json::Value`s), serialized once to JSON bytes, and kept
//! sorted by (namespace, name) per resource. A list page is then a binary search plus a
//! concatenation of ready bytes, which keeps paging through a very large cluster cheap.
//! The store is immutable once built: the simulator serves a fixed cluster, so its
//! `resourceVersion` never moves and continue tokens stay valid for the server's lifetime.

use std::collections::BTreeMap;

use base64::Engine;
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::resources::{self, ResourceType, RESOURCES};
use super::settings::SimSettings;
use crate::snapshot::{LabelSelector, Labels};

/// One stored object: its key, labels for selectors, and its JSON.
#[derive(Debug, Clone)]
pub struct StoredObject {
    pub namespace: Box<str>,
    pub name: Box<str>,
    pub labels: Labels,
    pub json: Bytes,
}

#[derive(Debug, Default, Clone)]
struct ResourceStore {
    /// Sorted by (namespace, name); cluster-scoped objects have an empty namespace.
    items: Vec<StoredObject>,
}

impl ResourceStore {
    fn key_cmp(o: &StoredObject, ns: &str, name: &str) -> std::cmp::Ordering {
        (&*o.namespace, &*o.name).cmp(&(ns, name))
    }
}

/// Why an object could not be added to a simulated cluster.
#[derive(Debug, thiserror::Error)]
pub enum ObjectError {
    #[error("object has no `apiVersion`/`kind`")]
    NoKind,
    #[error("the simulator does not serve {kind} ({api_version}); skipped")]
    UnservedKind { api_version: String, kind: String },
    #[error("{kind} has no `metadata.name`")]
    NoName { kind: String },
    #[error("namespaced {kind} `{name}` has no `metadata.namespace`")]
    NoNamespace { kind: String, name: String },
    #[error("{kind} `{key}` appears twice; the later copy replaces the earlier one")]
    Duplicate { kind: String, key: String },
}

/// Builds a [`ClusterData`] object by object.
pub struct ClusterBuilder {
    name: String,
    settings: SimSettings,
    stores: Vec<ResourceStore>,
    static_pods: Vec<(String, Value)>,
    configz: BTreeMap<String, Bytes>,
    next_rv: u64,
    created: String,
    warnings: Vec<String>,
}

impl ClusterBuilder {
    /// A new, empty cluster called `name`.
    pub fn new(name: impl Into<String>, settings: SimSettings) -> Self {
        Self {
            name: name.into(),
            settings,
            stores: RESOURCES.iter().map(|_| ResourceStore::default()).collect(),
            static_pods: Vec::new(),
            configz: BTreeMap::new(),
            next_rv: 1000,
            created: "2026-01-05T09:12:44Z".to_string(),
            warnings: Vec::new(),
        }
    }

    /// The timestamp given to objects that carry no `creationTimestamp`.
    pub fn default_creation_timestamp(mut self, ts: impl Into<String>) -> Self {
        self.created = ts.into();
        self
    }

    pub fn settings(&self) -> &SimSettings {
        &self.settings
    }

    /// Replace the settings (a sample's `sim.yaml` may be read after its objects).
    pub fn set_settings(&mut self, settings: SimSettings) {
        self.settings = settings;
    }

    /// Record a problem found while loading (shown by `palisade sim`, logged by the demo).
    pub fn warn(&mut self, message: impl Into<String>) {
        self.warnings.push(message.into());
    }

    /// Add one object (a `kind: List` is expanded). Objects of kinds the simulator does not
    /// serve are reported, not fatal.
    pub fn add_object(&mut self, mut obj: Value) -> Result<(), ObjectError> {
        if obj.get("kind").and_then(Value::as_str).is_some_and(|k| k == "List" || k.ends_with("List"))
            && obj.get("items").is_some_and(Value::is_array)
        {
            let items = match obj.get_mut("items").map(Value::take) {
                Some(Value::Array(items)) => items,
                _ => Vec::new(),
            };
            let list_version = obj.get("apiVersion").and_then(Value::as_str).map(str::to_string);
            let list_kind = obj.get("kind").and_then(Value::as_str).unwrap_or("List").to_string();
            let item_kind = list_kind.strip_suffix("List").filter(|k| !k.is_empty()).map(str::to_string);
            for mut item in items {
                // `kubectl get pods -o yaml` items carry their own kind; typed lists may not.
                if item.get("kind").is_none() {
                    if let (Some(kind), Some(av)) = (&item_kind, &list_version) {
                        item["kind"] = json!(kind);
                        item["apiVersion"] = json!(av);
                    }
                }
                // One bad item does not lose the rest of the list.
                if let Err(e) = self.add_object(item) {
                    self.warnings.push(e.to_string());
                }
            }
            return Ok(());
        }
        let api_version =
            obj.get("apiVersion").and_then(Value::as_str).ok_or(ObjectError::NoKind)?.to_string();
        let kind = obj.get("kind").and_then(Value::as_str).ok_or(ObjectError::NoKind)?.to_string();
        let idx = resources::find_kind(&api_version, &kind).ok_or_else(|| ObjectError::UnservedKind {
            api_version: api_version.clone(),
            kind: kind.clone(),
        })?;
        let rt = &RESOURCES[idx];
        let name = obj
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .ok_or_else(|| ObjectError::NoName { kind: kind.clone() })?
            .to_string();
        let namespace = if rt.namespaced {
            obj.pointer("/metadata/namespace")
                .and_then(Value::as_str)
                .ok_or_else(|| ObjectError::NoNamespace { kind: kind.clone(), name: name.clone() })?
                .to_string()
        } else {
            if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
                meta.remove("namespace");
            }
            String::new()
        };
        self.fill_metadata(&mut obj, rt, &namespace, &name);
        let labels: Labels = obj
            .pointer("/metadata/labels")
            .and_then(Value::as_object)
            .map(|m| m.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string()))).collect())
            .unwrap_or_default();
        let json = Bytes::from(serde_json::to_vec(&obj).expect("a JSON value always serializes"));
        let stored = StoredObject { namespace: namespace.into(), name: name.into(), labels, json };
        self.insert(idx, stored)
    }

    fn insert(&mut self, idx: usize, stored: StoredObject) -> Result<(), ObjectError> {
        // Appended now, sorted once in `finish`: a generator adding 100,000 pods in any order
        // must not pay for sorted inserts.
        self.stores[idx].items.push(stored);
        Ok(())
    }

    /// Sort every resource by (namespace, name); of duplicate keys the one added last wins.
    fn sort_and_dedup(&mut self) {
        for (idx, store) in self.stores.iter_mut().enumerate() {
            // Stable sort keeps insertion order among equal keys, so "last wins" is well defined.
            store.items.sort_by(|a, b| (&*a.namespace, &*a.name).cmp(&(&*b.namespace, &*b.name)));
            let before = store.items.len();
            let mut deduped: Vec<StoredObject> = Vec::with_capacity(before);
            for item in store.items.drain(..) {
                match deduped.last_mut() {
                    Some(last) if last.namespace == item.namespace && last.name == item.name => {
                        let err = ObjectError::Duplicate {
                            kind: RESOURCES[idx].kind.to_string(),
                            key: format!("{}/{}", item.namespace, item.name),
                        };
                        self.warnings.push(err.to_string());
                        *last = item;
                    }
                    _ => deduped.push(item),
                }
            }
            store.items = deduped;
        }
    }

    /// Give the object the metadata a real API server always sets.
    fn fill_metadata(&mut self, obj: &mut Value, rt: &ResourceType, namespace: &str, name: &str) {
        if !obj.get("metadata").is_some_and(Value::is_object) {
            obj["metadata"] = json!({});
        }
        let rv = self.next_rv;
        let created = self.created.clone();
        let meta = obj["metadata"].as_object_mut().expect("metadata was just made an object");
        // Static pod manifests carry `creationTimestamp: null`; the API server fills it in.
        meta.retain(|_, v| !v.is_null());
        if !meta.contains_key("resourceVersion") {
            meta.insert("resourceVersion".into(), json!(rv.to_string()));
            self.next_rv += 1;
        }
        if !meta.contains_key("uid") {
            meta.insert("uid".into(), json!(stable_uid(&self.name, rt.kind, namespace, name)));
        }
        if !meta.contains_key("creationTimestamp") {
            meta.insert("creationTimestamp".into(), json!(created));
        }
    }

    /// A static pod manifest of control-plane node `node` (served as a mirror pod unless the
    /// cluster is managed).
    pub fn add_static_pod(&mut self, node: impl Into<String>, manifest: Value) {
        self.static_pods.push((node.into(), manifest));
    }

    /// The node's kubelet configuration, served on `/api/v1/nodes/{node}/proxy/configz`.
    /// Accepts a `KubeletConfiguration` or configz output (`{"kubeletconfig": {...}}`).
    pub fn set_kubelet_config(&mut self, node: impl Into<String>, config: Value) {
        self.set_kubelet_configz_bytes(node, configz_body(config));
    }

    /// The node's configz body, already serialized (lets a generator share one body).
    pub fn set_kubelet_configz_bytes(&mut self, node: impl Into<String>, body: Bytes) {
        self.configz.insert(node.into(), body);
    }

    /// Messages about skipped or replaced objects.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Index everything and freeze the cluster.
    pub fn finish(mut self) -> ClusterData {
        let version = self.settings.version.clone().unwrap_or_else(|| self.version_from_apiserver_image());
        let anonymous_auth = self.apiserver_flag("anonymous-auth").is_none_or(|v| v != "false");
        if !self.settings.managed {
            let static_pods = std::mem::take(&mut self.static_pods);
            for (node, manifest) in static_pods {
                let mirror = self.mirror_pod(&node, manifest);
                if let Err(e) = self.add_object(mirror) {
                    self.warnings.push(format!("static pod on {node}: {e}"));
                }
            }
        }
        self.sort_and_dedup();
        ClusterData {
            name: self.name,
            version,
            resource_version: self.next_rv,
            stores: self.stores,
            configz: self.configz,
            settings: self.settings,
            warnings: self.warnings,
            anonymous_auth,
        }
    }

    /// A flag of the kube-apiserver static pod, if there is one.
    fn apiserver_flag(&self, name: &str) -> Option<String> {
        self.static_pods.iter().find_map(|(_, m)| {
            let c =
                m.pointer("/spec/containers")?.as_array()?.iter().find(|c| c["name"] == "kube-apiserver")?;
            let tokens: Vec<&str> = ["command", "args"]
                .iter()
                .filter_map(|k| c[*k].as_array())
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            crate::snapshot::Flags::parse(&tokens).get(name).map(str::to_string)
        })
    }

    /// The Kubernetes version shown on `/version`: the kube-apiserver image tag when a static pod
    /// names one, else the kubeadm 1.31 default.
    fn version_from_apiserver_image(&self) -> String {
        self.static_pods
            .iter()
            .filter_map(|(_, m)| m.pointer("/spec/containers/0/image").and_then(Value::as_str))
            .find(|img| img.contains("kube-apiserver:"))
            .and_then(|img| img.rsplit_once(':').map(|(_, tag)| tag.to_string()))
            .unwrap_or_else(|| DEFAULT_VERSION.to_string())
    }

    /// Build the mirror pod a kubelet posts for a static pod: named `<name>-<node>`, bound to the
    /// node, owned by the Node, annotated as a mirror, running.
    fn mirror_pod(&self, node: &str, mut manifest: Value) -> Value {
        let base = manifest.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("static").to_string();
        let name = format!("{base}-{node}");
        let hash = {
            let digest = Sha256::digest(serde_json::to_vec(&manifest).unwrap_or_default());
            hex::encode(&digest[..16])
        };
        let node_uid = stable_uid(&self.name, "Node", "", node);
        let node_ip = self.node_internal_ip(node).unwrap_or_else(|| "10.0.0.10".to_string());
        if !manifest.get("metadata").is_some_and(Value::is_object) {
            manifest["metadata"] = json!({});
        }
        let meta = &mut manifest["metadata"];
        meta["name"] = json!(name);
        meta["namespace"] = json!("kube-system");
        if !meta.get("annotations").is_some_and(Value::is_object) {
            meta["annotations"] = json!({});
        }
        let ann = &mut meta["annotations"];
        ann["kubernetes.io/config.hash"] = json!(hash);
        ann["kubernetes.io/config.mirror"] = json!(hash);
        ann["kubernetes.io/config.seen"] = json!(self.created);
        ann["kubernetes.io/config.source"] = json!("file");
        meta["ownerReferences"] = json!([{
            "apiVersion": "v1", "kind": "Node", "name": node, "uid": node_uid, "controller": true
        }]);
        manifest["spec"]["nodeName"] = json!(node);
        if manifest["spec"].get("priority").is_none() {
            manifest["spec"]["priority"] = json!(2000001000);
        }
        let containers: Vec<Value> = manifest
            .pointer("/spec/containers")
            .and_then(Value::as_array)
            .map(|cs| {
                cs.iter()
                    .map(|c| {
                        json!({
                            "name": c["name"], "image": c["image"], "imageID": "",
                            "ready": true, "restartCount": 0, "started": true,
                            "state": {"running": {"startedAt": self.created}},
                            "containerID": format!("containerd://{}", &hash[..16]),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        let host_network = manifest.pointer("/spec/hostNetwork").and_then(Value::as_bool).unwrap_or(false);
        let pod_ip = if host_network { node_ip.clone() } else { "10.244.0.2".to_string() };
        manifest["status"] = json!({
            "phase": "Running",
            "conditions": [
                {"type": "Initialized", "status": "True", "lastTransitionTime": self.created},
                {"type": "Ready", "status": "True", "lastTransitionTime": self.created},
                {"type": "ContainersReady", "status": "True", "lastTransitionTime": self.created},
                {"type": "PodScheduled", "status": "True", "lastTransitionTime": self.created},
            ],
            "hostIP": node_ip,
            "hostIPs": [{"ip": node_ip}],
            "podIP": pod_ip,
            "podIPs": [{"ip": pod_ip}],
            "startTime": self.created,
            "qosClass": "Burstable",
            "containerStatuses": containers,
        });
        manifest
    }

    fn node_internal_ip(&self, node: &str) -> Option<String> {
        let nodes = &self.stores[resources::find_plural("nodes").expect("nodes are served")];
        let obj = nodes.items.iter().find(|o| &*o.name == node)?;
        let v: Value = serde_json::from_slice(&obj.json).ok()?;
        v.pointer("/status/addresses")?
            .as_array()?
            .iter()
            .find(|a| a["type"] == "InternalIP")
            .and_then(|a| a["address"].as_str().map(str::to_string))
    }
}

/// The version served when nothing says otherwise (kubeadm 1.31).
pub const DEFAULT_VERSION: &str = "v1.31.4";

/// Turn a KubeletConfiguration (or configz output) into the configz body.
fn configz_body(config: Value) -> Bytes {
    let body = if config.get("kubeletconfig").is_some() {
        config
    } else {
        let mut cfg = config;
        if let Some(m) = cfg.as_object_mut() {
            // configz shows the internal config: no apiVersion/kind envelope.
            m.remove("apiVersion");
            m.remove("kind");
        }
        json!({ "kubeletconfig": cfg })
    };
    Bytes::from(serde_json::to_vec(&body).expect("a JSON value always serializes"))
}

/// A UID that stays the same for the same object across runs (so snapshots diff cleanly).
pub fn stable_uid(cluster: &str, kind: &str, namespace: &str, name: &str) -> String {
    let digest = Sha256::digest(format!("{cluster}\0{kind}\0{namespace}\0{name}").as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&digest[..16]);
    uuid::Builder::from_random_bytes(b).into_uuid().to_string()
}

/// A frozen, indexed cluster.
#[derive(Debug, Clone)]
pub struct ClusterData {
    pub name: String,
    /// `gitVersion` served on `/version` (e.g. `v1.31.4`).
    pub version: String,
    resource_version: u64,
    stores: Vec<ResourceStore>,
    configz: BTreeMap<String, Bytes>,
    pub settings: SimSettings,
    warnings: Vec<String>,
    anonymous_auth: bool,
}

/// The position a continue token points after.
#[derive(Debug, Serialize, Deserialize)]
struct ContinueToken {
    v: String,
    rv: u64,
    ns: String,
    name: String,
}

const CONTINUE_VERSION: &str = "palisade-sim/v1";

/// Why a list request was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum ListError {
    /// The token is not one this server issued (400).
    BadContinue(String),
    /// The token came from an older store (410 Gone, "Expired").
    Expired,
}

/// One page of a list.
pub struct ListPage<'a> {
    pub items: Vec<&'a StoredObject>,
    pub continue_token: Option<String>,
    pub remaining: Option<usize>,
    pub resource_version: String,
}

impl ClusterData {
    /// The list `resourceVersion` (the newest object's).
    pub fn resource_version(&self) -> String {
        self.resource_version.to_string()
    }

    /// Whether the kube-apiserver accepts anonymous requests (its `--anonymous-auth`, default true).
    pub fn apiserver_anonymous_auth(&self) -> bool {
        self.anonymous_auth
    }

    /// How many objects of resource `idx` are stored.
    pub fn count(&self, idx: usize) -> usize {
        self.stores[idx].items.len()
    }

    /// Messages about objects skipped or replaced while building.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Whether the node exists.
    pub fn has_node(&self, node: &str) -> bool {
        self.get(resources::find_plural("nodes").expect("nodes are served"), "", node).is_some()
    }

    /// The configz body of `node`, if the cluster has a kubelet configuration for it.
    pub fn configz(&self, node: &str) -> Option<&Bytes> {
        self.configz.get(node)
    }

    /// Get one object.
    pub fn get(&self, idx: usize, namespace: &str, name: &str) -> Option<&StoredObject> {
        let items = &self.stores[idx].items;
        items.binary_search_by(|o| ResourceStore::key_cmp(o, namespace, name)).ok().map(|i| &items[i])
    }

    /// All objects of resource `idx` (for tables and tests).
    pub fn all(&self, idx: usize) -> &[StoredObject] {
        &self.stores[idx].items
    }

    /// Move every node to a new address (`node name → address`): its InternalIP and ExternalIP
    /// become that address, and the old addresses are replaced wherever kube-system's pods name
    /// them (static pods' flags such as `--advertise-address` and `--listen-client-urls`, host
    /// IPs). The simulator uses it to put a sample's nodes on loopback, where it serves their
    /// endpoints. Keys, labels and order are unchanged.
    pub fn move_nodes(&mut self, to: &BTreeMap<String, std::net::IpAddr>) {
        let nodes = resources::find_plural("nodes").expect("nodes are served");
        let pods = resources::find_plural("pods").expect("pods are served");
        let mut renamed: std::collections::HashMap<String, String> = Default::default();
        for o in &mut self.stores[nodes].items {
            let Some(new) = to.get(&*o.name) else { continue };
            let Ok(mut v) = serde_json::from_slice::<Value>(&o.json) else { continue };
            let Some(addresses) = v.pointer_mut("/status/addresses").and_then(Value::as_array_mut) else {
                continue;
            };
            for a in addresses.iter_mut() {
                if a["type"] == "InternalIP" || a["type"] == "ExternalIP" {
                    if let Some(old) = a["address"].as_str() {
                        renamed.insert(old.to_string(), new.to_string());
                    }
                    a["address"] = json!(new.to_string());
                }
            }
            o.json = Bytes::from(serde_json::to_vec(&v).expect("a JSON value always serializes"));
        }
        if renamed.is_empty() {
            return;
        }
        let ip = regex::Regex::new(r"\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b").expect("a valid pattern");
        for o in &mut self.stores[pods].items {
            if &*o.namespace != "kube-system" {
                continue;
            }
            let Ok(text) = std::str::from_utf8(&o.json) else { continue };
            if !ip.find_iter(text).any(|m| renamed.contains_key(m.as_str())) {
                continue;
            }
            let moved = ip.replace_all(text, |c: &regex::Captures<'_>| {
                renamed.get(&c[0]).cloned().unwrap_or_else(|| c[0].to_string())
            });
            o.json = Bytes::from(moved.into_owned());
        }
    }

    /// Names of the nodes, in order.
    pub fn node_names(&self) -> Vec<String> {
        let nodes = resources::find_plural("nodes").expect("nodes are served");
        self.stores[nodes].items.iter().map(|o| o.name.to_string()).collect()
    }

    /// The parsed JSON of every object of `plural` in `namespace`.
    pub fn objects_in(&self, plural: &str, namespace: &str) -> Vec<Value> {
        let Some(idx) = resources::find_plural(plural) else { return Vec::new() };
        self.stores[idx]
            .items
            .iter()
            .filter(|o| &*o.namespace == namespace)
            .filter_map(|o| serde_json::from_slice(&o.json).ok())
            .collect()
    }

    /// One page of a list: objects in `namespace` (all when `None`) matching `selector`, after
    /// the position in `continue_token`, at most `limit` of them (all when `None` or 0).
    pub fn list(
        &self,
        idx: usize,
        namespace: Option<&str>,
        selector: Option<&LabelSelector>,
        limit: Option<usize>,
        continue_token: Option<&str>,
    ) -> Result<ListPage<'_>, ListError> {
        let items = &self.stores[idx].items;
        let (lo, hi) = match namespace {
            Some(ns) => (
                items.partition_point(|o| &*o.namespace < ns),
                items.partition_point(|o| &*o.namespace <= ns),
            ),
            None => (0, items.len()),
        };
        let start = match continue_token.filter(|t| !t.is_empty()) {
            None => lo,
            Some(token) => {
                let t = decode_continue(token)?;
                if t.rv != self.resource_version {
                    return Err(ListError::Expired);
                }
                let after =
                    items.partition_point(|o| (&*o.namespace, &*o.name) <= (t.ns.as_str(), t.name.as_str()));
                after.max(lo)
            }
        };
        let limit = limit.filter(|l| *l > 0).unwrap_or(usize::MAX);
        let mut page = Vec::new();
        let mut pos = start;
        while pos < hi && page.len() < limit {
            let o = &items[pos];
            if selector.is_none_or(|s| s.matches(&o.labels)) {
                page.push(o);
            }
            pos += 1;
        }
        let more = pos < hi;
        let continue_token = match (more, page.last()) {
            (true, Some(last)) => Some(encode_continue(&ContinueToken {
                v: CONTINUE_VERSION.into(),
                rv: self.resource_version,
                ns: last.namespace.to_string(),
                name: last.name.to_string(),
            })),
            _ => None,
        };
        // The API server only counts what is left when no selector filters the rest.
        let remaining = (more && selector.is_none()).then_some(hi - pos);
        Ok(ListPage { items: page, continue_token, remaining, resource_version: self.resource_version() })
    }
}

fn encode_continue(t: &ContinueToken) -> String {
    let raw = serde_json::to_vec(t).expect("a token always serializes");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
}

fn decode_continue(token: &str) -> Result<ContinueToken, ListError> {
    let bad = || ListError::BadContinue(format!("continue key is not valid: {token:.40}"));
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token.trim_end_matches('='))
        .map_err(|_| bad())?;
    let t: ContinueToken = serde_json::from_slice(&raw).map_err(|_| bad())?;
    if t.v != CONTINUE_VERSION {
        return Err(bad());
    }
    Ok(t)
}

/// Write a list response body from ready item bytes.
pub fn list_body(rt: &ResourceType, page: &ListPage<'_>) -> Bytes {
    let size: usize = page.items.iter().map(|o| o.json.len() + 1).sum::<usize>() + 256;
    let mut out = Vec::with_capacity(size);
    let mut meta = json!({"resourceVersion": page.resource_version});
    if let Some(c) = &page.continue_token {
        meta["continue"] = json!(c);
    }
    if let Some(r) = page.remaining {
        meta["remainingItemCount"] = json!(r);
    }
    out.extend_from_slice(b"{\"kind\":");
    out.extend_from_slice(json!(rt.list_kind()).to_string().as_bytes());
    out.extend_from_slice(b",\"apiVersion\":");
    out.extend_from_slice(json!(rt.api_version()).to_string().as_bytes());
    out.extend_from_slice(b",\"metadata\":");
    out.extend_from_slice(meta.to_string().as_bytes());
    out.extend_from_slice(b",\"items\":[");
    for (i, o) in page.items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(&o.json);
    }
    out.extend_from_slice(b"]}");
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(ns: &str, name: &str, app: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns, "labels": {"app": app}}})
    }

    fn cluster(n: usize) -> ClusterData {
        let mut b = ClusterBuilder::new("t", SimSettings::default());
        for i in 0..n {
            b.add_object(pod(
                &format!("ns{}", i % 3),
                &format!("p{i:04}"),
                if i % 2 == 0 { "web" } else { "db" },
            ))
            .unwrap();
        }
        b.finish()
    }

    #[test]
    fn paging_with_continue_tokens_visits_every_object_once() {
        let c = cluster(1001);
        let pods = resources::find_plural("pods").unwrap();
        let mut seen = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = c.list(pods, None, None, Some(100), token.as_deref()).unwrap();
            seen.extend(page.items.iter().map(|o| format!("{}/{}", o.namespace, o.name)));
            match page.continue_token {
                Some(t) => {
                    assert!(page.remaining.unwrap() > 0);
                    token = Some(t)
                }
                None => break,
            }
        }
        assert_eq!(seen.len(), 1001);
        let mut dedup = seen.clone();
        dedup.sort();
        dedup.dedup();
        assert_eq!(dedup.len(), 1001);
    }

    #[test]
    fn namespace_and_label_selector_narrow_a_list() {
        let c = cluster(30);
        let pods = resources::find_plural("pods").unwrap();
        let sel = LabelSelector {
            match_labels: [("app".to_string(), "web".to_string())].into(),
            ..Default::default()
        };
        let page = c.list(pods, Some("ns1"), Some(&sel), None, None).unwrap();
        assert!(!page.items.is_empty());
        assert!(page.items.iter().all(|o| &*o.namespace == "ns1" && o.labels["app"] == "web"));
        assert_eq!(page.items.len(), 5);
    }

    #[test]
    fn forged_or_stale_continue_tokens_are_refused() {
        let c = cluster(10);
        let pods = resources::find_plural("pods").unwrap();
        assert!(matches!(
            c.list(pods, None, None, Some(2), Some("not-a-token")),
            Err(ListError::BadContinue(_))
        ));
        let stale = encode_continue(&ContinueToken {
            v: CONTINUE_VERSION.into(),
            rv: 1,
            ns: "a".into(),
            name: "b".into(),
        });
        assert_eq!(c.list(pods, None, None, Some(2), Some(&stale)).err(), Some(ListError::Expired));
    }

    #[test]
    fn static_pods_become_mirror_pods_bound_to_their_node() {
        let mut b = ClusterBuilder::new("t", SimSettings::default());
        b.add_static_pod(
            "cp-1",
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "kube-apiserver", "namespace": "kube-system"},
                   "spec": {"hostNetwork": true, "containers": [{"name": "kube-apiserver", "image": "registry.k8s.io/kube-apiserver:v1.31.2"}]}}),
        );
        let c = b.finish();
        let pods = resources::find_plural("pods").unwrap();
        let mirror = c.get(pods, "kube-system", "kube-apiserver-cp-1").expect("mirror pod");
        let v: Value = serde_json::from_slice(&mirror.json).unwrap();
        assert_eq!(v["spec"]["nodeName"], "cp-1");
        assert!(v["metadata"]["annotations"]["kubernetes.io/config.mirror"].is_string());
        assert_eq!(c.version, "v1.31.2");
    }

    #[test]
    fn a_managed_cluster_hides_its_static_pods() {
        let settings = SimSettings { managed: true, ..Default::default() };
        let mut b = ClusterBuilder::new("t", settings);
        b.add_static_pod(
            "cp-1",
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "etcd"}, "spec": {}}),
        );
        let c = b.finish();
        assert_eq!(c.count(resources::find_plural("pods").unwrap()), 0);
    }
}
