//! Views: serializable answers for the CLI and the API.

use super::*;

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

    pub(super) fn of_ref(b: &Binding, role: Option<&Role>) -> Self {
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
