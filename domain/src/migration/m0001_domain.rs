//! The domain tables: organizations, the procurement chain from plan to payment, decisions,
//! budget lines and import runs.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0001_domain"
    }
}

/// A table with a 64-bit surrogate key.
fn table(name: &'static str) -> TableCreateStatement {
    Table::create().table(name).col(big_pk_auto("id")).to_owned()
}

/// The provenance columns every imported table carries, added after its own columns.
fn with_provenance(mut statement: TableCreateStatement, name: &'static str) -> TableCreateStatement {
    statement
        .col(string_len("source", 32))
        .col(string_len("upstream_id", 128))
        .col(timestamp_with_time_zone("fetched_at"))
        .col(string_len("content_hash", 64))
        .col(big_integer_null("import_run_id"))
        .foreign_key(ForeignKey::create().from(name, "import_run_id").to("import_runs", "id"));
    statement
}

/// Exact money: minor units, currency, exchange rate to tenge (decimal text), VAT basis.
fn with_money(statement: &mut TableCreateStatement, amount_column: &'static str) {
    statement
        .col(big_integer(amount_column))
        .col(string_len("currency", 3))
        .col(string_len("exchange_rate", 24).default("1"))
        .col(boolean("vat_included"));
}

fn names(statement: &mut TableCreateStatement, prefix: &'static str) {
    for language in ["ru", "kk", "en"] {
        statement.col(text_null(Alias::new(format!("{prefix}_{language}"))));
    }
}

fn references(
    statement: &mut TableCreateStatement,
    name: &'static str,
    column: &'static str,
    target: &'static str,
    nullable: bool,
) {
    statement.col(if nullable { big_integer_null(column) } else { big_integer(column) });
    statement.foreign_key(ForeignKey::create().from(name, column).to(target, "id"));
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
    let mut all = Vec::new();

    let mut runs = table("import_runs");
    runs.col(string_len("source", 32))
        .col(string_len("status", 16))
        .col(timestamp_with_time_zone("started_at"))
        .col(timestamp_with_time_zone_null("finished_at"))
        .col(big_integer("rows_in").default(0))
        .col(big_integer("rows_stored").default(0))
        .col(big_integer("rows_rejected").default(0))
        .col(text_null("checkpoint"))
        .col(text_null("error"));
    all.push((runs, vec![index("import_runs", &["source", "started_at"])]));

    let mut organizations = table("organizations");
    organizations.col(string_len_null("bin", 12));
    names(&mut organizations, "name");
    organizations.col(string_len("kind", 24)).col(string_len_null("region_kato", 9));
    references(&mut organizations, "organizations", "parent_id", "organizations", true);
    all.push((
        with_provenance(organizations, "organizations"),
        vec![
            index("organizations", &["bin"]).unique().to_owned(),
            index("organizations", &["kind"]),
            index("organizations", &["region_kato"]),
            index("organizations", &["parent_id"]),
        ],
    ));

    let mut budget_lines = table("budget_lines");
    references(&mut budget_lines, "budget_lines", "administrator_id", "organizations", false);
    budget_lines.col(integer("fiscal_year")).col(string_len("program_code", 32));
    names(&mut budget_lines, "name");
    budget_lines.col(big_integer("approved_minor")).col(string_len("currency", 3));
    all.push((
        with_provenance(budget_lines, "budget_lines"),
        vec![index("budget_lines", &["administrator_id", "fiscal_year"])],
    ));

    let mut plan_items = table("plan_items");
    references(&mut plan_items, "plan_items", "buyer_id", "organizations", false);
    references(&mut plan_items, "plan_items", "budget_line_id", "budget_lines", true);
    plan_items.col(integer("fiscal_year"));
    names(&mut plan_items, "name");
    plan_items
        .col(string_len_null("enstru_code", 64))
        .col(string_len("procurement_method", 32))
        .col(string_len("quantity", 32))
        .col(big_integer("unit_price_minor"));
    with_money(&mut plan_items, "amount_minor");
    plan_items.col(integer_null("planned_month"));
    all.push((
        with_provenance(plan_items, "plan_items"),
        vec![index("plan_items", &["buyer_id", "fiscal_year"]), index("plan_items", &["budget_line_id"])],
    ));

    let mut tenders = table("tenders");
    tenders.col(string_len("number", 64));
    references(&mut tenders, "tenders", "buyer_id", "organizations", false);
    names(&mut tenders, "name");
    tenders
        .col(string_len("procurement_method", 32))
        .col(string_len("status", 24))
        .col(integer("fiscal_year"))
        .col(timestamp_with_time_zone("published_at"))
        .col(timestamp_with_time_zone_null("bids_open_at"))
        .col(timestamp_with_time_zone_null("bids_close_at"));
    with_money(&mut tenders, "amount_minor");
    all.push((
        with_provenance(tenders, "tenders"),
        vec![index("tenders", &["buyer_id"]), index("tenders", &["published_at"])],
    ));

    let mut lots = table("lots");
    references(&mut lots, "lots", "tender_id", "tenders", false);
    references(&mut lots, "lots", "plan_item_id", "plan_items", true);
    lots.col(string_len("lot_number", 64));
    names(&mut lots, "name");
    lots.col(string_len("status", 24)).col(string_len("quantity", 32));
    with_money(&mut lots, "amount_minor");
    lots.col(string_len_null("delivery_kato", 9));
    all.push((with_provenance(lots, "lots"), vec![index("lots", &["tender_id"]), index("lots", &["plan_item_id"])]));

    let mut bids = table("bids");
    references(&mut bids, "bids", "lot_id", "lots", false);
    references(&mut bids, "bids", "bidder_id", "organizations", false);
    bids.col(timestamp_with_time_zone("submitted_at"));
    with_money(&mut bids, "amount_minor");
    bids.col(boolean("admitted"));
    all.push((with_provenance(bids, "bids"), vec![index("bids", &["lot_id"]), index("bids", &["bidder_id"])]));

    let mut awards = table("awards");
    references(&mut awards, "awards", "lot_id", "lots", false);
    references(&mut awards, "awards", "supplier_id", "organizations", false);
    awards.col(timestamp_with_time_zone("awarded_at"));
    with_money(&mut awards, "amount_minor");
    all.push((
        with_provenance(awards, "awards"),
        vec![index("awards", &["lot_id"]), index("awards", &["supplier_id"])],
    ));

    let mut contracts = table("contracts");
    contracts.col(string_len("number", 128));
    references(&mut contracts, "contracts", "buyer_id", "organizations", false);
    references(&mut contracts, "contracts", "supplier_id", "organizations", false);
    references(&mut contracts, "contracts", "tender_id", "tenders", true);
    references(&mut contracts, "contracts", "lot_id", "lots", true);
    references(&mut contracts, "contracts", "award_id", "awards", true);
    contracts.col(string_len("procurement_method", 32)).col(string_len("status", 24)).col(integer("fiscal_year"));
    names(&mut contracts, "description");
    contracts.col(timestamp_with_time_zone("signed_at")).col(date_null("ends_on"));
    with_money(&mut contracts, "amount_minor");
    all.push((
        with_provenance(contracts, "contracts"),
        vec![
            index("contracts", &["buyer_id"]),
            index("contracts", &["supplier_id"]),
            index("contracts", &["tender_id"]),
            index("contracts", &["signed_at"]),
        ],
    ));

    let mut amendments = table("contract_amendments");
    references(&mut amendments, "contract_amendments", "contract_id", "contracts", false);
    amendments.col(integer("sequence")).col(timestamp_with_time_zone("signed_at"));
    names(&mut amendments, "reason");
    amendments.col(big_integer("previous_amount_minor"));
    with_money(&mut amendments, "new_amount_minor");
    all.push((
        with_provenance(amendments, "contract_amendments"),
        vec![index("contract_amendments", &["contract_id", "sequence"]).unique().to_owned()],
    ));

    let mut payments = table("payments");
    references(&mut payments, "payments", "contract_id", "contracts", true);
    references(&mut payments, "payments", "payer_id", "organizations", false);
    references(&mut payments, "payments", "payee_id", "organizations", false);
    references(&mut payments, "payments", "budget_line_id", "budget_lines", true);
    payments
        .col(string_len("document_number", 64))
        .col(timestamp_with_time_zone("paid_at"))
        .col(integer("fiscal_year"));
    names(&mut payments, "purpose");
    with_money(&mut payments, "amount_minor");
    all.push((
        with_provenance(payments, "payments"),
        vec![
            index("payments", &["contract_id"]),
            index("payments", &["payer_id"]),
            index("payments", &["payee_id"]),
            index("payments", &["paid_at"]),
        ],
    ));

    let mut acts = table("delivery_acts");
    references(&mut acts, "delivery_acts", "contract_id", "contracts", false);
    acts.col(string_len("number", 64)).col(timestamp_with_time_zone("signed_at"));
    with_money(&mut acts, "amount_minor");
    all.push((with_provenance(acts, "delivery_acts"), vec![index("delivery_acts", &["contract_id"])]));

    let mut decisions = table("decisions");
    references(&mut decisions, "decisions", "organization_id", "organizations", false);
    decisions.col(string_len("kind", 24)).col(string_len("number", 64)).col(date("adopted_on"));
    names(&mut decisions, "title");
    names(&mut decisions, "summary");
    decisions.col(text_null("url"));
    all.push((
        with_provenance(decisions, "decisions"),
        vec![index("decisions", &["organization_id"]), index("decisions", &["adopted_on"])],
    ));

    all
}

/// Tables that carry provenance, whose `(source, upstream_id)` is unique, in creation order.
const IMPORTED: [&str; 12] = [
    "organizations",
    "budget_lines",
    "plan_items",
    "tenders",
    "lots",
    "bids",
    "awards",
    "contracts",
    "contract_amendments",
    "payments",
    "delivery_acts",
    "decisions",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (mut create, indexes) in tables() {
            manager.create_table(create.if_not_exists().to_owned()).await?;
            for index in indexes {
                manager.create_index(index).await?;
            }
        }
        for name in IMPORTED {
            manager.create_index(index(name, &["source", "upstream_id"]).unique().to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // IMPORTED is in creation order, so its reverse respects the foreign keys.
        for name in IMPORTED.iter().rev().chain(["import_runs"].iter()) {
            manager.drop_table(Table::drop().table(*name).to_owned()).await?;
        }
        Ok(())
    }
}
