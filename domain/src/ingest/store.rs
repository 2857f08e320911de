//! The store every importer writes through: one writer per run, batches of parsed records
//! written in one transaction together with the run's counts, rejects and checkpoint.
//!
//! - **Idempotent.** Rows are keyed by `(source, upstream_id)` and carry the SHA-256 of the
//!   record, and are written by multi-row `INSERT … ON CONFLICT … DO UPDATE … WHERE
//!   content_hash <> excluded.content_hash`, split to stay under the bind-parameter limits, so
//!   a row whose hash is unchanged is not touched. Each record is counted as inserted, updated
//!   or unchanged: on SQLite from its stored hash, read before writing; on PostgreSQL from what
//!   the upsert returns (see `BatchWriter::upsert`).
//! - **Durable at the end.** On PostgreSQL a batch commits without waiting for its WAL flush; a
//!   server crash can lose the last batches, each whole with its checkpoint, for the re-run to
//!   redo. The run's final status commits durably.
//! - **Resumable.** The checkpoint commits with its batch: after `kill -9`, the next run of the
//!   same source and scope continues the unfinished run from the last committed checkpoint, and
//!   any record re-read from before it is counted unchanged, never stored twice.
//! - **Nothing lost.** `read = inserted + updated + unchanged + deleted + rejected`, and every
//!   rejected or repaired record leaves a reject naming its input, position, id and reason.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveEnum, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, Statement, TransactionTrait, Value,
};
use serde::Serialize;

use super::record::*;
use crate::DomainError;
use crate::money::parse_currency;
use crate::provenance::content_hash;

/// What happened to the records of a run (or of one batch).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Records read: every one ends up in exactly one of the five counts below.
    pub read: i64,
    pub inserted: i64,
    pub updated: i64,
    pub unchanged: i64,
    pub deleted: i64,
    pub rejected: i64,
    /// Repairs of upstream deviations (a record may need several); repaired records are stored.
    pub repaired: i64,
}

impl Counts {
    fn add(&mut self, other: &Counts) {
        self.read += other.read;
        self.inserted += other.inserted;
        self.updated += other.updated;
        self.unchanged += other.unchanged;
        self.deleted += other.deleted;
        self.rejected += other.rejected;
        self.repaired += other.repaired;
    }

    /// Whether every record read is accounted for.
    pub fn balanced(&self) -> bool {
        self.read == self.inserted + self.updated + self.unchanged + self.deleted + self.rejected
    }
}

/// Parsed records read from upstream at one time, with where to resume after them.
#[derive(Debug)]
pub struct Batch {
    pub fetched_at: DateTime<Utc>,
    pub parsed: Vec<Parsed>,
    /// The source's resume position once this batch is stored (a page cursor, a file line).
    pub checkpoint: Option<String>,
}

impl Batch {
    /// Does a batch's work that needs no database: orders its records into generations and
    /// hashes them. The import engine calls it in the source's task, so that this work runs
    /// while the writer task and the database work on the batch before.
    pub fn prepare(self) -> PreparedBatch {
        let mut rejects = Vec::new();
        let mut read = 0;
        let mut generations: Vec<Vec<Item>> = Vec::new();
        let mut seen: HashMap<(Table, String), usize> = HashMap::new();
        for parsed in self.parsed {
            match parsed {
                Parsed::Rejected(reject) => {
                    read += 1;
                    rejects.push((RejectOutcome::Rejected, reject));
                }
                Parsed::Records { location, records, repairs } => {
                    rejects.extend(repairs.into_iter().map(|r| (RejectOutcome::Repaired, r)));
                    for record in records {
                        read += 1;
                        // A key seen earlier in the batch goes to a later generation, so that
                        // successive versions (OCDS releases of one process) apply in order.
                        let key = (record.table(), record.upstream_id().to_owned());
                        let generation = seen.get(&key).map_or(0, |g| g + 1);
                        seen.insert(key, generation);
                        if generations.len() <= generation {
                            generations.push(Vec::new());
                        }
                        let hash = content_hash(&record);
                        generations[generation].push(Item { location: location.clone(), record, hash });
                    }
                }
            }
        }
        PreparedBatch { fetched_at: self.fetched_at, checkpoint: self.checkpoint, read, rejects, generations }
    }
}

/// A batch ready for `Store::write`: see `Batch::prepare`.
pub struct PreparedBatch {
    fetched_at: DateTime<Utc>,
    checkpoint: Option<String>,
    read: i64,
    /// Rejected input records and repairs, in input order.
    rejects: Vec<(RejectOutcome, Reject)>,
    generations: Vec<Vec<Item>>,
}

/// One record to write, with where it was read and its content hash.
struct Item {
    location: Location,
    record: Record,
    hash: String,
}

/// A run as the store starts it: new, or an unfinished one resumed.
#[derive(Debug, Clone)]
pub struct RunStart {
    pub run_id: i64,
    /// Whether an unfinished run of the same source and scope is being continued.
    pub resumed: bool,
    /// Where the resumed run had got to; `None` for a new run.
    pub checkpoint: Option<String>,
    /// The counts the resumed run had committed.
    pub counts: Counts,
    /// The upstream cursor the last successful run of this scope reached, for incremental runs.
    pub previous_cursor: Option<String>,
}

/// What became of a reject's record, stored as its `outcome`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectOutcome {
    /// Not stored.
    Rejected,
    /// Stored after a repair of a known upstream deviation.
    Repaired,
}

impl RejectOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            RejectOutcome::Rejected => "rejected",
            RejectOutcome::Repaired => "repaired",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum OrgKey {
    Bin(String),
    Key(String),
}

impl OrgKey {
    fn of(reference: &OrgRef) -> OrgKey {
        match (&reference.bin, &reference.key) {
            (Some(bin), _) => OrgKey::Bin(bin.as_str().to_owned()),
            (None, Some(key)) => OrgKey::Key(key.clone()),
            (None, None) => OrgKey::Key(format!("name:{}", reference.name.ru.as_deref().unwrap_or("unnamed"))),
        }
    }
}

/// The single writer of one import run.
pub struct Store {
    db: DatabaseConnection,
    source: String,
    run_id: i64,
    /// Organization ids already resolved in committed batches.
    organizations: HashMap<OrgKey, i64>,
    counts: Counts,
}

/// Stays under SQLite's 32,766 and PostgreSQL's 65,535 bind parameters, with statements short
/// enough that the prepared-statement cache keeps the full-size one.
const MAX_PARAMETERS: usize = 30_000;
const MAX_ROWS_PER_STATEMENT: usize = 1_000;
const LOOKUP_CHUNK: usize = 10_000;

const PROVENANCE: [&str; 5] = ["source", "upstream_id", "fetched_at", "content_hash", "import_run_id"];

impl Store {
    /// Starts a run of `source` over `scope`, or resumes the unfinished one of the same scope.
    pub async fn start(db: &DatabaseConnection, source: &str, scope: &str) -> Result<(Store, RunStart), DomainError> {
        let backend = db.get_database_backend();
        let unfinished = db
            .query_one_raw(Statement::from_sql_and_values(
                backend,
                numbered(
                    backend,
                    "SELECT id, checkpoint, rows_in, rows_inserted, rows_updated, rows_unchanged, rows_deleted, \
                     rows_rejected, rows_repaired FROM import_runs WHERE source = ? AND scope = ? AND status <> 'succeeded' \
                     ORDER BY id DESC LIMIT 1",
                ),
                [source.into(), scope.into()],
            ))
            .await?;
        let previous_cursor = db
            .query_one_raw(Statement::from_sql_and_values(
                backend,
                numbered(
                    backend,
                    "SELECT checkpoint FROM import_runs WHERE source = ? AND scope = ? AND status = 'succeeded' \
                     ORDER BY id DESC LIMIT 1",
                ),
                [source.into(), scope.into()],
            ))
            .await?
            .map(|row| row.try_get::<Option<String>>("", "checkpoint"))
            .transpose()?
            .flatten();
        let now = Utc::now();
        let start = match unfinished {
            Some(row) => {
                let run_id: i64 = row.try_get("", "id")?;
                let counts = Counts {
                    read: row.try_get("", "rows_in")?,
                    inserted: row.try_get("", "rows_inserted")?,
                    updated: row.try_get("", "rows_updated")?,
                    unchanged: row.try_get("", "rows_unchanged")?,
                    deleted: row.try_get("", "rows_deleted")?,
                    rejected: row.try_get("", "rows_rejected")?,
                    repaired: row.try_get("", "rows_repaired")?,
                };
                db.execute_raw(Statement::from_sql_and_values(
                    backend,
                    numbered(
                        backend,
                        "UPDATE import_runs SET status = 'running', finished_at = NULL, error = NULL WHERE id = ?",
                    ),
                    [run_id.into()],
                ))
                .await?;
                RunStart { run_id, resumed: true, checkpoint: row.try_get("", "checkpoint")?, counts, previous_cursor }
            }
            None => {
                let sql = numbered(
                    backend,
                    "INSERT INTO import_runs (source, scope, status, started_at) VALUES (?, ?, 'running', ?) RETURNING id",
                );
                let row = db
                    .query_one_raw(Statement::from_sql_and_values(
                        backend,
                        &sql,
                        [source.into(), scope.into(), now.into()],
                    ))
                    .await?
                    .ok_or_else(|| DomainError::Inconsistent("INSERT … RETURNING gave no row".into()))?;
                let run_id: i64 = row.try_get("", "id")?;
                RunStart { run_id, resumed: false, checkpoint: None, counts: Counts::default(), previous_cursor }
            }
        };
        let store = Store {
            db: db.clone(),
            source: source.to_owned(),
            run_id: start.run_id,
            organizations: HashMap::new(),
            counts: start.counts,
        };
        Ok((store, start))
    }

    pub fn run_id(&self) -> i64 {
        self.run_id
    }

    /// The run's counts so far, committed batches only.
    pub fn counts(&self) -> Counts {
        self.counts
    }

    /// Writes one batch, its rejects, the run's counts and the checkpoint in one transaction.
    pub async fn write(&mut self, batch: PreparedBatch) -> Result<Counts, DomainError> {
        let txn = self.db.begin().await?;
        let sqlite = self.db.get_database_backend() == DbBackend::Sqlite;
        if sqlite {
            // 64 MiB of page cache while the batch writes (SQLite's default is 2 MiB): a batch
            // touches every index of its table. It is given back before commit, since the pool
            // may hand the next batch another connection, and each would keep its own 64 MiB.
            txn.execute_unprepared("PRAGMA cache_size = -65536").await?;
        } else {
            // A batch's commit need not wait for its WAL to reach the disk: should the server
            // crash first, the batch is lost whole, with the checkpoint it carries, and the
            // re-run redoes it. `finish` commits durably, which flushes every batch before it.
            txn.execute_unprepared("SET LOCAL synchronous_commit = off").await?;
        }
        let mut writer = BatchWriter {
            txn: &txn,
            backend: self.db.get_database_backend(),
            source: &self.source,
            run_id: self.run_id,
            fetched_at: batch.fetched_at,
            committed: &self.organizations,
            organizations: HashMap::new(),
            counts: Counts::default(),
            rejects: Vec::new(),
            tables_written: Default::default(),
        };
        writer.counts.read = batch.read;
        for (outcome, reject) in batch.rejects {
            match outcome {
                RejectOutcome::Rejected => writer.reject(reject),
                RejectOutcome::Repaired => {
                    writer.counts.repaired += 1;
                    writer.rejects.push((outcome, reject));
                }
            }
        }
        for generation in batch.generations {
            writer.write_generation(generation).await?;
        }
        writer.write_rejects().await?;
        let delta = writer.counts;
        let new_organizations = std::mem::take(&mut writer.organizations);
        let backend = writer.backend;
        txn.execute_raw(Statement::from_sql_and_values(
            backend,
            numbered(
                backend,
                "UPDATE import_runs SET rows_in = rows_in + ?, rows_inserted = rows_inserted + ?, \
                 rows_updated = rows_updated + ?, rows_unchanged = rows_unchanged + ?, rows_deleted = rows_deleted + ?, \
                 rows_rejected = rows_rejected + ?, rows_repaired = rows_repaired + ?, \
                 rows_stored = rows_stored + ?, checkpoint = COALESCE(?, checkpoint) WHERE id = ?",
            ),
            [
                delta.read.into(),
                delta.inserted.into(),
                delta.updated.into(),
                delta.unchanged.into(),
                delta.deleted.into(),
                delta.rejected.into(),
                delta.repaired.into(),
                (delta.inserted + delta.updated + delta.unchanged).into(),
                batch.checkpoint.into(),
                self.run_id.into(),
            ],
        ))
        .await?;
        let written: Vec<Table> = writer.tables_written.iter().copied().collect();
        if sqlite {
            txn.execute_unprepared("PRAGMA cache_size = -2000").await?;
        }
        txn.commit().await?;
        self.organizations.extend(new_organizations);
        let before = self.counts.inserted;
        self.counts.add(&delta);
        self.refresh_statistics(before, &written).await?;
        Ok(delta)
    }

    /// PostgreSQL plans a batch's key lookups from the table's statistics; a bulk load into an
    /// empty table makes them stale at once, and the planner would go on scanning the whole
    /// table for every batch. So the written tables are analysed each time the run's inserted
    /// rows pass a power of ten (from 1,000), which also invalidates the cached plans.
    async fn refresh_statistics(&self, before: i64, tables: &[Table]) -> Result<(), DomainError> {
        if self.db.get_database_backend() != DbBackend::Postgres || tables.is_empty() {
            return Ok(());
        }
        let crossed = |n: i64| n >= 1_000 && (n as f64).log10().floor() > (before.max(1) as f64).log10().floor();
        if !crossed(self.counts.inserted) {
            return Ok(());
        }
        for table in tables {
            self.db.execute_unprepared(&format!("ANALYZE {}", table.name())).await?;
        }
        Ok(())
    }

    /// Ends the run: succeeded with the upstream cursor it reached, or failed with the reason.
    pub async fn finish(self, outcome: Result<Option<String>, String>) -> Result<Counts, DomainError> {
        let backend = self.db.get_database_backend();
        let (status, cursor, error) = match outcome {
            Ok(cursor) => ("succeeded", cursor, None),
            Err(reason) => ("failed", None, Some(reason)),
        };
        self.db
            .execute_raw(Statement::from_sql_and_values(
                backend,
                numbered(
                    backend,
                    "UPDATE import_runs SET status = ?, finished_at = ?, error = ?, \
                     checkpoint = COALESCE(?, checkpoint) WHERE id = ?",
                ),
                [status.into(), Utc::now().into(), error.into(), cursor.into(), self.run_id.into()],
            ))
            .await?;
        Ok(self.counts)
    }
}

/// Rewrites `?` placeholders as `$1, $2, …` for PostgreSQL.
fn numbered(backend: DbBackend, sql: &str) -> String {
    if backend != DbBackend::Postgres {
        return sql.to_owned();
    }
    let mut out = String::with_capacity(sql.len() + 16);
    let mut n = 0;
    for c in sql.chars() {
        if c == '?' {
            n += 1;
            out.push('$');
            out.push_str(&n.to_string());
        } else {
            out.push(c);
        }
    }
    out
}

/// A row ready to write: the table's own columns' values, then provenance.
struct Row {
    upstream_id: String,
    hash: String,
    values: Vec<Value>,
}

struct BatchWriter<'a> {
    txn: &'a DatabaseTransaction,
    backend: DbBackend,
    source: &'a str,
    run_id: i64,
    fetched_at: DateTime<Utc>,
    committed: &'a HashMap<OrgKey, i64>,
    /// Organizations resolved or created in this (uncommitted) batch.
    organizations: HashMap<OrgKey, i64>,
    counts: Counts,
    rejects: Vec<(RejectOutcome, Reject)>,
    tables_written: std::collections::BTreeSet<Table>,
}

/// Ids of referenced rows of one batch, by table and upstream id.
#[derive(Default)]
struct References {
    ids: HashMap<(Table, String), i64>,
}

impl References {
    fn get(&self, table: Table, upstream_id: &str) -> Option<i64> {
        self.ids.get(&(table, upstream_id.to_owned())).copied()
    }
}

impl BatchWriter<'_> {
    fn reject(&mut self, reject: Reject) {
        self.counts.rejected += 1;
        self.rejects.push((RejectOutcome::Rejected, reject));
    }

    fn reject_record(&mut self, location: &Location, record: &Record, reason: impl Into<String>) {
        self.reject(Reject::new(location.clone(), Some(record.upstream_id().to_owned()), reason));
    }

    async fn write_generation(&mut self, items: Vec<Item>) -> Result<(), DomainError> {
        let mut by_table: BTreeMap<Table, Vec<Item>> = BTreeMap::new();
        let mut deletions = Vec::new();
        let mut exits = Vec::new();
        for item in items {
            match item.record {
                Record::Deletion { .. } => deletions.push(item),
                Record::RegisterExit { .. } => exits.push(item),
                _ => by_table.entry(item.record.table()).or_default().push(item),
            }
        }
        for (table, items) in by_table {
            if table == Table::Organizations {
                self.write_organizations(items).await?;
            } else {
                self.write_table(table, items).await?;
            }
        }
        for item in exits {
            self.exit_register(&item.record).await?;
        }
        // Deletions go last and children first, so a journal that deletes a lot and its
        // tender in one batch can.
        deletions.sort_by_key(|item| std::cmp::Reverse(item.record.table()));
        for item in deletions {
            self.delete(&item.location, &item.record).await?;
        }
        Ok(())
    }

    async fn query(&self, sql: &str, values: Vec<Value>) -> Result<Vec<sea_orm::QueryResult>, DomainError> {
        Ok(self
            .txn
            .query_all_raw(Statement::from_sql_and_values(self.backend, numbered(self.backend, sql), values))
            .await?)
    }

    async fn execute(&self, sql: &str, values: Vec<Value>) -> Result<u64, DomainError> {
        let result = self
            .txn
            .execute_raw(Statement::from_sql_and_values(self.backend, numbered(self.backend, sql), values))
            .await?;
        Ok(result.rows_affected())
    }

    /// A list of keys as one bound JSON array, so that a lookup's SQL is the same whatever the
    /// number of keys: one prepared statement per lookup instead of one per list length, each
    /// of which the statement cache would keep.
    fn key_list(&self) -> &'static str {
        match self.backend {
            DbBackend::Postgres => "(SELECT json_array_elements_text(CAST(? AS json)))",
            _ => "(SELECT value FROM json_each(?))",
        }
    }

    /// `(upstream_id, column)` of this source's rows of `table` among `keys`.
    async fn lookup<T: sea_orm::TryGetable>(
        &self,
        table: Table,
        column: &str,
        keys: &[String],
    ) -> Result<HashMap<String, T>, DomainError> {
        let mut found = HashMap::new();
        for chunk in keys.chunks(LOOKUP_CHUNK) {
            let sql = format!(
                "SELECT upstream_id, {column} AS value FROM {} WHERE source = ? AND upstream_id IN {}",
                table.name(),
                self.key_list()
            );
            let values: Vec<Value> = vec![self.source.into(), json_list(chunk).into()];
            for row in self.query(&sql, values).await? {
                found.insert(row.try_get::<String>("", "upstream_id")?, row.try_get::<T>("", "value")?);
            }
        }
        Ok(found)
    }

    /// Resolves organization references to ids, creating a minimal organization for each one
    /// not stored yet (a later register record fills in the rest).
    async fn resolve_organizations<'r>(
        &mut self,
        references: impl Iterator<Item = &'r OrgRef>,
    ) -> Result<HashMap<OrgKey, i64>, DomainError> {
        let mut resolved = HashMap::new();
        let mut missing: HashMap<OrgKey, &OrgRef> = HashMap::new();
        for reference in references {
            let key = OrgKey::of(reference);
            if let Some(id) = self.organizations.get(&key).or_else(|| self.committed.get(&key)) {
                resolved.insert(key, *id);
            } else {
                missing.entry(key).or_insert(reference);
            }
        }
        if missing.is_empty() {
            return Ok(resolved);
        }
        let found = self.find_organizations(missing.keys()).await?;
        let to_create: Vec<(&OrgKey, &OrgRef)> = missing
            .iter()
            .filter(|(key, _)| !found.contains_key(*key))
            .map(|(key, reference)| (key, *reference))
            .collect();
        for chunk in to_create.chunks(MAX_PARAMETERS / 11) {
            let mut values = Vec::with_capacity(chunk.len() * 11);
            for (key, reference) in chunk {
                let (bin, upstream_id) = match key {
                    OrgKey::Bin(bin) => (Some(bin.clone()), format!("bin:{bin}")),
                    OrgKey::Key(key) => (None, key.clone()),
                };
                values.extend([
                    bin.into(),
                    reference.name.ru.clone().into(),
                    reference.name.kk.clone().into(),
                    reference.name.en.clone().into(),
                    reference.kind.to_value().into(),
                    self.source.into(),
                    upstream_id.into(),
                    self.fetched_at.into(),
                    content_hash(reference).into(),
                    self.run_id.into(),
                ]);
            }
            let rows = vec!["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"; chunk.len()].join(", ");
            self.execute(
                &format!(
                    "INSERT INTO organizations (bin, name_ru, name_kk, name_en, kind, source, upstream_id, fetched_at, \
                     content_hash, import_run_id) VALUES {rows} ON CONFLICT DO NOTHING"
                ),
                values,
            )
            .await?;
        }
        let created = if to_create.is_empty() {
            HashMap::new()
        } else {
            self.find_organizations(to_create.iter().map(|(key, _)| *key)).await?
        };
        for (key, id) in found.into_iter().chain(created) {
            self.organizations.insert(key.clone(), id);
            resolved.insert(key, id);
        }
        if let Some((key, _)) = missing.iter().find(|(key, _)| !resolved.contains_key(*key)) {
            return Err(DomainError::Inconsistent(format!("organization {key:?} was neither found nor created")));
        }
        Ok(resolved)
    }

    async fn find_organizations(
        &self,
        keys: impl Iterator<Item = &OrgKey>,
    ) -> Result<HashMap<OrgKey, i64>, DomainError> {
        let (mut bins, mut local) = (Vec::new(), Vec::new());
        for key in keys {
            match key {
                OrgKey::Bin(bin) => bins.push(bin.clone()),
                OrgKey::Key(key) => local.push(key.clone()),
            }
        }
        let mut found = HashMap::new();
        for chunk in bins.chunks(LOOKUP_CHUNK) {
            let sql = format!("SELECT id, bin FROM organizations WHERE bin IN {}", self.key_list());
            let rows = self.query(&sql, vec![json_list(chunk).into()]).await?;
            for row in rows {
                found.insert(OrgKey::Bin(row.try_get("", "bin")?), row.try_get::<i64>("", "id")?);
            }
        }
        for (key, id) in self.lookup::<i64>(Table::Organizations, "id", &local).await? {
            found.insert(OrgKey::Key(key), id);
        }
        Ok(found)
    }

    /// Organization records (registers): matched by BIN across sources, else by upstream id.
    /// A register fills in names and kind of an organization first seen as a reference.
    async fn write_organizations(&mut self, items: Vec<Item>) -> Result<(), DomainError> {
        let mut records = Vec::new();
        for Item { location, record, hash } in items {
            if let Record::Organization(organization) = record {
                records.push((location, organization, hash));
            }
        }
        let bins: Vec<String> =
            records.iter().filter_map(|(_, r, _)| r.bin.as_ref().map(|b| b.as_str().to_owned())).collect();
        let mut existing: HashMap<OrgKey, (i64, String)> = HashMap::new();
        for chunk in bins.chunks(LOOKUP_CHUNK) {
            let sql = format!("SELECT id, bin, content_hash FROM organizations WHERE bin IN {}", self.key_list());
            for row in self.query(&sql, vec![json_list(chunk).into()]).await? {
                existing.insert(
                    OrgKey::Bin(row.try_get("", "bin")?),
                    (row.try_get("", "id")?, row.try_get("", "content_hash")?),
                );
            }
        }
        let local: Vec<String> =
            records.iter().filter(|(_, r, _)| r.bin.is_none()).map(|(_, r, _)| r.upstream_id.clone()).collect();
        for chunk in local.chunks(LOOKUP_CHUNK) {
            let sql = format!(
                "SELECT id, upstream_id, content_hash FROM organizations WHERE source = ? AND upstream_id IN {}",
                self.key_list()
            );
            for row in self.query(&sql, vec![self.source.into(), json_list(chunk).into()]).await? {
                existing.insert(
                    OrgKey::Key(row.try_get("", "upstream_id")?),
                    (row.try_get("", "id")?, row.try_get("", "content_hash")?),
                );
            }
        }
        for (_, record, hash) in records {
            let key = match &record.bin {
                Some(bin) => OrgKey::Bin(bin.as_str().to_owned()),
                None => OrgKey::Key(record.upstream_id.clone()),
            };
            // The columns an update and an insert both write, in this order.
            let written: Vec<Value> = vec![
                record.name.ru.clone().into(),
                record.name.kk.clone().into(),
                record.name.en.clone().into(),
                record.kind.to_value().into(),
                record.region_kato.as_ref().map(|code| code.as_str().to_owned()).into(),
                record.registered_on.into(),
                self.source.into(),
                record.upstream_id.clone().into(),
                self.fetched_at.into(),
                hash.clone().into(),
                self.run_id.into(),
            ];
            match existing.get(&key) {
                Some((_, stored)) if *stored == hash => self.counts.unchanged += 1,
                Some((id, _)) => {
                    // A register does not blank what another source knew: absent names and
                    // region keep their stored values.
                    self.execute(
                        "UPDATE organizations SET name_ru = COALESCE(?, name_ru), name_kk = COALESCE(?, name_kk), \
                         name_en = COALESCE(?, name_en), kind = ?, region_kato = COALESCE(?, region_kato), \
                         registered_on = COALESCE(?, registered_on), source = ?, upstream_id = ?, fetched_at = ?, \
                         content_hash = ?, import_run_id = ? WHERE id = ?",
                        written.into_iter().chain([(*id).into()]).collect(),
                    )
                    .await?;
                    self.organizations.insert(key.clone(), *id);
                    existing.insert(key, (*id, hash));
                    self.counts.updated += 1;
                }
                None => {
                    let sql = "INSERT INTO organizations (bin, name_ru, name_kk, name_en, kind, region_kato, \
                               registered_on, source, upstream_id, fetched_at, content_hash, import_run_id) \
                               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id";
                    let bin: Value = record.bin.as_ref().map(|b| b.as_str().to_owned()).into();
                    let rows = self.query(sql, std::iter::once(bin).chain(written).collect()).await?;
                    let id: i64 = rows
                        .first()
                        .ok_or_else(|| DomainError::Inconsistent("INSERT … RETURNING gave no row".into()))?
                        .try_get("", "id")?;
                    self.organizations.insert(key.clone(), id);
                    existing.insert(key, (id, hash));
                    self.counts.inserted += 1;
                }
            }
        }
        Ok(())
    }

    /// Ids of the rows `items` refer to by upstream id, for the reference kinds of `table`.
    async fn resolve_references(&self, items: &[Item]) -> Result<References, DomainError> {
        let mut wanted: BTreeMap<Table, HashSet<String>> = BTreeMap::new();
        let mut want = |table: Table, key: Option<&String>| {
            if let Some(key) = key {
                wanted.entry(table).or_default().insert(key.clone());
            }
        };
        for Item { record, .. } in items {
            match record {
                Record::PlanItem(_)
                | Record::Tender(_)
                | Record::Decision(_)
                | Record::BudgetLine(_)
                | Record::UnreliableSupplier(_) => {}
                Record::Lot(r) => {
                    want(Table::Tenders, Some(&r.tender));
                    want(Table::PlanItems, r.plan_item.as_ref());
                }
                Record::Bid(r) => want(Table::Lots, Some(&r.lot)),
                Record::Award(r) => want(Table::Lots, Some(&r.lot)),
                Record::Contract(r) => {
                    want(Table::Tenders, r.tender.as_ref());
                    want(Table::Lots, r.lot.as_ref());
                    want(Table::Awards, r.award.as_ref());
                }
                Record::Amendment(r) => want(Table::Contracts, Some(&r.contract)),
                Record::Payment(r) => {
                    want(Table::Contracts, r.contract.as_ref());
                    want(Table::BudgetLines, r.budget_line.as_ref());
                }
                Record::DeliveryAct(r) => want(Table::Contracts, Some(&r.contract)),
                Record::Organization(_) | Record::Deletion { .. } | Record::RegisterExit { .. } => {}
            }
        }
        let mut references = References::default();
        for (table, keys) in wanted {
            let keys: Vec<String> = keys.into_iter().collect();
            for (key, id) in self.lookup::<i64>(table, "id", &keys).await? {
                references.ids.insert((table, key), id);
            }
        }
        Ok(references)
    }

    async fn write_table(&mut self, table: Table, items: Vec<Item>) -> Result<(), DomainError> {
        let organizations = self.resolve_organizations(items.iter().flat_map(|item| org_refs(&item.record))).await?;
        let references = self.resolve_references(&items).await?;
        let mut rows = Vec::with_capacity(items.len());
        for Item { location, record, hash } in items {
            let org = |reference: &OrgRef| -> i64 { organizations[&OrgKey::of(reference)] };
            match row_values(&record, &org, &references) {
                Ok(values) => rows.push(Row { upstream_id: record.upstream_id().to_owned(), hash, values }),
                Err(reason) => self.reject_record(&location, &record, reason),
            }
        }
        if self.backend == DbBackend::Postgres {
            // The upsert itself tells inserted, updated and unchanged rows apart (see `upsert`).
            return self.upsert(table, rows).await;
        }
        let keys: Vec<String> = rows.iter().map(|row| row.upstream_id.clone()).collect();
        let stored = self.lookup::<String>(table, "content_hash", &keys).await?;
        let mut changed = Vec::with_capacity(rows.len());
        for row in rows {
            match stored.get(&row.upstream_id) {
                None => {
                    self.counts.inserted += 1;
                    changed.push(row);
                }
                Some(hash) if *hash == row.hash => self.counts.unchanged += 1,
                Some(_) => {
                    self.counts.updated += 1;
                    changed.push(row);
                }
            }
        }
        self.upsert(table, changed).await
    }

    /// Inserts new rows and updates those whose content hash changed, in multi-row statements.
    ///
    /// On SQLite the caller has counted the rows by their stored hashes. On PostgreSQL the
    /// statement counts them: it returns the rows it inserted or updated, flagged by `xmax = 0`
    /// (a row version with no earlier one, that is, an insert), and a row it did not return
    /// had the same hash: unchanged. That spares the hash lookup, which probed the key index
    /// once more per row (after 5M payments that index is 237 MB, beyond PostgreSQL's default
    /// 128 MB of shared buffers).
    async fn upsert(&mut self, table: Table, rows: Vec<Row>) -> Result<(), DomainError> {
        if rows.is_empty() {
            return Ok(());
        }
        self.tables_written.insert(table);
        let counting = self.backend == DbBackend::Postgres;
        let own = columns(table);
        let all: Vec<&str> = own.iter().copied().chain(PROVENANCE).collect();
        let width = all.len();
        let per_statement = (MAX_PARAMETERS / width).min(MAX_ROWS_PER_STATEMENT);
        let updates = all
            .iter()
            .filter(|c| !matches!(**c, "source" | "upstream_id"))
            .map(|c| format!("{c} = excluded.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let row_placeholders = format!("({})", vec!["?"; width].join(", "));
        let mut rows = rows.into_iter().peekable();
        while rows.peek().is_some() {
            let chunk: Vec<Row> = rows.by_ref().take(per_statement).collect();
            let sql = format!(
                "INSERT INTO {name} ({columns}) VALUES {values} ON CONFLICT (source, upstream_id) DO UPDATE SET {updates} \
                 WHERE {name}.content_hash <> excluded.content_hash{returning}",
                name = table.name(),
                columns = all.join(", "),
                values = vec![row_placeholders.as_str(); chunk.len()].join(", "),
                returning = if counting { " RETURNING (xmax = 0) AS inserted" } else { "" },
            );
            let sent = chunk.len() as i64;
            let mut values = Vec::with_capacity(chunk.len() * width);
            for row in chunk {
                values.extend(row.values);
                values.extend([
                    self.source.into(),
                    row.upstream_id.into(),
                    self.fetched_at.into(),
                    row.hash.into(),
                    self.run_id.into(),
                ]);
            }
            if !counting {
                self.execute(&sql, values).await?;
                continue;
            }
            let returned = self.query(&sql, values).await?;
            let mut inserted = 0;
            for row in &returned {
                if row.try_get::<bool>("", "inserted")? {
                    inserted += 1;
                }
            }
            let written = returned.len() as i64;
            self.counts.inserted += inserted;
            self.counts.updated += written - inserted;
            self.counts.unchanged += sent - written;
        }
        Ok(())
    }

    /// Takes a supplier off the register of unreliable suppliers from `excluded_on`, unless
    /// its entry already ends by then. The entry's content hash stays: it is the hash of the
    /// upstream entry as last read, so reading that entry again unchanged leaves the exit in
    /// place, and a changed entry replaces it. An entry never imported is nothing to change.
    async fn exit_register(&mut self, record: &Record) -> Result<(), DomainError> {
        let Record::RegisterExit { upstream_id, excluded_on } = record else { return Ok(()) };
        self.tables_written.insert(Table::UnreliableSuppliers);
        let changed = self
            .execute(
                "UPDATE unreliable_suppliers SET excluded_on = ?, fetched_at = ?, import_run_id = ? \
                 WHERE source = ? AND upstream_id = ? AND (excluded_on IS NULL OR excluded_on > ?)",
                vec![
                    (*excluded_on).into(),
                    self.fetched_at.into(),
                    self.run_id.into(),
                    self.source.into(),
                    upstream_id.clone().into(),
                    (*excluded_on).into(),
                ],
            )
            .await?;
        if changed > 0 {
            self.counts.updated += 1;
        } else {
            self.counts.unchanged += 1;
        }
        Ok(())
    }

    async fn delete(&mut self, location: &Location, record: &Record) -> Result<(), DomainError> {
        let table = record.table();
        let found = self.lookup::<i64>(table, "id", &[record.upstream_id().to_owned()]).await?;
        let Some(id) = found.values().next().copied() else {
            // Already gone (or never imported): nothing to do, nothing lost.
            self.counts.unchanged += 1;
            return Ok(());
        };
        let savepoint = self.txn.begin().await?;
        let sql = numbered(self.backend, &format!("DELETE FROM {} WHERE id = ?", table.name()));
        match savepoint.execute_raw(Statement::from_sql_and_values(self.backend, sql, [id.into()])).await {
            Ok(_) => {
                savepoint.commit().await?;
                self.counts.deleted += 1;
            }
            Err(error) => {
                savepoint.rollback().await?;
                self.reject_record(
                    location,
                    record,
                    format!("the upstream deleted it, but stored records still refer to it ({error})"),
                );
            }
        }
        Ok(())
    }

    async fn write_rejects(&mut self) -> Result<(), DomainError> {
        let mut rejects = std::mem::take(&mut self.rejects);
        // In input order, whichever stage (parsing or storing) found them.
        rejects.sort_by(|(_, a), (_, b)| {
            (&a.location.input, a.location.position).cmp(&(&b.location.input, b.location.position))
        });
        for chunk in rejects.chunks(MAX_PARAMETERS / 6) {
            let mut values = Vec::with_capacity(chunk.len() * 6);
            for (outcome, reject) in chunk {
                values.extend([
                    self.run_id.into(),
                    outcome.as_str().into(),
                    reject.location.input.clone().into(),
                    reject.location.position.map(|p| p as i64).into(),
                    reject.record_id.clone().into(),
                    reject.reason.clone().into(),
                ]);
            }
            let sql = format!(
                "INSERT INTO import_rejects (import_run_id, outcome, input, position, record_id, reason) VALUES {}",
                vec!["(?, ?, ?, ?, ?, ?)"; chunk.len()].join(", ")
            );
            self.execute(&sql, values).await?;
        }
        Ok(())
    }
}

fn json_list(keys: &[String]) -> String {
    serde_json::to_string(keys).expect("strings serialize")
}

fn org_refs(record: &Record) -> Vec<&OrgRef> {
    match record {
        Record::UnreliableSupplier(r) => vec![&r.supplier],
        Record::BudgetLine(r) => vec![&r.administrator],
        Record::PlanItem(r) => vec![&r.buyer],
        Record::Tender(r) => vec![&r.buyer],
        Record::Bid(r) => vec![&r.bidder],
        Record::Award(r) => vec![&r.supplier],
        Record::Contract(r) => vec![&r.buyer, &r.supplier],
        Record::Payment(r) => vec![&r.payer, &r.payee],
        Record::Decision(r) => vec![&r.organization],
        Record::Organization(_)
        | Record::Lot(_)
        | Record::Amendment(_)
        | Record::DeliveryAct(_)
        | Record::Deletion { .. }
        | Record::RegisterExit { .. } => vec![],
    }
}

/// Each table's own columns, in the order `row_values` gives their values.
fn columns(table: Table) -> &'static [&'static str] {
    const AMOUNT: [&str; 4] = ["amount_minor", "currency", "exchange_rate", "vat_included"];
    macro_rules! cols {
        ($($c:expr),* ; amount) => { &[$($c,)* AMOUNT[0], AMOUNT[1], AMOUNT[2], AMOUNT[3]] };
        ($($c:expr),*) => { &[$($c),*] };
    }
    match table {
        Table::Organizations => &[],
        Table::UnreliableSuppliers => {
            cols!("organization_id", "included_on", "excluded_on", "reason_ru", "reason_kk", "reason_en")
        }
        Table::BudgetLines => cols!(
            "administrator_id",
            "fiscal_year",
            "program_code",
            "name_ru",
            "name_kk",
            "name_en",
            "approved_minor",
            "currency"
        ),
        Table::PlanItems => cols!(
            "buyer_id", "budget_line_id", "fiscal_year", "name_ru", "name_kk", "name_en", "enstru_code",
            "procurement_method", "quantity", "unit_price_minor", "planned_month"; amount
        ),
        Table::Tenders => cols!(
            "number", "buyer_id", "name_ru", "name_kk", "name_en", "procurement_method", "status", "fiscal_year",
            "published_at", "bids_open_at", "bids_close_at"; amount
        ),
        Table::Lots => cols!(
            "tender_id", "plan_item_id", "lot_number", "name_ru", "name_kk", "name_en", "status", "quantity",
            "delivery_kato"; amount
        ),
        Table::Bids => cols!("lot_id", "bidder_id", "submitted_at", "admitted"; amount),
        Table::Awards => cols!("lot_id", "supplier_id", "awarded_at"; amount),
        Table::Contracts => cols!(
            "number", "buyer_id", "supplier_id", "tender_id", "lot_id", "award_id", "procurement_method", "status",
            "fiscal_year", "description_ru", "description_kk", "description_en", "signed_at", "ends_on"; amount
        ),
        Table::ContractAmendments => cols!(
            "contract_id",
            "sequence",
            "signed_at",
            "reason_ru",
            "reason_kk",
            "reason_en",
            "previous_amount_minor",
            "new_amount_minor",
            "currency",
            "exchange_rate",
            "vat_included"
        ),
        Table::Payments => cols!(
            "contract_id", "payer_id", "payee_id", "budget_line_id", "document_number", "paid_at", "fiscal_year",
            "purpose_ru", "purpose_kk", "purpose_en"; amount
        ),
        Table::DeliveryActs => cols!("contract_id", "number", "signed_at"; amount),
        Table::Decisions => cols!(
            "organization_id",
            "kind",
            "number",
            "adopted_on",
            "title_ru",
            "title_kk",
            "title_en",
            "summary_ru",
            "summary_kk",
            "summary_en",
            "url"
        ),
    }
}

fn names(values: &mut Vec<Value>, name: &crate::names::LocalizedName) {
    values.extend([name.ru.clone().into(), name.kk.clone().into(), name.en.clone().into()]);
}

fn amount(values: &mut Vec<Value>, amount: &Amount) -> Result<(), String> {
    if amount.minor_units < 0 {
        return Err(format!("the amount {} is negative", crate::money::format_minor_units(amount.minor_units)));
    }
    let currency = parse_currency(&amount.currency).map_err(|error| error.to_string())?;
    if amount.exchange_rate.is_sign_negative() {
        return Err(format!("the exchange rate {} is negative", amount.exchange_rate));
    }
    values.extend([
        amount.minor_units.into(),
        currency.into(),
        amount.exchange_rate.normalize().to_string().into(),
        amount.vat_included.into(),
    ]);
    Ok(())
}

fn required(references: &References, table: Table, key: &str, what: &str) -> Result<i64, String> {
    references.get(table, key).ok_or_else(|| format!("its {what} {key:?} is not imported from this source"))
}

fn optional(references: &References, table: Table, key: Option<&String>) -> Option<i64> {
    key.and_then(|key| references.get(table, key))
}

/// The table's own column values for a record, or why the record cannot be stored.
fn row_values(record: &Record, org: &dyn Fn(&OrgRef) -> i64, references: &References) -> Result<Vec<Value>, String> {
    let mut v: Vec<Value> = Vec::with_capacity(24);
    match record {
        Record::UnreliableSupplier(r) => {
            if r.excluded_on.is_some_and(|off| off < r.included_on) {
                return Err("the supplier leaves the register before it was put on it".into());
            }
            v.extend([org(&r.supplier).into(), r.included_on.into(), r.excluded_on.into()]);
            names(&mut v, &r.reason);
        }
        Record::BudgetLine(r) => {
            parse_currency(&r.currency).map_err(|error| error.to_string())?;
            if r.approved_minor < 0 {
                return Err("the approved amount is negative".into());
            }
            v.extend([org(&r.administrator).into(), r.fiscal_year.into(), r.program_code.clone().into()]);
            names(&mut v, &r.name);
            v.extend([r.approved_minor.into(), r.currency.clone().into()]);
        }
        Record::PlanItem(r) => {
            v.extend([org(&r.buyer).into(), Option::<i64>::None.into(), r.fiscal_year.into()]);
            names(&mut v, &r.name);
            v.extend([
                r.enstru_code.clone().into(),
                r.procurement_method.to_value().into(),
                r.quantity.clone().into(),
                r.unit_price_minor.into(),
                r.planned_month.into(),
            ]);
            amount(&mut v, &r.amount)?;
        }
        Record::Tender(r) => {
            v.extend([r.number.clone().into(), org(&r.buyer).into()]);
            names(&mut v, &r.name);
            v.extend([
                r.procurement_method.to_value().into(),
                r.status.to_value().into(),
                r.fiscal_year.into(),
                r.published_at.into(),
                r.bids_open_at.into(),
                r.bids_close_at.into(),
            ]);
            amount(&mut v, &r.amount)?;
        }
        Record::Lot(r) => {
            v.extend([
                required(references, Table::Tenders, &r.tender, "tender")?.into(),
                optional(references, Table::PlanItems, r.plan_item.as_ref()).into(),
                r.lot_number.clone().into(),
            ]);
            names(&mut v, &r.name);
            v.extend([
                r.status.to_value().into(),
                r.quantity.clone().into(),
                r.delivery_kato.as_ref().map(|k| k.as_str().to_owned()).into(),
            ]);
            amount(&mut v, &r.amount)?;
        }
        Record::Bid(r) => {
            v.extend([
                required(references, Table::Lots, &r.lot, "lot")?.into(),
                org(&r.bidder).into(),
                r.submitted_at.into(),
                r.admitted.into(),
            ]);
            amount(&mut v, &r.amount)?;
        }
        Record::Award(r) => {
            v.extend([
                required(references, Table::Lots, &r.lot, "lot")?.into(),
                org(&r.supplier).into(),
                r.awarded_at.into(),
            ]);
            amount(&mut v, &r.amount)?;
        }
        Record::Contract(r) => {
            v.extend([
                r.number.clone().into(),
                org(&r.buyer).into(),
                org(&r.supplier).into(),
                optional(references, Table::Tenders, r.tender.as_ref()).into(),
                optional(references, Table::Lots, r.lot.as_ref()).into(),
                optional(references, Table::Awards, r.award.as_ref()).into(),
                r.procurement_method.to_value().into(),
                r.status.to_value().into(),
                r.fiscal_year.into(),
            ]);
            names(&mut v, &r.description);
            v.extend([r.signed_at.into(), r.ends_on.into()]);
            amount(&mut v, &r.amount)?;
        }
        Record::Amendment(r) => {
            if r.previous_amount_minor < 0 {
                return Err("the previous amount is negative".into());
            }
            v.extend([
                required(references, Table::Contracts, &r.contract, "contract")?.into(),
                r.sequence.into(),
                r.signed_at.into(),
            ]);
            names(&mut v, &r.reason);
            v.push(r.previous_amount_minor.into());
            amount(&mut v, &r.new_amount)?;
        }
        Record::Payment(r) => {
            v.extend([
                optional(references, Table::Contracts, r.contract.as_ref()).into(),
                org(&r.payer).into(),
                org(&r.payee).into(),
                optional(references, Table::BudgetLines, r.budget_line.as_ref()).into(),
                r.document_number.clone().into(),
                r.paid_at.into(),
                r.fiscal_year.into(),
            ]);
            names(&mut v, &r.purpose);
            amount(&mut v, &r.amount)?;
        }
        Record::DeliveryAct(r) => {
            v.extend([
                required(references, Table::Contracts, &r.contract, "contract")?.into(),
                r.number.clone().into(),
                r.signed_at.into(),
            ]);
            amount(&mut v, &r.amount)?;
        }
        Record::Decision(r) => {
            v.extend([
                org(&r.organization).into(),
                r.kind.to_value().into(),
                r.number.clone().into(),
                r.adopted_on.into(),
            ]);
            names(&mut v, &r.title);
            names(&mut v, &r.summary);
            v.push(r.url.clone().into());
        }
        Record::Organization(_) | Record::Deletion { .. } | Record::RegisterExit { .. } => {
            return Err("not a row of a generic table".into());
        }
    }
    Ok(v)
}
