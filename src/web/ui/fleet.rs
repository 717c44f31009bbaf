//! The fleet overview at `/`: every cluster with its score and its newest scan.

use actix_web::{get, web, HttpRequest, HttpResponse};
use askama::Template;

use super::{page, ui_user, PageContext, UiError};
use crate::store::trends::{self, ClusterOverview};
use crate::web::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(fleet_page);
}

#[derive(Template)]
#[template(path = "fleet.html")]
struct FleetPage {
    ctx: PageContext,
    clusters: Vec<ClusterOverview>,
}

#[get("/")]
async fn fleet_page(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, UiError> {
    let who = ui_user(&state, &req).await?;
    let clusters = trends::fleet_overview(&state.pool).await?;
    let collected = clusters.iter().filter_map(|c| c.last_result_at).max();
    let ctx = PageContext::new(&who, "fleet").collected(collected);
    Ok(page(&FleetPage { ctx, clusters }))
}
