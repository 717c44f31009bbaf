//! The JSON report: `{"cluster", "scanned_at", "summary", "results"}`, each result exactly the
//! API's `CheckResult` shape (`check_id`, `title`, `area`, `severity`, `status`,
//! `resource {kind, namespace, name, node}`, `evidence`, `source`, `refs [{framework, id}]`).

use super::Report;

/// Pretty-printed JSON with a trailing newline.
pub fn render(report: &Report) -> String {
    let mut text = serde_json::to_string_pretty(report).expect("a report always serializes");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use crate::checks::CheckOptions;
    use crate::report::Report;
    use crate::snapshot::Snapshot;

    #[test]
    fn the_json_report_has_the_documented_shape() {
        let snap = Snapshot::kubeadm_default().with_apiserver_flag("anonymous-auth", "true");
        let report = Report::from_snapshot(&snap, &CheckOptions::default());
        let v: serde_json::Value = serde_json::from_str(&super::render(&report)).unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, ["cluster", "results", "scanned_at", "summary"]);
        assert_eq!(v["cluster"], "kubeadm-default");
        assert_eq!(v["scanned_at"], "2026-01-15T09:30:00Z");
        let r = v["results"].as_array().unwrap().iter().find(|r| r["check_id"] == "PAL-AUTHN-001").unwrap();
        let mut keys: Vec<&str> = r.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort();
        assert_eq!(
            keys,
            ["area", "check_id", "evidence", "refs", "resource", "severity", "source", "status", "title"]
        );
        assert_eq!(r["status"], "warn");
        assert_eq!(r["severity"], "high");
        assert_eq!(r["area"], "authn");
        assert_eq!(r["source"], "api");
        assert_eq!(r["resource"]["kind"], "kube-apiserver");
        assert_eq!(r["resource"]["namespace"], "kube-system");
        assert_eq!(r["resource"]["name"], "kube-apiserver-cp-1");
        assert_eq!(r["resource"]["node"], "cp-1");
        assert_eq!(r["refs"][0]["framework"], "cis-1.12");
        assert_eq!(r["refs"][0]["id"], "1.2.1");
        assert_eq!(
            r["evidence"],
            "kube-apiserver on cp-1 runs with --anonymous-auth=true; expected --anonymous-auth=false"
        );
        // It reads back into the same report.
        let back: Report = serde_json::from_value(v).unwrap();
        assert_eq!(back, report);
    }
}
