//! sshd_config as OpenSSH reads it, for the node agent when `sshd -T` cannot run (no binary, or a
//! host root that is not `/`): comments and quotes, `Include` (globs, relative to /etc/ssh, inline
//! where they appear), keywords case-insensitive with the first value obtained winning, and
//! `Match` blocks evaluated for a root login: `User`, `Group` (root's group is `root`) and `All`.
//! A block whose criteria need the client's address or host name cannot be decided here; it is
//! left out and named in [`Parsed::undecided`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Nested `Include`s followed (OpenSSH stops at 16 too).
const MAX_DEPTH: usize = 16;
/// Files read for one parse: a file that includes itself through a glob fans out at every level.
const MAX_FILES: usize = 256;
/// A configuration file larger than this is refused.
const MAX_FILE: u64 = 1 << 20;

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Parsed {
    /// Lower-case keyword → value for a root login.
    pub settings: BTreeMap<String, String>,
    /// `Match` criteria that could not be evaluated (`Match Address 10.0.0.0/8`).
    pub undecided: Vec<String>,
    /// Files that could not be read, and why.
    pub errors: Vec<String>,
}

/// One `keyword args…` line, with where it came from.
struct Line {
    keyword: String,
    args: Vec<String>,
}

/// Split a line into words, honouring double quotes; `None` for a blank or comment line.
fn words(line: &str) -> Option<Vec<String>> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut any = false;
    for c in line.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                any = true;
            }
            '#' if !quoted && cur.is_empty() => break,
            c if c.is_whitespace() && !quoted => {
                if any || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            // `Keyword=value` is allowed for the first separator.
            '=' if !quoted && out.is_empty() && !cur.is_empty() => {
                out.push(std::mem::take(&mut cur));
                any = false;
            }
            c => cur.push(c),
        }
    }
    if any || !cur.is_empty() {
        out.push(cur);
    }
    (!out.is_empty()).then_some(out)
}

/// A shell-style glob with `*` and `?`, in O(pattern × text) time: on a mismatch it retries only
/// from the last `*` (a recursive matcher is exponential in the number of stars).
fn glob_match(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// An OpenSSH pattern list (`root,admin`, `!root,*`): a negated match wins.
fn pattern_list(list: &str, value: &str) -> bool {
    let mut matched = false;
    for p in list.split(',') {
        if let Some(neg) = p.strip_prefix('!') {
            if glob_match(neg, value) {
                return false;
            }
        } else if glob_match(p, value) {
            matched = true;
        }
    }
    matched
}

/// Expand an `Include` argument under `root` (relative paths are under /etc/ssh).
fn include_paths(root: &Path, arg: &str) -> Vec<PathBuf> {
    let on_node = if arg.starts_with('/') { arg.to_string() } else { format!("/etc/ssh/{arg}") };
    let full = join(root, &on_node);
    let Some(name) = full.file_name().map(|n| n.to_string_lossy().into_owned()) else { return Vec::new() };
    if !name.contains(['*', '?']) {
        return vec![full];
    }
    let dir = full.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut found: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .filter(|e| glob_match(&name, &e.file_name().to_string_lossy()))
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found
}

/// `root` joined with a path on the node.
pub fn join(root: &Path, on_node: &str) -> PathBuf {
    root.join(on_node.trim_start_matches('/'))
}

fn read_lines(
    root: &Path,
    path: &Path,
    depth: usize,
    out: &mut Vec<Line>,
    errors: &mut Vec<String>,
    read: &mut usize,
) {
    let shown = path
        .strip_prefix(root)
        .map(|p| format!("/{}", p.display()))
        .unwrap_or_else(|_| path.display().to_string());
    if *read >= MAX_FILES {
        if *read == MAX_FILES {
            errors.push(format!("{shown}: more than {MAX_FILES} files included; the rest is not read"));
            *read += 1;
        }
        return;
    }
    *read += 1;
    if depth > MAX_DEPTH {
        errors.push(format!("{shown}: Include nested more than {MAX_DEPTH} deep"));
        return;
    }
    let text = match std::fs::metadata(path) {
        Ok(m) if m.len() > MAX_FILE => {
            errors.push(format!("{shown}: larger than {MAX_FILE} bytes; not read"));
            return;
        }
        Ok(_) => match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                errors.push(format!("{shown}: {e}"));
                return;
            }
        },
        Err(e) => {
            errors.push(format!("{shown}: {e}"));
            return;
        }
    };
    for raw in text.lines() {
        let Some(mut w) = words(raw) else { continue };
        let keyword = w.remove(0).to_ascii_lowercase();
        if keyword == "include" {
            for arg in &w {
                for p in include_paths(root, arg) {
                    read_lines(root, &p, depth + 1, out, errors, read);
                }
            }
            continue;
        }
        out.push(Line { keyword, args: w });
    }
}

/// Whether a `Match` line's criteria hold for a root login; `None` when they cannot be decided.
fn matches_root(args: &[String]) -> Option<bool> {
    let mut i = 0;
    let mut all = true;
    while i < args.len() {
        let criterion = args[i].to_ascii_lowercase();
        if criterion == "all" {
            i += 1;
            continue;
        }
        let value = args.get(i + 1)?;
        let holds = match criterion.as_str() {
            "user" => pattern_list(value, "root"),
            "group" => pattern_list(value, "root"),
            _ => return None,
        };
        all &= holds;
        i += 2;
    }
    Some(all)
}

/// Parse `path` (a path on the node) under `root` for a root login.
pub fn parse(root: &Path, path: &str) -> Parsed {
    let mut lines = Vec::new();
    let mut parsed = Parsed::default();
    read_lines(root, &join(root, path), 0, &mut lines, &mut parsed.errors, &mut 0);
    let mut global: BTreeMap<String, String> = BTreeMap::new();
    let mut matched: BTreeMap<String, String> = BTreeMap::new();
    // `None`: global; `Some(true)`: a Match block that applies; `Some(false)`: one that does not.
    let mut block: Option<bool> = None;
    for line in lines {
        if line.keyword == "match" {
            block = match matches_root(&line.args) {
                Some(m) => Some(m),
                None => {
                    parsed.undecided.push(format!("Match {}", line.args.join(" ")));
                    Some(false)
                }
            };
            continue;
        }
        let value = line.args.join(" ");
        match block {
            None => {
                global.entry(line.keyword).or_insert(value);
            }
            Some(true) => {
                matched.entry(line.keyword).or_insert(value);
            }
            Some(false) => {}
        }
    }
    global.extend(matched);
    parsed.settings = global.into_iter().map(|(k, v)| (k, v.to_ascii_lowercase())).collect();
    parsed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let p = join(dir.path(), path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        dir
    }

    #[test]
    fn the_first_value_wins_includes_are_inline_and_match_root_overrides() {
        let root = tree(&[
            (
                "/etc/ssh/sshd_config",
                "# comment\nInclude /etc/ssh/sshd_config.d/*.conf\nPasswordAuthentication yes\n\
                 PermitRootLogin=no\nMatch User admin,root\n  PasswordAuthentication yes\n\
                 Match Address 10.0.0.0/8\n  PermitRootLogin yes\nMatch User !root,*\n  PubkeyAuthentication no\n",
            ),
            ("/etc/ssh/sshd_config.d/50-cloud.conf", "passwordauthentication no\nKbdInteractiveAuthentication \"no\"\n"),
        ]);
        let p = parse(root.path(), "/etc/ssh/sshd_config");
        assert_eq!(p.errors, Vec::<String>::new());
        assert_eq!(p.settings["kbdinteractiveauthentication"], "no");
        // The include came first, so its `no` was obtained first; the Match block for root overrides it.
        assert_eq!(p.settings["passwordauthentication"], "yes");
        assert_eq!(p.settings["permitrootlogin"], "no");
        assert!(!p.settings.contains_key("pubkeyauthentication"), "the block excludes root");
        assert_eq!(p.undecided, vec!["Match Address 10.0.0.0/8".to_string()]);
    }

    #[test]
    fn missing_and_looping_files_are_errors_not_panics() {
        let root = tree(&[("/etc/ssh/sshd_config", "Include /etc/ssh/sshd_config\n")]);
        let p = parse(root.path(), "/etc/ssh/sshd_config");
        assert!(p.errors.iter().any(|e| e.contains("nested more than 16")), "{:?}", p.errors);
        let p = parse(root.path(), "/etc/ssh/nope");
        assert_eq!(p.errors.len(), 1);
        assert!(p.settings.is_empty());
    }

    #[test]
    fn a_self_including_glob_with_many_stars_is_parsed_at_once() {
        // Found by the sshd_config fuzz target (fuzz/regressions): a recursive glob matcher and an
        // Include that fans out at every level took over 10 s.
        let input = include_bytes!("../../fuzz/regressions/sshd_config-slow-include-glob");
        let root = tree(&[("/etc/ssh/sshd_config", &String::from_utf8_lossy(input))]);
        let started = std::time::Instant::now();
        let _ = parse(root.path(), "/etc/ssh/sshd_config");
        assert!(started.elapsed() < std::time::Duration::from_secs(2), "{:?}", started.elapsed());
        let fan_out = tree(&[("/etc/ssh/sshd_config", "Include /etc/ssh/* /etc/ssh/* /etc/ssh/*\n")]);
        let p = parse(fan_out.path(), "/etc/ssh/sshd_config");
        assert!(p.errors.iter().any(|e| e.contains("more than 256 files")), "{:?}", p.errors);
        assert!(glob_match(&"*a".repeat(30), &"a".repeat(60)));
        assert!(!glob_match(&format!("{}b", "*a".repeat(30)), &"a".repeat(60)));
    }

    #[test]
    fn patterns_follow_openssh() {
        assert!(pattern_list("ro*", "root"));
        assert!(!pattern_list("!root,*", "root"));
        assert!(pattern_list("admin,r?ot", "root"));
        assert_eq!(
            words("Ciphers \"aes128-ctr aes256-ctr\"  # x"),
            Some(vec!["Ciphers".into(), "aes128-ctr aes256-ctr".into()])
        );
    }
}
