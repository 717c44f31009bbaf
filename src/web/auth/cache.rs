//! A short-lived, in-process cache of who a credential (API token or session cookie) belongs to,
//! so a busy integration does not cost a database round trip per request just to say who it is.
//!
//! Correctness comes first, speed second:
//! - An entry lives at most `ttl` (configuration `server.credential_cache_secs`, default 5 s;
//!   0 turns the cache off) and never past the credential's own expiry.
//! - Any change to users, API tokens or sessions clears the cache: the handlers that make such a
//!   change in this process call [`CredentialCache::invalidate`] before answering, and every change
//!   made elsewhere (another replica, the `palisade user` CLI, SQL by hand) reaches each replica as
//!   a PostgreSQL `NOTIFY palisade_credentials` from triggers on those tables (migration
//!   `0102_credential_notify.sql`), which [`listen`] turns into an invalidation.
//! - The cache is used only while that notification feed is connected. When the listening
//!   connection drops (database restart) the cache is cleared and bypassed until it is back, so
//!   a change that happened meanwhile cannot be missed.
//! - A lookup that raced with an invalidation is not stored (a generation counter), so a stale
//!   answer read before a revoke cannot be cached after it.
//!
//! Keys are SHA-256 digests of the secret, never the secret itself.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sqlx::postgres::PgListener;
use sqlx::PgPool;

use crate::store::sessions::SessionUser;
use crate::store::tokens::TokenUser;

/// The PostgreSQL notification channel the credential triggers send on.
pub const CHANNEL: &str = "palisade_credentials";

/// Entries kept at most; past this the cache starts over (a bound, not an LRU).
const MAX_ENTRIES: usize = 10_000;

/// Who a credential belongs to, as last read from the database.
#[derive(Debug, Clone)]
pub enum Principal {
    Token(TokenUser),
    Session(SessionUser),
}

struct Entry {
    principal: Principal,
    until: Instant,
}

/// See the module documentation.
pub struct CredentialCache {
    ttl: Duration,
    /// Bumped by every invalidation.
    generation: AtomicU64,
    /// The invalidation feed is connected: only then may entries be used.
    live: AtomicBool,
    entries: Mutex<HashMap<Vec<u8>, Entry>>,
}

/// Shows the settings and the number of entries, never who they are or their CSRF tokens.
impl std::fmt::Debug for CredentialCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialCache")
            .field("ttl", &self.ttl)
            .field("live", &self.live.load(Ordering::Relaxed))
            .field("entries", &self.lock().len())
            .finish()
    }
}

/// A ticket taken before reading the database: the answer may be stored only if no invalidation
/// happened in between.
#[derive(Debug, Clone, Copy)]
pub struct Ticket(Option<u64>);

impl CredentialCache {
    pub fn new(ttl: Duration) -> Self {
        CredentialCache {
            ttl,
            generation: AtomicU64::new(0),
            live: AtomicBool::new(false),
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn enabled(&self) -> bool {
        !self.ttl.is_zero() && self.live.load(Ordering::Acquire)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Vec<u8>, Entry>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The cached principal for a credential digest, if fresh.
    pub fn get(&self, digest: &[u8]) -> Option<Principal> {
        if !self.enabled() {
            return None;
        }
        let entries = self.lock();
        let entry = entries.get(digest)?;
        (entry.until > Instant::now()).then(|| entry.principal.clone())
    }

    /// Take before reading the database.
    pub fn ticket(&self) -> Ticket {
        Ticket(self.enabled().then(|| self.generation.load(Ordering::Acquire)))
    }

    /// Remember what the database said, unless the cache was invalidated since `ticket`.
    pub fn put(
        &self,
        ticket: Ticket,
        digest: Vec<u8>,
        principal: Principal,
        expires_at: Option<DateTime<Utc>>,
    ) {
        let Some(generation) = ticket.0 else { return };
        let mut until = Instant::now() + self.ttl;
        if let Some(expires) = expires_at {
            let left = (expires - Utc::now()).to_std().unwrap_or(Duration::ZERO);
            until = until.min(Instant::now() + left);
        }
        let mut entries = self.lock();
        // Checked under the lock that `invalidate` also takes, so no stale insert can follow it.
        if self.generation.load(Ordering::Acquire) != generation || !self.enabled() {
            return;
        }
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(digest, Entry { principal, until });
    }

    /// Forget everything (a user, token or session changed).
    pub fn invalidate(&self) {
        let mut entries = self.lock();
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.clear();
    }

    /// Invalidating after the flag changes is enough: `put` re-checks the flag under the lock
    /// `invalidate` takes, so nothing stored before survives and nothing is stored after.
    fn set_live(&self, live: bool) {
        self.live.store(live, Ordering::Release);
        self.invalidate();
    }

    /// Whether cached answers are being used (the feed is connected and the TTL is not 0).
    pub fn is_active(&self) -> bool {
        self.enabled()
    }
}

/// Follow the invalidation feed for as long as the process runs: connect, `LISTEN`, mark the cache
/// usable, clear it on every notification; on a lost connection mark it unusable and reconnect.
pub async fn listen(pool: PgPool, cache: std::sync::Arc<CredentialCache>) {
    if cache.ttl.is_zero() {
        return;
    }
    let mut backoff = Duration::from_millis(250);
    loop {
        let mut listener = match PgListener::connect_with(&pool).await {
            Ok(l) => l,
            Err(e) => {
                tracing::debug!(error = %e, "credential cache: cannot connect the invalidation listener");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
                continue;
            }
        };
        // Do not let sqlx reconnect behind our back: a silent reconnect would hide lost notifications.
        listener.ignore_pool_close_event(true);
        if let Err(e) = listener.listen(CHANNEL).await {
            tracing::debug!(error = %e, "credential cache: LISTEN failed");
            tokio::time::sleep(backoff).await;
            continue;
        }
        backoff = Duration::from_millis(250);
        cache.set_live(true);
        // Ok(None) or an error: the connection was lost, and notifications with it.
        while let Ok(Some(_)) = listener.try_recv().await {
            cache.invalidate();
        }
        cache.set_live(false);
        tracing::info!("credential cache: invalidation feed lost; looking credentials up in the database until it is back");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token() -> Principal {
        Principal::Token(TokenUser {
            token_id: uuid::Uuid::nil(),
            user_id: uuid::Uuid::nil(),
            username: "u".into(),
            role: crate::domain::Role::Viewer,
            user_role: crate::domain::Role::Admin,
            expires_at: None,
        })
    }

    #[test]
    fn nothing_is_cached_until_the_feed_is_live() {
        let c = CredentialCache::new(Duration::from_secs(5));
        let t = c.ticket();
        c.put(t, vec![1], token(), None);
        assert!(c.get(&[1]).is_none());
        c.set_live(true);
        let t = c.ticket();
        c.put(t, vec![1], token(), None);
        assert!(c.get(&[1]).is_some());
        c.set_live(false);
        assert!(c.get(&[1]).is_none(), "a lost feed must bypass the cache");
    }

    #[test]
    fn an_answer_read_before_an_invalidation_is_not_stored() {
        let c = CredentialCache::new(Duration::from_secs(5));
        c.set_live(true);
        let t = c.ticket();
        c.invalidate();
        c.put(t, vec![1], token(), None);
        assert!(c.get(&[1]).is_none());
    }

    #[test]
    fn entries_never_outlive_the_credential() {
        let c = CredentialCache::new(Duration::from_secs(60));
        c.set_live(true);
        let t = c.ticket();
        c.put(t, vec![1], token(), Some(Utc::now() - chrono::Duration::seconds(1)));
        assert!(c.get(&[1]).is_none());
        let t = c.ticket();
        c.put(t, vec![2], token(), Some(Utc::now() + chrono::Duration::seconds(30)));
        assert!(c.get(&[2]).is_some());
        c.invalidate();
        assert!(c.get(&[2]).is_none());
    }

    #[test]
    fn a_zero_ttl_turns_the_cache_off() {
        let c = CredentialCache::new(Duration::ZERO);
        c.set_live(true);
        let t = c.ticket();
        c.put(t, vec![1], token(), None);
        assert!(c.get(&[1]).is_none());
    }
}
