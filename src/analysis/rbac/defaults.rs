//! Known system grants: the default bindings the API server's bootstrap policy, kubeadm and
//! well-known add-ons create, so that findings can tell them from grants someone made.

use super::*;

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
