//! The bundled sample clusters, read by the offline collector and judged by every check, give the
//! verdicts a CIS Kubernetes Benchmark v1.12 auditor would write down.
//!
//! The expectations below come from the benchmark's recommendations (and the kube-bench rules that
//! implement them: Automated controls FAIL, Manual controls WARN when not met; "not set" branches
//! pass an absent flag) applied to what each sample's README says the cluster runs — not from
//! Palisade's output.

use std::path::PathBuf;

use palisade::checks::{run_all, CheckOptions, CheckResult};
use palisade::collect::dump;
use palisade::domain::Status;
use palisade::frameworks::cis_compliance;

fn sample(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/samples").join(name)
}

fn judge(name: &str) -> Vec<CheckResult> {
    let snap = dump::collect(sample(name)).unwrap_or_else(|e| panic!("sample {name} does not read: {e}"));
    run_all(&snap, &CheckOptions::default())
}

/// Assert the CIS v1.12 control verdicts (rolled up over every instance the control applies to).
fn assert_cis(results: &[CheckResult], expected: &[(&str, Status)]) {
    let compliance = cis_compliance(results);
    let mut wrong = Vec::new();
    for (id, want) in expected {
        let got = compliance.controls.iter().find(|c| c.id == *id).and_then(|c| c.status);
        if got != Some(*want) {
            let evidence: Vec<&str> = results
                .iter()
                .filter(|r| r.refs.iter().any(|f| f.framework == "cis-1.12" && f.id == *id))
                .map(|r| r.evidence.as_str())
                .collect();
            wrong.push(format!("CIS {id}: expected {want}, got {got:?}: {evidence:?}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

use Status::{Fail, Pass, Warn};

#[test]
fn kubeadm_default_gets_the_verdicts_of_a_cis_audit_of_stock_kubeadm() {
    let results = judge("kubeadm-default");
    assert_cis(
        &results,
        &[
            // 1.2 API server, as `kubeadm init` writes it.
            ("1.2.1", Warn), // --anonymous-auth not set (defaults to true); Manual
            ("1.2.2", Pass), // no --token-auth-file
            ("1.2.3", Warn), // no DenyServiceExternalIPs; Manual
            ("1.2.4", Pass), // kubelet client certificate and key set
            ("1.2.5", Fail), // no --kubelet-certificate-authority
            ("1.2.6", Pass), // Node,RBAC
            ("1.2.7", Pass),
            ("1.2.8", Pass),
            ("1.2.9", Warn),  // no EventRateLimit; Manual
            ("1.2.10", Pass), // AlwaysAdmit not enabled
            ("1.2.11", Warn), // no AlwaysPullImages; Manual
            ("1.2.12", Pass), // ServiceAccount not disabled
            ("1.2.13", Pass), // NamespaceLifecycle not disabled
            ("1.2.14", Pass), // NodeRestriction enabled
            ("1.2.15", Fail), // --profiling not set (defaults to true)
            ("1.2.16", Fail), // no audit log
            ("1.2.17", Fail),
            ("1.2.18", Fail),
            ("1.2.19", Fail),
            ("1.2.21", Pass), // --service-account-lookup not set: allowed by the benchmark
            ("1.2.22", Pass),
            ("1.2.23", Pass),
            ("1.2.24", Pass),
            ("1.2.25", Pass),
            ("1.2.26", Pass),
            ("1.2.27", Warn), // no encryption provider config; Manual
            ("1.2.29", Warn), // no --tls-cipher-suites; Manual
            ("1.2.30", Fail), // token expiration extension not disabled
            // 1.3 controller manager, 1.4 scheduler.
            ("1.3.1", Warn), // no --terminated-pod-gc-threshold; Manual
            ("1.3.2", Fail),
            ("1.3.3", Pass),
            ("1.3.4", Pass),
            ("1.3.5", Pass),
            ("1.3.6", Pass),
            ("1.3.7", Pass),
            ("1.4.1", Fail),
            ("1.4.2", Pass),
            // 2 etcd: kubeadm configures client and peer TLS with its own CA.
            ("2.1", Pass),
            ("2.2", Pass),
            ("2.3", Pass),
            ("2.4", Pass),
            ("2.5", Pass),
            ("2.6", Pass),
            ("2.7", Pass),
            // 3.2.1 no audit policy; Manual.
            ("3.2.1", Warn),
            // 4.2 kubelets as kubeadm configures them.
            ("4.2.1", Pass),
            ("4.2.2", Pass),
            ("4.2.3", Pass),
            ("4.2.4", Pass),
            ("4.2.6", Pass),
            ("4.2.10", Pass),
            ("4.2.11", Pass), // feature gate not set: on by default, allowed by the benchmark
            ("4.2.9", Warn),  // no tlsCertFile / tlsPrivateKeyFile; Manual
            ("4.2.12", Warn), // no tlsCipherSuites; Manual
            ("4.2.13", Warn), // podPidsLimit -1 = no limit; Manual
            ("4.2.14", Warn), // seccompDefault false; Manual
        ],
    );
    // One result per instance: one API server, three kubelets.
    let per = |id: &str| results.iter().filter(|r| r.check_id == id).count();
    assert_eq!(per("PAL-AUTHN-001"), 1);
    assert_eq!(per("PAL-AUTHN-020"), 3);
    // Nothing is unknown: the sample carries every piece of evidence these checks read.
    let unknown: Vec<_> = results
        .iter()
        .filter(|r| r.status == Status::Unknown && !r.check_id.starts_with("PAL-NET"))
        .map(|r| format!("{} {}", r.check_id, r.evidence))
        .collect();
    assert!(unknown.is_empty(), "{unknown:?}");
    // Evidence reads as the auditor would write it.
    let profiling = results.iter().find(|r| r.check_id == "PAL-AUTHZ-011").unwrap();
    assert!(
        profiling.evidence.starts_with("kube-apiserver on cp-1 runs without --profiling"),
        "{}",
        profiling.evidence
    );
    assert_eq!(profiling.resource.node.as_deref(), Some("cp-1"));
}
