//! Validated names and labels for the registry and users: parsed once at the edge (API, CLI, UI),
//! trusted inside.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

// The rules below, as the regular expressions the OpenAPI document publishes (`web::api::contract`);
// the test `published_patterns_agree_with_the_validators` holds the two together.

/// A cluster or group name.
pub const CLUSTER_NAME_PATTERN: &str = "^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$";
/// A label key.
pub const LABEL_KEY_PATTERN: &str = "^[a-z0-9][a-z0-9._/-]{0,62}$";
/// A label value: printable (no control characters), at most [`MAX_LABEL_VALUE_CHARS`].
pub const LABEL_VALUE_PATTERN: &str = "^[^\\x00-\\x1f\\x7f-\\x9f]{0,128}$";
/// A label filter, `key=value[,key=value…]` (empty: no filter).
pub const LABEL_FILTER_PATTERN: &str =
    "^([ \\t]*[a-z0-9][a-z0-9._/-]{0,62}[ \\t]*=[^,\\x00-\\x1f\\x7f-\\x9f]{0,128}\
     (,[ \\t]*[a-z0-9][a-z0-9._/-]{0,62}[ \\t]*=[^,\\x00-\\x1f\\x7f-\\x9f]{0,128}){0,31})?$";
/// A local user's login name.
pub const USERNAME_PATTERN: &str = "^[a-z0-9._@-]{1,64}$";
/// An API token's name: printable, not only spaces, at most [`MAX_TOKEN_NAME_CHARS`].
pub const TOKEN_NAME_PATTERN: &str =
    "^[^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f][^\\x00-\\x1f\\x7f-\\x9f]*$";
/// The most labels a cluster may carry.
pub const MAX_LABELS: usize = 32;
/// The longest label value, in characters.
pub const MAX_LABEL_VALUE_CHARS: usize = 128;
/// The longest API token name, in characters.
pub const MAX_TOKEN_NAME_CHARS: usize = 100;
/// The shortest password, in characters.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// The longest password, in characters (argon2's input stays bounded).
pub const MAX_PASSWORD_CHARS: usize = 1024;

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
        if map.len() > MAX_LABELS {
            return Err(format!("too many labels ({}); at most {MAX_LABELS} are allowed", map.len()));
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
            if v.chars().count() > MAX_LABEL_VALUE_CHARS || v.chars().any(|c| c.is_control()) {
                return Err(format!(
                    "invalid value for label `{k}`: at most {MAX_LABEL_VALUE_CHARS} printable characters"
                ));
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

/// A new password: at least [`MIN_PASSWORD_CHARS`] characters, at most [`MAX_PASSWORD_CHARS`].
pub fn validate_password(p: &str) -> Result<(), String> {
    let chars = p.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(format!("the password is too short: use at least {MIN_PASSWORD_CHARS} characters"));
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(format!("the password is too long: at most {MAX_PASSWORD_CHARS} characters"));
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

    /// The patterns the OpenAPI document publishes accept exactly what the validators accept.
    #[test]
    fn published_patterns_agree_with_the_validators() {
        let re = |p: &str| regex::Regex::new(p).unwrap();
        let long = |n: usize| "a".repeat(n);
        let names = ["a", "prod-eu.1", "Prod", "-x", "x-", ".x", "a b", "é", "", "0", &long(63), &long(64)];
        let name_re = re(CLUSTER_NAME_PATTERN);
        for n in names {
            assert_eq!(name_re.is_match(n), n.parse::<ClusterName>().is_ok(), "cluster name {n:?}");
        }
        let user_re = re(USERNAME_PATTERN);
        for n in ["alice", "a.b@c_d-e", "Alice", "", "a b", "ü", &long(64), &long(65)] {
            assert_eq!(user_re.is_match(n), n.parse::<Username>().is_ok(), "username {n:?}");
        }
        let (key_re, value_re) = (re(LABEL_KEY_PATTERN), re(LABEL_VALUE_PATTERN));
        let keys = ["env", "app.kubernetes.io/name", "a_b", "Env", "-x", "", "ä", &long(63), &long(64)];
        for k in keys {
            let map = BTreeMap::from([(k.to_string(), "v".to_string())]);
            assert_eq!(key_re.is_match(k), Labels::try_from(map).is_ok(), "label key {k:?}");
        }
        let values = [
            "",
            "prod",
            "a b",
            "ünïcode",
            "tab\there",
            "nul\0",
            "\u{85}",
            &"é".repeat(128),
            &"é".repeat(129),
        ];
        for v in values {
            let map = BTreeMap::from([("k".to_string(), v.to_string())]);
            assert_eq!(value_re.is_match(v), Labels::try_from(map).is_ok(), "label value {v:?}");
        }
        // The filter pattern admits only filters the parser takes.
        let filter_re = re(LABEL_FILTER_PATTERN);
        for f in [
            "env=prod",
            " env = a b ",
            "env=prod,owner=team-a",
            "env=",
            "k=a=b",
            "Env=x",
            "env",
            ",",
            "x=\u{a0}",
        ] {
            if filter_re.is_match(f) {
                assert!(Labels::from_pairs(f.split(',')).is_ok(), "label filter {f:?}");
            }
        }
        assert!(filter_re.is_match("env=prod,owner=team-a") && filter_re.is_match(""));
        let too_many = (0..=MAX_LABELS).map(|i| format!("k{i}=v")).collect::<Vec<_>>().join(",");
        assert!(!filter_re.is_match(&too_many) && Labels::from_pairs(too_many.split(',')).is_err());
        let token_re = re(TOKEN_NAME_PATTERN);
        for (t, ok) in [("ci", true), (" ci ", true), ("   ", false), ("", false), ("a\u{7}b", false)] {
            assert_eq!(token_re.is_match(t), ok, "token name {t:?}");
        }
        for p in [long(MIN_PASSWORD_CHARS - 1), long(MIN_PASSWORD_CHARS), "é".repeat(MAX_PASSWORD_CHARS)] {
            let chars = p.chars().count();
            let in_bounds = (MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&chars);
            assert_eq!(validate_password(&p).is_ok(), in_bounds, "password of {chars} characters");
        }
        assert!(validate_password(&long(MAX_PASSWORD_CHARS + 1)).is_err());
    }
}
