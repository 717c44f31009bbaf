//! Loading a sample cluster directory (the dump layout shared with `collect::dump`):
//! kubectl-style YAML/JSON files, `manifests/<node>/*.yaml` static pods, `kubelet/<node>.yaml`
//! kubelet configurations, optional `files/` (not served: the API does not expose node files)
//! and an optional `sim.yaml` with [`SimSettings`].
//!
//! A file that does not parse is reported with its name and line and skipped; the rest of the
//! sample is still served.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde_json::Value;

use super::settings::SimSettings;
use super::store::{ClusterBuilder, ClusterData};

/// The four bundled samples, in the order the demo registers them.
pub const BUNDLED: &[&str] = &["kubeadm-default", "hardened", "legacy", "managed"];

/// Where the bundled samples live (`data/samples` in the source tree, or `$PALISADE_SAMPLES`).
pub fn samples_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("PALISADE_SAMPLES") {
        return PathBuf::from(dir);
    }
    let local = PathBuf::from("data/samples");
    if local.is_dir() {
        return local;
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/samples")
}

/// Load a sample directory into a served cluster named after the directory.
pub fn load_dir(dir: impl AsRef<Path>) -> anyhow::Result<ClusterData> {
    let builder = load_builder(dir.as_ref())?;
    for w in builder.warnings() {
        tracing::warn!(sample = %dir.as_ref().display(), "{w}");
    }
    Ok(builder.finish())
}

/// Load a sample directory, returning the builder (so callers can see warnings or add more).
pub fn load_builder(dir: &Path) -> anyhow::Result<ClusterBuilder> {
    if !dir.is_dir() {
        anyhow::bail!("{} is not a directory (a sample is a directory of YAML files)", dir.display());
    }
    let name = dir
        .canonicalize()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "sim".to_string());
    let settings = match std::fs::read_to_string(dir.join("sim.yaml")) {
        Ok(text) => serde_yaml::from_str::<SimSettings>(&text)
            .with_context(|| format!("{} is not valid simulator settings", dir.join("sim.yaml").display()))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => SimSettings::default(),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", dir.join("sim.yaml").display())),
    };
    let mut b = ClusterBuilder::new(name, settings);
    let mut problems = Vec::new();

    for file in yaml_files(dir, &["manifests", "kubelet", "files"])? {
        let rel = file.strip_prefix(dir).unwrap_or(&file).display().to_string();
        if rel == "sim.yaml" || rel.eq_ignore_ascii_case("README.md") {
            continue;
        }
        match read_documents(&file) {
            Ok(docs) => {
                for doc in docs {
                    if let Err(e) = b.add_object(doc) {
                        problems.push(format!("{rel}: {e}"));
                    }
                }
            }
            Err(e) => problems.push(format!("{rel}: {e}")),
        }
    }

    let manifests = dir.join("manifests");
    if manifests.is_dir() {
        for node_dir in sorted_entries(&manifests)? {
            if !node_dir.is_dir() {
                continue;
            }
            let node = node_dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            for file in yaml_files(&node_dir, &[])? {
                match read_documents(&file) {
                    Ok(docs) => docs.into_iter().for_each(|d| b.add_static_pod(node.clone(), d)),
                    Err(e) => problems.push(format!("{}: {e}", file.display())),
                }
            }
        }
    }

    let kubelet = dir.join("kubelet");
    if kubelet.is_dir() {
        for file in yaml_files(&kubelet, &[])? {
            let node = file.file_stem().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            match read_documents(&file) {
                Ok(mut docs) if docs.len() == 1 => b.set_kubelet_config(node, docs.remove(0)),
                Ok(_) => {
                    problems.push(format!("{}: expected exactly one KubeletConfiguration", file.display()))
                }
                Err(e) => problems.push(format!("{}: {e}", file.display())),
            }
        }
    }
    for p in problems {
        tracing::warn!(sample = %dir.display(), "{p}");
    }
    Ok(b)
}

fn sorted_entries(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    out.sort();
    Ok(out)
}

/// YAML/JSON files under `dir`, recursively, skipping the named top-level directories.
fn yaml_files(dir: &Path, skip: &[&str]) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for path in sorted_entries(&d)? {
            let top_level_skip =
                d == dir && path.file_name().and_then(|n| n.to_str()).is_some_and(|n| skip.contains(&n));
            if path.is_dir() {
                if !top_level_skip {
                    stack.push(path);
                }
            } else if matches!(path.extension().and_then(|e| e.to_str()), Some("yaml" | "yml" | "json")) {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Every YAML document (or the JSON object) in a file.
fn read_documents(file: &Path) -> anyhow::Result<Vec<Value>> {
    let text = std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let mut out = Vec::new();
    for doc in serde_yaml::Deserializer::from_str(&text) {
        let v: Value = serde::Deserialize::deserialize(doc).map_err(|e| match e.location() {
            Some(loc) => anyhow::anyhow!("line {}: {e}", loc.line()),
            None => anyhow::anyhow!("{e}"),
        })?;
        if !v.is_null() {
            out.push(v);
        }
    }
    Ok(out)
}
