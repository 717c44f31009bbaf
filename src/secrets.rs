//! Encryption at rest of cluster credentials (AES-256-GCM).
//!
//! A ciphertext is `nonce (12 bytes) || AES-256-GCM(plaintext)`, stored next to the id of the key
//! that made it (first 8 bytes of the key's SHA-256, hex). The current key encrypts; previous keys
//! listed in the settings still decrypt, so a key can be rotated without downtime
//! (`palisade cluster rekey` re-encrypts every row with the current key; see README).

use std::io::Write;
use std::path::Path;

use aes_gcm::aead::{Aead, KeyInit, OsRng};
use aes_gcm::{AeadCore, Aes256Gcm, Key, Nonce};
use base64::Engine;
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};

use crate::config::SecretSettings;

/// Errors about keys and ciphertexts. Never carries secret material.
#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    #[error("the encryption key is not valid: {0}")]
    BadKey(String),
    #[error("cannot read or create the key file {path}: {source}")]
    KeyFile { path: String, source: std::io::Error },
    #[error(
        "the credentials were encrypted with key {0}, which is not configured \
         (add it to secrets.previous_keys during a rotation)"
    )]
    UnknownKey(String),
    #[error("the credentials cannot be decrypted (wrong key or corrupted data)")]
    Decrypt,
    #[error("the credentials cannot be encrypted")]
    Encrypt,
}

struct KeyEntry {
    id: String,
    cipher: Aes256Gcm,
}

/// The key ring: one current key and any number of previous ones.
pub struct Cipher {
    current: KeyEntry,
    previous: Vec<KeyEntry>,
}

impl std::fmt::Debug for Cipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Cipher(current key {}, {} previous)", self.current.id, self.previous.len())
    }
}

fn entry(key: &[u8]) -> Result<KeyEntry, SecretsError> {
    if key.len() != 32 {
        return Err(SecretsError::BadKey(format!("expected 32 bytes, got {}", key.len())));
    }
    let id = hex::encode(&Sha256::digest(key)[..8]);
    Ok(KeyEntry { id, cipher: Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key)) })
}

fn decode_key(b64: &str) -> Result<Vec<u8>, SecretsError> {
    base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .map_err(|e| SecretsError::BadKey(format!("not valid base64: {e}")))
}

/// A fresh random key, base64 encoded (for the key file or `secrets.key`).
pub fn generate_key_b64() -> String {
    base64::engine::general_purpose::STANDARD.encode(Aes256Gcm::generate_key(OsRng))
}

impl Cipher {
    /// Build a key ring from raw 32-byte keys.
    pub fn new(current: &[u8], previous: &[Vec<u8>]) -> Result<Cipher, SecretsError> {
        Ok(Cipher {
            current: entry(current)?,
            previous: previous.iter().map(|k| entry(k)).collect::<Result<_, _>>()?,
        })
    }

    /// Build the key ring from settings: `secrets.key` when set, otherwise the key file, created
    /// with mode 0600 holding a random key on first start.
    pub fn from_settings(settings: &SecretSettings) -> Result<Cipher, SecretsError> {
        let current = if settings.key.expose_secret().trim().is_empty() {
            decode_key(&load_or_create_key_file(&settings.key_file)?)?
        } else {
            decode_key(settings.key.expose_secret())?
        };
        let previous = settings
            .previous_keys
            .iter()
            .map(|k| decode_key(k.expose_secret()))
            .collect::<Result<Vec<_>, _>>()?;
        Cipher::new(&current, &previous)
    }

    /// The id of the key new ciphertexts are made with.
    pub fn current_key_id(&self) -> &str {
        &self.current.id
    }

    /// Encrypt `plaintext` with the current key; returns the key id and the ciphertext.
    pub fn encrypt(&self, plaintext: &[u8]) -> Result<(String, Vec<u8>), SecretsError> {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let ct = self.current.cipher.encrypt(&nonce, plaintext).map_err(|_| SecretsError::Encrypt)?;
        let mut out = Vec::with_capacity(12 + ct.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        Ok((self.current.id.clone(), out))
    }

    /// Decrypt a ciphertext made by the key `key_id`.
    pub fn decrypt(&self, key_id: &str, data: &[u8]) -> Result<Vec<u8>, SecretsError> {
        let key = std::iter::once(&self.current)
            .chain(self.previous.iter())
            .find(|k| k.id == key_id)
            .ok_or_else(|| SecretsError::UnknownKey(key_id.to_string()))?;
        if data.len() < 12 + 16 {
            return Err(SecretsError::Decrypt);
        }
        let (nonce, ct) = data.split_at(12);
        key.cipher.decrypt(Nonce::from_slice(nonce), ct).map_err(|_| SecretsError::Decrypt)
    }
}

/// Read the base64 key from `path`, or create the file (mode 0600) with a fresh key.
fn load_or_create_key_file(path: &Path) -> Result<String, SecretsError> {
    let err = |source| SecretsError::KeyFile { path: path.display().to_string(), source };
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(text.trim().to_string()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(err)?;
            }
            let key = generate_key_b64();
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                opts.mode(0o600);
            }
            let mut file = opts.open(path).map_err(err)?;
            file.write_all(format!("{key}\n").as_bytes()).map_err(err)?;
            tracing::info!(path = %path.display(), "created a new credentials encryption key file (mode 0600)");
            Ok(key)
        }
        Err(e) => Err(err(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ciphertexts_round_trip_and_old_keys_still_decrypt_during_rotation() {
        let old = [1u8; 32];
        let new = [2u8; 32];
        let (id, ct) = Cipher::new(&old, &[]).unwrap().encrypt(b"token-123").unwrap();
        assert!(!ct.windows(9).any(|w| w == b"token-123"));
        let rotated = Cipher::new(&new, &[old.to_vec()]).unwrap();
        assert_eq!(rotated.decrypt(&id, &ct).unwrap(), b"token-123");
        assert_ne!(rotated.current_key_id(), id);
        let only_new = Cipher::new(&new, &[]).unwrap();
        assert!(matches!(only_new.decrypt(&id, &ct), Err(SecretsError::UnknownKey(_))));
    }

    #[test]
    fn a_missing_key_file_is_created_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/secret.key");
        let first = load_or_create_key_file(&path).unwrap();
        assert_eq!(load_or_create_key_file(&path).unwrap(), first);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
    }
}
