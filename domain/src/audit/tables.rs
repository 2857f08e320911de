//! The stored shape of the audit log.

/// One event: a leaf of the Merkle tree and a link of the hash chain.
pub mod audit_event {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "audit_events")]
    pub struct Model {
        /// The leaf index: 0 for the first event.
        #[sea_orm(primary_key, auto_increment = false)]
        pub seq: i64,
        pub recorded_at: DateTimeUtc,
        pub actor_account_id: Option<i64>,
        pub actor: String,
        pub action: String,
        pub object_type: String,
        pub object_id: String,
        /// The exact bytes hashed.
        pub entry: String,
        /// SHA-256 (hex) of `entry`.
        pub hash: String,
        /// SHA-256(0x00 ‖ entry) (hex).
        pub leaf_hash: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// The log's one-row head: its size and last hash. Every write locks it first, which
/// serialises appends on PostgreSQL and takes SQLite's write lock before anything is read.
pub mod audit_head {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "audit_head")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: i32,
        pub size: i64,
        pub last_hash: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Personal data an event refers to by salted hash, kept beside the log so that it can be
/// erased without touching a leaf.
pub mod audit_personal_data {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "audit_personal_data")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub subject_account_id: Option<i64>,
        pub salt: Option<String>,
        pub value: Option<String>,
        pub erased_at: Option<DateTimeUtc>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// A stored response to a creating request, replayed when its key comes again.
pub mod idempotency_key {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "idempotency_keys")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub caller: String,
        pub key: String,
        pub operation: String,
        pub request_hash: String,
        pub response: String,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
