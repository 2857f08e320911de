//! Tokens: logging in, refreshing, logging out, and the public keys that verify tokens.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use poem::Request;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::ApiTags;
use crate::auth::{Auth, BearerAuth, TokenGrant};
use crate::error::ApiResult;
use crate::middleware::client_key;

pub struct AuthApi {
    pub auth: Arc<Auth>,
    /// Whether the login throttle keys clients by `X-Forwarded-For` (see the configuration).
    pub trust_forwarded_for: bool,
}

/// An email and password to log in with. (No `Debug`, here and below: these hold credentials.)
#[derive(Clone, Object)]
pub struct TokenRequest {
    /// The account's email, in any case.
    #[oai(validator(min_length = 1, max_length = 254))]
    pub email: String,
    /// The account's password.
    #[oai(validator(min_length = 1, max_length = 1024))]
    pub password: String,
}

/// A refresh token to exchange.
#[derive(Clone, Object)]
pub struct RefreshRequest {
    /// The `refresh_token` of the last login or refresh. It works once.
    #[oai(validator(min_length = 1, max_length = 256))]
    pub refresh_token: String,
}

/// Tokens, under OAuth 2's names (RFC 6749 §5.1).
#[derive(Clone, Object)]
pub struct Tokens {
    /// A JWT to send as `Authorization: Bearer …` on writes.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// An opaque token for `POST /v1/auth/refresh`: it works once, and using it twice
    /// ends the session.
    pub refresh_token: String,
}

impl From<TokenGrant> for Tokens {
    fn from(grant: TokenGrant) -> Self {
        Tokens {
            access_token: grant.access_token,
            token_type: "Bearer".to_owned(),
            expires_in: grant.expires_in,
            refresh_token: grant.refresh_token,
        }
    }
}

#[derive(ApiResponse)]
pub enum TokenResponse {
    /// New tokens.
    #[oai(status = 200)]
    Ok(
        Json<Tokens>,
        /// `no-store`: tokens must not be cached (RFC 6749 §5.1).
        #[oai(header = "Cache-Control")]
        String,
    ),
}

#[derive(ApiResponse)]
pub enum LoggedOut {
    /// The access token and its session's refresh tokens no longer work.
    #[oai(status = 204)]
    NoContent,
}

/// A JSON Web Key Set (RFC 7517).
#[derive(Debug, Clone, Object)]
pub struct Jwks {
    /// The Ed25519 public keys tokens are verified with: the current one first. Empty when
    /// tokens are signed with a shared secret (HS256).
    pub keys: Vec<Jwk>,
}

/// An Ed25519 public key as a JWK (RFC 8037).
#[derive(Debug, Clone, Object)]
pub struct Jwk {
    /// `OKP`.
    pub kty: String,
    /// `Ed25519`.
    pub crv: String,
    /// The public key, base64url.
    pub x: String,
    /// The key id tokens name in their header.
    pub kid: String,
    /// `EdDSA`.
    pub alg: String,
    /// `sig`.
    #[oai(rename = "use")]
    pub key_use: String,
}

#[derive(ApiResponse)]
pub enum JwksResponse {
    /// The key set.
    #[oai(status = 200)]
    Ok(Json<Jwks>),
}

fn no_store(tokens: TokenGrant) -> TokenResponse {
    TokenResponse::Ok(Json(tokens.into()), "no-store".to_owned())
}

#[OpenApi(tag = "ApiTags::Auth")]
impl AuthApi {
    /// Log in
    ///
    /// Exchanges an email and password for a short-lived access token and a refresh token.
    /// A wrong password and an unknown email get the same 401. After 5 failed attempts in a
    /// minute for one account or from one address, attempts get 429 with `Retry-After`.
    #[oai(path = "/v1/auth/token", method = "post", operation_id = "createToken")]
    async fn token(&self, req: &Request, body: Json<TokenRequest>) -> ApiResult<TokenResponse> {
        let client = client_key(req.remote_addr().as_socket_addr().copied(), req.headers(), self.trust_forwarded_for);
        Ok(no_store(self.auth.login(&body.email, &body.password, client).await?))
    }

    /// Refresh tokens
    ///
    /// Exchanges a refresh token for new tokens. Each refresh token works once: presenting
    /// one that was already used revokes every token of its session.
    #[oai(path = "/v1/auth/refresh", method = "post", operation_id = "refreshToken")]
    async fn refresh(&self, body: Json<RefreshRequest>) -> ApiResult<TokenResponse> {
        Ok(no_store(self.auth.refresh(&body.refresh_token).await?))
    }

    /// Log out
    ///
    /// Revokes the access token presented and every refresh token of its session.
    #[oai(path = "/v1/auth/logout", method = "post", operation_id = "logout")]
    async fn logout(&self, bearer: BearerAuth) -> ApiResult<LoggedOut> {
        self.auth.logout(&bearer).await?;
        Ok(LoggedOut::NoContent)
    }

    /// Token verification keys
    ///
    /// The public keys access tokens are signed with (EdDSA), for services that verify
    /// Scrutiny's tokens themselves.
    #[oai(path = "/.well-known/jwks.json", method = "get", operation_id = "getJwks")]
    async fn jwks(&self) -> JwksResponse {
        let keys = self
            .auth
            .tokens
            .keys
            .verifying
            .iter()
            .filter_map(|key| {
                Some(Jwk {
                    kty: "OKP".to_owned(),
                    crv: "Ed25519".to_owned(),
                    x: URL_SAFE_NO_PAD.encode(key.public?),
                    kid: key.kid.clone(),
                    alg: "EdDSA".to_owned(),
                    key_use: "sig".to_owned(),
                })
            })
            .collect();
        JwksResponse::Ok(Json(Jwks { keys }))
    }
}
