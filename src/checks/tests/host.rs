//! Host (PAL-HOST-*): node settings and file permissions read from the kubelet and the node.

use super::*;

pub(super) fn cases() -> Vec<Case> {
    use Status::*;
    vec![
        Case {
            id: "PAL-HOST-008",
            pass: || k().with_flag(CM, "terminated-pod-gc-threshold", "10"),
            fail: k,
            fail_status: Warn,
            absent: k,
            absent_status: Warn,
        },
        Case {
            id: "PAL-HOST-004",
            // The command line is known (it names only the config file): no override, pass.
            pass: || k().with_kubelet_flag("config", "/var/lib/kubelet/config.yaml"),
            fail: || k().with_kubelet_flag("hostname-override", "node-a"),
            fail_status: Warn,
            // Only /configz is known: a command-line-only flag cannot be judged.
            absent: k,
            absent_status: Unknown,
        },
        Case {
            id: "PAL-HOST-005",
            pass: || k().with_kubelet_config("eventRecordQPS", json!(5)),
            fail: || k().with_kubelet_config("eventRecordQPS", json!(-1)),
            fail_status: Warn,
            absent: k,
            absent_status: Pass,
        },
        Case {
            id: "PAL-HOST-006",
            pass: || k().with_kubelet_config("podPidsLimit", json!(4096)),
            fail: || k().with_kubelet_config("podPidsLimit", json!(-1)),
            fail_status: Warn,
            absent: k,
            absent_status: Warn,
        },
        Case {
            id: "PAL-HOST-007",
            pass: || k().with_kubelet_config("seccompDefault", json!(true)),
            fail: || k().with_kubelet_config("seccompDefault", json!(false)),
            fail_status: Warn,
            absent: k,
            absent_status: Warn,
        },
        Case {
            id: "PAL-HOST-001",
            pass: || k().with_kubelet_config("streamingConnectionIdleTimeout", json!("5m")),
            fail: || k().with_kubelet_flag("streaming-connection-idle-timeout", "0"),
            fail_status: Warn,
            absent: || k().without_kubelet_config("streamingConnectionIdleTimeout"),
            absent_status: Pass,
        },
        Case {
            id: "PAL-HOST-002",
            pass: || k().with_kubelet_config("protectKernelDefaults", json!(true)),
            fail: || k().with_kubelet_config("protectKernelDefaults", json!(false)),
            fail_status: Warn,
            absent: k,
            absent_status: Warn,
        },
        Case {
            id: "PAL-HOST-003",
            pass: || k().with_kubelet_config("makeIPTablesUtilChains", json!(true)),
            fail: || k().with_kubelet_config("makeIPTablesUtilChains", json!(false)),
            fail_status: Fail,
            absent: k,
            absent_status: Pass,
        },
    ]
}

#[test]
fn a_zero_idle_timeout_from_configz_is_a_real_zero() {
    let mut snap = k();
    for kl in &mut snap.kubelets.items {
        kl.config_form = crate::snapshot::ConfigForm::Effective;
    }
    let r = run("PAL-HOST-001", &snap);
    assert!(r.iter().all(|x| x.status == Status::Warn), "{}", r[0].evidence);
    // The same 0s in a config file is defaulted to 4h by the kubelet.
    assert!(run("PAL-HOST-001", &k()).iter().all(|x| x.status == Status::Pass));
}
