//! The module order of the library, checked from its source: every `crate::…` path in a file under
//! `src/` must name a module of a lower layer than the file's own (or its own module). Test code
//! (`#[cfg(test)]` modules, inline or in their own files) is left out: it may reach up to compare
//! against another layer's data, and it is not part of what the library depends on.
//!
//! Layers, top to bottom (a module may use only modules of lower layers, not of its own):
//! cli → startup → web → scheduler, sim → registry → store, collect, report → frameworks, history
//! → checks → analysis, secrets, egress → snapshot, config → domain, crypto, telemetry; `agent`
//! sits with `registry`, above `collect` (the cluster agent collects as a server scan does).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Each top-level module of `src/` and its layer; higher numbers sit above lower ones.
const LAYERS: &[(&str, u8)] = &[
    ("domain", 0),
    ("crypto", 0),
    ("telemetry", 0),
    ("config", 1),
    ("snapshot", 1),
    ("secrets", 2),
    ("egress", 2),
    ("analysis", 2),
    ("checks", 3),
    ("frameworks", 4),
    ("history", 4),
    ("collect", 5),
    ("agent", 6),
    ("store", 5),
    ("report", 5),
    ("registry", 6),
    ("scheduler", 7),
    ("sim", 7),
    ("web", 8),
    ("startup", 9),
    ("cli", 10),
];

fn layer(module: &str) -> Option<u8> {
    LAYERS.iter().find(|(m, _)| *m == module).map(|(_, l)| *l)
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The text of a line before its `//` comment (a `//` right after a non-space, as in a URL inside a
/// string, does not start one).
fn code_of(line: &str) -> &str {
    let bytes = line.as_bytes();
    for i in 0..bytes.len().saturating_sub(1) {
        if &bytes[i..i + 2] == b"//" && (i == 0 || bytes[i - 1].is_ascii_whitespace()) {
            return &line[..i];
        }
    }
    line
}

/// Files that hold only test code: declared as `#[cfg(test)] mod name;` by their parent.
fn test_files(files: &[PathBuf]) -> BTreeSet<PathBuf> {
    let mut out = BTreeSet::new();
    for file in files {
        let text = std::fs::read_to_string(file).unwrap();
        let lines: Vec<&str> = text.lines().map(str::trim).collect();
        for w in lines.windows(2) {
            if w[0] == "#[cfg(test)]" {
                if let Some(name) = w[1].strip_prefix("mod ").and_then(|r| r.strip_suffix(';')) {
                    let base = if file.ends_with("mod.rs") || file.ends_with("lib.rs") {
                        file.parent().unwrap().to_path_buf()
                    } else {
                        file.with_extension("")
                    };
                    out.insert(base.join(format!("{name}.rs")));
                    out.insert(base.join(name));
                }
            }
        }
    }
    out
}

/// The file's code without inline `#[cfg(test)] mod … { … }` blocks and comments.
fn library_code(text: &str) -> String {
    let mut out = String::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        if line.trim() == "#[cfg(test)]" && lines.peek().is_some_and(|l| l.trim_start().starts_with("mod ")) {
            let mut depth = 0i32;
            let mut opened = false;
            for l in lines.by_ref() {
                let code = code_of(l);
                depth += code.matches('{').count() as i32 - code.matches('}').count() as i32;
                opened |= code.contains('{');
                if opened && depth <= 0 {
                    break;
                }
            }
            continue;
        }
        out.push_str(code_of(line));
        out.push('\n');
    }
    out
}

/// Every top-level module named by a `crate::…` path, with the path as written (up to the next
/// character that cannot be part of it), including each item of a `crate::{a, b::c}` group.
fn crate_paths(code: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':';
    for (at, _) in code.match_indices("crate::") {
        if at > 0 && code[..at].ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_') {
            continue; // e.g. `palisade_crate::`
        }
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for item in group[..end].split(',') {
                let item = item.trim();
                let module: String =
                    item.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
                if !module.is_empty() {
                    out.push((module, format!("crate::{item}")));
                }
            }
        } else {
            let path: String = rest.chars().take_while(|c| ident(*c)).collect();
            let module = path.split("::").next().unwrap_or_default().to_string();
            out.push((module, format!("crate::{}", path.trim_end_matches(':'))));
        }
    }
    out
}

#[test]
fn no_module_imports_one_above_it() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let src = root.join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let tests = test_files(&files);
    let mut problems = Vec::new();
    for file in &files {
        let rel = file.strip_prefix(&src).unwrap();
        let shown = format!("src/{}", rel.display());
        let own = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_string();
        if own == "lib" || own == "main" {
            continue; // the module list and the binary
        }
        if tests.iter().any(|t| file.starts_with(t)) {
            continue;
        }
        let Some(own_layer) = layer(&own) else {
            problems.push(format!("{shown}: module `{own}` has no layer in LAYERS; give it one"));
            continue;
        };
        let code = library_code(&std::fs::read_to_string(file).unwrap());
        for (module, path) in crate_paths(&code) {
            if module == own || module.is_empty() {
                continue;
            }
            match layer(&module) {
                Some(l) if l < own_layer => {}
                Some(l) => problems.push(format!(
                    "{shown}: `{own}` (layer {own_layer}) uses `{path}`, but `{module}` is layer {l}, not below"
                )),
                None => problems.push(format!("{shown}: uses `{path}` of `{module}`, which has no layer in LAYERS")),
            }
        }
    }
    problems.sort();
    problems.dedup();
    assert!(problems.is_empty(), "imports that point up or sideways:\n{}", problems.join("\n"));
}

#[test]
fn the_layer_check_sees_grouped_paths_and_skips_comments_and_test_modules() {
    let code = library_code(
        "use crate::{store::clusters, web};\n// crate::cli in a comment\nlet u = \"https://crate::x\";\n\
         #[cfg(test)]\nmod tests {\n    use crate::cli::Cli;\n}\nfn f() { crate::registry::Registry::new(); }\n",
    );
    let modules: Vec<String> = crate_paths(&code).into_iter().map(|(m, _)| m).collect();
    assert_eq!(modules, ["store", "web", "x", "registry"]);
}
