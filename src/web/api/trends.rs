//! Trends and fleet overview API: time series of score or failures for the fleet, split by
//! cluster, area, severity or group, and the latest state of every cluster. Viewers may read.

use actix_web::{get, web};
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use uuid::Uuid;

use crate::domain::Role;
use crate::store::trends::{self, ClusterOverview, Metric, Series, SplitBy, TrendQuery};
use crate::web::auth::Authenticated;
use crate::web::error::{ApiError, Problem};
use crate::web::AppState;

/// Trend parameters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct TrendParams {
    /// `score` (default) or `failures`.
    pub metric: Option<Metric>,
    /// `fleet` (default), `cluster`, `area`, `severity` or `group`.
    pub by: Option<SplitBy>,
    /// RFC 3339 start (default: `to` minus 30 days).
    pub from: Option<DateTime<Utc>>,
    /// RFC 3339 end, exclusive (default: now).
    pub to: Option<DateTime<Utc>>,
    /// Bucket size: a count and a unit (`m`, `h`, `d`, `w`), e.g. `30m`, `6h`, `1d`, `2w` (default `1d`, or as many whole days
    /// as keep a long window within 2,000 points).
    pub step: Option<String>,
    /// Comma-separated cluster ids (default: all clusters).
    pub clusters: Option<String>,
    /// Only clusters in this group.
    pub group: Option<String>,
}

/// A trend answer.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Trend {
    pub metric: Metric,
    pub by: SplitBy,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub step_seconds: i64,
    pub series: Vec<Series>,
}

/// The most buckets one trend request may ask for.
const MAX_POINTS: i64 = 2_000;

fn parse_step(text: &str) -> Result<Duration, ApiError> {
    let refuse = || {
        ApiError::BadRequest(format!(
            "step `{}` is not a count and a unit such as 30m, 6h, 1d or 2w",
            text.chars().take(40).collect::<String>()
        ))
    };
    let unit_at =
        text.len().checked_sub(1).filter(|&i| i > 0 && text.is_char_boundary(i)).ok_or_else(refuse)?;
    let (count, unit) = text.split_at(unit_at);
    if count.starts_with('0') || count.len() > 6 || !count.bytes().all(|b| b.is_ascii_digit()) {
        return Err(refuse());
    }
    let count: i64 = count.parse().map_err(|_| refuse())?;
    Ok(match unit {
        "m" => Duration::minutes(count),
        "h" => Duration::hours(count),
        "d" => Duration::days(count),
        "w" => Duration::weeks(count),
        _ => return Err(refuse()),
    })
}

/// Validate trend parameters into a query (defaults: score, whole fleet, the last 30 days by
/// day); the trends page uses the same rules.
pub fn trend_query(q: TrendParams) -> Result<TrendQuery, ApiError> {
    let mut to = q.to.unwrap_or_else(Utc::now);
    let mut from = q.from.unwrap_or(to - Duration::days(30));
    if from >= to {
        return Err(ApiError::BadRequest("`from` must be before `to`".into()));
    }
    let step = match q.step.as_deref().filter(|s| !s.is_empty()) {
        Some(text) => parse_step(text)?,
        // No step asked for: a day, or as many whole days as keep the series within MAX_POINTS.
        None => {
            let days = (to - from).num_days() + 2;
            Duration::days(((days + MAX_POINTS - 1) / MAX_POINTS).max(1))
        }
    };
    // Whole-day steps bucket by UTC day: align the window to midnight so days are not split.
    if step.num_seconds() % 86_400 == 0 {
        from = from.date_naive().and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
        let end = to.date_naive().and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
        to = if end < to { end + Duration::days(1) } else { end };
    }
    let points = (to - from).num_seconds() / step.num_seconds();
    if points > MAX_POINTS {
        return Err(ApiError::BadRequest(format!(
            "that is {points} points per series; use a larger step (at most {MAX_POINTS} points)"
        )));
    }
    let clusters = match q.clusters.as_deref().filter(|c| !c.is_empty()) {
        Some(list) => list
            .split(',')
            .map(|s| {
                s.trim()
                    .parse::<Uuid>()
                    .map_err(|_| ApiError::BadRequest(format!("`{s}` is not a cluster id")))
            })
            .collect::<Result<Vec<_>, _>>()?,
        None => Vec::new(),
    };
    Ok(TrendQuery {
        metric: q.metric.unwrap_or(Metric::Score),
        by: q.by.unwrap_or(SplitBy::Fleet),
        from,
        to,
        step,
        clusters,
        group: q.group.filter(|g| !g.is_empty()),
    })
}

/// Time series of the posture score or of failures over time.
#[utoipa::path(tag = "trends", params(TrendParams), responses(
    (status = 200, body = Trend),
    (status = 400, body = Problem),
    (status = 401, body = Problem),
))]
#[get("/api/v1/trends")]
pub async fn get_trends(
    state: web::Data<AppState>,
    who: Authenticated,
    q: web::Query<TrendParams>,
) -> Result<web::Json<Trend>, ApiError> {
    who.require(Role::Viewer)?;
    let query = trend_query(q.into_inner())?;
    let series = trends::trend(&state.pool, &query).await?;
    Ok(web::Json(Trend {
        metric: query.metric,
        by: query.by,
        from: query.from,
        to: query.to,
        step_seconds: query.step.num_seconds(),
        series,
    }))
}

/// Every cluster with its newest scan (state, error) and newest results (score, failures).
#[utoipa::path(tag = "trends", responses(
    (status = 200, body = Vec<ClusterOverview>),
    (status = 401, body = Problem),
))]
#[get("/api/v1/fleet")]
pub async fn fleet(
    state: web::Data<AppState>,
    who: Authenticated,
) -> Result<web::Json<Vec<ClusterOverview>>, ApiError> {
    who.require(Role::Viewer)?;
    Ok(web::Json(trends::fleet_overview(&state.pool).await?))
}
