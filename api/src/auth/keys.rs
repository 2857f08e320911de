//! The keys that sign access tokens and audit tree heads: from the configuration, or, for a
//! SQLite install with none configured, generated on first start and kept beside the
//! database file, readable only by its owner. No key ships with the code.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use sha2::{Digest, Sha256};

use crate::config::Settings;

/// The shortest HS256 secret accepted: HS256's key should be as long as its hash.
pub const MIN_SECRET_BYTES: usize = 32;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(
        "no key to sign access tokens: on PostgreSQL set SCRUTINY_JWT_SECRET (at least 32 bytes) or \
         SCRUTINY_JWT_PRIVATE_KEY (an Ed25519 PEM file, e.g. from `scrutiny keys generate FILE`); only a SQLite \
         install generates its own key"
    )]
    NoJwtKey,
    #[error(
        "no key to sign the audit log's tree heads: on PostgreSQL set SCRUTINY_AUDIT_SIGNING_KEY to an Ed25519 \
         PEM file (e.g. from `scrutiny keys generate FILE`); only a SQLite install generates its own key"
    )]
    NoAuditKey,
    #[error("the JWT secret must be at least {MIN_SECRET_BYTES} bytes")]
    ShortSecret,
    #[error("reading the key file {path}: {reason}")]
    File { path: PathBuf, reason: String },
}

/// A key that verifies tokens, with its id and algorithm.
#[derive(Clone)]
pub struct VerifyingKey {
    pub kid: String,
    pub algorithm: Algorithm,
    pub decoding: DecodingKey,
    /// The raw Ed25519 public key, published in the JWKS; `None` for HS256.
    pub public: Option<[u8; 32]>,
}

/// The signing key and every key tokens are accepted from.
#[derive(Clone)]
pub struct JwtKeys {
    pub signing_kid: String,
    pub signing_algorithm: Algorithm,
    pub encoding: EncodingKey,
    /// The current key first, then the previous one.
    pub verifying: Vec<VerifyingKey>,
}

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kids: Vec<_> = self.verifying.iter().map(|k| k.kid.as_str()).collect();
        f.debug_struct("JwtKeys").field("signing_kid", &self.signing_kid).field("kids", &kids).finish()
    }
}

impl JwtKeys {
    /// The keys the settings name, or, on SQLite, the generated key beside the database.
    pub fn load(settings: &Settings) -> Result<JwtKeys, KeyError> {
        let (signing_kid, signing_algorithm, encoding, current) = if let Some(path) = &settings.jwt_private_key {
            let key = read_signing_key(path)?;
            ed25519(&key)
        } else if let Some(secret) = &settings.jwt_secret {
            hs256(secret.expose().as_bytes())?
        } else if let Some(path) = beside_database(settings, "jwt-key.pem") {
            ed25519(&generated_key(&path)?)
        } else if settings.database_url.expose().starts_with("sqlite:") {
            // An in-memory database lives as long as the process, and so may its key.
            ed25519(&SigningKey::from_bytes(&domain::writes::random_bytes::<32>()))
        } else {
            return Err(KeyError::NoJwtKey);
        };
        let mut verifying = vec![current];
        if let Some(secret) = &settings.jwt_previous_secret {
            verifying.push(hs256(secret.expose().as_bytes())?.3);
        }
        if let Some(path) = &settings.jwt_previous_key {
            verifying.push(read_verifying_key(path)?);
        }
        Ok(JwtKeys { signing_kid, signing_algorithm, encoding, verifying })
    }

    /// Keys for a process that never checks a token (printing the spec).
    pub fn ephemeral() -> JwtKeys {
        let (signing_kid, signing_algorithm, encoding, current) =
            ed25519(&SigningKey::from_bytes(&domain::writes::random_bytes::<32>()));
        JwtKeys { signing_kid, signing_algorithm, encoding, verifying: vec![current] }
    }

    pub fn find(&self, kid: &str) -> Option<&VerifyingKey> {
        self.verifying.iter().find(|key| key.kid == kid)
    }
}

/// The audit log's signing key: configured, or generated beside a SQLite database.
pub fn audit_signing_key(settings: &Settings) -> Result<SigningKey, KeyError> {
    if let Some(path) = &settings.audit_signing_key {
        return read_signing_key(path);
    }
    if let Some(path) = beside_database(settings, "audit-key.pem") {
        return generated_key(&path);
    }
    if settings.database_url.expose().starts_with("sqlite:") {
        return Ok(SigningKey::from_bytes(&domain::writes::random_bytes::<32>()));
    }
    Err(KeyError::NoAuditKey)
}

/// Writes a new Ed25519 key to `path` as PKCS#8 PEM, readable only by its owner; refuses
/// to overwrite a file.
pub fn generate_key_file(path: &Path) -> Result<SigningKey, KeyError> {
    let key = SigningKey::from_bytes(&domain::writes::random_bytes::<32>());
    let pem = key.to_pkcs8_pem(LineEnding::LF).map_err(|e| file_error(path, e))?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(|e| file_error(path, e))?;
    file.write_all(pem.as_bytes()).map_err(|e| file_error(path, e))?;
    file.sync_all().map_err(|e| file_error(path, e))?;
    Ok(key)
}

fn generated_key(path: &Path) -> Result<SigningKey, KeyError> {
    if path.exists() {
        return read_signing_key(path);
    }
    let key = generate_key_file(path)?;
    tracing::info!(path = %path.display(), "generated a signing key");
    Ok(key)
}

fn beside_database(settings: &Settings, suffix: &str) -> Option<PathBuf> {
    let file = settings.database_url.sqlite_file()?;
    let name = file.file_name()?.to_string_lossy().into_owned();
    Some(file.with_file_name(format!("{name}.{suffix}")))
}

fn read_signing_key(path: &Path) -> Result<SigningKey, KeyError> {
    let pem = std::fs::read_to_string(path).map_err(|e| file_error(path, e))?;
    SigningKey::from_pkcs8_pem(&pem).map_err(|e| file_error(path, format!("not an Ed25519 PKCS#8 PEM key: {e}")))
}

/// A previous key: its private key (as kept when it was current) or its public key.
fn read_verifying_key(path: &Path) -> Result<VerifyingKey, KeyError> {
    let pem = std::fs::read_to_string(path).map_err(|e| file_error(path, e))?;
    let public = match SigningKey::from_pkcs8_pem(&pem) {
        Ok(key) => key.verifying_key(),
        Err(_) => ed25519_dalek::VerifyingKey::from_public_key_pem(&pem)
            .map_err(|e| file_error(path, format!("not an Ed25519 PEM key: {e}")))?,
    };
    Ok(ed25519_verifying(&public))
}

fn ed25519(key: &SigningKey) -> (String, Algorithm, EncodingKey, VerifyingKey) {
    let der = key.to_pkcs8_der().expect("an Ed25519 key encodes");
    let verifying = ed25519_verifying(&key.verifying_key());
    (verifying.kid.clone(), Algorithm::EdDSA, EncodingKey::from_ed_der(der.as_bytes()), verifying)
}

fn ed25519_verifying(public: &ed25519_dalek::VerifyingKey) -> VerifyingKey {
    let raw = public.to_bytes();
    VerifyingKey {
        kid: kid(b"ed25519:", &raw),
        algorithm: Algorithm::EdDSA,
        decoding: DecodingKey::from_ed_components(&URL_SAFE_NO_PAD.encode(raw)).expect("32 bytes decode"),
        public: Some(raw),
    }
}

fn hs256(secret: &[u8]) -> Result<(String, Algorithm, EncodingKey, VerifyingKey), KeyError> {
    if secret.len() < MIN_SECRET_BYTES {
        return Err(KeyError::ShortSecret);
    }
    let kid = kid(b"hs256:", secret);
    let encoding = EncodingKey::from_secret(secret).map_err(|_| KeyError::ShortSecret)?;
    let decoding = DecodingKey::from_secret(secret).map_err(|_| KeyError::ShortSecret)?;
    Ok((
        kid.clone(),
        Algorithm::HS256,
        encoding,
        VerifyingKey { kid, algorithm: Algorithm::HS256, decoding, public: None },
    ))
}

/// A key id: the first 96 bits of SHA-256(kind ‖ key), base64url. For a secret, the hash of
/// a high-entropy value reveals nothing of it.
fn kid(kind: &[u8], key: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(kind);
    hasher.update(key);
    URL_SAFE_NO_PAD.encode(&hasher.finalize()[..12])
}

fn file_error(path: &Path, reason: impl ToString) -> KeyError {
    KeyError::File { path: path.to_owned(), reason: reason.to_string() }
}
