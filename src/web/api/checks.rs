//! The check catalog: `GET /api/v1/checks` (every check, filterable by area, severity and
//! framework control) and `GET /api/v1/checks/{id}`. Any authenticated user may read it.

use actix_web::{get, web};
use serde::Deserialize;

use super::Page;
use crate::checks::{catalog, find};
use crate::domain::{Area, Role, Severity};
use crate::frameworks::CheckInfo;
use crate::web::auth::Authenticated;
use crate::web::error::{ApiError, Problem};

/// Catalog filters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct CatalogQuery {
    /// Only checks in this area (`host`, `authn`, `authz`, `tls`, `network`).
    pub area: Option<String>,
    /// Only checks of this severity or worse (`info` … `critical`).
    pub min_severity: Option<String>,
    /// Only checks mapped to this framework control, as `framework:id` (e.g. `cis-1.12:1.2.1`)
    /// or a framework alone (`cis-1.12`).
    pub control: Option<String>,
}

/// List the check catalog.
#[utoipa::path(tag = "checks", params(CatalogQuery), responses(
    (status = 200, body = Page<CheckInfo>),
    (status = 400, body = Problem),
    (status = 401, body = Problem),
))]
#[get("/api/v1/checks")]
pub async fn list_checks(
    who: Authenticated,
    q: web::Query<CatalogQuery>,
) -> Result<web::Json<Page<CheckInfo>>, ApiError> {
    who.require(Role::Viewer)?;
    let area = q.area.as_deref().map(str::parse::<Area>).transpose().map_err(ApiError::BadRequest)?;
    let min =
        q.min_severity.as_deref().map(str::parse::<Severity>).transpose().map_err(ApiError::BadRequest)?;
    let control = q.control.as_deref().map(|c| match c.split_once(':') {
        Some((fw, id)) => (fw.to_string(), Some(id.to_string())),
        None => (c.to_string(), None),
    });
    let items = catalog()
        .into_iter()
        .filter(|c| area.is_none_or(|a| c.meta.area == a))
        .filter(|c| min.is_none_or(|s| c.meta.severity >= s))
        .filter(|c| match &control {
            None => true,
            Some((fw, id)) => crate::frameworks::registry::refs_of(c.meta.id)
                .iter()
                .any(|r| &r.framework == fw && id.as_deref().is_none_or(|want| want == r.id)),
        })
        .map(|c| CheckInfo::from(&c.meta))
        .collect();
    Ok(web::Json(Page { items, next_cursor: None }))
}

/// One catalog entry.
#[utoipa::path(tag = "checks", params(("id" = String, Path, description = "Check id, e.g. PAL-AUTHN-001")),
    responses(
        (status = 200, body = CheckInfo),
        (status = 401, body = Problem),
        (status = 404, body = Problem),
    ))]
#[get("/api/v1/checks/{id}")]
pub async fn get_check(who: Authenticated, id: web::Path<String>) -> Result<web::Json<CheckInfo>, ApiError> {
    who.require(Role::Viewer)?;
    let check = find(&id).ok_or_else(|| ApiError::NotFound(format!("no check with id `{id}`")))?;
    Ok(web::Json(CheckInfo::from(&check.meta)))
}
