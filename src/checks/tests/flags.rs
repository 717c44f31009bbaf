//! Checks that read flags judge them as the components read them: repeated slice flags append,
//! booleans take Go spellings, and a flag the component would refuse decides nothing.
//! Expected verdicts follow the CIS 1.12 text (1.2.1 anonymous auth off, 1.2.6/1.2.7 no
//! AlwaysAllow, 1.2.11 no AlwaysAdmit) and pflag's documented reading.

use super::*;
use crate::snapshot::{Flags, Program};

const API: ComponentKind = ComponentKind::KubeApiserver;

/// The kubeadm sample with the API server's command line extended by `extra` words, read as
/// kube-apiserver reads its container command.
fn apiserver_with(extra: &[&str]) -> Snapshot {
    let mut snap = Snapshot::kubeadm_default();
    for c in snap.components.items.iter_mut().filter(|c| c.kind == API) {
        let mut tokens: Vec<String> = vec!["kube-apiserver".into()];
        for f in c.flags.iter() {
            tokens.push(match &f.value {
                Some(v) => format!("--{}={v}", f.name),
                None => format!("--{}", f.name),
            });
        }
        tokens.extend(extra.iter().map(|s| s.to_string()));
        c.flags = Flags::from_container(Program::Component(API), &tokens);
    }
    snap
}

fn only(results: &[CheckResult]) -> &CheckResult {
    assert_eq!(results.len(), 1, "{results:?}");
    &results[0]
}

#[test]
fn always_allow_earlier_in_a_repeated_authorization_mode_fails() {
    let snap = Snapshot::kubeadm_default().without_flag(API, "authorization-mode");
    let snap = {
        let mut s = snap;
        for c in s.components.items.iter_mut().filter(|c| c.kind == API) {
            c.flags.push("authorization-mode", Some("AlwaysAllow"));
            c.flags.push("authorization-mode", Some("Node,RBAC"));
        }
        s
    };
    let r = run("PAL-AUTHZ-001", &snap);
    assert_eq!(only(&r).status, Status::Fail, "{}", r[0].evidence);
    assert!(r[0].evidence.contains("AlwaysAllow"), "{}", r[0].evidence);
    // Node and RBAC are in the chain too: those checks pass.
    assert_eq!(only(&run("PAL-AUTHZ-002", &snap)).status, Status::Pass);
}

#[test]
fn always_admit_in_a_second_enable_admission_plugins_fails() {
    let snap = apiserver_with(&["--enable-admission-plugins=AlwaysAdmit"]);
    assert_eq!(only(&run("PAL-AUTHZ-005", &snap)).status, Status::Fail);
    // NodeRestriction from the first occurrence is still enabled.
    assert_eq!(only(&run("PAL-AUTHZ-006", &snap)).status, Status::Pass);
}

#[test]
fn anonymous_auth_spelled_the_go_ways_is_judged_by_its_value() {
    for off in ["0", "f", "F", "FALSE", "false", "False"] {
        let snap = apiserver_with(&[&format!("--anonymous-auth={off}")]);
        assert_eq!(only(&run("PAL-AUTHN-001", &snap)).status, Status::Pass, "{off}");
    }
    for on in ["1", "t", "T", "TRUE", "true", "True"] {
        let snap = apiserver_with(&[&format!("--anonymous-auth={on}")]);
        // CIS 1.2.1 is Manual: a failing value is a warning.
        assert_eq!(only(&run("PAL-AUTHN-001", &snap)).status, Status::Warn, "{on}");
    }
}

#[test]
fn anonymous_auth_followed_by_a_bare_false_is_unknown_with_the_reason_not_a_pass() {
    let snap = apiserver_with(&["--anonymous-auth", "false"]);
    let r = run("PAL-AUTHN-001", &snap);
    assert_eq!(only(&r).status, Status::Unknown);
    assert!(r[0].evidence.contains("stray argument"), "{}", r[0].evidence);
    assert!(r[0].evidence.contains("refuses to start"), "{}", r[0].evidence);
}

#[test]
fn an_anonymous_auth_value_from_a_shell_variable_is_unknown() {
    let mut snap = Snapshot::kubeadm_default();
    for c in snap.components.items.iter_mut().filter(|c| c.kind == API) {
        let script =
            "exec kube-apiserver --anonymous-auth=$ANON --authorization-mode='Node,RBAC'".to_string();
        c.flags = Flags::from_container(Program::Component(API), &["sh".into(), "-c".into(), script]);
    }
    let r = run("PAL-AUTHN-001", &snap);
    assert_eq!(only(&r).status, Status::Unknown);
    assert!(r[0].evidence.contains("shell expansion"), "{}", r[0].evidence);
    // The quoted mode is read without its quotes.
    assert_eq!(only(&run("PAL-AUTHZ-001", &snap)).status, Status::Pass);
}

#[test]
fn a_kubelet_bool_flag_followed_by_a_bare_word_is_unknown() {
    let mut snap = Snapshot::kubeadm_default();
    for k in snap.kubelets.items.iter_mut() {
        k.flags = Some(Flags::parse(&["kubelet", "--anonymous-auth", "false"]));
    }
    let r = run("PAL-AUTHN-020", &snap);
    assert!(!r.is_empty());
    for x in &r {
        assert_eq!(x.status, Status::Unknown, "{}", x.evidence);
        assert!(x.evidence.contains("stray argument"), "{}", x.evidence);
    }
}
