//! Probes inside scans (issue 13): live scans of the simulator, whose nodes live on loopback and
//! serve their kubelets, etcd and plain-text ports as the sample configures them, and offline
//! scans with `--probe` against a real etcd (`etcd-server`) started three ways. Expected verdicts
//! come from how each server was started, not from Palisade's output.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use palisade::checks::{CheckOptions, CheckResult};
use palisade::collect::kube::{self, LiveOptions};
use palisade::collect::probe::ProbeOptions;
use palisade::domain::Status;
use palisade::sim::{sample, SimConfig, SimHandle, SimServer};
use palisade::snapshot::Snapshot;
use serde_json::Value;

async fn sim(name: &str) -> SimHandle {
    let data = sample::load_dir(sample::samples_dir().join(name)).unwrap();
    SimServer::start(SimConfig::new(data)).await.expect("the simulator starts")
}

/// Live options that probe, the nodes' SSH at the simulator's stand-in port.
fn probing(sim: &SimHandle) -> LiveOptions {
    assert!(sim.ssh_port.is_some(), "the simulator serves SSH on its nodes");
    LiveOptions {
        request_timeout: Duration::from_secs(5),
        scan_timeout: Duration::from_secs(60),
        egress: palisade::egress::Egress::loopback_only(),
        probe: Some(ProbeOptions {
            timeout: Duration::from_secs(2),
            ssh_port: sim.ssh_port,
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn results(snap: &Snapshot, id: &str) -> Vec<CheckResult> {
    palisade::checks::run_all(snap, &CheckOptions::default())
        .into_iter()
        .filter(|r| r.check_id == id)
        .collect()
}

fn by_kind<'a>(rs: &'a [CheckResult], kind: &str) -> Vec<&'a CheckResult> {
    rs.iter().filter(|r| r.resource.kind == kind).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_legacy_sample_probed_live_shows_its_open_ports_anonymous_kubelets_and_readable_api() {
    let sim = sim("legacy").await;
    // The simulator serves what the sample configures: 3 kubelets with anonymous auth, AlwaysAllow
    // and readOnlyPort 10255, etcd over http://, the insecure port 8080 on 0.0.0.0.
    let kubelets = sim.endpoints.iter().filter(|e| e.service == "kubelet").count();
    assert_eq!(kubelets, 3, "{:?}", sim.endpoints);
    let snap = kube::collect("legacy", &sim.credentials(), probing(&sim)).await.unwrap();
    assert!(snap.probes.state.is_complete());
    for node in &snap.nodes.items {
        assert!(node.address().unwrap().starts_with("127."), "{node:?} is not on loopback");
    }

    let kubelet_anon = results(&snap, "PAL-AUTHN-205");
    assert_eq!(kubelet_anon.len(), 3, "{kubelet_anon:#?}");
    for r in &kubelet_anon {
        assert_eq!(r.status, Status::Fail, "{r:?}");
        assert!(r.evidence.contains("/pods (200"), "{}", r.evidence);
    }

    let plain = results(&snap, "PAL-TLS-207");
    let failing: Vec<&str> =
        plain.iter().filter(|r| r.status == Status::Fail).map(|r| r.evidence.as_str()).collect();
    // Three read-only ports, etcd's plain client URL on the node address, the insecure port.
    assert_eq!(failing.len(), 5, "{failing:#?}");
    assert_eq!(failing.iter().filter(|e| e.starts_with("kubelet on ")).count(), 3, "{failing:#?}");
    assert!(
        failing.iter().any(|e| e.starts_with("etcd on master-1") && e.contains("GET /version")),
        "{failing:#?}"
    );
    assert!(failing.iter().any(|e| e.starts_with("kube-apiserver on master-1")), "{failing:#?}");

    // sim.yaml lets system:anonymous read everything: secrets are listed without credentials.
    let api = results(&snap, "PAL-AUTHN-203");
    assert_eq!(api.len(), 1, "{api:#?}");
    assert_eq!(api[0].status, Status::Fail);
    assert!(api[0].evidence.contains("/api/v1/secrets (200"), "{}", api[0].evidence);

    // Kubelets without serverTLSBootstrap serve self-signed certificates.
    let chains = results(&snap, "PAL-TLS-206");
    let kubelet_chains = by_kind(&chains, "kubelet");
    assert_eq!(kubelet_chains.len(), 3);
    assert!(
        kubelet_chains.iter().all(|r| r.status == Status::Fail && r.evidence.contains("self-signed")),
        "{kubelet_chains:#?}"
    );
    // The API server's own certificate is the cluster CA's.
    assert!(by_kind(&chains, "kube-apiserver").iter().all(|r| r.status == Status::Pass), "{chains:#?}");

    // The controller-manager and scheduler listen on 0.0.0.0: their secure ports were probed.
    let protocols = results(&snap, "PAL-TLS-204");
    assert!(
        protocols.iter().any(|r| r.resource.kind == "kube-scheduler" && r.status == Status::Pass),
        "{protocols:#?}"
    );
    // Every probe result says it came from a probe.
    assert!(protocols.iter().all(|r| r.source == Some(palisade::snapshot::Source::Probe)));

    // sim.yaml turns password login on and adds broken algorithms back on every node's SSH.
    assert_eq!(snap.probes.ssh.len(), 3, "{:#?}", snap.probes.ssh);
    let passwords = results(&snap, "PAL-HOST-101");
    assert_eq!(passwords.len(), 3);
    for r in &passwords {
        assert_eq!((r.status, r.resource.kind.as_str()), (Status::Fail, "Node"), "{r:?}");
        assert!(r.evidence.contains("accepts passwords: it offers publickey,password"), "{}", r.evidence);
    }
    for r in results(&snap, "PAL-HOST-104") {
        assert_eq!(r.status, Status::Fail);
        for weak in ["diffie-hellman-group1-sha1", "ssh-rsa", "3des-cbc", "hmac-md5"] {
            assert!(r.evidence.contains(weak), "{weak} missing: {}", r.evidence);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hardened_sample_passes_its_probes() {
    let sim = sim("hardened").await;
    let snap = kube::collect("hardened", &sim.credentials(), probing(&sim)).await.unwrap();
    let statuses = |id: &str| -> Vec<Status> { results(&snap, id).into_iter().map(|r| r.status).collect() };
    // Anonymous requests to each of 6 kubelets are refused (anonymous auth off: 401).
    let kubelet_anon = results(&snap, "PAL-AUTHN-205");
    assert_eq!(kubelet_anon.len(), 6);
    assert!(
        kubelet_anon.iter().all(|r| r.status == Status::Pass && r.evidence.contains("401")),
        "{kubelet_anon:#?}"
    );
    // Three etcd members, client and peer URLs each, all requiring client certificates.
    let etcd = results(&snap, "PAL-AUTHN-201");
    assert_eq!(etcd.len(), 6, "{etcd:#?}");
    assert!(etcd.iter().all(|r| r.status == Status::Pass), "{etcd:#?}");
    // Nothing answers on a plain-text port: the read-only ports are closed.
    assert!(
        statuses("PAL-TLS-207").iter().all(|s| *s == Status::Pass),
        "{:#?}",
        results(&snap, "PAL-TLS-207")
    );
    // Bootstrapped kubelet certificates chain to the cluster CA.
    let chains = results(&snap, "PAL-TLS-206");
    assert!(by_kind(&chains, "kubelet").iter().all(|r| r.status == Status::Pass), "{chains:#?}");
    // --anonymous-auth=false: every unauthenticated request to the API server gets 401.
    for id in ["PAL-AUTHN-203", "PAL-AUTHN-204"] {
        let api = results(&snap, id);
        assert_eq!(api.len(), 1, "{api:#?}");
        assert_eq!(api[0].status, Status::Pass, "{api:#?}");
        assert!(api[0].evidence.contains("401") || id == "PAL-AUTHN-204", "{}", api[0].evidence);
    }
    assert!(snap
        .probes
        .http
        .iter()
        .filter(|p| p.target.service == palisade::snapshot::probe::Service::ApiServer && p.scheme == "https")
        .all(|p| p.status == Some(401)));
    // The flags and what the endpoints do agree.
    assert_eq!(statuses("PAL-AUTHN-202"), vec![Status::Pass], "{:#?}", results(&snap, "PAL-AUTHN-202"));
    assert!(statuses("PAL-TLS-201").iter().all(|s| *s == Status::Pass));
    // Keys only, modern algorithms only, on all six nodes.
    for id in ["PAL-HOST-101", "PAL-HOST-102", "PAL-HOST-103", "PAL-HOST-104"] {
        assert_eq!(statuses(id), vec![Status::Pass; 6], "{id}: {:#?}", results(&snap, id));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_kubeadm_api_server_shows_only_public_info_to_anonymous_callers() {
    // kubeadm leaves --anonymous-auth at its default (true): /version and /healthz answer anyone,
    // discovery and objects are forbidden to system:anonymous.
    let sim = sim("kubeadm-default").await;
    let snap = kube::collect("kubeadm-default", &sim.credentials(), probing(&sim)).await.unwrap();
    let code = |path: &str| {
        snap.probes
            .http
            .iter()
            .find(|p| p.target.service == palisade::snapshot::probe::Service::ApiServer && p.path == path)
            .and_then(|p| p.status)
    };
    assert_eq!(code("/version"), Some(200));
    assert_eq!(code("/api/v1/secrets"), Some(403));
    assert_eq!(results(&snap, "PAL-AUTHN-203")[0].status, Status::Pass);
    // kubeadm's kubelets: anonymous auth off (401), serving certificates self-signed.
    assert!(results(&snap, "PAL-AUTHN-205").iter().all(|r| r.status == Status::Pass));
    assert!(by_kind(&results(&snap, "PAL-TLS-206"), "kubelet").iter().all(|r| r.status == Status::Fail));
    // Password login is off but for root, as a `Match User root` block allows it.
    let passwords = results(&snap, "PAL-HOST-101");
    assert!(!passwords.is_empty());
    for r in &passwords {
        assert_eq!(r.status, Status::Fail);
        assert!(r.evidence.contains("a Match block lets root use one"), "{}", r.evidence);
    }
    // OpenSSH's defaults offer the NIST curves and SHA-1 MACs.
    assert!(results(&snap, "PAL-HOST-104")
        .iter()
        .all(|r| r.status == Status::Fail && r.evidence.contains("hmac-sha1")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offline_scan_sends_nothing_and_says_so_and_an_address_outside_the_egress_policy_is_unknown() {
    let dir = sample::samples_dir().join("kubeadm-default");
    // Without --probe: no probe ran, each probe check says so.
    let snap = palisade::collect::dump::collect(&dir).unwrap();
    let r = results(&snap, "PAL-AUTHN-201");
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].status, Status::NotApplicable);
    assert!(r[0].evidence.contains("did not probe"), "{}", r[0].evidence);
    // With probes, the dump's 10.x addresses are outside a loopback-only policy: unknown, never dialled.
    let mut snap = snap;
    snap.probes = kube::probe_snapshot(
        &snap,
        None,
        &palisade::egress::Egress::loopback_only(),
        &ProbeOptions::default(),
        None,
    )
    .await;
    let etcd = results(&snap, "PAL-AUTHN-201");
    assert!(!etcd.is_empty());
    for r in &etcd {
        assert_eq!(r.status, Status::Unknown, "{r:?}");
        assert!(r.evidence.contains("outside the egress allow list"), "{}", r.evidence);
    }
}

// --- A real etcd -------------------------------------------------------------------------------

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// PEM files for a CA, an etcd serving certificate for 127.0.0.1 and a client certificate.
fn pki(dir: &Path) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose, SanType};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.distinguished_name.push(DnType::CommonName, "etcd-ca");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let mut leaf = CertificateParams::new(Vec::<String>::new()).unwrap();
    leaf.distinguished_name.push(DnType::CommonName, "etcd");
    leaf.subject_alt_names = vec![SanType::IpAddress("127.0.0.1".parse().unwrap())];
    let cert = leaf.signed_by(&key, &ca_cert, &ca_key).unwrap();
    std::fs::write(dir.join("ca.crt"), ca_cert.pem()).unwrap();
    std::fs::write(dir.join("server.crt"), cert.pem()).unwrap();
    std::fs::write(dir.join("server.key"), key.serialize_pem()).unwrap();
}

/// etcd on loopback, killed on drop.
struct Etcd {
    child: Child,
    client: String,
}

impl Etcd {
    fn start(dir: &Path, tls: bool, client_cert_auth: bool) -> Etcd {
        let (client_port, peer_port) = (free_port(), free_port());
        let scheme = if tls { "https" } else { "http" };
        let client = format!("{scheme}://127.0.0.1:{client_port}");
        let peer = format!("http://127.0.0.1:{peer_port}");
        let mut cmd = Command::new("etcd");
        cmd.args(["--name", "cp-1", "--data-dir"])
            .arg(dir.join(format!("data-{client_port}")))
            .args(["--listen-client-urls", &client, "--advertise-client-urls", &client])
            .args(["--listen-peer-urls", &peer, "--initial-advertise-peer-urls", &peer])
            .args(["--initial-cluster", &format!("cp-1={peer}")]);
        if tls {
            cmd.arg("--cert-file").arg(dir.join("server.crt")).arg("--key-file").arg(dir.join("server.key"));
        }
        if client_cert_auth {
            cmd.arg("--client-cert-auth=true").arg("--trusted-ca-file").arg(dir.join("ca.crt"));
        }
        let child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("etcd is installed (scripts/test.sh installs etcd-server)");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", client_port)).is_err() {
            assert!(Instant::now() < deadline, "etcd did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Etcd { child, client }
    }
}

impl Drop for Etcd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A dump of one control-plane node on 127.0.0.1 whose etcd manifest names `client_url` and
/// claims `--client-cert-auth=true`, as a repository of manifests would.
fn dump(dir: &Path, client_url: &str) {
    std::fs::create_dir_all(dir.join("manifests/cp-1")).unwrap();
    std::fs::write(
        dir.join("nodes.yaml"),
        r#"apiVersion: v1
kind: Node
metadata:
  name: cp-1
  labels: {node-role.kubernetes.io/control-plane: ""}
status:
  addresses:
  - {type: InternalIP, address: 127.0.0.1}
  daemonEndpoints:
    kubeletEndpoint: {Port: 1}
"#,
    )
    .unwrap();
    std::fs::write(
        dir.join("manifests/cp-1/etcd.yaml"),
        format!(
            r#"apiVersion: v1
kind: Pod
metadata: {{name: etcd, namespace: kube-system}}
spec:
  containers:
  - name: etcd
    image: registry.k8s.io/etcd:3.5.15-0
    command:
    - etcd
    - --cert-file=/etc/kubernetes/pki/etcd/server.crt
    - --key-file=/etc/kubernetes/pki/etcd/server.key
    - --client-cert-auth=true
    - --trusted-ca-file=/etc/kubernetes/pki/etcd/ca.crt
    - --listen-client-urls={client_url}
    - --listen-peer-urls=https://127.0.0.2:2380
"#
        ),
    )
    .unwrap();
}

fn scan_with_probes(dump_dir: &Path) -> Vec<Value> {
    let out = Command::new(env!("CARGO_BIN_EXE_palisade"))
        .args(["scan", "--from"])
        .arg(dump_dir)
        .args(["--probe", "--probe-timeout", "2s", "--format", "json", "--quiet", "--ssh-port", "0"])
        .env("PALISADE__EGRESS__ALLOW", "127.0.0.0/8,::1/128")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    report["results"].as_array().unwrap().clone()
}

fn verdicts<'a>(results: &'a [Value], id: &str, kind: &str) -> Vec<&'a Value> {
    results.iter().filter(|r| r["check_id"] == id && r["resource"]["kind"] == kind).collect()
}

#[test]
fn a_real_etcd_is_judged_by_what_it_accepts_not_by_what_its_manifest_claims() {
    let tmp = tempfile::tempdir().unwrap();
    pki(tmp.path());

    // 1. TLS with --client-cert-auth=true: a client without a certificate is refused.
    let strict = Etcd::start(tmp.path(), true, true);
    let d1 = tmp.path().join("strict");
    dump(&d1, &strict.client);
    let r1 = scan_with_probes(&d1);
    let v = verdicts(&r1, "PAL-AUTHN-201", "etcd");
    assert_eq!(v.len(), 1, "{v:#?}");
    assert_eq!(v[0]["status"], "pass", "{:#}", v[0]);
    assert_eq!(verdicts(&r1, "PAL-AUTHN-202", "Cluster")[0]["status"], "pass");
    drop(strict);

    // 2. TLS without client-cert-auth, the manifest still claiming it: fails, and the
    //    contradiction is its own finding.
    let open = Etcd::start(tmp.path(), true, false);
    let d2 = tmp.path().join("open");
    dump(&d2, &open.client);
    let r2 = scan_with_probes(&d2);
    let v = verdicts(&r2, "PAL-AUTHN-201", "etcd");
    assert_eq!(v[0]["status"], "fail", "{:#}", v[0]);
    assert!(v[0]["evidence"].as_str().unwrap().contains("--client-cert-auth=true"), "{:#}", v[0]);
    let m = verdicts(&r2, "PAL-AUTHN-202", "etcd");
    assert_eq!(m.len(), 1, "{r2:#?}");
    let text = m[0]["evidence"].as_str().unwrap();
    assert!(
        text.starts_with("manifest says --client-cert-auth=true, but etcd on cp-1 at 127.0.0.1:"),
        "{text}"
    );
    assert!(text.ends_with("accepted a client without a certificate"), "{text}");
    // The flag check alone would have passed.
    assert_eq!(r2.iter().find(|r| r["check_id"] == "PAL-TLS-011").unwrap()["status"], "pass");
    drop(open);

    // 3. Plain HTTP: etcd answers /version to anyone.
    let plain = Etcd::start(tmp.path(), false, false);
    let d3 = tmp.path().join("plain");
    dump(&d3, &plain.client);
    let r3 = scan_with_probes(&d3);
    let v = verdicts(&r3, "PAL-TLS-207", "etcd");
    let failing: Vec<_> = v.iter().filter(|r| r["status"] == "fail").collect();
    assert_eq!(failing.len(), 1, "{v:#?}");
    assert!(failing[0]["evidence"]
        .as_str()
        .unwrap()
        .contains("answered GET /version over plain HTTP with 200"));
}
