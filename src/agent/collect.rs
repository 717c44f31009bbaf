//! What the node agent reads on its node, under `--host-root`: sshd's effective settings for a
//! root login, the modes and owners of the CIS 1.1.x and 4.1.x files, and every certificate under
//! the PKI directories. Nothing else is read, and no content leaves the node: settings, modes,
//! owners, certificate names and dates.

use std::collections::HashMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::checks::hostfiles::{AGENT_DIRS, AGENT_FILES};
use crate::snapshot::host::{FileFacts, HostFacts, KubeletFacts, PkiCert, SshdFacts, StaticPod};

use super::sshd_config::{self, join};

/// Where and how to read.
#[derive(Debug, Clone)]
pub struct CollectOptions {
    /// The node's `/` as the agent sees it (`/host` in a DaemonSet with hostPath mounts).
    pub host_root: PathBuf,
    /// sshd's configuration file on the node.
    pub sshd_config: String,
    /// The sshd binary on the node; `sshd -T` is used only when the host root is `/`.
    pub sshd_binary: String,
}

impl Default for CollectOptions {
    fn default() -> Self {
        Self {
            host_root: PathBuf::from("/"),
            sshd_config: "/etc/ssh/sshd_config".into(),
            sshd_binary: "/usr/sbin/sshd".into(),
        }
    }
}

/// The sshd keywords a report keeps.
const SSHD_KEYWORDS: &[&str] = &[
    "permitrootlogin",
    "passwordauthentication",
    "kbdinteractiveauthentication",
    "challengeresponseauthentication",
    "pubkeyauthentication",
    "permitemptypasswords",
    "authenticationmethods",
    "authorizedkeysfile",
    "usepam",
];

/// Read everything.
pub fn collect(opts: &CollectOptions) -> HostFacts {
    let mut facts = HostFacts::default();
    let names = Names::read(&opts.host_root);
    facts.sshd = sshd(opts, &mut facts.errors);
    for path in AGENT_FILES {
        facts.files.push(file_facts(&opts.host_root, path, &names));
    }
    for dir in AGENT_DIRS {
        walk(&opts.host_root, dir, 0, &mut |on_node, _| {
            facts.files.push(file_facts(&opts.host_root, on_node, &names))
        });
    }
    for dir in ["/etc/kubernetes/pki", "/var/lib/kubelet/pki"] {
        walk(&opts.host_root, dir, 0, &mut |on_node, full| {
            if on_node.ends_with(".crt") || (on_node.ends_with(".pem") && !on_node.contains("key")) {
                match certificate(full) {
                    Ok(Some((subject, issuer, not_after))) => {
                        facts.pki.push(PkiCert { path: on_node.to_string(), subject, issuer, not_after })
                    }
                    Ok(None) => {}
                    Err(e) => facts.errors.push(format!("{on_node}: {e}")),
                }
            }
        });
    }
    facts.kubelet = kubelet(&opts.host_root, &mut facts.errors);
    let static_pod_path = facts
        .kubelet
        .as_ref()
        .and_then(|k| k.config.as_ref())
        .and_then(|c| c.get("staticPodPath"))
        .and_then(|p| p.as_str())
        .unwrap_or("/etc/kubernetes/manifests")
        .to_string();
    facts.manifests = manifests(&opts.host_root, &static_pod_path, &mut facts.errors);
    facts.files.sort_by(|a, b| a.path.cmp(&b.path));
    facts.files.dedup_by(|a, b| a.path == b.path);
    facts
}

/// uid/gid → name from the node's /etc/passwd and /etc/group.
struct Names {
    users: HashMap<u32, String>,
    groups: HashMap<u32, String>,
}

impl Names {
    fn read(root: &Path) -> Names {
        let table = |path: &str| -> HashMap<u32, String> {
            std::fs::read_to_string(join(root, path))
                .unwrap_or_default()
                .lines()
                .filter_map(|l| {
                    let mut f = l.split(':');
                    let name = f.next()?.to_string();
                    let id = f.nth(1)?.parse().ok()?;
                    Some((id, name))
                })
                .collect()
        };
        Names { users: table("/etc/passwd"), groups: table("/etc/group") }
    }
}

fn file_facts(root: &Path, on_node: &str, names: &Names) -> FileFacts {
    let mut f = FileFacts {
        path: on_node.to_string(),
        exists: false,
        kind: None,
        mode: None,
        uid: None,
        gid: None,
        owner: None,
        group: None,
    };
    // Not followed: a symlink is reported as one, as `stat` without -L does.
    if let Ok(m) = std::fs::symlink_metadata(join(root, on_node)) {
        let t = m.file_type();
        f.exists = true;
        f.kind = Some(
            if t.is_symlink() {
                "symlink"
            } else if t.is_dir() {
                "dir"
            } else if t.is_file() {
                "file"
            } else {
                "other"
            }
            .into(),
        );
        f.mode = Some(format!("{:o}", m.permissions().mode() & 0o7777));
        f.uid = Some(m.uid());
        f.gid = Some(m.gid());
        f.owner = names.users.get(&m.uid()).cloned();
        f.group = names.groups.get(&m.gid()).cloned();
    }
    f
}

/// Visit every entry under `dir` (on the node), depth-first, at most 8 levels and 10,000 entries.
fn walk(root: &Path, dir: &str, depth: usize, visit: &mut dyn FnMut(&str, &Path)) {
    fn go(root: &Path, dir: &str, depth: usize, seen: &mut usize, visit: &mut dyn FnMut(&str, &Path)) {
        if depth > 8 || *seen > 10_000 {
            return;
        }
        let Ok(rd) = std::fs::read_dir(join(root, dir)) else { return };
        let mut entries: Vec<_> = rd.filter_map(Result::ok).collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            *seen += 1;
            let on_node = format!("{}/{}", dir.trim_end_matches('/'), e.file_name().to_string_lossy());
            visit(&on_node, &e.path());
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                go(root, &on_node, depth + 1, seen, visit);
            }
        }
    }
    let mut seen = 0;
    go(root, dir, depth, &mut seen, visit)
}

/// The first certificate of a PEM (or DER) file: subject, issuer, expiry.
fn certificate(path: &Path) -> Result<Option<(String, String, chrono::DateTime<chrono::Utc>)>, String> {
    let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
    if !meta.is_file() || meta.len() > 1 << 20 {
        return Ok(None);
    }
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    let der = if bytes.starts_with(b"-----") {
        let mut reader = std::io::BufReader::new(&bytes[..]);
        let first = rustls_pemfile::certs(&mut reader).next();
        match first {
            Some(Ok(c)) => c.to_vec(),
            Some(Err(e)) => return Err(format!("not a PEM certificate: {e}")),
            None => return Ok(None),
        }
    } else {
        bytes
    };
    let (_, cert) =
        x509_parser::parse_x509_certificate(&der).map_err(|e| format!("not an X.509 certificate: {e}"))?;
    let not_after = chrono::DateTime::from_timestamp(cert.validity().not_after.timestamp(), 0)
        .ok_or_else(|| "an expiry out of range".to_string())?;
    Ok(Some((cert.subject().to_string(), cert.issuer().to_string(), not_after)))
}

/// sshd's settings: `sshd -T` on the host itself, else the parsed configuration.
fn sshd(opts: &CollectOptions, errors: &mut Vec<String>) -> Option<SshdFacts> {
    let config = join(&opts.host_root, &opts.sshd_config);
    if !config.exists() {
        return None;
    }
    let mut facts = None;
    if opts.host_root == Path::new("/") && Path::new(&opts.sshd_binary).exists() {
        match sshd_t(opts) {
            Ok(settings) => {
                facts = Some(SshdFacts { source: "sshd -T".into(), settings, root_authorized_keys: None })
            }
            Err(e) => errors.push(format!("sshd -T failed, so sshd_config was parsed instead: {e}")),
        }
    }
    let mut facts = facts.unwrap_or_else(|| {
        let parsed = sshd_config::parse(&opts.host_root, &opts.sshd_config);
        errors.extend(parsed.errors.iter().map(|e| format!("sshd_config: {e}")));
        for m in &parsed.undecided {
            errors.push(format!("sshd_config: `{m}` depends on the client's address or host, not evaluated"));
        }
        let settings =
            parsed.settings.into_iter().filter(|(k, _)| SSHD_KEYWORDS.contains(&k.as_str())).collect();
        SshdFacts { source: "sshd_config".into(), settings, root_authorized_keys: None }
    });
    facts.root_authorized_keys = authorized_keys(&opts.host_root, facts.settings.get("authorizedkeysfile"));
    Some(facts)
}

fn sshd_t(opts: &CollectOptions) -> Result<std::collections::BTreeMap<String, String>, String> {
    let out = Command::new(&opts.sshd_binary)
        .args(["-T", "-f", &opts.sshd_config, "-C", "user=root,host=localhost,addr=127.0.0.1"])
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once(' '))
        .filter(|(k, _)| SSHD_KEYWORDS.contains(k))
        .map(|(k, v)| (k.to_string(), v.trim().to_ascii_lowercase()))
        .collect())
}

/// Keys in root's authorized_keys files (`%h` is /root, `%u` root; relative to /root).
fn authorized_keys(root: &Path, setting: Option<&String>) -> Option<u32> {
    let files = setting.map(String::as_str).unwrap_or(".ssh/authorized_keys .ssh/authorized_keys2");
    let mut count = 0;
    let mut readable = false;
    for f in files.split_whitespace() {
        let f = f.replace("%h", "/root").replace("%u", "root").replace("%%", "%");
        let on_node = if f.starts_with('/') { f } else { format!("/root/{f}") };
        if let Ok(text) = std::fs::read_to_string(join(root, &on_node)) {
            readable = true;
            count += text.lines().filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#')).count()
                as u32;
        } else if join(root, "/root").is_dir() {
            readable = true;
        }
    }
    readable.then_some(count)
}

/// The running kubelet's argv (from the host's /proc) and its configuration file.
fn kubelet(root: &Path, errors: &mut Vec<String>) -> Option<KubeletFacts> {
    let cmdline = std::fs::read_dir(join(root, "/proc")).ok().and_then(|rd| {
        rd.filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().bytes().all(|b| b.is_ascii_digit()))
            .find_map(|e| {
                let raw = std::fs::read(e.path().join("cmdline")).ok()?;
                if raw.len() > 1 << 16 {
                    return None;
                }
                let argv: Vec<String> = raw
                    .split(|b| *b == 0)
                    .filter(|a| !a.is_empty())
                    .map(|a| String::from_utf8_lossy(a).into_owned())
                    .collect();
                (argv.first()?.rsplit('/').next() == Some("kubelet")).then_some(argv)
            })
    });
    let configured = cmdline.as_ref().and_then(|argv| {
        argv.iter().enumerate().find_map(|(i, a)| match a.strip_prefix("--config") {
            Some(v) if v.starts_with('=') => Some(v[1..].to_string()),
            Some("") => argv.get(i + 1).cloned(),
            _ => None,
        })
    });
    let config_path = configured.unwrap_or_else(|| "/var/lib/kubelet/config.yaml".to_string());
    let full = join(root, &config_path);
    let config = match std::fs::metadata(&full) {
        Ok(m) if m.len() <= 1 << 20 => match std::fs::read_to_string(&full) {
            Ok(text) => match serde_yaml::from_str::<serde_json::Value>(&text) {
                Ok(v) => Some(v),
                Err(e) => {
                    errors.push(format!("{config_path}: not YAML: {e}"));
                    None
                }
            },
            Err(e) => {
                errors.push(format!("{config_path}: {e}"));
                None
            }
        },
        Ok(_) => {
            errors.push(format!("{config_path}: larger than 1 MiB; not read"));
            None
        }
        Err(_) => None,
    };
    if cmdline.is_none() && config.is_none() {
        return None;
    }
    Some(KubeletFacts { cmdline, config_path: Some(config_path), config })
}

/// Environment variable names whose values are not sent: they look like credentials.
fn secret_like(name: &str) -> bool {
    let n = name.to_ascii_uppercase();
    ["TOKEN", "SECRET", "PASSWORD", "PASSWD", "KEY", "CREDENTIAL", "AUTH"].iter().any(|w| n.contains(w))
}

/// Omit credential-like environment values from every container of a pod.
fn redact_env(pod: &mut serde_json::Value) {
    for list in ["containers", "initContainers"] {
        let Some(containers) = pod.pointer_mut(&format!("/spec/{list}")).and_then(|c| c.as_array_mut())
        else {
            continue;
        };
        for c in containers {
            let Some(env) = c.get_mut("env").and_then(|e| e.as_array_mut()) else { continue };
            for e in env {
                let name = e.get("name").and_then(|n| n.as_str()).unwrap_or_default().to_string();
                if let (true, Some(v)) = (secret_like(&name), e.get_mut("value")) {
                    *v = serde_json::Value::String("(omitted by the node agent)".into());
                }
            }
        }
    }
}

/// The static pod manifests under `dir` on the node.
fn manifests(root: &Path, dir: &str, errors: &mut Vec<String>) -> Vec<StaticPod> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(join(root, dir)) else { return out };
    let mut paths: Vec<PathBuf> = rd.filter_map(Result::ok).map(|e| e.path()).collect();
    paths.sort();
    for p in paths.into_iter().take(64) {
        let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if !(name.ends_with(".yaml") || name.ends_with(".yml") || name.ends_with(".json"))
            || name.starts_with('.')
        {
            continue;
        }
        let on_node = format!("{}/{name}", dir.trim_end_matches('/'));
        let text = match std::fs::metadata(&p) {
            Ok(m) if m.is_file() && m.len() <= 1 << 20 => std::fs::read_to_string(&p),
            Ok(_) => continue,
            Err(e) => Err(e),
        };
        match text
            .map_err(|e| e.to_string())
            .and_then(|t| serde_yaml::from_str::<serde_json::Value>(&t).map_err(|e| e.to_string()))
        {
            Ok(mut pod) if pod.get("spec").is_some() => {
                redact_env(&mut pod);
                out.push(StaticPod { path: on_node, pod });
            }
            Ok(_) => errors.push(format!("{on_node}: not a pod manifest")),
            Err(e) => errors.push(format!("{on_node}: {e}")),
        }
    }
    out
}
