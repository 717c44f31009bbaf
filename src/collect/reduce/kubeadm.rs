//! The kubeadm-config ConfigMap as secondary control-plane evidence: the command lines kubeadm
//! renders from a ClusterConfiguration.

use super::*;

/// `extraArgs` in either kubeadm API shape: v1beta3 map, v1beta4 list of `{name, value}`.
fn extra_args(section: Option<&Value>) -> Vec<(String, String)> {
    match section.and_then(|s| s.get("extraArgs")) {
        Some(Value::Object(m)) => m
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())))
            .collect(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|a| (str_at(a, &["name"]).to_string(), str_at(a, &["value"]).to_string()))
            .collect(),
        _ => Vec::new(),
    }
}

/// The control-plane command lines kubeadm renders from a ClusterConfiguration: kubeadm's own
/// flags (as of kubeadm 1.31) overridden by `extraArgs`. Used only when no static pod of the
/// component is visible, and named `kubeadm-config` so results say where they came from.
pub fn kubeadm_components(config: &Value, origin: &Origin) -> Vec<Component> {
    let pki =
        Some(str_at(config, &["certificatesDir"])).filter(|s| !s.is_empty()).unwrap_or("/etc/kubernetes/pki");
    let services = Some(str_at(config, &["networking", "serviceSubnet"]))
        .filter(|s| !s.is_empty())
        .unwrap_or("10.96.0.0/12");
    let cluster_name =
        Some(str_at(config, &["clusterName"])).filter(|s| !s.is_empty()).unwrap_or("kubernetes");
    let apiserver: Vec<String> = vec![
        "--allow-privileged=true".into(),
        "--authorization-mode=Node,RBAC".into(),
        format!("--client-ca-file={pki}/ca.crt"),
        "--enable-admission-plugins=NodeRestriction".into(),
        "--enable-bootstrap-token-auth=true".into(),
        format!("--etcd-cafile={pki}/etcd/ca.crt"),
        format!("--etcd-certfile={pki}/apiserver-etcd-client.crt"),
        format!("--etcd-keyfile={pki}/apiserver-etcd-client.key"),
        "--etcd-servers=https://127.0.0.1:2379".into(),
        format!("--kubelet-client-certificate={pki}/apiserver-kubelet-client.crt"),
        format!("--kubelet-client-key={pki}/apiserver-kubelet-client.key"),
        "--kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname".into(),
        format!("--proxy-client-cert-file={pki}/front-proxy-client.crt"),
        format!("--proxy-client-key-file={pki}/front-proxy-client.key"),
        "--requestheader-allowed-names=front-proxy-client".into(),
        format!("--requestheader-client-ca-file={pki}/front-proxy-ca.crt"),
        "--requestheader-extra-headers-prefix=X-Remote-Extra-".into(),
        "--requestheader-group-headers=X-Remote-Group".into(),
        "--requestheader-username-headers=X-Remote-User".into(),
        "--secure-port=6443".into(),
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local".into(),
        format!("--service-account-key-file={pki}/sa.pub"),
        format!("--service-account-signing-key-file={pki}/sa.key"),
        format!("--service-cluster-ip-range={services}"),
        format!("--tls-cert-file={pki}/apiserver.crt"),
        format!("--tls-private-key-file={pki}/apiserver.key"),
    ];
    let controller_manager: Vec<String> = vec![
        "--authentication-kubeconfig=/etc/kubernetes/controller-manager.conf".into(),
        "--authorization-kubeconfig=/etc/kubernetes/controller-manager.conf".into(),
        "--bind-address=127.0.0.1".into(),
        format!("--client-ca-file={pki}/ca.crt"),
        format!("--cluster-name={cluster_name}"),
        format!("--cluster-signing-cert-file={pki}/ca.crt"),
        format!("--cluster-signing-key-file={pki}/ca.key"),
        "--controllers=*,bootstrapsigner,tokencleaner".into(),
        "--kubeconfig=/etc/kubernetes/controller-manager.conf".into(),
        "--leader-elect=true".into(),
        format!("--requestheader-client-ca-file={pki}/front-proxy-ca.crt"),
        format!("--root-ca-file={pki}/ca.crt"),
        format!("--service-account-private-key-file={pki}/sa.key"),
        "--use-service-account-credentials=true".into(),
    ];
    let scheduler: Vec<String> = vec![
        "--authentication-kubeconfig=/etc/kubernetes/scheduler.conf".into(),
        "--authorization-kubeconfig=/etc/kubernetes/scheduler.conf".into(),
        "--bind-address=127.0.0.1".into(),
        "--kubeconfig=/etc/kubernetes/scheduler.conf".into(),
        "--leader-elect=true".into(),
    ];
    let etcd: Vec<String> = vec![
        format!("--cert-file={pki}/etcd/server.crt"),
        "--client-cert-auth=true".into(),
        "--data-dir=/var/lib/etcd".into(),
        format!("--key-file={pki}/etcd/server.key"),
        format!("--peer-cert-file={pki}/etcd/peer.crt"),
        "--peer-client-cert-auth=true".into(),
        format!("--peer-key-file={pki}/etcd/peer.key"),
        format!("--peer-trusted-ca-file={pki}/etcd/ca.crt"),
        format!("--trusted-ca-file={pki}/etcd/ca.crt"),
    ];
    let build = |kind: ComponentKind, base: Vec<String>, section: Option<&Value>| {
        let mut flags = Flags::parse(&base);
        // kubeadm replaces its own flag of that name; a v1beta4 list may repeat a name and every
        // entry is kept, in order (a slice flag then appends them).
        let extra = extra_args(section);
        for (k, _) in &extra {
            flags.remove(k);
        }
        for (k, v) in &extra {
            flags.push(k, Some(v));
        }
        Component {
            kind,
            name: "kubeadm-config".into(),
            // kubeadm renders these as static pods in kube-system.
            namespace: Some("kube-system".into()),
            node: None,
            origin: origin.clone(),
            flags,
            env: BTreeMap::new(),
        }
    };
    let mut out = vec![
        build(ComponentKind::KubeApiserver, apiserver, config.get("apiServer")),
        build(ComponentKind::KubeControllerManager, controller_manager, config.get("controllerManager")),
        build(ComponentKind::KubeScheduler, scheduler, config.get("scheduler")),
    ];
    // External etcd is not rendered by kubeadm: nothing to say about it from here.
    if config.pointer("/etcd/external").is_none() {
        out.push(build(ComponentKind::Etcd, etcd, config.pointer("/etcd/local")));
    }
    out
}
