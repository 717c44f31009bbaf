//! Secrets never enter a snapshot (issue 18). A component's environment keeps values only for the
//! names the checks read (`ETCD_*`, which etcd reads as flags); every other variable keeps its
//! name with the value `redacted`. Key material in configuration files (EncryptionConfiguration
//! secrets, kubeconfig tokens, client keys and passwords, kubeadm certificate keys, PEM private
//! keys) is replaced by a fingerprint, `sha256:` and the first 16 hex digits of its SHA-256, so
//! two files can still be seen to hold the same key and a rotation shows as a change.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;
use sha2::{Digest, Sha256};

/// What a variable that no check reads keeps as its value.
pub const REDACTED: &str = "redacted";

/// Environment variables whose values the checks read (etcd takes every flag as `ETCD_<FLAG>`).
const KEPT_ENV_PREFIXES: &[&str] = &["ETCD_"];

/// The fingerprint of a secret: `sha256:` and the first 16 hex digits of its SHA-256.
pub fn fingerprint(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    format!("sha256:{}", &hex::encode(digest)[..16])
}

/// A component's environment as stored: values only where a check reads them.
pub fn environment(env: BTreeMap<String, String>) -> BTreeMap<String, String> {
    env.into_iter()
        .map(|(name, value)| {
            let kept = KEPT_ENV_PREFIXES.iter().any(|p| name.starts_with(p));
            (name, if kept { value } else { REDACTED.to_string() })
        })
        .collect()
}

/// A PEM private key block of any kind (RSA, EC, PKCS#8, encrypted).
static PRIVATE_KEY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----[\s\S]*?-----END [A-Z0-9 ]*PRIVATE KEY-----")
        .expect("a valid regex")
});

/// A YAML or JSON key whose value is key material, and that value (quoted or bare).
static SECRET_FIELD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?m)(?P<lead>(?:^|[\s{,])[ \t]*(?:-[ \t]+)?"?(?:secret|token|client-key-data|password|certificateKey)"?[ \t]*:[ \t]*)(?P<q>["']?)(?P<value>[^"'\s,}#]+)(?P<q2>["']?)"#,
    )
    .expect("a valid regex")
});

/// A configuration file's content as stored: key material replaced by its fingerprint, every
/// other byte as it was (the checks read the file as YAML or JSON, as before).
pub fn config_file(content: &str) -> String {
    let without_keys = PRIVATE_KEY.replace_all(content, |c: &regex::Captures<'_>| {
        format!("[{}private key {}]", &c[1].to_lowercase(), fingerprint(&c[0]))
    });
    SECRET_FIELD
        .replace_all(&without_keys, |c: &regex::Captures<'_>| {
            let value = &c["value"];
            if value.starts_with("sha256:") {
                return c[0].to_string();
            }
            format!("{}{}{}{}", &c["lead"], &c["q"], fingerprint(value), &c["q2"])
        })
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_variables_checks_read_keep_their_values() {
        let env = BTreeMap::from([
            ("ETCD_CLIENT_CERT_AUTH".to_string(), "true".to_string()),
            ("AWS_SECRET_ACCESS_KEY".to_string(), "wJalrXUtnFEMI".to_string()),
        ]);
        let kept = environment(env);
        assert_eq!(kept["ETCD_CLIENT_CERT_AUTH"], "true");
        assert_eq!(kept["AWS_SECRET_ACCESS_KEY"], REDACTED);
    }

    #[test]
    fn encryption_secrets_and_kubeconfig_credentials_become_fingerprints() {
        let enc = "apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n- resources:\n  - secrets\n  providers:\n  - aescbc:\n      keys:\n      - name: key1\n        secret: c2VjcmV0IGlzIHNlY3VyZQ==\n  - identity: {}\n";
        let out = config_file(enc);
        assert!(!out.contains("c2VjcmV0IGlzIHNlY3VyZQ=="), "{out}");
        assert!(out.contains(&format!("secret: {}", fingerprint("c2VjcmV0IGlzIHNlY3VyZQ=="))), "{out}");
        // Still the same YAML with the providers in order, as the checks read it.
        let v: serde_yaml::Value = serde_yaml::from_str(&out).unwrap();
        let providers = &v["resources"][0]["providers"];
        assert!(providers[0].get("aescbc").is_some() && providers[1].get("identity").is_some(), "{out}");

        let kubeconfig = "users:\n- name: admin\n  user:\n    token: \"abc.def-ghi\"\n    client-key-data: LS0tLS1CRUdJTg==\n    password: 'hunter2'\n";
        let out = config_file(kubeconfig);
        for secret in ["abc.def-ghi", "LS0tLS1CRUdJTg==", "hunter2"] {
            assert!(!out.contains(secret), "{secret} in {out}");
        }
        assert!(out.contains(&format!("token: \"{}\"", fingerprint("abc.def-ghi"))), "{out}");
        let json = r#"{"users": [{"user": {"token": "json-secret-token"}}]}"#;
        assert!(!config_file(json).contains("json-secret-token"));
        // Fingerprinting twice changes nothing, and a file without secrets is untouched.
        assert_eq!(config_file(&config_file(kubeconfig)), config_file(kubeconfig));
        let plain = "kind: AuditPolicy\nrules:\n- level: Metadata\n";
        assert_eq!(config_file(plain), plain);
    }

    #[test]
    fn pem_private_keys_become_fingerprints() {
        let pem = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBkg\n-----END EC PRIVATE KEY-----\n";
        let text = format!("cert: ok\nkey: |\n{pem}");
        let out = config_file(&text);
        assert!(!out.contains("MHcCAQEEIBkg"), "{out}");
        assert!(out.contains("[ec private key sha256:"), "{out}");
        assert!(out.starts_with("cert: ok\n"));
    }
}
