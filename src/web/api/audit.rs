//! The audit log (admin only), newest first, paginated by cursor.

use actix_web::{get, web};
use serde::Deserialize;

use super::{decode_cursor, page_limit, paginate, Page};
use crate::domain::Role;
use crate::store::audit::{self, AuditEntry};
use crate::web::auth::Authenticated;
use crate::web::error::{ApiError, Problem};
use crate::web::AppState;

/// Audit log query.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct AuditQuery {
    /// Page size, 1-500 (default 50).
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    #[serde(default, deserialize_with = "super::empty_as_none")]
    pub cursor: Option<String>,
    /// Only this action, e.g. `cluster.register`.
    pub action: Option<String>,
}

/// Read the audit log.
#[utoipa::path(tag = "audit", params(AuditQuery), responses(
    (status = 200, body = Page<AuditEntry>),
    (status = 400, body = Problem),
    (status = 401, body = Problem),
    (status = 403, body = Problem),
))]
#[get("/api/v1/audit")]
pub async fn list_audit(
    state: web::Data<AppState>,
    who: Authenticated,
    q: web::Query<AuditQuery>,
) -> Result<web::Json<Page<AuditEntry>>, ApiError> {
    who.require(Role::Admin)?;
    let limit = page_limit(q.limit)?;
    let before = match &q.cursor {
        Some(c) => Some(decode_cursor(c)?.parse::<i64>().map_err(|_| super::invalid_cursor())?),
        None => None,
    };
    let rows = audit::list(&state.pool, limit + 1, before, q.action.as_deref()).await?;
    Ok(web::Json(paginate(rows, limit, |e| e.id.to_string())))
}
