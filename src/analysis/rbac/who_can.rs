//! "Who can VERB RESOURCE": the indexes that make the question fast on large clusters.

use super::*;

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
