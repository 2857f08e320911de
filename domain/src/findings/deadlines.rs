//! Deadlines over time: a due date that passes is recorded once, as an event in the finding's
//! history and a message to the people concerned; a new calendar version that moves an open
//! due date recomputes it, also as an event.

use sea_orm::{ActiveModelTrait, ColumnTrait, Condition, EntityTrait, IntoActiveModel, QueryFilter, Set};
use serde_json::json;

use super::calendar::{end_of_day, kazakhstan_date};
use super::service::{
    ANSWER_WITHIN, DELIVER_WITHIN, ESCALATION_ANSWER_WITHIN, Findings, filers_of, messages, officers_of, title_of,
};
use super::tables::{Status, finding};
use crate::DomainError;
use crate::accounts::Actor;
use crate::notifications;

/// Which due date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Term {
    Deliver,
    Answer,
    Escalation,
}

impl Term {
    fn name(self) -> &'static str {
        match self {
            Term::Deliver => "deliver_by",
            Term::Answer => "answer_due",
            Term::Escalation => "escalation.answer_due",
        }
    }
}

impl Findings {
    /// Records every due date that has passed since the last sweep with its step not taken;
    /// returns how many. `serve` runs this every `deadline_sweep_seconds`.
    pub async fn record_passed_deadlines(&self) -> Result<usize, DomainError> {
        let actor = Actor::System("deadlines");
        let now = self.clock.now();
        let today = kazakhstan_date(now);
        let candidates = finding::Entity::find()
            .filter(
                Condition::any()
                    .add(
                        Condition::all()
                            .add(finding::Column::Status.eq(Status::Completed))
                            .add(finding::Column::DeliverPassedAt.is_null())
                            .add(finding::Column::DeliverBy.lt(today)),
                    )
                    .add(
                        Condition::all()
                            .add(finding::Column::Status.eq(Status::Delivered))
                            .add(finding::Column::AnswerPassedAt.is_null())
                            .add(finding::Column::AnswerDue.lt(today)),
                    )
                    .add(
                        Condition::all()
                            .add(finding::Column::EscalatedAt.is_not_null())
                            .add(finding::Column::EscalationAnsweredAt.is_null())
                            .add(finding::Column::EscalationPassedAt.is_null())
                            .add(finding::Column::Status.is_not_in([Status::Closed, Status::Withdrawn]))
                            .add(finding::Column::EscalationDue.lt(today)),
                    ),
            )
            .all(&self.db)
            .await?;
        let mut recorded = 0;
        for candidate in candidates {
            // Each finding on its own: one that fails is logged and retried by the next sweep,
            // and the others are recorded.
            let outcome = async {
                let mut recorded = 0;
                let mut write = self.begin().await?;
                // Read again under the write lock: another sweep may have recorded it.
                let Some(row) = finding::Entity::find_by_id(candidate.id).one(write.txn()).await? else { return Ok(0) };
                let passed = |due: Option<chrono::NaiveDate>| due.is_some_and(|due| now >= end_of_day(due));
                let mut terms = Vec::new();
                if row.status == Status::Completed && row.deliver_passed_at.is_none() && passed(row.deliver_by) {
                    terms.push((Term::Deliver, row.deliver_by));
                }
                if row.status == Status::Delivered && row.answer_passed_at.is_none() && passed(row.answer_due) {
                    terms.push((Term::Answer, row.answer_due));
                }
                if row.escalated_at.is_some()
                    && row.escalation_answered_at.is_none()
                    && row.escalation_passed_at.is_none()
                    && !matches!(row.status, Status::Closed | Status::Withdrawn)
                    && passed(row.escalation_due)
                {
                    terms.push((Term::Escalation, row.escalation_due));
                }
                if terms.is_empty() {
                    return Ok(0);
                }
                let mut active = row.clone().into_active_model();
                for (term, due) in &terms {
                    match term {
                        Term::Deliver => active.deliver_passed_at = Set(Some(now)),
                        Term::Answer => active.answer_passed_at = Set(Some(now)),
                        Term::Escalation => active.escalation_passed_at = Set(Some(now)),
                    }
                    let due = due.map(|d| d.to_string()).unwrap_or_default();
                    write
                        .record(
                            &actor,
                            "finding.deadline_passed",
                            "finding",
                            row.id,
                            None,
                            Some(json!({ "deadline": term.name(), "due": due, "status": row.status.as_str() })),
                        )
                        .await?;
                    let mut recipients = filers_of(write.txn(), &row).await?;
                    let owner = match term {
                        Term::Deliver => None,
                        Term::Answer => Some(row.target_organization_id),
                        Term::Escalation => row.escalated_to_organization_id,
                    };
                    if let Some(owner) = owner {
                        recipients.extend(officers_of(write.txn(), owner).await?);
                    }
                    let outbox = messages(
                        "deadline.passed",
                        recipients,
                        &row,
                        format!("Срок истёк: {}", title_of(&row)),
                        format!(
                            "The term {} of finding {} (\"{}\") ended on {due} with its step not taken.",
                            term.name(),
                            row.id,
                            title_of(&row)
                        ),
                    );
                    notifications::enqueue(write.txn(), now, outbox).await?;
                    recorded += 1;
                }
                active.update(write.txn()).await?;
                write.commit().await?;
                Ok::<usize, DomainError>(recorded)
            }
            .await;
            match outcome {
                Ok(count) => recorded += count,
                Err(error) => {
                    tracing::error!(finding = candidate.id, error = %error, "recording a passed due date failed")
                }
            }
        }
        Ok(recorded)
    }

    /// Counts every open due date again on the calendar version in effect; a due date that
    /// moves is updated and recorded. Returns how many findings changed. `serve` runs this at
    /// start, so a new calendar file takes effect with the next start.
    pub async fn recompute_deadlines(&self) -> Result<usize, DomainError> {
        let actor = Actor::System("calendar");
        let current = self.calendar.in_effect(kazakhstan_date(self.clock.now())).id().to_owned();
        let open = finding::Entity::find()
            .filter(finding::Column::Status.is_in([Status::Completed, Status::Delivered, Status::Answered]))
            .filter(finding::Column::CalendarVersion.ne(current.as_str()))
            .all(&self.db)
            .await?;
        let mut changed = 0;
        for row in open {
            let mut write = self.begin().await?;
            let Some(row) = finding::Entity::find_by_id(row.id).one(write.txn()).await? else { continue };
            let mut after = row.clone();
            if row.status == Status::Completed
                && let Some(at) = row.completed_at
            {
                after.deliver_by = Some(self.due_after(at, DELIVER_WITHIN)?.0);
            }
            if row.status == Status::Delivered
                && let Some(at) = row.delivered_at
            {
                after.answer_due = Some(self.due_after(at, ANSWER_WITHIN)?.0);
            }
            if row.escalation_answered_at.is_none()
                && let Some(at) = row.escalated_at
            {
                after.escalation_due = Some(self.due_after(at, ESCALATION_ANSWER_WITHIN)?.0);
            }
            after.calendar_version = Some(current.clone());
            let moved = (after.deliver_by, after.answer_due, after.escalation_due)
                != (row.deliver_by, row.answer_due, row.escalation_due);
            let mut active = after.clone().into_active_model();
            active.deliver_by = Set(after.deliver_by);
            active.answer_due = Set(after.answer_due);
            active.escalation_due = Set(after.escalation_due);
            // A due date that moved passes anew: the sweep records it again at its new end.
            if after.deliver_by != row.deliver_by {
                active.deliver_passed_at = Set(None);
            }
            if after.answer_due != row.answer_due {
                active.answer_passed_at = Set(None);
            }
            if after.escalation_due != row.escalation_due {
                active.escalation_passed_at = Set(None);
            }
            active.calendar_version = Set(after.calendar_version.clone());
            if moved {
                active.version = Set(row.version + 1);
                active.updated_at = Set(write.now());
                let dates = |r: &finding::Model| {
                    json!({
                        "deliver_by": r.deliver_by, "answer_due": r.answer_due,
                        "escalation_due": r.escalation_due, "calendar_version": r.calendar_version,
                    })
                };
                write
                    .record(
                        &actor,
                        "finding.deadline_recomputed",
                        "finding",
                        row.id,
                        Some(dates(&row)),
                        Some(dates(&after)),
                    )
                    .await?;
                changed += 1;
            }
            active.update(write.txn()).await?;
            write.commit().await?;
        }
        Ok(changed)
    }
}
