//! Exceptions (waivers) of findings: viewers read them, editors make, change and remove them,
//! admins approve or reject them when `[exceptions] require_approval` is on. A result an
//! exception in force covers keeps its status, carries `"exception": {"id", "expires_at"}` in the
//! results and findings lists (filter with `excepted=`), and does not count against the score
//! (from the next scan) or the compliance percentage (at once). When it expires it covers nothing.

use actix_web::{delete, get, patch, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{page_limit, paginate, Page};
use crate::domain::{GroupName, Role};
use crate::registry::exceptions::{self as service, ExceptionChange, ExceptionInput};
use crate::store::exceptions::{self, ExceptionFilter, ExceptionRecord, ExceptionScope, ExceptionState};
use crate::web::auth::Authenticated;
use crate::web::error::{ApiError, Problem};
use crate::web::AppState;

/// What an exception covers: exactly one of `cluster` (an id), `group` (a group name) or
/// `"all": true` (every cluster).
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScopeBody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub group: Option<GroupName>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub all: Option<bool>,
}

impl ScopeBody {
    fn parse(&self) -> Result<ExceptionScope, ApiError> {
        match (self.cluster, &self.group, self.all) {
            (Some(id), None, None) => Ok(ExceptionScope::Cluster(id)),
            (None, Some(g), None) => Ok(ExceptionScope::Group(g.to_string())),
            (None, None, Some(true)) => Ok(ExceptionScope::All),
            _ => Err(ApiError::BadRequest(
                "scope takes exactly one of {\"cluster\": ID}, {\"group\": NAME} or {\"all\": true}".into(),
            )),
        }
    }

    fn of(scope: &ExceptionScope) -> ScopeBody {
        match scope {
            ExceptionScope::All => ScopeBody { all: Some(true), ..Default::default() },
            ExceptionScope::Cluster(id) => ScopeBody { cluster: Some(*id), ..Default::default() },
            ExceptionScope::Group(g) => {
                ScopeBody { group: GroupName::try_from(g.clone()).ok(), ..Default::default() }
            }
        }
    }
}

/// An exception to make.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateException {
    /// The check whose results it covers, e.g. `PAL-AUTHN-001`.
    pub check_id: String,
    pub scope: ScopeBody,
    /// Only resources in this namespace; absent: any (cluster-scoped resources included).
    pub namespace: Option<String>,
    /// Only resources whose name matches this glob (`*` any run, `?` one character); absent: any.
    #[schema(example = "kube-*")]
    pub resource: Option<String>,
    /// Why the risk is accepted.
    pub justification: String,
    /// When it stops covering anything (must be in the future).
    pub expires_at: DateTime<Utc>,
    /// Who answers for it (a person or a team); absent: its creator.
    pub owner: Option<String>,
}

/// Changes to an exception; absent fields stay, `null` clears `namespace`, `resource` or `owner`.
/// `state` is an admin's decision. Under required approval an editor's change makes it
/// `pending` again.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateException {
    pub scope: Option<ScopeBody>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub namespace: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub resource: Option<Option<String>>,
    pub justification: Option<String>,
    pub expires_at: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub owner: Option<Option<String>>,
    /// `approved` or `rejected` (admins).
    pub state: Option<ExceptionState>,
}

/// Present-and-null as `Some(None)`, absent as `None`.
fn double_option<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// An exception.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Exception {
    pub id: Uuid,
    pub check_id: String,
    pub scope: ScopeBody,
    pub namespace: Option<String>,
    pub resource: Option<String>,
    pub justification: String,
    /// Who answers for it: as given, or its creator.
    pub owner: String,
    pub expires_at: DateTime<Utc>,
    pub state: ExceptionState,
    /// Approved and not expired: it covers results now.
    pub in_force: bool,
    pub expired: bool,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The admin who approved or rejected it.
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
}

impl From<ExceptionRecord> for Exception {
    fn from(e: ExceptionRecord) -> Self {
        let expired = e.expires_at <= Utc::now();
        Exception {
            id: e.id,
            scope: ScopeBody::of(&e.scope),
            owner: e.owner.unwrap_or_else(|| e.created_by.clone()),
            in_force: e.state == ExceptionState::Approved && !expired,
            expired,
            check_id: e.check_id,
            namespace: e.namespace,
            resource: e.resource,
            justification: e.justification,
            expires_at: e.expires_at,
            state: e.state,
            created_by: e.created_by,
            created_at: e.created_at,
            updated_at: e.updated_at,
            decided_by: e.decided_by,
            decided_at: e.decided_at,
        }
    }
}

/// Exception filters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ExceptionQuery {
    /// Page size, 1-500 (default 50).
    pub limit: Option<i64>,
    #[serde(default, deserialize_with = "super::empty_as_none")]
    pub cursor: Option<String>,
    /// `pending`, `approved` or `rejected`.
    pub state: Option<ExceptionState>,
    /// `true`: only those covering results now; `false`: only those not (pending, rejected, expired).
    pub in_force: Option<bool>,
    /// Only exceptions of this check.
    #[serde(default, deserialize_with = "super::empty_as_none")]
    pub check: Option<String>,
    /// Only exceptions that can cover this cluster (scoped to it, its group or all clusters).
    pub cluster: Option<Uuid>,
}

/// Exceptions, newest first.
#[utoipa::path(tag = "exceptions", params(ExceptionQuery), responses(
    (status = 200, body = Page<Exception>),
    (status = 400, body = Problem),
    (status = 401, body = Problem),
))]
#[get("/api/v1/exceptions")]
pub async fn list_exceptions(
    state: web::Data<AppState>,
    who: Authenticated,
    q: web::Query<ExceptionQuery>,
) -> Result<web::Json<Page<Exception>>, ApiError> {
    who.require(Role::Viewer)?;
    let limit = page_limit(q.limit)?;
    let after = q.cursor.as_deref().map(super::decode_time_id_cursor).transpose()?;
    let filter =
        ExceptionFilter { state: q.state, check: q.check.clone(), cluster: q.cluster, in_force: q.in_force };
    let items: Vec<Exception> = exceptions::list(&state.pool, &filter, after, limit + 1)
        .await?
        .into_iter()
        .map(Exception::from)
        .collect();
    Ok(web::Json(paginate(items, limit, |e| super::time_id_key(&e.created_at, &e.id))))
}

/// One exception.
#[utoipa::path(tag = "exceptions", params(("id" = Uuid, Path)), responses(
    (status = 200, body = Exception),
    (status = 401, body = Problem),
    (status = 404, body = Problem),
))]
#[get("/api/v1/exceptions/{id}")]
pub async fn get_exception(
    state: web::Data<AppState>,
    who: Authenticated,
    id: web::Path<Uuid>,
) -> Result<web::Json<Exception>, ApiError> {
    who.require(Role::Viewer)?;
    Ok(web::Json(service::get(&state.pool, *id).await?.into()))
}

/// Make an exception (editors). With required approval an editor's waits as `pending`.
#[utoipa::path(tag = "exceptions", request_body = CreateException, responses(
    (status = 201, body = Exception),
    (status = 400, body = Problem, description = "a field breaks its rule (expires_at in the past, a blank justification …)"),
    (status = 401, body = Problem),
    (status = 403, body = Problem),
    (status = 404, body = Problem, description = "no such check or cluster"),
))]
#[post("/api/v1/exceptions")]
pub async fn create_exception(
    state: web::Data<AppState>,
    who: Authenticated,
    body: web::Json<CreateException>,
) -> Result<HttpResponse, ApiError> {
    who.require(Role::Editor)?;
    let b = body.into_inner();
    let input = ExceptionInput {
        check_id: b.check_id,
        scope: b.scope.parse()?,
        namespace: b.namespace,
        resource: b.resource,
        justification: b.justification,
        expires_at: b.expires_at,
        owner: b.owner,
    };
    let record =
        service::create(&state.pool, state.settings.exceptions.require_approval, &who.actor(), input).await?;
    Ok(HttpResponse::Created().json(Exception::from(record)))
}

/// Change an exception (editors), or approve or reject it (admins).
#[utoipa::path(tag = "exceptions", params(("id" = Uuid, Path)), request_body = UpdateException, responses(
    (status = 200, body = Exception),
    (status = 400, body = Problem, description = "a field breaks its rule"),
    (status = 401, body = Problem),
    (status = 403, body = Problem, description = "only an admin sets state"),
    (status = 404, body = Problem),
))]
#[patch("/api/v1/exceptions/{id}")]
pub async fn update_exception(
    state: web::Data<AppState>,
    who: Authenticated,
    id: web::Path<Uuid>,
    body: web::Json<UpdateException>,
) -> Result<web::Json<Exception>, ApiError> {
    who.require(Role::Editor)?;
    let b = body.into_inner();
    let change = ExceptionChange {
        scope: b.scope.as_ref().map(ScopeBody::parse).transpose()?,
        namespace: b.namespace,
        resource: b.resource,
        justification: b.justification,
        expires_at: b.expires_at,
        owner: b.owner,
        state: b.state,
    };
    let record =
        service::update(&state.pool, state.settings.exceptions.require_approval, &who.actor(), *id, change)
            .await?;
    Ok(web::Json(record.into()))
}

/// Remove an exception (editors): what it covered counts again at once.
#[utoipa::path(tag = "exceptions", params(("id" = Uuid, Path)), responses(
    (status = 204, description = "removed"),
    (status = 401, body = Problem),
    (status = 403, body = Problem),
    (status = 404, body = Problem),
))]
#[delete("/api/v1/exceptions/{id}")]
pub async fn delete_exception(
    state: web::Data<AppState>,
    who: Authenticated,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    who.require(Role::Editor)?;
    service::delete(&state.pool, &who.actor(), *id).await?;
    Ok(HttpResponse::NoContent().finish())
}
