//! The flag-rule evaluator: CIS v1.12 (kube-bench) test semantics over one component's settings.
//!
//! A [`Rule`] is a list of [`Test`]s combined with AND or OR, exactly as kube-bench's `bin_op`.
//! Each test names a setting (a command-line flag, optionally an `ETCD_*` environment variable or a
//! kubelet config path — the caller's lookup decides) and an [`Op`]. Semantics reproduced:
//! - `present`: the setting is found; `not set`: it is absent;
//! - any comparison on an absent setting fails (so `--authorization-mode` absent fails 1.2.6 unless
//!   an OR branch says `not set`);
//! - `eq`/`noteq` ignore case for `true`/`false`; `gte` needs an integer (anything else fails);
//! - `has`/`nothave` look for an element of the comma-separated value (the CIS text means
//!   "includes"; kube-bench's substring search agrees on every real plugin and mode name);
//! - `valid_elements`: every element must be in the allowed set, and an empty value fails.
//!
//! On top of that, Palisade knows each setting's compiled-in default ([`Default`]) and refuses to
//! let the benchmark's "not set" shortcut hide a bad default: when a rule passes only because a
//! setting is absent but its default would fail the value test, the verdict is `warn`; when a
//! rule fails only because a setting is absent but the default satisfies it (kubelet config keys
//! defaulted by the KubeletConfiguration API), the verdict is `pass`. The evidence always says
//! which default was assumed.

/// How a test judges a setting's value.
#[derive(Debug, Clone, Copy)]
pub enum Op {
    /// The setting must be set (any value).
    Present,
    /// The setting must be absent.
    NotSet,
    Eq(&'static str),
    NotEq(&'static str),
    /// The comma-separated value must include this element.
    Has(&'static str),
    /// The comma-separated value must not include this element.
    NotHave(&'static str),
    /// An integer value at least this large.
    Gte(i64),
    /// Every comma-separated element must be one of these (an empty value fails).
    ValidElements(&'static [&'static str]),
    /// A Go duration that is not zero (`0`, `0s`, `0h0m0s` are zero).
    NonZeroDuration,
}

/// One test item: a setting and what it must satisfy.
#[derive(Debug, Clone, Copy)]
pub struct Test {
    /// Flag name without dashes, e.g. `anonymous-auth`.
    pub flag: &'static str,
    pub op: Op,
}

/// How a rule's tests combine (kube-bench `bin_op`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Combine {
    All,
    Any,
}

/// A CIS test block: tests joined by AND or OR.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    pub combine: Combine,
    pub tests: &'static [Test],
}

/// A setting's value as observed, with the words that say where it was seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub value: String,
    /// e.g. `--anonymous-auth=true`, `ETCD_CLIENT_CERT_AUTH=true in its environment`,
    /// `authentication.anonymous.enabled: false in its config`.
    pub shown: String,
}

/// The compiled-in default of a setting, and the words that justify it.
#[derive(Debug, Clone)]
pub struct Default {
    pub value: String,
    /// e.g. "the kube-apiserver default (v1.31)".
    pub why: String,
}

/// The outcome of evaluating a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Pass,
    Fail,
    /// Passes the benchmark's letter (setting absent) but the assumed default does not satisfy it.
    Caveat,
}

/// Verdict plus the evidence sentence fragments.
#[derive(Debug, Clone)]
pub struct Evaluation {
    pub outcome: Outcome,
    /// What was observed for each distinct setting, e.g. "--anonymous-auth=true",
    /// "without --token-auth-file".
    pub observed: Vec<String>,
}

fn is_bool(s: &str) -> bool {
    s.eq_ignore_ascii_case("true") || s.eq_ignore_ascii_case("false")
}

fn elements(value: &str) -> impl Iterator<Item = &str> {
    value.split(',').map(str::trim).filter(|e| !e.is_empty())
}

/// Parse a Go duration string and tell whether it is zero. `None` when it is not a duration.
pub fn duration_is_zero(value: &str) -> Option<bool> {
    let v = value.trim().trim_matches('"');
    if v.is_empty() {
        return None;
    }
    if let Ok(n) = v.parse::<f64>() {
        return Some(n == 0.0);
    }
    let mut digits = String::new();
    let mut any_unit = false;
    let mut nonzero = false;
    let mut chars = v.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() || c == '.' {
            digits.push(c);
        } else if c.is_ascii_alphabetic() || c == 'µ' {
            let mut unit = c.to_string();
            while let Some(&n) = chars.peek() {
                if n.is_ascii_alphabetic() {
                    unit.push(n);
                    chars.next();
                } else {
                    break;
                }
            }
            if !matches!(unit.as_str(), "ns" | "us" | "µs" | "ms" | "s" | "m" | "h") {
                return None;
            }
            let n: f64 = digits.parse().ok()?;
            nonzero |= n != 0.0;
            digits.clear();
            any_unit = true;
        } else {
            return None;
        }
    }
    if !digits.is_empty() || !any_unit {
        return None;
    }
    Some(!nonzero)
}

/// Whether a value satisfies a comparison op (not `Present`/`NotSet`, which are about presence).
pub fn satisfies(op: Op, value: &str) -> bool {
    match op {
        Op::Present => true,
        Op::NotSet => false,
        Op::Eq(want) => {
            if is_bool(value) || is_bool(want) {
                value.eq_ignore_ascii_case(want)
            } else {
                value == want
            }
        }
        Op::NotEq(want) => !satisfies(Op::Eq(want), value),
        Op::Has(want) => elements(value).any(|e| e == want),
        Op::NotHave(want) => !elements(value).any(|e| e == want),
        Op::Gte(min) => value.trim().parse::<i64>().map(|n| n >= min).unwrap_or(false),
        Op::ValidElements(allowed) => {
            let mut any = false;
            for e in elements(value) {
                any = true;
                if !allowed.contains(&e) {
                    return false;
                }
            }
            any
        }
        Op::NonZeroDuration => duration_is_zero(value) == Some(false),
    }
}

/// The expectation a rule states, in words ("--anonymous-auth=false", "--token-auth-file not set").
pub fn expectation(rule: &Rule) -> String {
    expectation_of(rule, true)
}

/// The value tests of a rule only (its `not set` branches left out), for caveats.
pub fn value_expectation(rule: &Rule) -> String {
    expectation_of(rule, false)
}

fn expectation_of(rule: &Rule, with_not_set: bool) -> String {
    let parts: Vec<String> = rule
        .tests
        .iter()
        .filter(|t| with_not_set || !matches!(t.op, Op::NotSet))
        .map(|t| {
            let f = t.flag;
            match t.op {
                Op::Present => format!("{} set", show_name(f)),
                Op::NotSet => format!("{} not set", show_name(f)),
                Op::Eq(v) => format!("{}={}", show_name(f), v),
                Op::NotEq(v) => format!("{} not {}", show_name(f), v),
                Op::Has(v) => format!("{} including {}", show_name(f), v),
                Op::NotHave(v) => format!("{} without {}", show_name(f), v),
                Op::Gte(n) => format!("{} of at least {}", show_name(f), n),
                Op::ValidElements(_) => format!("{} limited to strong values", show_name(f)),
                Op::NonZeroDuration => format!("{} not 0", show_name(f)),
            }
        })
        .collect();
    parts.join(if rule.combine == Combine::All { " and " } else { " or " })
}

/// `anonymous-auth` → `--anonymous-auth`; feature-gate style names (no dash, capitalized) stay.
pub fn show_name(flag: &str) -> String {
    if flag.chars().next().is_some_and(|c| c.is_ascii_uppercase()) {
        flag.to_string()
    } else {
        format!("--{flag}")
    }
}

/// Evaluate a rule. `lookup` finds a setting (flag, env, config); `default` gives its default when
/// known (used only when the setting is absent).
pub fn evaluate(
    rule: &Rule,
    lookup: &dyn Fn(&str) -> Option<Found>,
    default: &dyn Fn(&str) -> Option<Default>,
) -> Evaluation {
    let mut observed: Vec<String> = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    // Literal verdict per test, and verdict when absent settings read as their defaults.
    let mut literal = Vec::new();
    let mut effective = Vec::new();
    let mut used_default = false;
    // Each setting's default is looked up once: it may be formatted text.
    let defaults: Vec<Option<Default>> =
        rule.tests.iter().map(|t| if lookup(t.flag).is_none() { default(t.flag) } else { None }).collect();
    for (i, test) in rule.tests.iter().enumerate() {
        let found = lookup(test.flag);
        if !seen.contains(&test.flag) {
            seen.push(test.flag);
            match &found {
                Some(f) => observed.push(f.shown.clone()),
                None => match &defaults[i] {
                    Some(d) => {
                        observed.push(format!(
                            "without {} (default {}: {})",
                            show_name(test.flag),
                            d.value,
                            d.why
                        ));
                    }
                    None => observed.push(format!("without {}", show_name(test.flag))),
                },
            }
        }
        let lit = match (&found, test.op) {
            (None, Op::NotSet) => true,
            (None, _) => false,
            (Some(_), Op::NotSet) => false,
            (Some(f), op) => satisfies(op, &f.value),
        };
        literal.push(lit);
        let eff = match (&found, test.op) {
            (Some(_), _) => Some(lit),
            (None, Op::NotSet) => None, // neutral: judged through the default's value tests
            (None, op) => defaults[i].as_ref().map(|d| {
                used_default = true;
                satisfies(op, &d.value)
            }),
        };
        effective.push(eff);
    }
    let combine = |v: &[bool]| match rule.combine {
        Combine::All => v.iter().all(|b| *b),
        Combine::Any => v.iter().any(|b| *b),
    };
    let literal_pass = combine(&literal);
    // Effective verdict: absent settings replaced by their defaults. `None` (unknown default or a
    // `not set` branch) keeps the literal verdict for that test.
    let eff: Vec<bool> = effective
        .iter()
        .zip(rule.tests.iter())
        .zip(literal.iter())
        .zip(defaults.iter())
        .filter_map(|(((e, test), lit), def)| match (e, test.op) {
            (Some(b), _) => Some(*b),
            (None, Op::NotSet) => {
                // A `not set` branch on an absent setting: if the default is known, only the value
                // tests decide; otherwise the benchmark's literal reading stands.
                if def.is_some() {
                    None
                } else {
                    Some(*lit)
                }
            }
            (None, _) => Some(*lit),
        })
        .collect();
    let effective_pass = if eff.is_empty() { literal_pass } else { combine(&eff) };
    let outcome = match (literal_pass, effective_pass) {
        (true, true) => Outcome::Pass,
        (true, false) => Outcome::Caveat,
        (false, true) if used_default => Outcome::Pass,
        (false, _) => Outcome::Fail,
    };
    Evaluation { outcome, observed }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::component::rule;

    fn lookup_from(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<Found> {
        move |flag: &str| {
            pairs
                .iter()
                .find(|(k, _)| *k == flag)
                .map(|(k, v)| Found { value: v.to_string(), shown: format!("--{k}={v}") })
        }
    }

    fn no_default(_: &str) -> Option<Default> {
        None
    }

    #[test]
    fn an_absent_flag_fails_a_value_test_without_an_or_branch() {
        let rule = rule!(all ["authorization-mode" => Op::NotHave("AlwaysAllow")]);
        let e = evaluate(&rule, &lookup_from(&[]), &no_default);
        assert_eq!(e.outcome, Outcome::Fail);
        assert_eq!(e.observed, vec!["without --authorization-mode"]);
    }

    #[test]
    fn an_or_branch_with_not_set_passes_an_absent_flag() {
        let rule = rule!(any [
            "enable-admission-plugins" => Op::NotHave("AlwaysAdmit"),
            "enable-admission-plugins" => Op::NotSet,
        ]);
        assert_eq!(evaluate(&rule, &lookup_from(&[]), &no_default).outcome, Outcome::Pass);
        let bad = lookup_from(&[("enable-admission-plugins", "NodeRestriction,AlwaysAdmit")]);
        assert_eq!(evaluate(&rule, &bad, &no_default).outcome, Outcome::Fail);
    }

    #[test]
    fn a_bad_default_behind_a_not_set_branch_is_a_caveat() {
        let rule = rule!(any ["bind-address" => Op::Eq("127.0.0.1"), "bind-address" => Op::NotSet]);
        let def = |_: &str| Some(Default { value: "0.0.0.0".into(), why: "compiled-in".into() });
        let e = evaluate(&rule, &lookup_from(&[]), &def);
        assert_eq!(e.outcome, Outcome::Caveat);
        assert!(e.observed[0].contains("default 0.0.0.0"), "{:?}", e.observed);
    }

    #[test]
    fn a_good_default_satisfies_a_value_test_on_an_absent_key() {
        let rule = rule!(all ["anonymous-auth" => Op::Eq("false")]);
        let def = |_: &str| Some(Default { value: "false".into(), why: "v1beta1".into() });
        assert_eq!(evaluate(&rule, &lookup_from(&[]), &def).outcome, Outcome::Pass);
        let bad = |_: &str| Some(Default { value: "true".into(), why: "flag".into() });
        assert_eq!(evaluate(&rule, &lookup_from(&[]), &bad).outcome, Outcome::Fail);
    }

    #[test]
    fn and_rules_need_every_flag() {
        let rule = rule!(all ["etcd-certfile" => Op::Present, "etcd-keyfile" => Op::Present]);
        let half = lookup_from(&[("etcd-certfile", "/a")]);
        let e = evaluate(&rule, &half, &no_default);
        assert_eq!(e.outcome, Outcome::Fail);
        assert_eq!(e.observed, vec!["--etcd-certfile=/a", "without --etcd-keyfile"]);
    }

    #[test]
    fn comparisons_follow_kube_bench() {
        assert!(satisfies(Op::Eq("false"), "FALSE"));
        assert!(!satisfies(Op::Gte(30), "thirty"));
        assert!(satisfies(Op::Gte(30), "30"));
        assert!(!satisfies(Op::Gte(30), "29"));
        assert!(satisfies(Op::Has("RBAC"), "Node,RBAC"));
        assert!(!satisfies(Op::Has("Node"), "RBAC"));
        assert!(satisfies(Op::ValidElements(&["a", "b"]), "a,b"));
        assert!(!satisfies(Op::ValidElements(&["a", "b"]), "a,c"));
        assert!(!satisfies(Op::ValidElements(&["a", "b"]), ""));
    }

    #[test]
    fn go_durations_are_parsed() {
        assert_eq!(duration_is_zero("0"), Some(true));
        assert_eq!(duration_is_zero("0s"), Some(true));
        assert_eq!(duration_is_zero("0h0m0s"), Some(true));
        assert_eq!(duration_is_zero("4h0m0s"), Some(false));
        assert_eq!(duration_is_zero("5m"), Some(false));
        assert_eq!(duration_is_zero("soon"), None);
        assert!(!satisfies(Op::NonZeroDuration, "0s"));
        assert!(satisfies(Op::NonZeroDuration, "30m"));
    }
}
