//! kubectl, the reference client, against the simulator: discovery, server-side tables,
//! pagination, RBAC listings, the configz proxy, and both token and certificate contexts.

use std::path::Path;
use std::process::Command;

use palisade::sim::{sample, SimConfig, SimServer};

fn kubectl(kubeconfig: &Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .arg("--request-timeout=20s")
        .args(args)
        // Keep kubectl's discovery cache inside the test's temporary directory.
        .env("KUBECACHEDIR", kubeconfig.parent().unwrap().join("cache"))
        .env("HOME", kubeconfig.parent().unwrap())
        .output()
        .expect("kubectl is installed (see scripts/test.sh)");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn serve_sample(name: &str) -> (palisade::sim::SimHandle, tempfile::TempDir, std::path::PathBuf) {
    let cluster = sample::load_dir(sample::samples_dir().join(name)).expect("bundled sample loads");
    let handle = SimServer::start(SimConfig::new(cluster)).await.expect("simulator starts");
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(&kubeconfig, handle.kubeconfig()).unwrap();
    (handle, dir, kubeconfig)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_lists_pods_in_every_namespace_of_a_sample_cluster() {
    let (_sim, _dir, kc) = serve_sample("kubeadm-default").await;
    let kc2 = kc.clone();
    let (ok, out, err) =
        tokio::task::spawn_blocking(move || kubectl(&kc2, &["get", "pods", "-A"])).await.unwrap();
    assert!(ok, "kubectl failed: {err}");
    let header = out.lines().next().unwrap_or_default();
    assert!(
        header.starts_with("NAMESPACE") && header.contains("READY") && header.contains("STATUS"),
        "{out}"
    );
    // Static pods appear as mirror pods named after their node, as on a real control plane.
    assert!(out.contains("kube-apiserver-cp-1"), "{out}");
    assert!(out.contains("etcd-cp-1"), "{out}");
    assert!(
        out.lines().any(|l| l.starts_with("shop") && l.contains("frontend-") && l.contains("Running")),
        "{out}"
    );

    // Small pages make kubectl follow continue tokens; the result must be the same set.
    let (ok, paged, err) = tokio::task::spawn_blocking(move || {
        kubectl(&kc, &["get", "pods", "-A", "--chunk-size=2", "-o", "name"])
    })
    .await
    .unwrap();
    assert!(ok, "kubectl failed: {err}");
    let names: Vec<&str> = paged.lines().collect();
    assert_eq!(names.len(), out.lines().count() - 1, "{paged}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_reads_rbac_network_policies_and_kubelet_configz() {
    let (_sim, _dir, kc) = serve_sample("kubeadm-default").await;
    let result = tokio::task::spawn_blocking(move || {
        let crb = kubectl(&kc, &["get", "clusterrolebindings"]);
        let netpol = kubectl(&kc, &["get", "networkpolicies", "-A"]);
        let configz = kubectl(&kc, &["get", "--raw", "/api/v1/nodes/worker-1/proxy/configz"]);
        let by_cert = kubectl(&kc, &["--context", "kubeadm-default-cert", "get", "nodes"]);
        let short = kubectl(&kc, &["get", "netpol,ds", "-n", "kube-system"]);
        (crb, netpol, configz, by_cert, short)
    })
    .await
    .unwrap();
    let (crb, netpol, configz, by_cert, short) = result;
    assert!(crb.0, "{}", crb.2);
    assert!(crb.1.contains("ci-deployer-admin") && crb.1.contains("ClusterRole/cluster-admin"), "{}", crb.1);
    assert!(netpol.0, "{}", netpol.2);
    assert!(netpol.1.is_empty() && netpol.2.contains("No resources found"), "{:?}", netpol);
    assert!(configz.0, "{}", configz.2);
    let v: serde_json::Value = serde_json::from_str(&configz.1).expect("configz is JSON");
    assert_eq!(v["kubeletconfig"]["authentication"]["anonymous"]["enabled"], false);
    assert_eq!(v["kubeletconfig"]["authorization"]["mode"], "Webhook");
    assert!(by_cert.0, "{}", by_cert.2);
    assert!(by_cert.1.contains("cp-1") && by_cert.1.contains("control-plane"), "{}", by_cert.1);
    assert!(short.0, "{}", short.2);
    assert!(short.1.contains("calico-node") && short.1.contains("kube-proxy"), "{}", short.1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_reports_a_wrong_token_as_unauthorized() {
    let (sim, dir, _kc) = serve_sample("kubeadm-default").await;
    let bad = dir.path().join("bad-kubeconfig");
    std::fs::write(&bad, sim.kubeconfig().replace(&sim.token, "not-the-token")).unwrap();
    let (ok, _out, err) =
        tokio::task::spawn_blocking(move || kubectl(&bad, &["get", "pods", "-A"])).await.unwrap();
    assert!(!ok);
    assert!(err.contains("Unauthorized") || err.contains("must be logged in"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_pages_through_a_generated_cluster_in_chunks_of_500() {
    let spec: palisade::sim::generate::GenerateSpec =
        "nodes=40,namespaces=30,pods=2600,roles=300,bindings=300,netpols=90,seed=3".parse().unwrap();
    let cluster = palisade::sim::generate::generate(&spec);
    let sim = SimServer::start(SimConfig::new(cluster)).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("kubeconfig");
    std::fs::write(&kc, sim.kubeconfig()).unwrap();
    let (pods, netpols, rbs) = tokio::task::spawn_blocking(move || {
        (
            kubectl(&kc, &["get", "pods", "-A", "--chunk-size=500", "-o", "name"]),
            kubectl(&kc, &["get", "networkpolicies", "-A", "--no-headers"]),
            kubectl(&kc, &["get", "rolebindings,clusterrolebindings", "-A", "-o", "name"]),
        )
    })
    .await
    .unwrap();
    assert!(pods.0, "{}", pods.2);
    let names: std::collections::BTreeSet<&str> = pods.1.lines().collect();
    assert_eq!(names.len(), 2600, "every pod once across six pages");
    assert!(netpols.0, "{}", netpols.2);
    assert_eq!(netpols.1.lines().count(), 90);
    assert!(netpols.1.contains("default-deny-ingress"), "{}", netpols.1);
    assert!(rbs.0, "{}", rbs.2);
    assert_eq!(rbs.1.lines().count(), 300);
}
