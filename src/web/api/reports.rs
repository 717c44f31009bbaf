//! Compliance reports: made on demand or by a definition on its schedule (see `web::reports`),
//! stored, listed and downloaded. Viewers read and download; editors make reports and manage
//! definitions.

use actix_web::http::header;
use actix_web::{delete, get, post, web, HttpResponse};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{page_limit, paginate, Page};
use crate::domain::{GroupName, Role};
use crate::store::audit;
use crate::store::clusters;
use crate::store::reports::{self, NewDefinition, Report, ReportDefinition, ReportScope};
use crate::web::auth::Authenticated;
use crate::web::error::{ApiError, Problem};
use crate::web::reports::{self as generator, ReportError, ReportFormat};
use crate::web::AppState;

impl From<ReportError> for ApiError {
    fn from(e: ReportError) -> Self {
        match e {
            ReportError::Store(e) => e.into(),
            ReportError::NotFound(m) => ApiError::NotFound(m),
            ReportError::Invalid(m) => ApiError::BadRequest(m),
            ReportError::Render(m) => ApiError::Internal(anyhow::anyhow!(m)),
        }
    }
}

/// The most clusters a report may name one by one.
const MAX_SCOPE_CLUSTERS: usize = 1000;

/// A report's scope: a `group`, a list of `clusters`, or neither for the fleet.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScopeBody {
    #[schema(value_type = Option<String>)]
    pub group: Option<GroupName>,
    pub clusters: Option<Vec<Uuid>>,
}

async fn parse_scope(state: &AppState, body: Option<&ScopeBody>) -> Result<ReportScope, ApiError> {
    let Some(b) = body else { return Ok(ReportScope::Fleet) };
    match (&b.group, &b.clusters) {
        (Some(_), Some(_)) => Err(ApiError::BadRequest("scope takes a group or clusters, not both".into())),
        (Some(g), None) => Ok(ReportScope::Group { group: g.to_string() }),
        (None, Some(ids)) if ids.is_empty() || ids.len() > MAX_SCOPE_CLUSTERS => {
            Err(ApiError::BadRequest(format!(
                "scope.clusters names 1 to {MAX_SCOPE_CLUSTERS} clusters (leave scope out for the fleet)"
            )))
        }
        (None, Some(ids)) => {
            for id in ids {
                if clusters::get(&state.pool, *id).await?.is_none() {
                    return Err(ApiError::NotFound(format!("no cluster with id {id}")));
                }
            }
            let mut ids = ids.clone();
            ids.sort();
            ids.dedup();
            Ok(ReportScope::Clusters { clusters: ids })
        }
        (None, None) => Ok(ReportScope::Fleet),
    }
}

fn default_framework() -> String {
    crate::frameworks::CIS_1_12.to_string()
}

/// A report to make now.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateReport {
    /// A framework id; default `cis-1.12`.
    #[serde(default = "default_framework")]
    pub framework: String,
    /// Absent: the fleet.
    pub scope: Option<ScopeBody>,
    pub format: ReportFormat,
}

/// Reports made.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Made {
    pub items: Vec<Report>,
}

/// Make a report now (editors): it is stored and its document downloadable at once.
#[utoipa::path(tag = "reports", request_body = CreateReport, responses(
    (status = 201, body = Report),
    (status = 400, body = Problem),
    (status = 401, body = Problem),
    (status = 403, body = Problem),
    (status = 404, body = Problem, description = "no such framework or cluster"),
))]
#[post("/api/v1/reports")]
pub async fn create_report(
    state: web::Data<AppState>,
    who: Authenticated,
    body: web::Json<CreateReport>,
) -> Result<HttpResponse, ApiError> {
    who.require(Role::Editor)?;
    generator::framework(&body.framework)?;
    let scope = parse_scope(&state, body.scope.as_ref()).await?;
    let made =
        generator::generate(&state, &body.framework, &scope, &[body.format], None, &who.username).await?;
    let report =
        made.into_iter().next().ok_or_else(|| ApiError::Internal(anyhow::anyhow!("no report made")))?;
    audit::record(
        &state.pool,
        &who.actor(),
        "report.create",
        Some(&report.id.to_string()),
        serde_json::json!({"framework": report.framework, "format": report.format, "scope": scope}),
    )
    .await?;
    Ok(HttpResponse::Created().json(report))
}

/// Report list filters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    /// Page size, 1-500 (default 50).
    pub limit: Option<i64>,
    #[serde(default, deserialize_with = "super::empty_as_none")]
    pub cursor: Option<String>,
    /// Only the reports of this definition.
    pub definition: Option<Uuid>,
}

/// Stored reports, newest first.
#[utoipa::path(tag = "reports", params(ReportQuery), responses(
    (status = 200, body = Page<Report>),
    (status = 400, body = Problem),
    (status = 401, body = Problem),
))]
#[get("/api/v1/reports")]
pub async fn list_reports(
    state: web::Data<AppState>,
    who: Authenticated,
    q: web::Query<ReportQuery>,
) -> Result<web::Json<Page<Report>>, ApiError> {
    who.require(Role::Viewer)?;
    let limit = page_limit(q.limit)?;
    let after = q.cursor.as_deref().map(super::decode_time_id_cursor).transpose()?;
    let items = reports::reports(&state.pool, q.definition, after, limit + 1).await?;
    Ok(web::Json(paginate(items, limit, |r| super::time_id_key(&r.created_at, &r.id))))
}

async fn report_or_404(state: &AppState, id: Uuid) -> Result<Report, ApiError> {
    reports::report(&state.pool, id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no report with id {id}")))
}

/// One report's metadata.
#[utoipa::path(tag = "reports", params(("id" = Uuid, Path)), responses(
    (status = 200, body = Report),
    (status = 401, body = Problem),
    (status = 404, body = Problem),
))]
#[get("/api/v1/reports/{id}")]
pub async fn get_report(
    state: web::Data<AppState>,
    who: Authenticated,
    id: web::Path<Uuid>,
) -> Result<web::Json<Report>, ApiError> {
    who.require(Role::Viewer)?;
    Ok(web::Json(report_or_404(&state, *id).await?))
}

/// A report's document (HTML, PDF, CSV or JSON), as an attachment.
#[utoipa::path(tag = "reports", params(("id" = Uuid, Path)), responses(
    (status = 200, description = "the document, in the content type its format names", content(
        (String = "text/html"), (String = "application/pdf"), (String = "text/csv"), (Object = "application/json"),
    )),
    (status = 401, body = Problem),
    (status = 404, body = Problem),
))]
#[get("/api/v1/reports/{id}/content")]
pub async fn report_content(
    state: web::Data<AppState>,
    who: Authenticated,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    who.require(Role::Viewer)?;
    let report = report_or_404(&state, *id).await?;
    let body = reports::body(&state.pool, *id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no report with id {id}")))?;
    let file = format!(
        "palisade-{}-{}.{}",
        report.framework,
        report.created_at.format("%Y%m%d-%H%M"),
        report.format
    );
    Ok(HttpResponse::Ok()
        .content_type(report.content_type)
        .insert_header((header::CONTENT_DISPOSITION, format!("attachment; filename=\"{file}\"")))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(body))
}

/// A report definition to create.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateDefinition {
    /// What it is for (1-100 characters).
    pub name: String,
    #[serde(default = "default_framework")]
    pub framework: String,
    /// Absent: the fleet.
    pub scope: Option<ScopeBody>,
    /// `daily` (06:00 UTC), `weekly` (Mondays 06:00), `monthly` (the 1st, 06:00) or a crontab line
    /// (`min hour day month weekday`, UTC) as cluster schedules take.
    #[schema(example = "weekly")]
    pub schedule: String,
    /// At least one format.
    pub formats: Vec<ReportFormat>,
}

fn cron_of(schedule: &str) -> &str {
    match schedule.trim() {
        "daily" => "0 6 * * *",
        "weekly" => "0 6 * * 1",
        "monthly" => "0 6 1 * *",
        other => other,
    }
}

/// Report definitions, by name.
#[utoipa::path(tag = "reports", responses(
    (status = 200, body = DefinitionList),
    (status = 401, body = Problem),
))]
#[get("/api/v1/reports/definitions")]
pub async fn list_definitions(
    state: web::Data<AppState>,
    who: Authenticated,
) -> Result<web::Json<DefinitionList>, ApiError> {
    who.require(Role::Viewer)?;
    Ok(web::Json(DefinitionList { items: reports::definitions(&state.pool).await? }))
}

/// The report definitions.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DefinitionList {
    pub items: Vec<ReportDefinition>,
}

/// Create a report definition (editors); its first run is the schedule's next time.
#[utoipa::path(tag = "reports", request_body = CreateDefinition, responses(
    (status = 201, body = ReportDefinition),
    (status = 400, body = Problem, description = "a blank name, no format, or a schedule that is not a crontab line"),
    (status = 401, body = Problem),
    (status = 403, body = Problem),
    (status = 404, body = Problem, description = "no such framework or cluster"),
))]
#[post("/api/v1/reports/definitions")]
pub async fn create_definition(
    state: web::Data<AppState>,
    who: Authenticated,
    body: web::Json<CreateDefinition>,
) -> Result<HttpResponse, ApiError> {
    who.require(Role::Editor)?;
    let name = body.name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(ApiError::BadRequest("the name must be 1-100 printable characters".into()));
    }
    if body.formats.is_empty() {
        return Err(ApiError::BadRequest("give at least one format: html, pdf, csv or json".into()));
    }
    generator::framework(&body.framework)?;
    let cron = cron_of(&body.schedule);
    let next = generator::next_run(cron, Utc::now())?;
    let scope = parse_scope(&state, body.scope.as_ref()).await?;
    let mut formats: Vec<String> = body.formats.iter().map(|f| f.as_str().to_string()).collect();
    formats.sort();
    formats.dedup();
    let mut tx = state.pool.begin().await.map_err(crate::store::StoreError::from)?;
    let def = reports::insert_definition(
        &mut tx,
        &NewDefinition {
            name,
            framework: &body.framework,
            scope: &scope,
            cron,
            formats: &formats,
            next_run_at: next,
            created_by: &who.username,
        },
    )
    .await?;
    audit::record(
        &mut *tx,
        &who.actor(),
        "report.definition.create",
        Some(&def.id.to_string()),
        serde_json::json!({"name": def.name, "framework": def.framework, "cron": def.cron, "formats": def.formats, "scope": def.scope}),
    )
    .await?;
    tx.commit().await.map_err(crate::store::StoreError::from)?;
    Ok(HttpResponse::Created().json(def))
}

/// Delete a report definition (editors); the reports it made stay.
#[utoipa::path(tag = "reports", params(("id" = Uuid, Path)), responses(
    (status = 204, description = "deleted"),
    (status = 401, body = Problem),
    (status = 403, body = Problem),
    (status = 404, body = Problem),
))]
#[delete("/api/v1/reports/definitions/{id}")]
pub async fn delete_definition(
    state: web::Data<AppState>,
    who: Authenticated,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    who.require(Role::Editor)?;
    let mut tx = state.pool.begin().await.map_err(crate::store::StoreError::from)?;
    if !reports::delete_definition(&mut tx, *id).await? {
        return Err(ApiError::NotFound(format!("no report definition with id {id}")));
    }
    audit::record(
        &mut *tx,
        &who.actor(),
        "report.definition.delete",
        Some(&id.to_string()),
        serde_json::json!({}),
    )
    .await?;
    tx.commit().await.map_err(crate::store::StoreError::from)?;
    Ok(HttpResponse::NoContent().finish())
}

/// Run a definition now (editors), in every format it names; its schedule is unchanged.
#[utoipa::path(tag = "reports", params(("id" = Uuid, Path)), responses(
    (status = 201, body = Made),
    (status = 401, body = Problem),
    (status = 403, body = Problem),
    (status = 404, body = Problem),
))]
#[post("/api/v1/reports/definitions/{id}/run")]
pub async fn run_definition(
    state: web::Data<AppState>,
    who: Authenticated,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    who.require(Role::Editor)?;
    let mut conn = state.pool.acquire().await.map_err(crate::store::StoreError::from)?;
    let def = reports::definition(&mut conn, *id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no report definition with id {id}")))?;
    drop(conn);
    let formats: Vec<ReportFormat> = def.formats.iter().filter_map(|f| ReportFormat::parse(f)).collect();
    let items =
        generator::generate(&state, &def.framework, &def.scope, &formats, Some(def.id), &who.username)
            .await?;
    Ok(HttpResponse::Created().json(Made { items }))
}
