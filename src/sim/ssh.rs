//! The simulator's stand-in sshd (issue 14): on each node's address it speaks the SSH transport
//! far enough for a probe. It sends an OpenSSH-like version line and a KEXINIT with the sample's
//! algorithm lists (`ssh:` in `sim.yaml`), finishes a key exchange with an ed25519 host key
//! (curve25519 or ECDH, chacha20-poly1305 or AES-GCM: what `collect::probe::ssh::wire` speaks), then
//! answers every user-authentication request with a failure listing the sample's methods, root's
//! own when a `Match User root` block would differ. Nobody ever logs in.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::collect::probe::ssh::wire::{self, Agreed, Exchange, HostKey, KexInit, Reader, Transport, Writer};

/// Debian 12's OpenSSH 9.2 defaults, as its sshd offers them with ed25519, RSA and ECDSA keys.
const KEX: &[&str] = &[
    "sntrup761x25519-sha512@openssh.com",
    "curve25519-sha256",
    "curve25519-sha256@libssh.org",
    "ecdh-sha2-nistp256",
    "ecdh-sha2-nistp384",
    "ecdh-sha2-nistp521",
    "diffie-hellman-group-exchange-sha256",
    "diffie-hellman-group16-sha512",
    "diffie-hellman-group18-sha512",
    "diffie-hellman-group14-sha256",
];
const HOST_KEY: &[&str] = &["ssh-ed25519", "rsa-sha2-512", "rsa-sha2-256", "ecdsa-sha2-nistp256"];
const CIPHERS: &[&str] = &[
    "chacha20-poly1305@openssh.com",
    "aes128-ctr",
    "aes192-ctr",
    "aes256-ctr",
    "aes128-gcm@openssh.com",
    "aes256-gcm@openssh.com",
];
const MACS: &[&str] = &[
    "umac-64-etm@openssh.com",
    "umac-128-etm@openssh.com",
    "hmac-sha2-256-etm@openssh.com",
    "hmac-sha2-512-etm@openssh.com",
    "hmac-sha1-etm@openssh.com",
    "umac-64@openssh.com",
    "umac-128@openssh.com",
    "hmac-sha2-256",
    "hmac-sha2-512",
    "hmac-sha1",
];

/// The nodes' SSH servers in `sim.yaml`:
/// ```yaml
/// ssh:
///   passwordAuthentication: true      # offered to every user (default false)
///   rootPasswordAuthentication: true  # to root only, as a `Match User root` block (default: the above)
///   kex: [curve25519-sha256]          # replaces OpenSSH 9.2's default list; so do hostKey, ciphers, macs
///   addCiphers: [3des-cbc]            # appended to the list, as `Ciphers +3des-cbc`; so do addKex, addHostKey, addMacs
/// ```
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SshSettings {
    /// No SSH server on the nodes at all.
    #[serde(default)]
    pub disabled: bool,
    #[serde(default)]
    pub password_authentication: bool,
    #[serde(default)]
    pub root_password_authentication: Option<bool>,
    /// `PubkeyAuthentication` (default true).
    #[serde(default)]
    pub pubkey_authentication: Option<bool>,
    #[serde(default)]
    pub kex: Option<Vec<String>>,
    #[serde(default)]
    pub host_key: Option<Vec<String>>,
    #[serde(default)]
    pub ciphers: Option<Vec<String>>,
    #[serde(default)]
    pub macs: Option<Vec<String>>,
    #[serde(default)]
    pub add_kex: Vec<String>,
    #[serde(default)]
    pub add_host_key: Vec<String>,
    #[serde(default)]
    pub add_ciphers: Vec<String>,
    #[serde(default)]
    pub add_macs: Vec<String>,
}

/// What one simulated sshd offers.
pub struct Profile {
    offer: KexInit,
    methods: Vec<String>,
    root_methods: Vec<String>,
    host_key: HostKey,
}

fn list(given: &Option<Vec<String>>, default: &[&str], add: &[String]) -> Vec<String> {
    let mut out: Vec<String> =
        given.clone().unwrap_or_else(|| default.iter().map(|s| s.to_string()).collect());
    out.extend(add.iter().filter(|a| !out.contains(a)).cloned().collect::<Vec<_>>());
    out
}

impl Profile {
    pub fn new(s: &SshSettings) -> Result<Profile, String> {
        let ciphers = list(&s.ciphers, CIPHERS, &s.add_ciphers);
        let macs = list(&s.macs, MACS, &s.add_macs);
        let methods = |password: bool| {
            let mut m = Vec::new();
            if s.pubkey_authentication.unwrap_or(true) {
                m.push("publickey".to_string());
            }
            if password {
                m.push("password".to_string());
            }
            m
        };
        Ok(Profile {
            offer: KexInit {
                kex: list(&s.kex, KEX, &s.add_kex),
                host_key: list(&s.host_key, HOST_KEY, &s.add_host_key),
                ciphers_c2s: ciphers.clone(),
                ciphers_s2c: ciphers,
                macs_c2s: macs.clone(),
                macs_s2c: macs,
                compression_c2s: vec!["none".into(), "zlib@openssh.com".into()],
                compression_s2c: vec!["none".into(), "zlib@openssh.com".into()],
                first_kex_follows: false,
            },
            methods: methods(s.password_authentication),
            root_methods: methods(s.root_password_authentication.unwrap_or(s.password_authentication)),
            host_key: HostKey::generate()?,
        })
    }
}

/// The version line the stand-in sends.
const VERSION: &str = "SSH-2.0-OpenSSH_9.2p1 palisade-sim";

/// Serve SSH on `listener` until `shutdown` turns true; each connection has 10 s.
pub async fn serve(listener: TcpListener, profile: Arc<Profile>, shutdown: watch::Receiver<bool>) {
    super::server::accept_loop(listener, shutdown, move |tcp, _| {
        let profile = Arc::clone(&profile);
        async move {
            let _ = tokio::time::timeout(Duration::from_secs(10), session(tcp, &profile)).await;
        }
    })
    .await
}

async fn session<S: AsyncRead + AsyncWrite + Unpin>(stream: S, p: &Profile) -> Result<(), String> {
    let mut t = Transport::new(stream);
    t.write_line(VERSION).await?;
    let i_s = p.offer.encode(&t.rng);
    t.send(&i_s).await?;
    let v_c = t.read_version().await?;
    let i_c = t.recv_message().await?;
    let client = KexInit::parse(&i_c)?;
    let agreed = Agreed::negotiate(&client, &p.offer)?;
    let x = Exchange { v_c: &v_c, v_s: VERSION, i_c: &i_c, i_s: &i_s };
    wire::server_kex(&mut t, &x, &agreed, &p.host_key).await?;
    loop {
        let msg = t.recv_message().await?;
        let mut r = Reader::new(&msg[1..]);
        match msg[0] {
            wire::MSG_SERVICE_REQUEST => {
                let service = r.string()?.to_vec();
                t.send(&Writer::msg(wire::MSG_SERVICE_ACCEPT).string(&service).0).await?;
            }
            wire::MSG_USERAUTH_REQUEST => {
                let user = r.string()?.to_vec();
                let methods = if user == b"root" { &p.root_methods } else { &p.methods };
                t.send(&Writer::msg(wire::MSG_USERAUTH_FAILURE).name_list(methods).bool(false).0).await?;
            }
            other => {
                t.send(&Writer::msg(wire::MSG_UNIMPLEMENTED).u32(other as u32).0).await?;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::egress::Egress;

    #[tokio::test]
    async fn the_probe_reads_what_the_stand_in_offers() {
        let settings = SshSettings {
            password_authentication: false,
            root_password_authentication: Some(true),
            add_ciphers: vec!["3des-cbc".into()],
            ..Default::default()
        };
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (_tx, rx) = watch::channel(false);
        tokio::spawn(serve(listener, Arc::new(Profile::new(&settings).unwrap()), rx));
        let f = crate::collect::probe::ssh::probe_ssh(
            &Egress::loopback_only(),
            "127.0.0.1",
            port,
            Duration::from_secs(5),
        )
        .await;
        assert_eq!(f.banner.as_deref(), Some(VERSION));
        assert_eq!(f.auth_methods, Some(vec!["publickey".to_string()]), "{f:?}");
        assert_eq!(f.root_auth_methods, Some(vec!["publickey".to_string(), "password".to_string()]));
        assert_eq!(f.password_auth, Some(true));
        assert!(f.weak.ciphers.contains(&"3des-cbc".to_string()));
        assert!(f.weak.kex.contains(&"ecdh-sha2-nistp256".to_string()));
    }
}
