//! Which SSH algorithms are weak, and why. The policy: everything ssh-audit calls a failure
//! (broken hashes and ciphers, small groups and tags, the NIST curves it distrusts), and what the
//! OpenSSH project has removed or deprecated. Algorithms ssh-audit only notes (encrypt-and-MAC
//! modes, 2048-bit groups) are not flagged. `scripts/ssh-compare.sh` holds this policy against
//! ssh-audit on real sshd configurations.

/// Why `alg` of `kind` (`kex`, `host_key`, `ciphers`, `macs`) is weak, or `None` when it is not.
pub fn weakness(kind: &str, alg: &str) -> Option<&'static str> {
    match kind {
        "kex" => kex(alg),
        "host_key" => host_key(alg),
        "ciphers" => cipher(alg),
        "macs" => mac(alg),
        _ => None,
    }
}

const SHA1: &str = "uses SHA-1, which is broken for collision resistance";
const NIST: &str = "uses a NIST P-curve, whose constants are unexplained (ssh-audit fails it)";

fn kex(alg: &str) -> Option<&'static str> {
    Some(match alg {
        "diffie-hellman-group1-sha1" => {
            "a 1024-bit group with SHA-1 (removed from OpenSSH's defaults in 6.9)"
        }
        "diffie-hellman-group14-sha1" | "diffie-hellman-group-exchange-sha1" => SHA1,
        "rsa1024-sha1" => "1024-bit RSA key exchange with SHA-1",
        "rsa2048-sha256" => "RSA key exchange, without forward secrecy",
        a if a.starts_with("ecdh-sha2-nistp") => NIST,
        a if a.starts_with("ecdh-sha2-1.") => {
            "uses a curve from a NIST or SEC standard with unexplained constants"
        }
        a if a.starts_with("gss-") && a.contains("sha1") => SHA1,
        a if a.starts_with("gss-") && a.contains("nistp") => NIST,
        "diffie-hellman-group1-sha256" | "diffie-hellman-group15-sha256" => {
            "a non-standard or too-small group for its hash"
        }
        _ => return None,
    })
}

fn host_key(alg: &str) -> Option<&'static str> {
    let base = alg.trim_end_matches("-cert-v01@openssh.com").trim_end_matches("-cert-v00@openssh.com");
    if alg.ends_with("-cert-v00@openssh.com") {
        return Some("a certificate format OpenSSH removed in 7.2");
    }
    Some(match base {
        "ssh-rsa" => "RSA signatures with SHA-1 (disabled by default since OpenSSH 8.8)",
        "ssh-dss" => "DSA: 1024-bit keys with SHA-1 (disabled since OpenSSH 7.0, removed in 9.8)",
        "x509v3-sign-rsa" | "x509v3-ssh-rsa" => "RSA signatures with SHA-1",
        "x509v3-sign-dss" | "x509v3-ssh-dss" => "DSA: 1024-bit keys with SHA-1",
        b if b.starts_with("ecdsa-sha2-nistp") || b.starts_with("x509v3-ecdsa-sha2-nistp") => NIST,
        b if b.starts_with("sk-ecdsa-sha2-nistp") => NIST,
        _ => return None,
    })
}

fn cipher(alg: &str) -> Option<&'static str> {
    Some(match alg {
        "none" => "no encryption at all",
        "3des-cbc" | "3des-ctr" => "3DES: a 64-bit block cipher open to Sweet32, removed from OpenSSH in 7.4",
        "des-cbc" | "des-cbc@ssh.com" | "des" => "single DES: a 56-bit key",
        a if a.starts_with("arcfour") => "RC4, which is broken (removed from OpenSSH in 7.2)",
        a if a.starts_with("blowfish") || a.starts_with("cast128") || a.starts_with("idea") => {
            "a 64-bit block cipher open to Sweet32 (removed from OpenSSH in 7.2)"
        }
        a if a.ends_with("-cbc") || a.ends_with("-cbc@lysator.liu.se") => {
            "CBC mode, open to plaintext recovery (removed from OpenSSH's defaults in 6.7)"
        }
        _ => return None,
    })
}

fn mac(alg: &str) -> Option<&'static str> {
    let base = alg.trim_end_matches("-etm@openssh.com").trim_end_matches("@openssh.com");
    Some(match base {
        "none" => "no integrity protection at all",
        b if b.starts_with("hmac-md5") => "uses MD5, which is broken",
        b if b.starts_with("hmac-sha1") => SHA1,
        b if b.starts_with("hmac-ripemd160") => "RIPEMD-160 (removed from OpenSSH in 7.6)",
        b if b.starts_with("hmac-sha2-256-96") || b.starts_with("hmac-sha2-512-96") => {
            "a tag truncated to 96 bits (removed from OpenSSH in 6.7)"
        }
        "umac-32" | "umac-64" => "a 64-bit (or smaller) tag",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::weakness;

    #[test]
    fn broken_algorithms_are_weak_and_modern_defaults_are_not() {
        for (kind, alg) in [
            ("kex", "diffie-hellman-group1-sha1"),
            ("kex", "diffie-hellman-group14-sha1"),
            ("kex", "diffie-hellman-group-exchange-sha1"),
            ("kex", "ecdh-sha2-nistp256"),
            ("host_key", "ssh-rsa"),
            ("host_key", "ssh-dss"),
            ("host_key", "ssh-rsa-cert-v01@openssh.com"),
            ("host_key", "ecdsa-sha2-nistp256"),
            ("ciphers", "3des-cbc"),
            ("ciphers", "aes128-cbc"),
            ("ciphers", "arcfour256"),
            ("ciphers", "rijndael-cbc@lysator.liu.se"),
            ("macs", "hmac-md5"),
            ("macs", "hmac-md5-96-etm@openssh.com"),
            ("macs", "hmac-sha1"),
            ("macs", "hmac-sha1-etm@openssh.com"),
            ("macs", "umac-64@openssh.com"),
            ("macs", "umac-64-etm@openssh.com"),
        ] {
            assert!(weakness(kind, alg).is_some(), "{kind} {alg} should be weak");
        }
        for (kind, alg) in [
            ("kex", "curve25519-sha256"),
            ("kex", "sntrup761x25519-sha512@openssh.com"),
            ("kex", "mlkem768x25519-sha256"),
            ("kex", "diffie-hellman-group16-sha512"),
            ("kex", "kex-strict-s-v00@openssh.com"),
            ("host_key", "ssh-ed25519"),
            ("host_key", "rsa-sha2-512"),
            ("host_key", "rsa-sha2-256-cert-v01@openssh.com"),
            ("ciphers", "chacha20-poly1305@openssh.com"),
            ("ciphers", "aes256-gcm@openssh.com"),
            ("ciphers", "aes128-ctr"),
            ("macs", "hmac-sha2-256-etm@openssh.com"),
            ("macs", "umac-128-etm@openssh.com"),
        ] {
            assert_eq!(weakness(kind, alg), None, "{kind} {alg} should not be weak");
        }
    }
}
