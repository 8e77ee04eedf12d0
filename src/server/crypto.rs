//! Encryption of secrets kept in the database (today: TOTP secrets), with
//! AES-256-GCM. The key is the SHA-256 of `security.data_encryption_key`, so
//! any long random string in the settings will do.
//!
//! Each value is bound to its row (the user id as associated data): a
//! ciphertext copied onto another user's row does not decrypt.

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use sha2::{Digest, Sha256};

use crate::server::config::Secret;

/// The format tag in front of every stored value, so the scheme can change later.
const VERSION: &str = "v1:";
const NONCE_LEN: usize = 12;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a stored secret could not be decrypted (wrong key, altered or moved value)")]
pub struct DecryptError;

#[derive(Clone)]
pub struct FieldCipher {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for FieldCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FieldCipher(..)")
    }
}

impl FieldCipher {
    pub fn new(key: &Secret) -> Self {
        let digest = Sha256::digest(key.expose().as_bytes());
        FieldCipher { cipher: Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&digest)) }
    }

    /// `v1:` and the base64 of a fresh 96-bit nonce followed by the ciphertext.
    pub fn encrypt(&self, plaintext: &[u8], bound_to: &[u8]) -> String {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let sealed = self
            .cipher
            .encrypt(&nonce, Payload { msg: plaintext, aad: bound_to })
            .expect("AES-GCM encryption of a small value cannot fail");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        format!("{VERSION}{}", STANDARD.encode(out))
    }

    pub fn decrypt(&self, stored: &str, bound_to: &[u8]) -> Result<Vec<u8>, DecryptError> {
        let raw = stored.strip_prefix(VERSION).ok_or(DecryptError)?;
        let bytes = STANDARD.decode(raw).map_err(|_| DecryptError)?;
        if bytes.len() <= NONCE_LEN {
            return Err(DecryptError);
        }
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        self.cipher.decrypt(Nonce::from_slice(nonce), Payload { msg: sealed, aad: bound_to }).map_err(|_| DecryptError)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cipher(key: &str) -> FieldCipher {
        FieldCipher::new(&Secret::new(key.repeat(40)))
    }

    #[test]
    fn a_value_decrypts_to_itself_for_the_same_row() {
        let c = cipher("k");
        let stored = c.encrypt(b"JBSWY3DPEHPK3PXP", b"row-1");
        assert!(stored.starts_with("v1:"));
        assert!(!stored.contains("JBSWY3DPEHPK3PXP"));
        assert_eq!(c.decrypt(&stored, b"row-1").unwrap(), b"JBSWY3DPEHPK3PXP");
    }

    #[test]
    fn the_same_value_encrypts_differently_each_time() {
        let c = cipher("k");
        assert_ne!(c.encrypt(b"secret", b"row"), c.encrypt(b"secret", b"row"));
    }

    #[test]
    fn a_value_moved_to_another_row_does_not_decrypt() {
        let c = cipher("k");
        let stored = c.encrypt(b"secret", b"row-1");
        assert_eq!(c.decrypt(&stored, b"row-2"), Err(DecryptError));
    }

    #[test]
    fn another_key_or_an_altered_value_does_not_decrypt() {
        let stored = cipher("k").encrypt(b"secret", b"row");
        assert_eq!(cipher("j").decrypt(&stored, b"row"), Err(DecryptError));
        let mut altered = stored.clone().into_bytes();
        let last = altered.len() - 3;
        altered[last] = if altered[last] == b'A' { b'B' } else { b'A' };
        assert_eq!(cipher("k").decrypt(std::str::from_utf8(&altered).unwrap(), b"row"), Err(DecryptError));
        assert_eq!(cipher("k").decrypt("plain text", b"row"), Err(DecryptError));
        assert_eq!(cipher("k").decrypt("v1:", b"row"), Err(DecryptError));
    }
}
