//! The offline collector: reads a cluster dump (a directory or a `.tar.gz` of YAML/JSON files) into
//! raw Kubernetes objects, and reduces them into a [`Snapshot`] with every item tagged `dump`.
//!
//! The dump layout is a contract shared with the simulator (`palisade sim --from DIR`):
//! - any `*.yaml`, `*.yml` or `*.json` file: Kubernetes objects as `kubectl get … -o yaml|json`
//!   writes them (single objects, multi-document YAML, `kind: List` and typed `…List` objects);
//! - `manifests/<node>/*.yaml`: static pod manifests of control-plane node `<node>` (as found in
//!   `/etc/kubernetes/manifests`);
//! - `kubelet/<node>.yaml|json`: that node's `KubeletConfiguration`, or `/configz` output
//!   (`{"kubeletconfig": {...}}`);
//! - `files/<node>/<absolute path>`: configuration files referenced by component flags;
//! - `sim.yaml`: simulator settings (handed over as a value, never reduced into evidence).
//!
//! Bad input never aborts the read: a file that cannot be read or parsed is reported with its name
//! and line and skipped, and the rest of the dump is still read.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::collect::reduce::{Group, GroupStates, Reducer};
use crate::snapshot::{ConfigForm, EvidenceState, Gap, GapReason, Origin, Snapshot, Source};

/// The dump as a whole could not be read (missing path, unsupported file type). Problems inside
/// single files are [`ReadError`]s instead and do not stop the read.
#[derive(Debug, thiserror::Error)]
pub enum DumpError {
    #[error("{0} does not exist")]
    NotFound(PathBuf),
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{0} is neither a directory, a .tar.gz/.tgz archive, nor a .yaml/.yml/.json file; \
         point --from at a dump directory or archive"
    )]
    Unsupported(PathBuf),
}

/// A problem in one file of the dump. The file (or the one bad document in it) is skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadError {
    /// Path relative to the dump root (or inside the archive), e.g. `rbac/roles.yaml`.
    pub file: String,
    /// 1-based line of the problem, when known.
    pub line: Option<usize>,
    pub message: String,
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}: {}", self.file, line, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

/// Where in the dump layout an object was found, which decides how it is reduced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    /// An object as the Kubernetes API serves it.
    Api,
    /// A static pod manifest from `manifests/<node>/` (node `None` when the manifest directory
    /// has no node level, or a lone manifest file was read).
    StaticPod { node: Option<String> },
    /// A node's `KubeletConfiguration` from `kubelet/<node>.yaml|json`, already unwrapped from a
    /// `/configz` `{"kubeletconfig": …}` envelope.
    KubeletConfig { node: String, form: ConfigForm },
}

/// One Kubernetes object read from a dump, with where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct RawObject {
    /// Path relative to the dump root, e.g. `manifests/cp-1/kube-apiserver.yaml`.
    pub file: String,
    /// 1-based line where the object's YAML document (or JSON value) starts.
    pub line: usize,
    pub placement: Placement,
    pub value: Value,
}

impl RawObject {
    /// `kind` of the object (`""` when absent, e.g. a KubeletConfiguration written without one).
    pub fn kind(&self) -> &str {
        self.value.get("kind").and_then(Value::as_str).unwrap_or("")
    }
}

/// A node's configuration file from `files/<node>/<absolute path>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeFile {
    pub node: String,
    /// The absolute path on the node, e.g. `/etc/kubernetes/enc/enc.yaml`.
    pub path: String,
    /// Path relative to the dump root.
    pub file: String,
    pub content: String,
}

/// One thing found while walking a dump, handed to the visitor of [`visit`] as soon as it is read.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    Object(RawObject),
    NodeFile(NodeFile),
    /// The parsed `sim.yaml` (simulator settings).
    SimSettings(Value),
    Error(ReadError),
}

/// Everything read from a dump, as returned by [`read_objects`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DumpObjects {
    pub objects: Vec<RawObject>,
    pub node_files: Vec<NodeFile>,
    pub sim_settings: Option<Value>,
    pub errors: Vec<ReadError>,
}

/// Read a dump directory, a `.tar.gz`/`.tgz` archive of one, or a single YAML/JSON file into raw
/// objects. Per-file problems are collected in [`DumpObjects::errors`]; only a path that cannot be
/// read at all is an `Err`.
pub fn read_objects(path: impl AsRef<Path>) -> Result<DumpObjects, DumpError> {
    let mut out = DumpObjects::default();
    visit(path.as_ref(), |item| match item {
        Item::Object(o) => out.objects.push(o),
        Item::NodeFile(f) => out.node_files.push(f),
        Item::SimSettings(v) => out.sim_settings = Some(v),
        Item::Error(e) => out.errors.push(e),
    })?;
    Ok(out)
}

/// Walk a dump and hand each object, node file and error to `visit` as it is read, so a caller can
/// reduce a large dump without holding every raw object at once. Files are visited in path order.
pub fn visit(path: &Path, mut visit: impl FnMut(Item)) -> Result<(), DumpError> {
    let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => DumpError::NotFound(path.to_path_buf()),
        _ => DumpError::Io { path: path.to_path_buf(), source: e },
    })?;
    if meta.is_dir() {
        let mut files = Vec::new();
        list_dir(path, path, &mut files, &mut visit);
        files.sort();
        for rel in files {
            let full = path.join(&rel);
            let rel = rel_string(&rel);
            match std::fs::read(&full) {
                Ok(bytes) => read_entry(&rel, bytes, &mut visit),
                Err(e) => visit(Item::Error(ReadError { file: rel, line: None, message: e.to_string() })),
            }
        }
        return Ok(());
    }
    let name = path.file_name().map(|n| n.to_string_lossy().to_lowercase()).unwrap_or_default();
    if name.ends_with(".tar.gz") || name.ends_with(".tgz") {
        let file =
            std::fs::File::open(path).map_err(|e| DumpError::Io { path: path.to_path_buf(), source: e })?;
        read_archive(&name, file, &mut visit);
        return Ok(());
    }
    if is_object_file(&name) {
        let bytes = std::fs::read(path).map_err(|e| DumpError::Io { path: path.to_path_buf(), source: e })?;
        let display = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        // A lone file is read as plain objects: a static pod manifest among them is still
        // recognized by its labels when reduced.
        parse_objects(&display, &bytes, &Placement::Api, &mut visit);
        return Ok(());
    }
    Err(DumpError::Unsupported(path.to_path_buf()))
}

fn rel_string(rel: &Path) -> String {
    rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/")
}

fn list_dir(root: &Path, dir: &Path, out: &mut Vec<PathBuf>, visit: &mut impl FnMut(Item)) {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            let rel = dir.strip_prefix(root).map(rel_string).unwrap_or_default();
            visit(Item::Error(ReadError { file: format!("{rel}/"), line: None, message: e.to_string() }));
            return;
        }
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue; // .git, editor swap files
        }
        // Follow symlinks (dumps are often assembled with them) but not into loops: metadata()
        // fails on a dangling link, which is reported, and depth is bounded by the filesystem.
        match std::fs::metadata(&path) {
            Ok(m) if m.is_dir() => list_dir(root, &path, out, visit),
            Ok(_) => {
                if let Ok(rel) = path.strip_prefix(root) {
                    out.push(rel.to_path_buf());
                }
            }
            Err(e) => {
                let rel = path.strip_prefix(root).map(rel_string).unwrap_or_default();
                visit(Item::Error(ReadError { file: rel, line: None, message: e.to_string() }));
            }
        }
    }
}

fn read_archive(name: &str, file: std::fs::File, visit: &mut impl FnMut(Item)) {
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(std::io::BufReader::new(file)));
    let entries = match archive.entries() {
        Ok(entries) => entries,
        Err(e) => {
            visit(Item::Error(ReadError {
                file: name.into(),
                line: None,
                message: format!("not a tar.gz: {e}"),
            }));
            return;
        }
    };
    // Read every regular file first: archives are usually made with `tar czf x.tgz dir/`, so all
    // paths share one leading directory that is not part of the layout.
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    for entry in entries {
        let mut entry = match entry {
            Ok(entry) => entry,
            Err(e) => {
                visit(Item::Error(ReadError {
                    file: name.into(),
                    line: None,
                    message: format!("the archive is damaged, entries after this point are lost: {e}"),
                }));
                break;
            }
        };
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let path = match entry.path() {
            Ok(p) => rel_string(&p).trim_start_matches("./").to_string(),
            Err(e) => {
                visit(Item::Error(ReadError { file: name.into(), line: None, message: e.to_string() }));
                continue;
            }
        };
        if path.split('/').any(|part| part.starts_with('.') && part != ".") {
            continue;
        }
        let mut bytes = Vec::with_capacity(entry.size() as usize);
        if let Err(e) = entry.read_to_end(&mut bytes) {
            visit(Item::Error(ReadError {
                file: format!("{name}:{path}"),
                line: None,
                message: format!("the archive is damaged: {e}"),
            }));
            break;
        }
        files.push((path, bytes));
    }
    let prefix = common_top_dir(files.iter().map(|(p, _)| p.as_str()));
    files.sort_by(|a, b| a.0.cmp(&b.0));
    for (path, bytes) in files {
        let rel = match &prefix {
            Some(prefix) => path[prefix.len() + 1..].to_string(),
            None => path,
        };
        read_entry(&rel, bytes, visit);
    }
}

/// The single directory every path starts with, unless it is itself part of the dump layout.
fn common_top_dir<'a>(mut paths: impl Iterator<Item = &'a str>) -> Option<String> {
    let first = paths.next()?;
    let (top, _) = first.split_once('/')?;
    if matches!(top, "manifests" | "kubelet" | "files") {
        return None;
    }
    let prefix = format!("{top}/");
    paths.all(|p| p.starts_with(&prefix)).then(|| top.to_string())
}

fn is_object_file(name: &str) -> bool {
    let name = name.to_lowercase();
    name.ends_with(".yaml") || name.ends_with(".yml") || name.ends_with(".json")
}

/// Read one file's bytes as the dump reader does, `rel` being its path inside the dump
/// (`pods.yaml`, `manifests/cp-1/etcd.yaml`, `kubelet/worker-1.yaml`). For fuzzing and tools
/// that hold a file in memory; [`visit`] reads whole directories and archives.
pub fn read_file(rel: &str, bytes: &[u8], mut visit: impl FnMut(Item)) {
    read_entry(rel, bytes.to_vec(), &mut visit)
}

/// Read one file of the dump according to where it sits in the layout.
fn read_entry(rel: &str, bytes: Vec<u8>, visit: &mut impl FnMut(Item)) {
    let parts: Vec<&str> = rel.split('/').collect();
    match parts.as_slice() {
        ["files", node, rest @ ..] if !rest.is_empty() => match String::from_utf8(bytes) {
            Ok(content) => visit(Item::NodeFile(NodeFile {
                node: node.to_string(),
                path: format!("/{}", rest.join("/")),
                file: rel.to_string(),
                content,
            })),
            Err(_) => visit(Item::Error(ReadError {
                file: rel.into(),
                line: None,
                message: "not a text file; configuration files must be UTF-8".into(),
            })),
        },
        ["sim.yaml"] | ["sim.yml"] => {
            let text = String::from_utf8_lossy(&bytes);
            match serde_yaml::from_str::<Value>(&text) {
                Ok(v) => visit(Item::SimSettings(v)),
                Err(e) => visit(Item::Error(yaml_error(rel, 1, &e))),
            }
        }
        _ if !is_object_file(rel) => {} // README.md, notes: not part of the dump
        ["manifests", _] => parse_objects(rel, &bytes, &Placement::StaticPod { node: None }, visit),
        ["manifests", node, ..] => {
            parse_objects(rel, &bytes, &Placement::StaticPod { node: Some(node.to_string()) }, visit)
        }
        ["kubelet", file] => {
            let node = crate::collect::reduce::file_stem(file).to_string();
            parse_objects(rel, &bytes, &Placement::KubeletConfig { node, form: ConfigForm::File }, visit)
        }
        _ => parse_objects(rel, &bytes, &Placement::Api, visit),
    }
}

fn yaml_error(file: &str, first_line: usize, e: &serde_yaml::Error) -> ReadError {
    let line = e.location().map(|l| first_line + l.line() - 1).unwrap_or(first_line);
    // serde_yaml appends "at line N column M" relative to the document; the line field says it.
    let message = e.to_string();
    let message = match message.find(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message,
    };
    ReadError { file: file.into(), line: Some(line), message: format!("invalid YAML: {message}") }
}

/// Parse a YAML or JSON file into objects. Each YAML document is parsed on its own so that one
/// bad document loses only itself.
fn parse_objects(file: &str, bytes: &[u8], placement: &Placement, visit: &mut impl FnMut(Item)) {
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t.trim_start_matches('\u{feff}'),
        Err(e) => {
            visit(Item::Error(ReadError {
                file: file.into(),
                line: Some(line_of_offset(bytes, e.valid_up_to())),
                message: "not UTF-8 text".into(),
            }));
            return;
        }
    };
    if file.to_lowercase().ends_with(".json") {
        parse_json_values(file, text, placement, visit);
        return;
    }
    for (line, doc) in yaml_documents(text) {
        if let Some(list) = split_yaml_list(doc) {
            parse_yaml_list(file, line, &list, placement, visit);
            continue;
        }
        let de = serde_yaml::Deserializer::from_str(doc);
        let result = {
            let mut sink = |item: Value| emit(file, line, item, placement, visit);
            serde::de::DeserializeSeed::deserialize(DocSeed { sink: &mut sink }, de)
        };
        match result {
            Ok(doc) => finish_doc(file, line, doc, placement, visit),
            Err(e) => visit(Item::Error(yaml_error(file, line, &e))),
        }
    }
}

/// A YAML list document as `kubectl get -o yaml` writes it, cut into its items without parsing:
/// the document minus its `items` block, and each item's text with its line offset.
struct YamlList<'t> {
    head: String,
    items: Vec<(usize, &'t str)>,
}

/// Cut a document whose top-level `items:` is a block sequence at column 0 (`- ` entries, each
/// entry's lines indented) into its items. serde_yaml holds a whole document's events in memory
/// before deserializing, which for a 100,000-pod list took 24 s and 3.7 GB; item by item it is a
/// fraction of both. Anything else (flow sequences, indented entries) returns `None` and is parsed
/// as one document.
fn split_yaml_list(doc: &str) -> Option<YamlList<'_>> {
    const MIN_SIZE: usize = 1 << 20;
    if doc.len() < MIN_SIZE {
        return None;
    }
    let mut head = String::new();
    let mut items: Vec<(usize, &str)> = Vec::new();
    let mut offset = 0usize;
    let mut in_items = false;
    let mut saw_items = false;
    let mut item_start: Option<(usize, usize)> = None; // (byte offset, line index)
    for (idx, line) in doc.split_inclusive('\n').enumerate() {
        let bare = line.trim_end_matches(['\n', '\r']);
        let top_level = !bare.is_empty() && !bare.starts_with([' ', '\t', '#']);
        if in_items && top_level && !(bare == "-" || bare.starts_with("- ")) {
            // The next top-level key ends the sequence.
            if let Some((start, l)) = item_start.take() {
                items.push((l, &doc[start..offset]));
            }
            in_items = false;
        }
        if in_items {
            if bare == "-" || bare.starts_with("- ") {
                if let Some((start, l)) = item_start.replace((offset, idx)) {
                    items.push((l, &doc[start..offset]));
                }
            } else if item_start.is_none() && !bare.trim().is_empty() && !bare.trim_start().starts_with('#') {
                return None; // indented entries or a flow sequence: not this layout
            }
        } else if bare.trim_end() == "items:" {
            if saw_items {
                return None;
            }
            in_items = true;
            saw_items = true;
        } else {
            head.push_str(line);
        }
        offset += line.len();
    }
    if let Some((start, l)) = item_start {
        items.push((l, &doc[start..]));
    }
    (saw_items && !items.is_empty()).then_some(YamlList { head, items })
}

/// Parse a list cut by [`split_yaml_list`]: its head for `kind`/`apiVersion`, then its items in
/// batches, parsed in parallel on every core and handed over in order. A bad item loses only itself.
fn parse_yaml_list(
    file: &str,
    line: usize,
    list: &YamlList,
    placement: &Placement,
    visit: &mut impl FnMut(Item),
) {
    let head: Value = match serde_yaml::from_str(&list.head) {
        Ok(Value::Object(map)) => Value::Object(map),
        Ok(_) => Value::Object(Default::default()),
        Err(e) => {
            visit(Item::Error(yaml_error(file, line, &e)));
            return;
        }
    };
    let kind = head.get("kind").and_then(Value::as_str).unwrap_or("List");
    let item_kind = list_item_kind(kind);
    let api_version = head.get("apiVersion");
    let parse = |item_line: usize, text: &str| -> Result<Value, ReadError> {
        // `- key: v` → `  key: v`: the entry becomes a mapping indented like its other lines.
        let mut owned = String::with_capacity(text.len());
        owned.push(' ');
        owned.push_str(&text[1..]);
        serde_yaml::from_str(&owned).map_err(|e| {
            // An error at the end of the item (an unclosed bracket) is reported on its last line,
            // not on the first line of the next item.
            let last = line + item_line + text.trim_end().matches('\n').count();
            let mut err = yaml_error(file, line + item_line, &e);
            err.line = err.line.map(|l| l.min(last));
            err
        })
    };
    let workers = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).clamp(1, 8);
    for batch in list.items.chunks(512 * workers) {
        let per = batch.len().div_ceil(workers);
        let parsed: Vec<Result<Value, ReadError>> = std::thread::scope(|scope| {
            let handles: Vec<_> = batch
                .chunks(per)
                .map(|part| {
                    let handle =
                        scope.spawn(move || part.iter().map(|(l, t)| parse(*l, t)).collect::<Vec<_>>());
                    (part, handle)
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|(part, h)| {
                    h.join().unwrap_or_else(|_| {
                        let failed = |(l, _): &(usize, &str)| {
                            Err(ReadError {
                                file: file.into(),
                                line: Some(line + l),
                                message: "the YAML parser failed on this item".into(),
                            })
                        };
                        part.iter().map(failed).collect()
                    })
                })
                .collect()
        });
        for ((item_line, _), result) in batch.iter().zip(parsed) {
            let at = line + item_line;
            match result {
                Ok(Value::Object(mut obj)) => {
                    if let Some(k) = item_kind {
                        complete_list_item(&mut obj, k, api_version);
                    }
                    emit(file, at, Value::Object(obj), placement, visit);
                }
                Ok(Value::Null) => {}
                Ok(other) => emit(file, at, other, placement, visit),
                Err(e) => visit(Item::Error(e)),
            }
        }
    }
}

/// Parse one or more concatenated JSON values, streaming list items.
fn parse_json_values(file: &str, text: &str, placement: &Placement, visit: &mut impl FnMut(Item)) {
    let mut offset = 0usize;
    loop {
        offset += leading_ws(&text[offset..]);
        if offset >= text.len() {
            return;
        }
        let first_line = line_of_offset(text.as_bytes(), offset);
        let mut de = serde_json::Deserializer::from_str(&text[offset..]);
        let result = {
            let mut sink = |item: Value| emit(file, first_line, item, placement, visit);
            serde::de::DeserializeSeed::deserialize(DocSeed { sink: &mut sink }, &mut de)
        };
        match result {
            Ok(doc) => finish_doc(file, first_line, doc, placement, visit),
            Err(e) => {
                // A JSON syntax error leaves no safe point to resume from.
                visit(Item::Error(ReadError {
                    file: file.into(),
                    line: Some(first_line + e.line().saturating_sub(1)),
                    message: format!("invalid JSON: {}", strip_position(&e.to_string())),
                }));
                return;
            }
        }
        match de.end() {
            Ok(()) => return,
            // More values follow (concatenated JSON): the error points at the next one.
            Err(e) if e.classify() == serde_json::error::Category::Syntax && e.line() > 0 => {
                let rest = &text[offset..];
                let line_start: usize = rest.split_inclusive('\n').take(e.line() - 1).map(str::len).sum();
                let next = offset + line_start + e.column().saturating_sub(1);
                if next <= offset || next >= text.len() {
                    return;
                }
                offset = next;
            }
            Err(_) => return,
        }
    }
}

/// The kind of a typed list's items: `Pod` for `PodList`; `None` for a plain `List`, whose items
/// carry their own kind.
fn list_item_kind(list_kind: &str) -> Option<&str> {
    list_kind.strip_suffix("List").filter(|k| !k.is_empty())
}

/// Give an item of a typed list the list's item kind and apiVersion where it has none
/// (`kubectl get --raw` lists leave them out of every item).
fn complete_list_item(obj: &mut serde_json::Map<String, Value>, kind: &str, api_version: Option<&Value>) {
    obj.entry("kind").or_insert_with(|| Value::String(kind.to_string()));
    if let Some(v) = api_version {
        obj.entry("apiVersion").or_insert_with(|| v.clone());
    }
}

fn strip_position(message: &str) -> &str {
    match message.find(" at line ") {
        Some(i) => &message[..i],
        None => message,
    }
}

/// A parsed document: a whole object, a list whose items were already streamed, or something
/// that is not an object.
enum Doc {
    Object(serde_json::Map<String, Value>),
    StreamedList,
    Null,
    Other,
}

fn finish_doc(file: &str, line: usize, doc: Doc, placement: &Placement, visit: &mut impl FnMut(Item)) {
    match doc {
        Doc::Object(map) => emit(file, line, Value::Object(map), placement, visit),
        Doc::StreamedList | Doc::Null => {}
        Doc::Other => visit(Item::Error(ReadError {
            file: file.into(),
            line: Some(line),
            message: "expected a Kubernetes object (a mapping with `kind`), found a scalar or sequence"
                .into(),
        })),
    }
}

/// Deserializes one document; a top-level `items` sequence (a list) is handed to `sink` item by
/// item instead of being built into one large value, so a 100,000-pod `kubectl get -o json`
/// never exists as a whole tree in memory.
struct DocSeed<'s> {
    sink: &'s mut dyn FnMut(Value),
}

impl<'de> serde::de::DeserializeSeed<'de> for DocSeed<'_> {
    type Value = Doc;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Doc, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for DocSeed<'_> {
    type Value = Doc;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a Kubernetes object")
    }

    fn visit_unit<E>(self) -> Result<Doc, E> {
        Ok(Doc::Null)
    }
    fn visit_none<E>(self) -> Result<Doc, E> {
        Ok(Doc::Null)
    }
    fn visit_bool<E>(self, _: bool) -> Result<Doc, E> {
        Ok(Doc::Other)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Doc, E> {
        Ok(Doc::Other)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Doc, E> {
        Ok(Doc::Other)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Doc, E> {
        Ok(Doc::Other)
    }
    fn visit_str<E>(self, _: &str) -> Result<Doc, E> {
        Ok(Doc::Other)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Doc, A::Error> {
        while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
        Ok(Doc::Other)
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Doc, A::Error> {
        let mut head = serde_json::Map::new();
        let mut streamed = false;
        let mut kindless: Vec<Value> = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            if key == "items" {
                let list_kind = head.get("kind").and_then(Value::as_str).map(str::to_string);
                let api_version = head.get("apiVersion").cloned();
                let seed = ItemsSeed {
                    sink: &mut *self.sink,
                    list_kind: list_kind.as_deref(),
                    api_version: api_version.as_ref(),
                    kindless: &mut kindless,
                };
                match map.next_value_seed(seed)? {
                    None => streamed = true,
                    Some(other) => {
                        head.insert(key, other);
                    }
                }
            } else {
                let value: Value = map.next_value()?;
                head.insert(key, value);
            }
        }
        if !streamed {
            return Ok(Doc::Object(head));
        }
        // Items without `kind` that came before the list's own `kind`: complete them now.
        let item_kind = head.get("kind").and_then(Value::as_str).and_then(list_item_kind);
        for mut item in kindless {
            if let (Value::Object(obj), Some(kind)) = (&mut item, item_kind) {
                complete_list_item(obj, kind, head.get("apiVersion"));
            }
            (self.sink)(item);
        }
        Ok(Doc::StreamedList)
    }
}

/// The `items` of a list: each element goes to the sink as soon as it is parsed. Returns the
/// value itself when `items` is not a sequence.
struct ItemsSeed<'s, 'k> {
    sink: &'s mut dyn FnMut(Value),
    list_kind: Option<&'k str>,
    api_version: Option<&'k Value>,
    kindless: &'k mut Vec<Value>,
}

impl<'de> serde::de::DeserializeSeed<'de> for ItemsSeed<'_, '_> {
    type Value = Option<Value>;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Option<Value>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for ItemsSeed<'_, '_> {
    type Value = Option<Value>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a list of objects")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Option<Value>, A::Error> {
        let item_kind = self.list_kind.and_then(list_item_kind);
        while let Some(mut item) = seq.next_element::<Value>()? {
            if let Value::Object(obj) = &mut item {
                if !obj.contains_key("kind") {
                    match item_kind {
                        Some(kind) => complete_list_item(obj, kind, self.api_version),
                        None => {
                            self.kindless.push(item);
                            continue;
                        }
                    }
                }
            }
            (self.sink)(item);
        }
        Ok(None)
    }

    fn visit_unit<E>(self) -> Result<Option<Value>, E> {
        Ok(Some(Value::Null))
    }
    fn visit_none<E>(self) -> Result<Option<Value>, E> {
        Ok(Some(Value::Null))
    }
    fn visit_bool<E>(self, v: bool) -> Result<Option<Value>, E> {
        Ok(Some(Value::Bool(v)))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Option<Value>, E> {
        Ok(Some(Value::from(v)))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Option<Value>, E> {
        Ok(Some(Value::from(v)))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Option<Value>, E> {
        Ok(Some(Value::from(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Option<Value>, E> {
        Ok(Some(Value::String(v.to_string())))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Option<Value>, A::Error> {
        let v =
            <Value as serde::Deserialize>::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
        Ok(Some(v))
    }
}

fn leading_ws(s: &str) -> usize {
    s.len() - s.trim_start().len()
}

fn line_of_offset(bytes: &[u8], offset: usize) -> usize {
    1 + bytes[..offset.min(bytes.len())].iter().filter(|&&b| b == b'\n').count()
}

/// Split a YAML stream at `---` document markers (column 0, as YAML requires), returning each
/// document with the 1-based line its content starts on.
fn yaml_documents(text: &str) -> Vec<(usize, &str)> {
    let mut docs = Vec::new();
    let mut start = 0usize;
    let mut start_line = 1usize;
    let mut offset = 0usize;
    for (idx, line) in text.split_inclusive('\n').enumerate() {
        let bare = line.trim_end_matches(['\n', '\r']);
        let is_marker =
            bare == "---" || bare.starts_with("--- ") || bare == "..." || bare.starts_with("---\t");
        if is_marker {
            if offset > start {
                docs.push((start_line, &text[start..offset]));
            }
            // `--- {inline: doc}` keeps its content on the marker line.
            let content = if bare.starts_with("--- ") { offset + 4 } else { offset + line.len() };
            start = content;
            start_line = if bare.starts_with("--- ") { idx + 1 } else { idx + 2 };
        }
        offset += line.len();
    }
    if text.len() > start {
        docs.push((start_line, &text[start..]));
    }
    docs
}

/// Hand over one parsed value: lists are flattened into their items, `/configz` envelopes are
/// unwrapped, values that are not objects are reported.
fn emit(file: &str, line: usize, value: Value, placement: &Placement, visit: &mut impl FnMut(Item)) {
    let Value::Object(mut map) = value else {
        visit(Item::Error(ReadError {
            file: file.into(),
            line: Some(line),
            message: "expected a Kubernetes object (a mapping with `kind`), found a scalar or sequence"
                .into(),
        }));
        return;
    };
    if let Placement::KubeletConfig { node, .. } = placement {
        // A `/configz` capture is the effective configuration; a bare file is as written.
        let (value, form) = match map.remove("kubeletconfig") {
            Some(inner @ Value::Object(_)) => (inner, ConfigForm::Effective),
            Some(_) => {
                visit(Item::Error(ReadError {
                    file: file.into(),
                    line: Some(line),
                    message: "`kubeletconfig` is not a mapping".into(),
                }));
                return;
            }
            None => (Value::Object(map), ConfigForm::File),
        };
        let placement = Placement::KubeletConfig { node: node.clone(), form };
        visit(Item::Object(RawObject { file: file.into(), line, placement, value }));
        return;
    }
    let kind = map.get("kind").and_then(Value::as_str).map(str::to_string);
    match kind {
        Some(kind) if kind.ends_with("List") && map.get("items").is_some_and(Value::is_array) => {
            // `kind: List` from `kubectl get -o yaml` carries kind on every item; a typed list
            // (`PodList` from `get --raw`) does not, so the item kind comes from the list's.
            let item_kind = list_item_kind(&kind);
            let api_version = map.get("apiVersion").cloned();
            let Some(Value::Array(items)) = map.remove("items") else { return };
            for item in items {
                let item = match (item, item_kind) {
                    (Value::Object(mut obj), Some(k)) => {
                        complete_list_item(&mut obj, k, api_version.as_ref());
                        Value::Object(obj)
                    }
                    (other, _) => other,
                };
                emit(file, line, item, placement, visit);
            }
        }
        Some(kind) if !kind.is_empty() => visit(Item::Object(RawObject {
            file: file.into(),
            line,
            placement: placement.clone(),
            value: Value::Object(map),
        })),
        _ => visit(Item::Error(ReadError {
            file: file.into(),
            line: Some(line),
            message: "object has no `kind`; is this a Kubernetes object?".into(),
        })),
    }
}

/// Groups that may legitimately be empty in a complete dump (a cluster without network policies
/// or secrets exists; one without nodes, namespaces or cluster roles does not).
const MAY_BE_EMPTY: [Group; 3] = [Group::Secrets, Group::NetworkPolicies, Group::DaemonSets];

/// Read a dump and reduce it into a [`Snapshot`] whose evidence is tagged `dump`. Files that could
/// not be read become [`Gap`]s (`dump:<file>:<line>`); a group with no object in the dump is
/// `unknown: not_collected` unless a real cluster could have none of it.
pub fn collect(path: impl AsRef<Path>) -> Result<Snapshot, DumpError> {
    let path = path.as_ref();
    let origin = Origin::new(Source::Dump, chrono::Utc::now());
    let mut reducer = Reducer::new(origin);
    let mut gaps = Vec::new();
    visit(path, |item| match item {
        Item::Object(obj) => match &obj.placement {
            Placement::Api => reducer.add_object(&obj.value),
            Placement::StaticPod { node } if obj.kind() == "Pod" => {
                reducer.add_static_pod(&obj.value, node.as_deref(), Some(&obj.file))
            }
            Placement::StaticPod { .. } => gaps.push(Gap {
                what: format!("dump:{}:{}", obj.file, obj.line),
                reason: GapReason::Error,
                detail: format!("a {} in the static pod manifest directory was skipped", obj.kind()),
            }),
            Placement::KubeletConfig { node, form } => reducer.add_kubelet_config(node, obj.value, *form),
        },
        Item::NodeFile(f) => reducer.add_node_file(&f.node, &f.path, f.content),
        Item::SimSettings(_) => {}
        Item::Error(e) => gaps.push(Gap {
            what: match e.line {
                Some(line) => format!("dump:{}:{line}", e.file),
                None => format!("dump:{}", e.file),
            },
            reason: GapReason::Error,
            detail: e.message,
        }),
    })?;
    let mut states = GroupStates::default();
    for group in Group::ALL {
        let state = if reducer.seen(group) > 0 || MAY_BE_EMPTY.contains(&group) {
            EvidenceState::Complete
        } else {
            EvidenceState::Unknown {
                reason: GapReason::NotCollected,
                detail: format!("the dump holds no {} objects", group.kind()),
            }
        };
        states.states.insert(group, state);
    }
    states.kube_system_pods_readable = reducer.seen(Group::Pods) > 0;
    reducer.gaps.extend(gaps);
    Ok(reducer.finish(&dump_name(path), states))
}

/// The cluster name a dump is scanned under: its directory or archive name.
pub fn dump_name(path: &Path) -> String {
    let name = path
        .canonicalize()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| path.display().to_string());
    for ext in [".tar.gz", ".tgz", ".yaml", ".yml", ".json"] {
        if let Some(stem) = name.strip_suffix(ext) {
            return stem.to_string();
        }
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(file: &str, text: &str) -> DumpObjects {
        let mut out = DumpObjects::default();
        read_entry(file, text.as_bytes().to_vec(), &mut |item| match item {
            Item::Object(o) => out.objects.push(o),
            Item::NodeFile(f) => out.node_files.push(f),
            Item::SimSettings(v) => out.sim_settings = Some(v),
            Item::Error(e) => out.errors.push(e),
        });
        out
    }

    #[test]
    fn multi_document_yaml_yields_each_object_with_its_starting_line() {
        let out = parse(
            "ns.yaml",
            "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\n# comment only\n---\napiVersion: v1\n\
             kind: Namespace\nmetadata: {name: b}\n",
        );
        assert!(out.errors.is_empty(), "{:?}", out.errors);
        let lines: Vec<usize> = out.objects.iter().map(|o| o.line).collect();
        assert_eq!(lines, vec![1, 7]);
        assert_eq!(out.objects[1].value["metadata"]["name"], "b");
    }

    #[test]
    fn a_bad_document_is_reported_with_its_line_and_the_others_are_kept() {
        let out = parse(
            "mixed.yaml",
            "kind: Namespace\nmetadata: {name: a}\n---\nkind: Namespace\nmetadata:\n  name: [unclosed\n---\n\
             kind: Namespace\nmetadata: {name: c}\n",
        );
        assert_eq!(out.objects.len(), 2);
        assert_eq!(out.errors.len(), 1);
        let err = &out.errors[0];
        assert_eq!(err.file, "mixed.yaml");
        assert!(err.line.is_some_and(|l| (4..=7).contains(&l)), "{err}");
    }

    /// A `kubectl get -o yaml` list big enough for the item-by-item path, as kubectl writes it
    /// (items first, then `kind: List`), with one broken item in the middle.
    fn big_yaml_list(kind: &str, n: usize, broken: Option<usize>) -> (String, Vec<usize>) {
        let mut text = String::from("apiVersion: v1\nitems:\n");
        let mut lines = Vec::new();
        let mut counted = (0usize, 0usize); // (bytes counted, lines in them)
        for i in 0..n {
            counted.1 += text[counted.0..].matches('\n').count();
            counted.0 = text.len();
            lines.push(counted.1 + 1);
            let item_kind = if kind == "List" { "  kind: Pod\n" } else { "" };
            if Some(i) == broken {
                text.push_str(&format!("- apiVersion: v1\n{item_kind}  metadata:\n    name: [unclosed\n"));
                continue;
            }
            text.push_str(&format!(
                "- apiVersion: v1\n{item_kind}  metadata:\n    name: pod-{i}\n    namespace: ns-{}\n    labels:\n      \
                 app: web\n  spec:\n    containers:\n    - name: c\n      image: \"registry.example/app:1\"\n      \
                 command:\n      - /bin/sh\n      - -c\n      - |\n        echo one\n        echo two\n",
                i % 7
            ));
        }
        text.push_str(&format!("kind: {kind}\nmetadata:\n  resourceVersion: \"\"\n"));
        (text, lines)
    }

    #[test]
    fn a_large_yaml_list_is_read_item_by_item_with_the_same_result_as_one_document() {
        let (text, lines) = big_yaml_list("List", 5_000, None);
        assert!(text.len() > 1 << 20, "big enough for the fast path: {}", text.len());
        assert!(split_yaml_list(&text).is_some());
        let fast = parse("pods.yaml", &text);
        assert!(fast.errors.is_empty(), "{:?}", fast.errors);
        assert_eq!(fast.objects.len(), 5_000);
        // The same document parsed whole by serde_yaml gives the same objects.
        let whole: Value = serde_yaml::from_str(&text).unwrap();
        let items = whole["items"].as_array().unwrap();
        for (i, (obj, item)) in fast.objects.iter().zip(items).enumerate() {
            assert_eq!(&obj.value, item, "item {i}");
            assert_eq!(obj.line, lines[i], "item {i} starts on its own line");
        }
        assert_eq!(fast.objects[4_999].value["spec"]["containers"][0]["command"][2], "echo one\necho two\n");
    }

    #[test]
    fn a_broken_item_of_a_large_yaml_list_loses_only_itself_and_is_reported_at_its_line() {
        let (text, lines) = big_yaml_list("PodList", 5_000, Some(1_234));
        let out = parse("pods.yaml", &text);
        assert_eq!(out.objects.len(), 4_999);
        assert_eq!(out.errors.len(), 1, "{:?}", out.errors);
        let err = &out.errors[0];
        assert!(err.message.starts_with("invalid YAML"), "{err}");
        let line = err.line.unwrap();
        assert!((lines[1_234]..lines[1_235]).contains(&line), "{line} within item 1234 at {}", lines[1_234]);
        // A typed list's items get the list's kind and apiVersion.
        assert!(out.objects.iter().all(|o| o.value["kind"] == "Pod" && o.value["apiVersion"] == "v1"));
    }

    #[test]
    fn yaml_lists_in_other_layouts_are_parsed_as_one_document() {
        // Indented entries and flow sequences are not cut; they still read correctly.
        let mut indented = String::from("kind: List\napiVersion: v1\nitems:\n");
        let mut flow = String::from("kind: List\napiVersion: v1\nitems: [\n");
        for i in 0..30_000 {
            indented.push_str(&format!("  - kind: Namespace\n    metadata: {{name: namespace-{i}}}\n"));
            flow.push_str(&format!("  {{kind: Namespace, metadata: {{name: namespace-{i}}}}},\n"));
        }
        flow.push_str("]\n");
        for text in [indented, flow] {
            assert!(text.len() > 1 << 20);
            assert!(split_yaml_list(&text).is_none());
            let out = parse("ns.yaml", &text);
            assert!(out.errors.is_empty(), "{:?}", out.errors);
            assert_eq!(out.objects.len(), 30_000);
        }
    }

    #[test]
    fn typed_lists_give_their_items_the_list_kind() {
        let out = parse(
            "pods.json",
            r#"{"kind":"PodList","apiVersion":"v1","items":[{"metadata":{"name":"p"}},{"metadata":{"name":"q"}}]}"#,
        );
        assert_eq!(out.objects.len(), 2);
        assert!(out.objects.iter().all(|o| o.kind() == "Pod" && o.value["apiVersion"] == "v1"));
    }

    #[test]
    fn configz_envelopes_are_unwrapped_and_the_node_comes_from_the_file_name() {
        let out = parse("kubelet/worker-1.json", r#"{"kubeletconfig":{"readOnlyPort":0}}"#);
        assert_eq!(out.objects.len(), 1);
        assert_eq!(
            out.objects[0].placement,
            Placement::KubeletConfig { node: "worker-1".into(), form: ConfigForm::Effective }
        );
        assert_eq!(out.objects[0].value["readOnlyPort"], 0);
    }

    #[test]
    fn node_files_keep_their_absolute_path() {
        let out = parse("files/cp-1/etc/kubernetes/enc.yaml", "kind: EncryptionConfiguration\n");
        assert_eq!(out.node_files.len(), 1);
        assert_eq!(out.node_files[0].node, "cp-1");
        assert_eq!(out.node_files[0].path, "/etc/kubernetes/enc.yaml");
        assert!(out.objects.is_empty());
    }

    #[test]
    fn kubectl_lists_with_kind_after_items_and_concatenated_json_values_are_read() {
        let out = parse(
            "all.json",
            "{\"apiVersion\":\"v1\",\"items\":[{\"kind\":\"Namespace\",\"metadata\":{\"name\":\"a\"}},\n\
             {\"metadata\":{\"name\":\"p\"}}],\"kind\":\"PodList\"}\n\
             {\"kind\":\"Node\",\"metadata\":{\"name\":\"n\"}}\n",
        );
        assert!(out.errors.is_empty(), "{:?}", out.errors);
        let kinds: Vec<&str> = out.objects.iter().map(|o| o.kind()).collect();
        assert_eq!(kinds, vec!["Namespace", "Pod", "Node"]);
        assert_eq!(out.objects[2].line, 3);
    }

    #[test]
    fn a_json_syntax_error_keeps_the_items_read_before_it() {
        let out = parse(
            "pods.json",
            "{\"kind\":\"PodList\",\"items\":[\n{\"metadata\":{\"name\":\"a\"}},\n{\"metadata\":{\"name\": }}]}",
        );
        assert_eq!(out.objects.len(), 1);
        assert_eq!(out.errors.len(), 1);
        assert_eq!(out.errors[0].line, Some(3), "{}", out.errors[0]);
    }

    #[test]
    fn objects_without_kind_are_errors_not_silently_dropped() {
        let out = parse("x.yaml", "metadata: {name: a}\n");
        assert!(out.objects.is_empty());
        assert!(out.errors[0].message.contains("no `kind`"));
    }
}
