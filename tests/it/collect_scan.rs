//! `palisade scan` and the library scan it runs: sources, snapshot output and exit codes.

use std::process::Command;

use palisade::cli::scan::{collect_snapshot, ScanSource};
use palisade::snapshot::Snapshot;

const NAMESPACES: &str = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Namespace\n  \
                          metadata: {name: default}\n- apiVersion: v1\n  kind: Namespace\n  metadata: {name: shop}\n";

#[tokio::test]
async fn scanning_a_dump_through_the_library_gives_the_snapshot_the_cli_writes() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ns.yaml"), NAMESPACES).unwrap();
    let snap = collect_snapshot(&ScanSource::Dump(dir.path().to_path_buf())).await.unwrap();
    assert_eq!(snap.namespaces.len(), 2);

    let out = dir.path().join("snap.json");
    let status = Command::new(env!("CARGO_BIN_EXE_palisade"))
        .args(["scan", "--from"])
        .arg(dir.path())
        .arg("--snapshot-out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
    // What was collected (and what was not) goes to stderr; stdout carries the verdicts.
    let stderr = String::from_utf8_lossy(&status.stderr);
    assert!(stderr.contains("namespaces") && stderr.contains("not collected"), "{stderr}");
    assert!(stderr.contains("pods: not_collected: the dump holds no Pod objects"), "{stderr}");
    let written = Snapshot::from_json(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(written.namespaces.items, snap.namespaces.items);
}

#[test]
fn a_scan_that_cannot_run_exits_with_code_2_and_says_why() {
    let missing = Command::new(env!("CARGO_BIN_EXE_palisade"))
        .args(["scan", "--from", "/nonexistent/dump-dir"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("does not exist"));

    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("config");
    std::fs::write(
        &kubeconfig,
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: \"https://127.0.0.1:1\"}\n\
         users:\n- name: u\n  user: {token: abc}\ncontexts:\n- name: lab\n  context: {cluster: c, user: u}\n\
         current-context: lab\n",
    )
    .unwrap();
    let unreachable = Command::new(env!("CARGO_BIN_EXE_palisade"))
        .args(["scan", "--quiet", "--request-timeout", "2s", "--kubeconfig"])
        .arg(&kubeconfig)
        .env("PALISADE__EGRESS__ALLOW", "127.0.0.0/8,::1/128")
        .output()
        .unwrap();
    assert_eq!(unreachable.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&unreachable.stderr);
    assert!(stderr.contains("cannot reach the cluster at https://127.0.0.1:1"), "{stderr}");
    assert!(!stderr.contains("abc"), "the token is never printed");
}

#[tokio::test]
async fn a_kubeconfig_with_a_credential_plugin_is_refused_before_any_request() {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("config");
    std::fs::write(
        &kubeconfig,
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: \"https://127.0.0.1:1\"}\n\
         users:\n- name: u\n  user:\n    exec: {command: aws, apiVersion: client.authentication.k8s.io/v1beta1}\n\
         contexts:\n- name: lab\n  context: {cluster: c, user: u}\ncurrent-context: lab\n",
    )
    .unwrap();
    let err =
        collect_snapshot(&ScanSource::Kubeconfig { path: kubeconfig, context: None }).await.unwrap_err();
    assert!(format!("{err:#}").contains("never runs programs"), "{err:#}");
}

#[tokio::test]
async fn scanning_through_a_kubeconfig_context_reads_the_live_cluster() {
    let dir = palisade::sim::sample::samples_dir().join("legacy");
    let sim = palisade::sim::SimServer::start(palisade::sim::SimConfig::new(
        palisade::sim::sample::load_dir(&dir).unwrap(),
    ))
    .await
    .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let kubeconfig = tmp.path().join("kubeconfig");
    std::fs::write(&kubeconfig, sim.kubeconfig()).unwrap();
    // The `<name>-cert` context authenticates with the client certificate instead of the token.
    let source = ScanSource::Kubeconfig { path: kubeconfig, context: Some("legacy-cert".into()) };
    let snap = collect_snapshot(&source).await.unwrap();
    assert_eq!(snap.cluster.name, "legacy-cert");
    assert_eq!(snap.cluster.version.as_ref().map(|v| v.minor), Some(19));
    assert!(snap.nodes.is_complete() && !snap.nodes.is_empty());
}

// The scan runs as a child process while this runtime serves the simulator: two worker threads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kubeconfig_naming_files_for_its_token_and_certificates_is_honoured_on_the_cli() {
    let dir = palisade::sim::sample::samples_dir().join("legacy");
    let sim = palisade::sim::SimServer::start(palisade::sim::SimConfig::new(
        palisade::sim::sample::load_dir(&dir).unwrap(),
    ))
    .await
    .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    // Files next to the kubeconfig, referred to by relative paths as kubectl resolves them.
    std::fs::write(tmp.path().join("ca.crt"), &sim.ca_pem).unwrap();
    std::fs::write(tmp.path().join("sa.token"), format!("{}\n", sim.token)).unwrap();
    std::fs::write(tmp.path().join("client.crt"), &sim.client_cert_pem).unwrap();
    std::fs::write(tmp.path().join("client.key"), &sim.client_key_pem).unwrap();
    let kubeconfig = tmp.path().join("config");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: lab\n  cluster: {{server: \"{}\", certificate-authority: ca.crt}}\n\
             users:\n- name: by-token\n  user: {{tokenFile: sa.token}}\n\
             - name: by-cert\n  user: {{client-certificate: client.crt, client-key: client.key}}\n\
             contexts:\n- name: token\n  context: {{cluster: lab, user: by-token}}\n\
             - name: cert\n  context: {{cluster: lab, user: by-cert}}\ncurrent-context: token\n",
            sim.url
        ),
    )
    .unwrap();
    for context in ["token", "cert"] {
        let out = Command::new(env!("CARGO_BIN_EXE_palisade"))
            .args(["scan", "--quiet", "--format", "json", "--request-timeout", "10s", "--context", context])
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .env("PALISADE__EGRESS__ALLOW", "127.0.0.0/8,::1/128")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        // A completed scan, with the credentials the files hold.
        assert_eq!(out.status.code(), Some(0), "{context}: {stderr}");
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(report["results"].as_array().is_some_and(|r| !r.is_empty()), "{context}");
        assert!(!stderr.contains(&sim.token), "the token is never printed");
    }
}
