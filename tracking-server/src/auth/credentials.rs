//! Credentials as the `mlflow` client sends them, and how they are stored.
//!
//! The client sends `Authorization: Basic base64(user:password)` when `MLFLOW_TRACKING_USERNAME` and
//! `MLFLOW_TRACKING_PASSWORD` are set, and `Authorization: Bearer <token>` for `MLFLOW_TRACKING_TOKEN`.
//! Passwords and token secrets are stored as argon2id PHC strings (salted, memory-hard); the
//! verification inside `argon2` compares digests in constant time.

use argon2::password_hash::rand_core::{OsRng, RngCore};
use argon2::password_hash::SaltString;
use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};
use base64::Engine as _;
use std::fmt::Write as _;

/// Tokens look like `mlt_<16 hex id>_<64 hex secret>`: the id is the database key, the secret (256
/// random bits) is what gets hashed.
const TOKEN_PREFIX: &str = "mlt_";

/// What an `Authorization` header carries, once parsed.
#[derive(Debug, PartialEq, Eq)]
pub enum Credential {
    Basic { user: String, password: String },
    Token { token_id: String, secret: String },
}

/// Parses an `Authorization` header value; `None` for anything malformed (a 401, like no header).
pub fn parse_authorization(value: &[u8]) -> Option<Credential> {
    let value = std::str::from_utf8(value).ok()?.trim();
    let (scheme, rest) = value.split_once(' ')?;
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(rest)
            .ok()?;
        let decoded = String::from_utf8(decoded).ok()?;
        let (user, password) = decoded.split_once(':')?;
        if user.is_empty() {
            return None;
        }
        Some(Credential::Basic {
            user: user.to_string(),
            password: password.to_string(),
        })
    } else if scheme.eq_ignore_ascii_case("bearer") {
        let (token_id, secret) = rest.strip_prefix(TOKEN_PREFIX)?.split_once('_')?;
        let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
        if !hex(token_id, 16) || !hex(secret, 64) {
            return None;
        }
        Some(Credential::Token {
            token_id: token_id.to_string(),
            secret: secret.to_string(),
        })
    } else {
        None
    }
}

/// An argon2id PHC string for `secret` with a fresh random salt (OWASP's default parameters).
pub fn hash_secret(secret: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(secret.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("could not hash the secret: {e}"))
}

/// Checks `secret` against a stored PHC string; a corrupt hash never verifies.
pub fn verify_secret(secret: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(secret.as_bytes(), &parsed)
            .is_ok()
    })
}

/// A new token: (the full token to hand to the user once, its id, its secret).
pub fn generate_token() -> (String, String, String) {
    let hex = |n: usize| {
        let mut bytes = vec![0u8; n];
        OsRng.fill_bytes(&mut bytes);
        bytes.iter().fold(String::with_capacity(2 * n), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
    };
    let (id, secret) = (hex(8), hex(32));
    (format!("{TOKEN_PREFIX}{id}_{secret}"), id, secret)
}

/// 32 random bytes, for the per-process key of the credential cache.
pub fn random_key() -> [u8; 32] {
    let mut key = [0u8; 32];
    OsRng.fill_bytes(&mut key);
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_and_bearer_headers_parse_as_the_mlflow_client_sends_them() {
        let b64 = base64::engine::general_purpose::STANDARD.encode("alice:s3cr:et");
        assert_eq!(
            parse_authorization(format!("Basic {b64}").as_bytes()),
            Some(Credential::Basic {
                user: "alice".into(),
                password: "s3cr:et".into()
            })
        );
        let (token, id, secret) = generate_token();
        assert_eq!(
            parse_authorization(format!("Bearer {token}").as_bytes()),
            Some(Credential::Token {
                token_id: id,
                secret
            })
        );
    }

    #[test]
    fn malformed_headers_are_no_credential() {
        for bad in [
            "",
            "Basic",
            "Basic !!!",
            "Basic Og==", // ":" with an empty user
            "Bearer abc",
            "Bearer mlt_zz_00",
            "Digest x",
        ] {
            assert_eq!(parse_authorization(bad.as_bytes()), None, "{bad:?}");
        }
        assert_eq!(parse_authorization(b"Basic \xff\xfe"), None);
    }

    #[test]
    fn a_hash_verifies_only_its_own_secret() {
        let phc = hash_secret("correct horse").unwrap();
        assert!(phc.starts_with("$argon2id$"));
        assert!(verify_secret("correct horse", &phc));
        assert!(!verify_secret("correct horsE", &phc));
        assert!(!verify_secret("correct horse", "not a hash"));
    }
}
