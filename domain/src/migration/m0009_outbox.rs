//! The outbox: messages to people, kept until sent.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0009_outbox"
    }
}

fn index(table: &'static str, columns: &[&'static str]) -> IndexCreateStatement {
    let mut statement = Index::create();
    statement.name(format!("ix_{table}_{}", columns.join("_"))).table(table);
    for column in columns {
        statement.col(*column);
    }
    statement.to_owned()
}

fn tables() -> Vec<(TableCreateStatement, Vec<IndexCreateStatement>)> {
    let messages = Table::create()
        .table("outbox_messages")
        .col(big_pk_auto("id"))
        // What happened: `finding.delivered`, `hearing.offered`, `deadline.passed`, ...
        .col(text("kind"))
        // No address is kept: it is read from the account when the message is sent, so an
        // erased person's address is nowhere in the outbox.
        .col(big_integer("recipient_account_id"))
        // Findings are in another migration's table; the id alone is enough to list them.
        .col(big_integer_null("finding_id"))
        .col(text("subject"))
        .col(text("body"))
        .col(timestamp_with_time_zone("created_at"))
        .col(integer("attempts").default(0))
        // Also pushed forward while a sender holds the message (its claim).
        .col(timestamp_with_time_zone("next_attempt_at"))
        .col(timestamp_with_time_zone_null("sent_at"))
        // Set instead of sending when the recipient was erased or disabled.
        .col(timestamp_with_time_zone_null("dropped_at"))
        .col(text_null("last_error"))
        .foreign_key(ForeignKey::create().from("outbox_messages", "recipient_account_id").to("accounts", "id"))
        .to_owned();

    vec![(
        messages,
        vec![
            // The sender's lookup: neither sent nor dropped, due by now.
            index("outbox_messages", &["sent_at", "dropped_at", "next_attempt_at"]),
            index("outbox_messages", &["finding_id"]),
            index("outbox_messages", &["recipient_account_id"]),
        ],
    )]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (table, indexes) in tables() {
            manager.create_table(table).await?;
            for index in indexes {
                manager.create_index(index).await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (table, _) in tables().into_iter().rev() {
            let name = table.get_table_name().cloned().expect("tables are named");
            manager.drop_table(Table::drop().table(name).to_owned()).await?;
        }
        Ok(())
    }
}
