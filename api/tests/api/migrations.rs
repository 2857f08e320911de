use domain::db::{self, PoolOptions};
use domain::entities::import_reject;
use domain::migration::Migrator;
use sea_orm::{ActiveModelTrait, ConnectionTrait, DatabaseConnection, DbBackend, Set, Statement};
use sea_orm_migration::MigratorTrait;

use crate::helpers::TestDatabase;

#[tokio::test]
async fn migrations_apply_roll_back_and_reapply() {
    let database = TestDatabase::create().await;
    let db = db::connect(&database.url, &PoolOptions::default()).await.unwrap();
    Migrator::up(&db, None).await.expect("up");
    assert!(Migrator::get_pending_migrations(&db).await.unwrap().is_empty());
    Migrator::up(&db, None).await.expect("up again is a no-op");
    Migrator::down(&db, None).await.expect("down");
    assert_eq!(Migrator::get_pending_migrations(&db).await.unwrap().len(), Migrator::migrations().len());
    Migrator::up(&db, None).await.expect("up after down");
    domain::demo::seed(&db).await.expect("the schema takes the demo data");
}

/// The names of the indexes on `table`.
async fn indexes(db: &DatabaseConnection, table: &str) -> Vec<String> {
    let backend = db.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => format!("SELECT indexname AS name FROM pg_indexes WHERE tablename = '{table}'"),
        _ => format!("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = '{table}'"),
    };
    let rows = db.query_all_raw(Statement::from_string(backend, sql)).await.unwrap();
    rows.iter().map(|row| row.try_get::<String>("", "name").unwrap()).collect()
}

/// `(outcome, reason)` of every row of `table`, in id order.
async fn rows(db: &DatabaseConnection, table: &str, outcome: &str) -> Vec<(String, String)> {
    let backend = db.get_database_backend();
    let sql = format!("SELECT {outcome} AS outcome, reason FROM {table} ORDER BY id");
    let rows = db.query_all_raw(Statement::from_string(backend, sql)).await.unwrap();
    rows.iter()
        .map(|row| (row.try_get::<String>("", "outcome").unwrap(), row.try_get::<String>("", "reason").unwrap()))
        .collect()
}

#[tokio::test]
async fn migrating_import_findings_to_import_rejects_keeps_their_rows_both_ways() {
    let database = TestDatabase::create().await;
    let db = db::connect(&database.url, &PoolOptions::default()).await.unwrap();
    let migrations = Migrator::migrations();
    let at = migrations.iter().position(|m| m.name() == "m0007_import_rejects").expect("m0007 is registered");
    let after = (migrations.len() - at) as u32;
    Migrator::up(&db, Some(at as u32)).await.expect("up to m0007");
    db.execute_unprepared(
        "INSERT INTO import_runs (id, source, status, started_at) VALUES (1, 'csv-payments', 'succeeded', CURRENT_TIMESTAMP)",
    )
    .await
    .unwrap();
    db.execute_unprepared(
        "INSERT INTO import_findings (import_run_id, action, input, position, record_id, reason) VALUES \
         (1, 'rejected', 'p.csv', 2, 'P1', 'negative'), (1, 'repaired', 'p.csv', 3, 'P2', 'swapped names')",
    )
    .await
    .unwrap();

    Migrator::up(&db, None).await.expect("m0007 up");
    let expected =
        vec![("rejected".to_owned(), "negative".to_owned()), ("repaired".to_owned(), "swapped names".to_owned())];
    assert_eq!(rows(&db, "import_rejects", "outcome").await, expected);
    assert!(db.execute_unprepared("SELECT 1 FROM import_findings").await.is_err(), "the old table is gone");
    let names = indexes(&db, "import_rejects").await;
    assert!(names.iter().any(|name| name == "ix_import_rejects_import_run_id_id"), "{names:?}");
    assert!(!names.iter().any(|name| name.contains("finding")), "{names:?}");
    // The id still counts on (PostgreSQL: through the renamed sequence).
    let added = import_reject::ActiveModel {
        import_run_id: Set(1),
        outcome: Set("rejected".into()),
        input: Set("p.csv".into()),
        position: Set(Some(4)),
        record_id: Set(None),
        reason: Set("late".into()),
        ..Default::default()
    }
    .insert(&db)
    .await
    .unwrap();
    assert_eq!(added.id, 3);

    Migrator::down(&db, Some(after)).await.expect("m0007 down");
    let mut expected = expected;
    expected.push(("rejected".to_owned(), "late".to_owned()));
    assert_eq!(rows(&db, "import_findings", "action").await, expected);
    assert!(indexes(&db, "import_findings").await.iter().any(|name| name == "ix_import_findings_import_run_id_id"));
    Migrator::up(&db, None).await.expect("m0007 up again");
    assert_eq!(rows(&db, "import_rejects", "outcome").await, expected);
}

/// m0012 lets a contract be stored unsigned. On SQLite it rebuilds the table: the demo data
/// seeded before it keeps every contract, id, index and trigger, payments still refer to their
/// contracts, and the change feed still records writes; down refuses while a contract is
/// unsigned, and down and up again keep every row.
#[tokio::test]
async fn making_the_signing_date_optional_keeps_every_contract_both_ways() {
    let database = TestDatabase::create().await;
    let db = db::connect(&database.url, &PoolOptions::default()).await.unwrap();
    let migrations = Migrator::migrations();
    let at = migrations.iter().position(|m| m.name() == "m0012_unsigned_contracts").expect("m0012 is registered");
    let after = (migrations.len() - at) as u32;
    Migrator::up(&db, Some(at as u32)).await.expect("up to m0012");
    domain::demo::seed(&db).await.expect("the demo data before m0012");
    let count = |sql: &'static str| {
        let db = db.clone();
        async move {
            let row = db.query_one_raw(Statement::from_string(db.get_database_backend(), sql)).await.unwrap().unwrap();
            row.try_get_by_index::<i64>(0).unwrap()
        }
    };
    let contracts = count("SELECT COUNT(*) FROM contracts").await;
    let ids = count("SELECT CAST(SUM(id) AS BIGINT) FROM contracts").await;
    let paid = count("SELECT COUNT(*) FROM payments p JOIN contracts c ON c.id = p.contract_id").await;
    let before = indexes(&db, "contracts").await.len();
    assert!(contracts > 0 && paid > 0);

    Migrator::up(&db, None).await.expect("m0012 up");
    assert_eq!(count("SELECT COUNT(*) FROM contracts").await, contracts);
    assert_eq!(count("SELECT CAST(SUM(id) AS BIGINT) FROM contracts").await, ids);
    assert_eq!(count("SELECT COUNT(*) FROM payments p JOIN contracts c ON c.id = p.contract_id").await, paid);
    assert_eq!(indexes(&db, "contracts").await.len(), before);
    let feed = count("SELECT COUNT(*) FROM changes").await;
    db.execute_unprepared("UPDATE contracts SET signed_at = NULL WHERE id = (SELECT MIN(id) FROM contracts)")
        .await
        .expect("a contract may be unsigned");
    assert_eq!(count("SELECT COUNT(*) FROM changes").await, feed + 1, "the change feed's trigger is back");
    assert!(Migrator::down(&db, Some(after)).await.is_err(), "an unsigned contract cannot be kept without m0012");
    db.execute_unprepared("UPDATE contracts SET signed_at = fetched_at WHERE signed_at IS NULL").await.unwrap();
    Migrator::down(&db, Some(after)).await.expect("m0012 down");
    assert_eq!(count("SELECT COUNT(*) FROM contracts").await, contracts);
    assert!(
        db.execute_unprepared("UPDATE contracts SET signed_at = NULL WHERE id = (SELECT MIN(id) FROM contracts)")
            .await
            .is_err(),
        "signed again required"
    );
    Migrator::up(&db, None).await.expect("m0012 up again");
    assert_eq!(count("SELECT COUNT(*) FROM contracts").await, contracts);
}
