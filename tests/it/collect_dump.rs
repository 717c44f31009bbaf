//! The offline collector reading real dump layouts from disk and from a tarball.

use std::path::Path;

use palisade::collect::dump::{self, Placement};
use palisade::snapshot::{ComponentKind, ControlPlane, FilePurpose, GapReason, Snapshot, Source};

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

const KUBECTL_LIST: &str = r#"apiVersion: v1
items:
- apiVersion: v1
  kind: Namespace
  metadata:
    labels:
      kubernetes.io/metadata.name: default
    name: default
- apiVersion: v1
  kind: Namespace
  metadata:
    name: kube-system
kind: List
metadata:
  resourceVersion: ""
"#;

const APISERVER: &str = r#"apiVersion: v1
kind: Pod
metadata:
  labels:
    component: kube-apiserver
    tier: control-plane
  name: kube-apiserver
  namespace: kube-system
spec:
  containers:
  - command:
    - kube-apiserver
    - --profiling=true
    - --encryption-provider-config=/etc/kubernetes/enc/enc.yaml
    name: kube-apiserver
    image: registry.k8s.io/kube-apiserver:v1.31.4
"#;

fn sample_dump(root: &Path) {
    write(root, "namespaces.yaml", KUBECTL_LIST);
    write(
        root,
        "rbac.yaml",
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: a}\nrules: []\n---\n\
         apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: b}\nrules: []\n",
    );
    write(root, "broken.yaml", "kind: Namespace\nmetadata:\n  name: x\n   bad-indent: [\n");
    write(root, "manifests/cp-1/kube-apiserver.yaml", APISERVER);
    write(root, "kubelet/cp-1.json", r#"{"kubeletconfig":{"kind":"KubeletConfiguration","readOnlyPort":0}}"#);
    write(root, "files/cp-1/etc/kubernetes/enc/enc.yaml", "kind: EncryptionConfiguration\n");
    write(root, "sim.yaml", "managed: false\n");
    write(root, "README.md", "not part of the dump\n");
}

fn check_sample(read: &dump::DumpObjects) {
    let kinds: Vec<&str> = read.objects.iter().map(|o| o.kind()).collect();
    assert_eq!(kinds.iter().filter(|k| **k == "Namespace").count(), 2, "{kinds:?}");
    assert_eq!(kinds.iter().filter(|k| **k == "ClusterRole").count(), 2, "{kinds:?}");
    let apiserver = read.objects.iter().find(|o| o.kind() == "Pod").expect("the static pod manifest");
    assert_eq!(apiserver.placement, Placement::StaticPod { node: Some("cp-1".into()) });
    let kubelet =
        read.objects.iter().find(|o| matches!(o.placement, Placement::KubeletConfig { .. })).unwrap();
    assert_eq!(kubelet.value["readOnlyPort"], 0);
    assert_eq!(read.node_files.len(), 1);
    assert_eq!(read.node_files[0].path, "/etc/kubernetes/enc/enc.yaml");
    assert_eq!(read.sim_settings.as_ref().unwrap()["managed"], false);
    assert_eq!(read.errors.len(), 1, "{:?}", read.errors);
    assert_eq!(read.errors[0].file, "broken.yaml");
    assert!(read.errors[0].line.is_some(), "{}", read.errors[0]);
}

#[test]
fn a_dump_directory_is_read_and_a_malformed_file_among_good_ones_is_reported_by_name_and_line() {
    let dir = tempfile::tempdir().unwrap();
    sample_dump(dir.path());
    let read = dump::read_objects(dir.path()).unwrap();
    check_sample(&read);
}

#[test]
fn a_tarball_of_a_dump_directory_reads_the_same_as_the_directory() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("my-cluster");
    sample_dump(&root);
    let tgz = dir.path().join("my-cluster.tar.gz");
    let file = std::fs::File::create(&tgz).unwrap();
    let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(file, flate2::Compression::fast()));
    builder.append_dir_all("my-cluster", &root).unwrap();
    builder.into_inner().unwrap().finish().unwrap();
    let read = dump::read_objects(&tgz).unwrap();
    check_sample(&read);
}

#[test]
fn a_missing_path_is_a_clear_error() {
    let err = dump::read_objects("/nonexistent/palisade-dump").unwrap_err();
    assert!(err.to_string().contains("does not exist"), "{err}");
}

#[test]
fn a_dump_becomes_a_snapshot_with_components_kubelets_files_and_honest_gaps() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("lab");
    sample_dump(&root);
    write(
        &root,
        "nodes.yaml",
        "apiVersion: v1\nkind: Node\nmetadata:\n  name: cp-1\n  labels: {node-role.kubernetes.io/control-plane: \"\"}\n\
         status:\n  nodeInfo: {kubeletVersion: v1.31.4, osImage: Ubuntu 24.04, containerRuntimeVersion: containerd://1.7.22}\n\
         ---\napiVersion: v1\nkind: Node\nmetadata: {name: worker-1}\nstatus: {nodeInfo: {kubeletVersion: v1.31.4}}\n",
    );
    let snap = dump::collect(&root).unwrap();
    assert_eq!(snap.cluster.name, "lab");
    assert_eq!(snap.cluster.control_plane, ControlPlane::SelfManaged);
    assert_eq!(snap.cluster.version.as_ref().map(|v| v.minor), Some(31));
    let api: Vec<_> = snap.components_of(ComponentKind::KubeApiserver).collect();
    assert_eq!(api.len(), 1);
    assert_eq!(api[0].node.as_deref(), Some("cp-1"));
    assert_eq!(api[0].origin.source, Source::Dump);
    assert_eq!(api[0].flag("profiling").as_deref(), Some("true"));
    // The referenced encryption config is attached with its purpose.
    let enc = snap.file(Some("cp-1"), "/etc/kubernetes/enc/enc.yaml").expect("encryption config");
    assert_eq!(enc.purpose, FilePurpose::EncryptionConfig);
    // cp-1 has its kubelet config; worker-1 has none, and says so.
    assert_eq!(snap.nodes.len(), 2);
    let cp = snap.kubelets.iter().find(|k| k.node == "cp-1").unwrap();
    assert_eq!(cp.setting("read-only-port", "readOnlyPort").map(|s| s.0), Some("0".into()));
    let worker = snap.kubelets.iter().find(|k| k.node == "worker-1").unwrap();
    assert!(worker.config.is_none() && !worker.config_state.is_complete());
    assert!(!snap.kubelets.is_complete());
    // Groups the dump does not hold are unknown, not silently empty.
    assert!(snap.namespaces.is_complete());
    assert!(!snap.pods.is_complete());
    assert!(snap.gaps.iter().any(|g| g.what == "pods" && g.reason == GapReason::NotCollected));
    // The malformed file is a gap with its file and line.
    assert!(snap.gaps.iter().any(|g| g.what.starts_with("dump:broken.yaml:")), "{:?}", snap.gaps);
    // And the snapshot survives its JSON form unchanged.
    let back = Snapshot::from_json(&snap.to_json().unwrap()).unwrap();
    assert_eq!(back, snap);
}
