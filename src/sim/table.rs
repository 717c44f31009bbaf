//! Server-side printing: `meta.k8s.io/v1` `Table` answers for `kubectl get`.
//!
//! kubectl asks for tables (`Accept: application/json;as=Table;v=v1;g=meta.k8s.io`) and prints
//! the columns the server chooses. The columns here follow kube-apiserver's printers for the
//! served kinds, so `kubectl get pods -A` against the simulator reads like a real cluster.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::resources::ResourceType;
use super::store::StoredObject;

/// The `includeObject` query parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncludeObject {
    None,
    Metadata,
    Object,
}

fn col(name: &str, ty: &str, priority: u8) -> Value {
    let format = if name == "Name" { "name" } else { "" };
    json!({"name": name, "type": ty, "format": format, "description": "", "priority": priority})
}

fn columns(kind: &str) -> Vec<Value> {
    let s = |n| col(n, "string", 0);
    let w = |n| col(n, "string", 1);
    match kind {
        "Pod" => vec![
            s("Name"),
            s("Ready"),
            s("Status"),
            col("Restarts", "string", 0),
            s("Age"),
            w("IP"),
            w("Node"),
        ],
        "Node" => vec![
            s("Name"),
            s("Status"),
            s("Roles"),
            s("Age"),
            s("Version"),
            w("Internal-IP"),
            w("OS-Image"),
            w("Container-Runtime"),
        ],
        "Namespace" => vec![s("Name"), s("Status"), s("Age")],
        "ClusterRoleBinding" | "RoleBinding" => {
            vec![s("Name"), s("Role"), s("Age"), w("Users"), w("Groups"), w("ServiceAccounts")]
        }
        "ClusterRole" | "Role" => vec![s("Name"), col("Created At", "date", 0)],
        "NetworkPolicy" => vec![s("Name"), s("Pod-Selector"), s("Age")],
        "DaemonSet" => vec![
            s("Name"),
            col("Desired", "integer", 0),
            col("Current", "integer", 0),
            col("Ready", "integer", 0),
            col("Up-to-date", "integer", 0),
            col("Available", "integer", 0),
            s("Node Selector"),
            s("Age"),
        ],
        "Deployment" => vec![
            s("Name"),
            s("Ready"),
            col("Up-to-date", "integer", 0),
            col("Available", "integer", 0),
            s("Age"),
        ],
        "ServiceAccount" => vec![s("Name"), col("Secrets", "integer", 0), s("Age")],
        "Secret" => vec![s("Name"), s("Type"), col("Data", "integer", 0), s("Age")],
        "ConfigMap" => vec![s("Name"), col("Data", "integer", 0), s("Age")],
        "Service" => vec![s("Name"), s("Type"), s("Cluster-IP"), s("External-IP"), s("Port(s)"), s("Age")],
        _ => vec![s("Name"), s("Age")],
    }
}

/// kubectl's short age format (`5d`, `3h12m`, `42s`).
pub fn human_age(created: Option<&str>, now: DateTime<Utc>) -> String {
    let Some(t) = created.and_then(|c| DateTime::parse_from_rfc3339(c).ok()) else {
        return "<unknown>".into();
    };
    let secs = (now - t.with_timezone(&Utc)).num_seconds().max(0);
    let (m, h, d) = (secs / 60, secs / 3600, secs / 86400);
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 600 => format!("{m}m{}s", s % 60),
        s if s < 3 * 3600 => format!("{m}m"),
        s if s < 8 * 3600 => format!("{h}h{}m", m % 60),
        s if s < 48 * 3600 => format!("{h}h"),
        s if s < 8 * 86400 => format!("{d}d{}h", h % 24),
        s if s < 2 * 365 * 86400 => format!("{d}d"),
        _ => format!("{}y{}d", d / 365, d % 365),
    }
}

fn str_at<'a>(v: &'a Value, ptr: &str) -> &'a str {
    v.pointer(ptr).and_then(Value::as_str).unwrap_or("")
}

fn int_at(v: &Value, ptr: &str) -> i64 {
    v.pointer(ptr).and_then(Value::as_i64).unwrap_or(0)
}

fn or_none(s: String) -> String {
    if s.is_empty() {
        "<none>".into()
    } else {
        s
    }
}

fn subjects(v: &Value, kind: &str) -> String {
    let list: Vec<String> = v["subjects"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|s| s["kind"] == kind)
                .map(|s| match (kind, s["namespace"].as_str()) {
                    ("ServiceAccount", Some(ns)) => format!("{ns}/{}", str_at(s, "/name")),
                    _ => str_at(s, "/name").to_string(),
                })
                .collect()
        })
        .unwrap_or_default();
    list.join(", ")
}

fn selector_text(sel: &Value) -> String {
    let mut parts: Vec<String> = sel["matchLabels"]
        .as_object()
        .map(|m| m.iter().map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or(""))).collect())
        .unwrap_or_default();
    if let Some(exprs) = sel["matchExpressions"].as_array() {
        for e in exprs {
            let vals: Vec<&str> = e["values"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            parts.push(match str_at(e, "/operator") {
                "Exists" => str_at(e, "/key").to_string(),
                "DoesNotExist" => format!("!{}", str_at(e, "/key")),
                op => format!("{} {} ({})", str_at(e, "/key"), op.to_lowercase(), vals.join(",")),
            });
        }
    }
    parts.join(",")
}

fn cells(kind: &str, v: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let name = str_at(v, "/metadata/name");
    let age = human_age(v.pointer("/metadata/creationTimestamp").and_then(Value::as_str), now);
    match kind {
        "Pod" => {
            let statuses =
                v.pointer("/status/containerStatuses").and_then(Value::as_array).cloned().unwrap_or_default();
            let total =
                v.pointer("/spec/containers").and_then(Value::as_array).map_or(statuses.len(), Vec::len);
            let ready = statuses.iter().filter(|c| c["ready"] == true).count();
            let restarts: i64 = statuses.iter().map(|c| c["restartCount"].as_i64().unwrap_or(0)).sum();
            let phase = str_at(v, "/status/phase");
            vec![
                json!(name),
                json!(format!("{ready}/{total}")),
                json!(if phase.is_empty() { "Pending" } else { phase }),
                json!(restarts),
                json!(age),
                json!(or_none(str_at(v, "/status/podIP").into())),
                json!(or_none(str_at(v, "/spec/nodeName").into())),
            ]
        }
        "Node" => {
            let ready = v
                .pointer("/status/conditions")
                .and_then(Value::as_array)
                .and_then(|cs| cs.iter().find(|c| c["type"] == "Ready"))
                .map(|c| if c["status"] == "True" { "Ready" } else { "NotReady" })
                .unwrap_or("Unknown");
            let mut roles: Vec<&str> = v
                .pointer("/metadata/labels")
                .and_then(Value::as_object)
                .map(|m| m.keys().filter_map(|k| k.strip_prefix("node-role.kubernetes.io/")).collect())
                .unwrap_or_default();
            roles.sort_unstable();
            let ip = v
                .pointer("/status/addresses")
                .and_then(Value::as_array)
                .and_then(|a| a.iter().find(|x| x["type"] == "InternalIP"))
                .map(|x| str_at(x, "/address").to_string())
                .unwrap_or_default();
            vec![
                json!(name),
                json!(ready),
                json!(or_none(roles.join(","))),
                json!(age),
                json!(str_at(v, "/status/nodeInfo/kubeletVersion")),
                json!(or_none(ip)),
                json!(str_at(v, "/status/nodeInfo/osImage")),
                json!(str_at(v, "/status/nodeInfo/containerRuntimeVersion")),
            ]
        }
        "Namespace" => {
            let phase = str_at(v, "/status/phase");
            vec![json!(name), json!(if phase.is_empty() { "Active" } else { phase }), json!(age)]
        }
        "ClusterRoleBinding" | "RoleBinding" => vec![
            json!(name),
            json!(format!("{}/{}", str_at(v, "/roleRef/kind"), str_at(v, "/roleRef/name"))),
            json!(age),
            json!(subjects(v, "User")),
            json!(subjects(v, "Group")),
            json!(subjects(v, "ServiceAccount")),
        ],
        "ClusterRole" | "Role" => vec![json!(name), json!(str_at(v, "/metadata/creationTimestamp"))],
        "NetworkPolicy" => {
            let sel = selector_text(&v["spec"]["podSelector"]);
            vec![json!(name), json!(if sel.is_empty() { "<none>".to_string() } else { sel }), json!(age)]
        }
        "DaemonSet" => {
            let ns: Vec<String> = v
                .pointer("/spec/template/spec/nodeSelector")
                .and_then(Value::as_object)
                .map(|m| m.iter().map(|(k, x)| format!("{k}={}", x.as_str().unwrap_or(""))).collect())
                .unwrap_or_default();
            vec![
                json!(name),
                json!(int_at(v, "/status/desiredNumberScheduled")),
                json!(int_at(v, "/status/currentNumberScheduled")),
                json!(int_at(v, "/status/numberReady")),
                json!(int_at(v, "/status/updatedNumberScheduled")),
                json!(int_at(v, "/status/numberAvailable")),
                json!(or_none(ns.join(","))),
                json!(age),
            ]
        }
        "Deployment" => vec![
            json!(name),
            json!(format!("{}/{}", int_at(v, "/status/readyReplicas"), int_at(v, "/spec/replicas"))),
            json!(int_at(v, "/status/updatedReplicas")),
            json!(int_at(v, "/status/availableReplicas")),
            json!(age),
        ],
        "ServiceAccount" => vec![json!(name), json!(v["secrets"].as_array().map_or(0, Vec::len)), json!(age)],
        "Secret" => vec![
            json!(name),
            json!(str_at(v, "/type")),
            json!(v["data"].as_object().map_or(0, |m| m.len())),
            json!(age),
        ],
        "ConfigMap" => vec![json!(name), json!(v["data"].as_object().map_or(0, |m| m.len())), json!(age)],
        "Service" => {
            let ports: Vec<String> = v
                .pointer("/spec/ports")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter().map(|p| format!("{}/{}", int_at(p, "/port"), str_at(p, "/protocol"))).collect()
                })
                .unwrap_or_default();
            vec![
                json!(name),
                json!(str_at(v, "/spec/type")),
                json!(or_none(str_at(v, "/spec/clusterIP").into())),
                json!("<none>"),
                json!(or_none(ports.join(","))),
                json!(age),
            ]
        }
        _ => vec![json!(name), json!(age)],
    }
}

/// A `Table` for these objects.
pub fn render(
    rt: &ResourceType,
    items: &[&StoredObject],
    resource_version: String,
    continue_token: Option<String>,
    include: IncludeObject,
) -> Value {
    let now = Utc::now();
    let rows: Vec<Value> = items
        .iter()
        .filter_map(|o| serde_json::from_slice::<Value>(&o.json).ok())
        .map(|v| {
            let mut row = json!({"cells": cells(rt.kind, &v, now)});
            match include {
                IncludeObject::None => {}
                IncludeObject::Object => row["object"] = v,
                IncludeObject::Metadata => {
                    row["object"] = json!({
                        "kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": v["metadata"]
                    })
                }
            }
            row
        })
        .collect();
    let mut meta = json!({"resourceVersion": resource_version});
    if let Some(c) = continue_token {
        meta["continue"] = json!(c);
    }
    json!({
        "kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": meta,
        "columnDefinitions": columns(rt.kind), "rows": rows
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_like_kubectl() {
        let now: DateTime<Utc> = "2026-01-10T00:00:00Z".parse().unwrap();
        assert_eq!(human_age(Some("2026-01-09T23:59:30Z"), now), "30s");
        assert_eq!(human_age(Some("2026-01-09T20:00:00Z"), now), "4h0m");
        assert_eq!(human_age(Some("2026-01-05T00:00:00Z"), now), "5d0h");
        assert_eq!(human_age(Some("2025-11-01T00:00:00Z"), now), "70d");
        assert_eq!(human_age(None, now), "<unknown>");
    }
}
