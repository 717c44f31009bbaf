//! RBAC analysis: effective permissions, "who can" and "what can this subject do".
//!
//! This module owns the exact reproduction of the Kubernetes RBAC authorizer over the RBAC objects
//! of a [`Snapshot`] (pure, no I/O). It follows the API server's code paths:
//! - rule matching as in `rbac/v1` helpers: `*` in verbs / apiGroups / resources, the combined
//!   `resource/subresource` form and `*/subresource`, `resourceNames` (a rule with names never
//!   matches a request without a name, e.g. `list` or `create`), and `nonResourceURLs` with a
//!   trailing `*` prefix match;
//! - the rule resolver: every ClusterRoleBinding applies cluster-wide, RoleBindings only in their
//!   namespace (also when they reference a ClusterRole), non-resource URLs only through
//!   ClusterRoleBindings, ServiceAccount subjects without a namespace default to the RoleBinding's
//!   namespace (and match nothing in a ClusterRoleBinding);
//! - identities as the authenticators build them: a service account is the user
//!   `system:serviceaccount:<ns>:<name>` in the groups `system:serviceaccounts`,
//!   `system:serviceaccounts:<ns>` and `system:authenticated`; every authenticated user is in
//!   `system:authenticated`; anonymous is `system:anonymous` in `system:unauthenticated`;
//!   `system:masters` bypasses authorization altogether;
//! - ClusterRole aggregation as the clusterrole-aggregation controller computes it: an aggregated
//!   ClusterRole's rules are replaced by the de-duplicated union of the rules of every other
//!   ClusterRole its selectors match (in name order), and because the controller re-syncs whenever
//!   a ClusterRole changes, aggregation is transitive; we iterate to the fixed point.
//!
//! [`Rbac`] is the resolved graph (cheap to build, enough for findings); [`WhoCanIndex`] adds the
//! indexes that make "who can VERB RESOURCE" fast on large clusters.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

use serde::Serialize;

use crate::snapshot::{Binding, PolicyRule, Role, Snapshot, Subject};

mod aggregation;
mod defaults;
mod matching;
mod resolve;
#[cfg(test)]
mod tests;
mod views;
mod who_can;

use aggregation::resolve_aggregation;
pub use defaults::{system_grant, system_grants};
pub use matching::{rule_allows, rule_matches, RuleMatch};
use resolve::subject_key;
pub use resolve::Rbac;
pub use views::{describe_rule, describe_subject, BindingView, GrantView, Permissions, RoleView, RuleView};
pub use who_can::{WhoCan, WhoCanEntry, WhoCanIndex};

/// The group every authenticated user belongs to.
pub const GROUP_AUTHENTICATED: &str = "system:authenticated";
/// The group of anonymous requests.
pub const GROUP_UNAUTHENTICATED: &str = "system:unauthenticated";
/// The user name of anonymous requests.
pub const USER_ANONYMOUS: &str = "system:anonymous";
/// The group of every service account in the cluster.
pub const GROUP_SERVICE_ACCOUNTS: &str = "system:serviceaccounts";
/// Members of this group bypass authorization (the API server's privileged-group authorizer runs
/// before RBAC).
pub const GROUP_MASTERS: &str = "system:masters";
const SA_USER_PREFIX: &str = "system:serviceaccount:";

/// Index of a role (ClusterRole or Role) in [`Rbac::roles`].
pub type RoleIdx = u32;
/// Index of a binding (ClusterRoleBinding or RoleBinding) in [`Rbac::bindings`].
pub type BindingIdx = u32;

/// One rule, by the role that declares it (for aggregated roles this is the source ClusterRole).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RuleId {
    pub role: RoleIdx,
    pub rule: u32,
}

/// What a request asks for, in the authorizer's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A request on an API resource.
    Resource {
        /// `""` for the core group.
        api_group: String,
        resource: String,
        subresource: Option<String>,
        /// The object's name; `None` for `list`, `watch` (without a field selector), `create`, …
        name: Option<String>,
        /// `None` for a cluster-scoped request (or a request across all namespaces).
        namespace: Option<String>,
    },
    /// A request on a non-resource URL such as `/healthz` or `/metrics`.
    NonResource { path: String },
}

/// An authorization request: a verb on a target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub verb: String,
    pub target: Target,
}

impl Request {
    /// A resource request. `resource` may carry a subresource as `pods/exec`.
    pub fn resource(verb: &str, api_group: &str, resource: &str, namespace: Option<&str>) -> Self {
        let (resource, subresource) = match resource.split_once('/') {
            Some((r, s)) => (r.to_string(), Some(s.to_string())),
            None => (resource.to_string(), None),
        };
        Request {
            verb: verb.to_string(),
            target: Target::Resource {
                api_group: api_group.to_string(),
                resource,
                subresource,
                name: None,
                namespace: namespace.map(str::to_string),
            },
        }
    }

    /// A non-resource request such as `get /healthz`.
    pub fn non_resource(verb: &str, path: &str) -> Self {
        Request { verb: verb.to_string(), target: Target::NonResource { path: path.to_string() } }
    }

    /// The same request on one named object.
    pub fn named(mut self, object: &str) -> Self {
        if let Target::Resource { name, .. } = &mut self.target {
            *name = Some(object.to_string());
        }
        self
    }

    fn namespace(&self) -> Option<&str> {
        match &self.target {
            Target::Resource { namespace, .. } => namespace.as_deref(),
            Target::NonResource { .. } => None,
        }
    }
}

impl fmt::Display for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.target {
            Target::Resource { api_group, resource, subresource, name, namespace } => {
                write!(f, "{} {}", self.verb, resource)?;
                if let Some(s) = subresource {
                    write!(f, "/{s}")?;
                }
                if !api_group.is_empty() {
                    write!(f, ".{api_group}")?;
                }
                if let Some(n) = name {
                    write!(f, " {n}")?;
                }
                match namespace {
                    Some(ns) => write!(f, " in namespace {ns}"),
                    None => write!(f, " cluster-wide"),
                }
            }
            Target::NonResource { path } => write!(f, "{} {}", self.verb, path),
        }
    }
}

/// The authenticated identity of a request: a user name and its groups.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Identity {
    pub user: Option<String>,
    pub groups: Vec<String>,
}

impl Identity {
    /// An authenticated user (in `system:authenticated`), plus any extra groups the
    /// authenticator gives it. `system:anonymous` gets `system:unauthenticated` instead, and
    /// `system:serviceaccount:<ns>:<name>` becomes that service account.
    pub fn user(name: &str, extra_groups: &[String]) -> Self {
        if name == USER_ANONYMOUS {
            return Self::anonymous();
        }
        if let Some((ns, sa)) = name.strip_prefix(SA_USER_PREFIX).and_then(|r| r.split_once(':')) {
            let mut id = Self::service_account(ns, sa);
            id.groups.extend(extra_groups.iter().cloned());
            return id;
        }
        let mut groups = vec![GROUP_AUTHENTICATED.to_string()];
        groups.extend(extra_groups.iter().cloned());
        Identity { user: Some(name.to_string()), groups }
    }

    /// A service account's token identity.
    pub fn service_account(namespace: &str, name: &str) -> Self {
        Identity {
            user: Some(format!("{SA_USER_PREFIX}{namespace}:{name}")),
            groups: vec![
                GROUP_SERVICE_ACCOUNTS.to_string(),
                format!("{GROUP_SERVICE_ACCOUNTS}:{namespace}"),
                GROUP_AUTHENTICATED.to_string(),
            ],
        }
    }

    /// An anonymous request (when the API server allows anonymous auth).
    pub fn anonymous() -> Self {
        Identity { user: Some(USER_ANONYMOUS.to_string()), groups: vec![GROUP_UNAUTHENTICATED.to_string()] }
    }

    /// Only the grants made to one group (what membership in the group alone gives).
    pub fn group(name: &str) -> Self {
        Identity { user: None, groups: vec![name.to_string()] }
    }

    /// Build an identity from a subject as written in a binding (`User`, `Group`,
    /// `ServiceAccount` with `namespace/name` or `namespace:name`).
    pub fn from_subject(kind: &str, name: &str) -> Result<Self, String> {
        match kind.to_ascii_lowercase().as_str() {
            "user" => Ok(Self::user(name, &[])),
            "group" => Ok(Self::group(name)),
            "serviceaccount" | "sa" => {
                let (ns, sa) = name
                    .split_once('/')
                    .or_else(|| name.split_once(':'))
                    .ok_or_else(|| format!("a ServiceAccount is named NAMESPACE/NAME, got `{name}`"))?;
                if ns.is_empty() || sa.is_empty() {
                    return Err(format!("a ServiceAccount is named NAMESPACE/NAME, got `{name}`"));
                }
                Ok(Self::service_account(ns, sa))
            }
            other => Err(format!("unknown subject kind `{other}` (expected User, Group or ServiceAccount)")),
        }
    }

    /// True when the identity is in `system:masters`, which bypasses RBAC.
    pub fn is_superuser(&self) -> bool {
        self.groups.iter().any(|g| g == GROUP_MASTERS)
    }
}

/// A subject normalized for matching: service accounts become their user name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum SubjectKey<'a> {
    User(&'a str),
    ServiceAccount(&'a str, &'a str),
    Group(&'a str),
}

/// Where a binding's grant applies.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, utoipa::ToSchema)]
#[serde(tag = "scope", content = "namespace", rename_all = "snake_case")]
pub enum Scope {
    Cluster,
    Namespace(String),
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::Cluster => f.write_str("cluster-wide"),
            Scope::Namespace(ns) => write!(f, "in namespace {ns}"),
        }
    }
}

/// The outcome of [`Rbac::authorize`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// The identity is in `system:masters`.
    Superuser,
    Allowed(GrantRef),
    Denied,
}

impl Decision {
    pub fn is_allowed(&self) -> bool {
        !matches!(self, Decision::Denied)
    }
}

/// A binding's subject that is granted a rule through a role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GrantRef {
    pub binding: BindingIdx,
    pub subject: u32,
    pub role: RoleIdx,
    pub rule: RuleId,
}
