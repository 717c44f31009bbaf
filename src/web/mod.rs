//! Everything HTTP: the JSON API under `/api/v1` ([`api`]), the HTML dashboard ([`ui`]), who is
//! calling ([`auth`]) and the error policy ([`error`]). Handlers get the shared [`AppState`] as
//! `web::Data<AppState>`.

pub mod analyses;
pub mod api;
pub mod auth;
pub mod error;
pub mod input;
pub mod reports;
pub mod tls;
pub mod ui;

use std::sync::Arc;

use actix_web::web;
use sqlx::PgPool;
use uuid::Uuid;

use crate::config::Settings;
use crate::registry::Registry;
use crate::secrets::Cipher;

/// Shared by every request handler: the cluster [`Registry`] (which holds the pool and the
/// credential cipher: `state.pool` and `state.cipher` reach them through `Deref`) and what only
/// handlers need on top of it.
#[derive(Debug, Clone)]
pub struct AppState {
    pub registry: Registry,
    pub settings: Arc<Settings>,
    pub token_uses: Arc<auth::TokenUseTracker>,
    /// Who recent credentials belong to (see [`auth::cache`]).
    pub credentials: Arc<auth::cache::CredentialCache>,
    /// Recent scans' RBAC and network analyses (see [`analyses`]).
    pub analyses: Arc<analyses::AnalysisCache>,
}

impl std::ops::Deref for AppState {
    type Target = Registry;
    fn deref(&self) -> &Registry {
        &self.registry
    }
}

impl AppState {
    /// Fails when the `[egress]` settings are not valid CIDRs.
    pub fn new(
        pool: PgPool,
        settings: Settings,
        cipher: Cipher,
    ) -> Result<AppState, crate::egress::EgressError> {
        let credential_ttl = std::time::Duration::from_secs(settings.server.credential_cache_secs);
        let analyses = Arc::new(analyses::AnalysisCache::new(settings.server.analysis_cache_entries));
        let default_interval = std::time::Duration::from_secs(settings.scheduler.default_interval_secs);
        let egress = Arc::new(crate::egress::Egress::from_settings(&settings.egress)?);
        Ok(AppState {
            analyses,
            registry: Registry::new(pool, Arc::new(cipher), default_interval, egress),
            settings: Arc::new(settings),
            token_uses: Arc::new(auth::TokenUseTracker::default()),
            credentials: Arc::new(auth::cache::CredentialCache::new(credential_ttl)),
        })
    }

    /// Write a token's `last_used_at` at most once a minute, off the request path.
    pub fn note_token_use(&self, id: Uuid) {
        if self.token_uses.due(id) {
            let pool = self.pool.clone();
            tokio::spawn(async move {
                if let Err(e) = crate::store::tokens::touch(&pool, id).await {
                    tracing::debug!(error = %e, "cannot record token use");
                }
            });
        }
    }
}

/// Register every route: health probes, the API, the dashboard and its static files.
pub fn configure(cfg: &mut web::ServiceConfig, body_limit: usize) {
    cfg.app_data(
        web::JsonConfig::default()
            .limit(body_limit)
            .error_handler(move |e, _| error::json_error(e, body_limit).into()),
    )
    .app_data(web::FormConfig::default().limit(body_limit))
    .app_data(web::PayloadConfig::default().limit(body_limit))
    .app_data(web::QueryConfig::default().error_handler(|e, _| error::query_error(e).into()))
    .app_data(web::PathConfig::default().error_handler(|e, _| error::path_error(e).into()));
    api::configure(cfg);
    ui::configure(cfg);
}
