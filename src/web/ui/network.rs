//! The network pages: `/network` (choose a cluster), `/clusters/{id}/network` (the namespace
//! reachability matrix of the cluster's latest stored scan as a heatmap, a window of namespaces at
//! a time, every cell's state also in words) and `/clusters/{id}/network/{namespace}` (that
//! namespace's isolation). They read the scan analysis cache the network API uses
//! ([`crate::web::analyses`]), so a page costs no rebuild of the analysis.

use std::sync::Arc;

use actix_web::{get, web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;
use uuid::Uuid;

use super::{page, ui_user, PageContext, UiError};
use crate::analysis::netpol::{NamespaceReport, NamespaceSummary};
use crate::store::clusters::{self, Cluster};
use crate::store::trends::{self, ClusterOverview};
use crate::web::analyses::ScanAnalyses;
use crate::web::error::ApiError;
use crate::web::AppState;

/// Namespaces per side of the heatmap window.
pub const WINDOW: usize = 30;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(network_index).service(network_matrix).service(network_namespace).service(pages_css);
}

/// Styles of the trends, network, RBAC and admin pages (the layout's own are in style.css).
#[get("/static/pages.css")]
async fn pages_css() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((actix_web::http::header::CACHE_CONTROL, "public, max-age=3600"))
        .body(include_str!("../../../static/pages.css"))
}

#[derive(Template)]
#[template(path = "network_index.html")]
struct IndexPage {
    ctx: PageContext,
    heading: &'static str,
    target: &'static str,
    clusters: Vec<ClusterOverview>,
}

/// The cluster chooser shared by `/network` and `/rbac`.
pub async fn cluster_chooser(
    state: &AppState,
    req: &HttpRequest,
    nav: &'static str,
    heading: &'static str,
) -> Result<HttpResponse, UiError> {
    let who = ui_user(state, req).await?;
    let clusters = trends::fleet_overview(&state.pool).await?;
    let collected = clusters.iter().filter_map(|c| c.last_result_at).max();
    let ctx = PageContext::new(&who, nav).collected(collected);
    Ok(page(&IndexPage { ctx, heading, target: nav, clusters }))
}

#[get("/network")]
async fn network_index(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, UiError> {
    cluster_chooser(&state, &req, "network", "Network reachability").await
}

/// The cluster and its latest scan's analyses; `Ok((cluster, None))` when it has no stored scan.
pub async fn cluster_analyses(
    state: &AppState,
    id: Uuid,
) -> Result<(Cluster, Option<Arc<ScanAnalyses>>), UiError> {
    let cluster = clusters::get(&state.pool, id)
        .await?
        .ok_or_else(|| UiError::not_found(format!("no cluster with id {id}")))?;
    match state.analyses.latest(&state.pool, id).await {
        Ok(a) => Ok((cluster, Some(a))),
        Err(ApiError::NotFound(_)) => Ok((cluster, None)),
        Err(e) => Err(e.into()),
    }
}

/// One heatmap cell.
pub struct Cell {
    /// `all`, `some` or `none` (also the CSS class).
    pub level: &'static str,
    /// What is shown in the cell.
    pub text: &'static str,
    /// In words, e.g. `shop → blog: TCP 8080`.
    pub title: String,
}

pub struct Row {
    pub name: String,
    pub cells: Vec<Cell>,
}

/// A link to another window of the matrix.
pub struct Nav {
    pub label: String,
    pub href: String,
}

#[derive(Template)]
#[template(path = "network.html")]
struct MatrixPage {
    ctx: PageContext,
    cluster: Cluster,
    scanned: bool,
    undecided: Option<String>,
    enforcement: String,
    enforcement_ignored: bool,
    system: bool,
    columns: Vec<String>,
    rows: Vec<Row>,
    nav: Vec<Nav>,
    window_text: String,
    namespaces: Vec<NamespaceSummary>,
    assumptions: &'static [&'static str],
}

#[derive(Deserialize, Default)]
struct MatrixQuery {
    system: Option<bool>,
    row: Option<usize>,
    col: Option<usize>,
}

#[get("/clusters/{id}/network")]
async fn network_matrix(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<Uuid>,
    q: web::Query<MatrixQuery>,
) -> Result<HttpResponse, UiError> {
    let who = ui_user(&state, &req).await?;
    let (cluster, analyses) = cluster_analyses(&state, *id).await?;
    let system = q.system.unwrap_or(false);
    let mut out = MatrixPage {
        ctx: PageContext::new(&who, "network").collected(analyses.as_ref().map(|a| a.collected_at)),
        cluster,
        scanned: analyses.is_some(),
        undecided: None,
        enforcement: String::new(),
        enforcement_ignored: false,
        system,
        columns: Vec::new(),
        rows: Vec::new(),
        nav: Vec::new(),
        window_text: String::new(),
        namespaces: Vec::new(),
        assumptions: crate::analysis::netpol::ASSUMPTIONS,
    };
    let Some(analyses) = analyses else { return Ok(page(&out)) };
    let net = match &analyses.network {
        Ok(n) => n,
        Err(e) => {
            out.undecided = Some(e.to_string());
            return Ok(page(&out));
        }
    };
    let a = &net.analysis;
    out.enforcement = net.enforcement.describe();
    out.enforcement_ignored = net.enforcement.is_ignored();
    let keep: Vec<usize> = (0..a.namespaces.len()).filter(|i| system || !a.namespaces[*i].system).collect();
    let clamp = |start: Option<usize>| start.unwrap_or(0).min(keep.len().saturating_sub(1)) / WINDOW * WINDOW;
    let (row0, col0) = (clamp(q.row), clamp(q.col));
    let rows = &keep[row0.min(keep.len())..(row0 + WINDOW).min(keep.len())];
    let cols = &keep[col0.min(keep.len())..(col0 + WINDOW).min(keep.len())];
    out.columns = cols.iter().map(|c| a.namespaces[*c].name.clone()).collect();
    if let Some(m) = &a.matrix {
        out.rows = rows
            .iter()
            .map(|&r| {
                let from = &a.namespaces[r].name;
                Row {
                    name: from.clone(),
                    cells: cols
                        .iter()
                        .map(|&c| {
                            let ports = m.ports(r, c);
                            let to = &a.namespaces[c].name;
                            let (level, text) = if ports.is_all() {
                                ("all", "all")
                            } else if ports.is_empty() {
                                ("none", "—")
                            } else {
                                ("some", "some")
                            };
                            Cell { level, text, title: format!("{from} → {to}: {ports}") }
                        })
                        .collect(),
                }
            })
            .collect();
    }
    let base = format!("/clusters/{}/network?system={system}", out.cluster.id);
    let link = |label: &str, r: usize, c: usize| Nav {
        label: label.into(),
        href: format!("{base}&row={r}&col={c}"),
    };
    if row0 >= WINDOW {
        out.nav.push(link("↑ previous rows", row0 - WINDOW, col0));
    }
    if row0 + WINDOW < keep.len() {
        out.nav.push(link("↓ next rows", row0 + WINDOW, col0));
    }
    if col0 >= WINDOW {
        out.nav.push(link("← previous columns", row0, col0 - WINDOW));
    }
    if col0 + WINDOW < keep.len() {
        out.nav.push(link("→ next columns", row0, col0 + WINDOW));
    }
    out.window_text = if keep.len() > WINDOW {
        format!(
            "Rows {}–{} and columns {}–{} of {} namespaces.",
            row0 + 1,
            row0 + rows.len(),
            col0 + 1,
            col0 + cols.len(),
            keep.len()
        )
    } else {
        format!("{} namespaces.", keep.len())
    };
    out.namespaces = keep.iter().map(|i| a.summary(*i)).collect();
    Ok(page(&out))
}

#[derive(Template)]
#[template(path = "network_namespace.html")]
struct NamespacePage {
    ctx: PageContext,
    cluster: Cluster,
    name: String,
    report: NamespaceReport,
    enforcement: String,
}

#[get("/clusters/{id}/network/{namespace}")]
async fn network_namespace(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(Uuid, String)>,
) -> Result<HttpResponse, UiError> {
    let who = ui_user(&state, &req).await?;
    let (id, name) = path.into_inner();
    let (cluster, analyses) = cluster_analyses(&state, id).await?;
    let analyses = analyses.ok_or_else(|| {
        UiError::not_found(format!(
            "cluster {} has no stored scan yet; scan it from its page first",
            cluster.name
        ))
    })?;
    let report = crate::web::api::network::namespace_report(&analyses, &name)?;
    let enforcement = report.enforcement.describe();
    let ctx = PageContext::new(&who, "network").collected(Some(analyses.collected_at));
    Ok(page(&NamespacePage { ctx, cluster, name, report, enforcement }))
}
