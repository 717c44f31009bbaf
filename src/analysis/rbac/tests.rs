//! The expected answers below were worked out by hand from the Kubernetes RBAC documentation
//! ("Using RBAC Authorization": Role and ClusterRole examples, RoleBinding to a ClusterRole,
//! referring to resources and subresources, resourceNames, aggregated ClusterRoles, service
//! account groups, default roles and bindings), not from this code's output.
use super::resolve::applies_to;
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
    let bindings =
        [binding(Some("default"), "read-pods", "Role", "pod-reader", vec![subject("User", "jane", None)])];
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
    let mut to_edit = role(None, "aggregate-to-edit", vec![rule(&["create"], &["apps"], &["deployments"])]);
    to_edit.labels.insert("aggregate-to-edit".into(), "true".into());
    let unlabelled = role(None, "unrelated", vec![rule(&["get"], &[""], &["secrets"])]);
    let roles = [monitoring, endpoints, edit, to_edit, unlabelled];
    let bindings = [binding(None, "mon", "ClusterRole", "monitoring", vec![subject("User", "mona", None)])];
    let rbac = Rbac::from_parts(roles.iter().collect(), bindings.iter().collect(), vec![]);
    let mona = user("mona");
    assert!(can(&rbac, &mona, Request::resource("list", "", "pods", Some("a"))));
    assert!(can(&rbac, &mona, Request::resource("create", "apps", "deployments", Some("a"))), "transitive");
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
    let bindings =
        [binding(Some("default"), "cm", "Role", "configmap-updater", vec![subject("User", "carl", None)])];
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
        vec![rule(&["get", "list"], &[""], &["pods", "pods/log"]), rule(&["update"], &["*"], &["*/scale"])],
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
        index.who_can(&Request::resource("update", "apps", "statefulsets/scale", Some("x"))).allowed.len(),
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
    let bindings = [binding(None, "ca", "ClusterRole", "cluster-admin", vec![subject("User", "root", None)])];
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
        binding(Some("a"), "ra", "ClusterRole", "execer", vec![subject("ServiceAccount", "sa1", Some("a"))]),
        binding(Some("a"), "la", "Role", "local", vec![subject("Group", "system:serviceaccounts:a", None)]),
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
