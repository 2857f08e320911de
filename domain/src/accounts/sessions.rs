//! Sessions: the refresh tokens behind a login, and the access tokens revoked before their
//! expiry. A refresh token works once; each refresh issues the next of its family, and
//! presenting a used one again (a stolen copy, or the thief's) revokes the whole family.
//!
//! Sessions are credentials, not records of the portal: they stay out of the public audit log.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, Set, TransactionTrait,
};
use sha2::{Digest, Sha256};

use super::tables::{account, refresh_token, revoked_access_token};
use crate::DomainError;
use crate::writes::{hex, random_bytes};

/// A refresh token handed to the client, and the family (session) it belongs to. No
/// `Debug`: it holds the token.
#[derive(Clone)]
pub struct Issued {
    pub account_id: i64,
    /// The opaque token: 256 random bits, base64url. Only its hash is stored.
    pub refresh_token: String,
    pub family: String,
}

fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

fn new_token() -> String {
    URL_SAFE_NO_PAD.encode(random_bytes::<32>())
}

/// Starts a session after a successful login.
pub async fn start(db: &DatabaseConnection, account_id: i64, lifetime: Duration) -> Result<Issued, DomainError> {
    let family = uuid_like();
    let token = new_token();
    let now = Utc::now();
    // Expired tokens can only be refused: a day past expiry, drop this account's (its used
    // ones included, so reuse of those is refused as unknown rather than by family).
    refresh_token::Entity::delete_many()
        .filter(refresh_token::Column::AccountId.eq(account_id))
        .filter(refresh_token::Column::ExpiresAt.lt(now - Duration::days(1)))
        .exec(db)
        .await?;
    refresh_token::ActiveModel {
        account_id: Set(account_id),
        family: Set(family.clone()),
        token_hash: Set(token_hash(&token)),
        issued_at: Set(now),
        expires_at: Set(now + lifetime),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(Issued { account_id, refresh_token: token, family })
}

/// Exchanges a refresh token for the next one of its family. A token that is unknown,
/// expired, revoked or already used gives `InvalidCredentials`; an already used one also
/// revokes its family.
pub async fn rotate(db: &DatabaseConnection, token: &str, lifetime: Duration) -> Result<Issued, DomainError> {
    let txn = db.begin().await?;
    let now = Utc::now();
    // Marking the token used first, conditionally, makes two concurrent refreshes with one
    // token produce one winner: the loser updates no row.
    let claimed = refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::UsedAt, Expr::value(Some(now)))
        .filter(refresh_token::Column::TokenHash.eq(token_hash(token)))
        .filter(refresh_token::Column::UsedAt.is_null())
        .filter(refresh_token::Column::RevokedAt.is_null())
        .filter(refresh_token::Column::ExpiresAt.gt(now))
        .exec(&txn)
        .await?
        .rows_affected
        == 1;
    let stored =
        refresh_token::Entity::find().filter(refresh_token::Column::TokenHash.eq(token_hash(token))).one(&txn).await?;
    let Some(stored) = stored else { return Err(DomainError::InvalidCredentials) };
    if !claimed {
        if stored.used_at.is_some() {
            revoke_family_in(&txn, &stored.family, now).await?;
            txn.commit().await?;
        }
        return Err(DomainError::InvalidCredentials);
    }
    let enabled =
        account::Entity::find_by_id(stored.account_id).one(&txn).await?.is_some_and(|a| a.disabled_at.is_none());
    if !enabled {
        return Err(DomainError::InvalidCredentials);
    }
    let next = new_token();
    refresh_token::ActiveModel {
        account_id: Set(stored.account_id),
        family: Set(stored.family.clone()),
        token_hash: Set(token_hash(&next)),
        issued_at: Set(now),
        expires_at: Set(now + lifetime),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    Ok(Issued { account_id: stored.account_id, refresh_token: next, family: stored.family })
}

/// Ends a session: its refresh tokens stop working, and so does the access token `jti`
/// (until `expires_at`, when it would have stopped anyway).
pub async fn logout(
    db: &DatabaseConnection,
    account_id: i64,
    family: Option<&str>,
    jti: &str,
    expires_at: DateTime<Utc>,
) -> Result<(), DomainError> {
    let txn = db.begin().await?;
    let now = Utc::now();
    // Revocations past their token's expiry protect nothing: keep the list short. (A write
    // first, so that SQLite takes its write lock before this transaction reads.)
    revoked_access_token::Entity::delete_many()
        .filter(revoked_access_token::Column::ExpiresAt.lt(now - Duration::minutes(5)))
        .exec(&txn)
        .await?;
    if let Some(family) = family {
        revoke_family_in(&txn, family, now).await?;
    }
    let known = revoked_access_token::Entity::find_by_id(jti.to_owned()).count(&txn).await? > 0;
    if !known {
        revoked_access_token::ActiveModel {
            jti: Set(jti.to_owned()),
            account_id: Set(account_id),
            expires_at: Set(expires_at),
        }
        .insert(&txn)
        .await?;
    }
    txn.commit().await?;
    Ok(())
}

/// Whether an access token was revoked, or its session (family) was.
pub async fn is_revoked(db: &DatabaseConnection, jti: &str, family: Option<&str>) -> Result<bool, DomainError> {
    if revoked_access_token::Entity::find_by_id(jti.to_owned()).count(db).await? > 0 {
        return Ok(true);
    }
    let Some(family) = family else { return Ok(false) };
    let revoked = refresh_token::Entity::find()
        .filter(refresh_token::Column::Family.eq(family))
        .filter(refresh_token::Column::RevokedAt.is_not_null())
        .count(db)
        .await?;
    Ok(revoked > 0)
}

/// Ends every session of an account (it was disabled): its refresh tokens stop working,
/// and with them every access token issued in those sessions.
pub async fn revoke_all_in(
    txn: &sea_orm::DatabaseTransaction,
    account_id: i64,
    now: DateTime<Utc>,
) -> Result<(), DomainError> {
    refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RevokedAt, Expr::value(Some(now)))
        .filter(refresh_token::Column::AccountId.eq(account_id))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(txn)
        .await?;
    Ok(())
}

async fn revoke_family_in(
    txn: &sea_orm::DatabaseTransaction,
    family: &str,
    now: DateTime<Utc>,
) -> Result<(), DomainError> {
    refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RevokedAt, Expr::value(Some(now)))
        .filter(refresh_token::Column::Family.eq(family))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(txn)
        .await?;
    Ok(())
}

/// A random version-4 UUID in its usual text form.
fn uuid_like() -> String {
    let mut bytes = random_bytes::<16>();
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let h = hex(&bytes);
    format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}
