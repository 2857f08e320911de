//! The one write path. Every change a person or the operator makes (accounts, roles,
//! councils, and the findings to come) goes through a [`Write`]: one
//! transaction that first locks the audit log's head, then lets the service check that its
//! actor may touch the object, make the change and [`Write::record`] the audit event, and
//! finally commits change and event together. (Imported records are written by
//! `crate::ingest`, whose import runs and rejects are their audit.)
//!
//! Locking the head first does two things: on PostgreSQL it serialises writers, so the
//! hash chain and the Merkle tree grow one event at a time and a check made inside the
//! transaction (a version, an idempotency key) cannot be raced; on SQLite it takes the write
//! lock before anything is read, so a transaction never has to upgrade a stale read snapshot
//! (which SQLite refuses with "database is locked" instead of waiting).

use chrono::{DateTime, SubsecRound, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, EntityTrait, QueryFilter,
    Set, TransactionTrait,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::DomainError;
use crate::accounts::Actor;
use crate::audit::merkle;
use crate::audit::tables::{audit_event, audit_head, audit_personal_data, idempotency_key};

/// The longest `Idempotency-Key` accepted.
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 255;

/// How long a stored response is replayed: a retry comes within minutes, and the response
/// holds personal data that must not outlive its purpose.
pub const IDEMPOTENCY_RETENTION_HOURS: i64 = 24;

/// A creating request's idempotency key, with a hash of what it asked for.
#[derive(Debug, Clone)]
pub struct IdempotencyKey {
    pub key: String,
    /// SHA-256 (hex) of the request's parsed content: the same key with other content is refused.
    pub request_hash: String,
}

impl IdempotencyKey {
    /// The key for a request whose content serialises to `request`.
    pub fn new(key: &str, request: &impl Serialize) -> Result<Self, DomainError> {
        if key.is_empty() || key.len() > MAX_IDEMPOTENCY_KEY_LEN || !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(DomainError::invalid(
                "Idempotency-Key",
                format!("must be 1 to {MAX_IDEMPOTENCY_KEY_LEN} printable ASCII characters"),
            ));
        }
        let bytes = serde_json::to_vec(request).map_err(|e| DomainError::Inconsistent(e.to_string()))?;
        Ok(IdempotencyKey { key: key.to_owned(), request_hash: hex(&Sha256::digest(bytes)) })
    }
}

/// A write in progress: the transaction, with the audit log's head locked.
pub struct Write {
    txn: DatabaseTransaction,
    size: i64,
    last_hash: String,
    now: DateTime<Utc>,
}

impl Write {
    /// Begins the transaction and locks the log's head.
    pub async fn begin(db: &DatabaseConnection) -> Result<Write, DomainError> {
        Write::begin_at(db, Utc::now()).await
    }

    /// The same, stamped with `now` from a [`crate::clock::Clock`] (which tests move).
    pub async fn begin_at(db: &DatabaseConnection, now: DateTime<Utc>) -> Result<Write, DomainError> {
        let txn = db.begin().await?;
        if txn.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
            // Writers queue for the head; past this, the write gives up with 503 rather than
            // holding its pooled connection while the queue grows. (SQLite waits as long as
            // its busy timeout, 10 s, and then fails the same way.)
            txn.execute_unprepared("SET LOCAL lock_timeout = '10s'").await?;
        }
        // A no-op update: the row lock (PostgreSQL) or the write lock (SQLite) is the point.
        txn.execute_unprepared("UPDATE audit_head SET size = size WHERE id = 1").await.map_err(|error| {
            let text = error.to_string();
            if text.contains("lock timeout") || text.contains("database is locked") {
                DomainError::Busy
            } else {
                DomainError::Database(error)
            }
        })?;
        let head = audit_head::Entity::find_by_id(1)
            .one(&txn)
            .await?
            .ok_or_else(|| DomainError::Inconsistent("the audit log has no head row".into()))?;
        Ok(Write { txn, size: head.size, last_hash: head.last_hash, now: now.trunc_subsecs(6) })
    }

    /// The transaction, for the service's own reads and changes.
    pub fn txn(&self) -> &DatabaseTransaction {
        &self.txn
    }

    /// The time of this write (microseconds, as both engines store them).
    pub fn now(&self) -> DateTime<Utc> {
        self.now
    }

    /// The stored response to an earlier request with this key from this caller, if there is
    /// one: `Ok(Some(response))` to replay, `Ok(None)` to go ahead, and 422 for the same key
    /// with other content.
    pub async fn replay<T: DeserializeOwned>(
        &self,
        actor: &Actor,
        operation: &str,
        key: Option<&IdempotencyKey>,
    ) -> Result<Option<T>, DomainError> {
        let Some(key) = key else { return Ok(None) };
        let stored = idempotency_key::Entity::find()
            .filter(idempotency_key::Column::Caller.eq(actor.label()))
            .filter(idempotency_key::Column::Key.eq(&key.key))
            .one(&self.txn)
            .await?;
        let Some(stored) = stored else { return Ok(None) };
        let expired = stored.created_at < self.now - chrono::Duration::hours(IDEMPOTENCY_RETENTION_HOURS);
        if expired {
            return Ok(None);
        }
        if stored.operation != operation || stored.request_hash != key.request_hash {
            return Err(DomainError::IdempotencyKeyReused);
        }
        let response = serde_json::from_str(&stored.response)
            .map_err(|e| DomainError::Inconsistent(format!("stored idempotent response: {e}")))?;
        Ok(Some(response))
    }

    /// Keeps the response to a creating request under its key, in this transaction.
    pub async fn remember<T: Serialize>(
        &self,
        actor: &Actor,
        operation: &str,
        key: Option<&IdempotencyKey>,
        response: &T,
    ) -> Result<(), DomainError> {
        let Some(key) = key else { return Ok(()) };
        idempotency_key::Entity::delete_many()
            .filter(
                idempotency_key::Column::CreatedAt.lt(self.now - chrono::Duration::hours(IDEMPOTENCY_RETENTION_HOURS)),
            )
            .exec(&self.txn)
            .await?;
        let response = serde_json::to_string(response).map_err(|e| DomainError::Inconsistent(e.to_string()))?;
        idempotency_key::ActiveModel {
            caller: Set(actor.label()),
            key: Set(key.key.clone()),
            operation: Set(operation.to_owned()),
            request_hash: Set(key.request_hash.clone()),
            response: Set(response),
            created_at: Set(self.now),
            ..Default::default()
        }
        .insert(&self.txn)
        .await?;
        Ok(())
    }

    /// Personal data for a snapshot: stored beside the log, and entered in it only as a
    /// salted hash, so that erasing the value leaves every leaf and proof intact.
    pub async fn personal(&self, subject_account_id: i64, value: &str) -> Result<Value, DomainError> {
        let salt = hex(&random_bytes::<16>());
        let stored = audit_personal_data::ActiveModel {
            subject_account_id: Set(Some(subject_account_id)),
            salt: Set(Some(salt.clone())),
            value: Set(Some(value.to_owned())),
            ..Default::default()
        }
        .insert(&self.txn)
        .await?;
        Ok(json!({ "personal_data": stored.id, "salted_sha256": salted_hash(&salt, value) }))
    }

    /// Appends the audit event of a change: who did what to which object, and the object
    /// before and after (snapshots with personal data already replaced by [`Write::personal`]).
    pub async fn record(
        &mut self,
        actor: &Actor,
        action: &str,
        object_type: &str,
        object_id: impl ToString,
        before: Option<Value>,
        after: Option<Value>,
    ) -> Result<i64, DomainError> {
        let seq = self.size;
        let object_id = object_id.to_string();
        let recorded_at = self.now.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        let entry = json!({
            "seq": seq,
            "recorded_at": recorded_at,
            "actor": actor.label(),
            "action": action,
            "object_type": object_type,
            "object_id": object_id,
            "before": before,
            "after": after,
            "prev_hash": self.last_hash,
        });
        let entry = serde_json::to_string(&entry).map_err(|e| DomainError::Inconsistent(e.to_string()))?;
        let hash = hex(&Sha256::digest(entry.as_bytes()));
        audit_event::ActiveModel {
            seq: Set(seq),
            recorded_at: Set(self.now),
            actor_account_id: Set(actor.account_id()),
            actor: Set(actor.label()),
            action: Set(action.to_owned()),
            object_type: Set(object_type.to_owned()),
            object_id: Set(object_id),
            leaf_hash: Set(hex(&merkle::leaf_hash(entry.as_bytes()))),
            entry: Set(entry),
            hash: Set(hash.clone()),
        }
        .insert(&self.txn)
        .await?;
        self.size += 1;
        self.last_hash = hash;
        Ok(seq)
    }

    /// Erases every personal value of this account kept beside the log: value and salt go,
    /// the salted hashes in the leaves stay, so every proof still holds.
    pub async fn erase_personal_data(&self, subject_account_id: i64) -> Result<u64, DomainError> {
        use sea_orm::sea_query::Expr;
        let erased = audit_personal_data::Entity::update_many()
            .col_expr(audit_personal_data::Column::Value, Expr::value(Option::<String>::None))
            .col_expr(audit_personal_data::Column::Salt, Expr::value(Option::<String>::None))
            .col_expr(audit_personal_data::Column::ErasedAt, Expr::value(Some(self.now)))
            .filter(audit_personal_data::Column::SubjectAccountId.eq(subject_account_id))
            .filter(audit_personal_data::Column::ErasedAt.is_null())
            .exec(&self.txn)
            .await?;
        Ok(erased.rows_affected)
    }

    /// Moves the head past this write's events and commits.
    pub async fn commit(self) -> Result<(), DomainError> {
        audit_head::Entity::update_many()
            .col_expr(audit_head::Column::Size, self.size.into())
            .col_expr(audit_head::Column::LastHash, self.last_hash.clone().into())
            .filter(audit_head::Column::Id.eq(1))
            .exec(&self.txn)
            .await?;
        self.txn.commit().await?;
        Ok(())
    }
}

/// SHA-256 (hex) of salt ‖ value.
pub fn salted_hash(salt: &str, value: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(salt.as_bytes());
    hasher.update(value.as_bytes());
    hex(&hasher.finalize())
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Bytes from the operating system's random source.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).expect("the operating system's random source works");
    bytes
}
