//! Messages to people, kept in an outbox until sent.
//!
//! A service whose change someone must hear of calls [`enqueue`] inside its write's
//! transaction, so a message exists exactly when the change committed. A sender
//! (`api::mail`) takes what is [`due`], tries each message once and reports the outcome with
//! [`mark_sent`] or [`mark_failed`]; a failed message is tried again after a growing delay,
//! for as long as it takes, so nothing is lost while the mail server is down.
//!
//! Senders in several processes may run at once: [`due`] claims every message it returns by
//! moving its `next_attempt_at` [`CLAIM`] ahead, in an update conditioned on the message
//! still being due, which only one sender can win (PostgreSQL re-checks the condition after
//! waiting for a competing update's row lock; SQLite has one writer). A sender must mark each
//! message within that time; if it dies first, the message comes due again when the claim
//! runs out: delivery is at least once, never silently skipped.

pub mod tables;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, ExprTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};

use crate::DomainError;
use crate::accounts::tables::account;
use tables::outbox_message;

/// How long a message [`due`] returned stays with its sender before another may take it.
pub const CLAIM: Duration = Duration::from_secs(10 * 60);

/// The longest wait between two attempts.
pub const MAX_RETRY_DELAY: Duration = Duration::from_secs(60 * 60);

/// The shortest: a failed message must not come due again within the same sending run.
pub const MIN_RETRY_DELAY: Duration = Duration::from_secs(1);

/// How much of an attempt's error is kept, in characters.
pub const MAX_ERROR_CHARS: usize = 500;

/// A message to put in the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMessage {
    /// What happened: `finding.delivered`, `hearing.offered`, `recommendation.answered`,
    /// `deadline.passed`, ...
    pub kind: String,
    pub recipient_account_id: i64,
    pub finding_id: Option<i64>,
    pub subject: String,
    /// Plain text.
    pub body: String,
}

/// A message to send now, with its recipient's current address and name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub id: i64,
    /// The recipient's email, read from the account just now.
    pub to: String,
    pub display_name: String,
    pub subject: String,
    pub body: String,
    /// Attempts made before this one.
    pub attempts: i32,
}

/// Puts messages in the outbox, due at once. Called inside a write's transaction so a
/// message exists iff the change committed. A person named twice in one call (an author who
/// also sits on the council, say) gets only the first of their messages.
pub async fn enqueue(
    txn: &impl ConnectionTrait,
    now: DateTime<Utc>,
    messages: Vec<NewMessage>,
) -> Result<(), DomainError> {
    let mut recipients = HashSet::new();
    let rows: Vec<_> = messages
        .into_iter()
        .filter(|message| recipients.insert(message.recipient_account_id))
        .map(|message| outbox_message::ActiveModel {
            kind: Set(message.kind),
            recipient_account_id: Set(message.recipient_account_id),
            finding_id: Set(message.finding_id),
            subject: Set(message.subject),
            body: Set(message.body),
            created_at: Set(now),
            attempts: Set(0),
            next_attempt_at: Set(now),
            sent_at: Set(None),
            dropped_at: Set(None),
            last_error: Set(None),
            ..Default::default()
        })
        .collect();
    if rows.is_empty() {
        return Ok(());
    }
    outbox_message::Entity::insert_many(rows).exec(txn).await?;
    Ok(())
}

/// Messages due now, the longest due first (for messages never tried, the oldest), at most
/// `limit`, each claimed for [`CLAIM`]. A message whose recipient is erased or disabled is
/// marked dropped and not returned (the email address is read from the account at send time,
/// so the outbox never keeps an address).
pub async fn due(db: &impl ConnectionTrait, now: DateTime<Utc>, limit: u64) -> Result<Vec<Pending>, DomainError> {
    use outbox_message::Column;
    let mut pending = Vec::new();
    // Dropped messages and those another sender claimed first leave gaps; look further
    // until `limit` are claimed or nothing more is due.
    while (pending.len() as u64) < limit {
        let wanted = limit - pending.len() as u64;
        let rows = outbox_message::Entity::find()
            .filter(Column::SentAt.is_null())
            .filter(Column::DroppedAt.is_null())
            .filter(Column::NextAttemptAt.lte(now))
            .order_by_asc(Column::NextAttemptAt)
            .order_by_asc(Column::Id)
            .limit(wanted)
            .all(db)
            .await?;
        let found = rows.len() as u64;
        let ids: HashSet<i64> = rows.iter().map(|row| row.recipient_account_id).collect();
        // Only what a message needs: never the password hash.
        let recipients: HashMap<i64, (String, String, bool)> = account::Entity::find()
            .select_only()
            .columns([
                account::Column::Id,
                account::Column::Email,
                account::Column::DisplayName,
                account::Column::DisabledAt,
                account::Column::ErasedAt,
            ])
            .filter(account::Column::Id.is_in(ids))
            .into_tuple::<(i64, String, String, Option<DateTime<Utc>>, Option<DateTime<Utc>>)>()
            .all(db)
            .await?
            .into_iter()
            .map(|(id, email, name, disabled_at, erased_at)| {
                (id, (email, name, disabled_at.is_none() && erased_at.is_none()))
            })
            .collect();
        let mut dropped = Vec::new();
        for row in rows {
            match recipients.get(&row.recipient_account_id) {
                Some((email, display_name, true)) => {
                    if claim(db, row.id, now).await? {
                        pending.push(Pending {
                            id: row.id,
                            to: email.clone(),
                            display_name: display_name.clone(),
                            subject: row.subject,
                            body: row.body,
                            attempts: row.attempts,
                        });
                    }
                }
                _ => dropped.push(row.id),
            }
        }
        if !dropped.is_empty() {
            outbox_message::Entity::update_many()
                .col_expr(Column::DroppedAt, Expr::value(Some(now)))
                .filter(Column::Id.is_in(dropped))
                .filter(Column::SentAt.is_null())
                .filter(Column::DroppedAt.is_null())
                .exec(db)
                .await?;
        }
        if found < wanted {
            break;
        }
    }
    Ok(pending)
}

/// Takes one due message for this sender; false when another sender took it first.
async fn claim(db: &impl ConnectionTrait, id: i64, now: DateTime<Utc>) -> Result<bool, DomainError> {
    use outbox_message::Column;
    let until = now + chrono::Duration::from_std(CLAIM).expect("the claim is minutes long");
    let claimed = outbox_message::Entity::update_many()
        .col_expr(Column::NextAttemptAt, Expr::value(until))
        .filter(Column::Id.eq(id))
        .filter(Column::SentAt.is_null())
        .filter(Column::DroppedAt.is_null())
        .filter(Column::NextAttemptAt.lte(now))
        .exec(db)
        .await?;
    Ok(claimed.rows_affected == 1)
}

/// Records a message as sent. Marking a sent message again changes nothing.
pub async fn mark_sent(db: &impl ConnectionTrait, id: i64, now: DateTime<Utc>) -> Result<(), DomainError> {
    use outbox_message::Column;
    let updated = outbox_message::Entity::update_many()
        .col_expr(Column::SentAt, Expr::value(Some(now)))
        .col_expr(Column::Attempts, Expr::col(Column::Attempts).add(1))
        .filter(Column::Id.eq(id))
        .filter(Column::SentAt.is_null())
        .exec(db)
        .await?;
    if updated.rows_affected == 0 && outbox_message::Entity::find_by_id(id).one(db).await?.is_none() {
        return Err(DomainError::NotFound(format!("outbox message {id}")));
    }
    Ok(())
}

/// A failed attempt: next try after an exponential backoff from `base` (base, 2×, 4×…
/// capped at 1 hour, see [`retry_delay`]); `error` is kept short (first 500 chars) and must
/// not contain credentials (a URL's password is masked here too, as a second line of
/// defence).
pub async fn mark_failed(
    db: &impl ConnectionTrait,
    id: i64,
    now: DateTime<Utc>,
    error: &str,
    base: Duration,
) -> Result<(), DomainError> {
    use outbox_message::Column;
    let message = outbox_message::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| DomainError::NotFound(format!("outbox message {id}")))?;
    if message.sent_at.is_some() {
        return Ok(());
    }
    let delay = retry_delay(base, message.attempts.saturating_add(1));
    let next = now + chrono::Duration::from_std(delay).expect("the delay is at most an hour");
    outbox_message::Entity::update_many()
        .col_expr(Column::Attempts, Expr::col(Column::Attempts).add(1))
        .col_expr(Column::NextAttemptAt, Expr::value(next))
        .col_expr(Column::LastError, Expr::value(Some(short_error(error))))
        .filter(Column::Id.eq(id))
        .filter(Column::SentAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// The wait after the `attempts`-th failed attempt: `base` after the first, doubling with each
/// further one, between [`MIN_RETRY_DELAY`] and [`MAX_RETRY_DELAY`].
pub fn retry_delay(base: Duration, attempts: i32) -> Duration {
    let doublings = attempts.saturating_sub(1).clamp(0, 31) as u32;
    base.checked_mul(1u32 << doublings).unwrap_or(MAX_RETRY_DELAY).clamp(MIN_RETRY_DELAY, MAX_RETRY_DELAY)
}

/// Gives up the unsent messages to one person (when they are erased, say); returns how many.
pub async fn drop_for_account(
    txn: &impl ConnectionTrait,
    account_id: i64,
    now: DateTime<Utc>,
) -> Result<u64, DomainError> {
    use outbox_message::Column;
    let dropped = outbox_message::Entity::update_many()
        .col_expr(Column::DroppedAt, Expr::value(Some(now)))
        .filter(Column::RecipientAccountId.eq(account_id))
        .filter(Column::SentAt.is_null())
        .filter(Column::DroppedAt.is_null())
        .exec(txn)
        .await?;
    Ok(dropped.rows_affected)
}

/// Messages neither sent nor dropped, due or not.
pub async fn pending_count(db: &impl ConnectionTrait) -> Result<u64, DomainError> {
    use outbox_message::Column;
    Ok(outbox_message::Entity::find()
        .filter(Column::SentAt.is_null())
        .filter(Column::DroppedAt.is_null())
        .count(db)
        .await?)
}

/// Messages of one finding, in the order they were enqueued (for tests and a future admin
/// view).
pub async fn of_finding(db: &impl ConnectionTrait, finding_id: i64) -> Result<Vec<outbox_message::Model>, DomainError> {
    use outbox_message::Column;
    Ok(outbox_message::Entity::find().filter(Column::FindingId.eq(finding_id)).order_by_asc(Column::Id).all(db).await?)
}

/// The first [`MAX_ERROR_CHARS`] characters of an error, any URL password masked.
fn short_error(error: &str) -> String {
    let mut masked = String::with_capacity(error.len());
    let mut rest = error;
    // `scheme://user:password@host`: keep the user, mask the password.
    while let Some(start) = rest.find("://") {
        let authority_start = start + 3;
        masked.push_str(&rest[..authority_start]);
        rest = &rest[authority_start..];
        let authority_end = rest.find(|c: char| c == '/' || c.is_whitespace()).unwrap_or(rest.len());
        let authority = &rest[..authority_end];
        if let Some(at) = authority.rfind('@')
            && let Some(colon) = authority[..at].find(':')
        {
            masked.push_str(&authority[..=colon]);
            masked.push_str("***");
            masked.push_str(&authority[at..]);
            rest = &rest[authority_end..];
        }
    }
    masked.push_str(rest);
    masked.chars().take(MAX_ERROR_CHARS).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_delay_doubles_up_to_an_hour() {
        let base = Duration::from_secs(30);
        assert_eq!(retry_delay(base, 1), base);
        assert_eq!(retry_delay(base, 2), base * 2);
        assert_eq!(retry_delay(base, 3), base * 4);
        assert_eq!(retry_delay(base, 8), MAX_RETRY_DELAY);
        assert_eq!(retry_delay(base, i32::MAX), MAX_RETRY_DELAY);
        assert_eq!(retry_delay(Duration::ZERO, 1), MIN_RETRY_DELAY);
    }

    #[test]
    fn errors_are_short_and_keep_no_password() {
        assert_eq!(
            short_error("cannot reach smtps://mailer:s3cret@mail.example.kz:465 now"),
            "cannot reach smtps://mailer:***@mail.example.kz:465 now"
        );
        assert_eq!(short_error("smtp://mail.example.kz refused"), "smtp://mail.example.kz refused");
        assert_eq!(short_error(&"ж".repeat(600)).chars().count(), MAX_ERROR_CHARS);
    }
}
