use domain::demo::{self, Counts};
use domain::entities::{contract, payment};
use sea_orm::{EntityTrait, QuerySelect};

use crate::helpers::spawn_app;

#[tokio::test]
async fn seeding_loads_the_whole_set_and_a_second_run_changes_nothing() {
    let app = spawn_app().await;
    let first = demo::seed(&app.db).await.unwrap();
    assert!(first.loaded);
    assert_eq!(first.inserted, first.expected.total());
    let after_first = Counts::in_database(&app.db).await.unwrap();
    assert_eq!(after_first, first.expected);
    // The generated records and the planted red-flag cases (`fixtures/red-flags.md`).
    assert_eq!(after_first.tenders, demo::TENDERS as u64);
    assert_eq!(after_first.contracts, demo::CONTRACTS as u64);
    assert_eq!(after_first.payments, demo::PAYMENTS as u64);
    assert_eq!(after_first.decisions, 100);
    assert_eq!(after_first.unreliable_suppliers, demo::UNRELIABLE_SUPPLIERS as u64);
    assert!(after_first.tenders > 1_000 && after_first.contracts > 2_000 && after_first.payments > 10_000);
    assert!(after_first.organizations >= 60);

    let second = demo::seed(&app.db).await.unwrap();
    assert!(!second.loaded);
    assert_eq!(second.inserted, 0);
    assert_eq!(Counts::in_database(&app.db).await.unwrap(), after_first);
}

/// Sums in the database equal the generator's to the tiyn: money is stored exactly.
#[tokio::test]
async fn stored_money_sums_exactly() {
    let app = spawn_app().await;
    demo::seed(&app.db).await.unwrap();
    let generated = demo::generate().unwrap();
    let expected_payments: i64 = generated.payments.iter().map(|p| p.amount_minor).sum();
    let expected_contracts: i64 = generated.contracts.iter().map(|c| c.amount_minor).sum();

    let stored_payments: Vec<i64> = payment::Entity::find()
        .select_only()
        .column(payment::Column::AmountMinor)
        .into_tuple()
        .all(&app.db)
        .await
        .unwrap();
    let stored_contracts: Vec<i64> = contract::Entity::find()
        .select_only()
        .column(contract::Column::AmountMinor)
        .into_tuple()
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(stored_payments.iter().sum::<i64>(), expected_payments);
    assert_eq!(stored_contracts.iter().sum::<i64>(), expected_contracts);
}

#[tokio::test]
async fn the_demo_findings_cover_every_state_and_their_people_cannot_log_in() {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let app = crate::helpers::spawn_seeded_app().await;
    let all = app.get_json("/v1/findings?limit=100").await;
    let statuses: std::collections::BTreeSet<String> =
        all["items"].as_array().unwrap().iter().map(|f| f["status"].as_str().unwrap().to_owned()).collect();
    for status in ["in_progress", "delivered", "answered", "closed"] {
        assert!(statuses.contains(status), "{status} in {statuses:?}");
    }
    let items = all["items"].as_array().unwrap();
    assert!(items.iter().any(|f| f["overdue"] == true), "one is overdue");
    assert!(items.iter().any(|f| f["delivered_on_time"] == false), "one was delivered late");
    assert!(items.iter().any(|f| !f["escalation"].is_null()), "one was escalated");
    assert!(items.iter().any(|f| !f["hearings"].as_array().unwrap().is_empty()), "one had a hearing");
    assert!(
        items.iter().any(|f| f["recommendations"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["implementation"]["result"] == "implemented")),
        "one was implemented"
    );
    let demo = domain::accounts::tables::account::Entity::find()
        .filter(domain::accounts::tables::account::Column::PasswordHash.eq(domain::findings::demo::NO_PASSWORD))
        .all(&app.db)
        .await
        .unwrap();
    assert!(demo.len() >= 10, "{} demo accounts", demo.len());
    // Four attempts: the fifth failure from one address within a minute would be throttled.
    for account in demo.iter().take(2) {
        for password in ["password", domain::findings::demo::NO_PASSWORD] {
            let response = app
                .request(reqwest::Method::POST, "/v1/auth/token", None)
                .json(&serde_json::json!({"email": account.email, "password": password}))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status().as_u16(), 401, "{}", account.email);
        }
    }
}
