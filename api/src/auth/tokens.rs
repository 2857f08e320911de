//! Access tokens: short-lived JWTs naming the account (`sub`), the session (`sid`, the
//! refresh-token family) and the token itself (`jti`, for revocation).

use chrono::{DateTime, Utc};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Header, Validation, decode, decode_header, encode};
use serde::{Deserialize, Serialize};

use super::keys::JwtKeys;

/// The most clock skew ever tolerated, whatever the configuration says.
pub const MAX_LEEWAY_SECONDS: u64 = 30;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    /// The account id, as a string (RFC 7519 §4.1.2).
    pub sub: String,
    pub iat: u64,
    pub nbf: u64,
    pub exp: u64,
    pub jti: String,
    /// The session: the family of refresh tokens this login started. Required: revoking a
    /// session must reach every token issued in it.
    pub sid: String,
}

/// Who and what a verified token names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub account_id: i64,
    pub jti: String,
    pub session: String,
    pub expires_at: DateTime<Utc>,
}

/// Issues and checks tokens with one set of keys, issuer and audience.
#[derive(Debug, Clone)]
pub struct TokenIssuer {
    pub keys: JwtKeys,
    pub issuer: String,
    pub audience: String,
    pub lifetime_seconds: u64,
    pub leeway_seconds: u64,
}

impl TokenIssuer {
    /// A signed access token for the account, in the session `session`.
    pub fn issue(&self, account_id: i64, session: &str) -> String {
        let now = Utc::now().timestamp().max(0) as u64;
        let claims = Claims {
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sub: account_id.to_string(),
            iat: now,
            nbf: now,
            exp: now + self.lifetime_seconds,
            jti: uuid::Uuid::new_v4().to_string(),
            sid: session.to_owned(),
        };
        let mut header = Header::new(self.keys.signing_algorithm);
        header.kid = Some(self.keys.signing_kid.clone());
        encode(&header, &claims, &self.keys.encoding).expect("a token with a valid key encodes")
    }

    /// Checks a token: its `kid` names a configured key, its `alg` is that key's (never what
    /// the token asks for), the signature holds, and `exp`, `iss`, `aud` and `sub` are
    /// present and right, `nbf` passed, within the leeway.
    pub fn verify(&self, token: &str) -> Result<Verified, &'static str> {
        let header = decode_header(token).map_err(|_| "the token is not a well-formed JWT with a known algorithm")?;
        let kid = header.kid.as_deref().ok_or("the token names no key (kid)")?;
        let key = self.keys.find(kid).ok_or("the token is signed with a key this server does not know")?;
        if header.alg != key.algorithm {
            return Err("the token's algorithm is not the one its key uses");
        }
        let mut validation = Validation::new(key.algorithm);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.validate_nbf = true;
        validation.leeway = self.leeway_seconds.min(MAX_LEEWAY_SECONDS);
        let data = decode::<Claims>(token, &key.decoding, &validation).map_err(|error| match error.kind() {
            ErrorKind::ExpiredSignature => "the token has expired",
            ErrorKind::ImmatureSignature => "the token is not valid yet",
            ErrorKind::InvalidIssuer => "the token was issued by someone else",
            ErrorKind::InvalidAudience => "the token is meant for another service",
            ErrorKind::InvalidSignature => "the token's signature does not match",
            ErrorKind::MissingRequiredClaim(_) => "the token lacks a required claim (exp, iss, aud or sub)",
            ErrorKind::InvalidClaimFormat(_) => "a claim of the token has the wrong type",
            ErrorKind::InvalidAlgorithm => "the token's algorithm is not the one its key uses",
            _ => "the token is malformed",
        })?;
        let account_id = data.claims.sub.parse().map_err(|_| "the token's subject is not an account")?;
        let expires_at =
            DateTime::from_timestamp(data.claims.exp as i64, 0).ok_or("a claim of the token has the wrong type")?;
        Ok(Verified { account_id, jti: data.claims.jti, session: data.claims.sid, expires_at })
    }
}
