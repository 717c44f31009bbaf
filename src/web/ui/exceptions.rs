//! `/exceptions`: the exceptions (waivers) in force, waiting and past, for everyone who may read
//! them; editors make and remove them here, admins approve or reject waiting ones. Every change
//! goes through `registry::exceptions`, the functions the API calls, so rules and audit entries
//! are the API's; every form carries the session's CSRF token, checked first.

use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::{Duration, Utc};
use serde::Deserialize;
use uuid::Uuid;

use super::{html, see_other, ui_user, CsrfForm, PageContext, UiError};
use crate::domain::{GroupName, Role};
use crate::registry::exceptions::{self as service, ExceptionChange, ExceptionInput};
use crate::store::clusters;
use crate::store::exceptions::{self, ExceptionFilter, ExceptionRecord, ExceptionScope, ExceptionState};
use crate::web::auth::Authenticated;
use crate::web::error::ApiError;
use crate::web::AppState;

/// The most exceptions the page lists.
const SHOWN: i64 = 500;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(exceptions_page)
        .service(exceptions_create)
        .service(exceptions_decide)
        .service(exceptions_delete);
}

/// One row of the table.
struct Row {
    e: ExceptionRecord,
    scope: String,
    /// `in force`, `pending`, `rejected` or `expired`.
    status: &'static str,
    status_class: &'static str,
}

#[derive(Template)]
#[template(path = "exceptions.html")]
struct ExceptionsPage {
    ctx: PageContext,
    rows: Vec<Row>,
    truncated: bool,
    checks: Vec<(String, String)>,
    clusters: Vec<(Uuid, String)>,
    require_approval: bool,
    error: Option<String>,
    notice: Option<&'static str>,
    /// The check to preselect in the form (`?check=` from a check's page).
    check: String,
}

#[derive(Deserialize)]
struct PageQuery {
    notice: Option<String>,
    #[serde(default)]
    check: String,
}

async fn render(
    state: &AppState,
    who: &Authenticated,
    status: StatusCode,
    error: Option<String>,
    notice: Option<&'static str>,
    check: String,
) -> Result<HttpResponse, UiError> {
    let mut records = exceptions::list(&state.pool, &ExceptionFilter::default(), None, SHOWN + 1).await?;
    let truncated = records.len() as i64 > SHOWN;
    records.truncate(SHOWN as usize);
    let clusters = clusters::live_names(&state.pool).await?;
    let name_of = |id: Uuid| clusters.iter().find(|c| c.0 == id).map(|c| c.1.clone());
    let now = Utc::now();
    let rows = records
        .into_iter()
        .map(|e| {
            let scope = match &e.scope {
                ExceptionScope::All => "every cluster".to_string(),
                ExceptionScope::Cluster(id) => {
                    format!("cluster {}", name_of(*id).unwrap_or_else(|| id.to_string()))
                }
                ExceptionScope::Group(g) => format!("group {g}"),
            };
            let (status, status_class) = match e.state {
                ExceptionState::Pending => ("pending approval", "unknown"),
                ExceptionState::Rejected => ("rejected", "fail"),
                ExceptionState::Approved if e.expires_at <= now => ("expired", "unknown"),
                ExceptionState::Approved => ("in force", "ok"),
            };
            Row { e, scope, status, status_class }
        })
        .collect();
    let checks = crate::checks::catalog()
        .into_iter()
        .map(|c| (c.meta.id.to_string(), format!("{} — {}", c.meta.id, c.meta.title)))
        .collect();
    let page = ExceptionsPage {
        ctx: PageContext::new(who, "exceptions"),
        rows,
        truncated,
        checks,
        clusters,
        require_approval: state.settings.exceptions.require_approval,
        error,
        notice,
        check,
    };
    Ok(html(status, page.render()))
}

/// The page again, with the status and words of a refused form.
async fn refused(
    state: &AppState,
    who: &Authenticated,
    e: ApiError,
    check: String,
) -> Result<HttpResponse, UiError> {
    let status = actix_web::ResponseError::status_code(&e);
    render(state, who, status, Some(e.to_string()), None, check).await
}

fn notice_text(n: Option<&str>) -> Option<&'static str> {
    match n? {
        "created" => Some("Exception created."),
        "pending" => Some("Exception created: it covers nothing until an admin approves it."),
        "approved" => Some("Exception approved: it covers its results now."),
        "rejected" => Some("Exception rejected."),
        "deleted" => Some("Exception removed: what it covered counts again."),
        _ => None,
    }
}

#[get("/exceptions")]
async fn exceptions_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    q: web::Query<PageQuery>,
) -> Result<HttpResponse, UiError> {
    let who = ui_user(&state, &req).await?;
    who.require(Role::Viewer)?;
    let q = q.into_inner();
    render(&state, &who, StatusCode::OK, None, notice_text(q.notice.as_deref()), q.check).await
}

#[derive(Deserialize)]
struct NewExceptionForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    check_id: String,
    /// `all`, `cluster` or `group`.
    #[serde(default)]
    scope: String,
    #[serde(default)]
    cluster: String,
    #[serde(default)]
    group: String,
    #[serde(default)]
    namespace: String,
    #[serde(default)]
    resource: String,
    #[serde(default)]
    justification: String,
    #[serde(default)]
    owner: String,
    #[serde(default)]
    expires_days: String,
}

fn filled(s: &str) -> Option<String> {
    Some(s.trim().to_string()).filter(|s| !s.is_empty())
}

impl NewExceptionForm {
    fn input(&self) -> Result<ExceptionInput, String> {
        let scope = match self.scope.as_str() {
            "cluster" => ExceptionScope::Cluster(
                self.cluster
                    .trim()
                    .parse()
                    .map_err(|_| "choose the cluster the exception covers".to_string())?,
            ),
            "group" => ExceptionScope::Group(GroupName::try_from(self.group.trim().to_string())?.to_string()),
            "all" | "" => ExceptionScope::All,
            other => return Err(format!("unknown scope `{other}`")),
        };
        let days: i64 = self
            .expires_days
            .trim()
            .parse()
            .map_err(|_| "expires after: give a number of days, 1 to 3650".to_string())?;
        if !(1..=3650).contains(&days) {
            return Err("expires after: give a number of days, 1 to 3650".into());
        }
        Ok(ExceptionInput {
            check_id: self.check_id.trim().to_string(),
            scope,
            namespace: filled(&self.namespace),
            resource: filled(&self.resource),
            justification: self.justification.clone(),
            expires_at: Utc::now() + Duration::days(days),
            owner: filled(&self.owner),
        })
    }
}

#[post("/exceptions")]
async fn exceptions_create(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<NewExceptionForm>,
) -> Result<HttpResponse, UiError> {
    let who = ui_user(&state, &req).await?;
    who.check_csrf(&form.csrf_token)?;
    who.require(Role::Editor)?;
    let result = match form.input() {
        Ok(input) => {
            service::create(&state.pool, state.settings.exceptions.require_approval, &who.actor(), input)
                .await
                .map_err(ApiError::from)
        }
        Err(msg) => Err(ApiError::BadRequest(msg)),
    };
    match result {
        Ok(e) if e.state == ExceptionState::Pending => Ok(see_other("/exceptions?notice=pending")),
        Ok(_) => Ok(see_other("/exceptions?notice=created")),
        Err(e) => refused(&state, &who, e, form.check_id.clone()).await,
    }
}

#[derive(Deserialize)]
struct DecisionForm {
    #[serde(default)]
    csrf_token: String,
    /// `approved` or `rejected`.
    #[serde(default)]
    state: String,
}

#[post("/exceptions/{id}/decision")]
async fn exceptions_decide(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<Uuid>,
    form: web::Form<DecisionForm>,
) -> Result<HttpResponse, UiError> {
    let who = ui_user(&state, &req).await?;
    who.check_csrf(&form.csrf_token)?;
    who.require(Role::Admin)?;
    let decision = match form.state.as_str() {
        "approved" => ExceptionState::Approved,
        "rejected" => ExceptionState::Rejected,
        _ => return Err(UiError::bad_request("decide `approved` or `rejected`")),
    };
    let change = ExceptionChange { state: Some(decision), ..Default::default() };
    match service::update(&state.pool, state.settings.exceptions.require_approval, &who.actor(), *id, change)
        .await
    {
        Ok(_) => Ok(see_other(&format!("/exceptions?notice={}", decision.as_str()))),
        Err(e) => refused(&state, &who, e.into(), String::new()).await,
    }
}

#[post("/exceptions/{id}/delete")]
async fn exceptions_delete(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<Uuid>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, UiError> {
    let who = ui_user(&state, &req).await?;
    who.check_csrf(&form.csrf_token)?;
    who.require(Role::Editor)?;
    match service::delete(&state.pool, &who.actor(), *id).await {
        Ok(()) => Ok(see_other("/exceptions?notice=deleted")),
        Err(e) => refused(&state, &who, e.into(), String::new()).await,
    }
}
