//! Exceptions (waivers): the rules of making, changing, approving and removing one, every change
//! audited. Editors make and change them; with `[exceptions] require_approval` an editor's new or
//! changed exception is `pending` until an admin approves it (an admin's own apply at once).
//! Which results one covers is the store's (`store::exceptions`).

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use super::RegistryError;
use crate::store::audit::{self, Actor};
use crate::store::clusters;
use crate::store::exceptions::{self, ExceptionRecord, ExceptionScope, ExceptionState, NewException};

/// The longest justification, in characters.
pub const MAX_JUSTIFICATION_CHARS: usize = 4000;
/// The longest owner, namespace or resource glob, in characters.
pub const MAX_FIELD_CHARS: usize = 253;

/// A new exception, as a caller asks for it.
#[derive(Debug, Clone)]
pub struct ExceptionInput {
    pub check_id: String,
    pub scope: ExceptionScope,
    pub namespace: Option<String>,
    pub resource: Option<String>,
    pub justification: String,
    pub expires_at: DateTime<Utc>,
    pub owner: Option<String>,
}

/// Changes to an exception: `None` leaves a field as it is; for the optional fields
/// `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct ExceptionChange {
    pub scope: Option<ExceptionScope>,
    pub namespace: Option<Option<String>>,
    pub resource: Option<Option<String>>,
    pub justification: Option<String>,
    pub expires_at: Option<DateTime<Utc>>,
    pub owner: Option<Option<String>>,
    /// An admin's decision: `Approved` or `Rejected`.
    pub state: Option<ExceptionState>,
}

fn invalid(msg: impl Into<String>) -> RegistryError {
    RegistryError::Invalid(msg.into())
}

/// A printable, non-blank text of at most `max` characters, trimmed.
fn text(value: &str, what: &str, max: usize) -> Result<String, RegistryError> {
    let t = value.trim();
    if t.is_empty() || t.chars().count() > max || t.chars().any(char::is_control) {
        return Err(invalid(format!("{what} must be 1-{max} printable characters, not only spaces")));
    }
    Ok(t.to_string())
}

/// A namespace or resource-name glob: no spaces or control characters.
fn token(value: &str, what: &str) -> Result<String, RegistryError> {
    if value.is_empty()
        || value.chars().count() > MAX_FIELD_CHARS
        || value.chars().any(|c| c.is_control() || c.is_whitespace())
    {
        return Err(invalid(format!(
            "{what} must be 1-{MAX_FIELD_CHARS} characters without spaces or control characters"
        )));
    }
    Ok(value.to_string())
}

fn future(at: DateTime<Utc>) -> Result<(), RegistryError> {
    if at <= Utc::now() {
        return Err(invalid(format!("expires_at ({}) is not in the future", at.to_rfc3339())));
    }
    Ok(())
}

async fn check_scope(pool: &PgPool, scope: &ExceptionScope) -> Result<(), RegistryError> {
    if let ExceptionScope::Cluster(id) = scope {
        if clusters::get(pool, *id).await?.is_none() {
            return Err(RegistryError::NotFound(format!("no cluster with id {id}")));
        }
    }
    Ok(())
}

fn describe(e: &ExceptionRecord) -> serde_json::Value {
    let scope = match &e.scope {
        ExceptionScope::All => serde_json::json!({"all": true}),
        ExceptionScope::Cluster(id) => serde_json::json!({"cluster": id}),
        ExceptionScope::Group(g) => serde_json::json!({"group": g}),
    };
    serde_json::json!({
        "id": e.id, "check_id": e.check_id, "scope": scope, "namespace": e.namespace,
        "resource": e.resource, "owner": e.owner, "expires_at": e.expires_at, "state": e.state,
        "justification": e.justification,
    })
}

/// Make an exception. It applies at once unless approval is required and the caller is no admin.
pub async fn create(
    pool: &PgPool,
    require_approval: bool,
    actor: &Actor,
    input: ExceptionInput,
) -> Result<ExceptionRecord, RegistryError> {
    if crate::checks::find(&input.check_id).is_none() {
        return Err(RegistryError::NotFound(format!(
            "no check `{}`; GET /api/v1/checks lists them",
            input.check_id.chars().take(80).collect::<String>()
        )));
    }
    let justification = text(&input.justification, "justification", MAX_JUSTIFICATION_CHARS)?;
    let owner = input.owner.as_deref().map(|o| text(o, "owner", MAX_FIELD_CHARS)).transpose()?;
    let namespace = input.namespace.as_deref().map(|n| token(n, "namespace")).transpose()?;
    let resource = input.resource.as_deref().map(|r| token(r, "resource")).transpose()?;
    future(input.expires_at)?;
    check_scope(pool, &input.scope).await?;
    let pending = require_approval && !actor.admin;
    let mut tx = pool.begin().await.map_err(crate::store::StoreError::from)?;
    let record = exceptions::insert(
        &mut tx,
        &NewException {
            check_id: &input.check_id,
            scope: &input.scope,
            namespace: namespace.as_deref(),
            resource: resource.as_deref(),
            justification: &justification,
            owner: owner.as_deref(),
            expires_at: input.expires_at,
            state: if pending { ExceptionState::Pending } else { ExceptionState::Approved },
            created_by: (actor.id, &actor.name),
            decided_by: (require_approval && actor.admin).then_some(actor.name.as_str()),
        },
    )
    .await?;
    audit::record(&mut *tx, actor, "exception.create", Some(&record.id.to_string()), describe(&record))
        .await?;
    tx.commit().await.map_err(crate::store::StoreError::from)?;
    Ok(record)
}

/// Change an exception. Only an admin decides (`state`); under required approval an editor's
/// change sends it back to `pending`.
pub async fn update(
    pool: &PgPool,
    require_approval: bool,
    actor: &Actor,
    id: Uuid,
    change: ExceptionChange,
) -> Result<ExceptionRecord, RegistryError> {
    if change.state.is_some() && !actor.admin {
        return Err(RegistryError::Forbidden("only an admin approves or rejects an exception".into()));
    }
    if change.state == Some(ExceptionState::Pending) {
        return Err(invalid("state may be set to `approved` or `rejected`"));
    }
    if let Some(scope) = &change.scope {
        check_scope(pool, scope).await?;
    }
    let mut tx = pool.begin().await.map_err(crate::store::StoreError::from)?;
    let Some(before) = exceptions::get(&mut tx, id, true).await? else {
        return Err(RegistryError::NotFound(format!("no exception with id {id}")));
    };
    let mut after = before.clone();
    if let Some(scope) = change.scope {
        after.scope = scope;
    }
    if let Some(ns) = change.namespace {
        after.namespace = ns.as_deref().map(|n| token(n, "namespace")).transpose()?;
    }
    if let Some(r) = change.resource {
        after.resource = r.as_deref().map(|r| token(r, "resource")).transpose()?;
    }
    if let Some(j) = change.justification {
        after.justification = text(&j, "justification", MAX_JUSTIFICATION_CHARS)?;
    }
    if let Some(o) = change.owner {
        after.owner = o.as_deref().map(|o| text(o, "owner", MAX_FIELD_CHARS)).transpose()?;
    }
    if let Some(at) = change.expires_at {
        future(at)?;
        after.expires_at = at;
    }
    let edited = after != before;
    let mut action = "exception.update";
    match change.state {
        Some(decision) => {
            if decision == ExceptionState::Approved && after.expires_at <= Utc::now() {
                return Err(invalid(format!(
                    "the exception expired at {}; set a later expires_at to approve it",
                    after.expires_at.to_rfc3339()
                )));
            }
            after.state = decision;
            after.decided_by = Some(actor.name.clone());
            after.decided_at = Some(Utc::now());
            action =
                if decision == ExceptionState::Approved { "exception.approve" } else { "exception.reject" };
        }
        // An editor's change waits for an admin again.
        None if edited && require_approval && !actor.admin => {
            after.state = ExceptionState::Pending;
            after.decided_by = None;
            after.decided_at = None;
        }
        None => {}
    }
    if after == before {
        return Ok(before);
    }
    let record = exceptions::update(&mut tx, &after).await?;
    let detail = serde_json::json!({"before": describe(&before), "after": describe(&record)});
    audit::record(&mut *tx, actor, action, Some(&id.to_string()), detail).await?;
    tx.commit().await.map_err(crate::store::StoreError::from)?;
    Ok(record)
}

/// Remove an exception: the results it covered count again at once.
pub async fn delete(pool: &PgPool, actor: &Actor, id: Uuid) -> Result<(), RegistryError> {
    let mut tx = pool.begin().await.map_err(crate::store::StoreError::from)?;
    let Some(before) = exceptions::get(&mut tx, id, true).await? else {
        return Err(RegistryError::NotFound(format!("no exception with id {id}")));
    };
    exceptions::delete(&mut tx, id).await?;
    audit::record(&mut *tx, actor, "exception.delete", Some(&id.to_string()), describe(&before)).await?;
    tx.commit().await.map_err(crate::store::StoreError::from)?;
    Ok(())
}

/// One exception.
pub async fn get(pool: &PgPool, id: Uuid) -> Result<ExceptionRecord, RegistryError> {
    let mut conn = pool.acquire().await.map_err(crate::store::StoreError::from)?;
    exceptions::get(&mut conn, id, false)
        .await?
        .ok_or_else(|| RegistryError::NotFound(format!("no exception with id {id}")))
}
