//! Requests as people write them: `VERB RESOURCE` (`pods`, `deployments.apps`, `pods/exec`, `*`,
//! or a non-resource URL such as `/metrics`) with an optional namespace and name, parsed into a
//! [`Request`] for the CLI and the API alike.

use super::*;

/// A request that cannot be parsed, with the words that say why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RequestError(pub String);

/// Return a [`RequestError`] made from a format string.
macro_rules! bail {
    ($($arg:tt)*) => {
        return Err(RequestError(format!($($arg)*)))
    };
}

/// Built-in resources and their API group, so `deployments` needs no `.apps`.
const BUILTIN_GROUPS: &[(&str, &[&str])] = &[
    (
        "",
        &[
            "pods",
            "services",
            "endpoints",
            "configmaps",
            "secrets",
            "serviceaccounts",
            "namespaces",
            "nodes",
            "persistentvolumes",
            "persistentvolumeclaims",
            "replicationcontrollers",
            "events",
            "limitranges",
            "resourcequotas",
            "podtemplates",
            "bindings",
            "componentstatuses",
            "users",
            "groups",
        ],
    ),
    ("apps", &["deployments", "replicasets", "daemonsets", "statefulsets", "controllerrevisions"]),
    ("batch", &["jobs", "cronjobs"]),
    ("rbac.authorization.k8s.io", &["roles", "clusterroles", "rolebindings", "clusterrolebindings"]),
    ("networking.k8s.io", &["networkpolicies", "ingresses", "ingressclasses"]),
    ("policy", &["poddisruptionbudgets"]),
    ("certificates.k8s.io", &["certificatesigningrequests", "signers"]),
    (
        "admissionregistration.k8s.io",
        &[
            "mutatingwebhookconfigurations",
            "validatingwebhookconfigurations",
            "validatingadmissionpolicies",
            "validatingadmissionpolicybindings",
        ],
    ),
    ("storage.k8s.io", &["storageclasses", "csidrivers", "csinodes", "volumeattachments"]),
    ("coordination.k8s.io", &["leases"]),
    ("authentication.k8s.io", &["tokenreviews", "uids", "userextras"]),
    (
        "authorization.k8s.io",
        &[
            "subjectaccessreviews",
            "selfsubjectaccessreviews",
            "localsubjectaccessreviews",
            "selfsubjectrulesreviews",
        ],
    ),
    ("apiextensions.k8s.io", &["customresourcedefinitions"]),
    ("scheduling.k8s.io", &["priorityclasses"]),
    ("autoscaling", &["horizontalpodautoscalers"]),
    ("discovery.k8s.io", &["endpointslices"]),
    ("node.k8s.io", &["runtimeclasses"]),
];

/// Parse `VERB RESOURCE` as the CLI and the API accept it.
pub fn parse_request(
    verb: &str,
    resource: &str,
    namespace: Option<&str>,
    name: Option<&str>,
) -> Result<Request, RequestError> {
    let verb = verb.trim();
    if verb.is_empty() || verb.contains(char::is_whitespace) {
        bail!("the verb must be one word such as get, list, create or `*`, got `{verb}`");
    }
    let resource = resource.trim();
    if resource.starts_with('/') {
        if namespace.is_some() || name.is_some() {
            bail!("a non-resource URL such as `{resource}` has no namespace or name");
        }
        return Ok(Request::non_resource(verb, resource));
    }
    if resource.is_empty() || resource.contains(char::is_whitespace) {
        bail!("the resource must look like pods, deployments.apps or pods/exec, got `{resource}`");
    }
    if let Some(ns) = namespace {
        if ns.is_empty() {
            bail!("the namespace must not be empty (leave out -n for a cluster-wide request)");
        }
    }
    let (type_part, sub) = match resource.split_once('/') {
        Some((t, s)) if !s.is_empty() && !s.contains('/') => (t, Some(s)),
        Some(_) => bail!("`{resource}` is not RESOURCE or RESOURCE/SUBRESOURCE"),
        None => (resource, None),
    };
    let (plural, group) = if type_part == "*" {
        ("*", "*".to_string())
    } else {
        match type_part.split_once('.') {
            Some((plural, group)) => (plural, group.to_string()),
            None => {
                let group = BUILTIN_GROUPS
                    .iter()
                    .find(|(_, list)| list.contains(&type_part))
                    .map(|(g, _)| g.to_string())
                    .ok_or_else(|| {
                        RequestError(format!(
                            "`{type_part}` is not a built-in resource; name its API group as RESOURCE.GROUP \
                             (e.g. widgets.example.com)"
                        ))
                    })?;
                (type_part, group)
            }
        }
    };
    let combined = match sub {
        Some(s) => format!("{plural}/{s}"),
        None => plural.to_string(),
    };
    let mut request = Request::resource(verb, &group, &combined, namespace);
    if let Some(n) = name {
        request = request.named(n);
    }
    Ok(request)
}
