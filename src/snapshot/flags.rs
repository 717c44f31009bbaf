//! Command-line flags of a component, parsed the way the Go `pflag` package reads them.

use serde::{Deserialize, Serialize};

/// One flag occurrence: name without the leading dashes and its value (`None` for a bare flag).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flag {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// The flags of one process in command-line order. Lookups return the last occurrence, as
/// `pflag` does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(transparent)]
pub struct Flags(pub Vec<Flag>);

impl Flags {
    /// Parse `command` + `args` tokens. Accepts `--flag=value`, `--flag value`, `-flag=value` and
    /// bare boolean flags (`--flag`, value `true`). A token that does not start with `-` is the
    /// value of the preceding bare flag; the program name (first token without a dash) is skipped.
    pub fn parse<S: AsRef<str>>(tokens: &[S]) -> Flags {
        let mut flags: Vec<Flag> = Vec::new();
        let mut pending: Option<usize> = None;
        for token in tokens {
            let token = token.as_ref().trim();
            if token.is_empty() {
                continue;
            }
            if token == "--" {
                break;
            }
            if let Some(stripped) = token.strip_prefix("--").or_else(|| token.strip_prefix('-')) {
                if stripped.is_empty() {
                    continue;
                }
                let (name, value) = match stripped.split_once('=') {
                    Some((n, v)) => (n.to_string(), Some(v.to_string())),
                    None => (stripped.to_string(), None),
                };
                let has_value = value.is_some();
                flags.push(Flag { name, value });
                pending = if has_value { None } else { Some(flags.len() - 1) };
            } else if let Some(idx) = pending.take() {
                flags[idx].value = Some(token.to_string());
            }
            // else: program name or a positional argument: not a flag.
        }
        Flags(flags)
    }

    /// Parse a shell-style command line split on whitespace (e.g. a `ps` line).
    pub fn parse_line(line: &str) -> Flags {
        let tokens: Vec<&str> = line.split_whitespace().collect();
        Flags::parse(&tokens)
    }

    /// Effective value of a flag: the last occurrence wins; a bare flag reads as `"true"`.
    pub fn get(&self, name: &str) -> Option<&str> {
        let name = name.trim_start_matches('-');
        self.0.iter().rev().find(|f| f.name == name).map(|f| f.value.as_deref().unwrap_or("true"))
    }

    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Set or replace a flag (used by fixture builders and the kubeadm-config merge).
    pub fn set(&mut self, name: &str, value: Option<&str>) {
        let name = name.trim_start_matches('-');
        self.0.retain(|f| f.name != name);
        self.0.push(Flag { name: name.to_string(), value: value.map(str::to_string) });
    }

    /// Remove every occurrence of a flag.
    pub fn remove(&mut self, name: &str) {
        let name = name.trim_start_matches('-');
        self.0.retain(|f| f.name != name);
    }

    /// A comma-separated flag value split into trimmed, non-empty elements.
    pub fn list(&self, name: &str) -> Option<Vec<&str>> {
        self.get(name).map(|v| v.split(',').map(str::trim).filter(|s| !s.is_empty()).collect())
    }

    pub fn iter(&self) -> impl Iterator<Item = &Flag> {
        self.0.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equals_space_and_bare_forms_are_all_understood() {
        let f = Flags::parse(&[
            "kube-apiserver",
            "--anonymous-auth=false",
            "--authorization-mode",
            "Node,RBAC",
            "--profiling",
            "--v=2",
        ]);
        assert_eq!(f.get("anonymous-auth"), Some("false"));
        assert_eq!(f.get("--authorization-mode"), Some("Node,RBAC"));
        assert_eq!(f.get("profiling"), Some("true"));
        assert_eq!(f.get("v"), Some("2"));
        assert_eq!(f.get("token-auth-file"), None);
        assert_eq!(f.list("authorization-mode"), Some(vec!["Node", "RBAC"]));
    }

    #[test]
    fn the_last_occurrence_of_a_flag_wins() {
        let f = Flags::parse(&["--profiling=true", "--profiling=false"]);
        assert_eq!(f.get("profiling"), Some("false"));
    }

    #[test]
    fn bare_flag_followed_by_a_flag_reads_true() {
        let f = Flags::parse(&["etcd", "--client-cert-auth", "--cert-file=/a"]);
        assert_eq!(f.get("client-cert-auth"), Some("true"));
        assert_eq!(f.get("cert-file"), Some("/a"));
    }
}
