//! `palisade scan --from DIR --format … --fail-on …` run as a user runs it: the real binary on a
//! dump written to disk (static pod manifests in the `args` form a Helm-free cluster uses).

use std::path::Path;
use std::process::Command;

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A kube-apiserver static pod whose flags are all in `args`, as separate tokens.
fn apiserver_manifest(extra: &[&str]) -> String {
    let mut args = vec![
        "--authorization-mode",
        "Node,RBAC",
        "--client-ca-file",
        "/etc/kubernetes/pki/ca.crt",
        "--enable-admission-plugins",
        "NodeRestriction",
        "--tls-cert-file",
        "/etc/kubernetes/pki/apiserver.crt",
        "--tls-private-key-file",
        "/etc/kubernetes/pki/apiserver.key",
    ];
    args.extend_from_slice(extra);
    let args: String = args.iter().map(|a| format!("    - {a:?}\n")).collect();
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: kube-apiserver\n  namespace: kube-system\n  labels:\n    component: kube-apiserver\n    tier: control-plane\nspec:\n  hostNetwork: true\n  containers:\n  - name: kube-apiserver\n    image: registry.k8s.io/kube-apiserver:v1.31.4\n    command:\n    - kube-apiserver\n    args:\n{args}"
    )
}

fn dump_with(extra: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "manifests/cp-1/kube-apiserver.yaml", &apiserver_manifest(extra));
    write(
        dir.path(),
        "nodes.yaml",
        "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Node\n  metadata:\n    name: cp-1\n    labels:\n      node-role.kubernetes.io/control-plane: \"\"\n  status:\n    nodeInfo:\n      kubeletVersion: v1.31.4\n",
    );
    dir
}

fn scan(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_palisade"))
        .arg("scan")
        .arg("--from")
        .arg(dir)
        .arg("--quiet")
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("run palisade");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_json_scan_of_a_manifest_in_args_form_reports_the_flag_as_written() {
    // A boolean takes its value after `=` only; `--anonymous-auth true` is covered below.
    let dir = dump_with(&["--anonymous-auth=true"]);
    let (code, stdout, stderr) = scan(dir.path(), &["--format", "json"]);
    assert_eq!(code, 0, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).expect("stdout is the JSON report");
    let results = v["results"].as_array().unwrap();
    let anon = results.iter().find(|r| r["check_id"] == "PAL-AUTHN-001").unwrap();
    assert_eq!(anon["status"], "warn");
    assert_eq!(
        anon["evidence"],
        "kube-apiserver on cp-1 runs with --anonymous-auth=true; expected --anonymous-auth=false"
    );
    assert_eq!(anon["resource"]["node"], "cp-1");
    assert_eq!(anon["source"], "dump");
    assert_eq!(anon["refs"][0]["id"], "1.2.1");
    let authz = results.iter().find(|r| r["check_id"] == "PAL-AUTHZ-001").unwrap();
    assert_eq!(authz["status"], "pass");
    assert_eq!(v["summary"]["total"].as_u64().unwrap() as usize, results.len());
}

#[test]
fn a_boolean_flag_followed_by_a_bare_word_is_unknown_because_the_api_server_refuses_to_start() {
    // pflag: `--anonymous-auth true` is `--anonymous-auth` plus the stray argument `true`, and
    // kube-apiserver takes no arguments.
    let dir = dump_with(&["--anonymous-auth", "false"]);
    let (code, stdout, stderr) = scan(dir.path(), &["--format", "json"]);
    assert_eq!(code, 0, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).expect("stdout is the JSON report");
    let results = v["results"].as_array().unwrap();
    let anon = results.iter().find(|r| r["check_id"] == "PAL-AUTHN-001").unwrap();
    assert_eq!(anon["status"], "unknown");
    let evidence = anon["evidence"].as_str().unwrap();
    assert!(evidence.contains("stray argument") && evidence.contains("refuses to start"), "{evidence}");
}

#[test]
fn fail_on_gates_the_exit_code_by_severity() {
    // AlwaysAllow is a critical failure.
    let dir = dump_with(&["--authorization-mode", "AlwaysAllow"]);
    let (code, _, _) = scan(dir.path(), &["--format", "json", "--fail-on", "critical"]);
    assert_eq!(code, 1);
    // Without AlwaysAllow nothing critical fails; profiling (low) still does.
    let dir = dump_with(&[]);
    let (code, _, stderr) = scan(dir.path(), &["--format", "json", "--fail-on", "critical"]);
    assert_eq!(code, 0, "{stderr}");
    let (code, _, _) = scan(dir.path(), &["--format", "json", "--fail-on", "low"]);
    assert_eq!(code, 1);
    // No gate: a completed scan exits 0 whatever it found.
    let (code, _, _) = scan(dir.path(), &["--format", "table"]);
    assert_eq!(code, 0);
}

#[test]
fn a_scan_that_cannot_read_its_source_exits_2_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-dump");
    let (code, stdout, stderr) = scan(&missing, &["--format", "json"]);
    assert_eq!(code, 2);
    assert!(stdout.is_empty());
    assert!(stderr.contains("no-such-dump"), "{stderr}");
}

#[test]
fn sarif_output_points_at_the_manifest_file() {
    let dir = dump_with(&[]);
    let (code, stdout, stderr) = scan(dir.path(), &["--format", "sarif"]);
    assert_eq!(code, 0, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["version"], "2.1.0");
    let results = v["runs"][0]["results"].as_array().unwrap();
    let profiling = results.iter().find(|r| r["ruleId"] == "PAL-AUTHZ-011").expect("profiling fails");
    let uri = profiling["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].as_str().unwrap();
    assert!(uri.ends_with("manifests/cp-1/kube-apiserver.yaml"), "{uri}");
    assert!(results.iter().all(|r| r["kind"] != "pass"));
}

#[test]
fn the_table_groups_results_by_area_without_color_when_not_a_terminal() {
    let dir = dump_with(&[]);
    let (code, stdout, _) = scan(dir.path(), &["--format", "table"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("\nAUTHN ("));
    assert!(stdout.contains("\nAUTHZ ("));
    assert!(!stdout.contains('\x1b'));
    assert!(stdout.contains("CIS Kubernetes Benchmark v1.12:"));
}

#[test]
fn a_directory_of_node_less_manifests_gives_one_result_per_manifest_and_counts_them() {
    // A Git repository of static pods: no node level, so nothing ties a manifest to a node. Each
    // manifest is its own API server; the one that allows anonymous requests is not hidden by the
    // two that do not.
    let dir = tempfile::tempdir().unwrap();
    let unnamed = apiserver_manifest(&["--anonymous-auth=false"]).replace("  name: kube-apiserver\n", "");
    write(dir.path(), "manifests/apiserver-a.yaml", &apiserver_manifest(&["--anonymous-auth=false"]));
    write(dir.path(), "manifests/apiserver-b.yaml", &apiserver_manifest(&["--anonymous-auth=true"]));
    write(dir.path(), "manifests/apiserver-c.yaml", &unnamed);
    let (code, stdout, stderr) = scan(dir.path(), &["--format", "json"]);
    assert_eq!(code, 0, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).expect("stdout is the JSON report");
    let anon: Vec<&serde_json::Value> =
        v["results"].as_array().unwrap().iter().filter(|r| r["check_id"] == "PAL-AUTHN-001").collect();
    assert_eq!(anon.len(), 3, "one result per manifest: {anon:?}");
    let mut names: Vec<&str> = anon.iter().map(|r| r["resource"]["name"].as_str().unwrap()).collect();
    names.sort();
    // Named by pod name, made unique; the pod without a name by its file.
    assert_eq!(names, ["apiserver-c", "kube-apiserver", "kube-apiserver-2"]);
    let warned: Vec<&&serde_json::Value> = anon.iter().filter(|r| r["status"] == "warn").collect();
    assert_eq!(warned.len(), 1, "only manifest b allows anonymous requests: {anon:?}");
    assert!(anon.iter().filter(|r| r["status"] == "pass").count() == 2);
    assert_eq!(v["summary"]["components_judged"]["kube-apiserver"], 3);
    assert_eq!(v["summary"]["components_judged"]["etcd"], 0);
    let (_, table, _) = scan(dir.path(), &[]);
    assert!(table.contains("components judged: 3 kube-apiserver"), "{table}");
}
