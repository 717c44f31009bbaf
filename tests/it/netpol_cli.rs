//! `palisade netpol` on a kubectl-style dump (tests/it/fixtures/netpol-shop), read by the real
//! dump collector.

use palisade::cli::netpol::{execute, Input, NetpolArgs, NetpolCommand};

fn input(format: &str) -> Input {
    Input {
        from: Some(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/fixtures/netpol-shop").into()),
        snapshot: None,
        format: format.into(),
    }
}

#[test]
fn the_matrix_of_a_dump_shows_which_namespace_reaches_which_on_which_ports() {
    let out = execute(&NetpolArgs { command: NetpolCommand::Matrix { input: input("json"), system: true } })
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["enforcement"]["state"], "enforced");
    let cell = |from: &str, to: &str| {
        v["cells"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["from"] == from && c["to"] == to)
            .map(|c| c["ports"].as_str().unwrap().to_string())
    };
    // shop is default-deny; its api takes named port http (8080) from every namespace.
    assert_eq!(cell("blog", "shop").as_deref(), Some("TCP 8080"));
    assert_eq!(cell("kube-system", "shop").as_deref(), Some("TCP 8080"));
    // shop's api may only reach its db and DNS in kube-system.
    assert_eq!(cell("shop", "shop").as_deref(), Some("TCP 5432"));
    assert_eq!(cell("shop", "kube-system").as_deref(), Some("UDP 53"));
    assert_eq!(cell("shop", "blog"), None);
    assert_eq!(cell("blog", "blog").as_deref(), Some("all"));
}

#[test]
fn system_namespaces_stay_out_of_the_matrix_unless_asked_for() {
    let out =
        execute(&NetpolArgs { command: NetpolCommand::Matrix { input: input("table"), system: false } })
            .unwrap();
    assert!(!out.lines().any(|l| l.starts_with("kube-system")), "{out}");
    assert!(out.lines().any(|l| l.starts_with("blog")), "{out}");
    assert!(out.contains("shop") && out.contains("TCP 8080"), "{out}");
}

#[test]
fn the_namespace_view_names_the_policies_selecting_each_pod_group() {
    let out = execute(&NetpolArgs {
        command: NetpolCommand::Namespace { name: "shop".into(), input: input("json") },
    })
    .unwrap();
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["summary"]["default_deny_ingress"], "default-deny");
    let api = v["groups"].as_array().unwrap().iter().find(|g| g["owner"] == "ReplicaSet api-7d9").unwrap();
    assert_eq!(api["pods"].as_array().unwrap().len(), 2);
    assert_eq!(api["ingress_policies"], serde_json::json!(["api-http", "default-deny"]));
    assert_eq!(api["reachable_from_namespaces"], 2);
}

#[test]
fn an_unknown_namespace_is_a_clear_error() {
    let err = execute(&NetpolArgs {
        command: NetpolCommand::Namespace { name: "nope".into(), input: input("table") },
    })
    .unwrap_err();
    assert!(err.to_string().contains("namespace nope is not in the snapshot"), "{err}");
}
