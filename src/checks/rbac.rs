//! RBAC findings (area `authz`): grants that let a subject take over the cluster, CIS 5.1.x.
//!
//! Every finding is computed from the resolved RBAC graph of [`crate::analysis::rbac`] (aggregation,
//! RoleBinding→ClusterRole scoping and subject defaulting exactly as the API server applies them)
//! and names the subject, the binding and the role (with the rule) that grant it. The resource of
//! a grant finding is the binding; of a wildcard finding the role; of service-account findings the
//! account, pod or secret.
//!
//! Grants the API server's bootstrap policy, kubeadm and well-known add-ons make to system
//! identities are recognized per (binding, role, subject) by
//! [`crate::analysis::rbac::system_grant`] and reported once, as the informational
//! `PAL-AUTHZ-100`, so a kubeadm default cluster raises no false alarm. When the RBAC evidence is
//! incomplete (e.g. forbidden), a check reports the grants it can prove plus an `unknown` result
//! with the reason — never a pass.

use std::collections::HashMap;

use super::{Check, CheckMeta, CheckOptions, CheckResult, Context, ResourceRef};
use crate::analysis::rbac::{
    describe_rule, describe_subject, rule_allows, system_grant, system_grants, BindingIdx, Rbac, Request,
    RoleIdx, RuleId, Scope, GROUP_AUTHENTICATED, GROUP_SERVICE_ACCOUNTS, GROUP_UNAUTHENTICATED,
    USER_ANONYMOUS,
};
use crate::domain::{Area, Severity, Status};
use crate::snapshot::{Binding, EvidenceState, Snapshot, Source, Subject};

macro_rules! meta {
    ($id:literal, $title:literal, $sev:ident, $why:literal, $fix:literal, $evidence:expr) => {
        CheckMeta {
            id: $id,
            title: $title,
            area: Area::Authz,
            severity: Severity::$sev,
            rationale: $why,
            remediation: $fix,
            evidence_source: $evidence,
        }
    };
}

const RBAC_OBJECTS: &str = "ClusterRoles, Roles, ClusterRoleBindings and RoleBindings";

/// The RBAC checks, in catalog order.
pub static CHECKS: &[Check] = &[
    Check {
        meta: meta!(
            "PAL-AUTHZ-100",
            "System components' own RBAC grants are recognized",
            Info,
            "Kubernetes' bootstrap policy and kubeadm grant broad rights to control-plane components, \
             controllers and nodes. They are listed once so that the other RBAC findings only show \
             grants someone chose to make.",
            "Nothing to do. If a listed grant is unexpected, compare it with `kubectl get \
             clusterrolebindings -o wide` on a fresh cluster of the same version.",
            "ClusterRoleBindings and RoleBindings"
        ),
        run: run_system_grants,
    },
    Check {
        meta: meta!(
            "PAL-AUTHZ-101",
            "cluster-admin (or an equivalent */*/* role) is bound only to system identities",
            Critical,
            "A subject bound to a role that allows every verb on every resource owns the cluster \
             (cluster-wide) or the namespace (through a RoleBinding).",
            "Delete the binding (`kubectl delete clusterrolebinding NAME`) and grant a role with only \
             the rights the subject needs.",
            RBAC_OBJECTS
        ),
        run: run_cluster_admin,
    },
    Check {
        meta: meta!(
            "PAL-AUTHZ-102",
            "Nothing is granted to anonymous requests",
            Critical,
            "Grants to `system:anonymous` or `system:unauthenticated` are open to anyone who can reach \
             the API server, without credentials.",
            "Remove the subject from the binding (or delete the binding) and keep `--anonymous-auth=false` \
             where possible.",
            RBAC_OBJECTS
        ),
        run: run_anonymous,
    },
    Check {
        meta: meta!(
            "PAL-AUTHZ-103",
            "No broad grants to every authenticated user or every service account",
            High,
            "Grants to `system:authenticated` or `system:serviceaccounts` apply to every user and every \
             pod's token; beyond the discovery and self-review defaults they widen every compromise.",
            "Bind the role to the specific users, groups or service accounts that need it.",
            RBAC_OBJECTS
        ),
        run: run_broad_groups,
    },
    Check {
        meta: meta!(
            "PAL-AUTHZ-104",
            "Secrets are not readable cluster-wide or in kube-system",
            High,
            "get/list/watch on secrets cluster-wide or in kube-system reveals service-account tokens and \
             credentials that lead to cluster-admin.",
            "Limit secret access to RoleBindings in the namespaces that need it, with resourceNames \
             where possible.",
            RBAC_OBJECTS
        ),
        run: run_secrets,
    },
    Check {
        meta: meta!(
            "PAL-AUTHZ-105",
            "Roles and ClusterRoles do not use wildcards",
            Medium,
            "`*` in verbs, apiGroups or resources grants rights that do not exist yet, including those \
             of CRDs installed later.",
            "Replace `*` with the explicit verbs, API groups and resources the role needs.",
            "ClusterRoles and Roles (aggregation applied)"
        ),
        run: run_wildcards,
    },
    Check {
        meta: meta!(
            "PAL-AUTHZ-106",
            "Creating pods and workloads is limited",
            Medium,
            "Whoever can create a pod (directly or through a Deployment, Job, …) can mount any secret \
             and run as any service account of that namespace, or on a node with host access.",
            "Grant create on pods and workload controllers only to deployment pipelines and controllers.",
            RBAC_OBJECTS
        ),
        run: run_create_pods,
    },
    Check {
        meta: meta!(
            "PAL-AUTHZ-107",
            "pods/exec and pods/attach are limited",
            High,
            "Exec or attach into a pod gives its service-account token, its secrets and its network \
             position.",
            "Remove pods/exec and pods/attach from roles that do not need interactive access.",
            RBAC_OBJECTS
        ),
        run: run_exec,
    },
    Check {
        meta: meta!(
            "PAL-AUTHZ-108",
            "escalate, bind and impersonate are limited",
            Critical,
            "escalate and bind let a subject grant itself any role; impersonate lets it act as any user, \
             group or service account, including system:masters.",
            "Remove the escalate, bind and impersonate verbs from the role.",
            RBAC_OBJECTS
        ),
        run: run_escalate,
    },
    Check {
        meta: meta!(
            "PAL-AUTHZ-109",
            "The proxy subresource of nodes is limited",
            High,
            "nodes/proxy reaches the kubelet API directly: exec into any pod on the node, bypassing \
             admission and audit of the pod.",
            "Remove nodes/proxy from the role; monitoring can use the metrics endpoints instead.",
            RBAC_OBJECTS
        ),
        run: run_nodes_proxy,
    },
    Check {
        meta: meta!(
            "PAL-AUTHZ-110",
            "Creating service-account tokens is limited",
            High,
            "create on serviceaccounts/token mints a token for any service account in scope, taking \
             over its rights.",
            "Remove serviceaccounts/token create from the role.",
            RBAC_OBJECTS
        ),
        run: run_token_create,
    },
    Check {
        meta: meta!(
            "PAL-AUTHZ-111",
            "Approving certificate signing requests is limited",
            High,
            "Whoever can approve CSRs can issue client certificates, e.g. for a node or for \
             system:masters through a signer that allows it.",
            "Remove update on certificatesigningrequests/approval from the role.",
            RBAC_OBJECTS
        ),
        run: run_csr_approval,
    },
    Check {
        meta: meta!(
            "PAL-AUTHZ-112",
            "Changing admission webhook configurations is limited",
            High,
            "A mutating or validating webhook sees, changes or blocks every matching API request, \
             including secrets.",
            "Remove write verbs on admissionregistration.k8s.io objects from the role.",
            RBAC_OBJECTS
        ),
        run: run_webhooks,
    },
    Check {
        meta: meta!(
            "PAL-AUTHZ-113",
            "Creating persistent volumes is limited",
            Medium,
            "A PersistentVolume can be a hostPath volume: whoever creates one can mount the node's \
             filesystem.",
            "Let storage classes provision volumes; remove create on persistentvolumes.",
            RBAC_OBJECTS
        ),
        run: run_pv_create,
    },
    Check {
        meta: meta!(
            "PAL-AUTHZ-114",
            "Default service accounts are not bound to roles",
            Medium,
            "Every pod that names no service account runs as `default`; rights granted to it are given \
             to every such pod.",
            "Create a dedicated service account for the workload and bind the role to it instead.",
            RBAC_OBJECTS
        ),
        run: run_default_sa_bound,
    },
    Check {
        meta: meta!(
            "PAL-AUTHZ-115",
            "Default service accounts do not automount their token",
            Low,
            "CIS 5.1.5 expects `automountServiceAccountToken: false` on every `default` service account, \
             so pods get no API token unless they ask for one.",
            "`kubectl patch serviceaccount default -n NS -p '{\"automountServiceAccountToken\": false}'`",
            "ServiceAccounts"
        ),
        run: run_default_sa_automount,
    },
    Check {
        meta: meta!(
            "PAL-AUTHZ-116",
            "Pods running as the default service account do not mount its token",
            Low,
            "A pod using the `default` service account rarely needs an API token; a mounted token is \
             free for anyone who compromises the pod.",
            "Set `automountServiceAccountToken: false` on the pod or its `default` service account, or run \
             it under a dedicated service account.",
            "Pods and ServiceAccounts"
        ),
        run: run_pod_tokens,
    },
    Check {
        meta: meta!(
            "PAL-AUTHZ-117",
            "No legacy long-lived service-account token secrets",
            Medium,
            "Secrets of type kubernetes.io/service-account-token hold tokens that never expire and \
             survive pod deletion; bound tokens (TokenRequest) replace them.",
            "Delete the secret after moving its users to `kubectl create token` or projected tokens.",
            "Secrets (metadata only)"
        ),
        run: run_legacy_tokens,
    },
];

// ---------------------------------------------------------------------------------------------
// Capabilities: a grant is risky when one of its rules allows one of the probe requests.

struct Capability {
    /// e.g. "read secrets".
    what: &'static str,
    /// (verbs, API group, resource or resource/subresource).
    probes: &'static [(&'static [&'static str], &'static str, &'static str)],
}

impl Capability {
    fn requests(&self) -> Vec<Request> {
        self.probes
            .iter()
            .flat_map(|(verbs, group, resource)| {
                verbs.iter().map(move |verb| Request::resource(verb, group, resource, None))
            })
            .collect()
    }
}

const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

/// Only a rule with `*` verbs, apiGroups and resources matches a literal `*` request.
const CLUSTER_ADMIN: Capability =
    Capability { what: "do everything (verbs=* apiGroups=* resources=*)", probes: &[(&["*"], "*", "*")] };
const READ_SECRETS: Capability =
    Capability { what: "read secrets", probes: &[(&["get", "list", "watch"], "", "secrets")] };
const CREATE_PODS: Capability = Capability {
    what: "create pods or workloads",
    probes: &[
        (&["create"], "", "pods"),
        (&["create"], "", "replicationcontrollers"),
        (&["create"], "apps", "deployments"),
        (&["create"], "apps", "replicasets"),
        (&["create"], "apps", "daemonsets"),
        (&["create"], "apps", "statefulsets"),
        (&["create"], "batch", "jobs"),
        (&["create"], "batch", "cronjobs"),
    ],
};
/// `get` is included: before Kubernetes 1.31 a websocket exec needed only get on pods/exec.
const EXEC: Capability = Capability {
    what: "exec or attach into pods",
    probes: &[(&["create", "get"], "", "pods/exec"), (&["create", "get"], "", "pods/attach")],
};
const ESCALATE: Capability = Capability {
    what: "escalate, bind or impersonate",
    probes: &[
        (&["escalate", "bind"], RBAC_GROUP, "clusterroles"),
        (&["escalate", "bind"], RBAC_GROUP, "roles"),
        (&["impersonate"], "", "users"),
        (&["impersonate"], "", "groups"),
        (&["impersonate"], "", "serviceaccounts"),
        (&["impersonate"], "authentication.k8s.io", "uids"),
        (&["impersonate"], "authentication.k8s.io", "userextras"),
    ],
};
const NODES_PROXY: Capability = Capability {
    what: "use the proxy subresource of nodes",
    probes: &[(&["get", "create", "update", "patch", "delete"], "", "nodes/proxy")],
};
const TOKEN_CREATE: Capability = Capability {
    what: "create service-account tokens",
    probes: &[(&["create"], "", "serviceaccounts/token")],
};
const CSR_APPROVAL: Capability = Capability {
    what: "approve certificate signing requests",
    probes: &[(&["update", "patch"], "certificates.k8s.io", "certificatesigningrequests/approval")],
};
const WEBHOOKS: Capability = Capability {
    what: "change admission webhook configurations",
    probes: &[
        (
            &["create", "update", "patch", "delete"],
            "admissionregistration.k8s.io",
            "mutatingwebhookconfigurations",
        ),
        (
            &["create", "update", "patch", "delete"],
            "admissionregistration.k8s.io",
            "validatingwebhookconfigurations",
        ),
        (
            &["create", "update", "patch", "delete"],
            "admissionregistration.k8s.io",
            "validatingadmissionpolicies",
        ),
        (
            &["create", "update", "patch", "delete"],
            "admissionregistration.k8s.io",
            "validatingadmissionpolicybindings",
        ),
    ],
};
const PV_CREATE: Capability =
    Capability { what: "create persistent volumes", probes: &[(&["create"], "", "persistentvolumes")] };

// ---------------------------------------------------------------------------------------------
// Shared machinery

fn cluster_ref(snapshot: &Snapshot) -> ResourceRef {
    ResourceRef { kind: "Cluster".into(), namespace: None, name: snapshot.cluster.name.clone(), node: None }
}

fn binding_ref(b: &Binding) -> ResourceRef {
    ResourceRef {
        kind: if b.namespace.is_some() { "RoleBinding" } else { "ClusterRoleBinding" }.into(),
        namespace: b.namespace.clone(),
        name: b.name.clone(),
        node: None,
    }
}

fn rbac_source(snapshot: &Snapshot) -> Option<Source> {
    [&snapshot.cluster_role_bindings, &snapshot.role_bindings]
        .into_iter()
        .find_map(|e| e.origin.as_ref().map(|o| o.source))
        .or_else(|| snapshot.cluster_roles.origin.as_ref().map(|o| o.source))
}

fn gaps_sentence(rbac: &Rbac) -> String {
    format!("the RBAC evidence is incomplete ({})", rbac.gaps().join("; "))
}

/// Which bindings a grant check looks at.
struct GrantSpec {
    /// The capability the bound role must have; `None`: any grant at all.
    capability: Option<&'static Capability>,
    /// Where the grant must apply to count (e.g. secrets: cluster-wide or kube-system).
    scope: fn(&Scope) -> bool,
    /// Which subjects count.
    subject: fn(&Subject) -> bool,
    /// Fail for takeover-class grants, warn for those that need a human's judgement.
    status: Status,
    /// What a clean cluster looks like, for the pass result.
    clean: &'static str,
}

fn any_scope(_: &Scope) -> bool {
    true
}

fn any_subject(_: &Subject) -> bool {
    true
}

/// The first rule of a role's effective rules that allows one of `requests`.
fn granting_rule(rbac: &Rbac, role: RoleIdx, requests: &[Request]) -> Option<RuleId> {
    rbac.effective_rules(role).iter().copied().find(|&id| {
        let rule = rbac.rule(id);
        requests.iter().any(|r| rule_allows(rule, r))
    })
}

fn role_words(rbac: &Rbac, binding: &Binding, role: Option<RoleIdx>, rule: Option<RuleId>) -> String {
    let kind = &binding.role_ref.kind;
    let name = &binding.role_ref.name;
    let mut out = format!("{kind} {name}");
    match (role, rule) {
        (None, _) => out.push_str(" (which does not exist yet: the grant takes effect when it is created)"),
        (Some(r), Some(id)) => {
            out.push_str(&format!(" (rule {}", describe_rule(rbac.rule(id))));
            if id.role != r {
                out.push_str(&format!(", aggregated from ClusterRole {}", rbac.roles[id.role as usize].name));
            }
            out.push(')');
        }
        (Some(_), None) => {}
    }
    out
}

fn scope_words(scope: &Scope) -> String {
    match scope {
        Scope::Cluster => "cluster-wide".into(),
        Scope::Namespace(ns) => format!("in namespace {ns}"),
    }
}

fn grant_findings(meta: &CheckMeta, snapshot: &Context, spec: &GrantSpec) -> Vec<CheckResult> {
    let rbac = snapshot.rbac();
    let source = rbac_source(snapshot);
    let requests = spec.capability.map(Capability::requests).unwrap_or_default();
    let mut cache: HashMap<RoleIdx, Option<RuleId>> = HashMap::new();
    let mut results = Vec::new();
    let mut system = 0usize;
    for (bi, b) in rbac.bindings.iter().enumerate() {
        let scope = rbac.binding_scope(bi as BindingIdx);
        if !(spec.scope)(&scope) {
            continue;
        }
        let role = rbac.binding_role(bi as BindingIdx);
        let rule = match (spec.capability, role) {
            (Some(_), None) => continue,
            (Some(_), Some(r)) => {
                match *cache.entry(r).or_insert_with(|| granting_rule(rbac, r, &requests)) {
                    Some(id) => Some(id),
                    None => continue,
                }
            }
            (None, _) => None,
        };
        let mut named = Vec::new();
        for si in 0..b.subjects.len() as u32 {
            let subject = rbac.effective_subject(bi as BindingIdx, si);
            if !(spec.subject)(&subject) {
                continue;
            }
            if system_grant(b, &subject).is_some() {
                system += 1;
                continue;
            }
            named.push(describe_subject(&subject));
        }
        if named.is_empty() {
            continue;
        }
        let what = spec.capability.map(|c| format!(", which lets them {}", c.what)).unwrap_or_default();
        let evidence = format!(
            "{} grants {} {} to {}{what}",
            crate::analysis::rbac::BindingView::of(b),
            role_words(rbac, b, role, rule),
            scope_words(&scope),
            named.join(", "),
        );
        results.push(meta.result(spec.status, binding_ref(b), evidence, source));
    }
    if !rbac.is_complete() {
        results.push(meta.result(
            Status::Unknown,
            cluster_ref(snapshot),
            format!("{}: other grants may exist that could not be judged", gaps_sentence(rbac)),
            None,
        ));
    } else if results.is_empty() {
        let known = if system > 0 {
            format!(" ({system} system grants recognized, see PAL-AUTHZ-100)")
        } else {
            String::new()
        };
        results.push(meta.result(
            Status::Pass,
            cluster_ref(snapshot),
            format!("{}{known}", spec.clean),
            source,
        ));
    }
    results
}

// ---------------------------------------------------------------------------------------------
// The checks

fn run_system_grants(meta: &CheckMeta, snapshot: &Context, _: &CheckOptions) -> Vec<CheckResult> {
    let rbac = snapshot.rbac();
    let grants = system_grants(rbac);
    let subjects: usize = grants.values().map(|s| s.len()).sum();
    let list = grants
        .iter()
        .map(|(b, s)| format!("{b} → {}", s.iter().cloned().collect::<Vec<_>>().join(", ")))
        .collect::<Vec<_>>()
        .join("; ");
    let mut evidence = format!(
        "{} bindings grant {subjects} system identities their Kubernetes / kubeadm / add-on defaults{}{list}",
        grants.len(),
        if list.is_empty() { "" } else { ": " }
    );
    if !rbac.is_complete() {
        evidence.push_str(&format!(" ({}; the list may be partial)", gaps_sentence(rbac)));
        return vec![meta.result(Status::Unknown, cluster_ref(snapshot), evidence, None)];
    }
    vec![meta.result(Status::Pass, cluster_ref(snapshot), evidence, rbac_source(snapshot))]
}

fn run_cluster_admin(meta: &CheckMeta, snapshot: &Context, _: &CheckOptions) -> Vec<CheckResult> {
    grant_findings(
        meta,
        snapshot,
        &GrantSpec {
            capability: Some(&CLUSTER_ADMIN),
            scope: any_scope,
            subject: any_subject,
            status: Status::Fail,
            clean: "cluster-admin and every */*/* role are bound only to system identities",
        },
    )
}

fn is_anonymous(s: &Subject) -> bool {
    (s.kind == "User" && s.name == USER_ANONYMOUS) || (s.kind == "Group" && s.name == GROUP_UNAUTHENTICATED)
}

fn run_anonymous(meta: &CheckMeta, snapshot: &Context, _: &CheckOptions) -> Vec<CheckResult> {
    grant_findings(
        meta,
        snapshot,
        &GrantSpec {
            capability: None,
            scope: any_scope,
            subject: is_anonymous,
            status: Status::Fail,
            clean:
                "no binding grants anything to system:anonymous or system:unauthenticated beyond the defaults",
        },
    )
}

fn is_broad_group(s: &Subject) -> bool {
    s.kind == "Group" && (s.name == GROUP_AUTHENTICATED || s.name == GROUP_SERVICE_ACCOUNTS)
}

fn run_broad_groups(meta: &CheckMeta, snapshot: &Context, _: &CheckOptions) -> Vec<CheckResult> {
    grant_findings(
        meta,
        snapshot,
        &GrantSpec {
            capability: None,
            scope: any_scope,
            subject: is_broad_group,
            status: Status::Fail,
            clean: "system:authenticated and system:serviceaccounts hold only the default discovery grants",
        },
    )
}

fn cluster_or_kube_system(scope: &Scope) -> bool {
    match scope {
        Scope::Cluster => true,
        Scope::Namespace(ns) => ns == "kube-system",
    }
}

fn run_secrets(meta: &CheckMeta, snapshot: &Context, _: &CheckOptions) -> Vec<CheckResult> {
    grant_findings(
        meta,
        snapshot,
        &GrantSpec {
            capability: Some(&READ_SECRETS),
            scope: cluster_or_kube_system,
            subject: any_subject,
            status: Status::Fail,
            clean: "no subject outside the system identities can read secrets cluster-wide or in kube-system",
        },
    )
}

fn run_create_pods(meta: &CheckMeta, snapshot: &Context, _: &CheckOptions) -> Vec<CheckResult> {
    grant_findings(
        meta,
        snapshot,
        &GrantSpec {
            capability: Some(&CREATE_PODS),
            scope: any_scope,
            subject: any_subject,
            status: Status::Warn,
            clean: "no subject outside the system identities can create pods or workloads",
        },
    )
}

fn run_exec(meta: &CheckMeta, snapshot: &Context, _: &CheckOptions) -> Vec<CheckResult> {
    grant_findings(
        meta,
        snapshot,
        &GrantSpec {
            capability: Some(&EXEC),
            scope: any_scope,
            subject: any_subject,
            status: Status::Warn,
            clean: "no subject outside the system identities can exec or attach into pods",
        },
    )
}

fn run_escalate(meta: &CheckMeta, snapshot: &Context, _: &CheckOptions) -> Vec<CheckResult> {
    grant_findings(
        meta,
        snapshot,
        &GrantSpec {
            capability: Some(&ESCALATE),
            scope: any_scope,
            subject: any_subject,
            status: Status::Fail,
            clean: "no subject outside the system identities can escalate, bind or impersonate",
        },
    )
}

fn run_nodes_proxy(meta: &CheckMeta, snapshot: &Context, _: &CheckOptions) -> Vec<CheckResult> {
    grant_findings(
        meta,
        snapshot,
        &GrantSpec {
            capability: Some(&NODES_PROXY),
            scope: any_scope,
            subject: any_subject,
            status: Status::Fail,
            clean: "no subject outside the system identities can use nodes/proxy",
        },
    )
}

fn run_token_create(meta: &CheckMeta, snapshot: &Context, _: &CheckOptions) -> Vec<CheckResult> {
    grant_findings(
        meta,
        snapshot,
        &GrantSpec {
            capability: Some(&TOKEN_CREATE),
            scope: any_scope,
            subject: any_subject,
            status: Status::Fail,
            clean: "no subject outside the system identities can create service-account tokens",
        },
    )
}

fn run_csr_approval(meta: &CheckMeta, snapshot: &Context, _: &CheckOptions) -> Vec<CheckResult> {
    grant_findings(
        meta,
        snapshot,
        &GrantSpec {
            capability: Some(&CSR_APPROVAL),
            scope: any_scope,
            subject: any_subject,
            status: Status::Fail,
            clean: "no subject outside the system identities can approve certificate signing requests",
        },
    )
}

fn run_webhooks(meta: &CheckMeta, snapshot: &Context, _: &CheckOptions) -> Vec<CheckResult> {
    grant_findings(
        meta,
        snapshot,
        &GrantSpec {
            capability: Some(&WEBHOOKS),
            scope: any_scope,
            subject: any_subject,
            status: Status::Fail,
            clean: "no subject outside the system identities can change admission webhook configurations",
        },
    )
}

fn run_pv_create(meta: &CheckMeta, snapshot: &Context, _: &CheckOptions) -> Vec<CheckResult> {
    grant_findings(
        meta,
        snapshot,
        &GrantSpec {
            capability: Some(&PV_CREATE),
            scope: any_scope,
            subject: any_subject,
            status: Status::Warn,
            clean: "no subject outside the system identities can create persistent volumes",
        },
    )
}

fn is_default_sa(s: &Subject) -> bool {
    s.kind == "ServiceAccount" && s.name == "default"
}

fn run_default_sa_bound(meta: &CheckMeta, snapshot: &Context, _: &CheckOptions) -> Vec<CheckResult> {
    grant_findings(
        meta,
        snapshot,
        &GrantSpec {
            capability: None,
            scope: any_scope,
            subject: is_default_sa,
            status: Status::Warn,
            clean: "no binding names a `default` service account",
        },
    )
}

/// Roles whose names Kubernetes, kubeadm and EKS reserve for themselves; their wildcards are the
/// system's own (e.g. cluster-admin, the garbage collector). Who they are bound to is judged by
/// the grant checks.
fn is_system_role_name(name: &str) -> bool {
    name == "cluster-admin" || ["system:", "kubeadm:", "eks:"].iter().any(|p| name.starts_with(p))
}

fn run_wildcards(meta: &CheckMeta, snapshot: &Context, _: &CheckOptions) -> Vec<CheckResult> {
    let rbac = snapshot.rbac();
    let source = rbac_source(snapshot);
    let mut bound: HashMap<RoleIdx, Vec<String>> = HashMap::new();
    for bi in 0..rbac.bindings.len() {
        if let Some(r) = rbac.binding_role(bi as BindingIdx) {
            bound
                .entry(r)
                .or_default()
                .push(crate::analysis::rbac::BindingView::of(rbac.bindings[bi]).to_string());
        }
    }
    let mut results = Vec::new();
    let mut system = 0usize;
    for (ri, role) in rbac.roles.iter().enumerate() {
        let ri = ri as RoleIdx;
        let Some(id) = rbac.effective_rules(ri).iter().copied().find(|&id| {
            let r = rbac.rule(id);
            [&r.verbs, &r.api_groups, &r.resources].iter().any(|l| l.iter().any(|x| x == "*"))
        }) else {
            continue;
        };
        if is_system_role_name(&role.name) {
            system += 1;
            continue;
        }
        let view = crate::analysis::rbac::RoleView::of(role);
        let mut evidence = format!("{view} has rule {}", describe_rule(rbac.rule(id)));
        if id.role != ri {
            evidence
                .push_str(&format!(" (aggregated from ClusterRole {})", rbac.roles[id.role as usize].name));
        }
        match bound.get(&ri) {
            Some(b) => evidence.push_str(&format!("; bound by {}", b.join(", "))),
            None => evidence.push_str("; not bound by any binding"),
        }
        let resource =
            ResourceRef { kind: view.kind.clone(), namespace: view.namespace, name: view.name, node: None };
        results.push(meta.result(Status::Warn, resource, evidence, source));
    }
    if !rbac.is_complete() {
        results.push(meta.result(Status::Unknown, cluster_ref(snapshot), gaps_sentence(rbac), None));
    } else if results.is_empty() {
        results.push(meta.result(
            Status::Pass,
            cluster_ref(snapshot),
            format!("no role outside the system's own ({system} with wildcards) uses `*`"),
            source,
        ));
    }
    results
}

fn unknown_for(
    meta: &CheckMeta,
    snapshot: &Snapshot,
    what: &str,
    state: &EvidenceState,
) -> Option<CheckResult> {
    state
        .missing_reason()
        .map(|r| meta.result(Status::Unknown, cluster_ref(snapshot), format!("{what}: {r}"), None))
}

fn run_default_sa_automount(meta: &CheckMeta, snapshot: &Context, _: &CheckOptions) -> Vec<CheckResult> {
    if let Some(u) = unknown_for(meta, snapshot, "ServiceAccounts", &snapshot.service_accounts.state) {
        return vec![u];
    }
    let source = snapshot.service_accounts.origin.as_ref().map(|o| o.source);
    snapshot
        .service_accounts
        .iter()
        .filter(|sa| sa.name == "default")
        .map(|sa| {
            let (status, words) = match sa.automount_token {
                Some(false) => (Status::Pass, "sets automountServiceAccountToken: false".to_string()),
                Some(true) => (Status::Warn, "sets automountServiceAccountToken: true".to_string()),
                None => (
                    Status::Warn,
                    "does not set automountServiceAccountToken (tokens are mounted by default)".into(),
                ),
            };
            let resource = ResourceRef {
                kind: "ServiceAccount".into(),
                namespace: Some(sa.namespace.clone()),
                name: sa.name.clone(),
                node: None,
            };
            meta.result(status, resource, format!("ServiceAccount {}/default {words}", sa.namespace), source)
        })
        .collect()
}

fn run_pod_tokens(meta: &CheckMeta, snapshot: &Context, _: &CheckOptions) -> Vec<CheckResult> {
    let mut unknown = Vec::new();
    unknown.extend(unknown_for(meta, snapshot, "Pods", &snapshot.pods.state));
    unknown.extend(unknown_for(meta, snapshot, "ServiceAccounts", &snapshot.service_accounts.state));
    if !unknown.is_empty() {
        return unknown;
    }
    let source = snapshot.pods.origin.as_ref().map(|o| o.source);
    let sa_setting: HashMap<&str, Option<bool>> = snapshot
        .service_accounts
        .iter()
        .filter(|sa| sa.name == "default")
        .map(|sa| (sa.namespace.as_str(), sa.automount_token))
        .collect();
    let mut results = Vec::new();
    let mut using_default = 0usize;
    for pod in snapshot.pods.iter().filter(|p| p.service_account == "default") {
        using_default += 1;
        let sa = sa_setting.get(pod.namespace.as_str()).copied().flatten();
        // The pod's own setting wins over its service account's; unset on both means mounted.
        let why = match (pod.automount_token, sa) {
            (Some(false), _) | (None, Some(false)) => continue,
            (Some(true), _) => "the pod sets automountServiceAccountToken: true",
            (None, Some(true)) => "its default ServiceAccount sets automountServiceAccountToken: true",
            (None, None) => "neither the pod nor its default ServiceAccount disables automounting",
        };
        let resource = ResourceRef {
            kind: "Pod".into(),
            namespace: Some(pod.namespace.clone()),
            name: pod.name.clone(),
            node: None,
        };
        results.push(meta.result(
            Status::Warn,
            resource,
            format!(
                "Pod {}/{} runs as ServiceAccount {}/default with its token mounted: {why}",
                pod.namespace, pod.name, pod.namespace
            ),
            source,
        ));
    }
    if results.is_empty() {
        results.push(meta.result(
            Status::Pass,
            cluster_ref(snapshot),
            format!("none of the {using_default} pods running as a default service account mounts its token"),
            source,
        ));
    }
    results
}

fn run_legacy_tokens(meta: &CheckMeta, snapshot: &Context, _: &CheckOptions) -> Vec<CheckResult> {
    if let Some(u) = unknown_for(meta, snapshot, "Secrets", &snapshot.secrets.state) {
        return vec![u];
    }
    let source = snapshot.secrets.origin.as_ref().map(|o| o.source);
    let mut results: Vec<CheckResult> = snapshot
        .secrets
        .iter()
        .filter(|s| s.type_ == "kubernetes.io/service-account-token")
        .map(|s| {
            let sa =
                s.annotations.get("kubernetes.io/service-account.name").map(String::as_str).unwrap_or("?");
            let resource = ResourceRef {
                kind: "Secret".into(),
                namespace: Some(s.namespace.clone()),
                name: s.name.clone(),
                node: None,
            };
            meta.result(
                Status::Fail,
                resource,
                format!(
                    "Secret {}/{} of type kubernetes.io/service-account-token holds a non-expiring token for \
                     ServiceAccount {}/{sa}",
                    s.namespace, s.name, s.namespace
                ),
                source,
            )
        })
        .collect();
    if results.is_empty() {
        results.push(meta.result(
            Status::Pass,
            cluster_ref(snapshot),
            format!("none of the {} secrets is a legacy service-account token", snapshot.secrets.len()),
            source,
        ));
    }
    results
}

// ---------------------------------------------------------------------------------------------
// Risky subjects: the same capabilities, grouped by who holds them (the dashboard's RBAC page).

/// Every capability the grant checks look for, in order of danger.
const CAPABILITIES: &[&Capability] = &[
    &CLUSTER_ADMIN,
    &ESCALATE,
    &READ_SECRETS,
    &CREATE_PODS,
    &EXEC,
    &NODES_PROXY,
    &TOKEN_CREATE,
    &CSR_APPROVAL,
    &WEBHOOKS,
    &PV_CREATE,
];

/// One dangerous capability a subject holds through one binding.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RiskyGrant {
    /// e.g. "read secrets".
    pub capability: &'static str,
    pub binding: crate::analysis::rbac::BindingView,
    /// `ClusterRole NAME (rule …)`.
    pub role: String,
    pub scope: Scope,
}

/// A subject (not a recognized system identity) holding at least one dangerous capability.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RiskySubject {
    /// `User`, `Group` or `ServiceAccount`.
    pub kind: String,
    /// The name as the subject API takes it: `namespace:name` for a service account.
    pub name: String,
    /// In words: `ServiceAccount ci/deployer`.
    pub display: String,
    /// Distinct capabilities, in order of danger.
    pub capabilities: Vec<&'static str>,
    /// Holds a capability cluster-wide (not only inside namespaces).
    pub cluster_wide: bool,
    pub grants: Vec<RiskyGrant>,
}

/// Subjects that hold a capability the RBAC grant checks flag, one row per subject (most
/// dangerous first), leaving out Kubernetes', kubeadm's and well-known add-ons' own grants.
pub fn risky_subjects(rbac: &Rbac) -> Vec<RiskySubject> {
    let requests: Vec<Vec<Request>> = CAPABILITIES.iter().map(|c| c.requests()).collect();
    let mut by_role: HashMap<RoleIdx, Vec<(usize, RuleId)>> = HashMap::new();
    let mut out: std::collections::BTreeMap<(String, String), RiskySubject> = Default::default();
    for (bi, b) in rbac.bindings.iter().enumerate() {
        let Some(role) = rbac.binding_role(bi as BindingIdx) else { continue };
        let held = by_role.entry(role).or_insert_with(|| {
            requests
                .iter()
                .enumerate()
                .filter_map(|(ci, reqs)| granting_rule(rbac, role, reqs).map(|r| (ci, r)))
                .collect()
        });
        if held.is_empty() {
            continue;
        }
        let scope = rbac.binding_scope(bi as BindingIdx);
        for si in 0..b.subjects.len() as u32 {
            let subject = rbac.effective_subject(bi as BindingIdx, si);
            if system_grant(b, &subject).is_some() {
                continue;
            }
            let name = match (&subject.kind[..], &subject.namespace) {
                ("ServiceAccount", Some(ns)) => format!("{ns}:{}", subject.name),
                _ => subject.name.clone(),
            };
            let entry = out.entry((subject.kind.clone(), name.clone())).or_insert_with(|| RiskySubject {
                kind: subject.kind.clone(),
                name,
                display: describe_subject(&subject),
                capabilities: Vec::new(),
                cluster_wide: false,
                grants: Vec::new(),
            });
            for &(ci, rule) in held.iter() {
                entry.grants.push(RiskyGrant {
                    capability: CAPABILITIES[ci].what,
                    binding: crate::analysis::rbac::BindingView::of(b),
                    role: role_words(rbac, b, Some(role), Some(rule)),
                    scope: scope.clone(),
                });
                entry.cluster_wide |= scope == Scope::Cluster;
            }
        }
    }
    let rank = |what: &str| CAPABILITIES.iter().position(|c| c.what == what).unwrap_or(usize::MAX);
    let mut list: Vec<RiskySubject> = out
        .into_values()
        .map(|mut s| {
            s.grants.sort_by_key(|g| rank(g.capability));
            s.capabilities = s.grants.iter().map(|g| g.capability).collect();
            s.capabilities.dedup();
            s
        })
        .collect();
    list.sort_by(|a, b| {
        let worst = |s: &RiskySubject| s.capabilities.first().map(|c| rank(c)).unwrap_or(usize::MAX);
        (worst(a), !a.cluster_wide, std::cmp::Reverse(a.capabilities.len()), &a.display).cmp(&(
            worst(b),
            !b.cluster_wide,
            std::cmp::Reverse(b.capabilities.len()),
            &b.display,
        ))
    });
    list
}
