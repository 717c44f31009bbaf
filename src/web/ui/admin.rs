//! The admin area: `/admin/users`, `/admin/tokens` and `/admin/audit` (admins only) and
//! `/admin/clusters` (the cluster registry, formerly `/clusters`, which now redirects here:
//! editors and admins, as the cluster API allows them; viewers are refused like everyone else
//! here). Non-admins do not see the Admin nav entry, and the server answers them 403 anyway.
//!
//! Every change goes through the same functions as the API (`api::users::create`/`update`,
//! `api::tokens::create`/`revoke`, `api::clusters::check`, `api::scans::apply_schedule`,
//! `AppState::register_cluster`, the cluster store), so validation, role rules and audit entries
//! are the API's. Every form carries the session's CSRF token, checked before anything else.

use std::collections::HashMap;

use actix_multipart::Multipart;
use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::{Duration, Utc};
use futures::TryStreamExt;
use serde::Deserialize;
use uuid::Uuid;

use super::{html, see_other, ui_user, CsrfForm, PageContext, UiError};
use crate::domain::{ClusterName, Labels, Role, Username};
use crate::store::audit::{self, AuditEntry};
use crate::store::clusters::{self, Cluster, ClusterFilter, ClusterPatch, NewCluster, NewPushCluster};
use crate::store::scans::{self, ScheduleSpec};
use crate::store::tokens::{self, ApiToken};
use crate::store::users::{self, User};
use crate::web::api::clusters::ClusterSource;
use crate::web::api::scans::ScheduleBody;
use crate::web::api::tokens::{CreateToken, CreatedToken};
use crate::web::api::users::{CreateUser, UpdateUser};
use crate::web::api::{decode_cursor, encode_cursor};
use crate::web::auth::Authenticated;
use crate::web::AppState;

const PAGE_SIZE: i64 = 100;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(users_page)
        .service(users_create)
        .service(users_update)
        .service(tokens_page)
        .service(tokens_create)
        .service(tokens_revoke)
        .service(clusters_redirect)
        .service(clusters_page)
        .service(clusters_register)
        .service(cluster_page)
        .service(cluster_action)
        .service(audit_page);
}

/// A logged-in user with at least `role`; anyone else gets the 403 page.
async fn require(state: &AppState, req: &HttpRequest, role: Role) -> Result<Authenticated, UiError> {
    let who = ui_user(state, req).await?;
    who.require(role)?;
    Ok(who)
}

fn admin_ctx(who: &Authenticated, note: &'static str) -> PageContext {
    let mut ctx = PageContext::new(who, "admin");
    ctx.no_data_note = Some(note);
    ctx
}

fn notice_text(code: Option<&str>) -> Option<String> {
    Some(
        match code? {
            "created" => "Created.",
            "updated" => "Saved.",
            "revoked" => "Token revoked; it stops working at once.",
            "registered" => "Cluster registered.",
            "registered-push" => {
                "Cluster registered in push mode: its first scan runs when its cluster agent's first \
                 snapshot arrives (see Agent below)."
            }
            "deleted" => "Cluster deleted; its history is kept.",
            "checked" => "Connectivity checked.",
            _ => return None,
        }
        .to_string(),
    )
}

#[derive(Deserialize, Default)]
struct ListQuery {
    cursor: Option<String>,
    notice: Option<String>,
    q: Option<String>,
    label: Option<String>,
    action: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Users

#[derive(Template)]
#[template(path = "admin_users.html")]
struct UsersPage {
    ctx: PageContext,
    users: Vec<User>,
    next_cursor: Option<String>,
    roles: &'static [Role],
    me: Uuid,
    error: Option<String>,
    notice: Option<String>,
}

async fn render_users(
    state: &AppState,
    who: &Authenticated,
    cursor: Option<&str>,
    status: StatusCode,
    error: Option<String>,
    notice: Option<String>,
) -> Result<HttpResponse, UiError> {
    let after = cursor.filter(|c| !c.is_empty()).map(decode_cursor).transpose()?;
    let mut rows = users::list_page(&state.pool, after.as_deref(), None, None, PAGE_SIZE + 1).await?;
    let next_cursor = cut(&mut rows, |u| u.username.clone());
    let ctx = admin_ctx(who, "Users as stored now.");
    let page = UsersPage { ctx, users: rows, next_cursor, roles: Role::ALL, me: who.user_id, error, notice };
    Ok(html(status, page.render()))
}

/// Keep a page of a `PAGE_SIZE + 1` fetch; the cursor for the next page when there is one.
fn cut<T>(rows: &mut Vec<T>, key: impl Fn(&T) -> String) -> Option<String> {
    let more = rows.len() as i64 > PAGE_SIZE;
    rows.truncate(PAGE_SIZE as usize);
    if more {
        rows.last().map(|r| encode_cursor(&key(r)))
    } else {
        None
    }
}

#[get("/admin/users")]
async fn users_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, UiError> {
    let who = require(&state, &req, Role::Admin).await?;
    render_users(&state, &who, q.cursor.as_deref(), StatusCode::OK, None, notice_text(q.notice.as_deref()))
        .await
}

#[derive(Deserialize)]
struct NewUserForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    role: String,
}

#[post("/admin/users")]
async fn users_create(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<NewUserForm>,
) -> Result<HttpResponse, UiError> {
    let who = ui_user(&state, &req).await?;
    who.check_csrf(&form.csrf_token)?;
    who.require(Role::Admin)?;
    let parsed = (|| -> Result<CreateUser, String> {
        Ok(CreateUser {
            username: form.username.trim().parse::<Username>()?,
            password: form.password.clone(),
            role: form.role.parse::<Role>()?,
        })
    })();
    let result = match parsed {
        Ok(body) => crate::web::api::users::create(&state, &who, &body).await.map(|_| ()),
        Err(msg) => Err(crate::web::error::ApiError::BadRequest(msg)),
    };
    match result {
        Ok(()) => Ok(see_other("/admin/users?notice=created")),
        Err(e) => render_users(&state, &who, None, e_status(&e), Some(e.to_string()), None).await,
    }
}

/// The status of a refused form (the page is shown again with the message).
fn e_status(e: &crate::web::error::ApiError) -> StatusCode {
    actix_web::ResponseError::status_code(e)
}

#[derive(Deserialize)]
struct UserChangeForm {
    #[serde(default)]
    csrf_token: String,
    role: Option<String>,
    disabled: Option<bool>,
}

#[post("/admin/users/{id}")]
async fn users_update(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<Uuid>,
    form: web::Form<UserChangeForm>,
) -> Result<HttpResponse, UiError> {
    let who = ui_user(&state, &req).await?;
    who.check_csrf(&form.csrf_token)?;
    who.require(Role::Admin)?;
    let role = match form.role.as_deref().filter(|r| !r.is_empty()).map(str::parse::<Role>).transpose() {
        Ok(r) => r,
        Err(msg) => return render_users(&state, &who, None, StatusCode::BAD_REQUEST, Some(msg), None).await,
    };
    let body = UpdateUser { password: None, role, disabled: form.disabled };
    match crate::web::api::users::update(&state, &who, *id, &body).await {
        Ok(_) => Ok(see_other("/admin/users?notice=updated")),
        Err(e) => render_users(&state, &who, None, e_status(&e), Some(e.to_string()), None).await,
    }
}

// ---------------------------------------------------------------------------------------------
// Tokens

/// A token row with its owner's name.
struct TokenRow {
    token: ApiToken,
    owner: String,
}

#[derive(Template)]
#[template(path = "admin_tokens.html")]
struct TokensPage {
    ctx: PageContext,
    tokens: Vec<TokenRow>,
    next_cursor: Option<String>,
    roles: Vec<Role>,
    created: Option<CreatedToken>,
    error: Option<String>,
    notice: Option<String>,
}

fn token_cursor(t: &ApiToken) -> String {
    crate::web::api::time_id_key(&t.created_at, &t.id)
}

async fn render_tokens(
    state: &AppState,
    who: &Authenticated,
    cursor: Option<&str>,
    status: StatusCode,
    created: Option<CreatedToken>,
    error: Option<String>,
    notice: Option<String>,
) -> Result<HttpResponse, UiError> {
    let after = cursor.filter(|c| !c.is_empty()).map(crate::web::api::decode_time_id_cursor).transpose()?;
    let mut rows = tokens::list(&state.pool, None, after, PAGE_SIZE + 1).await?;
    let next_cursor = cut(&mut rows, token_cursor);
    let names: HashMap<Uuid, String> =
        users::list(&state.pool).await?.into_iter().map(|u| (u.id, u.username)).collect();
    let tokens = rows
        .into_iter()
        .map(|t| TokenRow {
            owner: names.get(&t.user_id).cloned().unwrap_or_else(|| t.user_id.to_string()),
            token: t,
        })
        .collect();
    let roles = Role::ALL.iter().copied().filter(|r| *r <= who.role).collect();
    let ctx = admin_ctx(who, "Tokens as stored now.");
    let page = TokensPage { ctx, tokens, next_cursor, roles, created, error, notice };
    Ok(html(status, page.render()))
}

#[get("/admin/tokens")]
async fn tokens_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, UiError> {
    let who = require(&state, &req, Role::Admin).await?;
    let notice = notice_text(q.notice.as_deref());
    render_tokens(&state, &who, q.cursor.as_deref(), StatusCode::OK, None, None, notice).await
}

#[derive(Deserialize)]
struct NewTokenForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
    /// Days until it expires; empty: never.
    #[serde(default)]
    expires_days: String,
}

#[post("/admin/tokens")]
async fn tokens_create(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<NewTokenForm>,
) -> Result<HttpResponse, UiError> {
    let who = ui_user(&state, &req).await?;
    who.check_csrf(&form.csrf_token)?;
    who.require(Role::Admin)?;
    let parsed = (|| -> Result<CreateToken, String> {
        let role = match form.role.trim() {
            "" => None,
            r => Some(r.parse::<Role>()?),
        };
        let expires_at = match form.expires_days.trim() {
            "" => None,
            d => {
                let days: i64 = d.parse().map_err(|_| format!("`{d}` is not a number of days"))?;
                if !(1..=3650).contains(&days) {
                    return Err("a token expires after 1 to 3650 days (or leave it empty for never)".into());
                }
                Some(Utc::now() + Duration::days(days))
            }
        };
        Ok(CreateToken { name: form.name.clone(), role, expires_at })
    })();
    let result = match parsed {
        Ok(body) => crate::web::api::tokens::create(&state, &who, &body).await,
        Err(msg) => Err(crate::web::error::ApiError::BadRequest(msg)),
    };
    match result {
        // The secret is shown on this response only (never put in a URL or stored).
        Ok(created) => {
            render_tokens(&state, &who, None, StatusCode::CREATED, Some(created), None, None).await
        }
        Err(e) => render_tokens(&state, &who, None, e_status(&e), None, Some(e.to_string()), None).await,
    }
}

#[post("/admin/tokens/{id}/revoke")]
async fn tokens_revoke(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<Uuid>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, UiError> {
    let who = ui_user(&state, &req).await?;
    who.check_csrf(&form.csrf_token)?;
    who.require(Role::Admin)?;
    match crate::web::api::tokens::revoke(&state, &who, *id).await {
        Ok(()) => Ok(see_other("/admin/tokens?notice=revoked")),
        Err(e) => render_tokens(&state, &who, None, e_status(&e), None, Some(e.to_string()), None).await,
    }
}

// ---------------------------------------------------------------------------------------------
// Clusters (editors and admins, as the cluster API)

#[derive(Template)]
#[template(path = "admin_clusters.html")]
struct ClustersPage {
    ctx: PageContext,
    clusters: Vec<Cluster>,
    next_cursor: Option<String>,
    error: Option<String>,
    notice: Option<String>,
    q: String,
    label: String,
}

async fn render_clusters(
    state: &AppState,
    who: &Authenticated,
    query: ListQuery,
    status: StatusCode,
    error: Option<String>,
) -> Result<HttpResponse, UiError> {
    let label = query.label.unwrap_or_default();
    let labels = crate::web::api::label_filter(Some(label.trim()))?;
    let q = query.q.unwrap_or_default();
    let filter = ClusterFilter {
        limit: PAGE_SIZE + 1,
        after: query.cursor.as_deref().filter(|c| !c.is_empty()).map(decode_cursor).transpose()?,
        labels,
        name_contains: Some(q.clone()).filter(|s| !s.is_empty()),
        ..Default::default()
    };
    let mut rows = clusters::list(&state.pool, &filter).await?;
    let next_cursor = cut(&mut rows, |c| c.name.clone());
    let ctx = admin_ctx(who, "Connectivity as last checked for each cluster.");
    let notice = notice_text(query.notice.as_deref());
    let page = ClustersPage { ctx, clusters: rows, next_cursor, error, notice, q, label };
    Ok(html(status, page.render()))
}

/// The registry moved to the admin area.
#[get("/clusters")]
async fn clusters_redirect(req: HttpRequest) -> HttpResponse {
    let query = req.query_string();
    see_other(&if query.is_empty() {
        "/admin/clusters".to_string()
    } else {
        format!("/admin/clusters?{query}")
    })
}

#[get("/admin/clusters")]
async fn clusters_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, UiError> {
    let who = require(&state, &req, Role::Editor).await?;
    render_clusters(&state, &who, q.into_inner(), StatusCode::OK, None).await
}

/// Read a `multipart/form-data` body (the register form, which can carry a kubeconfig file) into
/// its text fields, refusing bodies over the configured limit.
async fn multipart_fields(mut payload: Multipart, limit: usize) -> Result<HashMap<String, String>, UiError> {
    let mut fields = HashMap::new();
    let mut total = 0usize;
    let bad =
        |e: actix_multipart::MultipartError| UiError::bad_request(format!("the form could not be read: {e}"));
    while let Some(mut field) = payload.try_next().await.map_err(bad)? {
        let name = field.name().unwrap_or_default().to_string();
        let mut value = Vec::new();
        while let Some(chunk) = field.try_next().await.map_err(bad)? {
            total += chunk.len();
            if total > limit {
                return Err(UiError::Page(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!("the form is over the {limit}-byte limit"),
                ));
            }
            value.extend_from_slice(&chunk);
        }
        let text = String::from_utf8(value)
            .map_err(|_| UiError::bad_request(format!("the `{name}` field is not UTF-8 text")))?;
        fields.insert(name, text);
    }
    Ok(fields)
}

fn parse_labels(text: &str) -> Result<Labels, String> {
    if text.trim().is_empty() {
        Ok(Labels::default())
    } else {
        Labels::from_pairs(text.split(',').filter(|p| !p.trim().is_empty()))
    }
}

fn parse_group(text: &str) -> Result<Option<ClusterName>, String> {
    match text.trim() {
        "" => Ok(None),
        g => Ok(Some(g.parse::<ClusterName>().map_err(|e| e.replace("cluster name", "group name"))?)),
    }
}

/// What the register form asks for.
enum Registration {
    Pull(NewCluster),
    Push(NewPushCluster),
}

/// The register form: the kubeconfig from the uploaded file or the pasted text (not both), or
/// none in push mode.
fn parse_register(f: &HashMap<String, String>) -> Result<Registration, String> {
    let get = |k: &str| f.get(k).map(String::as_str).unwrap_or_default();
    let name: ClusterName = get("name").trim().parse()?;
    let labels = parse_labels(get("labels"))?;
    let group = parse_group(get("group"))?;
    match get("mode") {
        "" | "pull" => {}
        "push" => {
            if !get("kubeconfig_file").trim().is_empty() || !get("kubeconfig").trim().is_empty() {
                return Err(
                    "a push-mode cluster has no kubeconfig: its cluster agent sends the snapshots and \
                            the server never connects to it; leave the kubeconfig out"
                        .into(),
                );
            }
            return Ok(Registration::Push(NewPushCluster { name, labels, group, enabled: true }));
        }
        other => return Err(format!("unknown mode `{other}`: pull or push")),
    }
    let kubeconfig = match (get("kubeconfig_file").trim().is_empty(), get("kubeconfig").trim().is_empty()) {
        (false, false) => return Err("give the kubeconfig either as a file or pasted, not both".into()),
        (true, true) => return Err("give the cluster's kubeconfig: upload the file or paste it".into()),
        (false, true) => get("kubeconfig_file").to_string(),
        (true, false) => get("kubeconfig").to_string(),
    };
    let source = ClusterSource {
        kubeconfig: Some(kubeconfig),
        context: Some(get("context").trim().to_string()).filter(|c| !c.is_empty()),
        ..Default::default()
    };
    let credentials = source.into_credentials().map_err(|e| e.to_string())?;
    Ok(Registration::Pull(NewCluster { name, labels, group, enabled: true, credentials, ssh_port: None }))
}

#[post("/admin/clusters")]
async fn clusters_register(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: Multipart,
) -> Result<HttpResponse, UiError> {
    let who = ui_user(&state, &req).await?;
    let fields = multipart_fields(payload, state.settings.server.body_limit_bytes).await?;
    who.check_csrf(fields.get("csrf_token").map(String::as_str).unwrap_or_default())?;
    who.require(Role::Editor)?;
    let new = match parse_register(&fields) {
        Ok(n) => n,
        Err(msg) => {
            return render_clusters(&state, &who, ListQuery::default(), StatusCode::BAD_REQUEST, Some(msg))
                .await
        }
    };
    let registered = match &new {
        Registration::Pull(new) => state.register_cluster(new, &who.actor(), true).await,
        Registration::Push(new) => state.register_push(new, &who.actor()).await,
    };
    match registered {
        Ok(c) if c.mode == "push" => {
            Ok(see_other(&format!("/admin/clusters/{}?notice=registered-push", c.id)))
        }
        Ok(_) => Ok(see_other("/admin/clusters?notice=registered")),
        Err(crate::registry::RegistryError::Store(crate::store::StoreError::Conflict(msg))) => {
            render_clusters(&state, &who, ListQuery::default(), StatusCode::CONFLICT, Some(msg)).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "admin_cluster.html")]
struct ClusterPage {
    ctx: PageContext,
    cluster: Cluster,
    labels: String,
    schedule: ScheduleSpec,
    default_interval: u64,
    next_due: String,
    error: Option<String>,
    notice: Option<String>,
}

async fn render_cluster(
    state: &AppState,
    who: &Authenticated,
    id: Uuid,
    status: StatusCode,
    error: Option<String>,
    notice: Option<String>,
) -> Result<HttpResponse, UiError> {
    let cluster = clusters::get(&state.pool, id)
        .await?
        .ok_or_else(|| UiError::not_found(format!("no cluster with id {id}")))?;
    let (schedule, next) = scans::get_schedule(&state.pool, id).await?;
    let labels = cluster.labels.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", ");
    let page = ClusterPage {
        ctx: admin_ctx(who, "Settings as stored now."),
        labels,
        schedule,
        default_interval: state.settings.scheduler.default_interval_secs,
        next_due: super::fmt_opt_time(&next),
        cluster,
        error,
        notice,
    };
    Ok(html(status, page.render()))
}

#[get("/admin/clusters/{id}")]
async fn cluster_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<Uuid>,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, UiError> {
    let who = require(&state, &req, Role::Editor).await?;
    render_cluster(&state, &who, *id, StatusCode::OK, None, notice_text(q.notice.as_deref())).await
}

#[derive(Deserialize)]
struct ClusterActionForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    labels: String,
    #[serde(default)]
    group: String,
    #[serde(default)]
    interval_seconds: String,
    #[serde(default)]
    cron: String,
    #[serde(default)]
    paused: Option<String>,
}

#[post("/admin/clusters/{id}/{action}")]
async fn cluster_action(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(Uuid, String)>,
    form: web::Form<ClusterActionForm>,
) -> Result<HttpResponse, UiError> {
    let who = ui_user(&state, &req).await?;
    who.check_csrf(&form.csrf_token)?;
    who.require(Role::Editor)?;
    let (id, action) = path.into_inner();
    let cluster = clusters::get(&state.pool, id)
        .await?
        .ok_or_else(|| UiError::not_found(format!("no cluster with id {id}")))?;
    let back = |notice: &str| see_other(&format!("/admin/clusters/{id}?notice={notice}"));
    let refused = |msg: String| render_cluster(&state, &who, id, StatusCode::BAD_REQUEST, Some(msg), None);
    match action.as_str() {
        "delete" => {
            clusters::delete(&state.pool, id, false, &who.actor()).await?;
            Ok(see_other("/admin/clusters?notice=deleted"))
        }
        "toggle" => {
            let patch = ClusterPatch { enabled: Some(!cluster.enabled), ..Default::default() };
            clusters::update(&state.pool, id, &patch, &who.actor()).await?;
            Ok(back("updated"))
        }
        "check" => {
            crate::web::api::clusters::check(&state, &who, id).await?;
            Ok(back("checked"))
        }
        "labels" => {
            let (labels, group) = match (parse_labels(&form.labels), parse_group(&form.group)) {
                (Ok(l), Ok(g)) => (l, g),
                (Err(e), _) | (_, Err(e)) => return refused(e).await,
            };
            let patch = ClusterPatch { labels: Some(labels), group: Some(group), ..Default::default() };
            match clusters::update(&state.pool, id, &patch, &who.actor()).await {
                Ok(_) => Ok(back("updated")),
                Err(crate::store::StoreError::Conflict(msg)) => refused(msg).await,
                Err(e) => Err(e.into()),
            }
        }
        "schedule" => {
            let interval_seconds = match form.interval_seconds.trim() {
                "" => None,
                s => match s.parse::<i32>() {
                    Ok(n) => Some(n),
                    Err(_) => return refused(format!("`{s}` is not a number of seconds")).await,
                },
            };
            let body = ScheduleBody {
                interval_seconds,
                cron: Some(form.cron.clone()).filter(|c| !c.trim().is_empty()),
                paused: form.paused.is_some(),
            };
            match crate::web::api::scans::apply_schedule(&state, &who, id, body).await {
                Ok(_) => Ok(back("updated")),
                Err(e @ crate::web::error::ApiError::BadRequest(_)) => refused(e.to_string()).await,
                Err(e) => Err(e.into()),
            }
        }
        other => Err(UiError::not_found(format!("unknown action `{other}`"))),
    }
}

// ---------------------------------------------------------------------------------------------
// Audit log

#[derive(Template)]
#[template(path = "admin_audit.html")]
struct AuditPage {
    ctx: PageContext,
    entries: Vec<AuditEntry>,
    next_cursor: Option<String>,
    action: String,
}

#[get("/admin/audit")]
async fn audit_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, UiError> {
    let who = require(&state, &req, Role::Admin).await?;
    let before = match q.cursor.as_deref().filter(|c| !c.is_empty()) {
        Some(c) => Some(
            decode_cursor(c)?.parse::<i64>().map_err(|_| UiError::bad_request("the cursor is not valid"))?,
        ),
        None => None,
    };
    let action = q.action.clone().unwrap_or_default().trim().to_string();
    let mut entries =
        audit::list(&state.pool, PAGE_SIZE + 1, before, Some(action.as_str()).filter(|a| !a.is_empty()))
            .await?;
    let next_cursor = cut(&mut entries, |e| e.id.to_string());
    let ctx = admin_ctx(&who, "The audit log as stored now.");
    Ok(super::page(&AuditPage { ctx, entries, next_cursor, action }))
}
