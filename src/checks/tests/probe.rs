//! Probe checks (`PAL-TLS-2NN`, `PAL-AUTHN-2NN`) on kubeadm's cluster with probe evidence: each
//! passing, failing, and with the endpoint not probed (unreachable, outside the egress policy,
//! or no probes at all).

use std::collections::BTreeMap;

use chrono::{Duration, TimeZone, Utc};

use super::{k, Case};
use crate::domain::Status;
use crate::snapshot::probe::{
    CertFacts, HttpProbe, Negotiated, ProbeTarget, Probes, Service, TlsFacts, TlsProbe,
};
use crate::snapshot::{EvidenceState, Origin, Snapshot, Source};

fn target(service: Service, port: u16) -> ProbeTarget {
    let node = if service == Service::Kubelet { "worker-1" } else { "cp-1" };
    ProbeTarget { service, node: Some(node.into()), host: "10.0.0.11".into(), port, basis: "a test".into() }
}

fn good_facts(endpoint: String) -> TlsFacts {
    let now = Utc.with_ymd_and_hms(2026, 1, 15, 9, 30, 0).unwrap();
    TlsFacts {
        endpoint,
        reachable: true,
        reason: None,
        protocols: [("tls1.0", false), ("tls1.1", false), ("tls1.2", true), ("tls1.3", true)]
            .into_iter()
            .map(|(v, ok)| (v.to_string(), Some(ok)))
            .collect::<BTreeMap<_, _>>(),
        negotiated: Some(Negotiated { version: "tls1.3".into(), cipher: "TLS_AES_128_GCM_SHA256".into() }),
        weak_ciphers_accepted: Vec::new(),
        certificate: Some(CertFacts {
            subject: "CN=kube-apiserver".into(),
            issuer: "CN=kubernetes".into(),
            sans: vec!["10.0.0.11".into()],
            not_before: now - Duration::days(10),
            not_after: now + Duration::days(355),
            days_left: 355,
            expired: false,
            key: "ecdsa-p256".into(),
            signature: "ecdsa-with-SHA256".into(),
            self_signed: false,
            verified: true,
            verify_error: None,
        }),
        certificate_error: None,
        client_certificate_required: Some(true),
    }
}

fn tls(service: Service, port: u16, change: fn(&mut TlsFacts)) -> TlsProbe {
    let target = target(service, port);
    let mut facts = good_facts(target.endpoint());
    change(&mut facts);
    TlsProbe { target, facts }
}

fn probed(tls: Vec<TlsProbe>, http: Vec<HttpProbe>) -> Snapshot {
    let mut snap = k();
    snap.probes = Probes {
        origin: Some(Origin::new(Source::Probe, snap.collected_at)),
        state: EvidenceState::Complete,
        tls,
        http,
        ssh: Vec::new(),
        skipped: Vec::new(),
    };
    snap
}

/// An API server, an etcd and a kubelet endpoint, each with `change` applied.
fn all_tls(change: fn(&mut TlsFacts)) -> Snapshot {
    probed(
        vec![
            tls(Service::ApiServer, 6443, change),
            tls(Service::Etcd, 2379, change),
            tls(Service::Kubelet, 10250, change),
        ],
        Vec::new(),
    )
}

fn unchanged(_: &mut TlsFacts) {}

fn unreachable(f: &mut TlsFacts) {
    f.reachable = false;
    f.reason = Some("connection to 10.0.0.11:6443 failed: Connection refused (os error 111)".into());
    f.certificate = None;
    f.protocols.values_mut().for_each(|v| *v = None);
}

fn cert(f: &mut TlsFacts) -> &mut CertFacts {
    f.certificate.as_mut().expect("a certificate")
}

fn http(
    service: Service,
    port: u16,
    scheme: &str,
    path: &str,
    status: Option<u16>,
    error: Option<&str>,
) -> HttpProbe {
    HttpProbe {
        target: target(service, port),
        scheme: scheme.into(),
        path: path.into(),
        status,
        error: error.map(str::to_string),
        items: status.filter(|s| *s == 200).map(|_| 3),
    }
}

fn api(codes: &[(&str, Option<u16>)]) -> Snapshot {
    let refused = "connection to 10.0.0.11:6443 failed: Connection refused (os error 111)";
    let probes = codes
        .iter()
        .map(|(path, code)| {
            http(Service::ApiServer, 6443, "https", path, *code, code.is_none().then_some(refused))
        })
        .collect();
    probed(Vec::new(), probes)
}

fn api_all(code: Option<u16>, open: &[&str]) -> Snapshot {
    let paths = ["/version", "/healthz", "/api", "/apis", "/api/v1/namespaces", "/api/v1/secrets"];
    let codes: Vec<(&str, Option<u16>)> =
        paths.iter().map(|p| (*p, if open.contains(p) { Some(200) } else { code })).collect();
    api(&codes)
}

fn kubelet_http(code: Option<u16>, error: Option<&str>) -> Snapshot {
    let probes = ["/pods", "/runningpods/", "/configz"]
        .iter()
        .map(|p| http(Service::Kubelet, 10250, "https", p, code, error))
        .collect();
    probed(Vec::new(), probes)
}

fn plain(code: Option<u16>, error: Option<&str>) -> Snapshot {
    probed(Vec::new(), vec![http(Service::Kubelet, 10255, "http", "/pods", code, error)])
}

pub(super) fn cases() -> Vec<Case> {
    vec![
        Case {
            id: "PAL-TLS-201",
            pass: || all_tls(unchanged),
            fail: || {
                all_tls(|f| {
                    let c = cert(f);
                    c.expired = true;
                    c.days_left = -3;
                })
            },
            fail_status: Status::Fail,
            absent: || all_tls(unreachable),
            absent_status: Status::Unknown,
        },
        Case {
            id: "PAL-TLS-202",
            pass: || all_tls(unchanged),
            fail: || all_tls(|f| cert(f).days_left = 12),
            fail_status: Status::Fail,
            absent: || {
                all_tls(|f| {
                    f.certificate = None;
                    f.certificate_error = Some("the handshake did not finish within 3 s".into());
                })
            },
            absent_status: Status::Unknown,
        },
        Case {
            id: "PAL-TLS-203",
            pass: || all_tls(unchanged),
            fail: || all_tls(|f| cert(f).days_left = 60),
            fail_status: Status::Fail,
            absent: || all_tls(unreachable),
            absent_status: Status::Unknown,
        },
        Case {
            id: "PAL-TLS-204",
            pass: || all_tls(unchanged),
            fail: || {
                all_tls(|f| {
                    f.protocols.insert("tls1.0".into(), Some(true));
                })
            },
            fail_status: Status::Fail,
            absent: || {
                all_tls(|f| {
                    f.protocols.insert("tls1.1".into(), None);
                })
            },
            absent_status: Status::Unknown,
        },
        Case {
            id: "PAL-TLS-205",
            pass: || all_tls(unchanged),
            fail: || all_tls(|f| f.weak_ciphers_accepted = vec!["TLS_RSA_WITH_AES_128_CBC_SHA".into()]),
            fail_status: Status::Fail,
            absent: || all_tls(unreachable),
            absent_status: Status::Unknown,
        },
        Case {
            id: "PAL-TLS-206",
            pass: || all_tls(unchanged),
            fail: || all_tls(|f| cert(f).self_signed = true),
            fail_status: Status::Fail,
            absent: || all_tls(unreachable),
            absent_status: Status::Unknown,
        },
        Case {
            id: "PAL-AUTHN-201",
            pass: || {
                probed(
                    vec![tls(Service::Etcd, 2379, unchanged), tls(Service::EtcdPeer, 2380, unchanged)],
                    Vec::new(),
                )
            },
            fail: || {
                probed(
                    vec![tls(Service::Etcd, 2379, |f| f.client_certificate_required = Some(false))],
                    Vec::new(),
                )
            },
            fail_status: Status::Fail,
            absent: || probed(vec![tls(Service::Etcd, 2379, unreachable)], Vec::new()),
            absent_status: Status::Unknown,
        },
        // kubeadm's etcd runs with --client-cert-auth=true: the probe agrees, or contradicts it.
        Case {
            id: "PAL-AUTHN-202",
            pass: || probed(vec![tls(Service::Etcd, 2379, unchanged)], Vec::new()),
            fail: || {
                probed(
                    vec![tls(Service::Etcd, 2379, |f| f.client_certificate_required = Some(false))],
                    Vec::new(),
                )
            },
            fail_status: Status::Fail,
            absent: k,
            absent_status: Status::NotApplicable,
        },
        Case {
            id: "PAL-AUTHN-203",
            pass: || api_all(Some(403), &["/version", "/healthz"]),
            fail: || api_all(Some(403), &["/api/v1/secrets"]),
            fail_status: Status::Fail,
            absent: || api_all(None, &[]),
            absent_status: Status::Unknown,
        },
        Case {
            id: "PAL-AUTHN-204",
            pass: || api_all(Some(401), &[]),
            fail: || api_all(Some(401), &["/api", "/apis"]),
            fail_status: Status::Fail,
            absent: || api_all(None, &[]),
            absent_status: Status::Unknown,
        },
        Case {
            id: "PAL-AUTHN-205",
            pass: || kubelet_http(Some(401), None),
            fail: || kubelet_http(Some(200), None),
            fail_status: Status::Fail,
            absent: || kubelet_http(None, Some("no answer within 3 s")),
            absent_status: Status::Unknown,
        },
        Case {
            id: "PAL-TLS-207",
            pass: || {
                plain(None, Some("connection to 10.0.0.11:10255 failed: Connection refused (os error 111)"))
            },
            fail: || plain(Some(200), None),
            fail_status: Status::Fail,
            absent: || plain(None, Some("10.0.0.11 is outside the egress allow list 127.0.0.0/8, ::1/128")),
            absent_status: Status::Unknown,
        },
    ]
}

#[test]
fn a_scan_that_did_not_probe_claims_nothing_for_any_probe_check() {
    for case in cases() {
        let results = super::run(case.id, &k());
        assert_eq!(results.len(), 1, "{}", case.id);
        assert_eq!(results[0].status, Status::NotApplicable, "{}: {}", case.id, results[0].evidence);
        assert!(results[0].evidence.contains("did not probe"), "{}: {}", case.id, results[0].evidence);
    }
}

#[test]
fn evidence_says_what_the_probe_saw_and_a_contradiction_quotes_the_manifest() {
    let r = super::run(
        "PAL-TLS-201",
        &all_tls(|f| {
            let c = cert(f);
            c.expired = true;
            c.not_after = Utc.with_ymd_and_hms(2026, 1, 2, 0, 0, 0).unwrap();
        }),
    );
    assert_eq!(r[0].evidence, "kube-apiserver on cp-1 at 10.0.0.11:6443 serves a certificate (CN=kube-apiserver) that expired on 2026-01-02");
    assert_eq!(r[0].source, Some(Source::Probe));
    let m = super::run(
        "PAL-AUTHN-202",
        &probed(vec![tls(Service::Etcd, 2379, |f| f.client_certificate_required = Some(false))], Vec::new()),
    );
    assert_eq!(
        m[0].evidence,
        "manifest says --client-cert-auth=true, but etcd on cp-1 at 10.0.0.11:2379 accepted a client without a certificate"
    );
    // An API server whose flags turn anonymous auth off, but which answered anyway.
    let mut snap = api_all(Some(401), &["/api/v1/namespaces"]);
    snap = snap.with_apiserver_flag("anonymous-auth", "false");
    let m = super::run("PAL-AUTHN-202", &snap);
    assert_eq!(m.len(), 1, "{m:#?}");
    assert!(
        m[0].evidence.contains("runs with --anonymous-auth=false, but kube-apiserver on cp-1"),
        "{}",
        m[0].evidence
    );
}
