//! The accounts that may log in, stored only as argon2 PHC strings.

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The account every solution must accept.
pub const BUILTIN_USER: &str = "alice";
/// argon2id hash of the built-in account's password (`wonderland`), made by `hash-password`.
const BUILTIN_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$YrlchW4+j5ETD+SvfoIS/w$iz2j/8vRXVQwAU95N4UzqmlRJDEDbKulKG5iAYCP3Kg";

/// Usernames and their argon2 password hashes.
#[derive(Debug, Clone)]
pub struct Users {
    hashes: HashMap<String, String>,
}

#[derive(Debug, thiserror::Error)]
pub enum UsersError {
    #[error("cannot read the users file {path}: {cause}")]
    Read {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("the users file {path} is not a JSON object of username to argon2 PHC string: {cause}")]
    Format {
        path: PathBuf,
        cause: serde_json::Error,
    },
    #[error(
        "the users file {path} has a password for {user:?} that is not an argon2 PHC string ({reason}); make one with `session-lab hash-password`"
    )]
    BadHash {
        path: PathBuf,
        user: String,
        reason: String,
    },
    #[error("the users file {path} has no account")]
    Empty { path: PathBuf },
}

impl Default for Users {
    /// Only the built-in account.
    fn default() -> Self {
        Self {
            hashes: HashMap::from([(BUILTIN_USER.to_owned(), BUILTIN_HASH.to_owned())]),
        }
    }
}

impl Users {
    /// Reads a JSON object `{"username": "$argon2id$…"}`, which replaces the built-in account.
    pub fn from_file(path: &Path) -> Result<Self, UsersError> {
        let text = std::fs::read_to_string(path).map_err(|cause| UsersError::Read {
            path: path.to_owned(),
            cause,
        })?;
        let hashes: HashMap<String, String> =
            serde_json::from_str(&text).map_err(|cause| UsersError::Format {
                path: path.to_owned(),
                cause,
            })?;
        if hashes.is_empty() {
            return Err(UsersError::Empty {
                path: path.to_owned(),
            });
        }
        for (user, hash) in &hashes {
            PasswordHash::new(hash).map_err(|error| UsersError::BadHash {
                path: path.to_owned(),
                user: user.clone(),
                reason: error.to_string(),
            })?;
        }
        Ok(Self { hashes })
    }

    /// Whether `password` is `username`'s. Slow on purpose (argon2): call it off the async
    /// runtime. An unknown user costs the same work as a known one, so timing does not reveal
    /// which usernames exist; argon2's own comparison is constant-time.
    pub fn verify(&self, username: &str, password: &str) -> bool {
        let (hash, known) = match self.hashes.get(username) {
            Some(hash) => (hash.as_str(), true),
            None => (BUILTIN_HASH, false),
        };
        let matches = PasswordHash::new(hash).is_ok_and(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        });
        known && matches
    }
}

/// The argon2id PHC string of `password`, with a fresh salt from the OS.
pub fn hash_password(password: &str) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_account_accepts_only_its_password() {
        let users = Users::default();
        assert!(users.verify("alice", "wonderland"));
        assert!(!users.verify("alice", "Wonderland"));
        assert!(!users.verify("bob", "wonderland"));
    }

    #[test]
    fn a_users_file_replaces_the_builtin_account() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users.json");
        let hash = hash_password("s3cret").unwrap();
        std::fs::write(&path, serde_json::json!({ "bob": hash }).to_string()).unwrap();
        let users = Users::from_file(&path).unwrap();
        assert!(users.verify("bob", "s3cret"));
        assert!(!users.verify("alice", "wonderland"));
    }

    #[test]
    fn a_plain_text_password_in_the_users_file_is_refused_with_the_file_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users.json");
        std::fs::write(&path, r#"{"bob": "s3cret"}"#).unwrap();
        let error = Users::from_file(&path).unwrap_err().to_string();
        assert!(
            error.contains("users.json") && error.contains("hash-password"),
            "{error}"
        );
    }
}
