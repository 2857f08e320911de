//! Comments on published findings: any account may write one, anyone may read them, and
//! moderators hide one behind a public marker and a reason (or show it again). Each write is
//! one audited [`Write`] on the finding, so comments show in its history; the text enters the
//! log only as a salted hash kept beside it, so erasing its author erases it there too.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, Set};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::service::Findings;
use super::tables::{comment, finding};
use super::view::{HIDDEN_MARKER, HiddenView};
use crate::DomainError;
use crate::accounts::tables::account;
use crate::accounts::{Actor, Role};
use crate::audit::log::MASKED;
use crate::pagination::{Limit, Page, by_key};
use crate::writes::IdempotencyKey;

/// The longest comment, in characters (after trimming).
pub const MAX_COMMENT_CHARS: usize = 5_000;
/// The longest reason a moderator gives for hiding a comment.
pub const MAX_HIDE_REASON_CHARS: usize = 2_000;

/// A comment as its reader may see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommentView {
    pub id: i64,
    pub finding_id: i64,
    /// The name the author chose to be seen by; [`MASKED`] once the author is erased.
    pub author_display_name: String,
    /// The text; [`HIDDEN_MARKER`] to most readers while hidden, [`MASKED`] once the author
    /// is erased.
    pub text: String,
    pub created_at: DateTime<Utc>,
    /// Set while a moderator hides it; the reason is public.
    pub hidden: Option<HiddenView>,
}

/// A text as a person wrote it: trimmed, not empty, at most `max` characters, and no
/// control characters but line breaks and tabs.
pub(crate) fn clean_text(field: &str, value: &str, max: usize) -> Result<String, DomainError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(DomainError::invalid(field, "must not be empty"));
    }
    if value.chars().count() > max {
        return Err(DomainError::invalid(field, format!("must be at most {max} characters")));
    }
    if value.chars().any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t') {
        return Err(DomainError::invalid(field, "must not contain control characters"));
    }
    Ok(value.to_owned())
}

/// Whether the actor sees a hidden comment's text: moderators, admins and its author.
fn sees_hidden(actor: &Actor, row: &comment::Model) -> bool {
    actor.is_admin() || actor.has(Role::Moderator) || actor.account_id() == Some(row.account_id)
}

/// The views of these comments as `actor` may see them, in the rows' order; one query for
/// the authors' names.
async fn views(
    db: &impl ConnectionTrait,
    actor: &Actor,
    rows: Vec<comment::Model>,
) -> Result<Vec<CommentView>, DomainError> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    // The author's chosen name, or `None` once erased.
    let names: BTreeMap<i64, Option<String>> = account::Entity::find()
        .filter(account::Column::Id.is_in(rows.iter().map(|row| row.account_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|a| (a.id, if a.erased_at.is_some() { None } else { Some(a.display_name) }))
        .collect();
    Ok(rows
        .into_iter()
        .map(|row| {
            let name = names.get(&row.account_id).cloned().flatten();
            let hidden = match (row.hidden_at, row.hidden_reason.clone()) {
                (Some(at), Some(reason)) => Some(HiddenView { at, reason }),
                _ => None,
            };
            let text = if name.is_none() {
                MASKED.to_owned()
            } else if hidden.is_some() && !sees_hidden(actor, &row) {
                HIDDEN_MARKER.to_owned()
            } else {
                row.text.clone()
            };
            CommentView {
                id: row.id,
                finding_id: row.finding_id,
                author_display_name: name.unwrap_or_else(|| MASKED.to_owned()),
                text,
                created_at: row.created_at,
                hidden,
            }
        })
        .collect())
}

/// A comment as the audit log keeps it: ids, the moderation state, and the text only as a
/// reference to the personal data kept beside the log.
fn snapshot(row: &comment::Model, text: &Value) -> Value {
    json!({
        "comment_id": row.id,
        "finding_id": row.finding_id,
        "author_account_id": row.account_id,
        "text": text,
        "created_at": row.created_at,
        "hidden_at": row.hidden_at,
        "hidden_reason": row.hidden_reason,
    })
}

impl Findings {
    /// Writes a comment on a published finding, in the name of the actor's account.
    pub async fn comment(
        &self,
        actor: &Actor,
        finding_id: i64,
        text: String,
        key: Option<&IdempotencyKey>,
    ) -> Result<CommentView, DomainError> {
        let Some(author) = actor.account_id() else {
            return Err(DomainError::Forbidden("comments are written from an account".into()));
        };
        let mut write = self.begin().await?;
        if let Some(replayed) = write.replay(actor, "createComment", key).await? {
            return Ok(replayed);
        }
        let finding = self.visible(write.txn(), actor, finding_id).await?;
        if finding.published_at.is_none() {
            return Err(DomainError::Conflict(format!(
                "finding {finding_id} is {}: only published findings take comments",
                finding.status.as_str()
            )));
        }
        let text = clean_text("text", &text, MAX_COMMENT_CHARS)?;
        let row = comment::ActiveModel {
            finding_id: Set(finding_id),
            account_id: Set(author),
            text: Set(text.clone()),
            created_at: Set(write.now()),
            hidden_at: Set(None),
            hidden_reason: Set(None),
            version: Set(1),
            ..Default::default()
        }
        .insert(write.txn())
        .await?;
        let personal = write.personal(author, &text).await?;
        write.record(actor, "comment.create", "finding", finding_id, None, Some(snapshot(&row, &personal))).await?;
        let view = views(write.txn(), actor, vec![row]).await?.remove(0);
        write.remember(actor, "createComment", key, &view).await?;
        write.commit().await?;
        Ok(view)
    }

    /// A page of a finding's comments, oldest first, as this actor may see them (a draft's
    /// comments are 404 to those who may not see the draft).
    pub async fn comments(
        &self,
        actor: &Actor,
        finding_id: i64,
        cursor: Option<&str>,
        limit: Limit,
    ) -> Result<Page<CommentView>, DomainError> {
        self.visible(&self.db, actor, finding_id).await?;
        let query = comment::Entity::find().filter(comment::Column::FindingId.eq(finding_id));
        let page = by_key(&self.db, query, comment::Column::Id, |row| row.id, "comments", cursor, limit).await?;
        let items = views(&self.db, actor, page.items).await?;
        Ok(Page { items, total: page.total, next: page.next })
    }

    /// A moderator hides a comment behind a public marker (`hide` is the reason) or shows it
    /// again (`None`). Officers of the scrutinised body never moderate comments on its
    /// findings, whatever other roles they hold.
    pub async fn moderate_comment(
        &self,
        actor: &Actor,
        comment_id: i64,
        hide: Option<String>,
    ) -> Result<CommentView, DomainError> {
        if !(actor.has(Role::Moderator) || actor.is_admin()) {
            return Err(DomainError::Forbidden("only moderators hide or show comments".into()));
        }
        let mut write = self.begin().await?;
        let row = comment::Entity::find_by_id(comment_id)
            .one(write.txn())
            .await?
            .ok_or_else(|| DomainError::NotFound(format!("comment {comment_id}")))?;
        let finding = self
            .visible(write.txn(), actor, row.finding_id)
            .await
            .map_err(|_| DomainError::NotFound(format!("comment {comment_id}")))?;
        if answers_for(actor, &finding) {
            return Err(DomainError::Forbidden(format!(
                "officers of organization {} do not moderate comments on findings about it",
                finding.target_organization_id
            )));
        }
        let reason = hide.as_deref().map(|r| clean_text("reason", r, MAX_HIDE_REASON_CHARS)).transpose()?;
        if reason.is_none() && row.hidden_at.is_none() {
            return Err(DomainError::Conflict(format!("comment {comment_id} is not hidden")));
        }
        let now = write.now();
        let mut active = row.clone().into_active_model();
        active.hidden_at = Set(reason.as_ref().map(|_| now));
        active.hidden_reason = Set(reason.clone());
        active.version = Set(row.version + 1);
        let after = active.update(write.txn()).await?;
        let personal = write.personal(row.account_id, &row.text).await?;
        let action = if reason.is_some() { "comment.hide" } else { "comment.unhide" };
        write
            .record(
                actor,
                action,
                "finding",
                row.finding_id,
                Some(snapshot(&row, &personal)),
                Some(snapshot(&after, &personal)),
            )
            .await?;
        let view = views(write.txn(), actor, vec![after]).await?.remove(0);
        write.commit().await?;
        Ok(view)
    }
}

/// Whether the actor's account answers for the finding's body (its target or, after an
/// escalation, the parent body). The operator answers for no one here.
fn answers_for(actor: &Actor, finding: &finding::Model) -> bool {
    let Actor::Account(principal) = actor else { return false };
    principal.has(Role::BodyOfficer)
        && principal.organization_id.is_some_and(|org| {
            org == finding.target_organization_id || Some(org) == finding.escalated_to_organization_id
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_is_trimmed_bounded_and_free_of_control_characters() {
        assert_eq!(clean_text("text", "  Хорошо  \n", 10).unwrap(), "Хорошо");
        assert_eq!(clean_text("text", "a\nb\tc", 10).unwrap(), "a\nb\tc");
        for bad in ["", "   ", "abcdefghijk", "a\u{0}b", "a\u{7}b"] {
            match clean_text("text", bad, 10) {
                Err(DomainError::Invalid { field, .. }) => assert_eq!(field, "text"),
                other => panic!("{bad:?}: {other:?}"),
            }
        }
        assert!(clean_text("text", &"ж".repeat(10), 10).is_ok(), "characters, not bytes");
    }
}
