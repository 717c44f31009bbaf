//! The rule resolver: the resolved [`Rbac`] graph of a snapshot, which bindings apply to an
//! identity and what it may do.

use super::*;

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
    pub(super) effective: Vec<Vec<RuleId>>,
    /// The role each binding references, when it exists.
    pub(super) binding_role: Vec<Option<RoleIdx>>,
    cluster_bindings: Vec<BindingIdx>,
    bindings_by_namespace: HashMap<&'a str, Vec<BindingIdx>>,
    /// Subject → bindings naming it; built on first use (findings do not need it).
    subjects: std::sync::OnceLock<HashMap<SubjectKey<'a>, Vec<(BindingIdx, u32)>>>,
    pub(super) gaps: Vec<String>,
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

pub(super) fn subject_key<'a>(s: &'a Subject, binding_ns: Option<&'a str>) -> Option<SubjectKey<'a>> {
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
pub(super) fn applies_to(identity: &Identity, s: &Subject, binding_ns: Option<&str>) -> bool {
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
