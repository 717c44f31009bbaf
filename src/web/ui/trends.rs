//! The trends page at `/trends`: the posture score or failures over time for the fleet, split by
//! cluster, area, severity or group, chosen with a GET form. The series come from the trends store
//! (the same query and validation as `GET /api/v1/trends`); the chart is SVG laid out by
//! [`super::chart`], with every value also in a table.

use actix_web::{get, web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::{Duration, Utc};
use serde::Deserialize;

use super::chart::{line_chart, Chart};
use super::{page, ui_user, PageContext, UiError};
use crate::store::dashboard;
use crate::store::trends::{self, ClusterChoice, Metric, Series, SplitBy};
use crate::web::api::trends::{trend_query, TrendParams};
use crate::web::AppState;

/// The most lines one chart draws (one colour each); the rest are listed in the table.
const MAX_LINES: usize = 8;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(trends_page);
}

/// The form's fields (every one optional).
#[derive(Debug, Deserialize, Default)]
pub struct TrendsForm {
    pub metric: Option<String>,
    pub by: Option<String>,
    pub days: Option<i64>,
    pub cluster: Option<String>,
    pub group: Option<String>,
}

/// One choice of a select.
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

fn choices(options: &[(&str, &str)], current: &str) -> Vec<Choice> {
    options
        .iter()
        .map(|(v, l)| Choice { value: v.to_string(), label: l.to_string(), selected: *v == current })
        .collect()
}

/// A row of the value table: a series with its values, oldest first.
pub struct TableRow {
    pub label: String,
    pub values: Vec<String>,
    pub latest: String,
    pub drawn: bool,
}

#[derive(Template)]
#[template(path = "trends.html")]
struct TrendsPage {
    ctx: PageContext,
    metrics: Vec<Choice>,
    splits: Vec<Choice>,
    ranges: Vec<Choice>,
    clusters: Vec<Choice>,
    groups: Vec<Choice>,
    title: String,
    chart: Chart,
    dates: Vec<String>,
    /// The table shows every `stride`-th day.
    stride: usize,
    rows: Vec<TableRow>,
    hidden_lines: usize,
    has_clusters: bool,
}

fn parse_metric(s: &str) -> Result<Metric, UiError> {
    match s {
        "" | "score" => Ok(Metric::Score),
        "failures" => Ok(Metric::Failures),
        o => Err(UiError::bad_request(format!("unknown metric `{o}`: choose score or failures"))),
    }
}

fn parse_split(s: &str) -> Result<SplitBy, UiError> {
    match s {
        "" | "fleet" => Ok(SplitBy::Fleet),
        "cluster" => Ok(SplitBy::Cluster),
        "area" => Ok(SplitBy::Area),
        "severity" => Ok(SplitBy::Severity),
        "group" => Ok(SplitBy::Group),
        o => Err(UiError::bad_request(format!(
            "unknown split `{o}`: choose fleet, cluster, area, severity or group"
        ))),
    }
}

fn fmt_value(v: Option<f64>, metric: Metric) -> String {
    match (v, metric) {
        (None, _) => "—".into(),
        (Some(v), Metric::Score) => format!("{v:.1}"),
        (Some(v), Metric::Failures) => format!("{v:.0}"),
    }
}

/// Keep the lines worth drawing: the worst latest values first (lowest score, most failures).
fn pick_lines(mut series: Vec<Series>, metric: Metric, by: SplitBy) -> (Vec<Series>, Vec<Series>) {
    if !matches!(by, SplitBy::Cluster | SplitBy::Group) || series.len() <= MAX_LINES {
        return (series, Vec::new());
    }
    let latest = |s: &Series| s.points.iter().rev().find_map(|p| p.value);
    series.sort_by(|a, b| {
        let (a, b) = (latest(a), latest(b));
        match metric {
            Metric::Score => a.unwrap_or(f64::MAX).total_cmp(&b.unwrap_or(f64::MAX)),
            Metric::Failures => b.unwrap_or(-1.0).total_cmp(&a.unwrap_or(-1.0)),
        }
    });
    let rest = series.split_off(MAX_LINES);
    (series, rest)
}

#[get("/trends")]
async fn trends_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Query<TrendsForm>,
) -> Result<HttpResponse, UiError> {
    let who = ui_user(&state, &req).await?;
    let form = form.into_inner();
    let metric_s = form.metric.clone().unwrap_or_default();
    let by_s = form.by.clone().unwrap_or_default();
    let metric = parse_metric(&metric_s)?;
    let by = parse_split(&by_s)?;
    let days = form.days.unwrap_or(30);
    if ![7, 30, 90, 365].contains(&days) {
        return Err(UiError::bad_request("choose a range of 7, 30, 90 or 365 days"));
    }
    let cluster = form.cluster.clone().unwrap_or_default();
    let group = form.group.clone().unwrap_or_default();
    let now = Utc::now();
    let query = trend_query(TrendParams {
        metric: Some(metric),
        by: Some(by),
        from: Some(now - Duration::days(days - 1)),
        to: Some(now),
        // Daily points for every range: the chart draws them all, and fleet-wide lines read the
        // running day totals (one row a day) instead of every cluster's rows.
        step: Some("1d".into()),
        clusters: Some(cluster.clone()).filter(|c| !c.is_empty()),
        group: Some(group.clone()).filter(|g| !g.is_empty()),
    })?;
    let fleet: Vec<ClusterChoice> = trends::cluster_choices(&state.pool).await?;
    let series = trends::trend(&state.pool, &query).await?;
    // The table under the chart: every day up to 90 days, else every 7th day (ending today).
    let stride = if days > 90 { 7 } else { 1 };
    let sampled = |n: usize| (0..n).filter(move |i| (n - 1 - i) % stride == 0);
    let dates: Vec<String> = series
        .first()
        .map(|s| sampled(s.points.len()).map(|i| s.points[i].t.format("%Y-%m-%d").to_string()).collect())
        .unwrap_or_default();
    let (drawn, rest) = pick_lines(series, metric, by);
    let (fixed, y_label, unit) = match metric {
        Metric::Score => (Some(100.0), "score (%)", "%"),
        Metric::Failures => (None, "failed results", ""),
    };
    let chart = line_chart(&drawn, fixed, y_label, unit);
    let row = |s: &Series, drawn: bool| TableRow {
        label: s.label.clone(),
        values: sampled(s.points.len()).map(|i| fmt_value(s.points[i].value, metric)).collect(),
        latest: fmt_value(s.points.iter().rev().find_map(|p| p.value), metric),
        drawn,
    };
    let rows: Vec<TableRow> =
        drawn.iter().map(|s| row(s, true)).chain(rest.iter().map(|s| row(s, false))).collect();

    let mut group_names: Vec<String> = fleet.iter().filter_map(|c| c.group.clone()).collect();
    group_names.sort();
    group_names.dedup();
    let mut cluster_choices =
        vec![Choice { value: String::new(), label: "all clusters".into(), selected: cluster.is_empty() }];
    cluster_choices.extend(fleet.iter().map(|c| Choice {
        value: c.id.to_string(),
        label: c.name.clone(),
        selected: c.id.to_string() == cluster,
    }));
    let mut group_choices =
        vec![Choice { value: String::new(), label: "all groups".into(), selected: group.is_empty() }];
    group_choices.extend(group_names.iter().map(|g| Choice {
        value: g.clone(),
        label: g.clone(),
        selected: *g == group,
    }));

    let title = format!(
        "{} over the last {days} days{}",
        match metric {
            Metric::Score => "Score",
            Metric::Failures => "Failures",
        },
        match by {
            SplitBy::Fleet => String::new(),
            SplitBy::Cluster => ", by cluster".into(),
            SplitBy::Area => ", by area".into(),
            SplitBy::Severity => ", by severity".into(),
            SplitBy::Group => ", by group".into(),
        }
    );
    let collected = dashboard::newest_results_at(&state.pool).await?;
    let ctx = PageContext::new(&who, "trends").collected(collected);
    Ok(page(&TrendsPage {
        ctx,
        metrics: choices(
            &[("score", "score"), ("failures", "failures")],
            if metric_s.is_empty() { "score" } else { &metric_s },
        ),
        splits: choices(
            &[
                ("fleet", "whole fleet"),
                ("cluster", "cluster"),
                ("area", "area"),
                ("severity", "severity"),
                ("group", "group"),
            ],
            if by_s.is_empty() { "fleet" } else { &by_s },
        ),
        ranges: choices(
            &[("7", "7 days"), ("30", "30 days"), ("90", "90 days"), ("365", "1 year")],
            &days.to_string(),
        ),
        clusters: cluster_choices,
        groups: group_choices,
        title,
        chart,
        dates,
        stride,
        hidden_lines: rest.len(),
        rows,
        has_clusters: !fleet.is_empty(),
    }))
}
