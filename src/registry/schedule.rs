//! When a cluster is scanned: an interval, a cron expression, or the configured default.
//!
//! Cron expressions are standard 5-field crontab lines (`min hour dom mon dow`, UTC) read as
//! cron(8) reads them, by the `croner` crate: 0 and 7 are Sunday, 1 is Monday, and when both the
//! day of month and the day of week are restricted a day matching either one is due.

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
    Cron(Box<croner::Cron>),
}

impl Schedule {
    /// Parse a stored schedule: an interval, a 5-field crontab expression (`min hour dom mon dow`),
    /// or neither for `default`.
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
                if fields != 5 {
                    return Err(ScheduleError::Cron(
                        expr.to_string(),
                        format!("a crontab line has 5 fields (minute hour day-of-month month day-of-week), not {fields}"),
                    ));
                }
                croner::Cron::from_str(expr)
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
            Schedule::Cron(s) => {
                s.find_next_occurrence(&now, false).unwrap_or(now + chrono::Duration::days(365))
            }
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

    fn next(expr: &str, now: DateTime<Utc>) -> DateTime<Utc> {
        Schedule::parse(None, Some(expr), Duration::from_secs(3600)).unwrap().next_after(now)
    }

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
    }

    #[test]
    fn day_of_week_follows_crontab_with_sunday_as_0_or_7_and_monday_as_1() {
        // Wednesday 2 December 2026, 15:00 UTC (1 January 2026 was a Thursday).
        let now = at(2026, 12, 2, 15, 0);
        assert_eq!(next("0 2 * * 1", now), at(2026, 12, 7, 2, 0), "Monday");
        assert_eq!(next("0 2 * * 0", now), at(2026, 12, 6, 2, 0), "Sunday as 0");
        assert_eq!(next("0 2 * * 7", now), at(2026, 12, 6, 2, 0), "Sunday as 7");
        assert_eq!(next("30 4 * * 1-5", at(2026, 12, 4, 5, 0)), at(2026, 12, 7, 4, 30), "Friday → Monday");
    }

    #[test]
    fn day_of_month_or_day_of_week_is_due_as_in_cron_8() {
        // "the 15th, or any Friday": from Wednesday 2 December the next is Friday 4 December, then
        // the 15th (a Tuesday) comes before the Friday after Friday 11th.
        let now = at(2026, 12, 2, 15, 0);
        assert_eq!(next("0 0 15 * 5", now), at(2026, 12, 4, 0, 0));
        assert_eq!(next("0 0 15 * 5", at(2026, 12, 11, 1, 0)), at(2026, 12, 15, 0, 0));
        // Only the day of month restricted: the 1st of the next month.
        assert_eq!(next("0 6 1 * *", now), at(2027, 1, 1, 6, 0));
        // Month names and a leap day.
        assert_eq!(next("0 0 29 feb *", now), at(2028, 2, 29, 0, 0));
    }

    #[test]
    fn bad_schedules_are_refused_with_a_reason() {
        let d = Duration::from_secs(60);
        assert!(Schedule::parse(None, Some("every tuesday"), d)
            .unwrap_err()
            .to_string()
            .contains("not a valid cron"));
        assert!(Schedule::parse(Some(0), None, d).is_err());
        assert!(Schedule::parse(None, Some("0 0 2 * * 1"), d).unwrap_err().to_string().contains("5 fields"));
        assert!(Schedule::parse(None, Some("0 2 * * 8"), d).is_err());
        assert!(Schedule::parse(Some(60), Some("* * * * *"), d)
            .unwrap_err()
            .to_string()
            .contains("not both"));
    }
}
