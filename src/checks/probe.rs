//! Checks on what the live probes saw (issue 13), all `source: probe`: certificates served on the
//! wire, protocol versions and weak suites accepted, etcd without client certificates, anonymous
//! access to the API server and the kubelets, answers on plain-text ports, and flags that claim a
//! protection the probe shows missing. One result per probed endpoint.
//!
//! - A scan that did not probe (an offline scan without `--probe`) gets one `not_applicable`
//!   result per check saying so: nothing was asked, so nothing is claimed.
//! - An endpoint that could not be probed (refused, timed out, outside the egress policy) is
//!   `unknown` with the reason, never a pass.
//!
//! Ids `PAL-TLS-2NN` and `PAL-AUTHN-2NN` are the probe range. They cite no CIS control: the
//! benchmark's controls are worded as flags, and a probe decides what a component does, not which
//! flag it was given.

use crate::domain::{Area, Severity, Status};
use crate::snapshot::probe::{HttpProbe, ProbeTarget, Service, TlsProbe, KUBELET_PATHS};
use crate::snapshot::{ComponentKind, EvidenceState, Source};

use super::component::lookup;
use super::{Check, CheckMeta, CheckOptions, CheckResult, Context, ResourceRef};

const SRC: &str = "live probes of the cluster's endpoints (TLS handshakes, unauthenticated requests)";

/// Every service with a TLS endpoint.
const ALL_TLS: &[Service] = &[
    Service::ApiServer,
    Service::Etcd,
    Service::EtcdPeer,
    Service::Kubelet,
    Service::ControllerManager,
    Service::Scheduler,
];

fn resource(t: &ProbeTarget) -> ResourceRef {
    ResourceRef { kind: t.service.as_str().into(), namespace: None, name: t.endpoint(), node: t.node.clone() }
}

fn cluster(ctx: &Context) -> ResourceRef {
    ResourceRef { kind: "Cluster".into(), name: ctx.cluster.name.clone(), ..Default::default() }
}

/// The one result of a check when the scan did not probe, or could not.
fn not_probed(meta: &CheckMeta, ctx: &Context) -> Option<Vec<CheckResult>> {
    match &ctx.probes.state {
        EvidenceState::Complete => None,
        EvidenceState::NotCollected => Some(vec![meta.result(
            Status::NotApplicable,
            cluster(ctx),
            "this scan did not probe the cluster's endpoints (offline scans probe only with --probe)",
            None,
        )]),
        EvidenceState::Unknown { reason, detail } => Some(vec![meta.result(
            Status::Unknown,
            cluster(ctx),
            format!("the probes did not run: {reason}: {detail}"),
            None,
        )]),
    }
}

/// Judge each TLS probe of `services`; an endpoint not probed is `unknown`, none at all is
/// `not_applicable` naming what was looked for.
fn each_tls(
    meta: &CheckMeta,
    ctx: &Context,
    services: &[Service],
    judge: &dyn Fn(&TlsProbe) -> (Status, String),
) -> Vec<CheckResult> {
    if let Some(r) = not_probed(meta, ctx) {
        return r;
    }
    let probes: Vec<&TlsProbe> =
        ctx.probes.tls.iter().filter(|p| services.contains(&p.target.service)).collect();
    if probes.is_empty() {
        let names: Vec<&str> = services.iter().map(|s| s.as_str()).collect();
        return vec![meta.result(
            Status::NotApplicable,
            cluster(ctx),
            format!("no {} TLS endpoint was found to probe", names.join(" or ")),
            None,
        )];
    }
    probes
        .into_iter()
        .map(|p| {
            let (status, evidence) = if p.facts.probed() {
                judge(p)
            } else {
                (
                    Status::Unknown,
                    format!(
                        "{} could not be probed: {}",
                        p.target.describe(),
                        p.facts.reason.as_deref().unwrap_or("no answer")
                    ),
                )
            };
            meta.result(status, resource(&p.target), evidence, Some(Source::Probe))
        })
        .collect()
}

/// The verdict on an endpoint that sent no certificate: undecided, with the reason.
fn no_certificate(p: &TlsProbe) -> (Status, String) {
    let why = p.facts.certificate_error.as_deref().unwrap_or("no handshake");
    (Status::Unknown, format!("{} sent no certificate: {why}", p.target.describe()))
}

fn expiry(meta: &CheckMeta, ctx: &Context, within: Option<i64>) -> Vec<CheckResult> {
    each_tls(meta, ctx, ALL_TLS, &|p| {
        let Some(cert) = &p.facts.certificate else {
            return no_certificate(p);
        };
        let when = cert.not_after.format("%Y-%m-%d");
        let subject = &cert.subject;
        match within {
            None if cert.expired => (
                Status::Fail,
                format!("{} serves a certificate ({subject}) that expired on {when}", p.target.describe()),
            ),
            None => (
                Status::Pass,
                format!("{} serves a certificate ({subject}) valid until {when}", p.target.describe()),
            ),
            Some(_) if cert.expired => (
                Status::NotApplicable,
                format!("{}'s certificate has already expired (PAL-TLS-201)", p.target.describe()),
            ),
            Some(days) if cert.days_left < days => (
                Status::Fail,
                format!(
                    "{} serves a certificate ({subject}) that expires on {when}, in {} days",
                    p.target.describe(),
                    cert.days_left
                ),
            ),
            Some(days) => (
                Status::Pass,
                format!(
                    "{}'s certificate expires on {when}, in {} days (more than {days})",
                    p.target.describe(),
                    cert.days_left
                ),
            ),
        }
    })
}

fn cert_expired(meta: &CheckMeta, ctx: &Context, _: &CheckOptions) -> Vec<CheckResult> {
    expiry(meta, ctx, None)
}

fn cert_30_days(meta: &CheckMeta, ctx: &Context, _: &CheckOptions) -> Vec<CheckResult> {
    expiry(meta, ctx, Some(30))
}

fn cert_90_days(meta: &CheckMeta, ctx: &Context, _: &CheckOptions) -> Vec<CheckResult> {
    expiry(meta, ctx, Some(90))
}

fn old_protocols(meta: &CheckMeta, ctx: &Context, _: &CheckOptions) -> Vec<CheckResult> {
    each_tls(meta, ctx, ALL_TLS, &|p| {
        let accepted: Vec<&str> =
            ["tls1.0", "tls1.1"].into_iter().filter(|v| p.facts.accepts(v) == Some(true)).collect();
        let undecided: Vec<&str> =
            ["tls1.0", "tls1.1"].into_iter().filter(|v| p.facts.accepts(v).is_none()).collect();
        if !accepted.is_empty() {
            (
                Status::Fail,
                format!("{} accepted a {} handshake", p.target.describe(), accepted.join(" and a ")),
            )
        } else if !undecided.is_empty() {
            (
                Status::Unknown,
                format!(
                    "{}: whether it accepts {} could not be read",
                    p.target.describe(),
                    undecided.join(" and ")
                ),
            )
        } else {
            (Status::Pass, format!("{} refused TLS 1.0 and TLS 1.1 handshakes", p.target.describe()))
        }
    })
}

fn weak_ciphers(meta: &CheckMeta, ctx: &Context, _: &CheckOptions) -> Vec<CheckResult> {
    each_tls(meta, ctx, ALL_TLS, &|p| {
        if p.facts.weak_ciphers_accepted.is_empty() {
            (
                Status::Pass,
                format!(
                    "{} accepted none of the weak suites offered (RC4, 3DES, CBC with SHA-1, RSA key exchange, \
                     NULL, EXPORT)",
                    p.target.describe()
                ),
            )
        } else {
            (
                Status::Fail,
                format!(
                    "{} accepted weak cipher suites: {}",
                    p.target.describe(),
                    p.facts.weak_ciphers_accepted.join(", ")
                ),
            )
        }
    })
}

fn trusted_chain(meta: &CheckMeta, ctx: &Context, _: &CheckOptions) -> Vec<CheckResult> {
    each_tls(meta, ctx, ALL_TLS, &|p| {
        let Some(cert) = &p.facts.certificate else {
            return no_certificate(p);
        };
        if cert.self_signed {
            return (
                Status::Fail,
                format!(
                    "{} serves a self-signed certificate ({}): no client can tell it from an impostor's",
                    p.target.describe(),
                    cert.subject
                ),
            );
        }
        match p.target.service {
            // etcd and the secure ports of the controllers have their own CAs (kubeadm's etcd CA):
            // only a self-signed leaf is a finding there.
            Service::Etcd | Service::EtcdPeer | Service::ControllerManager | Service::Scheduler => (
                Status::Pass,
                format!("{} serves a certificate issued by {}", p.target.describe(), cert.issuer),
            ),
            _ if cert.verified => (
                Status::Pass,
                format!("{}'s certificate chains to the cluster CA for its address", p.target.describe()),
            ),
            _ => match cert.verify_error.as_deref() {
                Some(e) if e.contains("no CA was given") => (
                    Status::Unknown,
                    format!("{}: no cluster CA to verify its certificate against ({e})", p.target.describe()),
                ),
                e => (
                    Status::Fail,
                    format!(
                        "{}'s certificate (issued by {}) does not verify against the cluster CA: {}",
                        p.target.describe(),
                        cert.issuer,
                        e.unwrap_or("not verified")
                    ),
                ),
            },
        }
    })
}

/// The flag on the etcd instance of a probed endpoint that claims client certificates.
fn etcd_claim(ctx: &Context, t: &ProbeTarget) -> Option<String> {
    let flag = if t.service == Service::EtcdPeer { "peer-client-cert-auth" } else { "client-cert-auth" };
    ctx.components_of(ComponentKind::Etcd)
        .filter(|c| t.node.is_none() || c.node == t.node)
        .find_map(|c| lookup(c, flag).filter(|f| f.value == "true").map(|f| f.shown))
}

fn etcd_client_certs(meta: &CheckMeta, ctx: &Context, _: &CheckOptions) -> Vec<CheckResult> {
    each_tls(meta, ctx, &[Service::Etcd, Service::EtcdPeer], &|p| match p.facts.client_certificate_required {
        Some(true) => (
            Status::Pass,
            format!("{} refused a handshake without a client certificate", p.target.describe()),
        ),
        Some(false) => (
            Status::Fail,
            format!(
                "{} accepted a client without a certificate: anyone who reaches it reads and writes every \
                 object{}",
                p.target.describe(),
                etcd_claim(ctx, &p.target).map(|f| format!(" (its manifest says {f})")).unwrap_or_default()
            ),
        ),
        None => (
            Status::Unknown,
            format!("{}: whether it requires a client certificate could not be decided", p.target.describe()),
        ),
    })
}

/// Judges one endpoint's unauthenticated answers.
type EndpointJudge<'a> = dyn Fn(&ProbeTarget, &[&HttpProbe]) -> (Status, String) + 'a;

/// Judge the unauthenticated requests to one service, grouped per endpoint.
fn each_endpoint(
    meta: &CheckMeta,
    ctx: &Context,
    service: Service,
    scheme: &str,
    judge: &EndpointJudge<'_>,
) -> Vec<CheckResult> {
    if let Some(r) = not_probed(meta, ctx) {
        return r;
    }
    let mut groups: Vec<(&ProbeTarget, Vec<&HttpProbe>)> = Vec::new();
    for p in ctx.probes.http_of(service).filter(|p| p.scheme == scheme) {
        match groups.iter_mut().find(|(t, _)| **t == p.target) {
            Some((_, list)) => list.push(p),
            None => groups.push((&p.target, vec![p])),
        }
    }
    if groups.is_empty() {
        return vec![meta.result(
            Status::NotApplicable,
            cluster(ctx),
            format!("no {service} endpoint was found to probe over {scheme}"),
            None,
        )];
    }
    groups
        .into_iter()
        .map(|(t, probes)| {
            let (status, evidence) = judge(t, &probes);
            meta.result(status, resource(t), evidence, Some(Source::Probe))
        })
        .collect()
}

fn answered(probes: &[&HttpProbe], paths: &[&str]) -> Vec<String> {
    probes
        .iter()
        .filter(|p| p.succeeded() && paths.contains(&p.path.as_str()))
        .map(|p| match p.items {
            Some(n) => format!("{} ({} {} items)", p.path, p.status.unwrap_or(200), n),
            None => format!("{} ({})", p.path, p.status.unwrap_or(200)),
        })
        .collect()
}

/// Why none of `probes` got an HTTP answer, when none did.
fn unanswered(t: &ProbeTarget, probes: &[&HttpProbe]) -> Option<String> {
    if probes.iter().any(|p| p.status.is_some()) {
        return None;
    }
    let why = probes.iter().find_map(|p| p.error.clone()).unwrap_or_else(|| "no answer".into());
    Some(format!("{} could not be asked: {why}", t.describe()))
}

const API_RESOURCES: &[&str] = &["/api/v1/namespaces", "/api/v1/secrets"];
const API_DISCOVERY: &[&str] = &["/api", "/apis"];

/// The API server's `--anonymous-auth=false`, when a probed API server's flags say so.
fn apiserver_denies_anonymous(ctx: &Context) -> Option<String> {
    ctx.components_of(ComponentKind::KubeApiserver).find_map(|c| {
        lookup(c, "anonymous-auth")
            .filter(|f| f.value == "false")
            .map(|f| format!("{} runs with {}", c.describe(), f.shown))
    })
}

/// "/pods 401": a request's path and status, or that it got no answer.
fn code_text(p: &&HttpProbe) -> String {
    format!("{} {}", p.path, p.status.map(|s| s.to_string()).unwrap_or_else(|| "no answer".into()))
}

/// Unauthenticated requests for `paths` on each `service` endpoint: all refused is a pass (with the
/// codes), any 2xx a fail in the words of `fail` (given the endpoint and what answered).
fn refused_anonymously(
    meta: &CheckMeta,
    ctx: &Context,
    service: Service,
    paths: &[&str],
    fail: fn(&ProbeTarget, &str) -> String,
) -> Vec<CheckResult> {
    each_endpoint(meta, ctx, service, "https", &|t, probes| {
        if let Some(why) = unanswered(t, probes) {
            return (Status::Unknown, why);
        }
        let open = answered(probes, paths);
        if open.is_empty() {
            let codes: Vec<String> =
                probes.iter().filter(|p| paths.contains(&p.path.as_str())).map(code_text).collect();
            (Status::Pass, format!("{} refused unauthenticated requests: {}", t.describe(), codes.join(", ")))
        } else {
            (Status::Fail, fail(t, &open.join(", ")))
        }
    })
}

fn anonymous_api_resources(meta: &CheckMeta, ctx: &Context, _: &CheckOptions) -> Vec<CheckResult> {
    refused_anonymously(meta, ctx, Service::ApiServer, API_RESOURCES, |t, open| {
        format!("{} answered unauthenticated requests for cluster objects: {open}", t.describe())
    })
}

fn anonymous_api_discovery(meta: &CheckMeta, ctx: &Context, _: &CheckOptions) -> Vec<CheckResult> {
    refused_anonymously(meta, ctx, Service::ApiServer, API_DISCOVERY, |t, open| {
        format!("{} lists its API to anyone: {open} answered without credentials", t.describe())
    })
}

fn anonymous_kubelet(meta: &CheckMeta, ctx: &Context, _: &CheckOptions) -> Vec<CheckResult> {
    refused_anonymously(meta, ctx, Service::Kubelet, KUBELET_PATHS, |t, open| {
        format!(
            "{} answered unauthenticated requests: {open}: anyone who reaches it reads its pods and configuration",
            t.describe()
        )
    })
}

fn plain_text_ports(meta: &CheckMeta, ctx: &Context, _: &CheckOptions) -> Vec<CheckResult> {
    if let Some(r) = not_probed(meta, ctx) {
        return r;
    }
    let plain: Vec<&HttpProbe> = ctx.probes.http.iter().filter(|p| p.scheme == "http").collect();
    if plain.is_empty() {
        return vec![meta.result(
            Status::NotApplicable,
            cluster(ctx),
            "no plain-text port was found to probe",
            None,
        )];
    }
    plain
        .into_iter()
        .map(|p| {
            let (status, evidence) = match (p.status, p.error.as_deref()) {
                (Some(code), _) => (
                    Status::Fail,
                    format!(
                        "{} answered GET {} over plain HTTP with {code}{}: no encryption, no authentication",
                        p.target.describe(),
                        p.path,
                        p.items.map(|n| format!(" ({n} items)")).unwrap_or_default()
                    ),
                ),
                (None, Some(e)) if is_closed(e) => {
                    (Status::Pass, format!("{} is closed: {e}", p.target.describe()))
                }
                (None, e) => {
                    (Status::Unknown, format!("{}: {}", p.target.describe(), e.unwrap_or("no answer")))
                }
            };
            meta.result(status, resource(&p.target), evidence, Some(Source::Probe))
        })
        .collect()
}

/// A connection error that means nothing listens there (or nothing answers from the network).
fn is_closed(error: &str) -> bool {
    let e = error.to_ascii_lowercase();
    e.contains("refused") || e.contains("timed out")
}

/// Flags that claim a protection the probe shows missing: each gets its own finding.
fn flags_match_probes(meta: &CheckMeta, ctx: &Context, _: &CheckOptions) -> Vec<CheckResult> {
    if let Some(r) = not_probed(meta, ctx) {
        return r;
    }
    let mut out = Vec::new();
    let mut compared = 0usize;
    for p in ctx.probes.tls_of(Service::Etcd).chain(ctx.probes.tls_of(Service::EtcdPeer)) {
        let Some(flag) = etcd_claim(ctx, &p.target) else { continue };
        compared += 1;
        if p.facts.client_certificate_required == Some(false) {
            out.push(meta.result(
                Status::Fail,
                resource(&p.target),
                format!(
                    "manifest says {flag}, but {} accepted a client without a certificate",
                    p.target.describe()
                ),
                Some(Source::Probe),
            ));
        }
    }
    if let Some(claim) = apiserver_denies_anonymous(ctx) {
        for p in ctx.probes.http_of(Service::ApiServer).filter(|p| p.scheme == "https") {
            compared += 1;
            // /version and /healthz answer 401 too with anonymous auth off; any 2xx contradicts it.
            if p.succeeded() {
                out.push(meta.result(
                    Status::Fail,
                    resource(&p.target),
                    format!(
                        "{claim}, but {} answered GET {} without credentials",
                        p.target.describe(),
                        p.path
                    ),
                    Some(Source::Probe),
                ));
            }
        }
    }
    for k in ctx.kubelets.iter() {
        let says_off = k
            .setting("anonymous-auth", "authentication.anonymous.enabled")
            .filter(|(v, _)| v == "false")
            .is_some();
        let says_closed = k.setting("read-only-port", "readOnlyPort").is_some_and(|(v, _)| v == "0");
        for p in
            ctx.probes.http_of(Service::Kubelet).filter(|p| p.target.node.as_deref() == Some(k.node.as_str()))
        {
            let contradiction = match p.scheme.as_str() {
                "https" if says_off => {
                    compared += 1;
                    p.succeeded().then(|| "its configuration disables anonymous authentication".to_string())
                }
                "http" if says_closed => {
                    compared += 1;
                    p.status.is_some().then(|| "its configuration sets readOnlyPort: 0".to_string())
                }
                _ => None,
            };
            if let Some(claim) = contradiction {
                out.push(meta.result(
                    Status::Fail,
                    resource(&p.target),
                    format!(
                        "the kubelet on {}: {claim}, but {} answered GET {} without credentials",
                        k.node,
                        p.url(),
                        p.path
                    ),
                    Some(Source::Probe),
                ));
            }
        }
    }
    if out.is_empty() {
        let (status, evidence) = if compared == 0 {
            (Status::NotApplicable, "no flag claims a protection the probes could test".to_string())
        } else {
            (
                Status::Pass,
                format!("{compared} probe answers agree with what the flags and configurations claim"),
            )
        };
        out.push(meta.result(status, cluster(ctx), evidence, Some(Source::Probe)));
    }
    out
}

macro_rules! probe_check {
    ($id:literal, $title:literal, $area:expr, $sev:expr, $run:expr, $rationale:literal, $remediation:literal) => {
        super::check!($id, $title, $area, $sev, $run, $rationale, $remediation)
    };
}

/// The probe checks, in catalog order.
pub static CHECKS: &[Check] = &[
    probe_check!("PAL-TLS-201", "Served certificates are not expired", Area::Tls, Severity::Critical, cert_expired,
        "An expired certificate breaks every client that verifies it, and teaches the ones that do not to ignore errors.",
        "Renew the certificate (kubeadm: `kubeadm certs renew all`, then restart the static pods; kubelets: enable rotateCertificates and serverTLSBootstrap)."),
    probe_check!("PAL-TLS-202", "Served certificates do not expire within 30 days", Area::Tls, Severity::High, cert_30_days,
        "A certificate that expires within a month takes its component down unless it is renewed now.",
        "Renew the certificate before it expires (kubeadm: `kubeadm certs check-expiration`, `kubeadm certs renew`)."),
    probe_check!("PAL-TLS-203", "Served certificates do not expire within 90 days", Area::Tls, Severity::Medium, cert_90_days,
        "Renewals planned a quarter ahead do not become outages.",
        "Plan the renewal (kubeadm renews on every control-plane upgrade; kubelets rotate with rotateCertificates)."),
    probe_check!("PAL-TLS-204", "Endpoints refuse TLS 1.0 and 1.1", Area::Tls, Severity::High, old_protocols,
        "TLS 1.0 and 1.1 are deprecated (RFC 8996): their handshakes and CBC suites have known attacks.",
        "Set --tls-min-version=VersionTLS12 (kube-apiserver, kubelet tlsMinVersion, controller-manager, scheduler) and --tls-min-version=TLS1.2 on etcd."),
    probe_check!("PAL-TLS-205", "Endpoints refuse weak cipher suites", Area::Tls, Severity::Medium, weak_ciphers,
        "RC4, 3DES, NULL and EXPORT suites are broken; RSA key exchange has no forward secrecy; CBC with SHA-1 has padding-oracle attacks.",
        "Set --tls-cipher-suites to ECDHE suites with AES-GCM or ChaCha20-Poly1305 only (kubelet tlsCipherSuites; etcd --cipher-suites)."),
    probe_check!("PAL-TLS-206", "Endpoints serve certificates clients can verify", Area::Tls, Severity::Medium, trusted_chain,
        "A self-signed serving certificate, or one not from the cluster CA, cannot be told from an attacker's: clients must skip verification to talk to it.",
        "Serve certificates signed by the cluster CA (kubelet: serverTLSBootstrap: true and approve the CSRs, or --tls-cert-file/--tls-private-key-file); never run etcd with --auto-tls."),
    probe_check!("PAL-AUTHN-201", "etcd refuses clients without a certificate", Area::Authn, Severity::Critical, etcd_client_certs,
        "etcd holds every object of the cluster, secrets included: a client that needs no certificate is anyone on the network.",
        "Run etcd with --client-cert-auth=true --trusted-ca-file=… (and --peer-client-cert-auth=true --peer-trusted-ca-file=… for peers)."),
    probe_check!("PAL-AUTHN-202", "Flags and probes agree", Area::Authn, Severity::High, flags_match_probes,
        "A manifest that claims a protection the running component does not enforce is worse than none: every review of the manifest passes.",
        "Find out why the running component differs from its manifest (a stale pod, a wrapper, another process on the port) and restart it from the manifest."),
    probe_check!("PAL-AUTHN-203", "The API server refuses anonymous reads of cluster objects", Area::Authn, Severity::Critical, anonymous_api_resources,
        "Unauthenticated requests that list namespaces or secrets mean system:anonymous is bound to a role that reads them: anyone who reaches the API reads the cluster.",
        "Remove the bindings that grant system:anonymous or system:unauthenticated access, and run kube-apiserver with --anonymous-auth=false where possible."),
    probe_check!("PAL-AUTHN-204", "The API server refuses anonymous discovery", Area::Authn, Severity::Low, anonymous_api_discovery,
        "Anonymous discovery (/api, /apis) tells an attacker every API group and version the cluster serves.",
        "Run kube-apiserver with --anonymous-auth=false, or leave system:discovery bound to system:authenticated only."),
    probe_check!("PAL-AUTHN-205", "Kubelets refuse anonymous requests", Area::Authn, Severity::Critical, anonymous_kubelet,
        "A kubelet that answers /pods or /configz without credentials lists its pods and settings, and usually runs commands in them too.",
        "Set authentication.anonymous.enabled: false and authorization.mode: Webhook in the kubelet configuration (or --anonymous-auth=false --authorization-mode=Webhook)."),
    probe_check!("PAL-TLS-207", "No plain-text port answers", Area::Tls, Severity::Critical, plain_text_ports,
        "The API server's insecure port, the kubelet's read-only port and etcd over http:// serve without encryption or authentication.",
        "Remove --insecure-port (kube-apiserver), set readOnlyPort: 0 (kubelet) and serve etcd on https:// URLs only."),
];
