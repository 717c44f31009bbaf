//! The RBAC pages: `/rbac` (choose a cluster) and `/clusters/{id}/rbac`: a who-can form (verb,
//! resource, namespace, object name) answered from the cluster's latest stored scan, and the
//! subjects holding dangerous capabilities. Both come from the scan analysis cache the RBAC API
//! uses ([`crate::web::analyses`]) and the same request parsing as `GET …/rbac/who-can`.

use actix_web::{get, web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;
use uuid::Uuid;

use super::network::{cluster_analyses, cluster_chooser};
use super::{page, ui_user, PageContext, UiError};
use crate::analysis::rbac::WhoCan;
use crate::checks::rbac::RiskySubject;
use crate::store::clusters::Cluster;
use crate::web::api::rbac::parse_question;
use crate::web::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(rbac_index).service(rbac_page);
}

#[get("/rbac")]
async fn rbac_index(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, UiError> {
    cluster_chooser(&state, &req, "rbac", "RBAC").await
}

#[derive(Deserialize, Default)]
struct WhoCanForm {
    #[serde(default)]
    verb: String,
    #[serde(default)]
    resource: String,
    #[serde(default)]
    namespace: String,
    #[serde(default)]
    name: String,
}

#[derive(Template)]
#[template(path = "rbac.html")]
struct RbacPage {
    ctx: PageContext,
    cluster: Cluster,
    scanned: bool,
    verb: String,
    resource: String,
    namespace: String,
    name: String,
    error: Option<String>,
    answer: Option<WhoCan>,
    risky: Vec<RiskySubject>,
}

impl RbacPage {
    /// A subject in words, for the template.
    fn subject_text(&self, s: &crate::snapshot::Subject) -> String {
        crate::analysis::rbac::describe_subject(s)
    }

    /// A rule in words with the role declaring it, for the template.
    fn rule_text(&self, r: &crate::analysis::rbac::RuleView) -> String {
        format!("{} (declared in {})", crate::analysis::rbac::describe_rule(&r.rule), r.from)
    }
}

#[get("/clusters/{id}/rbac")]
async fn rbac_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<Uuid>,
    form: web::Query<WhoCanForm>,
) -> Result<HttpResponse, UiError> {
    let who = ui_user(&state, &req).await?;
    let f = form.into_inner();
    let (cluster, analyses) = cluster_analyses(&state, *id).await?;
    let mut out = RbacPage {
        ctx: PageContext::new(&who, "rbac").collected(analyses.as_ref().map(|a| a.collected_at)),
        cluster,
        scanned: analyses.is_some(),
        verb: f.verb.trim().to_string(),
        resource: f.resource.trim().to_string(),
        namespace: f.namespace.trim().to_string(),
        name: f.name.trim().to_string(),
        error: None,
        answer: None,
        risky: Vec::new(),
    };
    let Some(analyses) = analyses else { return Ok(page(&out)) };
    if !out.verb.is_empty() || !out.resource.is_empty() {
        let opt = |s: &str| Some(s.to_string()).filter(|s| !s.is_empty());
        match parse_question(
            &out.verb,
            &out.resource,
            opt(&out.namespace).as_deref(),
            opt(&out.name).as_deref(),
        ) {
            Ok(request) => {
                out.answer = Some(analyses.with_rbac(move |_, index| index.who_can(&request)).await?)
            }
            Err(e) => out.error = Some(e.to_string()),
        }
    }
    out.risky = analyses.risky_subjects().await?.as_ref().clone();
    let status = if out.error.is_some() {
        actix_web::http::StatusCode::BAD_REQUEST
    } else {
        actix_web::http::StatusCode::OK
    };
    Ok(super::html(status, out.render()))
}
