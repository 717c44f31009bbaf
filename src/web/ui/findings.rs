//! The findings explorer `/findings`: filter by cluster, area, severity, status, check, namespace
//! and age; sort; paginate (in SQL); view one row per finding or one row per resource (its checks
//! as tags). `/findings.csv` and `/findings.json` take the same parameters and download exactly
//! the rows the page shows.
//!
//! CSV cells are quoted when they hold a comma, quote or line break, and a cell starting with
//! `=`, `+`, `-`, `@`, tab or carriage return is prefixed with `'` so a spreadsheet never runs it
//! as a formula (evidence text comes from the scanned clusters).

use actix_web::http::header;
use actix_web::{get, web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::{Duration, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{fmt_opt_time, fmt_time, page, ui_user, PageContext, UiError};
use crate::domain::{Area, Severity};
use crate::store::dashboard::{self, ExplorerFilter, ExplorerSort, ResourceRisks};
use crate::store::findings::{Finding, ResourceRow};
use crate::store::trends;
use crate::web::AppState;

const PER_PAGE: [i64; 4] = [25, 100, 250, 500];
const DEFAULT_PER_PAGE: i64 = 100;
const STATUSES: [&str; 5] = ["open", "fail", "warn", "resolved", "all"];
const AGES: [(&str, &str); 4] = [
    ("1d", "first seen today"),
    ("7d", "in the last 7 days"),
    ("30d", "in the last 30 days"),
    ("older", "more than 30 days ago"),
];
const SORTS: [(&str, &str); 4] = [
    ("severity", "severity, then check"),
    ("first_seen", "newest first"),
    ("cluster", "cluster"),
    ("check", "check"),
];

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(findings_page).service(findings_csv).service(findings_json);
}

/// The explorer's query string (every field optional; empty means "any").
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ExplorerQuery {
    #[serde(default)]
    pub cluster: String,
    #[serde(default)]
    pub area: String,
    #[serde(default)]
    pub severity: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub check: String,
    #[serde(default)]
    pub namespace: String,
    #[serde(default)]
    pub age: String,
    #[serde(default)]
    pub sort: String,
    #[serde(default)]
    pub view: String,
    /// `only` (findings an exception covers), `hide` (the others), empty: both.
    #[serde(default)]
    pub excepted: String,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

/// A validated explorer request.
struct Request {
    filter: ExplorerFilter,
    sort: ExplorerSort,
    by_resource: bool,
    page: i64,
    per_page: i64,
}

fn some(s: &str) -> Option<String> {
    Some(s.trim().to_string()).filter(|s| !s.is_empty())
}

impl ExplorerQuery {
    fn parse(&self) -> Result<Request, UiError> {
        let cluster = some(&self.cluster)
            .map(|c| {
                c.parse::<Uuid>().map_err(|_| UiError::bad_request(format!("`{c}` is not a cluster id")))
            })
            .transpose()?;
        let area = some(&self.area).map(|a| a.parse::<Area>().map(|a| a.as_str().to_string())).transpose();
        let severity =
            some(&self.severity).map(|s| s.parse::<Severity>().map(|s| s.as_str().to_string())).transpose();
        let status = some(&self.status).unwrap_or_else(|| "open".into());
        if !STATUSES.contains(&status.as_str()) {
            return Err(UiError::bad_request(format!(
                "unknown status `{status}`; use one of {}",
                STATUSES.join(", ")
            )));
        }
        let now = Utc::now();
        let (seen_after, seen_before) = match some(&self.age).as_deref() {
            None => (None, None),
            Some("1d") => (Some(now - Duration::days(1)), None),
            Some("7d") => (Some(now - Duration::days(7)), None),
            Some("30d") => (Some(now - Duration::days(30)), None),
            Some("older") => (None, Some(now - Duration::days(30))),
            Some(other) => {
                return Err(UiError::bad_request(format!("unknown age `{other}`; use 1d, 7d, 30d or older")))
            }
        };
        let sort = match some(&self.sort).as_deref() {
            None | Some("severity") => ExplorerSort::Severity,
            Some("first_seen") => ExplorerSort::FirstSeen,
            Some("cluster") => ExplorerSort::Cluster,
            Some("check") => ExplorerSort::Check,
            Some(other) => return Err(UiError::bad_request(format!("unknown sort `{other}`"))),
        };
        let by_resource = match some(&self.view).as_deref() {
            None | Some("finding") => false,
            Some("resource") => true,
            Some(other) => {
                return Err(UiError::bad_request(format!("unknown view `{other}`; use finding or resource")))
            }
        };
        let excepted = match some(&self.excepted).as_deref() {
            None => None,
            Some("only") => Some(true),
            Some("hide") => Some(false),
            Some(other) => {
                return Err(UiError::bad_request(format!(
                    "unknown exception filter `{other}`; use only or hide"
                )))
            }
        };
        let per_page = self.per_page.unwrap_or(DEFAULT_PER_PAGE);
        if !PER_PAGE.contains(&per_page) {
            return Err(UiError::bad_request("rows per page must be 25, 100, 250 or 500"));
        }
        let page = self.page.unwrap_or(1);
        if !(1..=100_000).contains(&page) {
            return Err(UiError::bad_request("page must be a number from 1"));
        }
        Ok(Request {
            filter: ExplorerFilter {
                cluster,
                area: area.map_err(UiError::bad_request)?,
                severity: severity.map_err(UiError::bad_request)?,
                status,
                check: some(&self.check),
                namespace: some(&self.namespace),
                seen_after,
                seen_before,
                excepted,
            },
            sort,
            by_resource,
            page,
            per_page,
        })
    }

    /// This query as a URL query string, with `page` replaced.
    pub fn with_page(&self, page: i64) -> String {
        let pairs = [
            ("cluster", self.cluster.as_str()),
            ("area", &self.area),
            ("severity", &self.severity),
            ("status", &self.status),
            ("check", &self.check),
            ("namespace", &self.namespace),
            ("age", &self.age),
            ("sort", &self.sort),
            ("view", &self.view),
            ("excepted", &self.excepted),
        ];
        let mut out = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in pairs {
            if !v.is_empty() {
                out.append_pair(k, v);
            }
        }
        out.append_pair("page", &page.to_string());
        out.append_pair("per_page", &self.per_page.unwrap_or(DEFAULT_PER_PAGE).to_string());
        out.finish()
    }
}

/// A resource as one line of text (CSV, JSON and the page agree).
pub fn resource_text(r: &ResourceRow) -> String {
    crate::checks::ResourceRef::text(&r.kind, r.namespace.as_deref(), &r.name, r.node.as_deref())
}

/// One exported finding (JSON), the same fields as the CSV columns.
#[derive(Debug, Serialize)]
pub struct ExportRow<'a> {
    pub check_id: &'a str,
    pub title: &'a str,
    pub cluster: &'a str,
    pub area: &'a str,
    pub resource: String,
    pub namespace: Option<&'a str>,
    pub severity: &'a str,
    pub status: &'a str,
    pub first_seen: String,
    pub last_seen: Option<String>,
    pub evidence: &'a str,
    /// Until when an exception in force covers it; absent when none does.
    pub excepted_until: Option<String>,
}

impl<'a> From<&'a Finding> for ExportRow<'a> {
    fn from(f: &'a Finding) -> Self {
        ExportRow {
            check_id: &f.check_id,
            title: &f.title,
            cluster: &f.cluster_name,
            area: &f.area,
            resource: resource_text(&f.resource),
            namespace: f.resource.namespace.as_deref(),
            severity: &f.severity,
            status: &f.status,
            first_seen: f.first_seen_at.to_rfc3339(),
            last_seen: f.last_seen_at.map(|t| t.to_rfc3339()),
            evidence: &f.evidence,
            excepted_until: f.exception.as_ref().map(|e| e.expires_at.to_rfc3339()),
        }
    }
}

const CSV_HEADER: [&str; 12] = [
    "check_id",
    "title",
    "cluster",
    "area",
    "resource",
    "namespace",
    "severity",
    "status",
    "first_seen",
    "last_seen",
    "evidence",
    "excepted_until",
];

/// One CSV cell: formula-looking text defused, then quoted when needed (RFC 4180).
pub fn csv_cell(value: &str) -> String {
    let defused = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_string()
    };
    if defused.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", defused.replace('"', "\"\""))
    } else {
        defused
    }
}

/// The CSV document of `rows` (header first, CRLF line ends).
pub fn to_csv(rows: &[Finding]) -> String {
    let mut out = CSV_HEADER.join(",");
    out.push_str("\r\n");
    for f in rows {
        let r = ExportRow::from(f);
        let cells = [
            r.check_id,
            r.title,
            r.cluster,
            r.area,
            &r.resource,
            r.namespace.unwrap_or(""),
            r.severity,
            r.status,
            &r.first_seen,
            r.last_seen.as_deref().unwrap_or(""),
            r.evidence,
            r.excepted_until.as_deref().unwrap_or(""),
        ];
        out.push_str(&cells.iter().map(|c| csv_cell(c)).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
    }
    out
}

/// A finding row on the page.
pub struct Row {
    pub f: Finding,
    pub first_seen: String,
    pub last_seen: String,
}

#[derive(Template)]
#[template(path = "findings.html")]
struct FindingsPage {
    ctx: PageContext,
    q: ExplorerQuery,
    status: String,
    per_page: i64,
    rows: Vec<Row>,
    groups: Vec<ResourceRisks>,
    by_resource: bool,
    page: i64,
    prev: Option<String>,
    next: Option<String>,
    export_query: String,
    clusters: Vec<(Uuid, String)>,
    areas: Vec<&'static str>,
    severities: Vec<&'static str>,
    statuses: Vec<&'static str>,
    ages: Vec<(&'static str, &'static str)>,
    sorts: Vec<(&'static str, &'static str)>,
    per_pages: Vec<i64>,
}

/// The rows of one page (one more than asked, to know whether there is a next page).
async fn load(state: &AppState, r: &Request) -> Result<(Vec<Finding>, bool), UiError> {
    let offset = (r.page - 1) * r.per_page;
    let mut rows = dashboard::explore(&state.pool, &r.filter, r.sort, offset, r.per_page + 1).await?;
    let more = rows.len() as i64 > r.per_page;
    rows.truncate(r.per_page as usize);
    Ok((rows, more))
}

#[get("/findings")]
async fn findings_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    q: web::Query<ExplorerQuery>,
) -> Result<HttpResponse, UiError> {
    let who = ui_user(&state, &req).await?;
    let r = q.parse()?;
    let offset = (r.page - 1) * r.per_page;
    let (rows, groups, more) = if r.by_resource {
        let mut g = dashboard::explore_by_resource(&state.pool, &r.filter, offset, r.per_page + 1).await?;
        let more = g.len() as i64 > r.per_page;
        g.truncate(r.per_page as usize);
        (Vec::new(), g, more)
    } else {
        let (rows, more) = load(&state, &r).await?;
        (rows, Vec::new(), more)
    };
    let clusters = trends::cluster_choices(&state.pool).await?.into_iter().map(|c| (c.id, c.name)).collect();
    let collected = dashboard::newest_results_at(&state.pool).await?;
    let ctx = PageContext::new(&who, "findings").collected(collected);
    let q = q.into_inner();
    let page_ = FindingsPage {
        ctx,
        status: r.filter.status.clone(),
        per_page: r.per_page,
        rows: rows
            .into_iter()
            .map(|f| Row {
                first_seen: fmt_time(&f.first_seen_at),
                last_seen: fmt_opt_time(&f.last_seen_at),
                f,
            })
            .collect(),
        groups,
        by_resource: r.by_resource,
        page: r.page,
        prev: (r.page > 1).then(|| q.with_page(r.page - 1)),
        next: more.then(|| q.with_page(r.page + 1)),
        export_query: q.with_page(r.page),
        q,
        clusters,
        areas: Area::ALL.iter().map(|a| a.as_str()).collect(),
        severities: Severity::ALL.iter().rev().map(|s| s.as_str()).collect(),
        statuses: STATUSES.to_vec(),
        ages: AGES.to_vec(),
        sorts: SORTS.to_vec(),
        per_pages: PER_PAGE.to_vec(),
    };
    Ok(page(&page_))
}

fn attachment(name: &str) -> (header::HeaderName, String) {
    (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\""))
}

/// The page's rows as CSV.
#[get("/findings.csv")]
async fn findings_csv(
    state: web::Data<AppState>,
    req: HttpRequest,
    q: web::Query<ExplorerQuery>,
) -> Result<HttpResponse, UiError> {
    ui_user(&state, &req).await?;
    let r = q.parse()?;
    let (rows, _) = load(&state, &r).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header(attachment("findings.csv"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(to_csv(&rows)))
}

/// The page's rows as JSON (the CSV's columns as fields).
#[get("/findings.json")]
async fn findings_json(
    state: web::Data<AppState>,
    req: HttpRequest,
    q: web::Query<ExplorerQuery>,
) -> Result<HttpResponse, UiError> {
    ui_user(&state, &req).await?;
    let r = q.parse()?;
    let (rows, _) = load(&state, &r).await?;
    let items: Vec<ExportRow> = rows.iter().map(ExportRow::from).collect();
    Ok(HttpResponse::Ok()
        .insert_header(attachment("findings.json"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(serde_json::json!({ "items": items })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_are_quoted_and_formulas_defused() {
        assert_eq!(csv_cell("plain"), "plain");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("two\nlines"), "\"two\nlines\"");
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_cell("+1"), "'+1");
        assert_eq!(csv_cell("-rf"), "'-rf");
        assert_eq!(csv_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_cell(""), "");
    }

    #[test]
    fn the_page_links_keep_every_filter_and_change_only_the_page() {
        let q = ExplorerQuery { check: "PAL-AUTHZ-101".into(), status: "fail".into(), ..Default::default() };
        assert_eq!(q.with_page(2), "status=fail&check=PAL-AUTHZ-101&page=2&per_page=100");
    }
}
