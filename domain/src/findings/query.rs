//! Lists of findings and a finding's history.

use chrono::NaiveDate;
use sea_orm::sea_query::{Expr, ExprTrait, Func};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter};

use super::calendar::kazakhstan_date;
use super::service::Findings;
use super::tables::{FilerKind, Form, Reason, Status, finding, finding_link};
use super::view::{FindingView, LinkRef, views};
use crate::DomainError;
use crate::accounts::{Actor, Role};
use crate::audit::{self, EventFilter, EventView};
use crate::entities::organization;
use crate::pagination::{Limit, Page, by_key};

/// Which findings to list; every given filter must hold.
#[derive(Debug, Clone, Default)]
pub struct FindingFilter {
    pub target_organization_id: Option<i64>,
    /// The target's BIN.
    pub target_bin: Option<String>,
    pub council_id: Option<i64>,
    pub status: Option<Status>,
    pub form: Option<Form>,
    pub reason: Option<Reason>,
    pub filer_kind: Option<FilerKind>,
    pub overdue: Option<bool>,
    /// Filed on or after this day (Kazakhstan time).
    pub filed_from: Option<NaiveDate>,
    pub filed_to: Option<NaiveDate>,
    /// Words in the title or summary.
    pub q: Option<String>,
    /// Findings that link this record.
    pub record: Option<LinkRef>,
}

impl Findings {
    /// A page of the findings this actor may see, in id order.
    pub async fn list(
        &self,
        actor: &Actor,
        filter: &FindingFilter,
        cursor: Option<&str>,
        limit: Limit,
    ) -> Result<Page<FindingView>, DomainError> {
        let now = self.clock.now();
        let today = kazakhstan_date(now);
        let mut query = finding::Entity::find();
        if !actor.is_admin() {
            let mut visible = Condition::any().add(finding::Column::PublishedAt.is_not_null());
            if let Actor::Account(principal) = actor {
                visible = visible.add(
                    Condition::all()
                        .add(finding::Column::FilerKind.ne(FilerKind::Council))
                        .add(finding::Column::FilerAccountId.eq(principal.account_id)),
                );
                if principal.has(Role::CouncilMember) && !principal.councils.is_empty() {
                    visible = visible.add(
                        Condition::all()
                            .add(finding::Column::FilerKind.eq(FilerKind::Council))
                            .add(finding::Column::CouncilId.is_in(principal.councils.iter().copied())),
                    );
                }
            }
            query = query.filter(visible);
        }
        if let Some(id) = filter.target_organization_id {
            query = query.filter(finding::Column::TargetOrganizationId.eq(id));
        }
        if let Some(bin) = &filter.target_bin {
            let ids = organization::Entity::find()
                .filter(organization::Column::Bin.eq(bin.as_str()))
                .all(&self.db)
                .await?
                .into_iter()
                .map(|o| o.id);
            query = query.filter(finding::Column::TargetOrganizationId.is_in(ids));
        }
        if let Some(id) = filter.council_id {
            query = query.filter(finding::Column::CouncilId.eq(id));
        }
        if let Some(status) = filter.status {
            query = query.filter(finding::Column::Status.eq(status));
        }
        if let Some(form) = filter.form {
            query = query.filter(finding::Column::Form.eq(form));
        }
        if let Some(reason) = filter.reason {
            query = query.filter(finding::Column::Reason.eq(reason));
        }
        if let Some(kind) = filter.filer_kind {
            query = query.filter(finding::Column::FilerKind.eq(kind));
        }
        if let Some(overdue) = filter.overdue {
            // The same rule as `timeliness`: a due date has ended when today (in Kazakhstan)
            // is past it.
            let late = Condition::any()
                .add(
                    Condition::all()
                        .add(finding::Column::Status.eq(Status::Completed))
                        .add(finding::Column::DeliverBy.lt(today)),
                )
                .add(
                    Condition::all()
                        .add(finding::Column::Status.eq(Status::Delivered))
                        .add(finding::Column::AnswerDue.lt(today)),
                )
                .add(
                    Condition::all()
                        .add(finding::Column::EscalatedAt.is_not_null())
                        .add(finding::Column::EscalationAnsweredAt.is_null())
                        .add(finding::Column::Status.is_not_in([Status::Closed, Status::Withdrawn]))
                        .add(finding::Column::EscalationDue.lt(today)),
                );
            query = query.filter(if overdue { late } else { late.not() });
        }
        if let Some(from) = filter.filed_from {
            query =
                query.filter(finding::Column::CreatedAt.gte(super::calendar::end_of_day(from - chrono::Days::new(1))));
        }
        if let Some(to) = filter.filed_to {
            query = query.filter(finding::Column::CreatedAt.lt(super::calendar::end_of_day(to)));
        }
        if let Some(q) = &filter.q {
            let pattern = format!("%{}%", crate::db::escape_like(&q.to_lowercase()));
            let mut any = Condition::any();
            for column in [
                finding::Column::TitleRu,
                finding::Column::TitleKk,
                finding::Column::TitleEn,
                finding::Column::SummaryRu,
                finding::Column::SummaryKk,
                finding::Column::SummaryEn,
            ] {
                any = any.add(
                    Expr::expr(Func::lower(Expr::col(column)))
                        .like(sea_orm::sea_query::LikeExpr::new(pattern.clone()).escape('\\')),
                );
            }
            // A hidden finding's text is not searchable by the public.
            query = query.filter(any).filter(finding::Column::HiddenAt.is_null());
        }
        if let Some(record) = filter.record {
            let ids = finding_link::Entity::find()
                .filter(finding_link::Column::RecordType.eq(record.record_type.as_str()))
                .filter(finding_link::Column::RecordId.eq(record.record_id))
                .all(&self.db)
                .await?
                .into_iter()
                .map(|l| l.finding_id);
            query = query.filter(finding::Column::Id.is_in(ids));
        }
        let page = by_key(&self.db, query, finding::Column::Id, |row| row.id, "findings", cursor, limit).await?;
        let items = views(&self.db, actor, page.items, now).await?;
        Ok(Page { items, total: page.total, next: page.next })
    }

    /// Every event of a finding, oldest first, as the public audit log shows them.
    pub async fn history(
        &self,
        actor: &Actor,
        id: i64,
        cursor: Option<&str>,
        limit: Limit,
    ) -> Result<Page<EventView>, DomainError> {
        self.visible(&self.db, actor, id).await?;
        let filter = EventFilter { object_type: Some("finding".into()), object_id: Some(id.to_string()) };
        audit::events(&self.db, &filter, cursor, limit).await
    }
}

/// A finding as another record's detail names it.
#[derive(Debug, Clone, PartialEq)]
pub struct FindingRef {
    pub id: i64,
    pub status: super::tables::Status,
    pub target_organization_id: i64,
    pub title: crate::names::LocalizedName,
}

/// How many findings a record's detail names; the list filters give the rest.
pub const NAMED_IN_DETAIL: u64 = 50;

impl Findings {
    /// The published findings that link this record, newest first.
    pub async fn naming(&self, record: LinkRef) -> Result<Vec<FindingRef>, DomainError> {
        let ids = finding_link::Entity::find()
            .filter(finding_link::Column::RecordType.eq(record.record_type.as_str()))
            .filter(finding_link::Column::RecordId.eq(record.record_id))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|l| l.finding_id);
        self.refs(finding::Entity::find().filter(finding::Column::Id.is_in(ids))).await
    }

    /// The published findings opened from this red flag, newest first.
    pub async fn opened_from(&self, red_flag_id: i64) -> Result<Vec<FindingRef>, DomainError> {
        self.refs(finding::Entity::find().filter(finding::Column::RedFlagId.eq(red_flag_id))).await
    }

    /// The published findings against this organization, newest first.
    pub async fn against(&self, organization_id: i64) -> Result<Vec<FindingRef>, DomainError> {
        self.refs(finding::Entity::find().filter(finding::Column::TargetOrganizationId.eq(organization_id))).await
    }

    async fn refs(&self, query: sea_orm::Select<finding::Entity>) -> Result<Vec<FindingRef>, DomainError> {
        use sea_orm::{QueryOrder, QuerySelect};
        let rows = query
            .filter(finding::Column::PublishedAt.is_not_null())
            .order_by_desc(finding::Column::Id)
            .limit(NAMED_IN_DETAIL)
            .all(&self.db)
            .await?;
        Ok(views(&self.db, &Actor::Anonymous, rows, self.clock.now())
            .await?
            .into_iter()
            .map(|view| FindingRef {
                id: view.id,
                status: view.status,
                target_organization_id: view.target_organization_id,
                title: view.title,
            })
            .collect())
    }
}
