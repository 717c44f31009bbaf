//! Login and logout (session cookie), who am I, one's own sessions and password.
//! Failed logins are throttled per account and per address (counted in PostgreSQL so every
//! replica sees them).

use actix_web::{delete, get, post, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::{validate_password, Role};
use crate::store::audit::{self, Actor};
use crate::store::sessions::{self, SessionInfo};
use crate::store::users;
use crate::web::auth::{clear_session_cookie, peer_address, session_cookie, Authenticated, Via};
use crate::web::error::ApiError;
use crate::web::AppState;

/// Credentials for logging in.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub username: String,
    #[schema(format = Password)]
    pub password: String,
}

/// Who the caller is.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Me {
    pub user_id: Uuid,
    pub username: String,
    pub role: Role,
    /// `session` or `token`.
    pub via: String,
    /// Send back as `X-CSRF-Token` on state-changing requests made with the session cookie.
    pub csrf_token: Option<String>,
}

impl From<&Authenticated> for Me {
    fn from(a: &Authenticated) -> Me {
        Me {
            user_id: a.user_id,
            username: a.username.clone(),
            role: a.role,
            via: match a.via {
                Via::Session { .. } => "session".into(),
                Via::Token { .. } => "token".into(),
            },
            csrf_token: a.csrf_token().map(str::to_string),
        }
    }
}

/// Outcome of a login attempt, shared by the API and the HTML login form.
pub enum LoginOutcome {
    /// Session secret (for the cookie), CSRF token, and the user.
    Ok {
        secret: String,
        csrf: String,
        user: users::User,
    },
    Denied,
}

/// 429 while `username` or `address` has too many recent failed password checks (logins and
/// password changes count alike).
async fn refuse_if_throttled(state: &AppState, username: &str, address: &str) -> Result<(), ApiError> {
    let a = &state.settings.auth;
    let window = chrono::Duration::seconds(a.failed_login_window_secs);
    let (by_account, by_address) = sessions::recent_failures(&state.pool, username, address, window).await?;
    // An address is allowed more failures than an account: many people may share one NAT.
    if by_account >= a.max_failed_logins || by_address >= a.max_failed_logins * 4 {
        return Err(ApiError::TooManyRequests(a.failed_login_window_secs as u64));
    }
    Ok(())
}

/// Check throttling, verify the password, start a session, audit. Used by both login paths.
pub async fn attempt_login(
    state: &AppState,
    username: &str,
    password: &str,
    address: &str,
) -> Result<LoginOutcome, ApiError> {
    let a = &state.settings.auth;
    refuse_if_throttled(state, username, address).await?;
    let actor = Actor {
        id: None,
        name: username.chars().take(64).collect(),
        address: Some(address.to_string()),
        admin: false,
    };
    match users::authenticate(&state.pool, username, password).await? {
        Some(user) => {
            let ttl = chrono::Duration::hours(a.session_ttl_hours);
            let (secret, csrf) = sessions::create(&state.pool, user.id, Some(address), ttl).await?;
            sessions::clear_failures(&state.pool, username).await?;
            let actor = Actor { id: Some(user.id), ..actor };
            audit::record(&state.pool, &actor, "auth.login", Some(&user.username), serde_json::json!({}))
                .await?;
            Ok(LoginOutcome::Ok { secret, csrf, user })
        }
        None => {
            sessions::record_failure(&state.pool, username, address).await?;
            audit::record(&state.pool, &actor, "auth.login_failed", None, serde_json::json!({})).await?;
            Ok(LoginOutcome::Denied)
        }
    }
}

/// Log in with a username and password; sets the session cookie.
#[utoipa::path(tag = "auth", security(()), request_body = LoginRequest, responses(
    (status = 200, body = Me, description = "logged in; the session cookie is set"),
    (status = 401, body = Problem, description = "wrong username or password"),
    (status = 429, body = Problem, description = "too many failed logins"),
))]
#[post("/api/v1/auth/login")]
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let address = peer_address(&req).unwrap_or_default();
    match attempt_login(&state, &body.username, &body.password, &address).await? {
        LoginOutcome::Ok { secret, csrf, user } => {
            let s = &state.settings;
            Ok(HttpResponse::Ok()
                .cookie(session_cookie(&secret, s.server.secure_cookies, s.auth.session_ttl_hours))
                .json(Me {
                    user_id: user.id,
                    username: user.username,
                    role: user.role,
                    via: "session".into(),
                    csrf_token: Some(csrf),
                }))
        }
        LoginOutcome::Denied => Err(ApiError::Unauthenticated),
    }
}

/// End the current session.
#[utoipa::path(tag = "auth", responses(
    (status = 204, description = "logged out"),
    (status = 401, body = Problem),
))]
#[post("/api/v1/auth/logout")]
pub async fn logout(state: web::Data<AppState>, who: Authenticated) -> Result<HttpResponse, ApiError> {
    if let Via::Session { id, .. } = &who.via {
        sessions::revoke(&state.pool, who.user_id, *id).await?;
        state.credentials.invalidate();
        audit::record(&state.pool, &who.actor(), "auth.logout", Some(&who.username), serde_json::json!({}))
            .await?;
    }
    Ok(HttpResponse::NoContent().cookie(clear_session_cookie(state.settings.server.secure_cookies)).finish())
}

/// Who the caller is (and the CSRF token for cookie sessions).
#[utoipa::path(tag = "auth", responses((status = 200, body = Me), (status = 401, body = Problem)))]
#[get("/api/v1/auth/me")]
pub async fn me(who: Authenticated) -> web::Json<Me> {
    web::Json(Me::from(&who))
}

/// The caller's live sessions.
#[utoipa::path(tag = "auth", responses((status = 200, body = Vec<SessionInfo>), (status = 401, body = Problem)))]
#[get("/api/v1/auth/sessions")]
pub async fn list_sessions(
    state: web::Data<AppState>,
    who: Authenticated,
) -> Result<web::Json<Vec<SessionInfo>>, ApiError> {
    Ok(web::Json(sessions::list_for_user(&state.pool, who.user_id).await?))
}

/// Revoke one of the caller's sessions (e.g. a forgotten browser).
#[utoipa::path(tag = "auth", params(("id" = Uuid, Path)), responses(
    (status = 204, description = "revoked"),
    (status = 404, body = Problem),
    (status = 401, body = Problem),
))]
#[delete("/api/v1/auth/sessions/{id}")]
pub async fn revoke_session(
    state: web::Data<AppState>,
    who: Authenticated,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let revoked = sessions::revoke(&state.pool, who.user_id, *id).await?;
    state.credentials.invalidate();
    if !revoked {
        return Err(ApiError::NotFound(format!("you have no live session with id {id}")));
    }
    audit::record(
        &state.pool,
        &who.actor(),
        "auth.session_revoke",
        Some(&who.username),
        serde_json::json!({"session": *id}),
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Change one's own password.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePassword {
    #[schema(format = Password)]
    pub current_password: String,
    #[schema(format = Password)]
    pub new_password: String,
}

/// Change the caller's password (all their sessions end).
#[utoipa::path(tag = "auth", request_body = ChangePassword, responses(
    (status = 204, description = "changed; every session of the user is revoked"),
    (status = 400, body = Problem),
    (status = 401, body = Problem),
    (status = 403, body = Problem, description = "the current password is wrong"),
    (status = 429, body = Problem, description = "too many wrong current passwords; wait for Retry-After seconds"),
))]
#[post("/api/v1/auth/password")]
pub async fn change_password(
    state: web::Data<AppState>,
    req: HttpRequest,
    who: Authenticated,
    body: web::Json<ChangePassword>,
) -> Result<HttpResponse, ApiError> {
    validate_password(&body.new_password).map_err(ApiError::BadRequest)?;
    // Guessing the current password through a stolen session is throttled like a login.
    let address = peer_address(&req).unwrap_or_default();
    refuse_if_throttled(&state, &who.username, &address).await?;
    if users::authenticate(&state.pool, &who.username, &body.current_password).await?.is_none() {
        sessions::record_failure(&state.pool, &who.username, &address).await?;
        audit::record(
            &state.pool,
            &who.actor(),
            "user.password_failed",
            Some(&who.username),
            serde_json::json!({}),
        )
        .await?;
        return Err(ApiError::Forbidden("the current password is wrong".into()));
    }
    users::update(&state.pool, who.user_id, Some(&body.new_password), None, None).await?;
    state.credentials.invalidate();
    audit::record(&state.pool, &who.actor(), "user.password", Some(&who.username), serde_json::json!({}))
        .await?;
    Ok(HttpResponse::NoContent().cookie(clear_session_cookie(state.settings.server.secure_cookies)).finish())
}

use crate::web::error::Problem;
