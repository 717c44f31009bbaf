//! The agentless SSH probe (issue 14): connect to a node's SSH server the way anyone on the
//! network could and record what it offers.
//! - Its version line and the algorithm lists of its KEXINIT, which needs no key exchange.
//! - Which of those are weak ([`weakness`]).
//! - Which user-authentication methods it offers: a finished key exchange, then a `none` request
//!   for a user that does not exist and, on a second connection (OpenSSH refuses a change of user),
//!   for `root`. `password` or `keyboard-interactive` among them means password login is possible.
//!
//! No credential is ever sent and nothing but these facts is kept. Every connection goes through
//! the egress policy.

mod weak;
pub mod wire;

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};

use crate::egress::Egress;
pub use crate::snapshot::probe::{SshFacts, SshWeak};
use crate::telemetry;
pub use weak::weakness;
use wire::{Agreed, Exchange, KexInit, Reader, Transport, Writer};

/// The version line Palisade sends.
pub const CLIENT_VERSION: &str = concat!("SSH-2.0-Palisade_", env!("CARGO_PKG_VERSION"));

/// What one connection learned.
struct Session {
    banner: String,
    offer: KexInit,
    host_key: Option<Vec<u8>>,
    auth: Result<Auth, String>,
}

/// The answer to a `none` user-authentication request.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Auth {
    /// Refused, with the methods that can continue.
    Methods(Vec<String>),
    /// Accepted: the user is in without authenticating.
    Accepted,
}

impl SshFacts {
    /// Facts of a server that could not be probed.
    pub fn unreachable(endpoint: String, reason: String) -> SshFacts {
        SshFacts {
            endpoint,
            reachable: false,
            reason: Some(reason),
            banner: None,
            kex: Vec::new(),
            host_key: Vec::new(),
            ciphers: Vec::new(),
            macs: Vec::new(),
            weak: SshWeak::default(),
            host_key_fingerprint: None,
            auth_methods: None,
            root_auth_methods: None,
            password_auth: None,
            none_accepted: false,
            auth_error: None,
        }
    }

    /// The facts as lines of text (`--format table`), each weak algorithm with its reason.
    pub fn to_table(&self) -> String {
        let mut out = format!("endpoint: {}\n", self.endpoint);
        if !self.probed() {
            let reachable = if self.reachable { "yes" } else { "no" };
            out.push_str(&format!(
                "reachable: {reachable} ({})\n",
                self.reason.as_deref().unwrap_or("unknown reason")
            ));
            return out;
        }
        out.push_str(&format!("banner: {}\n", self.banner.as_deref().unwrap_or("")));
        for (kind, list) in [
            ("kex", &self.kex),
            ("host key", &self.host_key),
            ("ciphers", &self.ciphers),
            ("macs", &self.macs),
        ] {
            out.push_str(&format!("{kind}: {}\n", list.join(", ")));
        }
        if let Some(f) = &self.host_key_fingerprint {
            out.push_str(&format!("host key fingerprint: {f}\n"));
        }
        if self.weak.is_empty() {
            out.push_str("weak algorithms: none\n");
        } else {
            out.push_str("weak algorithms:\n");
            for (kind, alg) in self.weak.all() {
                let why = weakness(kind, alg).unwrap_or("weak");
                out.push_str(&format!("  {kind} {alg}: {why}\n"));
            }
        }
        let methods = |m: &Option<Vec<String>>| match m {
            Some(m) if m.is_empty() => "none offered".to_string(),
            Some(m) => m.join(", "),
            None => "unknown".to_string(),
        };
        out.push_str(&format!("auth methods (unknown user): {}\n", methods(&self.auth_methods)));
        out.push_str(&format!("auth methods (root): {}\n", methods(&self.root_auth_methods)));
        if self.none_accepted {
            out.push_str("no authentication required: yes\n");
        }
        let password = match self.password_auth {
            Some(true) => "yes".to_string(),
            Some(false) => "no".to_string(),
            None => format!("unknown ({})", self.auth_error.as_deref().unwrap_or("not decided")),
        };
        out.push_str(&format!("password login possible: {password}\n"));
        out
    }
}

/// `HOST:PORT` or `[V6]:PORT`, or a bare host with port 22.
pub fn parse_endpoint(endpoint: &str) -> Result<(String, u16), String> {
    let bracketed = endpoint.starts_with('[');
    match endpoint.rsplit_once(':') {
        Some((host, port)) if bracketed || !host.contains(':') => {
            let port: u16 =
                port.parse().map_err(|_| format!("`{port}` in `{endpoint}` is not a port number"))?;
            let host = host.trim_start_matches('[').trim_end_matches(']');
            if host.is_empty() {
                return Err(format!("`{endpoint}` names no host"));
            }
            Ok((host.to_string(), port))
        }
        _ if endpoint.is_empty() => Err("no endpoint given".into()),
        _ => Ok((endpoint.trim_start_matches('[').trim_end_matches(']').to_string(), 22)),
    }
}

/// Probe one SSH server through `egress`, each connection's whole exchange within `timeout`.
pub async fn probe_ssh(egress: &Egress, host: &str, port: u16, timeout: Duration) -> SshFacts {
    let endpoint = crate::snapshot::probe::host_port(host, port);
    let user = format!("palisade-probe-{:08x}", rand::random::<u32>());
    let connect = |user: String| async move {
        let stream =
            egress.connect(host, port).await.map_err(|e| (false, telemetry::Chain(&e).to_string()))?;
        match tokio::time::timeout(timeout, session(stream, &user)).await {
            Ok(result) => result.map_err(|e| (true, e)),
            Err(_) => Err((true, format!("no answer within {}", crate::egress::secs(timeout)))),
        }
    };
    let (first, root) = tokio::join!(connect(user), connect("root".to_string()));
    let first = match first {
        Ok(s) => s,
        Err((reachable, reason)) => {
            let mut facts = SshFacts::unreachable(endpoint, reason);
            if reachable {
                facts.reason = facts.reason.map(|r| format!("not an SSH server, or it broke off: {r}"));
            }
            facts.reachable = reachable;
            return facts;
        }
    };
    let offer = &first.offer;
    let union = |a: &[String], b: &[String]| {
        let mut out = a.to_vec();
        out.extend(b.iter().filter(|x| !a.contains(x)).cloned());
        out
    };
    let ciphers = union(&offer.ciphers_c2s, &offer.ciphers_s2c);
    let macs = union(&offer.macs_c2s, &offer.macs_s2c);
    let weak_of = |kind: &str, list: &[String]| -> Vec<String> {
        list.iter().filter(|a| weakness(kind, a).is_some()).cloned().collect()
    };
    let weak = SshWeak {
        kex: weak_of("kex", &offer.kex),
        host_key: weak_of("host_key", &offer.host_key),
        ciphers: weak_of("ciphers", &ciphers),
        macs: weak_of("macs", &macs),
    };
    let methods = |a: &Result<Auth, String>| match a {
        Ok(Auth::Methods(m)) => Some(m.clone()),
        Ok(Auth::Accepted) => Some(Vec::new()),
        Err(_) => None,
    };
    let root_auth = match &root {
        Ok(s) => s.auth.clone(),
        Err((_, e)) => Err(e.clone()),
    };
    let auth_methods = methods(&first.auth);
    let root_auth_methods = methods(&root_auth);
    let none_accepted = matches!(first.auth, Ok(Auth::Accepted)) || matches!(root_auth, Ok(Auth::Accepted));
    let offers_password = |m: &Option<Vec<String>>| {
        m.as_ref().map(|m| m.iter().any(|x| x == "password" || x == "keyboard-interactive"))
    };
    let password_auth = match (offers_password(&auth_methods), offers_password(&root_auth_methods)) {
        (Some(true), _) | (_, Some(true)) => Some(true),
        (Some(false), Some(false)) => Some(false),
        // One connection answered no and the other could not tell: not decided.
        _ => None,
    };
    let auth_error = match (&first.auth, &root_auth) {
        (Err(e), _) => Some(e.clone()),
        (_, Err(e)) => Some(format!("as root: {e}")),
        _ => None,
    };
    SshFacts {
        endpoint,
        reachable: true,
        reason: None,
        banner: Some(first.banner.clone()),
        kex: offer.kex.clone(),
        host_key: offer.host_key.clone(),
        ciphers,
        macs,
        weak,
        host_key_fingerprint: first.host_key.as_deref().map(wire::fingerprint),
        auth_methods,
        root_auth_methods,
        password_auth: if none_accepted { Some(true) } else { password_auth },
        none_accepted,
        auth_error,
    }
}

/// Our offer: what the transport speaks for the key exchange and ciphers; for host keys and MACs
/// whatever the server names (the host key's signature is not checked, and the AEAD ciphers use no
/// MAC), so only the exchange and the cipher can fail to agree.
fn client_offer(server: &KexInit) -> KexInit {
    let ours = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    KexInit {
        kex: ours(wire::KEX),
        host_key: server.host_key.clone(),
        ciphers_c2s: ours(wire::CIPHERS),
        ciphers_s2c: ours(wire::CIPHERS),
        macs_c2s: server.macs_c2s.clone(),
        macs_s2c: server.macs_s2c.clone(),
        compression_c2s: vec!["none".into()],
        compression_s2c: vec!["none".into()],
        first_kex_follows: false,
    }
}

/// One connection: versions, KEXINITs, then the key exchange and a `none` request for `user`.
/// An error before the server's KEXINIT fails the session; one after it is the `auth` outcome.
async fn session<S: AsyncRead + AsyncWrite + Unpin>(stream: S, user: &str) -> Result<Session, String> {
    let mut t = Transport::new(stream);
    t.write_line(CLIENT_VERSION).await?;
    let banner = t.read_version().await?;
    let i_s = t.recv_message().await?;
    let offer = KexInit::parse(&i_s)?;
    let mut host_key = None;
    let auth = async {
        let mine = client_offer(&offer);
        let agreed = Agreed::negotiate(&mine, &offer)?;
        let i_c = mine.encode(&t.rng);
        t.send(&i_c).await?;
        if offer.first_kex_follows {
            // RFC 4253 7: a guessed first exchange packet; ours and theirs agree only by chance,
            // so a guess for another exchange is dropped. OpenSSH never sends one.
            return Err(
                "the server sent a guessed key-exchange packet, which Palisade does not follow".into()
            );
        }
        let x = Exchange { v_c: CLIENT_VERSION, v_s: &banner, i_c: &i_c, i_s: &i_s };
        host_key = Some(wire::client_kex(&mut t, &x, &agreed).await?);
        authenticate_none(&mut t, user).await
    }
    .await;
    t.disconnect("probe finished").await;
    Ok(Session { banner, offer, host_key, auth })
}

async fn authenticate_none<S: AsyncRead + AsyncWrite + Unpin>(
    t: &mut Transport<S>,
    user: &str,
) -> Result<Auth, String> {
    t.send(&Writer::msg(wire::MSG_SERVICE_REQUEST).string(b"ssh-userauth").0).await?;
    let accept = t.recv_message().await?;
    if accept[0] != wire::MSG_SERVICE_ACCEPT {
        return Err(format!("the server refused the user-authentication service (message {})", accept[0]));
    }
    let request = Writer::msg(wire::MSG_USERAUTH_REQUEST)
        .string(user.as_bytes())
        .string(b"ssh-connection")
        .string(b"none")
        .0;
    t.send(&request).await?;
    for _ in 0..16 {
        let answer = t.recv_message().await?;
        match answer[0] {
            wire::MSG_USERAUTH_BANNER => continue,
            wire::MSG_USERAUTH_FAILURE => {
                let methods = Reader::new(&answer[1..]).name_list()?;
                return Ok(Auth::Methods(methods));
            }
            wire::MSG_USERAUTH_SUCCESS => return Ok(Auth::Accepted),
            other => return Err(format!("the server answered user authentication with message {other}")),
        }
    }
    Err("the server sent banners without an answer".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_parse_with_a_default_port() {
        assert_eq!(parse_endpoint("127.0.0.1:2222").unwrap(), ("127.0.0.1".into(), 2222));
        assert_eq!(parse_endpoint("node-1").unwrap(), ("node-1".into(), 22));
        assert_eq!(parse_endpoint("[::1]:22").unwrap(), ("::1".into(), 22));
        assert_eq!(parse_endpoint("::1").unwrap(), ("::1".into(), 22));
        assert!(parse_endpoint("host:http").is_err());
        assert!(parse_endpoint(":22").is_err());
        assert!(parse_endpoint("").is_err());
    }
}
