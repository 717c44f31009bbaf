//! The judging half of `palisade scan`: run the checks on the collected snapshot, print the report
//! in the chosen format and turn `--fail-on` into the exit code (0 pass, 1 failures at or above the
//! threshold; 2 — could not scan — is decided before this runs).

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;

use crate::checks::{CheckOptions, CheckResult};
use crate::domain::Severity;
use crate::report::{Format, Report};
use crate::snapshot::{ComponentKind, Snapshot};

use super::scan::ScanSource;

/// Judge `snap`, print the report on stdout and return the exit code for `fail_on`.
pub fn print_report(
    snap: &Snapshot,
    source: &ScanSource,
    format: Format,
    fail_on: Option<Severity>,
) -> anyhow::Result<ExitCode> {
    let report = Report::from_snapshot(snap, &CheckOptions::default());
    let color =
        format == Format::Table && std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let dump_dir = match source {
        ScanSource::Dump(path) if path.is_dir() => Some(path.as_path()),
        _ => None,
    };
    let text = report.render(format, color, &|r| dump_dir.and_then(|d| manifest_of(d, r)));
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        // A closed pipe (`| head`) is the reader's choice, not a failed scan.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        other => other.context("cannot write the report")?,
    }
    Ok(exit_code(&report, fail_on))
}

/// 1 when a result fails at or above `fail_on`, else 0.
pub fn exit_code(report: &Report, fail_on: Option<Severity>) -> ExitCode {
    match fail_on {
        Some(threshold) if report.fails_at(threshold) => ExitCode::from(1),
        _ => ExitCode::SUCCESS,
    }
}

/// The dump file a result is about, when the dump has it: a static pod manifest
/// (`manifests/<node>/<component>.yaml`) or a kubelet config (`kubelet/<node>.yaml`).
pub fn manifest_of(dump: &Path, r: &CheckResult) -> Option<String> {
    let node = r.resource.node.as_deref()?;
    let candidates: Vec<std::path::PathBuf> = if r.resource.kind == "kubelet" {
        ["yaml", "yml", "json"].iter().map(|ext| dump.join("kubelet").join(format!("{node}.{ext}"))).collect()
    } else if ComponentKind::recognize(&r.resource.kind).is_some() {
        ["yaml", "yml", "json"]
            .iter()
            .map(|ext| dump.join("manifests").join(node).join(format!("{}.{ext}", r.resource.kind)))
            .collect()
    } else {
        return None;
    };
    candidates.into_iter().find(|p| p.is_file()).map(|p| p.to_string_lossy().replace('\\', "/"))
}
