//! Password hashing: Argon2id with OWASP's recommended parameters
//! (m = 19 MiB, t = 2, p = 1), always on a blocking thread so a hash never
//! stalls the async workers. The hash is a newtype that is deliberately not
//! `Serialize`: it cannot cross to the browser by accident.

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

/// A PHC-format Argon2id hash.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHashString(String);

impl PasswordHashString {
    pub fn from_stored(phc: String) -> Self {
        PasswordHashString(phc)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for PasswordHashString {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordHashString([redacted])")
    }
}

fn hasher() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("OWASP Argon2id parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a password on a blocking thread.
pub async fn hash(password: String) -> anyhow::Result<PasswordHashString> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        hasher()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| PasswordHashString(h.to_string()))
            .map_err(|e| anyhow::anyhow!("hashing failed: {e}"))
    })
    .await?
}

/// Checks a password against a stored hash on a blocking thread.
pub async fn verify(password: String, stored: PasswordHashString) -> anyhow::Result<bool> {
    tokio::task::spawn_blocking(move || {
        let parsed = PasswordHash::new(stored.as_str()).map_err(|e| anyhow::anyhow!("stored hash unreadable: {e}"))?;
        Ok(hasher().verify_password(password.as_bytes(), &parsed).is_ok())
    })
    .await?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_and_no_other() {
        let h = hash("correct horse battery staple".into()).await.unwrap();
        assert!(h.as_str().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{}", h.as_str());
        assert!(verify("correct horse battery staple".into(), h.clone()).await.unwrap());
        assert!(!verify("correct horse battery stapler".into(), h.clone()).await.unwrap());
        assert!(!format!("{h:?}").contains("argon2"), "Debug must not print the hash");
    }
}
