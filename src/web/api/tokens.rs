//! API tokens: created by a user (role no higher than the creator's), shown once, listed by
//! metadata only, revocable by their owner or an admin.

use actix_web::{delete, get, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::Role;
use crate::store::audit;
use crate::store::tokens::{self, ApiToken};
use crate::web::auth::{Authenticated, Via};
use crate::web::error::{ApiError, Problem};
use crate::web::AppState;

use super::{page_limit, paginate, Page};

/// A token to create.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    /// What the token is for (1-100 characters).
    #[schema(example = "ci-pipeline")]
    pub name: String,
    /// Defaults to the creator's role; may not exceed it.
    pub role: Option<Role>,
    /// When the token stops working; absent means never.
    pub expires_at: Option<DateTime<Utc>>,
}

/// A created token: its metadata and the secret, shown this once.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedToken {
    #[serde(flatten)]
    pub token: ApiToken,
    /// Send as `Authorization: Bearer <secret>`. It cannot be shown again.
    pub secret: String,
}

/// Query for listing tokens.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct TokenQuery {
    /// Admins: list every user's tokens.
    pub all: Option<bool>,
    /// Page size, 1-500 (default 50).
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    #[serde(default, deserialize_with = "super::empty_as_none")]
    pub cursor: Option<String>,
}

/// A token cursor: the `created_at` and id of the previous page's last token.
fn token_cursor(t: &ApiToken) -> String {
    super::time_id_key(&t.created_at, &t.id)
}

/// The caller's tokens, newest first, a page at a time (admins may ask for all).
#[utoipa::path(tag = "tokens", params(TokenQuery), responses(
    (status = 200, body = Page<ApiToken>),
    (status = 400, body = Problem),
    (status = 401, body = Problem),
    (status = 403, body = Problem),
))]
#[get("/api/v1/tokens")]
pub async fn list_tokens(
    state: web::Data<AppState>,
    who: Authenticated,
    q: web::Query<TokenQuery>,
) -> Result<web::Json<Page<ApiToken>>, ApiError> {
    let user = if q.all == Some(true) {
        who.require(Role::Admin)?;
        None
    } else {
        Some(who.user_id)
    };
    let limit = page_limit(q.limit)?;
    let after = q.cursor.as_deref().map(super::decode_time_id_cursor).transpose()?;
    let rows = tokens::list(&state.pool, user, after, limit + 1).await?;
    Ok(web::Json(paginate(rows, limit, token_cursor)))
}

/// Create a token for the caller.
#[utoipa::path(tag = "tokens", request_body = CreateToken, responses(
    (status = 201, body = CreatedToken),
    (status = 400, body = Problem),
    (status = 401, body = Problem),
    (status = 403, body = Problem, description = "the role exceeds the caller's"),
))]
#[post("/api/v1/tokens")]
pub async fn create_token(
    state: web::Data<AppState>,
    who: Authenticated,
    body: web::Json<CreateToken>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Created().json(create(&state, &who, &body).await?))
}

/// Create a token for the caller (role at most theirs), audited; the API and the admin page both
/// call this.
pub async fn create(
    state: &AppState,
    who: &Authenticated,
    body: &CreateToken,
) -> Result<CreatedToken, ApiError> {
    let name = body.name.trim();
    let max = crate::domain::names::MAX_TOKEN_NAME_CHARS;
    if name.is_empty() || name.chars().count() > max || name.chars().any(char::is_control) {
        return Err(ApiError::BadRequest(format!("the token name must be 1-{max} printable characters")));
    }
    let role = body.role.unwrap_or(who.role);
    if role > who.role {
        return Err(ApiError::Forbidden(format!(
            "a token cannot have more rights than its creator: you are `{}`, the token asks for `{role}`",
            who.role
        )));
    }
    if body.expires_at.is_some_and(|t| t <= Utc::now()) {
        return Err(ApiError::BadRequest("expires_at is in the past".into()));
    }
    // A token made with a token cannot outlive it: otherwise a stolen short-lived token could
    // mint itself a permanent successor.
    if let Via::Token { id } = who.via {
        let parent = tokens::get(&state.pool, id).await?.and_then(|t| t.expires_at);
        if let Some(limit) = parent {
            match body.expires_at {
                None => {
                    return Err(ApiError::BadRequest(format!(
                        "a token created with a token cannot outlive it: set expires_at no later than {}",
                        limit.to_rfc3339()
                    )))
                }
                Some(t) if t > limit => {
                    return Err(ApiError::BadRequest(format!(
                        "a token created with a token cannot outlive it: expires_at must be no later than {}",
                        limit.to_rfc3339()
                    )))
                }
                Some(_) => {}
            }
        }
    }
    let (token, secret) = tokens::create(&state.pool, who.user_id, name, role, body.expires_at).await?;
    audit::record(
        &state.pool,
        &who.actor(),
        "token.create",
        Some(&token.name),
        serde_json::json!({"id": token.id, "role": role, "expires_at": token.expires_at}),
    )
    .await?;
    Ok(CreatedToken { token, secret })
}

/// Revoke a token (its owner or an admin). It stops working at once.
#[utoipa::path(tag = "tokens", params(("id" = Uuid, Path)), responses(
    (status = 204, description = "revoked"),
    (status = 401, body = Problem),
    (status = 404, body = Problem),
))]
#[delete("/api/v1/tokens/{id}")]
pub async fn revoke_token(
    state: web::Data<AppState>,
    who: Authenticated,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    revoke(&state, &who, id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Revoke a live token of the caller's (any, for an admin), audited; the API and the admin page
/// both call this.
pub async fn revoke(state: &AppState, who: &Authenticated, id: Uuid) -> Result<(), ApiError> {
    let token = tokens::get(&state.pool, id).await?;
    // Someone else's token is "not found" to a non-admin, so ids cannot be probed.
    let token = token
        .filter(|t| t.user_id == who.user_id || who.role == Role::Admin)
        .filter(|t| t.revoked_at.is_none())
        .ok_or_else(|| ApiError::NotFound(format!("no live token with id {id}")))?;
    tokens::revoke(&state.pool, id).await?;
    state.credentials.invalidate();
    audit::record(
        &state.pool,
        &who.actor(),
        "token.revoke",
        Some(&token.name),
        serde_json::json!({"id": id}),
    )
    .await?;
    Ok(())
}
