//! The SSH transport layer (RFC 4253) as far as a probe needs it, for both ends: the version
//! exchange, binary packets, KEXINIT, one key exchange (curve25519-sha256, or ECDH on P-256 or
//! P-384) and the AEAD ciphers (chacha20-poly1305@openssh.com, AES-GCM). The client end is the
//! probe; the server end is the simulator's stand-in sshd. Every length read from the peer is
//! bounded before anything is allocated for it.

use ring::aead::{self, chacha20_poly1305_openssh as chacha};
use ring::agreement;
use ring::digest;
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{Ed25519KeyPair, KeyPair};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};

pub const MSG_DISCONNECT: u8 = 1;
pub const MSG_IGNORE: u8 = 2;
pub const MSG_UNIMPLEMENTED: u8 = 3;
pub const MSG_DEBUG: u8 = 4;
pub const MSG_SERVICE_REQUEST: u8 = 5;
pub const MSG_SERVICE_ACCEPT: u8 = 6;
pub const MSG_EXT_INFO: u8 = 7;
pub const MSG_KEXINIT: u8 = 20;
pub const MSG_NEWKEYS: u8 = 21;
pub const MSG_KEX_ECDH_INIT: u8 = 30;
pub const MSG_KEX_ECDH_REPLY: u8 = 31;
pub const MSG_USERAUTH_REQUEST: u8 = 50;
pub const MSG_USERAUTH_FAILURE: u8 = 51;
pub const MSG_USERAUTH_SUCCESS: u8 = 52;
pub const MSG_USERAUTH_BANNER: u8 = 53;

/// RFC 4253 6.1: implementations must take packets of 35,000 bytes; nothing a probe reads is
/// larger.
pub const MAX_PACKET: usize = 35_000;
/// Lines a server may send before its version line, and their length (RFC 4253 4.2).
const MAX_PRE_BANNER_LINES: usize = 32;
const MAX_LINE: usize = 255;

/// Key exchanges this transport speaks, in order of preference.
pub const KEX: &[&str] =
    &["curve25519-sha256", "curve25519-sha256@libssh.org", "ecdh-sha2-nistp256", "ecdh-sha2-nistp384"];
/// Ciphers this transport speaks, in order of preference.
pub const CIPHERS: &[&str] =
    &["chacha20-poly1305@openssh.com", "aes256-gcm@openssh.com", "aes128-gcm@openssh.com"];

pub type Error = String;

/// Writes the SSH data types (RFC 4251 5).
#[derive(Default)]
pub struct Writer(pub Vec<u8>);

impl Writer {
    pub fn msg(kind: u8) -> Writer {
        Writer(vec![kind])
    }
    pub fn u8(mut self, v: u8) -> Self {
        self.0.push(v);
        self
    }
    pub fn bool(self, v: bool) -> Self {
        self.u8(v as u8)
    }
    pub fn u32(mut self, v: u32) -> Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub fn bytes(mut self, v: &[u8]) -> Self {
        self.0.extend_from_slice(v);
        self
    }
    pub fn string(self, v: &[u8]) -> Self {
        self.u32(v.len() as u32).bytes(v)
    }
    pub fn name_list<S: AsRef<str>>(self, names: &[S]) -> Self {
        let joined = names.iter().map(|n| n.as_ref()).collect::<Vec<_>>().join(",");
        self.string(joined.as_bytes())
    }
    /// An unsigned big-endian integer as an mpint: no leading zeros, a zero byte before a set top
    /// bit.
    pub fn mpint(self, magnitude: &[u8]) -> Self {
        let trimmed: &[u8] = match magnitude.iter().position(|b| *b != 0) {
            Some(i) => &magnitude[i..],
            None => &[],
        };
        if trimmed.first().is_some_and(|b| b & 0x80 != 0) {
            let mut v = Vec::with_capacity(trimmed.len() + 1);
            v.push(0);
            v.extend_from_slice(trimmed);
            self.string(&v)
        } else {
            self.string(trimmed)
        }
    }
}

/// Reads the SSH data types; every read is bounds-checked.
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Reader<'a> {
        Reader { buf, pos: 0 }
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8], Error> {
        let end = self.pos.checked_add(n).filter(|e| *e <= self.buf.len());
        let end = end.ok_or_else(|| "a message is shorter than its fields say".to_string())?;
        let out = &self.buf[self.pos..end];
        self.pos = end;
        Ok(out)
    }
    pub fn u8(&mut self) -> Result<u8, Error> {
        Ok(self.take(1)?[0])
    }
    pub fn bool(&mut self) -> Result<bool, Error> {
        Ok(self.u8()? != 0)
    }
    pub fn u32(&mut self) -> Result<u32, Error> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    pub fn string(&mut self) -> Result<&'a [u8], Error> {
        let n = self.u32()? as usize;
        self.take(n)
    }
    pub fn text(&mut self) -> Result<String, Error> {
        Ok(String::from_utf8_lossy(self.string()?).into_owned())
    }
    pub fn name_list(&mut self) -> Result<Vec<String>, Error> {
        let raw = self.string()?;
        let text = std::str::from_utf8(raw).map_err(|_| "a name-list is not ASCII".to_string())?;
        if !text.is_ascii() {
            return Err("a name-list is not ASCII".into());
        }
        Ok(text.split(',').filter(|n| !n.is_empty()).map(str::to_string).collect())
    }
}

/// A KEXINIT message (RFC 4253 7.1).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KexInit {
    pub kex: Vec<String>,
    pub host_key: Vec<String>,
    pub ciphers_c2s: Vec<String>,
    pub ciphers_s2c: Vec<String>,
    pub macs_c2s: Vec<String>,
    pub macs_s2c: Vec<String>,
    pub compression_c2s: Vec<String>,
    pub compression_s2c: Vec<String>,
    pub first_kex_follows: bool,
}

impl KexInit {
    pub fn parse(payload: &[u8]) -> Result<KexInit, Error> {
        let mut r = Reader::new(payload);
        if r.u8()? != MSG_KEXINIT {
            return Err("the first packet is not a KEXINIT".into());
        }
        r.take(16)?;
        let mut k = KexInit {
            kex: r.name_list()?,
            host_key: r.name_list()?,
            ciphers_c2s: r.name_list()?,
            ciphers_s2c: r.name_list()?,
            macs_c2s: r.name_list()?,
            macs_s2c: r.name_list()?,
            compression_c2s: r.name_list()?,
            compression_s2c: r.name_list()?,
            first_kex_follows: false,
        };
        r.name_list()?;
        r.name_list()?;
        k.first_kex_follows = r.bool()?;
        r.u32()?;
        Ok(k)
    }

    pub fn encode(&self, rng: &SystemRandom) -> Vec<u8> {
        let mut cookie = [0u8; 16];
        let _ = rng.fill(&mut cookie);
        let none: [&str; 0] = [];
        Writer::msg(MSG_KEXINIT)
            .bytes(&cookie)
            .name_list(&self.kex)
            .name_list(&self.host_key)
            .name_list(&self.ciphers_c2s)
            .name_list(&self.ciphers_s2c)
            .name_list(&self.macs_c2s)
            .name_list(&self.macs_s2c)
            .name_list(&self.compression_c2s)
            .name_list(&self.compression_s2c)
            .name_list(&none)
            .name_list(&none)
            .bool(self.first_kex_follows)
            .u32(0)
            .0
    }
}

/// RFC 4253 7.1: the first algorithm on the client's list that the server also names.
pub fn agree(client: &[String], server: &[String]) -> Option<String> {
    client.iter().find(|c| server.contains(c)).cloned()
}

/// The key exchange and ciphers both ends agreed on.
#[derive(Debug, Clone)]
pub struct Agreed {
    pub kex: String,
    pub host_key: String,
    pub cipher_c2s: String,
    pub cipher_s2c: String,
}

impl Agreed {
    /// Negotiate from both KEXINITs, or say what is missing.
    pub fn negotiate(client: &KexInit, server: &KexInit) -> Result<Agreed, Error> {
        let pick = |c: &[String], s: &[String], what: &str| {
            agree(c, s).ok_or_else(|| {
                format!(
                    "no {what} in common: the server offers {}, Palisade speaks {}",
                    s.join(","),
                    c.join(",")
                )
            })
        };
        Ok(Agreed {
            kex: pick(&client.kex, &server.kex, "key exchange")?,
            host_key: pick(&client.host_key, &server.host_key, "host key algorithm")?,
            cipher_c2s: pick(&client.ciphers_c2s, &server.ciphers_c2s, "cipher")?,
            cipher_s2c: pick(&client.ciphers_s2c, &server.ciphers_s2c, "cipher")?,
        })
    }
}

enum Sealer {
    Plain,
    Chacha(chacha::SealingKey),
    Gcm(Box<aead::LessSafeKey>, [u8; 12]),
}

enum Opener {
    Plain,
    Chacha(chacha::OpeningKey),
    Gcm(Box<aead::LessSafeKey>, [u8; 12]),
}

/// GCM's nonce (RFC 5647 7.1): a fixed 4 bytes, then a 64-bit counter bumped per packet.
fn gcm_next(iv: &mut [u8; 12]) -> aead::Nonce {
    let nonce = aead::Nonce::assume_unique_for_key(*iv);
    let mut counter = [0u8; 8];
    counter.copy_from_slice(&iv[4..]);
    let next = u64::from_be_bytes(counter).wrapping_add(1);
    iv[4..].copy_from_slice(&next.to_be_bytes());
    nonce
}

/// One end of an SSH connection: packets in and out, plain until NEWKEYS, then encrypted.
pub struct Transport<S> {
    io: BufReader<S>,
    seq_out: u32,
    seq_in: u32,
    seal: Sealer,
    open: Opener,
    pub rng: SystemRandom,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Transport<S> {
    pub fn new(stream: S) -> Transport<S> {
        Transport {
            io: BufReader::new(stream),
            seq_out: 0,
            seq_in: 0,
            seal: Sealer::Plain,
            open: Opener::Plain,
            rng: SystemRandom::new(),
        }
    }

    pub async fn write_line(&mut self, line: &str) -> Result<(), Error> {
        self.io.write_all(format!("{line}\r\n").as_bytes()).await.map_err(|e| format!("cannot send: {e}"))?;
        self.io.flush().await.map_err(|e| format!("cannot send: {e}"))
    }

    /// The peer's version line (`SSH-2.0-…`, without CR LF), skipping the lines a server may send
    /// before it.
    pub async fn read_version(&mut self) -> Result<String, Error> {
        for _ in 0..MAX_PRE_BANNER_LINES {
            let mut line = Vec::new();
            loop {
                let b = self.io.read_u8().await.map_err(|e| match e.kind() {
                    std::io::ErrorKind::UnexpectedEof if line.is_empty() => {
                        "the connection closed before an SSH version line".to_string()
                    }
                    _ => format!("cannot read the version line: {e}"),
                })?;
                if b == b'\n' {
                    break;
                }
                line.push(b);
                if line.len() > MAX_LINE {
                    return Err("not an SSH server: a line before the version is over 255 bytes".into());
                }
            }
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            let text = String::from_utf8_lossy(&line).into_owned();
            if text.starts_with("SSH-") {
                if !(text.starts_with("SSH-2.0-") || text.starts_with("SSH-1.99-")) {
                    return Err(format!("the server speaks only SSH protocol 1: `{text}`"));
                }
                return Ok(text);
            }
        }
        Err("not an SSH server: no version line in its first 32 lines".into())
    }

    /// Send one payload as a binary packet (RFC 4253 6).
    pub async fn send(&mut self, payload: &[u8]) -> Result<(), Error> {
        let (block, aead) = match self.seal {
            Sealer::Plain => (8, false),
            Sealer::Chacha(_) => (8, true),
            Sealer::Gcm(..) => (16, true),
        };
        // An AEAD's packet length is outside the padded part (it is authenticated, not padded).
        let unpadded = 1 + payload.len() + if aead { 0 } else { 4 };
        let mut pad = block - unpadded % block;
        if pad < 4 {
            pad += block;
        }
        let len = 1 + payload.len() + pad;
        let mut packet = Vec::with_capacity(4 + len + 16);
        packet.extend_from_slice(&(len as u32).to_be_bytes());
        packet.push(pad as u8);
        packet.extend_from_slice(payload);
        let mut padding = vec![0u8; pad];
        let _ = self.rng.fill(&mut padding);
        packet.extend_from_slice(&padding);
        match &mut self.seal {
            Sealer::Plain => {}
            Sealer::Chacha(key) => {
                let mut tag = [0u8; chacha::TAG_LEN];
                key.seal_in_place(self.seq_out, &mut packet, &mut tag);
                packet.extend_from_slice(&tag);
            }
            Sealer::Gcm(key, iv) => {
                let nonce = gcm_next(iv);
                let (head, body) = packet.split_at_mut(4);
                let tag = key
                    .seal_in_place_separate_tag(nonce, aead::Aad::from(&*head), body)
                    .map_err(|_| "cannot encrypt a packet".to_string())?;
                packet.extend_from_slice(tag.as_ref());
            }
        }
        self.seq_out = self.seq_out.wrapping_add(1);
        self.io.write_all(&packet).await.map_err(|e| format!("cannot send: {e}"))?;
        self.io.flush().await.map_err(|e| format!("cannot send: {e}"))
    }

    /// Read one binary packet's payload.
    pub async fn recv(&mut self) -> Result<Vec<u8>, Error> {
        let eof = |e: std::io::Error| match e.kind() {
            std::io::ErrorKind::UnexpectedEof => "the server closed the connection".to_string(),
            _ => format!("cannot read a packet: {e}"),
        };
        let mut head = [0u8; 4];
        self.io.read_exact(&mut head).await.map_err(eof)?;
        let len = match &self.open {
            Opener::Chacha(key) => u32::from_be_bytes(key.decrypt_packet_length(self.seq_in, head)),
            _ => u32::from_be_bytes(head),
        } as usize;
        if !(5..=MAX_PACKET).contains(&len) {
            return Err(format!("not an SSH packet: its length says {len} bytes"));
        }
        let tag_len = if matches!(self.open, Opener::Plain) { 0 } else { 16 };
        let mut packet = vec![0u8; 4 + len + tag_len];
        packet[..4].copy_from_slice(&head);
        self.io.read_exact(&mut packet[4..]).await.map_err(eof)?;
        let seq = self.seq_in;
        self.seq_in = self.seq_in.wrapping_add(1);
        let plain: &[u8] = match &mut self.open {
            Opener::Plain => &packet[4..],
            Opener::Chacha(key) => {
                let (body, tag) = packet.split_at_mut(4 + len);
                let tag: &[u8; 16] = (&*tag).try_into().map_err(|_| "a packet has no tag".to_string())?;
                key.open_in_place(seq, body, tag)
                    .map_err(|_| "a packet failed its integrity check".to_string())?
            }
            Opener::Gcm(key, iv) => {
                let nonce = gcm_next(iv);
                let (head, body) = packet.split_at_mut(4);
                &*key
                    .open_in_place(nonce, aead::Aad::from(&*head), body)
                    .map_err(|_| "a packet failed its integrity check".to_string())?
            }
        };
        let pad = plain[0] as usize;
        if pad < 4 || pad + 1 > plain.len() {
            return Err("not an SSH packet: its padding is out of bounds".into());
        }
        let payload = plain[1..plain.len() - pad].to_vec();
        if payload.is_empty() {
            return Err("an SSH packet carries no message".into());
        }
        Ok(payload)
    }

    /// The next message that is not IGNORE, DEBUG, UNIMPLEMENTED or EXT_INFO; a DISCONNECT
    /// becomes an error with the peer's reason.
    pub async fn recv_message(&mut self) -> Result<Vec<u8>, Error> {
        for _ in 0..64 {
            let payload = self.recv().await?;
            match payload[0] {
                MSG_IGNORE | MSG_DEBUG | MSG_UNIMPLEMENTED | MSG_EXT_INFO => continue,
                MSG_DISCONNECT => {
                    let mut r = Reader::new(&payload[1..]);
                    let code = r.u32().unwrap_or(0);
                    let text = r.text().unwrap_or_default();
                    return Err(format!("the server disconnected (code {code}): {text}"));
                }
                _ => return Ok(payload),
            }
        }
        Err("the server sent 64 messages without an answer".into())
    }

    pub async fn disconnect(&mut self, why: &str) {
        let msg = Writer::msg(MSG_DISCONNECT).u32(11).string(why.as_bytes()).string(b"").0;
        let _ = self.send(&msg).await;
    }

    fn switch(&mut self, keys: &Keys, client: bool) -> Result<(), Error> {
        let (out_name, out_key, out_iv, in_name, in_key, in_iv) = if client {
            (&keys.cipher_c2s, &keys.key_c2s, &keys.iv_c2s, &keys.cipher_s2c, &keys.key_s2c, &keys.iv_s2c)
        } else {
            (&keys.cipher_s2c, &keys.key_s2c, &keys.iv_s2c, &keys.cipher_c2s, &keys.key_c2s, &keys.iv_c2s)
        };
        self.seal = match out_name.as_str() {
            "chacha20-poly1305@openssh.com" => Sealer::Chacha(chacha::SealingKey::new(array(out_key)?)),
            _ => Sealer::Gcm(Box::new(gcm_key(out_name, out_key)?), *array(out_iv)?),
        };
        self.open = match in_name.as_str() {
            "chacha20-poly1305@openssh.com" => Opener::Chacha(chacha::OpeningKey::new(array(in_key)?)),
            _ => Opener::Gcm(Box::new(gcm_key(in_name, in_key)?), *array(in_iv)?),
        };
        Ok(())
    }
}

fn array<const N: usize>(v: &[u8]) -> Result<&[u8; N], Error> {
    v.get(..N).and_then(|s| s.try_into().ok()).ok_or_else(|| "derived key material is too short".to_string())
}

fn gcm_key(name: &str, key: &[u8]) -> Result<aead::LessSafeKey, Error> {
    let alg = match name {
        "aes128-gcm@openssh.com" => &aead::AES_128_GCM,
        "aes256-gcm@openssh.com" => &aead::AES_256_GCM,
        other => return Err(format!("Palisade does not speak the cipher {other}")),
    };
    let unbound =
        aead::UnboundKey::new(alg, &key[..alg.key_len()]).map_err(|_| "a bad cipher key".to_string())?;
    Ok(aead::LessSafeKey::new(unbound))
}

fn key_len(cipher: &str) -> usize {
    match cipher {
        "chacha20-poly1305@openssh.com" => chacha::KEY_LEN,
        "aes128-gcm@openssh.com" => 16,
        _ => 32,
    }
}

/// Both directions' keys after a key exchange.
struct Keys {
    cipher_c2s: String,
    cipher_s2c: String,
    key_c2s: Vec<u8>,
    key_s2c: Vec<u8>,
    iv_c2s: Vec<u8>,
    iv_s2c: Vec<u8>,
}

struct KexAlg {
    agreement: &'static agreement::Algorithm,
    hash: &'static digest::Algorithm,
}

fn kex_alg(name: &str) -> Result<KexAlg, Error> {
    Ok(match name {
        "curve25519-sha256" | "curve25519-sha256@libssh.org" => {
            KexAlg { agreement: &agreement::X25519, hash: &digest::SHA256 }
        }
        "ecdh-sha2-nistp256" => KexAlg { agreement: &agreement::ECDH_P256, hash: &digest::SHA256 },
        "ecdh-sha2-nistp384" => KexAlg { agreement: &agreement::ECDH_P384, hash: &digest::SHA384 },
        other => return Err(format!("Palisade does not speak the key exchange {other}")),
    })
}

/// What the exchange hash covers besides the ephemeral keys (RFC 4253 8, RFC 5656 4).
pub struct Exchange<'a> {
    pub v_c: &'a str,
    pub v_s: &'a str,
    pub i_c: &'a [u8],
    pub i_s: &'a [u8],
}

/// The derived keys and the exchange's outcome.
fn derive(
    alg: &KexAlg,
    x: &Exchange<'_>,
    k_s: &[u8],
    q_c: &[u8],
    q_s: &[u8],
    shared: &[u8],
    agreed: &Agreed,
) -> (Vec<u8>, Keys) {
    let k = Writer::default().mpint(shared).0;
    let h_input = Writer::default()
        .string(x.v_c.as_bytes())
        .string(x.v_s.as_bytes())
        .string(x.i_c)
        .string(x.i_s)
        .string(k_s)
        .string(q_c)
        .string(q_s)
        .bytes(&k)
        .0;
    let h = digest::digest(alg.hash, &h_input).as_ref().to_vec();
    // RFC 4253 7.2: HASH(K || H || letter || session_id), extended by HASH(K || H || so far).
    let expand = |letter: u8, need: usize| {
        let mut ctx = digest::Context::new(alg.hash);
        ctx.update(&k);
        ctx.update(&h);
        ctx.update(&[letter]);
        ctx.update(&h);
        let mut out = ctx.finish().as_ref().to_vec();
        while out.len() < need {
            let mut ctx = digest::Context::new(alg.hash);
            ctx.update(&k);
            ctx.update(&h);
            ctx.update(&out);
            out.extend_from_slice(ctx.finish().as_ref());
        }
        out.truncate(need);
        out
    };
    let keys = Keys {
        iv_c2s: expand(b'A', 12),
        iv_s2c: expand(b'B', 12),
        key_c2s: expand(b'C', key_len(&agreed.cipher_c2s)),
        key_s2c: expand(b'D', key_len(&agreed.cipher_s2c)),
        cipher_c2s: agreed.cipher_c2s.clone(),
        cipher_s2c: agreed.cipher_s2c.clone(),
    };
    (h, keys)
}

fn agreement_failed(_: ring::error::Unspecified) -> Error {
    "the key exchange failed: the server's ephemeral key is not a valid point".into()
}

/// The client's key exchange, up to and including NEWKEYS both ways. Returns the server's host
/// key blob (`K_S`). The host key's signature over the exchange is not checked: the probe sends
/// no secret and trusts nothing it is told, it only records what the server offers.
pub async fn client_kex<S: AsyncRead + AsyncWrite + Unpin>(
    t: &mut Transport<S>,
    x: &Exchange<'_>,
    agreed: &Agreed,
) -> Result<Vec<u8>, Error> {
    let alg = kex_alg(&agreed.kex)?;
    let private = agreement::EphemeralPrivateKey::generate(alg.agreement, &t.rng)
        .map_err(|_| "cannot make an ephemeral key".to_string())?;
    let q_c = private.compute_public_key().map_err(|_| "cannot make an ephemeral key".to_string())?;
    t.send(&Writer::msg(MSG_KEX_ECDH_INIT).string(q_c.as_ref()).0).await?;
    let reply = t.recv_message().await?;
    if reply[0] != MSG_KEX_ECDH_REPLY {
        return Err(format!("the server answered the key exchange with message {}", reply[0]));
    }
    let mut r = Reader::new(&reply[1..]);
    let k_s = r.string()?.to_vec();
    let q_s = r.string()?.to_vec();
    let _signature = r.string()?;
    let shared =
        agreement::agree_ephemeral(private, &agreement::UnparsedPublicKey::new(alg.agreement, &q_s), |k| {
            k.to_vec()
        })
        .map_err(agreement_failed)?;
    let (_, keys) = derive(&alg, x, &k_s, q_c.as_ref(), &q_s, &shared, agreed);
    t.send(&[MSG_NEWKEYS]).await?;
    let next = t.recv_message().await?;
    if next[0] != MSG_NEWKEYS {
        return Err(format!("the server sent message {} where NEWKEYS belongs", next[0]));
    }
    t.switch(&keys, true)?;
    Ok(k_s)
}

/// An ed25519 host key for the server end.
pub struct HostKey {
    pair: Ed25519KeyPair,
}

impl HostKey {
    pub fn generate() -> Result<HostKey, Error> {
        let rng = SystemRandom::new();
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).map_err(|_| "cannot make a host key".to_string())?;
        let pair =
            Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).map_err(|_| "cannot make a host key".to_string())?;
        Ok(HostKey { pair })
    }

    /// The public key blob (RFC 8709 4).
    pub fn blob(&self) -> Vec<u8> {
        Writer::default().string(b"ssh-ed25519").string(self.pair.public_key().as_ref()).0
    }
}

/// The server's key exchange: wait for the client's ephemeral key, answer with ours and the
/// signed exchange hash, then NEWKEYS both ways.
pub async fn server_kex<S: AsyncRead + AsyncWrite + Unpin>(
    t: &mut Transport<S>,
    x: &Exchange<'_>,
    agreed: &Agreed,
    host_key: &HostKey,
) -> Result<(), Error> {
    let alg = kex_alg(&agreed.kex)?;
    let init = t.recv_message().await?;
    if init[0] != MSG_KEX_ECDH_INIT {
        return Err(format!("the client sent message {} where KEX_ECDH_INIT belongs", init[0]));
    }
    let q_c = Reader::new(&init[1..]).string()?.to_vec();
    let private = agreement::EphemeralPrivateKey::generate(alg.agreement, &t.rng)
        .map_err(|_| "cannot make an ephemeral key".to_string())?;
    let q_s = private.compute_public_key().map_err(|_| "cannot make an ephemeral key".to_string())?;
    let shared =
        agreement::agree_ephemeral(private, &agreement::UnparsedPublicKey::new(alg.agreement, &q_c), |k| {
            k.to_vec()
        })
        .map_err(|_| "the client's ephemeral key is not a valid point".to_string())?;
    let k_s = host_key.blob();
    let (h, keys) = derive(&alg, x, &k_s, &q_c, q_s.as_ref(), &shared, agreed);
    let sig = host_key.pair.sign(&h);
    let sig_blob = Writer::default().string(b"ssh-ed25519").string(sig.as_ref()).0;
    let reply = Writer::msg(MSG_KEX_ECDH_REPLY).string(&k_s).string(q_s.as_ref()).string(&sig_blob).0;
    t.send(&reply).await?;
    t.send(&[MSG_NEWKEYS]).await?;
    let next = t.recv_message().await?;
    if next[0] != MSG_NEWKEYS {
        return Err(format!("the client sent message {} where NEWKEYS belongs", next[0]));
    }
    t.switch(&keys, false)
}

/// `SHA256:…` (unpadded base64), as `ssh-keygen -l` prints a key's fingerprint.
pub fn fingerprint(blob: &[u8]) -> String {
    use base64::Engine;
    let d = digest::digest(&digest::SHA256, blob);
    format!("SHA256:{}", base64::engine::general_purpose::STANDARD_NO_PAD.encode(d.as_ref()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mpint_strips_leading_zeros_and_keeps_the_sign_bit_clear() {
        assert_eq!(Writer::default().mpint(&[0, 0, 0x12]).0, [0, 0, 0, 1, 0x12]);
        assert_eq!(Writer::default().mpint(&[0x80, 1]).0, [0, 0, 0, 3, 0, 0x80, 1]);
        assert_eq!(Writer::default().mpint(&[0, 0]).0, [0, 0, 0, 0]);
    }

    #[test]
    fn kexinit_round_trips_and_short_input_is_an_error_not_a_panic() {
        let k = KexInit {
            kex: vec!["curve25519-sha256".into()],
            host_key: vec!["ssh-ed25519".into()],
            ciphers_c2s: vec!["aes128-gcm@openssh.com".into()],
            ciphers_s2c: vec!["aes128-gcm@openssh.com".into()],
            macs_c2s: vec!["hmac-sha2-256".into()],
            macs_s2c: vec!["hmac-sha2-256".into()],
            compression_c2s: vec!["none".into()],
            compression_s2c: vec!["none".into()],
            first_kex_follows: false,
        };
        let bytes = k.encode(&SystemRandom::new());
        assert_eq!(KexInit::parse(&bytes).unwrap(), k);
        for cut in 0..bytes.len() {
            assert!(KexInit::parse(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut huge = bytes.clone();
        huge[17..21].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(KexInit::parse(&huge).is_err());
    }

    async fn pair(cipher: &str, kex: &str) {
        let (a, b) = tokio::io::duplex(1 << 16);
        let offer = |c: &str, k: &str| KexInit {
            kex: vec![k.into()],
            host_key: vec!["ssh-ed25519".into()],
            ciphers_c2s: vec![c.into()],
            ciphers_s2c: vec![c.into()],
            macs_c2s: vec!["hmac-sha2-256".into()],
            macs_s2c: vec!["hmac-sha2-256".into()],
            compression_c2s: vec!["none".into()],
            compression_s2c: vec!["none".into()],
            first_kex_follows: false,
        };
        let init = offer(cipher, kex);
        let agreed = Agreed::negotiate(&init, &init).unwrap();
        let i = init.encode(&SystemRandom::new());
        let x = Exchange { v_c: "SSH-2.0-c", v_s: "SSH-2.0-s", i_c: &i, i_s: &i };
        let key = HostKey::generate().unwrap();
        let mut client = Transport::new(a);
        let mut server = Transport::new(b);
        let (c, s) =
            tokio::join!(client_kex(&mut client, &x, &agreed), server_kex(&mut server, &x, &agreed, &key));
        assert_eq!(c.unwrap(), key.blob());
        s.unwrap();
        for n in [0usize, 1, 15, 16, 17, 1000] {
            let msg = vec![MSG_IGNORE + 90; n + 1];
            client.send(&msg).await.unwrap();
            assert_eq!(server.recv().await.unwrap(), msg);
            server.send(&msg).await.unwrap();
            assert_eq!(client.recv().await.unwrap(), msg);
        }
    }

    #[tokio::test]
    async fn both_ends_agree_on_keys_for_every_cipher_and_exchange() {
        for cipher in CIPHERS {
            for kex in KEX {
                pair(cipher, kex).await;
            }
        }
    }
}
