//! Flag reading as pflag (and etcd's Go `flag`) read command lines.

use super::*;

const API: Program = Program::Component(ComponentKind::KubeApiserver);

fn api(tokens: &[&str]) -> Flags {
    let mut all = vec!["kube-apiserver"];
    all.extend_from_slice(tokens);
    Flags::parse(&all)
}

fn set(v: FlagValue) -> String {
    match v {
        FlagValue::Set { value, .. } => value,
        other => panic!("expected a value, got {other:?}"),
    }
}

#[test]
fn equals_space_and_bare_forms_are_all_understood() {
    let f = api(&["--anonymous-auth=false", "--authorization-mode", "Node,RBAC", "--profiling", "--v=2"]);
    assert_eq!(set(f.value(API, "anonymous-auth")), "false");
    assert_eq!(set(f.value(API, "--authorization-mode")), "Node,RBAC");
    assert_eq!(set(f.value(API, "profiling")), "true");
    assert_eq!(set(f.value(API, "v")), "2");
    assert_eq!(f.value(API, "token-auth-file"), FlagValue::Absent);
}

#[test]
fn the_last_occurrence_of_a_scalar_flag_wins() {
    let f = api(&["--profiling=true", "--profiling=false", "--audit-log-maxage=10", "--audit-log-maxage=30"]);
    assert_eq!(set(f.value(API, "profiling")), "false");
    assert_eq!(set(f.value(API, "audit-log-maxage")), "30");
}

#[test]
fn a_repeated_authorization_mode_appends_so_an_earlier_always_allow_stays_first() {
    let f = api(&["--authorization-mode=AlwaysAllow", "--authorization-mode=Node,RBAC"]);
    assert_eq!(set(f.value(API, "authorization-mode")), "AlwaysAllow,Node,RBAC");
}

#[test]
fn repeated_admission_plugin_cipher_and_key_file_flags_append() {
    let f = api(&[
        "--enable-admission-plugins=NodeRestriction",
        "--enable-admission-plugins=AlwaysAdmit",
        "--disable-admission-plugins=ServiceAccount",
        "--disable-admission-plugins=NamespaceLifecycle",
        "--tls-cipher-suites=TLS_AES_128_GCM_SHA256",
        "--tls-cipher-suites=TLS_RSA_WITH_RC4_128_SHA",
        "--service-account-key-file=/a.pub",
        "--service-account-key-file=/b.pub",
    ]);
    assert_eq!(set(f.value(API, "enable-admission-plugins")), "NodeRestriction,AlwaysAdmit");
    assert_eq!(set(f.value(API, "disable-admission-plugins")), "ServiceAccount,NamespaceLifecycle");
    assert_eq!(set(f.value(API, "tls-cipher-suites")), "TLS_AES_128_GCM_SHA256,TLS_RSA_WITH_RC4_128_SHA");
    assert_eq!(set(f.value(API, "service-account-key-file")), "/a.pub,/b.pub");
}

#[test]
fn repeated_feature_gates_merge_key_by_key_with_the_later_key_winning() {
    let f = api(&["--feature-gates=A=true,B=false", "--feature-gates=B=true,C=false"]);
    assert_eq!(set(f.value(API, "feature-gates")), "A=true,B=true,C=false");
    let kubelet = Flags::parse(&["kubelet", "--node-labels=a=1", "--node-labels=b=2,a=3"]);
    assert_eq!(set(kubelet.value(Program::Kubelet, "node-labels")), "a=3,b=2");
}

#[test]
fn a_flag_listed_as_a_slice_for_one_component_is_a_scalar_for_another() {
    // The kubelet's --authorization-mode is a plain string: the last occurrence wins.
    let f = Flags::parse(&["kubelet", "--authorization-mode=AlwaysAllow", "--authorization-mode=Webhook"]);
    assert_eq!(set(f.value(Program::Kubelet, "authorization-mode")), "Webhook");
}

#[test]
fn every_go_bool_spelling_is_read_and_others_are_unknown() {
    for t in ["1", "t", "T", "TRUE", "true", "True"] {
        assert_eq!(set(api(&[&format!("--anonymous-auth={t}")]).value(API, "anonymous-auth")), "true", "{t}");
    }
    for f in ["0", "f", "F", "FALSE", "false", "False"] {
        assert_eq!(
            set(api(&[&format!("--anonymous-auth={f}")]).value(API, "anonymous-auth")),
            "false",
            "{f}"
        );
    }
    for bad in ["yes", "no", "tRuE", "off", ""] {
        let v = api(&[&format!("--anonymous-auth={bad}")]).value(API, "anonymous-auth");
        assert!(matches!(v, FlagValue::Unknown(ref why) if why.contains("refuses to start")), "{bad}: {v:?}");
    }
}

#[test]
fn a_bool_flag_followed_by_a_bare_word_is_true_plus_a_stray_argument_and_reads_unknown() {
    let f = api(&["--anonymous-auth", "false", "--profiling=false"]);
    match f.value(API, "anonymous-auth") {
        FlagValue::Unknown(why) => {
            assert!(why.contains("stray argument"), "{why}");
            assert!(why.contains("refuses to start"), "{why}");
        }
        other => panic!("expected unknown, got {other:?}"),
    }
    // The stray word is not taken as a flag value, and the flags after it still read.
    assert_eq!(set(f.value(API, "profiling")), "false");
}

#[test]
fn a_bare_bool_flag_followed_by_a_flag_reads_true() {
    let f = Flags::parse(&["etcd", "--client-cert-auth", "--cert-file=/a"]);
    let etcd = Program::Component(ComponentKind::Etcd);
    assert_eq!(set(f.value(etcd, "client-cert-auth")), "true");
    assert_eq!(set(f.value(etcd, "cert-file")), "/a");
}

#[test]
fn a_string_flag_without_a_value_is_not_present_with_value_true() {
    let f = api(&["--token-auth-file"]);
    assert!(matches!(f.value(API, "token-auth-file"), FlagValue::Unknown(_)));
    let g = api(&["--authorization-mode"]);
    assert!(
        matches!(g.value(API, "authorization-mode"), FlagValue::Unknown(ref w) if w.contains("needs an argument"))
    );
}

#[test]
fn a_slice_flag_written_with_a_space_takes_the_next_word_even_when_it_starts_with_a_dash() {
    // pflag gives a non-boolean flag the next argument, whatever it looks like.
    let f = api(&["--authorization-mode", "--profiling=false"]);
    assert_eq!(set(f.value(API, "authorization-mode")), "--profiling=false");
    assert_eq!(f.value(API, "profiling"), FlagValue::Absent);
}

#[test]
fn a_shell_script_with_single_and_double_quotes_is_split_as_the_shell_would() {
    let script = r#"exec kube-apiserver --authorization-mode="Node,RBAC" --audit-log-path='/var/log/a b.log' --profiling=false"#;
    let tokens = vec!["/bin/sh".to_string(), "-c".to_string(), script.to_string()];
    let f = Flags::from_container(API, &tokens);
    assert_eq!(set(f.value(API, "authorization-mode")), "Node,RBAC");
    assert_eq!(set(f.value(API, "audit-log-path")), "/var/log/a b.log");
    assert_eq!(set(f.value(API, "profiling")), "false");
    assert_eq!(f.value(API, "exec"), FlagValue::Absent);
}

#[test]
fn a_shell_variable_makes_that_flag_unknown_but_a_single_quoted_dollar_is_literal() {
    let script = r#"kube-apiserver --anonymous-auth=$ANON --token-auth-file="$DIR/tokens" --audit-log-path='/x$y' --profiling=false"#;
    let tokens = vec!["bash".to_string(), "-c".to_string(), script.to_string()];
    let f = Flags::from_container(API, &tokens);
    assert!(
        matches!(f.value(API, "anonymous-auth"), FlagValue::Unknown(ref w) if w.contains("shell expansion"))
    );
    assert!(matches!(f.value(API, "token-auth-file"), FlagValue::Unknown(_)));
    assert_eq!(set(f.value(API, "audit-log-path")), "/x$y");
    assert_eq!(set(f.value(API, "profiling")), "false");
}

#[test]
fn an_unterminated_quote_in_a_shell_script_leaves_every_flag_unknown_rather_than_absent() {
    let tokens = vec!["sh".to_string(), "-c".to_string(), "kube-apiserver --profiling='false".to_string()];
    let f = Flags::from_container(API, &tokens);
    assert!(matches!(f.value(API, "profiling"), FlagValue::Unknown(ref w) if w.contains("does not parse")));
    assert!(matches!(f.value(API, "anonymous-auth"), FlagValue::Unknown(_)));
}

#[test]
fn flags_serialized_before_the_unreadable_field_existed_still_load() {
    let f: Flags = serde_json::from_str(r#"[{"name":"profiling","value":"false"}]"#).unwrap();
    assert_eq!(set(f.value(API, "profiling")), "false");
}
