//! Local users (admin only): list, create, change role / password / disabled.

use actix_web::{get, patch, post, web, HttpResponse};
use serde::Deserialize;
use uuid::Uuid;

use crate::domain::{validate_password, Role, Username};
use crate::store::audit;
use crate::store::users::{self, User};
use crate::web::auth::Authenticated;
use crate::web::error::{ApiError, Problem};
use crate::web::AppState;

use super::{decode_cursor, page_limit, paginate, Page};

/// A new user.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    #[schema(value_type = String, example = "alice")]
    pub username: Username,
    /// At least 12 characters.
    #[schema(format = Password)]
    pub password: String,
    pub role: Role,
}

/// Changes to a user; absent fields stay as they are.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    #[schema(format = Password)]
    pub password: Option<String>,
    pub role: Option<Role>,
    pub disabled: Option<bool>,
}

/// Paging and filters of the users list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct UserQuery {
    /// Page size, 1-500 (default 50).
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    #[serde(default, deserialize_with = "super::empty_as_none")]
    pub cursor: Option<String>,
    /// Only users with this role.
    pub role: Option<Role>,
    /// Part of the name.
    pub q: Option<String>,
}

/// Users by name, a page at a time.
#[utoipa::path(tag = "users", params(UserQuery), responses(
    (status = 200, body = Page<User>),
    (status = 400, body = Problem),
    (status = 401, body = Problem),
    (status = 403, body = Problem),
))]
#[get("/api/v1/users")]
pub async fn list_users(
    state: web::Data<AppState>,
    who: Authenticated,
    q: web::Query<UserQuery>,
) -> Result<web::Json<Page<User>>, ApiError> {
    who.require(Role::Admin)?;
    let limit = page_limit(q.limit)?;
    let after = q.cursor.as_deref().map(decode_cursor).transpose()?;
    let name = q.q.as_deref().filter(|s| !s.is_empty());
    let rows = users::list_page(&state.pool, after.as_deref(), q.role, name, limit + 1).await?;
    Ok(web::Json(paginate(rows, limit, |u| u.username.clone())))
}

/// Create a user.
#[utoipa::path(tag = "users", request_body = CreateUser, responses(
    (status = 201, body = User),
    (status = 400, body = Problem),
    (status = 401, body = Problem),
    (status = 403, body = Problem),
    (status = 409, body = Problem, description = "the name is taken"),
))]
#[post("/api/v1/users")]
pub async fn create_user(
    state: web::Data<AppState>,
    who: Authenticated,
    body: web::Json<CreateUser>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Created().json(create(&state, &who, &body).await?))
}

/// Create a user (admins only), audited; the API and the admin page both call this.
pub async fn create(state: &AppState, who: &Authenticated, body: &CreateUser) -> Result<User, ApiError> {
    who.require(Role::Admin)?;
    validate_password(&body.password).map_err(ApiError::BadRequest)?;
    let user = users::create(&state.pool, &body.username, &body.password, body.role).await?;
    audit::record(
        &state.pool,
        &who.actor(),
        "user.create",
        Some(&user.username),
        serde_json::json!({"role": user.role}),
    )
    .await?;
    Ok(user)
}

/// Change a user's role, password or disabled flag. Disabling or a new password ends their
/// sessions; disabling also revokes their tokens, and lowering the role revokes tokens above it.
#[utoipa::path(tag = "users", params(("id" = Uuid, Path)), request_body = UpdateUser, responses(
    (status = 200, body = User),
    (status = 400, body = Problem),
    (status = 401, body = Problem),
    (status = 403, body = Problem),
    (status = 404, body = Problem),
    (status = 409, body = Problem, description = "would leave no enabled admin"),
))]
#[patch("/api/v1/users/{id}")]
pub async fn update_user(
    state: web::Data<AppState>,
    who: Authenticated,
    id: web::Path<Uuid>,
    body: web::Json<UpdateUser>,
) -> Result<web::Json<User>, ApiError> {
    Ok(web::Json(update(&state, &who, id.into_inner(), &body).await?))
}

/// Change a user (admins only; never the last enabled admin away), audited; the API and the
/// admin page both call this.
pub async fn update(
    state: &AppState,
    who: &Authenticated,
    id: Uuid,
    body: &UpdateUser,
) -> Result<User, ApiError> {
    who.require(Role::Admin)?;
    if let Some(p) = &body.password {
        validate_password(p).map_err(ApiError::BadRequest)?;
    }
    let target = users::get(&state.pool, id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no user with id {id}")))?;
    let loses_admin = target.role == Role::Admin
        && !target.disabled
        && (body.role.is_some_and(|r| r != Role::Admin) || body.disabled == Some(true));
    if loses_admin && users::count_enabled_admins(&state.pool).await? <= 1 {
        return Err(ApiError::Conflict("this is the last enabled admin; make another admin first".into()));
    }
    let user = users::update(&state.pool, id, body.password.as_deref(), body.role, body.disabled).await?;
    state.credentials.invalidate();
    audit::record(
        &state.pool,
        &who.actor(),
        "user.update",
        Some(&user.username),
        serde_json::json!({"role": body.role, "disabled": body.disabled, "password_changed": body.password.is_some()}),
    )
    .await?;
    Ok(user)
}
