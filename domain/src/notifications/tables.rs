//! The stored shape of the outbox.

/// A message to one person. It holds no address: the recipient's email and name are read
/// from their account when it is sent.
pub mod outbox_message {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "outbox_messages")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        /// What happened: `finding.delivered`, `hearing.offered`, `recommendation.answered`,
        /// `deadline.passed`, ...
        pub kind: String,
        pub recipient_account_id: i64,
        /// The finding the message is about, if any.
        pub finding_id: Option<i64>,
        pub subject: String,
        /// Plain text.
        pub body: String,
        pub created_at: DateTimeUtc,
        /// Attempts made so far, failed or not.
        pub attempts: i32,
        /// When the next attempt is due; pushed forward while a sender holds the message.
        pub next_attempt_at: DateTimeUtc,
        pub sent_at: Option<DateTimeUtc>,
        /// When the message was given up because its recipient was erased or disabled.
        pub dropped_at: Option<DateTimeUtc>,
        /// Why the last attempt failed, short and without credentials.
        pub last_error: Option<String>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
