//! Who is calling: the [`Authenticated`] extractor accepts an API token (`Authorization: Bearer`)
//! or a session cookie, and handlers state the role they need with [`Authenticated::require`].
//!
//! CSRF: requests authenticated by the session cookie that change state must carry the session's
//! CSRF token (`X-CSRF-Token` header for the API, a hidden form field for the HTML pages, checked
//! with [`Authenticated::check_csrf`]). Bearer tokens are not sent by browsers on their own, so
//! they need none. The cookie is also `SameSite=Strict` and `HttpOnly`.

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::Payload;
use actix_web::http::Method;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use uuid::Uuid;

use super::error::ApiError;
use super::AppState;
use crate::domain::Role;
use crate::store::audit::Actor;
use crate::store::sessions::SessionUser;
use crate::store::tokens::TokenUser;
use crate::store::{sessions, tokens};

pub mod cache;
use cache::Principal;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "palisade_session";
/// The header carrying the CSRF token for cookie-authenticated API calls.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// How the caller proved who they are.
#[derive(Debug, Clone)]
pub enum Via {
    Session { id: Uuid, csrf_token: String },
    Token { id: Uuid },
}

/// An authenticated caller. Extract it in a handler, then call [`Authenticated::require`].
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub user_id: Uuid,
    pub username: String,
    /// Effective role (a token's role, capped by its owner's current role).
    pub role: Role,
    pub via: Via,
    /// The peer's IP address.
    pub address: Option<String>,
}

impl Authenticated {
    /// Refuse with 403 unless the caller has at least `role`.
    pub fn require(&self, role: Role) -> Result<(), ApiError> {
        if self.role >= role {
            Ok(())
        } else {
            Err(ApiError::needs_role(role))
        }
    }

    /// The audit-log actor for this caller.
    pub fn actor(&self) -> Actor {
        Actor {
            id: Some(self.user_id),
            name: self.username.clone(),
            address: self.address.clone(),
            admin: self.role >= Role::Admin,
        }
    }

    /// For HTML form posts: the submitted token must be the session's CSRF token.
    pub fn check_csrf(&self, submitted: &str) -> Result<(), ApiError> {
        match &self.via {
            Via::Session { csrf_token, .. }
                if constant_time_eq(csrf_token.as_bytes(), submitted.as_bytes()) =>
            {
                Ok(())
            }
            Via::Token { .. } => Ok(()),
            _ => {
                Err(ApiError::Forbidden("the form's CSRF token is missing or stale; reload the page".into()))
            }
        }
    }

    /// The session's CSRF token, when authenticated by cookie.
    pub fn csrf_token(&self) -> Option<&str> {
        match &self.via {
            Via::Session { csrf_token, .. } => Some(csrf_token),
            Via::Token { .. } => None,
        }
    }
}

/// Compare secrets without leaking where they differ through timing.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The peer's IP address (not `X-Forwarded-For`: a client could forge it to dodge throttling).
pub fn peer_address(req: &HttpRequest) -> Option<String> {
    req.peer_addr().map(|a| a.ip().to_string())
}

/// Build the session cookie.
pub fn session_cookie(secret: &str, secure: bool, ttl_hours: i64) -> Cookie<'static> {
    Cookie::build(SESSION_COOKIE, secret.to_string())
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure)
        .max_age(actix_web::cookie::time::Duration::hours(ttl_hours))
        .finish()
}

/// A cookie that removes the session cookie.
pub fn clear_session_cookie(secure: bool) -> Cookie<'static> {
    let mut c = Cookie::build(SESSION_COOKIE, "")
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure)
        .finish();
    c.make_removal();
    c
}

/// The token of an `Authorization: Bearer <token>` value (either case of `Bearer`), trimmed.
pub fn bearer(value: &str) -> Option<&str> {
    value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer ")).map(str::trim)
}

/// Resolve the caller from the request (no CSRF check).
pub async fn identify(state: &AppState, req: &HttpRequest) -> Result<Option<Authenticated>, ApiError> {
    let address = peer_address(req);
    if let Some(value) = req.headers().get(actix_web::http::header::AUTHORIZATION) {
        let value = value.to_str().map_err(|_| ApiError::Unauthenticated)?;
        let token = bearer(value).ok_or_else(|| {
            ApiError::BadRequest("the Authorization header must be `Bearer <token>`".into())
        })?;
        let Some(t) = token_principal(state, token).await? else {
            return Err(ApiError::Unauthenticated);
        };
        state.note_token_use(t.token_id);
        return Ok(Some(Authenticated {
            user_id: t.user_id,
            username: t.username,
            role: t.role.min(t.user_role),
            via: Via::Token { id: t.token_id },
            address,
        }));
    }
    if let Some(cookie) = req.cookie(SESSION_COOKIE) {
        if let Some(s) = session_principal(state, cookie.value()).await? {
            return Ok(Some(Authenticated {
                user_id: s.user_id,
                username: s.username,
                role: s.role,
                via: Via::Session { id: s.session_id, csrf_token: s.csrf_token },
                address,
            }));
        }
    }
    Ok(None)
}

/// The owner of an API token: from the credential cache when it is fresh, else from the database.
async fn token_principal(
    state: &AppState,
    token: &str,
) -> Result<Option<TokenUser>, crate::store::StoreError> {
    let digest = sessions::hash_secret(token);
    if let Some(Principal::Token(t)) = state.credentials.get(&digest) {
        return Ok(Some(t));
    }
    let ticket = state.credentials.ticket();
    let found = tokens::lookup(&state.pool, token).await?;
    if let Some(t) = &found {
        state.credentials.put(ticket, digest, Principal::Token(t.clone()), t.expires_at);
    }
    Ok(found)
}

/// The owner of a session cookie: from the credential cache when it is fresh, else from the database.
async fn session_principal(
    state: &AppState,
    secret: &str,
) -> Result<Option<SessionUser>, crate::store::StoreError> {
    let digest = sessions::hash_secret(secret);
    if let Some(Principal::Session(s)) = state.credentials.get(&digest) {
        return Ok(Some(s));
    }
    let ticket = state.credentials.ticket();
    let found = sessions::lookup(&state.pool, secret).await?;
    if let Some(s) = &found {
        state.credentials.put(ticket, digest, Principal::Session(s.clone()), Some(s.expires_at));
    }
    Ok(found)
}

/// The caller as resolved by [`resolve_identity`], waiting in the request's extensions.
struct Resolved(Option<Result<Option<Authenticated>, ApiError>>);

/// Middleware: resolve the caller (one database lookup) before any handler argument is extracted,
/// so a bad credential is answered 401 before a body is parsed or validated.
pub async fn resolve_identity(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody>,
) -> Result<actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>, actix_web::Error> {
    let has_credentials = req.headers().contains_key(actix_web::http::header::AUTHORIZATION)
        || req.cookie(SESSION_COOKIE).is_some();
    if has_credentials {
        if let Some(state) = req.app_data::<web::Data<AppState>>().cloned() {
            let resolved = identify(&state, req.request()).await;
            req.extensions_mut().insert(Resolved(Some(resolved)));
        }
    }
    next.call(req).await
}

/// The caller: from the middleware when it ran, else looked up now.
pub async fn caller(state: &AppState, req: &HttpRequest) -> Result<Option<Authenticated>, ApiError> {
    let pre = req.extensions_mut().get_mut::<Resolved>().and_then(|r| r.0.take());
    match pre {
        Some(result) => result,
        None => identify(state, req).await,
    }
}

impl FromRequest for Authenticated {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = req
                .app_data::<web::Data<AppState>>()
                .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("AppState is not registered")))?;
            let who = caller(state, &req).await?.ok_or(ApiError::Unauthenticated)?;
            let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
            // HTML form posts check their own hidden field; every other cookie-authenticated
            // state change must send the header.
            let is_form = req
                .headers()
                .get(actix_web::http::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"))
                && !req.path().starts_with("/api/");
            if let Via::Session { csrf_token, .. } = &who.via {
                if !safe && !is_form {
                    let sent = req.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("");
                    if !constant_time_eq(sent.as_bytes(), csrf_token.as_bytes()) {
                        return Err(ApiError::Forbidden(
                            "requests authenticated by the session cookie must send the X-CSRF-Token header \
                             (from GET /api/v1/auth/me)"
                                .into(),
                        ));
                    }
                }
            }
            Ok(who)
        })
    }
}

/// Remembers when each token's `last_used_at` was last written, so a busy integration costs one
/// UPDATE a minute rather than one per request.
#[derive(Debug, Default)]
pub struct TokenUseTracker {
    seen: std::sync::Mutex<std::collections::HashMap<Uuid, Instant>>,
}

impl TokenUseTracker {
    /// Whether the caller should write `last_used_at` now.
    pub fn due(&self, id: Uuid) -> bool {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        match seen.get(&id) {
            Some(at) if now.duration_since(*at) < Duration::from_secs(60) => false,
            _ => {
                if seen.len() > 10_000 {
                    seen.clear();
                }
                seen.insert(id, now);
                true
            }
        }
    }
}
