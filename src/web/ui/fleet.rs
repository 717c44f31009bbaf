//! The fleet overview at `/` (the page after login): every cluster with its score, per-area status,
//! critical and high counts (failing resources, not results), its newest scan and a 30-day
//! sparkline (SVG built here, emitted by the template); the worst checks across the filtered
//! clusters; filters by label and group. Worst score first (or by name), 50 clusters a page: the
//! page's lookups are made for its rows only.

use std::collections::HashMap;

use actix_web::{get, web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::{Duration, NaiveDate, Utc};
use serde::Deserialize;
use uuid::Uuid;

use super::{fmt_opt_time, page, ui_user, PageContext, UiError};
use crate::domain::{Area, Labels, Status};
use crate::history::Counts;
use crate::store::dashboard::{self, CheckFailures};
use crate::store::trends::{self, ClusterOverview, FleetOrder, FleetScope};
use crate::web::AppState;

/// Days the sparkline covers.
const SPARK_DAYS: i64 = 30;
const SPARK_W: f64 = 120.0;
const SPARK_H: f64 = 24.0;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(fleet_page);
}

/// One area's status on a cluster, as text and a CSS class (colour is never the only cue).
pub struct AreaStatus {
    pub area: &'static str,
    pub text: String,
    pub class: &'static str,
}

impl AreaStatus {
    /// The status of `area` in a scan's counts: failing (with the count), warnings, passing, only
    /// undecided, or not collected.
    pub fn of(counts: Option<&Counts>, area: Area) -> AreaStatus {
        let (text, class) = match counts {
            None => ("not scanned".to_string(), "unknown"),
            Some(c) => {
                let (fail, warn, pass, unknown) = (
                    c.area(area, Status::Fail),
                    c.area(area, Status::Warn),
                    c.area(area, Status::Pass),
                    c.area(area, Status::Unknown),
                );
                if fail > 0 {
                    (format!("fail ({fail})"), "bad")
                } else if warn > 0 {
                    (format!("warn ({warn})"), "warn")
                } else if pass > 0 {
                    ("pass".to_string(), "ok")
                } else if unknown > 0 {
                    ("unknown".to_string(), "unknown")
                } else {
                    ("n/a".to_string(), "unknown")
                }
            }
        };
        AreaStatus { area: area.as_str(), text, class }
    }
}

/// A server-rendered sparkline: an SVG polyline of daily scores (0–100).
pub struct Sparkline {
    pub points: String,
    /// The newest point, drawn as a dot (a single day's score is a dot alone).
    pub last_x: String,
    pub last_y: String,
    /// Text equivalent for screen readers and print.
    pub summary: String,
}

impl Sparkline {
    /// `days` are (day, score) pairs; `from` is the first day shown.
    pub fn build(from: NaiveDate, days: &[(NaiveDate, f32)]) -> Option<Sparkline> {
        if days.is_empty() {
            return None;
        }
        let step = SPARK_W / (SPARK_DAYS - 1) as f64;
        let xy: Vec<(String, String)> = days
            .iter()
            .map(|(d, s)| {
                let x = ((*d - from).num_days() as f64 * step).clamp(0.0, SPARK_W);
                let y = SPARK_H - (f64::from(*s).clamp(0.0, 100.0) / 100.0 * (SPARK_H - 2.0)) - 1.0;
                (format!("{x:.1}"), format!("{y:.1}"))
            })
            .collect();
        let points = xy.iter().map(|(x, y)| format!("{x},{y}")).collect::<Vec<_>>().join(" ");
        let (last_x, last_y) = xy[xy.len() - 1].clone();
        let (first, last) = (days[0].1, days[days.len() - 1].1);
        let summary = format!("score {first:.1} on {} to {last:.1} on {}", days[0].0, days[days.len() - 1].0);
        Some(Sparkline { points, last_x, last_y, summary })
    }
}

/// One row of the overview.
pub struct FleetRow {
    pub c: ClusterOverview,
    pub areas: Vec<AreaStatus>,
    pub critical: i64,
    pub high: i64,
    pub last_scan: String,
    pub spark: Option<Sparkline>,
}

#[derive(Template)]
#[template(path = "fleet.html")]
struct FleetPage {
    ctx: PageContext,
    rows: Vec<FleetRow>,
    worst: Vec<CheckFailures>,
    groups: Vec<String>,
    label: String,
    group: String,
    sort: &'static str,
    /// Clusters matching the filters, and live clusters in all.
    matched: i64,
    total: i64,
    /// 1-based numbers of the first and last row shown.
    first: i64,
    last: i64,
    prev: Option<String>,
    next: Option<String>,
    spark_w: f64,
    spark_h: f64,
}

/// Clusters per page of the overview.
pub const FLEET_PAGE_ROWS: i64 = 50;

#[derive(Deserialize, Default)]
struct FleetQuery {
    label: Option<String>,
    group: Option<String>,
    sort: Option<String>,
    page: Option<i64>,
}

impl FleetQuery {
    /// This query with `page` replaced, as a URL.
    fn with_page(&self, page: i64) -> String {
        let mut out = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in [("label", &self.label), ("group", &self.group), ("sort", &self.sort)] {
            if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
                out.append_pair(k, v);
            }
        }
        out.append_pair("page", &page.to_string());
        format!("/?{}", out.finish())
    }
}

#[get("/")]
async fn fleet_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    q: web::Query<FleetQuery>,
) -> Result<HttpResponse, UiError> {
    let who = ui_user(&state, &req).await?;
    let label = q.label.clone().unwrap_or_default();
    let group = q.group.clone().unwrap_or_default();
    let labels = if label.trim().is_empty() {
        Labels::default()
    } else {
        Labels::from_pairs(label.split(',').filter(|p| !p.trim().is_empty())).map_err(UiError::bad_request)?
    };
    let (order, sort) = match q.sort.as_deref().unwrap_or("") {
        "" | "worst" => (FleetOrder::Worst, "worst"),
        "name" => (FleetOrder::Name, "name"),
        other => return Err(UiError::bad_request(format!("unknown sort `{other}`; use worst or name"))),
    };
    let page_no = q.page.unwrap_or(1);
    if !(1..=100_000).contains(&page_no) {
        return Err(UiError::bad_request("page must be a number from 1"));
    }
    let scope = FleetScope { labels, group: Some(group.clone()).filter(|g| !g.is_empty()) };
    let offset = (page_no - 1) * FLEET_PAGE_ROWS;
    let fleet = trends::fleet_page(&state.pool, &scope, order, offset, FLEET_PAGE_ROWS).await?;
    let total = if scope.is_everything() {
        fleet.matched
    } else {
        trends::count_clusters(&state.pool, &FleetScope::default()).await?
    };
    let groups = trends::groups(&state.pool).await?;
    let ids: Vec<Uuid> = fleet.clusters.iter().map(|c| c.cluster_id).collect();
    let counts: HashMap<Uuid, Counts> = dashboard::latest_counts(&state.pool, &ids)
        .await?
        .into_iter()
        .filter_map(|(id, cells)| Counts::from_slice(&cells).ok().map(|c| (id, c)))
        .collect();
    let crit_high: HashMap<Uuid, (i64, i64)> = dashboard::critical_high_resources(&state.pool, &ids)
        .await?
        .into_iter()
        .map(|(id, c, h)| (id, (c, h)))
        .collect();
    let from = Utc::now().date_naive() - Duration::days(SPARK_DAYS - 1);
    let mut daily: HashMap<Uuid, Vec<(NaiveDate, f32)>> = HashMap::new();
    for (id, day, score) in dashboard::daily_scores(&state.pool, &ids, from).await? {
        if let Some(s) = score {
            daily.entry(id).or_default().push((day, s));
        }
    }
    let worst = dashboard::failing_checks(&state.pool, &scope, 10).await?;
    let collected = dashboard::newest_results_at(&state.pool).await?;
    let shown = fleet.clusters.len() as i64;
    let rows = fleet
        .clusters
        .into_iter()
        .map(|c| {
            let counts = counts.get(&c.cluster_id);
            let (critical, high) = crit_high.get(&c.cluster_id).copied().unwrap_or_default();
            FleetRow {
                areas: Area::ALL.iter().map(|a| AreaStatus::of(counts, *a)).collect(),
                critical,
                high,
                last_scan: fmt_opt_time(&c.last_scan_at),
                spark: daily.get(&c.cluster_id).and_then(|d| Sparkline::build(from, d)),
                c,
            }
        })
        .collect();
    let ctx = PageContext::new(&who, "fleet").collected(collected);
    Ok(page(&FleetPage {
        ctx,
        rows,
        worst,
        groups,
        label,
        group,
        sort,
        matched: fleet.matched,
        total,
        first: if shown == 0 { 0 } else { offset + 1 },
        last: offset + shown,
        prev: (page_no > 1).then(|| q.with_page(page_no - 1)),
        next: (offset + shown < fleet.matched).then(|| q.with_page(page_no + 1)),
        spark_w: SPARK_W,
        spark_h: SPARK_H,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sparkline_spans_thirty_days_with_higher_scores_drawn_higher() {
        let from = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        let s = Sparkline::build(from, &[(from, 0.0), (from + Duration::days(29), 100.0)]).unwrap();
        assert_eq!(s.points, "0.0,23.0 120.0,1.0");
        assert_eq!((s.last_x.as_str(), s.last_y.as_str()), ("120.0", "1.0"));
        assert!(s.summary.contains("0.0 on 2026-01-01"), "{}", s.summary);
        assert!(Sparkline::build(from, &[]).is_none());
    }

    #[test]
    fn an_area_with_failures_says_so_in_words() {
        let mut c = Counts::default();
        c.add(Area::Tls, crate::domain::Severity::High, Status::Fail);
        c.add(Area::Host, crate::domain::Severity::High, Status::Pass);
        assert_eq!(AreaStatus::of(Some(&c), Area::Tls).text, "fail (1)");
        assert_eq!(AreaStatus::of(Some(&c), Area::Host).text, "pass");
        assert_eq!(AreaStatus::of(Some(&c), Area::Network).text, "n/a");
        assert_eq!(AreaStatus::of(None, Area::Network).text, "not scanned");
    }
}
