//! Reading and checking the audit log: events (with personal data masked), the exact bytes of
//! each leaf, the hash chain's verification, and RFC 9162 tree heads and proofs.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use ed25519_dalek::pkcs8::EncodePublicKey;
use ed25519_dalek::{Signer, SigningKey};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::merkle::{self, Hash};
use super::tables::{audit_event, audit_head};
use crate::DomainError;
use crate::pagination::{Limit, Page, by_key};

/// What replaces personal data in public views of the log.
pub const MASKED: &str = "[personal data]";

/// Events read per round trip while walking the whole log.
const CHUNK: u64 = 5_000;

/// An event as the public sees it: personal data (the salted hashes) masked.
#[derive(Debug, Clone, PartialEq)]
pub struct EventView {
    pub seq: i64,
    pub recorded_at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub object_type: String,
    pub object_id: String,
    pub before: Value,
    pub after: Value,
    /// SHA-256 (hex) of the entry; the chain link.
    pub hash: String,
    /// The Merkle leaf hash (hex).
    pub leaf_hash: String,
}

/// Which events to list.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    pub object_type: Option<String>,
    pub object_id: Option<String>,
}

/// Events in log order, a page at a time.
pub async fn events(
    db: &DatabaseConnection,
    filter: &EventFilter,
    cursor: Option<&str>,
    limit: Limit,
) -> Result<Page<EventView>, DomainError> {
    let mut query = audit_event::Entity::find();
    if let Some(object_type) = &filter.object_type {
        query = query.filter(audit_event::Column::ObjectType.eq(object_type));
    }
    if let Some(object_id) = &filter.object_id {
        query = query.filter(audit_event::Column::ObjectId.eq(object_id));
    }
    by_key(db, query, audit_event::Column::Seq, |row| row.seq, "audit", cursor, limit).await?.try_map(masked)
}

/// The exact bytes of event `seq`, as hashed into its leaf.
pub async fn entry(db: &DatabaseConnection, seq: i64) -> Result<Option<String>, DomainError> {
    Ok(audit_event::Entity::find_by_id(seq).one(db).await?.map(|event| event.entry))
}

fn masked(event: audit_event::Model) -> Result<EventView, DomainError> {
    let entry: Value = serde_json::from_str(&event.entry)
        .map_err(|e| DomainError::Inconsistent(format!("audit event {} is not JSON: {e}", event.seq)))?;
    let mask = |mut value: Value| {
        mask_personal(&mut value);
        value
    };
    // Everything shown comes from the hashed entry, not from the columns beside it (which
    // only serve filters, and which `verify` checks against the entry).
    let text = |name: &str| entry[name].as_str().unwrap_or_default().to_owned();
    let recorded_at = DateTime::parse_from_rfc3339(&text("recorded_at"))
        .map(|time| time.with_timezone(&Utc))
        .unwrap_or(event.recorded_at);
    Ok(EventView {
        seq: event.seq,
        recorded_at,
        actor: text("actor"),
        action: text("action"),
        object_type: text("object_type"),
        object_id: text("object_id"),
        before: mask(entry["before"].clone()),
        after: mask(entry["after"].clone()),
        hash: event.hash,
        leaf_hash: event.leaf_hash,
    })
}

/// Replaces every `{"personal_data": …, "salted_sha256": …}` reference with [`MASKED`]:
/// even a salted hash lets someone holding a guess confirm it once the salt is known.
fn mask_personal(value: &mut Value) {
    match value {
        Value::Object(map) if map.contains_key("personal_data") && map.contains_key("salted_sha256") => {
            *value = Value::String(MASKED.to_owned());
        }
        Value::Object(map) => map.values_mut().for_each(mask_personal),
        Value::Array(items) => items.iter_mut().for_each(mask_personal),
        _ => {}
    }
}

/// What [`verify`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    /// Events checked.
    pub checked: u64,
    /// The size the log's head claims.
    pub head_size: u64,
    /// The first event that breaks the chain, and how; `None` when the log is intact.
    pub first_broken: Option<Broken>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broken {
    /// The sequence number where the break shows.
    pub seq: i64,
    pub reason: String,
}

/// Recomputes the chain from the first event: each entry must hash to its stored hash and
/// leaf hash, hold its own sequence number, and name the previous event's hash; sequence
/// numbers must run 0, 1, 2… without a gap; the head must end where the events end. So an
/// edited, deleted, inserted or reordered row shows at the first event it touches.
pub async fn verify(db: &DatabaseConnection) -> Result<Verification, DomainError> {
    let head = audit_head::Entity::find_by_id(1)
        .one(db)
        .await?
        .ok_or_else(|| DomainError::Inconsistent("the audit log has no head row".into()))?;
    let mut expected_seq = 0i64;
    let mut previous = "0".repeat(64);
    let mut last_seen: Option<i64> = None;
    loop {
        // Only the events the head counts: a write committing meanwhile is not a break.
        let mut query = audit_event::Entity::find()
            .filter(audit_event::Column::Seq.lt(head.size))
            .order_by_asc(audit_event::Column::Seq)
            .limit(CHUNK);
        if let Some(last) = last_seen {
            query = query.filter(audit_event::Column::Seq.gt(last));
        }
        let rows = query.all(db).await?;
        if rows.is_empty() {
            break;
        }
        for row in &rows {
            if let Some(reason) = check(row, expected_seq, &previous) {
                let seq = row.seq.min(expected_seq);
                return Ok(Verification {
                    checked: expected_seq as u64,
                    head_size: head.size as u64,
                    first_broken: Some(Broken { seq, reason }),
                });
            }
            previous = row.hash.clone();
            expected_seq += 1;
        }
        last_seen = rows.last().map(|row| row.seq);
    }
    let first_broken = if expected_seq != head.size {
        Some(Broken {
            seq: expected_seq.min(head.size),
            reason: format!("the head says the log holds {} events, but {expected_seq} were found", head.size),
        })
    } else if previous != head.last_hash {
        Some(Broken { seq: expected_seq - 1, reason: "the head's last hash is not the last event's hash".into() })
    } else {
        None
    };
    Ok(Verification { checked: expected_seq as u64, head_size: head.size as u64, first_broken })
}

fn check(row: &audit_event::Model, expected_seq: i64, previous: &str) -> Option<String> {
    if row.seq != expected_seq {
        return Some(format!("event {expected_seq} is missing (the next stored event is {})", row.seq));
    }
    let computed = hex(&Sha256::digest(row.entry.as_bytes()));
    if computed != row.hash {
        return Some("the entry does not hash to the stored hash: it was edited".into());
    }
    if hex(&merkle::leaf_hash(row.entry.as_bytes())) != row.leaf_hash {
        return Some("the stored leaf hash is not the entry's".into());
    }
    let Ok(entry) = serde_json::from_str::<Value>(&row.entry) else {
        return Some("the entry is not JSON".into());
    };
    if entry["seq"].as_i64() != Some(row.seq) {
        return Some(format!("the entry names sequence number {}, not {}", entry["seq"], row.seq));
    }
    if entry["prev_hash"].as_str() != Some(previous) {
        return Some("the entry does not name the previous event's hash: events were removed or reordered".into());
    }
    // The columns filters and lists read must say what the hashed entry says.
    let recorded_at = row.recorded_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let columns = [
        ("actor", row.actor.as_str()),
        ("action", row.action.as_str()),
        ("object_type", row.object_type.as_str()),
        ("object_id", row.object_id.as_str()),
        ("recorded_at", recorded_at.as_str()),
    ];
    for (name, column) in columns {
        if entry[name].as_str() != Some(column) {
            return Some(format!("the stored {name} is not the entry's: it was edited"));
        }
    }
    None
}

/// Signs tree heads with the log's Ed25519 key.
#[derive(Clone)]
pub struct TreeSigner {
    key: SigningKey,
    key_id: String,
}

impl std::fmt::Debug for TreeSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TreeSigner").field("key_id", &self.key_id).finish_non_exhaustive()
    }
}

impl TreeSigner {
    /// The key's id is the base64 SHA-256 of its public key's DER SubjectPublicKeyInfo, as
    /// Certificate Transparency names log keys.
    pub fn new(key: SigningKey) -> Self {
        let der = key.verifying_key().to_public_key_der().expect("an Ed25519 key encodes");
        let key_id = STANDARD.encode(Sha256::digest(der.as_bytes()));
        TreeSigner { key, key_id }
    }

    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The public key as PEM (SubjectPublicKeyInfo).
    pub fn public_key_pem(&self) -> String {
        self.key
            .verifying_key()
            .to_public_key_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
            .expect("an Ed25519 key encodes")
    }

    /// The raw 32-byte public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.key.verifying_key().to_bytes()
    }
}

/// A signed tree head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeHead {
    pub tree_size: u64,
    pub root_hash: Hash,
    /// Milliseconds since the Unix epoch.
    pub timestamp: u64,
    /// Ed25519 over [`tree_head_signed_bytes`].
    pub signature: [u8; 64],
    pub key_id: String,
}

/// The bytes a tree head's signature covers: RFC 9162 §4.10's `TreeHeadDataV2` in TLS
/// encoding: `uint64 timestamp`, `uint64 tree_size`, `opaque root_hash<32..2^8-1>` (a length
/// byte, then the hash), `Extension extensions<0..2^16-1>` (empty: two zero bytes).
pub fn tree_head_signed_bytes(timestamp: u64, tree_size: u64, root_hash: &Hash) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(8 + 8 + 1 + 32 + 2);
    bytes.extend_from_slice(&timestamp.to_be_bytes());
    bytes.extend_from_slice(&tree_size.to_be_bytes());
    bytes.push(32);
    bytes.extend_from_slice(root_hash);
    bytes.extend_from_slice(&[0, 0]);
    bytes
}

/// The leaf hashes read so far, shared by one process's requests: the log only grows, so
/// each leaf is read from the database once. Hashing runs on a blocking thread, one tree at
/// a time, so that anonymous requests for heads and proofs queue for one core instead of
/// taking every worker (each costs O(n) hashing: see BENCHMARKS.md).
#[derive(Debug)]
pub struct TreeCache {
    leaves: tokio::sync::Mutex<Arc<Vec<Hash>>>,
    hashing: tokio::sync::Semaphore,
    /// The last root computed, by tree size.
    root: std::sync::Mutex<Option<(u64, Hash)>>,
}

impl Default for TreeCache {
    fn default() -> Self {
        TreeCache {
            leaves: tokio::sync::Mutex::new(Arc::new(Vec::new())),
            hashing: tokio::sync::Semaphore::new(1),
            root: std::sync::Mutex::new(None),
        }
    }
}

impl TreeCache {
    /// The first `size` leaf hashes (at least; callers slice).
    async fn leaves(&self, db: &DatabaseConnection, size: u64) -> Result<Arc<Vec<Hash>>, DomainError> {
        let mut cached = self.leaves.lock().await;
        if (cached.len() as u64) < size {
            let mut grown = Vec::with_capacity(size as usize);
            grown.extend_from_slice(&cached);
            read_leaves(db, &mut grown, size).await?;
            *cached = Arc::new(grown);
        }
        Ok(cached.clone())
    }

    /// Runs `work` over the first `size` leaves on a blocking thread, one at a time.
    async fn hash<T: Send + 'static>(
        &self,
        db: &DatabaseConnection,
        size: u64,
        work: impl FnOnce(&[Hash]) -> T + Send + 'static,
    ) -> Result<T, DomainError> {
        let leaves = self.leaves(db, size).await?;
        let _turn = self.hashing.acquire().await.map_err(|_| DomainError::Inconsistent("tree cache closed".into()))?;
        tokio::task::spawn_blocking(move || work(&leaves[..size as usize]))
            .await
            .map_err(|e| DomainError::Inconsistent(format!("hashing the tree failed: {e}")))
    }

    async fn root(&self, db: &DatabaseConnection, size: u64) -> Result<Hash, DomainError> {
        if let Some((cached_size, root)) = *self.root.lock().expect("root cache lock")
            && cached_size == size
        {
            return Ok(root);
        }
        let root = self.hash(db, size, merkle::root).await?;
        *self.root.lock().expect("root cache lock") = Some((size, root));
        Ok(root)
    }
}

/// The current tree head, signed now.
pub async fn tree_head(
    db: &DatabaseConnection,
    tree: &TreeCache,
    signer: &TreeSigner,
) -> Result<TreeHead, DomainError> {
    let size = head_size(db).await?;
    let root_hash = tree.root(db, size).await?;
    let timestamp = Utc::now().timestamp_millis().max(0) as u64;
    let signature = signer.key.sign(&tree_head_signed_bytes(timestamp, size, &root_hash)).to_bytes();
    Ok(TreeHead { tree_size: size, root_hash, timestamp, signature, key_id: signer.key_id.clone() })
}

/// The audit path of leaf `index` in the tree of the first `tree_size` events (RFC 9162 §2.1.3.1).
pub async fn inclusion_proof(
    db: &DatabaseConnection,
    tree: &TreeCache,
    index: u64,
    tree_size: u64,
) -> Result<(Hash, Vec<Hash>), DomainError> {
    let size = head_size(db).await?;
    if tree_size == 0 || tree_size > size {
        return Err(DomainError::invalid("tree_size", format!("must be 1 to the log's size, {size}")));
    }
    if index >= tree_size {
        return Err(DomainError::invalid("index", format!("must be less than tree_size ({tree_size})")));
    }
    let (leaf, path) =
        tree.hash(db, tree_size, move |leaves| (leaves[index as usize], merkle::inclusion_path(index, leaves))).await?;
    let path = path.map_err(|e| DomainError::invalid("index", e.to_string()))?;
    Ok((leaf, path))
}

/// The consistency proof between the trees of the first `first` and `second` events (RFC 9162 §2.1.4.1).
pub async fn consistency_proof(
    db: &DatabaseConnection,
    tree: &TreeCache,
    first: u64,
    second: u64,
) -> Result<Vec<Hash>, DomainError> {
    let size = head_size(db).await?;
    if second == 0 || second > size {
        return Err(DomainError::invalid("second", format!("must be 1 to the log's size, {size}")));
    }
    if first == 0 || first > second {
        return Err(DomainError::invalid("first", format!("must be 1 to second ({second})")));
    }
    tree.hash(db, second, move |leaves| merkle::consistency_path(first, leaves))
        .await?
        .map_err(|e| DomainError::invalid("first", e.to_string()))
}

async fn head_size(db: &DatabaseConnection) -> Result<u64, DomainError> {
    let head = audit_head::Entity::find_by_id(1)
        .one(db)
        .await?
        .ok_or_else(|| DomainError::Inconsistent("the audit log has no head row".into()))?;
    Ok(head.size as u64)
}

/// Appends leaf hashes to `leaves` until it holds the first `size`, in chunks.
async fn read_leaves(db: &DatabaseConnection, leaves: &mut Vec<Hash>, size: u64) -> Result<(), DomainError> {
    while (leaves.len() as u64) < size {
        let from = leaves.len() as i64;
        let rows: Vec<(i64, String)> = audit_event::Entity::find()
            .select_only()
            .column(audit_event::Column::Seq)
            .column(audit_event::Column::LeafHash)
            .filter(audit_event::Column::Seq.gte(from))
            .filter(audit_event::Column::Seq.lt(size as i64))
            .order_by_asc(audit_event::Column::Seq)
            .limit(CHUNK)
            .into_tuple()
            .all(db)
            .await?;
        if rows.is_empty() {
            return Err(DomainError::Inconsistent(format!("the audit log has no event {from}")));
        }
        for (seq, leaf) in rows {
            if seq != leaves.len() as i64 {
                return Err(DomainError::Inconsistent(format!("the audit log has no event {}", leaves.len())));
            }
            leaves.push(unhex(&leaf).ok_or_else(|| DomainError::Inconsistent(format!("event {seq}'s leaf hash")))?);
        }
    }
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Hash> {
    if text.len() != 64 {
        return None;
    }
    let mut hash = [0u8; 32];
    for (i, byte) in hash.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(hash)
}
