//! Fault injection: per-route latency, error statuses, dropped connections and slow bodies.
//!
//! Rules come from `sim.yaml`, from `palisade sim --fault`, or from tests through
//! [`super::SimHandle::set_faults`]. The first rule that matches a request applies; a rule with
//! `times` applies to that many matching requests and then stops (e.g. drop the first connection
//! to `/api/v1/pods` so a client's retry can be tested).

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::RwLock;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// A body sent in small pieces with a pause between them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SlowBody {
    pub chunk_bytes: usize,
    pub interval_ms: u64,
}

/// One fault rule. A rule matches a request when its `resource` (plural name, or `nodes/proxy`)
/// and/or its `path` prefix match; a rule naming neither matches every request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FaultRule {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Wait this long before answering.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
    /// Answer with this HTTP status and a Kubernetes `Status` body instead of the result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Close the connection without answering.
    #[serde(default)]
    pub drop: bool,
    /// Send the (real) body slowly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slow_body: Option<SlowBody>,
    /// Apply to the first N matching requests only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u32>,
}

impl FaultRule {
    /// A rule for every request to `resource`.
    pub fn on_resource(resource: &str) -> Self {
        Self { resource: Some(resource.to_string()), ..Default::default() }
    }

    /// A rule for every request whose path starts with `prefix`.
    pub fn on_path(prefix: &str) -> Self {
        Self { path: Some(prefix.to_string()), ..Default::default() }
    }

    pub fn latency(mut self, d: Duration) -> Self {
        self.latency_ms = Some(d.as_millis() as u64);
        self
    }

    pub fn status(mut self, code: u16) -> Self {
        self.status = Some(code);
        self
    }

    pub fn dropped(mut self) -> Self {
        self.drop = true;
        self
    }

    pub fn slow_body(mut self, chunk_bytes: usize, interval: Duration) -> Self {
        self.slow_body =
            Some(SlowBody { chunk_bytes: chunk_bytes.max(1), interval_ms: interval.as_millis() as u64 });
        self
    }

    pub fn times(mut self, n: u32) -> Self {
        self.times = Some(n);
        self
    }

    fn matches(&self, resource: Option<&str>, path: &str) -> bool {
        self.resource.as_deref().is_none_or(|r| Some(r) == resource)
            && self.path.as_deref().is_none_or(|p| path.starts_with(p))
    }

    /// Parse the CLI form: `resource=pods,latency=2s`, `path=/version,status=503`,
    /// `resource=secrets,drop,times=1`, `resource=pods,slow=1024/100ms`.
    pub fn parse(spec: &str) -> Result<Self, String> {
        let mut rule = FaultRule::default();
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, value) = part.split_once('=').unwrap_or((part, ""));
            let need = |what: &str| -> Result<&str, String> {
                if value.is_empty() {
                    Err(format!("fault `{spec}`: `{key}` needs a value ({what})"))
                } else {
                    Ok(value)
                }
            };
            match key {
                "resource" => rule.resource = Some(need("a resource such as pods or nodes/proxy")?.to_string()),
                "path" => rule.path = Some(need("a path prefix such as /api/v1/pods")?.to_string()),
                "latency" => {
                    let d = humantime::parse_duration(need("a duration such as 500ms")?)
                        .map_err(|e| format!("fault `{spec}`: latency `{value}`: {e}"))?;
                    rule.latency_ms = Some(d.as_millis() as u64);
                }
                "status" => {
                    let code: u16 = need("an HTTP status such as 500")?
                        .parse()
                        .map_err(|_| format!("fault `{spec}`: status `{value}` is not a number"))?;
                    if !(400..=599).contains(&code) {
                        return Err(format!("fault `{spec}`: status {code} is not an error status (400-599)"));
                    }
                    rule.status = Some(code);
                }
                "drop" => rule.drop = true,
                "slow" => {
                    let (bytes, every) = need("BYTES/INTERVAL such as 1024/100ms")?
                        .split_once('/')
                        .ok_or_else(|| format!("fault `{spec}`: slow wants BYTES/INTERVAL, e.g. 1024/100ms"))?;
                    let chunk_bytes: usize =
                        bytes.parse().map_err(|_| format!("fault `{spec}`: `{bytes}` is not a byte count"))?;
                    let interval = humantime::parse_duration(every)
                        .map_err(|e| format!("fault `{spec}`: interval `{every}`: {e}"))?;
                    rule = rule.slow_body(chunk_bytes, interval);
                }
                "times" => {
                    rule.times = Some(
                        need("a count")?.parse().map_err(|_| format!("fault `{spec}`: times `{value}` is not a count"))?,
                    )
                }
                other => {
                    return Err(format!(
                        "fault `{spec}`: unknown key `{other}` (use resource, path, latency, status, drop, slow, times)"
                    ))
                }
            }
        }
        if rule.latency_ms.is_none() && rule.status.is_none() && !rule.drop && rule.slow_body.is_none() {
            return Err(format!("fault `{spec}` does nothing: add latency=, status=, drop or slow="));
        }
        Ok(rule)
    }
}

/// The live set of rules with how often each has fired.
#[derive(Debug, Default)]
pub struct Faults {
    rules: RwLock<Vec<(FaultRule, AtomicU32)>>,
}

impl Faults {
    pub fn new(rules: Vec<FaultRule>) -> Self {
        let f = Self::default();
        f.set(rules);
        f
    }

    /// Replace every rule.
    pub fn set(&self, rules: Vec<FaultRule>) {
        let mut guard = self.rules.write().unwrap_or_else(|e| e.into_inner());
        *guard = rules.into_iter().map(|r| (r, AtomicU32::new(0))).collect();
    }

    /// The rule that applies to this request, if any (counting it against `times`).
    pub fn take(&self, resource: Option<&str>, path: &str) -> Option<FaultRule> {
        let guard = self.rules.read().unwrap_or_else(|e| e.into_inner());
        for (rule, hits) in guard.iter() {
            if !rule.matches(resource, path) {
                continue;
            }
            match rule.times {
                None => return Some(rule.clone()),
                Some(limit) => {
                    // fetch_update so two concurrent requests cannot both take the last use.
                    let taken = hits
                        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| (n < limit).then_some(n + 1));
                    if taken.is_ok() {
                        return Some(rule.clone());
                    }
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_fault_specs_parse_into_rules() {
        let r = FaultRule::parse("resource=pods,latency=2s,times=1").unwrap();
        assert_eq!(r, FaultRule::on_resource("pods").latency(Duration::from_secs(2)).times(1));
        let r = FaultRule::parse("path=/api/v1/secrets,slow=10/5ms").unwrap();
        assert_eq!(r.slow_body, Some(SlowBody { chunk_bytes: 10, interval_ms: 5 }));
        assert!(FaultRule::parse("resource=pods").unwrap_err().contains("does nothing"));
        assert!(FaultRule::parse("resource=pods,status=200").unwrap_err().contains("not an error status"));
        assert!(FaultRule::parse("resource=pods,frobnicate").unwrap_err().contains("unknown key"));
    }

    #[test]
    fn a_rule_with_times_stops_after_that_many_requests() {
        let faults = Faults::new(vec![FaultRule::on_resource("pods").dropped().times(2)]);
        assert!(faults.take(Some("pods"), "/api/v1/pods").is_some());
        assert!(faults.take(Some("nodes"), "/api/v1/nodes").is_none());
        assert!(faults.take(Some("pods"), "/api/v1/pods").is_some());
        assert!(faults.take(Some("pods"), "/api/v1/pods").is_none());
    }
}
