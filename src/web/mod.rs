//! Everything HTTP: the JSON API under `/api/v1` ([`api`]), the HTML dashboard ([`ui`]), who is
//! calling ([`auth`]) and the error policy ([`error`]). Handlers get the shared [`AppState`] as
//! `web::Data<AppState>`.

pub mod analyses;
pub mod api;
pub mod auth;
pub mod error;
pub mod ui;

use std::sync::Arc;

use actix_web::web;
use sqlx::PgPool;
use uuid::Uuid;

use crate::collect::client::ClusterCredentials;
use crate::config::Settings;
use crate::secrets::Cipher;
use crate::store::audit::Actor;
use crate::store::clusters::{self, Cluster, NewCluster};
use crate::store::StoreError;

/// Shared by every request handler.
#[derive(Debug, Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub settings: Arc<Settings>,
    pub cipher: Arc<Cipher>,
    pub token_uses: Arc<auth::TokenUseTracker>,
    /// Who recent credentials belong to (see [`auth::cache`]).
    pub credentials: Arc<auth::cache::CredentialCache>,
    /// Recent scans' RBAC and network analyses (see [`analyses`]).
    pub analyses: Arc<analyses::AnalysisCache>,
}

impl AppState {
    pub fn new(pool: PgPool, settings: Settings, cipher: Cipher) -> AppState {
        let credential_ttl = std::time::Duration::from_secs(settings.server.credential_cache_secs);
        let analyses = Arc::new(analyses::AnalysisCache::new(settings.server.analysis_cache_entries));
        AppState {
            analyses,
            pool,
            settings: Arc::new(settings),
            cipher: Arc::new(cipher),
            token_uses: Arc::new(auth::TokenUseTracker::default()),
            credentials: Arc::new(auth::cache::CredentialCache::new(credential_ttl)),
        }
    }

    /// Register a cluster and (when asked) check that it answers; the connectivity outcome is
    /// stored with the cluster. An unreachable cluster is still registered.
    pub async fn register_cluster(
        &self,
        new: &NewCluster,
        actor: &Actor,
        check_connectivity: bool,
    ) -> Result<Cluster, StoreError> {
        let cluster = clusters::register(&self.pool, &self.cipher, new, actor).await?;
        if check_connectivity {
            self.check_connectivity(cluster.id, &new.credentials).await
        } else {
            Ok(cluster)
        }
    }

    /// Probe a cluster's `GET /version` and store the outcome.
    pub async fn check_connectivity(
        &self,
        id: Uuid,
        creds: &ClusterCredentials,
    ) -> Result<Cluster, StoreError> {
        let outcome = crate::collect::connect::probe(creds).await;
        clusters::record_connectivity(&self.pool, id, &outcome).await
    }

    /// A cluster's decrypted credentials (collectors, scheduler).
    pub async fn cluster_credentials(&self, id: Uuid) -> Result<ClusterCredentials, StoreError> {
        clusters::load_credentials(&self.pool, &self.cipher, id).await
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
    // Keep last: a catch-all for unknown /api paths.
    api::configure_fallback(cfg);
}
