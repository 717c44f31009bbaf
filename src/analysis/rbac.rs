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

/// Whether `rule` allows `request`, exactly as the API server's `RuleAllows`.
pub fn rule_allows(rule: &PolicyRule, request: &Request) -> bool {
    rule_matches(rule, request) == RuleMatch::Allows
}

/// How a rule relates to a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleMatch {
    Allows,
    /// Everything matches except `resourceNames`: the rule grants the request only for the named
    /// objects (reported by "who can" as a restricted grant when the request names no object).
    OnlyNamed,
    No,
}

/// Match a rule against a request, telling a names-only grant apart from no grant.
pub fn rule_matches(rule: &PolicyRule, request: &Request) -> RuleMatch {
    if !verb_matches(rule, &request.verb) {
        return RuleMatch::No;
    }
    match &request.target {
        Target::NonResource { path } => {
            if non_resource_url_matches(rule, path) {
                RuleMatch::Allows
            } else {
                RuleMatch::No
            }
        }
        Target::Resource { api_group, resource, subresource, name, .. } => {
            if !api_group_matches(rule, api_group)
                || !resource_matches(rule, resource, subresource.as_deref())
            {
                return RuleMatch::No;
            }
            if rule.resource_names.is_empty() {
                return RuleMatch::Allows;
            }
            match name {
                Some(n) if rule.resource_names.iter().any(|r| r == n) => RuleMatch::Allows,
                Some(_) => RuleMatch::No,
                None => RuleMatch::OnlyNamed,
            }
        }
    }
}

fn verb_matches(rule: &PolicyRule, verb: &str) -> bool {
    rule.verbs.iter().any(|v| v == "*" || v == verb)
}

fn api_group_matches(rule: &PolicyRule, group: &str) -> bool {
    rule.api_groups.iter().any(|g| g == "*" || g == group)
}

fn resource_matches(rule: &PolicyRule, resource: &str, subresource: Option<&str>) -> bool {
    rule.resources.iter().any(|r| {
        if r == "*" {
            return true;
        }
        match subresource {
            None => r == resource,
            Some(sub) => {
                // `resource/subresource` exactly, or `*/subresource`.
                (r.len() == resource.len() + 1 + sub.len()
                    && r.starts_with(resource)
                    && r.as_bytes()[resource.len()] == b'/'
                    && r.ends_with(sub))
                    || (r.len() == sub.len() + 2 && r.starts_with("*/") && r.ends_with(sub))
            }
        }
    })
}

fn non_resource_url_matches(rule: &PolicyRule, path: &str) -> bool {
    rule.non_resource_urls
        .iter()
        .any(|u| u == "*" || u == path || (u.ends_with('*') && path.starts_with(u.trim_end_matches('*'))))
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

/// The resolved RBAC graph of one snapshot.
pub struct Rbac<'a> {
    /// ClusterRoles and Roles.
    pub roles: Vec<&'a Role>,
    /// ClusterRoleBindings and RoleBindings.
    pub bindings: Vec<&'a Binding>,
    cluster_role_by_name: HashMap<&'a str, RoleIdx>,
    role_by_ns_name: HashMap<(&'a str, &'a str), RoleIdx>,
    /// Effective rules per role: its own rules, or for an aggregated ClusterRole the union the
    /// aggregation controller writes.
    effective: Vec<Vec<RuleId>>,
    /// The role each binding references, when it exists.
    binding_role: Vec<Option<RoleIdx>>,
    cluster_bindings: Vec<BindingIdx>,
    bindings_by_namespace: HashMap<&'a str, Vec<BindingIdx>>,
    /// Subject → bindings naming it; built on first use (findings do not need it).
    subjects: std::sync::OnceLock<HashMap<SubjectKey<'a>, Vec<(BindingIdx, u32)>>>,
    gaps: Vec<String>,
}

impl<'a> Rbac<'a> {
    /// Resolve the RBAC objects of a snapshot.
    pub fn new(snapshot: &'a Snapshot) -> Self {
        let mut gaps = Vec::new();
        for (what, state) in [
            ("ClusterRoles", &snapshot.cluster_roles.state),
            ("Roles", &snapshot.roles.state),
            ("ClusterRoleBindings", &snapshot.cluster_role_bindings.state),
            ("RoleBindings", &snapshot.role_bindings.state),
        ] {
            if let Some(reason) = state.missing_reason() {
                gaps.push(format!("{what}: {reason}"));
            }
        }
        let roles: Vec<&Role> = snapshot.cluster_roles.iter().chain(snapshot.roles.iter()).collect();
        let bindings: Vec<&Binding> =
            snapshot.cluster_role_bindings.iter().chain(snapshot.role_bindings.iter()).collect();
        Self::from_parts(roles, bindings, gaps)
    }

    /// Resolve a set of roles and bindings (`namespace == None` marks the cluster-scoped kinds).
    pub fn from_parts(roles: Vec<&'a Role>, bindings: Vec<&'a Binding>, gaps: Vec<String>) -> Self {
        let mut cluster_role_by_name = HashMap::new();
        let mut role_by_ns_name = HashMap::new();
        for (i, r) in roles.iter().enumerate() {
            match &r.namespace {
                None => cluster_role_by_name.insert(r.name.as_str(), i as RoleIdx),
                Some(ns) => role_by_ns_name.insert((ns.as_str(), r.name.as_str()), i as RoleIdx),
            };
        }
        let effective = resolve_aggregation(&roles);

        let mut binding_role = Vec::with_capacity(bindings.len());
        let mut cluster_bindings = Vec::new();
        let mut bindings_by_namespace: HashMap<&str, Vec<BindingIdx>> = HashMap::new();
        for (i, b) in bindings.iter().enumerate() {
            let bi = i as BindingIdx;
            let role = match (b.role_ref.kind.as_str(), &b.namespace) {
                ("ClusterRole", _) => cluster_role_by_name.get(b.role_ref.name.as_str()).copied(),
                ("Role", Some(ns)) => role_by_ns_name.get(&(ns.as_str(), b.role_ref.name.as_str())).copied(),
                // A ClusterRoleBinding cannot reference a Role; the API server rejects it.
                _ => None,
            };
            binding_role.push(role);
            match &b.namespace {
                None => cluster_bindings.push(bi),
                Some(ns) => bindings_by_namespace.entry(ns.as_str()).or_default().push(bi),
            }
        }
        Rbac {
            roles,
            bindings,
            cluster_role_by_name,
            role_by_ns_name,
            effective,
            binding_role,
            cluster_bindings,
            bindings_by_namespace,
            subjects: std::sync::OnceLock::new(),
            gaps,
        }
    }

    fn subject_index(&self) -> &HashMap<SubjectKey<'a>, Vec<(BindingIdx, u32)>> {
        self.subjects.get_or_init(|| {
            let mut subjects: HashMap<SubjectKey<'a>, Vec<(BindingIdx, u32)>> = HashMap::new();
            for (bi, b) in self.bindings.iter().enumerate() {
                for (si, s) in b.subjects.iter().enumerate() {
                    if let Some(key) = subject_key(s, b.namespace.as_deref()) {
                        subjects.entry(key).or_default().push((bi as BindingIdx, si as u32));
                    }
                }
            }
            subjects
        })
    }

    /// Why the RBAC evidence is incomplete (empty when every group was collected completely).
    pub fn gaps(&self) -> &[String] {
        &self.gaps
    }

    pub fn is_complete(&self) -> bool {
        self.gaps.is_empty()
    }

    /// The rule a [`RuleId`] points at.
    pub fn rule(&self, id: RuleId) -> &'a PolicyRule {
        &self.roles[id.role as usize].rules[id.rule as usize]
    }

    /// The effective rules of a role (aggregation applied).
    pub fn effective_rules(&self, role: RoleIdx) -> &[RuleId] {
        &self.effective[role as usize]
    }

    /// The role a binding references, if it exists in the snapshot.
    pub fn binding_role(&self, binding: BindingIdx) -> Option<RoleIdx> {
        self.binding_role[binding as usize]
    }

    /// A ClusterRole by name.
    pub fn cluster_role(&self, name: &str) -> Option<RoleIdx> {
        self.cluster_role_by_name.get(name).copied()
    }

    /// A Role by namespace and name.
    pub fn namespaced_role(&self, namespace: &str, name: &str) -> Option<RoleIdx> {
        self.role_by_ns_name.get(&(namespace, name)).copied()
    }

    /// Where a binding's grant applies.
    pub fn binding_scope(&self, binding: BindingIdx) -> Scope {
        match &self.bindings[binding as usize].namespace {
            None => Scope::Cluster,
            Some(ns) => Scope::Namespace(ns.clone()),
        }
    }

    /// The subject as the authorizer reads it: a ServiceAccount subject without a namespace takes
    /// the RoleBinding's namespace.
    pub fn effective_subject(&self, binding: BindingIdx, subject: u32) -> Subject {
        let b = self.bindings[binding as usize];
        let mut s = b.subjects[subject as usize].clone();
        if s.kind == "ServiceAccount" && s.namespace.as_deref().unwrap_or("").is_empty() {
            s.namespace = b.namespace.clone();
        }
        s
    }

    /// Whether `identity` may perform `request`, exactly as the API server decides it
    /// (system:masters first, then ClusterRoleBindings, then RoleBindings of the request's
    /// namespace). Returns the grant that allows it.
    pub fn authorize(&self, identity: &Identity, request: &Request) -> Decision {
        if identity.is_superuser() {
            return Decision::Superuser;
        }
        let mut scopes: Vec<&[BindingIdx]> = vec![&self.cluster_bindings];
        // Non-resource requests carry no namespace, so only ClusterRoleBindings apply.
        if let Some(ns) = request.namespace().filter(|ns| !ns.is_empty()) {
            if let Some(list) = self.bindings_by_namespace.get(ns) {
                scopes.push(list);
            }
        }
        for list in scopes {
            for &bi in list {
                let b = self.bindings[bi as usize];
                let Some(si) =
                    b.subjects.iter().position(|s| applies_to(identity, s, b.namespace.as_deref()))
                else {
                    continue;
                };
                let Some(role) = self.binding_role[bi as usize] else { continue };
                for &rid in &self.effective[role as usize] {
                    if rule_allows(self.rule(rid), request) {
                        return Decision::Allowed(GrantRef {
                            binding: bi,
                            subject: si as u32,
                            role,
                            rule: rid,
                        });
                    }
                }
            }
        }
        Decision::Denied
    }

    /// Every binding that applies to `identity`, with the role and where it applies.
    pub fn bindings_of(&self, identity: &Identity) -> Vec<(BindingIdx, u32)> {
        let mut keys: Vec<SubjectKey> = Vec::new();
        if let Some(user) = &identity.user {
            match user.strip_prefix(SA_USER_PREFIX).and_then(|r| r.split_once(':')) {
                Some((ns, name)) => keys.push(SubjectKey::ServiceAccount(ns, name)),
                None => keys.push(SubjectKey::User(user)),
            }
        }
        keys.extend(identity.groups.iter().map(|g| SubjectKey::Group(g)));
        let mut out: Vec<(BindingIdx, u32)> =
            keys.iter().filter_map(|k| self.subject_index().get(k)).flatten().copied().collect();
        out.sort_unstable();
        out.dedup_by_key(|(b, _)| *b);
        out
    }

    /// What `identity` can do: every grant with its binding, role, scope and rules.
    pub fn permissions_of(&self, identity: &Identity) -> Permissions {
        let grants = self
            .bindings_of(identity)
            .into_iter()
            .map(|(bi, si)| {
                let b = self.bindings[bi as usize];
                let role = self.binding_role[bi as usize];
                GrantView {
                    binding: BindingView::of(b),
                    via_subject: self.effective_subject(bi, si),
                    role: RoleView::of_ref(b, role.map(|r| self.roles[r as usize])),
                    scope: self.binding_scope(bi),
                    rules: role
                        .map(|r| {
                            self.effective[r as usize].iter().map(|&id| RuleView::of(self, id)).collect()
                        })
                        .unwrap_or_default(),
                    missing_role: role.is_none(),
                    system_default: system_grant(b, &self.effective_subject(bi, si)).map(str::to_string),
                }
            })
            .collect();
        Permissions {
            identity: identity.clone(),
            superuser: identity.is_superuser(),
            grants,
            gaps: self.gaps.clone(),
        }
    }

    /// The (binding, subject) pairs bound to `role` in the snapshot.
    pub fn bindings_to(&self, role: RoleIdx) -> impl Iterator<Item = BindingIdx> + '_ {
        self.binding_role
            .iter()
            .enumerate()
            .filter(move |(_, r)| **r == Some(role))
            .map(|(i, _)| i as BindingIdx)
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

fn subject_key<'a>(s: &'a Subject, binding_ns: Option<&'a str>) -> Option<SubjectKey<'a>> {
    match s.kind.as_str() {
        "User" => match s.name.strip_prefix(SA_USER_PREFIX).and_then(|r| r.split_once(':')) {
            // The SA's user name written as a User subject matches the SA itself.
            Some((ns, name)) => Some(SubjectKey::ServiceAccount(ns, name)),
            None => Some(SubjectKey::User(&s.name)),
        },
        "Group" => Some(SubjectKey::Group(&s.name)),
        "ServiceAccount" => {
            let ns = s.namespace.as_deref().filter(|n| !n.is_empty()).or(binding_ns)?;
            Some(SubjectKey::ServiceAccount(ns, &s.name))
        }
        _ => None,
    }
}

/// `appliesToUser` of the RBAC rule resolver.
fn applies_to(identity: &Identity, s: &Subject, binding_ns: Option<&str>) -> bool {
    match s.kind.as_str() {
        "User" => identity.user.as_deref() == Some(s.name.as_str()),
        "Group" => identity.groups.contains(&s.name),
        "ServiceAccount" => {
            let Some(ns) = s.namespace.as_deref().filter(|n| !n.is_empty()).or(binding_ns) else {
                return false;
            };
            identity.user.as_deref().and_then(|u| u.strip_prefix(SA_USER_PREFIX)).is_some_and(|rest| {
                rest.len() == ns.len() + 1 + s.name.len()
                    && rest.starts_with(ns)
                    && rest.as_bytes()[ns.len()] == b':'
                    && rest.ends_with(s.name.as_str())
            })
        }
        _ => false,
    }
}

fn rule_hash(rule: &PolicyRule) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (&rule.verbs, &rule.api_groups, &rule.resources, &rule.resource_names, &rule.non_resource_urls)
        .hash(&mut h);
    h.finish()
}

/// Compute every role's effective rules, applying ClusterRole aggregation to its fixed point.
fn resolve_aggregation(roles: &[&Role]) -> Vec<Vec<RuleId>> {
    let mut effective: Vec<Vec<RuleId>> = roles
        .iter()
        .enumerate()
        .map(|(i, r)| {
            if r.namespace.is_none() && r.aggregation.is_some() {
                Vec::new()
            } else {
                (0..r.rules.len() as u32).map(|rule| RuleId { role: i as RoleIdx, rule }).collect()
            }
        })
        .collect();
    let aggregated: Vec<usize> = (0..roles.len())
        .filter(|&i| roles[i].namespace.is_none() && roles[i].aggregation.is_some())
        .collect();
    if aggregated.is_empty() {
        return effective;
    }
    // Members of each aggregated role: every other ClusterRole a selector matches, by name.
    let members: Vec<Vec<usize>> = aggregated
        .iter()
        .map(|&a| {
            let selectors = roles[a].aggregation.as_deref().unwrap_or_default();
            let mut m: Vec<usize> = (0..roles.len())
                .filter(|&c| {
                    c != a
                        && roles[c].namespace.is_none()
                        && selectors.iter().any(|s| s.matches(&roles[c].labels))
                })
                .collect();
            m.sort_by(|x, y| roles[*x].name.cmp(&roles[*y].name));
            m
        })
        .collect();
    // Each pass can only add rules, so at most |aggregated| + 1 passes reach the fixed point.
    for _ in 0..=aggregated.len() {
        let mut changed = false;
        for (k, &a) in aggregated.iter().enumerate() {
            let mut union: Vec<RuleId> = Vec::new();
            // Rules are compared by content (as the controller does), through a hash to stay
            // linear for roles that aggregate hundreds of rules.
            let mut seen: HashMap<u64, Vec<RuleId>> = HashMap::new();
            for &m in &members[k] {
                for &id in &effective[m] {
                    let rule = &roles[id.role as usize].rules[id.rule as usize];
                    let same = seen.entry(rule_hash(rule)).or_default();
                    if !same.iter().any(|u| roles[u.role as usize].rules[u.rule as usize] == *rule) {
                        same.push(id);
                        union.push(id);
                    }
                }
            }
            if union != effective[a] {
                effective[a] = union;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    effective
}

// ---------------------------------------------------------------------------------------------
// Views (serializable answers for the CLI and the API)

/// A binding as shown to a user.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, utoipa::ToSchema)]
pub struct BindingView {
    /// `ClusterRoleBinding` or `RoleBinding`.
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
}

impl BindingView {
    pub fn of(b: &Binding) -> Self {
        BindingView {
            kind: if b.namespace.is_some() { "RoleBinding" } else { "ClusterRoleBinding" },
            namespace: b.namespace.clone(),
            name: b.name.clone(),
        }
    }
}

impl fmt::Display for BindingView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{} {}/{}", self.kind, ns, self.name),
            None => write!(f, "{} {}", self.kind, self.name),
        }
    }
}

/// A role as shown to a user.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, utoipa::ToSchema)]
pub struct RoleView {
    /// `ClusterRole` or `Role`.
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
}

impl RoleView {
    pub fn of(r: &Role) -> Self {
        RoleView {
            kind: if r.namespace.is_some() { "Role" } else { "ClusterRole" }.to_string(),
            namespace: r.namespace.clone(),
            name: r.name.clone(),
        }
    }

    fn of_ref(b: &Binding, role: Option<&Role>) -> Self {
        match role {
            Some(r) => Self::of(r),
            None => RoleView {
                kind: b.role_ref.kind.clone(),
                namespace: if b.role_ref.kind == "Role" { b.namespace.clone() } else { None },
                name: b.role_ref.name.clone(),
            },
        }
    }
}

impl fmt::Display for RoleView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{} {}/{}", self.kind, ns, self.name),
            None => write!(f, "{} {}", self.kind, self.name),
        }
    }
}

/// A rule as shown to a user, with the ClusterRole it was aggregated from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RuleView {
    #[schema(value_type = Object)]
    pub rule: PolicyRule,
    /// The role that declares the rule (differs from the bound role under aggregation).
    pub from: String,
}

impl RuleView {
    pub fn of(rbac: &Rbac, id: RuleId) -> Self {
        RuleView { rule: rbac.rule(id).clone(), from: rbac.roles[id.role as usize].name.clone() }
    }
}

/// A rule in the compact form used in evidence: `verbs=[get,list] apiGroups=[""] resources=[secrets]`.
pub fn describe_rule(rule: &PolicyRule) -> String {
    fn list(items: &[String]) -> String {
        items.iter().map(|s| if s.is_empty() { "\"\"" } else { s.as_str() }).collect::<Vec<_>>().join(",")
    }
    let mut out = format!("verbs=[{}]", list(&rule.verbs));
    if !rule.non_resource_urls.is_empty() {
        out.push_str(&format!(" nonResourceURLs=[{}]", list(&rule.non_resource_urls)));
    }
    if !rule.resources.is_empty() || !rule.api_groups.is_empty() {
        out.push_str(&format!(
            " apiGroups=[{}] resources=[{}]",
            list(&rule.api_groups),
            list(&rule.resources)
        ));
    }
    if !rule.resource_names.is_empty() {
        out.push_str(&format!(" resourceNames=[{}]", list(&rule.resource_names)));
    }
    out
}

/// A subject in words: `ServiceAccount ci/deployer`, `User alice`, `Group system:authenticated`.
pub fn describe_subject(s: &Subject) -> String {
    match (&s.kind[..], &s.namespace) {
        ("ServiceAccount", Some(ns)) => format!("ServiceAccount {ns}/{}", s.name),
        _ => format!("{} {}", s.kind, s.name),
    }
}

/// One grant to a subject.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct GrantView {
    pub binding: BindingView,
    /// The subject of the binding that matched (the identity itself or one of its groups).
    #[schema(value_type = Object)]
    pub via_subject: Subject,
    pub role: RoleView,
    pub scope: Scope,
    pub rules: Vec<RuleView>,
    /// The referenced role does not exist: the binding grants nothing.
    pub missing_role: bool,
    /// Set when the grant is a known Kubernetes / kubeadm default, naming it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system_default: Option<String>,
}

/// What a subject can do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Permissions {
    pub identity: Identity,
    /// In `system:masters`: every request is allowed regardless of RBAC.
    pub superuser: bool,
    pub grants: Vec<GrantView>,
    /// Why the answer may be incomplete.
    pub gaps: Vec<String>,
}

// ---------------------------------------------------------------------------------------------
// Who can

/// One subject that may perform the asked request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct WhoCanEntry {
    #[schema(value_type = Object)]
    pub subject: Subject,
    pub binding: BindingView,
    pub role: RoleView,
    pub scope: Scope,
    /// The first rule (in the role's order) that grants the request.
    pub rule: RuleView,
    /// Set when the grant is a known Kubernetes / kubeadm default, naming it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system_default: Option<String>,
}

/// The answer to "who can VERB RESOURCE [in NAMESPACE]".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct WhoCan {
    /// The request in words.
    pub request: String,
    /// Subjects allowed by RBAC (every member of a Group subject is allowed).
    pub allowed: Vec<WhoCanEntry>,
    /// Subjects allowed only for specific object names (the rule has `resourceNames`); they may
    /// not perform the request on an unnamed object (list, create, watch of all).
    pub only_named: Vec<WhoCanEntry>,
    /// Always true: members of `system:masters` bypass RBAC.
    pub system_masters_bypass: bool,
    /// Why the answer may be incomplete.
    pub gaps: Vec<String>,
}

const CLUSTER_SCOPE: u32 = 0;

/// Indexes over an [`Rbac`] graph that make "who can" a handful of hash lookups.
pub struct WhoCanIndex<'r, 'a> {
    rbac: &'r Rbac<'a>,
    strings: HashMap<&'a str, u32>,
    /// (scope of the role, verb, resource as written in the rule) → (role, rule).
    rules: HashMap<(u32, u32, u32), Vec<(RoleIdx, RuleId)>>,
    /// Roles whose effective rules carry nonResourceURLs (only ClusterRoles are consulted).
    non_resource: Vec<(RoleIdx, RuleId)>,
    /// (scope of the binding, role) → bindings.
    bindings: HashMap<(u32, RoleIdx), Vec<BindingIdx>>,
}

impl<'r, 'a> WhoCanIndex<'r, 'a> {
    /// Build the indexes (one pass over every effective rule and binding).
    pub fn build(rbac: &'r Rbac<'a>) -> Self {
        let mut strings: HashMap<&'a str, u32> = HashMap::new();
        let mut intern = |s: &'a str| -> u32 {
            let next = strings.len() as u32 + 1;
            *strings.entry(s).or_insert(next)
        };
        let mut rules: HashMap<(u32, u32, u32), Vec<(RoleIdx, RuleId)>> = HashMap::new();
        let mut non_resource = Vec::new();
        for (ri, role) in rbac.roles.iter().enumerate() {
            let scope = match &role.namespace {
                None => CLUSTER_SCOPE,
                Some(ns) => intern(ns),
            };
            for &rid in &rbac.effective[ri] {
                let rule = rbac.rule(rid);
                if !rule.non_resource_urls.is_empty() && scope == CLUSTER_SCOPE {
                    non_resource.push((ri as RoleIdx, rid));
                }
                for verb in &rule.verbs {
                    let v = intern(verb);
                    for res in &rule.resources {
                        let r = intern(res);
                        rules.entry((scope, v, r)).or_default().push((ri as RoleIdx, rid));
                    }
                }
            }
        }
        let mut bindings: HashMap<(u32, RoleIdx), Vec<BindingIdx>> = HashMap::new();
        for (bi, b) in rbac.bindings.iter().enumerate() {
            let Some(role) = rbac.binding_role[bi] else { continue };
            let scope = match &b.namespace {
                None => CLUSTER_SCOPE,
                Some(ns) => intern(ns),
            };
            bindings.entry((scope, role)).or_default().push(bi as BindingIdx);
        }
        WhoCanIndex { rbac, strings, rules, non_resource, bindings }
    }

    /// Every subject RBAC allows to perform `request`, with the binding, role and rule.
    pub fn who_can(&self, request: &Request) -> WhoCan {
        let rbac = self.rbac;
        // (binding, role, rule, only named)
        let mut hits: Vec<(BindingIdx, RoleIdx, RuleId, bool)> = Vec::new();
        match &request.target {
            Target::NonResource { .. } => {
                for &(role, rid) in &self.non_resource {
                    if rule_allows(rbac.rule(rid), request) {
                        for &b in self.bindings.get(&(CLUSTER_SCOPE, role)).into_iter().flatten() {
                            hits.push((b, role, rid, false));
                        }
                    }
                }
            }
            Target::Resource { resource, subresource, namespace, .. } => {
                let ns_scope = namespace.as_deref().filter(|n| !n.is_empty()).map(|n| self.lookup(n));
                let combined;
                let star_sub;
                let mut resources: Vec<&str> = vec!["*"];
                match subresource {
                    Some(sub) => {
                        combined = format!("{resource}/{sub}");
                        star_sub = format!("*/{sub}");
                        resources.push(&combined);
                        resources.push(&star_sub);
                    }
                    None => resources.push(resource),
                }
                let verbs = [request.verb.as_str(), "*"];
                let mut role_scopes = vec![CLUSTER_SCOPE];
                if let Some(Some(s)) = ns_scope {
                    role_scopes.push(s);
                }
                let mut candidates: Vec<(RoleIdx, RuleId)> = Vec::new();
                for &scope in &role_scopes {
                    for v in verbs {
                        let Some(v) = self.lookup(v) else { continue };
                        for r in &resources {
                            let Some(r) = self.lookup(r) else { continue };
                            if let Some(list) = self.rules.get(&(scope, v, r)) {
                                candidates.extend_from_slice(list);
                            }
                        }
                    }
                }
                candidates.sort_unstable();
                candidates.dedup();
                for (role, rid) in candidates {
                    let only_named = match rule_matches(rbac.rule(rid), request) {
                        RuleMatch::Allows => false,
                        RuleMatch::OnlyNamed => true,
                        RuleMatch::No => continue,
                    };
                    let is_cluster_role = rbac.roles[role as usize].namespace.is_none();
                    if is_cluster_role {
                        for &b in self.bindings.get(&(CLUSTER_SCOPE, role)).into_iter().flatten() {
                            hits.push((b, role, rid, only_named));
                        }
                    }
                    if let Some(Some(s)) = ns_scope {
                        for &b in self.bindings.get(&(s, role)).into_iter().flatten() {
                            hits.push((b, role, rid, only_named));
                        }
                    }
                }
            }
        }
        // The first granting rule of each binding, in the role's rule order; a full grant wins over
        // a names-only grant.
        hits.sort_unstable_by_key(|&(b, _, rid, only)| (b, only, rid));
        hits.dedup_by_key(|h| h.0);
        let mut allowed = Vec::new();
        let mut only_named = Vec::new();
        for (bi, role, rid, only) in hits {
            let b = rbac.bindings[bi as usize];
            for si in 0..b.subjects.len() as u32 {
                let subject = rbac.effective_subject(bi, si);
                if subject_key(&b.subjects[si as usize], b.namespace.as_deref()).is_none() {
                    continue;
                }
                let entry = WhoCanEntry {
                    system_default: system_grant(b, &subject).map(str::to_string),
                    subject,
                    binding: BindingView::of(b),
                    role: RoleView::of(rbac.roles[role as usize]),
                    scope: rbac.binding_scope(bi),
                    rule: RuleView::of(rbac, rid),
                };
                if only {
                    only_named.push(entry)
                } else {
                    allowed.push(entry)
                }
            }
        }
        let key = |e: &WhoCanEntry| (e.subject.clone(), e.binding.clone());
        allowed.sort_by_key(key);
        only_named.sort_by_key(key);
        WhoCan {
            request: request.to_string(),
            allowed,
            only_named,
            system_masters_bypass: true,
            gaps: rbac.gaps.clone(),
        }
    }

    fn lookup(&self, s: &str) -> Option<u32> {
        self.strings.get(s).copied()
    }
}

// ---------------------------------------------------------------------------------------------
// Known system grants

/// A default grant the API server's bootstrap policy or kubeadm creates: binding kind and name
/// (a trailing `*` matches a prefix), the role it references, and the subjects it is made to.
struct DefaultGrant {
    cluster_scoped: bool,
    binding: &'static str,
    role: &'static str,
    subjects: &'static [(&'static str, &'static str)],
    why: &'static str,
}

/// `ServiceAccount` subjects are written `ServiceAccount` + `namespace/name`; `{controller}` in a
/// `system:controller:*` binding stands for the part of the binding name after the prefix.
const DEFAULT_GRANTS: &[DefaultGrant] = &[
    DefaultGrant {
        cluster_scoped: true,
        binding: "cluster-admin",
        role: "cluster-admin",
        subjects: &[("Group", "system:masters")],
        why: "bootstrap policy: system:masters is cluster-admin",
    },
    DefaultGrant {
        cluster_scoped: true,
        binding: "kubeadm:cluster-admins",
        role: "cluster-admin",
        subjects: &[("Group", "kubeadm:cluster-admins")],
        why: "kubeadm: the admin.conf group",
    },
    DefaultGrant {
        cluster_scoped: true,
        binding: "system:basic-user",
        role: "system:basic-user",
        subjects: &[("Group", "system:authenticated")],
        why: "bootstrap policy: self-subject reviews for every user",
    },
    DefaultGrant {
        cluster_scoped: true,
        binding: "system:discovery",
        role: "system:discovery",
        subjects: &[("Group", "system:authenticated")],
        why: "bootstrap policy: API discovery for every user",
    },
    DefaultGrant {
        cluster_scoped: true,
        binding: "system:public-info-viewer",
        role: "system:public-info-viewer",
        subjects: &[("Group", "system:authenticated"), ("Group", "system:unauthenticated")],
        why: "bootstrap policy: /healthz, /livez, /readyz, /version for everyone",
    },
    DefaultGrant {
        cluster_scoped: true,
        binding: "system:monitoring",
        role: "system:monitoring",
        subjects: &[("Group", "system:monitoring")],
        why: "bootstrap policy: health and metrics endpoints",
    },
    DefaultGrant {
        cluster_scoped: true,
        binding: "system:service-account-issuer-discovery",
        role: "system:service-account-issuer-discovery",
        subjects: &[("Group", "system:serviceaccounts")],
        why: "bootstrap policy: OIDC discovery of the service-account issuer",
    },
    DefaultGrant {
        cluster_scoped: true,
        binding: "system:kube-controller-manager",
        role: "system:kube-controller-manager",
        subjects: &[("User", "system:kube-controller-manager")],
        why: "bootstrap policy: kube-controller-manager",
    },
    DefaultGrant {
        cluster_scoped: true,
        binding: "system:kube-scheduler",
        role: "system:kube-scheduler",
        subjects: &[("User", "system:kube-scheduler")],
        why: "bootstrap policy: kube-scheduler",
    },
    DefaultGrant {
        cluster_scoped: true,
        binding: "system:volume-scheduler",
        role: "system:volume-scheduler",
        subjects: &[("User", "system:kube-scheduler")],
        why: "bootstrap policy: kube-scheduler volume binding",
    },
    DefaultGrant {
        cluster_scoped: true,
        binding: "system:node-proxier",
        role: "system:node-proxier",
        subjects: &[("User", "system:kube-proxy")],
        why: "bootstrap policy: kube-proxy",
    },
    DefaultGrant {
        cluster_scoped: true,
        binding: "system:node",
        role: "system:node",
        subjects: &[("Group", "system:nodes")],
        why: "bootstrap policy: kubelets (normally empty: the Node authorizer decides)",
    },
    DefaultGrant {
        cluster_scoped: true,
        binding: "system:kube-dns",
        role: "system:kube-dns",
        subjects: &[("ServiceAccount", "kube-system/kube-dns")],
        why: "bootstrap policy: kube-dns",
    },
    DefaultGrant {
        cluster_scoped: true,
        binding: "system:controller:*",
        role: "system:controller:*",
        subjects: &[("ServiceAccount", "kube-system/{controller}")],
        why: "bootstrap policy: a kube-controller-manager controller's service account",
    },
    DefaultGrant {
        cluster_scoped: true,
        binding: "kubeadm:kubelet-bootstrap",
        role: "system:node-bootstrapper",
        subjects: &[("Group", "system:bootstrappers:kubeadm:default-node-token")],
        why: "kubeadm: node TLS bootstrap",
    },
    DefaultGrant {
        cluster_scoped: true,
        binding: "kubeadm:node-autoapprove-bootstrap",
        role: "system:certificates.k8s.io:certificatesigningrequests:nodeclient",
        subjects: &[("Group", "system:bootstrappers:kubeadm:default-node-token")],
        why: "kubeadm: auto-approval of node client certificates",
    },
    DefaultGrant {
        cluster_scoped: true,
        binding: "kubeadm:node-autoapprove-certificate-rotation",
        role: "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient",
        subjects: &[("Group", "system:nodes")],
        why: "kubeadm: kubelet client certificate rotation",
    },
    DefaultGrant {
        cluster_scoped: true,
        binding: "kubeadm:get-nodes",
        role: "kubeadm:get-nodes",
        subjects: &[("Group", "system:bootstrappers:kubeadm:default-node-token")],
        why: "kubeadm: joining nodes read the node list",
    },
    DefaultGrant {
        cluster_scoped: true,
        binding: "kubeadm:node-proxier",
        role: "system:node-proxier",
        subjects: &[("ServiceAccount", "kube-system/kube-proxy")],
        why: "kubeadm: the kube-proxy DaemonSet",
    },
    DefaultGrant {
        cluster_scoped: true,
        binding: "system:coredns",
        role: "system:coredns",
        subjects: &[("ServiceAccount", "kube-system/coredns")],
        why: "kubeadm: CoreDNS",
    },
    DefaultGrant {
        cluster_scoped: false,
        binding: "kube-system/kubeadm:kubelet-config*",
        role: "kubeadm:kubelet-config*",
        subjects: &[("Group", "system:nodes"), ("Group", "system:bootstrappers:kubeadm:default-node-token")],
        why: "kubeadm: nodes read the kubelet configuration",
    },
    DefaultGrant {
        cluster_scoped: false,
        binding: "kube-system/kubeadm:nodes-kubeadm-config",
        role: "kubeadm:nodes-kubeadm-config",
        subjects: &[("Group", "system:nodes"), ("Group", "system:bootstrappers:kubeadm:default-node-token")],
        why: "kubeadm: nodes read the kubeadm configuration",
    },
    DefaultGrant {
        cluster_scoped: false,
        binding: "kube-system/kube-proxy",
        role: "kube-proxy",
        subjects: &[("Group", "system:bootstrappers:kubeadm:default-node-token")],
        why: "kubeadm: joining nodes read the kube-proxy configuration",
    },
    DefaultGrant {
        cluster_scoped: false,
        binding: "kube-public/kubeadm:bootstrap-signer-clusterinfo",
        role: "kubeadm:bootstrap-signer-clusterinfo",
        subjects: &[("User", "system:anonymous")],
        why: "kubeadm: anonymous read of the cluster-info ConfigMap for node join",
    },
    DefaultGrant {
        cluster_scoped: false,
        binding: "kube-system/system::extension-apiserver-authentication-reader",
        role: "extension-apiserver-authentication-reader",
        subjects: &[("User", "system:kube-controller-manager"), ("User", "system:kube-scheduler")],
        why: "bootstrap policy: components read the front-proxy CA",
    },
    DefaultGrant {
        cluster_scoped: false,
        binding: "kube-system/system::leader-locking-kube-controller-manager",
        role: "system::leader-locking-kube-controller-manager",
        subjects: &[
            ("User", "system:kube-controller-manager"),
            ("ServiceAccount", "kube-system/kube-controller-manager"),
            ("ServiceAccount", "kube-system/leader-election-controller"),
        ],
        why: "bootstrap policy: controller-manager leader election",
    },
    DefaultGrant {
        cluster_scoped: false,
        binding: "kube-system/system::leader-locking-kube-scheduler",
        role: "system::leader-locking-kube-scheduler",
        subjects: &[("User", "system:kube-scheduler"), ("ServiceAccount", "kube-system/kube-scheduler")],
        why: "bootstrap policy: scheduler leader election",
    },
    DefaultGrant {
        cluster_scoped: false,
        binding: "kube-system/system:controller:*",
        role: "system:controller:*",
        subjects: &[("ServiceAccount", "kube-system/{controller}")],
        why: "bootstrap policy: a controller's namespaced grant",
    },
    DefaultGrant {
        cluster_scoped: false,
        binding: "kube-public/system:controller:bootstrap-signer",
        role: "system:controller:bootstrap-signer",
        subjects: &[("ServiceAccount", "kube-system/bootstrap-signer")],
        why: "bootstrap policy: the bootstrap signer signs cluster-info",
    },
];

/// Service accounts of well-known cluster add-ons (network plugins, DNS, metrics) that need broad
/// grants to work. They are recognized only in the namespaces those add-ons install into, which
/// only cluster administrators can write to.
const KNOWN_ADDON_SERVICE_ACCOUNTS: &[(&str, &str)] = &[
    ("kube-system", "calico-node"),
    ("kube-system", "calico-kube-controllers"),
    ("kube-system", "calico-cni-plugin"),
    ("calico-system", "calico-node"),
    ("calico-system", "calico-kube-controllers"),
    ("calico-system", "calico-cni-plugin"),
    ("calico-system", "calico-typha"),
    ("tigera-operator", "tigera-operator"),
    ("kube-system", "cilium"),
    ("kube-system", "cilium-operator"),
    ("kube-flannel", "flannel"),
    ("kube-system", "flannel"),
    ("kube-system", "weave-net"),
    ("kube-system", "antrea-agent"),
    ("kube-system", "antrea-controller"),
    ("kube-system", "kube-router"),
    ("kube-system", "canal"),
    ("kube-system", "coredns"),
    ("kube-system", "kube-proxy"),
    ("kube-system", "metrics-server"),
];

fn pattern_match(pattern: &str, value: &str) -> Option<String> {
    match pattern.strip_suffix('*') {
        Some(prefix) => value.strip_prefix(prefix).map(str::to_string),
        None => (pattern == value).then(String::new),
    }
}

/// If `subject` of `binding` is a known default grant of Kubernetes' bootstrap policy, kubeadm or
/// a well-known add-on, say which (a short reason); `None` for everything else.
///
/// Recognition is per (binding, role, subject): an extra subject added to a default binding (a
/// classic backdoor: a user appended to `cluster-admin`) is not recognized.
pub fn system_grant(binding: &Binding, subject: &Subject) -> Option<&'static str> {
    let full_name = match &binding.namespace {
        Some(ns) => format!("{ns}/{}", binding.name),
        None => binding.name.clone(),
    };
    let role_kind = if binding.namespace.is_none() { "ClusterRole" } else { "Role" };
    for g in DEFAULT_GRANTS {
        if g.cluster_scoped != binding.namespace.is_none() || binding.role_ref.kind != role_kind {
            continue;
        }
        let Some(suffix) = pattern_match(g.binding, &full_name) else { continue };
        let Some(role_suffix) = pattern_match(g.role, &binding.role_ref.name) else { continue };
        // `system:controller:X` must reference `system:controller:X` (same for versioned names).
        if role_suffix != suffix {
            continue;
        }
        for (kind, name) in g.subjects {
            if subject.kind != *kind {
                continue;
            }
            let matches = if *kind == "ServiceAccount" {
                let (ns, sa) = name.split_once('/').unwrap_or(("", name));
                let sa = if *sa == *"{controller}" { suffix.as_str() } else { sa };
                subject.namespace.as_deref() == Some(ns) && subject.name == sa
            } else {
                subject.name == *name
            };
            if matches {
                return Some(g.why);
            }
        }
    }
    // Amazon EKS: the provider's own components are users and groups named `eks:*`, bound by
    // `eks:*` bindings to `eks:*` roles. Grants to anyone else on such a binding are not recognized.
    if binding.name.starts_with("eks:")
        && binding.role_ref.name.starts_with("eks:")
        && matches!(subject.kind.as_str(), "User" | "Group")
        && subject.name.starts_with("eks:")
    {
        return Some("Amazon EKS: the managed control plane's own component");
    }
    if subject.kind == "ServiceAccount" {
        let ns = subject.namespace.as_deref().unwrap_or("");
        if KNOWN_ADDON_SERVICE_ACCOUNTS.iter().any(|(n, s)| *n == ns && *s == subject.name) {
            return Some("well-known cluster add-on service account");
        }
    }
    None
}

/// Every known system grant in the snapshot, as `binding → subject (reason)` lines, for the single
/// informational result.
pub fn system_grants(rbac: &Rbac) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (bi, b) in rbac.bindings.iter().enumerate() {
        for si in 0..b.subjects.len() as u32 {
            let s = rbac.effective_subject(bi as BindingIdx, si);
            if system_grant(b, &s).is_some() {
                out.entry(BindingView::of(b).to_string()).or_default().insert(describe_subject(&s));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    //! The expected answers below were worked out by hand from the Kubernetes RBAC documentation
    //! ("Using RBAC Authorization": Role and ClusterRole examples, RoleBinding to a ClusterRole,
    //! referring to resources and subresources, resourceNames, aggregated ClusterRoles, service
    //! account groups, default roles and bindings), not from this code's output.
    use super::*;
    use crate::snapshot::{LabelSelector, RoleRef};

    fn s(items: &[&str]) -> Vec<String> {
        items.iter().map(|x| x.to_string()).collect()
    }

    pub(crate) fn rule(verbs: &[&str], groups: &[&str], resources: &[&str]) -> PolicyRule {
        PolicyRule { verbs: s(verbs), api_groups: s(groups), resources: s(resources), ..Default::default() }
    }

    fn role(ns: Option<&str>, name: &str, rules: Vec<PolicyRule>) -> Role {
        Role {
            namespace: ns.map(str::to_string),
            name: name.into(),
            labels: Default::default(),
            rules,
            aggregation: None,
        }
    }

    fn subject(kind: &str, name: &str, ns: Option<&str>) -> Subject {
        Subject { kind: kind.into(), name: name.into(), namespace: ns.map(str::to_string) }
    }

    fn binding(ns: Option<&str>, name: &str, role_kind: &str, role: &str, subjects: Vec<Subject>) -> Binding {
        Binding {
            namespace: ns.map(str::to_string),
            name: name.into(),
            role_ref: RoleRef { kind: role_kind.into(), name: role.into() },
            subjects,
        }
    }

    fn user(name: &str) -> Identity {
        Identity::user(name, &[])
    }

    fn can(rbac: &Rbac, who: &Identity, req: Request) -> bool {
        rbac.authorize(who, &req).is_allowed()
    }

    #[test]
    fn a_role_binding_grants_only_in_its_namespace() {
        let roles =
            [role(Some("default"), "pod-reader", vec![rule(&["get", "watch", "list"], &[""], &["pods"])])];
        let bindings = [binding(
            Some("default"),
            "read-pods",
            "Role",
            "pod-reader",
            vec![subject("User", "jane", None)],
        )];
        let rbac = Rbac::from_parts(roles.iter().collect(), bindings.iter().collect(), vec![]);
        let jane = user("jane");
        assert!(can(&rbac, &jane, Request::resource("get", "", "pods", Some("default"))));
        assert!(can(&rbac, &jane, Request::resource("list", "", "pods", Some("default"))));
        assert!(!can(&rbac, &jane, Request::resource("get", "", "pods", Some("kube-system"))));
        assert!(!can(&rbac, &jane, Request::resource("list", "", "pods", None)));
        assert!(!can(&rbac, &jane, Request::resource("delete", "", "pods", Some("default"))));
        assert!(!can(&rbac, &user("bob"), Request::resource("get", "", "pods", Some("default"))));
    }

    #[test]
    fn a_role_binding_to_a_cluster_role_is_limited_to_the_binding_namespace() {
        let roles = [role(None, "secret-reader", vec![rule(&["get", "watch", "list"], &[""], &["secrets"])])];
        let bindings = [
            binding(
                Some("development"),
                "read-secrets",
                "ClusterRole",
                "secret-reader",
                vec![subject("User", "dave", None)],
            ),
            binding(
                None,
                "read-secrets-global",
                "ClusterRole",
                "secret-reader",
                vec![subject("Group", "manager", None)],
            ),
        ];
        let rbac = Rbac::from_parts(roles.iter().collect(), bindings.iter().collect(), vec![]);
        let dave = user("dave");
        assert!(can(&rbac, &dave, Request::resource("get", "", "secrets", Some("development"))));
        assert!(!can(&rbac, &dave, Request::resource("get", "", "secrets", Some("production"))));
        assert!(!can(&rbac, &dave, Request::resource("list", "", "secrets", None)));
        let manager = Identity::user("erin", &s(&["manager"]));
        assert!(can(&rbac, &manager, Request::resource("list", "", "secrets", None)));
        assert!(can(&rbac, &manager, Request::resource("get", "", "secrets", Some("production"))));

        let index = WhoCanIndex::build(&rbac);
        let dev = index.who_can(&Request::resource("get", "", "secrets", Some("development")));
        let names: BTreeSet<&str> = dev.allowed.iter().map(|e| e.subject.name.as_str()).collect();
        assert_eq!(names, ["dave", "manager"].into_iter().collect());
        let prod = index.who_can(&Request::resource("get", "", "secrets", Some("production")));
        assert_eq!(prod.allowed.len(), 1);
        assert_eq!(prod.allowed[0].subject.name, "manager");
        assert_eq!(prod.allowed[0].binding.name, "read-secrets-global");
        let cluster = index.who_can(&Request::resource("list", "", "secrets", None));
        assert_eq!(cluster.allowed.len(), 1, "a RoleBinding never answers a cluster-wide request");
    }

    #[test]
    fn aggregated_cluster_roles_collect_the_rules_of_matching_roles_transitively() {
        let selector = |k: &str| LabelSelector {
            match_labels: [(k.to_string(), "true".to_string())].into_iter().collect(),
            match_expressions: vec![],
        };
        let mut monitoring = role(None, "monitoring", vec![rule(&["delete"], &["*"], &["*"])]);
        // The controller replaces an aggregated role's own rules.
        monitoring.aggregation = Some(vec![selector("rbac.example.com/aggregate-to-monitoring")]);
        let mut endpoints = role(
            None,
            "monitoring-endpoints",
            vec![rule(&["get", "list", "watch"], &[""], &["services", "endpointslices", "pods"])],
        );
        endpoints.labels.insert("rbac.example.com/aggregate-to-monitoring".into(), "true".into());
        // `edit` is itself aggregated and labelled to aggregate into `monitoring`.
        let mut edit = role(None, "edit", vec![]);
        edit.aggregation = Some(vec![selector("aggregate-to-edit")]);
        edit.labels.insert("rbac.example.com/aggregate-to-monitoring".into(), "true".into());
        let mut to_edit =
            role(None, "aggregate-to-edit", vec![rule(&["create"], &["apps"], &["deployments"])]);
        to_edit.labels.insert("aggregate-to-edit".into(), "true".into());
        let unlabelled = role(None, "unrelated", vec![rule(&["get"], &[""], &["secrets"])]);
        let roles = [monitoring, endpoints, edit, to_edit, unlabelled];
        let bindings =
            [binding(None, "mon", "ClusterRole", "monitoring", vec![subject("User", "mona", None)])];
        let rbac = Rbac::from_parts(roles.iter().collect(), bindings.iter().collect(), vec![]);
        let mona = user("mona");
        assert!(can(&rbac, &mona, Request::resource("list", "", "pods", Some("a"))));
        assert!(
            can(&rbac, &mona, Request::resource("create", "apps", "deployments", Some("a"))),
            "transitive"
        );
        assert!(!can(&rbac, &mona, Request::resource("get", "", "secrets", Some("a"))));
        assert!(!can(&rbac, &mona, Request::resource("delete", "", "pods", Some("a"))), "own rules replaced");
        let idx = rbac.cluster_role("monitoring").unwrap();
        let from: BTreeSet<&str> =
            rbac.effective_rules(idx).iter().map(|r| rbac.roles[r.role as usize].name.as_str()).collect();
        assert_eq!(from, ["aggregate-to-edit", "monitoring-endpoints"].into_iter().collect());
    }

    #[test]
    fn service_account_groups_cover_every_account_of_the_namespace() {
        let roles = [role(None, "view", vec![rule(&["get", "list"], &[""], &["configmaps"])])];
        let bindings = [
            binding(
                Some("qa"),
                "qa-view",
                "ClusterRole",
                "view",
                vec![subject("Group", "system:serviceaccounts:qa", None)],
            ),
            // A ServiceAccount subject without a namespace takes the RoleBinding's.
            binding(
                Some("dev"),
                "dev-view",
                "ClusterRole",
                "view",
                vec![subject("ServiceAccount", "builder", None)],
            ),
            // In a ClusterRoleBinding it matches nothing.
            binding(None, "broken", "ClusterRole", "view", vec![subject("ServiceAccount", "builder", None)]),
        ];
        let rbac = Rbac::from_parts(roles.iter().collect(), bindings.iter().collect(), vec![]);
        let req = |ns: &str| Request::resource("list", "", "configmaps", Some(ns));
        assert!(can(&rbac, &Identity::service_account("qa", "anything"), req("qa")));
        assert!(!can(&rbac, &Identity::service_account("dev", "anything"), req("qa")));
        assert!(!can(&rbac, &user("qa-human"), req("qa")));
        assert!(can(&rbac, &Identity::service_account("dev", "builder"), req("dev")));
        assert!(can(&rbac, &user("system:serviceaccount:dev:builder"), req("dev")));
        assert!(!can(
            &rbac,
            &Identity::service_account("dev", "builder"),
            Request::resource("list", "", "configmaps", None)
        ));
        assert!(!can(&rbac, &Identity::service_account("other", "builder"), req("other")));

        let perms = rbac.permissions_of(&Identity::service_account("qa", "tester"));
        assert_eq!(perms.grants.len(), 1);
        assert_eq!(perms.grants[0].via_subject.name, "system:serviceaccounts:qa");
        let dev = rbac.permissions_of(&Identity::service_account("dev", "builder"));
        assert_eq!(dev.grants.len(), 1);
        assert_eq!(dev.grants[0].binding.name, "dev-view");
        assert_eq!(dev.grants[0].via_subject.namespace.as_deref(), Some("dev"));
    }

    #[test]
    fn resource_names_restrict_a_rule_to_named_objects() {
        let mut r = rule(&["update", "get"], &[""], &["configmaps"]);
        r.resource_names = s(&["my-configmap"]);
        let roles = [role(Some("default"), "configmap-updater", vec![r])];
        let bindings = [binding(
            Some("default"),
            "cm",
            "Role",
            "configmap-updater",
            vec![subject("User", "carl", None)],
        )];
        let rbac = Rbac::from_parts(roles.iter().collect(), bindings.iter().collect(), vec![]);
        let carl = user("carl");
        let get = || Request::resource("get", "", "configmaps", Some("default"));
        assert!(can(&rbac, &carl, get().named("my-configmap")));
        assert!(!can(&rbac, &carl, get().named("other")));
        assert!(!can(&rbac, &carl, get()), "a request without a name is not allowed by a named rule");
        assert!(!can(&rbac, &carl, Request::resource("list", "", "configmaps", Some("default"))));

        let index = WhoCanIndex::build(&rbac);
        let answer = index.who_can(&get());
        assert!(answer.allowed.is_empty());
        assert_eq!(answer.only_named.len(), 1);
        assert_eq!(index.who_can(&get().named("my-configmap")).allowed.len(), 1);
        assert!(index.who_can(&get().named("other")).only_named.is_empty());
    }

    #[test]
    fn subresources_need_their_own_grant_or_a_star_form() {
        let roles = [role(
            None,
            "pod-and-log-reader",
            vec![
                rule(&["get", "list"], &[""], &["pods", "pods/log"]),
                rule(&["update"], &["*"], &["*/scale"]),
            ],
        )];
        let bindings =
            [binding(None, "b", "ClusterRole", "pod-and-log-reader", vec![subject("User", "lee", None)])];
        let rbac = Rbac::from_parts(roles.iter().collect(), bindings.iter().collect(), vec![]);
        let lee = user("lee");
        assert!(can(&rbac, &lee, Request::resource("get", "", "pods/log", Some("a"))));
        assert!(!can(&rbac, &lee, Request::resource("create", "", "pods/exec", Some("a"))));
        assert!(!can(&rbac, &lee, Request::resource("get", "", "pods/exec", Some("a"))));
        assert!(can(&rbac, &lee, Request::resource("update", "apps", "deployments/scale", Some("a"))));
        assert!(!can(&rbac, &lee, Request::resource("update", "apps", "deployments", Some("a"))));
        let index = WhoCanIndex::build(&rbac);
        assert_eq!(
            index
                .who_can(&Request::resource("update", "apps", "statefulsets/scale", Some("x")))
                .allowed
                .len(),
            1
        );
        assert!(index.who_can(&Request::resource("get", "", "pods/exec", Some("x"))).allowed.is_empty());
    }

    #[test]
    fn non_resource_urls_match_exactly_or_by_trailing_star_prefix_and_only_cluster_wide() {
        let nr = |verbs: &[&str], urls: &[&str]| PolicyRule {
            verbs: s(verbs),
            non_resource_urls: s(urls),
            ..Default::default()
        };
        let roles = [role(None, "health", vec![nr(&["get", "post"], &["/healthz", "/healthz/*"])])];
        let bindings = [
            binding(None, "health", "ClusterRole", "health", vec![subject("Group", "ops", None)]),
            binding(Some("ns"), "health-ns", "ClusterRole", "health", vec![subject("User", "nina", None)]),
        ];
        let rbac = Rbac::from_parts(roles.iter().collect(), bindings.iter().collect(), vec![]);
        let ops = Identity::group("ops");
        assert!(can(&rbac, &ops, Request::non_resource("get", "/healthz")));
        assert!(can(&rbac, &ops, Request::non_resource("get", "/healthz/ready")));
        assert!(can(&rbac, &ops, Request::non_resource("post", "/healthz/")));
        assert!(!can(&rbac, &ops, Request::non_resource("get", "/healthzz")));
        assert!(!can(&rbac, &ops, Request::non_resource("get", "/metrics")));
        assert!(!can(&rbac, &ops, Request::non_resource("delete", "/healthz")));
        assert!(
            !can(&rbac, &user("nina"), Request::non_resource("get", "/healthz")),
            "RoleBindings do not grant URLs"
        );
        let index = WhoCanIndex::build(&rbac);
        let answer = index.who_can(&Request::non_resource("get", "/healthz/etcd"));
        assert_eq!(answer.allowed.len(), 1);
        assert_eq!(answer.allowed[0].subject.name, "ops");
    }

    #[test]
    fn anonymous_is_unauthenticated_and_masters_bypass_rbac() {
        let roles = [role(None, "r", vec![rule(&["get"], &[""], &["nodes"])])];
        let bindings =
            [binding(None, "authn", "ClusterRole", "r", vec![subject("Group", GROUP_AUTHENTICATED, None)])];
        let rbac = Rbac::from_parts(roles.iter().collect(), bindings.iter().collect(), vec![]);
        let req = || Request::resource("get", "", "nodes", None);
        assert!(can(&rbac, &user("anyone"), req()));
        assert!(can(&rbac, &Identity::service_account("x", "y"), req()));
        assert!(!can(&rbac, &Identity::anonymous(), req()));
        assert!(!can(&rbac, &user(USER_ANONYMOUS), req()));
        let root = Identity::user("root", &s(&[GROUP_MASTERS]));
        assert_eq!(
            rbac.authorize(&root, &Request::resource("delete", "", "namespaces", None)),
            Decision::Superuser
        );
    }

    #[test]
    fn wildcards_match_every_verb_group_and_resource() {
        let roles = [role(None, "cluster-admin", vec![rule(&["*"], &["*"], &["*"])])];
        let bindings =
            [binding(None, "ca", "ClusterRole", "cluster-admin", vec![subject("User", "root", None)])];
        let rbac = Rbac::from_parts(roles.iter().collect(), bindings.iter().collect(), vec![]);
        for req in [
            Request::resource("escalate", "rbac.authorization.k8s.io", "clusterroles", None),
            Request::resource("create", "", "pods/exec", Some("kube-system")),
            Request::resource("get", "", "secrets", Some("kube-system")).named("token"),
        ] {
            assert!(can(&rbac, &user("root"), req.clone()), "{req}");
            assert_eq!(WhoCanIndex::build(&rbac).who_can(&req).allowed.len(), 1, "{req}");
        }
        assert!(
            !can(&rbac, &user("root"), Request::non_resource("get", "/metrics")),
            "`*` resources are not URLs"
        );
    }

    #[test]
    fn who_can_agrees_with_the_authorizer_for_every_subject() {
        // A mixed cluster: every answer of the index must be confirmed by the authorizer, and
        // every identity the authorizer allows must be in the answer (directly or via a group).
        let roles = [
            role(
                None,
                "reader",
                vec![rule(&["get", "list"], &["", "apps"], &["pods", "deployments", "secrets"])],
            ),
            role(None, "execer", vec![rule(&["create"], &[""], &["pods/exec"])]),
            role(Some("a"), "local", vec![rule(&["*"], &[""], &["secrets"])]),
            role(Some("b"), "local", vec![rule(&["get"], &["*"], &["*"])]),
        ];
        let bindings = [
            binding(None, "r", "ClusterRole", "reader", vec![subject("User", "u1", None)]),
            binding(
                Some("a"),
                "ra",
                "ClusterRole",
                "execer",
                vec![subject("ServiceAccount", "sa1", Some("a"))],
            ),
            binding(
                Some("a"),
                "la",
                "Role",
                "local",
                vec![subject("Group", "system:serviceaccounts:a", None)],
            ),
            binding(Some("b"), "lb", "Role", "local", vec![subject("User", "u2", None)]),
            binding(Some("b"), "dangling", "Role", "missing", vec![subject("User", "u3", None)]),
        ];
        let rbac = Rbac::from_parts(roles.iter().collect(), bindings.iter().collect(), vec![]);
        let index = WhoCanIndex::build(&rbac);
        let identities = [
            user("u1"),
            user("u2"),
            user("u3"),
            Identity::service_account("a", "sa1"),
            Identity::service_account("a", "sa2"),
            Identity::service_account("b", "sa1"),
        ];
        for verb in ["get", "list", "create", "delete"] {
            for (group, res) in [("", "pods"), ("", "secrets"), ("apps", "deployments"), ("", "pods/exec")] {
                for ns in [None, Some("a"), Some("b")] {
                    let req = Request::resource(verb, group, res, ns);
                    let answer = index.who_can(&req);
                    for id in &identities {
                        let allowed = can(&rbac, id, req.clone());
                        let listed = answer
                            .allowed
                            .iter()
                            .any(|e| applies_to(id, &e.subject, e.binding.namespace.as_deref()));
                        assert_eq!(allowed, listed, "{req} for {id:?}");
                    }
                }
            }
        }
        let exec_a = index.who_can(&Request::resource("create", "", "pods/exec", Some("a")));
        assert_eq!(exec_a.allowed.len(), 1);
        assert_eq!(exec_a.allowed[0].role.name, "execer");
    }

    #[test]
    fn a_backdoor_subject_on_a_default_binding_is_not_a_system_grant() {
        let b = binding(
            None,
            "cluster-admin",
            "ClusterRole",
            "cluster-admin",
            vec![subject("Group", "system:masters", None), subject("User", "mallory", None)],
        );
        assert!(system_grant(&b, &b.subjects[0]).is_some());
        assert!(system_grant(&b, &b.subjects[1]).is_none());
        let ctrl = binding(
            None,
            "system:controller:job-controller",
            "ClusterRole",
            "system:controller:job-controller",
            vec![
                subject("ServiceAccount", "job-controller", Some("kube-system")),
                subject("ServiceAccount", "cronjob-controller", Some("kube-system")),
            ],
        );
        assert!(system_grant(&ctrl, &ctrl.subjects[0]).is_some());
        assert!(system_grant(&ctrl, &ctrl.subjects[1]).is_none());
        let renamed = binding(
            None,
            "system:controller:job-controller",
            "ClusterRole",
            "cluster-admin",
            vec![subject("ServiceAccount", "job-controller", Some("kube-system"))],
        );
        assert!(system_grant(&renamed, &renamed.subjects[0]).is_none());
    }
}
