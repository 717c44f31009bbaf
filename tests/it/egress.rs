//! Hostile clusters and the egress policy, against real HTTPS servers on loopback started here:
//! an endless body, an HTML 404 page, an answer trickling in byte by byte, a name that resolves
//! to a denied address, an address outside the allow list, and an editor switching off
//! certificate verification.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use palisade::collect::client::{ClusterAuth, ClusterCredentials};
use palisade::collect::kube::{self, CollectError, LiveOptions};
use palisade::config::EgressSettings;
use palisade::domain::{Role, Status};
use palisade::egress::Egress;
use palisade::sim::{sample, SimConfig, SimServer};
use palisade::snapshot::{EvidenceState, GapReason};
use serde_json::{json, Value};

use crate::helpers::{assert_problem, spawn_app, spawn_app_with};
use crate::tls_fixture::{spawn_server, Behaviour, HostileServer};

fn creds_for(server: &HostileServer) -> ClusterCredentials {
    ClusterCredentials {
        server: server.url.clone(),
        ca_pem: Some(server.ca_pem.clone()),
        tls_server_name: None,
        insecure_skip_tls_verify: false,
        auth: ClusterAuth::Token { token: "hostile-token".into() },
    }
}

/// `POST /api/v1/clusters` as the admin.
async fn register(app: &crate::helpers::TestApp, body: &Value) -> reqwest::Response {
    app.admin.post(app.url("/api/v1/clusters")).json(body).send().await.unwrap()
}

fn body_for(name: &str, server: &str, ca: Option<&str>) -> Value {
    json!({"name": name, "check_connectivity": true,
           "credentials": {"server": server, "ca_pem": ca, "token": "t0ken"}})
}

/// Loopback only, with short deadlines and small caps so hostile answers fail fast.
fn tight(body_timeout: Duration, page_mib: u64) -> Arc<Egress> {
    let s = EgressSettings {
        first_byte_timeout_secs: 5,
        body_timeout_secs: body_timeout.as_secs(),
        page_response_mib: page_mib,
        ..EgressSettings::loopback_only()
    };
    Arc::new(Egress::from_settings(&s).unwrap())
}

fn quick(egress: Arc<Egress>) -> LiveOptions {
    LiveOptions { attempts: 1, scan_timeout: Duration::from_secs(60), egress, ..LiveOptions::default() }
}

#[tokio::test]
async fn an_endless_version_answer_fails_the_check_at_one_mib_and_the_server_stays_healthy() {
    let app = spawn_app().await;
    let hostile = spawn_server(&["127.0.0.1"], Behaviour::EndlessVersion).await;
    let resp = register(&app, &body_for("endless", &hostile.url, Some(&hostile.ca_pem))).await;
    assert_eq!(resp.status(), 201);
    let cluster: Value = resp.json().await.unwrap();
    assert_eq!(cluster["last_reachable"], false);
    let error = cluster["last_error"].as_str().unwrap();
    assert!(error.contains("the response exceeded 1 MiB"), "{error}");
    assert_eq!(reqwest::get(app.url("/healthz")).await.unwrap().status(), 200);
}

#[tokio::test]
async fn an_endless_list_page_leaves_that_evidence_unknown_and_the_scan_goes_on() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let hostile = spawn_server(&["127.0.0.1"], Behaviour::EndlessLists).await;
    let snap = kube::collect("endless-lists", &creds_for(&hostile), quick(tight(Duration::from_secs(30), 2)))
        .await
        .expect("the scan goes on past the endless lists");
    // /version answered normally, so the cluster's version is known.
    assert_eq!(snap.cluster.version.as_ref().map(|v| v.minor), Some(33));
    match &snap.pods.state {
        EvidenceState::Unknown { reason: GapReason::Error, detail } => {
            assert!(detail.contains("the response exceeded 2 MiB"), "{detail}")
        }
        other => panic!("pods should be unknown with the cap as reason, got {other:?}"),
    }
}

#[tokio::test]
async fn an_html_404_is_described_by_status_and_kind_and_its_body_is_never_repeated_or_stored() {
    const MARKER: &str = "INTERNAL-PAGE-MARKER-7f3a";
    let app = spawn_app().await;
    let page = spawn_server(&["127.0.0.1"], Behaviour::Html404(MARKER)).await;
    let resp = register(&app, &body_for("internal-page", &page.url, Some(&page.ca_pem))).await;
    assert_eq!(resp.status(), 201);
    let text = resp.text().await.unwrap();
    assert!(!text.contains(MARKER), "the API answer repeats the remote body: {text}");
    let cluster: Value = serde_json::from_str(&text).unwrap();
    let error = cluster["last_error"].as_str().unwrap();
    assert!(error.contains("not a Kubernetes API server: answered 404 with text/html"), "{error}");

    // The list, and a scan of it: the marker is nowhere.
    let list = app.admin.get(app.url("/api/v1/clusters")).send().await.unwrap().text().await.unwrap();
    assert!(list.contains("internal-page") && !list.contains(MARKER));
    let _ = rustls::crypto::ring::default_provider().install_default();
    let snap =
        kube::collect("internal-page", &creds_for(&page), quick(Egress::loopback_only())).await.unwrap();
    let json = serde_json::to_string(&snap).unwrap();
    assert!(json.contains("answered 404 with text/html") && !json.contains(MARKER));

    for table in ["clusters", "audit_log", "scans"] {
        let rows: Vec<(String,)> = sqlx::query_as(&format!("SELECT row_to_json(t)::text FROM {table} t"))
            .fetch_all(&app.pool)
            .await
            .unwrap();
        assert!(rows.iter().all(|(r,)| !r.contains(MARKER)), "{table} holds the remote body");
    }
}

#[tokio::test]
async fn a_redirect_is_never_followed_and_is_named_as_one() {
    let app = spawn_app().await;
    // The target would answer as a Kubernetes API server; it must never be dialled.
    let target = spawn_server(&["127.0.0.1"], Behaviour::Kubernetes).await;
    let port: u16 = target.url.rsplit(':').next().unwrap().parse().unwrap();
    let redirector = spawn_server(&["127.0.0.1"], Behaviour::Redirect(port)).await;
    let resp = register(&app, &body_for("redirecting", &redirector.url, Some(&redirector.ca_pem))).await;
    assert_eq!(resp.status(), 201);
    let cluster: Value = resp.json().await.unwrap();
    let error = cluster["last_error"].as_str().unwrap();
    assert!(error.contains("answered 302 (a redirect, which Palisade never follows)"), "{error}");
    let _ = rustls::crypto::ring::default_provider().install_default();
    let snap = kube::collect("redirecting", &creds_for(&redirector), quick(Egress::loopback_only())).await;
    let text = match snap {
        Ok(s) => serde_json::to_string(&s).unwrap(),
        Err(e) => e.to_string(),
    };
    assert!(text.contains("a redirect, which Palisade never follows"), "{text}");
    assert!(redirector.connections.load(std::sync::atomic::Ordering::SeqCst) > 0);
    assert_eq!(target.connections.load(std::sync::atomic::Ordering::SeqCst), 0, "the redirect was followed");
}

#[tokio::test]
async fn an_answer_trickling_in_byte_by_byte_times_out_with_the_deadline_in_words() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let slow = spawn_server(&["127.0.0.1"], Behaviour::ByteByByte).await;
    let egress = tight(Duration::from_secs(1), 64);
    let outcome = palisade::collect::connect::probe(&creds_for(&slow), &egress).await;
    assert!(!outcome.reachable);
    let error = outcome.error.unwrap();
    assert!(error.contains("timed out after 1 s"), "{error}");
}

#[tokio::test]
async fn localhost_is_refused_after_resolution_when_loopback_is_denied() {
    let app = spawn_app_with(|s| {
        s.egress.deny = vec!["127.0.0.0/8".into()];
        s.egress.allow = vec![];
    })
    .await;
    let target = spawn_server(&["localhost"], Behaviour::Kubernetes).await;
    let port = target.url.rsplit(':').next().unwrap();
    let resp =
        register(&app, &body_for("via-name", &format!("https://localhost:{port}"), Some(&target.ca_pem)))
            .await;
    let detail = assert_problem(resp, 400).await;
    assert!(
        detail.contains("`localhost` resolves to 127.0.0.1, which is on the egress deny list (127.0.0.0/8)"),
        "{detail}"
    );
    // A scan of that address fails with the rule before any packet is sent.
    let mut creds = creds_for(&target);
    creds.server = format!("https://localhost:{port}");
    let opts = quick(app.state.egress.clone());
    let err = kube::collect("via-name", &creds, opts).await.unwrap_err();
    assert!(matches!(err, CollectError::Egress(_)), "{err}");
    assert!(err.to_string().contains("egress deny list"), "{err}");
    assert_eq!(target.connections.load(Ordering::SeqCst), 0, "no connection reached the server");
}

#[tokio::test]
async fn a_10_x_address_is_refused_naming_the_allow_list() {
    let app = spawn_app().await;
    let resp = register(&app, &body_for("private", "https://10.0.0.5:6443", None)).await;
    let detail = assert_problem(resp, 400).await;
    assert_eq!(detail, "10.0.0.5 is outside the egress allow list 127.0.0.0/8, ::1/128");
    let listed: Value =
        app.admin.get(app.url("/api/v1/clusters")).send().await.unwrap().json().await.unwrap();
    assert!(!listed.to_string().contains("private"), "nothing was stored: {listed}");

    // Moving a registered cluster there is refused the same way.
    let cluster = app.register_cluster("moves", json!({})).await;
    let resp = app
        .admin
        .put(app.url(&format!("/api/v1/clusters/{}/credentials", cluster["id"].as_str().unwrap())))
        .json(&json!({"server": "https://10.0.0.5:6443", "token": "t"}))
        .send()
        .await
        .unwrap();
    let detail = assert_problem(resp, 400).await;
    assert!(detail.contains("outside the egress allow list"), "{detail}");
}

#[tokio::test]
async fn only_an_admin_may_switch_off_certificate_verification_and_the_cluster_says_so() {
    let app = spawn_app().await;
    let target = spawn_server(&["127.0.0.1"], Behaviour::Kubernetes).await;
    let body = json!({"name": "unverified", "check_connectivity": false,
        "credentials": {"server": target.url, "token": "t", "insecure_skip_tls_verify": true}});
    let editor = app.client_with_role(Role::Editor).await;
    let resp = editor.post(app.url("/api/v1/clusters")).json(&body).send().await.unwrap();
    let detail = assert_problem(resp, 403).await;
    assert!(detail.contains("only an administrator"), "{detail}");

    let resp = register(&app, &body).await;
    assert_eq!(resp.status(), 201);
    let cluster: Value = resp.json().await.unwrap();
    assert_eq!(cluster["insecure_skip_tls_verify"], true);

    // An editor cannot switch it off on an existing cluster either.
    let id = app.register_cluster("verified", json!({})).await["id"].as_str().unwrap().to_string();
    let resp = editor
        .put(app.url(&format!("/api/v1/clusters/{id}/credentials")))
        .json(&json!({"server": target.url, "token": "t", "insecure_skip_tls_verify": true}))
        .send()
        .await
        .unwrap();
    assert_problem(resp, 403).await;
}

#[tokio::test]
async fn a_cluster_scanned_without_certificate_verification_fails_the_tls_check() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cluster = sample::load_dir(sample::samples_dir().join("kubeadm-default")).unwrap();
    let sim = SimServer::start(SimConfig::new(cluster)).await.unwrap();
    let check = palisade::checks::find("PAL-TLS-090").unwrap();
    let result_of = |snap: &palisade::snapshot::Snapshot| {
        let results = check.run_on(snap, &Default::default());
        assert_eq!(results.len(), 1);
        results[0].clone()
    };

    let verified = kube::collect("v", &sim.credentials(), quick(Egress::loopback_only())).await.unwrap();
    assert_eq!(result_of(&verified).status, Status::Pass);

    let mut creds = sim.credentials();
    creds.insecure_skip_tls_verify = true;
    let unverified = kube::collect("u", &creds, quick(Egress::loopback_only())).await.unwrap();
    let result = result_of(&unverified);
    assert_eq!(result.status, Status::Fail);
    assert_eq!(result.severity, palisade::domain::Severity::High);
    assert!(result.evidence.contains("insecure_skip_tls_verify"), "{}", result.evidence);
}
