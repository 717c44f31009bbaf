//! `palisade serve`: load settings, connect (or start an embedded PostgreSQL), migrate, create the
//! first admin, and serve HTTP until stopped.

use std::net::SocketAddr;

use anyhow::Context;

use crate::config::Settings;
use crate::secrets::Cipher;
use crate::startup::{ensure_admin, Application};

/// Options of `palisade serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on (default 127.0.0.1:8080; also PALISADE__SERVER__LISTEN).
    #[arg(long, value_name = "ADDR:PORT")]
    pub listen: Option<SocketAddr>,
    /// Register the simulator's sample clusters (a demo fleet) on start.
    #[arg(long)]
    pub demo: bool,
}

/// Run the server.
pub fn run(args: &ServeArgs) -> anyhow::Result<()> {
    crate::telemetry::init();
    let mut settings = Settings::load().context("cannot load the settings")?;
    if let Some(listen) = args.listen {
        settings.server.listen = listen;
    }
    tracing::info!("settings:\n{}", settings.redacted());
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(serve(settings, args.demo))
}

async fn serve(mut settings: Settings, demo: bool) -> anyhow::Result<()> {
    if demo {
        // The demo fleet is simulated on this machine: let nothing leave it.
        settings.egress.allow = crate::config::EgressSettings::loopback_only().allow;
        tracing::info!(allow = ?settings.egress.allow, "--demo: egress limited to loopback");
    }
    let (pool, embedded) = crate::store::db::connect_for_serve(&settings).await?;
    let result = async {
        let cipher = Cipher::from_settings(&settings.secrets)?;
        if let Some(password) = ensure_admin(&pool, std::env::var("PALISADE_ADMIN_PASSWORD").ok()).await? {
            // Printed once, on the terminal only (not the log): it is a secret.
            println!(
                "\nCreated the first user `admin` with password: {password}\nChange it after logging in.\n"
            );
        }
        let app = Application::build(settings, pool.clone(), cipher)?;
        let scheme = if app.is_https() { "https" } else { "http" };
        tracing::info!(port = app.port(), scheme, "palisade is listening");
        // The demo simulators live as long as the server: dropping the fleet stops them.
        let _demo = if demo {
            let fleet = crate::sim::demo::DemoFleet::start().await?;
            let registered = fleet.register(&app.state().registry).await?;
            tracing::info!(clusters = registered.len(), "--demo: sample clusters simulated and registered");
            Some(fleet)
        } else {
            None
        };
        app.run_until_stopped().await?;
        anyhow::Ok(())
    }
    .await;
    pool.close().await;
    if let Some(pg) = embedded {
        pg.stop();
    }
    result
}
