//! The HTML dashboard: askama templates extending `base.html`, assets under `static/`, no CDN.
//!
//! This module owns only what every page shares: [`configure`] (each page area adds its own
//! routes), the page context the layout needs ([`PageContext`]: who is logged in, their role, the
//! session's CSRF token, when the page's data was collected, which nav entry is current), the
//! logged-in check ([`ui_user`]) and the error type ([`UiError`]). Pages live one file per area,
//! each with its own `configure` wired in below: [`login`], [`fleet`] (`/`), and the cluster, checks,
//! findings, trends, network, rbac and admin pages ([`admin`] holds the cluster registry).
//!
//! Every form carries the session's CSRF token (the login form a double-submit cookie), checked
//! before anything changes; viewers see no edit controls and the server refuses their edits.

use actix_web::http::{header, StatusCode};
use actix_web::{get, web, HttpRequest, HttpResponse, ResponseError};
use askama::Template;
use chrono::{DateTime, Utc};

use super::auth::{caller, Authenticated, Via};
use super::error::ApiError;
use super::AppState;
use crate::domain::Role;

pub mod admin;
pub mod chart;
pub mod checks;
pub mod cluster;
pub mod exceptions;
pub mod findings;
pub mod fleet;
pub mod login;
pub mod network;
pub mod rbac;
pub mod trends;

/// Register the dashboard's routes and its static files.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(style_css);
    login::configure(cfg);
    fleet::configure(cfg);
    cluster::configure(cfg);
    checks::configure(cfg);
    exceptions::configure(cfg);
    findings::configure(cfg);
    trends::configure(cfg);
    network::configure(cfg);
    rbac::configure(cfg);
    admin::configure(cfg);
}

/// What the layout (`base.html`) needs on every page.
#[derive(Debug, Clone, Default)]
pub struct PageContext {
    /// The logged-in user's name; `None` on the login page (no navigation then).
    pub user: Option<String>,
    pub role: String,
    /// The session's CSRF token, for every form on the page.
    pub csrf: String,
    /// Editors and admins see edit controls (the server checks again on every post).
    pub can_edit: bool,
    pub is_admin: bool,
    /// The nav entry of this page (`fleet`, `findings`, `checks`, `trends`, `network`, `rbac`,
    /// `admin`), marked `aria-current`.
    pub nav: &'static str,
    /// When the data on the page was collected (newest scan results it shows); the layout says so.
    pub collected_at: Option<DateTime<Utc>>,
    /// Set when the page shows no collected data at all (e.g. a form), to say so instead.
    pub no_data_note: Option<&'static str>,
}

impl PageContext {
    /// The context of a page shown to `who`, under nav entry `nav`.
    pub fn new(who: &Authenticated, nav: &'static str) -> Self {
        PageContext {
            user: Some(who.username.clone()),
            role: who.role.to_string(),
            csrf: who.csrf_token().unwrap_or_default().to_string(),
            can_edit: who.role >= Role::Editor,
            is_admin: who.role >= Role::Admin,
            nav,
            collected_at: None,
            no_data_note: None,
        }
    }

    /// The context of a page shown before login.
    pub fn anonymous() -> Self {
        PageContext::default()
    }

    /// Say when the page's data was collected.
    pub fn collected(mut self, at: Option<DateTime<Utc>>) -> Self {
        self.collected_at = at;
        self
    }

    /// The collection time as the layout shows it.
    pub fn collected_text(&self) -> String {
        match (self.collected_at, self.no_data_note) {
            (Some(at), _) => format!("Data collected at {}", fmt_time(&at)),
            (None, Some(note)) => note.to_string(),
            (None, None) => "No scan data collected yet.".to_string(),
        }
    }
}

/// A time as pages show it: UTC, to the minute.
pub fn fmt_time(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// An optional time, or a dash.
pub fn fmt_opt_time(t: &Option<DateTime<Utc>>) -> String {
    t.as_ref().map(fmt_time).unwrap_or_else(|| "—".to_string())
}

/// A dashboard error: send people to the login page, or show the message on a page.
#[derive(Debug)]
pub enum UiError {
    Login,
    Page(StatusCode, String),
}

impl UiError {
    pub fn not_found(what: impl Into<String>) -> Self {
        UiError::Page(StatusCode::NOT_FOUND, what.into())
    }

    pub fn bad_request(what: impl Into<String>) -> Self {
        UiError::Page(StatusCode::BAD_REQUEST, what.into())
    }
}

impl std::fmt::Display for UiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UiError::Login => f.write_str("login required"),
            UiError::Page(_, m) => f.write_str(m),
        }
    }
}

/// Every failure a page meets is first an [`ApiError`] (the one mapping of store and other errors
/// to HTTP lives in `web::error`), then shown on the error page with the same status and words.
impl<E> From<E> for UiError
where
    ApiError: From<E>,
{
    fn from(e: E) -> Self {
        let e = ApiError::from(e);
        let status = e.status_code();
        if let ApiError::Internal(err) = &e {
            tracing::error!(error = %format_args!("{err:#}"), "page failed");
        }
        UiError::Page(status, e.to_string())
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    ctx: PageContext,
    title: String,
    message: String,
}

impl ResponseError for UiError {
    fn status_code(&self) -> StatusCode {
        match self {
            UiError::Login => StatusCode::SEE_OTHER,
            UiError::Page(s, _) => *s,
        }
    }
    fn error_response(&self) -> HttpResponse {
        match self {
            UiError::Login => see_other("/login"),
            UiError::Page(status, message) => {
                let page = ErrorPage {
                    ctx: PageContext {
                        no_data_note: Some("No data on this page."),
                        ..PageContext::anonymous()
                    },
                    title: status.canonical_reason().unwrap_or("Error").to_string(),
                    message: message.clone(),
                };
                html(*status, page.render())
            }
        }
    }
}

/// A rendered template as an HTML response (a template error is logged and answered with 500).
pub fn html(status: StatusCode, body: Result<String, askama::Error>) -> HttpResponse {
    match body {
        Ok(body) => HttpResponse::build(status).content_type("text/html; charset=utf-8").body(body),
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            HttpResponse::InternalServerError().body("internal error")
        }
    }
}

/// Render a page with 200.
pub fn page(t: &impl Template) -> HttpResponse {
    html(StatusCode::OK, t.render())
}

/// A 303 to `location` (after a form post, or to the login page).
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther().insert_header((header::LOCATION, location.to_string())).finish()
}

/// A logged-in dashboard user (session cookie only); anyone else is sent to the login page.
pub async fn ui_user(state: &AppState, req: &HttpRequest) -> Result<Authenticated, UiError> {
    match caller(state, req).await {
        Ok(Some(who)) if matches!(who.via, Via::Session { .. }) => Ok(who),
        Ok(_) | Err(ApiError::Unauthenticated) | Err(ApiError::BadRequest(_)) => Err(UiError::Login),
        Err(e) => Err(e.into()),
    }
}

/// A form with nothing but the CSRF token.
#[derive(serde::Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    pub csrf_token: String,
}

#[get("/static/style.css")]
async fn style_css() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(include_str!("../../../static/style.css"))
}
