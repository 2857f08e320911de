//! The stored shape of findings and what hangs off them.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// Where a finding is in the workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(24))")]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Being written; seen only by its filers (and admins).
    #[sea_orm(string_value = "draft")]
    Draft,
    /// Published: public control is under way.
    #[sea_orm(string_value = "in_progress")]
    InProgress,
    /// The final document is fixed and must reach the body within 7 working days.
    #[sea_orm(string_value = "completed")]
    Completed,
    /// The body has it and owes an answer to each recommendation within 10 working days.
    #[sea_orm(string_value = "delivered")]
    Delivered,
    /// Every recommendation has its answer.
    #[sea_orm(string_value = "answered")]
    Answered,
    /// The filers closed it.
    #[sea_orm(string_value = "closed")]
    Closed,
    /// The filers withdrew it before completing it.
    #[sea_orm(string_value = "withdrawn")]
    Withdrawn,
}

impl Status {
    pub const ALL: [Status; 7] = [
        Status::Draft,
        Status::InProgress,
        Status::Completed,
        Status::Delivered,
        Status::Answered,
        Status::Closed,
        Status::Withdrawn,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Draft => "draft",
            Status::InProgress => "in_progress",
            Status::Completed => "completed",
            Status::Delivered => "delivered",
            Status::Answered => "answered",
            Status::Closed => "closed",
            Status::Withdrawn => "withdrawn",
        }
    }
}

/// The form of public control (Law No. 30-VIII).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(24))")]
#[serde(rename_all = "snake_case")]
pub enum Form {
    #[sea_orm(string_value = "monitoring")]
    Monitoring,
    #[sea_orm(string_value = "hearing")]
    Hearing,
    #[sea_orm(string_value = "expertise")]
    Expertise,
    /// Hearing a report of a state body or quasi-public entity.
    #[sea_orm(string_value = "report_hearing")]
    ReportHearing,
}

/// Why public control was started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(24))")]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    #[sea_orm(string_value = "red_flag")]
    RedFlag,
    #[sea_orm(string_value = "media")]
    Media,
    #[sea_orm(string_value = "citizen_request")]
    CitizenRequest,
    #[sea_orm(string_value = "plan")]
    Plan,
}

/// Who filed a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "snake_case")]
pub enum FilerKind {
    /// A public council, through its members.
    #[sea_orm(string_value = "council")]
    Council,
    #[sea_orm(string_value = "citizen")]
    Citizen,
    #[sea_orm(string_value = "ngo")]
    Ngo,
}

/// A body's answer to one recommendation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(24))")]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    #[sea_orm(string_value = "accepted")]
    Accepted,
    #[sea_orm(string_value = "partially_accepted")]
    PartiallyAccepted,
    #[sea_orm(string_value = "declined")]
    Declined,
}

impl Decision {
    /// Accepted wholly or in part: measures and a date are owed, and followed up.
    pub fn accepts(self) -> bool {
        matches!(self, Decision::Accepted | Decision::PartiallyAccepted)
    }
}

/// Which body answers: the one scrutinised, or its parent after an escalation.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "snake_case")]
pub enum Level {
    #[sea_orm(string_value = "target")]
    Target,
    #[sea_orm(string_value = "escalation")]
    Escalation,
}

/// What the filers judged of a body's report on an accepted recommendation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(24))")]
#[serde(rename_all = "snake_case")]
pub enum ImplementationResult {
    #[sea_orm(string_value = "implemented")]
    Implemented,
    #[sea_orm(string_value = "not_implemented")]
    NotImplemented,
}

/// What a request for public control came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "snake_case")]
pub enum RequestStatus {
    #[sea_orm(string_value = "pending")]
    Pending,
    #[sea_orm(string_value = "accepted")]
    Accepted,
    #[sea_orm(string_value = "declined")]
    Declined,
}

/// A scrutiny finding.
pub mod finding {
    use sea_orm::entity::prelude::*;

    use super::{FilerKind, Form, Reason, Status};

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "findings")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub status: Status,
        pub filer_kind: FilerKind,
        pub council_id: Option<i64>,
        /// The account that filed it (for a council, the member who opened it).
        pub filer_account_id: i64,
        pub target_organization_id: i64,
        pub form: Form,
        pub reason: Reason,
        pub title_ru: Option<String>,
        pub title_kk: Option<String>,
        pub title_en: Option<String>,
        pub summary_ru: Option<String>,
        pub summary_kk: Option<String>,
        pub summary_en: Option<String>,
        pub period_from: Option<Date>,
        pub period_to: Option<Date>,
        /// A JSON array of texts.
        pub facts: String,
        pub request_id: Option<i64>,
        /// The red flag the finding was opened from (reason `red_flag`).
        pub red_flag_id: Option<i64>,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
        pub published_at: Option<DateTimeUtc>,
        pub completed_at: Option<DateTimeUtc>,
        pub delivered_at: Option<DateTimeUtc>,
        pub answered_at: Option<DateTimeUtc>,
        pub closed_at: Option<DateTimeUtc>,
        pub withdrawn_at: Option<DateTimeUtc>,
        pub deliver_by: Option<Date>,
        pub answer_due: Option<Date>,
        pub calendar_version: Option<String>,
        pub escalated_at: Option<DateTimeUtc>,
        pub escalated_to_organization_id: Option<i64>,
        pub escalation_due: Option<Date>,
        pub escalation_answered_at: Option<DateTimeUtc>,
        pub deliver_passed_at: Option<DateTimeUtc>,
        pub answer_passed_at: Option<DateTimeUtc>,
        pub escalation_passed_at: Option<DateTimeUtc>,
        pub hidden_at: Option<DateTimeUtc>,
        pub hidden_reason: Option<String>,
        pub version: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// A record a finding names: a tender, contract, payment or decision.
pub mod finding_link {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "finding_links")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub finding_id: i64,
        #[sea_orm(primary_key, auto_increment = false)]
        pub record_type: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub record_id: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// A numbered recommendation, with the follow-up of its implementation.
pub mod recommendation {
    use sea_orm::entity::prelude::*;

    use super::ImplementationResult;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "finding_recommendations")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub finding_id: i64,
        #[sea_orm(primary_key, auto_increment = false)]
        pub number: i32,
        pub text: String,
        pub implementation_report: Option<String>,
        pub implementation_reported_at: Option<DateTimeUtc>,
        pub implementation_result: Option<ImplementationResult>,
        pub implementation_reason: Option<String>,
        pub implementation_assessed_at: Option<DateTimeUtc>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// A body's answer to one recommendation.
pub mod response {
    use sea_orm::entity::prelude::*;

    use super::{Decision, Level};

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "finding_responses")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub finding_id: i64,
        pub number: i32,
        pub level: Level,
        pub organization_id: i64,
        pub account_id: i64,
        pub decision: Decision,
        pub reasoning: String,
        pub measures: Option<String>,
        pub implement_by: Option<Date>,
        pub answered_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// A hearing a body offers before it declines a recommendation.
pub mod hearing {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "finding_hearings")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub finding_id: i64,
        pub organization_id: i64,
        pub account_id: i64,
        pub starts_at: DateTimeUtc,
        pub place: Option<String>,
        pub link: Option<String>,
        pub announced_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// A file attached to a finding, stored on disk by its SHA-256.
pub mod attachment {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "finding_attachments")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub finding_id: i64,
        pub sha256: String,
        pub name: String,
        pub media_type: String,
        pub size: i64,
        pub account_id: i64,
        pub uploaded_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// A comment on a published finding.
pub mod comment {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "finding_comments")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub finding_id: i64,
        pub account_id: i64,
        pub text: String,
        pub created_at: DateTimeUtc,
        pub hidden_at: Option<DateTimeUtc>,
        pub hidden_reason: Option<String>,
        pub version: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// A citizen's or non-profit's request to a council for public control.
pub mod control_request {
    use sea_orm::entity::prelude::*;

    use super::RequestStatus;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "control_requests")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub council_id: i64,
        pub requester_account_id: i64,
        pub target_organization_id: Option<i64>,
        pub text: String,
        pub status: RequestStatus,
        pub created_at: DateTimeUtc,
        pub decided_at: Option<DateTimeUtc>,
        pub decided_by_account_id: Option<i64>,
        pub decline_reason: Option<String>,
        pub finding_id: Option<i64>,
        pub version: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
