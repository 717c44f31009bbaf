//! The REST API under `/api/v1`, documented with utoipa.
//!
//! Adding an endpoint module: write handlers with `#[utoipa::path]` + an actix route macro
//! (full path, e.g. `#[get("/api/v1/checks")]`), then list them in ONE place here: the
//! `paths(...)` of [`ApiDoc`] and [`configure`]. The test
//! `every_api_route_refuses_unauthenticated_requests` walks the OpenAPI document, so a route
//! left out of `paths` is noticed, and one listed there must be protected.

pub mod agents;
pub mod audit;
pub mod auth;
pub mod checks;
pub mod clusters;
pub mod contract;
pub mod exceptions;
pub mod findings;
pub mod frameworks;
pub mod health;
pub mod metrics;
pub mod network;
pub mod rbac;
pub mod reports;
pub mod scans;
pub mod tokens;
pub mod trends;
pub mod users;

use actix_web::{web, HttpResponse};
use base64::Engine;
use serde::Serialize;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_swagger_ui::SwaggerUi;

use super::error::{ApiError, Problem};

/// The OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Palisade API",
        description = "Security posture scanning for fleets of Kubernetes clusters. Authenticate with \
                       `Authorization: Bearer <token>` (create one at POST /api/v1/tokens) or the session \
                       cookie plus `X-CSRF-Token` for state changes. Errors are application/problem+json."
    ),
    paths(
        health::healthz,
        health::readyz,
        auth::login,
        auth::logout,
        auth::me,
        auth::list_sessions,
        auth::revoke_session,
        auth::change_password,
        users::list_users,
        users::create_user,
        users::update_user,
        tokens::list_tokens,
        tokens::create_token,
        tokens::revoke_token,
        clusters::list_clusters,
        clusters::register_cluster,
        clusters::get_cluster,
        clusters::update_cluster,
        clusters::delete_cluster,
        clusters::check_cluster,
        clusters::replace_credentials,
        agents::create_agent_token,
        agents::list_agent_tokens,
        agents::revoke_agent_token,
        agents::list_agents,
        agents::ingest_node,
        agents::ingest_cluster,
        audit::list_audit,
        checks::list_checks,
        checks::get_check,
        frameworks::list_frameworks,
        frameworks::framework_compliance,
        exceptions::list_exceptions,
        exceptions::get_exception,
        exceptions::create_exception,
        exceptions::update_exception,
        exceptions::delete_exception,
        reports::list_definitions,
        reports::create_definition,
        reports::delete_definition,
        reports::run_definition,
        reports::create_report,
        reports::list_reports,
        reports::get_report,
        reports::report_content,
        scans::trigger_scan,
        scans::list_scans,
        scans::get_scan,
        scans::scan_results,
        scans::scan_oscal,
        scans::scan_diff,
        scans::get_schedule,
        scans::set_schedule,
        findings::list_findings,
        trends::get_trends,
        trends::fleet,
        network::reachability,
        network::namespace,
        rbac::who_can,
        rbac::subject,
        metrics::get_metrics,
    ),
    components(schemas(Problem, crate::store::findings::FindingState)),
    modifiers(&Security),
    security(("bearer" = []), ("session" = [])),
    tags(
        (name = "health", description = "Liveness and readiness"),
        (name = "auth", description = "Login, logout, sessions"),
        (name = "users", description = "Local users (admin)"),
        (name = "tokens", description = "API tokens for integrations"),
        (name = "clusters", description = "The cluster registry"),
        (name = "agents", description = "Node agents: their tokens (admin), their reports, and the ingest endpoint they post to"),
        (name = "audit", description = "The audit log (admin)"),
        (name = "checks", description = "The check catalog"),
        (name = "frameworks", description = "Compliance frameworks (CIS Kubernetes Benchmark, NSA/CISA) and their controls judged over a cluster, a group or the fleet"),
        (name = "exceptions", description = "Exceptions (waivers): accepted results that keep their status but count against neither the score nor compliance, until they expire"),
        (name = "reports", description = "Compliance reports (HTML, PDF, CSV, JSON) made on demand or on a schedule, stored and downloadable"),
        (name = "scans", description = "Scans, their results and diffs, schedules"),
        (name = "findings", description = "Findings across the fleet with their lifecycle"),
        (name = "trends", description = "Trends and the fleet overview"),
        (name = "network", description = "NetworkPolicy reachability and isolation of a cluster's latest scan"),
        (name = "rbac", description = "Who can do what in a cluster, from its latest snapshot"),
        (name = "metrics", description = "Prometheus metrics of the fleet's posture and the scan queue"),
    )
)]
pub struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("pal_…").build(),
            ),
        );
        components.add_security_scheme(
            "agent",
            SecurityScheme::Http(
                HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("pla_…").build(),
            ),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(super::auth::SESSION_COOKIE))),
        );
    }
}

/// Register the API routes, `/api/openapi.json` and the Swagger UI at `/api/docs/`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(health::healthz)
        .service(health::readyz)
        .service(auth::login)
        .service(auth::logout)
        .service(auth::me)
        .service(auth::list_sessions)
        .service(auth::revoke_session)
        .service(auth::change_password)
        .service(users::list_users)
        .service(users::create_user)
        .service(users::update_user)
        .service(tokens::list_tokens)
        .service(tokens::create_token)
        .service(tokens::revoke_token)
        .service(clusters::list_clusters)
        .service(clusters::register_cluster)
        .service(clusters::get_cluster)
        .service(clusters::update_cluster)
        .service(clusters::delete_cluster)
        .service(clusters::check_cluster)
        .service(agents::create_agent_token)
        .service(agents::list_agent_tokens)
        .service(agents::revoke_agent_token)
        .service(agents::list_agents)
        .service(agents::ingest_node)
        .service(agents::ingest_cluster)
        .service(clusters::replace_credentials)
        .service(audit::list_audit)
        .service(checks::list_checks)
        .service(checks::get_check)
        .service(frameworks::list_frameworks)
        .service(frameworks::framework_compliance)
        .service(exceptions::list_exceptions)
        .service(exceptions::get_exception)
        .service(exceptions::create_exception)
        .service(exceptions::update_exception)
        .service(exceptions::delete_exception)
        // The definitions' paths before `/api/v1/reports/{id}`, which would take `definitions`.
        .service(reports::list_definitions)
        .service(reports::create_definition)
        .service(reports::delete_definition)
        .service(reports::run_definition)
        .service(reports::create_report)
        .service(reports::list_reports)
        .service(reports::get_report)
        .service(reports::report_content)
        .service(scans::trigger_scan)
        .service(scans::list_scans)
        .service(scans::get_scan)
        .service(scans::scan_results)
        .service(scans::scan_oscal)
        .service(scans::scan_diff)
        .service(scans::get_schedule)
        .service(scans::set_schedule)
        .service(findings::list_findings)
        .service(trends::get_trends)
        .service(trends::fleet)
        .service(network::reachability)
        .service(network::namespace)
        .service(rbac::who_can)
        .service(rbac::subject)
        .service(metrics::get_metrics)
        .service(
            SwaggerUi::new("/api/docs/{_:.*}")
                .external_url_unchecked("/api/openapi.json", served_document().clone()),
        )
        .route(
            "/api/docs",
            web::get()
                .to(|| async { HttpResponse::Found().insert_header(("Location", "/api/docs/")).finish() }),
        );
}

/// The document served at `/api/openapi.json`: [`ApiDoc`] completed by [`contract::apply`].
pub fn served_document() -> &'static serde_json::Value {
    static DOC: std::sync::LazyLock<serde_json::Value> =
        std::sync::LazyLock::new(|| contract::apply(&ApiDoc::openapi()));
    &DOC
}

/// What answers a request no route took (the App's default service): a documented path asked
/// with another method answers 405 with `Allow`; any other `/api/…` path a problem 404; the rest
/// a plain 404.
pub async fn fallback(req: actix_web::HttpRequest) -> Result<HttpResponse, ApiError> {
    let path = req.path();
    if let Some(allowed) = contract::allowed_methods(served_document(), path) {
        if !allowed.is_empty() {
            return Err(ApiError::MethodNotAllowed(allowed));
        }
    }
    if path == "/api" || path.starts_with("/api/") {
        return Err(ApiError::NotFound("no such API route; see /api/docs/".into()));
    }
    Ok(HttpResponse::NotFound().content_type("text/plain; charset=utf-8").body("404 Not Found\n"))
}

/// One page of a list, with the cursor for the next page (absent on the last page).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page.
    pub next_cursor: Option<String>,
}

/// The largest page a list endpoint returns.
pub const MAX_LIMIT: i64 = 500;

/// Validate a `limit` query parameter (default 50, 1..=500).
pub fn page_limit(limit: Option<i64>) -> Result<i64, ApiError> {
    match limit {
        None => Ok(50),
        Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        Some(n) => Err(ApiError::BadRequest(format!("limit must be between 1 and {MAX_LIMIT}, not {n}"))),
    }
}

/// Parse a `label=k=v,k2=v2` filter parameter (absent or empty: no label filter).
pub fn label_filter(label: Option<&str>) -> Result<crate::domain::Labels, ApiError> {
    match label.filter(|l| !l.is_empty()) {
        Some(l) => crate::domain::Labels::from_pairs(l.split(',')).map_err(ApiError::BadRequest),
        None => Ok(crate::domain::Labels::default()),
    }
}

/// Read an optional query value, taking an empty one (`cursor=`) as absent, the way forms send
/// an unfilled field.
pub fn empty_as_none<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let value: Option<String> = serde::Deserialize::deserialize(d)?;
    Ok(value.filter(|v| !v.is_empty()))
}

/// Make an opaque cursor from the last item's sort key.
pub fn encode_cursor(key: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key)
}

/// Read a cursor made by [`encode_cursor`].
pub fn decode_cursor(cursor: &str) -> Result<String, ApiError> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(invalid_cursor)
}

/// The answer to a cursor that was not passed back unchanged.
pub fn invalid_cursor() -> ApiError {
    ApiError::BadRequest("the cursor is not valid; pass back next_cursor unchanged".into())
}

/// The key of a list ordered by `(created_at, id)` descending, for [`paginate`].
pub fn time_id_key(at: &chrono::DateTime<chrono::Utc>, id: &uuid::Uuid) -> String {
    format!("{}|{id}", at.to_rfc3339())
}

/// Read a cursor of [`time_id_key`].
pub fn decode_time_id_cursor(cursor: &str) -> Result<(chrono::DateTime<chrono::Utc>, uuid::Uuid), ApiError> {
    let raw = decode_cursor(cursor)?;
    let (at, id) = raw.split_once('|').ok_or_else(invalid_cursor)?;
    let at =
        chrono::DateTime::parse_from_rfc3339(at).map_err(|_| invalid_cursor())?.with_timezone(&chrono::Utc);
    Ok((at, id.parse().map_err(|_| invalid_cursor())?))
}

/// Read a cursor made by [`encode_cursor`] from an id.
pub fn decode_cursor_id(cursor: &str) -> Result<uuid::Uuid, ApiError> {
    decode_cursor(cursor)?.parse().map_err(|_| invalid_cursor())
}

/// Cut a `limit + 1` fetch into a page, making the cursor from the last item kept.
pub fn paginate<T>(mut rows: Vec<T>, limit: i64, key: impl Fn(&T) -> String) -> Page<T> {
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = if more { rows.last().map(|r| encode_cursor(&key(r))) } else { None };
    Page { items: rows, next_cursor }
}
