//! Authentication: who a request comes from. Bearer JWTs (HS256 or EdDSA, see [`keys`]),
//! refresh-token sessions, and the login throttle. What an authenticated actor may then do
//! is the domain's decision, not this module's.

use std::net::IpAddr;
use std::sync::Arc;

use poem_openapi::SecurityScheme;
use poem_openapi::auth::Bearer;
use sea_orm::DatabaseConnection;

use domain::DomainError;
use domain::accounts::{self, Actor, PasswordHasher, sessions};

use crate::config::Settings;
use crate::error::ApiError;

pub mod keys;
pub mod throttle;
pub mod tokens;

pub use keys::{JwtKeys, KeyError};
pub use throttle::LoginThrottle;
pub use tokens::TokenIssuer;

/// A bearer access token from `POST /v1/auth/token`.
#[derive(SecurityScheme)]
#[oai(ty = "bearer", bearer_format = "JWT")]
pub struct BearerAuth(pub Bearer);

/// A bearer token where one is optional: reads that show more to some callers (a draft to
/// its filers) and nothing less to anyone.
#[derive(SecurityScheme)]
pub enum MaybeBearer {
    Bearer(BearerAuth),
    #[oai(fallback)]
    Anonymous,
}

/// What a successful login or refresh hands out. No `Debug`: it holds credentials.
#[derive(Clone)]
pub struct TokenGrant {
    pub access_token: String,
    pub expires_in: u64,
    pub refresh_token: String,
}

/// Everything authentication needs, shared by the operations that use it.
pub struct Auth {
    pub db: DatabaseConnection,
    pub tokens: TokenIssuer,
    pub hasher: PasswordHasher,
    pub throttle: LoginThrottle,
    /// Registrations per address: every one counts.
    pub registrations: LoginThrottle,
    pub refresh_lifetime: chrono::Duration,
}

impl Auth {
    pub fn new(db: DatabaseConnection, settings: &Settings, keys: JwtKeys) -> Arc<Auth> {
        Arc::new(Auth {
            db,
            tokens: TokenIssuer {
                keys,
                issuer: settings.jwt_issuer.clone(),
                audience: settings.jwt_audience.clone(),
                lifetime_seconds: settings.access_token_seconds.max(1),
                leeway_seconds: settings.jwt_leeway_seconds,
            },
            hasher: PasswordHasher::new(settings.password_hash_concurrency),
            throttle: LoginThrottle::new(settings.login_failures_per_minute),
            registrations: LoginThrottle::new(settings.registrations_per_minute),
            refresh_lifetime: chrono::Duration::seconds(settings.refresh_token_seconds.max(1) as i64),
        })
    }

    /// The actor a bearer token speaks for: a valid, unrevoked token of an enabled account.
    pub async fn actor(&self, bearer: &BearerAuth) -> Result<Actor, ApiError> {
        let verified = self.tokens.verify(&bearer.0.token).map_err(ApiError::unauthorized)?;
        if sessions::is_revoked(&self.db, &verified.jti, Some(&verified.session)).await? {
            return Err(ApiError::unauthorized("the token was revoked"));
        }
        let principal = accounts::principal(&self.db, verified.account_id)
            .await?
            .ok_or_else(|| ApiError::unauthorized("the token's account is disabled or gone"))?;
        Ok(Actor::Account(principal))
    }

    /// The actor of a read that takes an optional token.
    pub async fn reader(&self, bearer: &MaybeBearer) -> Result<Actor, ApiError> {
        match bearer {
            MaybeBearer::Bearer(bearer) => self.actor(bearer).await,
            MaybeBearer::Anonymous => Ok(Actor::Anonymous),
        }
    }

    /// The actor, or `Anonymous` without a token.
    pub async fn actor_or_anonymous(&self, bearer: Option<&BearerAuth>) -> Result<Actor, ApiError> {
        match bearer {
            Some(bearer) => self.actor(bearer).await,
            None => Ok(Actor::Anonymous),
        }
    }

    /// Exchanges an email and password for tokens, unless this account or this address
    /// failed too often in the last minute.
    pub async fn login(&self, email: &str, password: &str, client: IpAddr) -> Result<TokenGrant, ApiError> {
        let keys = [format!("account:{}", email.trim().to_lowercase()), format!("address:{client}")];
        self.throttle.attempt(&keys).map_err(ApiError::too_many_logins)?;
        match accounts::authenticate(&self.db, &self.hasher, email, password).await {
            Ok(account_id) => {
                self.throttle.succeeded(&keys);
                let issued = sessions::start(&self.db, account_id, self.refresh_lifetime).await?;
                Ok(self.grant(issued))
            }
            Err(DomainError::InvalidCredentials) => Err(ApiError::invalid_credentials()),
            Err(other) => Err(other.into()),
        }
    }

    /// Counts a registration from this address; 429 past the limit.
    pub fn registration(&self, client: IpAddr) -> Result<(), ApiError> {
        self.registrations.attempt(&[format!("address:{client}")]).map_err(ApiError::too_many_registrations)
    }

    /// Rotates a refresh token.
    pub async fn refresh(&self, refresh_token: &str) -> Result<TokenGrant, ApiError> {
        let issued = sessions::rotate(&self.db, refresh_token, self.refresh_lifetime).await?;
        Ok(self.grant(issued))
    }

    /// Revokes the presented access token and its session.
    pub async fn logout(&self, bearer: &BearerAuth) -> Result<(), ApiError> {
        let verified = self.tokens.verify(&bearer.0.token).map_err(ApiError::unauthorized)?;
        sessions::logout(&self.db, verified.account_id, Some(&verified.session), &verified.jti, verified.expires_at)
            .await?;
        Ok(())
    }

    fn grant(&self, issued: sessions::Issued) -> TokenGrant {
        TokenGrant {
            access_token: self.tokens.issue(issued.account_id, &issued.family),
            expires_in: self.tokens.lifetime_seconds,
            refresh_token: issued.refresh_token,
        }
    }
}
