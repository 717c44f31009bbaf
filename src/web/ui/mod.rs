//! The HTML dashboard (askama templates extending `base.html`, assets under `static/`, no CDN):
//! login, logout and the cluster registry page. Every form carries the session's CSRF token (the
//! login form a double-submit cookie), checked before anything changes.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::{header, StatusCode};
use actix_web::{get, post, web, HttpRequest, HttpResponse, ResponseError};
use askama::Template;
use serde::Deserialize;
use uuid::Uuid;

use super::api::auth::{attempt_login, LoginOutcome};
use super::api::clusters::ClusterSource;
use super::api::{decode_cursor, encode_cursor};
use super::auth::{
    caller, clear_session_cookie, constant_time_eq, peer_address, session_cookie, Authenticated, Via,
};
use super::error::ApiError;
use super::AppState;
use crate::domain::{ClusterName, Labels, Role};
use crate::registry::RegistryError;
use crate::store::clusters::{self, Cluster, ClusterFilter, ClusterPatch, NewCluster};
use crate::store::{audit, sessions, StoreError};

const LOGIN_CSRF_COOKIE: &str = "palisade_login_csrf";
const PAGE_SIZE: i64 = 100;

/// Register the dashboard's routes and its static files.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(index)
        .service(login_page)
        .service(login_submit)
        .service(logout)
        .service(clusters_page)
        .service(clusters_register)
        .service(cluster_action)
        .service(style_css);
}

/// A dashboard error: send people to the login page, or show the message on a page.
#[derive(Debug)]
pub enum UiError {
    Login,
    Page(StatusCode, String),
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
    user: Option<String>,
    role: String,
    csrf: String,
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
            UiError::Login => HttpResponse::SeeOther().insert_header((header::LOCATION, "/login")).finish(),
            UiError::Page(status, message) => {
                let page = ErrorPage {
                    user: None,
                    role: String::new(),
                    csrf: String::new(),
                    title: status.canonical_reason().unwrap_or("Error").to_string(),
                    message: message.clone(),
                };
                html(*status, page.render())
            }
        }
    }
}

fn html(status: StatusCode, body: Result<String, askama::Error>) -> HttpResponse {
    match body {
        Ok(body) => HttpResponse::build(status).content_type("text/html; charset=utf-8").body(body),
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            HttpResponse::InternalServerError().body("internal error")
        }
    }
}

/// A logged-in dashboard user (session cookie only).
async fn ui_user(state: &AppState, req: &HttpRequest) -> Result<Authenticated, UiError> {
    match caller(state, req).await {
        Ok(Some(who)) if matches!(who.via, Via::Session { .. }) => Ok(who),
        Ok(_) | Err(ApiError::Unauthenticated) | Err(ApiError::BadRequest(_)) => Err(UiError::Login),
        Err(e) => Err(e.into()),
    }
}

#[get("/")]
async fn index() -> HttpResponse {
    HttpResponse::SeeOther().insert_header((header::LOCATION, "/clusters")).finish()
}

#[get("/static/style.css")]
async fn style_css() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(include_str!("../../../static/style.css"))
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    user: Option<String>,
    role: String,
    csrf: String,
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
    let page = LoginPage { user: None, role: String::new(), csrf, error };
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
            .insert_header((header::LOCATION, "/clusters"))
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

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf_token: String,
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

#[derive(Template)]
#[template(path = "clusters.html")]
struct ClustersPage {
    user: Option<String>,
    role: String,
    csrf: String,
    clusters: Vec<Cluster>,
    next_cursor: Option<String>,
    can_edit: bool,
    error: Option<String>,
    notice: Option<String>,
    q: String,
    label: String,
}

#[derive(Deserialize, Default)]
struct ClustersQuery {
    cursor: Option<String>,
    q: Option<String>,
    label: Option<String>,
    notice: Option<String>,
}

async fn render_clusters(
    state: &AppState,
    who: &Authenticated,
    query: ClustersQuery,
    status: StatusCode,
    error: Option<String>,
) -> Result<HttpResponse, UiError> {
    let label = query.label.unwrap_or_default();
    let labels = if label.trim().is_empty() {
        Labels::default()
    } else {
        Labels::from_pairs(label.split(',')).map_err(|e| UiError::Page(StatusCode::BAD_REQUEST, e))?
    };
    let q = query.q.unwrap_or_default();
    let filter = ClusterFilter {
        limit: PAGE_SIZE + 1,
        after: query.cursor.as_deref().filter(|c| !c.is_empty()).map(decode_cursor).transpose()?,
        labels,
        name_contains: Some(q.clone()).filter(|s| !s.is_empty()),
        ..Default::default()
    };
    let mut rows = clusters::list(&state.pool, &filter).await?;
    let more = rows.len() as i64 > PAGE_SIZE;
    rows.truncate(PAGE_SIZE as usize);
    let next_cursor = if more { rows.last().map(|c| encode_cursor(&c.name)) } else { None };
    let notice = match query.notice.as_deref() {
        Some("registered") => Some("Cluster registered.".to_string()),
        Some("deleted") => Some("Cluster deleted; its history is kept.".to_string()),
        Some("updated") => Some("Cluster updated.".to_string()),
        _ => None,
    };
    let page = ClustersPage {
        user: Some(who.username.clone()),
        role: who.role.to_string(),
        csrf: who.csrf_token().unwrap_or_default().to_string(),
        clusters: rows,
        next_cursor,
        can_edit: who.role >= Role::Editor,
        error,
        notice,
        q,
        label,
    };
    Ok(html(status, page.render()))
}

#[get("/clusters")]
async fn clusters_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<ClustersQuery>,
) -> Result<HttpResponse, UiError> {
    let who = ui_user(&state, &req).await?;
    render_clusters(&state, &who, query.into_inner(), StatusCode::OK, None).await
}

#[derive(Deserialize)]
struct RegisterForm {
    #[serde(default)]
    csrf_token: String,
    name: String,
    #[serde(default)]
    labels: String,
    #[serde(default)]
    group: String,
    #[serde(default)]
    context: String,
    kubeconfig: String,
}

fn parse_register(form: &RegisterForm) -> Result<NewCluster, String> {
    let name: ClusterName = form.name.trim().parse()?;
    let labels = if form.labels.trim().is_empty() {
        Labels::default()
    } else {
        Labels::from_pairs(form.labels.split(',').filter(|p| !p.trim().is_empty()))?
    };
    let group = match form.group.trim() {
        "" => None,
        g => Some(g.parse::<ClusterName>().map_err(|e| e.replace("cluster name", "group name"))?),
    };
    let source = ClusterSource {
        kubeconfig: Some(form.kubeconfig.clone()),
        context: Some(form.context.trim().to_string()).filter(|c| !c.is_empty()),
        ..Default::default()
    };
    let credentials = source.into_credentials().map_err(|e| e.to_string())?;
    Ok(NewCluster { name, labels, group, enabled: true, credentials })
}

#[post("/clusters")]
async fn clusters_register(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<RegisterForm>,
) -> Result<HttpResponse, UiError> {
    let who = ui_user(&state, &req).await?;
    who.check_csrf(&form.csrf_token)?;
    who.require(Role::Editor)?;
    let new = match parse_register(&form) {
        Ok(n) => n,
        Err(msg) => {
            return render_clusters(
                &state,
                &who,
                ClustersQuery::default(),
                StatusCode::BAD_REQUEST,
                Some(msg),
            )
            .await
        }
    };
    match state.register_cluster(&new, &who.actor(), true).await {
        Ok(_) => Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, "/clusters?notice=registered"))
            .finish()),
        Err(RegistryError::Store(StoreError::Conflict(msg))) => {
            render_clusters(&state, &who, ClustersQuery::default(), StatusCode::CONFLICT, Some(msg)).await
        }
        Err(e) => Err(e.into()),
    }
}

#[post("/clusters/{id}/{action}")]
async fn cluster_action(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(Uuid, String)>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, UiError> {
    let who = ui_user(&state, &req).await?;
    who.check_csrf(&form.csrf_token)?;
    who.require(Role::Editor)?;
    let (id, action) = path.into_inner();
    let cluster = clusters::get(&state.pool, id)
        .await?
        .ok_or_else(|| UiError::Page(StatusCode::NOT_FOUND, format!("no cluster with id {id}")))?;
    let notice = match action.as_str() {
        "delete" => {
            clusters::delete(&state.pool, id, false, &who.actor()).await?;
            "deleted"
        }
        "toggle" => {
            let patch = ClusterPatch { enabled: Some(!cluster.enabled), ..Default::default() };
            clusters::update(&state.pool, id, &patch, &who.actor()).await?;
            "updated"
        }
        "check" => {
            state.recheck(id).await?;
            audit::record(
                &state.pool,
                &who.actor(),
                "cluster.check",
                Some(&cluster.name),
                serde_json::json!({"id": id}),
            )
            .await?;
            "updated"
        }
        other => return Err(UiError::Page(StatusCode::NOT_FOUND, format!("unknown action `{other}`"))),
    };
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, format!("/clusters?notice={notice}")))
        .finish())
}
