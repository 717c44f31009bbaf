//! Validated names and labels for the registry and users: parsed once at the edge (API, CLI, UI),
//! trusted inside.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

fn is_dns_label_like(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && s.as_bytes()[0].is_ascii_alphanumeric()
        && s.as_bytes()[s.len() - 1].is_ascii_alphanumeric()
}

/// A cluster's name: 1–63 characters of `a-z`, `0-9`, `-`, `.`, starting and ending alphanumeric.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ClusterName(String);

impl TryFrom<String> for ClusterName {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        if is_dns_label_like(&s, 63) {
            Ok(ClusterName(s))
        } else {
            Err(format!(
                "invalid cluster name `{}`: use 1-63 lowercase letters, digits, `-` or `.`, starting and ending \
                 with a letter or digit",
                s.chars().take(80).collect::<String>()
            ))
        }
    }
}

impl std::str::FromStr for ClusterName {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        ClusterName::try_from(s.to_string())
    }
}

impl From<ClusterName> for String {
    fn from(n: ClusterName) -> String {
        n.0
    }
}

impl ClusterName {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ClusterName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A group name (free grouping of clusters, e.g. a business unit): same rules as a cluster name.
pub type GroupName = ClusterName;

/// Cluster labels (`environment`, `owner`, `region` …): at most 32, keys `[a-z0-9]` with `-_./`
/// up to 63 characters, values printable up to 128 characters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "BTreeMap<String, String>", into = "BTreeMap<String, String>")]
pub struct Labels(BTreeMap<String, String>);

impl TryFrom<BTreeMap<String, String>> for Labels {
    type Error = String;
    fn try_from(map: BTreeMap<String, String>) -> Result<Self, String> {
        if map.len() > 32 {
            return Err(format!("too many labels ({}); at most 32 are allowed", map.len()));
        }
        for (k, v) in &map {
            let key_ok = !k.is_empty()
                && k.len() <= 63
                && k.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_' | b'.' | b'/')
                })
                && k.as_bytes()[0].is_ascii_alphanumeric();
            if !key_ok {
                return Err(format!(
                    "invalid label key `{}`: use up to 63 lowercase letters, digits, `-`, `_`, `.` or `/`, \
                     starting with a letter or digit",
                    k.chars().take(80).collect::<String>()
                ));
            }
            if v.len() > 128 || v.chars().any(|c| c.is_control()) {
                return Err(format!("invalid value for label `{k}`: at most 128 printable characters"));
            }
        }
        Ok(Labels(map))
    }
}

impl From<Labels> for BTreeMap<String, String> {
    fn from(l: Labels) -> Self {
        l.0
    }
}

impl Labels {
    pub fn iter(&self) -> impl Iterator<Item = (&String, &String)> {
        self.0.iter()
    }
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }
    pub fn as_map(&self) -> &BTreeMap<String, String> {
        &self.0
    }

    /// Parse `key=value` pairs (CLI `--label`, query `label=`).
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = &'a str>) -> Result<Labels, String> {
        let mut map = BTreeMap::new();
        for pair in pairs {
            let (k, v) =
                pair.split_once('=').ok_or_else(|| format!("invalid label `{pair}`: expected key=value"))?;
            map.insert(k.trim().to_string(), v.trim().to_string());
        }
        Labels::try_from(map)
    }
}

/// A local user's login name: 1–64 characters of `a-z`, `0-9`, `-`, `_`, `.`, `@`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Username(String);

impl TryFrom<String> for Username {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        let ok = !s.is_empty()
            && s.len() <= 64
            && s.bytes().all(|b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_' | b'.' | b'@')
            });
        if ok {
            Ok(Username(s))
        } else {
            Err(format!(
                "invalid username `{}`: use 1-64 lowercase letters, digits, `-`, `_`, `.` or `@`",
                s.chars().take(80).collect::<String>()
            ))
        }
    }
}

impl std::str::FromStr for Username {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Username::try_from(s.to_string())
    }
}

impl From<Username> for String {
    fn from(n: Username) -> String {
        n.0
    }
}

impl Username {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Username {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A new password: at least 12 characters, at most 1024 (argon2 input stays bounded).
pub fn validate_password(p: &str) -> Result<(), String> {
    if p.chars().count() < 12 {
        return Err("the password is too short: use at least 12 characters".into());
    }
    if p.len() > 1024 {
        return Err("the password is too long: at most 1024 bytes".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_names_follow_dns_rules() {
        assert!("prod-eu.1".parse::<ClusterName>().is_ok());
        assert!("Prod".parse::<ClusterName>().unwrap_err().contains("invalid cluster name"));
        assert!("-x".parse::<ClusterName>().is_err());
        assert!("a".repeat(64).parse::<ClusterName>().is_err());
    }

    #[test]
    fn labels_reject_bad_keys_and_parse_pairs() {
        let l = Labels::from_pairs(["environment=prod", "owner = team-a"]).unwrap();
        assert_eq!(l.get("owner"), Some("team-a"));
        assert!(Labels::from_pairs(["Bad Key=x"]).unwrap_err().contains("invalid label key"));
        assert!(Labels::from_pairs(["novalue"]).is_err());
    }
}
