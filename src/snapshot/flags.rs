//! Command-line flags of a component, read the way the component reads them.
//!
//! The Kubernetes components parse their command lines with `pflag`, etcd with Go's `flag`
//! package; both agree on what matters here:
//! - a flag's *kind* decides what a repeat means: a scalar keeps the last occurrence, a slice
//!   (`StringSlice`, `StringArray`) appends every occurrence, a map (`mapStringBool`,
//!   `mapStringString`) merges key by key with later keys winning. The kinds come from the
//!   components' own flag definitions ([`kind_of`]); a flag not in the table is a scalar;
//! - a boolean flag takes its value only as `--flag=value` (Go `strconv.ParseBool` spellings);
//!   `--flag value` is `true` followed by a stray argument, which the components refuse at start-up;
//! - a non-boolean flag written `--flag value` takes the next token, whatever it looks like.
//!
//! Commands wrapped in `sh -c` / `bash -c` are split with POSIX shell rules ([`shell_words`]);
//! a value built from a `$VAR` expansion cannot be known from the manifest and reads as unknown.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::ComponentKind;

/// One flag occurrence: name without the leading dashes and its value (`None` for a bare flag).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flag {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Why this occurrence cannot be read as the component reads it (a shell expansion, a
    /// boolean followed by a bare word, a missing argument), when it cannot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unreadable: Option<String>,
}

/// The program whose flag table applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Program {
    Component(ComponentKind),
    Kubelet,
}

impl Program {
    fn name(self) -> &'static str {
        match self {
            Program::Component(k) => k.as_str(),
            Program::Kubelet => "kubelet",
        }
    }
}

/// What a repeated flag means, from the component's flag definition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlagKind {
    /// `bool`: never takes the next token; `strconv.ParseBool` spellings.
    Bool,
    /// Any other single value: the last occurrence wins.
    Scalar,
    /// `StringSlice` / `StringArray`: every occurrence appends.
    Slice,
    /// `mapStringBool` / `mapStringString`: occurrences merge key by key.
    Map,
}

// The flag tables, from each component's flag definitions (Kubernetes v1.31, etcd v3.5). Only the
// non-scalar flags are listed.

const COMMON_BOOL: &[&str] = &[
    "profiling",
    "contention-profiling",
    "leader-elect",
    "help",
    "logtostderr",
    "alsologtostderr",
    "one-output",
    "skip-headers",
    "skip-log-headers",
];
const COMMON_SLICE: &[&str] = &[
    "tls-cipher-suites",
    "authorization-always-allow-paths",
    "requestheader-allowed-names",
    "requestheader-username-headers",
    "requestheader-group-headers",
    "requestheader-extra-headers-prefix",
    "requestheader-uid-headers",
    "tls-sni-cert-key",
    "vmodule",
];
const COMMON_MAP: &[&str] = &["feature-gates"];

const APISERVER_BOOL: &[&str] = &[
    "anonymous-auth",
    "allow-privileged",
    "enable-bootstrap-token-auth",
    "service-account-lookup",
    "service-account-extend-token-expiration",
    "enable-aggregator-routing",
    "enable-priority-and-fairness",
    "enable-garbage-collector",
    "enable-logs-handler",
    "audit-log-compress",
    "encryption-provider-config-automatic-reload",
    "delete-collection-workers-enabled",
    "watch-cache",
    "authentication-token-webhook-cache-authorized",
    "aggregator-reject-forwarding-redirect",
    "kubelet-https",
    "endpoint-reconciler-type-enabled",
];
const APISERVER_SLICE: &[&str] = &[
    "authorization-mode",
    "enable-admission-plugins",
    "disable-admission-plugins",
    "admission-control",
    "service-account-key-file",
    "service-account-issuer",
    "api-audiences",
    "cors-allowed-origins",
    "etcd-servers",
    "etcd-servers-overrides",
    "kubelet-preferred-address-types",
    "oidc-signing-algs",
    "watch-cache-sizes",
    "strict-transport-security-directives",
    "authorization-webhook-version",
];
const APISERVER_MAP: &[&str] = &["runtime-config", "oidc-required-claim"];

const CONTROLLER_MANAGER_BOOL: &[&str] = &[
    "use-service-account-credentials",
    "allocate-node-cidrs",
    "configure-cloud-routes",
    "enable-dynamic-provisioning",
    "enable-hostpath-provisioner",
    "enable-garbage-collector",
    "enable-taint-manager",
];
const CONTROLLER_MANAGER_SLICE: &[&str] = &["controllers"];

const SCHEDULER_BOOL: &[&str] = &[];

const ETCD_BOOL: &[&str] = &[
    "client-cert-auth",
    "peer-client-cert-auth",
    "auto-tls",
    "peer-auto-tls",
    "enable-pprof",
    "strict-reconfig-check",
    "pre-vote",
    "force-new-cluster",
    "enable-v2",
    "experimental-initial-corrupt-check",
    "experimental-enable-lease-checkpoint",
    "client-crl-file-check",
    "enable-log-rotation",
];

const KUBELET_BOOL: &[&str] = &[
    "anonymous-auth",
    "authentication-token-webhook",
    "make-iptables-util-chains",
    "protect-kernel-defaults",
    "rotate-certificates",
    "rotate-server-certificates",
    "serialize-image-pulls",
    "fail-swap-on",
    "seccomp-default",
    "enable-server",
    "enable-debugging-handlers",
    "register-node",
    "cgroups-per-qos",
    "enable-controller-attach-detach",
    "kernel-memcg-notification",
    "keep-terminated-pod-volumes",
    "localstorage-capacity-isolation",
    "register-schedulable",
    "exit-on-lock-contention",
];
const KUBELET_SLICE: &[&str] =
    &["allowed-unsafe-sysctls", "cluster-dns", "enforce-node-allocatable", "register-with-taints", "node-ip"];
const KUBELET_MAP: &[&str] =
    &["node-labels", "system-reserved", "kube-reserved", "eviction-hard", "eviction-soft"];

const PROXY_BOOL: &[&str] = &["masquerade-all", "bind-address-hard-fail", "cleanup", "init-only"];
const PROXY_SLICE: &[&str] = &["nodeport-addresses", "ipvs-exclude-cidrs"];

/// The kind of a flag of `program` (a flag not in its table is a scalar).
pub fn kind_of(program: Program, name: &str) -> FlagKind {
    let (bools, slices, maps): (&[&str], &[&str], &[&str]) = match program {
        Program::Component(ComponentKind::KubeApiserver) => (APISERVER_BOOL, APISERVER_SLICE, APISERVER_MAP),
        Program::Component(ComponentKind::KubeControllerManager) => {
            (CONTROLLER_MANAGER_BOOL, CONTROLLER_MANAGER_SLICE, &[])
        }
        Program::Component(ComponentKind::KubeScheduler) => (SCHEDULER_BOOL, &[], &[]),
        // etcd uses Go's `flag` package: its list flags (`--cipher-suites`, URLs) replace on repeat.
        Program::Component(ComponentKind::Etcd) => {
            return if ETCD_BOOL.contains(&name) { FlagKind::Bool } else { FlagKind::Scalar };
        }
        Program::Component(ComponentKind::KubeProxy) => (PROXY_BOOL, PROXY_SLICE, &[]),
        Program::Kubelet => (KUBELET_BOOL, KUBELET_SLICE, KUBELET_MAP),
    };
    if bools.contains(&name) || COMMON_BOOL.contains(&name) {
        FlagKind::Bool
    } else if slices.contains(&name) || COMMON_SLICE.contains(&name) {
        FlagKind::Slice
    } else if maps.contains(&name) || COMMON_MAP.contains(&name) {
        FlagKind::Map
    } else {
        FlagKind::Scalar
    }
}

/// Go's `strconv.ParseBool`: `1 t T TRUE true True` and `0 f F FALSE false False`.
pub fn parse_go_bool(value: &str) -> Option<bool> {
    match value {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// One command-line word, and whether the shell would expand a variable or command in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    pub text: String,
    pub expanded: bool,
}

impl Word {
    pub fn literal(text: impl Into<String>) -> Word {
        Word { text: text.into(), expanded: false }
    }
}

/// Split a POSIX shell script into words (quotes removed, by the `shlex` crate), drop a leading
/// `exec`, and mark the words holding a `$` expansion outside single quotes. `None` when the
/// script does not split (an unterminated quote).
pub fn shell_words(script: &str) -> Option<Vec<Word>> {
    let texts = shlex::split(script)?;
    let expanded = expansion_marks(script);
    let mut words: Vec<Word> = texts
        .into_iter()
        .enumerate()
        .map(|(i, text)| Word {
            // When the two readings disagree on the word count, assume the worst.
            expanded: expanded.as_ref().map_or(text.contains('$'), |e| e.get(i).copied().unwrap_or(true)),
            text,
        })
        .collect();
    if words.first().is_some_and(|w| w.text == "exec") {
        words.remove(0);
    }
    Some(words)
}

/// For each shell word, whether it contains a `$` that the shell expands (outside single quotes,
/// not backslash-escaped). `None` when the word count cannot be established.
fn expansion_marks(script: &str) -> Option<Vec<bool>> {
    let mut marks = Vec::new();
    let mut in_word = false;
    let mut current = false;
    let mut chars = script.chars();
    let (mut single, mut double) = (false, false);
    while let Some(c) = chars.next() {
        if single {
            if c == '\'' {
                single = false;
            }
            continue;
        }
        match c {
            '\\' => {
                in_word = true;
                chars.next();
            }
            '\'' if !double => {
                in_word = true;
                single = true;
            }
            '"' => {
                in_word = true;
                double = !double;
            }
            '$' | '`' => {
                in_word = true;
                current = true;
            }
            c if c.is_whitespace() && !double => {
                if in_word {
                    marks.push(current);
                }
                in_word = false;
                current = false;
            }
            _ => in_word = true,
        }
    }
    if single || double {
        return None;
    }
    if in_word {
        marks.push(current);
    }
    Some(marks)
}

/// The name of the entry that makes every flag unknown (a command line that cannot be split).
const WHOLE_COMMAND_LINE: &str = "*";

/// The flags of one process in command-line order (every occurrence kept).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(transparent)]
pub struct Flags(pub Vec<Flag>);

/// A flag's effective value as the component reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlagValue {
    /// Not on the command line.
    Absent,
    /// Set: the effective value (slices joined with commas, maps as `k=v` pairs in key order,
    /// booleans as `true`/`false`) and the occurrences as written, for evidence sentences.
    Set { value: String, shown: String },
    /// On the command line, but its value cannot be known: why.
    Unknown(String),
}

impl Flags {
    /// Parse `command` + `args` tokens without knowing the program: the program is recognised from
    /// the first token (the binary), else every flag is read as a scalar and a bare flag followed
    /// by a word takes that word.
    pub fn parse<S: AsRef<str>>(tokens: &[S]) -> Flags {
        let program = tokens.first().and_then(|t| {
            let t = t.as_ref();
            if t.rsplit('/').next() == Some("kubelet") {
                Some(Program::Kubelet)
            } else if t.starts_with('-') {
                None
            } else {
                ComponentKind::recognize(t).map(Program::Component)
            }
        });
        let words: Vec<Word> = tokens.iter().map(|t| Word::literal(t.as_ref())).collect();
        Flags::parse_words(program, &words)
    }

    /// Parse the words of a command line of `program` (when known) as pflag does.
    pub fn parse_words(program: Option<Program>, words: &[Word]) -> Flags {
        let mut flags: Vec<Flag> = Vec::new();
        // A flag written without `=` whose value may be the next word.
        let mut pending: Option<usize> = None;
        let mut iter = words.iter().peekable();
        let mut first = true;
        while let Some(word) = iter.next() {
            let token = word.text.trim();
            let is_first = std::mem::take(&mut first);
            if token.is_empty() {
                continue;
            }
            if token == "--" {
                break;
            }
            let expansion = || {
                format!(
                    "its value `{}` is built by a shell expansion, which the manifest alone does not determine",
                    word.text
                )
            };
            if let Some(stripped) = token.strip_prefix("--").or_else(|| token.strip_prefix('-')) {
                if stripped.is_empty() {
                    continue;
                }
                let (name, value) = match stripped.split_once('=') {
                    Some((n, v)) => (n.to_string(), Some(v.to_string())),
                    None => (stripped.to_string(), None),
                };
                let kind = program.map(|p| kind_of(p, &name));
                let unreadable = word.expanded.then(expansion);
                match (value, kind) {
                    (Some(v), _) => {
                        flags.push(Flag { name, value: Some(v), unreadable });
                        pending = None;
                    }
                    (None, Some(FlagKind::Bool)) => {
                        flags.push(Flag { name, value: None, unreadable });
                        // A bare word after a boolean is a stray argument, never its value.
                        pending = None;
                        if let Some(next) = iter.peek().filter(|n| !n.text.starts_with('-')) {
                            let last = flags.last_mut().expect("just pushed");
                            last.unreadable = Some(format!(
                                "--{} is a boolean flag and does not take `{}` as its value (only \
                                 --{}={} would): `{}` is a stray argument and {} refuses to start with it",
                                last.name,
                                next.text,
                                last.name,
                                next.text,
                                next.text,
                                program.map(Program::name).unwrap_or("the component")
                            ));
                            iter.next();
                        }
                    }
                    (None, Some(FlagKind::Slice | FlagKind::Map)) => {
                        // pflag: a non-boolean flag without `=` takes the next word, whatever it is.
                        match iter.next() {
                            Some(next) => {
                                let unreadable = unreadable.or_else(|| {
                                    next.expanded.then(|| {
                                        format!(
                                            "its value `{}` is built by a shell expansion, which the \
                                             manifest alone does not determine",
                                            next.text
                                        )
                                    })
                                });
                                flags.push(Flag { name, value: Some(next.text.clone()), unreadable });
                            }
                            None => {
                                let why = format!(
                                    "--{name} needs an argument and has none: {} refuses to start",
                                    program.map(Program::name).unwrap_or("the component")
                                );
                                flags.push(Flag { name, value: None, unreadable: Some(why) });
                            }
                        }
                        pending = None;
                    }
                    // An unlisted flag may be a boolean the table does not know: it takes the next
                    // word only when that word is not a flag.
                    (None, Some(FlagKind::Scalar) | None) => {
                        flags.push(Flag { name, value: None, unreadable });
                        pending = Some(flags.len() - 1);
                    }
                }
            } else if let Some(idx) = pending.take() {
                flags[idx].value = Some(token.to_string());
                if word.expanded {
                    flags[idx].unreadable = Some(expansion());
                }
            } else if !is_first {
                // A positional argument: the components take none. It is not a flag; the
                // preceding flag's reading is what checks care about.
            }
        }
        Flags(flags)
    }

    /// Parse a command line split on whitespace (e.g. a `ps` line).
    pub fn parse_line(line: &str) -> Flags {
        let tokens: Vec<&str> = line.split_whitespace().collect();
        Flags::parse(&tokens)
    }

    /// Parse a container's `command` + `args` for `program`: a `sh -c` / `bash -c` wrapper is
    /// split as the shell would (see [`shell_words`]).
    pub fn from_container(program: Program, tokens: &[String]) -> Flags {
        let is_shell = |t: &str| matches!(t.rsplit('/').next(), Some("sh" | "bash" | "ash" | "dash"));
        if tokens.len() >= 3 && is_shell(&tokens[0]) && tokens[1] == "-c" {
            return match shell_words(&tokens[2]) {
                Some(words) => Flags::parse_words(Some(program), &words),
                None => Flags(vec![Flag {
                    name: WHOLE_COMMAND_LINE.into(),
                    value: None,
                    unreadable: Some(
                        "the shell script of its command does not parse (unterminated quote)".into(),
                    ),
                }]),
            };
        }
        let words: Vec<Word> = tokens.iter().map(Word::literal).collect();
        Flags::parse_words(Some(program), &words)
    }

    /// The last written value of a flag, ignoring its kind (a bare flag reads as `"true"`).
    /// Checks read [`Flags::value`], which applies the component's reading.
    pub fn get(&self, name: &str) -> Option<&str> {
        let name = name.trim_start_matches('-');
        self.0.iter().rev().find(|f| f.name == name).map(|f| f.value.as_deref().unwrap_or("true"))
    }

    pub fn contains(&self, name: &str) -> bool {
        let name = name.trim_start_matches('-');
        self.0.iter().any(|f| f.name == name)
    }

    /// The effective value of flag `name` as `program` reads it.
    pub fn value(&self, program: Program, name: &str) -> FlagValue {
        let name = name.trim_start_matches('-');
        if let Some(why) =
            self.0.iter().find(|f| f.name == WHOLE_COMMAND_LINE).and_then(|f| f.unreadable.as_ref())
        {
            return FlagValue::Unknown(format!("--{name} cannot be read: {why}"));
        }
        let occurrences: Vec<&Flag> = self.0.iter().filter(|f| f.name == name).collect();
        if occurrences.is_empty() {
            return FlagValue::Absent;
        }
        if let Some(why) = occurrences.iter().find_map(|f| f.unreadable.as_ref()) {
            return FlagValue::Unknown(format!("--{name} cannot be read: {why}"));
        }
        let shown_one = |f: &Flag| match &f.value {
            Some(v) => format!("--{name}={v}"),
            None => format!("--{name}"),
        };
        match kind_of(program, name) {
            FlagKind::Bool => {
                let last = occurrences.last().expect("not empty");
                match last.value.as_deref() {
                    None => FlagValue::Set { value: "true".into(), shown: format!("--{name}") },
                    Some(v) => match parse_go_bool(v) {
                        Some(b) => FlagValue::Set { value: b.to_string(), shown: shown_one(last) },
                        None => FlagValue::Unknown(format!(
                            "--{name}={v} is not a Go boolean (1, t, T, TRUE, true, True, 0, f, F, FALSE, \
                             false, False): {} refuses to start",
                            program.name()
                        )),
                    },
                }
            }
            FlagKind::Scalar => {
                let last = occurrences.last().expect("not empty");
                match &last.value {
                    Some(v) => FlagValue::Set { value: v.clone(), shown: shown_one(last) },
                    None => FlagValue::Unknown(format!("--{name} is given without a value")),
                }
            }
            FlagKind::Slice => {
                let mut elements: Vec<&str> = Vec::new();
                for f in &occurrences {
                    let Some(v) = &f.value else {
                        return FlagValue::Unknown(format!("--{name} is given without a value"));
                    };
                    elements.extend(v.split(',').map(str::trim).filter(|s| !s.is_empty()));
                }
                FlagValue::Set { value: elements.join(","), shown: Self::shown_all(&occurrences, shown_one) }
            }
            FlagKind::Map => {
                let mut merged: BTreeMap<&str, &str> = BTreeMap::new();
                for f in &occurrences {
                    let Some(v) = &f.value else {
                        return FlagValue::Unknown(format!("--{name} is given without a value"));
                    };
                    for pair in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                        merged.insert(k.trim(), v.trim());
                    }
                }
                let value = merged.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",");
                FlagValue::Set { value, shown: Self::shown_all(&occurrences, shown_one) }
            }
        }
    }

    fn shown_all(occurrences: &[&Flag], shown_one: impl Fn(&Flag) -> String) -> String {
        let parts: Vec<String> = occurrences.iter().map(|f| shown_one(f)).collect();
        if parts.len() == 1 {
            parts.into_iter().next().expect("one")
        } else {
            format!("{} (repeats append)", parts.join(" "))
        }
    }

    /// The effective value when it is known (`None` when absent or unknown).
    pub fn known(&self, program: Program, name: &str) -> Option<Cow<'_, str>> {
        match self.value(program, name) {
            FlagValue::Set { value, .. } => Some(Cow::Owned(value)),
            _ => None,
        }
    }

    /// Set or replace a flag (used by fixture builders).
    pub fn set(&mut self, name: &str, value: Option<&str>) {
        let name = name.trim_start_matches('-');
        self.0.retain(|f| f.name != name);
        self.push(name, value);
    }

    /// Append one occurrence, keeping earlier ones (a repeated flag).
    pub fn push(&mut self, name: &str, value: Option<&str>) {
        let name = name.trim_start_matches('-');
        self.0.push(Flag { name: name.to_string(), value: value.map(str::to_string), unreadable: None });
    }

    /// Remove every occurrence of a flag.
    pub fn remove(&mut self, name: &str) {
        let name = name.trim_start_matches('-');
        self.0.retain(|f| f.name != name);
    }

    /// A comma-separated flag value (last occurrence) split into trimmed, non-empty elements.
    pub fn list(&self, name: &str) -> Option<Vec<&str>> {
        self.get(name).map(|v| v.split(',').map(str::trim).filter(|s| !s.is_empty()).collect())
    }

    pub fn iter(&self) -> impl Iterator<Item = &Flag> {
        self.0.iter()
    }
}

#[cfg(test)]
#[path = "flags_tests.rs"]
mod tests;
