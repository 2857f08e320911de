//! People and the write path: accounts with their roles, public councils and their members,
//! refresh tokens and revoked access tokens, idempotency keys, and the audit log (events, the
//! one-row head that serialises appends, and the personal data kept beside the log).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0006_accounts_audit"
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
    let accounts = Table::create()
        .table("accounts")
        .col(big_pk_auto("id"))
        .col(text("email"))
        // The email lower-cased: uniqueness is case-insensitive on both engines.
        .col(text("email_key"))
        .col(text("display_name"))
        .col(text("password_hash"))
        .col(text_null("ngo_name"))
        .col(big_integer_null("organization_id"))
        .col(timestamp_with_time_zone_null("disabled_at"))
        // Set when the person was erased: the row stays for what refers to it, as nobody.
        .col(timestamp_with_time_zone_null("erased_at"))
        .col(timestamp_with_time_zone("created_at"))
        .col(timestamp_with_time_zone("updated_at"))
        .col(big_integer("version").default(1))
        .foreign_key(ForeignKey::create().from("accounts", "organization_id").to("organizations", "id"))
        .to_owned();

    let roles = Table::create()
        .table("account_roles")
        .col(big_integer("account_id"))
        .col(string_len("role", 24))
        .col(timestamp_with_time_zone("granted_at"))
        .primary_key(Index::create().col("account_id").col("role"))
        .foreign_key(ForeignKey::create().from("account_roles", "account_id").to("accounts", "id"))
        .to_owned();

    let councils = Table::create()
        .table("councils")
        .col(big_pk_auto("id"))
        .col(big_integer("host_organization_id"))
        .col(text_null("name_ru"))
        .col(text_null("name_kk"))
        .col(text_null("name_en"))
        .col(timestamp_with_time_zone("created_at"))
        .col(timestamp_with_time_zone("updated_at"))
        .col(big_integer("version").default(1))
        .foreign_key(ForeignKey::create().from("councils", "host_organization_id").to("organizations", "id"))
        .to_owned();

    let members = Table::create()
        .table("council_members")
        .col(big_integer("council_id"))
        .col(big_integer("account_id"))
        .col(string_len("position", 24))
        .col(timestamp_with_time_zone("joined_at"))
        .primary_key(Index::create().col("council_id").col("account_id"))
        .foreign_key(ForeignKey::create().from("council_members", "council_id").to("councils", "id"))
        .foreign_key(ForeignKey::create().from("council_members", "account_id").to("accounts", "id"))
        .to_owned();

    let refresh_tokens = Table::create()
        .table("refresh_tokens")
        .col(big_pk_auto("id"))
        .col(big_integer("account_id"))
        // Every token issued from one login shares its family; reuse revokes the family.
        .col(string_len("family", 36))
        // SHA-256 (hex) of the opaque token: the token itself is never stored.
        .col(string_len("token_hash", 64))
        .col(timestamp_with_time_zone("issued_at"))
        .col(timestamp_with_time_zone("expires_at"))
        .col(timestamp_with_time_zone_null("used_at"))
        .col(timestamp_with_time_zone_null("revoked_at"))
        .foreign_key(ForeignKey::create().from("refresh_tokens", "account_id").to("accounts", "id"))
        .to_owned();

    let revoked = Table::create()
        .table("revoked_access_tokens")
        .col(string_len("jti", 36).primary_key())
        .col(big_integer("account_id"))
        .col(timestamp_with_time_zone("expires_at"))
        .to_owned();

    let idempotency = Table::create()
        .table("idempotency_keys")
        .col(big_pk_auto("id"))
        // Who sent the key (`account:<id>` or `anonymous`): one caller's keys never replay
        // another's responses.
        .col(string_len("caller", 64))
        .col(string_len("key", 255))
        .col(string_len("operation", 64))
        .col(string_len("request_hash", 64))
        .col(text("response"))
        .col(timestamp_with_time_zone("created_at"))
        .to_owned();

    let events = Table::create()
        .table("audit_events")
        // The leaf index in the Merkle tree: 0 for the first event.
        .col(big_integer("seq").primary_key())
        .col(timestamp_with_time_zone("recorded_at"))
        .col(big_integer_null("actor_account_id"))
        .col(string_len("actor", 64))
        .col(string_len("action", 64))
        .col(string_len("object_type", 32))
        .col(string_len("object_id", 64))
        // The exact bytes hashed: canonical JSON holding everything above, the object before
        // and after (personal data as salted hashes) and the previous event's hash.
        .col(text("entry"))
        // SHA-256 (hex) of `entry`; the next event's entry repeats it (the hash chain).
        .col(string_len("hash", 64))
        // SHA-256(0x00 ‖ entry) (hex): the event's leaf in the Merkle tree (RFC 9162 §2.1.1).
        .col(string_len("leaf_hash", 64))
        .to_owned();

    let head = Table::create()
        .table("audit_head")
        .col(integer("id").primary_key())
        .col(big_integer("size"))
        .col(string_len("last_hash", 64))
        .to_owned();

    let personal = Table::create()
        .table("audit_personal_data")
        .col(big_pk_auto("id"))
        // Whose data it is, so that erasing a person finds every value of theirs.
        .col(big_integer_null("subject_account_id"))
        // Salt and value are NULL once erased: the salted hash in the log stays, and nothing
        // is left to confirm a guess against it.
        .col(string_len_null("salt", 64))
        .col(text_null("value"))
        .col(timestamp_with_time_zone_null("erased_at"))
        .to_owned();

    vec![
        (
            accounts,
            vec![index("accounts", &["email_key"]).unique().to_owned(), index("accounts", &["organization_id"])],
        ),
        (roles, vec![index("account_roles", &["role"])]),
        (councils, vec![index("councils", &["host_organization_id"]).unique().to_owned()]),
        (members, vec![index("council_members", &["account_id"])]),
        (
            refresh_tokens,
            vec![
                index("refresh_tokens", &["token_hash"]).unique().to_owned(),
                index("refresh_tokens", &["family"]),
                // Disabling an account and pruning its expired tokens find them by account.
                index("refresh_tokens", &["account_id", "expires_at"]),
            ],
        ),
        // Pruned by expiry at each logout.
        (revoked, vec![index("revoked_access_tokens", &["expires_at"])]),
        (
            idempotency,
            vec![
                index("idempotency_keys", &["caller", "key"]).unique().to_owned(),
                // Pruned by age at each remembered response.
                index("idempotency_keys", &["created_at"]),
            ],
        ),
        (events, vec![index("audit_events", &["object_type", "object_id", "seq"])]),
        (head, vec![]),
        (personal, vec![index("audit_personal_data", &["subject_account_id"])]),
    ]
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
        let zero_hash = "0".repeat(64);
        manager
            .exec_stmt(
                Query::insert()
                    .into_table("audit_head")
                    .columns(["id", "size", "last_hash"])
                    .values_panic([1.into(), 0i64.into(), zero_hash.into()])
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (table, _) in tables().into_iter().rev() {
            let name = table.get_table_name().cloned().expect("tables are named");
            manager.drop_table(Table::drop().table(name).to_owned()).await?;
        }
        Ok(())
    }
}
