//! RBAC analysis at scale: a generated cluster with 20,000 roles and bindings and 50,000 distinct
//! subjects. Measures the full analysis (resolve the graph with aggregation, build the who-can
//! index, run every RBAC check) and the latency of who-can and what-can-subject queries.
//!
//! Run: `cargo bench --bench rbac` (release). Optional arguments: `roles bindings namespaces`.

use std::time::{Duration, Instant};

use chrono::Utc;
use palisade::analysis::rbac::{Identity, Rbac, Request, WhoCanIndex};
use palisade::checks::rbac::CHECKS;
use palisade::checks::{CheckOptions, Context};
use palisade::snapshot::{
    Binding, ClusterInfo, Evidence, LabelSelector, Origin, PolicyRule, Role, RoleRef, ServiceAccount,
    Snapshot, Source, Subject,
};

/// A small deterministic generator (xorshift64*), so runs are comparable.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const RESOURCES: &[(&str, &str)] = &[
    ("", "pods"),
    ("", "pods/log"),
    ("", "pods/exec"),
    ("", "services"),
    ("", "configmaps"),
    ("", "secrets"),
    ("", "serviceaccounts"),
    ("", "serviceaccounts/token"),
    ("", "persistentvolumeclaims"),
    ("", "events"),
    ("", "endpoints"),
    ("apps", "deployments"),
    ("apps", "deployments/scale"),
    ("apps", "statefulsets"),
    ("apps", "daemonsets"),
    ("apps", "replicasets"),
    ("batch", "jobs"),
    ("batch", "cronjobs"),
    ("networking.k8s.io", "ingresses"),
    ("networking.k8s.io", "networkpolicies"),
    ("policy", "poddisruptionbudgets"),
    ("autoscaling", "horizontalpodautoscalers"),
    ("coordination.k8s.io", "leases"),
    ("example.com", "widgets"),
    ("example.com", "gadgets"),
];
const CLUSTER_RESOURCES: &[(&str, &str)] = &[
    ("", "nodes"),
    ("", "nodes/proxy"),
    ("", "namespaces"),
    ("", "persistentvolumes"),
    ("rbac.authorization.k8s.io", "clusterroles"),
    ("rbac.authorization.k8s.io", "clusterrolebindings"),
    ("storage.k8s.io", "storageclasses"),
    ("admissionregistration.k8s.io", "validatingwebhookconfigurations"),
    ("certificates.k8s.io", "certificatesigningrequests"),
];
const VERBS: &[&str] = &["get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"];

fn rule(rng: &mut Rng, cluster: bool) -> PolicyRule {
    let mut r = PolicyRule::default();
    let roll = rng.below(100);
    if cluster && roll < 3 {
        r.verbs = vec!["get".into()];
        r.non_resource_urls = vec![["/metrics", "/healthz/*", "/logs/*", "/version"][rng.below(4)].into()];
        return r;
    }
    let n_verbs = 1 + rng.below(4);
    for _ in 0..n_verbs {
        r.verbs.push(rng.pick(VERBS).to_string());
    }
    if roll < 5 {
        r.verbs = vec!["*".into()];
    }
    let pool = if cluster && rng.below(3) == 0 { CLUSTER_RESOURCES } else { RESOURCES };
    let (group, _) = rng.pick(pool);
    r.api_groups = vec![if roll % 17 == 0 { "*".to_string() } else { group.to_string() }];
    let n_res = 1 + rng.below(4);
    for _ in 0..n_res {
        let (g, res) = rng.pick(pool);
        if *g == r.api_groups[0] || r.api_groups[0] == "*" {
            r.resources.push(res.to_string());
        }
    }
    if r.resources.is_empty() {
        r.resources.push(if roll % 23 == 0 { "*".into() } else { rng.pick(pool).1.to_string() });
    }
    if roll % 11 == 0 {
        r.resource_names = vec![format!("obj-{}", rng.below(50))];
    }
    r
}

fn subject(rng: &mut Rng, namespaces: usize, users: usize, groups: usize, sas_per_ns: usize) -> Subject {
    match rng.below(10) {
        0 => Subject { kind: "User".into(), name: format!("user-{}", rng.below(users)), namespace: None },
        1 => Subject { kind: "Group".into(), name: format!("group-{}", rng.below(groups)), namespace: None },
        _ => Subject {
            kind: "ServiceAccount".into(),
            name: format!("sa-{}", rng.below(sas_per_ns)),
            namespace: Some(format!("ns-{}", rng.below(namespaces))),
        },
    }
}

fn generate(roles: usize, bindings: usize, namespaces: usize) -> Snapshot {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let origin = Origin::new(Source::Api, Utc::now());
    let mut snap = Snapshot::new(ClusterInfo { name: "bench".into(), ..Default::default() }, Utc::now());
    let cluster_roles_n = roles / 5;
    let aggregated = 40usize;
    let mut cluster_roles = Vec::with_capacity(cluster_roles_n);
    for i in 0..cluster_roles_n {
        let mut r = Role {
            namespace: None,
            name: format!("cr-{i}"),
            labels: Default::default(),
            rules: (0..2 + rng.below(5)).map(|_| rule(&mut rng, true)).collect(),
            aggregation: None,
        };
        if i < aggregated {
            // Aggregated roles select the sources labelled for them, and some other aggregated
            // roles (transitive aggregation, as admin ⊇ edit ⊇ view).
            r.rules.clear();
            r.aggregation = Some(vec![LabelSelector {
                match_labels: [(format!("aggregate-to-{i}"), "true".to_string())].into_iter().collect(),
                match_expressions: vec![],
            }]);
            if i + 1 < aggregated {
                r.labels.insert(format!("aggregate-to-{}", i + 1), "true".into());
            }
        } else if rng.below(10) == 0 {
            r.labels.insert(format!("aggregate-to-{}", rng.below(aggregated)), "true".into());
        }
        cluster_roles.push(r);
    }
    let ns_roles: Vec<Role> = (0..roles - cluster_roles_n)
        .map(|i| Role {
            namespace: Some(format!("ns-{}", rng.below(namespaces))),
            name: format!("role-{i}"),
            labels: Default::default(),
            rules: (0..2 + rng.below(5)).map(|_| rule(&mut rng, false)).collect(),
            aggregation: None,
        })
        .collect();

    // 50,000 distinct subjects: 45 service accounts per namespace (45,000), 4,000 users, 1,000 groups.
    let (users, groups, sas_per_ns) = (4_000, 1_000, 45);
    let service_accounts: Vec<ServiceAccount> = (0..namespaces)
        .flat_map(|n| {
            (0..sas_per_ns).map(move |s| ServiceAccount {
                namespace: format!("ns-{n}"),
                name: format!("sa-{s}"),
                automount_token: None,
            })
        })
        .collect();

    let crb_n = bindings / 5;
    let mut crbs = Vec::with_capacity(crb_n);
    let mut rbs = Vec::with_capacity(bindings - crb_n);
    for i in 0..bindings {
        let subjects =
            (0..1 + rng.below(8)).map(|_| subject(&mut rng, namespaces, users, groups, sas_per_ns)).collect();
        if i < crb_n {
            crbs.push(Binding {
                namespace: None,
                name: format!("crb-{i}"),
                role_ref: RoleRef {
                    kind: "ClusterRole".into(),
                    name: format!("cr-{}", rng.below(cluster_roles_n)),
                },
                subjects,
            });
        } else if rng.below(3) == 0 {
            // A RoleBinding to a ClusterRole (namespace-limited).
            rbs.push(Binding {
                namespace: Some(format!("ns-{}", rng.below(namespaces))),
                name: format!("rb-{i}"),
                role_ref: RoleRef {
                    kind: "ClusterRole".into(),
                    name: format!("cr-{}", rng.below(cluster_roles_n)),
                },
                subjects,
            });
        } else {
            let role = &ns_roles[rng.below(ns_roles.len())];
            rbs.push(Binding {
                namespace: role.namespace.clone(),
                name: format!("rb-{i}"),
                role_ref: RoleRef { kind: "Role".into(), name: role.name.clone() },
                subjects,
            });
        }
    }
    snap.cluster_roles = Evidence::complete(origin.clone(), cluster_roles);
    snap.roles = Evidence::complete(origin.clone(), ns_roles);
    snap.cluster_role_bindings = Evidence::complete(origin.clone(), crbs);
    snap.role_bindings = Evidence::complete(origin.clone(), rbs);
    snap.service_accounts = Evidence::complete(origin.clone(), service_accounts);
    snap.pods = Evidence::complete(origin.clone(), vec![]);
    snap.secrets = Evidence::complete(origin, vec![]);
    snap
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let roles = args.first().copied().unwrap_or(10_000);
    let bindings = args.get(1).copied().unwrap_or(10_000);
    let namespaces = args.get(2).copied().unwrap_or(1_000);

    let t = Instant::now();
    let snapshot = generate(roles, bindings, namespaces);
    let subjects: std::collections::HashSet<(String, String, Option<String>)> = snapshot
        .cluster_role_bindings
        .iter()
        .chain(snapshot.role_bindings.iter())
        .flat_map(|b| b.subjects.iter().map(|s| (s.kind.clone(), s.name.clone(), s.namespace.clone())))
        .chain(
            snapshot
                .service_accounts
                .iter()
                .map(|sa| ("ServiceAccount".to_string(), sa.name.clone(), Some(sa.namespace.clone()))),
        )
        .collect();
    let rules: usize =
        snapshot.cluster_roles.iter().chain(snapshot.roles.iter()).map(|r| r.rules.len()).sum();
    println!(
        "generated {} roles ({} cluster roles, 40 aggregated), {} bindings, {} rules, {} distinct subjects, {} namespaces in {:.0?}",
        roles,
        snapshot.cluster_roles.len(),
        bindings,
        rules,
        subjects.len(),
        namespaces,
        t.elapsed()
    );

    // Full analysis: graph + index + every RBAC check.
    let mut full = Vec::new();
    let mut findings = 0usize;
    for _ in 0..3 {
        let t = Instant::now();
        let ctx = Context::new(&snapshot);
        let graph = {
            ctx.rbac();
            t.elapsed()
        };
        let index = WhoCanIndex::build(ctx.rbac());
        let indexed = t.elapsed();
        let results: usize =
            CHECKS.iter().map(|c| (c.run)(&c.meta, &ctx, &CheckOptions::default()).len()).sum();
        let total = t.elapsed();
        findings = results;
        drop(index);
        println!(
            "full analysis: graph {graph:.1?}, + who-can index {:.1?}, + {} RBAC checks {:.1?} = {total:.1?} ({results} results)",
            indexed - graph,
            CHECKS.len(),
            total - indexed
        );
        full.push(total);
    }
    full.sort();

    // Who-can latency over varied requests.
    let rbac = Rbac::new(&snapshot);
    let index = WhoCanIndex::build(&rbac);
    let mut rng = Rng(42);
    let mut latencies = Vec::new();
    let mut answers = 0usize;
    for i in 0..2_000 {
        let (group, res) = if i % 5 == 0 { *rng.pick(CLUSTER_RESOURCES) } else { *rng.pick(RESOURCES) };
        let verb = rng.pick(VERBS);
        let ns = format!("ns-{}", rng.below(namespaces));
        let request = if i % 97 == 0 {
            Request::non_resource("get", "/metrics")
        } else if i % 5 == 0 || i % 7 == 0 {
            Request::resource(verb, group, res, None)
        } else {
            Request::resource(verb, group, res, Some(&ns))
        };
        let t = Instant::now();
        let answer = index.who_can(&request);
        latencies.push(t.elapsed());
        answers += answer.allowed.len() + answer.only_named.len();
    }
    latencies.sort();
    println!(
        "who-can ({} queries, {} answers in total): median {:.0?}, p99 {:.0?}, max {:.0?}",
        latencies.len(),
        answers,
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        latencies[latencies.len() - 1]
    );

    let mut latencies = Vec::new();
    let mut grants = 0usize;
    for _ in 0..2_000 {
        let identity = match rng.below(10) {
            0 => Identity::user(
                &format!("user-{}", rng.below(4_000)),
                &[format!("group-{}", rng.below(1_000))],
            ),
            _ => Identity::service_account(
                &format!("ns-{}", rng.below(namespaces)),
                &format!("sa-{}", rng.below(45)),
            ),
        };
        let t = Instant::now();
        grants += rbac.permissions_of(&identity).grants.len();
        latencies.push(t.elapsed());
    }
    latencies.sort();
    println!(
        "what-can-subject ({} queries, {grants} grants in total): median {:.0?}, p99 {:.0?}, max {:.0?}",
        latencies.len(),
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        latencies[latencies.len() - 1]
    );
    println!("full analysis best of 3: {:.0?} ({findings} RBAC results)", full[0]);
}
