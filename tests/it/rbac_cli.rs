//! `palisade rbac who-can` and `palisade rbac subject` on a dump, through the library entry points
//! the binary calls (table and JSON output, clear errors).

use palisade::cli::rbac::{subject, who_can, Output, SubjectArgs, WhoCanArgs};

use crate::rbac_checks::{kubeadm_default_dir, kubeadm_default_with};

fn who(
    verb: &str,
    resource: &str,
    ns: Option<&str>,
    from: &std::path::Path,
    output: Output,
) -> anyhow::Result<String> {
    who_can(&WhoCanArgs {
        verb: verb.into(),
        resource: resource.into(),
        namespace: ns.map(str::to_string),
        name: None,
        from: from.to_path_buf(),
        output,
    })
}

#[test]
fn who_can_lists_the_subjects_bindings_and_roles_that_allow_a_request() {
    let dir = kubeadm_default_with(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: qa-exec, namespace: qa}\n\
         roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: edit}\n\
         subjects:\n- {kind: Group, name: 'system:serviceaccounts:qa', apiGroup: rbac.authorization.k8s.io}\n",
    );
    let table = who("create", "pods/exec", Some("qa"), dir.path(), Output::Table).unwrap();
    assert!(table.starts_with("Who can create pods/exec in namespace qa"), "{table}");
    let line = table.lines().find(|l| l.contains("qa-exec")).unwrap_or_else(|| panic!("{table}"));
    assert!(line.contains("Group system:serviceaccounts:qa") && line.contains("ClusterRole edit"), "{line}");
    assert!(line.contains("in namespace qa"), "{line}");

    // In another namespace the RoleBinding does not apply.
    let json = who("create", "pods/exec", Some("prod"), dir.path(), Output::Json).unwrap();
    let answer: serde_json::Value = serde_json::from_str(&json).unwrap();
    let subjects: Vec<&str> = answer["allowed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["subject"]["name"].as_str().unwrap())
        .collect();
    assert!(!subjects.contains(&"system:serviceaccounts:qa"), "{subjects:?}");
    assert!(subjects.contains(&"system:masters"), "{subjects:?}");
}

#[test]
fn subject_shows_what_a_service_account_can_do_through_its_groups() {
    let dir = kubeadm_default_with(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: qa-view, namespace: qa}\n\
         roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}\n\
         subjects:\n- {kind: Group, name: 'system:serviceaccounts:qa', apiGroup: rbac.authorization.k8s.io}\n",
    );
    let args = |output| SubjectArgs {
        kind: "ServiceAccount".into(),
        name: "qa/tester".into(),
        groups: vec![],
        from: dir.path().to_path_buf(),
        output,
    };
    let text = subject(&args(Output::Table)).unwrap();
    assert!(
        text.contains(
            "RoleBinding qa/qa-view → ClusterRole view in namespace qa (via Group system:serviceaccounts:qa)"
        ),
        "{text}"
    );
    assert!(text.contains("aggregated from system:aggregate-to-view"), "{text}");
    let json: serde_json::Value = serde_json::from_str(&subject(&args(Output::Json)).unwrap()).unwrap();
    let bindings: Vec<&str> =
        json["grants"].as_array().unwrap().iter().map(|g| g["binding"]["name"].as_str().unwrap()).collect();
    assert!(bindings.contains(&"qa-view") && bindings.contains(&"system:basic-user"), "{bindings:?}");
}

#[test]
fn a_missing_dump_or_an_unknown_resource_is_a_clear_error() {
    let missing = std::path::Path::new("/nonexistent/dump");
    let err = format!("{:#}", who("get", "pods", None, missing, Output::Table).unwrap_err());
    assert!(err.contains("/nonexistent/dump"), "{err}");
    let err = format!("{:#}", who("get", "gizmos", None, &kubeadm_default_dir(), Output::Table).unwrap_err());
    assert!(err.contains("RESOURCE.GROUP"), "{err}");
}
