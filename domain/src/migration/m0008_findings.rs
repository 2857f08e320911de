//! Scrutiny findings and what hangs off them: linked records, numbered recommendations with
//! their answers and follow-up, hearings, attachments, comments, and citizens' requests for
//! public control.

use sea_orm::{ConnectionTrait, DbBackend};
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0008_findings"
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
    let requests = Table::create()
        .table("control_requests")
        .col(big_pk_auto("id"))
        .col(big_integer("council_id"))
        .col(big_integer("requester_account_id"))
        .col(big_integer_null("target_organization_id"))
        .col(text("text"))
        // pending, accepted or declined
        .col(string_len("status", 16))
        .col(timestamp_with_time_zone("created_at"))
        .col(timestamp_with_time_zone_null("decided_at"))
        .col(big_integer_null("decided_by_account_id"))
        .col(text_null("decline_reason"))
        .col(big_integer_null("finding_id"))
        .col(big_integer("version").default(1))
        .foreign_key(ForeignKey::create().from("control_requests", "council_id").to("councils", "id"))
        .foreign_key(ForeignKey::create().from("control_requests", "requester_account_id").to("accounts", "id"))
        .foreign_key(ForeignKey::create().from("control_requests", "target_organization_id").to("organizations", "id"))
        .to_owned();

    let findings = Table::create()
        .table("findings")
        .col(big_pk_auto("id"))
        .col(string_len("status", 24))
        // council, citizen or ngo
        .col(string_len("filer_kind", 16))
        .col(big_integer_null("council_id"))
        .col(big_integer("filer_account_id"))
        .col(big_integer("target_organization_id"))
        .col(string_len("form", 24))
        .col(string_len("reason", 24))
        .col(text_null("title_ru"))
        .col(text_null("title_kk"))
        .col(text_null("title_en"))
        .col(text_null("summary_ru"))
        .col(text_null("summary_kk"))
        .col(text_null("summary_en"))
        .col(date_null("period_from"))
        .col(date_null("period_to"))
        // A JSON array of texts: the facts found.
        .col(text("facts"))
        .col(big_integer_null("request_id"))
        .col(timestamp_with_time_zone("created_at"))
        .col(timestamp_with_time_zone("updated_at"))
        .col(timestamp_with_time_zone_null("published_at"))
        .col(timestamp_with_time_zone_null("completed_at"))
        .col(timestamp_with_time_zone_null("delivered_at"))
        .col(timestamp_with_time_zone_null("answered_at"))
        .col(timestamp_with_time_zone_null("closed_at"))
        .col(timestamp_with_time_zone_null("withdrawn_at"))
        .col(date_null("deliver_by"))
        .col(date_null("answer_due"))
        // The calendar version the due dates were counted on.
        .col(string_len_null("calendar_version", 32))
        .col(timestamp_with_time_zone_null("escalated_at"))
        .col(big_integer_null("escalated_to_organization_id"))
        .col(date_null("escalation_due"))
        .col(timestamp_with_time_zone_null("escalation_answered_at"))
        // When the sweep recorded each deadline's passing (each is recorded once).
        .col(timestamp_with_time_zone_null("deliver_passed_at"))
        .col(timestamp_with_time_zone_null("answer_passed_at"))
        .col(timestamp_with_time_zone_null("escalation_passed_at"))
        .col(timestamp_with_time_zone_null("hidden_at"))
        .col(text_null("hidden_reason"))
        .col(big_integer("version").default(1))
        .foreign_key(ForeignKey::create().from("findings", "council_id").to("councils", "id"))
        .foreign_key(ForeignKey::create().from("findings", "filer_account_id").to("accounts", "id"))
        .foreign_key(ForeignKey::create().from("findings", "target_organization_id").to("organizations", "id"))
        .foreign_key(ForeignKey::create().from("findings", "escalated_to_organization_id").to("organizations", "id"))
        .foreign_key(ForeignKey::create().from("findings", "request_id").to("control_requests", "id"))
        .to_owned();

    let links = Table::create()
        .table("finding_links")
        .col(big_integer("finding_id"))
        // tender, contract, payment or decision
        .col(string_len("record_type", 16))
        .col(big_integer("record_id"))
        .primary_key(Index::create().col("finding_id").col("record_type").col("record_id"))
        .foreign_key(ForeignKey::create().from("finding_links", "finding_id").to("findings", "id"))
        .to_owned();

    let recommendations = Table::create()
        .table("finding_recommendations")
        .col(big_integer("finding_id"))
        .col(integer("number"))
        .col(text("text"))
        .col(text_null("implementation_report"))
        .col(timestamp_with_time_zone_null("implementation_reported_at"))
        // implemented or not_implemented, as the filer judged it
        .col(string_len_null("implementation_result", 24))
        .col(text_null("implementation_reason"))
        .col(timestamp_with_time_zone_null("implementation_assessed_at"))
        .primary_key(Index::create().col("finding_id").col("number"))
        .foreign_key(ForeignKey::create().from("finding_recommendations", "finding_id").to("findings", "id"))
        .to_owned();

    let responses = Table::create()
        .table("finding_responses")
        .col(big_pk_auto("id"))
        .col(big_integer("finding_id"))
        .col(integer("number"))
        // target (the body scrutinised) or escalation (its parent body)
        .col(string_len("level", 16))
        .col(big_integer("organization_id"))
        .col(big_integer("account_id"))
        .col(string_len("decision", 24))
        .col(text("reasoning"))
        .col(text_null("measures"))
        .col(date_null("implement_by"))
        .col(timestamp_with_time_zone("answered_at"))
        .foreign_key(ForeignKey::create().from("finding_responses", "finding_id").to("findings", "id"))
        .foreign_key(ForeignKey::create().from("finding_responses", "organization_id").to("organizations", "id"))
        .foreign_key(ForeignKey::create().from("finding_responses", "account_id").to("accounts", "id"))
        .to_owned();

    let hearings = Table::create()
        .table("finding_hearings")
        .col(big_pk_auto("id"))
        .col(big_integer("finding_id"))
        .col(big_integer("organization_id"))
        .col(big_integer("account_id"))
        .col(timestamp_with_time_zone("starts_at"))
        .col(text_null("place"))
        .col(text_null("link"))
        .col(timestamp_with_time_zone("announced_at"))
        .foreign_key(ForeignKey::create().from("finding_hearings", "finding_id").to("findings", "id"))
        .foreign_key(ForeignKey::create().from("finding_hearings", "organization_id").to("organizations", "id"))
        .to_owned();

    let attachments = Table::create()
        .table("finding_attachments")
        .col(big_pk_auto("id"))
        .col(big_integer("finding_id"))
        .col(string_len("sha256", 64))
        .col(text("name"))
        .col(string_len("media_type", 128))
        .col(big_integer("size"))
        .col(big_integer("account_id"))
        .col(timestamp_with_time_zone("uploaded_at"))
        .foreign_key(ForeignKey::create().from("finding_attachments", "finding_id").to("findings", "id"))
        .to_owned();

    let comments = Table::create()
        .table("finding_comments")
        .col(big_pk_auto("id"))
        .col(big_integer("finding_id"))
        .col(big_integer("account_id"))
        .col(text("text"))
        .col(timestamp_with_time_zone("created_at"))
        .col(timestamp_with_time_zone_null("hidden_at"))
        .col(text_null("hidden_reason"))
        .col(big_integer("version").default(1))
        .foreign_key(ForeignKey::create().from("finding_comments", "finding_id").to("findings", "id"))
        .foreign_key(ForeignKey::create().from("finding_comments", "account_id").to("accounts", "id"))
        .to_owned();

    vec![
        (
            requests,
            vec![
                index("control_requests", &["council_id", "id"]),
                index("control_requests", &["requester_account_id"]),
            ],
        ),
        (
            findings,
            vec![
                index("findings", &["target_organization_id", "id"]),
                index("findings", &["council_id", "id"]),
                index("findings", &["status", "id"]),
                index("findings", &["filer_account_id"]),
            ],
        ),
        // A record's detail finds the findings that name it.
        (links, vec![index("finding_links", &["record_type", "record_id"])]),
        (recommendations, vec![]),
        (responses, vec![index("finding_responses", &["finding_id", "number", "level"]).unique().to_owned()]),
        (hearings, vec![index("finding_hearings", &["finding_id"])]),
        (attachments, vec![index("finding_attachments", &["finding_id"])]),
        (comments, vec![index("finding_comments", &["finding_id", "id"])]),
    ]
}

/// Published findings join the change feed (m0003's triggers, with the same rules); a
/// finding never published is nobody's business but its filers', so its rows stay out, and
/// it first appears in the feed when published, as `updated`.
fn feed_triggers(backend: DbBackend) -> Vec<String> {
    const NOW: &str = "strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now')";
    match backend {
        DbBackend::Postgres => vec![
            "CREATE CONSTRAINT TRIGGER changes_findings AFTER UPDATE ON \"findings\" \
             DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.published_at IS NOT NULL) \
             EXECUTE FUNCTION changes_record('finding')"
                .to_owned(),
        ],
        _ => vec![format!(
            "CREATE TRIGGER changes_findings_update AFTER UPDATE ON \"findings\" FOR EACH ROW \
             WHEN NEW.published_at IS NOT NULL BEGIN INSERT INTO changes (entity, record_id, action, \
             changed_at) VALUES ('finding', NEW.id, 'updated', {NOW}); END"
        )],
    }
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
        for statement in feed_triggers(manager.get_database_backend()) {
            manager.get_connection().execute_unprepared(&statement).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let drop = match manager.get_database_backend() {
            DbBackend::Postgres => "DROP TRIGGER IF EXISTS changes_findings ON \"findings\"",
            _ => "DROP TRIGGER IF EXISTS changes_findings_update",
        };
        manager.get_connection().execute_unprepared(drop).await?;
        for (table, _) in tables().into_iter().rev() {
            let name = table.get_table_name().cloned().expect("tables are named");
            manager.drop_table(Table::drop().table(name).to_owned()).await?;
        }
        Ok(())
    }
}
