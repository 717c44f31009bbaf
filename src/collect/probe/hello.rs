//! Raw TLS ClientHellos and the server's first answer: enough of RFC 5246 / 8446 to ask "would you
//! speak this version, with one of these suites?" for versions and suites rustls refuses to offer
//! (TLS 1.0 and 1.1, RC4, 3DES, NULL, EXPORT). No handshake is ever finished: the connection is
//! dropped after the ServerHello or the alert.

use std::time::Duration;

use rand::RngCore;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A protocol version, as on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Version {
    Tls10,
    Tls11,
    Tls12,
    Tls13,
}

impl Version {
    pub const ALL: [Version; 4] = [Version::Tls10, Version::Tls11, Version::Tls12, Version::Tls13];

    fn wire(self) -> u16 {
        match self {
            Version::Tls10 => 0x0301,
            Version::Tls11 => 0x0302,
            Version::Tls12 => 0x0303,
            Version::Tls13 => 0x0304,
        }
    }

    fn from_wire(v: u16) -> Option<Version> {
        Version::ALL.into_iter().find(|x| x.wire() == v)
    }

    /// `tls1.0` … `tls1.3` (the probe's JSON keys).
    pub fn as_str(self) -> &'static str {
        match self {
            Version::Tls10 => "tls1.0",
            Version::Tls11 => "tls1.1",
            Version::Tls12 => "tls1.2",
            Version::Tls13 => "tls1.3",
        }
    }
}

/// A cipher suite: its IANA number and name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Suite(pub u16, pub &'static str);

/// The TLS 1.3 suites.
pub const TLS13_SUITES: &[Suite] = &[
    Suite(0x1301, "TLS_AES_128_GCM_SHA256"),
    Suite(0x1302, "TLS_AES_256_GCM_SHA384"),
    Suite(0x1303, "TLS_CHACHA20_POLY1305_SHA256"),
];

/// Suites a TLS 1.0–1.2 server commonly accepts (the version probes offer all of them, so only the
/// version decides the answer).
pub const COMMON_SUITES: &[Suite] = &[
    Suite(0xc02b, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"),
    Suite(0xc02f, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"),
    Suite(0xc02c, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"),
    Suite(0xc030, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"),
    Suite(0xcca9, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"),
    Suite(0xcca8, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"),
    Suite(0xc009, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA"),
    Suite(0xc013, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"),
    Suite(0xc00a, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA"),
    Suite(0xc014, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA"),
    Suite(0x009c, "TLS_RSA_WITH_AES_128_GCM_SHA256"),
    Suite(0x009d, "TLS_RSA_WITH_AES_256_GCM_SHA384"),
    Suite(0x002f, "TLS_RSA_WITH_AES_128_CBC_SHA"),
    Suite(0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA"),
    Suite(0x000a, "TLS_RSA_WITH_3DES_EDE_CBC_SHA"),
];

/// Weak suites by class. A server accepting any of them accepts a weak cipher.
pub const WEAK_CLASSES: &[(&str, &[Suite])] = &[
    (
        "RC4",
        &[
            Suite(0x0005, "TLS_RSA_WITH_RC4_128_SHA"),
            Suite(0x0004, "TLS_RSA_WITH_RC4_128_MD5"),
            Suite(0xc011, "TLS_ECDHE_RSA_WITH_RC4_128_SHA"),
            Suite(0xc007, "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA"),
        ],
    ),
    (
        "3DES",
        &[
            Suite(0x000a, "TLS_RSA_WITH_3DES_EDE_CBC_SHA"),
            Suite(0xc012, "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA"),
            Suite(0xc008, "TLS_ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA"),
            Suite(0x0016, "TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA"),
        ],
    ),
    (
        "CBC with SHA-1",
        &[
            Suite(0xc013, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"),
            Suite(0xc014, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA"),
            Suite(0xc009, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA"),
            Suite(0xc00a, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA"),
            Suite(0x0033, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA"),
            Suite(0x0039, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA"),
            Suite(0x002f, "TLS_RSA_WITH_AES_128_CBC_SHA"),
            Suite(0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA"),
        ],
    ),
    (
        "RSA key exchange",
        &[
            Suite(0x009c, "TLS_RSA_WITH_AES_128_GCM_SHA256"),
            Suite(0x009d, "TLS_RSA_WITH_AES_256_GCM_SHA384"),
            Suite(0x003c, "TLS_RSA_WITH_AES_128_CBC_SHA256"),
            Suite(0x003d, "TLS_RSA_WITH_AES_256_CBC_SHA256"),
        ],
    ),
    (
        "NULL",
        &[
            Suite(0x0001, "TLS_RSA_WITH_NULL_MD5"),
            Suite(0x0002, "TLS_RSA_WITH_NULL_SHA"),
            Suite(0x003b, "TLS_RSA_WITH_NULL_SHA256"),
            Suite(0xc010, "TLS_ECDHE_RSA_WITH_NULL_SHA"),
            Suite(0xc006, "TLS_ECDHE_ECDSA_WITH_NULL_SHA"),
        ],
    ),
    (
        "EXPORT",
        &[
            Suite(0x0003, "TLS_RSA_EXPORT_WITH_RC4_40_MD5"),
            Suite(0x0006, "TLS_RSA_EXPORT_WITH_RC2_CBC_40_MD5"),
            Suite(0x0008, "TLS_RSA_EXPORT_WITH_DES40_CBC_SHA"),
            Suite(0x0014, "TLS_DHE_RSA_EXPORT_WITH_DES40_CBC_SHA"),
        ],
    ),
];

/// The name of suite `id`, from the tables above.
pub fn suite_name(id: u16) -> String {
    TLS13_SUITES
        .iter()
        .chain(COMMON_SUITES)
        .chain(WEAK_CLASSES.iter().flat_map(|(_, s)| s.iter()))
        .find(|s| s.0 == id)
        .map(|s| s.1.to_string())
        .unwrap_or_else(|| format!("0x{id:04x}"))
}

/// What the server answered to a ClientHello.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// A ServerHello choosing this version and suite (a HelloRetryRequest counts: the server
    /// would speak TLS 1.3, it only asks for another key share).
    Hello { version: Version, suite: u16 },
    /// An alert (description code), or the connection closed: not accepted.
    Refused(String),
}

fn push_u16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_be_bytes());
}

/// `body` prefixed with its length in `width` bytes (1, 2 or 3).
fn with_len(width: usize, body: &[u8]) -> Vec<u8> {
    let len = body.len().to_be_bytes();
    let mut out = len[len.len() - width..].to_vec();
    out.extend_from_slice(body);
    out
}

fn extension(kind: u16, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    push_u16(&mut out, kind);
    out.extend(with_len(2, body));
    out
}

/// A ClientHello record for `version` offering `suites`. `server_name` goes in SNI when it is a
/// DNS name (never an address, as RFC 6066 says).
pub fn client_hello(version: Version, suites: &[u16], server_name: Option<&str>) -> Vec<u8> {
    let mut random = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut random);
    let mut body = Vec::new();
    push_u16(&mut body, if version == Version::Tls13 { 0x0303 } else { version.wire() });
    body.extend_from_slice(&random);
    // A 32-byte legacy session id, as TLS 1.3 middlebox compatibility mode sends.
    let mut session = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut session);
    body.extend(with_len(1, &session));
    let mut suite_bytes = Vec::new();
    for s in suites {
        push_u16(&mut suite_bytes, *s);
    }
    body.extend(with_len(2, &suite_bytes));
    body.extend_from_slice(&[1, 0]); // compression: null only

    let mut ext = Vec::new();
    if let Some(name) = server_name.filter(|n| n.parse::<std::net::IpAddr>().is_err() && !n.is_empty()) {
        let mut entry = vec![0u8]; // host_name
        entry.extend(with_len(2, name.as_bytes()));
        ext.extend(extension(0x0000, &with_len(2, &entry)));
    }
    // supported_groups: x25519, secp256r1, secp384r1, secp521r1, ffdhe2048.
    let groups: Vec<u8> =
        [0x001du16, 0x0017, 0x0018, 0x0019, 0x0100].iter().flat_map(|g| g.to_be_bytes()).collect();
    ext.extend(extension(0x000a, &with_len(2, &groups)));
    ext.extend(extension(0x000b, &with_len(1, &[0]))); // ec_point_formats: uncompressed
    if version >= Version::Tls12 {
        // signature_algorithms: ECDSA P-256/384, RSA-PSS, RSA PKCS#1, Ed25519, and the SHA-1 forms.
        let algs: Vec<u8> = [
            0x0403u16, 0x0503, 0x0603, 0x0804, 0x0805, 0x0806, 0x0401, 0x0501, 0x0601, 0x0807, 0x0201, 0x0203,
        ]
        .iter()
        .flat_map(|a| a.to_be_bytes())
        .collect();
        ext.extend(extension(0x000d, &with_len(2, &algs)));
    }
    ext.extend(extension(0xff01, &[0])); // renegotiation_info (empty)
    if version == Version::Tls13 {
        ext.extend(extension(0x002b, &with_len(1, &0x0304u16.to_be_bytes()))); // supported_versions
        let mut key = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut key);
        let mut share = Vec::new();
        push_u16(&mut share, 0x001d);
        share.extend(with_len(2, &key));
        ext.extend(extension(0x0033, &with_len(2, &share))); // key_share: x25519
        ext.extend(extension(0x002d, &with_len(1, &[1]))); // psk_key_exchange_modes: psk_dhe_ke
    }
    body.extend(with_len(2, &ext));

    let mut handshake = vec![1u8]; // client_hello
    handshake.extend(with_len(3, &body));
    let mut record = vec![22u8]; // handshake
    push_u16(&mut record, 0x0301); // record layer version, as every client sends
    record.extend(with_len(2, &handshake));
    record
}

/// The random of a HelloRetryRequest (RFC 8446 §4.1.3).
const HRR_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91, 0xc2,
    0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

/// Parse the first handshake message or alert a server sent (`data` holds whole records).
pub fn parse_answer(data: &[u8]) -> Result<Answer, String> {
    if data.len() < 5 {
        return Err("the answer is shorter than a TLS record header".into());
    }
    let (kind, len) = (data[0], u16::from_be_bytes([data[3], data[4]]) as usize);
    if !matches!(kind, 21 | 22) {
        return Err(format!("record type {kind} is not TLS handshake or alert: not a TLS server"));
    }
    let body = data.get(5..5 + len).ok_or("the first record is cut short")?;
    match kind {
        21 => Ok(Answer::Refused(format!("alert {}", alert_name(body.get(1).copied().unwrap_or(0))))),
        22 => parse_server_hello(body),
        other => Err(format!("record type {other} is not TLS handshake or alert: not a TLS server")),
    }
}

fn parse_server_hello(h: &[u8]) -> Result<Answer, String> {
    let short = || "the ServerHello is cut short".to_string();
    if h.first() != Some(&2) {
        return Err(format!(
            "the first handshake message is type {}, not ServerHello",
            h.first().unwrap_or(&0)
        ));
    }
    let mut p = 4; // type + 3-byte length
    let legacy = u16::from_be_bytes([*h.get(p).ok_or_else(short)?, *h.get(p + 1).ok_or_else(short)?]);
    p += 2;
    let random = h.get(p..p + 32).ok_or_else(short)?;
    let hrr = random == HRR_RANDOM;
    p += 32;
    let sid_len = *h.get(p).ok_or_else(short)? as usize;
    p += 1 + sid_len;
    let suite = u16::from_be_bytes([*h.get(p).ok_or_else(short)?, *h.get(p + 1).ok_or_else(short)?]);
    p += 3; // suite + compression
    let mut version =
        Version::from_wire(legacy).ok_or_else(|| format!("the server chose version 0x{legacy:04x}"))?;
    if let Some(ext_len) = h.get(p..p + 2).map(|b| u16::from_be_bytes([b[0], b[1]]) as usize) {
        let mut e = p + 2;
        let end = (e + ext_len).min(h.len());
        while e + 4 <= end {
            let kind = u16::from_be_bytes([h[e], h[e + 1]]);
            let len = u16::from_be_bytes([h[e + 2], h[e + 3]]) as usize;
            if kind == 0x002b && len == 2 && e + 6 <= end {
                let v = u16::from_be_bytes([h[e + 4], h[e + 5]]);
                version =
                    Version::from_wire(v).ok_or_else(|| format!("the server chose version 0x{v:04x}"))?;
            }
            e += 4 + len;
        }
    }
    if hrr && version != Version::Tls13 {
        return Err("a HelloRetryRequest without TLS 1.3".into());
    }
    Ok(Answer::Hello { version, suite })
}

fn alert_name(code: u8) -> String {
    match code {
        40 => "handshake_failure".into(),
        42 => "bad_certificate".into(),
        47 => "illegal_parameter".into(),
        50 => "decode_error".into(),
        70 => "protocol_version".into(),
        71 => "insufficient_security".into(),
        80 => "internal_error".into(),
        86 => "inappropriate_fallback".into(),
        109 => "missing_extension".into(),
        112 => "unrecognized_name".into(),
        116 => "certificate_required".into(),
        120 => "no_application_protocol".into(),
        other => format!("{other}"),
    }
}

/// Send `hello` on `stream` and read the answer: the first record (a few KiB at most is read).
pub async fn exchange(mut stream: TcpStream, hello: &[u8], timeout: Duration) -> Result<Answer, String> {
    let io = async {
        stream.write_all(hello).await.map_err(|e| format!("cannot send the ClientHello: {e}"))?;
        let mut buf = Vec::with_capacity(8192);
        let mut chunk = [0u8; 4096];
        loop {
            let n = match stream.read(&mut chunk).await {
                Ok(n) => n,
                // A reset after the hello is a refusal (servers that drop unsupported versions).
                Err(e) if buf.is_empty() => return Ok(Answer::Refused(format!("connection reset ({e})"))),
                Err(e) => return Err(format!("reading the answer: {e}")),
            };
            if n == 0 {
                if buf.is_empty() {
                    return Ok(Answer::Refused("connection closed without an answer".into()));
                }
                return parse_answer(&buf);
            }
            buf.extend_from_slice(&chunk[..n]);
            if buf.len() >= 5 {
                let need = 5 + u16::from_be_bytes([buf[3], buf[4]]) as usize;
                if buf.len() >= need || buf.len() >= 64 * 1024 {
                    return parse_answer(&buf);
                }
            }
        }
    };
    tokio::time::timeout(timeout, io)
        .await
        .map_err(|_| format!("no answer within {} s", timeout.as_secs_f64()))?
}

/// The server's first flight up to ServerHelloDone (TLS 1.2 and below send it in the clear).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Flight {
    /// The Certificate message's chain, leaf first (DER).
    pub chain: Vec<Vec<u8>>,
    /// A CertificateRequest was in the flight.
    pub asked_for_client_cert: bool,
}

/// The handshake messages of `records` (whole TLS records), until ServerHelloDone.
pub fn parse_flight(records: &[u8]) -> Flight {
    let mut hs = Vec::new();
    let mut p = 0;
    while p + 5 <= records.len() {
        let len = u16::from_be_bytes([records[p + 3], records[p + 4]]) as usize;
        let Some(body) = records.get(p + 5..p + 5 + len) else { break };
        if records[p] == 22 {
            hs.extend_from_slice(body);
        }
        p += 5 + len;
    }
    let mut flight = Flight::default();
    let mut q = 0;
    while q + 4 <= hs.len() {
        let kind = hs[q];
        let len = u32::from_be_bytes([0, hs[q + 1], hs[q + 2], hs[q + 3]]) as usize;
        let Some(body) = hs.get(q + 4..q + 4 + len) else { break };
        match kind {
            11 => {
                let mut c = 3;
                while c + 3 <= body.len() {
                    let n = u32::from_be_bytes([0, body[c], body[c + 1], body[c + 2]]) as usize;
                    let Some(der) = body.get(c + 3..c + 3 + n) else { break };
                    flight.chain.push(der.to_vec());
                    c += 3 + n;
                }
            }
            13 => flight.asked_for_client_cert = true,
            14 => break,
            _ => {}
        }
        q += 4 + len;
    }
    flight
}

/// Send `hello` and read the server's first flight (at most 64 KiB) up to ServerHelloDone.
pub async fn read_flight(mut stream: TcpStream, hello: &[u8], timeout: Duration) -> Result<Flight, String> {
    let io = async {
        stream.write_all(hello).await.map_err(|e| format!("cannot send the ClientHello: {e}"))?;
        let mut buf = Vec::with_capacity(16 * 1024);
        let mut chunk = [0u8; 8192];
        loop {
            let n = stream.read(&mut chunk).await.map_err(|e| format!("reading the answer: {e}"))?;
            if n == 0 {
                return Ok(parse_flight(&buf));
            }
            buf.extend_from_slice(&chunk[..n]);
            let flight = parse_flight(&buf);
            // Done once the last whole record holds ServerHelloDone (handshake type 14).
            if buf.len() >= 64 * 1024 || contains_hello_done(&buf) {
                return Ok(flight);
            }
        }
    };
    tokio::time::timeout(timeout, io)
        .await
        .map_err(|_| format!("no whole answer within {} s", timeout.as_secs_f64()))?
}

fn contains_hello_done(records: &[u8]) -> bool {
    let mut p = 0;
    let mut hs = Vec::new();
    while p + 5 <= records.len() {
        let len = u16::from_be_bytes([records[p + 3], records[p + 4]]) as usize;
        let Some(body) = records.get(p + 5..p + 5 + len) else { break };
        if records[p] == 21 {
            return true; // an alert ends the flight too
        }
        if records[p] == 22 {
            hs.extend_from_slice(body);
        }
        p += 5 + len;
    }
    let mut q = 0;
    while q + 4 <= hs.len() {
        if hs[q] == 14 {
            return true;
        }
        q += 4 + u32::from_be_bytes([0, hs[q + 1], hs[q + 2], hs[q + 3]]) as usize;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_hello_is_a_well_formed_handshake_record() {
        let r = client_hello(Version::Tls12, &[0xc02f, 0x002f], Some("api.example"));
        assert_eq!(r[0], 22);
        assert_eq!(u16::from_be_bytes([r[3], r[4]]) as usize, r.len() - 5);
        assert_eq!(r[5], 1, "client_hello");
        let body_len = u32::from_be_bytes([0, r[6], r[7], r[8]]) as usize;
        assert_eq!(body_len, r.len() - 9);
        assert_eq!(u16::from_be_bytes([r[9], r[10]]), 0x0303);
        assert!(r.windows(11).any(|w| w == b"api.example"), "SNI carries the name");
        let ip = client_hello(Version::Tls10, &[0x002f], Some("127.0.0.1"));
        assert!(!ip.windows(9).any(|w| w == b"127.0.0.1"), "no SNI for an address");
        assert_eq!(u16::from_be_bytes([ip[9], ip[10]]), 0x0301);
    }

    #[test]
    fn server_hellos_alerts_and_garbage_are_told_apart() {
        // A TLS 1.2 ServerHello choosing 0xc02f, no extensions.
        let mut h = vec![2, 0, 0, 0, 0x03, 0x03];
        h.extend([7u8; 32]);
        h.push(0);
        h.extend([0xc0, 0x2f, 0]);
        let len = (h.len() - 4) as u32;
        h[1..4].copy_from_slice(&len.to_be_bytes()[1..]);
        let mut rec = vec![22, 3, 3];
        rec.extend((h.len() as u16).to_be_bytes());
        rec.extend(&h);
        assert_eq!(parse_answer(&rec).unwrap(), Answer::Hello { version: Version::Tls12, suite: 0xc02f });
        assert_eq!(
            parse_answer(&[21, 3, 1, 0, 2, 2, 70]).unwrap(),
            Answer::Refused("alert protocol_version".into())
        );
        assert!(parse_answer(b"HTTP/1.1 400 Bad Request\r\n").unwrap_err().contains("not a TLS server"));
        assert!(parse_answer(&rec[..20]).is_err());
    }
}
