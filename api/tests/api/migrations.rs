use domain::db::{self, PoolOptions};
use domain::migration::Migrator;
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
