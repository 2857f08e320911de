//! The audit log, public and verifiable: events, the exact bytes of each, the chain's
//! check, and RFC 9162 signed tree heads with inclusion and consistency proofs.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use poem::Request;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use sea_orm::DatabaseConnection;

use domain::audit::{self, EventFilter, EventView, TreeCache, TreeSigner};

use super::ApiTags;
use crate::dto::{Page, RawJson, Timestamp};
use crate::error::{ApiError, ApiResult};

pub struct AuditApi {
    pub db: DatabaseConnection,
    pub signer: TreeSigner,
    /// The leaves read so far and the last root, shared by this process's requests.
    pub tree: std::sync::Arc<TreeCache>,
    /// The last verification and when it ran; one runs at a time.
    pub verified: std::sync::Arc<tokio::sync::Mutex<Option<(std::time::Instant, Verification)>>>,
    /// How long a verification's result is served before the next request runs another.
    pub verify_every: std::time::Duration,
}

/// One audit event, with personal data masked.
#[derive(Debug, Clone, Object)]
pub struct AuditEvent {
    /// Its sequence number: its leaf index in the Merkle tree, from 0.
    pub seq: i64,
    /// When the change was made (RFC 3339, UTC).
    pub recorded_at: Timestamp,
    /// Who made it: `account:<id>`, `anonymous` (a registration) or `system:<command>`.
    pub actor: String,
    /// What was done, e.g. `account.create`, `council.set_members`.
    pub action: String,
    /// The kind of object changed, e.g. `account`, `council`.
    pub object_type: String,
    /// The object's id.
    pub object_id: String,
    /// The object before the change (`null` for a creation); personal data shows as
    /// `[personal data]`.
    pub before: serde_json::Value,
    /// The object after the change.
    pub after: serde_json::Value,
    /// SHA-256 (hex) of the event's entry (`/v1/audit/events/{seq}`); the next entry names it
    /// as `prev_hash`.
    pub hash: String,
    /// SHA-256(0x00 ‖ entry) (hex), the event's leaf hash.
    pub leaf_hash: String,
}

impl From<EventView> for AuditEvent {
    fn from(view: EventView) -> Self {
        AuditEvent {
            seq: view.seq,
            recorded_at: view.recorded_at.into(),
            actor: view.actor,
            action: view.action,
            object_type: view.object_type,
            object_id: view.object_id,
            before: view.before,
            after: view.after,
            hash: view.hash,
            leaf_hash: view.leaf_hash,
        }
    }
}

/// The chain's check.
#[derive(Debug, Clone, Object)]
pub struct Verification {
    /// Whether every event is intact and in place.
    pub ok: bool,
    /// When the chain was recomputed (RFC 3339, UTC). A full check reads the whole log, so
    /// its result is served for `audit_verify_every_seconds` (60 by default).
    pub checked_at: Timestamp,
    /// Events checked before the first break (all of them when `ok`).
    pub checked: u64,
    /// How many events the log's head says it holds.
    pub tree_size: u64,
    /// The first event that breaks the chain; absent when `ok`.
    #[oai(skip_serializing_if_is_none)]
    pub first_broken: Option<BrokenEvent>,
}

/// Where and how the chain breaks.
#[derive(Debug, Clone, Object)]
pub struct BrokenEvent {
    /// The sequence number of the first event that does not check.
    pub seq: i64,
    /// What is wrong with it.
    pub reason: String,
}

/// A signed tree head (RFC 9162 §4.10).
#[derive(Debug, Clone, Object)]
pub struct TreeHead {
    /// How many events the tree holds.
    pub tree_size: u64,
    /// The Merkle tree hash of those events (base64).
    pub root_hash: String,
    /// When the head was signed: milliseconds since the Unix epoch.
    pub timestamp: u64,
    /// Ed25519 signature (base64) over `TreeHeadDataV2` in TLS encoding: `timestamp` (8
    /// bytes, big-endian), `tree_size` (8 bytes), the root hash with its length byte (`0x20`),
    /// and two zero bytes for the empty extensions.
    pub signature: String,
    /// Which key signed it: base64 SHA-256 of the key's DER SubjectPublicKeyInfo; the key is
    /// at `/v1/audit/public-key`.
    pub key_id: String,
}

/// An inclusion proof (RFC 9162 §2.1.3).
#[derive(Debug, Clone, Object)]
pub struct InclusionProof {
    /// The leaf's index.
    pub index: u64,
    /// The size of the tree the proof is for.
    pub tree_size: u64,
    /// The leaf hash, SHA-256(0x00 ‖ entry) (base64).
    pub leaf_hash: String,
    /// The audit path, from the leaf upwards (base64 hashes).
    pub inclusion_path: Vec<String>,
}

/// A consistency proof (RFC 9162 §2.1.4).
#[derive(Debug, Clone, Object)]
pub struct ConsistencyProof {
    /// The earlier tree's size.
    pub first: u64,
    /// The later tree's size.
    pub second: u64,
    /// The proof's hashes (base64).
    pub consistency_path: Vec<String>,
}

/// The key tree heads are signed with.
#[derive(Debug, Clone, Object)]
pub struct AuditPublicKey {
    /// The `key_id` tree heads name.
    pub key_id: String,
    /// `Ed25519`.
    pub algorithm: String,
    /// The raw 32-byte public key (base64).
    pub public_key: String,
    /// The same key as PEM (SubjectPublicKeyInfo), for `openssl pkeyutl -verify`.
    pub pem: String,
}

#[derive(ApiResponse)]
pub enum AuditEventPageResponse {
    /// A page of events in log order.
    #[oai(status = 200)]
    Ok(Json<Page<AuditEvent>>),
}

#[derive(ApiResponse)]
pub enum EntryResponse {
    /// The exact bytes hashed into the event's leaf: SHA-256(0x00 ‖ these bytes) is its leaf
    /// hash. Personal data inside is a salted hash.
    #[oai(status = 200)]
    Ok(RawJson),
}

#[derive(ApiResponse)]
pub enum VerificationResponse {
    /// The result of recomputing the chain.
    #[oai(status = 200)]
    Ok(Json<Verification>),
}

#[derive(ApiResponse)]
pub enum TreeHeadResponse {
    /// The current signed tree head.
    #[oai(status = 200)]
    Ok(Json<TreeHead>),
}

#[derive(ApiResponse)]
pub enum InclusionResponse {
    /// The proof.
    #[oai(status = 200)]
    Ok(Json<InclusionProof>),
}

#[derive(ApiResponse)]
pub enum ConsistencyResponse {
    /// The proof.
    #[oai(status = 200)]
    Ok(Json<ConsistencyProof>),
}

#[derive(ApiResponse)]
pub enum PublicKeyResponse {
    /// The key.
    #[oai(status = 200)]
    Ok(Json<AuditPublicKey>),
}

fn b64(hash: &[u8]) -> String {
    STANDARD.encode(hash)
}

#[OpenApi(tag = "ApiTags::Audit")]
impl AuditApi {
    /// List audit events
    ///
    /// Every change to accounts, councils and other records, in order, with the object
    /// before and after; personal data masked.
    #[oai(path = "/v1/audit/events", method = "get", operation_id = "listAuditEvents")]
    async fn events(
        &self,
        req: &Request,
        /// Only events about objects of this type, e.g. `account`, `council`.
        #[oai(name = "object_type", validator(min_length = 1, max_length = 32))]
        object_type: Query<Option<String>>,
        /// Only events about the object with this id (with `object_type`).
        #[oai(name = "object_id", validator(min_length = 1, max_length = 64))]
        object_id: Query<Option<String>>,
        /// Page size, 1 to 100; 20 when absent.
        #[oai(name = "limit", validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u64>>,
        /// Where to start: the `cursor` from a previous page's `links.next`. Opaque.
        #[oai(name = "cursor", validator(min_length = 1, max_length = 512, pattern = r"^[A-Za-z0-9_-]+$"))]
        cursor: Query<Option<String>>,
    ) -> ApiResult<AuditEventPageResponse> {
        let limit = crate::lists::page_limit(limit.0)?;
        let filter = EventFilter { object_type: object_type.0, object_id: object_id.0 };
        let page = audit::events(&self.db, &filter, cursor.0.as_deref(), limit).await?;
        Ok(AuditEventPageResponse::Ok(Json(Page::new(req, limit, page, AuditEvent::from))))
    }

    /// Get an event's exact bytes
    ///
    /// The entry of event `seq` byte for byte, as hashed into the Merkle tree.
    #[oai(path = "/v1/audit/events/:seq", method = "get", operation_id = "getAuditEntry")]
    async fn entry(
        &self,
        /// The event's sequence number (leaf index), from 0.
        #[oai(name = "seq", validator(minimum(value = "0")))]
        seq: Path<i64>,
    ) -> ApiResult<EntryResponse> {
        let entry = audit::entry(&self.db, seq.0)
            .await?
            .ok_or_else(|| ApiError::not_found(&format!("audit event {}", seq.0)))?;
        Ok(EntryResponse::Ok(RawJson(entry.into_bytes())))
    }

    /// Verify the chain
    ///
    /// Recomputes every event's hash and link from the first, and names the first event
    /// that was edited, removed, inserted or moved.
    #[oai(path = "/v1/audit/verify", method = "get", operation_id = "verifyAuditLog")]
    async fn verify(&self) -> ApiResult<VerificationResponse> {
        // Requests arriving while a check runs wait for it and share its result.
        let mut last = self.verified.lock().await;
        if let Some((at, verification)) = last.as_ref()
            && at.elapsed() < self.verify_every
        {
            return Ok(VerificationResponse::Ok(Json(verification.clone())));
        }
        let result = audit::verify(&self.db).await?;
        let verification = Verification {
            ok: result.first_broken.is_none(),
            checked_at: chrono::Utc::now().into(),
            checked: result.checked,
            tree_size: result.head_size,
            first_broken: result.first_broken.map(|b| BrokenEvent { seq: b.seq, reason: b.reason }),
        };
        *last = Some((std::time::Instant::now(), verification.clone()));
        Ok(VerificationResponse::Ok(Json(verification)))
    }

    /// Get the signed tree head
    ///
    /// The log's size and Merkle root, signed with its Ed25519 key. Keep it: a later head
    /// must extend it (`/v1/audit/proof/consistency`).
    #[oai(path = "/v1/audit/tree-head", method = "get", operation_id = "getTreeHead")]
    async fn tree_head(&self) -> ApiResult<TreeHeadResponse> {
        let head = audit::tree_head(&self.db, &self.tree, &self.signer).await?;
        Ok(TreeHeadResponse::Ok(Json(TreeHead {
            tree_size: head.tree_size,
            root_hash: b64(&head.root_hash),
            timestamp: head.timestamp,
            signature: b64(&head.signature),
            key_id: head.key_id,
        })))
    }

    /// Prove an event's inclusion
    ///
    /// The audit path of leaf `index` in the tree of the first `tree_size` events
    /// (RFC 9162 §2.1.3.1).
    #[oai(path = "/v1/audit/proof/inclusion", method = "get", operation_id = "getInclusionProof")]
    async fn inclusion(
        &self,
        /// The leaf index (an event's `seq`).
        #[oai(name = "index")]
        index: Query<u64>,
        /// The size of a tree head that includes it.
        #[oai(name = "tree_size", validator(minimum(value = "1")))]
        tree_size: Query<u64>,
    ) -> ApiResult<InclusionResponse> {
        let (leaf, path) =
            audit::inclusion_proof(&self.db, &self.tree, index.0, tree_size.0).await.map_err(ApiError::in_query)?;
        Ok(InclusionResponse::Ok(Json(InclusionProof {
            index: index.0,
            tree_size: tree_size.0,
            leaf_hash: b64(&leaf),
            inclusion_path: path.iter().map(|hash| b64(hash)).collect(),
        })))
    }

    /// Prove consistency between two heads
    ///
    /// The proof that the tree of the first `second` events extends the tree of the first
    /// `first` events (RFC 9162 §2.1.4.1): nothing was changed or removed in between.
    #[oai(path = "/v1/audit/proof/consistency", method = "get", operation_id = "getConsistencyProof")]
    async fn consistency(
        &self,
        /// The earlier tree's size.
        #[oai(name = "first", validator(minimum(value = "1")))]
        first: Query<u64>,
        /// The later tree's size.
        #[oai(name = "second", validator(minimum(value = "1")))]
        second: Query<u64>,
    ) -> ApiResult<ConsistencyResponse> {
        let path =
            audit::consistency_proof(&self.db, &self.tree, first.0, second.0).await.map_err(ApiError::in_query)?;
        Ok(ConsistencyResponse::Ok(Json(ConsistencyProof {
            first: first.0,
            second: second.0,
            consistency_path: path.iter().map(|hash| b64(hash)).collect(),
        })))
    }

    /// Get the log's public key
    ///
    /// The Ed25519 key tree heads are signed with.
    #[oai(path = "/v1/audit/public-key", method = "get", operation_id = "getAuditPublicKey")]
    async fn public_key(&self) -> PublicKeyResponse {
        PublicKeyResponse::Ok(Json(AuditPublicKey {
            key_id: self.signer.key_id().to_owned(),
            algorithm: "Ed25519".to_owned(),
            public_key: b64(&self.signer.public_key()),
            pem: self.signer.public_key_pem(),
        }))
    }
}
