//! Login and logout. The login form is protected by a double-submit cookie (there is no session
//! yet); logout by the session's CSRF token. After login the user lands on the fleet overview.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::{header, StatusCode};
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::{html, ui_user, CsrfForm, PageContext, UiError};
use crate::store::{audit, sessions};
use crate::web::api::auth::{attempt_login, LoginOutcome};
use crate::web::auth::{clear_session_cookie, constant_time_eq, peer_address, session_cookie, Via};
use crate::web::error::ApiError;
use crate::web::AppState;

const LOGIN_CSRF_COOKIE: &str = "palisade_login_csrf";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(login_page).service(login_submit).service(logout);
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    ctx: PageContext,
    error: Option<String>,
}

fn login_page_response(status: StatusCode, error: Option<String>, secure: bool) -> HttpResponse {
    let (csrf, _) = sessions::new_secret();
    let cookie = Cookie::build(LOGIN_CSRF_COOKIE, csrf.clone())
        .path("/login")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure)
        .finish();
    let ctx =
        PageContext { csrf, no_data_note: Some("Log in to see the fleet."), ..PageContext::anonymous() };
    let page = LoginPage { ctx, error };
    let mut resp = html(status, page.render());
    let _ = resp.add_cookie(&cookie);
    resp
}

#[get("/login")]
async fn login_page(state: web::Data<AppState>) -> HttpResponse {
    login_page_response(StatusCode::OK, None, state.settings.server.secure_cookies)
}

#[derive(Deserialize)]
struct LoginForm {
    username: String,
    password: String,
    #[serde(default)]
    csrf_token: String,
}

#[post("/login")]
async fn login_submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<LoginForm>,
) -> Result<HttpResponse, UiError> {
    let secure = state.settings.server.secure_cookies;
    let expected = req.cookie(LOGIN_CSRF_COOKIE).map(|c| c.value().to_string()).unwrap_or_default();
    if expected.is_empty() || !constant_time_eq(expected.as_bytes(), form.csrf_token.as_bytes()) {
        return Ok(login_page_response(
            StatusCode::FORBIDDEN,
            Some("The login form expired or was not sent from this site; please try again.".into()),
            secure,
        ));
    }
    let address = peer_address(&req).unwrap_or_default();
    match attempt_login(&state, &form.username, &form.password, &address).await {
        Ok(LoginOutcome::Ok { secret, .. }) => Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, "/"))
            .cookie(session_cookie(&secret, secure, state.settings.auth.session_ttl_hours))
            .finish()),
        Ok(LoginOutcome::Denied) => Ok(login_page_response(
            StatusCode::UNAUTHORIZED,
            Some("Wrong username or password.".into()),
            secure,
        )),
        Err(e @ ApiError::TooManyRequests(_)) => {
            Ok(login_page_response(StatusCode::TOO_MANY_REQUESTS, Some(e.to_string()), secure))
        }
        Err(e) => Err(e.into()),
    }
}

#[post("/logout")]
async fn logout(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, UiError> {
    let who = ui_user(&state, &req).await?;
    who.check_csrf(&form.csrf_token)?;
    if let Via::Session { id, .. } = &who.via {
        sessions::revoke(&state.pool, who.user_id, *id).await?;
        state.credentials.invalidate();
    }
    audit::record(&state.pool, &who.actor(), "auth.logout", Some(&who.username), serde_json::json!({}))
        .await?;
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/login"))
        .cookie(clear_session_cookie(state.settings.server.secure_cookies))
        .finish())
}
