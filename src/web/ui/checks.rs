//! The check catalog as pages: `/checks` (every check, with where it fails now) and
//! `/checks/{id}` (rationale, remediation, framework references, and every cluster and resource
//! where it fails or warns, with the evidence).

use std::collections::HashMap;

use actix_web::{get, web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::{fmt_time, page, ui_user, PageContext, UiError};
use crate::checks::{catalog, find};
use crate::domain::Area;
use crate::frameworks::CheckInfo;
use crate::store::dashboard::{self, CheckFailures};
use crate::store::findings::{self, Finding, FindingFilter, FindingState};
use crate::store::trends::FleetScope;
use crate::web::AppState;

/// Rows of a check page (the findings explorer pages through all of them).
const CHECK_ROWS: i64 = 500;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(checks_page).service(check_page);
}

/// A catalog entry with where it fails now.
pub struct CatalogRow {
    pub info: CheckInfo,
    pub clusters: i64,
    pub resources: i64,
}

#[derive(Template)]
#[template(path = "checks.html")]
struct ChecksPage {
    ctx: PageContext,
    rows: Vec<CatalogRow>,
    area: String,
    areas: Vec<&'static str>,
}

#[derive(Deserialize)]
struct ChecksQuery {
    area: Option<String>,
}

#[get("/checks")]
async fn checks_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    q: web::Query<ChecksQuery>,
) -> Result<HttpResponse, UiError> {
    let who = ui_user(&state, &req).await?;
    let area = q.area.clone().filter(|a| !a.is_empty());
    let area_filter = area.as_deref().map(str::parse::<Area>).transpose().map_err(UiError::bad_request)?;
    let failing: HashMap<String, CheckFailures> =
        dashboard::failing_checks(&state.pool, &FleetScope::default(), 10_000)
            .await?
            .into_iter()
            .map(|f| (f.check_id.clone(), f))
            .collect();
    let rows = catalog()
        .into_iter()
        .filter(|c| area_filter.is_none_or(|a| c.meta.area == a))
        .map(|c| {
            let f = failing.get(c.meta.id);
            CatalogRow {
                info: CheckInfo::from(&c.meta),
                clusters: f.map_or(0, |f| f.clusters),
                resources: f.map_or(0, |f| f.resources),
            }
        })
        .collect();
    let collected = dashboard::newest_results_at(&state.pool).await?;
    let ctx = PageContext::new(&who, "checks").collected(collected);
    Ok(page(&ChecksPage {
        ctx,
        rows,
        area: area.unwrap_or_default(),
        areas: Area::ALL.iter().map(|a| a.as_str()).collect(),
    }))
}

/// A finding row on a check page.
pub struct FailureRow {
    pub f: Finding,
    pub first_seen: String,
}

#[derive(Template)]
#[template(path = "check.html")]
struct CheckPage {
    ctx: PageContext,
    check: CheckInfo,
    rows: Vec<FailureRow>,
    truncated: bool,
}

#[get("/checks/{id}")]
async fn check_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, UiError> {
    let who = ui_user(&state, &req).await?;
    let check = find(&id).ok_or_else(|| UiError::not_found(format!("no check with id `{id}`")))?;
    let filter = FindingFilter {
        state: FindingState::Open,
        check: Some(check.meta.id.to_string()),
        ..Default::default()
    };
    let mut found = findings::list(&state.pool, &filter, None, CHECK_ROWS + 1).await?;
    let truncated = found.len() as i64 > CHECK_ROWS;
    found.truncate(CHECK_ROWS as usize);
    found.sort_by(|a, b| (&a.cluster_name, &a.resource).cmp(&(&b.cluster_name, &b.resource)));
    let collected = found.iter().filter_map(|f| f.last_seen_at).max();
    let collected = match collected {
        Some(t) => Some(t),
        None => dashboard::newest_results_at(&state.pool).await?,
    };
    let rows = found.into_iter().map(|f| FailureRow { first_seen: fmt_time(&f.first_seen_at), f }).collect();
    let ctx = PageContext::new(&who, "checks").collected(collected);
    Ok(page(&CheckPage { ctx, check: CheckInfo::from(&check.meta), rows, truncated }))
}
