//! The simulator's Kubernetes API semantics seen by HTTP clients: authentication (token,
//! certificate, anonymous), 401/403 `Status` answers, pagination with continue tokens, label
//! selectors, fault injection and the TLS floor. Also checks that kube-rs with k8s-openapi types
//! reads what the simulator serves.

use std::time::Duration;

use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::ListParams;
use palisade::egress::Egress;
use palisade::sim::{
    sample, Access, ClusterBuilder, FaultRule, SimConfig, SimHandle, SimServer, SimSettings,
};
use serde_json::{json, Value};

async fn kubeadm_default() -> SimHandle {
    let cluster = sample::load_dir(sample::samples_dir().join("kubeadm-default")).unwrap();
    SimServer::start(SimConfig::new(cluster)).await.unwrap()
}

fn client(sim: &SimHandle) -> reqwest::Client {
    reqwest::Client::builder()
        .use_rustls_tls()
        .add_root_certificate(reqwest::Certificate::from_pem(sim.ca_pem.as_bytes()).unwrap())
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

async fn get(sim: &SimHandle, path: &str, token: Option<&str>) -> (u16, Value) {
    let mut req = client(sim).get(format!("{}{path}", sim.url));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.unwrap();
    let code = resp.status().as_u16();
    (code, resp.json().await.unwrap_or(Value::Null))
}

/// A cluster of `n` pods spread over three namespaces.
fn many_pods(n: usize) -> palisade::sim::ClusterData {
    let mut b = ClusterBuilder::new("many", SimSettings::default());
    for i in 0..n {
        b.add_object(json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": format!("web-{i:05}"), "namespace": format!("team-{}", i % 3),
                         "labels": {"app": if i % 4 == 0 { "api" } else { "web" }}},
            "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}
        }))
        .unwrap();
    }
    b.finish()
}

#[tokio::test]
async fn a_wrong_token_gets_401_and_a_forbidden_resource_gets_the_api_servers_403() {
    let cluster = sample::load_dir(sample::samples_dir().join("kubeadm-default")).unwrap();
    let sim = SimServer::start(SimConfig::new(cluster).token_access(Access::all_except(&["secrets"])))
        .await
        .unwrap();
    let (code, body) = get(&sim, "/api/v1/pods", Some("wrong")).await;
    assert_eq!(code, 401);
    assert_eq!(body["reason"], "Unauthorized");

    let (code, body) = get(&sim, "/api/v1/secrets", Some(&sim.token)).await;
    assert_eq!(code, 403);
    assert_eq!(body["kind"], "Status");
    assert_eq!(body["reason"], "Forbidden");
    assert_eq!(
        body["message"],
        "secrets is forbidden: User \"system:serviceaccount:palisade:scanner\" cannot list resource \"secrets\" in API group \"\" at the cluster scope"
    );
    let (code, body) = get(&sim, "/api/v1/namespaces/shop/secrets/stripe-api", Some(&sim.token)).await;
    assert_eq!(code, 403);
    assert!(body["message"].as_str().unwrap().contains("in the namespace \"shop\""), "{body}");

    // Everything else stays readable.
    let (code, body) = get(&sim, "/api/v1/namespaces/shop/pods", Some(&sim.token)).await;
    assert_eq!(code, 200);
    assert_eq!(body["kind"], "PodList");
    assert!(body["items"].as_array().unwrap().iter().all(|p| p["metadata"]["namespace"] == "shop"));
}

#[tokio::test]
async fn anonymous_requests_see_only_version_on_a_default_cluster() {
    let sim = kubeadm_default().await;
    let (code, body) = get(&sim, "/version", None).await;
    assert_eq!(code, 200);
    assert_eq!(body["gitVersion"], "v1.31.4");
    let (code, body) = get(&sim, "/api/v1/pods", None).await;
    assert_eq!(code, 403);
    assert!(body["message"].as_str().unwrap().contains("User \"system:anonymous\""), "{body}");
}

#[tokio::test]
async fn listing_in_pages_returns_every_pod_exactly_once() {
    let sim = SimServer::start(SimConfig::new(many_pods(1234))).await.unwrap();
    let mut seen = std::collections::BTreeSet::new();
    let mut cont = String::new();
    let mut pages = 0;
    loop {
        let (code, body) =
            get(&sim, &format!("/api/v1/pods?limit=100&continue={cont}"), Some(&sim.token)).await;
        assert_eq!(code, 200, "{body}");
        pages += 1;
        for item in body["items"].as_array().unwrap() {
            let key = format!(
                "{}/{}",
                item["metadata"]["namespace"].as_str().unwrap(),
                item["metadata"]["name"].as_str().unwrap()
            );
            assert!(seen.insert(key), "an item came twice");
            assert!(item["metadata"]["resourceVersion"].is_string());
        }
        assert!(body["metadata"]["resourceVersion"].is_string());
        match body["metadata"]["continue"].as_str() {
            Some(c) => cont = c.to_string(),
            None => break,
        }
    }
    assert_eq!(seen.len(), 1234);
    assert_eq!(pages, 13);

    let (code, body) = get(&sim, "/api/v1/pods?limit=10&continue=garbage", Some(&sim.token)).await;
    assert_eq!(code, 400);
    assert_eq!(body["reason"], "BadRequest");
}

#[tokio::test]
async fn label_selectors_filter_lists() {
    let sim = SimServer::start(SimConfig::new(many_pods(40))).await.unwrap();
    let (code, body) =
        get(&sim, "/api/v1/namespaces/team-0/pods?labelSelector=app%3Dapi", Some(&sim.token)).await;
    assert_eq!(code, 200);
    let items = body["items"].as_array().unwrap();
    assert!(!items.is_empty());
    assert!(items
        .iter()
        .all(|p| p["metadata"]["labels"]["app"] == "api" && p["metadata"]["namespace"] == "team-0"));
    let (code, body) = get(&sim, "/api/v1/pods?labelSelector=app+in+(web)", Some(&sim.token)).await;
    assert_eq!(code, 200);
    assert_eq!(body["items"].as_array().unwrap().len(), 30);
}

#[tokio::test]
async fn kube_rs_reads_typed_pods_nodes_and_configz_through_the_credentials() {
    // The test binary links both rustls providers (a dev-dependency brings aws-lc-rs), so pick
    // ring explicitly as the product does.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let sim = kubeadm_default().await;
    for creds in [sim.credentials(), sim.cert_credentials()] {
        let client = creds.client(&Egress::loopback_only()).unwrap();
        let pods: kube::Api<Pod> = kube::Api::all(client.clone());
        let mut names = Vec::new();
        let mut params = ListParams::default().limit(5);
        loop {
            let page = pods.list(&params).await.unwrap();
            names.extend(page.items.iter().map(|p| p.metadata.name.clone().unwrap()));
            match page.metadata.continue_ {
                Some(c) if !c.is_empty() => params = params.continue_token(&c),
                _ => break,
            }
        }
        assert!(names.iter().any(|n| n == "kube-scheduler-cp-1"), "{names:?}");
        let nodes: kube::Api<Node> = kube::Api::all(client.clone());
        let cp = nodes.get("cp-1").await.unwrap();
        assert!(cp.metadata.labels.unwrap().contains_key("node-role.kubernetes.io/control-plane"));
        let req = http::Request::get("/api/v1/nodes/cp-1/proxy/configz").body(Vec::new()).unwrap();
        let configz: Value = client.request(req).await.unwrap();
        assert_eq!(configz["kubeletconfig"]["staticPodPath"], "/etc/kubernetes/manifests");
    }
}

#[tokio::test]
async fn faults_inject_errors_dropped_connections_timeouts_and_slow_bodies() {
    let sim = kubeadm_default().await;
    sim.set_faults(vec![FaultRule::on_resource("nodes").status(503)]);
    let (code, body) = get(&sim, "/api/v1/nodes", Some(&sim.token)).await;
    assert_eq!(code, 503);
    assert_eq!(body["reason"], "ServiceUnavailable");

    // Dropped once, then answered: what a retrying client meets.
    sim.set_faults(vec![FaultRule::on_resource("pods").dropped().times(1)]);
    let first = client(&sim).get(format!("{}/api/v1/pods", sim.url)).bearer_auth(&sim.token).send().await;
    assert!(first.is_err(), "the first request must fail without an answer");
    let (code, _) = get(&sim, "/api/v1/pods", Some(&sim.token)).await;
    assert_eq!(code, 200);

    // Latency beyond the client's timeout is a timeout for the client.
    sim.set_faults(vec![FaultRule::on_path("/api/v1/namespaces").latency(Duration::from_secs(30))]);
    let impatient = reqwest::Client::builder()
        .use_rustls_tls()
        .add_root_certificate(reqwest::Certificate::from_pem(sim.ca_pem.as_bytes()).unwrap())
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let err = impatient
        .get(format!("{}/api/v1/namespaces", sim.url))
        .bearer_auth(&sim.token)
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err}");

    // A slow body still carries the whole, valid answer.
    sim.set_faults(vec![FaultRule::on_resource("clusterroles").slow_body(4096, Duration::from_millis(2))]);
    let (code, body) = get(&sim, "/apis/rbac.authorization.k8s.io/v1/clusterroles", Some(&sim.token)).await;
    assert_eq!(code, 200);
    assert!(body["items"].as_array().unwrap().iter().any(|r| r["metadata"]["name"] == "cluster-admin"));
}

#[tokio::test]
async fn a_tls_1_3_floor_refuses_tls_1_2_clients() {
    let cluster = sample::load_dir(sample::samples_dir().join("kubeadm-default")).unwrap();
    let sim = SimServer::start(SimConfig::new(cluster).min_tls_version("1.3")).await.unwrap();
    let old = reqwest::Client::builder()
        .use_rustls_tls()
        .add_root_certificate(reqwest::Certificate::from_pem(sim.ca_pem.as_bytes()).unwrap())
        .max_tls_version(reqwest::tls::Version::TLS_1_2)
        .build()
        .unwrap();
    assert!(old.get(format!("{}/version", sim.url)).send().await.is_err());
    let (code, _) = get(&sim, "/version", None).await;
    assert_eq!(code, 200);
}

#[tokio::test]
async fn every_bundled_sample_loads_cleanly_and_serves_what_it_claims() {
    for name in sample::BUNDLED {
        let builder = sample::load_builder(&sample::samples_dir().join(name)).unwrap();
        assert!(builder.warnings().is_empty(), "{name}: {:?}", builder.warnings());
    }
    let load = |name: &str| sample::load_dir(sample::samples_dir().join(name)).unwrap();

    // managed: no control-plane pods, a provider version.
    let sim = SimServer::start(SimConfig::new(load("managed"))).await.unwrap();
    let (_, pods) = get(&sim, "/api/v1/namespaces/kube-system/pods", Some(&sim.token)).await;
    let names: Vec<&str> =
        pods["items"].as_array().unwrap().iter().map(|p| p["metadata"]["name"].as_str().unwrap()).collect();
    assert!(names.iter().any(|n| n.starts_with("aws-node-")), "{names:?}");
    assert!(!names.iter().any(|n| n.starts_with("kube-apiserver")), "{names:?}");
    let (_, version) = get(&sim, "/version", None).await;
    assert_eq!(version["gitVersion"], "v1.31.2-eks-94953ac");

    // hardened: three API servers, network policies, anonymous refused outright.
    let sim = SimServer::start(SimConfig::new(load("hardened"))).await.unwrap();
    let (_, pods) = get(
        &sim,
        "/api/v1/namespaces/kube-system/pods?labelSelector=component%3Dkube-apiserver",
        Some(&sim.token),
    )
    .await;
    assert_eq!(pods["items"].as_array().unwrap().len(), 3);
    let (_, netpols) =
        get(&sim, "/apis/networking.k8s.io/v1/namespaces/shop/networkpolicies", Some(&sim.token)).await;
    assert!(netpols["items"].as_array().unwrap().iter().any(|p| p["metadata"]["name"] == "default-deny"));
    let (code, _) = get(&sim, "/version", None).await;
    assert_eq!(code, 401, "--anonymous-auth=false means no anonymous requests at all");

    // legacy: cluster-admin is bound to system:anonymous, so anonymous reads succeed.
    let sim = SimServer::start(SimConfig::new(load("legacy"))).await.unwrap();
    let (code, secrets) = get(&sim, "/api/v1/secrets", None).await;
    assert_eq!(code, 200);
    assert!(secrets["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["data"].as_object().is_none_or(|d| d.values().all(|v| v == ""))));
    let (_, configz) = get(&sim, "/api/v1/nodes/node-1/proxy/configz", None).await;
    assert_eq!(configz["kubeletconfig"]["authorization"]["mode"], "AlwaysAllow");
}
