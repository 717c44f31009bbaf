//! Loading a sample cluster directory (the dump layout shared with `collect::dump`):
//! kubectl-style YAML/JSON files, `manifests/<node>/*.yaml` static pods, `kubelet/<node>.yaml`
//! kubelet configurations, optional `files/` (not served: the API does not expose node files)
//! and an optional `sim.yaml` with [`SimSettings`].
//!
//! A file that does not parse is reported with its name and line and skipped; the rest of the
//! sample is still served. Files are read by [`crate::collect::dump::visit`].

use std::path::{Path, PathBuf};

use anyhow::Context;

use super::settings::SimSettings;
use super::store::{ClusterBuilder, ClusterData};
use crate::collect::dump::{self, Item, Placement};

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

/// Load a sample directory (or a `.tar.gz` of one), returning the builder so callers can see
/// warnings or add more. Reading is `collect::dump`'s, so the simulator and the offline collector
/// agree on the layout by construction.
pub fn load_builder(dir: &Path) -> anyhow::Result<ClusterBuilder> {
    let name = cluster_name(dir);
    let mut b = ClusterBuilder::new(name, SimSettings::default());
    let mut settings = None;
    let mut problems = Vec::new();
    dump::visit(dir, |item| match item {
        Item::Object(o) => match o.placement {
            Placement::Api => {
                if let Err(e) = b.add_object(o.value) {
                    problems.push(format!("{}:{}: {e}", o.file, o.line));
                }
            }
            Placement::StaticPod { node: Some(node) } => b.add_static_pod(node, o.value),
            Placement::StaticPod { node: None } => problems.push(format!(
                "{}: a static pod manifest outside manifests/<node>/ names no node; skipped",
                o.file
            )),
            Placement::KubeletConfig { node, .. } => b.set_kubelet_config(node, o.value),
        },
        // Node files are evidence for the offline collector; the API does not serve them.
        Item::NodeFile(_) => {}
        Item::SimSettings(v) => settings = Some(v),
        Item::Error(e) => problems.push(e.to_string()),
    })
    .with_context(|| format!("cannot read the sample {}", dir.display()))?;
    if let Some(v) = settings {
        let parsed: SimSettings = serde_json::from_value(v)
            .with_context(|| format!("{}/sim.yaml is not valid simulator settings", dir.display()))?;
        b.set_settings(parsed);
    }
    for p in problems {
        b.warn(p);
    }
    Ok(b)
}

/// The cluster name: the directory's (or archive's) name.
fn cluster_name(path: &Path) -> String {
    let canonical = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    let file =
        canonical.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "sim".into());
    file.trim_end_matches(".tar.gz").trim_end_matches(".tgz").to_string()
}
