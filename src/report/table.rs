//! The human report: results grouped by area (host, authn, authz, tls, network), worst first,
//! each with its evidence on the next line; a summary at the end. ANSI colors only when asked
//! (the CLI asks when stdout is a terminal).

use std::fmt::Write;

use crate::domain::{Area, Status};

use super::Report;

fn status_rank(s: Status) -> u8 {
    match s {
        Status::Fail => 0,
        Status::Warn => 1,
        Status::Unknown => 2,
        Status::Pass => 3,
        Status::NotApplicable => 4,
    }
}

fn paint(text: &str, status: Status, color: bool) -> String {
    if !color {
        return text.to_string();
    }
    let code = match status {
        Status::Fail => "1;31",
        Status::Warn => "33",
        Status::Unknown => "35",
        Status::Pass => "32",
        Status::NotApplicable => "2",
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}

fn label(s: Status) -> &'static str {
    match s {
        Status::Pass => "PASS",
        Status::Fail => "FAIL",
        Status::Warn => "WARN",
        Status::NotApplicable => "N/A ",
        Status::Unknown => "UNKN",
    }
}

/// Render the table.
pub fn render(report: &Report, color: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Palisade scan of {} (evidence from {})",
        report.cluster,
        report.scanned_at.to_rfc3339()
    );
    for area in Area::ALL {
        let mut rows: Vec<_> = report.results.iter().filter(|r| r.area == *area).collect();
        if rows.is_empty() {
            continue;
        }
        rows.sort_by(|a, b| {
            status_rank(a.status)
                .cmp(&status_rank(b.status))
                .then(b.severity.cmp(&a.severity))
                .then(a.check_id.cmp(&b.check_id))
                .then(a.resource.cmp(&b.resource))
        });
        let header = format!("{} ({} results)", area.as_str().to_uppercase(), rows.len());
        let _ = writeln!(out, "\n{}", if color { format!("\x1b[1m{header}\x1b[0m") } else { header });
        for r in rows {
            let resource = match &r.resource.node {
                Some(node) if *node != r.resource.name => format!("{} on {node}", r.resource.name),
                _ => r.resource.name.clone(),
            };
            let refs: Vec<String> = r.refs.iter().map(|f| format!("{} {}", f.framework, f.id)).collect();
            let _ = writeln!(
                out,
                "  {} {:<8} {:<14} {}  [{}]{}",
                paint(label(r.status), r.status, color),
                r.severity.as_str(),
                r.check_id,
                r.title,
                resource,
                if refs.is_empty() { String::new() } else { format!(" ({})", refs.join(", ")) }
            );
            let _ = writeln!(out, "       {}", r.evidence);
        }
    }
    let s = &report.summary;
    let count = |k: &str| s.by_status.get(k).copied().unwrap_or(0);
    let _ = writeln!(
        out,
        "\n{} results: {} fail, {} warn, {} unknown, {} pass, {} not applicable",
        s.total,
        count("fail"),
        count("warn"),
        count("unknown"),
        count("pass"),
        count("not_applicable")
    );
    // BTreeMap order is alphabetical; list failures by severity, worst first.
    let mut by_sev: Vec<(crate::domain::Severity, usize)> = s
        .failed_by_severity
        .iter()
        .filter_map(|(k, n)| k.parse().ok().map(|sev| (sev, *n)))
        .filter(|(_, n)| *n > 0)
        .collect();
    if !by_sev.is_empty() {
        by_sev.sort_by_key(|b| std::cmp::Reverse(b.0));
        let text: Vec<String> = by_sev.iter().map(|(k, n)| format!("{n} {k}")).collect();
        let _ = writeln!(out, "failures by severity: {}", text.join(", "));
    }
    let judged: Vec<String> =
        s.components_judged.iter().filter(|(_, n)| **n > 0).map(|(k, n)| format!("{n} {k}")).collect();
    if !judged.is_empty() {
        let _ = writeln!(out, "components judged: {}", judged.join(", "));
    }
    let c = &s.cis_1_12;
    let _ = writeln!(
        out,
        "CIS Kubernetes Benchmark v1.12: {} controls assessed, {} pass, {} fail, {} warn, {} unknown, {} not \
         applicable{}",
        c.assessed,
        c.passed,
        c.failed,
        c.warned,
        c.unknown,
        c.not_applicable,
        c.score.map(|x| format!(" (score {x:.1}%)")).unwrap_or_default()
    );
    out
}

#[cfg(test)]
mod tests {
    use crate::checks::CheckOptions;
    use crate::report::Report;
    use crate::snapshot::Snapshot;

    #[test]
    fn the_table_groups_by_area_and_puts_failures_first() {
        let report = Report::from_snapshot(&Snapshot::kubeadm_default(), &CheckOptions::default());
        let text = super::render(&report, false);
        let authn = text.find("\nAUTHN (").expect("authn section");
        let authz = text.find("\nAUTHZ (").expect("authz section");
        let tls = text.find("\nTLS (").expect("tls section");
        assert!(authn < authz && authz < tls);
        // Within authz the first row is a failure.
        let first_row = text[authz..].lines().nth(2).unwrap();
        assert!(first_row.trim_start().starts_with("FAIL"), "{first_row}");
        assert!(text.contains("kube-apiserver on cp-1 runs without --profiling"));
        assert!(!text.contains('\x1b'), "no color codes unless asked");
        assert!(super::render(&report, true).contains("\x1b[1;31mFAIL\x1b[0m"));
    }
}
