//! The API resources the simulator serves, and the discovery documents built from them.
//!
//! The table mirrors what a Kubernetes 1.31 API server advertises for these resources (kind,
//! scope, short names) so that `kubectl` resolves `po`, `netpol`, `clusterrolebindings` and the
//! like exactly as it does against a real cluster. Only read verbs are advertised: the simulator
//! serves a fixed cluster.

use serde_json::{json, Value};

/// One API resource (a plural name in a group/version).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResourceType {
    /// API group; empty for the core (`/api/v1`) group.
    pub group: &'static str,
    pub version: &'static str,
    /// Plural resource name as used in URLs (`pods`).
    pub plural: &'static str,
    pub singular: &'static str,
    pub kind: &'static str,
    pub namespaced: bool,
    pub short_names: &'static [&'static str],
}

impl ResourceType {
    /// `v1` or `apps/v1`, as written in an object's `apiVersion`.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// Kind of the list object (`PodList`).
    pub fn list_kind(&self) -> String {
        format!("{}List", self.kind)
    }
}

macro_rules! res {
    ($group:literal, $version:literal, $plural:literal, $singular:literal, $kind:literal, $ns:literal, [$($short:literal),*]) => {
        ResourceType {
            group: $group,
            version: $version,
            plural: $plural,
            singular: $singular,
            kind: $kind,
            namespaced: $ns,
            short_names: &[$($short),*],
        }
    };
}

/// Every resource the simulator serves, in discovery order.
pub const RESOURCES: &[ResourceType] = &[
    res!("", "v1", "namespaces", "namespace", "Namespace", false, ["ns"]),
    res!("", "v1", "nodes", "node", "Node", false, ["no"]),
    res!("", "v1", "pods", "pod", "Pod", true, ["po"]),
    res!("", "v1", "serviceaccounts", "serviceaccount", "ServiceAccount", true, ["sa"]),
    res!("", "v1", "secrets", "secret", "Secret", true, []),
    res!("", "v1", "configmaps", "configmap", "ConfigMap", true, ["cm"]),
    res!("", "v1", "services", "service", "Service", true, ["svc"]),
    res!("apps", "v1", "daemonsets", "daemonset", "DaemonSet", true, ["ds"]),
    res!("apps", "v1", "deployments", "deployment", "Deployment", true, ["deploy"]),
    res!("apps", "v1", "replicasets", "replicaset", "ReplicaSet", true, ["rs"]),
    res!("apps", "v1", "statefulsets", "statefulset", "StatefulSet", true, ["sts"]),
    res!("rbac.authorization.k8s.io", "v1", "roles", "role", "Role", true, []),
    res!("rbac.authorization.k8s.io", "v1", "rolebindings", "rolebinding", "RoleBinding", true, []),
    res!("rbac.authorization.k8s.io", "v1", "clusterroles", "clusterrole", "ClusterRole", false, []),
    res!(
        "rbac.authorization.k8s.io",
        "v1",
        "clusterrolebindings",
        "clusterrolebinding",
        "ClusterRoleBinding",
        false,
        []
    ),
    res!("networking.k8s.io", "v1", "networkpolicies", "networkpolicy", "NetworkPolicy", true, ["netpol"]),
];

/// Index into [`RESOURCES`] of the resource at `group`/`version`/`plural`.
pub fn find(group: &str, version: &str, plural: &str) -> Option<usize> {
    RESOURCES.iter().position(|r| r.group == group && r.version == version && r.plural == plural)
}

/// Index into [`RESOURCES`] of the resource whose objects have this `apiVersion` and `kind`.
pub fn find_kind(api_version: &str, kind: &str) -> Option<usize> {
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    RESOURCES.iter().position(|r| r.group == group && r.version == version && r.kind == kind)
}

/// Index of a resource by plural name alone (plurals are unique in this table).
pub fn find_plural(plural: &str) -> Option<usize> {
    RESOURCES.iter().position(|r| r.plural == plural)
}

/// The API groups other than core, in discovery order.
fn groups() -> Vec<(&'static str, &'static str)> {
    let mut out: Vec<(&str, &str)> = Vec::new();
    for r in RESOURCES.iter().filter(|r| !r.group.is_empty()) {
        if !out.contains(&(r.group, r.version)) {
            out.push((r.group, r.version));
        }
    }
    out
}

/// Whether the simulator serves this non-core group/version.
pub fn serves_group_version(group: &str, version: &str) -> bool {
    groups().contains(&(group, version))
}

/// `GET /api`: the core group's versions.
pub fn core_versions() -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:6443"}]
    })
}

/// `GET /apis`: every non-core group.
pub fn group_list() -> Value {
    let groups: Vec<Value> = groups()
        .into_iter()
        .map(|(group, version)| {
            let gv = json!({"groupVersion": format!("{group}/{version}"), "version": version});
            json!({"name": group, "versions": [gv.clone()], "preferredVersion": gv})
        })
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// `GET /apis/<group>`: one group.
pub fn group(group: &str) -> Option<Value> {
    let (_, version) = groups().into_iter().find(|(g, _)| *g == group)?;
    let gv = json!({"groupVersion": format!("{group}/{version}"), "version": version});
    Some(
        json!({"kind": "APIGroup", "apiVersion": "v1", "name": group, "versions": [gv.clone()], "preferredVersion": gv}),
    )
}

/// `GET /api/v1` or `GET /apis/<group>/<version>`: the resource list, with the `nodes/proxy`
/// subresource a real API server lists next to `nodes`.
pub fn resource_list(group: &str, version: &str) -> Value {
    let mut resources = Vec::new();
    for r in RESOURCES.iter().filter(|r| r.group == group && r.version == version) {
        let mut entry = json!({
            "name": r.plural,
            "singularName": r.singular,
            "namespaced": r.namespaced,
            "kind": r.kind,
            "verbs": ["get", "list"],
        });
        if !r.short_names.is_empty() {
            entry["shortNames"] = json!(r.short_names);
        }
        if r.group == "apps" {
            entry["categories"] = json!(["all"]);
        }
        if r.plural == "pods" || r.plural == "services" {
            entry["categories"] = json!(["all"]);
        }
        resources.push(entry);
        if r.plural == "nodes" {
            resources.push(json!({
                "name": "nodes/proxy", "singularName": "", "namespaced": false, "kind": "NodeProxyOptions",
                "verbs": ["get"]
            }));
        }
    }
    let group_version = if group.is_empty() { version.to_string() } else { format!("{group}/{version}") };
    json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": resources})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_plurals_resolve_to_the_same_resource() {
        let pods = find("", "v1", "pods").unwrap();
        assert_eq!(find_kind("v1", "Pod"), Some(pods));
        let netpol = find("networking.k8s.io", "v1", "networkpolicies").unwrap();
        assert_eq!(find_kind("networking.k8s.io/v1", "NetworkPolicy"), Some(netpol));
        assert_eq!(find_kind("v1", "Unknown"), None);
    }

    #[test]
    fn discovery_lists_every_group_and_the_node_proxy_subresource() {
        let apis = group_list();
        let names: Vec<&str> =
            apis["groups"].as_array().unwrap().iter().map(|g| g["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["apps", "rbac.authorization.k8s.io", "networking.k8s.io"]);
        let core = resource_list("", "v1");
        let core_names: Vec<&str> =
            core["resources"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
        assert!(core_names.contains(&"nodes/proxy"));
        assert!(core_names.contains(&"pods"));
        assert!(!core_names.contains(&"roles"));
    }
}
