//! Connecting to SQLite or PostgreSQL and bringing the schema up to date.

use std::time::Duration;

use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbErr};
use sea_orm_migration::MigratorTrait;

use crate::migration::Migrator;

/// Pool settings beside the URL.
#[derive(Debug, Clone)]
pub struct PoolOptions {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
    /// PostgreSQL cancels any statement running longer (`statement_timeout`, set for every
    /// connection of the pool). `None` for batch work (imports, red-flag refreshes) run
    /// from the command line. SQLite has no such setting.
    pub statement_timeout: Option<Duration>,
}

impl Default for PoolOptions {
    fn default() -> Self {
        PoolOptions { max_connections: 10, acquire_timeout: Duration::from_secs(5), statement_timeout: None }
    }
}

/// Opens a pool. A SQLite file is created when missing and runs in WAL mode with foreign keys
/// on; an in-memory SQLite database gets a single connection, since each connection would
/// otherwise see its own empty database.
pub async fn connect(url: &str, options: &PoolOptions) -> Result<DatabaseConnection, DbErr> {
    let mut connect = ConnectOptions::new(url.to_owned());
    let in_memory = url.starts_with("sqlite::memory:") || url.contains("mode=memory");
    connect
        .max_connections(if in_memory { 1 } else { options.max_connections })
        .min_connections(if in_memory { 1 } else { 0 })
        .acquire_timeout(options.acquire_timeout)
        .sqlx_logging(false);
    if let Some(timeout) = options.statement_timeout {
        let milliseconds = timeout.as_millis().max(1).to_string();
        connect
            .map_sqlx_postgres_opts(move |postgres| postgres.options([("statement_timeout", milliseconds.as_str())]));
    }
    connect
        .map_sqlx_sqlite_opts(|sqlite| {
            sqlite
                .create_if_missing(true)
                .foreign_keys(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
        })
        // See `search::connect_sqlite_indexes`: without it, a connection's first write
        // transaction that fires a search trigger can fail at once with "database is locked".
        // New connections, then idle ones each time they are handed out (a schema change
        // unloads the indexes).
        .map_sqlx_sqlite_pool_opts(|pool| {
            pool.after_connect(|connection, _| {
                Box::pin(async move {
                    crate::search::connect_sqlite_indexes(connection).await;
                    Ok(())
                })
            })
        })
        .map_sqlx_sqlite_before_acquire(|connection, _| {
            Box::pin(async move {
                crate::search::connect_sqlite_indexes(connection).await;
                Ok(true)
            })
        });
    Database::connect(connect).await
}

/// Applies every pending migration.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    Migrator::up(db, None).await
}

/// Whether the database answers a trivial query.
pub async fn ping(db: &DatabaseConnection) -> Result<(), DbErr> {
    db.ping().await
}
