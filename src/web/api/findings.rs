//! Fleet-wide findings API: open, resolved or all findings with their lifecycle (first seen, last
//! seen, opened, resolved, reopened), filterable by cluster, cluster labels or group, area,
//! severity, check and time. Viewers may read.

use actix_web::{get, web};
use serde::Deserialize;
use uuid::Uuid;

use super::scans::parse_opt;
use super::{decode_cursor_id, page_limit, paginate, Page};
use crate::domain::{Area, Role, Severity};
use crate::store::findings::{self, Finding, FindingFilter, FindingState};
use crate::web::auth::Authenticated;
use crate::web::error::{ApiError, Problem};
use crate::web::AppState;

/// Finding filters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct FindingQuery {
    /// Page size, 1-500 (default 50).
    pub limit: Option<i64>,
    #[serde(default, deserialize_with = "super::empty_as_none")]
    pub cursor: Option<String>,
    /// `open` (default: failing or warning now), `resolved` or `all`.
    pub state: Option<FindingState>,
    /// Only this cluster.
    pub cluster: Option<Uuid>,
    /// Only clusters in this group.
    pub group: Option<String>,
    /// Cluster label filter: `key=value[,key=value…]`; every pair must match.
    pub label: Option<String>,
    pub area: Option<String>,
    pub severity: Option<String>,
    pub check: Option<String>,
    /// RFC 3339 time: open findings opened since then ("new this week"), or with
    /// `state=resolved`, resolved since then ("resolved this week").
    pub since: Option<chrono::DateTime<chrono::Utc>>,
    /// `true`: only findings an exception in force covers; `false`: only the others.
    pub excepted: Option<bool>,
}

/// Findings across the fleet, by id.
#[utoipa::path(tag = "findings", params(FindingQuery), responses(
    (status = 200, body = Page<Finding>),
    (status = 400, body = Problem),
    (status = 401, body = Problem),
))]
#[get("/api/v1/findings")]
pub async fn list_findings(
    state: web::Data<AppState>,
    who: Authenticated,
    q: web::Query<FindingQuery>,
) -> Result<web::Json<Page<Finding>>, ApiError> {
    who.require(Role::Viewer)?;
    let q = q.into_inner();
    let limit = page_limit(q.limit)?;
    let labels = super::label_filter(q.label.as_deref())?;
    let after = q.cursor.as_deref().map(decode_cursor_id).transpose()?;
    let filter = FindingFilter {
        state: q.state.unwrap_or_default(),
        cluster: q.cluster,
        group: q.group.filter(|g| !g.is_empty()),
        labels: labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        area: parse_opt::<Area>(q.area.as_deref())?,
        severity: parse_opt::<Severity>(q.severity.as_deref())?,
        check: q.check.filter(|c| !c.is_empty()),
        since: q.since,
        excepted: q.excepted,
    };
    let rows = findings::list(&state.pool, &filter, after, limit + 1).await?;
    Ok(web::Json(paginate(rows, limit, |f| f.id.to_string())))
}
