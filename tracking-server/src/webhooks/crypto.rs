//! Signing secrets at rest: Fernet tokens under the server's key, as MLflow stores them.
//!
//! The server must read a secret back to sign with it, so a hash will not do; encryption keeps a
//! copied database (a backup, a dump) from handing out every receiver's secret. The key is MLflow's
//! `MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY` (a Fernet key: URL-safe base64 of 32 bytes), or the
//! contents of `--webhook-secret-key-file`. Unlike MLflow, which invents a key per process when none
//! is set (and so cannot read its secrets after a restart), mltrack without a key refuses to store a
//! secret, so a delivery queued before a restart can always still be signed after it.

use std::fmt;

/// Key material as configured; `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct EncryptionKey(String);

impl EncryptionKey {
    pub fn new(key: impl Into<String>) -> Self {
        Self(key.into().trim().to_string())
    }

    /// A fresh random key (for tests and for `mltrack` users who need one).
    pub fn generate() -> Self {
        Self(fernet::Fernet::generate_key())
    }

    /// The key's text, for writing it to a key file or an environment variable.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for EncryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EncryptionKey(***)")
    }
}

/// Encrypts and decrypts signing secrets.
pub struct SecretCipher {
    fernet: fernet::Fernet,
}

impl fmt::Debug for SecretCipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretCipher(***)")
    }
}

impl SecretCipher {
    /// Fails, without echoing the key, when it is not a Fernet key.
    pub fn new(key: &EncryptionKey) -> anyhow::Result<Self> {
        let fernet = fernet::Fernet::new(&key.0).ok_or_else(|| {
            anyhow::anyhow!(
                "the webhook secret encryption key is not a Fernet key (32 bytes in URL-safe \
                 base64, 44 characters; make one with `python -c \"from cryptography.fernet import \
                 Fernet; print(Fernet.generate_key().decode())\"`)"
            )
        })?;
        Ok(Self { fernet })
    }

    pub fn encrypt(&self, secret: &str) -> String {
        self.fernet.encrypt(secret.as_bytes())
    }

    /// `None` when the token was written under another key (or is damaged).
    pub fn decrypt(&self, token: &str) -> Option<String> {
        let bytes = self.fernet.decrypt(token).ok()?;
        String::from_utf8(bytes).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_round_trip_and_other_keys_cannot_read_them() {
        let key = EncryptionKey::generate();
        assert_eq!(format!("{key:?}"), "EncryptionKey(***)");
        let cipher = SecretCipher::new(&key).unwrap();
        let token = cipher.encrypt("s3cr3t");
        assert!(!token.contains("s3cr3t"));
        assert_eq!(cipher.decrypt(&token).as_deref(), Some("s3cr3t"));
        let other = SecretCipher::new(&EncryptionKey::generate()).unwrap();
        assert_eq!(other.decrypt(&token), None);
        let err = SecretCipher::new(&EncryptionKey::new("not-a-key")).unwrap_err();
        assert!(!err.to_string().contains("not-a-key"));
    }

    /// A token written by Python's `cryptography.fernet` reads back (same scheme, same key).
    #[test]
    fn reads_tokens_from_pythons_fernet() {
        let key = EncryptionKey::new("dMJVN20EqxHgxqCwhQh-_jFjYZKdIKXTAiYwfKKXHbc=");
        let cipher = SecretCipher::new(&key).unwrap();
        let token = "gAAAAABrEySLzvy8MRtM6XXfyvJGHBAuPMDoAb6rUdDT27gCLioaiqJ7H86aM68G9-USigngxmRQrqPqfWIYlOc\
                     VsGALqR499kGKMcbslguTMYPUcSxZgaw=";
        assert_eq!(cipher.decrypt(token).as_deref(), Some("python-made secret"));
    }
}
