//! `palisade migrate`: create the database if missing and apply the migrations, then exit.

use anyhow::Context;

use crate::config::Settings;

/// Apply the migrations and list them.
pub fn run() -> anyhow::Result<()> {
    crate::telemetry::init();
    let settings = Settings::load().context("cannot load the settings")?;
    super::block_on(async {
        let (pool, embedded) = crate::store::db::connect_for_serve(&settings).await?;
        for m in crate::store::MIGRATOR.iter() {
            println!("applied {:04} {}", m.version, m.description);
        }
        pool.close().await;
        if let Some(pg) = embedded {
            pg.stop();
        }
        Ok(())
    })
}
