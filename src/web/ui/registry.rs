//! The cluster registry page at `/clusters` (list, register from a pasted kubeconfig, check,
//! enable/disable, delete). The admin area's `/admin/clusters` takes it over; until then it stays
//! reachable here, its rows linking to each cluster's page.

use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;
use uuid::Uuid;

use super::{html, see_other, ui_user, CsrfForm, PageContext, UiError};
use crate::domain::{ClusterName, Labels, Role};
use crate::registry::RegistryError;
use crate::store::clusters::{self, Cluster, ClusterFilter, ClusterPatch, NewCluster};
use crate::store::{audit, StoreError};
use crate::web::api::clusters::ClusterSource;
use crate::web::api::{decode_cursor, encode_cursor};
use crate::web::auth::Authenticated;
use crate::web::AppState;

const PAGE_SIZE: i64 = 100;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(clusters_page).service(clusters_register).service(cluster_action);
}

#[derive(Template)]
#[template(path = "clusters.html")]
struct ClustersPage {
    ctx: PageContext,
    clusters: Vec<Cluster>,
    next_cursor: Option<String>,
    error: Option<String>,
    notice: Option<String>,
    q: String,
    label: String,
}

#[derive(Deserialize, Default)]
struct ClustersQuery {
    cursor: Option<String>,
    q: Option<String>,
    label: Option<String>,
    notice: Option<String>,
}

async fn render_clusters(
    state: &AppState,
    who: &Authenticated,
    query: ClustersQuery,
    status: StatusCode,
    error: Option<String>,
) -> Result<HttpResponse, UiError> {
    let label = query.label.unwrap_or_default();
    let labels = if label.trim().is_empty() {
        Labels::default()
    } else {
        Labels::from_pairs(label.split(',')).map_err(UiError::bad_request)?
    };
    let q = query.q.unwrap_or_default();
    let filter = ClusterFilter {
        limit: PAGE_SIZE + 1,
        after: query.cursor.as_deref().filter(|c| !c.is_empty()).map(decode_cursor).transpose()?,
        labels,
        name_contains: Some(q.clone()).filter(|s| !s.is_empty()),
        ..Default::default()
    };
    let mut rows = clusters::list(&state.pool, &filter).await?;
    let more = rows.len() as i64 > PAGE_SIZE;
    rows.truncate(PAGE_SIZE as usize);
    let next_cursor = if more { rows.last().map(|c| encode_cursor(&c.name)) } else { None };
    let notice = match query.notice.as_deref() {
        Some("registered") => Some("Cluster registered.".to_string()),
        Some("deleted") => Some("Cluster deleted; its history is kept.".to_string()),
        Some("updated") => Some("Cluster updated.".to_string()),
        _ => None,
    };
    let mut ctx = PageContext::new(who, "admin");
    ctx.no_data_note = Some("Connectivity as last checked for each cluster.");
    let page = ClustersPage { ctx, clusters: rows, next_cursor, error, notice, q, label };
    Ok(html(status, page.render()))
}

#[get("/clusters")]
async fn clusters_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<ClustersQuery>,
) -> Result<HttpResponse, UiError> {
    let who = ui_user(&state, &req).await?;
    render_clusters(&state, &who, query.into_inner(), StatusCode::OK, None).await
}

#[derive(Deserialize)]
struct RegisterForm {
    #[serde(default)]
    csrf_token: String,
    name: String,
    #[serde(default)]
    labels: String,
    #[serde(default)]
    group: String,
    #[serde(default)]
    context: String,
    kubeconfig: String,
}

fn parse_register(form: &RegisterForm) -> Result<NewCluster, String> {
    let name: ClusterName = form.name.trim().parse()?;
    let labels = if form.labels.trim().is_empty() {
        Labels::default()
    } else {
        Labels::from_pairs(form.labels.split(',').filter(|p| !p.trim().is_empty()))?
    };
    let group = match form.group.trim() {
        "" => None,
        g => Some(g.parse::<ClusterName>().map_err(|e| e.replace("cluster name", "group name"))?),
    };
    let source = ClusterSource {
        kubeconfig: Some(form.kubeconfig.clone()),
        context: Some(form.context.trim().to_string()).filter(|c| !c.is_empty()),
        ..Default::default()
    };
    let credentials = source.into_credentials().map_err(|e| e.to_string())?;
    Ok(NewCluster { name, labels, group, enabled: true, credentials })
}

#[post("/clusters")]
async fn clusters_register(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<RegisterForm>,
) -> Result<HttpResponse, UiError> {
    let who = ui_user(&state, &req).await?;
    who.check_csrf(&form.csrf_token)?;
    who.require(Role::Editor)?;
    let new = match parse_register(&form) {
        Ok(n) => n,
        Err(msg) => {
            return render_clusters(
                &state,
                &who,
                ClustersQuery::default(),
                StatusCode::BAD_REQUEST,
                Some(msg),
            )
            .await
        }
    };
    match state.register_cluster(&new, &who.actor(), true).await {
        Ok(_) => Ok(see_other("/clusters?notice=registered")),
        Err(RegistryError::Store(StoreError::Conflict(msg))) => {
            render_clusters(&state, &who, ClustersQuery::default(), StatusCode::CONFLICT, Some(msg)).await
        }
        Err(e) => Err(e.into()),
    }
}

#[post("/clusters/{id}/{action}")]
async fn cluster_action(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(Uuid, String)>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, UiError> {
    let who = ui_user(&state, &req).await?;
    who.check_csrf(&form.csrf_token)?;
    who.require(Role::Editor)?;
    let (id, action) = path.into_inner();
    let cluster = clusters::get(&state.pool, id)
        .await?
        .ok_or_else(|| UiError::not_found(format!("no cluster with id {id}")))?;
    let notice = match action.as_str() {
        "delete" => {
            clusters::delete(&state.pool, id, false, &who.actor()).await?;
            "deleted"
        }
        "toggle" => {
            let patch = ClusterPatch { enabled: Some(!cluster.enabled), ..Default::default() };
            clusters::update(&state.pool, id, &patch, &who.actor()).await?;
            "updated"
        }
        "check" => {
            state.recheck(id).await?;
            audit::record(
                &state.pool,
                &who.actor(),
                "cluster.check",
                Some(&cluster.name),
                serde_json::json!({"id": id}),
            )
            .await?;
            "updated"
        }
        other => return Err(UiError::not_found(format!("unknown action `{other}`"))),
    };
    Ok(see_other(&format!("/clusters?notice={notice}")))
}
