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
    /// connection of the pool). SQLite has no such setting: a progress handler interrupts
    /// whatever runs on a connection once it has been out of the pool this long (each request
    /// takes one for a statement or a short transaction). `None` for batch work (imports,
    /// red-flag refreshes) run from the command line.
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
    let in_memory = is_in_memory(url);
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
    let sqlite_timeout = options.statement_timeout;
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
        .map_sqlx_sqlite_pool_opts(move |pool| {
            pool.after_connect(move |connection, _| {
                Box::pin(async move {
                    crate::search::connect_sqlite_indexes(connection).await;
                    limit_sqlite_statements(connection, sqlite_timeout).await?;
                    Ok(())
                })
            })
        })
        .map_sqlx_sqlite_before_acquire(move |connection, _| {
            Box::pin(async move {
                crate::search::connect_sqlite_indexes(connection).await;
                limit_sqlite_statements(connection, sqlite_timeout).await?;
                Ok(true)
            })
        });
    Database::connect(connect).await
}

/// VM steps between two looks at the clock: a few microseconds of work.
const PROGRESS_STEPS: i32 = 10_000;

/// Arms SQLite's progress handler so that what runs on this connection from now on is
/// interrupted (`SQLITE_INTERRUPT`, see [`DomainError::is_statement_timeout`]) once `timeout`
/// has passed; without a timeout, none.
///
/// [`DomainError::is_statement_timeout`]: crate::DomainError::is_statement_timeout
async fn limit_sqlite_statements(
    connection: &mut sea_orm::sqlx::SqliteConnection,
    timeout: Option<Duration>,
) -> Result<(), sea_orm::sqlx::Error> {
    let Some(timeout) = timeout else { return Ok(()) };
    let deadline = std::time::Instant::now() + timeout;
    let mut handle = connection.lock_handle().await?;
    handle.set_progress_handler(PROGRESS_STEPS, move || std::time::Instant::now() < deadline);
    Ok(())
}

/// Whether `url` names an in-memory SQLite database, which lives only in its one pool.
pub fn is_in_memory(url: &str) -> bool {
    url.starts_with("sqlite::memory:") || url.contains("mode=memory")
}

/// Ids per `IN (…)` list: well under both engines' limits on bound parameters.
pub const IN_CHUNK: usize = 5_000;

/// Every row of `E` whose `column` is one of `ids`, a chunk of [`IN_CHUNK`] ids per query.
pub async fn find_in<E: sea_orm::EntityTrait>(
    db: &DatabaseConnection,
    column: E::Column,
    ids: &[i64],
) -> Result<Vec<E::Model>, crate::DomainError> {
    use sea_orm::{ColumnTrait, QueryFilter};
    let mut rows = Vec::new();
    for chunk in ids.chunks(IN_CHUNK) {
        rows.extend(E::find().filter(column.is_in(chunk.iter().copied())).all(db).await?);
    }
    Ok(rows)
}

/// `text` for a LIKE pattern with `\` as the escape character: its `%` and `_` match only
/// themselves.
pub(crate) fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

/// Applies every pending migration.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    Migrator::up(db, None).await
}

/// Whether the database answers a trivial query.
pub async fn ping(db: &DatabaseConnection) -> Result<(), DbErr> {
    db.ping().await
}

#[cfg(test)]
mod tests {
    use sea_orm::{ConnectionTrait, Statement};

    use super::*;

    /// A statement that would run for minutes is interrupted at the timeout, reported as a
    /// statement timeout, and the connection serves the next request.
    #[tokio::test]
    async fn a_sqlite_statement_past_the_timeout_is_interrupted() {
        let url = "sqlite::memory:";
        let options = PoolOptions {
            max_connections: 1,
            statement_timeout: Some(Duration::from_millis(200)),
            ..PoolOptions::default()
        };
        let db = connect(url, &options).await.unwrap();
        let endless =
            "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) SELECT COUNT(*) FROM n WHERE x < 0";
        let started = std::time::Instant::now();
        let error = db.query_one_raw(Statement::from_string(db.get_database_backend(), endless)).await.unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
        assert!(crate::DomainError::from(error).is_statement_timeout());
        let one = db.query_one_raw(Statement::from_string(db.get_database_backend(), "SELECT 1")).await.unwrap();
        assert_eq!(one.unwrap().try_get_by_index::<i64>(0).unwrap(), 1, "a fresh deadline on the next acquire");
    }
}
