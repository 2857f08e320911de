//! Passwords: the policy a new password must meet, and argon2id hashing off the async
//! workers with a cap on how many hashes run at once.

use std::collections::HashSet;
use std::fmt;
use std::sync::{Arc, LazyLock, OnceLock};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use tokio::sync::Semaphore;

use crate::DomainError;

/// The shortest password accepted, in characters.
pub const MIN_PASSWORD_CHARS: usize = 10;
/// The longest, in bytes: hashing cost grows with the input, so it is bounded.
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// The most common passwords (zxcvbn's list of 30,000, lower-cased, with Kazakhstan's own
/// favourites), refused whatever their length.
static COMMON: LazyLock<HashSet<&'static str>> =
    LazyLock::new(|| include_str!("../../../fixtures/accounts/common-passwords.txt").lines().collect());

/// A password that meets the policy. Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    /// Checks a new password against the policy; the error names the field `password`.
    pub fn new(text: &str) -> Result<Password, DomainError> {
        if text.chars().count() < MIN_PASSWORD_CHARS {
            return Err(DomainError::invalid("password", format!("must be at least {MIN_PASSWORD_CHARS} characters")));
        }
        if text.len() > MAX_PASSWORD_BYTES {
            return Err(DomainError::invalid("password", format!("must be at most {MAX_PASSWORD_BYTES} bytes")));
        }
        if COMMON.contains(text.to_lowercase().as_str()) {
            return Err(DomainError::invalid("password", "is one of the most common passwords; choose another"));
        }
        Ok(Password(text.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

/// Hashes and checks passwords with argon2id at OWASP's parameters (19 MiB, 2 passes, one
/// lane: `Argon2::default()`), each on a blocking thread, at most `concurrency` at once, so
/// that a flood of logins queues here instead of stalling the async workers that serve reads
/// (and cannot take more than `concurrency` × 19 MiB).
#[derive(Clone)]
pub struct PasswordHasher {
    permits: Arc<Semaphore>,
    /// A hash to check against when no account has the email, so that an unknown email
    /// costs what a wrong password costs. Made on first need, on a hashing thread: printing
    /// the spec or running a command should not pay for it.
    decoy: Arc<OnceLock<String>>,
}

impl fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswordHasher").field("available", &self.permits.available_permits()).finish()
    }
}

impl PasswordHasher {
    pub fn new(concurrency: usize) -> Self {
        PasswordHasher { permits: Arc::new(Semaphore::new(concurrency.max(1))), decoy: Arc::new(OnceLock::new()) }
    }

    /// The PHC string of a new password.
    pub async fn hash(&self, password: &Password) -> Result<String, DomainError> {
        let password = password.0.clone();
        self.run(move || hash_now(&password)).await
    }

    /// Whether `password` matches the PHC string `stored`; with `None` (no such account) it
    /// checks against a decoy and answers false, in the same time.
    pub async fn verify(&self, password: &str, stored: Option<&str>) -> Result<bool, DomainError> {
        if password.len() > MAX_PASSWORD_BYTES {
            return Ok(false);
        }
        let known = stored.is_some();
        let stored = stored.map(str::to_owned);
        let decoy = self.decoy.clone();
        let password = password.to_owned();
        let matches = self
            .run(move || {
                let stored = stored.as_deref().unwrap_or_else(|| {
                    decoy.get_or_init(|| {
                        hash_now(&format!("decoy-{:x}", u128::from_le_bytes(crate::writes::random_bytes::<16>())))
                    })
                });
                PasswordHash::new(stored)
                    .is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
            })
            .await?;
        Ok(known && matches)
    }

    async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T, DomainError> {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| DomainError::Inconsistent("hasher closed".into()))?;
        // The permit goes with the work, not with the request: a client that hangs up must
        // not free a slot while its hash still runs.
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work()
        })
        .await
        .map_err(|e| DomainError::Inconsistent(format!("hashing failed: {e}")))
    }
}

fn hash_now(password: &str) -> String {
    let salt = SaltString::encode_b64(&crate::writes::random_bytes::<16>()).expect("16 bytes make a valid salt");
    Argon2::default().hash_password(password.as_bytes(), &salt).expect("argon2 hashes any bounded input").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_refuses_short_and_common_passwords() {
        assert!(Password::new("short").is_err());
        assert!(Password::new("1234567890").is_err(), "common");
        assert!(Password::new("QwertyUIOP").is_err(), "common, whatever the case");
        assert!(Password::new("correct horse battery").is_ok());
        assert!(Password::new("пароль-из-снега").is_ok(), "characters, not bytes, count");
        assert!(!format!("{:?}", Password::new("correct horse battery").unwrap()).contains("horse"));
    }

    #[tokio::test]
    async fn hashes_are_argon2id_and_verify() {
        let hasher = PasswordHasher::new(2);
        let password = Password::new("correct horse battery").unwrap();
        let stored = hasher.hash(&password).await.unwrap();
        assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{stored}");
        assert!(hasher.verify("correct horse battery", Some(&stored)).await.unwrap());
        assert!(!hasher.verify("correct horse batterY", Some(&stored)).await.unwrap());
        assert!(!hasher.verify("correct horse battery", None).await.unwrap());
    }
}
