//! Liveness (`/healthz`: the process answers) and readiness (`/readyz`: the database answers and
//! every migration this binary knows is applied). Both are public: orchestrators call them.

use actix_web::{get, web, HttpResponse};
use serde::Serialize;

use crate::web::AppState;

/// The only words a caller gets about a database problem (the cause is logged).
const NO_DATABASE: &str = "the database is not answering";

/// Readiness: ready or not, and which part is missing; never an error's text.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Readiness {
    pub database: bool,
    pub migrations: bool,
    /// Why the server is not ready, when it is not.
    pub reason: Option<String>,
}

/// The process is alive.
#[utoipa::path(tag = "health", security(()), responses((status = 200, description = "alive")))]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("ok")
}

/// The server can serve requests: the database answers and the migrations are applied.
#[utoipa::path(tag = "health", security(()), responses(
    (status = 200, body = Readiness, description = "ready"),
    (status = 503, body = Readiness, description = "not ready (the cause is in the server's log)"),
))]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let check = tokio::time::timeout(
        std::time::Duration::from_secs(3),
        crate::store::db::migrations_applied(&state.pool),
    )
    .await;
    let r = match check {
        Err(_) => {
            tracing::warn!("not ready: the database did not answer within 3 seconds");
            Readiness { database: false, migrations: false, reason: Some(NO_DATABASE.into()) }
        }
        Ok(Ok(true)) => Readiness { database: true, migrations: true, reason: None },
        Ok(Ok(false)) => Readiness {
            database: true,
            migrations: false,
            reason: Some("the database lacks migrations this server needs; run `palisade migrate`".into()),
        },
        Ok(Err(e)) => {
            // The cause is for the operator's log; the (unauthenticated) caller learns only that
            // the database is not answering.
            tracing::warn!(error = %format_args!("{:#}", anyhow::Error::from(e)), "not ready: database error");
            Readiness { database: false, migrations: false, reason: Some(NO_DATABASE.into()) }
        }
    };
    if r.database && r.migrations {
        HttpResponse::Ok().json(r)
    } else {
        HttpResponse::ServiceUnavailable().json(r)
    }
}
