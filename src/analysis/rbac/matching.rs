//! Rule matching, exactly as the API server's `rbac/v1` helpers: verbs, API groups, resources and
//! subresources, `resourceNames` and non-resource URLs.

use super::*;

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
