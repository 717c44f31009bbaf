//! Builds the running application: shared state, the HTTP server bound to its listener, and the
//! first-start admin account. Integration tests build it the same way on port 0.

use std::net::TcpListener;

use actix_web::dev::Server;
use actix_web::middleware::{Compress, Condition, DefaultHeaders};
use actix_web::{web, App, HttpServer};
use sqlx::PgPool;
use tracing_actix_web::TracingLogger;

use crate::config::Settings;
pub use crate::crypto::install_crypto_provider;
use crate::domain::{Role, Username};
use crate::secrets::Cipher;
use crate::store::users;
use crate::web::AppState;

/// A built server, bound to its port but not yet running.
pub struct Application {
    port: u16,
    server: Server,
    state: AppState,
    scheduler: Option<crate::scheduler::SchedulerHandle>,
    credential_feed: tokio::task::JoinHandle<()>,
    https: bool,
    pruning: tokio::task::JoinHandle<()>,
    report_schedule: tokio::task::JoinHandle<()>,
    /// Watches the certificate files when serving HTTPS.
    cert_watch: Option<tokio::task::JoinHandle<()>>,
    /// The unauthenticated `/metrics` listener (`[metrics] listen`) and its port.
    metrics: Option<(u16, Server)>,
}

impl Application {
    /// Bind the listener and assemble the server. The pool must already be migrated
    /// ([`crate::store::connect`] does that).
    pub fn build(mut settings: Settings, pool: PgPool, cipher: Cipher) -> anyhow::Result<Application> {
        install_crypto_provider();
        let tls = match settings.server.tls_files().map_err(anyhow::Error::msg)? {
            Some((cert, key)) => Some(crate::web::tls::ReloadingCert::new(cert, key)?),
            None => None,
        };
        // Cookies of a site served over HTTPS are never sent in the clear.
        settings.server.secure_cookies |= tls.is_some();
        let https = tls.is_some();
        let listener = TcpListener::bind(settings.server.listen)
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", settings.server.listen))?;
        let port = listener.local_addr()?.port();
        let workers = settings.server.workers;
        let body_limit = settings.server.body_limit_bytes;
        let reload_every = std::time::Duration::from_secs(settings.server.tls_reload_secs);
        let state = AppState::new(pool, settings, cipher)?;
        let data = web::Data::new(state.clone());
        let metrics = match state.settings.metrics.listen {
            Some(addr) => Some(metrics_server(addr, data.clone())?),
            None => None,
        };
        let mut server = HttpServer::new(move || {
            App::new()
                .wrap(Compress::default())
                .wrap(Condition::new(
                    https,
                    DefaultHeaders::new().add(("Strict-Transport-Security", "max-age=31536000")),
                ))
                .wrap(
                    DefaultHeaders::new()
                        .add(("X-Content-Type-Options", "nosniff"))
                        .add(("X-Frame-Options", "DENY"))
                        .add(("Referrer-Policy", "same-origin"))
                        .add((
                            "Content-Security-Policy",
                            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
                             object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
                        )),
                )
                .wrap(actix_web::middleware::from_fn(crate::web::auth::resolve_identity))
                .wrap(actix_web::middleware::from_fn(crate::web::input::reject_unstorable_text))
                .wrap(TracingLogger::default())
                .app_data(data.clone())
                .configure(|cfg| crate::web::configure(cfg, body_limit))
                .default_service(web::to(crate::web::api::fallback))
        });
        let cert_watch = match &tls {
            Some(cert) => {
                server = server.listen_rustls_0_23(listener, cert.server_config()?)?;
                Some(cert.watch(reload_every))
            }
            None => {
                server = server.listen(listener)?;
                None
            }
        };
        if workers > 0 {
            server = server.workers(workers);
        }
        // The scan scheduler (issue 7): leases due scans in PostgreSQL; every replica runs one.
        let scheduler = state.settings.scheduler.enabled.then(|| {
            let s = &state.settings.scheduler;
            crate::scheduler::Scheduler::for_server(
                state.pool.clone(),
                state.cipher.clone(),
                s.clone(),
                state.egress.clone(),
            )
            .spawn()
        });
        // Expired sessions and old failed logins go on a schedule.
        let auth = &state.settings.auth;
        let pruning = crate::store::sessions::spawn_pruning(
            state.pool.clone(),
            std::time::Duration::from_secs(auth.prune_interval_secs),
            chrono::Duration::seconds(auth.failed_login_window_secs),
        );
        // Scheduled compliance reports (issue 15): due definitions, one replica each.
        let report_schedule = crate::web::reports::spawn_schedule(
            state.clone(),
            std::time::Duration::from_secs(state.settings.reports.tick_secs),
        );
        // Clears the credential cache whenever users, tokens or sessions change (any replica).
        let credential_feed =
            tokio::spawn(crate::web::auth::cache::listen(state.pool.clone(), state.credentials.clone()));
        Ok(Application {
            port,
            server: server.run(),
            state,
            scheduler,
            credential_feed,
            cert_watch,
            https,
            pruning,
            report_schedule,
            metrics,
        })
    }

    /// The port actually bound (useful with port 0).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The port of the separate `/metrics` listener, when `[metrics] listen` is set.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics.as_ref().map(|(port, _)| *port)
    }

    /// Whether the server speaks HTTPS (`server.tls_cert_file` set).
    pub fn is_https(&self) -> bool {
        self.https
    }

    /// The shared state (pool, settings, cipher) the handlers see.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serve until the process is asked to stop (SIGINT/SIGTERM).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let metrics = self.metrics.map(|(_, server)| (server.handle(), tokio::spawn(server)));
        let served = self.server.await;
        if let Some((handle, task)) = metrics {
            handle.stop(true).await;
            let _ = task.await;
        }
        self.credential_feed.abort();
        self.pruning.abort();
        self.report_schedule.abort();
        if let Some(watch) = self.cert_watch {
            watch.abort();
        }
        if let Some(scheduler) = self.scheduler {
            scheduler.shutdown().await;
        }
        served
    }
}

/// The `[metrics] listen` server: `GET /metrics` without authentication, nothing else, one worker.
fn metrics_server(addr: std::net::SocketAddr, data: web::Data<AppState>) -> anyhow::Result<(u16, Server)> {
    let listener =
        TcpListener::bind(addr).map_err(|e| anyhow::anyhow!("cannot listen for metrics on {addr}: {e}"))?;
    let port = listener.local_addr()?.port();
    if !addr.ip().is_loopback() {
        tracing::warn!(%addr, "/metrics is served without authentication on a non-loopback address; \
                               make sure only trusted scrapers can reach it");
    }
    let server = HttpServer::new(move || {
        App::new()
            .wrap(Compress::default())
            .wrap(DefaultHeaders::new().add(("X-Content-Type-Options", "nosniff")))
            .wrap(TracingLogger::default())
            .app_data(data.clone())
            .configure(crate::web::api::metrics::configure_listener)
    })
    .workers(1)
    .listen(listener)?
    .run();
    tracing::info!(port, "serving /metrics without authentication");
    Ok((port, server))
}

/// On first start (no users at all) create `admin` with `password` or a generated one.
/// Returns the generated password so the caller can print it once.
pub async fn ensure_admin(pool: &PgPool, password: Option<String>) -> anyhow::Result<Option<String>> {
    if users::count(pool).await? > 0 {
        return Ok(None);
    }
    let (password, generated) = match password.filter(|p| !p.is_empty()) {
        Some(p) => {
            crate::domain::validate_password(&p)
                .map_err(|e| anyhow::anyhow!("PALISADE_ADMIN_PASSWORD: {e}"))?;
            (p, false)
        }
        None => (crate::store::sessions::new_secret().0, true),
    };
    let name: Username = "admin".parse().map_err(anyhow::Error::msg)?;
    match users::create(pool, &name, &password, Role::Admin).await {
        Ok(_) => {}
        // Another replica created it first.
        Err(crate::store::StoreError::Conflict(_)) => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    crate::store::audit::record(
        pool,
        &crate::store::audit::Actor::system(),
        "user.create",
        Some("admin"),
        serde_json::json!({"role": "admin", "first_start": true}),
    )
    .await?;
    Ok(generated.then_some(password))
}
