//! When a cluster is scanned: an interval, a cron expression, or the configured default.

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};

/// Why a schedule is refused, in words for the person who wrote it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error("a schedule is either an interval or a cron expression, not both")]
    Both,
    #[error("the interval must be at least 1 second, not {0}")]
    Interval(i32),
    #[error("`{0}` is not a valid cron expression: {1}")]
    Cron(String, String),
}

/// When a cluster is scanned.
#[derive(Debug, Clone)]
pub enum Schedule {
    Every(Duration),
    Cron(Box<cron::Schedule>),
}

impl Schedule {
    /// Parse a stored schedule: an interval, a cron expression (5 fields `min hour dom mon dow`, or
    /// 6–7 with seconds and year), or neither for `default`.
    pub fn parse(
        interval_seconds: Option<i32>,
        cron: Option<&str>,
        default: Duration,
    ) -> Result<Self, ScheduleError> {
        match (interval_seconds, cron) {
            (Some(_), Some(_)) => Err(ScheduleError::Both),
            (Some(s), None) if s >= 1 => Ok(Schedule::Every(Duration::from_secs(s as u64))),
            (Some(s), None) => Err(ScheduleError::Interval(s)),
            (None, Some(expr)) => {
                let fields = expr.split_whitespace().count();
                let full = if fields == 5 { format!("0 {expr}") } else { expr.to_string() };
                cron::Schedule::from_str(&full)
                    .map(|s| Schedule::Cron(Box::new(s)))
                    .map_err(|e| ScheduleError::Cron(expr.to_string(), e.to_string()))
            }
            (None, None) => Ok(Schedule::Every(default)),
        }
    }

    /// The next due time after `now`.
    pub fn next_after(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        match self {
            Schedule::Every(d) => now + chrono::Duration::from_std(*d).unwrap_or(chrono::Duration::hours(1)),
            Schedule::Cron(s) => s.after(&now).next().unwrap_or(now + chrono::Duration::days(365)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn an_interval_schedule_is_due_one_interval_later() {
        let now = Utc.with_ymd_and_hms(2026, 3, 1, 10, 0, 0).unwrap();
        let s = Schedule::parse(Some(900), None, Duration::from_secs(3600)).unwrap();
        assert_eq!(s.next_after(now), now + chrono::Duration::minutes(15));
        let d = Schedule::parse(None, None, Duration::from_secs(3600)).unwrap();
        assert_eq!(d.next_after(now), now + chrono::Duration::hours(1));
    }

    #[test]
    fn a_five_field_cron_expression_is_read_as_minutes_hours_days() {
        let now = Utc.with_ymd_and_hms(2026, 3, 1, 10, 7, 30).unwrap();
        let s = Schedule::parse(None, Some("*/15 * * * *"), Duration::from_secs(3600)).unwrap();
        assert_eq!(s.next_after(now), Utc.with_ymd_and_hms(2026, 3, 1, 10, 15, 0).unwrap());
        let nightly = Schedule::parse(None, Some("30 2 * * *"), Duration::from_secs(3600)).unwrap();
        assert_eq!(nightly.next_after(now), Utc.with_ymd_and_hms(2026, 3, 2, 2, 30, 0).unwrap());
    }

    #[test]
    fn bad_schedules_are_refused_with_a_reason() {
        let d = Duration::from_secs(60);
        assert!(Schedule::parse(None, Some("every tuesday"), d)
            .unwrap_err()
            .to_string()
            .contains("not a valid cron"));
        assert!(Schedule::parse(Some(0), None, d).is_err());
        assert!(Schedule::parse(Some(60), Some("* * * * *"), d)
            .unwrap_err()
            .to_string()
            .contains("not both"));
    }
}
