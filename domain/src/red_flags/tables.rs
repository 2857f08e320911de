//! The stored shape of red flags, of what each indicator could judge, and of the refresh state.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// What a flag is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(24))")]
#[serde(rename_all = "snake_case")]
pub enum SubjectKind {
    /// A contracting process (a tender, or a contract signed without one), by ocid.
    #[sea_orm(string_value = "process")]
    Process,
    #[sea_orm(string_value = "buyer")]
    Buyer,
    #[sea_orm(string_value = "procuring_entity")]
    ProcuringEntity,
    /// A bidder or supplier.
    #[sea_orm(string_value = "tenderer")]
    Tenderer,
    #[sea_orm(string_value = "contract")]
    Contract,
}

impl SubjectKind {
    pub const ALL: [SubjectKind; 5] = [
        SubjectKind::Process,
        SubjectKind::Buyer,
        SubjectKind::ProcuringEntity,
        SubjectKind::Tenderer,
        SubjectKind::Contract,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SubjectKind::Process => "process",
            SubjectKind::Buyer => "buyer",
            SubjectKind::ProcuringEntity => "procuring_entity",
            SubjectKind::Tenderer => "tenderer",
            SubjectKind::Contract => "contract",
        }
    }
}

/// How much a flag weighs: set per indicator, and documented with it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(8))")]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    #[sea_orm(string_value = "low")]
    Low,
    #[sea_orm(string_value = "medium")]
    Medium,
    #[sea_orm(string_value = "high")]
    High,
}

impl Severity {
    pub const ALL: [Severity; 3] = [Severity::Low, Severity::Medium, Severity::High];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
        }
    }
}

pub mod red_flag {
    use sea_orm::entity::prelude::*;

    use super::{Severity, SubjectKind};

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "red_flags")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub indicator: String,
        pub subject_kind: SubjectKind,
        pub subject_key: String,
        pub ocid: Option<String>,
        pub tender_id: Option<i64>,
        pub contract_id: Option<i64>,
        pub buyer_id: Option<i64>,
        pub supplier_id: Option<i64>,
        pub region_kato: Option<String>,
        pub observed_on: Date,
        pub severity: Severity,
        /// Decimal text.
        pub value: String,
        /// A JSON object.
        pub evidence: String,
        pub first_raised_at: DateTimeUtc,
        pub computed_at: DateTimeUtc,
        pub cleared_at: Option<DateTimeUtc>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod indicator_coverage {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "indicator_coverage")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub indicator: String,
        pub evaluated: i64,
        /// A JSON object: reason → count.
        pub not_applicable: String,
        pub flags: i64,
        /// A JSON object: setting → value.
        pub settings: String,
        pub computed_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod red_flag_state {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "red_flag_state")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: i32,
        pub last_change_id: i64,
        pub settings_sha256: String,
        pub refreshed_at: DateTimeUtc,
        /// The currency cardinal's amount-comparing indicators compared in, once one was met:
        /// an incremental refresh keeps it, as a full one over the same data would.
        pub main_currency: Option<String>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod indicator_digest {
    use sea_orm::entity::prelude::*;

    /// What the indicators took from one process or one buyer, to start an incremental refresh from.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "indicator_digests")]
    pub struct Model {
        /// `tender` or `direct` (a process, by its defining record), or `buyer`.
        #[sea_orm(primary_key, auto_increment = false)]
        pub scope: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub record_id: i64,
        /// JSON the indicators crate writes and reads.
        pub digest: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
